//! `grant` and `revoke`.

use dcos_iam_client::{Action, Gid, GrantOutcome, Principal, RevokeOutcome, Rid, Uid};

use crate::args::GrantArgs;
use crate::connect::Session;
use crate::exit::{self, Context, Failure};
use crate::output::{GrantReport, Ui};

struct Parsed {
    principal: Principal,
    rid: Rid,
    action: Action,
}

fn parse(args: &GrantArgs) -> exit::Result<Parsed> {
    let principal = match (&args.user, &args.group) {
        (Some(uid), None) => Principal::User(Uid::new(uid).context("--user")?),
        (None, Some(gid)) => Principal::Group(Gid::new(gid).context("--group")?),
        _ => return Err(Failure::usage("pass exactly one of --user and --group")),
    };
    Ok(Parsed {
        principal,
        rid: Rid::new(&args.rid).context("the resource id")?,
        action: args.action.parse().context("the action")?,
    })
}

/// Fails with exit 5, naming the principal, when it does not exist.
async fn check_exists(session: &Session, principal: &Principal) -> exit::Result<()> {
    let exists = match principal {
        Principal::User(uid) => session.iam.user(uid).get_opt().await?.is_some(),
        Principal::Group(gid) => session.iam.group(gid).get_opt().await?.is_some(),
    };
    if exists {
        return Ok(());
    }
    let hint = match principal {
        Principal::User(_) => {
            "check the spelling; `dcos-creds service-account create` creates a service account"
        }
        Principal::Group(_) => "check the spelling of the group id",
    };
    Err(Failure::new(exit::NOT_FOUND, format!("{principal} does not exist")).hint(hint))
}

/// The description of an ACL this tool creates.
pub fn acl_description(rid: &Rid) -> String {
    format!("Created by dcos-creds for {rid}")
}

/// An outcome: its JSON word and its words for people.
type Outcome = (&'static str, &'static str);
const GRANTED: Outcome = ("granted", "granted");
const ALREADY_GRANTED: Outcome = ("already_granted", "already granted");
const REVOKED: Outcome = ("revoked", "revoked");
const NOT_GRANTED: Outcome = ("not_granted", "not granted; nothing to revoke");

fn report(ui: &Ui, parsed: &Parsed, (outcome, text): Outcome) -> exit::Result<()> {
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
    ui.emit(&report, || {
        format!(
            "{text}: {} {} {} {}",
            report.principal_type, report.principal, report.action, report.rid
        )
    })
}

pub async fn grant(session: &Session, ui: &Ui, args: &GrantArgs) -> exit::Result<()> {
    let parsed = parse(args)?;
    check_exists(session, &parsed.principal).await?;
    let description = args
        .description
        .clone()
        .unwrap_or_else(|| acl_description(&parsed.rid));
    let outcome = session
        .iam
        .acl(&parsed.rid)
        .ensure_granted(&parsed.principal, parsed.action, &description)
        .await
        .context(format!("grant {} on {}", parsed.action, parsed.rid))?;
    let word = match outcome {
        GrantOutcome::Granted => GRANTED,
        GrantOutcome::AlreadyGranted => ALREADY_GRANTED,
    };
    report(ui, &parsed, word)
}

pub async fn revoke(session: &Session, ui: &Ui, args: &GrantArgs) -> exit::Result<()> {
    let parsed = parse(args)?;
    check_exists(session, &parsed.principal).await?;
    let outcome = session
        .iam
        .acl(&parsed.rid)
        .ensure_revoked(&parsed.principal, parsed.action)
        .await
        .context(format!("revoke {} on {}", parsed.action, parsed.rid))?;
    let word = match outcome {
        RevokeOutcome::Revoked => REVOKED,
        RevokeOutcome::AlreadyAbsent => NOT_GRANTED,
    };
    report(ui, &parsed, word)
}
