//! Logging in: the credentials of every Salesforce flow, the session they produce, and the
//! token cache that refreshes a session once when the org stops accepting it.
//!
//! Every flow is a [`TokenSource`]: something that can produce a [`Session`] now, and again
//! later. The client keeps the current session in a `TokenCache`; when a request comes back
//! `401 INVALID_SESSION_ID`, the cache logs in again (once, however many requests failed at the
//! same moment) and the request is sent again with the new session.
//!
//! Secrets (passwords, client secrets, tokens, private keys) are [`SecretString`]s: they never
//! appear in `Debug` output, errors or tracing events.

mod jwt;
#[cfg(feature = "loopback")]
mod loopback;
mod oauth;
mod soap;
mod web;

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::future::BoxFuture;
use secrecy::{ExposeSecret, SecretString};

use crate::error::{Error, ErrorKind, Result};
use crate::retry::RetryPolicy;
use crate::types::ApiVersion;

pub use jwt::JwtCredentials;
#[cfg(feature = "loopback")]
pub use loopback::PendingWebLogin;
pub use oauth::{
    AccessTokenCredentials, ClientCredentials, PasswordCredentials, RefreshTokenCredentials,
};
pub use soap::SoapLoginCredentials;
pub use web::{AuthorizeRequest, OAuthCallback, WebLogin, WebServerFlow};

/// Where a flow logs in: `https://login.salesforce.com`, `https://test.salesforce.com`, a My
/// Domain, or any other URL (a local org, an Experience Cloud site).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LoginUrl(String);

impl LoginUrl {
    /// `https://login.salesforce.com`: production and Developer Edition orgs.
    pub fn production() -> LoginUrl {
        LoginUrl("https://login.salesforce.com".to_string())
    }

    /// `https://test.salesforce.com`: sandboxes.
    pub fn sandbox() -> LoginUrl {
        LoginUrl("https://test.salesforce.com".to_string())
    }

    /// `https://{name}.my.salesforce.com`, from a My Domain name (`acme`) or its full host
    /// (`acme.my.salesforce.com`, `acme--dev.sandbox.my.salesforce.com`).
    pub fn my_domain(name: &str) -> Result<LoginUrl> {
        let name = name
            .trim()
            .trim_start_matches("https://")
            .trim_end_matches('/');
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.'))
        {
            return Err(Error::not_sent(format!(
                "invalid My Domain {name:?}: expected a name such as acme or acme.my.salesforce.com"
            )));
        }
        if name.contains('.') {
            Ok(LoginUrl(format!("https://{name}")))
        } else {
            Ok(LoginUrl(format!("https://{name}.my.salesforce.com")))
        }
    }

    /// Any `http` or `https` URL; a trailing slash is dropped.
    pub fn custom(url: &str) -> Result<LoginUrl> {
        let parsed = reqwest::Url::parse(url.trim())
            .map_err(|e| Error::not_sent(format!("invalid login URL {url:?}")).with_source(e))?;
        if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
            return Err(Error::not_sent(format!(
                "invalid login URL {url:?}: expected an http or https URL with a host"
            )));
        }
        Ok(LoginUrl(parsed.as_str().trim_end_matches('/').to_string()))
    }

    /// The URL as text, without a trailing slash.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `{login url}{path}`, where `path` starts with `/`.
    pub(crate) fn join(&self, path: &str) -> String {
        format!("{}{path}", self.0)
    }
}

impl fmt::Display for LoginUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A logged-in session: what every API request needs.
#[derive(Clone)]
pub struct Session {
    /// The access token (or SOAP session id), sent as `Authorization: Bearer` on every request.
    pub access_token: SecretString,
    /// Where the org's API lives: `https://acme.my.salesforce.com` (no trailing slash).
    pub instance_url: String,
    /// The identity URL (`https://login.salesforce.com/id/{orgId}/{userId}`), when the flow
    /// returned one.
    pub identity_url: Option<String>,
    /// A refresh token, when the flow issued one (web-server flow with the `refresh_token`
    /// scope, or a rotating refresh).
    pub refresh_token: Option<SecretString>,
    /// When the token was issued, in milliseconds since the epoch, when the flow said.
    pub issued_at: Option<i64>,
    /// The scopes granted, space-separated (`"scope"` of the token response), when the flow
    /// returned them.
    pub scope: Option<String>,
    /// When the session stops being accepted, in milliseconds since the epoch, when known.
    /// Salesforce's OAuth token answers do not say (the org's session timeout applies, and a
    /// refused session is replaced on the spot); the SOAP login does (`sessionSecondsValid`),
    /// and a session kept from an earlier run may. The client logs in again before it uses a
    /// session that has expired ([`Session::is_expired`]).
    pub expires_at: Option<i64>,
}

