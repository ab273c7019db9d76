//! A checked [`Program`] as librrd elements: a `DEF` per stored field
//! read, a `CDEF` per function applied, `SHIFT` for time shifts, and
//! (in `draw`) the lines, areas and exports. librrd does all the
//! arithmetic, so a graph's PNG and its CSV and JSON (`xport`) come from
//! the same elements and cannot disagree.
//!
//! Each expression evaluates to a list of series (a selection may match
//! many); a series is a librrd variable named here (`e0`, `e1`, …), never
//! after anything in the text. How each function maps onto RPN, and the
//! rule for unknown values it follows, is in docs/expressions.md; in
//! short:
//!
//! - `sum`: `ADDNAN` (known values added; unknown when all are), `avg`:
//!   `AVG` (mean of the known), `min`/`max`: `MINNAN`/`MAXNAN`;
//! - arithmetic and comparisons: unknown when either side is, and
//!   `divide` also where the divisor is 0;
//! - `derivative`: `x,PREV(x),-,STEPWIDTH,/`, per second;
//! - `movingaverage`: `TRENDNAN`, over `n × STEPWIDTH` for points;
//! - `offset`: the fields read from a moved window, then `SHIFT`ed back.
//!
//! Functions that look back in time (`derivative`, `movingaverage`) need
//! rows before the window; the fields under them are read from earlier
//! (`:start=`), so that the window's first rows are complete.

use std::collections::HashMap;

use super::ast::{Aggregate, Arith, Branch, Expr, Op, Operand, Program, Window};
use super::draw;
use super::error::{ExprError, Spot};
use super::select::Source;
use super::{MAX_DEFS, MAX_ELEMENTS, MAX_SERIES};
use crate::master::site::graphdef::Period;

/// The librrd elements of a program. The caller adds its own options
/// (size, `--start`, `--end`, colours) before these.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Compiled {
    /// `DEF`, `CDEF` and `SHIFT` elements, in order.
    pub defs: Vec<String>,
    /// `LINE`/`AREA` elements with colour, legend and `STACK`.
    pub draws: Vec<String>,
    /// Each drawn series' variable and label (escaped for librrd), for
    /// `XPORT:vname:label`.
    pub exports: Vec<(String, String)>,
    /// Graph options from `yaxis` (`--lower-limit`, `--vertical-label`,
    /// `--right-axis` …), each option and value a separate argument.
    pub options: Vec<String>,
}

impl Compiled {
    /// The arguments for `rrdtool graph`, after the caller's options.
    pub fn graph_args(&self) -> Vec<String> {
        let mut a = self.options.clone();
        a.extend(self.defs.iter().cloned());
        a.extend(self.draws.iter().cloned());
        a
    }

    /// The arguments for `rrdtool xport`, after the caller's options:
    /// the same variables as the graph, one `XPORT` per drawn series.
    pub fn xport_args(&self) -> Vec<String> {
        let mut a = self.defs.clone();
        a.extend(self.exports.iter().map(|(v, l)| format!("XPORT:{v}:{l}")));
        a
    }
}

/// librrd reads a bare number of fewer than 8 digits as a date in a month
/// (`at`'s syntax); a moved window never starts before this.
const EARLIEST: i64 = 10_000_000;

/// The elements drawing `program` over `start..end` (Unix seconds), its
/// selections matched against `sources`.
pub fn compile(
    program: &Program,
    sources: &[Source],
    start: u64,
    end: u64,
) -> Result<Compiled, ExprError> {
    let span = end.saturating_sub(start);
    let mut c = Compiler {
        text: &program.text,
        sources,
        start: i64::try_from(start).unwrap_or(i64::MAX),
        end: i64::try_from(end).unwrap_or(i64::MAX),
        step_hint: step_hint(span),
        defs: Vec::new(),
        reads: HashMap::new(),
        next: 0,
    };
    let mut drawn = Vec::new();
    for e in &program.exprs {
        drawn.push(c.expr(e, 0, 0)?);
    }
    draw::draw(&mut c, program, drawn)
}

/// The step of the archive librrd will most likely read for a range this
/// long (Munin's archives at the usual 300 s rate): how far back a
/// moving average over points reaches, in seconds per point.
fn step_hint(span: u64) -> u64 {
    Period::ALL
        .into_iter()
        .find(|p| p.span() >= span)
        .unwrap_or(Period::Year)
        .resolution(300)
}

