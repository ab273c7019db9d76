//! `netstat`: TCP openings, failures, resets and established connections,
//! from the `Tcp:` rows of /proc/net/snmp (the counters `netstat -s`
//! prints, for IPv4 and IPv6 alike; Munin's plugin runs netstat). Two graphs,
//! `netstat` and `netstat_established`, as Munin's multigraph plugin.

use super::{Autoconf, Context, Plugin, Result, field, lines, missing, thresholds};

pub struct Netstat;

/// `(name, value)` pairs of the `Tcp:` header and value rows.
pub fn parse_tcp(snmp: &str) -> Vec<(String, String)> {
    let rows: Vec<&str> = snmp.lines().filter(|l| l.starts_with("Tcp:")).collect();
    let [head, values, ..] = rows.as_slice() else {
        return Vec::new();
    };
    head.split_whitespace()
        .zip(values.split_whitespace())
        .skip(1)
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Our fields and the MIB counters behind them, in output order.
const FIELDS: [(&str, &str); 5] = [
    ("active", "ActiveOpens"),
    ("passive", "PassiveOpens"),
    ("failed", "AttemptFails"),
    ("resets", "EstabResets"),
    ("established", "CurrEstab"),
];

const INFO: &str = "TCP activity over all network interfaces.";

impl Plugin for Netstat {
    fn name(&self) -> &'static str {
        "netstat"
    }

    fn config(&self, cx: &Context) -> Result<String> {
        let mut out = String::from("multigraph netstat\n");
        lines(
            &mut out,
            &[
                ("graph_title", "Netstat, combined"),
                ("graph_args", "--units=si -l 1 --base 1000 --logarithmic"),
                ("graph_vlabel", "TCP connections"),
                ("graph_category", "network"),
                ("graph_period", "second"),
                ("graph_info", INFO),
            ],
        );
        let infos = [
            "TCP connections opened by this host, per second.",
            "TCP connections accepted, per second.",
            "Failed connection attempts per second.",
            "Connections reset.",
            "Connections open now.",
        ];
        for ((name, _), info) in FIELDS.iter().zip(infos) {
            if *name == "established" {
                field(
                    &mut out,
                    name,
                    &[("label", name), ("type", "GAUGE"), ("info", info)],
                );
            } else {
                field(
                    &mut out,
                    name,
                    &[
                        ("label", name),
                        ("type", "DERIVE"),
                        ("min", "0"),
                        ("max", "50000"),
                        ("info", info),
                    ],
                );
            }
            thresholds(&mut out, cx, name);
        }
        out.push_str("\nmultigraph netstat_established\n");
        lines(
            &mut out,
            &[
                ("graph_title", "Netstat, established only"),
                ("graph_args", "--lower-limit 0"),
                ("graph_vlabel", "TCP connections"),
                ("graph_category", "network"),
                ("graph_period", "second"),
                ("graph_info", INFO),
            ],
        );
        field(
            &mut out,
            "established",
            &[
                ("label", "established"),
                ("type", "GAUGE"),
                ("info", infos[4]),
            ],
        );
        thresholds(&mut out, cx, "established");
        Ok(out)
    }

    fn fetch(&self, cx: &Context) -> Result<String> {
        let tcp = parse_tcp(&cx.root.read_proc("net/snmp")?);
        if tcp.is_empty() {
            return Err(missing("the Tcp rows of /proc/net/snmp"));
        }
        let get = |counter: &str| {
            tcp.iter()
                .find(|(k, _)| k == counter)
                .map(|(_, v)| v.as_str())
        };
        let mut out = String::from("multigraph netstat\n");
        for (name, counter) in FIELDS {
            if let Some(v) = get(counter) {
                out.push_str(&format!("{name}.value {}\n", super::number(v)));
            }
        }
        out.push_str("\nmultigraph netstat_established\n");
        if let Some(v) = get("CurrEstab") {
            out.push_str(&format!("established.value {}\n", super::number(v)));
        }
        Ok(out)
    }

    fn autoconf(&self, cx: &Context) -> Autoconf {
        match cx.root.read_proc("net/snmp") {
            Ok(t) if !parse_tcp(&t).is_empty() => Autoconf::Yes,
            _ => Autoconf::No("/proc/net/snmp has no Tcp counters".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn tcp_rows() {
        let snmp = "Ip: Forwarding\nIp: 1\nTcp: RtoAlgorithm ActiveOpens PassiveOpens AttemptFails EstabResets CurrEstab\n\
                    Tcp: 1 6457 6360 55 96 3\nUdp: InDatagrams\nUdp: 5\n";
        let t = super::parse_tcp(snmp);
        assert_eq!(t[1], ("ActiveOpens".into(), "6457".into()));
        assert_eq!(t[5], ("CurrEstab".into(), "3".into()));
        assert!(super::parse_tcp("Ip: x\n").is_empty());
    }
}
