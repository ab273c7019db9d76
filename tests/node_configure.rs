//! `munin-node-configure` beside Debian's, on the same plugin library,
//! plugin directory and settings: munin-plugins-core's library (the table
//! and the shell lines byte for byte), a library of misbehaving plugins
//! (every error Munin reports, in Munin's words), and with our own library
//! in front (Debian's rows kept, ours added, one link per service).

use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::Path;
use std::process::{Command, Output};

use crate::support::{bin, require, require_real_munin};

const CORE: &str = "/usr/share/munin/plugins";
const DEBIAN: &str = "/usr/sbin/munin-node-configure";

fn ours_exe() -> &'static str {
    env!("CARGO_BIN_EXE_munin-node-configure")
}

fn have_debian() -> bool {
    require_real_munin()
        && require(
            "Debian's munin-node-configure (munin-node)",
            Path::new(DEBIAN).exists(),
        )
}

/// A directory every user can enter (plugins run as nobody).
fn open_dir() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    std::fs::set_permissions(d.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    d
}

fn run(exe: &str, args: &[&str], common: &[String]) -> Output {
    Command::new(exe)
        .args(args)
        .args(common)
        .env("LC_ALL", "C")
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The plugin names in an error report (`# name:` lines).
fn error_names(stderr: &[u8]) -> Vec<String> {
    text(stderr)
        .lines()
        .filter(|l| l.starts_with("# ") && l.ends_with(':') && !l[2..].contains(' '))
        .map(str::to_string)
        .collect()
}

fn common(servicedir: &Path, sconfdir: &Path, libdirs: &[&Path]) -> Vec<String> {
    let mut v = vec![
        "--config".to_string(),
        "/etc/munin/munin-node.conf".into(),
        "--servicedir".into(),
        servicedir.display().to_string(),
        "--sconfdir".into(),
        sconfdir.display().to_string(),
    ];
    for l in libdirs {
        v.push("--libdir".into());
        v.push(l.display().to_string());
    }
    v
}

/// A plugin directory with some links already made: a wildcard instance
/// that autoconf will not suggest, a plain plugin that says no, one that
/// says yes, and a file that is not a link (ignored).
fn servicedir_with_links() -> tempfile::TempDir {
    let sd = open_dir();
    for (link, plugin) in [
        ("if_bogus0", "if_"),
        ("if_err_lo", "if_err_"),
        ("apache_accesses", "apache_accesses"),
        ("cpu", "cpu"),
        ("load", "load"),
    ] {
        symlink(Path::new(CORE).join(plugin), sd.path().join(link)).unwrap();
    }
    std::fs::write(
        sd.path().join("local_script"),
        "#!/bin/sh\necho x.value 1\n",
    )
    .unwrap();
    std::fs::set_permissions(
        sd.path().join("local_script"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    sd
}

#[test]
fn core_library_table_and_shell_lines_are_debians() {
    if !have_debian() {
        return;
    }
    let sd = servicedir_with_links();
    let common = common(
        sd.path(),
        Path::new("/etc/munin/plugin-conf.d"),
        &[Path::new(CORE)],
    );
    for args in [
        &[][..],
        &["--suggest"],
        &["--shell"],
        &["--shell", "--remove-also"],
        &[
            "--suggest",
            "--families",
            "auto,manual",
            "--families",
            "contrib",
        ],
        &["--families=manual"],
        &["--suggest", "--newer", "1.4.0"],
    ] {
        // Some plugins keep a cache in their state directory, which both
        // programs share: ipmi_sensor_ runs ipmitool (whose complaints on
        // stderr make the plugin "has errors") only when its 120 s cache is
        // older, so whichever side runs first sees the errors. A difference
        // is asked again, both sides, before it counts.
        let (mut theirs, mut ours) = (run(DEBIAN, args, &common), run(ours_exe(), args, &common));
        for _ in 0..2 {
            if ours.stdout == theirs.stdout {
                break;
            }
            theirs = run(DEBIAN, args, &common);
            ours = run(ours_exe(), args, &common);
        }
        assert_eq!(
            text(&ours.stdout),
            text(&theirs.stdout),
            "stdout of munin-node-configure {args:?}"
        );
        assert!(!ours.stdout.is_empty() || args.contains(&"--newer"));
        assert_eq!(ours.status.code(), theirs.status.code(), "exit of {args:?}");
        assert_eq!(
            error_names(&ours.stderr),
            error_names(&theirs.stderr),
            "plugins with errors, {args:?}:\nours:\n{}\ntheirs:\n{}",
            text(&ours.stderr),
            text(&theirs.stderr)
        );
    }
}

/// Plugins that answer every wrong way Munin checks for.
const ODD_PLUGINS: &[(&str, &str)] = &[
    (
        "good_",
        "#%# family=auto\n#%# capabilities=autoconf suggest\ncase $1 in autoconf) echo yes;; suggest) printf 'a\\nb.c\\n';; esac\n",
    ),
    (
        "badsuggest_",
        "#%# family=auto\n#%# capabilities=autoconf suggest\ncase $1 in autoconf) echo yes;; suggest) printf 'ok\\nnot ok\\n';; esac\n",
    ),
    (
        "reason",
        "#%# family=auto\n#%# capabilities=autoconf\necho 'no (nothing (here) to see)'\n",
    ),
    (
        "plainno",
        "#%# family=auto\n#%# capabilities=autoconf\necho no\n",
    ),
    (
        "twolines",
        "#%# family=auto\n#%# capabilities=autoconf\necho yes; echo yes\n",
    ),
    (
        "blankfirst",
        "#%# family=auto\n#%# capabilities=autoconf\nprintf '\\nyes\\n'\n",
    ),
    (
        "junkerr",
        "#%# family=auto\n#%# capabilities=autoconf\necho yes; echo oops >&2\n",
    ),
    (
        "debugerr",
        "#%# family=auto\n#%# capabilities=autoconf\necho '# fine' >&2; echo '# comment'; echo yes\n",
    ),
    (
        "junkout",
        "#%# family=auto\n#%# capabilities=autoconf\necho 'yes please'\n",
    ),
    (
        "silent",
        "#%# family=auto\n#%# capabilities=autoconf\nexit 0\n",
    ),
    (
        "exits",
        "#%# family=auto\n#%# capabilities=autoconf\necho yes; exit 3\n",
    ),
    (
        "killed",
        "#%# family=auto\n#%# capabilities=autoconf\nkill -9 $$\n",
    ),
    (
        "slow",
        "#%# family=auto\n#%# capabilities=autoconf\nsleep 30\n",
    ),
    ("nocaps", "#%# family=auto\necho yes\n"),
    (
        "suggestplain",
        "#%# family=auto\n#%# capabilities=autoconf suggest\necho yes\n",
    ),
    (
        "manualone",
        "#%# family=manual\n#%# capabilities=autoconf\necho yes\n",
    ),
    ("nomarkers", "echo yes\n"),
];

#[test]
fn misbehaving_plugins_are_judged_as_munin_judges_them() {
    if !have_debian() {
        return;
    }
    let lib = open_dir();
    for (name, body) in ODD_PLUGINS {
        let path = lib.path().join(name);
        std::fs::write(&path, format!("#!/bin/sh\n{body}")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let sd = open_dir();
    symlink(lib.path().join("good_"), sd.path().join("good_old")).unwrap();
    symlink(lib.path().join("good_"), sd.path().join("good_a")).unwrap();
    symlink(lib.path().join("reason"), sd.path().join("reason")).unwrap();
    let sconf = open_dir();
    std::fs::write(sconf.path().join("t"), "[slow]\ntimeout 1\n").unwrap();
    let common = common(sd.path(), sconf.path(), &[lib.path()]);
    for args in [
        &["--suggest"][..],
        &["--shell", "--remove-also"],
        &["--suggest", "--families", "auto,manual,contrib"],
        &[],
    ] {
        let theirs = run(DEBIAN, args, &common);
        let ours = run(ours_exe(), args, &common);
        assert_eq!(text(&ours.stdout), text(&theirs.stdout), "stdout, {args:?}");
        assert_eq!(text(&ours.stderr), text(&theirs.stderr), "stderr, {args:?}");
        assert_eq!(ours.status.code(), theirs.status.code(), "exit, {args:?}");
    }
}

/// Our library: links to munin-plugins and tahoe-stats under their plugin
/// names, as the munin-rs-node package installs it.
fn our_library() -> tempfile::TempDir {
    let lib = open_dir();
    let plugins = bin("munin-plugins");
    let list = Command::new(&plugins).arg("--list").output().unwrap();
    for line in text(&list.stdout).lines() {
        let name = line.split_whitespace().next().unwrap();
        symlink(&plugins, lib.path().join(name)).unwrap();
    }
    symlink(
        bin("tahoe-stats"),
        lib.path().join("tahoe_storage_consumed"),
    )
    .unwrap();
    lib
}

#[test]
fn our_library_first_adds_rows_and_takes_the_links_it_offers() {
    if !have_debian() {
        return;
    }
    let sd = servicedir_with_links();
    let ourlib = our_library();
    let sconf = Path::new("/etc/munin/plugin-conf.d");
    let only_core = common(sd.path(), sconf, &[Path::new(CORE)]);
    let both = common(sd.path(), sconf, &[ourlib.path(), Path::new(CORE)]);

    let theirs = text(&run(DEBIAN, &["--suggest"], &only_core).stdout);
    let ours = text(&run(ours_exe(), &["--suggest"], &both).stdout);
    // Debian's rows, in order, are all there; the rest are ours.
    let mut extra = Vec::new();
    let mut want = theirs.lines().peekable();
    for line in ours.lines() {
        if want.peek() == Some(&line) {
            want.next();
        } else {
            extra.push(line);
        }
    }
    assert_eq!(want.next(), None, "a row of Debian's is missing:\n{ours}");
    let names: Vec<&str> = extra
        .iter()
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    for name in [
        "cpu",
        "load",
        "if_",
        "if_err_",
        "df",
        "tahoe_storage_consumed",
    ] {
        assert!(names.contains(&name), "no row of ours for {name}:\n{ours}");
    }
    let if_row = extra.iter().find(|l| l.starts_with("if_ ")).unwrap();
    let core_if = theirs.lines().find(|l| l.starts_with("if_ ")).unwrap();
    // The same interfaces as munin-plugins-core's if_ suggests.
    let core_ifaces: Vec<&str> = core_if
        .split(['(', ')'])
        .nth(1)
        .unwrap()
        .split(' ')
        .filter(|s| s.starts_with('+'))
        .collect();
    for iface in core_ifaces {
        assert!(if_row.contains(iface), "{if_row} lacks {iface}");
    }

    let shell = text(&run(ours_exe(), &["--shell"], &both).stdout);
    let mut services = std::collections::BTreeSet::new();
    for line in shell.lines() {
        let service = line.rsplit('/').next().unwrap().trim_end_matches('\'');
        assert!(
            services.insert(service.to_string()),
            "{service} twice:\n{shell}"
        );
        assert!(
            !["cpu", "load"].contains(&service),
            "{service} is linked already:\n{shell}"
        );
    }
    let ours_path = |n: &str| format!("ln -s '{}' ", ourlib.path().join(n).display());
    assert!(shell.contains(&ours_path("df")), "{shell}");
    assert!(shell.contains(&ours_path("if_")), "{shell}");
    // A service linked to our library counts as ours from then on.
    symlink(ourlib.path().join("df"), sd.path().join("df")).unwrap();
    let status = text(&run(ours_exe(), &[], &both).stdout);
    let df_rows: Vec<&str> = status.lines().filter(|l| l.starts_with("df ")).collect();
    assert_eq!(df_rows.len(), 2, "{status}");
    assert!(df_rows[0].contains("| yes  |"), "{status}");
    assert!(df_rows[1].contains("| no   |"), "{status}");
}

#[test]
fn bad_command_lines_and_libraries_say_what_is_wrong() {
    let out = Command::new(ours_exe())
        .args(["--libdir", "/nonexistent/lib"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("/nonexistent/lib"),
        "{}",
        text(&out.stderr)
    );
    let out = Command::new(ours_exe())
        .args(["--snmp", "10.0.0.1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("SNMP"));
}
