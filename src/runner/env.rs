//! The environment a plugin sees.
//!
//! As on the real node: the daemon's own environment, then Munin's install
//! constants (`MUNIN_LIBDIR`, `MUNIN_PLUGSTATE`, ... with Debian's values),
//! then `MUNIN_DEBUG`, `FQDN`, `MUNIN_CAP_MULTIGRAPH=1`, `LC_ALL=C`,
//! `LANG=C`, `PYTHONIOENCODING=utf8:replace` and a fixed `PATH`; per run
//! `MUNIN_MASTER_IP` (the connected master, empty at start-up),
//! `MUNIN_PLUGSTATE=<state dir>/<user>`,
//! `MUNIN_STATEFILE=$MUNIN_PLUGSTATE/<plugin>-<master ip>`,
//! `MUNIN_CAP_DIRTYCONFIG=1` once the master announced `dirtyconfig`, and
//! last the section's `env.*` values, which may override any of these.
//!
//! `MUNIN_LIBDIR` points at `/usr/share/munin` when that exists, so that
//! unmodified munin-plugins-core plugins find `plugin.sh`; otherwise a
//! `MUNIN_LIBDIR` from the daemon's environment is kept.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use super::PluginSpec;

/// Munin's library directory on Debian.
const DEBIAN_LIBDIR: &str = "/usr/share/munin";

/// Install constants exported by Munin::Common::Defaults on Debian 12
/// (except the ones computed below).
const INSTALL_CONSTANTS: &[(&str, &str)] = &[
    ("MUNIN_PREFIX", "/usr"),
    ("MUNIN_BINDIR", "/usr/bin"),
    ("MUNIN_SBINDIR", "/usr/sbin"),
    ("MUNIN_DOCDIR", "/usr/doc"),
    ("MUNIN_HTMLDIR", "/var/cache/munin/www"),
    ("MUNIN_CGIDIR", "/usr/lib/munin/cgi"),
    ("MUNIN_CGITMPDIR", ""),
    ("MUNIN_DBDIR", "/var/lib/munin"),
    ("MUNIN_SPOOLDIR", "/var/lib/munin-async"),
    ("MUNIN_MANDIR", "/usr/share/man"),
    ("MUNIN_LOGDIR", "/var/log/munin"),
    ("MUNIN_STATEDIR", "/var/run/munin"),
    ("MUNIN_USER", "munin"),
    ("MUNIN_GROUP", "munin"),
    ("MUNIN_PLUGINUSER", "nobody"),
    ("MUNIN_VERSION", "2.0.73"),
    ("MUNIN_PERL", "/usr/bin/perl"),
    ("MUNIN_PERLLIB", "/usr/share/perl5"),
    ("MUNIN_GOODSH", "/bin/sh"),
    ("MUNIN_BASH", "/bin/bash"),
    ("MUNIN_PYTHON", "/usr/bin/env python3"),
    ("MUNIN_RUBY", "/usr/bin/env ruby"),
    ("MUNIN_OSTYPE", "linux"),
    ("MUNIN_HOSTNAME", "localhost.localdomain"),
    ("MUNIN_HASSETR", "1"),
];

/// What the node knows when it starts, for the environment of every plugin.
#[derive(Debug, Clone)]
pub struct EnvParams {
    pub fqdn: String,
    /// Directory holding munin-node.conf (exported as `MUNIN_CONFDIR`).
    pub confdir: PathBuf,
    /// Root of the per-user plugin state directories.
    pub plugstate_root: PathBuf,
    /// `--pidebug`: `MUNIN_DEBUG=1`.
    pub debug: bool,
}

/// The part of the environment that is the same for every run.
#[derive(Debug, Clone)]
pub struct BaseEnv {
    vars: Vec<(OsString, OsString)>,
    plugstate_root: PathBuf,
}

