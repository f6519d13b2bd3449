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

    // Again with the same key file: the account holds its key, so nothing changes.
    let before = cluster.state();
    let again = accounts::create(&cluster.clients, &account, &Silent)
        .await
        .unwrap();
    assert_eq!(again.result, dcos_ops::Status::Unchanged);
    assert_eq!(cluster.state(), before);
    assert_eq!(
        std::fs::read_to_string(&account.private_key_out).unwrap(),
        key
    );
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
    // `dse` is a service account: the report says so, not "user".
    let service = dcos_ops::PrincipalType::ServiceAccount;
    assert_eq!(first.unwrap(), (service, GrantOutcome::Granted));
    let second = grants::grant(&cluster.clients, &dse, &rid, Action::Read, None).await;
    assert_eq!(second.unwrap(), (service, GrantOutcome::AlreadyGranted));
    let acl = &cluster.state().acls[rid.as_str()];
    assert_eq!(acl.description, dcos_ops::acl_description(&rid));

    let report = access::report(&cluster.clients, &SecretPath::new("team/db").unwrap())
        .await
        .unwrap();
    let readers: Vec<(&str, &str)> = report
        .value_readers
        .iter()
        .map(|e| (e.principal.as_str(), e.way.reach))
        .collect();
    assert!(readers.contains(&("dse", "exact")), "{readers:?}");
    assert!(
        readers.contains(&("bootstrapuser", "superuser")),
        "{readers:?}"
    );

    let revoked = grants::revoke(&cluster.clients, &dse, &rid, Action::Read).await;
    assert_eq!(revoked.unwrap(), (service, RevokeOutcome::Revoked));
    let again = grants::revoke(&cluster.clients, &dse, &rid, Action::Read).await;
    assert_eq!(again.unwrap(), (service, RevokeOutcome::AlreadyAbsent));
}

/// An account with a grant, its login secret and a group, as `delete --cascade` finds it.
async fn account_with_ties(cluster: &crate::Cluster, dir: &std::path::Path) -> Rid {
    let account = new_account(dir, "ci-bot", Some("ci/sa"));
    accounts::create(&cluster.clients, &account, &Silent)
        .await
        .unwrap();
    let rid = Rid::new("dcos:secrets:default:team/key").unwrap();
    let principal = grants::principal(Some("ci-bot"), None).unwrap();
    grants::grant(&cluster.clients, &principal, &rid, Action::Read, None)
        .await
        .unwrap();
    let gid = dcos_iam_client::Gid::new("data").unwrap();
    cluster
        .clients
        .iam
        .group(&gid)
        .create("data")
        .await
        .unwrap();
    cluster
        .clients
        .iam
        .group(&gid)
        .add_member(&Uid::new("ci-bot").unwrap())
        .await
        .unwrap();
    rid
}

#[tokio::test]
async fn deleting_an_account_refuses_to_leave_grants_and_login_secrets_behind() {
    let cluster = bare().await;
    let dir = tempfile::tempdir().unwrap();
    account_with_ties(&cluster, dir.path()).await;
    let before = cluster.state();
    let job = accounts::Deletion {
        user: false,
        uid: Uid::new("ci-bot").unwrap(),
        cascade: false,
        dry_run: false,
        confirmed: None,
    };
    let failed = accounts::delete(&cluster.clients, &job, &Silent)
        .await
        .unwrap_err();
    assert_eq!(failed.error.kind(), ErrorKind::Conflict);
    assert_eq!(failed.error.remedy(), Some(&Remedy::Cascade));
    assert_eq!(cluster.state(), before);

    let cascade = accounts::Deletion {
        cascade: true,
        ..job
    };
    let report = accounts::delete(&cluster.clients, &cascade, &Silent)
        .await
        .unwrap();
    assert_eq!(report.groups, ["data"]);
    let state = cluster.state();
    assert!(!state.accounts.contains_key("ci-bot"));
    assert!(!state.secrets.contains_key("ci/sa"));
    assert!(
        state.acls["dcos:secrets:default:team/key"]
            .users
            .get("ci-bot")
            .is_none_or(|a| a.is_empty())
    );
}

/// A failure at any write of `delete --cascade`, before or after it lands, leaves the cluster
/// as it was: the account back with its key and groups, the grant, the login secret.
#[tokio::test]
async fn a_failed_cascade_is_taken_back_at_every_step() {
    let writes = [
        ("DELETE", "/acs/api/v1/acls/"),
        ("DELETE", "/secrets/v1/secret/default/ci/sa"),
        ("DELETE", "/acs/api/v1/users/ci-bot"),
    ];
    let mut failures = 0;
    for (method, prefix) in writes {
        for (kind, fault) in crate::fault_kinds() {
            let cluster = bare().await;
            let dir = tempfile::tempdir().unwrap();
            account_with_ties(&cluster, dir.path()).await;
            let before = cluster.state();
            cluster.fault(method, prefix, &fault);
            let job = accounts::Deletion {
                user: false,
                uid: Uid::new("ci-bot").unwrap(),
                cascade: true,
                dry_run: false,
                confirmed: None,
            };
            let failed = accounts::delete(&cluster.clients, &job, &Silent).await;
            let Err(failed) = failed else {
                // A dropped answer of a request that had landed may be retried to success.
                continue;
            };
            failures += 1;
            let undo = failed.error.undo().cloned().unwrap_or_default();
            assert!(undo.is_complete(), "{method} {prefix} {kind}: {undo}");
            assert_eq!(cluster.state(), before, "{method} {prefix} {kind}");
        }
    }
    // A 500 before or after each of the three writes fails the run, whatever the retries do
    // with dropped connections: the loop cannot pass by skipping everything.
    assert!(
        failures >= 6,
        "only {failures} of the injected faults failed the run"
    );
}

