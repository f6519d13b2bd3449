//! A plan saved for review (`apply --plan-out`) and executed later exactly as saved, the way
//! CI users know from Terraform.

use dcos_secrets_client::SecretValue;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::plan::Confirmed;
use crate::report::ApplyReport;

/// What the file is.
const KIND: &str = "dcos-creds apply plan, version 1";

/// An `apply` plan: the cluster it was made for, whether it prunes, and every step that
/// changes something, each with the state it was planned from. Values appear only as keyed
/// fingerprints; the key is in the file, so whoever holds it can test guesses of a value:
/// write it readable by its owner alone.
#[derive(Debug, Serialize, Deserialize)]
pub struct SavedPlan {
    kind: String,
    /// The cluster it was made for.
    pub cluster: String,
    /// Whether it revokes undeclared grants.
    pub prune: bool,
    fingerprint_key: String,
    /// Every step that changes something.
    pub steps: Confirmed,
}

impl SavedPlan {
    /// The plan of a dry run's `report`, with this process's fingerprint key.
    pub fn of(report: &ApplyReport, cluster: &str, prune: bool) -> Self {
        let key: String = SecretValue::fingerprint_key()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        Self {
            kind: KIND.to_owned(),
            cluster: cluster.to_owned(),
            prune,
            fingerprint_key: key,
            steps: Confirmed::of(super::all_steps(report)),
        }
    }

    /// Its file's text.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Reads a saved plan and makes its fingerprint key this process's, so that values read
    /// again are fingerprinted as the plan's were.
    pub fn from_json(bytes: &[u8]) -> Result<Self> {
        let plan: SavedPlan = serde_json::from_slice(bytes)
            .ok()
            .filter(|p: &SavedPlan| p.kind == KIND)
            .ok_or_else(|| Error::invalid("not a saved apply plan"))?;
        let hex = plan.fingerprint_key.as_bytes();
        let key: Option<Vec<u8>> = hex
            .chunks(2)
            .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok())
            .collect();
        let key: Option<[u8; 32]> = key.and_then(|k| k.try_into().ok());
        if !key.is_some_and(SecretValue::use_fingerprint_key) {
            return Err(Error::invalid("its fingerprint key is damaged"));
        }
        Ok(plan)
    }

    /// Refuses to run the plan against another cluster, or pruning otherwise than planned.
    pub fn fits(&self, cluster: &str, prune: bool) -> Result<()> {
        if self.cluster != cluster {
            return Err(Error::invalid(format!(
                "the plan was made for {}, not {cluster}; nothing was changed",
                self.cluster
            )));
        }
        if self.prune != prune {
            return Err(Error::invalid(format!(
                "the plan was made {} pruning; give the same options; nothing was changed",
                if self.prune { "with" } else { "without" }
            )));
        }
        Ok(())
    }
}
