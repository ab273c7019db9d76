//! What munin-node-configure prints: the table (Munin's column widths,
//! padded in bytes as Perl's printf pads), the shell lines, and the error
//! list.

use std::collections::BTreeSet;
use std::fmt::Write;
use std::path::Path;

use super::plugin::Plugin;

/// One table row: `%-26s | %-4s | %-39s`.
fn row(out: &mut String, a: &str, b: &str, c: &str) {
    pad(out, a, 26);
    out.push_str(" | ");
    pad(out, b, 4);
    out.push_str(" | ");
    pad(out, c, 39);
    out.push('\n');
}

/// Perl pads byte strings by bytes, not characters.
fn pad(out: &mut String, s: &str, width: usize) {
    out.push_str(s);
    for _ in s.len()..width {
        out.push(' ');
    }
}

/// The table of what is enabled (no `--suggest`).
pub fn status_table(plugins: &[&Plugin]) -> String {
    table(plugins, "Extra information", Plugin::installed_string)
}

/// The table of suggestions.
pub fn suggestion_table(plugins: &[&Plugin]) -> String {
    table(plugins, "Suggestions", Plugin::suggestion_string)
}

/// A header, its underline, and a row per plugin.
fn table(plugins: &[&Plugin], third: &str, cell: fn(&Plugin) -> String) -> String {
    let mut out = String::new();
    row(&mut out, "Plugin", "Used", third);
    row(&mut out, "------", "----", &"-".repeat(third.len()));
    for p in plugins {
        row(&mut out, &p.name, p.used(), &cell(p));
    }
    out
}

/// `ln -s` (and with `remove_also`, `rm -f`) lines that bring the plugin
/// directory to the suggestions. A service name is linked once: when
/// several libraries offer it, the first one's plugin gets it, and a name
/// some plugin already has is left alone (`ln -s` would fail on it).
pub fn shell_lines(plugins: &[&Plugin], servicedir: &Path, remove_also: bool) -> String {
    let mut out = String::new();
    let mut taken: BTreeSet<&str> = plugins
        .iter()
        .flat_map(|p| p.installed.iter().map(String::as_str))
        .collect();
    let adds: Vec<Vec<String>> = plugins.iter().map(|p| p.services_to_add()).collect();
    for (p, add) in plugins.iter().zip(&adds) {
        for service in add {
            if !taken.insert(service) {
                continue;
            }
            let link = format!("{}/{service}", servicedir.display());
            let _ = writeln!(
                out,
                "ln -s {} {}",
                quote(&p.path.display().to_string()),
                quote(&link)
            );
        }
        if remove_also {
            for service in p.services_to_remove() {
                let link = format!("{}/{service}", servicedir.display());
                if Path::new(&link).is_symlink() {
                    let _ = writeln!(out, "rm -f {}", quote(&link));
                }
            }
        }
    }
    out
}

/// `text` in single quotes for sh, as Munin quotes; a quote inside (a
/// directory named so) is closed, escaped and reopened, where Munin's line
/// would break: these lines are meant to be piped into a shell.
fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// Munin's error report, for stderr; empty when nothing went wrong.
pub fn errors(plugins: &[&Plugin]) -> String {
    let mut out = String::new();
    for p in plugins.iter().filter(|p| !p.errors.is_empty()) {
        if out.is_empty() {
            out.push_str("# The following plugins caused errors:\n");
        }
        let _ = writeln!(out, "# {}:", p.name);
        for e in &p.errors {
            let _ = writeln!(out, "# \t{e}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    #[test]
    fn rows_have_munins_widths() {
        let mut out = String::new();
        row(&mut out, "cpu", "yes", "yes");
        assert_eq!(
            out,
            format!("{:<26} | {:<4} | {:<39}\n", "cpu", "yes", "yes")
        );
        let mut out = String::new();
        row(&mut out, "x", "no", "é");
        assert_eq!(out.len(), 26 + 3 + 4 + 3 + 39 + 1);
    }

    #[test]
    fn quotes_survive_the_shell() {
        assert_eq!(quote("/etc/munin/plugins/cpu"), "'/etc/munin/plugins/cpu'");
        assert_eq!(quote("/tmp/it's"), r"'/tmp/it'\''s'");
    }

    #[test]
    fn a_service_is_linked_once() {
        let mut ours = Plugin::new("cpu", PathBuf::from("/ours/cpu"));
        ours.default_yes = true;
        let mut theirs = Plugin::new("cpu", PathBuf::from("/theirs/cpu"));
        theirs.default_yes = true;
        let text = shell_lines(&[&ours, &theirs], Path::new("/etc/munin/plugins"), false);
        assert_eq!(text, "ln -s '/ours/cpu' '/etc/munin/plugins/cpu'\n");
        theirs.installed.push("cpu".into());
        let text = shell_lines(&[&ours, &theirs], Path::new("/etc/munin/plugins"), false);
        assert_eq!(text, "");
    }
}
