//! One `/composite` sub-request, run inside the composite's open transaction: its URL is parsed
//! here and the matching operation runs against the transaction's data, so it sees what earlier
//! sub-requests wrote.
//!
//! Served: sObject create, get (with `?fields=`), update and delete by id; get, upsert and delete
//! by external id; describe and describe global (304 for an `If-Modified-Since` they meet);
//! `query` and `queryAll`; `limits`; the replication resources `updated` and `deleted`; and
//! every sObject Collections operation. Other resources of the REST API (search, sObject basic
//! info, blob fields, query locators, Bulk jobs, nested composite) answer 400
//! `INVALID_OPERATION` inside a composite; paths that are no resource at all answer 404 as the
//! router would.

use std::sync::Arc;

use axum::http::StatusCode;
use forcebridge_wire::JsonObject;
use forcebridge_wire::composite::CollectionRequest;
use forcebridge_wire::records::{SaveResult, UpsertResult};
use serde_json::Value as Json;

use super::{Reply, collections, malformed};
use crate::api_error::ApiFailure;
use crate::dml::{self, Match};
use crate::ids::RecordId;
use crate::org::Org;
use crate::render::RenderContext;
use crate::schema::{FieldType, ObjectDef, ObjectIdx, describe};
use crate::store::{Txn, id_of};
use crate::versions::ApiVersion;

/// A sub-request URL taken apart: `/services/data/v60.0/sobjects/Account/001...?fields=Name`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Target {
    pub(super) version: ApiVersion,
    /// The path after the version, split at `/` and percent-decoded.
    pub(super) segments: Vec<String>,
    /// The query string's parameters, decoded (`+` is a space).
    pub(super) query: Vec<(String, String)>,
}

impl Target {
    /// Parses a full sub-request URL. `None` unless it is `/services/data/vNN.N/...` with a
    /// version the org serves.
    pub(super) fn parse(url: &str) -> Option<Target> {
        let (path, query) = url.split_once('?').unwrap_or((url, ""));
        let rest = path.strip_prefix("/services/data/")?;
        let (version, rest) = rest.split_once('/').unwrap_or((rest, ""));
        let version = ApiVersion::parse(version)?;
        let segments = rest
            .split('/')
            .filter(|s| !s.is_empty())
            .map(percent_decode)
            .collect();
        let query = form_urlencoded::parse(query.as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        Some(Target {
            version,
            segments,
            query,
        })
    }

    fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Whether a sub-request URL is a query or an sObject Collections request, which a composite
/// may hold only five of. Decided on the URL as written (references sit in ids, not here).
pub(super) fn is_query_or_collection(url: &str) -> bool {
    Target::parse(url).is_some_and(|t| {
        matches!(
            t.segments.first().map(String::as_str),
            Some("query" | "queryAll")
        ) || (t.segments.len() >= 2 && t.segments[0] == "composite" && t.segments[1] == "sobjects")
    })
}

/// Runs one sub-request (its references already resolved) in `txn`. `all_or_none` is the
/// composite's flag, which overrides the flag of collection sub-requests when set.
/// `if_modified_since` is the sub-request's header of that name: describes answer 304 with no
/// body when the schema has not changed since, as they do outside a composite.
pub(super) fn execute(
    org: &Org,
    txn: &mut Txn<'_>,
    all_or_none: bool,
    method: &str,
    url: &str,
    body: Option<&Json>,
    if_modified_since: Option<&str>,
) -> Reply {
    let Some(target) = Target::parse(url) else {
        return Reply::failure(ApiFailure::not_found());
    };
    let call = Call {
        org,
        all_or_none,
        method,
        target: &target,
        body,
        if_modified_since,
    };
    match call.run(txn) {
        Ok(reply) => reply,
        Err(failure) => Reply::failure(failure),
    }
}

/// One sub-request being served.
struct Call<'a> {
    org: &'a Org,
    all_or_none: bool,
    method: &'a str,
    target: &'a Target,
    body: Option<&'a Json>,
    if_modified_since: Option<&'a str>,
}

impl Call<'_> {
    /// Whether the sub-request's `If-Modified-Since` shows its copy of the schema is current.
    fn unchanged(&self) -> bool {
        self.if_modified_since
            .is_some_and(|since| crate::rest::sobjects::unchanged_since(self.org, since))
    }

