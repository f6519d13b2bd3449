//! `hdfs options`: point the service at the URL that serves the Hadoop configuration.

use dcos_transport::{Request, Transport};

use crate::args::{Global, HdfsOptionsArgs};
use crate::commands::s3::emit_options;
use crate::dse::{self, Destination};
use crate::exit::{self, Failure};
use crate::output::{ConfCheck, Ui};

/// The files the service downloads from below the URL, and a property each must define to be
/// of use to an HDFS client.
const FILES: [(&str, &str); 2] = [
    ("hdfs-site.xml", "dfs.*"),
    ("core-site.xml", "fs.defaultFS"),
];

pub async fn options(global: &Global, ui: &Ui, args: &HdfsOptionsArgs) -> exit::Result<()> {
    let url = conf_url(&args.conf_url)?;
    let destination = Destination::new(
        args.destination.out.as_deref(),
        args.destination.merge_into.as_deref(),
    );
    let existing = destination.existing()?;
    let overlay = dse::hdfs_options(&url, existing.as_ref());
    let options = match existing {
        Some(mut base) => {
            dse::merge(&mut base, &overlay);
            base
        }
        None => overlay,
    };
    let prepared = destination.prepare(options)?;
    let checks = if args.check {
        check(global, ui, &url).await?
    } else {
        Vec::new()
    };
    emit_options(ui, &prepared, checks)
}

/// An absolute http(s) URL without query or fragment, without a trailing `/`.
fn conf_url(text: &str) -> exit::Result<String> {
    let parsed = url::Url::parse(text)
        .map_err(|e| Failure::usage(format!("--conf-url `{text}` is not a URL: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https")
        || parsed.query().is_some()
        || parsed.fragment().is_some()
    {
        return Err(Failure::usage(format!(
            "--conf-url `{text}` must be an http:// or https:// URL without ?query or #fragment"
        )));
    }
    if text.contains(',') {
        return Err(Failure::usage(
            "--conf-url takes one URL; the options keep a comma-separated list, and \
             --merge-into adds to the list already in the file",
        ));
    }
    Ok(text.trim_end_matches('/').to_owned())
}

/// Fetches both files (no token is sent) and checks that they are Hadoop configuration.
async fn check(global: &Global, ui: &Ui, url: &str) -> exit::Result<Vec<ConfCheck>> {
    let mut builder =
        Transport::builder(url).request_timeout(std::time::Duration::from_secs(global.timeout));
    if let Some(ca) = &global.ca_cert {
        let pem = std::fs::read(ca)
            .map_err(|e| Failure::usage(format!("cannot read {}: {e}", ca.display())))?;
        builder = builder.add_ca_pem(&pem);
    }
    if global.insecure {
        builder = builder.danger_accept_invalid_certs();
    }
    let transport = builder.build()?;
    let fetched = futures::future::join_all(FILES.iter().map(|(file, _)| {
        let transport = &transport;
        async move {
            transport
                .send(Request::get(format!("/{file}")).unauthenticated())
                .await
        }
    }))
    .await;
    let mut checks = Vec::new();
    for ((file, needed), answer) in FILES.iter().zip(fetched) {
        let file_url = format!("{url}/{file}");
        let missing = match answer {
            Ok(response) => inspect(&response.into_bytes(), needed),
            Err(e) if e.is_not_found() => Err("not served here (404)".to_owned()),
            Err(e) if exit::code_of(&e) == exit::UNAVAILABLE => {
                return Err(Failure::from(e).context(format!("fetch {file_url}")).hint(
                    "the URL must be reachable from here for --check; in-cluster names such as \
                     *.l4lb.thisdcos.directory resolve only on cluster nodes",
                ));
            }
            Err(e) => return Err(Failure::from(e).context(format!("fetch {file_url}"))),
        };
        let (properties, missing) = match missing {
            Ok((count, missing)) => (count, missing),
            Err(problem) => (0, vec![problem]),
        };
        if missing.is_empty() {
            ui.info(format!(
                "{file_url}: Hadoop configuration, {properties} properties"
            ));
        }
        checks.push(ConfCheck {
            file,
            url: file_url,
            properties,
            missing,
        });
    }
    let problems: Vec<String> = checks
        .iter()
        .flat_map(|c| c.missing.iter().map(move |m| format!("{}: {m}", c.url)))
        .collect();
    if !problems.is_empty() {
        return Err(Failure::new(exit::NOT_FOUND, problems.join("; ")).hint(
            "the URL's base must serve both files; for the DC/OS HDFS package it is \
             http://api.<hdfs-service>.marathon.l4lb.thisdcos.directory/v1/endpoints",
        ));
    }
    Ok(checks)
}

/// The number of properties and what is missing, or why the body is not Hadoop configuration.
fn inspect(body: &[u8], needed: &str) -> Result<(usize, Vec<String>), String> {
    let text = std::str::from_utf8(body).map_err(|_| "not UTF-8 text".to_owned())?;
    let doc = roxmltree::Document::parse(text).map_err(|e| format!("not XML ({e})"))?;
    let root = doc.root_element();
    if root.tag_name().name() != "configuration" {
        return Err(format!(
            "XML, but not Hadoop configuration: the root is <{}>, not <configuration>",
            root.tag_name().name()
        ));
    }
    let names: Vec<&str> = root
        .children()
        .filter(|n| n.has_tag_name("property"))
        .filter_map(|p| p.children().find(|c| c.has_tag_name("name")))
        .filter_map(|n| n.text())
        .map(str::trim)
        .collect();
    let present = match needed {
        "fs.defaultFS" => names
            .iter()
            .any(|n| *n == "fs.defaultFS" || *n == "fs.default.name"),
        _ => names.iter().any(|n| n.starts_with("dfs.")),
    };
    let missing = if present {
        Vec::new()
    } else {
        vec![format!("no {needed} property")]
    };
    Ok((names.len(), missing))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hadoop_configuration_is_recognised() {
        let core = b"<?xml version=\"1.0\"?>\n<configuration>\n<property><name>fs.defaultFS</name>\
                     <value>hdfs://hdfs</value></property>\n<property><name>hadoop.security.authentication</name>\
                     <value>simple</value></property></configuration>";
        assert_eq!(inspect(core, "fs.defaultFS").unwrap(), (2, vec![]));
        let (count, missing) = inspect(core, "dfs.*").unwrap();
        assert_eq!((count, missing), (2, vec!["no dfs.* property".to_owned()]));
        assert!(
            inspect(b"<html><body>Not Found</body></html>", "x")
                .unwrap_err()
                .contains("<html>")
        );
        assert!(
            inspect(b"{\"json\": true}", "x")
                .unwrap_err()
                .starts_with("not XML")
        );
        assert!(inspect(&[0xff, 0xfe], "x").is_err());
    }

    #[test]
    fn conf_urls_are_checked() {
        assert_eq!(
            conf_url("http://api.hdfs.marathon.l4lb.thisdcos.directory/v1/endpoints/").unwrap(),
            "http://api.hdfs.marathon.l4lb.thisdcos.directory/v1/endpoints"
        );
        for bad in [
            "api.hdfs/v1",
            "ftp://x/y",
            "http://x/y?z=1",
            "http://a/b,http://c/d",
        ] {
            assert!(conf_url(bad).is_err(), "{bad}");
        }
    }
}
