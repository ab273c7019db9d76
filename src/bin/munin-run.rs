//! `munin-run`: runs one plugin exactly as munin-node would (same
//! environment, user, group and timeout) and prints its raw output, for
//! debugging a plugin by hand.

use std::io::Write;
use std::os::unix::process::ExitStatusExt;
use std::process::ExitCode;

use clap::Parser;

use munin_rs::cli::run::Cli;
use munin_rs::runner::discover::is_plugin_name;
use munin_rs::runner::exec::{Outcome, RunRequest};
use munin_rs::settings::{Overrides, Settings};

fn main() -> ExitCode {
    let args = Cli::parse();
    match run(&args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("munin-run: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &Cli) -> anyhow::Result<ExitCode> {
    if !is_plugin_name(&args.plugin) {
        anyhow::bail!("invalid plugin name {:?}", args.plugin);
    }
    if let Some(a) = &args.argument
        && !a.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    {
        anyhow::bail!("invalid characters in argument {a:?}");
    }
    let overrides = Overrides {
        sconffile: args.sconffile.clone(),
        ..args.common.clone()
    };
    let (settings, warnings) = Settings::load(&overrides)?;
    munin_rs::logging::init(args.debug, None)?;
    for w in &warnings {
        tracing::warn!("{w}");
    }
    if !settings
        .filter()
        .is_runnable(&settings.servicedir, &args.plugin)
    {
        eprintln!(
            "# Unknown service '{}' in {}",
            args.plugin,
            settings.servicedir.display()
        );
        return Ok(ExitCode::FAILURE);
    }
    let (conf, diagnostics) = settings.plugin_conf();
    for d in &diagnostics {
        tracing::warn!("{d}");
    }
    settings.prepare_state_dir()?;
    let spec = settings.spec(&args.plugin, &conf);
    tracing::debug!(?spec, "running");
    // The node runs a fetch with no argument; so do we.
    let arg = args.argument.as_deref().filter(|a| *a != "fetch");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let runner = settings.runner();
    let req = RunRequest {
        arg,
        master_ip: "",
        dirtyconfig: false,
        timeout: spec.timeout,
    };
    let report = runtime.block_on(runner.run(&spec, &req));
    let _ = std::io::stderr().write_all(&report.stderr);
    let mut out = std::io::stdout().lock();
    let code = match report.outcome {
        Outcome::Success(stdout) => {
            out.write_all(&stdout)?;
            ExitCode::SUCCESS
        }
        Outcome::Failed { status, stdout } => {
            out.write_all(&stdout)?;
            let code = status
                .code()
                .unwrap_or_else(|| 128 + status.signal().unwrap_or(0));
            eprintln!("munin-run: plugin '{}' {status}", spec.name);
            ExitCode::from(code.clamp(1, 255) as u8)
        }
        Outcome::TimedOut => {
            eprintln!(
                "munin-run: plugin '{}' timed out after {:?}",
                spec.name, spec.timeout
            );
            ExitCode::FAILURE
        }
        Outcome::OutputTooLarge => {
            eprintln!(
                "munin-run: plugin '{}' printed more than max_plugin_output bytes",
                spec.name
            );
            ExitCode::FAILURE
        }
        Outcome::Error(why) => {
            eprintln!("munin-run: {why}");
            ExitCode::FAILURE
        }
    };
    out.flush()?;
    Ok(code)
}
