//! The backup file: age around JSON lines, written beside its name and renamed into place.

use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use age::secrecy::{ExposeSecret, SecretString};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use dcos_secrets_client::{SecretPath, SecretValue};
use serde::{Deserialize, Serialize};

use super::{Contents, Counts, SavedAcl, SavedGroup, SavedUser};
use crate::error::{Error, ErrorKind, Result};
use crate::files::Temporary;

/// What the header names the format.
const FORMAT: &str = "dcos-creds backup";
const VERSION: u32 = 1;

/// Whom a backup is encrypted for.
#[derive(Debug, Clone)]
pub enum Key {
    /// A passphrase (age's scrypt recipient).
    Passphrase(SecretString),
    /// age X25519 recipients (`age1...`) and SSH public keys (`ssh-ed25519 ...`,
    /// `ssh-rsa ...`), checked by [`Key::recipients`].
    Recipients(Vec<String>),
}

/// How a backup is opened.
#[derive(Debug, Clone)]
pub enum Unlock {
    /// The passphrase it was encrypted with.
    Passphrase(SecretString),
    /// A file of age identities (`AGE-SECRET-KEY-1...`), or an unencrypted SSH private key.
    Identity(PathBuf),
}

/// Where a restore, diff or export reads what to put back.
#[derive(Debug, Clone)]
pub enum Source {
    /// A backup, and how to open it.
    Backup { file: PathBuf, unlock: Unlock },
    /// A `dcos-migrate` secrets file (plaintext).
    DcosMigrate(PathBuf),
}

impl Source {
    /// The source the options name: a backup `file` with exactly one of `passphrase_file` and
    /// `identity`, or a `dcos_migrate` file with neither; `None` when neither file is given.
    pub fn of(
        file: Option<&Path>,
        dcos_migrate: Option<&Path>,
        passphrase_file: Option<&Path>,
        identity: Option<&Path>,
    ) -> Result<Option<Self>> {
        match (file, dcos_migrate, passphrase_file, identity) {
            (Some(_), Some(_), ..) => Err(Error::invalid(
                "give a backup FILE or --from-dcos-migrate FILE, not both",
            )),
            (None, Some(f), None, None) => Ok(Some(Source::DcosMigrate(f.to_owned()))),
            (None, Some(_), ..) => Err(Error::invalid(
                "a dcos-migrate file is not encrypted: drop --passphrase-file and --identity",
            )),
            (Some(f), None, Some(p), None) => Ok(Some(Source::Backup {
                file: f.to_owned(),
                unlock: Unlock::Passphrase(crate::files::read_password(p)?),
            })),
            (Some(f), None, None, Some(i)) => Ok(Some(Source::Backup {
                file: f.to_owned(),
                unlock: Unlock::Identity(i.to_owned()),
            })),
            (Some(_), None, None, None) => Err(Error::invalid(
                "a backup opens with --passphrase-file F or --identity F",
            )),
            (Some(_), None, Some(_), Some(_)) => Err(Error::invalid(
                "give --passphrase-file or --identity, not both",
            )),
            (None, None, ..) => Ok(None),
        }
    }

    /// Reads and checks all of it.
    pub fn read(&self) -> Result<Contents> {
        match self {
            Source::Backup { file, unlock } => read(file, unlock),
            Source::DcosMigrate(file) => super::from_dcos_migrate(file),
        }
    }
}

impl Key {
    /// The key the options name: the passphrase in `passphrase_file`, or `recipients`.
    pub fn of(passphrase_file: Option<&Path>, recipients: &[String]) -> Result<Self> {
        match (passphrase_file, recipients.is_empty()) {
            (Some(path), true) => Ok(Key::Passphrase(crate::files::read_password(path)?)),
            (None, false) => Key::recipients(recipients),
            (Some(_), false) => Err(Error::invalid(
                "age encrypts to a passphrase or to recipients, not both",
            )),
            (None, true) => Err(Error::invalid(
                "a backup is encrypted: give --passphrase-file F or --recipient R",
            )),
        }
    }

    /// The recipients, each checked: an error names the one that is not a recipient.
    pub fn recipients(given: &[String]) -> Result<Self> {
        if given.is_empty() {
            return Err(Error::invalid("no recipient was given"));
        }
        for recipient in given {
            parse_recipient(recipient)?;
        }
        Ok(Key::Recipients(given.to_vec()))
    }

