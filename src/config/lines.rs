//! Munin's line rules for configuration files.
//!
//! Munin (`Munin::Common::Config`) removes everything from the first `#` that
//! is not preceded by a backslash, turns `\#` into `#`, and trims white space.
//! Both munin-node.conf and plugin-conf.d files follow these rules, so a value
//! such as `env.URL http://x/#frag` must be written `http://x/\#frag`.

/// Yields `(line number, cleaned text)` for every line that is not blank after
/// comment removal and trimming. Line numbers are 1-based.
pub fn logical_lines(content: &str) -> impl Iterator<Item = (usize, String)> + '_ {
    content.lines().enumerate().filter_map(|(i, raw)| {
        let text = clean(raw);
        (!text.is_empty()).then_some((i + 1, text))
    })
}

/// Strips the comment and surrounding white space from one raw line.
pub fn clean(raw: &str) -> String {
    let without_comment = match unescaped_hash(raw) {
        Some(pos) => &raw[..pos],
        None => raw,
    };
    without_comment.replace("\\#", "#").trim().to_string()
}

/// Position of the first `#` not directly preceded by a backslash.
fn unescaped_hash(s: &str) -> Option<usize> {
    let bytes = s.as_bytes();
    (0..bytes.len()).find(|&i| bytes[i] == b'#' && (i == 0 || bytes[i - 1] != b'\\'))
}

/// Splits `key value...` at the first run of white space. The key must be
/// non-empty and the value non-empty, as Munin's `(\w+)\s+(.+)` requires.
pub fn split_key_value(line: &str) -> Option<(&str, &str)> {
    let pos = line.find(char::is_whitespace)?;
    let (key, rest) = line.split_at(pos);
    let value = rest.trim_start();
    (!key.is_empty() && !value.is_empty()).then_some((key, value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comment_and_escaped_hash() {
        assert_eq!(clean("env.A 5   # trailing"), "env.A 5");
        assert_eq!(
            clean("env.URL http://x/\\#frag # c"),
            "env.URL http://x/#frag"
        );
        assert_eq!(clean("   # only a comment"), "");
        assert_eq!(
            clean("\tallow ^127\\.0\\.0\\.1$  "),
            "allow ^127\\.0\\.0\\.1$"
        );
    }

    #[test]
    fn numbering_skips_blank_lines_but_counts_them() {
        let got: Vec<_> = logical_lines("a 1\n\n# x\nb 2\n").collect();
        assert_eq!(got, vec![(1, "a 1".to_string()), (4, "b 2".to_string())]);
    }

    #[test]
    fn key_value_split() {
        assert_eq!(split_key_value("port 4949"), Some(("port", "4949")));
        assert_eq!(split_key_value("env.X  a  b"), Some(("env.X", "a  b")));
        assert_eq!(split_key_value("lonely"), None);
    }
}
