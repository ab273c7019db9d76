//! Block devices for `diskstats`: their I/O counters, the names Munin shows
//! for them, and which of them get graphs.
//!
//! Counters come from `/sys/block/<dev>/stat` (whole devices only), else
//! from `/proc/diskstats` (old kernels; partitions included and filtered
//! out by name). Device-mapper devices are shown under their LVM name
//! (`vg0/root`) when `/dev/vg0/root` exists, else as `mapper/<name>`.

use super::{PluginError, Result};
use crate::proc::ProcRoot;

/// The counters diskstats uses, since boot (ticks in milliseconds, sectors
/// of 512 bytes whatever the device's real sector size).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    pub rd_ios: u64,
    pub rd_sectors: u64,
    pub rd_ticks: u64,
    pub wr_ios: u64,
    pub wr_sectors: u64,
    pub wr_ticks: u64,
    /// Milliseconds the device had I/O in flight ("io_ticks").
    pub busy_ticks: u64,
}

impl Counters {
    /// From the counters of one device, as the kernel orders them (at least
    /// 11; newer kernels append discard and flush counters, which we ignore).
    pub fn parse(fields: &[&str]) -> std::result::Result<Counters, String> {
        if fields.len() < 11 {
            return Err(format!(
                "expected at least 11 counters, found {}",
                fields.len()
            ));
        }
        let n = |i: usize| -> std::result::Result<u64, String> {
            fields[i]
                .parse()
                .map_err(|_| format!("counter {} is not a number: {:?}", i + 1, fields[i]))
        };
        Ok(Counters {
            rd_ios: n(0)?,
            rd_sectors: n(2)?,
            rd_ticks: n(3)?,
            wr_ios: n(4)?,
            wr_sectors: n(6)?,
            wr_ticks: n(7)?,
            busy_ticks: n(9)?,
        })
    }
}

/// One device: the kernel's name, the name shown, its id in field and graph
/// names, and its counters.
#[derive(Debug, Clone, PartialEq)]
pub struct Device {
    /// `sda`, `dm-0`, `cciss/c0d0` (sysfs writes `/` as `!`).
    pub kernel: String,
    /// `sda`, `vg0/root`, `mapper/crypt`.
    pub pretty: String,
    /// `sda`, `vg0_root`: `clean_fieldname` of the untrimmed pretty name.
    pub id: String,
    pub counters: Counters,
}

impl Device {
    /// The part of the pretty name after its last `/`.
    pub fn short(&self) -> &str {
        self.pretty.rsplit('/').next().unwrap_or(&self.pretty)
    }

    /// Whether the device reports time spent on I/O (some virtual devices
    /// count requests but no time): only those get latency graphs.
    pub fn does_latency(&self) -> bool {
        self.counters.rd_ticks + self.counters.wr_ticks != 0
    }
}

/// Parses `/proc/diskstats`: the device name and counters of each line
/// (lines with fewer than 14 columns, as very old kernels printed for
/// partitions, are skipped).
pub fn parse_diskstats(text: &str) -> Vec<(String, std::result::Result<Counters, String>)> {
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.len() >= 14).then(|| (f[2].to_string(), Counters::parse(&f[3..])))
        })
        .collect()
}

/// Every block device with its counters, as the kernel names them.
pub fn read_counters(root: &ProcRoot) -> Result<Vec<(String, Counters)>> {
    let names = root.list_sys("block");
    let mut out = Vec::new();
    for name in &names {
        let rel = format!("block/{name}/stat");
        let text = match root.read_sys(&rel) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e.into()),
        };
        let fields: Vec<&str> = text.split_whitespace().collect();
        let c = Counters::parse(&fields)
            .map_err(|e| PluginError(format!("{}: {e}", root.sys_path(&rel).display())))?;
        out.push((name.replace('!', "/"), c));
    }
    if !out.is_empty() {
        return Ok(out);
    }
    let text = root.read_proc("diskstats")?;
    parse_diskstats(&text)
        .into_iter()
        .map(|(name, c)| {
            c.map(|c| (name, c))
                .map_err(|e| PluginError(format!("{}: {e}", root.proc_path("diskstats").display())))
        })
        .collect()
}

