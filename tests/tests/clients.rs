//! The secrets and IAM clients against the emulator: two independent readings of the contract
//! must agree on the wire.

use std::sync::Arc;
use std::time::Duration;

use dcos_emulator::Emulator;
use dcos_emulator::state::Secret;
use dcos_iam_client::{
    Action, Credentials, GrantOutcome, IamClient, KeyPair, KeySize, LoginSource, Principal,
    RevokeOutcome, Rid, Uid,
};
use dcos_secrets_client::{Overwrite, PutOutcome, SecretPath, SecretValue, SecretsClient};
use dcos_transport::Transport;
use secrecy::{ExposeSecret, SecretString};

fn transport(emulator: &Emulator) -> Transport {
    let mut builder = Transport::builder(emulator.url()).backoff(Duration::ZERO, Duration::ZERO);
    if let Some(ca) = emulator.ca_pem() {
        builder = builder.pin_ca_pem(ca.as_bytes());
    }
    builder.build().unwrap()
}

fn root() -> Credentials {
    Credentials::password(
        Uid::new("bootstrapuser").unwrap(),
        SecretString::from("deleteme"),
    )
}

#[tokio::test]
async fn secrets_round_trip_over_pinned_tls() {
    let emulator = Emulator::builder().tls(true).start().await.unwrap();
    let iam = IamClient::with_login(transport(&emulator), root());
    let secrets = SecretsClient::new(iam.transport().clone());
    secrets.ping().await.unwrap();

    let text = SecretPath::new("/team/text").unwrap();
    let bin = SecretPath::new("team/bin").unwrap();
    let binary = SecretValue::binary((0..=255u8).collect::<Vec<_>>());
    secrets
        .secret(&text)
        .create(&SecretValue::text("line\n"))
        .await
        .unwrap();
    secrets.secret(&bin).create(&binary).await.unwrap();
    assert_eq!(
        secrets.secret(&text).get().await.unwrap(),
        SecretValue::text("line\n")
    );
    assert_eq!(secrets.secret(&bin).get().await.unwrap(), binary);
    assert_eq!(secrets.list(None).await.unwrap(), ["team/bin", "team/text"]);
    assert_eq!(
        secrets
            .list(Some(&SecretPath::new("team").unwrap()))
            .await
            .unwrap(),
        ["bin", "text"]
    );

    let put = |v: &'static str, o| {
        let secrets = secrets.clone();
        let text = text.clone();
        async move { secrets.secret(&text).put(&SecretValue::text(v), o).await }
    };
    assert_eq!(
        put("line\n", Overwrite::Deny).await.unwrap(),
        PutOutcome::Unchanged
    );
    assert!(put("new", Overwrite::Deny).await.unwrap_err().is_conflict());
    assert_eq!(
        put("new", Overwrite::Allow).await.unwrap(),
        PutOutcome::Updated {
            previous: SecretValue::text("line\n")
        }
    );
    assert_eq!(
        emulator.state().secrets["team/text"],
        Secret::Text("new".into())
    );
    secrets.secret(&text).delete().await.unwrap();
    assert!(secrets.secret(&text).get_opt().await.unwrap().is_none());
    assert!(
        secrets
            .secret(&text)
            .delete()
            .await
            .unwrap_err()
            .is_not_found()
    );
    emulator.shutdown().await;
}

