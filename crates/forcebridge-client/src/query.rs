//! Queries: `query`, `queryAll` and the Tooling API's `tooling/query` as lazy streams of
//! records, page by page.
//!
//! Nothing is sent until a stream is polled or a terminal (`fetch_all`, `fetch_one`, ...) is
//! awaited. While the caller works through one page, the next is parsed by a background task,
//! and the one after it is downloaded as soon as its URL is known (before the page that names
//! it is parsed). So the org serving a page, the client parsing the one before, and the caller
//! reading the one before that all overlap, and a stream holds at most three pages in memory
//! (one being read, one parsed, one downloading) whatever the size of the result. Dropping
//! the stream cancels the background work.
//!
//! Raw pages ([`Query::raw_pages`]) come the same way, but each is kept as the JSON text the
//! org sent, with where each record is in it: for code that passes records on as they are
//! (to a file, a socket) or reads them with its own visitor, and never needs them as values.

use std::collections::VecDeque;
use std::future::Future;
use std::marker::PhantomData;
use std::ops::Range;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, ready};

use futures_util::{Stream, StreamExt, TryStreamExt};
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;
use tokio::task::JoinHandle;

use crate::client::Client;
use crate::error::{Error, ErrorKind, Result};
use crate::http::{Call, HeadHook, Reply, Target};
use crate::record::Record;
use crate::statement::{self, Check, Language};

/// A query to run: built by [`Client::query`], [`Client::query_all`] and their typed forms;
/// consumed by a terminal.
#[must_use = "a query does nothing until it is streamed or fetched"]
pub struct Query<T = Record> {
    client: Client,
    soql: String,
    resource: Resource,
    batch_size: Option<u32>,
    check: Check,
    _record: PhantomData<fn() -> T>,
}

impl<T> std::fmt::Debug for Query<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Query")
            .field("soql", &self.soql)
            .field("resource", &self.resource)
            .field("batch_size", &self.batch_size)
            .finish()
    }
}

/// Which query resource a [`Query`] reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Resource {
    /// `/query`: live records.
    Query,
    /// `/queryAll`: deleted and archived records too.
    QueryAll,
    /// `/tooling/query`: the Tooling API's objects (ApexClass, EntityDefinition, ...).
    Tooling,
}

/// One page of results.
#[derive(Debug, Clone)]
pub struct Page<T> {
    /// How many records the whole query matches (the same on every page).
    pub total_size: u64,
    /// Whether this is the last page.
    pub done: bool,
    /// This page's records, in the order the org returned them.
    pub records: Vec<T>,
    /// The server-relative URL of the next page, while there is one.
    pub next_records_url: Option<String>,
}

/// One page of results as the org sent it: the JSON text of the page, and where each record
/// is in it. Nothing is read into values: each record is a `&str` of JSON as the org wrote it
/// (Salesforce writes it compact), checked (the whole page is UTF-8 and valid JSON) but not
/// built into anything.
///
/// ```
/// # async fn demo(client: forcebridge_client::Client) -> forcebridge_client::Result<()> {
/// use futures_util::TryStreamExt;
///
/// let mut pages = client.query("SELECT Id, Name FROM Contact").raw_pages();
/// while let Some(page) = pages.try_next().await? {
///     for record in page.records() {
///         // `{"attributes":{...},"Id":"003...","Name":"..."}`
///         assert!(record.starts_with('{'));
///     }
/// }
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct RawPage {
    /// How many records the whole query matches (the same on every page).
    pub total_size: u64,
    /// Whether this is the last page.
    pub done: bool,
    /// The server-relative URL of the next page, while there is one.
    pub next_records_url: Option<String>,
    body: String,
    records: Vec<Range<usize>>,
}

impl std::fmt::Debug for RawPage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawPage")
            .field("total_size", &self.total_size)
            .field("done", &self.done)
            .field("next_records_url", &self.next_records_url)
            .field("records", &self.records.len())
            .field("bytes", &self.body.len())
            .finish()
    }
}

