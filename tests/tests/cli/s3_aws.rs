//! `s3 rotate --create-aws-key` and `s3 retire-aws-key` against moto (IAM and STS) and the
//! emulator (secrets and Marathon). Each test checks IAM's keys, the stored pair and the
//! running task, not only exit codes.

use dcos_emulator::state::Secret;
use dcos_emulator::{Emulator, FaultRule};
use serde_json::json;

use crate::harness::{Cluster, Run, one_json_error, record};
use crate::moto::Aws;
use crate::s3::{
    KEY_ID, SECRET_KEY, deploy_dse, onboard, outcomes, pair_of, running_key_id, settle, sha256_hex,
    text,
};

const PENDING: &str = "data-science-engine/aws_access_key_id.rotation";

/// The plan of a rotation with `--restart` and a fresh key.
const FRESH_PLAN: [&str; 6] = [
    "would_create",
    "would_verify",
    "would_update",
    "would_update",
    "would_restart",
    "would_delete",
];

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

/// `s3 retire-aws-key --yes`, which must succeed.
fn retire_all(cluster: &Cluster, aws: &Aws, user: &str) {
    run(
        cluster,
        aws,
        &["s3", "retire-aws-key", "--aws-iam-user", user, "--yes"],
    )
    .expect(0);
}

/// `s3 rotate --create-aws-key --restart` started in the background, its output to `output`.
fn spawn_rotation(
    cluster: &Cluster,
    aws: &Aws,
    user: &str,
    output: fn() -> std::process::Stdio,
) -> std::process::Child {
    let mut command = cluster.command();
    command
        .args([
            "s3",
            "rotate",
            "--create-aws-key",
            "--aws-iam-user",
            user,
            "--restart",
        ])
        .env("DCOS_ACS_TOKEN", &cluster.admin_token)
        .stdout(output())
        .stderr(output());
    for (name, value) in aws.env() {
        command.env(name, value);
    }
    command.spawn().unwrap()
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

    // Text for people: the same steps, and both ids; at -vvv too, never the secret.
    let again = rotate(&cluster, &aws, &user, &["--restart", "-vvv"]).expect(0);
    let newest = aws.keys(&user).await[0].0.clone();
    let newest_secret = aws.secret_of(&newest).unwrap();
    assert!(!again.stderr.contains(&newest_secret) && !again.stdout().contains(&newest_secret));
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
    retire_all(&cluster, &aws, &user);
    left_with(&cluster, &aws, &user, &old, "propagation").await;

    // The record of both pairs cannot be written: the new key is deleted at once.
    cluster.emulator.add_fault(fault(
        "PUT",
        format!("/secrets/v1/secret/default/{PENDING}"),
    ));
    let failed = rotate(&cluster, &aws, &user, &["--restart"]);
    assert_ne!(failed.code, 0, "{}", failed.stderr);
    assert!(
        failed
            .stderr
            .contains(&format!("keep both pairs in `{PENDING}`: PUT"))
            && failed.stderr.contains("deleted the new access key"),
        "{}",
        failed.stderr
    );
    left_with(&cluster, &aws, &user, &old, "record").await;
    cluster.emulator.clear_faults();

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
    retire_all(&cluster, &aws, &user);
    left_with(&cluster, &aws, &user, &new, "retire").await;
    record(
        "s3 rotate --create-aws-key: a failure at each step (verify, propagation, the record of both pairs, either store, restart, deployment timeout, retire)",
        8,
        8,
        8,
        0,
    );
}

