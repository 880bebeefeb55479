//! Bulk API 2.0: ingest jobs (`/jobs/ingest`) and query jobs (`/jobs/query`).
//!
//! Jobs live in memory with their uploaded CSV and their results. Ingest jobs are processed in
//! the background after `UploadComplete`, record by record (Bulk is not all-or-none: each record
//! succeeds or fails alone), in transactions of a few thousand records so other writers are not
//! held up. Query jobs run their query against a snapshot and stream result pages from it, so a
//! million-row result is never held in memory as text.

mod ingest;
mod query;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::routing::{get, put};
use forcebridge_wire::bulk::JobInfo;

use crate::api_error::ApiFailure;
use crate::ids::RecordId;
use crate::org::Org;

pub(crate) use ingest::IngestJob;
pub(crate) use query::QueryJob;

pub(crate) use forcebridge_wire::bulk::JobState;

/// The CSV dialect of a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CsvFormat {
    pub delimiter: u8,
    /// `LF` or `CRLF`.
    pub crlf: bool,
}

impl CsvFormat {
    /// Reads `columnDelimiter` and `lineEnding` as the job request spells them.
    pub(crate) fn parse(
        delimiter: Option<&str>,
        line_ending: Option<&str>,
    ) -> Result<CsvFormat, ApiFailure> {
        let delimiter = match delimiter.unwrap_or("COMMA") {
            "COMMA" => b',',
            "TAB" => b'\t',
            "PIPE" => b'|',
            "SEMICOLON" => b';',
            "CARET" => b'^',
            "BACKQUOTE" => b'`',
            other => {
                return Err(ApiFailure::bad_request(
                    "INVALIDJOB",
                    format!(
                        "Invalid columnDelimiter: {other}; use COMMA, TAB, PIPE, SEMICOLON, CARET or BACKQUOTE"
                    ),
                ));
            }
        };
        let crlf = match line_ending.unwrap_or("LF") {
            "LF" => false,
            "CRLF" => true,
            other => {
                return Err(ApiFailure::bad_request(
                    "INVALIDJOB",
                    format!("Invalid lineEnding: {other}; use LF or CRLF"),
                ));
            }
        };
        Ok(CsvFormat { delimiter, crlf })
    }

    pub(crate) fn delimiter_name(self) -> &'static str {
        match self.delimiter {
            b'\t' => "TAB",
            b'|' => "PIPE",
            b';' => "SEMICOLON",
            b'^' => "CARET",
            b'`' => "BACKQUOTE",
            _ => "COMMA",
        }
    }

    pub(crate) fn line_ending(self) -> &'static str {
        if self.crlf { "\r\n" } else { "\n" }
    }
}

/// The org's Bulk jobs.
#[derive(Debug, Default)]
pub(crate) struct Jobs {
    inner: Mutex<JobsInner>,
    /// Jobs being processed in the background right now.
    running: AtomicUsize,
    /// Woken when the last running job finishes.
    idle: tokio::sync::Notify,
}

/// A job being processed in the background; dropping it (when the work ends, however it
/// ends) counts the job as finished.
#[derive(Debug)]
pub(crate) struct Running(Arc<Org>);

impl Drop for Running {
    fn drop(&mut self) {
        let jobs = &self.0.jobs;
        if jobs.running.fetch_sub(1, Ordering::SeqCst) == 1 {
            jobs.idle.notify_waiters();
        }
    }
}

#[derive(Debug, Default)]
struct JobsInner {
    next_number: u64,
    ingest: HashMap<String, Arc<IngestJob>>,
    query: HashMap<String, Arc<QueryJob>>,
    /// (UTC day, ingest jobs, query jobs) created that day, for `/limits`.
    today: (i64, u64, u64),
}

/// Jobs created today, for `/limits`.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct JobCounts {
    pub ingest_today: u64,
    pub query_today: u64,
}

