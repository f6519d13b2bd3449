//! `apply`: a manifest read, planned and converged; items fail and are undone on their own.

use dcos_ops::apply::{self, ApplyOptions};
use dcos_ops::manifest::{self, Manifest};
use dcos_ops::{ErrorKind, ItemKind, Outcome, Silent, Status};

use crate::{Collect, cluster, text};

const MANIFEST: &str = r#"
[[service_account]]
uid = "analytics"
private_key_out = "analytics.pem"
login_secret = "analytics/service-account"

[[secret]]
path = "analytics/db_password"
from_file = "db.txt"

[[grant]]
user = "analytics"
rid = "dcos:secrets:default:analytics/db_password"
action = "read"

[[s3]]
service_account = "dse"
service_account_secret = "data-science-engine/sa"
credentials = { file = "keys.json" }
out = "options.json"
"#;

/// The manifest and the files it names, in a new folder.
fn folder(db_password: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("cluster.toml"), MANIFEST).unwrap();
    std::fs::write(dir.path().join("db.txt"), db_password).unwrap();
    let keys = format!(
        r#"{{"aws_access_key_id": "{}", "aws_secret_access_key": "{}"}}"#,
        crate::PAIR_A.0,
        crate::PAIR_A.1
    );
    std::fs::write(dir.path().join("keys.json"), keys).unwrap();
    dir
}

fn load(dir: &tempfile::TempDir) -> Manifest {
    manifest::load(&dir.path().join("cluster.toml"), &Silent).unwrap()
}

