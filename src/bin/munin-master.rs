//! `munin-master`: the munin master. `update` polls every node of
//! munin.conf the way munin-update does and stores the values in RRD files
//! in Munin's layout; `poll` is its dry run, printing each field's file,
//! type and value; `limits` and `check` judge the last values; `html`
//! writes the site; `cron` is all of it every minute; `serve` shows the
//! site on 127.0.0.1. See `munin_rs::master`.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use clap::Parser;
use munin_rs::cli::master::{Cli, Command, Common, LimitsArgs};
use munin_rs::master::conf::MasterConf;
use munin_rs::master::limits;
use munin_rs::master::lock;
use munin_rs::master::poll::session::Dial;
use munin_rs::master::site::html;
use munin_rs::master::site::serve;
use munin_rs::master::store::workers;
use munin_rs::master::update::{self, Options};
use tracing::level_filters::LevelFilter;

/// mimalloc rather than glibc's malloc: a run allocates per reply line,
/// field and value across the runtime's threads, and glibc's per-thread
/// arenas made that about a tenth of the master's CPU (perf, 200 nodes).
/// Built without its transparent huge pages (`no_thp`): they zeroed 2 MiB
/// at a time and made a 200-node run's peak RSS 67 MB instead of 42 MB.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// munin-limits' options from the command line.
fn limits_options(args: &LimitsArgs) -> limits::Options {
    let always_send = if args.force {
        Some(limits::contacts::severities("critical warning unknown ok"))
    } else if args.always_send.is_empty() {
        None
    } else {
        Some(limits::contacts::severities(&args.always_send.join(",")))
    };
    limits::Options {
        always_send,
        hosts: args.host.clone(),
        services: args.service.clone(),
        contacts: args.contact.clone(),
    }
}

fn main() -> ExitCode {
    // Keeps the exported PNG settings hook linked in (see build.rs).
    std::hint::black_box(munin_rs::master::site::pngfast::png_write_info as *const ());
    std::hint::black_box(munin_rs::master::site::zfast::EXPORTED);
    // SAFETY: first thing in main, before any thread exists.
    unsafe { munin_rs::clock::read_timezone_once() };
    let cli = Cli::parse();
    // Under cron nothing but problems is said; serve is a daemon and says
    // where it listens.
    let level = match cli.command {
        Command::Serve { .. } => LevelFilter::INFO,
        _ => LevelFilter::WARN,
    };
    munin_rs::logging::init_cli("munin-master", level);
    let (write, c) = match cli.command {
        Command::Update(c) => (true, c),
        Command::Poll(c) => (false, c),
        Command::Limits(args) => return limits_command(&args),
        Command::Check {
            config,
            host,
            plugin,
        } => return check_command(&config, &host, plugin.as_deref()),
        Command::Html {
            config,
            budget,
            workers,
        } => return html_command(&config, budget, workers),
        Command::Cron(c) => return cron_command(c),
        Command::Serve {
            config,
            port,
            workers,
        } => return serve_command(config, port, workers),
        Command::Worker => return worker_command(),
    };
    let Some(conf) = load_conf(&c.config) else {
        return ExitCode::from(2);
    };
    if !conf
        .hosts
        .iter()
        .any(|h| c.host.as_ref().is_none_or(|n| *n == h.name))
    {
        eprintln!("munin-master: {}: no host to poll", c.config.display());
        return ExitCode::from(2);
    }
    // Held until the process exits.
    let _lock = if write {
        match take_lock(&conf) {
            Ok(l) => Some(l),
            Err(code) => return code,
        }
    } else {
        None
    };
    let Some(rt) = runtime() else {
        return ExitCode::FAILURE;
    };
    update_command(&rt, &conf, c, write)
}

/// munin.conf, its warnings said; `None` (after saying why) if unreadable.
fn load_conf(path: &std::path::Path) -> Option<MasterConf> {
    match MasterConf::load(path) {
        Ok(conf) => {
            for w in &conf.warnings {
                eprintln!("munin-master: {w}");
            }
            Some(conf)
        }
        Err(e) => {
            eprintln!("munin-master: {e}");
            None
        }
    }
}

/// The update lock, or the exit code when it cannot be had (a previous
/// run still going is not an error: this one is skipped).
fn take_lock(conf: &MasterConf) -> Result<lock::RunLock, ExitCode> {
    match lock::acquire(&conf.rundir) {
        Ok(lock::Acquired::Mine(l)) => Ok(l),
        Ok(lock::Acquired::Busy(pid)) => {
            eprintln!(
                "munin-master: the previous run (pid {pid}) is still running; this run is skipped"
            );
            Err(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("munin-master: {e}");
            Err(ExitCode::FAILURE)
        }
    }
}

fn runtime() -> Option<tokio::runtime::Runtime> {
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => Some(rt),
        Err(e) => {
            eprintln!("munin-master: cannot start the runtime: {e}");
            None
        }
    }
}

