//! The HTTP server under the gatherer's API and `munin-master serve`: an
//! axum router on hyper connections, with limits no client can outlast.
//!
//! - A cap on connections held at once, below the open-file limit. At the
//!   cap the quietest connection no handler is working on is closed to make
//!   room, so a thousand idle sockets cannot lock a new client out; running
//!   out of descriptors anyway (other work holds them) does the same.
//! - A deadline for a request's headers, which also bounds the idle time
//!   between keep-alive requests: a client trickling a header byte by byte
//!   is cut off.
//! - A stall deadline: a connection that moves no byte in either direction
//!   while no handler works on it (a client that stopped reading, a body
//!   that stopped coming) is closed. Handlers bound their own bodies.
//!
//! - [`conn`]: one connection's activity, busy flag and kill switch.

pub mod conn;

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::{Request, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;

use conn::{Conn, Tracked};

/// The limits of one server.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Connections held at once.
    pub max_connections: usize,
    /// Longest wait for a request's headers, keep-alive idle time included.
    pub header_timeout: Duration,
    /// Longest time without a byte moving while no handler works.
    pub stall_timeout: Duration,
}

/// Descriptors a server leaves for everything else its process does
/// (files, plugins, polls), on top of what the caller names.
const FD_HEADROOM: usize = 128;

impl Limits {
    /// The defaults for a process whose open-file limit is `fds`, of which
    /// `reserve` are for its other work, besides those open now.
    pub fn within(fds: u64, reserve: usize) -> Limits {
        let open = std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count());
        let room = usize::try_from(fds)
            .unwrap_or(usize::MAX)
            .saturating_sub(open + reserve + FD_HEADROOM);
        Limits {
            max_connections: room.clamp(16, 8192),
            header_timeout: Duration::from_secs(10),
            stall_timeout: Duration::from_secs(30),
        }
    }
}

type Live = Arc<Mutex<HashMap<u64, Arc<Conn>>>>;

fn lock(live: &Live) -> std::sync::MutexGuard<'_, HashMap<u64, Arc<Conn>>> {
    live.lock().unwrap_or_else(|p| p.into_inner())
}

/// Serves `app` on `listener` until `shutdown` completes; then gives open
/// requests five seconds to finish.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
) {
    let epoch = Instant::now();
    let live: Live = Arc::default();
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut tasks = JoinSet::new();
    let mut next_id = 0u64;
    let mut near = false;
    let mut told = None;
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            () = &mut shutdown => break,
            Some(_) = tasks.join_next(), if !tasks.is_empty() => continue,
            r = listener.accept() => r,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(e) => {
                // Out of descriptors: close the quietest connection and
                // let the kernel's queue hold the new one meanwhile.
                if matches!(e.raw_os_error(), Some(libc::EMFILE | libc::ENFILE)) {
                    if told.is_none_or(|t: Instant| t.elapsed() > Duration::from_secs(60)) {
                        tracing::warn!(
                            "accept: {e}; closing the quietest idle connections (said once a minute)"
                        );
                        told = Some(Instant::now());
                    }
                    evict(&live);
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            }
        };
        let open = lock(&live).len();
        if open >= limits.max_connections {
            evict(&live);
            // Let the evicted connection's task run and close its socket
            // before the next accept takes another descriptor.
            tokio::task::yield_now().await;
        }
        // Said once per approach, not per connection.
        if !near && open >= limits.max_connections * 9 / 10 {
            tracing::warn!(
                "{open} connections open, near the cap of {}: the quietest are closed for new ones",
                limits.max_connections
            );
            near = true;
        } else if near && open < limits.max_connections / 2 {
            near = false;
        }
        next_id += 1;
        let conn = Conn::new(next_id, epoch);
        lock(&live).insert(next_id, conn.clone());
        tasks.spawn(connection(
            stream,
            conn,
            app.clone(),
            limits.clone(),
            stop_rx.clone(),
            live.clone(),
        ));
    }
    let _ = stop_tx.send(true);
    let drain = async { while tasks.join_next().await.is_some() {} };
    let _ = tokio::time::timeout(Duration::from_secs(5), drain).await;
}

/// Closes the connection that moved a byte longest ago among those no
/// handler is working on; returns whether there was one. It leaves the
/// table at once, so that a burst of new connections evicts a different
/// one each time rather than the same one over and over while its task
/// has not run yet (that let a burst pass the cap and the process run
/// out of descriptors for its files).
fn evict(live: &Live) -> bool {
    let mut table = lock(live);
    let victim = table
        .values()
        .filter(|c| !c.is_busy())
        .min_by_key(|c| c.last_ms())
        .map(|c| c.id);
    match victim.and_then(|id| table.remove(&id)) {
        Some(c) => {
            c.kill.notify_one();
            true
        }
        None => false,
    }
}

async fn connection(
    stream: TcpStream,
    conn: Arc<Conn>,
    app: Router,
    limits: Limits,
    mut stop: watch::Receiver<bool>,
    live: Live,
) {
    let _ = stream.set_nodelay(true);
    let io = TokioIo::new(Tracked {
        inner: stream,
        conn: conn.clone(),
    });
    let service = Handler {
        app,
        conn: conn.clone(),
    };
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_buf_size(64 * 1024);
    let served = builder.serve_connection(io, service);
    tokio::pin!(served);
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let stall = limits.stall_timeout.as_millis() as u64;
    let mut draining = false;
    loop {
        tokio::select! {
            _ = served.as_mut() => break,
            () = conn.kill.notified() => break,
            _ = stop.changed(), if !draining => {
                draining = true;
                served.as_mut().graceful_shutdown();
            }
            _ = tick.tick() => {
                if !conn.is_busy() && conn.quiet_ms() > stall {
                    break;
                }
            }
        }
    }
    lock(&live).remove(&conn.id);
}

/// The router as hyper's service, marking the connection busy while a
/// handler works.
#[derive(Clone)]
struct Handler {
    app: Router,
    conn: Arc<Conn>,
}

impl hyper::service::Service<Request<Incoming>> for Handler {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, Infallible>> + Send>>;

    fn call(&self, req: Request<Incoming>) -> Self::Future {
        let working = self.conn.working();
        let mut app = self.app.clone();
        Box::pin(async move {
            let answer = tower_service::Service::call(&mut app, req).await;
            drop(working);
            answer
        })
    }
}