/// Splits a device-mapper name into LVM's volume group and logical volume:
/// at the first `-` that is not part of a `--`, each `--` standing for `-`.
pub fn split_lvm(dm_name: &str) -> Option<(String, String)> {
    let b = dm_name.as_bytes();
    let at = (0..b.len()).find(|&i| {
        b[i] == b'-' && (i == 0 || b[i - 1] != b'-') && b.get(i + 1).is_some_and(|c| *c != b'-')
    })?;
    Some((
        dm_name[..at].replace("--", "-"),
        dm_name[at + 1..].replace("--", "-"),
    ))
}

/// The name Munin shows for a kernel device name.
pub fn pretty_name(root: &ProcRoot, kernel: &str) -> String {
    let is_dm = kernel
        .strip_prefix("dm-")
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
    if !is_dm {
        return kernel.to_string();
    }
    let Ok(name) = root.read_sys(&format!("block/{kernel}/dm/name")) else {
        return kernel.to_string();
    };
    let name = name.trim();
    if name.is_empty() {
        return kernel.to_string();
    }
    if let Some((vg, lv)) = split_lvm(name)
        && root.dev_path(&format!("{vg}/{lv}")).exists()
    {
        return format!("{vg}/{lv}");
    }
    format!("mapper/{name}")
}

/// Drops the partitions of accepted devices, shortest names first: `sda1`
/// of `sda`, `nvme0n1p1` of `nvme0n1`, but not `loop10` of `loop1` (a
/// device ending in a digit has partitions only in the `p<N>` form).
pub fn drop_partitions(mut names: Vec<String>) -> Vec<String> {
    names.sort_by(|a, b| a.len().cmp(&b.len()).then_with(|| a.cmp(b)));
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let mut kept: Vec<String> = Vec::new();
    for name in names {
        let partition = kept.iter().any(|a| {
            name.strip_prefix(a.as_str()).is_some_and(|rest| {
                rest.strip_prefix('p').is_some_and(digits)
                    || (!a.ends_with(|c: char| c.is_ascii_digit()) && digits(rest))
            })
        });
        if !partition {
            kept.push(name);
        }
    }
    kept
}

/// The `include_only` / `exclude` setting: comma-separated substrings of a
/// kernel or pretty name (a leading `/dev/` ignored).
#[derive(Debug, Clone, PartialEq)]
pub enum Selection {
    All,
    Only(Vec<String>),
    Except(Vec<String>),
}

impl Selection {
    pub fn from_env(include_only: Option<&str>, exclude: Option<&str>) -> Result<Selection> {
        let list = |v: &str| -> Vec<String> {
            v.split(',')
                .map(|s| s.trim())
                .map(|s| s.strip_prefix("/dev/").unwrap_or(s).to_string())
                .filter(|s| !s.is_empty())
                .collect()
        };
        let include_only = include_only.filter(|v| !v.trim().is_empty());
        let exclude = exclude.filter(|v| !v.trim().is_empty());
        match (include_only, exclude) {
            (Some(_), Some(_)) => Err(PluginError(
                "env.include_only and env.exclude cannot both be set".into(),
            )),
            (Some(v), None) => Ok(Selection::Only(list(v))),
            (None, Some(v)) => Ok(Selection::Except(list(v))),
            (None, None) => Ok(Selection::All),
        }
    }

    fn keeps(&self, d: &Device) -> bool {
        let hit = |items: &[String]| {
            items
                .iter()
                .any(|i| d.kernel.contains(i.as_str()) || d.pretty.contains(i.as_str()))
        };
        match self {
            Selection::All => true,
            Selection::Only(items) => hit(items),
            Selection::Except(items) => !hit(items),
        }
    }
}

