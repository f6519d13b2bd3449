//! The options of the workflow commands: `s3`, `hdfs` and `apply`.

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};

/// The secrets an S3 onboarding works on.
#[derive(Debug, Args)]
pub struct S3Paths {
    /// The service's name, its Marathon app id without the leading `/`
    #[arg(long, value_name = "NAME", default_value = dcos_ops::dse::DEFAULT_SERVICE_NAME)]
    pub service_name: String,

    /// The secret holding the access key id [default: <service-name>/aws_access_key_id]
    #[arg(long, value_name = "PATH")]
    pub key_id_secret: Option<String>,

    /// The secret holding the secret access key [default:
    /// <service-name>/aws_secret_access_key]
    #[arg(long, value_name = "PATH")]
    pub secret_key_secret: Option<String>,
}

/// Where an AWS key pair comes from. Without any of these, AWS_PROFILE names a profile, and
/// without that the pair is asked for on the terminal.
#[derive(Debug, Args)]
#[group(id = "credentials", multiple = false)]
pub struct CredentialArgs {
    /// Read the pair to store from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (here they are
    /// the service's key, not credentials this tool signs AWS calls with)
    #[arg(long)]
    pub from_env: bool,

    /// Read this AWS profile, as the AWS CLI does: its keys in the shared credentials file
    /// (AWS_SHARED_CREDENTIALS_FILE, or ~/.aws/credentials), or its credential_process, SSO or
    /// role in the config file (AWS_CONFIG_FILE, or ~/.aws/config); without any of these flags,
    /// AWS_PROFILE names the profile
    #[arg(long, value_name = "NAME")]
    pub aws_profile: Option<String>,

    /// Read JSON from standard input: the output of `aws iam create-access-key`, or
    /// {"aws_access_key_id": ..., "aws_secret_access_key": ...}
    #[arg(long)]
    pub from_stdin: bool,
}

/// The service account the Data Science Engine runs as.
#[derive(Debug, Args)]
pub struct AccountArgs {
    /// The service account that gets read permission on the secrets
    #[arg(long, value_name = "UID")]
    pub service_account: String,

    /// The secret holding that account's login (its service-account.json)
    #[arg(long, value_name = "PATH")]
    pub service_account_secret: String,
}

/// Where the options put the S3 settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Layout {
    /// `storage.s3`, which the package reads
    Schema,
    /// The documentation's top-level `s3` block, which the package ignores
    Docs,
}

impl From<Layout> for dcos_ops::dse::Layout {
    fn from(layout: Layout) -> Self {
        match layout {
            Layout::Schema => Self::Schema,
            Layout::Docs => Self::Docs,
        }
    }
}

/// What the emitted options look like.
#[derive(Debug, Args)]
pub struct LayoutArgs {
    /// `schema` puts the S3 settings under storage.s3, where the package reads them; `docs`
    /// emits the documentation's top-level `s3` block, which the package ignores
    #[arg(long, value_enum, default_value_t = Layout::Schema)]
    pub layout: Layout,

    /// storage.s3.aws_region (the package's default is us-east-1)
    #[arg(long, value_name = "REGION")]
    pub aws_region: Option<String>,

    /// storage.s3.endpoint (the package's default is s3.us-east-1.amazonaws.com)
    #[arg(long, value_name = "HOST")]
    pub s3_endpoint: Option<String>,

    /// Accept secret paths the service cannot mount (outside its folder and its ancestors)
    #[arg(long)]
    pub allow_outside_space: bool,
}

/// Where the options go; standard output when neither is given.
#[derive(Debug, Args)]
#[group(id = "destination", multiple = false)]
pub struct DestinationArgs {
    /// Write the options to this new file (an identical file is left alone; a different one is
    /// never replaced)
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,

