//! The token endpoint `POST /services/oauth2/token` with the password, client-credentials,
//! authorization-code and refresh-token grants (the JWT bearer grant is in `jwt.rs`), and
//! token revocation at `/services/oauth2/revoke`.
//!
//! Each grant answers with exactly the members Salesforce sends for that flow (see the protocol
//! reference, section 2.1). Parameters come from the form body; like Salesforce, parameters in
//! the query string are also read, and the body wins when both name one. This file does not
//! show pages or redirect browsers: that is `authorize.rs`.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use forcebridge_wire::oauth::{OAuthError, TokenResponse};

use super::session::{AUTHORIZATION_CODE_LIFETIME_MILLIS, RefreshGrant};
use super::{
    AUTHENTICATION_FAILURE, Grant, INVALID_CLIENT_CREDENTIALS, INVALID_CLIENT_ID, Issued,
    OAuthProblem, allows_refresh, authenticate, client_credentials, client_secret_matches,
    find_app, form_urlencoded_pairs, issue_access_token, signature,
};
use crate::api_error::json_response;
use crate::http::KeepErrorBody;
use crate::org::Org;

/// The grant type of the JWT bearer flow.
pub(crate) const JWT_BEARER_GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

const EXPIRED_TOKEN: OAuthProblem = ("invalid_grant", "expired access/refresh token");
// UNVERIFIED wordings below: Salesforce answers a bad code with `invalid_grant`; these are the
// descriptions seen in public reports, not in a document.
const INVALID_CODE: OAuthProblem = ("invalid_grant", "invalid authorization code");
const EXPIRED_CODE: OAuthProblem = ("invalid_grant", "expired authorization code");
const REDIRECT_MISMATCH: OAuthProblem = (
    "redirect_uri_mismatch",
    "redirect_uri must match configuration",
);
// The reference (web-server flow doc) gives the codes for PKCE failures: a missing verifier is
// `invalid_grant`, a wrong one `invalid_request`. The description is UNVERIFIED.
const MISSING_VERIFIER: OAuthProblem = ("invalid_grant", "invalid code verifier");
const WRONG_VERIFIER: OAuthProblem = ("invalid_request", "invalid code verifier");
const NO_RUN_AS_USER: OAuthProblem = ("invalid_grant", "no client credentials user enabled");

/// `POST /services/oauth2/token`.
pub(crate) async fn token(
    State(org): State<Arc<Org>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut params = form_urlencoded_pairs(query.as_deref().unwrap_or("").as_bytes());
    params.extend(form_urlencoded_pairs(&body));
    let format = ResponseFormat::of(&params, &headers);
    let grant_type = params.get("grant_type").map(String::as_str).unwrap_or("");
    let outcome = match grant_type {
        "password" => password_grant(&org, &headers, &params),
        "client_credentials" => client_credentials_grant(&org, &headers, &params),
        "authorization_code" => authorization_code_grant(&org, &headers, &params),
        "refresh_token" => refresh_token_grant(&org, &headers, &params),
        JWT_BEARER_GRANT => super::jwt::jwt_bearer_grant(&org, &headers, &params),
        // A missing grant type gets the same answer as an unknown one: that is what Salesforce
        // says to a JSON body, whose parameters it cannot see.
        _ => Err(("unsupported_grant_type", "grant type not supported")),
    };
    match outcome {
        Ok(body) => {
            tracing::info!(grant_type, client_id = ?params.get("client_id"), "token issued");
            format.success(&body)
        }
        Err((error, description)) => {
            tracing::info!(grant_type, error, description, "token request refused");
            format.error(error, description)
        }
    }
}

/// The body format a token request asked for: the `format` parameter, else the `Accept` header
/// (`json` is the default; `urlencoded` is also served). Salesforce also offers `xml`; the local
/// org answers such requests in JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ResponseFormat {
    Json,
    UrlEncoded,
}

impl ResponseFormat {
    fn of(params: &HashMap<String, String>, headers: &HeaderMap) -> ResponseFormat {
        if let Some(format) = params.get("format") {
            return if format.eq_ignore_ascii_case("urlencoded") {
                ResponseFormat::UrlEncoded
            } else {
                ResponseFormat::Json
            };
        }
        let accept = headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if accept
            .trim()
            .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        {
            ResponseFormat::UrlEncoded
        } else {
            ResponseFormat::Json
        }
    }

