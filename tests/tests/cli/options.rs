//! The emitted service options: valid for every published Data Science Engine package schema,
//! merged into existing files without losing a key, and `hdfs options --check`.

use std::path::PathBuf;

use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::harness::Cluster;

/// The package schemas in `$DCOS_REFERENCE_DIR/dse-config`, or `None` (and a note) without it.
fn schemas() -> Option<Vec<(PathBuf, Value)>> {
    let Some(dir) = std::env::var_os("DCOS_REFERENCE_DIR") else {
        eprintln!("skipped: DCOS_REFERENCE_DIR is not set, so the package schemas are not at hand");
        return None;
    };
    let dir = PathBuf::from(dir).join("dse-config");
    let mut found: Vec<(PathBuf, Value)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .map(|p| {
            let schema = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
            (p, schema)
        })
        .collect();
    found.sort_by(|a, b| a.0.cmp(&b.0));
    assert!(!found.is_empty(), "no schema in {}", dir.display());
    Some(found)
}

/// What Cosmos does before it validates: the schema's defaults, with the options over them.
fn with_defaults(schema: &Value, options: &Value) -> Value {
    fn defaults(schema: &Value) -> Option<Value> {
        if let Some(d) = schema.get("default") {
            return Some(d.clone());
        }
        let props = schema.get("properties")?.as_object()?;
        let object: serde_json::Map<String, Value> = props
            .iter()
            .filter_map(|(k, s)| Some((k.clone(), defaults(s)?)))
            .collect();
        Some(Value::Object(object))
    }
    fn merge(base: &mut Value, over: &Value) {
        match (base, over) {
            (Value::Object(b), Value::Object(o)) => {
                for (k, v) in o {
                    merge(b.entry(k.clone()).or_insert(Value::Null), v);
                }
            }
            (b, o) => *b = o.clone(),
        }
    }
    let mut full = defaults(schema).unwrap_or(json!({}));
    merge(&mut full, options);
    full
}

/// Every key path of `options` that is not a property in `schema`.
fn unknown_keys(schema: &Value, options: &Value, at: &str) -> Vec<String> {
    let Some(object) = options.as_object() else {
        return Vec::new();
    };
    object
        .iter()
        .flat_map(|(key, value)| {
            let here = format!("{at}.{key}");
            match schema.pointer(&format!("/properties/{key}")) {
                Some(sub) => unknown_keys(sub, value, &here),
                None => vec![here],
            }
        })
        .collect()
}

/// Asserts that `options`, over the schema's defaults as Cosmos puts them, is valid and uses
/// only the schema's properties; the validator and those full options, for more checks.
fn assert_valid(name: &str, schema: &Value, options: &Value) -> (jsonschema::Validator, Value) {
    let validator = jsonschema::draft4::new(schema).unwrap();
    let full = with_defaults(schema, options);
    let errors: Vec<String> = validator
        .iter_errors(&full)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{name}: {errors:?}");
    assert_eq!(
        unknown_keys(schema, options, ""),
        Vec::<String>::new(),
        "{name}"
    );
    (validator, full)
}

