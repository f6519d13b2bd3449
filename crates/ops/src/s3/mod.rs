//! An AWS key pair for the Data Science Engine: onboard it (two secrets, read grants for the
//! service account, the service options), rotate it, offboard it.
//!
//! Every run reads what is there first, plans against it, and writes only the difference. A
//! failed onboarding or rotation takes back what it changed (see [`crate::Undo`]).

mod aws_rotate;
mod offboard;
mod onboard;
mod rotate;
mod status;

use dcos_iam_client::{Rid, Uid};
use dcos_secrets_client::SecretPath;

pub use aws_rotate::{AwsRotation, OldKey, Retirement, retire_aws_keys, rotate_aws};
pub use offboard::{Offboarding, offboard};
pub(crate) use onboard::{Observed, Planned, check_account, execute, plan};
pub use onboard::{Onboarding, PreparedOnboarding, onboard, options};
pub use rotate::{Restart, Rotation, rotate};
pub use status::{Check, S3Status, StatusCheck, status};

use crate::dse::ServiceName;
use crate::error::{Error, Failed, Result, RunResult};
use crate::report::{S3Command, S3Report, Status};

/// The service and the two secrets an onboarding works on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paths {
    pub service: ServiceName,
    pub key_id: SecretPath,
    pub secret_key: SecretPath,
}

impl Paths {
    /// The paths, with the defaults below the service's own folder
    /// (`<service>/aws_access_key_id`, `<service>/aws_secret_access_key`).
    pub fn new(
        service: ServiceName,
        key_id: Option<SecretPath>,
        secret_key: Option<SecretPath>,
    ) -> Result<Self> {
        let key_id = match key_id {
            Some(path) => path,
            None => service.secret_path("aws_access_key_id")?,
        };
        let secret_key = match secret_key {
            Some(path) => path,
            None => service.secret_path("aws_secret_access_key")?,
        };
        if key_id == secret_key {
            return Err(Error::invalid(format!(
                "the key id and the secret key cannot share the secret `{key_id}`"
            )));
        }
        Ok(Self {
            service,
            key_id,
            secret_key,
        })
    }

    /// The defaults for `service`.
    pub fn of(service: ServiceName) -> Result<Self> {
        Self::new(service, None, None)
    }

    /// Where a rotation with a new AWS key keeps both pairs while it runs
    /// (`<key id's path>.rotation`), so that an interrupted one can be finished.
    pub fn pending(&self) -> Result<SecretPath> {
        Ok(SecretPath::new(&format!("{}.rotation", self.key_id))?)
    }

    /// The key id's secret and the secret key's, in that order.
    pub fn both(&self) -> [&SecretPath; 2] {
        [&self.key_id, &self.secret_key]
    }

    /// The resource ids that let an account see the two names, and with `values` read them.
    pub fn rids(&self, values: bool) -> Result<Vec<Rid>> {
        let mut rids = Vec::new();
        for path in self.both() {
            rids.push(Rid::secret_list(path.as_str())?);
        }
        if values {
            for path in self.both() {
                rids.push(Rid::secret(path.as_str())?);
            }
        }
        Ok(rids)
    }

    fn report(&self, command: S3Command, account: Option<&Uid>, dry_run: bool) -> S3Report {
        S3Report {
            command,
            service_name: self.service.as_str().to_owned(),
            service_account: account.map(ToString::to_string),
            dry_run,
            result: Status::Unchanged,
            steps: Vec::new(),
            options: None,
            options_file: None,
            old_key_id: None,
            new_key_id: None,
            aws_iam_user: None,
        }
    }
}

/// Settles a report with how its run ended. (A failed run's result carries its whole report:
/// that is what it is for.)
#[allow(clippy::result_large_err)]
fn finish(mut report: S3Report, result: Result<()>) -> RunResult<S3Report> {
    report.settle(result.is_err());
    match result {
        Ok(()) => Ok(report),
        Err(error) => Err(Failed { report, error }),
    }
}
