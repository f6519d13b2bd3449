//! The audit as people read it: a table, CSV for spreadsheets, and one self-contained HTML
//! page.

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};

use super::{Audit, Finding};
use crate::PrincipalType;
use crate::access::{AccessEntry, AccessReport};
use crate::text::{count, table};

/// A principal as the matrix keys it: a user and a group may share a name.
type Key<'a> = (&'a str, PrincipalType);

/// Who reaches a secret, in one word: `read`, `list` or `both`, with the ways.
fn cells(report: &AccessReport) -> BTreeMap<Key<'_>, (&'static str, Vec<&AccessEntry>)> {
    let mut cells: BTreeMap<Key<'_>, (bool, bool, Vec<&AccessEntry>)> = BTreeMap::new();
    for entry in &report.value_readers {
        let cell = cells
            .entry((&entry.principal, entry.principal_type))
            .or_default();
        cell.0 = true;
        cell.2.push(entry);
    }
    for entry in &report.name_listers {
        let cell = cells
            .entry((&entry.principal, entry.principal_type))
            .or_default();
        cell.1 = true;
        cell.2.push(entry);
    }
    cells
        .into_iter()
        .map(|(principal, (read, list, entries))| {
            let word = match (read, list) {
                (true, true) => "both",
                (true, false) => "read",
                _ => "list",
            };
            (principal, (word, entries))
        })
        .collect()
}

/// One line of people's words.
impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match self {
            Finding::OnlySuperusers { path } => {
                format!("{path}: only superusers can read it (an orphan?)")
            }
            Finding::Wildcard {
                path,
                rid,
                principal,
                principal_type,
            } => format!(
                "{path}: readable by {} {principal} through the wildcard {rid}",
                principal_type.as_str().replace('_', " ")
            ),
            Finding::Full {
                rid,
                principal,
                principal_type,
            } => format!(
                "{} {principal} holds full on {rid}",
                principal_type.as_str().replace('_', " ")
            ),
            Finding::DanglingGrant {
                rid,
                principal,
                principal_type,
                action,
            } => format!(
                "{} {principal} holds {action} on {rid}, which names no existing secret",
                principal_type.as_str().replace('_', " ")
            ),
            Finding::MissingSecret { consumer, id, path } => format!(
                "{} {id} uses {path}, which does not exist: it fails at its next start",
                consumer.as_str()
            ),
            Finding::OutOfSpace { consumer, id, path } => format!(
                "{} {id} declares {path}, outside its space: Marathon refuses its next deployment",
                consumer.as_str()
            ),
            Finding::NoLoginSecret { uid } => format!(
                "service account {uid}: no login secret found (by content, or by name among \
                 the secrets this token may not read)"
            ),
        };
        f.write_str(&text)
    }
}

/// A table of the secrets with how many principals read and see each, then the findings.
pub fn text(report: &Audit) -> String {
    let rows: Vec<Vec<String>> = report
        .secrets
        .iter()
        .map(|s| {
            let cells = cells(s);
            let readers = cells.values().filter(|(w, _)| *w != "list").count();
            let listers = cells.values().filter(|(w, _)| *w != "read").count();
            let used = s.consumers.len().to_string();
            vec![
                s.path.clone(),
                readers.to_string(),
                listers.to_string(),
                used,
            ]
        })
        .collect();
    let mut out = table(&["SECRET", "READ BY", "SEEN BY", "USED BY"], &rows);
    if let Some(why) = &report.marathon_unread {
        let _ = write!(
            out,
            "\nMarathon could not be read ({why}): who uses each secret is unknown\n"
        );
    }
    if report.unreadable_secrets > 0 {
        let n = count(report.unreadable_secrets, "secret", "secrets");
        let _ = write!(
            out,
            "\n{n} could not be read: login secrets among them are not known\n"
        );
    }
    match report.findings.len() {
        0 => out.push_str("\nno findings\n"),
        n => {
            let _ = write!(out, "\n{}:\n", count(n, "finding", "findings"));
        }
    }
    for finding in &report.findings {
        let _ = writeln!(out, "  {finding}");
    }
    out
}

/// One row per secret, principal and way: `secret,principal,principal_type,scope,via,group,
/// rid,action,reach`, scope being `read` (the value) or `list` (the name).
pub fn csv(report: &Audit) -> String {
    let mut out =
        String::from("secret,principal,principal_type,scope,via,group,rid,action,reach\n");
    for secret in &report.secrets {
        let scoped = secret
            .value_readers
            .iter()
            .map(|e| ("read", e))
            .chain(secret.name_listers.iter().map(|e| ("list", e)));
        for (scope, e) in scoped {
            let fields = [
                secret.path.as_str(),
                e.principal.as_str(),
                e.principal_type.as_str(),
                scope,
                e.way.via,
                e.way.group.as_deref().unwrap_or(""),
                e.way.rid.as_deref().unwrap_or(""),
                e.way.action.as_deref().unwrap_or(""),
                e.way.reach,
            ];
            let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
            out.push_str(&line.join(","));
            out.push('\n');
        }
    }
    out
}

/// A CSV field, quoted when it holds a comma, quote or line break; a leading `=`, `+`, `-` or
/// `@` is prefixed with `'`, so that a spreadsheet never runs a name as a formula.
fn csv_field(field: &str) -> String {
    let field = if field.starts_with(['=', '+', '-', '@']) {
        format!("'{field}")
    } else {
        field.to_owned()
    };
    if field.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field
    }
}

