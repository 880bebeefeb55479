//! How one request is sent: the read-only check, the API budget, the concurrency cap, the
//! session, retries, one re-login on an invalid session, and turning Salesforce's error bodies
//! into [`Error`]s.
//!
//! Every call in the crate is a [`Call`] given to [`Client::execute`], which returns the whole
//! answer ([`Reply`]) once it has been read: a cut connection while the body arrives is a
//! failed attempt like any other, so it is retried too. Callers that stream big results do so
//! page by page, each page one `Call`.
//!
//! A request that cannot be built (a URL the HTTP stack refuses) is a local error: never
//! retried, and not sent. A query whose GET URL would be too long is sent as the one GET
//! subrequest of a `/composite` request, which carries the URL in its body (Salesforce's
//! documented way round its 16,384-byte limit on URI and headers); the caller gets the
//! subrequest's answer as if it were the GET's.

use std::time::Instant;

use bytes::Bytes;
use reqwest::Method;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use secrecy::ExposeSecret;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::client::{Access, Client};
use crate::error::{ApiErrorDetail, Error, ErrorKind, Result};
use crate::retry::{Failure, retry_after};
use crate::usage::ApiUsage;

/// Where a request goes.
#[derive(Debug, Clone)]
pub(crate) enum Target {
    /// Path segments under `/services/data/vNN.N/`; each is percent-encoded as needed.
    Data(Vec<String>),
    /// A server-relative path that is already encoded (`nextRecordsUrl`), appended verbatim.
    Path(String),
}

/// A request body and its content type.
#[derive(Debug, Clone)]
pub(crate) struct Body {
    pub content_type: &'static str,
    pub bytes: Bytes,
}

/// One request to the org.
#[derive(Debug, Clone)]
pub(crate) struct Call {
    pub method: Method,
    pub target: Target,
    pub query: Vec<(String, String)>,
    pub headers: HeaderMap,
    pub body: Option<Body>,
    /// Whether sending it twice does no more than sending it once.
    pub idempotent: bool,
    /// Whether it can change data (refused by a read-only client).
    pub writes: bool,
    /// Error statuses whose body is an answer the caller reads itself (a failed sObject Tree
    /// answers 400 with its per-record results), so they come back as a [`Reply`].
    pub answers: &'static [u16],
    /// Whether a GET too long for a URL may go as a `/composite` subrequest (queries).
    pub composite_if_long: bool,
    /// Told the first bytes of a successful answer's body while the rest is still arriving
    /// (query pages: the next page's URL is in them).
    pub on_head: Option<HeadHook>,
}

/// What a [`Call`] does with the first bytes of its answer: given at least [`HEAD_BYTES`] of
/// the body (or all of it, if shorter, or up to `"records":` when that comes first), once for
/// each attempt that gets a successful status.
#[derive(Clone)]
pub(crate) struct HeadHook(pub std::sync::Arc<HeadFn>);

/// The function of a [`HeadHook`].
pub(crate) type HeadFn = dyn Fn(&[u8]) + Send + Sync;

impl std::fmt::Debug for HeadHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HeadHook")
    }
}

/// How much of a body a [`HeadHook`] waits for, at most.
pub(crate) const HEAD_BYTES: usize = 1024;

impl Call {
    /// A request to `segments` under the versioned data path. GET, HEAD and DELETE are
    /// idempotent, PATCH and PUT too; POST is not. Anything but GET and HEAD writes.
    pub(crate) fn data<S: Into<String>>(
        method: Method,
        segments: impl IntoIterator<Item = S>,
    ) -> Call {
        Call::new(
            method,
            Target::Data(segments.into_iter().map(Into::into).collect()),
        )
    }

    pub(crate) fn new(method: Method, target: Target) -> Call {
        let idempotent = method != Method::POST;
        let writes = !matches!(method, Method::GET | Method::HEAD);
        Call {
            method,
            target,
            query: Vec::new(),
            headers: HeaderMap::new(),
            body: None,
            idempotent,
            writes,
            answers: &[],
            composite_if_long: false,
            on_head: None,
        }
    }