impl Session {
    /// A session from an access token and instance URL obtained elsewhere.
    pub fn new(access_token: impl Into<String>, instance_url: &str) -> Session {
        Session {
            access_token: SecretString::from(access_token.into()),
            instance_url: instance_url.trim_end_matches('/').to_string(),
            identity_url: None,
            refresh_token: None,
            issued_at: None,
            scope: None,
            expires_at: None,
        }
    }

    /// Whether the session is known to have expired, or to expire within the next minute (so
    /// a request sent now would likely be refused): `false` when its expiry is unknown.
    pub fn is_expired(&self) -> bool {
        self.expires_at
            .is_some_and(|at| at <= now_millis().saturating_add(EXPIRY_MARGIN_MILLIS))
    }

    /// The org id and user id from the identity URL (its last two path segments).
    pub fn org_and_user_ids(&self) -> Option<(&str, &str)> {
        let url = self.identity_url.as_deref()?;
        let mut segments = url.trim_end_matches('/').rsplit('/');
        let user = segments.next()?;
        let org = segments.next()?;
        Some((org, user))
    }
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("access_token", &"<redacted>")
            .field("instance_url", &self.instance_url)
            .field("identity_url", &self.identity_url)
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| "<redacted>"),
            )
            .field("issued_at", &self.issued_at)
            .field("scope", &self.scope)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// What a [`TokenSource`] may use to log in.
#[derive(Debug, Clone)]
pub struct AuthContext {
    pub(crate) http: reqwest::Client,
    pub(crate) retry: RetryPolicy,
    pub(crate) version: ApiVersion,
}

impl AuthContext {
    /// The HTTP client the source should send its requests with (proxies, timeouts and
    /// trusted certificates are the client's).
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// The API version the client pins ([`crate::ClientBuilder::api_version`]); flows whose
    /// endpoint is versioned (the SOAP login) use it.
    pub fn api_version(&self) -> ApiVersion {
        self.version
    }
}

/// Something that produces sessions: one of the built-in flows, or your own (a token from a
/// vault, another tool's credential file).
pub trait TokenSource: Send + Sync + fmt::Debug + 'static {
    /// Logs in. Called for the first request, and again whenever the org has refused the
    /// current session. `previous` is the session being replaced, if any.
    fn login<'a>(
        &'a self,
        context: &'a AuthContext,
        previous: Option<&'a Session>,
    ) -> BoxFuture<'a, Result<Session>>;

    /// Whether logging in again can produce a new session (false for a bare access token).
    fn can_refresh(&self) -> bool {
        true
    }

    /// The refresh token this source logs in with, if it uses one. A login that returns a
    /// different one means the org rotated it; the client then tells its
    /// [`RefreshTokenListener`].
    fn refresh_token(&self) -> Option<SecretString> {
        None
    }
}

/// How a client logs in.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Credentials {
    /// OAuth username-password flow.
    Password(PasswordCredentials),
    /// OAuth client-credentials flow (to a My Domain).
    ClientCredentials(ClientCredentials),
    /// A refresh token, from an earlier web-server (authorization code) login.
    RefreshToken(RefreshTokenCredentials),
    /// An access token and instance URL obtained elsewhere; it cannot be refreshed.
    AccessToken(AccessTokenCredentials),
    /// OAuth JWT bearer flow: an assertion signed with the connected app's certificate key.
    Jwt(JwtCredentials),
    /// The SOAP `login()` call, for orgs without a connected app (API 64.0 and older).
    SoapLogin(SoapLoginCredentials),
    /// Any other source.
    Custom(Arc<dyn TokenSource>),
}

