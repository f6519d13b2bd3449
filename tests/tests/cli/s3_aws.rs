//! `s3 rotate --create-aws-key` and `s3 retire-aws-key` against moto (IAM and STS) and the
//! emulator (secrets and Marathon). Each test checks IAM's keys, the stored pair and the
//! running task, not only exit codes.

use dcos_emulator::{Emulator, FaultRule};
use serde_json::json;

use crate::harness::{Cluster, Run, record};
use crate::moto::Aws;
use crate::s3::{
    KEY_ID, SECRET_KEY, deploy_dse, onboard, pair_of, running_key_id, settle, sha256_hex, text,
};

const PENDING: &str = "data-science-engine/aws_access_key_id.rotation";

/// A user of its own for each test (moto is shared by the test process).
fn user_name(test: &str) -> String {
    format!("{test}-{}", fastrand::u32(..))
}

/// An onboarded cluster whose app runs on a fresh key of a new IAM user: the cluster, the
/// user, and the key's id.
async fn onboarded(aws: &Aws, test: &str) -> (Cluster, String, String) {
    let user = user_name(test);
    aws.user(&user).await;
    let (id, secret) = aws.create_key(&user).await;
    // The control API on: a test slows Marathon's deployments down through it.
    let cluster = Cluster::with(Emulator::builder().tls(true).control_api(true)).await;
    cluster.service_account("dse").await;
    onboard(&cluster, &[], (&id, &secret)).expect(0);
    deploy_dse(&cluster).await;
    settle(&cluster).await;
    (cluster, user, id)
}

/// Runs the binary as the superuser, with AWS pointed at `aws`.
fn run(cluster: &Cluster, aws: &Aws, args: &[&str]) -> Run {
    let env = aws.env();
    let mut all: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    all.push(("DCOS_ACS_TOKEN", &cluster.admin_token));
    cluster.run_with(args, &all, None)
}

fn rotate(cluster: &Cluster, aws: &Aws, user: &str, extra: &[&str]) -> Run {
    let mut args = vec!["s3", "rotate", "--create-aws-key", "--aws-iam-user", user];
    args.extend_from_slice(extra);
    run(cluster, aws, &args)
}

/// Every task of the app runs on key `id`.
fn runs_on(cluster: &Cluster, id: &str) -> bool {
    let tasks = cluster.emulator.marathon_tasks();
    !tasks.is_empty()
        && tasks
            .iter()
            .all(|t| t.env_sha256["AWS_ACCESS_KEY_ID"] == sha256_hex(id))
}

/// The state every failed rotation must leave: the user has exactly `id`, active; DC/OS holds
/// it; the app runs on it; nothing of the rotation is left.
async fn left_with(cluster: &Cluster, aws: &Aws, user: &str, id: &str, case: &str) {
    assert_eq!(aws.keys(user).await, vec![(id.to_owned(), true)], "{case}");
    let state = cluster.emulator.state();
    assert_eq!(pair_of(&state).0.as_deref(), Some(id), "{case}");
    assert_eq!(text(&state, PENDING), None, "{case}");
    assert!(
        runs_on(cluster, id),
        "{case}: {:?}",
        cluster.emulator.marathon_tasks()
    );
}

