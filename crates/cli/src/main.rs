//! `dcos-creds`: DC/OS Enterprise secrets, service accounts and permissions from one command.

mod args;
mod commands;
mod connect;
mod exit;
mod input;
mod interrupt;
mod output;

use std::process::ExitCode;

use clap::Parser;

use crate::args::Cli;
use crate::output::Ui;

/// Logging on standard error. Only this workspace's crates log below `-vvv`; at `-vvv` the
/// libraries beneath (HTTP, TLS, the AWS SDK) add their warnings, never more, so no header or
/// body is ever printed.
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
        "dcos_connect",
        "dcos_ops",
        "dcos_transport",
        "dcos_iam_client",
        "dcos_secrets_client",
    ]
    .iter()
    .fold(
        tracing_subscriber::EnvFilter::new(match verbose {
            0..=2 => "off",
            _ => "warn",
        }),
        |f, krate| f.add_directive(format!("{krate}={level}").parse().unwrap_or_default()),
    );
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

/// The command the `dcos` CLI plugin adds.
const PLUGIN_COMMAND: &str = "creds";

fn main() -> ExitCode {
    // First, so that a signal never finds the default action once work may have begun.
    let watching = interrupt::watch();
    let args = dcos_connect::plugin_arguments(std::env::args_os(), PLUGIN_COMMAND);
    // The plugin's one-line description, which the `dcos` CLI asks for.
    if args.len() == 2 && args[1] == "--info" {
        println!("{}", args::ABOUT);
        return ExitCode::SUCCESS;
    }
    // Help and version exit here with 0; bad usage with 2, as JSON when the line asks for it.
    let json = args::asks_for_json(&args);
    interrupt::set_json(json);
    let cli = match Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(e) if json && e.use_stderr() => return fail(usage_failure(&e), true),
        Err(e) => e.exit(),
    };
    // -v and -q win over the dcos CLI's DCOS_VERBOSITY.
    let verbose = match (cli.global.verbose, cli.global.quiet) {
        (0, false) => dcos_connect::Environment::process().dcos_verbosity(),
        (v, _) => v,
    };
    init_logging(verbose, cli.global.quiet);
    if let Err(e) = watching {
        tracing::warn!("Ctrl-C will stop at once: cannot handle signals ({e})");
    }
    let ui = Ui::new(cli.global.output, cli.global.quiet);
    interrupt::configure(
        dcos_transport::Limits::with_deadline(std::time::Duration::from_secs(cli.global.deadline)),
        std::time::Duration::from_secs(cli.global.timeout),
    );
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

/// A usage error of clap's as a failure: its whole message (the missing or wrong arguments
/// included) as one line, and its usage line and pointer to `--help` as the hint.
fn usage_failure(error: &clap::Error) -> exit::Failure {
    let rendered = error.render().to_string();
    let (mut message, mut hint) = (Vec::new(), Vec::new());
    for paragraph in rendered.split("\n\n") {
        let folded = paragraph
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        if folded.is_empty() {
            continue;
        }
        match folded.starts_with("Usage:") || folded.starts_with("For more information") {
            true => hint.push(folded),
            false => message.push(folded),
        }
    }
    let message = message.join(" ");
    let message = message
        .strip_prefix("error: ")
        .unwrap_or(&message)
        .to_owned();
    let hint = match hint.is_empty() {
        true => "dcos-creds --help lists the commands; dcos-creds <command> --help, the options"
            .to_owned(),
        false => hint.join("; "),
    };
    exit::Failure::usage(message).hint(hint)
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    /// Requirement (issue 26): a usage error keeps clap's whole message (the end-to-end test
    /// `exposure::usage_errors_under_json_name_the_missing_argument` checks a missing one).
    #[test]
    fn a_usage_error_keeps_the_whole_of_clap_s_message() {
        let unknown = Cli::try_parse_from(["dcos-creds", "--no-such-flag", "whoami"]).unwrap_err();
        let failure = usage_failure(&unknown);
        assert!(
            failure.message.contains("--no-such-flag"),
            "{}",
            failure.message
        );
        assert!(
            !failure.message.starts_with("error:"),
            "{}",
            failure.message
        );
        let hint = failure.hint.unwrap_or_default();
        assert!(hint.starts_with("Usage: dcos-creds"), "{hint}");
    }
}
