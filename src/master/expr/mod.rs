//! Expressions over stored series (issue 19): Timelion-style chains of
//! functions on fields selected from the RRD files, drawn by librrd.
//!
//! ```text
//! .series('web;*:load.load').sum().movingaverage(5).label('web load'),
//! .series('db1:cpu.user').divide(.series('db1:cpu.system'))
//! ```
//!
//! [`parse()`] reads the text into a checked [`Program`]; [`compile()`] turns
//! it, against the catalog of stored fields ([`Source`]s) and the time
//! window, into librrd elements ([`Compiled`]): the graph, CSV and JSON
//! all come from the same `DEF`s and `CDEF`s. docs/expressions.md has the
//! grammar and each function's exact definition.
//!
//! - `parse`: the syntax, read with nom.
//! - `funcs`: the functions and the check of their arguments.
//! - `ast`: the checked program, printed back in canonical form.
//! - `select`: selections (`GROUP;HOST:SERVICE.FIELD`) and their matching.
//! - `compile`: the series as `DEF`/`CDEF`/`SHIFT` elements.
//! - `draw`: lines, areas, labels, colours, axes, exports.
//! - `error`: errors with the line, column and a caret.

pub mod ast;
pub mod compile;
mod draw;
pub mod error;
pub mod funcs;
pub mod parse;
pub mod select;

pub use ast::Program;
pub use compile::{Compiled, compile};
pub use error::{ExprError, ParseError, Spot};
pub use parse::parse;
pub use select::{Pattern, Source};

/// At most this many series from one selection.
pub const MAX_SERIES: usize = 1000;
/// At most this many fields read (`DEF`s) by the expressions of a graph.
pub const MAX_DEFS: usize = 2000;
/// At most this many librrd elements (`DEF`, `CDEF`, `SHIFT`, `LINE` …)
/// in one graph, which bounds librrd's work and memory.
pub const MAX_ELEMENTS: usize = 10_000;

/// Parses `text` and compiles it: the errors of both, one type.
pub fn compile_str(
    text: &str,
    sources: &[Source],
    start: u64,
    end: u64,
) -> Result<Compiled, ExprError> {
    compile(&parse(text)?, sources, start, end)
}