impl Jobs {
    fn lock(&self) -> std::sync::MutexGuard<'_, JobsInner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Counts a job of `org` as running until the returned guard is dropped. Taken before the
    /// request that starts the work answers, so a caller that waits for [`Jobs::settled`]
    /// after that answer never misses it.
    pub(crate) fn start(org: &Arc<Org>) -> Running {
        org.jobs.running.fetch_add(1, Ordering::SeqCst);
        Running(org.clone())
    }

    /// Waits until no job is being processed.
    pub(crate) async fn settled(&self) {
        loop {
            let notified = self.idle.notified();
            let mut notified = std::pin::pin!(notified);
            notified.as_mut().enable();
            if self.running.load(Ordering::SeqCst) == 0 {
                return;
            }
            notified.await;
        }
    }

    pub(crate) fn counts(&self) -> JobCounts {
        let inner = self.lock();
        JobCounts {
            ingest_today: inner.today.1,
            query_today: inner.today.2,
        }
    }

    /// A new job id (key prefix 750) and a tick of today's counter.
    fn new_id(&self, now: i64, ingest: bool) -> String {
        let mut inner = self.lock();
        inner.next_number += 1;
        let day = now.div_euclid(86_400_000);
        if inner.today.0 != day {
            inner.today = (day, 0, 0);
        }
        if ingest {
            inner.today.1 += 1;
        } else {
            inner.today.2 += 1;
        }
        RecordId::new("750", inner.next_number).to_string()
    }

    fn ingest(&self, id: &str) -> Option<Arc<IngestJob>> {
        self.lock().ingest.get(id).cloned()
    }

    fn query(&self, id: &str) -> Option<Arc<QueryJob>> {
        self.lock().query.get(id).cloned()
    }
}

/// 404 for a job id that does not exist.
fn unknown_job() -> ApiFailure {
    ApiFailure::new(
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
        "The requested resource does not exist",
    )
}

/// Job info fields common to ingest and query jobs.
fn base_info(
    id: &str,
    operation: &str,
    object: &str,
    user: RecordId,
    created: i64,
    version: f64,
    format: CsvFormat,
) -> JobInfo {
    JobInfo {
        id: id.to_string(),
        operation: operation.to_string(),
        object: object.to_string(),
        created_by_id: user.to_string(),
        created_date: crate::value::format_datetime(created),
        system_modstamp: crate::value::format_datetime(created),
        state: JobState::Open.as_str().to_string(),
        external_id_field_name: None,
        concurrency_mode: "Parallel".to_string(),
        content_type: "CSV".to_string(),
        api_version: version,
        content_url: None,
        job_type: None,
        line_ending: if format.crlf { "CRLF" } else { "LF" }.to_string(),
        column_delimiter: format.delimiter_name().to_string(),
        number_records_processed: None,
        number_records_failed: None,
        retries: None,
        total_processing_time: None,
        api_active_processing_time: None,
        apex_processing_time: None,
        is_pk_chunking_supported: None,
        error_message: None,
    }
}

pub(crate) fn routes() -> Router<Arc<Org>> {
    Router::new()
        .route(
            "/services/data/{version}/jobs/ingest",
            get(ingest::list).post(ingest::create),
        )
        .route(
            "/services/data/{version}/jobs/ingest/{id}",
            get(ingest::info)
                .patch(ingest::change_state)
                .delete(ingest::delete),
        )
        .route(
            "/services/data/{version}/jobs/ingest/{id}/batches",
            put(ingest::upload).layer(DefaultBodyLimit::max(crate::http::MAX_CSV_BODY)),
        )
        .route(
            "/services/data/{version}/jobs/ingest/{id}/{results}",
            get(ingest::results),
        )
        .route(
            "/services/data/{version}/jobs/query",
            get(query::list).post(query::create),
        )
        .route(
            "/services/data/{version}/jobs/query/{id}",
            get(query::info)
                .patch(query::change_state)
                .delete(query::delete),
        )
        .route(
            "/services/data/{version}/jobs/query/{id}/results",
            get(query::results),
        )
}
