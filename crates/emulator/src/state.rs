//! The cluster's state: secrets, accounts, groups, ACLs and Marathon apps and pods, and the permission
//! rules over them.
//!
//! The whole state is serializable, so that tests can load a starting point and compare the end
//! result with `GET /__emulator/state`.

use std::collections::{BTreeMap, BTreeSet};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The built-in group whose members may do anything.
pub const SUPERUSERS: &str = "superusers";
/// Any action on this resource makes a principal a superuser.
pub const SUPERUSER_RID: &str = "dcos:superuser";
/// `full` on this resource opens the IAM API.
pub const ACS_RID: &str = "dcos:adminrouter:acs";

const SECRET_PREFIX: &str = "dcos:secrets:default:";
const LIST_PREFIX: &str = "dcos:secrets:list:default:";

/// A stored secret value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Secret {
    /// A text secret (stored as given, byte for byte).
    Text(String),
    /// A binary secret, base64 in the JSON dump.
    Binary(#[serde(with = "base64_bytes")] Vec<u8>),
}

mod base64_bytes {
    use super::*;
    pub fn serialize<S: serde::Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&B64.encode(bytes))
    }
    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        B64.decode(text).map_err(serde::de::Error::custom)
    }
}

impl Secret {
    /// The value's bytes.
    pub fn bytes(&self) -> &[u8] {
        match self {
            Secret::Text(t) => t.as_bytes(),
            Secret::Binary(b) => b,
        }
    }
}

/// A user or service account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    /// A description.
    #[serde(default)]
    pub description: String,
    /// For a user: the SHA-256 of `uid:password`, hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_sha256: Option<String>,
    /// For a service account: its RSA public key, SubjectPublicKeyInfo PEM.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key: Option<String>,
    /// For a remote user: the kind of its identity provider (`ldap`, `oidc` or `saml`) and
    /// the provider's id; it logs in there, never with a password here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<(String, String)>,
}

impl Account {
    /// Whether this is a service account.
    pub fn is_service(&self) -> bool {
        self.public_key.is_some()
    }
}

/// A group and its members.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Group {
    /// A description.
    #[serde(default)]
    pub description: String,
    /// Member uids.
    #[serde(default)]
    pub members: BTreeSet<String>,
}

/// An ACL: who holds which actions on one resource.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Acl {
    /// A description.
    #[serde(default)]
    pub description: String,
    /// Actions granted to users and service accounts.
    #[serde(default)]
    pub users: BTreeMap<String, BTreeSet<String>>,
    /// Actions granted to groups.
    #[serde(default)]
    pub groups: BTreeMap<String, BTreeSet<String>>,
}

/// The whole cluster state.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct State {
    /// Secrets of the `default` store by path (no leading `/`).
    #[serde(default)]
    pub secrets: BTreeMap<String, Secret>,
    /// Users and service accounts by uid.
    #[serde(default)]
    pub accounts: BTreeMap<String, Account>,
    /// Groups by gid.
    #[serde(default)]
    pub groups: BTreeMap<String, Group>,
    /// ACLs by resource id (raw, with `/`).
    #[serde(default)]
    pub acls: BTreeMap<String, Acl>,
    /// External identity providers by id, each with its kind (`ldap`, `oidc` or `saml`):
    /// listed by `/acs/api/v1/auth/providers`, and the providers a remote user may name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub providers: BTreeMap<String, String>,
    /// Marathon apps by id (`/a/b`), as given with their `version`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub apps: BTreeMap<String, serde_json::Value>,
    /// Marathon pods by id (`/a/b`), as given with their `version`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub pods: BTreeMap<String, serde_json::Value>,
}

/// The hash stored for a password.
pub fn password_hash(uid: &str, password: &str) -> String {
    let digest = Sha256::digest(format!("{uid}:{password}").as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether a held action allows the wanted one (`full` allows everything).
pub fn allows(held: &str, wanted: &str) -> bool {
    held == "full" || held == wanted
}

/// The path part of a secrets rid with one leading `/` dropped, or `None` for another rid.
fn secret_rid_path<'a>(rid: &'a str, prefix: &str) -> Option<&'a str> {
    let rest = rid.strip_prefix(prefix)?;
    Some(rest.strip_prefix('/').unwrap_or(rest))
}

