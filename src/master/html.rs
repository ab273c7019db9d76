//! `munin-master html`: the static site in htmldir, from what the update
//! and limits steps left in `<dbdir>/munin-rs-state/`.
//!
//! Incremental: a page is written only when its text changed; a graph is
//! drawn only when it is missing, its plugin's config changed, or its
//! host answered since it was drawn and its period's archive has moved on
//! (the day graph every run, the year graph once a day). Graphs are drawn
//! in worker processes (librrd's graph is not thread-safe), day graphs
//! first, oldest first, and no new batch starts once the time budget is
//! spent: the rest are drawn next run. With `graph_strategy cgi` in
//! munin.conf, no graph is drawn here at all: `serve` draws each when a
//! browser asks for it (see `ondemand`).

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::conf::{Host, MasterConf};
use super::graphdef::{self, GraphField, GraphSpec, Period};
use super::layout::{self, DsType};
use super::limits;
use super::pages::{self, HostSummary, ServiceView};
use super::render::Draw;
use super::sitemap::{graph_file, host_dir};
use super::state::{self, HostConfig, HostStatus, ServiceConfig};
use super::workers::Pool;

/// When a graph was drawn, from which config and which data.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Drawn {
    pub at: u64,
    pub hash: String,
    pub data: u64,
}

/// Every drawn graph, by its path in htmldir.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Graphs {
    pub graphs: BTreeMap<String, Drawn>,
}

fn graphs_path(dbdir: &Path) -> PathBuf {
    dbdir.join("munin-rs-state").join("graphs.json")
}

/// How a run draws graphs.
#[derive(Debug, Clone)]
pub struct Options {
    /// Draw graphs (false for `graph_strategy cgi`: `serve` draws them).
    pub draw: bool,
    /// Stop starting graphs after this long.
    pub budget: Option<Duration>,
    pub workers: usize,
    /// This binary, to start workers; `None` draws in this process.
    pub exe: Option<PathBuf>,
}

impl Options {
    /// Graphs drawn here unless munin.conf says `graph_strategy cgi`.
    pub fn for_conf(conf: &MasterConf) -> Options {
        let cgi = conf
            .settings
            .iter()
            .any(|(k, v)| k == "graph_strategy" && v.trim() == "cgi");
        Options {
            draw: !cgi,
            budget: None,
            workers: std::thread::available_parallelism().map_or(1, |n| n.get()),
            exe: std::env::current_exe().ok(),
        }
    }
}

/// What a run did.
#[derive(Debug, Default)]
pub struct Report {
    pub pages_written: usize,
    pub pages_unchanged: usize,
    pub graphs_drawn: usize,
    pub graphs_fresh: usize,
    pub graphs_deferred: usize,
    pub graphs_failed: usize,
    pub errors: Vec<String>,
    /// Attributes left out of graphs (not failures).
    pub notes: Vec<String>,
    pub wall: Duration,
}

impl Report {
    pub fn line(&self) -> String {
        format!(
            "html: {:.2} s; pages {} written {} unchanged; graphs {} drawn {} fresh {} deferred {} failed",
            self.wall.as_secs_f64(),
            self.pages_written,
            self.pages_unchanged,
            self.graphs_drawn,
            self.graphs_fresh,
            self.graphs_deferred,
            self.graphs_failed
        )
    }
}

/// Writes `text` at `htmldir/rel` unless it is already there (whole, by
/// rename; not fsynced: pages are made again from the data).
fn put(htmldir: &Path, rel: &str, text: &[u8], report: &mut Report) {
    let path = htmldir.join(rel);
    if std::fs::read(&path).is_ok_and(|old| old == text) {
        report.pages_unchanged += 1;
        return;
    }
    let written = path
        .parent()
        .map_or(Ok(()), |d| {
            std::fs::create_dir_all(d).map_err(|e| format!("{}: {e}", d.display()))
        })
        .and_then(|()| crate::atomic_file::replace_unsynced(&path, text));
    match written {
        Ok(()) => report.pages_written += 1,
        Err(e) => report.errors.push(e),
    }
}

