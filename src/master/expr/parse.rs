//! The expression text read with nom: chains of `.function(arguments)`
//! separated by commas, each argument a number, a quoted string, a word or
//! another chain. [`parse()`] reads the syntax here and hands the chains to
//! [`super::funcs`], which checks each function's arguments.
//!
//! ```text
//! program  = ws chain (ws "," ws chain)* ws
//! chain    = call (ws call)*
//! call     = "." name ws "(" ws [arg (ws "," ws arg)*] ws ")"
//! arg      = number | string | word | chain
//! number   = ["+" | "-"] digits ["." digits] [("e" | "E") ["+" | "-"] digits]
//! string   = "'" (char | "\" char)* "'"  |  '"' (char | "\" char)* '"'
//! word     = letter (letter | digit | "_")*
//! ws       = whitespace, newlines included
//! ```
//!
//! Errors stop at the first problem and say what was expected at its
//! column; the parser commits as soon as a token has started (nom's
//! `Failure`), so an error is never reported further back than it is.

use nom::bytes::complete::take_while;
use nom::character::complete::{char, digit1, multispace0, one_of, satisfy};
use nom::combinator::{opt, recognize};
use nom::{IResult, Parser};

use super::ast::Program;
use super::error::ParseError;
use super::funcs;

/// At most this many bytes of text, and this many chains inside one
/// another's arguments: the text comes from a URL, and each level is a
/// recursion here and in the compiler.
pub const MAX_TEXT: usize = 16 * 1024;
pub const MAX_DEPTH: usize = 16;

/// A chain of calls as written.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Chain {
    pub calls: Vec<Call>,
}

/// `.name(args)`: offsets of the `.`, of the name and of the `)`.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Call {
    pub at: usize,
    pub name: String,
    pub name_at: usize,
    pub args: Vec<Arg>,
    pub close: usize,
}

/// An argument and its offset.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Arg {
    pub at: usize,
    pub value: Value,
}

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Value {
    /// A string's value; `plain` when it had no escapes, so that an
    /// offset into the value is one into the text (after the quote).
    Str {
        value: String,
        plain: bool,
    },
    Num(f64),
    Word(String),
    Chain(Chain),
}

impl Value {
    /// What the argument is, for "expected … here" messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Str { .. } => "a string",
            Value::Num(_) => "a number",
            Value::Word(_) => "a word",
            Value::Chain(_) => "an expression",
        }
    }
}

/// Reads and checks `text`.
pub fn parse(text: &str) -> Result<Program, ParseError> {
    if text.len() > MAX_TEXT {
        return Err(ParseError::new(
            text,
            MAX_TEXT,
            Some(format!("{} bytes", text.len())),
            format!("at most {MAX_TEXT} bytes of expressions"),
        ));
    }
    let chains = syntax(text)?;
    funcs::check(text, &chains)
}

/// The chains of `text`, unchecked.
pub(super) fn syntax(text: &str) -> Result<Vec<Chain>, ParseError> {
    let p = Reader { text };
    match p.program(text) {
        Ok((_, chains)) => Ok(chains),
        Err(nom::Err::Error(f) | nom::Err::Failure(f)) => {
            Err(ParseError::new(text, p.offset(f.rest), f.found, f.expected))
        }
        // Complete parsers never ask for more input.
        Err(nom::Err::Incomplete(_)) => {
            Err(ParseError::new(text, text.len(), None, "more text".into()))
        }
    }
}

/// Where parsing stopped (the rest of the text), and what was wrong.
#[derive(Debug)]
struct Fail<'a> {
    rest: &'a str,
    found: Option<String>,
    expected: String,
}

impl<'a> nom::error::ParseError<&'a str> for Fail<'a> {
    fn from_error_kind(rest: &'a str, kind: nom::error::ErrorKind) -> Self {
        Fail {
            rest,
            found: None,
            expected: kind.description().to_string(),
        }
    }

    fn append(_: &'a str, _: nom::error::ErrorKind, other: Self) -> Self {
        other
    }
}

type Res<'a, T> = IResult<&'a str, T, Fail<'a>>;

/// Stops parsing at `rest`.
fn fail<'a, T>(rest: &'a str, found: Option<String>, expected: impl Into<String>) -> Res<'a, T> {
    Err(nom::Err::Failure(Fail {
        rest,
        found,
        expected: expected.into(),
    }))
}

