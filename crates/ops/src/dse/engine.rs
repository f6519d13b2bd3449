//! The engine's security options, as the package's config schema names them: its service
//! account for the service and for Spark's Mesos framework, Kerberos, TLS, the Hadoop
//! configuration URL and OIDC's client secret. Every `*_secret` and TLS password option is a
//! secret path, never a value; only `oidc.client_secret` is a value (the package takes it in
//! plain text), and [`EngineOptions::holds_plaintext_secret`] says so, for the file to be
//! written readable by its owner alone.

use dcos_iam_client::Uid;
use dcos_secrets_client::SecretPath;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

/// The service account the engine runs as, and its login secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub uid: Uid,
    pub login_secret: SecretPath,
    /// The Mesos role Spark registers with (the documentation uses the account's id).
    pub role: String,
}

/// Kerberos for HDFS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kerberos {
    pub realm: String,
    pub kdc_host: String,
    pub kdc_port: u16,
    /// The principal's first component (`jupyter` by default).
    pub primary: String,
    /// The binary secret holding the keytab.
    pub keytab_secret: SecretPath,
}

/// TLS: the stores as binary secrets, their passwords as text secrets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tls {
    pub keystore_secret: SecretPath,
    pub keystore_password_secret: SecretPath,
    /// The key's own password, when it differs from the store's.
    pub key_password_secret: Option<SecretPath>,
    /// A truststore and its password's secret.
    pub truststore: Option<(SecretPath, SecretPath)>,
    pub ca_bundle_secret: Option<SecretPath>,
}

/// The security options of one engine.
#[derive(Debug, Clone, Default)]
pub struct EngineOptions {
    pub account: Option<Account>,
    pub kerberos: Option<Kerberos>,
    pub tls: Option<Tls>,
    /// `service.jupyter_conf_urls`: where the Hadoop configuration is served.
    pub hadoop_conf_url: Option<String>,
    /// `oidc.client_secret`, a value the package takes in plain text.
    pub oidc_client_secret: Option<SecretString>,
}

impl EngineOptions {
    /// Whether the options hold a secret value (OIDC's client secret): their file must be
    /// readable by its owner alone.
    pub fn holds_plaintext_secret(&self) -> bool {
        self.oidc_client_secret.is_some()
    }

    /// The options, only the keys set. Every published package version (1.0.1 to 2.1.0) has
    /// each of these keys; the TLS stores' sandbox paths of 2.x keep their defaults.
    pub fn to_json(&self) -> Value {
        let mut options = json!({});
        if let Some(account) = &self.account {
            let (uid, secret) = (account.uid.as_str(), account.login_secret.as_str());
            super::merge(
                &mut options,
                &json!({
                    "service": {"service_account": uid, "service_account_secret": secret},
                    "spark": {
                        "spark_mesos_principal": uid,
                        "spark_mesos_secret": secret,
                        "spark_mesos_role": account.role,
                    },
                }),
            );
        }
        if let Some(k) = &self.kerberos {
            let kerberos = json!({
                "enabled": true,
                "kdc": {"hostname": k.kdc_host, "port": k.kdc_port},
                "primary": k.primary,
                "realm": k.realm,
                "keytab_secret": k.keytab_secret.as_str(),
            });
            super::merge(&mut options, &json!({"security": {"kerberos": kerberos}}));
        }
        if let Some(t) = &self.tls {
            let mut tls = json!({
                "enabled": true,
                "keystore_secret": t.keystore_secret.as_str(),
                "keystore_password": t.keystore_password_secret.as_str(),
            });
            if let Some(key) = &t.key_password_secret {
                tls["key_password"] = json!(key.as_str());
            }
            if let Some((store, password)) = &t.truststore {
                tls["truststore_secret"] = json!(store.as_str());
                tls["truststore_password"] = json!(password.as_str());
            }
            if let Some(bundle) = &t.ca_bundle_secret {
                tls["ca_bundle_secret"] = json!(bundle.as_str());
            }
            super::merge(&mut options, &json!({"security": {"tls": tls}}));
        }
        if let Some(url) = &self.hadoop_conf_url {
            super::merge(
                &mut options,
                &json!({"service": {"jupyter_conf_urls": url}}),
            );
        }
        if let Some(secret) = &self.oidc_client_secret {
            let secret = secret.expose_secret();
            super::merge(&mut options, &json!({"oidc": {"client_secret": secret}}));
        }
        options
    }

    /// Every secret path the options name, for grants and the spaces rule.
    pub fn secret_paths(&self) -> Vec<&SecretPath> {
        let mut paths = Vec::new();
        if let Some(account) = &self.account {
            paths.push(&account.login_secret);
        }
        if let Some(k) = &self.kerberos {
            paths.push(&k.keytab_secret);
        }
        if let Some(t) = &self.tls {
            paths.push(&t.keystore_secret);
            paths.push(&t.keystore_password_secret);
            paths.extend(&t.key_password_secret);
            if let Some((store, password)) = &t.truststore {
                paths.extend([store, password]);
            }
            paths.extend(&t.ca_bundle_secret);
        }
        paths
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_what_is_set_and_never_the_oidc_secret_in_debug() {
        assert_eq!(EngineOptions::default().to_json(), json!({}));
        let options = EngineOptions {
            hadoop_conf_url: Some("http://conf/v1/endpoints".into()),
            oidc_client_secret: Some(SecretString::from("client-secret-value".to_owned())),
            ..EngineOptions::default()
        };
        assert_eq!(
            options.to_json(),
            json!({
                "service": {"jupyter_conf_urls": "http://conf/v1/endpoints"},
                "oidc": {"client_secret": "client-secret-value"},
            })
        );
        assert!(options.holds_plaintext_secret());
        assert!(options.secret_paths().is_empty());
        assert!(!format!("{options:?}").contains("client-secret-value"));
    }
}
