//! `apply -f manifest` against the emulator: plan, apply, a second apply that changes nothing,
//! per-item failures undone while the others land, prune, and manifests refused before any
//! request.

use dcos_emulator::FaultRule;
use dcos_emulator::state::{Secret, State};
use serde_json::json;

use crate::harness::{Cluster, Run, record};

const KEY_ID: &str = "AKIAIOSFODNN7EXAMPLE";
const SECRET_KEY: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const DB_PASSWORD: &str = "db-password-canary-4711";
const FILE_VALUE: &str = "file-value-canary-0815";

/// A manifest of every kind of item: a generated account with its login secret, two secrets,
/// grants to a user and a group, and two onboardings writing their options.
const MANIFEST: &str = r#"
[[service_account]]
uid = "dse"
description = "Data Science Engine"
private_key_out = "dse.pem"
login_secret = "dse/sa"

[[secret]]
path = "team/db"
from_env = "DB_PASSWORD"

[[secret]]
path = "team/file"
from_file = "value.txt"

[[grant]]
user = "dse"
rid = "dcos:secrets:default:team/db"
action = "read"

[[grant]]
group = "data"
rid = "dcos:secrets:default:team/file"
action = "read"

[[s3]]
service_account = "dse"
service_account_secret = "dse/sa"
service_name = "dse"
credentials = { key_id_env = "KEY_ID", secret_key_env = "SECRET_KEY" }
out = "dse-options.json"

[[s3]]
service_account = "dse"
service_account_secret = "dse/sa"
service_name = "analytics"
key_id_secret = "analytics/key_id"
secret_key_secret = "analytics/secret_key"
allow_outside_space = true
grant_value_read = true
credentials = { key_id_env = "KEY_ID", secret_key_env = "SECRET_KEY" }
"#;

/// A cluster with the group `data`, the manifest and its value file in the scratch folder.
async fn cluster(manifest: &str) -> Cluster {
    let cluster = Cluster::start().await;
    let (iam, _) = cluster.clients();
    iam.group(&dcos_iam_client::Gid::new("data").unwrap())
        .create("data team")
        .await
        .unwrap();
    std::fs::write(cluster.path("cluster.toml"), manifest).unwrap();
    std::fs::write(cluster.path("value.txt"), FILE_VALUE).unwrap();
    cluster
}

fn apply(cluster: &Cluster, extra: &[&str]) -> Run {
    apply_with(cluster, DB_PASSWORD, extra)
}

fn text(state: &State, path: &str) -> Option<String> {
    state.secrets.get(path).map(|s| match s {
        Secret::Text(t) => t.clone(),
        Secret::Binary(_) => panic!("{path} is binary"),
    })
}

fn user_holds(state: &State, rid: &str, uid: &str, action: &str) -> bool {
    state
        .acls
        .get(rid)
        .and_then(|acl| acl.users.get(uid))
        .is_some_and(|actions| actions.contains(action))
}

fn assert_no_values(run: &Run) {
    for value in [KEY_ID, SECRET_KEY, DB_PASSWORD, FILE_VALUE, "PRIVATE KEY"] {
        assert!(!run.stdout().contains(value), "stdout holds a value");
        assert!(!run.stderr.contains(value), "stderr holds a value");
    }
}

