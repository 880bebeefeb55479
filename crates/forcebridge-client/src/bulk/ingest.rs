//! Bulk ingest: CSV (a file, any reader, or records turned into CSV) split into jobs at row
//! boundaries, uploaded, closed, waited for, and their per-row results.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use forcebridge_wire::bulk::{CreateIngestJob, JobInfo};
use futures_util::{Stream, StreamExt};
use reqwest::Method;
use serde::Serialize;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};

use super::{
    Bulk, ColumnDelimiter, JobKind, JobState, LineEnding, PollOptions, change_state, delete_job,
    job_info, record_end, wait_for,
};
use crate::client::Client;
use crate::error::{Error, ErrorKind, Result};

/// What an ingest job does with each row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IngestOperation {
    /// Creates a record per row.
    Insert,
    /// Updates the record named by the row's `Id` column. An empty cell leaves a field as it
    /// is; `#N/A` clears it.
    Update,
    /// Updates the record whose external id field matches the row, or creates one.
    Upsert {
        /// The external id field's API name (`Ext__c`); the CSV must have this column.
        external_id_field: String,
    },
    /// Moves the records named by the `Id` column to the recycle bin.
    Delete,
    /// Deletes the records named by the `Id` column for good (needs the "Bulk API Hard
    /// Delete" permission on a real org).
    HardDelete,
}

impl IngestOperation {
    fn wire(&self) -> &'static str {
        match self {
            IngestOperation::Insert => "insert",
            IngestOperation::Update => "update",
            IngestOperation::Upsert { .. } => "upsert",
            IngestOperation::Delete => "delete",
            IngestOperation::HardDelete => "hardDelete",
        }
    }
}

/// The default of [`IngestOptions::max_upload_bytes`]: just under the 100 MB of raw CSV a job
/// may take (Salesforce counts 150 MB after its own base64 encoding).
pub const DEFAULT_MAX_UPLOAD_BYTES: usize = 99_000_000;

/// How an ingest runs.
#[derive(Debug, Clone)]
pub struct IngestOptions {
    /// The delimiter of the CSV you give (and of the results).
    pub column_delimiter: ColumnDelimiter,
    /// The line ending of the CSV you give; records are written with it.
    pub line_ending: LineEnding,
    /// The most bytes one job's upload may hold, header included; larger input is split into
    /// several jobs at row boundaries, each with the header. This is also the most input held
    /// in memory at once. A single row larger than this fails the run.
    pub max_upload_bytes: usize,
    /// How the jobs are waited for; `poll.timeout` bounds the wait for all of them together.
    pub poll: PollOptions,
    /// For records: the columns, in order. By default the first record's fields, in its order
    /// (a later record with a field the first lacks is refused). Ignored for CSV input.
    pub columns: Option<Vec<String>>,
    /// When set, each finished job's successful, failed and unprocessed results are written
    /// to `<dir>/<job id>-successful.csv`, `-failed.csv` and `-unprocessed.csv`, and the
    /// summary says where.
    pub results_dir: Option<PathBuf>,
}

impl Default for IngestOptions {
    fn default() -> IngestOptions {
        IngestOptions {
            column_delimiter: ColumnDelimiter::Comma,
            line_ending: LineEnding::Lf,
            max_upload_bytes: DEFAULT_MAX_UPLOAD_BYTES,
            poll: PollOptions::default(),
            columns: None,
            results_dir: None,
        }
    }
}

/// Where an ingest stands, reported to [`IngestBuilder::on_progress`] after each upload and
/// each poll. `records_processed` and `records_failed` count finished rows of every job so far.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IngestProgress {
    /// Jobs created, uploaded and closed so far.
    pub jobs_created: usize,
    /// Rows uploaded into closed jobs so far.
    pub records_uploaded: u64,
    /// Rows the org has processed (succeeded or failed) so far.
    pub records_processed: u64,
    /// Rows that failed so far.
    pub records_failed: u64,
}

/// The result files of a job, when [`IngestOptions::results_dir`] is set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResultFiles {
    /// `sf__Id`, `sf__Created` and the uploaded row, for each row that succeeded.
    pub successful: PathBuf,
    /// `sf__Id`, `sf__Error` and the uploaded row, for each row that failed.
    pub failed: PathBuf,
    /// The uploaded rows the job never processed.
    pub unprocessed: PathBuf,
}

