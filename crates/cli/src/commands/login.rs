//! `login`, `logout` and `whoami`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use dcos_iam_client::{Credentials, Token, Uid};
use secrecy::ExposeSecret;

use crate::args::{Global, LoginArgs};
use crate::connect::Cluster;
use crate::exit::{self, Context, Failure};
use crate::output::{LoginReport, LogoutReport, Ui, WhoamiReport, write_stdout};
use crate::{input, keyring_store};

/// An expiry time as RFC 3339, UTC.
fn expiry(token: &Token) -> Option<String> {
    token.exp().map(|exp| {
        humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_secs(exp)).to_string()
    })
}

fn seconds_left(token: &Token) -> Option<i64> {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).ok()?.as_secs();
    token.exp().map(|exp| exp as i64 - now as i64)
}

pub async fn login(global: &Global, ui: &Ui, args: &LoginArgs) -> exit::Result<()> {
    let cluster = Cluster::resolve(global, ui).await?;
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
        write_stdout(format!("{}\n", token.secret().expose_secret()).as_bytes())?;
        "stdout"
    } else {
        keyring_store::save(&cluster.url, token.secret())?;
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
        // Standard output holds the token alone, ready for `export DCOS_ACS_TOKEN=$(...)`.
        ui.info(format!("logged in to {} as {}", report.cluster, report.uid));
        return Ok(());
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

pub async fn logout(global: &Global, ui: &Ui) -> exit::Result<()> {
    let cluster = Cluster::resolve(global, ui).await?;
    let removed = keyring_store::delete(&cluster.url)?;
    let report = LogoutReport {
        cluster: cluster.url,
        removed,
    };
    ui.emit(&report, || {
        if report.removed {
            format!("Logged out of {}.", report.cluster)
        } else {
            format!("No saved token for {}; nothing to do.", report.cluster)
        }
    })
}

pub async fn whoami(global: &Global, ui: &Ui) -> exit::Result<()> {
    let cluster = Cluster::resolve(global, ui).await?;
    let session = cluster.session().await?;
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
            let left = humantime::format_duration(Duration::from_secs(left.max(0) as u64));
            text.push_str(&format!(", expires {at} (in {left})"));
        }
        text
    })
}
