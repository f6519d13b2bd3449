//! The `dcos` CLI's attached cluster: `~/.dcos/clusters/<id>/dcos.toml` beside a file named
//! `attached` (`DCOS_DIR` replaces `~/.dcos`), so that a user with a working
//! `dcos cluster setup` needs no extra step.

use std::path::{Path, PathBuf};

use secrecy::SecretString;
use serde::Deserialize;

use crate::error::{Error, Result};

/// What the attached cluster's configuration says.
#[derive(Debug)]
pub struct AttachedCluster {
    /// `core.dcos_url`.
    pub url: Option<String>,
    /// `core.dcos_acs_token`.
    pub token: Option<SecretString>,
    /// `core.ssl_verify`.
    pub ssl_verify: SslVerify,
    /// The file it came from.
    pub file: PathBuf,
}

/// `core.ssl_verify`: `true`, `false`, or the path of a CA bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SslVerify {
    /// Verify against the system's roots.
    Yes,
    /// Do not verify.
    No,
    /// Verify against this CA bundle.
    CaFile(PathBuf),
}

#[derive(Deserialize)]
struct File {
    #[serde(default)]
    core: Core,
}

#[derive(Default, Deserialize)]
struct Core {
    dcos_url: Option<String>,
    dcos_acs_token: Option<String>,
    ssl_verify: Option<toml::Value>,
}

/// The command line of a plugin, without the command the `dcos` CLI puts first when it runs
/// it (`dcos creds whoami` runs `dcos-creds creds whoami`, for the plugin command `creds`).
pub fn plugin_arguments(
    args: impl IntoIterator<Item = std::ffi::OsString>,
    command: &str,
) -> Vec<std::ffi::OsString> {
    let mut args: Vec<std::ffi::OsString> = args.into_iter().collect();
    if args.get(1).is_some_and(|a| a == command) {
        args.remove(1);
    }
    args
}

/// The attached cluster's configuration in the `dcos` CLI's folder `dir`, if it has one.
pub fn attached(dir: &Path) -> Result<Option<AttachedCluster>> {
    let Ok(clusters) = std::fs::read_dir(dir.join("clusters")) else {
        return Ok(None);
    };
    let found = clusters
        .flatten()
        .map(|cluster| cluster.path())
        .find(|path| path.join("attached").is_file())
        .map(|path| path.join("dcos.toml"));
    match found {
        Some(file) if file.is_file() => read(&file).map(Some),
        _ => Ok(None),
    }
}

fn read(file: &Path) -> Result<AttachedCluster> {
    let bad = |why: String| Error::File {
        what: "the dcos CLI configuration".to_owned(),
        file: file.to_owned(),
        why,
    };
    let bytes = crate::read_file(file).map_err(bad)?;
    let text = String::from_utf8(bytes).map_err(|_| bad("not UTF-8 text".into()))?;
    // The parser's message without its excerpt of the file, which may be the token's line.
    let parsed: File = toml::from_str(&text).map_err(|e| bad(e.message().to_owned()))?;
    let ssl_verify = match parsed.core.ssl_verify {
        None | Some(toml::Value::Boolean(true)) => SslVerify::Yes,
        Some(toml::Value::Boolean(false)) => SslVerify::No,
        Some(toml::Value::String(s)) => match s.trim() {
            "" | "true" | "True" => SslVerify::Yes,
            "false" | "False" => SslVerify::No,
            path => SslVerify::CaFile(PathBuf::from(path)),
        },
        Some(other) => return Err(bad(format!("core.ssl_verify: unexpected value {other}"))),
    };
    Ok(AttachedCluster {
        url: parsed.core.dcos_url.filter(|u| !u.is_empty()),
        token: parsed
            .core
            .dcos_acs_token
            .filter(|t| !t.is_empty())
            .map(SecretString::from),
        ssl_verify,
        file: file.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    fn parse(text: &str) -> Result<AttachedCluster> {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("dcos.toml");
        std::fs::write(&file, text).unwrap();
        read(&file)
    }

    #[test]
    fn reads_url_token_and_ssl_verify() {
        let c = parse(
            "[core]\ndcos_url = \"https://m1\"\ndcos_acs_token = \"tok\"\nssl_verify = \"/etc/ca.crt\"\n",
        )
        .unwrap();
        assert_eq!(c.url.as_deref(), Some("https://m1"));
        assert_eq!(c.token.unwrap().expose_secret(), "tok");
        assert_eq!(c.ssl_verify, SslVerify::CaFile("/etc/ca.crt".into()));
        let c = parse("[core]\nssl_verify = \"false\"\n").unwrap();
        assert_eq!(c.ssl_verify, SslVerify::No);
        assert!(c.url.is_none() && c.token.is_none());
        assert_eq!(parse("").unwrap().ssl_verify, SslVerify::Yes);
    }

    #[test]
    fn a_broken_file_is_named_and_never_quoted() {
        let e = parse("[core]\ndcos_acs_token = \"secret-token\ngarbage").unwrap_err();
        assert!(matches!(e, Error::File { .. }), "{e:?}");
        let message = e.to_string();
        assert!(message.contains("dcos.toml"), "{message}");
        assert!(!message.contains("secret-token"), "{message}");
    }
}
