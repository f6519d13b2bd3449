//! DC/OS secrets as Kubernetes `v1` `Secret`s, named as D2iQ's `dcos-migrate` names them, so
//! that the apps it migrates find them.
//!
//! - `metadata.name`: the path's parts as a DNS-1123 subdomain. Each part is split at its dots;
//!   each piece loses what is not ASCII, has every character other than a letter, digit or `-`
//!   turned into `-`, gets an `x` in front unless it starts with a letter (an empty piece is
//!   `x`), and is cut into labels of at most 63 characters (one ending in `-` ends in `0`
//!   instead). The labels are joined with dots, cut to 253 characters without a trailing dot
//!   or dash, and lower-cased.
//! - The annotation `migration.dcos.d2iq.com/secret-path` holds the DC/OS path.
//! - One `data` key: the path's parts joined with dots, every character other than a letter,
//!   digit, `-`, `_` or `.` turned into `_`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Serialize;

use super::Contents;
use crate::error::{Error, ErrorKind, Result};

/// The annotation that holds a secret's DC/OS path.
pub const PATH_ANNOTATION: &str = "migration.dcos.d2iq.com/secret-path";

const LABEL: usize = 63;
const SUBDOMAIN: usize = 253;

/// The `metadata.name` of the secret at `path`.
pub fn secret_name(path: &str) -> String {
    let mut labels = Vec::new();
    for part in path.split('/').filter(|p| !p.is_empty()) {
        for piece in part.split('.') {
            let mut piece: String = piece
                .chars()
                .filter(char::is_ascii)
                .map(|c| {
                    if c.is_ascii_alphanumeric() || c == '-' {
                        c
                    } else {
                        '-'
                    }
                })
                .collect();
            if !piece.starts_with(|c: char| c.is_ascii_alphabetic()) {
                piece.insert(0, 'x');
            }
            let chars: Vec<char> = piece.chars().collect();
            for chunk in chars.chunks(LABEL) {
                let mut label: String = chunk.iter().collect();
                if label.ends_with('-') {
                    label.pop();
                    label.push('0');
                }
                labels.push(label);
            }
        }
    }
    let mut name: String = labels.join(".").chars().take(SUBDOMAIN).collect();
    while name.ends_with(['.', '-']) {
        name.pop();
    }
    name.to_ascii_lowercase()
}

/// The `data` key of the secret at `path`.
pub fn data_key(path: &str) -> String {
    let joined: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    joined
        .join(".")
        .chars()
        .map(
            |c| match c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                true => c,
                false => '_',
            },
        )
        .collect()
}

/// `name` with `-n` at its end, still a subdomain: the last label and the whole shortened to
/// fit.
fn suffixed(name: &str, n: usize) -> String {
    let suffix = format!("-{n}");
    let (head, last) = match name.rsplit_once('.') {
        Some((head, last)) => (Some(head), last),
        None => (None, name),
    };
    let room = LABEL - suffix.len();
    let mut last: String = last.chars().take(room).collect();
    if let Some(head) = head {
        let room = SUBDOMAIN - suffix.len() - last.len() - 1;
        let mut head: String = head.chars().take(room).collect();
        while head.ends_with(['.', '-']) {
            head.pop();
        }
        last = format!("{head}.{last}");
    }
    format!("{last}{suffix}")
}

/// A namespace: a DNS-1123 label.
pub fn check_namespace(namespace: &str) -> Result<()> {
    let ok = !namespace.is_empty()
        && namespace.len() <= LABEL
        && namespace
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !namespace.starts_with('-')
        && !namespace.ends_with('-');
    match ok {
        true => Ok(()),
        false => Err(Error::invalid(format!(
            "`{namespace}` is not a Kubernetes namespace: lower-case letters, digits and `-`, \
             at most 63, starting and ending with a letter or digit"
        ))),
    }
}

/// One exported secret.
#[derive(Debug, Clone, Serialize)]
pub struct Exported {
    /// The DC/OS path.
    pub path: String,
    /// `metadata.name`.
    pub name: String,
    /// The `data` key.
    pub key: String,
    pub file: String,
    /// Whether the name took a suffix because another path had it.
    pub renamed: bool,
}

