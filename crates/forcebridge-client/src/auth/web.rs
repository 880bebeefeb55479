//! The OAuth web-server (authorization code) flow for command-line tools: the user opens a
//! Salesforce URL in a browser, Salesforce redirects back to a listener on this machine, and
//! the code it carries is exchanged for a session and a refresh token.
//!
//! The listener serves one callback on a loopback address and stops. PKCE (S256) is on by
//! default. This module does not open the browser (the caller prints or opens the URL), serve
//! HTTPS callbacks, or accept callbacks from other machines.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{RawQuery, State};
use axum::http::{Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use forcebridge_wire::oauth::pkce_s256_challenge;
use forcebridge_wire::text::html_escape;
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::oneshot;

use super::RefreshTokenCredentials;
use super::oauth::token_request;
use super::{AccessTokenCredentials, AuthContext, LOGIN_TIMEOUT, LoginUrl, Session};
use crate::client::{Client, ClientBuilder};
use crate::error::{ApiErrorDetail, Error, ErrorKind, Result};
use crate::retry::RetryPolicy;
use crate::types::ApiVersion;

/// The web-server flow's settings. [`WebServerFlow::new`] gives the defaults; change the
/// public fields as needed, then [`WebServerFlow::start`].
///
/// ```no_run
/// # async fn demo() -> forcebridge_client::Result<()> {
/// use forcebridge_client::{LoginUrl, WebServerFlow};
///
/// let flow = WebServerFlow::new(LoginUrl::production(), "3MVG9...");
/// let pending = flow.start().await?;
/// // A CLI prints (or opens) the URL, then waits.
/// let url = pending.authorize_url().to_string();
/// # drop(url);
/// let login = pending.finish().await?;
/// let client = login.client_builder().build()?;
/// # drop(client); Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct WebServerFlow {
    /// Where the browser is sent (`{login_url}/services/oauth2/authorize`) and the code is
    /// exchanged (`{login_url}/services/oauth2/token`).
    pub login_url: LoginUrl,
    /// The connected app's consumer key.
    pub client_id: String,
    /// The consumer secret; leave `None` for a public app (PKCE then proves the client).
    pub client_secret: Option<SecretString>,
    /// Where Salesforce sends the browser back: an `http` URL on a loopback host
    /// (`localhost`, `127.0.0.1`, `[::1]`), registered as a callback URL of the app. Port 0
    /// listens on a free port; [`PendingWebLogin::redirect_uri`] then tells which.
    pub redirect_uri: String,
    /// The scopes asked for; include `refresh_token` to get a refresh token.
    pub scopes: Vec<String>,
    /// Whether to send a PKCE (S256) code challenge and prove it with the verifier.
    pub pkce: bool,
    /// How long [`PendingWebLogin::finish`] waits for the browser to come back.
    pub timeout: Duration,
    /// The HTTP client that exchanges the code (for proxies or a trusted local certificate
    /// authority); `None` uses a default client.
    pub http: Option<reqwest::Client>,
}

/// The default callback URL, the Salesforce CLI's.
const DEFAULT_REDIRECT_URI: &str = "http://localhost:1717/OauthRedirect";

impl WebServerFlow {
    /// A flow with the defaults: no client secret, the redirect URI
    /// `http://localhost:1717/OauthRedirect`, the scopes `refresh_token api web`, PKCE on, and
    /// five minutes to complete the login.
    pub fn new(login_url: LoginUrl, client_id: impl Into<String>) -> WebServerFlow {
        WebServerFlow {
            login_url,
            client_id: client_id.into(),
            client_secret: None,
            redirect_uri: DEFAULT_REDIRECT_URI.to_string(),
            scopes: vec!["refresh_token".into(), "api".into(), "web".into()],
            pkce: true,
            timeout: Duration::from_secs(300),
            http: None,
        }
    }

