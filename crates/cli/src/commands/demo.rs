//! `demo`: the Data Science Engine's set-up, end to end, against a cluster emulated in this
//! process.
//!
//! It runs the same code as the real commands (session, `dse setup` with its plan and undo,
//! `access`); only the cluster is local.

use dcos_emulator::{DEFAULT_PASSWORD, DEFAULT_SUPERUSER, Emulator};
use dcos_iam_client::{Credentials, Uid};
use dcos_ops::dse::setup::{self, S3Input, SetupReport, SetupSpec};
use dcos_ops::dse::{self, Destination};
use dcos_ops::text::indent;
use dcos_ops::{Failed, aws};
use dcos_transport::Transport;
use secrecy::SecretString;

use crate::connect::Session;
use crate::exit::{self, Context, Failure};
use crate::output::{Progress, Ui, write_stdout};

/// AWS's documented example key pair: well known, and it opens nothing.
const EXAMPLE_KEY_ID: &str = "AKIAIOSFODNN7EXAMPLE";
const EXAMPLE_SECRET_KEY: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

/// `demo -o json`.
#[derive(Debug, serde::Serialize)]
pub struct DemoReport {
    pub cluster: String,
    /// The pinned CA's SHA-256 fingerprint.
    pub ca_fingerprint: String,
    pub setup: SetupReport,
    /// The same set-up run again: unchanged.
    pub rerun: SetupReport,
    pub access: dcos_ops::access::AccessReport,
    pub options: serde_json::Value,
}

/// Prints as it goes in text mode; collects one JSON document otherwise.
struct Narrator {
    json: bool,
}

impl Narrator {
    fn say(&self, text: impl AsRef<str>) -> exit::Result<()> {
        if self.json {
            return Ok(());
        }
        let mut text = text.as_ref().to_owned();
        text.push('\n');
        write_stdout(text.as_bytes())
    }

    fn steps(&self, report: &SetupReport) -> exit::Result<()> {
        let lines: Vec<String> = report.steps.iter().map(ToString::to_string).collect();
        self.say(indent(&lines.join("\n"), "     "))
    }
}

pub async fn run(ui: &Ui) -> exit::Result<()> {
    let out = Narrator { json: ui.json() };
    out.say(
        "dcos-creds demo: the Data Science Engine's set-up, end to end, against a DC/OS \
         cluster\nemulated in this process. Nothing leaves this machine, and nothing is kept.\n",
    )?;

    let emulator = Emulator::builder()
        .tls(true)
        .start()
        .await
        .map_err(|e| Failure::new(exit::FAILURE, format!("cannot start the emulator: {e}")))?;
    let result = tour(&emulator, ui, &out).await;
    emulator.shutdown().await;
    let report = result?;
    if ui.json() {
        ui.emit(&report, String::new)?;
    }
    Ok(())
}

/// The report of a run, and its failure.
fn split(result: dcos_ops::RunResult<SetupReport>) -> (SetupReport, Option<Failure>) {
    match result {
        Ok(report) => (report, None),
        Err(Failed { report, error }) => (report, Some(error.into())),
    }
}

async fn tour(emulator: &Emulator, ui: &Ui, out: &Narrator) -> exit::Result<DemoReport> {
    let url = emulator.url().to_owned();
    let ca_pem = emulator.ca_pem().unwrap_or_default().as_bytes();
    let ca_fingerprint = dcos_transport::pem_certificates(ca_pem)?
        .first()
        .map(|der| dcos_connect::fingerprint(der))
        .unwrap_or_default();
    out.say(format!(
        "1. Started the emulated cluster at {url}, in strict mode\n   \
         Only its CA is trusted, pinned by fingerprint: {ca_fingerprint}\n   \
         (on a real cluster: dcos-creds ca fetch, then --ca-fingerprint or --ca-cert)"
    ))?;

    let base = Transport::builder(&url)
        .pin_ca_pem(ca_pem)
        .limits(crate::interrupt::limits())
        .build()?;
    let superuser = Uid::new(DEFAULT_SUPERUSER)?;
    let credentials =
        Credentials::password(superuser, SecretString::from(DEFAULT_PASSWORD.to_owned()));
    let session = Session::from(dcos_connect::Session::login(base, credentials).await?);
    out.say(format!(
        "2. Logged in as {DEFAULT_SUPERUSER}\n   (on a real cluster: dcos-creds login --username <you>)"
    ))?;

    let keys = aws::KeyPair::new(
        EXAMPLE_KEY_ID.to_owned(),
        EXAMPLE_SECRET_KEY.to_owned(),
        "the demo",
    )?;
    let s3 = S3Input::of(keys);
    let reporter = Progress::new(*ui);
    let input = SetupSpec::default().read(std::path::Path::new(""), Some(s3))?;
    let prepared = input.prepare(&Destination::Report, &reporter)?;
    let mode = setup::settle_mode(&session.clients, None).await?;
    let job = prepared.in_mode(mode)?;
    let command = "$ dcos-creds dse setup --s3-from-env";
    let (first, failure) = split(setup::setup(&session.clients, &job, &reporter).await);
    out.say(format!(
        "3. Set up the Data Science Engine with AWS's documented example key pair (it opens\n   \
         nothing), as one plan: its service account and login secret, the ten Mesos permissions\n   \
         of strict mode, both secrets, and read permission on each for the account; one round\n   \
         of reads, then concurrent writes\n   {command}"
    ))?;
    out.steps(&first)?;
    if let Some(failure) = failure {
        return Err(failure);
    }

    let (rerun, failure) = split(setup::setup(&session.clients, &job, &reporter).await);
    out.say(format!(
        "4. Ran the same set-up again: {}, everything is in place\n   {command}",
        rerun.result.as_str()
    ))?;
    out.steps(&rerun)?;
    if let Some(failure) = failure {
        return Err(failure);
    }

    let secret_key =
        dse::ServiceName::new(dse::DEFAULT_SERVICE_NAME)?.secret_path("aws_secret_access_key")?;
    let access = dcos_ops::access::report(&session.clients, &secret_key)
        .await
        .context(format!("who can read `{secret_key}`"))?;
    out.say(format!(
        "5. Who can read {secret_key}, and who can see its name\n   $ dcos-creds access {secret_key}\n{}",
        indent(access.to_string().trim_end(), "     ")
    ))?;

    let options = job.options.options.clone();
    out.say(format!(
        "6. The service options. The package reads S3 settings from storage.s3; the top-level \
         `s3`\n   block of its documentation is silently ignored. Save them as options.json, then:\n   \
         $ dcos package install data-science-engine --options=options.json\n{}",
        dse::render(&options).trim_end()
    ))?;
    Ok(DemoReport {
        cluster: url,
        ca_fingerprint,
        setup: first,
        rerun,
        access,
        options,
    })
}
