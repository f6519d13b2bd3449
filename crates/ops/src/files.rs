//! Files the workflows read and write: private keys, options files. New files are never
//! clobbered and never seen half written; nothing here puts a file's content in an error.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use secrecy::SecretString;

use crate::error::{Error, ErrorKind, Remedy, Result};

/// The temporary files being written now, so that a process told to stop at once can remove
/// them (a temporary file may hold a private key).
static TEMPORARIES: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// A temporary file beside the file it becomes, known to [`remove_temporary_files`] while it
/// lives.
pub(crate) struct Temporary {
    file: Option<tempfile::NamedTempFile>,
    path: PathBuf,
}

impl Temporary {
    pub(crate) fn beside(path: &Path) -> std::io::Result<Self> {
        let file = tempfile::NamedTempFile::new_in(folder(path))?;
        let temp = file.path().to_owned();
        if let Ok(mut live) = TEMPORARIES.lock() {
            live.push(temp.clone());
        }
        Ok(Self {
            file: Some(file),
            path: temp,
        })
    }

    /// The open file.
    pub(crate) fn file(&mut self) -> &mut tempfile::NamedTempFile {
        self.file
            .as_mut()
            .expect("a temporary file is open until it is persisted")
    }

    /// Links the file into place only if `path` does not exist.
    pub(crate) fn persist_noclobber(mut self, path: &Path) -> std::io::Result<()> {
        match self.file.take() {
            Some(file) => file.persist_noclobber(path).map(drop).map_err(|e| e.error),
            None => Ok(()),
        }
    }

    /// Renames the file over `path`.
    pub(crate) fn persist(mut self, path: &Path) -> std::io::Result<()> {
        match self.file.take() {
            Some(file) => file.persist(path).map(drop).map_err(|e| e.error),
            None => Ok(()),
        }
    }
}

impl Drop for Temporary {
    fn drop(&mut self) {
        forget(&self.path);
    }
}

fn forget(path: &Path) {
    if let Ok(mut live) = TEMPORARIES.lock() {
        live.retain(|p| p != path);
    }
}

/// Removes the temporary files being written now: for a process that must stop at once,
/// where their destructors will not run.
pub fn remove_temporary_files() {
    let live = match TEMPORARIES.lock() {
        Ok(mut live) => std::mem::take(&mut *live),
        Err(_) => return,
    };
    for path in live {
        let _ = std::fs::remove_file(path);
    }
}

/// An existing file that a workflow will not overwrite: a conflict.
pub(crate) fn exists(path: &Path) -> Error {
    Error::conflict(format!(
        "{} already exists; refusing to overwrite it",
        path.display()
    ))
    .with_remedy(Remedy::Advice(
        "choose another file name, or move the existing file away".into(),
    ))
}

/// Fails early when `path` exists, before anything else is done.
pub fn ensure_absent(path: &Path) -> Result<()> {
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
pub fn write_new(path: &Path, bytes: &[u8], private: bool) -> Result<()> {
    let failed = |e| {
        Error::io(
            ErrorKind::Failed,
            format!("cannot write {}", path.display()),
            e,
        )
    };
    let mut temp = Temporary::beside(path).map_err(|e| {
        Error::io(
            ErrorKind::Invalid,
            format!("cannot create {}", path.display()),
            e,
        )
    })?;
    let file = temp.file();
    if !private {
        shareable(file.as_file()).map_err(failed)?;
    }
    file.write_all(bytes)
        .and_then(|()| file.as_file().sync_all())
        .map_err(failed)?;
    temp.persist_noclobber(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::AlreadyExists => exists(path),
        _ => failed(e),
    })
}

/// The folder a file goes in (`.` for a bare name): where its temporary file is made.
pub(crate) fn folder(path: &Path) -> &Path {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
}

/// Makes a file readable by everyone, like any configuration file.
#[cfg(unix)]
pub(crate) fn shareable(file: &File) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    file.set_permissions(std::fs::Permissions::from_mode(0o644))
}

