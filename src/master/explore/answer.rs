//! `serve`'s exploring requests, answered:
//!
//! - `/<base>.png?start=&end=&width=&height=&scale=` and Munin's
//!   `/<base>-pinpoint=START,END.png?size_x=&size_y=` (also a period
//!   graph's path with a query): the graph over any range, drawn by librrd
//!   in the worker processes, kept in the cache while its inputs hold.
//! - `/<base>.csv` and `/<base>.json` with the same range parameters: the
//!   graph's data.
//! - `/static/dynazoom.html?plugin_name=<base>&start_epoch=...`: the zoom
//!   page, at Munin's URL.
//! - `/static/expr.{png,csv,json}?expr=…`: an expression typed in (see
//!   `master::expr`), drawn or exported over the same ranges.
//! - `/metrics`: every host's last values for Prometheus.
//!
//! `<base>` is a graph's path without extension (`group/host/load`), and
//! only a base the site has is answered: nothing from the URL reaches a
//! path or librrd but the numbers of the window, which are checked.
//! Drawing and exporting take room ([`ROOM`] requests at once, waiting
//! included); beyond it a request gets 503 and `Retry-After` at once.

use std::sync::Arc;

use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::Response;

use super::cache::{self, Image};
use super::window::{Window, param, query_pairs};
use super::{export, metrics, zoom};
use crate::master::site::expressions;
use crate::master::site::graphdef::{self, Period, attr, xport};
use crate::master::site::render::Draw;
use crate::master::site::serve::{Current, Site, respond};

/// Explore requests drawing, exporting or waiting to, at most.
pub const ROOM: usize = 256;
/// The longest expression typed in, in bytes.
pub const MAX_EXPRESSION: usize = 4096;

/// What an explore request asks for.
enum Ask<'a> {
    Png {
        pinpoint: Option<&'a str>,
        default_span: u64,
    },
    Csv,
    Json,
}

