//! MIT Kerberos's own tools and our keytab reader agree: a keytab `ktutil` wrote reads as its
//! principals, key versions, types and keys; one we wrote is listed by `klist` as written.
//! Needs `ktutil` and `klist` (Debian: krb5-user, installed by the test where it may).

use std::io::Write;
use std::process::{Command, Stdio};

use dcos_ops::dse::keytab::{Entry, Keytab, Principal};

/// The path of MIT Kerberos's `tool` (Debian: krb5-user).
fn mit(tool: &str) -> String {
    crate::debian_tool(tool, "krb5-user", "the keytab cross-check")
}

#[test]
fn a_keytab_written_by_ktutil_reads_as_ktutil_wrote_it() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("engine.keytab");
    let script = format!(
        "addent -password -p jupyter/node-1@EXAMPLE.COM -k 3 -e aes256-cts-hmac-sha1-96\n\
         first-password\n\
         addent -password -p hdfs@OTHER.ORG -k 7 -e aes128-cts-hmac-sha1-96\n\
         second-password\n\
         wkt {}\nquit\n",
        file.display()
    );
    let mut ktutil = Command::new(mit("ktutil"))
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    ktutil
        .stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .unwrap();
    assert!(ktutil.wait().unwrap().success());

    let keytab = Keytab::parse(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(keytab.version, 2);
    let read: Vec<(String, u32, u16)> = keytab
        .entries
        .iter()
        .map(|e| (e.principal.to_string(), e.kvno, e.enctype))
        .collect();
    assert_eq!(
        read,
        [
            ("jupyter/node-1@EXAMPLE.COM".to_owned(), 3, 18),
            ("hdfs@OTHER.ORG".to_owned(), 7, 17),
        ]
    );
    keytab.check("jupyter", "EXAMPLE.COM").unwrap();
    let refused = keytab
        .check("jupyter", "OTHER.ORG")
        .unwrap_err()
        .to_string();
    assert!(
        refused.contains("hdfs@OTHER.ORG, jupyter/node-1@EXAMPLE.COM"),
        "{refused}"
    );
    // The keys themselves: written back, klist lists the same entries.
    let copy = dir.path().join("copy.keytab");
    std::fs::write(&copy, keytab.to_bytes()).unwrap();
    assert_eq!(klist(&copy), klist(&file));
}

#[test]
fn a_keytab_we_write_is_listed_by_klist_as_written() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ours.keytab");
    let principal = |components: &[&str], realm: &str| Principal {
        components: components.iter().map(|c| c.to_string()).collect(),
        realm: realm.to_owned(),
        name_type: 1,
    };
    let keytab = Keytab {
        version: 2,
        entries: vec![
            Entry::new(
                principal(&["jupyter", "a.example.com"], "EXAMPLE.COM"),
                2,
                18,
                vec![1; 32],
            ),
            Entry::new(principal(&["spark"], "EXAMPLE.COM"), 300, 17, vec![2; 16]),
        ],
    };
    std::fs::write(&file, keytab.to_bytes()).unwrap();
    assert_eq!(
        klist(&file),
        [
            "2 jupyter/a.example.com@EXAMPLE.COM (aes256-cts-hmac-sha1-96)",
            "300 spark@EXAMPLE.COM (aes128-cts-hmac-sha1-96)",
        ]
    );
}

/// `klist -k -e`'s entries: key version, principal and key type, one per line.
fn klist(file: &std::path::Path) -> Vec<String> {
    let out = Command::new(mit("klist"))
        .args(["-k", "-e"])
        .arg(file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .skip(3)
        .map(|line| line.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect()
}
