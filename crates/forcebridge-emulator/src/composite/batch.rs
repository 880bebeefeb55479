//! `POST /composite/batch`: up to 25 independent sub-requests, each sent through the org's own
//! router as the caller (so each commits on its own, exactly as if it had come over HTTP) and
//! marked as an internal call: faults are not injected twice, and each sub-request counts as an
//! API call of its own, as Salesforce counts them.
//!
//! The whole request is checked first (method, URL form, version); any problem is a 400 for the
//! whole call and nothing runs. With `haltOnError`, the sub-requests after the first failing one
//! are not run and report 412 `BATCH_PROCESSING_HALTED`.

use std::sync::Arc;

use axum::Extension;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use forcebridge_wire::composite::BatchRequest;
use tower::{Layer, ServiceExt};
use tower_http::normalize_path::NormalizePathLayer;

use super::{BATCH_AND_TREE_SINCE, MAX_SUBREQUESTS, error_body, malformed, require};
use crate::api_error::{ApiFailure, json_bytes};
use crate::http::{Caller, InternalCall, JsonBody, MAX_JSON_BODY};
use crate::org::Org;
use crate::versions::ApiVersion;

/// The methods a batch sub-request may use (matched without case: the Connect batch examples
/// spell them `Get`).
const METHODS: [Method; 6] = [
    Method::GET,
    Method::POST,
    Method::PATCH,
    Method::PUT,
    Method::DELETE,
    Method::HEAD,
];

/// UNVERIFIED wording; the code and the 412 status are documented.
const HALTED: &str = "The subrequest was not run because an earlier subrequest in the batch failed and haltOnError is true";

/// `POST /composite/batch`.
pub(super) async fn batch(
    State(org): State<Arc<Org>>,
    Extension(version): Extension<ApiVersion>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    JsonBody(request): JsonBody<BatchRequest>,
) -> Result<Response, ApiFailure> {
    require(version, BATCH_AND_TREE_SINCE)?;
    let planned = plan(&request, version)?;
    tracing::debug!(
        n_subrequests = planned.len(),
        halt_on_error = request.halt_on_error,
        "batch request"
    );
    let router = NormalizePathLayer::trim_trailing_slash().layer(crate::http::router(org.clone()));
    let mut results: Vec<(u16, Vec<u8>)> = Vec::with_capacity(planned.len());
    let mut halted = false;
    let mut has_errors = false;
    for (sub, (method, path)) in request.batch_requests.iter().zip(planned) {
        if halted {
            results.push((
                StatusCode::PRECONDITION_FAILED.as_u16(),
                error_body("BATCH_PROCESSING_HALTED", HALTED),
            ));
            continue;
        }
        let mut builder = Request::builder()
            .method(method)
            .uri(path)
            .header(header::AUTHORIZATION, format!("Bearer {}", caller.token))
            // Each batch sub-request counts as an API call of its own (reference §11), on top of
            // the batch request itself (UNVERIFIED whether the batch itself also counts).
            .extension(InternalCall {
                counts_against_limit: true,
                in_fault_scope: caller.in_fault_scope,
            });
        if let Some(host) = headers.get(header::HOST) {
            builder = builder.header(header::HOST, host.clone());
        }
        // The batch's duplicate rule header stands for every sub-request (UNVERIFIED: the
        // documentation does not say whether a batch passes it on).
        for value in headers.get_all(crate::duplicates::HEADER) {
            builder = builder.header(crate::duplicates::HEADER, value.clone());
        }
        let body = match &sub.rich_input {
            Some(input) => {
                builder = builder.header(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                );
                Body::from(serde_json::to_vec(input).unwrap_or_default())
            }
            None => Body::empty(),
        };
        let (status, bytes) = match builder.body(body) {
            Ok(sub_request) => dispatch(router.clone(), sub_request).await,
            Err(e) => (
                StatusCode::BAD_REQUEST,
                error_body("INVALID_OPERATION", format!("invalid subrequest: {e}")),
            ),
        };
        if status.as_u16() >= 400 {
            has_errors = true;
            halted = request.halt_on_error;
        }
        results.push((status.as_u16(), bytes));
    }
    Ok(json_bytes(StatusCode::OK, render(has_errors, &results)))
}

