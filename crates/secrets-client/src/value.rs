//! Secret values: text or binary, never shown by `Debug`.

use std::fmt;

use dcos_transport::Error;
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretSlice, SecretString};
use sha2::Sha256;

/// The largest value the secrets service stores, in bytes.
pub const MAX_VALUE_BYTES: usize = 1_048_576;

/// A secret value, as stored: UTF-8 text (sent as JSON) or raw bytes (sent as octet-stream).
pub enum SecretValue {
    /// A text secret.
    Text(SecretString),
    /// A binary secret.
    Binary(SecretSlice<u8>),
}

/// The key of this process's fingerprints: random, unless a saved plan's was given first.
static FINGERPRINT_KEY: std::sync::OnceLock<[u8; 32]> = std::sync::OnceLock::new();

impl SecretValue {
    /// A text value.
    pub fn text(value: impl Into<String>) -> Self {
        Self::Text(SecretString::from(value.into()))
    }

    /// A binary value.
    pub fn binary(value: impl Into<Vec<u8>>) -> Self {
        Self::Binary(SecretSlice::from(value.into()))
    }

    /// Bytes read from somewhere: text if they are UTF-8 and `binary` is false, binary otherwise.
    /// Asking for text with bytes that are not UTF-8 is an error naming the byte offset.
    pub fn from_bytes(bytes: Vec<u8>, binary: bool) -> Result<Self, Error> {
        if binary {
            return Ok(Self::binary(bytes));
        }
        match String::from_utf8(bytes) {
            Ok(text) => Ok(Self::text(text)),
            Err(e) => Err(Error::InvalidInput(format!(
                "the value is not UTF-8 text (invalid byte at offset {}); store it as binary",
                e.utf8_error().valid_up_to()
            ))),
        }
    }

    /// The value's bytes. Call only where a body or an output is written.
    pub fn expose_bytes(&self) -> &[u8] {
        match self {
            Self::Text(s) => s.expose_secret().as_bytes(),
            Self::Binary(b) => b.expose_secret(),
        }
    }

    /// Whether this is a binary value.
    pub fn is_binary(&self) -> bool {
        matches!(self, Self::Binary(_))
    }

    /// The size in bytes.
    pub fn len(&self) -> usize {
        self.expose_bytes().len()
    }

    /// Whether the value is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A short fingerprint that tells values apart without revealing them: `hmac:` and the
    /// first 12 hex digits of the HMAC-SHA256 of the kind and bytes, keyed with a random key
    /// made once per process. Equal values have equal fingerprints within one process (enough
    /// to show "changed" or "unchanged" in a plan); across processes they are unrelated, so a
    /// fingerprint in a log cannot be looked up in a dictionary of likely values.
    pub fn fingerprint(&self) -> String {
        let key = FINGERPRINT_KEY.get_or_init(rand::random);
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes a key of any length");
        mac.update(if self.is_binary() { b"b:" } else { b"t:" });
        mac.update(self.expose_bytes());
        let digest = mac.finalize().into_bytes();
        let hex: String = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
        format!("hmac:{hex}")
    }

    /// The key of this process's fingerprints, for a plan saved to be checked by another
    /// process ([`SecretValue::use_fingerprint_key`]). Whoever holds it can test guesses of a
    /// value against its fingerprint: keep it as private as the plan it goes with.
    pub fn fingerprint_key() -> [u8; 32] {
        *FINGERPRINT_KEY.get_or_init(rand::random)
    }

    /// Makes this process's fingerprints those of a saved plan's process. Must come before
    /// the first fingerprint; `false` if this process already fingerprinted with another key.
    pub fn use_fingerprint_key(key: [u8; 32]) -> bool {
        *FINGERPRINT_KEY.get_or_init(|| key) == key
    }

    /// Fails unless the value fits the service's size limit.
    pub fn check_size(&self) -> Result<(), Error> {
        if self.len() > MAX_VALUE_BYTES {
            return Err(Error::InvalidInput(format!(
                "the value is {} bytes; the secret store takes at most {MAX_VALUE_BYTES}",
                self.len()
            )));
        }
        Ok(())
    }
}

impl Clone for SecretValue {
    fn clone(&self) -> Self {
        match self {
            Self::Text(s) => Self::Text(SecretString::from(s.expose_secret())),
            Self::Binary(b) => Self::binary(b.expose_secret().to_vec()),
        }
    }
}

/// Values are equal when they are of the same kind and hold the same bytes.
impl PartialEq for SecretValue {
    fn eq(&self, other: &Self) -> bool {
        self.is_binary() == other.is_binary() && self.expose_bytes() == other.expose_bytes()
    }
}

impl Eq for SecretValue {}

impl fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = if self.is_binary() { "Binary" } else { "Text" };
        write!(f, "{kind}([REDACTED], {} bytes)", self.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_redacts() {
        for v in [
            SecretValue::text("hunter2-canary"),
            SecretValue::binary(b"hunter2-canary".to_vec()),
        ] {
            let shown = format!("{v:?}");
            assert!(!shown.contains("hunter2"), "{shown}");
            assert!(shown.contains("14 bytes"), "{shown}");
        }
    }

    #[test]
    fn equality_needs_kind_and_bytes() {
        assert_eq!(SecretValue::text("a\n"), SecretValue::text("a\n"));
        assert_ne!(SecretValue::text("a"), SecretValue::text("a\n"));
        assert_ne!(SecretValue::text("a"), SecretValue::binary(b"a".to_vec()));
    }

    #[test]
    fn fingerprint_is_stable_within_a_process_short_and_keyed() {
        let a = SecretValue::text("value");
        assert_eq!(a.fingerprint(), SecretValue::text("value").fingerprint());
        assert_ne!(a.fingerprint(), SecretValue::text("value2").fingerprint());
        assert_ne!(
            a.fingerprint(),
            SecretValue::binary(b"value".to_vec()).fingerprint()
        );
        assert_eq!(a.fingerprint().len(), "hmac:".len() + 12);
        // Requirement: keyed, so not the plain SHA-256 a dictionary could be built from.
        use sha2::Digest;
        let plain: String = sha2::Sha256::digest(b"t:value")
            .iter()
            .take(6)
            .map(|b| format!("{b:02x}"))
            .collect();
        assert!(!a.fingerprint().ends_with(&plain));
    }

    #[test]
    fn size_limit() {
        assert!(
            SecretValue::binary(vec![0; MAX_VALUE_BYTES])
                .check_size()
                .is_ok()
        );
        let err = SecretValue::binary(vec![0; MAX_VALUE_BYTES + 1])
            .check_size()
            .unwrap_err();
        assert!(err.to_string().contains("1048577 bytes"), "{err}");
    }

    #[test]
    fn from_bytes_refuses_non_utf8_text() {
        assert!(
            SecretValue::from_bytes(vec![b'a', 0xff], true)
                .unwrap()
                .is_binary()
        );
        let err = SecretValue::from_bytes(vec![b'a', 0xff], false).unwrap_err();
        assert!(err.to_string().contains("offset 1"), "{err}");
    }
}
