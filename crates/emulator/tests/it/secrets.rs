use dcos_emulator::Emulator;
use dcos_emulator::state::Secret;
use reqwest::Method;
use serde_json::json;

use crate::{Caller, grant, start, user};

const S: &str = "/secrets/v1/secret/default";

/// Every Secrets endpoint, happy and error paths. Returns the caller whose log the OpenAPI
/// check reads.
pub async fn scenario() -> Caller {
    let (emulator, root) = start(Emulator::builder()).await;

    // create: text, binary, no content type, conflicts and bad input
    root.put_json(&format!("{S}/key1"), json!({"value": "v1\n"}))
        .await
        .expect(201, None);
    let a = root
        .put_json(&format!("{S}/key1"), json!({"value": "other"}))
        .await;
    a.expect(409, None);
    assert_eq!(a.json()["description"], "Secret key1 already exists");
    assert_eq!(a.json()["title"], "409 Conflict");
    let bin = vec![b'v', 0x85, 0xff, b'3'];
    root.call(
        Method::PUT,
        &format!("{S}/folder/key3"),
        Some(("application/octet-stream", bin.clone())),
        &[],
    )
    .await
    .expect(201, None);
    root.call(
        Method::PUT,
        &format!("{S}/folder/key2"),
        Some(("", br#"{"value":"no type"}"#.to_vec())),
        &[],
    )
    .await
    .expect(201, None);
    root.put_json(
        &format!("{S}/folder/sub"),
        json!({"value": "x", "author": "me", "labels": []}),
    )
    .await
    .expect(201, None);
    root.put_json(&format!("{S}/folder/sub/key4"), json!({"value": "x"}))
        .await
        .expect(201, None);
    let a = root
        .call(
            Method::PUT,
            &format!("{S}/bad"),
            Some(("text/plain", b"x".to_vec())),
            &[],
        )
        .await;
    a.expect(400, None);
    assert_eq!(a.json()["description"], "Unsupported Content-Type header");
    root.put_json(&format!("{S}/bad"), json!({"value": 5}))
        .await
        .expect(400, None);
    root.put_json(&format!("{S}/bad"), json!({"valu": "x"}))
        .await
        .expect(400, None);
    let big = vec![b'a'; 1_048_577];
    let a = root
        .call(
            Method::PUT,
            &format!("{S}/big"),
            Some(("application/octet-stream", big)),
            &[],
        )
        .await;
    a.expect(400, None);
    assert!(a.text().contains("1048577 bytes"), "{}", a.text());
    root.call(
        Method::PUT,
        &format!("{S}/max"),
        Some(("application/octet-stream", vec![0; 1_048_576])),
        &[],
    )
    .await
    .expect(201, None);
    root.put_json(&format!("{S}/a%20b"), json!({"value": "x"}))
        .await
        .expect(400, None);
    root.put_json("/secrets/v1/secret/other/x", json!({"value": "x"}))
        .await
        .expect(404, None);

    // read: by content type and Accept
    let a = root
        .call(
            Method::GET,
            &format!("{S}/key1"),
            None,
            &[("accept", "*/*")],
        )
        .await;
    a.expect(200, None);
    assert!(a.content_type().starts_with("application/json"));
    assert_eq!(a.json(), json!({"value": "v1\n"}));
    let a = root
        .call(
            Method::GET,
            &format!("{S}/folder/key3"),
            None,
            &[("accept", "*/*")],
        )
        .await;
    a.expect(200, None);
    assert_eq!(a.content_type(), "application/octet-stream");
    assert_eq!(a.body, bin);
    let a = root
        .call(
            Method::GET,
            &format!("{S}/key1"),
            None,
            &[("accept", "application/octet-stream")],
        )
        .await;
    assert_eq!(a.body, b"v1\n");
    root.call(
        Method::GET,
        &format!("{S}/folder/key3"),
        None,
        &[("accept", "application/json")],
    )
    .await
    .expect(400, None);
    root.get(&format!("{S}/missing")).await.expect(404, None);
    root.get(&format!("{S}/folder")).await.expect(404, None); // a folder is no secret
    root.get(&format!("{S}//key1")).await.expect(200, None); // a leading slash is accepted

    // list
    let list = |p: &str| format!("{S}/{p}?list=true");
    assert_eq!(
        root.get(&list("")).await.json(),
        json!({"array": ["folder/key2", "folder/key3", "folder/sub", "folder/sub/key4", "key1", "max"]})
    );
    assert_eq!(
        root.get("/secrets/v1/secret/default?list=true")
            .await
            .json()["array"]
            .as_array()
            .unwrap()
            .len(),
        6
    );
    assert_eq!(
        root.get(&list("folder")).await.json(),
        json!({"array": ["key2", "key3", "sub", "sub/key4"]})
    );
    assert_eq!(
        root.get(&list("folder/sub")).await.json(),
        json!({"array": ["key4"]})
    );
    assert_eq!(
        root.get(&list("folder/sub/key4")).await.json(),
        json!({"array": []})
    );
    assert_eq!(root.get(&list("fold")).await.json(), json!({"array": []}));
    assert_eq!(
        root.get(&list("not/a/folder")).await.json(),
        json!({"array": []})
    );

    // update and delete
    root.patch_json(&format!("{S}/key1"), json!({"value": "v2"}))
        .await
        .expect(204, None);
    assert_eq!(
        root.get(&format!("{S}/key1")).await.json(),
        json!({"value": "v2"})
    );
    root.patch_json(&format!("{S}/missing"), json!({"value": "v2"}))
        .await
        .expect(404, None);
    root.call(
        Method::PATCH,
        &format!("{S}/key1"),
        Some(("text/xml", b"<a/>".to_vec())),
        &[],
    )
    .await
    .expect(400, None);
    root.delete(&format!("{S}/max")).await.expect(204, None);
    root.delete(&format!("{S}/max")).await.expect(404, None);

    // stores, seal status, ping
    let a = root.get("/secrets/v1/store").await;
    a.expect(200, None);
    assert_eq!(a.json()["array"][0]["name"], "default");
    let a = root.get("/secrets/v1/seal-status/default").await;
    assert_eq!(
        a.json(),
        json!({"sealed": false, "threshold": 1, "shares": 1, "progress": 0})
    );
    root.get("/secrets/v1/seal-status/other")
        .await
        .expect(404, None);
    let a = root.get("/secrets/v1/ping").await;
    a.expect(200, None);
    assert_eq!(a.text(), "pong");

    // permissions: 403 without, allowed with the right rid forms
    let alice = user(&root, "alice").await;
    alice.get(&format!("{S}/key1")).await.expect(403, None);
    alice
        .put_json(&format!("{S}/team/k"), json!({"value": "x"}))
        .await
        .expect(403, None);
    alice.get(&list("")).await.expect(403, None);
    alice.get("/secrets/v1/store").await.expect(403, None);
    grant(&root, "dcos:secrets:default:/team/*", "alice", "full").await;
    grant(&root, "dcos:secrets:list:default:team", "alice", "read").await;
    grant(&root, "dcos:secrets:default:key1", "alice", "read").await;
    alice
        .put_json(&format!("{S}/team/k"), json!({"value": "x"}))
        .await
        .expect(201, None);
    alice
        .put_json(&format!("{S}/team/sub/k"), json!({"value": "x"}))
        .await
        .expect(201, None);
    alice.get(&format!("{S}/key1")).await.expect(200, None);
    alice
        .patch_json(&format!("{S}/key1"), json!({"value": "x"}))
        .await
        .expect(403, None);
    assert_eq!(
        alice.get(&list("team")).await.json(),
        json!({"array": ["k", "sub/k"]})
    );
    alice.get(&list("team/sub")).await.expect(200, None);
    alice.get(&list("")).await.expect(403, None);
    alice.delete(&format!("{S}/team/k")).await.expect(204, None);

    // stored byte for byte
    let state = emulator.state();
    assert_eq!(state.secrets["key1"], Secret::Text("v2".into()));
    assert_eq!(state.secrets["folder/key3"], Secret::Binary(bin));
    emulator.shutdown().await;
    root
}

#[tokio::test]
async fn secrets_endpoints_conform() {
    scenario().await;
}
