//! The sObject resources: describe global, basic info, describe, records by id and by external
//! id (get, create, update, upsert, delete), blob fields, and the replication resources
//! `updated` and `deleted`.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use forcebridge_wire::JsonObject;
use forcebridge_wire::records::{
    DeletedRecord, DeletedResult, SaveResult, UpdatedResult, UpsertResult,
};
use serde::Deserialize;

use crate::api_error::{ApiFailure, json_bytes, json_response};
use crate::dml::{self, Match};
use crate::http::{Caller, JsonBody, no_content, ok_json};
use crate::ids::RecordId;
use crate::org::Org;
use crate::render::RenderContext;
use crate::schema::{FieldType, ObjectDef, ObjectIdx, Schema, describe};
use crate::store::{Row, id_of};
use crate::value::{self, Value};
use crate::versions::ApiVersion;

pub(super) fn routes() -> Router<Arc<Org>> {
    Router::new()
        .route("/services/data/{version}/sobjects", get(describe_global))
        .route(
            "/services/data/{version}/sobjects/{object}",
            get(basic_info).post(create),
        )
        .route(
            "/services/data/{version}/sobjects/{object}/describe",
            get(describe_object),
        )
        .route(
            "/services/data/{version}/sobjects/{object}/updated",
            get(updated),
        )
        .route(
            "/services/data/{version}/sobjects/{object}/deleted",
            get(deleted),
        )
        .route(
            "/services/data/{version}/sobjects/{object}/{id}",
            get(get_record)
                .patch(update_record)
                .delete(delete_record)
                .post(create_with_id_field),
        )
        .route(
            "/services/data/{version}/sobjects/{object}/{field}/{value}",
            get(get_by_external_id)
                .patch(upsert)
                .delete(delete_by_external_id),
        )
}

#[derive(Deserialize)]
struct ObjectPath {
    object: String,
}

#[derive(Deserialize)]
struct RecordPath {
    object: String,
    id: String,
}

#[derive(Deserialize)]
struct ExternalPath {
    object: String,
    field: String,
    value: String,
}

fn find_object<'s>(
    schema: &'s Schema,
    name: &str,
) -> Result<(ObjectIdx, &'s ObjectDef), ApiFailure> {
    schema
        .find(name)
        .ok_or_else(|| ApiFailure::unknown_object_in_url(name))
}

/// 304 when the client's copy (`If-Modified-Since`) is as new as the schema: unchanged since
/// the org started, unless a field or object was added while it ran.
fn not_modified(org: &Org, headers: &HeaderMap) -> bool {
    headers
        .get(header::IF_MODIFIED_SINCE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|since| unchanged_since(org, since))
}

/// Whether the schema is unchanged since the HTTP date `since` (an `If-Modified-Since` value),
/// for describes sent on their own and inside a composite request.
pub(crate) fn unchanged_since(org: &Org, since: &str) -> bool {
    chrono::DateTime::parse_from_rfc2822(since)
        .map(|d| d.timestamp_millis() >= org.schema_modified_at())
        .unwrap_or(false)
}

fn not_modified_response() -> Response {
    (StatusCode::NOT_MODIFIED, Body::empty()).into_response()
}

async fn describe_global(
    State(org): State<Arc<Org>>,
    Extension(version): Extension<ApiVersion>,
    headers: HeaderMap,
) -> Response {
    if not_modified(&org, &headers) {
        return not_modified_response();
    }
    ok_json(&describe::describe_global(&org.schema(), &version.number()))
}

