//! The Streamable HTTP endpoint: both protocol revisions, the Origin check, and the bearer
//! token beyond loopback.

use forcebridge_client::SecretString;
use forcebridge_mcp::{ErrorKind, HttpOptions, Server};
use serde_json::{Value, json};

use crate::harness;

async fn serve(options: HttpOptions) -> (forcebridge_emulator::Emulator, String) {
    let (org, client) = harness::org(50).await;
    let (config, _audit) = harness::config();
    let server = Server::new(client, config);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/mcp", listener.local_addr().unwrap());
    tokio::spawn(async move {
        server.serve_http(listener, options).await.unwrap();
    });
    (org, url)
}

fn options() -> HttpOptions {
    HttpOptions {
        bearer_token: None,
        allowed_origins: Vec::new(),
        allowed_hosts: Vec::new(),
    }
}

async fn post(url: &str, body: Value, headers: &[(&str, &str)]) -> (u16, String) {
    let client = reqwest::Client::new();
    let mut request = client
        .post(url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream");
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    let response = request.body(body.to_string()).send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

fn discover() -> Value {
    json!({"jsonrpc": "2.0", "id": 1, "method": "server/discover", "params": {"_meta": {
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {}
    }}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_revisions_are_served_and_foreign_origins_refused() {
    let (_org, url) = serve(options()).await;
    let (status, body) = post(
        &url,
        discover(),
        &[
            ("mcp-protocol-version", "2026-07-28"),
            ("mcp-method", "server/discover"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains("2026-07-28") && body.contains("forcebridge"),
        "{body}"
    );
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}}});
    let (status, body) = post(&url, init.clone(), &[]).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("2025-11-25"), "{body}");
    let (status, _) = post(&url, init, &[("origin", "https://evil.example")]).await;
    assert_eq!(status, 403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bearer_token_is_required_when_set_and_beyond_loopback() {
    let token = "a-long-enough-local-token";
    let (_org, url) = serve(HttpOptions {
        bearer_token: Some(SecretString::from(token)),
        ..options()
    })
    .await;
    let headers = [
        ("mcp-protocol-version", "2026-07-28"),
        ("mcp-method", "server/discover"),
    ];
    let (status, _) = post(&url, discover(), &headers).await;
    assert_eq!(status, 401);
    let wrong = [headers[0], headers[1], ("authorization", "Bearer nope")];
    assert_eq!(post(&url, discover(), &wrong).await.0, 401);
    let bearer = format!("Bearer {token}");
    let right = [headers[0], headers[1], ("authorization", bearer.as_str())];
    assert_eq!(post(&url, discover(), &right).await.0, 200);

    // Beyond loopback, no token: refused before serving.
    let (_org2, client) = harness::org(0).await;
    let (config, _) = harness::config();
    let listener = tokio::net::TcpListener::bind("0.0.0.0:0").await.unwrap();
    let err = Server::new(client, config)
        .serve_http(listener, options())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.to_string().contains("bearer token"), "{err}");
}
