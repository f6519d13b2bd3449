use dcos_iam_client::{Gid, Uid};
use secrecy::SecretString;
use wiremock::matchers::{body_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::{TOKEN_HEADER, client, iam_error, json};

fn user(uid: &str, service: bool) -> serde_json::Value {
    serde_json::json!({"uid": uid, "description": "d", "url": format!("/acs/api/v1/users/{uid}"),
        "is_remote": false, "is_service": service, "provider_type": "internal", "provider_id": ""})
}

#[tokio::test]
async fn create_user_and_service_account() {
    let server = MockServer::start().await;
    Mock::given(method("PUT"))
        .and(path("/acs/api/v1/users/alice"))
        .and(header("authorization", TOKEN_HEADER))
        .and(header("content-type", "application/json"))
        .and(body_json(
            serde_json::json!({"description": "Alice", "password": "secret-pw"}),
        ))
        .respond_with(ResponseTemplate::new(201))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path("/acs/api/v1/users/sa"))
        .and(body_json(
            serde_json::json!({"description": "SA", "public_key": "PEM"}),
        ))
        .respond_with(ResponseTemplate::new(201))
        .expect(1)
        .mount(&server)
        .await;
    let iam = client(&server);
    let alice = Uid::new("alice").unwrap();
    iam.user(&alice)
        .create_user("Alice", &SecretString::from("secret-pw"))
        .await
        .unwrap();
    let sa = Uid::new("sa").unwrap();
    iam.user(&sa)
        .create_service_account("SA", "PEM")
        .await
        .unwrap();
}

#[tokio::test]
async fn user_errors_map_to_helpers() {
    let server = MockServer::start().await;
    Mock::given(method("PUT"))
        .respond_with(iam_error(409, "ERR_USER_EXISTS"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(iam_error(400, "ERR_UNKNOWN_USER_ID"))
        .expect(2)
        .mount(&server)
        .await;
    let iam = client(&server);
    let u = Uid::new("bob").unwrap();
    let err = iam
        .user(&u)
        .create_user("", &SecretString::from("pw123"))
        .await
        .unwrap_err();
    assert!(
        err.is_conflict() && err.code() == Some("ERR_USER_EXISTS"),
        "{err}"
    );
    assert!(iam.user(&u).get().await.unwrap_err().is_not_found());
    assert!(iam.user(&u).get_opt().await.unwrap().is_none());
}

#[tokio::test]
async fn get_list_delete_permissions_groups() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/acs/api/v1/users/sa"))
        .respond_with(json(user("sa", true)))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/acs/api/v1/users"))
        .and(query_param("type", "service"))
        .respond_with(json(serde_json::json!({"array": [user("sa", true)]})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/acs/api/v1/users"))
        .respond_with(json(serde_json::json!({"array": [user("alice", false)]})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/acs/api/v1/users/sa"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/acs/api/v1/users/sa/permissions"))
        .respond_with(json(serde_json::json!({
            "direct": [{"rid": "dcos:secrets:default:a/b", "description": "", "aclurl": "/acs/api/v1/acls/dcos:secrets:default:a%252Fb",
                        "actions": [{"name": "read", "url": "x"}]}],
            "groups": [{"rid": "dcos:superuser", "gid": "superusers", "description": "", "aclurl": "", "membershipurl": "",
                        "actions": [{"name": "full", "url": "y"}]}]
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/acs/api/v1/users/sa/groups"))
        .respond_with(json(serde_json::json!({"array": [{"group": {"gid": "ops", "description": "Ops", "url": "/acs/api/v1/groups/ops"},
            "membershipurl": "/acs/api/v1/groups/ops/users/sa"}]})))
        .expect(1)
        .mount(&server)
        .await;
    let iam = client(&server);
    let sa = Uid::new("sa").unwrap();
    let got = iam.user(&sa).get().await.unwrap();
    assert!(got.is_service);
    assert_eq!(iam.service_accounts().await.unwrap()[0].uid, "sa");
    assert_eq!(iam.users().await.unwrap()[0].uid, "alice");
    let perms = iam.user(&sa).permissions().await.unwrap();
    assert_eq!(perms.direct[0].rid, "dcos:secrets:default:a/b");
    assert_eq!(perms.groups[0].gid, "superusers");
    assert_eq!(iam.user(&sa).groups().await.unwrap()[0].group.gid, "ops");
    iam.user(&sa).delete().await.unwrap();
}

#[tokio::test]
async fn groups_and_members() {
    let server = MockServer::start().await;
    Mock::given(method("PUT"))
        .and(path("/acs/api/v1/groups/ops"))
        .and(body_json(serde_json::json!({"description": "Ops"})))
        .respond_with(ResponseTemplate::new(201))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/acs/api/v1/groups/ops"))
        .respond_with(json(serde_json::json!({"gid": "ops", "description": "Ops", "url": "/acs/api/v1/groups/ops"})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/acs/api/v1/groups/nope"))
        .respond_with(iam_error(400, "ERR_UNKNOWN_GROUP_ID"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path("/acs/api/v1/groups/ops/users/sa"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/acs/api/v1/groups/ops/users/sa"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/acs/api/v1/groups/ops/users"))
        .and(query_param("type", "service"))
        .respond_with(json(
            serde_json::json!({"array": [{"user": user("sa", true), "membershipurl": "m"}]}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/acs/api/v1/groups/ops/users"))
        .respond_with(json(
            serde_json::json!({"array": [{"user": user("alice", false), "membershipurl": "m"}]}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/acs/api/v1/groups/ops/permissions"))
        .respond_with(json(serde_json::json!({"array": [{"rid": "dcos:secrets:default:*", "description": "", "aclurl": "",
            "actions": [{"name": "read", "url": "z"}]}]})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/acs/api/v1/groups/ops"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    let iam = client(&server);
    let ops = Gid::new("ops").unwrap();
    let g = iam.group(&ops);
    g.create("Ops").await.unwrap();
    assert_eq!(g.get().await.unwrap().description, "Ops");
    let nope = Gid::new("nope").unwrap();
    assert!(iam.group(&nope).get_opt().await.unwrap().is_none());
    let sa = Uid::new("sa").unwrap();
    g.add_member(&sa).await.unwrap();
    let members: Vec<String> = g
        .members()
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.user.uid)
        .collect();
    assert_eq!(members, ["alice", "sa"]);
    assert_eq!(
        g.permissions().await.unwrap()[0].rid,
        "dcos:secrets:default:*"
    );
    g.remove_member(&sa).await.unwrap();
    g.delete().await.unwrap();
}
