//! The functions an expression may call, and the check of each call's
//! arguments that turns the syntax of [`mod@super::parse`] into the
//! [`super::ast`]: durations into seconds, colours into hex, selections
//! into patterns. An error points at the argument at fault and says what
//! the function takes.

use super::ast::{
    Aggregate, Arith, Branch, Cmp, Condition, Expr, Op, Operand, Program, Step, Window, Yaxis,
};
use super::error::ParseError;
use super::parse::{Arg, Call, Chain, Value};
use super::select::Pattern;

/// Every function, sorted, for "unknown function" errors.
pub const NAMES: [&str; 21] = [
    "abs",
    "add",
    "avg",
    "bars",
    "color",
    "derivative",
    "divide",
    "if",
    "label",
    "lines",
    "max",
    "min",
    "movingaverage",
    "multiply",
    "offset",
    "scale",
    "series",
    "stack",
    "subtract",
    "sum",
    "yaxis",
];

pub fn is_known(name: &str) -> bool {
    NAMES.contains(&name)
}

/// How each function is written, for "expected" messages.
fn signature(name: &str) -> &'static str {
    match name {
        "series" => "series('GROUP;HOST:SERVICE.FIELD')",
        "add" => "add(NUMBER or .series(…))",
        "subtract" => "subtract(NUMBER or .series(…))",
        "multiply" => "multiply(NUMBER or .series(…))",
        "divide" => "divide(NUMBER or .series(…))",
        "scale" => "scale(NUMBER)",
        "movingaverage" => "movingaverage(POINTS or 'DURATION')",
        "offset" => "offset('DURATION' or SECONDS)",
        "if" => "if(eq|ne|lt|le|gt|ge, NUMBER or .series(…), THEN, ELSE)",
        "label" => "label('TEXT')",
        "color" => "color('#RRGGBB')",
        "lines" => "lines() or lines(WIDTH)",
        "yaxis" => "yaxis(1 or 2, MIN, MAX, 'LABEL'), the last three optional",
        "abs" => "abs()",
        "avg" => "avg()",
        "bars" => "bars()",
        "derivative" => "derivative()",
        "max" => "max()",
        "min" => "min()",
        "stack" => "stack()",
        "sum" => "sum()",
        _ => "a known function",
    }
}

/// The most points a moving average may span, and the longest time shift
/// and moving average window: each widens what librrd reads.
pub const MAX_POINTS: u32 = 1000;
pub const MAX_OFFSET: u64 = 10 * 366 * 86400;
pub const MAX_WINDOW: u64 = 400 * 86400;
/// The widest line, in pixels.
pub const MAX_LINE: f64 = 10.0;
/// The longest label kept, in characters.
pub const MAX_LABEL: usize = 100;

/// Placeholders a label may use.
pub const PLACEHOLDERS: [&str; 5] = ["host", "group", "service", "field", "label"];

/// The checked program of `chains`.
pub(super) fn check(text: &str, chains: &[Chain]) -> Result<Program, ParseError> {
    let c = Checker { text };
    let exprs = chains
        .iter()
        .map(|ch| c.chain(ch, true))
        .collect::<Result<_, _>>()?;
    Ok(Program {
        text: text.to_string(),
        exprs,
    })
}

struct Checker<'t> {
    text: &'t str,
}

type Checked<T> = Result<T, ParseError>;

