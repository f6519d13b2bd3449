//! The options of the admin commands: login, CA and cluster, secrets, grants, access, audit
//! and service accounts.

use std::path::PathBuf;

use clap::{ArgGroup, Args, Subcommand, ValueEnum};

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("who").required(true).args(["username", "service_account"])))]
pub struct LoginArgs {
    /// Log in as this user; the password is asked for on the terminal
    #[arg(long, value_name = "UID")]
    pub username: Option<String>,

    /// Read the password from standard input (one line; the line break is dropped)
    #[arg(long, requires = "username")]
    pub password_stdin: bool,

    /// Log in as this service account
    #[arg(long, value_name = "UID", requires = "private_key")]
    pub service_account: Option<String>,

    /// The service account's private key (PEM), or `-` for standard input
    #[arg(long, value_name = "FILE|-", requires = "service_account")]
    pub private_key: Option<PathBuf>,

    /// Print the token on standard output instead of saving it in the keyring (for
    /// `export DCOS_ACS_TOKEN=...` where no keyring works)
    #[arg(long)]
    pub print_token: bool,
}

#[derive(Debug, Subcommand)]
pub enum CaCommand {
    /// Download the cluster CA (no token needed) and print its SHA-256 fingerprint
    #[command(
        long_about = include_str!("../../help/ca-fetch.about.txt").trim_end(),
        after_help = include_str!("../../help/ca-fetch.examples.txt").trim_end()
    )]
    Fetch {
        /// Write the PEM bundle here (never overwrites an existing file)
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum ClusterCommand {
    /// The cluster's id, name, DC/OS version and variant
    #[command(
        long_about = include_str!("../../help/cluster-info.about.txt").trim_end(),
        after_help = include_str!("../../help/cluster-info.examples.txt").trim_end()
    )]
    Info,
}

/// Where a secret value comes from.
#[derive(Debug, Args)]
pub struct ValueArgs {
    /// Read the value from this file, or `-` for standard input (bytes kept exactly). Without
    /// it, the value is asked for on the terminal
    #[arg(long, value_name = "FILE|-")]
    pub value_file: Option<PathBuf>,

    /// Store the value as binary (application/octet-stream) instead of text
    #[arg(long)]
    pub binary: bool,

    /// Store an empty value; without it an empty value is refused (exit 2), since an empty
    /// file or a failed pipe would otherwise wipe the secret
    #[arg(long)]
    pub allow_empty: bool,
}

#[derive(Debug, Subcommand)]
pub enum SecretCommand {
    /// Create a secret; fails with exit 3 if it exists
    #[command(
        after_help = include_str!("../../help/secret-create.examples.txt").trim_end()
    )]
    Create {
        /// The secret's path, like team/db_password
        path: String,
        #[command(flatten)]
        value: ValueArgs,
    },
    /// Replace the value of an existing secret; fails with exit 5 if there is none
    Update {
        /// The secret's path
        path: String,
        #[command(flatten)]
        value: ValueArgs,
    },
    /// Create the secret or update it; reports created, updated or unchanged
    #[command(
        after_help = include_str!("../../help/secret-put.examples.txt").trim_end()
    )]
    Put {
        /// The secret's path
        path: String,
        #[command(flatten)]
        value: ValueArgs,
    },
    /// Write the value to standard output (text as stored, binary raw)
    Get {
        /// The secret's path
        path: String,
    },
    /// List the secret paths below a folder (all when none is given)
    List {
        /// The folder
        path: Option<String>,
    },
    /// Delete a secret (asks first on a terminal; --yes in scripts)
    #[command(
        after_help = include_str!("../../help/secret-delete.examples.txt").trim_end()
    )]
    Delete {
        /// The secret's path
        path: String,

        /// A secret that does not exist is no failure: exit 0 (else exit 5)
        #[arg(long)]
        if_exists: bool,

        /// Delete it even if Marathon apps or pods use it (they fail at their next start;
        /// without this, exit 3)
        #[arg(long)]
        force: bool,

        #[command(flatten)]
        confirm: ConfirmArgs,
    },
    /// The Marathon apps and pods that use a secret, and how (a variable, a file, an SDK
    /// scheduler's task secret, or declared only)
    #[command(
        after_help = include_str!("../../help/secret-consumers.examples.txt").trim_end()
    )]
    Consumers {
        /// The secret's path
        path: String,
    },
}

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("principal").required(true).args(["user", "group"])))]
pub struct GrantArgs {
    /// A user or service account
    #[arg(long, value_name = "UID")]
    pub user: Option<String>,

