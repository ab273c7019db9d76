//! Running one plugin: the child process, its limits, and its clean-up.
//!
//! Each run is a child in its own session and process group (`setsid`), with
//! the plugin's user and groups, umask 002, cwd `/`, stdin `/dev/null`, and
//! the environment of [`super::env`]. The real node hands the master's socket
//! to the plugin as stdin; we do not: a plugin has no business on the
//! master's connection.
//!
//! Limits, and what happens when one is hit:
//! - the run's timeout: the whole process group gets SIGHUP and the caller is
//!   answered at once with [`Outcome::TimedOut`]; after a grace period the
//!   group gets SIGKILL and the child is reaped in the background. (The real
//!   node sleeps through the grace period before answering and never reaps
//!   the child, leaving a zombie.)
//! - the output cap: a plugin that writes more than `max_output` bytes to
//!   stdout is killed with its group, and its output is discarded.
//! - the node's output budget, shared by all runs: a plugin starts once
//!   there is room in it for the largest output it may give (waiting under
//!   its timeout); when it ends, only what its output takes stays held, until
//!   the reply has been sent (see [`Held`]). So `max_servers` ×
//!   `max_plugin_output` never adds up in memory, and runs never wait on
//!   each other mid-read.
//! - the caller going away (e.g. the session's own deadline): the process
//!   group is killed when the run is dropped.
//!
//! The group is always signalled before its leader is reaped, so that the
//! process group id cannot have been reused by an unrelated process.

use std::io;
use std::path::Path;
use std::process::ExitStatus;
use std::sync::Arc;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::net::unix::pipe;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::PluginSpec;
use super::env::BaseEnv;
use super::identity::Identity;
use super::reaper;
use super::spawn;

/// How much stderr is kept for the log; the rest is read and dropped.
const STDERR_KEEP: usize = 64 * 1024;

/// How one run ended.
#[derive(Debug)]
pub enum Outcome {
    /// Exit status 0; the plugin's stdout.
    Success(Vec<u8>),
    /// Non-zero exit or killed by a signal; stdout kept for munin-run only.
    Failed { status: ExitStatus, stdout: Vec<u8> },
    /// The plugin did not finish within its timeout.
    TimedOut,
    /// The plugin wrote more than the output cap.
    OutputTooLarge,
    /// The plugin could not be started (missing user, exec failure, ...).
    Error(String),
}

/// The outcome of a run plus what the plugin wrote to stderr.
#[derive(Debug)]
pub struct Report {
    pub outcome: Outcome,
    pub stderr: Vec<u8>,
    pub elapsed: Duration,
    /// The output budget the stdout holds: keep it until the reply built
    /// from it is sent.
    pub held: Held,
}

/// Room taken in the node's output budget; given back on drop.
#[derive(Debug, Default)]
pub struct Held {
    /// Kept only to be dropped.
    _room: Option<OwnedSemaphorePermit>,
}

/// The budget is counted in KiB (a semaphore holds at most u32 permits).
const BUDGET_UNIT: usize = 1024;

/// Per-run parameters that come from the connection, not the plugin.
#[derive(Debug, Clone, Copy)]
pub struct RunRequest<'a> {
    /// `Some("config")`, `Some("autoconf")`, ...; `None` for fetch.
    pub arg: Option<&'a str>,
    /// The master's address, `""` when no master is involved.
    pub master_ip: &'a str,
    pub dirtyconfig: bool,
    pub timeout: Duration,
}

/// Runs plugins; shared by all connections.
#[derive(Debug)]
pub struct Runner {
    env: BaseEnv,
    max_output: usize,
    kill_grace: Duration,
    /// The output budget of all runs together, in KiB; `None`: unbounded
    /// (munin-run, one run).
    budget: Option<Arc<Semaphore>>,
}

impl Runner {
    pub fn new(env: BaseEnv, max_output: usize, kill_grace: Duration) -> Self {
        Runner {
            env,
            max_output,
            kill_grace,
            budget: None,
        }
    }

    /// Shares `total` bytes of output among all runs at once (at least
    /// one run's worth).
    pub fn with_budget(mut self, total: usize) -> Self {
        let total = total.max(self.max_output + 2 * BUDGET_UNIT);
        let units = total
            .div_ceil(BUDGET_UNIT)
            .clamp(1, Semaphore::MAX_PERMITS.min(u32::MAX as usize));
        self.budget = Some(Arc::new(Semaphore::new(units)));
        self
    }

