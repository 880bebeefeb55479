//! The OAuth web-server (authorization code) flow, in two steps that a web service calls from
//! two requests of its own: [`WebServerFlow::authorize`] builds the URL to send the browser to
//! (with a random `state`, and a PKCE S256 challenge when on) and returns what to keep until
//! the browser comes back ([`AuthorizeRequest`]); [`WebServerFlow::exchange`] checks the
//! callback ([`OAuthCallback`]: its `state`, or the `error` Salesforce sent instead) and trades
//! its code for a session and a refresh token ([`WebLogin`]).
//!
//! Command-line tools, which have no server of their own, use the one-shot loopback listener
//! built on these two steps (`WebServerFlow::start`, feature `loopback`). This module does not
//! open the browser, serve HTTPS, or keep anything between the two steps: the caller stores the
//! [`AuthorizeRequest`] (it is serde-serializable) as it sees fit.

use std::fmt;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use forcebridge_wire::oauth::pkce_s256_challenge;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use super::RefreshTokenCredentials;
use super::oauth::token_request;
use super::{AccessTokenCredentials, AuthContext, LOGIN_TIMEOUT, LoginUrl, Session};
use crate::client::{Client, ClientBuilder};
use crate::error::{ApiErrorDetail, Error, ErrorKind, Result};
use crate::retry::RetryPolicy;
use crate::types::ApiVersion;

/// The web-server flow's settings. [`WebServerFlow::new`] gives the defaults; change the
/// public fields as needed.
///
/// A web service calls the two steps from its own routes:
///
/// ```no_run
/// # async fn demo(query_string_of_the_callback: &str) -> forcebridge_client::Result<()> {
/// use forcebridge_client::{LoginUrl, WebServerFlow};
/// use forcebridge_client::auth::{AuthorizeRequest, OAuthCallback};
///
/// let mut flow = WebServerFlow::new(LoginUrl::production(), "3MVG9...");
/// flow.redirect_uri = "https://app.example.com/oauth/callback".into();
///
/// // Route 1: send the browser to Salesforce, and keep the request (in the user's session
/// // on the server: it holds the PKCE verifier).
/// let request: AuthorizeRequest = flow.authorize()?;
/// let redirect_to = request.url.clone();
/// # drop(redirect_to);
///
/// // Route 2, the callback: check it and trade the code.
/// let callback = OAuthCallback::from_query(query_string_of_the_callback);
/// let login = flow.exchange(&request, &callback).await?;
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
    /// Where Salesforce sends the browser back, registered as a callback URL of the app. The
    /// loopback listener needs an `http` URL on a loopback host (`localhost`, `127.0.0.1`,
    /// `[::1]`), where port 0 picks a free port.
    pub redirect_uri: String,
    /// The scopes asked for; include `refresh_token` to get a refresh token.
    pub scopes: Vec<String>,
    /// Whether to send a PKCE (S256) code challenge and prove it with the verifier.
    pub pkce: bool,
    /// How long the loopback listener waits for the browser to come back.
    pub timeout: Duration,
    /// The HTTP client that exchanges the code (for proxies or a trusted local certificate
    /// authority); `None` uses a default client.
    pub http: Option<reqwest::Client>,
}

/// The default callback URL, the Salesforce CLI's.
const DEFAULT_REDIRECT_URI: &str = "http://localhost:1717/OauthRedirect";

/// What the first step produced: the URL to send the browser to, and what the second step
/// needs. Keep it on the server between the two requests (it serializes with serde; the PKCE
/// verifier is written in clear, so store it where the user's other secrets go, never in a
/// URL). `Debug` hides the verifier.
#[derive(Clone, Serialize, Deserialize)]
pub struct AuthorizeRequest {
    /// `{login_url}/services/oauth2/authorize?response_type=code&...`: where to send the
    /// browser.
    pub url: String,
    /// The random `state` the callback must bring back.
    pub state: String,
    /// The callback URL the authorization asked for; the exchange sends it again, as
    /// Salesforce requires.
    pub redirect_uri: String,
    /// The PKCE code verifier, when PKCE is on.
    #[serde(with = "secret_option")]
    pub code_verifier: Option<SecretString>,
}

