//! The workflows in-process against the emulator: plans, execution and undo, with faults
//! injected at every write step.

mod accounts;
mod apply;
mod connection;
mod dse;
mod offboard;
mod onboard;
mod rotate;

use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use dcos_connect::{Environment, Options};
use dcos_emulator::state::{Secret, State};
use dcos_emulator::{Emulator, FaultRule};
use dcos_iam_client::{KeyPair, KeySize, Uid};
use dcos_ops::dse::{Destination, OptionsLayout, ServiceName};
use dcos_ops::s3::{Onboarding, Paths};
use dcos_ops::{Clients, Reporter, Warning, aws};
use dcos_secrets_client::SecretPath;
use dcos_transport::Transport;
use serde_json::json;

/// AWS's documented example pair, and a second pair of the right shape.
pub const PAIR_A: (&str, &str) = (
    "AKIAIOSFODNN7EXAMPLE",
    "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
);
pub const PAIR_B: (&str, &str) = (
    "AKIAZZZZ1111BBBB2222",
    "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
);
pub const KEY_ID: &str = "data-science-engine/aws_access_key_id";
pub const SECRET_KEY: &str = "data-science-engine/aws_secret_access_key";
pub const LOGIN: &str = "data-science-engine/sa";

/// An emulator and the clients of its superuser.
#[derive(Debug)]
pub struct Cluster {
    pub emulator: Emulator,
    pub clients: Clients,
}

/// An emulator with the service account `dse`.
pub async fn cluster() -> Cluster {
    let cluster = bare().await;
    cluster.service_account("dse").await;
    cluster
}

/// An emulator with nothing in it but the superuser, over TLS, connected to as the command
/// line's tests connect: the URL, the CA file and the token from the variables, and a `dcos`
/// CLI folder of its own.
pub async fn bare() -> Cluster {
    let emulator = Emulator::builder()
        .tls(true)
        .start()
        .await
        .expect("the emulator starts");
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("cluster-ca.pem");
    std::fs::write(&ca_file, emulator.ca_pem().expect("TLS is on")).unwrap();
    let environment = Environment::empty()
        .var("DCOS_URL", emulator.url())
        .var("DCOS_TLS_CA_PATH", &ca_file)
        .var(
            "DCOS_ACS_TOKEN",
            emulator.issue_token("bootstrapuser").unwrap(),
        )
        .dcos_dir(dir.path().join(".dcos"));
    let clients = connect(&environment).await;
    Cluster { emulator, clients }
}

/// The clients of the cluster that `environment` names, as the command line connects.
pub async fn connect(environment: &Environment) -> Clients {
    let options = Options {
        backoff: Some((Duration::ZERO, Duration::ZERO)),
        ..Options::default()
    };
    let cluster = dcos_connect::Cluster::resolve(&options, environment)
        .await
        .expect("the connection resolves");
    let session = cluster
        .session(environment)
        .await
        .expect("a token is found");
    Clients::new(session.transport)
}

/// A key pair made once per test process.
pub fn key_pair() -> &'static KeyPair {
    static KEY: OnceLock<KeyPair> = OnceLock::new();
    KEY.get_or_init(|| KeyPair::generate(KeySize::Rsa2048).unwrap())
}

impl Cluster {
    /// Creates a service account.
    pub async fn service_account(&self, uid: &str) {
        self.clients
            .iam
            .user(&Uid::new(uid).unwrap())
            .create_service_account("test", &key_pair().public_key_pem)
            .await
            .unwrap();
    }

    pub fn state(&self) -> State {
        self.emulator.state()
    }

    /// Fails the next request of `method` below `prefix` in the way of `kind`.
    pub fn fault(&self, method: &str, prefix: &str, kind: &serde_json::Value) {
        let mut rule = kind.clone();
        rule["method"] = json!(method);
        rule["path_prefix"] = json!(prefix);
        rule["count"] = json!(1);
        let rule: FaultRule = serde_json::from_value(rule).unwrap();
        self.emulator.add_fault(rule);
    }
}

