//! For people and for scripts: errors as JSON, one vocabulary, flags over the environment,
//! honest TLS and token errors, the service-account lifecycle, the brake on destructive
//! commands, `status`, help and terminal manners, AWS habits, resource ids and `apply --check`.

use std::time::Duration;

use dcos_emulator::{Emulator, FaultRule};
use serde_json::{Value, json};

use crate::harness::{Cluster, Run, binary, run};
use crate::s3::{KEY_ID, LOGIN, PAIR_A, SECRET_KEY, onboard};

/// A cluster with the service account `dse`.
async fn cluster() -> Cluster {
    let cluster = Cluster::start().await;
    cluster.service_account("dse").await;
    cluster
}

/// Asserts that a failed run printed one JSON error document on standard output whose code
/// is the exit code, and returns the document.
#[track_caller]
fn json_error(run: &Run, code: i32, kind: &str) -> Value {
    assert_eq!(
        run.code,
        code,
        "exit code; stdout: {}\nstderr: {}",
        run.stdout(),
        run.stderr
    );
    let doc = run.json();
    let error = &doc["error"];
    assert_eq!(error["exit_code"], code, "{doc}");
    assert_eq!(error["kind"], kind, "{doc}");
    assert!(
        error["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{doc}"
    );
    assert!(error.get("hint").is_some(), "hint is always present: {doc}");
    // The same failure is on standard error for people.
    assert!(run.stderr.contains("error: "), "{}", run.stderr);
    doc
}

/// Runs the binary on a pseudo-terminal (util-linux `script`), typing `typed`, with the
/// cluster's environment and the superuser's token. Standard output and error arrive mixed.
fn on_terminal(cluster: &Cluster, args: &[&str], env: &[(&str, &str)], typed: &str) -> Run {
    let quoted: Vec<String> = std::iter::once(binary().display().to_string())
        .chain(args.iter().map(|a| a.to_string()))
        .map(|a| format!("'{}'", a.replace('\'', "'\\''")))
        .collect();
    let mut command = cluster.command_for("script");
    command
        .args(["-qec", &quoted.join(" "), "/dev/null"])
        .env("DCOS_ACS_TOKEN", &cluster.admin_token);
    for (name, value) in env {
        command.env(name, value);
    }
    let run = run(command, Some(typed.as_bytes()));
    assert_ne!(
        run.code, 127,
        "util-linux `script` is needed for the terminal tests: {}",
        run.stderr
    );
    run
}

/// Requirement 1: under `-o json` every failure is one JSON document on standard output with
/// the documented exit code, and a failed workflow's report carries it as its `error`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_failure_is_one_json_document_under_o_json() {
    let cluster = cluster().await;
    std::fs::write(cluster.path("v.txt"), "v").unwrap();
    std::fs::write(cluster.path("bad.toml"), "[[secret]]\npath = 5\n").unwrap();
    let admin = |args: &[&str]| cluster.admin(args);
    let no_token = |args: &[&str]| cluster.run_with(args, &[], None);

    // Usage errors found by clap, in each spelling of the flag.
    json_error(&admin(&["-o", "json", "no-such-command"]), 2, "usage");
    json_error(&admin(&["--output=json", "secret", "put"]), 2, "usage");
    json_error(&admin(&["-ojson", "grant", "dcos:x", "read"]), 2, "usage");
    json_error(&admin(&["secret", "get", "--output", "json"]), 2, "usage");
    // And in text, clap's own message, nothing on standard output.
    let text = admin(&["no-such-command"]).expect(2);
    assert!(text.stdout.is_empty());

    json_error(
        &admin(&["-o", "json", "secret", "get", "nope"]),
        5,
        "not_found",
    );
    json_error(&admin(&["-o", "json", "access", "a//b"]), 2, "usage");
    let missing_file = [
        "-o",
        "json",
        "secret",
        "create",
        "a/b",
        "--value-file",
        "no.txt",
    ];
    json_error(&admin(&missing_file), 2, "usage");
    let create = [
        "-o",
        "json",
        "secret",
        "create",
        "a/b",
        "--value-file",
        "v.txt",
    ];
    admin(&create).expect(0);
    json_error(&admin(&create), 3, "conflict");
    json_error(&no_token(&["-o", "json", "whoami"]), 4, "auth");
    json_error(
        &admin(&["-o", "json", "grant", "--user", "ghost", "dcos:x", "read"]),
        5,
        "not_found",
    );
    json_error(
        &admin(&["-o", "json", "service-account", "delete", "ghost", "--yes"]),
        5,
        "not_found",
    );
    json_error(
        &admin(&["-o", "json", "apply", "-f", "bad.toml"]),
        2,
        "usage",
    );
    json_error(
        &admin(&["-o", "json", "--url", "dcos.example.com", "whoami"]),
        2,
        "usage",
    );
    let unreachable = [
        "-o",
        "json",
        "--url",
        "http://127.0.0.1:9",
        "--timeout",
        "1",
        "whoami",
    ];
    json_error(&admin(&unreachable), 6, "unavailable");
    let nobody = cluster.emulator.issue_token("nobody").unwrap();
    let as_nobody = |args: &[&str]| cluster.run_with(args, &[("DCOS_ACS_TOKEN", &nobody)], None);
    json_error(&as_nobody(&["-o", "json", "secret", "list"]), 4, "auth");
    json_error(&as_nobody(&["-o", "json", "access", "a/b"]), 4, "auth");
    let update = [
        "-o",
        "json",
        "secret",
        "update",
        "no/such",
        "--value-file",
        "v.txt",
    ];
    json_error(&admin(&update), 5, "not_found");
    json_error(
        &admin(&["-o", "json", "secret", "delete", "no/such", "--yes"]),
        5,
        "not_found",
    );
    json_error(
        &admin(&[
            "-o", "json", "revoke", "--group", "ghosts", "dcos:x", "read",
        ]),
        5,
        "not_found",
    );
    json_error(
        &admin(&["-o", "json", "revoke", "--all", "--user", "ghost"]),
        5,
        "not_found",
    );
    let rotate = cluster.run_with(
        &["-o", "json", "s3", "rotate", "--from-env"],
        &[
            ("DCOS_ACS_TOKEN", &cluster.admin_token),
            ("AWS_ACCESS_KEY_ID", PAIR_A.0),
            ("AWS_SECRET_ACCESS_KEY", PAIR_A.1),
        ],
        None,
    );
    let doc = json_error(&rotate, 5, "not_found");
    assert_eq!(doc["command"], "rotate", "{doc}");
    json_error(
        &admin(&[
            "-o",
            "json",
            "s3",
            "offboard",
            "--service-account",
            "ghost",
            "--yes",
        ]),
        5,
        "not_found",
    );
    let existing = [
        "-o",
        "json",
        "service-account",
        "create",
        "dse",
        "--private-key-out",
        "n.pem",
    ];
    json_error(&admin(&existing), 3, "conflict");
    std::fs::write(cluster.path("taken.crt"), "x").unwrap();
    json_error(
        &admin(&["-o", "json", "ca", "fetch", "--out", "taken.crt"]),
        3,
        "conflict",
    );
    let dead = [
        "-o",
        "json",
        "--url",
        "https://127.0.0.1:9",
        "--timeout",
        "1",
    ];
    json_error(
        &admin(&[&dead[..], &["cluster", "info"][..]].concat()),
        6,
        "unavailable",
    );
    let hdfs = [
        "-o",
        "json",
        "hdfs",
        "options",
        "--conf-url",
        "http://127.0.0.1:9/v1/endpoints",
        "--check",
        "--timeout",
        "1",
    ];
    json_error(&admin(&hdfs), 6, "unavailable");
    let wrong_password = cluster.run_with(
        &[
            "-o",
            "json",
            "login",
            "--username",
            "bootstrapuser",
            "--password-stdin",
        ],
        &[],
        Some(b"wrong\n"),
    );
    json_error(&wrong_password, 4, "auth");

    // A workflow that fails midway: its report, with the failure as `error`.
    let ghost = cluster.run_with(
        &[
            "-o",
            "json",
            "s3",
            "onboard",
            "--service-account",
            "ghost",
            "--service-account-secret",
            LOGIN,
            "--from-env",
        ],
        &[
            ("DCOS_ACS_TOKEN", &cluster.admin_token),
            ("AWS_ACCESS_KEY_ID", PAIR_A.0),
            ("AWS_SECRET_ACCESS_KEY", PAIR_A.1),
        ],
        None,
    );
    let doc = json_error(&ghost, 5, "not_found");
    assert_eq!(doc["command"], "onboard", "the report is there: {doc}");
    assert!(
        doc["error"]["hint"]
            .as_str()
            .unwrap()
            .contains("service-account create")
    );
    let status = json_error(
        &admin(&["-o", "json", "s3", "status", "--service-account", "dse"]),
        5,
        "not_found",
    );
    assert_eq!(status["healthy"], false, "{status}");
}