    fn run(&self, txn: &mut Txn<'_>) -> Result<Reply, ApiFailure> {
        let segments: Vec<&str> = self.target.segments.iter().map(String::as_str).collect();
        match segments.as_slice() {
            ["sobjects"] => {
                self.allow(&["GET"])?;
                if self.unchanged() {
                    return Ok(Reply::empty(StatusCode::NOT_MODIFIED));
                }
                let version = self.target.version.number();
                Ok(Reply::json(
                    StatusCode::OK,
                    &describe::describe_global(txn.schema(), &version),
                ))
            }
            ["sobjects", object] => {
                if self.method == "GET" {
                    return Err(unsupported("sObject basic information"));
                }
                self.allow(&["POST"])?;
                self.create(txn, object)
            }
            ["sobjects", object, "describe"] => {
                self.allow(&["GET"])?;
                let (_, def) = find_object(txn, object)?;
                if self.unchanged() {
                    return Ok(Reply::empty(StatusCode::NOT_MODIFIED));
                }
                let version = self.target.version.number();
                Ok(Reply::json(
                    StatusCode::OK,
                    &describe::describe_object(txn.schema(), def, &version),
                ))
            }
            ["sobjects", object, kind @ ("updated" | "deleted")] => {
                self.allow(&["GET"])?;
                let (object_idx, def) = find_object(txn, object)?;
                let window = crate::rest::sobjects::WindowQuery {
                    start: self.target.param("start").map(str::to_string),
                    end: self.target.param("end").map(str::to_string),
                };
                let table = txn.data().table(object_idx);
                let now = self.org.now();
                Ok(if *kind == "updated" {
                    Reply::json(
                        StatusCode::OK,
                        &crate::rest::sobjects::updated_result(table, def, &window, now)?,
                    )
                } else {
                    Reply::json(
                        StatusCode::OK,
                        &crate::rest::sobjects::deleted_result(table, def, &window, now)?,
                    )
                })
            }
            ["sobjects", object, id] => match self.method {
                "GET" => self.get_record(txn, object, id),
                "PATCH" => self.update(txn, object, id),
                "DELETE" => self.delete(txn, object, id),
                "POST" if id.eq_ignore_ascii_case("Id") => self.create(txn, object),
                _ => Err(method_not_allowed(self.method, &["GET", "PATCH", "DELETE"])),
            },
            ["sobjects", object, field, value] => match self.method {
                "GET" => self.get_by_external_id(txn, object, field, value),
                "PATCH" => self.upsert(txn, object, field, value),
                "DELETE" => self.delete_by_external_id(txn, object, field, value),
                _ => Err(method_not_allowed(self.method, &["GET", "PATCH", "DELETE"])),
            },
            ["query"] | ["queryAll"] => {
                self.allow(&["GET"])?;
                let all_rows = segments[0] == "queryAll";
                let soql = self.target.param("q").ok_or_else(|| {
                    ApiFailure::bad_request("MALFORMED_QUERY", "q: required parameter is missing")
                })?;
                let snapshot = Arc::new(txn.data().clone());
                let page = crate::soql::query_json(
                    self.org,
                    snapshot,
                    txn.user,
                    self.target.version,
                    soql,
                    all_rows,
                )?;
                Ok(Reply::json(StatusCode::OK, &page))
            }
            ["limits"] => {
                self.allow(&["GET"])?;
                Ok(Reply::json(
                    StatusCode::OK,
                    &crate::rest::org_limits(self.org, txn.data()),
                ))
            }
            ["composite", "sobjects", ..] if self.target.version < super::COMPOSITE_SINCE => {
                Err(ApiFailure::not_found())
            }
            ["composite", "sobjects"] => match self.method {
                "POST" => collections::create_in(txn, &self.collection_body()?, self.all_or_none),
                "PATCH" => collections::update_in(txn, &self.collection_body()?, self.all_or_none),
                "DELETE" => collections::delete_in(
                    txn,
                    self.target.param("ids"),
                    self.target.param("allOrNone"),
                    self.all_or_none,
                ),
                _ => Err(method_not_allowed(
                    self.method,
                    &["POST", "PATCH", "DELETE"],
                )),
            },
            ["composite", "sobjects", object] => {
                let (ids, fields) = match self.method {
                    "GET" => collections::retrieve_lists(
                        self.target.param("ids"),
                        self.target.param("fields"),
                    )?,
                    "POST" => {
                        let request: forcebridge_wire::composite::CollectionRetrieveRequest =
                            serde_json::from_value(self.required_body()?.clone())
                                .map_err(ApiFailure::json_parser)?;
                        (request.ids, request.fields)
                    }
                    _ => return Err(method_not_allowed(self.method, &["GET", "POST"])),
                };
                collections::retrieve_in(
                    txn.data(),
                    txn.schema(),
                    self.target.version,
                    object,
                    &ids,
                    &fields,
                )
            }
            ["composite", "sobjects", object, field] => {
                self.allow(&["PATCH"])?;
                if self.target.version < super::COLLECTION_UPSERT_SINCE {
                    return Err(ApiFailure::not_found());
                }
                collections::upsert_in(
                    txn,
                    object,
                    field,
                    &self.collection_body()?,
                    self.all_or_none,
                )
            }
            [
                "search"
                | "parameterizedSearch"
                | "query"
                | "queryAll"
                | "composite"
                | "jobs"
                | "limits"
                | "sobjects"
                | "tooling"
                | "recent"
                | "tabs"
                | "theme"
                | "quickActions",
                ..,
            ]
            | [] => Err(unsupported(&format!("/{}", self.target.segments.join("/")))),
            _ => Err(ApiFailure::not_found()),
        }
    }

