//! Asking plugins: `autoconf` (should it be enabled?) and, for a wildcard
//! plugin that said yes, `suggest` (which instances?). Plugins run as the
//! node would run them (user, environment, timeout from plugin-conf.d),
//! several at once; their answers are judged by Munin's rules and every
//! problem is recorded against the plugin.

use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::plugin::Plugin;
use super::trace::Trace;
use crate::config::plugin_conf::PluginConf;
use crate::runner::exec::{Outcome, RunRequest, Runner};
use crate::settings::Settings;

/// Plugins asked at once: they mostly wait (on a port, a command), but a
/// library has hundreds and each is a process.
const AT_ONCE: usize = 16;

/// Runs autoconf and suggest for every plugin of `plugins`, a few at a
/// time (as the node's discovery runs `config`); the plugins come back in
/// the same order with their answers.
pub async fn ask_all(
    plugins: Vec<Plugin>,
    settings: Arc<Settings>,
    conf: Arc<PluginConf>,
    runner: Arc<Runner>,
    trace: Trace,
) -> Vec<Plugin> {
    let gate = Arc::new(Semaphore::new(AT_ONCE));
    let mut tasks = JoinSet::new();
    let count = plugins.len();
    for (i, mut plugin) in plugins.into_iter().enumerate() {
        let (settings, conf, runner, gate) = (
            Arc::clone(&settings),
            Arc::clone(&conf),
            Arc::clone(&runner),
            Arc::clone(&gate),
        );
        tasks.spawn(async move {
            // The semaphore is never closed, so acquiring cannot fail.
            let _permit = gate.acquire_owned().await.expect("semaphore open");
            ask(&mut plugin, &settings, &conf, &runner, trace).await;
            (i, plugin)
        });
    }
    let mut answered: Vec<Option<Plugin>> = (0..count).map(|_| None).collect();
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok((i, plugin)) => answered[i] = Some(plugin),
            // Only a bug of ours panics here: say so rather than print a
            // table with a row missing.
            Err(e) => std::panic::resume_unwind(e.into_panic()),
        }
    }
    answered.into_iter().flatten().collect()
}

async fn ask(
    plugin: &mut Plugin,
    settings: &Settings,
    conf: &PluginConf,
    runner: &Runner,
    trace: Trace,
) {
    if !plugin.can("autoconf") {
        return;
    }
    // Munin stops at an empty answer: "Nothing printed" is the only error.
    let Some(lines) = run(plugin, "autoconf", settings, conf, runner, trace)
        .await
        .filter(|l| !l.is_empty())
    else {
        return;
    };
    parse_autoconf(plugin, &lines);
    if !plugin.default_yes || !plugin.can("suggest") {
        return;
    }
    if let Some(lines) = run(plugin, "suggest", settings, conf, runner, trace).await {
        parse_suggest(plugin, &lines);
    }
}

/// Runs the plugin with `mode`; its stdout lines without `#` lines, or
/// `None` after recording why the answer cannot be used.
async fn run(
    plugin: &mut Plugin,
    mode: &str,
    settings: &Settings,
    conf: &PluginConf,
    runner: &Runner,
    trace: Trace,
) -> Option<Vec<String>> {
    trace.say(format_args!("Running '{mode}' on {}", plugin.name));
    // Plugins run with cwd "/": a relative library must be made absolute.
    let path = std::path::absolute(&plugin.path).unwrap_or_else(|_| PathBuf::from(&plugin.path));
    let spec = settings.spec_at(path, &plugin.name, conf);
    let req = RunRequest {
        arg: Some(mode),
        master_ip: "",
        dirtyconfig: false,
        timeout: spec.timeout,
    };
    let report = runner.run(&spec, &req).await;
    let stdout = match report.outcome {
        Outcome::Success(out) => out,
        Outcome::TimedOut => {
            plugin.errors.push(format!("Timed out during {mode}"));
            return None;
        }
        Outcome::Failed { status, .. } => {
            plugin.errors.push(match (status.signal(), status.code()) {
                (Some(sig), _) => format!("Died with signal {sig} during {mode}"),
                (None, code) => format!("Non-zero exit during {mode} ({})", code.unwrap_or(-1)),
            });
            return None;
        }
        Outcome::OutputTooLarge => {
            plugin
                .errors
                .push(format!("Printed more than max_plugin_output during {mode}"));
            return None;
        }
        Outcome::Error(why) => {
            plugin.errors.push(format!("Could not run {mode}: {why}"));
            return None;
        }
    };
    let junk: Vec<String> = split_lines(&report.stderr)
        .into_iter()
        .filter(|l| !l.starts_with('#'))
        .collect();
    if !junk.is_empty() {
        plugin.errors.push("Junk printed to stderr".into());
        trace.say(format_args!("Junk printed to stderr: {}", junk.join(" ")));
        return None;
    }
    let lines: Vec<String> = split_lines(&stdout)
        .into_iter()
        .filter(|l| !l.starts_with('#'))
        .collect();
    if lines.is_empty() && mode != "suggest" {
        plugin.errors.push("Nothing printed to stdout".into());
    }
    Some(lines)
}

