//! One accepted connection as the server sees it: when it last moved a
//! byte, whether a handler is working on it, and how to close it from
//! outside (eviction at the connection cap, a stall, shutdown).

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Instant;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::Notify;

/// What the server and the connection's task share.
#[derive(Debug)]
pub struct Conn {
    pub id: u64,
    /// Milliseconds since the server's epoch of the last byte in or out.
    last: AtomicU64,
    /// Requests a handler is working on: a slow answer (a graph in the
    /// drawing queue) is progress even when no byte moves.
    busy: AtomicUsize,
    /// Woken to close the connection now.
    pub kill: Notify,
    epoch: Instant,
}

impl Conn {
    pub fn new(id: u64, epoch: Instant) -> Arc<Conn> {
        let c = Conn {
            id,
            last: AtomicU64::new(0),
            busy: AtomicUsize::new(0),
            kill: Notify::new(),
            epoch,
        };
        c.touch();
        Arc::new(c)
    }

    fn now_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    pub fn touch(&self) {
        self.last.store(self.now_ms(), Ordering::Relaxed);
    }

    /// Milliseconds since the last byte moved.
    pub fn quiet_ms(&self) -> u64 {
        self.now_ms()
            .saturating_sub(self.last.load(Ordering::Relaxed))
    }

    pub fn last_ms(&self) -> u64 {
        self.last.load(Ordering::Relaxed)
    }

    pub fn is_busy(&self) -> bool {
        self.busy.load(Ordering::Relaxed) > 0
    }

    /// Marks a request in a handler until the guard is dropped.
    pub fn working(self: &Arc<Conn>) -> Working {
        self.busy.fetch_add(1, Ordering::Relaxed);
        Working(self.clone())
    }
}

/// A request being answered; see [`Conn::working`].
pub struct Working(Arc<Conn>);

impl Drop for Working {
    fn drop(&mut self) {
        self.0.busy.fetch_sub(1, Ordering::Relaxed);
        self.0.touch();
    }
}

/// A socket that notes every byte it moves in its [`Conn`].
pub struct Tracked<S> {
    pub inner: S,
    pub conn: Arc<Conn>,
}

impl<S: AsyncRead + Unpin> AsyncRead for Tracked<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(r, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.conn.touch();
        }
        r
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Tracked<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, data);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.conn.touch();
        }
        r
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.conn.touch();
        }
        r
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
