//! What can go wrong with an expression, said so that its author can fix
//! it: where (line, column and a `^` under the column), what was expected
//! there, and for a selection, which one.
//!
//! [`ParseError`] is the text's fault (syntax, an unknown function, a bad
//! argument); [`ExprError`] adds what only the catalog and the window
//! show (a selection matching nothing, too many series).

use std::fmt;
use std::path::PathBuf;

/// A place in the expression's text: 1-based line and column (in
/// characters), with the line itself for the caret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spot {
    pub line: usize,
    pub column: usize,
    pub line_text: String,
}

impl Spot {
    /// The spot of byte `offset` in `text` (clamped to the text).
    pub fn at(text: &str, offset: usize) -> Spot {
        let mut offset = offset.min(text.len());
        while !text.is_char_boundary(offset) {
            offset -= 1;
        }
        let before = &text[..offset];
        let line_start = before.rfind('\n').map_or(0, |n| n + 1);
        let line_end = text[offset..].find('\n').map_or(text.len(), |n| offset + n);
        Spot {
            line: before.matches('\n').count() + 1,
            column: text[line_start..offset].chars().count() + 1,
            line_text: text[line_start..line_end]
                .trim_end_matches('\r')
                .to_string(),
        }
    }
}

/// At most this many characters of a line are shown before the caret and
/// after it, so that a long line still fits a terminal or a log line.
const SHOWN_BEFORE: usize = 60;
const SHOWN_AFTER: usize = 40;

impl fmt::Display for Spot {
    /// `line L, column C:` and then the line with a `^` under the column
    /// (a long line is cut around the column, the cut marked with `…`).
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        let chars: Vec<char> = self
            .line_text
            .chars()
            .map(|c| if c.is_control() && c != '\t' { ' ' } else { c })
            .collect();
        let col = self.column.saturating_sub(1).min(chars.len());
        let from = col.saturating_sub(SHOWN_BEFORE);
        let to = (col + SHOWN_AFTER).min(chars.len());
        let mut shown: String = chars[from..to].iter().collect();
        let mut pad: String = chars[from..col]
            .iter()
            .map(|c| if *c == '\t' { '\t' } else { ' ' })
            .collect();
        if from > 0 {
            shown.insert(0, '…');
            pad.insert(0, ' ');
        }
        if to < chars.len() {
            shown.push('…');
        }
        write!(
            f,
            "line {}, column {}:\n  {shown}\n  {pad}^",
            self.line, self.column
        )
    }
}

/// Text that is not an expression: where, what was there when it says
/// more than the caret does, and what was expected instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub line: usize,
    pub column: usize,
    pub line_text: String,
    /// What was found, when the caret alone does not say it
    /// (`unknown function \`sumx\``).
    pub found: Option<String>,
    /// What would have been right here (`` `)` or `,` after argument ``).
    pub expected: String,
}

impl ParseError {
    /// An error at byte `offset` of `text`.
    pub fn new(text: &str, offset: usize, found: Option<String>, expected: String) -> ParseError {
        let spot = Spot::at(text, offset);
        ParseError {
            line: spot.line,
            column: spot.column,
            line_text: spot.line_text,
            found,
            expected,
        }
    }

