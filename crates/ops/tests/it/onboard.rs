//! Onboarding: the plan, its execution in two round trips, and undo at every write step.

use dcos_ops::dse::{Destination, OptionsLayout};
use dcos_ops::s3::{self, Onboarding};
use dcos_ops::{ErrorKind, Outcome, Remedy, Silent, Status, StepKind, Warning};

use crate::{
    Collect, KEY_ID, LOGIN, PAIR_A, PAIR_B, SECRET_KEY, bare, cluster, fault_kinds, onboarding,
    onboarding_with, pair_of, rid_url,
};

fn list_rid(path: &str) -> String {
    format!("dcos:secrets:list:default:{path}")
}

fn holds_read(state: &dcos_emulator::State, rid: &str) -> bool {
    state
        .acls
        .get(rid)
        .and_then(|acl| acl.users.get("dse"))
        .is_some_and(|actions| actions.contains("read"))
}

/// Writes other than ACL creations, which a run sends with its reads.
fn writes(cluster: &crate::Cluster) -> u64 {
    let counters = cluster.emulator.counters();
    let all: u64 = counters
        .requests
        .iter()
        .filter(|(route, _)| {
            ["PUT ", "PATCH ", "DELETE "]
                .iter()
                .any(|m| route.starts_with(m))
        })
        .map(|(_, n)| n)
        .sum();
    all - counters
        .requests
        .get("PUT /acs/api/v1/acls/{rid}")
        .copied()
        .unwrap_or(0)
}

#[tokio::test]
async fn a_fresh_onboarding_stores_the_pair_and_grants_and_a_rerun_changes_nothing() {
    let cluster = cluster().await;
    let job = onboarding(PAIR_A);
    let report = s3::onboard(&cluster.clients, &job, &Silent).await.unwrap();
    assert_eq!(report.result, Status::Changed);
    let outcomes: Vec<(StepKind, Outcome)> =
        report.steps.iter().map(|s| (s.kind, s.outcome)).collect();
    assert_eq!(
        outcomes,
        [
            (StepKind::Secret, Outcome::Created),
            (StepKind::Secret, Outcome::Created),
            (StepKind::Grant, Outcome::Granted),
            (StepKind::Grant, Outcome::Granted),
        ]
    );
    let state = cluster.state();
    assert_eq!(
        pair_of(&state),
        (Some(PAIR_A.0.to_owned()), Some(PAIR_A.1.to_owned()))
    );
    for path in [KEY_ID, SECRET_KEY] {
        assert!(holds_read(&state, &list_rid(path)), "{path}");
    }
    let options = report.options.as_ref().unwrap();
    assert_eq!(options["storage"]["s3"]["aws_access_key_id"], KEY_ID);

    let before = writes(&cluster);
    let again = s3::onboard(&cluster.clients, &job, &Silent).await.unwrap();
    assert_eq!(again.result, Status::Unchanged);
    assert!(
        again.steps.iter().all(|s| !s.changes()),
        "{:?}",
        again.steps
    );
    assert_eq!(writes(&cluster), before, "a rerun writes nothing");
    assert_eq!(cluster.state(), state);
}

#[tokio::test]
async fn a_dry_run_plans_and_writes_nothing() {
    let cluster = cluster().await;
    let before = cluster.state();
    let mut job = onboarding(PAIR_A);
    job.dry_run = true;
    let report = s3::onboard(&cluster.clients, &job, &Silent).await.unwrap();
    assert_eq!(report.result, Status::WouldChange);
    let outcomes: Vec<Outcome> = report.steps.iter().map(|s| s.outcome).collect();
    assert_eq!(
        outcomes,
        [
            Outcome::WouldCreate,
            Outcome::WouldCreate,
            Outcome::WouldGrant,
            Outcome::WouldGrant
        ]
    );
    assert_eq!(cluster.state(), before);
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["steps"][0]["outcome"], "would_create");
    assert_eq!(json["result"], "would_change");
}

