//! The `dcos-emulator` binary: URL on the first line, serves until SIGTERM, keeps its state.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use serde_json::json;

use crate::Caller;

fn term(pid: u32) {
    let status = Command::new("kill")
        .arg("-TERM")
        .arg(pid.to_string())
        .status()
        .unwrap();
    assert!(status.success());
}

#[tokio::test]
async fn prints_its_url_serves_and_saves_state_on_sigterm() {
    let dir = std::env::temp_dir().join(format!("dcos-emulator-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let state = dir.join("state.json");
    let ca = dir.join("ca.pem");
    let _ = std::fs::remove_file(&state);
    let spawn = || {
        Command::new(env!("CARGO_BIN_EXE_dcos-emulator"))
            .args(["--superuser", "admin:s3cret"])
            .arg("--state")
            .arg(&state)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };

    let mut child = spawn();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line.trim().to_owned();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let admin = Caller::new(&url).login("admin", "s3cret").await;
    let cluster_id = admin.get("/metadata").await.json()["CLUSTER_ID"].clone();
    admin
        .put_json(
            "/secrets/v1/secret/default/kept",
            json!({"value": "across restarts"}),
        )
        .await
        .expect(201, None);
    term(child.id());
    assert!(child.wait().unwrap().success());
    assert!(
        std::fs::read_to_string(&state)
            .unwrap()
            .contains("across restarts")
    );
    // Requirement: the state holds secret values in clear, so only its owner may read it.
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&state).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "{mode:o}");

    // A second run starts from the saved state.
    let mut child = spawn();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let admin = Caller::new(line.trim()).login("admin", "s3cret").await;
    let a = admin.get("/secrets/v1/secret/default/kept").await;
    assert_eq!(a.json(), json!({"value": "across restarts"}));
    // The same cluster, by its id too.
    assert_eq!(
        admin.get("/metadata").await.json()["CLUSTER_ID"],
        cluster_id
    );
    term(child.id());
    assert!(child.wait().unwrap().success());

    // --tls with --ca-out writes the CA it serves.
    let mut child = Command::new(env!("CARGO_BIN_EXE_dcos-emulator"))
        .arg("--tls")
        .arg("--ca-out")
        .arg(&ca)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(line.starts_with("https://127.0.0.1:"), "{line}");
    assert!(
        std::fs::read_to_string(&ca)
            .unwrap()
            .starts_with("-----BEGIN CERTIFICATE-----")
    );
    term(child.id());
    assert!(child.wait().unwrap().success());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_options_are_refused_with_a_message() {
    let out = Command::new(env!("CARGO_BIN_EXE_dcos-emulator"))
        .args(["--error-rate", "1.5"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("between 0 and 1"));
    let out = Command::new(env!("CARGO_BIN_EXE_dcos-emulator"))
        .args(["--superuser", "nocolon"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("UID:PASSWORD"));
}
