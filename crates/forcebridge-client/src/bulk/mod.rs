//! Bulk API 2.0: ingest jobs (`/jobs/ingest`) and query jobs (`/jobs/query`), through
//! [`Client::bulk`].
//!
//! - **Ingest** ([`Bulk::ingest`]) loads a CSV file, any `AsyncRead` of CSV, or a stream of
//!   records into one or more jobs, splitting large input at row boundaries so no upload goes
//!   over [`IngestOptions::max_upload_bytes`]. At most one job's upload is held in memory. It
//!   waits for every job and reports what happened to each row ([`IngestSummary`]).
//! - **Query** ([`Bulk::query`]) runs a query job and downloads its CSV result page by page
//!   (`maxRecords`, `locator`) into any `AsyncWrite`, holding one page at a time.
//! - **Export** ([`QueryJob::export_to_file`]) writes a query job's result to a file that
//!   survives a crash: pages go to `FILE.part`, where the next one starts is saved in
//!   `FILE.part.state` after each, and [`QueryJob::resume_export`] goes on from there.
//! - **Resuming a load** ([`IngestBuilder::resuming`]): with a results directory, a load is
//!   recorded there ([`LOAD_RECORD_FILE`]: the input, and each job with its input rows and
//!   state, written before the job's upload), so running an interrupted load again loads no
//!   row twice: finished jobs are not loaded again, running ones are waited for, and an open
//!   one (its upload cut short) is aborted and its rows sent in a new job.
//! - **Jobs by id** ([`Bulk::ingest_job`], [`Bulk::query_job`], [`Bulk::find_job`]) pick up a
//!   job after a crash: wait for it, fetch its results, continue a download from a saved
//!   locator, abort, delete.
//! - **Listing** ([`Bulk::jobs`], [`Bulk::ingest_jobs`], [`Bulk::query_jobs`]): the org's jobs
//!   as a lazy stream, page by page.
//!
//! Every request goes through the client's one road, so read-only mode, retries and the API
//! budget hold: ingest jobs are writes (a read-only client refuses them before sending
//! anything); query jobs are reads, and their SOQL is checked before the job is created.
//!
//! What is retried: polling, results and locators freely; creating a query job and uploading an
//! ingest job's data through server errors and cut connections too, as neither can change data
//! twice (a repeated query job is an unused job; Salesforce keeps one upload per ingest job and
//! refuses to close a job that received two, so rows are never loaded twice — the ingest then
//! aborts that job and uploads to a new one). Creating an ingest job is retried only when
//! nothing can have reached the org, unless [`crate::RetryPolicy::retry_non_idempotent`] says
//! otherwise, since a second job would be left open.
//!
//! ```no_run
//! # async fn demo(client: forcebridge_client::Client) -> forcebridge_client::Result<()> {
//! use forcebridge_client::bulk::{IngestOperation, IngestOptions};
//!
//! let summary = client
//!     .bulk()
//!     .ingest("Contact", IngestOperation::Insert)
//!     .options(IngestOptions {
//!         results_dir: Some("results".into()),
//!         ..IngestOptions::default()
//!     })
//!     .on_progress(|p| tracing::info!(uploaded = p.records_uploaded, processed = p.records_processed))
//!     .from_csv_file("contacts.csv")
//!     .await?;
//! println!("{} rows failed in jobs {:?}", summary.records_failed, summary.job_ids());
//!
//! let mut file = tokio::fs::File::create("accounts.csv").await.unwrap();
//! let query = client.bulk().query("SELECT Id, Name FROM Account").max_records(50_000);
//! let done = query.write_to(&mut file).await?;
//! println!("{} rows in {} pages", done.records, done.pages);
//! # Ok(()) }
//! ```

mod export;
mod ingest;
mod jobs;
mod manifest;
mod query;

use std::time::{Duration, Instant};

use reqwest::Method;

use crate::client::Client;
use crate::error::{Error, ErrorKind, Result};
use crate::http::Call;

