//! `status` (alias `doctor`): `dcos_ops::doctor`'s findings, its problems worded as failures.
//! Changes nothing.

use std::time::Duration;

use dcos_connect::Environment;
use dcos_ops::doctor::{self, Problem, StatusReport};
use serde::Serialize;

use crate::args::Global;
use crate::connect;
use crate::exit::{self, ErrorDoc, Failure};
use crate::output::{Ui, duration_words};

#[derive(Debug, Serialize)]
struct Status<'a> {
    #[serde(flatten)]
    report: &'a StatusReport,
    /// Every problem found, the first of which sets the exit code.
    problems: Vec<ErrorDoc<'a>>,
}

fn failure(problem: Problem) -> Failure {
    match problem {
        Problem::Connect(error) => error.into(),
        Problem::Cluster(error) => error.into(),
        Problem::Clock(skew) => {
            let way = if skew > 0 { "behind" } else { "ahead of" };
            let off = duration_words(Duration::from_secs(skew.unsigned_abs()));
            Failure::new(exit::FAILURE, format!("this machine's clock is {off} {way} the cluster's"))
                .hint("set the clock right (NTP): tokens and service-account logins are checked against the cluster's clock")
        }
    }
}

pub async fn run(global: &Global, ui: &Ui) -> exit::Result<()> {
    let cluster = connect::resolve(global, ui).await?;
    let (report, problems) = doctor::status(&cluster, &Environment::process()).await;
    let problems: Vec<Failure> = problems.into_iter().map(failure).collect();
    let status = Status {
        report: &report,
        problems: problems.iter().map(Failure::doc).collect(),
    };
    if !ui.json() || problems.is_empty() {
        ui.emit(&status, || {
            let lines = problems
                .iter()
                .map(|p| format!("\nproblem   {}", p.message));
            report.to_string() + &lines.collect::<String>()
        })?;
    }
    match problems.first().cloned() {
        None => Ok(()),
        Some(first) if ui.json() => ui.fail_with(&status, first),
        Some(first) => Err(first),
    }
}
