//! A contact's `command` with Munin's `${...}` templates in it, run so
//! that no value can become shell code.
//!
//! munin-limits pastes each expanded `${...}` into the command text and
//! hands the result to Perl's `exec`: a command with no shell
//! metacharacters is split on whitespace and run directly, any other goes
//! to `/bin/sh -c`, where a plugin label holding `$(...)` runs. We decide
//! the same way from the command's own text, never from the values:
//!
//! - no metacharacter in the text written: split the expanded command on
//!   whitespace and run it directly, as Perl does;
//! - otherwise `/bin/sh -c SCRIPT sh VALUE...`, where SCRIPT is the
//!   command with each group replaced by a positional parameter (`${1}`,
//!   or `'"${1}"'` inside single quotes so that it is still substituted
//!   there). The shell substitutes the value but never parses it; outside
//!   quotes it is split into words, as pasted text would be.
//!
//! The environment is left as it is: the command sees what munin-limits'
//! would. (A command that reads `$1`..`$9` itself now finds the values
//! there; under munin-limits they were empty.)

use super::range::is_perl_space;
use super::template::{Piece, pieces};

/// How to run a contact's command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Prepared {
    /// Run directly: the program and its arguments.
    Direct(Vec<String>),
    /// `/bin/sh -c script sh args...`.
    Shell { script: String, args: Vec<String> },
}

/// `command` prepared, with each `{...}` group's value from `value`. The
/// second part is the `|`, `>` or `<` munin-limits strips from the start
/// of a command (with a warning), if there was one.
pub fn prepare(command: &str, mut value: impl FnMut(&str) -> String) -> (Prepared, Option<String>) {
    let mut parts: Vec<(bool, String)> = pieces(command)
        .into_iter()
        .map(|p| match p {
            Piece::Text(t) => (false, t.to_string()),
            Piece::Group(g) => (true, value(g)),
        })
        .collect();
    let stripped = strip_redirect(&mut parts);
    let expanded: String = parts.iter().map(|(_, s)| s.as_str()).collect();
    let texts_plain = parts
        .iter()
        .filter(|(group, _)| !group)
        .all(|(_, t)| !t.chars().any(is_shell_meta));
    if texts_plain && !shell_start(&expanded) {
        let words = expanded
            .split(is_perl_space)
            .filter(|w| !w.is_empty())
            .map(str::to_string)
            .collect();
        return (Prepared::Direct(words), stripped);
    }
    let mut script = String::with_capacity(command.len());
    let mut args = Vec::new();
    let mut quote = Quote::None;
    for (group, text) in parts {
        if group {
            args.push(text);
            let n = args.len();
            if quote == Quote::Single {
                script.push_str(&format!("'\"${{{n}}}\"'"));
            } else {
                script.push_str(&format!("${{{n}}}"));
            }
            continue;
        }
        let mut chars = text.chars();
        while let Some(c) = chars.next() {
            script.push(c);
            quote = match (quote, c) {
                (Quote::None, '\'') => Quote::Single,
                (Quote::Single, '\'') => Quote::None,
                (Quote::None, '"') => Quote::Double,
                (Quote::Double, '"') => Quote::None,
                // Outside single quotes a backslash keeps the next
                // character from being a quote.
                (Quote::None | Quote::Double, '\\') => {
                    script.extend(chars.next());
                    quote
                }
                _ => quote,
            };
        }
    }
    (Prepared::Shell { script, args }, stripped)
}

/// The shell's quoting at a point of the command's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Quote {
    None,
    Single,
    Double,
}

/// A fixed command line (no templates) as Perl's `exec` of one string
/// runs it: split on whitespace when it has no shell metacharacter, else
/// through `/bin/sh -c`. munin-update runs `ssh://` and `cmd://` addresses
/// this way.
pub fn perl_exec(line: &str) -> Prepared {
    if !line.chars().any(is_shell_meta) && !shell_start(line) {
        return Prepared::Direct(
            line.split(is_perl_space)
                .filter(|w| !w.is_empty())
                .map(str::to_string)
                .collect(),
        );
    }
    Prepared::Shell {
        script: line.to_string(),
        args: Vec::new(),
    }
}

/// Takes a leading `|`, `>` or `<` run (and the space before it) off the
/// first piece, as munin-limits does.
fn strip_redirect(parts: &mut [(bool, String)]) -> Option<String> {
    let (group, first) = parts.first_mut()?;
    if *group {
        return None;
    }
    let body = first.trim_start_matches(is_perl_space);
    let run: String = body
        .chars()
        .take_while(|c| matches!(c, '|' | '>' | '<'))
        .collect();
    if run.is_empty() {
        return None;
    }
    *first = body[run.len()..].to_string();
    Some(run)
}

