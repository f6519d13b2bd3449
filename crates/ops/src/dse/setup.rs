//! One engine set up as one plan: its service account and login secret, its Mesos permissions
//! (strict mode), its secrets (S3, Kerberos, TLS) with the account's read grants on them, and its
//! options file. All or nothing, and safe to re-run.
//!
//! Everything that can be checked without the cluster is checked in [`SetupInput::prepare`]
//! (the keytab's principals, the TLS stores opened with their passwords, the spaces rule, the
//! options file), so that bad input fails before any request. The run then reads in one round
//! (the account, the login secret, every secret, every grant) while the account's key pair is
//! generated, and writes in at most three: the account with its secrets, the grants, the options
//! file. A failure at any write takes back everything the run changed.

use std::path::{Path, PathBuf};

use dcos_iam_client::{Action, GrantState, KeyPair, KeySize, Principal, Rid, Uid, User};
use dcos_secrets_client::{SecretPath, SecretValue};
use futures::future::try_join_all;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::engine::{Account, EngineOptions, Kerberos, Tls};
use super::security::{MesosIdentity, SecurityMode, mesos_permissions, security_mode};
use super::{Destination, Layout, PreparedOptions, ServiceName, keytab::Keytab, stores};
use crate::Clients;
use crate::accounts::{login_secret, login_secret_value, same_public_key};
use crate::error::{Context, Error, ErrorKind, Remedy, Result, RunResult};
use crate::plan::{self, Task, Write};
use crate::report::{Outcome, Status, Step, StepKind};
use crate::reporter::Reporter;

/// A file's bytes, and its name for messages.
#[derive(Clone)]
pub struct FileInput {
    pub file: PathBuf,
    pub bytes: Vec<u8>,
}

impl std::fmt::Debug for FileInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "FileInput({}, {} bytes)",
            self.file.display(),
            self.bytes.len()
        )
    }
}

/// S3: the key pair and where it goes.
#[derive(Debug, Clone)]
pub struct S3Input {
    pub keys: crate::aws::KeyPair,
    /// Default `NAME/aws_access_key_id` and `NAME/aws_secret_access_key`.
    pub key_id_secret: Option<SecretPath>,
    pub secret_key_secret: Option<SecretPath>,
    pub aws_region: Option<super::AwsRegion>,
    pub s3_endpoint: Option<super::S3Endpoint>,
}

impl S3Input {
    /// The pair, in the service's own secrets and the package's default region and endpoint.
    pub fn of(keys: crate::aws::KeyPair) -> Self {
        Self {
            keys,
            key_id_secret: None,
            secret_key_secret: None,
            aws_region: None,
            s3_endpoint: None,
        }
    }
}

/// Kerberos for HDFS: the keytab and who it must hold a key for.
#[derive(Debug, Clone)]
pub struct KerberosInput {
    pub keytab: FileInput,
    pub realm: String,
    pub kdc_host: String,
    pub kdc_port: u16,
    /// Default `jupyter`.
    pub primary: Option<String>,
}

/// TLS: the stores and their passwords.
#[derive(Debug, Clone)]
pub struct TlsInput {
    pub keystore: FileInput,
    pub keystore_password: SecretString,
    pub key_password: Option<SecretString>,
    pub truststore: Option<(FileInput, SecretString)>,
    pub ca_bundle: Option<FileInput>,
}

/// What `dse setup` is asked to do, as given.
#[derive(Debug, Clone)]
pub struct SetupInput {
    pub service: ServiceName,
    /// Default: the service name, when it has no `/`.
    pub account: Option<Uid>,
    /// Default `NAME/service-account`.
    pub login_secret: Option<SecretPath>,
    /// The login endpoint the login secret names (DC/OS's own by default).
    pub login_endpoint: String,
    /// The Mesos role (default: the account's id) and the tasks' Linux user (default `nobody`).
    pub role: Option<String>,
    pub linux_user: Option<String>,
    /// Grant the Mesos permissions in permissive mode too.
    pub mesos_permissions: bool,
    pub s3: Option<S3Input>,
    pub kerberos: Option<KerberosInput>,
    pub tls: Option<TlsInput>,
    pub hdfs_conf_url: Option<String>,
    pub oidc_client_secret: Option<SecretString>,
    /// Existing secrets Spark is given too: read by the account, named in the options.
    pub spark_secrets: Vec<SparkSecret>,
    /// Replace secrets that hold another value (otherwise a conflict, before any write).
    pub overwrite: bool,
    pub package_version: PackageVersion,
}

