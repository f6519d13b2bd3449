//! Grants and revokes of one action on one resource, for a principal that must exist.

use dcos_iam_client::{Action, Gid, GrantOutcome, Principal, RevokeOutcome, Rid, Uid};

use dcos_secrets_client::SecretPath;
use serde::Serialize;

use crate::error::{Context, Error, ErrorKind, Failed, Remedy, Result, RunResult};
use crate::plan::{self, Task, Write, acl_description};
use crate::report::{Outcome, Step, StepKind, principal_name};
use crate::{Clients, PrincipalType, Reporter, Status, Warning};

/// The principal of a user (or service account) id or a group id: exactly one of them.
pub fn principal(user: Option<&str>, group: Option<&str>) -> Result<Principal> {
    match (user, group) {
        (Some(uid), None) => Ok(Principal::User(Uid::new(uid).context("user")?)),
        (None, Some(gid)) => Ok(Principal::Group(Gid::new(gid).context("group")?)),
        _ => Err(Error::invalid("give exactly one of user and group")),
    }
}

/// What kind of principal it is; fails with [`crate::ErrorKind::NotFound`], naming the
/// principal, when it does not exist.
pub async fn check_exists(clients: &Clients, principal: &Principal) -> Result<PrincipalType> {
    let found = match principal {
        Principal::User(uid) => (clients.iam.user(uid).get_opt().await?)
            .map(|user| PrincipalType::of_user(user.is_service)),
        Principal::Group(gid) => {
            (clients.iam.group(gid).get_opt().await?).map(|_| PrincipalType::Group)
        }
    };
    if let Some(kind) = found {
        return Ok(kind);
    }
    Err(
        Error::not_found(format!("{principal} does not exist")).with_remedy(
            Remedy::CheckPrincipal {
                principal: principal.clone(),
            },
        ),
    )
}

/// Grants `action` on `rid` to `principal`, which must exist, creating the ACL (with
/// `description`, or one naming this tool) when there is none. Safe to repeat. Returns the
/// principal's type with the outcome.
pub async fn grant(
    clients: &Clients,
    principal: &Principal,
    rid: &Rid,
    action: Action,
    description: Option<&str>,
) -> Result<(PrincipalType, GrantOutcome)> {
    let kind = check_exists(clients, principal).await?;
    let description = description.map_or_else(|| acl_description(rid), str::to_owned);
    let outcome = clients
        .iam
        .acl(rid)
        .ensure_granted(principal, action, &description)
        .await
        .context(format!("grant {action} on {rid}"))?;
    Ok((kind, outcome))
}

/// Revokes `action` on `rid` from `principal`, which must exist. Safe to repeat. Returns the
/// principal's type with the outcome.
pub async fn revoke(
    clients: &Clients,
    principal: &Principal,
    rid: &Rid,
    action: Action,
) -> Result<(PrincipalType, RevokeOutcome)> {
    let kind = check_exists(clients, principal).await?;
    let outcome = clients
        .iam
        .acl(rid)
        .ensure_revoked(principal, action)
        .await
        .context(format!("revoke {action} on {rid}"))?;
    Ok((kind, outcome))
}

/// `grant` and `revoke` of one action on one resource.
#[derive(Debug, Clone, Serialize)]
pub struct GrantReport {
    /// `user`, `service_account` or `group`.
    pub principal_type: PrincipalType,
    /// Its id.
    pub principal: String,
    /// The resource.
    pub rid: String,
    /// The action.
    pub action: String,
    /// `granted`, `already_granted`, `revoked` or `not_granted`.
    pub outcome: Outcome,
}

impl GrantReport {
    /// The report of a [`grant`] or [`revoke`] of `action` on `rid` to `principal`.
    pub fn new(
        principal: &Principal,
        (principal_type, outcome): (PrincipalType, Outcome),
        rid: &Rid,
        action: Action,
    ) -> Self {
        Self {
            principal_type,
            principal: match principal {
                Principal::User(uid) => uid.to_string(),
                Principal::Group(gid) => gid.to_string(),
            },
            rid: rid.to_string(),
            action: action.to_string(),
            outcome,
        }
    }
}

