//! Secret values and tokens never reach standard output or standard error, even at `-vvv`,
//! except the value on `secret get`'s own standard output.

use crate::harness::{Cluster, Run, record};

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
        cluster.admin(&["-vvv", "secret", "delete", "c/two", "--yes"]),
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
        assert_kept_out(&format!("run {i}"), run, &forbidden);
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

/// Asserts that none of `secrets` is on the run's standard output or error.
#[track_caller]
fn assert_kept_out(label: &str, run: &Run, secrets: &[&str]) {
    for secret in secrets {
        assert!(
            !run.stdout().contains(secret),
            "{label}: stdout holds the secret {secret}"
        );
        assert!(
            !run.stderr.contains(secret),
            "{label}: stderr holds the secret {secret}:\n{}",
            run.stderr
        );
    }
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
            "--yes",
        ],
        &[("DCOS_ACS_TOKEN", token)],
        None,
    ));
    assert_eq!(
        runs.iter().map(|r| r.code).collect::<Vec<_>>(),
        [0, 0, 0, 3, 2, 1, 0, 0]
    );
    for (i, run) in runs.iter().enumerate() {
        // A rotation report names the key ids, which are identifiers: on call acts on them.
        // The secret keys and the token appear nowhere, ever.
        let forbidden: &[&str] = match i {
            5 | 6 => &[old_secret, new_secret, token],
            _ => &[old_id, old_secret, new_id, new_secret, token],
        };
        assert_kept_out(&format!("run {i}"), run, forbidden);
    }
    let rotated = runs[6].json();
    assert_eq!(rotated["old_key_id"], old_id, "{rotated}");
    assert_eq!(rotated["new_key_id"], new_id, "{rotated}");
    assert!(runs[1].stderr.contains("PUT"), "-vvv shows the requests");
}

/// A run whose command line was read from `/proc` while it ran.
struct Watched {
    run: Run,
    /// Every distinct command line seen, arguments joined by spaces.
    argv: Vec<String>,
}

/// Runs `command`, feeding `stdin`, and reads the process's command line from the kernel
/// (`/proc/<pid>/cmdline`) again and again until it exits.
fn watch(mut command: std::process::Command, stdin: Option<&[u8]>) -> Watched {
    use std::io::{Read, Write};
    use std::process::Stdio;
    command
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("the binary starts");
    let cmdline = format!("/proc/{}/cmdline", child.id());
    let mut argv = Vec::new();
    let sample = |argv: &mut Vec<String>| {
        if let Ok(bytes) = std::fs::read(&cmdline) {
            let line = String::from_utf8_lossy(&bytes).replace('\0', " ");
            if !line.is_empty() && !argv.contains(&line) {
                argv.push(line);
            }
        }
    };
    sample(&mut argv);
    let input = stdin.map(<[u8]>::to_vec);
    let mut pipe = child.stdin.take();
    let feeder = std::thread::spawn(move || {
        if let (Some(pipe), Some(input)) = (pipe.as_mut(), input) {
            let _ = pipe.write_all(&input);
        }
    });
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let stdout = std::thread::spawn(move || {
        let mut v = Vec::new();
        out.read_to_end(&mut v).map(|_| v).unwrap_or_default()
    });
    let stderr = std::thread::spawn(move || {
        let mut v = Vec::new();
        err.read_to_end(&mut v).map(|_| v).unwrap_or_default()
    });
    let status = loop {
        sample(&mut argv);
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    };
    feeder.join().unwrap();
    Watched {
        run: Run {
            code: status.code().unwrap_or(-1),
            stdout: stdout.join().unwrap(),
            stderr: String::from_utf8_lossy(&stderr.join().unwrap()).into_owned(),
        },
        argv,
    }
}

/// Every file below `dir`, but those below `skip`.
fn files_below(dir: &std::path::Path, skip: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.starts_with(skip) {
            continue;
        }
        if path.is_dir() {
            found.extend(files_below(&path, skip));
        } else {
            found.push(path);
        }
    }
    found
}

/// The second line of a PEM file: part of the key itself.
fn key_body(file: &std::path::Path) -> String {
    let pem = std::fs::read_to_string(file).unwrap();
    pem.lines().nth(1).unwrap().to_owned()
}