async fn basic_info(
    State(org): State<Arc<Org>>,
    Extension(version): Extension<ApiVersion>,
    Path(path): Path<ObjectPath>,
) -> Result<Response, ApiFailure> {
    let schema = org.schema();
    let (object, def) = find_object(&schema, &path.object)?;
    let snapshot = org.store.snapshot();
    let context = RenderContext {
        version: &version.number(),
    };
    // The most recently modified records stand in for "recently viewed".
    let mut recent: Vec<(i64, u32)> = snapshot
        .table(object)
        .rows()
        .filter(|(_, row)| !dml::is_deleted(def, row))
        .map(|(slot, row)| (stamp(def, row), slot))
        .collect();
    recent.sort_unstable_by(|a, b| b.cmp(a));
    let mut out = Vec::new();
    out.extend_from_slice(b"{\"objectDescribe\":");
    out.extend_from_slice(
        &serde_json::to_vec(&describe::global_entry(def, &version.number())).unwrap_or_default(),
    );
    out.extend_from_slice(b",\"recentItems\":[");
    let name_fields: Vec<usize> = std::iter::once(0).chain(def.name_field).collect();
    for (i, (_, slot)) in recent.iter().take(5).enumerate() {
        if i > 0 {
            out.push(b',');
        }
        if let Some(row) = snapshot.table(object).get(*slot) {
            context.write_record(&mut out, def, *slot, row, &name_fields);
        }
    }
    out.extend_from_slice(b"]}");
    Ok(json_bytes(StatusCode::OK, out))
}

fn stamp(def: &ObjectDef, row: &Row) -> i64 {
    match row[def.system.last_modified_date] {
        Value::DateTime(ms) => ms,
        _ => 0,
    }
}

async fn describe_object(
    State(org): State<Arc<Org>>,
    Extension(version): Extension<ApiVersion>,
    Path(path): Path<ObjectPath>,
    headers: HeaderMap,
) -> Result<Response, ApiFailure> {
    let schema = org.schema();
    let (_, def) = find_object(&schema, &path.object)?;
    if not_modified(&org, &headers) {
        return Ok(not_modified_response());
    }
    Ok(ok_json(&describe::describe_object(
        &schema,
        def,
        &version.number(),
    )))
}

async fn create(
    State(org): State<Arc<Org>>,
    Extension(caller): Extension<Caller>,
    Path(path): Path<ObjectPath>,
    JsonBody(body): JsonBody<JsonObject>,
) -> Result<Response, ApiFailure> {
    let schema = org.schema();
    let (object, _) = find_object(&schema, &path.object)?;
    let id = org.write(&caller, |txn| dml::create(txn, object, &body))?;
    Ok(json_response(
        StatusCode::CREATED,
        &SaveResult {
            id: Some(id.to_string()),
            success: true,
            errors: Vec::new(),
        },
    ))
}

/// `POST /sobjects/{Type}/Id`: create, with `Id` as the (empty) external id.
async fn create_with_id_field(
    state: State<Arc<Org>>,
    caller: Extension<Caller>,
    Path(path): Path<RecordPath>,
    body: JsonBody<JsonObject>,
) -> Result<Response, ApiFailure> {
    if !path.id.eq_ignore_ascii_case("Id") {
        return Err(ApiFailure::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "METHOD_NOT_ALLOWED",
            "HTTP Method 'POST' not allowed. Allowed are HEAD,GET,PATCH,DELETE",
        ));
    }
    create(
        state,
        caller,
        Path(ObjectPath {
            object: path.object,
        }),
        body,
    )
    .await
}

#[derive(Deserialize)]
struct FieldsQuery {
    fields: Option<String>,
}

/// The record's fields to return: all, or those `?fields=` lists (unknown names are an error).
pub(crate) fn selected_fields(
    def: &ObjectDef,
    fields: Option<&str>,
) -> Result<Vec<usize>, ApiFailure> {
    let Some(list) = fields.filter(|f| !f.trim().is_empty()) else {
        return Ok((0..def.fields.len()).collect());
    };
    let mut selected = Vec::new();
    for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let (index, _) = def.field(name).ok_or_else(|| {
            ApiFailure::bad_request(
                "INVALID_FIELD",
                format!("No such column '{name}' on entity '{}'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.", def.name),
            )
        })?;
        if !selected.contains(&index) {
            selected.push(index);
        }
    }
    // Salesforce adds the Id when it was not asked for.
    if !selected.contains(&0) {
        selected.push(0);
    }
    Ok(selected)
}

