//! Bulk API 2.0 query jobs: create (the query runs in the background against a snapshot), poll,
//! and download results as CSV pages addressed by `locator` and `maxRecords`.
//!
//! Result pages are rendered while they are sent, a few thousand rows at a time, from the job's
//! snapshot and ordered rows; no page, and never the whole result, is held as text.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::Extension;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use forcebridge_wire::bulk::{CreateQueryJob, JobInfo, JobList, JobStateChange};
use futures_util::StreamExt;
use serde::Deserialize;

use super::{CsvFormat, JobState, base_info, unknown_job};
use crate::api_error::ApiFailure;
use crate::http::{Caller, JsonBody, no_content, ok_json};
use crate::ids::RecordId;
use crate::org::Org;
use crate::soql::QueryRun;
use crate::versions::ApiVersion;

/// Rows rendered per chunk of a streamed result page.
const ROWS_PER_CHUNK: usize = 2000;

/// One query job.
pub(crate) struct QueryJob {
    id: String,
    operation: &'static str,
    object: String,
    soql: String,
    format: CsvFormat,
    created_by: RecordId,
    created: i64,
    version: ApiVersion,
    progress: Mutex<Progress>,
}

impl std::fmt::Debug for QueryJob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QueryJob")
            .field("id", &self.id)
            .field("object", &self.object)
            .finish_non_exhaustive()
    }
}

struct Progress {
    state: JobState,
    modstamp: i64,
    run: Option<Arc<QueryRun>>,
    error_message: Option<String>,
    processing_ms: u64,
}

impl QueryJob {
    fn progress(&self) -> std::sync::MutexGuard<'_, Progress> {
        self.progress.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn info(&self) -> JobInfo {
        let progress = self.progress();
        let mut info = base_info(
            &self.id,
            self.operation,
            &self.object,
            self.created_by,
            self.created,
            f64::from(self.version.0),
            self.format,
        );
        info.state = progress.state.as_str().to_string();
        info.system_modstamp = crate::value::format_datetime(progress.modstamp);
        info.job_type = Some("V2Query".to_string());
        info.number_records_processed =
            Some(progress.run.as_ref().map_or(0, |r| r.total_size() as u64));
        info.retries = Some(0);
        info.total_processing_time = Some(progress.processing_ms);
        info.is_pk_chunking_supported = Some(false);
        info.error_message = progress.error_message.clone();
        info
    }
}

pub(super) async fn create(
    State(org): State<Arc<Org>>,
    Extension(version): Extension<ApiVersion>,
    Extension(caller): Extension<Caller>,
    JsonBody(request): JsonBody<CreateQueryJob>,
) -> Result<Response, ApiFailure> {
    let operation = match request.operation.as_str() {
        "query" => "query",
        "queryAll" => "queryAll",
        other => {
            return Err(ApiFailure::bad_request(
                "INVALIDJOB",
                format!("Invalid operation {other}; use query or queryAll"),
            ));
        }
    };
    if let Some(content_type) = request.content_type.as_deref().filter(|c| *c != "CSV") {
        return Err(ApiFailure::bad_request(
            "INVALIDJOB",
            format!("Unsupported contentType {content_type}; only CSV is supported"),
        ));
    }
    let format = CsvFormat::parse(
        request.column_delimiter.as_deref(),
        request.line_ending.as_deref(),
    )?;
    crate::soql::check_bulk_query(&org, &request.query)?;
    // The check above resolved the FROM object, so this finds it.
    let named = forcebridge_soql::parse_query(&request.query)
        .tree
        .from
        .object
        .dotted();
    let object = org
        .schema()
        .find(&named)
        .map_or(named, |(_, def)| def.name.clone());
    let now = org.now();
    let id = org.jobs.new_id(now, false);
    let job = Arc::new(QueryJob {
        id: id.clone(),
        operation,
        object,
        soql: request.query,
        format,
        created_by: caller.session.user,
        created: now,
        version,
        progress: Mutex::new(Progress {
            state: JobState::UploadComplete,
            modstamp: now,
            run: None,
            error_message: None,
            processing_ms: 0,
        }),
    });
    let info = job.info();
    org.jobs.lock().query.insert(id, job.clone());
    let running = super::Jobs::start(&org);
    let worker = org.clone();
    tokio::task::spawn_blocking(move || {
        execute(&worker, &job);
        drop(running);
    });
    Ok(ok_json(&info))
}

