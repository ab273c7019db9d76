//! `vmstat`: running and blocked processes, from /proc/stat's
//! `procs_running` and `procs_blocked` (what `vmstat` prints as r and b;
//! Munin's plugin runs `vmstat 1 2` and waits a second for it, we do not).
//! The field named `wait` counts running processes, as in Munin.

use super::{Autoconf, Context, Plugin, Result, field, lines, procstat, thresholds_each};

pub struct Vmstat;

impl Plugin for Vmstat {
    fn name(&self) -> &'static str {
        "vmstat"
    }

    fn config(&self, cx: &Context) -> Result<String> {
        let mut out = String::new();
        lines(
            &mut out,
            &[
                ("graph_title", "VMstat"),
                ("graph_args", "--base 1000 -l 0"),
                ("graph_vlabel", "process states"),
                ("graph_category", "processes"),
            ],
        );
        field(
            &mut out,
            "wait",
            &[("label", "running"), ("type", "GAUGE"), ("max", "500000")],
        );
        field(
            &mut out,
            "sleep",
            &[("label", "I/O sleep"), ("type", "GAUGE"), ("max", "500000")],
        );
        // Munin's order: both warnings, then both criticals.
        thresholds_each(&mut out, cx, &["wait", "sleep"]);
        Ok(out)
    }

    fn fetch(&self, cx: &Context) -> Result<String> {
        let s = procstat::parse(&cx.root.read_proc("stat")?);
        let show = |v: Option<u64>| v.map_or("U".to_string(), |n| n.to_string());
        Ok(format!(
            "wait.value {}\nsleep.value {}\n",
            show(s.procs_running),
            show(s.procs_blocked)
        ))
    }

    fn autoconf(&self, cx: &Context) -> Autoconf {
        match cx.root.read_proc("stat").map(|t| procstat::parse(&t)) {
            Ok(s) if s.procs_running.is_some() => Autoconf::Yes,
            _ => Autoconf::No("no procs_running in /proc/stat".into()),
        }
    }
}
