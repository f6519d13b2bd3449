//! Typos and oversized input: an empty value, an endless file, a key given twice, a byte order
//! mark, a CA fingerprint over plain http. Each is refused with exit 2 before anything is sent,
//! or read as meant; nothing is read past its limit.

use std::process::Stdio;
use std::time::{Duration, Instant};

use dcos_emulator::state::Secret;

use crate::harness::{Cluster, record, run};
use crate::s3::{KEY_ID, LOGIN, PAIR_A, cluster, pair_of};

/// Requirement: an empty value (an empty file, a pipe whose writer failed) never wipes a
/// secret; `--allow-empty` stores one knowingly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_value_is_refused_unless_allowed() {
    let cluster = Cluster::start().await;
    cluster
        .admin_stdin(
            &["secret", "create", "team/db", "--value-file", "-"],
            b"real",
        )
        .expect(0);
    for verb in ["put", "update", "create"] {
        let run = cluster
            .admin_stdin(&["secret", verb, "team/db", "--value-file", "-"], b"")
            .expect(2);
        assert!(
            run.stderr
                .contains("the value of secret `team/db` is empty"),
            "{}",
            run.stderr
        );
        assert!(run.stderr.contains("--allow-empty"), "{}", run.stderr);
    }
    assert_eq!(
        cluster.emulator.state().secrets["team/db"],
        Secret::Text("real".into())
    );
    cluster
        .admin_stdin(
            &[
                "secret",
                "put",
                "team/db",
                "--value-file",
                "-",
                "--allow-empty",
            ],
            b"",
        )
        .expect(0);
    assert_eq!(
        cluster.emulator.state().secrets["team/db"],
        Secret::Text(String::new())
    );
    // A manifest's empty variable, likewise.
    std::fs::write(
        cluster.path("m.toml"),
        "[[secret]]\npath = \"team/ci\"\nfrom_env = \"CI_VALUE\"\n",
    )
    .unwrap();
    // (`run_with` takes an empty value for "unset", so the command is built here.)
    let mut command = cluster.command();
    command
        .args(["apply", "-f", "m.toml"])
        .env("DCOS_ACS_TOKEN", &cluster.admin_token)
        .env("CI_VALUE", "");
    let empty = run(command, None);
    assert_eq!(empty.code, 2, "{}", empty.stderr);
    assert!(
        empty.stderr.contains("the value is empty"),
        "{}",
        empty.stderr
    );
    assert!(empty.stderr.contains("allow_empty"), "{}", empty.stderr);
    assert!(!cluster.emulator.state().secrets.contains_key("team/ci"));
    record("an empty value refused unless allowed", 4, 4, 4, 0);
}

/// A command, its extra environment, and what its error says.
type Case = (
    &'static [&'static str],
    &'static [(&'static str, &'static str)],
    &'static str,
);

/// Requirement: endless input is refused after its limit and one byte: a value, a manifest
/// and an AWS credentials file from `/dev/zero`, each in bounded time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endless_input_is_refused_at_its_limit() {
    let cluster = cluster().await;
    let writes = cluster.writes();
    let cases: [Case; 3] = [
        (
            &["secret", "put", "a/b", "--value-file", "/dev/zero"],
            &[],
            "/dev/zero is larger than 1048576 bytes",
        ),
        (
            &["apply", "-f", "/dev/zero"],
            &[],
            "the manifest /dev/zero is larger than 33554432 bytes",
        ),
        (
            &[
                "s3",
                "onboard",
                "--service-account",
                "dse",
                "--service-account-secret",
                LOGIN,
                "--aws-profile",
                "dse",
            ],
            &[("AWS_SHARED_CREDENTIALS_FILE", "/dev/zero")],
            "/dev/zero is larger than 1048576 bytes",
        ),
    ];
    for (args, env, says) in cases {
        let mut all = vec![("DCOS_ACS_TOKEN", cluster.admin_token.as_str())];
        all.extend_from_slice(env);
        let started = Instant::now();
        let run = cluster.run_with(args, &all, None).expect(2);
        assert!(run.stderr.contains(says), "{args:?}: {}", run.stderr);
        assert!(started.elapsed() < Duration::from_secs(20), "{args:?}");
    }
    assert_eq!(cluster.writes(), writes);
    record("endless input (/dev/zero) refused at its limit", 3, 3, 3, 0);
}

/// Requirement: refusing a 64 MiB value from standard input peaks under 40 MB of memory. The
/// peak is the child's `ru_maxrss`, which Python's `resource` module reads after waiting for
/// it (nothing else in this process can).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusing_a_64_mib_value_from_stdin_stays_small() {
    const MEASURE: &str = r#"
import resource, subprocess, sys
child = subprocess.Popen(sys.argv[1:], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE)
chunk = b"v" * (1 << 20)
try:
    for _ in range(64):
        child.stdin.write(chunk)
    child.stdin.close()
except BrokenPipeError:
    pass