    /// Runs `spec` once and reports how it went. Never panics on plugin
    /// behaviour; every failure is an [`Outcome`].
    pub async fn run(&self, spec: &PluginSpec, req: &RunRequest<'_>) -> Report {
        let started = Instant::now();
        let report = |outcome, stderr| Report {
            outcome,
            stderr,
            elapsed: started.elapsed(),
            held: Held::default(),
        };
        if req.timeout.is_zero() {
            return report(Outcome::TimedOut, Vec::new());
        }
        if let Some(b) = &spec.builtin {
            // The same state directory a forked run would get (diskstats
            // keeps its counters there).
            let user = match &spec.identity {
                Ok(id) => {
                    if let Err(e) = self.ensure_plugstate(id) {
                        tracing::warn!(plugin = %spec.name, cause = %e, "cannot prepare the plugin state directory");
                    }
                    id.user_name.clone()
                }
                Err(_) => super::identity::current().user_name,
            };
            let env = self
                .env
                .for_run(spec, &user, req.master_ip, req.dirtyconfig);
            let outcome = super::builtin::run(b, req.arg, env, req.timeout).await;
            return report(outcome, Vec::new());
        }
        let identity = match &spec.identity {
            Ok(id) => id,
            Err(why) => return report(Outcome::Error(why.clone()), Vec::new()),
        };
        if let Err(e) = self.ensure_plugstate(identity) {
            tracing::warn!(plugin = %spec.name, cause = %e, "cannot prepare the plugin state directory");
        }
        // Room for the largest output this run may give, before it starts:
        // runs wait their turn here rather than together in memory.
        let mut room = match &self.budget {
            None => None,
            Some(b) => {
                let units = self.max_output.div_ceil(BUDGET_UNIT) + 1;
                match tokio::time::timeout(req.timeout, b.clone().acquire_many_owned(units as u32))
                    .await
                {
                    Ok(Ok(p)) => Some(p),
                    _ => {
                        return report(
                            Outcome::Error(
                                "no room in the node's output budget (max_plugin_output_total) within the plugin's timeout"
                                    .into(),
                            ),
                            Vec::new(),
                        );
                    }
                }
            }
        };
        let argv = command_line(spec, req.arg);
        let env = self
            .env
            .for_run(spec, &identity.user_name, req.master_ip, req.dirtyconfig);
        let request = spawn::Request {
            argv: &argv,
            env: &env,
            switch: identity.switch.as_ref(),
        };
        let started_child = reaper::spawn_managed(|| {
            let s = spawn::spawn(&request)?;
            Ok((s.pid as u32, s))
        });
        let spawned = match started_child {
            Ok((_, s)) => s,
            Err(e) => {
                let mut why = format!("cannot start {}: {e}", argv[0]);
                if e.kind() == std::io::ErrorKind::PermissionDenied
                    && let Some(reason) = super::reach::unreachable(spec)
                {
                    why = format!("{why}: {reason}");
                }
                return report(Outcome::Error(why), Vec::new());
            }
        };
        let pid = spawned.pid;
        // setsid made the child the leader of its own process group.
        let guard = GroupGuard {
            pgid: pid,
            armed: true,
        };
        let mut child = spawn::Child::new(pid);
        let pipes = pipe::Receiver::from_owned_fd(spawned.stdout)
            .and_then(|out| Ok((out, pipe::Receiver::from_owned_fd(spawned.stderr)?)));
        let (stdout, stderr) = match pipes {
            Ok(p) => p,
            Err(e) => {
                drop(guard);
                return report(
                    Outcome::Error(format!("plugin output pipes: {e}")),
                    Vec::new(),
                );
            }
        };
        let max = self.max_output;
        let collected = tokio::time::timeout(req.timeout, async {
            let (out, err) = tokio::try_join!(
                read_capped(stdout, max),
                read_keep_head(stderr, STDERR_KEEP)
            )?;
            let status = child.wait().await.map_err(Collect::Io)?;
            Ok::<_, Collect>((out, err, status))
        })
        .await;
        match collected {
            Ok(Ok((stdout, stderr, status))) => {
                // Only what the output takes stays held, until it is sent.
                if let Some(r) = &mut room {
                    let keep = stdout.len().div_ceil(BUDGET_UNIT).max(1);
                    if r.num_permits() > keep {
                        drop(r.split(r.num_permits() - keep));
                    }
                }
                let held = Held { _room: room };
                guard.disarm();
                reaper::unmanage(pid as u32);
                let outcome = if status.success() {
                    Outcome::Success(stdout)
                } else {
                    Outcome::Failed { status, stdout }
                };
                Report {
                    held,
                    ..report(outcome, stderr)
                }
            }
            Ok(Err(failure)) => {
                signal_group(pid, Signal::SIGKILL);
                guard.disarm();
                reap_later(child, Duration::ZERO);
                let outcome = match failure {
                    Collect::TooLarge => Outcome::OutputTooLarge,
                    Collect::Io(e) => Outcome::Error(format!("reading plugin output: {e}")),
                };
                report(outcome, Vec::new())
            }
            Err(_elapsed) => {
                signal_group(pid, Signal::SIGHUP);
                guard.disarm();
                reap_later(child, self.kill_grace);
                report(Outcome::TimedOut, Vec::new())
            }
        }
    }

