//! How apps and pods name their secrets, read the one way for the space check at deploy time
//! and for the values at launch.
//!
//! Both declare `secrets: {NAME: {"source": PATH}}` and refer to a NAME:
//! - an app from `env` (`{VAR: {"secret": NAME}}`) and from `container.volumes`
//!   (`{"containerPath": FILE, "secret": NAME}`, a file-based secret);
//! - a pod from its own `environment` and each container's `environment` (`{VAR: {"secret":
//!   NAME}}`), and from its `volumes` (`{"name": VOLUME, "secret": NAME}`), which containers
//!   mount with `volumeMounts` (`{"name": VOLUME, "mountPath": FILE}`).

use serde::Serialize;
use serde_json::Value;

/// An app or a pod.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// `/v2/apps`.
    App,
    /// `/v2/pods`.
    Pod,
}

/// One use of a declared secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// The NAME under `secrets`.
    pub secret: String,
    /// Where the value goes: an environment variable, or a file.
    pub target: Target,
}

/// Where a secret's value goes in a task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// An environment variable.
    Env(String),
    /// A file, by its path in the container.
    File(String),
}

/// Whether the workload `id` may use the secret at `path`: the secret's folder is the id or an
/// ancestor of it (`/a/b` reads `a/b/x`, `a/x` and `x`, not `a/b/c/x` nor `c/x`).
pub fn in_space(id: &str, path: &str) -> bool {
    let path = path.trim_start_matches('/');
    let folder = path.rsplit_once('/').map_or("", |(folder, _)| folder);
    let id = id.trim_matches('/');
    folder.is_empty() || id == folder || id.starts_with(&format!("{folder}/"))
}

/// The declared secrets: `(NAME, path)`, the path without a leading `/`.
pub fn secret_sources(spec: &Value) -> Vec<(String, String)> {
    let Some(secrets) = spec.get("secrets").and_then(Value::as_object) else {
        return Vec::new();
    };
    secrets
        .iter()
        .filter_map(|(name, secret)| {
            let source = secret.get("source")?.as_str()?;
            Some((name.clone(), source.trim_start_matches('/').to_owned()))
        })
        .collect()
}

/// `{VAR: {"secret": NAME}}` entries of an environment object.
fn env_references(env: Option<&Value>, into: &mut Vec<Reference>) {
    let Some(vars) = env.and_then(Value::as_object) else {
        return;
    };
    for (var, value) in vars {
        if let Some(secret) = value.get("secret").and_then(Value::as_str) {
            into.push(Reference {
                secret: secret.to_owned(),
                target: Target::Env(var.clone()),
            });
        }
    }
}

fn array(value: Option<&Value>) -> &[Value] {
    value.and_then(Value::as_array).map_or(&[], Vec::as_slice)
}

fn text<'a>(value: &'a Value, key: &str) -> Option<&'a str> {
    value.get(key).and_then(Value::as_str)
}

/// Every reference of an app or a pod to a secret NAME.
pub fn references(kind: Kind, spec: &Value) -> Vec<Reference> {
    let mut found = Vec::new();
    match kind {
        Kind::App => {
            env_references(spec.get("env"), &mut found);
            let volumes = spec.get("container").and_then(|c| c.get("volumes"));
            for volume in array(volumes) {
                if let (Some(secret), Some(path)) =
                    (text(volume, "secret"), text(volume, "containerPath"))
                {
                    found.push(Reference {
                        secret: secret.to_owned(),
                        target: Target::File(path.to_owned()),
                    });
                }
            }
        }
        Kind::Pod => {
            env_references(spec.get("environment"), &mut found);
            let containers = array(spec.get("containers"));
            for container in containers {
                env_references(container.get("environment"), &mut found);
            }
            for volume in array(spec.get("volumes")) {
                let (Some(secret), Some(name)) = (text(volume, "secret"), text(volume, "name"))
                else {
                    continue;
                };
                let mounts = containers
                    .iter()
                    .flat_map(|c| array(c.get("volumeMounts")))
                    .filter(|m| text(m, "name") == Some(name));
                for mount in mounts {
                    if let Some(path) = text(mount, "mountPath") {
                        found.push(Reference {
                            secret: secret.to_owned(),
                            target: Target::File(path.to_owned()),
                        });
                    }
                }
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_space_of_a_workload_is_its_id_and_its_ancestors() {
        assert!(in_space(
            "/data-science-engine",
            "data-science-engine/aws_key"
        ));
        assert!(in_space("/data-science-engine", "aws_key"));
        assert!(in_space("/a/b", "/a/b/x"));
        assert!(in_space("/a/b", "a/x"));
        assert!(!in_space("/data-science-engine", "other/aws_key"));
        assert!(!in_space(
            "/data-science-engine",
            "data-science-engine/x/aws_key"
        ));
        assert!(!in_space("/ab", "a/x"));
    }

    #[test]
    fn apps_refer_from_env_and_volumes_and_pods_from_environments_and_mounts() {
        let app = json!({
            "env": {"KEY": {"secret": "k"}, "PLAIN": "x"},
            "container": {"volumes": [
                {"containerPath": "secrets/key", "secret": "k"},
                {"containerPath": "data", "hostPath": "/data", "mode": "RW"},
            ]},
        });
        let file = |s: &str, p: &str| Reference {
            secret: s.into(),
            target: Target::File(p.into()),
        };
        let env = |s: &str, v: &str| Reference {
            secret: s.into(),
            target: Target::Env(v.into()),
        };
        assert_eq!(
            references(Kind::App, &app),
            [env("k", "KEY"), file("k", "secrets/key")]
        );
        let pod = json!({
            "environment": {"TOP": {"secret": "a"}},
            "containers": [
                {"name": "c1", "environment": {"INNER": {"secret": "b"}},
                 "volumeMounts": [{"name": "v", "mountPath": "etc/key"}]},
                {"name": "c2"},
            ],
            "volumes": [{"name": "v", "secret": "a"}, {"name": "unmounted", "secret": "b"}],
        });
        assert_eq!(
            references(Kind::Pod, &pod),
            [env("a", "TOP"), env("b", "INNER"), file("a", "etc/key")]
        );
        // An app's `environment` is not where apps put it, and the other way round.
        assert!(references(Kind::App, &pod).is_empty());
        assert!(references(Kind::Pod, &app).is_empty());
    }
}