#[tokio::test]
async fn grants_with_slashes_reach_the_right_acl() {
    let emulator = Emulator::builder().start().await.unwrap();
    let iam = IamClient::with_login(transport(&emulator), root());
    let keys = KeyPair::generate(KeySize::Rsa2048).unwrap();
    let sa = Uid::new("dse").unwrap();
    iam.user(&sa)
        .create_service_account("DSE", &keys.public_key_pem)
        .await
        .unwrap();
    let who = Principal::User(sa.clone());
    let rid = Rid::secret_list("data-science-engine/aws_access_key_id").unwrap();
    let acl = iam.acl(&rid);
    assert_eq!(
        acl.ensure_granted(&who, Action::Read, "key id")
            .await
            .unwrap(),
        GrantOutcome::Granted
    );
    assert_eq!(
        acl.ensure_granted(&who, Action::Read, "key id")
            .await
            .unwrap(),
        GrantOutcome::AlreadyGranted
    );
    assert!(acl.is_granted(&who, Action::Read).await.unwrap());
    let state = emulator.state();
    assert!(
        state.acls["dcos:secrets:list:default:data-science-engine/aws_access_key_id"].users["dse"]
            .contains("read")
    );
    let perms = iam.user(&sa).permissions().await.unwrap();
    assert_eq!(perms.direct[0].rid, rid.as_str());
    assert_eq!(acl.holders().await.unwrap().users[0].uid, "dse");
    assert_eq!(
        acl.ensure_revoked(&who, Action::Read).await.unwrap(),
        RevokeOutcome::Revoked
    );
    assert_eq!(
        acl.ensure_revoked(&who, Action::Read).await.unwrap(),
        RevokeOutcome::AlreadyAbsent
    );
    let nobody = Principal::User(Uid::new("nobody").unwrap());
    assert!(
        acl.ensure_granted(&nobody, Action::Read, "x")
            .await
            .unwrap_err()
            .is_not_found()
    );
    emulator.shutdown().await;
}

#[tokio::test]
async fn a_service_account_logs_in_and_renews_an_expiring_token() {
    // Tokens live 2 s: each is "about to expire" at once, so every request logs in again first,
    // and a token that expires between check and use is renewed after the 401.
    let emulator = Emulator::builder()
        .token_ttl(Duration::from_secs(2))
        .start()
        .await
        .unwrap();
    let admin = IamClient::with_login(transport(&emulator), root());
    let keys = KeyPair::generate(KeySize::Rsa2048).unwrap();
    let sa = Uid::new("ci-bot").unwrap();
    admin
        .user(&sa)
        .create_service_account("CI", &keys.public_key_pem)
        .await
        .unwrap();
    let path = SecretPath::new("ci/token").unwrap();
    let rid = Rid::secret(path.as_str()).unwrap();
    admin
        .acl(&rid)
        .ensure_granted(&Principal::User(sa.clone()), Action::Full, "ci")
        .await
        .unwrap();

    let creds =
        Credentials::service_account(sa, SecretString::from(keys.private_key_pem.expose_secret()))
            .unwrap();
    let base = transport(&emulator);
    let source = Arc::new(LoginSource::new(base.clone(), creds));
    let secrets = SecretsClient::new(base.with_token_source(source.clone()));
    secrets
        .secret(&path)
        .create(&SecretValue::text("v0"))
        .await
        .unwrap();
    for i in 1..=3 {
        tokio::time::sleep(Duration::from_millis(1100)).await;
        secrets
            .secret(&path)
            .update(&SecretValue::text(format!("v{i}")))
            .await
            .unwrap();
    }
    assert_eq!(
        secrets.secret(&path).get().await.unwrap(),
        SecretValue::text("v3")
    );
    emulator.shutdown().await;
}

#[tokio::test]
async fn wrong_password_and_missing_permission_are_classified() {
    let emulator = Emulator::builder().start().await.unwrap();
    let bad = Credentials::password(
        Uid::new("bootstrapuser").unwrap(),
        SecretString::from("nope!"),
    );
    let err = IamClient::new(transport(&emulator))
        .login(&bad)
        .await
        .unwrap_err();
    assert!(err.is_unauthorized());
    assert_eq!(err.code(), Some("ERR_INVALID_CREDENTIALS"));

    let admin = IamClient::with_login(transport(&emulator), root());
    let alice = Uid::new("alice").unwrap();
    admin
        .user(&alice)
        .create_user("", &SecretString::from("alice-pw"))
        .await
        .unwrap();
    let as_alice = IamClient::with_login(
        transport(&emulator),
        Credentials::password(alice, SecretString::from("alice-pw")),
    );
    let err = as_alice.users().await.unwrap_err();
    assert!(err.is_forbidden(), "{err}");
    let secrets = SecretsClient::new(as_alice.transport().clone());
    let err = secrets.list(None).await.unwrap_err();
    assert!(err.is_forbidden(), "{err}");
    emulator.shutdown().await;
}