    /// Merge the options into this existing options file, keeping every other key; written
    /// atomically
    #[arg(long, value_name = "FILE")]
    pub merge_into: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum S3Command {
    /// Store an AWS key pair as secrets, grant the service account, and print the options
    #[command(
        long_about = include_str!("../../help/s3-onboard.about.txt").trim_end(),
        after_help = include_str!("../../help/s3-onboard.examples.txt").trim_end()
    )]
    Onboard(OnboardArgs),
    /// Replace the stored key pair with a new one, never leaving a mismatched pair
    #[command(
        long_about = include_str!("../../help/s3-rotate.about.txt").trim_end(),
        after_help = include_str!("../../help/s3-rotate.examples.txt").trim_end()
    )]
    Rotate(RotateArgs),
    /// Delete (or deactivate) every key of an IAM user that DC/OS does not hold
    #[command(
        name = "retire-aws-key",
        after_help = include_str!("../../help/s3-retire-aws-key.examples.txt").trim_end()
    )]
    RetireAwsKey(RetireArgs),
    /// Revoke the service account's permissions on the secrets, and delete them
    #[command(after_help = include_str!("../../help/s3-offboard.examples.txt").trim_end())]
    Offboard(OffboardArgs),
    /// Check one onboarding without changing it: secrets, grants, spaces, the app, rotations
    #[command(
        long_about = include_str!("../../help/s3-status.about.txt").trim_end(),
        after_help = include_str!("../../help/s3-status.examples.txt").trim_end()
    )]
    Status(S3StatusArgs),
    /// Print the service options for S3, without contacting the cluster
    #[command(after_help = include_str!("../../help/s3-options.examples.txt").trim_end())]
    Options(S3OptionsArgs),
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// The manifest: TOML, or JSON when the name ends in .json
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pub file: PathBuf,

    /// Show the plan and change nothing
    #[arg(long)]
    pub dry_run: bool,

    /// At most this many requests in flight at once
    #[arg(long, value_name = "N", default_value_t = 16)]
    pub concurrency: usize,

    /// Retries of a request answered 429, 502, 503 or 504, or whose connection was lost, with
    /// exponential back-off; an unattended run of many items needs more than one command
    #[arg(long, value_name = "N", default_value_t = 8)]
    pub retries: u32,

    /// Also revoke grants on the manifest's resource ids that the manifest does not declare
    /// (asks first on a terminal; --yes in scripts)
    #[arg(long)]
    pub prune: bool,

    /// Plan only, for CI: exit 0 when the cluster matches the manifest, 8 when changes are
    /// pending (like `terraform plan -detailed-exitcode`)
    #[arg(long, conflicts_with = "dry_run")]
    pub check: bool,

    /// Plan only, and save the plan to FILE (a new file, 0600) for `--plan FILE` to execute
    /// after review; it holds steps and keyed fingerprints, never a value
    #[arg(long, value_name = "FILE", conflicts_with = "plan")]
    pub plan_out: Option<PathBuf>,

    /// Execute exactly the plan that `--plan-out FILE` saved, with the same manifest: the
    /// cluster and the values are read again, and on any difference nothing is changed (exit 8)
    #[arg(long, value_name = "FILE", conflicts_with_all = ["dry_run", "check", "yes"])]
    pub plan: Option<PathBuf>,

    #[command(flatten)]
    pub confirm: crate::args::ConfirmArgs,
}

#[derive(Debug, Args)]
pub struct OnboardArgs {
    #[command(flatten)]
    pub account: AccountArgs,
    #[command(flatten)]
    pub paths: S3Paths,
    #[command(flatten)]
    pub credentials: CredentialArgs,
    #[command(flatten)]
    pub layout: LayoutArgs,
    #[command(flatten)]
    pub destination: DestinationArgs,

    /// Also grant read on the secrets' values (dcos:secrets:default:<path>), for services that
    /// read them through the API
    #[arg(long)]
    pub grant_value_read: bool,

    /// Replace secrets that hold a different value
    #[arg(long)]
    pub overwrite: bool,

