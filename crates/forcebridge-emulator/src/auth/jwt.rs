//! The JWT bearer grant (`grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer`): a server
//! signs a short-lived assertion with the private key of a certificate uploaded to the
//! connected app and gets a session for the user it names, with no password and no refresh
//! token.
//!
//! The assertion must be RS256-signed by the key of the app's `certificate_pem` (an X.509
//! certificate or a public key PEM); `iss` is the consumer key, `sub` the username, `aud` the
//! login host, and `exp` in the future. Clients disagree on `exp`: simple-salesforce sends it
//! as a string, sfdx-core in milliseconds (`Date.now() + 300`), so both are accepted.
//! Deliberately not modelled: per-user pre-authorization ("user hasn't approved this consumer"
//! for a user the admin has not approved), Experience Cloud audiences, and `nbf`.

use std::collections::HashMap;

use axum::http::HeaderMap;
use forcebridge_wire::oauth::TokenResponse;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::Value as Json;

use super::token::token_response;
use super::{Grant, INVALID_CLIENT_ID, OAuthProblem, find_app, issue_access_token};
use crate::org::Org;

// The descriptions real orgs use: "invalid assertion" for a bad signature or a malformed
// token, "audience is invalid" for a wrong `aud`, and (a Salesforce quirk reported many times)
// "expired authorization code" for an assertion past its `exp`.
const INVALID_ASSERTION: OAuthProblem = ("invalid_grant", "invalid assertion");
const INVALID_AUDIENCE: OAuthProblem = ("invalid_grant", "audience is invalid");
const EXPIRED_ASSERTION: OAuthProblem = ("invalid_grant", "expired authorization code");
// UNVERIFIED: public reports say a `sub` naming no user of the org gets the same answer as a
// user who has not approved the app.
const UNKNOWN_SUBJECT: OAuthProblem = ("invalid_grant", "user hasn't approved this consumer");

/// How far past `exp` an assertion is still accepted, for clocks that disagree a little.
const CLOCK_SKEW_MILLIS: i64 = 60_000;

/// `exp` values above this are milliseconds: as seconds it would be after the year 5000.
const LARGEST_EXP_IN_SECONDS: i64 = 100_000_000_000;

/// The audiences every org accepts besides its own URL.
const LOGIN_AUDIENCES: [&str; 2] = [
    "https://login.salesforce.com",
    "https://test.salesforce.com",
];

/// Checks the assertion and issues an access token. Answers `access_token, scope,
/// instance_url, id, token_type` (no signature, no issue time, no refresh token).
pub(crate) fn jwt_bearer_grant(
    org: &Org,
    headers: &HeaderMap,
    params: &HashMap<String, String>,
) -> Result<TokenResponse, OAuthProblem> {
    let assertion = params.get("assertion").ok_or(INVALID_ASSERTION)?;
    // The issuer picks the key, so the claims are read once before the signature is checked;
    // nothing from them is trusted until `decode` below has verified it.
    let unverified: serde_json::Map<String, Json> =
        jsonwebtoken::dangerous::insecure_decode_claims(assertion)
            .map_err(|_| INVALID_ASSERTION)?;
    let issuer = unverified
        .get("iss")
        .and_then(Json::as_str)
        .ok_or(INVALID_ASSERTION)?;
    let app = find_app(org, issuer).ok_or(INVALID_CLIENT_ID)?;
    let Some(pem) = &app.certificate_pem else {
        tracing::info!(client_id = %app.client_id, "JWT assertion for an app without a certificate");
        return Err(INVALID_ASSERTION);
    };
    let key = match DecodingKey::from_rsa_pem(pem.as_bytes()) {
        Ok(key) => key,
        Err(e) => {
            tracing::warn!(client_id = %app.client_id, error = %e, "the app's certificate is not an RSA certificate or public key");
            return Err(INVALID_ASSERTION);
        }
    };
    // Only the signature and algorithm are left to the library: `exp` and `aud` follow
    // Salesforce's looser rules, checked below.
    let mut validation = Validation::new(Algorithm::RS256);
    validation.validate_exp = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    let claims =
        jsonwebtoken::decode::<serde_json::Map<String, Json>>(assertion, &key, &validation)
            .map_err(|_| INVALID_ASSERTION)?
            .claims;

    let audience_ok = match claims.get("aud") {
        Some(Json::String(aud)) => accepted_audience(org, headers, aud),
        Some(Json::Array(auds)) => auds
            .iter()
            .filter_map(Json::as_str)
            .any(|aud| accepted_audience(org, headers, aud)),
        _ => false,
    };
    if !audience_ok {
        return Err(INVALID_AUDIENCE);
    }
    let expires_at = claims
        .get("exp")
        .and_then(expiry_millis)
        .ok_or(INVALID_ASSERTION)?;
    if expires_at.saturating_add(CLOCK_SKEW_MILLIS) <= org.now() {
        return Err(EXPIRED_ASSERTION);
    }
    let subject = claims
        .get("sub")
        .and_then(Json::as_str)
        .ok_or(INVALID_ASSERTION)?;
    let user_index = org.user_index(subject).ok_or(UNKNOWN_SUBJECT)?;

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
    let mut body = token_response(issued);
    body.scope = Some("api".to_string());
    Ok(body)
}

/// Whether `aud` names a login host this org answers for: production or sandbox login, or the
/// org's own host. The own host is compared without scheme or path: simple-salesforce builds
/// `aud` as `https://{domain}.salesforce.com`, and the only way to point it at the local org is
/// a `domain` such as `localhost:8443/services/oauth2/token#`, which gives
/// `https://localhost:8443/services/oauth2/token#.salesforce.com`.
fn accepted_audience(org: &Org, headers: &HeaderMap, aud: &str) -> bool {
    if LOGIN_AUDIENCES.contains(&aud.trim_end_matches('/')) {
        return true;
    }
    let own = org.base_url(headers);
    let own_host = own.split_once("://").map_or(own.as_str(), |(_, host)| host);
    let Some((scheme, rest)) = aud.split_once("://") else {
        return false;
    };
    let aud_host = rest.split(['/', '#', '?']).next().unwrap_or("");
    matches!(scheme, "http" | "https") && aud_host.eq_ignore_ascii_case(own_host)
}

/// `exp` in epoch milliseconds, from a number or a numeric string, in seconds or milliseconds.
fn expiry_millis(exp: &Json) -> Option<i64> {
    let value = match exp {
        Json::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64))?,
        Json::String(s) => {
            let s = s.trim();
            s.parse::<i64>().ok().or_else(|| {
                s.parse::<f64>()
                    .ok()
                    .filter(|f| f.is_finite())
                    .map(|f| f as i64)
            })?
        }
        _ => return None,
    };
    if value > LARGEST_EXP_IN_SECONDS {
        Some(value)
    } else {
        Some(value.saturating_mul(1000))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn exp_is_read_as_seconds_or_milliseconds_from_numbers_or_strings() {
        assert_eq!(
            expiry_millis(&json!(1_700_000_000)),
            Some(1_700_000_000_000)
        );
        assert_eq!(expiry_millis(&json!("1700000000")), Some(1_700_000_000_000));
        assert_eq!(
            expiry_millis(&json!(1_700_000_000_300_i64)),
            Some(1_700_000_000_300)
        );
        assert_eq!(
            expiry_millis(&json!("1700000000300")),
            Some(1_700_000_000_300)
        );
        assert_eq!(
            expiry_millis(&json!(1_700_000_000.5)),
            Some(1_700_000_000_000)
        );
        assert_eq!(expiry_millis(&json!("soon")), None);
        assert_eq!(expiry_millis(&json!(null)), None);
    }
}
