//! Error bodies: REST errors (a JSON array of `{message, errorCode, fields}`) and the per-record
//! errors inside sObject Collections and Tree results (`statusCode` instead of `errorCode`).

use serde::{Deserialize, Serialize};

/// One element of a REST error body. The body itself is always a JSON array of these.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiError {
    pub message: String,
    pub error_code: String,
    /// The fields the error is about; absent for errors that are not about fields.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fields: Option<Vec<String>>,
}

impl ApiError {
    pub fn new(error_code: impl Into<String>, message: impl Into<String>) -> ApiError {
        ApiError {
            message: message.into(),
            error_code: error_code.into(),
            fields: None,
        }
    }
}

/// A per-record error inside a SaveResult (collections, tree, bulk): the code is `statusCode`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordError {
    pub status_code: String,
    pub message: String,
    #[serde(default)]
    pub fields: Vec<String>,
}
