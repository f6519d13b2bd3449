//! Who a connection acts as: logging in and out, and the account and expiry of the token in
//! use. Each returns a typed report; none holds a token.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use dcos_iam_client::{Credentials, IamClient, Token, Uid};
use serde::Serialize;

use crate::{Cluster, Environment, Error, Result, Session, Setting, keyring};

/// The variables whose token goes before the keyring's, with what each holds.
const TOKEN_VARIABLES: [(&str, &str); 3] = [
    ("DCOS_ACS_TOKEN", "its token"),
    ("DCOS_SERVICE_ACCOUNT_CREDENTIAL", "its service account"),
    ("DCOS_SERVICE_ACCOUNT", "its service account"),
];

impl Environment {
    /// The variables set here whose token goes before the keyring's, each with what it holds
    /// (`its token`, `its service account`), in the order they are used.
    pub fn token_variables(&self) -> Vec<(&'static str, &'static str)> {
        TOKEN_VARIABLES
            .into_iter()
            .filter(|(variable, _)| self.get(variable).is_some())
            .collect()
    }
}

impl Environment {
    /// The verbosity the `dcos` CLI asks its plugins for: `DCOS_VERBOSITY` (`dcos -v` is 1,
    /// `-vv` 2), else `DCOS_LOG_LEVEL` (`info` 1, `debug` or `trace` 2); 0 without either.
    pub fn dcos_verbosity(&self) -> u8 {
        match (
            self.get("DCOS_VERBOSITY"),
            self.get("DCOS_LOG_LEVEL").as_deref(),
        ) {
            (Some(v), _) => v.trim().parse().unwrap_or(0),
            (None, Some("debug" | "trace")) => 2,
            (None, Some("info")) => 1,
            _ => 0,
        }
    }
}

/// A token's `exp` claim as RFC 3339, UTC.
pub fn expires_at(token: &Token) -> Option<String> {
    token.exp().map(|exp| {
        humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_secs(exp)).to_string()
    })
}

/// Seconds until the token expires (negative once it has).
pub fn expires_in_seconds(token: &Token) -> Option<i64> {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).ok()?.as_secs();
    token.exp().map(|exp| exp as i64 - now as i64)
}

/// Where a login's token went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SavedTo {
    /// The OS keyring, under the cluster's URL.
    Keyring,
    /// Nowhere here: the caller prints it (`--print-token`).
    Stdout,
}

/// A login.
#[derive(Debug, Serialize)]
pub struct LoginReport {
    /// The cluster URL.
    pub cluster: String,
    /// The account logged in.
    pub uid: String,
    /// Whether it logged in with a service account's key.
    pub service_account: bool,
    /// When the token expires, RFC 3339.
    pub expires_at: Option<String>,
    /// Where the token went.
    pub saved_to: SavedTo,
}

/// A logout.
#[derive(Debug, Serialize)]
pub struct LogoutReport {
    /// The cluster URL.
    pub cluster: String,
    /// Whether the keyring held a token for it.
    pub removed: bool,
    /// The source of the token that connections still find (a variable, the `dcos` CLI's
    /// token file), if any.
    pub still_logged_in_by: Option<String>,
}

/// The account of the token in use.
#[derive(Debug, Serialize)]
pub struct WhoamiReport {
    /// The cluster URL.
    pub cluster: String,
    /// The token's account.
    pub uid: String,
    /// Whether it is a service account; `None` when the account may not read its own record.
    pub service_account: Option<bool>,
    /// Where the token came from.
    pub token_source: &'static str,
    /// When the token expires, RFC 3339.
    pub expires_at: Option<String>,
    /// Seconds until then.
    pub expires_in_seconds: Option<i64>,
}

/// `Logged in to URL as UID (service account); the token is in the OS keyring until ...`.
impl std::fmt::Display for LoginReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = if self.service_account {
            " (service account)"
        } else {
            ""
        };
        write!(f, "Logged in to {} as {}{kind}", self.cluster, self.uid)?;
        if self.saved_to == SavedTo::Keyring {
            f.write_str("; the token is in the OS keyring")?;
            if let Some(at) = &self.expires_at {
                write!(f, " until {at}")?;
            }
        }
        f.write_str(".")
    }
}