/// The answer to `uri` if it is an explore request, else `None` (a file
/// of the site).
pub async fn route(site: &Arc<Site>, headers: &HeaderMap, uri: &Uri) -> Option<Response> {
    let path = uri.path();
    let query = uri.query().unwrap_or("");
    if path != "/metrics"
        && path != "/static/dynazoom.html"
        && !path.ends_with(".csv")
        && !path.ends_with(".json")
        && !path.ends_with(".png")
    {
        return None;
    }
    let current = match tokio::task::block_in_place(|| site.current()) {
        Ok(c) => c,
        Err(e) => return Some(text(StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n"))),
    };
    if path == "/metrics" {
        let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
        return Some(prometheus(&current, metrics::wants_open_metrics(accept)));
    }
    let pairs = query_pairs(query);
    if path == "/static/dynazoom.html" {
        return Some(zoom_page(&current, &pairs));
    }
    if let Some(kind) = path.strip_prefix("/static/expr.") {
        return Some(adhoc(site, &current, &pairs, kind).await);
    }
    let rel = path.trim_start_matches('/');
    let (base, ask) = if let Some(b) = rel.strip_suffix(".csv") {
        (b, Ask::Csv)
    } else if let Some(b) = rel.strip_suffix(".json") {
        (b, Ask::Json)
    } else {
        let stem = rel.strip_suffix(".png").unwrap_or(rel);
        match stem.split_once("-pinpoint=") {
            Some((b, pp)) => (
                b,
                Ask::Png {
                    pinpoint: Some(pp),
                    default_span: Period::Day.span(),
                },
            ),
            // A period graph without a query is the site's file.
            None if query.is_empty() && current.graphs_get(rel).is_some() => return None,
            None => match period_graph(&current, rel) {
                Some((b, p)) => (
                    b,
                    Ask::Png {
                        pinpoint: None,
                        default_span: p.span(),
                    },
                ),
                None => (
                    stem,
                    Ask::Png {
                        pinpoint: None,
                        default_span: Period::Day.span(),
                    },
                ),
            },
        }
    };
    let Some(&n) = current.bases.get(base) else {
        // Not a graph: a site file or nothing, as without a query.
        return match ask {
            Ask::Png { .. } if !rel.contains("-pinpoint=") => None,
            _ => Some(text(StatusCode::NOT_FOUND, "no such graph\n".into())),
        };
    };
    let Ok(_room) = site.room.clone().try_acquire_owned() else {
        return Some(busy());
    };
    let shown = &current.services[n];
    let spec = current.spec(shown);
    let (pinpoint, default_span) = match ask {
        Ask::Png {
            pinpoint,
            default_span,
        } => (pinpoint, default_span),
        _ => (None, Period::Day.span()),
    };
    let size = |key: &str, default: u32| {
        attr(&spec.graph, key)
            .and_then(|v| v.trim().parse::<u32>().ok())
            .map_or(default, |v| v.clamp(100, 2000))
    };
    let now = crate::clock::now();
    let window = match Window::parse(
        &pairs,
        pinpoint,
        now,
        default_span,
        (size("graph_width", 400), size("graph_height", 175)),
    ) {
        Ok(w) => w,
        Err(e) => return Some(text(StatusCode::BAD_REQUEST, format!("{e}\n"))),
    };
    let daemon = current.conf.rrdcached_socket.clone();
    let stamp = current.stamp(shown);
    Some(match ask {
        Ask::Png { .. } => png(site, &shown.base, stamp, &spec, &window, daemon).await,
        Ask::Csv | Ask::Json => {
            let meta = meta(&shown.base, &spec, &current.service(shown).name);
            data(site, &meta, &spec, &window, daemon, matches!(ask, Ask::Csv)).await
        }
    })
}

/// `/static/expr.{png,csv,json}?expr=…`: an expression typed in, over
/// the whole site's fields.
async fn adhoc(site: &Site, current: &Current, pairs: &[(String, String)], kind: &str) -> Response {
    let Some(text) = param(pairs, &["expr"]).filter(|t| !t.trim().is_empty()) else {
        return self::text(
            StatusCode::BAD_REQUEST,
            "expr=: an expression is needed\n".into(),
        );
    };
    if text.len() > MAX_EXPRESSION {
        return self::text(
            StatusCode::BAD_REQUEST,
            format!("expr=: {} bytes, at most {MAX_EXPRESSION}\n", text.len()),
        );
    }
    let sources = match expressions::selected(text, current.catalog()) {
        Ok(s) => s,
        Err(e) => return self::text(StatusCode::BAD_REQUEST, format!("{e}\n")),
    };
    let spec = graphdef::GraphSpec {
        graph: vec![
            ("graph_title".into(), "Expression".into()),
            ("expr".into(), text.to_string()),
        ],
        fields: sources
            .iter()
            .filter(|s| s.file.exists())
            .map(|s| graphdef::GraphField {
                name: format!(
                    "{}{}:{}.{}",
                    s.groups.iter().map(|g| format!("{g};")).collect::<String>(),
                    s.host,
                    s.service,
                    s.field
                ),
                attrs: vec![("label".into(), s.label.clone())],
                file: Some(s.file.clone()),
            })
            .collect(),
    };
    let now = crate::clock::now();
    let window = match Window::parse(pairs, None, now, Period::Day.span(), (800, 300)) {
        Ok(w) => w,
        Err(e) => return self::text(StatusCode::BAD_REQUEST, format!("{e}\n")),
    };
    let Ok(_room) = site.room.clone().try_acquire_owned() else {
        return busy();
    };
    let daemon = current.conf.rrdcached_socket.clone();
    let stamp = current.answered.iter().copied().max().unwrap_or(0);
    match kind {
        "png" => png(site, "expression", stamp, &spec, &window, daemon).await,
        "csv" | "json" => {
            let meta = meta("expression", &spec, "expression");
            data(site, &meta, &spec, &window, daemon, kind == "csv").await
        }
        _ => self::text(StatusCode::NOT_FOUND, "not found\n".into()),
    }
}

/// 503 and when to try again.
fn busy() -> Response {
    let mut r = text(
        StatusCode::SERVICE_UNAVAILABLE,
        format!("{ROOM} graph requests are waiting already; try again\n"),
    );
    r.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    r
}

/// `rel` as a period graph's path: its service's base and the period.
fn period_graph<'a>(current: &'a Current, rel: &str) -> Option<(&'a str, Period)> {
    let (n, period) = current.graphs_get(rel)?;
    Some((current.services[n].base.as_str(), period))
}

fn text(status: StatusCode, body: String) -> Response {
    respond(status, "text/plain; charset=utf-8", body.into_bytes())
}

/// The graph over `w`, from the cache or drawn.
async fn png(
    site: &Site,
    base: &str,
    stamp: u64,
    spec: &graphdef::GraphSpec,
    w: &Window,
    daemon: Option<String>,
) -> Response {
    let mut args = match graphdef::build_window(spec, w) {
        Ok(b) => b.args,
        Err(e) => {
            // An expression that selects nothing, a graph without data.
            return text(StatusCode::BAD_REQUEST, format!("{base}: {e}\n"));
        }
    };
    if let Some(socket) = daemon {
        args.extend(["--daemon".to_string(), socket]);
    }
    let key = cache::key(&args, stamp);
    let drawn = site
        .cache
        .get_or_draw(key, async {
            let file = scratch(key);
            let info = site
                .pool
                .draw(vec![Draw {
                    png: file.clone(),
                    args,
                }])
                .await
                .pop()
                .unwrap_or_else(|| Err("no answer".into()));
            let png = info.as_ref().ok().map(|_| std::fs::read(&file));
            let _ = std::fs::remove_file(&file);
            let info = info?;
            let png = png
                .unwrap_or_else(|| Ok(Vec::new()))
                .map_err(|e| format!("cannot read the drawn graph: {e}"))?;
            Ok(Image { png, info })
        })
        .await;
    match drawn {
        Ok(image) => image_response(&image),
        Err(e) => {
            tracing::error!("{base}: {e}");
            text(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("cannot draw {base}: {e}\n"),
            )
        }
    }
}

/// Where a worker draws an any-range graph before it is read into the
/// cache: a directory of this process's own under the temporary
/// directory, made with mode 0700. A name someone else took first is
/// skipped for the next, never used: librrd opens its file by name, and a
/// planted link there would send the image anywhere.
fn scratch(key: u64) -> std::path::PathBuf {
    static DIR: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        let mut b = std::fs::DirBuilder::new();
        std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
        (0..100)
            .map(|n| {
                std::env::temp_dir().join(format!("munin-rs-serve-{}-{n}", std::process::id()))
            })
            .find(|dir| b.create(dir).is_ok() && owned(dir))
            // Nowhere to draw: the draw fails and says where it tried.
            .unwrap_or_else(|| std::env::temp_dir().join("munin-rs-serve-unavailable/none"))
    })
    .join(format!("{key:016x}.png"))
}

