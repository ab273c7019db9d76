//! `memory`: what the RAM holds, from /proc/meminfo (and, on kernels that
//! lack a `Slab` line, /proc/slabinfo; KSM sharing from /sys).
//!
//! As Munin's plugin: every field is a GAUGE in bytes; `apps` is what is
//! left of MemTotal after the kernel's own uses; the optional fields follow
//! the keys the kernel has; `graph_order` ends in a space, as Munin's does.
//! Thresholds may be percentages of MemTotal (SwapTotal for `swap`), and a
//! threshold of `0` counts as unset, as in Munin's Perl.

use std::collections::HashMap;

use super::{Autoconf, Context, Plugin, Result, field, lines, missing, perl_number};

pub struct Memory;

/// /proc/meminfo in bytes, from `Key: N kB` lines (others are ignored).
pub fn parse(text: &str) -> HashMap<String, u64> {
    let mut m = HashMap::new();
    for line in text.lines() {
        let Some((key, rest)) = line.split_once(':') else {
            continue;
        };
        if key.is_empty() || !key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            continue;
        }
        let mut f = rest.split_whitespace();
        let (Some(n), Some(unit)) = (f.next(), f.next()) else {
            continue;
        };
        if !unit.eq_ignore_ascii_case("kb") {
            continue;
        }
        if let Ok(v) = n.parse::<u64>() {
            m.insert(key.to_string(), v * 1024);
        }
    }
    m
}

/// Slab bytes from a version 1.1 /proc/slabinfo (Linux 2.4).
pub fn parse_slabinfo(text: &str) -> Option<u64> {
    let mut lines = text.lines();
    if !lines.next()?.starts_with("slabinfo - version: 1.1") {
        return None;
    }
    let pages: u64 = lines
        .filter(|l| !l.starts_with("slabinfo"))
        .filter_map(|l| l.split_whitespace().nth(5)?.parse::<u64>().ok())
        .sum();
    (pages > 0).then_some(pages * 4096)
}

/// The kernel's numbers, with the fallbacks applied.
fn read(cx: &Context) -> Result<HashMap<String, u64>> {
    let mut m = parse(&cx.root.read_proc("meminfo")?);
    if m.get("Slab").copied().unwrap_or(0) == 0
        && let Some(slab) = cx
            .root
            .read_proc("slabinfo")
            .ok()
            .as_deref()
            .and_then(parse_slabinfo)
    {
        m.insert("Slab".into(), slab);
    }
    let g = |m: &HashMap<String, u64>, k: &str| m.get(k).copied().unwrap_or(0);
    if g(&m, "Inactive") == 0 {
        let parts = [
            g(&m, "Inact_dirty"),
            g(&m, "Inact_laundry"),
            g(&m, "Inact_clean"),
        ];
        if parts.iter().all(|&p| p != 0) {
            m.insert("Inactive".into(), parts.iter().sum());
        }
    }
    if let Ok(run) = cx.root.read_sys("kernel/mm/ksm/run") {
        let first = run.lines().next().unwrap_or("");
        // "0" switches KSM off; so does an empty first line, but not an empty file.
        if first != "0"
            && (run.is_empty() || !first.is_empty())
            && let Some(pages) = cx
                .root
                .read_sys("kernel/mm/ksm/pages_sharing")
                .ok()
                .and_then(|t| t.trim().parse::<u64>().ok())
        {
            m.insert("KSM".into(), pages * 4096);
        }
    }
    if !m.contains_key("MemTotal") {
        return Err(missing("MemTotal in /proc/meminfo"));
    }
    Ok(m)
}

/// An optional field: shown when its meminfo key exists.
struct Optional {
    field: &'static str,
    key: &'static str,
    label: &'static str,
    draw: &'static str,
    colour: &'static str,
    info: Option<&'static str>,
}

const fn opt(
    field: &'static str,
    key: &'static str,
    label: &'static str,
    draw: &'static str,
    colour: &'static str,
    info: Option<&'static str>,
) -> Optional {
    Optional {
        field,
        key,
        label,
        draw,
        colour,
        info,
    }
}

