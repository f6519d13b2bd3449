//! The engine's set-up workflow (`dcos_ops::dse::setup`) against the emulator in strict and
//! permissive mode: exactly the Security page's grants, secrets with the bytes given, a login
//! secret that logs in, a re-run that writes nothing, and a failure at any write that leaves
//! the cluster as it was.

use std::collections::BTreeSet;
use std::path::Path;

use dcos_emulator::state::Secret as StoredSecret;
use dcos_emulator::{Emulator, FaultRule, SecurityMode as EmulatedMode};
use dcos_iam_client::DEFAULT_LOGIN_ENDPOINT;
use dcos_ops::dse::keytab::{Entry, Keytab, Principal};
use dcos_ops::dse::security::SecurityMode;
use dcos_ops::dse::setup::{
    FileInput, KerberosInput, S3Input, Setup, SetupInput, TlsInput, settle_mode, setup,
};
use dcos_ops::dse::{Destination, ServiceName};
use dcos_ops::{Clients, ErrorKind, Silent};
use secrecy::SecretString;
use serde_json::json;

use crate::harness::{Cluster, run};

const SERVICE: &str = "data-science-engine";

/// A keytab with a key of `components@realm`.
pub(crate) fn keytab(components: &[&str], realm: &str) -> Vec<u8> {
    let principal = Principal {
        components: components.iter().map(|c| c.to_string()).collect(),
        realm: realm.to_owned(),
        name_type: 1,
    };
    Keytab {
        version: 2,
        entries: vec![Entry::new(principal, 2, 18, vec![7; 32])],
    }
    .to_bytes()
}