    /// 405 unless the sub-request uses one of `methods`.
    fn allow(&self, methods: &[&str]) -> Result<(), ApiFailure> {
        if methods.contains(&self.method) {
            Ok(())
        } else {
            Err(method_not_allowed(self.method, methods))
        }
    }

    /// The body as a JSON object, which every write needs.
    fn record_body(&self) -> Result<&JsonObject, ApiFailure> {
        self.required_body()?
            .as_object()
            .ok_or_else(|| malformed("The request body must be a JSON object"))
    }

    fn required_body(&self) -> Result<&Json, ApiFailure> {
        self.body
            .filter(|b| !b.is_null())
            .ok_or_else(|| malformed("The request body is empty; a JSON body is required"))
    }

    fn collection_body(&self) -> Result<CollectionRequest, ApiFailure> {
        serde_json::from_value(self.required_body()?.clone()).map_err(ApiFailure::json_parser)
    }

    fn record_url(&self, object_name: &str, id: RecordId) -> String {
        format!(
            "/services/data/v{}/sobjects/{object_name}/{id}",
            self.target.version.number(),
        )
    }

    fn create(&self, txn: &mut Txn<'_>, object: &str) -> Result<Reply, ApiFailure> {
        let (object, def) = find_object(txn, object)?;
        if !def.flags.createable {
            return Err(ApiFailure::bad_request(
                "INVALID_TYPE",
                format!("Cannot create {} records", def.name),
            ));
        }
        let name = def.name.clone();
        let id = dml::create(txn, object, self.record_body()?)?;
        Ok(Reply::json(
            StatusCode::CREATED,
            &SaveResult {
                id: Some(id.to_string()),
                success: true,
                errors: Vec::new(),
            },
        )
        .with_header("Location", self.record_url(&name, id)))
    }

    fn get_record(&self, txn: &Txn<'_>, object: &str, id: &str) -> Result<Reply, ApiFailure> {
        let (object, def) = find_object(txn, object)?;
        let fields = crate::rest::sobjects::selected_fields(def, self.target.param("fields"))?;
        let slot = live_slot(txn, object, id)?;
        Ok(self.record_reply(txn, object, slot, &fields))
    }

    /// A stored record as the REST API renders it, with its Last-Modified header.
    fn record_reply(&self, txn: &Txn<'_>, object: ObjectIdx, slot: u32, fields: &[usize]) -> Reply {
        let def = txn.schema().object(object);
        let Some(row) = txn.data().table(object).get(slot) else {
            return Reply::failure(ApiFailure::not_found());
        };
        let version = self.target.version.number();
        let mut out = Vec::with_capacity(1024);
        RenderContext { version: &version }.write_record(&mut out, def, slot, row, fields);
        let mut reply = Reply::raw(StatusCode::OK, out);
        if let crate::value::Value::DateTime(ms) = row[def.system.last_modified_date]
            && let Some(date) = chrono::DateTime::from_timestamp_millis(ms)
        {
            reply = reply.with_header(
                "Last-Modified",
                date.format("%a, %d %b %Y %H:%M:%S GMT").to_string(),
            );
        }
        reply
    }

