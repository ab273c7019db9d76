//! The counters `diskstats` remembers between runs, in `$MUNIN_STATEFILE`.
//!
//! Rates are averaged over about five minutes whatever the fetch interval:
//! every run stores its counters with a timestamp, keeps those up to 450 s
//! old, and compares against the one closest to 300 s old. Munin's plugin
//! does the same with a Perl Storable file; ours is plain text and anything
//! unreadable (Munin's file after a switch, a truncated write) counts as no
//! state, so the next run starts afresh rather than failing:
//!
//! ```text
//! munin-rs diskstats 1
//! @1700000000
//! sda 593761 59989226 1216216 43180 26835128 87097 77640
//! ```

use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use super::blockdev::Counters;

const MAGIC: &str = "munin-rs diskstats 1";
/// The age of the snapshot rates are computed against.
pub const TARGET_AGE: u64 = 300;
/// Snapshots older than this are forgotten.
pub const KEEP_AGE: u64 = 450;

/// One run's counters by kernel device name.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Snapshot {
    pub time: u64,
    pub devices: Vec<(String, Counters)>,
}

impl Snapshot {
    pub fn get(&self, kernel: &str) -> Option<&Counters> {
        self.devices
            .iter()
            .find(|(k, _)| k == kernel)
            .map(|(_, c)| c)
    }
}

/// Parses a state file; `None` when it is not ours or is damaged.
pub fn parse(text: &str) -> Option<Vec<Snapshot>> {
    let mut lines = text.lines();
    if lines.next()? != MAGIC {
        return None;
    }
    let mut out: Vec<Snapshot> = Vec::new();
    for line in lines {
        if let Some(t) = line.strip_prefix('@') {
            out.push(Snapshot {
                time: t.parse().ok()?,
                devices: Vec::new(),
            });
            continue;
        }
        let f: Vec<&str> = line.split(' ').collect();
        if f.len() != 8 {
            return None;
        }
        let n = |i: usize| f[i].parse::<u64>().ok();
        let c = Counters {
            rd_ios: n(1)?,
            rd_sectors: n(2)?,
            rd_ticks: n(3)?,
            wr_ios: n(4)?,
            wr_sectors: n(5)?,
            wr_ticks: n(6)?,
            busy_ticks: n(7)?,
        };
        out.last_mut()?.devices.push((f[0].to_string(), c));
    }
    Some(out)
}

pub fn render(snaps: &[Snapshot]) -> String {
    let mut out = format!("{MAGIC}\n");
    for s in snaps {
        out.push_str(&format!("@{}\n", s.time));
        for (k, c) in &s.devices {
            out.push_str(&format!(
                "{k} {} {} {} {} {} {} {}\n",
                c.rd_ios,
                c.rd_sectors,
                c.rd_ticks,
                c.wr_ios,
                c.wr_sectors,
                c.wr_ticks,
                c.busy_ticks
            ));
        }
    }
    out
}

/// The snapshot to compare `now` against: the one whose age is closest to
/// [`TARGET_AGE`] (the newer on a tie), never one from this same second.
pub fn choose(snaps: &[Snapshot], now: u64) -> Option<&Snapshot> {
    snaps.iter().filter(|s| s.time < now).min_by_key(|s| {
        (
            (now - s.time).abs_diff(TARGET_AGE),
            std::cmp::Reverse(s.time),
        )
    })
}

/// The state to save after a run at `now`: recent snapshots plus this one
/// (replacing one taken in the same second), oldest first.
pub fn advance(mut snaps: Vec<Snapshot>, current: Snapshot) -> Vec<Snapshot> {
    let now = current.time;
    snaps.retain(|s| s.time < now && now - s.time <= KEEP_AGE);
    snaps.push(current);
    snaps.sort_by_key(|s| s.time);
    snaps
}

/// Reads the state file; missing or unreadable gives no snapshots.
pub fn load(path: &Path) -> Vec<Snapshot> {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|t| parse(&t))
        .unwrap_or_default()
}

