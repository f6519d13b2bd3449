//! Marathon, read only: which apps use which secrets, so that a plan can say what a change
//! touches. Marathon may be out of reach (not installed, or no permission for this account):
//! then the plan says that it could not tell.

use std::collections::BTreeMap;

use dcos_secrets_client::SecretPath;
use dcos_transport::Request;
use serde::Deserialize;

use crate::Clients;

/// The apps of the cluster, as far as this tool reads them.
#[derive(Debug, Deserialize)]
struct Apps {
    apps: Vec<App>,
}

#[derive(Debug, Deserialize)]
struct App {
    id: String,
    /// `{NAME: {"source": PATH}}`.
    #[serde(default)]
    secrets: BTreeMap<String, Source>,
}

#[derive(Debug, Deserialize)]
struct Source {
    source: Option<String>,
}

/// Which apps use each secret, or why that could not be known.
#[derive(Debug)]
pub(crate) enum Users {
    /// By path: the ids of the apps that declare the secret.
    Known(BTreeMap<String, Vec<String>>),
    /// Why Marathon could not be read.
    Unknown(String),
}

impl Users {
    /// The apps that use `path` (none when unknown).
    pub fn of(&self, path: &SecretPath) -> &[String] {
        match self {
            Users::Known(users) => users.get(path.as_str()).map_or(&[], Vec::as_slice),
            Users::Unknown(_) => &[],
        }
    }
}

/// Reads Marathon's apps and finds those that declare any of `paths`.
pub(crate) async fn users(clients: &Clients, paths: &[&SecretPath]) -> Users {
    let request = Request::get("/service/marathon/v2/apps");
    let answer = match clients.iam.transport().send(request).await {
        Ok(answer) => answer,
        Err(e) if e.is_not_found() => return Users::Unknown("Marathon does not answer".into()),
        Err(e) if e.is_forbidden() => {
            return Users::Unknown("this account may not read Marathon's apps".into());
        }
        Err(e) => return Users::Unknown(e.to_string()),
    };
    let apps: Apps = match answer.json() {
        Ok(apps) => apps,
        Err(e) => return Users::Unknown(e.to_string()),
    };
    let mut users: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for app in apps.apps {
        for source in app.secrets.values().filter_map(|s| s.source.as_deref()) {
            let source = source.trim_start_matches('/');
            if paths.iter().any(|p| p.as_str() == source) {
                users
                    .entry(source.to_owned())
                    .or_default()
                    .push(app.id.clone());
            }
        }
    }
    Users::Known(users)
}
