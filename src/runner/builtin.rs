//! Running `munin-plugins` plugins inside the node, without a fork.
//!
//! The rule: a plugin runs in-process when
//! 1. its file, after following symlinks, is a program named `munin-plugins`
//!    (our multi-call binary of core plugins),
//! 2. its name is one `munin-plugins` knows (`cpu`, `if_eth0`, ...), and
//! 3. its plugin-conf.d section sets no `user`, `group` or `command`.
//!
//! It then gets the environment a forked run would get (built by the same
//! [`super::env::BaseEnv`]), the same timeout, and its output is what the
//! program would have printed. Anything else forks as usual. The one
//! difference: an in-process plugin runs with the node's own credentials
//! rather than the default plugin user's; the built-in plugins only read
//! /proc and /sys, which is why rule 3 suffices.

use std::ffi::OsString;
use std::path::Path;
use std::time::Duration;

use super::exec::Outcome;
use crate::config::plugin_conf::Section;
use crate::plugins::{self, Context, Env, Mode, Plugin};

/// A plugin that will run in-process: which one, and its wildcard argument.
#[derive(Clone)]
pub struct Builtin {
    pub plugin: &'static dyn Plugin,
    pub arg: String,
}

impl std::fmt::Debug for Builtin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Builtin({}{})", self.plugin.name(), self.arg)
    }
}

/// The name of the multi-call binary the rule looks for.
pub const PROGRAM: &str = "munin-plugins";

/// Whether plugin `name` at `path` with settings `section` runs in-process.
pub fn detect(name: &str, path: &Path, section: &Section) -> Option<Builtin> {
    if section.user.is_some() || section.group.is_some() || section.command.is_some() {
        return None;
    }
    let target = std::fs::canonicalize(path).ok()?;
    if target.file_name()? != PROGRAM {
        return None;
    }
    let (plugin, arg) = plugins::lookup(name)?;
    Some(Builtin {
        plugin,
        arg: arg.to_string(),
    })
}

/// Runs `b` in `arg`'s mode with `env`, within `timeout`.
pub async fn run(
    b: &Builtin,
    arg: Option<&str>,
    env: Vec<(OsString, OsString)>,
    timeout: Duration,
) -> Outcome {
    let plugin = b.plugin;
    let wildcard = b.arg.clone();
    let mode = Mode::from_arg(arg);
    let env = Env(env
        .into_iter()
        .map(|(k, v)| {
            (
                k.to_string_lossy().into_owned(),
                v.to_string_lossy().into_owned(),
            )
        })
        .collect());
    // /proc reads are blocking file I/O; a busy box's process table takes
    // milliseconds, so keep it off the connection-serving thread.
    let job = tokio::task::spawn_blocking(move || {
        let root = plugins::root_from_env(&env);
        let cx = Context {
            root: &root,
            arg: &wildcard,
            env: &env,
        };
        plugins::run(plugin, mode, &cx)
    });
    match tokio::time::timeout(timeout, job).await {
        Err(_) => Outcome::TimedOut,
        Ok(Err(join)) => {
            Outcome::Error(format!("built-in plugin {} failed: {join}", plugin.name()))
        }
        Ok(Ok(Err(e))) => Outcome::Error(format!("built-in plugin {}: {e}", plugin.name())),
        Ok(Ok(Ok(out))) => Outcome::Success(out.into_bytes()),
    }
}
