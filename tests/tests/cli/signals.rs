//! Ctrl-C and SIGTERM: a run told to stop at a random moment leaves the cluster as it was or
//! complete, never between; it exits 130 or 143; no temporary file survives it. A second
//! signal stops at once and names the command that finishes the job.

use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use dcos_emulator::state::{Secret, State};
use dcos_emulator::{Emulator, FaultConfig};

use crate::harness::{Cluster, one_json_error, record, scale};
use crate::s3::{KEY_ID, LOGIN, PAIR_A, PAIR_B, SECRET_KEY, pair_of};

/// What a trial runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Onboard,
    Rotate,
    Apply,
}

/// A manifest of a new service account (its key generated and written), three secrets, a
/// grant on each, and an onboarding for an existing account.
const MANIFEST: &str = r#"
[[service_account]]
uid = "sig"
private_key_out = "keys/sig.pem"
login_secret = "sig/login"

[[secret]]
path = "sig/a"
from_env = "VALUE"

[[secret]]
path = "sig/b"
from_env = "VALUE"

[[secret]]
path = "sig/c"
from_env = "VALUE"

[[grant]]
user = "sig"
rid = "dcos:secrets:default:sig/a"
action = "read"

[[grant]]
user = "sig"
rid = "dcos:secrets:default:sig/b"
action = "read"

[[grant]]
user = "sig"
rid = "dcos:secrets:default:sig/c"
action = "read"
"#;

fn command(cluster: &Cluster, kind: Kind) -> std::process::Command {
    let mut command = cluster.command();
    let pair = if kind == Kind::Rotate { PAIR_B } else { PAIR_A };
    match kind {
        Kind::Onboard => command.args([
            "s3",
            "onboard",
            "--from-env",
            "--service-account",
            "dse",
            "--service-account-secret",
            LOGIN,
        ]),
        Kind::Rotate => command.args(["s3", "rotate", "--from-env"]),
        Kind::Apply => command.args(["apply", "-f", "cluster.toml", "--concurrency", "2"]),
    };
    command
        .env("DCOS_ACS_TOKEN", &cluster.admin_token)
        .env("AWS_ACCESS_KEY_ID", pair.0)
        .env("AWS_SECRET_ACCESS_KEY", pair.1)
        .env("VALUE", "signal-value");
    command
}

/// What a run left.
#[derive(Debug, PartialEq, Eq)]
enum Left {
    /// The state as it was.
    Before,
    /// The whole change.
    Complete,
    /// `apply` only: some items complete, the others as they were (each item is all or
    /// nothing, as when one fails).
    Items,
    /// Anything else, with what is between.
    Partial(String),
}

/// What the run of `kind` left in `state`, which was `start`.
fn left(start: &State, state: &State, kind: Kind, dir: &Path) -> Left {
    if state == start {
        return Left::Before;
    }
    let read = |path: &str| {
        let rid = format!("dcos:secrets:list:default:{path}");
        state
            .acls
            .get(&rid)
            .and_then(|acl| acl.users.get("dse"))
            .is_some_and(|a| a.contains("read"))
    };
    match kind {
        Kind::Onboard | Kind::Rotate => {
            let pair = if kind == Kind::Rotate { PAIR_B } else { PAIR_A };
            let want = (Some(pair.0.to_owned()), Some(pair.1.to_owned()));
            let granted = kind == Kind::Rotate || [KEY_ID, SECRET_KEY].iter().all(|p| read(p));
            match pair_of(state) == want && granted {
                true => Left::Complete,
                false => Left::Partial(format!("pair {:?}, granted {granted}", pair_of(state))),
            }
        }
        Kind::Apply => {
            // Each item: (as before, complete).
            let value = Secret::Text("signal-value".to_owned());
            let mut items = Vec::new();
            let account = [
                state.accounts.contains_key("sig"),
                state.secrets.contains_key("sig/login"),
                dir.join("keys/sig.pem").exists(),
            ];
            items.push(("account sig", account == [false; 3], account == [true; 3]));
            for name in ["sig/a", "sig/b", "sig/c"] {
                let secret = state.secrets.get(name);
                items.push((name, secret.is_none(), secret == Some(&value)));
                let acl = state.acls.get(&format!("dcos:secrets:default:{name}"));
                let granted = acl
                    .and_then(|acl| acl.users.get("sig"))
                    .is_some_and(|a| a.contains("read"));
                items.push(("grant", acl.is_none(), granted));
            }
            if items.iter().all(|(_, _, complete)| *complete) {
                Left::Complete
            } else if items.iter().all(|(_, before, complete)| before | complete) {
                Left::Items
            } else {
                Left::Partial(format!("items (name, as before, complete): {items:?}"))
            }
        }
    }
}

