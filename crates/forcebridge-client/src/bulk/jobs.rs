//! The org's Bulk jobs: listed as a lazy stream, page by page (`GET /jobs/ingest` and
//! `GET /jobs/query`, paged through `nextRecordsUrl`, which carries the `queryLocator`), and
//! found by id whatever their kind. Filtering is the caller's: the API filters on none of
//! what people ask for (state, object).

use std::collections::VecDeque;
use std::pin::Pin;
use std::task::{Context, Poll};

use forcebridge_wire::bulk::{JobInfo, JobList};
use futures_util::stream::BoxStream;
use futures_util::{Stream, StreamExt, TryStreamExt};
use reqwest::Method;

use super::{Bulk, JobKind, job_info};
use crate::client::Client;
use crate::error::Result;
use crate::http::{Call, Target};

/// A job as the org lists it: its kind and its info.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ListedJob {
    /// An ingest or a query job.
    pub kind: JobKind,
    /// Its state, object, operation, counters, ...
    pub info: JobInfo,
}

/// The org's jobs of one or both kinds, to read as a stream: made by [`Bulk::jobs`],
/// [`Bulk::ingest_jobs`] and [`Bulk::query_jobs`]. Nothing is requested until the stream is
/// polled.
#[derive(Debug, Clone)]
#[must_use = "a job listing does nothing until it is streamed or fetched"]
pub struct JobListing {
    client: Client,
    kinds: Vec<JobKind>,
}

impl Bulk {
    /// Every job the org still keeps (finished jobs are deleted after 7 days): ingest jobs,
    /// then query jobs.
    pub fn jobs(&self) -> JobListing {
        self.listing(vec![JobKind::Ingest, JobKind::Query])
    }

    /// The org's ingest jobs.
    pub fn ingest_jobs(&self) -> JobListing {
        self.listing(vec![JobKind::Ingest])
    }

    /// The org's query jobs.
    pub fn query_jobs(&self) -> JobListing {
        self.listing(vec![JobKind::Query])
    }

    fn listing(&self, kinds: Vec<JobKind>) -> JobListing {
        JobListing {
            client: self.client.clone(),
            kinds,
        }
    }

    /// Job `id`, whichever its kind (an ingest job is looked for first); `None` when the org
    /// has no such job.
    pub async fn find_job(&self, id: &str) -> Result<Option<ListedJob>> {
        for kind in [JobKind::Ingest, JobKind::Query] {
            match job_info(&self.client, kind, id).await {
                Ok(info) => return Ok(Some(ListedJob { kind, info })),
                Err(error) if error.status() == Some(404) => continue,
                Err(error) => return Err(error),
            }
        }
        Ok(None)
    }
}

impl JobListing {
    /// The jobs, one page fetched at a time as the stream is read.
    pub fn stream(self) -> JobStream {
        let state = State {
            client: self.client,
            kinds: self.kinds.into(),
            next_page: None,
            page: VecDeque::new(),
        };
        JobStream {
            inner: futures_util::stream::unfold(state, step).boxed(),
        }
    }

    /// Every job, in one list.
    pub async fn fetch_all(self) -> Result<Vec<ListedJob>> {
        self.stream().try_collect().await
    }
}

/// Where a listing stands: the kinds still to list, the next page of the current one, and
/// the rest of the page read last.
struct State {
    client: Client,
    kinds: VecDeque<JobKind>,
    next_page: Option<(JobKind, String)>,
    page: VecDeque<ListedJob>,
}

async fn step(mut state: State) -> Option<(Result<ListedJob>, State)> {
    loop {
        if let Some(job) = state.page.pop_front() {
            return Some((Ok(job), state));
        }
        let (kind, call) = match state.next_page.take() {
            Some((kind, next)) => {
                let call = Call::new(Method::GET, Target::Path(next));
                // Listing changes nothing, whatever the kind.
                (kind, call.reads_only())
            }
            None => {
                let kind = state.kinds.pop_front()?;
                (kind, kind.call(Method::GET, &[]).reads_only())
            }
        };
        match state.client.execute_json::<JobList>(call).await {
            Ok(page) => {
                state.page = page
                    .records
                    .into_iter()
                    .map(|info| ListedJob { kind, info })
                    .collect();
                state.next_page = page
                    .next_records_url
                    .filter(|next| !page.done && !next.is_empty())
                    .map(|next| (kind, next));
            }
            Err(error) => {
                // The stream ends after its first error.
                state.kinds.clear();
                return Some((Err(error), state));
            }
        }
    }
}

/// The jobs of a [`JobListing`], in the org's order: a lazy stream holding one page at a
/// time. It ends after the last page or the first error.
#[must_use = "streams do nothing unless polled"]
pub struct JobStream {
    inner: BoxStream<'static, Result<ListedJob>>,
}

impl std::fmt::Debug for JobStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobStream").finish_non_exhaustive()
    }
}

impl Stream for JobStream {
    type Item = Result<ListedJob>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.poll_next_unpin(cx)
    }
}
