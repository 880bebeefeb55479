//! The OAuth JWT bearer flow: a server signs a short-lived RS256 assertion with the private key
//! of the certificate uploaded to the connected app, and trades it for a session. No password,
//! no browser, no refresh token: every login signs a fresh assertion.
//!
//! This module does not load keys from keystores or PKCS#12 files; it takes an RSA private key
//! in PEM form (PKCS#1 `RSA PRIVATE KEY` or PKCS#8 `PRIVATE KEY`).

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use secrecy::{ExposeSecret, SecretString};

use super::oauth::token_request;
use super::{AuthContext, LoginUrl, Session, TokenSource};
use crate::error::{Error, Result};

/// The grant type Salesforce expects for a JWT bearer assertion.
const JWT_BEARER_GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// How long an assertion is valid; Salesforce wants `exp` within about three minutes.
const ASSERTION_LIFETIME: Duration = Duration::from_secs(180);

/// The OAuth JWT bearer flow. The connected app must hold the certificate of `private_key`
/// and the user must be pre-authorized for the app.
///
/// The key is kept as a [`SecretString`] and parsed at each login, so a bad key set through the
/// public fields fails the first request with an [`ErrorKind::NotSent`](crate::ErrorKind) error;
/// [`JwtCredentials::from_pem`] and [`JwtCredentials::from_pem_file`] check it up front.
#[derive(Debug, Clone)]
pub struct JwtCredentials {
    /// Where the assertion is posted (`{login_url}/services/oauth2/token`); also the source of
    /// the default audience.
    pub login_url: LoginUrl,
    /// The connected app's consumer key (the assertion's `iss`).
    pub client_id: String,
    /// The user to log in as (the assertion's `sub`).
    pub username: String,
    /// The RSA private key, in PEM form.
    pub private_key: SecretString,
    /// The assertion's `aud`; `None` derives it from the login URL (see
    /// [`JwtCredentials::audience`]).
    pub audience: Option<String>,
}

impl JwtCredentials {
    /// Credentials from a PEM private key held in memory. The key is checked now: a key that is
    /// not an RSA private key is an [`ErrorKind::NotSent`](crate::ErrorKind) error, whose message
    /// never repeats the key.
    pub fn from_pem(
        login_url: LoginUrl,
        client_id: impl Into<String>,
        username: impl Into<String>,
        private_key_pem: impl Into<String>,
    ) -> Result<JwtCredentials> {
        JwtCredentials::checked(
            login_url,
            client_id.into(),
            username.into(),
            SecretString::from(private_key_pem.into()),
            "the JWT private key",
        )
    }

    /// Credentials from a PEM private key file (such as `server.key`). Errors name the path.
    pub fn from_pem_file(
        login_url: LoginUrl,
        client_id: impl Into<String>,
        username: impl Into<String>,
        path: impl AsRef<Path>,
    ) -> Result<JwtCredentials> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::not_sent(format!(
                "cannot read the JWT private key file {}",
                path.display()
            ))
            .with_source(e)
        })?;
        JwtCredentials::checked(
            login_url,
            client_id.into(),
            username.into(),
            SecretString::from(text),
            &format!("the JWT private key file {}", path.display()),
        )
    }

    /// Credentials whose key (`what`, in errors) is checked to be an RSA private key.
    fn checked(
        login_url: LoginUrl,
        client_id: String,
        username: String,
        private_key: SecretString,
        what: &str,
    ) -> Result<JwtCredentials> {
        encoding_key(&private_key, what)?;
        Ok(JwtCredentials {
            login_url,
            client_id,
            username,
            private_key,
            audience: None,
        })
    }

    /// The `aud` of the assertions: [`JwtCredentials::audience`] when set. Otherwise the
    /// Salesforce login host the org belongs to, which is what Salesforce checks even when the
    /// assertion is posted to a My Domain: `https://test.salesforce.com` for sandboxes
    /// (`test.salesforce.com`, or a My Domain with `--` or `.sandbox.` in its host) and
    /// `https://login.salesforce.com` for other `salesforce.com` hosts. Any other login URL (an
    /// Experience Cloud site, a local org) is its own audience: its scheme and host with port.
    pub fn audience(&self) -> String {
        if let Some(audience) = &self.audience {
            return audience.clone();
        }
        let Ok(url) = reqwest::Url::parse(self.login_url.as_str()) else {
            return self.login_url.as_str().to_string();
        };
        let Some(host) = url.host_str().map(str::to_ascii_lowercase) else {
            return self.login_url.as_str().to_string();
        };
        if host == "salesforce.com" || host.ends_with(".salesforce.com") {
            let sandbox =
                host == "test.salesforce.com" || host.contains("--") || host.contains(".sandbox.");
            return if sandbox {
                "https://test.salesforce.com".to_string()
            } else {
                "https://login.salesforce.com".to_string()
            };
        }
        match url.port() {
            Some(port) => format!("{}://{host}:{port}", url.scheme()),
            None => format!("{}://{host}", url.scheme()),
        }
    }

    /// A freshly signed assertion, valid for three minutes.
    fn assertion(&self) -> Result<String> {
        let key = encoding_key(&self.private_key, "the JWT private key")?;
        let expires = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .saturating_add(ASSERTION_LIFETIME)
            .as_secs();
        let claims = serde_json::json!({
            "iss": self.client_id,
            "sub": self.username,
            "aud": self.audience(),
            "exp": expires,
        });
        jsonwebtoken::encode(&Header::new(Algorithm::RS256), &claims, &key).map_err(|e| {
            Error::not_sent(format!("cannot sign the JWT assertion: {}", e.kind_name()))
        })
    }
}

