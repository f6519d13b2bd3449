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
    /// Whether `-q` asked for errors only.
    pub fn is_quiet(&self) -> bool {
        self.quiet
    }

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

/// One step of `s3 onboard|rotate|offboard`: what it is about and what became of it.
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    /// `secret`, `grant` or `options`.
    pub kind: &'static str,
    /// The secret's path, the resource id, or the options file.
    pub target: String,
    /// For grants: the action.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    /// For grants: the service account.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub principal: Option<String>,
    /// For secrets: the fingerprint of the value this run writes (never the value).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
    /// For secrets: the fingerprint of the value it replaces.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_fingerprint: Option<String>,
    /// `created`, `updated`, `unchanged`, `granted`, `already_granted`, `revoked`,
    /// `not_granted`, `deleted`, `absent`, `kept`, `written`, `restored`, `undone`,
    /// `undo_failed`, `failed`, `not_run`, or with `--dry-run` `would_create`, `would_update`,
    /// `would_grant`, `would_revoke`, `would_delete`, `would_write`.
    pub outcome: &'static str,
    /// Why the step failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Step {
    /// A step on a secret.
    pub fn secret(path: impl ToString, outcome: &'static str) -> Self {
        Self::new("secret", path.to_string(), outcome)
    }

    /// A step on a grant of `action` on `rid` to `principal`.
    pub fn grant(rid: impl ToString, action: impl ToString, principal: impl ToString) -> Self {
        Self {
            action: Some(action.to_string()),
            principal: Some(principal.to_string()),
            ..Self::new("grant", rid.to_string(), "not_run")
        }
    }

    /// A step on the options file.
    pub fn options(file: impl ToString, outcome: &'static str) -> Self {
        Self::new("options", file.to_string(), outcome)
    }

    /// A step of another `kind` (`account`, `key_file`, ...).
    pub fn new(kind: &'static str, target: String, outcome: &'static str) -> Self {
        Self {
            kind,
            target,
            action: None,
            principal: None,
            fingerprint: None,
            previous_fingerprint: None,
            outcome,
            error: None,
        }
    }

    /// Whether the step changes, or would change, something.
    pub fn changes(&self) -> bool {
        !matches!(
            self.outcome,
            "unchanged" | "already_granted" | "not_granted" | "absent" | "kept" | "not_run"
        )
    }

    /// One line for people: `created  secret team/key (sha256:...)`.
    pub fn line(&self) -> String {
        let what = match self.kind {
            "grant" => format!(
                "{} on {} to {}",
                self.action.as_deref().unwrap_or_default(),
                self.target,
                self.principal.as_deref().unwrap_or_default()
            ),
            kind => format!("{kind} {}", self.target),
        };
        let mut line = format!("{:<16} {what}", self.outcome.replace('_', " "));
        match (&self.previous_fingerprint, &self.fingerprint) {
            (Some(old), Some(new)) => line.push_str(&format!(" ({old} -> {new})")),
            (None, Some(new)) => line.push_str(&format!(" ({new})")),
            _ => {}
        }
        if let Some(error) = &self.error {
            line.push_str(&format!(": {error}"));
        }
        line
    }
}

/// `s3 onboard|rotate|offboard`.
#[derive(Debug, Clone, Serialize)]
pub struct S3Report {
    /// `onboard`, `rotate` or `offboard`.
    pub command: &'static str,
    pub service_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_account: Option<String>,
    pub dry_run: bool,
    /// `changed`, `unchanged` or `failed`; with `--dry-run`, `would_change` or `unchanged`.
    pub result: &'static str,
    pub steps: Vec<Step>,
    /// The service options (for `--merge-into`, the whole merged file).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub options: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub options_file: Option<String>,
    /// `s3 rotate`: the last four characters of the access key id before and after.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old_key_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new_key_id: Option<String>,
}

impl S3Report {
    /// Settles `result` from the steps.
    pub fn settle(&mut self, failed: bool) {
        let changes = self.steps.iter().any(Step::changes);
        self.result = match (failed, self.dry_run, changes) {
            (true, _, _) => "failed",
            (false, _, false) => "unchanged",
            (false, true, true) => "would_change",
            (false, false, true) => "changed",
        };
    }
}

/// One item of an `apply` manifest and what became of it.
#[derive(Debug, Clone, Serialize)]
pub struct ItemReport {
    /// `service_account`, `secret`, `grant`, `s3` or `prune`.
    pub kind: &'static str,
    /// The account, the secret's path, the grant, the service name, or the pruned resource.
    pub name: String,
    /// `changed`, `unchanged` or `failed`; with `--dry-run`, `would_change` or `unchanged`.
    pub result: &'static str,
    pub steps: Vec<Step>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl ItemReport {
    pub fn new(kind: &'static str, name: String) -> Self {
        Self {
            kind,
            name,
            result: "unchanged",
            steps: Vec::new(),
            error: None,
        }
    }

    /// Settles `result` from the steps and the error.
    pub fn settle(&mut self, dry_run: bool) {
        let changes = self.steps.iter().any(Step::changes);
        self.result = match (self.error.is_some(), dry_run, changes) {
            (true, _, _) => "failed",
            (false, _, false) => "unchanged",
            (false, true, true) => "would_change",
            (false, false, true) => "changed",
        };
    }

    /// How many steps change (or would change) something.
    pub fn changes(&self) -> usize {
        self.steps
            .iter()
            .filter(|s| s.changes() && s.outcome != "failed")
            .count()
    }

    /// `changed    s3 data-science-engine`, and the reason when it failed.
    pub fn line(&self) -> String {
        let mut line = format!(
            "{:<16} {} {}",
            self.result.replace('_', " "),
            self.kind,
            self.name
        );
        if let Some(error) = &self.error {
            line.push_str(&format!(": {error}"));
        }
        line
    }
}

/// `apply`.
#[derive(Debug, Serialize)]
pub struct ApplyReport {
    pub manifest: String,
    pub dry_run: bool,
    /// `changed`, `unchanged`, `would_change` or `failed` (some items failed).
    pub result: &'static str,
    /// Steps that changed (or would change) something.
    pub changes: usize,
    pub failed: usize,
    pub items: Vec<ItemReport>,
}

/// `s3 options` and `hdfs options`.
#[derive(Debug, Serialize)]
pub struct OptionsReport {
    /// The options (for `--merge-into`, the whole merged file).
    pub options: serde_json::Value,
    pub options_file: Option<String>,
    /// `printed`, `written` or `unchanged`.
    pub outcome: &'static str,
    /// `hdfs options --check`: what each configuration file held.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<ConfCheck>,
}

/// One Hadoop configuration file checked by `hdfs options --check`.
#[derive(Debug, Clone, Serialize)]
pub struct ConfCheck {
    pub file: &'static str,
    pub url: String,
    /// How many `<property>` entries it has.
    pub properties: usize,
    /// What is missing or wrong; empty when the file is fine.
    pub missing: Vec<String>,
}

/// `demo -o json`.
#[derive(Debug, Serialize)]
pub struct DemoReport {
    pub cluster: String,
    /// The pinned CA's SHA-256 fingerprint.
    pub ca_fingerprint: String,
    pub service_account: String,
    pub login_secret: String,
    pub onboarding: S3Report,
    /// The same onboarding run again: unchanged.
    pub rerun: S3Report,
    pub access: AccessReport,
    pub options: serde_json::Value,
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
