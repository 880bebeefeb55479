//! The composite family: `/composite`, `/composite/batch`, `/composite/tree/{Type}` and sObject
//! Collections (`/composite/sobjects`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::JsonObject;

/// `POST /composite`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CompositeRequest {
    #[serde(default)]
    pub all_or_none: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collate_subrequests: Option<bool>,
    pub composite_request: Vec<CompositeSubrequest>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CompositeSubrequest {
    pub method: String,
    pub url: String,
    pub reference_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_headers: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CompositeResponse {
    pub composite_response: Vec<CompositeSubresponse>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CompositeSubresponse {
    pub body: serde_json::Value,
    pub http_headers: BTreeMap<String, String>,
    pub http_status_code: u16,
    pub reference_id: String,
}

/// `POST /composite/batch`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchRequest {
    #[serde(default)]
    pub halt_on_error: bool,
    pub batch_requests: Vec<BatchSubrequest>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchSubrequest {
    pub method: String,
    pub url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rich_input: Option<serde_json::Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchResponse {
    pub has_errors: bool,
    pub results: Vec<BatchSubresponse>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchSubresponse {
    pub status_code: u16,
    pub result: serde_json::Value,
}

/// `POST /composite/tree/{Type}`: records with nested child records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TreeRequest {
    pub records: Vec<JsonObject>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TreeResponse {
    pub has_errors: bool,
    pub results: Vec<TreeResult>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TreeResult {
    pub reference_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<crate::error::RecordError>>,
}

/// The body of collection create, update and upsert: `{"allOrNone":false,"records":[...]}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CollectionRequest {
    #[serde(default)]
    pub all_or_none: bool,
    pub records: Vec<JsonObject>,
}

/// The body of `POST /composite/sobjects/{Type}` (retrieve by ids).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CollectionRetrieveRequest {
    pub ids: Vec<String>,
    pub fields: Vec<String>,
}
