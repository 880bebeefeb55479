//! Bulk API 2.0 ingest jobs: create, upload CSV (one PUT: as on Salesforce, a job that received
//! two refuses to close, so a repeated upload is never loaded twice), close, process in the
//! background, report counts and per-record results as CSV.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::Extension;
use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use forcebridge_wire::bulk::{CreateIngestJob, JobInfo, JobList, JobStateChange};
use serde::Deserialize;

use super::{CsvFormat, JobState, base_info, unknown_job};
use crate::api_error::{ApiFailure, DmlError};
use crate::dml::{self, Match};
use crate::http::{Caller, JsonBody, WholeBody, no_content, ok_json};
use crate::ids::RecordId;
use crate::org::Org;
use crate::schema::ObjectIdx;
use crate::store::{CommitFailed, Txn};
use crate::versions::ApiVersion;

/// A processed row: the record id and whether it was created, or the id (if known) and the error.
type RowOutcome = Result<(Option<RecordId>, bool), (Option<String>, DmlError)>;

/// Records written per transaction while processing, so other writers get a turn in between.
const RECORDS_PER_TRANSACTION: usize = 1000;

/// What an ingest job does to each record.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Operation {
    Insert,
    Update,
    Upsert { external_id: String },
    Delete,
    HardDelete,
}

impl Operation {
    fn name(&self) -> &'static str {
        match self {
            Operation::Insert => "insert",
            Operation::Update => "update",
            Operation::Upsert { .. } => "upsert",
            Operation::Delete => "delete",
            Operation::HardDelete => "hardDelete",
        }
    }
}

/// One ingest job.
#[derive(Debug)]
pub(crate) struct IngestJob {
    id: String,
    object: ObjectIdx,
    object_name: String,
    operation: Operation,
    format: CsvFormat,
    created_by: RecordId,
    created: i64,
    version: ApiVersion,
    abort: AtomicBool,
    progress: Mutex<Progress>,
}

#[derive(Debug)]
struct Progress {
    state: JobState,
    modstamp: i64,
    /// The uploaded CSV bodies, each with its own header row.
    uploads: Vec<Bytes>,
    processed: u64,
    failed: u64,
    processing_ms: u64,
    error_message: Option<String>,
    successful: Vec<u8>,
    failures: Vec<u8>,
    unprocessed: Vec<u8>,
}

impl IngestJob {
    fn progress(&self) -> std::sync::MutexGuard<'_, Progress> {
        self.progress.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn info(&self) -> JobInfo {
        let progress = self.progress();
        let mut info = base_info(
            &self.id,
            self.operation.name(),
            &self.object_name,
            self.created_by,
            self.created,
            f64::from(self.version.0),
            self.format,
        );
        info.state = progress.state.as_str().to_string();
        info.system_modstamp = crate::value::format_datetime(progress.modstamp);
        if let Operation::Upsert { external_id } = &self.operation {
            info.external_id_field_name = Some(external_id.clone());
        }
        info.content_url = Some(format!(
            "services/data/v{}/jobs/ingest/{}/batches",
            self.version.number(),
            self.id
        ));
        info.job_type = Some("V2Ingest".to_string());
        info.number_records_processed = Some(progress.processed);
        info.number_records_failed = Some(progress.failed);
        info.retries = Some(0);
        info.total_processing_time = Some(progress.processing_ms);
        info.api_active_processing_time = Some(progress.processing_ms);
        info.apex_processing_time = Some(0);
        info.error_message = progress.error_message.clone();
        info
    }

    fn set_state(&self, state: JobState, now: i64) {
        let mut progress = self.progress();
        progress.state = state;
        progress.modstamp = now;
    }
}

fn invalid_state(state: JobState, wanted: &str) -> ApiFailure {
    ApiFailure::new(
        StatusCode::CONFLICT,
        "INVALIDJOBSTATE",
        format!("The job is in state {}; {wanted}", state.as_str()),
    )
}

