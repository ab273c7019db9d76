//! `entropy`: bytes in the kernel's random pool.

use super::{Autoconf, Context, Plugin, Result, field, lines, missing, thresholds};

pub struct Entropy;

const FILE: &str = "sys/kernel/random/entropy_avail";

impl Plugin for Entropy {
    fn name(&self) -> &'static str {
        "entropy"
    }

    fn config(&self, cx: &Context) -> Result<String> {
        let mut out = String::new();
        lines(
            &mut out,
            &[
                ("graph_title", "Available entropy"),
                ("graph_args", "--base 1000 -l 0"),
                ("graph_vlabel", "entropy (bytes)"),
                ("graph_scale", "no"),
                ("graph_category", "system"),
                (
                    "graph_info",
                    "How much randomness the kernel has gathered for /dev/random.",
                ),
            ],
        );
        field(
            &mut out,
            "entropy",
            &[
                ("label", "entropy"),
                ("info", "Bytes of entropy available."),
            ],
        );
        thresholds(&mut out, cx, "entropy");
        Ok(out)
    }

    fn fetch(&self, cx: &Context) -> Result<String> {
        let text = cx.root.read_proc(FILE)?;
        let v = text
            .split_whitespace()
            .next()
            .ok_or_else(|| missing("value in /proc/sys/kernel/random/entropy_avail"))?;
        Ok(format!("entropy.value {}\n", super::number(v)))
    }

    fn autoconf(&self, cx: &Context) -> Autoconf {
        match cx.root.read_proc(FILE) {
            Ok(_) => Autoconf::Yes,
            Err(_) => Autoconf::No(format!("/proc/{FILE} is not readable")),
        }
    }
}
