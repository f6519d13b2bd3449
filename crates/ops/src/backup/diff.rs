//! What differs between a backup and a cluster, item by item, values by fingerprint.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::Contents;

/// Where an item differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DiffState {
    /// In the backup, not on the cluster.
    OnlyInBackup,
    /// On the cluster, not in the backup.
    OnlyInCluster,
    /// In both, different.
    Differs,
}

/// One item that differs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Difference {
    /// `secret`, `user`, `group`, `membership`, `acl` or `grant`.
    pub kind: &'static str,
    /// The path, id, or `rid action principal`.
    pub target: String,
    pub state: DiffState,
    /// What differs, for [`DiffState::Differs`]: `value` (with both fingerprints, never a
    /// value), `description`, `kind`, `public key`, `provider`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// Every difference, in order of kind and target.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Diff {
    pub equal: bool,
    pub differences: Vec<Difference>,
}

impl std::fmt::Display for Diff {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.equal {
            return writeln!(f, "no difference");
        }
        for d in &self.differences {
            let state = match d.state {
                DiffState::OnlyInBackup => "only in the backup",
                DiffState::OnlyInCluster => "only on the cluster",
                DiffState::Differs => "differs",
            };
            write!(f, "{} {}: {state}", d.kind, d.target)?;
            match &d.detail {
                Some(detail) => writeln!(f, " ({detail})")?,
                None => writeln!(f)?,
            }
        }
        writeln!(
            f,
            "{}",
            crate::text::count(self.differences.len(), "difference", "differences")
        )
    }
}

/// Compares `backup` with `cluster` (both already scoped alike). Passwords are never
/// compared: neither side has them.
pub fn diff(backup: &Contents, cluster: &Contents) -> Diff {
    let mut out = Vec::new();
    compare(
        &mut out,
        "secret",
        &backup.secrets,
        &cluster.secrets,
        |a, b| {
            (a != b).then(|| {
                format!(
                    "value {} in the backup, {} on the cluster",
                    a.fingerprint(),
                    b.fingerprint()
                )
            })
        },
    );
    compare(&mut out, "user", &backup.users, &cluster.users, |a, b| {
        let mut what = Vec::new();
        if a.kind != b.kind {
            what.push("kind");
        }
        if a.description != b.description {
            what.push("description");
        }
        if a.public_key != b.public_key {
            what.push("public key");
        }
        if (&a.provider_type, &a.provider_id) != (&b.provider_type, &b.provider_id) {
            what.push("provider");
        }
        (!what.is_empty()).then(|| what.join(", "))
    });
    compare(
        &mut out,
        "group",
        &backup.groups,
        &cluster.groups,
        |a, b| (a.description != b.description).then(|| "description".to_owned()),
    );
    compare(
        &mut out,
        "membership",
        &memberships(backup),
        &memberships(cluster),
        |_, _| None,
    );
    compare(&mut out, "acl", &backup.acls, &cluster.acls, |a, b| {
        (a.description != b.description).then(|| "description".to_owned())
    });
    compare(
        &mut out,
        "grant",
        &grants(backup),
        &grants(cluster),
        |_, _| None,
    );
    Diff {
        equal: out.is_empty(),
        differences: out,
    }
}

fn compare<V>(
    out: &mut Vec<Difference>,
    kind: &'static str,
    backup: &BTreeMap<String, V>,
    cluster: &BTreeMap<String, V>,
    differs: impl Fn(&V, &V) -> Option<String>,
) {
    let keys: BTreeSet<&String> = backup.keys().chain(cluster.keys()).collect();
    for key in keys {
        let (state, detail) = match (backup.get(key), cluster.get(key)) {
            (Some(a), Some(b)) => match differs(a, b) {
                Some(detail) => (DiffState::Differs, Some(detail)),
                None => continue,
            },
            (Some(_), None) => (DiffState::OnlyInBackup, None),
            (None, _) => (DiffState::OnlyInCluster, None),
        };
        out.push(Difference {
            kind,
            target: key.clone(),
            state,
            detail,
        });
    }
}

/// `group uid` for each membership.
fn memberships(contents: &Contents) -> BTreeMap<String, ()> {
    (contents.groups.values())
        .flat_map(|g| {
            g.members
                .iter()
                .map(move |uid| (format!("{} {uid}", g.gid), ()))
        })
        .collect()
}

/// `rid action principal` for each grant.
fn grants(contents: &Contents) -> BTreeMap<String, ()> {
    let mut all = BTreeMap::new();
    for acl in contents.acls.values() {
        let users = acl.users.iter().map(|(u, a)| (u.clone(), a));
        let groups = acl.groups.iter().map(|(g, a)| (format!("group:{g}"), a));
        for (who, actions) in users.chain(groups) {
            for action in actions {
                all.insert(format!("{} {action} {who}", acl.rid), ());
            }
        }
    }
    all
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backup::{AccountKind, SavedAcl, SavedUser};
    use dcos_secrets_client::SecretValue;

    #[test]
    fn each_difference_is_named_and_values_only_by_fingerprint() {
        let mut backup = Contents::default();
        backup
            .secrets
            .insert("a".into(), SecretValue::text("old-value"));
        backup.secrets.insert("b".into(), SecretValue::text("same"));
        let user = SavedUser {
            uid: "alice".into(),
            description: "A".into(),
            kind: AccountKind::User,
            public_key: None,
            provider_type: None,
            provider_id: None,
        };
        backup.users.insert("alice".into(), user.clone());
        let mut acl = SavedAcl {
            rid: "dcos:secrets:default:a".into(),
            description: String::new(),
            users: BTreeMap::from([("alice".into(), BTreeSet::from(["read".into()]))]),
            groups: BTreeMap::new(),
        };
        backup.acls.insert(acl.rid.clone(), acl.clone());
        let mut cluster = backup.clone();
        assert!(diff(&backup, &cluster).equal);

        cluster
            .secrets
            .insert("a".into(), SecretValue::text("new-value"));
        cluster.secrets.insert("c".into(), SecretValue::text("x"));
        cluster.users.get_mut("alice").unwrap().description = "B".into();
        acl.users.clear();
        cluster.acls.insert(acl.rid.clone(), acl);
        let found = diff(&backup, &cluster);
        assert!(!found.equal);
        let named: Vec<(&str, &str, DiffState)> = (found.differences.iter())
            .map(|d| (d.kind, d.target.as_str(), d.state))
            .collect();
        assert_eq!(
            named,
            [
                ("secret", "a", DiffState::Differs),
                ("secret", "c", DiffState::OnlyInCluster),
                ("user", "alice", DiffState::Differs),
                (
                    "grant",
                    "dcos:secrets:default:a read alice",
                    DiffState::OnlyInBackup
                ),
            ]
        );
        let text = found.to_string();
        assert!(
            !text.contains("old-value") && !text.contains("new-value"),
            "{text}"
        );
    }
}
