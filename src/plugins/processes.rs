//! `processes`: processes by state, from the third field of each
//! `/proc/<pid>/stat` (what `ps -eo s` shows; Munin's plugin runs ps).
//! Counted in-process, the plugin's own helpers (sh, ps, awk) no longer
//! appear in the numbers.

use super::{Autoconf, Context, Plugin, Result, field, lines, thresholds};

pub struct Processes;

/// The state letter of one `/proc/<pid>/stat` line (after the last `)`,
/// since the command name may hold spaces and parentheses).
pub fn parse_state(stat: &str) -> Option<char> {
    stat[stat.rfind(')')? + 1..]
        .split_whitespace()
        .next()?
        .chars()
        .next()
}

/// Fields in fetch order and the state each counts (`None`: every process).
const FETCH: &[(&str, Option<char>)] = &[
    ("processes", None),
    ("uninterruptible", Some('D')),
    ("runnable", Some('R')),
    ("sleeping", Some('S')),
    ("idle", Some('I')),
    ("stopped", Some('T')),
    ("paging", Some('W')),
    ("dead", Some('X')),
    ("zombie", Some('Z')),
];

impl Plugin for Processes {
    fn name(&self) -> &'static str {
        "processes"
    }

    fn config(&self, cx: &Context) -> Result<String> {
        let mut out = String::new();
        lines(
            &mut out,
            &[
                ("graph_title", "Processes"),
                ("graph_info", "Processes by state."),
                ("graph_category", "processes"),
                ("graph_args", "--base 1000 -l 0"),
                ("graph_vlabel", "Number of processes"),
                (
                    "graph_order",
                    "sleeping idle stopped zombie dead paging uninterruptible runnable processes",
                ),
            ],
        );
        let fields: &[(&str, &str, &str, &str, &str)] = &[
            ("dead", "dead", "STACK", "ff0000", "Dead processes."),
            (
                "paging",
                "paging",
                "STACK",
                "00aaaa",
                "Paging processes (kernels before 2.6).",
            ),
            (
                "idle",
                "idle",
                "STACK",
                "4169e1",
                "Idle kernel threads (kernel 4.2 and later).",
            ),
            (
                "sleeping",
                "sleeping",
                "AREA",
                "0022ff",
                "Sleeping processes.",
            ),
            (
                "uninterruptible",
                "uninterruptible",
                "STACK",
                "ffa500",
                "Processes in uninterruptible sleep, usually I/O.",
            ),
            (
                "stopped",
                "stopped",
                "STACK",
                "cc0000",
                "Stopped or traced processes.",
            ),
            (
                "runnable",
                "runnable",
                "STACK",
                "22ff22",
                "Processes on the run queue.",
            ),
            (
                "zombie",
                "zombie",
                "STACK",
                "990000",
                "Exited processes their parent has not waited for.",
            ),
            ("processes", "total", "LINE1", "c0c0c0", "All processes."),
        ];
        for (f, label, draw, colour, info) in fields {
            field(
                &mut out,
                f,
                &[
                    ("label", label),
                    ("draw", draw),
                    ("colour", colour),
                    ("info", info),
                ],
            );
            thresholds(&mut out, cx, f);
        }
        Ok(out)
    }

    fn fetch(&self, cx: &Context) -> Result<String> {
        let mut counts = [0u64; 9];
        cx.root.each_process("stat", |_, stat| {
            let Some(state) = parse_state(stat) else {
                return;
            };
            counts[0] += 1;
            for (i, (_, s)) in FETCH.iter().enumerate().skip(1) {
                if *s == Some(state) {
                    counts[i] += 1;
                }
            }
        });
        Ok(FETCH
            .iter()
            .zip(counts)
            .map(|((f, _), n)| format!("{f}.value {n}\n"))
            .collect())
    }

    fn autoconf(&self, cx: &Context) -> Autoconf {
        if cx.root.pids().is_empty() {
            Autoconf::No("no processes in /proc".into())
        } else {
            Autoconf::Yes
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn state_after_the_command_name() {
        assert_eq!(super::parse_state("1 (systemd) S 0 1 1 0"), Some('S'));
        assert_eq!(super::parse_state("42 (a) b (c)) Z 1 2"), Some('Z'));
        assert_eq!(super::parse_state("garbage"), None);
    }
}