    fn success(self, body: &TokenResponse) -> Response {
        match self {
            ResponseFormat::Json => json_response(StatusCode::OK, body),
            ResponseFormat::UrlEncoded => form_response(StatusCode::OK, body),
        }
    }

    fn error(self, error: &str, description: &str) -> Response {
        match self {
            ResponseFormat::Json => super::oauth_error(error, description),
            ResponseFormat::UrlEncoded => form_response(
                StatusCode::BAD_REQUEST,
                &OAuthError::new(error, description),
            ),
        }
    }
}

/// A body as `application/x-www-form-urlencoded`: the members of its JSON object, in order.
fn form_response(status: StatusCode, body: &impl serde::Serialize) -> Response {
    let mut form = form_urlencoded::Serializer::new(String::new());
    if let Ok(serde_json::Value::Object(members)) = serde_json::to_value(body) {
        for (name, value) in members {
            match value {
                serde_json::Value::String(text) => form.append_pair(&name, &text),
                other => form.append_pair(&name, &other.to_string()),
            };
        }
    }
    form_body_response(status, form.finish())
}

/// A form-encoded body with its content type, kept as it is by the error shaper.
pub(crate) fn form_body_response(status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-www-form-urlencoded;charset=UTF-8"),
    );
    response.extensions_mut().insert(KeepErrorBody);
    response
}

/// The members every token response has, from an access token just issued.
pub(crate) fn token_response(issued: Issued) -> TokenResponse {
    TokenResponse {
        access_token: issued.access_token,
        refresh_token: None,
        signature: None,
        scope: None,
        id_token: None,
        instance_url: issued.instance_url,
        id: issued.id,
        token_type: "Bearer".to_string(),
        issued_at: None,
        api_instance_url: None,
    }
}

/// The username-password flow: `access_token, instance_url, id, token_type, issued_at,
/// signature` (no refresh token, no scope). The client secret is required.
fn password_grant(
    org: &Org,
    headers: &HeaderMap,
    params: &HashMap<String, String>,
) -> Result<TokenResponse, OAuthProblem> {
    let (client_id, secret) = client_credentials(headers, params)?;
    let app =
        find_app(org, client_id.as_deref().ok_or(INVALID_CLIENT_ID)?).ok_or(INVALID_CLIENT_ID)?;
    let secret = secret.ok_or(AUTHENTICATION_FAILURE)?;
    if !client_secret_matches(app, &secret) {
        return Err(INVALID_CLIENT_CREDENTIALS);
    }
    // Orgs block this flow unless the app allows it; Salesforce then says only "authentication
    // failure", which is what clients see here too.
    if !app.allow_password_flow {
        return Err(AUTHENTICATION_FAILURE);
    }
    let (Some(username), Some(password)) = (params.get("username"), params.get("password")) else {
        return Err(AUTHENTICATION_FAILURE);
    };
    let user_index = authenticate(org, username, password).ok_or(AUTHENTICATION_FAILURE)?;
    let issued = issue_access_token(
        org,
        headers,
        Grant {
            user_index,
            client_id: Some(&app.client_id),
            scopes: vec!["api".to_string()],
            refresh_token: None,
        },
    );
    Ok(token_response_with_signature(issued, &app.client_secret))
}

/// Signs and dates a token response.
fn token_response_with_signature(issued: Issued, client_secret: &str) -> TokenResponse {
    let issued_at = issued.issued_at;
    let mut body = token_response(issued);
    body.signature = Some(signature(client_secret, &body.id, issued_at));
    body.issued_at = Some(issued_at.to_string());
    body
}