    /// Starts listening on the redirect URI's host and port and prepares the authorization URL.
    /// A redirect URI that is not `http` on a loopback host, or a port already taken, is an
    /// [`ErrorKind::NotSent`] error.
    pub async fn start(&self) -> Result<PendingWebLogin> {
        let redirect = self.redirect()?;
        let listener = tokio::net::TcpListener::bind(redirect.bind_addr)
            .await
            .map_err(|e| {
                Error::not_sent(format!(
                    "cannot listen on {} for the OAuth callback of {}: {e}",
                    redirect.bind_addr, self.redirect_uri
                ))
                .with_source(e)
            })?;
        self.start_with(redirect, listener)
    }

    /// Like [`WebServerFlow::start`], on a listener the caller has bound (to a loopback
    /// address); the redirect URI's port is replaced by the listener's.
    pub async fn start_on(&self, listener: tokio::net::TcpListener) -> Result<PendingWebLogin> {
        let redirect = self.redirect()?;
        self.start_with(redirect, listener)
    }

    fn redirect(&self) -> Result<Redirect> {
        let url = reqwest::Url::parse(&self.redirect_uri).map_err(|e| {
            Error::not_sent(format!("invalid redirect URI {:?}: {e}", self.redirect_uri))
                .with_source(e)
        })?;
        if url.scheme() != "http" {
            return Err(Error::not_sent(format!(
                "the redirect URI {} must be an http URL: the local callback does not serve https",
                self.redirect_uri
            )));
        }
        let host = url.host_str().unwrap_or("");
        let ip = if host.eq_ignore_ascii_case("localhost") {
            Some(IpAddr::V4(Ipv4Addr::LOCALHOST))
        } else {
            host.trim_start_matches('[')
                .trim_end_matches(']')
                .parse::<IpAddr>()
                .ok()
                .filter(IpAddr::is_loopback)
        };
        let Some(ip) = ip else {
            return Err(Error::not_sent(format!(
                "the redirect URI {} is not on this machine: the local callback listens only \
                 on localhost, 127.0.0.1 or [::1]",
                self.redirect_uri
            )));
        };
        let port = url.port_or_known_default().unwrap_or(80);
        Ok(Redirect {
            bind_addr: SocketAddr::new(ip, port),
            url,
        })
    }

    fn start_with(
        &self,
        mut redirect: Redirect,
        listener: tokio::net::TcpListener,
    ) -> Result<PendingWebLogin> {
        let local = listener.local_addr().map_err(|e| {
            Error::not_sent(format!("cannot read the callback listener's address: {e}"))
                .with_source(e)
        })?;
        if !local.ip().is_loopback() {
            return Err(Error::not_sent(format!(
                "the callback listener is bound to {local}, which is not a loopback address"
            )));
        }
        // Keep the URI as given when the port does not change: Salesforce compares callback
        // URLs as strings, and re-serialising could add a trailing slash.
        let redirect_uri = if redirect.url.port_or_known_default() == Some(local.port()) {
            self.redirect_uri.clone()
        } else {
            redirect.url.set_port(Some(local.port())).map_err(|()| {
                Error::not_sent(format!("cannot set the port of {}", self.redirect_uri))
            })?;
            redirect.url.as_str().to_string()
        };

        let state = random_token(16);
        let verifier = self.pkce.then(|| SecretString::from(random_token(32)));
        let mut params: Vec<(&str, String)> = vec![
            ("response_type", "code".into()),
            ("client_id", self.client_id.clone()),
            ("redirect_uri", redirect_uri.clone()),
            ("state", state.clone()),
        ];
        if !self.scopes.is_empty() {
            params.push(("scope", self.scopes.join(" ")));
        }
        if let Some(verifier) = &verifier {
            params.push((
                "code_challenge",
                pkce_s256_challenge(verifier.expose_secret()),
            ));
            params.push(("code_challenge_method", "S256".into()));
        }
        let authorize_url = reqwest::Url::parse_with_params(
            &self.login_url.join("/services/oauth2/authorize"),
            &params,
        )
        .map_err(|e| {
            Error::not_sent(format!(
                "cannot build the authorization URL on {}: {e}",
                self.login_url
            ))
            .with_source(e)
        })?
        .to_string();

        let (outcome_sender, outcome) = oneshot::channel();
        let callback = Arc::new(Callback {
            path: redirect.url.path().to_string(),
            state: state.clone(),
            outcome: Mutex::new(Some(outcome_sender)),
        });
        // One handler for every path, comparing paths itself: a callback path is any URL path,
        // and not every one is valid route syntax.
        let router = axum::Router::new()
            .fallback(callback_handler)
            .with_state(callback);
        let (shutdown, shutdown_signal) = oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            let served = axum::serve(listener, router)
                .with_graceful_shutdown(async move {
                    let _ = shutdown_signal.await;
                })
                .await;
            if let Err(error) = served {
                tracing::warn!(%error, "the OAuth callback listener failed");
            }
        });
        tracing::info!(redirect_uri = %redirect_uri, "waiting for the OAuth callback");
        Ok(PendingWebLogin {
            authorize_url,
            redirect_uri,
            verifier,
            login_url: self.login_url.clone(),
            client_id: self.client_id.clone(),
            client_secret: self.client_secret.clone(),
            timeout: self.timeout,
            http: self.http.clone(),
            outcome,
            shutdown: Some(shutdown),
            server: Some(server),
        })
    }
}

