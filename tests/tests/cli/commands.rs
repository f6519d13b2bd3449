//! The secret, grant, service-account and completion commands.

use dcos_emulator::state::Secret;
use dcos_iam_client::{Action, Principal, Rid, Uid};

use crate::harness::Cluster;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_value_from_stdin_keeps_its_bytes_exactly() {
    let cluster = Cluster::start().await;
    let value = b"  line one\nline two\n\n";
    cluster
        .admin_stdin(
            &["secret", "create", "team/text", "--value-file", "-"],
            value,
        )
        .expect(0);
    let got = cluster.admin(&["secret", "get", "team/text"]).expect(0);
    assert_eq!(got.stdout, value);
    assert_eq!(
        cluster.emulator.state().secrets["team/text"],
        Secret::Text(String::from_utf8(value.to_vec()).unwrap())
    );

    // Binary bytes, stored as binary and written back raw.
    let bytes: Vec<u8> = (0..=255u8).rev().collect();
    cluster
        .admin_stdin(
            &["secret", "put", "team/bin", "--value-file", "-", "--binary"],
            &bytes,
        )
        .expect(0);
    assert_eq!(
        cluster.emulator.state().secrets["team/bin"],
        Secret::Binary(bytes.clone())
    );
    assert_eq!(
        cluster
            .admin(&["secret", "get", "team/bin"])
            .expect(0)
            .stdout,
        bytes
    );
    let json = cluster
        .admin(&["-o", "json", "secret", "get", "team/bin"])
        .expect(0)
        .json();
    assert_eq!(json["binary"], true);
    assert!(json["value_base64"].is_string());

    // The same bytes as text are refused, naming the fix.
    let refused = cluster
        .admin_stdin(&["secret", "put", "team/bin2", "--value-file", "-"], &bytes)
        .expect(2);
    assert!(refused.stderr.contains("--binary"), "{}", refused.stderr);
    assert!(!cluster.emulator.state().secrets.contains_key("team/bin2"));

    // From a file.
    std::fs::write(cluster.path("v.txt"), "from a file\n").unwrap();
    cluster
        .admin(&["secret", "update", "team/text", "--value-file", "v.txt"])
        .expect(0);
    let json = cluster
        .admin(&["-o", "json", "secret", "get", "/team/text"])
        .expect(0)
        .json();
    assert_eq!(
        json,
        serde_json::json!({"path": "team/text", "value": "from a file\n", "binary": false})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secret_commands_report_and_exit_as_documented() {
    let cluster = Cluster::start().await;
    let put = |value: &[u8]| {
        cluster
            .admin_stdin(
                &[
                    "-o",
                    "json",
                    "secret",
                    "put",
                    "app/key",
                    "--value-file",
                    "-",
                ],
                value,
            )
            .expect(0)
            .json()["outcome"]
            .clone()
    };
    assert_eq!(put(b"one"), "created");
    assert_eq!(put(b"one"), "unchanged");
    assert_eq!(put(b"two"), "updated");

    let exists = cluster
        .admin_stdin(
            &["secret", "create", "app/key", "--value-file", "-"],
            b"three",
        )
        .expect(3);
    assert!(exists.stderr.contains("secret put"), "{}", exists.stderr);
    assert_eq!(
        cluster.emulator.state().secrets["app/key"],
        Secret::Text("two".into())
    );

    cluster
        .admin_stdin(
            &["secret", "update", "app/missing", "--value-file", "-"],
            b"x",
        )
        .expect(5);
    cluster.admin(&["secret", "get", "app/missing"]).expect(5);

    // Invalid input is refused before any request.
    let before = cluster.emulator.counters().total;
    let bad = cluster
        .admin_stdin(&["secret", "put", "app/../etc", "--value-file", "-"], b"x")
        .expect(2);
    assert!(bad.stderr.contains(".."), "{}", bad.stderr);
    cluster.admin(&["secret", "put", "app/x"]).expect(2);
    assert_eq!(cluster.emulator.counters().total, before);

    cluster
        .admin_stdin(
            &["secret", "create", "app/sub/other", "--value-file", "-"],
            b"y",
        )
        .expect(0);
    let all = cluster.admin(&["secret", "list"]).expect(0);
    assert_eq!(all.stdout(), "app/key\napp/sub/other\n");
    let below = cluster
        .admin(&["-o", "json", "secret", "list", "app/sub"])
        .expect(0)
        .json();
    assert_eq!(
        below,
        serde_json::json!({"path": "app/sub", "secrets": ["other"]})
    );

    let deleted = cluster
        .admin(&["-o", "json", "secret", "delete", "app/key", "--yes"])
        .expect(0)
        .json();
    assert_eq!(deleted["outcome"], "deleted");
    cluster.admin(&["secret", "delete", "app/key"]).expect(5);
    assert!(!cluster.emulator.state().secrets.contains_key("app/key"));

    // Someone without permission.
    let token = cluster.emulator.issue_token("nobody").unwrap();
    cluster
        .run_with(&["secret", "list"], &[("DCOS_ACS_TOKEN", &token)], None)
        .expect(4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grant_and_revoke_converge_and_name_a_missing_principal() {
    let cluster = Cluster::start().await;
    let (iam, _) = cluster.clients();
    let rid = "dcos:secrets:list:default:team/key";

    let missing = cluster
        .admin(&["grant", "--user", "ghost", rid, "read"])
        .expect(5);
    assert!(
        missing.stderr.contains("user `ghost` does not exist"),
        "{}",
        missing.stderr
    );
    let missing = cluster
        .admin(&["grant", "--group", "ghosts", rid, "read"])
        .expect(5);
    assert!(
        missing.stderr.contains("group `ghosts` does not exist"),
        "{}",
        missing.stderr
    );
    assert!(
        !cluster.emulator.state().acls.contains_key(rid),
        "nothing was created"
    );

    cluster
        .admin(&[
            "service-account",
            "create",
            "sa",
            "--private-key-out",
            "sa.pem",
        ])
        .expect(0);
    let grant = |args: &[&str]| cluster.admin(args).expect(0).json()["outcome"].clone();
    let args = [
        "-o",
        "json",
        "grant",
        "--user",
        "sa",
        rid,
        "read",
        "--description",
        "Team key",
    ];
    assert_eq!(grant(&args), "granted");
    assert_eq!(grant(&args), "already_granted");
    let acl = &cluster.emulator.state().acls[rid];
    assert_eq!(acl.description, "Team key");
    let sa = Principal::User(Uid::new("sa").unwrap());
    assert!(
        iam.acl(&Rid::new(rid).unwrap())
            .is_granted(&sa, Action::Read)
            .await
            .unwrap()
    );

    let args = ["-o", "json", "revoke", "--user", "sa", rid, "read"];
    assert_eq!(grant(&args), "revoked");
    assert_eq!(grant(&args), "not_granted");
    assert!(
        !iam.acl(&Rid::new(rid).unwrap())
            .is_granted(&sa, Action::Read)
            .await
            .unwrap()
    );

    cluster
        .admin(&["grant", "--user", "sa", rid, "fly"])
        .expect(2);
    cluster
        .admin(&["grant", "--user", "sa", "has space", "read"])
        .expect(2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn service_account_create_writes_a_private_key_and_the_login_secret() {
    let cluster = Cluster::start().await;
    let created = cluster
        .admin(&[
            "-o",
            "json",
            "service-account",
            "create",
            "spark",
            "--private-key-out",
            "spark.pem",
            "--public-key-out",
            "spark.pub",
            "--secret",
            "spark/service-account",
            "--description",
            "Spark jobs",
        ])
        .expect(0)
        .json();
    assert_eq!(created["secret"], "spark/service-account");
    let key = std::fs::read_to_string(cluster.path("spark.pem")).unwrap();
    assert!(key.starts_with("-----BEGIN PRIVATE KEY-----"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(cluster.path("spark.pem"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let state = cluster.emulator.state();
    let account = &state.accounts["spark"];
    assert_eq!(account.description, "Spark jobs");
    assert_eq!(
        account.public_key.as_deref().map(str::trim),
        Some(
            std::fs::read_to_string(cluster.path("spark.pub"))
                .unwrap()
                .trim()
        )
    );
    let Secret::Text(login) = &state.secrets["spark/service-account"] else {
        panic!("the login secret is text");
    };
    let login: serde_json::Value = serde_json::from_str(login).unwrap();
    assert_eq!(login["scheme"], "RS256");
    assert_eq!(login["uid"], "spark");
    assert_eq!(login["private_key"], key.as_str());
    assert_eq!(
        login["login_endpoint"],
        "https://leader.mesos/acs/api/v1/auth/login"
    );

    // The key file is never overwritten, and nothing is created when it exists.
    let again = cluster
        .admin(&[
            "service-account",
            "create",
            "spark2",
            "--private-key-out",
            "spark.pem",
        ])
        .expect(3);
    assert!(again.stderr.contains("already exists"), "{}", again.stderr);
    assert_eq!(
        std::fs::read_to_string(cluster.path("spark.pem")).unwrap(),
        key
    );
    assert!(!cluster.emulator.state().accounts.contains_key("spark2"));

    // An existing account: exit 3, and the new key file is not left behind.
    cluster
        .admin(&[
            "service-account",
            "create",
            "spark",
            "--private-key-out",
            "new.pem",
        ])
        .expect(3);
    assert!(!cluster.path("new.pem").exists());
    // An existing login secret: exit 3 before anything is created.
    cluster
        .admin(&[
            "service-account",
            "create",
            "spark3",
            "--private-key-out",
            "s3.pem",
            "--secret",
            "spark/service-account",
        ])
        .expect(3);
    assert!(!cluster.path("s3.pem").exists());
    assert!(!cluster.emulator.state().accounts.contains_key("spark3"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn completions_are_printed_for_each_shell() {
    let cluster = Cluster::start().await;
    for shell in ["bash", "zsh", "fish"] {
        let run = cluster
            .run_with(&["completions", shell], &[], None)
            .expect(0);
        assert!(run.stdout().contains("dcos-creds"), "{shell}");
        assert!(run.stdout().contains("service-account"), "{shell}");
    }
    cluster
        .run_with(&["completions", "cmd.exe"], &[], None)
        .expect(2);
}
