//! Validated secret paths.

use std::fmt;
use std::str::FromStr;

use dcos_transport::Error;

/// The longest secret path, in bytes.
pub const MAX_PATH_BYTES: usize = 255;

/// A secret path such as `data-science-engine/aws_access_key_id`.
///
/// The API contract's rule: one leading `/` is stripped (users type one, the wire has none); the
/// rest is one or more `/`-separated segments of `[A-Za-z0-9._-]`, none empty, `.` or `..`, at
/// most [`MAX_PATH_BYTES`] bytes in all. Every character allowed is safe in a URL path as it is.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SecretPath(String);

impl SecretPath {
    /// Validates a path.
    pub fn new(path: &str) -> Result<Self, Error> {
        let invalid = |why: String| Error::InvalidInput(format!("secret path `{path}`: {why}"));
        let trimmed = path.strip_prefix('/').unwrap_or(path);
        if trimmed.is_empty() {
            return Err(invalid("is empty".into()));
        }
        if trimmed.len() > MAX_PATH_BYTES {
            return Err(invalid(format!(
                "is {} bytes long; at most {MAX_PATH_BYTES} are allowed",
                trimmed.len()
            )));
        }
        for (i, segment) in trimmed.split('/').enumerate() {
            let n = i + 1;
            match segment {
                "" => return Err(invalid(format!("segment {n} is empty"))),
                "." | ".." => {
                    return Err(invalid(format!("segment {n} is `{segment}`")));
                }
                _ => {}
            }
            if let Some(c) = segment.chars().find(|c| !is_path_char(*c)) {
                return Err(invalid(format!(
                    "character {c:?} in segment `{segment}` is not allowed \
                     (use letters, digits, `.`, `_` and `-`)"
                )));
            }
        }
        Ok(Self(trimmed.to_owned()))
    }

    /// The path as sent on the wire: no leading `/`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The folder part, if any: `a/b` for `a/b/c`.
    pub fn parent(&self) -> Option<&str> {
        self.0.rsplit_once('/').map(|(folder, _)| folder)
    }

    /// The last segment: `c` for `a/b/c`.
    pub fn name(&self) -> &str {
        self.0.rsplit_once('/').map_or(&self.0, |(_, name)| name)
    }

    /// Joins a relative name, as the list call answers them, below this path.
    pub fn join(&self, relative: &str) -> Result<Self, Error> {
        Self::new(&format!("{}/{relative}", self.0))
    }
}

fn is_path_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')
}

impl fmt::Display for SecretPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for SecretPath {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl TryFrom<&str> for SecretPath {
    type Error = Error;
    fn try_from(s: &str) -> Result<Self, Self::Error> {
        Self::new(s)
    }
}

impl AsRef<str> for SecretPath {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_paths() {
        for (input, wire) in [
            ("a", "a"),
            ("/a", "a"),
            (
                "data-science-engine/aws_access_key_id",
                "data-science-engine/aws_access_key_id",
            ),
            ("/folder/sub/key4", "folder/sub/key4"),
            ("__dcos_base64__x", "__dcos_base64__x"),
            ("A.B-c_9/..x/x..", "A.B-c_9/..x/x.."),
        ] {
            assert_eq!(SecretPath::new(input).unwrap().as_str(), wire, "{input}");
        }
        let longest = "a".repeat(MAX_PATH_BYTES);
        assert!(SecretPath::new(&longest).is_ok());
        assert!(SecretPath::new(&format!("/{longest}")).is_ok());
    }

    #[test]
    fn invalid_paths_name_the_problem() {
        for (input, needle) in [
            ("", "is empty"),
            ("/", "is empty"),
            ("//a", "segment 1 is empty"),
            ("a//b", "segment 2 is empty"),
            ("a/", "segment 2 is empty"),
            ("a/./b", "segment 2 is `.`"),
            ("../a", "segment 1 is `..`"),
            ("a b", "character ' ' in segment `a b`"),
            ("a/b%2Fc", "character '%' in segment `b%2Fc`"),
            ("a/é", "character 'é'"),
            ("a?list=true", "character '?'"),
            ("a\nb", "character '\\n'"),
        ] {
            let err = SecretPath::new(input).unwrap_err().to_string();
            assert!(err.contains(needle), "{input:?}: {err}");
        }
        let too_long = "a".repeat(MAX_PATH_BYTES + 1);
        assert!(
            SecretPath::new(&too_long)
                .unwrap_err()
                .to_string()
                .contains("256 bytes")
        );
    }

    #[test]
    fn parts() {
        let p = SecretPath::new("a/b/c").unwrap();
        assert_eq!(p.parent(), Some("a/b"));
        assert_eq!(p.name(), "c");
        assert_eq!(SecretPath::new("c").unwrap().parent(), None);
        assert_eq!(p.join("d/e").unwrap().as_str(), "a/b/c/d/e");
    }
}
