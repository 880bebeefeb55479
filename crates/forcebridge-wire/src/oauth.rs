//! OAuth 2.0 token endpoint bodies (`/services/oauth2/token`, `/services/oauth2/revoke`).

use serde::{Deserialize, Serialize};

/// A successful token response. Which members are present depends on the grant: the password
/// grant has no refresh token and no scope; the web-server flow adds `refresh_token`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenResponse {
    pub access_token: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    pub instance_url: String,
    /// The identity URL: `https://<login host>/id/<orgId>/<userId>`.
    pub id: String,
    pub token_type: String,
    /// Milliseconds since the epoch, as a string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issued_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_instance_url: Option<String>,
}

impl std::fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenResponse")
            .field("access_token", &"<redacted>")
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| "<redacted>"),
            )
            .field("scope", &self.scope)
            .field("instance_url", &self.instance_url)
            .field("id", &self.id)
            .field("token_type", &self.token_type)
            .field("issued_at", &self.issued_at)
            .finish_non_exhaustive()
    }
}

/// An OAuth error: a JSON object (not an array), sent with HTTP 400.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OAuthError {
    pub error: String,
    pub error_description: String,
}

impl OAuthError {
    pub fn new(error: impl Into<String>, description: impl Into<String>) -> OAuthError {
        OAuthError {
            error: error.into(),
            error_description: description.into(),
        }
    }
}

/// The PKCE `S256` transform (RFC 7636): base64url, without padding, of the SHA-256 of the
/// code verifier. The client sends it as `code_challenge`; the org checks the verifier by it.
pub fn pkce_s256_challenge(verifier: &str) -> String {
    use base64::Engine;
    use sha2::Digest;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha2::Sha256::digest(verifier.as_bytes()))
}

#[cfg(test)]
mod pkce_tests {
    #[test]
    fn the_s256_transform_matches_rfc_7636() {
        // RFC 7636, appendix B.
        assert_eq!(
            super::pkce_s256_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }
}
