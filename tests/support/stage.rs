//! A world-readable copy of what the tests' nodes fork as other users.
//!
//! The node runs as root and forks plugins as `nobody`. A clone under a
//! private directory (`/root` is mode 700 on Debian, and root's natural
//! place for a clone) lets root list the fixture plugins but not `nobody`
//! run them. So the tests never hand a node a path inside the clone:
//! `fixture()` and `bin()` point into one copy per test process, under the
//! system's temporary directory, that every user can reach, whether or
//! not the clone itself is reachable (so both cases run the same paths).

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The binaries plugin directories link to (run as the plugin's user).
const BINARIES: &[(&str, &str)] = &[
    ("munin-plugins", env!("CARGO_BIN_EXE_munin-plugins")),
    ("tahoe-stats", env!("CARGO_BIN_EXE_tahoe-stats")),
];

static STAGE: OnceLock<PathBuf> = OnceLock::new();

/// The copy: `fixtures/` (all of `tests/fixtures`) and `bin/`.
pub fn root() -> &'static Path {
    STAGE.get_or_init(make)
}

/// `tests/fixtures/<rel>` in the clone itself: for golden files a test
/// rewrites (`UPDATE_EXPECT=1`), never for a node.
pub fn source_fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel)
}

/// A binary of this build, at a path every user can reach.
pub fn bin(name: &str) -> PathBuf {
    assert!(
        BINARIES.iter().any(|(n, _)| *n == name),
        "{name} is not staged"
    );
    root().join("bin").join(name)
}

fn chmod(p: &Path, mode: u32) {
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode))
        .unwrap_or_else(|e| panic!("chmod {}: {e}", p.display()));
}

fn make() -> PathBuf {
    let base = std::env::temp_dir().join("munin-rs-tests");
    std::fs::create_dir_all(&base).unwrap();
    chmod(&base, 0o755);
    // Copies left by test processes that are gone (killed runs).
    for entry in std::fs::read_dir(&base).unwrap().flatten() {
        let gone = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
            .is_some_and(|pid| !Path::new(&format!("/proc/{pid}")).exists());
        if gone {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
    let dir = base.join(std::process::id().to_string());
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir(&dir).unwrap();
    chmod(&dir, 0o755);
    // cp -a keeps the fixtures' links, modes and non-executable files as
    // they are; a+rX then undoes a restrictive umask of the clone without
    // making anything executable that was not.
    let copied = Command::new("cp")
        .arg("-a")
        .arg(source_fixture(""))
        .arg(dir.join("fixtures"))
        .status()
        .unwrap();
    assert!(copied.success(), "cp -a tests/fixtures");
    let readable = Command::new("chmod")
        .args(["-R", "a+rX"])
        .arg(dir.join("fixtures"))
        .status()
        .unwrap();
    assert!(readable.success(), "chmod -R a+rX");
    let bin = dir.join("bin");
    std::fs::create_dir(&bin).unwrap();
    chmod(&bin, 0o755);
    for (name, built) in BINARIES {
        let to = bin.join(name);
        // A hard link costs nothing on the same file system; the inode's
        // mode (cargo's 755) is what counts, not the directory it sits in.
        if std::fs::hard_link(built, &to).is_err() {
            std::fs::copy(built, &to).unwrap();
        }
        chmod(&to, 0o755);
    }
    dir
}