/// A record whose new key is gone (a rollback cut short after the new pair was stored): a dry
/// run plans its deletion and changes nothing; the next run stores the old pair again, deletes
/// the record and rotates afresh. With the old key gone too, it stops and says how to recover.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_whose_new_key_is_gone_is_taken_back_first() {
    let aws = Aws::start();
    let (cluster, user, old) = onboarded(&aws, "gone").await;
    let old_secret = pair_of(&cluster.emulator.state()).1.unwrap();
    let gone = (
        "AKIAGONEGONEGONEGONE",
        "gone-secret-gone-secret-gone-secret-0000",
    );
    let leave_record = |old: (&str, &str)| {
        let pairs = crate::harness::aws_rotation_record(&user, old, gone);
        let mut state = cluster.emulator.state();
        for (path, value) in [
            (PENDING, pairs.to_string()),
            (KEY_ID, gone.0.into()),
            (SECRET_KEY, gone.1.into()),
        ] {
            state.secrets.insert(path.into(), Secret::Text(value));
        }
        cluster.emulator.load_state(state);
        cluster.emulator.state()
    };

    let before = leave_record((&old, &old_secret));
    let plan = rotate(
        &cluster,
        &aws,
        &user,
        &["--restart", "--dry-run", "-o", "json"],
    )
    .expect(0);
    // First the old pair stored again (both halves differ), then the record deleted, then the
    // fresh rotation's plan.
    let targets: Vec<String> = plan.json()["steps"]
        .as_array()
        .unwrap()
        .iter()
        .take(3)
        .map(|s| s["target"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(targets, [KEY_ID, SECRET_KEY, PENDING]);
    let steps = outcomes(&plan.json());
    assert_eq!(
        (&steps[..3], &steps[3..]),
        (
            &["would_update", "would_update", "would_delete"].map(String::from)[..],
            &FRESH_PLAN.map(String::from)[..]
        )
    );
    // The plan goes on from the old pair, which the run stores again first.
    assert_eq!(plan.json()["old_key_id"], old.as_str());
    assert_eq!(plan.json()["steps"][8]["target"], old.as_str());
    assert_eq!(
        cluster.emulator.state(),
        before,
        "a dry run changes nothing"
    );

    let run = rotate(&cluster, &aws, &user, &["--restart", "-o", "json"]).expect(0);
    // As planned: the old pair stored again, then the record deleted.
    let steps = run.json()["steps"].clone();
    assert_eq!(
        [
            &steps[0]["target"],
            &steps[1]["target"],
            &steps[2]["target"]
        ],
        [KEY_ID, SECRET_KEY, PENDING]
    );
    assert_eq!(
        outcomes(&run.json())[..3],
        ["updated", "updated", "deleted"].map(String::from)
    );
    let new = pair_of(&cluster.emulator.state()).0.unwrap();
    assert!(new != old && new != gone.0, "{new}");
    left_with(&cluster, &aws, &user, &new, "new key gone").await;

    // The old key of the record is gone as well (deleted by the rotation above).
    let before = leave_record((&old, &old_secret));
    let stuck = rotate(&cluster, &aws, &user, &["--restart"]);
    assert_ne!(stuck.code, 0, "{}", stuck.stderr);
    assert!(
        stuck
            .stderr
            .contains("no longer has, and DC/OS holds neither")
            && stuck.stderr.contains(&format!("then delete `{PENDING}`")),
        "{}",
        stuck.stderr
    );
    assert_eq!(cluster.emulator.state(), before, "nothing was changed");
    assert_eq!(aws.keys(&user).await, vec![(new, true)]);
}

/// Requirement (issue 17): `--old-key deactivate` leaves the old key inactive; `s3
/// retire-aws-key` then removes it, behind the same brake as every destructive command.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deactivated_key_is_retired_afterwards() {
    let aws = Aws::start();
    let (cluster, user, old) = onboarded(&aws, "deactivate").await;
    rotate(
        &cluster,
        &aws,
        &user,
        &["--restart", "--old-key", "deactivate"],
    )
    .expect(0);
    let new = pair_of(&cluster.emulator.state()).0.unwrap();
    let mut expected = vec![(old.clone(), false), (new.clone(), true)];
    expected.sort();
    assert_eq!(aws.keys(&user).await, expected);

    let retire = |extra: &[&str]| {
        let mut args = vec!["s3", "retire-aws-key", "--aws-iam-user", user.as_str()];
        args.extend_from_slice(extra);
        run(&cluster, &aws, &args)
    };
    // Deactivating again changes nothing.
    let same = retire(&["--deactivate", "--yes"]).expect(0);
    assert!(
        same.stderr
            .contains(&format!("unchanged        aws_key {old}"))
    );
    // No terminal and no --yes: refused, nothing changed.
    let refused = retire(&[]).expect(2);
    assert!(
        refused.stderr.contains("not without --yes"),
        "{}",
        refused.stderr
    );
    let plan = retire(&["--dry-run", "-o", "json"]).expect(0).json();
    assert_eq!(plan["steps"][1]["target"], old.as_str());
    assert_eq!(plan["steps"][1]["outcome"], "would_delete");
    assert_eq!(aws.keys(&user).await, expected);
    retire(&["--yes"]).expect(0);
    left_with(&cluster, &aws, &user, &new, "retired").await;
}