/// One series: its librrd variable and what the legend may say of it.
#[derive(Debug, Clone)]
pub(super) struct Series {
    pub v: String,
    pub meta: Meta,
}

/// A series' origin: each part known when all the fields it was computed
/// from agree on it.
#[derive(Debug, Clone)]
pub(super) struct Meta {
    pub group: Option<String>,
    pub host: Option<String>,
    pub service: Option<String>,
    pub field: Option<String>,
    pub label: Option<String>,
    /// The legend when the expression gives none.
    pub name: String,
}

impl Meta {
    fn of(s: &Source) -> Meta {
        Meta {
            group: Some(s.groups.join(";")),
            host: Some(s.host.clone()),
            service: Some(s.service.clone()),
            field: Some(s.field.clone()),
            label: Some(s.label.clone()),
            name: format!("{} {}.{}", s.host, s.service, s.field),
        }
    }

    /// What a list of series has in common, named `name`.
    fn common(list: &[Series], name: String) -> Meta {
        let part = |get: fn(&Meta) -> &Option<String>| {
            let first = get(&list[0].meta);
            list.iter()
                .all(|s| get(&s.meta) == first)
                .then(|| first.clone())
                .flatten()
        };
        Meta {
            group: part(|m| &m.group),
            host: part(|m| &m.host),
            service: part(|m| &m.service),
            field: part(|m| &m.field),
            label: part(|m| &m.label),
            name,
        }
    }
}

/// Where the elements are collected while an expression is walked.
pub(super) struct Compiler<'a> {
    text: &'a str,
    sources: &'a [Source],
    start: i64,
    end: i64,
    step_hint: u64,
    pub defs: Vec<String>,
    /// Each field read, by catalog index, shift and look-back, once.
    reads: HashMap<(usize, i64, u64), String>,
    next: usize,
}

