//! Rotation: one secret after the other, the first restored if the second fails.

use dcos_ops::s3::{self, Rotation};
use dcos_ops::{ErrorKind, Outcome, Remedy, Silent, Status, Warning};
use dcos_secrets_client::{SecretPath, SecretValue};

use crate::{Collect, KEY_ID, PAIR_A, PAIR_B, SECRET_KEY, cluster, fault_kinds, keys, pair_of};

fn rotation(pair: (&str, &str)) -> Rotation {
    Rotation {
        paths: crate::paths(),
        keys: keys(pair),
        dry_run: false,
        restart: None,
    }
}

#[tokio::test]
async fn a_rotation_replaces_both_halves_and_names_the_key_ids() {
    let cluster = crate::onboarded().await;
    let mut dry = rotation(PAIR_B);
    dry.dry_run = true;
    let before = cluster.state();
    let plan = s3::rotate(&cluster.clients, &dry, &Silent).await.unwrap();
    assert_eq!(plan.result, Status::WouldChange);
    assert_eq!(plan.steps[0].outcome, Outcome::WouldUpdate);
    assert_eq!(cluster.state(), before);

    let report = s3::rotate(&cluster.clients, &rotation(PAIR_B), &Silent)
        .await
        .unwrap();
    assert_eq!(report.result, Status::Changed);
    assert_eq!(report.old_key_id.as_deref(), Some("AKIAIOSFODNN7EXAMPLE"));
    assert_eq!(report.new_key_id.as_deref(), Some("AKIAZZZZ1111BBBB2222"));
    assert!(report.steps.iter().all(|s| s.outcome == Outcome::Updated));
    assert_eq!(
        pair_of(&cluster.state()),
        (Some(PAIR_B.0.to_owned()), Some(PAIR_B.1.to_owned()))
    );
    let again = s3::rotate(&cluster.clients, &rotation(PAIR_B), &Silent)
        .await
        .unwrap();
    assert_eq!(again.result, Status::Unchanged);
}

#[tokio::test]
async fn a_half_done_rotation_is_completed_with_a_warning() {
    let cluster = crate::onboarded().await;
    let key_id = SecretPath::new(KEY_ID).unwrap();
    cluster
        .clients
        .secrets
        .secret(&key_id)
        .update(&SecretValue::text(PAIR_B.0))
        .await
        .unwrap();
    let collect = Collect::default();
    let report = s3::rotate(&cluster.clients, &rotation(PAIR_B), &collect)
        .await
        .unwrap();
    assert_eq!(report.steps[0].outcome, Outcome::Unchanged);
    assert_eq!(report.steps[1].outcome, Outcome::Updated);
    assert!(matches!(
        &collect.warnings.lock().unwrap()[..],
        [Warning::RotationHalfDone { path }] if path == &key_id
    ));
}

#[tokio::test]
async fn there_is_nothing_to_rotate_before_an_onboarding() {
    let cluster = cluster().await;
    let failed = s3::rotate(&cluster.clients, &rotation(PAIR_B), &Silent)
        .await
        .unwrap_err();
    assert_eq!(failed.error.kind(), ErrorKind::NotFound);
    assert_eq!(failed.error.remedy(), Some(&Remedy::OnboardFirst));
    assert!(
        failed.error.to_string().contains(KEY_ID),
        "{}",
        failed.error
    );
}

/// Requirement: a failure at either write, in any way, leaves the old pair or the new one,
/// never one half of each.
#[tokio::test]
async fn a_failure_at_either_write_never_leaves_a_mismatched_pair() {
    let old = (Some(PAIR_A.0.to_owned()), Some(PAIR_A.1.to_owned()));
    let new = (Some(PAIR_B.0.to_owned()), Some(PAIR_B.1.to_owned()));
    let mut tried = 0;
    for path in [KEY_ID, SECRET_KEY] {
        for (kind, rule) in fault_kinds() {
            let label = format!("{kind}: PATCH {path}");
            let cluster = crate::onboarded().await;
            let start = cluster.state();
            cluster.fault(
                "PATCH",
                &format!("/secrets/v1/secret/default/{path}"),
                &rule,
            );
            let result = s3::rotate(&cluster.clients, &rotation(PAIR_B), &Silent).await;
            assert_eq!(cluster.emulator.counters().faults_injected, 1, "{label}");
            tried += 1;
            match result {
                Ok(_) => assert_eq!(pair_of(&cluster.state()), new, "{label}"),
                Err(run) => {
                    assert_eq!(pair_of(&cluster.state()), old, "{label}");
                    assert_eq!(cluster.state(), start, "{label}");
                    let message = run.error.full_message();
                    assert!(!message.contains("MISMATCHED"), "{label}: {message}");
                    assert!(run.error.undo().is_some_and(|u| u.is_complete()), "{label}");
                }
            }
        }
    }
    assert_eq!(tried, 8);
}