/// Whether `dir` is a directory of this user's that nobody else can write.
fn owned(dir: &std::path::Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::symlink_metadata(dir).is_ok_and(|m| {
        m.is_dir() && m.uid() == nix::unistd::geteuid().as_raw() && m.mode() & 0o022 == 0
    })
}

/// The PNG, with librrd's numbers about it as headers, for the zoom
/// page's script: where the plot area is and which range it shows.
fn image_response(image: &Image) -> Response {
    let mut r = respond(StatusCode::OK, "image/png", image.png.clone());
    for (key, name) in [
        ("graph_start", "x-graph-start"),
        ("graph_end", "x-graph-end"),
        ("graph_left", "x-graph-left"),
        ("graph_top", "x-graph-top"),
        ("graph_width", "x-graph-width"),
        ("graph_height", "x-graph-height"),
        ("image_width", "x-image-width"),
        ("image_height", "x-image-height"),
        ("value_min", "x-value-min"),
        ("value_max", "x-value-max"),
    ] {
        if let Some(v) = image.info.get(key)
            && let Ok(v) = HeaderValue::from_str(&v.to_string())
        {
            r.headers_mut().insert(name, v);
        }
    }
    r
}

/// The graph's data over `w` as CSV or JSON.
async fn data(
    site: &Site,
    meta: &export::Meta,
    spec: &graphdef::GraphSpec,
    w: &Window,
    daemon: Option<String>,
    csv: bool,
) -> Response {
    let e = match xport::export(spec, w.start, w.end, w.width) {
        Ok(e) => e,
        Err(e) => {
            return text(StatusCode::BAD_REQUEST, format!("{}: {e}\n", meta.graph));
        }
    };
    let mut args = e.args;
    if let Some(socket) = daemon {
        args.extend(["--daemon".to_string(), socket]);
    }
    let x = match site.pool.export(args).await {
        Ok(x) => x,
        Err(err) => {
            return text(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("cannot export {}: {err}\n", meta.graph),
            );
        }
    };
    if csv {
        let mut r = respond(
            StatusCode::OK,
            "text/csv; charset=utf-8",
            export::csv(&e.columns, &x).into_bytes(),
        );
        let name = meta.graph.replace('/', "_");
        if let Ok(v) = HeaderValue::from_str(&format!("inline; filename=\"{name}.csv\"")) {
            r.headers_mut().insert(header::CONTENT_DISPOSITION, v);
        }
        return r;
    }
    respond(
        StatusCode::OK,
        "application/json",
        export::json(meta, &e.columns, &x).into_bytes(),
    )
}

