//! `dcos-creds demo`: the README's first command.

use std::process::Command;

use crate::harness::{binary, run};

/// A run of the demo with no cluster settings in its environment.
fn demo(args: &[&str]) -> crate::harness::Run {
    let mut command = Command::new(binary());
    for (name, _) in std::env::vars() {
        if name.starts_with("DCOS_") || name.starts_with("AWS_") {
            command.env_remove(name);
        }
    }
    let home = tempfile::tempdir().unwrap();
    command
        .args(args)
        .env("HOME", home.path())
        .current_dir(home.path());
    let result = run(command, None);
    assert_eq!(
        std::fs::read_dir(home.path()).unwrap().count(),
        0,
        "the demo keeps nothing"
    );
    result
}

#[test]
fn the_demo_sets_the_engine_up_reruns_unchanged_and_prints_the_options() {
    let run = demo(&["demo"]).expect(0);
    let out = run.stdout();
    for expected in [
        "1. Started the emulated cluster at https://127.0.0.1:",
        "pinned by fingerprint: sha256:",
        "created          account data-science-engine",
        "created          secret data-science-engine/aws_access_key_id (hmac:",
        "granted          create on dcos:mesos:master:task:app_id:data-science-engine to data-science-engine",
        "granted          read on dcos:secrets:list:default:data-science-engine/aws_secret_access_key to data-science-engine",
        "4. Ran the same set-up again: unchanged",
        "data-science-engine  service account  direct            exact",
        "\"aws_secret_access_key\": \"data-science-engine/aws_secret_access_key\"",
    ] {
        assert!(out.contains(expected), "missing {expected:?} in:\n{out}");
    }
    // The secret key itself is never shown, only its fingerprint.
    assert!(!out.contains("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"));
    let options = &out[out.rfind("\n{\n").expect("the options close the demo") + 1..];
    let options: serde_json::Value = serde_json::from_str(options).unwrap();
    assert_eq!(options["service"]["service_account"], "data-science-engine");
    assert_eq!(
        options["spark"]["spark_mesos_principal"],
        "data-science-engine"
    );
    assert_eq!(
        options["spark"]["spark_hadoop_fs_s3a_aws_credentials_provider"],
        "com.amazonaws.auth.EnvironmentVariableCredentialsProvider"
    );
}

#[test]
fn the_demo_reports_as_json() {
    let report = demo(&["-o", "json", "demo"]).expect(0).json();
    assert_eq!(report["setup"]["result"], "changed");
    assert_eq!(report["setup"]["security_mode"], "strict");
    assert_eq!(report["rerun"]["result"], "unchanged");
    let listers = report["access"]["name_listers"].as_array().unwrap();
    assert!(
        listers
            .iter()
            .any(|e| e["principal"] == "data-science-engine" && e["reach"] == "exact")
    );
    assert_eq!(
        report["options"]["storage"]["s3"]["aws_access_key_id"],
        "data-science-engine/aws_access_key_id"
    );
}
