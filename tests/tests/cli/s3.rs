//! `s3 onboard|rotate|offboard` against the emulator: the seed's flow, idempotence, undo after a
//! failure at every write, conflicts, credential sources, rotation and offboarding.

use dcos_emulator::FaultRule;
use dcos_emulator::state::{Secret, State};
use serde_json::json;

use crate::harness::{Cluster, Run};

/// AWS's documented example pair, and two more pairs of the right shape.
pub(crate) const PAIR_A: (&str, &str) = (
    "AKIAIOSFODNN7EXAMPLE",
    "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
);
pub(crate) const PAIR_B: (&str, &str) = (
    "AKIAZZZZ1111BBBB2222",
    "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
);
const PAIR_C: (&str, &str) = (
    "AKIACCCC3333CCCC4444",
    "cccccccccccccccccccccccccccccccccccccccc",
);

pub(crate) const KEY_ID: &str = "data-science-engine/aws_access_key_id";
pub(crate) const SECRET_KEY: &str = "data-science-engine/aws_secret_access_key";
pub(crate) const LOGIN: &str = "data-science-engine/sa";

fn onboard_args<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "s3",
        "onboard",
        "--service-account",
        "dse",
        "--service-account-secret",
        LOGIN,
    ];
    args.extend_from_slice(extra);
    args
}

/// `s3 onboard` with the pair in the environment.
pub(crate) fn onboard(cluster: &Cluster, extra: &[&str], (id, secret): (&str, &str)) -> Run {
    let mut args = onboard_args(&["--from-env"]);
    args.extend_from_slice(extra);
    cluster.run_with(
        &args,
        &[
            ("DCOS_ACS_TOKEN", &cluster.admin_token),
            ("AWS_ACCESS_KEY_ID", id),
            ("AWS_SECRET_ACCESS_KEY", secret),
        ],
        None,
    )
}

/// A cluster with the service account `dse`.
pub(crate) async fn cluster() -> Cluster {
    let cluster = Cluster::start().await;
    cluster.service_account("dse").await;
    cluster
}

pub(crate) fn text(state: &State, path: &str) -> Option<String> {
    state.secrets.get(path).map(|s| match s {
        Secret::Text(t) => t.clone(),
        Secret::Binary(_) => panic!("{path} is binary"),
    })
}

pub(crate) fn pair_of(state: &State) -> (Option<String>, Option<String>) {
    (text(state, KEY_ID), text(state, SECRET_KEY))
}

fn holds(state: &State, rid: &str, uid: &str) -> bool {
    state
        .acls
        .get(rid)
        .and_then(|acl| acl.users.get(uid))
        .is_some_and(|actions| actions.contains("read"))
}

pub(crate) fn list_rid(path: &str) -> String {
    format!("dcos:secrets:list:default:{path}")
}

fn value_rid(path: &str) -> String {
    format!("dcos:secrets:default:{path}")
}

/// The rid as it appears in a request path.
pub(crate) fn rid_url(rid: &str) -> String {
    format!("/acs/api/v1/acls/{}", rid.replace('/', "%252F"))
}

/// The stored pair [`pair_of`] reads when `pair` is stored.
fn held((id, secret): (&str, &str)) -> (Option<String>, Option<String>) {
    (Some(id.to_owned()), Some(secret.to_owned()))
}

/// A cluster with `PAIR_A` onboarded and the Data Science Engine running on it.
async fn deployed() -> Cluster {
    let cluster = cluster().await;
    onboard(&cluster, &[], PAIR_A).expect(0);
    deploy_dse(&cluster).await;
    settle(&cluster).await;
    cluster
}

pub(crate) fn outcomes(report: &serde_json::Value) -> Vec<String> {
    report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["outcome"].as_str().unwrap().to_owned())
        .collect()
}