/// The client-credentials flow: the app authenticates itself (body or Basic header) and gets a
/// session as its "run as" user. Answers `access_token, signature, scope, instance_url, id,
/// token_type, issued_at, api_instance_url`.
fn client_credentials_grant(
    org: &Org,
    headers: &HeaderMap,
    params: &HashMap<String, String>,
) -> Result<TokenResponse, OAuthProblem> {
    let (client_id, secret) = client_credentials(headers, params)?;
    let app =
        find_app(org, client_id.as_deref().ok_or(INVALID_CLIENT_ID)?).ok_or(INVALID_CLIENT_ID)?;
    // This flow is for confidential clients only: an app without a secret cannot use it.
    let secret = secret.ok_or(INVALID_CLIENT_CREDENTIALS)?;
    if app.client_secret.is_empty() || !super::secrets_equal(&secret, &app.client_secret) {
        return Err(INVALID_CLIENT_CREDENTIALS);
    }
    let run_as = app.run_as.as_deref().ok_or(NO_RUN_AS_USER)?;
    let Some(user_index) = org.user_index(run_as) else {
        tracing::warn!(client_id = %app.client_id, run_as, "the app's run-as user is not a configured user");
        return Err(NO_RUN_AS_USER);
    };
    let issued = issue_access_token(
        org,
        headers,
        Grant {
            user_index,
            client_id: Some(&app.client_id),
            scopes: vec!["api".to_string()],
            refresh_token: None,
        },
    );
    let mut body = token_response_with_signature(issued, &app.client_secret);
    body.scope = Some("api".to_string());
    // UNVERIFIED: real orgs answer `https://api.salesforce.com`; the local org's own base URL
    // keeps clients that follow it on the local org.
    body.api_instance_url = Some(body.instance_url.clone());
    Ok(body)
}

/// The web-server flow's second step: a code from `/authorize`, exchanged once, within 15
/// minutes, by the app it was issued to, with the same `redirect_uri`, and (when a challenge
/// was given) the PKCE verifier. The client secret must match when sent; it may be left out
/// only when the code carries a PKCE challenge or the app has no secret (a public client).
/// Answers `access_token, refresh_token (scope permitting), signature, scope, instance_url,
/// id, token_type, issued_at`.
fn authorization_code_grant(
    org: &Org,
    headers: &HeaderMap,
    params: &HashMap<String, String>,
) -> Result<TokenResponse, OAuthProblem> {
    let (client_id, secret) = client_credentials(headers, params)?;
    let app =
        find_app(org, client_id.as_deref().ok_or(INVALID_CLIENT_ID)?).ok_or(INVALID_CLIENT_ID)?;
    let code = params.get("code").ok_or(INVALID_CODE)?;
    // Any attempt uses the code up, so a leaked code cannot be tried twice.
    let grant = org.sessions.redeem_code(code).ok_or(INVALID_CODE)?;
    if grant.client_id != app.client_id {
        return Err(INVALID_CODE);
    }
    if grant.expires_at <= org.now() {
        return Err(EXPIRED_CODE);
    }
    if params.get("redirect_uri") != Some(&grant.redirect_uri) {
        return Err(REDIRECT_MISMATCH);
    }
    match &secret {
        Some(secret) if !client_secret_matches(app, secret) => {
            return Err(INVALID_CLIENT_CREDENTIALS);
        }
        None if grant.code_challenge.is_none() && !app.client_secret.is_empty() => {
            return Err(INVALID_CLIENT_CREDENTIALS);
        }
        _ => {}
    }
    if let Some(challenge) = &grant.code_challenge {
        let verifier = params.get("code_verifier").ok_or(MISSING_VERIFIER)?;
        // No RFC 7636 length check: jsforce sends 171-character verifiers (128 random bytes in
        // base64url), which real orgs accept; only the hash decides.
        if &forcebridge_wire::oauth::pkce_s256_challenge(verifier) != challenge {
            return Err(WRONG_VERIFIER);
        }
    }
    // UNVERIFIED: a verifier sent for a code issued without a challenge is ignored (jsforce
    // with `useVerifier` sends one on every request).
    let refresh_token = allows_refresh(&grant.scopes).then(|| {
        org.sessions.issue_refresh(RefreshGrant {
            user: grant.user,
            user_index: grant.user_index,
            client_id: app.client_id.clone(),
            scopes: grant.scopes.clone(),
        })
    });
    let scope = grant.scopes.join(" ");
    let issued = issue_access_token(
        org,
        headers,
        Grant {
            user_index: grant.user_index,
            client_id: Some(&app.client_id),
            scopes: grant.scopes,
            refresh_token: refresh_token.clone(),
        },
    );
    let mut body = token_response_with_signature(issued, &app.client_secret);
    body.refresh_token = refresh_token;
    body.scope = Some(scope);
    Ok(body)
}