/// A web-server login waiting for its callback: show [`PendingWebLogin::authorize_url`] to the
/// user, then [`PendingWebLogin::finish`]. Dropping it stops the listener.
pub struct PendingWebLogin {
    authorize_url: String,
    redirect_uri: String,
    verifier: Option<SecretString>,
    login_url: LoginUrl,
    client_id: String,
    client_secret: Option<SecretString>,
    timeout: Duration,
    http: Option<reqwest::Client>,
    outcome: oneshot::Receiver<CallbackOutcome>,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<()>>,
}

impl fmt::Debug for PendingWebLogin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PendingWebLogin")
            .field("authorize_url", &self.authorize_url)
            .field("redirect_uri", &self.redirect_uri)
            .field("pkce", &self.verifier.is_some())
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// The result of a web-server login: the session, and (when the org issued a refresh token)
/// the credentials to log in again later without a browser. Store the refresh token safely.
#[derive(Debug, Clone)]
pub struct WebLogin {
    /// The session the authorization code was exchanged for.
    pub session: Session,
    /// `None` when the org issued no refresh token (the `refresh_token` scope was not granted).
    pub refresh: Option<RefreshTokenCredentials>,
}

impl WebLogin {
    /// A client builder that starts from this session and refreshes with the refresh token
    /// (or, without one, uses the access token until it expires).
    pub fn client_builder(self) -> ClientBuilder {
        match self.refresh {
            Some(refresh) => Client::builder(refresh).session(self.session),
            None => Client::builder(AccessTokenCredentials {
                instance_url: self.session.instance_url.clone(),
                access_token: self.session.access_token.clone(),
            })
            .session(self.session),
        }
    }
}

impl PendingWebLogin {
    /// The URL the user must open in a browser.
    pub fn authorize_url(&self) -> &str {
        &self.authorize_url
    }

    /// The callback URL in use (with the real port when the flow asked for port 0).
    pub fn redirect_uri(&self) -> &str {
        &self.redirect_uri
    }

    /// Waits for the callback (up to the flow's timeout), stops the listener and exchanges the
    /// code for a session. A callback with another `state`, an `error` (the user denied
    /// access), or no callback in time is an [`ErrorKind::Auth`] error; a refused exchange is an
    /// `Auth` error with the org's OAuth error code.
    pub async fn finish(mut self) -> Result<WebLogin> {
        let outcome = tokio::time::timeout(self.timeout, &mut self.outcome).await;
        let (code, reply) = match outcome {
            Ok(Ok(Ok(callback))) => callback,
            Ok(Ok(Err(error))) => {
                self.stop().await;
                return Err(error);
            }
            Ok(Err(_)) => {
                self.stop().await;
                return Err(Error::new(
                    ErrorKind::Auth,
                    "the OAuth callback listener stopped before a callback came",
                ));
            }
            Err(_) => {
                self.stop().await;
                return Err(Error::new(
                    ErrorKind::Auth,
                    format!(
                        "no OAuth callback on {} within {:?}: the browser login was not completed",
                        self.redirect_uri, self.timeout
                    ),
                ));
            }
        };
        let login = self.exchange(&code).await;
        // The browser has been waiting for this answer; then the listener can stop.
        let _ = reply.send(login.is_ok());
        self.stop().await;
        login
    }

