//! sObject Collections (`/composite/sobjects`): create, update, upsert and delete up to 200
//! records in one call, and retrieve records of one type by id.
//!
//! Results come back in request order with HTTP 200 whenever the request is well formed, even if
//! every record failed; per-record errors use `statusCode` (not `errorCode`). A failed record
//! omits `id` (the REST examples do; SOAP sends a null id instead: UNVERIFIED which REST really
//! does for updates and deletes). With `allOrNone` every record is still tried, so each failing
//! record reports its own error, and then everything is rolled back and the records that had
//! succeeded report `ALL_OR_NONE_OPERATION_ROLLED_BACK`.
//!
//! Whole-request problems are a 400 error array and change nothing: a body that is not
//! `{"allOrNone", "records"}`, a create record without `attributes.type`, more than 200 records
//! (`EXCEEDED_ID_LIMIT`), more than 10 type chunks, a missing `ids` or `fields` parameter.
//! Everything about one record (unknown type, missing or malformed id, validation) is that
//! record's error. (Which side of that line Salesforce puts each case on is UNVERIFIED.)
//!
//! The `*_in` functions work inside a transaction the caller owns, so `POST /composite` can run
//! collection sub-requests in its own transaction; they roll their own work back when
//! `allOrNone` fails, leaving the caller's earlier work alone.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Extension;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use forcebridge_wire::JsonObject;
use forcebridge_wire::composite::{CollectionRequest, CollectionRetrieveRequest};
use forcebridge_wire::error::RecordError;
use forcebridge_wire::records::{SaveResult, UpsertResult};
use serde::Deserialize;
use serde_json::Value as Json;

use super::{COLLECTION_UPSERT_SINCE, COMPOSITE_SINCE, MAX_RECORDS, Reply, malformed, require};
use crate::api_error::{ApiFailure, DmlError};
use crate::dml;
use crate::http::{Caller, JsonBody};
use crate::ids::RecordId;
use crate::org::Org;
use crate::render::RenderContext;
use crate::schema::{ObjectIdx, Schema};
use crate::store::{OrgData, Txn};
use crate::versions::ApiVersion;

/// Most ids one retrieve may name (the documented cap for the POST form; the GET form is bounded
/// by URL length in a real org, and gets the same cap here).
const MAX_RETRIEVE_IDS: usize = 2000;
/// Most runs of consecutive same-type records ("chunks") one create may contain.
const MAX_CHUNKS: usize = 10;

/// `POST /composite/sobjects`.
pub(super) async fn create(
    State(org): State<Arc<Org>>,
    Extension(version): Extension<ApiVersion>,
    Extension(caller): Extension<Caller>,
    JsonBody(request): JsonBody<CollectionRequest>,
) -> Result<Reply, ApiFailure> {
    require(version, COMPOSITE_SINCE)?;
    org.write(&caller, |txn| create_in(txn, &request, false))
}

/// `PATCH /composite/sobjects`.
pub(super) async fn update(
    State(org): State<Arc<Org>>,
    Extension(version): Extension<ApiVersion>,
    Extension(caller): Extension<Caller>,
    JsonBody(request): JsonBody<CollectionRequest>,
) -> Result<Reply, ApiFailure> {
    require(version, COMPOSITE_SINCE)?;
    org.write(&caller, |txn| update_in(txn, &request, false))
}

#[derive(Deserialize)]
pub(super) struct UpsertPath {
    object: String,
    field: String,
}

/// `PATCH /composite/sobjects/{Type}/{ExtIdField}`.
pub(super) async fn upsert(
    State(org): State<Arc<Org>>,
    Extension(version): Extension<ApiVersion>,
    Extension(caller): Extension<Caller>,
    Path(path): Path<UpsertPath>,
    JsonBody(request): JsonBody<CollectionRequest>,
) -> Result<Reply, ApiFailure> {
    require(version, COLLECTION_UPSERT_SINCE)?;
    org.write(&caller, |txn| {
        upsert_in(txn, &path.object, &path.field, &request, false)
    })
}

#[derive(Deserialize)]
pub(super) struct DeleteQuery {
    ids: Option<String>,
    #[serde(rename = "allOrNone")]
    all_or_none: Option<String>,
}

