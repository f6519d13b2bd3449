//! Who uses a secret (issue 29): `secret consumers` names every Marathon app and pod that
//! takes it, and how; `secret delete` refuses a used secret unless forced.

use serde_json::json;

use crate::harness::Cluster;
use crate::s3::create_app;

const KEY_ID: &str = "shared/aws_access_key_id";
const SECRET_KEY: &str = "shared/aws_secret_access_key";

/// Three apps and a pod sharing one key pair, by variable and by file, and an app that uses
/// something else.
async fn sharing(cluster: &Cluster) {
    for (path, value) in [(KEY_ID, "AKIASHARED"), (SECRET_KEY, "shared-secret")] {
        cluster
            .admin_stdin(
                &["secret", "create", path, "--value-file", "-"],
                value.as_bytes(),
            )
            .expect(0);
    }
    let secrets = json!({"id": {"source": KEY_ID}, "key": {"source": SECRET_KEY}});
    create_app(
        cluster,
        json!({"id": "/shared/engine", "secrets": secrets,
               "env": {"AWS_ACCESS_KEY_ID": {"secret": "id"}, "AWS_SECRET_ACCESS_KEY": {"secret": "key"}}}),
    )
    .await;
    create_app(
        cluster,
        json!({"id": "/shared/jobs/nightly", "secrets": secrets,
               "env": {"AWS_ACCESS_KEY_ID": {"secret": "id"}},
               "container": {"volumes": [{"containerPath": "aws/secret", "secret": "key"}]}}),
    )
    .await;
    create_app(
        cluster,
        json!({"id": "/shared/scheduler",
               "env": {"TASKCFG_ALL_AWS_SECRET_NAMES": format!("{KEY_ID},{SECRET_KEY}")}}),
    )
    .await;
    create_app(cluster, json!({"id": "/other", "env": {"X": "y"}})).await;
    let (iam, _) = cluster.clients();
    let pod = json!({
        "id": "/shared/trainer",
        "secrets": secrets,
        "environment": {"AWS_ACCESS_KEY_ID": {"secret": "id"}},
        "containers": [{"name": "worker", "volumeMounts": [{"name": "creds", "mountPath": "creds/key"}]}],
        "volumes": [{"name": "creds", "secret": "key"}],
    });
    let request = dcos_transport::Request::post("/service/marathon/v2/pods")
        .json(&pod)
        .unwrap();
    assert_eq!(iam.transport().send(request).await.unwrap().status(), 201);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secret_consumers_names_every_app_and_pod_and_how_they_use_it() {
    let cluster = Cluster::start().await;
    sharing(&cluster).await;
    let listed = cluster
        .admin(&["-o", "json", "secret", "consumers", SECRET_KEY])
        .expect(0)
        .json();
    assert_eq!(
        listed,
        json!({"path": SECRET_KEY, "consumers": [
            {"kind": "app", "id": "/shared/engine", "as": "env", "name": "AWS_SECRET_ACCESS_KEY"},
            {"kind": "app", "id": "/shared/jobs/nightly", "as": "file", "name": "aws/secret"},
            {"kind": "app", "id": "/shared/scheduler", "as": "scheduler",
             "name": "TASKCFG_ALL_AWS_SECRET_NAMES"},
            {"kind": "pod", "id": "/shared/trainer", "as": "file", "name": "creds/key"},
        ]})
    );
    let text = cluster.admin(&["secret", "consumers", KEY_ID]).expect(0);
    assert!(text.stdout().starts_with("KIND  ID"), "{}", text.stdout());
    for line in [
        "app   /shared/engine        env        AWS_ACCESS_KEY_ID",
        "pod   /shared/trainer       env        AWS_ACCESS_KEY_ID",
    ] {
        assert!(text.stdout().contains(line), "{}", text.stdout());
    }
    // None: exit 0, and it says so; a secret that does not exist may still be named.
    let none = cluster
        .admin(&["secret", "consumers", "other/thing"])
        .expect(0);
    assert_eq!(none.stdout(), "no Marathon app or pod uses other/thing\n");
    // Without Marathon's permission: exit 4, naming what it could not read.
    let token = cluster.emulator.issue_token("nobody").unwrap();
    let denied = cluster.run_with(
        &["secret", "consumers", KEY_ID],
        &[("DCOS_ACS_TOKEN", &token)],
        None,
    );
    let denied = denied.expect(4);
    assert!(
        denied.stderr.contains("Marathon's apps"),
        "{}",
        denied.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_used_secret_is_not_deleted_unless_forced() {
    let cluster = Cluster::start().await;
    sharing(&cluster).await;
    let before = cluster.emulator.state();
    let refused = cluster
        .admin(&["-o", "json", "secret", "delete", KEY_ID, "--yes"])
        .expect(3);
    assert_eq!(refused.json()["error"]["kind"], "conflict");
    for used in [
        "by app /shared/engine (env AWS_ACCESS_KEY_ID)",
        "by app /shared/jobs/nightly (env AWS_ACCESS_KEY_ID)",
        "by app /shared/scheduler (scheduler TASKCFG_ALL_AWS_SECRET_NAMES)",
        "by pod /shared/trainer (env AWS_ACCESS_KEY_ID)",
    ] {
        assert!(refused.stderr.contains(used), "{}", refused.stderr);
    }
    assert!(refused.stderr.contains("hint:") && refused.stderr.contains("--force"));
    assert_eq!(cluster.emulator.state(), before);

    let forced = cluster
        .admin(&["-o", "json", "secret", "delete", KEY_ID, "--force", "--yes"])
        .expect(0);
    assert_eq!(forced.json()["outcome"], "deleted");
    assert!(!cluster.emulator.state().secrets.contains_key(KEY_ID));
    // A secret nobody uses needs no --force.
    cluster
        .admin_stdin(&["secret", "create", "free/key", "--value-file", "-"], b"v")
        .expect(0);
    cluster
        .admin(&["secret", "delete", "free/key", "--yes"])
        .expect(0);
}

/// The README's layout: the account `dse`, its login secret in the engine's folder, the pair
/// onboarded, and the engine's app as the package renders it (its login secret as a file, the
/// pair named for the tasks its scheduler launches).
async fn readme_layout() -> Cluster {
    let cluster = Cluster::start().await;
    cluster
        .admin(&[
            "service-account",
            "create",
            "dse",
            "--private-key-out",
            "dse.pem",
            "--secret",
            "data-science-engine/service-account",
        ])
        .expect(0);
    let pair = (
        "AKIAIOSFODNN7EXAMPLE",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    );
    let env = [
        ("DCOS_ACS_TOKEN", cluster.admin_token.as_str()),
        ("AWS_ACCESS_KEY_ID", pair.0),
        ("AWS_SECRET_ACCESS_KEY", pair.1),
    ];
    let onboard = [
        "s3",
        "onboard",
        "--service-account",
        "dse",
        "--service-account-secret",
        "data-science-engine/service-account",
        "--from-env",
    ];
    cluster.run_with(&onboard, &env, None).expect(0);
    create_app(
        &cluster,
        json!({
            "id": "/data-science-engine",
            "container": {"volumes": [
                {"containerPath": "secrets/service-account.json", "secret": "serviceCredential"},
            ]},
            "secrets": {"serviceCredential": {"source": "data-science-engine/service-account"}},
            "env": {
                "TASKCFG_ALL_AWS_SECRET_NAMES":
                    "data-science-engine/aws_access_key_id,data-science-engine/aws_secret_access_key",
            },
        }),
    )
    .await;
    cluster
}

fn findings(cluster: &Cluster) -> serde_json::Value {
    cluster.admin(&["-o", "json", "audit"]).expect(0).json()["findings"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_of_the_readme_layout_finds_nothing_and_a_broken_app_exactly_its_faults() {
    let cluster = readme_layout().await;
    // No orphan (the engine uses every secret), and `dse`'s login secret found by content.
    assert_eq!(findings(&cluster), json!([]));
    let audit = cluster.admin(&["-o", "json", "audit"]).expect(0).json();
    let login = audit["secrets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["path"] == "data-science-engine/service-account")
        .unwrap()
        .clone();
    assert_eq!(
        login["consumers"],
        json!([{"kind": "app", "id": "/data-science-engine", "as": "file",
                "name": "secrets/service-account.json"}])
    );
    // The HTML page's "Used by" column, and the filter's data.
    cluster.admin(&["audit", "--html", "audit.html"]).expect(0);
    let page = std::fs::read_to_string(cluster.path("audit.html")).unwrap();
    let row = "<tr data-secret=\"data-science-engine/service-account\" \
               data-used=\"app /data-science-engine (file secrets/service-account.json)\">";
    assert!(page.contains(row), "no row {row}");
    assert!(page.contains("<th class=\"used\" data-col=\"1\">Used by</th>"));
    // `access` prints the uses under the readers.
    let access = cluster
        .admin(&["access", "data-science-engine/aws_access_key_id"])
        .expect(0);
    let used = &access.stdout()[access.stdout().find("Used by:").unwrap()..];
    assert!(
        used.contains("app   /data-science-engine  scheduler  TASKCFG_ALL_AWS_SECRET_NAMES"),
        "{used}"
    );

    // An app whose secret is missing, and one declared outside its space (as an app deployed
    // before the secret moved would be): exactly those two findings.
    let mut state = cluster.emulator.state();
    state.apps.insert(
        "/broken".into(),
        json!({
            "id": "/broken",
            "secrets": {"a": {"source": "broken/missing"}, "b": {"source": "data-science-engine/aws_access_key_id"}},
            "env": {"A": {"secret": "a"}, "B": {"secret": "b"}},
        }),
    );
    cluster.emulator.load_state(state);
    assert_eq!(
        findings(&cluster),
        json!([
            {"kind": "missing_secret", "consumer": "app", "id": "/broken", "path": "broken/missing"},
            {"kind": "out_of_space", "consumer": "app", "id": "/broken",
             "path": "data-science-engine/aws_access_key_id"},
        ])
    );
    let text = cluster.admin(&["audit"]).expect(0);
    assert!(
        text.stdout()
            .contains("app /broken uses broken/missing, which does not exist"),
        "{}",
        text.stdout()
    );
}

fn sha256_hex(value: &str) -> String {
    crate::s3::sha256_hex(value)
}

/// Each running consumer of the shared pair, with the SHA-256 of what it was given: `(id,
/// where, sha256)`, sorted.
fn running(cluster: &Cluster) -> Vec<(String, String, String)> {
    let mut given = Vec::new();
    for task in cluster.emulator.marathon_tasks() {
        let vars = task
            .env_sha256
            .iter()
            .filter(|(k, _)| k.starts_with("AWS_"));
        for (name, sha) in vars.chain(task.file_sha256.iter()) {
            given.push((task.id.clone(), name.clone(), sha.clone()));
        }
    }
    given.sort();
    given
}

/// What each consumer holds when it runs on the pair `(id, secret)`.
fn on_pair((id, secret): (&str, &str)) -> Vec<(String, String, String)> {
    let (id, secret) = (sha256_hex(id), sha256_hex(secret));
    let mut given: Vec<(String, String, String)> = [
        ("/shared/engine", "AWS_ACCESS_KEY_ID", &id),
        ("/shared/engine", "AWS_SECRET_ACCESS_KEY", &secret),
        ("/shared/jobs/nightly", "AWS_ACCESS_KEY_ID", &id),
        ("/shared/jobs/nightly", "aws/secret", &secret),
        ("/shared/trainer", "AWS_ACCESS_KEY_ID", &id),
        ("/shared/trainer", "creds/key", &secret),
    ]
    .into_iter()
    .map(|(a, b, c)| (a.to_owned(), b.to_owned(), c.clone()))
    .collect();
    given.sort();
    given
}

/// `s3 rotate --restart` of the shared pair, the new one from the environment.
fn rotate(cluster: &Cluster, (id, secret): (&str, &str)) -> crate::harness::Run {
    let args = [
        "s3",
        "rotate",
        "--from-env",
        "--key-id-secret",
        KEY_ID,
        "--secret-key-secret",
        SECRET_KEY,
        "--restart",
        "--deploy-timeout",
        "30",
    ];
    let env = [
        ("DCOS_ACS_TOKEN", cluster.admin_token.as_str()),
        ("AWS_ACCESS_KEY_ID", id),
        ("AWS_SECRET_ACCESS_KEY", secret),
    ];
    cluster.run_with(&args, &env, None)
}

/// Waits until every consumer runs, the first deployments done.
async fn all_running(cluster: &Cluster) {
    for _ in 0..300 {
        let ids: std::collections::BTreeSet<String> =
            (cluster.emulator.marathon_tasks().into_iter())
                .map(|t| t.id)
                .collect();
        if ids.len() == 5 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("the consumers never all ran");
}

const OLD: (&str, &str) = ("AKIASHARED", "shared-secret");
const NEW: (&str, &str) = ("AKIANEWPAIR0000000001", "new-shared-secret");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotation_restarts_every_consumer_and_a_failed_one_rolls_all_back() {
    let cluster = Cluster::start().await;
    sharing(&cluster).await;
    all_running(&cluster).await;
    assert_eq!(running(&cluster), on_pair(OLD));

    // One restart refused: the pair is put back and every consumer runs on the old one again.
    let refused: dcos_emulator::FaultRule = serde_json::from_value(json!({
        "method": "POST", "path_prefix": "/service/marathon/v2/apps/shared/jobs/nightly/restart",
        "count": 1, "status": 409
    }))
    .unwrap();
    cluster.emulator.add_fault(refused);
    let failed = rotate(&cluster, NEW);
    assert_ne!(failed.code, 0, "{}", failed.stderr);
    assert!(
        failed.stderr.contains("on the previous pair"),
        "{}",
        failed.stderr
    );
    let state = cluster.emulator.state();
    assert_eq!(crate::s3::text(&state, KEY_ID).as_deref(), Some(OLD.0));
    assert_eq!(running(&cluster), on_pair(OLD));

    // Then the rotation: every app and the pod restarted, each on the new pair.
    let before: Vec<String> = (cluster.emulator.marathon_tasks().into_iter())
        .map(|t| t.task_id)
        .collect();
    let run = rotate(&cluster, NEW).expect(0);
    for restarted in [
        "app /shared/engine",
        "app /shared/jobs/nightly",
        "app /shared/scheduler",
        "pod /shared/trainer",
    ] {
        assert!(run.stdout().contains(restarted), "{}", run.stdout());
    }
    assert!(!run.stdout().contains("/other"), "{}", run.stdout());
    assert_eq!(running(&cluster), on_pair(NEW));
    let after = cluster.emulator.marathon_tasks();
    let other = after.iter().find(|t| t.id == "/other").unwrap();
    assert!(
        before.contains(&other.task_id),
        "an app that does not use the pair was restarted"
    );
    let scheduler = after.iter().find(|t| t.id == "/shared/scheduler").unwrap();
    assert!(
        !before.contains(&scheduler.task_id),
        "the scheduler was not restarted"
    );
}