    pub(crate) fn query(mut self, key: &str, value: impl Into<String>) -> Call {
        self.query.push((key.to_string(), value.into()));
        self
    }

    pub(crate) fn header(mut self, name: HeaderName, value: &str) -> Result<Call> {
        let value = HeaderValue::from_str(value)
            .map_err(|e| Error::not_sent(format!("invalid {name} header value: {e}")))?;
        self.headers.insert(name, value);
        Ok(self)
    }

    pub(crate) fn json(mut self, body: &impl Serialize) -> Result<Call> {
        let bytes = serde_json::to_vec(body)
            .map_err(|e| Error::not_sent(format!("cannot write the request body: {e}")))?;
        self.body = Some(Body {
            content_type: "application/json",
            bytes: Bytes::from(bytes),
        });
        Ok(self)
    }

    pub(crate) fn body(mut self, content_type: &'static str, bytes: Bytes) -> Call {
        self.body = Some(Body {
            content_type,
            bytes,
        });
        self
    }

    /// Marks a request as safe or unsafe to repeat, whatever its method says.
    pub(crate) fn idempotent(mut self, idempotent: bool) -> Call {
        self.idempotent = idempotent;
        self
    }

    /// Marks a POST that only reads (parameterized search, collection retrieve, Bulk query).
    pub(crate) fn reads_only(mut self) -> Call {
        self.writes = false;
        self
    }

    /// Hands these error statuses back as a [`Reply`] instead of an [`Error`], for resources
    /// whose error answers carry results (never retried, never a re-login).
    pub(crate) fn answers(mut self, statuses: &'static [u16]) -> Call {
        self.answers = statuses;
        self
    }

    /// Lets a GET whose URL would be too long go as the one subrequest of a `/composite`
    /// request (only resources Salesforce serves there: `query` and `queryAll`).
    pub(crate) fn composite_if_long(mut self) -> Call {
        self.composite_if_long = true;
        self
    }

    /// Tells `hook` the first bytes of the body while the rest arrives (see [`HeadHook`]).
    pub(crate) fn on_head(mut self, hook: HeadHook) -> Call {
        self.on_head = Some(hook);
        self
    }

    /// The path and query string under `/services/data/{version}/`, encoded as they are sent
    /// (for `Target::Data` calls).
    fn data_path_and_query(&self, version: &str) -> Option<String> {
        let Target::Data(segments) = &self.target else {
            return None;
        };
        // Any base will do: only the path and query it encodes are kept.
        let mut url = reqwest::Url::parse("http://localhost/").ok()?;
        url.path_segments_mut()
            .ok()?
            .pop_if_empty()
            .extend(["services", "data", version])
            .extend(segments);
        if !self.query.is_empty() {
            url.query_pairs_mut().extend_pairs(&self.query);
        }
        Some(match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_string(),
        })
    }

    /// `METHOD /path` for messages (never the query string, which can be long).
    pub(crate) fn describe(&self, version: &str) -> String {
        match &self.target {
            Target::Data(segments) => format!(
                "{} /services/data/{version}/{}",
                self.method,
                segments.join("/")
            ),
            Target::Path(path) => {
                format!("{} {}", self.method, path.split('?').next().unwrap_or(path))
            }
        }
    }
}

/// A complete answer.
#[derive(Debug, Clone)]
pub(crate) struct Reply {
    pub status: reqwest::StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// `METHOD /path` of the request, for messages.
    pub request: String,
}

