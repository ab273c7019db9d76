//! Every keyword of Munin 2.0's munin.conf and what munin-rs does with it.
//!
//! Munin checks the last word of each key (`load.load.warning` →
//! `warning`) against its list of keywords and refuses the file when one is
//! unknown. We load such a file but warn on that line; a keyword we know
//! but do not implement is warned too, with the reason, so nothing in a
//! munin.conf is silently ignored. README.md's table is this list.

/// What munin-rs does with a keyword.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Support {
    /// Implemented with Munin's meaning.
    Yes,
    /// Not implemented: each line using it gets one warning saying why.
    No(&'static str),
}

/// One keyword.
#[derive(Debug, Clone, Copy)]
pub struct Keyword {
    pub name: &'static str,
    pub support: Support,
}

const fn yes(name: &'static str) -> Keyword {
    Keyword {
        name,
        support: Support::Yes,
    }
}

const fn no(name: &'static str, why: &'static str) -> Keyword {
    Keyword {
        name,
        support: Support::No(why),
    }
}

const CGI: &str =
    "munin-master serve draws graphs and serves pages itself; there are no CGI scripts";
const TEMPLATES: &str = "the HTML templates and static files are built into munin-master";
const NSCA: &str = "no built-in NSCA sender: use a contact whose command runs send_nsca";
const TLS_PEM: &str =
    "Munin 2.0 lists it but never reads it: set tls_private_key and tls_certificate";
const INTERNAL: &str = "a word of Munin's internal state files, not a setting";
const LATER: &str = "not implemented yet (planned)";
const JOBS: &str = "munin-master sizes its worker pools itself";

/// Munin 2.0's keywords (Munin::Common::Config's list), in its order.
pub const KEYWORDS: &[Keyword] = &[
    yes("address"),
    yes("always_send"),
    no("category_order", LATER),
    yes("cdef"),
    no("cdef_name", INTERNAL),
    no("cgitmpdir", CGI),
    no("cgiurl", CGI),
    no("cgiurl_graph", CGI),
    yes("colour"),
    yes("command"),
    no("compare", LATER),
    yes("contact"),
    yes("contacts"),
    no(
        "create_args",
        "munin-master creates RRD files with Munin's layout; extra create arguments are not taken",
    ),
    yes("critical"),
    yes("dbdir"),
    yes("domain_order"),
    yes("draw"),
    no("dropdownlimit", TEMPLATES),
    // munin-rs's own: a graph drawn from an expression (`master::expr`).
    yes("expr"),
    yes("extinfo"),
    no("fetch_data", INTERNAL),
    no("filename", INTERNAL),
    no("fork", "munin-master always polls nodes in parallel"),
    yes("graph"),
    yes("graph_args"),
    yes("graph_args_after"),
    yes("graph_category"),
    no(
        "graph_data_size",
        "RRD files are made with Munin's `normal` layout scaled to update_rate; `huge` and custom layouts are not implemented yet",
    ),
    yes("graph_future"),
    yes("graph_height"),
    yes("graph_info"),
    no(
        "graph_noscale",
        "Munin 1.2's spelling; write graph_scale no",
    ),
    yes("graph_order"),
    yes("graph_period"),
    yes("graph_printf"),
    yes("graph_scale"),
    no("graph_sources", INTERNAL),
    yes("graph_strategy"),
    no("graph_sums", LATER),
    yes("graph_title"),
    yes("graph_total"),
    yes("graph_vlabel"),
    no("graph_vtitle", "Munin 1.2's spelling; write graph_vlabel"),
    yes("graph_width"),
    yes("group_order"),
    no(
        "host_name",
        "a plugin's setting on the node, not the master's",
    ),
    no("htaccess", CGI),
    yes("htmldir"),
    no("html_rename", TEMPLATES),
    no(
        "html_strategy",
        "munin-master html always writes the pages; serve serves them",
    ),
    yes("includedir"),
    yes("info"),
    yes("label"),
    no("line", LATER),
    yes("local_address"),
    yes("logdir"),
    yes("max"),
    no("max_cgi_graph_jobs", CGI),
    yes("max_graph_jobs"),
    no("max_html_jobs", JOBS),
    yes("max_messages"),
    yes("max_processes"),
    no("max_size_x", CGI),
    no("max_size_y", CGI),
    yes("min"),
    no("munin_cgi_graph_jobs", CGI),
    no("nagios", NSCA),
    no("ncsa", NSCA),
    no("ncsa_config", NSCA),
    no("ncsa_server", NSCA),
    yes("negative"),
    yes("node_order"),
    yes("notify_alias"),
    no("nsca", NSCA),
    no("nsca_config", NSCA),
    no("nsca_server", NSCA),
    no("num_messages", INTERNAL),
    no("num_unknowns", INTERNAL),
    no("ok", INTERNAL),
    no("onlynullcdef", LATER),
    no("palette", LATER),
    no("pipe", INTERNAL),
    no("pipe_command", INTERNAL),
    yes("port"),
    yes("predict"),
    no("process", INTERNAL),
    no("realname", INTERNAL),
    no("realservname", INTERNAL),
    yes("rrdcached_socket"),
    yes("rundir"),
    no("service_order", LATER),
    no("skipdraw", INTERNAL),
    yes("ssh_command"),
    yes("ssh_options"),
    yes("stack"),
    no("state", INTERNAL),
    no("staticdir", TEMPLATES),
    yes("sum"),
    yes("text"),
    yes("timeout"),
    yes("timeout_fetch_one_node"),
    yes("timeout_fetch_all_nodes"),
    yes("tls"),
    yes("tls_ca_certificate"),
    yes("tls_certificate"),
    yes("tls_match"),
    no("tls_pem", TLS_PEM),
    yes("tls_private_key"),
    yes("tls_verify_certificate"),
    yes("tls_verify_depth"),
    no("tmpldir", TEMPLATES),
    yes("trend"),
    yes("type"),
    no("unknown", INTERNAL),
    yes("unknown_limit"),
    yes("update"),
    yes("update_rate"),
    no("use_default_name", INTERNAL),
    yes("use_node_name"),
    no("use_default_node", INTERNAL),
    no("version", INTERNAL),
    no("warn", INTERNAL),
    yes("warning"),
    no("worker_start_delay", JOBS),
];