    /// Where it is.
    pub fn spot(&self) -> Spot {
        Spot {
            line: self.line,
            column: self.column,
            line_text: self.line_text.clone(),
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        let spot = self.spot().to_string();
        // The spot's first line, then what is wrong, then the caret.
        let (head, caret) = spot.split_once('\n').unwrap_or((&spot, ""));
        write!(f, "{head} ")?;
        if let Some(found) = &self.found {
            write!(f, "{found}; ")?;
        }
        write!(f, "expected {}\n{caret}", self.expected)
    }
}

impl std::error::Error for ParseError {}

/// Why an expression cannot be drawn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExprError {
    /// The text is not an expression.
    Parse(ParseError),
    /// A selection that matches no field of the catalog.
    NoMatch { selection: String, at: Spot },
    /// A selection matching more than [`super::MAX_SERIES`] fields.
    TooManySeries {
        selection: String,
        matched: usize,
        max: usize,
        at: Spot,
    },
    /// More RRD reads (`DEF`s) than [`super::MAX_DEFS`] in all.
    TooManyDefs { max: usize },
    /// More librrd elements than [`super::MAX_ELEMENTS`] in all.
    TooManyElements { max: usize },
    /// A function whose argument gives a number of series it cannot pair
    /// with its input's.
    Shape {
        function: &'static str,
        input: usize,
        argument: usize,
        at: Spot,
    },
    /// An argument that is valid text but not for this graph (a second
    /// axis without limits, a division by zero).
    Invalid { reason: String, at: Spot },
    /// A catalog file that librrd cannot be given safely.
    File { path: PathBuf, reason: &'static str },
}

impl fmt::Display for ExprError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        // The spot's first line, the message, then the caret lines.
        let with = |f: &mut fmt::Formatter, at: &Spot, msg: String| {
            let spot = at.to_string();
            let (head, caret) = spot.split_once('\n').unwrap_or((&spot, ""));
            write!(f, "{head} {msg}\n{caret}")
        };
        match self {
            ExprError::Parse(e) => e.fmt(f),
            ExprError::NoMatch { selection, at } => {
                with(f, at, format!("selection `{selection}` matches no series"))
            }
            ExprError::TooManySeries {
                selection,
                matched,
                max,
                at,
            } => with(
                f,
                at,
                format!(
                    "selection `{selection}` matches {matched} series, more than the {max} \
                     one selection may draw; narrow it"
                ),
            ),
            ExprError::TooManyDefs { max } => write!(
                f,
                "the expressions read more than {max} series in all, the most one graph may read"
            ),
            ExprError::TooManyElements { max } => write!(
                f,
                "the expressions need more than {max} librrd elements, the most one graph may have"
            ),
            ExprError::Shape {
                function,
                input,
                argument,
                at,
            } => with(
                f,
                at,
                format!(
                    "`{function}` got {argument} series as its argument for {input} series of \
                     input; give one series, or as many as the input (taken in pairs)"
                ),
            ),
            ExprError::Invalid { reason, at } => with(f, at, reason.clone()),
            ExprError::File { path, reason } => {
                write!(f, "{}: {reason}", path.display())
            }
        }
    }
}

impl std::error::Error for ExprError {}

impl From<ParseError> for ExprError {
    fn from(e: ParseError) -> ExprError {
        ExprError::Parse(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spot_counts_lines_and_characters() {
        let text = ".series('a:b.c'),\n  .series('é:b.c').x";
        let at = text.rfind('x').unwrap();
        let s = Spot::at(text, at);
        assert_eq!((s.line, s.column), (2, 20));
        assert_eq!(s.line_text, "  .series('é:b.c').x");
        assert_eq!(
            s.to_string(),
            "line 2, column 20:\n    .series('é:b.c').x\n                     ^"
        );
    }

    #[test]
    fn long_lines_are_cut_around_the_column() {
        let text = format!("{}^{}", "a".repeat(200), "b".repeat(200));
        let s = Spot::at(&text, 200).to_string();
        let lines: Vec<&str> = s.lines().collect();
        assert_eq!(lines[1].chars().count(), 2 + 1 + 60 + 40 + 1);
        let caret = lines[2].chars().count() - 1;
        assert_eq!(lines[1].chars().nth(caret), Some('^'));
    }

    #[test]
    fn parse_error_shows_found_and_expected() {
        let e = ParseError::new(
            ".series('a:b.c').sumx()",
            17,
            Some("unknown function `sumx`".into()),
            "one of: abs, add".into(),
        );
        assert_eq!(
            e.to_string(),
            "line 1, column 18: unknown function `sumx`; expected one of: abs, add\n  \
             .series('a:b.c').sumx()\n                   ^"
        );
    }
}