impl Compiler<'_> {
    pub fn spot(&self, at: usize) -> Spot {
        Spot::at(self.text, at)
    }

    /// A new variable name.
    fn fresh(&mut self) -> String {
        let v = format!("e{}", self.next);
        self.next += 1;
        v
    }

    /// Adds an element, within the budget.
    fn push(&mut self, element: String) -> Result<(), ExprError> {
        if self.defs.len() >= MAX_ELEMENTS {
            return Err(ExprError::TooManyElements { max: MAX_ELEMENTS });
        }
        self.defs.push(element);
        Ok(())
    }

    /// `CDEF:new=rpn`, and its variable.
    pub fn cdef(&mut self, rpn: &str) -> Result<String, ExprError> {
        let v = self.fresh();
        self.push(format!("CDEF:{v}={rpn}"))?;
        Ok(v)
    }

    /// The series of `e`, its fields read `shift` seconds away and
    /// `lookback` seconds before the window.
    fn expr(&mut self, e: &Expr, shift: i64, lookback: u64) -> Result<Vec<Series>, ExprError> {
        // What the functions after each step add: a step's arguments and
        // the selection are shifted, and read early, by all that follows.
        let n = e.steps.len();
        let mut after = vec![(shift, lookback); n + 1];
        for (j, step) in e.steps.iter().enumerate().rev() {
            let (s, l) = after[j + 1];
            after[j] = match &step.op {
                Op::Offset(o) => (s + o, l),
                Op::Derivative => (s, l + self.step_hint),
                Op::MovingAverage(Window::Points(p)) => (s, l + u64::from(*p) * self.step_hint),
                Op::MovingAverage(Window::Seconds(w)) => (s, l + w),
                _ => (s, l),
            };
        }
        let mut list = self.select(e, after[0].0, after[0].1)?;
        for (j, step) in e.steps.iter().enumerate() {
            let (s, l) = after[j + 1];
            list = match &step.op {
                Op::Aggregate(a) => vec![self.aggregate(*a, &list, e)?],
                Op::Arith(a, x) => {
                    let rhs = self.operand(x, s, l)?;
                    let rhs = self.pair(&list, rhs, a.name(), step.at)?;
                    list.into_iter()
                        .zip(rhs)
                        .map(|(x, y)| {
                            let rpn = arith(*a, &x.v, &y);
                            self.replace(x, &rpn)
                        })
                        .collect::<Result<_, _>>()?
                }
                Op::Abs => self.each(list, "ABS")?,
                Op::Derivative => list
                    .into_iter()
                    .map(|x| {
                        let rpn = format!("{0},PREV({0}),-,STEPWIDTH,/", x.v);
                        self.replace(x, &rpn)
                    })
                    .collect::<Result<_, _>>()?,
                Op::MovingAverage(w) => list
                    .into_iter()
                    .map(|x| {
                        let span = match w {
                            Window::Seconds(s) => s.to_string(),
                            // TRENDNAN takes its span from the stack, but
                            // wants the variable averaged right before it:
                            // n × STEPWIDTH is computed beside it.
                            Window::Points(p) => {
                                self.cdef(&format!("{},POP,STEPWIDTH,{p},*", x.v))?
                            }
                        };
                        let rpn = format!("{},{span},TRENDNAN", x.v);
                        self.replace(x, &rpn)
                    })
                    .collect::<Result<_, _>>()?,
                Op::If(c) => {
                    let n = list.len();
                    let against = self.operand(&c.against, s, l)?;
                    let against = self.pair(&list, against, "if", step.at)?;
                    let then = self.branch(&c.then, s, l, &list, step.at)?;
                    let otherwise = self.branch(&c.otherwise, s, l, &list, step.at)?;
                    let mut out = Vec::with_capacity(n);
                    for (i, x) in list.into_iter().enumerate() {
                        let cond = self.cdef(&format!("{},{},{}", x.v, against[i], c.cmp.rpn()))?;
                        let rpn = format!(
                            "{cond},UN,UNKN,{cond},{},{},IF,IF",
                            then[i].as_deref().unwrap_or(&x.v),
                            otherwise[i].as_deref().unwrap_or(&x.v)
                        );
                        out.push(self.replace(x, &rpn)?);
                    }
                    out
                }
                // Applied to the fields read (see above), and to how the
                // series is drawn (in draw).
                Op::Offset(_)
                | Op::Label(_)
                | Op::Color(_)
                | Op::Lines(_)
                | Op::Bars
                | Op::Stack
                | Op::Yaxis(_) => list,
            };
        }
        Ok(list)
    }

    /// The fields `e` selects, each read once per shift and look-back.
    fn select(&mut self, e: &Expr, shift: i64, lookback: u64) -> Result<Vec<Series>, ExprError> {
        let sources = self.sources;
        let matched: Vec<usize> = (0..sources.len())
            .filter(|i| e.selection.matches(&sources[*i]))
            .collect();
        if matched.is_empty() {
            return Err(ExprError::NoMatch {
                selection: e.selection.text.clone(),
                at: self.spot(e.at),
            });
        }
        if matched.len() > MAX_SERIES {
            return Err(ExprError::TooManySeries {
                selection: e.selection.text.clone(),
                matched: matched.len(),
                max: MAX_SERIES,
                at: self.spot(e.at),
            });
        }
        matched
            .into_iter()
            .map(|i| {
                Ok(Series {
                    v: self.read(i, shift, lookback)?,
                    meta: Meta::of(&sources[i]),
                })
            })
            .collect()
    }

    /// The variable holding catalog field `i` read `shift` seconds away
    /// and `lookback` seconds early.
    fn read(&mut self, i: usize, shift: i64, lookback: u64) -> Result<String, ExprError> {
        if let Some(v) = self.reads.get(&(i, shift, lookback)) {
            return Ok(v.clone());
        }
        if self.reads.len() >= MAX_DEFS {
            return Err(ExprError::TooManyDefs { max: MAX_DEFS });
        }
        let file = rrd_path(&self.sources[i].file)?;
        let v = self.fresh();
        let mut def = format!("DEF:{v}={file}:42:AVERAGE");
        if shift != 0 || lookback != 0 {
            let back = i64::try_from(lookback).unwrap_or(i64::MAX);
            let from = self
                .start
                .saturating_add(shift)
                .saturating_sub(back)
                .max(EARLIEST);
            let to = self.end.saturating_add(shift).max(from + 1);
            def.push_str(&format!(":start={from}:end={to}"));
        }
        self.push(def)?;
        if shift != 0 {
            // Read `shift` away, drawn back where the window is.
            self.push(format!("SHIFT:{v}:{}", -shift))?;
        }
        self.reads.insert((i, shift, lookback), v.clone());
        Ok(v)
    }

    /// A number's text, or each series of an expression.
    fn operand(
        &mut self,
        x: &Operand,
        shift: i64,
        lookback: u64,
    ) -> Result<Vec<String>, ExprError> {
        Ok(match x {
            Operand::Number(n) => vec![super::ast::number_text(*n)],
            Operand::Series(e) => self
                .expr(e, shift, lookback)?
                .into_iter()
                .map(|s| s.v)
                .collect(),
        })
    }

    /// An `if` branch per input series: a token, or `None` for the input.
    fn branch(
        &mut self,
        b: &Branch,
        shift: i64,
        lookback: u64,
        input: &[Series],
        at: usize,
    ) -> Result<Vec<Option<String>>, ExprError> {
        Ok(match b {
            Branch::Input => vec![None; input.len()],
            Branch::Unknown => vec![Some("UNKN".into()); input.len()],
            Branch::Number(n) => vec![Some(super::ast::number_text(*n)); input.len()],
            Branch::Series(e) => {
                let list = self.operand(&Operand::Series(e.clone()), shift, lookback)?;
                self.pair(input, list, "if", at)?
                    .into_iter()
                    .map(Some)
                    .collect()
            }
        })
    }

    /// An argument's tokens, one per input series: one for all, or one
    /// each (in order).
    fn pair(
        &self,
        input: &[Series],
        arg: Vec<String>,
        function: &'static str,
        at: usize,
    ) -> Result<Vec<String>, ExprError> {
        match arg.len() {
            1 => Ok(vec![arg[0].clone(); input.len()]),
            n if n == input.len() => Ok(arg),
            n => Err(ExprError::Shape {
                function,
                input: input.len(),
                argument: n,
                at: self.spot(at),
            }),
        }
    }

    /// `x` through `rpn`, which reads it as the variable at its head.
    fn map(&mut self, x: Series, rpn: &str) -> Result<Series, ExprError> {
        let rpn = format!("{},{rpn}", x.v);
        self.replace(x, &rpn)
    }

    /// `op` applied to each series.
    fn each(&mut self, list: Vec<Series>, op: &str) -> Result<Vec<Series>, ExprError> {
        list.into_iter().map(|x| self.map(x, op)).collect()
    }

    /// A new variable computed by `rpn`, with `x`'s origin.
    fn replace(&mut self, x: Series, rpn: &str) -> Result<Series, ExprError> {
        Ok(Series {
            v: self.cdef(rpn)?,
            meta: x.meta,
        })
    }

    /// One series from all of `list`.
    fn aggregate(&mut self, a: Aggregate, list: &[Series], e: &Expr) -> Result<Series, ExprError> {
        let name = format!("{} of {}", a.name(), e.selection.text);
        let meta = Meta::common(list, name);
        if list.len() == 1 {
            return Ok(Series {
                v: list[0].v.clone(),
                meta,
            });
        }
        let vars = list.iter().map(|s| s.v.as_str()).collect::<Vec<_>>();
        let rpn = match a {
            Aggregate::Avg => format!("{},{},AVG", vars.join(","), vars.len()),
            Aggregate::Sum | Aggregate::Min | Aggregate::Max => {
                let op = match a {
                    Aggregate::Sum => "ADDNAN",
                    Aggregate::Min => "MINNAN",
                    _ => "MAXNAN",
                };
                let mut rpn = vars[0].to_string();
                for v in &vars[1..] {
                    rpn.push_str(&format!(",{v},{op}"));
                }
                rpn
            }
        };
        Ok(Series {
            v: self.cdef(&rpn)?,
            meta,
        })
    }
}