    fn update(&self, txn: &mut Txn<'_>, object: &str, id: &str) -> Result<Reply, ApiFailure> {
        let (object, _) = find_object(txn, object)?;
        let slot = live_slot(txn, object, id)?;
        let id = id_of(txn.schema().object(object), slot);
        dml::update(txn, object, id, self.record_body()?)?;
        Ok(Reply::empty(StatusCode::NO_CONTENT))
    }

    fn delete(&self, txn: &mut Txn<'_>, object: &str, id: &str) -> Result<Reply, ApiFailure> {
        let (object, _) = find_object(txn, object)?;
        let slot = live_slot(txn, object, id)?;
        dml::delete(txn, id_of(txn.schema().object(object), slot))?;
        Ok(Reply::empty(StatusCode::NO_CONTENT))
    }

    fn get_by_external_id(
        &self,
        txn: &Txn<'_>,
        object: &str,
        field: &str,
        value: &str,
    ) -> Result<Reply, ApiFailure> {
        let (object, def) = find_object(txn, object)?;
        if RecordId::parse(field).is_some()
            && def
                .field(value)
                .is_some_and(|(_, f)| f.field_type == FieldType::Base64)
        {
            return Err(unsupported("blob retrieval"));
        }
        let fields = crate::rest::sobjects::selected_fields(def, self.target.param("fields"))?;
        match dml::find_by_external_id(txn.data(), txn.schema(), object, field, value)? {
            Match::None => Err(ApiFailure::not_found()),
            Match::Many(ids) => Ok(self.multiple_choices(&def.name, &ids)),
            Match::One(id) => {
                let slot = live_slot(txn, object, &id.to_string())?;
                Ok(self.record_reply(txn, object, slot, &fields))
            }
        }
    }

    /// The 300 answer for an external id several records share: their URLs.
    fn multiple_choices(&self, object_name: &str, ids: &[RecordId]) -> Reply {
        let urls: Vec<String> = ids
            .iter()
            .map(|id| self.record_url(object_name, *id))
            .collect();
        Reply::json(StatusCode::MULTIPLE_CHOICES, &urls)
    }

    fn upsert(
        &self,
        txn: &mut Txn<'_>,
        object: &str,
        field: &str,
        value: &str,
    ) -> Result<Reply, ApiFailure> {
        let (object, def) = find_object(txn, object)?;
        let name = def.name.clone();
        let body = self.record_body()?;
        if let Some((_, given)) = body.iter().find(|(k, _)| k.eq_ignore_ascii_case(field)) {
            let matches = match given {
                Json::String(s) => s == value,
                other => *other == value,
            };
            if !matches && !given.is_null() {
                return Err(ApiFailure::bad_request(
                    "INVALID_FIELD",
                    format!(
                        "The value of field {field} in the request body does not match the external ID in the URL"
                    ),
                ));
            }
        }
        let update_only = self
            .target
            .param("updateOnly")
            .is_some_and(|v| v.eq_ignore_ascii_case("true"));
        if update_only
            && dml::find_by_external_id(txn.data(), txn.schema(), object, field, value)?
                == Match::None
        {
            return Err(ApiFailure::not_found());
        }
        let (id, created) = match dml::upsert(txn, object, field, value, body)? {
            Ok(done) => done,
            Err(ids) => return Ok(self.multiple_choices(&name, &ids)),
        };
        let location = self.record_url(&name, id);
        let id = Some(id.to_string());
        let modern = self.target.version.0 >= 46;
        Ok(match (created, modern) {
            (true, true) => Reply::json(
                StatusCode::CREATED,
                &UpsertResult {
                    id,
                    success: true,
                    errors: Vec::new(),
                    created: true,
                },
            )
            .with_header("Location", location),
            (true, false) => Reply::json(
                StatusCode::CREATED,
                &SaveResult {
                    id,
                    success: true,
                    errors: Vec::new(),
                },
            )
            .with_header("Location", location),
            (false, true) => Reply::json(
                StatusCode::OK,
                &UpsertResult {
                    id,
                    success: true,
                    errors: Vec::new(),
                    created: false,
                },
            ),
            (false, false) => Reply::empty(StatusCode::NO_CONTENT),
        })
    }