    fn encryptor(&self) -> Result<age::Encryptor> {
        match self {
            Key::Passphrase(passphrase) => {
                if passphrase.expose_secret().is_empty() {
                    return Err(Error::invalid("the passphrase is empty"));
                }
                Ok(age::Encryptor::with_user_passphrase(passphrase.clone()))
            }
            Key::Recipients(given) => {
                let recipients = given
                    .iter()
                    .map(|r| parse_recipient(r))
                    .collect::<Result<Vec<_>>>()?;
                age::Encryptor::with_recipients(recipients.iter().map(|r| r.as_ref() as _))
                    .map_err(|e| Error::invalid(format!("cannot encrypt to these recipients: {e}")))
            }
        }
    }
}

fn parse_recipient(given: &str) -> Result<Box<dyn age::Recipient + Send>> {
    let given = given.trim();
    let parsed: std::result::Result<Box<dyn age::Recipient + Send>, String> =
        if given.starts_with("age1") {
            age::x25519::Recipient::from_str(given)
                .map(|r| Box::new(r) as _)
                .map_err(str::to_owned)
        } else if given.starts_with("ssh-") {
            age::ssh::Recipient::from_str(given)
                .map(|r| Box::new(r) as _)
                .map_err(|e| format!("{e:?}"))
        } else {
            Err(
                "expected an age recipient (age1...) or an SSH public key (ssh-ed25519 or \
                 ssh-rsa)"
                    .to_owned(),
            )
        };
    // What was given is not echoed: a private key given by mistake must not be printed.
    parsed.map_err(|why| {
        Error::invalid(format!(
            "a recipient given is not an age or SSH recipient: {why}"
        ))
    })
}

/// One line of a backup.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Record {
    Header(Header),
    Secret(SavedSecret),
    User(SavedUser),
    Group(SavedGroup),
    Acl(SavedAcl),
    End(Counts),
}

#[derive(Serialize, Deserialize)]
pub(crate) struct Header {
    format: String,
    version: u32,
    cluster: String,
    created: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    under: Option<String>,
}

/// A secret's bytes, base64.
#[derive(Serialize, Deserialize)]
pub(crate) struct SavedSecret {
    path: String,
    binary: bool,
    value: String,
}

/// A backup being written: to a temporary file beside its name, mode 0600, which a process
/// told to stop at once removes ([`crate::files::remove_temporary_files`]).
pub(crate) struct Sink {
    out: PathBuf,
    temporary: Temporary,
    writer: age::stream::StreamWriter<BufWriter<std::fs::File>>,
}

impl Sink {
    /// Starts the file; `out` must not exist (a backup never overwrites).
    pub fn create(out: &Path, key: &Key) -> Result<Self> {
        crate::files::ensure_absent(out)?;
        let encryptor = key.encryptor()?;
        let mut temporary = Temporary::beside(out).map_err(|e| write_error(out, e))?;
        let handle = temporary.file().as_file().try_clone();
        let writer = handle
            .and_then(|file| encryptor.wrap_output(BufWriter::new(file)))
            .map_err(|e| write_error(out, e))?;
        Ok(Self {
            out: out.to_owned(),
            temporary,
            writer,
        })
    }

    pub fn record(&mut self, record: &Record) -> Result<()> {
        serde_json::to_writer(&mut self.writer, record)
            .map_err(|e| write_error(&self.out, std::io::Error::other(e)))?;
        self.writer
            .write_all(b"\n")
            .map_err(|e| write_error(&self.out, e))
    }

    pub fn header(&mut self, cluster: &str, under: Option<&SecretPath>) -> Result<()> {
        let created = humantime::format_rfc3339_seconds(std::time::SystemTime::now());
        self.record(&Record::Header(Header {
            format: FORMAT.to_owned(),
            version: VERSION,
            cluster: cluster.to_owned(),
            created: created.to_string(),
            under: under.map(ToString::to_string),
        }))
    }

    pub fn secret(&mut self, path: &str, value: &SecretValue) -> Result<()> {
        self.record(&Record::Secret(SavedSecret {
            path: path.to_owned(),
            binary: value.is_binary(),
            value: STANDARD.encode(value.expose_bytes()),
        }))
    }

    /// Closes the file with its counts, and links it into place unless something took the
    /// name meanwhile.
    pub fn finish(mut self, counts: Counts) -> Result<()> {
        self.record(&Record::End(counts))?;
        let out = self.out;
        let written = self.writer.finish().map_err(|e| write_error(&out, e))?;
        let file = written
            .into_inner()
            .map_err(|e| write_error(&out, e.into_error()))?;
        file.sync_all().map_err(|e| write_error(&out, e))?;
        self.temporary
            .persist_noclobber(&out)
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::AlreadyExists => crate::files::exists(&out),
                _ => write_error(&out, e),
            })
    }
}

