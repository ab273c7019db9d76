//! `uptime`: days since boot, from /proc/uptime.

use super::{Autoconf, Context, Plugin, Result, field, lines, missing, thresholds};

pub struct Uptime;

/// Seconds since boot.
pub fn parse(uptime: &str) -> Option<f64> {
    uptime.split_whitespace().next()?.parse().ok()
}

impl Plugin for Uptime {
    fn name(&self) -> &'static str {
        "uptime"
    }

    fn config(&self, cx: &Context) -> Result<String> {
        let mut out = String::new();
        lines(
            &mut out,
            &[
                ("graph_title", "Uptime"),
                ("graph_args", "--base 1000 -l 0 "),
                ("graph_scale", "no"),
                ("graph_vlabel", "uptime in days"),
                ("graph_category", "system"),
            ],
        );
        field(&mut out, "uptime", &[("label", "uptime"), ("draw", "AREA")]);
        thresholds(&mut out, cx, "uptime");
        Ok(out)
    }

    fn fetch(&self, cx: &Context) -> Result<String> {
        let secs = parse(&cx.root.read_proc("uptime")?)
            .ok_or_else(|| missing("seconds in /proc/uptime"))?;
        Ok(format!("uptime.value {:.2}\n", secs / 86400.0))
    }

    fn autoconf(&self, cx: &Context) -> Autoconf {
        match cx.root.read_proc("uptime") {
            Ok(_) => Autoconf::Yes,
            Err(_) => Autoconf::No("/proc/uptime is not readable".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn parse_uptime() {
        assert_eq!(super::parse("6123.45 11000.12\n"), Some(6123.45));
        assert_eq!(super::parse(""), None);
    }
}
