//! The web-server flow for command-line tools (feature `loopback`): a one-shot listener on a
//! loopback address receives the callback, then the flow's second step trades the code. It is a
//! thin wrapper over [`WebServerFlow::authorize`] and [`WebServerFlow::exchange`].
//!
//! The listener serves one callback and stops; it is the only server the client ever runs. It
//! does not serve HTTPS or accept callbacks from other machines.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{RawQuery, State};
use axum::http::{Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use forcebridge_wire::text::html_escape;
use tokio::sync::oneshot;

use super::LOGIN_TIMEOUT;
use super::web::{
    AuthorizeRequest, CallbackProblem, OAuthCallback, WebLogin, WebServerFlow, check_callback,
};
use crate::error::{Error, ErrorKind, Result};

impl WebServerFlow {
    /// Starts listening on the redirect URI's host and port and prepares the authorization URL.
    /// A redirect URI that is not `http` on a loopback host, or a port already taken, is an
    /// [`ErrorKind::NotSent`] error.
    ///
    /// ```no_run
    /// # async fn demo() -> forcebridge_client::Result<()> {
    /// use forcebridge_client::{LoginUrl, WebServerFlow};
    ///
    /// let flow = WebServerFlow::new(LoginUrl::production(), "3MVG9...");
    /// let pending = flow.start().await?;
    /// // A CLI prints (or opens) the URL, then waits.
    /// println!("open {}", pending.authorize_url());
    /// let login = pending.finish().await?;
    /// let client = login.client_builder().build()?;
    /// # drop(client); Ok(()) }
    /// ```
    pub async fn start(&self) -> Result<PendingWebLogin> {
        let redirect = self.loopback_redirect()?;
        let listener = tokio::net::TcpListener::bind(redirect.bind_addr)
            .await
            .map_err(|e| {
                Error::not_sent(format!(
                    "cannot listen on {} for the OAuth callback of {}",
                    redirect.bind_addr, self.redirect_uri
                ))
                .with_source(e)
            })?;
        self.start_with(redirect, listener)
    }

    /// Like [`WebServerFlow::start`], on a listener the caller has bound (to a loopback
    /// address); the redirect URI's port is replaced by the listener's.
    pub async fn start_on(&self, listener: tokio::net::TcpListener) -> Result<PendingWebLogin> {
        let redirect = self.loopback_redirect()?;
        self.start_with(redirect, listener)
    }

    fn loopback_redirect(&self) -> Result<Redirect> {
        let url = reqwest::Url::parse(&self.redirect_uri).map_err(|e| {
            Error::not_sent(format!("invalid redirect URI {:?}", self.redirect_uri)).with_source(e)
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
            Error::not_sent("cannot read the callback listener's address").with_source(e)
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
        let request = self.authorize_for(&redirect_uri)?;

        let (callback_sender, callback) = oneshot::channel();
        let route = Arc::new(Route {
            path: redirect.url.path().to_string(),
            request: request.clone(),
            callback: Mutex::new(Some(callback_sender)),
        });
        // One handler for every path, comparing paths itself: a callback path is any URL path,
        // and not every one is valid route syntax.
        let router = axum::Router::new()
            .fallback(callback_handler)
            .with_state(route);
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
            flow: self.clone(),
            request,
            callback,
            shutdown: Some(shutdown),
            server: Some(server),
        })
    }
}

/// A web-server login waiting for its callback: show [`PendingWebLogin::authorize_url`] to the
/// user, then [`PendingWebLogin::finish`]. Dropping it stops the listener.
pub struct PendingWebLogin {
    flow: WebServerFlow,
    request: AuthorizeRequest,
    callback: oneshot::Receiver<Delivered>,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<()>>,
}

impl fmt::Debug for PendingWebLogin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PendingWebLogin")
            .field("authorize_url", &self.request.url)
            .field("redirect_uri", &self.request.redirect_uri)
            .field("pkce", &self.request.code_verifier.is_some())
            .field("timeout", &self.flow.timeout)
            .finish_non_exhaustive()
    }
}

