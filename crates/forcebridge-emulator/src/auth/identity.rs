//! Who a token belongs to: `GET /services/oauth2/userinfo` (OpenID Connect), the identity URL
//! `GET /id/{orgId}/{userId}`, and OpenID discovery at `/.well-known/openid-configuration`.
//!
//! Both user endpoints read the User record as it is now, so a renamed user shows the new name.
//! Errors are what Salesforce's identity service sends: a short plain-text code with 403, 404
//! or 406 (`Bad_OAuth_Token`, `Bad_Id`, ...), not a REST error array. Only JSON bodies are
//! served: `format=xml` and `format=urlencoded` are answered in JSON, and JSONP `callback`s
//! are ignored.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use forcebridge_wire::identity::{Identity, IdentityStatus, Photos, UserInfo, UserInfoAddress};
use serde_json::json;

use super::form_urlencoded_pairs;
use super::session::Session;
use crate::http::{KeepErrorBody, bearer_token, ok_json};
use crate::ids::RecordId;
use crate::org::Org;
use crate::value::Value;
use crate::versions::{self, ApiVersion};

/// `GET` or `POST /services/oauth2/userinfo` with a bearer token: the token's user, in
/// OpenID Connect claims plus Salesforce's own.
pub(crate) async fn userinfo(
    State(org): State<Arc<Org>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let params = form_urlencoded_pairs(query.as_deref().unwrap_or("").as_bytes());
    let session = match caller(&org, &headers, &params) {
        Ok(session) => session,
        Err(code) => return identity_error(StatusCode::FORBIDDEN, code),
    };
    let Some(user) = UserProfile::load(&org, session.user) else {
        return identity_error(StatusCode::NOT_FOUND, "Bad_Id");
    };
    let base = org.base_url(&headers);
    let photos = photos(&base);
    let body = UserInfo {
        sub: super::identity_url(&org, &base, user.id),
        user_id: user.id.to_string(),
        organization_id: org.org_id.clone(),
        preferred_username: user.username.clone(),
        nickname: user.nickname.clone(),
        name: user.full_name(),
        email: user.email.clone(),
        email_verified: true,
        given_name: user.first_name.clone(),
        family_name: user.last_name.clone(),
        zoneinfo: user.time_zone.clone(),
        picture: photos.picture.clone(),
        photos,
        profile: format!("{base}/{}", user.id),
        address: UserInfoAddress {
            street_address: user.street.clone(),
            locality: user.city.clone(),
            region: user.state.clone(),
            postal_code: user.postal_code.clone(),
            country: user.country.clone(),
        },
        is_salesforce_integration_user: false,
        active: user.active,
        user_type: user.user_type.to_ascii_uppercase(),
        language: user.language.clone(),
        locale: user.locale.clone(),
        utc_offset: utc_offset_millis(&user.time_zone),
        // UNVERIFIED format: OpenID's `updated_at` as an ISO timestamp in UTC.
        updated_at: iso_seconds(user.last_modified),
        urls: identity_urls(&org, &base, user.id, None),
    };
    ok_json(&body)
}