/// A PKCS#12 keystore of one key and its self-signed certificate, locked with `password`.
pub(crate) fn pkcs12(password: &str) -> Vec<u8> {
    use p12_keystore::{Certificate, KeyStore, KeyStoreEntry, PrivateKey, PrivateKeyChain};
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["engine.example".to_owned()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    let chain = PrivateKeyChain::new(
        vec![1u8; 20],
        PrivateKey::from_der(&key.serialize_der()).unwrap(),
        [Certificate::from_der(cert.der()).unwrap()],
    );
    let mut store = KeyStore::new();
    store.add_entry("engine", KeyStoreEntry::PrivateKeyChain(chain));
    store.writer(password).write().unwrap()
}

fn secret(text: &str) -> SecretString {
    SecretString::from(text.to_owned())
}

fn file(name: &str, bytes: Vec<u8>) -> FileInput {
    FileInput {
        file: name.into(),
        bytes,
    }
}

/// S3, Kerberos and TLS for the default service.
fn input() -> SetupInput {
    let keys = dcos_ops::aws::KeyPair::new(
        "AKIAIOSFODNN7EXAMPLE".into(),
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".into(),
        "the test",
    )
    .unwrap();
    SetupInput {
        service: ServiceName::new(SERVICE).unwrap(),
        account: None,
        login_secret: None,
        login_endpoint: DEFAULT_LOGIN_ENDPOINT.to_owned(),
        role: None,
        linux_user: None,
        mesos_permissions: false,
        s3: Some(S3Input {
            keys,
            key_id_secret: None,
            secret_key_secret: None,
            aws_region: None,
            s3_endpoint: None,
        }),
        kerberos: Some(KerberosInput {
            keytab: file(
                "engine.keytab",
                keytab(&["jupyter", "node-1"], "EXAMPLE.COM"),
            ),
            realm: "EXAMPLE.COM".into(),
            kdc_host: "kdc.example.com".into(),
            kdc_port: 88,
            primary: None,
        }),
        tls: Some(TlsInput {
            keystore: file("engine.p12", pkcs12("store-pass")),
            keystore_password: secret("store-pass"),
            key_password: None,
            truststore: None,
            ca_bundle: None,
        }),
        hdfs_conf_url: None,
        oidc_client_secret: None,
        spark_secrets: Vec::new(),
        overwrite: false,
        package_version: Default::default(),
    }
}

/// A run's environment: the superuser's token, and AWS's example pair for `--s3-from-env`.
fn with_pair(token: &str) -> [(&'static str, &str); 3] {
    [
        ("DCOS_ACS_TOKEN", token),
        ("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE"),
        (
            "AWS_SECRET_ACCESS_KEY",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        ),
    ]
}

fn clients(cluster: &Cluster) -> Clients {
    let (iam, secrets) = cluster.clients();
    Clients { iam, secrets }
}

async fn prepared(cluster: &Cluster, input: SetupInput, out: &Path) -> Setup {
    let prepared = input
        .prepare(&Destination::Out(out.to_owned()), &Silent)
        .unwrap();
    let mode = settle_mode(&clients(cluster), None).await.unwrap();
    prepared.in_mode(mode).unwrap()
}

/// Every (resource id, action) the account holds, from the emulator's state.
fn grants_of(cluster: &Cluster, uid: &str) -> BTreeSet<(String, String)> {
    let mut held = BTreeSet::new();
    for (rid, acl) in cluster.emulator.state().acls {
        for action in acl.users.get(uid).into_iter().flatten() {
            held.insert((rid.clone(), action.clone()));
        }
    }
    held
}

/// The Security page's ten, for the default service, its account and `nobody`.
fn security_page() -> BTreeSet<(String, String)> {
    [
        ("dcos:mesos:master:task:user:nobody", "create"),
        ("dcos:mesos:agent:task:user:nobody", "create"),
        (
            "dcos:mesos:master:framework:role:data-science-engine",
            "create",
        ),
        (
            "dcos:mesos:master:reservation:role:data-science-engine",
            "create",
        ),
        (
            "dcos:mesos:master:reservation:principal:data-science-engine",
            "delete",
        ),
        (
            "dcos:mesos:master:volume:role:data-science-engine",
            "create",
        ),
        (
            "dcos:mesos:master:volume:principal:data-science-engine",
            "delete",
        ),
        ("dcos:mesos:master:task:role:data-science-engine", "create"),
        (
            "dcos:mesos:master:task:principal:data-science-engine",
            "create",
        ),
        (
            "dcos:mesos:master:task:app_id:data-science-engine",
            "create",
        ),
    ]
    .into_iter()
    .map(|(rid, action)| (rid.to_owned(), action.to_owned()))
    .collect()
}

const STORED: [&str; 6] = [
    "service-account",
    "keytab",
    "tls_keystore",
    "tls_keystore_password",
    "aws_access_key_id",
    "aws_secret_access_key",
];

/// Read on the name and the value of each secret the setup stores.
fn secret_reads() -> BTreeSet<(String, String)> {
    STORED
        .iter()
        .flat_map(|name| {
            [
                format!("dcos:secrets:list:default:{SERVICE}/{name}"),
                format!("dcos:secrets:default:{SERVICE}/{name}"),
            ]
        })
        .map(|rid| (rid, "read".to_owned()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strict_mode_gets_the_security_pages_ten_and_the_reads_and_a_rerun_writes_nothing() {
    let cluster = Cluster::start().await;
    let out = cluster.path("options.json");
    let given = input();
    let job = prepared(&cluster, given.clone(), &out).await;
    assert_eq!(job.security_mode, SecurityMode::Strict);

    // The dry run plans everything and changes nothing.
    let before = cluster.emulator.state();
    let dry = Setup {
        dry_run: true,
        ..job.clone()
    };
    let planned = setup(&clients(&cluster), &dry, &Silent).await.unwrap();
    assert_eq!(json!(planned.result), "would_change");
    assert_eq!(cluster.emulator.state(), before);
    assert!(!out.exists());

    let writes = cluster.writes();
    let report = setup(&clients(&cluster), &job, &Silent).await.unwrap();
    assert_eq!(json!(report.result), "changed", "{report:#?}");
    assert_eq!(json!(report.security_mode), "strict");
    let expected: BTreeSet<_> = security_page().union(&secret_reads()).cloned().collect();
    assert_eq!(grants_of(&cluster, SERVICE), expected);

    // Every secret holds the bytes given.
    let state = cluster.emulator.state();
    let value = |name: &str| state.secrets[&format!("{SERVICE}/{name}")].clone();
    let text = |name: &str| match value(name) {
        StoredSecret::Text(text) => text,
        other => panic!("{name} is not text: {other:?}"),
    };
    assert_eq!(text("aws_access_key_id"), "AKIAIOSFODNN7EXAMPLE");
    assert_eq!(text("tls_keystore_password"), "store-pass");
    assert_eq!(
        value("keytab"),
        StoredSecret::Binary(keytab(&["jupyter", "node-1"], "EXAMPLE.COM"))
    );
    let tls = job
        .secrets
        .iter()
        .find(|s| s.path.as_str().ends_with("tls_keystore"));
    let StoredSecret::Binary(keystore) = value("tls_keystore") else {
        panic!("the keystore is stored as text")
    };
    assert_eq!(
        tls.unwrap().value,
        dcos_secrets_client::SecretValue::binary(keystore)
    );

    // The options name exactly what was stored, for the package to read.
    let options: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(options["spark"]["spark_mesos_principal"], SERVICE);
    assert_eq!(
        options["service"]["service_account_secret"],
        format!("{SERVICE}/service-account")
    );
    assert_eq!(
        options["security"]["kerberos"]["keytab_secret"],
        format!("{SERVICE}/keytab")
    );
    assert_eq!(
        options["security"]["tls"]["keystore_password"],
        format!("{SERVICE}/tls_keystore_password")
    );

    // The login secret logs in as the account (at DCOS_URL, as a job in the cluster would).
    let login = text("service-account");
    let mut whoami = cluster.command();
    whoami
        .args(["-o", "json", "whoami"])
        .env("DCOS_SERVICE_ACCOUNT_CREDENTIAL", &login);
    let who = run(whoami, None).expect(0).json();
    assert_eq!(who["uid"], SERVICE);

    // Again: nothing to write.
    let writes_after = cluster.writes();
    assert!(writes_after > writes);
    let again = prepared(&cluster, given, &out).await;
    let again = setup(&clients(&cluster), &again, &Silent).await.unwrap();
    assert_eq!(json!(again.result), "unchanged", "{again:#?}");
    assert_eq!(cluster.writes(), writes_after);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn permissive_mode_gets_the_reads_alone_unless_the_permissions_are_asked_for() {
    let cluster = Cluster::with(
        Emulator::builder()
            .tls(true)
            .security_mode(EmulatedMode::Permissive),
    )
    .await;
    let out = cluster.path("options.json");
    let given = input();
    let job = prepared(&cluster, given.clone(), &out).await;
    assert_eq!(job.security_mode, SecurityMode::Permissive);
    setup(&clients(&cluster), &job, &Silent).await.unwrap();
    assert_eq!(grants_of(&cluster, SERVICE), secret_reads());

    let asked = SetupInput {
        mesos_permissions: true,
        ..given
    };
    let job = prepared(&cluster, asked, &out).await;
    let report = setup(&clients(&cluster), &job, &Silent).await.unwrap();
    assert_eq!(json!(report.result), "changed");
    let expected: BTreeSet<_> = security_page().union(&secret_reads()).cloned().collect();
    assert_eq!(grants_of(&cluster, SERVICE), expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failure_at_any_write_leaves_the_cluster_as_it_was() {
    let cluster = Cluster::start().await;
    let before = cluster.emulator.state();
    let out = cluster.path("options.json");
    let job = prepared(&cluster, input(), &out).await;
    let mut failures = 0;
    // The k-th write fails (its change landed, its answer lost), and every write after it.
    for skip in 0.. {
        let rule: FaultRule = serde_json::from_value(json!({
            "method": "PUT", "path_prefix": "/", "count": 1000, "status": 400,
            "phase": "after", "skip": skip,
        }))
        .unwrap();
        cluster.emulator.add_fault(rule);
        let injected = cluster.emulator.counters().faults_injected;
        let result = setup(&clients(&cluster), &job, &Silent).await;
        let fired = cluster.emulator.counters().faults_injected > injected;
        cluster.emulator.clear_faults();
        if !fired {
            // Past the last write: the run went through.
            let report = result.unwrap();
            assert_eq!(json!(report.result), "changed");
            break;
        }
        let failed = result.unwrap_err();
        failures += 1;
        assert_eq!(json!(failed.report.result), "failed");
        assert!(failed.error.undo().is_some(), "{}", failed.error);
        assert_eq!(
            cluster.emulator.state(),
            before,
            "after a failure at write {skip}: {}",
            failed.error
        );
        assert!(!out.exists(), "the options file is written last");
    }
    // The account, its login secret and five more secrets, and 22 grants, each with its ACL.
    assert_eq!(failures, 1 + 6 + 22 * 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_keytab_or_store_that_does_not_fit_is_refused_before_any_request() {
    let cluster = Cluster::start().await;
    let out = cluster.path("options.json");
    let requests = cluster.emulator.counters().total;
    let refuse = |input: SetupInput| {
        let error = input
            .prepare(&Destination::Out(out.clone()), &Silent)
            .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Invalid, "{error}");
        error.to_string()
    };
    let with_keytab = |bytes: Vec<u8>| {
        let mut input = input();
        input.kerberos.as_mut().unwrap().keytab = file("engine.keytab", bytes);
        input
    };
    let realm = refuse(with_keytab(keytab(&["jupyter", "node-1"], "OTHER.ORG")));
    assert!(realm.contains("engine.keytab"), "{realm}");
    assert!(realm.contains("jupyter/node-1@OTHER.ORG"), "{realm}");
    let primary = refuse(with_keytab(keytab(&["hdfs", "node-1"], "EXAMPLE.COM")));
    assert!(primary.contains("hdfs/node-1@EXAMPLE.COM"), "{primary}");

    let mut wrong = input();
    wrong.tls.as_mut().unwrap().keystore_password = secret("not-the-password");
    let store = refuse(wrong);
    assert!(store.contains("engine.p12"), "{store}");
    assert!(!store.contains("not-the-password"), "{store}");

    assert_eq!(cluster.emulator.counters().total, requests);
    assert!(!out.exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_existing_account_is_used_only_with_its_own_login_secret() {
    let cluster = Cluster::start().await;
    let out = cluster.path("options.json");
    let job = prepared(&cluster, input(), &out).await;
    setup(&clients(&cluster), &job, &Silent).await.unwrap();
    // Another account's login secret in its place: refused, nothing written.
    cluster
        .admin(&[
            "service-account",
            "create",
            "other",
            "--private-key-out",
            "other.pem",
            "--secret",
            "data-science-engine/other",
        ])
        .expect(0);
    let StoredSecret::Text(theirs) =
        cluster.emulator.state().secrets["data-science-engine/other"].clone()
    else {
        panic!("a login secret is text")
    };
    let (_, secrets) = cluster.clients();
    let path = dcos_secrets_client::SecretPath::new("data-science-engine/service-account").unwrap();
    secrets
        .secret(&path)
        .update(&dcos_secrets_client::SecretValue::text(theirs))
        .await
        .unwrap();
    let before = cluster.emulator.state();
    let writes = cluster.writes();
    let refused = setup(&clients(&cluster), &job, &Silent).await.unwrap_err();
    assert_eq!(
        refused.error.kind(),
        ErrorKind::Conflict,
        "{}",
        refused.error
    );
    assert!(
        refused
            .error
            .to_string()
            .contains("is not the login secret of"),
        "{}",
        refused.error
    );
    assert_eq!(cluster.writes(), writes);
    assert_eq!(cluster.emulator.state(), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_mode_is_the_clusters_and_a_told_one_stands_in_only_when_it_cannot_be_read() {
    let disabled = Cluster::with(
        Emulator::builder()
            .tls(true)
            .security_mode(EmulatedMode::Disabled),
    )
    .await;
    let refused = settle_mode(&clients(&disabled), Some(SecurityMode::Strict))
        .await
        .unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::Invalid);
    assert!(refused.to_string().contains("`disabled`"), "{refused}");

    let cluster = Cluster::with(
        Emulator::builder()
            .tls(true)
            .security_mode(EmulatedMode::Permissive),
    )
    .await;
    let admin = clients(&cluster);
    let told = settle_mode(&admin, Some(SecurityMode::Strict)).await;
    assert_eq!(told.unwrap(), SecurityMode::Permissive);
    // A cluster that does not serve the file: the mode told, else an error.
    let unserved: FaultRule = serde_json::from_value(json!({
        "path_prefix": "/dcos-metadata/bootstrap-config.json", "count": 1000, "status": 404,
    }))
    .unwrap();
    cluster.emulator.add_fault(unserved);
    let told = settle_mode(&admin, Some(SecurityMode::Strict)).await;
    assert_eq!(told.unwrap(), SecurityMode::Strict);
    assert!(settle_mode(&admin, None).await.is_err());
}

/// `dse setup` as a person runs it: files for the keytab, the store and its password, the key
/// pair from the environment; a dry run, the run, a re-run, and refusals that send nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dse_setup_runs_from_files_and_refuses_what_does_not_fit_before_any_write() {
    let cluster = Cluster::start().await;
    std::fs::write(
        cluster.path("jupyter.keytab"),
        keytab(&["jupyter", "node-1"], "EXAMPLE.COM"),
    )
    .unwrap();
    std::fs::write(
        cluster.path("other.keytab"),
        keytab(&["jupyter", "node-1"], "OTHER.ORG"),
    )
    .unwrap();
    std::fs::write(cluster.path("engine.p12"), pkcs12("store-pass")).unwrap();
    std::fs::write(cluster.path("store.pass"), "store-pass\n").unwrap();
    std::fs::write(cluster.path("wrong.pass"), "not-the-password\n").unwrap();
    let env = with_pair(&cluster.admin_token);
    let setup = |keytab: &str, password: &str, more: &[&str]| {
        let mut args = vec![
            "dse",
            "setup",
            "--s3-from-env",
            "--kerberos-keytab",
            keytab,
            "--kerberos-realm",
            "EXAMPLE.COM",
            "--kerberos-kdc",
            "kdc.example.com:88",
            "--tls-keystore",
            "engine.p12",
            "--tls-keystore-password-file",
            password,
            "--out",
            "options.json",
        ];
        args.extend(more);
        cluster.run_with(&args, &env, None)
    };

    let json = ["-o", "json"];
    let refused = setup("other.keytab", "store.pass", &[]).expect(2);
    assert!(
        refused.stderr.contains("jupyter/node-1@OTHER.ORG"),
        "{}",
        refused.stderr
    );
    let refused = setup("jupyter.keytab", "wrong.pass", &[]).expect(2);
    assert!(refused.stderr.contains("engine.p12"), "{}", refused.stderr);
    assert!(!refused.stderr.contains("not-the-password"));
    assert_eq!(cluster.writes(), 0);

    let plan = setup("jupyter.keytab", "store.pass", &["--dry-run", "-o", "json"])
        .expect(0)
        .json();
    assert_eq!(plan["result"], "would_change");
    assert_eq!(plan["security_mode"], "strict");
    assert_eq!(plan["service_account"], SERVICE);
    assert_eq!(cluster.writes(), 0);
    assert!(!cluster.path("options.json").exists());

    let done = setup("jupyter.keytab", "store.pass", &json)
        .expect(0)
        .json();
    assert_eq!(done["result"], "changed");
    let expected: BTreeSet<_> = security_page().union(&secret_reads()).cloned().collect();
    assert_eq!(grants_of(&cluster, SERVICE), expected);
    let StoredSecret::Text(password) =
        cluster.emulator.state().secrets[&format!("{SERVICE}/tls_keystore_password")].clone()
    else {
        panic!("a password is text")
    };
    assert_eq!(password, "store-pass", "one trailing newline is dropped");
    let options: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(cluster.path("options.json")).unwrap())
            .unwrap();
    assert_eq!(options, done["options"]);

    let writes = cluster.writes();
    let again = setup("jupyter.keytab", "store.pass", &[]).expect(0);
    assert!(
        again.stderr.contains(
            "dse setup of data-science-engine (strict mode: with the Mesos permissions): \
             unchanged, everything is in place"
        ),
        "{}",
        again.stderr
    );
    assert!(again.stdout.is_empty(), "the options went to their file");
    assert_eq!(cluster.writes(), writes);
}

/// A manifest's `[[dse]]` entries: `apply` plans each set-up, carries it out all or nothing,
/// changes nothing the second time, and `apply --check` says when one is pending.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_sets_engines_up_from_dse_entries() {
    let cluster = Cluster::start().await;
    std::fs::write(
        cluster.path("jupyter.keytab"),
        keytab(&["jupyter", "node-1"], "EXAMPLE.COM"),
    )
    .unwrap();
    std::fs::write(cluster.path("engine.p12"), pkcs12("store-pass")).unwrap();
    std::fs::write(cluster.path("store.pass"), "store-pass\n").unwrap();
    // The entry docs/ci.md shows, its key pair from the AWS profile it names.
    let page = include_str!("../../../docs/ci.md");
    let start = page
        .find("```toml\n  [[dse]]")
        .expect("docs/ci.md shows a [[dse]] entry");
    let shown: String = page[start..]
        .lines()
        .skip(1)
        .take_while(|line| !line.trim_start().starts_with("```"))
        .map(|line| format!("{}\n", line.trim_start()))
        .collect();
    std::fs::create_dir_all(cluster.path("home/.aws")).unwrap();
    std::fs::write(
        cluster.path("home/.aws/credentials"),
        "[dse]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\n\
         aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n",
    )
    .unwrap();
    let manifest =
        format!("{shown}\n[[dse]]\nservice_name = \"analytics\"\nout = \"analytics.json\"\n");
    std::fs::write(cluster.path("engines.toml"), manifest).unwrap();
    let env = [("DCOS_ACS_TOKEN", cluster.admin_token.as_str())];
    let apply = |args: &[&str]| {
        let args = [&["-o", "json", "apply", "-f", "engines.toml"], args].concat();
        cluster.run_with(&args, &env, None)
    };
    let item = |report: &serde_json::Value, name: &str| {
        let items = report["items"].as_array().unwrap();
        let found = items
            .iter()
            .find(|i| i["kind"] == "dse" && i["name"] == name);
        found
            .unwrap_or_else(|| panic!("no dse item {name}: {report:#}"))
            .clone()
    };

    let check = apply(&["--check"]).expect(8).json();
    assert_eq!(item(&check, SERVICE)["result"], "would_change");
    let steps = item(&check, SERVICE)["steps"].as_array().unwrap().len();
    assert!(steps > 20, "the plan shows the set-up's steps: {check:#}");
    assert_eq!(cluster.writes(), 0);

    let done = apply(&[]).expect(0).json();
    assert_eq!(done["result"], "changed", "{done:#}");
    assert_eq!(item(&done, "analytics")["result"], "changed");
    let expected: BTreeSet<_> = security_page().union(&secret_reads()).cloned().collect();
    assert_eq!(grants_of(&cluster, SERVICE), expected);
    let analytics = grants_of(&cluster, "analytics");
    assert!(analytics.contains(&(
        "dcos:secrets:default:analytics/service-account".to_owned(),
        "read".to_owned()
    )));
    assert_eq!(analytics.len(), 10 + 2, "{analytics:?}");
    let options: serde_json::Value =
        serde_json::from_slice(&std::fs::read(cluster.path("engine.json")).unwrap()).unwrap();
    assert_eq!(options["security"]["kerberos"]["realm"], "EXAMPLE.COM");

    let writes = cluster.writes();
    let again = apply(&[]).expect(0).json();
    assert_eq!(again["result"], "unchanged", "{again:#}");
    assert_eq!(cluster.writes(), writes);
    apply(&["--check"]).expect(0);

    // An unknown field is refused, naming the entry.
    std::fs::write(
        cluster.path("typo.toml"),
        "[[dse]]\nkerberos_realm = \"X\"\n",
    )
    .unwrap();
    let typo = cluster
        .run_with(&["apply", "-f", "typo.toml"], &env, None)
        .expect(2);
    assert!(typo.stderr.contains("kerberos_realm"), "{}", typo.stderr);
}

/// `dse offboard` takes back what the set-up gave: a dry run changes nothing; a run leaves no
/// grant and none of the secrets (the account and its login secret stay unless asked); a
/// failure at any write leaves the cluster as it was.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offboarding_takes_back_every_grant_and_secret_and_undoes_itself() {
    use dcos_ops::dse::offboard::{Offboard, offboard};
    let cluster = Cluster::start().await;
    let out = cluster.path("options.json");
    let job = prepared(&cluster, input(), &out).await;
    setup(&clients(&cluster), &job, &Silent).await.unwrap();
    let set_up = cluster.emulator.state();
    let base = Offboard::new(SERVICE, None, None).unwrap();

    let dry = Offboard {
        dry_run: true,
        ..base.clone()
    };
    let plan = offboard(&clients(&cluster), &dry, &Silent).await.unwrap();
    assert_eq!(json!(plan.result), "would_change");
    let would = |outcome: &str| {
        let steps = plan.steps.iter().filter(|s| json!(s.outcome) == outcome);
        steps.count()
    };
    assert_eq!(would("would_revoke"), 10 + 12, "{:#?}", plan.steps);
    assert_eq!(would("would_delete"), 5, "{:#?}", plan.steps);
    assert_eq!(cluster.emulator.state(), set_up);

    // A failure at each write: everything is put back.
    for skip in 0.. {
        let rule: FaultRule = serde_json::from_value(json!({
            "method": "DELETE", "path_prefix": "/", "count": 1000, "status": 400,
            "phase": "after", "skip": skip,
        }))
        .unwrap();
        cluster.emulator.add_fault(rule);
        let injected = cluster.emulator.counters().faults_injected;
        let job = Offboard {
            delete_account: true,
            ..base.clone()
        };
        let result = offboard(&clients(&cluster), &job, &Silent).await;
        let fired = cluster.emulator.counters().faults_injected > injected;
        cluster.emulator.clear_faults();
        if !fired {
            assert_eq!(json!(result.unwrap().result), "changed");
            break;
        }
        let failed = result.unwrap_err();
        assert!(failed.error.undo().is_some(), "{}", failed.error);
        assert_eq!(
            cluster.emulator.state(),
            set_up,
            "after a failure at write {skip}: {}",
            failed.error
        );
    }
    // With the account: nothing of the engine is left.
    let state = cluster.emulator.state();
    assert!(grants_of(&cluster, SERVICE).is_empty());
    assert!(!state.accounts.contains_key(SERVICE));
    let left: Vec<&String> = (state.secrets.keys())
        .filter(|p| p.starts_with("data-science-engine/"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

/// Without `delete_account` the account and its login secret stay, and a re-run changes
/// nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offboarding_keeps_the_account_unless_asked() {
    use dcos_ops::dse::offboard::{Offboard, offboard};
    let cluster = Cluster::start().await;
    let job = prepared(&cluster, input(), &cluster.path("options.json")).await;
    setup(&clients(&cluster), &job, &Silent).await.unwrap();
    let base = Offboard::new(SERVICE, None, None).unwrap();
    let done = offboard(&clients(&cluster), &base, &Silent).await.unwrap();
    assert_eq!(json!(done.result), "changed");
    assert!(grants_of(&cluster, SERVICE).is_empty());
    let state = cluster.emulator.state();
    assert!(state.accounts.contains_key(SERVICE));
    let left: Vec<&String> = (state.secrets.keys())
        .filter(|p| p.starts_with("data-science-engine/"))
        .collect();
    assert_eq!(left, ["data-science-engine/service-account"]);
    let writes = cluster.writes();
    let again = offboard(&clients(&cluster), &base, &Silent).await.unwrap();
    assert_eq!(json!(again.result), "unchanged");
    assert_eq!(cluster.writes(), writes);
    // Another account's login secret where the engine's should be: nothing is deleted.
    let (_, secrets) = cluster.clients();
    let args = [
        "service-account",
        "create",
        "other",
        "--private-key-out",
        "o.pem",
    ];
    cluster
        .admin(&[&args[..], &["--secret", "other/service-account"]].concat())
        .expect(0);
    let theirs = cluster.emulator.state().secrets["other/service-account"].clone();
    let StoredSecret::Text(theirs) = theirs else {
        panic!("a login secret is text")
    };
    let login =
        dcos_secrets_client::SecretPath::new("data-science-engine/service-account").unwrap();
    let text = dcos_secrets_client::SecretValue::text(theirs);
    secrets.secret(&login).update(&text).await.unwrap();
    let before = cluster.emulator.state();
    let all = Offboard {
        delete_account: true,
        ..base.clone()
    };
    let refused = offboard(&clients(&cluster), &all, &Silent)
        .await
        .unwrap_err();
    assert_eq!(
        refused.error.kind(),
        ErrorKind::Conflict,
        "{}",
        refused.error
    );
    assert!(
        refused.error.to_string().contains("`other`"),
        "{}",
        refused.error
    );
    assert_eq!(cluster.emulator.state(), before);
    // A misspelt account deletes nothing.
    let typo = Offboard::new(SERVICE, Some("data-science-engin"), None).unwrap();
    let refused = offboard(&clients(&cluster), &typo, &Silent)
        .await
        .unwrap_err();
    assert_eq!(refused.error.kind(), ErrorKind::NotFound);
}

/// `dse offboard` as a person runs it: the plan, the brake without a terminal, then `--yes`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dse_offboard_shows_its_plan_and_asks_before_it_takes_anything_back() {
    let cluster = Cluster::start().await;
    let env = with_pair(&cluster.admin_token);
    let run = |args: &[&str]| cluster.run_with(args, &env, None);
    run(&["dse", "setup", "--s3-from-env"]).expect(0);
    let set_up = cluster.emulator.state();

    let plan = run(&["dse", "offboard", "--delete-account", "--dry-run"]).expect(0);
    assert!(
        plan.stderr.contains(
            "would revoke     create on dcos:mesos:master:task:app_id:data-science-engine"
        ),
        "{}",
        plan.stderr
    );
    assert!(
        plan.stderr
            .contains("would delete     account data-science-engine")
    );
    let braked = run(&["dse", "offboard", "--delete-account"]).expect(2);
    assert!(
        braked.stderr.contains("not without --yes"),
        "{}",
        braked.stderr
    );
    assert_eq!(cluster.emulator.state(), set_up);

    let done = run(&["-o", "json", "dse", "offboard", "--delete-account", "--yes"])
        .expect(0)
        .json();
    assert_eq!(done["result"], "changed");
    assert!(grants_of(&cluster, SERVICE).is_empty());
    let state = cluster.emulator.state();
    assert!(!state.accounts.contains_key(SERVICE));
    assert!(state.secrets.is_empty(), "{:?}", state.secrets.keys());
    run(&["dse", "offboard", "--yes"]).expect(5);
}

/// `dse status` after a set-up: every check passes; then a revoked permission, a wrong store
/// password and a keytab for another realm each fail, named.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_passes_after_setup_and_names_what_breaks() {
    use dcos_ops::dse::status::{CheckState, StatusJob, status};
    let cluster = Cluster::start().await;
    let out = cluster.path("options.json");
    let job = prepared(&cluster, input(), &out).await;
    setup(&clients(&cluster), &job, &Silent).await.unwrap();
    let check = StatusJob::new(SERVICE, None, None, Some(&out)).unwrap();
    let report = status(&clients(&cluster), &check).await.unwrap();
    assert_eq!(report.failed(), 0, "{report}");
    let kinds: BTreeSet<&str> = report.checks.iter().map(|c| c.check).collect();
    for kind in [
        "account",
        "login",
        "mesos permission",
        "secret",
        "space",
        "read",
        "keytab",
        "keystore",
    ] {
        assert!(kinds.contains(kind), "no {kind} check: {report}");
    }
    assert_eq!(
        report
            .checks
            .iter()
            .filter(|c| c.check == "mesos permission")
            .count(),
        10
    );
    // Without the options: what the set-up stored, checked all the same.
    let defaults = StatusJob::new(SERVICE, None, None, None).unwrap();
    let plain = status(&clients(&cluster), &defaults).await.unwrap();
    assert_eq!(plain.failed(), 0, "{plain}");

    let (iam, secrets) = cluster.clients();
    let rid =
        dcos_iam_client::Rid::new("dcos:mesos:master:task:app_id:data-science-engine").unwrap();
    let principal = dcos_iam_client::Principal::User(dcos_iam_client::Uid::new(SERVICE).unwrap());
    iam.acl(&rid)
        .revoke(&principal, dcos_iam_client::Action::Create)
        .await
        .unwrap();
    let password =
        dcos_secrets_client::SecretPath::new("data-science-engine/tls_keystore_password").unwrap();
    secrets
        .secret(&password)
        .update(&dcos_secrets_client::SecretValue::text("not-the-password"))
        .await
        .unwrap();
    let keytab_path = dcos_secrets_client::SecretPath::new("data-science-engine/keytab").unwrap();
    secrets
        .secret(&keytab_path)
        .update(&dcos_secrets_client::SecretValue::binary(keytab(
            &["jupyter", "node-1"],
            "OTHER.ORG",
        )))
        .await
        .unwrap();
    let broken = status(&clients(&cluster), &check).await.unwrap();
    let failed: Vec<(&str, &str)> = (broken.checks.iter())
        .filter(|c| c.state == CheckState::Failed)
        .map(|c| (c.check, c.target.as_str()))
        .collect();
    assert_eq!(
        failed,
        [
            (
                "mesos permission",
                "create on dcos:mesos:master:task:app_id:data-science-engine"
            ),
            ("keytab", "data-science-engine/keytab"),
            ("keystore", "data-science-engine/tls_keystore"),
        ],
        "{broken}"
    );
    assert!(!broken.to_string().contains("not-the-password"));
}

/// `dse status` as a person runs it: a table and exit 0 after a set-up; exit 5 naming what
/// failed, and under `-o json` the checks with the error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dse_status_exits_5_naming_what_failed() {
    let cluster = Cluster::start().await;
    let env = with_pair(&cluster.admin_token);
    let run = |args: &[&str]| cluster.run_with(args, &env, None);
    run(&["dse", "setup", "--s3-from-env", "--out", "options.json"]).expect(0);
    let missing = run(&["dse", "status", "--options", "none.json"]).expect(2);
    assert!(missing.stderr.contains("none.json"), "{}", missing.stderr);
    assert!(
        !missing.stderr.contains("--merge-into"),
        "{}",
        missing.stderr
    );
    let fine = run(&["dse", "status", "--options", "options.json"]).expect(0);
    assert!(fine.stdout().contains("CHECK"), "{}", fine.stdout());
    assert!(!fine.stdout().contains("FAILED"), "{}", fine.stdout());
    run(&[
        "revoke",
        "--user",
        SERVICE,
        "dcos:secrets:default:data-science-engine/aws_secret_access_key",
        "read",
    ])
    .expect(0);
    let broken = run(&["dse", "status", "--options", "options.json"]).expect(5);
    assert!(
        broken.stderr.contains("1 check failed"),
        "{}",
        broken.stderr
    );
    let row = broken
        .stdout()
        .lines()
        .find(|l| l.contains("FAILED"))
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "));
    assert_eq!(
        row.as_deref(),
        Some("read data-science-engine/aws_secret_access_key FAILED")
    );
    let json = run(&["-o", "json", "dse", "status", "--options", "options.json"])
        .expect(5)
        .json();
    assert_eq!(json["error"]["kind"], "not_found");
    assert!(json["checks"].as_array().unwrap().len() > 15, "{json:#}");
}

/// `--spark-secret`: the three lists of equal length, read for the account, and refused (nothing
/// written) when the secret is missing, or binary over 4 KB where it would be a variable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spark_secrets_are_named_in_three_equal_lists_and_checked_first() {
    let cluster = Cluster::start().await;
    let (_, secrets) = cluster.clients();
    let store = |path: &str, value: dcos_secrets_client::SecretValue| {
        let path = dcos_secrets_client::SecretPath::new(path).unwrap();
        let secrets = secrets.clone();
        async move { secrets.secret(&path).create(&value).await.unwrap() }
    };
    store(
        "data-science-engine/db_password",
        dcos_secrets_client::SecretValue::text("pw"),
    )
    .await;
    store(
        "data-science-engine/ca.pem",
        dcos_secrets_client::SecretValue::text("-----BEGIN"),
    )
    .await;
    let big = dcos_secrets_client::SecretValue::binary(vec![7u8; 5000]);
    store("data-science-engine/big.bin", big).await;
    let env = [("DCOS_ACS_TOKEN", cluster.admin_token.as_str())];
    let setup = |spark: &[&str]| {
        let mut args = vec!["-o", "json", "dse", "setup"];
        for s in spark {
            args.extend(["--spark-secret", s]);
        }
        cluster.run_with(&args, &env, None)
    };
    let writes = cluster.writes();
    let missing = setup(&["data-science-engine/none,env=NONE"]).expect(5);
    assert!(
        missing.stderr.contains("data-science-engine/none"),
        "{}",
        missing.stderr
    );
    let big_env = setup(&[
        "data-science-engine/big.bin,file=big.bin",
        "data-science-engine/db_password,env=DB_PASSWORD",
    ])
    .expect(2);
    assert!(big_env.stderr.contains("4096"), "{}", big_env.stderr);
    let syntax = setup(&["data-science-engine/db_password,envy=X"]).expect(2);
    assert!(syntax.stderr.contains("env=KEY"), "{}", syntax.stderr);
    assert_eq!(cluster.writes(), writes, "nothing is written");

    let done = setup(&[
        "data-science-engine/db_password,env=DB_PASSWORD",
        "data-science-engine/ca.pem,file=ca.pem",
    ])
    .expect(0)
    .json();
    let lists = &done["options"]["security"]["extra_spark_secrets"];
    assert_eq!(
        lists["secret_names"],
        "data-science-engine/db_password,data-science-engine/ca.pem"
    );
    assert_eq!(
        lists["secret_filenames"],
        "data-science-engine_db_password,ca.pem"
    );
    assert_eq!(lists["secret_envkeys"], "DB_PASSWORD,SPARK_SECRET_2");
    let held = grants_of(&cluster, SERVICE);
    for path in ["db_password", "ca.pem"] {
        for rid in [
            format!("dcos:secrets:default:{SERVICE}/{path}"),
            format!("dcos:secrets:list:default:{SERVICE}/{path}"),
        ] {
            assert!(held.contains(&(rid.clone(), "read".to_owned())), "{rid}");
        }
    }
    // A big binary secret as a file, with no secret as a variable: given.
    let as_file = setup(&["data-science-engine/big.bin,file=big.bin"])
        .expect(0)
        .json();
    let lists = &as_file["options"]["security"]["extra_spark_secrets"];
    assert!(lists.get("secret_envkeys").is_none(), "{lists}");
    // Offboarding takes back the reads on them too.
    cluster
        .run_with(&["dse", "offboard", "--yes"], &env, None)
        .expect(0);
    assert!(grants_of(&cluster, SERVICE).is_empty());
}

/// The S3 pair where it is named, with its region and endpoint, as `s3 onboard` takes them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_s3_pair_goes_where_it_is_named() {
    let cluster = Cluster::start().await;
    let env = with_pair(&cluster.admin_token);
    let setup = |more: &[&str]| {
        let args = [&["-o", "json", "dse", "setup", "--s3-from-env"], more].concat();
        cluster.run_with(&args, &env, None)
    };
    let outside = setup(&["--key-id-secret", "team/key_id"]).expect(2);
    assert!(outside.stderr.contains("team/key_id"), "{}", outside.stderr);
    assert_eq!(cluster.writes(), 0);
    let done = setup(&[
        "--key-id-secret",
        "data-science-engine/key_id",
        "--secret-key-secret",
        "data-science-engine/secret_key",
        "--aws-region",
        "eu-west-1",
        "--s3-endpoint",
        "s3.eu-west-1.amazonaws.com",
    ])
    .expect(0)
    .json();
    let s3 = &done["options"]["storage"]["s3"];
    assert_eq!(s3["aws_access_key_id"], "data-science-engine/key_id");
    assert_eq!(
        s3["aws_secret_access_key"],
        "data-science-engine/secret_key"
    );
    assert_eq!(s3["aws_region"], "eu-west-1");
    assert_eq!(s3["endpoint"], "s3.eu-west-1.amazonaws.com");
    let state = cluster.emulator.state();
    assert!(state.secrets.contains_key("data-science-engine/key_id"));
    assert!(
        !state
            .secrets
            .contains_key("data-science-engine/aws_access_key_id")
    );
    // Offboarding told where they went deletes them.
    let args = [
        "dse",
        "offboard",
        "--key-id-secret",
        "data-science-engine/key_id",
        "--secret-key-secret",
        "data-science-engine/secret_key",
        "--yes",
    ];
    cluster.run_with(&args, &env, None).expect(0);
    let left: Vec<String> = cluster.emulator.state().secrets.into_keys().collect();
    assert_eq!(left, ["data-science-engine/service-account"]);
}

/// OIDC's client secret goes into the options in plain text (the package takes it so): the file
/// is its owner's alone, and the run says so.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn options_with_the_oidc_secret_are_their_owners_alone() {
    use std::os::unix::fs::PermissionsExt;
    let cluster = Cluster::start().await;
    std::fs::write(cluster.path("oidc.secret"), "b874f6e9-client-secret\n").unwrap();
    let env = [("DCOS_ACS_TOKEN", cluster.admin_token.as_str())];
    let args = [
        "dse",
        "setup",
        "--oidc-client-secret-file",
        "oidc.secret",
        "--out",
        "options.json",
    ];
    let run = cluster.run_with(&args, &env, None).expect(0);
    assert!(
        run.stderr
            .contains("options.json holds OIDC's client secret"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("b874f6e9"));
    let mode = std::fs::metadata(cluster.path("options.json"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let options = std::fs::read_to_string(cluster.path("options.json")).unwrap();
    assert!(
        options.contains("\"client_secret\": \"b874f6e9-client-secret\""),
        "{options}"
    );
}
