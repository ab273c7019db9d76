//! An expression once checked: a selection and the functions chained on
//! it, each with its arguments in their final types (seconds, points, hex
//! colours), and the byte offset where it was written for later errors.
//!
//! Displaying a [`Program`] prints it in canonical form (single quotes,
//! durations in seconds, colours as `#RRGGBB`), which parses back to the
//! same program.

use std::fmt;

use super::select::Pattern;

/// Everything drawn in one graph: the text and its expressions.
#[derive(Debug, Clone, PartialEq)]
pub struct Program {
    /// The text as given, for pointing at it in later errors.
    pub text: String,
    pub exprs: Vec<Expr>,
}

/// `.series('…')` and the functions chained on it.
#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    pub selection: Pattern,
    /// Byte offset of the `.series`.
    pub at: usize,
    pub steps: Vec<Step>,
}

/// One chained function and where it was written (byte offset of its `.`).
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub at: usize,
    pub op: Op,
}

/// The functions; see docs/expressions.md for each one's definition.
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    /// `sum()`, `avg()`, `min()`, `max()`: across the input's series.
    Aggregate(Aggregate),
    /// `add`, `subtract`, `multiply`, `divide`, and `scale` (a
    /// multiplication by a number).
    Arith(Arith, Operand),
    Abs,
    Derivative,
    MovingAverage(Window),
    /// A time shift in seconds: negative draws the past.
    Offset(i64),
    If(Box<Condition>),
    /// A legend text, with `{host}`, `{group}`, `{service}`, `{field}`
    /// and `{label}` replaced per series.
    Label(String),
    /// `RRGGBB` (upper case) or `RRGGBBAA`.
    Color(String),
    /// Drawn as a line this wide (pixels).
    Lines(f64),
    /// Drawn as an area.
    Bars,
    /// Drawn on top of the series drawn before it.
    Stack,
    Yaxis(Yaxis),
}

impl Op {
    /// Whether the function only says how a series is drawn.
    pub fn is_presentation(&self) -> bool {
        matches!(
            self,
            Op::Label(_) | Op::Color(_) | Op::Lines(_) | Op::Bars | Op::Stack | Op::Yaxis(_)
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Aggregate {
    Sum,
    Avg,
    Min,
    Max,
}

impl Aggregate {
    pub fn name(self) -> &'static str {
        match self {
            Aggregate::Sum => "sum",
            Aggregate::Avg => "avg",
            Aggregate::Min => "min",
            Aggregate::Max => "max",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arith {
    Add,
    Subtract,
    Multiply,
    Divide,
    /// `multiply` by a number, written `scale`.
    Scale,
}

impl Arith {
    pub fn name(self) -> &'static str {
        match self {
            Arith::Add => "add",
            Arith::Subtract => "subtract",
            Arith::Multiply => "multiply",
            Arith::Divide => "divide",
            Arith::Scale => "scale",
        }
    }
}

/// The right-hand side of arithmetic or a comparison.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    Number(f64),
    Series(Box<Expr>),
}

/// A moving average's window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Window {
    /// The last this many rows of the archive read.
    Points(u32),
    /// The rows within the last this many seconds.
    Seconds(u64),
}

/// `.if(op, against, then, else)`.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    pub cmp: Cmp,
    pub against: Operand,
    pub then: Branch,
    pub otherwise: Branch,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Cmp {
    pub const ALL: [Cmp; 6] = [Cmp::Eq, Cmp::Ne, Cmp::Lt, Cmp::Le, Cmp::Gt, Cmp::Ge];

    /// As written in an expression.
    pub fn name(self) -> &'static str {
        match self {
            Cmp::Eq => "eq",
            Cmp::Ne => "ne",
            Cmp::Lt => "lt",
            Cmp::Le => "le",
            Cmp::Gt => "gt",
            Cmp::Ge => "ge",
        }
    }

    /// librrd's RPN operator.
    pub fn rpn(self) -> &'static str {
        match self {
            Cmp::Eq => "EQ",
            Cmp::Ne => "NE",
            Cmp::Lt => "LT",
            Cmp::Le => "LE",
            Cmp::Gt => "GT",
            Cmp::Ge => "GE",
        }
    }
}

