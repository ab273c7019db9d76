//! Plugin output as the protocol carries it.
//!
//! The real node splits plugin stdout on runs of `\r` and `\n`: CRLF and bare
//! CR end lines, empty lines vanish, a missing final newline is fine. Bytes
//! are otherwise passed through untouched (no dot-stuffing, no re-encoding).
//!
//! One deviation, for the protocol's sake: a line that is exactly `.` would end
//! the reply early and desynchronise the master, so it is dropped (and
//! reported to the caller, which logs it).

/// The non-empty lines of plugin output.
pub fn lines(output: &[u8]) -> impl Iterator<Item = &[u8]> {
    output
        .split(|&b| b == b'\n' || b == b'\r')
        .filter(|l| !l.is_empty())
}

/// Appends `output` as reply lines to `reply`. Returns how many lines were
/// dropped because they would have terminated the reply.
pub fn append_lines(reply: &mut Vec<u8>, output: &[u8]) -> usize {
    let mut dropped = 0;
    for line in lines(output) {
        if line == b"." {
            dropped += 1;
            continue;
        }
        reply.extend_from_slice(line);
        reply.push(b'\n');
    }
    dropped
}

/// Whether config output marks a multigraph plugin (`multigraph <name>`).
pub fn is_multigraph_line(line: &[u8]) -> bool {
    line.strip_prefix(b"multigraph")
        .is_some_and(|rest| rest.first().is_some_and(|b| b.is_ascii_whitespace()))
}

/// Whether a config line already carries a value (`field.value ...`), which
/// makes the plugin a dirtyconfig plugin.
pub fn is_value_line(line: &[u8]) -> bool {
    let Some(dot) = line.iter().position(|&b| b == b'.') else {
        return false;
    };
    let (field, rest) = line.split_at(dot);
    !field.is_empty()
        && field
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'_')
        && rest.starts_with(b".value ")
}

/// The node named by a `host_name X` line of config output.
pub fn host_name_line(line: &[u8]) -> Option<String> {
    let rest = line.strip_prefix(b"host_name ")?;
    let text = String::from_utf8_lossy(rest);
    text.split_whitespace().next().map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_like_the_real_node() {
        let mut r = Vec::new();
        assert_eq!(append_lines(&mut r, b"x.value 1\r\n\n\ny.value 2"), 0);
        assert_eq!(r, b"x.value 1\ny.value 2\n");
    }

    #[test]
    fn keeps_blanks_inside_lines_and_binary() {
        let mut r = Vec::new();
        append_lines(&mut r, b"  a.value 1  \n\xff\x00\n");
        assert_eq!(r, b"  a.value 1  \n\xff\x00\n");
    }

    #[test]
    fn drops_a_lone_dot() {
        let mut r = Vec::new();
        assert_eq!(append_lines(&mut r, b"a.value 1\n.\nb.value 2\n"), 1);
        assert_eq!(r, b"a.value 1\nb.value 2\n");
    }

    #[test]
    fn classifies_config_lines() {
        assert!(is_multigraph_line(b"multigraph diskstats_iops"));
        assert!(!is_multigraph_line(b"multigraphs x"));
        assert!(is_value_line(b"dirt.value 7"));
        assert!(!is_value_line(b"dirt.label value"));
        assert!(!is_value_line(b"a-b.value 1"));
        assert_eq!(
            host_name_line(b"host_name  switch1.example "),
            Some("switch1.example".into())
        );
        assert_eq!(host_name_line(b"graph_title x"), None);
    }
}
