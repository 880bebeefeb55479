//! Errors as Salesforce reports them.
//!
//! [`ApiFailure`] is a failed REST request: an HTTP status and a JSON array of
//! `{message, errorCode, fields}`. [`DmlError`] is one record's failure inside a write, which
//! becomes an `ApiFailure` for a single-record request, a `statusCode` entry in collections and
//! tree results, or an `sf__Error` cell in Bulk results. Handlers return these instead of
//! panicking: no input reaches a panic.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use forcebridge_wire::JSON_CONTENT_TYPE;
use forcebridge_wire::error::{ApiError, RecordError};

use serde_json::Value as Json;

use crate::store::CommitFailed;

/// A failed REST request.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ApiFailure {
    pub status: StatusCode,
    pub errors: Vec<ApiError>,
    /// The `duplicateResult` of a `DUPLICATES_DETECTED` error (the first of `errors`).
    pub duplicate_result: Option<Box<Json>>,
}

impl ApiFailure {
    pub(crate) fn new(status: StatusCode, code: &str, message: impl Into<String>) -> ApiFailure {
        ApiFailure {
            status,
            errors: vec![ApiError::new(code, message)],
            duplicate_result: None,
        }
    }

    pub(crate) fn bad_request(code: &str, message: impl Into<String>) -> ApiFailure {
        ApiFailure::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// 404 `NOT_FOUND`, the answer to any unknown resource.
    pub(crate) fn not_found() -> ApiFailure {
        ApiFailure::new(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            "The requested resource does not exist",
        )
    }

    /// 401 `INVALID_SESSION_ID`.
    pub(crate) fn invalid_session() -> ApiFailure {
        ApiFailure::new(
            StatusCode::UNAUTHORIZED,
            "INVALID_SESSION_ID",
            "Session expired or invalid",
        )
    }

    /// 400 `JSON_PARSER_ERROR` for a body that is not the JSON expected.
    pub(crate) fn json_parser(detail: impl std::fmt::Display) -> ApiFailure {
        ApiFailure::bad_request(
            "JSON_PARSER_ERROR",
            format!("The request body is not valid JSON: {detail}"),
        )
    }

    /// 400 `INVALID_TYPE` for an unknown object.
    pub(crate) fn invalid_type(name: &str) -> ApiFailure {
        ApiFailure::bad_request(
            "INVALID_TYPE",
            format!(
                "sObject type '{name}' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names."
            ),
        )
    }

    /// The record id a URL names: 404 `NOT_FOUND` for text that is no id of this org, and 400
    /// `MALFORMED_ID` for 18 letters and digits whose checksum cannot belong to their first
    /// fifteen (Salesforce restores an id's case from its checksum, so such a text is a
    /// mistyped id, never another record). The message follows Salesforce's `MALFORMED_ID`
    /// wording for ids of the wrong type; its exact wording for a bad checksum is UNVERIFIED.
    pub(crate) fn id_in_url(label: &str, text: &str) -> Result<crate::ids::RecordId, ApiFailure> {
        match crate::ids::RecordId::read(text) {
            Ok(Some(id)) => Ok(id),
            Ok(None) => Err(ApiFailure::not_found()),
            Err(_) if text.len() == 18 && text.bytes().all(|b| b.is_ascii_alphanumeric()) => {
                Err(ApiFailure::bad_request(
                    "MALFORMED_ID",
                    format!("{label} ID: id value of incorrect type: {text}"),
                ))
            }
            Err(_) => Err(ApiFailure::not_found()),
        }
    }

    /// 404 `NOT_FOUND` for an object type in a URL (Salesforce answers 404 there, not 400).
    pub(crate) fn unknown_object_in_url(name: &str) -> ApiFailure {
        ApiFailure::new(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            format!("The requested resource does not exist: sObject type '{name}'"),
        )
    }
}

impl From<DmlError> for ApiFailure {
    fn from(error: DmlError) -> ApiFailure {
        let status = match error.code {
            "NOT_FOUND" | "ENTITY_IS_DELETED" => StatusCode::NOT_FOUND,
            "INSUFFICIENT_ACCESS_OR_READONLY" | "INSUFFICIENT_ACCESS" => StatusCode::FORBIDDEN,
            "UNKNOWN_EXCEPTION" => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::BAD_REQUEST,
        };
        ApiFailure {
            status,
            errors: vec![error.to_api_error()],
            duplicate_result: error.duplicate_result,
        }
    }
}

/// The message of a write the journal refused: it never became visible. Salesforce answers its
/// own internal failures with `UNKNOWN_EXCEPTION` and this opening.
fn commit_failed_message(failed: &CommitFailed) -> String {
    format!(
        "An unexpected error occurred; the change was not saved. Please include this ErrorId if you contact support: {failed}"
    )
}

impl From<CommitFailed> for ApiFailure {
    fn from(failed: CommitFailed) -> ApiFailure {
        tracing::error!(error = %failed, "a transaction was refused by the journal");
        ApiFailure::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "UNKNOWN_EXCEPTION",
            commit_failed_message(&failed),
        )
    }
}

