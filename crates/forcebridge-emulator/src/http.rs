//! The HTTP surface: the router that joins every area's routes, and the layers around it.
//!
//! Requests under `/services/data/vNN.N/` pass [`api_guard`]: the version must be served (else
//! 404), the bearer token must be a live session (else 401 `INVALID_SESSION_ID`), and the request
//! counts against the daily limit (else 403 `REQUEST_LIMIT_EXCEEDED`); every response there
//! carries `Sforce-Limit-Info: api-usage=N/M`. Around everything, [`shape_errors`] turns any error
//! the framework produces itself (unknown method, body too large) into Salesforce's JSON shape,
//! so clients never see a plain-text error.

use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, FromRequest, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bytes::BytesMut;
use serde::de::DeserializeOwned;

use crate::api_error::{ApiFailure, json_response};
use crate::auth::session::{Session, TokenProblem};
use crate::org::Org;
use crate::versions::ApiVersion;

/// Largest JSON request body accepted (REST).
pub(crate) const MAX_JSON_BODY: usize = 50 * 1024 * 1024;
/// Largest CSV upload accepted (Bulk API 2.0), as Salesforce documents it.
pub(crate) const MAX_CSV_BODY: usize = 150 * 1024 * 1024;

/// The authenticated caller of an API request, put in the request extensions by [`api_guard`].
#[derive(Clone)]
pub(crate) struct Caller {
    pub session: Session,
    /// The bearer token, for sub-requests made on the caller's behalf (composite).
    pub token: String,
    /// Whether injected faults cover this request, so the records it writes may meet locked
    /// rows.
    pub in_fault_scope: bool,
    /// Whether the request acknowledged duplicate alerts (`Sforce-Duplicate-Rule-Header:
    /// allowSave=true`, read from API 52.0 on), so its saves go ahead past `Alert` duplicate
    /// rules.
    pub allow_duplicates: bool,
}

impl std::fmt::Debug for Caller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The token is a credential: it never reaches logs.
        f.debug_struct("Caller")
            .field("session", &self.session)
            .field("token", &"<redacted>")
            .field("in_fault_scope", &self.in_fault_scope)
            .field("allow_duplicates", &self.allow_duplicates)
            .finish()
    }
}

/// Marks an error response that is already in its own protocol's shape (an OAuth revoke error
/// as a form, an identity-service error as plain text, as Salesforce sends them), so
/// [`shape_errors`] leaves it alone instead of turning it into a REST error array.
#[derive(Debug, Clone, Copy)]
pub(crate) struct KeepErrorBody;

/// Marks a request the org makes to itself (a `/composite/batch` sub-request): it is
/// authenticated as usual, no fault is injected into it a second time, and it counts against
/// the API limit only when `counts_against_limit` says so. Only code can set it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct InternalCall {
    pub counts_against_limit: bool,
    /// Whether the request it is part of is in the faults' scope.
    pub in_fault_scope: bool,
}

/// The whole app: every route, with its layers, sharing `org`.
pub(crate) fn router(org: Arc<Org>) -> Router {
    let api = Router::new()
        .merge(crate::rest::routes())
        .merge(crate::soql::routes())
        .merge(crate::composite::routes())
        .merge(crate::bulk::routes())
        // Inside the guard: only a caller with a session reserves upload budget.
        .route_layer(middleware::from_fn_with_state(
            org.clone(),
            crate::upload::reserving,
        ))
        .route_layer(middleware::from_fn_with_state(org.clone(), api_guard))
        .layer(DefaultBodyLimit::max(MAX_JSON_BODY));
    Router::new()
        .route("/services/data", get(crate::rest::versions))
        .merge(api)
        .merge(
            crate::auth::routes().route_layer(middleware::from_fn_with_state(
                org.clone(),
                crate::upload::as_received,
            )),
        )
        .fallback(fallback)
        .layer(middleware::from_fn_with_state(
            org.clone(),
            crate::faults::inject,
        ))
        .layer(middleware::from_fn(host_from_authority))
        .layer(middleware::from_fn(shape_errors))
        // A bug must not cost the client its connection: a panicking handler answers 500
        // UNKNOWN_EXCEPTION, as Salesforce does for its own internal errors.
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(
            panic_response,
        ))
        .layer(tower_http::decompression::RequestDecompressionLayer::new())
        // The org runs next to its clients, where bandwidth is cheap and CPU is not: the
        // fastest gzip level serves a 1 MB query page about three times faster than the
        // default level (measured in benches/query.rs), and clients that ask for gzip get it.
        .layer(
            tower_http::compression::CompressionLayer::new()
                .quality(tower_http::CompressionLevel::Fastest),
        )
        .with_state(org)
}

