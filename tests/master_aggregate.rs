//! Aggregate graphs (issue 16) against the real munin-graph: Munin's stock
//! example (`[foo.com;Totals]`, `update no`, borrowed `graph_order`,
//! `.stack`, a continued `.sum`) plus a `cdef` over borrowed fields, on two
//! nodes serving fixed values. Our master stores six points; Debian's
//! munin-update then writes its datafile (and one more point); munin-graph
//! draws the aggregates with `--debug`, which prints its librrd arguments.
//! Both argument lists are read back through librrd's PRINT over the same
//! window, so each field's Cur/Min/Avg/Max is compared as a number.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::master_faults::fake_node;
use crate::support::fleet::master_ok;
use crate::support::{hand_to_munin, is_root, munin_update_ok, require};
use munin_rs::master::conf::MasterConf;
use munin_rs::master::site::graphdef::{self, Period};
use munin_rs::master::site::html;

/// The time stamp the fake nodes put on their values.
static STAMP: AtomicU64 = AtomicU64::new(0);

fn node(cmd: &str, w: &mut std::net::TcpStream, value: &str) {
    let reply = match cmd {
        "cap multigraph dirtyconfig" => "cap multigraph dirtyconfig\n".to_string(),
        c if c.starts_with("list") => "load\n".to_string(),
        "config load" => "graph_title Load average\ngraph_vlabel load\nload.label load\n.\n".into(),
        "fetch load" => format!("load.value {}:{value}\n.\n", STAMP.load(Ordering::SeqCst)),
        "quit" => return,
        _ => "# Unknown command\n".to_string(),
    };
    let _ = w.write_all(reply.as_bytes());
}

fn fii(cmd: &str, w: &mut std::net::TcpStream) {
    node(cmd, w, "1.5")
}

fn fay(cmd: &str, w: &mut std::net::TcpStream) {
    node(cmd, w, "2.5")
}

/// One graph's fields as `label -> [cur, min, avg, max]`, read through
/// librrd: `args` is a graph's argument list (either side's); its drawing
/// is dropped, its DEFs and CDEFs kept, every GPRINT turned into a PRINT
/// of six decimals, over `start..end`.
fn numbers(args: &[String], start: u64, end: u64) -> BTreeMap<String, Vec<String>> {
    let mut keep: Vec<String> = vec![
        "/dev/null".into(),
        "--start".into(),
        start.to_string(),
        "--end".into(),
        end.to_string(),
    ];
    // The label each GPRINT belongs to: the drawing element before it.
    let mut labels: Vec<String> = Vec::new();
    let mut current = String::new();
    for a in args {
        let kind = a.split(':').next().unwrap_or("");
        match kind {
            "DEF" | "CDEF" | "VDEF" => keep.push(a.clone()),
            "LINE" | "LINE1" | "LINE2" | "LINE3" | "AREA" | "STACK" => {
                current = a.splitn(3, ':').nth(2).unwrap_or("").trim().to_string();
                current = current.trim_end_matches(":STACK").trim().to_string();
            }
            "GPRINT" => {
                let parts: Vec<&str> = a.split(':').collect();
                keep.push(format!("PRINT:{}:{}:%.6lf", parts[1], parts[2]));
                labels.push(current.clone());
            }
            _ => {}
        }
    }
    let out = Command::new("rrdtool")
        .arg("graph")
        .args(&keep)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "rrdtool graph {keep:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The first line is the image size; one line per PRINT follows.
    let values: Vec<String> = text.lines().skip(1).map(str::to_string).collect();
    assert_eq!(values.len(), labels.len(), "{keep:?}\n{text}");
    let mut map: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (label, v) in labels.into_iter().zip(values) {
        map.entry(label).or_default().push(v);
    }
    map
}

/// munin-graph's `--debug` output split into each graph's arguments, by
/// the PNG file they write.
fn munin_graph_args(log: &str) -> BTreeMap<String, Vec<String>> {
    let mut out = BTreeMap::new();
    for block in log.split("rrdtool 'graph' '").skip(1) {
        let mut args: Vec<String> = Vec::new();
        for piece in block.split("' \\\n\t'") {
            let piece = piece.split("'\n").next().unwrap_or(piece);
            args.push(piece.to_string());
        }
        // Options before the first DEF name the file first.
        let png = args
            .iter()
            .find(|a| a.ends_with(".png"))
            .cloned()
            .unwrap_or_default();
        out.insert(png, args);
    }
    out
}