/// Whether an ACL on the secret path pattern `pattern` covers the secret `path`: equal, or a
/// `*` / `<folder>/*` wildcard over it.
fn secret_pattern_covers(pattern: &str, path: &str) -> bool {
    if pattern == path || pattern == "*" {
        return true;
    }
    match pattern.strip_suffix("/*") {
        Some(folder) => path.starts_with(folder) && path[folder.len()..].starts_with('/'),
        None => false,
    }
}

/// Whether list permission on `pattern` covers listing `path` (`""` is the root): the same
/// path, an ancestor, the root, or a wildcard over it.
fn list_pattern_covers(pattern: &str, path: &str) -> bool {
    let pattern = pattern.strip_suffix("/*").unwrap_or(pattern);
    let pattern = pattern.strip_suffix('/').unwrap_or(pattern);
    pattern.is_empty()
        || pattern == "*"
        || pattern == path
        || (path.starts_with(pattern) && path[pattern.len()..].starts_with('/'))
}

impl State {
    /// A fresh cluster with one superuser.
    pub fn bootstrap(uid: &str, password: &str) -> Self {
        let mut state = State::default();
        state.accounts.insert(
            uid.to_owned(),
            Account {
                description: "Bootstrap superuser".to_owned(),
                password_sha256: Some(password_hash(uid, password)),
                public_key: None,
                provider: None,
            },
        );
        state.groups.insert(
            SUPERUSERS.to_owned(),
            Group {
                description: "Superuser group".to_owned(),
                members: BTreeSet::from([uid.to_owned()]),
            },
        );
        state
    }