/// `GET /id/{orgId}/{userId}` with the token in `Authorization` or `?oauth_token=`. Any user of
/// the org can be looked up with a token that has the `api` or `full` scope (as Salesforce's
/// documentation describes for internal users); other tokens see only their own user.
/// `version=NN.0` (or `latest`) fills the `{version}` placeholders of `urls`.
pub(crate) async fn identity(
    State(org): State<Arc<Org>>,
    Path((org_id, user_id)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let params = form_urlencoded_pairs(query.as_deref().unwrap_or("").as_bytes());
    let session = match caller(&org, &headers, &params) {
        Ok(session) => session,
        Err(code) => return identity_error(StatusCode::FORBIDDEN, code),
    };
    // The ids may have 15 or 18 characters; the first 15 decide (they are case-sensitive).
    let Some(org_key) = id_key(&org_id) else {
        return identity_error(StatusCode::NOT_FOUND, "Bad_Id");
    };
    if org_key != &org.org_id[..15] {
        return identity_error(StatusCode::FORBIDDEN, "Wrong_Org");
    }
    // Any User record of the org, not only the configured users who can log in.
    let Some(user) = RecordId::parse(&user_id).and_then(|id| UserProfile::load(&org, id)) else {
        return identity_error(StatusCode::NOT_FOUND, "Bad_Id");
    };
    let asserted_user = user.id == session.user;
    let broad = session.scopes.iter().any(|s| s == "api" || s == "full");
    if !asserted_user && !broad {
        return identity_error(StatusCode::NOT_FOUND, "No_Access");
    }
    let version = match params.get("version").map(String::as_str) {
        None => None,
        Some("latest") => Some(ApiVersion(versions::MAX_VERSION)),
        Some(text) => match ApiVersion::parse(text) {
            Some(version) => Some(version),
            None => return identity_error(StatusCode::NOT_ACCEPTABLE, "Invalid_Version"),
        },
    };
    let base = org.base_url(&headers);
    let body = Identity {
        id: super::identity_url(&org, &base, user.id),
        asserted_user,
        user_id: user.id.to_string(),
        organization_id: org.org_id.clone(),
        username: user.username.clone(),
        nick_name: user.nickname.clone(),
        display_name: user.full_name(),
        email: user.email.clone(),
        email_verified: true,
        first_name: user.first_name.clone(),
        last_name: user.last_name.clone(),
        timezone: user.time_zone.clone(),
        photos: photos(&base),
        addr_street: user.street.clone(),
        addr_city: user.city.clone(),
        addr_state: user.state.clone(),
        addr_country: user.country.clone(),
        addr_zip: user.postal_code.clone(),
        mobile_phone: user.mobile_phone.clone(),
        mobile_phone_verified: false,
        is_lightning_login_user: false,
        status: IdentityStatus::default(),
        active: user.active,
        user_type: user.user_type.to_ascii_uppercase(),
        language: user.language.clone(),
        locale: user.locale.clone(),
        utc_offset: utc_offset_millis(&user.time_zone),
        last_modified_date: iso_millis(user.last_modified),
        urls: identity_urls(&org, &base, user.id, version),
    };
    ok_json(&body)
}

/// `GET /.well-known/openid-configuration`: where this org's OAuth endpoints are. Lists only
/// what the org serves (no `jwks_uri` or introspection: it issues no ID tokens).
pub(crate) async fn openid_configuration(
    State(org): State<Arc<Org>>,
    headers: HeaderMap,
) -> Response {
    let base = org.base_url(&headers);
    ok_json(&json!({
        "issuer": base,
        "authorization_endpoint": format!("{base}/services/oauth2/authorize"),
        "token_endpoint": format!("{base}/services/oauth2/token"),
        "revocation_endpoint": format!("{base}/services/oauth2/revoke"),
        "userinfo_endpoint": format!("{base}/services/oauth2/userinfo"),
        "response_types_supported": ["code", "token"],
        "grant_types_supported": [
            "authorization_code",
            "refresh_token",
            "password",
            "client_credentials",
            super::token::JWT_BEARER_GRANT,
        ],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "scopes_supported": [
            "id", "api", "web", "full", "chatter_api", "visualforce", "refresh_token",
            "openid", "profile", "email", "address", "phone", "offline_access",
        ],
        "claims_supported": [
            "active", "address", "email", "email_verified", "family_name", "given_name",
            "is_app_installed", "language", "locale", "name", "nickname", "organization_id",
            "phone_number", "phone_number_verified", "photos", "picture", "preferred_username",
            "profile", "sub", "updated_at", "urls", "user_id", "user_type", "zoneinfo",
        ],
        "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic", "private_key_jwt"],
        "code_challenge_methods_supported": ["S256"],
        "display_values_supported": ["page", "popup", "touch"],
    }))
}

