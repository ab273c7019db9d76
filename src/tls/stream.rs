//! One boxed byte stream for every way master and node talk (a TCP
//! socket, a child's pipes, stdin/stdout, TLS over any of these), and the
//! bytes a line reader took ahead of `STARTTLS`, handed back to the
//! handshake.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// A duplex byte stream.
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send {}

impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

pub type BoxIo = Box<dyn Io>;

/// `inner`, with `ahead` read first: bytes already taken from it by a
/// buffered reader.
pub struct Rewind {
    ahead: Vec<u8>,
    at: usize,
    inner: BoxIo,
}

impl Rewind {
    pub fn new(ahead: Vec<u8>, inner: BoxIo) -> Rewind {
        Rewind {
            ahead,
            at: 0,
            inner,
        }
    }
}

impl AsyncRead for Rewind {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.at < self.ahead.len() {
            let n = (self.ahead.len() - self.at).min(buf.remaining());
            let from = self.at;
            buf.put_slice(&self.ahead[from..from + n]);
            self.at += n;
            if self.at == self.ahead.len() {
                self.ahead = Vec::new();
                self.at = 0;
            }
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for Rewind {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn the_bytes_ahead_come_first() {
        let (a, mut b) = tokio::io::duplex(64);
        let mut r = Rewind::new(b"ahead ".to_vec(), Box::new(a));
        b.write_all(b"then the rest").await.unwrap();
        drop(b);
        let mut s = String::new();
        r.read_to_string(&mut s).await.unwrap();
        assert_eq!(s, "ahead then the rest");
    }
}
