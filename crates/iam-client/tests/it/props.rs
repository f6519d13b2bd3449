//! Property tests of the ids: what is accepted is exactly what the rules say, and a resource id
//! survives the trip through a URL path and the service's decoding unchanged.

use dcos_iam_client::{Gid, Rid, Uid};
use percent_encoding::percent_decode_str;
use proptest::prelude::*;

/// The contract's rule for user and group ids, less the two that are URL dot segments.
fn is_id(id: &str) -> bool {
    !id.is_empty()
        && id != "."
        && id != ".."
        && id.chars().count() <= 96
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '@' | '.'))
}

/// What the IAM service does with a rid's path segment: the framework percent-decodes it once,
/// then `%2F` becomes `/`.
fn service_decodes(segment: &str) -> String {
    let once = percent_decode_str(segment)
        .decode_utf8()
        .expect("the segment decodes to UTF-8");
    once.replace("%2F", "/")
}

/// Text that could be a resource id, rich in what URL encoding is about: `/`, `%`, `%2F`,
/// dots, and any other printable character.
fn rid_like() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        "[^\\s\\p{Cc}]{1,6}",
        Just("/".to_owned()),
        Just("%".to_owned()),
        Just("%2F".to_owned()),
        Just("%2f".to_owned()),
        Just("%25".to_owned()),
        Just(".".to_owned()),
        Just(":".to_owned()),
    ];
    prop::collection::vec(piece, 1..10).prop_map(|pieces| pieces.concat())
}

proptest! {
    #[test]
    fn valid_ids_round_trip(id in "[A-Za-z0-9@._-]{1,96}") {
        prop_assume!(id != "." && id != "..");
        let uid = Uid::new(&id).unwrap();
        prop_assert_eq!(uid.as_str(), id.as_str());
        prop_assert_eq!(uid.to_string().parse::<Uid>().unwrap(), uid);
        let gid = Gid::new(&id).unwrap();
        prop_assert_eq!(gid.to_string().parse::<Gid>().unwrap(), gid);
    }

    #[test]
    fn any_text_is_an_id_exactly_when_the_rule_says(id in any::<String>()) {
        prop_assert_eq!(Uid::new(&id).is_ok(), is_id(&id));
        prop_assert_eq!(Gid::new(&id).is_ok(), is_id(&id));
    }

    #[test]
    fn ascii_near_misses_are_refused_exactly_when_the_rule_says(id in "[ -~]{0,100}") {
        prop_assert_eq!(Uid::new(&id).is_ok(), is_id(&id));
    }

    /// Any resource id the client accepts reaches the service as itself: the URL parser keeps
    /// its segment as written, the segment has no `/`, and the service's decoding gives the id.
    #[test]
    fn rids_survive_the_url_and_the_services_decoding(rid in rid_like()) {
        let Ok(parsed) = Rid::new(&rid) else {
            // Refused only for the sequences the service would read as a `/`, or a dot segment.
            prop_assert!(
                rid.to_ascii_uppercase().contains("%2F") || rid == "." || rid == "..",
                "{rid:?} was refused"
            );
            return Ok(());
        };
        let segment = parsed.url_segment();
        prop_assert!(!segment.contains('/'));
        let path = format!("/acs/api/v1/acls/{segment}/users/u/read");
        let url = url::Url::parse(&format!("https://dcos.example.com{path}")).unwrap();
        prop_assert_eq!(url.path(), path.as_str());
        prop_assert_eq!(service_decodes(&segment), rid);
    }

    #[test]
    fn secret_rids_round_trip_through_their_paths(path in "[A-Za-z0-9._-]{1,20}(/[A-Za-z0-9._-]{1,20}){0,4}") {
        let rid = Rid::secret(&path).unwrap();
        prop_assert_eq!(service_decodes(&rid.url_segment()), format!("dcos:secrets:default:{path}"));
        let list = Rid::secret_list(format!("/{path}")).unwrap();
        prop_assert_eq!(list.as_str(), format!("dcos:secrets:list:default:{path}"));
    }
}

#[test]
fn rids_the_service_cannot_address_are_refused() {
    for rid in ["dcos:a%2Fb", "dcos:a%2fb", ".", ".."] {
        let err = Rid::new(rid).unwrap_err();
        assert!(err.to_string().contains("resource id"), "{err}");
    }
    assert!(Rid::new("dcos:a%252Fb").is_ok());
}