    /// A group
    #[arg(long, value_name = "GID")]
    pub group: Option<String>,

    /// The resource id, like dcos:secrets:default:team/db_password
    pub rid: String,

    /// create, read, update, delete or full
    pub action: String,

    /// The description of the resource's ACL, when it has to be created
    #[arg(long, value_name = "TEXT")]
    pub description: Option<String>,

    /// Accept a resource id that does not start with `dcos:` (DC/OS ids all do)
    #[arg(long)]
    pub any_rid: bool,
}

/// Going ahead with a destructive command.
#[derive(Debug, Args)]
pub struct ConfirmArgs {
    /// Go ahead without asking. Without it the plan is shown and confirmed on a terminal, and
    /// the command refuses (exit 2) when there is no terminal to ask on
    #[arg(short = 'y', long)]
    pub yes: bool,
}

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("principal").required(true).args(["user", "group"])))]
pub struct RevokeArgs {
    /// A user or service account
    #[arg(long, value_name = "UID")]
    pub user: Option<String>,

    /// A group
    #[arg(long, value_name = "GID")]
    pub group: Option<String>,

    /// The resource id, like dcos:secrets:default:team/db_password
    #[arg(required_unless_present = "all", conflicts_with = "all")]
    pub rid: Option<String>,

    /// create, read, update, delete or full
    #[arg(required_unless_present = "all", conflicts_with = "all")]
    pub action: Option<String>,

    /// Revoke every direct grant of the principal (grants through its groups stay)
    #[arg(long)]
    pub all: bool,

    /// With --all: only grants on secrets at or below this path (their value, list and
    /// wildcard ids)
    #[arg(long, value_name = "PATH", requires = "all")]
    pub under: Option<String>,

    /// With --all --user: also take the account out of every group
    #[arg(long, requires = "all", requires = "user")]
    pub remove_from_groups: bool,

    /// With --all --user: then delete the user (as `user delete --cascade` does: every grant
    /// revoked, the user deleted, all taken back on a failure), so that it can no longer log in
    #[arg(long, requires = "all", requires = "user", conflicts_with_all = ["under", "remove_from_groups"])]
    pub delete_user: bool,

    /// With --all: show what would be revoked, and change nothing
    #[arg(long, requires = "all")]
    pub dry_run: bool,

    /// Accept a resource id that does not start with `dcos:`
    #[arg(long, conflicts_with = "all")]
    pub any_rid: bool,

    #[command(flatten)]
    pub confirm: ConfirmArgs,
}

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Only secrets at or below this path
    #[arg(long, value_name = "PATH")]
    pub under: Option<String>,

    /// Also write the report as one self-contained HTML page here (never over an existing file)
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
}

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("subject").required(true).args(["path", "user", "group"])))]
pub struct AccessArgs {
    /// The secret's path: who can read it, and who can see its name
    pub path: Option<String>,

    /// What this user or service account can read and see (its groups expanded)
    #[arg(long, value_name = "UID", conflicts_with_all = ["path", "group"])]
    pub user: Option<String>,

    /// What this group can read and see
    #[arg(long, value_name = "GID", conflicts_with = "path")]
    pub group: Option<String>,