/// The session behind the request's token (`Authorization` header, or `oauth_token` in the
/// query), or the code of the identity service's 403.
fn caller(
    org: &Org,
    headers: &HeaderMap,
    params: &HashMap<String, String>,
) -> Result<Session, &'static str> {
    let token = bearer_token(headers).or_else(|| params.get("oauth_token").map(String::as_str));
    let Some(token) = token.filter(|t| !t.is_empty()) else {
        return Err("Missing_OAuth_Token");
    };
    org.sessions
        .check(token, org.now())
        .map_err(|_| "Bad_OAuth_Token")
}

/// An identity-service error: a plain-text code, as Salesforce answers (a Drupal module's
/// issue 3191597 shows `403 Forbidden` with the body `Bad_OAuth_Token`). The codes other than
/// `Bad_OAuth_Token` are from Salesforce's identity URL documentation, UNVERIFIED on the wire.
fn identity_error(status: StatusCode, code: &'static str) -> Response {
    let mut response = (status, code).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain;charset=UTF-8"),
    );
    response.extensions_mut().insert(KeepErrorBody);
    response
}

/// The first 15 characters of a 15- or 18-character id.
fn id_key(id: &str) -> Option<&str> {
    (matches!(id.len(), 15 | 18) && id.bytes().all(|b| b.is_ascii_alphanumeric()))
        .then(|| &id[..15])
}

/// The user as the identity endpoints and SOAP login describe it, read from the User record.
pub(crate) struct UserProfile {
    pub id: RecordId,
    pub username: String,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub nickname: String,
    pub active: bool,
    pub time_zone: String,
    pub locale: String,
    pub language: String,
    /// `Standard` (the identity endpoints upper-case it).
    pub user_type: String,
    pub last_modified: i64,
    pub street: Option<String>,
    pub city: Option<String>,
    pub state: Option<String>,
    pub postal_code: Option<String>,
    pub country: Option<String>,
    pub mobile_phone: Option<String>,
}