/// Requirement 1: one vocabulary. `grant` says `service_account` for a service account, as
/// `access` does; `access` calls its column REACH; options reports say `result`; `login
/// --print-token -o json` is JSON with the token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn field_names_are_the_same_across_commands() {
    let cluster = cluster().await;
    let rid = "dcos:secrets:list:default:team/key";
    let granted = cluster
        .admin(&["-o", "json", "grant", "--user", "dse", rid, "read"])
        .expect(0)
        .json();
    assert_eq!(granted["principal_type"], "service_account", "{granted}");
    let text = cluster
        .admin(&["grant", "--user", "dse", rid, "read"])
        .expect(0);
    assert!(
        text.stdout()
            .contains("already granted: service account dse"),
        "{}",
        text.stdout()
    );
    let user = cluster
        .admin(&[
            "-o",
            "json",
            "revoke",
            "--user",
            "bootstrapuser",
            rid,
            "read",
        ])
        .expect(0)
        .json();
    assert_eq!(user["principal_type"], "user");

    std::fs::write(cluster.path("v.txt"), "v").unwrap();
    cluster
        .admin(&["secret", "create", "team/key", "--value-file", "v.txt"])
        .expect(0);
    let access = cluster.admin(&["access", "team/key"]).expect(0);
    assert!(access.stdout().contains("REACH"), "{}", access.stdout());
    assert!(!access.stdout().contains("MATCH"));
    let access = cluster
        .admin(&["-o", "json", "access", "team/key"])
        .expect(0)
        .json();
    let dse = access["name_listers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["principal"] == "dse")
        .expect("dse lists the name");
    assert_eq!(dse["principal_type"], "service_account");
    assert_eq!(dse["reach"], "exact");

    let account = [
        "--service-account",
        "dse",
        "--service-account-secret",
        LOGIN,
    ];
    let s3 = cluster
        .admin(&[&["-o", "json", "s3", "options"][..], &account[..]].concat())
        .expect(0)
        .json();
    assert_eq!(s3["result"], "printed", "{s3}");
    assert!(s3.get("outcome").is_none());
    let hdfs = cluster
        .admin(&[
            "-o",
            "json",
            "hdfs",
            "options",
            "--conf-url",
            "http://h/v1/endpoints",
        ])
        .expect(0)
        .json();
    assert_eq!(hdfs["result"], "printed", "{hdfs}");

    let login = cluster.run_with(
        &[
            "-o",
            "json",
            "login",
            "--username",
            "bootstrapuser",
            "--password-stdin",
            "--print-token",
        ],
        &[],
        Some(b"deleteme\n"),
    );
    let login = login.expect(0).json();
    assert_eq!(login["uid"], "bootstrapuser");
    assert_eq!(login["saved_to"], "stdout");
    let token = login["token"].as_str().expect("the token is in the JSON");
    let who = cluster
        .run_with(
            &["-o", "json", "whoami"],
            &[("DCOS_ACS_TOKEN", token)],
            None,
        )
        .expect(0)
        .json();
    assert_eq!(who["uid"], "bootstrapuser");
}

