//! `munin-node`: the node daemon. See the crate docs and README.

use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Parser;
use tokio::signal::unix::{SignalKind, signal};

use munin_rs::cli::node::Cli;
use munin_rs::node::{self, Node, listen, notify};
use munin_rs::settings::Settings;

fn main() -> ExitCode {
    let args = Cli::parse();
    let (settings, warnings) = match Settings::load(&args.common) {
        Ok(loaded) => loaded,
        Err(e) => {
            eprintln!("munin-node: {e:#}");
            return ExitCode::FAILURE;
        }
    };
    if let Err(e) = munin_rs::logging::init(args.debug, settings.config.log_file.as_deref()) {
        eprintln!("munin-node: {e:#}");
        return ExitCode::FAILURE;
    }
    for w in &warnings {
        tracing::warn!("{w}");
    }
    if !settings.as_root {
        tracing::warn!(
            "not running as root: plugins run as this user, plugin-conf.d user/group are ignored"
        );
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build();
    let result = runtime
        .context("cannot start the async runtime")
        .and_then(|rt| {
            if !args.stdio {
                return rt.block_on(serve(settings));
            }
            let served = rt.block_on(async {
                let node = Node::start(settings).await?;
                node::stdio::serve(node).await;
                Ok(())
            });
            // The blocking read of stdin may still wait for input nobody
            // sends: the session is over, so it is not waited for.
            rt.shutdown_background();
            served
        });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            eprintln!("munin-node: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(settings: Settings) -> Result<()> {
    // Sessions and plugin pipes need descriptors; plugins get the old limit.
    let fds = munin_rs::sys::raise_fd_limit();
    // Each session, each waiting client and each plugin run holds some.
    let need = settings.max_connections as u64 * 3 + 64;
    if fds < need {
        tracing::warn!(
            "the open-file limit ({fds}) is near what max_servers {} may need ({need}); raise LimitNOFILE",
            settings.max_connections
        );
    }
    let port = settings.config.port.unwrap_or(4949);
    let listener = listen::bind(settings.config.host.as_deref(), port).await?;
    let addr = listener.local_addr()?;
    let pid_file = settings.config.pid_file.clone();
    let node = Node::start(settings).await?;
    if let Some(p) = &pid_file {
        std::fs::write(p, format!("{}\n", std::process::id()))
            .with_context(|| format!("cannot write pid_file {}", p.display()))?;
    }
    tracing::info!(fqdn = %node.settings.fqdn, "listening on {addr}");
    notify::ready();

    let mut hup = signal(SignalKind::hangup())?;
    let reloader = {
        let node = node.clone();
        tokio::spawn(async move {
            while hup.recv().await.is_some() {
                tracing::info!("SIGHUP: reloading plugins and plugin-conf.d");
                node.reload().await;
            }
        })
    };
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let shutdown = async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
    };
    node::run(listener, node, shutdown).await;
    reloader.abort();
    if let Some(p) = &pid_file {
        let _ = std::fs::remove_file(p);
    }
    Ok(())
}
