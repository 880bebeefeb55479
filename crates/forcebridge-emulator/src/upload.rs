//! The org's budget of request-body bytes: however many requests send bodies at once, the bytes
//! the org holds for them never pass `Config::upload_budget`.
//!
//! Each route still caps its own bodies (50 MB of JSON, 150 MB of CSV); this bounds their sum.
//! A request whose body declares its length (`Content-Length`) reserves that many bytes before
//! its first byte is read, waiting its turn (first come, first served) for up to
//! `Config::upload_wait` and then answered 503 `SERVER_UNAVAILABLE`. A body whose length is not
//! known (chunked, or decompressed) takes its share as its bytes arrive: it may wait the same
//! way for room for its first bytes, but once it holds part of the budget it is refused with 503
//! at once when there is no room for more, because requests that wait while holding could all
//! be waiting for one another. A body that could never fit, even with the whole budget free, is
//! answered 413 `REQUEST_ENTITY_TOO_LARGE` at once. Nothing of a refused body is kept, so
//! sending it again is safe. A request's share returns to the budget when it has been answered
//! and its body dropped.
//!
//! It deliberately does not count what a request leaves behind: CSV uploaded to an open Bulk job
//! is the job's data once the upload has been answered. Nor does it count requests the org
//! makes to itself (`/composite/batch` sub-requests), whose bodies are cut from their parent's,
//! already counted. The login endpoints, which anyone can reach, never reserve: a declared
//! length there takes budget only as its bytes arrive, so a client cannot hold the budget
//! without sending anything.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hyper::body::{Body as HttpBody, Frame, SizeHint};
use tokio::sync::{AcquireError, OwnedSemaphorePermit, Semaphore, TryAcquireError};

use crate::api_error::ApiFailure;
use crate::http::InternalCall;
use crate::org::Org;

/// The shared budget of one org.
#[derive(Debug)]
pub(crate) struct UploadBudget {
    /// One permit per byte.
    semaphore: Arc<Semaphore>,
    size: usize,
    wait: Duration,
    /// The most bytes ever taken at once (for tests and logs).
    peak: Arc<AtomicUsize>,
}

impl UploadBudget {
    pub(crate) fn new(size: usize, wait: Duration) -> UploadBudget {
        // A semaphore holds at most `Semaphore::MAX_PERMITS`; a budget that large is no limit.
        let size = size.clamp(1, Semaphore::MAX_PERMITS);
        UploadBudget {
            semaphore: Arc::new(Semaphore::new(size)),
            size,
            wait,
            peak: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// Bytes taken from the budget right now.
    #[cfg(test)]
    pub(crate) fn held(&self) -> usize {
        self.size - self.semaphore.available_permits()
    }

    /// The most bytes taken at once since the org started.
    #[cfg(test)]
    pub(crate) fn peak(&self) -> usize {
        self.peak.load(Ordering::Relaxed)
    }

    fn lease(&self) -> Arc<Lease> {
        Arc::new(Lease {
            semaphore: self.semaphore.clone(),
            size: self.size,
            wait: self.wait,
            peak: self.peak.clone(),
            permit: std::sync::Mutex::new(None),
            prepaid: AtomicUsize::new(0),
            taken: AtomicUsize::new(0),
            refused: std::sync::Mutex::new(None),
        })
    }
}

/// Why a body was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refusal {
    /// No room came free within the wait.
    Busy,
    /// The body is larger than the whole budget.
    TooLarge,
}

impl Refusal {
    fn response(self, lease: &Lease) -> Response {
        match self {
            Refusal::Busy => ApiFailure::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "SERVER_UNAVAILABLE",
                "The org is receiving too much data at once, so this request was not processed. Try again later",
            )
            .into_response(),
            Refusal::TooLarge => ApiFailure::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "REQUEST_ENTITY_TOO_LARGE",
                format!(
                    "The request body is larger than the {} bytes this org holds for all requests at once",
                    lease.size
                ),
            )
            .into_response(),
        }
    }
}

/// One request's share of the budget, shared by the middleware and the body.
#[derive(Debug)]
struct Lease {
    semaphore: Arc<Semaphore>,
    size: usize,
    wait: Duration,
    peak: Arc<AtomicUsize>,
    /// Everything taken so far, returned to the budget when the lease is dropped.
    permit: std::sync::Mutex<Option<OwnedSemaphorePermit>>,
    /// Bytes reserved up front and not yet received.
    prepaid: AtomicUsize,
    /// Bytes taken in all.
    taken: AtomicUsize,
    refused: std::sync::Mutex<Option<Refusal>>,
}

