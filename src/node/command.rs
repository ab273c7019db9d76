//! The commands of the munin-node protocol, parsed from one input line.
//!
//! The real node (Munin::Node::Server) matches each line against a list of
//! case-insensitive regular expressions anchored only at the start, first
//! match wins. That makes `LIST`, `fetchload` (fetch `load`) and
//! `fetch load extra` (fetch `load`) valid, and `fetch  load` (two spaces) a
//! fetch of the empty name. We reproduce that matching exactly, on bytes,
//! because the master's tooling (and people with telnet) rely on it.

/// One parsed command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `list [node]`; `None` means the node's own name.
    List(Option<String>),
    /// `cap <words>`: the capability words the master announced.
    Cap(Vec<String>),
    /// `quit`, or a line starting with `.`.
    Quit,
    Version,
    Nodes,
    /// `fetch <name>`; the name as sent (possibly empty or not UTF-8).
    Fetch(Vec<u8>),
    Config(Vec<u8>),
    /// `starttls` (not supported: answered like an unknown command).
    StartTls,
    Unknown,
}

/// Perl's `\s` on bytes.
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | b'\x0b' | b'\x0c')
}

/// The rest of `line` after a case-insensitive `verb` prefix.
fn after_verb<'a>(line: &'a [u8], verb: &str) -> Option<&'a [u8]> {
    let n = verb.len();
    (line.len() >= n && line[..n].eq_ignore_ascii_case(verb.as_bytes())).then(|| &line[n..])
}

/// `\s?(\S*)`: one optional white-space byte, then the name up to the next.
fn service_name(rest: &[u8]) -> Vec<u8> {
    let rest = match rest.first() {
        Some(&b) if is_space(b) => &rest[1..],
        _ => rest,
    };
    rest.iter()
        .take_while(|&&b| !is_space(b))
        .copied()
        .collect()
}

impl Command {
    /// Parses one line (without its `\n`).
    pub fn parse(line: &[u8]) -> Command {
        if let Some(rest) = after_verb(line, "list") {
            // `\s*([0-9a-zA-Z.-]+)?`
            let rest = &rest[rest.iter().take_while(|&&b| is_space(b)).count()..];
            let len = rest
                .iter()
                .take_while(|&&b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
                .count();
            let node =
                (len > 0).then(|| String::from_utf8_lossy(&rest[..len]).to_ascii_lowercase());
            return Command::List(node);
        }
        if let Some(rest) = after_verb(line, "cap") {
            // `cap\s?(.*)`, a trailing CR removed, words split on single spaces.
            let rest = match rest.first() {
                Some(&b) if is_space(b) => &rest[1..],
                _ => rest,
            };
            let rest = rest.strip_suffix(b"\r").unwrap_or(rest);
            let words = rest
                .split(|&b| b == b' ')
                .map(|w| String::from_utf8_lossy(w).into_owned())
                .collect();
            return Command::Cap(words);
        }
        if after_verb(line, "quit").is_some() || line.first() == Some(&b'.') {
            return Command::Quit;
        }
        if after_verb(line, "version").is_some() {
            return Command::Version;
        }
        if after_verb(line, "nodes").is_some() {
            return Command::Nodes;
        }
        if let Some(rest) = after_verb(line, "fetch") {
            return Command::Fetch(service_name(rest));
        }
        if let Some(rest) = after_verb(line, "config") {
            return Command::Config(service_name(rest));
        }
        if let Some(rest) = after_verb(line, "starttls")
            && rest.iter().all(|&b| is_space(b))
        {
            return Command::StartTls;
        }
        Command::Unknown
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Command::*;

    fn p(s: &[u8]) -> Command {
        Command::parse(s)
    }

    #[test]
    fn list_variants() {
        assert_eq!(p(b"list"), List(None));
        assert_eq!(p(b"list "), List(None));
        assert_eq!(p(b"list\r"), List(None));
        assert_eq!(
            p(b"LIST Munin-Fixture.LOCAL"),
            List(Some("munin-fixture.local".into()))
        );
        assert_eq!(p(b"list\x00junk"), List(None));
        assert_eq!(p(b"listfoo"), List(Some("foo".into())));
        assert_eq!(p(b"list nosuch\r"), List(Some("nosuch".into())));
    }

    #[test]
    fn fetch_and_config_names() {
        assert_eq!(p(b"fetch load"), Fetch(b"load".to_vec()));
        assert_eq!(p(b"fetch load\r"), Fetch(b"load".to_vec()));
        assert_eq!(p(b"fetchload"), Fetch(b"load".to_vec()));
        assert_eq!(p(b"FETCH load extra args"), Fetch(b"load".to_vec()));
        assert_eq!(p(b"fetch  load"), Fetch(Vec::new()));
        assert_eq!(p(b"fetch"), Fetch(Vec::new()));
        assert_eq!(p(b"config\tcpu"), Config(b"cpu".to_vec()));
        assert_eq!(
            p(b"fetch \x00\xff\xfe\x80"),
            Fetch(b"\x00\xff\xfe\x80".to_vec())
        );
    }

    #[test]
    fn cap_words() {
        assert_eq!(
            p(b"cap multigraph dirtyconfig\r"),
            Cap(vec!["multigraph".into(), "dirtyconfig".into()])
        );
        assert_eq!(p(b"cap"), Cap(vec!["".into()]));
        assert_eq!(p(b"capmultigraph"), Cap(vec!["multigraph".into()]));
    }

    #[test]
    fn closers_and_others() {
        assert_eq!(p(b"quit"), Quit);
        assert_eq!(p(b"quit "), Quit);
        assert_eq!(p(b"QUITnow"), Quit);
        assert_eq!(p(b"."), Quit);
        assert_eq!(p(b".anything"), Quit);
        assert_eq!(p(b" quit"), Unknown);
        assert_eq!(p(b"Version"), Version);
        assert_eq!(p(b"nodes"), Nodes);
        assert_eq!(p(b"starttls"), StartTls);
        assert_eq!(p(b"starttls x"), Unknown);
        assert_eq!(p(b""), Unknown);
        assert_eq!(p(b"blah"), Unknown);
        assert_eq!(p(b"\xff\xfe"), Unknown);
    }
}
