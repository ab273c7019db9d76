//! Issue 16: contacts are told as Debian's munin-limits tells them. One
//! node walks its fields through eight states; after each, Debian's
//! munin-update and munin-limits run on one copy of the config, our
//! update and limits on another (the same but for their directories).
//! Every contact's command is a recorder that writes down its arguments,
//! what it read on its input and its environment; both sides must record
//! the same. The contacts cover Munin's stock text, the `nagios` text, a
//! custom `.text` with every template form, `always_send`,
//! `max_messages`, `contacts no`, `unknown_limit`, `notify_alias`, a
//! host-wide `warning` (which munin-limits applies only to graphs with a
//! limit of their own), direct
//! and shell commands. One more contact puts a field label holding `$(...)`
//! and backquotes into its command: munin-limits runs that code; we must
//! not.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::master_faults::fake_node;
use crate::support::fleet::master_ok;
use crate::support::{hand_to_munin, is_root, munin_update_ok, require};

/// Where the hostile label's commands would leave their mark.
static MARK: OnceLock<PathBuf> = OnceLock::new();
static STEP: AtomicUsize = AtomicUsize::new(0);

/// inlet, outlet, root, e, fan at each step.
const STATES: [[&str; 5]; 8] = [
    ["20", "20", "50", "0", "100"],
    ["85", "20", "99", "5", "5000"],
    ["85", "20", "99", "5", "5000"],
    ["95", "20", "50", "5", "100"],
    ["95", "35", "50", "0", "100"],
    ["U", "20", "50", "0", "100"],
    ["U", "20", "50", "U", "100"],
    ["20", "3", "50", "U", "100"],
];

fn node(cmd: &str, w: &mut std::net::TcpStream) {
    let s = STATES[STEP.load(Ordering::SeqCst)];
    let mark = MARK.get().unwrap().display();
    let reply = match cmd {
        "cap multigraph dirtyconfig" => "cap multigraph\n".to_string(),
        c if c.starts_with("list") => "temp disk evil fan net\n".into(),
        // No limit of its own: the host's `warning` does not make
        // munin-limits judge it.
        "config net" => "graph_title Network\nbytes.label bytes\n.\n".into(),
        "fetch net" => "bytes.value 5000\n.\n".into(),
        "config temp" => "graph_title Temperature\ngraph_category sensors\n\
             inlet.label inlet\ninlet.warning 80\ninlet.critical 90\n\
             outlet.label outlet air\noutlet.warning 5:30\noutlet.critical 0:40\n\
             outlet.extinfo check the fan\n.\n"
            .into(),
        // Not `root`: munin-limits loses the state of a field so called
        // (the top of its tree has that name).
        "config disk" => {
            "graph_title Disk usage\nrootfs.label /\nrootfs.warning 92\nrootfs.critical 98\n.\n"
                .into()
        }
        "config evil" => {
            format!("graph_title Evil\ne.label $(touch {mark}) `touch {mark}`\ne.warning 1\n.\n")
        }
        "config fan" => "graph_title Fan\nfan.label fan\nfan.warning 3000\n.\n".into(),
        "fetch temp" => format!("inlet.value {}\noutlet.value {}\n.\n", s[0], s[1]),
        "fetch disk" => format!("rootfs.value {}\n.\n", s[2]),
        "fetch evil" => format!("e.value {}\n.\n", s[3]),
        "fetch fan" => format!("fan.value {}\n.\n", s[4]),
        "quit" => return,
        _ => "# Unknown command\n".to_string(),
    };
    let _ = w.write_all(reply.as_bytes());
}

/// The recorder every contact runs: its arguments, its input and its
/// environment, into a new file beside it.
const RECORDER: &str = "#!/bin/sh\n\
    f=$(mktemp \"$(dirname \"$0\")/out/rec.XXXXXX\")\n\
    { printf '%s\\0' \"$@\"; printf '\\n--stdin--\\n'; cat; printf '\\n--env--\\n'; env | LC_ALL=C sort; } >\"$f\"\n";

