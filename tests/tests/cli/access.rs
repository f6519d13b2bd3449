//! `access`: who can read a secret's value, and who can see its name.

use dcos_iam_client::{Gid, Uid};
use secrecy::SecretString;
use serde_json::Value;

use crate::harness::Cluster;

/// Whether `entries` holds `principal` reaching the secret `via` and `reach`.
fn has(entries: &Value, principal: &str, via: &str, reach: &str) -> bool {
    entries
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["principal"] == principal && e["via"] == via && e["reach"] == reach)
}

fn names(entries: &Value) -> Vec<&str> {
    let mut names: Vec<&str> = entries
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["principal"].as_str().unwrap())
        .collect();
    names.dedup();
    names
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_finds_readers_through_groups_wildcards_and_ancestors() {
    let cluster = Cluster::start().await;
    let (iam, _) = cluster.clients();
    cluster
        .admin_stdin(&["secret", "create", "team/db", "--value-file", "-"], b"pw")
        .expect(0);
    cluster
        .admin(&[
            "service-account",
            "create",
            "reader",
            "--private-key-out",
            "reader.pem",
        ])
        .expect(0);
    let data = Gid::new("data").unwrap();
    iam.group(&data).create("Data team").await.unwrap();
    iam.group(&data)
        .add_member(&Uid::new("reader").unwrap())
        .await
        .unwrap();
    for uid in ["lister", "owner", "unrelated", "creator"] {
        iam.user(&Uid::new(uid).unwrap())
            .create_user("", &SecretString::from("password"))
            .await
            .unwrap();
    }
    let grants: [&[&str]; 5] = [
        &[
            "grant",
            "--group",
            "data",
            "dcos:secrets:default:team/*",
            "read",
        ],
        &[
            "grant",
            "--user",
            "lister",
            "dcos:secrets:list:default:/team",
            "read",
        ],
        &[
            "grant",
            "--user",
            "owner",
            "dcos:secrets:default:/team/db",
            "full",
        ],
        &[
            "grant",
            "--user",
            "unrelated",
            "dcos:secrets:default:other/*",
            "read",
        ],
        // `create` does not read.
        &[
            "grant",
            "--user",
            "creator",
            "dcos:secrets:default:team/db",
            "create",
        ],
    ];
    for args in grants {
        cluster.admin(args).expect(0);
    }

    let report = cluster
        .admin(&["-o", "json", "access", "team/db"])
        .expect(0)
        .json();
    let readers = &report["value_readers"];
    assert!(has(readers, "reader", "group", "wildcard"), "{readers:#}");
    assert!(has(readers, "data", "direct", "wildcard"), "{readers:#}");
    assert!(has(readers, "owner", "direct", "exact"), "{readers:#}");
    assert!(
        has(readers, "bootstrapuser", "group", "superuser"),
        "{readers:#}"
    );
    assert_eq!(names(readers), ["bootstrapuser", "data", "owner", "reader"]);
    let entry = readers
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["principal"] == "reader")
        .unwrap();
    assert_eq!(entry["principal_type"], "service_account");
    assert_eq!(entry["group"], "data");
    assert_eq!(entry["rid"], "dcos:secrets:default:team/*");

    let listers = &report["name_listers"];
    assert!(has(listers, "lister", "direct", "ancestor"), "{listers:#}");
    assert_eq!(names(listers), ["bootstrapuser", "lister"]);

    // The table says the same for people.
    let table = cluster.admin(&["access", "team/db"]).expect(0).stdout();
    assert!(table.contains("Can read the value of team/db:"), "{table}");
    assert!(table.contains("group data"), "{table}");
    assert!(!table.contains("unrelated"), "{table}");

    cluster.admin(&["access", "team/../db"]).expect(2);
}
