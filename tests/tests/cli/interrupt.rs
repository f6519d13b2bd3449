//! Interrupted writes: a failure at each write step of `s3 onboard` and `s3 rotate` leaves the
//! state as it was or complete, never a mixed key pair; a run killed at a random point is
//! finished by the next run, which says what it found.

use std::process::Stdio;
use std::time::{Duration, Instant};

use dcos_emulator::state::{Secret, State};
use dcos_emulator::{Emulator, FaultConfig, FaultRule};
use serde_json::json;

use crate::harness::{Cluster, Run, assert_clean_failure, record, scale};
use crate::s3::{KEY_ID, LOGIN, PAIR_A, PAIR_B, SECRET_KEY, list_rid, pair_of, rid_url};

/// Each way a write fails: an error answer before or after the write lands, or a connection
/// dropped before or after. Each strikes once; the run's own retries and undo follow.
fn kinds(method: &str, prefix: &str) -> Vec<(String, FaultRule)> {
    [
        ("500 before", json!({"status": 500, "phase": "before"})),
        ("500 after", json!({"status": 500, "phase": "after"})),
        ("drop before", json!({"drop": true, "phase": "before"})),
        ("drop after", json!({"drop": true, "phase": "after"})),
    ]
    .into_iter()
    .map(|(label, mut rule)| {
        rule["method"] = json!(method);
        rule["path_prefix"] = json!(prefix);
        rule["count"] = json!(1);
        (
            format!("{label}: {method} {prefix}"),
            serde_json::from_value(rule).unwrap(),
        )
    })
    .collect()
}

/// The write steps of a fresh onboarding: both secrets, both ACLs, both grants.
fn onboard_writes() -> Vec<(String, FaultRule)> {
    let mut all = Vec::new();
    for path in [KEY_ID, SECRET_KEY] {
        all.extend(kinds("PUT", &format!("/secrets/v1/secret/default/{path}")));
    }
    for path in [KEY_ID, SECRET_KEY] {
        let acl = rid_url(&list_rid(path));
        // Once: the first request under this prefix is the ACL's creation.
        all.extend(kinds("PUT", &acl));
        all.extend(kinds("PUT", &format!("{acl}/users/dse/read")));
    }
    all
}

/// The write steps of a rotation: the key id, then the secret key.
fn rotate_writes() -> Vec<(String, FaultRule)> {
    [KEY_ID, SECRET_KEY]
        .iter()
        .flat_map(|path| kinds("PATCH", &format!("/secrets/v1/secret/default/{path}")))
        .collect()
}

/// Runs `s3 onboard` or `s3 rotate` with `pair` in the environment.
fn command(cluster: &Cluster, rotate: bool, (id, secret): (&str, &str)) -> std::process::Command {
    let mut command = cluster.command();
    if rotate {
        command.args(["s3", "rotate", "--from-env"]);
    } else {
        command.args([
            "s3",
            "onboard",
            "--from-env",
            "--service-account",
            "dse",
            "--service-account-secret",
            LOGIN,
        ]);
    }
    command
        .args(["-o", "json"])
        .env("DCOS_ACS_TOKEN", &cluster.admin_token)
        .env("AWS_ACCESS_KEY_ID", id)
        .env("AWS_SECRET_ACCESS_KEY", secret);
    command
}

fn run(cluster: &Cluster, rotate: bool, pair: (&str, &str)) -> Run {
    crate::harness::run(command(cluster, rotate, pair), None)
}

/// A cluster with the account `dse`, and with the first pair onboarded when `onboarded`.
async fn cluster(builder: dcos_emulator::EmulatorBuilder, onboarded: bool) -> Cluster {
    let cluster = Cluster::with(builder).await;
    cluster.service_account("dse").await;
    if onboarded {
        run(&cluster, false, PAIR_A).expect(0);
    }
    cluster
}

/// The state a complete run leaves, from the same starting state as the trials.
async fn complete(rotate: bool) -> (State, State) {
    let cluster = cluster(Emulator::builder().tls(true), rotate).await;
    let before = cluster.emulator.state();
    run(&cluster, rotate, if rotate { PAIR_B } else { PAIR_A }).expect(0);
    (before, cluster.emulator.state())
}