impl TokenSource for JwtCredentials {
    fn login<'a>(
        &'a self,
        context: &'a AuthContext,
        _previous: Option<&'a Session>,
    ) -> BoxFuture<'a, Result<Session>> {
        async move {
            let assertion = self.assertion()?;
            tracing::debug!(client_id = %self.client_id, username = %self.username, "logging in with a JWT assertion");
            let form = [
                ("grant_type", JWT_BEARER_GRANT),
                ("assertion", assertion.as_str()),
            ];
            token_request(context, &self.login_url, &form).await
        }
        .boxed()
    }
}

/// Parses the key. The error says what is wrong in the library's words (which never quote the
/// key), and keeps no source that could.
fn encoding_key(private_key: &SecretString, what: &str) -> Result<EncodingKey> {
    EncodingKey::from_rsa_pem(private_key.expose_secret().as_bytes()).map_err(|e| {
        Error::not_sent(format!(
            "{what} is not an RSA private key in PEM form ({})",
            e.kind_name()
        ))
    })
}

/// The short name of a `jsonwebtoken` error, without any detail it might carry.
trait KindName {
    fn kind_name(&self) -> String;
}

impl KindName for jsonwebtoken::errors::Error {
    fn kind_name(&self) -> String {
        let debug = format!("{:?}", self.kind());
        // `InvalidKeyFormat`, `InvalidRsaKey("...")`: keep the variant name only.
        debug
            .split(|c: char| !c.is_ascii_alphanumeric())
            .next()
            .unwrap_or("invalid key")
            .to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn credentials(login_url: LoginUrl) -> JwtCredentials {
        JwtCredentials {
            login_url,
            client_id: "id".into(),
            username: "me@example.com".into(),
            private_key: SecretString::from("not a key"),
            audience: None,
        }
    }

    #[test]
    fn the_audience_follows_the_login_host() {
        assert_eq!(
            credentials(LoginUrl::production()).audience(),
            "https://login.salesforce.com"
        );
        assert_eq!(
            credentials(LoginUrl::sandbox()).audience(),
            "https://test.salesforce.com"
        );
        assert_eq!(
            credentials(LoginUrl::my_domain("acme").unwrap()).audience(),
            "https://login.salesforce.com"
        );
        assert_eq!(
            credentials(LoginUrl::my_domain("acme--dev.sandbox.my.salesforce.com").unwrap())
                .audience(),
            "https://test.salesforce.com"
        );
        assert_eq!(
            credentials(LoginUrl::custom("http://127.0.0.1:8080/").unwrap()).audience(),
            "http://127.0.0.1:8080"
        );
        let mut fixed = credentials(LoginUrl::production());
        fixed.audience = Some("https://acme.my.site.com/customers".into());
        assert_eq!(fixed.audience(), "https://acme.my.site.com/customers");
    }

    #[test]
    fn a_bad_key_is_not_sent_and_not_echoed() {
        let secret_looking = "-----BEGIN PRIVATE KEY-----\nc2VjcmV0LWtleS1tYXRlcmlhbA==\n-----END PRIVATE KEY-----\n";
        let error = JwtCredentials::from_pem(
            LoginUrl::production(),
            "id",
            "me@example.com",
            secret_looking,
        )
        .unwrap_err();
        assert_eq!(error.kind(), crate::ErrorKind::NotSent);
        let shown = format!("{error} {error:?}");
        assert!(!shown.contains("c2VjcmV0LWtleS1tYXRlcmlhbA"), "{shown}");
    }
}
