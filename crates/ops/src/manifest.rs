//! The `apply` manifest: service accounts, secrets, grants and S3 onboardings, declared in TOML
//! (or JSON), read and checked as a whole before the cluster is asked anything.
//!
//! Values never appear in a manifest: a secret names a file, an environment variable or an AWS
//! profile. Relative file names are relative to the manifest's folder. Errors name the item
//! (`secret #2 (team/db)`) and never quote a value.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use dcos_iam_client::{Action, DEFAULT_LOGIN_ENDPOINT, KeyPair, Principal, Rid, Uid};
use dcos_secrets_client::{SecretPath, SecretValue};
use serde::Deserialize;
use serde::de::IgnoredAny;

use crate::aws;
use crate::dse::security::SecurityMode;
use crate::dse::setup::{PreparedSetup, SetupSpec};
use crate::dse::{
    AwsRegion, DEFAULT_SERVICE_NAME, Destination, Layout, OptionsLayout, S3Endpoint, ServiceName,
};
use crate::error::{Context, Error, Remedy, Result};
use crate::files;
use crate::grants;
use crate::reporter::Reporter;
use crate::s3::{Onboarding, Paths};

/// The file as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ManifestFile {
    #[serde(default)]
    service_account: Vec<AccountDecl>,
    #[serde(default)]
    secret: Vec<SecretDecl>,
    #[serde(default)]
    grant: Vec<GrantDecl>,
    #[serde(default)]
    s3: Vec<S3Decl>,
    #[serde(default)]
    dse: Vec<SetupSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AccountDecl {
    uid: String,
    #[serde(default)]
    description: Option<String>,
    /// The account's public key (PEM); the private key stays with whoever made it.
    #[serde(default)]
    public_key_file: Option<PathBuf>,
    /// Where the private key is: read if the file exists, else generated and written (0600).
    #[serde(default)]
    private_key_out: Option<PathBuf>,
    /// Store the login secret services mount at this path (needs `private_key_out`).
    #[serde(default)]
    login_secret: Option<String>,
    #[serde(default)]
    login_endpoint: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SecretDecl {
    path: String,
    #[serde(default)]
    from_file: Option<PathBuf>,
    #[serde(default)]
    from_env: Option<String>,
    #[serde(default)]
    aws_profile: Option<String>,
    /// With `aws_profile`: `aws_access_key_id` or `aws_secret_access_key`.
    #[serde(default)]
    aws_key: Option<String>,
    #[serde(default)]
    binary: bool,
    /// Store an empty value (refused otherwise: an unset CI variable is empty).
    #[serde(default)]
    allow_empty: bool,
    /// Refused: values never go in a manifest.
    #[serde(default)]
    value: Option<IgnoredAny>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct GrantDecl {
    #[serde(default)]
    user: Option<String>,
    #[serde(default)]
    group: Option<String>,
    rid: String,
    action: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct S3Decl {
    service_account: String,
    service_account_secret: String,
    #[serde(default)]
    service_name: Option<String>,
    #[serde(default)]
    key_id_secret: Option<String>,
    #[serde(default)]
    secret_key_secret: Option<String>,
    credentials: KeySource,
    #[serde(default)]
    layout: Option<String>,
    #[serde(default)]
    aws_region: Option<String>,
    #[serde(default)]
    s3_endpoint: Option<String>,
    #[serde(default)]
    grant_value_read: bool,
    #[serde(default)]
    allow_outside_space: bool,
    /// Replace secrets holding another pair (default: yes, the manifest is the truth).
    #[serde(default = "yes")]
    overwrite: bool,
    #[serde(default)]
    out: Option<PathBuf>,
    #[serde(default)]
    merge_into: Option<PathBuf>,
}

fn yes() -> bool {
    true
}

/// Where a manifest's S3 key pair comes from (an `[[s3]]` onboarding's, a `[[dse]]` set-up's):
/// exactly one of these.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeySource {
    #[serde(default)]
    pub aws_profile: Option<String>,
    /// Two environment variable names: the key id's and the secret key's.
    #[serde(default)]
    pub key_id_env: Option<String>,
    #[serde(default)]
    pub secret_key_env: Option<String>,
    /// The JSON of `aws iam create-access-key`.
    #[serde(default)]
    pub file: Option<PathBuf>,
}

/// A service account the manifest declares.
#[derive(Debug)]
pub struct AccountItem {
    pub uid: Uid,
    pub description: String,
    pub key: AccountKey,
    /// The login secret's path and login endpoint.
    pub login: Option<(SecretPath, String)>,
}

/// What is known of a declared account's key.
#[derive(Debug)]
pub enum AccountKey {
    /// Only the public key (PEM).
    Public(String),
    /// The pair, from the existing private key file.
    Pair(KeyPair),
    /// Nothing yet: generated, and written to this file, if the account must be created.
    Generate(PathBuf),
}

impl AccountKey {
    /// The private key file, for messages.
    pub fn file(&self) -> Option<&Path> {
        match self {
            AccountKey::Generate(path) => Some(path),
            _ => None,
        }
    }
}

/// A secret the manifest declares, with its value.
#[derive(Debug)]
pub struct SecretItem {
    pub path: SecretPath,
    pub value: SecretValue,
}

/// A grant the manifest declares.
#[derive(Debug, Clone)]
pub struct GrantItem {
    pub principal: Principal,
    pub rid: Rid,
    pub action: Action,
}

/// The manifest, checked, with every value read.
#[derive(Debug)]
pub struct Manifest {
    /// Where it was read from, for reports.
    pub source: String,
    pub accounts: Vec<AccountItem>,
    pub secrets: Vec<SecretItem>,
    pub grants: Vec<GrantItem>,
    pub onboardings: Vec<Onboarding>,
    pub setups: Vec<DseItem>,
}

/// A `[[dse]]` set-up of a manifest, checked, waiting for the cluster's security mode.
#[derive(Debug)]
pub struct DseItem {
    pub prepared: PreparedSetup,
    /// The mode to assume when the cluster does not tell it.
    pub told: Option<SecurityMode>,
}

impl Manifest {
    /// Every resource id the manifest grants on, each once.
    pub fn declared_rids(&self) -> Vec<Rid> {
        let mut seen = HashSet::new();
        let from_jobs = self
            .onboardings
            .iter()
            .flat_map(|j| j.rids().unwrap_or_default());
        self.grants
            .iter()
            .map(|g| g.rid.clone())
            .chain(from_jobs)
            .filter(|rid| seen.insert(rid.as_str().to_owned()))
            .collect()
    }

    /// The grants the manifest declares, as (resource id, principal, action).
    pub fn declared_grants(&self) -> HashSet<(String, Principal, Action)> {
        let mut declared: HashSet<(String, Principal, Action)> = self
            .grants
            .iter()
            .map(|g| (g.rid.as_str().to_owned(), g.principal.clone(), g.action))
            .collect();
        for job in &self.onboardings {
            let principal = Principal::User(job.account.clone());
            for rid in job.rids().unwrap_or_default() {
                declared.insert((rid.as_str().to_owned(), principal.clone(), Action::Read));
            }
        }
        // A set-up's grants in strict mode: its Mesos permissions too, whatever the mode.
        for dse in &self.setups {
            let principal = Principal::User(dse.prepared.account().clone());
            for (rid, action) in dse.prepared.all_grants() {
                declared.insert((rid.as_str().to_owned(), principal.clone(), action));
            }
        }
        declared
    }

    /// Every secret path the manifest writes.
    pub fn secret_paths(&self) -> Vec<&SecretPath> {
        let mut paths: Vec<&SecretPath> = self.secrets.iter().map(|s| &s.path).collect();
        paths.extend(
            self.accounts
                .iter()
                .filter_map(|a| a.login.as_ref().map(|l| &l.0)),
        );
        for job in &self.onboardings {
            paths.extend([&job.paths.key_id, &job.paths.secret_key]);
        }
        for dse in &self.setups {
            paths.extend(dse.prepared.secret_paths());
        }
        paths
    }
}

/// Reads the manifest at `file` and everything it names.
pub fn load(file: &Path, reporter: &dyn Reporter) -> Result<Manifest> {
    let text = files::read_text(file, "the manifest", files::MANIFEST_LIMIT)?;
    let manifest = parse(&text, file)?;
    let base = file.parent().unwrap_or(Path::new("")).to_owned();
    let mut manifest = resolve(manifest, &base, reporter)?;
    manifest.source = file.display().to_string();
    Ok(manifest)
}

/// TOML, or JSON for a `.json` file. Errors give the line, never the text there.
fn parse(text: &str, file: &Path) -> Result<ManifestFile> {
    let json = file
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"));
    let name = file.display();
    if json {
        return serde_json::from_str(text).map_err(|e| {
            Error::invalid(format!(
                "the manifest {name} is not valid (line {}, column {}): {}",
                e.line(),
                e.column(),
                strip_position(&e.to_string())
            ))
        });
    }
    toml::from_str(text).map_err(|e| {
        let line = e
            .span()
            .map(|span| text[..span.start.min(text.len())].matches('\n').count() + 1);
        let at = line.map(|l| format!(" (line {l})")).unwrap_or_default();
        Error::invalid(format!(
            "the manifest {name} is not valid{at}: {}",
            e.message()
        ))
    })
}

/// serde_json's message without its trailing ` at line L column C`.
fn strip_position(message: &str) -> &str {
    message.split(" at line ").next().unwrap_or(message)
}

/// Names an item in messages: `secret #2 (team/db)`.
fn item(kind: &str, index: usize, name: &str) -> String {
    format!("{kind} #{} ({name})", index + 1)
}

fn relative(base: &Path, path: &Path) -> PathBuf {
    if path.is_absolute() {
        path.to_owned()
    } else {
        base.join(path)
    }
}

fn resolve(manifest: ManifestFile, base: &Path, reporter: &dyn Reporter) -> Result<Manifest> {
    let mut desired = Manifest {
        source: String::new(),
        accounts: Vec::new(),
        secrets: Vec::new(),
        grants: Vec::new(),
        onboardings: Vec::new(),
        setups: Vec::new(),
    };
    for (i, decl) in manifest.service_account.into_iter().enumerate() {
        let at = item("service_account", i, &decl.uid);
        desired.accounts.push(account(decl, base).context(&at)?);
    }
    let mut profiles = Profiles::default();
    for (i, decl) in manifest.secret.into_iter().enumerate() {
        let at = item("secret", i, &decl.path);
        desired
            .secrets
            .push(secret(decl, base, &mut profiles).context(&at)?);
    }
    for (i, decl) in manifest.grant.into_iter().enumerate() {
        let at = item("grant", i, &decl.rid);
        desired.grants.push(grant(decl).context(&at)?);
    }
    for (i, decl) in manifest.s3.into_iter().enumerate() {
        let name = decl.service_name.as_deref().unwrap_or(DEFAULT_SERVICE_NAME);
        let at = item("s3", i, name);
        let job = onboarding(decl, base, &mut profiles, reporter).context(&at)?;
        desired.onboardings.push(job);
    }
    for (i, spec) in manifest.dse.into_iter().enumerate() {
        let name = spec.service_name.clone();
        let at = item("dse", i, name.as_deref().unwrap_or(DEFAULT_SERVICE_NAME));
        desired
            .setups
            .push(dse(spec, base, &mut profiles, reporter).context(&at)?);
    }
    for profile in profiles.temporary {
        reporter.warn(&crate::reporter::Warning::ProfileSessionToken { profile });
    }
    check_unique(&desired)?;
    Ok(desired)
}

/// Each account, secret, grant and options file is declared once.
fn check_unique(desired: &Manifest) -> Result<()> {
    let twice = |what: &str, name: &dyn std::fmt::Display| {
        Error::invalid(format!("the manifest declares {what} `{name}` twice")).with_remedy(
            Remedy::Advice("declare each account, secret, grant and options file once".into()),
        )
    };
    let mut uids = HashSet::new();
    for a in &desired.accounts {
        if !uids.insert(&a.uid) {
            return Err(twice("the service account", &a.uid));
        }
    }
    let mut paths = HashSet::new();
    for path in desired.secret_paths() {
        if !paths.insert(path) {
            return Err(twice("the secret", path));
        }
    }
    let mut grants = HashSet::new();
    for g in &desired.grants {
        if !grants.insert((&g.principal, g.rid.as_str(), g.action)) {
            return Err(twice(
                "the grant",
                &format!("{} on {} to {}", g.action, g.rid, g.principal),
            ));
        }
    }
    let mut files = HashSet::new();
    let options = (desired.onboardings.iter().map(|job| &job.options))
        .chain(desired.setups.iter().map(|dse| dse.prepared.options()));
    for prepared in options {
        if let Some(file) = prepared.file()
            && !files.insert(file.to_owned())
        {
            return Err(twice("the options file", &file.display()));
        }
    }
    Ok(())
}

fn account(decl: AccountDecl, base: &Path) -> Result<AccountItem> {
    let uid = Uid::new(&decl.uid).context("uid")?;
    let key = match (decl.public_key_file, decl.private_key_out) {
        (Some(file), None) => {
            let file = relative(base, &file);
            let pem = files::read_text(&file, "public_key_file", files::KEY_LIMIT)?;
            if !pem.contains("-----BEGIN PUBLIC KEY-----") {
                return Err(Error::invalid(format!(
                    "public_key_file {} is not a PEM public key (BEGIN PUBLIC KEY)",
                    file.display()
                )));
            }
            AccountKey::Public(pem)
        }
        (None, Some(file)) => {
            let file = relative(base, &file);
            if file.exists() {
                let pem = files::read_private_key(&file)?;
                AccountKey::Pair(
                    KeyPair::from_private_pem(&pem)
                        .context(format!("private_key_out {}", file.display()))?,
                )
            } else {
                AccountKey::Generate(file)
            }
        }
        _ => {
            return Err(Error::invalid(
                "give exactly one of public_key_file and private_key_out",
            ));
        }
    };
    let login = match decl.login_secret {
        None => None,
        Some(_) if matches!(key, AccountKey::Public(_)) => {
            return Err(Error::invalid(
                "login_secret needs private_key_out: the login secret holds the private key",
            ));
        }
        Some(path) => {
            let path = SecretPath::new(&path).context("login_secret")?;
            let endpoint = decl
                .login_endpoint
                .unwrap_or_else(|| DEFAULT_LOGIN_ENDPOINT.to_owned());
            url::Url::parse(&endpoint).map_err(|e| {
                Error::invalid(format!("login_endpoint `{endpoint}` is not a URL: {e}"))
            })?;
            Some((path, endpoint))
        }
    };
    Ok(AccountItem {
        uid,
        description: decl.description.unwrap_or_default(),
        key,
        login,
    })
}

/// AWS profiles read so far: a manifest of many onboardings reads each once.
/// The profiles that hold temporary credentials are warned about once the manifest is read.
#[derive(Debug, Default)]
struct Profiles {
    read: HashMap<String, aws::KeyPair>,
    temporary: Vec<String>,
}

impl Profiles {
    fn get(&mut self, name: &str) -> Result<aws::KeyPair> {
        if let Some(pair) = self.read.get(name) {
            return Ok(pair.clone());
        }
        let (pair, temporary) = aws::read_profile(name)?;
        if temporary {
            self.temporary.push(name.to_owned());
        }
        self.read.insert(name.to_owned(), pair.clone());
        Ok(pair)
    }
}

fn secret(decl: SecretDecl, base: &Path, profiles: &mut Profiles) -> Result<SecretItem> {
    let path = SecretPath::new(&decl.path).context("path")?;
    if decl.value.is_some() {
        return Err(
            Error::invalid("a literal value is not allowed in a manifest")
                .with_remedy(Remedy::Advice(
                "name a file (from_file), an environment variable (from_env) or an AWS profile \
                 (aws_profile with aws_key)"
                    .into(),
            )),
        );
    }
    let value = match (decl.from_file, decl.from_env, decl.aws_profile) {
        (Some(file), None, None) => {
            let file = relative(base, &file);
            let bytes = files::read(&file, "from_file", files::VALUE_LIMIT)?;
            SecretValue::from_bytes(bytes, decl.binary).context("from_file")?
        }
        (None, Some(var), None) => {
            env_name("from_env", &var)?;
            let text = std::env::var(&var)
                .map_err(|_| Error::invalid(format!("from_env: {var} is not set or not UTF-8")))?;
            SecretValue::text(text)
        }
        (None, None, Some(profile)) => {
            let pair = profiles.get(&profile)?;
            let [id, secret] = pair.values();
            match decl.aws_key.as_deref() {
                Some("aws_access_key_id") => id,
                Some("aws_secret_access_key") => secret,
                _ => {
                    return Err(Error::invalid(
                        "aws_profile needs aws_key = \"aws_access_key_id\" or \"aws_secret_access_key\"",
                    ));
                }
            }
        }
        _ => {
            return Err(Error::invalid(
                "give exactly one of from_file, from_env and aws_profile",
            ));
        }
    };
    value.check_size().context("the value")?;
    if value.is_empty() && !decl.allow_empty {
        return Err(
            Error::invalid("the value is empty (an unset variable, or an empty file?)")
                .with_remedy(Remedy::Advice(
                    "set allow_empty = true to store an empty value".into(),
                )),
        );
    }
    Ok(SecretItem { path, value })
}

/// A field that names an environment variable must hold a name, not a value: a value put
/// there by mistake is refused without being quoted.
fn env_name(field: &str, name: &str) -> Result<()> {
    let mut chars = name.chars();
    let valid = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if valid {
        Ok(())
    } else {
        Err(Error::invalid(format!(
            "{field} must name an environment variable (letters, digits and _), not hold a value"
        )))
    }
}

fn grant(decl: GrantDecl) -> Result<GrantItem> {
    Ok(GrantItem {
        principal: grants::principal(decl.user.as_deref(), decl.group.as_deref())?,
        rid: Rid::new(&decl.rid).context("rid")?,
        action: decl.action.parse().context("action")?,
    })
}

fn onboarding(
    decl: S3Decl,
    base: &Path,
    profiles: &mut Profiles,
    reporter: &dyn Reporter,
) -> Result<Onboarding> {
    let layout = OptionsLayout {
        layout: match decl.layout.as_deref() {
            None | Some("schema") => Layout::Schema,
            Some("docs") => Layout::Docs,
            Some(other) => {
                return Err(Error::invalid(format!(
                    "layout `{other}` is not schema or docs"
                )));
            }
        },
        aws_region: decl
            .aws_region
            .as_deref()
            .map(AwsRegion::new)
            .transpose()
            .context("aws_region")?,
        s3_endpoint: decl
            .s3_endpoint
            .as_deref()
            .map(S3Endpoint::new)
            .transpose()
            .context("s3_endpoint")?,
        allow_outside_space: decl.allow_outside_space,
    };
    let service_name = decl.service_name.as_deref().unwrap_or(DEFAULT_SERVICE_NAME);
    let path =
        |field: &str, text: Option<&str>| text.map(SecretPath::new).transpose().context(field);
    let paths = Paths::new(
        ServiceName::new(service_name).context("service_name")?,
        path("key_id_secret", decl.key_id_secret.as_deref())?,
        path("secret_key_secret", decl.secret_key_secret.as_deref())?,
    )?;
    let destination = match (decl.out, decl.merge_into) {
        (None, None) => Destination::Report,
        (Some(out), None) => Destination::Out(relative(base, &out)),
        (None, Some(into)) => Destination::MergeInto(relative(base, &into)),
        (Some(_), Some(_)) => return Err(Error::invalid("give at most one of out and merge_into")),
    };
    let prepared = Onboarding::prepare(
        Uid::new(&decl.service_account).context("service_account")?,
        SecretPath::new(&decl.service_account_secret).context("service_account_secret")?,
        paths,
        &layout,
        &destination,
        reporter,
    )?;
    // Read last, so that a bad option fails first.
    let keys = key_pair(&decl.credentials, base, profiles)?;
    Ok(prepared
        .grant_value_read(decl.grant_value_read)
        .overwrite(decl.overwrite)
        .with_keys(keys))
}

/// The key pair `source` names.
fn key_pair(source: &KeySource, base: &Path, profiles: &mut Profiles) -> Result<aws::KeyPair> {
    let c = source;
    match (&c.aws_profile, &c.key_id_env, &c.secret_key_env, &c.file) {
        (Some(profile), None, None, None) => profiles.get(profile),
        (None, Some(id), Some(secret), None) => {
            env_name("key_id_env", id)?;
            env_name("secret_key_env", secret)?;
            aws::from_env_vars(id, secret, "credentials")
        }
        (None, None, None, Some(file)) => {
            let file = relative(base, file);
            let bytes = files::read(&file, "credentials file", files::KEY_LIMIT)?;
            aws::from_json(&bytes, &format!("credentials file {}", file.display()))
        }
        _ => Err(Error::invalid(
            "credentials: give aws_profile, or key_id_env with secret_key_env, or file",
        )),
    }
}

/// A `[[dse]]` set-up: its files read and checked, its options merged, waiting for the
/// cluster's security mode (`told` stands in when the cluster does not say).
fn dse(
    spec: SetupSpec,
    base: &Path,
    profiles: &mut Profiles,
    reporter: &dyn Reporter,
) -> Result<DseItem> {
    let destination = match (&spec.out, &spec.merge_into) {
        (Some(file), None) => Destination::Out(relative(base, file)),
        (None, Some(file)) => Destination::MergeInto(relative(base, file)),
        (None, None) => Destination::Report,
        (Some(_), Some(_)) => return Err(Error::invalid("give at most one of out and merge_into")),
    };
    let told = spec.security_mode.as_deref().map(str::parse).transpose()?;
    let keys = || {
        (spec.credentials.as_ref())
            .map(|c| key_pair(c, base, profiles))
            .transpose()
    };
    let prepared = spec.prepare_with(base, (&destination, reporter), keys)?;
    Ok(DseItem { prepared, told })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use crate::reporter::Silent;

    fn parse_toml(text: &str) -> Result<ManifestFile> {
        parse(text, Path::new("m.toml"))
    }

    #[test]
    fn every_section_parses_from_toml_and_json() {
        let toml = r#"
            [[service_account]]
            uid = "dse"
            private_key_out = "dse.pem"
            login_secret = "dse/sa"

            [[secret]]
            path = "team/db"
            from_env = "DB_PASSWORD"

            [[grant]]
            group = "data"
            rid = "dcos:secrets:default:team/db"
            action = "read"

            [[s3]]
            service_account = "dse"
            service_account_secret = "dse/sa"
            credentials = { aws_profile = "prod" }
        "#;
        let m = parse_toml(toml).unwrap();
        assert_eq!(
            (
                m.service_account.len(),
                m.secret.len(),
                m.grant.len(),
                m.s3.len()
            ),
            (1, 1, 1, 1)
        );
        let json = r#"{"grant":[{"user":"u","rid":"dcos:x","action":"full"}]}"#;
        let m = parse(json, Path::new("m.json")).unwrap();
        assert_eq!(m.grant[0].action, "full");
    }

    #[test]
    fn unknown_keys_are_refused_with_their_line() {
        let err = parse_toml("[[secret]]\npath = \"a\"\nfrom_envv = \"X\"\n")
            .err()
            .unwrap();
        assert!(err.full_message().contains("line 3"), "{err}");
        assert!(err.full_message().contains("from_envv"), "{err}");
    }

    #[test]
    fn a_literal_value_is_refused_without_quoting_it() {
        let m = parse_toml("[[secret]]\npath = \"a\"\nvalue = \"hunter2-canary\"\n").unwrap();
        let decl = m.secret.into_iter().next().unwrap();
        let err = secret(decl, Path::new("."), &mut Profiles::default())
            .err()
            .unwrap();
        assert!(err.full_message().contains("literal value"), "{err}");
        assert!(!err.full_message().contains("hunter2"), "{err}");

        let err = parse("{\"secret\":[{\"path\":1}]", Path::new("m.json"))
            .err()
            .unwrap();
        assert!(err.full_message().contains("line 1"), "{err}");
    }

    #[test]
    fn a_value_in_place_of_a_variable_name_is_not_quoted() {
        let text = "[[secret]]\npath = \"a\"\nfrom_env = \"s3cr3t/canary+\"\n";
        let decl = parse_toml(text).unwrap().secret.remove(0);
        let err = secret(decl, Path::new("."), &mut Profiles::default())
            .err()
            .unwrap();
        assert!(
            err.full_message()
                .contains("must name an environment variable"),
            "{}",
            err.full_message()
        );
        assert!(!err.full_message().contains("canary"), "{err}");
        assert!(env_name("f", "DB_PASSWORD_2").is_ok());
        assert!(env_name("f", "2DB").is_err());
        assert!(env_name("f", "").is_err());
    }

    #[test]
    fn secrets_need_exactly_one_source() {
        for text in [
            "[[secret]]\npath = \"a\"\n",
            "[[secret]]\npath = \"a\"\nfrom_env = \"X\"\nfrom_file = \"f\"\n",
        ] {
            let decl = parse_toml(text).unwrap().secret.remove(0);
            let err = secret(decl, Path::new("."), &mut Profiles::default())
                .err()
                .unwrap();
            assert!(err.full_message().contains("exactly one"), "{err}");
        }
    }

    #[test]
    fn grants_need_one_principal_and_a_known_action() {
        let decl = |t: &str| parse_toml(t).unwrap().grant.remove(0);
        let both =
            decl("[[grant]]\nuser = \"a\"\ngroup = \"b\"\nrid = \"dcos:x\"\naction = \"read\"\n");
        assert!(grant(both).is_err());
        let bad = decl("[[grant]]\nuser = \"a\"\nrid = \"dcos:x\"\naction = \"fly\"\n");
        let err = grant(bad).err().unwrap();
        assert!(err.full_message().contains("fly"), "{err}");
    }

    /// A manifest of every kind of item whose files exist, for the damage test.
    const SAMPLE: &str = r#"
[[service_account]]
uid = "dse"
public_key_file = "dse.pub"

[[secret]]
path = "team/db"
from_file = "value.txt"

[[grant]]
user = "dse"
rid = "dcos:secrets:default:team/db"
action = "read"

[[s3]]
service_account = "dse"
service_account_secret = "data-science-engine/sa"
credentials = { file = "keys.json" }
out = "options.json"
"#;

    const CANARIES: [&str; 3] = [
        "value-canary-5150",
        "AKIACANARYPROPTEST01",
        "canary/proptest+secret/key0000000000000",
    ];

    /// Writes the files SAMPLE names into a new folder.
    fn sample_folder() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, text: &str| std::fs::write(dir.path().join(name), text).unwrap();
        write("value.txt", CANARIES[0]);
        write(
            "dse.pub",
            "-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----\n",
        );
        write(
            "keys.json",
            &format!(
                r#"{{"AccessKey": {{"AccessKeyId": "{}", "SecretAccessKey": "{}"}}}}"#,
                CANARIES[1], CANARIES[2]
            ),
        );
        dir
    }

    /// Applies byte edits (delete, insert, replace at an index) to `text`.
    fn damage(text: &str, edits: &[(proptest::sample::Index, u8, u8)]) -> Vec<u8> {
        let mut bytes = text.as_bytes().to_vec();
        for (at, byte, op) in edits {
            let i = at.index(bytes.len().max(1)).min(bytes.len());
            match op {
                0 if i < bytes.len() => {
                    bytes.remove(i);
                }
                1 => bytes.insert(i, *byte),
                _ if i < bytes.len() => bytes[i] = *byte,
                _ => bytes.push(*byte),
            }
        }
        bytes
    }

    #[test]
    fn the_sample_manifest_loads() {
        let dir = sample_folder();
        let file = dir.path().join("m.toml");
        std::fs::write(&file, SAMPLE).unwrap();
        let desired = load(&file, &Silent).unwrap();
        assert_eq!(desired.onboardings.len(), 1);
    }

    proptest::proptest! {
        /// A damaged manifest, TOML or JSON, loads or is refused with exit 2, naming no value;
        /// never a panic.
        #[test]
        fn a_damaged_manifest_loads_or_is_refused_with_exit_2(
            edits in proptest::collection::vec(
                (
                    proptest::prelude::any::<proptest::sample::Index>(),
                    proptest::sample::select(b"[]{}=\"\n,.#:x0 -\\\xff".to_vec()),
                    0u8..3,
                ),
                1..6,
            ),
            json in proptest::prelude::any::<bool>(),
        ) {
            let dir = sample_folder();
            let (name, text) = if json {
                let value: toml::Value = toml::from_str(SAMPLE).unwrap();
                ("m.json", serde_json::to_string_pretty(&value).unwrap())
            } else {
                ("m.toml", SAMPLE.to_owned())
            };
            let file = dir.path().join(name);
            std::fs::write(&file, damage(&text, &edits)).unwrap();
            match load(&file, &Silent) {
                Ok(_) => {}
                Err(failure) => {
                    let message = failure.full_message();
                    proptest::prop_assert_eq!(failure.kind(), ErrorKind::Invalid, "{}", message);
                    for canary in CANARIES {
                        proptest::prop_assert!(!message.contains(canary), "{}", message);
                        let hint = failure.remedy().map(ToString::to_string).unwrap_or_default();
                        proptest::prop_assert!(!hint.contains(canary), "{}", hint);
                    }
                }
            }
        }
    }
}