/// Munin's split of plugin output: on runs of CR and LF, without trailing
/// empty pieces (a leading one stays, as Perl's `split` keeps it).
pub fn split_lines(bytes: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(bytes);
    let mut pieces: Vec<String> = Vec::new();
    let mut current = String::new();
    let mut in_sep = false;
    for c in text.chars() {
        if c == '\r' || c == '\n' {
            if !in_sep {
                pieces.push(std::mem::take(&mut current));
                in_sep = true;
            }
        } else {
            in_sep = false;
            current.push(c);
        }
    }
    pieces.push(current);
    while pieces.last().is_some_and(String::is_empty) {
        pieces.pop();
    }
    pieces
}

/// One line: `yes`, or `no` with an optional `(reason)`.
pub fn parse_autoconf(plugin: &mut Plugin, lines: &[String]) {
    if lines.len() != 1 {
        plugin.errors.push(format!(
            "Wrong amount of autoconf: expected 1 line, got {} lines:",
            lines.len()
        ));
        plugin
            .errors
            .push(format!("[start]{}[end]", lines.join("[newline]")));
        return;
    }
    let line = &lines[0];
    if line == "yes" {
        plugin.default_yes = true;
        plugin.reason = None;
        return;
    }
    if let Some(rest) = line.strip_prefix("no") {
        let rest = rest.trim_end();
        if rest.is_empty() {
            plugin.default_yes = false;
            plugin.reason = None;
            return;
        }
        let reason = rest
            .strip_prefix(|c: char| c.is_whitespace())
            .map(str::trim_start)
            .and_then(|r| r.strip_prefix('('))
            .and_then(|r| r.strip_suffix(')'));
        if let Some(reason) = reason {
            plugin.default_yes = false;
            plugin.reason = Some(reason.to_string());
            return;
        }
    }
    plugin
        .errors
        .push(format!("Junk printed to stdout: '{line}'"));
}

/// One instance per line, of `[-\w.:]`.
pub fn parse_suggest(plugin: &mut Plugin, lines: &[String]) {
    for line in lines {
        let good = !line.is_empty()
            && line
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':'));
        if good {
            plugin.suggestions.push(line.clone());
        } else {
            plugin.errors.push(format!("\tBad suggestion: '{line}'"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plugin() -> Plugin {
        Plugin::new("x_", PathBuf::from("/lib/x_"))
    }

    #[test]
    fn lines_split_as_perl_splits_them() {
        assert_eq!(split_lines(b"yes\n"), ["yes"]);
        assert_eq!(split_lines(b"\nyes\r\n\n"), ["", "yes"]);
        assert!(split_lines(b"").is_empty());
        assert!(split_lines(b"\n\n").is_empty());
    }

    #[test]
    fn autoconf_answers() {
        let mut p = plugin();
        parse_autoconf(&mut p, &["no (port 80: refused)".into()]);
        assert!(!p.default_yes);
        assert_eq!(p.reason.as_deref(), Some("port 80: refused"));
        let mut p = plugin();
        parse_autoconf(&mut p, &["no  ".into()]);
        assert!(p.errors.is_empty() && p.reason.is_none());
        let mut p = plugin();
        parse_autoconf(&mut p, &["yes".into()]);
        assert!(p.default_yes);
        for junk in ["yes ", "maybe", "no(x)", "no (x"] {
            let mut p = plugin();
            parse_autoconf(&mut p, &[junk.into()]);
            assert_eq!(p.errors, [format!("Junk printed to stdout: '{junk}'")]);
        }
        let mut p = plugin();
        parse_autoconf(&mut p, &["yes".into(), "no".into()]);
        assert_eq!(p.errors[1], "[start]yes[newline]no[end]");
    }

    #[test]
    fn suggestions_are_words() {
        let mut p = plugin();
        parse_suggest(&mut p, &["eth0".into(), "br-lan.1:2".into(), "a b".into()]);
        assert_eq!(p.suggestions, ["eth0", "br-lan.1:2"]);
        assert_eq!(p.errors, ["\tBad suggestion: 'a b'"]);
    }
}
