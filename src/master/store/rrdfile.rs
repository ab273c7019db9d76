//! Writing polled values into RRD files through librrd (the `rrd` crate).
//!
//! A new file gets one data source named `42` (Munin's name), of the
//! field's type, heartbeat twice the update rate, the field's min and max,
//! and Munin's archive layout scaled to the update rate: the same time
//! spans at the same resolutions (the rate itself for 2 days, 30 minutes
//! for 9 days, 2 hours for 45 days, a day for 450 days), each as AVERAGE,
//! MIN and MAX. With Munin's 300 s rate that is exactly Munin's file; at
//! 60 s the first archive keeps minute points for two days. Existing files
//! are updated as they are, whatever their step, so a Munin dbdir keeps its
//! history. Every call blocks: callers run this on a blocking thread.

use std::path::Path;
use std::time::{Duration, UNIX_EPOCH};

use rrd::ConsolidationFn;
use rrd::ops::create::{self, Archive, DataSource, DataSourceName};
use rrd::ops::update::{BatchTime, Datum};

use super::layout::DsType;
use crate::master::poll::plan::FieldPlan;

/// (resolution, span) of the archives, in seconds, as Munin's "normal".
const ARCHIVES: [(u64, u64); 4] = [
    (0, 2 * 86_400),
    (1800, 9 * 86_400),
    (7200, 45 * 86_400),
    (86_400, 450 * 86_400),
];

/// `(points per row, rows)` of each archive for `step`.
pub fn archive_layout(step: u64) -> Vec<(u32, u32)> {
    ARCHIVES
        .iter()
        .map(|&(resolution, span)| {
            let pdp = (resolution / step).max(1);
            (pdp as u32, (span / (pdp * step)).max(1) as u32)
        })
        .collect()
}

/// What happened to one field's file.
///
/// A worker answers one per field: what is `false` is left out.
#[derive(Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Outcome {
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub created: bool,
    /// An existing file's min/max were changed to the config's.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub tuned: bool,
    /// The value was stored.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub updated: bool,
    /// What was mended on the way, for the run's errors (the file was
    /// still created and the value stored).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mended: Option<String>,
}

impl Outcome {
    /// Whether librrd was called for the file.
    pub fn touched(&self) -> bool {
        self.created || self.tuned || self.updated
    }
}

/// A bound of a data source: a number, or `U` for none.
pub fn bound(v: Option<&str>, field: &str, which: &str) -> Result<Option<f64>, String> {
    match v.map(str::trim) {
        None | Some("U") | Some("") => Ok(None),
        Some(s) => s
            .parse::<f64>()
            .ok()
            .filter(|f| f.is_finite())
            .map(Some)
            .ok_or_else(|| format!("{field}.{which} {s:?} is not a number")),
    }
}

/// Creates the field's file if missing, then stores its value if any.
/// `now` is the master's clock at fetch time, used when the node gave none.
pub fn store(f: &FieldPlan, step: u64, now: u64) -> Result<Outcome, String> {
    // In a steady run every file is there and needs nothing else: it is
    // updated at once, and looked at only when that fails (missing, or
    // left empty), which saves a `stat` per value.
    if !f.tune && f.value.is_some() {
        match update(f, now, Outcome::default()) {
            Ok(outcome) => return Ok(outcome),
            Err(e) => match look(&f.path)? {
                Found::File => return Err(e),
                found => {
                    let outcome = prepare_found(f, step, now, found)?;
                    return update(f, now, outcome);
                }
            },
        }
    }
    let outcome = prepare(f, step, now)?;
    update(f, now, outcome)
}

/// Makes the field's file ready for its values: created when missing
/// (starting before the first of them), min/max tuned when asked.
pub fn prepare(f: &FieldPlan, step: u64, now: u64) -> Result<Outcome, String> {
    // A file a power cut left empty (created by a run whose pages never
    // reached the disk) holds nothing and would fail every update: it is
    // set aside, named in the error, and made again.
    let found = look(&f.path)?;
    prepare_found(f, step, now, found)
}

/// [`prepare`], `found` being what [`look`] found at the field's path.
fn prepare_found(f: &FieldPlan, step: u64, now: u64, found: Found) -> Result<Outcome, String> {
    let fail = |what: &str, e: &dyn std::fmt::Display| format!("{}: {what}: {e}", f.path.display());
    let mut tuned = false;
    let created = if let Found::File = found {
        if f.tune {
            tuned = super::tune::tune(
                &f.path,
                bound(f.min.as_deref(), &f.field, "min")?,
                bound(f.max.as_deref(), &f.field, "max")?,
            )
            .map_err(|e| fail("cannot tune", &e))?;
        }
        false
    } else {
        let first = f
            .earlier
            .first()
            .map(|(t, _)| *t)
            .or_else(|| f.value.as_ref().and_then(|(t, _)| *t))
            .unwrap_or(now);
        create_file(f, step, first.saturating_sub(step)).map_err(|e| fail("cannot create", &e))?;
        true
    };
    Ok(Outcome {
        created,
        tuned,
        updated: false,
        mended: match found {
            Found::SetAside(aside) => Some(format!(
                "{}: was empty (a power cut after its creation?): set aside as {}, made anew",
                f.path.display(),
                aside.display()
            )),
            _ => None,
        },
    })
}

