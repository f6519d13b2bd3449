//! Tokens: the emulator signs RS256 JWTs with its own key and checks them on every request.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
use rsa::traits::PublicKeyParts;
use rsa::{RsaPrivateKey, RsaPublicKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// How many verified tokens are remembered, so that a request costs no RSA verification.
const CACHE_LIMIT: usize = 10_000;

/// The emulator's token signer and verifier.
pub struct Authority {
    encoding: EncodingKey,
    decoding: DecodingKey,
    jwk: serde_json::Value,
    ttl: Duration,
    verified: Mutex<HashMap<String, Claims>>,
}

impl std::fmt::Debug for Authority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authority")
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

/// The claims of a token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// The account.
    pub uid: String,
    /// Expiry, seconds since the Unix epoch.
    pub exp: u64,
}

/// Seconds since the Unix epoch.
pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn strict_validation() -> Validation {
    let mut v = Validation::new(Algorithm::RS256);
    v.leeway = 0;
    v.set_required_spec_claims(&["exp"]);
    v
}

impl Authority {
    /// A new signing key; tokens last `ttl`.
    pub fn generate(ttl: Duration) -> anyhow::Result<Self> {
        use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der};
        use rsa::pkcs8::DecodePrivateKey;
        // AWS-LC's key generation: a pure Rust prime search would make every start slow.
        let generated = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048)
            .map_err(|e| anyhow::anyhow!("cannot make the signing key: {e}"))?;
        let pkcs8: Pkcs8V1Der<'static> = generated
            .as_der()
            .map_err(|e| anyhow::anyhow!("cannot encode the signing key: {e}"))?;
        let private = RsaPrivateKey::from_pkcs8_der(pkcs8.as_ref())?;
        let public = RsaPublicKey::from(&private);
        let encoding = EncodingKey::from_rsa_pem(private.to_pkcs8_pem(LineEnding::LF)?.as_bytes())?;
        let decoding =
            DecodingKey::from_rsa_pem(public.to_public_key_pem(LineEnding::LF)?.as_bytes())?;
        let n = B64URL.encode(public.n().to_bytes_be());
        let e = B64URL.encode(public.e().to_bytes_be());
        let kid: String = Sha256::digest(format!("{e}{n}RSA").as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let jwk = serde_json::json!({"kid": kid, "kty": "RSA", "n": n, "e": e, "alg": "RS256", "use": "sig"});
        Ok(Self {
            encoding,
            decoding,
            jwk,
            ttl,
            verified: Mutex::new(HashMap::new()),
        })
    }

    /// A token for `uid`.
    pub fn issue(&self, uid: &str) -> anyhow::Result<String> {
        let claims = Claims {
            uid: uid.to_owned(),
            exp: now() + self.ttl.as_secs(),
        };
        Ok(jsonwebtoken::encode(
            &Header::new(Algorithm::RS256),
            &claims,
            &self.encoding,
        )?)
    }

    /// The claims of a valid, unexpired token of ours.
    pub fn verify(&self, token: &str) -> Option<Claims> {
        let mut cache = self.verified.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(claims) = cache.get(token) {
            return (claims.exp > now()).then(|| claims.clone());
        }
        let claims = jsonwebtoken::decode::<Claims>(token, &self.decoding, &strict_validation())
            .ok()?
            .claims;
        if claims.exp <= now() {
            return None;
        }
        if cache.len() >= CACHE_LIMIT {
            cache.clear();
        }
        cache.insert(token.to_owned(), claims.clone());
        Some(claims)
    }

    /// How long issued tokens last.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// `GET /acs/api/v1/auth/jwks`.
    pub fn jwks(&self) -> serde_json::Value {
        serde_json::json!({ "keys": [self.jwk] })
    }
}

#[derive(Deserialize)]
struct LoginClaims {
    uid: String,
}

/// Checks a service-account login JWT: RS256 signed by `public_key_pem`, `uid` equal to
/// `uid`, and not expired when it has an `exp` (Bouncer only warns when it has none, and real
/// clients send one, so one without is accepted).
pub fn verify_service_login(jwt: &str, uid: &str, public_key_pem: &str) -> bool {
    let Ok(key) = DecodingKey::from_rsa_pem(public_key_pem.as_bytes()) else {
        return false;
    };
    let mut validation = strict_validation();
    validation.required_spec_claims.clear();
    jsonwebtoken::decode::<LoginClaims>(jwt, &key, &validation)
        .is_ok_and(|data| data.claims.uid == uid)
}

/// Whether `pem` is an RSA public key in SubjectPublicKeyInfo PEM form.
pub fn is_rsa_public_key(pem: &str) -> bool {
    use rsa::pkcs8::DecodePublicKey;
    RsaPublicKey::from_public_key_pem(pem.trim()).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issued_tokens_verify_and_expire() {
        let a = Authority::generate(Duration::from_secs(60)).unwrap();
        let t = a.issue("alice").unwrap();
        assert_eq!(a.verify(&t).unwrap().uid, "alice");
        assert!(a.verify("garbage").is_none());
        let expired = Authority::generate(Duration::ZERO).unwrap();
        let t = expired.issue("alice").unwrap();
        assert!(expired.verify(&t).is_none());
        // A token signed by another key is refused.
        let other = a.issue("bob").unwrap();
        assert!(expired.verify(&other).is_none());
    }

    #[test]
    fn jwks_names_the_key() {
        let a = Authority::generate(Duration::from_secs(60)).unwrap();
        let jwks = a.jwks();
        assert_eq!(jwks["keys"][0]["e"], "AQAB");
        assert_eq!(jwks["keys"][0]["alg"], "RS256");
    }
}
