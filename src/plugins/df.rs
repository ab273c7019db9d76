//! `df` and `df_inode`: how full each local file system is, in percent of
//! blocks or of inodes (see [`super::mounts`] for which are listed).
//!
//! As Munin's plugins: a field per file system, named after the device (or
//! after the mount point for `tmpfs`, `none`, `udev`, `simfs` sources),
//! labelled with the mount point; `warning`/`critical` always present
//! (92/98 unless set); `env.exclude` replaces the excluded file system
//! types, `env.include_re` / `env.exclude_re` select by device or mount
//! point. Two quirks kept so that field names do not change: a mount point
//! with a space is cut at the space, and percentages are not rounded.

use regex_lite::Regex;

use super::mounts::{self, Listed};
use super::{Autoconf, Context, Plugin, Result, clean_fieldname, field, lines, perl_number};

/// Blocks (`df`) or inodes (`df_inode`).
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Blocks,
    Inodes,
}

pub struct Df;
pub struct DfInode;

const BLOCK_EXCLUDES: &str =
    "none unknown rootfs iso9660 squashfs udf romfs ramfs debugfs cgroup_root devtmpfs";
const INODE_EXCLUDES: &str =
    "none unknown iso9660 squashfs udf romfs ramfs vfat debugfs nilfs2 rootfs reiserfs";

/// One row: field name, label, used, available.
struct Row {
    name: String,
    label: String,
    used: Option<u64>,
    avail: Option<u64>,
}

fn regexes(cx: &Context, key: &str) -> Vec<Regex> {
    cx.env
        .get(key)
        .unwrap_or("")
        .split_whitespace()
        .filter_map(|r| Regex::new(r).ok())
        .collect()
}

fn rows(cx: &Context, kind: Kind) -> Vec<Row> {
    let default = if kind == Kind::Blocks {
        BLOCK_EXCLUDES
    } else {
        INODE_EXCLUDES
    };
    let excluded: Vec<&str> = cx
        .env
        .get("exclude")
        .unwrap_or(default)
        .split_whitespace()
        .collect();
    let include = regexes(cx, "include_re");
    let exclude = regexes(cx, "exclude_re");
    let mut out = Vec::new();
    for Listed { mount, stats } in mounts::list(cx.root, &excluded) {
        // df -P separates columns by white space: the plugin's split cuts a
        // mount point at its first space, and skips any line holding "//".
        let device = mount.source.clone();
        let mount_point = mount
            .mount_point
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_string();
        if device.contains("//") || mount_point.contains("//") {
            continue;
        }
        let hit = |res: &[Regex]| {
            res.iter()
                .any(|r| r.is_match(&device) || r.is_match(&mount_point))
        };
        if !hit(&include) && hit(&exclude) {
            continue;
        }
        let (used, avail) = match kind {
            Kind::Blocks => {
                let (u, a) = mounts::block_columns(&stats);
                (Some(u), Some(a))
            }
            // File systems with no inode count print "-" in df -i: skipped.
            Kind::Inodes if stats.files == u64::MAX => (None, None),
            Kind::Inodes => (
                Some(stats.files.saturating_sub(stats.files_free)),
                Some(stats.files_free),
            ),
        };
        if kind == Kind::Inodes && (used.is_none() || avail.is_none()) {
            continue;
        }
        let base = if matches!(device.as_str(), "tmpfs" | "none" | "udev" | "simfs") {
            &mount_point
        } else {
            &device
        };
        out.push(Row {
            name: clean_fieldname(base),
            label: mount_point,
            used,
            avail,
        });
    }
    out
}

fn config(cx: &Context, kind: Kind) -> String {
    let mut out = String::new();
    let title = if kind == Kind::Blocks {
        "Disk usage in percent"
    } else {
        "Inode usage in percent"
    };
    lines(
        &mut out,
        &[
            ("graph_title", title),
            ("graph_args", "--upper-limit 100 -l 0"),
            ("graph_vlabel", "%"),
            ("graph_scale", "no"),
            ("graph_category", "disk"),
        ],
    );
    for r in rows(cx, kind) {
        // Perl's `||`: an empty or "0" value counts as unset.
        let pick = |level: &str, default: &'static str| {
            let set = |k: &str| {
                cx.env
                    .get(k)
                    .filter(|v| !v.is_empty() && *v != "0")
                    .map(str::to_string)
            };
            set(&format!("{}_{level}", r.name))
                .or_else(|| set(level))
                .unwrap_or_else(|| default.to_string())
        };
        field(
            &mut out,
            &r.name,
            &[
                ("label", &r.label),
                ("warning", &pick("warning", "92")),
                ("critical", &pick("critical", "98")),
            ],
        );
    }
    out
}

fn fetch(cx: &Context, kind: Kind) -> String {
    rows(cx, kind)
        .into_iter()
        .map(|r| {
            let (used, avail) = (r.used.unwrap_or(0), r.avail.unwrap_or(0));
            let pct = if used == 0 || used + avail == 0 {
                0.0
            } else {
                used as f64 / (used + avail) as f64 * 100.0
            };
            format!("{}.value {}\n", r.name, perl_number(pct))
        })
        .collect()
}

fn autoconf(cx: &Context, kind: Kind) -> Autoconf {
    if rows(cx, kind).is_empty() {
        Autoconf::No("no devices to monitor".into())
    } else {
        Autoconf::Yes
    }
}

impl Plugin for Df {
    fn name(&self) -> &'static str {
        "df"
    }
    fn config(&self, cx: &Context) -> Result<String> {
        Ok(config(cx, Kind::Blocks))
    }
    fn fetch(&self, cx: &Context) -> Result<String> {
        Ok(fetch(cx, Kind::Blocks))
    }
    fn autoconf(&self, cx: &Context) -> Autoconf {
        autoconf(cx, Kind::Blocks)
    }
}

impl Plugin for DfInode {
    fn name(&self) -> &'static str {
        "df_inode"
    }
    fn config(&self, cx: &Context) -> Result<String> {
        Ok(config(cx, Kind::Inodes))
    }
    fn fetch(&self, cx: &Context) -> Result<String> {
        Ok(fetch(cx, Kind::Inodes))
    }
    fn autoconf(&self, cx: &Context) -> Autoconf {
        autoconf(cx, Kind::Inodes)
    }
}
