//! Marathon's apps: created, listed, read, replaced and removed; secrets outside the app's
//! space refused with 422; a token with Marathon's permission required.

use dcos_emulator::Emulator;
use serde_json::json;

use crate::{grant, start, user};

const APPS: &str = "/service/marathon/v2/apps";

fn dse(source: &str) -> serde_json::Value {
    json!({
        "id": "data-science-engine",
        "cmd": "sleep 1000",
        "instances": 1,
        "env": {"AWS_ACCESS_KEY_ID": {"secret": "key"}},
        "secrets": {"key": {"source": source}},
        "labels": {"DCOS_PACKAGE_NAME": "data-science-engine"},
    })
}

#[tokio::test]
async fn apps_are_kept_as_given_and_answer_like_marathon() {
    let (emulator, root) = start(Emulator::builder()).await;
    let created = root
        .post_json(APPS, dse("data-science-engine/aws_access_key_id"))
        .await;
    created.expect(201, None);
    // Marathon answers the definition, its defaults filled in, and the deployment it started.
    let definition = created.json();
    assert!(definition["version"].is_string());
    assert_eq!(definition["executor"], "");
    assert_eq!(definition["mem"], 128.0);
    assert_eq!(definition["env"]["AWS_ACCESS_KEY_ID"]["secret"], "key");
    let deployment = definition["deployments"][0]["id"].as_str().unwrap();
    assert_eq!(created.headers["marathon-deployment-id"], deployment);
    root.post_json(APPS, dse("data-science-engine/aws_access_key_id"))
        .await
        .expect(409, None);

    let app = root.get(&format!("{APPS}/data-science-engine")).await;
    app.expect(200, None);
    let app = &app.json()["app"];
    assert_eq!(app["id"], "/data-science-engine");
    assert_eq!(app["labels"]["DCOS_PACKAGE_NAME"], "data-science-engine");
    assert_eq!(
        app["secrets"]["key"]["source"],
        "data-science-engine/aws_access_key_id"
    );
    let listed = root.get(APPS).await;
    listed.expect(200, None);
    assert_eq!(listed.json()["apps"][0]["id"], "/data-science-engine");
    assert!(emulator.state().apps.contains_key("/data-science-engine"));

    // Replaced (200), then removed; then unknown (404 with Marathon's message).
    root.put_json(&format!("{APPS}/data-science-engine"), dse("aws_key"))
        .await
        .expect(200, None);
    root.delete(&format!("{APPS}/data-science-engine"))
        .await
        .expect(200, None);
    let gone = root.get(&format!("{APPS}/data-science-engine")).await;
    gone.expect(404, None);
    assert_eq!(
        gone.json()["message"],
        "App '/data-science-engine' does not exist"
    );
    emulator.shutdown().await;
}

#[tokio::test]
async fn a_secret_outside_the_space_of_the_app_is_refused() {
    let (emulator, root) = start(Emulator::builder()).await;
    for source in ["other/aws_key", "data-science-engine/x/aws_key"] {
        let refused = root.post_json(APPS, dse(source)).await;
        refused.expect(422, None);
        assert_eq!(
            refused.json()["details"][0]["errors"][0],
            format!("Secret {source} is not accessible")
        );
    }
    assert!(emulator.state().apps.is_empty());
    emulator.shutdown().await;
}

#[tokio::test]
async fn marathon_needs_a_token_with_its_permission() {
    let (emulator, root) = start(Emulator::builder()).await;
    crate::Caller::new(emulator.url())
        .get(APPS)
        .await
        .expect(401, None);
    let alice = user(&root, "alice").await;
    alice.get(APPS).await.expect(403, None);
    grant(&root, "dcos:adminrouter:service:marathon", "alice", "full").await;
    alice.get(APPS).await.expect(200, None);
    emulator.shutdown().await;
}

