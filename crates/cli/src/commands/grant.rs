//! `grant` and `revoke`, and `revoke --all`.

use dcos_iam_client::{Action, GrantOutcome, Principal, RevokeOutcome, Rid};
use dcos_ops::grants::{self, GrantReport, RevokeAll};
use dcos_ops::{Outcome, PrincipalType};
use dcos_secrets_client::SecretPath;

use crate::args::{GrantArgs, RevokeArgs};
use crate::connect::Session;
use crate::exit::{self, Context, Failure};
use crate::output::{Progress, Ui, count, settle};

struct Parsed {
    principal: Principal,
    rid: Rid,
    action: Action,
}

fn parse(
    user: Option<&str>,
    group: Option<&str>,
    rid: &str,
    action: &str,
    any_rid: bool,
) -> exit::Result<Parsed> {
    Ok(Parsed {
        principal: grants::principal(user, group)?,
        rid: resource_id(rid, any_rid)?,
        action: action.parse().context("the action")?,
    })
}

/// A resource id, which starts with `dcos:` unless `--any-rid` says otherwise: a secret's path
/// given where its resource id belongs would otherwise create an ACL that protects nothing.
fn resource_id(text: &str, any_rid: bool) -> exit::Result<Rid> {
    let rid = Rid::new(text).context("the resource id")?;
    if any_rid || text.starts_with("dcos:") {
        return Ok(rid);
    }
    let path = text.strip_prefix('/').unwrap_or(text);
    let hint = match SecretPath::new(path) {
        Ok(_) => format!(
            "for the secret `{path}` the resource id is dcos:secrets:default:{path} (its value) or \
             dcos:secrets:list:default:{path} (its name); pass --any-rid if `{text}` is meant"
        ),
        Err(_) => "DC/OS resource ids start with `dcos:`, like dcos:secrets:default:team/key; \
                   pass --any-rid if this one is meant"
            .to_owned(),
    };
    Err(Failure::usage(format!(
        "`{text}` is not a DC/OS resource id (they start with `dcos:`); nothing was granted or revoked"
    ))
    .hint(hint))
}

fn report(ui: &Ui, parsed: &Parsed, done: (PrincipalType, Outcome)) -> exit::Result<()> {
    let report = GrantReport::new(&parsed.principal, done, &parsed.rid, parsed.action);
    ui.emit(&report, || report.to_string())
}

pub async fn grant(session: &Session, ui: &Ui, args: &GrantArgs) -> exit::Result<()> {
    let parsed = parse(
        args.user.as_deref(),
        args.group.as_deref(),
        &args.rid,
        &args.action,
        args.any_rid,
    )?;
    let (kind, outcome): (_, GrantOutcome) = grants::grant(
        &session.clients,
        &parsed.principal,
        &parsed.rid,
        parsed.action,
        args.description.as_deref(),
    )
    .await?;
    report(ui, &parsed, (kind, outcome.into()))
}

pub async fn revoke(session: &Session, ui: &Ui, args: &RevokeArgs) -> exit::Result<()> {
    if args.all {
        return revoke_all(session, ui, args).await;
    }
    let (Some(rid), Some(action)) = (&args.rid, &args.action) else {
        return Err(Failure::usage("give a resource id and an action, or --all"));
    };
    let parsed = parse(
        args.user.as_deref(),
        args.group.as_deref(),
        rid,
        action,
        args.any_rid,
    )?;
    let (kind, outcome): (_, RevokeOutcome) = grants::revoke(
        &session.clients,
        &parsed.principal,
        &parsed.rid,
        parsed.action,
    )
    .await?;
    report(ui, &parsed, (kind, outcome.into()))
}

/// `revoke --all`: the plan first (which is the whole run with --dry-run), a confirmation,
/// then every revoke on its own.
async fn revoke_all(session: &Session, ui: &Ui, args: &RevokeArgs) -> exit::Result<()> {
    if let (true, Some(uid)) = (args.delete_user, &args.user) {
        let delete = crate::args::DeleteArgs {
            uid: uid.clone(),
            cascade: true,
            dry_run: args.dry_run,
            confirm: crate::args::ConfirmArgs {
                yes: args.confirm.yes,
            },
        };
        return super::service_account::delete(session, ui, &delete, true).await;
    }
    let job = RevokeAll {
        principal: grants::principal(args.user.as_deref(), args.group.as_deref())?,
        under: super::optional_path(args.under.as_deref(), "--under")?,
        remove_from_groups: args.remove_from_groups,
        dry_run: true,
        confirmed: None,
    };
    let progress = &Progress::new(*ui);
    let clients = &session.clients;
    let run = |job: RevokeAll| async move { grants::revoke_all(clients, &job, progress).await };
    let result = super::confirm_job((args.dry_run, args.confirm.yes), &job, run, |plan| {
        let n = plan.steps.iter().filter(|s| s.changes()).count();
        format!(
            "Revoke {} of {}",
            count(n, "grant", "grants"),
            plan.principal
        )
    })
    .await?;
    print_revoke_all(ui, result)
}

fn print_revoke_all(
    ui: &Ui,
    result: dcos_ops::RunResult<grants::RevokeAllReport>,
) -> exit::Result<()> {
    let (report, failure) = settle(ui, result);
    if !ui.json() && !report.still_granted.is_empty() {
        ui.info(format!(
            "still granted: {}",
            report.still_granted.join(", ")
        ));
    }
    if let Some(failure) = failure {
        return ui.fail_with(&report, failure);
    }
    ui.emit(&report, || report.to_string())
}