/// One engine's set-up as declared, files by path: a manifest's `[[dse]]` entry, or the flags
/// of `dse setup`. [`SetupSpec::read`] reads the files into a [`SetupInput`].
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetupSpec {
    /// Default `data-science-engine`.
    #[serde(default)]
    pub service_name: Option<String>,
    #[serde(default)]
    pub service_account: Option<String>,
    #[serde(default)]
    pub service_account_secret: Option<String>,
    #[serde(default)]
    pub role: Option<String>,
    #[serde(default)]
    pub linux_user: Option<String>,
    /// Grant the Mesos permissions in permissive mode too.
    #[serde(default)]
    pub mesos_permissions: bool,
    #[serde(default)]
    pub kerberos: Option<KerberosSpec>,
    #[serde(default)]
    pub tls: Option<TlsSpec>,
    #[serde(default)]
    pub hdfs_conf_url: Option<String>,
    #[serde(default)]
    pub oidc_client_secret_file: Option<PathBuf>,
    /// Existing secrets Spark is given too.
    #[serde(default)]
    pub spark_secrets: Vec<SparkSecretSpec>,
    /// S3: where the pair goes [default: `NAME/aws_access_key_id`, `NAME/aws_secret_access_key`],
    /// and `storage.s3.aws_region` and `.endpoint`.
    #[serde(default)]
    pub key_id_secret: Option<String>,
    #[serde(default)]
    pub secret_key_secret: Option<String>,
    #[serde(default)]
    pub aws_region: Option<String>,
    #[serde(default)]
    pub s3_endpoint: Option<String>,
    /// Default `2.1.0`.
    #[serde(default)]
    pub package_version: Option<String>,
    #[serde(default)]
    pub overwrite: bool,
    /// A manifest's own (the command line has flags for them): where the S3 key pair, if any,
    /// comes from; where the options go; the mode to assume when the cluster does not tell it.
    #[serde(default)]
    pub credentials: Option<crate::manifest::KeySource>,
    #[serde(default)]
    pub out: Option<PathBuf>,
    #[serde(default)]
    pub merge_into: Option<PathBuf>,
    #[serde(default)]
    pub security_mode: Option<String>,
}

/// Kerberos, as declared.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KerberosSpec {
    pub keytab: PathBuf,
    pub realm: String,
    /// `HOST:PORT`.
    pub kdc: String,
    /// Default `jupyter`.
    #[serde(default)]
    pub primary: Option<String>,
}

/// TLS, as declared: the stores and the files holding their passwords.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsSpec {
    pub keystore: PathBuf,
    pub keystore_password_file: PathBuf,
    #[serde(default)]
    pub key_password_file: Option<PathBuf>,
    #[serde(default)]
    pub truststore: Option<PathBuf>,
    #[serde(default)]
    pub truststore_password_file: Option<PathBuf>,
    #[serde(default)]
    pub ca_bundle: Option<PathBuf>,
}

impl SetupSpec {
    /// [`SetupSpec::read`] and [`SetupInput::prepare`] for `destination`, asking `keys` for the
    /// S3 key pair (which may be a prompt) only after everything local passed its checks.
    pub fn prepare_with<E: From<Error>>(
        &self,
        base: &Path,
        (destination, reporter): (&Destination, &dyn Reporter),
        keys: impl FnOnce() -> std::result::Result<Option<crate::aws::KeyPair>, E>,
    ) -> std::result::Result<PreparedSetup, E> {
        let input = self.read(base, None)?;
        input
            .clone()
            .prepare(&Destination::Report, &crate::Silent)?;
        destination.existing()?;
        let named = |text: &Option<String>, what: &str| -> Result<Option<SecretPath>> {
            let path = text.as_deref().map(SecretPath::new).transpose();
            path.map_err(|e| Error::from(e).context(what))
        };
        let (key_id_secret, secret_key_secret) = (
            named(&self.key_id_secret, "the key id's secret")?,
            named(&self.secret_key_secret, "the secret key's secret")?,
        );
        let aws_region = self
            .aws_region
            .as_deref()
            .map(super::AwsRegion::new)
            .transpose()?;
        let s3_endpoint = self
            .s3_endpoint
            .as_deref()
            .map(super::S3Endpoint::new)
            .transpose()?;
        let s3 = keys()?.map(|keys| S3Input {
            key_id_secret,
            secret_key_secret,
            aws_region,
            s3_endpoint,
            ..S3Input::of(keys)
        });
        Ok(SetupInput { s3, ..input }.prepare(destination, reporter)?)
    }

