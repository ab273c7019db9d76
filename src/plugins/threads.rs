//! `threads`: threads of all processes. Munin's plugin sums the `Threads:`
//! line of every `/proc/<pid>/status`; we read the same count from
//! `/proc/<pid>/stat` (field 20, cheaper for the kernel to write), or, where
//! /proc shows every task of the kernel, take the kernel's own total from
//! /proc/loadavg without reading a file per process. Like Munin's plugin it
//! takes no thresholds.

use super::{Autoconf, Context, Plugin, Result, field, lines};

pub struct Threads;

/// The `Threads:` count of one status file.
pub fn parse_threads(status: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix("Threads:")?.trim().parse().ok())
}

/// The thread count (field 20) of one `/proc/<pid>/stat` line.
pub fn parse_stat_threads(stat: &str) -> Option<u64> {
    stat[stat.rfind(')')? + 1..]
        .split_whitespace()
        .nth(17)?
        .parse()
        .ok()
}

/// The kernel's task count: the number after `/` in /proc/loadavg.
pub fn parse_loadavg_tasks(loadavg: &str) -> Option<u64> {
    loadavg
        .split_whitespace()
        .nth(3)?
        .split_once('/')?
        .1
        .parse()
        .ok()
}

fn count(cx: &Context) -> Option<u64> {
    if cx.root.sees_all_tasks()
        && let Some(n) = cx
            .root
            .read_proc("loadavg")
            .ok()
            .as_deref()
            .and_then(parse_loadavg_tasks)
    {
        return Some(n);
    }
    let mut total = 0;
    let mut seen = false;
    cx.root.each_process("stat", |_, stat| {
        if let Some(n) = parse_stat_threads(stat) {
            total += n;
            seen = true;
        }
    });
    seen.then_some(total)
}

impl Plugin for Threads {
    fn name(&self) -> &'static str {
        "threads"
    }

    fn config(&self, _cx: &Context) -> Result<String> {
        let mut out = String::new();
        lines(
            &mut out,
            &[
                ("graph_title", "Number of threads"),
                ("graph_vlabel", "number of threads"),
                ("graph_category", "processes"),
                ("graph_info", "Threads of all processes."),
            ],
        );
        field(
            &mut out,
            "threads",
            &[("label", "threads"), ("info", "Threads running now.")],
        );
        Ok(out)
    }

    fn fetch(&self, cx: &Context) -> Result<String> {
        Ok(match count(cx) {
            Some(n) => format!("threads.value {n}\n"),
            None => "threads.value U\n".into(),
        })
    }

    fn autoconf(&self, cx: &Context) -> Autoconf {
        if count(cx).is_some() {
            Autoconf::Yes
        } else {
            Autoconf::No("no thread counts in /proc".into())
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn thread_counts() {
        let stat = "1 (a b) c) S 0 1 1 0 -1 4194560 1 2 3 4 5 6 7 8 20 0 7 0 9 10";
        assert_eq!(super::parse_stat_threads(stat), Some(7));
        assert_eq!(super::parse_stat_threads("1 (x) S 0"), None);
        assert_eq!(
            super::parse_loadavg_tasks("0.82 0.50 0.48 1/79 4579\n"),
            Some(79)
        );
        assert_eq!(super::parse_loadavg_tasks("0.82 0.50\n"), None);
    }

    #[test]
    fn every_way_counts_the_same_here() {
        let root = crate::proc::ProcRoot::system();
        let mut by_stat = 0;
        root.each_process("stat", |_, s| {
            by_stat += super::parse_stat_threads(s).unwrap_or(0)
        });
        let mut by_status = 0;
        root.each_process("status", |_, s| {
            by_status += s
                .lines()
                .find_map(|l| l.strip_prefix("Threads:")?.trim().parse::<u64>().ok())
                .unwrap_or(0)
        });
        // Other tests start and stop threads meanwhile.
        assert!(by_stat.abs_diff(by_status) < 50, "{by_stat} {by_status}");
        if root.sees_all_tasks() {
            let text = root.read_proc("loadavg").unwrap();
            let tasks = super::parse_loadavg_tasks(&text).unwrap();
            assert!(tasks.abs_diff(by_stat) < 50, "{tasks} {by_stat}");
        }
    }
}