/// HTTP/2 carries the host in the request URI (`:authority`) rather than a `Host` header, and
/// an HTTP/1.1 request in absolute form names it there too, where it wins over `Host`
/// (RFC 9112, section 3.2.2). Either way it becomes the `Host` header here, so the URLs the
/// org hands out (`instance_url`, the identity URL, SOAP's `serverUrl`) keep the host and port
/// the client used.
async fn host_from_authority(mut request: Request, next: Next) -> Response {
    if let Some(authority) = request.uri().authority()
        && let Ok(value) = HeaderValue::from_str(authority.as_str())
    {
        request.headers_mut().insert(header::HOST, value);
    }
    next.run(request).await
}

fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("a request handler panicked");
    ApiFailure::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "UNKNOWN_EXCEPTION",
        "An unexpected error occurred. Please include this ErrorId if you contact support",
    )
    .into_response()
}

async fn fallback() -> ApiFailure {
    ApiFailure::not_found()
}

/// The bearer token of a request: `Authorization: Bearer <token>` (or `OAuth <token>`, which
/// older clients send).
pub(crate) fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, token) = value.split_once(' ')?;
    (scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("oauth"))
        .then(|| token.trim())
}

/// The version segment of `/services/data/vNN.N/...`.
fn version_segment(path: &str) -> Option<&str> {
    path.strip_prefix("/services/data/")?.split('/').next()
}

async fn api_guard(State(org): State<Arc<Org>>, mut request: Request, next: Next) -> Response {
    let Some(version) = version_segment(request.uri().path()).and_then(ApiVersion::parse) else {
        return ApiFailure::not_found().into_response();
    };
    let now = org.now();
    let token = bearer_token(request.headers()).map(str::to_string);
    let session = match token.as_deref().map(|t| org.sessions.check(t, now)) {
        Some(Ok(session)) => session,
        Some(Err(TokenProblem::Expired)) | Some(Err(TokenProblem::Unknown)) | None => {
            return ApiFailure::invalid_session().into_response();
        }
    };
    let counts = request
        .extensions()
        .get::<InternalCall>()
        .is_none_or(|call| call.counts_against_limit);
    if counts && org.usage.record(now).is_none() {
        let mut response = ApiFailure::new(
            StatusCode::FORBIDDEN,
            "REQUEST_LIMIT_EXCEEDED",
            "TotalRequests Limit exceeded.",
        )
        .into_response();
        add_limit_info(&org, response.headers_mut());
        return response;
    }
    let in_fault_scope = request
        .extensions()
        .get::<crate::faults::InScope>()
        .is_some_and(|scope| scope.0);
    let allow_duplicates = version >= crate::duplicates::HEADER_SINCE
        && crate::duplicates::allow_save(request.headers());
    request.extensions_mut().insert(version);
    request.extensions_mut().insert(Caller {
        session,
        token: token.unwrap_or_default(),
        in_fault_scope,
        allow_duplicates,
    });
    let mut response = next.run(request).await;
    add_limit_info(&org, response.headers_mut());
    response
}

fn add_limit_info(org: &Org, headers: &mut HeaderMap) {
    let value = format!("api-usage={}/{}", org.usage.used(), org.usage.max);
    if let Ok(value) = HeaderValue::from_str(&value) {
        headers.insert(forcebridge_wire::LIMIT_INFO_HEADER, value);
    }
    // The `Date` of an API answer is the org's clock (which tests move with
    // `Control::advance_clock`), as a real org's is its own: a replica reads "now" from it.
    // Without one, hyper would stamp the machine's clock.
    if let Some(date) = chrono::DateTime::from_timestamp_millis(org.now())
        && let Ok(value) =
            HeaderValue::from_str(&date.format("%a, %d %b %Y %H:%M:%S GMT").to_string())
    {
        headers.insert(header::DATE, value);
    }
}

/// Rewrites framework errors (plain text) into Salesforce's JSON error array.
async fn shape_errors(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let response = next.run(request).await;
    let status = response.status();
    if status.as_u16() < 400 || response.extensions().get::<KeepErrorBody>().is_some() {
        return response;
    }
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if content_type.starts_with("application/json")
        || content_type.contains("xml")
        || content_type.starts_with("text/html")
    {
        return response;
    }
    let (code, message) = match status {
        StatusCode::METHOD_NOT_ALLOWED => (
            "METHOD_NOT_ALLOWED",
            format!("HTTP Method '{method}' not allowed"),
        ),
        StatusCode::PAYLOAD_TOO_LARGE => (
            "REQUEST_ENTITY_TOO_LARGE",
            "The request body is too large".to_string(),
        ),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => (
            "UNSUPPORTED_MEDIA_TYPE",
            "The content type is not supported by this resource".to_string(),
        ),
        StatusCode::NOT_FOUND => (
            "NOT_FOUND",
            "The requested resource does not exist".to_string(),
        ),
        s if s.is_client_error() => (
            "INVALID_REQUEST",
            s.canonical_reason()
                .unwrap_or("invalid request")
                .to_string(),
        ),
        _ => (
            "UNKNOWN_EXCEPTION",
            "An unexpected error occurred. Please include this ErrorId if you contact support"
                .to_string(),
        ),
    };
    let mut shaped = ApiFailure::new(status, code, message).into_response();
    // Keep headers the guard added (Sforce-Limit-Info) on the reshaped response.
    for (name, value) in response.headers() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            shaped.headers_mut().insert(name.clone(), value.clone());
        }
    }
    shaped
}

