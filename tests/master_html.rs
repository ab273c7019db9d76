//! `munin-master cron`, `html` and `serve` over a site built from real
//! polls of our node: built-in plugins, a multigraph fixture and a
//! hostile plugin whose titles, labels, categories and child names carry
//! markup, quotes and `../`. Every page is valid HTML5 (html5ever's parse
//! errors), every link and image resolves, every graph is a PNG, every
//! page is reachable from `index.html`, hostile text appears only escaped
//! and never in a path, and headless Chromium renders the index and a
//! host page without a console message (screenshots kept in
//! `target/tmp/site-*.png`).

use std::collections::{BTreeSet, VecDeque};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use html5ever::tendril::TendrilSink;

use crate::support::http::get;
use crate::support::{self, OurNode};

const EVIL: &str = r#"#!/bin/sh
if [ "$1" = config ]; then
cat <<'EOF'
multigraph evil
graph_title <script>alert(1)</script>
graph_category "><img src=x onerror=alert(2)>
graph_info it's ../../etc/passwd & more
graph_vlabel '"quoted"' per ${graph_period}
hit.label <img src=x onerror=alert(3)>
hit.info <script>alert(4)</script>
hit.warning 5
multigraph evil.<script>
graph_title child "quoted" ../x
c.label c
multigraph evil.../../escape
e.label e
EOF
exit 0
fi
cat <<'EOF'
multigraph evil
hit.value 7
multigraph evil.<script>
c.value 1
multigraph evil.../../escape
e.value 1
EOF
"#;

/// A plugins directory: three built-ins, the multigraph fixture, `evil`.
fn plugins(dir: &Path) -> PathBuf {
    let p = dir.join("plugins");
    std::fs::create_dir_all(&p).unwrap();
    for name in ["load", "cpu", "memory"] {
        std::os::unix::fs::symlink(crate::support::bin("munin-plugins"), p.join(name)).unwrap();
    }
    std::fs::copy(
        support::fixture("node/plugins/fx_multigraph"),
        p.join("fx_multigraph"),
    )
    .unwrap();
    std::fs::write(p.join("evil"), EVIL).unwrap();
    for entry in [
        &p,
        &dir.to_path_buf(),
        &p.join("evil"),
        &p.join("fx_multigraph"),
    ] {
        std::fs::set_permissions(entry, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    std::fs::create_dir_all(dir.join("conf.d")).unwrap();
    p
}

fn master(args: &[&str], conf: &Path) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_munin-master"))
        .args(args)
        .arg("--config")
        .arg(conf)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "munin-master {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// A node, a munin.conf polling it (plus `extra`), and the work dir.
fn setup(extra: &str) -> (tempfile::TempDir, OurNode, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let servicedir = plugins(dir.path());
    let node = OurNode::start("", &servicedir, &dir.path().join("conf.d"));
    let conf = dir.path().join("munin.conf");
    std::fs::write(
        &conf,
        format!(
            "dbdir {0}/db\nhtmldir {0}/www\nrundir {0}/run\nlogdir {0}/log\n{extra}\n\
             [lab;web.example]\n address 127.0.0.1\n port {1}\n use_node_name yes\n",
            dir.path().display(),
            node.addr.port()
        ),
    )
    .unwrap();
    (dir, node, conf)
}

fn last_log(dir: &Path, name: &str) -> String {
    let text = std::fs::read_to_string(dir.join("log").join(name)).unwrap();
    text.lines().last().unwrap().to_string()
}

fn files(root: &Path) -> Vec<PathBuf> {
    walkdir::WalkDir::new(root)
        .into_iter()
        .map(|e| e.unwrap().into_path())
        .filter(|p| p.is_file())
        .collect()
}

/// `href` and `src` values of a page.
fn links(html: &str) -> Vec<String> {
    let re = regex_lite::Regex::new(r#"(?:href|src)="([^"]*)""#).unwrap();
    re.captures_iter(html).map(|c| c[1].to_string()).collect()
}

fn html5_errors(html: &str) -> Vec<String> {
    let dom = html5ever::parse_document(
        markup5ever_rcdom::RcDom::default(),
        html5ever::ParseOpts::default(),
    )
    .from_utf8()
    .read_from(&mut html.as_bytes())
    .unwrap();
    dom.errors.borrow().iter().map(|e| e.to_string()).collect()
}

fn is_png(p: &Path) -> bool {
    std::fs::read(p).is_ok_and(|b| b.starts_with(b"\x89PNG\r\n\x1a\n") && b.len() > 1000)
}

/// Every page checked; returns the pages reached from index.html.
fn check_site(www: &Path) -> BTreeSet<PathBuf> {
    let all = files(www);
    for f in &all {
        let rel = f.strip_prefix(www).unwrap().to_str().unwrap();
        assert!(
            rel.split('/').all(|p| !p.starts_with('.')
                && p.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))),
            "unsafe file name {rel:?}"
        );
        if rel.ends_with(".png") {
            assert!(is_png(f), "{rel} is not a PNG");
        }
    }
    let mut reached = BTreeSet::new();
    let mut queue = VecDeque::from([www.join("index.html")]);
    while let Some(page) = queue.pop_front() {
        if !reached.insert(page.clone()) {
            continue;
        }
        let text = std::fs::read_to_string(&page).unwrap();
        let errors = html5_errors(&text);
        assert!(errors.is_empty(), "{}: {errors:?}", page.display());
        let lower = text.to_ascii_lowercase();
        assert!(
            !lower.contains("<script") && !lower.contains("<img src=x"),
            "{}",
            page.display()
        );
        for link in links(&text) {
            if link.starts_with("data:") {
                continue;
            }
            assert!(!link.contains("://"), "external resource {link}");
            let target = page.parent().unwrap().join(&link);
            let target = std::fs::canonicalize(&target)
                .unwrap_or_else(|_| panic!("{}: broken link {link}", page.display()));
            assert!(
                target.starts_with(std::fs::canonicalize(www).unwrap()),
                "{link}"
            );
            if link.ends_with(".png") {
                assert!(is_png(&target), "{link}");
            }
            if link.ends_with(".html") {
                queue.push_back(target);
            }
        }
    }
    let pages: BTreeSet<PathBuf> = all
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "html"))
        .map(|p| std::fs::canonicalize(p).unwrap())
        .collect();
    let reached: BTreeSet<PathBuf> = reached
        .iter()
        .map(|p| std::fs::canonicalize(p).unwrap())
        .collect();
    assert_eq!(pages, reached, "pages not reachable from index.html");
    reached
}