#[test]
fn issue16_aggregates_match_munin_graph() {
    if !(require("root (munin-update runs as user munin)", is_root())
        && require(
            "munin (apt-get install munin)",
            Path::new("/usr/share/munin/munin-graph").exists(),
        )
        && require(
            "rrdtool",
            Command::new("rrdtool").arg("--version").output().is_ok(),
        ))
    {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (p1, p2) = (
        fake_node("# munin node at fii\n", fii),
        fake_node("# munin node at fay\n", fay),
    );
    let conf = d.join("munin.conf");
    std::fs::write(
        &conf,
        format!(
            "dbdir {0}/db\nhtmldir {0}/www\nlogdir {0}/log\nrundir {0}/run\nupdate_rate 300\n\
             [foo.com;fii.foo.com]\n    address 127.0.0.1\n    port {p1}\n\
             [foo.com;fay.foo.com]\n    address 127.0.0.1\n    port {p2}\n\
             [foo.com;Totals]\n    update no\n\
             \x20   load1.graph_title Loads side by side\n\
             \x20   load1.graph_order fii=fii.foo.com:load.load fay=fay.foo.com:load.load\n\
             \x20   load2.graph_title Loads total\n\
             \x20   load2.dummy_field.label dummy\n\
             \x20   load2.dummy_field.draw AREA\n\
             \x20   load2.dummy_field.stack fii=fii.foo.com:load.load \\\n\
             \x20                           fay=fay.foo.com:load.load\n\
             \x20   load3.graph_title Loads summarized\n\
             \x20   load3.combined_loads.sum \\\n\
             \x20       fii.foo.com:load.load \\\n\
             \x20       fay.foo.com:load.load\n\
             \x20   load3.combined_loads.label Combined loads\n\
             \x20   load4.graph_title Loads cdef\n\
             \x20   load4.graph_order fii=foo.com;fii.foo.com:load.load fay=fay.foo.com:load.load\n\
             \x20   load4.fii.cdef fii,fay,+,2,*\n",
            d.display()
        ),
    )
    .unwrap();
    for sub in ["db", "www", "log", "run"] {
        std::fs::create_dir_all(d.join(sub)).unwrap();
    }
    // Six points five minutes apart, the last five minutes ago.
    let now = munin_rs::clock::now();
    let base = (now / 300) * 300 - 7 * 300;
    for k in 0..6 {
        STAMP.store(base + k * 300, Ordering::SeqCst);
        master_ok("update", &conf);
    }
    // munin-update (as user munin) writes the datafile munin-graph reads.
    STAMP.store(base + 6 * 300, Ordering::SeqCst);
    hand_to_munin(d);
    std::fs::set_permissions(d, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    munin_update_ok(&conf, &[]);
    // Debian's munin-graph draws what munin-html listed in dbdir/graphs;
    // munin-html wants munin-limits' state.
    for prog in ["munin-limits", "munin-html"] {
        let out = Command::new("runuser")
            .args([
                "-u",
                "munin",
                "--",
                &format!("/usr/share/munin/{prog}"),
                "--config",
            ])
            .arg(&conf)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{prog}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let graph = Command::new("runuser")
        .args([
            "-u",
            "munin",
            "--",
            "/usr/share/munin/munin-graph",
            "--config",
        ])
        .arg(&conf)
        .args([
            "--cron",
            "--debug",
            "--nolazy",
            "--day",
            "--noweek",
            "--nomonth",
            "--noyear",
        ])
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&graph.stderr).into_owned()
        + &String::from_utf8_lossy(&graph.stdout)
        + &std::fs::read_to_string(d.join("log/munin-graph.log")).unwrap_or_default();
    assert!(graph.status.success(), "{log}");
    let theirs = munin_graph_args(&log);

    // Our graphs of the same aggregates, from the same files.
    let loaded = MasterConf::load(&conf).unwrap();
    let (summaries, configs, notes) = html::load(&loaded);
    assert!(notes.is_empty(), "{notes:?}");
    let totals = summaries
        .iter()
        .position(|s| s.host.name == "Totals")
        .unwrap();
    let config = configs[totals].as_ref().expect("Totals has its aggregates");
    let (start, end) = (base - 300, base + 7 * 300);
    let mut compared = 0;
    for plugin in ["load1", "load2", "load3", "load4"] {
        let pc = &config.plugins[plugin];
        let spec = html::spec(&loaded.dbdir, &summaries[totals].host, &pc.services[0]);
        let ours = graphdef::build(&spec, Period::Day, end).unwrap().args;
        let png = format!("{}/www/foo.com/Totals/{plugin}-day.png", d.display());
        let munin = theirs
            .get(&png)
            .unwrap_or_else(|| panic!("munin-graph drew no {png}:\n{log}"));
        let (a, b) = (numbers(&ours, start, end), numbers(munin, start, end));
        assert_eq!(
            a, b,
            "{plugin}: ours vs munin-graph\nours: {ours:?}\nmunin: {munin:?}"
        );
        eprintln!("issue16 {plugin}: {a:?}");
        compared += a.len();
        // munin-html puts the page and graph beside the hosts' pages.
        assert!(Path::new(&png).exists(), "{png}");
    }
    assert_eq!(compared, 2 + 2 + 1 + 2, "every drawn field compared");

    // Our html writes the pages and graphs where munin-html put them (ours
    // into a htmldir of its own).
    let theirs_dir = d.join("www/foo.com/Totals");
    let mut listed: Vec<String> = std::fs::read_dir(&theirs_dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("load") && (n.ends_with(".html") || n.ends_with("-day.png")))
        .collect();
    listed.sort();
    assert_eq!(
        listed.len(),
        8,
        "munin-html and munin-graph wrote {listed:?}"
    );
    let ours_conf = d.join("ours.conf");
    std::fs::write(
        &ours_conf,
        std::fs::read_to_string(&conf).unwrap().replace(
            &format!("htmldir {}/www", d.display()),
            &format!("htmldir {}/ours", d.display()),
        ),
    )
    .unwrap();
    master_ok("html", &ours_conf);
    for f in &listed {
        let p = d.join("ours/foo.com/Totals").join(f);
        assert!(p.exists(), "munin wrote {f}, we did not: {}", p.display());
    }
    // The group's comparison pages, linked from its page, as munin-html's.
    for period in ["day", "week", "month", "year"] {
        let f = format!("foo.com/comparison-{period}.html");
        assert!(d.join("www").join(&f).exists(), "munin-html wrote no {f}");
        let ours = std::fs::read_to_string(d.join("ours").join(&f))
            .unwrap_or_else(|e| panic!("we wrote no {f}: {e}"));
        for host in ["fii.foo.com", "fay.foo.com"] {
            assert!(
                ours.contains(&format!("{host}/load-{period}.png")),
                "{f} shows no {host}: {ours}"
            );
        }
    }
    let group = std::fs::read_to_string(d.join("ours/foo.com/index.html")).unwrap();
    assert!(group.contains("href=\"comparison-day.html\""), "{group}");
}