impl PendingWebLogin {
    /// The URL the user must open in a browser.
    pub fn authorize_url(&self) -> &str {
        &self.request.url
    }

    /// The callback URL in use (with the real port when the flow asked for port 0).
    pub fn redirect_uri(&self) -> &str {
        &self.request.redirect_uri
    }

    /// Waits for the callback (up to the flow's timeout), exchanges its code
    /// ([`WebServerFlow::exchange`]) and stops the listener; the browser is told how it went.
    /// A callback with another `state`, an `error` (the user denied access), or no callback in
    /// time is an [`ErrorKind::Auth`] error; a refused exchange is an `Auth` error with the
    /// org's OAuth error code.
    pub async fn finish(mut self) -> Result<WebLogin> {
        let timeout = self.flow.timeout;
        let delivered = match tokio::time::timeout(timeout, &mut self.callback).await {
            Ok(Ok(delivered)) => delivered,
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
                        "no OAuth callback on {} within {timeout:?}: the browser login was not completed",
                        self.request.redirect_uri
                    ),
                ));
            }
        };
        let login = match delivered {
            Err(problem) => Err(problem.into_error()),
            Ok((code, logged_in)) => {
                let login = self.flow.exchange_code(&self.request, &code).await;
                let _ = logged_in.send(login.is_ok());
                login
            }
        };
        // The browser has been waiting for the verdict; then the listener can stop.
        self.stop().await;
        login
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

/// Where the listener hands the callback (once), and what it checks it against.
struct Route {
    /// The redirect URI's path; other paths are not the callback.
    path: String,
    request: AuthorizeRequest,
    callback: Mutex<Option<oneshot::Sender<Delivered>>>,
}

/// What the callback brought: a checked code, with a way to tell the browser whether its
/// exchange worked (`true`: logged in), or why it carries no usable code.
type Delivered = std::result::Result<(String, oneshot::Sender<bool>), CallbackProblem>;

async fn callback_handler(
    State(route): State<Arc<Route>>,
    method: Method,
    uri: Uri,
    RawQuery(query): RawQuery,
) -> Response {
    if uri.path() != route.path {
        return (StatusCode::NOT_FOUND, "not found").into_response();
    }
    if method != Method::GET {
        return (StatusCode::METHOD_NOT_ALLOWED, "only GET").into_response();
    }
    let callback = OAuthCallback::from_query(query.as_deref().unwrap_or(""));
    // A request carrying nothing OAuth (a prefetch, a reload of a bare URL) is not the
    // callback: it does not end the login.
    if callback.is_empty() {
        return page(
            StatusCode::BAD_REQUEST,
            "Waiting for Salesforce",
            "This address receives the login's answer from Salesforce; it carries none.",
        );
    }
    let Some(sender) = route
        .callback
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
    let code = match check_callback(&route.request, &callback) {
        Ok(code) => code.to_string(),
        Err(problem) => {
            let response = match &problem {
                CallbackProblem::WrongState => page(
                    StatusCode::BAD_REQUEST,
                    "Login failed",
                    "The response does not belong to this login (its state does not match). \
                     Start the login again.",
                ),
                CallbackProblem::Refused { error, description } => page(
                    StatusCode::OK,
                    "Login refused",
                    &format!("Salesforce did not authorize this login: {error}: {description}"),
                ),
                CallbackProblem::NoCode => page(
                    StatusCode::BAD_REQUEST,
                    "Login failed",
                    "The response carries no authorization code. Start the login again.",
                ),
            };
            let _ = sender.send(Err(problem));
            return response;
        }
    };
    // The page waits for the exchange, so it can say whether the login worked.
    let (logged_in, exchanged) = oneshot::channel();
    let _ = sender.send(Ok((code, logged_in)));
    match tokio::time::timeout(LOGIN_TIMEOUT, exchanged).await {
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
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::LoginUrl;

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