    /// Reads every file it names (relative paths below `base`) and checks every id and path:
    /// the input of [`SetupInput::prepare`]. `s3` is the key pair, which the caller reads from
    /// its source. Errors name the field; none quotes a file's content.
    pub fn read(&self, base: &Path, s3: Option<S3Input>) -> Result<SetupInput> {
        let at = |path: &Path| base.join(path);
        let file = |path: &Path| -> Result<FileInput> {
            let file = at(path);
            let bytes = crate::files::read_value_file(&file)?;
            Ok(FileInput { file, bytes })
        };
        let password = |path: &Path| crate::files::read_password(&at(path));
        let service = self
            .service_name
            .as_deref()
            .unwrap_or(super::DEFAULT_SERVICE_NAME);
        let kerberos = match &self.kerberos {
            Some(k) => {
                let (kdc_host, kdc_port) =
                    parse_kdc(&k.kdc).map_err(|e| e.context("kerberos kdc"))?;
                Some(KerberosInput {
                    keytab: file(&k.keytab)?,
                    realm: k.realm.clone(),
                    kdc_host,
                    kdc_port,
                    primary: k.primary.clone(),
                })
            }
            None => None,
        };
        let tls = match &self.tls {
            Some(t) => Some(TlsInput {
                keystore: file(&t.keystore)?,
                keystore_password: password(&t.keystore_password_file)?,
                key_password: t.key_password_file.as_deref().map(password).transpose()?,
                truststore: match (&t.truststore, &t.truststore_password_file) {
                    (Some(store), Some(pass)) => Some((file(store)?, password(pass)?)),
                    (None, None) => None,
                    _ => {
                        return Err(Error::invalid(
                            "a TLS truststore and its password file go together",
                        ));
                    }
                },
                ca_bundle: t.ca_bundle.as_deref().map(file).transpose()?,
            }),
            None => None,
        };
        let named = |text: &Option<String>, what: &str| -> Result<Option<SecretPath>> {
            (text.as_deref().map(SecretPath::new).transpose())
                .map_err(|e| Error::from(e).context(what))
        };
        Ok(SetupInput {
            service: ServiceName::new(service)?,
            account: (self.service_account.as_deref().map(Uid::new).transpose())
                .map_err(|e| Error::from(e).context("service account"))?,
            login_secret: named(&self.service_account_secret, "service account secret")?,
            login_endpoint: dcos_iam_client::DEFAULT_LOGIN_ENDPOINT.to_owned(),
            role: self.role.clone(),
            linux_user: self.linux_user.clone(),
            mesos_permissions: self.mesos_permissions,
            s3,
            kerberos,
            tls,
            hdfs_conf_url: (self
                .hdfs_conf_url
                .as_deref()
                .map(crate::hdfs::conf_url)
                .transpose())
            .map_err(|e| e.context("hdfs conf url"))?,
            oidc_client_secret: self
                .oidc_client_secret_file
                .as_deref()
                .map(password)
                .transpose()?,
            spark_secrets: (self.spark_secrets.iter().map(SparkSecretSpec::read))
                .collect::<Result<_>>()?,
            overwrite: self.overwrite,
            package_version: match &self.package_version {
                Some(version) => version.parse()?,
                None => PackageVersion::default(),
            },
        })
    }
}

/// The package versions whose options `dse setup` writes. Every one reads the same keys for
/// what the setup sets (the TLS stores' sandbox paths of 2.x keep their defaults).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub enum PackageVersion {
    #[serde(rename = "1.0.1")]
    V1_0_1,
    #[serde(rename = "1.0.2")]
    V1_0_2,
    #[serde(rename = "2.0.1")]
    V2_0_1,
    #[default]
    #[serde(rename = "2.1.0")]
    V2_1_0,
}

impl std::str::FromStr for PackageVersion {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self> {
        match text {
            "1.0.1" => Ok(Self::V1_0_1),
            "1.0.2" => Ok(Self::V1_0_2),
            "2.0.1" => Ok(Self::V2_0_1),
            "2.1.0" => Ok(Self::V2_1_0),
            other => Err(Error::invalid(format!(
                "`{other}` is not a published version of the package: 1.0.1, 1.0.2, 2.0.1 or 2.1.0"
            ))),
        }
    }
}

/// `HOST:PORT` of a KDC (the port is needed: the package has no default for it).
pub fn parse_kdc(text: &str) -> Result<(String, u16)> {
    let bad = || Error::invalid(format!("`{text}` is not a KDC address: give HOST:PORT"));
    let (host, port) = text.rsplit_once(':').ok_or_else(bad)?;
    let port: u16 = port.parse().map_err(|_| bad())?;
    let host_ok = !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
    match (host_ok, port) {
        (true, 1..) => Ok((host.to_owned(), port)),
        _ => Err(bad()),
    }
}

/// An existing secret Spark is given besides the engine's own: as a file in the sandbox, as an
/// environment variable, or both (`security.extra_spark_secrets`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SparkSecret {
    pub path: SecretPath,
    pub file: Option<String>,
    pub env: Option<String>,
}

/// The most bytes of a binary secret Mesos delivers to an environment variable.
pub const ENV_SECRET_LIMIT: usize = 4096;

impl std::str::FromStr for SparkSecret {
    type Err = Error;

    /// `PATH[,file=NAME][,env=KEY]`: at least one of the two.
    fn from_str(text: &str) -> Result<Self> {
        let mut parts = text.split(',');
        let path = SecretPath::new(parts.next().unwrap_or_default())
            .map_err(|e| Error::from(e).context("a Spark secret"))?;
        let (mut file, mut env) = (None, None);
        for part in parts {
            match part.split_once('=') {
                Some(("file", name)) if valid_file(name) => file = Some(name.to_owned()),
                Some(("env", key)) if valid_env(key) => env = Some(key.to_owned()),
                _ => {
                    return Err(Error::invalid(format!(
                        "`{part}` in the Spark secret `{path}`: give file=NAME (a file name, no \
                         `/`) or env=KEY (letters, digits and _)"
                    )));
                }
            }
        }
        if file.is_none() && env.is_none() {
            return Err(Error::invalid(format!(
                "the Spark secret `{path}` needs file=NAME, env=KEY or both, as in \
                 `{path},file=NAME,env=KEY`"
            )));
        }
        Ok(Self { path, file, env })
    }
}