/// What a graph's JSON says of it besides its data.
fn meta(base: &str, spec: &graphdef::GraphSpec, name: &str) -> export::Meta {
    let per = attr(&spec.graph, "graph_period").unwrap_or("second");
    export::Meta {
        graph: base.to_string(),
        title: attr(&spec.graph, "graph_title").unwrap_or(name).to_string(),
        vlabel: attr(&spec.graph, "graph_vlabel").map(|v| v.replace("${graph_period}", per)),
    }
}

/// The zoom page of `plugin_name`.
fn zoom_page(current: &Current, pairs: &[(String, String)]) -> Response {
    let name = param(pairs, &["plugin_name"]).unwrap_or("");
    let Some(&n) = current.bases.get(name.trim_matches('/')) else {
        return text(
            StatusCode::NOT_FOUND,
            "no such graph (plugin_name)\n".into(),
        );
    };
    let shown = &current.services[n];
    let service = current.service(shown);
    let now = crate::clock::now();
    let window = match Window::parse(pairs, None, now, Period::Day.span(), (800, 400)) {
        Ok(w) => w,
        Err(e) => return text(StatusCode::BAD_REQUEST, format!("{e}\n")),
    };
    let g = zoom::ZoomGraph {
        host: &current.conf.hosts[shown.host],
        service,
        window,
        hidpi: crate::master::site::html::hidpi(&current.conf, &current.conf.hosts[shown.host]),
    };
    respond(
        StatusCode::OK,
        "text/html; charset=utf-8",
        zoom::page(&g, now).into_bytes(),
    )
}

/// `/metrics`, made once per update (off the async threads: 0.3 s at
/// 3000 hosts) and shared by every scrape until the next, not copied.
fn prometheus(current: &Current, open: bool) -> Response {
    let body = current.metrics[usize::from(open)]
        .get_or_init(|| {
            tokio::task::block_in_place(|| {
                metrics::exposition(&current.conf, &current.configs, &current.values, open).into()
            })
        })
        .clone();
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, metrics::content_type(open))
        .header(header::CACHE_CONTROL, "no-cache")
        .body(axum::body::Body::from(body))
        .unwrap_or_default()
}