/// How one job ended.
#[derive(Debug, Clone)]
pub struct JobSummary {
    /// The job id (`750...`), for [`Bulk::ingest_job`].
    pub id: String,
    /// `JobComplete`, `Failed` or `Aborted` (`None` for a state this client does not know).
    pub state: Option<JobState>,
    /// The rows uploaded into this job (0 when the job was resumed by id).
    pub records_uploaded: u64,
    /// Rows the org processed, succeeded or failed (`numberRecordsProcessed`).
    pub records_processed: u64,
    /// Rows that failed (`numberRecordsFailed`); their errors are in the failed results.
    pub records_failed: u64,
    /// Why the job as a whole failed.
    pub error_message: Option<String>,
    /// Where the job's results were written, when [`IngestOptions::results_dir`] was set.
    pub results: Option<ResultFiles>,
}

/// How an ingest ended, over all its jobs. Rows that failed are data here, not an error: see
/// each job's failed results.
#[derive(Debug, Clone, Default)]
pub struct IngestSummary {
    /// Every job, in upload order.
    pub jobs: Vec<JobSummary>,
    /// Rows uploaded, over all jobs.
    pub records_uploaded: u64,
    /// Rows processed, over all jobs.
    pub records_processed: u64,
    /// Rows that failed, over all jobs.
    pub records_failed: u64,
}

impl IngestSummary {
    /// The ids of the jobs, in upload order.
    pub fn job_ids(&self) -> Vec<&str> {
        self.jobs.iter().map(|j| j.id.as_str()).collect()
    }

    /// Whether every job completed and no row failed.
    pub fn is_clean(&self) -> bool {
        self.records_failed == 0
            && self
                .jobs
                .iter()
                .all(|j| j.state == Some(JobState::JobComplete))
    }
}

/// A job an ingest had opened when it failed, as [`crate::Error::bulk_jobs`] names it: resume
/// it or abort it by id ([`Bulk::ingest_job`]) rather than load its rows a second time.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct StartedJob {
    /// The job id (`750...`).
    pub id: String,
    /// Its last known state. `Open`: its upload did not complete, so the org will never
    /// process it (abort it, or upload its rows and close it). `UploadComplete` or later: it
    /// is closed and runs on the org (wait for it with [`IngestJob::resume`]). `None`: the
    /// failure left it unknown (a close whose answer was lost); read it with
    /// [`IngestJob::info`].
    pub state: Option<JobState>,
    /// The rows uploaded into it: the first rows of the input after those of the jobs before
    /// it (0 until its upload completed).
    pub records: u64,
}

/// Which results of an ingest job to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResultKind {
    /// `sf__Id`, `sf__Created`, then the row as uploaded.
    Successful,
    /// `sf__Id` (when known), `sf__Error` (`CODE:message`), then the row as uploaded. A row
    /// uploaded with too few or too many cells fails and comes back with exactly its own
    /// cells, so the CSV may have rows of different widths ([`ResultRow::extra_values`]).
    Failed,
    /// Rows the job never processed (it was aborted or failed), as uploaded.
    Unprocessed,
}

impl ResultKind {
    fn segment(self) -> &'static str {
        match self {
            ResultKind::Successful => "successfulResults",
            ResultKind::Failed => "failedResults",
            ResultKind::Unprocessed => "unprocessedrecords",
        }
    }

    fn file_suffix(self) -> &'static str {
        match self {
            ResultKind::Successful => "successful",
            ResultKind::Failed => "failed",
            ResultKind::Unprocessed => "unprocessed",
        }
    }
}

/// One row of an ingest job's results.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResultRow {
    /// `sf__Id`: the record's id (empty for a failed insert).
    pub id: Option<String>,
    /// `sf__Created`: whether the row created a record (successful results only).
    pub created: Option<bool>,
    /// `sf__Error`: `CODE:message` (failed results only).
    pub error: Option<String>,
    /// The row's own columns as uploaded, in order. A row that had fewer cells than the
    /// header has fewer values here: the missing cells are absent, not empty.
    pub values: Vec<(String, String)>,
    /// The cells of a row that had more cells than the header, beyond the last column, in
    /// order (empty for a row of the header's width).
    pub extra_values: Vec<String>,
}

impl ResultRow {
    /// The uploaded value of `column` (exact name).
    pub fn get(&self, column: &str) -> Option<&str> {
        self.values
            .iter()
            .find(|(c, _)| c == column)
            .map(|(_, v)| v.as_str())
    }
}

type ProgressFn = Arc<dyn Fn(&IngestProgress) + Send + Sync>;

