//! One plugin of a library: what it says about itself (family,
//! capabilities), what autoconf and suggest answered, which services
//! (links in the plugin directory) it already has, and what follows: the
//! table's text and the links to add or remove. The rules and the text
//! are Munin's, so the output matches `munin-node-configure`'s.

use std::collections::BTreeSet;
use std::path::PathBuf;

/// A plugin in a library directory.
#[derive(Debug, Clone)]
pub struct Plugin {
    /// The file name in the library (`cpu`, `if_`).
    pub name: String,
    /// `<libdir>/<name>`, as the library was named (links point here).
    pub path: PathBuf,
    /// `#%# family=`: auto, manual, contrib (the default), snmpauto.
    pub family: String,
    /// `#%# capabilities=`: autoconf, suggest, snmpconf.
    pub capabilities: BTreeSet<String>,
    /// What autoconf said: `true` for yes.
    pub default_yes: bool,
    /// The reason given with `no (...)`.
    pub reason: Option<String>,
    /// Services (link names) in the plugin directory that are this plugin,
    /// in directory order.
    pub installed: Vec<String>,
    /// What suggest answered, in order.
    pub suggestions: Vec<String>,
    /// Problems found, reported at the end.
    pub errors: Vec<String>,
}

impl Plugin {
    pub fn new(name: &str, path: PathBuf) -> Plugin {
        Plugin {
            name: name.to_string(),
            path,
            family: "contrib".into(),
            capabilities: BTreeSet::new(),
            default_yes: false,
            reason: None,
            installed: Vec::new(),
            suggestions: Vec::new(),
            errors: Vec::new(),
        }
    }

    pub fn is_wildcard(&self) -> bool {
        self.name.ends_with('_')
    }

    /// `snmp__...` or `snmpv3__...`.
    pub fn is_snmp(&self) -> bool {
        snmp_tail(&self.name).is_some()
    }

    pub fn can(&self, capability: &str) -> bool {
        self.capabilities.contains(capability)
    }

    /// The sanity checks Munin makes after reading the markers.
    pub fn check_markers(&mut self) {
        // Munin reports both cases with the same words.
        if (self.family == "auto" && !self.can("autoconf"))
            || (self.family == "snmpauto" && !self.can("snmpconf"))
        {
            self.errors
                .push("In family 'auto' but doesn't have 'autoconf' capability".into());
        }
        if self.can("suggest") && !self.is_wildcard() {
            self.errors
                .push("Has 'suggest' capability, but isn't a wildcard plugin".into());
        }
    }

    /// The "Used" column.
    pub fn used(&self) -> &'static str {
        if self.installed.is_empty() {
            "no"
        } else {
            "yes"
        }
    }

    /// The wildcard parts of the installed services (`eth0` for `if_eth0`).
    fn installed_wild(&self) -> Vec<String> {
        self.installed
            .iter()
            .filter_map(|link| self.reduce_wildcard(link))
            .collect()
    }

    /// The table's "Extra information" column when not suggesting.
    pub fn installed_string(&self) -> String {
        self.installed_wild().join(" ")
    }

    /// The table's "Suggestions" column.
    pub fn suggestion_string(&self) -> String {
        let yes_no = if self.default_yes { "yes" } else { "no" };
        let detail = if self.default_yes {
            let installed = self.installed_wild();
            let suggested = &self.suggestions;
            let mut parts = intersection(&installed, suggested);
            parts.extend(difference(suggested, &installed).map(|s| format!("+{s}")));
            parts.extend(difference(&installed, suggested).map(|s| format!("-{s}")));
            if parts.is_empty() {
                String::new()
            } else {
                format!(" ({})", parts.join(" "))
            }
        } else if let Some(reason) = &self.reason {
            format!(" [{reason}]")
        } else if !self.can("autoconf") && !self.can("suggest") {
            // Munin's words, typo included: scripts parse this table.
            " [[[ plugin has neither autoconf not suggest support ]]]".into()
        } else if !self.errors.is_empty() {
            " [[[ plugin has errors, see below ]]]".into()
        } else {
            " [[[ plugin gave no reason why ]]]".into()
        };
        format!("{yes_no}{detail}")
    }

    /// The service names the suggestions stand for.
    fn suggested_links(&self) -> Vec<String> {
        if !self.default_yes {
            return Vec::new();
        }
        if self.is_wildcard() || self.is_snmp() {
            self.suggestions
                .iter()
                .map(|s| self.expand_wildcard(s))
                .collect()
        } else {
            vec![self.name.clone()]
        }
    }

    /// Services to link: suggested and not installed, sorted.
    pub fn services_to_add(&self) -> Vec<String> {
        difference(&self.suggested_links(), &self.installed).collect()
    }

    /// Services to unlink: installed and not suggested, sorted.
    pub fn services_to_remove(&self) -> Vec<String> {
        difference(&self.installed, &self.suggested_links()).collect()
    }

    /// `if_eth0` → `eth0`; a plain plugin's own name → nothing. SNMP
    /// plugins' services are `snmp_<host>_<name><wild>` → `host/wild`.
    fn reduce_wildcard(&self, link: &str) -> Option<String> {
        let wild = if let Some(tail) = snmp_tail(&self.name) {
            let pattern = format!(r"^snmp(?:v3)?_(.+){}(.*)", regex_lite::escape(tail));
            let caps = regex_lite::Regex::new(&pattern).ok()?.captures(link)?;
            let (host, rest) = (&caps[1], &caps[2]);
            if rest.is_empty() {
                host.to_string()
            } else {
                format!("{host}/{rest}")
            }
        } else {
            link.strip_prefix(&self.name).unwrap_or(link).to_string()
        };
        (!wild.is_empty()).then_some(wild)
    }

    /// A suggestion → its service name.
    fn expand_wildcard(&self, suggestion: &str) -> String {
        match self.name.strip_prefix("snmp__") {
            // Munin keeps SNMP suggestions as (host, wild) pairs; ours are
            // one string, so only the host part is known.
            Some(tail) => format!("snmp_{suggestion}_{tail}"),
            None => format!("{}{suggestion}", self.name),
        }
    }
}