/// Requirement (issue 17): one onboarded key, rotate `--restart`: the IAM user has exactly the
/// new key, active; DC/OS holds it; the task started after the restart has the new pair's
/// SHA-256; the old key is gone. The report names both key ids, never the secret key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotation_with_a_new_key_closes_the_loop() {
    let aws = Aws::start();
    let (cluster, user, old) = onboarded(&aws, "happy").await;

    let run = rotate(&cluster, &aws, &user, &["--restart", "-o", "json"]).expect(0);
    let keys = aws.keys(&user).await;
    assert_eq!(keys.len(), 1, "{keys:?}");
    let (new, active) = keys[0].clone();
    assert!(active);
    assert_ne!(new, old);
    let state = cluster.emulator.state();
    let (id, secret) = pair_of(&state);
    assert_eq!(id.as_deref(), Some(new.as_str()));
    let secret = secret.unwrap();
    assert_eq!(running_key_id(&cluster), sha256_hex(&new));
    let task = &cluster.emulator.marathon_tasks()[0];
    assert_eq!(
        task.env_sha256["AWS_SECRET_ACCESS_KEY"],
        sha256_hex(&secret)
    );
    assert_eq!(
        text(&state, PENDING),
        None,
        "the record of both pairs is deleted"
    );

    let report = run.json();
    assert_eq!(report["old_key_id"], old.as_str());
    assert_eq!(report["new_key_id"], new.as_str());
    assert_eq!(report["aws_iam_user"], user.as_str());
    let steps: Vec<(String, String, String)> = report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["kind"].as_str().unwrap().to_owned(),
                s["target"].as_str().unwrap().to_owned(),
                s["outcome"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let step = |kind: &str, target: &str, outcome: &str| {
        (kind.to_owned(), target.to_owned(), outcome.to_owned())
    };
    assert_eq!(
        steps,
        vec![
            step("aws_key", &new, "created"),
            step("secret", PENDING, "created"),
            step("aws_key", &new, "verified"),
            step("secret", KEY_ID, "updated"),
            step("secret", SECRET_KEY, "updated"),
            step("app", "/data-science-engine", "restarted"),
            step("aws_key", &old, "deleted"),
            step("secret", PENDING, "deleted"),
        ]
    );
    assert!(!run.stderr.contains(&secret) && !run.stdout().contains(&secret));

    // Text for people: the same steps, and both ids.
    let again = rotate(&cluster, &aws, &user, &["--restart"]).expect(0);
    let newest = aws.keys(&user).await[0].0.clone();
    assert!(
        again
            .stdout()
            .contains(&format!("access key id {new} -> {newest}")),
        "{}",
        again.stdout()
    );
    assert!(
        again
            .stderr
            .contains(&format!("deleted          aws_key {new}"))
    );
}

