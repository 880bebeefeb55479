//! What a run did and what the destination holds: the run summary ([`RunSummary`]), the
//! per-object status ([`ObjectStatus`]). These are the crate's serde boundary for reports
//! (`--json`); they hold no secrets.

use std::time::Duration;

use serde::Serialize;

/// How a run, or one object of it, ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Everything up to the window's end is in the destination.
    Success,
    /// The API budget was reached: the run stopped at its last checkpoint, and the next run
    /// continues from there. Never reported as success.
    BudgetExhausted,
    /// The object failed; the error is in the summary and the runs table.
    Failed,
}

impl Outcome {
    /// `success`, `budget_exhausted` or `failed`, as the runs table stores it.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::BudgetExhausted => "budget_exhausted",
            Outcome::Failed => "failed",
        }
    }
}

/// What one run did.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct RunSummary {
    /// The run's id in the runs table.
    pub run_id: i64,
    /// The worst outcome of any object.
    pub outcome: Outcome,
    /// API requests the run sent (retries included).
    pub api_calls: u64,
    #[serde(serialize_with = "seconds")]
    pub duration: Duration,
    /// The destination, without any password.
    pub destination: String,
    pub objects: Vec<ObjectSummary>,
}

/// What one run did to one object.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct ObjectSummary {
    pub object: String,
    pub inserted: u64,
    pub updated: u64,
    pub deleted: u64,
    /// API requests made for this object (its queries, its reconciliation and its refreshes;
    /// the run's shared describe and delete-log calls are counted in the run only).
    pub api_calls: u64,
    /// API requests spent comparing Id sets (R7), part of `api_calls`.
    pub reconcile_api_calls: u64,
    /// Columns added this run (schema drift), each backfilled.
    pub columns_added: Vec<String>,
    /// Columns whose field the org no longer has (kept, marked removed).
    pub columns_removed: Vec<String>,
    /// Whether Id sets were compared (R7) and why.
    pub reconciled: Option<String>,
    /// Whether formula fields were re-read (R8).
    pub formulas_refreshed: bool,
    /// How the rows were read: `rest`, `bulk` (a first load through a Bulk API 2.0 job),
    /// `rest-full` or `none`.
    pub read_with: String,
    #[serde(serialize_with = "seconds")]
    pub duration: Duration,
    /// The cursor after the run: the last `(SystemModstamp, Id)` committed.
    pub cursor: Option<Cursor>,
    pub outcome: Outcome,
    /// The error, for a failed object.
    pub error: Option<String>,
}

/// Where an object's incremental reading stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Cursor {
    /// `SystemModstamp` of the last row committed, UTC with milliseconds.
    pub system_modstamp: String,
    /// Its `Id`.
    pub id: String,
}

/// One object's state in the destination (`forcebridge sync status`).
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct ObjectStatus {
    pub object: String,
    pub cursor: Option<Cursor>,
    /// Whether the first full load has completed.
    pub loaded: bool,
    /// Rows in the table (deleted ones included in soft mode).
    pub rows: u64,
    /// Rows marked deleted.
    pub deleted_rows: u64,
    /// The latest run that touched the object: when it ended and how.
    pub last_run_at: Option<String>,
    pub last_outcome: Option<String>,
    pub last_error: Option<String>,
}

fn seconds<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64((d.as_secs_f64() * 1000.0).round() / 1000.0)
}