/// What `if` gives where the comparison holds, or where it does not.
#[derive(Debug, Clone, PartialEq)]
pub enum Branch {
    /// `null`: the input's own value.
    Input,
    /// `unknown`: no value.
    Unknown,
    Number(f64),
    Series(Box<Expr>),
}

/// `.yaxis(axis, min, max, label)`.
#[derive(Debug, Clone, PartialEq)]
pub struct Yaxis {
    /// 1 (left) or 2 (right).
    pub axis: u8,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub label: Option<String>,
}

/// A number as librrd's RPN and the canonical form write it: the shortest
/// text that reads back as the same `f64`, with an exponent when very
/// large or small.
pub fn number_text(x: f64) -> String {
    if x != 0.0 && !(1e-6..1e15).contains(&x.abs()) {
        format!("{x:e}")
    } else {
        format!("{x}")
    }
}

/// A string in single quotes, `'` and `\` escaped.
fn quoted(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
}

impl fmt::Display for Program {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        for (i, e) in self.exprs.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            e.fmt(f)?;
        }
        Ok(())
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, ".series({})", quoted(&self.selection.text))?;
        for s in &self.steps {
            s.op.fmt(f)?;
        }
        Ok(())
    }
}

impl fmt::Display for Operand {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            Operand::Number(x) => f.write_str(&number_text(*x)),
            Operand::Series(e) => e.fmt(f),
        }
    }
}

impl fmt::Display for Branch {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            Branch::Input => f.write_str("null"),
            Branch::Unknown => f.write_str("unknown"),
            Branch::Number(x) => f.write_str(&number_text(*x)),
            Branch::Series(e) => e.fmt(f),
        }
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        let opt = |x: Option<f64>| x.map_or("null".to_string(), number_text);
        match self {
            Op::Aggregate(a) => write!(f, ".{}()", a.name()),
            Op::Arith(a, x) => write!(f, ".{}({x})", a.name()),
            Op::Abs => f.write_str(".abs()"),
            Op::Derivative => f.write_str(".derivative()"),
            Op::MovingAverage(Window::Points(n)) => write!(f, ".movingaverage({n})"),
            Op::MovingAverage(Window::Seconds(s)) => write!(f, ".movingaverage('{s}s')"),
            Op::Offset(s) => write!(f, ".offset({s})"),
            Op::If(c) => write!(
                f,
                ".if({}, {}, {}, {})",
                c.cmp.name(),
                c.against,
                c.then,
                c.otherwise
            ),
            Op::Label(l) => write!(f, ".label({})", quoted(l)),
            Op::Color(c) => write!(f, ".color('#{c}')"),
            Op::Lines(w) => write!(f, ".lines({})", number_text(*w)),
            Op::Bars => f.write_str(".bars()"),
            Op::Stack => f.write_str(".stack()"),
            Op::Yaxis(y) => {
                write!(f, ".yaxis({}, {}, {}", y.axis, opt(y.min), opt(y.max))?;
                if let Some(l) = &y.label {
                    write!(f, ", {}", quoted(l))?;
                }
                f.write_str(")")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_back_the_same() {
        for x in [
            0.0,
            1.0,
            -2.5,
            0.1,
            1e-7,
            123456789.25,
            1e300,
            -4e-300,
            1e15,
        ] {
            let t = number_text(x);
            assert_eq!(t.parse::<f64>().unwrap(), x, "{t}");
        }
        assert_eq!(number_text(2.0), "2");
        assert_eq!(number_text(1e300), "1e300");
        assert_eq!(number_text(1e-7), "1e-7");
    }
}
