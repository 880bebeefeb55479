//! Bulk API 2.0 job bodies (`/jobs/ingest`, `/jobs/query`).

use serde::{Deserialize, Serialize};

/// The header of a query results page that says where the next page starts: an opaque locator,
/// or the literal `null` on the last page.
pub const LOCATOR_HEADER: &str = "Sforce-Locator";

/// The header of a query results page that says how many rows it holds.
pub const NUMBER_OF_RECORDS_HEADER: &str = "Sforce-NumberOfRecords";

/// The value [`LOCATOR_HEADER`] has on the last page.
pub const LAST_PAGE_LOCATOR: &str = "null";

/// `POST /jobs/ingest`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateIngestJob {
    pub object: String,
    pub operation: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id_field_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line_ending: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column_delimiter: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignment_rule_id: Option<String>,
}

/// `POST /jobs/query`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateQueryJob {
    pub operation: String,
    pub query: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column_delimiter: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line_ending: Option<String>,
}

/// `PATCH /jobs/{ingest|query}/{id}`: `{"state":"UploadComplete"}` or `{"state":"Aborted"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobStateChange {
    pub state: String,
}

/// Job info for ingest and query jobs. Counters appear once the job has been processed; members
/// that do not apply to a job are omitted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobInfo {
    pub id: String,
    pub operation: String,
    pub object: String,
    pub created_by_id: String,
    pub created_date: String,
    pub system_modstamp: String,
    pub state: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id_field_name: Option<String>,
    pub concurrency_mode: String,
    pub content_type: String,
    pub api_version: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_type: Option<String>,
    pub line_ending: String,
    pub column_delimiter: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number_records_processed: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number_records_failed: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retries: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_processing_time: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_active_processing_time: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub apex_processing_time: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_pk_chunking_supported: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
}

/// `GET /jobs/ingest` and `GET /jobs/query`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobList {
    pub done: bool,
    pub records: Vec<JobInfo>,
    pub next_records_url: Option<String>,
}

/// The states a Bulk job moves through, as Salesforce names them in `state`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobState {
    /// An ingest job that accepts uploads; it does nothing until it is closed.
    Open,
    /// Closed (ingest) or created (query): waiting to be processed.
    UploadComplete,
    /// Being processed.
    InProgress,
    /// Finished; results can be read. Individual ingest rows may still have failed.
    JobComplete,
    /// The job as a whole failed (see `errorMessage`).
    Failed,
    /// Stopped by a caller before it finished.
    Aborted,
}

impl JobState {
    pub const ALL: [JobState; 6] = [
        JobState::Open,
        JobState::UploadComplete,
        JobState::InProgress,
        JobState::JobComplete,
        JobState::Failed,
        JobState::Aborted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Open => "Open",
            JobState::UploadComplete => "UploadComplete",
            JobState::InProgress => "InProgress",
            JobState::JobComplete => "JobComplete",
            JobState::Failed => "Failed",
            JobState::Aborted => "Aborted",
        }
    }

    /// The state named `text`, if it is one of Salesforce's.
    pub fn parse(text: &str) -> Option<JobState> {
        JobState::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// Whether the job will not change any more.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            JobState::JobComplete | JobState::Failed | JobState::Aborted
        )
    }
}

impl std::fmt::Display for JobState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl JobInfo {
    /// The job's `state`; `None` for a state this crate does not know.
    pub fn job_state(&self) -> Option<JobState> {
        JobState::parse(&self.state)
    }
}
