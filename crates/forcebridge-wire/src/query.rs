//! Query and search results.

use serde::{Deserialize, Serialize};

/// A page of query results. `nextRecordsUrl` is present only while `done` is false.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueryResult<R> {
    pub total_size: u64,
    pub done: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_records_url: Option<String>,
    pub records: Vec<R>,
}

/// The `attributes` member of every record: its type and, for real records, its URL.
/// Aggregate rows have `{"type":"AggregateResult"}` with no `url`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attributes {
    #[serde(rename = "type")]
    pub sobject_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// The body of `GET /search?q=` (API 36.0 and later).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchResult<R> {
    pub search_records: Vec<R>,
}