impl Checker<'_> {
    fn err(&self, at: usize, found: Option<String>, expected: impl Into<String>) -> ParseError {
        ParseError::new(self.text, at, found, expected.into())
    }

    fn chain(&self, chain: &Chain, top: bool) -> Checked<Expr> {
        let (first, rest) = chain
            .calls
            .split_first()
            .expect("the parser makes chains of one call or more");
        if first.name != "series" {
            return Err(self.err(
                first.at,
                Some(format!("`.{}` first", first.name)),
                "`.series('GROUP;HOST:SERVICE.FIELD')` to start an expression",
            ));
        }
        let [arg] = self.args(first, 1, 1)? else {
            unreachable!("args checked the count")
        };
        let selection = self.pattern(arg)?;
        let steps = rest
            .iter()
            .map(|call| {
                let op = self.op(call)?;
                if op.is_presentation() && !top {
                    return Err(self.err(
                        call.name_at,
                        Some(format!("`{}` in an argument", call.name)),
                        "it on the outermost expression: only that one is drawn",
                    ));
                }
                Ok(Step { at: call.at, op })
            })
            .collect::<Checked<_>>()?;
        Ok(Expr {
            selection,
            at: first.at,
            steps,
        })
    }

    /// The call's arguments, if there are `min` to `max` of them.
    fn args<'c>(&self, call: &'c Call, min: usize, max: usize) -> Checked<&'c [Arg]> {
        let n = call.args.len();
        if (min..=max).contains(&n) {
            return Ok(&call.args);
        }
        // Past the last one it may take, or at the `)` for too few.
        let at = call.args.get(max).map_or(call.close, |a| a.at);
        Err(self.err(
            at,
            Some(format!("{n} argument{}", if n == 1 { "" } else { "s" })),
            format!("`.{}`", signature(&call.name)),
        ))
    }

    /// An argument of the wrong kind.
    fn wrong(&self, arg: &Arg, expected: impl Into<String>) -> ParseError {
        self.err(arg.at, Some(arg.value.kind().to_string()), expected)
    }

    fn op(&self, call: &Call) -> Checked<Op> {
        let name = call.name.as_str();
        let none = |op: Op| self.args(call, 0, 0).map(|_| op);
        Ok(match name {
            "sum" => none(Op::Aggregate(Aggregate::Sum))?,
            "avg" => none(Op::Aggregate(Aggregate::Avg))?,
            "min" => none(Op::Aggregate(Aggregate::Min))?,
            "max" => none(Op::Aggregate(Aggregate::Max))?,
            "abs" => none(Op::Abs)?,
            "derivative" => none(Op::Derivative)?,
            "bars" => none(Op::Bars)?,
            "stack" => none(Op::Stack)?,
            "add" | "subtract" | "multiply" | "divide" => {
                let arith = match name {
                    "add" => Arith::Add,
                    "subtract" => Arith::Subtract,
                    "multiply" => Arith::Multiply,
                    _ => Arith::Divide,
                };
                let [arg] = self.args(call, 1, 1)? else {
                    unreachable!("args checked the count")
                };
                let operand = self.operand(arg, "a number or `.series(…)`")?;
                if arith == Arith::Divide && operand == Operand::Number(0.0) {
                    return Err(self.err(arg.at, Some("0".into()), "a divisor other than 0"));
                }
                Op::Arith(arith, operand)
            }
            "scale" => {
                let [arg] = self.args(call, 1, 1)? else {
                    unreachable!("args checked the count")
                };
                Op::Arith(Arith::Scale, Operand::Number(self.number(arg, "a number")?))
            }
            "movingaverage" => {
                let [arg] = self.args(call, 1, 1)? else {
                    unreachable!("args checked the count")
                };
                Op::MovingAverage(self.window(arg)?)
            }
            "offset" => {
                let [arg] = self.args(call, 1, 1)? else {
                    unreachable!("args checked the count")
                };
                Op::Offset(self.offset(arg)?)
            }
            "if" => {
                let [cmp, against, then, otherwise] = self.args(call, 4, 4)? else {
                    unreachable!("args checked the count")
                };
                Op::If(Box::new(Condition {
                    cmp: self.cmp(cmp)?,
                    against: self.operand(against, "a number or `.series(…)` to compare with")?,
                    then: self.branch(then)?,
                    otherwise: self.branch(otherwise)?,
                }))
            }
            "label" => {
                let [arg] = self.args(call, 1, 1)? else {
                    unreachable!("args checked the count")
                };
                Op::Label(self.label(arg)?)
            }
            "color" => {
                let [arg] = self.args(call, 1, 1)? else {
                    unreachable!("args checked the count")
                };
                Op::Color(self.color(arg)?)
            }
            "lines" => match self.args(call, 0, 1)? {
                [] => Op::Lines(1.0),
                [arg] => {
                    let w = self.number(arg, "a line width in pixels")?;
                    if !(w > 0.0 && w <= MAX_LINE) {
                        return Err(self.err(
                            arg.at,
                            Some(format!("width {w}")),
                            format!("a line width above 0 and at most {MAX_LINE}"),
                        ));
                    }
                    Op::Lines(w)
                }
                _ => unreachable!("args checked the count"),
            },
            "yaxis" => Op::Yaxis(self.yaxis(call)?),
            "series" => {
                return Err(self.err(
                    call.name_at,
                    Some("`series` after another function".into()),
                    "`.series(…)` only to start an expression (as an argument: \
                     `.add(.series(…))`)",
                ));
            }
            _ => {
                return Err(self.err(
                    call.name_at,
                    Some(format!("unknown function `{name}`")),
                    format!("one of: {}", NAMES.join(", ")),
                ));
            }
        })
    }

    fn pattern(&self, arg: &Arg) -> Checked<Pattern> {
        let Value::Str { value, plain } = &arg.value else {
            return Err(self.wrong(arg, "a selection in quotes, such as '*:load.load'"));
        };
        Pattern::parse(value).map_err(|e| {
            // Inside the string when it reads as written, else at it.
            let at = if *plain {
                arg.at + 1 + e.offset
            } else {
                arg.at
            };
            self.err(at, None, e.expected)
        })
    }

    fn number(&self, arg: &Arg, what: &str) -> Checked<f64> {
        match arg.value {
            Value::Num(x) => Ok(x),
            _ => Err(self.wrong(arg, what)),
        }
    }

    fn operand(&self, arg: &Arg, what: &str) -> Checked<Operand> {
        match &arg.value {
            Value::Num(x) => Ok(Operand::Number(*x)),
            Value::Chain(c) => Ok(Operand::Series(Box::new(self.chain(c, false)?))),
            _ => Err(self.wrong(arg, what)),
        }
    }

    fn branch(&self, arg: &Arg) -> Checked<Branch> {
        match &arg.value {
            Value::Num(x) => Ok(Branch::Number(*x)),
            Value::Chain(c) => Ok(Branch::Series(Box::new(self.chain(c, false)?))),
            Value::Word(w) if w == "null" => Ok(Branch::Input),
            Value::Word(w) if w == "unknown" => Ok(Branch::Unknown),
            _ => Err(self.wrong(
                arg,
                "a number, `.series(…)`, `null` (the input's value) or `unknown`",
            )),
        }
    }

    fn cmp(&self, arg: &Arg) -> Checked<Cmp> {
        let names = || {
            Cmp::ALL
                .iter()
                .map(|c| format!("`{}`", c.name()))
                .collect::<Vec<_>>()
                .join(", ")
        };
        match &arg.value {
            Value::Word(w) => Cmp::ALL.into_iter().find(|c| c.name() == w).ok_or_else(|| {
                self.err(
                    arg.at,
                    Some(format!("`{w}`")),
                    format!("a comparison: one of {}", names()),
                )
            }),
            _ => Err(self.wrong(arg, format!("a comparison: one of {}", names()))),
        }
    }

    /// Points (a whole number) or a duration in a string.
    fn window(&self, arg: &Arg) -> Checked<Window> {
        const WHAT: &str = "a number of points, or a duration such as '1h'";
        match &arg.value {
            Value::Num(x) => {
                if x.fract() != 0.0 || *x < 1.0 || *x > f64::from(MAX_POINTS) {
                    return Err(self.err(
                        arg.at,
                        Some(format!("{x} points")),
                        format!("a whole number of points from 1 to {MAX_POINTS}"),
                    ));
                }
                Ok(Window::Points(*x as u32))
            }
            Value::Str { value, .. } => match duration(value) {
                Some(s) if s > 0 && s.unsigned_abs() <= MAX_WINDOW => {
                    Ok(Window::Seconds(s.unsigned_abs()))
                }
                Some(_) => Err(self.err(
                    arg.at,
                    Some(format!("'{value}'")),
                    format!("a duration above 0 and at most {} days", MAX_WINDOW / 86400),
                )),
                None => Err(self.err(arg.at, Some(format!("'{value}'")), WHAT)),
            },
            _ => Err(self.wrong(arg, WHAT)),
        }
    }

    /// Seconds (a whole number) or a duration in a string.
    fn offset(&self, arg: &Arg) -> Checked<i64> {
        const WHAT: &str = "a duration such as '-1d' or '-2h', or seconds such as -86400";
        let s = match &arg.value {
            // Beyond i64 it is out of range anyway; saturating is fine.
            Value::Num(x) if x.fract() == 0.0 => *x as i64,
            Value::Str { value, .. } => {
                duration(value).ok_or_else(|| self.err(arg.at, Some(format!("'{value}'")), WHAT))?
            }
            _ => return Err(self.wrong(arg, WHAT)),
        };
        if s.unsigned_abs() > MAX_OFFSET {
            return Err(self.err(
                arg.at,
                Some(format!("{s} seconds")),
                format!("a shift of at most {} days", MAX_OFFSET / 86400),
            ));
        }
        Ok(s)
    }

    fn label(&self, arg: &Arg) -> Checked<String> {
        let Value::Str { value, plain } = &arg.value else {
            return Err(self.wrong(arg, "a label in quotes"));
        };
        let mut rest = value.as_str();
        while let Some(open) = rest.find('{') {
            let after = &rest[open + 1..];
            let name_len = after
                .find(|c: char| !c.is_ascii_alphanumeric() && c != '_')
                .unwrap_or(after.len());
            let name = &after[..name_len];
            if after[name_len..].starts_with('}')
                && !name.is_empty()
                && !PLACEHOLDERS.contains(&name)
            {
                let at = if *plain {
                    arg.at + 1 + (value.len() - rest.len()) + open
                } else {
                    arg.at
                };
                return Err(self.err(
                    at,
                    Some(format!("`{{{name}}}`")),
                    format!(
                        "a placeholder among {}",
                        PLACEHOLDERS.map(|p| format!("{{{p}}}")).join(", ")
                    ),
                ));
            }
            rest = after;
        }
        Ok(value.chars().take(MAX_LABEL).collect())
    }

    fn color(&self, arg: &Arg) -> Checked<String> {
        const WHAT: &str = "a colour as '#RRGGBB' or '#RRGGBBAA' (hexadecimal)";
        let Value::Str { value, .. } = &arg.value else {
            return Err(self.wrong(arg, WHAT));
        };
        let hex = value.strip_prefix('#').unwrap_or(value);
        if (hex.len() == 6 || hex.len() == 8) && hex.chars().all(|c| c.is_ascii_hexdigit()) {
            Ok(hex.to_ascii_uppercase())
        } else {
            Err(self.err(arg.at, Some(format!("'{value}'")), WHAT))
        }
    }

    fn yaxis(&self, call: &Call) -> Checked<Yaxis> {
        let args = self.args(call, 1, 4)?;
        let axis = match args[0].value {
            Value::Num(x) if x == 1.0 || x == 2.0 => x as u8,
            _ => {
                return Err(self.err(
                    args[0].at,
                    Some(args[0].value.kind().into()),
                    "the axis: 1 (left) or 2 (right)",
                ));
            }
        };
        let limit = |arg: Option<&Arg>, what: &str| match arg.map(|a| &a.value) {
            None => Ok(None),
            Some(Value::Num(x)) => Ok(Some(*x)),
            Some(Value::Word(w)) if w == "null" => Ok(None),
            Some(_) => Err(self.wrong(
                arg.expect("matched Some"),
                format!("the axis' {what}: a number, or `null` for none"),
            )),
        };
        let min = limit(args.get(1), "lowest value")?;
        let max = limit(args.get(2), "highest value")?;
        if let (Some(lo), Some(hi)) = (min, max)
            && lo >= hi
        {
            return Err(self.err(
                args[2].at,
                Some(format!("highest {hi} not above lowest {lo}")),
                "a highest value above the lowest",
            ));
        }
        let label = match args.get(3) {
            None => None,
            Some(arg) => Some(self.label(arg)?),
        };
        Ok(Yaxis {
            axis,
            min,
            max,
            label,
        })
    }
}