    /// With --user or --group: only secrets at or below this path
    #[arg(long, value_name = "PATH", conflicts_with = "path")]
    pub under: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum ServiceAccountCommand {
    /// Generate a key pair and create a service account with it (again: unchanged)
    #[command(
        after_help = include_str!("../../help/service-account-create.examples.txt").trim_end()
    )]
    Create(ServiceAccountCreateArgs),
    /// A new key pair for an account, keeping its uid, grants, groups and login secrets
    #[command(
        long_about = include_str!("../../help/service-account-rotate-key.about.txt").trim_end(),
        after_help = include_str!("../../help/service-account-rotate-key.examples.txt").trim_end()
    )]
    RotateKey(RotateKeyArgs),
    /// List the service accounts, and the secrets that hold each one's login credential
    #[command(
        long_about = include_str!("../../help/service-account-list.about.txt").trim_end(),
        after_help = include_str!("../../help/service-account-list.examples.txt").trim_end()
    )]
    List {
        /// Do not look for login secrets (one listing instead of reading every secret)
        #[arg(long)]
        no_login_secrets: bool,
    },
    /// Delete a service account; --cascade also revokes its grants and deletes its login secrets
    #[command(
        long_about = include_str!("../../help/service-account-delete.about.txt").trim_end(),
        after_help = include_str!("../../help/service-account-delete.examples.txt").trim_end()
    )]
    Delete(DeleteArgs),
}

/// `service-account delete` and `user delete`.
#[derive(Debug, Args)]
pub struct DeleteArgs {
    /// The account's id
    pub uid: String,

    /// Also revoke its grants (and delete a service account's login secrets); without it, an
    /// account that would leave any behind is refused (exit 3)
    #[arg(long)]
    pub cascade: bool,

    /// Show the plan, and change nothing
    #[arg(long)]
    pub dry_run: bool,

    #[command(flatten)]
    pub confirm: ConfirmArgs,
}

#[derive(Debug, Args)]
pub struct ServiceAccountCreateArgs {
    /// The account's id
    pub uid: String,

    /// Write the private key here (mode 0600; an existing file is never overwritten)
    #[arg(long, value_name = "FILE")]
    pub private_key_out: PathBuf,

    /// Also write the public key here
    #[arg(long, value_name = "FILE")]
    pub public_key_out: Option<PathBuf>,

    /// The account's description
    #[arg(long, value_name = "TEXT")]
    pub description: Option<String>,

    /// Also store the account's login secret (the JSON services mount as
    /// service-account.json) at this path
    #[arg(long, value_name = "PATH")]
    pub secret: Option<String>,

    /// The login endpoint written into the login secret
    #[arg(long, value_name = "URL", requires = "secret",
          default_value = dcos_iam_client::DEFAULT_LOGIN_ENDPOINT)]
    pub login_endpoint: String,

    /// The RSA key size in bits
    #[arg(long, value_enum, value_name = "BITS", default_value_t = KeyBits::Rsa2048)]
    pub key_size: KeyBits,
}

/// RSA key sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum KeyBits {
    /// 2048 bits
    #[value(name = "2048")]
    Rsa2048,
    /// 4096 bits
    #[value(name = "4096")]
    Rsa4096,
}

impl From<KeyBits> for dcos_iam_client::KeySize {
    fn from(bits: KeyBits) -> Self {
        match bits {
            KeyBits::Rsa2048 => Self::Rsa2048,
            KeyBits::Rsa4096 => Self::Rsa4096,
        }
    }
}

/// `user list|delete`.
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Every user account (not service accounts), with its provider and groups
    List,
    /// Delete a user; --cascade first revokes its direct grants (its memberships go with it)
    #[command(
        after_help = include_str!("../../help/user-delete.examples.txt").trim_end()
    )]
    Delete(DeleteArgs),
}

/// `service-account rotate-key`.
#[derive(Debug, Args)]
pub struct RotateKeyArgs {
    /// The account's id
    pub uid: String,

    /// Write the new private key here (mode 0600; an existing file is never overwritten)
    #[arg(long, value_name = "FILE")]
    pub private_key_out: PathBuf,

    /// A login secret of the account to give the new key (repeat for several) [default:
    /// every login secret of the account, found by its content]
    #[arg(long, value_name = "PATH")]
    pub secret: Vec<String>,

    /// The RSA key size in bits
    #[arg(long, value_enum, value_name = "BITS", default_value_t = KeyBits::Rsa2048)]
    pub key_size: KeyBits,

    /// Show the plan, and change nothing
    #[arg(long)]
    pub dry_run: bool,

    #[command(flatten)]
    pub confirm: ConfirmArgs,
}
