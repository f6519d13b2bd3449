use dcos_iam_client::{
    Action, CreateOutcome, Gid, GrantOutcome, GrantState, Principal, RevokeOutcome, Rid, Uid,
};
use wiremock::matchers::{body_json, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::{TOKEN_HEADER, client, iam_error, json};

const RID_URL: &str = "/acs/api/v1/acls/dcos:secrets:list:default:team%252Faws_key";

fn rid() -> Rid {
    Rid::secret_list("team/aws_key").unwrap()
}

fn sa() -> Principal {
    Principal::User(Uid::new("sa").unwrap())
}

#[tokio::test]
async fn grant_path_holds_the_double_encoded_rid() {
    let server = MockServer::start().await;
    Mock::given(method("PUT"))
        .and(path(format!("{RID_URL}/users/sa/read")))
        .and(header("authorization", TOKEN_HEADER))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    let iam = client(&server);
    let r = rid();
    iam.acl(&r).grant(&sa(), Action::Read).await.unwrap();
    let seen = server.received_requests().await.unwrap();
    assert!(
        seen[0].url.path().contains("team%252Faws_key"),
        "{}",
        seen[0].url
    );
}

#[tokio::test]
async fn create_get_delete_list() {
    let server = MockServer::start().await;
    Mock::given(method("PUT"))
        .and(path(RID_URL))
        .and(header("content-type", "application/json"))
        .and(body_json(serde_json::json!({"description": "d"})))
        .respond_with(ResponseTemplate::new(201))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path(RID_URL))
        .respond_with(iam_error(409, "ERR_ACL_EXISTS"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(RID_URL))
        .respond_with(json(serde_json::json!({"rid": "dcos:secrets:list:default:team/aws_key", "url": RID_URL, "description": "d"})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path(RID_URL))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/acs/api/v1/acls"))
        .respond_with(json(serde_json::json!({"array": [{"rid": "dcos:superuser", "url": "/acs/api/v1/acls/dcos:superuser", "description": "su"}]})))
        .expect(1)
        .mount(&server)
        .await;
    let iam = client(&server);
    let r = rid();
    let acl = iam.acl(&r);
    assert_eq!(acl.create("d").await.unwrap(), CreateOutcome::Created);
    assert_eq!(acl.create("d").await.unwrap(), CreateOutcome::AlreadyExists);
    assert_eq!(
        acl.get().await.unwrap().rid,
        "dcos:secrets:list:default:team/aws_key"
    );
    acl.delete().await.unwrap();
    assert_eq!(iam.acls().await.unwrap()[0].rid, "dcos:superuser");
}

#[tokio::test]
async fn unknown_acl_is_not_found_and_get_opt_none() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(RID_URL))
        .respond_with(iam_error(400, "ERR_UNKNOWN_RESOURCE_ID"))
        .expect(2)
        .mount(&server)
        .await;
    let iam = client(&server);
    let r = rid();
    assert!(iam.acl(&r).get().await.unwrap_err().is_not_found());
    assert!(iam.acl(&r).get_opt().await.unwrap().is_none());
}

#[tokio::test]
async fn ensure_granted_creates_the_acl_then_grants() {
    let server = MockServer::start().await;
    Mock::given(method("PUT"))
        .and(path(RID_URL))
        .respond_with(ResponseTemplate::new(201))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path(format!("{RID_URL}/groups/ops/full")))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    let iam = client(&server);
    let r = rid();
    let ops = Principal::Group(Gid::new("ops").unwrap());
    assert_eq!(
        iam.acl(&r)
            .ensure_granted(&ops, Action::Full, "d")
            .await
            .unwrap(),
        GrantOutcome::Granted
    );
}