/// Checks every sub-request and turns it into a method and a full path. A bad method or URL is
/// a 400 for the whole call, as Salesforce rejects these while reading the request.
fn plan(request: &BatchRequest, version: ApiVersion) -> Result<Vec<(Method, String)>, ApiFailure> {
    let subrequests = &request.batch_requests;
    if subrequests.is_empty() {
        return Err(malformed(
            "batchRequests must contain at least one subrequest",
        ));
    }
    if subrequests.len() > MAX_SUBREQUESTS {
        return Err(ApiFailure::bad_request(
            "LIMIT_EXCEEDED",
            format!(
                "A batch request can contain at most {MAX_SUBREQUESTS} subrequests; this one has {}",
                subrequests.len()
            ),
        ));
    }
    let mut planned = Vec::with_capacity(subrequests.len());
    for sub in subrequests {
        let method = METHODS
            .iter()
            .find(|m| m.as_str().eq_ignore_ascii_case(&sub.method))
            .cloned()
            .ok_or_else(|| malformed(format!("Invalid method '{}' in batch", sub.method)))?;
        let path = full_path(&sub.url).ok_or_else(|| {
            malformed(format!(
                "Invalid url '{}' in batch: it must start with vNN.N/ or /services/data/vNN.N/",
                sub.url
            ))
        })?;
        let sub_version = path
            .strip_prefix("/services/data/")
            .and_then(|rest| rest.split(['/', '?']).next())
            .and_then(ApiVersion::parse)
            .ok_or_else(|| malformed(format!("Invalid version in batch url '{}'", sub.url)))?;
        // A batch inside a batch would multiply: 25 sub-requests each holding 25 more, as deep
        // as the JSON nests. Salesforce does not offer it either (UNVERIFIED how it refuses).
        let resource = path
            .split('?')
            .next()
            .unwrap_or("")
            .split('/')
            .filter(|segment| !segment.is_empty())
            .skip(3)
            .collect::<Vec<_>>();
        if resource == ["composite", "batch"] {
            return Err(malformed("A batch cannot contain another batch request"));
        }
        if sub_version < BATCH_AND_TREE_SINCE || sub_version > version {
            return Err(malformed(format!(
                "The version of batch url '{}' must be between {} and {}",
                sub.url,
                BATCH_AND_TREE_SINCE.number(),
                version.number()
            )));
        }
        planned.push((method, path));
    }
    Ok(planned)
}

/// `/services/data/v60.0/...` from either form a batch URL may take: relative to
/// `/services/data/` (`v60.0/...`, or `/v60.0/...`) or absolute.
fn full_path(url: &str) -> Option<String> {
    let url = url.trim();
    if url.starts_with("/services/data/v") {
        return Some(url.to_string());
    }
    let relative = url.strip_prefix('/').unwrap_or(url);
    relative
        .starts_with('v')
        .then(|| format!("/services/data/{relative}"))
}

/// Sends one sub-request through the router and reads its whole answer.
async fn dispatch<S>(router: S, request: Request) -> (StatusCode, Vec<u8>)
where
    S: tower::Service<Request, Response = Response, Error = std::convert::Infallible>,
{
    let Ok(response) = router.oneshot(request).await;
    let status = response.status();
    match axum::body::to_bytes(response.into_body(), MAX_JSON_BODY).await {
        Ok(bytes) => (status, bytes.to_vec()),
        Err(e) => {
            tracing::warn!(error = %e, "a batch subrequest's answer could not be read");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                error_body(
                    "UNKNOWN_EXCEPTION",
                    "The subrequest's answer could not be read",
                ),
            )
        }
    }
}

/// `{"hasErrors":...,"results":[{"statusCode":N,"result":...}]}`. A result is the sub-request's
/// JSON body as it was sent, `null` when it had none, or a JSON string when it was not JSON.
fn render(has_errors: bool, results: &[(u16, Vec<u8>)]) -> Vec<u8> {
    let size: usize = results.iter().map(|(_, b)| b.len() + 40).sum();
    let mut out = Vec::with_capacity(48 + size);
    out.extend_from_slice(b"{\"hasErrors\":");
    out.extend_from_slice(if has_errors { b"true" } else { b"false" });
    out.extend_from_slice(b",\"results\":[");
    for (i, (status, body)) in results.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(b"{\"statusCode\":");
        out.extend_from_slice(status.to_string().as_bytes());
        out.extend_from_slice(b",\"result\":");
        if body.iter().all(u8::is_ascii_whitespace) {
            out.extend_from_slice(b"null");
        } else if serde_json::from_slice::<serde::de::IgnoredAny>(body).is_ok() {
            out.extend_from_slice(body);
        } else {
            crate::render::write_json_str(&mut out, &String::from_utf8_lossy(body));
        }
        out.push(b'}');
    }
    out.extend_from_slice(b"]}");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_urls_may_be_relative_or_absolute() {
        assert_eq!(
            full_path("v60.0/sobjects/Account").as_deref(),
            Some("/services/data/v60.0/sobjects/Account")
        );
        assert_eq!(
            full_path("/services/data/v60.0/limits").as_deref(),
            Some("/services/data/v60.0/limits")
        );
        assert_eq!(
            full_path("/v60.0/limits").as_deref(),
            Some("/services/data/v60.0/limits")
        );
        assert_eq!(full_path("sobjects/Account"), None);
    }

    #[test]
    fn results_embed_json_bodies_and_quote_anything_else() {
        let out = render(
            true,
            &[
                (200, br#"{"a":1.0E7}"#.to_vec()),
                (204, Vec::new()),
                (200, b"plain text".to_vec()),
            ],
        );
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#"{"hasErrors":true,"results":[{"statusCode":200,"result":{"a":1.0E7}},{"statusCode":204,"result":null},{"statusCode":200,"result":"plain text"}]}"#
        );
    }
}
