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

/// The body of `GET /query?q=...&columns=true`: the columns a query returns, described, with
/// no records. Tools that print query results (the Salesforce CLI's `sf data query`, Jetstream)
/// ask for it to decide their table's columns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueryColumns {
    pub column_metadata: Vec<QueryColumn>,
    /// The queried object.
    pub entity_name: String,
    /// Whether the query has a GROUP BY clause.
    pub group_by: bool,
    /// Whether the top-level SELECT names `Id`.
    pub id_selected: bool,
    pub key_prefix: Option<String>,
}

/// One column of [`QueryColumns`]: a field, a parent relationship (its selected fields in
/// `join_columns`), a child subquery (`aggregate` true, its fields in `join_columns`), or an
/// aggregate function (`aggregate` true, `expr0`-style or aliased `column_name`, the call in
/// `display_name`). Every member is always present; `apex_type` and `foreign_key_name` may be
/// null.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueryColumn {
    pub aggregate: bool,
    pub apex_type: Option<String>,
    pub boolean_type: bool,
    pub column_name: String,
    pub custom: bool,
    pub display_name: String,
    pub foreign_key_name: Option<String>,
    pub insertable: bool,
    pub join_columns: Vec<QueryColumn>,
    pub number_type: bool,
    pub text_type: bool,
    pub updatable: bool,
}

/// The body of `GET /search?q=` (API 36.0 and later).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchResult<R> {
    pub search_records: Vec<R>,
}
