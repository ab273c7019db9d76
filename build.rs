//! Two jobs at build time:
//!
//! - Embeds the git commit the binaries are built from, for `--version`
//!   (`munin_rs::cli::VERSION`): `MUNIN_RS_COMMIT` from the environment if
//!   set (a package built from a tarball), else `git rev-parse --short=12
//!   HEAD` when the crate is a git checkout, else `unknown`. Only the hash
//!   goes into the binaries, never a path of the build tree.
//! - Exports `munin-master`'s `png_write_info` and zlib's deflate
//!   functions to the dynamic linker, so cairo's PNG encoding (librrd's
//!   graphs) takes faster settings and a faster deflate; see
//!   `src/master/site/pngfast.rs` and `zfast.rs`.

use std::path::Path;
use std::process::Command;

fn main() {
    let commit = commit();
    println!("cargo::rustc-env=MUNIN_RS_COMMIT={commit}");
    println!("cargo::rerun-if-env-changed=MUNIN_RS_COMMIT");

    // Only the master links librrd (and cairo's libpng through it).
    if std::env::var_os("CARGO_FEATURE_MASTER").is_some() {
        // See zfast.rs: the deflate half of zlib, for libpng to bind to.
        for symbol in [
            "png_write_info",
            "deflateInit_",
            "deflateInit2_",
            "deflate",
            "deflateReset",
            "deflateEnd",
            "deflateSetHeader",
        ] {
            println!("cargo::rustc-link-arg-bin=munin-master=-Wl,--export-dynamic-symbol={symbol}");
        }
    }
}

/// The commit to embed; also tells cargo which git files to watch.
fn commit() -> String {
    if let Some(c) = std::env::var("MUNIN_RS_COMMIT")
        .ok()
        .map(|c| c.trim().to_string())
        .filter(|c| !c.is_empty() && c.chars().all(|ch| ch.is_ascii_graphic()))
    {
        return c;
    }
    // Only this crate's own checkout: an unpacked tarball inside some other
    // repository must not take that repository's commit.
    if !Path::new(".git").exists() {
        return "unknown".into();
    }
    watch_git();
    match git(&["rev-parse", "--short=12", "HEAD"]) {
        Some(hash) if hash.chars().all(|c| c.is_ascii_hexdigit()) => hash,
        _ => "unknown".into(),
    }
}

/// Reruns this script when HEAD moves: HEAD itself (a checkout), the ref
/// it points to (a commit), or, while that ref is packed, `packed-refs`
/// and the directory the loose ref would be created in. Only files that
/// exist are named: cargo reruns every build for a missing one.
fn watch_git() {
    let watch = |p: String| {
        if Path::new(&p).exists() {
            println!("cargo::rerun-if-changed={p}");
        }
    };
    if let Some(head) = git(&["rev-parse", "--git-path", "HEAD"]) {
        watch(head);
    }
    if let Some(packed) = git(&["rev-parse", "--git-path", "packed-refs"]) {
        watch(packed);
    }
    let Some(name) = git(&["symbolic-ref", "-q", "HEAD"]) else {
        return; // a detached HEAD: the HEAD file holds the hash
    };
    if let Some(loose) = git(&["rev-parse", "--git-path", &name]) {
        if Path::new(&loose).exists() {
            watch(loose);
        } else if let Some(dir) = Path::new(&loose).parent() {
            watch(dir.display().to_string());
        }
    }
}

/// One line of git's output, `None` if git is missing or fails.
fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let line = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (!line.is_empty()).then_some(line)
}
