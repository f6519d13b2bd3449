//! `audit`: every secret's access document, the findings, CSV and the HTML page, read by an
//! auditor that may not read a single secret value.

use dcos_iam_client::{Gid, Uid};
use secrecy::SecretString;
use serde_json::json;

use crate::harness::Cluster;

/// Values that must never appear in an audit's output.
const CANARIES: [(&str, &str); 4] = [
    ("team/db", "canary-db-7f1e"),
    ("team/sub/key", "canary-key-0b2c"),
    ("other/x", "canary-x-55aa"),
    ("orphan/y", "canary-y-c3d4"),
];

/// A cluster with every kind of finding, and `auditor`, who may use the IAM API and list every
/// name but read no value. Returns the auditor's token.
async fn audited_cluster() -> (Cluster, String) {
    let cluster = Cluster::start().await;
    let (iam, _) = cluster.clients();
    for (path, value) in CANARIES {
        cluster
            .admin_stdin(
                &["secret", "create", path, "--value-file", "-"],
                value.as_bytes(),
            )
            .expect(0);
    }
    cluster
        .admin(&[
            "service-account",
            "create",
            "ci-bot",
            "--private-key-out",
            "ci.pem",
            "--secret",
            "ci-bot/sa",
        ])
        .expect(0);
    cluster
        .admin(&[
            "service-account",
            "create",
            "nosecret",
            "--private-key-out",
            "n.pem",
        ])
        .expect(0);
    for uid in ["alice", "bob", "auditor"] {
        iam.user(&Uid::new(uid).unwrap())
            .create_user("", &SecretString::from("password"))
            .await
            .unwrap();
    }
    let data = Gid::new("data").unwrap();
    iam.group(&data).create("data").await.unwrap();
    iam.group(&data)
        .add_member(&Uid::new("alice").unwrap())
        .await
        .unwrap();
    let grants: [(&str, &str, &str, &str); 7] = [
        ("--user", "ci-bot", "dcos:secrets:default:team/*", "read"),
        ("--group", "data", "dcos:secrets:default:other/x", "read"),
        ("--user", "alice", "dcos:secrets:list:default:team", "read"),
        ("--user", "bob", "dcos:secrets:default:gone/z", "full"),
        ("--user", "auditor", "dcos:adminrouter:acs", "full"),
        ("--user", "auditor", "dcos:secrets:list:default:/", "read"),
        // Who uses each secret: Marathon's apps and pods.
        (
            "--user",
            "auditor",
            "dcos:adminrouter:service:marathon",
            "full",
        ),
    ];
    for (flag, who, rid, action) in grants {
        cluster.admin(&["grant", flag, who, rid, action]).expect(0);
    }
    let token = cluster.emulator.issue_token("auditor").unwrap();
    (cluster, token)
}

fn assert_no_values(what: &str, text: &str) {
    for (path, value) in CANARIES {
        assert!(!text.contains(value), "{what} holds the value of {path}");
    }
}

/// Requirement: one read, every secret's `access PATH` document, the findings, no value read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_gives_every_secrets_access_and_the_findings_without_reading_a_value() {
    let (cluster, auditor) = audited_cluster().await;
    let as_auditor = |args: &[&str]| cluster.run_with(args, &[("DCOS_ACS_TOKEN", &auditor)], None);
    // The auditor may read no value: a single value read would fail the run.
    let run = as_auditor(&["-o", "json", "audit"]).expect(0);
    assert_no_values("the JSON", &run.stdout());
    let audit = run.json();
    let secrets = audit["secrets"].as_array().unwrap();
    let paths: Vec<&str> = secrets
        .iter()
        .map(|s| s["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        paths,
        [
            "ci-bot/sa",
            "orphan/y",
            "other/x",
            "team/db",
            "team/sub/key"
        ]
    );
    for secret in secrets {
        let path = secret["path"].as_str().unwrap();
        let single = cluster
            .admin(&["-o", "json", "access", path])
            .expect(0)
            .json();
        assert_eq!(secret, &single, "audit and access {path} differ");
    }
    let expected = json!([
        {"kind": "only_superusers", "path": "ci-bot/sa"},
        {"kind": "only_superusers", "path": "orphan/y"},
        {"kind": "wildcard", "path": "team/db", "rid": "dcos:secrets:default:team/*",
         "principal": "ci-bot", "principal_type": "service_account"},
        {"kind": "wildcard", "path": "team/sub/key", "rid": "dcos:secrets:default:team/*",
         "principal": "ci-bot", "principal_type": "service_account"},
        {"kind": "full", "rid": "dcos:secrets:default:gone/z", "principal": "bob",
         "principal_type": "user"},
        {"kind": "dangling_grant", "rid": "dcos:secrets:default:gone/z", "principal": "bob",
         "principal_type": "user", "action": "full"},
        {"kind": "no_login_secret", "uid": "nosecret"},
    ]);
    assert_eq!(audit["findings"], expected, "{}", audit["findings"]);

    // Below a folder: its secrets only, and no login-secret finding (the whole store is not
    // seen).
    let team = as_auditor(&["-o", "json", "audit", "--under", "team"])
        .expect(0)
        .json();
    let paths: Vec<&str> = team["secrets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["team/db", "team/sub/key"]);
    assert!(
        team["findings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["kind"] == "wildcard"),
        "{}",
        team["findings"]
    );

    let text = as_auditor(&["audit"]).expect(0).stdout();
    assert_no_values("the text", &text);
    assert!(text.contains("7 findings:"), "{text}");
    assert!(
        text.contains("service account nosecret: no login secret found"),
        "{text}"
    );
}

/// Requirement: `-o csv`, one row per secret, principal and way.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_as_csv_has_a_row_per_way() {
    let (cluster, auditor) = audited_cluster().await;
    let env = [("DCOS_ACS_TOKEN", auditor.as_str())];
    let csv = cluster
        .run_with(&["-o", "csv", "audit"], &env, None)
        .expect(0)
        .stdout();
    assert_no_values("the CSV", &csv);
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("secret,principal,principal_type,scope,via,group,rid,action,reach")
    );
    let rows: Vec<&str> = lines.collect();
    assert!(
        rows.contains(
            &"team/db,ci-bot,service_account,read,direct,,dcos:secrets:default:team/*,read,wildcard"
        ),
        "{csv}"
    );
    assert!(
        rows.contains(
            &"other/x,alice,user,read,group,data,dcos:secrets:default:other/x,read,exact"
        ),
        "{csv}"
    );
    let json = cluster
        .run_with(&["-o", "json", "audit"], &env, None)
        .expect(0)
        .json();
    let ways: usize = json["secrets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            s["value_readers"].as_array().unwrap().len()
                + s["name_listers"].as_array().unwrap().len()
        })
        .sum();
    assert_eq!(rows.len(), ways);
    // Other commands have no CSV.
    cluster.admin(&["-o", "csv", "secret", "list"]).expect(2);
}