/// An ingest to run: made by [`Bulk::ingest`], run by one of the `from_*` methods.
#[must_use = "an ingest does nothing until one of its from_* methods is awaited"]
pub struct IngestBuilder {
    client: Client,
    object: String,
    operation: IngestOperation,
    options: IngestOptions,
    progress: Option<ProgressFn>,
}

impl std::fmt::Debug for IngestBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IngestBuilder")
            .field("object", &self.object)
            .field("operation", &self.operation)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl Bulk {
    /// An ingest of `operation` into `object` (`Account`, `Invoice__c`). Nothing is sent until
    /// one of the builder's `from_*` methods is awaited. On a read-only client that fails
    /// with [`ErrorKind::NotSent`] and sends nothing.
    pub fn ingest(&self, object: impl Into<String>, operation: IngestOperation) -> IngestBuilder {
        IngestBuilder {
            client: self.client.clone(),
            object: object.into(),
            operation,
            options: IngestOptions::default(),
            progress: None,
        }
    }

    /// An existing ingest job, by id: to wait for it after a crash, read its results, abort or
    /// delete it.
    pub fn ingest_job(&self, id: impl Into<String>) -> IngestJob {
        IngestJob {
            client: self.client.clone(),
            id: id.into(),
        }
    }
}

impl IngestBuilder {
    /// Sets the options (dialect, upload size, polling, columns, result files).
    pub fn options(mut self, options: IngestOptions) -> IngestBuilder {
        self.options = options;
        self
    }

    /// Called after each upload and each poll with the totals so far (for a progress bar).
    /// It runs on the task driving the ingest, so it should return quickly.
    pub fn on_progress(
        mut self,
        progress: impl Fn(&IngestProgress) + Send + Sync + 'static,
    ) -> IngestBuilder {
        self.progress = Some(Arc::new(progress));
        self
    }

    /// Loads a CSV file: its first row names the fields. The file is read as it is uploaded,
    /// one job's worth at a time.
    pub async fn from_csv_file(self, path: impl AsRef<Path>) -> Result<IngestSummary> {
        let path = path.as_ref();
        let file = tokio::fs::File::open(path)
            .await
            .map_err(|e| Error::io(format!("cannot open {}", path.display()), e))?;
        self.from_csv_reader(file).await
    }

    /// Loads CSV from any reader: its first row names the fields. Rows are passed through as
    /// they are (so they must use the delimiter and line ending of the options).
    pub async fn from_csv_reader<R: AsyncRead + Unpin>(self, reader: R) -> Result<IngestSummary> {
        let mut run = Run::new(self)?;
        let fed = feed_csv(&mut run, reader).await;
        run.finish(fed).await
    }

    /// Loads records: any `Serialize` values that serialize as maps (structs, `serde_json`
    /// objects, [`crate::Record`]s), written as CSV with a header. `None`/`null` becomes
    /// `#N/A` (clear the field); a nested object becomes `Parent.Field` columns (a
    /// relationship by external id); a missing field is an empty cell (left as it is).
    pub async fn from_records<T: Serialize>(
        self,
        records: impl IntoIterator<Item = T>,
    ) -> Result<IngestSummary> {
        self.from_record_stream(futures_util::stream::iter(records))
            .await
    }

    /// [`IngestBuilder::from_records`] from a stream, read one job's worth at a time.
    pub async fn from_record_stream<T: Serialize>(
        self,
        records: impl Stream<Item = T>,
    ) -> Result<IngestSummary> {
        self.try_from_record_stream(records.map(Ok::<T, std::convert::Infallible>))
            .await
    }

    /// [`IngestBuilder::from_record_stream`] for sources that can fail (a database cursor, a
    /// file being parsed). The first error stops reading: jobs already closed keep running on
    /// the org and are named in the returned error (kind [`ErrorKind::NotSent`], with the
    /// source error reachable through `source()`).
    pub async fn try_from_record_stream<T, E>(
        self,
        records: impl Stream<Item = std::result::Result<T, E>>,
    ) -> Result<IngestSummary>
    where
        T: Serialize,
        E: std::error::Error + Send + Sync + 'static,
    {
        let mut run = Run::new(self)?;
        let fed = feed_records(&mut run, records).await;
        run.finish(fed).await
    }
}

/// One ingest in progress: the upload being filled and the jobs already closed.
struct Run {
    client: Client,
    object: String,
    operation: IngestOperation,
    options: IngestOptions,
    progress_fn: Option<ProgressFn>,
    progress: IngestProgress,
    header: Vec<u8>,
    upload: Vec<u8>,
    rows_in_upload: u64,
    rows_seen: u64,
    /// Every job opened so far, in order, with its last known state.
    started: Vec<StartedJob>,
}