/// Temporary files left in `dir` or below.
fn temporaries(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(temporaries(&path));
        } else if entry.file_name().to_string_lossy().starts_with(".tmp") {
            found.push(path.display().to_string());
        }
    }
    found
}

pub(crate) fn signal(child: &Child, name: &str) {
    let status = std::process::Command::new("kill")
        .arg(format!("-{name}"))
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(status.success() || status.code() == Some(1));
}

/// A cluster ready for `kind`: the account `dse`, the first pair onboarded for a rotation,
/// the manifest written for an apply.
async fn cluster(kind: Kind) -> Cluster {
    let slow = Emulator::builder().tls(true).faults(FaultConfig {
        latency_ms: 15,
        jitter_ms: 20,
        ..FaultConfig::default()
    });
    let cluster = Cluster::with(slow).await;
    cluster.service_account("dse").await;
    std::fs::write(cluster.path("cluster.toml"), MANIFEST).unwrap();
    std::fs::create_dir_all(cluster.path("keys")).unwrap();
    if kind == Kind::Rotate {
        let out = command(&cluster, Kind::Onboard).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    cluster
}

/// Requirement: SIGINT or SIGTERM at a seeded random moment of `s3 onboard`, `s3 rotate` or
/// `apply`, with jittered latency, leaves the cluster as it was or complete; the run exits
/// 130 or 143 (or 0 when it had finished first); no temporary file survives.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_told_to_stop_leaves_the_state_before_or_complete() {
    let trials = scale("RELIABILITY_SIGNALS", 12);
    let seed = scale("RELIABILITY_SIGNAL_SEED", 11);
    let mut rng = fastrand::Rng::with_seed(seed);
    let (mut before, mut done, mut items, mut partial, mut leftovers) = (0, 0, 0, 0, 0);
    for trial in 0..trials {
        let kind = [Kind::Onboard, Kind::Rotate, Kind::Apply][(trial % 3) as usize];
        let (name, code) = if (trial / 3) % 2 == 0 {
            ("INT", 130)
        } else {
            ("TERM", 143)
        };
        // The span of a whole run here, measured on a cluster of its own.
        let probe = cluster(kind).await;
        let started = Instant::now();
        let out = command(&probe, kind).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let span = started.elapsed();

        let cluster = cluster(kind).await;
        let start = cluster.emulator.state();
        let delay = span.mul_f64(rng.f64());
        let child = command(&cluster, kind)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(delay);
        signal(&child, name);
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        let label =
            format!("trial {trial} (seed {seed}): {kind:?}, SIG{name} after {delay:?} of {span:?}");
        let state = cluster.emulator.state();
        let exit = out.status.code();
        // Killed before its first instruction could handle the signal: nothing was sent.
        let unborn = exit.is_none() && state == start;
        assert!(
            exit == Some(code) || exit == Some(0) || unborn,
            "{label}: exit {exit:?}\n{stderr}"
        );
        assert!(!stderr.contains("panicked"), "{label}: {stderr}");
        match left(&start, &state, kind, cluster.dir.path()) {
            Left::Before => before += 1,
            Left::Complete => done += 1,
            Left::Items => items += 1,
            Left::Partial(what) => {
                partial += 1;
                eprintln!("{label}: a partial change: {what}\n{stderr}");
            }
        }
        let left = temporaries(cluster.dir.path());
        if !left.is_empty() {
            leftovers += 1;
            eprintln!("{label}: temporary files left: {left:?}");
        }
    }
    eprintln!(
        "{trials} signals: {before} left the state as it was, {done} complete, {items} apply \
         runs some items complete and the rest as before, {partial} partial, {leftovers} left \
         temporary files"
    );
    assert_eq!((partial, leftovers), (0, 0));
    record(
        &format!(
            "SIGINT/SIGTERM mid-run: s3 onboard, s3 rotate, apply ({before} as before, {done} \
             complete, {items} apply runs item by item, 0 partial, no temporary file)"
        ),
        trials,
        trials,
        trials,
        0,
    );
}

