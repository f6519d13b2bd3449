//! The Data Science Engine package: the service options it actually reads, the spaces rule for
//! the secrets it may mount, and options files written without losing anything.
//!
//! Every published package revision reads S3 settings from `storage.s3`; the documentation's
//! top-level `s3` block is accepted by the package (its root allows unknown keys) and ignored.

use std::io::Write;
use std::path::{Path, PathBuf};

use dcos_secrets_client::SecretPath;
use serde_json::{Map, Value, json};

use crate::error::{Error, ErrorKind, Remedy, Result};
use crate::files::{Temporary, folder, shareable};
use crate::reporter::{Reporter, Warning};

pub mod engine;
pub mod keytab;
pub mod offboard;
pub mod security;
pub mod setup;
pub mod status;
pub mod stores;

/// The package's default service name, and so its default app id `/data-science-engine`.
pub const DEFAULT_SERVICE_NAME: &str = "data-science-engine";
/// The credentials provider that makes Spark read the key pair from the environment, where the
/// package puts the two secrets.
pub const ENV_PROVIDER: &str = "com.amazonaws.auth.EnvironmentVariableCredentialsProvider";

/// A service name: the Marathon app id without its leading `/`, like `data-science-engine` or
/// `analytics/dse`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceName(String);

impl std::fmt::Display for ServiceName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl ServiceName {
    /// Checks the package's rule: words separated by `/`, each of dot-separated labels of
    /// lower-case letters, digits and inner dashes. A leading `/` is dropped.
    pub fn new(text: &str) -> Result<Self> {
        let name = text.strip_prefix('/').unwrap_or(text);
        let label_ok = |label: &str| {
            !label.is_empty()
                && label
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        };
        let valid = !name.is_empty()
            && name
                .split('/')
                .all(|word| word.split('.').all(label_ok) && word != "..");
        if !valid {
            return Err(Error::invalid(format!(
                "`{text}` is not a valid service name: use words of lower-case letters, digits \
                 and dashes (not at either end), separated by `/`"
            )));
        }
        Ok(Self(name.to_owned()))
    }

    /// The name, without a leading `/`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The Marathon app id, `/<name>`.
    pub fn app_id(&self) -> String {
        format!("/{}", self.0)
    }

    /// Whether this is the package's default name.
    pub fn is_default(&self) -> bool {
        self.0 == DEFAULT_SERVICE_NAME
    }

    /// A secret path below the service's own folder, such as `data-science-engine/<name>`.
    pub fn secret_path(&self, name: &str) -> Result<SecretPath> {
        Ok(SecretPath::new(&format!("{}/{name}", self.0))?)
    }
}

/// Whether app `/<service>` may mount `secret`: the secret's folder must be the app's own path
/// or an ancestor of it (DC/OS secret spaces). `aws_key` and `data-science-engine/aws_key` are
/// in the space of `/data-science-engine`; `other/aws_key` and `data-science-engine/x/aws_key`
/// are not.
pub fn in_space(secret: &SecretPath, service: &ServiceName) -> bool {
    crate::consumers::in_space(service.as_str(), secret.as_str())
}

/// Refuses secrets that the app could not mount, unless the caller allowed it; then it is a
/// warning.
///
/// `login_secret`, the service account's login secret, is checked as well; the remedy says
/// when it alone is out of reach, since it is set apart from the key pair.
pub fn check_spaces(
    secrets: &[&SecretPath],
    login_secret: Option<&SecretPath>,
    service: &ServiceName,
    allow_outside: bool,
    reporter: &dyn Reporter,
) -> Result<()> {
    let pair_outside = secrets.iter().any(|s| !in_space(s, service));
    let outside: Vec<String> = secrets
        .iter()
        .copied()
        .chain(login_secret)
        .filter(|s| !in_space(s, service))
        .map(|s| format!("`{s}`"))
        .collect();
    if outside.is_empty() {
        return Ok(());
    }
    let reason = format!(
        "app `{}` cannot use {}: a service may only mount secrets directly in its own folder \
         (`{}/<name>`, not a subfolder of it) or in an ancestor folder, and Marathon refuses \
         the deploy otherwise",
        service.app_id(),
        outside.join(" and "),
        service.as_str(),
    );
    if allow_outside {
        reporter.warn(&Warning::OutsideSpace { reason });
        return Ok(());
    }
    Err(Error::invalid(reason).with_remedy(Remedy::StayInSpace {
        service: service.as_str().to_owned(),
        login_secret_only: !pair_outside,
    }))
}