impl Run {
    fn new(builder: IngestBuilder) -> Result<Run> {
        if builder.client.access() == crate::Access::ReadOnly {
            return Err(Error::not_sent(format!(
                "bulk {} into {}: refused, because this connection is read-only",
                builder.operation.wire(),
                builder.object
            )));
        }
        if builder.options.max_upload_bytes == 0 {
            return Err(Error::not_sent("max_upload_bytes must be at least 1"));
        }
        Ok(Run {
            client: builder.client,
            object: builder.object,
            operation: builder.operation,
            options: builder.options,
            progress_fn: builder.progress,
            progress: IngestProgress::default(),
            header: Vec::new(),
            upload: Vec::new(),
            rows_in_upload: 0,
            rows_seen: 0,
            started: Vec::new(),
        })
    }

    fn report(&self) {
        if let Some(progress) = &self.progress_fn {
            progress(&self.progress);
        }
    }

    fn set_header(&mut self, header: Vec<u8>) {
        self.upload.clear();
        self.upload.extend_from_slice(&header);
        self.header = header;
    }

    /// Adds one complete row (with its line ending), first sending the upload if the row
    /// would not fit.
    async fn push_row(&mut self, row: &[u8]) -> Result<()> {
        self.rows_seen += 1;
        if self.header.len() + row.len() > self.options.max_upload_bytes {
            return Err(Error::not_sent(format!(
                "row {} is {} bytes, which with the header does not fit in one upload of at most {} bytes (max_upload_bytes)",
                self.rows_seen,
                row.len(),
                self.options.max_upload_bytes
            )));
        }
        if self.upload.len() + row.len() > self.options.max_upload_bytes {
            self.send_upload().await?;
        }
        self.upload.extend_from_slice(row);
        self.rows_in_upload += 1;
        Ok(())
    }

    /// Creates a job, uploads what was gathered, and closes the job.
    ///
    /// The upload is retried through server errors and cut connections, as Salesforce keeps at
    /// most one upload of a job: if a retry follows an attempt that had landed after all, the
    /// job holds two and the org refuses to close it (`INVALIDJOB`), so it never loads them.
    /// That job is then aborted and the rows go to a new one, once.
    async fn send_upload(&mut self) -> Result<()> {
        if self.rows_in_upload == 0 {
            return Ok(());
        }
        let body = Bytes::from(std::mem::replace(&mut self.upload, self.header.clone()));
        let rows = std::mem::take(&mut self.rows_in_upload);
        let mut tries_left = 2;
        loop {
            tries_left -= 1;
            let job = self.create_job().await?;
            tracing::debug!(job = %job.id, object = %self.object, rows, bytes = body.len(), "bulk ingest job created; uploading");
            self.started.push(StartedJob {
                id: job.id.clone(),
                state: Some(JobState::Open),
                records: 0,
            });
            job.upload_csv(body.clone()).await?;
            let closed = job.close().await;
            let last = self.started.last_mut().expect("pushed above");
            match closed {
                Ok(info) => {
                    last.state = info.job_state();
                    last.records = rows;
                    break;
                }
                Err(error) if tries_left > 0 && error.error_code() == Some("INVALIDJOB") => {
                    tracing::warn!(job = %job.id, %error, "the org refused to close the job (a retried upload may have landed twice); aborting it and uploading to a new job");
                    let aborted = job.abort().await?;
                    last.state = aborted.job_state();
                    // Aborted before it processed anything: nothing to resume or report.
                    self.started.pop();
                }
                Err(error) => {
                    // Refused by the org: still Open. Otherwise the close may have gone
                    // through.
                    if error.kind() != ErrorKind::Api {
                        last.state = None;
                    }
                    return Err(error);
                }
            }
        }
        self.progress.jobs_created += 1;
        self.progress.records_uploaded += rows;
        self.report();
        Ok(())
    }