/// The refresh-token flow: a new access token for a live refresh token of this app. The client
/// secret is optional (the CLI's public app has none) but must match when sent. The response has
/// no refresh token unless the app rotates them; then it has the new one and the old one is
/// retired.
fn refresh_token_grant(
    org: &Org,
    headers: &HeaderMap,
    params: &HashMap<String, String>,
) -> Result<TokenResponse, OAuthProblem> {
    let (client_id, secret) = client_credentials(headers, params)?;
    let app =
        find_app(org, client_id.as_deref().ok_or(INVALID_CLIENT_ID)?).ok_or(INVALID_CLIENT_ID)?;
    if let Some(secret) = &secret
        && !client_secret_matches(app, secret)
    {
        return Err(INVALID_CLIENT_CREDENTIALS);
    }
    let presented = params.get("refresh_token").ok_or(EXPIRED_TOKEN)?;
    let grant = org.sessions.refresh_grant(presented).ok_or(EXPIRED_TOKEN)?;
    // A refresh token works only for the app it was issued to.
    if grant.client_id != app.client_id {
        return Err(EXPIRED_TOKEN);
    }
    let (refresh_token, rotated) = if app.rotate_refresh_tokens {
        let (new, _) = org
            .sessions
            .rotate_refresh(presented)
            .ok_or(EXPIRED_TOKEN)?;
        (new, true)
    } else {
        (presented.clone(), false)
    };
    let scope = grant.scopes.join(" ");
    let issued = issue_access_token(
        org,
        headers,
        Grant {
            user_index: grant.user_index,
            client_id: Some(&app.client_id),
            scopes: grant.scopes,
            refresh_token: Some(refresh_token.clone()),
        },
    );
    let mut body = token_response_with_signature(issued, &app.client_secret);
    body.scope = Some(scope);
    body.refresh_token = rotated.then_some(refresh_token);
    Ok(body)
}

/// How long a code lives, for the authorize side.
pub(crate) fn code_expiry(now: i64) -> i64 {
    now.saturating_add(AUTHORIZATION_CODE_LIFETIME_MILLIS)
}

/// `POST /services/oauth2/revoke` with `token=` in the form body (or the query string).
pub(crate) async fn revoke_by_form(
    State(org): State<Arc<Org>>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    let mut params = form_urlencoded_pairs(query.as_deref().unwrap_or("").as_bytes());
    params.extend(form_urlencoded_pairs(&body));
    revoke(&org, params.get("token").map(String::as_str))
}

/// `GET /services/oauth2/revoke?token=`.
pub(crate) async fn revoke_by_query(
    State(org): State<Arc<Org>>,
    RawQuery(query): RawQuery,
) -> Response {
    let params = form_urlencoded_pairs(query.as_deref().unwrap_or("").as_bytes());
    revoke(&org, params.get("token").map(String::as_str))
}

/// Revokes an access or refresh token (a refresh token takes its access tokens with it): 200
/// with an empty body. Errors are 400 with a *form-encoded* body, as Salesforce sends them
/// (`error=unsupported_token_type&error_description=this%20token%20type%20is%20not%20supported`
/// is a real answer, seen in omniphx/forrest issue 213), and as jsforce reads them: its
/// `revokeToken` parses the error body with `querystring.parse`, so a JSON body would lose the
/// error code.
fn revoke(org: &Org, token: Option<&str>) -> Response {
    let (error, description) = match token {
        Some(token) if !token.is_empty() => {
            if org.sessions.revoke(token) {
                tracing::info!("token revoked");
                return StatusCode::OK.into_response();
            }
            // UNVERIFIED wording; the code is the one Salesforce documents for this case.
            ("invalid_token", "invalid token")
        }
        // A request without a token is what the forrest report shows Salesforce answering with
        // `unsupported_token_type`.
        _ => ("unsupported_token_type", "this token type is not supported"),
    };
    tracing::info!(error, "revoke refused");
    let body = format!(
        "error={}&error_description={}",
        percent_encode(error),
        percent_encode(description)
    );
    form_body_response(StatusCode::BAD_REQUEST, body)
}

/// Percent-encodes everything but unreserved characters (a space becomes `%20`, as in the
/// captured Salesforce answer, not `+`).
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn revoke_errors_are_percent_encoded_with_percent_20() {
        assert_eq!(
            percent_encode("this token type is not supported"),
            "this%20token%20type%20is%20not%20supported"
        );
        assert_eq!(percent_encode("a&b=c"), "a%26b%3Dc");
    }
}
