//! The Data Science Engine's security requirements, read from the cluster.

use dcos_emulator::{Emulator, SecurityMode as Mode};
use dcos_ops::dse::security::{SecurityMode, security_mode};
use dcos_ops::{Clients, ErrorKind};
use dcos_transport::Transport;

async fn clients(mode: Mode) -> (Emulator, Clients) {
    let emulator = Emulator::builder()
        .security_mode(mode)
        .start()
        .await
        .unwrap();
    let transport = Transport::builder(emulator.url())
        .token(emulator.issue_token("bootstrapuser").unwrap().into())
        .build()
        .unwrap();
    (emulator, Clients::new(transport))
}

#[tokio::test]
async fn the_security_mode_is_read_from_the_bootstrap_configuration() {
    for (mode, expected) in [
        (Mode::Strict, SecurityMode::Strict),
        (Mode::Permissive, SecurityMode::Permissive),
        (Mode::Disabled, SecurityMode::Disabled),
    ] {
        let (_emulator, clients) = clients(mode).await;
        assert_eq!(security_mode(&clients).await.unwrap(), expected);
    }
    // A cluster that does not serve the file: an API error with the 404 beneath.
    let (emulator, _) = clients(Mode::Strict).await;
    let elsewhere = Clients::new(
        Transport::builder(format!("{}/nowhere", emulator.url().trim_end_matches('/')))
            .token(emulator.issue_token("bootstrapuser").unwrap().into())
            .build()
            .unwrap(),
    );
    let error = security_mode(&elsewhere).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Api);
    assert!(
        error.api_error().is_some_and(|e| e.is_not_found()),
        "{error}"
    );
}
