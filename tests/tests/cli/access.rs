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

/// `access --user` and `--group` against the emulator's own authorization: for every principal
/// and every secret, a read of the value as that principal succeeds exactly when the report
/// lists the secret as readable, and a listing of its name exactly when it lists it as
/// listable. The cluster holds every way a permission reaches a secret.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_of_a_principal_agrees_with_the_clusters_authorization() {
    let cluster = Cluster::start().await;
    let (iam, secrets) = cluster.clients();
    let paths = ["team/db", "team/sub/key", "other/x", "root-key", "teams/y"];
    for path in paths {
        let path = dcos_secrets_client::SecretPath::new(path).unwrap();
        secrets
            .secret(&path)
            .create(&dcos_secrets_client::SecretValue::text("v"))
            .await
            .unwrap();
    }
    let users = ["alice", "bob", "carol", "dave", "eve", "boss", "nobody"];
    for uid in users {
        iam.user(&Uid::new(uid).unwrap())
            .create_user("", &SecretString::from("password"))
            .await
            .unwrap();
    }
    for (gid, members) in [
        ("data", &["carol", "bob"][..]),
        ("all", &["eve"][..]),
        ("superusers", &["boss"][..]),
    ] {
        let gid = Gid::new(gid).unwrap();
        let group = iam.group(&gid);
        if gid.as_str() != "superusers" {
            group.create(gid.as_str()).await.unwrap();
        }
        for uid in members {
            group.add_member(&Uid::new(uid).unwrap()).await.unwrap();
        }
    }
    let grants: [(&str, &str, &str, &str); 9] = [
        ("--user", "alice", "dcos:secrets:default:team/db", "read"),
        ("--user", "alice", "dcos:secrets:list:default:team", "read"),
        ("--group", "data", "dcos:secrets:default:team/*", "read"),
        ("--user", "bob", "dcos:secrets:default:/other/x", "full"),
        ("--user", "bob", "dcos:secrets:list:default:/", "read"),
        ("--user", "dave", "dcos:secrets:default:team/db", "update"),
        ("--user", "dave", "dcos:secrets:list:default:team/*", "read"),
        ("--group", "all", "dcos:secrets:default:*", "read"),
        ("--user", "carol", "dcos:superuser", "full"),
    ];
    for (flag, who, rid, action) in grants {
        cluster
            .admin(&["grant", flag, who, rid, action, "--any-rid"])
            .expect(0);
    }

    let report = |flag: &str, who: &str| -> (Vec<String>, Vec<String>, Value) {
        let doc = cluster
            .admin(&["-o", "json", "access", flag, who])
            .expect(0)
            .json();
        let paths = |key: &str| {
            let mut paths: Vec<String> = doc[key]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["path"].as_str().unwrap().to_owned())
                .collect();
            paths.dedup();
            paths
        };
        (paths("readable"), paths("listable"), doc)
    };
    // `audit` of the same cluster, read once, must say the same for every principal.
    let audit = cluster.admin(&["-o", "json", "audit"]).expect(0).json();
    let audited = |path: &str, key: &str, uid: &str| -> bool {
        audit["secrets"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["path"] == path)
            .unwrap_or_else(|| panic!("{path} is not in the audit"))[key]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["principal"] == uid && e["principal_type"] != "group")
    };
    let mut checked = 0;
    for uid in users {
        let (readable, listable, doc) = report("--user", uid);
        assert_eq!(doc["principal_type"], "user");
        let token = cluster.emulator.issue_token(uid).unwrap();
        let transport = dcos_transport::Transport::builder(cluster.url())
            .pin_ca_pem(cluster.emulator.ca_pem().unwrap().as_bytes())
            .token(SecretString::from(token))
            .max_retries(0)
            .build()
            .unwrap();
        let as_user = dcos_secrets_client::SecretsClient::new(transport.clone());
        for path in paths {
            let secret_path = dcos_secrets_client::SecretPath::new(path).unwrap();
            let may_read = as_user.secret(&secret_path).get().await.is_ok();
            assert_eq!(
                may_read,
                readable.iter().any(|p| p == path),
                "{uid} reading {path}: {doc}"
            );
            let may_list = transport
                .send(dcos_transport::Request::get(format!(
                    "/secrets/v1/secret/default/{path}?list=true"
                )))
                .await
                .is_ok();
            assert_eq!(
                may_list,
                listable.iter().any(|p| p == path),
                "{uid} listing {path}: {doc}"
            );
            assert_eq!(
                may_read,
                audited(path, "value_readers", uid),
                "audit: {uid} reading {path}"
            );
            assert_eq!(
                may_list,
                audited(path, "name_listers", uid),
                "audit: {uid} listing {path}"
            );
            checked += 2;
        }
    }
    assert_eq!(checked, users.len() * paths.len() * 2);

    // The ways are named as `access PATH` names them.
    let (_, _, alice) = report("--user", "alice");
    let db = alice["readable"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["path"] == "team/db")
        .unwrap()
        .clone();
    assert_eq!(db["via"], "direct");
    assert_eq!(db["reach"], "exact");
    let (readable, _, carol) = report("--user", "carol");
    assert_eq!(
        readable.len(),
        paths.len(),
        "a superuser reads everything: {carol}"
    );
    assert!(
        carol["readable"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["reach"] == "wildcard" && e["group"] == "data"),
        "{carol}"
    );
    // A group on its own, and --under.
    let (readable, _, data) = report("--group", "data");
    assert_eq!(readable, ["team/db", "team/sub/key"], "{data}");
    assert_eq!(data["principal_type"], "group");
    let under = cluster
        .admin(&["-o", "json", "access", "--user", "eve", "--under", "team"])
        .expect(0)
        .json();
    let paths: Vec<&str> = under["readable"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["team/db", "team/sub/key"]);
    let text = cluster
        .admin(&["access", "--user", "alice"])
        .expect(0)
        .stdout();
    assert!(
        text.contains("user alice can read the values of:"),
        "{text}"
    );
    assert!(text.contains("REACH"), "{text}");
    cluster.admin(&["access", "--user", "ghost"]).expect(5);
}
