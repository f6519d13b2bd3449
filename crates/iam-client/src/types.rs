//! Validated identifiers: user ids, group ids, resource ids and actions.

use std::fmt;
use std::str::FromStr;

use dcos_transport::Error;

/// The longest user or group id.
pub const MAX_ID_CHARS: usize = 96;

fn check_id(kind: &str, id: &str) -> Result<(), Error> {
    let invalid = |why: String| Error::InvalidInput(format!("{kind} `{id}`: {why}"));
    if id.is_empty() {
        return Err(invalid("is empty".into()));
    }
    // In a URL path these are dot segments: `/groups/../users/u` is `/users/u`.
    if id == "." || id == ".." {
        return Err(invalid(
            "is not allowed (a dot segment of a URL path)".into(),
        ));
    }
    if id.chars().count() > MAX_ID_CHARS {
        return Err(invalid(format!("is longer than {MAX_ID_CHARS} characters")));
    }
    if let Some(c) = id
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '@' | '.')))
    {
        return Err(invalid(format!(
            "character {c:?} is not allowed (use letters, digits, `-`, `_`, `@` and `.`)"
        )));
    }
    Ok(())
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $kind:literal, $check:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// Validates an id.
            pub fn new(id: &str) -> Result<Self, Error> {
                let check: fn(&str) -> Result<(), Error> = $check;
                check(id)?;
                Ok(Self(id.to_owned()))
            }

            /// The id.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl FromStr for $name {
            type Err = Error;
            fn from_str(s: &str) -> Result<Self, Error> {
                Self::new(s)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

id_type!(
    /// A user or service-account id: `^[a-zA-Z0-9-_@.]+$`, at most 96 characters, not `anonymous`.
    Uid,
    "user id",
    |id| {
        check_id("user id", id)?;
        if id == "anonymous" {
            return Err(Error::InvalidInput("user id `anonymous` is reserved".into()));
        }
        Ok(())
    }
);

id_type!(
    /// A group id, such as `superusers`: the same characters as a [`Uid`].
    Gid,
    "group id",
    |id| check_id("group id", id)
);

id_type!(
    /// A protected resource id, such as `dcos:secrets:default:team/aws_key`: non-empty, without
    /// whitespace or control characters, without `%2F` (which the service reads as `/`), and
    /// not `.` or `..`.
    Rid,
    "resource id",
    |id| {
        if id.is_empty() {
            return Err(Error::InvalidInput("resource id is empty".into()));
        }
        if let Some(c) = id.chars().find(|c| c.is_whitespace() || c.is_control()) {
            return Err(Error::InvalidInput(format!(
                "resource id `{}`: character {c:?} is not allowed",
                id.escape_debug()
            )));
        }
        // The service turns `%2F` in a decoded rid into `/`, so such an id can never be
        // addressed as itself; and a URL path segment `.` or `..` is resolved away.
        if id.to_ascii_uppercase().contains("%2F") {
            return Err(Error::InvalidInput(format!(
                "resource id `{id}`: `%2F` is not allowed (the IAM service reads it as `/`)"
            )));
        }
        if id == "." || id == ".." {
            return Err(Error::InvalidInput(format!(
                "resource id `{id}` is not allowed"
            )));
        }
        Ok(())
    }
);

const SECRET_RID_PREFIX: &str = "dcos:secrets:default:";
const LIST_RID_PREFIX: &str = "dcos:secrets:list:default:";

/// What a secrets resource id gives on one secret: see [`Rid::secret_coverage`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SecretCoverage {
    /// The value itself, or only the name in a listing.
    pub scope: SecretScope,
    /// How the id reaches the path.
    pub reach: Reach,
}

/// The part of a secret a resource id controls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SecretScope {
    /// `dcos:secrets:default:…`: read, create, update and delete the value.
    Value,
    /// `dcos:secrets:list:default:…`: see the name when listing.
    List,
}

/// How a resource id reaches a secret path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Reach {
    /// Names the path itself.
    Exact,
    /// Names a folder above it (listing only).
    Ancestor,
    /// Names the root of the store (listing only).
    Root,
    /// A `*` or `<folder>/*` wildcard over it.
    Wildcard,
}

impl Reach {
    /// A word for tables and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Reach::Exact => "exact",
            Reach::Ancestor => "ancestor",
            Reach::Root => "root",
            Reach::Wildcard => "wildcard",
        }
    }
}

impl Rid {
    /// `dcos:secrets:default:<path>`: the value of a secret (a leading `/` of `path` is dropped).
    pub fn secret(path: impl AsRef<str>) -> Result<Self, Error> {
        let path = path.as_ref();
        Self::new(&format!(
            "{SECRET_RID_PREFIX}{}",
            path.strip_prefix('/').unwrap_or(path)
        ))
    }

