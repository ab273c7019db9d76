//! The logical lines of one munin.conf file, as Munin 2.0's parser sees
//! them: `#` starts a comment unless written `\#`; leading and trailing
//! whitespace (a CRLF's `\r` too) is dropped; a line ending in `\` goes on
//! with the next one, glued as written: the space before the `\` and the
//! next line's indentation stay, as the parser munin-limits, munin-html
//! and munin-graph read munin.conf with keeps them (munin-update's trims
//! the indentation, which only matters inside a value such as a contact's
//! `text`); a line that is empty after all that is skipped. Each logical
//! line keeps the number of its first physical line.

/// One logical line.
#[derive(Debug, Clone, PartialEq)]
pub enum Line {
    /// `[name]`: the prefix for the following keys, as written.
    Section(String),
    /// `key value...`; the value is `None` when the line is one word.
    Setting { key: String, value: Option<String> },
}

/// What a file holds: its lines with their numbers, and problems that
/// did not stop the reading (with the line number they concern).
#[derive(Debug, Default)]
pub struct Parsed {
    pub lines: Vec<(usize, Line)>,
    pub problems: Vec<(usize, String)>,
}

/// Splits `text` into logical lines.
pub fn parse(text: &str) -> Parsed {
    let mut out = Parsed::default();
    let mut pending: Option<(usize, String)> = None;
    for (i, raw) in text.lines().enumerate() {
        let number = i + 1;
        let stripped = strip_comment(raw);
        let line = if pending.is_some() {
            stripped.trim_end()
        } else {
            stripped.trim()
        };
        if let Some(head) = line.strip_suffix('\\') {
            pending
                .get_or_insert_with(|| (number, String::new()))
                .1
                .push_str(head);
            continue;
        }
        let (start, whole) = match pending.take() {
            Some((start, mut head)) => {
                head.push_str(line);
                (start, head)
            }
            None => (number, line.to_string()),
        };
        if whole.is_empty() {
            continue;
        }
        out.lines.push((start, classify(&whole)));
    }
    if let Some((start, _)) = pending {
        out.problems.push((
            start,
            "the file ends inside a continued line (a last line ending in \\): that line is dropped, as Munin drops it".into(),
        ));
    }
    out
}

/// `[name]` or `key value`. A section needs a non-empty name; `[]` is a
/// (strange) key, as Munin reads it.
fn classify(line: &str) -> Line {
    if let Some(inner) = line.strip_prefix('[')
        && let Some(end) = inner.find(']')
        && end > 0
        && inner[end + 1..].trim().is_empty()
    {
        return Line::Section(inner[..end].to_string());
    }
    match line.split_once(char::is_whitespace) {
        Some((key, value)) => Line::Setting {
            key: key.to_string(),
            value: Some(value.trim_start().to_string()),
        },
        None => Line::Setting {
            key: line.to_string(),
            value: None,
        },
    }
}

/// Drops everything from the first `#` that is not written `\#`, then
/// turns each `\#` into `#`.
fn strip_comment(raw: &str) -> String {
    let bytes = raw.as_bytes();
    let mut end = raw.len();
    for (i, b) in bytes.iter().enumerate() {
        if *b == b'#' && (i == 0 || bytes[i - 1] != b'\\') {
            end = i;
            break;
        }
    }
    raw[..end].replace("\\#", "#")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setting(k: &str, v: &str) -> Line {
        Line::Setting {
            key: k.into(),
            value: Some(v.into()),
        }
    }

    #[test]
    fn continuation_glues_lines_as_written_and_keeps_the_first_number() {
        let p =
            parse("load.sum \\\r\n   a.b:load.load \\\n  c.d:load.load\r\n\nx.text one\\\ntwo\n");
        assert_eq!(
            p.lines,
            vec![
                (1, setting("load.sum", "a.b:load.load   c.d:load.load")),
                (5, setting("x.text", "onetwo")),
            ]
        );
        assert!(p.problems.is_empty());
    }

    #[test]
    fn comments_escapes_sections_and_one_word_lines() {
        let p = parse(
            "# c\n[foo.com;Totals] # hosts\n  contact.x.command echo \\#1 # no\n[]\nlonely\n[a] b\n",
        );
        assert_eq!(
            p.lines,
            vec![
                (2, Line::Section("foo.com;Totals".into())),
                (3, setting("contact.x.command", "echo #1")),
                (
                    4,
                    Line::Setting {
                        key: "[]".into(),
                        value: None
                    }
                ),
                (
                    5,
                    Line::Setting {
                        key: "lonely".into(),
                        value: None
                    }
                ),
                (6, setting("[a]", "b")),
            ]
        );
    }

    #[test]
    fn a_last_continued_line_is_dropped_and_said() {
        let p = parse("dbdir /x\nload.sum a \\\n");
        assert_eq!(p.lines.len(), 1);
        assert_eq!(p.problems.len(), 1);
        assert_eq!(p.problems[0].0, 2);
    }
}
