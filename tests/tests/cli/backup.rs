//! Backup, restore, diff and the export to Kubernetes (issue 30), on the binary against
//! emulators.

use std::collections::{BTreeMap, BTreeSet};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use dcos_emulator::FaultRule;
use dcos_emulator::state::{Account, Acl, Group, Secret, State};

use crate::harness::{Cluster, Run};

const PASSPHRASE: &str = "a long backup passphrase";

/// A service account's public key, made once per test process.
fn public_key() -> String {
    static KEY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    KEY.get_or_init(|| {
        dcos_iam_client::KeyPair::generate(dcos_iam_client::KeySize::Rsa2048)
            .unwrap()
            .public_key_pem
    })
    .clone()
}

fn actions(list: &[&str]) -> BTreeSet<String> {
    list.iter().map(|a| a.to_string()).collect()
}

/// A cluster with everything a backup holds: text, binary and nested secrets, a secret at a
/// folder's path, users, a service account, a remote user, groups with members, ACLs with
/// descriptions, grants to users and to groups, and the OIDC provider of the remote user.
fn populated(base: State) -> State {
    let mut state = base;
    let secrets = [
        ("team/aws_key", Secret::Text("AKIAEXAMPLEVALUE1\n".into())),
        (
            "team/aws_key/rotated",
            Secret::Text("folder-and-secret-value".into()),
        ),
        (
            "team/sub/deep/cert",
            Secret::Binary(vec![0, 159, 146, 150, 255, 10]),
        ),
        ("top", Secret::Text("top-level-value-42".into())),
    ];
    for (path, value) in secrets {
        state.secrets.insert(path.into(), value);
    }
    let user = |description: &str| Account {
        description: description.into(),
        password_sha256: Some("0".repeat(64)),
        public_key: None,
        provider: None,
    };
    state.accounts.insert("alice".into(), user("Alice"));
    state.accounts.insert("bob".into(), user("Bob"));
    state.accounts.insert(
        "spark".into(),
        Account {
            description: "Spark jobs".into(),
            password_sha256: None,
            public_key: Some(public_key()),
            provider: None,
        },
    );
    state.accounts.insert(
        "carol@example.com".into(),
        Account {
            description: "Carol".into(),
            password_sha256: None,
            public_key: None,
            provider: Some(("oidc".into(), "google-idp".into())),
        },
    );
    state.providers.insert("google-idp".into(), "oidc".into());
    state.groups.insert(
        "data".into(),
        Group {
            description: "Data team".into(),
            members: ["alice", "spark", "carol@example.com"]
                .map(String::from)
                .into(),
        },
    );
    state.groups.insert(
        "empty".into(),
        Group {
            description: "Nobody yet".into(),
            members: BTreeSet::new(),
        },
    );
    state.acls.insert(
        "dcos:secrets:default:team/aws_key".into(),
        Acl {
            description: "The team's AWS key".into(),
            users: BTreeMap::from([("spark".into(), actions(&["read"]))]),
            groups: BTreeMap::from([("data".into(), actions(&["read", "update"]))]),
        },
    );
    state.acls.insert(
        "dcos:secrets:list:default:team".into(),
        Acl {
            description: String::new(),
            users: BTreeMap::from([("bob".into(), actions(&["full"]))]),
            groups: BTreeMap::new(),
        },
    );
    state
}

async fn source() -> Cluster {
    let cluster = Cluster::start().await;
    cluster
        .emulator
        .load_state(populated(cluster.emulator.state()));
    cluster
}

/// A fresh cluster with the OIDC provider the remote user needs.
async fn target() -> Cluster {
    let cluster = Cluster::start().await;
    let mut state = cluster.emulator.state();
    state.providers.insert("google-idp".into(), "oidc".into());
    cluster.emulator.load_state(state);
    cluster
}

fn write_passphrase(cluster: &Cluster, name: &str, passphrase: &str) -> String {
    let file = cluster.path(name);
    std::fs::write(&file, format!("{passphrase}\n")).unwrap();
    file.display().to_string()
}