    /// Trades the code for a session at the token endpoint.
    async fn exchange(&self, code: &str) -> Result<WebLogin> {
        let http = match &self.http {
            Some(http) => http.clone(),
            None => reqwest::Client::builder()
                .timeout(LOGIN_TIMEOUT)
                .build()
                .map_err(|e| {
                    Error::not_sent(format!("cannot set up the HTTP client: {e}")).with_source(e)
                })?,
        };
        let context = AuthContext {
            http,
            retry: RetryPolicy::standard(),
            version: ApiVersion::DEFAULT,
        };
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", self.redirect_uri.as_str()),
            ("client_id", self.client_id.as_str()),
        ];
        if let Some(secret) = &self.client_secret {
            form.push(("client_secret", secret.expose_secret()));
        }
        if let Some(verifier) = &self.verifier {
            form.push(("code_verifier", verifier.expose_secret()));
        }
        let session = token_request(&context, &self.login_url, &form).await?;
        let refresh = session
            .refresh_token
            .clone()
            .map(|refresh_token| RefreshTokenCredentials {
                login_url: self.login_url.clone(),
                client_id: self.client_id.clone(),
                client_secret: self.client_secret.clone(),
                refresh_token,
            });
        Ok(WebLogin { session, refresh })
    }

    /// Stops the listener, letting a response in flight reach the browser.
    async fn stop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(mut server) = self.server.take()
            && tokio::time::timeout(Duration::from_secs(2), &mut server)
                .await
                .is_err()
        {
            server.abort();
        }
    }
}

impl Drop for PendingWebLogin {
    fn drop(&mut self) {
        if let Some(server) = self.server.take() {
            server.abort();
        }
    }
}

/// The redirect URI, parsed, and where to listen for it.
struct Redirect {
    url: reqwest::Url,
    bind_addr: SocketAddr,
}

/// What the callback handler checks against, and where it sends the outcome (once).
struct Callback {
    /// The redirect URI's path; other paths are not the callback.
    path: String,
    state: String,
    outcome: Mutex<Option<oneshot::Sender<CallbackOutcome>>>,
}

/// What the callback brought: a code, with a way to tell the browser how its exchange went
/// (`true`: logged in), or the reason the login failed.
type CallbackOutcome = Result<(String, oneshot::Sender<bool>)>;