/// `Logged out of URL.`, or that there was nothing to do.
impl std::fmt::Display for LogoutReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.removed {
            true => write!(f, "Logged out of {}.", self.cluster),
            false => write!(f, "No saved token for {}; nothing to do.", self.cluster),
        }
    }
}

/// `service account UID on URL` and `token from SOURCE, expires AT (in 4 days)`.
impl std::fmt::Display for WhoamiReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.service_account {
            Some(true) => "service account",
            Some(false) => "user",
            None => "account",
        };
        write!(
            f,
            "{kind} {} on {}\ntoken from {}",
            self.uid, self.cluster, self.token_source
        )?;
        if let (Some(at), Some(left)) = (&self.expires_at, self.expires_in_seconds) {
            let left = duration_words(Duration::from_secs(left.max(0) as u64));
            write!(f, ", expires {at} (in {left})")?;
        }
        Ok(())
    }
}

/// The token in use, and whether the cluster accepts it.
#[derive(Debug, Serialize)]
pub struct TokenStatus {
    /// Where it came from, and what it shadows.
    #[serde(flatten)]
    pub source: Setting,
    /// Its account.
    pub uid: Option<String>,
    /// When it expires, RFC 3339.
    pub expires_at: Option<String>,
    /// Seconds until then.
    pub expires_in_seconds: Option<i64>,
    /// Whether the cluster accepted it.
    pub accepted: bool,
}

/// Two lines of `status`: `token     from ...` and `account   UID, expires ... (in 5 days);
/// accepted by the cluster`.
impl std::fmt::Display for TokenStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "token     {}", self.source.describe())?;
        let who = self.uid.as_deref().unwrap_or("(no uid)");
        let expiry = match (&self.expires_at, self.expires_in_seconds) {
            (Some(at), Some(left)) if left > 0 => {
                let left = duration_words(Duration::from_secs(left as u64));
                format!(", expires {at} (in {left})")
            }
            (Some(at), _) => format!(", expired {at}"),
            _ => String::new(),
        };
        let accepted = if self.accepted {
            "accepted"
        } else {
            "NOT accepted"
        };
        write!(f, "account   {who}{expiry}; {accepted} by the cluster")
    }
}

/// A duration for people, in its two largest units: `5 days 3 hours`, `1 minute`.
pub fn duration_words(duration: Duration) -> String {
    const UNITS: [(u64, &str); 4] = [
        (86_400, "day"),
        (3_600, "hour"),
        (60, "minute"),
        (1, "second"),
    ];
    let mut left = duration.as_secs();
    let mut parts = Vec::new();
    for (size, unit) in UNITS {
        let n = left / size;
        if n > 0 && parts.len() < 2 {
            parts.push(format!("{n} {unit}{}", if n == 1 { "" } else { "s" }));
            left -= n * size;
        } else if !parts.is_empty() {
            // Two adjacent units at most: `1 day 3 hours`, never `1 day 5 seconds`.
            break;
        }
    }
    match parts.is_empty() {
        true => "0 seconds".to_owned(),
        false => parts.join(" "),
    }
}

impl Cluster {
    /// Logs in with `credentials`; with `save`, the token is kept in the OS keyring under the
    /// cluster's URL. The token comes back for a caller that prints it.
    pub async fn log_in(
        &self,
        credentials: &Credentials,
        save: bool,
    ) -> Result<(LoginReport, Token)> {
        self.check_http()?;
        let token = dcos_iam_client::login(&self.transport()?, credentials)
            .await
            .map_err(Error::api(format!("login as `{}`", credentials.uid())))?;
        if save {
            keyring::save(&self.url, token.secret())?;
        }
        let report = LoginReport {
            cluster: self.url.clone(),
            uid: credentials.uid().to_string(),
            service_account: matches!(credentials, Credentials::ServiceAccount { .. }),
            expires_at: expires_at(&token),
            saved_to: if save {
                SavedTo::Keyring
            } else {
                SavedTo::Stdout
            },
        };
        Ok((report, token))
    }