impl UserProfile {
    /// The User record with this id as it is now; `None` if it is gone.
    pub(crate) fn load(org: &Org, id: RecordId) -> Option<UserProfile> {
        let snapshot = org.store.snapshot();
        let schema = snapshot.schema();
        let (object, _, row) = snapshot.find(schema, id)?;
        let def = schema.object(object);
        if def.name != "User" {
            return None;
        }
        let value = |name: &str| -> Option<&Value> {
            let column = def.field(name)?.1.column()?;
            row.get(column)
        };
        let text = |name: &str| -> Option<String> {
            value(name)
                .and_then(Value::as_text)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        let last_modified = match row.get(def.system.last_modified_date) {
            Some(Value::DateTime(millis)) => *millis,
            _ => org.started_at,
        };
        Some(UserProfile {
            id,
            username: text("Username").unwrap_or_default(),
            first_name: text("FirstName").unwrap_or_default(),
            last_name: text("LastName").unwrap_or_default(),
            email: text("Email").unwrap_or_default(),
            nickname: text("CommunityNickname").unwrap_or_default(),
            active: value("IsActive").and_then(Value::as_bool).unwrap_or(true),
            time_zone: text("TimeZoneSidKey").unwrap_or_else(|| "America/Los_Angeles".into()),
            locale: text("LocaleSidKey").unwrap_or_else(|| "en_US".into()),
            language: text("LanguageLocaleKey").unwrap_or_else(|| "en_US".into()),
            user_type: text("UserType").unwrap_or_else(|| "Standard".into()),
            last_modified,
            street: text("Street"),
            city: text("City"),
            state: text("State"),
            postal_code: text("PostalCode"),
            country: text("Country"),
            mobile_phone: text("MobilePhone"),
        })
    }

    /// `First Last`, or just the last name.
    pub(crate) fn full_name(&self) -> String {
        if self.first_name.is_empty() {
            self.last_name.clone()
        } else {
            format!("{} {}", self.first_name, self.last_name)
        }
    }
}

/// The default profile photo URLs Salesforce hands out for a user without a photo.
fn photos(base: &str) -> Photos {
    Photos {
        picture: format!("{base}/profilephoto/005/F"),
        thumbnail: format!("{base}/profilephoto/005/T"),
    }
}

/// The `urls` map of userinfo and the identity URL, with `{version}` left as a placeholder
/// unless a version was asked for. SOAP endpoints carry the 15-character org id, as in real
/// responses. Some of these (Chatter, recent items) are not served by the local org; they are
/// listed because clients expect every key.
fn identity_urls(
    org: &Org,
    base: &str,
    user: RecordId,
    version: Option<ApiVersion>,
) -> BTreeMap<String, String> {
    let v = version.map_or_else(|| "{version}".to_string(), ApiVersion::number);
    let org15 = &org.org_id[..15];
    let data = format!("{base}/services/data/v{v}");
    [
        ("enterprise", format!("{base}/services/Soap/c/{v}/{org15}")),
        ("metadata", format!("{base}/services/Soap/m/{v}/{org15}")),
        ("partner", format!("{base}/services/Soap/u/{v}/{org15}")),
        ("rest", format!("{data}/")),
        ("sobjects", format!("{data}/sobjects/")),
        ("search", format!("{data}/search/")),
        ("query", format!("{data}/query/")),
        ("recent", format!("{data}/recent/")),
        (
            "tooling_soap",
            format!("{base}/services/Soap/T/{v}/{org15}"),
        ),
        ("tooling_rest", format!("{data}/tooling/")),
        ("profile", format!("{base}/{user}")),
        ("feeds", format!("{data}/chatter/feeds")),
        ("groups", format!("{data}/chatter/groups")),
        ("users", format!("{data}/chatter/users")),
        ("feed_items", format!("{data}/chatter/feed-items")),
        ("feed_elements", format!("{data}/chatter/feed-elements")),
        ("custom_domain", base.to_string()),
    ]
    .into_iter()
    .map(|(name, url)| (name.to_string(), url))
    .collect()
}

/// The standard (not daylight-saving) offset of the time zones a User may have, in
/// milliseconds, as Salesforce reports `utcOffset`.
fn utc_offset_millis(time_zone: &str) -> i64 {
    const HOUR: i64 = 3_600_000;
    match time_zone {
        "America/Los_Angeles" => -8 * HOUR,
        "America/Denver" => -7 * HOUR,
        "America/Chicago" => -6 * HOUR,
        "America/New_York" => -5 * HOUR,
        "Europe/Paris" | "Europe/Berlin" => HOUR,
        "Asia/Kolkata" => 11 * HOUR / 2,
        "Asia/Tokyo" => 9 * HOUR,
        "Australia/Sydney" => 10 * HOUR,
        _ => 0,
    }
}

/// `2024-01-15T10:30:00.000Z`, the identity URL's date form.
fn iso_millis(millis: i64) -> String {
    crate::value::naive_datetime(millis)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
        .unwrap_or_default()
}

/// `2024-01-15T10:30:00Z`, OpenID's form.
fn iso_seconds(millis: i64) -> String {
    crate::value::naive_datetime(millis)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_match_on_their_first_15_characters() {
        assert_eq!(id_key("00DRO0000000001AAA"), Some("00DRO0000000001"));
        assert_eq!(id_key("00DRO0000000001"), Some("00DRO0000000001"));
        assert_eq!(id_key("00DRO00000000"), None);
        assert_eq!(id_key("00DRO0000000001A/A"), None);
    }

    #[test]
    fn dates_have_the_identity_and_openid_forms() {
        assert_eq!(iso_millis(1_700_000_000_123), "2023-11-14T22:13:20.123Z");
        assert_eq!(iso_seconds(1_700_000_000_123), "2023-11-14T22:13:20Z");
    }
}
