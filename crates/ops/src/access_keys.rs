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

use dcos_transport::{Call, Cut, Limits};

use crate::aws::KeyPair;
use crate::error::{Error, ErrorKind, Remedy, Result, push_causes};
use crate::reporter::Reporter;

/// IAM is global; the SDK still signs for a region. This one when none is configured.
const DEFAULT_REGION: &str = "us-east-1";
/// The longest time a profile's credentials (a `credential_process`, an SSO login) may take.
const PROFILE_TIMEOUT: Duration = Duration::from_secs(60);
/// The longest time opening a connection to AWS may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

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
/// Every call ends by the [`Limits`] given ([`Aws::with_limits`]): a run's deadline and a stop
/// its caller asks for.
#[derive(Debug, Clone)]
pub struct Aws {
    config: SdkConfig,
    iam: aws_sdk_iam::Client,
    limits: Limits,
}

/// The SDK's HTTPS client: rustls with `ring`.
fn http_client() -> aws_sdk_sts::config::SharedHttpClient {
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .build_https()
}

/// An IAM user name as AWS allows it: 1 to 64 letters, digits and `+=,.@_-`.
pub fn iam_user_name(name: &str) -> Result<String> {
    let ok = (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c));
    match ok {
        true => Ok(name.to_owned()),
        false => Err(Error::invalid(format!(
            "`{}` is not an IAM user name (1 to 64 letters, digits and +=,.@_-)",
            dcos_transport::terminal_safe(name)
        ))),
    }
}

/// Which credentials the standard chain will call AWS with, in words: the environment's key
/// id (shortened), a profile, a web identity, or the chain's defaults.
pub fn credential_source() -> String {
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let chain = (
        env("AWS_ACCESS_KEY_ID"),
        env("AWS_PROFILE"),
        env("AWS_WEB_IDENTITY_TOKEN_FILE"),
    );
    match chain {
        (Some(id), _, _) => format!(
            "from the environment, AWS_ACCESS_KEY_ID ({})",
            crate::aws::shown(&id)
        ),
        (None, Some(profile), _) => format!("AWS profile `{profile}` (AWS_PROFILE)"),
        (None, None, Some(_)) => {
            "web identity (AWS_WEB_IDENTITY_TOKEN_FILE with AWS_ROLE_ARN)".to_owned()
        }
        (None, None, None) => {
            "the default profile, else container or instance metadata (the SDK's chain)".to_owned()
        }
    }
}

impl Aws {
    /// From the standard credential chain and the environment's endpoints and region (the
    /// SDK's region chain; IAM and STS are global, so without one `us-east-1`). Each attempt
    /// of a call may take `timeout`, and each call with its retries as long again; `limits`
    /// end them all sooner.
    pub async fn from_environment(timeout: Duration, limits: Limits) -> Self {
        let timeouts = aws_config::timeout::TimeoutConfig::builder()
            .connect_timeout(timeout.min(CONNECT_TIMEOUT))
            .operation_attempt_timeout(timeout)
            .operation_timeout(timeout)
            .build();
        let config = aws_config::defaults(BehaviorVersion::latest())
            .http_client(http_client())
            .timeout_config(timeouts)
            .load()
            .await;
        let config = match config.region() {
            Some(_) => config,
            None => {
                tracing::info!(
                    "AWS region: none configured (AWS_REGION, the profile); IAM and STS are \
                     global, so {DEFAULT_REGION}"
                );
                config
                    .to_builder()
                    .region(Region::new(DEFAULT_REGION))
                    .build()
            }
        };
        Self::from_config(config).with_limits(limits)
    }

    /// From a loaded SDK configuration (a library user's own), without limits.
    pub fn from_config(config: SdkConfig) -> Self {
        let iam = aws_sdk_iam::Client::new(&config);
        Self {
            config,
            iam,
            limits: Limits::none(),
        }
    }

