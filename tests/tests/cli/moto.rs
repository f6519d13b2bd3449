//! AWS for the tests: `moto_server` (PyPI `moto[server]`) on loopback, serving IAM and STS,
//! behind a proxy of each test's own that can fail chosen actions.
//!
//! One moto per test process: `moto_server` from PATH (or named by `MOTO_SERVER`), else
//! installed from PyPI into a throwaway virtualenv. Where neither can be had, the test fails and
//! names the cause. moto and its virtualenv go when the test process does: a shell holds them
//! and ends them when its standard input, a pipe from this process, closes.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};

use aws_config::{BehaviorVersion, Region};
use aws_sdk_iam::config::Credentials;
use aws_sdk_iam::types::StatusType;
use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

use crate::python::Venv;

/// The credentials the tool and the tests sign with; moto accepts any.
pub const ADMIN_KEY_ID: &str = "AKIAADMINADMINADMIN0";
const ADMIN_SECRET: &str = "admin-secret-admin-secret-admin-secret00";

struct Moto {
    url: String,
    /// Holds the shell that ends moto when this process ends.
    _keeper: Mutex<Child>,
}

/// A free loopback port.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn moto() -> &'static Moto {
    static MOTO: OnceLock<Moto> = OnceLock::new();
    MOTO.get_or_init(|| {
        let found = std::env::var("MOTO_SERVER").unwrap_or_else(|_| "moto_server".into());
        let on_path = Command::new(&found)
            .arg("--help")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        let (program, venv_dir) = if on_path {
            (found.into(), None)
        } else {
            let venv = Venv::with(&[], &["moto[server]"]);
            (venv.bin("moto_server"), Some(venv.keep()))
        };
        let port = free_port();
        let remove = venv_dir
            .as_ref()
            .map(|d| format!("rm -rf '{}'", d.display()))
            .unwrap_or_default();
        let script = format!(
            "\"$0\" -H 127.0.0.1 -p {port} >/dev/null 2>&1 & pid=$!; echo started; \
             read _ignored; kill $pid; wait $pid; {remove}"
        );
        let mut keeper = Command::new("sh")
            .arg("-c")
            .arg(script)
            .arg(&program)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", program.display()));
        let mut line = String::new();
        BufReader::new(keeper.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = format!("http://127.0.0.1:{port}");
        for _ in 0..300 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Moto {
                    url,
                    _keeper: Mutex::new(keeper),
                };
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        let _ = keeper.kill();
        let _ = keeper.wait();
        panic!(
            "{} did not listen on port {port} within 30 s",
            program.display()
        );
    })
}

/// A failure to inject: the next `times` calls of an action answer `status` with AWS error
/// `code`.
#[derive(Debug, Clone)]
struct Fault {
    times: u32,
    status: u16,
    code: String,
}

/// The scripted failures, and whether every call is held unanswered (a paused AWS).
#[derive(Default)]
struct FaultsInner {
    by_action: HashMap<String, Fault>,
    stalled: bool,
}

type Faults = Arc<Mutex<FaultsInner>>;

/// IAM and STS for one test: moto behind a proxy of its own.
pub struct Aws {
    /// The proxy's URL, for `AWS_ENDPOINT_URL`.
    pub endpoint: String,
    pub iam: aws_sdk_iam::Client,
    faults: Faults,
    /// How many calls of each action went through the proxy.
    calls: Arc<Mutex<HashMap<String, u32>>>,
    /// The secret of every key created through the proxy, by key id.
    created: Created,
}

type Created = Arc<Mutex<HashMap<String, String>>>;