/// Runs the job's query against a snapshot of the org as it is now.
fn execute(org: &Arc<Org>, job: &QueryJob) {
    let started = Instant::now();
    {
        let mut progress = job.progress();
        if progress.state != JobState::UploadComplete {
            return;
        }
        progress.state = JobState::InProgress;
        progress.modstamp = org.now();
    }
    let outcome = crate::soql::run(
        org,
        org.store.snapshot(),
        job.created_by,
        &job.soql,
        job.operation == "queryAll",
    );
    let mut progress = job.progress();
    progress.processing_ms = started.elapsed().as_millis() as u64;
    progress.modstamp = org.now();
    if progress.state == JobState::Aborted {
        return;
    }
    match outcome {
        Ok(run) => {
            progress.run = Some(Arc::new(run));
            progress.state = JobState::JobComplete;
        }
        Err(failure) => {
            progress.state = JobState::Failed;
            progress.error_message = Some(failure.errors.first().map_or_else(
                || "query failed".to_string(),
                |e| format!("{}: {}", e.error_code, e.message),
            ));
        }
    }
}

#[derive(Deserialize)]
pub(super) struct JobPath {
    id: String,
}

fn find(org: &Org, id: &str) -> Result<Arc<QueryJob>, ApiFailure> {
    org.jobs.query(id).ok_or_else(unknown_job)
}

pub(super) async fn info(
    State(org): State<Arc<Org>>,
    Path(path): Path<JobPath>,
) -> Result<Response, ApiFailure> {
    Ok(ok_json(&find(&org, &path.id)?.info()))
}

pub(super) async fn list(State(org): State<Arc<Org>>) -> Response {
    let jobs: Vec<Arc<QueryJob>> = org.jobs.lock().query.values().cloned().collect();
    let mut records: Vec<JobInfo> = jobs.iter().map(|j| j.info()).collect();
    records.sort_by(|a, b| a.created_date.cmp(&b.created_date).then(a.id.cmp(&b.id)));
    ok_json(&JobList {
        done: true,
        records,
        next_records_url: None,
    })
}

pub(super) async fn change_state(
    State(org): State<Arc<Org>>,
    Path(path): Path<JobPath>,
    JsonBody(change): JsonBody<JobStateChange>,
) -> Result<Response, ApiFailure> {
    let job = find(&org, &path.id)?;
    if change.state != "Aborted" {
        return Err(ApiFailure::bad_request(
            "INVALIDJOBSTATE",
            format!(
                "Cannot change a query job to state {}; only Aborted is allowed",
                change.state
            ),
        ));
    }
    {
        let mut progress = job.progress();
        if progress.state.is_terminal() {
            return Err(ApiFailure::new(
                StatusCode::CONFLICT,
                "INVALIDJOBSTATE",
                format!(
                    "The job is in state {}; a finished job cannot be aborted",
                    progress.state.as_str()
                ),
            ));
        }
        progress.state = JobState::Aborted;
        progress.modstamp = org.now();
    }
    Ok(ok_json(&job.info()))
}

pub(super) async fn delete(
    State(org): State<Arc<Org>>,
    Path(path): Path<JobPath>,
) -> Result<Response, ApiFailure> {
    find(&org, &path.id)?;
    org.jobs.lock().query.remove(&path.id);
    Ok(no_content())
}

#[derive(Deserialize)]
pub(super) struct ResultsQuery {
    locator: Option<String>,
    #[serde(rename = "maxRecords")]
    max_records: Option<String>,
}

