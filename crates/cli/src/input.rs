//! Secret input (files, standard input, hidden prompts) and files that must not be clobbered.
//!
//! Nothing here puts a value in an error message: errors name the file and the problem.

use std::fs::File;
use std::io::{IsTerminal, Read, Write};
use std::path::Path;

use dcos_secrets_client::SecretValue;
use secrecy::SecretString;

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
    let bytes = read_all(path)?;
    let text = String::from_utf8(bytes)
        .map_err(|_| Failure::usage(format!("{} is not a PEM private key", describe(path))))?;
    if !text.contains("-----BEGIN") || !text.contains("PRIVATE KEY-----") {
        return Err(Failure::usage(format!(
            "{} is not a PEM private key",
            describe(path)
        )));
    }
    Ok(SecretString::from(text))
}

/// An existing file that this tool will not overwrite: a conflict.
fn exists(path: &Path) -> Failure {
    Failure::new(
        exit::CONFLICT,
        format!(
            "{} already exists; refusing to overwrite it",
            path.display()
        ),
    )
    .hint("choose another file name, or move the existing file away")
}

/// Fails early when `path` exists, before anything else is done.
pub fn ensure_absent(path: &Path) -> exit::Result<()> {
    if path.exists() {
        return Err(exists(path));
    }
    Ok(())
}

/// Writes `bytes` to the new file `path`, never replacing one (an existing file is a
/// conflict). The bytes go to a temporary file beside it, flushed, then linked into place only
/// if `path` still does not exist: a reader (another run racing for the same file) sees no
/// file or the whole file, and a run killed midway leaves no partial one. `private` files are
/// 0600 from the start, others 0644 (on Unix).
pub fn write_new(path: &Path, bytes: &[u8], private: bool) -> exit::Result<()> {
    let failed = |e: std::io::Error| {
        Failure::new(
            exit::FAILURE,
            format!("cannot write {}: {e}", path.display()),
        )
    };
    let mut file = tempfile::NamedTempFile::new_in(folder(path))
        .map_err(|e| Failure::usage(format!("cannot create {}: {e}", path.display())))?;
    if !private {
        shareable(file.as_file()).map_err(failed)?;
    }
    file.write_all(bytes)
        .and_then(|()| file.as_file().sync_all())
        .map_err(failed)?;
    file.persist_noclobber(path)
        .map_err(|e| match e.error.kind() {
            std::io::ErrorKind::AlreadyExists => exists(path),
            _ => failed(e.error),
        })?;
    Ok(())
}

/// The folder a file goes in (`.` for a bare name): where its temporary file is made.
pub fn folder(path: &Path) -> &Path {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
}

/// Makes a file readable by everyone, like any configuration file.
#[cfg(unix)]
pub fn shareable(file: &File) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    file.set_permissions(std::fs::Permissions::from_mode(0o644))
}

#[cfg(not(unix))]
pub fn shareable(_: &File) -> std::io::Result<()> {
    Ok(())
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
    fn new_files_are_private_and_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("key.pem");
        write_new(&file, b"one", true).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&file).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let e = write_new(&file, b"two", true).unwrap_err();
        assert_eq!(e.code, exit::CONFLICT);
        assert_eq!(std::fs::read(&file).unwrap(), b"one");
        assert_eq!(ensure_absent(&file).unwrap_err().code, exit::CONFLICT);
        // Nothing else is left in the folder: the temporary file became the file.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        let public = dir.path().join("ca.pem");
        write_new(&public, b"cert", false).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&public).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o644);
        }
    }

    #[test]
    fn private_keys_must_look_like_pem() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("k");
        std::fs::write(&file, "not a key").unwrap();
        let e = private_key(&file).unwrap_err();
        assert!(!e.message.contains("not a key"));
    }
}
