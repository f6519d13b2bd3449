//! The workflows of `dcos-creds`, as a library: S3 onboarding, rotation and offboarding for
//! the Data Science Engine, `apply` of a manifest, service accounts, grants and "who can read
//! this secret?".
//!
//! Every workflow reads first, plans against what it found, writes only the difference, and
//! returns a typed report of every step. Onboarding, rotation and each item of an `apply` are
//! all or nothing: every write is journaled before it is sent, and a failure takes back what
//! may have landed (see [`Undo`]). Progress and warnings go to a [`Reporter`]; [`Silent`]
//! drops them.
//!
//! # Quick start
//!
//! ```no_run
//! use dcos_iam_client::Uid;
//! use dcos_ops::dse::{Destination, OptionsLayout, ServiceName};
//! use dcos_ops::{Clients, Silent, aws, s3};
//! use dcos_secrets_client::SecretPath;
//! use dcos_transport::Transport;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let transport = Transport::builder("https://dcos.example.com")
//!     .token(std::env::var("DCOS_ACS_TOKEN")?.into())
//!     .build()?;
//! let clients = Clients::new(transport);
//!
//! let paths = s3::Paths::of(ServiceName::new("data-science-engine")?)?;
//! let job = s3::Onboarding::prepare(
//!     Uid::new("dse")?,
//!     SecretPath::new("data-science-engine/service-account")?,
//!     paths,
//!     &OptionsLayout::default(),
//!     &Destination::Report,
//!     &Silent,
//! )?
//! .with_keys(aws::from_env("the environment", &Silent)?);
//! let report = s3::onboard(&clients, &job, &Silent).await?;
//! println!("{}", serde_json::to_string_pretty(&report)?);
//! # Ok(()) }
//! ```

pub mod access;
pub mod access_keys;
pub mod accounts;
pub mod apply;
pub mod audit;
pub mod aws;
pub mod backup;
pub mod cluster;
pub mod consumers;
pub mod doctor;
pub mod dse;
mod error;
pub mod files;
pub mod grants;
pub mod hdfs;
mod journal;
pub mod manifest;
mod marathon;
mod plan;
mod report;
mod reporter;
pub mod rotate_key;
pub mod s3;
pub mod secrets;
pub mod text;

use dcos_iam_client::{Action, GrantState, IamClient, Principal, Rid};
use dcos_secrets_client::{SecretPath, SecretValue, SecretsClient};
use dcos_transport::Transport;

pub use error::{Error, ErrorKind, Failed, Remedy, Result, RunResult, Undo};
pub use plan::{Confirmable, Confirmed, acl_description};
pub use report::{
    ApplyReport, ItemKind, ItemReport, Outcome, PrincipalType, S3Command, S3Report, Status, Step,
    StepKind, Stepped, principal_name,
};
pub use reporter::{Reporter, Silent, Warning};

/// The two API clients of one cluster, sharing one transport. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Clients {
    /// The IAM API.
    pub iam: IamClient,
    /// The Secrets API.
    pub secrets: SecretsClient,
}

impl Clients {
    /// Both clients on `transport` and its token.
    pub fn new(transport: Transport) -> Self {
        Self {
            iam: IamClient::new(transport.clone()),
            secrets: SecretsClient::new(transport),
        }
    }

    /// The value of the secret at `path`, or `None` when there is none.
    pub async fn secret_value(
        &self,
        path: &SecretPath,
    ) -> Result<Option<SecretValue>, dcos_transport::Error> {
        self.secrets.secret(path).get_opt().await
    }

    /// Whether `principal` holds `action` on `rid` directly, and whether the ACL exists.
    pub async fn grant_state(
        &self,
        rid: &Rid,
        principal: &Principal,
        action: Action,
    ) -> Result<GrantState, dcos_transport::Error> {
        self.iam.acl(rid).grant_state(principal, action).await
    }
}