/// Stores the field's values (spooled ones first) into its file, which
/// [`prepare`] made ready.
fn update(f: &FieldPlan, now: u64, mut outcome: Outcome) -> Result<Outcome, String> {
    let fail = |what: &str, e: &dyn std::fmt::Display| format!("{}: {what}: {e}", f.path.display());
    let Some((time, text)) = &f.value else {
        return Ok(outcome);
    };
    // Spooled values first, oldest first; one that is not a value is
    // skipped rather than costing the others.
    let mut points: Vec<(u64, [Datum; 1])> = f
        .earlier
        .iter()
        .filter_map(|(t, v)| datum(v).map(|d| (*t, [d])))
        .collect();
    points.push((
        time.unwrap_or(now),
        [datum(text).ok_or_else(|| fail("not a value", text))?],
    ));
    let batch: Vec<(BatchTime, &[Datum])> = points
        .iter()
        .map(|(t, d)| {
            let at = UNIX_EPOCH + Duration::from_secs(*t);
            (BatchTime::Timestamp(at), &d[..])
        })
        .collect();
    let opts = rrd::ops::update::Options {
        // A second poll in the same second is dropped, not an error.
        skip_past_updates: true,
    };
    rrd::ops::update::update_all(&f.path, opts, &batch).map_err(|e| fail("cannot update", &e))?;
    outcome.updated = true;
    Ok(outcome)
}

/// What a field's path holds.
enum Found {
    Missing,
    File,
    /// An empty file, moved here: what a file created without waiting for
    /// the disk looks like after a power cut.
    SetAside(std::path::PathBuf),
}

/// Looks at `path` (one `stat`), setting an empty file aside.
fn look(path: &Path) -> Result<Found, String> {
    match std::fs::metadata(path) {
        Ok(m) if m.is_file() && m.len() == 0 => {
            let mut aside = path.as_os_str().to_owned();
            aside.push(format!(".empty-{}", crate::clock::now()));
            let aside = std::path::PathBuf::from(aside);
            std::fs::rename(path, &aside)
                .map_err(|e| format!("{}: empty, cannot set aside: {e}", path.display()))?;
            Ok(Found::SetAside(aside))
        }
        Ok(_) => Ok(Found::File),
        Err(_) => Ok(Found::Missing),
    }
}

/// `text` as librrd and rrdcached take it (`U`, an integer, or a float
/// in fixed point), or `None` when it is not a value.
pub fn value_text(text: &str) -> Option<String> {
    Some(match datum(text)? {
        Datum::Unspecified => "U".into(),
        Datum::Int(u) => u.to_string(),
        Datum::Float(f) => f.to_string(),
    })
}

/// `U`, an unsigned integer (exact for counters past 2^53), or a float.
fn datum(text: &str) -> Option<Datum> {
    let t = text.trim();
    if t == "U" {
        return Some(Datum::Unspecified);
    }
    if let Ok(u) = t.parse::<u64>() {
        return Some(Datum::Int(u));
    }
    t.parse::<f64>()
        .ok()
        .filter(|f| f.is_finite())
        .map(Datum::Float)
}

fn create_file(f: &FieldPlan, step: u64, start: u64) -> Result<(), String> {
    let name = DataSourceName::new("42").map_err(|e| e.to_string())?;
    let min = bound(f.min.as_deref(), &f.field, "min")?;
    let max = bound(f.max.as_deref(), &f.field, "max")?;
    let heartbeat = (2 * step) as u32;
    // The rrd crate takes whole non-negative bounds for these types.
    let whole = |v: Option<f64>, which: &str| match v {
        None => Ok(None),
        Some(x) if x >= 0.0 && x.fract() == 0.0 && x < 1.8e19 => Ok(Some(x as u64)),
        Some(x) => Err(format!(
            "{}.{which} {x}: a {} bound must be a whole number of 0 or more",
            f.field,
            f.ds.as_str()
        )),
    };
    let ds = match f.ds {
        DsType::Gauge => DataSource::gauge(&name, heartbeat, min, max),
        DsType::Counter => {
            DataSource::counter(&name, heartbeat, whole(min, "min")?, whole(max, "max")?)
        }
        DsType::Derive => {
            DataSource::derive(&name, heartbeat, whole(min, "min")?, whole(max, "max")?)
        }
        DsType::Absolute => {
            DataSource::absolute(&name, heartbeat, whole(min, "min")?, whole(max, "max")?)
        }
    };
    let mut rras = Vec::new();
    for (pdp, rows) in archive_layout(step) {
        for cf in [
            ConsolidationFn::Avg,
            ConsolidationFn::Min,
            ConsolidationFn::Max,
        ] {
            rras.push(Archive::new(cf, 0.5, pdp, rows).map_err(|e| e.to_string())?);
        }
    }
    // Made under a temporary name and renamed: librrd's create writes
    // `<path>XXXXXX` (`mkstemp`) and renames it over `path` when whole, so
    // a create cut short (full disk, a kill) never leaves a half file under
    // the real name, which every later update would trip over. (A name of
    // our own around that cost a second rename a file, and a first run
    // spent ~9% of its samples in ext4's directory code and lock.) Not
    // fsynced: a first run creates a gigabyte per 200 nodes, and waiting
    // for the disk to take it made creating cost 20 times updating. The
    // kernel writes it back within seconds; a power cut before then leaves
    // an empty file, which the next run sets aside and makes again
    // (`look`). librrd never fsyncs an update either.
    let create = || {
        // librrd's create is not safe to run from two threads at once
        // (seen: "min must be less than max" for a valid `0:U` under
        // concurrency), so creates take turns; updates (`rrd_update_r`)
        // run in parallel.
        let _turn = crate::master::librrd::turn();
        create::create(
            &f.path,
            UNIX_EPOCH + Duration::from_secs(start),
            Duration::from_secs(step),
            true,
            None,
            &[] as &[&Path],
            [&ds],
            rras.iter(),
        )
        .map_err(|e| e.to_string())
    };
    let Some(dir) = f.path.parent() else {
        return create();
    };
    if known_dir(dir) {
        match create() {
            Err(_) if !dir.is_dir() => {} // removed meanwhile: made again below
            made => return made,
        }
    }
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    create()?;
    remember_dir(dir);
    Ok(())
}

