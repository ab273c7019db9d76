//! Issue 19: the zoom page in headless Chromium, driven over the DevTools
//! protocol (`--remote-debugging-pipe`: JSON messages ended by NUL on
//! file descriptors 3 and 4, so no WebSocket client is needed).
//!
//! A site with `graph_strategy cgi` and `graph_hidpi yes` is served by
//! `munin-master serve`, the load graph holding 30 hours of made-up data.
//! In a 2x (HiDPI) viewport: the plugin page's graphs come in 2x; a real
//! click on the day graph opens the zoom page; a real mouse drag across
//! the plot area draws the chosen range: the URL's `start_epoch` and
//! `stop_epoch` are the dragged pixels' times (within two pixels), and
//! the graph response for that range says librrd laid its time axis out
//! over exactly that range (`X-Graph-Start`/`End`, from librrd's graphv)
//! and is byte for byte the graph the server draws for that range asked
//! directly. The axis labels are not read back by OCR: Debian's
//! tesseract is not among the test dependencies, and misreading `0`/`O`
//! or `1`/`l` in a 9-pixel font would make the test flaky, while the
//! labels follow from the range librrd reports and the image is librrd's
//! drawing of it. Back returns to the period's range, forward to the
//! dragged one. With JavaScript off the same URL shows the range, the
//! four static graphs and the fixed-range links, and a real click on one
//! draws that range. No console error, no failed load throughout.
//! Screenshots are kept in `target/zoom-screenshots/`.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Write};
use std::os::fd::FromRawFd;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::http::{Reply, get};
use crate::support::{self, OurNode};

const HOST: &str = "web.example";

/// A child killed when the test ends, passed or not.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        support::terminate(&mut self.0);
    }
}

/// Headless Chromium and one page of it, over the DevTools pipe.
struct Browser {
    _child: Killed,
    to: std::fs::File,
    from: mpsc::Receiver<Value>,
    session: String,
    next: u64,
    /// Events not yet looked at, oldest first.
    events: VecDeque<Value>,
    /// Every event, for the console and load-failure checks.
    log: Vec<Value>,
    _profile: tempfile::TempDir,
}

/// A pipe whose ends are closed on exec: (read, write).
fn pipe() -> (i32, i32) {
    let mut fds = [0; 2];
    // SAFETY: `fds` is two ints, as pipe2 writes.
    let r = unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) };
    assert_eq!(r, 0, "pipe2: {}", std::io::Error::last_os_error());
    (fds[0], fds[1])
}