/// Whether any field of `service` has a stored value.
fn has_data(service: &ServiceConfig, status: Option<&HostStatus>) -> bool {
    status.is_some_and(|s| {
        service
            .fields
            .iter()
            .any(|(f, _)| s.values.contains_key(&format!("{}.{f}", service.name)))
    })
}

/// The graph of one service of `host`, its fields pointed at their files
/// (those that exist).
pub fn spec(dbdir: &Path, host: &Host, service: &ServiceConfig) -> GraphSpec {
    let fields = service
        .fields
        .iter()
        .map(|(name, attrs)| {
            let ds = graphdef::attr(attrs, "type")
                .and_then(DsType::parse)
                .unwrap_or(DsType::Gauge);
            let file = layout::rrd_path(dbdir, host, &service.name, name, ds)
                .ok()
                .filter(|p| p.exists());
            GraphField {
                name: name.clone(),
                attrs: attrs.clone(),
                file,
            }
        })
        .collect();
    GraphSpec {
        graph: service.graph.clone(),
        fields,
    }
}

/// librrd's arguments for one graph, and what was left out of it: through
/// rrdcached when the update writes through it, so librrd flushes the
/// graph's files first and the graph shows the values rrdcached holds.
pub fn draw_args(
    rrdcached: Option<&str>,
    spec: &GraphSpec,
    period: Period,
    end: u64,
) -> Result<graphdef::Built, String> {
    let mut built = graphdef::build(spec, period, end)?;
    if let Some(socket) = rrdcached {
        built
            .args
            .extend(["--daemon".to_string(), socket.to_string()]);
    }
    Ok(built)
}

/// Every host of munin.conf with its status and checks, and beside each
/// (same index) its last config.
pub fn load(conf: &MasterConf) -> (Vec<HostSummary>, Vec<Option<HostConfig>>) {
    let mut values = state::load_values(&state::values_path(&conf.dbdir));
    conf.hosts
        .iter()
        .map(|h| {
            let config = state::load_config(&state::config_path(&conf.dbdir, h));
            let status = values.hosts.remove(&state::host_key(h));
            let checks = config
                .as_ref()
                .map(|c| limits::evaluate(c, status.as_ref()))
                .unwrap_or_default();
            let summary = HostSummary {
                host: h.clone(),
                status,
                checks,
            };
            (summary, config)
        })
        .unzip()
}

/// A graph that needs drawing.
struct Due {
    rel: String,
    period: Period,
    drawn_at: u64,
    mark: Drawn,
    host: Host,
    service: ServiceConfig,
}

/// Whether a graph drawn from data up to `drawn` needs drawing for data
/// up to `data`: a row of its archive (see [`Period::resolution`]) was
/// completed in between.
pub fn moved(drawn: u64, data: u64, period: Period, step: u64) -> bool {
    let r = period.resolution(step);
    data / r > drawn / r
}

/// Whether the graph is stale: never drawn, its config changed, or its
/// data moved on.
pub fn stale(old: Option<&Drawn>, hash: &str, data: u64, period: Period, step: u64) -> bool {
    old.is_none_or(|d| d.hash != hash || moved(d.data, data, period, step))
}