/// Appends `line` to `<logdir>/<name>` with a timestamp; on a terminal
/// says it too.
fn log_line(conf: &MasterConf, name: &str, line: &str) {
    let log = conf.logdir.join(name);
    let stamp = munin_rs::clock::now();
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

/// `update` (or `poll`, `write` false) of a loaded munin.conf.
fn update_command(
    rt: &tokio::runtime::Runtime,
    conf: &MasterConf,
    c: Common,
    write: bool,
) -> ExitCode {
    let secs = Duration::from_secs;
    let opts = Options {
        dial: Dial {
            connect: secs(c.connect_timeout.or(conf.timeout).unwrap_or(5)),
            total: secs(c.timeout.or(conf.timeout_fetch_one_node).unwrap_or(60)),
            idle: conf.timeout.map(secs),
            local: conf.local_address,
        },
        all: conf.timeout_fetch_all_nodes.map(secs),
        concurrency: c.concurrency.or(conf.max_processes).unwrap_or(256),
        write,
        only_host: c.host,
        done: Arc::default(),
        store_workers: c
            .store_workers
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())),
    };
    let ticker = std::io::stderr().is_terminal().then(|| {
        let total = conf
            .hosts
            .iter()
            .filter(|h| h.polled())
            .filter(|h| opts.only_host.as_ref().is_none_or(|n| *n == h.name))
            .count();
        rt.spawn(progress(opts.done.clone(), total))
    });
    let (results, summary) = rt.block_on(update::run(conf, &opts));
    if let Some(t) = ticker {
        t.abort();
        eprint!("\r\x1b[K");
    }
    for r in &results {
        match &r.plan {
            Ok(p) => {
                for problem in &p.problems {
                    eprintln!("munin-master: {}: {problem}", r.host.name);
                }
                for e in r.store_errors.iter().chain(&r.notes) {
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
        log_line(conf, "munin-master-update.log", &summary.line());
    }
    // As munin-update: unreachable nodes are reported, not a failed run,
    // for `update`; the dry run says whether every node answered.
    if !write && summary.hosts_failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// On a terminal: `nodes done/total`, redrawn in place five times a second.
async fn progress(done: Arc<AtomicUsize>, total: usize) {
    let mut tick = tokio::time::interval(Duration::from_millis(200));
    loop {
        tick.tick().await;
        let n = done.load(Ordering::Relaxed);
        eprint!("\rmunin-master: {n}/{total} nodes done\x1b[K");
    }
}

fn worker_command() -> ExitCode {
    let stdin = std::io::stdin().lock();
    let stdout = std::io::BufWriter::new(std::io::stdout().lock());
    match workers::serve(stdin, stdout) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("munin-master worker: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `munin-master limits`: states kept, contacts told; exit 1 when a
/// contact could not be told or the state not written.
fn limits_command(args: &LimitsArgs) -> ExitCode {
    let Some(conf) = load_conf(&args.config) else {
        return ExitCode::from(2);
    };
    limits_run(&conf, &limits_options(args))
}

fn limits_run(conf: &MasterConf, opts: &limits::Options) -> ExitCode {
    let report = limits::run(conf, opts);
    for w in &report.warnings {
        eprintln!("munin-master: limits: warning: {w}");
    }
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

/// `munin-master html`.
fn html_command(config: &std::path::Path, budget: Option<f64>, workers: Option<usize>) -> ExitCode {
    let Some(conf) = load_conf(config) else {
        return ExitCode::from(2);
    };
    let Some(rt) = runtime() else {
        return ExitCode::FAILURE;
    };
    let mut opts = html::Options::for_conf(&conf);
    opts.budget = budget.map(Duration::from_secs_f64);
    if let Some(n) = workers {
        opts.workers = n;
    }
    html_run(&rt, &conf, &opts)
}

fn html_run(rt: &tokio::runtime::Runtime, conf: &MasterConf, opts: &html::Options) -> ExitCode {
    let report = rt.block_on(html::run(conf, opts));
    for n in report.notes.iter().take(20) {
        eprintln!("munin-master: html: {n}");
    }
    for e in report.errors.iter().take(20) {
        eprintln!("munin-master: html: {e}");
    }
    if report.errors.len() > 20 {
        eprintln!(
            "munin-master: html: {} more errors",
            report.errors.len() - 20
        );
    }
    log_line(conf, "munin-master-html.log", &report.line());
    ExitCode::SUCCESS
}

/// `munin-master cron`: update, limits, html under one lock. Graphs get
/// what is left of the update interval (less a safety margin), so a cycle
/// never runs into the next; what is not drawn is drawn next run.
fn cron_command(c: Common) -> ExitCode {
    let started = std::time::Instant::now();
    let Some(conf) = load_conf(&c.config) else {
        return ExitCode::from(2);
    };
    let _lock = match take_lock(&conf) {
        Ok(l) => l,
        Err(code) => return code,
    };
    let Some(rt) = runtime() else {
        return ExitCode::FAILURE;
    };
    let mut worst = update_command(&rt, &conf, c, true);
    let limits = limits_run(&conf, &limits::Options::default());
    if limits != ExitCode::SUCCESS {
        worst = limits;
    }
    let mut opts = html::Options::for_conf(&conf);
    let interval = Duration::from_secs(u64::from(conf.update_rate));
    opts.budget = Some(
        interval
            .mul_f64(0.9)
            .saturating_sub(started.elapsed())
            .max(Duration::from_secs(1)),
    );
    let html = html_run(&rt, &conf, &opts);
    if html != ExitCode::SUCCESS {
        worst = html;
    }
    worst
}

/// `munin-master serve`.
fn serve_command(config: PathBuf, port: u16, workers: Option<usize>) -> ExitCode {
    let Some(rt) = runtime() else {
        return ExitCode::FAILURE;
    };
    let workers =
        workers.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    match rt.block_on(serve::run(config, port, workers)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("munin-master serve: {e}");
            ExitCode::FAILURE
        }
    }
}
