//! The options of `dse`: one Data Science Engine's credentials, set up as one plan. The
//! fields named as in a manifest's `[[dse]]` entry are that entry (`dcos_ops::dse::setup::
//! SetupSpec`); the others say where the key pair comes from and where the options go.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use serde::Serialize;

use super::DestinationArgs;

#[derive(Debug, Subcommand)]
pub enum DseCommand {
    /// Set up one engine: its account, Mesos permissions, secrets, grants and options
    #[command(
        mut_arg("from_env", |a| a.long("s3-from-env")
            .help("S3: the key pair in AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")),
        mut_arg("from_stdin", |a| a.long("s3-from-stdin")
            .help("S3: the key pair as JSON on standard input (`aws iam create-access-key`)")),
        mut_arg("aws_profile", |a| a.help("S3: the key pair of this AWS profile")),
        long_about = include_str!("../../help/dse-setup.about.txt").trim_end(),
        after_help = include_str!("../../help/dse-setup.examples.txt").trim_end()
    )]
    Setup(Box<DseSetupArgs>),
    /// Take back what `dse setup` gave: grants, secrets, and with --delete-account the account
    #[command(after_help = include_str!("../../help/dse-offboard.examples.txt").trim_end())]
    Offboard(DseOffboardArgs),
    /// Check one engine: its account and login, Mesos permissions, secrets, keytab and stores
    #[command(after_help = include_str!("../../help/dse-status.examples.txt").trim_end())]
    Status(DseStatusArgs),
}

