//! HDFS for the Data Science Engine: the URL that serves the Hadoop configuration, checked.

use dcos_transport::{Request, Transport};
use serde::Serialize;

use crate::error::{Error, Remedy, Result};

/// The files the service downloads from below the URL, and a property each must define to be
/// of use to an HDFS client.
const FILES: [(&str, &str); 2] = [
    ("hdfs-site.xml", "dfs.*"),
    ("core-site.xml", "fs.defaultFS"),
];

/// One Hadoop configuration file, as checked.
#[derive(Debug, Clone, Serialize)]
pub struct ConfCheck {
    pub file: &'static str,
    pub url: String,
    /// How many `<property>` entries it has.
    pub properties: usize,
    /// What is missing or wrong; empty when the file is fine.
    pub missing: Vec<String>,
}

/// `URL: Hadoop configuration, N properties`, for a file that is fine.
impl std::fmt::Display for ConfCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let properties = crate::text::count(self.properties, "property", "properties");
        write!(f, "{}: Hadoop configuration, {properties}", self.url)
    }
}

/// The configuration URL: absolute http(s), one URL, without query or fragment, without a
/// trailing `/`.
pub fn conf_url(text: &str) -> Result<String> {
    let parsed =
        url::Url::parse(text).map_err(|e| Error::invalid(format!("`{text}` is not a URL: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https")
        || parsed.query().is_some()
        || parsed.fragment().is_some()
    {
        return Err(Error::invalid(format!(
            "`{text}` must be an http:// or https:// URL without ?query or #fragment"
        )));
    }
    if text.contains(',') {
        return Err(Error::invalid(
            "one URL only; the options keep a comma-separated list, and merging adds to the \
             list already in the file",
        ));
    }
    Ok(text.trim_end_matches('/').to_owned())
}

/// Fetches both files below `url` through `transport` (no token is sent) and checks that they
/// are Hadoop configuration; [`require`] turns what is missing into an error.
pub async fn check(transport: &Transport, url: &str) -> Result<Vec<ConfCheck>> {
    let fetched = futures::future::join_all(FILES.iter().map(|(file, _)| async move {
        transport
            .send(Request::get(format!("/{file}")).unauthenticated())
            .await
    }))
    .await;
    let mut checks = Vec::new();
    for ((file, needed), answer) in FILES.iter().zip(fetched) {
        let file_url = format!("{url}/{file}");
        let missing = match answer {
            Ok(response) => inspect(&response.into_bytes(), needed),
            Err(e) if e.is_not_found() => Err("not served here (404)".to_owned()),
            // Unreachable, or still failing after the retries.
            Err(e) if e.is_retryable() => {
                return Err(Error::from(e)
                    .context(format!("fetch {file_url}"))
                    .with_remedy(Remedy::ReachableFromHere));
            }
            Err(e) => return Err(Error::from(e).context(format!("fetch {file_url}"))),
        };
        let (properties, missing) = match missing {
            Ok((count, missing)) => (count, missing),
            Err(problem) => (0, vec![problem]),
        };
        checks.push(ConfCheck {
            file,
            url: file_url,
            properties,
            missing,
        });
    }
    Ok(checks)
}

/// Fails with [`crate::ErrorKind::NotFound`], naming each problem, unless both files are fine.
pub fn require(checks: &[ConfCheck]) -> Result<()> {
    let problems: Vec<String> = checks
        .iter()
        .flat_map(|c| c.missing.iter().map(move |m| format!("{}: {m}", c.url)))
        .collect();
    if !problems.is_empty() {
        return Err(Error::not_found(problems.join("; ")).with_remedy(Remedy::HadoopConfUrl));
    }
    Ok(())
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
