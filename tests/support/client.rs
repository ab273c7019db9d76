//! A blocking munin protocol client for tests.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

pub struct Client {
    reader: BufReader<TcpStream>,
    stream: TcpStream,
}

impl Client {
    /// Connects and reads the banner.
    pub fn connect(addr: SocketAddr) -> (Client, String) {
        let stream = TcpStream::connect(addr).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        let mut c = Client {
            reader: BufReader::new(stream.try_clone().unwrap()),
            stream,
        };
        let banner = c.read_line();
        (c, banner)
    }

    pub fn set_timeout(&self, t: Duration) {
        self.stream.set_read_timeout(Some(t)).unwrap();
    }

    pub fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("send");
    }

    /// One line including its `\n`; empty at EOF.
    pub fn read_line(&mut self) -> String {
        let mut buf = Vec::new();
        self.reader.read_until(b'\n', &mut buf).expect("read line");
        String::from_utf8_lossy(&buf).into_owned()
    }

    /// Raw bytes of one line.
    pub fn read_line_bytes(&mut self) -> Vec<u8> {
        let mut buf = Vec::new();
        self.reader.read_until(b'\n', &mut buf).expect("read line");
        buf
    }

    /// Lines up to and including the `.` line.
    pub fn read_dot(&mut self) -> String {
        let mut out = String::new();
        loop {
            let line = self.read_line();
            out.push_str(&line);
            if line == ".\n" || line.is_empty() {
                return out;
            }
        }
    }

    /// Sends `cmd\n` and reads a one-line reply.
    pub fn line(&mut self, cmd: &str) -> String {
        self.send(format!("{cmd}\n").as_bytes());
        self.read_line()
    }

    /// Sends `cmd\n` and reads a reply ending in a `.` line.
    pub fn dot(&mut self, cmd: &str) -> String {
        self.send(format!("{cmd}\n").as_bytes());
        self.read_dot()
    }

    /// Reads until the server closes; returns what came.
    pub fn read_to_close(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        let _ = self.reader.read_to_end(&mut out);
        out
    }
}

impl Client {
    /// Half-closes the connection (EOF to the server).
    pub fn shutdown_write(&self) {
        self.stream.shutdown(std::net::Shutdown::Write).unwrap();
    }
}
