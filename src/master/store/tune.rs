//! Bringing an existing RRD file's min/max in line with its field's
//! config, as munin-update tunes files when a plugin's config changes.
//! Called only for plugins whose config hash changed (see `state`), so an
//! unchanged fleet costs no `info` read per file.
//!
//! The rrd crate wraps no tune, so this calls librrd's `rrd_tune` (see
//! `librrd`) with the arguments `rrdtool tune` would pass it.

use std::path::Path;

use rrd::ops::info::{InfoValue, info};

/// The data source's current (min, max); NaN (none) as `None`.
fn bounds(path: &Path) -> Result<(Option<f64>, Option<f64>), String> {
    let map = info(path).map_err(|e| e.to_string())?;
    let get = |k: &str| match map.get(k) {
        Some(InfoValue::Value(v)) if v.is_finite() => Some(*v),
        _ => None,
    };
    Ok((get("ds[42].min"), get("ds[42].max")))
}

fn text(v: Option<f64>) -> String {
    v.map_or_else(|| "U".to_string(), |v| v.to_string())
}

/// Sets min/max where they differ; `true` when the file was changed.
pub fn tune(path: &Path, min: Option<f64>, max: Option<f64>) -> Result<bool, String> {
    let (have_min, have_max) = bounds(path)?;
    if have_min == min && have_max == max {
        return Ok(false);
    }
    let file = path.to_str().ok_or("not a UTF-8 path")?;
    let args = [
        "--minimum".to_string(),
        format!("42:{}", text(min)),
        "--maximum".to_string(),
        format!("42:{}", text(max)),
    ];
    crate::master::librrd::tune(file, &args)?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::master::poll::plan::FieldPlan;

    #[test]
    fn min_and_max_follow_the_config() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h-load-load-g.rrd");
        let mut f = FieldPlan {
            min: Some("0".into()),
            ..FieldPlan::load_gauge(path.clone())
        };
        crate::master::store::rrdfile::store(&f, 300, 1_700_000_000).unwrap();
        assert_eq!(bounds(&path).unwrap(), (Some(0.0), None));
        assert!(!tune(&path, Some(0.0), None).unwrap(), "nothing to change");
        assert!(tune(&path, Some(-5.0), Some(100.0)).unwrap());
        assert_eq!(bounds(&path).unwrap(), (Some(-5.0), Some(100.0)));
        f.tune = true;
        f.max = Some("U".into());
        assert_eq!(
            crate::master::store::rrdfile::store(&f, 300, 1_700_000_000),
            Ok(crate::master::store::rrdfile::Outcome {
                tuned: true,
                ..Default::default()
            })
        );
        assert_eq!(bounds(&path).unwrap(), (Some(0.0), None));
        assert!(tune(&dir.path().join("missing.rrd"), None, None).is_err());
    }
}
