//! Updates through rrdcached (`rrdcached_socket` in munin.conf), speaking
//! its text protocol on tokio: each host's values go as one `BATCH` of
//! `UPDATE <file> <time>:<value>` lines, answered by an error count and
//! one line per failed command. rrdcached keeps the values in memory and
//! writes each file once per its flush interval, so a run costs the
//! master a socket write instead of a librrd call per value.
//!
//! A few connections are shared by all hosts (rrdcached runs a thread per
//! client), each reopened once when it breaks. Files are created by the
//! caller, through librrd, before their first update: rrdcached only
//! updates existing files.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::{Mutex, mpsc, oneshot};

/// One update: the file (absolute path), time stamp, value text.
#[derive(Debug, Clone)]
pub struct Update {
    pub file: String,
    pub time: u64,
    pub value: String,
}

/// Failed commands of a batch: (index into the batch, rrdcached's message).
pub type Failures = Vec<(usize, String)>;

trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

type Request = (Vec<Update>, oneshot::Sender<Result<Failures, String>>);

/// Connections to one rrdcached.
pub struct Cached {
    queue: mpsc::Sender<Request>,
}

/// How long one batch may take before the connection is given up.
const DEADLINE: Duration = Duration::from_secs(30);

impl Cached {
    /// Opens `connections` connections to `address`: a socket path
    /// (`/run/rrdcached.sock`, `unix:/...`) or `host:port`.
    pub async fn connect(address: &str, connections: usize) -> Result<Cached, String> {
        let (tx, rx) = mpsc::channel::<Request>(connections * 2);
        let rx = Arc::new(Mutex::new(rx));
        for _ in 0..connections.max(1) {
            let stream = open(address).await?;
            tokio::spawn(serve(address.to_string(), stream, rx.clone()));
        }
        Ok(Cached { queue: tx })
    }

    /// Sends `updates` as one batch; the failed ones come back.
    pub async fn update(&self, updates: Vec<Update>) -> Result<Failures, String> {
        if updates.is_empty() {
            return Ok(Vec::new());
        }
        let (reply, answer) = oneshot::channel();
        self.queue
            .send((updates, reply))
            .await
            .map_err(|_| "rrdcached: no connection left".to_string())?;
        answer
            .await
            .map_err(|_| "rrdcached: connection lost".to_string())?
    }
}

/// Whether `file` can be named on rrdcached's space-separated lines.
pub fn can_name(file: &str) -> bool {
    !file.is_empty() && !file.chars().any(|c| c.is_whitespace() || c.is_control())
}

async fn open(address: &str) -> Result<Box<dyn Stream>, String> {
    let fail = |e: std::io::Error| format!("rrdcached {address}: {e}");
    let path = address.strip_prefix("unix:").unwrap_or(address);
    let connect = async {
        if path.starts_with('/') {
            Ok(
                Box::new(tokio::net::UnixStream::connect(path).await.map_err(fail)?)
                    as Box<dyn Stream>,
            )
        } else {
            Ok(Box::new(
                tokio::net::TcpStream::connect(address)
                    .await
                    .map_err(fail)?,
            ) as Box<dyn Stream>)
        }
    };
    tokio::time::timeout(Duration::from_secs(5), connect)
        .await
        .map_err(|_| format!("rrdcached {address}: no connection within 5 s"))?
}

async fn serve(
    address: String,
    stream: Box<dyn Stream>,
    queue: Arc<Mutex<mpsc::Receiver<Request>>>,
) {
    let mut conn = Some(BufReader::new(stream));
    loop {
        let Some((updates, reply)) = queue.lock().await.recv().await else {
            return;
        };
        let mut answer = Err(String::new());
        // A connection rrdcached closed (restart, idle) is reopened once.
        for _ in 0..2 {
            let c = match conn.take() {
                Some(c) => c,
                None => match open(&address).await {
                    Ok(s) => BufReader::new(s),
                    Err(e) => {
                        answer = Err(e);
                        break;
                    }
                },
            };
            let mut c = c;
            answer = match tokio::time::timeout(DEADLINE, batch(&mut c, &updates)).await {
                Ok(r) => r.map_err(|e| format!("rrdcached {address}: {e}")),
                Err(_) => Err(format!(
                    "rrdcached {address}: no answer within {} s",
                    DEADLINE.as_secs()
                )),
            };
            if answer.is_ok() {
                conn = Some(c);
                break;
            }
        }
        let _ = reply.send(answer);
    }
}

