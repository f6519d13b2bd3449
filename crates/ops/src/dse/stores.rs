//! TLS stores for the engine: a keystore and a truststore, JKS or PKCS#12, opened with their
//! passwords before anything is stored, so that a wrong password or a keystore without a
//! private key is found here and not when Spark starts.
//!
//! PKCS#12 is read by the `p12-keystore` crate, which checks the store's MAC with the
//! password. JKS is read here: its layout and its two checks are short and fixed (the keyed
//! SHA-1 over the whole store, and the key protector's SHA-1 over each decrypted key), and the
//! crates that read it index their input unchecked, so a damaged file would stop the process
//! instead of being refused.

use secrecy::{ExposeSecret, SecretString};
use sha1::{Digest, Sha1};

use crate::error::{Error, Result};

/// What kind of store a file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StoreKind {
    /// A Java keystore (magic `FE ED FE ED`).
    Jks,
    /// A PKCS#12 store (a DER sequence).
    Pkcs12,
}

/// A store that opened with its passwords.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Store {
    pub kind: StoreKind,
    /// The aliases of its private keys (each opened with the key password).
    pub private_keys: Vec<String>,
    /// How many trusted certificates it holds.
    pub certificates: usize,
}

impl Store {
    /// Refuses a keystore that holds no private key: TLS needs one.
    pub fn require_private_key(&self, what: &str) -> Result<()> {
        match self.private_keys.is_empty() {
            false => Ok(()),
            true => Err(Error::invalid(format!(
                "{what} holds no private key ({} trusted certificate{}): a keystore for TLS needs \
                 the service's key",
                self.certificates,
                if self.certificates == 1 { "" } else { "s" }
            ))),
        }
    }
}

/// Opens the store in `bytes` (read from `what`) with `password`, and each private key with
/// `key_password` (by default the store's). A wrong password, a damaged file or another kind
/// of file is refused ([`crate::ErrorKind::Invalid`]) naming `what`; no password is ever said.
pub fn open(
    bytes: &[u8],
    what: &str,
    password: &SecretString,
    key_password: Option<&SecretString>,
) -> Result<Store> {
    match bytes {
        [0xFE, 0xED, 0xFE, 0xED, ..] => {
            jks(bytes, what, password, key_password.unwrap_or(password))
        }
        [0xCE, 0xCE, 0xCE, 0xCE, ..] => Err(Error::invalid(format!(
            "{what} is a JCEKS store: convert it to PKCS#12 or JKS (keytool -importkeystore)"
        ))),
        [0x30, ..] => pkcs12(bytes, what, password, key_password),
        _ => Err(Error::invalid(format!(
            "{what} is neither a JKS nor a PKCS#12 store"
        ))),
    }
}

fn pkcs12(
    bytes: &[u8],
    what: &str,
    password: &SecretString,
    key_password: Option<&SecretString>,
) -> Result<Store> {
    use p12_keystore::{KeyStore, KeyStoreEntry, Pkcs12ImportPolicy};
    if key_password.is_some_and(|k| k.expose_secret() != password.expose_secret()) {
        return Err(Error::invalid(format!(
            "{what} is a PKCS#12 store, which has one password: its keys open with the store's"
        )));
    }
    let store = KeyStore::from_pkcs12(bytes, password.expose_secret(), Pkcs12ImportPolicy::Relaxed)
        .map_err(|e| match e {
            p12_keystore::error::Error::MacError(_) => Error::invalid(format!(
                "{what}: the password does not open this PKCS#12 store"
            )),
            other => Error::invalid(format!("{what} is not a readable PKCS#12 store ({other})")),
        })?;
    let mut private_keys = Vec::new();
    let mut certificates = 0;
    for (alias, entry) in store.entries() {
        match entry {
            KeyStoreEntry::PrivateKeyChain(_) => private_keys.push(alias.clone()),
            KeyStoreEntry::Certificate(_) => certificates += 1,
            _ => {}
        }
    }
    private_keys.sort();
    Ok(Store {
        kind: StoreKind::Pkcs12,
        private_keys,
        certificates,
    })
}