    /// The groups `uid` belongs to.
    pub fn groups_of<'a>(&'a self, uid: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.groups
            .iter()
            .filter(move |(_, g)| g.members.contains(uid))
            .map(|(gid, _)| gid.as_str())
    }

    /// The actions `uid` holds on `acl`, directly or through a group.
    fn held<'a>(&'a self, uid: &'a str, acl: &'a Acl) -> impl Iterator<Item = &'a str> + 'a {
        let direct = acl.users.get(uid).into_iter().flatten();
        let via_groups = self
            .groups_of(uid)
            .filter_map(|gid| acl.groups.get(gid))
            .flatten();
        direct.chain(via_groups).map(String::as_str)
    }

    /// Whether `uid` is a superuser: member of `superusers`, or any action on `dcos:superuser`.
    pub fn is_superuser(&self, uid: &str) -> bool {
        self.groups
            .get(SUPERUSERS)
            .is_some_and(|g| g.members.contains(uid))
            || self
                .acls
                .get(SUPERUSER_RID)
                .is_some_and(|acl| self.held(uid, acl).next().is_some())
    }

    /// Whether `uid` holds `action` on the exact resource `rid` (or is a superuser).
    pub fn may(&self, uid: &str, rid: &str, action: &str) -> bool {
        self.is_superuser(uid)
            || self
                .acls
                .get(rid)
                .is_some_and(|acl| self.held(uid, acl).any(|a| allows(a, action)))
    }

    /// Whether `uid` may do `action` on the secret at `path`.
    pub fn may_secret(&self, uid: &str, path: &str, action: &str) -> bool {
        self.is_superuser(uid)
            || self.acls.iter().any(|(rid, acl)| {
                secret_rid_path(rid, SECRET_PREFIX)
                    .is_some_and(|pattern| secret_pattern_covers(pattern, path))
                    && self.held(uid, acl).any(|a| allows(a, action))
            })
    }

    /// Whether `uid` may list the names below `path` (`""` for the root).
    pub fn may_list(&self, uid: &str, path: &str) -> bool {
        self.is_superuser(uid)
            || self.acls.iter().any(|(rid, acl)| {
                secret_rid_path(rid, LIST_PREFIX)
                    .is_some_and(|pattern| list_pattern_covers(pattern, path))
                    && self.held(uid, acl).any(|a| allows(a, "read"))
            })
    }

    /// The names below `path`, recursive, sorted, relative to `path`.
    pub fn list(&self, path: &str) -> Vec<String> {
        if path.is_empty() {
            return self.secrets.keys().cloned().collect();
        }
        let prefix = format!("{path}/");
        self.secrets
            .range(prefix.clone()..)
            .take_while(|(k, _)| k.starts_with(&prefix))
            .map(|(k, _)| k[prefix.len()..].to_owned())
            .collect()
    }

    /// Whether removing `uid` from the superusers (or deleting it) would leave none.
    pub fn is_last_superuser(&self, uid: &str) -> bool {
        self.groups
            .get(SUPERUSERS)
            .is_some_and(|g| g.members.len() == 1 && g.members.contains(uid))
    }

    /// Deletes an account and everything that refers to it.
    pub fn remove_account(&mut self, uid: &str) {
        self.accounts.remove(uid);
        for group in self.groups.values_mut() {
            group.members.remove(uid);
        }
        for acl in self.acls.values_mut() {
            acl.users.remove(uid);
        }
    }

    /// Deletes a group and its grants.
    pub fn remove_group(&mut self, gid: &str) {
        self.groups.remove(gid);
        for acl in self.acls.values_mut() {
            acl.groups.remove(gid);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_grant(rid: &str, uid: &str, action: &str) -> State {
        let mut s = State::bootstrap("root", "deleteme");
        s.accounts.insert(
            uid.into(),
            Account {
                description: String::new(),
                password_sha256: None,
                public_key: Some("k".into()),
                provider: None,
            },
        );
        let acl = s.acls.entry(rid.into()).or_default();
        acl.users
            .entry(uid.into())
            .or_default()
            .insert(action.into());
        s
    }

    #[test]
    fn secret_permissions_match_exact_leading_slash_and_wildcard() {
        let s = with_grant("dcos:secrets:default:/team/key", "sa", "read");
        assert!(s.may_secret("sa", "team/key", "read"));
        assert!(!s.may_secret("sa", "team/key", "update"));
        assert!(!s.may_secret("sa", "team/key2", "read"));
        let s = with_grant("dcos:secrets:default:team/*", "sa", "full");
        assert!(s.may_secret("sa", "team/key", "delete"));
        assert!(s.may_secret("sa", "team/sub/key", "read"));
        assert!(!s.may_secret("sa", "teamx/key", "read"));
        assert!(!s.may_secret("sa", "team", "read"));
        assert!(s.may_secret("root", "anything", "delete"));
    }

    #[test]
    fn list_permission_covers_the_path_and_below() {
        let s = with_grant("dcos:secrets:list:default:/team", "sa", "read");
        assert!(s.may_list("sa", "team"));
        assert!(s.may_list("sa", "team/sub"));
        assert!(!s.may_list("sa", ""));
        assert!(!s.may_list("sa", "teamx"));
        let s = with_grant("dcos:secrets:list:default:/", "sa", "read");
        assert!(s.may_list("sa", ""));
        assert!(s.may_list("sa", "x/y"));
        let s = with_grant("dcos:secrets:list:default:team", "sa", "create");
        assert!(!s.may_list("sa", "team"));
    }

    #[test]
    fn group_grants_and_superuser_acl_count() {
        let mut s = with_grant("dcos:superuser", "sa", "read");
        assert!(s.is_superuser("sa"));
        s.acls.clear();
        assert!(!s.is_superuser("sa"));
        s.groups.insert(
            "ops".into(),
            Group {
                description: String::new(),
                members: BTreeSet::from(["sa".to_owned()]),
            },
        );
        let acl = s.acls.entry("dcos:secrets:default:x".into()).or_default();
        acl.groups
            .entry("ops".into())
            .or_default()
            .insert("read".into());
        assert!(s.may_secret("sa", "x", "read"));
    }

    #[test]
    fn listing_is_recursive_sorted_and_relative() {
        let mut s = State::default();
        for p in [
            "key1",
            "folder/key2",
            "folder/key3",
            "folder/sub",
            "folder/sub/key4",
        ] {
            s.secrets.insert(p.into(), Secret::Text("v".into()));
        }
        assert_eq!(
            s.list(""),
            [
                "folder/key2",
                "folder/key3",
                "folder/sub",
                "folder/sub/key4",
                "key1"
            ]
        );
        assert_eq!(s.list("folder"), ["key2", "key3", "sub", "sub/key4"]);
        assert_eq!(s.list("folder/sub"), ["key4"]);
        assert!(s.list("folder/sub/key4").is_empty());
        assert!(s.list("fold").is_empty());
        assert!(s.list("not/a/folder").is_empty());
    }

    #[test]
    fn state_round_trips_through_json_with_binary_values() {
        let mut s = State::bootstrap("root", "pw");
        s.secrets
            .insert("b".into(), Secret::Binary(vec![0, 0x85, 0xff]));
        s.secrets.insert("t".into(), Secret::Text("x\n".into()));
        let json = serde_json::to_string(&s).unwrap();
        assert!(json.contains(r#""binary":"AIX/""#), "{json}");
        assert_eq!(serde_json::from_str::<State>(&json).unwrap(), s);
    }
}