/// Requirement (issue 17): the two-key limit is exit 3, naming the key DC/OS does not hold and
/// the command that retires it; a stored key of another user is exit 2, naming the user's keys.
/// Neither creates anything. A dry run reads and plans.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_two_key_limit_and_another_users_key_are_refused() {
    let aws = Aws::start();
    let (cluster, user, old) = onboarded(&aws, "limits").await;

    let plan = rotate(
        &cluster,
        &aws,
        &user,
        &["--restart", "--dry-run", "-o", "json"],
    )
    .expect(0);
    let plan = plan.json();
    assert_eq!(outcomes(&plan), FRESH_PLAN);
    assert_eq!(plan["result"], "would_change");
    assert_eq!(aws.keys(&user).await, vec![(old.clone(), true)]);

    // An app that is not there is found before a key is made.
    let no_app = rotate(&cluster, &aws, &user, &["--restart", "--app-id", "nope"]);
    assert_eq!(no_app.code, 5, "{}", no_app.stderr);
    assert!(no_app.stderr.contains("/nope"), "{}", no_app.stderr);
    assert_eq!(aws.keys(&user).await, vec![(old.clone(), true)]);

    let (second, _) = aws.create_key(&user).await;
    let full = rotate(&cluster, &aws, &user, &["--restart"]);
    assert_eq!(full.code, 3, "{}", full.stderr);
    assert!(
        full.stderr
            .contains(&format!("{second}, which DC/OS does not hold"))
            && full.stderr.contains(&format!(
                "dcos-creds s3 retire-aws-key --aws-iam-user {user}"
            )),
        "{}",
        full.stderr
    );
    let mut both = vec![(old.clone(), true), (second.clone(), true)];
    both.sort();
    assert_eq!(aws.keys(&user).await, both);
    assert_eq!(
        pair_of(&cluster.emulator.state()).0.as_deref(),
        Some(old.as_str())
    );

    let other = user_name("other");
    aws.user(&other).await;
    let (theirs, _) = aws.create_key(&other).await;
    for wrong in [
        rotate(&cluster, &aws, &other, &[]),
        run(
            &cluster,
            &aws,
            &["s3", "retire-aws-key", "--aws-iam-user", &other, "--yes"],
        ),
    ] {
        assert_eq!(wrong.code, 2, "{}", wrong.stderr);
        assert!(
            wrong.stderr.contains(&format!(
                "which is not a key of IAM user `{other}` (its keys: {theirs})"
            )),
            "{}",
            wrong.stderr
        );
    }
    assert_eq!(aws.keys(&other).await, vec![(theirs, true)]);
    assert_eq!(aws.keys(&user).await, both);
    assert_eq!(aws.calls("CreateAccessKey"), 0, "nothing was created");

    // Bad input is refused before anything is asked of AWS.
    let asked = aws.calls("ListAccessKeys");
    let bad = rotate(&cluster, &aws, "no spaces", &[]);
    assert_eq!(bad.code, 2, "{}", bad.stderr);
    assert!(
        bad.stderr.contains("is not an IAM user name"),
        "{}",
        bad.stderr
    );
    let mixed = rotate(&cluster, &aws, &user, &["--from-env"]);
    assert_eq!(mixed.code, 2, "{}", mixed.stderr);
    assert_eq!(aws.calls("ListAccessKeys"), asked, "AWS was asked nothing");
}

