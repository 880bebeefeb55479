//! Bulk ingest: CSV (a file, any reader, or records turned into CSV) split into jobs at row
//! boundaries, uploaded, closed, waited for, and their per-row results; with a results
//! directory, the load is recorded there (`manifest.rs`) so an interrupted one can be resumed
//! without loading any row twice.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use forcebridge_wire::bulk::{CreateIngestJob, JobInfo};
use futures_util::{Stream, StreamExt};
use reqwest::Method;
use serde::Serialize;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};

use super::manifest::{InputIdentity, LOAD_RECORD_FILE, Manifest, ManifestJob, lock_dir};
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
    /// The operation as the API names it (`insert`, `hardDelete`, ...).
    fn wire(&self) -> &'static str {
        match self {
            IngestOperation::Insert => "insert",
            IngestOperation::Update => "update",
            IngestOperation::Upsert { .. } => "upsert",
            IngestOperation::Delete => "delete",
            IngestOperation::HardDelete => "hardDelete",
        }
    }

    fn external_id_field(&self) -> Option<&str> {
        match self {
            IngestOperation::Upsert { external_id_field } => Some(external_id_field),
            _ => None,
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
    /// When set (the directory must exist), each finished job's successful, failed and
    /// unprocessed results are written to `<dir>/<job id>-successful.csv`, `-failed.csv` and
    /// `-unprocessed.csv`, and the summary says where. The load itself is recorded there too,
    /// in [`LOAD_RECORD_FILE`]: the input, and each job with its input rows and state, written
    /// as soon as the job exists and before its upload. A new load replaces the record of an
    /// earlier one; [`IngestBuilder::resuming`] goes on with it instead.
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

/// What just happened to a job, in an [`IngestProgress`] report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum JobEvent {
    /// The org created the job: its id exists from now on, and its upload starts next. A job
    /// whose upload does not finish stays `Open` and is never processed.
    Created,
    /// Its upload went through and it was closed: the org processes it.
    Closed,
    /// It was polled while the ingest waits for it.
    Polled,
    /// A job of an interrupted run of this load, found on the org when the load was resumed
    /// ([`IngestBuilder::resuming`]); its rows are not sent again. A state of `None` means the
    /// org no longer has it.
    Resumed,
    /// A job that was still `Open` (its upload did not finish), now aborted: its rows go to a
    /// new job.
    Replaced,
}

/// Where an ingest stands, reported to [`IngestBuilder::on_progress`] whenever a job is
/// created, closed, polled, resumed or replaced. The counts are over the whole load so far;
/// `job` and `event` say what this report is about.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct IngestProgress {
    /// Jobs uploaded and closed so far (jobs of an interrupted run included when resuming).
    pub jobs_created: usize,
    /// Rows uploaded into closed jobs so far.
    pub records_uploaded: u64,
    /// Rows the org has processed (succeeded or failed) so far.
    pub records_processed: u64,
    /// Rows that failed so far.
    pub records_failed: u64,
    /// The job this report is about, with its id, rows and last known state.
    pub job: StartedJob,
    /// What happened to it.
    pub event: JobEvent,
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
    /// `JobComplete`, `Failed` or `Aborted` (`None` for a state this client does not know, or
    /// a job of a resumed load that the org no longer has).
    pub state: Option<JobState>,
    /// The input rows it holds (data rows counted from 0, the header not counted); `None`
    /// for a job picked up by id alone ([`IngestJob::resume`]).
    pub rows: Option<Range<u64>>,
    /// Whether an earlier, interrupted run of the load opened it ([`IngestBuilder::resuming`]).
    pub resumed: bool,
    /// The rows uploaded into this job (0 when the job was picked up by id).
    pub records_uploaded: u64,
    /// Rows the org processed, succeeded or failed (`numberRecordsProcessed`).
    pub records_processed: u64,
    /// Rows that failed (`numberRecordsFailed`); their errors are in the failed results.
    pub records_failed: u64,
    /// Why the job as a whole failed (or why it could not be followed).
    pub error_message: Option<String>,
    /// Where the job's results were written, when [`IngestOptions::results_dir`] was set.
    pub results: Option<ResultFiles>,
}