impl Credentials {
    pub(crate) fn into_source(self) -> Arc<dyn TokenSource> {
        match self {
            Credentials::Password(c) => Arc::new(c),
            Credentials::ClientCredentials(c) => Arc::new(c),
            Credentials::RefreshToken(c) => Arc::new(oauth::RefreshSource::new(c)),
            Credentials::AccessToken(c) => Arc::new(c),
            Credentials::Jwt(c) => Arc::new(c),
            Credentials::SoapLogin(c) => Arc::new(c),
            Credentials::Custom(source) => source,
        }
    }
}

macro_rules! credentials_from {
    ($($variant:ident($ty:ty)),* $(,)?) => {
        $(impl From<$ty> for Credentials {
            fn from(value: $ty) -> Credentials {
                Credentials::$variant(value)
            }
        })*
    };
}

credentials_from!(
    Password(PasswordCredentials),
    ClientCredentials(ClientCredentials),
    RefreshToken(RefreshTokenCredentials),
    AccessToken(AccessTokenCredentials),
    Jwt(JwtCredentials),
    SoapLogin(SoapLoginCredentials),
);

/// Called with every refresh token a login hands out that differs from the one before (the
/// org rotated it), so the caller can store it. The old one may no longer work.
pub type RefreshTokenListener = Arc<dyn Fn(&SecretString) + Send + Sync>;

/// Called with every session the client logs in for, so the caller can keep it for later
/// (see [`crate::ClientBuilder::on_session`]).
pub type SessionListener = Arc<dyn Fn(&Session) + Send + Sync>;

/// A session that expires this soon counts as expired: a request would likely be refused.
const EXPIRY_MARGIN_MILLIS: i64 = 60_000;

/// Now, in milliseconds since the epoch.
pub(crate) fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()
        .and_then(|d| i64::try_from(d.as_millis()).ok())
        .unwrap_or(i64::MAX)
}

/// The current session, and single-flight re-login.
///
/// Each session carries a generation number. A request that fails with an invalid session
/// asks for a new one *for the generation it used*; if another request already replaced that
/// generation, it gets the newer session without a second login.
pub(crate) struct TokenCache {
    source: Arc<dyn TokenSource>,
    context: AuthContext,
    current: Mutex<Option<(u64, Arc<Session>)>>,
    login_lock: tokio::sync::Mutex<()>,
    listener: Option<RefreshTokenListener>,
    session_listener: Option<SessionListener>,
}

impl fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenCache")
            .field("source", &self.source)
            .field("generation", &self.peek().map(|(g, _)| g))
            .finish_non_exhaustive()
    }
}

impl TokenCache {
    pub(crate) fn new(
        source: Arc<dyn TokenSource>,
        context: AuthContext,
        initial: Option<Session>,
        listener: Option<RefreshTokenListener>,
        session_listener: Option<SessionListener>,
    ) -> TokenCache {
        TokenCache {
            source,
            context,
            current: Mutex::new(initial.map(|s| (1, Arc::new(s)))),
            login_lock: tokio::sync::Mutex::new(()),
            listener,
            session_listener,
        }
    }