#[tokio::test]
async fn another_pair_is_a_conflict_unless_overwriting_is_allowed() {
    let cluster = cluster().await;
    s3::onboard(&cluster.clients, &onboarding(PAIR_A), &Silent)
        .await
        .unwrap();
    let before = cluster.state();
    let failed = s3::onboard(&cluster.clients, &onboarding(PAIR_B), &Silent)
        .await
        .unwrap_err();
    assert_eq!(failed.error.kind(), ErrorKind::Conflict);
    assert_eq!(failed.error.remedy(), Some(&Remedy::AllowOverwrite));
    assert!(
        failed.error.full_message().contains("nothing was changed"),
        "{}",
        failed.error.full_message()
    );
    assert_eq!(failed.report.result, Status::Failed);
    assert_eq!(failed.report.steps[0].outcome, Outcome::Failed);
    assert_eq!(cluster.state(), before);

    let mut job = onboarding(PAIR_B);
    job.overwrite = true;
    let report = s3::onboard(&cluster.clients, &job, &Silent).await.unwrap();
    assert_eq!(report.steps[0].outcome, Outcome::Updated);
    assert!(report.steps[0].previous_fingerprint.is_some());
    assert_eq!(
        pair_of(&cluster.state()),
        (Some(PAIR_B.0.to_owned()), Some(PAIR_B.1.to_owned()))
    );
}

#[tokio::test]
async fn a_missing_account_is_named_and_leaves_no_acl_behind() {
    let cluster = bare().await;
    let before = cluster.state();
    let failed = s3::onboard(&cluster.clients, &onboarding(PAIR_A), &Silent)
        .await
        .unwrap_err();
    assert_eq!(failed.error.kind(), ErrorKind::NotFound);
    assert!(matches!(
        failed.error.remedy(),
        Some(Remedy::CreateServiceAccount { uid, .. }) if uid.as_str() == "dse"
    ));
    // The ACLs created with the reads were deleted again.
    assert_eq!(cluster.state(), before);

    let user = bare().await;
    user.clients
        .iam
        .user(&dcos_iam_client::Uid::new("dse").unwrap())
        .create_user("a person", &secrecy::SecretString::from("long-password"))
        .await
        .unwrap();
    let failed = s3::onboard(&user.clients, &onboarding(PAIR_A), &Silent)
        .await
        .unwrap_err();
    assert_eq!(failed.error.kind(), ErrorKind::Invalid);
    assert!(
        failed.error.to_string().contains("is a user"),
        "{}",
        failed.error
    );
}

#[tokio::test]
async fn a_missing_login_secret_is_a_warning() {
    let cluster = cluster().await;
    let collect = Collect::default();
    s3::onboard(&cluster.clients, &onboarding(PAIR_A), &collect)
        .await
        .unwrap();
    let warnings = collect.warnings.lock().unwrap();
    assert!(
        matches!(&warnings[..], [Warning::LoginSecretMissing { path }] if path.as_str() == LOGIN),
        "{warnings:?}"
    );
}

#[tokio::test]
async fn value_read_grants_four_permissions() {
    let cluster = cluster().await;
    let paths =
        s3::Paths::of(dcos_ops::dse::ServiceName::new("data-science-engine").unwrap()).unwrap();
    let job = Onboarding::prepare(
        dcos_iam_client::Uid::new("dse").unwrap(),
        dcos_secrets_client::SecretPath::new(LOGIN).unwrap(),
        paths,
        &OptionsLayout::default(),
        &Destination::Report,
        &Silent,
    )
    .unwrap()
    .grant_value_read(true)
    .with_keys(crate::keys(PAIR_A));
    let report = s3::onboard(&cluster.clients, &job, &Silent).await.unwrap();
    let granted = report
        .steps
        .iter()
        .filter(|s| s.outcome == Outcome::Granted)
        .count();
    assert_eq!(granted, 4);
    assert!(holds_read(
        &cluster.state(),
        &format!("dcos:secrets:default:{SECRET_KEY}")
    ));
}

