//! `if_err_`: errors, drops and collisions of one interface (`if_err_eth0`).
//! As Munin's plugin: COUNTER fields, and `warning 1` on errors written
//! always, with any `env.warning` added after it (Munin takes the last).

use super::{Autoconf, Context, Plugin, Result, field, lines, netdev, thresholds};

pub struct IfErr;

impl Plugin for IfErr {
    fn name(&self) -> &'static str {
        "if_err_"
    }

    fn config(&self, cx: &Context) -> Result<String> {
        let iface = cx.arg;
        let mut out = String::new();
        lines(
            &mut out,
            &[
                ("graph_order", "rcvd trans"),
                ("graph_title", &format!("{iface} errors")),
                ("graph_args", "--base 1000"),
                (
                    "graph_vlabel",
                    "packets in (-) / out (+) per ${graph_period}",
                ),
                ("graph_category", "network"),
                (
                    "graph_info",
                    &format!("Errors, drops and collisions of interface {iface}."),
                ),
            ],
        );
        field(
            &mut out,
            "rcvd",
            &[
                ("label", "errors"),
                ("type", "COUNTER"),
                ("graph", "no"),
                ("warning", "1"),
            ],
        );
        field(
            &mut out,
            "trans",
            &[
                ("label", "errors"),
                ("type", "COUNTER"),
                ("negative", "rcvd"),
                ("warning", "1"),
            ],
        );
        field(
            &mut out,
            "rxdrop",
            &[("label", "drops"), ("type", "COUNTER"), ("graph", "no")],
        );
        field(
            &mut out,
            "txdrop",
            &[
                ("label", "drops"),
                ("type", "COUNTER"),
                ("negative", "rxdrop"),
            ],
        );
        field(
            &mut out,
            "collisions",
            &[("label", "collisions"), ("type", "COUNTER")],
        );
        thresholds(&mut out, cx, "rcvd");
        thresholds(&mut out, cx, "trans");
        Ok(out)
    }

    fn fetch(&self, cx: &Context) -> Result<String> {
        let names = [
            ("rx_errors", 2),
            ("tx_errors", 10),
            ("rx_dropped", 3),
            ("tx_dropped", 11),
            ("collisions", 13),
        ];
        let Some(v) = netdev::counters(cx.root, cx.arg, &names) else {
            return Ok(String::new());
        };
        let fields = ["rcvd", "trans", "rxdrop", "txdrop", "collisions"];
        Ok(fields
            .iter()
            .zip(v)
            .map(|(f, v)| format!("{f}.value {}\n", super::number(&v)))
            .collect())
    }

    fn autoconf(&self, cx: &Context) -> Autoconf {
        super::if_::autoconf(cx)
    }

    fn suggest(&self, cx: &Context) -> Vec<String> {
        netdev::suggest(cx.root)
    }
}
