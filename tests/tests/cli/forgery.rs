//! What an attacker plants is never acted on (issue 27): ids that are URL dot segments,
//! recovery files that are not the user's own, rotation records that AWS does not vouch for.

use crate::harness::Cluster;

/// Requirement (issue 27): a group whose id is `..` cannot turn `revoke --all
/// --remove-from-groups` into the deletion of the user (`DELETE /groups/../users/victim` is
/// `DELETE /users/victim`). The client refuses such an id (and the emulator, like the service,
/// refuses to create one); one that is there anyway (loaded state) is left with a warning
/// that names it, and the user stays.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dot_dot_group_never_deletes_a_user() {
    let cluster = Cluster::start().await;
    cluster.service_account("victim").await;
    let dots = dcos_iam_client::Gid::new("..");
    assert!(dots.is_err(), "the client accepts `..` as a gid");

    // A state where the group exists all the same, with the victim in it.
    let mut state = cluster.emulator.state();
    let mut group = dcos_emulator::state::Group::default();
    group.members.insert("victim".to_owned());
    state.groups.insert("..".to_owned(), group);
    cluster.emulator.load_state(state);
    let before = cluster.emulator.state();
    let run = cluster
        .admin(&[
            "revoke",
            "--all",
            "--user",
            "victim",
            "--remove-from-groups",
            "--yes",
        ])
        .expect(0);
    assert!(
        run.stderr.contains("group `..` was left as it is"),
        "{}",
        run.stderr
    );
    let after = cluster.emulator.state();
    assert!(
        after.accounts.contains_key("victim"),
        "the user was deleted"
    );
    assert_eq!(after, before, "{}", run.stderr);
    crate::harness::record(
        "revoke --all --remove-from-groups with a group `..`: the id refused, the membership \
         left with a warning, the user kept",
        1,
        1,
        1,
        0,
    );
}

/// `sa2` with its key in sa2.pem and its login secret at sa2/service-account, a production
/// secret, and the `superusers` group, which it is not in.
async fn account_to_rotate() -> Cluster {
    let cluster = Cluster::start().await;
    cluster
        .admin(&[
            "service-account",
            "create",
            "sa2",
            "--private-key-out",
            "sa2.pem",
            "--secret",
            "sa2/service-account",
        ])
        .expect(0);
    std::fs::write(cluster.path("db.txt"), "prod-db-password-canary").unwrap();
    cluster
        .admin(&[
            "secret",
            "create",
            "prod/db_password",
            "--value-file",
            "db.txt",
        ])
        .expect(0);
    // The emulator's bootstrap has the `superusers` group, as DC/OS does.
    assert!(cluster.emulator.state().groups.contains_key("superusers"));
    cluster
}

/// Plants, in `shared/`, an attacker's key and a recovery file whose plan gives `sa2` that
/// key, `full` on `dcos:superuser`, membership of `superusers`, and the login JSON written
/// over `prod/db_password`. `old_public_key` is the live one (public data).
fn plant(cluster: &Cluster, secrets: &[&str], grants: bool) {
    use std::os::unix::fs::PermissionsExt;
    let state = cluster.emulator.state();
    let live = state.accounts["sa2"].public_key.clone().unwrap();
    let keys = dcos_iam_client::KeyPair::generate(dcos_iam_client::KeySize::Rsa2048).unwrap();
    let shared = cluster.path("shared");
    std::fs::create_dir_all(&shared).unwrap();
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o700)).unwrap();
    let key = shared.join("sa2-new.pem");
    let record = shared.join("sa2-new.pem.rotate-key.json");
    use secrecy::ExposeSecret;
    std::fs::write(&key, keys.private_key_pem.expose_secret()).unwrap();
    // The journal record of a rotation, as the tool writes it.
    let mut entries = vec![serde_json::json!({
        "change": "rekeyed",
        "uid": "sa2",
        "description": "sa2",
        "old_public_key": live,
        "new_public_key": keys.public_key_pem,
        "grants": if grants { serde_json::json!([["dcos:superuser", "full"]]) } else { serde_json::json!([]) },
        "groups": if grants { serde_json::json!(["superusers"]) } else { serde_json::json!([]) },
    })];
    entries.extend(
        secrets
            .iter()
            .map(|path| serde_json::json!({"change": "login_secret", "path": path})),
    );
    let plan = serde_json::json!({
        "format": "dcos-creds journal, version 1",
        "workflow": "rotate-key",
        "entries": entries,
    });
    std::fs::write(&record, plan.to_string()).unwrap();
    for file in [&key, &record] {
        std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
}

