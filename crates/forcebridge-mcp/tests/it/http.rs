//! The Streamable HTTP endpoint: both protocol revisions, the Origin check, and the bearer
//! token beyond loopback.

use forcebridge_client::SecretString;
use forcebridge_emulator::Emulator;
use forcebridge_mcp::{ErrorKind, HttpOptions, Server};
use serde_json::{Value, json};

use crate::harness;

/// A server over `org`'s `client`, on HTTP at a loopback port: the org, and the endpoint's URL.
async fn listen(
    org: Emulator,
    client: forcebridge_client::Client,
    config: forcebridge_mcp::Config,
    options: HttpOptions,
) -> (Emulator, String) {
    let server = Server::new(client, config);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/mcp", listener.local_addr().unwrap());
    tokio::spawn(async move {
        server.serve_http(listener, options).await.unwrap();
    });
    (org, url)
}

async fn serve(options: HttpOptions) -> (Emulator, String) {
    let (org, client) = harness::org(50).await;
    let (config, _audit) = harness::config();
    listen(org, client, config, options).await
}

/// A server over an org of `accounts` plain accounts that answers with Bulk from 10 rows.
async fn serve_bulk(accounts: usize) -> (Emulator, String) {
    let (org, client) = harness::org(0).await;
    org.control().insert_plain_accounts(accounts);
    let (mut config, _audit) = harness::config();
    config.limits.bulk_threshold = 10;
    listen(org, client, config, options()).await
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

/// A 2026-07-28 `tools/call` over HTTP.
async fn call_2026(url: &str, tool: &str, arguments: Value) -> (u16, String) {
    let params = json!({"name": tool, "arguments": arguments});
    request_2026(url, "tools/call", Some(tool), params, json!({})).await
}

/// A 2026-07-28 request over HTTP, from a client with `capabilities`.
async fn request_2026(
    url: &str,
    method: &str,
    name: Option<&str>,
    mut params: Value,
    capabilities: Value,
) -> (u16, String) {
    params["_meta"] = json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientInfo": {"name": "t", "version": "0"},
        "io.modelcontextprotocol/clientCapabilities": capabilities
    });
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
    let mut headers = vec![
        ("mcp-protocol-version", "2026-07-28"),
        ("mcp-method", method),
    ];
    if let Some(name) = name {
        headers.push(("mcp-name", name));
    }
    post(url, body, &headers).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bulk_task_started_by_one_http_request_is_read_by_the_next() {
    let (_org, url) = serve_bulk(15).await;
    let tasks = json!({"extensions": {"io.modelcontextprotocol/tasks": {}}});
    let (_, body) = call_2026(
        &url,
        "query",
        json!({"soql": "SELECT Id FROM Account ORDER BY Id", "maxRows": 15}),
    )
    .await;
    let answer: Value = serde_json::from_str(&body).unwrap();
    let records: Vec<Value> = answer["result"]["structuredContent"]["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| json!({"Id": r["Id"], "Rating": "Hot"}))
        .collect();
    assert_eq!(records.len(), 15, "{body}");
    let mut args = json!({"object": "Account", "operation": "update", "records": records});
    let (_, body) = call_2026(&url, "bulk_operations", args.clone()).await;
    let preview: Value = serde_json::from_str(&body).unwrap();
    args["confirm"] = preview["result"]["structuredContent"]["confirm"].clone();
    let params = json!({"name": "bulk_operations", "arguments": args});
    let (status, body) = request_2026(
        &url,
        "tools/call",
        Some("bulk_operations"),
        params,
        tasks.clone(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let created: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(created["result"]["resultType"], "task", "{body}");
    let task_id = created["result"]["taskId"].as_str().unwrap().to_string();
    let mut task = Value::Null;
    for _ in 0..200 {
        let params = json!({"taskId": task_id});
        let (status, body) =
            request_2026(&url, "tasks/get", Some(&task_id), params, tasks.clone()).await;
        assert_eq!(status, 200, "{body}");
        task = serde_json::from_str::<Value>(&body).unwrap()["result"].clone();
        if task["status"] != "working" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(task["status"], "completed", "{task}");
    assert_eq!(
        task["result"]["structuredContent"]["succeeded"], 15,
        "{task}"
    );
    // A client without the extension may not read tasks.
    let params = json!({"taskId": task_id});
    let (_, body) = request_2026(&url, "tasks/get", Some(&task_id), params, json!({})).await;
    assert!(
        body.contains("-32021"),
        "missing required client capability: {body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closing_the_http_request_aborts_the_bulk_job_on_the_org() {
    use futures_util::TryStreamExt;
    let (org, url) = serve_bulk(40).await;

    let (status, body) = call_2026(
        &url,
        "query",
        json!({"soql": "SELECT Id FROM Account ORDER BY Id", "maxRows": 40}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let answer: Value = serde_json::from_str(&body).unwrap();
    let rows = answer["result"]["structuredContent"]["rows"]
        .as_array()
        .unwrap();
    assert_eq!(rows.len(), 40, "{body}");
    let records: Vec<Value> = rows
        .iter()
        .map(|r| json!({"Id": r["Id"], "Rating": "Cold"}))
        .collect();
    let mut args = json!({"object": "Account", "operation": "update", "records": records});
    let (_, body) = call_2026(&url, "bulk_operations", args.clone()).await;
    let preview: Value = serde_json::from_str(&body).unwrap();
    args["confirm"] = preview["result"]["structuredContent"]["confirm"].clone();
    assert!(args["confirm"].is_string(), "{body}");

    org.set_faults(forcebridge_emulator::FaultConfig {
        latency: std::time::Duration::from_millis(400),
        scope: forcebridge_emulator::FaultScope::Path("/jobs/ingest".into()),
        ..forcebridge_emulator::FaultConfig::none()
    });
    let call = {
        let url = url.clone();
        tokio::spawn(async move { call_2026(&url, "bulk_operations", args).await })
    };
    let looker = harness::client_of(&org);
    let states = || async {
        let jobs: Vec<_> = looker
            .bulk()
            .ingest_jobs()
            .stream()
            .try_collect()
            .await
            .unwrap();
        jobs.into_iter().map(|j| j.info.state).collect::<Vec<_>>()
    };
    let mut opened = false;
    for _ in 0..100 {
        if !states().await.is_empty() {
            opened = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(opened, "no Bulk API 2.0 job was opened");
    // The client goes away: its request, and the connection, are dropped.
    call.abort();
    let mut last = Vec::new();
    for _ in 0..100 {
        last = states().await;
        if last.iter().all(|s| s == "Aborted") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(last, ["Aborted"]);
}

/// A 2025-11-25 request over HTTP (no session: the server is stateless).
async fn request_2025(url: &str, method: &str, params: Value) -> Value {
    let body = json!({"jsonrpc": "2.0", "id": 7, "method": method, "params": params});
    let (status, text) = post(url, body, &[("mcp-protocol-version", "2025-11-25")]).await;
    assert_eq!(status, 200, "{text}");
    serde_json::from_str(&text).unwrap()
}

/// 2025-11-25 "experimental tasks" (SEP-1686) are not served: the server declares no `tasks`
/// capability at initialize, so a client that sends a task-augmented `tools/call` anyway (as
/// that revision allows a receiver to ignore) gets the whole result in place, not a task.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_2025_11_25_task_augmented_call_is_answered_in_place() {
    let (_org, url) = serve_bulk(15).await;
    let init = request_2025(
        &url,
        "initialize",
        json!({"protocolVersion": "2025-11-25",
               "capabilities": {"tasks": {"requests": {"elicitation": {"create": {}}}}},
               "clientInfo": {"name": "t", "version": "0"}}),
    )
    .await;
    assert_eq!(init["result"]["protocolVersion"], "2025-11-25", "{init}");
    assert!(
        init["result"]["capabilities"].get("tasks").is_none(),
        "no 2025-11-25 tasks capability is declared: {init}"
    );
    let rows = request_2025(
        &url,
        "tools/call",
        json!({"name": "query", "arguments": {"soql": "SELECT Id FROM Account ORDER BY Id", "maxRows": 15}}),
    )
    .await;
    let records: Vec<Value> = rows["result"]["structuredContent"]["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| json!({"Id": r["Id"], "Rating": "Warm"}))
        .collect();
    assert_eq!(records.len(), 15, "{rows}");
    let mut args = json!({"object": "Account", "operation": "update", "records": records});
    let preview = request_2025(
        &url,
        "tools/call",
        json!({"name": "bulk_operations", "arguments": args, "task": {"ttl": 60000}}),
    )
    .await;
    assert_eq!(
        preview["result"]["structuredContent"]["status"], "preview",
        "{preview}"
    );
    args["confirm"] = preview["result"]["structuredContent"]["confirm"].clone();
    let done = request_2025(
        &url,
        "tools/call",
        json!({"name": "bulk_operations", "arguments": args, "task": {"ttl": 60000}}),
    )
    .await;
    let result = &done["result"];
    assert!(result.get("task").is_none(), "no CreateTaskResult: {done}");
    assert_ne!(result["resultType"], "task", "{done}");
    assert_ne!(result["isError"], true, "{done}");
    let outcome = &result["structuredContent"];
    assert_eq!(outcome["status"], "done", "{done}");
    assert_eq!(outcome["via"], "bulk", "{done}");
    assert_eq!(outcome["succeeded"], 15, "{done}");
    assert_eq!(outcome["results"].as_array().unwrap().len(), 15, "{done}");
    // And the 2025-11-25 task methods are not there.
    let get = request_2025(&url, "tasks/get", json!({"taskId": "any"})).await;
    assert!(get.get("error").is_some(), "{get}");
}
