//! Service accounts: a key pair, the account, and its login secret (the JSON services mount as
//! `service-account.json`), made together or not at all.

use std::path::PathBuf;

use dcos_iam_client::{KeyPair, KeySize, ServiceAccountSecret, Uid};
use dcos_secrets_client::{SecretPath, SecretValue};
use secrecy::ExposeSecret;
use serde::Serialize;

use crate::Clients;
use crate::error::{Context, Error, Remedy, Result, Undo};
use crate::files;
use crate::journal::{Change, undo_all};
use crate::reporter::{Reporter, Warning};

/// The login secret of `uid` with `pair`: the JSON services mount.
pub fn login_secret_value(uid: &Uid, pair: &KeyPair, endpoint: &str) -> SecretValue {
    let json = ServiceAccountSecret::new(uid.clone(), pair.private_key_pem.clone())
        .with_login_endpoint(endpoint.to_owned())
        .to_json();
    SecretValue::text(json.expose_secret())
}

/// Where a login secret goes, and the login endpoint it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginSecret {
    pub path: SecretPath,
    pub endpoint: String,
}

/// Creates the service account with `keys`' public key and, with `login`, stores its login
/// secret. If the secret cannot be stored, the account is deleted again; the error says what
/// was undone.
pub async fn register(
    clients: &Clients,
    uid: &Uid,
    description: &str,
    keys: &KeyPair,
    login: Option<&LoginSecret>,
) -> Result<()> {
    clients
        .iam
        .user(uid)
        .create_service_account(description, &keys.public_key_pem)
        .await
        .context(format!("create the account `{uid}`"))?;
    let Some(login) = login else {
        return Ok(());
    };
    let value = login_secret_value(uid, keys, &login.endpoint);
    if let Err(e) = clients.secrets.secret(&login.path).create(&value).await {
        let failure = Error::from(e).context(format!("store the login secret `{}`", login.path));
        let account = [Change::Account { uid: uid.clone() }];
        return Err(failure.with_undo(undone(undo_all(clients, &account).await, "the account")));
    }
    Ok(())
}

/// An [`Undo`] from the result of undoing `what`.
fn undone(result: Result<Option<String>>, what: &str) -> Undo {
    match result {
        Ok(done) => Undo {
            undone: done.into_iter().collect(),
            left: Vec::new(),
        },
        Err(e) => Undo {
            undone: Vec::new(),
            left: vec![format!("{what} ({e})")],
        },
    }
}

/// A service account to create, with the files for its keys.
#[derive(Debug, Clone)]
pub struct NewAccount {
    pub uid: Uid,
    /// The private key's file: created with mode 0600, never overwritten.
    pub private_key_out: PathBuf,
    /// Also write the public key here.
    pub public_key_out: Option<PathBuf>,
    pub description: Option<String>,
    /// Also store the login secret.
    pub login: Option<LoginSecret>,
    pub key_size: KeySize,
}

/// What `create` made.
#[derive(Debug, Clone, Serialize)]
pub struct AccountReport {
    pub uid: String,
    pub private_key_file: String,
    pub public_key_file: Option<String>,
    /// Where the login secret was stored.
    pub secret: Option<String>,
    pub login_endpoint: Option<String>,
}

/// Generates a key pair, writes the key files, creates the account and stores its login
/// secret. Everything that can be checked is checked first (the files do not exist, the
/// account and the login secret neither); a failure removes the files and the account again.
pub async fn create(
    clients: &Clients,
    account: &NewAccount,
    reporter: &dyn Reporter,
) -> Result<AccountReport> {
    let uid = &account.uid;
    if let Some(login) = &account.login {
        let endpoint = url::Url::parse(&login.endpoint).map_err(|e| {
            Error::invalid(format!(
                "the login endpoint `{}` is not a URL: {e}",
                login.endpoint
            ))
        })?;
        if endpoint.scheme() != "https" {
            reporter.warn(&Warning::LoginEndpointNotHttps);
        }
    }
    files::ensure_absent(&account.private_key_out)?;
    if let Some(public) = &account.public_key_out {
        files::ensure_absent(public)?;
    }
    // The key is made while the cluster is asked whether the account or its secret exist.
    let size = account.key_size;
    let keys = tokio::task::spawn_blocking(move || KeyPair::generate(size));
    let login_path = account.login.as_ref().map(|l| &l.path);
    let user = clients.iam.user(uid);
    let (existing, secret) = tokio::join!(user.get_opt(), async {
        match login_path {
            Some(path) => clients.secret_value(path).await.map(|v| v.is_some()),
            None => Ok(false),
        }
    });
    if existing?.is_some() {
        return Err(
            Error::conflict(format!("the account `{uid}` already exists"))
                .with_remedy(Remedy::AccountExists),
        );
    }
    if let (true, Some(path)) = (secret?, login_path) {
        return Err(
            Error::conflict(format!("the secret `{path}` already exists"))
                .with_remedy(Remedy::LoginSecretExists),
        );
    }
    let keys = keys
        .await
        .map_err(|e| Error::failed(format!("key generation stopped: {e}")))??;
    if reporter.stop_requested() {
        return Err(Error::interrupted());
    }
    let mut written = Vec::new();
    let files = [
        (
            Some(&account.private_key_out),
            keys.private_key_pem.expose_secret().as_bytes(),
            true,
        ),
        (
            account.public_key_out.as_ref(),
            keys.public_key_pem.as_bytes(),
            false,
        ),
    ];
    for (path, bytes, private) in files {
        let Some(path) = path else { continue };
        if let Err(e) = files::write_new(path, bytes, private) {
            if written.is_empty() {
                return Err(e);
            }
            return Err(e.with_undo(undone(undo_all(clients, &written).await, "the key files")));
        }
        written.push(Change::File { path: path.clone() });
    }

    let description = account
        .description
        .clone()
        .unwrap_or_else(|| format!("Service account {uid}, created by dcos-creds"));
    if let Err(e) = register(clients, uid, &description, &keys, account.login.as_ref()).await {
        let mut undo = e.undo().cloned().unwrap_or_default();
        let files = undone(undo_all(clients, &written).await, "the key files");
        undo.undone.extend(files.undone);
        undo.left.extend(files.left);
        return Err(e.with_undo(undo));
    }
    Ok(AccountReport {
        uid: uid.to_string(),
        private_key_file: account.private_key_out.display().to_string(),
        public_key_file: account
            .public_key_out
            .as_ref()
            .map(|p| p.display().to_string()),
        secret: account.login.as_ref().map(|l| l.path.to_string()),
        login_endpoint: account.login.as_ref().map(|l| l.endpoint.clone()),
    })
}
