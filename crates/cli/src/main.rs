//! `dcos-creds`: DC/OS Enterprise secrets, service accounts and permissions from one command.

mod args;
mod commands;
mod connect;
mod dcos_config;
mod exit;
mod input;
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

fn main() -> ExitCode {
    // Help, version and usage errors exit here: 0 for help and version, 2 for bad usage.
    let cli = Cli::parse();
    init_logging(cli.global.verbose, cli.global.quiet);
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
    match runtime.block_on(commands::run(cli, ui)) {
        Ok(()) => ExitCode::from(exit::SUCCESS),
        Err(failure) => {
            eprintln!("error: {}", failure.message);
            if let Some(hint) = &failure.hint {
                eprintln!("hint: {hint}");
            }
            ExitCode::from(failure.code)
        }
    }
}