/// Applies the manifest in `dir` with `options`.
async fn apply(
    cluster: &crate::Cluster,
    dir: &tempfile::TempDir,
    options: ApplyOptions,
) -> dcos_ops::ApplyReport {
    apply::run(&cluster.clients, &load(dir), options, &Silent)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_manifest_converges_and_applying_it_again_changes_nothing() {
    let cluster = cluster().await;
    let dir = folder("hunter2");
    let manifest = load(&dir);
    let collect = Collect::default();
    let dry = ApplyOptions {
        dry_run: true,
        ..ApplyOptions::default()
    };
    let plan = apply::run(&cluster.clients, &manifest, dry, &collect)
        .await
        .unwrap();
    assert_eq!(plan.result, Status::WouldChange);
    assert!(!dir.path().join("analytics.pem").exists());
    assert!(cluster.state().secrets.is_empty());

    let report = apply::run(
        &cluster.clients,
        &manifest,
        ApplyOptions::default(),
        &collect,
    )
    .await
    .unwrap();
    assert_eq!(report.result, Status::Changed, "{report:#?}");
    assert_eq!(report.failed, 0);
    let kinds: Vec<ItemKind> = report.items.iter().map(|i| i.kind).collect();
    assert_eq!(
        kinds,
        [
            ItemKind::ServiceAccount,
            ItemKind::Secret,
            ItemKind::Grant,
            ItemKind::S3
        ]
    );
    assert_eq!(*collect.begun.lock().unwrap(), Some(4));
    assert_eq!(collect.items.lock().unwrap().len(), 4);
    let state = cluster.state();
    assert_eq!(
        text(&state, "analytics/db_password").as_deref(),
        Some("hunter2")
    );
    assert!(state.accounts.contains_key("analytics"));
    let login = text(&state, "analytics/service-account").unwrap();
    assert!(
        login.contains("\"uid\":\"analytics\""),
        "the login secret names the account"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let key = std::fs::metadata(dir.path().join("analytics.pem")).unwrap();
        assert_eq!(key.permissions().mode() & 0o777, 0o600);
    }
    assert!(dir.path().join("options.json").exists());

    // Again, from a fresh read of the manifest: the key file is read, nothing changes.
    let again = apply(&cluster, &dir, ApplyOptions::default()).await;
    assert_eq!(again.result, Status::Unchanged, "{again:#?}");
    assert_eq!(again.changes, 0);
    assert_eq!(cluster.state(), state);
}

#[tokio::test]
async fn a_failing_item_is_undone_and_the_others_land() {
    let cluster = cluster().await;
    let dir = folder("hunter2");
    cluster.fault(
        "PUT",
        "/secrets/v1/secret/default/data-science-engine/aws_secret_access_key",
        &serde_json::json!({"status": 500, "phase": "after"}),
    );
    let report = apply(&cluster, &dir, ApplyOptions::default()).await;
    assert_eq!(report.failed, 1);
    assert_eq!(report.result, Status::Failed);
    let s3 = report
        .items
        .iter()
        .find(|i| i.kind == ItemKind::S3)
        .unwrap();
    assert_eq!(s3.result, Status::Failed);
    assert!(s3.error.as_deref().unwrap().contains("undone"), "{s3:?}");
    let state = cluster.state();
    assert!(!state.secrets.contains_key(crate::KEY_ID), "undone");
    assert!(
        !state.secrets.contains_key(crate::SECRET_KEY),
        "undone, though it had landed"
    );
    assert_eq!(
        text(&state, "analytics/db_password").as_deref(),
        Some("hunter2")
    );
    assert!(!dir.path().join("options.json").exists());
}

#[tokio::test]
async fn items_that_need_a_failed_account_are_not_run() {
    let cluster = cluster().await;
    let dir = folder("hunter2");
    cluster.fault(
        "PUT",
        "/acs/api/v1/users/analytics",
        &serde_json::json!({"status": 500}),
    );
    let report = apply(&cluster, &dir, ApplyOptions::default()).await;
    let account = &report.items[0];
    assert_eq!(account.result, Status::Failed);
    // The key file it wrote was removed again.
    assert!(!dir.path().join("analytics.pem").exists());
    let grant = report
        .items
        .iter()
        .find(|i| i.kind == ItemKind::Grant)
        .unwrap();
    assert!(
        grant.error.as_deref().unwrap().starts_with("not run"),
        "{grant:?}"
    );
    assert_eq!(report.failed, 2);
    assert!(!cluster.state().accounts.contains_key("analytics"));
}

#[tokio::test]
async fn prune_revokes_grants_the_manifest_does_not_declare() {
    let cluster = cluster().await;
    let dir = folder("hunter2");
    apply(&cluster, &dir, ApplyOptions::default()).await;
    let rid = dcos_iam_client::Rid::new("dcos:secrets:default:analytics/db_password").unwrap();
    let dse = dcos_iam_client::Principal::User(dcos_iam_client::Uid::new("dse").unwrap());
    let acl = cluster.clients.iam.acl(&rid);
    acl.grant(&dse, dcos_iam_client::Action::Full)
        .await
        .unwrap();
    let prune = ApplyOptions {
        prune: true,
        ..ApplyOptions::default()
    };
    let report = apply(&cluster, &dir, prune).await;
    let pruned = report
        .items
        .iter()
        .find(|i| i.kind == ItemKind::Prune)
        .unwrap();
    assert_eq!(pruned.steps[0].outcome, Outcome::Revoked);
    assert_eq!(pruned.steps[0].principal.as_deref(), Some("dse"));
    let holders = acl.holders().await.unwrap();
    assert_eq!(holders.users.len(), 1, "only the declared grant stays");
    assert_eq!(holders.users[0].uid, "analytics");
}

#[tokio::test]
async fn a_manifest_naming_a_literal_value_is_refused_without_quoting_it() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("m.toml");
    std::fs::write(&file, "[[secret]]\npath = \"a\"\nvalue = \"canary-1234\"\n").unwrap();
    let error = manifest::load(&file, &Silent).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Invalid);
    let message = error.full_message();
    assert!(message.starts_with("secret #1 (a): "), "{message}");
    assert!(!message.contains("canary"), "{message}");
}