impl Aws {
    pub fn start() -> Self {
        let upstream = moto().url.clone();
        let faults: Faults = Arc::default();
        let calls: Arc<Mutex<HashMap<String, u32>>> = Arc::default();
        let created: Created = Arc::default();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let (f, c, k) = (faults.clone(), calls.clone(), created.clone());
        // Its own thread and runtime: a test blocked on a child process cannot stall it.
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let client = reqwest::Client::new();
                let app = axum::Router::new().fallback(
                    move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
                        proxy(
                            client.clone(),
                            upstream.clone(),
                            (f.clone(), c.clone(), k.clone()),
                            (method, uri, headers, body),
                        )
                    },
                );
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                axum::serve(listener, app).await.unwrap();
            });
        });
        Self {
            iam: aws_sdk_iam::Client::new(&config(&moto().url)),
            endpoint,
            faults,
            calls,
            created,
        }
    }

    /// The secret access key of `id`, if it was created through the proxy.
    pub fn secret_of(&self, id: &str) -> Option<String> {
        self.created.lock().unwrap().get(id).cloned()
    }

    /// The workflows' AWS, through this test's proxy, signing as the admin.
    pub fn ops(&self) -> dcos_ops::access_keys::Aws {
        dcos_ops::access_keys::Aws::from_config(config(&self.endpoint))
    }

    /// The environment that points the tool at this AWS, signing as the admin.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.endpoint.clone()),
            ("AWS_ACCESS_KEY_ID", ADMIN_KEY_ID.into()),
            ("AWS_SECRET_ACCESS_KEY", ADMIN_SECRET.into()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_EC2_METADATA_DISABLED", "true".into()),
        ]
    }

    /// The next `times` calls of `action` fail with `status` and AWS error `code`.
    pub fn fail(&self, action: &str, times: u32, status: u16, code: &str) {
        self.faults.lock().unwrap().by_action.insert(
            action.to_owned(),
            Fault {
                times,
                status,
                code: code.to_owned(),
            },
        );
    }

    /// While `on`, every call is accepted and never answered, as by an AWS endpoint whose
    /// process is paused.
    pub fn stall(&self, on: bool) {
        self.faults.lock().unwrap().stalled = on;
    }

    /// How many calls of every action reached the proxy.
    pub fn all_calls(&self) -> u32 {
        self.calls.lock().unwrap().values().sum()
    }

    /// How many calls of `action` reached the proxy.
    pub fn calls(&self, action: &str) -> u32 {
        self.calls.lock().unwrap().get(action).copied().unwrap_or(0)
    }

    /// Creates IAM user `name`.
    pub async fn user(&self, name: &str) {
        self.iam.create_user().user_name(name).send().await.unwrap();
    }

    /// A new access key of `user`: its id and secret.
    pub async fn create_key(&self, user: &str) -> (String, String) {
        let key = self
            .iam
            .create_access_key()
            .user_name(user)
            .send()
            .await
            .unwrap();
        let key = key.access_key().unwrap();
        (
            key.access_key_id().to_owned(),
            key.secret_access_key().to_owned(),
        )
    }

    /// `user`'s keys: id and whether it is active.
    pub async fn keys(&self, user: &str) -> Vec<(String, bool)> {
        let keys = self
            .iam
            .list_access_keys()
            .user_name(user)
            .send()
            .await
            .unwrap();
        let mut keys: Vec<(String, bool)> = keys
            .access_key_metadata()
            .iter()
            .map(|k| {
                (
                    k.access_key_id().unwrap().to_owned(),
                    k.status() == Some(&StatusType::Active),
                )
            })
            .collect();
        keys.sort();
        keys
    }
}

/// The SDK's configuration for AWS at `endpoint`, signing as the admin.
fn config(endpoint: &str) -> aws_config::SdkConfig {
    aws_config::SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(aws_sdk_iam::config::SharedCredentialsProvider::new(
            Credentials::new(ADMIN_KEY_ID, ADMIN_SECRET, None, None, "tests"),
        ))
        .http_client(aws_smithy_http_client::Builder::new().build_http())
        .build()
}

/// The `Action` of a query-protocol request (IAM and STS both speak it).
fn action(uri: &Uri, body: &[u8]) -> String {
    let query = uri.query().unwrap_or_default().as_bytes();
    url::form_urlencoded::parse(body)
        .chain(url::form_urlencoded::parse(query))
        .find(|(k, _)| k == "Action")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

async fn proxy(
    client: reqwest::Client,
    upstream: String,
    (faults, calls, created): (Faults, Arc<Mutex<HashMap<String, u32>>>, Created),
    (method, uri, headers, body): (Method, Uri, HeaderMap, Bytes),
) -> Response {
    let action = action(&uri, &body);
    *calls.lock().unwrap().entry(action.clone()).or_default() += 1;
    let stalled = faults.lock().unwrap().stalled;
    if stalled {
        std::future::pending::<()>().await;
    }
    let injected = {
        let mut faults = faults.lock().unwrap();
        match faults.by_action.get_mut(&action) {
            Some(fault) if fault.times > 0 => {
                fault.times -= 1;
                Some(fault.clone())
            }
            _ => None,
        }
    };
    if let Some(fault) = injected {
        let xml = format!(
            "<ErrorResponse><Error><Type>Sender</Type><Code>{}</Code><Message>injected by the \
             test</Message></Error><RequestId>test</RequestId></ErrorResponse>",
            fault.code
        );
        return (
            StatusCode::from_u16(fault.status).unwrap(),
            [("content-type", "text/xml")],
            xml,
        )
            .into_response();
    }
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let mut request = client.request(method, format!("{upstream}{path}"));
    for (name, value) in &headers {
        if name != "host" && name != "content-length" {
            request = request.header(name, value);
        }
    }
    let answer = match request.body(body).send().await {
        Ok(answer) => answer,
        Err(e) => return (StatusCode::BAD_GATEWAY, e.to_string()).into_response(),
    };
    let status = answer.status();
    let kind = answer
        .headers()
        .get("content-type")
        .cloned()
        .unwrap_or_else(|| "text/xml".parse().unwrap());
    let bytes = answer.bytes().await.unwrap_or_default();
    if action == "CreateAccessKey" {
        let text = String::from_utf8_lossy(&bytes);
        let field = |name: &str| {
            let start = text.find(&format!("<{name}>"))? + name.len() + 2;
            let end = text[start..].find('<')? + start;
            Some(text[start..end].to_owned())
        };
        if let (Some(id), Some(secret)) = (field("AccessKeyId"), field("SecretAccessKey")) {
            created.lock().unwrap().insert(id, secret);
        }
    }
    (status, [("content-type", kind)], bytes).into_response()
}