/// A JSON request body: the content type must be JSON (or absent), and the body must parse as
/// `T`; otherwise 415 or 400 `JSON_PARSER_ERROR`, as Salesforce answers.
#[derive(Debug)]
pub(crate) struct JsonBody<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiFailure;

    async fn from_request(request: Request, _: &S) -> Result<Self, Self::Rejection> {
        check_json_content_type(request.headers())?;
        let bytes = read_body(request).await.map_err(|e| match e {
            BodyError::TooLarge => too_large(),
            BodyError::Failed(e) => ApiFailure::bad_request(
                "JSON_PARSER_ERROR",
                format!("The request body could not be read: {e}"),
            ),
        })?;
        parse_json(&bytes).map(JsonBody)
    }
}

/// A whole request body, up to the route's limit (`DefaultBodyLimit`); over it, 413
/// `REQUEST_ENTITY_TOO_LARGE`. A body that declares its length is read into one buffer of that
/// size, so the org holds it once (collecting frames and then joining them holds it twice).
#[derive(Debug)]
pub(crate) struct WholeBody(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for WholeBody {
    type Rejection = ApiFailure;

    async fn from_request(request: Request, _: &S) -> Result<Self, Self::Rejection> {
        read_body(request)
            .await
            .map(WholeBody)
            .map_err(|e| match e {
                BodyError::TooLarge => too_large(),
                BodyError::Failed(e) => ApiFailure::bad_request(
                    "INVALID_REQUEST",
                    format!("The request body could not be read: {e}"),
                ),
            })
    }
}

#[derive(Debug)]
enum BodyError {
    TooLarge,
    Failed(axum::Error),
}

fn too_large() -> ApiFailure {
    ApiFailure::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "REQUEST_ENTITY_TOO_LARGE",
        "The request body is too large",
    )
}

async fn read_body(request: Request) -> Result<Bytes, BodyError> {
    use axum::RequestExt;
    use http_body_util::BodyExt;
    use hyper::body::Body as _;

    let mut body = request.into_limited_body();
    // A declared length (never more than the limit allows) sizes the buffer; a body of unknown
    // length grows it as it comes.
    let capacity = body
        .size_hint()
        .exact()
        .and_then(|n| usize::try_from(n).ok())
        .unwrap_or(0)
        .min(MAX_CSV_BODY);
    let mut bytes = BytesMut::with_capacity(capacity);
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| {
            if is_length_limit(&e) {
                BodyError::TooLarge
            } else {
                BodyError::Failed(e)
            }
        })?;
        if let Ok(data) = frame.into_data() {
            bytes.extend_from_slice(&data);
        }
    }
    Ok(bytes.freeze())
}

/// Whether a body failed because it passed the route's limit.
fn is_length_limit(error: &axum::Error) -> bool {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(error) = cause {
        if error.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        cause = error.source();
    }
    false
}

/// Parses a JSON body, with Salesforce's error for bodies that do not parse.
pub(crate) fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiFailure> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiFailure::bad_request(
            "JSON_PARSER_ERROR",
            "The request body is empty; a JSON body is required",
        ));
    }
    serde_json::from_slice(bytes).map_err(ApiFailure::json_parser)
}

/// 415 unless the request declares JSON (or declares nothing).
pub(crate) fn check_json_content_type(headers: &HeaderMap) -> Result<(), ApiFailure> {
    match headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    {
        None => Ok(()),
        Some(ct)
            if ct
                .trim_start()
                .to_ascii_lowercase()
                .starts_with("application/json") =>
        {
            Ok(())
        }
        Some(ct) => Err(ApiFailure::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UNSUPPORTED_MEDIA_TYPE",
            format!("MediaType of '{ct}' is not supported by this resource"),
        )),
    }
}

/// A 200 JSON response from a serializable body.
pub(crate) fn ok_json(body: &impl serde::Serialize) -> Response {
    json_response(StatusCode::OK, body)
}

/// An empty 204 response.
pub(crate) fn no_content() -> Response {
    (StatusCode::NO_CONTENT, Body::empty()).into_response()
}
