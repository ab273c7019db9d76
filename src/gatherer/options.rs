//! The gatherer's settings: command-line options, or a config file holding
//! the same names one per line (`interval 60`, `provider http://...`).
//! Options given on the command line win over the file; `tahoe-node` and
//! `provider` from both are polled.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Parser;

use super::provider::Provider;

/// Where the snapshot goes by default: where etc/plugin-conf.d/tahoe points
/// the tahoe-stats plugins.
pub const DEFAULT_STATSFILE: &str = "/var/lib/munin-rs/stats.pickle";

/// Command line of `stats-gatherer`.
#[derive(Debug, Default, Parser)]
#[command(
    name = "stats-gatherer",
    version = crate::cli::VERSION,
    about = "Polls Tahoe-LAFS nodes, takes pushes, writes the tahoe-stats snapshot"
)]
pub struct Cli {
    /// HTTP API address [default: 127.0.0.1:3458]
    #[arg(long, value_name = "ADDR:PORT")]
    pub listen: Option<String>,
    /// Snapshot [default: /var/lib/munin-rs/stats.pickle]
    #[arg(long, value_name = "PATH")]
    pub statsfile: Option<PathBuf>,
    /// Seconds between polls and snapshots [default: 60]
    #[arg(long, value_name = "SECS")]
    pub interval: Option<String>,
    /// Per-provider deadline for one poll [default: 10]
    #[arg(long, value_name = "SECS")]
    pub timeout: Option<String>,
    /// How long samples are kept (90m, 2h) [default: 1h]
    #[arg(long, value_name = "SECS")]
    pub retention: Option<String>,
    /// Forget a silent node after this [default: 7d]
    #[arg(long, value_name = "SECS")]
    pub node_expiry: Option<String>,
    /// Ingest queue, in samples [default: 1000000]
    #[arg(long, value_name = "N")]
    pub queue_size: Option<usize>,
    /// Largest request or reply body [default: 1048576]
    #[arg(long, value_name = "BYTES")]
    pub max_body: Option<usize>,
    /// Most node ids held [default: 10000]
    #[arg(long, value_name = "N")]
    pub max_nodes: Option<usize>,
    /// Polls in flight at once [default: 256]
    #[arg(long, value_name = "N")]
    pub concurrency: Option<usize>,
    /// Token pushes must send (Authorization: Bearer)
    #[arg(long, value_name = "TOKEN")]
    pub token: Option<String>,
    /// A file holding the push token (first line)
    #[arg(long, value_name = "PATH")]
    pub token_file: Option<PathBuf>,
    /// A local Tahoe node directory to poll (repeatable)
    #[arg(long = "tahoe-node", value_name = "DIR")]
    pub tahoe_nodes: Vec<PathBuf>,
    // A remote provider; the help is an attribute, as rustdoc would read
    // its brackets as links.
    #[arg(
        long = "provider",
        value_name = "SPEC",
        help = "Remote node URL[,nodeid=ID][,nickname=N]; repeatable"
    )]
    pub providers: Vec<String>,
    /// A config file with the same settings
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Log debug messages
    #[arg(long)]
    pub debug: bool,
}

/// The resolved settings.
#[derive(Debug, Clone)]
pub struct Options {
    pub listen: SocketAddr,
    pub statsfile: PathBuf,
    pub interval: Duration,
    pub timeout: Duration,
    pub retention: Duration,
    /// `None`: keep silent nodes for ever, as the original did.
    pub node_expiry: Option<Duration>,
    pub queue_size: usize,
    pub max_body: usize,
    pub concurrency: usize,
    pub max_nodes: usize,
    pub token: Option<String>,
    pub providers: Vec<Provider>,
}

impl Options {
    /// The JSON snapshot written beside the pickle.
    pub fn json_file(&self) -> PathBuf {
        self.statsfile.with_extension("json")
    }