    /// Removes the keyring's token for this cluster, and says which source connections would
    /// still take a token from.
    pub fn log_out(&self, environment: &Environment) -> Result<LogoutReport> {
        let removed = keyring::delete(&self.url)?;
        let still = match (environment.token_variables().first(), self.dcos_cli_token()) {
            (Some((variable, _)), _) => Some((*variable).to_owned()),
            (None, Some(file)) => Some(format!("the dcos CLI's token in {}", file.display())),
            (None, None) => None,
        };
        Ok(LogoutReport {
            cluster: self.url.clone(),
            removed,
            still_logged_in_by: still,
        })
    }
}

/// The token's account, from its `uid` claim.
fn account(token: &Token) -> Result<Uid> {
    token
        .uid()
        .and_then(|uid| Uid::new(uid).ok())
        .ok_or(Error::NoUid)
}

impl Session {
    /// Who the token acts as. Reading one's own record needs IAM permission; one's own
    /// permissions are always readable, which also proves that the token is accepted.
    pub async fn whoami(&self) -> Result<WhoamiReport> {
        let token = self.token().await?;
        let uid = account(&token)?;
        let iam = IamClient::new(self.transport.clone());
        let service_account = match iam.user(&uid).get().await {
            Ok(user) => Some(user.is_service),
            Err(e) if e.is_forbidden() => {
                iam.user(&uid)
                    .permissions()
                    .await
                    .map_err(Error::api("the token"))?;
                None
            }
            Err(e) => return Err(Error::api(format!("read account `{uid}`"))(e)),
        };
        Ok(WhoamiReport {
            cluster: self.url.clone(),
            uid: uid.to_string(),
            service_account,
            token_source: self.origin.as_str(),
            expires_at: expires_at(&token),
            expires_in_seconds: expires_in_seconds(&token),
        })
    }

    /// The token's source, account and expiry, and whether the cluster accepts it; the error
    /// says why not.
    pub async fn token_status(&self) -> (TokenStatus, Option<Error>) {
        let mut status = TokenStatus {
            source: self.token_source.clone(),
            uid: None,
            expires_at: None,
            expires_in_seconds: None,
            accepted: false,
        };
        let token = match self.token().await {
            Ok(token) => token,
            Err(error) => return (status, Some(error)),
        };
        status.uid = token.uid().map(str::to_owned);
        status.expires_at = expires_at(&token);
        status.expires_in_seconds = expires_in_seconds(&token);
        let uid = match account(&token) {
            Ok(uid) => uid,
            Err(error) => return (status, Some(error)),
        };
        let iam = IamClient::new(self.transport.clone());
        match iam.user(&uid).permissions().await {
            Ok(_) => {
                status.accepted = true;
                (status, None)
            }
            Err(e) => (status, Some(Error::api("the token")(e))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dcos_cli_s_verbosity_is_read_as_its_plugins_read_it() {
        let env = |pairs: &[(&str, &str)]| {
            let env = pairs
                .iter()
                .fold(Environment::empty(), |e, (k, v)| e.var(k, *v));
            env.dcos_verbosity()
        };
        assert_eq!(env(&[]), 0);
        assert_eq!(env(&[("DCOS_VERBOSITY", "2")]), 2);
        assert_eq!(env(&[("DCOS_LOG_LEVEL", "debug")]), 2);
        assert_eq!(env(&[("DCOS_LOG_LEVEL", "info")]), 1);
        assert_eq!(
            env(&[("DCOS_VERBOSITY", "1"), ("DCOS_LOG_LEVEL", "debug")]),
            1
        );
    }

    #[test]
    fn durations_read_as_english_in_two_adjacent_units() {
        let words = |s| duration_words(Duration::from_secs(s));
        assert_eq!(words(0), "0 seconds");
        assert_eq!(words(1), "1 second");
        assert_eq!(words(61), "1 minute 1 second");
        assert_eq!(words(5 * 86_400), "5 days");
        assert_eq!(words(5 * 86_400 + 3 * 3_600 + 7), "5 days 3 hours");
        assert_eq!(words(86_400 + 5), "1 day");
    }
}
