//! The fleet simulator (`munin-fleet`) speaks the protocol our master polls:
//! its host sections go straight into munin.conf, and `munin-master update`
//! stores every node's every field.

use crate::support::fleet::{Fleet, last_update, update};

#[test]
fn master_stores_a_simulated_fleet() {
    let fleet = Fleet::start(3, 2, 5);
    let dir = tempfile::tempdir().unwrap();
    let run = update(&fleet.conf(dir.path(), ""));
    drop(fleet);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(
        run.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let mut files: Vec<String> = std::fs::read_dir(dir.path().join("db/fleet"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(files.len(), 3 * 2 * 5, "{files:?}");
    assert_eq!(files[0], "node00000.fleet-sim00-f0-g.rrd");
    assert!(
        files.contains(&"node00002.fleet-sim01-f4-d.rrd".to_string()),
        "every fifth field a DERIVE"
    );
    // The run's one line of self-report.
    let log = std::fs::read_to_string(dir.path().join("log/munin-master-update.log")).unwrap();
    assert_eq!(log.lines().count(), 1, "{log}");
    let want = "3 nodes ok, 0 failed (0 timed out), 30 values stored, 0 not stored, 30 files created, rrd call mean";
    assert!(log.contains(want), "{want:?} not in {log}");
    // The master's own numbers, stored as a graph of its own.
    let own = std::fs::read_dir(dir.path().join("db/munin-master"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            p.to_string_lossy()
                .ends_with("-munin_master-nodes-ok-g.rrd")
        })
        .expect("the master's nodes-ok file");
    assert_eq!(
        last_update(&own, None).map(|(_, v)| v).as_deref(),
        Some("3")
    );
}