/// Where the options put the S3 settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Layout {
    /// `storage.s3`, which the package reads.
    #[default]
    Schema,
    /// The documentation's top-level `s3` block, which the package ignores.
    Docs,
}

/// An AWS region name, like `eu-west-1`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsRegion(String);

impl AwsRegion {
    /// Checks the form: lower-case letters, digits and dashes.
    pub fn new(text: &str) -> Result<Self> {
        let valid = !text.is_empty()
            && text
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !valid {
            return Err(Error::invalid(format!(
                "`{text}` is not a region name like eu-west-1"
            )));
        }
        Ok(Self(text.to_owned()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An S3 endpoint: a host name without a scheme (the package's `storage.s3.use_https` decides
/// the scheme).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Endpoint(String);

impl S3Endpoint {
    /// Checks the form: no scheme, no spaces.
    pub fn new(text: &str) -> Result<Self> {
        if text.is_empty() || text.contains("://") || text.contains(char::is_whitespace) {
            return Err(Error::invalid(format!(
                "`{text}` should be a host name, like s3.eu-west-1.amazonaws.com"
            ))
            .with_remedy(Remedy::Advice(
                "without a scheme: the package's storage.s3.use_https decides it".into(),
            )));
        }
        Ok(Self(text.to_owned()))
    }

    /// The host name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// How the S3 options look, as asked for: checked by [`OptionsLayout::check`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OptionsLayout {
    pub layout: Layout,
    /// `storage.s3.aws_region`.
    pub aws_region: Option<AwsRegion>,
    /// `storage.s3.endpoint`.
    pub s3_endpoint: Option<S3Endpoint>,
    /// Accept secret paths the service cannot mount (with a warning).
    pub allow_outside_space: bool,
}

impl OptionsLayout {
    /// Checks that the layout has a place for the region and the endpoint, and warns about the
    /// documentation's layout.
    pub fn check(&self, reporter: &dyn Reporter) -> Result<()> {
        if self.layout == Layout::Docs {
            if self.aws_region.is_some() || self.s3_endpoint.is_some() {
                return Err(Error::invalid(
                    "a region and an endpoint have no place in the documentation's layout",
                )
                .with_remedy(Remedy::UseSchemaLayout));
            }
            reporter.warn(&Warning::DocsLayout);
        }
        Ok(())
    }
}

/// Everything the S3 options say.
#[derive(Debug)]
pub struct S3Settings<'a> {
    pub service_account: &'a str,
    pub service_account_secret: &'a SecretPath,
    pub service: &'a ServiceName,
    pub key_id: &'a SecretPath,
    pub secret_key: &'a SecretPath,
    pub region: Option<&'a str>,
    pub endpoint: Option<&'a str>,
}

/// The service options for S3 access.
pub fn s3_options(settings: &S3Settings<'_>, layout: Layout) -> Value {
    let mut service = json!({
        "service_account": settings.service_account,
        "service_account_secret": settings.service_account_secret.as_str(),
    });
    if !settings.service.is_default() {
        service["name"] = json!(settings.service.as_str());
    }
    let mut s3 = json!({
        "aws_access_key_id": settings.key_id.as_str(),
        "aws_secret_access_key": settings.secret_key.as_str(),
    });
    if let Some(region) = settings.region {
        s3["aws_region"] = json!(region);
    }
    if let Some(endpoint) = settings.endpoint {
        s3["endpoint"] = json!(endpoint);
    }
    let spark = json!({ "spark_hadoop_fs_s3a_aws_credentials_provider": ENV_PROVIDER });
    match layout {
        Layout::Schema => json!({ "service": service, "spark": spark, "storage": { "s3": s3 } }),
        Layout::Docs => json!({ "service": service, "spark": spark, "s3": s3 }),
    }
}

/// Merges `overlay` into `base`: objects key by key, recursively; anything else is replaced.
pub fn merge(base: &mut Value, overlay: &Value) {
    match (base, overlay) {
        (Value::Object(base), Value::Object(overlay)) => {
            for (key, value) in overlay {
                match base.get_mut(key) {
                    Some(existing) => merge(existing, value),
                    None => {
                        base.insert(key.clone(), value.clone());
                    }
                }
            }
        }
        (base, overlay) => *base = overlay.clone(),
    }
}

/// The options rendered as a file: pretty JSON and a final newline.
pub fn render(options: &Value) -> String {
    let mut text = serde_json::to_string_pretty(options).unwrap_or_else(|_| options.to_string());
    text.push('\n');
    text
}

/// Where the options go: nowhere (the caller has them in the report), a new file, or merged
/// into an existing options file.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Destination {
    /// No file: the options are only returned.
    #[default]
    Report,
    /// A file of its own: created, left alone when it holds exactly these options, never
    /// replaced when it holds others.
    Out(PathBuf),
    /// An existing options file, every other key kept.
    MergeInto(PathBuf),
}

/// The service options in the file at `path`: a JSON object.
pub fn read_options(path: &Path) -> Result<Value> {
    let text = crate::files::read_text(path, "the options file", crate::files::OPTIONS_LIMIT)?;
    let value: Value = serde_json::from_str(&text).map_err(|e| {
        Error::invalid(format!(
            "{} is not valid JSON (line {}, column {})",
            path.display(),
            e.line(),
            e.column()
        ))
    })?;
    if !value.is_object() {
        return Err(Error::invalid(format!(
            "{} does not hold a JSON object of service options",
            path.display()
        )));
    }
    Ok(value)
}

/// `options` for `Debug`: OIDC's client secret, the one value options hold, is replaced.
pub(crate) fn redacted(options: &Value) -> Value {
    let mut shown = options.clone();
    if let Some(secret) = shown.pointer_mut("/oidc/client_secret") {
        *secret = Value::String("[REDACTED]".into());
    }
    shown
}

impl Destination {
    /// The existing options of a merge, read and checked before anything else is done.
    pub fn existing(&self) -> Result<Option<Value>> {
        let Self::MergeInto(path) = self else {
            return Ok(None);
        };
        let options = read_options(path).map_err(|e| match e.kind() {
            ErrorKind::Invalid if !path.exists() => e.with_remedy(Remedy::OptionsFileMissing),
            _ => e,
        })?;
        Ok(Some(options))
    }

    /// `overlay` merged into the existing options of a merge (or alone).
    pub fn merged(&self, overlay: Value) -> Result<Value> {
        Ok(match self.existing()? {
            Some(mut base) => {
                merge(&mut base, &overlay);
                base
            }
            None => overlay,
        })
    }

    /// The options of `hdfs options`: `url` added to the service's Hadoop configuration URLs
    /// (those of the options file merged into are kept), ready to write.
    pub fn hdfs(&self, url: &str) -> Result<PreparedOptions> {
        let overlay = hdfs_options(url, self.existing()?.as_ref());
        self.prepare(self.merged(overlay)?)
    }

    /// Settles what writing `options` will do, checking everything that can fail before the
    /// cluster is touched: the file is readable, its folder writable, and an `Out` file would
    /// not replace a different one. For a merge, `options` is the merged whole.
    pub fn prepare(&self, options: Value) -> Result<PreparedOptions> {
        let change = match self {
            Self::Report => FileChange::None,
            Self::Out(path) => match std::fs::File::open(path)
                .and_then(|f| crate::files::read_at_most(f, crate::files::OPTIONS_LIMIT))
            {
                Ok(Some(bytes)) if bytes == render(&options).as_bytes() => FileChange::Unchanged,
                Ok(_) => {
                    return Err(Error::conflict(format!(
                        "{} exists with other content; refusing to replace it",
                        path.display()
                    ))
                    .with_remedy(Remedy::OptionsFileDiffers));
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    check_writable(path)?;
                    FileChange::Write
                }
                Err(e) => {
                    return Err(Error::io(
                        ErrorKind::Invalid,
                        format!("cannot read {}", path.display()),
                        e,
                    ));
                }
            },
            Self::MergeInto(path) => {
                let existing = self.existing()?;
                if existing.as_ref() == Some(&options) {
                    FileChange::Unchanged
                } else {
                    check_replaceable(path)?;
                    FileChange::Write
                }
            }
        };
        // A link is followed: the file it points to is the one replaced, and the link stays.
        let target = match (&change, self) {
            (FileChange::Write, Self::MergeInto(path)) => {
                Some(std::fs::canonicalize(path).map_err(|e| {
                    Error::io(
                        ErrorKind::Invalid,
                        format!("cannot resolve {}", path.display()),
                        e,
                    )
                })?)
            }
            _ => None,
        };
        Ok(PreparedOptions {
            destination: self.clone(),
            options,
            change,
            target,
            private: false,
        })
    }

    /// [`Self::prepare`] for options that may hold a secret value (`private`): their file is
    /// then written readable by its owner alone, a replaced one too.
    pub fn prepare_private(&self, options: Value, private: bool) -> Result<PreparedOptions> {
        let mut prepared = self.prepare(options)?;
        prepared.private = private;
        if private && prepared.change == FileChange::Unchanged {
            // The same options, in a file others may read: written again, owner only.
            prepared.change = match prepared.file().map(crate::files::readable_by_others) {
                Some(true) => FileChange::Write,
                _ => FileChange::Unchanged,
            };
        }
        Ok(prepared)
    }
}

/// What writing the options file will do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileChange {
    /// Nothing: there is no file.
    None,
    /// The file already holds exactly these options.
    Unchanged,
    /// The file is written (atomically).
    Write,
}

/// Options ready to be written, after [`Destination::prepare`]. `Debug` shows no secret value.
#[derive(Clone)]
pub struct PreparedOptions {
    pub destination: Destination,
    /// The options (for `--merge-into`, the whole merged file).
    pub options: Value,
    pub change: FileChange,
    /// The file a merge replaces: the options file, or the file its link points to.
    target: Option<PathBuf>,
    /// The options hold a secret value: the file is readable by its owner alone.
    pub private: bool,
}

impl std::fmt::Debug for PreparedOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PreparedOptions")
            .field("destination", &self.destination)
            .field("options", &redacted(&self.options))
            .field("change", &self.change)
            .field("private", &self.private)
            .finish_non_exhaustive()
    }
}