#[tokio::test]
async fn revoke_all_takes_back_only_that_principals_grants_under_the_path() {
    let cluster = cluster().await;
    let dse = grants::principal(Some("dse"), None).unwrap();
    let other = grants::principal(Some("bootstrapuser"), None).unwrap();
    for rid in [
        "dcos:secrets:default:team/a",
        "dcos:secrets:list:default:team/*",
        "dcos:secrets:default:elsewhere/b",
    ] {
        let rid = Rid::new(rid).unwrap();
        grants::grant(&cluster.clients, &dse, &rid, Action::Read, None)
            .await
            .unwrap();
    }
    let team_a = Rid::new("dcos:secrets:default:team/a").unwrap();
    grants::grant(&cluster.clients, &other, &team_a, Action::Full, None)
        .await
        .unwrap();
    let job = grants::RevokeAll {
        principal: dse.clone(),
        under: Some(SecretPath::new("team").unwrap()),
        remove_from_groups: false,
        dry_run: false,
        confirmed: None,
    };
    let report = grants::revoke_all(&cluster.clients, &job, &Silent)
        .await
        .unwrap();
    assert_eq!(report.steps.len(), 2, "{report:?}");
    assert!(report.still_granted.is_empty());
    let state = cluster.state();
    let holds = |rid: &str, uid: &str| {
        state.acls[rid]
            .users
            .get(uid)
            .is_some_and(|a| !a.is_empty())
    };
    assert!(!holds("dcos:secrets:default:team/a", "dse"));
    assert!(!holds("dcos:secrets:list:default:team/*", "dse"));
    assert!(holds("dcos:secrets:default:elsewhere/b", "dse"));
    assert!(holds("dcos:secrets:default:team/a", "bootstrapuser"));

    // A revoke that fails leaves the others done, and says what is still granted.
    let job = grants::RevokeAll { under: None, ..job };
    cluster.fault(
        "DELETE",
        "/acs/api/v1/acls/",
        &serde_json::json!({"status": 500}),
    );
    let failed = grants::revoke_all(&cluster.clients, &job, &Silent)
        .await
        .unwrap_err();
    assert_eq!(
        failed.report.still_granted,
        ["read on dcos:secrets:default:elsewhere/b"]
    );
}

#[tokio::test]
async fn rotate_key_keeps_the_account_and_a_failure_puts_the_old_key_back() {
    use dcos_ops::rotate_key::{self, KeyRotation};
    let cluster = bare().await;
    let dir = tempfile::tempdir().unwrap();
    account_with_ties(&cluster, dir.path()).await;
    let before = cluster.state();
    let job = KeyRotation {
        uid: Uid::new("ci-bot").unwrap(),
        private_key_out: dir.path().join("new.pem"),
        secrets: vec![SecretPath::new("ci/sa").unwrap()],
        key_size: KeySize::Rsa2048,
        dry_run: false,
        confirmed: None,
    };

    // The account's re-creation fails: the old key, grant, group and secret come back.
    cluster.fault(
        "PUT",
        "/acs/api/v1/users/ci-bot",
        &serde_json::json!({"status": 500}),
    );
    let failed = rotate_key::rotate_key(&cluster.clients, &job, &Silent)
        .await
        .unwrap_err();
    assert!(failed.error.undo().unwrap().is_complete());
    assert_eq!(cluster.state(), before);
    assert!(!job.private_key_out.exists());
    assert!(!rotate_key::recovery_file(&job.private_key_out).exists());

    let report = rotate_key::rotate_key(&cluster.clients, &job, &Silent)
        .await
        .unwrap();
    assert!(report.verified && !report.recovered);
    let state = cluster.state();
    let new_key = std::fs::read_to_string(&job.private_key_out).unwrap();
    let public =
        dcos_iam_client::KeyPair::from_private_pem(&secrecy::SecretString::from(new_key.clone()))
            .unwrap()
            .public_key_pem;
    assert!(accounts::same_public_key(
        state.accounts["ci-bot"].public_key.as_deref().unwrap(),
        &public
    ));
    assert!(state.groups["data"].members.contains("ci-bot"));
    assert!(state.acls["dcos:secrets:default:team/key"].users["ci-bot"].contains("read"));
    let login: serde_json::Value = serde_json::from_str(&text(&state, "ci/sa").unwrap()).unwrap();
    assert_eq!(login["private_key"], new_key.as_str());
}
