//! Secret input: files, standard input and hidden prompts, for values, passwords, private keys
//! and AWS key pairs.
//!
//! Nothing here puts a value in an error message: errors name the file and the problem.

use std::fs::File;
use std::io::{IsTerminal, Read};
use std::path::Path;

use dcos_ops::{Reporter, aws};
use dcos_secrets_client::SecretValue;
use secrecy::SecretString;

use crate::args::CredentialArgs;
use crate::exit::{self, Failure};

/// Whether a path argument means standard input.
fn is_stdin(path: &Path) -> bool {
    path.as_os_str() == "-"
}

/// Reads a whole file, or standard input for `-`, byte for byte.
fn read_all(path: &Path) -> exit::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    let result = if is_stdin(path) {
        std::io::stdin().lock().read_to_end(&mut bytes)
    } else {
        File::open(path).and_then(|mut f| f.read_to_end(&mut bytes))
    };
    result.map_err(|e| Failure::usage(format!("cannot read {}: {e}", describe(path))))?;
    Ok(bytes)
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
pub fn secret_value(file: Option<&Path>, binary: bool, what: &str) -> exit::Result<SecretValue> {
    let bytes = match file {
        Some(path) => read_all(path)?,
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
    Ok(value)
}

/// A password: one line of standard input with `--password-stdin`, else a hidden prompt.
pub fn password(from_stdin: bool, uid: &str) -> exit::Result<SecretString> {
    let password = if from_stdin {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line).map_err(|e| {
            Failure::usage(format!("cannot read the password from standard input: {e}"))
        })?;
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
        read_all(path)?,
        &describe(path),
    )?)
}

/// How each source is named in messages, and the ways to supply a pair.
const HOW: &str = "pass --from-env (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), \
     --aws-profile NAME (the shared credentials file), or --from-stdin (the JSON of \
     `aws iam create-access-key`); keys are never taken as arguments";

/// The AWS key pair from the source the options name; without one, hidden prompts on a
/// terminal, else a failure that says how.
pub fn aws_key_pair(args: &CredentialArgs, reporter: &dyn Reporter) -> exit::Result<aws::KeyPair> {
    let pair = if args.from_env {
        aws::from_env("the environment", reporter)?
    } else if let Some(name) = &args.aws_profile {
        aws::from_profile(name)?
    } else if args.from_stdin {
        let mut bytes = Vec::new();
        std::io::stdin()
            .lock()
            .read_to_end(&mut bytes)
            .map_err(|e| Failure::usage(format!("cannot read standard input: {e}")))?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_read_exactly() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("v");
        std::fs::write(&file, b"line\n\n").unwrap();
        let v = secret_value(Some(&file), false, "x").unwrap();
        assert_eq!(v.expose_bytes(), b"line\n\n");
        std::fs::write(&file, [0xff, 0x00]).unwrap();
        let e = secret_value(Some(&file), false, "x").unwrap_err();
        assert_eq!(e.code, exit::USAGE);
        assert!(e.hint.unwrap().contains("--binary"));
        assert!(secret_value(Some(&file), true, "x").unwrap().is_binary());
    }

    #[test]
    fn private_keys_must_look_like_pem() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("k");
        std::fs::write(&file, "not a key").unwrap();
        let e = private_key(&file).unwrap_err();
        assert_eq!(e.code, exit::USAGE);
        assert!(!e.message.contains("not a key"));
    }
}