/// `DELETE /composite/sobjects?ids=...&allOrNone=...`.
pub(super) async fn delete(
    State(org): State<Arc<Org>>,
    Extension(version): Extension<ApiVersion>,
    Extension(caller): Extension<Caller>,
    Query(query): Query<DeleteQuery>,
) -> Result<Reply, ApiFailure> {
    require(version, COMPOSITE_SINCE)?;
    org.write(&caller, |txn| {
        delete_in(
            txn,
            query.ids.as_deref(),
            query.all_or_none.as_deref(),
            false,
        )
    })
}

#[derive(Deserialize)]
pub(super) struct ObjectPath {
    object: String,
}

#[derive(Deserialize)]
pub(super) struct RetrieveQuery {
    ids: Option<String>,
    fields: Option<String>,
}

/// `GET /composite/sobjects/{Type}?ids=...&fields=...`.
pub(super) async fn retrieve_by_query(
    State(org): State<Arc<Org>>,
    Extension(version): Extension<ApiVersion>,
    Path(path): Path<ObjectPath>,
    Query(query): Query<RetrieveQuery>,
) -> Result<Reply, ApiFailure> {
    require(version, COMPOSITE_SINCE)?;
    let (ids, fields) = retrieve_lists(query.ids.as_deref(), query.fields.as_deref())?;
    let snapshot = org.store.snapshot();
    retrieve_in(
        &snapshot,
        snapshot.schema(),
        version,
        &path.object,
        &ids,
        &fields,
    )
}

/// `POST /composite/sobjects/{Type}` with `{"ids": [...], "fields": [...]}` (jsforce's form).
pub(super) async fn retrieve_by_body(
    State(org): State<Arc<Org>>,
    Extension(version): Extension<ApiVersion>,
    Path(path): Path<ObjectPath>,
    JsonBody(request): JsonBody<CollectionRetrieveRequest>,
) -> Result<Reply, ApiFailure> {
    require(version, COMPOSITE_SINCE)?;
    let snapshot = org.store.snapshot();
    retrieve_in(
        &snapshot,
        snapshot.schema(),
        version,
        &path.object,
        &request.ids,
        &request.fields,
    )
}

/// Creates the records of `request` (mixed types, by `attributes.type`). `force_all_or_none` is
/// set when an enclosing composite request is all-or-none, which overrides the collection's flag.
pub(crate) fn create_in(
    txn: &mut Txn<'_>,
    request: &CollectionRequest,
    force_all_or_none: bool,
) -> Result<Reply, ApiFailure> {
    check_count(request.records.len())?;
    let mut type_names = Vec::with_capacity(request.records.len());
    for record in &request.records {
        type_names.push(declared_type(record).ok_or_else(|| {
            malformed("Each record in a create request needs an attributes map with a type")
        })?);
    }
    let chunks = type_names
        .windows(2)
        .filter(|pair| !pair[0].eq_ignore_ascii_case(pair[1]))
        .count()
        + usize::from(!type_names.is_empty());
    if chunks > MAX_CHUNKS {
        // UNVERIFIED code; the wording is the one Salesforce gives for this limit elsewhere.
        return Err(ApiFailure::bad_request(
            "LIMIT_EXCEEDED",
            "Cannot have more than 10 chunks in a single operation. Please rearrange the data to reduce chunking.",
        ));
    }
    let all_or_none = request.all_or_none || force_all_or_none;
    let outcomes = run_each(txn, &request.records, all_or_none, |txn, record| {
        let type_name = declared_type(record).unwrap_or_default();
        let (object, def) = dml::object(txn.schema(), type_name)?;
        if record
            .iter()
            .any(|(k, v)| k.eq_ignore_ascii_case("Id") && !v.is_null())
        {
            return Err(
                DmlError::new("INVALID_FIELD", "cannot specify Id in an insert call").on("Id"),
            );
        }
        if !def.flags.createable {
            return Err(DmlError::new(
                "INVALID_TYPE",
                format!("Cannot create {} records", def.name),
            ));
        }
        dml::create(txn, object, record)
    });
    Ok(save_results(outcomes))
}

