//! `login`, `logout` and `whoami`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use dcos_iam_client::{Credentials, Token, Uid};
use secrecy::ExposeSecret;

use crate::args::{Global, LoginArgs};
use crate::connect;
use crate::exit::{self, Context, Failure};
use crate::input;
use crate::output::{LoginReport, LogoutReport, Ui, WhoamiReport, write_stdout};
use dcos_connect::keyring;

/// An expiry time as RFC 3339, UTC.
pub(crate) fn expiry(token: &Token) -> Option<String> {
    token.exp().map(|exp| {
        humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_secs(exp)).to_string()
    })
}

pub(crate) fn seconds_left(token: &Token) -> Option<i64> {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).ok()?.as_secs();
    token.exp().map(|exp| exp as i64 - now as i64)
}

pub async fn login(global: &Global, ui: &Ui, args: &LoginArgs) -> exit::Result<()> {
    let cluster = connect::resolve(global, ui).await?;
    cluster.check_http()?;
    let (credentials, service_account) = match (&args.username, &args.service_account) {
        (Some(uid), _) => {
            let uid = Uid::new(uid).context("--username")?;
            let password = input::password(args.password_stdin, uid.as_str())?;
            (Credentials::password(uid, password), false)
        }
        (None, Some(uid)) => {
            let uid = Uid::new(uid).context("--service-account")?;
            let file = args
                .private_key
                .as_deref()
                .ok_or_else(|| Failure::usage("--service-account needs --private-key"))?;
            let key = input::private_key(file).context("--private-key")?;
            (
                Credentials::service_account(uid, key).context("--private-key")?,
                true,
            )
        }
        (None, None) => return Err(Failure::usage("pass --username or --service-account")),
    };
    let transport = cluster.transport()?;
    let token = dcos_iam_client::login(&transport, &credentials)
        .await
        .map_err(|e| Failure::from(e).context(format!("login as `{}`", credentials.uid())))?;
    let saved_to = if args.print_token {
        if !ui.json() {
            write_stdout(format!("{}\n", token.secret().expose_secret()).as_bytes())?;
        }
        "stdout"
    } else {
        // A token in the environment goes before the keyring: say that this login is not the
        // one the next commands will use.
        for (variable, source) in shadowing_variables() {
            ui.warn(format!(
                "{variable} is set, and {source} goes before this login: unset it \
                 (`unset {variable}`) for the next commands to act as {}",
                credentials.uid()
            ));
        }
        keyring::save(&cluster.url, token.secret())?;
        "keyring"
    };
    let report = LoginReport {
        cluster: cluster.url.clone(),
        uid: credentials.uid().to_string(),
        service_account,
        expires_at: expiry(&token),
        saved_to,
    };
    if args.print_token {
        ui.info(format!("logged in to {} as {}", report.cluster, report.uid));
        if !ui.json() {
            // Standard output holds the token alone, ready for `export DCOS_ACS_TOKEN=$(...)`.
            return Ok(());
        }
        // Under -o json: the report with the token, which is what was asked for.
        let mut doc = serde_json::to_value(&report)
            .map_err(|e| Failure::new(exit::FAILURE, format!("cannot render JSON: {e}")))?;
        if let Some(fields) = doc.as_object_mut() {
            let token = token.secret().expose_secret().to_owned();
            fields.insert("token".into(), serde_json::Value::String(token));
        }
        return ui.emit(&doc, String::new);
    }
    ui.emit(&report, || {
        format!(
            "Logged in to {} as {}{}; the token is in the OS keyring{}.",
            report.cluster,
            report.uid,
            if service_account {
                " (service account)"
            } else {
                ""
            },
            report
                .expires_at
                .as_deref()
                .map(|e| format!(" until {e}"))
                .unwrap_or_default()
        )
    })
}

/// The variables set in this environment whose token goes before the keyring's.
fn shadowing_variables() -> Vec<(&'static str, &'static str)> {
    [
        ("DCOS_ACS_TOKEN", "its token"),
        ("DCOS_SERVICE_ACCOUNT_CREDENTIAL", "its service account"),
        ("DCOS_SERVICE_ACCOUNT", "its service account"),
    ]
    .into_iter()
    .filter(|(variable, _)| std::env::var(variable).is_ok_and(|v| !v.is_empty()))
    .collect()
}

pub async fn logout(global: &Global, ui: &Ui) -> exit::Result<()> {
    let cluster = connect::resolve(global, ui).await?;
    let removed = keyring::delete(&cluster.url)?;
    // What the next command would use, now that the keyring's token is gone.
    let still = match (shadowing_variables().first(), cluster.dcos_cli_token()) {
        (Some((variable, _)), _) => Some(variable.to_string()),
        (None, Some(file)) => Some(format!("the dcos CLI's token in {}", file.display())),
        (None, None) => None,
    };
    let report = LogoutReport {
        cluster: cluster.url,
        removed,
        still_logged_in_by: still,
    };
    if let Some(source) = &report.still_logged_in_by {
        let how = if source.starts_with("DCOS_") {
            format!("unset {source}")
        } else {
            "`dcos auth logout` removes it".to_owned()
        };
        ui.warn(format!(
            "commands still find a token for {}: {source} ({how})",
            report.cluster
        ));
    }
    ui.emit(&report, || {
        if report.removed {
            format!("Logged out of {}.", report.cluster)
        } else {
            format!("No saved token for {}; nothing to do.", report.cluster)
        }
    })
}

pub async fn whoami(global: &Global, ui: &Ui) -> exit::Result<()> {
    let cluster = connect::resolve(global, ui).await?;
    let session = connect::session(&cluster, false).await?;
    let token = session.token().await?;
    let uid = token.uid().map(str::to_owned).ok_or_else(|| {
        Failure::new(
            exit::AUTH,
            "the token carries no `uid` claim; it is not a DC/OS token",
        )
    })?;
    let uid = Uid::new(&uid).context("the token's uid")?;
    // Reading one's own record needs IAM permission; one's own permissions are always
    // readable, which also proves the token is accepted.
    let service_account = match session.clients.iam.user(&uid).get().await {
        Ok(user) => Some(user.is_service),
        Err(e) if e.is_forbidden() => {
            session.clients.iam.user(&uid).permissions().await?;
            None
        }
        Err(e) => return Err(e.into()),
    };
    let report = WhoamiReport {
        cluster: session.url.clone(),
        uid: uid.to_string(),
        service_account,
        token_source: session.origin.as_str(),
        expires_at: expiry(&token),
        expires_in_seconds: seconds_left(&token),
    };
    ui.emit(&report, || {
        let kind = match report.service_account {
            Some(true) => "service account",
            Some(false) => "user",
            None => "account",
        };
        let mut text = format!(
            "{kind} {} on {}\ntoken from {}",
            report.uid, report.cluster, report.token_source
        );
        if let (Some(at), Some(left)) = (&report.expires_at, report.expires_in_seconds) {
            let left = crate::output::duration_words(Duration::from_secs(left.max(0) as u64));
            text.push_str(&format!(", expires {at} (in {left})"));
        }
        text
    })
}
