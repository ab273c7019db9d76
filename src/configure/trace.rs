//! `--debug`: what munin-node-configure does, as `# ` lines on stdout
//! (Munin's convention, so the table can still be read around them).

use std::io::Write;

/// Prints debug lines when enabled.
#[derive(Debug, Clone, Copy)]
pub struct Trace {
    pub on: bool,
}

impl Trace {
    pub fn say(&self, what: std::fmt::Arguments<'_>) {
        if self.on {
            let _ = writeln!(std::io::stdout().lock(), "# {what}");
        }
    }
}
