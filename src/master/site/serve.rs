//! `munin-master serve`: htmldir over HTTP on 127.0.0.1, for people
//! without a web server, drawing graphs on demand.
//!
//! A request for a graph PNG that is missing, or drawn before its host's
//! last answer completed a new row of the graph's archive, draws it first,
//! in a worker process, then serves it: with `graph_strategy cgi` the
//! cron job draws nothing and a graph is exactly as fresh as the last
//! update when someone looks at it. Other files are served as they are.
//! Request paths are checked part by part against what the site writes
//! (`[A-Za-z0-9_.-]`, no leading dot), so nothing outside htmldir is
//! reachable.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{Method, StatusCode, Uri, header};
use axum::response::Response;

use super::graphdef::Period;
use super::html;
use super::render::Draw;
use super::sitemap::{graph_file, graph_file_2x, host_dir, service_base};
use crate::master::conf::MasterConf;
use crate::master::state::{self, HostConfig, ServiceConfig, Values};
use crate::master::store::workers::Pool;

/// A graph the site shows: whose and which.
pub struct Shown {
    pub host: usize,
    /// The host's update rate.
    pub step: u64,
    /// Where in `configs[host]`: the plugin and the service's index.
    plugin: String,
    index: usize,
    /// For an aggregate: when its sources last answered.
    data: Option<u64>,
    /// Its path in the site without extension (`group/host/load`).
    pub base: String,
}

/// munin.conf, the hosts' stored configs and last values, and the graphs
/// they make, by path in htmldir.
pub struct Current {
    pub conf: MasterConf,
    pub configs: Vec<Option<HostConfig>>,
    pub values: Values,
    pub services: Vec<Shown>,
    /// A period graph's file → (service, period, zoom): `load-day.png`,
    /// and `load-day-2x.png` for HiDPI screens under `graph_hidpi yes`.
    graphs: HashMap<String, (usize, Period, u32)>,
    /// A service's base path → service.
    pub bases: HashMap<String, usize>,
    pub answered: Vec<u64>,
    catalog: std::sync::OnceLock<Vec<crate::master::expr::Source>>,
    /// Each graph's draw since the inputs last changed: requests arriving
    /// while it runs wait for the same draw, and a failure is answered from
    /// here (500 and librrd's reason) until munin.conf or the update's
    /// state changes, never drawn again per request.
    draws: Mutex<HashMap<String, Arc<Drawn>>>,
    /// `/metrics` of this state, text and OpenMetrics, made once.
    pub metrics: [std::sync::OnceLock<axum::body::Bytes>; 2],
}

impl Current {
    pub fn service(&self, s: &Shown) -> &ServiceConfig {
        &self.configs[s.host]
            .as_ref()
            .expect("indexed from a config")
            .plugins[&s.plugin]
            .services[s.index]
    }

    /// When a graph's data last changed.
    pub fn stamp(&self, s: &Shown) -> u64 {
        s.data.unwrap_or(self.answered[s.host])
    }

    /// Every stored field, for expressions typed in (made once per state).
    pub fn catalog(&self) -> &[crate::master::expr::Source] {
        self.catalog
            .get_or_init(|| super::expressions::catalog(&self.conf, &self.configs))
    }

    /// A period graph's path → its service and period.
    pub fn graphs_get(&self, rel: &str) -> Option<(usize, Period)> {
        self.graphs.get(rel).map(|&(n, p, _)| (n, p))
    }

    /// The graph of `s`, its fields pointed at their files.
    pub fn spec(&self, s: &Shown) -> super::graphdef::GraphSpec {
        html::spec(&self.conf.dbdir, &self.conf.hosts[s.host], self.service(s))
    }
}

type Drawn = tokio::sync::OnceCell<Result<(), String>>;

type Index = Arc<Current>;

pub struct Site {
    conf_path: PathBuf,
    pub pool: Pool,
    /// Any-range graphs drawn.
    pub cache: crate::master::explore::cache::Cache,
    /// Room for explore requests (drawing or exporting, or waiting to):
    /// beyond it a request is refused at once, not queued without bound.
    pub room: Arc<tokio::sync::Semaphore>,
    /// Graph paths → graphs, rebuilt when the update's state changes.
    /// Rebuilt when munin.conf or values.json changes.
    index: Mutex<(Option<(SystemTime, SystemTime)>, Index)>,
}

fn mtime(p: &Path) -> Option<SystemTime> {
    std::fs::metadata(p).and_then(|m| m.modified()).ok()
}