#[cfg(not(unix))]
pub(crate) fn shareable(_: &File) -> std::io::Result<()> {
    Ok(())
}

/// Whether the file at `path` may be read by others than its owner.
#[cfg(unix)]
pub(crate) fn readable_by_others(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o044 != 0)
}

#[cfg(not(unix))]
pub(crate) fn readable_by_others(_: &Path) -> bool {
    false
}

/// Makes a file readable and writable by its owner alone.
#[cfg(unix)]
pub(crate) fn owner_only(file: &File) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    file.set_permissions(std::fs::Permissions::from_mode(0o600))
}

#[cfg(not(unix))]
pub(crate) fn owner_only(_: &File) -> std::io::Result<()> {
    Ok(())
}

/// Checks that `text`, read from `what`, is a PEM private key.
pub fn private_key_pem(text: Vec<u8>, what: &str) -> Result<SecretString> {
    let not_a_key = || Error::invalid(format!("{what} is not a PEM private key"));
    let text = String::from_utf8(text).map_err(|_| not_a_key())?;
    if !text.contains("-----BEGIN") || !text.contains("PRIVATE KEY-----") {
        return Err(not_a_key());
    }
    Ok(SecretString::from(text))
}

/// The most bytes read of a private or public key, a password, or a key pair's JSON.
pub const KEY_LIMIT: u64 = 64 * 1024;
/// The most bytes read of a secret value: the largest value the Secrets API stores.
pub const VALUE_LIMIT: u64 = dcos_secrets_client::MAX_VALUE_BYTES as u64;
/// The most bytes read of a CA bundle, a credentials file or a configuration file.
pub const CONFIG_LIMIT: u64 = 1024 * 1024;
/// The most bytes read of an options file.
pub const OPTIONS_LIMIT: u64 = 4 * 1024 * 1024;
/// The most bytes read of a manifest (a hundred thousand items fit).
pub const MANIFEST_LIMIT: u64 = 32 * 1024 * 1024;

/// Reads `reader` to its end, but never more than `limit` bytes and one: `None` when there is
/// more (so `/dev/zero` or a runaway pipe costs at most the limit).
pub fn read_at_most(reader: impl std::io::Read, limit: u64) -> std::io::Result<Option<Vec<u8>>> {
    use std::io::Read;
    let mut bytes = Vec::new();
    reader.take(limit + 1).read_to_end(&mut bytes)?;
    Ok((bytes.len() as u64 <= limit).then_some(bytes))
}

/// The error for input larger than `limit`.
pub fn too_large(what: &str, limit: u64) -> Error {
    Error::invalid(format!("{what} is larger than {limit} bytes"))
}

/// Checks that a file a run would resume from (a recovery file, the key it names) is the
/// user's own: a regular file (not a symlink), owned by the user running the command, readable
/// by nobody else (mode 0600 or stricter), in a folder that nobody else may write to. Anything
/// else may have been planted, and is refused ([`ErrorKind::Conflict`]) naming the file and
/// why; it is left in place.
pub fn check_own_file(path: &Path, what: &str) -> Result<()> {
    use std::os::unix::fs::MetadataExt;
    let refuse = |why: String| {
        Error::conflict(format!(
            "{} {} is not used: {why}; someone else may have put it there (check it, then \
             remove it)",
            what,
            path.display()
        ))
    };
    let meta = std::fs::symlink_metadata(path).map_err(|e| unreadable(path, what, e))?;
    if meta.file_type().is_symlink() {
        return Err(refuse("it is a symbolic link".into()));
    }
    if !meta.is_file() {
        return Err(refuse("it is not a regular file".into()));
    }
    let me = rustix::process::geteuid().as_raw();
    if meta.uid() != me {
        return Err(refuse(format!(
            "it is owned by uid {}, not by you ({me})",
            meta.uid()
        )));
    }
    if meta.mode() & 0o077 != 0 {
        return Err(refuse(format!(
            "its mode is {:o}, readable or writable by others (0600 is expected)",
            meta.mode() & 0o777
        )));
    }
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let dir = std::fs::metadata(&parent).map_err(|e| unreadable(&parent, "the folder", e))?;
    if dir.mode() & 0o022 != 0 {
        return Err(refuse(format!(
            "its folder {} may be written by others (mode {:o})",
            parent.display(),
            dir.mode() & 0o777
        )));
    }
    Ok(())
}

