//! `grant` and `revoke`.

use dcos_iam_client::{Action, GrantOutcome, Principal, RevokeOutcome, Rid};
use dcos_ops::{Outcome, grants};

use crate::args::GrantArgs;
use crate::connect::Session;
use crate::exit::{self, Context};
use crate::output::{GrantReport, Ui};

struct Parsed {
    principal: Principal,
    rid: Rid,
    action: Action,
}

fn parse(args: &GrantArgs) -> exit::Result<Parsed> {
    Ok(Parsed {
        principal: grants::principal(args.user.as_deref(), args.group.as_deref())?,
        rid: Rid::new(&args.rid).context("the resource id")?,
        action: args.action.parse().context("the action")?,
    })
}

fn report(ui: &Ui, parsed: &Parsed, outcome: Outcome) -> exit::Result<()> {
    let (principal_type, id) = match &parsed.principal {
        Principal::User(uid) => ("user", uid.to_string()),
        Principal::Group(gid) => ("group", gid.to_string()),
    };
    let report = GrantReport {
        principal_type,
        principal: id,
        rid: parsed.rid.to_string(),
        action: parsed.action.to_string(),
        outcome,
    };
    let text = match outcome {
        Outcome::NotGranted => "not granted; nothing to revoke".to_owned(),
        other => other.as_str().replace('_', " "),
    };
    ui.emit(&report, || {
        format!(
            "{text}: {} {} {} {}",
            report.principal_type, report.principal, report.action, report.rid
        )
    })
}

pub async fn grant(session: &Session, ui: &Ui, args: &GrantArgs) -> exit::Result<()> {
    let parsed = parse(args)?;
    let outcome: GrantOutcome = grants::grant(
        &session.clients,
        &parsed.principal,
        &parsed.rid,
        parsed.action,
        args.description.as_deref(),
    )
    .await?;
    report(ui, &parsed, outcome.into())
}

pub async fn revoke(session: &Session, ui: &Ui, args: &GrantArgs) -> exit::Result<()> {
    let parsed = parse(args)?;
    let outcome: RevokeOutcome = grants::revoke(
        &session.clients,
        &parsed.principal,
        &parsed.rid,
        parsed.action,
    )
    .await?;
    report(ui, &parsed, outcome.into())
}
