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