    /// Creates one job for the next upload. Not retried after a failure that may have
    /// reached the org, since a second job would be left open.
    async fn create_job(&self) -> Result<IngestJob> {
        let create = CreateIngestJob {
            object: self.object.clone(),
            operation: self.operation.wire().to_string(),
            external_id_field_name: match &self.operation {
                IngestOperation::Upsert { external_id_field } => Some(external_id_field.clone()),
                _ => None,
            },
            content_type: Some("CSV".into()),
            line_ending: Some(self.options.line_ending.wire().into()),
            column_delimiter: Some(self.options.column_delimiter.wire().into()),
            assignment_rule_id: None,
        };
        let call = JobKind::Ingest.call(Method::POST, &[]).json(&create)?;
        let info: JobInfo = self.client.execute_json(call).await?;
        Ok(IngestJob {
            client: self.client.clone(),
            id: info.id,
        })
    }

    /// `error`, naming the jobs opened so far and their states (as data, and in words).
    fn failed(&self, error: Error) -> Error {
        if self.started.is_empty() {
            return error;
        }
        let jobs: Vec<String> = self
            .started
            .iter()
            .map(|job| {
                let state = job.state.map_or("state unknown", JobState::as_str);
                format!("{} ({state}, {} rows)", job.id, job.records)
            })
            .collect();
        error
            .with_note(format!("bulk jobs opened: {}", jobs.join(", ")))
            .with_bulk_jobs(self.started.clone())
    }

    /// Sends the last upload, waits for every job and gathers the summary. `fed` is how
    /// reading the input ended; if it or anything after failed, the jobs opened so far are
    /// named in the error.
    async fn finish(mut self, fed: Result<()>) -> Result<IngestSummary> {
        let sent = match fed {
            Ok(()) => self.send_upload().await,
            Err(error) => Err(error),
        };
        if let Err(error) = sent {
            return Err(self.failed(error));
        }
        if self.started.is_empty() {
            return Err(Error::not_sent(format!(
                "bulk {} into {}: the input has no data rows",
                self.operation.wire(),
                self.object
            )));
        }
        let deadline = Instant::now() + self.options.poll.timeout;
        let mut summary = IngestSummary {
            records_uploaded: self.progress.records_uploaded,
            ..IngestSummary::default()
        };
        for n in 0..self.started.len() {
            let (id, rows) = (self.started[n].id.clone(), self.started[n].records);
            let done_processed = self.progress.records_processed;
            let done_failed = self.progress.records_failed;
            let waited = {
                let progress_fn = self.progress_fn.clone();
                let progress = &mut self.progress;
                let job = &mut self.started[n];
                wait_for(
                    &self.client,
                    JobKind::Ingest,
                    &id,
                    &self.options.poll,
                    deadline,
                    |info| {
                        job.state = info.job_state();
                        progress.records_processed =
                            done_processed + info.number_records_processed.unwrap_or(0);
                        progress.records_failed =
                            done_failed + info.number_records_failed.unwrap_or(0);
                        if let Some(report) = &progress_fn {
                            report(progress);
                        }
                    },
                )
                .await
            };
            let info = match waited {
                Ok(info) => info,
                Err(error) => return Err(self.failed(error)),
            };
            let job = match finished(&self.client, &info, self.options.results_dir.as_deref()).await
            {
                Ok(job) => job,
                Err(error) => return Err(self.failed(error)),
            };
            let mut job = job;
            job.records_uploaded = rows;
            summary.records_processed += job.records_processed;
            summary.records_failed += job.records_failed;
            summary.jobs.push(job);
        }
        tracing::debug!(
            jobs = summary.jobs.len(),
            processed = summary.records_processed,
            failed = summary.records_failed,
            "bulk ingest finished"
        );
        Ok(summary)
    }
}

/// The summary of a job that reached a terminal state, writing its result files if asked.
async fn finished(client: &Client, info: &JobInfo, dir: Option<&Path>) -> Result<JobSummary> {
    let job = IngestJob {
        client: client.clone(),
        id: info.id.clone(),
    };
    let results = match dir {
        Some(dir) => Some(job.write_result_files(dir).await?),
        None => None,
    };
    Ok(JobSummary {
        id: info.id.clone(),
        state: info.job_state(),
        records_uploaded: 0,
        records_processed: info.number_records_processed.unwrap_or(0),
        records_failed: info.number_records_failed.unwrap_or(0),
        error_message: info.error_message.clone(),
        results,
    })
}