/// Requirement 2: a flag wins over the variable for the same setting, for every pair, an empty
/// variable counts as unset, and `-v` says what was shadowed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flags_override_their_environment_variables() {
    let cluster = Cluster::start().await;
    let other = Cluster::start().await;
    let wrong_ca = other.ca_file.display().to_string();
    let right_ca = cluster.ca_file.display().to_string();
    let token = cluster.admin_token.as_str();
    let with = |args: &[&str], env: &[(&str, &str)]| {
        let mut env = env.to_vec();
        env.push(("DCOS_ACS_TOKEN", token));
        cluster.run_with(args, &env, None)
    };

    // --url over DCOS_URL.
    let run = with(
        &["-v", "--url", cluster.url(), "whoami"],
        &[("DCOS_URL", "https://127.0.0.1:9")],
    )
    .expect(0);
    assert!(
        run.stderr.contains("from --url (shadows DCOS_URL)"),
        "{}",
        run.stderr
    );
    // -v names the source when the variable alone is set, too.
    let run = with(&["-v", "whoami"], &[]).expect(0);
    assert!(run.stderr.contains("from DCOS_URL"), "{}", run.stderr);
    assert!(!run.stderr.contains('\u{1b}'), "no colour off a terminal");

    // --ca-cert over DCOS_TLS_CA_PATH.
    let run = with(
        &["-v", "--ca-cert", &right_ca, "whoami"],
        &[("DCOS_TLS_CA_PATH", &wrong_ca)],
    )
    .expect(0);
    assert!(
        run.stderr
            .contains("from --ca-cert (shadows DCOS_TLS_CA_PATH)"),
        "{}",
        run.stderr
    );
    // --insecure and --ca-fingerprint take the variable's place rather than clash with a flag
    // nobody passed.
    let insecure = with(
        &["--insecure", "whoami"],
        &[("DCOS_TLS_CA_PATH", &wrong_ca)],
    )
    .expect(0);
    assert!(
        insecure.stderr.contains("--insecure"),
        "{}",
        insecure.stderr
    );
    let fetched = cluster.admin(&["ca", "fetch"]).expect(0).stdout();
    let fingerprint = fetched.lines().next().unwrap().to_owned();
    with(
        &["--ca-fingerprint", &fingerprint, "whoami"],
        &[("DCOS_TLS_CA_PATH", &wrong_ca)],
    )
    .expect(0);
    // --ca-cert over DCOS_TLS_INSECURE: the flag's CA is checked, so a wrong one fails.
    with(
        &["--ca-cert", &wrong_ca, "whoami"],
        &[("DCOS_TLS_INSECURE", "1")],
    )
    .expect(4);
    // An empty variable is unset: the web roots, which do not know the emulator's CA.
    let mut command = cluster.command();
    command
        .env("DCOS_TLS_CA_PATH", "")
        .env("DCOS_ACS_TOKEN", token)
        .arg("whoami");
    let empty = crate::harness::run(command, None);
    assert_eq!(empty.code, 4, "{}", empty.stderr);
    assert!(
        !empty.stderr.contains("a value is required"),
        "{}",
        empty.stderr
    );
    assert!(
        empty.stderr.contains("the system's web roots"),
        "{}",
        empty.stderr
    );

    // -q over the dcos CLI's DCOS_VERBOSITY; -v without it.
    let quiet = with(&["-q", "whoami"], &[("DCOS_VERBOSITY", "2")]).expect(0);
    assert!(quiet.stderr.is_empty(), "{}", quiet.stderr);
    let loud = with(&["whoami"], &[("DCOS_VERBOSITY", "1")]).expect(0);
    assert!(loud.stderr.contains("from DCOS_URL"), "{}", loud.stderr);

    // A token in the environment keeps winning over a login: said at the login.
    let login = cluster.run_with(
        &["login", "--username", "bootstrapuser", "--password-stdin"],
        &[("DCOS_ACS_TOKEN", token)],
        Some(b"deleteme\n"),
    );
    assert!(
        login
            .stderr
            .contains("DCOS_ACS_TOKEN is set, and its token goes before this login"),
        "{}",
        login.stderr
    );
}