/// The locator of the rows from `offset` on: base64 of the decimal offset, as Salesforce's are.
fn locator_for(offset: usize) -> String {
    STANDARD_NO_PAD.encode(offset.to_string())
}

fn offset_of(locator: &str) -> Option<usize> {
    let bytes = STANDARD_NO_PAD.decode(locator.trim_end_matches('=')).ok()?;
    std::str::from_utf8(&bytes).ok()?.parse().ok()
}

/// `GET /jobs/query/{id}/results`: one CSV page, streamed. `Sforce-NumberOfRecords` says how
/// many rows it holds and `Sforce-Locator` where the next page starts, or the literal `null`.
pub(super) async fn results(
    State(org): State<Arc<Org>>,
    Path(path): Path<JobPath>,
    Query(query): Query<ResultsQuery>,
) -> Result<Response, ApiFailure> {
    let job = find(&org, &path.id)?;
    let (state, run) = {
        let progress = job.progress();
        (progress.state, progress.run.clone())
    };
    let Some(run) = run.filter(|_| state == JobState::JobComplete) else {
        let current = match state {
            JobState::UploadComplete => "UPLOAD_COMPLETE",
            JobState::InProgress => "IN_PROGRESS",
            JobState::Failed => "FAILED",
            JobState::Aborted => "ABORTED",
            JobState::Open => "OPEN",
            JobState::JobComplete => "JOB_COMPLETE",
        };
        return Err(ApiFailure::new(
            StatusCode::PRECONDITION_FAILED,
            "JOB_NOT_COMPLETE",
            format!(
                "can only download query results of successfully completed bulk job with status: JOB_COMPLETE. Current status: {current}"
            ),
        ));
    };
    let start = match query.locator.as_deref().filter(|l| !l.is_empty()) {
        None => 0,
        Some(locator) => offset_of(locator)
            .filter(|&o| o <= run.total_size())
            .ok_or_else(|| {
                ApiFailure::bad_request(
                    "INVALID_QUERY_LOCATOR",
                    format!("invalid locator {locator}"),
                )
            })?,
    };
    let max = match query.max_records.as_deref() {
        None => usize::MAX,
        Some(text) => text
            .parse::<usize>()
            .ok()
            .filter(|&n| n > 0)
            .ok_or_else(|| {
                ApiFailure::bad_request(
                    "INVALIDJOB",
                    format!("maxRecords must be a positive number, not {text}"),
                )
            })?,
    };
    let end = start.saturating_add(max).min(run.total_size());
    let next = if end < run.total_size() {
        locator_for(end)
    } else {
        "null".to_string()
    };
    let format = job.format;
    let mut header_line = Vec::new();
    run.write_csv_header(&mut header_line, format.delimiter, format.line_ending());
    let chunks = futures_util::stream::unfold((Some(header_line), start), move |(header, from)| {
        let run = run.clone();
        async move {
            if let Some(header) = header {
                return Some((
                    Ok::<_, std::io::Error>(bytes::Bytes::from(header)),
                    (None, from),
                ));
            }
            if from >= end {
                return None;
            }
            let to = (from + ROWS_PER_CHUNK).min(end);
            let chunk = tokio::task::spawn_blocking(move || {
                let mut out = Vec::with_capacity((to - from) * 128);
                run.write_csv_rows(&mut out, from..to, format.delimiter, format.line_ending());
                out
            })
            .await
            .unwrap_or_default();
            Some((Ok(bytes::Bytes::from(chunk)), (None, to)))
        }
    })
    // Body layers (gzip) may poll once more after the end; a fused stream answers `None` again.
    .fuse();
    let mut response = (StatusCode::OK, Body::from_stream(chunks)).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv"));
    if let Ok(value) = HeaderValue::from_str(&next) {
        headers.insert("Sforce-Locator", value);
    }
    if let Ok(value) = HeaderValue::from_str(&(end - start).to_string()) {
        headers.insert("Sforce-NumberOfRecords", value);
    }
    Ok(response)
}
