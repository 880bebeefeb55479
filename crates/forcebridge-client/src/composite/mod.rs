//! The composite family: many operations in one HTTP request.
//!
//! - [`Composite`] (`POST /composite`): up to 25 dependent subrequests that can use each
//!   other's results through `@{referenceId.path}` references, optionally all or none.
//! - [`Batch`] (`POST /composite/batch`): up to 25 independent subrequests, each committed on
//!   its own.
//! - [`Client::create_tree`] (`POST /composite/tree/{Object}`): records with nested children,
//!   all or nothing, up to 200 records.
//! - [`Collection`] (`/composite/sobjects`): create, update, upsert, delete and retrieve any
//!   number of records of one object, sent in calls of 200, results in input order.
//!
//! Subrequest URLs may be written relative to the client's version (`sobjects/Account`) or
//! absolute (`/services/data/v60.0/sobjects/Account`). The convenience methods
//! (`create`, `update`, `query`, ...) encode what they put into URLs, but leave `@{...}`
//! references untouched so the org can replace them.

mod batch;
mod collections;
mod request;
mod tree;

use std::collections::BTreeMap;

use reqwest::Method;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::client::Client;
use crate::error::{ApiErrorDetail, Error, Result};
use crate::http::Call;
use request::MAX_SUBREQUESTS;

pub use batch::{Batch, BatchResult, BatchResults};
pub use collections::{Collection, RecordResult};
pub use request::{Composite, CompositeResults, SubrequestResult};
pub use tree::{TreeFailure, TreeOutcome, TreeRecord};

/// The call carrying a composite or batch envelope of `subrequests` to `path`, after checking
/// their number (1 to [`MAX_SUBREQUESTS`]). It is retried only when no subrequest is a POST,
/// and a read-only client may send it only when every subrequest is a GET.
fn envelope_call<'a>(
    what: &str,
    path: &[&str],
    envelope: &impl Serialize,
    subrequests: impl Iterator<Item = &'a Subrequest> + Clone,
) -> Result<Call> {
    let count = subrequests.clone().count();
    if count == 0 {
        return Err(Error::not_sent(format!(
            "a {what} request needs at least one subrequest"
        )));
    }
    if count > MAX_SUBREQUESTS {
        return Err(Error::not_sent(format!(
            "a {what} request holds at most {MAX_SUBREQUESTS} subrequests, not {count}"
        )));
    }
    let posts = subrequests.clone().any(|s| s.method == Method::POST);
    let reads_only = subrequests.into_iter().all(|s| s.method == Method::GET);
    let call = Call::data(Method::POST, path.iter().copied())
        .json(envelope)?
        .idempotent(!posts);
    Ok(if reads_only { call.reads_only() } else { call })
}

/// One operation inside a [`Composite`] or [`Batch`] request: a method, a URL and an
/// optional JSON body.
///
/// Most callers use the builders' convenience methods (`create`, `query`, ...); this type is
/// for anything else the REST API offers.
///
/// ```
/// use forcebridge_client::{Method, Subrequest};
/// let sub = Subrequest::new(Method::GET, "sobjects/Account/describe");
/// let with_body = Subrequest::new(Method::PATCH, "sobjects/Account/@{acct.id}")
///     .body(&serde_json::json!({"Industry": "Energy"}));
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct Subrequest {
    method: Method,
    url: String,
    /// The body as JSON, or why it could not be written (reported when the request is sent).
    body: std::result::Result<Option<Value>, String>,
    headers: BTreeMap<String, String>,
}

impl Subrequest {
    /// A subrequest to `url`: relative to `/services/data/vNN.N/` (`sobjects/Account`) or
    /// absolute (`/services/data/v60.0/sobjects/Account`). The URL is sent as written, so
    /// encode anything that needs it yourself.
    pub fn new(method: Method, url: impl Into<String>) -> Subrequest {
        Subrequest {
            method,
            url: url.into(),
            body: Ok(None),
            headers: BTreeMap::new(),
        }
    }

    /// Sets the JSON body. A value that cannot be written as JSON makes the whole request
    /// fail with [`ErrorKind::NotSent`](crate::ErrorKind) when it is sent.
    pub fn body(mut self, body: &impl Serialize) -> Subrequest {
        self.body = serde_json::to_value(body)
            .map(Some)
            .map_err(|e| e.to_string());
        self
    }

