//! `diskstats`: throughput, IOs, latency and utilization of every block
//! device, as four overview graphs plus four graphs per device (multigraph).
//!
//! Graph and field names, types and attributes are Munin's (see
//! [`super::blockdev`] for which devices and under which names); values are
//! averaged over about five minutes through [`super::diskstate`], so the
//! first fetch after installing prints nothing, as Munin's does.
//!
//! Quirks of Munin's plugin not kept: fetch lists devices in config's order
//! (Munin's is random); two fetches in the same second print nothing rather
//! than dying on a division by zero; `autoconf` answers "no" with exit
//! status 0; partition names are compared literally (Munin's treats a `.`
//! in a device name as a regex wildcard); dm devices are named through
//! `/sys/block/dm-N/dm/name`, which also works for minors above 255; with
//! `trim_labels` and a width too small for any label, labels become `..`.

use super::blockdev::{self, Counters, Device, Selection};
use super::diskrates::{Rates, rates};
use super::diskstate::{self, Snapshot};
use super::{Autoconf, Context, Plugin, Result, field, lines, perl_number};

pub struct Diskstats;

const NAME: &str = "diskstats";

/// Perl's truth: set, non-empty and not "0".
fn truthy(v: Option<&str>) -> bool {
    v.is_some_and(|v| !v.is_empty() && v != "0")
}

/// The devices to graph, with their labels as shown.
struct Shown {
    dev: Device,
    /// The pretty name, trimmed when `trim_labels` asks.
    long: String,
    /// The short name, trimmed likewise.
    short: String,
}

/// Graph width and labels: the width grows in steps of 50 to fit the
/// longest label, unless `trim_labels` asks to shorten labels instead.
fn layout(cx: &Context, devices: Vec<Device>) -> (i64, Vec<Shown>) {
    let w0 = cx
        .env
        .get("graph_width")
        .filter(|v| truthy(Some(v)))
        .and_then(|v| v.trim().parse::<i64>().ok())
        .unwrap_or(400);
    // Room for a label: what rrdtool's legend leaves beside the values,
    // at 6 pixels a character (two columns for negative/positive graphs).
    let room = |cols: i64| (w0 as f64 + 97.0) / 6.0 - cols as f64;
    let trim = truthy(cx.env.get("trim_labels"));
    let cut = |s: &str, cols: i64| -> String {
        let avail = room(cols);
        if !trim || (s.len() as f64) <= avail {
            return s.to_string();
        }
        let keep = (avail - 2.0).trunc();
        let tail = if keep >= 1.0 {
            let k = keep as usize;
            s.get(s.len().saturating_sub(k)..).unwrap_or("")
        } else {
            ""
        };
        format!("..{tail}")
    };
    let shown: Vec<Shown> = devices
        .into_iter()
        .map(|dev| Shown {
            long: cut(&dev.pretty, 42),
            short: cut(dev.short(), 74),
            dev,
        })
        .collect();
    if trim {
        return (w0, shown);
    }
    let fit = |need: i64| {
        if need <= w0 {
            w0
        } else {
            w0 + (need - w0 + 49) / 50 * 50
        }
    };
    let longest = |f: fn(&Shown) -> usize| shown.iter().map(f).max().unwrap_or(0) as i64;
    let posneg = 6 * (10 + 64 + longest(|s| s.short.len())) - 97;
    let pos = 6 * (10 + 32 + longest(|s| s.long.len())) - 97;
    (fit(posneg).max(fit(pos)), shown)
}

fn devices(cx: &Context) -> Result<Vec<Device>> {
    let sel = Selection::from_env(cx.env.get("include_only"), cx.env.get("exclude"))?;
    blockdev::select(cx.root, &sel)
}

/// Overview graphs list ordinary devices first, then device-mapper ones.
fn overview_cmp(a: &Device, b: &Device) -> std::cmp::Ordering {
    (a.kernel.starts_with("dm-"), &a.kernel).cmp(&(b.kernel.starts_with("dm-"), &b.kernel))
}

fn overview_order(shown: &[Shown]) -> Vec<&Shown> {
    let mut v: Vec<&Shown> = shown.iter().collect();
    v.sort_by(|a, b| overview_cmp(&a.dev, &b.dev));
    v
}