/// Reads CSV rows from `reader` into the run: the first row is the header.
async fn feed_csv<R: AsyncRead + Unpin>(run: &mut Run, reader: R) -> Result<()> {
    let mut reader = BufReader::with_capacity(64 * 1024, reader);
    let mut record = Vec::new();
    let mut in_quotes = false;
    let mut header_done = false;
    let line_ending = match run.options.line_ending {
        LineEnding::Lf => &b"\n"[..],
        LineEnding::CrLf => &b"\r\n"[..],
    };
    loop {
        let chunk = reader
            .fill_buf()
            .await
            .map_err(|e| Error::io("cannot read the CSV input", e))?;
        let eof = chunk.is_empty();
        let mut complete = Vec::new();
        let mut rest = chunk;
        while let Some(end) = record_end(rest, &mut in_quotes) {
            record.extend_from_slice(&rest[..end]);
            complete.push(std::mem::take(&mut record));
            rest = &rest[end..];
        }
        record.extend_from_slice(rest);
        let used = chunk.len();
        reader.consume(used);
        if eof && !record.is_empty() {
            record.extend_from_slice(line_ending);
            complete.push(std::mem::take(&mut record));
        }
        for row in complete {
            if !header_done {
                let row = row.strip_prefix("\u{feff}".as_bytes()).unwrap_or(&row);
                run.set_header(row.to_vec());
                header_done = true;
            } else if !row.iter().all(|b| *b == b'\r' || *b == b'\n') {
                run.push_row(&row).await?;
            }
        }
        if eof {
            return Ok(());
        }
    }
}

/// Writes records as CSV rows into the run.
async fn feed_records<T, E>(
    run: &mut Run,
    records: impl Stream<Item = std::result::Result<T, E>>,
) -> Result<()>
where
    T: Serialize,
    E: std::error::Error + Send + Sync + 'static,
{
    let mut writer = csv::WriterBuilder::new();
    writer
        .delimiter(run.options.column_delimiter.byte())
        .terminator(match run.options.line_ending {
            LineEnding::Lf => csv::Terminator::Any(b'\n'),
            LineEnding::CrLf => csv::Terminator::CRLF,
        })
        .buffer_capacity(256);
    let mut columns: Option<Vec<String>> = run.options.columns.clone();
    if let Some(columns) = &columns {
        run.set_header(csv_line(&writer, columns)?);
    }
    let mut records = std::pin::pin!(records);
    let mut n = 0u64;
    while let Some(record) = records.next().await {
        n += 1;
        let record = record.map_err(|e| Error::io(format!("reading record {n} failed"), e))?;
        let value = serde_json::to_value(&record).map_err(|e| {
            Error::not_sent(format!("record {n} cannot be serialized")).with_source(e)
        })?;
        let mut cells = Vec::new();
        flatten(n, "", value, &mut cells)?;
        let columns = match &mut columns {
            Some(columns) => columns,
            None => {
                let names: Vec<String> = cells.iter().map(|(k, _)| k.clone()).collect();
                run.set_header(csv_line(&writer, &names)?);
                columns.insert(names)
            }
        };
        let mut row = vec![String::new(); columns.len()];
        for (name, cell) in cells {
            let Some(i) = columns.iter().position(|c| *c == name) else {
                return Err(Error::not_sent(format!(
                    "record {n} has a field {name} that is not among the columns ({}); name every column in IngestOptions::columns",
                    columns.join(", ")
                )));
            };
            row[i] = cell;
        }
        let line = csv_line(&writer, &row)?;
        run.push_row(&line).await?;
    }
    Ok(())
}

/// One CSV line (with its terminator) in the run's dialect.
fn csv_line(builder: &csv::WriterBuilder, cells: &[String]) -> Result<Vec<u8>> {
    let mut writer = builder.from_writer(Vec::new());
    writer
        .write_record(cells)
        .map_err(|e| Error::not_sent("cannot write CSV").with_source(e))?;
    writer.into_inner().map_err(|e| {
        let error = e.into_error();
        Error::not_sent("cannot write CSV").with_source(error)
    })
}

/// A record's fields as CSV cells: nested objects become dotted names, null becomes `#N/A`.
fn flatten(
    n: u64,
    prefix: &str,
    value: serde_json::Value,
    out: &mut Vec<(String, String)>,
) -> Result<()> {
    use serde_json::Value;
    let Value::Object(map) = value else {
        return Err(Error::not_sent(format!(
            "record {n} is not a map of fields, so it cannot be a CSV row"
        )));
    };
    for (key, value) in map {
        // Typed records from queries carry `attributes`; it is not a field.
        if key == "attributes" {
            continue;
        }
        let name = if prefix.is_empty() {
            key
        } else {
            format!("{prefix}.{key}")
        };
        let cell = match value {
            Value::Null => "#N/A".to_string(),
            Value::String(s) => s,
            Value::Bool(b) => b.to_string(),
            Value::Number(x) => x.to_string(),
            Value::Object(_) => {
                flatten(n, &name, value, out)?;
                continue;
            }
            Value::Array(_) => {
                return Err(Error::not_sent(format!(
                    "record {n}: field {name} is a list, which a CSV cell cannot hold"
                )));
            }
        };
        out.push((name, cell));
    }
    Ok(())
}