/// A password as Java hashes it: each UTF-16 unit, big-endian.
fn java_password(password: &SecretString) -> Vec<u8> {
    password
        .expose_secret()
        .encode_utf16()
        .flat_map(u16::to_be_bytes)
        .collect()
}

/// Reads big-endian fields of a JKS store, naming what is cut short.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self
            .at
            .checked_add(n)
            .filter(|end| *end <= self.bytes.len())?;
        let taken = &self.bytes[self.at..end];
        self.at = end;
        Some(taken)
    }

    fn u16(&mut self) -> Option<u16> {
        self.take(2).map(|b| u16::from_be_bytes([b[0], b[1]]))
    }

    fn u32(&mut self) -> Option<u32> {
        self.take(4)
            .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn utf(&mut self) -> Option<String> {
        let n = self.u16()?;
        self.take(n as usize)
            .map(|b| String::from_utf8_lossy(b).into_owned())
    }

    fn blob(&mut self) -> Option<&'a [u8]> {
        let n = self.u32()?;
        self.take(n as usize)
    }
}

fn jks(
    bytes: &[u8],
    what: &str,
    password: &SecretString,
    key_password: &SecretString,
) -> Result<Store> {
    let damaged = || Error::invalid(format!("{what} is not a readable JKS store"));
    // The keyed digest: SHA-1 over the password, the whitener and the store, last 20 bytes.
    let Some(body_len) = bytes.len().checked_sub(20) else {
        return Err(damaged());
    };
    let (body, digest) = bytes.split_at(body_len);
    let mut sha = Sha1::new();
    sha.update(java_password(password));
    sha.update(b"Mighty Aphrodite");
    sha.update(body);
    if sha.finalize().as_slice() != digest {
        return Err(Error::invalid(format!(
            "{what}: the password does not open this JKS store (or the file is damaged)"
        )));
    }
    let mut r = Reader { bytes: body, at: 4 };
    let version = r.u32().ok_or_else(damaged)?;
    if !matches!(version, 1 | 2) {
        return Err(damaged());
    }
    let count = r.u32().ok_or_else(damaged)?;
    let cert = |r: &mut Reader<'_>| -> Option<()> {
        if version == 2 {
            r.utf()?;
        }
        r.blob().map(drop)
    };
    let mut store = Store {
        kind: StoreKind::Jks,
        private_keys: Vec::new(),
        certificates: 0,
    };
    for _ in 0..count {
        let tag = r.u32().ok_or_else(damaged)?;
        let alias = r.utf().ok_or_else(damaged)?;
        r.take(8).ok_or_else(damaged)?;
        match tag {
            1 => {
                let protected = r.blob().ok_or_else(damaged)?;
                let chain = r.u32().ok_or_else(damaged)?;
                for _ in 0..chain {
                    cert(&mut r).ok_or_else(damaged)?;
                }
                if !key_opens(protected, key_password).ok_or_else(damaged)? {
                    return Err(Error::invalid(format!(
                        "{what}: the key password does not open the private key `{alias}`"
                    )));
                }
                store.private_keys.push(alias);
            }
            2 => {
                cert(&mut r).ok_or_else(damaged)?;
                store.certificates += 1;
            }
            _ => return Err(damaged()),
        }
    }
    store.private_keys.sort();
    Ok(store)
}

