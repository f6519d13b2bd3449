//! Service accounts, grants and access.

use dcos_iam_client::{Action, GrantOutcome, KeySize, Principal, RevokeOutcome, Rid, Uid};
use dcos_ops::accounts::{self, LoginSecret, NewAccount};
use dcos_ops::{ErrorKind, Remedy, Silent, access, grants};
use dcos_secrets_client::SecretPath;

use crate::{bare, cluster, text};

fn new_account(dir: &std::path::Path, uid: &str, login: Option<&str>) -> NewAccount {
    NewAccount {
        uid: Uid::new(uid).unwrap(),
        private_key_out: dir.join(format!("{uid}.pem")),
        public_key_out: Some(dir.join(format!("{uid}.pub"))),
        description: None,
        login: login.map(|path| LoginSecret {
            path: SecretPath::new(path).unwrap(),
            endpoint: dcos_iam_client::DEFAULT_LOGIN_ENDPOINT.to_owned(),
        }),
        key_size: KeySize::Rsa2048,
    }
}

#[tokio::test]
async fn an_account_comes_with_its_key_files_and_login_secret() {
    let cluster = bare().await;
    let dir = tempfile::tempdir().unwrap();
    let account = new_account(dir.path(), "ci-bot", Some("ci/sa"));
    let report = accounts::create(&cluster.clients, &account, &Silent)
        .await
        .unwrap();
    assert_eq!(report.secret.as_deref(), Some("ci/sa"));
    let state = cluster.state();
    assert!(state.accounts.contains_key("ci-bot"));
    let login = text(&state, "ci/sa").unwrap();
    let key = std::fs::read_to_string(&account.private_key_out).unwrap();
    let login: serde_json::Value = serde_json::from_str(&login).unwrap();
    assert_eq!(login["private_key"], key);

    let again = accounts::create(
        &cluster.clients,
        &new_account(dir.path(), "ci-bot", None),
        &Silent,
    )
    .await
    .unwrap_err();
    assert_eq!(again.kind(), ErrorKind::Conflict, "the key file exists");
    let other = tempfile::tempdir().unwrap();
    let again = accounts::create(
        &cluster.clients,
        &new_account(other.path(), "ci-bot", None),
        &Silent,
    )
    .await
    .unwrap_err();
    assert_eq!(again.remedy(), Some(&Remedy::AccountExists));
}

#[tokio::test]
async fn a_login_secret_that_cannot_be_stored_takes_the_account_and_files_back() {
    let cluster = bare().await;
    let dir = tempfile::tempdir().unwrap();
    cluster.fault(
        "PUT",
        "/secrets/v1/secret/default/ci/sa",
        &serde_json::json!({"status": 500}),
    );
    let before = cluster.state();
    let error = accounts::create(
        &cluster.clients,
        &new_account(dir.path(), "ci-bot", Some("ci/sa")),
        &Silent,
    )
    .await
    .unwrap_err();
    let undo = error.undo().unwrap();
    assert!(undo.is_complete(), "{undo}");
    assert!(
        undo.undone
            .iter()
            .any(|u| u == "deleted the account ci-bot"),
        "{undo}"
    );
    assert_eq!(cluster.state(), before);
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "no key file is left"
    );
}

#[tokio::test]
async fn grants_need_an_existing_principal_and_are_idempotent() {
    let cluster = cluster().await;
    let rid = Rid::new("dcos:secrets:default:team/db").unwrap();
    let ghost = Principal::User(Uid::new("ghost").unwrap());
    let error = grants::grant(&cluster.clients, &ghost, &rid, Action::Read, None)
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::NotFound);
    assert!(matches!(
        error.remedy(),
        Some(Remedy::CheckPrincipal { .. })
    ));

    let dse = grants::principal(Some("dse"), None).unwrap();
    let first = grants::grant(&cluster.clients, &dse, &rid, Action::Read, None).await;
    assert_eq!(first.unwrap(), GrantOutcome::Granted);
    let second = grants::grant(&cluster.clients, &dse, &rid, Action::Read, None).await;
    assert_eq!(second.unwrap(), GrantOutcome::AlreadyGranted);
    let acl = &cluster.state().acls[rid.as_str()];
    assert_eq!(acl.description, dcos_ops::acl_description(&rid));

    let report = access::report(&cluster.clients, &SecretPath::new("team/db").unwrap())
        .await
        .unwrap();
    let readers: Vec<(&str, &str)> = report
        .value_readers
        .iter()
        .map(|e| (e.principal.as_str(), e.reach))
        .collect();
    assert!(readers.contains(&("dse", "exact")), "{readers:?}");
    assert!(
        readers.contains(&("bootstrapuser", "superuser")),
        "{readers:?}"
    );

    let revoked = grants::revoke(&cluster.clients, &dse, &rid, Action::Read).await;
    assert_eq!(revoked.unwrap(), RevokeOutcome::Revoked);
    let again = grants::revoke(&cluster.clients, &dse, &rid, Action::Read).await;
    assert_eq!(again.unwrap(), RevokeOutcome::AlreadyAbsent);
}