/// Takes a backup of `cluster` into `file` (in its folder), with the passphrase.
fn backup(cluster: &Cluster, file: &str) -> (String, String) {
    let pass = write_passphrase(cluster, "pass.txt", PASSPHRASE);
    let out = cluster.path(file).display().to_string();
    cluster
        .admin(&["backup", "--out", &out, "--passphrase-file", &pass])
        .expect(0);
    (out, pass)
}

/// `restore FILE --passphrase-file PASS` and `more` (`-o json` may come last), as the
/// superuser.
fn restore(cluster: &Cluster, file: &str, pass: &str, more: &[&str]) -> Run {
    let mut args = vec!["restore", file, "--passphrase-file", pass];
    args.extend(more);
    cluster.admin(&args)
}

/// The state without what a backup cannot carry: passwords.
fn without_passwords(mut state: State) -> State {
    for account in state.accounts.values_mut() {
        account.password_sha256 = None;
    }
    state
}

fn requests(cluster: &Cluster) -> u64 {
    cluster.emulator.counters().requests.values().sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_restored_into_a_fresh_cluster_gives_the_same_state_and_again_changes_nothing() {
    let from = source().await;
    let (file, _) = backup(&from, "creds.age");
    let into = target().await;
    let pass = write_passphrase(&into, "pass.txt", PASSPHRASE);

    let report = restore(&into, &file, &pass, &["--yes", "-o", "json"])
        .expect(0)
        .json();
    assert_eq!(report["result"], "changed");
    assert_eq!(
        report["users_without_password"],
        serde_json::json!(["alice", "bob"])
    );
    let (a, b) = (from.emulator.state(), into.emulator.state());
    assert_eq!(without_passwords(b.clone()), without_passwords(a));
    // The users it created have a password (nobody knows it), so they exist as users.
    for uid in ["alice", "bob"] {
        assert!(b.accounts[uid].password_sha256.is_some(), "{uid}");
    }
    // The secrets hold their bytes, binary and text alike.
    assert_eq!(
        b.secrets["team/sub/deep/cert"],
        Secret::Binary(vec![0, 159, 146, 150, 255, 10])
    );

    let writes = into.writes();
    let again = restore(&into, &file, &pass, &["--yes", "-o", "json"])
        .expect(0)
        .json();
    assert_eq!(again["result"], "unchanged");
    assert_eq!(into.writes(), writes, "a second restore writes nothing");

    // diff agrees, then names what differs, by fingerprint only.
    into.admin(&["diff", &file, "--passphrase-file", &pass])
        .expect(0);
    let (_, secrets) = into.clients();
    let path = dcos_secrets_client::SecretPath::new("top").unwrap();
    let changed = dcos_secrets_client::SecretValue::text("changed-on-the-cluster");
    secrets.secret(&path).update(&changed).await.unwrap();
    let diff = into
        .admin(&["diff", &file, "--passphrase-file", &pass])
        .expect(8);
    assert!(
        diff.stdout().contains("secret top: differs"),
        "{}",
        diff.stdout()
    );
    for value in ["top-level-value-42", "changed-on-the-cluster"] {
        assert!(!diff.stdout().contains(value) && !diff.stderr.contains(value));
    }
    let json = into
        .admin(&[
            "-o",
            "json",
            "diff",
            &file,
            "--passphrase-file",
            &pass,
            "--only",
            "iam",
        ])
        .expect(0)
        .json();
    assert_eq!(json["equal"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_holds_no_value_or_key_in_clear_and_never_overwrites() {
    let from = source().await;
    let (file, pass) = backup(&from, "creds.age");
    let raw = std::fs::read(&file).unwrap();
    let key_body = public_key().lines().nth(1).unwrap().to_owned();
    for clear in [
        "AKIAEXAMPLEVALUE1",
        "folder-and-secret-value",
        "top-level-value-42",
        PASSPHRASE,
        &key_body,
        "team/aws_key",
        "alice",
    ] {
        assert!(
            !raw.windows(clear.len()).any(|w| w == clear.as_bytes()),
            "`{clear}` is in the file in clear"
        );
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let again = from
        .admin(&["backup", "--out", &file, "--passphrase-file", &pass])
        .expect(3);
    assert!(
        again.stderr.contains("refusing to overwrite"),
        "{}",
        again.stderr
    );
    assert_eq!(std::fs::read(&file).unwrap(), raw);
    // -o json lists paths and ids, never values.
    let out = from.path("second.age").display().to_string();
    let listed = from
        .admin(&[
            "-o",
            "json",
            "backup",
            "--out",
            &out,
            "--passphrase-file",
            &pass,
        ])
        .expect(0);
    let json = listed.json();
    assert_eq!(json["counts"]["secrets"], 4);
    assert_eq!(json["counts"]["grants"], 4);
    assert_eq!(json["users_needing_password"], 3);
    assert!(!listed.stdout().contains("AKIAEXAMPLEVALUE1"));
    // A backup of one folder holds that folder, and diff compares it with that folder only.
    let team = from.path("team.age").display().to_string();
    let saved = from
        .admin(&[
            "-o",
            "json",
            "backup",
            "--out",
            &team,
            "--under",
            "team",
            "--passphrase-file",
            &pass,
        ])
        .expect(0)
        .json();
    assert_eq!(
        saved["secrets"],
        serde_json::json!(["team/aws_key", "team/aws_key/rotated", "team/sub/deep/cert"])
    );
    from.admin(&["diff", &team, "--passphrase-file", &pass])
        .expect(0);
    let wider = from.admin(&["diff", &team, "--passphrase-file", &pass, "--under", "top"]);
    assert_eq!(wider.code, 8, "{}", wider.stdout());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_file_or_a_wrong_passphrase_is_refused_before_any_request() {
    let from = source().await;
    let (file, _) = backup(&from, "creds.age");
    let into = target().await;
    let raw = std::fs::read(&file).unwrap();
    let wrong = write_passphrase(&into, "wrong.txt", "not the passphrase");
    let damaged = into.path("damaged.age").display().to_string();
    let pass = write_passphrase(&into, "pass.txt", PASSPHRASE);
    let before = requests(&into);
    let check = |file: &str, pass: &str, code: i32, label: &str| {
        let restore = ["restore", file, "--passphrase-file", pass, "--yes"];
        let diff = ["diff", file, "--passphrase-file", pass];
        for run in [into.admin(&restore), into.admin(&diff)] {
            let run: Run = run;
            assert_eq!(run.code, code, "{label}: {}", run.stderr);
            assert!(
                run.stderr.contains("nothing was sent"),
                "{label}: {}",
                run.stderr
            );
        }
    };
    check(&file, &wrong, 4, "wrong passphrase");
    // A byte of the payload flipped, at a random place past the header.
    let header = raw.windows(4).position(|w| w == b"\n---").unwrap() + 50;
    let at = header + fastrand::usize(..raw.len() - header);
    let mut flipped = raw.clone();
    flipped[at] ^= 1 << fastrand::u8(..8);
    std::fs::write(&damaged, &flipped).unwrap();
    check(&damaged, &pass, 2, &format!("byte {at} flipped"));
    std::fs::write(&damaged, &raw[..raw.len() / 2]).unwrap();
    check(&damaged, &pass, 2, "cut in half");
    std::fs::write(&damaged, b"not an age file at all").unwrap();
    check(&damaged, &pass, 2, "not age");
    assert_eq!(requests(&into), before, "no request reached the cluster");
    crate::harness::record(
        "a backup opened with a wrong passphrase, a byte flipped at random, cut in half, not age: restore and diff exit 4 or 2, no request sent",
        4,
        8,
        8,
        0,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conflicts_are_refused_kept_or_replaced_and_a_failure_takes_everything_back() {
    let from = source().await;
    let (file, _) = backup(&from, "creds.age");
    let into = target().await;
    let pass = write_passphrase(&into, "pass.txt", PASSPHRASE);
    let mut state = into.emulator.state();
    state
        .secrets
        .insert("top".into(), Secret::Text("the new cluster's".into()));
    into.emulator.load_state(state);
    let before = into.emulator.state();

    let refused = restore(&into, &file, &pass, &["--yes"]).expect(3);
    assert!(refused.stderr.contains("`top`"), "{}", refused.stderr);
    assert_eq!(into.emulator.state(), before);

    // A failure at the last write takes back every write before it.
    // The memberships are the second phase's writes, after the secrets, accounts, groups and
    // ACLs of the first.
    let rule: FaultRule = serde_json::from_value(serde_json::json!({
        "method": "PUT", "path_prefix": "/acs/api/v1/groups/data/users/", "status": 500, "count": 100
    }))
    .unwrap();
    into.emulator.add_fault(rule);
    let failed = restore(&into, &file, &pass, &["--on-conflict", "keep", "--yes"]);
    assert_ne!(failed.code, 0);
    into.emulator.clear_faults();
    assert_eq!(into.emulator.state(), before, "{}", failed.stderr);
    crate::harness::record(
        "restore: a failure at every membership write takes back the secrets, accounts, groups and ACLs written before it",
        1,
        1,
        1,
        0,
    );

    let kept = restore(
        &into,
        &file,
        &pass,
        &["--on-conflict", "keep", "--yes", "-o", "json"],
    )
    .expect(0)
    .json();
    let top = (kept["steps"].as_array().unwrap().iter())
        .find(|s| s["target"] == "top")
        .unwrap();
    assert_eq!(top["outcome"], "kept");
    assert_eq!(
        into.emulator.state().secrets["top"],
        Secret::Text("the new cluster's".into())
    );
    restore(&into, &file, &pass, &["--on-conflict", "replace", "--yes"]).expect(0);
    assert_eq!(
        into.emulator.state().secrets["top"],
        Secret::Text("top-level-value-42".into())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parts_of_a_backup_restore_alone_and_a_remote_user_without_its_provider_is_listed() {
    let from = source().await;
    let (file, _) = backup(&from, "creds.age");
    let into = Cluster::start().await;
    let pass = write_passphrase(&into, "pass.txt", PASSPHRASE);
    let plan = restore(
        &into,
        &file,
        &pass,
        &[
            "--only",
            "secrets",
            "--under",
            "team/sub",
            "--dry-run",
            "-o",
            "json",
        ],
    )
    .expect(0)
    .json();
    assert_eq!(plan["result"], "would_change");
    assert_eq!(plan["steps"].as_array().unwrap().len(), 1);
    assert_eq!(into.writes(), 0);
    restore(
        &into,
        &file,
        &pass,
        &["--only", "secrets", "--under", "team/sub", "--yes"],
    )
    .expect(0);
    assert_eq!(into.emulator.state().secrets.len(), 1);

    let password = write_passphrase(&into, "users.txt", "restored-Passw0rd");
    let run = restore(
        &into,
        &file,
        &pass,
        &[
            "--only",
            "iam",
            "--user-password-file",
            &password,
            "--yes",
            "-o",
            "json",
        ],
    )
    .expect(0);
    let json = run.json();
    assert_eq!(
        json["not_restored"],
        serde_json::json!(["carol@example.com (the cluster has no oidc provider `google-idp`)"])
    );
    assert!(!run.stdout().contains("restored-Passw0rd"));
    let state = into.emulator.state();
    assert!(!state.accounts.contains_key("carol@example.com"));
    assert!(!state.groups["data"].members.contains("carol@example.com"));
    assert!(state.groups["data"].members.contains("alice"));
    // The given password logs in.
    let login = into.run_with(
        &["login", "--username", "alice", "--password-stdin"],
        &[],
        Some(b"restored-Passw0rd\n"),
    );
    assert_eq!(login.code, 0, "{}", login.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dcos_migrate_secrets_file_restores_every_secret_byte_for_byte() {
    let into = Cluster::start().await;
    let binary: Vec<u8> = (0..=255u8).collect();
    let file = into.path("dcos-migrate-secrets.json");
    let doc = serde_json::json!({"secrets": [
        {"path": "/dev/team", "key": "db_password", "type": "text", "value": STANDARD.encode("s3cret\n")},
        {"path": "", "key": "root-secret", "type": "text", "value": STANDARD.encode("é utf-8")},
        {"path": "dev", "key": "keystore.jks", "type": "binary", "value": STANDARD.encode(&binary)},
    ]});
    std::fs::write(&file, doc.to_string()).unwrap();
    let file = file.display().to_string();
    into.admin(&["restore", "--from-dcos-migrate", &file, "--yes"])
        .expect(0);
    let secrets = into.emulator.state().secrets;
    assert_eq!(
        secrets["dev/team/db_password"],
        Secret::Text("s3cret\n".into())
    );
    assert_eq!(secrets["root-secret"], Secret::Text("é utf-8".into()));
    assert_eq!(secrets["dev/keystore.jks"], Secret::Binary(binary));
    into.admin(&["diff", "--from-dcos-migrate", &file, "--only", "secrets"])
        .expect(0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubernetes_secrets_name_their_path_and_decode_to_the_values() {
    let from = source().await;
    let (file, pass) = backup(&from, "creds.age");
    for (out, args) in [
        ("k8s-cluster", vec![]),
        (
            "k8s-backup",
            vec![file.as_str(), "--passphrase-file", pass.as_str()],
        ),
    ] {
        let dir = from.path(out).display().to_string();
        let mut command = vec![
            "-o",
            "json",
            "export",
            "kubernetes",
            "--namespace",
            "apps",
            "--out",
            &dir,
        ];
        command.extend(args);
        let report = from.admin(&command).expect(0).json();
        let exported = report["secrets"].as_array().unwrap();
        assert_eq!(exported.len(), 4);
        let state = from.emulator.state();
        for e in exported {
            let text = std::fs::read_to_string(e["file"].as_str().unwrap()).unwrap();
            let doc: serde_json::Value = serde_norway::from_str(&text).unwrap();
            assert_eq!(doc["apiVersion"], "v1");
            assert_eq!(doc["kind"], "Secret");
            assert_eq!(doc["metadata"]["namespace"], "apps");
            let path = doc["metadata"]["annotations"]["migration.dcos.d2iq.com/secret-path"]
                .as_str()
                .unwrap();
            let data = doc["data"].as_object().unwrap();
            assert_eq!(data.len(), 1);
            let (key, value) = data.iter().next().unwrap();
            assert_eq!(key, &path.replace('/', "."));
            let bytes = STANDARD.decode(value.as_str().unwrap()).unwrap();
            assert_eq!(bytes, state.secrets[path].bytes(), "{path}");
        }
        let names: Vec<&str> = exported
            .iter()
            .map(|e| e["name"].as_str().unwrap())
            .collect();
        assert!(names.contains(&"team.aws-key.rotated"), "{names:?}");
        let left = &report["not_exported"];
        assert_eq!(left["service accounts"], serde_json::json!(["spark"]));
        assert_eq!(left["grants"].as_array().unwrap().len(), 4);
    }
}

/// The Kubernetes Python client's own models take every exported document as a `V1Secret`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_kubernetes_client_reads_every_export_as_a_v1_secret() {
    let from = source().await;
    let dir = from.path("k8s").display().to_string();
    from.admin(&["export", "kubernetes", "--namespace", "apps", "--out", &dir])
        .expect(0);
    let venv = crate::python::Venv::with(&[], &["kubernetes==37.0.3"]);
    let script = r#"
import base64, glob, json, re, sys
import yaml
from kubernetes.client import ApiClient

label = r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?"
subdomain = re.compile(r"^" + label + r"(\." + label + r")*$")
client = ApiClient()
seen = {}
for path in sorted(glob.glob(sys.argv[1] + "/*.yaml")):
    with open(path) as f:
        doc = yaml.safe_load(f)
    secret = client.deserialize(json.dumps(doc), "V1Secret", "application/json")
    assert secret.api_version == "v1" and secret.kind == "Secret", path
    name = secret.metadata.name
    assert len(name) <= 253 and subdomain.match(name), name
    dcos = secret.metadata.annotations["migration.dcos.d2iq.com/secret-path"]
    ((key, value),) = secret.data.items()
    assert re.match(r"^[-._a-zA-Z0-9]+$", key), key
    seen[dcos] = base64.b64decode(value).hex()
print(json.dumps(seen))
"#;
    let out = std::process::Command::new(venv.bin("python"))
        .args(["-c", script, &dir])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let seen: BTreeMap<String, String> = serde_json::from_slice(&out.stdout).unwrap();
    let state = from.emulator.state();
    let expected: BTreeMap<String, String> = (state.secrets.iter())
        .map(|(path, value)| {
            let hex = value.bytes().iter().map(|b| format!("{b:02x}")).collect();
            (path.clone(), hex)
        })
        .collect();
    assert_eq!(seen, expected);
}

/// Requirement: a restore killed by SIGKILL at a random (seeded) moment, then run again,
/// converges to exactly the state a whole restore gives (passwords aside), and the second run
/// reports as unchanged what the killed one had written. `RELIABILITY_KILLS` trials.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restore_killed_at_any_point_is_finished_by_the_next() {
    let trials = crate::harness::scale("RELIABILITY_KILLS", 4);
    let seed = crate::harness::scale("RELIABILITY_KILL_SEED", 7);
    let mut rng = fastrand::Rng::with_seed(seed);
    // Enough to write that a kill lands among the writes: 300 more secrets, each with a
    // grant to one of 30 more users.
    let from = source().await;
    let mut state = from.emulator.state();
    for n in 0..300 {
        let uid = format!("user{:02}", n % 30);
        state.secrets.insert(
            format!("bulk/s{n:03}"),
            Secret::Text(format!("bulk value {n}")),
        );
        state
            .accounts
            .entry(uid.clone())
            .or_insert_with(|| Account {
                description: String::new(),
                password_sha256: Some("0".repeat(64)),
                public_key: None,
                provider: None,
            });
        let acl = state
            .acls
            .entry(format!("dcos:secrets:default:bulk/s{n:03}"))
            .or_default();
        acl.users.insert(uid, actions(&["read"]));
    }
    from.emulator.load_state(state);
    let (file, _) = backup(&from, "creds.age");
    let expected = without_passwords(from.emulator.state());
    let mut partial = 0;
    for trial in 0..trials {
        // Every request takes 15 to 25 ms, so a restore spans a few hundred milliseconds.
        let slow =
            dcos_emulator::Emulator::builder()
                .tls(true)
                .faults(dcos_emulator::FaultConfig {
                    latency_ms: 15,
                    jitter_ms: 10,
                    ..dcos_emulator::FaultConfig::default()
                });
        let into = Cluster::with(slow).await;
        let mut fresh = into.emulator.state();
        fresh.providers.insert("google-idp".into(), "oidc".into());
        into.emulator.load_state(fresh.clone());
        let pass = write_passphrase(&into, "pass.txt", PASSPHRASE);
        let args = [
            "-o",
            "json",
            "restore",
            file.as_str(),
            "--passphrase-file",
            pass.as_str(),
            "--yes",
        ];

        // The kill lands among the writes: after the time a dry run takes (opening the
        // backup, reading the cluster), before the whole restore's.
        let started = std::time::Instant::now();
        let mut dry = args.to_vec();
        dry.push("--dry-run");
        into.admin(&dry).expect(0);
        let reads = started.elapsed();
        let started = std::time::Instant::now();
        into.admin(&args).expect(0);
        let span = started.elapsed();
        into.emulator.load_state(fresh.clone());
        let delay = reads + span.saturating_sub(reads).mul_f64(rng.f64());
        let mut command = into.command();
        command
            .args(args)
            .env("DCOS_ACS_TOKEN", &into.admin_token)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        let mut child = command.spawn().unwrap();
        std::thread::sleep(delay);
        let _ = child.kill();
        let status = child.wait().unwrap();
        // What the killed run had sent still lands, after the emulator's latency.
        std::thread::sleep(std::time::Duration::from_millis(100));
        let after_kill = into.emulator.state();
        let landed = after_kill != fresh && without_passwords(after_kill.clone()) != expected;
        partial += u64::from(landed);

        let label =
            format!("trial {trial} (seed {seed}, killed after {delay:?} of {span:?}, {status})");
        let rerun = into.admin(&args);
        assert_eq!(rerun.code, 0, "{label}: {}", rerun.stderr);
        assert_eq!(
            without_passwords(into.emulator.state()),
            expected,
            "{label}: did not converge"
        );
        let again = into.admin(&args).expect(0).json();
        assert_eq!(again["result"], "unchanged", "{label}");
        if trial == 0 {
            // In words, a long plan with nothing to change is counted, not listed.
            let text = into.admin(&args[2..]).expect(0);
            assert!(
                text.stderr.contains("steps with nothing to change"),
                "{}",
                text.stderr
            );
            assert!(!text.stderr.contains("secret bulk/s000"), "{}", text.stderr);
        }
        eprintln!("{label}: converged");
    }
    crate::harness::record(
        &format!("restore: SIGKILL mid-run, then a rerun ({partial} kills left a partial restore)"),
        trials,
        trials,
        trials,
        0,
    );
}

/// An unencrypted OpenSSH key pair of `kind` made by `ssh-keygen` in the cluster's folder:
/// (private key file, public key line).
fn ssh_key(cluster: &Cluster, kind: &str, name: &str) -> (String, String) {
    let file = cluster.path(name);
    let made = std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", kind, "-N", "", "-C", "backup-test", "-f"])
        .arg(&file)
        .output()
        .unwrap_or_else(|e| panic!("ssh-keygen (OpenSSH's client tools) is needed here: {e}"));
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let public = std::fs::read_to_string(file.with_extension("pub")).unwrap();
    (file.display().to_string(), public.trim().to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_for_ssh_recipients_opens_with_each_of_their_keys_only() {
    let from = source().await;
    let (ed25519, ed25519_pub) = ssh_key(&from, "ed25519", "id_ed25519");
    let (rsa, rsa_pub) = ssh_key(&from, "rsa", "id_rsa");
    let (stranger, _) = ssh_key(&from, "ed25519", "id_stranger");
    let file = from.path("creds.age").display().to_string();
    from.admin(&[
        "backup",
        "--out",
        &file,
        "--recipient",
        &ed25519_pub,
        "--recipient",
        &rsa_pub,
    ])
    .expect(0);
    for identity in [&ed25519, &rsa] {
        from.admin(&["diff", &file, "--identity", identity])
            .expect(0);
    }
    let refused = from
        .admin(&["diff", &file, "--identity", &stranger])
        .expect(4);
    assert!(
        refused.stderr.contains("cannot be opened"),
        "{}",
        refused.stderr
    );
    let bad = from
        .admin(&[
            "backup",
            "--out",
            &from.path("x.age").display().to_string(),
            "--recipient",
            "nobody",
        ])
        .expect(2);
    assert!(
        bad.stderr.contains("not an age or SSH recipient"),
        "{}",
        bad.stderr
    );
}