/// Whether `password` opens a key protected by Sun's key protector: the encrypted data of the
/// `EncryptedPrivateKeyInfo` is a 20-byte salt, the key XORed with a SHA-1 chain of the
/// password and the salt, and SHA-1 of the password and the plain key. `None`: not such a key.
fn key_opens(protected: &[u8], password: &SecretString) -> Option<bool> {
    const SUN_KEY_PROTECTOR: &[u8] = &[
        0x06, 0x0A, 0x2B, 0x06, 0x01, 0x04, 0x01, 0x2A, 0x02, 0x11, 0x01, 0x01,
    ];
    let mut outer = Der(protected).sequence()?;
    let algorithm = outer.element(0x30)?;
    if !algorithm.starts_with(SUN_KEY_PROTECTOR) {
        return None;
    }
    let data = outer.element(0x04)?;
    let (salt, rest) = data.split_at_checked(20)?;
    let (encrypted, check) = rest.split_at_checked(rest.len().checked_sub(20)?)?;
    let password = java_password(password);
    let mut block = salt.to_vec();
    let mut plain = Vec::with_capacity(encrypted.len());
    for chunk in encrypted.chunks(20) {
        block = Sha1::new()
            .chain_update(&password)
            .chain_update(&block)
            .finalize()
            .to_vec();
        plain.extend(chunk.iter().zip(&block).map(|(c, k)| c ^ k));
    }
    let expected = Sha1::new()
        .chain_update(&password)
        .chain_update(&plain)
        .finalize();
    Some(expected.as_slice() == check)
}

/// A minimal DER walk: definite lengths only, bounds checked.
struct Der<'a>(&'a [u8]);

impl<'a> Der<'a> {
    /// The next element of `tag`: its content.
    fn element(&mut self, tag: u8) -> Option<&'a [u8]> {
        let (&found, rest) = self.0.split_first()?;
        if found != tag {
            return None;
        }
        let (&first, mut rest) = rest.split_first()?;
        let len = match first {
            n if n < 0x80 => n as usize,
            n => {
                let count = (n & 0x7F) as usize;
                if count == 0 || count > 4 {
                    return None;
                }
                let (len_bytes, after) = rest.split_at_checked(count)?;
                rest = after;
                len_bytes
                    .iter()
                    .fold(0usize, |acc, b| (acc << 8) | *b as usize)
            }
        };
        let (content, after) = rest.split_at_checked(len)?;
        self.0 = after;
        Some(content)
    }

    /// The content of the sequence this is.
    fn sequence(mut self) -> Option<Der<'a>> {
        self.element(0x30).map(Der)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// A JKS store of one trusted certificate, with its keyed digest.
    fn truststore(password: &str) -> Vec<u8> {
        let mut body = vec![0xFE, 0xED, 0xFE, 0xED, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2];
        body.extend_from_slice(&[0, 2, b'c', b'a']);
        body.extend_from_slice(&[0; 8]);
        body.extend_from_slice(&[0, 5, b'X', b'.', b'5', b'0', b'9', 0, 0, 0, 3, 1, 2, 3]);
        let digest = Sha1::new()
            .chain_update(java_password(&SecretString::from(password.to_owned())))
            .chain_update(b"Mighty Aphrodite")
            .chain_update(&body)
            .finalize();
        body.extend_from_slice(&digest);
        body
    }

    #[test]
    fn a_jks_truststore_opens_with_its_password_and_only_with_it() {
        let bytes = truststore("pässwort");
        let password = SecretString::from("pässwort".to_owned());
        let store = open(&bytes, "trust.jks", &password, None).unwrap();
        assert_eq!((store.kind, store.certificates), (StoreKind::Jks, 1));
        assert!(store.require_private_key("trust.jks").is_err());
        let wrong = SecretString::from("passwort".to_owned());
        assert!(open(&bytes, "trust.jks", &wrong, None).is_err());
    }

    proptest! {
        /// Whatever the bytes, a store is opened or refused: never a panic.
        #[test]
        fn damaged_stores_are_refused_never_a_panic(
            cut in 0usize..80,
            noise in proptest::collection::vec(any::<u8>(), 0..200),
            start in prop_oneof![Just(vec![0xFE, 0xED, 0xFE, 0xED]), Just(vec![0x30]), Just(vec![])],
        ) {
            let password = SecretString::from("pw".to_owned());
            let whole = truststore("pw");
            let _ = open(&whole[..cut.min(whole.len())], "cut", &password, None);
            let noisy: Vec<u8> = start.into_iter().chain(noise).collect();
            let _ = open(&noisy, "noise", &password, None);
        }
    }
}
