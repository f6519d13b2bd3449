//! `service-account create`.

use dcos_iam_client::{KeySize, Uid};
use dcos_ops::accounts::{self, LoginSecret, NewAccount};
use dcos_secrets_client::SecretPath;

use crate::args::{KeyBits, ServiceAccountCreateArgs};
use crate::connect::Session;
use crate::exit::{self, Context};
use crate::output::{Progress, Ui};

pub async fn create(
    session: &Session,
    ui: &Ui,
    args: &ServiceAccountCreateArgs,
) -> exit::Result<()> {
    let login = match &args.secret {
        Some(path) => Some(LoginSecret {
            path: SecretPath::new(path).context("--secret")?,
            endpoint: args.login_endpoint.clone(),
        }),
        None => None,
    };
    let account = NewAccount {
        uid: Uid::new(&args.uid).context("the service account id")?,
        private_key_out: args.private_key_out.clone(),
        public_key_out: args.public_key_out.clone(),
        description: args.description.clone(),
        login,
        key_size: match args.key_size {
            KeyBits::Rsa2048 => KeySize::Rsa2048,
            KeyBits::Rsa4096 => KeySize::Rsa4096,
        },
    };
    let report = accounts::create(&session.clients, &account, &Progress::new(*ui)).await?;
    ui.emit(&report, || {
        let mut text = format!(
            "created service account {}\nprivate key: {} (mode 0600)",
            report.uid, report.private_key_file
        );
        if let Some(public) = &report.public_key_file {
            text.push_str(&format!("\npublic key: {public}"));
        }
        if let Some(path) = &report.secret {
            text.push_str(&format!("\nlogin secret: {path}"));
        }
        text
    })
}
