//! Secret values and tokens never reach standard output or standard error, even at `-vvv`,
//! except the value on `secret get`'s own standard output.

use crate::harness::Cluster;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_never_appear_in_output_at_vvv() {
    let cluster = Cluster::start().await;
    let canary = "canary-7f3a9c-value";
    let canary2 = "canary-b81e44-update";
    let password = "canary-pw-5d21";
    let (iam, _) = cluster.clients();
    iam.user(&dcos_iam_client::Uid::new("alice").unwrap())
        .create_user("", &secrecy::SecretString::from(password))
        .await
        .unwrap();

    let mut runs = vec![
        cluster.admin_stdin(
            &["-vvv", "secret", "create", "c/one", "--value-file", "-"],
            canary.as_bytes(),
        ),
        cluster.admin_stdin(
            &["-vvv", "secret", "put", "c/one", "--value-file", "-"],
            canary.as_bytes(),
        ),
        cluster.admin_stdin(
            &["-vvv", "secret", "update", "c/one", "--value-file", "-"],
            canary2.as_bytes(),
        ),
        cluster.admin_stdin(
            &[
                "-vvv",
                "-o",
                "json",
                "secret",
                "put",
                "c/two",
                "--value-file",
                "-",
            ],
            canary.as_bytes(),
        ),
        // A conflict's error message must not quote the value either.
        cluster.admin_stdin(
            &["-vvv", "secret", "create", "c/one", "--value-file", "-"],
            canary.as_bytes(),
        ),
        cluster.admin(&["-vvv", "secret", "list"]),
        cluster.admin(&["-vvv", "access", "c/one"]),
        cluster.admin(&[
            "-vvv",
            "grant",
            "--user",
            "alice",
            "dcos:secrets:default:c/one",
            "read",
        ]),
        cluster.admin(&["-vvv", "whoami"]),
        cluster.admin(&[
            "-vvv",
            "service-account",
            "create",
            "sa",
            "--private-key-out",
            "sa.pem",
            "--secret",
            "c/sa",
        ]),
        cluster.run_with(
            &["-vvv", "login", "--username", "alice", "--password-stdin"],
            &[],
            Some(password.as_bytes()),
        ),
        cluster.run_with(
            &["-vvv", "login", "--username", "alice", "--password-stdin"],
            &[],
            Some(b"wrong-canary-pw"),
        ),
        cluster.admin(&["-vvv", "secret", "delete", "c/two"]),
    ];
    let key = std::fs::read_to_string(cluster.path("sa.pem")).unwrap();
    let key_body = key.lines().nth(1).unwrap().to_owned();
    runs.push(cluster.run_with(
        &["-vvv", "whoami"],
        &[
            ("DCOS_SERVICE_ACCOUNT", "sa"),
            ("DCOS_PRIVATE_KEY_FILE", "sa.pem"),
        ],
        None,
    ));
    let forbidden = [
        canary,
        canary2,
        password,
        "wrong-canary-pw",
        &key_body,
        &cluster.admin_token,
    ];
    for (i, run) in runs.iter().enumerate() {
        for secret in forbidden {
            assert!(
                !run.stdout().contains(secret),
                "run {i}: stdout holds a secret"
            );
            assert!(
                !run.stderr.contains(secret),
                "run {i}: stderr holds a secret:\n{}",
                run.stderr
            );
        }
    }
    assert!(
        runs[5].stderr.contains("GET"),
        "-vvv shows the requests: {}",
        runs[5].stderr
    );

    // `secret get` prints the value on stdout and nowhere else.
    let get = cluster.admin(&["-vvv", "secret", "get", "c/one"]).expect(0);
    assert_eq!(get.stdout(), canary2);
    assert!(!get.stderr.contains(canary2));
}

/// The S3 commands at `-vvv`, succeeding and failing: the key pairs appear nowhere.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_keys_never_appear_in_output_at_vvv() {
    let cluster = Cluster::start().await;
    cluster.service_account("dse").await;
    let (old_id, old_secret) = (
        "AKIACANARY7F3A9C0001",
        "canary/old+7f3a9c/secret/key000000000000",
    );
    let (new_id, new_secret) = (
        "AKIACANARYB81E440002",
        "canary/new+b81e44/secret/key000000000000",
    );
    let token = cluster.admin_token.as_str();
    let account = [
        "--service-account",
        "dse",
        "--service-account-secret",
        "data-science-engine/sa",
    ];
    let pair = |id: &str, secret: &str| {
        format!(r#"{{"aws_access_key_id": "{id}", "aws_secret_access_key": "{secret}"}}"#)
    };
    let onboard = |extra: &[&str], input: &str| {
        let mut args = vec!["-vvv", "s3", "onboard", "--from-stdin"];
        args.extend_from_slice(&account);
        args.extend_from_slice(extra);
        cluster.run_with(&args, &[("DCOS_ACS_TOKEN", token)], Some(input.as_bytes()))
    };
    let mut runs = vec![
        onboard(&["--dry-run"], &pair(old_id, old_secret)),
        onboard(&[], &pair(old_id, old_secret)),
        onboard(&["-o", "json"], &pair(old_id, old_secret)),
        // A conflict, and a swapped pair, are reported without the values.
        onboard(&[], &pair(new_id, new_secret)),
        onboard(&[], &pair(new_secret, new_id)),
    ];
    // A failure, and its undo.
    let rule: dcos_emulator::FaultRule = serde_json::from_value(serde_json::json!({
        "method": "PATCH", "path_prefix": "/secrets/v1/secret/default/data-science-engine/aws_secret_access_key",
        "count": 1, "status": 500
    }))
    .unwrap();
    cluster.emulator.add_fault(rule);
    let rotate = |extra: &[&str], input: &str| {
        let mut args = vec!["-vvv", "s3", "rotate", "--from-stdin"];
        args.extend_from_slice(extra);
        cluster.run_with(&args, &[("DCOS_ACS_TOKEN", token)], Some(input.as_bytes()))
    };
    runs.push(rotate(&[], &pair(new_id, new_secret)));
    runs.push(rotate(&["-o", "json"], &pair(new_id, new_secret)));
    runs.push(cluster.run_with(
        &[
            "-vvv",
            "s3",
            "offboard",
            "--service-account",
            "dse",
            "--keep-secrets",
        ],
        &[("DCOS_ACS_TOKEN", token)],
        None,
    ));
    assert_eq!(
        runs.iter().map(|r| r.code).collect::<Vec<_>>(),
        [0, 0, 0, 3, 2, 1, 0, 0]
    );
    for (i, run) in runs.iter().enumerate() {
        for secret in [old_id, old_secret, new_id, new_secret, token] {
            assert!(
                !run.stdout().contains(secret),
                "run {i}: stdout holds a secret"
            );
            assert!(
                !run.stderr.contains(secret),
                "run {i}: stderr holds a secret:\n{}",
                run.stderr
            );
        }
    }
    assert!(runs[1].stderr.contains("PUT"), "-vvv shows the requests");
}
