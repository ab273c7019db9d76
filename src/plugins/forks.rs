//! `forks`: processes created since boot, from /proc/stat.

use super::{Autoconf, Context, Plugin, Result, field, lines, missing, procstat, thresholds};

pub struct Forks;

impl Plugin for Forks {
    fn name(&self) -> &'static str {
        "forks"
    }

    fn config(&self, cx: &Context) -> Result<String> {
        let mut out = String::new();
        lines(
            &mut out,
            &[
                ("graph_title", "Fork rate"),
                ("graph_args", "--base 1000 -l 0 "),
                ("graph_vlabel", "forks / ${graph_period}"),
                ("graph_category", "processes"),
                ("graph_info", "New processes started."),
            ],
        );
        field(
            &mut out,
            "forks",
            &[
                ("label", "forks"),
                ("type", "DERIVE"),
                ("min", "0"),
                ("max", "100000"),
                ("info", "Processes started."),
            ],
        );
        thresholds(&mut out, cx, "forks");
        Ok(out)
    }

    fn fetch(&self, cx: &Context) -> Result<String> {
        let s = procstat::parse(&cx.root.read_proc("stat")?);
        let n = s
            .processes
            .ok_or_else(|| missing("'processes' in /proc/stat"))?;
        Ok(format!("forks.value {n}\n"))
    }

    fn autoconf(&self, cx: &Context) -> Autoconf {
        match cx.root.read_proc("stat") {
            Ok(_) => Autoconf::Yes,
            Err(_) => Autoconf::No("/proc/stat not readable".into()),
        }
    }
}
