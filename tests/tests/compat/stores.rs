//! The JDK's keytool and our store reader agree: JKS and PKCS#12 stores keytool makes open with
//! their passwords, and a wrong store or key password, a truststore given as a keystore, or a
//! file that is no store is refused. Needs the JDK's `keytool` (Debian: default-jdk-headless,
//! installed by the test where it may).

use std::path::Path;
use std::process::Command;

use dcos_ops::ErrorKind;
use dcos_ops::dse::stores::{self, StoreKind};
use secrecy::SecretString;

/// The path of the JDK's `keytool` (Debian: default-jdk-headless).
fn keytool() -> String {
    crate::debian_tool("keytool", "default-jdk-headless", "the store cross-check")
}

fn run_keytool(dir: &Path, args: &[&str]) {
    let out = Command::new(keytool())
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "keytool {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A key pair in `file` of `kind` (`JKS` or `PKCS12`).
fn keystore(dir: &Path, file: &str, kind: &str, store: &str, key: &str) {
    run_keytool(
        dir,
        &[
            "-genkeypair",
            "-alias",
            "engine",
            "-keyalg",
            "RSA",
            "-keysize",
            "2048",
            "-dname",
            "CN=engine",
            "-validity",
            "30",
            "-storetype",
            kind,
            "-keystore",
            file,
            "-storepass",
            store,
            "-keypass",
            key,
        ],
    );
}

fn secret(text: &str) -> SecretString {
    SecretString::from(text.to_owned())
}

fn open(dir: &Path, file: &str, store: &str, key: Option<&str>) -> dcos_ops::Result<stores::Store> {
    let bytes = std::fs::read(dir.join(file)).unwrap();
    let key = key.map(secret);
    stores::open(&bytes, file, &secret(store), key.as_ref())
}

#[test]
fn jks_stores_open_with_their_passwords_and_only_with_them() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    keystore(dir, "keystore.jks", "JKS", "store-pass", "key-pass");
    let store = open(dir, "keystore.jks", "store-pass", Some("key-pass")).unwrap();
    assert_eq!(store.kind, StoreKind::Jks);
    assert_eq!(store.private_keys, ["engine"]);
    store.require_private_key("keystore.jks").unwrap();

    let wrong = open(dir, "keystore.jks", "wrong-pass", Some("key-pass")).unwrap_err();
    assert_eq!(wrong.kind(), ErrorKind::Invalid);
    assert!(
        wrong.to_string().contains("password does not open"),
        "{wrong}"
    );
    assert!(!wrong.to_string().contains("wrong-pass"), "{wrong}");
    let key = open(dir, "keystore.jks", "store-pass", Some("store-pass")).unwrap_err();
    assert!(
        key.to_string()
            .contains("key password does not open the private key `engine`"),
        "{key}"
    );

    // A truststore: the certificate alone.
    run_keytool(
        dir,
        &[
            "-exportcert",
            "-alias",
            "engine",
            "-keystore",
            "keystore.jks",
            "-storepass",
            "store-pass",
            "-file",
            "engine.crt",
        ],
    );
    run_keytool(
        dir,
        &[
            "-importcert",
            "-noprompt",
            "-alias",
            "ca",
            "-file",
            "engine.crt",
            "-storetype",
            "JKS",
            "-keystore",
            "truststore.jks",
            "-storepass",
            "trust-pass",
        ],
    );
    let trust = open(dir, "truststore.jks", "trust-pass", None).unwrap();
    assert_eq!((trust.private_keys.len(), trust.certificates), (0, 1));
    let no_key = trust.require_private_key("truststore.jks").unwrap_err();
    assert!(
        no_key.to_string().contains("holds no private key"),
        "{no_key}"
    );
}

#[test]
fn pkcs12_stores_open_with_their_password_and_only_with_it() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    keystore(dir, "keystore.p12", "PKCS12", "p12-pass", "p12-pass");
    let store = open(dir, "keystore.p12", "p12-pass", None).unwrap();
    assert_eq!(store.kind, StoreKind::Pkcs12);
    assert_eq!(store.private_keys.len(), 1);
    let wrong = open(dir, "keystore.p12", "not-it", None).unwrap_err();
    assert!(
        wrong.to_string().contains("password does not open"),
        "{wrong}"
    );
    // Anything else is no store at all.
    std::fs::write(dir.join("notes.txt"), "not a store").unwrap();
    let other = open(dir, "notes.txt", "p12-pass", None).unwrap_err();
    assert!(
        other.to_string().contains("neither a JKS nor a PKCS#12"),
        "{other}"
    );
}