/// Updates the records of `request`; each names itself with `id`.
pub(crate) fn update_in(
    txn: &mut Txn<'_>,
    request: &CollectionRequest,
    force_all_or_none: bool,
) -> Result<Reply, ApiFailure> {
    check_count(request.records.len())?;
    let all_or_none = request.all_or_none || force_all_or_none;
    let outcomes = run_each(txn, &request.records, all_or_none, |txn, record| {
        let id = record_id(record)?;
        // The type comes from `attributes.type`; without it, from the id's key prefix.
        let object = match declared_type(record) {
            Some(name) => dml::object(txn.schema(), name)?.0,
            None => {
                txn.schema()
                    .by_prefix(id.prefix())
                    .ok_or_else(|| {
                        DmlError::new("NOT_FOUND", "The requested resource does not exist")
                    })?
                    .0
            }
        };
        dml::update(txn, object, id, record)?;
        Ok(id)
    });
    Ok(save_results(outcomes))
}

/// Upserts records of one type by the external id field `field` (or `Id`).
pub(crate) fn upsert_in(
    txn: &mut Txn<'_>,
    object_name: &str,
    field: &str,
    request: &CollectionRequest,
    force_all_or_none: bool,
) -> Result<Reply, ApiFailure> {
    let (object, def) = txn
        .schema()
        .find(object_name)
        .ok_or_else(|| ApiFailure::unknown_object_in_url(object_name))?;
    let (_, field_def) = def
        .field(field)
        .filter(|(_, f)| f.external_id || f.id_lookup || f.name.eq_ignore_ascii_case("Id"))
        .ok_or_else(|| {
            ApiFailure::from(DmlError::new(
                "NOT_FOUND",
                format!("Provided external ID field does not exist or is not accessible: {field}"),
            ))
        })?;
    let field_name = field_def.name.clone();
    let is_id = field_name == "Id";
    // Keys compare as the field compares its values: without case unless it is case-sensitive.
    let case_sensitive = field_def.case_sensitive;
    let key_of = move |value: &str| {
        if case_sensitive {
            value.to_string()
        } else {
            value.to_lowercase()
        }
    };
    let type_name = def.name.clone();
    check_count(request.records.len())?;
    // The same external id twice in one request fails both records, as Salesforce cannot tell
    // which one should win.
    let mut seen: HashMap<String, usize> = HashMap::new();
    for record in &request.records {
        if let Some(key) = external_value(record, &field_name) {
            *seen.entry(key_of(&key)).or_default() += 1;
        }
    }
    let all_or_none = request.all_or_none || force_all_or_none;
    let outcomes = run_each(txn, &request.records, all_or_none, |txn, record| {
        if let Some(given) = declared_type(record)
            && !given.eq_ignore_ascii_case(&type_name)
        {
            return Err(DmlError::new(
                "INVALID_TYPE",
                format!("Record type {given} does not match the upsert type {type_name}"),
            ));
        }
        let value = external_value(record, &field_name);
        let value = match value {
            Some(value) => value,
            None if is_id => {
                let id = dml::create(txn, object, record)?;
                return Ok((id, true));
            }
            None => {
                return Err(DmlError::new(
                    "MISSING_ARGUMENT",
                    format!("{field_name} not specified"),
                ));
            }
        };
        if seen.get(&key_of(&value)).copied().unwrap_or(0) > 1 {
            return Err(DmlError::new(
                "DUPLICATE_EXTERNAL_ID",
                format!("Duplicate external id specified: {value}"),
            )
            .on(field_name.as_str()));
        }
        match dml::upsert(txn, object, &field_name, &value, record)? {
            Ok(done) => Ok(done),
            Err(ids) => Err(DmlError::new(
                "DUPLICATE_EXTERNAL_ID",
                format!(
                    "{field_name}: more than one record found for external id field: [{}]",
                    ids.iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
            .on(field_name.as_str())),
        }
    });
    let record_failures = outcomes.iter().any(|o| !matches!(o, Outcome::Done(_)));
    let results: Vec<UpsertResult> = outcomes
        .into_iter()
        .map(|outcome| match outcome {
            Outcome::Done((id, created)) => UpsertResult {
                id: Some(id.to_string()),
                success: true,
                errors: Vec::new(),
                created,
            },
            Outcome::Failed(error) => UpsertResult {
                id: None,
                success: false,
                errors: vec![error.to_record_error()],
                created: false,
            },
            Outcome::RolledBack => UpsertResult {
                id: None,
                success: false,
                errors: vec![rolled_back()],
                created: false,
            },
        })
        .collect();
    let mut reply = Reply::json(StatusCode::OK, &results);
    reply.record_failures = record_failures;
    Ok(reply)
}

/// Deletes the records named in `ids` (comma-separated). `allOrNone` is read as Java reads a
/// boolean: only `true` (in any case) is true.
pub(crate) fn delete_in(
    txn: &mut Txn<'_>,
    ids: Option<&str>,
    all_or_none: Option<&str>,
    force_all_or_none: bool,
) -> Result<Reply, ApiFailure> {
    let ids = split_list(ids.ok_or_else(|| missing("ids"))?);
    if ids.is_empty() {
        return Err(missing("ids"));
    }
    check_count(ids.len())?;
    let all_or_none =
        all_or_none.is_some_and(|v| v.trim().eq_ignore_ascii_case("true")) || force_all_or_none;
    let outcomes = run_each(txn, &ids, all_or_none, |txn, text| {
        let id = dml::parse_id(text)?;
        dml::delete(txn, id)?;
        Ok(id)
    });
    Ok(save_results(outcomes))
}

/// The records of `object_name` with these ids, each with `fields` (and `Id`), or `null` for an
/// id that is malformed, unknown, of another type, or deleted.
pub(crate) fn retrieve_in(
    data: &OrgData,
    schema: &Schema,
    version: ApiVersion,
    object_name: &str,
    ids: &[String],
    fields: &[String],
) -> Result<Reply, ApiFailure> {
    let (object, def) = schema
        .find(object_name)
        .ok_or_else(|| ApiFailure::unknown_object_in_url(object_name))?;
    if ids.is_empty() {
        return Err(missing("ids"));
    }
    if fields.is_empty() {
        return Err(missing("fields"));
    }
    if ids.len() > MAX_RETRIEVE_IDS {
        return Err(super::too_many_records(MAX_RETRIEVE_IDS));
    }
    let selected = crate::rest::sobjects::selected_fields(def, Some(&fields.join(",")))?;
    let number = version.number();
    let context = RenderContext { version: &number };
    let mut out = Vec::with_capacity(64 + ids.len() * 256);
    out.push(b'[');
    for (i, text) in ids.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        match live_row(data, schema, object, text) {
            Some((slot, row)) => context.write_record(&mut out, def, slot, row, &selected),
            None => out.extend_from_slice(b"null"),
        }
    }
    out.push(b']');
    Ok(Reply::raw(StatusCode::OK, out))
}

/// A live record of `object` by id text, if there is one.
fn live_row<'d>(
    data: &'d OrgData,
    schema: &Schema,
    object: ObjectIdx,
    text: &str,
) -> Option<(u32, &'d crate::store::Row)> {
    let id = RecordId::parse(text.trim())?;
    let (found, slot, row) = data.find(schema, id)?;
    (found == object && !dml::is_deleted(schema.object(object), row)).then_some((slot, row))
}

