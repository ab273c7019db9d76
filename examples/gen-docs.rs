//! Makes the man pages and shell completions of every binary from the clap
//! definitions in `munin_rs::cli`, for packaging:
//!
//! ```sh
//! cargo run --release --example gen-docs -- OUTDIR
//! ```
//!
//! writes
//!
//! - `OUTDIR/man/man8/<bin>.8` for the daemons and administrators' tools
//!   (munin-node, munin-run, munin-node-configure, munin-asyncd,
//!   stats-gatherer: Debian's sections), `OUTDIR/man/man1/<bin>.1` for the
//!   rest, and a page per subcommand of munin-master
//!   (`munin-master-update.1`, ...);
//! - `OUTDIR/man/man5/*.5`: the hand-written pages of the configuration
//!   files, copied from `man/`;
//! - `OUTDIR/completions/bash/<bin>`, `completions/zsh/_<bin>` and
//!   `completions/fish/<bin>.fish`.
//!
//! A page is clap_mangen's NAME, SYNOPSIS and OPTIONS around the
//! DESCRIPTION and further sections of the binary's [`Manual`], whose
//! longer option texts replace the one-line help. Any error (an option the
//! manual names that the command lacks, a file that cannot be written)
//! stops the run with a non-zero exit status, so a packaging script
//! notices. `SOURCE_DATE_EPOCH`, when set, dates the pages; otherwise they
//! carry no date, so the same tree always makes the same files.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Command, CommandFactory};
use clap_complete::Shell;
use clap_mangen::Man;
use clap_mangen::roff::{Roff, bold, roman};

use munin_rs::cli::{self, Manual};

/// One binary: its command line, man section and manual.
struct Binary {
    command: Command,
    section: &'static str,
    manual: Option<&'static Manual>,
}

fn binaries() -> Vec<Binary> {
    let bin = |command: Command, section, manual| Binary {
        command,
        section,
        manual,
    };
    vec![
        bin(cli::node::Cli::command(), "8", Some(&cli::node::MANUAL)),
        bin(cli::run::Cli::command(), "8", Some(&cli::run::MANUAL)),
        bin(
            munin_rs::configure::cli::Cli::command(),
            "8",
            Some(&munin_rs::configure::cli::MANUAL),
        ),
        bin(cli::asyncd::Cli::command(), "8", Some(&cli::asyncd::MANUAL)),
        bin(
            cli::gatherer::Cli::command(),
            "8",
            Some(&cli::gatherer::MANUAL),
        ),
        bin(cli::plugins::command(), "1", Some(&cli::plugins::MANUAL)),
        bin(cli::tahoe::command(), "1", Some(&cli::tahoe::MANUAL)),
        bin(cli::master::Cli::command(), "1", Some(&cli::master::MANUAL)),
        bin(cli::fleet::Cli::command(), "1", Some(&cli::fleet::MANUAL)),
        bin(
            cli::async_client::Cli::command(),
            "1",
            Some(&cli::async_client::MANUAL),
        ),
    ]
}

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    let (Some(out), None) = (args.next(), args.next()) else {
        eprintln!("usage: cargo run --release --example gen-docs -- OUTDIR");
        return ExitCode::from(2);
    };
    match generate(Path::new(&out)) {
        Ok(n) => {
            println!("gen-docs: {n} files in {}", Path::new(&out).display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("gen-docs: {e}");
            ExitCode::FAILURE
        }
    }
}

type Result<T> = std::result::Result<T, String>;

/// Writes everything under `out`; how many files.
fn generate(out: &Path) -> Result<usize> {
    let when = match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(s) => date(
            s.trim()
                .parse()
                .map_err(|_| format!("SOURCE_DATE_EPOCH {s:?}"))?,
        ),
        Err(_) => String::new(),
    };
    let mut written = 0;
    for b in binaries() {
        let name = b.command.get_name().to_string();
        let dir = out.join("man").join(format!("man{}", b.section));
        mkdir(&dir)?;
        // The man pages list no `help` subcommand (each subcommand has a
        // page); the completions keep it.
        let mut cmd = b.command.clone().disable_help_subcommand(true);
        if let Some(m) = b.manual {
            cmd = with_long_help(cmd, m)?;
        }
        cmd.build();
        let cmd = plain_help_flag(cmd);
        let (file, text) = page(&cmd, b.section, b.manual, &when)?;
        write(&dir.join(file), &text)?;
        written += 1;
        for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
            let manual = match b.manual {
                Some(m) => Some(subcommand_manual(m, sub.get_name())?),
                None => None,
            };
            let mut sub = sub.clone();
            if let Some(m) = manual {
                sub = plain_help_flag(with_long_help(sub, m)?);
            }
            let (file, text) = page(&sub, b.section, manual, &when)?;
            write(&dir.join(file), &text)?;
            written += 1;
        }
        written += completions(out, &name, b.command)?;
    }
    written += copy_section5(out)?;
    Ok(written)
}