impl RawPage {
    /// The records of this page, each as its JSON text, in the order the org returned them.
    pub fn records(&self) -> impl ExactSizeIterator<Item = &str> + DoubleEndedIterator + '_ {
        self.records.iter().map(|range| &self.body[range.clone()])
    }

    /// How many records this page holds.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// Whether this page holds no records.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// The whole page as the org sent it (`{"totalSize":...,"records":[...]}`).
    pub fn body(&self) -> &str {
        &self.body
    }

    /// A page from its JSON text (`{"totalSize":...,"done":...,"records":[...]}`, as the
    /// query resource answers): checks that it is JSON and finds its records without
    /// building them. For pages kept from earlier, and for tests; streams make their own.
    pub fn from_json(body: String) -> Result<RawPage> {
        RawPage::read(body, "a query page")
    }

    fn from_reply(reply: Reply) -> Result<RawPage> {
        let request = reply.request;
        let body = String::from_utf8(Vec::from(reply.body)).map_err(|e| {
            Error::decode(
                format!("{request}: the response body is not UTF-8: {e}"),
                e.utf8_error(),
            )
        })?;
        RawPage::read(body, &request)
    }

    fn read(body: String, request: &str) -> Result<RawPage> {
        // The fast scan answers for the query resource's own layout; serde_json reads
        // anything else, and says what is wrong with text that is not a page.
        if let Some(page) = crate::page_scan::scan(&body) {
            return Ok(RawPage {
                total_size: page.total_size,
                done: page.done,
                next_records_url: page.next_records_url,
                records: page.records,
                body,
            });
        }
        let page: forcebridge_wire::query::QueryResult<&RawValue> = serde_json::from_str(&body)
            .map_err(|e| Error::decode(format!("{request}: unexpected response body: {e}"), e))?;
        // Each record's text is a slice of the body: its place is where the slice starts.
        let start = body.as_ptr() as usize;
        let records = page
            .records
            .iter()
            .map(|record| {
                let text = record.get();
                let from = text.as_ptr() as usize - start;
                from..from + text.len()
            })
            .collect();
        Ok(RawPage {
            total_size: page.total_size,
            done: page.done,
            next_records_url: page.next_records_url,
            records,
            body,
        })
    }
}

impl Client {
    /// A query over live records (`/query`), read as dynamic [`Record`]s.
    pub fn query(&self, soql: impl Into<String>) -> Query<Record> {
        self.query_as(soql)
    }

    /// A query that also returns deleted and archived records (`/queryAll`).
    pub fn query_all(&self, soql: impl Into<String>) -> Query<Record> {
        self.query_all_as(soql)
    }

    /// A query of the Tooling API (`/tooling/query`): its objects describe the org's metadata
    /// (`ApexClass`, `EntityDefinition`, `FieldDefinition`, ...). Read as dynamic
    /// [`Record`]s, checked and paged like any other query. A statement too long for a URL is
    /// refused rather than sent through `/composite` (whose Tooling support is not documented).
    pub fn tooling_query(&self, soql: impl Into<String>) -> Query<Record> {
        self.tooling_query_as(soql)
    }

    /// A query whose records are read as `T` (any `serde` type that matches the SELECT list).
    pub fn query_as<T>(&self, soql: impl Into<String>) -> Query<T> {
        self.new_query(soql.into(), Resource::Query)
    }

    /// [`Client::query_all`], typed.
    pub fn query_all_as<T>(&self, soql: impl Into<String>) -> Query<T> {
        self.new_query(soql.into(), Resource::QueryAll)
    }

    /// [`Client::tooling_query`], typed.
    pub fn tooling_query_as<T>(&self, soql: impl Into<String>) -> Query<T> {
        self.new_query(soql.into(), Resource::Tooling)
    }

    fn new_query<T>(&self, soql: String, resource: Resource) -> Query<T> {
        Query {
            client: self.clone(),
            soql,
            resource,
            batch_size: self.inner.query_batch_size,
            check: Check::Parse,
            _record: PhantomData,
        }
    }
}

pub(crate) fn check_batch_size(n: u32) -> Result<()> {
    if (200..=2000).contains(&n) {
        Ok(())
    } else {
        Err(Error::not_sent(format!(
            "a query batch size is between 200 and 2000, not {n}"
        )))
    }
}

