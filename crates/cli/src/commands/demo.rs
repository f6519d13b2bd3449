//! `demo`: the whole S3 onboarding against a cluster emulated in this process.
//!
//! It runs the same code as the real commands (session, service-account registration, the
//! onboarding with its plan and undo, `access`); only the cluster is local.

use dcos_emulator::{DEFAULT_PASSWORD, DEFAULT_SUPERUSER, Emulator};
use dcos_iam_client::{Credentials, KeyPair, KeySize, Uid};
use dcos_ops::accounts::{self, LoginSecret};
use dcos_ops::dse::{self, Destination, OptionsLayout, ServiceName};
use dcos_ops::s3::{self, Onboarding, Paths};
use dcos_ops::{Failed, S3Report, aws};
use dcos_secrets_client::SecretPath;
use dcos_transport::Transport;
use secrecy::SecretString;

use crate::connect::{self, Session};
use crate::exit::{self, Context, Failure};
use crate::output::{Progress, Ui, write_stdout};

/// AWS's documented example key pair: well known, and it opens nothing.
const EXAMPLE_KEY_ID: &str = "AKIAIOSFODNN7EXAMPLE";
const EXAMPLE_SECRET_KEY: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
/// The demo's service account and its login secret.
const ACCOUNT: &str = "dse";
const LOGIN_SECRET: &str = "data-science-engine/service-account";

/// `demo -o json`.
#[derive(Debug, serde::Serialize)]
pub struct DemoReport {
    pub cluster: String,
    /// The pinned CA's SHA-256 fingerprint.
    pub ca_fingerprint: String,
    pub service_account: String,
    pub login_secret: String,
    pub onboarding: S3Report,
    /// The same onboarding run again: unchanged.
    pub rerun: S3Report,
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

    fn steps(&self, report: &S3Report) -> exit::Result<()> {
        let lines: String = report.steps.iter().map(|s| format!("     {s}\n")).collect();
        self.say(lines.trim_end())
    }
}

pub async fn run(ui: &Ui) -> exit::Result<()> {
    let out = Narrator { json: ui.json() };
    out.say(
        "dcos-creds demo: the Data Science Engine's S3 onboarding, end to end, against a DC/OS \
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
fn split(result: dcos_ops::RunResult<S3Report>) -> (S3Report, Option<Failure>) {
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
        .map(|der| connect::fingerprint(der))
        .unwrap_or_default();
    out.say(format!(
        "1. Started the emulated cluster at {url}\n   \
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

    let account = Uid::new(ACCOUNT)?;
    let login_secret = SecretPath::new(LOGIN_SECRET)?;
    let keys = KeyPair::generate(KeySize::Rsa2048)?;
    let description = format!("Service account {ACCOUNT}, created by dcos-creds demo");
    let login = LoginSecret {
        path: login_secret.clone(),
        endpoint: dcos_iam_client::DEFAULT_LOGIN_ENDPOINT.to_owned(),
    };
    accounts::register(
        &session.clients,
        &account,
        &description,
        &keys,
        Some(&login),
    )
    .await?;
    out.say(format!(
        "3. Created the service account {ACCOUNT} and its login secret {LOGIN_SECRET}\n   \
         $ dcos-creds service-account create {ACCOUNT} --private-key-out {ACCOUNT}.pem --secret {LOGIN_SECRET}"
    ))?;

    let paths = Paths::of(ServiceName::new(dse::DEFAULT_SERVICE_NAME)?)?;
    let pair = aws::KeyPair::new(
        EXAMPLE_KEY_ID.to_owned(),
        EXAMPLE_SECRET_KEY.to_owned(),
        "the demo",
    )?;
    let reporter = Progress::new(*ui);
    let job = Onboarding::prepare(
        account,
        login_secret,
        paths,
        &OptionsLayout::default(),
        &Destination::Report,
        &reporter,
    )?
    .with_keys(pair);
    let command = format!(
        "$ dcos-creds s3 onboard --service-account {ACCOUNT} --service-account-secret {LOGIN_SECRET} --from-env"
    );
    let (onboarding, failure) = split(s3::onboard(&session.clients, &job, &reporter).await);
    out.say(format!(
        "4. Onboarded AWS's documented example key pair (it opens nothing): one round of\n   \
         reads, then both secrets and read permission on their names for {ACCOUNT} in two rounds\n   \
         of concurrent writes\n   {command}"
    ))?;
    out.steps(&onboarding)?;
    if let Some(failure) = failure {
        return Err(failure);
    }

    let (rerun, failure) = split(s3::onboard(&session.clients, &job, &reporter).await);
    out.say(format!(
        "5. Ran the same onboarding again: {}, everything is in place\n   {command}",
        rerun.result.as_str()
    ))?;
    out.steps(&rerun)?;
    if let Some(failure) = failure {
        return Err(failure);
    }

    let secret_key = &job.paths.secret_key;
    let access = dcos_ops::access::report(&session.clients, secret_key)
        .await
        .context(format!("who can read `{secret_key}`"))?;
    let tables: String = access
        .to_string()
        .lines()
        .map(|l| {
            if l.is_empty() {
                "\n".to_owned()
            } else {
                format!("     {l}\n")
            }
        })
        .collect();
    out.say(format!(
        "6. Who can read {secret_key}, and who can see its name\n   $ dcos-creds access {secret_key}\n{}",
        tables.trim_end()
    ))?;

    let options = job.options.options.clone();
    out.say(format!(
        "7. The service options. The package reads S3 settings from storage.s3; the top-level \
         `s3`\n   block of its documentation is silently ignored. Save them as options.json, then:\n   \
         $ dcos package install data-science-engine --options=options.json\n{}",
        dse::render(&options).trim_end()
    ))?;
    Ok(DemoReport {
        cluster: url,
        ca_fingerprint,
        service_account: ACCOUNT.to_owned(),
        login_secret: LOGIN_SECRET.to_owned(),
        onboarding,
        rerun,
        access,
        options,
    })
}