/// Requirement (issue 27): a recovery file and key planted beside `--private-key-out` never
/// finish a forged rotation: a file owned by someone else, readable by others, in a folder
/// others may write to, or whose plan does not match the cluster (grants and a group the
/// account does not hold; a secret that is not among `--secret`, or not the account's login
/// secret) is refused with exit 3, left in place, and nothing on the cluster changes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_planted_recovery_file_never_takes_over_an_account() {
    use std::os::unix::fs::PermissionsExt;
    let cluster = account_to_rotate().await;
    let before = cluster.emulator.state();
    let key = cluster.path("shared/sa2-new.pem");
    let record = cluster.path("shared/sa2-new.pem.rotate-key.json");
    let rotate = |secret: &str| {
        cluster.admin(&[
            "service-account",
            "rotate-key",
            "sa2",
            "--private-key-out",
            "shared/sa2-new.pem",
            "--secret",
            secret,
            "--yes",
        ])
    };
    type Tamper = Box<dyn Fn(&Cluster)>;
    let cases: Vec<(&str, &str, Vec<&str>, bool, Tamper)> = vec![
        (
            "owned by another user",
            "owned by uid 65534",
            vec!["prod/db_password"],
            true,
            Box::new(|c: &Cluster| {
                std::os::unix::fs::chown(
                    c.path("shared/sa2-new.pem.rotate-key.json"),
                    Some(65534),
                    None,
                )
                .expect("giving a file to another owner needs root, as CI runs the tests")
            }),
        ),
        (
            "readable by others",
            "its mode is 644",
            vec!["prod/db_password"],
            true,
            Box::new(|c: &Cluster| {
                std::fs::set_permissions(
                    c.path("shared/sa2-new.pem.rotate-key.json"),
                    std::fs::Permissions::from_mode(0o644),
                )
                .unwrap()
            }),
        ),
        (
            "in a folder others may write to",
            "may be written by others",
            vec!["prod/db_password"],
            true,
            Box::new(|c: &Cluster| {
                std::fs::set_permissions(c.path("shared"), std::fs::Permissions::from_mode(0o777))
                    .unwrap()
            }),
        ),
        (
            "a grant and a group the account does not hold",
            "which `sa2` does not hold",
            vec!["sa2/service-account"],
            true,
            Box::new(|_: &Cluster| {}),
        ),
        (
            "a secret that is not among --secret",
            "not among the login secrets given",
            vec!["prod/db_password"],
            false,
            Box::new(|_: &Cluster| {}),
        ),
    ];
    for (case, says, secrets, grants, tamper) in cases {
        let _ = std::fs::remove_dir_all(cluster.path("shared"));
        plant(&cluster, &secrets, grants);
        tamper(&cluster);
        let run = rotate("sa2/service-account").expect(3);
        assert!(run.stderr.contains(says), "{case}: {}", run.stderr);
        assert_eq!(
            cluster.emulator.state(),
            before,
            "{case}: the cluster changed"
        );
        assert!(
            key.exists() && record.exists(),
            "{case}: the files must stay"
        );
    }
    // A listed secret that is among --secret but not a login secret of the account.
    let _ = std::fs::remove_dir_all(cluster.path("shared"));
    plant(&cluster, &["prod/db_password"], false);
    let run = rotate("prod/db_password").expect(3);
    assert!(
        run.stderr
            .contains("`prod/db_password` is not a login secret of `sa2`"),
        "{}",
        run.stderr
    );
    assert_eq!(cluster.emulator.state(), before);
    crate::harness::record(
        "service-account rotate-key: a planted recovery file (another owner, mode 644, a folder \
         others may write to, grants the account lacks, a secret not given, a secret not a login \
         secret) refused, exit 3, nothing changed",
        6,
        6,
        6,
        0,
    );
}