/// What an export wrote, and what it left out because Kubernetes has no equivalent.
#[derive(Debug, Clone, Serialize)]
pub struct ExportReport {
    pub namespace: String,
    pub dir: String,
    pub secrets: Vec<Exported>,
    /// Users, service accounts, groups and the ACLs with their grants: by id, not exported.
    pub not_exported: BTreeMap<&'static str, Vec<String>>,
}

impl std::fmt::Display for ExportReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use crate::text::count;
        writeln!(
            f,
            "wrote {} for namespace {} to {}",
            count(self.secrets.len(), "Secret", "Secrets"),
            self.namespace,
            self.dir
        )?;
        for e in self.secrets.iter().filter(|e| e.renamed) {
            writeln!(f, "renamed: {} is {} (its name was taken)", e.path, e.name)?;
        }
        let left: Vec<String> = (self.not_exported.iter())
            .filter(|(_, ids)| !ids.is_empty())
            .map(|(kind, ids)| count(ids.len(), kind.trim_end_matches('s'), kind))
            .collect();
        if !left.is_empty() {
            writeln!(
                f,
                "no Kubernetes equivalent, not exported: {}",
                left.join(", ")
            )?;
        }
        Ok(())
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SecretDoc<'a> {
    api_version: &'static str,
    kind: &'static str,
    metadata: Metadata<'a>,
    #[serde(rename = "type")]
    kind_of_secret: &'static str,
    data: BTreeMap<&'a str, String>,
}

#[derive(Serialize)]
struct Metadata<'a> {
    name: &'a str,
    namespace: &'a str,
    annotations: BTreeMap<&'static str, &'a str>,
}

/// Writes one `<name>.yaml` per secret of `contents` into `dir` (created 0700 if missing),
/// each 0600 (a name over 250 characters is cut and numbered in the file's name). Refuses before writing anything when one of the files exists.
pub fn export(contents: &Contents, namespace: &str, dir: &Path) -> Result<ExportReport> {
    check_namespace(namespace)?;
    let mut taken = BTreeSet::new();
    let mut secrets = Vec::new();
    for path in contents.secrets.keys() {
        let base = secret_name(path);
        let mut name = base.clone();
        let mut n = 1;
        while !taken.insert(name.clone()) {
            n += 1;
            name = suffixed(&base, n);
        }
        // A file name has at most 255 bytes: a longer name is cut, and numbered to stay
        // apart.
        let stem = match name.len() {
            ..=250 => name.clone(),
            _ => format!("{}-{}", &name[..240], secrets.len() + 1),
        };
        let file = dir.join(format!("{stem}.yaml"));
        secrets.push(Exported {
            path: path.clone(),
            key: data_key(path),
            file: file.display().to_string(),
            renamed: name != base,
            name,
        });
    }
    for e in &secrets {
        crate::files::ensure_absent(Path::new(&e.file))?;
    }
    create_dir(dir)?;
    for e in &secrets {
        let value = &contents.secrets[&e.path];
        let doc = SecretDoc {
            api_version: "v1",
            kind: "Secret",
            metadata: Metadata {
                name: &e.name,
                namespace,
                annotations: BTreeMap::from([(PATH_ANNOTATION, e.path.as_str())]),
            },
            kind_of_secret: "Opaque",
            data: BTreeMap::from([(e.key.as_str(), STANDARD.encode(value.expose_bytes()))]),
        };
        let yaml = serde_norway::to_string(&doc)
            .map_err(|e| Error::failed(format!("cannot write a Secret as YAML: {e}")))?;
        crate::files::write_new(Path::new(&e.file), yaml.as_bytes(), true)?;
    }
    let of_kind = |kind| {
        (contents.users.values())
            .filter(|u| u.kind == kind)
            .map(|u| u.uid.clone())
            .collect()
    };
    let grants = (contents.acls.values())
        .flat_map(|a| {
            let users = a
                .users
                .iter()
                .flat_map(|(u, acts)| acts.iter().map(move |x| format!("{} {x} {u}", a.rid)));
            let groups = a
                .groups
                .iter()
                .flat_map(|(g, acts)| acts.iter().map(move |x| format!("{} {x} group:{g}", a.rid)));
            users.chain(groups).collect::<Vec<_>>()
        })
        .collect();
    let not_exported = BTreeMap::from([
        ("users", of_kind(super::AccountKind::User)),
        ("remote users", of_kind(super::AccountKind::Remote)),
        ("service accounts", of_kind(super::AccountKind::Service)),
        ("groups", contents.groups.keys().cloned().collect()),
        ("ACLs", contents.acls.keys().cloned().collect()),
        ("grants", grants),
    ]);
    Ok(ExportReport {
        namespace: namespace.to_owned(),
        dir: dir.display().to_string(),
        secrets,
        not_exported,
    })
}