/// The cells of the row of `path`, by the principal of each column.
fn row_cells(page: &str, path: &str) -> Vec<(String, String)> {
    let head = &page[page.find("<thead>").unwrap()..page.find("</thead>").unwrap()];
    let principals: Vec<String> = head
        .split("data-principal=\"")
        .skip(1)
        .map(|rest| rest[..rest.find('"').unwrap()].to_owned())
        .collect();
    let start = page
        .find(&format!("<tr data-secret=\"{path}\" "))
        .unwrap_or_else(|| panic!("no row for {path}"));
    let row = &page[start..start + page[start..].find("</tr>").unwrap()];
    // The principals' cells, after the one of the apps and pods that use the secret.
    let cells: Vec<String> = row
        .split("<td")
        .skip(1)
        .filter(|cell| !cell.starts_with(" class=\"used\""))
        .map(|cell| {
            let text = &cell[cell.find('>').unwrap() + 1..cell.find("</td>").unwrap()];
            text.to_owned()
        })
        .collect();
    assert_eq!(
        cells.len(),
        principals.len(),
        "one cell per principal in {path}"
    );
    principals.into_iter().zip(cells).collect()
}

/// Requirement: `--html FILE`, one self-contained page: the matrix, the findings, the cluster
/// and the time of the read, and no value anywhere.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_writes_one_self_contained_html_page() {
    let (cluster, auditor) = audited_cluster().await;
    let env = [("DCOS_ACS_TOKEN", auditor.as_str())];
    cluster
        .run_with(&["audit", "--html", "audit.html"], &env, None)
        .expect(0);
    let page = std::fs::read_to_string(cluster.path("audit.html")).unwrap();
    assert_no_values("the page", &page);
    assert!(page.starts_with("<!doctype html>"));
    for external in ["<link", " src=", "@import", "url("] {
        assert!(!page.contains(external), "the page loads {external}");
    }
    assert!(page.contains(&format!(
        "<strong id=\"cluster\">{}</strong>",
        cluster.url()
    )));
    assert!(page.contains("<time id=\"read-at\" datetime=\"20"));
    assert!(page.contains("<h2>Findings <span class=\"count\">7</span></h2>"));
    for filter in ["filter-secret", "filter-principal", "filter-used"] {
        assert!(page.contains(&format!("id=\"{filter}\"")), "no {filter}");
    }
    let cell = |path: &str, principal: &str| -> String {
        row_cells(&page, path)
            .into_iter()
            .find(|(p, _)| p == principal)
            .map(|(_, c)| c)
            .unwrap_or_default()
    };
    assert_eq!(cell("team/db", "ci-bot"), "R");
    assert_eq!(cell("team/db", "alice"), "L");
    assert_eq!(cell("other/x", "alice"), "R");
    assert_eq!(cell("other/x", "data"), "R");
    assert_eq!(cell("orphan/y", "bootstrapuser"), "RL");
    assert_eq!(cell("orphan/y", "ci-bot"), "");
    // Never written over an existing file.
    cluster
        .run_with(&["audit", "--html", "audit.html"], &env, None)
        .expect(3);
}
