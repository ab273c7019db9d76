//! The plugins a node serves, decided once at start-up (and on reload).
//!
//! As the real node does: list the plugins directory, run every plugin's
//! `config`, drop those whose config printed nothing or timed out, and note
//! for each the node it belongs to (plugin-conf.d `host_name`, else a
//! `host_name` line in its config, else the node's own name), whether it is a
//! multigraph plugin and whether it already prints values in `config`
//! (dirtyconfig). Configs run concurrently (a few at a time) so that start-up
//! takes as long as the slowest plugin, not the sum of all.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use anyhow::{Context, Result};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::config::Diagnostic;
use crate::runner::PluginSpec;
use crate::runner::exec::{Outcome, Report, RunRequest, Runner};
use crate::runner::output;
use crate::settings::Settings;

/// How many plugin configs run at once during discovery.
const DISCOVERY_PARALLELISM: usize = 8;

/// A served plugin.
#[derive(Debug)]
pub struct Service {
    pub spec: PluginSpec,
    /// Its config has `multigraph` lines: only listed after `cap multigraph`.
    pub multigraph: bool,
    /// Its config already has `.value` lines: only listed after `cap dirtyconfig`.
    pub dirty: bool,
}

/// The served plugins, by name and by node.
#[derive(Debug, Default)]
pub struct Registry {
    services: HashMap<String, Service>,
    /// Lower-cased node name → its plugins, sorted.
    nodes: BTreeMap<String, Vec<String>>,
}

impl Registry {
    /// Discovers the plugins and runs their configs.
    pub async fn discover(
        settings: &Settings,
        runner: &Arc<Runner>,
    ) -> Result<(Registry, Vec<Diagnostic>)> {
        let names = settings
            .filter()
            .list(&settings.servicedir)
            .with_context(|| {
                format!(
                    "cannot read plugin directory {}",
                    settings.servicedir.display()
                )
            })?;
        let (conf, diagnostics) = settings.plugin_conf();
        let specs: Vec<PluginSpec> = names.iter().map(|n| settings.spec(n, &conf)).collect();
        for spec in &specs {
            if let Some(why) = crate::runner::reach::unreachable(spec) {
                tracing::warn!(plugin = %spec.name, "{why}");
            }
        }
        let reports = run_configs(specs.clone(), runner).await;
        let fqdn = settings.fqdn.to_lowercase();
        let mut registry = Registry::default();
        for (spec, report) in specs.into_iter().zip(reports) {
            registry.add(spec, &report, &fqdn);
        }
        Ok((registry, diagnostics))
    }

    /// Builds a registry from already-run configs (also used by tests).
    fn add(&mut self, spec: PluginSpec, report: &Report, fqdn: &str) {
        let out: &[u8] = match &report.outcome {
            Outcome::Success(out) | Outcome::Failed { stdout: out, .. } => out,
            _ => &[],
        };
        let failed = !matches!(report.outcome, Outcome::Success(_));
        let lines: Vec<&[u8]> = output::lines(out).collect();
        let timed_out = matches!(report.outcome, Outcome::TimedOut)
            || lines
                .iter()
                .any(|l| l.windows(11).any(|w| w == b"# Timed out"));
        if timed_out || (lines.is_empty() && !failed) {
            tracing::info!(plugin = %spec.name, "dropping plugin: its config {}",
                if timed_out { "timed out" } else { "printed nothing" });
            return;
        }
        // A config that failed is served anyway and answers "# Bad exit", as
        // on the real node; the lines of a failed run do not count.
        let lines = if failed { Vec::new() } else { lines };
        let node = spec
            .conf
            .host_name
            .clone()
            .or_else(|| lines.iter().find_map(|l| output::host_name_line(l)))
            .unwrap_or_else(|| fqdn.to_string())
            .to_lowercase();
        if let Some(b) = &spec.builtin {
            tracing::debug!(plugin = %spec.name, builtin = ?b, "runs in-process");
        }
        let service = Service {
            multigraph: lines.iter().any(|l| output::is_multigraph_line(l)),
            dirty: lines.iter().any(|l| output::is_value_line(l)),
            spec,
        };
        let nodes = self.nodes.entry(node).or_default();
        nodes.push(service.spec.name.clone());
        nodes.sort();
        self.services.insert(service.spec.name.clone(), service);
    }

    /// The plugin called `name` (bytes from the network), if served.
    pub fn service(&self, name: &[u8]) -> Option<&Service> {
        std::str::from_utf8(name)
            .ok()
            .and_then(|n| self.services.get(n))
    }

