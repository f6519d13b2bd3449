//! The command line: every option, with the help text users read.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

mod admin;
mod workflows;

pub use admin::*;
pub use workflows::*;

/// The long help's closing text: connection, tokens, exit codes.
fn after_help() -> String {
    let codes: Vec<String> = crate::exit::TABLE
        .iter()
        .map(|(code, meaning)| format!("  {code}  {meaning}"))
        .collect();
    format!("{CONNECTION}\n\nExit codes:\n{}", codes.join("\n"))
}

const CONNECTION: &str = "\
Connection: the cluster is --url, else DCOS_URL, else the login endpoint of
DCOS_SERVICE_ACCOUNT_CREDENTIAL, else the `dcos` CLI's attached cluster. TLS trust is
--ca-cert, --ca-fingerprint or --insecure, else DCOS_TLS_CA_PATH, else DCOS_TLS_INSECURE, else
the `dcos` CLI's ssl_verify, else the system's roots. DCOS_TLS_INSECURE takes 1/true/yes/on or
0/false/no/off in any case; anything else is refused. A flag always wins over a variable; an
empty variable counts as unset. `dcos-creds status` shows what came from where.
Token, first found wins: DCOS_ACS_TOKEN; DCOS_SERVICE_ACCOUNT_CREDENTIAL (the login secret jobs
inside a cluster receive); DCOS_SERVICE_ACCOUNT with DCOS_PRIVATE_KEY_FILE (both log in per run
and again when the token is refused); the keyring entry `dcos-creds login` saved for the
cluster; the `dcos` CLI's attached cluster (DCOS_DIR, default ~/.dcos). With service-account
credentials in the environment, an expired DCOS_ACS_TOKEN is renewed with them.
As a `dcos` CLI plugin (`dcos creds ...`) it also honours DCOS_TLS_INSECURE and DCOS_VERBOSITY.

