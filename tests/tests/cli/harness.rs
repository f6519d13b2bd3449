//! Runs the built binary against an emulator, in a scratch home with no saved state.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use dcos_emulator::Emulator;
use dcos_iam_client::{Credentials, IamClient, Uid};
use dcos_secrets_client::SecretsClient;
use dcos_transport::Transport;
use secrecy::SecretString;

/// The `dcos-creds` binary that `cargo test` built beside this test.
pub fn binary() -> PathBuf {
    let exe = std::env::current_exe().expect("the test's own path");
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("tests run from target/<profile>/deps");
    let binary = dir.join(format!("dcos-creds{}", std::env::consts::EXE_SUFFIX));
    let build = "run `cargo test --workspace`, or `cargo build -p dcos-creds` first";
    let built = std::fs::metadata(&binary)
        .and_then(|m| m.modified())
        .unwrap_or_else(|_| panic!("{} is missing: {build}", binary.display()));
    // `cargo test -p dcos-creds-e2e` alone does not rebuild the binary; never test a stale one.
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).join("../crates");
    for krate in [
        "cli",
        "connect",
        "ops",
        "transport",
        "iam-client",
        "secrets-client",
    ] {
        let newest = newest_change(&crates.join(krate).join("src"));
        assert!(
            newest <= built,
            "{} is older than the sources of crates/{krate}: {build}",
            binary.display()
        );
    }
    binary
}

/// The latest modification time of any file below `dir`.
fn newest_change(dir: &Path) -> std::time::SystemTime {
    let mut newest = std::time::SystemTime::UNIX_EPOCH;
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        let time = if path.is_dir() {
            newest_change(&path)
        } else {
            entry
                .metadata()
                .and_then(|m| m.modified())
                .unwrap_or(newest)
        };
        newest = newest.max(time);
    }
    newest
}

/// What one run printed, and how it ended.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: Vec<u8>,
    pub stderr: String,
}

impl Run {
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", self.stdout()))
    }

    /// Asserts the exit code, showing the output when it differs.
    #[track_caller]
    pub fn expect(self, code: i32) -> Self {
        assert_eq!(
            self.code,
            code,
            "exit code; stdout: {}\nstderr: {}",
            self.stdout(),
            self.stderr
        );
        self
    }
}

/// An emulator with TLS, its CA in a file, and a scratch home for the binary.
///
/// The OS keyring is the user's, shared by every test and every run, and keyed by URL: a
/// token a `login` saved for an emulator long gone would be found by the next emulator on the
/// same port, and win over the token under test. So a cluster starts and ends with no saved
/// token for its URL.
pub struct Cluster {
    pub emulator: Emulator,
    pub dir: tempfile::TempDir,
    pub ca_file: PathBuf,
    /// A superuser's token.
    pub admin_token: String,
}

/// Removes a token saved in the keyring for `url`; a keyring that cannot be reached holds none.
fn forget_token(url: &str) {
    if let Err(e) = dcos_connect::keyring::delete(url) {
        eprintln!("keyring: {e}");
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        forget_token(self.url());
    }
}

impl Cluster {
    pub async fn start() -> Self {
        Self::with(Emulator::builder().tls(true)).await
    }

    pub async fn with(builder: dcos_emulator::EmulatorBuilder) -> Self {
        let emulator = builder.start().await.expect("the emulator starts");
        let dir = tempfile::tempdir().unwrap();
        let ca_file = dir.path().join("cluster-ca.pem");
        std::fs::write(&ca_file, emulator.ca_pem().expect("TLS is on")).unwrap();
        std::fs::create_dir(dir.path().join("home")).unwrap();
        let admin_token = emulator.issue_token("bootstrapuser").unwrap();
        forget_token(emulator.url());
        Self {
            emulator,
            dir,
            ca_file,
            admin_token,
        }
    }

    pub fn url(&self) -> &str {
        self.emulator.url()
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// A command with a clean environment: the cluster URL and CA, no token, and a home and
    /// `dcos` CLI folder of its own.
    pub fn command(&self) -> Command {
        self.command_for(binary())
    }

    /// [`Cluster::command`]'s environment for another program.
    pub fn command_for(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut command = Command::new(program);
        for (name, _) in std::env::vars() {
            if name.starts_with("DCOS_") || name.starts_with("AWS_") {
                command.env_remove(name);
            }
        }
        command
            .current_dir(self.dir.path())
            .env("HOME", self.dir.path().join("home"))
            .env("DCOS_DIR", self.dir.path().join("home/.dcos"))
            .env("DCOS_URL", self.url())
            .env("DCOS_TLS_CA_PATH", &self.ca_file)
            .stdin(Stdio::null());
        command
    }

    /// Writes the `dcos` CLI's attached cluster for this emulator into the scratch home, as
    /// `dcos cluster setup` does: its URL and the superuser's token, and `more` lines of
    /// `[core]`.
    pub fn attach_dcos_cli(&self, more: &str) {
        let dir = self.path("home/.dcos/clusters/3f1a");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("attached"), "").unwrap();
        let config = format!(
            "[core]\ndcos_url = \"{}\"\ndcos_acs_token = \"{}\"\n{more}",
            self.url(),
            self.admin_token
        );
        std::fs::write(dir.join("dcos.toml"), config).unwrap();
    }

    /// Runs with the superuser's token.
    pub fn admin(&self, args: &[&str]) -> Run {
        self.run_with(args, &[("DCOS_ACS_TOKEN", &self.admin_token)], None)
    }

    /// Runs with the superuser's token, feeding `stdin`.
    pub fn admin_stdin(&self, args: &[&str], stdin: &[u8]) -> Run {
        self.run_with(args, &[("DCOS_ACS_TOKEN", &self.admin_token)], Some(stdin))
    }

