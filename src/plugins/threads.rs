//! `threads`: threads of all processes, summed from the `Threads:` line of
//! each /proc/<pid>/status. Like Munin's plugin it takes no thresholds.

use super::{Autoconf, Context, Plugin, Result, field, lines};

pub struct Threads;

/// The `Threads:` count of one status file.
pub fn parse_threads(status: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix("Threads:")?.trim().parse().ok())
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
        let total: u64 = cx
            .root
            .pids()
            .into_iter()
            .filter_map(|pid| cx.root.read_proc(&format!("{pid}/status")).ok())
            .filter_map(|s| parse_threads(&s))
            .sum();
        Ok(format!("threads.value {total}\n"))
    }

    fn autoconf(&self, cx: &Context) -> Autoconf {
        let ok = cx
            .root
            .pids()
            .first()
            .and_then(|pid| cx.root.read_proc(&format!("{pid}/status")).ok())
            .is_some_and(|s| parse_threads(&s).is_some());
        if ok {
            Autoconf::Yes
        } else {
            Autoconf::No("/proc/<pid>/status has no Threads line".into())
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn threads_line() {
        assert_eq!(super::parse_threads("Name:\tbash\nThreads:\t4\n"), Some(4));
        assert_eq!(super::parse_threads("Name:\tbash\n"), None);
    }
}
