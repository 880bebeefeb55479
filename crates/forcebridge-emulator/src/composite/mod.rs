//! The composite family: `GET /composite` (the directory), `POST /composite` (dependent
//! sub-requests in one transaction), `POST /composite/batch` (independent sub-requests),
//! `POST /composite/tree/{Type}` (nested records, all or nothing) and sObject Collections
//! (`/composite/sobjects`: create, update, upsert, delete and retrieve up to 200 records).
//!
//! `POST /composite` runs its sub-requests itself, inside one store transaction, so a later
//! sub-request sees what an earlier one wrote and `allOrNone` really leaves nothing behind.
//! `POST /composite/batch` instead sends each sub-request through the org's own router, because
//! batch sub-requests are independent and each commits on its own.
//!
//! Composite graph (`/composite/graph`) is listed in the directory but not served.

mod batch;
mod collections;
mod reference;
mod request;
mod subrequest;
mod tree;

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Extension;
use axum::Router;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use forcebridge_wire::error::ApiError;

use crate::api_error::{ApiFailure, json_bytes};
use crate::http::{no_content, ok_json};
use crate::org::Org;
use crate::versions::ApiVersion;

/// The first version with `/composite/batch` and `/composite/tree` (Summer '15).
pub(crate) const BATCH_AND_TREE_SINCE: ApiVersion = ApiVersion(34);
/// The first version with `POST /composite` and sObject Collections (Spring '18).
pub(crate) const COMPOSITE_SINCE: ApiVersion = ApiVersion(42);
/// The first version with sObject Collections upsert (Summer '19).
pub(crate) const COLLECTION_UPSERT_SINCE: ApiVersion = ApiVersion(46);
/// The first version that lists `/composite/graph` (Winter '21).
pub(crate) const GRAPH_SINCE: ApiVersion = ApiVersion(50);

/// Most sub-requests in one `/composite` or `/composite/batch` request.
pub(crate) const MAX_SUBREQUESTS: usize = 25;
/// Most records in one sObject Collections or sObject Tree request.
pub(crate) const MAX_RECORDS: usize = 200;

pub(crate) fn routes() -> Router<Arc<Org>> {
    Router::new()
        .route(
            "/services/data/{version}/composite",
            get(directory).post(request::composite),
        )
        .route(
            "/services/data/{version}/composite/batch",
            post(batch::batch),
        )
        .route(
            "/services/data/{version}/composite/tree/{object}",
            post(tree::tree),
        )
        .route(
            "/services/data/{version}/composite/sobjects",
            post(collections::create)
                .patch(collections::update)
                .delete(collections::delete),
        )
        .route(
            "/services/data/{version}/composite/sobjects/{object}",
            get(collections::retrieve_by_query).post(collections::retrieve_by_body),
        )
        .route(
            "/services/data/{version}/composite/sobjects/{object}/{field}",
            patch(collections::upsert),
        )
}

/// `GET /composite`: the composite resources this version offers.
async fn directory(Extension(version): Extension<ApiVersion>) -> Result<Response, ApiFailure> {
    require(version, BATCH_AND_TREE_SINCE)?;
    let base = format!("/services/data/v{}/composite", version.number());
    let mut map = BTreeMap::new();
    map.insert("batch", format!("{base}/batch"));
    map.insert("tree", format!("{base}/tree"));
    if version >= COMPOSITE_SINCE {
        map.insert("sobjects", format!("{base}/sobjects"));
    }
    if version >= GRAPH_SINCE {
        map.insert("graph", format!("{base}/graph"));
    }
    Ok(ok_json(&map))
}

/// 404, as for any unknown resource, when `version` predates the resource.
fn require(version: ApiVersion, since: ApiVersion) -> Result<(), ApiFailure> {
    if version < since {
        return Err(ApiFailure::not_found());
    }
    Ok(())
}

/// What one operation answered: status, the headers a composite response reports, and the JSON
/// body as bytes (empty for none). Bodies stay bytes so records keep the renderer's exact number
/// forms (`1.0E7`) when they are embedded in a composite response.
#[derive(Debug, Clone)]
pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) headers: Vec<(&'static str, String)>,
    pub(crate) body: Vec<u8>,
    /// A collection answered 200 but some of its records failed.
    pub(crate) record_failures: bool,
}

impl Reply {
    pub(crate) fn json(status: StatusCode, body: &impl serde::Serialize) -> Reply {
        match serde_json::to_vec(body) {
            Ok(bytes) => Reply::raw(status, bytes),
            Err(e) => {
                tracing::error!(error = %e, "composite reply did not serialize");
                Reply::failure(ApiFailure::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "UNKNOWN_EXCEPTION",
                    "An unexpected error occurred",
                ))
            }
        }
    }

    pub(crate) fn raw(status: StatusCode, body: Vec<u8>) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body,
            record_failures: false,
        }
    }

    pub(crate) fn empty(status: StatusCode) -> Reply {
        Reply::raw(status, Vec::new())
    }

    pub(crate) fn failure(failure: ApiFailure) -> Reply {
        Reply::json(failure.status, &failure.body())
    }

    pub(crate) fn with_header(mut self, name: &'static str, value: String) -> Reply {
        self.headers.push((name, value));
        self
    }

    pub(crate) fn failed(&self) -> bool {
        self.status.as_u16() >= 400
    }

    /// The body parsed as JSON (`null` when empty or not JSON), for references.
    pub(crate) fn body_json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        if self.body.is_empty() {
            let mut response = no_content();
            *response.status_mut() = self.status;
            return response;
        }
        let mut response = json_bytes(self.status, self.body);
        for (name, value) in self.headers {
            if let Ok(value) = HeaderValue::from_str(&value) {
                response.headers_mut().insert(name, value);
            }
        }
        response
    }
}

/// A 400 for a request whose body is not of the shape the resource reads. Salesforce rejects
/// these while deserializing the request, before anything runs.
fn malformed(message: impl Into<String>) -> ApiFailure {
    ApiFailure::bad_request("JSON_PARSER_ERROR", message)
}

/// One error as a JSON array body.
fn error_body(code: &str, message: impl Into<String>) -> Vec<u8> {
    serde_json::to_vec(&[ApiError::new(code, message)]).unwrap_or_default()
}

/// 400 `EXCEEDED_ID_LIMIT` for too many records. The code and wording are what clients report
/// Salesforce answering to more than 200 records in one call
/// (`EXCEEDED_ID_LIMIT: record limit reached. cannot submit more than 200 records into this
/// call`); the reference only says the request is refused.
fn too_many_records(limit: usize) -> ApiFailure {
    ApiFailure::bad_request(
        "EXCEEDED_ID_LIMIT",
        format!("record limit reached. cannot submit more than {limit} records into this call"),
    )
}