fn valid_file(name: &str) -> bool {
    !name.is_empty() && name != "." && name != ".." && !name.contains(['/', ','])
}

fn valid_env(key: &str) -> bool {
    let mut chars = key.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The three lists of `security.extra_spark_secrets`, of equal length as the package needs: a
/// list is written when one secret wants it, and a secret that wants only the other way gets a
/// placeholder there (a file named after its path, a variable `SPARK_SECRET_<N>`).
fn spark_secret_options(secrets: &[SparkSecret]) -> Value {
    let files = secrets.iter().any(|s| s.file.is_some());
    let envs = secrets.iter().any(|s| s.env.is_some());
    let names: Vec<&str> = secrets.iter().map(|s| s.path.as_str()).collect();
    let filenames: Vec<String> = (secrets.iter())
        .map(|s| {
            s.file
                .clone()
                .unwrap_or_else(|| s.path.as_str().replace('/', "_"))
        })
        .collect();
    let envkeys: Vec<String> = (secrets.iter().enumerate())
        .map(|(i, s)| {
            s.env
                .clone()
                .unwrap_or_else(|| format!("SPARK_SECRET_{}", i + 1))
        })
        .collect();
    let mut lists = serde_json::Map::new();
    lists.insert("secret_names".into(), names.join(",").into());
    if files {
        lists.insert("secret_filenames".into(), filenames.join(",").into());
    }
    if envs {
        lists.insert("secret_envkeys".into(), envkeys.join(",").into());
    }
    serde_json::json!({"security": {"extra_spark_secrets": lists}})
}

/// A Spark secret as a manifest declares it: `"PATH,file=NAME,env=KEY"`, or a table.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum SparkSecretSpec {
    Short(String),
    Table {
        path: String,
        #[serde(default)]
        file: Option<String>,
        #[serde(default)]
        env: Option<String>,
    },
}

impl SparkSecretSpec {
    fn read(&self) -> Result<SparkSecret> {
        match self {
            Self::Short(text) => text.parse(),
            Self::Table { path, file, env } => {
                let mut text = path.clone();
                text.extend(file.iter().map(|f| format!(",file={f}")));
                text.extend(env.iter().map(|e| format!(",env={e}")));
                text.parse()
            }
        }
    }
}

/// The names of the secrets a set-up stores in the service's space (besides the login secret).
pub const STORED: [&str; 9] = [
    "aws_access_key_id",
    "aws_secret_access_key",
    "keytab",
    "tls_keystore",
    "tls_keystore_password",
    "tls_key_password",
    "tls_truststore",
    "tls_truststore_password",
    "tls_ca_bundle",
];

/// A secret the setup stores.
#[derive(Debug, Clone)]
pub struct Stored {
    pub path: SecretPath,
    pub value: SecretValue,
}

/// A setup whose input is checked: ready to run against a cluster in `security_mode`.
#[derive(Debug, Clone)]
pub struct Setup {
    pub service: ServiceName,
    pub account: Uid,
    pub login_secret: SecretPath,
    pub login_endpoint: String,
    pub security_mode: SecurityMode,
    /// The Mesos permissions the account gets (strict mode, or asked for).
    pub mesos: Vec<(Rid, Action)>,
    /// The secrets to store, in the order of the report.
    pub secrets: Vec<Stored>,
    /// The existing secrets Spark is given too.
    pub spark_secrets: Vec<SparkSecret>,
    pub overwrite: bool,
    pub options: PreparedOptions,
    /// Whether the options file holds a secret value (OIDC's client secret).
    pub plaintext_secret: bool,
    pub package_version: PackageVersion,
    /// Read and plan only.
    pub dry_run: bool,
}

/// What `dse setup` did, or would do. `Debug` shows no secret value (the options may hold
/// OIDC's client secret).
#[derive(Clone, Serialize)]
pub struct SetupReport {
    /// `changed`, `unchanged` or `failed`; with a dry run, `would_change` or `unchanged`.
    pub result: Status,
    pub dry_run: bool,
    pub service_name: String,
    pub service_account: String,
    pub security_mode: SecurityMode,
    pub steps: Vec<Step>,
    /// The service options (for a merge, the whole merged file).
    pub options: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub options_file: Option<String>,
    /// The options file holds a secret value, so it is written readable by its owner alone.
    pub options_hold_a_secret: bool,
    pub package_version: PackageVersion,
}