fn gauge(out: &mut String, name: &str, label: &str, info: Option<&str>, extra: &[(&str, &str)]) {
    field(out, name, &[("label", label), ("type", "GAUGE")]);
    if let Some(info) = info {
        field(out, name, &[("info", info)]);
    }
    field(out, name, &[("min", "0")]);
    field(out, name, extra);
}

fn header(out: &mut String, graph: &str, attrs: &[(&str, &str)]) {
    out.push_str("multigraph ");
    out.push_str(graph);
    out.push('\n');
    lines(out, attrs);
    out.push('\n');
}

const UTIL_ARGS: &str = "--base 1000 --lower-limit 0 --upper-limit 100 --rigid";

fn config(cx: &Context) -> Result<String> {
    let (width, shown) = layout(cx, devices(cx)?);
    let width = width.to_string();
    let root = overview_order(&shown);
    let mut out = String::new();
    let w = ("graph_width", width.as_str());

    header(
        &mut out,
        &format!("{NAME}_latency"),
        &[
            ("graph_title", "Disk latency per device"),
            ("graph_args", "--base 1000"),
            ("graph_vlabel", "Average IO Wait (seconds)"),
            ("graph_category", "disk"),
            w,
        ],
    );
    latency_fields(
        &mut out,
        &root,
        "avgwait",
        "Average time an I/O request waited, in seconds, queueing included",
    );
    header(
        &mut out,
        &format!("{NAME}_utilization"),
        &[
            ("graph_title", "Utilization per device"),
            ("graph_args", UTIL_ARGS),
            ("graph_vlabel", "% busy"),
            ("graph_category", "disk"),
            w,
            ("graph_scale", "no"),
        ],
    );
    latency_fields(
        &mut out,
        &root,
        "util",
        "Share of time the device had I/O in flight",
    );
    header(
        &mut out,
        &format!("{NAME}_throughput"),
        &[
            ("graph_title", "Throughput per device"),
            ("graph_args", "--base 1024"),
            ("graph_vlabel", "Bytes/${graph_period} read (-) / write (+)"),
            ("graph_category", "disk"),
            w,
            (
                "graph_info",
                "Bytes read and written per device, averaged over the last five minutes",
            ),
        ],
    );
    for s in &root {
        pair(
            &mut out, &s.dev.id, "rdbytes", "wrbytes", &s.short, &s.short,
        );
    }
    out.push('\n');
    header(
        &mut out,
        &format!("{NAME}_iops"),
        &[
            ("graph_title", "Disk IOs per device"),
            ("graph_args", "--base 1000"),
            ("graph_vlabel", "IOs/${graph_period} read (-) / write (+)"),
            ("graph_category", "disk"),
            w,
        ],
    );
    for s in &root {
        pair(&mut out, &s.dev.id, "rdio", "wrio", &s.short, &s.short);
    }
    out.push('\n');

    for s in &shown {
        device_config(&mut out, s);
    }
    Ok(out)
}

/// One `<id>_<suffix>` field per device that keeps time counters (the
/// overview latency and utilization graphs), then the blank line.
fn latency_fields(out: &mut String, devices: &[&Shown], suffix: &str, info: &str) {
    for s in devices.iter().filter(|s| s.dev.does_latency()) {
        let name = format!("{}_{suffix}", s.dev.id);
        gauge(out, &name, &s.long, Some(info), &[("draw", "LINE1")]);
    }
    out.push('\n');
}

/// A read/write pair drawn as one graph, reads below the axis.
fn pair(out: &mut String, prefix: &str, rd: &str, wr: &str, rd_label: &str, wr_label: &str) {
    let id = |f: &str| {
        if prefix.is_empty() {
            f.to_string()
        } else {
            format!("{prefix}_{f}")
        }
    };
    let (rd, wr) = (id(rd), id(wr));
    gauge(
        out,
        &rd,
        rd_label,
        None,
        &[("draw", "LINE1"), ("graph", "no")],
    );
    gauge(
        out,
        &wr,
        wr_label,
        None,
        &[("draw", "LINE1"), ("negative", &rd)],
    );
}

