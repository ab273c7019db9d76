//! Drawing one PNG with librrd's `rrd_graph_v`.
//!
//! librrd's graph keeps global state (its error buffer, font cache), so
//! calls in one process take turns (see `librrd`); parallelism comes from
//! worker processes (see `workers`). librrd writes the image to
//! a hidden temporary name that is renamed over the page's PNG, so a
//! browser never loads half a picture. No fsync: a graph is redrawn from
//! the RRDs, which are the data.

use std::path::Path;

use crate::master::librrd::GraphInfo;

/// A graph to draw: librrd's arguments (after the file name) and where.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Draw {
    pub png: std::path::PathBuf,
    pub args: Vec<String>,
}

/// Draws `job.png`, returning librrd's numbers about it (the plot area,
/// the range drawn); the error is librrd's, naming the file.
pub fn draw(job: &Draw) -> Result<GraphInfo, String> {
    let tmp = crate::atomic_file::temp_name(&job.png);
    let fail = |e: String| format!("{}: {e}", job.png.display());
    if let Some(dir) = job.png.parent() {
        std::fs::create_dir_all(dir).map_err(|e| fail(e.to_string()))?;
    }
    let file = tmp
        .to_str()
        .ok_or_else(|| fail("not a UTF-8 path".into()))?;
    let info = match crate::master::librrd::graph(file, &job.args) {
        Ok(info) => info,
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            return Err(fail(e));
        }
    };
    std::fs::rename(&tmp, &job.png).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        fail(format!("cannot rename into place: {e}"))
    })?;
    Ok(info)
}

/// Whether `path` starts like a PNG.
pub fn is_png(path: &Path) -> bool {
    let mut head = [0u8; 8];
    std::fs::File::open(path)
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut head))
        .is_ok()
        && head == *b"\x89PNG\r\n\x1a\n"
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::master::poll::plan::FieldPlan;
    use crate::master::site::graphdef::{GraphField, GraphSpec, Period, build};

    #[test]
    fn a_stored_field_draws_a_png_and_garbage_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let rrd = dir.path().join("h-load-load-g.rrd");
        let mut f = FieldPlan::load_gauge(rrd.clone());
        for t in 0..5u64 {
            f.value = Some((Some(1_700_000_000 + t * 300), format!("{t}.5")));
            crate::master::store::rrdfile::store(&f, 300, 1_700_000_000 + t * 300).unwrap();
        }
        let spec = GraphSpec {
            graph: vec![("graph_title".into(), "Load".into())],
            fields: vec![GraphField {
                name: "load".into(),
                attrs: vec![],
                file: Some(rrd),
            }],
        };
        let png = dir.path().join("out/load-day.png");
        let args = build(&spec, Period::Day, 1_700_001_500).unwrap().args;
        draw(&Draw {
            png: png.clone(),
            args,
        })
        .unwrap();
        assert!(is_png(&png));
        // graph_future with trend and predict: librrd takes munin-graph's
        // TRENDNAN and PREDICT as we write them.
        let mut ahead = spec.clone();
        ahead.graph.push(("graph_future".into(), "30".into()));
        ahead.fields[0].attrs = vec![
            ("trend".into(), "yes".into()),
            ("predict".into(), "3600,2".into()),
        ];
        let args = build(&ahead, Period::Day, 1_700_001_500).unwrap().args;
        assert!(args.contains(&"--end".into()) && args.contains(&"1700010500".into()));
        assert!(
            args.iter().any(|a| a.ends_with(",9000,TRENDNAN")),
            "{args:?}"
        );
        assert!(
            args.iter().any(|a| a.ends_with("=3600,-4,600,v0,PREDICT")),
            "{args:?}"
        );
        let png = dir.path().join("out/ahead-day.png");
        draw(&Draw {
            png: png.clone(),
            args,
        })
        .unwrap();
        assert!(is_png(&png));
        let bad = Draw {
            png: dir.path().join("bad.png"),
            args: vec![
                "DEF:x=/nonexistent.rrd:42:AVERAGE".into(),
                "LINE1:x#000000".into(),
            ],
        };
        let e = draw(&bad).unwrap_err();
        assert!(e.contains("bad.png") && e.contains("nonexistent"), "{e}");
        assert!(!dir.path().join("bad.png").exists());
        assert!(!crate::atomic_file::temp_name(&dir.path().join("bad.png")).exists());
    }
}