impl<T: DeserializeOwned + Send + 'static> Query<T> {
    /// Asks for pages of `n` records (200 to 2000; Salesforce may send fewer).
    pub fn batch_size(mut self, n: u32) -> Query<T> {
        self.batch_size = Some(n);
        self
    }

    /// Sends the statement without parsing it first: for SOQL the org accepts but
    /// `forcebridge-soql` does not (a newer clause, say). By default a statement is parsed
    /// before anything is sent, and an invalid one fails with [`ErrorKind::InvalidQuery`].
    /// Salesforce's limit of 100,000 characters still applies.
    pub fn unchecked(mut self) -> Query<T> {
        self.check = Check::LengthOnly;
        self
    }

    /// The results page by page. The statement is checked first: an invalid one makes the
    /// stream's only item an [`ErrorKind::InvalidQuery`] error, and nothing is sent.
    pub fn pages(self) -> PageStream<T> {
        let state = match self.first_call() {
            Ok(first) => State::Start(first),
            Err(error) => State::Refused(error),
        };
        PageStream {
            client: self.client,
            state,
            batch_size: self.batch_size,
        }
    }

    /// The results page by page, each as the JSON text the org sent ([`RawPage`]), with the
    /// same prefetching as [`Query::pages`].
    pub fn raw_pages(self) -> RawPageStream {
        let state = match self.first_call() {
            Ok(first) => State::Start(first),
            Err(error) => State::Refused(error),
        };
        RawPageStream {
            client: self.client,
            state,
            batch_size: self.batch_size,
        }
    }

    /// The results record by record.
    pub fn stream(self) -> RecordStream<T> {
        RecordStream {
            pages: self.pages(),
            buffered: VecDeque::new(),
            finished: false,
        }
    }

    /// Every record. Holds the whole result in memory: prefer [`Query::stream`] for large ones.
    pub async fn fetch_all(self) -> Result<Vec<T>> {
        self.stream().try_collect().await
    }

    /// The first record; an [`ErrorKind::NoRecord`] error when there is none.
    pub async fn fetch_one(self) -> Result<T> {
        let soql = statement::cut(&self.soql, 100);
        self.fetch_optional().await?.ok_or_else(|| {
            Error::new(
                ErrorKind::NoRecord,
                format!("the query returned no records: {soql}"),
            )
        })
    }

    /// The first record, if any. Only the first page is read.
    pub async fn fetch_optional(self) -> Result<Option<T>> {
        let mut pages = std::pin::pin!(self.pages());
        match pages.next().await {
            Some(page) => Ok(page?.records.into_iter().next()),
            None => Ok(None),
        }
    }

    /// How many records the query matches (`totalSize`), reading only the first page. For
    /// `SELECT COUNT() FROM ...` this is the count.
    pub async fn total_size(self) -> Result<u64> {
        let mut pages = std::pin::pin!(self.pages());
        match pages.next().await {
            Some(page) => Ok(page?.total_size),
            None => Ok(0),
        }
    }

    /// The request for the first page, once the statement has passed its check. A statement
    /// too long for a URL goes through `/composite` (see the `http` module).
    fn first_call(&self) -> Result<Call> {
        statement::check(&self.soql, Language::Soql, self.check)?;
        let call = match self.resource {
            Resource::Query => Call::data(Method::GET, ["query"]).composite_if_long(),
            Resource::QueryAll => Call::data(Method::GET, ["queryAll"]).composite_if_long(),
            Resource::Tooling => Call::data(Method::GET, ["tooling", "query"]),
        };
        Ok(call.query("q", self.soql.clone()))
    }
}

/// Where a stream of pages (of type `P`) is.
enum State<P> {
    /// The statement was refused before sending: the stream yields this error, then ends.
    Refused(Error),
    Start(Call),
    Fetching(JoinHandle<Result<Fetched<P>>>),
    Done,
}

/// A page, and the download of the next one, already under way.
type Fetched<P> = (P, Option<Download>);

/// A page as a stream yields it, read from the org's reply.
trait ReadPage: Sized + Send + 'static {
    fn read(reply: Reply) -> Result<Self>;
    fn n_records(&self) -> usize;
    fn total_size(&self) -> u64;
    fn done(&self) -> bool;
}

impl<T: DeserializeOwned + Send + 'static> ReadPage for Page<T> {
    fn read(reply: Reply) -> Result<Page<T>> {
        let page = reply.json::<forcebridge_wire::query::QueryResult<T>>()?;
        Ok(Page {
            total_size: page.total_size,
            done: page.done,
            records: page.records,
            next_records_url: page.next_records_url,
        })
    }

    fn n_records(&self) -> usize {
        self.records.len()
    }

    fn total_size(&self) -> u64 {
        self.total_size
    }

    fn done(&self) -> bool {
        self.done
    }
}

impl ReadPage for RawPage {
    fn read(reply: Reply) -> Result<RawPage> {
        RawPage::from_reply(reply)
    }

    fn n_records(&self) -> usize {
        self.len()
    }

    fn total_size(&self) -> u64 {
        self.total_size
    }

