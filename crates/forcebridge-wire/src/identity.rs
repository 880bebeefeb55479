//! The identity URL (`/id/{orgId}/{userId}`) and OpenID Connect userinfo bodies.
//!
//! Members a real org sends as `null` (an empty address line, no mobile phone) are `Option`s
//! that serialize as `null`, not skipped. Members added after the first version of these types
//! default when absent, so older captured bodies still parse.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// `GET /services/oauth2/userinfo`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserInfo {
    pub sub: String,
    pub user_id: String,
    pub organization_id: String,
    pub preferred_username: String,
    pub nickname: String,
    pub name: String,
    pub email: String,
    pub email_verified: bool,
    pub given_name: String,
    pub family_name: String,
    pub zoneinfo: String,
    #[serde(default)]
    pub photos: Photos,
    /// The user's profile page: `{host}/{userId}`.
    #[serde(default)]
    pub profile: String,
    /// Same as `photos.picture`.
    #[serde(default)]
    pub picture: String,
    #[serde(default)]
    pub address: UserInfoAddress,
    #[serde(default)]
    pub is_salesforce_integration_user: bool,
    pub active: bool,
    pub user_type: String,
    pub language: String,
    pub locale: String,
    #[serde(rename = "utcOffset")]
    pub utc_offset: i64,
    pub updated_at: String,
    pub urls: BTreeMap<String, String>,
}

/// `GET /id/{orgId}/{userId}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Identity {
    pub id: String,
    /// Whether the token used is the queried user's own.
    pub asserted_user: bool,
    pub user_id: String,
    pub organization_id: String,
    pub username: String,
    pub nick_name: String,
    pub display_name: String,
    pub email: String,
    pub email_verified: bool,
    pub first_name: String,
    pub last_name: String,
    pub timezone: String,
    #[serde(default)]
    pub photos: Photos,
    #[serde(default)]
    pub addr_street: Option<String>,
    #[serde(default)]
    pub addr_city: Option<String>,
    #[serde(default)]
    pub addr_state: Option<String>,
    #[serde(default)]
    pub addr_country: Option<String>,
    #[serde(default)]
    pub addr_zip: Option<String>,
    #[serde(default)]
    pub mobile_phone: Option<String>,
    #[serde(default)]
    pub mobile_phone_verified: bool,
    #[serde(default)]
    pub is_lightning_login_user: bool,
    #[serde(default)]
    pub status: IdentityStatus,
    pub active: bool,
    pub user_type: String,
    pub language: String,
    pub locale: String,
    #[serde(rename = "utcOffset")]
    pub utc_offset: i64,
    pub last_modified_date: String,
    pub urls: BTreeMap<String, String>,
}

/// A user's profile photo URLs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Photos {
    pub picture: String,
    pub thumbnail: String,
}

/// The user's latest Chatter status; both members are `null` when there is none.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentityStatus {
    pub created_date: Option<String>,
    pub body: Option<String>,
}

/// The OpenID Connect address claim; Salesforce fills only what the user record has.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserInfoAddress {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub street_address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locality: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
}
