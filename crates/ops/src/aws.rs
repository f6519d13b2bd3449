//! AWS key pairs: from environment variables, an AWS profile (resolved by the AWS SDK from the
//! shared credentials and config files), or the JSON of `aws iam create-access-key`, checked
//! before use.
//!
//! No error here quotes a key: messages name the source and the problem.

use std::path::PathBuf;

use dcos_secrets_client::SecretValue;
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

use crate::error::{Error, Remedy, Result};
use crate::reporter::{Reporter, Warning};

/// An access key id and its secret access key.
#[derive(Debug, Clone)]
pub struct KeyPair {
    access_key_id: SecretString,
    secret_access_key: SecretString,
}

impl KeyPair {
    /// Checks a pair: the id is 16 to 128 word characters (AWS's rule), the secret is printable
    /// ASCII without spaces, and the two are not swapped.
    pub fn new(access_key_id: String, secret_access_key: String, from: &str) -> Result<Self> {
        let id_ok = (16..=128).contains(&access_key_id.len())
            && access_key_id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_');
        let secret_ok = !secret_access_key.is_empty()
            && secret_access_key.len() <= 1024
            && secret_access_key.bytes().all(|b| b.is_ascii_graphic());
        if !id_ok && looks_like_key_id(&secret_access_key) {
            return Err(Error::invalid(format!(
                "the access key id and secret access key from {from} look swapped"
            )));
        }
        if !id_ok {
            return Err(Error::invalid(format!(
                "the access key id from {from} is not one: AWS key ids are 16 to 128 letters, \
                 digits or underscores (like AKIA followed by 16 more)"
            )));
        }
        if !secret_ok {
            let problem = if secret_access_key.is_empty() {
                "is empty"
            } else {
                "holds spaces, line breaks or other characters no AWS secret key has"
            };
            return Err(Error::invalid(format!(
                "the secret access key from {from} {problem}"
            )));
        }
        Ok(Self {
            access_key_id: SecretString::from(access_key_id),
            secret_access_key: SecretString::from(secret_access_key),
        })
    }

    /// Warns when the pair is of temporary credentials, which a service cannot keep using.
    pub fn warn_if_temporary(&self, reporter: &dyn Reporter) {
        if self.key_id().starts_with("ASIA") {
            reporter.warn(&Warning::TemporaryKey);
        }
    }

    fn key_id(&self) -> &str {
        self.access_key_id.expose_secret()
    }

    /// The access key id, as AWS calls take it.
    pub(crate) fn id(&self) -> &str {
        self.key_id()
    }

    /// The key id and the secret access key, for a signer.
    pub(crate) fn expose(&self) -> (&str, &str) {
        (self.key_id(), self.secret_access_key.expose_secret())
    }

    /// The last four characters of the access key id, as AWS consoles show them: `...WXYZ`.
    pub fn key_id_tail(&self) -> String {
        tail(self.key_id())
    }

    /// The access key id in full: an identifier, not a secret (AWS shows it in consoles and
    /// logs), which on call needs whole to act on it.
    pub fn key_id_shown(&self) -> String {
        shown(self.key_id())
    }

    /// The two secret values: the access key id and the secret access key, as text.
    pub fn values(&self) -> [SecretValue; 2] {
        [
            SecretValue::text(self.access_key_id.expose_secret()),
            SecretValue::text(self.secret_access_key.expose_secret()),
        ]
    }
}

/// `...` and the last four characters of `key_id` (fewer when it is shorter).
pub fn tail(key_id: &str) -> String {
    let start = key_id.char_indices().rev().nth(3).map_or(0, |(i, _)| i);
    format!("...{}", &key_id[start..])
}

/// A stored access key id as reports show it: in full when it looks like one (`AKIA...` or
/// `ASIA...`, 20 characters), else only its tail, since a secret that holds something else may
/// hold anything.
pub fn shown(text: &str) -> String {
    match looks_like_key_id(text) {
        true => text.to_owned(),
        false => tail(text),
    }
}

fn looks_like_key_id(text: &str) -> bool {
    text.len() == 20 && (text.starts_with("AKIA") || text.starts_with("ASIA"))
}

