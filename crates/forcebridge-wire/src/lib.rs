//! The Salesforce wire formats as serde types: what goes over HTTP between a client and an org.
//!
//! Both `forcebridge-client` and `forcebridge-emulator` use these types, so the two agree byte
//! for byte on every JSON shape. Field names follow Salesforce's own spelling through
//! `#[serde(rename_all = "camelCase")]` or explicit renames; optional members that Salesforce
//! omits (rather than sending `null`) are skipped when `None`.
//!
//! This crate holds data only: no IO, no HTTP, no behaviour beyond small constructors and the
//! pure functions both ends must compute alike (the PKCE transform, escaping text for the OAuth
//! flows' HTML pages, the record-id checksum). Record
//! bodies are `serde_json::Map`s here; hot paths (query pages, bulk CSV) are written and read by
//! hand in the crates that need the speed.

pub mod bulk;
pub mod composite;
pub mod describe;
pub mod error;
pub mod id;
pub mod identity;
pub mod limits;
pub mod oauth;
pub mod query;
pub mod records;
pub mod text;
pub mod versions;

/// A JSON object: the body of a record, a sub-request, and so on.
pub type JsonObject = serde_json::Map<String, serde_json::Value>;

/// The content type Salesforce sends with every JSON response, exactly as it spells it.
pub const JSON_CONTENT_TYPE: &str = "application/json;charset=UTF-8";

/// The header that reports API usage on every REST response: `api-usage=18/5000`.
pub const LIMIT_INFO_HEADER: &str = "Sforce-Limit-Info";