    fn done(&self) -> bool {
        self.done
    }
}

/// A page body being downloaded in the background (dropping it cancels the download), and
/// what its first bytes said of the page after it.
struct Download {
    task: JoinHandle<Result<Reply>>,
    ahead: Arc<Mutex<Ahead>>,
}

impl Drop for Download {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The page after a download, as far as the download's first bytes tell.
///
/// Salesforce writes `nextRecordsUrl` before the records, so the next request can go out as
/// soon as a body's first bytes are in, while the rest arrives: the org starts on the next page
/// while this client is still receiving (and, on a busy CPU, waiting to receive) this one.
/// How far the stream reads ahead does not change: the next download starts only once the
/// stream is ready for it (`armed`, when the caller has taken the page before this one).
#[derive(Default)]
struct Ahead {
    /// Whether the next page's download may start the moment the head tells its URL.
    armed: bool,
    /// Whether a head was read (a retried request reads its head again, and is ignored).
    read: bool,
    /// The next page's URL, read before the stream was ready for it.
    next_url: Option<String>,
    /// The next page's download, started from the head.
    started: Option<Download>,
}

fn lock(ahead: &Mutex<Ahead>) -> std::sync::MutexGuard<'_, Ahead> {
    // Nothing is left half-done under this lock: a poisoned one is as good as any.
    ahead
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Starts downloading a page in the background.
fn download(client: &Client, call: Call, batch_size: Option<u32>, armed: bool) -> Result<Download> {
    let ahead = Arc::new(Mutex::new(Ahead {
        armed,
        ..Ahead::default()
    }));
    let hook = {
        let client = client.clone();
        let ahead = Arc::downgrade(&ahead);
        HeadHook(Arc::new(move |head: &[u8]| {
            let Some(ahead) = ahead.upgrade() else {
                return;
            };
            let mut ahead = lock(&ahead);
            if ahead.read {
                return;
            }
            let Some(envelope) = envelope_from_head(head) else {
                return;
            };
            ahead.read = true;
            if let (false, Some(url)) = (envelope.done, envelope.next_records_url) {
                if ahead.armed {
                    // Should this fail, the page's whole body is read for the URL instead.
                    ahead.started = download(&client, next_call(url), batch_size, false).ok();
                } else {
                    ahead.next_url = Some(url);
                }
            }
        }))
    };
    let call = with_batch_size(call, batch_size)?.on_head(hook);
    let client = client.clone();
    let task = tokio::spawn(async move { client.execute(call).await });
    Ok(Download { task, ahead })
}

/// The request for the page at `url` (a `nextRecordsUrl`).
fn next_call(url: String) -> Call {
    Call::new(Method::GET, Target::Path(url))
}

impl Download {
    /// The stream is ready for the page after this one: its download starts now if the head
    /// has told where it is, or as soon as it does.
    fn arm(&self, client: &Client, batch_size: Option<u32>) {
        let mut ahead = lock(&self.ahead);
        ahead.armed = true;
        if let Some(url) = ahead.next_url.take() {
            ahead.started = download(client, next_call(url), batch_size, false).ok();
        }
    }
}

/// Where a page comes from: a request still to send, or a download already under way.
enum Source {
    Call(Call),
    InFlight(Download),
}

/// The part of a page that says whether there is another, read without building the records.
#[derive(Debug, PartialEq, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Envelope {
    #[serde(default)]
    done: bool,
    #[serde(default)]
    next_records_url: Option<String>,
}

/// A lazy stream of pages. In the background, the next page is parsed while the one after it
/// downloads; nothing further is fetched until the caller takes a page.
#[must_use = "streams do nothing unless polled"]
pub struct PageStream<T> {
    client: Client,
    state: State<Page<T>>,
    batch_size: Option<u32>,
}

/// A lazy stream of [`RawPage`]s, fetched ahead as a [`PageStream`] is.
#[must_use = "streams do nothing unless polled"]
pub struct RawPageStream {
    client: Client,
    state: State<RawPage>,
    batch_size: Option<u32>,
}

impl std::fmt::Debug for RawPageStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawPageStream")
            .field("state", &self.state.name())
            .finish()
    }
}

impl Drop for RawPageStream {
    fn drop(&mut self) {
        self.state.abort();
    }
}

impl Stream for RawPageStream {
    type Item = Result<RawPage>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        poll_pages(&this.client, &mut this.state, this.batch_size, cx)
    }
}

