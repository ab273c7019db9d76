//! Line framing for one client connection.
//!
//! Lines end in `\n`. A line longer than the limit is cut: its first `max`
//! bytes are kept and the rest is read and thrown away up to the newline, so
//! a client cannot make the node buffer without bound, yet a long garbage line
//! still gets the same one-line answer as on the real node (which reads lines
//! of any length). An unterminated last line before EOF is still a line, as
//! on the real node (`version` followed by a half-close is answered).
//!
//! A line once begun must end within the line timeout: a client trickling
//! bytes without a newline would otherwise hold its session until the idle
//! timeout, every byte resetting it.

use std::time::Duration;

use tokio::io::{AsyncBufRead, AsyncBufReadExt};
use tokio::time::Instant;

/// One line read from the client, without its `\n`.
#[derive(Debug, PartialEq, Eq)]
pub struct Line {
    pub bytes: Vec<u8>,
    /// The line was longer than the limit and has been cut.
    pub truncated: bool,
}

/// Reads lines of at most `max` bytes from `reader`.
pub struct LineReader<R> {
    reader: R,
    max: usize,
    line_timeout: Option<Duration>,
}

impl<R: AsyncBufRead + Unpin> LineReader<R> {
    pub fn new(reader: R, max: usize) -> Self {
        LineReader {
            reader,
            max,
            line_timeout: None,
        }
    }

    /// A line begun must be complete within `t`, else `next_line` fails
    /// with [`std::io::ErrorKind::TimedOut`].
    pub fn with_line_timeout(mut self, t: Duration) -> Self {
        self.line_timeout = Some(t);
        self
    }

    /// The reader, to write replies on the same stream.
    pub fn get_mut(&mut self) -> &mut R {
        &mut self.reader
    }

    /// The reader, with whatever it has buffered, for `STARTTLS`.
    pub fn into_inner(self) -> R {
        self.reader
    }

    /// The next line, or `None` at end of input.
    pub async fn next_line(&mut self) -> std::io::Result<Option<Line>> {
        let mut bytes = Vec::new();
        let mut truncated = false;
        let mut seen_any = false;
        let mut until: Option<Instant> = None;
        loop {
            let buf = match until {
                Some(at) => match tokio::time::timeout_at(at, self.reader.fill_buf()).await {
                    Ok(r) => r?,
                    Err(_) => {
                        return Err(std::io::Error::new(
                            std::io::ErrorKind::TimedOut,
                            "a command line was begun and not finished within line_timeout",
                        ));
                    }
                },
                None => self.reader.fill_buf().await?,
            };
            if buf.is_empty() {
                return Ok(seen_any.then_some(Line { bytes, truncated }));
            }
            seen_any = true;
            let (chunk, used, done) = match buf.iter().position(|&b| b == b'\n') {
                Some(i) => (&buf[..i], i + 1, true),
                None => (buf, buf.len(), false),
            };
            let room = self.max - bytes.len();
            if chunk.len() > room {
                truncated = true;
            }
            bytes.extend_from_slice(&chunk[..chunk.len().min(room)]);
            self.reader.consume(used);
            if done {
                return Ok(Some(Line { bytes, truncated }));
            }
            if until.is_none() {
                until = self.line_timeout.map(|t| Instant::now() + t);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn all_lines(input: &[u8], max: usize) -> Vec<Line> {
        let mut r = LineReader::new(tokio::io::BufReader::with_capacity(4, input), max);
        let mut out = Vec::new();
        while let Some(l) = r.next_line().await.unwrap() {
            out.push(l);
        }
        out
    }

    fn line(s: &[u8], truncated: bool) -> Line {
        Line {
            bytes: s.to_vec(),
            truncated,
        }
    }

    #[tokio::test]
    async fn splits_and_keeps_the_unterminated_tail() {
        assert_eq!(
            all_lines(b"list\n\nversion", 100).await,
            vec![
                line(b"list", false),
                line(b"", false),
                line(b"version", false)
            ]
        );
    }

    #[tokio::test]
    async fn cuts_long_lines_and_resynchronises() {
        let mut input = b"fetch ".to_vec();
        input.extend(std::iter::repeat_n(b'B', 1000));
        input.extend_from_slice(b"\nversion\n");
        let got = all_lines(&input, 16).await;
        assert_eq!(
            got,
            vec![line(b"fetch BBBBBBBBBB", true), line(b"version", false)]
        );
    }

    #[tokio::test]
    async fn a_line_begun_must_end_in_time() {
        let (mut w, r) = tokio::io::duplex(64);
        let mut lines = LineReader::new(tokio::io::BufReader::new(r), 100)
            .with_line_timeout(Duration::from_millis(200));
        tokio::io::AsyncWriteExt::write_all(&mut w, b"vers")
            .await
            .unwrap();
        let e = lines.next_line().await.unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::TimedOut);
    }

    #[tokio::test]
    async fn empty_input_has_no_lines() {
        assert!(all_lines(b"", 10).await.is_empty());
    }
}