impl fmt::Debug for AuthorizeRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthorizeRequest")
            .field("url", &self.url)
            .field("state", &self.state)
            .field("redirect_uri", &self.redirect_uri)
            .field(
                "code_verifier",
                &self.code_verifier.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

/// What Salesforce sent back to the callback URL: a `code` and the `state`, or an `error`
/// (the user denied access, the app is misconfigured) with its description. `Debug` hides the
/// code.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct OAuthCallback {
    /// The authorization code, to exchange once.
    pub code: Option<String>,
    /// The `state` of the authorization request it answers.
    pub state: Option<String>,
    /// The OAuth error instead of a code (`access_denied`, ...).
    pub error: Option<String>,
    /// What the error means, in Salesforce's words.
    pub error_description: Option<String>,
}

impl OAuthCallback {
    /// The callback's parameters from its query string (with or without the leading `?`);
    /// the first value of each counts.
    pub fn from_query(query: &str) -> OAuthCallback {
        let mut callback = OAuthCallback::default();
        for (name, value) in form_urlencoded::parse(query.trim_start_matches('?').as_bytes()) {
            let slot = match name.as_ref() {
                "code" => &mut callback.code,
                "state" => &mut callback.state,
                "error" => &mut callback.error,
                "error_description" => &mut callback.error_description,
                _ => continue,
            };
            slot.get_or_insert_with(|| value.into_owned());
        }
        callback
    }

    /// Whether it carries anything of an OAuth answer (a reload of the bare callback URL, or
    /// a browser's prefetch, does not).
    pub fn is_empty(&self) -> bool {
        self.code.is_none() && self.state.is_none() && self.error.is_none()
    }
}

impl fmt::Debug for OAuthCallback {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthCallback")
            .field("code", &self.code.as_ref().map(|_| "<redacted>"))
            .field("state", &self.state)
            .field("error", &self.error)
            .field("error_description", &self.error_description)
            .finish()
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

impl WebServerFlow {
    /// A flow with the defaults: no client secret, the redirect URI
    /// `http://localhost:1717/OauthRedirect`, the scopes `refresh_token api web`, PKCE on, and
    /// five minutes for the loopback listener to wait.
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

    /// Exchanges codes with an HTTP client that trusts the certificate authorities in the PEM
    /// file at `path` besides the system's (a local org served over HTTPS), replacing
    /// [`WebServerFlow::http`]. An unreadable file, or one without a certificate, is an
    /// [`ErrorKind::NotSent`] error naming it.
    pub fn trust_root_certificate_file(&mut self, path: &std::path::Path) -> Result<()> {
        let mut http = reqwest::Client::builder().timeout(LOGIN_TIMEOUT);
        for certificate in crate::client::read_certificates(path)? {
            http = http.add_root_certificate(certificate);
        }
        let http = http
            .build()
            .map_err(|e| Error::not_sent("cannot set up the HTTP client").with_source(e))?;
        self.http = Some(http);
        Ok(())
    }

    /// Step one: the authorization URL for [`WebServerFlow::redirect_uri`], with a new random
    /// `state` and, when [`WebServerFlow::pkce`] is on, a new code verifier and its S256
    /// challenge. Nothing is sent.
    pub fn authorize(&self) -> Result<AuthorizeRequest> {
        self.authorize_for(&self.redirect_uri)
    }