/// Runs the binary on a pseudo-terminal (util-linux `script`) as the superuser, waits for its
/// `[y/N]` prompt, calls `change` (someone changes the cluster while the person reads the
/// plan), then answers `y`.
fn answer_after(cluster: &Cluster, args: &[&str], change: impl FnOnce()) -> crate::harness::Run {
    use std::io::{Read, Write};
    use std::process::Stdio;
    let quoted: Vec<String> = std::iter::once(crate::harness::binary().display().to_string())
        .chain(args.iter().map(|a| a.to_string()))
        .map(|a| format!("'{}'", a.replace('\'', "'\\''")))
        .collect();
    let mut child = cluster
        .command_for("script")
        .args(["-qec", &quoted.join(" "), "/dev/null"])
        .env("DCOS_ACS_TOKEN", &cluster.admin_token)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("util-linux `script` is needed for the terminal tests");
    let shown = std::sync::Arc::new(std::sync::Mutex::new(Vec::<u8>::new()));
    let mut stdout = child.stdout.take().unwrap();
    let reader = {
        let shown = std::sync::Arc::clone(&shown);
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stdout.read(&mut buf) {
                if n == 0 {
                    break;
                }
                shown.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        })
    };
    let asked = std::time::Instant::now();
    while !String::from_utf8_lossy(&shown.lock().unwrap()).contains("[y/N]") {
        assert!(
            asked.elapsed() < std::time::Duration::from_secs(60),
            "no prompt: {}",
            String::from_utf8_lossy(&shown.lock().unwrap())
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    change();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"y\n").unwrap();
    let status = child.wait().unwrap();
    drop(stdin);
    reader.join().unwrap();
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let shown = shown.lock().unwrap().clone();
    crate::harness::Run {
        code: status.code().unwrap_or(-1),
        stderr: format!("{}{stderr}", String::from_utf8_lossy(&shown)),
        stdout: shown,
    }
}

/// Grants `action` on `rid` to `uid`, as another admin would.
fn grant(cluster: &Cluster, rid: &str, uid: &str, action: &str) {
    cluster
        .admin(&["grant", "--user", uid, rid, action])
        .expect(0);
}

