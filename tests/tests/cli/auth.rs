//! Connecting and authenticating: login, the keyring, tokens from the environment and the
//! `dcos` CLI, TLS pinning and plain http.

use std::time::Duration;

use dcos_emulator::Emulator;

use crate::harness::{Cluster, record, run};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_exits_4_with_a_hint() {
    let cluster = Cluster::start().await;
    let run = cluster
        .run_with(
            &["login", "--username", "bootstrapuser", "--password-stdin"],
            &[],
            Some(b"wrong-password\n"),
        )
        .expect(4);
    assert!(run.stderr.contains("Invalid credentials"), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("hint: check the user name and password"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("wrong-password"));
    assert!(run.stdout.is_empty());
}

/// `login` keeps the token in the OS keyring, later commands find it there, `logout` removes
/// it. Where no keyring backend works, `login` must say so, point to DCOS_ACS_TOKEN, and
/// write nothing to disk.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_keeps_the_token_in_the_keyring_until_logout() {
    let cluster = Cluster::start().await;
    let login = cluster.run_with(
        &["login", "--username", "bootstrapuser", "--password-stdin"],
        &[],
        Some(b"deleteme\n"),
    );
    let home = cluster.path("home");
    assert_eq!(
        std::fs::read_dir(&home).unwrap().count(),
        0,
        "login wrote files to the home folder"
    );
    if login.code == 1 {
        assert!(
            login.stderr.contains("no OS keyring could store the token"),
            "{}",
            login.stderr
        );
        assert!(login.stderr.contains("DCOS_ACS_TOKEN"), "{}", login.stderr);
        eprintln!("no keyring backend here; checked the refusal instead");
        return;
    }
    let login = login.expect(0);
    assert!(
        login.stdout().contains("bootstrapuser"),
        "{}",
        login.stdout()
    );

    let who = cluster
        .run_with(&["-o", "json", "whoami"], &[], None)
        .expect(0)
        .json();
    assert_eq!(who["uid"], "bootstrapuser");
    assert_eq!(who["service_account"], false);
    assert_eq!(who["token_source"], "keyring");
    assert!(who["expires_in_seconds"].as_i64().unwrap() > 0);

    let out = cluster
        .run_with(&["-o", "json", "logout"], &[], None)
        .expect(0)
        .json();
    assert_eq!(out["removed"], true);
    let again = cluster.run_with(&["whoami"], &[], None).expect(4);
    assert!(again.stderr.contains("not logged in"), "{}", again.stderr);
    let out = cluster
        .run_with(&["-o", "json", "logout"], &[], None)
        .expect(0)
        .json();
    assert_eq!(out["removed"], false);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_account_logs_in_with_its_key() {
    let cluster = Cluster::start().await;
    for uid in ["ci-bot", "other"] {
        let key = format!("{uid}.pem");
        cluster
            .admin(&["service-account", "create", uid, "--private-key-out", &key])
            .expect(0);
    }
    // Prints the token, for `export DCOS_ACS_TOKEN=...`.
    let login = |key: &str, stdin: Option<&[u8]>| {
        let args = [
            "login",
            "--service-account",
            "ci-bot",
            "--private-key",
            key,
            "--print-token",
        ];
        cluster.run_with(&args, &[], stdin)
    };
    let uid_of = |token: &str| {
        let who = cluster
            .run_with(
                &["-o", "json", "whoami"],
                &[("DCOS_ACS_TOKEN", token)],
                None,
            )
            .expect(0)
            .json();
        assert_eq!(who["token_source"], "DCOS_ACS_TOKEN");
        who["uid"].as_str().unwrap().to_owned()
    };
    // The key from a file, then from standard input.
    let token = login("ci-bot.pem", None)
        .expect(0)
        .stdout()
        .trim()
        .to_owned();
    assert_eq!(token.split('.').count(), 3, "a JWT on stdout");
    assert_eq!(uid_of(&token), "ci-bot");
    let key = std::fs::read(cluster.path("ci-bot.pem")).unwrap();
    let token = login("-", Some(&key)).expect(0).stdout().trim().to_owned();
    assert_eq!(uid_of(&token), "ci-bot");
    // Another account's key is refused.
    let refused = login("other.pem", None).expect(4);
    assert!(refused.stdout.is_empty());
}

/// CI sets the service account in the environment; an expired or rejected token is replaced
/// by a fresh login without the user noticing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_token_is_renewed_with_service_account_credentials() {
    let cluster = Cluster::with(
        Emulator::builder()
            .tls(true)
            .token_ttl(Duration::from_secs(2)),
    )
    .await;
    let admin = cluster.emulator.issue_token("bootstrapuser").unwrap();
    let admin_env = [("DCOS_ACS_TOKEN", admin.as_str())];
    cluster
        .run_with(
            &[
                "service-account",
                "create",
                "ci",
                "--private-key-out",
                "ci.pem",
            ],
            &admin_env,
            None,
        )
        .expect(0);
    cluster
        .run_with(
            &[
                "grant",
                "--user",
                "ci",
                "dcos:secrets:list:default:/",
                "read",
            ],
            &admin_env,
            None,
        )
        .expect(0);
    let key = cluster.path("ci.pem");
    let key = key.to_str().unwrap();
    let stale = cluster.emulator.issue_token("ci").unwrap();
    std::thread::sleep(Duration::from_millis(2100));

    // Without credentials, the expired token is refused with a hint.
    let refused = cluster
        .run_with(&["secret", "list"], &[("DCOS_ACS_TOKEN", &stale)], None)
        .expect(4);
    assert!(
        refused.stderr.contains("dcos-creds login"),
        "{}",
        refused.stderr
    );

    for token in [stale.as_str(), "not-even-a-jwt"] {
        let env = [
            ("DCOS_ACS_TOKEN", token),
            ("DCOS_SERVICE_ACCOUNT", "ci"),
            ("DCOS_PRIVATE_KEY_FILE", key),
        ];
        let run = cluster.run_with(&["secret", "list"], &env, None).expect(0);
        assert_eq!(run.stderr, "", "the renewal is silent");
    }
    // Credentials alone log in per run.
    let env = [
        ("DCOS_SERVICE_ACCOUNT", "ci"),
        ("DCOS_PRIVATE_KEY_FILE", key),
    ];
    let who = cluster
        .run_with(&["-o", "json", "whoami"], &env, None)
        .expect(0)
        .json();
    assert_eq!(who["uid"], "ci");
    assert_eq!(who["token_source"], "DCOS_SERVICE_ACCOUNT");
    // Half the pair is a usage error.
    cluster
        .run_with(&["secret", "list"], &[("DCOS_SERVICE_ACCOUNT", "ci")], None)
        .expect(2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dcos_cli_attached_cluster_needs_no_extra_step() {
    let cluster = Cluster::start().await;
    cluster.attach_dcos_cli(&format!("ssl_verify = \"{}\"\n", cluster.ca_file.display()));
    // No --url, no CA option, no token in the environment.
    let mut command = cluster.command();
    command
        .env_remove("DCOS_URL")
        .env_remove("DCOS_TLS_CA_PATH");
    command.args(["-o", "json", "whoami"]);
    let who = run(command, None).expect(0).json();
    assert_eq!(who["uid"], "bootstrapuser");
    assert_eq!(who["token_source"], "dcos CLI");
    assert_eq!(who["cluster"], cluster.url());

    // A token of another cluster, left in the environment, wins over the attached one; the
    // refusal names where it came from and what it shadowed.
    let other = Cluster::start().await;
    let mut command = cluster.command();
    command
        .env_remove("DCOS_URL")
        .env_remove("DCOS_TLS_CA_PATH")
        .env("DCOS_ACS_TOKEN", &other.admin_token)
        .args(["secret", "list"]);
    let refused = run(command, None).expect(4);
    assert!(
        refused.stderr.contains(
            "the token from DCOS_ACS_TOKEN (shadows dcos CLI) was refused: it has expired or is \
             not this cluster's"
        ),
        "{}",
        refused.stderr
    );
    assert!(!refused.stderr.contains(&other.admin_token));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ca_fetch_prints_the_fingerprint_and_pinning_checks_it() {
    let cluster = Cluster::start().await;
    let fetched = cluster
        .run_with(
            &["ca", "fetch", "--out", "ca.pem"],
            &[("DCOS_TLS_CA_PATH", "")],
            None,
        )
        .expect(0);
    let fingerprint = fetched.stdout().trim().to_owned();
    assert!(
        fingerprint.starts_with("sha256:") && fingerprint.len() == 71,
        "{fingerprint}"
    );
    assert!(
        fetched.stderr.contains("not verified"),
        "{}",
        fetched.stderr
    );
    assert_eq!(
        std::fs::read_to_string(cluster.path("ca.pem")).unwrap(),
        cluster.emulator.ca_pem().unwrap()
    );
    // Never overwritten.
    cluster
        .run_with(
            &["ca", "fetch", "--out", "ca.pem"],
            &[("DCOS_TLS_CA_PATH", "")],
            None,
        )
        .expect(3);

    // The right fingerprint is trusted, and only the fingerprint: no CA file.
    let env = [
        ("DCOS_TLS_CA_PATH", ""),
        ("DCOS_ACS_TOKEN", cluster.admin_token.as_str()),
    ];
    cluster
        .run_with(
            &["--ca-fingerprint", &fingerprint, "secret", "list"],
            &env,
            None,
        )
        .expect(0);
    // Without any trust setting the self-signed cluster is refused at once (exit 4, no
    // retries: a certificate does not start verifying), with a hint naming the trust used, and
    // no request gets through the handshake.
    let requests = cluster.emulator.counters().total;
    let refused = cluster.run_with(&["secret", "list"], &env, None).expect(4);
    assert!(refused.stderr.contains("--ca-cert"), "{}", refused.stderr);
    assert!(
        refused.stderr.contains("the system's web roots"),
        "{}",
        refused.stderr
    );
    assert_eq!(cluster.emulator.counters().total, requests);
    record(
        "TLS: a self-signed cluster without its CA is refused, with a hint",
        1,
        1,
        1,
        0,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fingerprint_mismatch_is_refused_before_any_token_is_sent() {
    let cluster = Cluster::start().await;
    let wrong = format!("sha256:{}", "00".repeat(32));
    let env = [
        ("DCOS_TLS_CA_PATH", ""),
        ("DCOS_ACS_TOKEN", cluster.admin_token.as_str()),
    ];
    let run = cluster
        .run_with(&["--ca-fingerprint", &wrong, "secret", "list"], &env, None)
        .expect(4);
    assert!(
        run.stderr.contains("does not match --ca-fingerprint"),
        "{}",
        run.stderr
    );
    let counters = cluster.emulator.counters();
    assert_eq!(
        counters.total, 1,
        "only the CA was fetched: {:?}",
        counters.requests
    );
    assert_eq!(
        counters.requests.keys().collect::<Vec<_>>(),
        ["GET /ca/dcos-ca.crt"]
    );
    record(
        "TLS: a wrong CA fingerprint is refused before any token is sent",
        1,
        1,
        1,
        0,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_http_beyond_loopback_needs_allow_http() {
    let cluster = Cluster::start().await;
    let env = [
        ("DCOS_ACS_TOKEN", "t"),
        ("DCOS_URL", "http://dcos.example.invalid"),
    ];
    let run = cluster.run_with(&["secret", "list"], &env, None).expect(2);
    assert!(run.stderr.contains("--allow-http"), "{}", run.stderr);
    // Allowed, it tries, and the host does not exist.
    cluster
        .run_with(
            &["--allow-http", "--timeout", "2", "secret", "list"],
            &env,
            None,
        )
        .expect(6);
    // A cluster that is not there is exit 6 too.
    let env = [("DCOS_ACS_TOKEN", "t"), ("DCOS_URL", "https://127.0.0.1:9")];
    cluster.run_with(&["secret", "list"], &env, None).expect(6);
    record(
        "TLS: plain http beyond loopback needs --allow-http",
        1,
        1,
        1,
        0,
    );
}