/// Headless Chromium: a screenshot of `page` and whatever it said on
/// its console.
fn chromium(page: &Path, shot: &Path) -> String {
    let out = Command::new("chromium")
        .args(["--headless", "--no-sandbox", "--disable-gpu"])
        .args([
            "--enable-logging=stderr",
            "--v=0",
            "--window-size=1024,1400",
        ])
        .arg(format!("--screenshot={}", shot.display()))
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter(|l| l.contains(":CONSOLE"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_site_from_real_polls_is_whole_safe_and_renders() {
    let (dir, _node, conf) = setup("");
    let first = master(&["cron"], &conf);
    std::thread::sleep(Duration::from_secs(2));
    master(&["cron"], &conf);
    let www = dir.path().join("www");
    let line = last_log(dir.path(), "munin-master-html.log");
    assert!(line.contains(" 0 failed"), "{line}");
    let pages = check_site(&www);
    let host = www.join("lab/web.example");
    for expected in [
        "index.html",
        "load.html",
        "load-day.png",
        "load-year.png",
        "cpu-week.png",
        "fx_multigraph.html",
        "fx_multigraph-day.png",
        "fx_multigraph/left.html",
        "fx_multigraph/right-month.png",
        "evil.html",
        "evil-day.png",
    ] {
        assert!(
            host.join(expected).exists(),
            "{expected} missing; {:?}; {}",
            files(&host),
            String::from_utf8_lossy(&first.stderr)
        );
    }
    assert!(pages.len() >= 12, "{pages:?}");

    // Hostile text: escaped where shown, the child named `<script>`
    // sanitised into a hashed file name, the `../` child refused by the
    // update, nothing written outside htmldir.
    let evil = std::fs::read_to_string(host.join("evil.html")).unwrap();
    assert!(
        evil.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{evil}"
    );
    assert!(
        evil.contains("it&#39;s ../../etc/passwd &amp; more"),
        "{evil}"
    );
    assert!(
        evil.contains("&lt;img src=x onerror=alert(3)&gt;"),
        "{evil}"
    );
    let child = std::fs::read_dir(host.join("evil"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect::<Vec<_>>();
    assert!(
        child
            .iter()
            .any(|n| n.starts_with("_script_-") && n.ends_with("-day.png")),
        "{child:?}"
    );
    // The `../` child: no file stored by the update, so no graph; its
    // page's name is sanitised and hashed, beside its siblings.
    let escape: Vec<&String> = child.iter().filter(|n| n.contains("escape")).collect();
    assert_eq!(escape.len(), 1, "{child:?}");
    assert!(
        escape[0].starts_with("_._.._escape-") && escape[0].ends_with(".html"),
        "{child:?}"
    );
    let hostpage = std::fs::read_to_string(host.join("index.html")).unwrap();
    assert!(
        hostpage.contains("&quot;&gt;&lt;img src=x onerror=alert(2)&gt;"),
        "{hostpage}"
    );
    // (dbdir keeps Munin's file names, `<` included: no `/`, no `..`.)
    for f in files(dir.path()) {
        let s = f.to_string_lossy();
        assert!(
            !s.contains('<') || f.starts_with(dir.path().join("db")),
            "{s}"
        );
        assert!(
            !s.contains("escape") || f.parent() == Some(&host.join("evil")),
            "{s}"
        );
    }
    let problems = std::fs::read_to_string(www.join("problems.html")).unwrap();
    assert!(
        problems.contains("WARNING") && problems.contains("evil.html"),
        "{problems}"
    );

    // Nothing new since: nothing rewritten, nothing redrawn.
    master(&["html"], &conf);
    let again = last_log(dir.path(), "munin-master-html.log");
    assert!(
        again.contains("pages 0 written") && again.contains("graphs 0 drawn"),
        "{again}"
    );

    if support::require(
        "chromium (apt-get install chromium)",
        Path::new("/usr/bin/chromium").exists(),
    ) {
        let artifacts = Path::new(env!("CARGO_TARGET_TMPDIR"));
        for (page, name) in [
            (www.join("index.html"), "site-index.png"),
            (host.join("index.html"), "site-host.png"),
        ] {
            let shot = artifacts.join(name);
            let console = chromium(&page, &shot);
            assert!(console.is_empty(), "{}: console: {console}", page.display());
            assert!(is_png(&shot), "{}", shot.display());
            eprintln!("screenshot: {}", shot.display());
        }
    }
}

#[test]
fn a_host_gone_from_the_config_leaves_no_pages_or_graphs_behind() {
    let (dir, node, conf) = setup("");
    let with_db = std::fs::read_to_string(&conf).unwrap();
    std::fs::write(
        &conf,
        format!(
            "{with_db}[lab;db.example]\n address 127.0.0.1\n port {}\n use_node_name yes\n",
            node.addr.port()
        ),
    )
    .unwrap();
    master(&["cron"], &conf);
    let www = dir.path().join("www");
    let db = www.join("lab/db.example");
    assert!(db.join("load-day.png").exists(), "{:?}", files(&www));
    std::fs::write(www.join("robots.txt"), "User-agent: *\n").unwrap();

    std::fs::write(&conf, &with_db).unwrap();
    master(&["html"], &conf);
    let line = last_log(dir.path(), "munin-master-html.log");
    assert!(!db.exists(), "{line}: {:?}", files(&db));
    assert!(
        line.contains("removed") && !line.contains(" 0 removed"),
        "{line}"
    );
    assert!(www.join("lab/web.example/load-day.png").exists());
    assert!(www.join("robots.txt").exists(), "not the site's: kept");
    // Every link of what is left still resolves (no link to db.example).
    check_site(&www);
}

#[test]
fn with_graph_strategy_cgi_serve_draws_graphs_on_demand() {
    let (dir, _node, conf) = setup("graph_strategy cgi");
    master(&["cron"], &conf);
    let line = last_log(dir.path(), "munin-master-html.log");
    assert!(line.contains("graphs 0 drawn"), "{line}");
    let png = dir.path().join("www/lab/web.example/load-day.png");
    assert!(!png.exists());
    let port = crate::support::real_node::free_port();
    let serve = Command::new(env!("CARGO_BIN_EXE_munin-master"))
        .args(["serve", "--port", &port.to_string(), "--config"])
        .arg(&conf)
        .spawn()
        .unwrap();
    let _serve = Killed(serve);
    let mut up = false;
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            up = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(up, "serve did not listen");
    let r = get(port, "/lab/web.example/");
    assert_eq!(r.status, 200);
    assert!(String::from_utf8_lossy(&r.body).contains("load-day.png"));
    let r = get(port, "/lab/web.example/load-day.png");
    assert_eq!(r.status, 200);
    assert!(r.body.starts_with(b"\x89PNG"));
    assert!(is_png(&png), "drawn into htmldir");
    let drawn = std::fs::metadata(&png).unwrap().modified().unwrap();
    // No update since: served as drawn.
    let _ = get(port, "/lab/web.example/load-day.png");
    assert_eq!(std::fs::metadata(&png).unwrap().modified().unwrap(), drawn);
    for bad in ["/../../../etc/passwd", "/lab/../../munin.conf", "/.hidden"] {
        let status = get(port, bad).status;
        assert_eq!(status, 404, "{bad}");
    }
}

/// A child killed when the test ends, passed or not.
struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        support::terminate(&mut self.0);
    }
}
