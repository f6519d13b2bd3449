//! `service-account create`.

use std::path::Path;

use dcos_iam_client::{KeyPair, KeySize, ServiceAccountSecret, Uid};
use dcos_secrets_client::{SecretPath, SecretValue};
use secrecy::ExposeSecret;

use crate::args::{KeyBits, ServiceAccountCreateArgs};
use crate::connect::Session;
use crate::exit::{self, Context, Failure};
use crate::input;
use crate::output::{ServiceAccountReport, Ui};

/// Files this run wrote, removed again if a later step fails.
#[derive(Debug, Default)]
struct Written(Vec<std::path::PathBuf>);

impl Written {
    fn write(&mut self, path: &Path, bytes: &[u8], private: bool) -> exit::Result<()> {
        input::write_new(path, bytes, private)?;
        self.0.push(path.to_owned());
        Ok(())
    }

    fn undo(&self) -> Vec<String> {
        self.0
            .iter()
            .filter(|p| std::fs::remove_file(p).is_ok())
            .map(|p| format!("removed {}", p.display()))
            .collect()
    }
}

fn undone(failure: Failure, undone: Vec<String>) -> Failure {
    if undone.is_empty() {
        failure
    } else {
        let message = format!("{}; undone: {}", failure.message, undone.join(", "));
        Failure { message, ..failure }
    }
}

/// Creates the service account with `keys`' public key and, with `login`, stores its login
/// secret (the JSON services mount) at that path with that login endpoint. If the secret cannot
/// be stored, the account is deleted again; the error comes with what was undone.
pub async fn register(
    session: &Session,
    uid: &Uid,
    description: &str,
    keys: &KeyPair,
    login: Option<(&SecretPath, &str)>,
) -> Result<(), (Failure, Vec<String>)> {
    if let Err(e) = session
        .iam
        .user(uid)
        .create_service_account(description, &keys.public_key_pem)
        .await
    {
        return Err((
            Failure::from(e).context(format!("create the account `{uid}`")),
            Vec::new(),
        ));
    }
    let Some((path, endpoint)) = login else {
        return Ok(());
    };
    let json = ServiceAccountSecret::new(uid.clone(), keys.private_key_pem.clone())
        .with_login_endpoint(endpoint.to_owned())
        .to_json();
    let value = SecretValue::text(json.expose_secret());
    if let Err(e) = session.secrets.secret(path).create(&value).await {
        let failure = Failure::from(e).context(format!("store the login secret `{path}`"));
        let undo = match session.iam.user(uid).delete().await {
            Ok(()) => format!("deleted the account {uid}"),
            Err(d) => format!("could not delete the account {uid} ({d})"),
        };
        return Err((failure, vec![undo]));
    }
    Ok(())
}

pub async fn create(
    session: &Session,
    ui: &Ui,
    args: &ServiceAccountCreateArgs,
) -> exit::Result<()> {
    // Everything that can be checked locally, before the cluster is asked anything.
    let uid = Uid::new(&args.uid).context("the service account id")?;
    let secret = args
        .secret
        .as_deref()
        .map(SecretPath::new)
        .transpose()
        .context("--secret")?;
    if secret.is_some() {
        let endpoint = url::Url::parse(&args.login_endpoint).map_err(|e| {
            Failure::usage(format!(
                "--login-endpoint `{}` is not a URL: {e}",
                args.login_endpoint
            ))
        })?;
        if endpoint.scheme() != "https" {
            ui.warn("the login endpoint is not https://; clusters in strict mode refuse it");
        }
    }
    input::ensure_absent(&args.private_key_out)?;
    if let Some(public) = &args.public_key_out {
        input::ensure_absent(public)?;
    }

    // What exists on the cluster.
    if session.iam.user(&uid).get_opt().await?.is_some() {
        return Err(Failure::new(
            exit::CONFLICT,
            format!("the account `{uid}` already exists"),
        )
        .hint("choose another id, or delete the old account first"));
    }
    if let Some(path) = &secret
        && session.secrets.secret(path).get_opt().await?.is_some()
    {
        return Err(Failure::new(
            exit::CONFLICT,
            format!("the secret `{path}` already exists"),
        )
        .hint("choose another --secret path; an existing login secret is never replaced"));
    }

    let size = match args.key_size {
        KeyBits::Rsa2048 => KeySize::Rsa2048,
        KeyBits::Rsa4096 => KeySize::Rsa4096,
    };
    let keys = KeyPair::generate(size)?;
    let mut written = Written::default();
    written.write(
        &args.private_key_out,
        keys.private_key_pem.expose_secret().as_bytes(),
        true,
    )?;
    if let Some(public) = &args.public_key_out
        && let Err(e) = written.write(public, keys.public_key_pem.as_bytes(), false)
    {
        return Err(undone(e, written.undo()));
    }

    let description = args
        .description
        .clone()
        .unwrap_or_else(|| format!("Service account {uid}, created by dcos-creds"));
    let login = secret
        .as_ref()
        .map(|path| (path, args.login_endpoint.as_str()));
    if let Err((failure, mut undo)) = register(session, &uid, &description, &keys, login).await {
        undo.extend(written.undo());
        return Err(undone(failure, undo));
    }

    let report = ServiceAccountReport {
        uid: uid.to_string(),
        private_key_file: args.private_key_out.display().to_string(),
        public_key_file: args
            .public_key_out
            .as_ref()
            .map(|p| p.display().to_string()),
        secret: secret.as_ref().map(|p| p.to_string()),
        login_endpoint: secret.as_ref().map(|_| args.login_endpoint.clone()),
    };
    ui.emit(&report, || {
        let mut text = format!(
            "created service account {}\nprivate key: {} (mode 0600)",
            report.uid, report.private_key_file
        );
        if let Some(public) = &report.public_key_file {
            text.push_str(&format!("\npublic key: {public}"));
        }
        if let Some(path) = &report.secret {
            text.push_str(&format!("\nlogin secret: {path}"));
        }
        text
    })
}