#[tokio::test]
async fn ensure_granted_twice_is_already_granted() {
    let server = MockServer::start().await;
    Mock::given(method("PUT"))
        .and(path(RID_URL))
        .respond_with(iam_error(409, "ERR_ACL_EXISTS"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path(format!("{RID_URL}/users/sa/read")))
        .respond_with(iam_error(409, "ERR_PERMISSION_EXISTS"))
        .expect(1)
        .mount(&server)
        .await;
    let iam = client(&server);
    let r = rid();
    assert_eq!(
        iam.acl(&r)
            .ensure_granted(&sa(), Action::Read, "d")
            .await
            .unwrap(),
        GrantOutcome::AlreadyGranted
    );
}

#[tokio::test]
async fn grant_to_an_unknown_user_is_not_found() {
    let server = MockServer::start().await;
    Mock::given(method("PUT"))
        .and(path(RID_URL))
        .respond_with(ResponseTemplate::new(201))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path(format!("{RID_URL}/users/sa/read")))
        .respond_with(iam_error(400, "ERR_UNKNOWN_USER_ID"))
        .expect(1)
        .mount(&server)
        .await;
    let iam = client(&server);
    let r = rid();
    let err = iam
        .acl(&r)
        .ensure_granted(&sa(), Action::Read, "d")
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err}");
    assert_eq!(err.code(), Some("ERR_UNKNOWN_USER_ID"));
}

#[tokio::test]
async fn ensure_revoked_maps_not_granted_codes_to_already_absent() {
    for (code, expected) in [
        (None, RevokeOutcome::Revoked),
        (
            Some("ERR_ACTION_NOT_YET_STORED"),
            RevokeOutcome::AlreadyAbsent,
        ),
        (Some("ERR_USER_NOT_IN_ACL"), RevokeOutcome::AlreadyAbsent),
        (
            Some("ERR_UNKNOWN_RESOURCE_ID"),
            RevokeOutcome::AlreadyAbsent,
        ),
    ] {
        let server = MockServer::start().await;
        let answer = match code {
            None => ResponseTemplate::new(204),
            Some(c) => iam_error(400, c),
        };
        Mock::given(method("DELETE"))
            .and(path(format!("{RID_URL}/users/sa/read")))
            .respond_with(answer)
            .expect(1)
            .mount(&server)
            .await;
        let iam = client(&server);
        let r = rid();
        assert_eq!(
            iam.acl(&r)
                .ensure_revoked(&sa(), Action::Read)
                .await
                .unwrap(),
            expected,
            "{code:?}"
        );
    }
}

#[tokio::test]
async fn revoke_of_an_unknown_user_is_an_error() {
    let server = MockServer::start().await;
    Mock::given(method("DELETE"))
        .respond_with(iam_error(400, "ERR_UNKNOWN_USER_ID"))
        .expect(1)
        .mount(&server)
        .await;
    let iam = client(&server);
    let r = rid();
    assert!(
        iam.acl(&r)
            .ensure_revoked(&sa(), Action::Read)
            .await
            .unwrap_err()
            .is_not_found()
    );
}

#[tokio::test]
async fn is_granted_and_holders() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("{RID_URL}/users/sa/read")))
        .respond_with(json(serde_json::json!({"allowed": true})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{RID_URL}/groups/ops/read")))
        .respond_with(iam_error(400, "ERR_UNKNOWN_RESOURCE_ID"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{RID_URL}/users/ops-bot/read")))
        .respond_with(json(serde_json::json!({"allowed": false})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{RID_URL}/permissions")))
        .respond_with(json(serde_json::json!({
            "users": [{"uid": "sa", "userurl": "/acs/api/v1/users/sa", "actions": [{"name": "read", "url": "u"}]}],
            "groups": [{"gid": "ops", "groupurl": "/acs/api/v1/groups/ops", "actions": [{"name": "full", "url": "g"}]}]
        })))
        .expect(1)
        .mount(&server)
        .await;
    let iam = client(&server);
    let r = rid();
    let acl = iam.acl(&r);
    assert!(acl.is_granted(&sa(), Action::Read).await.unwrap());
    let ops = Principal::Group(Gid::new("ops").unwrap());
    assert_eq!(
        acl.grant_state(&ops, Action::Read).await.unwrap(),
        GrantState::NoAcl
    );
    let bot = Principal::User(Uid::new("ops-bot").unwrap());
    assert_eq!(
        acl.grant_state(&bot, Action::Read).await.unwrap(),
        GrantState::NotGranted
    );
    let holders = acl.holders().await.unwrap();
    assert_eq!(holders.users[0].uid, "sa");
    assert_eq!(holders.users[0].actions[0].action(), Some(Action::Read));
    assert_eq!(holders.groups[0].actions[0].action(), Some(Action::Full));
}