    /// `dcos:secrets:list:default:<path>`: the names below a path (a leading `/` is dropped).
    pub fn secret_list(path: impl AsRef<str>) -> Result<Self, Error> {
        let path = path.as_ref();
        Self::new(&format!(
            "{LIST_RID_PREFIX}{}",
            path.strip_prefix('/').unwrap_or(path)
        ))
    }

    /// What this resource id gives on the secret at `path` (a leading `/` of either is
    /// ignored), by the contract's rules: `dcos:secrets:default:<p>` reaches the value when `p`
    /// is the path itself or a `*` / `<folder>/*` wildcard over it; `dcos:secrets:list:default:<p>`
    /// lists the name when `p` is the path, an ancestor, the root, or such a wildcard.
    /// `None` for any other resource.
    pub fn secret_coverage(&self, path: &str) -> Option<SecretCoverage> {
        let path = path.strip_prefix('/').unwrap_or(path);
        let strip = |prefix: &str| {
            let rest = self.0.strip_prefix(prefix)?;
            Some(rest.strip_prefix('/').unwrap_or(rest))
        };
        let below = |folder: &str| {
            folder.is_empty() || (path.starts_with(folder) && path[folder.len()..].starts_with('/'))
        };
        if let Some(pattern) = strip(SECRET_RID_PREFIX) {
            let reach = if pattern == path {
                Reach::Exact
            } else if pattern == "*" || pattern.strip_suffix("/*").is_some_and(below) {
                Reach::Wildcard
            } else {
                return None;
            };
            return Some(SecretCoverage {
                scope: SecretScope::Value,
                reach,
            });
        }
        let pattern = strip(LIST_RID_PREFIX)?;
        let reach = if pattern == path {
            Reach::Exact
        } else if pattern.is_empty() {
            Reach::Root
        } else if pattern == "*" || pattern.strip_suffix("/*").is_some_and(below) {
            Reach::Wildcard
        } else if below(pattern.strip_suffix('/').unwrap_or(pattern)) {
            Reach::Ancestor
        } else {
            return None;
        };
        Some(SecretCoverage {
            scope: SecretScope::List,
            reach,
        })
    }

    /// The form of this id inside a URL path: every `/` written `%252F` (the service decodes the
    /// path once, then turns `%2F` into `/`), `:` and `*` literal, and any character that is not
    /// safe in a path segment percent-encoded so that it arrives as itself.
    ///
    /// This is the only place the encoding is done.
    pub fn url_segment(&self) -> String {
        let mut out = String::with_capacity(self.0.len() + 8);
        for b in self.0.bytes() {
            match b {
                b'/' => out.push_str("%252F"),
                b'A'..=b'Z'
                | b'a'..=b'z'
                | b'0'..=b'9'
                | b'-'
                | b'_'
                | b'.'
                | b'~'
                | b':'
                | b'*'
                | b'@'
                | b'!'
                | b'$'
                | b'&'
                | b'\''
                | b'('
                | b')'
                | b'+'
                | b','
                | b';'
                | b'=' => out.push(b as char),
                _ => out.push_str(&format!("%{b:02X}")),
            }
        }
        out
    }
}

/// An action on a protected resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Action {
    /// `create`
    Create,
    /// `read`
    Read,
    /// `update`
    Update,
    /// `delete`
    Delete,
    /// `full`: every other action.
    Full,
}

impl Action {
    /// Every action.
    pub const ALL: [Action; 5] = [
        Action::Create,
        Action::Read,
        Action::Update,
        Action::Delete,
        Action::Full,
    ];

    /// The name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Read => "read",
            Action::Update => "update",
            Action::Delete => "delete",
            Action::Full => "full",
        }
    }

    /// Whether holding `self` allows `wanted` (`full` allows everything).
    pub fn allows(self, wanted: Action) -> bool {
        self == Action::Full || self == wanted
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Action {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        Action::ALL
            .into_iter()
            .find(|a| a.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                Error::InvalidInput(format!(
                    "action `{s}` is not one of create, read, update, delete, full"
                ))
            })
    }
}

/// Who a permission is granted to.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Principal {
    /// A user or service account.
    User(Uid),
    /// A group.
    Group(Gid),
}

impl Principal {
    /// `users/<uid>` or `groups/<gid>`, as in ACL URLs.
    pub fn url_segment(&self) -> String {
        match self {
            Principal::User(uid) => format!("users/{uid}"),
            Principal::Group(gid) => format!("groups/{gid}"),
        }
    }
}