/// Requests of `method` hang (30 s), while the others are answered at once.
fn hang(cluster: &Cluster, method: &str) {
    cluster.emulator.add_fault(dcos_emulator::FaultRule {
        method: Some(method.into()),
        path_prefix: "/".into(),
        count: 100,
        status: 0,
        drop: false,
        phase: dcos_emulator::Phase::Before,
        skip: 0,
        location: None,
        delay_ms: 30_000,
    });
}

/// Requirement: a second signal stops at once, names the command that finishes the job, and
/// removes the temporary files.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_signal_stops_at_once_and_names_the_command() {
    let cluster = cluster(Kind::Apply).await;
    // Creations hang: the first signal gives those in flight their grace, the second cuts it.
    hang(&cluster, "PUT");
    let child = command(&cluster, Kind::Apply)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1_500));
    signal(&child, "INT");
    std::thread::sleep(Duration::from_millis(200));
    signal(&child, "INT");
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("stopping:"), "{stderr}");
    assert!(stderr.contains("stopped at once"), "{stderr}");
    assert!(stderr.contains("apply -f cluster.toml"), "{stderr}");
    assert!(temporaries(cluster.dir.path()).is_empty());
    record(
        "a second Ctrl-C stops at once, names the command, leaves no temporary file",
        1,
        1,
        1,
        0,
    );
}

/// `s3 rotate --from-env -o json` started in the background, its output piped.
fn json_rotation(cluster: &Cluster) -> Child {
    command(cluster, Kind::Rotate)
        .args(["-o", "json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Requirement (issue 26): a second signal while a write hangs exits at once, and under `-o
/// json` still prints one JSON document (kind `interrupted`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_signal_still_prints_one_json_document() {
    let cluster = cluster(Kind::Rotate).await;
    // Updates hang: the first signal gives the one in flight its grace, the second cuts it.
    hang(&cluster, "PATCH");
    let child = json_rotation(&cluster);
    std::thread::sleep(Duration::from_millis(800));
    signal(&child, "INT");
    std::thread::sleep(Duration::from_millis(200));
    let second = Instant::now();
    signal(&child, "INT");
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(second.elapsed() < Duration::from_secs(2), "{stderr}");
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("stopped at once"), "{stderr}");
    let doc = one_json_error(&out.stdout, "interrupted", "a second signal");
    assert_eq!(doc["error"]["exit_code"], 130);
    record(
        "a second Ctrl-C while a write hangs, under -o json: exit 130 at once, one JSON document",
        1,
        1,
        1,
        0,
    );
}

/// Requirement (issue 26): a stalled cluster cannot hold a run past the first signal: it exits
/// within 5 seconds with its JSON report, whatever the cluster does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_signal_ends_a_run_against_a_stalled_cluster_within_five_seconds() {
    let cluster = cluster(Kind::Rotate).await;
    let start = cluster.emulator.state();
    cluster.emulator.set_faults(FaultConfig {
        latency_ms: 30_000,
        ..FaultConfig::default()
    });
    let child = json_rotation(&cluster);
    std::thread::sleep(Duration::from_millis(500));
    let signalled = Instant::now();
    signal(&child, "TERM");
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(signalled.elapsed() < Duration::from_secs(5), "{stderr}");
    assert_eq!(out.status.code(), Some(143), "{stderr}");
    one_json_error(
        &out.stdout,
        "terminated",
        "SIGTERM against a stalled cluster",
    );
    cluster.emulator.set_faults(FaultConfig::default());
    assert_eq!(
        cluster.emulator.state(),
        start,
        "a read was in flight: nothing changed"
    );
    record(
        "SIGTERM while the cluster does not answer: exit 143 within 5 s, its JSON report, \
         nothing changed",
        1,
        1,
        1,
        0,
    );
}
