//! Secret input: files, standard input and hidden prompts, for values, passwords, private keys
//! and AWS key pairs.
//!
//! Nothing here puts a value in an error message: errors name the file and the problem.

use std::fs::File;
use std::io::{BufRead, IsTerminal, Read};
use std::path::Path;

use dcos_ops::{Reporter, aws, files};
use dcos_secrets_client::SecretValue;
use secrecy::SecretString;

use crate::args::CredentialArgs;
use crate::exit::{self, Failure};

/// Whether a path argument means standard input.
fn is_stdin(path: &Path) -> bool {
    path.as_os_str() == "-"
}

/// Reads a whole file, or standard input for `-`, byte for byte: at most `limit` bytes, and
/// one more to know that there are more (which is refused without reading on).
pub fn read_all(path: &Path, limit: u64) -> exit::Result<Vec<u8>> {
    let result = if is_stdin(path) {
        files::read_at_most(std::io::stdin().lock(), limit)
    } else {
        File::open(path).and_then(|f| files::read_at_most(f, limit))
    };
    let read =
        result.map_err(|e| Failure::usage(format!("cannot read {}: {e}", describe(path))))?;
    read.ok_or_else(|| files::too_large(&describe(path), limit).into())
}

fn describe(path: &Path) -> String {
    if is_stdin(path) {
        "standard input".to_owned()
    } else {
        path.display().to_string()
    }
}

/// A secret value: from `file` (`-` for standard input) exactly as read, or from a hidden
/// prompt when standard input is a terminal. Text values must be UTF-8.
pub fn secret_value(
    file: Option<&Path>,
    binary: bool,
    allow_empty: bool,
    what: &str,
) -> exit::Result<SecretValue> {
    let bytes = match file {
        Some(path) => read_all(path, files::VALUE_LIMIT)?,
        None if std::io::stdin().is_terminal() && !binary => {
            let _prompting = crate::interrupt::Prompting::start();
            let value =
                rpassword::prompt_password(format!("Value of {what} (hidden): ")).map_err(|e| {
                    Failure::usage(format!("cannot read the value from the terminal: {e}"))
                })?;
            value.into_bytes()
        }
        None => {
            return Err(Failure::usage(format!("no value given for {what}")).hint(
                "pass --value-file FILE, or --value-file - to read standard input; \
                 a value is never taken as an argument",
            ));
        }
    };
    let value = SecretValue::from_bytes(bytes, binary).map_err(|e| {
        Failure::usage(format!("the value of {what}: {e}"))
            .hint("store non-UTF-8 data with --binary")
    })?;
    value
        .check_size()
        .map_err(|e| Failure::usage(e.to_string()))?;
    if value.is_empty() && !allow_empty {
        return Err(
            Failure::usage(format!("the value of {what} is empty")).hint(
                "nothing was sent; pass --allow-empty to store an empty value (an empty file or a \
             failed pipe is refused so that it cannot wipe a secret)",
            ),
        );
    }
    Ok(value)
}

/// A password: one line of standard input with `--password-stdin`, else a hidden prompt.
pub fn password(from_stdin: bool, uid: &str) -> exit::Result<SecretString> {
    let password = if from_stdin {
        let mut line = String::new();
        let read = std::io::stdin()
            .lock()
            .take(files::KEY_LIMIT + 1)
            .read_line(&mut line)
            .map_err(|e| {
                Failure::usage(format!("cannot read the password from standard input: {e}"))
            })?;
        if read as u64 > files::KEY_LIMIT {
            return Err(
                files::too_large("the password on standard input", files::KEY_LIMIT).into(),
            );
        }
        line.truncate(line.trim_end_matches(['\r', '\n']).len());
        line
    } else if std::io::stdin().is_terminal() {
        let _prompting = crate::interrupt::Prompting::start();
        rpassword::prompt_password(format!("Password for {uid}: "))
            .map_err(|e| Failure::usage(format!("cannot read the password: {e}")))?
    } else {
        return Err(Failure::usage(
            "standard input is not a terminal, so there is no one to ask for the password",
        )
        .hint("pipe it in with --password-stdin"));
    };
    if password.is_empty() {
        return Err(Failure::usage("the password is empty"));
    }
    Ok(SecretString::from(password))
}

/// A private key in PEM form, from a file or `-`.
pub fn private_key(path: &Path) -> exit::Result<SecretString> {
    Ok(dcos_ops::files::private_key_pem(
        read_all(path, files::KEY_LIMIT)?,
        &describe(path),
    )?)
}

/// How each source is named in messages, and the ways to supply a pair.
const HOW: &str = "pass --from-env (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), \
     --aws-profile NAME or AWS_PROFILE (the shared credentials or config file), or --from-stdin (the JSON \
     of `aws iam create-access-key`); keys are never taken as arguments";