impl fmt::Display for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Principal::User(uid) => write!(f, "user `{uid}`"),
            Principal::Group(gid) => write!(f, "group `{gid}`"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn coverage(rid: &str, path: &str) -> Option<(SecretScope, Reach)> {
        Rid::new(rid)
            .unwrap()
            .secret_coverage(path)
            .map(|c| (c.scope, c.reach))
    }

    #[test]
    fn secret_coverage_follows_the_contract() {
        use Reach::*;
        use SecretScope::*;
        let p = "team/aws/key";
        assert_eq!(
            coverage("dcos:secrets:default:team/aws/key", p),
            Some((Value, Exact))
        );
        assert_eq!(
            coverage("dcos:secrets:default:/team/aws/key", p),
            Some((Value, Exact))
        );
        assert_eq!(
            coverage("dcos:secrets:default:/team/aws/key", "/team/aws/key"),
            Some((Value, Exact))
        );
        assert_eq!(
            coverage("dcos:secrets:default:team/*", p),
            Some((Value, Wildcard))
        );
        assert_eq!(
            coverage("dcos:secrets:default:/*", p),
            Some((Value, Wildcard))
        );
        assert_eq!(
            coverage("dcos:secrets:default:*", p),
            Some((Value, Wildcard))
        );
        // A folder grant is not a grant on what is below it, and a prefix is not a folder.
        assert_eq!(coverage("dcos:secrets:default:team", p), None);
        assert_eq!(coverage("dcos:secrets:default:tea/*", p), None);
        assert_eq!(coverage("dcos:secrets:default:team/aws/key/*", p), None);

        assert_eq!(
            coverage("dcos:secrets:list:default:team/aws/key", p),
            Some((List, Exact))
        );
        assert_eq!(
            coverage("dcos:secrets:list:default:/team", p),
            Some((List, Ancestor))
        );
        assert_eq!(
            coverage("dcos:secrets:list:default:team/aws/", p),
            Some((List, Ancestor))
        );
        assert_eq!(
            coverage("dcos:secrets:list:default:/", p),
            Some((List, Root))
        );
        assert_eq!(
            coverage("dcos:secrets:list:default:team/*", p),
            Some((List, Wildcard))
        );
        assert_eq!(coverage("dcos:secrets:list:default:tea", p), None);
        assert_eq!(
            coverage("dcos:secrets:list:default:team/aws/key/sub", p),
            None
        );

        assert_eq!(coverage("dcos:superuser", p), None);
        assert_eq!(coverage("dcos:secrets:list:other:team", p), None);
    }

    #[test]
    fn rid_url_form_matches_the_contract_example() {
        let rid = Rid::secret_list("team/aws_key").unwrap();
        assert_eq!(rid.as_str(), "dcos:secrets:list:default:team/aws_key");
        assert_eq!(
            rid.url_segment(),
            "dcos:secrets:list:default:team%252Faws_key"
        );
        let rid = Rid::new("dcos:service:marathon:marathon:services:/").unwrap();
        assert_eq!(
            rid.url_segment(),
            "dcos:service:marathon:marathon:services:%252F"
        );
        let rid = Rid::new("dcos:mesos:master:framework:role:*").unwrap();
        assert_eq!(rid.url_segment(), "dcos:mesos:master:framework:role:*");
        let rid = Rid::new("a%b?c#d").unwrap();
        assert_eq!(rid.url_segment(), "a%25b%3Fc%23d");
    }

    #[test]
    fn secret_rids_drop_a_leading_slash() {
        assert_eq!(
            Rid::secret("/a/b").unwrap().as_str(),
            "dcos:secrets:default:a/b"
        );
        assert_eq!(
            Rid::secret("a/b").unwrap().as_str(),
            "dcos:secrets:default:a/b"
        );
    }

    #[test]
    fn uid_rule() {
        for ok in ["alice", "data-science-engine", "a.b@c_d-9", &"x".repeat(96)] {
            assert!(Uid::new(ok).is_ok(), "{ok}");
        }
        for (bad, needle) in [
            ("", "empty"),
            ("anonymous", "reserved"),
            ("a b", "' '"),
            ("a/b", "'/'"),
            ("é", "'é'"),
            (&"x".repeat(97), "longer than 96"),
        ] {
            let err = Uid::new(bad).unwrap_err().to_string();
            assert!(err.contains(needle), "{bad}: {err}");
        }
    }

    #[test]
    fn rid_rule() {
        assert!(Rid::new("dcos:superuser").is_ok());
        assert!(Rid::new("").is_err());
        assert!(Rid::new("a b").unwrap_err().to_string().contains("' '"));
        assert!(Rid::new("a\tb").is_err());
    }

    #[test]
    fn actions_parse_and_display() {
        for a in Action::ALL {
            assert_eq!(a.as_str().parse::<Action>().unwrap(), a);
            assert_eq!(a.to_string(), a.as_str());
        }
        assert_eq!("READ".parse::<Action>().unwrap(), Action::Read);
        assert!("write".parse::<Action>().is_err());
        assert!(Action::Full.allows(Action::Delete));
        assert!(!Action::Read.allows(Action::Update));
    }
}