/// Perl's list of characters that send a command to the shell.
fn is_shell_meta(c: char) -> bool {
    "$&*(){}[]'\";\\|?<>~`\n".contains(c)
}

/// Perl also uses the shell for `. file`, `exec ...` and `VAR=value ...`.
fn shell_start(command: &str) -> bool {
    let s = command.trim_start_matches(is_perl_space);
    let word: String = s
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    s.starts_with(". ")
        || (word == "exec" && s[4..].starts_with(is_perl_space))
        || s[word.len()..].starts_with('=')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(group: &str) -> String {
        match group {
            "{var:host}" => "web one".into(),
            "{var:group}" => "lab".into(),
            "{var:graph_title}" => "$(touch INJECTED) `touch INJECTED` 'q' \"d\"".into(),
            _ => String::new(),
        }
    }

    #[test]
    fn fixed_lines_run_as_perl_exec_runs_them() {
        assert_eq!(
            perl_exec("ssh -o A=no -p 22 node /usr/bin/munin-node --stdio"),
            Prepared::Direct(
                [
                    "ssh",
                    "-o",
                    "A=no",
                    "-p",
                    "22",
                    "node",
                    "/usr/bin/munin-node",
                    "--stdio"
                ]
                .map(String::from)
                .to_vec()
            )
        );
        assert_eq!(
            perl_exec("nc node 4949 2>/dev/null"),
            Prepared::Shell {
                script: "nc node 4949 2>/dev/null".into(),
                args: vec![]
            }
        );
    }

    #[test]
    fn plain_commands_run_directly_as_perl_would() {
        let (p, s) = prepare("/usr/bin/logger -t munin ${var:host} ${var:nothing}", vars);
        assert_eq!(
            p,
            Prepared::Direct(
                ["/usr/bin/logger", "-t", "munin", "web", "one"]
                    .map(String::from)
                    .to_vec()
            )
        );
        assert_eq!(s, None);
        // A hostile value does not make the shell come in.
        let (p, _) = prepare("logger ${var:graph_title}", vars);
        assert!(
            matches!(p, Prepared::Direct(ref w) if w[1] == "$(touch"),
            "{p:?}"
        );
        let (p, s) = prepare(" |mail root", vars);
        assert_eq!(p, Prepared::Direct(vec!["mail".into(), "root".into()]));
        assert_eq!(s.as_deref(), Some("|"));
        for shell in ["A=b cmd", "exec cmd", ". file", "cat >>/tmp/x"] {
            assert!(
                matches!(prepare(shell, vars).0, Prepared::Shell { .. }),
                "{shell}"
            );
        }
    }

    #[test]
    fn an_apostrophe_inside_double_quotes_is_no_quote() {
        let (p, _) = prepare(r#"mail -s "Munin's ${var:host}" root"#, vars);
        let Prepared::Shell { script, .. } = p else {
            panic!("{p:?}")
        };
        assert_eq!(script, r#"mail -s "Munin's ${1}" root"#);
    }

    #[test]
    fn values_become_positional_parameters() {
        let (p, _) = prepare(
            r#"mail -s "Munin ${var:worst}: ${var:group}::${var:host}" root '${var:graph_title}' \'${var:host}"#,
            vars,
        );
        let Prepared::Shell { script, args } = p else {
            panic!("{p:?}")
        };
        assert_eq!(
            script,
            r#"mail -s "Munin ${1}: ${2}::${3}" root ''"${4}"'' \'${5}"#
        );
        assert_eq!(
            args,
            ["", "lab", "web one", &vars("{var:graph_title}"), "web one"]
        );
    }

    /// Through a real `sh`: the words Munin's pasting would give for plain
    /// text, and nothing run from a hostile title.
    #[test]
    fn a_hostile_title_runs_nothing_in_a_real_shell() {
        let dir = tempfile::tempdir().unwrap();
        let (p, _) = prepare(
            r#"printf '%s|' ${var:host} "${var:group}" '${var:graph_title}' "${var:graph_title}" '${var:nothing}'"#,
            vars,
        );
        let Prepared::Shell { script, args } = p else {
            panic!("{p:?}")
        };
        let out = std::process::Command::new("/bin/sh")
            .arg("-c")
            .arg(&script)
            .arg("sh")
            .args(&args)
            .current_dir(dir.path())
            .output()
            .unwrap();
        let title = vars("{var:graph_title}");
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            format!("web|one|lab|{title}|{title}||")
        );
        assert!(!dir.path().join("INJECTED").exists());
    }
}