/// Requirement (issue 17): AWS credentials come from the SDK's standard chain: the web
/// identity of a CI job (`AWS_WEB_IDENTITY_TOKEN_FILE` with `AWS_ROLE_ARN`), a profile with
/// `credential_process`; none at all is exit 4 naming the chain.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_come_from_the_standard_chain() {
    let aws = Aws::start();
    let (cluster, user, _) = onboarded(&aws, "chain").await;
    let base = |extra: &[(&'static str, String)]| {
        let mut env: Vec<(&str, String)> = vec![
            ("AWS_ENDPOINT_URL", aws.endpoint.clone()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_EC2_METADATA_DISABLED", "true".into()),
            ("DCOS_ACS_TOKEN", cluster.admin_token.clone()),
        ];
        env.extend_from_slice(extra);
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        cluster.run_with(
            &[
                "s3",
                "rotate",
                "--create-aws-key",
                "--aws-iam-user",
                &user,
                "--dry-run",
            ],
            &env,
            None,
        )
    };

    let token = cluster.path("web-identity-token");
    std::fs::write(
        &token,
        "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJyZXBvOnRlYW0vZHNlIn0.c2ln",
    )
    .unwrap();
    base(&[
        (
            "AWS_ROLE_ARN",
            "arn:aws:iam::123456789012:role/dse-rotation".into(),
        ),
        ("AWS_WEB_IDENTITY_TOKEN_FILE", token.display().to_string()),
    ])
    .expect(0);
    assert_eq!(aws.calls("AssumeRoleWithWebIdentity"), 1);

    let config = cluster.path("aws-config");
    std::fs::write(
        &config,
        format!(
            "[profile rotation]\ncredential_process = echo '{{\"Version\": 1, \"AccessKeyId\": \"{}\", \"SecretAccessKey\": \"x\"}}'\n",
            crate::moto::ADMIN_KEY_ID
        ),
    )
    .unwrap();
    base(&[
        ("AWS_PROFILE", "rotation".into()),
        ("AWS_CONFIG_FILE", config.display().to_string()),
    ])
    .expect(0);

    let none = base(&[]);
    assert_eq!(none.code, 4, "{}", none.stderr);
    assert!(
        none.stderr.contains("no credentials found in chain")
            && none
                .stderr
                .contains("AWS_WEB_IDENTITY_TOKEN_FILE with AWS_ROLE_ARN"),
        "{}",
        none.stderr
    );
}

/// Requirement (issue 17): SIGKILL at a random point of a rotation with `--restart`, then the
/// next run: every trial converges to one working key, both stored (its own secret beside it)
/// and running. Where the next run cannot finish alone (killed between `CreateAccessKey` and
/// the record of both pairs, which loses the new key's secret), it exits 3 naming the command;
/// the trial runs that command and then the rotation, as on call would. `RELIABILITY_KILLS`
/// sets the number of trials (8).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotation_killed_anywhere_is_finished_by_the_next_run() {
    let trials: u64 = std::env::var("RELIABILITY_KILLS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(8);
    let aws = Aws::start();
    let (cluster, user, _) = onboarded(&aws, "sigkill").await;
    let started = std::time::Instant::now();
    rotate(&cluster, &aws, &user, &["--restart"]).expect(0);
    let span = started.elapsed().as_millis() as u64 + 50;

    let (mut named, mut finished, mut recorded) = (0, 0, 0);
    for trial in 0..trials {
        let mut child = spawn_rotation(&cluster, &aws, &user, std::process::Stdio::null);
        let delay = fastrand::u64(0..span);
        std::thread::sleep(std::time::Duration::from_millis(delay));
        let _ = child.kill();
        child.wait().unwrap();
        // On call sees a rotation left half done, and the command that finishes it.
        let status = rotation_check(&cluster);
        match cluster.emulator.state().secrets.contains_key(PENDING) {
            true => {
                assert_eq!(status["ok"], false, "{status}");
                let command = format!("s3 rotate --create-aws-key --aws-iam-user {user}");
                assert!(
                    status["detail"].as_str().unwrap().contains(&command),
                    "{status}"
                );
                recorded += 1;
            }
            false => assert_eq!(status["ok"], true, "{status}"),
        }

        let next = rotate(&cluster, &aws, &user, &["--restart"]);
        match next.code {
            0 => finished += 1,
            3 => {
                let command = format!("dcos-creds s3 retire-aws-key --aws-iam-user {user}");
                assert!(next.stderr.contains(&command), "{}", next.stderr);
                retire_all(&cluster, &aws, &user);
                rotate(&cluster, &aws, &user, &["--restart"]).expect(0);
                named += 1;
            }
            code => panic!(
                "trial {trial} (killed after {delay} ms): exit {code}: {}",
                next.stderr
            ),
        }
        let state = cluster.emulator.state();
        let (id, secret) = pair_of(&state);
        let (id, secret) = (id.unwrap(), secret.unwrap());
        let case = format!("trial {trial} (killed after {delay} ms)");
        left_with(&cluster, &aws, &user, &id, &case).await;
        assert_eq!(
            aws.secret_of(&id).as_deref(),
            Some(secret.as_str()),
            "{case}"
        );
        let task = &cluster.emulator.marathon_tasks()[0];
        assert_eq!(
            task.env_sha256["AWS_SECRET_ACCESS_KEY"],
            sha256_hex(&secret),
            "{case}"
        );
        assert_eq!(rotation_check(&cluster)["ok"], true, "{case}");
    }
    eprintln!(
        "{trials} trials: {finished} finished by the next run, {named} by the command it named; \
         {recorded} left a record that s3 status named"
    );
    record(
        "s3 rotate --create-aws-key --restart: SIGKILL, then the next run",
        trials,
        trials,
        trials,
        0,
    );
}

/// The `rotation` check of `s3 status`.
fn rotation_check(cluster: &Cluster) -> serde_json::Value {
    let status = cluster.admin(&["s3", "status", "--service-account", "dse", "-o", "json"]);
    let doc = match status.code {
        0 | 5 => status.json(),
        code => panic!("s3 status: exit {code}: {}", status.stderr),
    };
    let checks = doc["checks"].as_array().unwrap();
    checks
        .iter()
        .find(|c| c["check"] == "rotation")
        .unwrap_or_else(|| panic!("no rotation check: {doc}"))
        .clone()
}

/// Requirement (issue 17): Ctrl-C while AWS has not yet accepted the new key stops the wait at
/// once (exit 130) and takes the new key back: the old key only, stored and running.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_while_the_new_key_is_verified_takes_it_back() {
    let aws = Aws::start();
    let (cluster, user, old) = onboarded(&aws, "sigint").await;
    aws.fail("GetCallerIdentity", 1_000, 403, "InvalidClientTokenId");
    let child = spawn_rotation(&cluster, &aws, &user, std::process::Stdio::piped);
    // Wait until it is verifying: the new key exists.
    for _ in 0..500 {
        if aws.keys(&user).await.len() == 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(
        aws.keys(&user).await.len(),
        2,
        "the new key was never created"
    );
    let started = std::time::Instant::now();
    crate::signals::signal(&child, "INT");
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "stopped at once"
    );
    assert!(stderr.contains("deleted the new access key"), "{stderr}");
    left_with(&cluster, &aws, &user, &old, "Ctrl-C").await;
}