/// How an ingest ended, over all its jobs. Rows that failed are data here, not an error: see
/// each job's failed results.
#[derive(Debug, Clone, Default)]
pub struct IngestSummary {
    /// Every job, in upload order (when resuming, the interrupted run's jobs first).
    pub jobs: Vec<JobSummary>,
    /// Jobs that were aborted while still `Open` because their upload had not finished (an
    /// interrupted run, or an upload the org received twice); their rows are in later jobs.
    pub replaced: Vec<StartedJob>,
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

/// A job of an ingest: as [`IngestProgress`] reports it, and as [`crate::Error::bulk_jobs`]
/// names the jobs a failed ingest had opened (resume them by id, or abort them, rather than
/// load their rows a second time).
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
    /// The rows uploaded into it (0 until its upload completed).
    pub records: u64,
    /// The input rows it holds: data rows counted from 0, the header not counted.
    pub rows: Range<u64>,
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
    resume: bool,
}

impl std::fmt::Debug for IngestBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IngestBuilder")
            .field("object", &self.object)
            .field("operation", &self.operation)
            .field("options", &self.options)
            .field("resume", &self.resume)
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
            resume: false,
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

    /// Called whenever a job is created (before its upload: the first moment its id is
    /// known), closed, polled, resumed or replaced, with the job and the totals so far (for
    /// messages and a progress bar). It runs on the task driving the ingest, so it should
    /// return quickly.
    pub fn on_progress(
        mut self,
        progress: impl Fn(&IngestProgress) + Send + Sync + 'static,
    ) -> IngestBuilder {
        self.progress = Some(Arc::new(progress));
        self
    }

    /// Goes on with the load recorded in [`IngestOptions::results_dir`] (which it needs),
    /// when there is one, instead of starting a new load: an ingest that was interrupted (a
    /// crash, a dropped future, a failure) is run again with the same object, operation and
    /// input file, and
    ///
    /// - its finished jobs are not loaded again: their results are fetched;
    /// - its jobs still running on the org are waited for;
    /// - a job still `Open` (its upload did not finish, so the org has processed none of its
    ///   rows) is aborted, and its rows are sent in a new job; so is a job found `Aborted` that
    ///   was never closed and processed no row;
    /// - the input rows after the last recorded job are loaded as usual.
    ///
    /// A record of another load (another object, operation or input file) is refused with an
    /// [`ErrorKind::NotSent`] error ([`crate::Error::is_other_load`]), before anything is sent;
    /// so is any record when the input is a reader or records, which cannot be read again.
    /// Without a record the load starts as usual.
    pub fn resuming(mut self) -> IngestBuilder {
        self.resume = true;
        self
    }

    /// Creates the ingest job alone (`POST /jobs/ingest` with the object, the operation, the
    /// external id field, and the options' delimiter and line ending) and uploads nothing, so
    /// the caller can save the job's id before the first row leaves, then finish it with
    /// [`IngestJob::upload_csv`], [`IngestJob::close`], [`IngestJob::wait`] and
    /// [`IngestJob::results`] (or [`IngestJob::abort`] it). A job created so and never
    /// closed stays `Open` and loads nothing. The progress callback and [`Self::resuming`] do
    /// not apply; the job is not recorded in a results directory.
    ///
    /// Not retried after a failure that may have reached the org (a second job would be left
    /// open); on a read-only client it fails with [`ErrorKind::NotSent`] and sends nothing.
    pub async fn create_job(&self) -> Result<IngestJob> {
        if self.client.access() == crate::Access::ReadOnly {
            return Err(Error::not_sent(format!(
                "bulk {} into {}: refused, because this connection is read-only",
                self.operation.wire(),
                self.object
            )));
        }
        let job =
            create_ingest_job(&self.client, &self.object, &self.operation, &self.options).await?;
        tracing::debug!(job = %job.id, object = %self.object, operation = self.operation.wire(), "bulk ingest job created alone");
        Ok(job)
    }

    /// The CSV that [`Self::from_records`] would upload for `records`, in one piece, in the
    /// options' delimiter, line ending and columns (by default the first record's fields),
    /// for [`IngestJob::upload_csv`] into a job made by [`Self::create_job`]. Sends nothing.
    /// Fails with [`ErrorKind::NotSent`] when there is no record, when a record cannot be a
    /// row, or when the CSV is larger than [`IngestOptions::max_upload_bytes`] (one job takes
    /// one upload, so split the records over several jobs).
    pub fn records_csv<T: Serialize>(&self, records: impl IntoIterator<Item = T>) -> Result<Bytes> {
        let (mut rows, header) = CsvRows::new(&self.options)?;
        let mut out = header.unwrap_or_default();
        let mut n = 0u64;
        for record in records {
            n += 1;
            let (header, line) = rows.line(n, &record)?;
            out.extend(header.unwrap_or_default());
            out.extend(line);
            if out.len() > self.options.max_upload_bytes {
                return Err(Error::not_sent(format!(
                    "the CSV of these records is larger than one upload of at most {} bytes (at record {n}); split them over several jobs",
                    self.options.max_upload_bytes
                )));
            }
        }
        if n == 0 {
            return Err(Error::not_sent(format!(
                "bulk {} into {}: no records to write as CSV",
                self.operation.wire(),
                self.object
            )));
        }
        Ok(Bytes::from(out))
    }

    /// Loads a CSV file: its first row names the fields. The file is read as it is uploaded,
    /// one job's worth at a time.
    pub async fn from_csv_file(self, path: impl AsRef<Path>) -> Result<IngestSummary> {
        let path = path.as_ref();
        let identity = match &self.options.results_dir {
            Some(_) => {
                let owned = path.to_path_buf();
                tokio::task::spawn_blocking(move || InputIdentity::of_file(&owned))
                    .await
                    .map_err(|e| {
                        Error::new(
                            ErrorKind::Io,
                            format!("cannot read {}: {e}", path.display()),
                        )
                    })?
                    .map_err(|e| Error::io(format!("cannot read {}", path.display()), e))?
            }
            None => InputIdentity::stream(),
        };
        let file = tokio::fs::File::open(path)
            .await
            .map_err(|e| Error::io(format!("cannot open {}", path.display()), e))?;
        let mut run = Run::start(self, identity).await?;
        let fed = feed_csv(&mut run, file).await;
        run.finish(fed).await
    }

    /// Loads CSV from any reader: its first row names the fields. Rows are passed through as
    /// they are (so they must use the delimiter and line ending of the options).
    pub async fn from_csv_reader<R: AsyncRead + Unpin>(self, reader: R) -> Result<IngestSummary> {
        let mut run = Run::start(self, InputIdentity::stream()).await?;
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
        let mut run = Run::start(self, InputIdentity::stream()).await?;
        let fed = feed_records(&mut run, records).await;
        run.finish(fed).await
    }
}

