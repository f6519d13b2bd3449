//! The command line: every option, with the help text users read.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

mod admin;
mod backup;
mod dse;
mod workflows;

pub use admin::*;
pub use backup::*;
pub use dse::*;
pub use workflows::*;

/// The long help's closing text: connection, tokens, exit codes.
fn after_help() -> String {
    let codes: Vec<String> = crate::exit::TABLE
        .iter()
        .map(|(code, _, meaning)| format!("  {code}  {meaning}"))
        .collect();
    format!(
        "{}\n\nExit codes:\n{}",
        CONNECTION.trim_end(),
        codes.join("\n")
    )
}

const CONNECTION: &str = include_str!("../help/connection.txt");

/// One line on what the tool does.
pub const ABOUT: &str =
    "Manage DC/OS Enterprise secrets, service accounts and permissions, safely and repeatably.";

/// Manage DC/OS Enterprise secrets, service accounts and permissions, safely and repeatably.
#[derive(Debug, Parser)]
#[command(name = "dcos-creds", version, after_long_help = after_help())]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes. A flag wins over the environment variable for the same
/// setting; an empty variable counts as unset.
#[derive(Debug, Args)]
#[command(next_help_heading = "Global options")]
pub struct Global {
    /// The cluster URL, like https://dcos.example.com [default: DCOS_URL, else the dcos CLI's
    /// attached cluster]
    #[arg(long, global = true, value_name = "URL")]
    pub url: Option<String>,

    /// Trust this CA bundle (PEM) for the cluster's TLS certificate, and only it [default:
    /// DCOS_TLS_CA_PATH]
    #[arg(long, global = true, value_name = "FILE")]
    pub ca_cert: Option<PathBuf>,

    /// Download the cluster CA and trust it only if its SHA-256 fingerprint is this
    /// (`dcos-creds ca fetch` prints it); wins over DCOS_TLS_CA_PATH
    #[arg(
        long,
        global = true,
        value_name = "sha256:HEX",
        conflicts_with = "ca_cert"
    )]
    pub ca_fingerprint: Option<String>,

    /// Do not verify the cluster's TLS certificate (prints a warning; for throwaway clusters);
    /// wins over DCOS_TLS_CA_PATH
    #[arg(long, global = true, conflicts_with_all = ["ca_cert", "ca_fingerprint"])]
    pub insecure: bool,

    /// Allow a token, password or secret to travel over plain http:// to a host that is not
    /// loopback
    #[arg(long, global = true)]
    pub allow_http: bool,

    /// Output format for data on standard output
    #[arg(short, long, value_enum, default_value_t = Output::Text, global = true)]
    pub output: Output,

    /// More detail on standard error (-v where the cluster and token come from, -vv each request
    /// with its status and time, -vvv trace); never a secret value
    #[arg(short, long, action = clap::ArgAction::Count, global = true, conflicts_with = "quiet")]
    pub verbose: u8,

    /// Only errors on standard error
    #[arg(short, long, global = true)]
    pub quiet: bool,

    /// Seconds one attempt of a request may take, to the cluster or to AWS (retries come on
    /// top, except for AWS, where this bounds each call with its retries)
    #[arg(long, global = true, value_name = "SECONDS", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub timeout: u64,

    /// Seconds the whole command may take, waits for deployments and keys included; past it,
    /// what is in flight is cut short and what was changed is taken back (exit 6)
    #[arg(long, global = true, value_name = "SECONDS", default_value_t = DEFAULT_DEADLINE,
          value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub deadline: u64,
}

/// How long a whole command may take by default, in seconds: longer than the longest default
/// wait (a deployment, 600 s) with its retries.
pub const DEFAULT_DEADLINE: u64 = 1_800;

/// Whether a command line asks for `-o json` (`-o json`, `-ojson`, `--output json`,
/// `--output=json`), read before clap parses it, so that usage errors can be JSON too.
pub fn asks_for_json(args: &[std::ffi::OsString]) -> bool {
    let args: Vec<&str> = args.iter().filter_map(|a| a.to_str()).collect();
    let mut json = false;
    for (i, arg) in args.iter().enumerate() {
        if *arg == "--" {
            break;
        }
        let value = match *arg {
            "-o" | "--output" => args.get(i + 1).copied(),
            a => a
                .strip_prefix("--output=")
                .or_else(|| a.strip_prefix("-o").filter(|v| !v.starts_with('-'))),
        };
        if let Some(value) = value {
            json = value == "json";
        }
    }
    json
}

