//! `open_files`: the kernel's file table, from /proc/sys/fs/file-nr. The
//! default limits are 92 % and 98 % of the table's size, as in Munin.

use super::{Autoconf, Context, Plugin, Result, field, lines, missing};

pub struct OpenFiles;

const FILE: &str = "sys/fs/file-nr";

/// `(allocated, free, max)` file handles.
pub fn parse(text: &str) -> Option<(u64, u64, u64)> {
    let mut f = text.split_whitespace().map(|x| x.parse::<u64>().ok());
    Some((f.next()??, f.next()??, f.next()??))
}

impl Plugin for OpenFiles {
    fn name(&self) -> &'static str {
        "open_files"
    }

    fn config(&self, cx: &Context) -> Result<String> {
        let (_, _, max) = parse(&cx.root.read_proc(FILE)?)
            .ok_or_else(|| missing("three numbers in /proc/sys/fs/file-nr"))?;
        let mut out = String::new();
        lines(
            &mut out,
            &[
                ("graph_title", "File table usage"),
                ("graph_args", "--base 1000 -l 0"),
                ("graph_vlabel", "number of open files"),
                ("graph_category", "system"),
                (
                    "graph_info",
                    "Files open in the whole system, out of the kernel's file table.",
                ),
            ],
        );
        field(
            &mut out,
            "used",
            &[("label", "open files"), ("info", "Open file handles.")],
        );
        // Munin computes these with awk's %d: truncation toward zero.
        let warning = cx
            .env
            .get("used_warning")
            .or(cx.env.get("warning"))
            .map(str::to_string);
        let critical = cx
            .env
            .get("used_critical")
            .or(cx.env.get("critical"))
            .map(str::to_string);
        let warning = warning.unwrap_or_else(|| ((max as f64 * 0.92) as u64).to_string());
        let critical = critical.unwrap_or_else(|| ((max as f64 * 0.98) as u64).to_string());
        field(
            &mut out,
            "used",
            &[("warning", &warning), ("critical", &critical)],
        );
        Ok(out)
    }

    fn fetch(&self, cx: &Context) -> Result<String> {
        let (allocated, free, _) = parse(&cx.root.read_proc(FILE)?)
            .ok_or_else(|| missing("three numbers in /proc/sys/fs/file-nr"))?;
        Ok(format!("used.value {}\n", allocated as i64 - free as i64))
    }

    fn autoconf(&self, cx: &Context) -> Autoconf {
        match cx.root.read_proc(FILE) {
            Ok(_) => Autoconf::Yes,
            Err(_) => Autoconf::No(format!("/proc/{FILE} is not readable")),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn parse_file_nr() {
        assert_eq!(
            super::parse("1632\t0\t9223372036854775807\n"),
            Some((1632, 0, 9223372036854775807))
        );
        assert_eq!(super::parse("12 0\n"), None);
    }
}
