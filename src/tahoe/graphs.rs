//! The lookup table: every graph `tahoe-stats` can draw, by plugin name.
//!
//! The first 26 entries are the snapshot graphs of the last pickle-reading
//! `tahoe_stats` (2008–2016); their titles, labels, categories and info texts
//! are reproduced exactly, misspellings included, because existing RRD files
//! and graphs carry them. The rest are the per-node scripts of 2008
//! (`tahoe_files`, `tahoe_storagespace`, `tahoe_sharesperfile`,
//! `tahoe_dirnodes`) and `tahoe_nodememory`.

/// Which part of a node's stats a snapshot graph reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    /// Instantaneous values (`stats`).
    Stats,
    /// Counters that only rise (`counters`).
    Counters,
}

impl Section {
    pub fn key(self) -> &'static str {
        match self {
            Section::Stats => "stats",
            Section::Counters => "counters",
        }
    }
}

/// A graph drawn from the snapshot, one series per node.
#[derive(Debug)]
pub struct SnapshotGraph {
    pub section: Section,
    pub stat: &'static str,
    pub title: &'static str,
    pub vlabel: &'static str,
    pub category: &'static str,
    pub info: &'static str,
    /// `graph_args --base 1024`.
    pub base_1024: bool,
    /// `type DERIVE` and `min 0` on every field.
    pub derive: bool,
}

/// What a table entry draws.
#[derive(Debug)]
pub enum Kind {
    Snapshot(SnapshotGraph),
    /// Share files per node (`basedir_<NODE>`), or the snapshot's bucket counts.
    Files,
    /// Bytes under `<basedir>/storage` (`du`), or the snapshot's disk use.
    StorageSpace,
    /// Shares per stored file, per node.
    SharesPerFile,
    /// Directory nodes of one vdrive server (`basedir`).
    Dirnodes,
    /// VmSize and VmRSS of each node's process (`nodememory_<NODE>`).
    NodeMemory,
}

/// One entry of the table.
#[derive(Debug)]
pub struct Graph {
    pub name: &'static str,
    pub kind: Kind,
}

macro_rules! snapshot {
    ($name:literal, $section:ident, $stat:literal, $title:literal, $vlabel:literal, $category:literal,
     $info:literal, base_1024: $b:literal, derive: $d:literal) => {
        Graph {
            name: $name,
            kind: Kind::Snapshot(SnapshotGraph {
                section: Section::$section,
                stat: $stat,
                title: $title,
                vlabel: $vlabel,
                category: $category,
                info: $info,
                base_1024: $b,
                derive: $d,
            }),
        }
    };
}

