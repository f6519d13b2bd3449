//! `dcos-creds` among the DC/OS tools: packed as a `dcos` CLI plugin and run the way the `dcos`
//! CLI runs it, on a cluster set up the way `dcos cluster setup` sets it up, and inside a
//! cluster with `DCOS_SERVICE_ACCOUNT_CREDENTIAL`.

use std::io::Read;
use std::path::Path;
use std::time::Duration;

use dcos_emulator::Emulator;
use dcos_iam_client::{KeyPair, KeySize, ServiceAccountSecret, Uid};

use crate::harness::{Cluster, binary, run};

/// The plugin zip that `scripts/dcos-plugin.sh` packs around the binary under test.
fn plugin_zip(dir: &Path) -> std::path::PathBuf {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/dcos-plugin.sh");
    let out = std::process::Command::new("bash")
        .arg(script)
        .arg(dir)
        .env("DCOS_CREDS_BIN", binary())
        .output()
        .expect("the packing script runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    dir.join("dcos-creds.zip")
}

/// Unpacks the plugin as the dcos CLI does, file modes kept; the plugin's folder.
fn unpack(zip: &Path, into: &Path) -> String {
    let mut archive = zip::ZipArchive::new(std::fs::File::open(zip).unwrap()).unwrap();
    let mut toml = String::new();
    archive
        .by_name("plugin.toml")
        .unwrap()
        .read_to_string(&mut toml)
        .unwrap();
    let mut entry = archive.by_name("bin/dcos-creds").unwrap();
    assert_eq!(
        entry.unix_mode().map(|m| m & 0o777),
        Some(0o755),
        "stored executable"
    );
    let mut bytes = Vec::new();
    entry.read_to_end(&mut bytes).unwrap();
    std::fs::create_dir_all(into.join("bin")).unwrap();
    let path = into.join("bin/dcos-creds");
    std::fs::write(&path, bytes).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    toml
}

/// Requirement: the zip holds plugin.toml naming the `creds` command and `bin/dcos-creds`
/// stored executable; run as the dcos CLI runs a plugin (the command name first, its
/// environment), it behaves as `dcos-creds` itself, verbosity and TLS settings included.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_plugin_runs_as_the_dcos_cli_runs_it() {
    let cluster = Cluster::start().await;
    let toml = unpack(&plugin_zip(&cluster.path("dist")), &cluster.path("plugin"));
    assert!(toml.contains("name = \"creds\""), "{toml}");
    assert!(toml.contains("path = \"bin/dcos-creds\""), "{toml}");
    assert!(
        toml.contains("description = \"Manage DC/OS Enterprise secrets"),
        "{toml}"
    );
    let plugin = cluster.path("plugin/bin/dcos-creds");

    // The environment the dcos CLI gives a plugin, `dcos -v` included.
    let dcos_env = |command: &mut std::process::Command| {
        command
            .env("DCOS_ACS_TOKEN", &cluster.admin_token)
            .env("DCOS_CLI_EXECUTABLE_PATH", "/usr/local/bin/dcos")
            .env("DCOS_CLI_VERSION", "1.2.0")
            .env("DCOS_VERBOSITY", "1")
            .env("DCOS_LOG_LEVEL", "info")
            .env("DCOS_CREDS_EXTRA", "from the [creds] table");
    };
    let mut command = cluster.command_for(&plugin);
    command.args(["creds", "whoami", "-o", "json"]);
    dcos_env(&mut command);
    let whoami = run(command, None).expect(0);
    assert_eq!(whoami.json()["uid"], "bootstrapuser");
    // DCOS_VERBOSITY=1 is -v: it says where the token came from.
    assert!(
        whoami.stderr.contains("DCOS_ACS_TOKEN"),
        "{}",
        whoami.stderr
    );

    let mut info = cluster.command_for(&plugin);
    info.args(["creds", "--info"]);
    let info = run(info, None).expect(0);
    assert!(info.stdout().starts_with("Manage DC/OS Enterprise secrets"));

    // Its exit code is the dcos CLI's.
    let mut missing = cluster.command_for(&plugin);
    missing.args(["creds", "secret", "get", "no/such/secret"]);
    dcos_env(&mut missing);
    run(missing, None).expect(5);

    // DCOS_TLS_INSECURE=1 in place of a CA: https works, with a warning.
    let mut insecure = cluster.command_for(&plugin);
    insecure
        .args(["creds", "whoami"])
        .env_remove("DCOS_TLS_CA_PATH")
        .env("DCOS_TLS_INSECURE", "1");
    dcos_env(&mut insecure);
    let insecure = run(insecure, None).expect(0);
    assert!(
        insecure.stderr.contains("DCOS_TLS_INSECURE"),
        "{}",
        insecure.stderr
    );

    // Over plain http (where the dcos CLI sets it too) there is nothing to warn about.
    let plain = Emulator::builder().start().await.unwrap();
    let token = plain.issue_token("bootstrapuser").unwrap();
    let mut http = cluster.command_for(&plugin);
    http.args(["creds", "whoami"])
        .env_remove("DCOS_TLS_CA_PATH")
        .env("DCOS_URL", plain.url())
        .env("DCOS_TLS_INSECURE", "1")
        .env("DCOS_ACS_TOKEN", &token);
    let http = run(http, None).expect(0);
    assert!(!http.stderr.contains("warning"), "{}", http.stderr);
}