impl Site {
    /// The current munin.conf and graph index (re-read when values.json
    /// changed, i.e. after each update).
    pub fn current(&self) -> Result<Index, String> {
        let mut cached = self.index.lock().unwrap_or_else(|p| p.into_inner());
        let values_path = state::values_path(&cached.1.conf.dbdir);
        let stamp = mtime(&self.conf_path).zip(mtime(&values_path));
        if cached.0 == stamp && stamp.is_some() {
            return Ok(cached.1.clone());
        }
        let conf_now = MasterConf::load(&self.conf_path)?;
        let values = state::load_values(&state::values_path(&conf_now.dbdir));
        let answered = state::answered(&values, &conf_now.hosts);
        let (configs, notes) = html::configs(&conf_now, &answered);
        for n in notes {
            tracing::debug!("{n}");
        }
        let (mut services, mut graphs, mut bases) = (Vec::new(), HashMap::new(), HashMap::new());
        for (i, (h, config)) in conf_now.hosts.iter().zip(&configs).enumerate() {
            let Some(config) = config else {
                continue;
            };
            let hidpi = html::hidpi(&conf_now, h);
            for (plugin, pc) in &config.plugins {
                for (index, s) in pc.services.iter().enumerate() {
                    let n = services.len();
                    let base = format!("{}{}", host_dir(h), service_base(&s.name));
                    for period in Period::ALL {
                        graphs.insert(
                            format!("{}{}", host_dir(h), graph_file(&s.name, period)),
                            (n, period, 1),
                        );
                        if hidpi {
                            graphs.insert(
                                format!("{}{}", host_dir(h), graph_file_2x(&s.name, period)),
                                (n, period, 2),
                            );
                        }
                    }
                    bases.insert(base.clone(), n);
                    services.push(Shown {
                        host: i,
                        step: u64::from(h.update_rate.unwrap_or(conf_now.update_rate)),
                        plugin: plugin.clone(),
                        index,
                        data: pc.data,
                        base,
                    });
                }
            }
        }
        // Stamped after reading, with the dbdir just read: a change during
        // the read is seen on the next request.
        let stamp = mtime(&self.conf_path).zip(mtime(&state::values_path(&conf_now.dbdir)));
        let old = std::mem::replace(
            &mut *cached,
            (
                stamp,
                Arc::new(Current {
                    conf: conf_now,
                    configs,
                    values,
                    services,
                    graphs,
                    bases,
                    answered,
                    catalog: Default::default(),
                    draws: Mutex::default(),
                    metrics: Default::default(),
                }),
            ),
        );
        drop(old);
        // An index is rebuilt after every update (tens of MB at thousands of
        // nodes): give the old one's pages back rather than keep the peak.
        crate::sys::release_free_memory();
        Ok(cached.1.clone())
    }
}

/// The request path as a path in htmldir, or `None` if it is not one the
/// site could have written.
pub fn local_path(uri_path: &str) -> Option<String> {
    let rel = uri_path.trim_start_matches('/');
    let ok = rel.split('/').all(|p| {
        !p.starts_with('.')
            && p.chars()
                .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
    });
    if !ok || rel.contains("//") {
        return None;
    }
    Some(if rel.is_empty() || rel.ends_with('/') {
        format!("{rel}index.html")
    } else {
        rel.to_string()
    })
}

pub fn respond(status: StatusCode, kind: &str, body: Vec<u8>) -> Response {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, kind)
        .header(header::CACHE_CONTROL, "no-cache")
        .body(Body::from(body))
        .unwrap_or_default()
}

