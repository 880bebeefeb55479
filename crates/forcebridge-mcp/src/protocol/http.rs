//! Streamable HTTP: rmcp's service under axum, stateless (no sessions; 2025-11-25 clients are
//! served without `Mcp-Session-Id`), answering JSON where it can. `Host` and `Origin` are
//! checked (403 when wrong); beyond loopback a bearer token is required. That token is this
//! server's own: it is compared and dropped, never sent to Salesforce, which the server
//! reaches with its connection's own session.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use forcebridge_client::{ExposeSecret, SecretString};
use rmcp::transport::StreamableHttpServerConfig;
use rmcp::transport::StreamableHttpService;
use rmcp::transport::streamable_http_server::session::never::NeverSessionManager;
use sha2::{Digest, Sha256};
use tokio::net::TcpListener;

use super::Handler;
use crate::error::{Error, ErrorKind, Result};
use crate::server::Server;

/// The largest request body taken (a bulk operation's records).
const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

/// How the HTTP endpoint is guarded.
#[derive(Debug, Clone)]
pub struct HttpOptions {
    /// The token clients must send as `Authorization: Bearer ...`. Required on any address
    /// beyond loopback. Never the Salesforce token, and never passed on to Salesforce.
    pub bearer_token: Option<SecretString>,
    /// Browser origins allowed besides local ones (`https://app.example.com:443`).
    pub allowed_origins: Vec<String>,
    /// Host names clients may use besides loopback ones and the bound address.
    pub allowed_hosts: Vec<String>,
}

/// Serves `/mcp` on `listener` until the process ends.
pub(crate) async fn serve_http(
    server: Server,
    listener: TcpListener,
    options: HttpOptions,
) -> Result<()> {
    let addr = listener.local_addr().map_err(|e| {
        Error::new(ErrorKind::Io, "cannot read the listener's address").with_source(e)
    })?;
    let router = router(server, addr, options)?;
    axum::serve(listener, router).await.map_err(|e| {
        Error::new(ErrorKind::Io, format!("serving MCP on {addr} failed")).with_source(e)
    })
}

fn router(server: Server, addr: SocketAddr, options: HttpOptions) -> Result<axum::Router> {
    let loopback = addr.ip().is_loopback();
    if !loopback && options.bearer_token.is_none() {
        return Err(Error::config(format!(
            "{addr} is reachable beyond this machine: give a bearer token clients must send \
             (never the Salesforce token), or serve on 127.0.0.1"
        )));
    }
    if let Some(token) = &options.bearer_token
        && token.expose_secret().len() < 16
    {
        return Err(Error::config(
            "the bearer token must have at least 16 characters",
        ));
    }
    let mut origins: Vec<String> = ["http://localhost:*", "http://127.0.0.1:*", "http://[::1]:*"]
        .into_iter()
        .map(String::from)
        .collect();
    origins.extend(options.allowed_origins);
    let mut hosts: Vec<String> = ["localhost", "127.0.0.1", "::1", "[::1]"]
        .into_iter()
        .map(String::from)
        .collect();
    if !loopback {
        hosts.push(addr.ip().to_string());
    }
    hosts.extend(options.allowed_hosts);
    let config = StreamableHttpServerConfig::default()
        .with_legacy_session_mode(false)
        .with_json_response(true)
        .with_allowed_hosts(hosts)
        .with_allowed_origins(origins)
        .enforce_origin_validation()
        .with_max_request_body_bytes(MAX_BODY_BYTES);
    let service = StreamableHttpService::new(
        move || Ok(Handler::new(server.clone())),
        Arc::new(NeverSessionManager::default()),
        config,
    );
    let digest = options
        .bearer_token
        .map(|t| Arc::new(Sha256::digest(t.expose_secret().as_bytes()).to_vec()));
    Ok(axum::Router::new()
        .nest_service("/mcp", service)
        .layer(middleware::from_fn_with_state(digest, require_bearer)))
}

/// Checks `Authorization: Bearer ...` when a token is set. Digests are compared, so the time
/// taken says nothing about the token.
async fn require_bearer(
    State(expected): State<Option<Arc<Vec<u8>>>>,
    request: Request,
    next: Next,
) -> Response {
    if let Some(expected) = expected {
        let given = request
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(|t| Sha256::digest(t.trim().as_bytes()).to_vec());
        let ok = given.is_some_and(|g| {
            g.len() == expected.len()
                && g.iter()
                    .zip(expected.iter())
                    .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                    == 0
        });
        if !ok {
            let mut response =
                (StatusCode::UNAUTHORIZED, "a valid bearer token is required").into_response();
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            return response;
        }
    }
    next.run(request).await
}