/// The manual of subcommand `name`; a subcommand without one is an error.
fn subcommand_manual(m: &'static Manual, name: &str) -> Result<&'static Manual> {
    m.subcommands
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, m)| *m)
        .ok_or_else(|| format!("subcommand {name} has no Manual"))
}

/// The manual's option texts as the arguments' long help.
fn with_long_help(mut cmd: Command, m: &Manual) -> Result<Command> {
    for (id, text) in m.options {
        if !cmd.get_arguments().any(|a| a.get_id() == id) {
            return Err(format!(
                "{}: the manual describes an option {id:?} it does not have",
                cmd.get_name()
            ));
        }
        cmd = cmd.mut_arg(*id, |a| a.long_help(*text));
    }
    Ok(cmd)
}

/// `-h, --help` as "Print help": with long help on other options clap says
/// "(see a summary with '-h')", which is about the terminal, not the page.
fn plain_help_flag(cmd: Command) -> Command {
    if cmd.get_arguments().any(|a| a.get_id() == "help") {
        cmd.mut_arg("help", |a| a.long_help("Print help"))
    } else {
        cmd
    }
}

/// One man page, its file name and text: clap_mangen's sections with the
/// manual's text, and our title line (section, date, `munin-rs VERSION`
/// as the source, the manual's name).
fn page(
    cmd: &Command,
    section: &str,
    manual: Option<&Manual>,
    date: &str,
) -> Result<(String, Vec<u8>)> {
    let man = Man::new(cmd.clone())
        .section(section)
        .date(date)
        .source(format!("munin-rs {}", env!("CARGO_PKG_VERSION")))
        .manual("munin-rs");
    let mut parts: Vec<Vec<u8>> = Vec::new();
    let mut render = |f: &dyn Fn(&mut Vec<u8>) -> std::io::Result<()>| -> Result<()> {
        let mut buf = Vec::new();
        f(&mut buf).map_err(|e| e.to_string())?;
        parts.push(buf);
        Ok(())
    };
    render(&|w| man.render_title(w))?;
    render(&|w| man.render_name_section(w))?;
    render(&|w| man.render_synopsis_section(w))?;
    match manual {
        Some(m) => render(&|w| section_roff("DESCRIPTION", m.description).to_writer(w))?,
        None => render(&|w| man.render_description_section(w))?,
    }
    if cmd.get_arguments().any(|a| !a.is_hide_set()) {
        render(&|w| man.render_options_section(w))?;
    }
    if cmd.get_subcommands().any(|s| !s.is_hide_set()) {
        render(&|w| man.render_subcommands_section(w))?;
    }
    if let Some(m) = manual {
        for (heading, text) in m.sections {
            render(&|w| section_roff(heading, text).to_writer(w))?;
        }
    }
    // Each part begins with roff's apostrophe preamble: keep the first.
    let preamble = Roff::new().render().into_bytes();
    let mut out = Vec::new();
    for (i, p) in parts.into_iter().enumerate() {
        match p.strip_prefix(preamble.as_slice()) {
            Some(rest) if i > 0 => out.extend_from_slice(rest),
            _ => out.extend_from_slice(&p),
        }
    }
    Ok((man.get_filename(), out))
}

