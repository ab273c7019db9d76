//! The munin-node server.
//!
//! Layers, as in mini-redis: [`run`] accepts connections (access-checked
//! by [`access`], given a session by [`admit`]: `max_servers`, per-address
//! shares and the masters' reserve) → [`session::serve`] per
//! connection → [`connection::LineReader`] frames lines → [`command::Command`]
//! parses one → the session applies it, running plugins through the shared
//! [`crate::runner::exec::Runner`]. The set of plugins is a
//! [`registry::Registry`] built at start-up and swapped whole on reload.

pub mod access;
pub mod admit;
pub mod command;
pub mod connection;
pub mod listen;
pub mod notify;
pub mod registry;
pub mod session;
pub mod stdio;

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use anyhow::Result;
use tokio::net::TcpListener;

use crate::runner::exec::Runner;
use crate::settings::Settings;
use registry::Registry;

/// A running node: its settings, plugin runner and current plugin set.
#[derive(Debug)]
pub struct Node {
    pub settings: Settings,
    pub runner: Arc<Runner>,
    registry: RwLock<Arc<Registry>>,
    /// The TLS keys and settings, loaded; swapped whole on reload.
    tls: RwLock<Arc<crate::tls::Context>>,
}

/// Loads the TLS settings' files, logging what did not load: as warnings
/// when the node insists on TLS, else quietly (Munin's node only reads its
/// key when a master asks for TLS, so a node without one is normal).
fn load_tls(settings: &Settings) -> Result<crate::tls::Context> {
    let tls = settings
        .config
        .tls
        .clone()
        .unwrap_or_else(crate::tls::Settings::node_defaults);
    let required = tls.mode.required();
    let ctx = crate::tls::Context::load(tls)
        .map_err(|e| anyhow::anyhow!("{}: {e}", settings.config.source))?;
    for w in &ctx.warnings {
        if required {
            tracing::warn!("{w}");
        } else {
            tracing::debug!("{w}");
        }
    }
    Ok(ctx)
}

impl Node {
    /// Prepares the plugin state directory and discovers the plugins.
    pub async fn start(settings: Settings) -> Result<Arc<Node>> {
        settings.prepare_state_dir()?;
        match crate::runner::reaper::become_subreaper() {
            Ok(()) => {
                tokio::spawn(crate::runner::reaper::run());
            }
            Err(e) => {
                tracing::warn!(cause = %e, "cannot become a subreaper; orphaned plugin children are left to init")
            }
        }
        let tls = load_tls(&settings)?;
        let runner = Arc::new(settings.runner());
        let (registry, diagnostics) = Registry::discover(&settings, &runner).await?;
        for d in &diagnostics {
            tracing::warn!("{d}");
        }
        tracing::info!(plugins = registry.len(), dir = %settings.servicedir.display(), "plugins discovered");
        Ok(Arc::new(Node {
            settings,
            runner,
            registry: RwLock::new(Arc::new(registry)),
            tls: RwLock::new(Arc::new(tls)),
        }))
    }

    /// The current plugin set.
    pub fn registry(&self) -> Arc<Registry> {
        // A poisoned lock only means a panic elsewhere while swapping an Arc;
        // the Arc inside is still whole.
        Arc::clone(&self.registry.read().unwrap_or_else(|e| e.into_inner()))
    }

    /// The TLS context sessions start TLS with.
    pub fn tls(&self) -> Arc<crate::tls::Context> {
        Arc::clone(&self.tls.read().unwrap_or_else(|e| e.into_inner()))
    }

    /// Re-reads plugin-conf.d, the plugins directory and the TLS keys and
    /// certificates (SIGHUP). What fails to load leaves the current one in
    /// service.
    pub async fn reload(&self) {
        match load_tls(&self.settings) {
            Ok(tls) => {
                tracing::info!(
                    can_serve = tls.can_serve(),
                    "TLS keys and certificates reloaded"
                );
                *self.tls.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(tls);
            }
            Err(e) => {
                tracing::error!(cause = %format!("{e:#}"), "TLS reload failed, keeping the current keys")
            }
        }
        match Registry::discover(&self.settings, &self.runner).await {
            Ok((registry, diagnostics)) => {
                for d in &diagnostics {
                    tracing::warn!("{d}");
                }
                tracing::info!(plugins = registry.len(), "plugins reloaded");
                *self.registry.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(registry);
            }
            Err(e) => {
                tracing::error!(cause = %format!("{e:#}"), "reload failed, keeping the current plugins")
            }
        }
    }
}

/// Serves connections on `listener` until `shutdown` completes, then waits a
/// little for open sessions to finish.
pub async fn run(listener: TcpListener, node: Arc<Node>, shutdown: impl Future<Output = ()>) {
    let admission = admit::Admission::new(&node.settings);
    tokio::select! {
        _ = accept_loop(&listener, &node, &admission) => {}
        _ = shutdown => tracing::info!("shutting down"),
    }
    drop(listener);
    if !admission.drained(Duration::from_secs(5)).await {
        tracing::info!("closing sessions still open after 5 s");
    }
}

async fn accept_loop(listener: &TcpListener, node: &Arc<Node>, admission: &Arc<admit::Admission>) {
    let mut backoff = Duration::from_millis(10);
    let active = Arc::new(AtomicUsize::new(0));
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(conn) => {
                backoff = Duration::from_millis(10);
                conn
            }
            Err(e) => {
                // Out of file descriptors and the like: wait, then retry.
                tracing::error!(cause = %e, "accept failed");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(1));
                continue;
            }
        };
        let ip = access::canonical(peer.ip());
        if !node.settings.config.access.permits(ip) {
            tracing::warn!(peer = %ip, "denying connection");
            continue;
        }
        let node = Arc::clone(node);
        let admission = Arc::clone(admission);
        let active = Arc::clone(&active);
        tokio::spawn(async move {
            let ticket = match admission.admit(ip).await {
                Ok(t) => t,
                Err(refused) => {
                    tracing::warn!(peer = %ip, "refusing connection: {}", refused.line().trim());
                    let _ = stream.try_write(refused.line().as_bytes());
                    return;
                }
            };
            active.fetch_add(1, Ordering::SeqCst);
            // Replies are written whole; without Nagle nothing waits for an ACK.
            let _ = stream.set_nodelay(true);
            session::serve(Box::new(stream), ip.to_string(), node).await;
            drop(ticket);
            if active.fetch_sub(1, Ordering::SeqCst) == 1 {
                // The node just went idle: return the burst's memory.
                crate::sys::release_free_memory();
            }
        });
    }
}