/// Requirement 2: after `logout`, the `dcos` CLI's token is named, not used silently.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_names_the_token_commands_still_find() {
    let cluster = Cluster::start().await;
    cluster.attach_dcos_cli("");
    let logout = cluster
        .run_with(&["-o", "json", "logout"], &[], None)
        .expect(0);
    let report = logout.json();
    let still = report["still_logged_in_by"].as_str().unwrap();
    assert!(still.contains("dcos CLI"), "{report}");
    assert!(
        logout.stderr.contains("dcos auth logout"),
        "{}",
        logout.stderr
    );
}

/// Requirement 3: a certificate that does not verify is exit 4 at once, naming the CA used;
/// http:// to a TLS port and a URL without a scheme say what to do; an expired token is
/// refused locally, saying when it expired.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_and_connection_errors_say_what_is_wrong() {
    let cluster = Cluster::start().await;
    let other = Cluster::start().await;
    let token = cluster.admin_token.clone();
    let wrong_ca = other.ca_file.display().to_string();

    let run = cluster.run_with(
        &["-vv", "whoami"],
        &[("DCOS_ACS_TOKEN", &token), ("DCOS_TLS_CA_PATH", &wrong_ca)],
        None,
    );
    assert_eq!(run.code, 4, "{}", run.stderr);
    assert!(run.stderr.contains("does not verify"), "{}", run.stderr);
    assert!(
        run.stderr
            .contains(&format!("the CA of DCOS_TLS_CA_PATH ({wrong_ca})")),
        "{}",
        run.stderr
    );
    assert!(
        !run.stderr.contains("retrying"),
        "never retried: {}",
        run.stderr
    );

    let port: u16 = cluster.url().rsplit(':').next().unwrap().parse().unwrap();
    let plain = format!("http://127.0.0.1:{port}");
    let run = cluster.run_with(
        &["--url", &plain, "whoami"],
        &[("DCOS_ACS_TOKEN", &token)],
        None,
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("speaks TLS"), "{}", run.stderr);
    assert!(run.stderr.contains("https://"), "{}", run.stderr);

    let bare = format!("127.0.0.1:{port}");
    let run = cluster.run_with(
        &["--url", &bare, "whoami"],
        &[("DCOS_ACS_TOKEN", &token)],
        None,
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("has no scheme"), "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!("https://127.0.0.1:{port}")),
        "{}",
        run.stderr
    );

    let short = Cluster::with(
        Emulator::builder()
            .tls(true)
            .token_ttl(Duration::from_secs(1)),
    )
    .await;
    let token = short.emulator.issue_token("bootstrapuser").unwrap();
    std::thread::sleep(Duration::from_millis(2100));
    let before = short.emulator.counters().requests.values().sum::<u64>();
    let run = short.run_with(&["secret", "list"], &[("DCOS_ACS_TOKEN", &token)], None);
    assert_eq!(run.code, 4, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("the token from DCOS_ACS_TOKEN expired at"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("--print-token"), "{}", run.stderr);
    assert!(!run.stderr.contains("401"), "{}", run.stderr);
    let after = short.emulator.counters().requests.values().sum::<u64>();
    assert_eq!(before, after, "nothing was sent with the expired token");
}

fn key_file_public(path: &std::path::Path) -> String {
    let pem = std::fs::read_to_string(path).unwrap();
    dcos_iam_client::KeyPair::from_private_pem(&secrecy::SecretString::from(pem))
        .unwrap()
        .public_key_pem
}

