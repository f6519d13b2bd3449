//! Tokens saved by a login, in the OS keyring: one entry per cluster URL.
//!
//! On Linux the store is the kernel's keyutils (no desktop session needed). In a login session
//! (which has its own session keyring) the keyring crate keeps the key there and links it into
//! the user's persistent keyring, so that it outlives the session. A process started outside a
//! login session (cron, CI runners, containers) has no session keyring of its own; asking for
//! the persistent keyring would give it a throwaway one that dies with the process, so there
//! the key goes to the user-session keyring that all such processes of the user share.
//! Nothing is ever written to a plain file.

use keyring::Entry;
use secrecy::{ExposeSecret, SecretString};

use crate::error::{Error, Result};

/// The keyring service name of every entry.
const SERVICE: &str = "dcos-creds";

/// The entry for `url`.
fn entry(url: &str) -> Result<Entry, keyring::Error> {
    #[cfg(target_os = "linux")]
    if let Some(entry) = user_session_entry(url) {
        return Ok(entry);
    }
    Entry::new(SERVICE, url)
}

/// For a process without a session keyring of its own: an entry in the user-session keyring.
#[cfg(target_os = "linux")]
fn user_session_entry(url: &str) -> Option<Entry> {
    use keyring::keyutils::KeyutilsCredential;
    use linux_keyutils::{KeyRing, KeyRingIdentifier};
    let session = KeyRing::from_special_id(KeyRingIdentifier::Session, false).ok()?;
    let user_session = KeyRing::from_special_id(KeyRingIdentifier::UserSession, false).ok()?;
    if session != user_session {
        return None;
    }
    tracing::debug!("no session keyring of our own: using the user-session keyring");
    let credential = KeyutilsCredential {
        session: user_session,
        persistent: None,
        // The description the keyring crate itself would use.
        description: format!("keyring-rs:{url}@{SERVICE}"),
    };
    Some(Entry::new_with_credential(Box::new(credential)))
}

fn unavailable(error: impl std::fmt::Display) -> Error {
    Error::Keyring(error.to_string())
}

/// Saves `token` for `url`, and reads it back: some stores accept a write they cannot serve.
pub fn save(url: &str, token: &SecretString) -> Result<()> {
    let entry = entry(url).map_err(unavailable)?;
    entry
        .set_password(token.expose_secret())
        .map_err(unavailable)?;
    match entry.get_password() {
        Ok(saved) if saved == token.expose_secret() => Ok(()),
        _ => Err(unavailable("the saved token could not be read back")),
    }
}

/// The token saved for `url`, if any. A keyring that cannot be read counts as empty.
pub fn load(url: &str) -> Option<SecretString> {
    match entry(url).and_then(|entry| entry.get_password()) {
        Ok(token) if !token.is_empty() => Some(SecretString::from(token)),
        Ok(_) | Err(keyring::Error::NoEntry) => None,
        Err(e) => {
            tracing::debug!("keyring: {e}");
            None
        }
    }
}

/// Removes the token saved for `url`; `false` when there was none.
pub fn delete(url: &str) -> Result<bool> {
    match entry(url).and_then(|entry| entry.delete_credential()) {
        Ok(()) => Ok(true),
        Err(keyring::Error::NoEntry) => Ok(false),
        Err(e) => Err(unavailable(e)),
    }
}