async fn callback_handler(
    State(callback): State<Arc<Callback>>,
    method: Method,
    uri: Uri,
    RawQuery(query): RawQuery,
) -> Response {
    if uri.path() != callback.path {
        return (StatusCode::NOT_FOUND, "not found").into_response();
    }
    if method != Method::GET {
        return (StatusCode::METHOD_NOT_ALLOWED, "only GET").into_response();
    }
    let params: Vec<(String, String)> =
        form_urlencoded::parse(query.as_deref().unwrap_or("").as_bytes())
            .into_owned()
            .collect();
    let get = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    // A request carrying nothing OAuth (a prefetch, a reload of a bare URL) is not the
    // callback: it does not end the login.
    if get("state").is_none() && get("code").is_none() && get("error").is_none() {
        return page(
            StatusCode::BAD_REQUEST,
            "Waiting for Salesforce",
            "This address receives the login's answer from Salesforce; it carries none.",
        );
    }
    let Some(sender) = callback
        .outcome
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .take()
    else {
        return page(
            StatusCode::CONFLICT,
            "Login already handled",
            "This login has already received its callback. You can close this window.",
        );
    };
    let (error, response) = if get("state") != Some(callback.state.as_str()) {
        (
            Error::new(
                ErrorKind::Auth,
                "the OAuth callback's state does not match this login: the redirect did not come \
                 from this login's authorization request",
            ),
            page(
                StatusCode::BAD_REQUEST,
                "Login failed",
                "The response does not belong to this login (its state does not match). \
                 Start the login again.",
            ),
        )
    } else if let Some(error) = get("error") {
        let description = get("error_description").unwrap_or("");
        tracing::info!(error, description, "the OAuth callback carried an error");
        (
            Error::new(
                ErrorKind::Auth,
                format!("the authorization was refused: {error}: {description}"),
            )
            .with_api_errors(vec![ApiErrorDetail {
                error_code: error.to_string(),
                message: description.to_string(),
                fields: Vec::new(),
            }]),
            page(
                StatusCode::OK,
                "Login refused",
                &format!("Salesforce did not authorize this login: {error}: {description}"),
            ),
        )
    } else if let Some(code) = get("code") {
        // The page waits for the exchange, so it can say whether the login worked.
        let (reply, exchanged) = oneshot::channel();
        let _ = sender.send(Ok((code.to_string(), reply)));
        return match tokio::time::timeout(LOGIN_TIMEOUT, exchanged).await {
            Ok(Ok(true)) => page(
                StatusCode::OK,
                "Login complete",
                "You are logged in. You can close this window.",
            ),
            Ok(Ok(false)) => page(
                StatusCode::OK,
                "Login failed",
                "Salesforce authorized the login, but the session could not be obtained. \
                 The application says why.",
            ),
            _ => page(
                StatusCode::OK,
                "Authorization received",
                "Return to the application to complete the login. You can close this window.",
            ),
        };
    } else {
        (
            Error::new(
                ErrorKind::Auth,
                "the OAuth callback carried neither a code nor an error",
            ),
            page(
                StatusCode::BAD_REQUEST,
                "Login failed",
                "The response carries no authorization code. Start the login again.",
            ),
        )
    };
    let _ = sender.send(Err(error));
    response
}

/// A small HTML page for the browser.
fn page(status: StatusCode, title: &str, message: &str) -> Response {
    let body = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title} | forcebridge</title></head>\
         <body><h1>{title}</h1><p>{message}</p></body></html>\n",
        title = html_escape(title),
        message = html_escape(message),
    );
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response()
}

/// `n` random bytes, base64url without padding.
fn random_token(n: usize) -> String {
    let bytes: Vec<u8> = (0..n).map(|_| rand::random::<u8>()).collect();
    URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn any_callback_path_is_served_and_only_that_path() {
        let flow = WebServerFlow {
            redirect_uri: "http://127.0.0.1:0/cb/*any:thing/{x}".into(),
            ..WebServerFlow::new(LoginUrl::production(), "id")
        };
        let pending = flow.start().await.unwrap();
        let callback = reqwest::Url::parse(pending.redirect_uri()).unwrap();
        let status = |url: reqwest::Url| async move { reqwest::get(url).await.unwrap().status() };
        // The callback path without an OAuth answer: a page, and the login goes on.
        assert_eq!(status(callback.clone()).await, StatusCode::BAD_REQUEST);
        assert_eq!(
            status(callback.join("/cb").unwrap()).await,
            StatusCode::NOT_FOUND
        );
    }

    #[tokio::test]
    async fn only_loopback_http_redirects_are_served() {
        for uri in [
            "http://example.com:1717/OauthRedirect",
            "https://localhost:1717/OauthRedirect",
            "http://10.0.0.1:1717/cb",
        ] {
            let flow = WebServerFlow {
                redirect_uri: uri.into(),
                ..WebServerFlow::new(LoginUrl::production(), "id")
            };
            let error = flow.start().await.unwrap_err();
            assert_eq!(error.kind(), ErrorKind::NotSent, "{uri}");
            assert!(error.to_string().contains(uri), "{error}");
        }
    }
}