/// Requirement 4: `create` is idempotent with the same key; `list` names each account's login
/// secrets; `delete` refuses to leave grants or login secrets behind unless `--cascade`, which
/// removes them with a plan, and undoes everything when a step fails.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_service_account_lifecycle_is_whole() {
    let cluster = Cluster::start().await;
    let create = |key: &str| {
        cluster.admin(&[
            "-o",
            "json",
            "service-account",
            "create",
            "ci-bot",
            "--private-key-out",
            key,
            "--secret",
            "ci/sa",
        ])
    };
    assert_eq!(create("ci.pem").expect(0).json()["result"], "changed");
    let again = create("ci.pem").expect(0).json();
    assert_eq!(again["result"], "unchanged", "{again}");
    // A missing login secret is put back; another key is a conflict.
    let (_, secrets) = cluster.clients();
    secrets
        .secret(&dcos_secrets_client::SecretPath::new("ci/sa").unwrap())
        .delete()
        .await
        .unwrap();
    assert_eq!(create("ci.pem").expect(0).json()["result"], "changed");
    assert!(cluster.emulator.state().secrets.contains_key("ci/sa"));
    let other = cluster.admin(&[
        "service-account",
        "create",
        "other",
        "--private-key-out",
        "other.pem",
    ]);
    other.expect(0);
    let conflict = create("other.pem");
    let doc = json_error(&conflict, 3, "conflict");
    assert!(
        doc["error"]["hint"]
            .as_str()
            .unwrap()
            .contains("service-account delete"),
        "{doc}"
    );
    assert_eq!(
        cluster.emulator.state().accounts["ci-bot"]
            .public_key
            .as_deref()
            .map(str::trim),
        Some(key_file_public(&cluster.path("ci.pem")).trim())
    );

    let list = cluster
        .admin(&["-o", "json", "service-account", "list"])
        .expect(0)
        .json();
    let accounts = list["service_accounts"].as_array().unwrap();
    let ci = accounts.iter().find(|a| a["uid"] == "ci-bot").unwrap();
    assert_eq!(ci["login_secrets"], json!(["ci/sa"]));
    let other = accounts.iter().find(|a| a["uid"] == "other").unwrap();
    assert_eq!(other["login_secrets"], json!([]));
    let text = cluster.admin(&["service-account", "list"]).expect(0);
    assert!(text.stdout().contains("LOGIN SECRETS"), "{}", text.stdout());

    let rid = "dcos:secrets:default:team/key";
    cluster
        .admin(&["grant", "--user", "ci-bot", rid, "read"])
        .expect(0);
    let before = cluster.emulator.state();
    let refused = cluster.admin(&["-o", "json", "service-account", "delete", "ci-bot", "--yes"]);
    let doc = json_error(&refused, 3, "conflict");
    let message = doc["error"]["message"].as_str().unwrap();
    assert!(message.contains(&format!("read on {rid}")), "{message}");
    assert!(message.contains("`ci/sa`"), "{message}");
    assert!(doc["error"]["hint"].as_str().unwrap().contains("--cascade"));
    assert_eq!(cluster.emulator.state(), before);

    let plan = cluster
        .admin(&[
            "-o",
            "json",
            "service-account",
            "delete",
            "ci-bot",
            "--cascade",
            "--dry-run",
        ])
        .expect(0)
        .json();
    let outcomes: Vec<&str> = plan["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["would_revoke", "would_delete", "would_delete"]);
    assert_eq!(cluster.emulator.state(), before);
    // No terminal, no --yes: refused.
    cluster
        .admin(&["service-account", "delete", "ci-bot", "--cascade"])
        .expect(2);

    // The account's deletion fails: the secret and the grant come back.
    cluster.emulator.add_fault(
        serde_json::from_value::<FaultRule>(json!({
            "method": "DELETE", "path_prefix": "/acs/api/v1/users/ci-bot", "count": 10,
            "status": 500
        }))
        .unwrap(),
    );
    let failed = cluster.admin(&[
        "-o",
        "json",
        "service-account",
        "delete",
        "ci-bot",
        "--cascade",
        "--yes",
    ]);
    let doc = json_error(&failed, 1, "failure");
    assert!(
        doc["error"]["message"].as_str().unwrap().contains("undone"),
        "{doc}"
    );
    let state = cluster.emulator.state();
    assert!(state.accounts.contains_key("ci-bot"));
    assert_eq!(state.secrets.get("ci/sa"), before.secrets.get("ci/sa"));
    assert!(state.acls[rid].users["ci-bot"].contains("read"));

    cluster.emulator.clear_faults();
    cluster
        .admin(&["service-account", "delete", "ci-bot", "--cascade", "--yes"])
        .expect(0);
    let state = cluster.emulator.state();
    assert!(!state.accounts.contains_key("ci-bot"));
    assert!(!state.secrets.contains_key("ci/sa"));
    assert!(
        state.acls[rid]
            .users
            .get("ci-bot")
            .is_none_or(|a| a.is_empty())
    );
    // A user is not a service account.
    cluster
        .admin(&["service-account", "delete", "bootstrapuser", "--yes"])
        .expect(2);
}