#[derive(Debug, Args)]
pub struct DseStatusArgs {
    #[command(flatten)]
    pub id: DseIdArgs,
    /// The engine's options file: check what it names
    #[arg(long, value_name = "FILE")]
    pub options: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct DseOffboardArgs {
    #[command(flatten)]
    pub id: DseIdArgs,
    /// The secret the S3 access key id went to, when `dse setup` was told
    #[arg(long, value_name = "PATH")]
    pub key_id_secret: Option<String>,
    /// The secret the S3 secret access key went to, when `dse setup` was told
    #[arg(long, value_name = "PATH")]
    pub secret_key_secret: Option<String>,
    /// Also delete the account and its login secret
    #[arg(long)]
    pub delete_account: bool,
    /// Delete secrets that apps or pods use (they fail at their next start)
    #[arg(long)]
    pub force: bool,
    /// Show the plan, without changing anything
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub confirm: super::ConfirmArgs,
}

#[derive(Debug, Args)]
pub struct DseSetupArgs {
    #[command(flatten)]
    pub spec: DseSpecArgs,
    /// The cluster's security mode, used only when the cluster does not tell it
    #[arg(long, value_name = "MODE", value_parser = ["permissive", "strict"])]
    pub security_mode: Option<String>,
    /// S3: where the key pair comes from (none of these: no S3)
    #[command(flatten)]
    pub s3: super::CredentialArgs,
    /// Fetch the Hadoop configuration first, and fail naming what is missing
    #[arg(long, requires = "hdfs_conf_url")]
    pub check: bool,
    #[command(flatten)]
    pub destination: DestinationArgs,
    /// Show the plan, without changing anything
    #[arg(long)]
    pub dry_run: bool,
}

/// Which engine, and its account.
#[derive(Debug, Args, Serialize)]
pub struct DseIdArgs {
    /// The service's name, its Marathon app id without the leading `/`
    #[arg(long, value_name = "NAME", default_value = dcos_ops::dse::DEFAULT_SERVICE_NAME)]
    pub service_name: String,
    /// The service account, created with its key pair if missing [default: the service name]
    #[arg(long, value_name = "UID")]
    pub service_account: Option<String>,
    /// The secret holding the account's login [default: <service-name>/service-account]
    #[arg(long, value_name = "PATH")]
    pub service_account_secret: Option<String>,
}

impl DseIdArgs {
    /// The service's name, its account and its login secret, as given.
    pub fn names(&self) -> (&str, Option<&str>, Option<&str>) {
        let (account, secret) = (&self.service_account, &self.service_account_secret);
        (&self.service_name, account.as_deref(), secret.as_deref())
    }
}

/// The flags named as the fields of a manifest's `[[dse]]` entry: that entry.
#[derive(Debug, Args, Serialize)]
pub struct DseSpecArgs {
    #[command(flatten)]
    #[serde(flatten)]
    pub id: DseIdArgs,
    /// The Mesos role Spark registers with [default: the account's id]
    #[arg(long, value_name = "ROLE")]
    pub role: Option<String>,
    /// The Linux user the engine's tasks run as
    #[arg(long, value_name = "USER", default_value = "nobody")]
    pub linux_user: String,
    /// Grant the Mesos permissions in permissive mode too
    #[arg(long)]
    pub mesos_permissions: bool,
    #[command(flatten)]
    pub kerberos: Option<KerberosArgs>,
    #[command(flatten)]
    pub tls: Option<TlsArgs>,
    /// The URL whose base serves hdfs-site.xml and core-site.xml
    #[arg(long, value_name = "URL")]
    pub hdfs_conf_url: Option<String>,
    /// A file holding OIDC's client secret, which the package takes in plain text: the options
    /// file is then written readable by its owner alone
    #[arg(long, value_name = "FILE")]
    pub oidc_client_secret_file: Option<PathBuf>,
    /// S3: the secret holding the access key id [default: <service-name>/aws_access_key_id]
    #[arg(long, value_name = "PATH")]
    pub key_id_secret: Option<String>,
    /// S3: the secret holding the secret access key [default: <service-name>/aws_secret_access_key]
    #[arg(long, value_name = "PATH")]
    pub secret_key_secret: Option<String>,
    /// S3: storage.s3.aws_region (the package's default is us-east-1)
    #[arg(long, value_name = "REGION")]
    pub aws_region: Option<String>,
    /// S3: storage.s3.endpoint (the package's default is s3.us-east-1.amazonaws.com)
    #[arg(long, value_name = "HOST")]
    pub s3_endpoint: Option<String>,
    /// An existing secret Spark is given too, as a file in the sandbox and/or an environment
    /// variable (repeat for several)
    #[arg(long = "spark-secret", value_name = "PATH[,file=NAME][,env=KEY]")]
    pub spark_secrets: Vec<String>,
    /// The package version the options are for: 1.0.1, 1.0.2, 2.0.1 or 2.1.0
    #[arg(long, value_name = "VERSION", default_value = "2.1.0")]
    pub package_version: String,
    /// Replace secrets that hold a different value
    #[arg(long)]
    pub overwrite: bool,
}

/// Kerberos for HDFS: with one of these, the first three are needed.
#[derive(Debug, Args, Serialize)]
#[group(requires_all = ["keytab", "realm", "kdc"])]
pub struct KerberosArgs {
    /// Kerberos: the keytab (MIT format), stored as a binary secret
    #[arg(long = "kerberos-keytab", value_name = "FILE", required = false)]
    pub keytab: PathBuf,
    /// Kerberos: the realm the keytab's principal must be in
    #[arg(long = "kerberos-realm", value_name = "REALM", required = false)]
    pub realm: String,
    /// Kerberos: the KDC
    #[arg(long = "kerberos-kdc", value_name = "HOST:PORT", required = false)]
    pub kdc: String,
    /// Kerberos: the principal's first component [default: jupyter]
    #[arg(long = "kerberos-primary", value_name = "NAME")]
    pub primary: Option<String>,
}

/// TLS: the stores, and files holding their passwords (one trailing newline is dropped).
#[derive(Debug, Args, Serialize)]
#[group(requires_all = ["keystore", "keystore_password_file"])]
pub struct TlsArgs {
    /// TLS: the keystore (JKS or PKCS#12), opened with its password before anything is stored
    #[arg(long = "tls-keystore", value_name = "FILE", required = false)]
    pub keystore: PathBuf,
    /// TLS: a file holding the keystore's password
    #[arg(
        long = "tls-keystore-password-file",
        value_name = "FILE",
        required = false
    )]
    pub keystore_password_file: PathBuf,
    /// TLS: a file holding the key's password, when it is not the keystore's
    #[arg(long = "tls-key-password-file", value_name = "FILE")]
    pub key_password_file: Option<PathBuf>,
    /// TLS: the truststore (JKS or PKCS#12)
    #[arg(
        long = "tls-truststore",
        value_name = "FILE",
        requires = "truststore_password_file"
    )]
    pub truststore: Option<PathBuf>,
    /// TLS: a file holding the truststore's password
    #[arg(
        long = "tls-truststore-password-file",
        value_name = "FILE",
        requires = "truststore"
    )]
    pub truststore_password_file: Option<PathBuf>,
    /// TLS: a CA bundle (PEM)
    #[arg(long = "tls-ca-bundle", value_name = "FILE")]
    pub ca_bundle: Option<PathBuf>,
}
