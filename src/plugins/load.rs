//! `load`: the 5-minute load average, from /proc/loadavg.

use super::{Context, Plugin, Result, field, lines, missing, thresholds};

pub struct Load;

/// The 5-minute average, as the kernel wrote it.
pub fn parse(loadavg: &str) -> Option<&str> {
    loadavg.split_whitespace().nth(1)
}

impl Plugin for Load {
    fn name(&self) -> &'static str {
        "load"
    }

    fn config(&self, cx: &Context) -> Result<String> {
        let mut out = String::new();
        lines(
            &mut out,
            &[
                ("graph_title", "Load average"),
                ("graph_args", "--base 1000 -l 0"),
                ("graph_vlabel", "load"),
                ("graph_scale", "no"),
                ("graph_category", "system"),
            ],
        );
        field(&mut out, "load", &[("label", "load")]);
        thresholds(&mut out, cx, "load");
        lines(
            &mut out,
            &[(
                "graph_info",
                "Runnable and uninterruptible tasks, averaged by the kernel.",
            )],
        );
        field(&mut out, "load", &[("info", "5 minute load average")]);
        Ok(out)
    }

    fn fetch(&self, cx: &Context) -> Result<String> {
        let text = cx.root.read_proc("loadavg")?;
        let v = parse(&text).ok_or_else(|| missing("5-minute average in /proc/loadavg"))?;
        Ok(format!("load.value {v}\n"))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn parse_loadavg() {
        assert_eq!(super::parse("0.00 0.97 1.20 2/318 4312\n"), Some("0.97"));
        assert_eq!(super::parse("0.00\n"), None);
    }
}
