//! A compromised user (issue 29): `user list`, `user delete` with its undo, and `revoke --all
//! --delete-user` for the runbook.

use dcos_emulator::FaultRule;
use dcos_iam_client::{Gid, Uid};
use secrecy::SecretString;
use serde_json::json;

use crate::harness::Cluster;

/// `mallory`, a user with two grants and a group; `alice`, a user with none.
async fn compromised() -> Cluster {
    let cluster = Cluster::start().await;
    let (iam, _) = cluster.clients();
    for uid in ["mallory", "alice"] {
        iam.user(&Uid::new(uid).unwrap())
            .create_user("a person", &SecretString::from("password"))
            .await
            .unwrap();
    }
    let data = Gid::new("data").unwrap();
    iam.group(&data).create("data").await.unwrap();
    iam.group(&data)
        .add_member(&Uid::new("mallory").unwrap())
        .await
        .unwrap();
    for rid in ["dcos:secrets:default:alpha", "dcos:secrets:default:beta"] {
        cluster
            .admin(&["grant", "--user", "mallory", rid, "read"])
            .expect(0);
    }
    cluster
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_are_listed_with_their_provider_and_groups() {
    let cluster = compromised().await;
    let list = cluster
        .admin(&["-o", "json", "user", "list"])
        .expect(0)
        .json();
    let users: Vec<&str> = (list["users"].as_array().unwrap().iter())
        .map(|u| u["uid"].as_str().unwrap())
        .collect();
    assert_eq!(users, ["alice", "bootstrapuser", "mallory"]);
    let mallory = &list["users"][2];
    assert_eq!(mallory["groups"], json!(["data"]));
    assert_eq!(mallory["provider_type"], "internal");
    let text = cluster.admin(&["user", "list"]).expect(0);
    assert!(text.stdout().starts_with("UID"), "{}", text.stdout());
    assert!(text.stdout().contains("mallory"), "{}", text.stdout());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_is_deleted_with_its_grants_and_a_failure_at_any_step_changes_nothing() {
    let cluster = compromised().await;
    let before = cluster.emulator.state();
    // Grants left behind are refused without --cascade; a service account is not a user.
    let refused = cluster
        .admin(&["user", "delete", "mallory", "--yes"])
        .expect(3);
    assert!(refused.stderr.contains("--cascade"), "{}", refused.stderr);
    cluster.service_account("robot").await;
    let wrong = cluster
        .admin(&["user", "delete", "robot", "--yes"])
        .expect(2);
    assert!(
        wrong.stderr.contains("is a service account, not a user"),
        "{}",
        wrong.stderr
    );
    cluster
        .admin(&["user", "delete", "nobody", "--yes"])
        .expect(5);
    let before_robot = cluster.emulator.state();
    assert_eq!(before.accounts.len() + 1, before_robot.accounts.len());

    // A failure at each step: the revokes (their answers lost after they were made) and the
    // deletion itself; each time everything is put back.
    let steps = [
        (
            "/acs/api/v1/acls/dcos:secrets:default:alpha/users/mallory",
            "after",
        ),
        (
            "/acs/api/v1/acls/dcos:secrets:default:beta/users/mallory",
            "after",
        ),
        ("/acs/api/v1/users/mallory", "before"),
    ];
    for (path, phase) in steps {
        let rule: FaultRule = serde_json::from_value(json!({
            "method": "DELETE", "path_prefix": path, "count": 1000, "status": 400,
            "phase": phase,
        }))
        .unwrap();
        cluster.emulator.add_fault(rule);
        let failed = cluster
            .admin(&["user", "delete", "mallory", "--cascade", "--yes"])
            .expect(1);
        assert!(failed.stderr.contains("error:"), "{}", failed.stderr);
        cluster.emulator.clear_faults();
        assert_eq!(
            cluster.emulator.state(),
            before_robot,
            "after a failure at {path}"
        );
    }

    let plan = cluster
        .admin(&["user", "delete", "mallory", "--cascade", "--dry-run"])
        .expect(0);
    assert!(plan.stderr.contains("would revoke"), "{}", plan.stderr);
    assert_eq!(cluster.emulator.state(), before_robot);
    let done = cluster
        .admin(&[
            "-o",
            "json",
            "user",
            "delete",
            "mallory",
            "--cascade",
            "--yes",
        ])
        .expect(0)
        .json();
    assert_eq!(done["result"], "changed");
    assert_eq!(done["groups"], json!(["data"]));
    let state = cluster.emulator.state();
    assert!(!state.accounts.contains_key("mallory"));
    assert!(state.accounts.contains_key("alice"));
    for acl in state.acls.values() {
        assert!(!acl.users.contains_key("mallory"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoke_all_with_delete_user_leaves_no_way_to_log_in() {
    let cluster = compromised().await;
    let (iam, _) = cluster.clients();
    let login = |iam: &dcos_iam_client::IamClient| {
        let credentials = dcos_iam_client::Credentials::password(
            Uid::new("mallory").unwrap(),
            SecretString::from("password"),
        );
        let transport = iam.transport().clone();
        async move { dcos_iam_client::login(&transport, &credentials).await }
    };
    assert!(login(&iam).await.is_ok());
    let delete_mallory = |last: &str| {
        let args = [
            "revoke",
            "--all",
            "--user",
            "mallory",
            "--delete-user",
            last,
        ];
        cluster.admin(&args).expect(0)
    };
    // The dry run shows every grant it would revoke, and the deletion, and changes nothing.
    let plan = delete_mallory("--dry-run");
    for rid in ["dcos:secrets:default:alpha", "dcos:secrets:default:beta"] {
        assert!(plan.stderr.contains(rid), "{}", plan.stderr);
    }
    assert!(plan.stderr.contains("would delete"), "{}", plan.stderr);
    assert!(cluster.emulator.state().accounts.contains_key("mallory"));
    delete_mallory("--yes");
    assert!(!cluster.emulator.state().accounts.contains_key("mallory"));
    assert!(login(&iam).await.is_err(), "mallory can still log in");
    // --delete-user is for one user, whole: not with --under or --group.
    cluster
        .admin(&[
            "revoke",
            "--all",
            "--user",
            "alice",
            "--delete-user",
            "--under",
            "x",
        ])
        .expect(2);
}
