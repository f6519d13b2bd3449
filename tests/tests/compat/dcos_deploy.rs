//! dcos-deploy 0.4.0 from PyPI: password login, `apply` of secrets (text and binary), a
//! service account, a group and a user with their permissions, a second dry run that has
//! nothing to do, and `delete`.

use std::process::Command;
use std::time::Duration;

use dcos_emulator::Emulator;
use dcos_emulator::state::{Secret, State};
use dcos_iam_client::{Credentials, Gid, IamClient, Uid};
use dcos_ops::Clients;
use dcos_secrets_client::SecretPath;
use dcos_transport::Transport;
use secrecy::SecretString;

use crate::python::Venv;

/// dcos-deploy and what it needs: its own pins where current releases break it (`minio` 7
/// dropped the errors it imports, PyJWT 2 the `bytes` it decodes, click 8 its commands), the
/// rest current.
fn dcos_deploy() -> Venv {
    Venv::with(
        &["dcos-deploy==0.4.0"],
        &[
            "click==7.1.2",
            "PyJWT==1.7.1",
            "minio==6.0.0",
            "colorama",
            "cryptography",
            "oyaml",
            "pystache",
            "PyYaml",
            "requests",
        ],
    )
}

const MANIFEST: &str = r#"
db-password:
  type: secret
  path: compat/db-password
  value: hunter2
blob:
  type: secret
  path: compat/blob
  file: blob.bin
ci-bot:
  type: serviceaccount
  name: ci-bot
  secret: compat/ci-bot-login
  permissions:
    "dcos:secrets:default:compat/db-password":
      - read
analysts:
  type: iam_group
  name: analysts
  description: Analysts
  permissions:
    "dcos:secrets:list:default:compat":
      - read
alice:
  type: iam_user
  name: alice
  description: Alice
  password: correct-horse-battery
  update_password: false
  groups:
    - analysts
  dependencies:
    - analysts
"#;

/// How dcos-deploy logs in.
enum Login<'a> {
    Password,
    Token(&'a str),
}

/// Runs dcos-deploy at the emulator; its output, or a failure with it.
fn run(venv: &Venv, dir: &std::path::Path, url: &str, login: Login<'_>, args: &[&str]) -> String {
    let mut command = Command::new(venv.bin("dcos-deploy"));
    command
        .args(args)
        .current_dir(dir)
        .env("DCOS_BASE_URL", url)
        .env_remove("DCOS_USERNAME")
        .env_remove("DCOS_PASSWORD")
        .env_remove("DCOS_AUTH_TOKEN")
        .env_remove("DCOS_SERVICE_ACCOUNT_CREDENTIAL")
        .env("HOME", dir);
    match login {
        Login::Password => command
            .env("DCOS_USERNAME", "bootstrapuser")
            .env("DCOS_PASSWORD", "deleteme"),
        Login::Token(token) => command.env("DCOS_AUTH_TOKEN", token),
    };
    let out = command.output().expect("dcos-deploy runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "dcos-deploy {args:?} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

fn text(state: &State, path: &str) -> Option<String> {
    match state.secrets.get(path)? {
        Secret::Text(text) => Some(text.clone()),
        Secret::Binary(_) => panic!("{path} is binary"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dcos_deploy_applies_checks_and_deletes_against_the_emulator() {
    let venv = dcos_deploy();
    let emulator = Emulator::builder().tls(true).start().await.unwrap();
    let url = emulator.url().to_owned();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("dcos.yml"), MANIFEST).unwrap();
    let blob: Vec<u8> = (0..=255u8).rev().collect();
    std::fs::write(dir.path().join("blob.bin"), &blob).unwrap();

    let dry = run(
        &venv,
        dir.path(),
        &url,
        Login::Password,
        &["apply", "--dry-run", "-f", "dcos.yml"],
    );
    assert!(
        dry.contains("Would create secret compat/db-password"),
        "{dry}"
    );
    run(
        &venv,
        dir.path(),
        &url,
        Login::Password,
        &["apply", "--yes", "-f", "dcos.yml"],
    );

    // What it made, through our own clients.
    let state = emulator.state();
    assert_eq!(
        text(&state, "compat/db-password").as_deref(),
        Some("hunter2")
    );
    assert_eq!(
        state.secrets.get("compat/blob"),
        Some(&Secret::Binary(blob))
    );
    let login = text(&state, "compat/ci-bot-login").expect("the login secret");
    let login: serde_json::Value = serde_json::from_str(&login).unwrap();
    assert_eq!(login["uid"], "ci-bot");
    let transport = Transport::builder(&url)
        .pin_ca_pem(emulator.ca_pem().unwrap().as_bytes())
        .backoff(Duration::ZERO, Duration::ZERO)
        .build()
        .unwrap();
    let admin = Credentials::password(
        Uid::new("bootstrapuser").unwrap(),
        SecretString::from("deleteme"),
    );
    let iam = IamClient::with_login(transport, admin);
    let clients = Clients::new(iam.transport().clone());
    let bot = clients
        .iam
        .user(&Uid::new("ci-bot").unwrap())
        .get()
        .await
        .unwrap();
    assert!(bot.is_service);
    let members = clients
        .iam
        .group(&Gid::new("analysts").unwrap())
        .members()
        .await
        .unwrap();
    assert_eq!(members.len(), 1);
    assert_eq!(members[0].user.uid, "alice");
    // Who can do what, as `dcos-creds access` says it.
    let path = SecretPath::new("compat/db-password").unwrap();
    let access = dcos_ops::access::report(&clients, &path).await.unwrap();
    let reader = |uid: &str| access.value_readers.iter().any(|e| e.principal == uid);
    let lister = |uid: &str| access.name_listers.iter().any(|e| e.principal == uid);
    assert!(reader("ci-bot"), "{access:?}");
    assert!(lister("alice") && !reader("alice"), "{access:?}");

    // Nothing to do the second time: the secrets read back as what was written, text as text.
    // (With a static token this time: its connectivity check must pass too.)
    let token = emulator.issue_token("bootstrapuser").unwrap();
    let again = run(
        &venv,
        dir.path(),
        &url,
        Login::Token(&token),
        &["apply", "--dry-run", "-f", "dcos.yml"],
    );
    let would: Vec<&str> = again.lines().filter(|l| l.starts_with("Would")).collect();
    assert!(would.is_empty(), "{again}");

    run(
        &venv,
        dir.path(),
        &url,
        Login::Password,
        &["delete", "--yes", "-f", "dcos.yml"],
    );
    let state = emulator.state();
    for uid in ["ci-bot", "alice"] {
        assert!(!state.accounts.contains_key(uid), "{uid} is deleted");
    }
    assert!(!state.groups.contains_key("analysts"));
    assert!(!state.secrets.contains_key("compat/ci-bot-login"));
    emulator.shutdown().await;
}