fn write_error(out: &Path, error: std::io::Error) -> Error {
    Error::io(
        ErrorKind::Failed,
        format!("cannot write {}", out.display()),
        error,
    )
}

/// A backup file that is not whole.
fn damaged(file: &Path, why: impl std::fmt::Display) -> Error {
    Error::invalid(format!(
        "{} is damaged or not a dcos-creds backup ({why}); nothing was sent",
        file.display()
    ))
}

/// Reads and checks a whole backup: the key, every record, and the closing counts. A wrong
/// passphrase or identity is [`ErrorKind::Denied`]; a file that is tampered with, cut short
/// or not a backup is [`ErrorKind::Invalid`].
pub fn read(file: &Path, unlock: &Unlock) -> Result<Contents> {
    let opened = std::fs::File::open(file).map_err(|e| {
        Error::io(
            ErrorKind::Invalid,
            format!("cannot read {}", file.display()),
            e,
        )
    })?;
    let decryptor =
        age::Decryptor::new_buffered(BufReader::new(opened)).map_err(|e| refused(file, e))?;
    let plain = match unlock {
        Unlock::Passphrase(passphrase) => {
            let identity = age::scrypt::Identity::new(passphrase.clone());
            decryptor.decrypt(std::iter::once(&identity as &dyn age::Identity))
        }
        Unlock::Identity(path) => {
            let identities = identities(path)?;
            decryptor.decrypt(identities.iter().map(|i| i.as_ref() as &dyn age::Identity))
        }
    }
    .map_err(|e| refused(file, e))?;
    let mut contents = Contents::default();
    let mut end = None;
    let mut first = true;
    for (n, line) in BufReader::new(plain).lines().enumerate() {
        let line = line.map_err(|e| damaged(file, e))?;
        if end.is_some() {
            return Err(damaged(file, "records after the end"));
        }
        // serde's message may quote the record (a value): only where it broke is said.
        let record: Record = serde_json::from_str(&line).map_err(|e| {
            damaged(
                file,
                format!("record {} does not parse ({:?})", n + 1, e.classify()),
            )
        })?;
        match record {
            Record::Header(header) if first => {
                if header.format != FORMAT || header.version != VERSION {
                    return Err(damaged(
                        file,
                        format!("format `{}` version {}", header.format, header.version),
                    ));
                }
                contents.under = (header.under.as_deref())
                    .map(SecretPath::new)
                    .transpose()
                    .map_err(|e| damaged(file, e))?;
            }
            _ if first => return Err(damaged(file, "no header")),
            Record::Header(_) => return Err(damaged(file, "a second header")),
            Record::Secret(saved) => {
                let bytes = (STANDARD.decode(&saved.value)).map_err(|_| {
                    damaged(file, format!("the value of `{}` is not base64", saved.path))
                })?;
                let value =
                    SecretValue::from_bytes(bytes, saved.binary).map_err(|e| damaged(file, e))?;
                SecretPath::new(&saved.path).map_err(|e| damaged(file, e))?;
                contents.secrets.insert(saved.path, value);
            }
            Record::User(user) => {
                contents.users.insert(user.uid.clone(), user);
            }
            Record::Group(group) => {
                contents.groups.insert(group.gid.clone(), group);
            }
            Record::Acl(acl) => {
                contents.acls.insert(acl.rid.clone(), acl);
            }
            Record::End(counts) => end = Some(counts),
        }
        first = false;
    }
    match end {
        Some(counts) if counts == contents.counts() => Ok(contents),
        Some(_) => Err(damaged(file, "its counts do not match its records")),
        None => Err(damaged(file, "it ends early")),
    }
}

/// Why age refused the file: the key, or the file.
fn refused(file: &Path, error: age::DecryptError) -> Error {
    use age::DecryptError as E;
    match error {
        E::DecryptionFailed | E::NoMatchingKeys | E::KeyDecryptionFailed => Error::of_kind(
            ErrorKind::Denied,
            format!(
                "{} cannot be opened with this passphrase or identity; nothing was sent",
                file.display()
            ),
        ),
        E::ExcessiveWork { .. } => damaged(file, "its passphrase needs excessive work"),
        other => damaged(file, other),
    }
}