/// An existing ingest job: made by [`Bulk::ingest_job`] from an id (for instance one saved
/// from an [`IngestSummary`] before a crash).
#[derive(Debug, Clone)]
pub struct IngestJob {
    client: Client,
    id: String,
}

/// What [`IngestJob::resume`] found.
#[derive(Debug, Clone)]
pub enum Resumed {
    /// The job is still `Open`: its upload was interrupted, so the org will never process it
    /// by itself. Either abort it ([`IngestJob::abort`]) and load its rows again, or, if
    /// nothing was uploaded, upload them ([`IngestJob::upload_csv`]) and close it
    /// ([`IngestJob::close`]).
    StillOpen(JobInfo),
    /// The job finished (completed, failed or aborted).
    Finished(JobSummary),
}

impl IngestJob {
    /// The job id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The job's current info (state and counters).
    pub async fn info(&self) -> Result<JobInfo> {
        job_info(&self.client, JobKind::Ingest, &self.id).await
    }

    /// Uploads the job's CSV (header row included) into an `Open` job. Salesforce takes one
    /// upload per job: a job that received two refuses to close (`INVALIDJOB`), so it never
    /// loads them. That is why the upload is retried through server errors and cut
    /// connections: a retry after an attempt that had landed can leave the job unclosable, but
    /// never loads a row twice (abort the job and upload to a new one).
    pub async fn upload_csv(&self, csv: impl Into<Bytes>) -> Result<()> {
        // Salesforce's behaviour: a second PUT on an Open job answers 201 and the close then
        // fails with 400 INVALIDJOB "Found multipe contents for job" (seen on real orgs,
        // salesforce.stackexchange.com; not in the reference).
        let call = JobKind::Ingest
            .call(Method::PUT, &[&self.id, "batches"])
            .body("text/csv", csv.into())
            .idempotent(true);
        self.client.execute(call).await?;
        Ok(())
    }

    /// Closes an `Open` job (`UploadComplete`) so the org processes it.
    pub async fn close(&self) -> Result<JobInfo> {
        match change_state(&self.client, JobKind::Ingest, &self.id, "UploadComplete").await {
            Ok(info) => Ok(info),
            // A retried close whose first attempt went through: the job is no longer Open.
            Err(error) if error.error_code() == Some("INVALIDJOBSTATE") => {
                let info = self.info().await?;
                if info.job_state() == Some(JobState::Open) {
                    Err(error)
                } else {
                    Ok(info)
                }
            }
            Err(error) => Err(error),
        }
    }

    /// Aborts the job: rows not yet processed are left undone (see
    /// [`ResultKind::Unprocessed`]). Fails if the job already finished.
    pub async fn abort(&self) -> Result<JobInfo> {
        change_state(&self.client, JobKind::Ingest, &self.id, "Aborted").await
    }

    /// Deletes the job and its results. An `Open` or `InProgress` job cannot be deleted.
    pub async fn delete(&self) -> Result<()> {
        delete_job(&self.client, JobKind::Ingest, &self.id).await
    }

    /// Waits until the job is finished (or found `Open`, which it stays until closed) and
    /// returns its info.
    pub async fn wait(&self, poll: &PollOptions) -> Result<JobInfo> {
        let deadline = Instant::now() + poll.timeout;
        wait_for(
            &self.client,
            JobKind::Ingest,
            &self.id,
            poll,
            deadline,
            |_| {},
        )
        .await
    }

    /// Picks the job up after a crash: waits for it (with `options.poll`) and, when
    /// `options.results_dir` is set, writes its results there. A job still `Open` is reported
    /// as [`Resumed::StillOpen`] without waiting.
    pub async fn resume(&self, options: &IngestOptions) -> Result<Resumed> {
        let info = self.wait(&options.poll).await?;
        if info.job_state() == Some(JobState::Open) {
            tracing::debug!(job = %self.id, "bulk ingest job is still open; its upload was interrupted");
            return Ok(Resumed::StillOpen(info));
        }
        Ok(Resumed::Finished(
            finished(&self.client, &info, options.results_dir.as_deref()).await?,
        ))
    }