/// Every graph, in the original's table order, then the per-node scripts.
pub static GRAPHS: &[Graph] = &[
    snapshot!("tahoe_runtime_load_avg", Stats, "load_monitor.avg_load", "Tahoe Runtime Load Average", "load", "tahoe",
        "This graph shows average reactor delay", base_1024: false, derive: false),
    snapshot!("tahoe_runtime_load_peak", Stats, "load_monitor.max_load", "Tahoe Runtime Load Peak", "load", "tahoe",
        "This graph shows peak reactor delay", base_1024: false, derive: false),
    snapshot!("tahoe_storage_consumed", Stats, "storage_server.consumed", "Tahoe Storage Server Space Consumed",
        "bytes", "tahoe_storage_server", "This graph shows space consumed", base_1024: true, derive: false),
    snapshot!("tahoe_storage_allocated", Stats, "storage_server.allocated", "Tahoe Storage Server Space Allocated",
        "bytes", "tahoe_storage_server", "This graph shows space allocated", base_1024: true, derive: false),
    snapshot!("tahoe_storage_bytes_added", Counters, "storage_server.bytes_added", "Tahoe Storage Server Bytes Added",
        "bytes", "tahoe_storage_server", "This graph shows cummulative bytes added", base_1024: false, derive: false),
    snapshot!("tahoe_storage_bytes_freed", Counters, "storage_server.bytes_freed", "Tahoe Storage Server Bytes Removed",
        "bytes", "tahoe_storage_server", "This graph shows cummulative bytes removed", base_1024: false, derive: false),
    snapshot!("tahoe_storage_operations_allocate", Counters, "storage_server.allocate",
        "Tahoe Storage Server Allocate_Bucket Operations", "operations per second", "tahoe_storage_server",
        "This graph shows how many allocate_buckets operations occured per second. Each immutable file upload causes one such operation per server.",
        base_1024: false, derive: true),
    snapshot!("tahoe_storage_operations_get", Counters, "storage_server.get",
        "Tahoe Storage Server get_bucket Operations", "operations per second", "tahoe_storage_server",
        "This graph shows how many get_bucket operations occured per second. Each immutable file download/check causes one such operation per server.",
        base_1024: false, derive: true),
    snapshot!("tahoe_storage_operations_writev", Counters, "storage_server.writev",
        "Tahoe Storage Server writev Operations", "operations per second", "tahoe_storage_server",
        "This graph shows how many writev operations occured per second. Each mutable file / dirnode write causes one such operation per server.",
        base_1024: false, derive: true),
    snapshot!("tahoe_storage_operations_readv", Counters, "storage_server.readv",
        "Tahoe Storage Server readv Operations", "operations per second", "tahoe_storage_server",
        "This graph shows how many readv operations occured per second. Each dirnode read causes one such operation per server.",
        base_1024: false, derive: true),
    snapshot!("tahoe_helper_incoming_files", Stats, "chk_upload_helper.incoming_count",
        "Tahoe Upload Helper Incoming File Count", "n files", "tahoe_helper",
        "This graph shows number of incoming files", base_1024: false, derive: false),
    snapshot!("tahoe_helper_incoming_filesize", Stats, "chk_upload_helper.incoming_size",
        "Tahoe Upload Helper Incoming File Size", "bytes", "tahoe_helper",
        "This graph shows total size of incoming files", base_1024: false, derive: false),
    snapshot!("tahoe_helper_incoming_files_old", Stats, "chk_upload_helper.incoming_size_old",
        "Tahoe Upload Helper Incoming Old Files", "bytes", "tahoe_helper",
        "This graph shows total size of old incoming files", base_1024: false, derive: false),
    snapshot!("tahoe_helper_encoding_files", Stats, "chk_upload_helper.encoding_count",
        "Tahoe Upload Helper Encoding File Count", "n files", "tahoe_helper",
        "This graph shows number of encoding files", base_1024: false, derive: false),
    snapshot!("tahoe_helper_encoding_filesize", Stats, "chk_upload_helper.encoding_size",
        "Tahoe Upload Helper Encoding File Size", "bytes", "tahoe_helper",
        "This graph shows total size of encoding files", base_1024: false, derive: false),
    snapshot!("tahoe_helper_encoding_files_old", Stats, "chk_upload_helper.encoding_size_old",
        "Tahoe Upload Helper Encoding Old Files", "bytes", "tahoe_helper",
        "This graph shows total size of old encoding files", base_1024: false, derive: false),
    snapshot!("tahoe_helper_active_uploads", Stats, "chk_upload_helper.active_uploads",
        "Tahoe Upload Helper Active Files", "n files", "tahoe_helper",
        "This graph shows number of files actively being processed by the helper", base_1024: false, derive: false),
    snapshot!("tahoe_helper_upload_requests", Counters, "chk_upload_helper.upload_requests",
        "Tahoe Upload Helper Upload Requests", "requests", "tahoe_helper",
        "This graph shows the number of upload requests arriving at the helper", base_1024: false, derive: true),
    snapshot!("tahoe_helper_upload_already_present", Counters, "chk_upload_helper.upload_already_present",
        "Tahoe Upload Helper Uploads Already Present", "requests", "tahoe_helper",
        "This graph shows the number of uploads whose files are already present in the grid",
        base_1024: false, derive: true),
    snapshot!("tahoe_helper_upload_need_upload", Counters, "chk_upload_helper.upload_need_upload",
        "Tahoe Upload Helper Uploads Needing Upload", "requests", "tahoe_helper",
        "This graph shows the number of uploads whose files are not already present in the grid",
        base_1024: false, derive: true),
    snapshot!("tahoe_helper_encoded_bytes", Counters, "chk_upload_helper.encoded_bytes",
        "Tahoe Upload Helper Encoded Bytes", "bytes", "tahoe_helper",
        "This graph shows the number of bytes encoded by the helper", base_1024: false, derive: true),
    snapshot!("tahoe_helper_fetched_bytes", Counters, "chk_upload_helper.fetched_bytes",
        "Tahoe Upload Helper Fetched Bytes", "bytes", "tahoe_helper",
        "This graph shows the number of bytes fetched by the helper", base_1024: false, derive: true),
    snapshot!("tahoe_uploader_bytes_uploaded", Counters, "uploader.bytes_uploaded", "Tahoe Uploader Bytes Uploaded",
        "bytes", "tahoe_traffic", "This graph shows the number of bytes uploaded", base_1024: false, derive: true),
    // The original's title really is "Bytes" here, although it counts files.
    snapshot!("tahoe_uploader_files_uploaded", Counters, "uploader.files_uploaded", "Tahoe Uploader Bytes Uploaded",
        "files", "tahoe_traffic", "This graph shows the number of files uploaded", base_1024: false, derive: true),
    snapshot!("tahoe_mutable_files_published", Counters, "mutable.files_published", "Tahoe Mutable Files Published",
        "files", "tahoe_traffic", "This graph shows the number of mutable files published", base_1024: false,
        derive: true),
    snapshot!("tahoe_mutable_files_retrieved", Counters, "mutable.files_retrieved", "Tahoe Mutable Files Retrieved",
        "files", "tahoe_traffic", "This graph shows the number of files retrieved", base_1024: false, derive: true),
    Graph {
        name: "tahoe_files",
        kind: Kind::Files,
    },
    Graph {
        name: "tahoe_storagespace",
        kind: Kind::StorageSpace,
    },
    Graph {
        name: "tahoe_sharesperfile",
        kind: Kind::SharesPerFile,
    },
    Graph {
        name: "tahoe_dirnodes",
        kind: Kind::Dirnodes,
    },
    Graph {
        name: "tahoe_nodememory",
        kind: Kind::NodeMemory,
    },
];