/// Requirement 5: destructive commands ask on a terminal, take --yes in scripts and refuse
/// without either; `secret delete --if-exists` exits 0 for a missing secret.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn destructive_commands_ask_or_need_yes() {
    let cluster = cluster().await;
    std::fs::write(cluster.path("v.txt"), "v").unwrap();
    cluster
        .admin(&["secret", "create", "team/key", "--value-file", "v.txt"])
        .expect(0);
    let refused = cluster.admin(&["secret", "delete", "team/key"]).expect(2);
    assert!(refused.stderr.contains("--yes"), "{}", refused.stderr);
    assert!(cluster.emulator.state().secrets.contains_key("team/key"));

    let no = on_terminal(&cluster, &["secret", "delete", "team/key"], &[], "n\n");
    assert_eq!(no.code, 1, "{}", no.stdout());
    assert!(no.stdout().contains("[y/N]"), "{}", no.stdout());
    // The plan, shown as every plan is: each step with what it would do.
    assert!(
        no.stdout()
            .lines()
            .any(|l| l.contains("would delete") && l.ends_with("secret team/key")),
        "{}",
        no.stdout()
    );
    assert!(cluster.emulator.state().secrets.contains_key("team/key"));
    let yes = on_terminal(&cluster, &["secret", "delete", "team/key"], &[], "y\n");
    assert_eq!(yes.code, 0, "{}", yes.stdout());
    assert!(!cluster.emulator.state().secrets.contains_key("team/key"));

    cluster
        .admin(&["secret", "delete", "team/key", "--yes"])
        .expect(5);
    let absent = cluster
        .admin(&["-o", "json", "secret", "delete", "team/key", "--if-exists"])
        .expect(0)
        .json();
    assert_eq!(absent["outcome"], "absent");

    // revoke --all: its plan, confirmed; only the principal's grants under the path go.
    for rid in [
        "dcos:secrets:default:team/a",
        "dcos:secrets:list:default:team/*",
        "dcos:secrets:default:other/b",
    ] {
        cluster
            .admin(&["grant", "--user", "dse", rid, "read"])
            .expect(0);
    }
    cluster
        .admin(&[
            "grant",
            "--user",
            "bootstrapuser",
            "dcos:secrets:default:team/a",
            "read",
        ])
        .expect(0);
    let (iam, _) = cluster.clients();
    let group = dcos_iam_client::Gid::new("data").unwrap();
    iam.group(&group).create("data").await.unwrap();
    iam.group(&group)
        .add_member(&dcos_iam_client::Uid::new("dse").unwrap())
        .await
        .unwrap();
    let before = cluster.emulator.state();
    let all = [
        "revoke",
        "--all",
        "--user",
        "dse",
        "--under",
        "team",
        "--remove-from-groups",
    ];
    cluster.admin(&all).expect(2);
    let plan = cluster
        .admin(&[&["-o", "json"][..], &all[..], &["--dry-run"][..]].concat())
        .expect(0)
        .json();
    assert_eq!(plan["steps"].as_array().unwrap().len(), 3, "{plan}");
    assert_eq!(cluster.emulator.state(), before);
    let done = cluster
        .admin(&[&["-o", "json"][..], &all[..], &["--yes"][..]].concat())
        .expect(0)
        .json();
    assert_eq!(done["result"], "changed");
    let state = cluster.emulator.state();
    let holds = |rid: &str, uid: &str| {
        state
            .acls
            .get(rid)
            .is_some_and(|acl| acl.users.get(uid).is_some_and(|a| a.contains("read")))
    };
    assert!(!holds("dcos:secrets:default:team/a", "dse"));
    assert!(!holds("dcos:secrets:list:default:team/*", "dse"));
    assert!(
        holds("dcos:secrets:default:other/b", "dse"),
        "outside --under"
    );
    assert!(
        holds("dcos:secrets:default:team/a", "bootstrapuser"),
        "another principal's"
    );
    assert!(!state.groups["data"].members.contains("dse"));
}