/// munin.conf for one side; `dir` holds its directories and recorder.
fn conf(dir: &Path, port: u16) -> String {
    let rec = dir.join("rec");
    let rec = rec.display();
    format!(
        "dbdir {0}/db\nhtmldir {0}/www\nlogdir {0}/log\nrundir {0}/run\n\
         contact.stock.command {rec} stock ${{var:group}} ${{var:host}} ${{var:plugin}} ${{var:worst}}\n\
         contact.mail.command {rec} mail \"Munin ${{var:worst}}: ${{var:group}}::${{var:host}}::${{var:plugin}}\" '${{var:graph_title}}'\n\
         contact.custom.command {rec} custom ${{var:plugin}}\n\
         contact.custom.text ${{var:host}}/${{var:plugin}} ${{var:worst}}(${{var:worstid}}) \\\n\
         \x20 [${{var:cfields}}|${{var:wfields}}|${{var:ufields}}|${{var:fofields}}|${{var:numcfields}}] \\\n\
         \x20 ${{loop<; >:wfields ${{var:label}}=${{var:value}} in ${{var:wrange}}${{if:extinfo  (${{var:extinfo}})}}}}\\n\\t\
         ${{if:!cfields no criticals}} ${{strtrunc:6 ${{var:graph_title}}}} ${{var:graph_category}} ${{var:address}}\\n\n\
         contact.always.command {rec} always\n\
         contact.always.always_send warning,critical\n\
         contact.batch.command {rec} batch\n\
         contact.batch.max_messages 2\n\
         contact.nagios.command {rec} nagios\n\
         contact.evil.command {rec} evil \"${{loop<,>:wfields ${{var:label}}}}\"\n\
         [lab;web]\n\
         \x20   address 127.0.0.1\n\
         \x20   port {port}\n\
         \x20   notify_alias Web server\n\
         \x20   temp.notify_alias Temperatures\n\
         \x20   temp.inlet.unknown_limit 1\n\
         \x20   fan.contacts no\n\
         \x20   warning 1000\n",
        dir.display()
    )
}