/// Requirement (issue 17): a failure at each step leaves the promised state. Before the service
/// runs on the new key, the new key is deleted again: the user has the old key only, stored and
/// running. A failure to retire the old key leaves the rotation standing (exit 7) and names the
/// command that finishes, which does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failure_at_each_step_leaves_one_working_key() {
    let aws = Aws::start();
    let (cluster, user, old) = onboarded(&aws, "faults").await;
    let fault = |method: &str, path: String| {
        let rule: FaultRule = serde_json::from_value(json!({
            "method": method, "path_prefix": path, "count": 1, "status": 500
        }))
        .unwrap();
        rule
    };

    // Verify: AWS never accepts the new key.
    aws.fail("GetCallerIdentity", 1_000, 403, "InvalidClientTokenId");
    let failed = rotate(
        &cluster,
        &aws,
        &user,
        &["--restart", "--key-propagation-timeout", "2"],
    );
    assert_eq!(failed.code, 4, "{}", failed.stderr);
    assert!(
        failed.stderr.contains("was not accepted within 2 s")
            && failed.stderr.contains("deleted the new access key"),
        "{}",
        failed.stderr
    );
    assert!(aws.calls("GetCallerIdentity") >= 3, "polled with backoff");
    left_with(&cluster, &aws, &user, &old, "verify").await;
    aws.fail("GetCallerIdentity", 0, 403, "");

    // A key that takes a moment to propagate is waited for; the old one is kept, then retired.
    aws.fail("GetCallerIdentity", 2, 403, "InvalidClientTokenId");
    rotate(&cluster, &aws, &user, &["--restart", "--old-key", "keep"]).expect(0);
    assert_eq!(aws.keys(&user).await.len(), 2);
    let old = pair_of(&cluster.emulator.state()).0.unwrap();
    run(
        &cluster,
        &aws,
        &["s3", "retire-aws-key", "--aws-iam-user", &user, "--yes"],
    )
    .expect(0);
    left_with(&cluster, &aws, &user, &old, "propagation").await;

    // Store: either secret fails.
    for path in [KEY_ID, SECRET_KEY] {
        cluster
            .emulator
            .add_fault(fault("PATCH", format!("/secrets/v1/secret/default/{path}")));
        let failed = rotate(&cluster, &aws, &user, &["--restart"]);
        assert_ne!(failed.code, 0, "{}", failed.stderr);
        assert!(
            failed.stderr.contains("deleted the new access key"),
            "{}",
            failed.stderr
        );
        left_with(&cluster, &aws, &user, &old, path).await;
        cluster.emulator.clear_faults();
    }

    // Restart: the old pair is stored again, the app restarted on it, the new key deleted.
    cluster.emulator.add_fault(fault(
        "POST",
        "/service/marathon/v2/apps/data-science-engine/restart".into(),
    ));
    let failed = rotate(&cluster, &aws, &user, &["--restart"]);
    assert_eq!(failed.code, 1, "{}", failed.stderr);
    assert!(
        failed
            .stderr
            .contains("restarted /data-science-engine on the previous pair")
            && failed.stderr.contains("deleted the new access key"),
        "{}",
        failed.stderr
    );
    left_with(&cluster, &aws, &user, &old, "restart").await;
    cluster.emulator.clear_faults();

    // Deployment timeout: the first deployment is slow; the one that puts the old pair back is
    // not.
    cluster.emulator.set_deploy_ms(3_000);
    let watcher = {
        let (iam, _) = cluster.clients();
        tokio::spawn(async move {
            loop {
                let answer = iam
                    .transport()
                    .send(dcos_transport::Request::get(
                        "/service/marathon/v2/deployments",
                    ))
                    .await
                    .unwrap();
                let deployments: serde_json::Value = answer.json().unwrap();
                if !deployments.as_array().unwrap().is_empty() {
                    let fast = dcos_transport::Request::put("/__emulator/marathon/config")
                        .json(&json!({"deploy_ms": 50}))
                        .unwrap();
                    iam.transport().send(fast).await.unwrap();
                    return;
                }
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
        })
    };
    let failed = rotate(
        &cluster,
        &aws,
        &user,
        &["--restart", "--deploy-timeout", "1"],
    );
    watcher.await.unwrap();
    assert_eq!(failed.code, 1, "{}", failed.stderr);
    assert!(
        failed.stderr.contains("did not finish within 1 s"),
        "{}",
        failed.stderr
    );
    // The slow deployment ends too; its tasks read the pair of then, the old one.
    tokio::time::sleep(std::time::Duration::from_millis(3_500)).await;
    left_with(&cluster, &aws, &user, &old, "deployment timeout").await;

    // Retire: the rotation stands, exit 7, and the named command finishes the job.
    aws.fail("DeleteAccessKey", 1, 403, "AccessDenied");
    let partial = rotate(&cluster, &aws, &user, &["--restart"]);
    assert_eq!(partial.code, 7, "{}", partial.stderr);
    let command = format!("dcos-creds s3 retire-aws-key --aws-iam-user {user}");
    assert!(partial.stderr.contains(&command), "{}", partial.stderr);
    let new = pair_of(&cluster.emulator.state()).0.unwrap();
    assert_ne!(new, old);
    assert!(runs_on(&cluster, &new));
    assert_eq!(aws.keys(&user).await.len(), 2);
    assert_eq!(text(&cluster.emulator.state(), PENDING), None);
    run(
        &cluster,
        &aws,
        &["s3", "retire-aws-key", "--aws-iam-user", &user, "--yes"],
    )
    .expect(0);
    left_with(&cluster, &aws, &user, &new, "retire").await;
    record("s3_aws::step_failures", 7, 7, 7, 0);
}