/// `[+-]N[smhdwy]` in seconds (plain `N` is seconds; `y` is 365 days).
pub fn duration(text: &str) -> Option<i64> {
    let t = text.trim();
    let (sign, t) = match t.as_bytes().first()? {
        b'-' => (-1, &t[1..]),
        b'+' => (1, &t[1..]),
        _ => (1, t),
    };
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (digits, unit) = t.split_at(split);
    let n: i64 = digits.parse().ok().filter(|_| digits.len() <= 12)?;
    let unit = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86400,
        "w" => 7 * 86400,
        "y" => 365 * 86400,
        _ => return None,
    };
    n.checked_mul(unit).map(|s| sign * s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_sorted_unique_and_all_have_a_signature() {
        let mut sorted = NAMES.to_vec();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted, NAMES);
        for n in NAMES {
            assert_ne!(signature(n), "a known function", "{n}");
        }
    }

    #[test]
    fn durations() {
        assert_eq!(duration("-1d"), Some(-86400));
        assert_eq!(duration("2h"), Some(7200));
        assert_eq!(duration("+90"), Some(90));
        assert_eq!(duration("1w"), Some(604800));
        assert_eq!(duration("1y"), Some(365 * 86400));
        assert_eq!(duration("5m"), Some(300));
        for bad in [
            "",
            "-",
            "d",
            "1x",
            "1.5h",
            "1 d",
            "9999999999999d",
            "999999999999y",
        ] {
            assert_eq!(duration(bad), None, "{bad}");
        }
    }
}