/// The identities in `path`: age identities, or one unencrypted SSH private key.
fn identities(path: &Path) -> Result<Vec<Box<dyn age::Identity>>> {
    let unreadable = |e| {
        Error::io(
            ErrorKind::Invalid,
            format!("cannot read the identity {}", path.display()),
            e,
        )
    };
    let text = std::fs::read(path).map_err(unreadable)?;
    if text.starts_with(b"-----BEGIN") {
        let name = Some(path.display().to_string());
        let identity = age::ssh::Identity::from_buffer(&text[..], name).map_err(unreadable)?;
        return match identity {
            age::ssh::Identity::Unencrypted(_) => Ok(vec![Box::new(identity)]),
            _ => Err(Error::invalid(format!(
                "{} is an encrypted or unsupported SSH key; give an unencrypted copy or an \
                 age identity",
                path.display()
            ))),
        };
    }
    let file = age::IdentityFile::from_buffer(&text[..]).map_err(unreadable)?;
    let identities = file
        .into_identities()
        .map_err(|e| Error::invalid(format!("{} holds no usable identity: {e}", path.display())))?;
    match identities.is_empty() {
        true => Err(Error::invalid(format!(
            "{} holds no identity",
            path.display()
        ))),
        false => Ok(identities),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn passphrase() -> Key {
        Key::Passphrase(SecretString::from("correct horse battery staple"))
    }

    fn write(dir: &Path, key: &Key) -> PathBuf {
        let out = dir.join("b.age");
        let mut sink = Sink::create(&out, key).unwrap();
        sink.header("https://cluster", None).unwrap();
        sink.secret("a/b", &SecretValue::text("s3cr3t-value"))
            .unwrap();
        sink.secret("bin", &SecretValue::binary(vec![0, 255, 10]))
            .unwrap();
        let counts = Counts {
            secrets: 2,
            ..Counts::default()
        };
        sink.finish(counts).unwrap();
        out
    }

    #[test]
    fn a_backup_reads_back_byte_for_byte_and_holds_no_value_in_clear() {
        let dir = tempfile::tempdir().unwrap();
        let out = write(dir.path(), &passphrase());
        let raw = std::fs::read(&out).unwrap();
        assert!(!raw.windows(12).any(|w| w == b"s3cr3t-value"));
        let unlock = Unlock::Passphrase(SecretString::from("correct horse battery staple"));
        let contents = read(&out, &unlock).unwrap();
        assert_eq!(contents.secrets["a/b"], SecretValue::text("s3cr3t-value"));
        assert_eq!(
            contents.secrets["bin"],
            SecretValue::binary(vec![0, 255, 10])
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&out).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // Never overwrites.
        let again = Sink::create(&out, &passphrase()).err().unwrap();
        assert_eq!(again.kind(), ErrorKind::Conflict);
    }

    #[test]
    fn a_backup_that_is_not_finished_leaves_no_file() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("b.age");
        let mut sink = Sink::create(&out, &passphrase()).unwrap();
        sink.header("https://cluster", None).unwrap();
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        drop(sink);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn a_wrong_key_is_denied_and_damage_is_invalid() {
        let dir = tempfile::tempdir().unwrap();
        let out = write(dir.path(), &passphrase());
        let wrong = Unlock::Passphrase(SecretString::from("not it"));
        assert_eq!(read(&out, &wrong).unwrap_err().kind(), ErrorKind::Denied);
        let right = Unlock::Passphrase(SecretString::from("correct horse battery staple"));
        let raw = std::fs::read(&out).unwrap();
        // The last byte is in the payload: flipped, the payload's tag fails.
        let mut flipped = raw.clone();
        *flipped.last_mut().unwrap() ^= 1;
        std::fs::write(&out, &flipped).unwrap();
        assert_eq!(read(&out, &right).unwrap_err().kind(), ErrorKind::Invalid);
        std::fs::write(&out, &raw[..raw.len() - 20]).unwrap();
        assert_eq!(read(&out, &right).unwrap_err().kind(), ErrorKind::Invalid);
    }

    #[test]
    fn recipients_and_identities_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let identity = age::x25519::Identity::generate();
        let recipient = identity.to_public().to_string();
        let key = Key::recipients(&[recipient]).unwrap();
        let out = write(dir.path(), &key);
        let keyfile = dir.path().join("key.txt");
        std::fs::write(&keyfile, identity.to_string().expose_secret()).unwrap();
        let contents = read(&out, &Unlock::Identity(keyfile)).unwrap();
        assert_eq!(contents.secrets.len(), 2);
        let other = dir.path().join("other.txt");
        let stranger = age::x25519::Identity::generate();
        std::fs::write(&other, stranger.to_string().expose_secret()).unwrap();
        let denied = read(&out, &Unlock::Identity(other)).unwrap_err();
        assert_eq!(denied.kind(), ErrorKind::Denied);
        let bad = Key::recipients(&["nope".to_owned()]).unwrap_err();
        assert!(
            bad.to_string().contains("not an age or SSH recipient"),
            "{bad}"
        );
    }
}
