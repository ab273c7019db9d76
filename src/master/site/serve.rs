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
use super::sitemap::{graph_file, host_dir};
use crate::master::conf::MasterConf;
use crate::master::state::{self, ServiceConfig};
use crate::master::store::workers::Pool;

/// A graph the site shows: whose and which.
#[derive(Clone)]
struct Known {
    host: usize,
    /// The host's update rate.
    step: u64,
    service: ServiceConfig,
    period: Period,
    /// For an aggregate: when its sources last answered.
    data: Option<u64>,
}

/// munin.conf, the graphs it shows by path in htmldir, and when each
/// host last answered.
struct Current {
    conf: MasterConf,
    graphs: HashMap<String, Known>,
    answered: Vec<u64>,
    /// Each graph's draw since the inputs last changed: requests arriving
    /// while it runs wait for the same draw, and a failure is answered from
    /// here (500 and librrd's reason) until munin.conf or the update's
    /// state changes, never drawn again per request.
    draws: Mutex<HashMap<String, Arc<Drawn>>>,
}

type Drawn = tokio::sync::OnceCell<Result<(), String>>;

type Index = Arc<Current>;

struct Site {
    conf_path: PathBuf,
    pool: Pool,
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
    fn current(&self) -> Result<Index, String> {
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
        let mut map = HashMap::new();
        for (i, (h, config)) in conf_now.hosts.iter().zip(configs).enumerate() {
            let Some(config) = config else {
                continue;
            };
            for pc in config.plugins.values() {
                for s in &pc.services {
                    for period in Period::ALL {
                        map.insert(
                            format!("{}{}", host_dir(h), graph_file(&s.name, period)),
                            Known {
                                host: i,
                                step: u64::from(h.update_rate.unwrap_or(conf_now.update_rate)),
                                service: s.clone(),
                                period,
                                data: pc.data,
                            },
                        );
                    }
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
                    graphs: map,
                    answered,
                    draws: Mutex::default(),
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

fn respond(status: StatusCode, kind: &str, body: Vec<u8>) -> Response {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, kind)
        .header(header::CACHE_CONTROL, "no-cache")
        .body(Body::from(body))
        .unwrap_or_default()
}

async fn get(State(site): State<Arc<Site>>, method: Method, uri: Uri) -> Response {
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
    if let Some(k) = current.graphs.get(&rel) {
        let drawn = current
            .draws
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(rel.clone())
            .or_default()
            .clone();
        let outcome = drawn
            .get_or_init(|| async {
                let r = refresh(&site, &current, k, &path).await;
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
async fn refresh(site: &Site, current: &Current, k: &Known, path: &Path) -> Result<(), String> {
    let conf = &current.conf;
    let host = &conf.hosts[k.host];
    let answered = k.data.unwrap_or(current.answered[k.host]);
    let now = crate::clock::now();
    let drawn = mtime(path).map(crate::clock::since_epoch);
    let due = match drawn {
        None => true,
        Some(at) => html::moved(at, answered, k.period, k.step),
    };
    if !due {
        return Ok(());
    }
    let spec = html::spec(&conf.dbdir, host, &k.service);
    let draw = Draw {
        png: path.to_path_buf(),
        args: html::draw_args(conf.rrdcached_socket.as_deref(), &spec, k.period, now)?.args,
    };
    site.pool
        .draw(vec![draw])
        .await
        .pop()
        .unwrap_or_else(|| Err("no answer".into()))
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
        index: Mutex::new((
            None,
            Arc::new(Current {
                conf: MasterConf::default(),
                graphs: HashMap::new(),
                answered: Vec::new(),
                draws: Mutex::default(),
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