/// The write steps of a fresh onboarding: both secrets, both ACLs, both grants.
fn write_steps() -> Vec<(&'static str, String)> {
    let mut steps = Vec::new();
    for path in [KEY_ID, SECRET_KEY] {
        steps.push(("PUT", format!("/secrets/v1/secret/default/{path}")));
    }
    for path in [KEY_ID, SECRET_KEY] {
        let acl = rid_url(&list_rid(path));
        // The first request under this prefix is the ACL's creation.
        steps.push(("PUT", acl.clone()));
        steps.push(("PUT", format!("{acl}/users/dse/read")));
    }
    steps
}

/// Requirement: a failure at any write step, in any way, leaves the cluster as it was (the
/// run undid what it had done and says so) or complete; never between.
#[tokio::test]
async fn a_failure_at_any_write_step_leaves_the_old_state_or_the_new() {
    let done = {
        let cluster = cluster().await;
        s3::onboard(&cluster.clients, &onboarding(PAIR_A), &Silent)
            .await
            .unwrap();
        cluster.state()
    };
    let (mut failed, mut tried) = (0, 0);
    for (method, prefix) in write_steps() {
        for (kind, rule) in fault_kinds() {
            let label = format!("{kind}: {method} {prefix}");
            let cluster = cluster().await;
            let start = cluster.state();
            cluster.fault(method, &prefix, &rule);
            let result = s3::onboard(&cluster.clients, &onboarding(PAIR_A), &Silent).await;
            assert_eq!(cluster.emulator.counters().faults_injected, 1, "{label}");
            tried += 1;
            match result {
                Ok(report) => {
                    assert_eq!(report.result, Status::Changed, "{label}");
                    assert_eq!(cluster.state(), done, "{label}: succeeded but incomplete");
                }
                Err(run) => {
                    failed += 1;
                    assert_eq!(
                        cluster.state(),
                        start,
                        "{label}: {}",
                        run.error.full_message()
                    );
                    let undo = run.error.undo().expect("a failed run says what it undid");
                    assert!(undo.is_complete(), "{label}: {undo}");
                    assert!(
                        run.report
                            .steps
                            .iter()
                            .all(|s| !matches!(s.outcome, Outcome::Created | Outcome::Granted)),
                        "{label}: {:?}",
                        run.report.steps
                    );
                }
            }
        }
    }
    assert_eq!(tried, 24);
    // A 500 is not retried, so at least those fail and are undone.
    assert!(failed >= 6, "{failed} of {tried} failed");
}

#[tokio::test]
async fn the_options_file_is_written_last_and_its_failure_undoes_the_rest() {
    let cluster = cluster().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("options.json");
    let job = onboarding_with(
        PAIR_A,
        &OptionsLayout::default(),
        &Destination::Out(file.clone()),
    );
    let report = s3::onboard(&cluster.clients, &job, &Silent).await.unwrap();
    let last = report.steps.last().unwrap();
    assert_eq!(
        (last.kind, last.outcome),
        (StepKind::Options, Outcome::Written)
    );
    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(&written, report.options.as_ref().unwrap());

    // A folder that was there when the options were prepared and is gone when they are written.
    let other = bare().await;
    other.service_account("dse").await;
    let folder = dir.path().join("gone");
    std::fs::create_dir(&folder).unwrap();
    let job = onboarding_with(
        PAIR_A,
        &OptionsLayout::default(),
        &Destination::Out(folder.join("options.json")),
    );
    std::fs::remove_dir(&folder).unwrap();
    let before = other.state();
    let failed = s3::onboard(&other.clients, &job, &Silent)
        .await
        .unwrap_err();
    assert_eq!(failed.error.kind(), ErrorKind::Failed);
    assert_eq!(other.state(), before);
    assert_eq!(failed.report.steps.last().unwrap().outcome, Outcome::Failed);
    assert!(
        failed.report.steps[..4]
            .iter()
            .all(|s| s.outcome == Outcome::Undone),
        "{:?}",
        failed.report.steps
    );
}
