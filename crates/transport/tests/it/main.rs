//! The transport against a mock server: headers, retries, re-login, error mapping.

mod in_flight;
mod retries;
mod sending;

use std::time::Duration;

use dcos_transport::{Transport, TransportBuilder};
use secrecy::SecretString;

/// A transport to `url` with token `tok` and no backoff delay.
pub fn fast(url: &str) -> TransportBuilder {
    Transport::builder(url)
        .token(SecretString::from("tok"))
        .backoff(Duration::ZERO, Duration::ZERO)
}
