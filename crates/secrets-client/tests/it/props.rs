//! Property tests of secret paths: what is accepted is exactly what the contract's rule says,
//! and an accepted path reaches the service as itself.

use dcos_secrets_client::{MAX_PATH_BYTES, SecretPath, requests};
use proptest::prelude::*;

/// The contract's rule, written from its words: one leading `/` dropped; one or more segments
/// of `[A-Za-z0-9._-]`, none empty, `.` or `..`; at most 255 bytes.
fn is_path(path: &str) -> bool {
    let path = path.strip_prefix('/').unwrap_or(path);
    !path.is_empty()
        && path.len() <= MAX_PATH_BYTES
        && path.split('/').all(|segment| {
            !segment.is_empty()
                && segment != "."
                && segment != ".."
                && segment
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        })
}

fn segment() -> impl Strategy<Value = String> {
    "[A-Za-z0-9._-]{1,40}".prop_filter("not a dot segment", |s| s != "." && s != "..")
}

fn valid_path() -> impl Strategy<Value = String> {
    prop::collection::vec(segment(), 1..8)
        .prop_map(|segments| segments.join("/"))
        .prop_filter("at most 255 bytes", |p| p.len() <= MAX_PATH_BYTES)
}

proptest! {
    #[test]
    fn valid_paths_round_trip(path in valid_path(), slash in any::<bool>()) {
        let typed = if slash { format!("/{path}") } else { path.clone() };
        let parsed = SecretPath::new(&typed).unwrap();
        prop_assert_eq!(parsed.as_str(), path.as_str());
        prop_assert_eq!(parsed.to_string().parse::<SecretPath>().unwrap(), parsed.clone());
        match parsed.parent() {
            Some(folder) => prop_assert_eq!(format!("{folder}/{}", parsed.name()), path.clone()),
            None => prop_assert_eq!(parsed.name(), path.as_str()),
        }
        // On the wire as itself: the URL parser changes nothing.
        let wire = requests::secret_url("default", &parsed);
        let url = url::Url::parse(&format!("https://dcos.example.com{wire}")).unwrap();
        prop_assert_eq!(url.path(), format!("/secrets/v1/secret/default/{path}"));
    }

    #[test]
    fn any_text_is_a_path_exactly_when_the_rule_says(path in any::<String>()) {
        prop_assert_eq!(SecretPath::new(&path).is_ok(), is_path(&path));
    }

    #[test]
    fn near_misses_are_refused_exactly_when_the_rule_says(path in "/?[A-Za-z0-9._/ %-]{0,300}") {
        prop_assert_eq!(SecretPath::new(&path).is_ok(), is_path(&path));
    }
}