pub(super) async fn create(
    State(org): State<Arc<Org>>,
    Extension(version): Extension<ApiVersion>,
    Extension(caller): Extension<Caller>,
    JsonBody(request): JsonBody<CreateIngestJob>,
) -> Result<Response, ApiFailure> {
    let schema = org.schema();
    let (object, def) = schema.find(&request.object).ok_or_else(|| {
        ApiFailure::bad_request(
            "INVALIDENTITY",
            format!(
                "Entity '{}' is not supported by the Bulk API.",
                request.object
            ),
        )
    })?;
    let operation = match request.operation.as_str() {
        "insert" => Operation::Insert,
        "update" => Operation::Update,
        "delete" => Operation::Delete,
        "hardDelete" => Operation::HardDelete,
        "upsert" => {
            let field = request.external_id_field_name.clone().ok_or_else(|| {
                ApiFailure::bad_request("INVALIDJOB", "externalIdFieldName is required for upsert")
            })?;
            let (_, f) = def.field(&field).ok_or_else(|| {
                ApiFailure::bad_request(
                    "INVALIDJOB",
                    format!("External ID field {field} does not exist on {}", def.name),
                )
            })?;
            if !(f.external_id || f.id_lookup) {
                return Err(ApiFailure::bad_request(
                    "INVALIDJOB",
                    format!("{field} is not an external ID field of {}", def.name),
                ));
            }
            Operation::Upsert {
                external_id: f.name.clone(),
            }
        }
        other => {
            return Err(ApiFailure::bad_request(
                "INVALIDJOB",
                format!(
                    "Invalid operation {other}; use insert, update, upsert, delete or hardDelete"
                ),
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
    let now = org.now();
    let id = org.jobs.new_id(now, true);
    let job = Arc::new(IngestJob {
        id: id.clone(),
        object,
        object_name: def.name.clone(),
        operation,
        format,
        created_by: caller.session.user,
        created: now,
        version,
        abort: AtomicBool::new(false),
        progress: Mutex::new(Progress {
            state: JobState::Open,
            modstamp: now,
            uploads: Vec::new(),
            processed: 0,
            failed: 0,
            processing_ms: 0,
            error_message: None,
            successful: Vec::new(),
            failures: Vec::new(),
            unprocessed: Vec::new(),
        }),
    });
    let info = job.info();
    org.jobs.lock().ingest.insert(id, job);
    tracing::debug!(job = %info.id, object = %info.object, operation = %info.operation, "bulk ingest job created");
    Ok(ok_json(&info))
}

#[derive(Deserialize)]
pub(super) struct JobPath {
    id: String,
}

fn find(org: &Org, id: &str) -> Result<Arc<IngestJob>, ApiFailure> {
    org.jobs.ingest(id).ok_or_else(unknown_job)
}

pub(super) async fn info(
    State(org): State<Arc<Org>>,
    Path(path): Path<JobPath>,
) -> Result<Response, ApiFailure> {
    Ok(ok_json(&find(&org, &path.id)?.info()))
}

pub(super) async fn list(State(org): State<Arc<Org>>) -> Response {
    let jobs: Vec<Arc<IngestJob>> = org.jobs.lock().ingest.values().cloned().collect();
    let mut records: Vec<JobInfo> = jobs.iter().map(|j| j.info()).collect();
    records.sort_by(|a, b| a.created_date.cmp(&b.created_date).then(a.id.cmp(&b.id)));
    ok_json(&JobList {
        done: true,
        records,
        next_records_url: None,
    })
}

/// `PUT /jobs/ingest/{id}/batches`: one CSV upload; the answer is exactly 201 with no body. The
/// job and the content type are checked before the body is read.
pub(super) async fn upload(
    State(org): State<Arc<Org>>,
    Path(path): Path<JobPath>,
    request: Request,
) -> Result<Response, ApiFailure> {
    let job = find(&org, &path.id)?;
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !content_type.to_ascii_lowercase().starts_with("text/csv") {
        return Err(ApiFailure::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UNSUPPORTED_MEDIA_TYPE",
            format!(
                "MediaType of '{content_type}' is not supported by this resource; upload text/csv"
            ),
        ));
    }
    let state = job.progress().state;
    if state != JobState::Open {
        return Err(invalid_state(
            state,
            "data can be uploaded only while the job is Open",
        ));
    }
    let WholeBody(body) = WholeBody::from_request(request, &()).await?;
    let mut progress = job.progress();
    if progress.state != JobState::Open {
        return Err(invalid_state(
            progress.state,
            "data can be uploaded only while the job is Open",
        ));
    }
    if body.is_empty() {
        return Err(ApiFailure::bad_request(
            "INVALIDBATCH",
            "The uploaded CSV is empty",
        ));
    }
    progress.uploads.push(body);
    progress.modstamp = org.now();
    Ok((StatusCode::CREATED, Body::empty()).into_response())
}

pub(super) async fn change_state(
    State(org): State<Arc<Org>>,
    Path(path): Path<JobPath>,
    JsonBody(change): JsonBody<JobStateChange>,
) -> Result<Response, ApiFailure> {
    let job = find(&org, &path.id)?;
    let now = org.now();
    match change.state.as_str() {
        "UploadComplete" => {
            let (state, uploads) = {
                let progress = job.progress();
                (progress.state, progress.uploads.len())
            };
            if state != JobState::Open {
                return Err(invalid_state(state, "only an Open job can be closed"));
            }
            // Salesforce takes every PUT of data while a job is Open, but refuses to close a
            // job that received more than one, so a repeated upload is never loaded twice. The
            // message is Salesforce's, spelling included (seen on real orgs; the reference does
            // not document it).
            if uploads > 1 {
                return Err(ApiFailure::bad_request(
                    "INVALIDJOB",
                    format!(
                        "Found multipe contents for job: <{}>, please 'Close' / 'Abort' / 'Delete' the current Job then create a new Job and make sure you only do 'PUT' once on a given Job.",
                        job.id
                    ),
                ));
            }
            job.set_state(JobState::UploadComplete, now);
            // Answer with the state the close produced, whatever the worker does next.
            let info = job.info();
            let running = super::Jobs::start(&org);
            let (org, worker) = (org.clone(), job.clone());
            tokio::task::spawn_blocking(move || {
                process(&org, &worker);
                drop(running);
            });
            return Ok(ok_json(&info));
        }
        "Aborted" => {
            let state = job.progress().state;
            if state.is_terminal() {
                return Err(invalid_state(state, "a finished job cannot be aborted"));
            }
            job.abort.store(true, Ordering::SeqCst);
            job.set_state(JobState::Aborted, now);
            // A job waiting at the ingest hold goes on, to record the rows it leaves undone.
            org.jobs.wake_held(&job.id);
        }
        other => {
            return Err(ApiFailure::bad_request(
                "INVALIDJOBSTATE",
                format!("Cannot change the job to state {other}; use UploadComplete or Aborted"),
            ));
        }
    }
    Ok(ok_json(&job.info()))
}

pub(super) async fn delete(
    State(org): State<Arc<Org>>,
    Path(path): Path<JobPath>,
) -> Result<Response, ApiFailure> {
    let job = find(&org, &path.id)?;
    let state = job.progress().state;
    if matches!(state, JobState::Open | JobState::InProgress) {
        return Err(invalid_state(
            state,
            "only a closed, finished or aborted job can be deleted",
        ));
    }
    org.jobs.lock().ingest.remove(&path.id);
    Ok(no_content())
}

#[derive(Deserialize)]
pub(super) struct ResultsPath {
    id: String,
    results: String,
}

/// `successfulResults`, `failedResults` and `unprocessedrecords` (any case).
pub(super) async fn results(
    State(org): State<Arc<Org>>,
    Path(path): Path<ResultsPath>,
) -> Result<Response, ApiFailure> {
    let job = find(&org, &path.id)?;
    let progress = job.progress();
    let body = match path.results.to_ascii_lowercase().as_str() {
        "successfulresults" => progress.successful.clone(),
        "failedresults" => progress.failures.clone(),
        "unprocessedrecords" => progress.unprocessed.clone(),
        _ => return Err(ApiFailure::not_found()),
    };
    let mut response = (StatusCode::OK, body).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv"));
    Ok(response)
}

/// Runs a closed job: every uploaded row, in transactions of [`RECORDS_PER_TRANSACTION`]
/// (fewer while ingest is held, so the job stops exactly at the hold's row).
///
/// A job aborted before it started processes nothing and reports every row as unprocessed,
/// as the reference documents `unprocessedrecords` ("all the records that were not processed
/// by the job", for failed and aborted jobs).
fn process(org: &Org, job: &IngestJob) {
    let started = Instant::now();
    // Held at 0 rows, the job stays UploadComplete (queued) until it may go on.
    org.jobs.ingest_allowance(&job.id, 0, &job.abort);
    {
        let mut progress = job.progress();
        match progress.state {
            JobState::UploadComplete => {
                progress.state = JobState::InProgress;
                progress.modstamp = org.now();
            }
            JobState::Aborted => {}
            _ => return,
        }
    }
    let uploads = job.progress().uploads.clone();
    let mut first_header: Option<Vec<String>> = None;
    let outcome = if uploads.is_empty() {
        Err("InvalidBatch : No data was uploaded for this job".to_string())
    } else {
        uploads
            .iter()
            .try_for_each(|upload| process_upload(org, job, upload, &mut first_header))
    };
    let mut progress = job.progress();
    progress.processing_ms = started.elapsed().as_millis() as u64;
    progress.modstamp = org.now();
    if progress.state == JobState::Aborted {
        return;
    }
    match outcome {
        Ok(()) => progress.state = JobState::JobComplete,
        Err(message) => {
            progress.state = JobState::Failed;
            progress.error_message = Some(message);
        }
    }
    tracing::debug!(job = %job.id, processed = progress.processed, failed = progress.failed, state = progress.state.as_str(), "bulk ingest job finished");
}

/// Processes one uploaded CSV. A bad header fails the whole job (Salesforce's `InvalidBatch`);
/// a bad row fails only that record.
fn process_upload(
    org: &Org,
    job: &IngestJob,
    upload: &[u8],
    first_header: &mut Option<Vec<String>>,
) -> Result<(), String> {
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(job.format.delimiter)
        .flexible(true)
        .from_reader(upload);
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| format!("InvalidBatch : Failed to parse the CSV header: {e}"))?
        .iter()
        .map(|h| h.trim().to_string())
        .collect();
    check_header(org, job, &header)?;
    let first_upload = match first_header {
        None => {
            *first_header = Some(header.clone());
            true
        }
        Some(first) if first == &header => false,
        Some(_) => {
            return Err(
                "InvalidBatch : Every upload of a job must have the same columns".to_string(),
            );
        }
    };
    let mut writers = ResultWriters::new(job, &header, first_upload)?;
    let mut rows: Vec<csv::StringRecord> = Vec::with_capacity(RECORDS_PER_TRANSACTION);
    let mut records = reader.records();
    loop {
        rows.clear();
        for record in records.by_ref().take(RECORDS_PER_TRANSACTION) {
            rows.push(record.map_err(|e| format!("InvalidBatch : Failed to parse the CSV: {e}"))?);
        }
        if rows.is_empty() {
            break;
        }
        let mut start = 0;
        while start < rows.len() {
            // A held job waits here, between transactions, with what it processed so far
            // visible in its info and results.
            let done = job.progress().processed;
            let allowed = org.jobs.ingest_allowance(&job.id, done, &job.abort);
            // Aborted: the rows not yet processed are left undone, and reported so. The rows
            // processed before stay processed (Bulk is not all-or-none), and the counters
            // count only them (UNVERIFIED: the reference documents `unprocessedrecords` for
            // aborted jobs, not the counters of a job aborted while it ran).
            if job.abort.load(Ordering::SeqCst) {
                for row in &rows[start..] {
                    writers.unprocessed(row);
                }
                break;
            }
            let allowed = usize::try_from(allowed).unwrap_or(usize::MAX);
            let end = start + allowed.min(rows.len() - start);
            process_rows(org, job, &header, &rows[start..end], &mut writers);
            writers.flush_into(job);
            start = end;
        }
    }
    writers.flush_into(job);
    Ok(())
}

/// Processes `rows` in one transaction, writing each row's outcome to `writers`.
fn process_rows(
    org: &Org,
    job: &IngestJob,
    header: &[String],
    rows: &[csv::StringRecord],
    writers: &mut ResultWriters,
) {
    // Lock faults hit ingest rows when the faults' scope covers the upload.
    let in_scope = org
        .faults
        .covers(&axum::http::Method::PUT, "/jobs/ingest/batches");
    let outcomes = org.write_as(job.created_by, in_scope, |txn| {
        // Bulk takes no duplicate rule header: `Alert` rules do not stop its rows and
        // `Block` rules fail them (UNVERIFIED: Salesforce's documentation of the header
        // covers REST and SOAP only; alerts are an interactive feature a load never sees).
        // Each chunk is one save, so its rows are not compared with each other.
        txn.set_allow_duplicates(true);
        let outcomes: Vec<RowOutcome> = rows
            .iter()
            .map(|row| process_row(txn, job, header, row))
            .collect();
        Ok::<_, CommitFailed>(outcomes)
    });
    // A chunk the journal refused was never applied: each of its rows failed.
    let outcomes = outcomes.unwrap_or_else(|failed| {
        rows.iter()
            .map(|row| {
                let id = header
                    .iter()
                    .position(|h| h.eq_ignore_ascii_case("Id"))
                    .and_then(|i| row.get(i))
                    .filter(|id| !id.is_empty())
                    .map(str::to_string);
                Err((id, DmlError::new("UNKNOWN_EXCEPTION", failed.to_string())))
            })
            .collect()
    });
    for (row, outcome) in rows.iter().zip(outcomes) {
        match outcome {
            Ok((id, created)) => writers.success(id, created, row),
            Err((id, error)) => writers.failure(id.as_deref(), &error, row),
        }
    }
}

/// The header must name fields of the object (or `Relationship.ExternalField`), and carry what
/// the operation needs.
fn check_header(org: &Org, job: &IngestJob, header: &[String]) -> Result<(), String> {
    let schema = org.schema();
    let def = schema.object(job.object);
    for column in header {
        let known = match column.split_once('.') {
            Some((relationship, _)) => def.relationship(relationship).is_some(),
            None => def.field(column).is_some(),
        };
        if !known {
            return Err(format!("InvalidBatch : Field name not found : {column}"));
        }
    }
    let has = |name: &str| header.iter().any(|h| h.eq_ignore_ascii_case(name));
    match &job.operation {
        Operation::Update | Operation::Delete | Operation::HardDelete if !has("Id") => {
            Err("InvalidBatch : Field name not found : Id".to_string())
        }
        Operation::Upsert { external_id } if !has(external_id) => Err(format!(
            "InvalidBatch : Field name not found : {external_id}"
        )),
        _ => Ok(()),
    }
}

/// Writes one row; returns the record id and whether it was created, or the id (if known) and
/// the error. The row's own changes are rolled back on failure.
fn process_row(
    txn: &mut Txn<'_>,
    job: &IngestJob,
    header: &[String],
    row: &csv::StringRecord,
) -> RowOutcome {
    if row.len() != header.len() {
        return Err((
            None,
            DmlError::new(
                "INVALID_FIELD",
                format!(
                    "Wrong number of columns: expected {}, found {}",
                    header.len(),
                    row.len()
                ),
            ),
        ));
    }
    let cells: Vec<(&str, &str)> = header.iter().map(String::as_str).zip(row.iter()).collect();
    let id_cell = cells
        .iter()
        .find(|(h, _)| h.eq_ignore_ascii_case("Id"))
        .map(|(_, v)| v.trim());
    let savepoint = txn.savepoint();
    let result = match &job.operation {
        Operation::Insert => dml::create_csv(txn, job.object, &cells).map(|id| (Some(id), true)),
        Operation::Update => row_id(id_cell).and_then(|id| {
            let others: Vec<(&str, &str)> = cells
                .iter()
                .copied()
                .filter(|(h, _)| !h.eq_ignore_ascii_case("Id"))
                .collect();
            dml::update_csv(txn, job.object, id, &others).map(|()| (Some(id), false))
        }),
        Operation::Delete => {
            row_id(id_cell).and_then(|id| dml::delete(txn, id).map(|()| (Some(id), false)))
        }
        Operation::HardDelete => {
            row_id(id_cell).and_then(|id| dml::hard_delete(txn, id).map(|()| (Some(id), false)))
        }
        Operation::Upsert { external_id } => upsert_row(txn, job, external_id, &cells),
    };
    result.map_err(|error| {
        txn.rollback_to(savepoint);
        (id_cell.filter(|s| !s.is_empty()).map(str::to_string), error)
    })
}

fn row_id(cell: Option<&str>) -> Result<RecordId, DmlError> {
    match cell {
        Some(text) if !text.is_empty() => RecordId::parse(text)
            .ok_or_else(|| DmlError::new("MALFORMED_ID", format!("malformed id {text}")).on("Id")),
        _ => Err(DmlError::new("MISSING_ARGUMENT", "Id not specified in an update call").on("Id")),
    }
}

fn upsert_row(
    txn: &mut Txn<'_>,
    job: &IngestJob,
    external_id: &str,
    cells: &[(&str, &str)],
) -> Result<(Option<RecordId>, bool), DmlError> {
    let value = cells
        .iter()
        .find(|(h, _)| h.eq_ignore_ascii_case(external_id))
        .map(|(_, v)| *v)
        .unwrap_or("");
    if value.is_empty() || value == "#N/A" {
        return Err(
            DmlError::new("MISSING_ARGUMENT", format!("{external_id} not specified"))
                .on(external_id),
        );
    }
    let found = dml::find_by_external_id(txn.data(), txn.schema(), job.object, external_id, value)?;
    match found {
        Match::One(id) => {
            let others: Vec<(&str, &str)> = cells
                .iter()
                .copied()
                .filter(|(h, _)| !h.eq_ignore_ascii_case("Id"))
                .collect();
            dml::update_csv(txn, job.object, id, &others).map(|()| (Some(id), false))
        }
        Match::None => {
            let others: Vec<(&str, &str)> = cells
                .iter()
                .copied()
                .filter(|(h, _)| !h.eq_ignore_ascii_case("Id"))
                .collect();
            dml::create_csv(txn, job.object, &others).map(|id| (Some(id), true))
        }
        Match::Many(_) => Err(DmlError::new(
            "DUPLICATE_EXTERNAL_ID",
            format!("more than one record found for external id field {external_id}: {value}"),
        )
        .on(external_id)),
    }
}

/// The three result CSVs of an upload, written as rows are processed.
struct ResultWriters {
    format: CsvFormat,
    successful: csv::Writer<Vec<u8>>,
    failures: csv::Writer<Vec<u8>>,
    unprocessed: csv::Writer<Vec<u8>>,
    succeeded: u64,
    failed: u64,
}

impl ResultWriters {
    /// Writers for one upload. The result files get their header rows with the job's first
    /// upload only; later uploads must have the same columns.
    fn new(
        job: &IngestJob,
        header: &[String],
        first_upload: bool,
    ) -> Result<ResultWriters, String> {
        let writer = || result_writer(job.format);
        let mut writers = ResultWriters {
            format: job.format,
            successful: writer(),
            failures: writer(),
            unprocessed: writer(),
            succeeded: 0,
            failed: 0,
        };
        if first_upload {
            let success_header = ["sf__Id", "sf__Created"]
                .into_iter()
                .chain(header.iter().map(String::as_str));
            let failure_header = ["sf__Id", "sf__Error"]
                .into_iter()
                .chain(header.iter().map(String::as_str));
            writers
                .successful
                .write_record(success_header)
                .map_err(|e| e.to_string())?;
            writers
                .failures
                .write_record(failure_header)
                .map_err(|e| e.to_string())?;
            writers
                .unprocessed
                .write_record(header)
                .map_err(|e| e.to_string())?;
        }
        Ok(writers)
    }

    fn success(&mut self, id: Option<RecordId>, created: bool, row: &csv::StringRecord) {
        let id = id.map(|i| i.to_string()).unwrap_or_default();
        let fields = [id.as_str(), if created { "true" } else { "false" }]
            .into_iter()
            .chain(row.iter());
        let _ = self.successful.write_record(fields);
        self.succeeded += 1;
    }

    fn failure(&mut self, id: Option<&str>, error: &DmlError, row: &csv::StringRecord) {
        let text = error.to_bulk_text();
        let fields = [id.unwrap_or(""), text.as_str()]
            .into_iter()
            .chain(row.iter());
        let _ = self.failures.write_record(fields);
        self.failed += 1;
    }

    fn unprocessed(&mut self, row: &csv::StringRecord) {
        let _ = self.unprocessed.write_record(row);
    }

    /// Moves what was written so far into the job, where the results endpoints and the job
    /// info read it, so a client polling mid-job sees progress.
    fn flush_into(&mut self, job: &IngestJob) {
        let format = self.format;
        let take = |w: &mut csv::Writer<Vec<u8>>| {
            std::mem::replace(w, result_writer(format))
                .into_inner()
                .unwrap_or_default()
        };
        let (successful, failures, unprocessed) = (
            take(&mut self.successful),
            take(&mut self.failures),
            take(&mut self.unprocessed),
        );
        let mut progress = job.progress();
        progress.processed += self.succeeded + self.failed;
        progress.failed += self.failed;
        progress.successful.extend_from_slice(&successful);
        progress.failures.extend_from_slice(&failures);
        progress.unprocessed.extend_from_slice(&unprocessed);
        self.succeeded = 0;
        self.failed = 0;
    }
}

/// A writer for result CSVs: the job's dialect, every value quoted, as Salesforce writes them.
///
/// Flexible, because a row uploaded with too few or too many cells is reported with its own
/// cells: a strict writer refuses such a record after writing its cells but before its line
/// ending, which ran it together with the next one.
fn result_writer(format: CsvFormat) -> csv::Writer<Vec<u8>> {
    csv::WriterBuilder::new()
        .flexible(true)
        .delimiter(format.delimiter)
        .terminator(if format.crlf {
            csv::Terminator::CRLF
        } else {
            csv::Terminator::Any(b'\n')
        })
        .quote_style(csv::QuoteStyle::Always)
        .from_writer(Vec::new())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn result_rows_of_any_width_end_their_own_lines() {
        let mut writer = result_writer(CsvFormat {
            delimiter: b',',
            crlf: false,
        });
        writer
            .write_record(["sf__Id", "sf__Error", "A", "B"])
            .unwrap();
        writer.write_record(["", "E:short", "a"]).unwrap();
        writer
            .write_record(["", "E:long", "a", "b", "c, \"d\""])
            .unwrap();
        writer.write_record(["", "E:fits", "a\nb", ""]).unwrap();
        let bytes = writer.into_inner().unwrap();
        let mut reader = csv::ReaderBuilder::new()
            .flexible(true)
            .from_reader(&bytes[..]);
        let rows: Vec<Vec<String>> = reader
            .records()
            .map(|r| r.unwrap().iter().map(String::from).collect())
            .collect();
        assert_eq!(
            rows,
            [
                vec!["", "E:short", "a"],
                vec!["", "E:long", "a", "b", "c, \"d\""],
                vec!["", "E:fits", "a\nb", ""],
            ]
        );
    }
}