impl Lease {
    fn keep(&self, permit: OwnedSemaphorePermit) {
        let n = permit.num_permits();
        self.taken.fetch_add(n, Ordering::Relaxed);
        let mut held = lock(&self.permit);
        match held.as_mut() {
            Some(held) => held.merge(permit),
            None => *held = Some(permit),
        }
        let in_use = self.size - self.semaphore.available_permits();
        self.peak.fetch_max(in_use, Ordering::Relaxed);
    }

    fn refuse(&self, refusal: Refusal) {
        *lock(&self.refused) = Some(refusal);
    }

    fn refusal(&self) -> Option<Refusal> {
        *lock(&self.refused)
    }

    /// Takes `n` bytes from what was reserved up front; returns what is still to be taken.
    fn use_prepaid(&self, n: usize) -> usize {
        let mut prepaid = self.prepaid.load(Ordering::Relaxed);
        loop {
            let used = prepaid.min(n);
            match self.prepaid.compare_exchange(
                prepaid,
                prepaid - used,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => return n - used,
                Err(actual) => prepaid = actual,
            }
        }
    }

    /// Whether this request holds any of the budget.
    fn holds_some(&self) -> bool {
        self.taken.load(Ordering::Relaxed) > 0
    }

    /// Whether `more` bytes could ever fit next to what this request holds.
    fn could_fit(&self, more: usize) -> bool {
        self.taken
            .load(Ordering::Relaxed)
            .checked_add(more)
            .is_some_and(|total| total <= self.size)
    }
}

fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Takes `n` permits, waiting in line (a semaphore takes at most `u32::MAX` at a time).
async fn take(semaphore: Arc<Semaphore>, n: usize) -> Result<OwnedSemaphorePermit, AcquireError> {
    let step = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    let first = step(n);
    let mut permit = semaphore.clone().acquire_many_owned(first).await?;
    let mut left = n - first as usize;
    while left > 0 {
        let next = step(left);
        permit.merge(semaphore.clone().acquire_many_owned(next).await?);
        left -= next as usize;
    }
    Ok(permit)
}

/// The middleware of the API routes (behind the API guard, so only a caller with a session
/// reserves): a declared length is reserved before the body is read.
pub(crate) async fn reserving(
    State(org): State<Arc<Org>>,
    request: Request,
    next: Next,
) -> Response {
    budgeted(&org, request, next, true).await
}

/// The middleware of the login endpoints, which anyone can reach: bodies take budget only as
/// their bytes arrive.
pub(crate) async fn as_received(
    State(org): State<Arc<Org>>,
    request: Request,
    next: Next,
) -> Response {
    budgeted(&org, request, next, false).await
}

async fn budgeted(org: &Org, request: Request, next: Next, reserve: bool) -> Response {
    if request.extensions().get::<InternalCall>().is_some() {
        return next.run(request).await;
    }
    let lease = org.uploads.lease();
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if let Some(declared) = declared {
        let fits = usize::try_from(declared).is_ok_and(|n| n <= lease.size);
        if !fits {
            tracing::info!(
                declared,
                budget = lease.size,
                "a request body larger than the whole upload budget was refused"
            );
            return Refusal::TooLarge.response(&lease);
        }
        let declared = declared as usize;
        if reserve && declared > 0 {
            match tokio::time::timeout(lease.wait, take(lease.semaphore.clone(), declared)).await {
                Ok(Ok(permit)) => {
                    lease.keep(permit);
                    lease.prepaid.store(declared, Ordering::Relaxed);
                }
                _ => {
                    tracing::warn!(
                        declared,
                        budget = lease.size,
                        "no room in the upload budget; the request was refused"
                    );
                    return Refusal::Busy.response(&lease);
                }
            }
        }
    }
    let request = request.map(|body| {
        Body::new(BudgetedBody {
            inner: body,
            lease: lease.clone(),
            waiting: None,
        })
    });
    let response = next.run(request).await;
    match lease.refusal() {
        Some(refusal) => {
            if refusal == Refusal::Busy {
                tracing::warn!(
                    budget = lease.size,
                    "no room in the upload budget; the request was refused"
                );
            }
            refusal.response(&lease)
        }
        None => response,
    }
}

type Wait = Pin<
    Box<
        dyn Future<
                Output = Result<
                    Result<OwnedSemaphorePermit, AcquireError>,
                    tokio::time::error::Elapsed,
                >,
            > + Send,
    >,