/// Directories this process made or found while creating files: a first
/// run creates a hundred files in each, and asking again for each cost a
/// `mkdir` and a `stat`. One removed meanwhile fails a create, which
/// then makes it again.
static DIRS: std::sync::Mutex<std::collections::BTreeSet<std::path::PathBuf>> =
    std::sync::Mutex::new(std::collections::BTreeSet::new());

fn known_dir(dir: &Path) -> bool {
    DIRS.lock().unwrap_or_else(|p| p.into_inner()).contains(dir)
}

fn remember_dir(dir: &Path) {
    let mut dirs = DIRS.lock().unwrap_or_else(|p| p.into_inner());
    dirs.insert(dir.to_path_buf());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn munins_layout_at_300_and_minutes_at_60() {
        assert_eq!(
            archive_layout(300),
            vec![(1, 576), (6, 432), (24, 540), (288, 450)]
        );
        assert_eq!(
            archive_layout(60),
            vec![(1, 2880), (30, 432), (120, 540), (1440, 450)]
        );
    }

    #[test]
    fn a_directory_removed_between_creates_is_made_again() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("group");
        let field = |name: &str| {
            let mut f = FieldPlan::load_gauge(dir.join(name));
            f.value = Some((Some(1_700_000_000), "1".into()));
            f
        };
        assert!(
            store(&field("h-a-a-g.rrd"), 300, 1_700_000_000)
                .unwrap()
                .created
        );
        std::fs::remove_dir_all(&dir).unwrap();
        let o = store(&field("h-b-b-g.rrd"), 300, 1_700_000_000).unwrap();
        assert!(o.created && o.updated, "{o:?}");
        // librrd's own temporary name is gone once the file is whole.
        let names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names, ["h-b-b-g.rrd"]);
    }

    #[test]
    fn a_file_a_power_cut_left_empty_is_set_aside_and_made_again() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h-load-load-g.rrd");
        std::fs::write(&path, b"").unwrap();
        let mut f = FieldPlan::load_gauge(path.clone());
        f.value = Some((Some(1_700_000_000), "1.5".into()));
        let o = store(&f, 300, 1_700_000_000).unwrap();
        assert!(o.created && o.updated, "{o:?}");
        let note = o.mended.expect("named");
        assert!(
            note.contains("was empty") && note.contains(".empty-"),
            "{note}"
        );
        assert!(std::fs::metadata(&path).unwrap().len() > 0);
        let aside: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.contains(".empty-"))
            .collect();
        assert_eq!(aside.len(), 1, "{aside:?}");
        // A file with content is never touched this way.
        f.value = Some((Some(1_700_000_300), "2".into()));
        assert_eq!(store(&f, 300, 1_700_000_300).unwrap().mended, None);
    }

    #[test]
    fn values() {
        assert_eq!(datum("U"), Some(Datum::Unspecified));
        assert_eq!(datum("18446744073709551615"), Some(Datum::Int(u64::MAX)));
        assert_eq!(datum("-1.5"), Some(Datum::Float(-1.5)));
        assert_eq!(datum("1e3"), Some(Datum::Float(1000.0)));
        assert_eq!(datum("x"), None);
        assert_eq!(value_text("1e3").as_deref(), Some("1000"));
        assert_eq!(value_text("-2.5").as_deref(), Some("-2.5"));
        assert_eq!(value_text(" U ").as_deref(), Some("U"));
        assert_eq!(value_text("1:2"), None);
        assert_eq!(bound(Some("0"), "f", "min"), Ok(Some(0.0)));
        assert_eq!(bound(Some("U"), "f", "max"), Ok(None));
        assert!(
            bound(Some("lots"), "f", "max")
                .unwrap_err()
                .contains("f.max \"lots\"")
        );
    }
}
