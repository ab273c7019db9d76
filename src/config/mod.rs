//! Configuration files of a Munin node.
//!
//! Both formats share Munin's line rules ([`lines`]): an unescaped `#` starts a
//! comment, `\#` is a literal `#`, lines are trimmed and blank lines skipped.
//! A problem is reported as a [`Diagnostic`] naming the file and line, so the
//! caller can log it and go on with the lines that were good, as the real node
//! does.

pub mod lines;
pub mod node_conf;
pub mod plugin_conf;

use std::fmt;

/// A problem found in a configuration file, with the place it was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// File name as given to the parser (a path, or `<embedded default>`).
    pub file: String,
    /// 1-based line number; 0 when the problem concerns the whole file.
    pub line: usize,
    pub message: String,
}

impl Diagnostic {
    pub fn new(file: &str, line: usize, message: impl Into<String>) -> Self {
        Diagnostic {
            file: file.to_string(),
            line,
            message: message.into(),
        }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.file, self.message)
        } else {
            write!(f, "{}:{}: {}", self.file, self.line, self.message)
        }
    }
}

impl std::error::Error for Diagnostic {}