    /// Adds an HTTP header to this subrequest (composite only; a batch ignores them).
    /// `Accept`, `Authorization` and `Content-Type` are refused by the org.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Subrequest {
        self.headers.insert(name.into(), value.into());
        self
    }

    /// The method.
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// The URL as given.
    pub fn url(&self) -> &str {
        &self.url
    }

    fn create(object: &str, record: &impl Serialize) -> Subrequest {
        Subrequest::new(Method::POST, format!("sobjects/{}", segment(object))).body(record)
    }

    fn update(object: &str, id: &str, record: &impl Serialize) -> Subrequest {
        Subrequest::new(
            Method::PATCH,
            format!("sobjects/{}/{}", segment(object), segment(id)),
        )
        .body(record)
    }

    fn upsert(object: &str, field: &str, value: &str, record: &impl Serialize) -> Subrequest {
        Subrequest::new(
            Method::PATCH,
            format!(
                "sobjects/{}/{}/{}",
                segment(object),
                segment(field),
                segment(value)
            ),
        )
        .body(record)
    }

    fn get(object: &str, id: &str, fields: &[&str]) -> Subrequest {
        let mut url = format!("sobjects/{}/{}", segment(object), segment(id));
        if !fields.is_empty() {
            url.push_str("?fields=");
            url.push_str(&query_value(&fields.join(",")));
        }
        Subrequest::new(Method::GET, url)
    }

    fn delete(object: &str, id: &str) -> Subrequest {
        Subrequest::new(
            Method::DELETE,
            format!("sobjects/{}/{}", segment(object), segment(id)),
        )
    }

    fn query(soql: &str) -> Subrequest {
        Subrequest::new(Method::GET, format!("query?q={}", query_value(soql)))
    }

    /// The URL under `/services/data/`, absolute.
    fn absolute_url(&self, client: &Client) -> String {
        if self.url.starts_with('/') {
            self.url.clone()
        } else {
            format!(
                "/services/data/{}/{}",
                client.api_version().path_segment(),
                self.url
            )
        }
    }

    /// The body, or a [`ErrorKind::NotSent`](crate::ErrorKind) error naming the subrequest.
    fn json_body(&self, what: &str) -> Result<Option<Value>> {
        self.body.clone().map_err(|e| {
            Error::not_sent(format!(
                "{what} ({} {}): cannot write the body: {e}",
                self.method, self.url
            ))
        })
    }
}

/// Splits `text` into literal runs and `@{...}` references, encoding only the literal runs
/// with `encode` so the org still finds the references.
fn keep_references(text: &str, encode: impl Fn(&str) -> String) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("@{") {
        let Some(length) = rest[start..].find('}') else {
            break;
        };
        out.push_str(&encode(&rest[..start]));
        out.push_str(&rest[start..start + length + 1]);
        rest = &rest[start + length + 1..];
    }
    out.push_str(&encode(rest));
    out
}

/// A URL path segment: percent-encoded except for unreserved characters and references.
fn segment(text: &str) -> String {
    keep_references(text, |literal| {
        let mut out = String::with_capacity(literal.len());
        for byte in literal.bytes() {
            if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
                out.push(byte as char);
            } else {
                out.push_str(&format!("%{byte:02X}"));
            }
        }
        out
    })
}

/// A query-string value (form-encoded), references kept.
fn query_value(text: &str) -> String {
    keep_references(text, |literal| {
        form_urlencoded::byte_serialize(literal.as_bytes()).collect()
    })
}

/// Whether `id` is a composite reference id: letters, digits and underscores, starting with a
/// letter.
fn valid_reference_id(id: &str) -> bool {
    let mut chars = id.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// `record` as a JSON object with `attributes.type` set to `object` when the caller left it out.
fn with_type(record: &impl Serialize, object: &str, position: usize) -> Result<Map<String, Value>> {
    let value = serde_json::to_value(record).map_err(|e| {
        Error::not_sent(format!("record {position} cannot be written as JSON: {e}"))
    })?;
    let Value::Object(mut fields) = value else {
        return Err(Error::not_sent(format!(
            "record {position} is not a JSON object with fields"
        )));
    };
    let attributes = fields
        .entry("attributes")
        .or_insert_with(|| Value::Object(Map::new()));
    match attributes {
        Value::Object(attributes) => {
            attributes
                .entry("type")
                .or_insert_with(|| Value::String(object.to_string()));
        }
        _ => {
            return Err(Error::not_sent(format!(
                "record {position} has an `attributes` member that is not an object"
            )));
        }
    }
    Ok(fields)
}

/// The REST error array of a subrequest body (`[{"errorCode","message","fields"}]`) as
/// details; empty when the body is anything else.
fn rest_errors(body: &Value) -> Vec<ApiErrorDetail> {
    serde_json::from_value::<Vec<forcebridge_wire::error::ApiError>>(body.clone())
        .map(|errors| {
            errors
                .into_iter()
                .map(|e| ApiErrorDetail {
                    error_code: e.error_code,
                    message: e.message,
                    fields: e.fields.unwrap_or_default(),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// A per-record error (`statusCode`) as a detail.
fn record_error(error: forcebridge_wire::error::RecordError) -> ApiErrorDetail {
    ApiErrorDetail {
        error_code: error.status_code,
        message: error.message,
        fields: error.fields,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_keeps_references_and_encodes_the_rest() {
        assert_eq!(segment("@{acct.id}"), "@{acct.id}");
        assert_eq!(segment("a b/c"), "a%20b%2Fc");
        assert_eq!(
            query_value("SELECT Id FROM Contact WHERE Id = '@{c.id}'"),
            "SELECT+Id+FROM+Contact+WHERE+Id+%3D+%27@{c.id}%27"
        );
        assert_eq!(query_value("no @{ end"), "no+%40%7B+end");
    }

    #[test]
    fn reference_ids_start_with_a_letter() {
        assert!(valid_reference_id("acct_1"));
        for bad in ["", "1acct", "_a", "a-b", "a b"] {
            assert!(!valid_reference_id(bad), "{bad}");
        }
    }

    #[test]
    fn records_gain_their_type_but_keep_a_given_one() {
        let plain = with_type(&serde_json::json!({"Name": "A"}), "Account", 0).unwrap();
        assert_eq!(plain["attributes"]["type"], "Account");
        let given = with_type(
            &serde_json::json!({"attributes": {"type": "Contact"}, "LastName": "B"}),
            "Account",
            0,
        )
        .unwrap();
        assert_eq!(given["attributes"]["type"], "Contact");
        assert!(with_type(&serde_json::json!([1]), "Account", 3).is_err());
    }
}