/// Waits until the app has no deployment in progress; returns its `GET /apps/{id}` document.
async fn settled(root: &crate::Caller, id: &str) -> serde_json::Value {
    for _ in 0..200 {
        let app = root.get(&format!("{APPS}/{id}")).await.json()["app"].clone();
        if app["deployments"].as_array().is_some_and(Vec::is_empty) {
            return app;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("the deployment of {id} never finished");
}

fn sha256_hex(value: &str) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(value.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[tokio::test]
async fn deployments_launch_tasks_with_the_secrets_of_their_moment() {
    let (emulator, root) = start(Emulator::builder().deploy_ms(50).control_api(true)).await;
    let secret = "/secrets/v1/secret/default/data-science-engine/aws_access_key_id";
    root.put_json(secret, json!({"value": "AKIAFIRST"}))
        .await
        .expect(201, None);
    let mut app = dse("data-science-engine/aws_access_key_id");
    app["instances"] = json!(2);
    let created = root.post_json(APPS, app).await;
    created.expect(201, None);
    let deployment = created.json()["deployments"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // In progress, then gone, with the tasks running.
    let listed = root.get("/service/marathon/v2/deployments").await;
    listed.expect(200, None);
    assert_eq!(listed.json()[0]["id"], deployment.as_str());
    assert_eq!(listed.json()[0]["affectedApps"][0], "/data-science-engine");
    let app = settled(&root, "data-science-engine").await;
    assert_eq!(app["tasksRunning"], 2);
    assert_eq!(app["instances"], 2);
    let first_start = app["tasks"][0]["startedAt"].as_str().unwrap().to_owned();
    let tasks = emulator.marathon_tasks();
    assert_eq!(tasks.len(), 2);
    assert_eq!(
        tasks[0].env_sha256["AWS_ACCESS_KEY_ID"],
        sha256_hex("AKIAFIRST")
    );
    let control = crate::Caller::new(emulator.url());
    let inspected = control.get("/__emulator/marathon/tasks").await;
    inspected.expect(200, None);
    assert_eq!(
        inspected.json()[0]["env_sha256"]["AWS_ACCESS_KEY_ID"],
        sha256_hex("AKIAFIRST")
    );

    // A new value reaches the tasks only through a restart.
    root.patch_json(secret, json!({"value": "AKIASECOND"}))
        .await
        .expect(204, None);
    assert_eq!(
        emulator.marathon_tasks()[0].env_sha256["AWS_ACCESS_KEY_ID"],
        sha256_hex("AKIAFIRST")
    );
    let restarted = root
        .post_json(&format!("{APPS}/data-science-engine/restart"), json!({}))
        .await;
    restarted.expect(200, None);
    assert!(restarted.json()["deploymentId"].is_string());
    let app = settled(&root, "data-science-engine").await;
    assert!(app["tasks"][0]["startedAt"].as_str().unwrap() > first_start.as_str());
    assert_eq!(
        emulator.marathon_tasks()[0].env_sha256["AWS_ACCESS_KEY_ID"],
        sha256_hex("AKIASECOND")
    );
    root.post_json(&format!("{APPS}/nothing-here/restart"), json!({}))
        .await
        .expect(404, None);
    emulator.shutdown().await;
}

#[tokio::test]
async fn a_missing_secret_fails_the_launch_and_the_deployment_stays() {
    let (emulator, root) = start(Emulator::builder().deploy_ms(20)).await;
    let created = root
        .post_json(APPS, dse("data-science-engine/aws_access_key_id"))
        .await;
    created.expect(201, None);
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let app = root
        .get(&format!("{APPS}/data-science-engine"))
        .await
        .json()["app"]
        .clone();
    assert_eq!(app["tasksRunning"], 0);
    assert_eq!(app["deployments"].as_array().unwrap().len(), 1);
    assert_eq!(
        app["lastTaskFailure"]["message"],
        "Secret data-science-engine/aws_access_key_id not found"
    );
    // Cancelled: gone, and 404 the second time.
    let id = app["deployments"][0]["id"].as_str().unwrap().to_owned();
    root.delete(&format!("/service/marathon/v2/deployments/{id}"))
        .await
        .expect(200, None);
    root.delete(&format!("/service/marathon/v2/deployments/{id}"))
        .await
        .expect(404, None);
    assert!(emulator.marathon_tasks().is_empty());
    emulator.shutdown().await;
}

const PODS: &str = "/service/marathon/v2/pods";

/// A pod with the key id in its environment and the secret key as a file of one container.
fn pod(id: &str, key_secret: &str) -> serde_json::Value {
    json!({
        "id": id,
        "scaling": {"kind": "fixed", "instances": 2},
        "secrets": {
            "id": {"source": "shared/aws_access_key_id"},
            "key": {"source": key_secret},
        },
        "environment": {"AWS_ACCESS_KEY_ID": {"secret": "id"}, "REGION": "eu-west-1"},
        "containers": [
            {"name": "worker", "volumeMounts": [{"name": "creds", "mountPath": "secrets/key"}]},
            {"name": "sidecar"},
        ],
        "volumes": [{"name": "creds", "secret": "key"}],
    })
}

/// Waits until the pod is no longer deploying; returns its status.
async fn pod_settled(root: &crate::Caller, id: &str) -> serde_json::Value {
    for _ in 0..200 {
        let status = root.get(&format!("{PODS}/{id}::status")).await.json();
        if status["status"] != "DEPLOYING" {
            return status;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("the deployment of {id} never finished");
}

#[tokio::test]
async fn pods_resolve_secrets_from_their_environment_and_mounted_volumes() {
    let (emulator, root) = start(Emulator::builder().deploy_ms(20).control_api(true)).await;
    for (path, value) in [
        ("shared/aws_access_key_id", "AKIAPOD"),
        ("shared/aws_secret_access_key", "pod-secret"),
    ] {
        root.put_json(
            &format!("/secrets/v1/secret/default/{path}"),
            json!({ "value": value }),
        )
        .await
        .expect(201, None);
    }
    let created = root
        .post_json(PODS, pod("shared/trainer", "shared/aws_secret_access_key"))
        .await;
    created.expect(201, None);
    // Marathon answers the definition, and the deployment in a header.
    assert_eq!(created.json()["id"], "/shared/trainer");
    assert!(created.json()["version"].is_string());
    assert!(created.headers.contains_key("marathon-deployment-id"));
    root.post_json(PODS, pod("shared/trainer", "shared/aws_secret_access_key"))
        .await
        .expect(409, None);

    let status = pod_settled(&root, "shared/trainer").await;
    assert_eq!(status["status"], "STABLE");
    assert_eq!(status["instances"].as_array().unwrap().len(), 2);
    assert_eq!(status["spec"]["id"], "/shared/trainer");
    let instances = emulator.marathon_tasks();
    assert_eq!(instances.len(), 2);
    let control = crate::Caller::new(emulator.url());
    let listed = control.get("/__emulator/marathon/tasks").await.json();
    assert_eq!(listed[0]["kind"], "pod");
    assert_eq!(listed[0]["id"], "/shared/trainer");
    assert_eq!(
        listed[0]["env_sha256"]["AWS_ACCESS_KEY_ID"],
        sha256_hex("AKIAPOD")
    );
    assert_eq!(listed[0]["env_sha256"]["REGION"], sha256_hex("eu-west-1"));
    assert_eq!(
        listed[0]["file_sha256"]["secrets/key"],
        sha256_hex("pod-secret")
    );

    // Listed, read; an app may not take a pod's id; all statuses at once.
    assert_eq!(root.get(PODS).await.json()[0]["id"], "/shared/trainer");
    let read = root.get(&format!("{PODS}/shared/trainer")).await;
    assert_eq!(read.json()["containers"][0]["name"], "worker");
    root.post_json(APPS, json!({"id": "/shared/trainer", "cmd": "x"}))
        .await
        .expect(409, None);
    let all = root.get(&format!("{PODS}/::status")).await.json();
    assert_eq!(all[0]["id"], "/shared/trainer");

    // A secret outside its space is refused; a missing one fails the launch.
    let outside = root.post_json(PODS, pod("elsewhere", "shared/x")).await;
    outside.expect(422, None);
    assert_eq!(
        outside.json()["details"][0]["errors"][0],
        "Secret shared/aws_access_key_id is not accessible"
    );
    root.put_json(
        &format!("{PODS}/shared/trainer"),
        pod("shared/trainer", "shared/missing"),
    )
    .await
    .expect(200, None);
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let status = root
        .get(&format!("{PODS}/shared/trainer::status"))
        .await
        .json();
    assert_eq!(status["status"], "DEGRADED");
    assert_eq!(status["message"], "Secret shared/missing not found");

    // Removed: 202 with a deployment, then unknown.
    let removed = root.delete(&format!("{PODS}/shared/trainer")).await;
    removed.expect(202, None);
    assert!(removed.headers.contains_key("marathon-deployment-id"));
    let gone = root.get(&format!("{PODS}/shared/trainer")).await;
    gone.expect(404, None);
    assert_eq!(
        gone.json()["message"],
        "Pod '/shared/trainer' does not exist"
    );
    assert!(emulator.marathon_tasks().is_empty());
    emulator.shutdown().await;
}

#[tokio::test]
async fn an_app_s_file_based_secret_is_resolved_at_launch() {
    let (emulator, root) = start(Emulator::builder().deploy_ms(20)).await;
    root.put_json(
        "/secrets/v1/secret/default/data-science-engine/aws_access_key_id",
        json!({"value": "AKIAFILE"}),
    )
    .await
    .expect(201, None);
    let mut app = dse("data-science-engine/aws_access_key_id");
    app["env"] = json!({});
    app["container"] = json!({"volumes": [{"containerPath": "secrets/key_id", "secret": "key"}]});
    root.post_json(APPS, app).await.expect(201, None);
    settled(&root, "data-science-engine").await;
    let tasks = emulator.marathon_tasks();
    assert_eq!(
        tasks[0].file_sha256["secrets/key_id"],
        sha256_hex("AKIAFILE")
    );
    assert!(tasks[0].env_sha256.is_empty());
    emulator.shutdown().await;
}

/// What real Marathon clients ask besides apps: `/ping`, `/v2/info`, the tasks, a partial
/// update, and the event stream with a deployment's events in order.
#[tokio::test]
async fn marathon_answers_what_real_clients_ask() {
    let (emulator, root) = start(Emulator::builder().deploy_ms(30)).await;
    let ping = root.get("/service/marathon/ping").await;
    ping.expect(200, None);
    assert_eq!(ping.text(), "pong");
    let info = root.get("/service/marathon/v2/info").await.json();
    assert_eq!(info["name"], "marathon");
    assert!(info["version"].as_str().unwrap().starts_with("1."));
    assert!(info["http_config"].is_object() && info["marathon_config"].is_object());

    root.put_json(
        "/secrets/v1/secret/default/aws_key",
        json!({"value": "AKIAEVENTS"}),
    )
    .await
    .expect(201, None);
    // The event stream: attached first, then a deployment's start and end.
    let client = reqwest::Client::builder().build().unwrap();
    let mut stream = client
        .get(format!("{}/service/marathon/v2/events", emulator.url()))
        .header(
            "Authorization",
            format!("token={}", root.token.as_deref().unwrap()),
        )
        .header("Accept", "text/event-stream")
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 200);
    assert!(
        stream.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    root.post_json(APPS, dse("aws_key")).await.expect(201, None);
    let mut seen = String::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !seen.contains("event: deployment_success") && std::time::Instant::now() < deadline {
        let chunk = tokio::time::timeout(std::time::Duration::from_secs(5), stream.chunk())
            .await
            .expect("an event within 5 s")
            .unwrap()
            .expect("the stream stays open");
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    let order: Vec<&str> = seen
        .lines()
        .filter_map(|l| l.strip_prefix("event: "))
        .collect();
    assert_eq!(
        order,
        [
            "event_stream_attached",
            "deployment_info",
            "deployment_success"
        ],
        "{seen}"
    );
    let data: Vec<serde_json::Value> = seen
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .map(|d| serde_json::from_str(d).unwrap())
        .collect();
    assert_eq!(data[1]["eventType"], "deployment_info");
    assert_eq!(
        data[1]["plan"]["steps"][0]["actions"][0]["app"],
        "/data-science-engine"
    );
    assert_eq!(data[2]["id"], data[1]["plan"]["id"]);
    drop(stream);

    // The app's tasks, and every app's.
    let tasks = root
        .get(&format!("{APPS}/data-science-engine/tasks"))
        .await
        .json();
    assert_eq!(tasks["tasks"][0]["appId"], "/data-science-engine");
    assert_eq!(tasks["tasks"][0]["state"], "TASK_RUNNING");
    let all = root.get("/service/marathon/v2/tasks").await.json();
    assert_eq!(all["tasks"].as_array().unwrap().len(), 1);

    // A partial update keeps what it does not name; partialUpdate=false replaces.
    root.put_json(
        &format!("{APPS}/data-science-engine"),
        json!({"instances": 3}),
    )
    .await
    .expect(200, None);
    let app = &emulator.state().apps["/data-science-engine"];
    assert_eq!(app["instances"], 3);
    assert_eq!(app["env"]["AWS_ACCESS_KEY_ID"]["secret"], "key");
    root.put_json(
        &format!("{APPS}/data-science-engine?partialUpdate=false"),
        json!({"cmd": "sleep 1"}),
    )
    .await
    .expect(200, None);
    let app = &emulator.state().apps["/data-science-engine"];
    assert_eq!(app["instances"], 1);
    assert_eq!(app["env"], json!({}));
    emulator.shutdown().await;
}