impl std::fmt::Debug for SetupReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SetupReport")
            .field("result", &self.result)
            .field("dry_run", &self.dry_run)
            .field("service_name", &self.service_name)
            .field("security_mode", &self.security_mode)
            .field("steps", &self.steps)
            .field("options", &super::redacted(&self.options))
            .field("options_file", &self.options_file)
            .finish_non_exhaustive()
    }
}

impl SetupReport {
    /// One closing line: `dse setup: done`, `dse setup (dry run): nothing was changed`.
    pub fn summary(&self) -> String {
        let mode = match (self.security_mode, self.steps.iter().any(is_mesos)) {
            (SecurityMode::Strict, _) => "strict mode: with the Mesos permissions",
            (_, true) => "permissive mode: with the Mesos permissions, as asked",
            (_, false) => "permissive mode: no Mesos permission is needed",
        };
        let verb = match self.result {
            Status::Unchanged => "unchanged, everything is in place",
            Status::WouldChange => "nothing was changed",
            Status::Failed => "failed",
            Status::Changed => "done",
        };
        let dry = if self.dry_run { " (dry run)" } else { "" };
        let mut line = format!("dse setup{dry} of {} ({mode}): {verb}", self.service_name);
        if let (true, Some(file)) = (self.options_hold_a_secret, &self.options_file) {
            line.push_str(&format!(
                "\n{file} holds OIDC's client secret: it is readable by its owner alone"
            ));
        }
        line
    }
}

fn is_mesos(step: &Step) -> bool {
    step.kind == StepKind::Grant && step.target.starts_with("dcos:mesos:")
}

/// The cluster's security mode; `told` stands in when the cluster does not say (the file
/// cannot be read). The secret store needs permissive or strict.
pub async fn settle_mode(clients: &Clients, told: Option<SecurityMode>) -> Result<SecurityMode> {
    let mode = match (security_mode(clients).await, told) {
        (Ok(mode), _) => mode,
        (Err(e), Some(told)) if e.kind() == ErrorKind::Api => told,
        (Err(e), _) => return Err(e),
    };
    if !mode.has_secret_store() {
        return Err(Error::invalid(format!(
            "the cluster's security mode is `{mode}`, which has no secret store: the engine's \
             credentials need permissive or strict mode"
        )));
    }
    Ok(mode)
}