    /// Runs with extra environment variables (an empty value removes the variable) and
    /// optional standard input.
    pub fn run_with(&self, args: &[&str], env: &[(&str, &str)], stdin: Option<&[u8]>) -> Run {
        let mut command = self.command();
        command.args(args);
        for (name, value) in env {
            if value.is_empty() {
                command.env_remove(name);
            } else {
                command.env(name, value);
            }
        }
        run(command, stdin)
    }

    /// Creates a service account (with a key pair made once per test process).
    pub async fn service_account(&self, uid: &str) {
        static KEY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        let public = KEY.get_or_init(|| {
            dcos_iam_client::KeyPair::generate(dcos_iam_client::KeySize::Rsa2048)
                .unwrap()
                .public_key_pem
        });
        let (iam, _) = self.clients();
        iam.user(&Uid::new(uid).unwrap())
            .create_service_account("test", public)
            .await
            .unwrap();
    }

    /// How many write requests (PUT, PATCH, DELETE) the emulator has answered.
    pub fn writes(&self) -> u64 {
        self.emulator
            .counters()
            .requests
            .iter()
            .filter(|(route, _)| {
                ["PUT ", "PATCH ", "DELETE "]
                    .iter()
                    .any(|m| route.starts_with(m))
            })
            .map(|(_, n)| n)
            .sum()
    }

    /// [`Cluster::writes`] but the ACL creations (`PUT /acls/{rid}`), which `s3 onboard` sends
    /// with its reads and which change nothing when the ACL exists.
    pub fn writes_but_acl_creations(&self) -> u64 {
        let creations = self
            .emulator
            .counters()
            .requests
            .get("PUT /acs/api/v1/acls/{rid}")
            .copied()
            .unwrap_or(0);
        self.writes() - creations
    }

    /// A library client with the superuser's token, to set up and inspect state.
    pub fn clients(&self) -> (IamClient, SecretsClient) {
        let transport = Transport::builder(self.url())
            .pin_ca_pem(self.emulator.ca_pem().unwrap().as_bytes())
            .backoff(Duration::ZERO, Duration::ZERO)
            .build()
            .unwrap();
        let iam = IamClient::with_login(
            transport,
            Credentials::password(
                Uid::new("bootstrapuser").unwrap(),
                SecretString::from("deleteme"),
            ),
        );
        let secrets = SecretsClient::new(iam.transport().clone());
        (iam, secrets)
    }
}

/// Runs `command`, feeding `stdin`, and collects its output.
pub fn run(mut command: Command, stdin: Option<&[u8]>) -> Run {
    if stdin.is_some() {
        command.stdin(Stdio::piped());
    }
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    if let Some(bytes) = stdin {
        let mut pipe = child.stdin.take().unwrap();
        // A run that refuses its input early exits without reading it all.
        match pipe.write_all(bytes) {
            Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => panic!("stdin: {e}"),
            _ => {}
        }
    }
    let out = child.wait_with_output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: out.stdout,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// One row of the reliability table: a kind of trial, how many were run, how many faults they
/// injected, how many of those the tool came through as designed, and how many declared items
/// were lost or altered. Called once a test's assertions passed; appended as a tab-separated
/// line to the file named by `RELIABILITY_REPORT` (set by `scripts/reliability.sh`), else
/// nothing.
pub fn record(case: &str, tried: u64, injected: u64, survived: u64, lost: u64) {
    let Some(file) = std::env::var_os("RELIABILITY_REPORT") else {
        return;
    };
    let mut out = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(file)
        .expect("the reliability report opens");
    writeln!(out, "{case}\t{tried}\t{injected}\t{survived}\t{lost}")
        .expect("the reliability report is written");
}

/// Asserts that `stdout` is one JSON document whose error is of `kind`, and returns it.
#[track_caller]
pub fn one_json_error(stdout: &[u8], kind: &str, case: &str) -> serde_json::Value {
    let text = String::from_utf8_lossy(stdout);
    let doc: serde_json::Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{case}: not one JSON document ({e}): {text}"));
    assert_eq!(doc["error"]["kind"], kind, "{case}: {text}");
    doc
}

/// A count from the environment (`RELIABILITY_SEEDS`, `RELIABILITY_SIZE`, ...), or `default`:
/// CI runs the small defaults, `scripts/reliability.sh` the full sizes.
pub fn scale(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(v) => v
            .parse()
            .unwrap_or_else(|_| panic!("{name} must be a number, not `{v}`")),
        Err(_) => default,
    }
}

/// Asserts a run ended as a documented failure: the exit code is in the README's table (not a
/// panic's 101 or a signal), and nothing panicked.
#[track_caller]
pub fn assert_clean_failure(run: &Run, label: &str) {
    assert!(
        (1..=7).contains(&run.code),
        "{label}: exit {} is not a documented failure\n{}",
        run.code,
        run.stderr
    );
    assert!(!run.stderr.contains("panicked"), "{label}: {}", run.stderr);
}

/// The journal record an AWS key rotation keeps beside the pair, as the tool writes it: IAM
/// user `user`'s new pair `new` replacing `old`.
pub fn aws_rotation_record(user: &str, old: (&str, &str), new: (&str, &str)) -> serde_json::Value {
    let pair = |(id, secret): (&str, &str)| serde_json::json!({"aws_access_key_id": id, "aws_secret_access_key": secret});
    serde_json::json!({
        "format": "dcos-creds journal, version 1",
        "workflow": "aws-rotation",
        "entries": [{"change": "aws_key", "user": user, "old": pair(old), "new": pair(new)}],
    })
}