impl PreparedOptions {
    /// The file, when the options go to one.
    pub fn file(&self) -> Option<&Path> {
        match &self.destination {
            Destination::Report => None,
            Destination::Out(path) | Destination::MergeInto(path) => Some(path),
        }
    }

    /// Writes the file when it changes: a temporary file in the same folder, flushed, then
    /// renamed over the old one, so a reader sees the old file or the new one, never a mix. A
    /// replaced file keeps its permissions; a link keeps pointing to the file, which is
    /// replaced.
    pub fn commit(&self) -> Result<()> {
        let (FileChange::Write, Some(path)) = (self.change, self.file()) else {
            return Ok(());
        };
        let path = self.target.as_deref().unwrap_or(path);
        let failed = |e| {
            Error::io(
                ErrorKind::Failed,
                format!("cannot write {}", path.display()),
                e,
            )
        };
        let mut temp = Temporary::beside(path).map_err(failed)?;
        let file = temp.file();
        file.write_all(render(&self.options).as_bytes())
            .and_then(|()| file.as_file().sync_all())
            .map_err(failed)?;
        match std::fs::metadata(path) {
            _ if self.private => crate::files::owner_only(file.as_file()),
            Ok(meta) => file.as_file().set_permissions(meta.permissions()),
            // A new options file names secrets but holds none.
            Err(_) => shareable(file.as_file()),
        }
        .map_err(failed)?;
        temp.persist(path).map_err(failed)?;
        Ok(())
    }

