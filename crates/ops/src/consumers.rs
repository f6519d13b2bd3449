//! Who uses a secret: the Marathon apps and pods that give it to their tasks, read from
//! `/service/marathon/v2/apps` and `/v2/pods` (every group's, with their full ids) in one
//! concurrent round.
//!
//! Both declare `secrets: {NAME: {"source": PATH}}` and refer to a NAME: an app from `env`
//! (`{VAR: {"secret": NAME}}`) and `container.volumes` (`{"containerPath", "secret": NAME}`),
//! a pod from its own and its containers' `environment` and from `volumes` (`{"name",
//! "secret": NAME}`) that containers mount (`volumeMounts`: `{"name", "mountPath"}`). A
//! service built on the DC/OS SDK, such as the Data Science Engine, names secrets for the tasks
//! its scheduler launches in `TASKCFG_ALL_*_SECRET_NAMES` (a comma list of paths; in an app
//! Cosmos installed, any `*_SECRET_NAMES`) in its app's
//! `env`, and, in an app Cosmos installed (labelled `DCOS_PACKAGE_NAME`), one path in each
//! `*_SECRET` variable (`SECURITY_KERBEROS_KEYTAB_SECRET`) and in the engine's two TLS password
//! variables. A secret an app or pod declares and does not refer to is a use too (`declared`):
//! removing it is still a change to what the app was deployed with.

use dcos_transport::Request;
use serde::Serialize;
use serde_json::Value;

use crate::Clients;
use crate::error::{Context, Error};

/// An app or a pod.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A Marathon app.
    App,
    /// A Marathon pod.
    Pod,
}

impl Kind {
    /// `app` or `pod`.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::App => "app",
            Kind::Pod => "pod",
        }
    }
}

/// How a consumer takes a secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum UsedAs {
    /// An environment variable of its tasks.
    Env,
    /// A file in its tasks' sandbox.
    File,
    /// Named for the tasks an SDK scheduler launches (`TASKCFG_ALL_*_SECRET_NAMES`).
    Scheduler,
    /// Declared and not referred to.
    Declared,
}

impl UsedAs {
    /// `env`, `file`, `scheduler` or `declared`.
    pub fn as_str(self) -> &'static str {
        match self {
            UsedAs::Env => "env",
            UsedAs::File => "file",
            UsedAs::Scheduler => "scheduler",
            UsedAs::Declared => "declared",
        }
    }
}

/// One use of a secret by an app or a pod.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Consumer {
    /// `app` or `pod`.
    pub kind: Kind,
    /// Its id, like `/data-science-engine`.
    pub id: String,
    /// `env`, `file`, `scheduler` or `declared`.
    #[serde(rename = "as")]
    pub used_as: UsedAs,
    /// The variable, the file's path in the container, or the declared NAME.
    pub name: String,
}

/// `app /data-science-engine (env AWS_ACCESS_KEY_ID)`.
impl std::fmt::Display for Consumer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (kind, used) = (self.kind.as_str(), self.used_as.as_str());
        write!(f, "{kind} {} ({used} {})", self.id, self.name)
    }
}

/// Whether the app or pod `id` may use the secret at `path`: the secret's folder is the id or
/// one of its ancestors (`/a/b` reads `a/b/x`, `a/x` and `x`; not `a/b/c/x` nor `c/x`).
pub fn in_space(id: &str, path: &str) -> bool {
    let path = path.trim_start_matches('/');
    let folder = path.rsplit_once('/').map_or("", |(folder, _)| folder);
    let id = id.trim_matches('/');
    folder.is_empty() || id == folder || id.starts_with(&format!("{folder}/"))
}

/// Uses as a table: `KIND ID AS NAME`, or `none`.
pub fn table(consumers: &[Consumer]) -> String {
    let rows: Vec<Vec<String>> = (consumers.iter())
        .map(|c| [c.kind.as_str(), &c.id, c.used_as.as_str(), &c.name])
        .map(|row| row.map(str::to_owned).to_vec())
        .collect();
    crate::text::table(&["KIND", "ID", "AS", "NAME"], &rows)
}

/// One app or pod, as far as its secrets go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Workload {
    /// An app or a pod.
    pub kind: Kind,
    /// Its id.
    pub id: String,
    /// What it declares: `(NAME, path)`, the path without a leading `/`.
    pub declared: Vec<(String, String)>,
    /// Its uses, by path.
    pub uses: Vec<(String, UsedAs, String)>,
}

