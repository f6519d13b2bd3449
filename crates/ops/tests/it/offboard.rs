//! Offboarding: the grants revoked and the secrets deleted; a partial run says so.

use dcos_emulator::state::Secret;
use dcos_iam_client::Uid;
use dcos_ops::s3::{self, Offboarding};
use dcos_ops::{ErrorKind, Outcome, Remedy, Silent, Status, Warning};
use secrecy::ExposeSecret;

use crate::{Collect, KEY_ID, SECRET_KEY, pair_of};

fn offboarding(uid: &str) -> Offboarding {
    Offboarding {
        account: Uid::new(uid).unwrap(),
        paths: crate::paths(),
        keep_secrets: false,
        force: false,
        dry_run: false,
        confirmed: None,
    }
}

#[tokio::test]
async fn offboarding_revokes_and_deletes_and_a_rerun_changes_nothing() {
    let cluster = crate::onboarded().await;
    let mut dry = offboarding("dse");
    dry.dry_run = true;
    let plan = s3::offboard(&cluster.clients, &dry, &Silent).await.unwrap();
    let outcomes: Vec<Outcome> = plan.steps.iter().map(|s| s.outcome).collect();
    assert_eq!(
        outcomes,
        [
            Outcome::WouldRevoke,
            Outcome::WouldRevoke,
            Outcome::NotGranted,
            Outcome::NotGranted,
            Outcome::WouldDelete,
            Outcome::WouldDelete
        ]
    );

    let report = s3::offboard(&cluster.clients, &offboarding("dse"), &Silent)
        .await
        .unwrap();
    assert_eq!(report.result, Status::Changed);
    let state = cluster.state();
    assert_eq!(pair_of(&state), (None, None));
    assert!(state.acls.values().all(|acl| acl.users.is_empty()));
    let again = s3::offboard(&cluster.clients, &offboarding("dse"), &Silent)
        .await
        .unwrap();
    assert_eq!(again.result, Status::Unchanged);
}

#[tokio::test]
async fn kept_secrets_stay() {
    let cluster = crate::onboarded().await;
    let mut job = offboarding("dse");
    job.keep_secrets = true;
    let report = s3::offboard(&cluster.clients, &job, &Silent).await.unwrap();
    assert_eq!(report.steps[4].outcome, Outcome::Kept);
    assert!(pair_of(&cluster.state()).0.is_some());
}

/// Requirement: a misspelt account deletes nothing (the account is checked first).
#[tokio::test]
async fn a_missing_account_changes_nothing() {
    let cluster = crate::onboarded().await;
    let before = cluster.state();
    let failed = s3::offboard(&cluster.clients, &offboarding("dsee"), &Silent)
        .await
        .unwrap_err();
    assert_eq!(failed.error.kind(), ErrorKind::NotFound);
    assert!(matches!(
        failed.error.remedy(),
        Some(Remedy::AccountGone { uid }) if uid.as_str() == "dsee"
    ));
    assert!(failed.report.steps.iter().all(|s| !s.changes()));
    assert_eq!(cluster.state(), before);
}

/// Requirement: another account's login secret is never deleted as half of a pair; the
/// account's own is named in the plan.
#[tokio::test]
async fn a_login_secret_is_named_and_another_accounts_is_refused() {
    let cluster = crate::onboarded().await;
    let login = |uid: &str| {
        serde_json::json!({
            "scheme": "RS256",
            "uid": uid,
            "private_key": crate::key_pair().private_key_pem.expose_secret(),
            "login_endpoint": "https://leader.mesos/acs/api/v1/auth/login",
        })
        .to_string()
    };
    let mut state = cluster.state();
    state
        .secrets
        .insert(KEY_ID.into(), Secret::Text(login("other")));
    cluster.emulator.load_state(state);
    let before = cluster.state();
    let failed = s3::offboard(&cluster.clients, &offboarding("dse"), &Silent)
        .await
        .unwrap_err();
    assert_eq!(failed.error.kind(), ErrorKind::Conflict);
    assert!(
        failed
            .error
            .to_string()
            .contains("login secret of the service account `other`")
    );
    assert_eq!(failed.error.remedy(), Some(&Remedy::CheckPairPaths));
    assert_eq!(cluster.state(), before);

    let mut state = cluster.state();
    state
        .secrets
        .insert(KEY_ID.into(), Secret::Text(login("dse")));
    cluster.emulator.load_state(state);
    let mut dry = offboarding("dse");
    dry.dry_run = true;
    let plan = s3::offboard(&cluster.clients, &dry, &Silent).await.unwrap();
    assert_eq!(plan.steps[4].notes, ["the login secret of `dse`"]);
}

