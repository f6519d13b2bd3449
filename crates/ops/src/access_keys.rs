//! An IAM user's access keys, through the official AWS SDK: list, create, verify, deactivate,
//! delete.
//!
//! AWS credentials come from the SDK's standard chain: environment variables, `AWS_PROFILE`
//! with the shared config and credentials files (SSO and `credential_process` included),
//! `AWS_WEB_IDENTITY_TOKEN_FILE` with `AWS_ROLE_ARN` (how CI systems with OIDC sign in), and
//! the container and instance metadata. `AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_IAM` and
//! `AWS_ENDPOINT_URL_STS` are honoured. The SDK talks HTTPS through rustls with `ring`, the
//! workspace's one TLS crypto provider.
//!
//! No error here holds a secret access key: the SDK's errors carry codes and messages, and a
//! created key's secret stays inside a [`KeyPair`].

use std::time::Duration;

use aws_config::provider_config::ProviderConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_iam::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_iam::types::StatusType;
use aws_sdk_sts::config::{Credentials, ProvideCredentials};
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};

use crate::aws::KeyPair;
use crate::error::{Error, ErrorKind, Remedy, Result, push_causes};
use crate::reporter::Reporter;

/// IAM is global; the SDK still signs for a region. This one when none is configured.
const DEFAULT_REGION: &str = "us-east-1";

/// One access key of a user, as `ListAccessKeys` gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessKey {
    /// The access key id (an identifier, not a secret).
    pub id: String,
    /// Whether AWS accepts it (`Active`); `false` for `Inactive`.
    pub active: bool,
    /// When it was created, as RFC 3339.
    pub created: Option<String>,
}

/// The AWS account's IAM and STS, as the credentials of the standard chain may use them.
#[derive(Debug, Clone)]
pub struct Aws {
    config: SdkConfig,
    iam: aws_sdk_iam::Client,
}

/// The SDK's HTTPS client: rustls with `ring`.
fn http_client() -> aws_sdk_sts::config::SharedHttpClient {
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .build_https()
}

impl Aws {
    /// From the standard credential chain and the environment's endpoints and region.
    pub async fn from_environment() -> Self {
        let config = aws_config::defaults(BehaviorVersion::latest())
            .http_client(http_client())
            .load()
            .await;
        let config = match config.region() {
            Some(_) => config,
            None => config
                .to_builder()
                .region(Region::new(DEFAULT_REGION))
                .build(),
        };
        Self::from_config(config)
    }

    /// From a loaded SDK configuration (a library user's own).
    pub fn from_config(config: SdkConfig) -> Self {
        let iam = aws_sdk_iam::Client::new(&config);
        Self { config, iam }
    }

    /// The ARN of IAM user `user`.
    pub async fn user_arn(&self, user: &str) -> Result<String> {
        let answer = self
            .iam
            .get_user()
            .user_name(user)
            .send()
            .await
            .map_err(|e| sdk_error(&format!("read the IAM user `{user}`"), e))?;
        answer
            .user()
            .map(|u| u.arn().to_owned())
            .ok_or_else(|| Error::failed(format!("IAM answered no user for `{user}`")))
    }

    /// The user's access keys, oldest first.
    pub async fn keys(&self, user: &str) -> Result<Vec<AccessKey>> {
        let answer = self
            .iam
            .list_access_keys()
            .user_name(user)
            .send()
            .await
            .map_err(|e| sdk_error(&format!("list the access keys of IAM user `{user}`"), e))?;
        let mut keys: Vec<AccessKey> = answer
            .access_key_metadata()
            .iter()
            .filter_map(|key| {
                Some(AccessKey {
                    id: key.access_key_id()?.to_owned(),
                    active: key.status() != Some(&StatusType::Inactive),
                    created: key.create_date().map(ToString::to_string),
                })
            })
            .collect();
        keys.sort_by(|a, b| a.created.cmp(&b.created).then(a.id.cmp(&b.id)));
        Ok(keys)
    }

    /// A new access key for `user`.
    pub async fn create_key(&self, user: &str) -> Result<KeyPair> {
        let answer = self
            .iam
            .create_access_key()
            .user_name(user)
            .send()
            .await
            .map_err(|e| sdk_error(&format!("create an access key for IAM user `{user}`"), e))?;
        let key = answer
            .access_key()
            .ok_or_else(|| Error::failed("IAM answered CreateAccessKey without a key"))?;
        KeyPair::new(
            key.access_key_id().to_owned(),
            key.secret_access_key().to_owned(),
            "IAM's CreateAccessKey",
        )
    }

    /// Deletes `user`'s key `id`.
    pub async fn delete_key(&self, user: &str, id: &str) -> Result<()> {
        self.iam
            .delete_access_key()
            .user_name(user)
            .access_key_id(id)
            .send()
            .await
            .map_err(|e| sdk_error(&format!("delete access key {id} of IAM user `{user}`"), e))?;
        Ok(())
    }

