//! One helper: an org, a server over it, and a JSON-RPC client talking to the server over an
//! in-memory pipe, line by line, as a stdio client would.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use forcebridge_client::{Client, LoginUrl, PasswordCredentials};
use forcebridge_emulator::Emulator;
use forcebridge_mcp::{Audit, Config, Limits, Policy, Server};
use serde_json::{Value, json};
use tokio::io::{
    AsyncBufReadExt, AsyncWriteExt, BufReader, DuplexStream, Lines, ReadHalf, WriteHalf,
};

/// The audit log, kept in memory.
#[derive(Clone, Default)]
pub(crate) struct AuditLines(Arc<Mutex<Vec<u8>>>);

impl Write for AuditLines {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl AuditLines {
    pub(crate) fn entries(&self) -> Vec<Value> {
        let bytes = self.0.lock().unwrap().clone();
        String::from_utf8(bytes)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

pub(crate) async fn org(records: u64) -> (Emulator, Client) {
    let org = Emulator::start_demo(records).await.unwrap();
    let client = client_of(&org);
    (org, client)
}

/// A client of `org`, to look at it beside the server.
pub(crate) fn client_of(org: &Emulator) -> Client {
    let login = org.login();
    Client::builder(PasswordCredentials {
        login_url: LoginUrl::custom(&login.url).unwrap(),
        client_id: login.client_id,
        client_secret: login.client_secret.into(),
        username: login.username,
        password: login.password.into(),
        security_token: login.security_token.into(),
    })
    .build()
    .unwrap()
}

pub(crate) fn config() -> (Config, AuditLines) {
    let audit = AuditLines::default();
    let config = Config {
        read_only: false,
        policy: Policy::open(),
        limits: Limits::recommended(),
        audit: Some(Audit::writer(Box::new(audit.clone()), false)),
        confirm_ttl: Duration::from_secs(300),
    };
    (config, audit)
}

pub(crate) struct Mcp {
    pub(crate) org: Emulator,
    pub(crate) audit: AuditLines,
    writer: WriteHalf<DuplexStream>,
    lines: Lines<BufReader<ReadHalf<DuplexStream>>>,
    next_id: u64,
    /// Notifications received so far (progress, ...).
    pub(crate) notifications: Vec<Value>,
    /// Bytes of the last response line.
    pub(crate) last_response_bytes: usize,
    /// For a 2026-07-28 client: the `_meta` every request carries (protocol version and
    /// client capabilities), since that revision has no session.
    request_meta: Option<Value>,
}

impl Mcp {
    /// A demo org of about `records` records, a server with `adjust`ed settings, and a client
    /// that has initialized with protocol 2025-11-25.
    pub(crate) async fn start(records: u64, adjust: impl FnOnce(&mut Config)) -> Mcp {
        let (org, client) = org(records).await;
        let (mut config, audit) = config();
        adjust(&mut config);
        let server = Server::new(client, config);
        let mut mcp = Mcp::over(org, server, audit);
        mcp.initialize().await;
        mcp
    }

    pub(crate) fn over(org: Emulator, server: Server, audit: AuditLines) -> Mcp {
        let (ours, theirs) = tokio::io::duplex(1 << 20);
        let (their_read, their_write) = tokio::io::split(theirs);
        tokio::spawn(async move {
            let _ = server.serve_io(their_read, their_write).await;
        });
        let (read, writer) = tokio::io::split(ours);
        Mcp {
            org,
            audit,
            writer,
            lines: BufReader::new(read).lines(),
            next_id: 1,
            notifications: Vec::new(),
            last_response_bytes: 0,
            request_meta: None,
        }
    }

    /// Like [`Mcp::start`], but the client speaks 2026-07-28: `server/discover`, then every
    /// request with its `_meta`, declaring `capabilities` (e.g. `{"elicitation": {"form": {}}}`).
    pub(crate) async fn start_2026(
        records: u64,
        capabilities: Value,
        adjust: impl FnOnce(&mut Config),
    ) -> Mcp {
        let (org, client) = org(records).await;
        let (mut config, audit) = config();
        adjust(&mut config);
        let mut mcp = Mcp::over(org, Server::new(client, config), audit);
        mcp.request_meta = Some(json!({
            "io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientInfo": {"name": "forcebridge-tests", "version": "0"},
            "io.modelcontextprotocol/clientCapabilities": capabilities,
        }));
        let discovered = mcp.request("server/discover", json!({})).await;
        assert!(
            discovered.to_string().contains("2026-07-28"),
            "{discovered}"
        );
        mcp
    }

    pub(crate) async fn initialize(&mut self) {
        let result = self
            .request(
                "initialize",
                json!({
                    "protocolVersion": "2025-11-25",
                    "capabilities": {},
                    "clientInfo": {"name": "forcebridge-tests", "version": "0"}
                }),
            )
            .await;
        assert_eq!(
            result["result"]["serverInfo"]["name"], "forcebridge",
            "{result}"
        );
        self.send(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
            .await;
    }

    pub(crate) async fn send(&mut self, message: Value) {
        let mut line = message.to_string();
        line.push('\n');
        self.writer.write_all(line.as_bytes()).await.unwrap();
        self.writer.flush().await.unwrap();
    }

    /// Sends a request and returns the whole response (`result` or `error`), keeping the
    /// notifications that come before it.
    pub(crate) async fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        let params = self.with_meta(params);
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))
            .await;
        loop {
            let line = tokio::time::timeout(Duration::from_secs(120), self.lines.next_line())
                .await
                .expect("the server answered in time")
                .unwrap()
                .expect("the server is still there");
            let message: Value = serde_json::from_str(&line).unwrap();
            if message.get("id") == Some(&json!(id)) {
                self.last_response_bytes = line.len();
                return message;
            }
            self.notifications.push(message);
        }
    }

