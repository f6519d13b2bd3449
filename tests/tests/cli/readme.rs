//! The README's command-line walkthrough, run as written against the emulator.

use dcos_emulator::state::Secret;

use crate::harness::{Cluster, binary, run};

/// The bash between the walkthrough markers, without its code fence.
fn walkthrough() -> String {
    let readme = include_str!("../../../README.md");
    let start = readme
        .find("<!-- walkthrough:start -->")
        .expect("start marker");
    let end = readme.find("<!-- walkthrough:end -->").expect("end marker");
    readme[start..end]
        .lines()
        .skip(1)
        .filter(|line| !line.starts_with("```"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readme_walkthrough_runs_as_written() {
    let cluster = Cluster::start().await;
    let script = walkthrough();
    assert!(script.contains("dcos-creds access"), "{script}");
    let bin_dir = binary().parent().unwrap().to_owned();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut bash = cluster.command_for("bash");
    bash.env_remove("DCOS_TLS_CA_PATH")
        .env("PATH", path)
        .env("ADMIN_PASSWORD", "deleteme")
        .args(["-c", &format!("set -euo pipefail\n{script}")]);
    let out = run(bash, None);
    assert_eq!(
        out.code,
        0,
        "stdout:\n{}\nstderr:\n{}",
        out.stdout(),
        out.stderr
    );

    let stdout = out.stdout();
    assert!(stdout.contains("unchanged team/db_password"), "{stdout}");
    assert!(stdout.contains("already granted"), "{stdout}");
    assert!(stdout.contains("updated team/db_password"), "{stdout}");
    assert!(stdout.contains(r#""uid": "ci-bot""#), "{stdout}");
    assert!(
        stdout.contains("Can read the value of team/aws_access_key_id"),
        "{stdout}"
    );
    // The service account read the key id from the environment's credentials.
    assert!(stdout.contains("AKIAIOSFODNN7EXAMPLE"), "{stdout}");

    let state = cluster.emulator.state();
    assert_eq!(
        state.secrets.get("team/aws_access_key_id"),
        Some(&Secret::Text("AKIAIOSFODNN7EXAMPLE".into()))
    );
    assert!(!state.secrets.contains_key("team/db_password"));
    assert!(state.secrets.contains_key("ci-bot/service-account"));
    let list = &state.acls["dcos:secrets:list:default:team/aws_access_key_id"];
    assert!(list.users["ci-bot"].contains("read"));
    let value = &state.acls["dcos:secrets:default:team/aws_access_key_id"];
    assert!(value.users.get("ci-bot").is_none_or(|a| a.is_empty()));
    assert!(cluster.path("dcos-creds.bash").is_file());
}