    /// Writes the file when it changes ([`Self::commit`]), and says what became of it, with
    /// the checks that were made of the configuration files (`hdfs options --check`).
    pub fn write(&self, checks: Vec<crate::hdfs::ConfCheck>) -> Result<OptionsReport> {
        self.commit()?;
        Ok(OptionsReport {
            options: self.options.clone(),
            options_file: self.file().map(|f| f.display().to_string()),
            result: match self.change {
                FileChange::None => "printed",
                FileChange::Unchanged => "unchanged",
                FileChange::Write => "written",
            },
            checks,
        })
    }
}

/// What became of the options of `s3 options`, `hdfs options` and the like.
#[derive(Debug, serde::Serialize)]
pub struct OptionsReport {
    /// The options (for a merge, the whole merged file).
    pub options: Value,
    /// The file they went to, if any.
    pub options_file: Option<String>,
    /// `printed`, `written` or `unchanged`.
    pub result: &'static str,
    /// What each configuration file held, when they were checked.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<crate::hdfs::ConfCheck>,
}

/// Fails unless a file can be created beside `path`, the way [`PreparedOptions::commit`] will.
/// Checks that an existing options file may be replaced: it is not read-only (its mode says
/// that it should not change), and its folder (the folder of the file a link points to) takes
/// a new file.
fn check_replaceable(path: &Path) -> Result<()> {
    let meta = std::fs::metadata(path).map_err(|e| {
        Error::io(
            ErrorKind::Invalid,
            format!("cannot read {}", path.display()),
            e,
        )
    })?;
    if meta.permissions().readonly() {
        return Err(Error::invalid(format!(
            "{} is read-only; refusing to replace it",
            path.display()
        ))
        .with_remedy(Remedy::Advice(
            "make it writable (chmod u+w) if it is meant to change".into(),
        )));
    }
    let target = std::fs::canonicalize(path).map_err(|e| {
        Error::io(
            ErrorKind::Invalid,
            format!("cannot resolve {}", path.display()),
            e,
        )
    })?;
    check_writable(&target)
}