impl Unpin for RawPageStream {}

impl<T> std::fmt::Debug for PageStream<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PageStream")
            .field("state", &self.state.name())
            .finish()
    }
}

impl<T> Drop for PageStream<T> {
    fn drop(&mut self) {
        self.state.abort();
    }
}

impl<P> State<P> {
    fn name(&self) -> &'static str {
        match self {
            State::Refused(_) => "refused",
            State::Start(_) => "start",
            State::Fetching(_) => "fetching",
            State::Done => "done",
        }
    }

    /// Cancels the page being fetched, if any.
    fn abort(&self) {
        if let State::Fetching(handle) = self {
            handle.abort();
        }
    }
}

fn spawn_fetch<P: ReadPage>(
    client: &Client,
    source: Source,
    batch_size: Option<u32>,
) -> JoinHandle<Result<Fetched<P>>> {
    let client = client.clone();
    tokio::spawn(async move { fetch_page(client, source, batch_size).await })
}

/// The envelope read from the bytes before `"records"`, where Salesforce writes `totalSize`,
/// `done` and `nextRecordsUrl`; `None` when the page is laid out otherwise (then the whole
/// body is scanned).
fn envelope_from_head(body: &[u8]) -> Option<Envelope> {
    const RECORDS: &[u8] = b"\"records\":";
    let head = &body[..body.len().min(1024)];
    let end = head.windows(RECORDS.len()).position(|w| w == RECORDS)?;
    let head = std::str::from_utf8(&head[..end]).ok()?;
    let done = if head.contains("\"done\":true") {
        true
    } else if head.contains("\"done\":false") {
        false
    } else {
        return None;
    };
    let next_records_url = match head.split_once("\"nextRecordsUrl\":\"") {
        Some((_, rest)) => Some(rest.split_once('"')?.0.to_string()),
        None => None,
    };
    Some(Envelope {
        done,
        next_records_url,
    })
}

/// The largest page body parsed on the task that fetched it (64 KiB: a few hundred records).
const PARSE_IN_PLACE: usize = 64 * 1024;

/// Adds the batch size header, when one was asked for.
fn with_batch_size(call: Call, batch_size: Option<u32>) -> Result<Call> {
    match batch_size {
        Some(n) => {
            check_batch_size(n)?;
            call.header(
                reqwest::header::HeaderName::from_static("sforce-query-options"),
                &format!("batchSize={n}"),
            )
        }
        None => Ok(call),
    }
}

async fn fetch_page<P: ReadPage>(
    client: Client,
    source: Source,
    batch_size: Option<u32>,
) -> Result<Fetched<P>> {
    let mut this = match source {
        Source::Call(call) => download(&client, call, batch_size, true)?,
        Source::InFlight(download) => {
            download.arm(&client, batch_size);
            download
        }
    };
    let reply = (&mut this.task).await.map_err(|join| {
        Error::new(
            ErrorKind::Decode,
            format!("the page download stopped: {join}"),
        )
    })??;
    // The next page is already under way if this one's head said where it is; otherwise it
    // starts now, before this one is parsed.
    let started = lock(&this.ahead).started.take();
    let next = match started {
        Some(next) => Some(next),
        None => {
            let envelope = match envelope_from_head(&reply.body) {
                Some(envelope) => envelope,
                None => reply.json()?,
            };
            match (envelope.done, envelope.next_records_url) {
                (false, Some(url)) => Some(download(&client, next_call(url), batch_size, false)?),
                _ => None,
            }
        }
    };
    // Parsing a full page takes milliseconds of CPU: done on the blocking pool, it leaves the
    // runtime free to send the next request and receive its body meanwhile (on one CPU as much
    // as on many, and on a current-thread runtime too). A small page is parsed in place, as
    // handing it over would cost more than parsing it.
    let page = if reply.body.len() <= PARSE_IN_PLACE {
        P::read(reply)?
    } else {
        tokio::task::spawn_blocking(move || P::read(reply))
            .await
            .map_err(|join| {
                Error::new(
                    ErrorKind::Decode,
                    format!("the page parser stopped: {join}"),
                )
            })??
    };
    tracing::debug!(
        records = page.n_records(),
        total_size = page.total_size(),
        done = page.done(),
        "query page"
    );
    Ok((page, next))
}

