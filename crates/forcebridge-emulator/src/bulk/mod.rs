//! Bulk API 2.0: ingest jobs (`/jobs/ingest`) and query jobs (`/jobs/query`).
//!
//! Jobs live in memory with their uploaded CSV and their results. Ingest jobs are processed in
//! the background after `UploadComplete`, record by record (Bulk is not all-or-none: each record
//! succeeds or fails alone), in transactions of a few thousand records so other writers are not
//! held up. Query jobs run their query against a snapshot and stream result pages from it, so a
//! million-row result is never held in memory as text.

mod ingest;
mod query;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};

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
    /// Jobs being processed in the background, and the ingest hold they obey.
    activity: Mutex<Activity>,
    /// Woken when a held ingest job may go on: the hold was changed or ended, the job was
    /// aborted, or the org shut down.
    hold_changed: Condvar,
    /// Woken when the last job being processed finishes or stops at the hold.
    idle: tokio::sync::Notify,
}

/// What the background work is doing, under one lock so [`Jobs::settled`] sees it whole.
#[derive(Debug, Default)]
struct Activity {
    /// Jobs being processed in the background right now (held ones included).
    running: usize,
    /// Ingest jobs waiting at the hold, by id. A job is taken out by whoever lets it go on
    /// (a change of the hold, its abort, the shutdown), so it counts as busy again at once.
    held: HashSet<String>,
    /// Rows an ingest job processes before it waits; `None` when ingest is not held.
    hold_after: Option<u64>,
    /// The org was shut down: nothing waits at the hold any more.
    shut_down: bool,
}

impl Activity {
    fn idle(&self) -> bool {
        self.running == self.held.len()
    }
}

/// A job being processed in the background; dropping it (when the work ends, however it
/// ends) counts the job as finished.
#[derive(Debug)]
pub(crate) struct Running(Arc<Org>);

impl Drop for Running {
    fn drop(&mut self) {
        let jobs = &self.0.jobs;
        let mut activity = jobs.activity();
        activity.running -= 1;
        if activity.idle() {
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

    fn activity(&self) -> std::sync::MutexGuard<'_, Activity> {
        self.activity.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Counts a job of `org` as running until the returned guard is dropped. Taken before the
    /// request that starts the work answers, so a caller that waits for [`Jobs::settled`]
    /// after that answer never misses it.
    pub(crate) fn start(org: &Arc<Org>) -> Running {
        org.jobs.activity().running += 1;
        Running(org.clone())
    }

    /// Waits until no job is being processed: each one has finished, or waits at the ingest
    /// hold.
    pub(crate) async fn settled(&self) {
        loop {
            let notified = self.idle.notified();
            let mut notified = std::pin::pin!(notified);
            notified.as_mut().enable();
            if self.activity().idle() {
                return;
            }
            notified.await;
        }
    }

    /// Holds ingest processing: from now on every ingest job processes at most `after_rows`
    /// rows, then waits (see [`crate::Control::hold_bulk_ingest`]). Jobs already waiting go on
    /// to the new limit.
    pub(crate) fn hold_ingest(&self, after_rows: u64) {
        let mut activity = self.activity();
        activity.hold_after = Some(after_rows);
        activity.held.clear();
        self.hold_changed.notify_all();
    }

    /// Ends the ingest hold: waiting jobs go on to the end.
    pub(crate) fn release_ingest(&self) {
        let mut activity = self.activity();
        activity.hold_after = None;
        activity.held.clear();
        self.hold_changed.notify_all();
    }

    /// Lets the job `id` go on from the hold (it was aborted).
    pub(crate) fn wake_held(&self, id: &str) {
        self.activity().held.remove(id);
        self.hold_changed.notify_all();
    }

    /// The org is shutting down: the hold ends for good, so no job waits for a release that
    /// can no longer come (a runtime waits for its blocking tasks when it shuts down).
    pub(crate) fn shut_down(&self) {
        let mut activity = self.activity();
        activity.shut_down = true;
        activity.hold_after = None;
        activity.held.clear();
        self.hold_changed.notify_all();
    }

    /// Called by the ingest job `id`, which has processed `done` rows, before it processes
    /// more: blocks (this runs on a blocking thread) while ingest is held and the job has
    /// reached the hold's limit, unless `aborted` says the job was aborted. Returns how many
    /// rows the job may process before it asks again.
    pub(crate) fn ingest_allowance(&self, id: &str, done: u64, aborted: &AtomicBool) -> u64 {
        let mut activity = self.activity();
        loop {
            let limit = match activity.hold_after {
                None => return u64::MAX,
                Some(limit) => limit,
            };
            if activity.shut_down || aborted.load(Ordering::SeqCst) {
                activity.held.remove(id);
                return u64::MAX;
            }
            if done < limit {
                activity.held.remove(id);
                return limit - done;
            }
            if activity.held.insert(id.to_string()) && activity.idle() {
                self.idle.notify_waiters();
            }
            tracing::debug!(job = %id, processed = done, "bulk ingest job held");
            activity = self
                .hold_changed
                .wait(activity)
                .unwrap_or_else(|e| e.into_inner());
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
