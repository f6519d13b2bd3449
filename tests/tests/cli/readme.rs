//! The walkthroughs of the README and of `docs/`, run as written against the emulator.

use dcos_emulator::state::Secret;

use std::process::Command;

use crate::harness::{Cluster, Run, binary, run};

/// The bash between the `<!-- {name}:start -->` and `end` markers of the README or a page of
/// `docs/`, without its code fence.
fn walkthrough(name: &str) -> String {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut pages = vec![root.join("README.md")];
    for entry in std::fs::read_dir(root.join("docs")).unwrap() {
        pages.push(entry.unwrap().path());
    }
    let start = format!("<!-- {name}:start -->");
    let text = pages
        .iter()
        .filter(|page| page.extension().is_some_and(|e| e == "md"))
        .map(|page| std::fs::read_to_string(page).unwrap())
        .find(|text| text.contains(&start))
        .unwrap_or_else(|| panic!("no page has the walkthrough {name}"));
    let from = text.find(&start).unwrap();
    let to = text
        .find(&format!("<!-- {name}:end -->"))
        .expect("end marker");
    text[from..to]
        .lines()
        .skip(1)
        .filter(|line| !line.starts_with("```"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// bash running `script` in the cluster's environment, the built binary first on PATH.
fn bash_with_binary(cluster: &Cluster, script: &str) -> Command {
    let bin_dir = binary().parent().unwrap().to_owned();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut bash = cluster.command_for("bash");
    bash.env("PATH", path)
        .args(["-c", &format!("set -euo pipefail\n{script}")]);
    bash
}

/// Runs `bash` and asserts it succeeded, showing its output when not.
fn run_ok(bash: Command) -> Run {
    let out = run(bash, None);
    assert_eq!(
        out.code,
        0,
        "stdout:\n{}\nstderr:\n{}",
        out.stdout(),
        out.stderr
    );
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readme_walkthrough_runs_as_written() {
    let cluster = Cluster::start().await;
    let script = walkthrough("walkthrough");
    assert!(script.contains("dcos-creds access"), "{script}");
    let mut bash = bash_with_binary(&cluster, &script);
    bash.env_remove("DCOS_TLS_CA_PATH")
        .env("ADMIN_PASSWORD", "deleteme");
    let out = run_ok(bash);

    let stdout = out.stdout();
    assert!(stdout.contains("unchanged team/db_password"), "{stdout}");
    assert!(stdout.contains("already granted"), "{stdout}");
    assert!(stdout.contains("updated team/db_password"), "{stdout}");
    assert!(stdout.contains(r#""uid": "ci-bot""#), "{stdout}");
    assert!(
        stdout.contains("Can read the value of team/aws_access_key_id"),
        "{stdout}"
    );
    assert!(
        stdout.contains("service account ci-bot can read the values of:"),
        "{stdout}"
    );
    // The service account read the key id from the environment's credentials.
    assert!(stdout.contains("AKIAIOSFODNN7EXAMPLE"), "{stdout}");

    let state = cluster.emulator.state();
    assert_eq!(
        state.secrets.get("team/aws_access_key_id"),
        Some(&Secret::Text("AKIAIOSFODNN7EXAMPLE".into()))
    );
    assert!(!state.secrets.contains_key("team/db_password"));
    // `status` named where each setting came from.
    assert!(stdout.contains("from DCOS_URL"), "{stdout}");
    assert!(stdout.contains("accepted by the cluster"), "{stdout}");
    // `service-account list` found the login secret; `delete --cascade` took it, the grant
    // and the account.
    assert!(stdout.contains("ci-bot/service-account"), "{stdout}");
    assert!(!state.accounts.contains_key("ci-bot"));
    assert!(!state.secrets.contains_key("ci-bot/service-account"));
    let list = &state.acls["dcos:secrets:list:default:team/aws_access_key_id"];
    assert!(list.users.get("ci-bot").is_none_or(|a| a.is_empty()));
    let value = &state.acls["dcos:secrets:default:team/aws_access_key_id"];
    assert!(value.users.get("ci-bot").is_none_or(|a| a.is_empty()));
    assert!(cluster.path("dcos-creds.bash").is_file());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readme_s3_walkthrough_runs_as_written() {
    let cluster = Cluster::start().await;
    let script = walkthrough("s3-walkthrough");
    assert!(script.contains("s3 rotate"), "{script}");
    let mut bash = bash_with_binary(&cluster, &script);
    bash.env("DCOS_ACS_TOKEN", &cluster.admin_token);
    let out = run_ok(bash);
    for expected in [
        "would create     secret data-science-engine/aws_access_key_id",
        "onboard: unchanged",
        "unchanged ",
        "rotated: access key id AKIAIOSFODNN7EXAMPLE -> AKIAI44QH8DHBEXAMPLE",
        "revoked          read on dcos:secrets:list:default:data-science-engine/aws_access_key_id",
        "no Marathon app or pod uses data-science-engine/aws_secret_access_key",
    ] {
        assert!(
            out.stdout().contains(expected) || out.stderr.contains(expected),
            "{expected:?} missing:\n{}\n{}",
            out.stdout(),
            out.stderr
        );
    }
    // `s3 status`: its table's rows, however wide its columns.
    let rows: Vec<Vec<String>> = out
        .stdout()
        .lines()
        .map(|line| line.split_whitespace().take(3).map(str::to_owned).collect())
        .collect();
    for row in [
        ["grant", "data-science-engine/aws_access_key_id", "ok"],
        [
            "rotation",
            "data-science-engine/aws_access_key_id.rotation",
            "ok",
        ],
    ] {
        assert!(
            rows.contains(&row.map(str::to_owned).to_vec()),
            "{row:?} missing:\n{}",
            out.stdout()
        );
    }
    assert!(!out.stdout().contains("wJalrXUtnFEMI"));
    let options: serde_json::Value =
        serde_json::from_slice(&std::fs::read(cluster.path("options.json")).unwrap()).unwrap();
    assert_eq!(
        options["storage"]["s3"]["aws_secret_access_key"],
        "data-science-engine/aws_secret_access_key"
    );
    assert_eq!(
        options["service"]["jupyter_conf_urls"],
        "http://api.hdfs.marathon.l4lb.thisdcos.directory/v1/endpoints"
    );
    let state = cluster.emulator.state();
    assert!(
        !state
            .secrets
            .contains_key("data-science-engine/aws_access_key_id")
    );
    assert!(
        state
            .secrets
            .contains_key("data-science-engine/service-account")
    );
    let list = &state.acls["dcos:secrets:list:default:data-science-engine/aws_access_key_id"];
    assert!(list.users.get("dse").is_none_or(|a| a.is_empty()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readme_apply_walkthrough_runs_as_written() {
    let cluster = Cluster::start().await;
    let script = walkthrough("apply-walkthrough");
    assert!(script.contains("apply -f cluster.toml"), "{script}");
    let mut bash = bash_with_binary(&cluster, &script);
    bash.env("DCOS_ACS_TOKEN", &cluster.admin_token);
    let out = run_ok(bash);
    for expected in [
        "would create     secret analytics/db_password (hmac:",
        "4 items, 4 changed, 0 unchanged, 0 failed",
        "4 items, 0 changed, 4 unchanged, 0 failed",
    ] {
        assert!(
            out.stderr.contains(expected),
            "{expected:?}:\n{}",
            out.stderr
        );
    }
    assert!(!out.stderr.contains("correct-horse"), "{}", out.stderr);
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(cluster.path("report.json")).unwrap()).unwrap();
    assert_eq!(report["changes"], 0);
    let state = cluster.emulator.state();
    assert_eq!(
        state.secrets.get("analytics/db_password"),
        Some(&Secret::Text("correct-horse-battery".into()))
    );
    assert!(state.accounts["analytics"].is_service());
    assert!(cluster.path("analytics.pem").is_file());
    assert!(cluster.path("analytics-options.json").is_file());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readme_audit_walkthrough_runs_as_written() {
    let cluster = Cluster::start().await;
    cluster
        .admin_stdin(
            &["secret", "create", "team/db", "--value-file", "-"],
            b"walkthrough-canary",
        )
        .expect(0);
    let script = walkthrough("audit-walkthrough");
    assert!(script.contains("audit --html"), "{script}");
    let mut bash = bash_with_binary(&cluster, &script);
    bash.env("DCOS_ACS_TOKEN", &cluster.admin_token);
    let out = run_ok(bash);
    assert!(out.stdout().contains("team/db"), "{}", out.stdout());
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(cluster.path("audit.json")).unwrap()).unwrap();
    assert_eq!(json["secrets"][0]["path"], "team/db");
    let csv = std::fs::read_to_string(cluster.path("audit.csv")).unwrap();
    assert!(csv.starts_with("secret,principal,"), "{csv}");
    let page = std::fs::read_to_string(cluster.path("audit.html")).unwrap();
    assert!(page.contains("<table id=\"matrix\">"));
    for output in [out.stdout(), json.to_string(), csv, page] {
        assert!(!output.contains("walkthrough-canary"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readme_incident_runbook_runs_as_written() {
    let cluster = Cluster::start().await;
    cluster
        .admin(&[
            "service-account",
            "create",
            "ci-bot",
            "--private-key-out",
            "ci-bot.pem",
            "--secret",
            "ci-bot/service-account",
        ])
        .expect(0);
    cluster
        .admin_stdin(&["secret", "create", "team/db", "--value-file", "-"], b"pw")
        .expect(0);
    cluster
        .admin(&[
            "grant",
            "--user",
            "ci-bot",
            "dcos:secrets:default:team/db",
            "read",
        ])
        .expect(0);
    let script = walkthrough("runbook");
    assert!(script.contains("rotate-key"), "{script}");
    let mut bash = bash_with_binary(&cluster, &script);
    bash.env("DCOS_ACS_TOKEN", &cluster.admin_token);
    let out = run_ok(bash);
    assert!(
        out.stdout()
            .contains("service account ci-bot can read the values of:"),
        "{}",
        out.stdout()
    );
    assert!(
        out.stdout().contains("rotated the key of ci-bot"),
        "{}",
        out.stdout()
    );
    let state = cluster.emulator.state();
    // The new key is the account's; the grant was put back by the rotation, then revoked.
    let new_key = std::fs::read_to_string(cluster.path("ci-bot-2.pem")).unwrap();
    let public = dcos_iam_client::KeyPair::from_private_pem(&secrecy::SecretString::from(new_key))
        .unwrap()
        .public_key_pem;
    assert_eq!(
        state.accounts["ci-bot"]
            .public_key
            .as_deref()
            .map(str::trim),
        Some(public.trim())
    );
    assert!(
        state.acls["dcos:secrets:default:team/db"]
            .users
            .get("ci-bot")
            .is_none_or(|a| a.is_empty())
    );
    assert!(out.stdout().contains("team/db"), "{}", out.stdout());
}

/// The README's rotation with a new AWS key, run as written against moto_server: a CI job's
/// web identity (OIDC) signs in to AWS, and the user ends with one key, stored and running.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readme_aws_walkthrough_runs_as_written() {
    use crate::s3::{deploy_dse, onboard, pair_of, running_key_id, settle, sha256_hex};
    let aws = crate::moto::Aws::start();
    aws.user("dse").await;
    let first = aws.create_key("dse").await;
    let cluster = Cluster::start().await;
    cluster.service_account("dse").await;
    onboard(&cluster, &[], (&first.0, &first.1)).expect(0);
    deploy_dse(&cluster).await;
    settle(&cluster).await;
    std::fs::write(
        cluster.path("web-identity-token"),
        "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJyZXBvOnRlYW0vZHNlIn0.c2ln",
    )
    .unwrap();

    let script = walkthrough("aws-walkthrough");
    assert!(script.contains("retire-aws-key"), "{script}");
    let mut bash = bash_with_binary(&cluster, &script);
    bash.env("DCOS_ACS_TOKEN", &cluster.admin_token)
        .env("AWS_ENDPOINT_URL", &aws.endpoint)
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true");
    let out = run_ok(bash);
    assert!(
        out.stderr.contains("would create     aws_key (new)"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("deactivated      aws_key"),
        "{}",
        out.stderr
    );
    assert!(
        aws.calls("AssumeRoleWithWebIdentity") >= 4,
        "every run signed in by OIDC"
    );

    let keys = aws.keys("dse").await;
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert!(keys[0].1, "active");
    assert_ne!(keys[0].0, first.0);
    assert_eq!(
        pair_of(&cluster.emulator.state()).0,
        Some(keys[0].0.clone())
    );
    assert_eq!(running_key_id(&cluster), sha256_hex(&keys[0].0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readme_dse_walkthrough_runs_as_written() {
    use crate::dse_setup::{keytab, pkcs12};
    let cluster = Cluster::start().await;
    std::fs::write(
        cluster.path("jupyter.keytab"),
        keytab(&["jupyter", "notebook.example.com"], "EXAMPLE.COM"),
    )
    .unwrap();
    std::fs::write(cluster.path("engine.p12"), pkcs12("changeit")).unwrap();
    std::fs::write(cluster.path("store.pass"), "changeit\n").unwrap();
    let script = walkthrough("dse-walkthrough");
    assert!(script.contains("dse setup"), "{script}");
    let mut bash = bash_with_binary(&cluster, &script);
    bash.env("DCOS_ACS_TOKEN", &cluster.admin_token);
    let out = run_ok(bash);
    for expected in [
        "would create     account data-science-engine",
        "would grant      create on dcos:mesos:master:task:app_id:data-science-engine",
        "would write      options options.json",
        "created          secret data-science-engine/keytab (hmac:",
        "dse setup of data-science-engine (strict mode: with the Mesos permissions): done",
        "(strict mode: with the Mesos permissions): unchanged, everything is in place",
        "data-science-engine  service account  direct",
    ] {
        assert!(
            out.stdout().contains(expected) || out.stderr.contains(expected),
            "{expected:?} missing:\n{}\n{}",
            out.stdout(),
            out.stderr
        );
    }
    assert!(!out.stdout().contains("changeit") && !out.stderr.contains("changeit"));
    let options: serde_json::Value =
        serde_json::from_slice(&std::fs::read(cluster.path("options.json")).unwrap()).unwrap();
    assert_eq!(
        options["security"]["kerberos"]["keytab_secret"],
        "data-science-engine/keytab"
    );
    assert_eq!(
        options["security"]["tls"]["keystore_password"],
        "data-science-engine/tls_keystore_password"
    );
    assert_eq!(
        options["spark"]["spark_mesos_principal"],
        "data-science-engine"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readme_quick_start_runs_as_written() {
    let cluster = Cluster::start().await;
    let script = walkthrough("quick-start");
    assert!(script.contains("dse setup"), "{script}");
    let mut bash = bash_with_binary(&cluster, &script);
    bash.env_remove("DCOS_TLS_CA_PATH")
        .env("ADMIN_PASSWORD", "deleteme")
        .env("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
        .env(
            "AWS_SECRET_ACCESS_KEY",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        );
    let out = run_ok(bash);
    assert!(
        out.stderr.contains(
            "dse setup of data-science-engine (strict mode: with the Mesos permissions): done"
        ),
        "{}",
        out.stderr
    );
    let options: serde_json::Value =
        serde_json::from_slice(&std::fs::read(cluster.path("options.json")).unwrap()).unwrap();
    assert_eq!(
        options["storage"]["s3"]["aws_access_key_id"],
        "data-science-engine/aws_access_key_id"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_backup_walkthrough_runs_as_written() {
    let old = Cluster::start().await;
    for (path, value) in [
        ("team/db", &b"walkthrough-canary"[..]),
        ("apps/cert", &[0, 255, 1][..]),
    ] {
        let binary = if value.is_ascii() {
            vec![]
        } else {
            vec!["--binary"]
        };
        let mut args = vec!["secret", "create", path, "--value-file", "-"];
        args.extend(binary);
        old.admin_stdin(&args, value).expect(0);
    }
    old.service_account("reporter").await;
    old.admin(&[
        "grant",
        "--user",
        "reporter",
        "dcos:secrets:default:team/db",
        "read",
    ])
    .expect(0);
    let new = Cluster::start().await;
    let script = walkthrough("backup-walkthrough");
    assert!(script.contains("restore creds.age"), "{script}");
    let mut bash = bash_with_binary(&old, &script);
    bash.env("DCOS_ACS_TOKEN", &old.admin_token)
        .env("BACKUP_PASSPHRASE", "a passphrase for the walkthrough")
        .env("NEW_CLUSTER_URL", new.url())
        .env("NEW_CLUSTER_CA", &new.ca_file)
        .env("NEW_CLUSTER_TOKEN", &new.admin_token);
    let out = run_ok(bash);
    assert!(out.stdout().contains("no difference"), "{}", out.stdout());
    assert!(!out.stderr.contains("walkthrough-canary"), "{}", out.stderr);
    let (a, b) = (old.emulator.state(), new.emulator.state());
    assert_eq!(a.secrets, b.secrets);
    assert_eq!(a.acls, b.acls);
    assert!(b.accounts["reporter"].is_service());
    let exported = std::fs::read_dir(old.path("k8s")).unwrap().count();
    assert_eq!(exported, 2);
}
