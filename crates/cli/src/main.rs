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
        .with_ansi(colour())
        .with_target(verbose >= 2)
        .without_time()
        .init();
}

/// Whether standard error gets colour: only on a terminal, and never with `NO_COLOR` set to
/// anything (no-color.org).
fn colour() -> bool {
    use std::io::IsTerminal;
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && std::io::stderr().is_terminal()
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
    // Help and version exit here with 0; bad usage with 2, as JSON when the line asks for it.
    let json = args::asks_for_json(&args);
    let cli = match Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(e) if json && e.use_stderr() => {
            let failure = exit::Failure::usage(usage_message(&e)).hint(
                "dcos-creds --help lists the commands; dcos-creds <command> --help, the options",
            );
            return fail(failure, true);
        }
        Err(e) => e.exit(),
    };
    // -v and -q win over the dcos CLI's DCOS_VERBOSITY.
    let verbose = match (cli.global.verbose, cli.global.quiet) {
        (0, false) => dcos_verbosity(),
        (v, _) => v,
    };
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
        Err(mut failure) => {
            // Asked to stop: 128 + the signal, whatever came of what was in flight.
            if let Some(signal) = interrupt::requested() {
                failure.code = (128 + signal) as u8;
            }
            fail(failure, ui.json())
        }
    }
}

/// Reports a failure on standard error and, under `-o json`, as one JSON document on standard
/// output (unless the printed report already carries it); its code is the exit code.
fn fail(failure: exit::Failure, json: bool) -> ExitCode {
    eprintln!("error: {}", output::one_line(&failure.message));
    if let Some(hint) = &failure.hint {
        eprintln!("hint: {}", output::one_line(hint));
    }
    if json && !failure.reported {
        let doc = serde_json::json!({ "error": failure.doc() });
        if let Ok(mut text) = serde_json::to_string_pretty(&doc) {
            text.push('\n');
            // A closed standard output leaves the exit code to say it.
            let _ = output::write_stdout(text.as_bytes());
        }
    }
    ExitCode::from(failure.code)
}

/// The first line of clap's message, without its `error: ` prefix.
fn usage_message(error: &clap::Error) -> String {
    let rendered = error.render().to_string();
    let first = rendered.lines().next().unwrap_or_default();
    first.strip_prefix("error: ").unwrap_or(first).to_owned()
}