impl Reply {
    pub(crate) fn json<T: DeserializeOwned>(&self) -> Result<T> {
        // Checking the whole body is UTF-8 at once is faster than serde_json checking each
        // string as it goes (which it skips for a `&str`).
        let text = std::str::from_utf8(&self.body).map_err(|e| {
            Error::decode(
                format!("{}: the response body is not UTF-8", self.request),
                e,
            )
        })?;
        serde_json::from_str(text)
            .map_err(|e| Error::decode(format!("{}: unexpected response body", self.request), e))
    }

    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// Reads a body to its end, telling `hook` its head as soon as that is in.
async fn read_telling_head(
    mut response: reqwest::Response,
    hook: &HeadHook,
) -> reqwest::Result<Bytes> {
    const RECORDS: &[u8] = b"\"records\":";
    let mut body = bytes::BytesMut::with_capacity(
        response
            .content_length()
            .map_or(64 * 1024, |n| n.min(64 << 20) as usize),
    );
    let mut told = false;
    while let Some(chunk) = response.chunk().await? {
        body.extend_from_slice(&chunk);
        if !told && (body.len() >= HEAD_BYTES || body.windows(RECORDS.len()).any(|w| w == RECORDS))
        {
            told = true;
            (hook.0)(&body[..body.len().min(HEAD_BYTES)]);
        }
    }
    if !told {
        (hook.0)(&body);
    }
    Ok(body.freeze())
}

impl Client {
    /// Sends `call` and returns the org's answer once fully read. Any status from 200 to 299,
    /// and 304, is an answer; anything else is an [`Error`].
    pub(crate) async fn execute(&self, call: Call) -> Result<Reply> {
        let version = self.inner.version.path_segment();
        if call.method == Method::GET
            && let Some(target) = call.data_path_and_query(&version)
            && target.len() > MAX_GET_TARGET_BYTES
        {
            let request_name = call.describe(&version);
            if call.composite_if_long && target.len() <= MAX_SUBREQUEST_URL_BYTES {
                return self.execute_as_subrequest(call, target, request_name).await;
            }
            if target.len() > MAX_REQUEST_TARGET_BYTES {
                return Err(Error::not_sent(format!(
                    "{request_name}: not sent: its URL would be {} bytes, and Salesforce accepts at most {MAX_REQUEST_TARGET_BYTES} of URL and headers",
                    target.len()
                )));
            }
        }
        self.send(call).await
    }

