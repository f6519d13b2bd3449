//! Real Python clients in a throwaway virtualenv, installed from PyPI. Where Python, its venv
//! module or the package registry cannot be had, the test fails and says which.

use std::path::PathBuf;
use std::process::Command;

/// A virtualenv in a temporary folder, removed when dropped.
#[derive(Debug)]
pub struct Venv {
    dir: tempfile::TempDir,
}

/// Runs `command`, failing the test with `what` and the command's own words on failure.
fn run(mut command: Command, what: &str) {
    let out = command
        .output()
        .unwrap_or_else(|e| panic!("{what}: cannot run {command:?}: {e}"));
    if !out.status.success() {
        let said = String::from_utf8_lossy(&out.stderr);
        let tail: Vec<&str> = said.lines().rev().take(12).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        panic!(
            "{what}: {command:?} exited with {}:\n{}",
            out.status,
            tail.join("\n")
        );
    }
}

impl Venv {
    /// A new virtualenv with `requirements` installed by pip (`--no-deps` for those in
    /// `no_deps`).
    pub fn with(no_deps: &[&str], requirements: &[&str]) -> Self {
        let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_owned());
        let found = Command::new(&python).arg("--version").output();
        if !found.is_ok_and(|o| o.status.success()) {
            panic!(
                "`{python}` is not installed: the compatibility tests run real Python clients \
                 (install Python 3.8 or newer, or name it in PYTHON)"
            );
        }
        let dir = tempfile::tempdir().expect("a temporary folder");
        let mut venv = Command::new(&python);
        venv.args(["-m", "venv"]).arg(dir.path());
        run(
            venv,
            "cannot make a virtualenv (on Debian, install python3-venv)",
        );
        let venv = Self { dir };
        for (packages, flags) in [(no_deps, &["--no-deps"][..]), (requirements, &[][..])] {
            if packages.is_empty() {
                continue;
            }
            let mut pip = Command::new(venv.bin("pip"));
            pip.args(["install", "--quiet", "--disable-pip-version-check"])
                .args(flags)
                .args(packages);
            run(
                pip,
                "cannot install from PyPI (is the package registry reachable?)",
            );
        }
        venv
    }

    /// The virtualenv's folder, no longer removed when this is dropped: for a caller that
    /// removes it itself.
    #[allow(dead_code)] // The end-to-end tests' moto uses it; the compatibility tests do not.
    pub fn keep(self) -> PathBuf {
        self.dir.keep()
    }

    /// A program of the virtualenv.
    pub fn bin(&self, name: &str) -> PathBuf {
        self.dir.path().join("bin").join(name)
    }
}
