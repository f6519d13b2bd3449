//! `dcos-creds`: DC/OS Enterprise secrets, service accounts and permissions from one command.

mod args;
mod commands;
mod connect;
mod dcos_config;
mod exit;
mod input;
mod interrupt;
mod keyring_store;
mod output;

use std::process::ExitCode;

use clap::Parser;

use crate::args::Cli;
use crate::output::Ui;

/// Logging on standard error. Only this workspace's crates log, even at `-vvv`: the HTTP and
/// TLS libraries beneath are kept at warnings, so no header or body is ever printed.
fn init_logging(verbose: u8, quiet: bool) {
    let level = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, 2) => "debug",
        (false, _) => "trace",
    };
    let filter = [
        "dcos_creds",
        "dcos_ops",
        "dcos_transport",
        "dcos_iam_client",
        "dcos_secrets_client",
    ]
    .iter()
    .fold(tracing_subscriber::EnvFilter::new("warn"), |f, krate| {
        f.add_directive(format!("{krate}={level}").parse().unwrap_or_default())
    });
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(verbose >= 2)
        .without_time()
        .init();
}

/// The verbosity the `dcos` CLI asks its plugins for (`dcos -v` and `-vv`).
fn dcos_verbosity() -> u8 {
    let verbosity = std::env::var("DCOS_VERBOSITY").ok();
    let level = std::env::var("DCOS_LOG_LEVEL").ok();
    match (verbosity.as_deref(), level.as_deref()) {
        (Some(v), _) => v.trim().parse().unwrap_or(0),
        (None, Some("debug" | "trace")) => 2,
        (None, Some("info")) => 1,
        _ => 0,
    }
}

/// The command line, without the command name the `dcos` CLI puts first when it runs this as
/// its plugin (`dcos creds whoami` runs `dcos-creds creds whoami`).
fn arguments() -> Vec<std::ffi::OsString> {
    let mut args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if args.get(1).is_some_and(|a| a == PLUGIN_COMMAND) {
        args.remove(1);
    }
    args
}

/// The command the `dcos` CLI plugin adds.
const PLUGIN_COMMAND: &str = "creds";

fn main() -> ExitCode {
    // First, so that a signal never finds the default action once work may have begun.
    let watching = interrupt::watch();
    let args = arguments();
    // The plugin's one-line description, which the `dcos` CLI asks for.
    if args.len() == 2 && args[1] == "--info" {
        println!("{}", args::ABOUT);
        return ExitCode::SUCCESS;
    }
    // Help, version and usage errors exit here: 0 for help and version, 2 for bad usage.
    let cli = Cli::parse_from(args);
    let verbose = cli.global.verbose.max(dcos_verbosity());
    init_logging(verbose, cli.global.quiet);
    if let Err(e) = watching {
        tracing::warn!("Ctrl-C will stop at once: cannot handle signals ({e})");
    }
    let ui = Ui::new(cli.global.output, cli.global.quiet);
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::from(exit::FAILURE);
        }
    };
    let result = runtime.block_on(commands::run(cli, ui));
    match result {
        // A signal that came with the last writes in flight: they finished, and so did the job.
        Ok(()) => {
            if interrupt::requested().is_some() {
                eprintln!("the run had sent its last writes before it could stop: it is complete");
            }
            ExitCode::from(exit::SUCCESS)
        }
        Err(failure) => {
            // Asked to stop: 128 + the signal, whatever came of what was in flight.
            let interrupted = interrupt::requested().map(|signal| (128 + signal) as u8);
            eprintln!("error: {}", output::one_line(&failure.message));
            if let Some(hint) = &failure.hint {
                eprintln!("hint: {}", output::one_line(hint));
            }
            ExitCode::from(interrupted.unwrap_or(failure.code))
        }
    }
}