/// `AWS_PROFILE`, when set and not empty.
fn aws_profile_env() -> Option<String> {
    std::env::var("AWS_PROFILE").ok().filter(|p| !p.is_empty())
}

/// Whether the key pair would be asked for on the terminal (no source given).
pub fn aws_keys_prompted(args: &CredentialArgs) -> bool {
    !args.from_env
        && args.aws_profile.is_none()
        && !args.from_stdin
        && aws_profile_env().is_none()
        && std::io::stdin().is_terminal()
}

/// The AWS key pair from the source the options name (or AWS_PROFILE); without one, hidden prompts on a
/// terminal, else a failure that says how.
pub fn aws_key_pair(args: &CredentialArgs, reporter: &dyn Reporter) -> exit::Result<aws::KeyPair> {
    let pair = if args.from_env {
        aws::from_env("the environment", reporter)?
    } else if let Some(name) = &args.aws_profile {
        aws::from_profile(name, reporter)?
    } else if let Some(name) = aws_profile_env().filter(|_| !args.from_stdin) {
        // As the AWS CLI does: AWS_PROFILE names the profile when no flag does.
        tracing::info!("AWS key pair from profile `{name}` (AWS_PROFILE)");
        aws::from_profile(&name, reporter).map_err(|e| Failure::from(e).context("AWS_PROFILE"))?
    } else if args.from_stdin {
        let bytes = read_all(Path::new("-"), files::KEY_LIMIT)?;
        aws::from_json(&bytes, "standard input")?
    } else if std::io::stdin().is_terminal() {
        let _prompting = crate::interrupt::Prompting::start();
        let ask = |what: &str| {
            rpassword::prompt_password(format!("{what} (hidden): ")).map_err(|e| {
                Failure::usage(format!("cannot read the {what} from the terminal: {e}"))
            })
        };
        let id = ask("AWS access key id")?;
        let secret = ask("AWS secret access key")?;
        aws::KeyPair::new(id, secret, "the terminal")?
    } else {
        return Err(
            Failure::usage("no AWS credentials given, and there is no terminal to ask").hint(HOW),
        );
    };
    pair.warn_if_temporary(reporter);
    Ok(pair)
}

/// The brake on a destructive command. With `--yes` it goes ahead. On a terminal it shows
/// A plan's changing `steps`, shown and confirmed at a prompt as [`confirm`] does (a caller
/// with `--yes` has no prompt to show). What the person confirmed comes back, for the run to
/// check against the cluster as it is by then (it changes nothing, exit 8, if the cluster
/// moved).
pub fn confirm_steps(
    question: &str,
    steps: &[dcos_ops::Step],
) -> exit::Result<dcos_ops::Confirmed> {
    let planned: Vec<String> = steps
        .iter()
        .filter(|s| s.changes())
        .map(ToString::to_string)
        .collect();
    confirm(false, question, &planned)?;
    Ok(dcos_ops::Confirmed::of(steps))
}

/// `plan` and asks `question`; anything but `y` or `yes` stops it (exit 1). Without a terminal
/// and without `--yes` it refuses (exit 2): a script must say that it means it.
pub fn confirm(yes: bool, question: &str, plan: &[String]) -> exit::Result<()> {
    if yes {
        return Ok(());
    }
    if !(std::io::stdin().is_terminal() && std::io::stderr().is_terminal()) {
        return Err(Failure::usage(format!(
            "{question}: not without --yes, since there is no terminal to ask on; nothing was changed"
        ))
        .hint("review the plan with --dry-run, then run again with --yes"));
    }
    for line in plan {
        eprintln!("  {}", crate::output::one_line(line));
    }
    eprint!("{question}? [y/N] ");
    let _prompting = crate::interrupt::Prompting::start();
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|e| Failure::usage(format!("cannot read the answer: {e}")))?;
    match answer.trim().to_ascii_lowercase().as_str() {
        "y" | "yes" => Ok(()),
        _ => Err(Failure::new(
            exit::FAILURE,
            "not confirmed; nothing was changed",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_read_exactly() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("v");
        std::fs::write(&file, b"line\n\n").unwrap();
        let v = secret_value(Some(&file), false, false, "x").unwrap();
        assert_eq!(v.expose_bytes(), b"line\n\n");
        std::fs::write(&file, [0xff, 0x00]).unwrap();
        let e = secret_value(Some(&file), false, false, "x").unwrap_err();
        assert_eq!(e.code, exit::USAGE);
        assert!(e.hint.unwrap().contains("--binary"));
        assert!(
            secret_value(Some(&file), true, false, "x")
                .unwrap()
                .is_binary()
        );
    }
}