/// What happened to one record.
enum Outcome<T> {
    Done(T),
    Failed(DmlError),
    /// It succeeded, then was undone because another record failed under `allOrNone`.
    RolledBack,
}

/// Runs `work` on every item, each behind its own savepoint so a failure undoes only its own
/// changes; under `all_or_none`, a failure anywhere then undoes everything this call did.
fn run_each<I, T>(
    txn: &mut Txn<'_>,
    items: &[I],
    all_or_none: bool,
    mut work: impl FnMut(&mut Txn<'_>, &I) -> Result<T, DmlError>,
) -> Vec<Outcome<T>> {
    let start = all_or_none.then(|| txn.savepoint());
    let mut outcomes = Vec::with_capacity(items.len());
    for item in items {
        let savepoint = txn.savepoint();
        match work(txn, item) {
            Ok(done) => outcomes.push(Outcome::Done(done)),
            Err(error) => {
                txn.rollback_to(savepoint);
                outcomes.push(Outcome::Failed(error));
            }
        }
    }
    let any_failed = outcomes.iter().any(|o| matches!(o, Outcome::Failed(_)));
    if let Some(start) = start
        && any_failed
    {
        txn.rollback_to(start);
        for outcome in &mut outcomes {
            if matches!(outcome, Outcome::Done(_)) {
                *outcome = Outcome::RolledBack;
            }
        }
    }
    tracing::debug!(
        n_records = items.len(),
        all_or_none,
        any_failed,
        "collection processed"
    );
    outcomes
}

fn save_results(outcomes: Vec<Outcome<RecordId>>) -> Reply {
    let record_failures = outcomes.iter().any(|o| !matches!(o, Outcome::Done(_)));
    let results: Vec<SaveResult> = outcomes
        .into_iter()
        .map(|outcome| match outcome {
            Outcome::Done(id) => SaveResult {
                id: Some(id.to_string()),
                success: true,
                errors: Vec::new(),
            },
            Outcome::Failed(error) => SaveResult {
                id: None,
                success: false,
                errors: vec![error.to_record_error()],
            },
            Outcome::RolledBack => SaveResult {
                id: None,
                success: false,
                errors: vec![rolled_back()],
            },
        })
        .collect();
    let mut reply = Reply::json(StatusCode::OK, &results);
    reply.record_failures = record_failures;
    reply
}

fn rolled_back() -> RecordError {
    RecordError {
        status_code: "ALL_OR_NONE_OPERATION_ROLLED_BACK".to_string(),
        message: "Record rolled back because not all records were valid and the request was using AllOrNone header".to_string(),
        fields: Vec::new(),
    }
}

fn check_count(n: usize) -> Result<(), ApiFailure> {
    if n > MAX_RECORDS {
        return Err(super::too_many_records(MAX_RECORDS));
    }
    Ok(())
}

/// 400 `MISSING_ARGUMENT` for a required parameter that is absent (UNVERIFIED wording).
fn missing(name: &str) -> ApiFailure {
    ApiFailure::bad_request(
        "MISSING_ARGUMENT",
        format!("{name}: required parameter is missing"),
    )
}

/// `attributes.type` of a record body.
fn declared_type(record: &JsonObject) -> Option<&str> {
    record.get("attributes")?.get("type")?.as_str()
}

/// The record id an update names in its `id` (or `Id`) member.
fn record_id(record: &JsonObject) -> Result<RecordId, DmlError> {
    let value = record
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("Id"))
        .map(|(_, v)| v);
    match value {
        None | Some(Json::Null) => Err(DmlError::new(
            "MISSING_ARGUMENT",
            "Id not specified in an update call",
        )),
        Some(Json::String(text)) => dml::parse_id(text),
        Some(other) => dml::parse_id(&other.to_string()),
    }
}