/// Requirement (issue 29): a secret that an app or pod uses is refused, naming the use, and
/// changes nothing; forced, the plan names each use; when Marathon cannot be read, it says so.
#[tokio::test]
async fn a_secret_an_app_uses_is_refused_unless_forced() {
    let cluster = crate::onboarded().await;
    let transport = cluster.clients.iam.transport();
    let app = serde_json::json!({
        "id": "/data-science-engine",
        "secrets": {"key": {"source": KEY_ID}},
        "env": {"AWS_ACCESS_KEY_ID": {"secret": "key"}},
    });
    let request = dcos_transport::Request::post("/service/marathon/v2/apps")
        .json(&app)
        .unwrap();
    transport.send(request).await.unwrap();
    let before = cluster.state();
    for dry_run in [true, false] {
        let mut job = offboarding("dse");
        job.dry_run = dry_run;
        let refused = s3::offboard(&cluster.clients, &job, &Silent)
            .await
            .unwrap_err();
        assert_eq!(refused.error.kind(), ErrorKind::Conflict);
        assert_eq!(refused.error.remedy(), Some(&Remedy::StillUsed));
        let message = refused.error.to_string();
        assert!(
            message.contains(&format!(
                "`{KEY_ID}` by app /data-science-engine (env AWS_ACCESS_KEY_ID)"
            )),
            "{message}"
        );
    }
    let mut after = cluster.state();
    after.apps.clear();
    let mut before_apps = before.clone();
    before_apps.apps.clear();
    assert_eq!(after, before_apps, "a refused offboarding changed nothing");

    let mut dry = offboarding("dse");
    dry.dry_run = true;
    dry.force = true;
    let plan = s3::offboard(&cluster.clients, &dry, &Silent).await.unwrap();
    assert_eq!(plan.steps[4].notes.len(), 1, "{:?}", plan.steps[4]);
    assert!(
        plan.steps[4].notes[0]
            .starts_with("used by app /data-science-engine (env AWS_ACCESS_KEY_ID)"),
        "{:?}",
        plan.steps[4].notes
    );
    assert!(plan.steps[5].notes.is_empty());

    cluster.fault(
        "GET",
        "/service/marathon/v2/apps",
        &serde_json::json!({"status": 404}),
    );
    let collect = Collect::default();
    s3::offboard(&cluster.clients, &dry, &collect)
        .await
        .unwrap();
    assert!(matches!(
        &collect.warnings.lock().unwrap()[..],
        [Warning::MarathonUnread { why }] if why.contains("does not answer")
    ));
}

#[tokio::test]
async fn a_failed_delete_after_the_revokes_is_partial() {
    let cluster = crate::onboarded().await;
    cluster.fault(
        "DELETE",
        &format!("/secrets/v1/secret/default/{SECRET_KEY}"),
        &serde_json::json!({"status": 500}),
    );
    let failed = s3::offboard(&cluster.clients, &offboarding("dse"), &Silent)
        .await
        .unwrap_err();
    assert_eq!(failed.error.kind(), ErrorKind::Partial);
    assert_eq!(failed.error.remedy(), Some(&Remedy::FinishPartial));
    assert_eq!(failed.report.steps[5].outcome, Outcome::Failed);
    assert_eq!(failed.report.steps[0].outcome, Outcome::Revoked);
    let state = cluster.state();
    assert!(!state.secrets.contains_key(KEY_ID));
    assert!(state.secrets.contains_key(SECRET_KEY));
    // Running again finishes it.
    s3::offboard(&cluster.clients, &offboarding("dse"), &Silent)
        .await
        .unwrap();
    assert_eq!(pair_of(&cluster.state()), (None, None));
}