/// The pair of `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY`; `what` names the source in
/// messages. A session token is not stored, and says so.
pub fn from_env(what: &str, reporter: &dyn Reporter) -> Result<KeyPair> {
    let pair = from_env_vars("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", what)?;
    if std::env::var_os("AWS_SESSION_TOKEN").is_some() {
        reporter.warn(&Warning::SessionTokenIgnored);
    }
    Ok(pair)
}

/// The pair from two environment variables; `what` names the source in messages.
pub fn from_env_vars(id_var: &str, secret_var: &str, what: &str) -> Result<KeyPair> {
    let var = |name: &str| {
        std::env::var(name).map_err(|e| {
            let problem = match e {
                std::env::VarError::NotPresent => "is not set",
                std::env::VarError::NotUnicode(_) => "is not valid UTF-8",
            };
            Error::invalid(format!("{what}: {name} {problem}"))
        })
    };
    KeyPair::new(var(id_var)?, var(secret_var)?, "the environment")
}

/// `variable`, else `~/.aws/<name>`.
fn aws_file(variable: &str, name: &str) -> Result<PathBuf> {
    if let Some(file) = std::env::var_os(variable) {
        return Ok(PathBuf::from(file));
    }
    let home = std::env::var_os("HOME")
        .or_else(|| std::env::var_os("USERPROFILE"))
        .ok_or_else(|| {
            Error::invalid(format!("cannot find the AWS {name} file: HOME is not set"))
                .with_remedy(Remedy::Advice(format!("set {variable}")))
        })?;
    Ok(PathBuf::from(home).join(".aws").join(name))
}

/// The text of an AWS file, read within the limit for configuration; `None` when it does not
/// exist.
fn read_aws_file(file: &std::path::Path) -> Result<Option<String>> {
    if !file.exists() {
        return Ok(None);
    }
    let text = crate::files::read_text(file, "", crate::files::CONFIG_LIMIT)?;
    // A UTF-8 byte order mark (which Windows editors write) is read as one.
    Ok(Some(text.trim_start_matches('\u{feff}').to_owned()))
}

/// The pair of profile `name`; a warning when the profile holds temporary credentials, which a
/// service cannot use for long.
pub fn from_profile(name: &str, reporter: &dyn Reporter) -> Result<KeyPair> {
    let (pair, temporary) = read_profile(name)?;
    if temporary {
        reporter.warn(&Warning::ProfileSessionToken {
            profile: name.to_owned(),
        });
    }
    Ok(pair)
}

/// The pair of profile `name`, and whether it is temporary (it comes with a session token).
///
/// The AWS SDK resolves the profile, as the AWS CLI would: static keys in the shared
/// credentials file (`AWS_SHARED_CREDENTIALS_FILE`, or `~/.aws/credentials`), and in the config
/// file (`AWS_CONFIG_FILE`, or `~/.aws/config`) `credential_process`, SSO and role profiles. Before
/// that, both files are read within the size limit for configuration, and a profile or key given
/// twice in them is refused rather than one of them silently winning.
pub fn read_profile(name: &str) -> Result<(KeyPair, bool)> {
    let credentials_file = aws_file("AWS_SHARED_CREDENTIALS_FILE", "credentials")?;
    let config_file = aws_file("AWS_CONFIG_FILE", "config")?;
    let credentials = read_aws_file(&credentials_file)?;
    let config = read_aws_file(&config_file)?;
    resolve_profile(
        name,
        (credentials, &credentials_file),
        (config, &config_file),
    )
}