/// A live record of `object` by id, or the error Salesforce gives.
/// (The schema of `object` was taken before this reads the org, so the record has at least the
/// columns its fields name.)
fn live_record(org: &Org, object: ObjectIdx, id: &str) -> Result<(u32, Row), ApiFailure> {
    let snapshot = org.store.snapshot();
    let schema = snapshot.schema();
    let def = schema.object(object);
    let id = ApiFailure::id_in_url(&def.label, id)?;
    let (found, slot, row) = snapshot
        .find(schema, id)
        .ok_or_else(ApiFailure::not_found)?;
    if found != object {
        return Err(ApiFailure::not_found());
    }
    if dml::is_deleted(def, row) {
        return Err(ApiFailure::new(
            StatusCode::NOT_FOUND,
            "ENTITY_IS_DELETED",
            "entity is deleted",
        ));
    }
    Ok((slot, row.clone()))
}

fn record_response(
    version: ApiVersion,
    def: &ObjectDef,
    slot: u32,
    row: &Row,
    fields: &[usize],
) -> Response {
    let mut out = Vec::with_capacity(1024);
    RenderContext {
        version: &version.number(),
    }
    .write_record(&mut out, def, slot, row, fields);
    let mut response = json_bytes(StatusCode::OK, out);
    if let Value::DateTime(ms) = row[def.system.last_modified_date]
        && let Some(date) = chrono::DateTime::from_timestamp_millis(ms)
        && let Ok(value) =
            HeaderValue::from_str(&date.format("%a, %d %b %Y %H:%M:%S GMT").to_string())
    {
        response.headers_mut().insert(header::LAST_MODIFIED, value);
    }
    response
}

async fn get_record(
    State(org): State<Arc<Org>>,
    Extension(version): Extension<ApiVersion>,
    Path(path): Path<RecordPath>,
    Query(query): Query<FieldsQuery>,
) -> Result<Response, ApiFailure> {
    let schema = org.schema();
    let (object, def) = find_object(&schema, &path.object)?;
    let fields = selected_fields(def, query.fields.as_deref())?;
    let (slot, row) = live_record(&org, object, &path.id)?;
    Ok(record_response(version, def, slot, &row, &fields))
}

async fn update_record(
    State(org): State<Arc<Org>>,
    Extension(caller): Extension<Caller>,
    Path(path): Path<RecordPath>,
    JsonBody(body): JsonBody<JsonObject>,
) -> Result<Response, ApiFailure> {
    let schema = org.schema();
    let (object, _) = find_object(&schema, &path.object)?;
    let (slot, _) = live_record(&org, object, &path.id)?;
    let id = id_of(schema.object(object), slot);
    org.write(&caller, |txn| dml::update(txn, object, id, &body))?;
    Ok(no_content())
}

async fn delete_record(
    State(org): State<Arc<Org>>,
    Extension(caller): Extension<Caller>,
    Path(path): Path<RecordPath>,
) -> Result<Response, ApiFailure> {
    let schema = org.schema();
    let (object, _) = find_object(&schema, &path.object)?;
    let (slot, _) = live_record(&org, object, &path.id)?;
    let id = id_of(schema.object(object), slot);
    org.write(&caller, |txn| dml::delete(txn, id))?;
    Ok(no_content())
}

/// The 300 body for an external id that matches several records: their URLs.
fn multiple_choices(version: ApiVersion, def: &ObjectDef, ids: &[RecordId]) -> Response {
    let urls: Vec<String> = ids
        .iter()
        .map(|id| {
            format!(
                "/services/data/v{}/sobjects/{}/{id}",
                version.number(),
                def.name
            )
        })
        .collect();
    json_response(StatusCode::MULTIPLE_CHOICES, &urls)
}

async fn get_by_external_id(
    State(org): State<Arc<Org>>,
    Extension(version): Extension<ApiVersion>,
    Path(path): Path<ExternalPath>,
    Query(query): Query<FieldsQuery>,
) -> Result<Response, ApiFailure> {
    let schema = org.schema();
    let (object, def) = find_object(&schema, &path.object)?;
    // `/sobjects/{Type}/{id}/{blobField}`: the content of a base64 field.
    if let Some(id) = RecordId::parse(&path.field)
        && let Some((_, field)) = def
            .field(&path.value)
            .filter(|(_, f)| f.field_type == FieldType::Base64)
    {
        let (_, row) = live_record(&org, object, &id.to_string())?;
        let Some(Value::Text(encoded)) = field.column().map(|c| row[c].clone()) else {
            return Err(ApiFailure::not_found());
        };
        use base64::Engine;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(encoded.as_bytes())
            .unwrap_or_default();
        let mut response = (StatusCode::OK, bytes).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/octetstream"),
        );
        return Ok(response);
    }
    let fields = selected_fields(def, query.fields.as_deref())?;
    let snapshot = org.store.snapshot();
    match dml::find_by_external_id(
        &snapshot,
        snapshot.schema(),
        object,
        &path.field,
        &path.value,
    )? {
        Match::None => Err(ApiFailure::not_found()),
        Match::Many(ids) => Ok(multiple_choices(version, def, &ids)),
        Match::One(id) => {
            let (slot, row) = live_record(&org, object, &id.to_string())?;
            Ok(record_response(version, def, slot, &row, &fields))
        }
    }
}