/// Each way a write fails: an error answer before or after the write lands, or a connection
/// dropped before or after.
pub fn fault_kinds() -> [(&'static str, serde_json::Value); 4] {
    [
        ("500 before", json!({"status": 500, "phase": "before"})),
        ("500 after", json!({"status": 500, "phase": "after"})),
        ("drop before", json!({"drop": true, "phase": "before"})),
        ("drop after", json!({"drop": true, "phase": "after"})),
    ]
}

/// A text secret's value in a state dump.
pub fn text(state: &State, path: &str) -> Option<String> {
    state.secrets.get(path).map(|s| match s {
        Secret::Text(t) => t.clone(),
        Secret::Binary(_) => panic!("{path} is binary"),
    })
}

/// The stored pair.
pub fn pair_of(state: &State) -> (Option<String>, Option<String>) {
    (text(state, KEY_ID), text(state, SECRET_KEY))
}

/// `rid` as it appears in an ACL's URL.
pub fn rid_url(rid: &str) -> String {
    format!("/acs/api/v1/acls/{}", rid.replace('/', "%252F"))
}

/// The pair as a key pair.
pub fn keys((id, secret): (&str, &str)) -> aws::KeyPair {
    aws::KeyPair::new(id.into(), secret.into(), "the test").unwrap()
}

/// The paths of the default service.
pub fn paths() -> Paths {
    Paths::of(ServiceName::new("data-science-engine").unwrap()).unwrap()
}

/// A cluster with `dse` and the first pair onboarded.
pub async fn onboarded() -> Cluster {
    let cluster = cluster().await;
    dcos_ops::s3::onboard(&cluster.clients, &onboarding(PAIR_A), &dcos_ops::Silent)
        .await
        .unwrap();
    cluster
}

/// The default onboarding of `dse` with `pair`, its options returned only.
pub fn onboarding(pair: (&str, &str)) -> Onboarding {
    onboarding_with(pair, &OptionsLayout::default(), &Destination::Report)
}

pub fn onboarding_with(
    pair: (&str, &str),
    layout: &OptionsLayout,
    destination: &Destination,
) -> Onboarding {
    Onboarding::prepare(
        Uid::new("dse").unwrap(),
        SecretPath::new(LOGIN).unwrap(),
        paths(),
        layout,
        destination,
        &dcos_ops::Silent,
    )
    .unwrap()
    .with_keys(keys(pair))
}

/// Keeps what it is told.
#[derive(Debug, Default)]
pub struct Collect {
    pub warnings: Mutex<Vec<Warning>>,
    pub items: Mutex<Vec<dcos_ops::ItemReport>>,
    pub begun: Mutex<Option<usize>>,
}

impl Reporter for Collect {
    fn warn(&self, warning: &Warning) {
        self.warnings.lock().unwrap().push(warning.clone());
    }

    fn begin(&self, total: usize) {
        *self.begun.lock().unwrap() = Some(total);
    }

    fn item_done(&self, item: &dcos_ops::ItemReport) {
        self.items.lock().unwrap().push(item.clone());
    }
}

/// The futures of the workflows can move between threads (a library user's runtime may be
/// multi-threaded).
#[test]
fn workflows_are_send() {
    fn send<T: Send>(_: &T) {}
    let clients = Clients::new(Transport::builder("http://127.0.0.1:1").build().unwrap());
    let job = onboarding(PAIR_A);
    send(&dcos_ops::s3::onboard(&clients, &job, &dcos_ops::Silent));
    let manifest = dcos_ops::manifest::Manifest {
        source: String::new(),
        accounts: Vec::new(),
        secrets: Vec::new(),
        grants: Vec::new(),
        onboardings: Vec::new(),
        setups: Vec::new(),
    };
    let options = dcos_ops::apply::ApplyOptions::default();
    send(&dcos_ops::apply::run(
        &clients,
        &manifest,
        options,
        &dcos_ops::Silent,
    ));
}
