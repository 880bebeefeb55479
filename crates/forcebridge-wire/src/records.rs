//! sObject write results and the replication resources (`updated`, `deleted`).

use serde::{Deserialize, Serialize};

use crate::error::RecordError;

/// The body of a successful create (`POST /sobjects/{Type}`): `{"id","success":true,"errors":[]}`.
/// Inside sObject Collections the same shape reports each record, with `id` omitted on failure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SaveResult {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub success: bool,
    #[serde(default)]
    pub errors: Vec<RecordError>,
}

/// An upsert result: a SaveResult that says whether the record was created. Salesforce writes
/// `created` last (`{"id","success","errors","created"}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpsertResult {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub success: bool,
    #[serde(default)]
    pub errors: Vec<RecordError>,
    pub created: bool,
}

/// `GET /sobjects/{Type}/updated/?start=&end=`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdatedResult {
    pub ids: Vec<String>,
    pub latest_date_covered: String,
}

/// `GET /sobjects/{Type}/deleted/?start=&end=`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeletedResult {
    pub deleted_records: Vec<DeletedRecord>,
    pub earliest_date_available: String,
    pub latest_date_covered: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeletedRecord {
    pub id: String,
    pub deleted_date: String,
}

/// `GET /limits/recordCount`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordCounts {
    #[serde(rename = "sObjects")]
    pub sobjects: Vec<RecordCount>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordCount {
    pub count: u64,
    pub name: String,
}