/// Requirement: a failure at write step k of `s3 onboard` or `s3 rotate`, for every k, leaves
/// the state byte for byte as before (the run failed and undid its writes) or exactly the
/// complete new state (the run came through); never anything between.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failure_at_any_write_step_leaves_the_old_state_or_the_new() {
    let mut tried = 0;
    for (rotate, writes) in [(false, onboard_writes()), (true, rotate_writes())] {
        let (start, done) = complete(rotate).await;
        assert_ne!(start, done);
        for (label, fault) in writes {
            let cluster = cluster(Emulator::builder().tls(true), rotate).await;
            assert_eq!(cluster.emulator.state(), start, "{label}");
            cluster.emulator.add_fault(fault);
            let run = run(&cluster, rotate, if rotate { PAIR_B } else { PAIR_A });
            assert_eq!(cluster.emulator.counters().faults_injected, 1, "{label}");
            let after = cluster.emulator.state();
            if run.code == 0 {
                assert_eq!(after, done, "{label}: exit 0 but not the new state");
            } else {
                assert_clean_failure(&run, &label);
                assert_eq!(
                    after, start,
                    "{label}: failed and not undone\n{}",
                    run.stderr
                );
            }
            tried += 1;
        }
    }
    assert_eq!(tried, 32);
    record(
        "a failure at each write step of s3 onboard and s3 rotate",
        tried,
        tried,
        tried,
        0,
    );
}

/// How many steps of a run's JSON report found their change already made.
fn already_done(report: &serde_json::Value) -> usize {
    report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["outcome"] == "unchanged" || s["outcome"] == "already_granted")
        .count()
}

/// What of the new state a killed run had put in place: secrets holding the new value, and
/// grants held.
fn in_place(state: &State, rotate: bool) -> usize {
    let new = if rotate { PAIR_B } else { PAIR_A };
    let secrets = [(KEY_ID, new.0), (SECRET_KEY, new.1)]
        .iter()
        .filter(|(path, value)| state.secrets.get(*path) == Some(&Secret::Text(value.to_string())))
        .count();
    let grants = if rotate {
        0
    } else {
        [KEY_ID, SECRET_KEY]
            .iter()
            .filter(|path| {
                state
                    .acls
                    .get(&list_rid(path))
                    .and_then(|acl| acl.users.get("dse"))
                    .is_some_and(|a| a.contains("read"))
            })
            .count()
    };
    secrets + grants
}

/// Requirement: SIGKILL at a random (seeded) moment of an onboarding or a rotation; the next
/// run converges to exactly the complete state, and its report names as unchanged what the
/// killed run had already done. A mixed pair never survives the next run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_killed_at_any_point_is_finished_by_the_next() {
    let trials = scale("RELIABILITY_KILLS", 12);
    let seed = scale("RELIABILITY_KILL_SEED", 7);
    let mut rng = fastrand::Rng::with_seed(seed);
    let (mut partial, mut mixed) = (0, 0);
    // Every request takes 15 to 25 ms, so a run spans a few hundred milliseconds to kill in.
    let slow = || {
        Emulator::builder().tls(true).faults(FaultConfig {
            latency_ms: 15,
            jitter_ms: 10,
            ..FaultConfig::default()
        })
    };
    let mut expected = Vec::new();
    for rotate in [false, true] {
        expected.push(complete(rotate).await);
    }
    for trial in 0..trials {
        let rotate = trial % 2 == 1;
        let (start, done) = &expected[rotate as usize];
        let cluster = cluster(slow(), rotate).await;
        let pair = if rotate { PAIR_B } else { PAIR_A };

        // How long a whole run takes here, then a kill somewhere inside that span.
        let started = Instant::now();
        let probe = cluster.emulator.state();
        run(&cluster, rotate, pair).expect(0);
        let span = started.elapsed();
        cluster.emulator.load_state(probe);
        let delay = span.mul_f64(rng.f64());
        let mut child = command(&cluster, rotate, pair)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(delay);
        let killed = child.kill().is_ok();
        let status = child.wait().unwrap();
        // A request the killed run had sent still lands (after the emulator's latency), as on a
        // real cluster: the state is read once it has.
        std::thread::sleep(Duration::from_millis(100));
        let after_kill = cluster.emulator.state();
        let found = in_place(&after_kill, rotate);
        if after_kill != *start && after_kill != *done {
            partial += 1;
        }
        let (id, key) = pair_of(&after_kill);
        if rotate && (id.as_deref() == Some(pair.0)) != (key.as_deref() == Some(pair.1)) {
            mixed += 1;
        }

        let rerun = run(&cluster, rotate, pair);
        let label = format!(
            "trial {trial} (seed {seed}, {} killed after {delay:?} of {span:?}, {status})",
            if rotate { "rotate" } else { "onboard" }
        );
        let rerun = rerun.expect(0);
        assert_eq!(cluster.emulator.state(), *done, "{label}: did not converge");
        let report = rerun.json();
        assert_eq!(already_done(&report), found, "{label}: {report:#}");
        if rotate && found == 1 {
            assert!(
                rerun.stderr.contains("already holds its half"),
                "{label}: {}",
                rerun.stderr
            );
        }
        eprintln!("{label}: {found} steps had landed; the rerun converged (killed: {killed})");
    }
    eprintln!("{partial} of {trials} kills left a partial change, {mixed} a mixed pair");
    record(
        &format!(
            "SIGKILL mid-run, then a rerun ({partial} kills left a partial change, {mixed} a mixed pair)"
        ),
        trials,
        trials,
        trials,
        0,
    );
}