fn ws(i: &str) -> &str {
    multispace0::<&str, Fail>(i).map_or(i, |(r, _)| r)
}

/// Whether `p` matches at `i`: its rest and output, or `None`.
fn try_parse<'a, O>(
    mut p: impl Parser<&'a str, Output = O, Error = Fail<'a>>,
    i: &'a str,
) -> Option<(&'a str, O)> {
    p.parse(i).ok()
}

const AN_EXPRESSION: &str = "an expression such as `.series('HOST:SERVICE.FIELD')`";
const AN_ARGUMENT: &str = "an argument: a number, a 'string', a word such as `gt`, or an \
                           expression such as `.series('HOST:SERVICE.FIELD')`";

/// The parser, with the whole text for offsets.
struct Reader<'t> {
    text: &'t str,
}

impl<'t> Reader<'t> {
    /// Byte offset of `rest`, a suffix of the text.
    fn offset(&self, rest: &str) -> usize {
        self.text.len() - rest.len()
    }

    fn program(&self, i: &'t str) -> Res<'t, Vec<Chain>> {
        let mut i = ws(i);
        if i.is_empty() {
            return fail(i, None, AN_EXPRESSION);
        }
        let mut chains = Vec::new();
        loop {
            let (rest, chain) = self.chain(i, 0)?;
            chains.push(chain);
            let rest = ws(rest);
            if rest.is_empty() {
                return Ok((rest, chains));
            }
            match try_parse(char(','), rest) {
                Some((rest, _)) => i = ws(rest),
                None => {
                    return fail(
                        rest,
                        None,
                        "`.` and a function, `,` and another expression, or the end",
                    );
                }
            }
        }
    }

    fn chain(&self, i: &'t str, depth: usize) -> Res<'t, Chain> {
        if depth > MAX_DEPTH {
            return fail(
                i,
                None,
                format!("at most {MAX_DEPTH} expressions nested in arguments"),
            );
        }
        if !i.starts_with('.') {
            return fail(i, None, AN_EXPRESSION);
        }
        let (mut i, first) = self.call(i, depth)?;
        let mut calls = vec![first];
        loop {
            let next = ws(i);
            if !next.starts_with('.') {
                return Ok((i, Chain { calls }));
            }
            let (rest, call) = self.call(next, depth)?;
            calls.push(call);
            i = rest;
        }
    }

    /// `.name(args)`, at a `.`.
    fn call(&self, i: &'t str, depth: usize) -> Res<'t, Call> {
        let at = self.offset(i);
        let (i, _) = char('.').parse(i)?;
        let name_at = self.offset(i);
        let Some((i, name)) = try_parse(word, i) else {
            return fail(i, None, "a function name after `.`");
        };
        if !funcs::is_known(name) {
            return fail(
                &self.text[name_at..],
                Some(format!("unknown function `{name}`")),
                format!("one of: {}", funcs::NAMES.join(", ")),
            );
        }
        let i = ws(i);
        let Some((i, _)) = try_parse(char('('), i) else {
            return fail(i, None, format!("`(` after `{name}`"));
        };
        let mut i = ws(i);
        let mut args = Vec::new();
        if let Some((rest, _)) = try_parse(char(')'), i) {
            return Ok((
                rest,
                Call {
                    at,
                    name: name.to_string(),
                    name_at,
                    args,
                    close: self.offset(i),
                },
            ));
        }
        loop {
            let (rest, arg) = self.arg(i, depth)?;
            args.push(arg);
            let rest = ws(rest);
            if let Some((after, _)) = try_parse(char(')'), rest) {
                return Ok((
                    after,
                    Call {
                        at,
                        name: name.to_string(),
                        name_at,
                        args,
                        close: self.offset(rest),
                    },
                ));
            }
            match try_parse(char(','), rest) {
                Some((after, _)) => i = ws(after),
                None => return fail(rest, None, "`)` or `,` after argument"),
            }
        }
    }

    fn arg(&self, i: &'t str, depth: usize) -> Res<'t, Arg> {
        let at = self.offset(i);
        let (rest, value) = match i.chars().next() {
            Some('\'' | '"') => {
                let (rest, (value, plain)) = string(i)?;
                (rest, Value::Str { value, plain })
            }
            Some('.') => {
                let (rest, chain) = self.chain(i, depth + 1)?;
                (rest, Value::Chain(chain))
            }
            Some(c) if c.is_ascii_digit() || c == '-' || c == '+' => {
                let (rest, x) = number(i)?;
                (rest, Value::Num(x))
            }
            Some(c) if c.is_ascii_alphabetic() => {
                let (rest, w) = word(i)?;
                (rest, Value::Word(w.to_string()))
            }
            _ => return fail(i, None, AN_ARGUMENT),
        };
        Ok((rest, Arg { at, value }))
    }
}

/// A function name or a word argument.
fn word(i: &str) -> Res<'_, &str> {
    recognize((
        satisfy(|c| c.is_ascii_alphabetic()),
        take_while(|c: char| c.is_ascii_alphanumeric() || c == '_'),
    ))
    .parse(i)
}

/// A decimal number, finite.
fn number(i: &str) -> Res<'_, f64> {
    let parsed: Res<&str> = recognize((
        opt(one_of("+-")),
        digit1,
        opt((char('.'), digit1)),
        opt((one_of("eE"), opt(one_of("+-")), digit1)),
    ))
    .parse(i);
    let Ok((rest, text)) = parsed else {
        return fail(i, None, "a number such as 5, -2.5 or 1e6");
    };
    match text.parse::<f64>() {
        Ok(x) if x.is_finite() => Ok((rest, x)),
        _ => fail(i, Some(format!("{text} is too large")), "a finite number"),
    }
}

/// A quoted string: its value, and whether it had no escapes.
fn string(i: &str) -> Res<'_, (String, bool)> {
    let Some(quote) = i.chars().next() else {
        return fail(i, None, "a string");
    };
    let mut value = String::new();
    let mut plain = true;
    let mut chars = i.char_indices().skip(1);
    while let Some((n, c)) = chars.next() {
        match c {
            c if c == quote => return Ok((&i[n + 1..], (value, plain))),
            '\\' => {
                plain = false;
                match chars.next() {
                    Some((_, e)) if e != '\n' => value.push(e),
                    _ => break,
                }
            }
            '\n' => break,
            c => value.push(c),
        }
    }
    fail(
        i,
        Some("a string that does not end on its line".into()),
        format!("a closing `{quote}` for the string starting here"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> (usize, usize, String) {
        let e = syntax(text).unwrap_err();
        (e.line, e.column, e.expected)
    }

    #[test]
    fn reads_chains_and_arguments() {
        let c = syntax(".series('a:b.c').f(1, -2.5e1, 'x\\'y', gt, .g())").unwrap_err();
        // `f` and `g` are not functions: the first is reported.
        assert_eq!(c.column, 18);
        let c = syntax(
            " .series( 'a:b.c' )\n .sum()\t.movingaverage(5, 'x\\'y', gt, .series(\"d:e.f\")) ",
        )
        .unwrap();
        assert_eq!(c.len(), 1);
        let calls = &c[0].calls;
        assert_eq!(
            calls.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(),
            ["series", "sum", "movingaverage"]
        );
        assert_eq!(calls[0].at, 1);
        assert_eq!(calls[1].at, 21);
        let args: Vec<&Value> = calls[2].args.iter().map(|a| &a.value).collect();
        assert_eq!(args[0], &Value::Num(5.0));
        assert_eq!(
            args[1],
            &Value::Str {
                value: "x'y".into(),
                plain: false
            }
        );
        assert_eq!(args[2], &Value::Word("gt".into()));
        assert!(
            matches!(args[3], Value::Chain(c) if c.calls[0].args[0].value == Value::Str { value: "d:e.f".into(), plain: true })
        );
    }

    #[test]
    fn several_expressions() {
        let c = syntax(".series('a:b.c') , .series('d:e.f').abs()").unwrap();
        assert_eq!(c.len(), 2);
        assert_eq!(c[1].calls[1].name, "abs");
    }

    #[test]
    fn errors_point_at_the_column() {
        assert_eq!(
            err(".series('a:b.c').sum(3 4)"),
            (1, 24, "`)` or `,` after argument".into())
        );
        assert_eq!(err(""), (1, 1, AN_EXPRESSION.into()));
        assert_eq!(err("series('a')"), (1, 1, AN_EXPRESSION.into()));
        assert_eq!(
            err(".series('a:b.c') x"),
            (
                1,
                18,
                "`.` and a function, `,` and another expression, or the end".into()
            )
        );
        assert_eq!(
            err(".series('a:b.c').sum"),
            (1, 21, "`(` after `sum`".into())
        );
        assert_eq!(
            err(".series('a:b.c)"),
            (1, 9, "a closing `'` for the string starting here".into())
        );
        assert_eq!(
            err(".series('a:b.c')\n  .sum(,)"),
            (2, 8, AN_ARGUMENT.into())
        );
        assert_eq!(
            err(".series('a:b.c').\n  sum()"),
            (1, 18, "a function name after `.`".into())
        );
        assert_eq!(
            err(".series('a:b.c').(1)"),
            (1, 18, "a function name after `.`".into())
        );
        assert_eq!(err(".series('a:b.c'),"), (1, 18, AN_EXPRESSION.into()));
        assert_eq!(err(".series(1e999)"), (1, 9, "a finite number".into()));
    }

    #[test]
    fn unknown_function_names_itself_and_the_known_ones() {
        let e = syntax(".series('a:b.c').summ()").unwrap_err();
        assert_eq!(e.column, 18);
        assert_eq!(e.found.as_deref(), Some("unknown function `summ`"));
        assert!(e.expected.contains("sum, "), "{}", e.expected);
    }

    #[test]
    fn nesting_is_bounded() {
        let deep = |n: usize| {
            let mut t = ".series('a:b.c')".to_string();
            for _ in 0..n {
                t = format!(".series('a:b.c').add({t})");
            }
            t
        };
        assert!(syntax(&deep(MAX_DEPTH)).is_ok());
        let e = syntax(&deep(MAX_DEPTH + 1)).unwrap_err();
        assert!(e.expected.contains("nested"), "{e}");
        let e = parse(&" ".repeat(MAX_TEXT + 1)).unwrap_err();
        assert!(e.expected.contains("bytes"), "{e}");
    }

    /// Each case of `tests/fixtures/expr/<file>` (input, `==>`, expected,
    /// `----`) against `run`; `UPDATE_EXPECT=1` rewrites the expected parts.
    fn golden(file: &str, run: impl Fn(&str) -> String) {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/expr")
            .join(file);
        let content = std::fs::read_to_string(&path).unwrap();
        let mut cases: Vec<(String, String)> = Vec::new();
        let (mut input, mut expected, mut in_expected) = (Vec::new(), Vec::new(), false);
        for line in content.lines().chain(std::iter::once("----")) {
            match line {
                "==>" => in_expected = true,
                "----" => {
                    cases.push((input.join("\n"), expected.join("\n")));
                    (input, expected, in_expected) = (Vec::new(), Vec::new(), false);
                }
                l if in_expected => expected.push(l),
                l => input.push(l),
            }
        }
        let actual: Vec<String> = cases.iter().map(|(i, _)| run(i)).collect();
        if std::env::var_os("UPDATE_EXPECT").is_some() {
            let text = cases
                .iter()
                .zip(&actual)
                .map(|((i, _), a)| format!("{i}\n==>\n{a}\n"))
                .collect::<Vec<_>>()
                .join("----\n");
            std::fs::write(&path, text).unwrap();
            return;
        }
        let wrong: Vec<String> = cases
            .iter()
            .zip(&actual)
            .filter(|((_, e), a)| e != *a)
            .map(|((i, e), a)| format!("input:\n{i}\nexpected:\n{e}\nactual:\n{a}\n"))
            .collect();
        assert!(
            wrong.is_empty(),
            "{} of {} cases differ from {file} (UPDATE_EXPECT=1 rewrites it):\n{}",
            wrong.len(),
            cases.len(),
            wrong.join("\n")
        );
    }

    #[test]
    fn golden_valid() {
        golden("valid.golden", |text| match parse(text) {
            Ok(p) => {
                let canonical = p.to_string();
                let again = parse(&canonical).expect("canonical form parses");
                assert_eq!(again.to_string(), canonical, "canonical form is stable");
                canonical
            }
            Err(e) => format!("UNEXPECTED ERROR\n{e}"),
        });
    }

    #[test]
    fn golden_invalid() {
        golden("invalid.golden", |text| match parse(text) {
            Ok(p) => format!("UNEXPECTED SUCCESS\n{p}"),
            Err(e) => e.to_string(),
        });
    }
}