    /// The same, its calls ended by `limits`.
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// The SDK's call `send`, ended by the limits; `what` says what it does, for its error.
    async fn call<T, E, R>(
        &self,
        kind: Call,
        what: &str,
        send: impl Future<Output = std::result::Result<T, SdkError<E, R>>>,
    ) -> Result<T>
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug + 'static,
    {
        // A call that may no longer start is not sent, so nothing can have changed.
        let unsent = self.limits.may_start(kind).is_err();
        let in_flight = match (kind, unsent) {
            (Call::Write, false) => " while it was in flight: AWS may have done it",
            _ => "",
        };
        match self.limits.bound(kind, send).await {
            Ok(answer) => answer.map_err(|e| sdk_error(what, e)),
            Err(Cut::Stopped) => Err(Error::interrupted().context(format!("{what}{in_flight}"))),
            Err(Cut::Deadline(limit)) => Err(Error::of_kind(
                ErrorKind::Unavailable,
                format!(
                    "{what}: the command's time limit of {} s passed{in_flight}",
                    limit.as_secs()
                ),
            )),
        }
    }

    /// The ARN of IAM user `user`.
    pub async fn user_arn(&self, user: &str) -> Result<String> {
        let what = format!("read the IAM user `{user}`");
        let send = self.iam.get_user().user_name(user).send();
        let answer = self.call(Call::Read, &what, send).await?;
        answer
            .user()
            .map(|u| u.arn().to_owned())
            .ok_or_else(|| Error::failed(format!("IAM answered no user for `{user}`")))
    }

    /// The user's access keys, oldest first.
    pub async fn keys(&self, user: &str) -> Result<Vec<AccessKey>> {
        let what = format!("list the access keys of IAM user `{user}`");
        let send = self.iam.list_access_keys().user_name(user).send();
        let answer = self.call(Call::Read, &what, send).await?;
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
        let what = format!("create an access key for IAM user `{user}`");
        let send = self.iam.create_access_key().user_name(user).send();
        let answer = self.call(Call::Write, &what, send).await?;
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
        let what = format!("delete access key {id} of IAM user `{user}`");
        let send = self
            .iam
            .delete_access_key()
            .user_name(user)
            .access_key_id(id)
            .send();
        self.call(Call::Write, &what, send).await?;
        Ok(())
    }

    /// Sets `user`'s key `id` Inactive: AWS refuses it from then on, and it can be set Active
    /// again.
    pub async fn deactivate_key(&self, user: &str, id: &str) -> Result<()> {
        let what = format!("deactivate access key {id} of IAM user `{user}`");
        let send = self
            .iam
            .update_access_key()
            .user_name(user)
            .access_key_id(id)
            .status(StatusType::Inactive)
            .send();
        self.call(Call::Write, &what, send).await?;
        Ok(())
    }

    /// The ARN that STS `GetCallerIdentity` gives for `pair`.
    pub async fn caller_arn(&self, pair: &KeyPair) -> Result<String> {
        let (id, secret) = pair.expose();
        let credentials = Credentials::new(id, secret, None, None, "dcos-creds-new-key");
        let config = aws_sdk_sts::config::Builder::from(&self.config)
            .credentials_provider(credentials)
            .build();
        let send = aws_sdk_sts::Client::from_conf(config)
            .get_caller_identity()
            .send();
        let what = "call STS GetCallerIdentity with the new key";
        let answer = self.call(Call::Read, what, send).await?;
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
    // A `credential_process` or an SSO portal that never answers must not hold the run.
    let credentials = tokio::time::timeout(PROFILE_TIMEOUT, provider.provide_credentials())
        .await
        .map_err(|_| {
            Error::of_kind(
                ErrorKind::Unavailable,
                format!(
                    "AWS profile `{name}` gave no credentials within {} s",
                    PROFILE_TIMEOUT.as_secs()
                ),
            )
        })?
        .map_err(|e| {
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
