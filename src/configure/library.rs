//! Plugin libraries (directories of plugins that can be enabled, such as
//! munin-plugins-core's `/usr/share/munin/plugins`) and the plugin
//! directory's links into them.

use std::path::{Path, PathBuf};

use super::history::History;
use super::markers;
use super::plugin::Plugin;
use super::trace::Trace;
use crate::runner::discover::Filter;

/// One library and the plugins of it that are considered.
#[derive(Debug)]
pub struct Library {
    /// As given (links are written with this path).
    pub dir: PathBuf,
    /// Sorted by name.
    pub plugins: Vec<Plugin>,
}

/// Why a library or the plugin directory cannot be read.
#[derive(Debug, thiserror::Error)]
#[error("cannot read {dir}: {source}")]
pub struct ReadError {
    pub dir: String,
    pub source: std::io::Error,
}

/// The entries of `dir` that are plugins by the node's rules, in the
/// order the directory lists them (Munin keeps that order, and it shows
/// in the table's list of installed services).
pub fn runnable_entries(dir: &Path, filter: &Filter) -> Result<Vec<String>, ReadError> {
    filter.entries(dir).map_err(|source| ReadError {
        dir: dir.display().to_string(),
        source,
    })
}

impl Library {
    /// The plugins of `dir` in one of `families` and, with `history`, not
    /// older than `--newer`.
    pub fn load(
        dir: &Path,
        filter: &Filter,
        families: &[String],
        history: Option<&History>,
        trace: &Trace,
    ) -> Result<Library, ReadError> {
        trace.say(format_args!(
            "Searching '{}' for available plugins.",
            dir.display()
        ));
        let mut plugins = Vec::new();
        for name in runnable_entries(dir, filter)? {
            // Munin joins with a '/', keeping a trailing one of the
            // library's name; the links it prints show it.
            let path = PathBuf::from(format!("{}/{name}", dir.display()));
            trace.say(format_args!("Considering '{}'", path.display()));
            let mut plugin = Plugin::new(&name, path.clone());
            match markers::read(&name, &path) {
                Ok(m) => {
                    if let Some(f) = m.family {
                        plugin.family = f;
                    }
                    plugin.capabilities = m.capabilities;
                }
                Err(e) => trace.say(format_args!(
                    "Could not open plugin '{}' for reading: {e}",
                    path.display()
                )),
            }
            plugin.check_markers();
            if !families.contains(&plugin.family) {
                trace.say(format_args!(
                    "\tFamily '{}' is currently ignored.  Skipping.",
                    plugin.family
                ));
                continue;
            }
            if plugin.family == "auto" && history.is_some_and(|h| h.too_old(&name)) {
                trace.say(format_args!("\tPlugin is older than --newer.  Skipping."));
                continue;
            }
            plugins.push(plugin);
        }
        plugins.sort_by(|a, b| a.name.cmp(&b.name));
        trace.say(format_args!("{} plugins available.", plugins.len()));
        Ok(Library {
            dir: dir.to_path_buf(),
            plugins,
        })
    }

    fn plugin_mut(&mut self, name: &str) -> Option<&mut Plugin> {
        self.plugins.iter_mut().find(|p| p.name == name)
    }
}

/// Attributes each plugin-directory link to the library plugin it is.
///
/// Munin's rule: a symlink whose target, as written, starts with
/// `<libdir>/` is an instance of the library plugin with the target's file
/// name. Ours besides: a link straight to one of our multi-call programs
/// (`munin-plugins`, `tahoe-stats`; how our own scripts link them) is an
/// instance of the library entry that resolves to the same program and
/// whose name the link's name is, or starts with for a wildcard.
pub fn find_installed(
    servicedir: &Path,
    filter: &Filter,
    libraries: &mut [Library],
    trace: &Trace,
) -> Result<usize, ReadError> {
    trace.say(format_args!(
        "Searching '{}' for installed services.",
        servicedir.display()
    ));
    let mut count = 0;
    for service in runnable_entries(servicedir, filter)? {
        let path = servicedir.join(&service);
        let Ok(target) = std::fs::read_link(&path) else {
            continue;
        };
        if attribute(&service, &path, &target, libraries) {
            trace.say(format_args!("Found '{service}'"));
            count += 1;
        }
    }
    trace.say(format_args!("{count} services currently installed."));
    Ok(count)
}

/// Finds the plugin `service` (the link `link`, to `target` as written)
/// is an instance of.
fn attribute(service: &str, link: &Path, target: &Path, libraries: &mut [Library]) -> bool {
    let written = target.to_string_lossy();
    for lib in libraries.iter_mut() {
        let prefix = format!("{}/", lib.dir.display());
        if let Some(rest) = written.strip_prefix(&prefix) {
            let base = rest.rsplit('/').next().unwrap_or(rest);
            if let Some(p) = lib.plugin_mut(base) {
                p.installed.push(service.to_string());
                return true;
            }
        }
    }
    let Ok(program) = std::fs::canonicalize(link) else {
        return false;
    };
    for lib in libraries.iter_mut() {
        let best = lib
            .plugins
            .iter()
            .enumerate()
            .filter(|(_, p)| service == p.name || (p.is_wildcard() && service.starts_with(&p.name)))
            .filter(|(_, p)| std::fs::canonicalize(&p.path).is_ok_and(|t| t == program))
            .max_by_key(|(_, p)| p.name.len())
            .map(|(i, _)| i);
        if let Some(i) = best {
            lib.plugins[i].installed.push(service.to_string());
            return true;
        }
    }
    false
}