impl SetupInput {
    /// Checks everything without the cluster: the keytab holds the primary in the realm, the
    /// stores open with their passwords and the keystore holds a key, every secret lies in the
    /// service's space; reads the options destination and merges.
    pub fn prepare(
        self,
        destination: &Destination,
        reporter: &dyn Reporter,
    ) -> Result<PreparedSetup> {
        let service = self.service;
        let account = match self.account {
            Some(uid) => uid,
            None => Uid::new(service.as_str()).map_err(|_| {
                Error::invalid(format!(
                    "the service name `{service}` is no account id: name the service account"
                ))
            })?,
        };
        let login_secret = match self.login_secret {
            Some(path) => path,
            None => service.secret_path("service-account")?,
        };
        let mut secrets = Vec::new();
        let mut store = |path: SecretPath, value: SecretValue| {
            secrets.push(Stored {
                path: path.clone(),
                value,
            });
            path
        };
        let mut engine = EngineOptions {
            account: Some(Account {
                uid: account.clone(),
                login_secret: login_secret.clone(),
                role: self.role.clone().unwrap_or_else(|| account.to_string()),
            }),
            hadoop_conf_url: self.hdfs_conf_url,
            oidc_client_secret: self.oidc_client_secret,
            ..EngineOptions::default()
        };
        if let Some(k) = self.kerberos {
            let primary = k.primary.unwrap_or_else(|| "jupyter".to_owned());
            let what = format!("the keytab {}", k.keytab.file.display());
            let keytab = Keytab::parse(&k.keytab.bytes).map_err(|e| e.context(&what))?;
            keytab
                .check(&primary, &k.realm)
                .map_err(|e| e.context(&what))?;
            let path = store(
                service.secret_path("keytab")?,
                SecretValue::binary(k.keytab.bytes),
            );
            engine.kerberos = Some(Kerberos {
                realm: k.realm,
                kdc_host: k.kdc_host,
                kdc_port: k.kdc_port,
                primary,
                keytab_secret: path,
            });
        }
        if let Some(t) = self.tls {
            let what = format!("the keystore {}", t.keystore.file.display());
            let opened = stores::open(
                &t.keystore.bytes,
                &what,
                &t.keystore_password,
                t.key_password.as_ref(),
            )?;
            opened.require_private_key(&what)?;
            if let Some((truststore, password)) = &t.truststore {
                let what = format!("the truststore {}", truststore.file.display());
                stores::open(&truststore.bytes, &what, password, None)?;
            }
            let text =
                |s: &SecretString| SecretValue::text(secrecy::ExposeSecret::expose_secret(s));
            let keystore_secret = store(
                service.secret_path("tls_keystore")?,
                SecretValue::binary(t.keystore.bytes),
            );
            let keystore_password_secret = store(
                service.secret_path("tls_keystore_password")?,
                text(&t.keystore_password),
            );
            let key_password_secret = match &t.key_password {
                Some(p) => Some(store(service.secret_path("tls_key_password")?, text(p))),
                None => None,
            };
            let truststore = match t.truststore {
                Some((file, password)) => Some((
                    store(
                        service.secret_path("tls_truststore")?,
                        SecretValue::binary(file.bytes),
                    ),
                    store(
                        service.secret_path("tls_truststore_password")?,
                        text(&password),
                    ),
                )),
                None => None,
            };
            let ca_bundle_secret = match t.ca_bundle {
                Some(file) => Some(store(
                    service.secret_path("tls_ca_bundle")?,
                    SecretValue::binary(file.bytes),
                )),
                None => None,
            };
            engine.tls = Some(Tls {
                keystore_secret,
                keystore_password_secret,
                key_password_secret,
                truststore,
                ca_bundle_secret,
            });
        }
        let mut options = engine.to_json();
        if let Some(s3) = self.s3 {
            let key_id = match s3.key_id_secret {
                Some(path) => path,
                None => service.secret_path("aws_access_key_id")?,
            };
            let secret_key = match s3.secret_key_secret {
                Some(path) => path,
                None => service.secret_path("aws_secret_access_key")?,
            };
            let [id_value, key_value] = s3.keys.values();
            store(key_id.clone(), id_value);
            store(secret_key.clone(), key_value);
            let settings = super::S3Settings {
                service_account: account.as_str(),
                service_account_secret: &login_secret,
                service: &service,
                key_id: &key_id,
                secret_key: &secret_key,
                region: s3.aws_region.as_ref().map(|r| r.as_str()),
                endpoint: s3.s3_endpoint.as_ref().map(|e| e.as_str()),
            };
            super::merge(&mut options, &super::s3_options(&settings, Layout::Schema));
        }
        if !self.spark_secrets.is_empty() {
            super::merge(&mut options, &spark_secret_options(&self.spark_secrets));
        }
        let mut paths: Vec<&SecretPath> = secrets.iter().map(|s| &s.path).collect();
        paths.extend(self.spark_secrets.iter().map(|s| &s.path));
        super::check_spaces(&paths, Some(&login_secret), &service, false, reporter)?;
        let options = destination.merged(options)?;
        let plaintext_secret = engine.holds_plaintext_secret();
        let options = destination.prepare_private(options, plaintext_secret)?;
        let identity = MesosIdentity {
            account: account.clone(),
            role: self.role.unwrap_or_else(|| account.to_string()),
            linux_user: self.linux_user.unwrap_or_else(|| "nobody".to_owned()),
            app_id: service.as_str().to_owned(),
        };
        // Checked now, so that a bad role or user fails before the cluster is asked.
        mesos_permissions(&identity)?;
        Ok(PreparedSetup {
            setup: Setup {
                service,
                account,
                login_secret,
                login_endpoint: self.login_endpoint,
                security_mode: SecurityMode::Strict,
                mesos: Vec::new(),
                secrets,
                spark_secrets: self.spark_secrets,
                overwrite: self.overwrite,
                options,
                plaintext_secret,
                package_version: self.package_version,
                dry_run: false,
            },
            identity,
            mesos_asked: self.mesos_permissions,
        })
    }
}

/// A setup whose input is checked, waiting for the cluster's security mode.
#[derive(Debug, Clone)]
pub struct PreparedSetup {
    setup: Setup,
    identity: MesosIdentity,
    mesos_asked: bool,
}

impl PreparedSetup {
    /// The service it sets up.
    pub fn service(&self) -> &ServiceName {
        &self.setup.service
    }

    /// The account it sets up.
    pub fn account(&self) -> &Uid {
        &self.setup.account
    }

    /// The login secret and every secret it stores.
    pub fn secret_paths(&self) -> impl Iterator<Item = &SecretPath> {
        std::iter::once(&self.setup.login_secret).chain(self.setup.secrets.iter().map(|s| &s.path))
    }

    /// The options it writes.
    pub fn options(&self) -> &PreparedOptions {
        &self.setup.options
    }

    /// Every grant it may make: strict mode's.
    pub fn all_grants(&self) -> Vec<(Rid, Action)> {
        let strict = self.clone().in_mode(SecurityMode::Strict);
        strict.and_then(|setup| setup.grants()).unwrap_or_default()
    }

    /// The setup for a cluster in `mode` ([`settle_mode`]): the Mesos permissions in strict
    /// mode, or when they were asked for.
    pub fn in_mode(self, mode: SecurityMode) -> Result<Setup> {
        let mut setup = self.setup;
        setup.security_mode = mode;
        if mode == SecurityMode::Strict || self.mesos_asked {
            setup.mesos = mesos_permissions(&self.identity)?;
        }
        Ok(setup)
    }
}

