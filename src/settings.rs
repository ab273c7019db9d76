//! The settings `munin-node` and `munin-run` run with.
//!
//! Each value comes from the first place that has it: the command line, then
//! munin-node.conf (`--config FILE`; without it `/etc/munin/munin-node.conf`
//! as Munin's node reads it, or the embedded default when that file does
//! not exist), then a built-in default. The plugin directories follow
//! Munin's layout: `<the config's directory>/plugins` and `<its
//! directory>/plugin-conf.d` (so `/etc/munin/munin-node.conf` serves
//! `/etc/munin/plugins`); the embedded config stands in for
//! `/etc/munin/munin-node.conf`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};

use crate::config::Diagnostic;
use crate::config::node_conf::{self, NodeConfig};
use crate::config::plugin_conf::PluginConf;
use crate::runner::PluginSpec;
use crate::runner::discover::Filter;
use crate::runner::env::{BaseEnv, EnvParams};
use crate::runner::exec::Runner;
use crate::runner::identity::{self, Defaults};

/// The config file read without `--config`, when it exists.
pub const DEFAULT_CONFIG: &str = "/etc/munin/munin-node.conf";
/// Plugin timeout when neither plugin-conf.d nor munin-node.conf sets one.
pub const DEFAULT_PLUGIN_TIMEOUT: Duration = Duration::from_secs(60);
/// Whole-session limit, as munin-node's default.
pub const DEFAULT_GLOBAL_TIMEOUT: Duration = Duration::from_secs(900);
/// A connection that sends nothing for this long is closed.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(300);
/// Net::Server's default `max_servers`.
pub const DEFAULT_MAX_CONNECTIONS: usize = 256;
/// Plugin stdout beyond this is refused (the real node has no limit).
pub const DEFAULT_MAX_PLUGIN_OUTPUT: usize = 16 * 1024 * 1024;
/// Plugin output held by all connections at once (`max_plugin_output_total`).
pub const DEFAULT_MAX_OUTPUT_TOTAL: usize = 256 * 1024 * 1024;
/// A command line begun must be complete within this (`line_timeout`).
pub const DEFAULT_LINE_TIMEOUT: Duration = Duration::from_secs(10);
/// Sessions kept for `reserve_for` peers (`reserved_servers`).
pub const DEFAULT_RESERVED: usize = 8;
/// Between SIGHUP and SIGKILL for a plugin that timed out, as the real node.
pub const KILL_GRACE: Duration = Duration::from_secs(2);

/// What the command line may override; the options munin-node and munin-run
/// share (with munin-run's names).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct Overrides {
    /// munin-node.conf [/etc/munin/munin-node.conf]
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Plugin directory (default: plugins/ beside the config).
    // The config's `servicedir` comes first; `/etc/munin/plugins` for the
    // embedded config. `--help` has one line per option: the man page
    // says all (`crate::cli::node::OVERRIDES`).
    #[arg(long, value_name = "DIR")]
    pub servicedir: Option<PathBuf>,
    /// plugin-conf.d directory (default: beside the config).
    #[arg(long, value_name = "DIR")]
    pub sconfdir: Option<PathBuf>,
    /// Read plugin settings from this one file instead of sconfdir (munin-run).
    #[arg(skip)]
    pub sconffile: Option<PathBuf>,
    /// Set MUNIN_DEBUG=1 for plugins.
    #[arg(long)]
    pub pidebug: bool,
    /// Run only root-owned plugins no one else can write.
    #[arg(long)]
    pub paranoia: bool,
}

/// Everything needed to serve or run plugins.
#[derive(Debug)]
pub struct Settings {
    pub config: NodeConfig,
    pub servicedir: PathBuf,
    pub sconfdir: PathBuf,
    pub sconffile: Option<PathBuf>,
    pub fqdn: String,
    pub plugin_timeout: Duration,
    pub global_timeout: Duration,
    pub idle_timeout: Duration,
    pub max_connections: usize,
    pub max_plugin_output: usize,
    pub max_output_total: usize,
    pub line_timeout: Duration,
    pub max_per_ip: usize,
    /// Who gets the reserved sessions, and how many there are (part of
    /// `max_connections`).
    pub reserve_for: Vec<crate::node::access::Cidr>,
    pub reserved: usize,
    pub plugin_state_dir: PathBuf,
    pub defaults: Defaults,
    pub as_root: bool,
    pub pidebug: bool,
}