>;

/// A request body that takes its bytes from the budget as they arrive.
struct BudgetedBody {
    inner: Body,
    lease: Arc<Lease>,
    /// A data frame waiting for room, and the wait.
    waiting: Option<(Frame<Bytes>, Wait)>,
}

/// The error a refused body ends with; the middleware answers for it.
#[derive(Debug)]
struct Refused;

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the org's upload budget has no room for this body")
    }
}

impl std::error::Error for Refused {}

impl HttpBody for BudgetedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = &mut *self;
        if let Some((_, wait)) = &mut this.waiting {
            let outcome = ready!(wait.as_mut().poll(cx));
            let (frame, _) = this.waiting.take().expect("a frame is waiting");
            return Poll::Ready(Some(match outcome {
                Ok(Ok(permit)) => {
                    this.lease.keep(permit);
                    Ok(frame)
                }
                _ => {
                    this.lease.refuse(Refusal::Busy);
                    Err(axum::Error::new(Refused))
                }
            }));
        }
        let frame = match ready!(Pin::new(&mut this.inner).poll_frame(cx)) {
            Some(Ok(frame)) => frame,
            other => return Poll::Ready(other),
        };
        let Some(n) = frame.data_ref().map(Bytes::len) else {
            return Poll::Ready(Some(Ok(frame)));
        };
        let needed = this.lease.use_prepaid(n);
        if needed == 0 {
            return Poll::Ready(Some(Ok(frame)));
        }
        if !this.lease.could_fit(needed) {
            this.lease.refuse(Refusal::TooLarge);
            return Poll::Ready(Some(Err(axum::Error::new(Refused))));
        }
        match this
            .lease
            .semaphore
            .clone()
            .try_acquire_many_owned(u32::try_from(needed).unwrap_or(u32::MAX))
        {
            Ok(permit) if permit.num_permits() == needed => {
                this.lease.keep(permit);
                Poll::Ready(Some(Ok(frame)))
            }
            Ok(_) | Err(TryAcquireError::NoPermits) if this.lease.holds_some() => {
                // Waiting while holding part of the budget could wait forever: every request
                // that holds some might be waiting for the others. Refuse at once instead, which
                // returns this request's share to the others.
                this.lease.refuse(Refusal::Busy);
                Poll::Ready(Some(Err(axum::Error::new(Refused))))
            }
            Ok(_) | Err(TryAcquireError::NoPermits) => {
                // No room yet, and nothing held: wait in line with the frame in hand (the one
                // frame per waiting request that the budget does not see).
                let wait: Wait = Box::pin(tokio::time::timeout(
                    this.lease.wait,
                    take(this.lease.semaphore.clone(), needed),
                ));
                this.waiting = Some((frame, wait));
                // Poll the wait once, so it registers for a wake-up.
                self.poll_frame(cx)
            }
            Err(TryAcquireError::Closed) => {
                this.lease.refuse(Refusal::Busy);
                Poll::Ready(Some(Err(axum::Error::new(Refused))))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.waiting.is_none() && self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    //! The budget driven through the org's whole HTTP service, in process, with bodies fed chunk
    //! by chunk and tokio's paused clock for the waits.

    use std::convert::Infallible;
    use std::sync::atomic::AtomicBool;

    use axum::http::Method;
    use serde_json::Value;
    use tokio::sync::mpsc;
    use tokio::task::JoinHandle;
    use tower::ServiceExt;

    use super::*;
    use crate::Config;

    const KIB: usize = 1024;
    const CHUNK: usize = 16 * KIB;

    struct Fixture {
        org: Arc<Org>,
        service: crate::Service,
        token: String,
    }

    fn org(budget: usize) -> Fixture {
        let mut config = Config::builtin();
        config.upload_budget = budget;
        config.upload_wait = Duration::from_secs(30);
        let org = Org::new(config, false).unwrap();
        let token = crate::Control::new(org.clone()).access_token();
        Fixture {
            service: crate::service(org.clone()),
            org,
            token,
        }
    }

    /// A request body fed by the test, one chunk per `send`, and whether it was ever read.
    struct Feed {
        chunks: mpsc::Sender<Bytes>,
        read: Arc<AtomicBool>,
    }

    impl Feed {
        async fn send(&self, n_chunks: usize) {
            for _ in 0..n_chunks {
                self.chunks
                    .send(Bytes::from(vec![b'a'; CHUNK]))
                    .await
                    .unwrap();
            }
        }
    }

    fn fed_body() -> (Body, Feed) {
        let (tx, rx) = mpsc::channel::<Bytes>(1);
        let read = Arc::new(AtomicBool::new(false));
        let flag = read.clone();
        let stream = futures_util::stream::unfold(rx, move |mut rx| {
            flag.store(true, Ordering::SeqCst);
            async move { rx.recv().await.map(|b| (Ok::<_, Infallible>(b), rx)) }
        });
        (Body::from_stream(stream), Feed { chunks: tx, read })
    }

    impl Fixture {
        /// Sends a request in the background: `declared` is its `Content-Length`, if any.
        fn send(
            &self,
            method: Method,
            path: &str,
            declared: Option<usize>,
            body: Body,
        ) -> JoinHandle<(StatusCode, Value)> {
            let mut request = Request::builder()
                .method(method)
                .uri(path)
                .header(header::AUTHORIZATION, format!("Bearer {}", self.token))
                .header(header::CONTENT_TYPE, "application/json");
            if let Some(n) = declared {
                request = request.header(header::CONTENT_LENGTH, n);
            }
            let request = request.body(body).unwrap();
            let service = self.service.clone();
            tokio::spawn(async move {
                let Ok(response) = service.oneshot(request).await;
                let status = response.status();
                let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
                    .await
                    .unwrap();
                (
                    status,
                    serde_json::from_slice(&bytes).unwrap_or(Value::Null),
                )
            })
        }

        /// A create whose body is fed by the test.
        fn create(&self, declared: Option<usize>) -> (JoinHandle<(StatusCode, Value)>, Feed) {
            let (body, feed) = fed_body();
            let reply = self.send(
                Method::POST,
                "/services/data/v60.0/sobjects/Account",
                declared,
                body,
            );
            (reply, feed)
        }

        /// Lets every other task run until `condition` holds.
        async fn settle(&self, condition: impl Fn(&Org) -> bool) {
            for _ in 0..10_000 {
                if condition(&self.org) {
                    return;
                }
                tokio::task::yield_now().await;
            }
            panic!(
                "the condition never held (held {} bytes)",
                self.org.uploads.held()
            );
        }
    }

    fn error_code(reply: &(StatusCode, Value)) -> &str {
        reply.1[0]["errorCode"].as_str().unwrap_or("")
    }

    #[tokio::test(start_paused = true)]
    async fn declared_uploads_take_turns_and_never_hold_more_than_the_budget() {
        let org = org(1024 * KIB);
        let size = 25 * CHUNK; // 400 KiB: two fit at once, not three
        let mut replies = Vec::new();
        let mut feeds = Vec::new();
        for _ in 0..12 {
            let (reply, feed) = org.create(Some(size));
            replies.push(reply);
            feeds.push(feed);
        }
        // Each body is fed whole, concurrently with the others.
        let feeders: Vec<_> = feeds
            .into_iter()
            .map(|feed| tokio::spawn(async move { feed.send(25).await }))
            .collect();
        for reply in replies {
            let reply = reply.await.unwrap();
            // Every body was read whole and parsed: nobody was turned away.
            assert_eq!(reply.0, StatusCode::BAD_REQUEST, "{reply:?}");
            assert_eq!(error_code(&reply), "JSON_PARSER_ERROR", "{reply:?}");
        }
        for feeder in feeders {
            feeder.await.unwrap();
        }
        let peak = org.org.uploads.peak();
        assert!(peak <= 1024 * KIB, "{peak} bytes held at once");
        assert!(
            peak >= 2 * size,
            "only {peak} bytes at once: the uploads did not overlap"
        );
        assert_eq!(org.org.uploads.held(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn no_room_within_the_wait_is_503_and_more_than_the_budget_is_413() {
        let org = org(1024 * KIB);
        let (first, feed) = org.create(Some(800 * KIB));
        feed.send(1).await;
        org.settle(|org| org.uploads.held() == 800 * KIB).await;

        let started = tokio::time::Instant::now();
        let (second, second_feed) = org.create(Some(500 * KIB));
        let second = second.await.unwrap();
        assert_eq!(second.0, StatusCode::SERVICE_UNAVAILABLE, "{second:?}");
        assert_eq!(error_code(&second), "SERVER_UNAVAILABLE");
        // It waited its turn (on the paused clock), and its body was never read.
        assert!(started.elapsed() >= Duration::from_secs(30));
        assert!(!second_feed.read.load(Ordering::SeqCst));

        let (too_large, too_large_feed) = org.create(Some(1024 * KIB + 1));
        let too_large = too_large.await.unwrap();
        assert_eq!(too_large.0, StatusCode::PAYLOAD_TOO_LARGE, "{too_large:?}");
        assert_eq!(error_code(&too_large), "REQUEST_ENTITY_TOO_LARGE");
        assert!(!too_large_feed.read.load(Ordering::SeqCst));

        // The first upload ends (short of what it declared) and everything comes back.
        drop(feed);
        let first = first.await.unwrap();
        assert_eq!(first.0, StatusCode::BAD_REQUEST, "{first:?}");
        assert_eq!(org.org.uploads.held(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn the_login_endpoints_take_budget_only_as_bytes_arrive() {
        let org = org(1024 * KIB);
        let (body, feed) = fed_body();
        let login = org.send(
            Method::POST,
            "/services/oauth2/token",
            Some(600 * KIB),
            body,
        );
        feed.send(1).await;
        org.settle(|org| org.uploads.held() == CHUNK).await;
        drop(feed);
        let login = login.await.unwrap();
        assert_eq!(login.0, StatusCode::BAD_REQUEST, "{login:?}");
        assert_eq!(org.org.uploads.held(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn an_undeclared_body_waits_only_while_it_holds_nothing() {
        let org = org(4 * CHUNK);
        // One body fills the budget.
        let (full, full_feed) = org.create(None);
        full_feed.send(4).await;
        org.settle(|org| org.uploads.held() == 4 * CHUNK).await;
        // Another, holding nothing yet, waits for room, and gets it when the first is answered.
        let (waiting, waiting_feed) = org.create(None);
        waiting_feed.send(1).await;
        org.settle(|_| waiting_feed.read.load(Ordering::SeqCst))
            .await;
        drop(full_feed);
        assert_eq!(full.await.unwrap().0, StatusCode::BAD_REQUEST);
        waiting_feed.send(1).await;
        org.settle(|org| org.uploads.held() == 2 * CHUNK).await;

        // A third takes the rest; wanting more while holding some, it is refused at once rather
        // than wait for room the others may be waiting for too.
        let started = tokio::time::Instant::now();
        let (holder, holder_feed) = org.create(None);
        holder_feed.send(2).await;
        org.settle(|org| org.uploads.held() == 4 * CHUNK).await;
        let _ = holder_feed
            .chunks
            .send(Bytes::from(vec![b'a'; CHUNK]))
            .await;
        let holder = holder.await.unwrap();
        assert_eq!(holder.0, StatusCode::SERVICE_UNAVAILABLE, "{holder:?}");
        assert_eq!(error_code(&holder), "SERVER_UNAVAILABLE");
        // At once: the paused clock never moved towards the 30 s wait.
        assert!(started.elapsed() < Duration::from_secs(30));

        drop(waiting_feed);
        assert_eq!(waiting.await.unwrap().0, StatusCode::BAD_REQUEST);
        assert_eq!(org.org.uploads.held(), 0);

        // A body that outgrows the whole budget is 413 as soon as it does.
        let (outgrown, outgrown_feed) = org.create(None);
        let feeding = tokio::spawn(async move {
            for _ in 0..5 {
                if outgrown_feed
                    .chunks
                    .send(Bytes::from(vec![b'a'; CHUNK]))
                    .await
                    .is_err()
                {
                    break;
                }
            }
        });
        let outgrown = outgrown.await.unwrap();
        assert_eq!(outgrown.0, StatusCode::PAYLOAD_TOO_LARGE, "{outgrown:?}");
        feeding.await.unwrap();
        assert_eq!(org.org.uploads.held(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn composite_batch_subrequests_do_not_count_twice() {
        let batch = serde_json::json!({
            "batchRequests": [
                {"method": "POST", "url": "v60.0/sobjects/Account", "richInput": {"Name": "One"}},
                {"method": "POST", "url": "v60.0/sobjects/Account", "richInput": {"Name": "Two"}},
            ]
        })
        .to_string();
        // The budget holds the batch request's own body and not a byte more.
        let org = org(batch.len());
        let reply = org
            .send(
                Method::POST,
                "/services/data/v60.0/composite/batch",
                Some(batch.len()),
                Body::from(batch),
            )
            .await
            .unwrap();
        assert_eq!(reply.0, StatusCode::OK, "{reply:?}");
        assert_eq!(reply.1["hasErrors"], false, "{reply:?}");
        assert_eq!(reply.1["results"][1]["statusCode"], 201, "{reply:?}");
        assert_eq!(org.org.uploads.held(), 0);
    }
}