/// The whole run.
pub async fn run(conf: &MasterConf, opts: &Options) -> Report {
    let started = Instant::now();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let mut report = Report::default();
    let html = &conf.htmldir;
    let (summaries, configs) = load(conf);

    put(
        html,
        "static/style.css",
        pages::STYLE.as_bytes(),
        &mut report,
    );
    put(
        html,
        "index.html",
        pages::index(&summaries).as_bytes(),
        &mut report,
    );
    put(
        html,
        "problems.html",
        pages::problems(&summaries).as_bytes(),
        &mut report,
    );
    let groups: BTreeSet<&[String]> = summaries
        .iter()
        .flat_map(|h| (1..=h.host.groups.len()).map(|n| &h.host.groups[..n]))
        .collect();
    for g in groups {
        let (rel, text) = pages::group(g, &summaries);
        put(html, &rel, text.as_bytes(), &mut report);
    }

    let gpath = graphs_path(&conf.dbdir);
    let mut kept: Graphs = std::fs::read(&gpath)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    let mut due = Vec::new();
    for (s, config) in summaries.iter().zip(&configs) {
        let empty = HostConfig::default();
        let config = config.as_ref().unwrap_or(&empty);
        let status = s.status.as_ref();
        let step = u64::from(s.host.update_rate.unwrap_or(conf.update_rate));
        let views = |services: &[ServiceConfig]| -> Vec<(usize, bool)> {
            services
                .iter()
                .enumerate()
                .map(|(i, sv)| (i, has_data(sv, status)))
                .collect()
        };
        let mut tops = Vec::new();
        for (plugin, pc) in &config.plugins {
            let flags = views(&pc.services);
            let view = |i: usize| ServiceView {
                service: &pc.services[i],
                has_data: flags[i].1,
            };
            let top = pc.services.iter().position(|sv| sv.name == *plugin);
            let children: Vec<ServiceView> = (0..pc.services.len())
                .filter(|i| Some(*i) != top)
                .map(view)
                .collect();
            // A multigraph plugin whose root has no graph of its own
            // still gets a page listing its children.
            let stand_in = ServiceConfig {
                name: plugin.clone(),
                graph: vec![("graph_title".into(), plugin.clone())],
                fields: Vec::new(),
            };
            let root = match top {
                Some(i) => view(i),
                None => ServiceView {
                    service: &stand_in,
                    has_data: false,
                },
            };
            let (rel, text) = pages::service(s, &root, &children);
            put(html, &rel, text.as_bytes(), &mut report);
            for c in &children {
                let (rel, text) = pages::service(s, c, &[]);
                put(html, &rel, text.as_bytes(), &mut report);
            }
            for v in std::iter::once(&root).chain(&children) {
                if !v.graphed() {
                    continue;
                }
                for period in Period::ALL {
                    let rel = format!(
                        "{}{}",
                        host_dir(&s.host),
                        graph_file(&v.service.name, period)
                    );
                    let data = status.and_then(|st| st.answered).unwrap_or(0);
                    let old = kept.graphs.get(&rel);
                    let missing = old.is_some() && !html.join(&rel).exists();
                    if missing || stale(old, &pc.hash, data, period, step) {
                        due.push(Due {
                            drawn_at: old.map_or(0, |d| d.at),
                            rel,
                            period,
                            mark: Drawn {
                                at: now,
                                hash: pc.hash.clone(),
                                data,
                            },
                            host: s.host.clone(),
                            service: v.service.clone(),
                        });
                    } else {
                        report.graphs_fresh += 1;
                    }
                }
            }
            tops.push((root.service.clone(), root.has_data));
        }
        let views: Vec<ServiceView> = tops
            .iter()
            .map(|(service, has_data)| ServiceView {
                service,
                has_data: *has_data,
            })
            .collect();
        let (rel, text) = pages::host(s, &views);
        put(html, &rel, text.as_bytes(), &mut report);
    }

    if opts.draw {
        draw_due(conf, opts, due, &mut kept, started, &mut report).await;
        if let Err(e) = state::save(&gpath, &kept) {
            report.errors.push(e);
        }
    }
    report.wall = started.elapsed();
    report
}

