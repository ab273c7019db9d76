//! A protocol client that speaks TLS when told to: the settings come as
//! munin.conf lines (`tls paranoid`, `tls_certificate ...`), read by our
//! library's TLS code, so a test can ask a TLS-only node what it serves.

use std::net::SocketAddr;

use munin_rs::tls::stream::BoxIo;
use munin_rs::tls::{Context, Mode, Settings, Side};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

pub struct Session {
    rt: tokio::runtime::Runtime,
    io: BufReader<BoxIo>,
}

/// The TLS settings in `lines` (other lines ignored), over the master's
/// defaults.
pub fn settings(lines: &str) -> Settings {
    let mut s = Settings::master_defaults();
    for line in lines.lines() {
        if let Some((k, v)) = line.trim().split_once(' ') {
            s.set(k, v.trim()).unwrap();
        }
    }
    s
}

impl Session {
    /// Connects, reads the banner and, unless `lines` leave TLS disabled,
    /// starts TLS.
    pub fn open(addr: SocketAddr, lines: &str) -> Session {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let settings = settings(lines);
        let io = rt.block_on(async {
            let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
            let mut io: BufReader<BoxIo> = BufReader::new(Box::new(tcp));
            let mut banner = String::new();
            io.read_line(&mut banner).await.unwrap();
            assert!(banner.starts_with("# munin node at "), "{banner:?}");
            if settings.mode == Mode::Disabled {
                return io;
            }
            io.get_mut().write_all(b"STARTTLS\n").await.unwrap();
            let mut answer = String::new();
            io.read_line(&mut answer).await.unwrap();
            assert_eq!(answer, "TLS OK\n");
            let ctx = Context::load(settings).unwrap();
            let tls = ctx
                .secure(io.into_inner(), Vec::new(), Side::Client, "localhost")
                .await
                .unwrap();
            BufReader::new(tls)
        });
        Session { rt, io }
    }

    /// One command, one line back.
    pub fn line(&mut self, cmd: &str) -> String {
        let io = &mut self.io;
        self.rt.block_on(async {
            io.get_mut()
                .write_all(format!("{cmd}\n").as_bytes())
                .await
                .unwrap();
            io.get_mut().flush().await.unwrap();
            let mut line = String::new();
            io.read_line(&mut line).await.unwrap();
            line
        })
    }

    /// One command, lines back up to and including the `.` line.
    pub fn dot(&mut self, cmd: &str) -> String {
        let mut out = self.line(cmd);
        if out == ".\n" {
            return out;
        }
        loop {
            let io = &mut self.io;
            let line = self.rt.block_on(async {
                let mut line = String::new();
                io.read_line(&mut line).await.unwrap();
                line
            });
            assert!(!line.is_empty(), "the node closed inside a reply");
            out.push_str(&line);
            if line == ".\n" {
                return out;
            }
        }
    }
}
