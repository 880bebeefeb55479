//! `POST /composite`: up to 25 sub-requests that may use each other's results through
//! `@{refId.path}` references, run in order inside one store transaction.
//!
//! With `allOrNone: true` the first failing sub-request ends the run: the transaction is
//! dropped, that sub-request reports its own error and every other one reports 400
//! `PROCESSING_HALTED` ("The transaction was rolled back since another operation in the same
//! transaction failed."). With `allOrNone: false` each sub-request has a savepoint, a failure
//! undoes only itself, and sub-requests that reference a failed one fail with
//! `PROCESSING_HALTED` too. The top-level status is always 200.
//!
//! `collateSubrequests` is accepted and ignored: running in order is one of the orders a real
//! org may choose.

use std::cell::OnceCell;
use std::collections::HashSet;
use std::sync::Arc;

use axum::Extension;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use forcebridge_wire::composite::{CompositeRequest, CompositeSubrequest};
use serde_json::Value as Json;

use super::reference::{self, Reference, Unresolved};
use super::subrequest::{self, Target};
use super::{COMPOSITE_SINCE, MAX_SUBREQUESTS, Reply, error_body, malformed, require};
use crate::api_error::{ApiFailure, json_bytes};
use crate::http::{Caller, JsonBody};
use crate::org::Org;
use crate::render::write_json_str;
use crate::store::{Txn, WriteError};
use crate::versions::ApiVersion;

/// The methods a sub-request may use, spelled exactly so.
const METHODS: [&str; 5] = ["GET", "POST", "PATCH", "PUT", "DELETE"];
/// Headers a sub-request may not set: the composite request's own decide them.
const FORBIDDEN_HEADERS: [&str; 3] = ["accept", "authorization", "content-type"];
/// Most query and sObject Collections sub-requests in one composite (UNVERIFIED cap).
const MAX_QUERIES_AND_COLLECTIONS: usize = 5;

/// The message of every sub-request undone by an all-or-none rollback (client code checks for
/// this exact wording).
pub(super) const ROLLED_BACK: &str =
    "The transaction was rolled back since another operation in the same transaction failed.";

/// `POST /composite`.
pub(super) async fn composite(
    State(org): State<Arc<Org>>,
    Extension(version): Extension<ApiVersion>,
    Extension(caller): Extension<Caller>,
    JsonBody(request): JsonBody<CompositeRequest>,
) -> Result<Response, ApiFailure> {
    require(version, COMPOSITE_SINCE)?;
    validate(&request, version)?;
    tracing::debug!(
        n_subrequests = request.composite_request.len(),
        all_or_none = request.all_or_none,
        "composite request"
    );
    let replies = match org.write(&caller, |txn| {
        run_all(&org, txn, &request).map_err(WriteError::Work)
    }) {
        Ok(replies) | Err(WriteError::Work(replies)) => replies,
        Err(WriteError::Commit(failed)) => return Err(failed.into()),
    };
    Ok(json_bytes(
        StatusCode::OK,
        render(&request.composite_request, &replies),
    ))
}

