//! `munin-master html`: the static site in htmldir, from what the update
//! and limits steps left in `<dbdir>/munin-rs-state/`.
//!
//! Incremental: a page is written only when its text changed; a graph is
//! drawn only when it is missing, its plugin's config changed, or its
//! host answered since it was drawn and its period's archive has moved on
//! (the day graph every run, the year graph once a day). Graphs are drawn
//! in worker processes (librrd's graph is not thread-safe), day graphs
//! first, oldest first, in batches built one ahead of the drawing (their
//! RRDs read into the page cache meanwhile), and no new batch starts once
//! the time budget is spent: the rest are drawn next run. With
//! `graph_strategy cgi` in munin.conf, no graph is drawn here at all:
//! `serve` draws each when a browser asks for it (see `super::serve`),
//! and the service pages link each graph to serve's zoom page
//! (`static/dynazoom.html`, see `crate::master::explore::zoom`): only
//! serve has one, and a site without drawn graphs is served by it. Munin
//! 2.0 likewise links its dynazoom page only when its CGI draws graphs.
//!
//! With `graph_hidpi yes` (ours; global, or on a group or host) each graph is drawn a second time at
//! twice the pixels (librrd's `--zoom 2`) as `load-day-2x.png`, which
//! the pages offer in `srcset` to screens with more than one device
//! pixel per CSS pixel. Turned off, the 2x files are deleted.
//!
//! The site's pages are listed in the state after each run; a page the
//! next run no longer makes (a host or plugin gone from the config) is
//! deleted with its graphs, so nothing stale stays reachable by URL. Only
//! the listed pages and their graphs' names are ever deleted: htmldir may
//! hold other files.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::graphdef::{self, GraphField, GraphSpec, Period};
use super::pages::{self, HostSummary, ServiceView};
use super::render::Draw;
use super::sitemap::{graph_file, graph_file_2x, host_dir};
use crate::master::conf::{Host, MasterConf};
use crate::master::limits;
use crate::master::state::{self, HostConfig, HostStatus, ServiceConfig};
use crate::master::store::layout::{self, DsType};
use crate::master::store::workers::Pool;

/// When a graph was drawn, from which config and which data.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Drawn {
    pub at: u64,
    pub hash: String,
    pub data: u64,
}

/// Every drawn graph, by its path in htmldir, and every page of the site
/// the last run made.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Graphs {
    pub graphs: BTreeMap<String, Drawn>,
    #[serde(default)]
    pub pages: BTreeSet<String>,
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

/// Whether munin.conf says `graph_strategy cgi`: `serve` draws every
/// graph, and the pages link to its zoom page.
pub fn cgi(conf: &MasterConf) -> bool {
    crate::master::conf::last(&conf.settings, "graph_strategy").is_some_and(|v| v.trim() == "cgi")
}

/// Whether `host`'s graphs get 2x versions: `graph_hidpi` as munin.conf
/// says now, on the host, else its groups, else globally. (The update
/// also copies it into the stored configs like any `graph_*` key, but
/// those lag until the next poll.)
pub fn hidpi(conf: &MasterConf, host: &Host) -> bool {
    let v = conf.inherited(host, "graph_hidpi");
    matches!(
        v.map(|v| v.trim().to_ascii_lowercase()).as_deref(),
        Some("yes" | "true" | "on" | "1")
    )
}

/// librrd's arguments for a graph drawn at `zoom` device pixels per
/// pixel (librrd's `--zoom`: fonts, lines and sizes all scaled), from
/// the 1x arguments; as an option, before the graph's elements.
pub fn zoomed(mut args: Vec<String>, zoom: u32) -> Vec<String> {
    if zoom > 1 {
        let at = args.iter().position(|a| a == "--imgformat").unwrap_or(0);
        args.splice(at..at, ["--zoom".to_string(), zoom.to_string()]);
    }
    args
}

impl Options {
    /// Graphs drawn here unless munin.conf says `graph_strategy cgi`.
    pub fn for_conf(conf: &MasterConf) -> Options {
        Options {
            draw: !cgi(conf),
            budget: None,
            // munin.conf's max_graph_jobs, else one per CPU.
            workers: conf
                .max_graph_jobs
                .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())),
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
    /// Files of pages and graphs no longer in the site, deleted.
    pub removed: usize,
    pub errors: Vec<String>,
    /// Attributes left out of graphs (not failures).
    pub notes: Vec<String>,
    pub wall: Duration,
}