/// Draws what is due, day graphs and the longest-undrawn first, within
/// the budget; records each drawn graph in `kept`.
async fn draw_due(
    conf: &MasterConf,
    opts: &Options,
    mut due: Vec<Due>,
    kept: &mut Graphs,
    started: Instant,
    report: &mut Report,
) {
    due.sort_by_key(|d| (d.period != Period::Day, d.drawn_at));
    let pool = Arc::new(match &opts.exe {
        Some(exe) if opts.workers > 0 => Pool::start(exe.clone(), opts.workers),
        _ => Pool::local(),
    });
    let total = due.len();
    let queue = Arc::new(Mutex::new(VecDeque::from(due)));
    let deadline = opts.budget.map(|b| started + b);
    let dbdir = Arc::new(conf.dbdir.clone());
    let rrdcached = Arc::new(conf.rrdcached_socket.clone());
    let htmldir = Arc::new(conf.htmldir.clone());
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..opts.workers.max(1) {
        let (pool, queue, dbdir, htmldir, rrdcached) = (
            pool.clone(),
            queue.clone(),
            dbdir.clone(),
            htmldir.clone(),
            rrdcached.clone(),
        );
        tasks.spawn(async move {
            let mut done: Vec<(String, Drawn)> = Vec::new();
            let mut errors = Vec::new();
            let mut notes = Vec::new();
            loop {
                if deadline.is_some_and(|d| Instant::now() >= d) {
                    break;
                }
                // A few graphs per task: one pipe round trip each batch.
                let batch: Vec<Due> = {
                    let mut q = queue.lock().unwrap_or_else(|p| p.into_inner());
                    let n = q.len().min(8);
                    q.drain(..n).collect()
                };
                if batch.is_empty() {
                    break;
                }
                let mut draws = Vec::new();
                let mut marks = Vec::new();
                for d in batch {
                    let spec = spec(&dbdir, &d.host, &d.service);
                    match draw_args(rrdcached.as_deref(), &spec, d.period, d.mark.at) {
                        Ok(built) => {
                            // Said once per graph, with the day graph.
                            if d.period == Period::Day {
                                notes.extend(
                                    built.warnings.iter().map(|w| {
                                        format!("{}: {}: {w}", d.host.name, d.service.name)
                                    }),
                                );
                            }
                            draws.push(Draw {
                                png: htmldir.join(&d.rel),
                                args: built.args,
                            });
                            marks.push((d.rel, d.mark));
                        }
                        Err(e) => errors.push(format!("{}: {}: {e}", d.host.name, d.service.name)),
                    }
                }
                for (r, mark) in pool.draw(draws).await.into_iter().zip(marks) {
                    match r {
                        Ok(()) => done.push(mark),
                        Err(e) => errors.push(e),
                    }
                }
            }
            (done, errors, notes)
        });
    }
    let mut drawn = 0;
    while let Some(r) = tasks.join_next().await {
        if let Ok((done, errors, notes)) = r {
            report.notes.extend(notes);
            drawn += done.len();
            report.graphs_failed += errors.len();
            report.errors.extend(errors);
            kept.graphs.extend(done);
        }
    }
    report.graphs_drawn = drawn;
    report.graphs_deferred = total - drawn - report.graphs_failed;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_graph_is_redrawn_when_its_period_needs_it() {
        let d = Drawn {
            at: 10_000,
            hash: "h".into(),
            data: 9_990,
        };
        let day = Period::Day;
        assert!(stale(None, "h", 0, Period::Year, 60));
        assert!(stale(Some(&d), "other", 9_990, Period::Year, 60), "config");
        assert!(!stale(Some(&d), "h", 9_990, day, 60), "no new data");
        assert!(stale(Some(&d), "h", 10_050, day, 60), "a new minute");
        assert!(!stale(Some(&d), "h", 10_050, day, 300), "same 5 minutes");
        assert!(stale(Some(&d), "h", 10_200, day, 300), "next 5 minutes");
        assert!(
            !stale(Some(&d), "h", 10_050, Period::Week, 60),
            "week waits"
        );
        assert!(stale(Some(&d), "h", 10_800, Period::Week, 60), "half hour");
        assert!(!stale(Some(&d), "h", 11_700, Period::Year, 60));
        assert!(stale(Some(&d), "h", 86_400, Period::Year, 60), "a new day");
    }
}