#[tokio::test]
async fn transient_faults_are_retried_to_success() {
    let emulator = Emulator::builder().start().await.unwrap();
    let iam = IamClient::with_login(transport(&emulator), root());
    let secrets = SecretsClient::new(iam.transport().clone());
    let path = SecretPath::new("flaky").unwrap();
    emulator.add_fault(dcos_emulator::FaultRule {
        method: Some("PUT".into()),
        path_prefix: "/secrets/v1/secret/default/flaky".into(),
        count: 2,
        status: 503,
        drop: false,
        phase: dcos_emulator::Phase::Before,
        skip: 0,
        location: None,
        delay_ms: 0,
    });
    // The answer to the create is lost after the write: the retry sees 409, and put compares.
    emulator.add_fault(dcos_emulator::FaultRule {
        method: Some("PUT".into()),
        path_prefix: "/secrets/v1/secret/default/flaky".into(),
        count: 1,
        status: 0,
        drop: true,
        phase: dcos_emulator::Phase::After,
        skip: 0,
        location: None,
        delay_ms: 0,
    });
    let outcome = secrets
        .secret(&path)
        .put(&SecretValue::text("v"), Overwrite::Deny)
        .await
        .unwrap();
    assert_eq!(outcome, PutOutcome::Unchanged);
    assert_eq!(emulator.state().secrets["flaky"], Secret::Text("v".into()));
    assert_eq!(emulator.counters().faults_injected, 3);
    emulator.shutdown().await;
}

/// Any resource id the client accepts is stored by the emulator under exactly that id, and
/// any secret path under exactly that path: the encodings of both readings of the contract
/// agree.
#[test]
fn any_accepted_rid_and_path_arrive_as_themselves() {
    use proptest::prelude::*;
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let emulator = runtime
        .block_on(Emulator::builder().start())
        .expect("the emulator starts");
    let iam = IamClient::with_login(transport(&emulator), root());
    let secrets = SecretsClient::new(iam.transport().clone());
    let alice = Principal::User(Uid::new("bootstrapuser").unwrap());
    let rid_text = "[!-~]{1,12}(/[!-~]{1,8}){0,3}";
    let path_text = "/?[A-Za-z0-9._-]{1,12}(/[A-Za-z0-9._-]{1,12}){0,3}";
    let config = ProptestConfig {
        cases: 64,
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    proptest!(config, |(rid in rid_text, path in path_text)| {
        if let Ok(rid) = Rid::new(&rid) {
            runtime.block_on(async {
                let acl = iam.acl(&rid);
                acl.create("prop").await.unwrap();
                acl.grant(&alice, Action::Read).await.unwrap();
            });
            let state = emulator.state();
            prop_assert!(state.acls[rid.as_str()].users["bootstrapuser"].contains("read"));
            runtime.block_on(iam.acl(&rid).delete()).unwrap();
        }
        if let Ok(path) = SecretPath::new(&path) {
            let value = SecretValue::text("v");
            runtime.block_on(secrets.secret(&path).put(&value, Overwrite::Allow)).unwrap();
            prop_assert!(emulator.state().secrets.contains_key(path.as_str()));
            let listed = runtime.block_on(secrets.list(None)).unwrap();
            prop_assert!(listed.iter().any(|p| p == path.as_str()), "{listed:?}");
            runtime.block_on(secrets.secret(&path).delete()).unwrap();
        }
    });
}