/// Optional fields, in Munin's order.
const OPTIONAL: &[Optional] = &[
    opt(
        "shmem",
        "Shmem",
        "shmem",
        "STACK",
        "COLOUR9",
        Some("Shared memory: SysV segments and tmpfs."),
    ),
    opt(
        "slab",
        "Slab",
        "slab cache",
        "STACK",
        "COLOUR3",
        Some("Kernel object caches (inodes, dentries, ...)."),
    ),
    opt(
        "swap_cache",
        "SwapCached",
        "swap cache",
        "STACK",
        "COLOUR2",
        Some("Swapped-in pages still held in swap."),
    ),
    opt(
        "page_tables",
        "PageTables",
        "page tables",
        "STACK",
        "COLOUR1",
        Some("Virtual to physical address maps."),
    ),
    opt(
        "per_cpu",
        "Percpu",
        "per-cpu",
        "STACK",
        "COLOUR20",
        Some("Per-CPU allocations."),
    ),
    opt(
        "vmalloc_used",
        "VmallocUsed",
        "vmalloc used",
        "LINE2",
        "COLOUR8",
        Some("Kernel vmalloc area in use."),
    ),
    opt(
        "committed",
        "Committed_AS",
        "committed",
        "LINE2",
        "COLOUR10",
        Some("Memory promised to programs; above RAM is normal overcommit."),
    ),
    opt(
        "mapped",
        "Mapped",
        "mapped",
        "LINE2",
        "COLOUR11",
        Some("Pages mapped with mmap()."),
    ),
    opt(
        "active",
        "Active",
        "active",
        "LINE2",
        "COLOUR12",
        Some("Recently used pages."),
    ),
    opt(
        "active_anon",
        "ActiveAnon",
        "active anon",
        "LINE1",
        "COLOUR13",
        None,
    ),
    opt(
        "active_cache",
        "ActiveCache",
        "active cache",
        "LINE1",
        "COLOUR14",
        None,
    ),
    opt(
        "inactive",
        "Inactive",
        "inactive",
        "LINE2",
        "COLOUR15",
        Some("Pages not used lately, first to be reclaimed."),
    ),
    opt(
        "inact_dirty",
        "Inact_dirty",
        "inactive dirty",
        "LINE1",
        "COLOUR16",
        Some("Inactive pages waiting to be written."),
    ),
    opt(
        "inact_laundry",
        "Inact_laundry",
        "inactive laundry",
        "LINE1",
        "COLOUR17",
        None,
    ),
    opt(
        "inact_clean",
        "Inact_clean",
        "inactive clean",
        "LINE1",
        "COLOUR18",
        Some("Inactive clean pages."),
    ),
];

/// The fields thresholds are looked up for, in Munin's order.
const THRESHOLD_FIELDS: &[&str] = &[
    "apps",
    "buffers",
    "swap",
    "cached",
    "free",
    "slab",
    "swap_cache",
    "page_tables",
    "per_cpu",
    "vmalloc_used",
    "committed",
    "mapped",
    "active",
    "active_anon",
    "active_cache",
    "inactive",
    "inact_dirty",
    "inact_laundry",
    "inact_clean",
    "shmem",
];

/// `N%` parts replaced by `N * base / 100`, as Perl prints numbers.
fn adjust(value: &str, base: Option<u64>) -> Option<String> {
    if !value.contains('%') {
        return Some(value.to_string());
    }
    let base = base? as f64;
    let mut out = String::new();
    let mut rest = value;
    while let Some(pos) = rest.find('%') {
        let head = &rest[..pos];
        let start = head
            .char_indices()
            .rev()
            .take_while(|(_, c)| c.is_ascii_digit() || *c == '.')
            .last()
            .map(|(i, _)| i)
            .unwrap_or(head.len());
        match head[start..].parse::<f64>() {
            Ok(n) if start < head.len() => {
                out.push_str(&head[..start]);
                out.push_str(&perl_number(n * base / 100.0));
            }
            _ => {
                out.push_str(head);
                out.push('%');
            }
        }
        rest = &rest[pos + 1..];
    }
    out.push_str(rest);
    Some(out)
}