    /// Show what would change, without changing anything
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct RotateArgs {
    #[command(flatten)]
    pub paths: S3Paths,
    #[command(flatten)]
    pub credentials: CredentialArgs,

    /// Show what would change, without changing anything
    #[arg(long)]
    pub dry_run: bool,

    /// Then restart every Marathon app and pod that uses either secret (as `secret consumers`
    /// lists them) and wait until each runs on the new pair; if one does not, the old pair is
    /// stored again and all of them restarted on it
    #[arg(long)]
    pub restart: bool,

    /// Restart only this Marathon app [default: every app and pod that uses the pair]
    #[arg(long, value_name = "ID", requires = "restart")]
    pub app_id: Option<String>,

    /// How long the restart's deployment may take
    #[arg(long, value_name = "SECONDS", default_value_t = 600, requires = "restart",
          value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub deploy_timeout: u64,

    /// Create the new key in AWS IAM (for --aws-iam-user), check that AWS accepts it, store it,
    /// and retire the old key. The IAM admin's credentials come from the standard chain: here
    /// AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are the identity that calls IAM, not the pair
    /// that is stored (the run says which credentials it uses)
    #[arg(long, requires = "aws_iam_user", conflicts_with = "credentials")]
    pub create_aws_key: bool,

    /// The IAM user whose key DC/OS holds
    #[arg(long, value_name = "NAME", requires = "create_aws_key")]
    pub aws_iam_user: Option<String>,

    /// What becomes of the old key once the new one is stored (and, with --restart, running)
    /// [default: delete with --restart, else keep]
    #[arg(long, value_name = "WHAT", value_enum, requires = "create_aws_key")]
    pub old_key: Option<OldKeyArg>,

    /// How long a new key may take until AWS accepts it
    #[arg(long, value_name = "SECONDS", default_value_t = 60, requires = "create_aws_key",
          value_parser = clap::value_parser!(u64).range(1..=3_600))]
    pub key_propagation_timeout: u64,
}

/// What becomes of the old AWS key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OldKeyArg {
    /// Delete it
    Delete,
    /// Set it Inactive (it can be set Active again)
    Deactivate,
    /// Leave it active
    Keep,
}

impl From<OldKeyArg> for dcos_ops::s3::OldKey {
    fn from(arg: OldKeyArg) -> Self {
        match arg {
            OldKeyArg::Delete => Self::Delete,
            OldKeyArg::Deactivate => Self::Deactivate,
            OldKeyArg::Keep => Self::Keep,
        }
    }
}

#[derive(Debug, Args)]
pub struct RetireArgs {
    /// The IAM user whose other keys are retired
    #[arg(long, value_name = "NAME")]
    pub aws_iam_user: String,
    #[command(flatten)]
    pub paths: S3Paths,

    /// Set the keys Inactive instead of deleting them
    #[arg(long)]
    pub deactivate: bool,

    /// Show what would change, without changing anything
    #[arg(long)]
    pub dry_run: bool,

    #[command(flatten)]
    pub confirm: crate::args::ConfirmArgs,
}

#[derive(Debug, Args)]
pub struct OffboardArgs {
    /// The service account whose permissions are revoked
    #[arg(long, value_name = "UID")]
    pub service_account: String,
    #[command(flatten)]
    pub paths: S3Paths,

    /// Keep the secrets; only revoke the permissions
    #[arg(long)]
    pub keep_secrets: bool,

    /// Delete the secrets even if Marathon apps or pods use them (they fail at their next
    /// start; without this, exit 3)
    #[arg(long)]
    pub force: bool,

    /// Show what would change, without changing anything
    #[arg(long)]
    pub dry_run: bool,

    #[command(flatten)]
    pub confirm: crate::args::ConfirmArgs,
}

#[derive(Debug, Args)]
pub struct S3StatusArgs {
    /// The service account that should hold read permission on the secrets
    #[arg(long, value_name = "UID")]
    pub service_account: String,
    #[command(flatten)]
    pub paths: S3Paths,
}

#[derive(Debug, Args)]
pub struct S3OptionsArgs {
    #[command(flatten)]
    pub account: AccountArgs,
    #[command(flatten)]
    pub paths: S3Paths,
    #[command(flatten)]
    pub layout: LayoutArgs,
    #[command(flatten)]
    pub destination: DestinationArgs,
}

#[derive(Debug, Subcommand)]
pub enum HdfsCommand {
    /// Print the options that point the service at an HDFS configuration URL
    #[command(
        long_about = include_str!("../../help/hdfs-options.about.txt").trim_end(),
        after_help = include_str!("../../help/hdfs-options.examples.txt").trim_end()
    )]
    Options(HdfsOptionsArgs),
}

#[derive(Debug, Args)]
pub struct HdfsOptionsArgs {
    /// The URL whose base serves hdfs-site.xml and core-site.xml
    #[arg(long, value_name = "URL")]
    pub conf_url: String,

    /// Fetch hdfs-site.xml and core-site.xml below the URL first, and report what is missing
    #[arg(long)]
    pub check: bool,
    #[command(flatten)]
    pub destination: DestinationArgs,
}
