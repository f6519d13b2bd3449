//! Service-account keys and the login secret that services mount.

use std::fmt;

use dcos_transport::Error;
use rsa::pkcs1::DecodeRsaPrivateKey;
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey, LineEnding};
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
#[derive(Clone)]
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
    /// Generates a new RSA key pair, with AWS-LC (as fast as OpenSSL, where a pure Rust prime
    /// search takes several times longer).
    pub fn generate(size: KeySize) -> Result<Self, Error> {
        use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der};
        let fail =
            |e: &dyn fmt::Display| Error::InvalidInput(format!("cannot make an RSA key: {e}"));
        let bits = match size {
            KeySize::Rsa2048 => aws_lc_rs::rsa::KeySize::Rsa2048,
            KeySize::Rsa4096 => aws_lc_rs::rsa::KeySize::Rsa4096,
        };
        let generated = aws_lc_rs::rsa::KeyPair::generate(bits).map_err(|e| fail(&e))?;
        let pkcs8: Pkcs8V1Der<'static> = generated.as_der().map_err(|e| fail(&e))?;
        let private = RsaPrivateKey::from_pkcs8_der(pkcs8.as_ref()).map_err(|e| fail(&e))?;
        Self::of(&private)
    }

    /// The pair of an RSA private key in PEM, PKCS#8 (`BEGIN PRIVATE KEY`) or PKCS#1
    /// (`BEGIN RSA PRIVATE KEY`). The error never quotes the key.
    pub fn from_private_pem(pem: &SecretString) -> Result<Self, Error> {
        let text = pem.expose_secret();
        let private = RsaPrivateKey::from_pkcs8_pem(text)
            .or_else(|_| RsaPrivateKey::from_pkcs1_pem(text))
            .map_err(|_| {
                Error::InvalidInput("not an RSA private key in PEM (PKCS#8 or PKCS#1)".to_owned())
            })?;
        Self::of(&private)
    }

    fn of(private: &RsaPrivateKey) -> Result<Self, Error> {
        let fail =
            |e: &dyn fmt::Display| Error::InvalidInput(format!("cannot encode an RSA key: {e}"));
        let private_key_pem = private.to_pkcs8_pem(LineEnding::LF).map_err(|e| fail(&e))?;
        let public_key_pem = RsaPublicKey::from(private)
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

    /// Reads the JSON document of a login secret, as services receive it (for example in
    /// `DCOS_SERVICE_ACCOUNT_CREDENTIAL`). Errors never quote the document.
    pub fn from_json(json: &SecretString) -> Result<Self, Error> {
        #[derive(serde::Deserialize)]
        struct Document {
            #[serde(default)]
            scheme: Option<String>,
            uid: String,
            private_key: String,
            #[serde(default)]
            login_endpoint: Option<String>,
        }
        let doc: Document = serde_json::from_str(json.expose_secret()).map_err(|e| {
            Error::InvalidInput(format!(
                "not a service-account login secret (line {}, column {}): it must be JSON with \
                 `uid` and `private_key`",
                e.line(),
                e.column()
            ))
        })?;
        if let Some(scheme) = doc.scheme.filter(|s| s != "RS256") {
            return Err(Error::InvalidInput(format!(
                "the login secret's scheme `{scheme}` is not RS256"
            )));
        }
        Ok(Self {
            uid: Uid::new(&doc.uid)?,
            private_key_pem: SecretString::from(doc.private_key),
            login_endpoint: doc
                .login_endpoint
                .unwrap_or_else(|| DEFAULT_LOGIN_ENDPOINT.to_owned()),
        })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_private_key_gives_back_its_pair_in_either_pem_form() {
        let pair = KeyPair::generate(KeySize::Rsa2048).unwrap();
        let again = KeyPair::from_private_pem(&pair.private_key_pem).unwrap();
        assert_eq!(again.public_key_pem, pair.public_key_pem);

        let private = RsaPrivateKey::from_pkcs8_pem(pair.private_key_pem.expose_secret()).unwrap();
        let pkcs1 =
            rsa::pkcs1::EncodeRsaPrivateKey::to_pkcs1_pem(&private, LineEnding::LF).unwrap();
        let from_pkcs1 = KeyPair::from_private_pem(&SecretString::from(pkcs1.as_str())).unwrap();
        assert_eq!(from_pkcs1.public_key_pem, pair.public_key_pem);
    }

    #[test]
    fn a_login_secret_reads_back_and_a_broken_one_is_not_quoted() {
        let pair = KeyPair::generate(KeySize::Rsa2048).unwrap();
        let secret = ServiceAccountSecret::new(Uid::new("ci").unwrap(), pair.private_key_pem)
            .with_login_endpoint("https://m1/acs/api/v1/auth/login");
        let back = ServiceAccountSecret::from_json(&secret.to_json()).unwrap();
        assert_eq!(back.uid.as_str(), "ci");
        assert_eq!(back.login_endpoint, "https://m1/acs/api/v1/auth/login");
        let broken = SecretString::from(r#"{"uid": "ci", "private_key": "key-canary"#);
        let err = ServiceAccountSecret::from_json(&broken).unwrap_err();
        assert!(!err.to_string().contains("key-canary"), "{err}");
        let scheme = SecretString::from(r#"{"scheme":"HS256","uid":"ci","private_key":"k"}"#);
        assert!(ServiceAccountSecret::from_json(&scheme).is_err());
    }

    #[test]
    fn a_broken_key_is_refused_without_quoting_it() {
        let err = KeyPair::from_private_pem(&SecretString::from(
            "-----BEGIN PRIVATE KEY-----\nkey-canary\n-----END PRIVATE KEY-----\n",
        ))
        .unwrap_err();
        assert!(!err.to_string().contains("key-canary"), "{err}");
        assert!(err.to_string().contains("not an RSA private key"), "{err}");
    }
}