/// `snmp__if_` → `_if_`: the part after `snmp_` (or `snmpv3_`), when the
/// name is an SNMP plugin's (`snmp__...`).
fn snmp_tail(name: &str) -> Option<&str> {
    let rest = name
        .strip_prefix("snmp_")
        .or_else(|| name.strip_prefix("snmpv3_"))?;
    rest.starts_with('_').then_some(rest)
}

/// `a` minus `b`, sorted and without repeats (Munin's set_difference).
fn difference<'a>(a: &'a [String], b: &'a [String]) -> impl Iterator<Item = String> + 'a {
    let a: BTreeSet<&String> = a.iter().collect();
    a.into_iter().filter(move |s| !b.contains(s)).cloned()
}

/// The members of `b` that are in `a`, sorted, repeats kept as in `b`
/// (Munin's set_intersection).
fn intersection(a: &[String], b: &[String]) -> Vec<String> {
    let mut out: Vec<String> = b.iter().filter(|s| a.contains(s)).cloned().collect();
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wildcard(installed: &[&str], suggested: &[&str]) -> Plugin {
        let mut p = Plugin::new("if_", PathBuf::from("/lib/if_"));
        p.capabilities = ["autoconf".to_string(), "suggest".to_string()].into();
        p.default_yes = true;
        p.installed = installed.iter().map(|s| s.to_string()).collect();
        p.suggestions = suggested.iter().map(|s| s.to_string()).collect();
        p
    }

    #[test]
    fn suggestions_show_kept_added_and_removed_in_munins_order() {
        let p = wildcard(&["if_eth1", "if_eth0"], &["eth2", "eth0"]);
        assert_eq!(p.suggestion_string(), "yes (eth0 +eth2 -eth1)");
        assert_eq!(p.installed_string(), "eth1 eth0");
        assert_eq!(p.services_to_add(), ["if_eth2"]);
        assert_eq!(p.services_to_remove(), ["if_eth1"]);
    }

    #[test]
    fn a_plain_plugin_is_its_own_service() {
        let mut p = Plugin::new("cpu", PathBuf::from("/lib/cpu"));
        p.capabilities = ["autoconf".to_string()].into();
        p.default_yes = true;
        assert_eq!(p.suggestion_string(), "yes");
        assert_eq!(p.services_to_add(), ["cpu"]);
        p.installed = vec!["cpu".into()];
        assert!(p.services_to_add().is_empty());
        assert_eq!(p.installed_string(), "");
    }

    #[test]
    fn a_no_says_why_or_what_is_missing() {
        let mut p = Plugin::new("apache_", PathBuf::from("/lib/apache_"));
        assert_eq!(
            p.suggestion_string(),
            "no [[[ plugin has neither autoconf not suggest support ]]]"
        );
        p.capabilities.insert("autoconf".into());
        assert_eq!(
            p.suggestion_string(),
            "no [[[ plugin gave no reason why ]]]"
        );
        p.errors.push("boom".into());
        assert_eq!(
            p.suggestion_string(),
            "no [[[ plugin has errors, see below ]]]"
        );
        p.reason = Some("no apache".into());
        assert_eq!(p.suggestion_string(), "no [no apache]");
    }

    #[test]
    fn snmp_services_reduce_to_host_and_index() {
        let p = Plugin::new("snmp__if_", PathBuf::from("/lib/snmp__if_"));
        assert!(p.is_snmp());
        assert_eq!(
            p.reduce_wildcard("snmp_switch1_if_3").as_deref(),
            Some("switch1/3")
        );
        assert_eq!(p.expand_wildcard("switch1"), "snmp_switch1_if_");
    }

    #[test]
    fn marker_checks_use_munins_words() {
        let mut p = Plugin::new("cpu", PathBuf::from("/lib/cpu"));
        p.family = "auto".into();
        p.capabilities.insert("suggest".into());
        p.check_markers();
        assert_eq!(p.errors.len(), 2);
    }
}