    fn delete_by_external_id(
        &self,
        txn: &mut Txn<'_>,
        object: &str,
        field: &str,
        value: &str,
    ) -> Result<Reply, ApiFailure> {
        let (object, def) = find_object(txn, object)?;
        let name = def.name.clone();
        match dml::find_by_external_id(txn.data(), txn.schema(), object, field, value)? {
            Match::None => Err(ApiFailure::not_found()),
            Match::Many(ids) => Ok(self.multiple_choices(&name, &ids)),
            Match::One(id) => {
                dml::delete(txn, id)?;
                Ok(Reply::empty(StatusCode::NO_CONTENT))
            }
        }
    }
}

fn find_object<'t>(txn: &'t Txn<'_>, name: &str) -> Result<(ObjectIdx, &'t ObjectDef), ApiFailure> {
    txn.schema()
        .find(name)
        .ok_or_else(|| ApiFailure::unknown_object_in_url(name))
}

/// The slot of a live record of `object` as the transaction sees it, or the error the REST API gives: 404
/// `NOT_FOUND` for an unknown id or one of another type, 404 `ENTITY_IS_DELETED` for a record in
/// the recycle bin, 400 `MALFORMED_ID` for an id whose checksum does not fit.
fn live_slot(txn: &Txn<'_>, object: ObjectIdx, id: &str) -> Result<u32, ApiFailure> {
    let id = ApiFailure::id_in_url(&txn.schema().object(object).label, id)?;
    let (found, slot, row) = txn
        .data()
        .find(txn.schema(), id)
        .ok_or_else(ApiFailure::not_found)?;
    if found != object {
        return Err(ApiFailure::not_found());
    }
    if dml::is_deleted(txn.schema().object(object), row) {
        return Err(ApiFailure::new(
            StatusCode::NOT_FOUND,
            "ENTITY_IS_DELETED",
            "entity is deleted",
        ));
    }
    Ok(slot)
}

/// 405 for a method the resource does not take, with the REST API's wording.
fn method_not_allowed(method: &str, allowed: &[&str]) -> ApiFailure {
    ApiFailure::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "METHOD_NOT_ALLOWED",
        format!(
            "HTTP Method '{method}' not allowed. Allowed are {}",
            allowed.join(",")
        ),
    )
}

/// 400 for a resource that exists in the REST API but that the local org does not run inside a
/// composite request.
fn unsupported(what: &str) -> ApiFailure {
    ApiFailure::bad_request(
        "INVALID_OPERATION",
        format!("{what} is not supported in a composite subrequest by this org"),
    )
}

/// Decodes `%XX` escapes in a path segment (a `+` stays a plus, as in any URL path).
fn percent_decode(segment: &str) -> String {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(hex) = bytes.get(i + 1..i + 3)
            && let Ok(hex) = std::str::from_utf8(hex)
            && let Ok(byte) = u8::from_str_radix(hex, 16)
        {
            out.push(byte);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_split_into_version_segments_and_decoded_parameters() {
        let target = Target::parse(
            "/services/data/v60.0/sobjects/Product2/ExternalId/SKU%2F1/?fields=Name,Id&q=a+b",
        )
        .unwrap();
        assert_eq!(target.version, ApiVersion(60));
        assert_eq!(
            target.segments,
            vec!["sobjects", "Product2", "ExternalId", "SKU/1"]
        );
        assert_eq!(target.param("fields"), Some("Name,Id"));
        assert_eq!(target.param("q"), Some("a b"));
        assert!(Target::parse("/services/data/v12.0/sobjects").is_none());
        assert!(Target::parse("v60.0/sobjects").is_none());
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("a%zzb"), "a%zzb");
    }

    #[test]
    fn queries_and_collections_are_counted_by_their_url() {
        assert!(is_query_or_collection(
            "/services/data/v60.0/query?q=SELECT+Id+FROM+Account"
        ));
        assert!(is_query_or_collection("/services/data/v60.0/queryAll?q=x"));
        assert!(is_query_or_collection(
            "/services/data/v60.0/composite/sobjects"
        ));
        assert!(!is_query_or_collection(
            "/services/data/v60.0/sobjects/Account"
        ));
    }
}