/// Requirement 6: `status` (and `doctor`) says where each setting came from and whether it
/// works; `s3 status` checks one onboarding without changing it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_reports_sources_identity_and_clock() {
    let cluster = cluster().await;
    let status = cluster.admin(&["-o", "json", "status"]).expect(0).json();
    assert_eq!(status["cluster"]["url"], cluster.url());
    assert_eq!(status["cluster"]["from"], "DCOS_URL");
    assert_eq!(status["trust"]["from"], "DCOS_TLS_CA_PATH");
    assert_eq!(status["token"]["from"], "DCOS_ACS_TOKEN");
    assert_eq!(status["token"]["uid"], "bootstrapuser");
    assert_eq!(status["token"]["accepted"], true);
    assert_eq!(status["cluster_info"]["variant"], "enterprise");
    let skew = status["cluster_info"]["clock_skew_seconds"]
        .as_i64()
        .unwrap();
    assert!(skew.abs() <= 2, "{status}");
    assert_eq!(status["problems"], json!([]));
    let doctor = cluster.admin(&["doctor"]).expect(0);
    assert!(
        doctor.stdout().contains("from DCOS_URL"),
        "{}",
        doctor.stdout()
    );

    let shadowed = cluster
        .run_with(
            &["-o", "json", "--url", cluster.url(), "status"],
            &[("DCOS_ACS_TOKEN", &cluster.admin_token)],
            None,
        )
        .expect(0)
        .json();
    assert_eq!(shadowed["cluster"]["from"], "--url");
    assert_eq!(shadowed["cluster"]["shadows"], json!(["DCOS_URL"]));

    let without = cluster.run_with(&["-o", "json", "status"], &[], None);
    let doc = json_error(&without, 4, "auth");
    assert_eq!(doc["problems"][0]["kind"], "auth", "{doc}");
    assert_eq!(doc["cluster_info"]["variant"], "enterprise", "{doc}");

    // s3 status: healthy after an onboarding, failing with the grant revoked.
    onboard(&cluster, &[], PAIR_A).expect(0);
    let args = ["-o", "json", "s3", "status", "--service-account", "dse"];
    let report = cluster.admin(&args).expect(0).json();
    assert_eq!(report["healthy"], true, "{report}");
    // With the app deployed: it declares both secrets, and its running task is named.
    crate::s3::deploy_dse(&cluster).await;
    crate::s3::settle(&cluster).await;
    let report = cluster.admin(&args).expect(0).json();
    let app = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == "app")
        .unwrap()
        .clone();
    assert_eq!(app["ok"], true, "{report}");
    let detail = app["detail"].as_str().unwrap();
    assert!(
        detail.contains("1 of 1 tasks running, the oldest started 20"),
        "{detail}"
    );
    let before = cluster.emulator.state();
    let rid = format!("dcos:secrets:list:default:{SECRET_KEY}");
    cluster
        .admin(&["revoke", "--user", "dse", &rid, "read"])
        .expect(0);
    let before_check = cluster.emulator.state();
    let doc = json_error(&cluster.admin(&args), 5, "not_found");
    let failed: Vec<(&str, &str)> = doc["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["ok"] == false)
        .map(|c| (c["check"].as_str().unwrap(), c["target"].as_str().unwrap()))
        .collect();
    assert_eq!(failed, [("grant", SECRET_KEY)]);
    assert_eq!(
        cluster.emulator.state(),
        before_check,
        "status changes nothing"
    );
    assert_ne!(before, before_check);
}

/// Requirements 7 and 8: help lists global options apart, `revoke` has no ACL description,
/// counts are English, a conflict says "nothing was changed" once, and the spaces hints name
/// paths that work.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn help_and_messages_read_well() {
    let cluster = cluster().await;
    let help = cluster
        .admin(&["s3", "onboard", "--help"])
        .expect(0)
        .stdout();
    let global = help
        .find("Global options:")
        .expect("a Global options heading");
    let own = help.find("--service-account-secret").unwrap();
    let url = help.find("--url").unwrap();
    assert!(own < global && global < url, "{help}");
    let revoke = cluster.admin(&["revoke", "-h"]).expect(0).stdout();
    assert!(!revoke.contains("--description"), "{revoke}");

    std::fs::write(
        cluster.path("one.toml"),
        "[[secret]]\npath = \"a/b\"\nfrom_env = \"V\"\n",
    )
    .unwrap();
    let apply = cluster
        .run_with(
            &["apply", "-f", "one.toml"],
            &[("DCOS_ACS_TOKEN", &cluster.admin_token), ("V", "v")],
            None,
        )
        .expect(0);
    assert!(apply.stderr.contains("apply: 1 item,"), "{}", apply.stderr);
    assert!(apply.stderr.contains("(1 change)"), "{}", apply.stderr);
    assert!(
        apply.stderr.contains("plan: 1 of 1 item to change"),
        "{}",
        apply.stderr
    );

    onboard(&cluster, &[], PAIR_A).expect(0);
    let conflict = onboard(
        &cluster,
        &[],
        ("AKIAZZZZ1111BBBB2222", "x".repeat(40).as_str()),
    );
    let conflict = conflict.expect(3);
    assert_eq!(conflict.stderr.matches("nothing was changed").count(), 1);
    assert!(
        !conflict.stderr.contains("nothing had been changed"),
        "{}",
        conflict.stderr
    );

    let nested = onboard(
        &cluster,
        &["--service-name", "bsvc1", "--key-id-secret", "bsvc1/x1/kid"],
        PAIR_A,
    )
    .expect(2);
    assert!(
        nested.stderr.contains("directly in `bsvc1/`") && nested.stderr.contains("subfolder"),
        "{}",
        nested.stderr
    );
    let login_outside = cluster.run_with(
        &[
            "s3",
            "onboard",
            "--service-account",
            "dse",
            "--service-account-secret",
            "elsewhere/sa",
            "--from-env",
        ],
        &[
            ("DCOS_ACS_TOKEN", &cluster.admin_token),
            ("AWS_ACCESS_KEY_ID", PAIR_A.0),
            ("AWS_SECRET_ACCESS_KEY", PAIR_A.1),
        ],
        None,
    );
    let login_outside = login_outside.expect(2);
    let hint = login_outside
        .stderr
        .lines()
        .find(|l| l.starts_with("hint:"))
        .unwrap_or_default();
    assert!(hint.contains("--service-account-secret"), "{hint}");
    assert!(!hint.contains("aws_access_key_id"), "{hint}");

    // Colour on a terminal only, and never with NO_COLOR.
    let coloured = on_terminal(&cluster, &["-vv", "whoami"], &[], "");
    assert!(
        coloured.stdout().contains('\u{1b}'),
        "{}",
        coloured.stdout()
    );
    let plain = on_terminal(&cluster, &["-vv", "whoami"], &[("NO_COLOR", "1")], "");
    assert!(!plain.stdout().contains("\u{1b}["), "{}", plain.stdout());
}