/// One `BATCH` exchange.
async fn batch(c: &mut BufReader<Box<dyn Stream>>, updates: &[Update]) -> Result<Failures, String> {
    let io = |e: std::io::Error| e.to_string();
    c.get_mut().write_all(b"BATCH\n").await.map_err(io)?;
    let go = read_line(c).await?;
    if !go.starts_with("0 ") {
        return Err(format!("BATCH refused: {go}"));
    }
    let mut text = String::with_capacity(updates.len() * 96);
    for u in updates {
        text.push_str(&format!("UPDATE {} {}:{}\n", u.file, u.time, u.value));
    }
    text.push_str(".\n");
    c.get_mut().write_all(text.as_bytes()).await.map_err(io)?;
    let head = read_line(c).await?;
    let count: usize = head
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| format!("unexpected answer {head:?}"))?;
    let mut failed = Vec::with_capacity(count);
    for _ in 0..count {
        let line = read_line(c).await?;
        let (n, message) = line.split_once(' ').unwrap_or((&line, ""));
        // Commands are numbered from 1.
        let index = n.parse::<usize>().ok().and_then(|n| n.checked_sub(1));
        match index.filter(|i| *i < updates.len()) {
            Some(i) => failed.push((i, message.to_string())),
            None => return Err(format!("unexpected error line {line:?}")),
        }
    }
    Ok(failed)
}

async fn read_line(c: &mut BufReader<Box<dyn Stream>>) -> Result<String, String> {
    let mut line = String::new();
    let n = c.read_line(&mut line).await.map_err(|e| e.to_string())?;
    if n == 0 {
        return Err("connection closed".into());
    }
    Ok(line.trim_end().to_string())
}

/// rrdcached refuses a second update in the same second as librrd's
/// `skip_past_updates` would skip it: not an error worth reporting.
pub fn is_not_newer(message: &str) -> bool {
    message.contains("minimum one second step")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_fit_for_the_protocol() {
        assert!(can_name("/var/lib/munin/g/h-cpu-user-d.rrd"));
        assert!(!can_name("/var/lib/munin/my group/h.rrd"));
        assert!(!can_name(""));
    }

    #[tokio::test]
    async fn a_batch_and_its_numbered_errors() {
        let (ours, mut theirs) = tokio::io::duplex(4096);
        let server = tokio::spawn(async move {
            use tokio::io::AsyncReadExt;
            let mut got = Vec::new();
            let mut buf = [0u8; 1024];
            theirs.write_all(b"").await.unwrap();
            loop {
                let n = theirs.read(&mut buf).await.unwrap();
                got.extend_from_slice(&buf[..n]);
                let text = String::from_utf8_lossy(&got).to_string();
                if text == "BATCH\n" {
                    theirs
                        .write_all(b"0 Go ahead.  End with dot '.' on its own line.\n")
                        .await
                        .unwrap();
                }
                if text.ends_with("\n.\n") {
                    theirs
                        .write_all(b"1 errors\n2 no such file\n")
                        .await
                        .unwrap();
                    return text;
                }
            }
        });
        let mut c = BufReader::new(Box::new(ours) as Box<dyn Stream>);
        let updates = vec![
            Update {
                file: "/a.rrd".into(),
                time: 10,
                value: "1".into(),
            },
            Update {
                file: "/b.rrd".into(),
                time: 10,
                value: "U".into(),
            },
        ];
        let failed = batch(&mut c, &updates).await.unwrap();
        assert_eq!(failed, vec![(1, "no such file".to_string())]);
        assert_eq!(
            server.await.unwrap(),
            "BATCH\nUPDATE /a.rrd 10:1\nUPDATE /b.rrd 10:U\n.\n"
        );
    }
}
