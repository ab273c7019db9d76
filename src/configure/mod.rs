//! `munin-node-configure`: which plugins to enable, as Munin's tool of the
//! same name decides it, over several plugin libraries at once.
//!
//! - [`cli`]: the command line (Munin's options).
//! - [`library`]: library directories and the plugin directory's links
//!   into them.
//! - [`markers`]: `#%# family` and `capabilities` of a plugin file.
//! - [`history`]: `--newer`, from a library's `plugins.history`.
//! - [`plugin`]: one plugin, its answers, and what they mean.
//! - [`probe`]: running `autoconf` and `suggest`, judging the answers.
//! - [`report`]: the table, the shell lines and the error list.
//! - [`trace`]: `--debug` lines.
//!
//! Libraries are read in order (default: ours, `/usr/lib/munin-rs/plugins`,
//! then munin-plugins-core's `/usr/share/munin/plugins`, each when it
//! exists). Each library's plugins are reported exactly as Munin reports
//! them; a name two libraries share is two rows, and its link goes to the
//! first library's plugin.

pub mod cli;
pub mod history;
pub mod library;
pub mod markers;
pub mod plugin;
pub mod probe;
pub mod report;
pub mod trace;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, bail};

use crate::settings::{Overrides, Settings};
use cli::Cli;
use library::Library;
use plugin::Plugin;
use trace::Trace;

/// Our library, which the munin-rs-node package fills with links to
/// `munin-plugins` and `tahoe-stats`.
pub const OUR_LIBRARY: &str = "/usr/lib/munin-rs/plugins";
/// munin-plugins-core's library.
pub const MUNIN_LIBRARY: &str = "/usr/share/munin/plugins";
/// Munin's default node configuration.
const MUNIN_NODE_CONF: &str = "/etc/munin/munin-node.conf";

/// What a run printed, for the caller to write out.
#[derive(Debug, Default)]
pub struct Printed {
    pub stdout: String,
    pub stderr: String,
    /// Some plugin misbehaved (Munin exits 1 then).
    pub plugin_errors: bool,
}

/// The families considered: `--families` (comma lists, repeatable), else
/// Munin's defaults.
pub fn families(cli: &Cli, suggest: bool) -> Vec<String> {
    let given: Vec<String> = cli
        .families
        .iter()
        .flat_map(|f| f.split(','))
        .filter(|f| !f.is_empty())
        .map(str::to_string)
        .collect();
    if !given.is_empty() {
        given
    } else if suggest {
        vec!["auto".into()]
    } else {
        ["auto", "manual", "contrib"].map(String::from).to_vec()
    }
}

/// The libraries to read: `--libdir`s as given, else the defaults that
/// exist.
pub fn libdirs(cli: &Cli) -> Result<Vec<PathBuf>> {
    if !cli.libdir.is_empty() {
        return Ok(cli.libdir.clone());
    }
    let found: Vec<PathBuf> = [OUR_LIBRARY, MUNIN_LIBRARY]
        .iter()
        .map(PathBuf::from)
        .filter(|d| d.is_dir())
        .collect();
    if found.is_empty() {
        bail!(
            "no plugin library: neither {OUR_LIBRARY} nor {MUNIN_LIBRARY} exists; give one with --libdir"
        );
    }
    Ok(found)
}

/// Does what the command line asks.
pub fn run(cli: &Cli) -> Result<Printed> {
    if !cli.snmp.is_empty() {
        bail!(
            "SNMP probing (--snmp) is not supported by this munin-node-configure; \
             Munin's own (with Net::SNMP) can do it"
        );
    }
    let trace = Trace { on: cli.debug };
    let suggest = cli.suggest || cli.shell;
    let families = families(cli, suggest);
    let config = cli.config.clone().or_else(|| {
        Path::new(MUNIN_NODE_CONF)
            .is_file()
            .then(|| PathBuf::from(MUNIN_NODE_CONF))
    });
    let overrides = Overrides {
        config,
        servicedir: cli.servicedir.clone(),
        sconfdir: cli.sconfdir.clone(),
        pidebug: cli.pidebug,
        ..Overrides::default()
    };
    let (settings, warnings) = Settings::load(&overrides)?;
    for w in &warnings {
        trace.say(format_args!("{w}"));
    }
    let filter = settings.filter();
    let mut libraries = Vec::new();
    for dir in libdirs(cli)? {
        let history = match &cli.newer {
            Some(v) => history::History::load(&dir.join("plugins.history"), v)?,
            None => None,
        };
        if cli.newer.is_some() && history.is_none() {
            trace.say(format_args!(
                "{} has no plugins.history: --newer does not apply to it",
                dir.display()
            ));
        }
        libraries.push(Library::load(
            &dir,
            &filter,
            &families,
            history.as_ref(),
            &trace,
        )?);
    }
    library::find_installed(&settings.servicedir, &filter, &mut libraries, &trace)?;

    let mut printed = Printed::default();
    if !suggest {
        printed.stdout = report::status_table(&in_table_order(&libraries));
        return Ok(printed);
    }
    settings.prepare_state_dir()?;
    let (conf, diagnostics) = settings.plugin_conf();
    for d in &diagnostics {
        trace.say(format_args!("{d}"));
    }
    let runner = Arc::new(settings.runner());
    let (settings, conf) = (Arc::new(settings), Arc::new(conf));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    for lib in &mut libraries {
        let plugins = std::mem::take(&mut lib.plugins);
        lib.plugins = runtime.block_on(probe::ask_all(
            plugins,
            Arc::clone(&settings),
            Arc::clone(&conf),
            Arc::clone(&runner),
            trace,
        ));
    }
    // Links go to the first library offering a name: library order.
    let by_library: Vec<&Plugin> = libraries.iter().flat_map(|l| &l.plugins).collect();
    let table = in_table_order(&libraries);
    printed.stdout = if cli.shell {
        report::shell_lines(&by_library, &settings.servicedir, cli.remove_also)
    } else {
        report::suggestion_table(&table)
    };
    printed.stderr = report::errors(&table);
    printed.plugin_errors = !printed.stderr.is_empty();
    Ok(printed)
}

/// Every library's plugins, by name; a name in two libraries is listed in
/// library order.
fn in_table_order(libraries: &[Library]) -> Vec<&Plugin> {
    let mut all: Vec<&Plugin> = libraries.iter().flat_map(|l| &l.plugins).collect();
    all.sort_by(|a, b| a.name.cmp(&b.name));
    all
}
