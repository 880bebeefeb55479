//! The one helper every test uses: a freshly started org and a client with a session.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use forcebridge_emulator::{Config, Control, Emulator};
use reqwest::{Method, StatusCode, header::HeaderMap};
use serde_json::Value;

/// A started org and an HTTP client logged in as the first user.
pub(crate) struct TestOrg {
    pub emulator: Emulator,
    pub client: reqwest::Client,
    pub token: String,
    pub version: &'static str,
}

/// One response: status, headers and the body as JSON (`Value::Null` when empty or not JSON).
#[derive(Debug)]
pub(crate) struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub json: Value,
    pub text: String,
}

impl TestOrg {
    pub(crate) async fn start() -> TestOrg {
        TestOrg::with_config(Config::builtin()).await
    }

    pub(crate) async fn with_config(config: Config) -> TestOrg {
        let emulator = Emulator::start(config, "127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        let token = emulator.access_token();
        TestOrg {
            emulator,
            client: reqwest::Client::new(),
            token,
            version: "60.0",
        }
    }

    /// The org's control surface.
    pub(crate) fn control(&self) -> Control {
        self.emulator.control()
    }

    /// Moves the org's clock on by `millis`.
    pub(crate) fn advance(&self, millis: u64) {
        self.control()
            .advance_clock(std::time::Duration::from_millis(millis));
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.emulator.url())
    }

    /// `path` relative to `/services/data/vNN.N`.
    pub(crate) fn data(&self, path: &str) -> String {
        self.url(&format!("/services/data/v{}{path}", self.version))
    }

    pub(crate) async fn send(&self, method: Method, url: &str, body: Option<Value>) -> Reply {
        let mut request = self.client.request(method, url).bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        Reply::from(request.send().await.unwrap()).await
    }

    pub(crate) async fn get(&self, path: &str) -> Reply {
        self.send(Method::GET, &self.data(path), None).await
    }

    pub(crate) async fn post(&self, path: &str, body: Value) -> Reply {
        self.send(Method::POST, &self.data(path), Some(body)).await
    }

    pub(crate) async fn patch(&self, path: &str, body: Value) -> Reply {
        self.send(Method::PATCH, &self.data(path), Some(body)).await
    }

    pub(crate) async fn delete(&self, path: &str) -> Reply {
        self.send(Method::DELETE, &self.data(path), None).await
    }

    /// Creates a record and returns its id, failing the test if the org refuses.
    pub(crate) async fn create(&self, object: &str, body: Value) -> String {
        let reply = self.post(&format!("/sobjects/{object}"), body).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
        reply.json["id"].as_str().unwrap().to_string()
    }
}

impl Reply {
    pub(crate) async fn from(response: reqwest::Response) -> Reply {
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap();
        let json = serde_json::from_str(&text).unwrap_or(Value::Null);
        Reply {
            status,
            headers,
            json,
            text,
        }
    }

    /// The `errorCode` of the first error in a REST error array.
    pub(crate) fn error_code(&self) -> &str {
        self.json[0]["errorCode"].as_str().unwrap_or("")
    }
}

/// Epoch milliseconds of an RFC 3339 time, such as `2024-05-15T12:00:00Z`.
pub(crate) fn at(text: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(text)
        .unwrap()
        .timestamp_millis()
}

/// A Salesforce datetime (`2024-05-15T12:00:00.000+0000`) as epoch milliseconds.
pub(crate) fn salesforce_time(text: &str) -> i64 {
    chrono::DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f%z")
        .unwrap()
        .timestamp_millis()
}

/// A fresh directory under the system's temporary directory, removed when dropped.
pub(crate) struct TempDir(PathBuf);

impl TempDir {
    pub(crate) fn new() -> TempDir {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let path = std::env::temp_dir().join(format!(
            "forcebridge-test-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&path);
        TempDir(path)
    }

    pub(crate) fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