/// No secret access key in the output. (Access key ids are identifiers, which rotation
/// reports name in full.)
fn assert_no_keys(run: &Run, pairs: &[(&str, &str)]) {
    for (_, secret) in pairs {
        assert!(!run.stdout().contains(secret), "stdout holds a key");
        assert!(!run.stderr.contains(secret), "stderr holds a key");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn onboarding_stores_grants_and_prints_the_options_the_package_reads() {
    let cluster = cluster().await;
    let run = onboard(&cluster, &[], PAIR_A).expect(0);
    assert_eq!(
        run.json(),
        json!({
            "service": {"service_account": "dse", "service_account_secret": LOGIN},
            "spark": {"spark_hadoop_fs_s3a_aws_credentials_provider":
                      "com.amazonaws.auth.EnvironmentVariableCredentialsProvider"},
            "storage": {"s3": {"aws_access_key_id": KEY_ID, "aws_secret_access_key": SECRET_KEY}}
        })
    );
    assert_no_keys(&run, &[PAIR_A]);
    assert!(
        run.stderr.contains("created          secret"),
        "{}",
        run.stderr
    );
    // The login secret does not exist in this cluster: a warning, not a failure.
    assert!(
        run.stderr
            .contains("`data-science-engine/sa` does not exist"),
        "{}",
        run.stderr
    );
    let state = cluster.emulator.state();
    assert_eq!(
        pair_of(&state),
        (Some(PAIR_A.0.into()), Some(PAIR_A.1.into()))
    );
    for path in [KEY_ID, SECRET_KEY] {
        assert!(holds(&state, &list_rid(path), "dse"));
        assert!(
            !holds(&state, &value_rid(path), "dse"),
            "no value read without the flag"
        );
    }

    // Re-running changes nothing, says so, and prints the same options. Its only write requests
    // are the two ACL creations sent with the reads, answered 409.
    let (writes, others) = (cluster.writes(), cluster.writes_but_acl_creations());
    let rerun = onboard(&cluster, &[], PAIR_A).expect(0);
    assert!(
        rerun.stderr.contains("onboard: unchanged"),
        "{}",
        rerun.stderr
    );
    assert_eq!(rerun.json(), run.json());
    assert_eq!(
        cluster.writes_but_acl_creations(),
        others,
        "a re-run writes nothing"
    );
    assert_eq!(cluster.writes(), writes + 2);
    assert_eq!(cluster.emulator.state(), state);

    // The JSON report names every step, without a value.
    let report = onboard(&cluster, &["-o", "json", "--grant-value-read"], PAIR_A).expect(0);
    assert_no_keys(&report, &[PAIR_A]);
    let report = report.json();
    assert_eq!(report["result"], "changed");
    assert_eq!(
        outcomes(&report),
        [
            "unchanged",
            "unchanged",
            "already_granted",
            "already_granted",
            "granted",
            "granted"
        ]
    );
    assert_eq!(
        report["options"]["storage"]["s3"]["aws_access_key_id"],
        KEY_ID
    );
    let state = cluster.emulator.state();
    for path in [KEY_ID, SECRET_KEY] {
        assert!(holds(&state, &value_rid(path), "dse"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_shows_the_plan_by_fingerprint_and_writes_nothing() {
    let cluster = cluster().await;
    let (before, writes) = (cluster.emulator.state(), cluster.writes());
    let run = onboard(
        &cluster,
        &["--dry-run", "--grant-value-read", "-o", "json"],
        PAIR_A,
    )
    .expect(0);
    assert_no_keys(&run, &[PAIR_A]);
    let report = run.json();
    assert_eq!(report["dry_run"], true);
    assert_eq!(report["result"], "would_change");
    assert_eq!(
        outcomes(&report),
        [
            "would_create",
            "would_create",
            "would_grant",
            "would_grant",
            "would_grant",
            "would_grant"
        ]
    );
    let fingerprint = report["steps"][0]["fingerprint"].as_str().unwrap();
    assert!(
        fingerprint.starts_with("hmac:") && fingerprint.len() == 17,
        "{fingerprint}"
    );
    assert_eq!(cluster.writes(), writes);
    assert_eq!(cluster.emulator.state(), before);

    let text = onboard(&cluster, &["--dry-run"], PAIR_A).expect(0);
    assert!(text.stderr.contains("would create"), "{}", text.stderr);
    assert!(
        text.stderr.contains("nothing was changed"),
        "{}",
        text.stderr
    );
    assert_eq!(cluster.writes(), writes);
}

/// The writes of a fresh onboarding with `--grant-value-read`, each a fault to inject.
fn write_faults() -> Vec<(String, FaultRule)> {
    let rule = |method: &str, prefix: String, phase: &str| {
        let rule: FaultRule = serde_json::from_value(json!({
            "method": method, "path_prefix": prefix, "count": 1000, "status": 500, "phase": phase
        }))
        .unwrap();
        rule
    };
    let mut faults = Vec::new();
    for path in [KEY_ID, SECRET_KEY] {
        for phase in ["before", "after"] {
            let prefix = format!("/secrets/v1/secret/default/{path}");
            faults.push((
                format!("create {path} ({phase})"),
                rule("PUT", prefix, phase),
            ));
        }
    }
    for path in [KEY_ID, SECRET_KEY] {
        for rid in [list_rid(path), value_rid(path)] {
            // This prefix also matches the grant, which then never runs.
            faults.push((
                format!("ACL {rid} (after)"),
                rule("PUT", rid_url(&rid), "after"),
            ));
            for phase in ["before", "after"] {
                let prefix = format!("{}/users/dse/read", rid_url(&rid));
                faults.push((format!("grant {rid} ({phase})"), rule("PUT", prefix, phase)));
            }
        }
    }
    faults
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failure_at_any_write_leaves_the_cluster_exactly_as_before() {
    let faults = write_faults();
    assert_eq!(faults.len(), 16);
    for (label, fault) in faults {
        let cluster = cluster().await;
        // Something unrelated that must survive: a secret and a grant on an ACL we also use.
        cluster
            .admin_stdin(
                &["secret", "create", "other/keep", "--value-file", "-"],
                b"keep",
            )
            .expect(0);
        let first_rid = list_rid(KEY_ID);
        cluster
            .admin(&["grant", "--user", "bootstrapuser", &first_rid, "read"])
            .expect(0);
        let before = cluster.emulator.state();
        cluster.emulator.add_fault(fault);
        let run = onboard(&cluster, &["--grant-value-read"], PAIR_A);
        assert_ne!(run.code, 0, "{label}: {}", run.stderr);
        assert_eq!(run.stdout(), "", "{label}: no options after a failure");
        // A failed ACL creation stops the run with its reads, before any secret or grant.
        assert!(
            run.stderr.contains("undone") || run.stderr.contains("nothing had been changed"),
            "{label}: {}",
            run.stderr
        );
        assert_no_keys(&run, &[PAIR_A]);
        let after = cluster.emulator.state();
        assert_eq!(
            after, before,
            "{label}: the cluster changed\n{}",
            run.stderr
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_connection_and_an_overwrite_are_undone_too() {
    // Every attempt at the grant loses its connection after the grant was stored.
    let cluster = cluster().await;
    let before = cluster.emulator.state();
    let rule: FaultRule = serde_json::from_value(json!({
        "method": "PUT", "path_prefix": format!("{}/users/dse/read", rid_url(&list_rid(SECRET_KEY))),
        "count": 1000, "drop": true, "phase": "after"
    }))
    .unwrap();
    cluster.emulator.add_fault(rule);
    let run = onboard(&cluster, &[], PAIR_A);
    assert_eq!(run.code, 6, "unavailable after the retries: {}", run.stderr);
    assert_eq!(cluster.emulator.state(), before, "{}", run.stderr);

    // An overwritten value comes back when a later step fails.
    let cluster = self::cluster().await;
    onboard(&cluster, &[], PAIR_B).expect(0);
    let before = cluster.emulator.state();
    let rule: FaultRule = serde_json::from_value(json!({
        "method": "PATCH", "path_prefix": format!("/secrets/v1/secret/default/{SECRET_KEY}"),
        "count": 1, "status": 500, "phase": "after"
    }))
    .unwrap();
    cluster.emulator.add_fault(rule);
    let run = onboard(&cluster, &["--overwrite"], PAIR_A);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("restored the previous value"),
        "{}",
        run.stderr
    );
    assert_eq!(cluster.emulator.state(), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_different_value_is_a_conflict_found_before_any_write() {
    let cluster = cluster().await;
    onboard(&cluster, &[], PAIR_A).expect(0);
    let (before, writes) = (cluster.emulator.state(), cluster.writes_but_acl_creations());
    let run = onboard(&cluster, &[], PAIR_B).expect(3);
    assert!(
        run.stderr.contains("hold a different value"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("--overwrite"), "{}", run.stderr);
    assert_no_keys(&run, &[PAIR_A, PAIR_B]);
    assert_eq!(cluster.writes_but_acl_creations(), writes);
    assert_eq!(cluster.emulator.state(), before);

    let run = onboard(&cluster, &["--overwrite", "-o", "json"], PAIR_B).expect(0);
    let report = run.json();
    assert_eq!(outcomes(&report)[..2], ["updated", "updated"]);
    assert!(report["steps"][0]["previous_fingerprint"].is_string());
    assert_eq!(
        pair_of(&cluster.emulator.state()),
        (Some(PAIR_B.0.into()), Some(PAIR_B.1.into()))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn input_and_the_service_account_are_checked_before_any_write() {
    let cluster = Cluster::start().await;
    let before = cluster.emulator.state();
    // No such account: exit 5, naming it, before any secret or grant is written. The ACLs
    // created alongside the reads are deleted again.
    let run = onboard(&cluster, &[], PAIR_A).expect(5);
    assert!(
        run.stderr.contains("`dse` does not exist"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("service-account create dse"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("nothing had been changed"),
        "{}",
        run.stderr
    );
    assert_eq!(
        cluster.writes_but_acl_creations() - 2,
        0,
        "only the ACLs' removal"
    );
    assert_eq!(cluster.emulator.state(), before);
    // A user is not a service account.
    let (iam, _) = cluster.clients();
    iam.user(&dcos_iam_client::Uid::new("dse").unwrap())
        .create_user("", &secrecy::SecretString::from("a-password"))
        .await
        .unwrap();
    let before = cluster.emulator.state();
    let run = onboard(&cluster, &[], PAIR_A).expect(2);
    assert!(
        run.stderr.contains("not a service account"),
        "{}",
        run.stderr
    );
    assert_eq!(cluster.emulator.state(), before);

    // The spaces rule, bad paths and bad keys are refused before any request.
    let requests = cluster.emulator.counters().total;
    let run = onboard(&cluster, &["--key-id-secret", "other/key"], PAIR_A).expect(2);
    assert!(
        run.stderr.contains("cannot use `other/key`"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("--allow-outside-space"),
        "{}",
        run.stderr
    );
    onboard(&cluster, &["--secret-key-secret", "a/../b"], PAIR_A).expect(2);
    onboard(&cluster, &["--service-name", "Bad_Name"], PAIR_A).expect(2);
    let run = onboard(&cluster, &[], ("AKIA-not-a-key", PAIR_A.1)).expect(2);
    assert!(run.stderr.contains("access key id"), "{}", run.stderr);
    let run = onboard(&cluster, &[], (PAIR_A.1, PAIR_A.0)).expect(2);
    assert!(run.stderr.contains("swapped"), "{}", run.stderr);
    assert_no_keys(&run, &[PAIR_A]);
    let run = onboard(
        &cluster,
        &["--layout", "docs", "--aws-region", "eu-west-1"],
        PAIR_A,
    )
    .expect(2);
    assert!(run.stderr.contains("--layout schema"), "{}", run.stderr);
    assert_eq!(cluster.emulator.counters().total, requests);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_come_from_each_source() {
    let cluster = cluster().await;
    let token = cluster.admin_token.as_str();
    let stored = |cluster: &Cluster| pair_of(&cluster.emulator.state());

    // The environment.
    onboard(&cluster, &[], PAIR_A).expect(0);
    assert_eq!(stored(&cluster), held(PAIR_A));

    // A profile of the shared credentials file.
    let file = cluster.path("aws-credentials");
    std::fs::write(
        &file,
        format!(
            "[default]\naws_access_key_id = {}\naws_secret_access_key = {}\n\n[dse]\n\
             aws_access_key_id={}\naws_secret_access_key = {}\n",
            PAIR_C.0, PAIR_C.1, PAIR_B.0, PAIR_B.1
        ),
    )
    .unwrap();
    let file = file.to_str().unwrap();
    let env = [
        ("DCOS_ACS_TOKEN", token),
        ("AWS_SHARED_CREDENTIALS_FILE", file),
    ];
    cluster
        .run_with(
            &onboard_args(&["--aws-profile", "dse", "--overwrite"]),
            &env,
            None,
        )
        .expect(0);
    assert_eq!(stored(&cluster), held(PAIR_B));
    let run = cluster
        .run_with(&onboard_args(&["--aws-profile", "prod"]), &env, None)
        .expect(2);
    assert!(
        run.stderr.contains("it has: default, dse"),
        "{}",
        run.stderr
    );

    // The JSON of `aws iam create-access-key` on standard input, and the plain form.
    let env = [("DCOS_ACS_TOKEN", token)];
    let cli_json = format!(
        r#"{{"AccessKey": {{"UserName": "dse", "AccessKeyId": "{}", "Status": "Active",
            "SecretAccessKey": "{}", "CreateDate": "2026-11-24T09:00:00+00:00"}}}}"#,
        PAIR_C.0, PAIR_C.1
    );
    cluster
        .run_with(
            &onboard_args(&["--from-stdin", "--overwrite"]),
            &env,
            Some(cli_json.as_bytes()),
        )
        .expect(0);
    assert_eq!(stored(&cluster), held(PAIR_C));
    let plain = format!(
        r#"{{"aws_access_key_id": "{}", "aws_secret_access_key": "{}"}}"#,
        PAIR_A.0, PAIR_A.1
    );
    cluster
        .run_with(
            &onboard_args(&["--from-stdin", "--overwrite"]),
            &env,
            Some(plain.as_bytes()),
        )
        .expect(0);
    assert_eq!(stored(&cluster), held(PAIR_A));
    let run = cluster
        .run_with(
            &onboard_args(&["--from-stdin"]),
            &env,
            Some(PAIR_B.1.as_bytes()),
        )
        .expect(2);
    assert!(run.stderr.contains("not JSON"), "{}", run.stderr);
    assert_no_keys(&run, &[PAIR_B]);

    // No source and no terminal: how to give one. Two sources: a usage error.
    let run = cluster.run_with(&onboard_args(&[]), &env, None).expect(2);
    assert!(run.stderr.contains("--from-env"), "{}", run.stderr);
    cluster
        .run_with(&onboard_args(&["--from-env", "--from-stdin"]), &env, None)
        .expect(2);
    assert_eq!(stored(&cluster), held(PAIR_A));
}

pub(crate) fn rotate(cluster: &Cluster, extra: &[&str], (id, secret): (&str, &str)) -> Run {
    let mut args = vec!["s3", "rotate", "--from-stdin"];
    args.extend_from_slice(extra);
    let input = format!(r#"{{"aws_access_key_id": "{id}", "aws_secret_access_key": "{secret}"}}"#);
    cluster.run_with(
        &args,
        &[("DCOS_ACS_TOKEN", &cluster.admin_token)],
        Some(input.as_bytes()),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotation_replaces_the_pair_and_never_leaves_it_mismatched() {
    let cluster = cluster().await;
    let run = rotate(&cluster, &[], PAIR_B).expect(5);
    assert!(run.stderr.contains("no pair to rotate"), "{}", run.stderr);

    onboard(&cluster, &[], PAIR_A).expect(0);
    let run = rotate(&cluster, &[], PAIR_B).expect(0);
    assert!(
        run.stdout()
            .contains("access key id AKIAIOSFODNN7EXAMPLE -> AKIAZZZZ1111BBBB2222"),
        "{}",
        run.stdout()
    );
    // The advice to restart is a message (issue 26): on standard error, and not with -q.
    assert!(
        run.stderr
            .contains("warning: restart the apps and pods that use the pair"),
        "{}",
        run.stderr
    );
    assert!(!run.stdout().contains("restart"), "{}", run.stdout());
    assert_no_keys(&run, &[PAIR_A, PAIR_B]);
    assert_eq!(pair_of(&cluster.emulator.state()), held(PAIR_B));
    let writes = cluster.writes();
    let again = rotate(&cluster, &[], PAIR_B).expect(0);
    assert!(again.stdout().contains("unchanged"), "{}", again.stdout());
    assert_eq!(cluster.writes(), writes);

    // The second write fails, before or after it lands: the old pair stays.
    for phase in ["before", "after"] {
        let rule: FaultRule = serde_json::from_value(json!({
            "method": "PATCH", "path_prefix": format!("/secrets/v1/secret/default/{SECRET_KEY}"),
            "count": 1, "status": 500, "phase": phase
        }))
        .unwrap();
        cluster.emulator.add_fault(rule);
        let run = rotate(&cluster, &[], PAIR_C);
        assert_eq!(run.code, 1, "{phase}: {}", run.stderr);
        assert!(
            run.stderr.contains("restored the previous value of secret"),
            "{}",
            run.stderr
        );
        assert_eq!(pair_of(&cluster.emulator.state()), held(PAIR_B), "{phase}");
    }

    // A dry run reads and plans only.
    let run = rotate(&cluster, &["--dry-run", "-o", "json"], PAIR_C).expect(0);
    assert_eq!(outcomes(&run.json()), ["would_update", "would_update"]);
    assert_eq!(pair_of(&cluster.emulator.state()), held(PAIR_B));

    // Half a rotation (as a killed run leaves it) is found and completed.
    let mut state = cluster.emulator.state();
    state
        .secrets
        .insert(KEY_ID.into(), Secret::Text(PAIR_C.0.into()));
    cluster.emulator.load_state(state);
    let run = rotate(&cluster, &[], PAIR_C).expect(0);
    assert!(
        run.stderr.contains("already holds its half"),
        "{}",
        run.stderr
    );
    assert_eq!(pair_of(&cluster.emulator.state()), held(PAIR_C));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offboarding_revokes_and_deletes_and_is_safe_to_repeat() {
    let cluster = cluster().await;
    onboard(&cluster, &["--grant-value-read"], PAIR_A).expect(0);
    let offboard = |extra: &[&str]| {
        let mut args = vec!["s3", "offboard", "--service-account", "dse"];
        args.extend_from_slice(extra);
        cluster.admin(&args)
    };
    let before = cluster.emulator.state();
    let plan = offboard(&["--dry-run", "-o", "json"]).expect(0);
    assert_eq!(
        outcomes(&plan.json()),
        [
            "would_revoke",
            "would_revoke",
            "would_revoke",
            "would_revoke",
            "would_delete",
            "would_delete"
        ]
    );
    assert_eq!(cluster.emulator.state(), before);

    // Without a terminal to ask on, a destructive run needs --yes: refused, nothing changed.
    let refused = offboard(&["--keep-secrets", "-o", "json"]).expect(2);
    assert_eq!(refused.json()["error"]["kind"], "usage");
    assert!(
        refused.stderr.contains("not without --yes"),
        "{}",
        refused.stderr
    );
    assert_eq!(cluster.emulator.state(), before);

    let kept = offboard(&["--keep-secrets", "-o", "json", "--yes"]).expect(0);
    assert_eq!(
        outcomes(&kept.json()),
        ["revoked", "revoked", "revoked", "revoked", "kept", "kept"]
    );
    let state = cluster.emulator.state();
    assert!(state.secrets.contains_key(KEY_ID));
    for path in [KEY_ID, SECRET_KEY] {
        assert!(!holds(&state, &list_rid(path), "dse"));
        assert!(!holds(&state, &value_rid(path), "dse"));
    }

    let run = offboard(&["-y"]).expect(0);
    assert!(run.stderr.contains("deleted"), "{}", run.stderr);
    let state = cluster.emulator.state();
    assert!(!state.secrets.contains_key(KEY_ID) && !state.secrets.contains_key(SECRET_KEY));
    // Nothing left to do: nothing to confirm either.
    let again = offboard(&["-o", "json"]).expect(0);
    assert_eq!(again.json()["result"], "unchanged");
}

/// Requirement: a misspelt account deletes nothing and exits 5; a secret that an app uses is
/// refused unless forced (issue 29), and the forced plan names each use.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offboarding_checks_the_account_and_names_the_apps_that_use_the_secrets() {
    let cluster = cluster().await;
    onboard(&cluster, &[], PAIR_A).expect(0);
    let before = cluster.emulator.state();
    let typo = cluster
        .admin(&["s3", "offboard", "--service-account", "dsee"])
        .expect(5);
    assert!(
        typo.stderr
            .contains("`dsee` does not exist; nothing was revoked or deleted"),
        "{}",
        typo.stderr
    );
    assert!(
        typo.stderr.contains("hint: check the spelling"),
        "{}",
        typo.stderr
    );
    assert_eq!(cluster.emulator.state(), before);

    create_app(
        &cluster,
        json!({
            "id": "/data-science-engine",
            "secrets": {"key": {"source": KEY_ID}, "secret": {"source": SECRET_KEY}},
            "env": {"AWS_ACCESS_KEY_ID": {"secret": "key"}},
            "container": {"volumes": [{"containerPath": "secrets/key", "secret": "secret"}]},
        }),
    )
    .await;
    let before = cluster.emulator.state();
    // Used: refused (exit 3) before anything is changed, naming each use, the plan too.
    for extra in [&["--dry-run"][..], &["--yes"]] {
        let mut args = vec!["s3", "offboard", "--service-account", "dse"];
        args.extend_from_slice(extra);
        let refused = cluster.admin(&args).expect(3);
        for used in [
            format!("`{KEY_ID}` by app /data-science-engine (env AWS_ACCESS_KEY_ID)"),
            format!("`{SECRET_KEY}` by app /data-science-engine (file secrets/key)"),
        ] {
            assert!(refused.stderr.contains(&used), "{}", refused.stderr);
        }
        assert!(refused.stderr.contains("--force"), "{}", refused.stderr);
        assert_eq!(cluster.emulator.state(), before);
    }
    let plan = cluster
        .admin(&[
            "s3",
            "offboard",
            "--service-account",
            "dse",
            "--dry-run",
            "--force",
        ])
        .expect(0);
    for (path, how) in [
        (KEY_ID, "env AWS_ACCESS_KEY_ID"),
        (SECRET_KEY, "file secrets/key"),
    ] {
        // The plan goes to standard error, as every report for people does.
        let line = format!(
            "would delete     secret {path}; used by app /data-science-engine ({how}), which fails"
        );
        assert!(plan.stderr.contains(&line), "{}", plan.stderr);
    }
    cluster
        .admin(&[
            "s3",
            "offboard",
            "--service-account",
            "dse",
            "--force",
            "--yes",
        ])
        .expect(0);
    let state = cluster.emulator.state();
    assert!(!state.secrets.contains_key(KEY_ID) && !state.secrets.contains_key(SECRET_KEY));
}

/// A rotation with a new AWS key that never finished leaves both pairs in a record: `s3 status`
/// fails on it and names the command that finishes it; offboarding deletes it with the pair and names the new key it may have left in AWS; a secret of someone
/// else's at that path is left alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offboarding_deletes_the_record_of_an_unfinished_aws_rotation() {
    let cluster = cluster().await;
    onboard(&cluster, &[], PAIR_A).expect(0);
    let record = format!("{KEY_ID}.rotation");
    let pairs = crate::harness::aws_rotation_record("dse-s3", PAIR_A, PAIR_B);
    let mut state = cluster.emulator.state();
    state
        .secrets
        .insert(record.clone(), Secret::Text(pairs.to_string()));
    cluster.emulator.load_state(state);
    let offboard = |extra: &[&str]| {
        let mut args = vec!["s3", "offboard", "--service-account", "dse", "-o", "json"];
        args.extend_from_slice(extra);
        cluster.admin(&args)
    };

    // On call sees it in the status, with the command that finishes it.
    let status = cluster
        .admin(&["s3", "status", "--service-account", "dse", "-o", "json"])
        .expect(5);
    let doc = status.json();
    let failed: Vec<&serde_json::Value> = doc["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["ok"] == false)
        .collect();
    assert_eq!(failed.len(), 1, "{doc}");
    assert_eq!(failed[0]["check"], "rotation");
    assert_eq!(failed[0]["target"], record.as_str());
    let detail = failed[0]["detail"].as_str().unwrap();
    assert!(
        detail.contains(&format!(
            "IAM user `dse-s3` to the new access key {}",
            PAIR_B.0
        )) && detail.contains("s3 rotate --create-aws-key --aws-iam-user dse-s3"),
        "{detail}"
    );

    // Those who may not read the record (a grant on the pair alone) are told it cannot be told,
    // and still offboard, warned that a record would be left.
    let rule: FaultRule = serde_json::from_value(json!({
        "method": "GET", "path_prefix": format!("/secrets/v1/secret/default/{record}"),
        "count": 1000, "status": 403,
    }))
    .unwrap();
    cluster.emulator.add_fault(rule);
    let status = cluster
        .admin(&["s3", "status", "--service-account", "dse", "-o", "json"])
        .expect(0);
    let doc = status.json();
    let rotation = doc["checks"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(rotation["check"], "rotation", "{doc}");
    assert_eq!(rotation["ok"], serde_json::Value::Null, "{doc}");
    let unread = offboard(&["--dry-run"]).expect(0);
    assert!(
        unread.stderr.contains(&format!("cannot read `{record}`")),
        "{}",
        unread.stderr
    );
    assert!(
        !unread.stdout().contains(".rotation"),
        "{}",
        unread.stdout()
    );
    cluster.emulator.clear_faults();

    let plan = offboard(&["--dry-run"]).expect(0);
    let steps = plan.json()["steps"].as_array().unwrap().clone();
    let last = steps.last().unwrap();
    assert_eq!(last["target"], record.as_str(), "{steps:?}");
    assert_eq!(last["outcome"], "would_delete");
    let note = last["notes"][0].as_str().unwrap();
    assert!(
        note.contains("unfinished rotation of IAM user `dse-s3`")
            && note.contains(&format!("new access key {} may still exist", PAIR_B.0)),
        "{note}"
    );
    // Kept secrets keep the record too.
    let kept = offboard(&["--keep-secrets", "--dry-run"]).expect(0);
    assert!(!kept.stdout().contains(".rotation"), "{}", kept.stdout());

    let run = offboard(&["-y"]).expect(0);
    assert!(!cluster.emulator.state().secrets.contains_key(&record));
    assert!(!run.stdout().contains(PAIR_B.1) && !run.stderr.contains(PAIR_B.1));
    assert_eq!(outcomes(&run.json()).last().unwrap(), "deleted");

    // Not a record of ours: not offboarding's to delete.
    onboard(&cluster, &[], PAIR_A).expect(0);
    let mut state = cluster.emulator.state();
    state
        .secrets
        .insert(record.clone(), Secret::Text("someone else's".into()));
    cluster.emulator.load_state(state);
    let run = offboard(&["-y"]).expect(0);
    assert_eq!(
        outcomes(&run.json()),
        [
            "revoked",
            "revoked",
            "not_granted",
            "not_granted",
            "deleted",
            "deleted"
        ]
    );
    assert!(cluster.emulator.state().secrets.contains_key(&record));
}

/// The Data Science Engine's app, its environment holding the pair.
/// Creates a Marathon app (201) through the API, as a superuser.
pub(crate) async fn create_app(cluster: &Cluster, app: serde_json::Value) {
    let (iam, _) = cluster.clients();
    let request = dcos_transport::Request::post("/service/marathon/v2/apps")
        .json(&app)
        .unwrap();
    let created = iam.transport().send(request).await.unwrap();
    assert_eq!(created.status(), 201);
}

pub(crate) async fn deploy_dse(cluster: &Cluster) {
    create_app(
        cluster,
        json!({
            "id": "/data-science-engine",
            "instances": 1,
            "env": {
                "AWS_ACCESS_KEY_ID": {"secret": "key"},
                "AWS_SECRET_ACCESS_KEY": {"secret": "secret"},
            },
            "secrets": {"key": {"source": KEY_ID}, "secret": {"source": SECRET_KEY}},
        }),
    )
    .await;
}

/// The key id the app's running task started with, as its SHA-256.
pub(crate) fn running_key_id(cluster: &Cluster) -> String {
    let tasks = cluster.emulator.marathon_tasks();
    assert_eq!(tasks.len(), 1, "{tasks:?}");
    tasks[0].env_sha256["AWS_ACCESS_KEY_ID"].clone()
}

pub(crate) fn sha256_hex(value: &str) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(value.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

pub(crate) async fn settle(cluster: &Cluster) {
    for _ in 0..300 {
        if cluster.emulator.marathon_tasks().len() == 1 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("the app never started");
}

/// Requirement (issue 17, step 5): `s3 rotate --restart` restarts the app and waits until its
/// task runs on the new pair; when the restart fails, the old pair is stored again and the
/// app restarted on it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotate_with_restart_leaves_the_service_on_a_working_pair() {
    let cluster = deployed().await;
    assert_eq!(running_key_id(&cluster), sha256_hex(PAIR_A.0));

    let run = rotate(&cluster, &["--restart", "-o", "json"], PAIR_B).expect(0);
    let report = run.json();
    let app = report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["kind"] == "app")
        .unwrap()
        .clone();
    assert_eq!(app["target"], "/data-science-engine");
    assert_eq!(app["outcome"], "restarted");
    assert_eq!(running_key_id(&cluster), sha256_hex(PAIR_B.0));

    // The restart fails: the pair goes back to B and the app runs on it, restarted again.
    let rule: FaultRule = serde_json::from_value(json!({
        "method": "POST", "path_prefix": "/service/marathon/v2/apps/data-science-engine/restart",
        "count": 1, "status": 500
    }))
    .unwrap();
    cluster.emulator.add_fault(rule);
    let failed = rotate(&cluster, &["--restart"], PAIR_A);
    assert_eq!(failed.code, 1, "{}", failed.stderr);
    assert!(
        failed
            .stderr
            .contains("restarted /data-science-engine on the previous pair"),
        "{}",
        failed.stderr
    );
    assert_eq!(pair_of(&cluster.emulator.state()), held(PAIR_B));
    assert_eq!(running_key_id(&cluster), sha256_hex(PAIR_B.0));

    // The app that is not there: nothing to restart, the pair put back.
    let missing = rotate(
        &cluster,
        &[
            "--restart",
            "--app-id",
            "/elsewhere",
            "--deploy-timeout",
            "2",
        ],
        PAIR_A,
    );
    assert_eq!(missing.code, 5, "{}", missing.stderr);
    assert_eq!(pair_of(&cluster.emulator.state()), held(PAIR_B));

    // An app whose tasks cannot start (a secret it needs is missing): the launch failure is
    // named, and the pair put back.
    let broken = json!({
        "id": "/data-science-engine/broken",
        "env": {"KEY": {"secret": "key"}, "OTHER": {"secret": "other"}},
        "secrets": {"key": {"source": KEY_ID}, "other": {"source": "data-science-engine/missing"}},
    });
    create_app(&cluster, broken).await;
    let failed = rotate(
        &cluster,
        &[
            "--restart",
            "--app-id",
            "data-science-engine/broken",
            "--deploy-timeout",
            "5",
        ],
        PAIR_A,
    );
    assert_eq!(failed.code, 1, "{}", failed.stderr);
    assert!(
        failed.stderr.contains(
            "did not start after the restart: Secret data-science-engine/missing not found"
        ),
        "{}",
        failed.stderr
    );
    assert_eq!(pair_of(&cluster.emulator.state()), held(PAIR_B));
    crate::harness::record(
        "s3 rotate --restart: a failed restart, an unknown app, a task that cannot start; the old pair stored and running again",
        3,
        3,
        3,
        0,
    );
}

/// Ctrl-C while `s3 rotate --restart` waits for the deployment: it stops at once (exit 130),
/// the new pair stays stored (the restart was sent), and the same command run again waits for
/// a restart and finishes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_while_waiting_for_the_restart_leaves_a_command_that_finishes() {
    let cluster = deployed().await;
    cluster.emulator.set_deploy_ms(60_000);

    let mut command = cluster.command();
    command
        .env("DCOS_ACS_TOKEN", &cluster.admin_token)
        .env("AWS_ACCESS_KEY_ID", PAIR_B.0)
        .env("AWS_SECRET_ACCESS_KEY", PAIR_B.1)
        .args(["s3", "rotate", "--from-env", "--restart"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let child = command.spawn().unwrap();
    // The restart is sent once the pair is stored; then the wait begins.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while pair_of(&cluster.emulator.state()) != held(PAIR_B)
        || cluster
            .emulator
            .counters()
            .requests
            .keys()
            .all(|r| !r.contains("deployments"))
    {
        assert!(std::time::Instant::now() < deadline, "the wait never began");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let started = std::time::Instant::now();
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "{stderr}"
    );
    assert!(
        stderr.contains("was sent, and its deployment not waited for"),
        "{stderr}"
    );
    assert!(stderr.contains("run the same command again"), "{stderr}");
    assert_eq!(pair_of(&cluster.emulator.state()), held(PAIR_B));

    cluster.emulator.set_deploy_ms(50);
    rotate(&cluster, &["--restart"], PAIR_B).expect(0);
    assert_eq!(running_key_id(&cluster), sha256_hex(PAIR_B.0));
}

/// Requirement (issue 27, the one journal): `s3 rotate --restart` killed at a random (seeded)
/// moment of the time a whole one takes (the pair written, the restart sent, the deployment
/// waited for) is finished by the same command run again: the new pair stored, whole, and the
/// app's task running on it. `RELIABILITY_KILLS` trials.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotation_with_restart_killed_anywhere_is_finished_by_the_next_run() {
    let trials = crate::harness::scale("RELIABILITY_KILLS", 4);
    let seed = crate::harness::scale("RELIABILITY_KILL_SEED", 7);
    let mut rng = fastrand::Rng::with_seed(seed);
    let slow = dcos_emulator::FaultConfig {
        latency_ms: 15,
        jitter_ms: 10,
        ..dcos_emulator::FaultConfig::default()
    };
    let command = |cluster: &Cluster| {
        let mut command = cluster.command();
        command
            .args(["-o", "json", "s3", "rotate", "--from-env", "--restart"])
            .env("DCOS_ACS_TOKEN", &cluster.admin_token)
            .env("AWS_ACCESS_KEY_ID", PAIR_B.0)
            .env("AWS_SECRET_ACCESS_KEY", PAIR_B.1)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        command
    };
    // How long a whole rotation with its restart takes here.
    let probe = deployed().await;
    probe.emulator.set_faults(slow.clone());
    let started = std::time::Instant::now();
    assert!(command(&probe).status().unwrap().success(), "the probe");
    let span = started.elapsed();
    let mut mixed = 0;
    for trial in 0..trials {
        let cluster = deployed().await;
        cluster.emulator.set_faults(slow.clone());
        let delay = span.mul_f64(rng.f64());
        let mut child = command(&cluster).spawn().unwrap();
        std::thread::sleep(delay);
        let _ = child.kill();
        let status = child.wait().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(100));
        let (id, key) = pair_of(&cluster.emulator.state());
        if (id.as_deref() == Some(PAIR_B.0)) != (key.as_deref() == Some(PAIR_B.1)) {
            mixed += 1;
        }
        let label =
            format!("trial {trial} (seed {seed}, killed after {delay:?} of {span:?}, {status})");
        let rerun = command(&cluster).status().unwrap();
        assert!(rerun.success(), "{label}: the rerun exited {rerun}");
        assert_eq!(pair_of(&cluster.emulator.state()), held(PAIR_B), "{label}");
        settle(&cluster).await;
        assert_eq!(running_key_id(&cluster), sha256_hex(PAIR_B.0), "{label}");
        eprintln!("{label}: converged");
    }
    crate::harness::record(
        &format!(
            "s3 rotate --restart: SIGKILL at a random moment, then the same command ({mixed} \
             kills left a mixed pair; every rerun stored the new pair and ran the app on it)"
        ),
        trials,
        trials,
        trials,
        0,
    );
}
