//! The OAuth token endpoint (`POST /services/oauth2/token`) and the flows that only need it:
//! username-password, client credentials and refresh token; and a bare access token.

use std::sync::Mutex;

use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use secrecy::{ExposeSecret, SecretString};

use super::{AuthContext, LoginAnswer, LoginUrl, Session, TokenSource, login_post};
use crate::error::{ApiErrorDetail, Error, ErrorKind, Result};

/// The OAuth username-password flow. The password sent is the password followed by the
/// security token, as Salesforce expects from untrusted networks.
#[derive(Debug, Clone)]
pub struct PasswordCredentials {
    /// Where the token request is posted (`{login_url}/services/oauth2/token`).
    pub login_url: LoginUrl,
    /// The connected app's consumer key.
    pub client_id: String,
    /// The connected app's consumer secret.
    pub client_secret: SecretString,
    /// The Salesforce username to log in as.
    pub username: String,
    /// The user's password, without the security token.
    pub password: SecretString,
    /// Appended to the password; leave empty when the network is trusted.
    pub security_token: SecretString,
}

/// The OAuth client-credentials flow: the connected app logs in as its run-as user. Salesforce
/// serves it only on a My Domain login URL.
#[derive(Debug, Clone)]
pub struct ClientCredentials {
    /// Where the token request is posted (`{login_url}/services/oauth2/token`); a My Domain.
    pub login_url: LoginUrl,
    /// The connected app's consumer key.
    pub client_id: String,
    /// The connected app's consumer secret.
    pub client_secret: SecretString,
}

/// The OAuth refresh-token flow. If the org rotates refresh tokens, the client keeps the new
/// one for its next refresh and hands it to the
/// [`RefreshTokenListener`](super::RefreshTokenListener) so it can be stored.
#[derive(Debug, Clone)]
pub struct RefreshTokenCredentials {
    /// Where the token request is posted (`{login_url}/services/oauth2/token`).
    pub login_url: LoginUrl,
    /// The connected app's consumer key.
    pub client_id: String,
    /// Required unless the connected app allows refreshing without its secret.
    pub client_secret: Option<SecretString>,
    /// The refresh token to start from; once the org rotates it, the client uses the newest.
    pub refresh_token: SecretString,
}

/// An access token (or SOAP session id) and the instance it belongs to, obtained elsewhere.
/// When it expires the client cannot log in again, and requests fail with an
/// [`ErrorKind::Auth`] error.
#[derive(Debug, Clone)]
pub struct AccessTokenCredentials {
    /// The org's instance URL (such as `https://acme.my.salesforce.com`); a trailing slash is
    /// dropped.
    pub instance_url: String,
    /// The access token or session id, sent as the bearer token of every request.
    pub access_token: SecretString,
}

impl TokenSource for PasswordCredentials {
    fn login<'a>(
        &'a self,
        context: &'a AuthContext,
        _previous: Option<&'a Session>,
    ) -> BoxFuture<'a, Result<Session>> {
        async move {
            let password = super::password_with_token(&self.password, &self.security_token);
            let form = [
                ("grant_type", "password"),
                ("client_id", self.client_id.as_str()),
                ("client_secret", self.client_secret.expose_secret()),
                ("username", self.username.as_str()),
                ("password", password.expose_secret()),
            ];
            token_request(context, &self.login_url, &form).await
        }
        .boxed()
    }
}

impl TokenSource for ClientCredentials {
    fn login<'a>(
        &'a self,
        context: &'a AuthContext,
        _previous: Option<&'a Session>,
    ) -> BoxFuture<'a, Result<Session>> {
        async move {
            let form = [
                ("grant_type", "client_credentials"),
                ("client_id", self.client_id.as_str()),
                ("client_secret", self.client_secret.expose_secret()),
            ];
            token_request(context, &self.login_url, &form).await
        }
        .boxed()
    }
}

impl TokenSource for AccessTokenCredentials {
    fn login<'a>(
        &'a self,
        _context: &'a AuthContext,
        _previous: Option<&'a Session>,
    ) -> BoxFuture<'a, Result<Session>> {
        async move {
            Ok(Session::new(
                self.access_token.expose_secret(),
                &self.instance_url,
            ))
        }
        .boxed()
    }

    fn can_refresh(&self) -> bool {
        false
    }
}