/// Text for HTML: `&`, `<`, `>`, `"` and `'` escaped.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = include_str!("audit.css");
const SCRIPT: &str = include_str!("audit.js");

/// One self-contained page: the cluster and the time of the read, the findings, and the matrix
/// of secrets by principals (read, list or both), sortable by any column and filterable by
/// secret and principal. No external asset; every name is escaped.
pub fn html(report: &Audit, cluster: &str, read_at: &str) -> String {
    let mut page = String::new();
    let scope = match &report.under {
        Some(under) => format!("secrets under <code>{}</code>", escape(under)),
        None => "every secret".to_owned(),
    };
    let _ = write!(
        page,
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>Secrets access audit: {cluster}</title>\n<style>\n{STYLE}</style>\n</head>\n<body>\n\
         <header>\n<h1>Secrets access audit</h1>\n\
         <p class=\"meta\">Cluster <strong id=\"cluster\">{cluster}</strong> · read at \
         <time id=\"read-at\" datetime=\"{read_at}\">{read_at}</time> · {scope} · {secrets} · \
         {principals} · by dcos-creds {version}</p>\n</header>\n",
        cluster = escape(cluster),
        read_at = escape(read_at),
        secrets = count(report.secrets.len(), "secret", "secrets"),
        principals = count(report.principals.len(), "principal", "principals"),
        version = env!("CARGO_PKG_VERSION"),
    );
    let _ = write!(
        page,
        "<section id=\"findings\">\n<h2>Findings <span class=\"count\">{}</span></h2>\n",
        report.findings.len()
    );
    if report.findings.is_empty() {
        page.push_str("<p>None.</p>\n");
    } else {
        page.push_str("<ul>\n");
        for finding in &report.findings {
            let kind = serde_json::to_value(finding)
                .ok()
                .and_then(|v| v["kind"].as_str().map(str::to_owned))
                .unwrap_or_default();
            let _ = writeln!(
                page,
                "<li class=\"finding {kind}\">{}</li>",
                escape(&finding.to_string())
            );
        }
        page.push_str("</ul>\n");
    }
    page.push_str("</section>\n");

    page.push_str(
        "<section id=\"access\">\n<h2>Who can read or see each secret</h2>\n\
         <div class=\"controls\">\n\
         <label>Secrets <input id=\"filter-secret\" type=\"search\" placeholder=\"filter, e.g. team/\"></label>\n\
         <label>Principals <input id=\"filter-principal\" type=\"search\" placeholder=\"filter, e.g. ci-\"></label>\n\
         <label>Used by <input id=\"filter-used\" type=\"search\" placeholder=\"filter, e.g. /data-science\"></label>\n\
         <span class=\"legend\"><span class=\"cell both\">RL</span> reads the value and sees the name \
         <span class=\"cell read\">R</span> reads the value <span class=\"cell list\">L</span> sees the name</span>\n\
         </div>\n<div class=\"scroll\">\n<table id=\"matrix\">\n<thead>\n<tr><th class=\"secret\" data-col=\"0\">Secret</th>\
         <th class=\"used\" data-col=\"1\">Used by</th>",
    );
    for (i, p) in report.principals.iter().enumerate() {
        let kind = p.principal_type;
        let _ = write!(
            page,
            "<th class=\"principal {kind}\" data-col=\"{col}\" data-principal=\"{name}\" \
             title=\"{type_words} {name}\"><span>{name}</span></th>",
            kind = kind.as_str(),
            col = i + 2,
            name = escape(&p.principal),
            type_words = kind.as_str().replace('_', " "),
        );
    }
    page.push_str("</tr>\n</thead>\n<tbody>\n");
    for secret in &report.secrets {
        let cells = cells(secret);
        let used: Vec<String> = secret.consumers.iter().map(ToString::to_string).collect();
        let _ = write!(
            page,
            "<tr data-secret=\"{path}\" data-used=\"{used}\"><th class=\"secret\">{path}</th>\
             <td class=\"used\">{used_lines}</td>",
            path = escape(&secret.path),
            used = escape(&used.join("\n")),
            used_lines = used
                .iter()
                .map(|u| escape(u))
                .collect::<Vec<_>>()
                .join("<br>"),
        );
        for p in &report.principals {
            match cells.get(&(p.principal.as_str(), p.principal_type)) {
                Some((word, entries)) => {
                    let title: Vec<String> = entries.iter().map(|e| e.way.describe()).collect();
                    let letters = match *word {
                        "both" => "RL",
                        "read" => "R",
                        _ => "L",
                    };
                    let _ = write!(
                        page,
                        "<td class=\"cell {word}\" title=\"{}\">{letters}</td>",
                        escape(&title.join("\n"))
                    );
                }
                None => page.push_str("<td></td>"),
            }
        }
        page.push_str("</tr>\n");
    }
    let _ = write!(
        page,
        "</tbody>\n</table>\n</div>\n</section>\n<script>\n{SCRIPT}</script>\n</body>\n</html>\n"
    );
    page
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_and_never_formulas() {
        assert_eq!(csv_field("team/db"), "team/db");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=cmd()"), "'=cmd()");
        assert_eq!(csv_field("-1,2"), "\"'-1,2\"");
    }

    #[test]
    fn html_text_is_escaped() {
        assert_eq!(
            escape("<script>a&b</script> \"x\" 'y'"),
            "&lt;script&gt;a&amp;b&lt;/script&gt; &quot;x&quot; &#39;y&#39;"
        );
    }
}
