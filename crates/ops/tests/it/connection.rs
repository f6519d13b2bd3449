//! The library connects from the sources the command line reads: the `dcos` CLI's attached
//! cluster, a pinned CA fingerprint, and a service account's login secret.

use dcos_connect::{Environment, Error, Given, Options, Origin};
use dcos_emulator::Emulator;

use crate::{connect, key_pair};

async fn tls_emulator() -> Emulator {
    Emulator::builder().tls(true).start().await.unwrap()
}

#[tokio::test]
async fn the_dcos_clis_attached_cluster_gives_url_trust_and_token() {
    let emulator = tls_emulator().await;
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, emulator.ca_pem().unwrap()).unwrap();
    let cluster_dir = dir.path().join(".dcos/clusters/c1");
    std::fs::create_dir_all(&cluster_dir).unwrap();
    std::fs::write(cluster_dir.join("attached"), "").unwrap();
    let token = emulator.issue_token("bootstrapuser").unwrap();
    std::fs::write(
        cluster_dir.join("dcos.toml"),
        format!(
            "[core]\ndcos_url = \"{}\"\ndcos_acs_token = \"{token}\"\nssl_verify = \"{}\"\n",
            emulator.url(),
            ca_file.display()
        ),
    )
    .unwrap();
    let environment = Environment::empty().dcos_dir(dir.path().join(".dcos"));
    let clients = connect(&environment).await;
    clients.secrets.list(None).await.expect("the token works");

    let cluster = dcos_connect::Cluster::resolve(&Options::default(), &environment)
        .await
        .unwrap();
    assert!(cluster.url_source.from.starts_with("the dcos CLI's"));
    assert!(cluster.is_pinned(), "ssl_verify names a CA file");
    let session = cluster.session(&environment).await.unwrap();
    assert_eq!(session.origin, Origin::DcosCli);
}

#[tokio::test]
async fn a_pinned_fingerprint_is_checked_before_anything_is_sent() {
    let emulator = tls_emulator().await;
    let der = dcos_transport::pem_certificates(emulator.ca_pem().unwrap().as_bytes()).unwrap();
    let right = dcos_connect::fingerprint(&der[0]);
    let environment = Environment::empty().var("DCOS_URL", emulator.url()).var(
        "DCOS_ACS_TOKEN",
        emulator.issue_token("bootstrapuser").unwrap(),
    );
    let pin = |fingerprint: &str| Options {
        ca_fingerprint: Some(Given::new("the pin", fingerprint.to_owned())),
        ..Options::default()
    };
    let cluster = dcos_connect::Cluster::resolve(&pin(&right), &environment)
        .await
        .unwrap();
    assert!(cluster.is_pinned());
    let session = cluster.session(&environment).await.unwrap();
    dcos_ops::Clients::new(session.transport)
        .secrets
        .list(None)
        .await
        .unwrap();

    let wrong = format!("sha256:{}", "00".repeat(32));
    match dcos_connect::Cluster::resolve(&pin(&wrong), &environment).await {
        Err(Error::PinMismatch { from, got, .. }) => {
            assert_eq!(from, "the pin");
            assert_eq!(got, vec![right]);
        }
        other => panic!("expected a mismatch, got {other:?}"),
    }
}

#[tokio::test]
async fn a_login_secret_in_the_environment_logs_in_and_names_the_cluster() {
    let cluster = crate::bare().await;
    cluster.service_account("ci-bot").await;
    let private_key_pem = &key_pair().private_key_pem;
    let login_secret = serde_json::json!({
        "scheme": "RS256",
        "uid": "ci-bot",
        "private_key": secrecy::ExposeSecret::expose_secret(private_key_pem),
        "login_endpoint": format!("{}/acs/api/v1/auth/login", cluster.emulator.url()),
    });
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, cluster.emulator.ca_pem().unwrap()).unwrap();
    let environment = Environment::empty()
        .var("DCOS_SERVICE_ACCOUNT_CREDENTIAL", login_secret.to_string())
        .var("DCOS_TLS_CA_PATH", &ca_file);
    let resolved = dcos_connect::Cluster::resolve(&Options::default(), &environment)
        .await
        .unwrap();
    assert_eq!(resolved.url, cluster.emulator.url().trim_end_matches('/'));
    let session = resolved.session(&environment).await.unwrap();
    assert_eq!(session.origin, Origin::EnvCredential);
    let token = session.token().await.expect("the account logs in");
    assert_eq!(token.uid(), Some("ci-bot"));
}