/// Profile `name` of the texts of the credentials and config files (each with its path, for
/// messages).
fn resolve_profile(
    name: &str,
    (credentials, credentials_file): (Option<String>, &std::path::Path),
    (config, config_file): (Option<String>, &std::path::Path),
) -> Result<(KeyPair, bool)> {
    let config_section = match name {
        "default" => "default".to_owned(),
        _ => format!("profile {name}"),
    };
    let mut known = Vec::new();
    let mut found = false;
    for (text, file, section) in [
        (&credentials, credentials_file, name),
        (&config, config_file, config_section.as_str()),
    ] {
        if let Some(text) = text {
            let sections = check_profile(text, section, &file.display().to_string())?;
            found |= sections.iter().any(|s| s == section);
            known.extend(
                sections
                    .into_iter()
                    .map(|s| s.strip_prefix("profile ").map(str::to_owned).unwrap_or(s)),
            );
        }
    }
    if !found {
        known.sort();
        known.dedup();
        let known = match known.is_empty() {
            true => "they have no profiles".to_owned(),
            false => format!("it has: {}", known.join(", ")),
        };
        return Err(Error::invalid(format!(
            "profile `{name}` is not in {} or {}; {known}",
            credentials_file.display(),
            config_file.display()
        )));
    }
    let mut files = aws_runtime::env_config::file::EnvConfigFiles::builder();
    use aws_runtime::env_config::file::EnvConfigFileKind;
    for (text, kind) in [
        (credentials, EnvConfigFileKind::Credentials),
        (config, EnvConfigFileKind::Config),
    ] {
        if let Some(text) = text {
            files = files.with_contents(kind, text);
        }
    }
    let files = files.build();
    let name = name.to_owned();
    // The SDK is async; this stays callable from anywhere, a runtime's thread included.
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|e| Error::io(crate::ErrorKind::Failed, "start a runtime", e))?;
                runtime.block_on(crate::access_keys::profile_pair(&name, files))
            })
            .join()
            .unwrap_or_else(|_| {
                Err(Error::failed(format!(
                    "reading AWS profile `{name}` failed"
                )))
            })
    })
}

/// Checks `[section]` of an AWS file's text: a section or key given twice is refused. Parse
/// errors give the line, never its text. The names of the file's sections.
fn check_profile(text: &str, section_name: &str, file: &str) -> Result<Vec<String>> {
    let ini = ini::Ini::load_from_str_noescape(text).map_err(|e| {
        Error::invalid(format!(
            "{file} is not a valid AWS credentials or config file (line {})",
            e.line
        ))
    })?;
    let sections: Vec<String> = ini.sections().flatten().map(str::to_owned).collect();
    let Some(section) = ini.section(Some(section_name)) else {
        return Ok(sections);
    };
    let twice = |what: String| {
        Error::invalid(format!(
            "{what} more than once in {file}; which one is meant?"
        ))
        .with_remedy(Remedy::Advice("keep one of them".into()))
    };
    if ini.section_all(Some(section_name)).count() > 1 {
        return Err(twice(format!("`[{section_name}]` appears")));
    }
    for (key, _) in section.iter() {
        if section.get_all(key).count() > 1 {
            return Err(twice(format!("`[{section_name}]` sets {key}")));
        }
    }
    Ok(sections)
}

/// The JSON of `aws iam create-access-key` (`{"AccessKey":{"AccessKeyId","SecretAccessKey"}}`)
/// or `{"aws_access_key_id","aws_secret_access_key"}`, read from `what`.
pub fn from_json(bytes: &[u8], what: &str) -> Result<KeyPair> {
    let value: Value = serde_json::from_slice(bytes).map_err(|e| {
        Error::invalid(format!(
            "{what} is not JSON (line {}, column {})",
            e.line(),
            e.column()
        ))
        .with_remedy(Remedy::Advice(
            "give the output of `aws iam create-access-key`, or {\"aws_access_key_id\": ..., \"aws_secret_access_key\": ...}".into(),
        ))
    })?;
    if let Some(key) = duplicate_key(bytes) {
        return Err(Error::invalid(format!(
            "{what} has `{key}` more than once; which one is meant?"
        )));
    }
    let pair = |id: &str, secret: &str| {
        let text = |pointer: &str| value.pointer(pointer).and_then(Value::as_str);
        Some((text(id)?.to_owned(), text(secret)?.to_owned()))
    };
    let found = pair("/AccessKey/AccessKeyId", "/AccessKey/SecretAccessKey")
        .or_else(|| pair("/aws_access_key_id", "/aws_secret_access_key"));
    let Some((id, secret)) = found else {
        return Err(Error::invalid(format!(
            "{what} holds neither {{\"AccessKey\": {{\"AccessKeyId\", \"SecretAccessKey\"}}}} \
             (from `aws iam create-access-key`) nor {{\"aws_access_key_id\", \"aws_secret_access_key\"}} \
             as strings"
        )));
    };
    KeyPair::new(id, secret, what)
}

