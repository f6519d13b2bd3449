//! The command line itself, without a cluster. (This test also makes `cargo test` build the
//! binary that the end-to-end tests in `tests/` run.)

use std::process::Command;

fn run(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_dcos-creds"))
        .args(args)
        .env_remove("DCOS_URL")
        .env("DCOS_DIR", "/nonexistent/dcos-dir")
        .output()
        .expect("the binary runs")
}

#[test]
fn help_lists_every_command_and_the_exit_codes() {
    let out = run(&["--help"]);
    assert_eq!(out.status.code(), Some(0));
    let help = String::from_utf8(out.stdout).unwrap();
    for command in [
        "login",
        "logout",
        "whoami",
        "ca",
        "secret",
        "grant",
        "revoke",
        "access",
        "service-account",
        "completions",
    ] {
        assert!(help.contains(command), "--help lacks `{command}`");
    }
    assert!(help.contains("Exit codes:"));
    assert!(help.contains("7  partial failure"));
}

#[test]
fn usage_errors_exit_2() {
    let out = run(&["secret", "put"]);
    assert_eq!(out.status.code(), Some(2));
    let out = run(&["grant", "--user", "a", "--group", "b", "dcos:x", "read"]);
    assert_eq!(out.status.code(), Some(2));
    // Parsed fine, but there is no cluster to talk to.
    let out = run(&["secret", "list"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--url"));
}

#[test]
fn version_prints_the_version() {
    let out = run(&["--version"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains(env!("CARGO_PKG_VERSION")));
}