/// The table key for a program name: the file name of `argv[0]`, without a
/// trailing `.py`, with `-` read as `_` (the 2008 scripts were `tahoe-files.py`).
pub fn normalize(argv0: &str) -> String {
    let base = argv0.rsplit('/').next().unwrap_or(argv0);
    let base = base.strip_suffix(".py").unwrap_or(base);
    base.replace('-', "_")
}

/// The graph for a program name, if it is one.
pub fn lookup(argv0: &str) -> Option<&'static Graph> {
    let key = normalize(argv0);
    GRAPHS.iter().find(|g| g.name == key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_well_formed() {
        let mut names: Vec<&str> = GRAPHS.iter().map(|g| g.name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), GRAPHS.len(), "duplicate names");
        for g in GRAPHS {
            assert!(g.name.starts_with("tahoe_"), "{}", g.name);
            assert!(
                g.name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{}",
                g.name
            );
        }
        let snapshot = GRAPHS
            .iter()
            .filter(|g| matches!(g.kind, Kind::Snapshot(_)))
            .count();
        assert_eq!(snapshot, 26, "the original table has 26 graphs");
    }

    #[test]
    fn both_spellings_and_dot_py_resolve() {
        for name in [
            "tahoe_files",
            "tahoe-files",
            "/etc/munin/plugins/tahoe-files",
            "tahoe_runtime_load_avg.py",
            "tahoe-storagespace",
            "tahoe-storage-operations-get",
        ] {
            assert!(lookup(name).is_some(), "{name}");
        }
        assert!(lookup("tahoe_bogus").is_none());
        assert!(lookup("tahoe_stats").is_none());
        assert_eq!(lookup("tahoe-files").unwrap().name, "tahoe_files");
    }
}
