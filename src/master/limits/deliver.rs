//! Messages written to contacts' commands, one running command per
//! contact as munin-limits keeps them.
//!
//! A contact's command is started on its first message of the run and
//! gets the following ones on the same standard input, until the
//! command (after expansion) changes, `max_messages` is reached, or
//! writing fails; then the input is closed and a new one started. Each
//! message is the text and a newline. The command's standard output is
//! /dev/null (munin-limits closes it so that tools like send_nsca do not
//! fill cron's mail); its error output and environment are ours.
//!
//! Unlike munin-limits we bound it: a write waits at most [`DEADLINE`] for
//! a command that does not read, at most [`MAX_RUNNING`] commands run at
//! once, and at the end of the run every command has [`DEADLINE`] to
//! finish before it is killed (with what it started: each command is a
//! process group) and named in the report. All the waiting of one run
//! together stops after [`RUN_BUDGET`].

use std::collections::BTreeMap;
use std::io::Write;
use std::os::fd::AsFd;
use std::os::unix::process::CommandExt;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use super::command::Prepared;

/// How long a command may leave a message unread, or run after its
/// input is closed.
pub const DEADLINE: Duration = Duration::from_secs(30);

/// Commands running at once; past it the oldest closed one is waited for.
pub const MAX_RUNNING: usize = 64;

/// The longest a run waits for its commands, all waits together.
pub const RUN_BUDGET: Duration = Duration::from_secs(120);

/// One contact's running command.
struct Open {
    prepared: Prepared,
    child: Child,
    stdin: Option<ChildStdin>,
}

/// The run's contacts' commands.
#[derive(Default)]
pub struct Deliveries {
    open: BTreeMap<String, Open>,
    /// Messages each contact's current command has had.
    sent: BTreeMap<String, usize>,
    /// Commands whose input is closed, with the contact's name.
    closed: Vec<(String, Child)>,
    pub errors: Vec<String>,
    /// Messages written.
    pub written: usize,
    /// When the run's waiting ends (set by its first message).
    budget: Option<Instant>,
}

impl Deliveries {
    /// Writes `text` and a newline to `contact`'s `prepared` command.
    pub fn send(&mut self, contact: &str, prepared: &Prepared, text: &str, max_messages: usize) {
        let budget = *self
            .budget
            .get_or_insert_with(|| Instant::now() + RUN_BUDGET);
        let sent = self.sent.get(contact).copied().unwrap_or(0);
        let reuse = self
            .open
            .get(contact)
            .is_some_and(|o| &o.prepared == prepared && (max_messages == 0 || sent < max_messages));
        if !reuse {
            self.close(contact);
            match self.start(prepared) {
                Ok(open) => {
                    self.open.insert(contact.to_string(), open);
                }
                Err(e) => {
                    self.errors.push(format!("contact {contact}: {e}"));
                    self.sent.insert(contact.to_string(), 1);
                    return;
                }
            }
            self.sent.insert(contact.to_string(), 0);
        }
        let mut message = text.as_bytes().to_vec();
        message.push(b'\n');
        let written = self
            .open
            .get_mut(contact)
            .and_then(|o| o.stdin.as_mut())
            .map(|stdin| write_within(stdin, &message, wait_until(budget)));
        match written {
            Some(Ok(())) => self.written += 1,
            Some(Err(e)) => {
                self.errors
                    .push(format!("contact {contact}: writing the message: {e}"));
                self.close(contact);
            }
            None => {}
        }
        *self.sent.entry(contact.to_string()).or_default() += 1;
    }

    /// Closes every command's input and waits for them; those still
    /// running after [`DEADLINE`] are killed. The errors of the run.
    pub fn finish(mut self) -> (usize, Vec<String>) {
        let names: Vec<String> = self.open.keys().cloned().collect();
        for n in names {
            self.close(&n);
        }
        let budget = self.budget.unwrap_or_else(|| Instant::now() + RUN_BUDGET);
        let deadline = Instant::now() + wait_until(budget);
        for (name, child) in std::mem::take(&mut self.closed) {
            if let Some(e) = reap(child, deadline) {
                self.errors.push(format!("contact {name}: {e}"));
            }
        }
        (self.written, self.errors)
    }

    fn start(&mut self, prepared: &Prepared) -> Result<Open, String> {
        while self.open.len() + self.closed.len() >= MAX_RUNNING && !self.closed.is_empty() {
            let (name, child) = self.closed.remove(0);
            let budget = self.budget.unwrap_or_else(|| Instant::now() + RUN_BUDGET);
            if let Some(e) = reap(child, Instant::now() + wait_until(budget)) {
                self.errors.push(format!("contact {name}: {e}"));
            }
        }
        let mut cmd = match prepared {
            Prepared::Direct(words) => {
                let (program, args) = words
                    .split_first()
                    .ok_or_else(|| "the command is empty".to_string())?;
                let mut c = Command::new(program);
                c.args(args);
                c
            }
            Prepared::Shell { script, args } => {
                let mut c = Command::new("/bin/sh");
                c.arg0("sh").arg("-c").arg(script).arg("sh").args(args);
                c
            }
        };
        if crate::clock::tz_added() {
            cmd.env_remove("TZ");
        }
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .process_group(0)
            .spawn()
            .map_err(|e| format!("{}: {e}", shown(prepared)))?;
        let stdin = child.stdin.take();
        if let Some(s) = &stdin
            && let Err(e) = set_nonblocking(s)
        {
            drop(stdin);
            kill(&mut child);
            return Err(format!("{}: {e}", shown(prepared)));
        }
        Ok(Open {
            prepared: prepared.clone(),
            child,
            stdin,
        })
    }

