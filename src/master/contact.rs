//! A contact's command line with Munin's `${var:NAME}` variables, made
//! safe for `sh -c`.
//!
//! munin-limits pastes each variable's text into the command before the
//! shell reads it, so a plugin label holding `$(...)` runs. We hand the
//! shell a reference to an environment variable instead
//! (`${MUNIN_VAR_HOST}`), set to the text: the shell substitutes it but
//! never parses it. Inside single quotes the reference is written
//! `'"${...}"'` so that it is still substituted there, as Munin's pasted
//! text would be. Outside quotes the value is split into words as Munin's
//! pasted text would be.

/// The command to give `sh -c`, and the environment it needs.
#[derive(Debug, Clone, PartialEq)]
pub struct Expanded {
    pub command: String,
    pub env: Vec<(String, String)>,
}

/// `command` with every `${var:NAME}` turned into a reference to
/// `MUNIN_VAR_NAME`, whose value `lookup(NAME)` gives (empty when it has
/// none, as in Munin).
pub fn expand(command: &str, lookup: impl Fn(&str) -> Option<String>) -> Expanded {
    let mut out = String::with_capacity(command.len());
    let mut env: Vec<(String, String)> = Vec::new();
    let mut single = false;
    let mut rest = command;
    while let Some(c) = rest.chars().next() {
        if let Some((name, after)) = variable(rest) {
            let var = format!("MUNIN_VAR_{}", name.to_ascii_uppercase());
            if !env.iter().any(|(k, _)| *k == var) {
                env.push((var.clone(), lookup(name).unwrap_or_default()));
            }
            if single {
                out.push_str(&format!("'\"${{{var}}}\"'"));
            } else {
                out.push_str(&format!("${{{var}}}"));
            }
            rest = after;
            continue;
        }
        match c {
            '\'' => single = !single,
            // A backslash outside single quotes keeps the next character
            // as it is (`\'` is no quote).
            '\\' if !single => {
                let mut two = rest.chars();
                two.next();
                if let Some(next) = two.next() {
                    out.push('\\');
                    out.push(next);
                    rest = &rest[1 + next.len_utf8()..];
                    continue;
                }
            }
            _ => {}
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    Expanded { command: out, env }
}

/// `${var:NAME}` at the start of `s`: NAME and what follows.
fn variable(s: &str) -> Option<(&str, &str)> {
    let inner = s.strip_prefix("${var:")?;
    let end = inner.find('}')?;
    let name = &inner[..end];
    let ok = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    ok.then(|| (name, &inner[end + 1..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(name: &str) -> Option<String> {
        match name {
            "host" => Some("web one".into()),
            "group" => Some("lab".into()),
            "graph_title" => Some("$(touch INJECTED) `touch INJECTED` 'q' \"d\"".into()),
            _ => None,
        }
    }

    #[test]
    fn references_not_text_reach_the_shell() {
        let e = expand(
            r#"mail -s "Munin ${var:worst}: ${var:group}::${var:host}" root '${var:graph_title}' \${var:host}"#,
            vars,
        );
        assert_eq!(
            e.command,
            r#"mail -s "Munin ${MUNIN_VAR_WORST}: ${MUNIN_VAR_GROUP}::${MUNIN_VAR_HOST}" root ''"${MUNIN_VAR_GRAPH_TITLE}"'' \${var:host}"#
        );
        assert_eq!(e.env.len(), 4);
        assert!(e.env.contains(&("MUNIN_VAR_WORST".into(), String::new())));
    }

    /// Through a real `sh`: the words Munin's pasting would give for plain
    /// text, and nothing run from a hostile title.
    #[test]
    fn a_hostile_title_runs_nothing_in_a_real_shell() {
        let dir = tempfile::tempdir().unwrap();
        let e = expand(
            r#"printf '%s|' ${var:host} "${var:group}" '${var:graph_title}' "${var:graph_title}" '${var:nothing}'"#,
            vars,
        );
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(&e.command)
            .envs(e.env.iter().map(|(k, v)| (k, v)))
            .current_dir(dir.path())
            .output()
            .unwrap();
        let title = vars("graph_title").unwrap();
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            format!("web|one|lab|{title}|{title}||")
        );
        assert!(!dir.path().join("INJECTED").exists());
    }
}