    /// The plugins of `node` that a master with these capabilities may see;
    /// `None` when the node is unknown.
    pub fn list(&self, node: &str, multigraph: bool, dirtyconfig: bool) -> Option<Vec<&str>> {
        let names = self.nodes.get(&node.to_lowercase())?;
        Some(
            names
                .iter()
                .filter(|n| {
                    let s = &self.services[n.as_str()];
                    (multigraph || !s.multigraph) && (dirtyconfig || !s.dirty)
                })
                .map(String::as_str)
                .collect(),
        )
    }

    /// The nodes that have at least one plugin.
    pub fn nodes(&self) -> impl Iterator<Item = &str> {
        self.nodes.keys().map(String::as_str)
    }

    pub fn len(&self) -> usize {
        self.services.len()
    }

    pub fn is_empty(&self) -> bool {
        self.services.is_empty()
    }
}

/// Runs `config` for every spec, a few at a time; reports in input order.
async fn run_configs(specs: Vec<PluginSpec>, runner: &Arc<Runner>) -> Vec<Report> {
    let gate = Arc::new(Semaphore::new(DISCOVERY_PARALLELISM));
    let mut tasks = JoinSet::new();
    for (i, spec) in specs.into_iter().enumerate() {
        let (runner, gate) = (Arc::clone(runner), Arc::clone(&gate));
        tasks.spawn(async move {
            // The semaphore is never closed, so acquiring cannot fail.
            let _permit = gate.acquire_owned().await.expect("semaphore open");
            let req = RunRequest {
                arg: Some("config"),
                master_ip: "",
                dirtyconfig: false,
                timeout: spec.timeout,
            };
            (i, runner.run(&spec, &req).await)
        });
    }
    let mut reports: Vec<Option<Report>> = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok((i, report)) => {
                if reports.len() <= i {
                    reports.resize_with(i + 1, || None);
                }
                reports[i] = Some(report);
            }
            Err(e) => tracing::error!(cause = %e, "plugin discovery task failed"),
        }
    }
    reports
        .into_iter()
        .map(|r| {
            r.unwrap_or(Report {
                outcome: Outcome::Error("discovery task failed".into()),
                stderr: Vec::new(),
                elapsed: Default::default(),
                held: Default::default(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::plugin_conf::Section;
    use std::time::Duration;

    fn spec(name: &str, host_name: Option<&str>) -> PluginSpec {
        PluginSpec {
            name: name.into(),
            path: format!("/p/{name}").into(),
            conf: Section {
                host_name: host_name.map(str::to_string),
                ..Section::default()
            },
            identity: Err("unused".into()),
            timeout: Duration::from_secs(1),
            builtin: None,
        }
    }

    fn ok(out: &str) -> Report {
        Report {
            outcome: Outcome::Success(out.as_bytes().to_vec()),
            stderr: vec![],
            elapsed: Duration::ZERO,
            held: Default::default(),
        }
    }

    #[test]
    fn drops_empty_and_timed_out_keeps_failed() {
        let mut r = Registry::default();
        r.add(spec("empty", None), &ok(""), "me");
        r.add(
            spec("slow", None),
            &Report {
                outcome: Outcome::TimedOut,
                ..ok("")
            },
            "me",
        );
        r.add(spec("says_timed_out", None), &ok("# Timed out\n"), "me");
        let failed = Report {
            outcome: Outcome::Failed {
                status: std::process::ExitStatus::default(),
                stdout: vec![],
            },
            ..ok("")
        };
        r.add(spec("broken", None), &failed, "me");
        r.add(spec("gauge", None), &ok("graph_title g\nx.label x\n"), "me");
        assert_eq!(r.list("me", false, false).unwrap(), vec!["broken", "gauge"]);
        assert!(r.service(b"empty").is_none());
    }

    #[test]
    fn capabilities_filter_and_virtual_nodes() {
        let mut r = Registry::default();
        r.add(
            spec("multi", None),
            &ok("multigraph multi\ngraph_title m\n"),
            "me",
        );
        r.add(
            spec("dirty", None),
            &ok("graph_title d\nd.label d\nd.value 7\n"),
            "me",
        );
        r.add(
            spec("virt", Some("Virtual.Example")),
            &ok("graph_title v\n"),
            "me",
        );
        r.add(
            spec("snmp", None),
            &ok("host_name switch1\ngraph_title s\n"),
            "me",
        );
        assert_eq!(r.list("me", false, false).unwrap(), Vec::<&str>::new());
        assert_eq!(r.list("ME", true, true).unwrap(), vec!["dirty", "multi"]);
        assert_eq!(
            r.list("virtual.example", false, false).unwrap(),
            vec!["virt"]
        );
        assert_eq!(r.list("switch1", false, false).unwrap(), vec!["snmp"]);
        assert!(r.list("nosuch", true, true).is_none());
        assert_eq!(
            r.nodes().collect::<Vec<_>>(),
            vec!["me", "switch1", "virtual.example"]
        );
    }
}