    fn close(&mut self, contact: &str) {
        if let Some(mut open) = self.open.remove(contact) {
            drop(open.stdin.take());
            self.closed.push((contact.to_string(), open.child));
        }
    }
}

/// How long a wait may last: [`DEADLINE`], less when the run's budget
/// ends sooner.
fn wait_until(budget: Instant) -> Duration {
    DEADLINE.min(budget.saturating_duration_since(Instant::now()))
}

/// Kills `child` and whatever it started, and reaps it.
fn kill(child: &mut Child) {
    use nix::sys::signal::{Signal, killpg};
    use nix::unistd::Pid;
    if let Ok(id) = i32::try_from(child.id()) {
        let _ = killpg(Pid::from_raw(id), Signal::SIGKILL);
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// The command as a message shows it.
fn shown(p: &Prepared) -> String {
    match p {
        Prepared::Direct(words) => words.join(" "),
        Prepared::Shell { script, .. } => script.clone(),
    }
}

fn set_nonblocking(stdin: &ChildStdin) -> std::io::Result<()> {
    use nix::fcntl::{FcntlArg, OFlag, fcntl};
    let flags = fcntl(stdin.as_fd(), FcntlArg::F_GETFL).map_err(std::io::Error::from)?;
    let flags = OFlag::from_bits_truncate(flags) | OFlag::O_NONBLOCK;
    fcntl(stdin.as_fd(), FcntlArg::F_SETFL(flags)).map_err(std::io::Error::from)?;
    Ok(())
}

/// Writes all of `bytes`, waiting for room at most until `limit` has
/// passed.
fn write_within(stdin: &mut ChildStdin, mut bytes: &[u8], limit: Duration) -> Result<(), String> {
    use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
    let deadline = Instant::now() + limit;
    while !bytes.is_empty() {
        match stdin.write(bytes) {
            Ok(0) => return Err("the command closed its input".into()),
            Ok(n) => bytes = &bytes[n..],
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Err(format!(
                        "the command has not read its input for {} s",
                        limit.as_secs()
                    ));
                }
                let ms = u16::try_from(left.as_millis().min(10_000)).unwrap_or(10_000);
                let mut fds = [PollFd::new(stdin.as_fd(), PollFlags::POLLOUT)];
                let _ = poll(&mut fds, PollTimeout::from(ms));
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.to_string()),
        }
    }
    Ok(())
}

/// Waits for `child` until `deadline`, then kills it; what went wrong.
fn reap(mut child: Child, deadline: Instant) -> Option<String> {
    loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => return None,
            Ok(Some(status)) => return Some(format!("the command exited with {status}")),
            Ok(None) if Instant::now() >= deadline => {
                kill(&mut child);
                return Some(
                    "the command was still running when its time was up: killed".to_string(),
                );
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(e) => return Some(e.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shell(script: &str) -> Prepared {
        Prepared::Shell {
            script: script.into(),
            args: vec![],
        }
    }

    #[test]
    fn one_command_per_contact_until_max_messages() {
        let dir = tempfile::tempdir().unwrap();
        let p = shell(&format!(
            "cat >\"$(mktemp {}/run.XXXXXX)\"",
            dir.path().display()
        ));
        let mut d = Deliveries::default();
        for m in ["one", "two", "three"] {
            d.send("me", &p, m, 2);
        }
        let (written, errors) = d.finish();
        assert_eq!((written, errors), (3, Vec::<String>::new()));
        let mut runs: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
            .collect();
        runs.sort();
        assert_eq!(runs, ["one\ntwo\n", "three\n"]);
    }

    #[test]
    fn a_command_that_never_reads_is_bounded() {
        let mut d = Deliveries::default();
        let big = "x".repeat(1 << 20);
        let started = Instant::now();
        let p = shell("exec sleep 1000");
        // A short limit for the test; DEADLINE itself is 30 s.
        let open = d.start(&p).unwrap();
        d.open.insert("me".into(), open);
        let stdin = d.open.get_mut("me").unwrap().stdin.as_mut().unwrap();
        let e = write_within(stdin, big.as_bytes(), Duration::from_millis(300)).unwrap_err();
        assert!(e.contains("has not read"), "{e}");
        assert!(started.elapsed() < Duration::from_secs(5));
        d.close("me");
        let (_, child) = d.closed.pop().unwrap();
        let e = reap(child, Instant::now() + Duration::from_millis(100)).unwrap();
        assert!(e.contains("killed"), "{e}");
    }

    #[test]
    fn failures_are_named() {
        let mut d = Deliveries::default();
        d.send(
            "bad",
            &Prepared::Direct(vec!["/nonexistent/x".into()]),
            "m",
            0,
        );
        d.send("fails", &shell("cat >/dev/null; exit 3"), "m", 0);
        let (_, errors) = d.finish();
        assert!(
            errors[0].starts_with("contact bad: /nonexistent/x: "),
            "{errors:?}"
        );
        assert!(
            errors[1].contains("contact fails: the command exited with exit status: 3"),
            "{errors:?}"
        );
    }
}