/// Checks the whole request before anything runs; any problem is a 400 for the whole call.
fn validate(request: &CompositeRequest, version: ApiVersion) -> Result<(), ApiFailure> {
    let subrequests = &request.composite_request;
    if subrequests.is_empty() {
        return Err(malformed(
            "compositeRequest must contain at least one subrequest",
        ));
    }
    if subrequests.len() > MAX_SUBREQUESTS {
        return Err(ApiFailure::bad_request(
            "LIMIT_EXCEEDED",
            format!(
                "A composite request can contain at most {MAX_SUBREQUESTS} subrequests; this one has {}",
                subrequests.len()
            ),
        ));
    }
    let mut seen = HashSet::new();
    for sub in subrequests {
        if !METHODS.contains(&sub.method.as_str()) {
            return Err(malformed(format!(
                "Invalid method '{}' for subrequest {}: the method must be one of {}",
                sub.method,
                sub.reference_id,
                METHODS.join(", ")
            )));
        }
        if !reference::valid_reference_id(&sub.reference_id) {
            return Err(malformed(format!(
                "Invalid referenceId '{}': a reference id must start with a letter and contain only letters, digits and underscores",
                sub.reference_id
            )));
        }
        if !seen.insert(sub.reference_id.as_str()) {
            return Err(malformed(format!(
                "Duplicate referenceId '{}': each subrequest needs its own",
                sub.reference_id
            )));
        }
        let Some(target) = Target::parse(&sub.url) else {
            return Err(malformed(format!(
                "Invalid url '{}' for subrequest {}: it must start with /services/data/vNN.N/",
                sub.url, sub.reference_id
            )));
        };
        if target.version > version {
            return Err(malformed(format!(
                "The url of subrequest {} uses version {}, later than the composite request's {}",
                sub.reference_id,
                target.version.number(),
                version.number()
            )));
        }
        if let Some(name) = sub
            .http_headers
            .iter()
            .flatten()
            .map(|(name, _)| name)
            .find(|name| {
                FORBIDDEN_HEADERS
                    .iter()
                    .any(|f| f.eq_ignore_ascii_case(name))
            })
        {
            return Err(malformed(format!(
                "Subrequest {} may not set the {name} header",
                sub.reference_id
            )));
        }
    }
    let heavy = subrequests
        .iter()
        .filter(|s| subrequest::is_query_or_collection(&s.url))
        .count();
    if heavy > MAX_QUERIES_AND_COLLECTIONS {
        return Err(ApiFailure::bad_request(
            "LIMIT_EXCEEDED",
            format!(
                "A composite request can contain at most {MAX_QUERIES_AND_COLLECTIONS} query and sObject Collections subrequests; this one has {heavy}"
            ),
        ));
    }
    Ok(())
}

/// Runs every sub-request in `txn`. `Err` carries the replies when all-or-none failed, so the
/// store drops the transaction.
fn run_all(
    org: &Org,
    txn: &mut Txn<'_>,
    request: &CompositeRequest,
) -> Result<Vec<Reply>, Vec<Reply>> {
    let subrequests = &request.composite_request;
    let all_or_none = request.all_or_none;
    let mut done: Vec<Done> = Vec::with_capacity(subrequests.len());
    let caller_allows_duplicates = txn.duplicates_allowed();
    for (index, sub) in subrequests.iter().enumerate() {
        // Each sub-request is a save of its own: what earlier ones wrote counts as saved for
        // duplicate rules. Its own duplicate rule header wins over the composite's
        // (UNVERIFIED: Salesforce documents `httpHeaders` as any header the resource takes).
        txn.begin_save();
        txn.set_allow_duplicates(
            duplicate_rule_header(sub)
                .map_or(caller_allows_duplicates, crate::duplicates::allows_save),
        );
        let savepoint = (!all_or_none).then(|| txn.savepoint());
        let reply = match resolve(sub, &subrequests[..index], &done) {
            Ok((url, body)) => subrequest::execute(
                org,
                txn,
                all_or_none,
                &sub.method,
                &url,
                body.as_ref(),
                if_modified_since(sub),
            ),
            Err(Unresolved(message)) => Reply::raw(
                StatusCode::BAD_REQUEST,
                error_body("PROCESSING_HALTED", message),
            ),
        };
        // Under all-or-none a collection whose records failed has rolled itself back, and the
        // composite goes with it (UNVERIFIED which status the collection then reports; it keeps
        // its 200 and its per-record errors here).
        let failed = reply.failed() || (all_or_none && reply.record_failures);
        tracing::debug!(
            reference_id = %sub.reference_id,
            status = reply.status.as_u16(),
            failed,
            "composite subrequest"
        );
        if failed && all_or_none {
            let mut replies: Vec<Reply> = (0..subrequests.len())
                .map(|_| {
                    Reply::raw(
                        StatusCode::BAD_REQUEST,
                        error_body("PROCESSING_HALTED", ROLLED_BACK),
                    )
                })
                .collect();
            replies[index] = reply;
            return Err(replies);
        }
        if failed && let Some(savepoint) = savepoint {
            txn.rollback_to(savepoint);
        }
        done.push(Done {
            reply,
            json: OnceCell::new(),
        });
    }
    Ok(done.into_iter().map(|d| d.reply).collect())
}

