//! Logging in: every way a client gets a session from the local org, and the session store
//! behind every API request.
//!
//! | file | serves |
//! |------|--------|
//! | `token.rs` | `POST /services/oauth2/token` (password, client credentials, authorization code, refresh token grants) and `/services/oauth2/revoke` |
//! | `jwt.rs` | the JWT bearer grant (`urn:ietf:params:oauth:grant-type:jwt-bearer`) |
//! | `authorize.rs` | `/services/oauth2/authorize`: the login and consent page, codes and the user-agent flow |
//! | `identity.rs` | `/services/oauth2/userinfo`, the identity URL `/id/{orgId}/{userId}`, OpenID discovery |
//! | `soap.rs` | SOAP `login` and `logout` at `/services/Soap/u/{version}` (and `/c/`) |
//! | `session.rs` | access and refresh tokens, authorization codes, browser sessions |
//!
//! OAuth errors are JSON objects with HTTP 400 ([`oauth_error`]); SOAP errors are XML faults with
//! HTTP 500. Passwords, tokens and client secrets never reach a log line or `Debug` output.
//!
//! Deliberately not modelled: the device, SAML bearer and token-exchange flows; OpenID
//! `id_token`s and token introspection; per-user pre-authorization of connected apps; IP
//! restrictions, login hours and lockouts; login history and `User.LastLoginDate`; scopes
//! limiting what a token may do in the REST API. Where one of these would refuse a request
//! in a real org, the local org grants it.

mod authorize;
mod identity;
mod jwt;
pub(crate) mod session;
mod soap;
mod token;

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use forcebridge_wire::oauth::OAuthError;
use sha2::{Digest, Sha256};

use crate::api_error::json_response;
use crate::config::{AppConfig, UserConfig};
use crate::org::Org;
use session::Session;

pub(crate) fn routes() -> Router<Arc<Org>> {
    Router::new()
        .route("/services/oauth2/token", post(token::token))
        .route(
            "/services/oauth2/revoke",
            get(token::revoke_by_query).post(token::revoke_by_form),
        )
        .route(
            "/services/oauth2/authorize",
            get(authorize::start).post(authorize::submit),
        )
        .route(
            "/services/oauth2/userinfo",
            get(identity::userinfo).post(identity::userinfo),
        )
        .route("/id/{org_id}/{user_id}", get(identity::identity))
        .route(
            "/.well-known/openid-configuration",
            get(identity::openid_configuration),
        )
        .merge(soap::routes())
}

/// An OAuth error response: a JSON object with HTTP 400.
pub(crate) fn oauth_error(error: &str, description: &str) -> Response {
    json_response(
        StatusCode::BAD_REQUEST,
        &OAuthError::new(error, description),
    )
}

/// Parses an `application/x-www-form-urlencoded` body (`+` is a space); a repeated key keeps
/// its last value.
pub(crate) fn form_urlencoded_pairs(body: &[u8]) -> HashMap<String, String> {
    form_urlencoded::parse(body).into_owned().collect()
}

/// An OAuth error as `(error, error_description)`, turned into a response by [`oauth_error`].
pub(crate) type OAuthProblem = (&'static str, &'static str);

pub(crate) const INVALID_CLIENT_ID: OAuthProblem =
    // UNVERIFIED wording: the reference lists the code, not Salesforce's exact description.
    ("invalid_client_id", "client identifier invalid");
pub(crate) const INVALID_CLIENT_CREDENTIALS: OAuthProblem =
    ("invalid_client", "invalid client credentials");
pub(crate) const AUTHENTICATION_FAILURE: OAuthProblem = ("invalid_grant", "authentication failure");

/// The scopes a connected app grants when a request names none. Salesforce grants the app's
/// configured "Selected OAuth Scopes"; the local org's apps have none configured, so this is
/// what they all select (and it includes `refresh_token`, so the web-server flow without a
/// `scope` parameter hands out a refresh token).
pub(crate) const DEFAULT_SCOPES: [&str; 3] = ["refresh_token", "web", "api"];

/// The connected app with this consumer key.
pub(crate) fn find_app<'o>(org: &'o Org, client_id: &str) -> Option<&'o AppConfig> {
    org.config.apps.iter().find(|a| a.client_id == client_id)
}