impl Report {
    pub fn line(&self) -> String {
        format!(
            "html: {:.2} s; pages {} written {} unchanged; graphs {} drawn {} fresh {} deferred {} failed; {} removed",
            self.wall.as_secs_f64(),
            self.pages_written,
            self.pages_unchanged,
            self.graphs_drawn,
            self.graphs_fresh,
            self.graphs_deferred,
            self.graphs_failed,
            self.removed
        )
    }
}

/// A run's output: where the site goes, what was done, the site's pages
/// and graphs this run.
struct Out<'a> {
    dir: &'a Path,
    report: Report,
    pages: BTreeSet<String>,
    graphs: BTreeSet<String>,
}

impl Out<'_> {
    /// Writes `text` at `rel` unless it is already there (whole, by
    /// rename; not fsynced: pages are made again from the data).
    fn put(&mut self, rel: &str, text: &[u8]) {
        self.pages.insert(rel.to_string());
        let path = self.dir.join(rel);
        let report = &mut self.report;
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

    /// Deletes the pages of the last run's site that this run's has not,
    /// with their graphs (`X.html`'s are `X-day.png`...) and the
    /// directories that leaves empty; names that are not plain relative
    /// `.html` paths (a hand-edited state file) are left alone.
    fn prune(&mut self, last: &BTreeSet<String>) {
        let gone: Vec<String> = last.difference(&self.pages).cloned().collect();
        for rel in gone {
            let plain = Path::new(&rel)
                .components()
                .all(|c| matches!(c, std::path::Component::Normal(_)));
            let Some(base) = rel.strip_suffix(".html").filter(|_| plain) else {
                continue;
            };
            let graphs: Vec<String> = Period::ALL
                .into_iter()
                .flat_map(|p| {
                    [
                        format!("{base}-{}.png", p.name()),
                        format!("{base}-{}-2x.png", p.name()),
                    ]
                })
                .collect();
            for rel in graphs.into_iter().chain([rel]) {
                self.remove(&rel);
            }
        }
    }

    /// Deletes the 2x graphs the last run drew that this run's site has
    /// not (`graph_hidpi` turned off, or the graph gone).
    fn prune_2x(&mut self, last: &BTreeMap<String, Drawn>) {
        let gone: Vec<String> = last
            .keys()
            .filter(|rel| rel.ends_with("-2x.png") && !self.graphs.contains(*rel))
            .filter(|rel| {
                Path::new(rel)
                    .components()
                    .all(|c| matches!(c, std::path::Component::Normal(_)))
            })
            .cloned()
            .collect();
        for rel in gone {
            self.remove(&rel);
        }
    }

    /// Deletes `rel` and the directories that leaves empty.
    fn remove(&mut self, rel: &str) {
        let path = self.dir.join(rel);
        match std::fs::remove_file(&path) {
            Ok(()) => self.report.removed += 1,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return,
            Err(e) => {
                self.report.errors.push(format!("{}: {e}", path.display()));
                return;
            }
        }
        // Fails, as meant, at the first directory still holding files.
        let mut dir = path.parent();
        while let Some(d) = dir.filter(|d| *d != self.dir) {
            if std::fs::remove_dir(d).is_err() {
                break;
            }
            dir = d.parent();
        }
    }
}

