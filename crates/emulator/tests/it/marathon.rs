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
    assert!(created.json()["deploymentId"].is_string());
    assert!(created.json()["version"].is_string());
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
