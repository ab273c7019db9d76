//! `interrupts`: interrupts and context switches since boot, from /proc/stat.

use super::{Autoconf, Context, Plugin, Result, field, lines, procstat, thresholds};

pub struct Interrupts;

impl Plugin for Interrupts {
    fn name(&self) -> &'static str {
        "interrupts"
    }

    fn config(&self, cx: &Context) -> Result<String> {
        let mut out = String::new();
        lines(
            &mut out,
            &[
                ("graph_title", "Interrupts and context switches"),
                ("graph_args", "--base 1000 -l 0"),
                (
                    "graph_vlabel",
                    "interrupts & ctx switches / ${graph_period}",
                ),
                ("graph_category", "system"),
                (
                    "graph_info",
                    "Interrupts and context switches per second; both climb with load.",
                ),
            ],
        );
        field(
            &mut out,
            "intr",
            &[("info", "Hardware and software interrupts.")],
        );
        field(
            &mut out,
            "ctx",
            &[("info", "Switches of a CPU from one task to another.")],
        );
        field(&mut out, "intr", &[("label", "interrupts")]);
        field(&mut out, "ctx", &[("label", "context switches")]);
        field(&mut out, "intr", &[("type", "DERIVE")]);
        field(&mut out, "ctx", &[("type", "DERIVE")]);
        field(&mut out, "intr", &[("min", "0")]);
        field(&mut out, "ctx", &[("min", "0")]);
        thresholds(&mut out, cx, "intr");
        thresholds(&mut out, cx, "ctx");
        Ok(out)
    }

    fn fetch(&self, cx: &Context) -> Result<String> {
        let s = procstat::parse(&cx.root.read_proc("stat")?);
        let mut out = String::new();
        if let Some(v) = s.intr {
            out.push_str(&format!("intr.value {v}\n"));
        }
        if let Some(v) = s.ctxt {
            out.push_str(&format!("ctx.value {v}\n"));
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