impl Browser {
    fn start() -> Browser {
        let profile = tempfile::tempdir().unwrap();
        let (to_read, to_write) = pipe();
        let (from_read, from_write) = pipe();
        let mut cmd = Command::new("/usr/bin/chromium");
        cmd.args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--remote-debugging-pipe",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-extensions",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--mute-audio",
            "--font-render-hinting=none",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg("about:blank")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
        // SAFETY: only async-signal-safe calls (fcntl, dup2) between fork
        // and exec. The ends are first copied above 10, so that moving
        // them to 3 and 4 cannot overwrite one with the other.
        unsafe {
            cmd.pre_exec(move || {
                let a = libc::fcntl(to_read, libc::F_DUPFD_CLOEXEC, 10);
                let b = libc::fcntl(from_write, libc::F_DUPFD_CLOEXEC, 10);
                if a < 0 || b < 0 || libc::dup2(a, 3) < 0 || libc::dup2(b, 4) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = cmd.spawn().expect("start chromium");
        // SAFETY: the parent's ends, owned from here on; the child's ends
        // are closed here (the child has its own copies).
        let (to, from) = unsafe {
            libc::close(to_read);
            libc::close(from_write);
            (
                std::fs::File::from_raw_fd(to_write),
                std::fs::File::from_raw_fd(from_read),
            )
        };
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut r = BufReader::new(from);
            let mut buf = Vec::new();
            while r.read_until(0, &mut buf).is_ok_and(|n| n > 0) {
                buf.pop_if(|b| *b == 0);
                if let Ok(v) = serde_json::from_slice::<Value>(&buf)
                    && tx.send(v).is_err()
                {
                    break;
                }
                buf.clear();
            }
        });
        let mut b = Browser {
            _child: Killed(child),
            to,
            from: rx,
            session: String::new(),
            next: 0,
            events: VecDeque::new(),
            log: Vec::new(),
            _profile: profile,
        };
        let target = b.call_browser("Target.createTarget", json!({"url": "about:blank"}));
        let id = target["targetId"].as_str().unwrap().to_string();
        let attached = b.call_browser(
            "Target.attachToTarget",
            json!({"targetId": id, "flatten": true}),
        );
        b.session = attached["sessionId"].as_str().unwrap().to_string();
        for domain in ["Page", "Network", "Runtime", "Log"] {
            b.call(&format!("{domain}.enable"), json!({}));
        }
        // A HiDPI screen: `srcset` picks the 2x graphs.
        b.call(
            "Emulation.setDeviceMetricsOverride",
            json!({"width": 1000, "height": 1300, "deviceScaleFactor": 2, "mobile": false}),
        );
        b
    }

    fn send(&mut self, method: &str, params: Value, session: bool) -> Value {
        self.next += 1;
        let id = self.next;
        let mut msg = json!({"id": id, "method": method, "params": params});
        if session {
            msg["sessionId"] = json!(self.session);
        }
        let mut bytes = serde_json::to_vec(&msg).unwrap();
        bytes.push(0);
        self.to.write_all(&bytes).unwrap();
        let end = Instant::now() + Duration::from_secs(60);
        loop {
            let left = end.saturating_duration_since(Instant::now());
            let v = self
                .from
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("no answer to {method}"));
            if v["id"] == json!(id) {
                if let Some(e) = v.get("error") {
                    panic!("{method}: {e}");
                }
                return v["result"].clone();
            }
            if v.get("method").is_some() {
                self.log.push(v.clone());
                self.events.push_back(v);
            }
        }
    }

    fn call_browser(&mut self, method: &str, params: Value) -> Value {
        self.send(method, params, false)
    }

    fn call(&mut self, method: &str, params: Value) -> Value {
        self.send(method, params, true)
    }

