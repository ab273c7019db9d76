//! `munin-master`: the munin master. So far `poll`, which polls every node
//! of munin.conf the way munin-update does and prints, per field, the RRD
//! file it belongs in, its type and the value fetched (a dry run: nothing
//! is written). See `munin_rs::master`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Parser, Subcommand};
use munin_rs::master::conf::MasterConf;
use munin_rs::master::{plan, session};

#[derive(Parser)]
#[command(
    name = "munin-master",
    version,
    about = "The munin master: polls the nodes of munin.conf"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Poll every node (or one) and print each field's RRD file, type and value, writing nothing
    Poll {
        /// munin.conf
        #[arg(long, value_name = "FILE", default_value = "/etc/munin/munin.conf")]
        config: PathBuf,
        /// Only this host (its munin.conf name)
        #[arg(long)]
        host: Option<String>,
        /// Seconds to connect to a node
        #[arg(long, default_value_t = 5)]
        connect_timeout: u64,
        /// Seconds for a whole node session
        #[arg(long, default_value_t = 60)]
        timeout: u64,
        /// Nodes polled at once
        #[arg(long, default_value_t = 256)]
        concurrency: usize,
    },
}

fn main() -> ExitCode {
    let Command::Poll {
        config,
        host,
        connect_timeout,
        timeout,
        concurrency,
    } = Cli::parse().command;
    let conf = match MasterConf::load(&config) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("munin-master: {e}");
            return ExitCode::from(2);
        }
    };
    let hosts: Vec<_> = conf
        .hosts
        .iter()
        .filter(|h| host.as_ref().is_none_or(|n| *n == h.name))
        .cloned()
        .collect();
    if hosts.is_empty() {
        eprintln!("munin-master: {}: no host to poll", config.display());
        return ExitCode::from(2);
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let (connect, total) = (
        Duration::from_secs(connect_timeout),
        Duration::from_secs(timeout),
    );
    let limit = Arc::new(tokio::sync::Semaphore::new(concurrency.max(1)));
    let results = rt.block_on(async {
        let mut tasks = tokio::task::JoinSet::new();
        for (i, h) in hosts.iter().cloned().enumerate() {
            let limit = limit.clone();
            tasks.spawn(async move {
                let _permit = limit.acquire_owned().await;
                (i, session::poll(&h, connect, total).await)
            });
        }
        let mut results: Vec<_> = Vec::new();
        while let Some(r) = tasks.join_next().await {
            results.push(r.expect("poll task"));
        }
        results.sort_by_key(|(i, _)| *i);
        results
    });
    let mut failed = 0;
    for (i, result) in results {
        let h = &hosts[i];
        match result {
            Ok(reply) => {
                let p = plan::plan(&conf.dbdir, h, reply);
                for problem in &p.problems {
                    eprintln!("munin-master: {}: {problem}", h.name);
                }
                for f in p.fields {
                    let value = match &f.value {
                        Some((Some(t), v)) => format!("{t}:{v}"),
                        Some((None, v)) => v.clone(),
                        None => "-".into(),
                    };
                    println!("{}\t{}\t{value}", f.path.display(), f.ds.as_str());
                }
            }
            Err(e) => {
                failed += 1;
                eprintln!("munin-master: {e}");
            }
        }
    }
    if failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