    fn peek(&self) -> Option<(u64, Arc<Session>)> {
        self.current
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The current session, logging in first if there is none, or if it is known to have
    /// expired and the source can log in again.
    pub(crate) async fn session(&self) -> Result<(u64, Arc<Session>)> {
        match self.peek() {
            Some((generation, session)) if session.is_expired() && self.source.can_refresh() => {
                tracing::debug!(generation, "the session has expired; logging in");
                self.replace(generation).await
            }
            Some(current) => Ok(current),
            None => self.replace(0).await,
        }
    }

    /// A session newer than `stale` (the generation a refused request used).
    pub(crate) async fn refresh(&self, stale: u64) -> Result<(u64, Arc<Session>)> {
        if !self.source.can_refresh() {
            return Err(Error::new(
                ErrorKind::Auth,
                "the session expired or was revoked, and an access token cannot be refreshed: log in again",
            ));
        }
        self.replace(stale).await
    }

    async fn replace(&self, stale: u64) -> Result<(u64, Arc<Session>)> {
        let _guard = self.login_lock.lock().await;
        let previous = self.peek();
        if let Some((generation, session)) = &previous
            && *generation != stale
        {
            return Ok((*generation, session.clone()));
        }
        let previous_session = previous.as_ref().map(|(_, s)| s.as_ref());
        tracing::debug!(generation = stale, "logging in");
        let used_refresh_token = self.source.refresh_token();
        let mut session = self.source.login(&self.context, previous_session).await?;
        session.instance_url = session.instance_url.trim_end_matches('/').to_string();
        let rotated = match (&session.refresh_token, &used_refresh_token) {
            (Some(new), Some(old)) => new.expose_secret() != old.expose_secret(),
            _ => false,
        };
        if rotated && let (Some(listener), Some(token)) = (&self.listener, &session.refresh_token) {
            listener(token);
        }
        // A flow that does not hand out refresh tokens keeps the one the session had.
        if session.refresh_token.is_none()
            && let Some(old) = previous_session
        {
            session.refresh_token = old.refresh_token.clone();
        }
        if let Some(listener) = &self.session_listener {
            listener(&session);
        }
        let generation = previous.map_or(1, |(g, _)| g + 1);
        let session = Arc::new(session);
        *self.current.lock().unwrap_or_else(|e| e.into_inner()) =
            Some((generation, session.clone()));
        Ok((generation, session))
    }
}

/// How long to wait for a login response.
pub(crate) const LOGIN_TIMEOUT: Duration = Duration::from_secs(60);

/// What a login answer means, as read by the flow that sent it.
pub(crate) enum LoginAnswer<T> {
    /// The login succeeded, or failed for good.
    Done(Result<T>),
    /// A failure worth another try (a server error).
    Retry(Error),
}

/// Posts a login request (`what`, such as `login (password)`, names it in messages) and reads
/// the answer with `answer`. A failed connection, or an answer `answer` calls retryable, is
/// sent again under the client's retry policy; the last error is returned when it runs out.
pub(crate) async fn login_post<T>(
    context: &AuthContext,
    what: &str,
    url: &str,
    request: impl Fn(reqwest::RequestBuilder) -> reqwest::RequestBuilder,
    answer: impl Fn(reqwest::StatusCode, &[u8]) -> LoginAnswer<T>,
) -> Result<T> {
    // The message names the login and what failed; reqwest's error (without the URL, which
    // the message already names) is the source.
    let failed = |e: reqwest::Error| {
        let e = e.without_url();
        if let Some(problem) = crate::http::certificate_problem(&e) {
            let error = Error::new(ErrorKind::Transport, format!("{what} to {url}: {problem}"))
                .with_source(e)
                .certificate_refused()
                .nothing_sent();
            return LoginAnswer::Done(Err(error));
        }
        let kind = if e.is_builder() {
            ErrorKind::NotSent
        } else {
            ErrorKind::Transport
        };
        LoginAnswer::Retry(
            Error::new(
                kind,
                format!("{what} to {url}: {}", crate::http::failure_text(&e)),
            )
            .with_source(e),
        )
    };
    let mut delays = context.retry.delays();
    loop {
        let sent = request(context.http.post(url))
            .timeout(LOGIN_TIMEOUT)
            .send()
            .await;
        let outcome = match sent {
            Ok(response) => {
                let status = response.status();
                match response.bytes().await {
                    Ok(body) => answer(status, &body),
                    Err(e) => failed(e),
                }
            }
            // A refused certificate is final: no wait makes it trusted.
            Err(e) => failed(e),
        };
        let error = match outcome {
            LoginAnswer::Done(result) => return result,
            LoginAnswer::Retry(error) => error,
        };
        match delays.next() {
            Some(delay) => {
                tracing::warn!(what, %error, ?delay, "login failed; retrying");
                tokio::time::sleep(delay).await;
            }
            None => return Err(error),
        }
    }
}

/// The password Salesforce checks at a username-password login: the user's password followed
/// by their security token (empty when the network is trusted), kept secret.
pub(crate) fn password_with_token(password: &SecretString, token: &SecretString) -> SecretString {
    format!("{}{}", password.expose_secret(), token.expose_secret()).into()
}