    /// `params` with the `_meta` a 2026-07-28 client adds to every request.
    fn with_meta(&self, mut params: Value) -> Value {
        if let Some(meta) = &self.request_meta {
            let given = params["_meta"].as_object().cloned().unwrap_or_default();
            let mut merged = meta.as_object().unwrap().clone();
            merged.extend(given);
            params["_meta"] = Value::Object(merged);
        }
        params
    }

    /// Sends a request without waiting for its answer; returns its id.
    pub(crate) async fn start_request(&mut self, method: &str, params: Value) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        let params = self.with_meta(params);
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))
            .await;
        id
    }

    /// Calls a tool; returns its result (which may have `isError`).
    pub(crate) async fn call(&mut self, tool: &str, arguments: Value) -> Value {
        self.call_with_meta(tool, arguments, None).await
    }

    pub(crate) async fn call_with_meta(
        &mut self,
        tool: &str,
        arguments: Value,
        meta: Option<Value>,
    ) -> Value {
        let mut params = json!({"name": tool, "arguments": arguments});
        if let Some(meta) = meta {
            params["_meta"] = meta;
        }
        let response = self.request("tools/call", params).await;
        assert!(
            response.get("error").is_none(),
            "protocol error: {response}"
        );
        response["result"].clone()
    }

    /// Calls a tool that must succeed; returns its structured content.
    pub(crate) async fn ok(&mut self, tool: &str, arguments: Value) -> Value {
        let result = self.call(tool, arguments).await;
        assert_ne!(result["isError"], true, "{tool} failed: {result}");
        result["structuredContent"].clone()
    }

    /// Calls a tool that must fail with a tool error; returns its text.
    pub(crate) async fn tool_error(&mut self, tool: &str, arguments: Value) -> String {
        let result = self.call(tool, arguments).await;
        assert_eq!(
            result["isError"], true,
            "{tool} should have failed: {result}"
        );
        result["content"][0]["text"].as_str().unwrap().to_string()
    }

    pub(crate) async fn tool_names(&mut self) -> Vec<String> {
        let response = self.request("tools/list", json!({})).await;
        response["result"]["tools"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap().to_string())
            .collect()
    }

    /// The first `n` ids of `object`, by a query through the server.
    pub(crate) async fn ids(&mut self, object: &str, n: usize) -> Vec<String> {
        let rows = self
            .ok(
                "query",
                json!({"soql": format!("SELECT Id FROM {object} ORDER BY Id LIMIT {n}")}),
            )
            .await;
        rows["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["Id"].as_str().unwrap().to_string())
            .collect()
    }
}
