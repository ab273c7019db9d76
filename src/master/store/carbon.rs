//! Sending every stored value to carbon (`carbon_server` in munin.conf) in
//! Graphite's plaintext protocol: `<path> <value> <time>\n` over TCP.
//!
//! The path is `<carbon_prefix>.<group>...<host>.<service>.<field>`, each
//! part cleaned of what Graphite treats as structure (a host's dots
//! become `_`, so `web.example.com` stays one node of the tree; a
//! multigraph child `parent.child` keeps its dot and nests). One task owns
//! the connection; hosts hand it their lines and go on. A carbon that is
//! down or slow costs values sent to it, counted, never the RRD update.

use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// What was sent by the end of a run.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Sent {
    pub values: usize,
    pub dropped: usize,
    pub error: Option<String>,
}

/// A connection to carbon, fed from the hosts' tasks.
pub struct Carbon {
    queue: mpsc::Sender<(usize, String)>,
    task: JoinHandle<Sent>,
}

/// How long a run's last lines may take to leave at its end.
const DRAIN: Duration = Duration::from_secs(10);

impl Carbon {
    /// Starts the sender to `address` (`host:port`); connects lazily.
    pub fn start(address: String) -> Carbon {
        let (queue, rx) = mpsc::channel(1024);
        Carbon {
            queue,
            task: tokio::spawn(send_all(address, rx)),
        }
    }

    /// Queues `lines` (holding `count` values); dropped and counted when
    /// carbon cannot keep up.
    pub fn send(&self, count: usize, lines: String) -> bool {
        self.queue.try_send((count, lines)).is_ok()
    }

    /// Sends what is queued (within a deadline) and says what went out.
    pub async fn finish(self, dropped_here: usize) -> Sent {
        drop(self.queue);
        let mut sent = match tokio::time::timeout(DRAIN, self.task).await {
            Ok(Ok(sent)) => sent,
            Ok(Err(e)) => Sent {
                error: Some(format!("carbon sender failed: {e}")),
                ..Sent::default()
            },
            Err(_) => Sent {
                error: Some(format!("carbon: not all sent within {} s", DRAIN.as_secs())),
                ..Sent::default()
            },
        };
        sent.dropped += dropped_here;
        sent
    }
}

async fn send_all(address: String, mut rx: mpsc::Receiver<(usize, String)>) -> Sent {
    let mut sent = Sent::default();
    let mut conn: Option<TcpStream> = None;
    let mut down = false;
    while let Some((count, lines)) = rx.recv().await {
        if down {
            sent.dropped += count;
            continue;
        }
        // A connection carbon closed or reset since the last lines (a
        // relay restarted, an idle connection a proxy dropped) is made
        // anew, and a write that fails gets one new connection and the
        // same lines again; carbon keeps one point per time, so lines
        // that did arrive twice change nothing.
        if conn.as_ref().is_some_and(|c| !open(c)) {
            conn = None;
        }
        let mut tries = if conn.is_some() { 2 } else { 1 };
        let outcome = loop {
            tries -= 1;
            if conn.is_none() {
                match connect(&address).await {
                    Ok(c) => conn = Some(c),
                    Err(e) => break Err(Failed::Down(e)),
                }
            }
            let c = conn.as_mut().expect("connected above");
            match tokio::time::timeout(DRAIN, c.write_all(lines.as_bytes())).await {
                Ok(Ok(())) => break Ok(()),
                Ok(Err(e)) => {
                    conn = None;
                    if tries == 0 {
                        break Err(Failed::Write(format!("carbon {address}: {e}")));
                    }
                }
                Err(_) => {
                    break Err(Failed::Down(format!(
                        "carbon {address}: too slow, lines dropped"
                    )));
                }
            }
        };
        match outcome {
            Ok(()) => sent.values += count,
            Err(failed) => {
                sent.dropped += count;
                down = matches!(failed, Failed::Down(_));
                let (Failed::Down(e) | Failed::Write(e)) = failed;
                sent.error = Some(e);
            }
        }
    }
    if let Some(mut c) = conn {
        let _ = c.shutdown().await;
    }
    sent
}