impl Setup {
    /// Every grant the account gets: the Mesos permissions, then read on the name and the value
    /// of every secret the options name (the login secret first).
    pub fn grants(&self) -> Result<Vec<(Rid, Action)>> {
        let mut grants = self.mesos.clone();
        let paths = std::iter::once(&self.login_secret)
            .chain(self.secrets.iter().map(|s| &s.path))
            .chain(self.spark_secrets.iter().map(|s| &s.path));
        for path in paths {
            grants.push((Rid::secret_list(path.as_str())?, Action::Read));
            grants.push((Rid::secret(path.as_str())?, Action::Read));
        }
        Ok(grants)
    }

    fn report(&self) -> SetupReport {
        SetupReport {
            result: Status::Unchanged,
            dry_run: self.dry_run,
            service_name: self.service.to_string(),
            service_account: self.account.to_string(),
            security_mode: self.security_mode,
            steps: Vec::new(),
            options: self.options.options.clone(),
            options_file: self.options.file().map(|f| f.display().to_string()),
            options_hold_a_secret: self.plaintext_secret,
            package_version: self.package_version,
        }
    }
}

/// What the cluster holds for a setup.
struct Observed {
    account: Option<User>,
    login_secret: Option<SecretValue>,
    secrets: Vec<Option<SecretValue>>,
    spark_secrets: Vec<Option<SecretValue>>,
    grants: Vec<GrantState>,
}

/// Runs a setup: the report, or the report and the failure after undoing its changes.
pub async fn setup(
    clients: &Clients,
    job: &Setup,
    reporter: &dyn Reporter,
) -> RunResult<SetupReport> {
    let mut report = job.report();
    let result = steps(clients, job, reporter, &mut report).await;
    crate::report::finish(report, result, job.dry_run)
}

async fn steps(
    clients: &Clients,
    job: &Setup,
    reporter: &dyn Reporter,
    report: &mut SetupReport,
) -> Result<()> {
    let grants = job.grants()?;
    // The key pair of an account that may have to be created is generated while the cluster is
    // read; it is dropped when the account exists.
    let pending =
        (!job.dry_run).then(|| tokio::task::spawn_blocking(|| KeyPair::generate(KeySize::Rsa2048)));
    let observed = observe(clients, job, &grants).await?;
    let key = match (&observed.account, pending) {
        (None, Some(pending)) => Some(
            pending
                .await
                .map_err(|e| Error::failed(format!("key generation stopped: {e}")))??,
        ),
        _ => None,
    };
    check_spark_secrets(job, &observed.spark_secrets)?;
    let mut tasks = plan(job, &grants, &observed, key.as_ref())?;
    if let Err(conflict) = plan::check_conflicts(&tasks) {
        report.steps = plan::steps(tasks);
        return Err(conflict);
    }
    if job.dry_run {
        report.steps = plan::steps(tasks);
        return Ok(());
    }
    let result = plan::run_or_undo(clients, &mut tasks, reporter).await;
    report.steps = plan::steps(tasks);
    result
}

/// One round: the account, the login secret, every secret and every grant.
async fn observe(clients: &Clients, job: &Setup, grants: &[(Rid, Action)]) -> Result<Observed> {
    let principal = Principal::User(job.account.clone());
    let user = clients.iam.user(&job.account);
    let spark = &job.spark_secrets;
    let (account, login_secret, secrets, spark_secrets, states) = tokio::join!(
        user.get_opt(),
        clients.secret_value(&job.login_secret),
        try_join_all(job.secrets.iter().map(|s| clients.secret_value(&s.path))),
        try_join_all(spark.iter().map(|s| clients.secret_value(&s.path))),
        try_join_all(grants.iter().map(|(rid, action)| async {
            match clients.grant_state(rid, &principal, *action).await {
                // An account not created yet holds nothing; its grants create any missing ACL.
                Err(e) if e.is_not_found() => Ok(GrantState::NoAcl),
                other => other,
            }
        })),
    );
    Ok(Observed {
        account: account.context(format!("read the account `{}`", job.account))?,
        login_secret: login_secret.context(format!("read the secret `{}`", job.login_secret))?,
        secrets: secrets.context("read the secrets")?,
        spark_secrets: spark_secrets.context("read the Spark secrets")?,
        grants: states.context("read the grants")?,
    })
}

/// The Spark secrets must exist, and Mesos refuses a binary one over 4 KB in an environment
/// variable (each one gets a variable when one of them asks for one).
fn check_spark_secrets(job: &Setup, values: &[Option<SecretValue>]) -> Result<()> {
    let envs = job.spark_secrets.iter().any(|s| s.env.is_some());
    for (secret, value) in job.spark_secrets.iter().zip(values) {
        let path = &secret.path;
        match value {
            None => {
                return Err(Error::not_found(format!(
                    "the Spark secret `{path}` does not exist; store it first"
                )));
            }
            Some(value) if envs && value.is_binary() && value.len() > ENV_SECRET_LIMIT => {
                return Err(Error::invalid(format!(
                    "the Spark secret `{path}` is binary and {} bytes: Mesos refuses a binary \
                     secret over {ENV_SECRET_LIMIT} bytes in an environment variable, so give \
                     it as a file, with no Spark secret as a variable",
                    value.len()
                )));
            }
            Some(_) => {}
        }
    }
    Ok(())
}