/// A finished sub-request: its reply, and its body parsed once a reference needs it.
struct Done {
    reply: Reply,
    json: OnceCell<Json>,
}

/// The URL and body of `sub` with every reference replaced by the value it names. A reference
/// to a sub-request that does not come earlier, that failed, or whose body lacks the path is a
/// `PROCESSING_HALTED` failure of `sub`.
fn resolve(
    sub: &CompositeSubrequest,
    earlier: &[CompositeSubrequest],
    done: &[Done],
) -> Result<(String, Option<Json>), Unresolved> {
    let mut lookup = |reference: &Reference| -> Result<Json, Unresolved> {
        let index = earlier
            .iter()
            .position(|s| s.reference_id == reference.reference_id)
            .ok_or_else(|| Unresolved::no_value(reference))?;
        let finished = &done[index];
        if finished.reply.failed() {
            return Err(Unresolved::no_value(reference));
        }
        let body = finished.json.get_or_init(|| finished.reply.body_json());
        reference::follow(body, &reference.path)
            .cloned()
            .ok_or_else(|| Unresolved::no_value(reference))
    };
    let url = reference::substitute_text(&sub.url, &mut lookup)?;
    let body = match &sub.body {
        Some(body) => Some(reference::substitute_json(body, &mut lookup)?),
        None => None,
    };
    Ok((url, body))
}

/// The sub-request's `Sforce-Duplicate-Rule-Header`, whatever its case.
fn duplicate_rule_header(sub: &CompositeSubrequest) -> Option<&str> {
    sub.http_headers
        .iter()
        .flatten()
        .find(|(name, _)| name.eq_ignore_ascii_case(crate::duplicates::HEADER))
        .map(|(_, value)| value.as_str())
}

/// The sub-request's `If-Modified-Since` header, whatever its case.
fn if_modified_since(sub: &CompositeSubrequest) -> Option<&str> {
    sub.http_headers
        .iter()
        .flatten()
        .find(|(name, _)| name.eq_ignore_ascii_case("if-modified-since"))
        .map(|(_, value)| value.as_str())
}

/// `{"compositeResponse":[{"body","httpHeaders","httpStatusCode","referenceId"}, ...]}`, written
/// by hand so record bodies keep their exact bytes.
fn render(subrequests: &[CompositeSubrequest], replies: &[Reply]) -> Vec<u8> {
    let size: usize = replies.iter().map(|r| r.body.len() + 128).sum();
    let mut out = Vec::with_capacity(32 + size);
    out.extend_from_slice(b"{\"compositeResponse\":[");
    for (i, (sub, reply)) in subrequests.iter().zip(replies).enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(b"{\"body\":");
        if reply.body.is_empty() {
            out.extend_from_slice(b"null");
        } else {
            out.extend_from_slice(&reply.body);
        }
        out.extend_from_slice(b",\"httpHeaders\":{");
        for (j, (name, value)) in reply.headers.iter().enumerate() {
            if j > 0 {
                out.push(b',');
            }
            write_json_str(&mut out, name);
            out.push(b':');
            write_json_str(&mut out, value);
        }
        out.extend_from_slice(b"},\"httpStatusCode\":");
        out.extend_from_slice(reply.status.as_u16().to_string().as_bytes());
        out.extend_from_slice(b",\"referenceId\":");
        write_json_str(&mut out, &sub.reference_id);
        out.push(b'}');
    }
    out.extend_from_slice(b"]}");
    out
}