/// A key of the pair's JSON given twice, which `serde_json::Value` would settle silently by
/// keeping the last. Only the key's name is returned (a name of the shapes below, never a
/// value).
fn duplicate_key(bytes: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    #[allow(dead_code)]
    struct Shapes {
        #[serde(rename = "AccessKey")]
        access_key: Option<CreateAccessKey>,
        aws_access_key_id: Option<serde::de::IgnoredAny>,
        aws_secret_access_key: Option<serde::de::IgnoredAny>,
    }
    #[derive(serde::Deserialize)]
    #[allow(dead_code)]
    #[serde(rename_all = "PascalCase")]
    struct CreateAccessKey {
        access_key_id: Option<serde::de::IgnoredAny>,
        secret_access_key: Option<serde::de::IgnoredAny>,
    }
    let message = serde_json::from_slice::<Shapes>(bytes).err()?.to_string();
    let field = message.strip_prefix("duplicate field `")?;
    let (name, _) = field.split_once('`')?;
    [
        "AccessKey",
        "AccessKeyId",
        "SecretAccessKey",
        "aws_access_key_id",
        "aws_secret_access_key",
    ]
    .contains(&name)
    .then(|| name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    // AWS's own documentation example pair.
    const ID: &str = "AKIAIOSFODNN7EXAMPLE";
    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

    fn check(pair: KeyPair) {
        let [id, secret] = pair.values();
        assert_eq!(id.expose_bytes(), ID.as_bytes());
        assert_eq!(secret.expose_bytes(), SECRET.as_bytes());
        assert_eq!(pair.key_id_tail(), "...MPLE");
    }

    #[test]
    fn both_json_shapes_are_read() {
        let cli = format!(
            r#"{{"AccessKey": {{"UserName": "dse", "AccessKeyId": "{ID}", "Status": "Active",
                "SecretAccessKey": "{SECRET}", "CreateDate": "2026-11-24T10:00:00Z"}}}}"#
        );
        check(from_json(cli.as_bytes(), "standard input").unwrap());
        let plain =
            format!(r#"{{"aws_access_key_id": "{ID}", "aws_secret_access_key": "{SECRET}"}}"#);
        check(from_json(plain.as_bytes(), "standard input").unwrap());
    }

    #[test]
    fn bad_json_never_echoes_its_input() {
        let e = from_json(
            format!("{{\"aws_access_key_id\": \"{SECRET}").as_bytes(),
            "x",
        )
        .unwrap_err();
        assert!(!e.to_string().contains(SECRET), "{e}");
        let e = from_json(
            format!(r#"{{"aws_secret_access_key": "{SECRET}"}}"#).as_bytes(),
            "x",
        )
        .unwrap_err();
        assert!(!e.to_string().contains(SECRET), "{e}");
        let e = from_json(
            format!(r#"{{"aws_access_key_id": 5, "aws_secret_access_key": "{SECRET}"}}"#)
                .as_bytes(),
            "x",
        )
        .unwrap_err();
        assert!(e.to_string().contains("as strings"), "{e}");
    }

    fn profile(name: &str, credentials: &str, config: &str) -> Result<(KeyPair, bool)> {
        let given = |text: &str| (!text.is_empty()).then(|| text.to_owned());
        resolve_profile(
            name,
            (given(credentials), std::path::Path::new("creds")),
            (given(config), std::path::Path::new("conf")),
        )
    }

    /// Profiles are resolved by the AWS SDK: static keys, and `credential_process` in the
    /// config file; a profile in neither file is named with the ones there are.
    #[test]
    fn profiles_are_found_by_name() {
        let text = format!(
            "# work\n[default]\naws_access_key_id = AKIADEFAULTDEFAULT00\naws_secret_access_key = x\n\n\
             [dse]\naws_access_key_id={ID}\naws_secret_access_key = {SECRET}\nregion=eu-west-1\n"
        );
        check(profile("dse", &text, "").unwrap().0);
        let process = format!(
            "[profile ci]\ncredential_process = echo '{{\"Version\": 1, \"AccessKeyId\": \"{ID}\", \"SecretAccessKey\": \"{SECRET}\"}}'\n"
        );
        let (pair, temporary) = profile("ci", &text, &process).unwrap();
        check(pair);
        assert!(!temporary);
        let e = profile("prod", &text, &process).unwrap_err();
        assert!(e.to_string().contains("it has: ci, default, dse"), "{e}");
        let e = profile(
            "dse",
            "[dse]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\n",
            "",
        )
        .unwrap_err();
        assert!(e.to_string().contains("gives no credentials"), "{e}");
    }

    /// Requirement: a key or profile given twice is refused, never settled silently; a byte
    /// order mark is read as one.
    #[test]
    fn duplicates_are_refused_and_a_bom_is_read() {
        let twice = format!(
            r#"{{"aws_access_key_id": "{ID}", "aws_secret_access_key": "{SECRET}", "aws_access_key_id": "AKIAOTHEROTHEROTHER0"}}"#
        );
        let e = from_json(twice.as_bytes(), "standard input").unwrap_err();
        assert!(
            e.to_string()
                .contains("has `aws_access_key_id` more than once"),
            "{e}"
        );
        assert!(!e.to_string().contains(ID), "{e}");
        let nested = format!(
            r#"{{"AccessKey": {{"AccessKeyId": "{ID}", "SecretAccessKey": "{SECRET}", "SecretAccessKey": "x"}}}}"#
        );
        let e = from_json(nested.as_bytes(), "standard input").unwrap_err();
        assert!(
            e.to_string().contains("`SecretAccessKey` more than once"),
            "{e}"
        );

        let key_twice = format!(
            "[dse]\naws_access_key_id = {ID}\naws_secret_access_key = {SECRET}\naws_access_key_id = AKIAOTHEROTHEROTHER0\n"
        );
        let e = profile("dse", &key_twice, "").unwrap_err();
        assert!(
            e.to_string()
                .contains("sets aws_access_key_id more than once"),
            "{e}"
        );
        let profile_twice = format!(
            "[dse]\naws_access_key_id = {ID}\naws_secret_access_key = {SECRET}\n[dse]\nregion = x\n"
        );
        let e = profile("dse", &profile_twice, "").unwrap_err();
        assert!(
            e.to_string().contains("`[dse]` appears more than once"),
            "{e}"
        );

        let bom =
            format!("\u{feff}[dse]\naws_access_key_id = {ID}\naws_secret_access_key = {SECRET}\n");
        let bom = bom.trim_start_matches('\u{feff}');
        check(profile("dse", bom, "").unwrap().0);
        let temporary = format!(
            "[dse]\naws_access_key_id={ID}\naws_secret_access_key={SECRET}\naws_session_token=t\n"
        );
        let (pair, session) = profile("dse", &temporary, "").unwrap();
        check(pair);
        assert!(session, "a session token marks the profile temporary");
        assert!(!profile("dse", bom, "").unwrap().1);
    }

    #[test]
    fn pairs_are_checked_without_quoting_them() {
        let e = KeyPair::new(SECRET.into(), ID.into(), "x").unwrap_err();
        assert!(e.to_string().contains("swapped"), "{e}");
        let e = KeyPair::new("AKIA-short".into(), SECRET.into(), "x").unwrap_err();
        assert!(!e.to_string().contains("AKIA-short"));
        let e = KeyPair::new(ID.into(), format!("{SECRET}\n"), "x").unwrap_err();
        assert!(e.to_string().contains("line breaks"), "{e}");
        assert!(!e.to_string().contains(SECRET));
        assert!(KeyPair::new(ID.into(), String::new(), "x").is_err());
        assert_eq!(tail("AB"), "...AB");
        assert_eq!(shown(ID), ID);
        assert_eq!(shown("hunter2-is-not-a-key-id"), "...y-id");
    }
}