/// The tasks: phase 0 the account, its login secret and the secrets; then the grants (phase 1
/// when the account is created in phase 0); then the options file.
fn plan(
    job: &Setup,
    grants: &[(Rid, Action)],
    observed: &Observed,
    key: Option<&KeyPair>,
) -> Result<Vec<Task>> {
    let dry_run = job.dry_run;
    let uid = &job.account;
    let mut tasks = Vec::new();
    let mut account_step = Step::new(StepKind::Account, uid, Outcome::Unchanged);
    match &observed.account {
        Some(user) if !user.is_service => {
            return Err(Error::invalid(format!(
                "`{uid}` is a user, not a service account: the engine logs in with a key pair"
            )));
        }
        Some(user) => {
            check_login_secret(job, user, observed.login_secret.as_ref())?;
            tasks.push(Task::report(account_step));
            tasks.push(Task::report(Step::secret(
                &job.login_secret,
                Outcome::Unchanged,
            )));
        }
        None => {
            account_step.outcome = Outcome::planned(Outcome::WouldCreate, dry_run);
            let mut login = Step::secret(
                &job.login_secret,
                Outcome::planned(Outcome::WouldCreate, dry_run),
            );
            if let Some(now) = &observed.login_secret {
                login.previous_fingerprint = Some(now.fingerprint());
                login.outcome = Outcome::planned(Outcome::WouldUpdate, dry_run);
                if !job.overwrite {
                    login.outcome = Outcome::Failed;
                    login.error = Some(format!(
                        "exists, but its account `{uid}` does not; overwriting was not allowed"
                    ));
                }
            }
            match key {
                Some(key) => {
                    // No fingerprint: the key is made for the run, so a dry run's plan and the
                    // run's are the same.
                    let value = login_secret_value(uid, key, &job.login_endpoint);
                    let description = format!("Data Science Engine {}", job.service);
                    tasks.push(Task::write(
                        account_step,
                        0,
                        Write::Account {
                            uid: uid.clone(),
                            description,
                            public_key_pem: key.public_key_pem.clone(),
                        },
                    ));
                    let write = Write::Secret {
                        path: job.login_secret.clone(),
                        value,
                        before: observed.login_secret.clone(),
                    };
                    tasks.push(Task::write(login, 0, write));
                }
                None => {
                    tasks.push(Task::report(account_step));
                    tasks.push(Task::report(login));
                }
            }
        }
    }
    for (stored, now) in job.secrets.iter().zip(&observed.secrets) {
        let secret = (&stored.path, &stored.value);
        tasks.push(plan::secret_task(
            secret,
            now.as_ref(),
            job.overwrite,
            dry_run,
        ));
    }
    let phase = u8::from(observed.account.is_none());
    let principal = Principal::User(uid.clone());
    for ((rid, action), state) in grants.iter().zip(&observed.grants) {
        let grant = (rid, *action, &principal);
        tasks.push(plan::grant_task(grant, *state, false, (phase, dry_run)));
    }
    tasks.extend(plan::options_task(&job.options, 2, dry_run));
    Ok(tasks)
}

/// An existing account is used as it is: its login secret must be there and hold the private
/// key of the account's public key.
fn check_login_secret(job: &Setup, user: &User, value: Option<&SecretValue>) -> Result<()> {
    let (uid, path) = (&job.account, &job.login_secret);
    let Some(value) = value else {
        return Err(Error::conflict(format!(
            "the service account `{uid}` exists but its login secret `{path}` does not, and its \
             private key is not known here: store the login secret (`service-account create \
             {uid} --secret {path}` with its key), or name another account"
        )));
    };
    let public = user.public_key.as_deref().unwrap_or_default();
    let matches = login_secret(value).is_some_and(|secret| {
        &secret.uid == uid
            && KeyPair::from_private_pem(&secret.private_key_pem)
                .is_ok_and(|k| same_public_key(&k.public_key_pem, public))
    });
    match matches {
        true => Ok(()),
        false => Err(Error::conflict(format!(
            "the secret `{path}` is not the login secret of `{uid}`: it does not hold the private \
             key of the account's public key"
        ))
        .with_remedy(Remedy::LoginSecretExists)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_shows_no_secret_in_debug() {
        let report = SetupReport {
            result: Status::Changed,
            dry_run: false,
            service_name: "dse".into(),
            service_account: "dse".into(),
            security_mode: SecurityMode::Strict,
            steps: Vec::new(),
            options: serde_json::json!({"oidc": {"client_secret": "s3cr3t"}}),
            options_file: None,
            options_hold_a_secret: true,
            package_version: PackageVersion::default(),
        };
        let shown = format!("{report:?}");
        assert!(!shown.contains("s3cr3t"), "{shown}");
        assert!(serde_json::to_string(&report).unwrap().contains("s3cr3t"));
    }
}