    async fn fetch_results(&self, kind: ResultKind) -> Result<Bytes> {
        let call = JobKind::Ingest
            .call(Method::GET, &[&self.id, kind.segment()])
            .header(reqwest::header::ACCEPT, "text/csv")?;
        Ok(self.client.execute(call).await?.body)
    }

    /// Writes one kind of results, as the org sends them (CSV with a header), into `sink`,
    /// and returns how many bytes were written. A job's results are read as one response, so
    /// they are held in memory once (their size is bounded by the job's upload).
    pub async fn results_into<W: AsyncWrite + Unpin>(
        &self,
        kind: ResultKind,
        sink: &mut W,
    ) -> Result<u64> {
        let body = self.fetch_results(kind).await?;
        sink.write_all(&body)
            .await
            .and(sink.flush().await)
            .map_err(|e| {
                Error::io(
                    format!("cannot write the results of bulk job {}", self.id),
                    e,
                )
                .sent()
            })?;
        Ok(body.len() as u64)
    }

    /// One kind of results, parsed into rows.
    pub async fn results(&self, kind: ResultKind) -> Result<Vec<ResultRow>> {
        let info = self.info().await?;
        let delimiter = ColumnDelimiter::from_wire(&info.column_delimiter).byte();
        let body = self.fetch_results(kind).await?;
        parse_results(&self.id, &body, delimiter)
    }

    async fn write_result_files(&self, dir: &Path) -> Result<ResultFiles> {
        let mut paths = Vec::new();
        for kind in [
            ResultKind::Successful,
            ResultKind::Failed,
            ResultKind::Unprocessed,
        ] {
            let path = dir.join(format!("{}-{}.csv", self.id, kind.file_suffix()));
            let mut file = tokio::fs::File::create(&path)
                .await
                .map_err(|e| Error::io(format!("cannot create {}", path.display()), e).sent())?;
            self.results_into(kind, &mut file).await?;
            paths.push(path);
        }
        let mut paths = paths.into_iter();
        let mut next = || paths.next().unwrap_or_default();
        Ok(ResultFiles {
            successful: next(),
            failed: next(),
            unprocessed: next(),
        })
    }
}

fn parse_results(id: &str, body: &[u8], delimiter: u8) -> Result<Vec<ResultRow>> {
    let bad = |e: csv::Error| {
        Error::decode(
            format!("the results of bulk job {id} are not readable CSV"),
            e,
        )
    };
    // Flexible: a row uploaded with too few or too many cells comes back as it was uploaded.
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .from_reader(body);
    let header = reader.headers().map_err(bad)?.clone();
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(bad)?;
        let mut row = ResultRow {
            id: None,
            created: None,
            error: None,
            values: Vec::with_capacity(record.len()),
            extra_values: Vec::new(),
        };
        for (name, value) in header.iter().zip(record.iter()) {
            match name {
                "sf__Id" => row.id = Some(value.to_string()).filter(|v| !v.is_empty()),
                "sf__Created" => row.created = Some(value.eq_ignore_ascii_case("true")),
                "sf__Error" => row.error = Some(value.to_string()),
                _ => row.values.push((name.to_string(), value.to_string())),
            }
        }
        row.extra_values = record.iter().skip(header.len()).map(String::from).collect();
        rows.push(row);
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_flatten_into_cells() {
        let mut out = Vec::new();
        flatten(
            1,
            "",
            serde_json::json!({"attributes": {"type": "Contact"}, "LastName": "O\"Neil", "Email": null, "Age": 3, "Account": {"Ext__c": "A-1"}}),
            &mut out,
        )
        .unwrap();
        assert_eq!(
            out,
            [
                ("LastName".to_string(), "O\"Neil".to_string()),
                ("Email".into(), "#N/A".into()),
                ("Age".into(), "3".into()),
                ("Account.Ext__c".into(), "A-1".into()),
            ]
        );
        assert!(flatten(2, "", serde_json::json!([1]), &mut out).is_err());
    }

    #[test]
    fn results_split_salesforce_columns_from_the_row() {
        let rows = parse_results(
            "750",
            b"\"sf__Id\",\"sf__Error\",\"Name\"\n\"\",\"REQUIRED_FIELD_MISSING:x\",\"\"\n",
            b',',
        )
        .unwrap();
        assert_eq!(rows[0].id, None);
        assert_eq!(rows[0].error.as_deref(), Some("REQUIRED_FIELD_MISSING:x"));
        assert_eq!(rows[0].get("Name"), Some(""));
    }
}