/// The next page of a stream: the one being fetched, once it is in, with the fetch of the page
/// after it started.
fn poll_pages<P: ReadPage>(
    client: &Client,
    state: &mut State<P>,
    batch_size: Option<u32>,
    cx: &mut Context<'_>,
) -> Poll<Option<Result<P>>> {
    loop {
        match state {
            State::Done => return Poll::Ready(None),
            State::Refused(_) => {
                let State::Refused(error) = std::mem::replace(state, State::Done) else {
                    unreachable!("matched just above")
                };
                return Poll::Ready(Some(Err(error)));
            }
            State::Start(call) => {
                let source = Source::Call(call.clone());
                *state = State::Fetching(spawn_fetch(client, source, batch_size));
            }
            State::Fetching(handle) => {
                let joined = ready!(Pin::new(handle).poll(cx));
                let fetched = match joined {
                    Ok(fetched) => fetched,
                    Err(join) => Err(Error::new(
                        ErrorKind::Decode,
                        format!("the page fetch stopped: {join}"),
                    )),
                };
                *state = State::Done;
                let (page, next) = match fetched {
                    Ok(fetched) => fetched,
                    Err(error) => return Poll::Ready(Some(Err(error))),
                };
                if let Some(download) = next {
                    *state = State::Fetching(spawn_fetch(
                        client,
                        Source::InFlight(download),
                        batch_size,
                    ));
                }
                return Poll::Ready(Some(Ok(page)));
            }
        }
    }
}

impl<T: DeserializeOwned + Send + 'static> Stream for PageStream<T> {
    type Item = Result<Page<T>>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        poll_pages(&this.client, &mut this.state, this.batch_size, cx)
    }
}

/// A lazy stream of records, read page by page (see [`PageStream`]).
#[must_use = "streams do nothing unless polled"]
pub struct RecordStream<T> {
    pages: PageStream<T>,
    buffered: VecDeque<T>,
    finished: bool,
}

impl<T> std::fmt::Debug for RecordStream<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordStream")
            .field("buffered", &self.buffered.len())
            .field("pages", &self.pages)
            .finish()
    }
}

impl<T: DeserializeOwned + Send + 'static> Stream for RecordStream<T> {
    type Item = Result<T>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            if let Some(record) = this.buffered.pop_front() {
                return Poll::Ready(Some(Ok(record)));
            }
            if this.finished {
                return Poll::Ready(None);
            }
            match ready!(Pin::new(&mut this.pages).poll_next(cx)) {
                Some(Ok(page)) => this.buffered = page.records.into(),
                Some(Err(error)) => {
                    this.finished = true;
                    return Poll::Ready(Some(Err(error)));
                }
                None => this.finished = true,
            }
        }
    }
}

impl<T> Unpin for PageStream<T> {}
impl<T> Unpin for RecordStream<T> {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_raw_page_finds_each_record_in_its_text() {
        let body = r#"{"totalSize":3,"done":false,"nextRecordsUrl":"/q/01gx-2","records":[ {"a":"]},{"},{"b":[1,{"c":null}]} ]}"#;
        let page = RawPage::from_json(body.into()).unwrap();
        assert_eq!(
            page.records().collect::<Vec<_>>(),
            [r#"{"a":"]},{"}"#, r#"{"b":[1,{"c":null}]}"#]
        );
        assert_eq!((page.total_size, page.done, page.len()), (3, false, 2));
        assert_eq!(page.next_records_url.as_deref(), Some("/q/01gx-2"));
        for bad in [
            r#"{"totalSize":1,"done":true,"records":[{"a":1}"#,
            r#"{"records":[]}"#,
            "[]",
        ] {
            let error = RawPage::from_json(bad.into()).unwrap_err();
            assert_eq!(error.kind(), ErrorKind::Decode, "{bad}");
        }
    }

    #[test]
    fn the_envelope_is_read_from_the_head_of_a_page() {
        let page = br#"{"totalSize":5000,"done":false,"nextRecordsUrl":"/services/data/v60.0/query/01gx-2000","records":[{"a":"\"records\":"}]}"#;
        assert_eq!(
            envelope_from_head(page),
            Some(Envelope {
                done: false,
                next_records_url: Some("/services/data/v60.0/query/01gx-2000".into())
            })
        );
        let last = br#"{"totalSize":1,"done":true,"records":[]}"#;
        assert_eq!(
            envelope_from_head(last),
            Some(Envelope {
                done: true,
                next_records_url: None
            })
        );
        // Another layout: the caller falls back to reading the whole body.
        assert_eq!(envelope_from_head(br#"{"records":[],"done":true}"#), None);
    }
}