/// The devices that get graphs: every device that has done any I/O (this
/// drops unused loop, ram and zram devices, nothing is excluded by name),
/// without partitions, narrowed by `sel`; sorted by kernel name.
pub fn select(root: &ProcRoot, sel: &Selection) -> Result<Vec<Device>> {
    let all = read_counters(root)?;
    let used: Vec<(String, Counters)> = all
        .into_iter()
        .filter(|(_, c)| c.rd_ios != 0 || c.wr_ios != 0)
        .collect();
    let keep = drop_partitions(used.iter().map(|(n, _)| n.clone()).collect());
    let mut out: Vec<Device> = used
        .into_iter()
        .filter(|(n, _)| keep.contains(n))
        .map(|(kernel, counters)| {
            let pretty = pretty_name(root, &kernel);
            Device {
                id: super::clean_fieldname(&pretty),
                kernel,
                pretty,
                counters,
            }
        })
        .filter(|d| sel.keeps(d))
        .collect();
    out.sort_by(|a, b| a.kernel.cmp(&b.kernel));
    Ok(out)
}

/// Whether any block device exists (diskstats' autoconf).
pub fn any(root: &ProcRoot) -> bool {
    read_counters(root).is_ok_and(|d| !d.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_from_sysfs_and_proc() {
        let sys = "  593761 39585 59989226 1216216 43180 54736 26835128 87097 0 77640 1308843 37440 41 15547392 5429 2465 100";
        let f: Vec<&str> = sys.split_whitespace().collect();
        let c = Counters::parse(&f).unwrap();
        assert_eq!(
            c,
            Counters {
                rd_ios: 593761,
                rd_sectors: 59989226,
                rd_ticks: 1216216,
                wr_ios: 43180,
                wr_sectors: 26835128,
                wr_ticks: 87097,
                busy_ticks: 77640,
            }
        );
        assert!(Counters::parse(&f[..10]).unwrap_err().contains("found 10"));
        let proc = "   8       0 sda 10 0 20 30 40 0 50 60 0 70 80\n   8       1 sda1 1 2 3 4\n";
        let p = parse_diskstats(proc);
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].0, "sda");
        assert_eq!(p[0].1.as_ref().unwrap().busy_ticks, 70);
        let bad = parse_diskstats("8 0 sda 1 2 x 4 5 6 7 8 9 10 11\n");
        assert!(bad[0].1.as_ref().unwrap_err().contains("\"x\""));
    }

    #[test]
    fn lvm_names() {
        assert_eq!(split_lvm("vg0-root"), Some(("vg0".into(), "root".into())));
        assert_eq!(
            split_lvm("my--vg-lv--x"),
            Some(("my-vg".into(), "lv-x".into()))
        );
        assert_eq!(split_lvm("cryptroot"), None);
        assert_eq!(split_lvm("a---b"), None);
    }

    #[test]
    fn partitions_dropped() {
        let names = [
            "sda",
            "sda1",
            "sda2",
            "nvme0n1",
            "nvme0n1p1",
            "loop1",
            "loop10",
            "dm-1",
            "dm-10",
            "mmcblk0",
            "mmcblk0p2",
            "md1",
            "md1p1",
        ];
        let mut kept = drop_partitions(names.iter().map(|s| s.to_string()).collect());
        kept.sort();
        assert_eq!(
            kept,
            [
                "dm-1", "dm-10", "loop1", "loop10", "md1", "mmcblk0", "nvme0n1", "sda"
            ]
        );
    }

    #[test]
    fn selection() {
        let d = Device {
            kernel: "dm-0".into(),
            pretty: "vg0/swap".into(),
            id: "vg0_swap".into(),
            counters: Counters::default(),
        };
        assert!(Selection::from_env(Some("a"), Some("b")).is_err());
        let only = Selection::from_env(Some("sda, /dev/vg0/swap"), None).unwrap();
        assert!(only.keeps(&d));
        let except = Selection::from_env(None, Some("dm-")).unwrap();
        assert!(!except.keeps(&d));
        assert_eq!(
            Selection::from_env(Some(" "), None).unwrap(),
            Selection::All
        );
    }
}