impl BaseEnv {
    /// Builds the base environment on top of `inherited` (the daemon's own).
    pub fn new(inherited: impl IntoIterator<Item = (OsString, OsString)>, p: &EnvParams) -> Self {
        // NOTIFY_SOCKET is the daemon's line to systemd, not the plugins'.
        let mut vars: Vec<(OsString, OsString)> = inherited
            .into_iter()
            .filter(|(k, _)| k != "NOTIFY_SOCKET")
            .collect();
        let inherited_libdir = vars
            .iter()
            .find(|(k, _)| k == "MUNIN_LIBDIR")
            .map(|(_, v)| v.clone());
        let libdir = if Path::new(DEBIAN_LIBDIR).is_dir() {
            OsString::from(DEBIAN_LIBDIR)
        } else {
            inherited_libdir.unwrap_or_else(|| OsString::from(DEBIAN_LIBDIR))
        };
        let mut set = |k: &str, v: OsString| {
            vars.retain(|(name, _)| name != k);
            vars.push((OsString::from(k), v));
        };
        for (k, v) in INSTALL_CONSTANTS {
            set(k, OsString::from(v));
        }
        set("MUNIN_LIBDIR", libdir);
        set("MUNIN_CONFDIR", p.confdir.clone().into_os_string());
        set("MUNIN_PLUGSTATE", p.plugstate_root.clone().into_os_string());
        set(
            "MUNIN_DEBUG",
            OsString::from(if p.debug { "1" } else { "0" }),
        );
        set("FQDN", OsString::from(&p.fqdn));
        set("MUNIN_MASTER_IP", OsString::new());
        set("MUNIN_CAP_MULTIGRAPH", OsString::from("1"));
        set("LC_ALL", OsString::from("C"));
        set("LANG", OsString::from("C"));
        set("PYTHONIOENCODING", OsString::from("utf8:replace"));
        set("PATH", OsString::from("/usr/sbin:/usr/bin:/sbin:/bin"));
        BaseEnv {
            vars,
            plugstate_root: p.plugstate_root.clone(),
        }
    }

    /// The per-user state directory of a plugin.
    pub fn plugstate(&self, user_name: &str) -> PathBuf {
        self.plugstate_root.join(user_name)
    }

    /// The complete environment for one run, each variable once.
    pub fn for_run(
        &self,
        spec: &PluginSpec,
        user_name: &str,
        master_ip: &str,
        dirtyconfig: bool,
    ) -> Vec<(OsString, OsString)> {
        let plugstate = self.plugstate(user_name);
        let statefile = plugstate.join(format!("{}-{}", spec.name, master_ip));
        let mut out = self.vars.clone();
        let mut set = |k: OsString, v: OsString| match out.iter_mut().find(|(name, _)| *name == k) {
            Some(slot) => slot.1 = v,
            None => out.push((k, v)),
        };
        set("MUNIN_MASTER_IP".into(), master_ip.into());
        set("MUNIN_PLUGSTATE".into(), plugstate.into_os_string());
        set("MUNIN_STATEFILE".into(), statefile.into_os_string());
        if dirtyconfig {
            set("MUNIN_CAP_DIRTYCONFIG".into(), "1".into());
        }
        for (k, v) in &spec.conf.env {
            set(k.into(), v.into());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::plugin_conf::Section;
    use std::time::Duration;

    fn lookup<'a>(vars: &'a [(OsString, OsString)], key: &str) -> Option<&'a str> {
        vars.iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.to_str().unwrap())
    }

    #[test]
    fn layers_in_order() {
        let params = EnvParams {
            fqdn: "node.example".into(),
            confdir: "/etc/munin".into(),
            plugstate_root: "/var/lib/munin-node/plugin-state".into(),
            debug: false,
        };
        let inherited = vec![
            (OsString::from("PATH"), OsString::from("/opt/evil")),
            (OsString::from("KEEP_ME"), OsString::from("yes")),
            (OsString::from("LC_ALL"), OsString::from("de_DE.UTF-8")),
        ];
        let base = BaseEnv::new(inherited, &params);
        let mut conf = Section::default();
        conf.env.insert("PATH".into(), "/custom".into());
        let spec = PluginSpec {
            name: "load".into(),
            path: "/etc/munin/plugins/load".into(),
            conf,
            identity: Err("unused".into()),
            timeout: Duration::from_secs(1),
            builtin: None,
        };
        let vars = base.for_run(&spec, "nobody", "10.0.0.5", true);
        assert_eq!(lookup(&vars, "KEEP_ME"), Some("yes"));
        assert_eq!(lookup(&vars, "LC_ALL"), Some("C"));
        assert_eq!(
            lookup(&vars, "PATH"),
            Some("/custom"),
            "env.* overrides everything"
        );
        assert_eq!(lookup(&vars, "FQDN"), Some("node.example"));
        assert_eq!(lookup(&vars, "MUNIN_MASTER_IP"), Some("10.0.0.5"));
        assert_eq!(
            lookup(&vars, "MUNIN_PLUGSTATE"),
            Some("/var/lib/munin-node/plugin-state/nobody")
        );
        assert_eq!(
            lookup(&vars, "MUNIN_STATEFILE"),
            Some("/var/lib/munin-node/plugin-state/nobody/load-10.0.0.5")
        );
        assert_eq!(lookup(&vars, "MUNIN_CAP_DIRTYCONFIG"), Some("1"));
        assert_eq!(lookup(&vars, "MUNIN_CAP_MULTIGRAPH"), Some("1"));
        let mut names: Vec<_> = vars.iter().map(|(k, _)| k.clone()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), vars.len(), "every variable exactly once");
        let clean = base.for_run(&spec, "nobody", "", false);
        assert_eq!(lookup(&clean, "MUNIN_CAP_DIRTYCONFIG"), None);
    }
}
