//! Bulk query: a query job, waited for, and its CSV result downloaded page by page.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::Bytes;
use forcebridge_wire::bulk::{
    CreateQueryJob, JobInfo, LAST_PAGE_LOCATOR, LOCATOR_HEADER, NUMBER_OF_RECORDS_HEADER,
};
use futures_util::stream::BoxStream;
use futures_util::{Stream, StreamExt, TryStreamExt};
use reqwest::Method;
use tokio::io::{AsyncWrite, AsyncWriteExt};

use super::{
    Bulk, ColumnDelimiter, JobKind, JobState, LineEnding, PollOptions, change_state, delete_job,
    job_info, record_end, wait_for,
};
use crate::client::Client;
use crate::error::{Error, ErrorKind, Result};
use crate::statement::{self, Check, Language};

/// How a query job runs and is downloaded.
#[derive(Debug, Clone, Default)]
pub struct QueryOptions {
    /// The delimiter of the result CSV.
    pub column_delimiter: ColumnDelimiter,
    /// The line ending of the result CSV.
    pub line_ending: LineEnding,
    /// The most rows per results page (`maxRecords`); by default the org decides. Each page is
    /// held in memory while it is written, so this bounds memory.
    pub max_records: Option<u64>,
    /// How the job is waited for before its results are read.
    pub poll: PollOptions,
}

/// A bulk query to run: made by [`Bulk::query`] and [`Bulk::query_all`]; nothing is sent until
/// it is started, written or streamed.
#[derive(Debug, Clone)]
#[must_use = "a bulk query does nothing until it is started, written or streamed"]
pub struct QueryWork {
    client: Client,
    soql: String,
    operation: &'static str,
    options: QueryOptions,
    check: Check,
}

/// One page of a query job's CSV result, as the org sent it (with its own header row).
#[derive(Debug, Clone)]
pub struct QueryPage {
    /// The job the page belongs to (with [`QueryPage::next_locator`], what a resumed download
    /// needs).
    pub job_id: String,
    /// The CSV text: a header row, then the page's rows.
    pub bytes: Bytes,
    /// How many rows the page holds (`Sforce-NumberOfRecords`).
    pub records: u64,
    /// The locator that fetched this page (`None` for the first page).
    pub locator: Option<String>,
    /// The locator of the next page; `None` on the last page. Save it to continue a download
    /// later with [`QueryJob::resume_into`] or [`QueryJob::pages_from`].
    pub next_locator: Option<String>,
}

impl QueryPage {
    /// The page's rows without its header row: what follows the first page when pages are
    /// joined into one CSV.
    pub fn without_header(&self) -> &[u8] {
        let mut in_quotes = false;
        let end = record_end(&self.bytes, &mut in_quotes).unwrap_or(self.bytes.len());
        &self.bytes[end..]
    }
}

/// What a download wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuerySummary {
    /// The job that was downloaded, for [`Bulk::query_job`].
    pub job_id: String,
    /// Rows written (header not counted).
    pub records: u64,
    /// Bytes written to the sink.
    pub bytes: u64,
    /// Pages downloaded.
    pub pages: u64,
    /// The locator that fetched the last page (`None` if it was the first page).
    pub last_locator: Option<String>,
}

impl Bulk {
    /// A bulk query over live records.
    pub fn query(&self, soql: impl Into<String>) -> QueryWork {
        self.new_query(soql.into(), "query")
    }

    /// A bulk query that also returns deleted and archived records (`queryAll`).
    pub fn query_all(&self, soql: impl Into<String>) -> QueryWork {
        self.new_query(soql.into(), "queryAll")
    }

    fn new_query(&self, soql: String, operation: &'static str) -> QueryWork {
        QueryWork {
            client: self.client.clone(),
            soql,
            operation,
            options: QueryOptions::default(),
            check: Check::Parse,
        }
    }

    /// An existing query job, by id: to continue a download from a saved locator, abort or
    /// delete it. Its results are read with default [`QueryOptions`] unless
    /// [`QueryJob::options`] says otherwise.
    pub fn query_job(&self, id: impl Into<String>) -> QueryJob {
        QueryJob {
            client: self.client.clone(),
            id: id.into(),
            options: QueryOptions::default(),
        }
    }
}

impl QueryWork {
    /// Sets the options (dialect, page size, polling).
    pub fn options(mut self, options: QueryOptions) -> QueryWork {
        self.options = options;
        self
    }

    /// Rows per results page (`maxRecords`).
    pub fn max_records(mut self, n: u64) -> QueryWork {
        self.options.max_records = Some(n);
        self
    }

    /// Sends the statement without parsing it first, for SOQL the org accepts but
    /// `forcebridge-soql` does not. By default an invalid statement fails with
    /// [`ErrorKind::InvalidQuery`] before anything is sent; the 100,000-character limit holds
    /// either way.
    pub fn unchecked(mut self) -> QueryWork {
        self.check = Check::LengthOnly;
        self
    }

