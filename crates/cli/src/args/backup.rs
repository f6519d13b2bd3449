//! The arguments of `backup`, `restore`, `diff` and `export`.

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};

#[derive(Debug, Args)]
pub struct BackupArgs {
    /// The file to write (never overwritten; written 0600)
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Only the secrets at and below this path (users, groups and ACLs are saved whole)
    #[arg(long, value_name = "PATH")]
    pub under: Option<String>,
    /// Encrypt with the passphrase in this file (one trailing newline dropped)
    #[arg(long, value_name = "F", required_unless_present = "recipient")]
    pub passphrase_file: Option<PathBuf>,
    /// Encrypt for an age recipient (age1...) or SSH public key; repeat for several
    #[arg(long, value_name = "R", conflicts_with = "passphrase_file")]
    pub recipient: Vec<String>,
}

/// Where `restore`, `diff` and `export` read from, and how to open it.
#[derive(Debug, Args)]
pub struct SourceArgs {
    /// A backup written by `dcos-creds backup`
    #[arg(value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// Read the plaintext secrets file of D2iQ's dcos-migrate backup instead
    #[arg(long, value_name = "FILE")]
    pub from_dcos_migrate: Option<PathBuf>,
    /// Open the backup with the passphrase in this file (one trailing newline dropped)
    #[arg(long, value_name = "F")]
    pub passphrase_file: Option<PathBuf>,
    /// Open the backup with this age identity file or unencrypted SSH private key
    #[arg(long, value_name = "F")]
    pub identity: Option<PathBuf>,
}

/// Which part of a backup and of the cluster to look at.
#[derive(Debug, Args)]
pub struct ScopeArgs {
    /// Only the secrets, or only users, groups, ACLs and grants
    #[arg(long, value_enum, value_name = "PART")]
    pub only: Option<Part>,
    /// Only the secrets at and below this path
    #[arg(long, value_name = "PATH")]
    pub under: Option<String>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Part {
    Secrets,
    Iam,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum OnConflict {
    /// Leave the cluster's value
    Keep,
    /// Write the backup's value
    Replace,
    /// Refuse the restore, naming the secrets (exit 3)
    Fail,
}

#[derive(Debug, Args)]
pub struct RestoreArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    #[command(flatten)]
    pub scope: ScopeArgs,
    /// What to do with a secret that holds another value than the backup's
    #[arg(long, value_enum, value_name = "WHAT", default_value = "fail")]
    pub on_conflict: OnConflict,
    /// Give the users the restore creates the password in this file
    /// (else each gets a random one nobody knows)
    #[arg(long, value_name = "F")]
    pub user_password_file: Option<PathBuf>,
    /// Show the plan, without changing anything
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub confirm: super::ConfirmArgs,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    #[command(flatten)]
    pub scope: ScopeArgs,
}

#[derive(Debug, Subcommand)]
pub enum ExportCommand {
    /// Write each secret as a Kubernetes v1 Secret, named as dcos-migrate names it
    #[command(
        after_help = include_str!("../../help/export-kubernetes.examples.txt").trim_end()
    )]
    Kubernetes(ExportKubernetesArgs),
}

#[derive(Debug, Args)]
pub struct ExportKubernetesArgs {
    /// The namespace of the Secrets
    #[arg(long, value_name = "NS")]
    pub namespace: String,
    /// The folder to write one NAME.yaml per secret into (files 0600, never overwritten)
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Read a backup (or --from-dcos-migrate) instead of the cluster
    #[command(flatten)]
    pub source: SourceArgs,
    /// Only the secrets at and below this path
    #[arg(long, value_name = "PATH")]
    pub under: Option<String>,
}