err = child.stderr.read()
code = child.wait()
print(code, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
sys.stderr.write(err.decode())
"#;
    let cluster = Cluster::start().await;
    let mut command = cluster.command_for("python3");
    command
        .arg("-c")
        .arg(MEASURE)
        .arg(crate::harness::binary())
        .args(["secret", "put", "big/value", "--value-file", "-"])
        .env("DCOS_ACS_TOKEN", &cluster.admin_token)
        .stdout(Stdio::piped());
    let out = match command.output() {
        Ok(out) => out,
        Err(e) => panic!("this test measures with python3, which cannot run here: {e}"),
    };
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let mut fields = stdout.split_whitespace();
    let code: i32 = fields
        .next()
        .and_then(|c| c.parse().ok())
        .expect("an exit code");
    let peak_kib: u64 = fields.next().and_then(|m| m.parse().ok()).expect("a peak");
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("is larger than 1048576 bytes"), "{stderr}");
    eprintln!(
        "refusing a 64 MiB value from stdin: peak RSS {} KiB",
        peak_kib
    );
    assert!(peak_kib < 40 * 1000, "peak RSS {peak_kib} KiB");
    assert!(!cluster.emulator.state().secrets.contains_key("big/value"));
    record(
        "a 64 MiB value on stdin refused under 40 MB of memory",
        1,
        1,
        1,
        0,
    );
}

/// Requirement: a key given twice is refused, not settled silently; a byte order mark at the
/// start of the credentials file is read as one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_given_twice_are_refused_and_a_bom_is_read() {
    let cluster = cluster().await;
    let writes = cluster.writes_but_acl_creations();
    let onboard = |source: &[&str], env: &[(&str, &str)], stdin: Option<&[u8]>| {
        let mut args = vec![
            "s3",
            "onboard",
            "--service-account",
            "dse",
            "--service-account-secret",
            LOGIN,
        ];
        args.extend_from_slice(source);
        let mut all = vec![("DCOS_ACS_TOKEN", cluster.admin_token.as_str())];
        all.extend_from_slice(env);
        cluster.run_with(&args, &all, stdin)
    };
    let twice = format!(
        r#"{{"aws_access_key_id": "{}", "aws_secret_access_key": "{}", "aws_access_key_id": "AKIAOTHEROTHEROTHER0"}}"#,
        PAIR_A.0, PAIR_A.1
    );
    let run = onboard(&["--from-stdin"], &[], Some(twice.as_bytes())).expect(2);
    assert!(
        run.stderr
            .contains("has `aws_access_key_id` more than once"),
        "{}",
        run.stderr
    );
    let credentials = cluster.path("credentials");
    let file = credentials.to_str().unwrap();
    std::fs::write(
        &credentials,
        format!(
            "[dse]\naws_access_key_id = {}\naws_secret_access_key = {}\naws_secret_access_key = x\n",
            PAIR_A.0, PAIR_A.1
        ),
    )
    .unwrap();
    let run = onboard(
        &["--aws-profile", "dse"],
        &[("AWS_SHARED_CREDENTIALS_FILE", file)],
        None,
    )
    .expect(2);
    assert!(
        run.stderr
            .contains("sets aws_secret_access_key more than once"),
        "{}",
        run.stderr
    );
    assert_eq!(cluster.writes_but_acl_creations(), writes);

    std::fs::write(
        &credentials,
        format!(
            "\u{feff}[dse]\r\naws_access_key_id = {}\r\naws_secret_access_key = {}\r\n",
            PAIR_A.0, PAIR_A.1
        ),
    )
    .unwrap();
    onboard(
        &["--aws-profile", "dse"],
        &[("AWS_SHARED_CREDENTIALS_FILE", file)],
        None,
    )
    .expect(0);
    assert_eq!(
        pair_of(&cluster.emulator.state()).0.as_deref(),
        Some(PAIR_A.0)
    );
    assert!(cluster.emulator.state().secrets.contains_key(KEY_ID));
    record(
        "keys given twice refused; a byte order mark read as one",
        3,
        3,
        3,
        0,
    );
}

/// Requirement: `--ca-fingerprint` with an http:// URL is refused before anything is sent
/// (the CA would come in the clear and pin nothing).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ca_fingerprint_over_plain_http_is_refused() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let cluster = Cluster::start().await;
    let fingerprint = format!("sha256:{}", "ab".repeat(32));
    let run = cluster
        .run_with(
            &["--ca-fingerprint", &fingerprint, "secret", "list"],
            &[
                ("DCOS_URL", &url),
                ("DCOS_TLS_CA_PATH", ""),
                ("DCOS_ACS_TOKEN", &cluster.admin_token),
            ],
            None,
        )
        .expect(2);
    assert!(
        run.stderr
            .contains("--ca-fingerprint pins the CA of an https:// cluster"),
        "{}",
        run.stderr
    );
    let accepted = tokio::time::timeout(Duration::from_millis(200), listener.accept()).await;
    assert!(accepted.is_err(), "a connection was made");
    record(
        "--ca-fingerprint over http:// refused before anything is sent",
        1,
        1,
        1,
        0,
    );
}