    /// Creates the job and returns it without waiting (save its id to resume later). The
    /// statement is checked first (see [`QueryWork::unchecked`]). Creating a query job changes
    /// no data, so it is retried through server errors and cut connections like a read; a
    /// retry after an attempt that had landed leaves one unused job on the org, which it
    /// deletes after seven days.
    pub async fn start(self) -> Result<QueryJob> {
        statement::check(&self.soql, Language::Soql, self.check)?;
        let create = CreateQueryJob {
            operation: self.operation.to_string(),
            query: self.soql,
            content_type: Some("CSV".into()),
            column_delimiter: Some(self.options.column_delimiter.wire().into()),
            line_ending: Some(self.options.line_ending.wire().into()),
        };
        let call = JobKind::Query
            .call(Method::POST, &[])
            .json(&create)?
            .idempotent(true);
        let info: JobInfo = self.client.execute_json(call).await?;
        tracing::debug!(job = %info.id, object = %info.object, "bulk query job created");
        Ok(QueryJob {
            client: self.client,
            id: info.id,
            options: self.options,
        })
    }

    /// Runs the query and writes its result into `sink` as one CSV with one header row, one
    /// page at a time.
    pub async fn write_to<W: AsyncWrite + Unpin>(self, sink: &mut W) -> Result<QuerySummary> {
        let job = self.start().await?;
        job.resume_into(sink, None).await
    }

    /// Runs the query and yields its result pages as they are downloaded; nothing is sent
    /// until the stream is polled, and only one page is held at a time.
    pub fn pages(self) -> QueryPageStream {
        QueryPageStream::new(Step::Create(Box::new(self)))
    }
}

/// An existing query job: made by [`QueryWork::start`] or [`Bulk::query_job`].
#[derive(Debug, Clone)]
pub struct QueryJob {
    client: Client,
    id: String,
    options: QueryOptions,
}

impl QueryJob {
    /// The job id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Sets how the job is waited for and paged (`maxRecords`).
    pub fn options(mut self, options: QueryOptions) -> QueryJob {
        self.options = options;
        self
    }

    /// The job's current info (state, rows).
    pub async fn info(&self) -> Result<JobInfo> {
        job_info(&self.client, JobKind::Query, &self.id).await
    }

    /// Aborts the job. It only stops the query: no data changes, so a read-only client may.
    pub async fn abort(&self) -> Result<JobInfo> {
        change_state(&self.client, JobKind::Query, &self.id, "Aborted").await
    }

    /// Deletes the job and its results.
    pub async fn delete(&self) -> Result<()> {
        delete_job(&self.client, JobKind::Query, &self.id).await
    }

    /// Waits until the job is complete. A failed or aborted job is an [`ErrorKind::Api`]
    /// error naming the job and the org's reason.
    pub async fn wait(&self) -> Result<JobInfo> {
        let poll = &self.options.poll;
        let deadline = Instant::now() + poll.timeout;
        let info = wait_for(
            &self.client,
            JobKind::Query,
            &self.id,
            poll,
            deadline,
            |_| {},
        )
        .await?;
        match info.job_state() {
            Some(JobState::JobComplete) => Ok(info),
            _ => Err(Error::new(
                ErrorKind::Api,
                format!(
                    "bulk query job {} ended {}{}",
                    self.id,
                    info.state,
                    info.error_message
                        .as_deref()
                        .map(|m| format!(": {m}"))
                        .unwrap_or_default()
                ),
            )),
        }
    }

    /// The result pages from `locator` on (from the start when `None`), after waiting for the
    /// job to complete.
    pub fn pages_from(&self, locator: Option<&str>) -> QueryPageStream {
        QueryPageStream::new(Step::Wait(self.clone(), locator.map(str::to_string)))
    }

    /// [`QueryJob::pages_from`] for a job already waited for: the first page is fetched at
    /// once.
    pub(crate) fn pages_of_complete_job(&self, locator: Option<&str>) -> QueryPageStream {
        QueryPageStream::new(Step::Fetch(self.clone(), locator.map(str::to_string)))
    }

    /// Writes the result from `locator` on into `sink`, one page at a time. From the start
    /// (`None`) the sink gets one CSV with one header row; from a saved locator it gets only
    /// rows (the header was written by the interrupted download), so appending to the
    /// partial file completes it exactly.
    pub async fn resume_into<W: AsyncWrite + Unpin>(
        &self,
        sink: &mut W,
        locator: Option<&str>,
    ) -> Result<QuerySummary> {
        let mut summary = QuerySummary {
            job_id: self.id.clone(),
            records: 0,
            bytes: 0,
            pages: 0,
            last_locator: None,
        };
        let mut header_written = locator.is_some();
        let mut pages = self.pages_from(locator);
        while let Some(page) = pages.try_next().await? {
            let body: &[u8] = if header_written {
                page.without_header()
            } else {
                header_written = true;
                &page.bytes
            };
            sink.write_all(body).await.map_err(|e| {
                Error::io(
                    format!("cannot write the results of bulk query job {}", self.id),
                    e,
                )
                .sent()
            })?;
            summary.records += page.records;
            summary.bytes += body.len() as u64;
            summary.pages += 1;
            summary.last_locator = page.locator;
        }
        sink.flush().await.map_err(|e| {
            Error::io(
                format!("cannot write the results of bulk query job {}", self.id),
                e,
            )
            .sent()
        })?;
        tracing::debug!(job = %self.id, records = summary.records, pages = summary.pages, "bulk query downloaded");
        Ok(summary)
    }

