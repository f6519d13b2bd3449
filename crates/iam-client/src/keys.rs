//! Service-account keys and the login secret that services mount.

use std::fmt;

use dcos_transport::Error;
use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
use rsa::{RsaPrivateKey, RsaPublicKey};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;

use crate::Uid;

/// The login endpoint that services inside the cluster use, written into login secrets.
pub const DEFAULT_LOGIN_ENDPOINT: &str = "https://leader.mesos/acs/api/v1/auth/login";

/// The size of a generated RSA key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KeySize {
    /// 2048 bits, the default of the DC/OS tools.
    #[default]
    Rsa2048,
    /// 4096 bits.
    Rsa4096,
}

impl KeySize {
    /// The size in bits.
    pub fn bits(self) -> usize {
        match self {
            KeySize::Rsa2048 => 2048,
            KeySize::Rsa4096 => 4096,
        }
    }
}

/// A service-account key pair: the private key as PKCS#8 PEM, the public key as
/// SubjectPublicKeyInfo PEM (what creating the account takes).
pub struct KeyPair {
    /// The private key, `-----BEGIN PRIVATE KEY-----`.
    pub private_key_pem: SecretString,
    /// The public key, `-----BEGIN PUBLIC KEY-----`.
    pub public_key_pem: String,
}

impl fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyPair")
            .field("private_key_pem", &"[REDACTED]")
            .field("public_key_pem", &self.public_key_pem)
            .finish()
    }
}

impl KeyPair {
    /// Generates a new RSA key pair.
    pub fn generate(size: KeySize) -> Result<Self, Error> {
        let fail =
            |e: &dyn fmt::Display| Error::InvalidInput(format!("cannot make an RSA key: {e}"));
        let private =
            RsaPrivateKey::new(&mut rand::thread_rng(), size.bits()).map_err(|e| fail(&e))?;
        let private_key_pem = private.to_pkcs8_pem(LineEnding::LF).map_err(|e| fail(&e))?;
        let public_key_pem = RsaPublicKey::from(&private)
            .to_public_key_pem(LineEnding::LF)
            .map_err(|e| fail(&e))?;
        Ok(Self {
            private_key_pem: SecretString::from(private_key_pem.as_str()),
            public_key_pem,
        })
    }
}

/// The text secret a service mounts to log in as its service account
/// (`dcos security secrets create-sa-secret`).
pub struct ServiceAccountSecret {
    /// The service account.
    pub uid: Uid,
    /// Its private key, PKCS#8 PEM.
    pub private_key_pem: SecretString,
    /// Where the service logs in.
    pub login_endpoint: String,
}

impl fmt::Debug for ServiceAccountSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServiceAccountSecret")
            .field("uid", &self.uid)
            .field("private_key_pem", &"[REDACTED]")
            .field("login_endpoint", &self.login_endpoint)
            .finish()
    }
}

#[derive(Serialize)]
struct SecretDocument<'a> {
    scheme: &'a str,
    uid: &'a str,
    private_key: &'a str,
    login_endpoint: &'a str,
}

impl ServiceAccountSecret {
    /// The login secret for `uid` with the default endpoint.
    pub fn new(uid: Uid, private_key_pem: SecretString) -> Self {
        Self {
            uid,
            private_key_pem,
            login_endpoint: DEFAULT_LOGIN_ENDPOINT.to_owned(),
        }
    }

    /// The same secret with another login endpoint.
    pub fn with_login_endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.login_endpoint = endpoint.into();
        self
    }

    /// The JSON document to store as a text secret:
    /// `{"scheme":"RS256","uid","private_key","login_endpoint"}`.
    pub fn to_json(&self) -> SecretString {
        let doc = SecretDocument {
            scheme: "RS256",
            uid: self.uid.as_str(),
            private_key: self.private_key_pem.expose_secret(),
            login_endpoint: &self.login_endpoint,
        };
        // Serializing four strings cannot fail.
        SecretString::from(serde_json::to_string(&doc).unwrap_or_default())
    }
}
