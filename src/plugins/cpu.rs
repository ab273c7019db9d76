//! `cpu`: where CPU time goes, from the `cpu` line of /proc/stat.
//!
//! As Munin's plugin: the fields follow the kernel's columns (iowait, irq
//! and softirq from Linux 2.6, steal from 2.6.11, guest from 2.6.24; the
//! later guest_nice column is not graphed), `graph_order` lists the first
//! seven only, and the graph's upper limit is 100 % per CPU (or 100 with
//! `env.scaleto100 yes`, which adds a `cdef` dividing by the CPU count).
//! Values are converted from `env.HZ` ticks (default 100) to hundredths of
//! a second. `env.ignore_fields` hides fields; thresholds may be given in
//! percent of the graph's limit (`env.user_warning 80%`).

use super::{Autoconf, Context, Plugin, Result, field, lines, missing, procstat};

pub struct Cpu;

const BASE: [&str; 4] = ["system", "user", "nice", "idle"];
const EXT: [&str; 3] = ["iowait", "irq", "softirq"];
/// Fetch order: the kernel's column order.
const COLUMNS: [&str; 9] = [
    "user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal", "guest",
];

/// How many of the known columns the kernel reports: 4, 7, 8 or 9.
fn known_columns(cpu: &[u64]) -> usize {
    match cpu.len() {
        n if n >= 9 => 9,
        8 => 8,
        n if n >= 7 => 7,
        _ => 4,
    }
}

/// A number as awk prints it: integers plainly, others with six digits.
pub fn awk_number(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e16 {
        format!("{x:.0}")
    } else {
        crate::numfmt::format_g(x, 6)
    }
}

/// A threshold with `N%` parts scaled to `limit` (`80%` of 200 is `160`).
pub fn adjust_threshold(value: &str, limit: f64) -> String {
    value
        .split(':')
        .map(
            |part| match part.strip_suffix('%').and_then(|p| p.parse::<f64>().ok()) {
                Some(pct) => awk_number(limit * pct / 100.0),
                None => part.to_string(),
            },
        )
        .collect::<Vec<_>>()
        .join(":")
}

impl Cpu {
    fn describe(out: &mut String, name: &str, info: &str, draw: &str) {
        field(
            out,
            name,
            &[
                ("label", name),
                ("draw", draw),
                ("min", "0"),
                ("type", "DERIVE"),
                ("info", info),
            ],
        );
    }

    fn extras(out: &mut String, cx: &Context, name: &str, limit: f64, ignore: &[&str]) {
        let mut adjusted = |level: &str| {
            if let Some(v) = super::threshold(cx, name, level) {
                field(out, name, &[(level, &adjust_threshold(v, limit))]);
            }
        };
        adjusted("warning");
        adjusted("critical");
        if ignore.contains(&name) {
            field(out, name, &[("graph", "no")]);
        }
    }
}

