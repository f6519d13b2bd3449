//! The secrets file of D2iQ's `dcos-migrate` backup: plaintext JSON,
//! `{"secrets": [{"path", "key", "type": "text"|"binary", "value": base64}]}`.

use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use dcos_secrets_client::{SecretPath, SecretValue};
use serde::Deserialize;

use super::Contents;
use crate::error::{Error, Result};

/// The largest file read whole: 1 GiB.
const FILE_LIMIT: u64 = 1 << 30;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    secrets: Vec<Entry>,
}

#[derive(Deserialize)]
struct Entry {
    #[serde(default)]
    path: String,
    #[serde(default)]
    key: String,
    #[serde(rename = "type")]
    kind: Kind,
    value: String,
}

#[derive(Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
enum Kind {
    Text,
    Binary,
}

/// The secrets of a `dcos-migrate` secrets backup. Each secret's path is its `path` and `key`
/// joined, empty parts dropped; a text value must be UTF-8.
pub fn from_dcos_migrate(file: &Path) -> Result<Contents> {
    let text = crate::files::read(file, "the dcos-migrate secrets file", FILE_LIMIT)?;
    let bad = |why: String| Error::invalid(format!("{}: {why}", file.display()));
    // serde's message may quote a value: only where the file broke is said.
    let parsed: File = serde_json::from_slice(&text).map_err(|e| {
        bad(format!(
            "not a dcos-migrate secrets file ({:?} error at line {}, column {})",
            e.classify(),
            e.line(),
            e.column()
        ))
    })?;
    let mut contents = Contents::default();
    for (i, entry) in parsed.secrets.into_iter().enumerate() {
        let joined: Vec<&str> = (entry.path.split('/').chain(entry.key.split('/')))
            .filter(|part| !part.is_empty())
            .collect();
        let path = SecretPath::new(&joined.join("/"))
            .map_err(|e| bad(format!("secret {}: {e}", i + 1)))?;
        let bytes = STANDARD
            .decode(entry.value.trim())
            .map_err(|_| bad(format!("secret `{path}`: the value is not base64")))?;
        let value = SecretValue::from_bytes(bytes, entry.kind == Kind::Binary)
            .map_err(|e| bad(format!("secret `{path}`: {e}")))?;
        if contents.secrets.insert(path.to_string(), value).is_some() {
            return Err(bad(format!("secret `{path}` is in it twice")));
        }
    }
    Ok(contents)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    #[test]
    fn paths_join_without_empty_parts_and_values_decode() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("secrets.json");
        let doc = serde_json::json!({"secrets": [
            {"path": "/team/", "key": "aws", "type": "text", "value": STANDARD.encode("v1\n")},
            {"path": "", "key": "top", "type": "binary", "value": STANDARD.encode([0u8, 200])},
        ]});
        std::fs::write(&file, doc.to_string()).unwrap();
        let contents = from_dcos_migrate(&file).unwrap();
        assert_eq!(contents.secrets["team/aws"], SecretValue::text("v1\n"));
        assert_eq!(contents.secrets["top"], SecretValue::binary(vec![0, 200]));

        let bad = serde_json::json!({"secrets": [
            {"path": "a", "key": "b", "type": "text", "value": STANDARD.encode([0xffu8])}
        ]});
        std::fs::write(&file, bad.to_string()).unwrap();
        let error = from_dcos_migrate(&file).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Invalid);
        assert!(error.to_string().contains("`a/b`"), "{error}");
    }
}