impl Settings {
    /// Loads the config and resolves every setting. Warnings (unknown keys,
    /// ...) are returned for the caller to log; fatal problems are errors.
    pub fn load(o: &Overrides) -> Result<(Settings, Vec<Diagnostic>)> {
        let parsed = match &o.config {
            Some(path) => node_conf::parse_file(path)?,
            // Munin's node reads this file without being told; a drop-in
            // replacement under Debian's unit must too.
            None if Path::new(DEFAULT_CONFIG).is_file() => {
                node_conf::parse_file(Path::new(DEFAULT_CONFIG))?
            }
            None => node_conf::embedded(),
        };
        let mut config = parsed.config;
        if o.paranoia {
            config.paranoia = true;
        }
        let (servicedir, sconfdir) = plugin_dirs(&config, o);
        // Plugins run with cwd "/", so their path must not be relative.
        let servicedir = std::path::absolute(&servicedir)
            .with_context(|| format!("plugin directory {}", servicedir.display()))?;
        let defaults = Defaults::resolve(
            config.default_plugin_user.as_deref(),
            config.default_plugin_group.as_deref(),
        )
        .map_err(|e| anyhow::anyhow!("{}: {e}", config.source))?;
        let as_root = crate::sys::is_root();
        let plugin_state_dir = match &config.plugin_state_dir {
            Some(p) => config.resolve(p),
            None if as_root => PathBuf::from("/var/lib/munin-node/plugin-state"),
            None => std::env::temp_dir()
                .join(format!("munin-node-{}/plugin-state", nix::unistd::getuid())),
        };
        let settings = Settings {
            fqdn: config.host_name.clone().unwrap_or_else(crate::sys::fqdn),
            plugin_timeout: config.timeout.unwrap_or(DEFAULT_PLUGIN_TIMEOUT),
            global_timeout: config.global_timeout.unwrap_or(DEFAULT_GLOBAL_TIMEOUT),
            idle_timeout: config.idle_timeout.unwrap_or(DEFAULT_IDLE_TIMEOUT),
            max_connections: config.max_servers.unwrap_or(DEFAULT_MAX_CONNECTIONS),
            max_output_total: config
                .max_plugin_output_total
                .unwrap_or(DEFAULT_MAX_OUTPUT_TOTAL),
            line_timeout: config.line_timeout.unwrap_or(DEFAULT_LINE_TIMEOUT),
            // No share per address unless the file sets one, as Munin (a
            // master's checks open 200 at once from one address): the
            // masters' reserve is what keeps them served.
            max_per_ip: config.max_connections_per_ip.unwrap_or(usize::MAX),
            reserve_for: config.reserve_for.clone().unwrap_or_else(|| {
                ["127.0.0.1", "::1"]
                    .iter()
                    .filter_map(|a| crate::node::access::Cidr::parse(a).ok())
                    .collect()
            }),
            // At most half the sessions, so others are always served too.
            reserved: config
                .reserved_servers
                .unwrap_or(DEFAULT_RESERVED)
                .min(config.max_servers.unwrap_or(DEFAULT_MAX_CONNECTIONS) / 2),
            max_plugin_output: config
                .max_plugin_output
                .unwrap_or(DEFAULT_MAX_PLUGIN_OUTPUT),
            servicedir,
            sconfdir,
            sconffile: o.sconffile.clone(),
            plugin_state_dir,
            defaults,
            as_root,
            pidebug: o.pidebug,
            config,
        };
        Ok((settings, parsed.warnings))
    }

    /// Which files of the plugin directory are plugins.
    pub fn filter(&self) -> Filter {
        Filter {
            ignore: self.config.ignore_files.clone(),
            paranoia: self.config.paranoia,
        }
    }

    /// plugin-conf.d (or `--sconffile`), parsed.
    pub fn plugin_conf(&self) -> (PluginConf, Vec<Diagnostic>) {
        match &self.sconffile {
            Some(f) => PluginConf::load_file(f),
            None => PluginConf::load_dir(&self.sconfdir, &self.config.ignore_files),
        }
    }

    /// Everything needed to run plugin `name`.
    pub fn spec(&self, name: &str, conf: &PluginConf) -> PluginSpec {
        self.spec_at(self.servicedir.join(name), name, conf)
    }

