//! Running plugins the way munin-node does: finding them in the plugins
//! directory and starting them (or, for `munin-plugins`' own, running them
//! in-process). The built-in plugins themselves are in `crate::plugins`.
//!
//! - [`builtin`]: running `munin-plugins` plugins in-process, without a fork.
//! - [`discover`]: which files of the plugins directory are plugins.
//! - [`identity`]: the user and groups a plugin runs as.
//! - [`env`](mod@env): the environment a plugin sees.
//! - [`exec`]: running one plugin with its timeout, output cap and clean-up.
//! - [`output`]: turning plugin output into protocol lines.
//! - [`spawn`]: starting the child process cheaply, as the plugin's user.
//! - [`reach`]: whether a plugin's user can reach its file, to say why not.
//! - [`reaper`]: reaping the orphans plugins leave behind.
//!
//! A [`PluginSpec`] is everything needed to run one plugin, prepared once when
//! the node starts (names are resolved to ids then, not on every run).

pub mod builtin;
pub mod discover;
pub mod env;
pub mod exec;
pub mod identity;
pub mod output;
pub mod reach;
pub mod reaper;
pub mod spawn;

use std::path::PathBuf;
use std::time::Duration;

use crate::config::plugin_conf::Section;
pub use identity::Identity;

/// One plugin, ready to run.
#[derive(Debug, Clone)]
pub struct PluginSpec {
    /// The service name: the file name in the plugins directory.
    pub name: String,
    /// `<servicedir>/<name>`, run through the symlink so that multi-call
    /// plugins see their own name in `argv[0]`.
    pub path: PathBuf,
    /// Resolved plugin-conf.d settings.
    pub conf: Section,
    /// Who the plugin runs as, or why that cannot be resolved (the plugin then
    /// fails every run with a logged reason, as the real node's child does).
    pub identity: Result<Identity, String>,
    /// `timeout` from plugin-conf.d, else the node's default.
    pub timeout: Duration,
    /// Set when the plugin is a link to `munin-plugins` that can run inside
    /// this process (see [`builtin`]).
    pub builtin: Option<builtin::Builtin>,
}