/// Requirement (issue 27): what runs is what was confirmed. While the `[y/N]` prompt waits,
/// the cluster changes; answered `y`, each destructive command finds the drift, changes
/// nothing and exits 8: `revoke --all` (a grant of `full` on `dcos:superuser` added),
/// `service-account delete --cascade` (another secret given the login secret's value),
/// `service-account rotate-key` (a grant added), `secret delete` (a new value). Unchanged, the
/// same answer runs the plan.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_at_the_prompt_is_drift_and_changes_nothing() {
    let cluster = Cluster::start().await;
    cluster.service_account("victim").await;
    grant(&cluster, "dcos:secrets:default:team/a", "victim", "read");

    // revoke --all: a grant added at the prompt.
    let revoke = ["revoke", "--all", "--user", "victim"];
    let run = answer_after(&cluster, &revoke, || {
        grant(&cluster, "dcos:superuser", "victim", "full")
    });
    assert_eq!(run.code, 8, "{}", run.stderr);
    assert!(run.stderr.contains("dcos:superuser"), "{}", run.stderr);
    let state = cluster.emulator.state();
    for rid in ["dcos:secrets:default:team/a", "dcos:superuser"] {
        assert!(
            state.acls[rid].users.contains_key("victim"),
            "{rid} was revoked"
        );
    }
    // Nothing changed at the prompt: the plan runs.
    let run = answer_after(&cluster, &revoke, || {});
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        !cluster.emulator.state().acls["dcos:superuser"]
            .users
            .contains_key("victim")
    );

    // service-account delete --cascade: a secret given the login secret's value.
    cluster
        .admin(&[
            "service-account",
            "create",
            "sa1",
            "--private-key-out",
            "sa1.pem",
            "--secret",
            "sa1/sa",
        ])
        .expect(0);
    let run = answer_after(
        &cluster,
        &["service-account", "delete", "sa1", "--cascade"],
        || {
            let mut state = cluster.emulator.state();
            let login = state.secrets["sa1/sa"].clone();
            state.secrets.insert("prod/db_backup_creds".into(), login);
            cluster.emulator.load_state(state);
        },
    );
    assert_eq!(run.code, 8, "{}", run.stderr);
    assert!(
        run.stderr.contains("prod/db_backup_creds"),
        "{}",
        run.stderr
    );
    let state = cluster.emulator.state();
    assert!(state.accounts.contains_key("sa1"));
    assert!(
        state.secrets.contains_key("sa1/sa") && state.secrets.contains_key("prod/db_backup_creds")
    );

    // service-account rotate-key: a grant added at the prompt.
    let before_key = cluster.emulator.state().accounts["sa1"].public_key.clone();
    let rotate = [
        "service-account",
        "rotate-key",
        "sa1",
        "--private-key-out",
        "sa1-new.pem",
        "--secret",
        "sa1/sa",
    ];
    let run = answer_after(&cluster, &rotate, || {
        grant(&cluster, "dcos:superuser", "sa1", "full")
    });
    assert_eq!(run.code, 8, "{}", run.stderr);
    assert_eq!(
        cluster.emulator.state().accounts["sa1"].public_key,
        before_key
    );
    assert!(!cluster.path("sa1-new.pem").exists());

    // secret delete: a new value at the prompt.
    std::fs::write(cluster.path("v.txt"), "first-value").unwrap();
    cluster
        .admin(&["secret", "create", "team/b", "--value-file", "v.txt"])
        .expect(0);
    let run = answer_after(&cluster, &["secret", "delete", "team/b"], || {
        let mut state = cluster.emulator.state();
        state.secrets.insert(
            "team/b".into(),
            dcos_emulator::state::Secret::Text("second-value".into()),
        );
        cluster.emulator.load_state(state);
    });
    assert_eq!(run.code, 8, "{}", run.stderr);
    assert!(cluster.emulator.state().secrets.contains_key("team/b"));

    // s3 offboard: the account given read on a secret's value while the plan said it had none.
    let onboarded = crate::s3::cluster().await;
    crate::s3::onboard(&onboarded, &[], crate::s3::PAIR_A).expect(0);
    let before = onboarded.emulator.state();
    let value_rid = format!("dcos:secrets:default:{}", crate::s3::KEY_ID);
    let run = answer_after(
        &onboarded,
        &["s3", "offboard", "--service-account", "dse"],
        || grant(&onboarded, &value_rid, "dse", "read"),
    );
    assert_eq!(run.code, 8, "{}", run.stderr);
    assert!(run.stderr.contains(&value_rid), "{}", run.stderr);
    let state = onboarded.emulator.state();
    assert_eq!(state.secrets, before.secrets, "a secret was deleted");
    assert!(state.acls[&value_rid].users.contains_key("dse"));

    // apply --prune: another undeclared grant on a declared resource at the prompt.
    let (iam, _) = cluster.clients();
    iam.group(&dcos_iam_client::Gid::new("data").unwrap())
        .create("data team")
        .await
        .unwrap();
    let manifest =
        "[[grant]]\ngroup = \"data\"\nrid = \"dcos:secrets:default:team/db\"\naction = \"read\"\n";
    std::fs::write(cluster.path("cluster.toml"), manifest).unwrap();
    cluster.admin(&["apply", "-f", "cluster.toml"]).expect(0);
    grant(&cluster, "dcos:secrets:default:team/db", "victim", "read");
    let run = answer_after(
        &cluster,
        &["apply", "-f", "cluster.toml", "--prune"],
        || grant(&cluster, "dcos:secrets:default:team/db", "victim", "full"),
    );
    assert_eq!(run.code, 8, "{}", run.stderr);
    let acl = &cluster.emulator.state().acls["dcos:secrets:default:team/db"];
    assert!(acl.users["victim"].contains("full") && acl.users["victim"].contains("read"));
    crate::harness::record(
        "a change while the prompt waits (revoke --all, service-account delete --cascade, \
         rotate-key, secret delete, s3 offboard, apply --prune): exit 8, nothing changed",
        6,
        6,
        6,
        0,
    );
}

/// A destructive command whose plan changes nothing asks nothing (not even without a terminal)
/// and reports a real run, not its plan: `"dry_run": false`, nothing changed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plan_that_changes_nothing_is_run_without_asking() {
    let cluster = Cluster::start().await;
    cluster.service_account("idle").await;
    let before = cluster.emulator.state();
    let report = cluster
        .admin(&["-o", "json", "revoke", "--all", "--user", "idle"])
        .expect(0)
        .json();
    assert_eq!(report["dry_run"], false, "{report}");
    assert_eq!(report["result"], "unchanged", "{report}");
    assert_eq!(cluster.emulator.state(), before);
}