/// Requirement: `s3 retire-aws-key` retires what its confirmed plan named, and a key that turns
/// up between the plan and the run is kept and named (the workflow, as the command calls it
/// after a confirmation).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retiring_keeps_a_key_the_confirmed_plan_did_not_name() {
    let aws = Aws::start();
    let (cluster, user, stored) = onboarded(&aws, "confirmed").await;
    let (planned, _) = aws.create_key(&user).await;
    let job = dcos_ops::s3::Retirement {
        paths: dcos_ops::s3::Paths::of(
            dcos_ops::dse::ServiceName::new("data-science-engine").unwrap(),
        )
        .unwrap(),
        user: user.clone(),
        deactivate: false,
        only: Some(vec!["AKIANOTTHEPLANNEDKEY".into()]),
        dry_run: false,
    };
    let (iam, _) = cluster.clients();
    let clients = dcos_ops::Clients::new(iam.transport().clone());
    let report = dcos_ops::s3::retire_aws_keys(&clients, &aws.ops(), &job, &dcos_ops::Silent)
        .await
        .unwrap();
    let kept = report.steps.iter().find(|s| s.target == planned).unwrap();
    assert_eq!(kept.outcome, dcos_ops::Outcome::Kept);
    assert!(kept.notes[0].contains("after the plan"), "{:?}", kept.notes);
    let mut both = vec![(stored.clone(), true), (planned.clone(), true)];
    both.sort();
    assert_eq!(aws.keys(&user).await, both);

    let job = dcos_ops::s3::Retirement {
        only: Some(vec![planned.clone()]),
        ..job
    };
    dcos_ops::s3::retire_aws_keys(&clients, &aws.ops(), &job, &dcos_ops::Silent)
        .await
        .unwrap();
    assert_eq!(aws.keys(&user).await, vec![(stored, true)]);
}