/// The RPN of `x` (a variable) and `y` (a number or variable).
fn arith(a: Arith, x: &str, y: &str) -> String {
    match a {
        Arith::Add => format!("{x},{y},+"),
        Arith::Subtract => format!("{x},{y},-"),
        Arith::Multiply | Arith::Scale => format!("{x},{y},*"),
        // Unknown where the divisor is 0, where librrd would give an
        // infinity; `y,0,EQ` is unknown where y is, which IF takes as
        // false, and x/y is then unknown too.
        Arith::Divide => format!("{y},0,EQ,UNKN,{x},{y},/,IF"),
    }
}

/// A file as librrd's `DEF` reads it: `:` escaped; no `\` (librrd's
/// escape) or control characters, which cannot be passed safely.
fn rrd_path(path: &std::path::Path) -> Result<String, ExprError> {
    let bad = |reason| ExprError::File {
        path: path.to_path_buf(),
        reason,
    };
    let s = path.to_str().ok_or_else(|| bad("not UTF-8"))?;
    if s.chars().any(|c| c.is_control() || c == '\\') {
        return Err(bad("a control character or `\\` in the path"));
    }
    Ok(s.replace(':', "\\:"))
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::master::expr::compile_str;

    const START: u64 = 1_700_000_000;
    const END: u64 = START + 86400;

    fn src(group: &str, host: &str, service: &str, field: &str) -> Source {
        Source {
            groups: vec![group.into()],
            host: host.into(),
            service: service.into(),
            field: field.into(),
            label: format!("{field} label"),
            file: PathBuf::from(format!("/rrd/{group}/{host}-{service}-{field}-g.rrd")),
        }
    }

    fn catalog() -> Vec<Source> {
        vec![
            src("web", "h1", "load", "load"),
            src("web", "h2", "load", "load"),
            src("db", "db1", "cpu", "user"),
            src("db", "db1", "cpu", "system"),
        ]
    }

    /// Every element, one a line: options, defs, draws, then exports.
    fn elements(text: &str) -> String {
        let c = compile_str(text, &catalog(), START, END).unwrap_or_else(|e| panic!("{e}"));
        let mut lines = c.graph_args();
        lines.extend(c.exports.iter().map(|(v, l)| format!("export {v} {l}")));
        lines.join("\n")
    }

    fn error(text: &str, sources: &[Source]) -> String {
        compile_str(text, sources, START, END)
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn sum_of_a_selection() {
        assert_eq!(
            elements(".series('web;*:load.load').sum()"),
            "DEF:e0=/rrd/web/h1-load-load-g.rrd:42:AVERAGE\n\
             DEF:e1=/rrd/web/h2-load-load-g.rrd:42:AVERAGE\n\
             CDEF:e2=e0,e1,ADDNAN\n\
             LINE1:e2#1F77B4:sum of web;*\\:load.load\n\
             export e2 sum of web;*\\:load.load"
        );
    }

    #[test]
    fn aggregates_and_arithmetic() {
        assert_eq!(
            elements(
                ".series('*:load.load').avg().scale(2), .series('*:load.load').min(), \
                 .series('*:load.load').max().subtract(1)"
            ),
            "DEF:e0=/rrd/web/h1-load-load-g.rrd:42:AVERAGE\n\
             DEF:e1=/rrd/web/h2-load-load-g.rrd:42:AVERAGE\n\
             CDEF:e2=e0,e1,2,AVG\n\
             CDEF:e3=e2,2,*\n\
             CDEF:e4=e0,e1,MINNAN\n\
             CDEF:e5=e0,e1,MAXNAN\n\
             CDEF:e6=e5,1,-\n\
             LINE1:e3#1F77B4:avg of *\\:load.load\n\
             LINE1:e4#FF7F0E:min of *\\:load.load\n\
             LINE1:e6#2CA02C:max of *\\:load.load\n\
             export e3 avg of *\\:load.load\n\
             export e4 min of *\\:load.load\n\
             export e6 max of *\\:load.load"
        );
    }

    #[test]
    fn divide_by_a_series_is_unknown_at_zero() {
        assert_eq!(
            elements(".series('db1:cpu.user').divide(.series('db1:cpu.system')).abs()"),
            "DEF:e0=/rrd/db/db1-cpu-user-g.rrd:42:AVERAGE\n\
             DEF:e1=/rrd/db/db1-cpu-system-g.rrd:42:AVERAGE\n\
             CDEF:e2=e1,0,EQ,UNKN,e0,e1,/,IF\n\
             CDEF:e3=e2,ABS\n\
             LINE1:e3#1F77B4:db1 cpu.user\n\
             export e3 db1 cpu.user"
        );
    }

    #[test]
    fn pairs_one_with_all_or_each_with_each() {
        // One series for both: the same variable; two for two: in order.
        let one = elements(".series('*:load.load').add(.series('h1:load.load'))");
        assert!(one.contains("CDEF:e2=e0,e0,+\nCDEF:e3=e1,e0,+"), "{one}");
        let each = elements(".series('db1:cpu.*').multiply(.series('*:load.load'))");
        assert!(each.contains("CDEF:e4=e0,e2,*\nCDEF:e5=e1,e3,*"), "{each}");
        let e = error(
            ".series('*:load.load').add(.series('db1:*.*').add(.series('h1:load.load')))",
            &{
                let mut c = catalog();
                c.push(src("db", "db1", "cpu", "idle"));
                c
            },
        );
        assert_eq!(
            e,
            "line 1, column 23: `add` got 3 series as its argument for 2 series of input; give \
             one series, or as many as the input (taken in pairs)\n  .series('*:load.load')\
             .add(.series('db1:*.*').add(.series('h1:…\n                        ^"
        );
    }

    #[test]
    fn offset_reads_a_moved_window_and_shifts_it_back() {
        assert_eq!(
            elements(
                ".series('h1:load.load').offset('-1d'), \
                 .series('h1:load.load').add(.series('h1:load.load').offset(-3600))"
            ),
            "DEF:e0=/rrd/web/h1-load-load-g.rrd:42:AVERAGE:start=1699913600:end=1700000000\n\
             SHIFT:e0:86400\n\
             DEF:e1=/rrd/web/h1-load-load-g.rrd:42:AVERAGE\n\
             DEF:e2=/rrd/web/h1-load-load-g.rrd:42:AVERAGE:start=1699996400:end=1700082800\n\
             SHIFT:e2:3600\n\
             CDEF:e3=e1,e2,+\n\
             LINE1:e0#1F77B4:h1 load.load\n\
             LINE1:e3#FF7F0E:h1 load.load\n\
             export e0 h1 load.load\n\
             export e3 h1 load.load"
        );
    }

    #[test]
    fn look_back_functions_read_earlier() {
        // A day's graph reads 300 s rows: the derivative's one and 5
        // points before the window, and an hour for the hour's average.
        assert_eq!(
            elements(".series('h1:load.load').derivative().movingaverage(5).movingaverage('1h')"),
            "DEF:e0=/rrd/web/h1-load-load-g.rrd:42:AVERAGE:start=1699994600:end=1700086400\n\
             CDEF:e1=e0,PREV(e0),-,STEPWIDTH,/\n\
             CDEF:e2=e1,POP,STEPWIDTH,5,*\n\
             CDEF:e3=e1,e2,TRENDNAN\n\
             CDEF:e4=e3,3600,TRENDNAN\n\
             LINE1:e4#1F77B4:h1 load.load\n\
             export e4 h1 load.load"
        );
        // Only what is under the moving average reads early.
        let mixed =
            elements(".series('h1:load.load').add(.series('h2:load.load').movingaverage(2))");
        assert!(
            mixed.starts_with(
                "DEF:e0=/rrd/web/h1-load-load-g.rrd:42:AVERAGE\n\
             DEF:e1=/rrd/web/h2-load-load-g.rrd:42:AVERAGE:start=1699999400:end=1700086400\n"
            ),
            "{mixed}"
        );
    }

    #[test]
    fn if_is_unknown_where_the_comparison_is() {
        assert_eq!(
            elements(
                ".series('h1:load.load').if(ge, 2, null, unknown), \
                 .series('db1:cpu.user').if(lt, .series('db1:cpu.system'), 1.5, .series('h2:load.load'))"
            ),
            "DEF:e0=/rrd/web/h1-load-load-g.rrd:42:AVERAGE\n\
             CDEF:e1=e0,2,GE\n\
             CDEF:e2=e1,UN,UNKN,e1,e0,UNKN,IF,IF\n\
             DEF:e3=/rrd/db/db1-cpu-user-g.rrd:42:AVERAGE\n\
             DEF:e4=/rrd/db/db1-cpu-system-g.rrd:42:AVERAGE\n\
             DEF:e5=/rrd/web/h2-load-load-g.rrd:42:AVERAGE\n\
             CDEF:e6=e3,e4,LT\n\
             CDEF:e7=e6,UN,UNKN,e6,1.5,e5,IF,IF\n\
             LINE1:e2#1F77B4:h1 load.load\n\
             LINE1:e7#FF7F0E:db1 cpu.user\n\
             export e2 h1 load.load\n\
             export e7 db1 cpu.user"
        );
    }

    #[test]
    fn presentation() {
        assert_eq!(
            elements(
                ".series('*:load.load').label('{host}: {label} ({group}) \\\\n').bars().stack()\
                 .color('#ff000080'), \
                 .series('db1:cpu.*').sum().label('{host} {service}.{field}').lines(2.5)\
                 .yaxis(1, 0, 100, 'per cent: \\\\x'), \
                 .series('db1:cpu.user').yaxis(2, 0, 50, 'right').label('')"
            ),
            "--lower-limit\n0\n--upper-limit\n100\n--rigid\n--vertical-label\nper cent: x\n\
             --right-axis\n0.5:0\n--right-axis-label\nright\n\
             DEF:e0=/rrd/web/h1-load-load-g.rrd:42:AVERAGE\n\
             DEF:e1=/rrd/web/h2-load-load-g.rrd:42:AVERAGE\n\
             DEF:e2=/rrd/db/db1-cpu-user-g.rrd:42:AVERAGE\n\
             DEF:e3=/rrd/db/db1-cpu-system-g.rrd:42:AVERAGE\n\
             CDEF:e4=e2,e3,ADDNAN\n\
             CDEF:e5=e2,0,-,0.5,/\n\
             AREA:e0#FF000080:h1\\: load label (web) n:STACK\n\
             AREA:e1#FF000080:h2\\: load label (web) n:STACK\n\
             LINE2.5:e4#2CA02C:db1 cpu.*\n\
             LINE1:e5#D62728\n\
             export e0 h1\\: load label (web) n\n\
             export e1 h2\\: load label (web) n\n\
             export e4 db1 cpu.*\n\
             export e2 "
        );
    }

    #[test]
    fn right_axis_needs_both_axes_limits() {
        let e = error(".series('h1:load.load').yaxis(2, 0, 10)", &catalog());
        assert!(
            e.starts_with("line 1, column 24: a series on axis 2 needs"),
            "{e}"
        );
    }

    #[test]
    fn selection_matching_nothing_says_which() {
        assert_eq!(
            error(
                ".series('h1:load.load'),\n  .series('h1:lod.load')",
                &catalog()
            ),
            "line 2, column 3: selection `h1:lod.load` matches no series\n    \
             .series('h1:lod.load')\n    ^"
        );
    }

    #[test]
    fn limits_on_series_and_reads() {
        let many: Vec<Source> = (0..2001)
            .map(|i| {
                src(
                    if i < 1000 { "a" } else { "b" },
                    &format!("h{i}"),
                    "load",
                    "load",
                )
            })
            .collect();
        assert!(compile_str(".series('a;*:load.load').sum()", &many, START, END).is_ok());
        let e = error(".series('*:load.load').sum()", &many);
        assert!(e.contains("matches 2001 series, more than the 1000"), "{e}");
        let e = error(
            ".series('a;*:load.load').sum(), .series('b;h1*:load.load').sum(), \
             .series('b;h2*:load.load').sum()",
            &many,
        );
        assert_eq!(
            e,
            "the expressions read more than 2000 series in all, the most one graph may read"
        );
        // The same field read again costs nothing.
        let text = [".series('a;*:load.load').sum()"; 5].join(",");
        assert!(compile_str(&text, &many, START, END).is_ok());
    }

    #[test]
    fn elements_are_bounded() {
        let many: Vec<Source> = (0..1000)
            .map(|i| src("a", &format!("h{i}"), "load", "load"))
            .collect();
        let text = format!(".series('*:load.load'){}", ".abs()".repeat(10));
        assert_eq!(
            error(&text, &many),
            "the expressions need more than 10000 librrd elements, the most one graph may have"
        );
    }

    #[test]
    fn files_are_escaped_or_refused() {
        let mut odd = src("web", "h1", "load", "load");
        odd.file = PathBuf::from("/rrd/we:ird=x y.rrd");
        let c = compile_str(".series('h1:load.load')", &[odd.clone()], START, END).unwrap();
        assert_eq!(c.defs, ["DEF:e0=/rrd/we\\:ird=x y.rrd:42:AVERAGE"]);
        odd.file = PathBuf::from("/rrd/a\\b.rrd");
        let e = error(".series('h1:load.load')", &[odd.clone()]);
        assert_eq!(e, "/rrd/a\\b.rrd: a control character or `\\` in the path");
        odd.file = PathBuf::from("/rrd/a\nDEF:x=/etc/passwd.rrd");
        assert!(error(".series('h1:load.load')", &[odd]).contains("control character"));
    }

    #[test]
    fn xport_args_use_the_same_variables() {
        let c = compile_str(
            ".series('h1:load.load').label('a:b')",
            &catalog(),
            START,
            END,
        )
        .unwrap();
        assert_eq!(
            c.xport_args(),
            [
                "DEF:e0=/rrd/web/h1-load-load-g.rrd:42:AVERAGE",
                "XPORT:e0:a\\:b"
            ]
        );
    }
}
