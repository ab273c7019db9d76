//! `if_`: traffic of one interface (`if_eth0`), in bits per second.
//!
//! As Munin's plugin: the counters are bytes, DERIVE, and a `cdef` shows
//! them as bits; `max` is the link speed times 10^6 (from `env.speed` in
//! Mb/s, else `/sys/class/net/<if>/speed`), which, being compared with bytes,
//! is eight times looser than it looks. We keep that so existing RRD files
//! keep their limits. Unlike Munin's plugin we run no ethtool or mii-tool.

use super::{Autoconf, Context, Plugin, Result, field, lines, netdev, thresholds_each};

pub struct If;

/// The link speed in Mb/s: `env.speed`, else sysfs when above zero.
pub fn speed(cx: &Context) -> Option<u64> {
    if let Some(s) = cx.env.get("speed").filter(|s| !s.is_empty()) {
        return s.trim().parse().ok();
    }
    let s: i64 = cx
        .root
        .read_sys(&format!("class/net/{}/speed", cx.arg))
        .ok()?
        .trim()
        .parse()
        .ok()?;
    (s > 0).then_some(s as u64)
}

pub fn autoconf(cx: &Context) -> Autoconf {
    match cx.root.read_proc("net/dev") {
        Ok(_) => Autoconf::Yes,
        Err(_) => Autoconf::No("/proc/net/dev not found".into()),
    }
}

impl Plugin for If {
    fn name(&self) -> &'static str {
        "if_"
    }

    fn config(&self, cx: &Context) -> Result<String> {
        let iface = cx.arg;
        let mut out = String::new();
        lines(
            &mut out,
            &[
                ("graph_order", "down up"),
                ("graph_title", &format!("{iface} traffic")),
                ("graph_args", "--base 1000"),
                ("graph_vlabel", "bits in (-) / out (+) per ${graph_period}"),
                ("graph_category", "network"),
                (
                    "graph_info",
                    &format!("Traffic of interface {iface}, in bits per second."),
                ),
            ],
        );
        field(
            &mut out,
            "down",
            &[
                ("label", "received"),
                ("type", "DERIVE"),
                ("graph", "no"),
                ("cdef", "down,8,*"),
                ("min", "0"),
            ],
        );
        field(
            &mut out,
            "up",
            &[
                ("label", "bps"),
                ("type", "DERIVE"),
                ("negative", "down"),
                ("cdef", "up,8,*"),
                ("min", "0"),
            ],
        );
        thresholds_each(&mut out, cx, &["down", "up"]);
        match speed(cx) {
            Some(mbit) => {
                let max = (mbit * 1_000_000).to_string();
                field(
                    &mut out,
                    "up",
                    &[
                        ("max", &max),
                        (
                            "info",
                            &format!("Traffic of {iface}; the link runs at {mbit} Mb/s."),
                        ),
                    ],
                );
                field(&mut out, "down", &[("max", &max)]);
            }
            None => field(
                &mut out,
                "up",
                &[(
                    "info",
                    &format!("Traffic of {iface}; its speed is unknown (set env.speed in Mb/s)."),
                )],
            ),
        }
        Ok(out)
    }

    fn fetch(&self, cx: &Context) -> Result<String> {
        // sysfs names, and their /proc/net/dev columns.
        let Some(v) = netdev::counters(cx.root, cx.arg, &[("rx_bytes", 0), ("tx_bytes", 8)]) else {
            return Ok(String::new());
        };
        Ok(format!(
            "down.value {}\nup.value {}\n",
            super::number(&v[0]),
            super::number(&v[1])
        ))
    }

    fn autoconf(&self, cx: &Context) -> Autoconf {
        autoconf(cx)
    }

    fn suggest(&self, cx: &Context) -> Vec<String> {
        netdev::suggest(cx.root)
    }
}