    /// Creates `<state root>/<user>` owned by the plugin's user, as the real
    /// node does before each run.
    fn ensure_plugstate(&self, identity: &Identity) -> io::Result<()> {
        let dir = self.env.plugstate(&identity.user_name);
        if dir.is_dir() {
            return Ok(());
        }
        std::fs::create_dir_all(&dir)?;
        if identity.switch.is_some() {
            std::os::unix::fs::chown(&dir, Some(identity.uid), Some(0))?;
        }
        Ok(())
    }
}

/// The program and arguments: `command` from plugin-conf.d with `%c`
/// replaced by the plugin path and its argument, or the plugin itself.
pub fn command_line(spec: &PluginSpec, arg: Option<&str>) -> Vec<String> {
    let plugin: Vec<String> = std::iter::once(path_string(&spec.path))
        .chain(arg.map(str::to_string))
        .collect();
    match &spec.conf.command {
        Some(tokens) if !tokens.is_empty() => tokens
            .iter()
            .flat_map(|t| {
                if t == "%c" {
                    plugin.clone()
                } else {
                    vec![t.clone()]
                }
            })
            .collect(),
        _ => plugin,
    }
}

fn path_string(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

enum Collect {
    TooLarge,
    Io(io::Error),
}

/// Reads everything, failing as soon as more than `cap` bytes arrive.
async fn read_capped(r: impl AsyncRead + Unpin, cap: usize) -> Result<Vec<u8>, Collect> {
    let mut buf = Vec::new();
    let n = r
        .take(cap as u64 + 1)
        .read_to_end(&mut buf)
        .await
        .map_err(Collect::Io)?;
    if n > cap {
        Err(Collect::TooLarge)
    } else {
        Ok(buf)
    }
}

/// Reads everything, keeping only the first `keep` bytes.
async fn read_keep_head(mut r: impl AsyncRead + Unpin, keep: usize) -> Result<Vec<u8>, Collect> {
    let mut kept = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        let n = r.read(&mut chunk).await.map_err(Collect::Io)?;
        if n == 0 {
            return Ok(kept);
        }
        let room = keep.saturating_sub(kept.len());
        kept.extend_from_slice(&chunk[..n.min(room)]);
    }
}

fn signal_group(pgid: i32, sig: Signal) {
    // ESRCH (the group is already gone) is the expected, harmless case.
    let _ = killpg(Pid::from_raw(pgid), sig);
}

/// After `grace`, kills what is left of the group, then reaps the leader.
/// If the runtime shuts down first (the node stops, munin-run exits), the
/// guard kills the group on the way out.
fn reap_later(mut child: spawn::Child, grace: Duration) {
    tokio::spawn(async move {
        let guard = GroupGuard {
            pgid: child.pid,
            armed: true,
        };
        if !grace.is_zero() {
            // The leader may finish on its own within the grace period; it is
            // not reaped yet, so the group id stays reserved either way.
            tokio::time::sleep(grace).await;
        }
        drop(guard);
        let _ = child.wait().await;
        reaper::unmanage(child.pid as u32);
    });
}

/// Kills the process group if a run is abandoned half-way (its future dropped).
struct GroupGuard {
    pgid: i32,
    armed: bool,
}

impl GroupGuard {
    fn disarm(mut self) {
        self.armed = false;
    }
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        if self.armed {
            signal_group(self.pgid, Signal::SIGKILL);
            // Nobody waits for the leader any more: the orphan reaper will.
            reaper::unmanage(self.pgid as u32);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::plugin_conf::Section;

    fn spec(command: Option<&[&str]>) -> PluginSpec {
        PluginSpec {
            name: "test_cmd".into(),
            path: "/etc/munin/plugins/test_cmd".into(),
            conf: Section {
                command: command.map(|c| c.iter().map(|s| s.to_string()).collect()),
                ..Section::default()
            },
            identity: Err("unused".into()),
            timeout: Duration::from_secs(1),
            builtin: None,
        }
    }

    #[test]
    fn command_substitutes_percent_c() {
        let s = spec(Some(&["/usr/bin/env", "VAR_D=11", "%c"]));
        assert_eq!(
            command_line(&s, Some("config")),
            vec![
                "/usr/bin/env",
                "VAR_D=11",
                "/etc/munin/plugins/test_cmd",
                "config"
            ]
        );
        assert_eq!(
            command_line(&s, None),
            vec!["/usr/bin/env", "VAR_D=11", "/etc/munin/plugins/test_cmd"]
        );
    }

    #[test]
    fn plain_plugin_command() {
        assert_eq!(
            command_line(&spec(None), Some("autoconf")),
            vec!["/etc/munin/plugins/test_cmd", "autoconf"]
        );
        assert_eq!(
            command_line(&spec(Some(&[])), None),
            vec!["/etc/munin/plugins/test_cmd"]
        );
    }
}