/// The output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    /// Lines and tables for people
    Text,
    /// One JSON document, for scripts
    Json,
    /// Comma-separated values (`audit` only)
    Csv,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Log in and keep the token in the OS keyring
    #[command(
        after_help = include_str!("../help/login.examples.txt").trim_end()
    )]
    Login(LoginArgs),
    /// Forget the token saved for the cluster
    Logout,
    /// Show the account the token belongs to, and when it expires
    Whoami,
    /// Where the cluster, the TLS trust and the token come from, and whether they work
    #[command(
        visible_alias = "doctor",
        long_about = include_str!("../help/status.about.txt").trim_end(),
        after_help = include_str!("../help/status.examples.txt").trim_end()
    )]
    Status,
    /// The cluster's certificate authority
    #[command(subcommand)]
    Ca(CaCommand),
    /// Which cluster this is
    #[command(subcommand)]
    Cluster(ClusterCommand),
    /// Create, read, list and delete secrets
    #[command(subcommand)]
    Secret(SecretCommand),
    /// Grant an action on a resource to a user, service account or group
    #[command(
        after_help = include_str!("../help/grant.examples.txt").trim_end()
    )]
    Grant(GrantArgs),
    /// Take back an action granted with `grant`, or every grant of a principal
    #[command(
        after_help = include_str!("../help/revoke.examples.txt").trim_end()
    )]
    Revoke(RevokeArgs),
    /// Who can read a secret's value and see its name, or what one principal can read and see
    #[command(
        long_about = include_str!("../help/access.about.txt").trim_end(),
        after_help = include_str!("../help/access.examples.txt").trim_end()
    )]
    Access(AccessArgs),
    /// Every secret's access from one read of the cluster, with findings; text, JSON, CSV, HTML
    #[command(
        long_about = include_str!("../help/audit.about.txt").trim_end(),
        after_help = include_str!("../help/audit.examples.txt").trim_end()
    )]
    Audit(AuditArgs),
    /// Service accounts
    #[command(subcommand)]
    ServiceAccount(ServiceAccountCommand),
    /// User accounts: list them, delete one (a compromised account, in a runbook)
    #[command(subcommand)]
    User(UserCommand),
    /// Onboard, rotate and offboard AWS credentials for the Data Science Engine
    #[command(subcommand)]
    S3(S3Command),
    /// HDFS settings for the Data Science Engine
    #[command(subcommand)]
    Hdfs(HdfsCommand),
    /// The Data Science Engine's credentials, start to finish
    #[command(subcommand)]
    Dse(DseCommand),
    /// Converge the cluster to a manifest of accounts, secrets, grants, S3 onboardings and engines
    #[command(
        long_about = include_str!("../help/apply.about.txt").trim_end(),
        after_help = include_str!("../help/apply.examples.txt").trim_end()
    )]
    Apply(ApplyArgs),
    /// Save every secret, user, group and grant to one encrypted file
    #[command(
        long_about = include_str!("../help/backup.about.txt").trim_end(),
        after_help = include_str!("../help/backup.examples.txt").trim_end()
    )]
    Backup(BackupArgs),
    /// Put a backup (or a dcos-migrate secrets file) back, as one plan, all or nothing
    #[command(
        long_about = include_str!("../help/restore.about.txt").trim_end(),
        after_help = include_str!("../help/restore.examples.txt").trim_end()
    )]
    Restore(RestoreArgs),
    /// What differs between a backup and the cluster; exit 8 when something does
    #[command(
        after_help = include_str!("../help/diff.examples.txt").trim_end()
    )]
    Diff(DiffArgs),
    /// Take the secrets off DC/OS: Kubernetes Secrets
    #[command(subcommand)]
    Export(ExportCommand),
    /// Run the engine's whole set-up against an emulated cluster on this machine
    #[cfg(feature = "demo")]
    #[command(
        long_about = include_str!("../help/demo.about.txt").trim_end()
    )]
    Demo,
    /// Print a shell completion script
    #[command(
        after_help = include_str!("../help/completions.examples.txt").trim_end()
    )]
    Completions {
        /// The shell
        shell: clap_complete::Shell,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    /// Every command line in the help's examples parses (a continued line joined, from
    /// `dcos-creds` to a redirection or pipe).
    #[test]
    fn every_example_in_the_help_parses() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("help");
        let mut parsed = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
            for line in text.replace("\\\n", " ").lines() {
                let Some(start) = line.find("dcos-creds ").filter(|_| line.starts_with("  "))
                else {
                    continue;
                };
                let words = line[start..]
                    .split(['>', '|'])
                    .next()
                    .unwrap()
                    .split_whitespace();
                Cli::try_parse_from(words).unwrap_or_else(|e| panic!("{line}\n{e}"));
                parsed += 1;
            }
        }
        assert!(parsed >= 30, "{parsed} examples");
    }

    #[test]
    fn a_secret_value_cannot_be_an_argument() {
        let parsed = Cli::try_parse_from(["dcos-creds", "secret", "put", "a/b", "hunter2"]);
        assert!(parsed.is_err());
    }

    #[test]
    fn grant_needs_exactly_one_principal() {
        let both = [
            "dcos-creds",
            "grant",
            "--user",
            "u",
            "--group",
            "g",
            "dcos:x",
            "read",
        ];
        assert!(Cli::try_parse_from(both).is_err());
        let none = ["dcos-creds", "grant", "dcos:x", "read"];
        assert!(Cli::try_parse_from(none).is_err());
    }
}
