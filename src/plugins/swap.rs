//! `swap`: pages swapped in and out, from /proc/vmstat (Linux 2.6+) or the
//! `swap` line of /proc/stat (2.4).

use super::{Autoconf, Context, Plugin, Result, field, lines, procstat, thresholds};

pub struct Swap;

/// `(pswpin, pswpout)` from /proc/vmstat.
pub fn parse_vmstat(text: &str) -> (Option<u64>, Option<u64>) {
    let get = |key: &str| {
        text.lines().find_map(|l| {
            let mut f = l.split_whitespace();
            (f.next() == Some(key))
                .then(|| f.next()?.parse().ok())
                .flatten()
        })
    };
    (get("pswpin"), get("pswpout"))
}

impl Plugin for Swap {
    fn name(&self) -> &'static str {
        "swap"
    }

    fn config(&self, cx: &Context) -> Result<String> {
        let mut out = String::new();
        lines(
            &mut out,
            &[
                ("graph_title", "Swap in/out"),
                ("graph_args", "-l 0 --base 1000"),
                ("graph_vlabel", "pages per ${graph_period} in (-) / out (+)"),
                ("graph_category", "system"),
            ],
        );
        field(
            &mut out,
            "swap_in",
            &[
                ("label", "swap"),
                ("type", "DERIVE"),
                ("max", "100000"),
                ("min", "0"),
                ("graph", "no"),
            ],
        );
        thresholds(&mut out, cx, "swap_in");
        field(
            &mut out,
            "swap_out",
            &[
                ("label", "swap"),
                ("type", "DERIVE"),
                ("max", "100000"),
                ("min", "0"),
                ("negative", "swap_in"),
            ],
        );
        thresholds(&mut out, cx, "swap_out");
        Ok(out)
    }

    fn fetch(&self, cx: &Context) -> Result<String> {
        let mut out = String::new();
        match cx.root.read_proc("vmstat") {
            Ok(text) => {
                let (inn, outt) = parse_vmstat(&text);
                if let Some(v) = inn {
                    out.push_str(&format!("swap_in.value {v}\n"));
                }
                if let Some(v) = outt {
                    out.push_str(&format!("swap_out.value {v}\n"));
                }
            }
            Err(_) => {
                if let Some((i, o)) = procstat::parse(&cx.root.read_proc("stat")?).swap {
                    out.push_str(&format!("swap_in.value {i}\nswap_out.value {o}\n"));
                }
            }
        }
        Ok(out)
    }

    fn autoconf(&self, cx: &Context) -> Autoconf {
        if cx.root.read_proc("vmstat").is_ok() || cx.root.read_proc("stat").is_ok() {
            Autoconf::Yes
        } else {
            Autoconf::No("neither /proc/vmstat nor /proc/stat is readable".into())
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn vmstat_keys() {
        assert_eq!(
            super::parse_vmstat("pgpgin 5\npswpin 7\npswpout 9\n"),
            (Some(7), Some(9))
        );
        assert_eq!(super::parse_vmstat("pgpgin 5\n"), (None, None));
    }
}