#[derive(Deserialize)]
struct UpsertQuery {
    #[serde(rename = "updateOnly", default)]
    update_only: bool,
}

async fn upsert(
    State(org): State<Arc<Org>>,
    Extension(version): Extension<ApiVersion>,
    Extension(caller): Extension<Caller>,
    Path(path): Path<ExternalPath>,
    Query(query): Query<UpsertQuery>,
    JsonBody(body): JsonBody<JsonObject>,
) -> Result<Response, ApiFailure> {
    let schema = org.schema();
    let (object, def) = find_object(&schema, &path.object)?;
    if let Some((_, given)) = body
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(&path.field))
    {
        let matches = match given {
            serde_json::Value::String(s) => s == &path.value,
            other => *other == path.value,
        };
        if !matches && !given.is_null() {
            return Err(ApiFailure::bad_request(
                "INVALID_FIELD",
                format!(
                    "The value of field {} in the request body does not match the external ID in the URL",
                    path.field
                ),
            ));
        }
    }
    if query.update_only {
        let snapshot = org.store.snapshot();
        if dml::find_by_external_id(
            &snapshot,
            snapshot.schema(),
            object,
            &path.field,
            &path.value,
        )? == Match::None
        {
            return Err(ApiFailure::not_found());
        }
    }
    let outcome = org.write(&caller, |txn| {
        dml::upsert(txn, object, &path.field, &path.value, &body)
    })?;
    let (id, created) = match outcome {
        Ok(done) => done,
        Err(ids) => return Ok(multiple_choices(version, def, &ids)),
    };
    let id = Some(id.to_string());
    Ok(match (created, version.0 >= 46) {
        (true, true) => json_response(
            StatusCode::CREATED,
            &UpsertResult {
                id,
                success: true,
                errors: Vec::new(),
                created: true,
            },
        ),
        (true, false) => json_response(
            StatusCode::CREATED,
            &SaveResult {
                id,
                success: true,
                errors: Vec::new(),
            },
        ),
        (false, true) => json_response(
            StatusCode::OK,
            &UpsertResult {
                id,
                success: true,
                errors: Vec::new(),
                created: false,
            },
        ),
        (false, false) => no_content(),
    })
}

async fn delete_by_external_id(
    State(org): State<Arc<Org>>,
    Extension(version): Extension<ApiVersion>,
    Extension(caller): Extension<Caller>,
    Path(path): Path<ExternalPath>,
) -> Result<Response, ApiFailure> {
    let schema = org.schema();
    let (object, def) = find_object(&schema, &path.object)?;
    let snapshot = org.store.snapshot();
    match dml::find_by_external_id(
        &snapshot,
        snapshot.schema(),
        object,
        &path.field,
        &path.value,
    )? {
        Match::None => Err(ApiFailure::not_found()),
        Match::Many(ids) => Ok(multiple_choices(version, def, &ids)),
        Match::One(id) => {
            org.write(&caller, |txn| dml::delete(txn, id))?;
            Ok(no_content())
        }
    }
}

#[derive(Deserialize)]
pub(crate) struct WindowQuery {
    pub(crate) start: Option<String>,
    pub(crate) end: Option<String>,
}

