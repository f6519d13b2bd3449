use dcos_emulator::Emulator;
use reqwest::Method;
use serde_json::json;

use crate::{Caller, start, user};

const I: &str = "/acs/api/v1";

/// An RSA public key (SubjectPublicKeyInfo PEM) and a login JWT signed by its private key.
pub fn service_key() -> (String, rsa::RsaPrivateKey) {
    use rsa::pkcs8::{EncodePublicKey, LineEnding};
    let private = rsa::RsaPrivateKey::new(&mut rand::thread_rng(), 2048).unwrap();
    let public = rsa::RsaPublicKey::from(&private)
        .to_public_key_pem(LineEnding::LF)
        .unwrap();
    (public, private)
}

pub fn login_jwt(private: &rsa::RsaPrivateKey, uid: &str, exp_offset: i64) -> String {
    use rsa::pkcs8::{EncodePrivateKey, LineEnding};
    let pem = private.to_pkcs8_pem(LineEnding::LF).unwrap();
    let key = jsonwebtoken::EncodingKey::from_rsa_pem(pem.as_bytes()).unwrap();
    let exp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
        + exp_offset;
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256),
        &json!({"uid": uid, "exp": exp}),
        &key,
    )
    .unwrap()
}

/// Every IAM endpoint, happy and error paths.
pub async fn scenario() -> Caller {
    let (emulator, root) = start(Emulator::builder()).await;
    let anon = Caller {
        log: root.log.clone(),
        ..Caller::new(emulator.url())
    };

    // login
    let a = anon
        .post_json(
            &format!("{I}/auth/login"),
            json!({"uid": "bootstrapuser", "password": "wrong"}),
        )
        .await;
    a.expect(401, Some("ERR_INVALID_CREDENTIALS"));
    assert_eq!(a.headers["www-authenticate"], "acsjwt");
    assert_eq!(a.json()["description"], "Invalid credentials.");
    anon.post_json(
        &format!("{I}/auth/login"),
        json!({"uid": "nobody", "password": "x"}),
    )
    .await
    .expect(401, Some("ERR_INVALID_CREDENTIALS"));
    anon.post_json(
        &format!("{I}/auth/login"),
        json!({"uid": "bootstrapuser", "password": "x", "token": "y"}),
    )
    .await
    .expect(400, None);
    anon.post_json(&format!("{I}/auth/login"), json!({"uid": "bootstrapuser"}))
        .await
        .expect(400, None);
    anon.call(
        Method::POST,
        &format!("{I}/auth/login"),
        Some(("", b"{}".to_vec())),
        &[],
    )
    .await
    .expect(400, None);
    let jwks = anon.get(&format!("{I}/auth/jwks")).await;
    jwks.expect(200, None);
    assert_eq!(jwks.json()["keys"][0]["kty"], "RSA");

    // users and service accounts
    root.put_json(
        &format!("{I}/users/alice"),
        json!({"description": "Alice", "password": "secret"}),
    )
    .await
    .expect(201, None);
    root.put_json(
        &format!("{I}/users/alice"),
        json!({"description": "Alice", "password": "secret"}),
    )
    .await
    .expect(409, Some("ERR_USER_EXISTS"));
    root.put_json(&format!("{I}/users/bob"), json!({"password": "1234"}))
        .await
        .expect(400, Some("ERR_INVALID_DATA"));
    root.put_json(
        &format!("{I}/users/bob"),
        json!({"description": "no secret"}),
    )
    .await
    .expect(400, Some("ERR_INVALID_DATA"));
    root.put_json(
        &format!("{I}/users/bad%20uid"),
        json!({"password": "12345"}),
    )
    .await
    .expect(400, Some("ERR_INVALID_USER_ID"));
    root.put_json(
        &format!("{I}/users/anonymous"),
        json!({"password": "12345"}),
    )
    .await
    .expect(400, Some("ERR_INVALID_USER_ID"));
    root.put_json(&format!("{I}/users/sa"), json!({"public_key": "not a key"}))
        .await
        .expect(400, Some("ERR_INVALID_PUBLIC_KEY"));
    let (public, private) = service_key();
    root.put_json(
        &format!("{I}/users/sa"),
        json!({"description": "SA", "public_key": public}),
    )
    .await
    .expect(201, None);
    let a = root.get(&format!("{I}/users/alice")).await;
    a.expect(200, None);
    assert_eq!(
        a.json(),
        json!({"uid": "alice", "description": "Alice", "url": "/acs/api/v1/users/alice", "is_remote": false,
               "is_service": false, "provider_type": "internal", "provider_id": ""})
    );
    assert!(a.content_type().starts_with("application/json"));
    root.get(&format!("{I}/users/nobody"))
        .await
        .expect(400, Some("ERR_UNKNOWN_USER_ID"));
    let users: Vec<String> = root.get(&format!("{I}/users")).await.json()["array"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["uid"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(users, ["alice", "bootstrapuser"]);
    let services = root.get(&format!("{I}/users?type=service")).await.json();
    assert_eq!(services["array"][0]["uid"], "sa");
    assert_eq!(services["array"][0]["is_service"], true);
    assert!(
        services["array"][0]["public_key"]
            .as_str()
            .unwrap()
            .contains("PUBLIC KEY")
    );
    root.patch_json(&format!("{I}/users/alice"), json!({"description": "A."}))
        .await
        .expect(204, None);
    root.patch_json(&format!("{I}/users/sa"), json!({"password": "12345"}))
        .await
        .expect(400, Some("ERR_INVALID_DATA"));

    // service-account login
    let jwt = login_jwt(&private, "sa", 300);
    anon.post_json(
        &format!("{I}/auth/login"),
        json!({"uid": "sa", "token": jwt}),
    )
    .await
    .expect(200, None);
    let expired = login_jwt(&private, "sa", -10);
    anon.post_json(
        &format!("{I}/auth/login"),
        json!({"uid": "sa", "token": expired}),
    )
    .await
    .expect(401, None);
    let other_uid = login_jwt(&private, "alice", 300);
    anon.post_json(
        &format!("{I}/auth/login"),
        json!({"uid": "sa", "token": other_uid}),
    )
    .await
    .expect(401, None);
    anon.post_json(
        &format!("{I}/auth/login"),
        json!({"uid": "sa", "password": "whatever"}),
    )
    .await
    .expect(401, None);
    let (_, stranger) = service_key();
    let forged = login_jwt(&stranger, "sa", 300);
    anon.post_json(
        &format!("{I}/auth/login"),
        json!({"uid": "sa", "token": forged}),
    )
    .await
    .expect(401, None);

    // groups
    root.put_json(&format!("{I}/groups/ops"), json!({"description": "Ops"}))
        .await
        .expect(201, None);
    root.put_json(&format!("{I}/groups/ops"), json!({"description": "Ops"}))
        .await
        .expect(409, Some("ERR_GROUP_EXISTS"));
    root.put_json(&format!("{I}/groups/b%20d"), json!({"description": "x"}))
        .await
        .expect(400, Some("ERR_INVALID_GROUP_ID"));
    root.get(&format!("{I}/groups/ops")).await.expect(200, None);
    root.get(&format!("{I}/groups/nope"))
        .await
        .expect(400, Some("ERR_UNKNOWN_GROUP_ID"));
    root.patch_json(
        &format!("{I}/groups/ops"),
        json!({"description": "Operations"}),
    )
    .await
    .expect(204, None);
    assert_eq!(
        root.get(&format!("{I}/groups")).await.json()["array"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    root.put_empty(&format!("{I}/groups/ops/users/alice"))
        .await
        .expect(204, None);
    root.put_empty(&format!("{I}/groups/ops/users/sa"))
        .await
        .expect(204, None);
    root.put_empty(&format!("{I}/groups/ops/users/alice"))
        .await
        .expect(409, Some("ERR_USER_ALREADY_IN_GROUP"));
    root.put_empty(&format!("{I}/groups/ops/users/nobody"))
        .await
        .expect(400, Some("ERR_UNKNOWN_USER_ID"));
    root.put_empty(&format!("{I}/groups/nope/users/alice"))
        .await
        .expect(400, Some("ERR_UNKNOWN_GROUP_ID"));
    let members = root.get(&format!("{I}/groups/ops/users")).await.json();
    assert_eq!(members["array"][0]["user"]["uid"], "alice");
    assert_eq!(members["array"].as_array().unwrap().len(), 1);
    let services = root
        .get(&format!("{I}/groups/ops/users?type=service"))
        .await
        .json();
    assert_eq!(services["array"][0]["user"]["uid"], "sa");
    let groups = root.get(&format!("{I}/users/alice/groups")).await.json();
    assert_eq!(groups["array"][0]["group"]["gid"], "ops");
    assert_eq!(
        groups["array"][0]["membershipurl"],
        "/acs/api/v1/groups/ops/users/alice"
    );

    // ACLs and grants, with the %252F rule
    let rid = "dcos:secrets:default:team%252Fkey";
    let acl = format!("{I}/acls/{rid}");
    root.get(&acl)
        .await
        .expect(400, Some("ERR_UNKNOWN_RESOURCE_ID"));
    root.put_empty(&format!("{acl}/users/alice/read"))
        .await
        .expect(400, Some("ERR_UNKNOWN_RESOURCE_ID"));
    root.put_json(&acl, json!({"description": "team key"}))
        .await
        .expect(201, None);
    root.put_json(&acl, json!({"description": "team key"}))
        .await
        .expect(409, Some("ERR_ACL_EXISTS"));
    let a = root.get(&acl).await;
    assert_eq!(
        a.json(),
        json!({"rid": "dcos:secrets:default:team/key", "url": "/acs/api/v1/acls/dcos:secrets:default:team%252Fkey", "description": "team key"})
    );
    root.get(&format!("{I}/acls/dcos:secrets:default:team%2Fkey"))
        .await
        .expect(404, None);
    root.put_json(&format!("{I}/acls/a%20b"), json!({"description": ""}))
        .await
        .expect(400, Some("ERR_INVALID_RESOURCE_ID"));
    root.patch_json(&acl, json!({"description": "the team key"}))
        .await
        .expect(204, None);
    root.put_empty(&format!("{acl}/users/alice/read"))
        .await
        .expect(204, None);
    root.put_empty(&format!("{acl}/users/alice/read"))
        .await
        .expect(409, Some("ERR_PERMISSION_EXISTS"));
    root.put_empty(&format!("{acl}/users/alice/write"))
        .await
        .expect(400, Some("ERR_INVALID_ACTION"));
    root.put_empty(&format!("{acl}/users/nobody/read"))
        .await
        .expect(400, Some("ERR_UNKNOWN_USER_ID"));
    root.put_empty(&format!("{acl}/groups/ops/full"))
        .await
        .expect(204, None);
    root.put_empty(&format!("{acl}/groups/nope/full"))
        .await
        .expect(400, Some("ERR_UNKNOWN_GROUP_ID"));
    assert_eq!(
        root.get(&format!("{acl}/users/alice/read")).await.json(),
        json!({"allowed": true})
    );
    assert_eq!(
        root.get(&format!("{acl}/users/sa/read")).await.json(),
        json!({"allowed": false})
    );
    assert_eq!(
        root.get(&format!("{acl}/groups/ops/full")).await.json(),
        json!({"allowed": true})
    );
    let holders = root.get(&format!("{acl}/permissions")).await.json();
    assert_eq!(holders["users"][0]["uid"], "alice");
    assert_eq!(holders["users"][0]["actions"][0]["name"], "read");
    assert_eq!(
        holders["users"][0]["actions"][0]["url"],
        "/acs/api/v1/acls/dcos:secrets:default:team%252Fkey/users/alice/read"
    );
    assert_eq!(holders["groups"][0]["gid"], "ops");
    let perms = root.get(&format!("{I}/users/sa/permissions")).await.json();
    assert_eq!(perms["direct"], json!([]));
    assert_eq!(perms["groups"][0]["rid"], "dcos:secrets:default:team/key");
    assert_eq!(perms["groups"][0]["gid"], "ops");
    let perms = root
        .get(&format!("{I}/users/alice/permissions"))
        .await
        .json();
    assert_eq!(perms["direct"][0]["rid"], "dcos:secrets:default:team/key");
    let gperms = root
        .get(&format!("{I}/groups/ops/permissions"))
        .await
        .json();
    assert_eq!(gperms["array"][0]["actions"][0]["name"], "full");
    let acls = root.get(&format!("{I}/acls")).await.json();
    assert_eq!(acls["array"][0]["rid"], "dcos:secrets:default:team/key");

    // revokes
    root.delete(&format!("{acl}/users/alice/update"))
        .await
        .expect(400, Some("ERR_ACTION_NOT_YET_STORED"));
    root.delete(&format!("{acl}/users/sa/read"))
        .await
        .expect(400, Some("ERR_USER_NOT_IN_ACL"));
    root.delete(&format!("{acl}/users/alice/read"))
        .await
        .expect(204, None);
    root.delete(&format!("{acl}/groups/ops/read"))
        .await
        .expect(400, Some("ERR_ACTION_NOT_YET_STORED"));
    root.delete(&format!("{acl}/groups/ops/full"))
        .await
        .expect(204, None);
    root.delete(&format!("{acl}/groups/ops/full"))
        .await
        .expect(400, Some("ERR_GROUP_NOT_IN_ACL"));

    // deletes
    root.delete(&format!("{I}/groups/ops/users/alice"))
        .await
        .expect(204, None);
    root.delete(&format!("{I}/groups/ops/users/alice"))
        .await
        .expect(400, Some("ERR_USER_NOT_IN_GROUP"));
    root.delete(&format!("{I}/groups/superusers/users/bootstrapuser"))
        .await
        .expect(400, Some("ERR_NO_MORE_SUPERUSERS"));
    root.delete(&format!("{I}/groups/superusers"))
        .await
        .expect(400, Some("ERR_IS_SUPERUSER_GROUP"));
    root.delete(&format!("{I}/groups/ops"))
        .await
        .expect(204, None);
    root.delete(&format!("{I}/groups/ops"))
        .await
        .expect(400, Some("ERR_UNKNOWN_GROUP_ID"));
    root.delete(&acl).await.expect(204, None);
    root.delete(&acl)
        .await
        .expect(400, Some("ERR_UNKNOWN_RESOURCE_ID"));
    root.delete(&format!("{I}/users/alice"))
        .await
        .expect(204, None);
    root.delete(&format!("{I}/users/alice"))
        .await
        .expect(400, Some("ERR_UNKNOWN_USER_ID"));
    root.delete(&format!("{I}/users/bootstrapuser"))
        .await
        .expect(400, Some("ERR_NO_MORE_SUPERUSERS"));

    // a non-superuser gets 403 from the IAM API, but may read its own permissions
    let carol = user(&root, "carol").await;
    let a = carol.get(&format!("{I}/users")).await;
    a.expect(403, None);
    assert_eq!(a.content_type(), "text/html");
    carol
        .get(&format!("{I}/users/carol/permissions"))
        .await
        .expect(200, None);
    carol
        .get(&format!("{I}/users/bootstrapuser/permissions"))
        .await
        .expect(403, None);
    crate::grant(&root, "dcos:adminrouter:acs", "carol", "full").await;
    carol.get(&format!("{I}/users")).await.expect(200, None);
    emulator.shutdown().await;
    root
}

#[tokio::test]
async fn iam_endpoints_conform() {
    scenario().await;
}