/// Requirement 7: generating a key shows a spinner on a terminal, and nothing elsewhere.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_generation_shows_a_spinner_on_a_terminal() {
    let cluster = Cluster::start().await;
    let args = [
        "service-account",
        "create",
        "big",
        "--private-key-out",
        "big.pem",
        "--key-size",
        "4096",
    ];
    let shown = on_terminal(&cluster, &args, &[], "");
    assert_eq!(shown.code, 0, "{}", shown.stdout());
    assert!(
        shown.stdout().contains("generating a 4096-bit RSA key"),
        "{}",
        shown.stdout()
    );
    let piped = cluster
        .admin(&[
            "service-account",
            "create",
            "small",
            "--private-key-out",
            "small.pem",
        ])
        .expect(0);
    assert!(!piped.stderr.contains("generating"), "{}", piped.stderr);
}

/// Requirement 9: AWS_PROFILE is honoured, temporary credentials are warned about, the account
/// is checked before the pair is asked for, and rotation shows the key ids in full.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_habits_are_honoured() {
    let cluster = cluster().await;
    std::fs::write(
        cluster.path("credentials"),
        format!(
            "[dse]\naws_access_key_id = {}\naws_secret_access_key = {}\n\n[temp]\n\
             aws_access_key_id = AKIATEMPTEMPTEMP0001\naws_secret_access_key = {}\n\
             aws_session_token = tok\n",
            PAIR_A.0,
            PAIR_A.1,
            "t".repeat(40)
        ),
    )
    .unwrap();
    let onboard = [
        "s3",
        "onboard",
        "--service-account",
        "dse",
        "--service-account-secret",
        LOGIN,
    ];
    let with_profile = |args: &[&str], profile: &str| {
        let env = [
            ("DCOS_ACS_TOKEN", cluster.admin_token.as_str()),
            ("AWS_SHARED_CREDENTIALS_FILE", "credentials"),
            ("AWS_PROFILE", profile),
        ];
        cluster.run_with(args, &env, None)
    };
    with_profile(&onboard, "dse").expect(0);
    assert_eq!(
        crate::s3::text(&cluster.emulator.state(), KEY_ID).as_deref(),
        Some(PAIR_A.0)
    );
    let temp = with_profile(&["s3", "rotate", "--dry-run"], "temp").expect(0);
    assert!(
        temp.stderr.contains("temporary credentials"),
        "{}",
        temp.stderr
    );

    // A typo in the account: exit 5 before any prompt for the pair.
    let typo = on_terminal(
        &cluster,
        &[
            "s3",
            "onboard",
            "--service-account",
            "dsee",
            "--service-account-secret",
            LOGIN,
        ],
        &[],
        "",
    );
    assert_eq!(typo.code, 5, "{}", typo.stdout());
    assert!(
        !typo.stdout().contains("AWS access key id"),
        "{}",
        typo.stdout()
    );
}

/// Requirement 10: a resource id that does not start with `dcos:` is refused, with the secret
/// rid suggested, unless --any-rid.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resource_ids_must_be_dcos_ids() {
    let cluster = cluster().await;
    let before = cluster.emulator.state();
    let run = cluster
        .admin(&["grant", "--user", "dse", "team/aws_access_key_id", "read"])
        .expect(2);
    assert!(
        run.stderr
            .contains("dcos:secrets:default:team/aws_access_key_id"),
        "{}",
        run.stderr
    );
    assert_eq!(cluster.emulator.state(), before);
    cluster
        .admin(&[
            "grant",
            "--user",
            "dse",
            "custom-resource",
            "read",
            "--any-rid",
        ])
        .expect(0);
    assert!(
        cluster
            .emulator
            .state()
            .acls
            .contains_key("custom-resource")
    );
}

/// Requirement 11: `apply --check` exits 8 while changes are pending and 0 once applied,
/// writing nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_check_exits_8_on_drift() {
    let cluster = cluster().await;
    std::fs::write(
        cluster.path("m.toml"),
        "[[secret]]\npath = \"a/b\"\nfrom_env = \"V\"\n",
    )
    .unwrap();
    let apply = |extra: &[&str]| {
        let args = [&["apply", "-f", "m.toml"][..], extra].concat();
        cluster.run_with(
            &args,
            &[("DCOS_ACS_TOKEN", &cluster.admin_token), ("V", "v")],
            None,
        )
    };
    let before = cluster.emulator.state();
    let drift = apply(&["--check", "-o", "json"]);
    let doc = json_error(&drift, 8, "drift");
    assert_eq!(doc["dry_run"], true, "{doc}");
    assert_eq!(cluster.emulator.state(), before);
    apply(&[]).expect(0);
    apply(&["--check"]).expect(0);
}