/// Requirement: every command at `-vvv`, fed unique canary values, never shows them on
/// standard output (but `secret get`'s value), standard error or its command line while it
/// runs, and writes them to no file but its intended outputs (a private key to its key file).
/// Temporary files go to a scratch `TMPDIR`, which is scanned too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_command_leaks_a_canary_to_output_argv_or_files() {
    use dcos_emulator::{Emulator, FaultConfig};
    // Slow enough answers that each run is seen on its command line several times.
    let cluster =
        crate::harness::Cluster::with(Emulator::builder().tls(true).faults(FaultConfig {
            latency_ms: 10,
            ..FaultConfig::default()
        }))
        .await;
    cluster.service_account("dse").await;
    let inputs = cluster.path("inputs");
    std::fs::create_dir_all(&inputs).unwrap();
    std::fs::create_dir_all(cluster.path("tmp")).unwrap();
    let (iam, _) = cluster.clients();
    let password = "canary-password-41c9";
    iam.user(&dcos_iam_client::Uid::new("alice").unwrap())
        .create_user("", &secrecy::SecretString::from(password))
        .await
        .unwrap();

    let backup_passphrase = "canary-backup-passphrase-5e6f";
    std::fs::write(inputs.join("pass.txt"), format!("{backup_passphrase}\n")).unwrap();
    let stdin_value = "canary-stdin-value-0a1b";
    let file_value = "canary-file-value-2c3d";
    let put_value = "canary-put-value-4e5f";
    let env_value = "canary-env-value-6a7b";
    let manifest_file_value = "canary-manifest-file-8c9d";
    let pair_stdin = (
        "AKIACANARYSTDIN00001",
        "canary/stdin+pair/secret0000000000000000",
    );
    let pair_env = (
        "AKIACANARYENV0000002",
        "canary/env+pair/secret00000000000000000000",
    );
    let pair_profile = (
        "AKIACANARYPROFILE003",
        "canary/profile+pair/secret0000000000000000",
    );
    let pair_manifest = (
        "AKIACANARYMANIFEST04",
        "canary/manifest+pair/secret000000000000000",
    );
    std::fs::write(inputs.join("v2.txt"), file_value).unwrap();
    std::fs::write(inputs.join("m.txt"), manifest_file_value).unwrap();
    std::fs::write(
        inputs.join("credentials"),
        format!(
            "[canary]\naws_access_key_id = {}\naws_secret_access_key = {}\n",
            pair_profile.0, pair_profile.1
        ),
    )
    .unwrap();
    std::fs::write(
        inputs.join("m.toml"),
        r#"
[[secret]]
path = "m/env"
from_env = "MANIFEST_VALUE"

[[secret]]
path = "m/file"
from_file = "m.txt"

[[s3]]
service_account = "dse"
service_account_secret = "m-svc/sa"
service_name = "m-svc"
credentials = { key_id_env = "M_KEY_ID", secret_key_env = "M_SECRET_KEY" }
out = "../apply-options.json"
"#,
    )
    .unwrap();
    std::fs::write(
        cluster.path("existing.json"),
        "{\"service\": {\"name\": \"x\"}}",
    )
    .unwrap();
    let json_pair = |(id, secret): (&str, &str)| {
        format!(r#"{{"AccessKey": {{"AccessKeyId": "{id}", "SecretAccessKey": "{secret}"}}}}"#)
    };
    let stdin_pair = json_pair(pair_stdin);
    let token = cluster.admin_token.clone();

    // (arguments, environment, standard input)
    type Case<'a> = (Vec<&'a str>, Vec<(&'a str, &'a str)>, Option<Vec<u8>>);
    let admin = || vec![("DCOS_ACS_TOKEN", token.as_str())];
    let with = |extra: &[(&'static str, &'static str)]| {
        let mut env = vec![("DCOS_ACS_TOKEN", token.as_str())];
        env.extend_from_slice(extra);
        env
    };
    let onboard = vec![
        "s3",
        "onboard",
        "--service-account",
        "dse",
        "--service-account-secret",
        "data-science-engine/sa",
    ];
    let cases: Vec<Case<'_>> = vec![
        (vec!["ca", "fetch", "--out", "ca.pem"], vec![], None),
        (
            vec!["login", "--username", "alice", "--password-stdin"],
            vec![],
            Some(password.as_bytes().to_vec()),
        ),
        (vec!["whoami"], admin(), None),
        (vec!["logout"], vec![], None),
        (
            vec!["secret", "create", "c/one", "--value-file", "-"],
            admin(),
            Some(stdin_value.as_bytes().to_vec()),
        ),
        (
            vec!["secret", "update", "c/one", "--value-file", "inputs/v2.txt"],
            admin(),
            None,
        ),
        (
            vec!["secret", "put", "c/two", "--value-file", "-"],
            admin(),
            Some(put_value.as_bytes().to_vec()),
        ),
        (vec!["secret", "list"], admin(), None),
        (
            vec![
                "grant",
                "--user",
                "alice",
                "dcos:secrets:default:c/one",
                "read",
            ],
            admin(),
            None,
        ),
        (vec!["access", "c/one"], admin(), None),
        (
            vec![
                "revoke",
                "--user",
                "alice",
                "dcos:secrets:default:c/one",
                "read",
            ],
            admin(),
            None,
        ),
        (
            vec![
                "service-account",
                "create",
                "sa",
                "--private-key-out",
                "sa.pem",
                "--secret",
                "c/sa",
            ],
            admin(),
            None,
        ),
        (
            vec![
                "login",
                "--service-account",
                "sa",
                "--private-key",
                "sa.pem",
            ],
            vec![],
            None,
        ),
        (
            [
                onboard.as_slice(),
                &["--from-stdin", "--out", "onboard.json"],
            ]
            .concat(),
            admin(),
            Some(stdin_pair.into_bytes()),
        ),
        (
            [
                onboard.as_slice(),
                &[
                    "--aws-profile",
                    "canary",
                    "--service-name",
                    "data-science-engine/other",
                    "--merge-into",
                    "existing.json",
                ],
            ]
            .concat(),
            with(&[("AWS_SHARED_CREDENTIALS_FILE", "inputs/credentials")]),
            None,
        ),
        (
            vec!["s3", "rotate", "--from-env"],
            with(&[
                ("AWS_ACCESS_KEY_ID", pair_env.0),
                ("AWS_SECRET_ACCESS_KEY", pair_env.1),
            ]),
            None,
        ),
        (
            vec![
                "s3",
                "offboard",
                "--service-account",
                "dse",
                "--service-name",
                "data-science-engine/other",
                "--yes",
            ],
            admin(),
            None,
        ),
        (
            vec![
                "s3",
                "options",
                "--service-account",
                "dse",
                "--service-account-secret",
                "data-science-engine/sa",
            ],
            vec![],
            None,
        ),
        (
            vec!["hdfs", "options", "--conf-url", "http://hdfs.example/v1"],
            vec![],
            None,
        ),
        (
            vec!["apply", "-f", "inputs/m.toml"],
            with(&[
                ("MANIFEST_VALUE", env_value),
                ("M_KEY_ID", pair_manifest.0),
                ("M_SECRET_KEY", pair_manifest.1),
            ]),
            None,
        ),
        (
            vec![
                "backup",
                "--out",
                "creds.age",
                "--passphrase-file",
                "inputs/pass.txt",
            ],
            admin(),
            None,
        ),
        (
            vec!["diff", "creds.age", "--passphrase-file", "inputs/pass.txt"],
            admin(),
            None,
        ),
        (
            vec![
                "restore",
                "creds.age",
                "--passphrase-file",
                "inputs/pass.txt",
                "--yes",
            ],
            admin(),
            None,
        ),
        (vec!["secret", "delete", "c/two", "--yes"], admin(), None),
        (vec!["demo"], vec![], None),
        (vec!["completions", "bash"], admin(), None),
    ];
    let mut runs = Vec::new();
    for (args, env, stdin) in &cases {
        let mut command = cluster.command();
        command
            .env("TMPDIR", cluster.path("tmp"))
            .arg("-vvv")
            .args(args);
        for (name, value) in env {
            command.env(name, value);
        }
        let watched = watch(command, stdin.as_deref());
        runs.push((args.join(" "), watched));
    }
    // The value `secret get` prints, and nowhere else.
    let mut get = cluster.command();
    get.env("TMPDIR", cluster.path("tmp"))
        .env("DCOS_ACS_TOKEN", &token)
        .args(["-vvv", "secret", "get", "c/one"]);
    let got = watch(get, None);
    assert_eq!(got.run.stdout(), file_value);

    let sa_key = key_body(&cluster.path("sa.pem"));
    let mut canaries = vec![
        password,
        backup_passphrase,
        stdin_value,
        file_value,
        put_value,
        env_value,
        manifest_file_value,
        token.as_str(),
        sa_key.as_str(),
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    ];
    // Access key ids are identifiers, which a rotation report names; they never travel in
    // argv all the same. The secret keys appear nowhere.
    let mut key_ids = Vec::new();
    for (id, secret) in [pair_stdin, pair_env, pair_profile, pair_manifest] {
        canaries.push(secret);
        key_ids.push(id);
    }
    for (name, watched) in &runs {
        let run = &watched.run;
        assert_ne!(run.code, 101, "{name} panicked: {}", run.stderr);
        assert!(
            !watched.argv.is_empty(),
            "{name}: its command line was never read"
        );
        assert_kept_out(name, run, &canaries);
        for canary in canaries.iter().chain(&key_ids) {
            for line in &watched.argv {
                assert!(!line.contains(canary), "{name}: argv holds {canary}");
            }
        }
    }
    assert!(!got.run.stderr.contains(file_value));
    let codes: Vec<(&str, i32)> = runs.iter().map(|(n, w)| (n.as_str(), w.run.code)).collect();
    // Each did its work; only login and logout may fail, saying so with exit 1, where the
    // machine has no keyring to keep a token in.
    for (name, code) in &codes {
        if !name.starts_with("login --username") && !name.starts_with("logout") {
            assert_eq!(*code, 0, "{name}: {codes:?}");
        }
    }

    // Files: everything the runs wrote in the scratch home, working folder and TMPDIR.
    let files = files_below(cluster.dir.path(), &inputs);
    let outputs = [
        "onboard.json",
        "existing.json",
        "apply-options.json",
        "sa.pem",
        "ca.pem",
    ];
    for name in outputs {
        assert!(cluster.path(name).exists(), "{name} was not written");
    }
    for file in &files {
        let bytes = std::fs::read(file).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        for canary in &canaries {
            if file.ends_with("sa.pem") && *canary == sa_key {
                continue;
            }
            assert!(!text.contains(canary), "{} holds {canary}", file.display());
        }
    }
    let tried = runs.len() as u64 + 1;
    record(
        &format!(
            "secret leaks: {tried} runs of every command at -vvv, {} canaries",
            canaries.len()
        ),
        tried,
        tried * canaries.len() as u64,
        tried * canaries.len() as u64,
        0,
    );
}