impl Plugin for Memory {
    fn name(&self) -> &'static str {
        "memory"
    }

    fn config(&self, cx: &Context) -> Result<String> {
        let m = read(cx)?;
        let total = m["MemTotal"];
        let has = |k: &str| m.contains_key(k);
        let mut order = String::from("apps ");
        for (f, k) in [
            ("page_tables", "PageTables"),
            ("per_cpu", "Percpu"),
            ("swap_cache", "SwapCached"),
            ("slab", "Slab"),
            ("shmem", "Shmem"),
        ] {
            if has(k) {
                order.push_str(f);
                order.push(' ');
            }
        }
        order.push_str("cached buffers free swap ");
        let mut out = String::new();
        lines(
            &mut out,
            &[
                (
                    "graph_args",
                    &format!("--base 1024 -l 0 --upper-limit {total}"),
                ),
                ("graph_vlabel", "Bytes"),
                ("graph_title", "Memory usage"),
                ("graph_category", "system"),
                ("graph_info", "What the machine's memory is used for."),
                ("graph_order", &order),
            ],
        );
        let base: &[(&str, &str, &str, &str, &str)] = &[
            (
                "apps",
                "apps",
                "AREA",
                "Memory of user-space programs.",
                "COLOUR0",
            ),
            (
                "buffers",
                "buffers",
                "STACK",
                "Block device cache, and dirty blocks waiting to be written.",
                "COLOUR5",
            ),
            ("swap", "swap", "STACK", "Swap space in use.", "COLOUR7"),
            (
                "cached",
                "cache",
                "STACK",
                "Page cache: file contents.",
                "COLOUR4",
            ),
            (
                "free",
                "unused",
                "STACK",
                "Memory holding nothing at all.",
                "COLOUR6",
            ),
        ];
        for (f, label, draw, info, colour) in base {
            field(
                &mut out,
                f,
                &[
                    ("label", label),
                    ("draw", draw),
                    ("info", info),
                    ("colour", colour),
                ],
            );
        }
        for o in OPTIONAL {
            if !has(o.key) {
                continue;
            }
            field(&mut out, o.field, &[("label", o.label), ("draw", o.draw)]);
            if let Some(info) = o.info {
                field(&mut out, o.field, &[("info", info)]);
            }
            field(&mut out, o.field, &[("colour", o.colour)]);
        }
        if has("KSM") {
            field(
                &mut out,
                "ksm_sharing",
                &[
                    ("label", "KSM sharing"),
                    ("draw", "LINE2"),
                    ("colour", "FFBFFF"),
                ],
            );
            field(
                &mut out,
                "ksm_sharing",
                &[
                    ("info", "Pages merged by kernel same-page merging."),
                    ("colour", "COLOUR19"),
                ],
            );
        }
        for f in THRESHOLD_FIELDS {
            let base = if *f == "swap" {
                m.get("SwapTotal").copied()
            } else {
                Some(total)
            };
            for level in ["warning", "critical"] {
                // Perl's `||`: an empty or "0" value counts as unset.
                let set = |k: &str| cx.env.get(k).filter(|v| !v.is_empty() && *v != "0");
                if let Some(v) = set(&format!("{f}_{level}")).or_else(|| set(level))
                    && let Some(v) = adjust(v, base)
                {
                    field(&mut out, f, &[(level, &v)]);
                }
            }
        }
        Ok(out)
    }

    fn fetch(&self, cx: &Context) -> Result<String> {
        let m = read(cx)?;
        let g = |k: &str| m.get(k).copied().unwrap_or(0) as i128;
        let mut out = String::new();
        let mut put = |name: &str, v: i128| out.push_str(&format!("{name}.value {v}\n"));
        for (f, k) in [
            ("slab", "Slab"),
            ("swap_cache", "SwapCached"),
            ("page_tables", "PageTables"),
            ("per_cpu", "Percpu"),
            ("vmalloc_used", "VmallocUsed"),
        ] {
            if m.contains_key(k) {
                put(f, g(k));
            }
        }
        let apps = g("MemTotal")
            - g("MemFree")
            - g("Buffers")
            - g("Cached")
            - g("Slab")
            - g("PageTables")
            - g("Percpu")
            - g("SwapCached");
        put("apps", apps);
        put("free", g("MemFree"));
        put("buffers", g("Buffers"));
        put("cached", g("Cached") - g("Shmem"));
        put("swap", g("SwapTotal") - g("SwapFree"));
        for (f, k) in [
            ("shmem", "Shmem"),
            ("committed", "Committed_AS"),
            ("mapped", "Mapped"),
            ("active", "Active"),
            ("active_anon", "ActiveAnon"),
            ("active_cache", "ActiveCache"),
            ("inactive", "Inactive"),
            ("inact_dirty", "Inact_dirty"),
            ("inact_laundry", "Inact_laundry"),
            ("inact_clean", "Inact_clean"),
            ("ksm_sharing", "KSM"),
        ] {
            if m.contains_key(k) {
                put(f, g(k));
            }
        }
        Ok(out)
    }

    fn autoconf(&self, cx: &Context) -> Autoconf {
        match cx.root.read_proc("meminfo") {
            Ok(_) => Autoconf::Yes,
            Err(_) => Autoconf::No("/proc/meminfo not found".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meminfo_lines() {
        let m = parse(
            "MemTotal:       24684084 kB\nActive(anon):     1 kB\nHugePages_Total:  0\nFoo: x kB\nShmem: 8872 kB\n",
        );
        assert_eq!(m["MemTotal"], 24684084 * 1024);
        assert_eq!(m["Shmem"], 8872 * 1024);
        assert!(!m.contains_key("Active(anon)"));
        assert!(!m.contains_key("HugePages_Total"));
    }

    #[test]
    fn percent_thresholds() {
        assert_eq!(adjust("50%", Some(25276502016)).unwrap(), "12638251008");
        assert_eq!(
            adjust("1.5%:2", Some(25276502016)).unwrap(),
            "379147530.24:2"
        );
        assert_eq!(adjust("80%", None), None);
        assert_eq!(adjust("1000", None).unwrap(), "1000");
    }

    #[test]
    fn slabinfo_2_4() {
        assert_eq!(
            parse_slabinfo("slabinfo - version: 1.1\nkmem_cache 60 78 100 2 2 1\nx 1 1 1 1 3 1\n"),
            Some(5 * 4096)
        );
        assert_eq!(parse_slabinfo("slabinfo - version: 2.1\n"), None);
    }
}