/// What a rotation that AWS never answered must leave: the user's one key, stored and running,
/// and no record.
async fn untouched(cluster: &Cluster, aws: &Aws, user: &str, id: &str, case: &str) {
    aws.stall(false);
    left_with(cluster, aws, user, id, case).await;
}

/// Requirement (issue 26): with the AWS endpoint paused (connections accepted, never
/// answered), a rotation ends within `--timeout` plus a few seconds with one JSON document of
/// kind `unavailable` (exit 6), and so does one bounded by `--deadline`; nothing changes in
/// IAM or DC/OS.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_aws_endpoint_cannot_hang_a_rotation() {
    let aws = Aws::start();
    let (cluster, user, id) = onboarded(&aws, "paused").await;
    for (limit, flags) in [
        (3, ["--timeout", "3", "--deadline", "600"]),
        (4, ["--timeout", "60", "--deadline", "4"]),
    ] {
        let case = format!("paused AWS with {flags:?}");
        aws.stall(true);
        let before = aws.all_calls();
        let started = std::time::Instant::now();
        let mut args = vec!["-o", "json"];
        args.extend(flags);
        args.push("--restart");
        let run = rotate(&cluster, &aws, &user, &args).expect(6);
        let took = started.elapsed();
        assert!(
            took < std::time::Duration::from_secs(limit + 8),
            "{case}: took {took:?}\n{}",
            run.stderr
        );
        assert!(aws.all_calls() > before, "{case}: AWS was never called");
        let doc = one_json_error(&run.stdout, "unavailable", &case);
        assert_eq!(doc["error"]["exit_code"], 6, "{case}");
        untouched(&cluster, &aws, &user, &id, &case).await;
    }
    record(
        "s3 rotate --create-aws-key against a paused AWS, bounded by --timeout, then by \
         --deadline: exit 6 within the limit plus seconds, one JSON document, nothing changed",
        2,
        2,
        2,
        0,
    );
}

/// Requirement (issue 26): SIGINT or SIGTERM while a call to a paused AWS is in flight cuts
/// it: the process exits 130 or 143 within 5 seconds with one JSON document (kind
/// `interrupted` or `terminated`), and nothing changes in IAM or DC/OS.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signal_during_a_stalled_aws_call_stops_within_five_seconds() {
    let aws = Aws::start();
    let (cluster, user, id) = onboarded(&aws, "signalled").await;
    for (name, code, kind) in [("INT", 130, "interrupted"), ("TERM", 143, "terminated")] {
        let case = format!("SIG{name} during a stalled AWS call");
        aws.stall(true);
        let before = aws.all_calls();
        let mut command = cluster.command();
        command
            .args([
                "-o",
                "json",
                "--timeout",
                "300",
                "s3",
                "rotate",
                "--create-aws-key",
            ])
            .args(["--aws-iam-user", &user, "--restart"])
            .env("DCOS_ACS_TOKEN", &cluster.admin_token)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        for (name, value) in aws.env() {
            command.env(name, value);
        }
        let child = command.spawn().unwrap();
        let waiting = std::time::Instant::now();
        while aws.all_calls() == before {
            assert!(
                waiting.elapsed() < std::time::Duration::from_secs(60),
                "{case}: AWS was never called"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        // Well into the stall.
        std::thread::sleep(std::time::Duration::from_millis(500));
        let signalled = std::time::Instant::now();
        crate::signals::signal(&child, name);
        let out = child.wait_with_output().unwrap();
        let took = signalled.elapsed();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "{case}: {stderr}");
        assert!(
            took < std::time::Duration::from_secs(5),
            "{case}: took {took:?}\n{stderr}"
        );
        let doc = one_json_error(&out.stdout, kind, &case);
        assert_eq!(doc["error"]["exit_code"], code, "{case}");
        untouched(&cluster, &aws, &user, &id, &case).await;
    }
    record(
        "SIGINT and SIGTERM during a call to a paused AWS: exit 130/143 within 5 s, one JSON \
         document, nothing changed",
        2,
        2,
        2,
        0,
    );
}

