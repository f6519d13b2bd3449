//! Conformance tests of the emulator, with plain reqwest so that no client code is shared.

mod auth;
mod binary;
mod control;
mod discovery;
mod iam;
mod marathon;
mod openapi;
mod secrets;

use std::sync::{Arc, Mutex};

use dcos_emulator::{Emulator, EmulatorBuilder};
use reqwest::{Method, StatusCode};
use serde_json::Value;

/// One answered request: method, path as sent, status.
pub type Seen = (Method, String, u16);

/// A raw HTTP caller that remembers every answer's status.
#[derive(Debug, Clone)]
pub struct Caller {
    pub base: String,
    pub http: reqwest::Client,
    pub token: Option<String>,
    pub log: Arc<Mutex<Vec<Seen>>>,
}

/// An answer, fully read.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    pub fn content_type(&self) -> &str {
        self.headers
            .get("content-type")
            .map_or("", |v| v.to_str().unwrap())
    }
    /// Asserts the status and, for IAM errors, the code.
    #[track_caller]
    pub fn expect(&self, status: u16, code: Option<&str>) -> &Self {
        assert_eq!(self.status.as_u16(), status, "body: {}", self.text());
        if let Some(code) = code {
            assert_eq!(self.json()["code"], code, "body: {}", self.text());
        }
        self
    }
}

impl Caller {
    pub fn new(base: &str) -> Self {
        Self {
            base: base.to_owned(),
            http: reqwest::Client::new(),
            token: None,
            log: Arc::default(),
        }
    }

    pub fn with_token(&self, token: &str) -> Self {
        Self {
            token: Some(token.to_owned()),
            ..self.clone()
        }
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<(&str, Vec<u8>)>,
        headers: &[(&str, &str)],
    ) -> Answer {
        let mut req = self
            .http
            .request(method.clone(), format!("{}{path}", self.base));
        if let Some(t) = &self.token {
            req = req.header("authorization", format!("token={t}"));
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some((ct, bytes)) = body {
            if !ct.is_empty() {
                req = req.header("content-type", ct);
            }
            req = req.body(bytes);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = resp.bytes().await.unwrap().to_vec();
        self.log
            .lock()
            .unwrap()
            .push((method, path.to_owned(), status.as_u16()));
        Answer {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.call(Method::GET, path, None, &[]).await
    }
    pub async fn delete(&self, path: &str) -> Answer {
        self.call(Method::DELETE, path, None, &[]).await
    }
    pub async fn put_json(&self, path: &str, body: Value) -> Answer {
        self.call(
            Method::PUT,
            path,
            Some(("application/json", body.to_string().into_bytes())),
            &[],
        )
        .await
    }
    pub async fn patch_json(&self, path: &str, body: Value) -> Answer {
        self.call(
            Method::PATCH,
            path,
            Some(("application/json", body.to_string().into_bytes())),
            &[],
        )
        .await
    }
    pub async fn put_empty(&self, path: &str) -> Answer {
        self.call(Method::PUT, path, None, &[]).await
    }
    pub async fn post_json(&self, path: &str, body: Value) -> Answer {
        self.call(
            Method::POST,
            path,
            Some(("application/json", body.to_string().into_bytes())),
            &[],
        )
        .await
    }

    /// Logs in with a password and returns a caller holding the token.
    pub async fn login(&self, uid: &str, password: &str) -> Caller {
        let a = self
            .post_json(
                "/acs/api/v1/auth/login",
                serde_json::json!({"uid": uid, "password": password}),
            )
            .await;
        a.expect(200, None);
        self.with_token(a.json()["token"].as_str().unwrap())
    }
}

/// A started emulator and a caller logged in as the bootstrap superuser.
pub async fn start(builder: EmulatorBuilder) -> (Emulator, Caller) {
    let emulator = builder.start().await.unwrap();
    let anon = Caller::new(emulator.url());
    let root = anon.login("bootstrapuser", "deleteme").await;
    (emulator, root)
}

/// Creates a user with a password and returns a caller logged in as it.
pub async fn user(root: &Caller, uid: &str) -> Caller {
    root.put_json(
        &format!("/acs/api/v1/users/{uid}"),
        serde_json::json!({"description": uid, "password": "password"}),
    )
    .await
    .expect(201, None);
    Caller::new(&root.base).login(uid, "password").await
}

/// Grants `action` on `rid` (raw) to user `uid`, creating the ACL.
pub async fn grant(root: &Caller, rid: &str, uid: &str, action: &str) {
    let url = format!("/acs/api/v1/acls/{}", rid.replace('/', "%252F"));
    let a = root
        .put_json(&url, serde_json::json!({"description": "t"}))
        .await;
    assert!(a.status == 201 || a.status == 409, "{}", a.text());
    root.put_empty(&format!("{url}/users/{uid}/{action}"))
        .await
        .expect(204, None);
}
