//! The integration tests: one binary (see STYLE.md §8) that starts the real
//! binaries on loopback ports and talks to them over TCP, beside Debian's
//! real munin-node and munin master where a test compares the two.

mod support;

mod cli;
mod gatherer_api;
mod gatherer_faults;
mod gatherer_tahoe;
mod hostile_gatherer;
mod hostile_master;
mod hostile_node;
mod limits_agree;
mod limits_vs_munin;
mod master_aggregate;
mod master_conf;
mod master_explore;
mod master_expr;
mod master_faults;
mod master_fleet;
mod master_html;
mod master_limits;
mod master_metrics;
mod master_sinks;
mod master_state;
mod master_zoom;
mod munin_run;
mod munin_update;
mod node_builtin;
mod node_cli;
mod node_configure;
mod node_core_plugins;
mod node_faults;
mod node_protocol;
mod node_vs_real;
mod plugins_check;
mod plugins_matrix;
mod plugins_vs_core;
mod spool;
mod tahoe;
mod tls;
mod transports;