/// An answer's JSON body.
async fn json(answer: reqwest::Response) -> serde_json::Value {
    let bytes = answer.bytes().await.unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

/// Requirement: the exact request sequence of `dcos cluster setup` works against the emulator,
/// and `dcos-creds` then works from the `~/.dcos` it writes, with nothing else set.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dcos_cluster_setup_works_and_its_config_is_enough() {
    let cluster = Cluster::start().await;
    let url = cluster.url().to_owned();
    let web_roots = reqwest::Client::builder().use_rustls_tls().build().unwrap();
    // 1. HEAD / for the canonical URL: the cluster's certificate is unknown, so TLS fails;
    let unknown = web_roots.head(format!("{url}/")).send().await;
    assert!(unknown.is_err(), "an unknown CA is refused");
    // 2. so the CA is downloaded, unverified, for the user to accept.
    let unverified = reqwest::Client::builder()
        .use_rustls_tls()
        .danger_accept_invalid_certs(true)
        .build()
        .unwrap();
    let ca = unverified
        .get(format!("{url}/ca/dcos-ca.crt"))
        .send()
        .await
        .unwrap();
    assert_eq!(ca.status(), 200);
    let ca = ca.text().await.unwrap();
    let pinned = reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(ca.as_bytes()).unwrap())
        .build()
        .unwrap();
    let head = pinned.head(format!("{url}/")).send().await.unwrap();
    assert_eq!(head.status(), 200);
    // 3. The login providers.
    let providers = json(
        pinned
            .get(format!("{url}/acs/api/v1/auth/providers"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(providers.get("dcos-users").is_some(), "{providers}");
    // 4. The auth challenge.
    let challenge = pinned
        .head(format!("{url}/pkgpanda/active.buildinfo.full.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(challenge.status(), 401);
    assert_eq!(challenge.headers()["www-authenticate"], "acsjwt");
    // 5. The login.
    let login = json(
        pinned
            .post(format!("{url}/acs/api/v1/auth/login"))
            .header("content-type", "application/json")
            .body(r#"{"uid": "bootstrapuser", "password": "deleteme"}"#)
            .send()
            .await
            .unwrap(),
    )
    .await;
    let token = login["token"].as_str().unwrap().to_owned();
    // 6. The cluster id names the config folder; 7. the state summary names the cluster.
    let metadata = json(pinned.get(format!("{url}/metadata")).send().await.unwrap()).await;
    let id = metadata["CLUSTER_ID"].as_str().unwrap().to_owned();
    let summary = json(
        pinned
            .get(format!("{url}/mesos/master/state-summary"))
            .header("authorization", format!("token={token}"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let name = summary["cluster"].as_str().unwrap().to_owned();

    // What `dcos cluster setup` writes.
    let folder = cluster.path("home/.dcos/clusters").join(&id);
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(folder.join("dcos_ca.crt"), &ca).unwrap();
    std::fs::write(folder.join("attached"), "").unwrap();
    std::fs::write(
        folder.join("dcos.toml"),
        format!(
            "[cluster]\n  name = \"{name}\"\n[core]\n  dcos_acs_token = \"{token}\"\n  \
             dcos_url = \"{url}\"\n  ssl_verify = \"{}\"\n  timeout = 180\n",
            folder.join("dcos_ca.crt").display()
        ),
    )
    .unwrap();
    let alone = |args: &[&str]| {
        let mut command = cluster.command();
        command
            .args(args)
            .env_remove("DCOS_URL")
            .env_remove("DCOS_TLS_CA_PATH");
        run(command, None)
    };
    let whoami = alone(&["-o", "json", "whoami"]).expect(0);
    assert_eq!(whoami.json()["uid"], "bootstrapuser");
    assert_eq!(whoami.json()["token_source"], "dcos CLI");
    let info = alone(&["-o", "json", "cluster", "info"]).expect(0).json();
    assert_eq!(info["id"], id);
    assert_eq!(info["name"], name);
    assert_eq!(info["variant"], "enterprise");
}

/// A service account and its login secret, as jobs inside a cluster receive it.
async fn credential(cluster: &Cluster, uid: &str) -> String {
    let keys = KeyPair::generate(KeySize::Rsa2048).unwrap();
    let (iam, _) = cluster.clients();
    let uid = Uid::new(uid).unwrap();
    iam.user(&uid)
        .create_service_account("job", &keys.public_key_pem)
        .await
        .unwrap();
    let endpoint = format!("{}/acs/api/v1/auth/login", cluster.url());
    let secret = ServiceAccountSecret::new(uid, keys.private_key_pem).with_login_endpoint(endpoint);
    use secrecy::ExposeSecret;
    secret.to_json().expose_secret().to_owned()
}

/// Requirement: `DCOS_SERVICE_ACCOUNT_CREDENTIAL` comes after `DCOS_ACS_TOKEN` and before
/// `DCOS_SERVICE_ACCOUNT`/`DCOS_PRIVATE_KEY_FILE`, and logs in at `DCOS_URL`, else at its own
/// login endpoint.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_in_cluster_credential_knows_its_place() {
    let cluster = Cluster::start().await;
    let job = credential(&cluster, "job").await;
    let whoami = |env: &[(&str, &str)]| {
        cluster
            .run_with(&["-o", "json", "whoami"], env, None)
            .expect(0)
            .json()
    };
    // Alone, and with no DCOS_URL: the login endpoint names the cluster.
    let alone = whoami(&[("DCOS_SERVICE_ACCOUNT_CREDENTIAL", &job), ("DCOS_URL", "")]);
    assert_eq!(alone["uid"], "job");
    assert_eq!(alone["token_source"], "DCOS_SERVICE_ACCOUNT_CREDENTIAL");
    assert_eq!(alone["cluster"], cluster.url());

    // DCOS_ACS_TOKEN comes first.
    let first = whoami(&[
        ("DCOS_SERVICE_ACCOUNT_CREDENTIAL", &job),
        ("DCOS_ACS_TOKEN", &cluster.admin_token),
    ]);
    assert_eq!(first["uid"], "bootstrapuser");
    assert_eq!(first["token_source"], "DCOS_ACS_TOKEN");

    // And the credential before a key file.
    let other = KeyPair::generate(KeySize::Rsa2048).unwrap();
    let key_file = cluster.path("other.pem");
    use secrecy::ExposeSecret;
    std::fs::write(&key_file, other.private_key_pem.expose_secret()).unwrap();
    let over = whoami(&[
        ("DCOS_SERVICE_ACCOUNT_CREDENTIAL", &job),
        ("DCOS_SERVICE_ACCOUNT", "someone-else"),
        ("DCOS_PRIVATE_KEY_FILE", key_file.to_str().unwrap()),
    ]);
    assert_eq!(over["uid"], "job");

    // A credential that is not one is refused, and not quoted.
    let bad = cluster.run_with(
        &["whoami"],
        &[(
            "DCOS_SERVICE_ACCOUNT_CREDENTIAL",
            "{\"uid\": \"job\", canary",
        )],
        None,
    );
    assert_eq!(bad.code, 2, "{}", bad.stderr);
    assert!(
        bad.stderr.contains("DCOS_SERVICE_ACCOUNT_CREDENTIAL"),
        "{}",
        bad.stderr
    );
    assert!(!bad.stderr.contains("canary"), "{}", bad.stderr);
}

/// Requirement: with the credential, an expired `DCOS_ACS_TOKEN` is renewed, and a run longer
/// than a token's life stays logged in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_in_cluster_credential_renews_tokens() {
    let cluster = Cluster::with(
        Emulator::builder()
            .tls(true)
            .token_ttl(Duration::from_secs(2)),
    )
    .await;
    let job = credential(&cluster, "job").await;
    let (iam, _) = cluster.clients();
    iam.group(&dcos_iam_client::Gid::new("superusers").unwrap())
        .add_member(&Uid::new("job").unwrap())
        .await
        .unwrap();

    // An expired DCOS_ACS_TOKEN is renewed with the credential: the job's own token.
    let admin = cluster.emulator.issue_token("bootstrapuser").unwrap();
    std::thread::sleep(Duration::from_millis(2500));
    let renewed = cluster
        .run_with(
            &["-o", "json", "whoami"],
            &[
                ("DCOS_SERVICE_ACCOUNT_CREDENTIAL", &job),
                ("DCOS_ACS_TOKEN", &admin),
            ],
            None,
        )
        .expect(0)
        .json();
    assert_eq!(renewed["uid"], "job");

    // 12 secrets one at a time, 250 ms a request: longer than a token lives.
    cluster.emulator.set_faults(dcos_emulator::FaultConfig {
        latency_ms: 250,
        ..Default::default()
    });
    let mut manifest = String::new();
    for i in 0..12 {
        manifest.push_str(&format!(
            "[[secret]]\npath = \"job/s{i}\"\nfrom_env = \"VALUE\"\n\n"
        ));
    }
    std::fs::write(cluster.path("job.toml"), manifest).unwrap();
    let long = cluster.run_with(
        &["apply", "-f", "job.toml", "--concurrency", "1"],
        &[("DCOS_SERVICE_ACCOUNT_CREDENTIAL", &job), ("VALUE", "v")],
        None,
    );
    assert_eq!(long.code, 0, "{}", long.stderr);
    assert_eq!(cluster.emulator.state().secrets.len(), 12);
}
