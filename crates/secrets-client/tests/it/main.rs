//! The Secrets client against a mock server: wire format, error mapping, `put`.

mod errors;
mod props;
mod put;
mod wire;

use std::time::Duration;

use dcos_secrets_client::{SecretPath, SecretsClient};
use dcos_transport::Transport;
use secrecy::SecretString;
use wiremock::MockServer;

pub const TOKEN_HEADER: &str = "token=tok-123";

pub fn client(server: &MockServer) -> SecretsClient {
    let transport = Transport::builder(server.uri())
        .token(SecretString::from("tok-123"))
        .backoff(Duration::ZERO, Duration::ZERO)
        .build()
        .unwrap();
    SecretsClient::new(transport)
}

pub fn p(s: &str) -> SecretPath {
    SecretPath::new(s).unwrap()
}