/// The external id a record gives for `field` (matched without case), as text; `None` when it is
/// absent, null or empty.
fn external_value(record: &JsonObject, field: &str) -> Option<String> {
    let value = record
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(field))
        .map(|(_, v)| v)?;
    let text = match value {
        Json::Null => return None,
        Json::String(s) => s.clone(),
        other => other.to_string(),
    };
    (!text.trim().is_empty()).then_some(text)
}

/// A comma-separated parameter as its non-empty parts.
fn split_list(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// Splits and reads the parameters a retrieve sub-request gives in its URL.
pub(crate) fn retrieve_lists(
    ids: Option<&str>,
    fields: Option<&str>,
) -> Result<(Vec<String>, Vec<String>), ApiFailure> {
    let ids = split_list(ids.ok_or_else(|| missing("ids"))?);
    let fields = split_list(fields.ok_or_else(|| missing("fields"))?);
    Ok((ids, fields))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_split_on_commas_and_drop_blanks() {
        assert_eq!(split_list(" a, b,,c ,"), vec!["a", "b", "c"]);
        assert!(split_list("").is_empty());
    }

    #[test]
    fn update_ids_are_required_and_parsed() {
        let mut record = JsonObject::new();
        assert_eq!(record_id(&record).unwrap_err().code, "MISSING_ARGUMENT");
        record.insert("id".into(), Json::String("nonsense".into()));
        assert_eq!(record_id(&record).unwrap_err().code, "MALFORMED_ID");
        let id = RecordId::new("001", 7);
        record.remove("id");
        record.insert("Id".into(), Json::String(id.to_15()));
        assert_eq!(record_id(&record).unwrap(), id);
    }

    #[test]
    fn external_values_are_read_as_text_without_case() {
        let record: JsonObject =
            serde_json::from_str(r#"{"externalid": 42, "Other": "", "Blank": null}"#).unwrap();
        assert_eq!(external_value(&record, "ExternalId").as_deref(), Some("42"));
        assert_eq!(external_value(&record, "Other"), None);
        assert_eq!(external_value(&record, "Blank"), None);
    }
}