fn item<'a>(report: &'a serde_json::Value, kind: &str, name: &str) -> &'a serde_json::Value {
    report["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["kind"] == kind && i["name"] == name)
        .unwrap_or_else(|| panic!("no item {kind} {name} in {report:#}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manifest_is_planned_applied_and_then_unchanged() {
    let cluster = cluster(MANIFEST).await;
    let (before, writes) = (cluster.emulator.state(), cluster.writes());

    // The plan: every change, values by fingerprint only, and nothing written.
    let plan = apply(&cluster, &["--dry-run", "-o", "json"]).expect(0);
    assert_no_values(&plan);
    let report = plan.json();
    assert_eq!(report["result"], "would_change");
    assert_eq!(report["items"].as_array().unwrap().len(), 7);
    assert!(
        report["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["result"] == "would_change")
    );
    let secret = item(&report, "secret", "team/db");
    assert_eq!(secret["steps"][0]["outcome"], "would_create");
    assert!(
        secret["steps"][0]["fingerprint"]
            .as_str()
            .unwrap()
            .starts_with("hmac:")
    );
    assert_eq!(cluster.writes(), writes);
    assert_eq!(cluster.emulator.state(), before);
    assert!(!cluster.path("dse.pem").exists());
    assert!(!cluster.path("dse-options.json").exists());

    // Apply.
    let run = apply(&cluster, &[]).expect(0);
    assert_no_values(&run);
    assert!(
        run.stderr
            .contains("7 items, 7 changed, 0 unchanged, 0 failed"),
        "{}",
        run.stderr
    );
    let state = cluster.emulator.state();
    assert!(state.accounts["dse"].is_service());
    assert_eq!(text(&state, "team/db").as_deref(), Some(DB_PASSWORD));
    assert_eq!(text(&state, "team/file").as_deref(), Some(FILE_VALUE));
    assert_eq!(
        text(&state, "dse/aws_access_key_id").as_deref(),
        Some(KEY_ID)
    );
    assert_eq!(
        text(&state, "analytics/secret_key").as_deref(),
        Some(SECRET_KEY)
    );
    let login = text(&state, "dse/sa").unwrap();
    let login: serde_json::Value = serde_json::from_str(&login).unwrap();
    assert_eq!(login["uid"], "dse");
    let key = std::fs::read_to_string(cluster.path("dse.pem")).unwrap();
    assert_eq!(
        login["private_key"],
        key.as_str(),
        "the login secret holds the written key"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(cluster.path("dse.pem"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    assert!(user_holds(
        &state,
        "dcos:secrets:default:team/db",
        "dse",
        "read"
    ));
    assert!(
        state.acls["dcos:secrets:default:team/file"].groups["data"].contains("read"),
        "the group's grant"
    );
    for rid in [
        "dcos:secrets:list:default:dse/aws_access_key_id",
        "dcos:secrets:list:default:analytics/key_id",
        "dcos:secrets:default:analytics/secret_key",
    ] {
        assert!(user_holds(&state, rid, "dse", "read"), "{rid}");
    }
    assert!(
        !user_holds(
            &state,
            "dcos:secrets:default:dse/aws_access_key_id",
            "dse",
            "read"
        ),
        "no value read without grant_value_read"
    );
    let options: serde_json::Value =
        serde_json::from_slice(&std::fs::read(cluster.path("dse-options.json")).unwrap()).unwrap();
    assert_eq!(
        options["storage"]["s3"]["aws_access_key_id"],
        "dse/aws_access_key_id"
    );
    assert_eq!(options["service"]["service_account"], "dse");

    // A second apply changes nothing and writes nothing; the key file is read, not replaced.
    let writes = cluster.writes();
    let again = apply(&cluster, &["-o", "json"]).expect(0);
    let report = again.json();
    assert_eq!(report["result"], "unchanged", "{report:#}");
    assert_eq!(report["changes"], 0);
    assert_eq!(cluster.writes(), writes, "a second apply writes nothing");
    assert_eq!(cluster.emulator.state(), state);
    assert_eq!(
        std::fs::read_to_string(cluster.path("dse.pem")).unwrap(),
        key
    );

    // A changed value is planned as an update, by fingerprints, and applied.
    let run = cluster.run_with(
        &["apply", "-f", "cluster.toml", "--dry-run"],
        &[
            ("DCOS_ACS_TOKEN", &cluster.admin_token),
            ("DB_PASSWORD", "a-new-password"),
            ("KEY_ID", KEY_ID),
            ("SECRET_KEY", SECRET_KEY),
        ],
        None,
    );
    let run = run.expect(0);
    assert!(
        run.stderr
            .contains("would update     secret team/db (hmac:"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains(" -> hmac:"), "{}", run.stderr);
    assert!(!run.stderr.contains("a-new-password"));
    assert_eq!(cluster.writes(), writes);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_item_is_undone_and_the_others_land() {
    let cluster = cluster(MANIFEST).await;
    // Every write of the analytics key id fails after it was stored.
    let rule: FaultRule = serde_json::from_value(json!({
        "method": "PUT", "path_prefix": "/secrets/v1/secret/default/analytics/key_id",
        "count": 1000, "status": 500, "phase": "after"
    }))
    .unwrap();
    cluster.emulator.add_fault(rule);
    let run = apply(&cluster, &["-o", "json"]).expect(7);
    assert_no_values(&run);
    assert!(run.stderr.contains("1 of 7 items failed"), "{}", run.stderr);
    let report = run.json();
    assert_eq!(report["result"], "failed");
    assert_eq!(report["failed"], 1);
    let failed = item(&report, "s3", "analytics");
    assert_eq!(failed["result"], "failed");
    assert!(
        failed["error"].as_str().unwrap().contains("undone"),
        "{failed:#}"
    );
    assert_eq!(item(&report, "s3", "dse")["result"], "changed");

    // The failed onboarding left nothing behind; everything else is there.
    let state = cluster.emulator.state();
    for path in ["analytics/key_id", "analytics/secret_key"] {
        assert!(!state.secrets.contains_key(path), "{path} was not undone");
    }
    assert!(
        state.acls.keys().all(|rid| !rid.contains("analytics")),
        "{:?}",
        state.acls.keys()
    );
    assert_eq!(
        text(&state, "dse/aws_access_key_id").as_deref(),
        Some(KEY_ID)
    );
    assert_eq!(text(&state, "team/db").as_deref(), Some(DB_PASSWORD));

    // Without the fault the same manifest converges, touching only what was missing.
    cluster.emulator.clear_faults();
    let report = apply(&cluster, &["-o", "json"]).expect(0).json();
    assert_eq!(item(&report, "s3", "analytics")["result"], "changed");
    assert_eq!(item(&report, "s3", "dse")["result"], "unchanged");
    assert_eq!(item(&report, "secret", "team/db")["result"], "unchanged");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_principal_fails_its_item_only() {
    let manifest = r#"
[[secret]]
path = "team/db"
from_env = "DB_PASSWORD"

[[grant]]
user = "nobody"
rid = "dcos:secrets:default:team/db"
action = "read"

[[s3]]
service_account = "ghost"
service_account_secret = "data-science-engine/sa"
credentials = { key_id_env = "KEY_ID", secret_key_env = "SECRET_KEY" }
"#;
    let cluster = cluster(manifest).await;
    let run = apply(&cluster, &["-o", "json"]).expect(7);
    let report = run.json();
    let grant = &report["items"][1];
    assert_eq!(grant["result"], "failed");
    assert!(
        grant["error"]
            .as_str()
            .unwrap()
            .contains("user `nobody` does not exist")
    );
    let s3 = item(&report, "s3", "data-science-engine");
    assert!(
        s3["error"]
            .as_str()
            .unwrap()
            .contains("`ghost` does not exist")
    );
    let state = cluster.emulator.state();
    assert_eq!(text(&state, "team/db").as_deref(), Some(DB_PASSWORD));
    assert!(!state.acls.contains_key("dcos:secrets:default:team/db"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prune_revokes_only_undeclared_grants_on_declared_resources() {
    let manifest = r#"
[[grant]]
group = "data"
rid = "dcos:secrets:default:team/db"
action = "read"
"#;
    let cluster = cluster(manifest).await;
    apply(&cluster, &[]).expect(0);
    // Grants nobody declared: one on the declared resource, one elsewhere.
    cluster
        .admin(&[
            "grant",
            "--user",
            "bootstrapuser",
            "dcos:secrets:default:team/db",
            "full",
        ])
        .expect(0);
    cluster
        .admin(&[
            "grant",
            "--group",
            "data",
            "dcos:secrets:default:other",
            "read",
        ])
        .expect(0);
    let before = cluster.emulator.state();

    // Without --prune they stay; with --dry-run they are shown.
    let report = apply(&cluster, &["-o", "json"]).expect(0).json();
    assert_eq!(report["result"], "unchanged");
    let run = apply(&cluster, &["--prune", "--dry-run"]).expect(0);
    assert!(
        run.stderr
            .contains("would revoke     full on dcos:secrets:default:team/db to bootstrapuser"),
        "{}",
        run.stderr
    );
    assert_eq!(cluster.emulator.state(), before);

    // Revoking what nobody declared is confirmed: without a terminal, --yes says so.
    let refused = apply(&cluster, &["--prune", "-o", "json"]).expect(2);
    assert!(
        refused.stderr.contains("not without --yes"),
        "{}",
        refused.stderr
    );
    assert_eq!(cluster.emulator.state(), before);

    let report = apply(&cluster, &["--prune", "-o", "json", "--yes"])
        .expect(0)
        .json();
    assert_eq!(
        item(&report, "prune", "dcos:secrets:default:team/db")["result"],
        "changed"
    );
    let state = cluster.emulator.state();
    let acl = &state.acls["dcos:secrets:default:team/db"];
    assert!(acl.users.get("bootstrapuser").is_none_or(|a| a.is_empty()));
    assert!(
        acl.groups["data"].contains("read"),
        "the declared grant stays"
    );
    assert!(
        state.acls["dcos:secrets:default:other"].groups["data"].contains("read"),
        "resources the manifest does not name are left alone"
    );
    let again = apply(&cluster, &["--prune", "-o", "json"]).expect(0).json();
    assert_eq!(again["changes"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_manifests_are_refused_before_any_request() {
    let cases: [(&str, &str); 7] = [
        (
            "[[secret]]\npath = \"a\"\nvalue = \"literal-canary-99\"\n",
            "literal value is not allowed",
        ),
        ("[[secret]]\npath = \"a\"\nfrom_envv = \"X\"\n", "line 3"),
        (
            "[[secret]]\npath = \"a\"\nfrom_env = \"NOT_SET_ANYWHERE\"\n",
            "NOT_SET_ANYWHERE is not set",
        ),
        (
            "[[secret]]\npath = \"a\"\nfrom_env = \"DB_PASSWORD\"\n[[secret]]\npath = \"a\"\nfrom_file = \"value.txt\"\n",
            "declares the secret `a` twice",
        ),
        (
            "[[grant]]\nuser = \"u\"\nrid = \"dcos:x\"\naction = \"fly\"\n",
            "action `fly` is not one of",
        ),
        (
            "[[s3]]\nservice_account = \"dse\"\nservice_account_secret = \"x/sa\"\ncredentials = {}\n",
            "s3 #1 (data-science-engine)",
        ),
        ("[[secret]\n", "is not valid"),
    ];
    let tried = cases.len() as u64;
    for (manifest, expected) in cases {
        let cluster = cluster(manifest).await;
        let requests = cluster.emulator.counters().total;
        let run = apply(&cluster, &[]).expect(2);
        assert!(run.stderr.contains(expected), "{manifest}\n{}", run.stderr);
        assert!(!run.stderr.contains("literal-canary"), "{}", run.stderr);
        assert_eq!(cluster.emulator.counters().total, requests, "{manifest}");
    }
    let cluster = cluster("").await;
    let run = cluster.run_with(
        &["apply", "-f", "missing.toml"],
        &[("DCOS_ACS_TOKEN", &cluster.admin_token)],
        None,
    );
    let run = run.expect(2);
    assert!(
        run.stderr.contains("cannot read the manifest"),
        "{}",
        run.stderr
    );
    let run = cluster.run_with(
        &["apply", "-f", "cluster.toml", "--concurrency", "0"],
        &[("DCOS_ACS_TOKEN", &cluster.admin_token)],
        None,
    );
    let run = run.expect(2);
    assert!(
        run.stderr.contains("--concurrency must be at least 1"),
        "{}",
        run.stderr
    );
    record(
        "malformed manifests refused with exit 2 before any request",
        tried,
        tried,
        tried,
        0,
    );
}

/// `apply` with `DB_PASSWORD` set to `password`.
fn apply_with(cluster: &Cluster, password: &str, extra: &[&str]) -> Run {
    let mut args = vec!["apply", "-f", "cluster.toml"];
    args.extend_from_slice(extra);
    cluster.run_with(
        &args,
        &[
            ("DCOS_ACS_TOKEN", &cluster.admin_token),
            ("DB_PASSWORD", password),
            ("KEY_ID", KEY_ID),
            ("SECRET_KEY", SECRET_KEY),
        ],
        None,
    )
}

/// Requirement (issue 27): `apply --plan-out FILE` saves the plan (0600, none of the
/// manifest's values, never over a file); `apply --plan FILE` executes it, after which
/// `--check` finds nothing to do. A planned secret changed in the cluster in between is drift:
/// exit 8, nothing written. A plan is refused for another cluster or other options.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_saved_plan_runs_as_reviewed_or_not_at_all() {
    use std::os::unix::fs::PermissionsExt;
    let cluster = cluster(MANIFEST).await;
    let before = cluster.emulator.state();
    apply_with(&cluster, DB_PASSWORD, &["--plan-out", "plan.json"]).expect(0);
    assert_eq!(
        cluster.emulator.state(),
        before,
        "--plan-out changed the cluster"
    );
    let saved = std::fs::read_to_string(cluster.path("plan.json")).unwrap();
    for value in [DB_PASSWORD, FILE_VALUE, SECRET_KEY] {
        assert!(!saved.contains(value), "the plan holds a value: {saved}");
    }
    let mode = std::fs::metadata(cluster.path("plan.json"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let again = apply_with(&cluster, DB_PASSWORD, &["--plan-out", "plan.json"]);
    assert_ne!(again.code, 0, "a plan was written over another");

    apply_with(&cluster, DB_PASSWORD, &["--plan", "plan.json"]).expect(0);
    apply_with(&cluster, DB_PASSWORD, &["--check"]).expect(0);

    // A new password planned; someone writes another value to the secret before it runs.
    apply_with(
        &cluster,
        "db-password-2",
        &["--plan-out", "plan2.json", "--check"],
    )
    .expect(8);
    let mut state = cluster.emulator.state();
    state
        .secrets
        .insert("team/db".into(), Secret::Text("written-meanwhile".into()));
    cluster.emulator.load_state(state);
    let moved = cluster.emulator.state();
    let drift = apply_with(&cluster, "db-password-2", &["--plan", "plan2.json"]).expect(8);
    assert!(drift.stderr.contains("team/db"), "{}", drift.stderr);
    assert_eq!(
        cluster.emulator.state(),
        moved,
        "a drifted plan wrote something"
    );
    // Another value in the environment than the one planned is drift too.
    let other = apply_with(&cluster, "db-password-3", &["--plan", "plan2.json"]).expect(8);
    assert!(other.stderr.contains("team/db"), "{}", other.stderr);
    // The same plan with other options, or for another cluster, is refused.
    apply_with(
        &cluster,
        "db-password-2",
        &["--plan", "plan2.json", "--prune"],
    )
    .expect(2);
    let elsewhere = saved.replace(cluster.url(), "https://elsewhere.example");
    std::fs::write(cluster.path("elsewhere.json"), elsewhere).unwrap();
    apply_with(&cluster, DB_PASSWORD, &["--plan", "elsewhere.json"]).expect(2);
    assert_eq!(cluster.emulator.state(), moved);
    record(
        "apply --plan: a secret written after --plan-out, another value in the environment \
         (exit 8), other --prune, another cluster (exit 2): nothing written",
        4,
        4,
        4,
        0,
    );
}