impl From<CommitFailed> for DmlError {
    fn from(failed: CommitFailed) -> DmlError {
        tracing::error!(error = %failed, "a transaction was refused by the journal");
        DmlError::new("UNKNOWN_EXCEPTION", commit_failed_message(&failed))
    }
}

impl ApiFailure {
    /// The response body: the error array, with the `duplicateResult` of a
    /// `DUPLICATES_DETECTED` error in its element.
    pub(crate) fn body(&self) -> Json {
        let mut body = serde_json::to_value(&self.errors).unwrap_or(Json::Array(Vec::new()));
        if let (Some(result), Some(Json::Object(first))) = (
            &self.duplicate_result,
            body.as_array_mut().and_then(|errors| errors.first_mut()),
        ) {
            first.insert("duplicateResult".to_string(), (**result).clone());
        }
        body
    }
}

impl IntoResponse for ApiFailure {
    fn into_response(self) -> Response {
        json_response(self.status, &self.body())
    }
}

/// A JSON response with Salesforce's exact content type.
pub(crate) fn json_response(status: StatusCode, body: &impl serde::Serialize) -> Response {
    match serde_json::to_vec(body) {
        Ok(bytes) => json_bytes(status, bytes),
        Err(e) => {
            tracing::error!(error = %e, "response did not serialize");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}

/// Pre-rendered JSON bytes as a response with Salesforce's exact content type.
pub(crate) fn json_bytes(status: StatusCode, bytes: Vec<u8>) -> Response {
    let mut response = (status, bytes).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(JSON_CONTENT_TYPE),
    );
    response
}

/// One record's failure in a write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DmlError {
    /// The StatusCode enum value: `REQUIRED_FIELD_MISSING`, `DUPLICATE_VALUE`, ...
    pub code: &'static str,
    pub message: String,
    pub fields: Vec<String>,
    /// For `DUPLICATES_DETECTED`: the rule and the matching records, as the REST API's
    /// `duplicateResult`.
    pub duplicate_result: Option<Box<Json>>,
}

impl DmlError {
    pub(crate) fn new(code: &'static str, message: impl Into<String>) -> DmlError {
        DmlError {
            code,
            message: message.into(),
            fields: Vec::new(),
            duplicate_result: None,
        }
    }

    pub(crate) fn with_duplicate_result(mut self, result: Json) -> DmlError {
        self.duplicate_result = Some(Box::new(result));
        self
    }

    pub(crate) fn on(mut self, field: impl Into<String>) -> DmlError {
        self.fields.push(field.into());
        self
    }

    pub(crate) fn to_api_error(&self) -> ApiError {
        ApiError {
            message: self.message.clone(),
            error_code: self.code.to_string(),
            fields: (!self.fields.is_empty() || field_error(self.code))
                .then(|| self.fields.clone()),
        }
    }

    /// The form inside collections and tree results.
    pub(crate) fn to_record_error(&self) -> RecordError {
        RecordError {
            status_code: self.code.to_string(),
            message: self.message.clone(),
            fields: self.fields.clone(),
        }
    }

    /// The form of a Bulk `sf__Error` cell: `CODE:message:Field1,Field2 --`.
    pub(crate) fn to_bulk_text(&self) -> String {
        format!(
            "{}:{}:{} --",
            self.code,
            self.message,
            self.fields.join(",")
        )
    }
}

/// Codes that are about fields always carry a `fields` array, even when empty.
fn field_error(code: &str) -> bool {
    matches!(
        code,
        "REQUIRED_FIELD_MISSING"
            | "INVALID_FIELD"
            | "INVALID_FIELD_FOR_INSERT_UPDATE"
            | "STRING_TOO_LONG"
            | "DUPLICATE_VALUE"
            | "INVALID_EMAIL_ADDRESS"
            | "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
            | "FIELD_CUSTOM_VALIDATION_EXCEPTION"
            | "INVALID_CROSS_REFERENCE_KEY"
            | "MALFORMED_ID"
            | "NUMBER_OUTSIDE_VALID_RANGE"
            | "FIELD_INTEGRITY_EXCEPTION"
            | "DUPLICATES_DETECTED"
    )
}

impl std::fmt::Display for DmlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for DmlError {}