fn device_config(out: &mut String, s: &Shown) {
    let (id, dev) = (&s.dev.id, &s.long);
    if s.dev.does_latency() {
        header(
            out,
            &format!("{NAME}_latency.{id}"),
            &[
                ("graph_title", &format!("Average latency for /dev/{dev}")),
                ("graph_args", "--base 1000 --logarithmic"),
                ("graph_vlabel", "seconds"),
                ("graph_category", "disk"),
                (
                    "graph_info",
                    "Time I/O requests took, averaged over the last five minutes",
                ),
            ],
        );
        let line = [("draw", "LINE1")];
        let slow = [("warning", "0:3"), ("draw", "LINE1")];
        gauge(
            out,
            "svctm",
            "Device I/O time",
            Some("Time the device spent per request"),
            &line,
        );
        gauge(
            out,
            "avgwait",
            "I/O wait time",
            Some("Time per request, queueing included"),
            &line,
        );
        gauge(
            out,
            "avgrdwait",
            "Read I/O wait time",
            Some("Time per read request, queueing included"),
            &slow,
        );
        gauge(
            out,
            "avgwrwait",
            "Write I/O wait time",
            Some("Time per write request, queueing included"),
            &slow,
        );
        out.push('\n');
        header(
            out,
            &format!("{NAME}_utilization.{id}"),
            &[
                ("graph_title", &format!("Disk utilization for /dev/{dev}")),
                ("graph_args", UTIL_ARGS),
                ("graph_vlabel", "% busy"),
                ("graph_category", "disk"),
                ("graph_scale", "no"),
            ],
        );
        gauge(
            out,
            "util",
            "Utilization",
            Some("Share of time the device had I/O in flight"),
            &line,
        );
        out.push('\n');
    }
    header(
        out,
        &format!("{NAME}_throughput.{id}"),
        &[
            ("graph_title", &format!("Disk throughput for /dev/{dev}")),
            ("graph_args", "--base 1024"),
            ("graph_vlabel", "Pr ${graph_period} read (-) / write (+)"),
            ("graph_category", "disk"),
            (
                "graph_info",
                "Bytes read and written, averaged over the last five minutes",
            ),
        ],
    );
    pair(out, "", "rdbytes", "wrbytes", "read", "Bytes");
    out.push('\n');
    header(
        out,
        &format!("{NAME}_iops.{id}"),
        &[
            ("graph_title", &format!("IOs for /dev/{dev}")),
            ("graph_args", "--base 1000"),
            ("graph_vlabel", "Units read (-) / write (+)"),
            ("graph_category", "disk"),
            (
                "graph_info",
                "I/O requests per second and their average size",
            ),
        ],
    );
    pair(out, "", "rdio", "wrio", "read", "IO/sec");
    gauge(
        out,
        "avgrdrqsz",
        "read",
        None,
        &[("draw", "LINE1"), ("graph", "no")],
    );
    // Munin prints this field's info before its type; the order is cosmetic.
    gauge(
        out,
        "avgwrrqsz",
        "Req Size (KB)",
        Some("Average request size in kilobytes (1000 based)"),
        &[("draw", "LINE1"), ("negative", "avgrdrqsz")],
    );
    out.push('\n');
}

fn value(out: &mut String, name: &str, v: f64) {
    out.push_str(name);
    out.push_str(".value ");
    out.push_str(&perl_number(v));
    out.push('\n');
}