/// `granted: service account dse read dcos:secrets:default:team/db`.
impl std::fmt::Display for GrantReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let text = match self.outcome {
            Outcome::NotGranted => "not granted; nothing to revoke".to_owned(),
            other => other.as_str().replace('_', " "),
        };
        write!(
            f,
            "{text}: {} {} {} {}",
            self.principal_type.as_str().replace('_', " "),
            self.principal,
            self.action,
            self.rid
        )
    }
}

/// Every direct grant of one principal to take back.
#[derive(Debug, Clone)]
pub struct RevokeAll {
    pub principal: Principal,
    /// Only grants on secrets at or below this path (value, list and wildcard ids).
    pub under: Option<SecretPath>,
    /// For a user: also take it out of every group.
    pub remove_from_groups: bool,
    /// Read and plan only.
    pub dry_run: bool,
    /// The plan a person confirmed: the run changes nothing if the cluster moved since.
    pub confirmed: Option<crate::Confirmed>,
}

/// What `revoke --all` did, or would do.
#[derive(Debug, Clone, Serialize)]
pub struct RevokeAllReport {
    pub principal: String,
    pub principal_type: PrincipalType,
    pub dry_run: bool,
    pub result: Status,
    /// One per grant (and membership), each with its outcome.
    pub steps: Vec<Step>,
    /// What the principal still holds after a failure: `<action> on <rid>`, `member of <gid>`.
    pub still_granted: Vec<String>,
}

/// The closing line: what was revoked, or would be.
impl std::fmt::Display for RevokeAllReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let grants = |n| crate::text::count(n, "grant", "grants");
        match (
            self.dry_run,
            self.steps.iter().filter(|s| s.changes()).count(),
        ) {
            (_, 0) => write!(
                f,
                "nothing to revoke: {} holds no direct grant here",
                self.principal
            ),
            (true, n) => write!(f, "would revoke {}", grants(n)),
            (false, n) => write!(f, "revoked {}", grants(n)),
        }
    }
}

/// The secret path a secrets resource id is about, without a trailing wildcard: `team/db`
/// for `dcos:secrets:default:/team/db`, `team` for `dcos:secrets:list:default:team/*`, and
/// `` for `*`. `None` for ids that are not about secrets.
fn secret_rid_path(rid: &str) -> Option<&str> {
    let rest = rid
        .strip_prefix("dcos:secrets:default:")
        .or_else(|| rid.strip_prefix("dcos:secrets:list:default:"))?;
    let rest = rest.strip_prefix('/').unwrap_or(rest);
    let rest = rest
        .strip_suffix("/*")
        .or_else(|| rest.strip_suffix('*'))
        .unwrap_or(rest);
    Some(rest.strip_suffix('/').unwrap_or(rest))
}

/// Whether a resource id is about secrets at or below `under`.
fn is_under(rid: &str, under: &SecretPath) -> bool {
    let under = under.as_str();
    secret_rid_path(rid)
        .is_some_and(|p| p == under || (p.starts_with(under) && p[under.len()..].starts_with('/')))
}

/// Revokes every direct grant of a principal (grants through its groups stay, and are the
/// groups' own), optionally only on secrets under a path, and optionally takes a user out of
/// every group. Each revoke stands alone: when some fail, the others are done, the run is
/// [`crate::ErrorKind::Partial`], and the report lists what is still granted.
pub async fn revoke_all(
    clients: &Clients,
    job: &RevokeAll,
    reporter: &dyn Reporter,
) -> RunResult<RevokeAllReport> {
    let mut report = RevokeAllReport {
        principal: principal_name(&job.principal),
        principal_type: PrincipalType::Group,
        dry_run: job.dry_run,
        result: Status::Unchanged,
        steps: Vec::new(),
        still_granted: Vec::new(),
    };
    let result = revoke_all_steps(clients, job, reporter, &mut report).await;
    report.result = Status::of(&report.steps, result.is_err(), job.dry_run);
    report.still_granted = report
        .steps
        .iter()
        .filter(|s| s.outcome == Outcome::Failed)
        .map(|s| match s.kind {
            StepKind::Membership => format!("member of {}", s.target),
            _ => format!(
                "{} on {}",
                s.action.as_deref().unwrap_or_default(),
                s.target
            ),
        })
        .collect();
    match result {
        Ok(()) => Ok(report),
        Err(error) => Err(Failed { report, error }),
    }
}

