//! `list` and `spoolfetch` answered from the spool, as munin-async's
//! reader answers them.
//!
//! `spoolfetch T` sends, plugin by plugin, every record after the first
//! `timestamp E` with `E > T`, from the files whose interval reaches past
//! `T`: the record's lines as written, each `field.value V` turned into
//! `field.value E:V` (a value that has its own time is left alone). At
//! most six files per plugin go in one answer, as in munin-async (the
//! master asks again from where it got to). A line torn by a crash (the
//! last, without its newline) is not sent; lines are read at most 64 KiB
//! long, so a damaged file cannot make the reader hold more.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;

use nix::fcntl::{Flock, FlockArg};

use super::files;

/// Files per plugin in one answer (munin-async sends five, then one more
/// before it checks).
const FILES_PER_PLUGIN: usize = 6;
/// Longest spool line read.
const MAX_LINE: usize = 64 * 1024;

/// The plugins in the spool, sorted, space-separated, with a newline.
pub fn list(dir: &Path) -> std::io::Result<String> {
    let mut plugins: Vec<String> = files(dir)?.into_iter().map(|f| f.plugin).collect();
    plugins.sort();
    plugins.dedup();
    Ok(plugins.join(" ") + "\n")
}

/// Writes the answer to `spoolfetch since` (without the closing `.`).
pub fn fetch(dir: &Path, since: u64, out: &mut dyn Write) -> std::io::Result<()> {
    let all = files(dir)?;
    let mut plugins: Vec<&str> = all.iter().map(|f| f.plugin.as_str()).collect();
    plugins.sort();
    plugins.dedup();
    for plugin in plugins {
        let mut sent = 0;
        for f in all.iter().filter(|f| f.plugin == plugin) {
            if f.start.saturating_add(f.size) < since {
                continue;
            }
            // A file removed by a cleanup meanwhile is simply not there.
            let Ok(file) = std::fs::File::open(&f.path) else {
                continue;
            };
            let file = Flock::lock(file, FlockArg::LockShared).map_err(|(_, e)| {
                std::io::Error::other(format!("{}: flock: {e}", f.path.display()))
            })?;
            if records_after(BufReader::new(&*file), since, out)? {
                sent += 1;
                if sent >= FILES_PER_PLUGIN {
                    break;
                }
            }
        }
    }
    Ok(())
}

/// One file's records after `since`, as `spoolfetch` sends them;
/// whether it had any.
pub fn records_after(
    mut r: impl BufRead,
    since: u64,
    out: &mut dyn Write,
) -> std::io::Result<bool> {
    let mut line = Vec::new();
    let mut epoch = None;
    while next_line(&mut r, &mut line)? {
        if let Some(e) = timestamp(&line)
            && e > since
        {
            epoch = Some(e);
            break;
        }
    }
    let Some(mut epoch) = epoch else {
        return Ok(false);
    };
    while next_line(&mut r, &mut line)? {
        if let Some(e) = timestamp(&line) {
            epoch = e;
            continue;
        }
        match with_time(&line, epoch) {
            Some(rewritten) => out.write_all(rewritten.as_bytes())?,
            None => out.write_all(&line)?,
        }
        out.write_all(b"\n")?;
    }
    Ok(true)
}

/// The next whole line into `line` (without its newline); `false` at the
/// end (a last line without a newline is torn and dropped). Longer lines
/// are skipped.
fn next_line<R: BufRead>(r: &mut R, line: &mut Vec<u8>) -> std::io::Result<bool> {
    loop {
        line.clear();
        let n = std::io::Read::take(&mut *r, MAX_LINE as u64 + 1).read_until(b'\n', line)?;
        if n == 0 || line.last() != Some(&b'\n') {
            if n > MAX_LINE && skip_line(r)? {
                continue;
            }
            return Ok(false);
        }
        line.pop();
        return Ok(true);
    }
}

/// Reads past the rest of a line without keeping it; whether it ended
/// (else the file did).
fn skip_line<R: BufRead>(r: &mut R) -> std::io::Result<bool> {
    loop {
        let buf = r.fill_buf()?;
        if buf.is_empty() {
            return Ok(false);
        }
        if let Some(i) = buf.iter().position(|b| *b == b'\n') {
            r.consume(i + 1);
            return Ok(true);
        }
        let n = buf.len();
        r.consume(n);
    }
}

/// `timestamp N`.
fn timestamp(line: &[u8]) -> Option<u64> {
    let rest = line.strip_prefix(b"timestamp ")?;
    let digits: Vec<u8> = rest
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .copied()
        .collect();
    std::str::from_utf8(&digits).ok()?.parse().ok()
}

/// `field.value V` (or `N:V`) as `field.value E:V`; `None` for any other
/// line (a value with its own time included).
fn with_time(line: &[u8], epoch: u64) -> Option<String> {
    let text = std::str::from_utf8(line).ok()?;
    let (field, rest) = text.split_once(".value")?;
    if field.is_empty()
        || !field
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_')
    {
        return None;
    }
    if !rest.starts_with(|c: char| c.is_ascii_whitespace()) {
        return None;
    }
    let v = rest.trim_start();
    let v = v.strip_prefix("N:").unwrap_or(v);
    if v.is_empty() || v.contains(':') {
        return None;
    }
    Some(format!("{field}.value {epoch}:{v}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spool::writer::Writer;

    fn rows(s: &str) -> Vec<String> {
        s.lines().map(str::to_string).collect()
    }

    #[test]
    fn records_after_the_timestamp_with_their_times() {
        let dir = tempfile::tempdir().unwrap();
        let w = Writer::open(dir.path(), Some(1000), None, "n").unwrap();
        w.append(
            1100,
            "load",
            &rows("graph_title Load\nload.label l\nload.value 1"),
        )
        .unwrap();
        w.append(
            1200,
            "load",
            &rows("graph_title Load\nload.label l\nload.value N:2"),
        )
        .unwrap();
        w.append(1300, "load", &rows("load.value 1299:3")).unwrap();
        w.append(2100, "cpu", &rows("multigraph cpu\nuser.value 5"))
            .unwrap();
        assert_eq!(list(dir.path()).unwrap(), "cpu load\n");
        let mut out = Vec::new();
        fetch(dir.path(), 1100, &mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "multigraph cpu\nuser.value 2100:5\n\
             multigraph load\ngraph_title Load\nload.label l\nload.value 1200:2\n\
             multigraph load\nload.value 1299:3\n"
        );
        let mut out = Vec::new();
        fetch(dir.path(), 2100, &mut out).unwrap();
        assert!(out.is_empty(), "{}", String::from_utf8_lossy(&out));
    }

    #[test]
    fn a_torn_tail_and_long_lines_are_not_sent() {
        let text = format!(
            "timestamp 5\nmultigraph p\n{}\nx.value 1\ntimestamp 6\nx.val",
            "y".repeat(MAX_LINE + 10)
        );
        let mut out = Vec::new();
        assert!(records_after(text.as_bytes(), 0, &mut out).unwrap());
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "multigraph p\nx.value 5:1\n"
        );
    }
}