    /// The request path of [`Client::execute`]: read-only check, budget, session, sending,
    /// retries and one re-login. Whether the work reached the org is recorded on every error.
    async fn send(&self, call: Call) -> Result<Reply> {
        let inner = &self.inner;
        let version = inner.version.path_segment();
        let request_name = call.describe(&version);
        if inner.access == Access::ReadOnly && call.writes {
            return Err(Error::not_sent(format!(
                "{request_name}: refused, because this connection is read-only"
            )));
        }
        let mut delays = inner.retry.delays();
        let (mut generation, mut session) =
            inner.tokens.session().await.map_err(Error::nothing_sent)?;
        let mut logged_in_again = false;
        let mut attempt = 0u32;
        // Whether an attempt got as far as the org (a connection was made).
        let mut reached = false;
        let settle = |error: Error, reached: bool| {
            if reached {
                error.sent()
            } else {
                error.nothing_sent()
            }
        };
        loop {
            attempt += 1;
            if let Some(budget) = &inner.budget
                && let Some(refusal) = budget.check(inner.usage.latest())
            {
                return Err(settle(
                    Error::new(
                        ErrorKind::Limit,
                        format!("{request_name}: not sent: {refusal}"),
                    ),
                    reached,
                ));
            }
            let url = url_for(&session.instance_url, &version, &call.target)
                .map_err(|e| settle(e, reached))?;
            let mut request = inner
                .http
                .request(call.method.clone(), url)
                .bearer_auth(session.access_token.expose_secret())
                .headers(call.headers.clone());
            if !call.query.is_empty() {
                request = request.query(&call.query);
            }
            if let Some(body) = &call.body {
                request = request
                    .header(reqwest::header::CONTENT_TYPE, body.content_type)
                    .body(body.bytes.clone());
            }
            let started = Instant::now();
            let permit = inner
                .permits
                .acquire()
                .await
                .map_err(|_| settle(Error::not_sent("the client is shutting down"), reached))?;
            inner.usage.count_sent();
            let outcome = match request.send().await {
                Ok(response) => {
                    reached = true;
                    let status = response.status();
                    let headers = response.headers().clone();
                    if let Some(usage) = headers
                        .get(forcebridge_wire::LIMIT_INFO_HEADER)
                        .and_then(|v| v.to_str().ok())
                        .and_then(ApiUsage::parse)
                    {
                        inner.usage.record(usage);
                    }
                    if let Some(date) = headers
                        .get(reqwest::header::DATE)
                        .and_then(|v| v.to_str().ok())
                    {
                        inner.usage.record_date(date);
                    }
                    let body = match &call.on_head {
                        Some(hook) if status.is_success() => {
                            read_telling_head(response, hook).await
                        }
                        _ => response.bytes().await,
                    };
                    match body {
                        Ok(body) => Ok(Reply {
                            status,
                            headers,
                            body,
                            request: request_name.clone(),
                        }),
                        Err(error) => Err(transport_error(&request_name, error)),
                    }
                }
                Err(error) => {
                    let (error, failure) = transport_error(&request_name, error);
                    reached |= !error.is_not_sent();
                    Err((error, failure))
                }
            };
            drop(permit);
            let (error, wait) = match outcome {
                Ok(reply)
                    if reply.status.is_success()
                        || reply.status.as_u16() == 304
                        || call.answers.contains(&reply.status.as_u16()) =>
                {
                    tracing::debug!(
                        request = %request_name,
                        status = reply.status.as_u16(),
                        attempt,
                        bytes = reply.body.len(),
                        elapsed_ms = started.elapsed().as_millis() as u64,
                        "request done"
                    );
                    return Ok(reply);
                }
                Ok(reply) => {
                    let status = reply.status.as_u16();
                    let error = error_from_reply(&reply);
                    if status == 401 && !logged_in_again {
                        // The session expired or was revoked: log in again once (or pick up
                        // the session another request already got) and resend right away.
                        tracing::debug!(request = %request_name, "session refused; logging in again");
                        logged_in_again = true;
                        (generation, session) = inner
                            .tokens
                            .refresh(generation)
                            .await
                            .map_err(Error::sent)?;
                        continue;
                    }
                    let failure = Failure::Status {
                        status,
                        error_code: error.error_code(),
                    };
                    if !failure.is_retryable(call.idempotent, &inner.retry) {
                        return Err(error.sent());
                    }
                    let wait = reply
                        .header("retry-after")
                        .and_then(|v| retry_after(v, chrono::Utc::now()));
                    (error, wait)
                }
                Err((error, failure)) => {
                    if !failure.is_retryable(call.idempotent, &inner.retry) {
                        return Err(settle(error, reached));
                    }
                    (error, None)
                }
            };
            let Some(delay) = delays.next() else {
                return Err(settle(error, reached));
            };
            let delay = match wait {
                Some(wait) if wait > inner.retry.max_retry_after => {
                    return Err(settle(error, reached));
                }
                Some(wait) => wait,
                None => delay,
            };
            tracing::warn!(
                request = %request_name,
                attempt,
                %error,
                delay_ms = delay.as_millis() as u64,
                "request failed; retrying"
            );
            tokio::time::sleep(delay).await;
        }
    }