impl Plugin for Cpu {
    fn name(&self) -> &'static str {
        "cpu"
    }

    fn config(&self, cx: &Context) -> Result<String> {
        let stat = procstat::parse(&cx.root.read_proc("stat")?);
        if stat.cpu.len() < 4 {
            return Err(missing("a 'cpu' line in /proc/stat"));
        }
        let columns = known_columns(&stat.cpu);
        let scale = cx.env.get("scaleto100") == Some("yes");
        let limit = if scale { 100 } else { stat.cpus * 100 };
        let ignore: Vec<&str> = cx
            .env
            .get("ignore_fields")
            .unwrap_or("")
            .split_whitespace()
            .collect();
        let cdef = |out: &mut String, name: &str| {
            if scale {
                field(out, name, &[("cdef", &format!("{name},{},/", stat.cpus))]);
            }
        };
        let mut out = String::new();
        let ext = if columns >= 7 {
            EXT.join(" ")
        } else {
            String::new()
        };
        lines(
            &mut out,
            &[
                ("graph_title", "CPU usage"),
                ("graph_order", &format!("system user nice idle {ext}")),
                (
                    "graph_args",
                    &format!("--base 1000 -r --lower-limit 0 --upper-limit {limit}"),
                ),
                ("graph_vlabel", "%"),
                ("graph_scale", "no"),
                (
                    "graph_info",
                    "How the CPUs spend their time, in percent of one CPU.",
                ),
                ("graph_category", "system"),
                ("graph_period", "second"),
            ],
        );
        let infos = [
            ("system", "Kernel code."),
            ("user", "Programs and daemons."),
            ("nice", "Programs with a raised nice value."),
            ("idle", "Nothing to do."),
        ];
        for (i, (name, info)) in infos.iter().enumerate() {
            Cpu::describe(&mut out, name, info, if i == 0 { "AREA" } else { "STACK" });
        }
        for name in BASE {
            Cpu::extras(&mut out, cx, name, limit as f64, &ignore);
        }
        for name in BASE {
            cdef(&mut out, name);
        }
        if columns >= 7 {
            Cpu::describe(
                &mut out,
                "iowait",
                "Idle while I/O the CPU waits for is pending.",
                "STACK",
            );
            Cpu::describe(&mut out, "irq", "Hardware interrupts.", "STACK");
            Cpu::describe(&mut out, "softirq", "Deferred interrupt work.", "STACK");
            for name in EXT {
                cdef(&mut out, name);
            }
            for name in EXT {
                Cpu::extras(&mut out, cx, name, limit as f64, &ignore);
            }
        }
        if columns >= 8 {
            Cpu::describe(
                &mut out,
                "steal",
                "Time the hypervisor gave to others while this CPU wanted to run.",
                "STACK",
            );
            if ignore.contains(&"steal") {
                field(&mut out, "steal", &[("graph", "no")]);
            }
            cdef(&mut out, "steal");
            let without_hide: Vec<&str> = Vec::new();
            Cpu::extras(&mut out, cx, "steal", limit as f64, &without_hide);
        }
        if columns >= 9 {
            Cpu::describe(
                &mut out,
                "guest",
                "Running virtual CPUs of guests.",
                "STACK",
            );
            if ignore.contains(&"guest") {
                field(&mut out, "guest", &[("graph", "no")]);
            }
            cdef(&mut out, "guest");
            let without_hide: Vec<&str> = Vec::new();
            Cpu::extras(&mut out, cx, "guest", limit as f64, &without_hide);
        }
        Ok(out)
    }

    fn fetch(&self, cx: &Context) -> Result<String> {
        let stat = procstat::parse(&cx.root.read_proc("stat")?);
        if stat.cpu.len() < 4 {
            return Err(missing("a 'cpu' line in /proc/stat"));
        }
        let hz: f64 = cx
            .env
            .get("HZ")
            .and_then(|h| h.parse().ok())
            .filter(|h| *h > 0.0)
            .unwrap_or(100.0);
        let mut out = String::new();
        for (name, ticks) in COLUMNS.iter().zip(&stat.cpu).take(known_columns(&stat.cpu)) {
            // awk's %.0f: rounds half to even, like Rust's formatting.
            out.push_str(&format!("{name}.value {:.0}\n", *ticks as f64 * 100.0 / hz));
        }
        Ok(out)
    }

    fn autoconf(&self, cx: &Context) -> Autoconf {
        match cx.root.read_proc("stat") {
            Ok(_) => Autoconf::Yes,
            Err(_) => Autoconf::No("/proc/stat not readable".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_in_percent() {
        assert_eq!(adjust_threshold("80%", 200.0), "160");
        assert_eq!(adjust_threshold("10%:90%", 100.0), "10:90");
        assert_eq!(adjust_threshold("33%", 100.0), "33");
        assert_eq!(adjust_threshold("12.5%", 100.0), "12.5");
        assert_eq!(adjust_threshold("150", 400.0), "150");
    }

    #[test]
    fn columns_by_kernel() {
        assert_eq!(known_columns(&[1, 2, 3, 4]), 4);
        assert_eq!(known_columns(&[1, 2, 3, 4, 5, 6, 7]), 7);
        assert_eq!(known_columns(&[1; 8]), 8);
        assert_eq!(known_columns(&[1; 10]), 9, "guest_nice is not graphed");
    }
}