/// The counts an ingest reports.
#[derive(Debug, Clone, Copy, Default)]
struct Counts {
    jobs_created: usize,
    records_uploaded: u64,
    records_processed: u64,
    records_failed: u64,
}

/// A job of the run: one it opened, or one of an interrupted run it resumed.
#[derive(Debug, Clone)]
struct Tracked {
    job: StartedJob,
    resumed: bool,
    /// A resumed job the org no longer has.
    gone: bool,
}

/// One ingest in progress: the upload being filled, the jobs already closed, and the record
/// of the load.
struct Run {
    client: Client,
    object: String,
    operation: IngestOperation,
    options: IngestOptions,
    progress_fn: Option<ProgressFn>,
    counts: Counts,
    header: Vec<u8>,
    upload: Vec<u8>,
    rows_in_upload: u64,
    /// The input row the upload being filled starts with.
    upload_first_row: u64,
    /// Data rows read so far (the index of the next one).
    rows_seen: u64,
    /// Every job of the load so far, in order, with its last known state.
    started: Vec<Tracked>,
    /// Jobs aborted while `Open`, whose rows went to later jobs.
    replaced: Vec<StartedJob>,
    /// The record of the load, when there is a results directory.
    manifest: Option<Manifest>,
    /// Input rows held by jobs of an interrupted run, which are not sent again (sorted).
    skip: Vec<Range<u64>>,
    /// The first range of `skip` that may still hold a row to come.
    skip_cursor: usize,
    /// Whether this run has written the record yet (its first write claims it).
    claimed: bool,
    /// The OS lock on the results directory, held for as long as the run lives.
    _lock: Option<std::fs::File>,
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
            return Err(Error::not_sent(
                "the most bytes per upload must be at least 1",
            ));
        }
        if builder.resume && builder.options.results_dir.is_none() {
            return Err(Error::not_sent(
                "resuming a load needs its results directory, where the load is recorded",
            ));
        }
        Ok(Run {
            client: builder.client,
            object: builder.object,
            operation: builder.operation,
            options: builder.options,
            progress_fn: builder.progress,
            counts: Counts::default(),
            header: Vec::new(),
            upload: Vec::new(),
            rows_in_upload: 0,
            upload_first_row: 0,
            rows_seen: 0,
            started: Vec::new(),
            replaced: Vec::new(),
            manifest: None,
            skip: Vec::new(),
            skip_cursor: 0,
            claimed: false,
            _lock: None,
        })
    }

    /// A run of `builder` over the input known as `input`: with a results directory, the
    /// load is recorded there, or, when resuming, the record found there is taken up (its
    /// jobs looked up on the org, open ones aborted).
    async fn start(builder: IngestBuilder, input: InputIdentity) -> Result<Run> {
        let resume = builder.resume;
        let mut run = Run::new(builder)?;
        let Some(dir) = run.options.results_dir.clone() else {
            return Ok(run);
        };
        let lock = {
            let dir = dir.clone();
            blocking(&dir.join(LOAD_RECORD_FILE), move || lock_dir(&dir))
                .await
                .map_err(Error::nothing_sent)?
        };
        let Some(lock) = lock else {
            return Err(Error::not_sent(format!(
                "another run is loading into {} (it holds the lock on its load record); wait for it to end, or give this load another results directory",
                dir.display()
            )));
        };
        run._lock = Some(lock);
        let fresh = Manifest::new(
            &run.object,
            run.operation.wire(),
            run.operation.external_id_field(),
            run.options.column_delimiter.wire(),
            run.options.line_ending.wire(),
            input,
        );
        let recorded = if resume {
            let dir = dir.clone();
            blocking(&dir.join(LOAD_RECORD_FILE), move || {
                Ok(Manifest::read(&dir))
            })
            .await?
            .map_err(Error::nothing_sent)?
        } else {
            None
        };
        match recorded {
            None => {
                run.manifest = Some(fresh);
                run.save_manifest().await.map_err(Error::nothing_sent)?;
            }
            Some(recorded) if !recorded.same_load(&fresh) => {
                let path = dir.join(LOAD_RECORD_FILE);
                let why = if fresh.input.path.is_none() {
                    "input read from a stream cannot be matched to a recorded load".to_string()
                } else {
                    format!("this is a load of {}", fresh.describe())
                };
                return Err(Error::not_sent(format!(
                    "{} records another load ({}, {}); {why}: a results directory holds one load, so resume that one, start this one over, or give this one another directory",
                    path.display(),
                    recorded.describe(),
                    count_jobs(recorded.jobs.iter().filter(|j| !j.replaced).count()),
                ))
                .other_load());
            }
            Some(mut recorded) => {
                // This run owns the record from now on (a late write of the interrupted run
                // is dropped), and it names the input where it is now.
                recorded.run = fresh.run;
                recorded.input = fresh.input;
                run.take_up(recorded).await?
            }
        }
        Ok(run)
    }

    /// Takes up the jobs of an interrupted run of this load: each is looked up on the org;
    /// one still `Open` is aborted and its rows will be sent again; the others are followed
    /// to the end, their rows skipped.
    async fn take_up(&mut self, recorded: Manifest) -> Result<()> {
        let mut manifest = recorded;
        for n in 0..manifest.jobs.len() {
            let entry = manifest.jobs[n].clone();
            if entry.replaced {
                continue;
            }
            let rows = entry.first_row..entry.first_row + entry.rows;
            let job = IngestJob {
                client: self.client.clone(),
                id: entry.id.clone(),
            };
            let mut info = match job.info().await {
                Ok(info) => Some(info),
                Err(error) if error.status() == Some(404) => None,
                Err(error) => return Err(self.failed(error)),
            };
            let never_closed = entry.state == JobState::Open.as_str();
            let mut replace = false;
            if info.as_ref().and_then(JobInfo::job_state) == Some(JobState::Open) {
                match job.abort().await {
                    Ok(_) => replace = true,
                    // Closed by someone in the meantime: follow it instead.
                    Err(error) if error.error_code() == Some("INVALIDJOBSTATE") => {
                        info = Some(job.info().await.map_err(|e| self.failed(e))?);
                    }
                    Err(error) => return Err(self.failed(error)),
                }
            }
            let state = info.as_ref().and_then(JobInfo::job_state);
            let processed = info
                .as_ref()
                .and_then(|i| i.number_records_processed)
                .unwrap_or(0);
            // Aborted before it was ever closed (say by hand after an interrupt): it processed
            // nothing, so none of its rows was loaded.
            if state == Some(JobState::Aborted) && never_closed && processed == 0 {
                replace = true;
            }
            let started = StartedJob {
                id: entry.id.clone(),
                state: if replace {
                    Some(JobState::Aborted)
                } else {
                    state
                },
                records: if replace { 0 } else { entry.rows },
                rows: rows.clone(),
            };
            if replace {
                tracing::debug!(job = %entry.id, "bulk ingest job of an interrupted run was open; aborted, its rows go to a new job");
                manifest.jobs[n].replaced = true;
                manifest.jobs[n].state = JobState::Aborted.as_str().to_string();
                self.manifest = Some(manifest.clone());
                self.save_manifest().await?;
                self.replaced.push(started.clone());
                self.report(&started, JobEvent::Replaced);
            } else {
                if let Some(state) = state {
                    manifest.jobs[n].state = state.as_str().to_string();
                }
                self.counts.jobs_created += 1;
                self.counts.records_uploaded += entry.rows;
                self.skip.push(rows);
                self.started.push(Tracked {
                    job: started.clone(),
                    resumed: true,
                    gone: info.is_none(),
                });
                self.report(&started, JobEvent::Resumed);
            }
        }
        self.skip.sort_by_key(|r| r.start);
        self.manifest = Some(manifest);
        self.save_manifest().await
    }

    fn report(&self, job: &StartedJob, event: JobEvent) {
        if let Some(progress) = &self.progress_fn {
            progress(&progress_of(&self.counts, job, event));
        }
    }

    /// Writes the record of the load, if there is one; the run's first write claims it.
    async fn save_manifest(&mut self) -> Result<()> {
        let (Some(manifest), Some(dir)) = (&self.manifest, &self.options.results_dir) else {
            return Ok(());
        };
        let (manifest, dir, claim) = (manifest.clone(), dir.clone(), !self.claimed);
        let path = dir.join(LOAD_RECORD_FILE);
        let written = blocking(&path, move || manifest.save(&dir, claim)).await?;
        if !written {
            return Err(Error::new(
                ErrorKind::Io,
                format!(
                    "{} was taken over by another run of the load; this one stops",
                    path.display()
                ),
            )
            .sent());
        }
        self.claimed = true;
        Ok(())
    }

    /// Records a change to job `id` in the load's record and writes it.
    async fn record_job(&mut self, id: &str, change: impl FnOnce(&mut ManifestJob)) -> Result<()> {
        let Some(manifest) = &mut self.manifest else {
            return Ok(());
        };
        if let Some(entry) = manifest.jobs.iter_mut().find(|j| j.id == id) {
            change(entry);
        }
        self.save_manifest().await
    }

    fn set_header(&mut self, header: Vec<u8>) {
        self.upload.clear();
        self.upload.extend_from_slice(&header);
        self.header = header;
    }

    /// Whether input row `index` is held by a job of an interrupted run. Rows come in order,
    /// so the ranges behind them are passed once.
    fn skipped(&mut self, index: u64) -> bool {
        while self
            .skip
            .get(self.skip_cursor)
            .is_some_and(|range| range.end <= index)
        {
            self.skip_cursor += 1;
        }
        self.skip
            .get(self.skip_cursor)
            .is_some_and(|range| range.contains(&index))
    }

    /// Adds one complete row (with its line ending), first sending the upload if the row
    /// would not fit. A row that a job of an interrupted run holds is not sent again; the rows
    /// gathered before it are sent first, so that each job holds consecutive input rows.
    async fn push_row(&mut self, row: &[u8]) -> Result<()> {
        let index = self.rows_seen;
        self.rows_seen += 1;
        if self.skipped(index) {
            return self.send_upload().await;
        }
        if self.header.len() + row.len() > self.options.max_upload_bytes {
            return Err(Error::not_sent(format!(
                "row {} is {} bytes, which with the header does not fit in one upload of at most {} bytes",
                self.rows_seen,
                row.len(),
                self.options.max_upload_bytes
            )));
        }
        if self.upload.len() + row.len() > self.options.max_upload_bytes {
            self.send_upload().await?;
        }
        if self.rows_in_upload == 0 {
            self.upload_first_row = index;
        }
        self.upload.extend_from_slice(row);
        self.rows_in_upload += 1;
        Ok(())
    }

    /// Creates a job, records it, uploads what was gathered, and closes the job.
    ///
    /// The job is reported and recorded in the load's record as soon as the org has created
    /// it, before the upload: a run interrupted during the upload leaves a job `Open`, which
    /// a resumed run aborts and replaces.
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
        let range = self.upload_first_row..self.upload_first_row + rows;
        let mut tries_left = 2;
        loop {
            tries_left -= 1;
            let job = self.create_job().await?;
            tracing::debug!(job = %job.id, object = %self.object, rows, bytes = body.len(), "bulk ingest job created; uploading");
            let started = StartedJob {
                id: job.id.clone(),
                state: Some(JobState::Open),
                records: 0,
                rows: range.clone(),
            };
            self.started.push(Tracked {
                job: started.clone(),
                resumed: false,
                gone: false,
            });
            self.report(&started, JobEvent::Created);
            if let Some(manifest) = &mut self.manifest {
                manifest.jobs.push(ManifestJob {
                    id: job.id.clone(),
                    first_row: range.start,
                    rows,
                    state: JobState::Open.as_str().to_string(),
                    replaced: false,
                });
                self.save_manifest().await?;
            }
            job.upload_csv(body.clone()).await?;
            let closed = job.close().await;
            let last = &mut self.started.last_mut().expect("pushed above").job;
            match closed {
                Ok(info) => {
                    last.state = info.job_state();
                    last.records = rows;
                    let closed = last.clone();
                    self.record_job(&job.id, |entry| entry.state = info.state.clone())
                        .await?;
                    self.counts.jobs_created += 1;
                    self.counts.records_uploaded += rows;
                    self.report(&closed, JobEvent::Closed);
                    return Ok(());
                }
                Err(error) if tries_left > 0 && error.error_code() == Some("INVALIDJOB") => {
                    tracing::warn!(job = %job.id, %error, "the org refused to close the job (a retried upload may have landed twice); aborting it and uploading to a new job");
                    let aborted = job.abort().await?;
                    last.state = aborted.job_state();
                    // Aborted before it processed anything: its rows go to the next job.
                    let replaced = self.started.pop().expect("pushed above").job;
                    self.record_job(&job.id, |entry| {
                        entry.state = aborted.state.clone();
                        entry.replaced = true;
                    })
                    .await?;
                    self.report(&replaced, JobEvent::Replaced);
                    self.replaced.push(replaced);
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
    }

    /// Creates one job for the next upload. Not retried after a failure that may have
    /// reached the org, since a second job would be left open.
    async fn create_job(&self) -> Result<IngestJob> {
        create_ingest_job(&self.client, &self.object, &self.operation, &self.options).await
    }

    /// `error`, naming the jobs of the load so far and their states (as data, and in words).
    fn failed(&self, error: Error) -> Error {
        let jobs: Vec<StartedJob> = self
            .started
            .iter()
            .filter(|t| !t.gone)
            .map(|t| t.job.clone())
            .collect();
        if jobs.is_empty() {
            return error;
        }
        let words: Vec<String> = jobs
            .iter()
            .map(|job| {
                let state = job.state.map_or("state unknown", JobState::as_str);
                format!("{} ({state}, {} rows)", job.id, job.records)
            })
            .collect();
        error
            .with_note(format!("bulk jobs opened: {}", words.join(", ")))
            .with_bulk_jobs(jobs)
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
            records_uploaded: self.counts.records_uploaded,
            replaced: self.replaced.clone(),
            ..IngestSummary::default()
        };
        for n in 0..self.started.len() {
            let tracked = self.started[n].clone();
            if tracked.gone {
                summary.jobs.push(JobSummary {
                    id: tracked.job.id.clone(),
                    state: None,
                    rows: Some(tracked.job.rows.clone()),
                    resumed: true,
                    records_uploaded: tracked.job.records,
                    records_processed: 0,
                    records_failed: 0,
                    error_message: Some(
                        "the org no longer has this job (finished jobs are deleted after 7 days), so what became of its rows is unknown".into(),
                    ),
                    results: None,
                });
                continue;
            }
            let id = tracked.job.id.clone();
            let waited = {
                let done = self.counts;
                let progress_fn = self.progress_fn.clone();
                let counts = &mut self.counts;
                let job = &mut self.started[n].job;
                wait_for(
                    &self.client,
                    JobKind::Ingest,
                    &id,
                    &self.options.poll,
                    deadline,
                    |info| {
                        job.state = info.job_state();
                        counts.records_processed =
                            done.records_processed + info.number_records_processed.unwrap_or(0);
                        counts.records_failed =
                            done.records_failed + info.number_records_failed.unwrap_or(0);
                        if let Some(report) = &progress_fn {
                            report(&progress_of(counts, job, JobEvent::Polled));
                        }
                    },
                )
                .await
            };
            let info = match waited {
                Ok(info) => info,
                Err(error) => return Err(self.failed(error)),
            };
            let recorded = self
                .record_job(&id, |entry| entry.state = info.state.clone())
                .await;
            if let Err(error) = recorded {
                return Err(self.failed(error));
            }
            let mut job =
                match finished(&self.client, &info, self.options.results_dir.as_deref()).await {
                    Ok(job) => job,
                    Err(error) => return Err(self.failed(error)),
                };
            job.records_uploaded = tracked.job.records;
            job.rows = Some(tracked.job.rows.clone());
            job.resumed = tracked.resumed;
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

/// `POST /jobs/ingest`: one job for `operation` on `object` in the options' CSV dialect.
async fn create_ingest_job(
    client: &Client,
    object: &str,
    operation: &IngestOperation,
    options: &IngestOptions,
) -> Result<IngestJob> {
    let create = CreateIngestJob {
        object: object.to_string(),
        operation: operation.wire().to_string(),
        external_id_field_name: operation.external_id_field().map(str::to_string),
        content_type: Some("CSV".into()),
        line_ending: Some(options.line_ending.wire().into()),
        column_delimiter: Some(options.column_delimiter.wire().into()),
        assignment_rule_id: None,
    };
    let call = JobKind::Ingest.call(Method::POST, &[]).json(&create)?;
    let info: JobInfo = client.execute_json(call).await?;
    Ok(IngestJob {
        client: client.clone(),
        id: info.id,
    })
}

fn progress_of(counts: &Counts, job: &StartedJob, event: JobEvent) -> IngestProgress {
    IngestProgress {
        jobs_created: counts.jobs_created,
        records_uploaded: counts.records_uploaded,
        records_processed: counts.records_processed,
        records_failed: counts.records_failed,
        job: job.clone(),
        event,
    }
}

fn count_jobs(n: usize) -> String {
    format!("{n} job{}", if n == 1 { "" } else { "s" })
}

/// Runs file work on the blocking pool; a failure names `path`. Requests may have been sent
/// by then, so the error counts as sent unless the caller says otherwise.
async fn blocking<T: Send + 'static>(
    path: &Path,
    work: impl FnOnce() -> std::io::Result<T> + Send + 'static,
) -> Result<T> {
    let what = path.display().to_string();
    match tokio::task::spawn_blocking(work).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => Err(Error::io(format!("cannot write {what}"), e).sent()),
        Err(join) => Err(Error::new(
            ErrorKind::Io,
            format!("the writer of {what} stopped: {join}"),
        )
        .sent()),
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
        rows: None,
        resumed: false,
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
    let (mut rows, header) = CsvRows::new(&run.options)?;
    if let Some(header) = header {
        run.set_header(header);
    }
    let mut records = std::pin::pin!(records);
    let mut n = 0u64;
    while let Some(record) = records.next().await {
        n += 1;
        let record = record.map_err(|e| Error::io(format!("reading record {n} failed"), e))?;
        let (header, line) = rows.line(n, &record)?;
        if let Some(header) = header {
            run.set_header(header);
        }
        run.push_row(&line).await?;
    }
    Ok(())
}

/// Records as CSV lines in the options' dialect: their columns are the options' or else the
/// first record's fields, and every other record must fit them.
struct CsvRows {
    writer: csv::WriterBuilder,
    columns: Option<Vec<String>>,
}

impl CsvRows {
    /// The rows, and the header line when the options name the columns.
    fn new(options: &IngestOptions) -> Result<(CsvRows, Option<Vec<u8>>)> {
        let writer = csv_writer(options);
        let header = match &options.columns {
            Some(columns) => Some(csv_line(&writer, columns)?),
            None => None,
        };
        let columns = options.columns.clone();
        Ok((CsvRows { writer, columns }, header))
    }

    /// Record `n`'s line, after the header line when this first record names the columns.
    fn line<T: Serialize>(&mut self, n: u64, record: &T) -> Result<(Option<Vec<u8>>, Vec<u8>)> {
        let value = serde_json::to_value(record).map_err(|e| {
            Error::not_sent(format!("record {n} cannot be serialized")).with_source(e)
        })?;
        let mut cells = Vec::new();
        flatten(n, "", value, &mut cells)?;
        let mut header = None;
        let columns = match &mut self.columns {
            Some(columns) => columns,
            None => {
                let names: Vec<String> = cells.iter().map(|(k, _)| k.clone()).collect();
                header = Some(csv_line(&self.writer, &names)?);
                self.columns.insert(names)
            }
        };
        let line = csv_line(&self.writer, &row_of(n, cells, columns)?)?;
        Ok((header, line))
    }
}

/// The CSV writer settings of the options' dialect.
fn csv_writer(options: &IngestOptions) -> csv::WriterBuilder {
    let mut writer = csv::WriterBuilder::new();
    writer
        .delimiter(options.column_delimiter.byte())
        .terminator(match options.line_ending {
            LineEnding::Lf => csv::Terminator::Any(b'\n'),
            LineEnding::CrLf => csv::Terminator::CRLF,
        })
        .buffer_capacity(256);
    writer
}

/// Record `n`'s cells in the order of `columns` (a column it lacks is an empty cell).
fn row_of(n: u64, cells: Vec<(String, String)>, columns: &[String]) -> Result<Vec<String>> {
    let mut row = vec![String::new(); columns.len()];
    for (name, cell) in cells {
        let Some(i) = columns.iter().position(|c| *c == name) else {
            return Err(Error::not_sent(format!(
                "record {n} has a field {name} that is not among the columns ({}), which the first record names unless the columns are given",
                columns.join(", ")
            )));
        };
        row[i] = cell;
    }
    Ok(row)
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
        let mut summary = finished(&self.client, &info, options.results_dir.as_deref()).await?;
        summary.resumed = true;
        Ok(Resumed::Finished(summary))
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