    /// [`WebServerFlow::authorize`] for another callback URL (the loopback listener's real
    /// port).
    pub(crate) fn authorize_for(&self, redirect_uri: &str) -> Result<AuthorizeRequest> {
        let state = random_token(16);
        let code_verifier = self.pkce.then(|| SecretString::from(random_token(32)));
        let mut params: Vec<(&str, String)> = vec![
            ("response_type", "code".into()),
            ("client_id", self.client_id.clone()),
            ("redirect_uri", redirect_uri.to_string()),
            ("state", state.clone()),
        ];
        if !self.scopes.is_empty() {
            params.push(("scope", self.scopes.join(" ")));
        }
        if let Some(verifier) = &code_verifier {
            params.push((
                "code_challenge",
                pkce_s256_challenge(verifier.expose_secret()),
            ));
            params.push(("code_challenge_method", "S256".into()));
        }
        let url = reqwest::Url::parse_with_params(
            &self.login_url.join("/services/oauth2/authorize"),
            &params,
        )
        .map_err(|e| {
            Error::not_sent(format!(
                "cannot build the authorization URL on {}",
                self.login_url
            ))
            .with_source(e)
        })?
        .to_string();
        Ok(AuthorizeRequest {
            url,
            state,
            redirect_uri: redirect_uri.to_string(),
            code_verifier,
        })
    }

    /// Step two: checks that `callback` answers `request` and trades its code for a session at
    /// the token endpoint (`grant_type=authorization_code`, with the code verifier when PKCE is
    /// on, and the client secret when there is one).
    ///
    /// A callback with another `state` (it did not come from this authorization), one carrying
    /// an `error` (the user denied access: its code and description are in
    /// [`Error::api_errors`]), or one with no code is an [`ErrorKind::Auth`] error, and nothing
    /// is sent. A refused exchange is an `Auth` error with the org's OAuth error code.
    pub async fn exchange(
        &self,
        request: &AuthorizeRequest,
        callback: &OAuthCallback,
    ) -> Result<WebLogin> {
        let code = check_callback(request, callback).map_err(CallbackProblem::into_error)?;
        self.exchange_code(request, code).await
    }

    /// Trades a checked code for a session.
    pub(crate) async fn exchange_code(
        &self,
        request: &AuthorizeRequest,
        code: &str,
    ) -> Result<WebLogin> {
        let http = match &self.http {
            Some(http) => http.clone(),
            None => reqwest::Client::builder()
                .timeout(LOGIN_TIMEOUT)
                .build()
                .map_err(|e| Error::not_sent("cannot set up the HTTP client").with_source(e))?,
        };
        let context = AuthContext {
            http,
            retry: RetryPolicy::standard(),
            version: ApiVersion::DEFAULT,
        };
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", request.redirect_uri.as_str()),
            ("client_id", self.client_id.as_str()),
        ];
        if let Some(secret) = &self.client_secret {
            form.push(("client_secret", secret.expose_secret()));
        }
        if let Some(verifier) = &request.code_verifier {
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
}

/// Why a callback does not carry a usable code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CallbackProblem {
    /// Its `state` is not the request's: it did not come from this authorization.
    WrongState,
    /// Salesforce sent an error instead of a code.
    Refused { error: String, description: String },
    /// Neither a code nor an error.
    NoCode,
}

impl CallbackProblem {
    /// The error for the caller; nothing was sent to the token endpoint.
    pub(crate) fn into_error(self) -> Error {
        let error = match self {
            CallbackProblem::WrongState => Error::new(
                ErrorKind::Auth,
                "the OAuth callback's state does not match this login: the redirect did not come \
                 from this login's authorization request",
            ),
            CallbackProblem::Refused { error, description } => Error::new(
                ErrorKind::Auth,
                format!("the authorization was refused: {error}: {description}"),
            )
            .with_api_errors(vec![ApiErrorDetail {
                error_code: error,
                message: description,
                fields: Vec::new(),
            }]),
            CallbackProblem::NoCode => Error::new(
                ErrorKind::Auth,
                "the OAuth callback carried neither a code nor an error",
            ),
        };
        error.nothing_sent()
    }
}

/// The code of a callback that answers `request`.
pub(crate) fn check_callback<'a>(
    request: &AuthorizeRequest,
    callback: &'a OAuthCallback,
) -> std::result::Result<&'a str, CallbackProblem> {
    // The state is checked first: an error from another login is not this one's to report.
    if !same_secret(callback.state.as_deref().unwrap_or(""), &request.state) {
        return Err(CallbackProblem::WrongState);
    }
    if let Some(error) = &callback.error {
        tracing::info!(error, description = ?callback.error_description, "the OAuth callback carried an error");
        return Err(CallbackProblem::Refused {
            error: error.clone(),
            description: callback.error_description.clone().unwrap_or_default(),
        });
    }
    callback.code.as_deref().ok_or(CallbackProblem::NoCode)
}