/// The `[start, end)` window of a replication request, checked as Salesforce checks it.
fn window(query: &WindowQuery, max_days: i64) -> Result<(i64, i64), ApiFailure> {
    let parse = |name: &str, value: Option<&String>| {
        let text = value.ok_or_else(|| {
            ApiFailure::bad_request("MISSING_ARGUMENT", format!("{name} must be specified"))
        })?;
        value::parse_datetime(text).ok_or_else(|| {
            ApiFailure::bad_request(
                "INVALID_REPLICATION_DATE",
                format!("{name}: invalid date {text}"),
            )
        })
    };
    let start = parse("start", query.start.as_ref())?;
    let end = parse("end", query.end.as_ref())?;
    if end <= start {
        return Err(ApiFailure::bad_request(
            "INVALID_REPLICATION_DATE",
            "startDate must chronologically precede endDate by more than one minute",
        ));
    }
    if end - start > max_days * 86_400_000 {
        return Err(ApiFailure::bad_request(
            "INVALID_REPLICATION_DATE",
            format!("the requested range is longer than {max_days} days"),
        ));
    }
    Ok((start, end))
}

/// The end of a window, rounded down to the minute and no later than now.
fn covered(end: i64, now: i64) -> i64 {
    let end = end.min(now);
    end - end.rem_euclid(60_000)
}

async fn updated(
    State(org): State<Arc<Org>>,
    Path(path): Path<ObjectPath>,
    Query(query): Query<WindowQuery>,
) -> Result<Response, ApiFailure> {
    let schema = org.schema();
    let (object, def) = find_object(&schema, &path.object)?;
    let snapshot = org.store.snapshot();
    let result = updated_result(snapshot.table(object), def, &query, org.now())?;
    Ok(ok_json(&result))
}

/// The answer of `/sobjects/{Type}/updated` over one table: served by the route and by a
/// composite sub-request alike.
pub(crate) fn updated_result(
    table: &crate::store::Table,
    def: &ObjectDef,
    query: &WindowQuery,
    now: i64,
) -> Result<UpdatedResult, ApiFailure> {
    let (start, end) = window(query, 30)?;
    let latest = covered(end, now);
    let ids = table
        .rows()
        .filter(|(_, row)| !dml::is_deleted(def, row))
        .filter(|(_, row)| matches!(row[def.system.system_modstamp], Value::DateTime(ms) if ms >= start && ms < latest))
        .map(|(slot, _)| id_of(def, slot).to_string())
        .collect();
    Ok(UpdatedResult {
        ids,
        latest_date_covered: value::format_datetime(latest),
    })
}

async fn deleted(
    State(org): State<Arc<Org>>,
    Path(path): Path<ObjectPath>,
    Query(query): Query<WindowQuery>,
) -> Result<Response, ApiFailure> {
    let schema = org.schema();
    let (object, def) = find_object(&schema, &path.object)?;
    let snapshot = org.store.snapshot();
    let result = deleted_result(snapshot.table(object), def, &query, org.now())?;
    Ok(ok_json(&result))
}

/// The answer of `/sobjects/{Type}/deleted` over one table: served by the route and by a
/// composite sub-request alike.
pub(crate) fn deleted_result(
    table: &crate::store::Table,
    def: &ObjectDef,
    query: &WindowQuery,
    now: i64,
) -> Result<DeletedResult, ApiFailure> {
    let (start, end) = window(query, 30)?;
    let earliest = now - 15 * 86_400_000;
    if start < earliest - 86_400_000 {
        return Err(ApiFailure::bad_request(
            "INVALID_REPLICATION_DATE",
            format!(
                "startDate cannot be more than 15 days ago; the earliest date available is {}",
                value::format_datetime(earliest)
            ),
        ));
    }
    let latest = covered(end, now);
    // Salesforce documents `earliestDateAvailable` as the time of the last physical delete:
    // once the recycle bin was emptied, what was deleted before is gone from this list, and a
    // replica that last looked earlier must read the object again.
    let purged = table.purged_at().unwrap_or(i64::MIN);
    let earliest = (earliest - earliest.rem_euclid(60_000)).max(purged);
    let deleted_records = table
        .deletions()
        .filter(|d| d.at >= start && d.at < latest && d.at >= purged)
        .map(|d| DeletedRecord {
            id: id_of(def, d.slot).to_string(),
            deleted_date: value::format_datetime(d.at),
        })
        .collect();
    Ok(DeletedResult {
        deleted_records,
        earliest_date_available: value::format_datetime(earliest),
        latest_date_covered: value::format_datetime(latest),
    })
}