async fn revoke_all_steps(
    clients: &Clients,
    job: &RevokeAll,
    reporter: &dyn Reporter,
    report: &mut RevokeAllReport,
) -> Result<()> {
    report.principal_type = check_exists(clients, &job.principal).await?;
    let (held, groups) = match &job.principal {
        Principal::User(uid) => {
            let user = clients.iam.user(uid);
            let (permissions, groups) = tokio::join!(user.permissions(), async {
                match job.remove_from_groups {
                    true => user.groups().await.map(Some),
                    false => Ok(None),
                }
            });
            let permissions = permissions.context(format!("read the permissions of `{uid}`"))?;
            let groups = groups.context(format!("read the groups of `{uid}`"))?;
            (permissions.direct, groups.unwrap_or_default())
        }
        Principal::Group(gid) => {
            let held = clients.iam.group(gid).permissions().await;
            (
                held.context(format!("read the permissions of group `{gid}`"))?,
                Vec::new(),
            )
        }
    };
    let name = principal_name(&job.principal);
    let mut tasks = Vec::new();
    for permission in &held {
        if job
            .under
            .as_ref()
            .is_some_and(|u| !is_under(&permission.rid, u))
        {
            continue;
        }
        let Ok(rid) = Rid::new(&permission.rid) else {
            reporter.warn(&Warning::Unaddressable {
                what: "the grant on".into(),
                id: permission.rid.clone(),
            });
            continue;
        };
        for action in permission.actions.iter().filter_map(|a| a.action()) {
            let mut step = Step::grant(&rid, action, &name);
            step.outcome = Outcome::planned(Outcome::WouldRevoke, job.dry_run);
            let write = Write::Revoke {
                rid: rid.clone(),
                principal: job.principal.clone(),
                action,
                undoable: false,
            };
            tasks.push(Task::write(step, 0, write));
        }
    }
    if let Principal::User(uid) = &job.principal {
        for membership in &groups {
            let Ok(gid) = Gid::new(&membership.group.gid) else {
                reporter.warn(&Warning::Unaddressable {
                    what: "the membership of group".into(),
                    id: membership.group.gid.clone(),
                });
                continue;
            };
            let mut step = Step::new(
                StepKind::Membership,
                &gid,
                Outcome::planned(Outcome::WouldRevoke, job.dry_run),
            );
            step.principal = Some(uid.to_string());
            let write = Write::Leave {
                gid,
                uid: uid.clone(),
            };
            tasks.push(Task::write(step, 0, write));
        }
    }
    if job.dry_run {
        report.steps = plan::steps(tasks);
        return Ok(());
    }
    plan::check_confirmed(job.confirmed.as_ref(), tasks.iter().map(|t| &t.step))?;
    let result = plan::run(clients, &mut tasks, reporter).await;
    report.steps = plan::steps(tasks);
    match result {
        Ok(()) => Ok(()),
        Err(cause) if report.steps.iter().any(|s| s.outcome == Outcome::Revoked) => Err(cause
            .with_kind(ErrorKind::Partial)
            .with_remedy(Remedy::FinishPartial)),
        Err(cause) => Err(cause),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rids_under_a_path_are_those_of_its_secrets() {
        let team = SecretPath::new("team").unwrap();
        for rid in [
            "dcos:secrets:default:team",
            "dcos:secrets:default:/team/db",
            "dcos:secrets:list:default:team/*",
            "dcos:secrets:default:team/sub/*",
        ] {
            assert!(is_under(rid, &team), "{rid}");
        }
        for rid in [
            "dcos:secrets:default:teams/db",
            "dcos:secrets:default:*",
            "dcos:secrets:list:default:/",
            "dcos:adminrouter:service:marathon",
            "dcos:secrets:default:other/team",
        ] {
            assert!(!is_under(rid, &team), "{rid}");
        }
    }

    #[test]
    fn a_principal_is_a_user_or_a_group() {
        assert_eq!(
            principal(Some("alice"), None).unwrap(),
            Principal::User(Uid::new("alice").unwrap())
        );
        assert_eq!(
            principal(None, Some("data")).unwrap(),
            Principal::Group(Gid::new("data").unwrap())
        );
        assert!(principal(Some("a"), Some("b")).is_err());
        assert!(principal(None, None).is_err());
        let bad = principal(Some("a b"), None).unwrap_err();
        assert!(bad.full_message().starts_with("user: "), "{bad}");
    }
}