/// Requirement (issue 27): a rotation record written by someone with write access to the
/// service's folder, whose old pair names the stored key with another secret key, is never
/// written into the live pair: the dry run and the run refuse it (exit 3), nothing changes in
/// DC/OS or IAM, and the record is left for a person to look at.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_rotation_record_never_rewrites_the_stored_pair() {
    let aws = Aws::start();
    let (cluster, user, id) = onboarded(&aws, "forged").await;
    let forged = crate::harness::aws_rotation_record(
        &user,
        (&id, "forged-secret-forged-secret-forged-0000"),
        (
            "AKIAGONEGONEGONEGONE",
            "gone-secret-gone-secret-gone-secret-0000",
        ),
    );
    let mut state = cluster.emulator.state();
    state
        .secrets
        .insert(PENDING.into(), Secret::Text(forged.to_string()));
    cluster.emulator.load_state(state);
    let before = cluster.emulator.state();
    let creations = aws.calls("CreateAccessKey");
    for extra in [&["--restart", "--dry-run"][..], &["--restart"][..]] {
        let run = rotate(&cluster, &aws, &user, extra).expect(3);
        assert!(
            run.stderr.contains("with another secret key") && run.stderr.contains(PENDING),
            "{extra:?}: {}",
            run.stderr
        );
        assert!(!run.stderr.contains("forged-secret"), "{}", run.stderr);
        assert_eq!(cluster.emulator.state(), before, "{extra:?}: DC/OS changed");
    }
    assert_eq!(aws.calls("CreateAccessKey"), creations, "a key was created");
    assert_eq!(aws.keys(&user).await, vec![(id.clone(), true)]);
    record(
        "s3 rotate --create-aws-key: a forged record (the stored key id with another secret) \
         refused by the dry run and the run, exit 3, nothing changed",
        2,
        2,
        2,
        0,
    );
}

/// Each consumer of the pair and the SHA-256 of what it was given: `(id, where, sha256)`.
fn consumers_given(cluster: &Cluster) -> Vec<(String, String, String)> {
    let mut given: Vec<(String, String, String)> = (cluster.emulator.marathon_tasks().iter())
        .flat_map(|t| {
            let vars = t.env_sha256.iter().chain(t.file_sha256.iter());
            vars.map(|(k, v)| (t.id.clone(), k.clone(), v.clone()))
        })
        .collect();
    given.sort();
    given.dedup();
    given
}

/// What the engine, two jobs and a pod hold when they run on the pair `(id, secret)`.
fn on_pair(id: &str, secret: &str) -> Vec<(String, String, String)> {
    let (id, secret) = (sha256_hex(id), sha256_hex(secret));
    let mut given: Vec<(String, String, String)> = [
        ("/data-science-engine", "AWS_ACCESS_KEY_ID", &id),
        ("/data-science-engine", "AWS_SECRET_ACCESS_KEY", &secret),
        (
            "/data-science-engine/jobs/nightly",
            "AWS_ACCESS_KEY_ID",
            &id,
        ),
        ("/data-science-engine/jobs/nightly", "secrets/key", &secret),
        (
            "/data-science-engine/jobs/report",
            "AWS_SECRET_ACCESS_KEY",
            &secret,
        ),
        ("/data-science-engine/trainer", "AWS_ACCESS_KEY_ID", &id),
        ("/data-science-engine/trainer", "creds/key", &secret),
    ]
    .into_iter()
    .map(|(a, b, c)| (a.to_owned(), b.to_owned(), c.clone()))
    .collect();
    given.sort();
    given
}