/// Whether `given` is the app's client secret. An app without a secret (a public client such
/// as `PlatformCLI`) accepts whatever a client sends, as it has nothing to check it against.
pub(crate) fn client_secret_matches(app: &AppConfig, given: &str) -> bool {
    app.client_secret.is_empty() || secrets_equal(given, &app.client_secret)
}

/// Compares two secrets in time that depends only on their lengths, so response timing does
/// not leak how much of a guess was right.
pub(crate) fn secrets_equal(given: &str, expected: &str) -> bool {
    let (given, expected) = (given.as_bytes(), expected.as_bytes());
    given.len() == expected.len()
        && given
            .iter()
            .zip(expected)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

/// Whether `given` is the user's password, alone or followed by the security token (clients
/// outside the org's trusted IP ranges must append it; the local org trusts every network, so
/// it accepts both, as a real org does for trusted ranges).
pub(crate) fn password_matches(user: &UserConfig, given: &str) -> bool {
    let with_token = format!("{}{}", user.password, user.security_token);
    secrets_equal(given, &user.password) || secrets_equal(given, &with_token)
}

/// The configured user with this username whose password (with or without the security token)
/// is `password`.
pub(crate) fn authenticate(org: &Org, username: &str, password: &str) -> Option<usize> {
    let index = org.user_index(username)?;
    password_matches(&org.config.users[index], password).then_some(index)
}

/// The client id and secret of a token request: from `Authorization: Basic` (RFC 6749
/// section 2.3.1) when present, else from the body. A malformed Basic header is an error,
/// not an anonymous request.
pub(crate) fn client_credentials(
    headers: &HeaderMap,
    params: &HashMap<String, String>,
) -> Result<(Option<String>, Option<String>), OAuthProblem> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok((
            params.get("client_id").cloned(),
            params.get("client_secret").cloned(),
        ));
    };
    let value = value
        .to_str()
        .map_err(|_| INVALID_CLIENT_CREDENTIALS)?
        .trim();
    let Some((scheme, encoded)) = value.split_once(' ') else {
        return Err(INVALID_CLIENT_CREDENTIALS);
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        // A bearer header on a token request is not client authentication; ignore it.
        return Ok((
            params.get("client_id").cloned(),
            params.get("client_secret").cloned(),
        ));
    }
    let decoded = STANDARD
        .decode(encoded.trim())
        .map_err(|_| INVALID_CLIENT_CREDENTIALS)?;
    let decoded = String::from_utf8(decoded).map_err(|_| INVALID_CLIENT_CREDENTIALS)?;
    let (id, secret) = decoded.split_once(':').ok_or(INVALID_CLIENT_CREDENTIALS)?;
    Ok((Some(id.to_string()), Some(secret.to_string())))
}

/// An access token just issued, with what every token response repeats about it.
pub(crate) struct Issued {
    pub access_token: String,
    pub issued_at: i64,
    pub instance_url: String,
    /// The identity URL `{base}/id/{orgId}/{userId}`.
    pub id: String,
}

/// What a successful grant hands out an access token for.
pub(crate) struct Grant<'a> {
    pub user_index: usize,
    /// The connected app (none for SOAP login).
    pub client_id: Option<&'a str>,
    pub scopes: Vec<String>,
    /// The refresh token the access token is minted from or with, so revoking it cascades.
    pub refresh_token: Option<String>,
}

/// Issues an access token for `grant`, valid for the org's token lifetime.
pub(crate) fn issue_access_token(org: &Org, headers: &HeaderMap, grant: Grant<'_>) -> Issued {
    let user = org.users[grant.user_index];
    let now = org.now();
    let access_token = org.sessions.issue(
        Session {
            user,
            user_index: grant.user_index,
            client_id: grant.client_id.map(str::to_string),
            issued_at: 0,
            expires_at: 0,
            scopes: grant.scopes,
            refresh_token: grant.refresh_token,
        },
        now,
    );
    let base = org.base_url(headers);
    Issued {
        access_token,
        issued_at: now,
        id: identity_url(org, &base, user),
        instance_url: base,
    }
}