    /// The first event (new or already received) that `want` accepts;
    /// those before it are dropped.
    fn wait_event(&mut self, what: &str, want: impl Fn(&Value) -> bool) -> Value {
        let end = Instant::now() + Duration::from_secs(60);
        loop {
            while let Some(v) = self.events.pop_front() {
                if want(&v) {
                    return v;
                }
            }
            let left = end.saturating_duration_since(Instant::now());
            let v = self
                .from
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("no event: {what}"));
            if v.get("method").is_some() {
                self.log.push(v.clone());
                self.events.push_back(v);
            }
        }
    }

    /// A JavaScript expression's value (promises awaited). Works with the
    /// page's scripts disabled: DevTools' evaluation is not the page's.
    fn eval(&mut self, expr: &str) -> Value {
        let r = self.call(
            "Runtime.evaluate",
            json!({"expression": expr, "returnByValue": true, "awaitPromise": true}),
        );
        if let Some(e) = r.get("exceptionDetails") {
            panic!("{expr}: {e}");
        }
        r["result"]["value"].clone()
    }

    /// Waits until `expr` is true.
    fn wait_until(&mut self, expr: &str) {
        let end = Instant::now() + Duration::from_secs(60);
        while self.eval(expr) != json!(true) {
            assert!(Instant::now() < end, "timed out waiting for {expr}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits until every image of the page is loaded; a broken one is
    /// named.
    fn wait_images(&mut self) {
        let end = Instant::now() + Duration::from_secs(60);
        loop {
            let broken = self.eval(
                "[...document.images].filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.currentSrc || i.src)",
            );
            if broken == json!([]) {
                return;
            }
            assert!(Instant::now() < end, "images not loaded: {broken}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn navigate(&mut self, url: &str) {
        self.events.clear();
        self.call("Page.navigate", json!({"url": url}));
        self.wait_event("load", |v| v["method"] == "Page.loadEventFired");
    }

    fn mouse(&mut self, kind: &str, (x, y): (f64, f64), buttons: u32) {
        self.call(
            "Input.dispatchMouseEvent",
            json!({"type": kind, "x": x, "y": y, "button": "left", "buttons": buttons, "clickCount": 1}),
        );
    }

    /// A real click at the middle of the element `selector` finds.
    fn click(&mut self, selector: &str) {
        let r = self.eval(&format!(
            "(() => {{ const e = document.querySelector({}); e.scrollIntoView({{block: 'center'}}); \
             const r = e.getBoundingClientRect(); return [r.left + r.width / 2, r.top + r.height / 2]; }})()",
            json!(selector)
        ));
        let at = (r[0].as_f64().unwrap(), r[1].as_f64().unwrap());
        self.mouse("mousePressed", at, 1);
        self.mouse("mouseReleased", at, 0);
    }

    fn screenshot(&mut self, name: &str) {
        let r = self.call("Page.captureScreenshot", json!({"format": "png"}));
        let png = base64(r["data"].as_str().unwrap());
        let dir = shots();
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, png).unwrap();
        eprintln!("screenshot: {}", path.display());
    }

    /// The graph responses (`<base>.png?start=…`) received since the
    /// last call, with their headers (names lower-cased).
    fn graph_responses(&mut self) -> Vec<(String, u64, Value, String)> {
        let found: Vec<Value> = self
            .log
            .iter()
            .filter(|v| v["method"] == "Network.responseReceived")
            .filter(|v| {
                v["params"]["response"]["url"]
                    .as_str()
                    .is_some_and(|u| u.contains(".png?start="))
            })
            .cloned()
            .collect();
        self.log
            .retain(|v| v["method"] != "Network.responseReceived");
        found
            .into_iter()
            .map(|v| {
                let r = &v["params"]["response"];
                let headers: serde_json::Map<String, Value> = r["headers"]
                    .as_object()
                    .unwrap()
                    .iter()
                    .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
                    .collect();
                (
                    r["url"].as_str().unwrap().to_string(),
                    r["status"].as_u64().unwrap(),
                    Value::Object(headers),
                    v["params"]["requestId"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    }

    /// Console errors, uncaught exceptions and failed loads so far.
    fn complaints(&self) -> Vec<String> {
        self.log
            .iter()
            .filter(|v| {
                let m = v["method"].as_str().unwrap_or("");
                m == "Runtime.exceptionThrown"
                    || m == "Network.loadingFailed"
                    || (m == "Log.entryAdded" && v["params"]["entry"]["level"] == "error")
                    || (m == "Runtime.consoleAPICalled" && v["params"]["type"] == "error")
            })
            .map(|v| v.to_string())
            .collect()
    }
}

fn shots() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .unwrap()
        .join("zoom-screenshots")
}

/// Standard base64, as DevTools sends binary data.
fn base64(text: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => panic!("not base64: {c}"),
    };
    let clean: Vec<u8> = text.bytes().filter(|c| *c != b'=').collect();
    let mut out = Vec::with_capacity(clean.len() * 3 / 4);
    for chunk in clean.chunks(4) {
        let mut n = 0u32;
        for (i, c) in chunk.iter().enumerate() {
            n |= u32::from(value(*c)) << (18 - 6 * i);
        }
        let bytes = n.to_be_bytes();
        out.extend_from_slice(&bytes[1..chunk.len()]);
    }
    out
}

fn header(headers: &Value, name: &str) -> u64 {
    headers[name]
        .as_str()
        .unwrap_or_else(|| panic!("no {name} in {headers}"))
        .trim()
        .parse()
        .unwrap()
}

/// The plot area as the graph's headers give it.
#[derive(Debug, Clone, Copy)]
struct Geometry {
    start: u64,
    end: u64,
    left: f64,
    top: f64,
    width: f64,
    height: f64,
    image_width: f64,
}

fn geometry(r: &Reply) -> Geometry {
    let h = |n: &str| -> f64 { r.header(n).parse().unwrap() };
    Geometry {
        start: h("x-graph-start") as u64,
        end: h("x-graph-end") as u64,
        left: h("x-graph-left"),
        top: h("x-graph-top"),
        width: h("x-graph-width"),
        height: h("x-graph-height"),
        image_width: h("x-image-width"),
    }
}

/// A node with the `load` plugin, a munin.conf with `extra` in its
/// global part, 30 hours of made-up load stored, then one cron run (the
/// update adds the node's own value).
fn site(extra: &str) -> (tempfile::TempDir, OurNode, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let plugins = dir.path().join("plugins");
    std::fs::create_dir_all(&plugins).unwrap();
    std::os::unix::fs::symlink(support::bin("munin-plugins"), plugins.join("load")).unwrap();
    for d in [dir.path(), &plugins] {
        std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    std::fs::create_dir_all(dir.path().join("conf.d")).unwrap();
    let node = OurNode::start("", &plugins, &dir.path().join("conf.d"));
    let conf = dir.path().join("munin.conf");
    std::fs::write(
        &conf,
        format!(
            "dbdir {0}/db\nhtmldir {0}/www\nrundir {0}/run\nlogdir {0}/log\n\
             {extra}\n[lab;{HOST}]\n address 127.0.0.1\n port {1}\n use_node_name yes\n",
            dir.path().display(),
            node.addr.port()
        ),
    )
    .unwrap();
    let host = munin_rs::master::conf::Host::new(vec!["lab".into()], HOST);
    let ds = munin_rs::master::store::layout::DsType::Gauge;
    let path = munin_rs::master::store::layout::rrd_path(
        &dir.path().join("db"),
        &host,
        "load",
        "load",
        ds,
    )
    .unwrap();
    let now = munin_rs::clock::now();
    let first = now - 30 * 3600;
    let mut plan = munin_rs::master::poll::plan::FieldPlan {
        plugin: "load".into(),
        service: "load".into(),
        field: "load".into(),
        path,
        ds,
        min: None,
        max: None,
        value: None,
        earlier: Vec::new(),
        tune: false,
    };
    // Every minute (the heartbeat is two), a day's wave and an hourly
    // ripple: something to zoom into.
    let tau = std::f64::consts::TAU;
    let mut points: Vec<(u64, String)> = (first / 60..(now - 60) / 60)
        .map(|m| {
            let x = (m * 60) as f64;
            let v = 2.0 + (x / 86400.0 * tau).sin() + 0.4 * (x / 3600.0 * tau).sin();
            (m * 60, format!("{v:.3}"))
        })
        .collect();
    let (t, v) = points.pop().unwrap();
    plan.value = Some((Some(t), v));
    plan.earlier = points;
    munin_rs::master::store::rrdfile::store(&plan, 60, t).unwrap();
    master("cron", &conf);
    (dir, node, conf)
}

fn master(command: &str, conf: &Path) {
    let out = Command::new(env!("CARGO_BIN_EXE_munin-master"))
        .args([command, "--config"])
        .arg(conf)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{command}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A PNG's width and height (its IHDR chunk).
fn png_size(path: &Path) -> (u32, u32) {
    let b = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(b.starts_with(b"\x89PNG\r\n\x1a\n"), "{}", path.display());
    let n = |at: usize| u32::from_be_bytes(b[at..at + 4].try_into().unwrap());
    (n(16), n(20))
}

/// `graph_hidpi yes` without `graph_strategy cgi`: the cron job draws
/// each graph again at twice the pixels, the pages offer it in `srcset`
/// and link no zoom page (only `serve` has one); turned off, the 2x
/// graphs are deleted and the pages offer none.
#[test]
fn hidpi_graphs_are_drawn_at_twice_the_pixels_and_removed_when_turned_off() {
    let (dir, _node, conf) = site("graph_hidpi yes");
    let host = dir.path().join(format!("www/lab/{HOST}"));
    for period in ["day", "week", "month", "year"] {
        let (w, h) = png_size(&host.join(format!("load-{period}.png")));
        let (w2, h2) = png_size(&host.join(format!("load-{period}-2x.png")));
        assert_eq!((w2, h2), (2 * w, 2 * h), "{period}");
    }
    let page = std::fs::read_to_string(host.join("load.html")).unwrap();
    assert!(
        page.contains("<img src=\"load-day.png\" srcset=\"load-day-2x.png 2x\""),
        "{page}"
    );
    assert!(!page.contains("dynazoom"), "{page}");

    let text = std::fs::read_to_string(&conf).unwrap();
    std::fs::write(&conf, text.replace("graph_hidpi yes", "")).unwrap();
    master("html", &conf);
    assert!(host.join("load-day.png").exists());
    let left: Vec<_> = std::fs::read_dir(&host)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.contains("-2x"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
    let page = std::fs::read_to_string(host.join("load.html")).unwrap();
    assert!(!page.contains("srcset"), "{page}");
}

fn serve(conf: &Path) -> (Killed, u16) {
    let port = support::real_node::free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_munin-master"))
        .args(["serve", "--port", &port.to_string(), "--config"])
        .arg(conf)
        .spawn()
        .unwrap();
    let child = Killed(child);
    let end = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < end, "serve did not listen");
        std::thread::sleep(Duration::from_millis(50));
    }
    (child, port)
}

/// `name=value` from a URL's query.
fn param(url: &str, name: &str) -> Option<String> {
    url.split_once('?')?
        .1
        .split('&')
        .filter_map(|p| p.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

#[test]
fn zoom_page_drag_back_and_without_javascript() {
    if !support::require(
        "chromium (apt-get install chromium)",
        Path::new("/usr/bin/chromium").exists(),
    ) {
        return;
    }
    let (_dir, _node, conf) = site("graph_strategy cgi\ngraph_hidpi yes");
    let (_serve, port) = serve(&conf);
    let origin = format!("http://127.0.0.1:{port}");
    let mut b = Browser::start();

    // The plugin page: its graphs in 2x, each linking to the zoom page.
    b.navigate(&format!("{origin}/lab/{HOST}/load.html"));
    b.wait_images();
    let shown = b.eval("[...document.images].map(i => i.currentSrc)");
    let shown: Vec<&str> = shown
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(shown.len(), 4, "{shown:?}");
    assert!(shown.iter().all(|s| s.ends_with("-2x.png")), "{shown:?}");
    b.screenshot("plugin-page.png");

    // Follow the day graph to the zoom page.
    b.events.clear();
    b.click("a[href*='dynazoom.html'] img");
    b.wait_event("zoom page", |v| v["method"] == "Page.loadEventFired");
    let first_url = b.eval("location.href").as_str().unwrap().to_string();
    assert!(
        first_url.starts_with(&format!(
            "{origin}/static/dynazoom.html?plugin_name=lab/{HOST}/load&start_epoch=-30h&stop_epoch=now"
        )),
        "{first_url}"
    );
    b.wait_until("document.querySelector('.zoom-plot')?.dataset.zoom === 'ready'");
    let src = b.eval("document.getElementById('zoom-graph').currentSrc");
    let src = src.as_str().unwrap();
    assert!(
        src.contains("scale=2"),
        "the 2x graph on a 2x screen: {src}"
    );
    let r = get(port, src.strip_prefix(&origin).unwrap());
    assert_eq!(r.status, 200);
    let geo = geometry(&r);
    assert_eq!(geo.end - geo.start, 30 * 3600, "{geo:?}");
    b.screenshot("zoom-day.png");

    // Drag from 20% to 60% of the plot area's width.
    let rect = b.eval(
        "(() => { const r = document.getElementById('zoom-graph').getBoundingClientRect(); \
         return [r.left, r.top, r.width]; })()",
    );
    let (left, top, width) = (
        rect[0].as_f64().unwrap(),
        rect[1].as_f64().unwrap(),
        rect[2].as_f64().unwrap(),
    );
    let k = width / geo.image_width;
    let at = |f: f64| left + (geo.left + f * geo.width) * k;
    let y = top + (geo.top + geo.height / 2.0) * k;
    let (x0, x1) = (at(0.2), at(0.6));
    let per_css = (geo.end - geo.start) as f64 / (geo.width * k);
    let expect = |x: f64| geo.start as f64 + (x - at(0.0)) * per_css;
    b.mouse("mousePressed", (x0, y), 1);
    for i in 1..=10 {
        let x = x0 + (x1 - x0) * f64::from(i) / 10.0;
        b.mouse("mouseMoved", (x, y + f64::from(i)), 1);
    }
    assert_eq!(
        b.eval("[...document.querySelectorAll('.zoom-sel')].map(e => e.hidden)"),
        json!([false]),
        "the selection is shown while dragging"
    );
    b.screenshot("zoom-selecting.png");
    b.graph_responses();
    b.mouse("mouseReleased", (x1, y), 0);
    b.wait_until(
        "location.search.includes('start_epoch=1') && \
         document.querySelector('.zoom-plot')?.dataset.zoom === 'ready' && \
         document.getElementById('zoom-graph').src.startsWith('blob:')",
    );
    let url = b.eval("location.href").as_str().unwrap().to_string();
    let start: u64 = param(&url, "start_epoch").unwrap().parse().unwrap();
    let end: u64 = param(&url, "stop_epoch").unwrap().parse().unwrap();
    let tolerance = 2.0 * per_css;
    assert!(
        (start as f64 - expect(x0)).abs() <= tolerance
            && (end as f64 - expect(x1)).abs() <= tolerance,
        "dragged {:.0}..{:.0} (±{tolerance:.0} s), drawn {start}..{end}",
        expect(x0),
        expect(x1)
    );
    // The graph drawn is that range's: its request, librrd's own report
    // of the axis it laid out, and the very bytes of that range's graph.
    let responses = b.graph_responses();
    let (png_url, status, headers, _) = responses
        .iter()
        .find(|(u, ..)| u.contains(&format!("start={start}&end={end}")))
        .unwrap_or_else(|| panic!("no graph request for {start}..{end}: {responses:?}"))
        .clone();
    assert_eq!(status, 200, "{png_url}");
    assert!(png_url.contains("scale=2"), "{png_url}");
    assert_eq!(header(&headers, "x-graph-start"), start, "{headers}");
    assert_eq!(header(&headers, "x-graph-end"), end, "{headers}");
    // (The image shown, read back from its blob URL.)
    let shown_png = b.eval(
        "fetch(document.getElementById('zoom-graph').src).then(r => r.arrayBuffer()).then(a => { \
         const u = new Uint8Array(a); let s = ''; \
         for (let i = 0; i < u.length; i += 8192) s += String.fromCharCode(...u.subarray(i, i + 8192)); \
         return btoa(s); })",
    );
    let shown_png = base64(shown_png.as_str().unwrap());
    let direct = get(port, png_url.strip_prefix(&origin).unwrap());
    assert_eq!(direct.status, 200);
    assert!(
        shown_png.starts_with(b"\x89PNG") && shown_png == direct.body,
        "not the range's graph"
    );
    let caption = b.eval("document.querySelector('main p').textContent");
    let utc = munin_rs::master::site::graphdef::utc;
    assert!(
        caption
            .as_str()
            .unwrap()
            .starts_with(&format!("{} to {}", utc(start), utc(end))),
        "{caption}"
    );
    b.screenshot("zoom-dragged.png");

    // Back: the period's range again (`-30h` to now, drawn anew); forward:
    // the dragged one.
    let redrawn = |b: &mut Browser, step: &str, url: &str| {
        let before = b.eval("document.getElementById('zoom-graph').src");
        b.eval(step);
        b.wait_until(&format!(
            "location.href === {} && document.querySelector('.zoom-plot')?.dataset.zoom === 'ready' \
             && document.getElementById('zoom-graph').src !== {before}",
            json!(url)
        ));
    };
    redrawn(&mut b, "history.back()", &first_url);
    let responses = b.graph_responses();
    let (_, _, headers, _) = responses.last().expect("the period's graph drawn again");
    let (s, e) = (
        header(headers, "x-graph-start"),
        header(headers, "x-graph-end"),
    );
    assert_eq!(e - s, 30 * 3600);
    assert!(e >= geo.end && e < geo.end + 600, "{s}..{e} after {geo:?}");
    b.screenshot("zoom-back.png");
    redrawn(&mut b, "history.forward()", &url);
    let src = b.eval("document.getElementById('zoom-graph').src");
    assert!(src.as_str().unwrap().starts_with("blob:"), "{src}");
    let responses = b.graph_responses();
    assert!(
        responses
            .iter()
            .any(|(u, ..)| u.contains(&format!("start={start}&end={end}"))),
        "{responses:?}"
    );
    let complaints = b.complaints();
    assert!(complaints.is_empty(), "{complaints:#?}");

    // JavaScript off: the shared URL shows the range, the static graphs
    // and the fixed ranges; a click on one draws it.
    b.call(
        "Emulation.setScriptExecutionDisabled",
        json!({"value": true}),
    );
    b.navigate(&url);
    b.wait_images();
    assert_eq!(
        b.eval("document.querySelector('.zoom-plot').dataset.zoom === undefined"),
        json!(true),
        "the script did not run"
    );
    let src = b.eval("document.getElementById('zoom-graph').currentSrc");
    assert!(
        src.as_str()
            .unwrap()
            .contains(&format!("start={start}&end={end}")),
        "{src}"
    );
    let statics = b.eval(
        "[...document.querySelectorAll('.graphs figure img')].map(i => i.currentSrc.split('/').pop())",
    );
    assert_eq!(
        statics,
        json!([
            "load-day-2x.png",
            "load-week-2x.png",
            "load-month-2x.png",
            "load-year-2x.png"
        ])
    );
    let links = b.eval("[...document.querySelectorAll('.zoom-nav a')].map(a => a.textContent)");
    for want in [
        "30 hours",
        "8 days",
        "33 days",
        "400 days",
        "Earlier",
        "Zoom in ×2",
        "Zoom out ×2",
    ] {
        assert!(
            links.as_array().unwrap().iter().any(|l| l == want),
            "{want}: {links}"
        );
    }
    b.screenshot("zoom-nojs.png");
    b.graph_responses();
    b.events.clear();
    b.click(".zoom-nav a[href*='start_epoch=-8d']");
    b.wait_event("8 days", |v| v["method"] == "Page.loadEventFired");
    b.wait_until("document.getElementById('zoom-graph').complete");
    let href = b.eval("location.href");
    assert_eq!(
        param(href.as_str().unwrap(), "start_epoch").as_deref(),
        Some("-8d"),
        "{href}"
    );
    let responses = b.graph_responses();
    let (_, status, headers, _) = responses.last().expect("the 8 days' graph");
    assert_eq!(*status, 200);
    assert_eq!(
        header(headers, "x-graph-end") - header(headers, "x-graph-start"),
        8 * 86400
    );
    b.screenshot("zoom-nojs-8d.png");
    let complaints = b.complaints();
    assert!(complaints.is_empty(), "{complaints:#?}");
}