fn create_dir(dir: &Path) -> Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).map_err(|e| {
        Error::io(
            ErrorKind::Failed,
            format!("cannot create {}", dir.display()),
            e,
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use dcos_secrets_client::SecretValue;

    fn is_subdomain(name: &str) -> bool {
        !name.is_empty()
            && name.len() <= SUBDOMAIN
            && name.split('.').all(|l| {
                !l.is_empty()
                    && l.len() <= LABEL
                    && l.chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                    && !l.starts_with('-')
                    && !l.ends_with('-')
            })
    }

    #[test]
    fn names_and_keys_follow_the_rules() {
        let long = format!("team/{}", "a".repeat(300));
        let table = [
            ("a/b", "a.b", "a.b"),
            ("A_B", "a-b", "A_B"),
            ("9x", "x9x", "9x"),
            ("team/db.password", "team.db.password", "team.db.password"),
            ("svc/key-", "svc.key0", "svc.key-"),
            ("dev/my secret!", "dev.my-secret0", "dev.my_secret_"),
        ];
        for (path, name, key) in table {
            assert_eq!(secret_name(path), name, "{path}");
            assert_eq!(data_key(path), key, "{path}");
            assert!(is_subdomain(&secret_name(path)), "{path}");
        }
        let name = secret_name(&long);
        assert!(name.len() <= SUBDOMAIN && is_subdomain(&name), "{name}");
        assert!(name.starts_with("team.aaaa"), "{name}");
        assert!(name.split('.').skip(1).all(|l| l.len() <= LABEL));
    }

    #[test]
    fn collisions_take_a_suffix_and_every_file_decodes_back() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("k8s");
        let mut contents = Contents::default();
        contents
            .secrets
            .insert("A_B".into(), SecretValue::text("one"));
        contents
            .secrets
            .insert("a-b".into(), SecretValue::binary(vec![0, 1, 255]));
        let long = "x".repeat(250);
        contents
            .secrets
            .insert(format!("{long}/p"), SecretValue::text("l1"));
        contents
            .secrets
            .insert(format!("{long}/q"), SecretValue::text("l2"));
        let report = export(&contents, "apps", &out).unwrap();
        let names: BTreeSet<&str> = report.secrets.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names.len(), 4, "{names:?}");
        assert_eq!(report.secrets.iter().filter(|e| e.renamed).count(), 2);
        for e in &report.secrets {
            assert!(is_subdomain(&e.name), "{}", e.name);
            let text = std::fs::read_to_string(&e.file).unwrap();
            let doc: serde_json::Value = serde_norway::from_str(&text).unwrap();
            assert_eq!(
                doc["metadata"]["annotations"][PATH_ANNOTATION],
                e.path.as_str()
            );
            let data = doc["data"][&e.key].as_str().unwrap();
            let bytes = STANDARD.decode(data).unwrap();
            assert_eq!(bytes, contents.secrets[&e.path].expose_bytes());
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let mode = std::fs::metadata(&e.file).unwrap().permissions().mode();
                assert_eq!(mode & 0o777, 0o600);
            }
        }
        let again = export(&contents, "apps", &out).unwrap_err();
        assert_eq!(again.kind(), ErrorKind::Conflict);
        assert!(export(&contents, "Bad_NS", &out).is_err());
    }
}