pub use export::{ExportProgress, ExportSummary, export_part_paths};
pub use ingest::{
    DEFAULT_MAX_UPLOAD_BYTES, IngestBuilder, IngestJob, IngestOperation, IngestOptions,
    IngestProgress, IngestSummary, JobEvent, JobSummary, ResultFiles, ResultKind, ResultRow,
    Resumed, StartedJob,
};
pub use jobs::{JobListing, JobStream, ListedJob};
pub use manifest::LOAD_RECORD_FILE;
pub use query::{QueryJob, QueryOptions, QueryPage, QueryPageStream, QuerySummary, QueryWork};

/// Bulk API 2.0 on one client: made by [`Client::bulk`], cheap to clone.
#[derive(Debug, Clone)]
pub struct Bulk {
    client: Client,
}

impl Client {
    /// Bulk API 2.0: ingest and query jobs.
    pub fn bulk(&self) -> Bulk {
        Bulk {
            client: self.clone(),
        }
    }
}

/// What [`IngestJob::info`] and [`IngestJob::wait`] answer: a job's state and counters.
pub use forcebridge_wire::bulk::JobInfo;
pub use forcebridge_wire::bulk::JobState;

/// The column delimiter of a job's CSV (input and results).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ColumnDelimiter {
    #[default]
    /// `,` (the default).
    Comma,
    /// A tab.
    Tab,
    /// `|`.
    Pipe,
    /// `;`.
    Semicolon,
    /// `^`.
    Caret,
    /// `` ` ``.
    Backquote,
}

impl ColumnDelimiter {
    /// The byte it stands for.
    pub fn byte(self) -> u8 {
        match self {
            ColumnDelimiter::Comma => b',',
            ColumnDelimiter::Tab => b'\t',
            ColumnDelimiter::Pipe => b'|',
            ColumnDelimiter::Semicolon => b';',
            ColumnDelimiter::Caret => b'^',
            ColumnDelimiter::Backquote => b'`',
        }
    }

    fn wire(self) -> &'static str {
        match self {
            ColumnDelimiter::Comma => "COMMA",
            ColumnDelimiter::Tab => "TAB",
            ColumnDelimiter::Pipe => "PIPE",
            ColumnDelimiter::Semicolon => "SEMICOLON",
            ColumnDelimiter::Caret => "CARET",
            ColumnDelimiter::Backquote => "BACKQUOTE",
        }
    }

    fn from_wire(text: &str) -> ColumnDelimiter {
        match text {
            "TAB" => ColumnDelimiter::Tab,
            "PIPE" => ColumnDelimiter::Pipe,
            "SEMICOLON" => ColumnDelimiter::Semicolon,
            "CARET" => ColumnDelimiter::Caret,
            "BACKQUOTE" => ColumnDelimiter::Backquote,
            _ => ColumnDelimiter::Comma,
        }
    }
}

/// The line ending of a job's CSV. It must match the data you upload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LineEnding {
    #[default]
    /// `\n` (the default).
    Lf,
    /// `\r\n`.
    CrLf,
}

impl LineEnding {
    fn wire(self) -> &'static str {
        match self {
            LineEnding::Lf => "LF",
            LineEnding::CrLf => "CRLF",
        }
    }
}

/// How a job is waited for: polled with a delay that doubles from `initial_interval` up to
/// `max_interval`, for at most `timeout` in all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PollOptions {
    /// The delay before the second poll (the first is immediate).
    pub initial_interval: Duration,
    /// The longest delay between polls.
    pub max_interval: Duration,
    /// How long to wait for the job(s) to finish before giving up. Giving up does not stop
    /// the job on the org: it keeps running, and can be waited for again by id.
    pub timeout: Duration,
}

impl Default for PollOptions {
    /// From 1 s up to 10 s between polls, for at most 30 minutes.
    fn default() -> PollOptions {
        PollOptions {
            initial_interval: Duration::from_secs(1),
            max_interval: Duration::from_secs(10),
            timeout: Duration::from_secs(30 * 60),
        }
    }
}

/// Whether a job is an ingest or a query job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobKind {
    /// A job that loads rows (`/jobs/ingest`).
    Ingest,
    /// A job that runs a query (`/jobs/query`).
    Query,
}