/// Requirement (issue 29): three apps and a pod share the pair (by variable and by file);
/// `--create-aws-key --restart` leaves every one on the new pair and the old key gone, and one
/// deployment failing puts every one back on the pair before and deletes the new key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotation_with_a_new_key_restarts_every_consumer_of_the_pair() {
    let aws = Aws::start();
    let (cluster, user, old) = onboarded(&aws, "consumers").await;
    let pair = json!({"id": {"source": KEY_ID}, "key": {"source": SECRET_KEY}});
    crate::s3::create_app(
        &cluster,
        json!({"id": "/data-science-engine/jobs/nightly", "secrets": pair,
               "env": {"AWS_ACCESS_KEY_ID": {"secret": "id"}},
               "container": {"volumes": [{"containerPath": "secrets/key", "secret": "key"}]}}),
    )
    .await;
    crate::s3::create_app(
        &cluster,
        json!({"id": "/data-science-engine/jobs/report", "secrets": pair,
               "env": {"AWS_SECRET_ACCESS_KEY": {"secret": "key"}}}),
    )
    .await;
    let (iam, _) = cluster.clients();
    let pod = json!({
        "id": "/data-science-engine/trainer", "secrets": pair,
        "environment": {"AWS_ACCESS_KEY_ID": {"secret": "id"}},
        "containers": [{"name": "c", "volumeMounts": [{"name": "v", "mountPath": "creds/key"}]}],
        "volumes": [{"name": "v", "secret": "key"}],
    });
    let request = dcos_transport::Request::post("/service/marathon/v2/pods")
        .json(&pod)
        .unwrap();
    assert_eq!(iam.transport().send(request).await.unwrap().status(), 201);
    for _ in 0..300 {
        if consumers_given(&cluster).len() == 7 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let old_secret = pair_of(&cluster.emulator.state()).1.unwrap();
    assert_eq!(consumers_given(&cluster), on_pair(&old, &old_secret));

    let run = rotate(&cluster, &aws, &user, &["--restart", "-o", "json"]).expect(0);
    let restarted: Vec<String> = (run.json()["steps"].as_array().unwrap().iter())
        .filter(|s| s["outcome"] == "restarted")
        .map(|s| {
            format!(
                "{} {}",
                s["kind"].as_str().unwrap(),
                s["target"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        restarted,
        [
            "app /data-science-engine",
            "app /data-science-engine/jobs/nightly",
            "app /data-science-engine/jobs/report",
            "pod /data-science-engine/trainer",
        ]
    );
    let keys = aws.keys(&user).await;
    assert_eq!(keys.len(), 1, "the old key is gone: {keys:?}");
    let new = keys[0].0.clone();
    let new_secret = aws.secret_of(&new).unwrap();
    assert_ne!(new, old);
    assert_eq!(consumers_given(&cluster), on_pair(&new, &new_secret));

    // One restart refused: every consumer back on the pair before, the newer key deleted.
    let refused: FaultRule = serde_json::from_value(json!({
        "method": "POST", "count": 1, "status": 409,
        "path_prefix": "/service/marathon/v2/apps/data-science-engine/jobs/report/restart",
    }))
    .unwrap();
    cluster.emulator.add_fault(refused);
    let failed = rotate(&cluster, &aws, &user, &["--restart"]);
    assert_ne!(failed.code, 0, "{}", failed.stderr);
    assert_eq!(consumers_given(&cluster), on_pair(&new, &new_secret));
    let keys = aws.keys(&user).await;
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert_eq!(keys[0].0, new, "the newer key was deleted again");
    let (id, _) = pair_of(&cluster.emulator.state());
    assert_eq!(id.as_deref(), Some(new.as_str()));
}