/// Why a batch of lines was not sent.
enum Failed {
    /// No connection, or carbon too slow to take the lines: the rest of
    /// the run's lines are dropped without waiting on it again.
    Down(String),
    /// A write failed on a new connection too: the next lines try
    /// another.
    Write(String),
}

/// Whether carbon still holds `c` open. Carbon never writes to us, so a
/// readable end is a close or a reset: lines written into it would be
/// taken by the kernel and lost (only the write after them fails).
fn open(c: &TcpStream) -> bool {
    matches!(c.try_read(&mut [0u8; 64]), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock)
}

/// A new connection to carbon, within 5 s.
async fn connect(address: &str) -> Result<TcpStream, String> {
    match tokio::time::timeout(Duration::from_secs(5), TcpStream::connect(address)).await {
        Ok(Ok(c)) => Ok(c),
        Ok(Err(e)) => Err(format!("carbon {address}: {e}")),
        Err(_) => Err(format!("carbon {address}: no connection within 5 s")),
    }
}

/// One path component: anything but `[A-Za-z0-9_-]` becomes `_`.
fn clean(part: &str) -> String {
    part.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The metric path of a field.
pub fn path(prefix: &str, groups: &[String], host: &str, service: &str, field: &str) -> String {
    let mut parts: Vec<String> = Vec::new();
    if !prefix.is_empty() {
        parts.extend(prefix.split('.').filter(|p| !p.is_empty()).map(clean));
    }
    parts.extend(groups.iter().map(|g| clean(g)));
    parts.push(clean(host));
    parts.extend(service.split('.').map(clean));
    parts.push(clean(field));
    parts.join(".")
}

/// The value as carbon takes it: what the RRD file got (see
/// `store::value_text`), but never `U`, which carbon has no word for.
pub fn value(text: &str) -> Option<String> {
    super::rrdfile::value_text(text).filter(|v| v != "U")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_values() {
        assert_eq!(
            path(
                "munin",
                &["web servers".into()],
                "www.example.com",
                "diskstats_io.sda",
                "rd.ticks"
            ),
            "munin.web_servers.www_example_com.diskstats_io.sda.rd_ticks"
        );
        assert_eq!(path("", &[], "h", "load", "load"), "h.load.load");
        assert_eq!(path("a.b", &[], "h", "s", "f"), "a.b.h.s.f");
        assert_eq!(value("U"), None);
        assert_eq!(value("nan"), None);
        assert_eq!(
            value("18446744073709551615").as_deref(),
            Some("18446744073709551615")
        );
        assert_eq!(value("1e3").as_deref(), Some("1000"));
        assert_eq!(value(" -0.5 ").as_deref(), Some("-0.5"));
    }

    /// A carbon that closes the connection between two batches loses
    /// neither: the second goes on a new connection.
    #[tokio::test]
    async fn a_connection_carbon_closed_is_made_again_and_nothing_is_lost() {
        use tokio::io::AsyncReadExt;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap().to_string();
        let carbon = Carbon::start(address);
        assert!(carbon.send(1, "a 1 100\n".into()));
        let (mut first, _) = listener.accept().await.unwrap();
        let mut got = vec![0u8; 8];
        first.read_exact(&mut got).await.unwrap();
        assert_eq!(got, b"a 1 100\n");
        // Closed by carbon, as a relay that drops a client.
        drop(first);
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(carbon.send(1, "b 2 100\n".into()));
        let (mut second, _) = tokio::time::timeout(Duration::from_secs(5), listener.accept())
            .await
            .expect("the second batch on a new connection")
            .unwrap();
        let sent = carbon.finish(0).await;
        let mut rest = String::new();
        second.read_to_string(&mut rest).await.unwrap();
        assert_eq!(rest, "b 2 100\n");
        assert_eq!(
            sent,
            Sent {
                values: 2,
                dropped: 0,
                error: None
            }
        );
    }
}
