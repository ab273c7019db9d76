//! `munin-master`: the munin master. `update` polls every node of
//! munin.conf the way munin-update does and stores the values in RRD files
//! in Munin's layout; `poll` is its dry run, printing each field's file,
//! type and value. See `munin_rs::master`.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use munin_rs::master::conf::MasterConf;
use munin_rs::master::limits;
use munin_rs::master::lock;
use munin_rs::master::update::{self, Options};
use munin_rs::master::workers;

#[derive(Parser)]
#[command(
    name = "munin-master",
    version,
    about = "The munin master: polls the nodes of munin.conf into RRD files"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Poll every node and store the values in RRD files under dbdir
    Update(Common),
    /// Poll every node and print each field's RRD file, type and value, writing nothing
    Poll(Common),
    /// Check warning/critical limits on the last stored values; tell contacts of changes
    Limits {
        /// munin.conf
        #[arg(long, value_name = "FILE", default_value = "/etc/munin/munin.conf")]
        config: PathBuf,
    },
    /// Nagios/Icinga check of a host's limits: one status line with perfdata, exit 0/1/2/3
    Check {
        /// munin.conf
        #[arg(long, value_name = "FILE", default_value = "/etc/munin/munin.conf")]
        config: PathBuf,
        /// The host (its munin.conf name)
        #[arg(long)]
        host: String,
        /// Only this plugin's graphs
        #[arg(long)]
        plugin: Option<String>,
    },
    /// Internal: stores the jobs read on stdin (started by `update`)
    #[command(hide = true)]
    StoreWorker,
}

#[derive(Args)]
struct Common {
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
    /// Store worker processes running librrd (default: one per CPU; 0: none, store in this process)
    #[arg(long)]
    store_workers: Option<usize>,
}

fn main() -> ExitCode {
    let (write, c) = match Cli::parse().command {
        Command::Update(c) => (true, c),
        Command::Poll(c) => (false, c),
        Command::Limits { config } => return limits_command(&config),
        Command::Check {
            config,
            host,
            plugin,
        } => return check_command(&config, &host, plugin.as_deref()),
        Command::StoreWorker => {
            let stdin = std::io::stdin().lock();
            let stdout = std::io::BufWriter::new(std::io::stdout().lock());
            return match workers::serve(stdin, stdout) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("munin-master store-worker: {e}");
                    ExitCode::FAILURE
                }
            };
        }
    };
    let conf = match MasterConf::load(&c.config) {
        Ok(conf) => conf,
        Err(e) => {
            eprintln!("munin-master: {e}");
            return ExitCode::from(2);
        }
    };
    for w in &conf.warnings {
        eprintln!("munin-master: {w}");
    }
    if !conf
        .hosts
        .iter()
        .any(|h| c.host.as_ref().is_none_or(|n| *n == h.name))
    {
        eprintln!("munin-master: {}: no host to poll", c.config.display());
        return ExitCode::from(2);
    }
    let opts = Options {
        connect: Duration::from_secs(c.connect_timeout),
        total: Duration::from_secs(c.timeout),
        concurrency: c.concurrency,
        write,
        only_host: c.host,
        progress: std::io::stderr().is_terminal(),
        store_workers: c
            .store_workers
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())),
    };
    // Held until the process exits.
    let _lock = if write {
        match lock::acquire(&conf.rundir) {
            Ok(lock::Acquired::Mine(l)) => Some(l),
            Ok(lock::Acquired::Busy(pid)) => {
                eprintln!(
                    "munin-master: the previous update (pid {pid}) is still running; this run is skipped"
                );
                return ExitCode::SUCCESS;
            }
            Err(e) => {
                eprintln!("munin-master: {e}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        None
    };
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("munin-master: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let (results, summary) = rt.block_on(update::run(&conf, &opts));
    for r in &results {
        match &r.plan {
            Ok(p) => {
                for problem in &p.problems {
                    eprintln!("munin-master: {}: {problem}", r.host.name);
                }
                for e in &r.store_errors {
                    eprintln!("munin-master: {}: {e}", r.host.name);
                }
                if !write {
                    for f in &p.fields {
                        let value = match &f.value {
                            Some((Some(t), v)) => format!("{t}:{v}"),
                            Some((None, v)) => v.clone(),
                            None => "-".into(),
                        };
                        println!("{}\t{}\t{value}", f.path.display(), f.ds.as_str());
                    }
                }
            }
            Err(e) => eprintln!("munin-master: {e}"),
        }
    }
    for e in &summary.errors {
        eprintln!("munin-master: {e}");
    }
    if write {
        // Every run leaves its one line in logdir; under cron nothing else
        // but errors is printed, on a terminal the line too.
        let line = summary.line();
        let log = conf.logdir.join("munin-master-update.log");
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let appended = std::fs::create_dir_all(&conf.logdir).and_then(|()| {
            use std::io::Write;
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&log)?
                .write_all(format!("{stamp} {line}\n").as_bytes())
        });
        if let Err(e) = appended {
            eprintln!("munin-master: {}: {e}", log.display());
        }
        if std::io::stderr().is_terminal() {
            eprintln!("munin-master: {line}");
        }
    }
    // As munin-update: unreachable nodes are reported, not a failed run,
    // for `update`; the dry run says whether every node answered.
    if !write && summary.hosts_failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// `munin-master limits`: states kept, contacts told; exit 1 when a
/// contact could not be told or the state not written.
fn limits_command(config: &std::path::Path) -> ExitCode {
    let conf = match MasterConf::load(config) {
        Ok(conf) => conf,
        Err(e) => {
            eprintln!("munin-master: {e}");
            return ExitCode::from(2);
        }
    };
    let report = limits::run(&conf);
    for e in &report.errors {
        eprintln!("munin-master: limits: {e}");
    }
    if std::io::stderr().is_terminal() {
        eprintln!(
            "munin-master: limits: {} fields with limits, {} not OK, {} notifications sent",
            report.fields, report.problems, report.notified
        );
    }
    if report.errors.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// `munin-master check`: Nagios plugin semantics (UNKNOWN, 3, for any
/// problem of the check itself).
fn check_command(config: &std::path::Path, host: &str, plugin: Option<&str>) -> ExitCode {
    let conf = match MasterConf::load(config) {
        Ok(conf) => conf,
        Err(e) => {
            println!("UNKNOWN: {e}");
            return ExitCode::from(3);
        }
    };
    let Some(h) = conf.hosts.iter().find(|h| h.name == host) else {
        println!("UNKNOWN: no host {host:?} in {}", config.display());
        return ExitCode::from(3);
    };
    let (level, line) = limits::check(&conf, h, plugin);
    println!("{line}");
    ExitCode::from(level.exit_code())
}