    /// Command line over config file over defaults.
    pub fn resolve(cli: Cli) -> Result<Options, String> {
        let mut file = Cli::default();
        if let Some(path) = &cli.config {
            read_config(path, &mut file)?;
        }
        let pick = |a: Option<String>, b: Option<String>, default: &str| {
            a.or(b).unwrap_or_else(|| default.to_string())
        };
        let listen = pick(cli.listen, file.listen, "127.0.0.1:3458");
        let listen = listen
            .parse()
            .map_err(|_| format!("listen {listen:?}: expected ADDR:PORT, e.g. 127.0.0.1:3458"))?;
        let statsfile = cli
            .statsfile
            .or(file.statsfile)
            .unwrap_or_else(|| DEFAULT_STATSFILE.into());
        if statsfile.extension().is_some_and(|e| e == "json") {
            return Err(format!(
                "statsfile {}: the pickle's name must not end in .json (stats.json is written beside it)",
                statsfile.display()
            ));
        }
        let secs = |name: &str, v: String| seconds(&v).map_err(|e| format!("{name} {v:?}: {e}"));
        let interval = secs("interval", pick(cli.interval, file.interval, "60"))?;
        let timeout = secs("timeout", pick(cli.timeout, file.timeout, "10"))?;
        let retention = secs("retention", pick(cli.retention, file.retention, "1h"))?;
        let expiry = secs("node-expiry", pick(cli.node_expiry, file.node_expiry, "7d"))?;
        if interval.is_zero() || timeout.is_zero() || retention.is_zero() {
            return Err("interval, timeout and retention must be above 0".into());
        }
        let token = match (cli.token.or(file.token), cli.token_file.or(file.token_file)) {
            (Some(t), _) => Some(t),
            (None, Some(path)) => Some(
                std::fs::read_to_string(&path)
                    .map_err(|e| format!("token-file {}: {e}", path.display()))?
                    .lines()
                    .next()
                    .unwrap_or_default()
                    .trim()
                    .to_string(),
            ),
            (None, None) => None,
        };
        if token.as_deref() == Some("") {
            return Err("the push token is empty".into());
        }
        let mut providers: Vec<Provider> = file
            .tahoe_nodes
            .into_iter()
            .chain(cli.tahoe_nodes)
            .map(Provider::NodeDir)
            .collect();
        for spec in file.providers.iter().chain(&cli.providers) {
            providers.push(Provider::parse(spec)?);
        }
        let positive = |name: &str, v: usize| {
            if v == 0 {
                Err(format!("{name} must be above 0"))
            } else {
                Ok(v)
            }
        };
        Ok(Options {
            listen,
            statsfile,
            interval,
            timeout,
            retention,
            node_expiry: (!expiry.is_zero()).then_some(expiry),
            queue_size: positive(
                "queue-size",
                cli.queue_size.or(file.queue_size).unwrap_or(1_000_000),
            )?,
            max_body: positive(
                "max-body",
                cli.max_body.or(file.max_body).unwrap_or(1 << 20),
            )?,
            concurrency: positive(
                "concurrency",
                cli.concurrency.or(file.concurrency).unwrap_or(256),
            )?,
            max_nodes: positive(
                "max-nodes",
                cli.max_nodes.or(file.max_nodes).unwrap_or(10_000),
            )?,
            token,
            providers,
        })
    }
}

/// `90`, `90s`, `5m`, `2h`, `7d`.
pub fn seconds(v: &str) -> Result<Duration, String> {
    let v = v.trim();
    let (num, unit) = match v
        .char_indices()
        .find(|(_, c)| !c.is_ascii_digit() && *c != '.')
    {
        Some((i, _)) => v.split_at(i),
        None => (v, "s"),
    };
    let scale = match unit {
        "s" => 1.0,
        "m" => 60.0,
        "h" => 3600.0,
        "d" => 86400.0,
        _ => return Err(format!("unknown unit {unit:?} (s, m, h, d)")),
    };
    let n: f64 = num
        .parse()
        .map_err(|_| "expected a number of seconds".to_string())?;
    Duration::try_from_secs_f64(n * scale).map_err(|e| e.to_string())
}