fn check_writable(path: &Path) -> Result<()> {
    if path.is_dir() {
        return Err(Error::invalid(format!("{} is a folder", path.display())));
    }
    tempfile::NamedTempFile::new_in(folder(path))
        .map(drop)
        .map_err(|e| {
            Error::io(
                ErrorKind::Invalid,
                format!("cannot write an options file in {}", folder(path).display()),
                e,
            )
        })
}

/// The options for HDFS: `service.jupyter_conf_urls`, keeping URLs already in `existing`.
pub fn hdfs_options(conf_url: &str, existing: Option<&Value>) -> Value {
    let current = existing
        .and_then(|v| v.pointer("/service/jupyter_conf_urls"))
        .and_then(Value::as_str)
        .unwrap_or_default();
    let mut urls: Vec<&str> = current
        .split(',')
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .collect();
    if !urls.contains(&conf_url) {
        urls.push(conf_url);
    }
    let mut service = Map::new();
    service.insert("jupyter_conf_urls".into(), json!(urls.join(",")));
    json!({ "service": service })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reporter::Silent;

    /// Keeps the warnings it gets.
    #[derive(Default)]
    struct Collect(std::sync::Mutex<Vec<Warning>>);

    impl Reporter for Collect {
        fn warn(&self, warning: &Warning) {
            self.0.lock().unwrap().push(warning.clone());
        }
    }

    fn path(s: &str) -> SecretPath {
        SecretPath::new(s).unwrap()
    }

    #[test]
    fn the_spaces_rule_follows_the_app_path() {
        let dse = ServiceName::new("data-science-engine").unwrap();
        assert!(in_space(&path("aws_key"), &dse));
        assert!(in_space(&path("data-science-engine/aws_key"), &dse));
        assert!(!in_space(&path("other/aws_key"), &dse));
        assert!(!in_space(&path("data-science-engine/x/aws_key"), &dse));
        let nested = ServiceName::new("/group/hdfs/service").unwrap();
        assert!(in_space(&path("group/secret"), &nested));
        assert!(in_space(&path("group/hdfs/secret"), &nested));
        assert!(!in_space(&path("group/spark/secret"), &nested));
        assert!(!in_space(&path("data-science-engine-2/key"), &dse));
    }

    #[test]
    fn service_names_follow_the_package_rule() {
        for good in ["data-science-engine", "/dse", "team/dse-2", "a.b/c"] {
            assert!(ServiceName::new(good).is_ok(), "{good}");
        }
        for bad in [
            "", "/", "DSE", "-dse", "dse-", "a//b", "a/../b", "dse_1", "a/",
        ] {
            assert!(ServiceName::new(bad).is_err(), "{bad}");
        }
        assert_eq!(ServiceName::new("/team/dse").unwrap().app_id(), "/team/dse");
    }

    #[test]
    fn outside_the_space_is_refused_or_warned() {
        let dse = ServiceName::new(DEFAULT_SERVICE_NAME).unwrap();
        let other = path("other/key");
        let e = check_spaces(&[&other], None, &dse, false, &Silent).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Invalid);
        assert!(e.full_message().contains("`other/key`"), "{e}");
        assert!(matches!(e.remedy(), Some(Remedy::StayInSpace { .. })));
        let warnings = Collect::default();
        check_spaces(&[&other], None, &dse, true, &warnings).unwrap();
        assert!(matches!(
            warnings.0.lock().unwrap()[..],
            [Warning::OutsideSpace { .. }]
        ));
    }

    fn settings<'a>(
        service: &'a ServiceName,
        sa_secret: &'a SecretPath,
        key_id: &'a SecretPath,
        secret_key: &'a SecretPath,
    ) -> S3Settings<'a> {
        S3Settings {
            service_account: "dse",
            service_account_secret: sa_secret,
            service,
            key_id,
            secret_key,
            region: None,
            endpoint: None,
        }
    }

    #[test]
    fn the_schema_layout_uses_storage_s3() {
        let dse = ServiceName::new(DEFAULT_SERVICE_NAME).unwrap();
        let (sa, id, key) = (path("dse/sa"), path("dse/id"), path("dse/key"));
        let mut s = settings(&dse, &sa, &id, &key);
        s.region = Some("eu-west-1");
        let options = s3_options(&s, Layout::Schema);
        assert_eq!(
            options,
            json!({
                "service": {"service_account": "dse", "service_account_secret": "dse/sa"},
                "spark": {"spark_hadoop_fs_s3a_aws_credentials_provider": ENV_PROVIDER},
                "storage": {"s3": {"aws_access_key_id": "dse/id", "aws_secret_access_key": "dse/key",
                                   "aws_region": "eu-west-1"}}
            })
        );
        let named = ServiceName::new("team/dse").unwrap();
        let options = s3_options(&settings(&named, &sa, &id, &key), Layout::Docs);
        assert_eq!(options["service"]["name"], "team/dse");
        assert_eq!(options["s3"]["aws_access_key_id"], "dse/id");
        assert!(options.get("storage").is_none());
    }

    #[test]
    fn merging_keeps_other_keys() {
        let mut base =
            json!({"service": {"name": "x", "cpus": 2}, "spark": {"a": 1}, "other": [1]});
        merge(
            &mut base,
            &json!({"service": {"cpus": 4, "service_account": "sa"}, "storage": {"s3": {}}}),
        );
        assert_eq!(
            base,
            json!({"service": {"name": "x", "cpus": 4, "service_account": "sa"},
                   "spark": {"a": 1}, "other": [1], "storage": {"s3": {}}})
        );
    }

    #[test]
    fn files_are_written_atomically_and_only_when_they_change() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("options.json");
        let options = json!({"service": {"service_account": "sa"}});
        let out = Destination::Out(file.clone());
        let prepared = out.prepare(options.clone()).unwrap();
        assert_eq!(prepared.change, FileChange::Write);
        prepared.commit().unwrap();
        assert_eq!(std::fs::read_to_string(&file).unwrap(), render(&options));
        assert_eq!(
            out.prepare(options.clone()).unwrap().change,
            FileChange::Unchanged
        );
        let other = out.prepare(json!({})).unwrap_err();
        assert_eq!(other.kind(), ErrorKind::Conflict);

        std::fs::write(&file, "{\"service\": {\"cpus\": 1}, \"x\": true}").unwrap();
        let into = Destination::MergeInto(file.clone());
        let mut merged = into.existing().unwrap().unwrap();
        merge(&mut merged, &options);
        into.prepare(merged).unwrap().commit().unwrap();
        let written: Value =
            serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        assert_eq!(
            written,
            json!({"service": {"cpus": 1, "service_account": "sa"}, "x": true})
        );
        let leftovers = std::fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(leftovers, 1, "no temporary file is left behind");

        std::fs::write(&file, "{not json").unwrap();
        let e = into.existing().unwrap_err();
        assert!(e.to_string().contains("not valid JSON"), "{e}");
        let missing = Destination::MergeInto(dir.path().join("none.json"));
        assert_eq!(missing.existing().unwrap_err().kind(), ErrorKind::Invalid);
    }

    /// OIDC's client secret, the one value options hold, never shows in `Debug`.
    #[test]
    fn prepared_options_show_no_secret_in_debug() {
        let options = json!({"oidc": {"client_secret": "s3cr3t"}, "service": {"name": "x"}});
        let prepared = Destination::Report.prepare(options).unwrap();
        let shown = format!("{prepared:?}");
        assert!(
            !shown.contains("s3cr3t") && shown.contains("[REDACTED]"),
            "{shown}"
        );
        assert!(shown.contains("\"x\""), "{shown}");
    }

    /// Options that hold a secret value go to a file its owner alone reads: a new one, a merged
    /// one, and one that already holds them but others could read.
    #[cfg(unix)]
    #[test]
    fn options_holding_a_secret_are_readable_by_their_owner_alone() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let mode = |path: &Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
        let options = json!({"oidc": {"client_secret": "s3cr3t"}});
        let file = dir.path().join("new.json");
        let out = Destination::Out(file.clone());
        out.prepare_private(options.clone(), true)
            .unwrap()
            .commit()
            .unwrap();
        assert_eq!(mode(&file), 0o600);

        let shared = dir.path().join("shared.json");
        std::fs::write(&shared, render(&options)).unwrap();
        std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o644)).unwrap();
        let same = Destination::Out(shared.clone()).prepare_private(options.clone(), true);
        let same = same.unwrap();
        assert_eq!(
            same.change,
            FileChange::Write,
            "the same options, but readable by others"
        );
        same.commit().unwrap();
        assert_eq!(mode(&shared), 0o600);
        assert_eq!(std::fs::read_to_string(&shared).unwrap(), render(&options));

        let merged = dir.path().join("merged.json");
        std::fs::write(&merged, "{\"x\": 1}").unwrap();
        std::fs::set_permissions(&merged, std::fs::Permissions::from_mode(0o664)).unwrap();
        let into = Destination::MergeInto(merged.clone());
        let mut whole = into.existing().unwrap().unwrap();
        merge(&mut whole, &options);
        into.prepare_private(whole, true).unwrap().commit().unwrap();
        assert_eq!(mode(&merged), 0o600);
        // Without a secret, a replaced file keeps its mode.
        let plain = Destination::MergeInto(merged.clone());
        std::fs::set_permissions(&merged, std::fs::Permissions::from_mode(0o640)).unwrap();
        plain
            .prepare_private(json!({"x": 2}), false)
            .unwrap()
            .commit()
            .unwrap();
        assert_eq!(mode(&merged), 0o640);
    }

    /// Requirement: a merge through a link replaces the file the link points to (the link
    /// stays a link); a read-only file is refused before anything is done.
    #[cfg(unix)]
    #[test]
    fn a_merge_follows_links_and_respects_read_only_files() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("real")).unwrap();
        let target = dir.path().join("real/options.json");
        std::fs::write(&target, "{\"x\": true}").unwrap();
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o640)).unwrap();
        let link = dir.path().join("options.json");
        std::os::unix::fs::symlink("real/options.json", &link).unwrap();
        let into = Destination::MergeInto(link.clone());
        let mut merged = into.existing().unwrap().unwrap();
        merge(&mut merged, &json!({"service": {"name": "a"}}));
        into.prepare(merged.clone()).unwrap().commit().unwrap();
        assert!(
            std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        let written: Value =
            serde_json::from_str(&std::fs::read_to_string(&target).unwrap()).unwrap();
        assert_eq!(written, merged);
        let mode = std::fs::metadata(&target).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o640);
        assert_eq!(
            std::fs::read_dir(dir.path().join("real")).unwrap().count(),
            1
        );

        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o440)).unwrap();
        let mut changed = merged.clone();
        merge(&mut changed, &json!({"service": {"name": "b"}}));
        let e = into.prepare(changed).unwrap_err();
        assert!(
            e.to_string()
                .contains("is read-only; refusing to replace it"),
            "{e}"
        );
        let kept: Value = serde_json::from_str(&std::fs::read_to_string(&target).unwrap()).unwrap();
        assert_eq!(kept, merged);
    }

    #[test]
    fn hdfs_urls_are_added_to_the_list() {
        let url = "http://api.hdfs.marathon.l4lb.thisdcos.directory/v1/endpoints";
        assert_eq!(hdfs_options(url, None)["service"]["jupyter_conf_urls"], url);
        let existing = json!({"service": {"jupyter_conf_urls": "http://a/jaas.conf, "}});
        assert_eq!(
            hdfs_options(url, Some(&existing))["service"]["jupyter_conf_urls"],
            format!("http://a/jaas.conf,{url}")
        );
        let again = json!({"service": {"jupyter_conf_urls": url}});
        assert_eq!(
            hdfs_options(url, Some(&again))["service"]["jupyter_conf_urls"],
            url
        );
    }
}