/// A section from a manual's plain text (see [`Manual`]): paragraphs, and
/// items whose first line is the term and whose indented lines describe it.
fn section_roff(heading: &str, text: &str) -> Roff {
    let mut roff = Roff::new();
    roff.control("SH", [heading]);
    for (i, para) in text.split("\n\n").enumerate() {
        let lines: Vec<&str> = para.lines().filter(|l| !l.trim().is_empty()).collect();
        let Some(first) = lines.first() else {
            continue;
        };
        let indented = |l: &&str| l.starts_with(' ');
        if lines.len() > 1 && !indented(first) && lines[1..].iter().all(indented) {
            roff.control("TP", []);
            roff.text([bold(first.trim())]);
            let body: Vec<&str> = lines[1..].iter().map(|l| l.trim()).collect();
            roff.text([roman(body.join(" "))]);
        } else if lines.iter().all(indented) {
            // A literal line (an example): not filled.
            roff.control("IP", []);
            roff.control("nf", []);
            for l in &lines {
                roff.text([roman(l.trim())]);
            }
            roff.control("fi", []);
        } else {
            if i > 0 {
                roff.control("PP", []);
            }
            let joined: Vec<&str> = lines.iter().map(|l| l.trim()).collect();
            roff.text([roman(joined.join(" "))]);
        }
    }
    roff
}

fn completions(out: &Path, name: &str, cmd: Command) -> Result<usize> {
    let mut cmd = without_hidden_subcommands(cmd);
    let files = [
        (Shell::Bash, "bash", name.to_string()),
        (Shell::Zsh, "zsh", format!("_{name}")),
        (Shell::Fish, "fish", format!("{name}.fish")),
    ];
    for (shell, dir, file) in &files {
        let dir = out.join("completions").join(dir);
        mkdir(&dir)?;
        let mut buf = Vec::new();
        clap_complete::generate(*shell, &mut cmd, name, &mut buf);
        if *shell == Shell::Bash {
            buf = bash_hyphen_fix(name, &buf);
        }
        write(&dir.join(file), &buf)?;
    }
    Ok(files.len())
}

/// clap_complete's bash script spells a hyphenated binary's subcommand
/// states two ways (`munin__master__subcmd__update` where it walks the
/// words, `munin__subcmd__master__subcmd__update` in the case arms), so
/// no subcommand's options complete (clap-rs/clap#6421, open): one
/// spelling for both.
fn bash_hyphen_fix(name: &str, script: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(script);
    let wrong = format!("{}__subcmd__", name.replace('-', "__subcmd__"));
    let right = format!("{}__subcmd__", name.replace('-', "__"));
    text.replace(&wrong, &right).into_bytes()
}

/// `cmd` without its hidden subcommands (`munin-master worker`), which
/// clap_complete would offer.
fn without_hidden_subcommands(cmd: Command) -> Command {
    if !cmd.get_subcommands().any(|s| s.is_hide_set()) {
        return cmd;
    }
    // clap takes names as `&'static str` (without its `string` feature):
    // leaked, once per binary of a short-lived program.
    let leak = |s: &str| -> &'static str { Box::leak(s.to_owned().into_boxed_str()) };
    let mut shown = Command::new(leak(cmd.get_name()));
    if let Some(v) = cmd.get_version() {
        shown = shown.version(leak(v));
    }
    if let Some(a) = cmd.get_about() {
        shown = shown.about(a.clone());
    }
    for arg in cmd.get_arguments() {
        shown = shown.arg(arg.clone());
    }
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        shown = shown.subcommand(sub.clone());
    }
    shown
}

/// `man/*.5`, the hand-written pages of the configuration files.
fn copy_section5(out: &Path) -> Result<usize> {
    // The source tree this example is run from (it is never installed).
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("man");
    let dir = out.join("man").join("man5");
    mkdir(&dir)?;
    let entries = std::fs::read_dir(&src).map_err(|e| format!("{}: {e}", src.display()))?;
    let mut pages: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "5"))
        .collect();
    pages.sort();
    if pages.is_empty() {
        return Err(format!("no *.5 page in {}", src.display()));
    }
    for p in &pages {
        let text = std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()))?;
        // The file name was just listed, so it has one.
        write(&dir.join(p.file_name().expect("listed file")), &text)?;
    }
    Ok(pages.len())
}

fn mkdir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))
}

fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    std::fs::File::create(path)
        .and_then(|mut f| f.write_all(bytes))
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// `YYYY-MM-DD` of a time in seconds since the epoch (UTC).
fn date(secs: i64) -> String {
    let (y, m, d) = munin_rs::clock::civil(secs);
    format!("{y:04}-{m:02}-{d:02}")
}