/// Reads `name value` lines into `into`; errors name the file and line.
fn read_config(path: &Path, into: &mut Cli) -> Result<(), String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    for (i, raw) in text.lines().enumerate() {
        let at = || format!("{}:{}", path.display(), i + 1);
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (key, value) = line
            .split_once(char::is_whitespace)
            .map(|(k, v)| (k, v.trim().to_string()))
            .ok_or_else(|| format!("{}: {line:?} has no value", at()))?;
        let number = |v: &str| {
            v.parse::<usize>()
                .map_err(|_| format!("{}: {key} {v:?} is not a number", at()))
        };
        match key.trim_start_matches("--") {
            "listen" => into.listen = Some(value),
            "statsfile" => into.statsfile = Some(value.into()),
            "interval" => into.interval = Some(value),
            "timeout" => into.timeout = Some(value),
            "retention" => into.retention = Some(value),
            "node-expiry" | "node_expiry" => into.node_expiry = Some(value),
            "queue-size" | "queue_size" => into.queue_size = Some(number(&value)?),
            "max-body" | "max_body" => into.max_body = Some(number(&value)?),
            "concurrency" => into.concurrency = Some(number(&value)?),
            "max-nodes" | "max_nodes" => into.max_nodes = Some(number(&value)?),
            "token" => into.token = Some(value),
            "token-file" | "token_file" => into.token_file = Some(value.into()),
            "tahoe-node" | "tahoe_node" => into.tahoe_nodes.push(value.into()),
            "provider" => {
                Provider::parse(&value).map_err(|e| format!("{}: {e}", at()))?;
                into.providers.push(value);
            }
            other => return Err(format!("{}: unknown setting {other:?}", at())),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(seconds("90").unwrap(), Duration::from_secs(90));
        assert_eq!(seconds("5m").unwrap(), Duration::from_secs(300));
        assert_eq!(seconds("0.5").unwrap(), Duration::from_millis(500));
        assert_eq!(seconds("7d").unwrap(), Duration::from_secs(604_800));
        assert!(seconds("5y").is_err());
        assert!(seconds("x").is_err());
    }

    #[test]
    fn defaults_file_and_command_line() {
        let d = tempfile::tempdir().unwrap();
        let conf = d.path().join("g.conf");
        std::fs::write(&conf, "# gatherer\ninterval 30\nprovider http://h:1/,nodeid=aa\ntahoe-node /srv/n1\nlisten 127.0.0.1:9\n").unwrap();
        let cli = Cli::parse_from([
            "g",
            "--config",
            conf.to_str().unwrap(),
            "--interval",
            "5",
            "--provider",
            "http://h:2/",
        ]);
        let o = Options::resolve(cli).unwrap();
        assert_eq!(o.interval, Duration::from_secs(5), "command line wins");
        assert_eq!(o.listen.to_string(), "127.0.0.1:9");
        assert_eq!(o.providers.len(), 3);
        assert_eq!(o.retention, Duration::from_secs(3600));
        assert_eq!(o.node_expiry, Some(Duration::from_secs(604_800)));
        assert_eq!(o.json_file(), PathBuf::from("/var/lib/munin-rs/stats.json"));
    }

    #[test]
    fn config_errors_name_file_and_line() {
        let d = tempfile::tempdir().unwrap();
        let conf = d.path().join("g.conf");
        std::fs::write(&conf, "interval 30\n\ncolour blue\n").unwrap();
        let e = Options::resolve(Cli::parse_from(["g", "--config", conf.to_str().unwrap()]))
            .unwrap_err();
        assert!(e.ends_with("g.conf:3: unknown setting \"colour\""), "{e}");
        std::fs::write(&conf, "queue-size many\n").unwrap();
        let e = Options::resolve(Cli::parse_from(["g", "--config", conf.to_str().unwrap()]))
            .unwrap_err();
        assert!(
            e.contains("g.conf:1: queue-size \"many\" is not a number"),
            "{e}"
        );
        let e = Options::resolve(Cli::parse_from(["g", "--statsfile", "x.json"])).unwrap_err();
        assert!(e.contains("must not end in .json"));
    }
}