/// A refresh-token source that follows rotation: the token it holds is replaced whenever the
/// org hands out a new one.
#[derive(Debug)]
pub(crate) struct RefreshSource {
    credentials: RefreshTokenCredentials,
    current: Mutex<SecretString>,
}

impl RefreshSource {
    pub(crate) fn new(credentials: RefreshTokenCredentials) -> RefreshSource {
        RefreshSource {
            current: Mutex::new(credentials.refresh_token.clone()),
            credentials,
        }
    }

    fn current(&self) -> SecretString {
        self.current
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

impl TokenSource for RefreshSource {
    fn login<'a>(
        &'a self,
        context: &'a AuthContext,
        _previous: Option<&'a Session>,
    ) -> BoxFuture<'a, Result<Session>> {
        async move {
            let refresh_token = self.current();
            let mut form = vec![
                ("grant_type", "refresh_token"),
                ("client_id", self.credentials.client_id.as_str()),
                ("refresh_token", refresh_token.expose_secret()),
            ];
            if let Some(secret) = &self.credentials.client_secret {
                form.push(("client_secret", secret.expose_secret()));
            }
            let session = token_request(context, &self.credentials.login_url, &form).await?;
            if let Some(new) = &session.refresh_token {
                *self.current.lock().unwrap_or_else(|e| e.into_inner()) = new.clone();
            }
            Ok(session)
        }
        .boxed()
    }

    fn refresh_token(&self) -> Option<SecretString> {
        Some(self.current())
    }
}

/// Posts a grant to `{login_url}/services/oauth2/token` and reads the session out of the
/// answer. Connection failures and 5xx answers are retried under the client's policy (a login
/// has no effect worth protecting); an OAuth error is an [`ErrorKind::Auth`] error with the
/// org's `error` as its code.
pub(crate) async fn token_request(
    context: &AuthContext,
    login_url: &LoginUrl,
    form: &[(&str, &str)],
) -> Result<Session> {
    let url = login_url.join("/services/oauth2/token");
    let grant = form
        .iter()
        .find(|(k, _)| *k == "grant_type")
        .map_or("", |(_, v)| *v);
    let what = format!("login ({grant})");
    login_post(
        context,
        &what,
        &url,
        |request| {
            request
                .header(reqwest::header::ACCEPT, "application/json")
                .form(form)
        },
        |status, body| {
            if status.is_success() {
                LoginAnswer::Done(parse_session(body, grant))
            } else if status.is_server_error() {
                // Only server errors (and failed connections) are worth another try.
                LoginAnswer::Retry(oauth_error(status.as_u16(), body, grant))
            } else {
                LoginAnswer::Done(Err(oauth_error(status.as_u16(), body, grant)))
            }
        },
    )
    .await
}

fn parse_session(body: &[u8], grant: &str) -> Result<Session> {
    let token: forcebridge_wire::oauth::TokenResponse = serde_json::from_slice(body)
        .map_err(|e| Error::decode(format!("unreadable login ({grant}) response"), e))?;
    Ok(Session {
        access_token: SecretString::from(token.access_token),
        instance_url: token.instance_url.trim_end_matches('/').to_string(),
        identity_url: Some(token.id),
        refresh_token: token.refresh_token.map(SecretString::from),
        issued_at: token.issued_at.and_then(|t| t.parse().ok()),
        scope: token.scope,
        // Salesforce's token answer has no `expires_in`: the org's session timeout applies.
        expires_at: None,
    })
}

/// An OAuth error answer as an [`Error`]: `{"error", "error_description"}`, or whatever text
/// the server sent.
pub(crate) fn oauth_error(status: u16, body: &[u8], grant: &str) -> Error {
    let detail = match serde_json::from_slice::<forcebridge_wire::oauth::OAuthError>(body) {
        Ok(error) => ApiErrorDetail {
            error_code: error.error,
            message: error.error_description,
            fields: Vec::new(),
        },
        Err(_) => ApiErrorDetail {
            error_code: format!("HTTP_{status}"),
            message: String::from_utf8_lossy(body).chars().take(300).collect(),
            fields: Vec::new(),
        },
    };
    let kind = if status >= 500 {
        ErrorKind::Transport
    } else {
        ErrorKind::Auth
    };
    Error::new(
        kind,
        format!(
            "login ({grant}) refused: {}: {}",
            detail.error_code, detail.message
        ),
    )
    .with_status(status)
    .with_api_errors(vec![detail])
}