impl JobKind {
    /// `ingest` or `query`: the path segment under `/jobs`.
    pub fn as_str(self) -> &'static str {
        self.segment()
    }

    fn segment(self) -> &'static str {
        match self {
            JobKind::Ingest => "ingest",
            JobKind::Query => "query",
        }
    }

    /// A call to `/jobs/{kind}/{rest...}`. Query-job calls never change data, so they are
    /// allowed on a read-only client.
    pub(crate) fn call(self, method: Method, rest: &[&str]) -> Call {
        let mut segments = vec!["jobs".to_string(), self.segment().to_string()];
        segments.extend(rest.iter().map(|s| s.to_string()));
        let call = Call::data(method, segments);
        match self {
            JobKind::Ingest => call,
            JobKind::Query => call.reads_only(),
        }
    }
}

/// Reads a job's info.
pub(crate) async fn job_info(client: &Client, kind: JobKind, id: &str) -> Result<JobInfo> {
    client.execute_json(kind.call(Method::GET, &[id])).await
}

/// Asks for a job state change (`UploadComplete`, `Aborted`).
pub(crate) async fn change_state(
    client: &Client,
    kind: JobKind,
    id: &str,
    state: &str,
) -> Result<JobInfo> {
    let call = kind
        .call(Method::PATCH, &[id])
        .json(&forcebridge_wire::bulk::JobStateChange {
            state: state.to_string(),
        })?;
    client.execute_json(call).await
}

/// Deletes a job and its results.
pub(crate) async fn delete_job(client: &Client, kind: JobKind, id: &str) -> Result<()> {
    client.execute(kind.call(Method::DELETE, &[id])).await?;
    Ok(())
}

/// Polls a job until it reaches a terminal state (or `Open`, which only the caller can end),
/// calling `seen` with every job info read. Fails once `deadline` passes.
pub(crate) async fn wait_for(
    client: &Client,
    kind: JobKind,
    id: &str,
    poll: &PollOptions,
    deadline: Instant,
    mut seen: impl FnMut(&JobInfo),
) -> Result<JobInfo> {
    let mut interval = poll.initial_interval;
    loop {
        let info = job_info(client, kind, id).await?;
        seen(&info);
        // A state this client does not know is taken for one still in progress.
        if info
            .job_state()
            .is_some_and(|s| s.is_terminal() || s == JobState::Open)
        {
            return Ok(info);
        }
        let now = Instant::now();
        if now >= deadline {
            return Err(Error::new(
                ErrorKind::Transport,
                format!(
                    "bulk {} job {id} is still {} after waiting {:?}; it keeps running on the org and can be waited for again by id",
                    kind.segment(),
                    info.state,
                    poll.timeout
                ),
            ));
        }
        tracing::trace!(job = %id, state = %info.state, "bulk job not finished; polling again");
        tokio::time::sleep(interval.min(deadline - now)).await;
        interval = (interval * 2).min(poll.max_interval.max(poll.initial_interval));
    }
}

/// Where the CSV record that starts at `buf[0]` ends (the index just past its line
/// terminator), given whether the scan starts inside quotes; `None` if `buf` holds no end.
/// Quotes toggle the state (a doubled quote toggles twice), so a newline inside a quoted value
/// never ends a record.
pub(crate) fn record_end(buf: &[u8], in_quotes: &mut bool) -> Option<usize> {
    for (i, &b) in buf.iter().enumerate() {
        match b {
            b'"' => *in_quotes = !*in_quotes,
            b'\n' if !*in_quotes => return Some(i + 1),
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_end_at_newlines_outside_quotes() {
        let mut q = false;
        assert_eq!(record_end(b"a,b\nc", &mut q), Some(4));
        let mut q = false;
        assert_eq!(record_end(b"\"x\ny\",\"\"\"z\"\r\nrest", &mut q), Some(13));
        let mut q = false;
        assert_eq!(record_end(b"\"open\nstill", &mut q), None);
        assert!(q);
        assert_eq!(record_end(b" quoted\"\n", &mut q), Some(9));
    }
}