/// Numbers the temporary files of this process.
static SEQ: AtomicU64 = AtomicU64::new(0);

/// Writes the state file atomically: a new private file beside it, then a
/// rename, so concurrent fetches (two masters) never see half a file.
///
/// The node may run this as root in a directory the plugin user owns: the
/// temporary file is created exclusively (`O_EXCL`, which also refuses a
/// planted symlink) so that nobody can redirect the write elsewhere.
pub fn save(path: &Path, snaps: &[Snapshot]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let base = path.file_name().and_then(|n| n.to_str()).unwrap_or("state");
    let (tmp, mut f) = (0..64)
        .find_map(|_| {
            let tmp = dir.join(format!(
                ".{base}.{}.{}.tmp",
                std::process::id(),
                SEQ.fetch_add(1, Ordering::Relaxed)
            ));
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&tmp)
            {
                Ok(f) => Some(Ok((tmp, f))),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => None,
                Err(e) => Some(Err(e)),
            }
        })
        .unwrap_or_else(|| {
            Err(std::io::Error::new(
                std::io::ErrorKind::AlreadyExists,
                "no free temporary file name",
            ))
        })?;
    let written = f
        .write_all(render(snaps).as_bytes())
        .and_then(|()| std::fs::rename(&tmp, path));
    written.inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snap(time: u64) -> Snapshot {
        Snapshot {
            time,
            devices: vec![(
                "sda".into(),
                Counters {
                    rd_ios: time,
                    ..Counters::default()
                },
            )],
        }
    }

    #[test]
    fn round_trip_and_damage() {
        let s = vec![snap(100), snap(200)];
        assert_eq!(parse(&render(&s)), Some(s));
        assert_eq!(parse("%MUNIN-STATE1.0\n1700000000\nBQkD\n"), None);
        assert_eq!(parse(&format!("{MAGIC}\nsda 1 2 3\n")), None);
        assert_eq!(parse(&format!("{MAGIC}\n@12\nsda 1 2 3 4 5 6\n")), None);
        assert_eq!(parse(""), None);
    }

    #[test]
    fn picks_closest_to_five_minutes() {
        let s = vec![snap(1000), snap(1100), snap(1200), snap(1300)];
        assert_eq!(choose(&s, 1400).unwrap().time, 1100);
        assert_eq!(choose(&s, 1301).unwrap().time, 1000);
        // 1000 and 1200 are both 100 s from 300 s old at 1500: the newer.
        assert_eq!(choose(&[snap(1000), snap(1200)], 1500).unwrap().time, 1200);
        assert!(choose(&[snap(1400)], 1400).is_none(), "same second");
        assert!(choose(&[], 1400).is_none());
    }

    #[test]
    fn keeps_recent_and_replaces_same_second() {
        let s = vec![snap(500), snap(600), snap(1000)];
        let after = advance(s, snap(1000));
        assert_eq!(
            after.iter().map(|s| s.time).collect::<Vec<_>>(),
            [600, 1000]
        );
    }

    #[test]
    fn saves_atomically() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("diskstats-127.0.0.1");
        save(&path, &[snap(1)]).unwrap();
        assert_eq!(load(&path), vec![snap(1)]);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        assert!(load(&dir.path().join("none")).is_empty());
    }

    #[test]
    fn a_planted_symlink_is_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "keep").unwrap();
        let path = dir.path().join("diskstats-x");
        // The next names this process would pick, planted as symlinks.
        let next = SEQ.load(Ordering::Relaxed);
        for seq in next..next + 8 {
            std::os::unix::fs::symlink(
                &victim,
                dir.path()
                    .join(format!(".diskstats-x.{}.{seq}.tmp", std::process::id())),
            )
            .unwrap();
        }
        save(&path, &[snap(1)]).unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep");
        assert_eq!(load(&path), vec![snap(1)]);
    }
}
