//! Offboarding: the grants revoked and the secrets deleted; a partial run says so.

use dcos_iam_client::Uid;
use dcos_ops::s3::{self, Offboarding};
use dcos_ops::{ErrorKind, Outcome, Remedy, Silent, Status, Warning};

use crate::{Collect, KEY_ID, SECRET_KEY, pair_of};

fn offboarding(uid: &str) -> Offboarding {
    Offboarding {
        account: Uid::new(uid).unwrap(),
        paths: crate::paths(),
        keep_secrets: false,
        dry_run: false,
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
async fn kept_secrets_stay_and_a_missing_account_is_a_warning() {
    let cluster = crate::onboarded().await;
    let mut job = offboarding("dse");
    job.keep_secrets = true;
    let report = s3::offboard(&cluster.clients, &job, &Silent).await.unwrap();
    assert_eq!(report.steps[4].outcome, Outcome::Kept);
    assert!(pair_of(&cluster.state()).0.is_some());

    let collect = Collect::default();
    let report = s3::offboard(&cluster.clients, &offboarding("ghost"), &collect)
        .await
        .unwrap();
    assert!(matches!(
        &collect.warnings.lock().unwrap()[..],
        [Warning::AccountMissing { uid }] if uid.as_str() == "ghost"
    ));
    assert_eq!(report.steps[0].outcome, Outcome::NotGranted);
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
