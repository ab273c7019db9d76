//! `munin-async`: answers a master from the spool `munin-asyncd` writes,
//! on stdin and stdout (an ssh forced command, or a master's `cmd://`),
//! as Munin's munin-async does. See [`munin_rs::spool`].

use std::io::{BufRead, Write};
use std::process::ExitCode;

use clap::Parser;

use munin_rs::cli::async_client::Cli as Args;
use munin_rs::spool::{meta, reader, writer::Writer};

/// Longest command line read.
const MAX_LINE: u64 = 64 * 1024;

fn main() -> ExitCode {
    let args = Args::parse();
    let level = if args.verbose {
        tracing::level_filters::LevelFilter::DEBUG
    } else {
        tracing::level_filters::LevelFilter::WARN
    };
    munin_rs::logging::init_cli("munin-async", level);
    if args.cleanupandexit {
        return cleanup(&args);
    }
    if !args.spooldir.is_dir() {
        eprintln!(
            "munin-async: spooldir {} not found",
            args.spooldir.display()
        );
        return ExitCode::FAILURE;
    }
    let host = args
        .hostname
        .clone()
        .or_else(|| meta::get(&args.spooldir, "hostname"))
        .unwrap_or_else(munin_rs::sys::fqdn);
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let stdin = std::io::stdin();
    let mut input = stdin.lock();
    let result = (|| -> std::io::Result<()> {
        writeln!(out, "# munin node at {host}")?;
        out.flush()?;
        let mut line = Vec::new();
        loop {
            line.clear();
            if std::io::Read::take(&mut input, MAX_LINE).read_until(b'\n', &mut line)? == 0 {
                return Ok(());
            }
            let text = String::from_utf8_lossy(&line);
            let cmd = text.trim_end_matches(['\n', '\r']);
            if cmd.starts_with("list") {
                out.write_all(reader::list(&args.spooldir)?.as_bytes())?;
            } else if word_after(cmd, "config ").is_some()
                || (args.vectorfetch && word_after(cmd, "fetch ").is_some())
            {
                // Everything is in the spooled answer: nothing here.
                out.write_all(b".\n")?;
            } else if let Some(since) = number_after(cmd, "spoolfetch ") {
                reader::fetch(&args.spooldir, since, &mut out)?;
                out.write_all(b".\n")?;
            } else if args.spoolfetch && cmd.starts_with("cap") {
                out.write_all(b"cap spool\n")?;
            } else if cmd.starts_with("quit") {
                return Ok(());
            } else {
                out.write_all(b"# Unknown command.\n")?;
            }
            out.flush()?;
        }
    })();
    if let Err(e) = result
        && e.kind() != std::io::ErrorKind::BrokenPipe
    {
        eprintln!("munin-async: {e}");
        return ExitCode::FAILURE;
    }
    if args.cleanup {
        return cleanup(&args);
    }
    ExitCode::SUCCESS
}

/// `prefix` then a word of `[A-Za-z0-9_]` (munin-async's `\w+`).
fn word_after<'a>(cmd: &'a str, prefix: &str) -> Option<&'a str> {
    let rest = cmd.strip_prefix(prefix)?;
    let end = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(rest.len());
    (end > 0).then(|| &rest[..end])
}

/// `prefix` then digits.
fn number_after(cmd: &str, prefix: &str) -> Option<u64> {
    let rest = cmd.strip_prefix(prefix)?;
    let end = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    rest[..end].parse().ok()
}

fn cleanup(args: &Args) -> ExitCode {
    let host = meta::get(&args.spooldir, "hostname").unwrap_or_else(munin_rs::sys::fqdn);
    match Writer::open(&args.spooldir, None, None, &host).and_then(|w| w.cleanup()) {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("munin-async: {}: {e}", args.spooldir.display());
            ExitCode::FAILURE
        }
    }
}