/// The identity URL of a user: `{base}/id/{orgId18}/{userId18}`. Clients take the org id from
/// the second-to-last segment and the user id from the last, so the shape is fixed.
pub(crate) fn identity_url(org: &Org, base: &str, user: crate::ids::RecordId) -> String {
    format!("{base}/id/{}/{user}", org.org_id)
}

/// Whether scopes allow a refresh token: `refresh_token` or its OpenID name `offline_access`.
pub(crate) fn allows_refresh(scopes: &[String]) -> bool {
    scopes
        .iter()
        .any(|s| s == "refresh_token" || s == "offline_access")
}

/// The scopes of a request's `scope` parameter (space separated, duplicates dropped), or the
/// app's defaults when it names none.
pub(crate) fn requested_scopes(scope: Option<&str>) -> Vec<String> {
    let mut scopes: Vec<String> = Vec::new();
    for scope in scope.unwrap_or("").split_ascii_whitespace() {
        if !scopes.iter().any(|s| s == scope) {
            scopes.push(scope.to_string());
        }
    }
    if scopes.is_empty() {
        scopes = DEFAULT_SCOPES.iter().map(|s| s.to_string()).collect();
    }
    scopes
}

/// The `signature` of a token response: base64 of HMAC-SHA256 over the identity URL followed
/// by `issued_at`, keyed with the client secret, as Salesforce documents it ("concatenated ID
/// and issued_at value"), so clients can check that the `id` came from the org.
pub(crate) fn signature(client_secret: &str, id: &str, issued_at: i64) -> String {
    let message = format!("{id}{issued_at}");
    STANDARD.encode(hmac_sha256(client_secret.as_bytes(), message.as_bytes()))
}

/// HMAC-SHA256 (RFC 2104). Written out here rather than pulled in as a crate: it is a dozen
/// lines over the `sha2` the org already uses, and the unit test checks it against RFC 4231.
fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    const BLOCK_SIZE: usize = 64;
    let mut block_key = [0u8; BLOCK_SIZE];
    if key.len() > BLOCK_SIZE {
        block_key[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block_key[..key.len()].copy_from_slice(key);
    }
    let mut inner = Sha256::new();
    inner.update(block_key.map(|b| b ^ 0x36));
    inner.update(message);
    let inner_digest = inner.finalize();
    let mut outer = Sha256::new();
    outer.update(block_key.map(|b| b ^ 0x5c));
    outer.update(inner_digest);
    let mut out = [0u8; 32];
    out.copy_from_slice(&outer.finalize());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn hmac_sha256_matches_rfc_4231() {
        // Test case 2: a short key.
        assert_eq!(
            hex(&hmac_sha256(b"Jefe", b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        // Test case 6: a key longer than the block size is hashed first.
        assert_eq!(
            hex(&hmac_sha256(
                &[0xaa; 131],
                b"Test Using Larger Than Block-Size Key - Hash Key First"
            )),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }

    #[test]
    fn secrets_compare_whole_values_only() {
        assert!(secrets_equal("abc", "abc"));
        assert!(!secrets_equal("abc", "abd"));
        assert!(!secrets_equal("ab", "abc"));
        assert!(!secrets_equal("", "abc"));
    }

    #[test]
    fn configuration_debug_output_shows_no_secrets() {
        let debug = format!("{:?}", crate::config::Config::builtin());
        assert!(
            !debug.contains(crate::config::DEFAULT_CLIENT_SECRET),
            "{debug}"
        );
        assert!(
            !debug.contains(crate::config::DEFAULT_SECURITY_TOKEN),
            "{debug}"
        );
        assert!(!debug.contains("password: \"forcebridge\""), "{debug}");
        assert!(debug.contains("<redacted>"), "{debug}");
    }

    #[test]
    fn scopes_default_when_none_are_named_and_lose_duplicates() {
        assert_eq!(requested_scopes(None), ["refresh_token", "web", "api"]);
        assert_eq!(
            requested_scopes(Some("  ")),
            ["refresh_token", "web", "api"]
        );
        assert_eq!(requested_scopes(Some("api api  id")), ["api", "id"]);
        assert!(allows_refresh(&requested_scopes(Some(
            "openid offline_access"
        ))));
        assert!(!allows_refresh(&requested_scopes(Some("api web"))));
    }
}