    /// Sends a GET too long for a URL as the one subrequest of a `/composite` request, and
    /// hands back the subrequest's answer as the GET's (an error status becomes an [`Error`],
    /// named after the GET). The composite only reads, and is safe to repeat.
    async fn execute_as_subrequest(
        &self,
        call: Call,
        target: String,
        request_name: String,
    ) -> Result<Reply> {
        // Subrequests may carry headers other than Accept, Authorization and Content-Type; only
        // Salesforce's own are passed on (the query batch size: UNVERIFIED that the org applies
        // it to a subrequest; the local org pages a subrequest's query by 2,000 whatever it
        // asks).
        let headers: std::collections::BTreeMap<String, String> = call
            .headers
            .iter()
            .filter(|(name, _)| name.as_str().starts_with("sforce-"))
            .filter_map(|(name, value)| Some((name.to_string(), value.to_str().ok()?.to_string())))
            .collect();
        let composite = forcebridge_wire::composite::CompositeRequest {
            all_or_none: false,
            collate_subrequests: None,
            composite_request: vec![forcebridge_wire::composite::CompositeSubrequest {
                method: "GET".into(),
                url: target,
                reference_id: "longGet".into(),
                body: None,
                http_headers: (!headers.is_empty()).then_some(headers),
            }],
        };
        tracing::debug!(request = %request_name, "URL too long; sending the GET as a /composite subrequest");
        let wrapper = Call::data(Method::POST, ["composite"])
            .json(&composite)?
            .reads_only()
            .idempotent(true);
        let reply = self.send(wrapper).await?;
        let mut answer: forcebridge_wire::composite::CompositeResponse =
            reply.json().map_err(Error::sent)?;
        if answer.composite_response.len() != 1 {
            return Err(Error::new(
                ErrorKind::Decode,
                format!(
                    "{request_name}: the /composite answer holds {} subresponses, not one",
                    answer.composite_response.len()
                ),
            )
            .sent());
        }
        let sub = answer.composite_response.remove(0);
        let body = serde_json::to_vec(&sub.body).map_err(|e| {
            Error::decode(
                format!("{request_name}: the /composite subresponse cannot be read back"),
                e,
            )
            .sent()
        })?;
        let status = reqwest::StatusCode::from_u16(sub.http_status_code).map_err(|e| {
            Error::decode(
                format!(
                    "{request_name}: the /composite subresponse has status {}",
                    sub.http_status_code
                ),
                e,
            )
            .sent()
        })?;
        let sub_reply = Reply {
            status,
            headers: reply.headers,
            body: Bytes::from(body),
            request: request_name,
        };
        if status.is_success() {
            Ok(sub_reply)
        } else {
            Err(error_from_reply(&sub_reply).sent())
        }
    }