async fn get(
    State(site): State<Arc<Site>>,
    method: Method,
    headers: header::HeaderMap,
    uri: Uri,
) -> Response {
    if method != Method::GET && method != Method::HEAD {
        let mut r = respond(
            StatusCode::METHOD_NOT_ALLOWED,
            "text/plain",
            format!("{method} is not served here: GET or HEAD\n").into_bytes(),
        );
        r.headers_mut()
            .insert(header::ALLOW, header::HeaderValue::from_static("GET, HEAD"));
        return r;
    }
    if let Some(answer) = crate::master::explore::answer::route(&site, &headers, &uri).await {
        return answer;
    }
    let Some(rel) = local_path(uri.path()) else {
        return respond(StatusCode::NOT_FOUND, "text/plain", b"not found\n".to_vec());
    };
    let current = match tokio::task::block_in_place(|| site.current()) {
        Ok(c) => c,
        Err(e) => {
            return respond(
                StatusCode::INTERNAL_SERVER_ERROR,
                "text/plain",
                format!("{e}\n").into_bytes(),
            );
        }
    };
    let path = current.conf.htmldir.join(&rel);
    if let Some(&(n, period, zoom)) = current.graphs.get(&rel) {
        let drawn = current
            .draws
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(rel.clone())
            .or_default()
            .clone();
        let outcome = drawn
            .get_or_init(|| async {
                let r = refresh(&site, &current, &current.services[n], period, zoom, &path).await;
                if let Err(e) = &r {
                    tracing::error!("{rel}: {e}");
                }
                r
            })
            .await;
        if let Err(e) = outcome {
            return respond(
                StatusCode::INTERNAL_SERVER_ERROR,
                "text/plain",
                format!("cannot draw {rel}: {e}\n").into_bytes(),
            );
        }
    }
    let kind = match rel.rsplit('.').next() {
        Some("html") => "text/html; charset=utf-8",
        Some("css") => "text/css",
        Some("png") => "image/png",
        Some("js") => "text/javascript; charset=utf-8",
        _ => "application/octet-stream",
    };
    match tokio::task::block_in_place(|| std::fs::read(&path)) {
        Ok(bytes) => respond(StatusCode::OK, kind, bytes),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            respond(StatusCode::NOT_FOUND, "text/plain", b"not found\n".to_vec())
        }
        // Out of descriptors under a connection flood, say: not a 404.
        Err(e) => respond(
            StatusCode::SERVICE_UNAVAILABLE,
            "text/plain",
            format!("cannot read {rel}: {e}\n").into_bytes(),
        ),
    }
}

/// Draws the graph at `path` if it is missing or behind its host's data.
async fn refresh(
    site: &Site,
    current: &Current,
    k: &Shown,
    period: Period,
    zoom: u32,
    path: &Path,
) -> Result<(), String> {
    let conf = &current.conf;
    let answered = current.stamp(k);
    let now = crate::clock::now();
    let drawn = mtime(path).map(crate::clock::since_epoch);
    let due = match drawn {
        None => true,
        Some(at) => html::moved(at, answered, period, k.step),
    };
    if !due {
        return Ok(());
    }
    let spec = current.spec(k);
    let draw = Draw {
        png: path.to_path_buf(),
        args: html::zoomed(
            html::draw_args(conf.rrdcached_socket.as_deref(), &spec, period, now)?.args,
            zoom,
        ),
    };
    site.pool
        .draw(vec![draw])
        .await
        .pop()
        .unwrap_or_else(|| Err("no answer".into()))
        .map(drop)
}

/// Serves until interrupted.
pub async fn run(conf_path: PathBuf, port: u16, workers: usize) -> Result<(), String> {
    crate::sys::limit_malloc_arenas(2);
    let pool = match std::env::current_exe() {
        Ok(exe) if workers > 0 => Pool::start(exe, workers),
        _ => Pool::local(),
    };
    let site = Arc::new(Site {
        conf_path,
        pool,
        cache: Default::default(),
        room: Arc::new(tokio::sync::Semaphore::new(
            crate::master::explore::answer::ROOM,
        )),
        index: Mutex::new((
            None,
            Arc::new(Current {
                conf: MasterConf::default(),
                configs: Vec::new(),
                values: Values::default(),
                services: Vec::new(),
                graphs: HashMap::new(),
                bases: HashMap::new(),
                answered: Vec::new(),
                catalog: Default::default(),
                draws: Mutex::default(),
                metrics: Default::default(),
            }),
        )),
    });
    tokio::task::block_in_place(|| site.current())?;
    let app = Router::new().fallback(get).with_state(site);
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    tracing::info!("serving http://{addr}/");
    let limits = crate::httpd::Limits::within(crate::sys::raise_fd_limit(), 0);
    crate::httpd::serve(listener, app, limits, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_site_paths_are_served() {
        assert_eq!(local_path("/").as_deref(), Some("index.html"));
        assert_eq!(local_path("/g/h/").as_deref(), Some("g/h/index.html"));
        assert_eq!(
            local_path("/g/h/load-day.png").as_deref(),
            Some("g/h/load-day.png")
        );
        for bad in [
            "/../etc/passwd",
            "/g/../../x",
            "/.hidden",
            "/a%2e%2e/x",
            "/a//b",
        ] {
            assert_eq!(local_path(bad), None, "{bad}");
        }
    }
}