/// A password from a file: its text, with one trailing newline (`\n` or `\r\n`) dropped, as
/// `echo` or an editor leave one. An empty password is refused; the error names the file, never
/// the text.
pub fn read_password(path: &Path) -> Result<SecretString> {
    let text = read_text(path, "the password file", KEY_LIMIT)?;
    let password = text
        .strip_suffix("\r\n")
        .or_else(|| text.strip_suffix('\n'))
        .unwrap_or(&text);
    if password.is_empty() {
        return Err(Error::invalid(format!(
            "the password file {} is empty",
            path.display()
        )));
    }
    Ok(SecretString::from(password.to_owned()))
}

/// A whole file of at most [`VALUE_LIMIT`] bytes (the largest secret): keytabs, stores.
pub fn read_value_file(path: &Path) -> Result<Vec<u8>> {
    read(path, "", VALUE_LIMIT)
}

/// A private key in PEM form, from a file.
pub fn read_private_key(path: &Path) -> Result<SecretString> {
    private_key_pem(read(path, "", KEY_LIMIT)?, &path.display().to_string())
}

/// A whole file of at most `limit` bytes; an error names `what` it is (`the manifest`,
/// `from_file`) and the file.
pub(crate) fn read(path: &Path, what: &str, limit: u64) -> Result<Vec<u8>> {
    let read = File::open(path).and_then(|file| read_at_most(file, limit));
    match read.map_err(|e| unreadable(path, what, e))? {
        Some(bytes) => Ok(bytes),
        None => Err(too_large(&name(path, what), limit)),
    }
}

/// A whole UTF-8 text file, like [`read`].
pub(crate) fn read_text(path: &Path, what: &str, limit: u64) -> Result<String> {
    String::from_utf8(read(path, what, limit)?)
        .map_err(|_| Error::invalid(format!("{} is not UTF-8 text", name(path, what))))
}

/// `what` with the file's name: `the manifest cluster.toml`.
fn name(path: &Path, what: &str) -> String {
    match what {
        "" => path.display().to_string(),
        what => format!("{what} {}", path.display()),
    }
}

fn unreadable(path: &Path, what: &str, error: std::io::Error) -> Error {
    Error::io(
        ErrorKind::Invalid,
        format!("cannot read {}", name(path, what)),
        error,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Requirement: input past its limit is refused after reading the limit and one byte;
    /// input of exactly the limit is whole. (The end-to-end tests refuse `/dev/zero`.)
    #[test]
    fn reading_stops_one_byte_past_the_limit() {
        let exactly = read_at_most(&[b'a'; 16][..], 16).unwrap();
        assert_eq!(exactly.map(|v| v.len()), Some(16));
        assert_eq!(read_at_most(&[b'a'; 17][..], 16).unwrap(), None);
        let mut endless = std::io::repeat(b'a');
        assert_eq!(read_at_most(&mut endless, 1 << 20).unwrap(), None);
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
        assert_eq!(e.kind(), ErrorKind::Conflict);
        assert_eq!(std::fs::read(&file).unwrap(), b"one");
        assert_eq!(
            ensure_absent(&file).unwrap_err().kind(),
            ErrorKind::Conflict
        );
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
        let e = read_private_key(&file).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Invalid);
        assert!(!e.full_message().contains("not a key"));
    }
}