impl Workload {
    /// An app's definition as Marathon lists it: what it declares and how it uses each secret.
    pub fn of_app(spec: &Value) -> Self {
        workload(Kind::App, spec)
    }
}

/// Every app and pod of the cluster, read once.
#[derive(Debug, Clone, Default)]
pub struct Workloads {
    /// In the order Marathon listed them, apps first.
    pub items: Vec<Workload>,
}

impl Workloads {
    /// Every use of the secret at `path`, sorted.
    pub fn of(&self, path: &str) -> Vec<Consumer> {
        let path = path.trim_start_matches('/');
        let mut found: Vec<Consumer> = (self.items.iter())
            .flat_map(|w| {
                (w.uses.iter().filter(|(p, ..)| p == path)).map(|(_, used_as, name)| Consumer {
                    kind: w.kind,
                    id: w.id.clone(),
                    used_as: *used_as,
                    name: name.clone(),
                })
            })
            .collect();
        found.sort();
        found.dedup();
        found
    }

    /// The ids of the apps and pods that use any of `paths`, sorted, each once.
    pub fn ids_using<'a>(&self, paths: impl IntoIterator<Item = &'a str>) -> Vec<(Kind, String)> {
        let mut ids: Vec<(Kind, String)> = (paths.into_iter())
            .flat_map(|p| self.of(p))
            .map(|c| (c.kind, c.id))
            .collect();
        ids.sort();
        ids.dedup();
        ids
    }
}

/// Why Marathon's apps and pods could not be read: not installed, no permission, or an
/// answer that is not Marathon's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unread(pub String);

impl std::fmt::Display for Unread {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Reads every app and pod, the two lists at once; when Marathon cannot be read, says why
/// (for a plan that goes on without knowing).
pub async fn read(clients: &Clients) -> Result<Workloads, Unread> {
    load(clients).await.map_err(|error| {
        let why = match error.api_error() {
            Some(e) if e.is_not_found() => "Marathon does not answer".to_owned(),
            Some(e) if e.is_forbidden() => {
                "this account may not read Marathon's apps and pods".into()
            }
            _ => error.to_string(),
        };
        Unread(why)
    })
}

/// Reads every app and pod, the two lists at once. A Marathon without pods (404 on `/v2/pods`)
/// has none.
pub async fn load(clients: &Clients) -> crate::Result<Workloads> {
    let transport = clients.iam.transport();
    let (apps, pods) = tokio::join!(
        transport.send(Request::get("/service/marathon/v2/apps")),
        transport.send(Request::get("/service/marathon/v2/pods")),
    );
    let apps: Value = (apps.and_then(|a| a.json())).context("read Marathon's apps")?;
    let pods: Value = match pods {
        Err(e) if e.is_not_found() => Value::Array(Vec::new()),
        pods => (pods.and_then(|p| p.json())).context("read Marathon's pods")?,
    };
    let (Some(apps), Some(pods)) = (apps.get("apps").and_then(Value::as_array), pods.as_array())
    else {
        return Err(Error::failed(
            "Marathon's answer is not a list of apps and pods",
        ));
    };
    let items = (apps.iter().map(|a| workload(Kind::App, a)))
        .chain(pods.iter().map(|p| workload(Kind::Pod, p)))
        .collect();
    Ok(Workloads { items })
}

fn array(value: Option<&Value>) -> &[Value] {
    value.and_then(Value::as_array).map_or(&[], Vec::as_slice)
}

fn text<'a>(value: &'a Value, key: &str) -> Option<&'a str> {
    value.get(key).and_then(Value::as_str)
}

/// `{VAR: {"secret": NAME}}` of an environment: `(NAME, env, VAR)`; and the paths an SDK
/// scheduler is told to give its tasks.
fn environment(
    env: Option<&Value>,
    package: bool,
    refs: &mut Vec<(String, UsedAs, String)>,
    named: &mut Vec<(String, String)>,
) {
    for (var, value) in env.and_then(Value::as_object).into_iter().flatten() {
        match value {
            Value::Object(_) => {
                if let Some(secret) = text(value, "secret") {
                    refs.push((secret.to_owned(), UsedAs::Env, var.clone()));
                }
            }
            // The Data Science Engine 1.x names its extra Spark secrets in `EXTRA_SECRET_NAMES`.
            Value::String(paths)
                if var.ends_with("_SECRET_NAMES")
                    && (var.starts_with("TASKCFG_ALL_") || package) =>
            {
                let paths = paths.split(',').map(str::trim).filter(|p| !p.is_empty());
                named.extend(paths.map(|p| (p.trim_start_matches('/').to_owned(), var.clone())));
            }
            Value::String(path) if package && !path.is_empty() && names_a_secret(var) => {
                named.push((path.trim_start_matches('/').to_owned(), var.clone()))
            }
            _ => {}
        }
    }
}