fn fetch(cx: &Context) -> Result<String> {
    let now = cx.root.now();
    let devs = devices(cx)?;
    let current = Snapshot {
        time: now,
        devices: devs
            .iter()
            .map(|d| (d.kernel.clone(), d.counters))
            .collect(),
    };
    // Without a state file (a plugin run by hand) there is nothing to
    // average over, and nothing is printed, as Munin's plugin does.
    let Some(path) = cx.env.get("MUNIN_STATEFILE").filter(|p| !p.is_empty()) else {
        return Ok(String::new());
    };
    let path = std::path::Path::new(path);
    let saved = diskstate::load(path);
    let prev = diskstate::choose(&saved, now).cloned();
    diskstate::save(path, &diskstate::advance(saved, current))
        .map_err(|e| super::PluginError(format!("{}: {e}", path.display())))?;
    let Some(prev) = prev.filter(|p| !p.devices.is_empty()) else {
        return Ok(String::new());
    };
    let mut dt = (now - prev.time) as f64;
    // Rebooted since: the counters restarted from zero `uptime` ago.
    let rebooted = cx
        .root
        .read_proc("uptime")
        .ok()
        .and_then(|u| super::uptime::parse(&u))
        .filter(|up| *up < dt);
    if let Some(up) = rebooted {
        dt = up;
    }
    if dt <= 0.0 {
        return Ok(String::new());
    }
    let zero = Counters::default();
    let r: Vec<(&Device, Rates)> = devs
        .iter()
        .map(|d| {
            let before = match rebooted {
                Some(_) => &zero,
                None => prev.get(&d.kernel).unwrap_or(&zero),
            };
            (d, rates(&d.counters, before, dt))
        })
        .collect();
    let mut root = r.iter().collect::<Vec<_>>();
    root.sort_by(|(a, _), (b, _)| overview_cmp(a, b));

    let mut out = format!("multigraph {NAME}_latency\n");
    for (d, v) in root.iter().filter(|(d, _)| d.does_latency()) {
        value(&mut out, &format!("{}_avgwait", d.id), v.avgwait);
    }
    out.push_str(&format!("\nmultigraph {NAME}_utilization\n"));
    for (d, v) in root.iter().filter(|(d, _)| d.does_latency()) {
        value(&mut out, &format!("{}_util", d.id), v.util);
    }
    out.push_str(&format!("\nmultigraph {NAME}_throughput\n"));
    for (d, v) in &root {
        value(&mut out, &format!("{}_rdbytes", d.id), v.rdbytes);
        value(&mut out, &format!("{}_wrbytes", d.id), v.wrbytes);
    }
    out.push_str(&format!("\nmultigraph {NAME}_iops\n"));
    for (d, v) in &root {
        value(&mut out, &format!("{}_rdio", d.id), v.rdio);
        value(&mut out, &format!("{}_wrio", d.id), v.wrio);
    }
    for (d, v) in &r {
        let id = &d.id;
        if d.does_latency() {
            out.push_str(&format!("\nmultigraph {NAME}_latency.{id}\n"));
            value(&mut out, "svctm", v.svctm);
            value(&mut out, "avgwait", v.avgwait);
            value(&mut out, "avgrdwait", v.avgrdwait);
            value(&mut out, "avgwrwait", v.avgwrwait);
            out.push_str(&format!("\nmultigraph {NAME}_utilization.{id}\n"));
            value(&mut out, "util", v.util);
        }
        out.push_str(&format!("\nmultigraph {NAME}_throughput.{id}\n"));
        value(&mut out, "rdbytes", v.rdbytes);
        value(&mut out, "wrbytes", v.wrbytes);
        out.push_str(&format!("\nmultigraph {NAME}_iops.{id}\n"));
        value(&mut out, "rdio", v.rdio);
        value(&mut out, "wrio", v.wrio);
        value(&mut out, "avgrdrqsz", v.avgrdrqsz);
        value(&mut out, "avgwrrqsz", v.avgwrrqsz);
    }
    Ok(out)
}

impl Plugin for Diskstats {
    fn name(&self) -> &'static str {
        NAME
    }

    // Without multigraph support (an old master) the plugin shows one
    // placeholder field saying so, as Munin's does.
    fn config(&self, cx: &Context) -> Result<String> {
        if !truthy(cx.env.get("MUNIN_CAP_MULTIGRAPH")) {
            return Ok("graph_title diskstats needs a master with multigraph support\n\
                multigraph.label No multigraph here\n\
                multigraph.info This plugin draws many graphs at once; the master polling it does not support that.\n"
                .into());
        }
        config(cx)
    }

    fn fetch(&self, cx: &Context) -> Result<String> {
        if !truthy(cx.env.get("MUNIN_CAP_MULTIGRAPH")) {
            return Ok("multigraph.value 0\n".into());
        }
        fetch(cx)
    }

    fn autoconf(&self, cx: &Context) -> Autoconf {
        if !truthy(cx.env.get("MUNIN_CAP_MULTIGRAPH")) {
            Autoconf::No("no multigraph support".into())
        } else if blockdev::any(cx.root) {
            Autoconf::Yes
        } else {
            Autoconf::No("no block devices found".into())
        }
    }
}