/// Waits until no process runs `side`'s recorder or is a fork of
/// munin-limits (given `side`'s munin.conf) that has not become one yet.
fn wait_for_recorders(side: &Path) {
    let rec = side.display().to_string();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let running = std::fs::read_dir("/proc")
            .unwrap()
            .flatten()
            .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
            .any(|c| {
                let c = String::from_utf8_lossy(&c);
                c.contains(&format!("{rec}/rec")) || c.contains(&format!("{rec}/munin.conf"))
            });
        if !running {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{rec} still running after 20 s"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// One recorded run of a contact's command.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Record {
    args: Vec<String>,
    env: Vec<String>,
    input: String,
}

/// The records `dir` gathered since the last call (taken away).
fn take_records(dir: &Path) -> Vec<Record> {
    let out = dir.join("out");
    let mut records = Vec::new();
    for e in std::fs::read_dir(&out).unwrap().flatten() {
        let text = std::fs::read_to_string(e.path()).unwrap();
        std::fs::remove_file(e.path()).unwrap();
        let (args, rest) = text.split_once("\n--stdin--\n").unwrap();
        let (input, env) = rest.split_once("\n--env--\n").unwrap();
        records.push(Record {
            args: match args.strip_suffix('\0') {
                Some(a) => a.split('\0').map(str::to_string).collect(),
                None => Vec::new(),
            },
            env: env.lines().map(str::to_string).collect(),
            input: input.to_string(),
        });
    }
    records
}

/// Per contact: each run's arguments and environment, how many messages
/// each run read, and every message, all sorted. munin-limits goes through
/// services in Perl's hash order, so a contact whose one command hears of
/// several services gets them in an order of chance; what each run gets,
/// and the messages themselves, must agree.
type Digest = BTreeMap<String, (Vec<(Vec<String>, Vec<String>)>, Vec<usize>, Vec<String>)>;

fn digest(records: &[Record]) -> Digest {
    let mut d: Digest = BTreeMap::new();
    for r in records {
        let contact = r.args.first().cloned().unwrap_or_default();
        // Munin's stock and our custom texts end in a newline, to which
        // the newline after every message is added; nagios' is one line.
        let sep = if contact == "nagios" { "\n" } else { "\n\n" };
        let messages: Vec<String> = r.input.split_inclusive(sep).map(str::to_string).collect();
        let e = d.entry(contact).or_default();
        e.0.push((r.args.clone(), r.env.clone()));
        e.1.push(messages.len());
        e.2.extend(messages);
    }
    for e in d.values_mut() {
        e.0.sort();
        e.1.sort();
        e.2.sort();
    }
    d
}

#[test]
fn issue16_contacts_are_told_as_munin_limits_tells_them() {
    if !(require("root (munin-update runs as user munin)", is_root())
        && require(
            "munin (apt-get install munin)",
            Path::new("/usr/share/munin/munin-limits").exists(),
        ))
    {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mark = d.join("INJECTED");
    MARK.set(mark.clone()).unwrap();
    let port = fake_node("# munin node at web\n", node);
    let sides = [d.join("munin"), d.join("ours")];
    for side in &sides {
        for sub in ["db", "www", "log", "run", "out"] {
            std::fs::create_dir_all(side.join(sub)).unwrap();
        }
        std::fs::write(side.join("rec"), RECORDER).unwrap();
        std::fs::set_permissions(
            side.join("rec"),
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .unwrap();
        std::fs::write(side.join("munin.conf"), conf(side, port)).unwrap();
    }
    let munin_conf = sides[0].join("munin.conf");
    let ours_conf = sides[1].join("munin.conf");
    std::fs::set_permissions(d, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    hand_to_munin(&sides[0]);
    // Both sides' commands get the same environment from their caller.
    let clean = |c: &mut Command| {
        c.env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .env("LC_ALL", "C")
            .env("HOME", "/root")
            .env("WHO", "limits-test");
    };
    let mut told: BTreeMap<String, usize> = BTreeMap::new();
    let mut hostile = 0;
    let mut last_second = 0;
    for step in 0..STATES.len() {
        // One update a second at most: an RRD takes one value per second
        // and munin-update keeps no value its RRD refused. `last_second`
        // is taken after the last update ended, so it is no earlier than
        // that update's values.
        while munin_rs::clock::now() <= last_second {
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        STEP.store(step, Ordering::SeqCst);
        munin_update_ok(&munin_conf, &[]);
        let mut limits = Command::new("/usr/share/munin/munin-limits");
        limits
            .arg("--config")
            .arg(&munin_conf)
            .arg("--force-run-as-root");
        clean(&mut limits);
        let out = limits.output().unwrap();
        assert!(
            out.status.success(),
            "munin-limits: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        // munin-limits does not wait for the commands it starts.
        wait_for_recorders(&sides[0]);
        // munin-limits pastes the label into its shell command and so runs
        // it; that is the hole our limits closes.
        let munin_ran_it = mark.exists();
        let _ = std::fs::remove_file(&mark);

        master_ok("update", &ours_conf);
        last_second = munin_rs::clock::now();
        let mut limits = Command::new(env!("CARGO_BIN_EXE_munin-master"));
        limits.arg("limits").arg("--config").arg(&ours_conf);
        clean(&mut limits);
        let out = limits.output().unwrap();
        assert!(
            out.status.success(),
            "step {step}: limits: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!mark.exists(), "step {step}: a label's command ran");

        let theirs = take_records(&sides[0]);
        let ours = take_records(&sides[1]);
        let evil = |r: &&Record| r.args.first().is_some_and(|a| a == "evil");
        let (their_evil, theirs): (Vec<&Record>, Vec<&Record>) = theirs.iter().partition(evil);
        let (our_evil, ours): (Vec<&Record>, Vec<&Record>) = ours.iter().partition(evil);
        let owned = |v: Vec<&Record>| v.into_iter().cloned().collect::<Vec<_>>();
        let (theirs, ours) = (digest(&owned(theirs)), digest(&owned(ours)));
        assert_eq!(
            ours,
            theirs,
            "step {step}: ours (left) and munin-limits (right) told differently; munin-limits' log:\n{}",
            std::fs::read_to_string(sides[0].join("log/munin-limits.log")).unwrap_or_default()
                + &std::fs::read_to_string(sides[0].join("log/munin-update.log"))
                    .unwrap_or_default()
        );
        for (contact, (_, _, messages)) in &ours {
            *told.entry(contact.clone()).or_default() += messages.len();
            assert!(
                !messages.iter().any(|m| m.contains("Fan")),
                "step {step}: {contact} was told of fan, which has contacts no"
            );
            assert!(
                !messages.iter().any(|m| m.contains("Network")),
                "step {step}: {contact} was told of net, which has no limit of its own"
            );
        }
        // The hostile label reaches our evil contact as text.
        assert_eq!(our_evil.len(), their_evil.len(), "step {step}");
        let label = format!("$(touch {0}) `touch {0}`", mark.display());
        if our_evil.iter().any(|r| r.args.get(1) == Some(&label)) {
            assert!(munin_ran_it, "step {step}: munin-limits ran no label");
            hostile += 1;
        }
    }
    assert!(hostile > 0, "the hostile label never reached a command");
    // Every contact heard something.
    for contact in ["stock", "mail", "custom", "always", "batch", "nagios"] {
        assert!(
            told.get(contact).copied().unwrap_or(0) > 0,
            "{contact}: {told:?}"
        );
    }
}