    /// Sets `user`'s key `id` Inactive: AWS refuses it from then on, and it can be set Active
    /// again.
    pub async fn deactivate_key(&self, user: &str, id: &str) -> Result<()> {
        self.iam
            .update_access_key()
            .user_name(user)
            .access_key_id(id)
            .status(StatusType::Inactive)
            .send()
            .await
            .map_err(|e| {
                sdk_error(
                    &format!("deactivate access key {id} of IAM user `{user}`"),
                    e,
                )
            })?;
        Ok(())
    }

    /// The ARN that STS `GetCallerIdentity` gives for `pair`.
    pub async fn caller_arn(&self, pair: &KeyPair) -> Result<String> {
        let (id, secret) = pair.expose();
        let credentials = Credentials::new(id, secret, None, None, "dcos-creds-new-key");
        let config = aws_sdk_sts::config::Builder::from(&self.config)
            .credentials_provider(credentials)
            .build();
        let answer = aws_sdk_sts::Client::from_conf(config)
            .get_caller_identity()
            .send()
            .await
            .map_err(|e| sdk_error("call STS GetCallerIdentity with the new key", e))?;
        answer
            .arn()
            .map(str::to_owned)
            .ok_or_else(|| Error::failed("STS answered GetCallerIdentity without an ARN"))
    }

    /// Waits until `pair` signs in as `arn`: a new key takes seconds to propagate, so a refusal
    /// is tried again, with backoff, until `timeout`. Another ARN fails at once. A stop the
    /// reporter asks for ends the wait.
    pub async fn verify(
        &self,
        pair: &KeyPair,
        arn: &str,
        timeout: Duration,
        reporter: &dyn Reporter,
    ) -> Result<()> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut pause = Duration::from_millis(250);
        loop {
            let last = match self.caller_arn(pair).await {
                Ok(found) if found == arn => return Ok(()),
                Ok(found) => {
                    return Err(Error::failed(format!(
                        "the new key signs in as {found}, not as {arn}"
                    )));
                }
                Err(e) if matches!(e.kind(), ErrorKind::Denied | ErrorKind::Unavailable) => e,
                Err(e) => return Err(e),
            };
            if reporter.stop_requested() {
                return Err(Error::interrupted());
            }
            let now = tokio::time::Instant::now();
            if now >= deadline {
                return Err(last
                    .context(format!(
                        "the new key was not accepted within {} s",
                        timeout.as_secs()
                    ))
                    .with_remedy(Remedy::KeyPropagation));
            }
            // Asleep in short steps, so that a stop is heard at once.
            let wake = (now + pause).min(deadline);
            while tokio::time::Instant::now() < wake {
                if reporter.stop_requested() {
                    return Err(Error::interrupted());
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            pause = (pause * 2).min(Duration::from_secs(5));
        }
    }
}

/// The pair of an AWS profile (of the files' contents given), through the SDK's own profile
/// provider: static keys, `credential_process`, SSO and role profiles alike. Also says whether the credentials are
/// temporary (they carry a session token), which a service cannot use for long.
pub(crate) async fn profile_pair(
    name: &str,
    files: aws_runtime::env_config::file::EnvConfigFiles,
) -> Result<(KeyPair, bool)> {
    let provider = aws_config::profile::ProfileFileCredentialsProvider::builder()
        .configure(&ProviderConfig::without_region().with_http_client(http_client()))
        .profile_files(files)
        .profile_name(name)
        .build();
    let credentials = provider.provide_credentials().await.map_err(|e| {
        Error::invalid(format!(
            "AWS profile `{name}` gives no credentials: {}",
            causes(&e)
        ))
    })?;
    let pair = KeyPair::new(
        credentials.access_key_id().to_owned(),
        credentials.secret_access_key().to_owned(),
        &format!("profile `{name}`"),
    )?;
    Ok((pair, credentials.session_token().is_some()))
}

/// The messages of an error and its causes, each said once (the SDK's own display adds a debug
/// dump, which is not for people).
fn causes(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = String::new();
    push_causes(&mut text, Some(error));
    text
}

/// An SDK error as a workflow error of the kind that fits it, saying what was being done.
fn sdk_error<E, R>(what: &str, error: SdkError<E, R>) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    let said = match (error.code(), error.message()) {
        (Some(code), Some(message)) => format!("{code}: {message}"),
        _ => causes(&error),
    };
    let kind = match &error {
        SdkError::ServiceError(_) => match error.code().unwrap_or_default() {
            "NoSuchEntity" => ErrorKind::NotFound,
            "LimitExceeded" | "EntityAlreadyExists" => ErrorKind::Conflict,
            "AccessDenied"
            | "AccessDeniedException"
            | "InvalidClientTokenId"
            | "SignatureDoesNotMatch"
            | "ExpiredToken"
            | "UnrecognizedClientException" => ErrorKind::Denied,
            "ServiceUnavailable" | "Throttling" | "ServiceFailure" => ErrorKind::Unavailable,
            _ => ErrorKind::Failed,
        },
        // No credentials in the chain comes as a dispatch failure too.
        _ if said.contains("credential") => ErrorKind::Denied,
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            ErrorKind::Unavailable
        }
        _ => ErrorKind::Failed,
    };
    let error = Error::of_kind(kind, format!("{what}: {said}"));
    match kind {
        ErrorKind::Denied => error.with_remedy(Remedy::AwsCredentials),
        _ => error,
    }
}