Secret values are never taken as arguments: they come from a file, from standard input
(`--value-file -`) or from a hidden prompt.";

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
        after_help = "Examples:\n  dcos-creds --url https://dcos.example.com login --username alice\n  \
        printf '%s' \"$PASSWORD\" | dcos-creds login --username alice --password-stdin\n  \
        dcos-creds login --service-account ci-bot --private-key ci-bot.pem"
    )]
    Login(LoginArgs),
    /// Forget the token saved for the cluster
    Logout,
    /// Show the account the token belongs to, and when it expires
    Whoami,
    /// Where the cluster, the TLS trust and the token come from, and whether they work
    #[command(
        visible_alias = "doctor",
        long_about = "Where the cluster URL, the TLS trust and the token each come from, and which \
        other sources each one shadows; the token's account and expiry; the cluster's id, DC/OS \
        version and variant; and whether this machine's clock is off against the cluster's. \
        Changes nothing. Exits 0 when everything works, else with the code of the first problem \
        (the report lists them all).",
        after_help = "Examples:\n  dcos-creds status\n  dcos-creds -o json doctor"
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
        after_help = "Examples:\n  dcos-creds grant --user ci-bot dcos:secrets:list:default:team/aws_key read\n  \
        dcos-creds grant --group data dcos:secrets:default:team/* read"
    )]
    Grant(GrantArgs),
    /// Take back an action granted with `grant`, or every grant of a principal
    #[command(
        after_help = "Examples:\n  dcos-creds revoke --user ci-bot dcos:secrets:default:team/db_password read\n  \
        dcos-creds revoke --all --user ci-bot --under team --dry-run\n  \
        dcos-creds revoke --all --user ci-bot --remove-from-groups --yes"
    )]
    Revoke(RevokeArgs),
    /// Who can read a secret's value and see its name, or what one principal can read and see
    #[command(
        long_about = "Who can read a secret's value, and who can see its name; or, with --user \
        or --group, every secret a principal can read and every one whose name it can see.\n\n\
        Lists users, service accounts and groups (with their members) that hold `read` or `full` \
        on the secret, directly or through a group: by its exact resource id, by a `/*` wildcard \
        over it, by list permission on the secret or an ancestor folder, and every superuser. \
        Each entry says how (VIA, REACH, PERMISSION), in the same words both ways round. Needs \
        permission to read the IAM API.",
        after_help = "Examples:\n  dcos-creds access team/db_password\n  \
        dcos-creds access --user ci-bot\n  dcos-creds -o json access --group data --under team"
    )]
    Access(AccessArgs),
    /// Every secret's access from one read of the cluster, with findings; text, JSON, CSV, HTML
    #[command(
        long_about = "Every secret's access, from one consistent read of the cluster: for each \
        secret the document `access PATH` prints (who reads the value, who sees the name, and \
        how), and the findings an auditor looks for: secrets only superusers can read, values \
        readable through a wildcard, principals holding `full` on secrets, grants on resource \
        ids that name no existing secret, and service accounts with no login secret under \
        their name. One listing, every ACL with its holders, every user, group and membership, \
        read at most 16 requests at a time; no secret value is ever read.\n\n\
        `-o json` prints {\"secrets\": [...], \"findings\": [...]}; `-o csv` one row per \
        secret, principal and way; --html FILE writes one self-contained page (no external \
        asset) with the matrix of secrets by principals, sortable and filterable, the \
        findings, and the cluster and time of the read.",
        after_help = "Examples:\n  dcos-creds audit\n  dcos-creds -o json audit --under team > audit.json\n  \
        dcos-creds -o csv audit > audit.csv\n  dcos-creds audit --html audit.html"
    )]
    Audit(AuditArgs),
    /// Service accounts
    #[command(subcommand)]
    ServiceAccount(ServiceAccountCommand),
    /// Onboard, rotate and offboard AWS credentials for the Data Science Engine
    #[command(subcommand)]
    S3(S3Command),
    /// HDFS settings for the Data Science Engine
    #[command(subcommand)]
    Hdfs(HdfsCommand),
    /// Converge the cluster to a manifest of accounts, secrets, grants and S3 onboardings
    #[command(
        long_about = "Converge the cluster to a manifest (TOML, or JSON for a .json file) of \
        service accounts, secrets, grants and S3 onboardings.\n\n\
        Reads the current state first and shows the plan, without values: secrets are compared \
        by fingerprint, grants as the IAM API lists them. --dry-run stops there. Then every \
        item is applied at once, at most --concurrency requests in flight; an item that needs \
        an account the manifest creates waits for it. Each item stands alone: a failing item is undone and reported, the \
        others go on, and the exit code is 7. Applying the same manifest again changes nothing.\n\n\
        Values never appear in a manifest: a secret names a file (from_file), an environment \
        variable (from_env) or an AWS profile (aws_profile with aws_key). Relative file names \
        are relative to the manifest's folder.",
        after_help = "Manifest:\n  \
        [[service_account]]\n  \
        uid = \"dse\"\n  \
        private_key_out = \"dse.pem\"     # read if it exists, else generated (0600)\n  \
        login_secret = \"data-science-engine/sa\"\n\n  \
        [[secret]]\n  \
        path = \"team/db-password\"\n  \
        from_env = \"DB_PASSWORD\"         # or from_file = \"db.txt\"\n\n  \
        [[grant]]\n  \
        group = \"data-team\"              # or user = \"alice\"\n  \
        rid = \"dcos:secrets:default:team/db-password\"\n  \
        action = \"read\"\n\n  \
        [[s3]]\n  \
        service_account = \"dse\"\n  \
        service_account_secret = \"data-science-engine/sa\"\n  \
        credentials = { aws_profile = \"dse\" }\n  \
        out = \"dse-options.json\"\n\n\
        Examples:\n  \
        dcos-creds apply -f cluster.toml --dry-run\n  \
        dcos-creds apply -f cluster.toml --concurrency 32 -o json > report.json\n  \
        dcos-creds apply -f cluster.toml --prune"
    )]
    Apply(ApplyArgs),
    /// Run the whole onboarding against an emulated cluster on this machine
    #[cfg(feature = "demo")]
    #[command(
        long_about = "Run the whole onboarding against an emulated cluster on this machine.\n\n\
        Starts the emulator in this process (HTTPS, its CA pinned by fingerprint), logs in as the \
        bootstrap superuser, creates a service account and its login secret, onboards sample AWS \
        keys (AWS's documented example pair, which opens nothing), runs the onboarding again to \
        show it changes nothing, shows who can read one of the secrets, and prints the service \
        options. Nothing leaves this machine and nothing is kept."
    )]
    Demo,
    /// Print a shell completion script
    #[command(
        after_help = "Example:\n  dcos-creds completions bash > ~/.local/share/bash-completion/completions/dcos-creds"
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