    /// Sends `call` and reads the answer as JSON.
    pub(crate) async fn execute_json<T: DeserializeOwned>(&self, call: Call) -> Result<T> {
        self.execute(call).await?.json()
    }
}

/// The longest GET request target (path and query string) sent as it is: half of the 16,384
/// bytes Salesforce allows for the URI and headers together, which leaves room for the headers
/// and stays within the 8 KiB request line many proxies accept. A longer query goes through
/// `/composite`.
pub(crate) const MAX_GET_TARGET_BYTES: usize = 8 * 1024;

/// Salesforce's limit on the URI and headers of a request: a longer GET target cannot be sent.
const MAX_REQUEST_TARGET_BYTES: usize = 16 * 1024;

/// The longest subrequest URL sent in a `/composite` body. Salesforce documents no limit on it
/// (UNVERIFIED); a statement of 100,000 characters, the most it accepts, encodes to at most
/// 900,000 bytes, so this only guards against a runaway.
const MAX_SUBREQUEST_URL_BYTES: usize = 1024 * 1024;

fn url_for(instance_url: &str, version: &str, target: &Target) -> Result<reqwest::Url> {
    let bad = |e: String| {
        Error::new(
            ErrorKind::Auth,
            format!("the session's instance URL {instance_url:?} is unusable: {e}"),
        )
    };
    match target {
        Target::Data(segments) => {
            let mut url = reqwest::Url::parse(instance_url).map_err(|e| bad(e.to_string()))?;
            url.path_segments_mut()
                .map_err(|()| bad("it cannot have a path".into()))?
                .pop_if_empty()
                .extend(["services", "data", version])
                .extend(segments);
            Ok(url)
        }
        Target::Path(path) => {
            reqwest::Url::parse(&format!("{instance_url}{path}")).map_err(|e| bad(e.to_string()))
        }
    }
}

/// A failed send or body read as an [`Error`]: the message names the request and what failed
/// (never the URL, whose query string can be long); reqwest's error, without its URL, is the
/// source and says the rest. A request that could not be built is a local error (not sent,
/// never retried); a connection that could not be made is a transport error that sent nothing.
fn transport_error(request: &str, error: reqwest::Error) -> (Error, Failure<'static>) {
    let error = error.without_url();
    if error.is_builder() {
        return (
            Error::not_sent(format!("{request}: {}", failure_text(&error))).with_source(error),
            Failure::Local,
        );
    }
    if let Some(problem) = certificate_problem(&error) {
        let error = Error::new(ErrorKind::Transport, format!("{request}: {problem}"))
            .with_source(error)
            .certificate_refused()
            .nothing_sent();
        return (error, Failure::Certificate);
    }
    let failure = if error.is_connect() {
        Failure::Connect
    } else {
        Failure::Transport
    };
    let error = Error::new(
        ErrorKind::Transport,
        format!("{request}: {}", failure_text(&error)),
    )
    .with_source(error);
    let error = if failure == Failure::Connect {
        error.nothing_sent()
    } else {
        error.sent()
    };
    (error, failure)
}

/// Why the server's TLS certificate was refused, when that is why `error` happened: in words
/// that say what is wrong with it (the rustls error in the source chain says it in its own).
/// Nothing reached the org, and no retry can change the answer.
pub(crate) fn certificate_problem(error: &reqwest::Error) -> Option<&'static str> {
    use rustls::{CertificateError, Error as Tls};
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(current) = cause {
        if let Some(tls) = current.downcast_ref::<Tls>() {
            return match tls {
                Tls::InvalidCertificate(CertificateError::UnknownIssuer) => Some(
                    "the server's TLS certificate is not trusted: it is signed by an authority this client does not trust",
                ),
                Tls::InvalidCertificate(
                    CertificateError::NotValidForName
                    | CertificateError::NotValidForNameContext { .. },
                ) => Some(
                    "the server's TLS certificate is not trusted: it is not valid for this host name",
                ),
                Tls::InvalidCertificate(
                    CertificateError::Expired | CertificateError::ExpiredContext { .. },
                ) => Some("the server's TLS certificate is not trusted: it has expired"),
                Tls::InvalidCertificate(_) => {
                    Some("the server's TLS certificate is not trusted: it is not valid")
                }
                Tls::NoCertificatesPresented => {
                    Some("the server's TLS certificate is not trusted: the server sent none")
                }
                _ => None,
            };
        }
        // rustls errors travel inside `io::Error`s (sometimes one inside another), whose own
        // `source` skips the error they wrap.
        cause = match current.downcast_ref::<std::io::Error>() {
            Some(io) => match io.get_ref() {
                Some(inner) => Some(inner as &(dyn std::error::Error + 'static)),
                None => std::error::Error::source(io),
            },
            None => current.source(),
        };
    }
    None
}

/// What went wrong with a request reqwest could not complete, in a few words (the error itself
/// says the rest, as the source).
pub(crate) fn failure_text(error: &reqwest::Error) -> &'static str {
    if error.is_builder() {
        "the request cannot be built"
    } else if error.is_connect() {
        "could not connect"
    } else if error.is_timeout() {
        "timed out"
    } else if error.is_body() {
        "the answer was cut off"
    } else if error.is_decode() {
        "the answer could not be read"
    } else {
        "the connection failed"
    }
}

/// Salesforce's error answer as an [`Error`]. REST errors are a JSON array of
/// `{message, errorCode, fields}`; a 300 lists the matching records' URLs; anything else is
/// kept as text.
pub(crate) fn error_from_reply(reply: &Reply) -> Error {
    let status = reply.status.as_u16();
    let details = parse_error_body(status, &reply.body);
    let kind = match (status, details.first().map(|d| d.error_code.as_str())) {
        (_, Some("REQUEST_LIMIT_EXCEEDED")) => ErrorKind::Limit,
        (401, _) => ErrorKind::Auth,
        _ => ErrorKind::Api,
    };
    let summary = match details.as_slice() {
        [] => format!("HTTP {status}"),
        [one] => describe_detail(one),
        [first, rest @ ..] => format!("{} (and {} more)", describe_detail(first), rest.len()),
    };
    Error::new(kind, format!("{}: {summary}", reply.request))
        .with_status(status)
        .with_api_errors(details)
}

fn describe_detail(detail: &ApiErrorDetail) -> String {
    let mut text = format!("{}: {}", detail.error_code, detail.message.trim());
    if !detail.fields.is_empty() {
        text.push_str(&format!(" (fields: {})", detail.fields.join(", ")));
    }
    text
}

fn parse_error_body(status: u16, body: &[u8]) -> Vec<ApiErrorDetail> {
    if let Ok(errors) = serde_json::from_slice::<Vec<forcebridge_wire::error::ApiError>>(body) {
        return errors
            .into_iter()
            .map(|e| ApiErrorDetail {
                error_code: e.error_code,
                message: e.message,
                fields: e.fields.unwrap_or_default(),
            })
            .collect();
    }
    if status == 300
        && let Ok(urls) = serde_json::from_slice::<Vec<String>>(body)
    {
        return vec![ApiErrorDetail {
            error_code: "MULTIPLE_CHOICES".into(),
            message: format!("{} records match: {}", urls.len(), urls.join(", ")),
            fields: Vec::new(),
        }];
    }
    if let Ok(error) = serde_json::from_slice::<forcebridge_wire::oauth::OAuthError>(body) {
        return vec![ApiErrorDetail {
            error_code: error.error,
            message: error.error_description,
            fields: Vec::new(),
        }];
    }
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        return Vec::new();
    }
    vec![ApiErrorDetail {
        error_code: format!("HTTP_{status}"),
        message: text.chars().take(500).collect(),
        fields: Vec::new(),
    }]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_urls_encode_each_segment() {
        let url = url_for(
            "https://acme.my.salesforce.com",
            "v60.0",
            &Target::Data(vec![
                "sobjects".into(),
                "Account".into(),
                "Ext__c".into(),
                "a b/c?d".into(),
            ]),
        )
        .unwrap();
        assert_eq!(
            url.as_str(),
            "https://acme.my.salesforce.com/services/data/v60.0/sobjects/Account/Ext__c/a%20b%2Fc%3Fd"
        );
        let next = url_for(
            "http://127.0.0.1:8080",
            "v60.0",
            &Target::Path("/services/data/v60.0/query/01gx-2000".into()),
        )
        .unwrap();
        assert_eq!(
            next.as_str(),
            "http://127.0.0.1:8080/services/data/v60.0/query/01gx-2000"
        );
    }

    #[test]
    fn error_bodies_of_every_shape_become_details() {
        let rest = parse_error_body(
            400,
            br#"[{"message":"Required fields are missing: [Name]","errorCode":"REQUIRED_FIELD_MISSING","fields":["Name"]}]"#,
        );
        assert_eq!(rest[0].error_code, "REQUIRED_FIELD_MISSING");
        assert_eq!(rest[0].fields, ["Name"]);
        let choices = parse_error_body(300, br#"["/services/data/v60.0/sobjects/Account/001"]"#);
        assert_eq!(choices[0].error_code, "MULTIPLE_CHOICES");
        let oauth = parse_error_body(
            400,
            br#"{"error":"invalid_grant","error_description":"expired"}"#,
        );
        assert_eq!(oauth[0].error_code, "invalid_grant");
        let text = parse_error_body(502, b"Bad Gateway");
        assert_eq!(text[0].error_code, "HTTP_502");
        assert!(parse_error_body(500, b"").is_empty());
    }
}