/// Keys of ours that Munin does not have (munin-rs extensions).
pub const OURS: &[&str] = &[
    "carbon_server",
    "carbon_port",
    "carbon_prefix",
    "notify_after",
    "graph_hidpi",
];

/// `word`'s entry, if it is one of Munin's keywords.
pub fn lookup(word: &str) -> Option<&'static Keyword> {
    KEYWORDS.iter().find(|k| k.name == word)
}

/// The warning for `key` (a whole key such as `load.load.line`), if it
/// gets one: an unknown last word, or a keyword we do not implement.
pub fn check(key: &str) -> Option<String> {
    if OURS.contains(&key) {
        return None;
    }
    let last = key.rsplit('.').next().unwrap_or(key);
    match lookup(last) {
        None => Some(format!(
            "{key}: unknown keyword {last:?} (Munin's munin-update refuses the whole file); ignored"
        )),
        Some(Keyword {
            support: Support::No(why),
            ..
        }) => Some(format!("{key}: not supported: {why}")),
        Some(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_is_munins_and_has_no_duplicates() {
        let mut names: Vec<&str> = KEYWORDS.iter().map(|k| k.name).collect();
        let n = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), n, "a keyword is listed twice");
        for k in [
            "address",
            "graph_args_after",
            "timeout_fetch_all_nodes",
            "worker_start_delay",
        ] {
            assert!(lookup(k).is_some(), "{k}");
        }
    }

    #[test]
    fn warnings_name_the_key_and_the_reason() {
        assert_eq!(check("load.load.warning"), None);
        assert_eq!(check("carbon_server"), None);
        assert!(
            check("tls_pem")
                .unwrap()
                .starts_with("tls_pem: not supported: ")
        );
        assert!(
            check("some_variable")
                .unwrap()
                .contains("unknown keyword \"some_variable\"")
        );
        assert!(check("if_eth0.up.line").unwrap().contains("not supported"));
    }

    /// README.md's table lists every keyword with the state it has here.
    #[test]
    fn readme_table_matches() {
        let readme = include_str!("../../../README.md");
        for k in KEYWORDS {
            let want = match k.support {
                Support::Yes => "yes",
                Support::No(_) => "warned",
            };
            let row = format!("| `{}` | {want} |", k.name);
            assert!(readme.contains(&row), "README.md has no row {row:?}");
        }
    }
}
