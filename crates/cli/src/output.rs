//! What commands print: data on standard output (text, or JSON from the structs below),
//! messages on standard error. No struct here holds a secret value except [`SecretOut`], which
//! is what `secret get -o json` was asked for.

use std::io::Write;

use serde::Serialize;

use crate::args::Output;
use crate::exit::{self, Failure};

/// Where output goes, and how it looks.
#[derive(Debug, Clone, Copy)]
pub struct Ui {
    /// Text or JSON.
    pub format: Output,
    quiet: bool,
}

impl Ui {
    /// A UI with the global options' format and quietness.
    pub fn new(format: Output, quiet: bool) -> Self {
        Self { format, quiet }
    }

    /// Whether JSON was asked for.
    pub fn json(&self) -> bool {
        self.format == Output::Json
    }

    /// A progress or status message on standard error (not with `-q`).
    pub fn info(&self, message: impl std::fmt::Display) {
        if !self.quiet {
            eprintln!("{message}");
        }
    }

    /// A warning on standard error (not with `-q`).
    pub fn warn(&self, message: impl std::fmt::Display) {
        if !self.quiet {
            eprintln!("warning: {message}");
        }
    }

    /// Prints `value` as JSON, or `text` (a closure, so it is only built when needed).
    pub fn emit<T: Serialize>(&self, value: &T, text: impl FnOnce() -> String) -> exit::Result<()> {
        let mut rendered = if self.json() {
            serde_json::to_string_pretty(value)
                .map_err(|e| Failure::new(exit::FAILURE, format!("cannot render JSON: {e}")))?
        } else {
            text()
        };
        if rendered.is_empty() {
            return Ok(());
        }
        if !rendered.ends_with('\n') {
            rendered.push('\n');
        }
        write_stdout(rendered.as_bytes())
    }
}

/// Writes bytes to standard output, as they are.
pub fn write_stdout(bytes: &[u8]) -> exit::Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        // A closed pipe (`| head`) is the reader's choice, not a failure.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Failure::new(
            exit::FAILURE,
            format!("cannot write to standard output: {e}"),
        )),
    }
}

/// Lays out rows in aligned columns under a header.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let mut out = String::new();
        for (i, (cell, w)) in cells.iter().zip(&widths).enumerate() {
            if i + 1 == cells.len() {
                out.push_str(cell);
            } else {
                out.push_str(&format!("{cell:<w$}  "));
            }
        }
        out.trim_end().to_owned() + "\n"
    };
    let mut out = line(header.to_vec());
    for row in rows {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    out
}

/// `login`.
#[derive(Debug, Serialize)]
pub struct LoginReport {
    pub cluster: String,
    pub uid: String,
    pub service_account: bool,
    pub expires_at: Option<String>,
    /// `keyring`, or `stdout` with `--print-token`.
    pub saved_to: &'static str,
}

/// `logout`.
#[derive(Debug, Serialize)]
pub struct LogoutReport {
    pub cluster: String,
    pub removed: bool,
}

/// `whoami`.
#[derive(Debug, Serialize)]
pub struct WhoamiReport {
    pub cluster: String,
    pub uid: String,
    /// `None` when the account may not read its own record.
    pub service_account: Option<bool>,
    pub token_source: &'static str,
    pub expires_at: Option<String>,
    pub expires_in_seconds: Option<i64>,
}

/// `ca fetch`.
#[derive(Debug, Serialize)]
pub struct CaReport {
    pub cluster: String,
    /// One per certificate in the bundle, `sha256:<hex>`.
    pub fingerprints: Vec<String>,
    /// Whether the download was checked against --ca-cert or --ca-fingerprint.
    pub verified: bool,
    pub written_to: Option<String>,
}

/// `secret create|update|put|delete`.
#[derive(Debug, Serialize)]
pub struct SecretReport {
    pub path: String,
    /// `created`, `updated`, `unchanged` or `deleted`.
    pub outcome: &'static str,
    pub binary: Option<bool>,
}

/// `secret get -o json`: the value itself, which is what was asked for.
#[derive(Debug, Serialize)]
pub struct SecretOut<'a> {
    pub path: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<&'a str>,
    /// For a binary secret: the bytes, base64.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value_base64: Option<String>,
    pub binary: bool,
}

/// `secret list`.
#[derive(Debug, Serialize)]
pub struct SecretList {
    /// The folder listed; `None` for the whole store.
    pub path: Option<String>,
    /// Paths relative to `path`, sorted.
    pub secrets: Vec<String>,
}

/// `grant` and `revoke`.
#[derive(Debug, Serialize)]
pub struct GrantReport {
    /// `user` or `group`.
    pub principal_type: &'static str,
    pub principal: String,
    pub rid: String,
    pub action: String,
    /// `granted`, `already_granted`, `revoked` or `not_granted`.
    pub outcome: &'static str,
}

/// One way a principal reaches a secret.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct AccessEntry {
    pub principal: String,
    /// `user`, `service_account` or `group`.
    pub principal_type: &'static str,
    /// `direct`, `group` or `superuser`.
    pub via: &'static str,
    /// The group the permission comes through, for `via: group`.
    pub group: Option<String>,
    /// The resource id that gives it (none for members of `superusers`).
    pub rid: Option<String>,
    /// The action held on `rid`.
    pub action: Option<String>,
    /// How `rid` reaches the secret: `exact`, `ancestor`, `root`, `wildcard` or `superuser`.
    pub reach: &'static str,
}

/// `access`.
#[derive(Debug, Serialize)]
pub struct AccessReport {
    pub path: String,
    /// Who can read the value.
    pub value_readers: Vec<AccessEntry>,
    /// Who can see the name when listing.
    pub name_listers: Vec<AccessEntry>,
}

/// `service-account create`.
#[derive(Debug, Serialize)]
pub struct ServiceAccountReport {
    pub uid: String,
    pub private_key_file: String,
    pub public_key_file: Option<String>,
    /// Where the login secret was stored.
    pub secret: Option<String>,
    pub login_endpoint: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_columns() {
        let t = table(
            &["A", "LONG HEADER", "C"],
            &[vec!["xyz".into(), "1".into(), "end".into()]],
        );
        assert_eq!(t, "A    LONG HEADER  C\nxyz  1            end\n");
    }
}