/// Whether a package scheduler's variable holds one secret's path: `*_SECRET`
/// (`SECURITY_KERBEROS_KEYTAB_SECRET`, `SERVICE_SERVICE_ACCOUNT_SECRET`), and the Data Science
/// Engine's two TLS passwords, whose schemas call them secret paths though their names do not.
fn names_a_secret(var: &str) -> bool {
    const PASSWORD_SECRETS: [&str; 2] = [
        "SECURITY_TLS_KEYSTORE_PASSWORD",
        "SECURITY_TLS_KEY_PASSWORD",
    ];
    var.ends_with("_SECRET") || PASSWORD_SECRETS.contains(&var)
}

/// An app's or pod's declarations and uses.
fn workload(kind: Kind, spec: &Value) -> Workload {
    let id = text(spec, "id").unwrap_or_default().to_owned();
    let declared: Vec<(String, String)> = (spec.get("secrets").and_then(Value::as_object))
        .into_iter()
        .flatten()
        .filter_map(|(name, secret)| {
            let source = text(secret, "source")?.trim_start_matches('/');
            Some((name.clone(), source.to_owned()))
        })
        .collect();
    // (NAME, how, variable or file)
    let mut refs: Vec<(String, UsedAs, String)> = Vec::new();
    let mut named: Vec<(String, String)> = Vec::new();
    // A package's scheduler (Cosmos labels what it installs) names secrets for its tasks in
    // variables; another app's `MY_SECRET` may be a value, not a path.
    let package = (spec.get("labels"))
        .and_then(|l| text(l, "DCOS_PACKAGE_NAME"))
        .is_some();
    match kind {
        Kind::App => {
            environment(spec.get("env"), package, &mut refs, &mut named);
            let volumes = spec.get("container").and_then(|c| c.get("volumes"));
            for volume in array(volumes) {
                if let (Some(secret), Some(path)) =
                    (text(volume, "secret"), text(volume, "containerPath"))
                {
                    refs.push((secret.to_owned(), UsedAs::File, path.to_owned()));
                }
            }
        }
        Kind::Pod => {
            environment(spec.get("environment"), package, &mut refs, &mut named);
            let containers = array(spec.get("containers"));
            for container in containers {
                environment(container.get("environment"), package, &mut refs, &mut named);
            }
            for volume in array(spec.get("volumes")) {
                let (Some(secret), Some(name)) = (text(volume, "secret"), text(volume, "name"))
                else {
                    continue;
                };
                let mounts = (containers.iter())
                    .flat_map(|c| array(c.get("volumeMounts")))
                    .filter(|m| text(m, "name") == Some(name))
                    .filter_map(|m| text(m, "mountPath"));
                refs.extend(mounts.map(|path| (secret.to_owned(), UsedAs::File, path.to_owned())));
            }
        }
    }
    let mut uses: Vec<(String, UsedAs, String)> = Vec::new();
    for (name, path) in &declared {
        let referred = refs.iter().filter(|(secret, ..)| secret == name);
        let before = uses.len();
        uses.extend(referred.map(|(_, used_as, target)| (path.clone(), *used_as, target.clone())));
        if uses.len() == before {
            uses.push((path.clone(), UsedAs::Declared, name.clone()));
        }
    }
    uses.extend(
        named
            .into_iter()
            .map(|(path, var)| (path, UsedAs::Scheduler, var)),
    );
    Workload {
        kind,
        id,
        declared,
        uses,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// The uses, sorted: a JSON object's order depends on serde_json's features.
    fn uses(kind: Kind, spec: Value) -> Vec<(String, UsedAs, String)> {
        let mut uses = workload(kind, &spec).uses;
        uses.sort();
        uses
    }

    fn one(path: &str, used_as: UsedAs, name: &str) -> (String, UsedAs, String) {
        (path.to_owned(), used_as, name.to_owned())
    }

    const SCHEDULER: &str = "TASKCFG_ALL_AWS_SECRET_NAMES";

    #[test]
    fn an_app_uses_secrets_through_env_files_declarations_and_its_scheduler() {
        let app = json!({
            "id": "/data-science-engine",
            "secrets": {
                "key": {"source": "/dse/aws_access_key_id"},
                "cred": {"source": "dse/service-account"},
                "spare": {"source": "dse/unused"},
            },
            "env": {
                "AWS_ACCESS_KEY_ID": {"secret": "key"},
                "TASKCFG_ALL_AWS_SECRET_NAMES": "dse/aws_access_key_id,dse/aws_secret_access_key",
                "TASKCFG_ALL_TLS_SECRET_NAMES": ",,",
                "PLAIN": "dse/not-a-secret",
            },
            "container": {"volumes": [
                {"containerPath": "secrets/service-account.json", "secret": "cred"},
            ]},
        });
        assert_eq!(
            uses(Kind::App, app),
            [
                one("dse/aws_access_key_id", UsedAs::Env, "AWS_ACCESS_KEY_ID"),
                one("dse/aws_access_key_id", UsedAs::Scheduler, SCHEDULER),
                one("dse/aws_secret_access_key", UsedAs::Scheduler, SCHEDULER),
                one(
                    "dse/service-account",
                    UsedAs::File,
                    "secrets/service-account.json"
                ),
                one("dse/unused", UsedAs::Declared, "spare"),
            ]
        );
    }

    /// The engine as Cosmos installs it names its keytab, stores and passwords for its
    /// scheduler; an app that is no package keeps its `*_SECRET` values to itself.
    #[test]
    fn a_package_scheduler_names_secrets_in_its_variables() {
        let env = json!({
            "SECURITY_KERBEROS_KEYTAB_SECRET": "dse/keytab",
            "SECURITY_TLS_KEYSTORE_PASSWORD": "dse/keystore_password",
            "SECURITY_TLS_TRUSTSTORE_SECRET": "",
            "FRAMEWORK_PRINCIPAL": "dse",
        });
        let engine = json!({"id": "/dse", "labels": {"DCOS_PACKAGE_NAME": "data-science-engine"},
                            "env": env});
        assert_eq!(
            uses(Kind::App, engine),
            [
                one(
                    "dse/keystore_password",
                    UsedAs::Scheduler,
                    "SECURITY_TLS_KEYSTORE_PASSWORD"
                ),
                one(
                    "dse/keytab",
                    UsedAs::Scheduler,
                    "SECURITY_KERBEROS_KEYTAB_SECRET"
                ),
            ]
        );
        let plain = json!({"id": "/app", "env": {"MY_SECRET": "hunter2"}});
        assert!(uses(Kind::App, plain).is_empty());
    }

    #[test]
    fn a_pod_uses_secrets_through_its_environments_and_mounted_volumes() {
        let pod = json!({
            "id": "/team/pod",
            "secrets": {"a": {"source": "team/a"}, "b": {"source": "team/b"}},
            "environment": {"TOP": {"secret": "a"}},
            "containers": [
                {"name": "c1", "environment": {"INNER": {"secret": "b"}},
                 "volumeMounts": [{"name": "v", "mountPath": "etc/a"}]},
            ],
            "volumes": [{"name": "v", "secret": "a"}],
        });
        assert_eq!(
            uses(Kind::Pod, pod),
            [
                one("team/a", UsedAs::Env, "TOP"),
                one("team/a", UsedAs::File, "etc/a"),
                one("team/b", UsedAs::Env, "INNER"),
            ]
        );
    }

    #[test]
    fn consumers_of_a_path_name_each_use_once() {
        let spec = json!({
            "id": "/x",
            "secrets": {"k": {"source": "x/k"}},
            "env": {"A": {"secret": "k"}, "B": {"secret": "k"}},
        });
        let workloads = Workloads {
            items: vec![workload(Kind::App, &spec), workload(Kind::App, &spec)],
        };
        let found = workloads.of("/x/k");
        assert_eq!(found.len(), 2, "{found:?}");
        assert_eq!(found[0].to_string(), "app /x (env A)");
        assert_eq!(workloads.ids_using(["x/k"]), [(Kind::App, "/x".to_owned())]);
        assert!(workloads.of("x/other").is_empty());
    }
}