    /// Plugin `name` run from `path` rather than the plugin directory
    /// (munin-node-configure runs library plugins under their own name).
    pub fn spec_at(&self, path: PathBuf, name: &str, conf: &PluginConf) -> PluginSpec {
        let section = conf.resolve(name);
        PluginSpec {
            name: name.to_string(),
            builtin: crate::runner::builtin::detect(name, &path, &section),
            identity: identity::resolve(name, &section, &self.defaults, self.as_root),
            timeout: section.timeout.unwrap_or(self.plugin_timeout),
            path,
            conf: section,
        }
    }

    /// The config file's directory, which plugins get as `MUNIN_CONFDIR`.
    pub fn config_dir(&self) -> PathBuf {
        config_dir_of(&self.config)
    }

    /// The plugin runner, with the environment every plugin gets.
    pub fn runner(&self) -> Runner {
        let params = EnvParams {
            fqdn: self.fqdn.clone(),
            confdir: self.config_dir(),
            plugstate_root: self.plugin_state_dir.clone(),
            debug: self.pidebug,
        };
        Runner::new(
            BaseEnv::new(std::env::vars_os(), &params),
            self.max_plugin_output,
            KILL_GRACE,
        )
        .with_budget(self.max_output_total)
    }

    /// Creates the plugin state root if it is missing (readable by all, so
    /// that plugins running as other users can reach their own subdirectory).
    pub fn prepare_state_dir(&self) -> Result<()> {
        let dir = &self.plugin_state_dir;
        if !dir.is_dir() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("creating plugin state directory {}", dir.display()))?;
        }
        Ok(())
    }
}

/// The config file's directory (`MUNIN_CONFDIR` for plugins).
fn config_dir_of(config: &NodeConfig) -> PathBuf {
    config
        .dir
        .clone()
        .unwrap_or_else(|| PathBuf::from(node_conf::DEFAULT_DIR))
}

fn plugin_dirs(config: &NodeConfig, o: &Overrides) -> (PathBuf, PathBuf) {
    let pick = |cli: &Option<PathBuf>, key: &Option<PathBuf>, sub: &str| {
        if let Some(p) = cli {
            return p.clone();
        }
        if let Some(p) = key {
            return config.resolve(p);
        }
        config_dir_of(config).join(sub)
    };
    (
        pick(&o.servicedir, &config.servicedir, "plugins"),
        pick(&o.sconfdir, &config.sconfdir, "plugin-conf.d"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn directories_follow_the_config_file() {
        let dir = tempfile::tempdir().unwrap();
        let conf = dir.path().join("munin-node.conf");
        std::fs::write(&conf, "port 4949\n").unwrap();
        let o = Overrides {
            config: Some(conf),
            ..Overrides::default()
        };
        let (s, warnings) = Settings::load(&o).unwrap();
        assert!(warnings.is_empty());
        assert_eq!(s.servicedir, dir.path().join("plugins"));
        assert_eq!(s.sconfdir, dir.path().join("plugin-conf.d"));
    }

    #[test]
    fn command_line_beats_config_beats_layout() {
        let dir = tempfile::tempdir().unwrap();
        let conf = dir.path().join("node.conf");
        std::fs::write(&conf, "servicedir my-plugins\n").unwrap();
        let o = Overrides {
            config: Some(conf),
            sconfdir: Some("/x/conf.d".into()),
            ..Overrides::default()
        };
        let (s, _) = Settings::load(&o).unwrap();
        assert_eq!(s.servicedir, dir.path().join("my-plugins"));
        assert_eq!(s.sconfdir, PathBuf::from("/x/conf.d"));
    }

    #[test]
    fn the_default_config_serves_the_installed_layout() {
        // /etc/munin/munin-node.conf when this machine has one, else the
        // embedded file: the same layout either way.
        let (s, _) = Settings::load(&Overrides::default()).unwrap();
        assert_eq!(s.servicedir, Path::new("/etc/munin/plugins"));
        assert_eq!(s.sconfdir, Path::new("/etc/munin/plugin-conf.d"));
        assert_eq!(s.config_dir(), Path::new("/etc/munin"));
        let embedded = node_conf::embedded().config;
        assert_eq!(embedded.host.as_deref(), Some("127.0.0.1"));
        assert_eq!(embedded.dir.as_deref(), Some(Path::new("/etc/munin")));
    }

    #[test]
    fn missing_config_file_is_an_error_naming_it() {
        let o = Overrides {
            config: Some("/nonexistent/munin-node.conf".into()),
            ..Overrides::default()
        };
        let e = Settings::load(&o).unwrap_err();
        assert!(
            format!("{e:#}").contains("/nonexistent/munin-node.conf"),
            "{e:#}"
        );
    }
}