/// Whether any field of `service` has a stored value.
fn has_data(service: &ServiceConfig, status: Option<&HostStatus>) -> bool {
    if !service.files.is_empty() {
        return service.files.iter().any(|(_, f)| f.exists());
    }
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
            let file = if service.files.is_empty() {
                layout::rrd_path(dbdir, host, &service.name, name, ds).ok()
            } else {
                // An aggregate names each field's file (another host's).
                service
                    .files
                    .iter()
                    .find(|(f, _)| f == name)
                    .map(|(_, p)| p.clone())
            }
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

/// Each host's last stored config (same index as munin.conf's hosts),
/// with its aggregate graphs added; and the notes about those.
pub fn configs(conf: &MasterConf, answered: &[u64]) -> (Vec<Option<HostConfig>>, Vec<String>) {
    let mut configs: Vec<Option<HostConfig>> = conf
        .hosts
        .iter()
        .map(|h| state::load_config(&state::config_path(&conf.dbdir, h)))
        .collect();
    let notes = super::aggregate::add(conf, &mut configs, answered);
    (configs, notes)
}

/// Every host of munin.conf with its status and checks, and beside each
/// (same index) its last config, aggregates added; and notes about those.
pub fn load(conf: &MasterConf) -> (Vec<HostSummary>, Vec<Option<HostConfig>>, Vec<String>) {
    let mut values = state::load_values(&state::values_path(&conf.dbdir));
    let answered = state::answered(&values, &conf.hosts);
    let (configs, notes) = configs(conf, &answered);
    let (summaries, configs) = conf
        .hosts
        .iter()
        .zip(configs)
        .map(|(h, config)| {
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
        .unzip();
    (summaries, configs, notes)
}

/// A graph that needs drawing.
struct Due {
    rel: String,
    period: Period,
    /// Device pixels per pixel: 2 for a `graph_hidpi` version.
    zoom: u32,
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
    let now = crate::clock::now();
    let mut out = Out {
        dir: &conf.htmldir,
        report: Report::default(),
        pages: BTreeSet::new(),
        graphs: BTreeSet::new(),
    };
    let (summaries, configs, notes) = load(conf);
    out.report.notes.extend(notes);

    out.put("static/style.css", pages::STYLE.as_bytes());
    // The zoom page's script, beside it (`serve` answers the page).
    out.put(
        "static/zoom.js",
        crate::master::explore::zoom::SCRIPT.as_bytes(),
    );
    out.put("index.html", pages::index(&summaries, conf).as_bytes());
    out.put("problems.html", pages::problems(&summaries).as_bytes());

    let gpath = graphs_path(&conf.dbdir);
    let mut kept: Graphs = std::fs::read(&gpath)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    let mut due = Vec::new();
    let mut compared: Vec<pages::Compared> = Vec::with_capacity(summaries.len());
    for (s, config) in summaries.iter().zip(&configs) {
        let empty = HostConfig::default();
        let config = config.as_ref().unwrap_or(&empty);
        let status = s.status.as_ref();
        let step = u64::from(s.host.update_rate.unwrap_or(conf.update_rate));
        let zoom = cgi(conf);
        let twice = hidpi(conf, &s.host);
        let views = |services: &[ServiceConfig]| -> Vec<bool> {
            services.iter().map(|sv| has_data(sv, status)).collect()
        };
        let mut tops = Vec::new();
        for (plugin, pc) in &config.plugins {
            let flags = views(&pc.services);
            let view = |i: usize| ServiceView {
                service: &pc.services[i],
                has_data: flags[i],
                hidpi: twice,
                zoom,
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
                files: Vec::new(),
                own_limits: None,
            };
            let root = match top {
                Some(i) => view(i),
                None => ServiceView {
                    service: &stand_in,
                    has_data: false,
                    hidpi: false,
                    zoom,
                },
            };
            let (rel, text) = pages::service(s, &root, &children);
            out.put(&rel, text.as_bytes());
            for c in &children {
                let (rel, text) = pages::service(s, c, &[]);
                out.put(&rel, text.as_bytes());
            }
            for v in std::iter::once(&root).chain(&children) {
                if !v.graphed() {
                    continue;
                }
                let scales: &[u32] = if v.hidpi { &[1, 2] } else { &[1] };
                for (period, &scale) in Period::ALL
                    .into_iter()
                    .flat_map(|p| scales.iter().map(move |z| (p, z)))
                {
                    let file = match scale {
                        1 => graph_file(&v.service.name, period),
                        _ => graph_file_2x(&v.service.name, period),
                    };
                    let rel = format!("{}{file}", host_dir(&s.host));
                    // An aggregate moves on with its sources.
                    let data = pc
                        .data
                        .or_else(|| status.and_then(|st| st.answered))
                        .unwrap_or(0);
                    out.graphs.insert(rel.clone());
                    let old = kept.graphs.get(&rel);
                    let missing = old.is_some() && !out.dir.join(&rel).exists();
                    if !missing && !stale(old, &pc.hash, data, period, step) {
                        out.report.graphs_fresh += 1;
                    } else if opts.draw {
                        // (Under `graph_strategy cgi` nothing takes from
                        // the queue: no copy of host and service per graph.)
                        due.push(Due {
                            drawn_at: old.map_or(0, |d| d.at),
                            rel,
                            period,
                            zoom: scale,
                            mark: Drawn {
                                at: now,
                                hash: pc.hash.clone(),
                                data,
                            },
                            host: s.host.clone(),
                            service: v.service.clone(),
                        });
                    }
                }
            }
            tops.push((root.service.clone(), root.has_data, root.hidpi));
        }
        let views: Vec<ServiceView> = tops
            .iter()
            .map(|(service, has_data, hidpi)| ServiceView {
                service,
                has_data: *has_data,
                hidpi: *hidpi,
                zoom,
            })
            .collect();
        let (rel, text) = pages::host(s, &views);
        out.put(&rel, text.as_bytes());
        compared.push(pages::Compared {
            name: s.host.name.clone(),
            dir: host_dir(&s.host),
            graphs: views
                .iter()
                .map(|v| {
                    let g = &v.service.graph;
                    pages::ComparedGraph {
                        category: graphdef::attr(g, "graph_category")
                            .map_or("other", str::trim)
                            .to_ascii_lowercase(),
                        plugin: v.service.name.clone(),
                        title: graphdef::attr(g, "graph_title")
                            .unwrap_or(&v.service.name)
                            .to_string(),
                        shown: v.graphed(),
                        hidpi: v.hidpi,
                    }
                })
                .collect(),
        });
    }
    // Group pages, and munin-html's comparison pages for a group of more
    // than one host with graphs.
    let groups: BTreeSet<&[String]> = summaries
        .iter()
        .flat_map(|h| (1..=h.host.groups.len()).map(|n| &h.host.groups[..n]))
        .collect();
    for g in groups {
        let here: Vec<&str> = summaries
            .iter()
            .filter(|h| h.host.groups == g)
            .map(|h| h.host.name.as_str())
            .collect();
        let members: Vec<&pages::Compared> = pages::ordered(here, conf.order_of(g))
            .into_iter()
            .filter_map(|name| {
                summaries
                    .iter()
                    .zip(&compared)
                    .find(|(h, _)| h.host.groups == g && h.host.name == name)
                    .map(|(_, c)| c)
            })
            .filter(|c| c.graphs.iter().any(|g| g.shown))
            .collect();
        let compare = members.len() > 1;
        if compare {
            for period in Period::ALL {
                let (rel, text) = pages::comparison(g, period, &members);
                out.put(&rel, text.as_bytes());
            }
        }
        let (rel, text) = pages::group(g, &summaries, conf, compare);
        out.put(&rel, text.as_bytes());
    }

    if opts.draw {
        draw_due(conf, opts, due, &mut kept, started, &mut out.report).await;
    }
    out.prune(&kept.pages);
    out.prune_2x(&kept.graphs);
    let known = kept.graphs.len();
    kept.graphs.retain(|rel, _| out.graphs.contains(rel));
    // Saved only when something changed: at 3000 nodes the page list
    // alone is megabytes, and most runs change nothing in it.
    let changed =
        out.report.graphs_drawn > 0 || kept.graphs.len() != known || kept.pages != out.pages;
    kept.pages = std::mem::take(&mut out.pages);
    if changed && let Err(e) = state::save(&gpath, &kept) {
        out.report.errors.push(e);
    }
    out.report.wall = started.elapsed();
    out.report
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
    // (2x versions after the 1x ones of their period: every screen
    // needs the 1x; a 2x cut by the budget is drawn next run.)
    due.sort_by_key(|d| (d.period != Period::Day, d.zoom > 1, d.drawn_at));
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
            let take = |errors: &mut Vec<String>, notes: &mut Vec<String>| {
                next_batch(
                    &queue,
                    &dbdir,
                    &htmldir,
                    rrdcached.as_deref(),
                    errors,
                    notes,
                )
            };
            // One batch ahead: the next is built, and its RRDs read in,
            // while the worker draws this one.
            let mut next = take(&mut errors, &mut notes);
            while let Some(batch) = next.take() {
                if deadline.is_some_and(|d| Instant::now() >= d) {
                    break;
                }
                let (results, after) = tokio::join!(pool.draw(batch.draws), async {
                    take(&mut errors, &mut notes)
                });
                next = after;
                for (r, mark) in results.into_iter().zip(batch.marks) {
                    match r {
                        Ok(_) => done.push(mark),
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

/// Graphs for one worker round trip, with the records to keep once drawn.
struct Batch {
    draws: Vec<Draw>,
    marks: Vec<(String, Drawn)>,
}

/// Takes up to 8 graphs off `queue` (`None` once it is empty) and builds
/// librrd's arguments for each, asking the kernel to read their RRDs in.
fn next_batch(
    queue: &Mutex<VecDeque<Due>>,
    dbdir: &Path,
    htmldir: &Path,
    rrdcached: Option<&str>,
    errors: &mut Vec<String>,
    notes: &mut Vec<String>,
) -> Option<Batch> {
    let due: Vec<Due> = {
        let mut q = queue.lock().unwrap_or_else(|p| p.into_inner());
        let n = q.len().min(8);
        q.drain(..n).collect()
    };
    if due.is_empty() {
        return None;
    }
    let mut batch = Batch {
        draws: Vec::new(),
        marks: Vec::new(),
    };
    for d in due {
        let spec = spec(dbdir, &d.host, &d.service);
        for file in spec.fields.iter().filter_map(|f| f.file.as_deref()) {
            will_need(file);
        }
        match draw_args(rrdcached, &spec, d.period, d.mark.at) {
            Ok(built) => {
                // Said once per graph, with the day graph.
                if d.period == Period::Day && d.zoom == 1 {
                    notes.extend(
                        built
                            .warnings
                            .iter()
                            .map(|w| format!("{}: {}: {w}", d.host.name, d.service.name)),
                    );
                }
                batch.draws.push(Draw {
                    png: htmldir.join(&d.rel),
                    args: zoomed(built.args, d.zoom),
                });
                batch.marks.push((d.rel, d.mark));
            }
            Err(e) => errors.push(format!("{}: {}: {e}", d.host.name, d.service.name)),
        }
    }
    Some(batch)
}

/// Asks the kernel to read `path` into the page cache, in the background.
/// librrd reads an RRD through mmap page faults, each a disk read the
/// drawing waits on when the page is not cached, and the update's librrd
/// drops most of a file's pages after writing it: read ahead of the
/// drawing, the disk works while the worker draws.
fn will_need(path: &Path) {
    if let Ok(f) = std::fs::File::open(path) {
        use nix::fcntl::{PosixFadviseAdvice, posix_fadvise};
        let _ = posix_fadvise(&f, 0, 0, PosixFadviseAdvice::POSIX_FADV_WILLNEED);
    }
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

    #[test]
    fn a_2x_graph_is_the_same_arguments_zoomed_and_hidpi_is_inherited() {
        let args: Vec<String> = ["--title", "x", "--imgformat", "PNG", "DEF:a=f:42:AVERAGE"]
            .map(String::from)
            .into();
        assert_eq!(zoomed(args.clone(), 1), args);
        assert_eq!(
            zoomed(args, 2),
            [
                "--title",
                "x",
                "--zoom",
                "2",
                "--imgformat",
                "PNG",
                "DEF:a=f:42:AVERAGE"
            ]
        );
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("munin.conf");
        std::fs::write(
            &p,
            "graph_hidpi yes\n[a;one.example]\naddress x\n[a;two.example]\naddress x\ngraph_hidpi no\n",
        )
        .unwrap();
        let conf = MasterConf::load(&p).unwrap();
        assert!(conf.warnings.is_empty(), "{:?}", conf.warnings);
        let got: Vec<bool> = conf.hosts.iter().map(|h| hidpi(&conf, h)).collect();
        assert_eq!(got, [true, false]);
    }

    #[test]
    fn pruning_deletes_gone_pages_with_their_graphs_and_nothing_else() {
        let root = tempfile::tempdir().unwrap();
        let www = root.path().join("www");
        let touch = |rel: &str| {
            let p = www.join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, "x").unwrap();
        };
        for rel in [
            "index.html",
            "g/old.example/index.html",
            "g/old.example/load.html",
            "g/old.example/load-day.png",
            "g/old.example/load-year.png",
            "g/new.example/load.html",
            "g/new.example/load-day.png",
            "robots.txt",
        ] {
            touch(rel);
        }
        std::fs::write(root.path().join("outside.html"), "keep").unwrap();
        let mut out = Out {
            dir: &www,
            report: Report::default(),
            pages: ["index.html", "g/new.example/load.html"]
                .map(String::from)
                .into(),
            graphs: BTreeSet::new(),
        };
        let last: BTreeSet<String> = [
            "index.html",
            "g/old.example/index.html",
            "g/old.example/load.html",
            "g/new.example/load.html",
            "../outside.html",
            "/etc/hostname.html",
            "robots.txt",
        ]
        .map(String::from)
        .into();
        out.prune(&last);
        assert_eq!(out.report.removed, 4, "{:?}", out.report.errors);
        assert!(!www.join("g/old.example").exists(), "emptied dir removed");
        for kept in ["index.html", "g/new.example/load-day.png", "robots.txt"] {
            assert!(www.join(kept).exists(), "{kept}");
        }
        assert!(root.path().join("outside.html").exists());
        assert!(out.report.errors.is_empty(), "{:?}", out.report.errors);
    }
}