fn s3_options(cluster: &Cluster, extra: &[&str]) -> crate::harness::Run {
    let mut args = vec![
        "s3",
        "options",
        "--service-account",
        "dse",
        "--service-account-secret",
        "team/dse/sa",
        "--service-name",
        "team/dse",
    ];
    args.extend_from_slice(extra);
    cluster.run_with(&args, &[], None)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn options_validate_against_every_published_package_schema() {
    let cluster = Cluster::start().await;
    let file = cluster.path("options.json");
    let file_arg = file.to_str().unwrap();
    std::fs::write(&file, "{}").unwrap();
    s3_options(
        &cluster,
        &[
            "--aws-region",
            "eu-west-1",
            "--s3-endpoint",
            "s3.eu-west-1.amazonaws.com",
            "--merge-into",
            file_arg,
        ],
    )
    .expect(0);
    cluster
        .run_with(
            &[
                "hdfs",
                "options",
                "--conf-url",
                "http://api.hdfs.marathon.l4lb.thisdcos.directory/v1/endpoints",
                "--merge-into",
                file_arg,
            ],
            &[],
            None,
        )
        .expect(0);
    let options: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(options["service"]["name"], "team/dse");
    assert_eq!(
        options["storage"]["s3"]["endpoint"],
        "s3.eu-west-1.amazonaws.com"
    );
    assert_eq!(
        cluster.emulator.counters().total,
        0,
        "options never contact the cluster"
    );

    let docs = s3_options(&cluster, &["--layout", "docs"]).expect(0);
    assert!(
        docs.stderr.contains("silently ignores `s3`"),
        "{}",
        docs.stderr
    );
    let docs = docs.json();
    assert_eq!(
        docs["s3"]["aws_access_key_id"],
        "team/dse/aws_access_key_id"
    );

    let Some(schemas) = schemas() else {
        return;
    };
    for (file, schema) in &schemas {
        let name = file.file_name().unwrap().to_string_lossy();
        let (validator, full) = assert_valid(&name, schema, &options);
        // The documentation's block is accepted (the root allows unknown keys) but is no
        // property of the package: it is ignored.
        assert!(validator.is_valid(&with_defaults(schema, &docs)), "{name}");
        assert_eq!(unknown_keys(schema, &docs, ""), [".s3"], "{name}");
        // A value outside the enum would be refused: the check is real.
        let mut wrong = full.clone();
        wrong["spark"]["spark_hadoop_fs_s3a_aws_credentials_provider"] = json!("Anything");
        assert!(!validator.is_valid(&wrong), "{name}");
    }
    eprintln!("validated against {} package schemas", schemas.len());
}

/// The options `dse setup` writes with every option given (S3, Kerberos, TLS with a key
/// password, a truststore and a CA bundle, the Hadoop configuration URL, OIDC's client secret),
/// and every secret they name.
fn full_setup() -> (Value, std::collections::BTreeSet<String>) {
    use crate::dse_setup::{keytab, pkcs12};
    use dcos_ops::dse::setup::{FileInput, KerberosInput, S3Input, SetupInput, TlsInput};
    use dcos_ops::dse::{Destination, ServiceName, security::SecurityMode};
    let file = |name: &str, bytes: Vec<u8>| FileInput {
        file: name.into(),
        bytes,
    };
    let secret = |text: &str| secrecy::SecretString::from(text.to_owned());
    let keys = dcos_ops::aws::KeyPair::new(
        "AKIAIOSFODNN7EXAMPLE".into(),
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".into(),
        "the test",
    )
    .unwrap();
    let input = SetupInput {
        service: ServiceName::new("data-science-engine").unwrap(),
        account: None,
        login_secret: None,
        login_endpoint: dcos_iam_client::DEFAULT_LOGIN_ENDPOINT.into(),
        role: None,
        linux_user: None,
        mesos_permissions: false,
        s3: Some(S3Input::of(keys)),
        kerberos: Some(KerberosInput {
            keytab: file(
                "jupyter.keytab",
                keytab(&["jupyter", "node"], "EXAMPLE.COM"),
            ),
            realm: "EXAMPLE.COM".into(),
            kdc_host: "kdc.example.com".into(),
            kdc_port: 88,
            primary: None,
        }),
        tls: Some(TlsInput {
            keystore: file("engine.p12", pkcs12("store")),
            keystore_password: secret("store"),
            key_password: Some(secret("store")),
            truststore: Some((file("trust.p12", pkcs12("trust")), secret("trust"))),
            ca_bundle: Some(file("ca.pem", b"-----BEGIN CERTIFICATE-----\n".to_vec())),
        }),
        hdfs_conf_url: Some("http://api.hdfs.marathon.l4lb.thisdcos.directory/v1/endpoints".into()),
        oidc_client_secret: Some(secret("b874f6e9-client-secret")),
        spark_secrets: vec![
            "data-science-engine/db_password,env=DB_PASSWORD"
                .parse()
                .unwrap(),
        ],
        overwrite: false,
        package_version: Default::default(),
    };
    let prepared = input.prepare(&Destination::Report, &dcos_ops::Silent);
    let setup = prepared.unwrap().in_mode(SecurityMode::Strict).unwrap();
    assert!(setup.plaintext_secret);
    let named = std::iter::once(&setup.login_secret)
        .chain(setup.secrets.iter().map(|s| &s.path))
        .chain(setup.spark_secrets.iter().map(|s| &s.path));
    (
        setup.options.options,
        named.map(ToString::to_string).collect(),
    )
}

/// Everything `dse setup` writes is a property of each published schema, and valid there.
#[test]
fn the_engines_options_validate_against_every_published_schema() {
    let (options, secrets) = full_setup();
    assert_eq!(secrets.len(), 11, "{secrets:?}");
    assert_eq!(
        options["spark"]["spark_mesos_principal"],
        "data-science-engine"
    );
    assert_eq!(options["security"]["kerberos"]["kdc"]["port"], 88);
    let Some(schemas) = schemas() else {
        return;
    };
    for (file, schema) in &schemas {
        let name = file.file_name().unwrap().to_string_lossy();
        let (validator, mut wrong) = assert_valid(&name, schema, &options);
        // A port as text would be refused: the check is real.
        wrong["security"]["kerberos"]["kdc"]["port"] = json!("88");
        assert!(!validator.is_valid(&wrong), "{name}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn merging_keeps_every_other_key_and_files_are_never_clobbered() {
    let cluster = Cluster::start().await;
    let file = cluster.path("options.json");
    let file_arg = file.to_str().unwrap();
    let mine = json!({
        "service": {"name": "team/dse", "cpus": 2, "mem": 8192, "jupyter_conf_urls": "http://artifacts/jaas.conf"},
        "networking": {"external_access": {"enabled": true}},
        "storage": {"local_persistence": {"enabled": false}},
        "spark": {"spark_executor_memory": "4g"}
    });
    std::fs::write(&file, serde_json::to_string(&mine).unwrap()).unwrap();
    let run = s3_options(&cluster, &["--merge-into", file_arg]).expect(0);
    assert_eq!(run.stdout(), "");
    assert!(run.stderr.contains("written"), "{}", run.stderr);
    let merged: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(merged["service"]["cpus"], 2);
    assert_eq!(merged["service"]["mem"], 8192);
    assert_eq!(merged["networking"], mine["networking"]);
    assert_eq!(
        merged["storage"]["local_persistence"],
        mine["storage"]["local_persistence"]
    );
    assert_eq!(merged["spark"]["spark_executor_memory"], "4g");
    assert_eq!(merged["service"]["service_account"], "dse");
    assert_eq!(
        merged["storage"]["s3"]["aws_access_key_id"],
        "team/dse/aws_access_key_id"
    );

    // HDFS adds its URL to the list that is there.
    cluster
        .run_with(
            &[
                "hdfs",
                "options",
                "--conf-url",
                "http://hdfs/v1/endpoints",
                "--merge-into",
                file_arg,
            ],
            &[],
            None,
        )
        .expect(0);
    let merged: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(
        merged["service"]["jupyter_conf_urls"],
        "http://artifacts/jaas.conf,http://hdfs/v1/endpoints"
    );

    // Again: the file is left alone, byte for byte.
    let bytes = std::fs::read(&file).unwrap();
    let again = s3_options(&cluster, &["--merge-into", file_arg]).expect(0);
    assert!(again.stderr.contains("unchanged"), "{}", again.stderr);
    assert_eq!(std::fs::read(&file).unwrap(), bytes);

    // --out writes a new file, keeps an identical one, and never replaces another.
    let out = cluster.path("new.json");
    let out_arg = out.to_str().unwrap();
    s3_options(&cluster, &["--out", out_arg]).expect(0);
    s3_options(&cluster, &["--out", out_arg]).expect(0);
    let run = s3_options(&cluster, &["--out", file_arg]).expect(3);
    assert!(run.stderr.contains("--merge-into"), "{}", run.stderr);
    assert_eq!(std::fs::read(&file).unwrap(), bytes);

    // A broken file is refused, not replaced.
    std::fs::write(&file, "{\"service\": ").unwrap();
    let run = s3_options(&cluster, &["--merge-into", file_arg]).expect(2);
    assert!(run.stderr.contains("not valid JSON"), "{}", run.stderr);
    assert_eq!(std::fs::read(&file).unwrap(), b"{\"service\": ");
    let leftovers = std::fs::read_dir(cluster.dir.path()).unwrap().count();
    assert_eq!(
        leftovers, 4,
        "cluster-ca.pem, home, options.json, new.json; no temporary files"
    );
}

const CORE_SITE: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<configuration>
  <property><name>fs.defaultFS</name><value>hdfs://hdfs</value></property>
  <property><name>hadoop.proxyuser.hue.hosts</name><value>*</value></property>
</configuration>"#;
const HDFS_SITE: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<configuration>
  <property><name>dfs.nameservices</name><value>hdfs</value></property>
  <property><name>dfs.ha.namenodes.hdfs</name><value>name-0-node,name-1-node</value></property>
  <property><name>dfs.namenode.rpc-address.hdfs.name-0-node</name><value>name-0-node.hdfs.autoip.dcos.thisdcos.directory:9001</value></property>
</configuration>"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hdfs_check_fetches_both_files_and_names_what_is_missing() {
    let cluster = Cluster::start().await;
    let server = MockServer::start().await;
    let serve = |file: &'static str, status: u16, body: &'static str| {
        Mock::given(method("GET"))
            .and(path(format!("/v1/endpoints/{file}")))
            .respond_with(ResponseTemplate::new(status).set_body_string(body))
    };
    serve("hdfs-site.xml", 200, HDFS_SITE).mount(&server).await;
    let url = format!("{}/v1/endpoints", server.uri());
    let hdfs = |extra: &[&str]| {
        let mut args = vec!["hdfs", "options", "--conf-url", &url];
        args.extend_from_slice(extra);
        cluster.run_with(&args, &[], None)
    };

    // core-site.xml is missing: exit 5, naming it; nothing printed.
    let run = hdfs(&["--check"]).expect(5);
    assert!(
        run.stderr.contains("core-site.xml: not served here (404)"),
        "{}",
        run.stderr
    );
    assert_eq!(run.stdout(), "");

    // An HTML page answered with 200 is not configuration.
    let page = serve("core-site.xml", 200, "<html><body>Welcome</body></html>")
        .up_to_n_times(1)
        .mount_as_scoped(&server)
        .await;
    let run = hdfs(&["--check"]).expect(5);
    assert!(
        run.stderr.contains("not Hadoop configuration"),
        "{}",
        run.stderr
    );
    drop(page);

    serve("core-site.xml", 200, CORE_SITE).mount(&server).await;
    let run = hdfs(&["--check", "-o", "json"]).expect(0);
    let report = run.json();
    assert_eq!(
        report["options"]["service"]["jupyter_conf_urls"],
        url.as_str()
    );
    assert_eq!(report["checks"][0]["properties"], 3);
    assert_eq!(report["checks"][1]["file"], "core-site.xml");
    assert_eq!(report["checks"][1]["missing"], json!([]));

    // Unreachable is exit 6, with a word on in-cluster names.
    let run = cluster
        .run_with(
            &[
                "hdfs",
                "options",
                "--check",
                "--conf-url",
                "http://127.0.0.1:9/v1/endpoints",
                "--timeout",
                "2",
            ],
            &[],
            None,
        )
        .expect(6);
    assert!(run.stderr.contains("reachable"), "{}", run.stderr);
    assert_eq!(cluster.emulator.counters().total, 0);
}

/// A template and its context as Cosmos renders them: a value goes into the JSON text escaped
/// as JSON string content, never HTML-escaped (Cosmos's own test, "renderTemplate should not
/// use html encoding for special characters", reads a quote, backslash and control characters
/// back unchanged). Here every string of the context is JSON-escaped first and every tag
/// renders it as it is.
fn as_cosmos_renders(template: &str, context: &Value) -> String {
    use mustache2::render::{RenderManager, SourceCache, provider::StaticProvider};
    fn escaped(value: &Value) -> Value {
        match value {
            Value::String(s) => {
                let quoted = serde_json::to_string(s).unwrap();
                Value::String(quoted[1..quoted.len() - 1].to_owned())
            }
            Value::Array(items) => Value::Array(items.iter().map(escaped).collect()),
            Value::Object(fields) => Value::Object(
                fields
                    .iter()
                    .map(|(k, v)| (k.clone(), escaped(v)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }
    // `{{x}}` as `{{{x}}}`: no HTML escaping.
    let mut raw = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        raw.push_str(&rest[..start]);
        let tag = &rest[start..];
        let end = tag.find("}}").expect("a closed tag") + 2;
        let inner = &tag[2..end - 2];
        match inner.starts_with(['#', '^', '/', '{', '!', '>', '&']) {
            true => raw.push_str(&tag[..end]),
            false => raw.push_str(&format!("{{{{{{{inner}}}}}}}")),
        }
        rest = &tag[end..];
    }
    raw.push_str(rest);
    let template: &'static str = raw.leak();
    let provider = StaticProvider(std::collections::HashMap::from([("app", template)]));
    let cache = SourceCache::default();
    RenderManager::new(provider, &cache)
        .render_serde("app", escaped(context))
        .unwrap_or_else(|e| panic!("the template does not render: {e:?}"))
}

/// Variables of the engine's scheduler that hold secret paths without saying so in their name:
/// every schema documents `security.tls.keystore_password` and `.key_password` as "DC/OS secret
/// path that contains the ... password".
const NAMED_PASSWORD_SECRETS: [&str; 2] = [
    "SECURITY_TLS_KEYSTORE_PASSWORD",
    "SECURITY_TLS_KEY_PASSWORD",
];

/// The secret paths a rendered app gives its tasks: its `secrets`, and those its environment
/// names for the scheduler (`*_SECRET`, `*_SECRET_NAMES` comma lists, and the two passwords).
fn secrets_of(app: &Value) -> std::collections::BTreeSet<String> {
    let declared = app["secrets"].as_object().into_iter().flatten();
    let mut found: std::collections::BTreeSet<String> = declared
        .filter_map(|(_, s)| s["source"].as_str().map(str::to_owned))
        .collect();
    for (key, value) in app["env"].as_object().into_iter().flatten() {
        let named = key.ends_with("_SECRET")
            || key.ends_with("_SECRET_NAMES")
            || NAMED_PASSWORD_SECRETS.contains(&key.as_str());
        if let (true, Some(paths)) = (named, value.as_str()) {
            found.extend(
                paths
                    .split(',')
                    .filter(|p| !p.is_empty())
                    .map(str::to_owned),
            );
        }
    }
    found
}

/// Requirement (issue 28): the engine's options, over each version's defaults, render through
/// that version's Marathon template with its `resource.json` into an app that names exactly
/// the secrets the options name.
#[test]
fn the_engines_options_render_through_every_package_template_naming_exactly_its_secrets() {
    let Some(schemas) = schemas() else {
        return;
    };
    let (options, wanted) = full_setup();
    let reference = std::env::var_os("DCOS_REFERENCE_DIR").unwrap();
    let packages = std::path::Path::new(&reference).join("dse-package");
    for (file, schema) in &schemas {
        let name = file.file_name().unwrap().to_string_lossy();
        let stem = name.trim_end_matches(".config.json");
        let read = |suffix: &str| {
            let file = packages.join(format!("{stem}.{suffix}"));
            std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()))
        };
        let mut context = with_defaults(schema, &options);
        context["resource"] = serde_json::from_str(&read("resource.json")).unwrap();
        let rendered = as_cosmos_renders(&read("marathon.json.mustache"), &context);
        let app: Value = serde_json::from_str(&rendered)
            .unwrap_or_else(|e| panic!("{stem} renders no JSON ({e}):\n{rendered}"));
        assert_eq!(app["id"], "data-science-engine", "{stem}");
        let named = secrets_of(&app);
        let missing: Vec<_> = wanted.difference(&named).collect();
        let extra: Vec<_> = named.difference(&wanted).collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "{stem}: not named {missing:?}, named besides {extra:?}"
        );
        // What `secret consumers` and `audit` see of the app Cosmos installs (it labels it):
        // every one of those secrets, used.
        let mut installed = app.clone();
        installed["labels"]["DCOS_PACKAGE_NAME"] = json!("data-science-engine");
        let workload = dcos_ops::consumers::Workload::of_app(&installed);
        let used: std::collections::BTreeSet<String> =
            workload.uses.into_iter().map(|(path, ..)| path).collect();
        assert_eq!(used, wanted, "{stem}: the uses the consumers reader finds");
    }
}