    /// Reads one page.
    async fn fetch_page(&self, locator: Option<String>) -> Result<QueryPage> {
        let mut call = JobKind::Query
            .call(Method::GET, &[&self.id, "results"])
            .header(reqwest::header::ACCEPT, "text/csv")?;
        if let Some(locator) = &locator {
            call = call.query("locator", locator.clone());
        }
        if let Some(n) = self.options.max_records {
            call = call.query("maxRecords", n.to_string());
        }
        let reply = self.client.execute(call).await?;
        // A missing locator header ends the download rather than looping forever.
        let next_locator = reply
            .header(LOCATOR_HEADER)
            .filter(|l| !l.is_empty() && *l != LAST_PAGE_LOCATOR)
            .map(str::to_string);
        let records = match reply
            .header(NUMBER_OF_RECORDS_HEADER)
            .and_then(|n| n.trim().parse().ok())
        {
            Some(n) => n,
            None => count_rows(&reply.body),
        };
        Ok(QueryPage {
            job_id: self.id.clone(),
            bytes: reply.body,
            records,
            locator,
            next_locator,
        })
    }
}

/// Rows in a CSV page after its header (when the org did not say).
fn count_rows(mut csv: &[u8]) -> u64 {
    let mut in_quotes = false;
    let mut rows = 0u64;
    while !csv.is_empty() {
        let end = record_end(csv, &mut in_quotes).unwrap_or(csv.len());
        rows += 1;
        csv = &csv[end..];
    }
    rows.saturating_sub(1)
}

enum Step {
    Create(Box<QueryWork>),
    Wait(QueryJob, Option<String>),
    Fetch(QueryJob, Option<String>),
    Done,
}

async fn step(mut state: Step) -> Option<(Result<QueryPage>, Step)> {
    loop {
        state = match state {
            Step::Done => return None,
            Step::Create(work) => match work.start().await {
                Ok(job) => Step::Wait(job, None),
                Err(error) => return Some((Err(error), Step::Done)),
            },
            Step::Wait(job, locator) => match job.wait().await {
                Ok(_) => Step::Fetch(job, locator),
                Err(error) => return Some((Err(error), Step::Done)),
            },
            Step::Fetch(job, locator) => {
                return match job.fetch_page(locator).await {
                    Ok(page) => {
                        let next = match &page.next_locator {
                            Some(next) => Step::Fetch(job, Some(next.clone())),
                            None => Step::Done,
                        };
                        Some((Ok(page), next))
                    }
                    Err(error) => Some((Err(error), Step::Done)),
                };
            }
        };
    }
}

/// The result pages of a query job, in order: a lazy stream (nothing is requested until it is
/// polled) holding one page at a time. It ends after the last page or the first error.
#[must_use = "streams do nothing unless polled"]
pub struct QueryPageStream {
    inner: BoxStream<'static, Result<QueryPage>>,
}

impl std::fmt::Debug for QueryPageStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QueryPageStream").finish_non_exhaustive()
    }
}

impl QueryPageStream {
    fn new(start: Step) -> QueryPageStream {
        QueryPageStream {
            inner: futures_util::stream::unfold(start, step).boxed(),
        }
    }
}

impl Stream for QueryPageStream {
    type Item = Result<QueryPage>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.poll_next_unpin(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_without_its_header_is_its_rows() {
        let page = |csv: &'static [u8]| QueryPage {
            job_id: "750".into(),
            bytes: Bytes::from_static(csv),
            records: 0,
            locator: None,
            next_locator: None,
        };
        assert_eq!(page(b"Id,Name\n2,b\n").without_header(), b"2,b\n");
        assert_eq!(page(b"\"I\nd\",Name\n2,b\n").without_header(), b"2,b\n");
        assert_eq!(page(b"Id,Name").without_header(), b"");
    }

    #[test]
    fn rows_are_counted_after_the_header() {
        assert_eq!(count_rows(b"\"Id\"\n\"1\"\n\"2\"\n"), 2);
        assert_eq!(count_rows(b"\"Id\",\"Note\"\n\"1\",\"a\nb\"\n"), 1);
        assert_eq!(count_rows(b"\"Id\"\n"), 0);
        assert_eq!(count_rows(b""), 0);
    }
}