/// Compares two values without stopping at the first difference, so the time taken says
/// nothing about how much of a guess was right.
fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |diff, (x, y)| diff | (x ^ y))
            == 0
}

/// `n` random bytes, base64url without padding.
fn random_token(n: usize) -> String {
    let bytes: Vec<u8> = (0..n).map(|_| rand::random::<u8>()).collect();
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Serde for an optional secret: written in clear (the caller decided to store it), read back
/// as a secret.
mod secret_option {
    use secrecy::{ExposeSecret, SecretString};
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub(super) fn serialize<S: Serializer>(
        value: &Option<SecretString>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        value
            .as_ref()
            .map(|secret| secret.expose_secret())
            .serialize(serializer)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<SecretString>, D::Error> {
        Ok(Option::<String>::deserialize(deserializer)?.map(SecretString::from))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> AuthorizeRequest {
        WebServerFlow::new(LoginUrl::production(), "id")
            .authorize()
            .unwrap()
    }

    #[test]
    fn callbacks_are_read_from_a_query_string() {
        let callback = OAuthCallback::from_query("?code=aPrx%2Fx&state=s1&code=second&other=1");
        assert_eq!(callback.code.as_deref(), Some("aPrx/x"));
        assert_eq!(callback.state.as_deref(), Some("s1"));
        assert!(!callback.is_empty());
        assert!(OAuthCallback::from_query("").is_empty());
        assert!(!format!("{callback:?}").contains("aPrx"));
    }

    #[test]
    fn only_a_callback_with_the_requests_state_and_a_code_passes() {
        let request = request();
        let good = OAuthCallback {
            code: Some("c".into()),
            state: Some(request.state.clone()),
            ..OAuthCallback::default()
        };
        assert_eq!(check_callback(&request, &good), Ok("c"));
        let forged = OAuthCallback {
            state: Some("forged".into()),
            ..good.clone()
        };
        assert_eq!(
            check_callback(&request, &forged),
            Err(CallbackProblem::WrongState)
        );
        let denied = OAuthCallback {
            code: None,
            error: Some("access_denied".into()),
            ..good.clone()
        };
        let error = check_callback(&request, &denied).unwrap_err().into_error();
        assert_eq!(error.kind(), ErrorKind::Auth);
        assert_eq!(error.error_code(), Some("access_denied"));
        let empty = OAuthCallback { code: None, ..good };
        assert_eq!(
            check_callback(&request, &empty),
            Err(CallbackProblem::NoCode)
        );
    }

    #[test]
    fn an_authorize_request_keeps_its_verifier_through_serde_but_not_debug() {
        let request = request();
        let verifier = request.code_verifier.as_ref().unwrap().expose_secret();
        assert!(!format!("{request:?}").contains(verifier));
        let stored = serde_json::to_string(&request).unwrap();
        let back: AuthorizeRequest = serde_json::from_str(&stored).unwrap();
        assert_eq!(back.state, request.state);
        assert_eq!(back.url, request.url);
        assert_eq!(
            back.code_verifier.as_ref().unwrap().expose_secret(),
            verifier
        );
        // Each request is new.
        assert_ne!(self::request().state, request.state);
    }
}
