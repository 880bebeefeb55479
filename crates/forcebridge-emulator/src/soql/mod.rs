//! SOQL and SOSL execution: `query`, `queryAll`, query locators, `search` and
//! `parameterizedSearch`, plus the query runs Bulk API 2.0 query jobs page through.
//!
//! A query goes text → tree (the `forcebridge-soql` parser) → [`plan`] (names resolved against
//! the schema, with Salesforce's errors) → [`exec`] (filter, sort, group, once, over a
//! snapshot) → a [`QueryRun`] whose pages [`page`] writes straight into bytes. A run keeps its
//! snapshot, so a cursor's pages stay consistent while the org changes. With `columns=true`
//! a query is planned but not run: [`columns`] describes its columns instead.
//!
//! This module does not write records and does not know Bulk jobs; it gives them [`run`] and
//! [`check_bulk_query`].

mod columns;
mod cursor;
mod dates;
mod eval;
mod exec;
mod frame;
mod page;
mod plan;
mod search;

use std::ops::Range;
use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::{Extension, Router};

pub(crate) use cursor::Cursors;

use crate::api_error::{ApiFailure, json_bytes};
use crate::http::{Caller, JsonBody};
use crate::ids::RecordId;
use crate::org::Org;
use crate::render::RenderContext;
use crate::schema::{ObjectIdx, Schema};
use crate::store::{OrgData, Snapshot};
use crate::value::{self, Value};
use crate::versions::ApiVersion;
use eval::{Env, Subject, Truth};
use exec::RunRows;
use plan::{Planner, QueryPlan, Shape};

/// Rows per page unless `Sforce-Query-Options: batchSize=N` asks for fewer.
pub(crate) const DEFAULT_BATCH_SIZE: usize = 2000;
/// The smallest batch size Salesforce honours.
pub(crate) const MIN_BATCH_SIZE: usize = 200;

/// A query executed against a snapshot; rows can be rendered in pages as JSON or CSV.
///
/// It owns its snapshot and the ordered result rows, so it can be paged through from any
/// thread long after the org has changed.
pub(crate) struct QueryRun {
    snapshot: Snapshot,
    schema: Arc<Schema>,
    plan: QueryPlan,
    rows: RunRows,
    now: i64,
}

const _: () = {
    const fn send_sync<T: Send + Sync + 'static>() {}
    send_sync::<QueryRun>();
    send_sync::<Cursors>();
};

impl std::fmt::Debug for QueryRun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QueryRun")
            .field("object", &self.object())
            .field("total_size", &self.total_size())
            .finish_non_exhaustive()
    }
}

/// Runs `soql` against `snapshot` as `user`; `all_rows` includes records in the recycle bin
/// (`queryAll`). Errors are Salesforce's (`MALFORMED_QUERY`, `INVALID_FIELD`, ...).
pub(crate) fn run(
    org: &Org,
    snapshot: Snapshot,
    user: RecordId,
    soql: &str,
    all_rows: bool,
) -> Result<QueryRun, ApiFailure> {
    let now = org.now();
    let schema = snapshot.schema().clone();
    let plan = plan_query(&schema, soql, user, now, all_rows)?;
    let env = Env {
        schema: &schema,
        data: &snapshot,
        now,
    };
    let rows = exec::execute(&env, &plan);
    let run = QueryRun {
        snapshot,
        schema,
        plan,
        rows,
        now,
    };
    tracing::debug!(
        object = run.object(),
        n_records = run.total_size(),
        all_rows,
        "query ran"
    );
    Ok(run)
}

fn plan_query(
    schema: &Schema,
    soql: &str,
    user: RecordId,
    now: i64,
    all_rows: bool,
) -> Result<QueryPlan, ApiFailure> {
    let parse = forcebridge_soql::parse_query(soql);
    if let Some(first) = parse.errors.first() {
        return Err(frame::parse_failure("MALFORMED_QUERY", soql, first));
    }
    Planner {
        schema,
        text: soql,
        today: value::date_of_millis(now),
        user,
        all_rows,
    }
    .plan(&parse.tree)
}

/// Bulk API 2.0 refuses some SOQL: GROUP BY, OFFSET, TYPEOF, aggregate functions incl COUNT(),
/// parent-to-child subqueries, FIELDS(), compound (address/location) fields. Return Salesforce's error.
///
/// Names are checked first (an unknown field is `INVALID_FIELD` here too); then the first
/// unsupported feature is a 400 `API_ERROR`. The messages for compound fields and subqueries
/// are Salesforce's; the others follow their pattern (UNVERIFIED).
pub(crate) fn check_bulk_query(org: &Org, soql: &str) -> Result<(), ApiFailure> {
    let plan = plan_query(&org.schema(), soql, org.admin(), org.now(), false)?;
    match plan.bulk_problems.first() {
        Some(problem) => Err(ApiFailure::bad_request("API_ERROR", *problem)),
        None => Ok(()),
    }
}

impl QueryRun {
    /// The rows the query matched (after LIMIT and OFFSET); the number behind `COUNT()`.
    pub(crate) fn total_size(&self) -> usize {
        match &self.rows {
            RunRows::Records { slots, .. } => slots.len(),
            RunRows::Groups(rows) => rows.len(),
            RunRows::Count(n) => *n,
        }
    }

    /// The queried object's name (`AggregateResult` rows still name their source object).
    pub(crate) fn object(&self) -> &str {
        &self.schema.object(self.plan.object).name
    }

    fn env(&self) -> Env<'_> {
        Env {
            schema: &self.schema,
            data: &self.snapshot,
            now: self.now,
        }
    }

    /// The records in `range` as JSON objects, comma-separated, without enclosing brackets
    /// (a page wraps them in `"records":[...]`). `COUNT()` queries have no records.
    pub(crate) fn write_json_records(
        &self,
        out: &mut Vec<u8>,
        range: Range<usize>,
        version: ApiVersion,
    ) {
        let range = self.clamp(range);
        let version = version.number();
        let env = self.env();
        match (&self.rows, &self.plan.shape) {
            (
                RunRows::Records { slots, children },
                Shape::Records {
                    nodes,
                    children: child_plans,
                    ..
                },
            ) => {
                let writer = page::RecordWriter {
                    env,
                    context: RenderContext { version: &version },
                };
                writer.write_records(
                    out,
                    self.plan.object,
                    &slots[range],
                    nodes,
                    child_plans,
                    children,
                );
            }
            (RunRows::Groups(rows), Shape::Aggregate(agg)) => {
                page::write_groups(out, &env, agg, &rows[range]);
            }
            _ => {}
        }
    }

    /// The CSV header: SELECT order, relationship paths dotted (`Account.Name`), aliases and
    /// `exprN` for computed columns.
    pub(crate) fn csv_header(&self) -> Vec<String> {
        match &self.plan.shape {
            Shape::Records { columns, .. } => columns.iter().map(|c| c.header.clone()).collect(),
            Shape::Aggregate(agg) => agg.columns.iter().map(|c| c.name.clone()).collect(),
            Shape::Count(_) => Vec::new(),
        }
    }

    /// The CSV header line: [`QueryRun::csv_header`], every name double-quoted, ended by
    /// `line_ending`.
    pub(crate) fn write_csv_header(&self, out: &mut Vec<u8>, delimiter: u8, line_ending: &str) {
        page::write_csv_row_of_text(out, &self.csv_header(), delimiter);
        out.extend_from_slice(line_ending.as_bytes());
    }

    /// The rows in `range` as CSV lines, every cell double-quoted (Bulk API 2.0's form), each
    /// line ended by `line_ending`.
    pub(crate) fn write_csv_rows(
        &self,
        out: &mut Vec<u8>,
        range: Range<usize>,
        delimiter: u8,
        line_ending: &str,
    ) {
        let range = self.clamp(range);
        let env = self.env();
        match (&self.rows, &self.plan.shape) {
            (RunRows::Records { slots, .. }, Shape::Records { columns, .. }) => {
                page::write_csv_records(
                    out,
                    &env,
                    self.plan.object,
                    &slots[range],
                    columns,
                    delimiter,
                    line_ending,
                );
            }
            (RunRows::Groups(rows), Shape::Aggregate(agg)) => {
                page::write_csv_groups(out, &env, agg, &rows[range], delimiter, line_ending);
            }
            _ => {}
        }
    }

    fn clamp(&self, range: Range<usize>) -> Range<usize> {
        let total = match &self.rows {
            RunRows::Count(_) => 0,
            _ => self.total_size(),
        };
        let end = range.end.min(total);
        range.start.min(end)..end
    }

    /// A page as `GET /query` returns it: `{totalSize, done, nextRecordsUrl?, records}`.
    /// `cursor` is the open cursor's number when more pages follow.
    fn write_page(
        &self,
        out: &mut Vec<u8>,
        start: usize,
        batch_size: usize,
        version: ApiVersion,
        cursor: Option<u64>,
    ) {
        let total = self.total_size();
        let records_total = match self.rows {
            RunRows::Count(_) => 0,
            _ => total,
        };
        let end = start.saturating_add(batch_size).min(records_total);
        let done = end >= records_total;
        out.extend_from_slice(b"{\"totalSize\":");
        out.extend_from_slice(total.to_string().as_bytes());
        out.extend_from_slice(if done {
            b",\"done\":true"
        } else {
            b",\"done\":false"
        });
        if let (false, Some(number)) = (done, cursor) {
            out.extend_from_slice(b",\"nextRecordsUrl\":\"/services/data/v");
            out.extend_from_slice(version.number().as_bytes());
            out.extend_from_slice(b"/query/");
            page::locator_id(number).write_18(out);
            out.push(b'-');
            out.extend_from_slice(end.to_string().as_bytes());
            out.push(b'"');
        }
        out.extend_from_slice(b",\"records\":[");
        self.write_json_records(out, start..end, version);
        out.extend_from_slice(b"]}");
    }
}

/// Whether `condition` holds for a record with `values` (validation rules).
///
/// The record may not be stored yet, so its own fields are read from `values`; relationship
/// paths are followed through `data`. A condition that does not fit the object (an unknown
/// field, say) never holds, and the problem is logged. Relative date literals use the system
/// clock, as this has no org to ask.
pub(crate) fn condition_holds(
    schema: &Schema,
    data: &OrgData,
    object: ObjectIdx,
    slot: u32,
    values: &[Value],
    condition: &forcebridge_soql::Condition,
) -> bool {
    let now = value::now_millis();
    let planner = Planner {
        schema,
        text: "",
        today: value::date_of_millis(now),
        user: RecordId::new("005", 1),
        all_rows: true,
    };
    let plan = match planner.plan_condition(object, condition) {
        Ok(plan) => plan,
        Err(failure) => {
            tracing::warn!(
                object = %schema.object(object).name,
                error = ?failure.errors.first().map(|e| &e.message),
                "a validation rule does not fit its object and never fires"
            );
            return false;
        }
    };
    let env = Env { schema, data, now };
    let subject = Subject::Record {
        object,
        slot,
        values,
    };
    env.holds(subject, &plan) == Truth::True
}

/// Runs a SOQL query against `snapshot` on behalf of `user` and returns the first page exactly
/// as `GET /query` would (`{totalSize, done, nextRecordsUrl?, records}`), opening a cursor for
/// the remaining pages. Composite sub-requests use it to query inside their transaction.
pub(crate) fn query_json(
    org: &Org,
    snapshot: Snapshot,
    user: RecordId,
    version: ApiVersion,
    soql: &str,
    all_rows: bool,
) -> Result<serde_json::Value, ApiFailure> {
    let bytes = first_page(
        org,
        snapshot,
        user,
        version,
        soql,
        all_rows,
        DEFAULT_BATCH_SIZE,
    )?;
    serde_json::from_slice(&bytes).map_err(|e| {
        tracing::error!(error = %e, "a query page is not valid JSON");
        internal_error()
    })
}

/// Runs a query and writes its first page, opening a cursor when more pages follow.
fn first_page(
    org: &Org,
    snapshot: Snapshot,
    user: RecordId,
    version: ApiVersion,
    soql: &str,
    all_rows: bool,
    batch_size: usize,
) -> Result<Vec<u8>, ApiFailure> {
    let run = Arc::new(run(org, snapshot, user, soql, all_rows)?);
    let more = !matches!(run.rows, RunRows::Count(_)) && run.total_size() > batch_size;
    let cursor = more.then(|| org.cursors.open(run.clone(), user, batch_size, org.now()));
    let mut out = Vec::with_capacity(page_capacity(&run, batch_size));
    run.write_page(&mut out, 0, batch_size, version, cursor);
    Ok(out)
}

/// A guess at a page's size, so big pages are not copied while they grow.
fn page_capacity(run: &QueryRun, batch_size: usize) -> usize {
    (run.total_size().min(batch_size) * 256).clamp(256, 4 << 20)
}

fn internal_error() -> ApiFailure {
    ApiFailure::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "UNKNOWN_EXCEPTION",
        "An unexpected error occurred. Please include this ErrorId if you contact support",
    )
}

fn invalid_locator() -> ApiFailure {
    // UNVERIFIED wording.
    ApiFailure::bad_request("INVALID_QUERY_LOCATOR", "invalid query locator")
}

pub(crate) fn routes() -> Router<Arc<Org>> {
    Router::new()
        .route("/services/data/{version}/query", get(query))
        // The Tooling API's query resource, answered as the standard one over the objects this
        // org has. UNVERIFIED beyond its shape: a real org's Tooling API has objects of its own
        // (ApexClass, EntityDefinition, FieldDefinition, ...) that the local org does not, and
        // its next pages live under `/tooling/query/`, served here too.
        .route("/services/data/{version}/tooling/query", get(query))
        .route(
            "/services/data/{version}/tooling/query/{locator}",
            get(query_more),
        )
        .route("/services/data/{version}/queryAll", get(query_all))
        .route("/services/data/{version}/query/{locator}", get(query_more))
        .route(
            "/services/data/{version}/queryAll/{locator}",
            get(query_more),
        )
        .route("/services/data/{version}/search", get(search_get))
        .route(
            "/services/data/{version}/parameterizedSearch",
            get(parameterized_get).post(parameterized_post),
        )
}

/// The batch size a request asks for: `Sforce-Query-Options: batchSize=500`, kept within
/// 200..=2000.
fn requested_batch_size(headers: &HeaderMap) -> Option<usize> {
    let options = headers.get("sforce-query-options")?.to_str().ok()?;
    options.split([',', ';']).find_map(|option| {
        let (name, value) = option.split_once('=')?;
        if !name.trim().eq_ignore_ascii_case("batchSize") {
            return None;
        }
        let n: usize = value.trim().parse().ok()?;
        Some(n.clamp(MIN_BATCH_SIZE, DEFAULT_BATCH_SIZE))
    })
}

/// The decoded parameters of a query string (`+` is a space).
fn parameters(raw: Option<&str>) -> Vec<(String, String)> {
    raw.map(|q| {
        form_urlencoded::parse(q.as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect()
    })
    .unwrap_or_default()
}

fn parameter<'p>(params: &'p [(String, String)], name: &str) -> Option<&'p str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// Runs `work` on the blocking pool, so one large query does not stall other clients.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ApiFailure> + Send + 'static,
) -> Result<T, ApiFailure> {
    tokio::task::spawn_blocking(work).await.map_err(|e| {
        tracing::error!(error = %e, "a query task failed");
        internal_error()
    })?
}

async fn query(
    State(org): State<Arc<Org>>,
    Extension(version): Extension<ApiVersion>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiFailure> {
    query_resource(org, version, caller, headers, raw, false).await
}

async fn query_all(
    State(org): State<Arc<Org>>,
    Extension(version): Extension<ApiVersion>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiFailure> {
    query_resource(org, version, caller, headers, raw, true).await
}

async fn query_resource(
    org: Arc<Org>,
    version: ApiVersion,
    caller: Caller,
    headers: HeaderMap,
    raw: Option<String>,
    all_rows: bool,
) -> Result<Response, ApiFailure> {
    let params = parameters(raw.as_deref());
    let user = caller.session.user;
    if let Some(explain) = parameter(&params, "explain") {
        let explain = explain.to_string();
        let body = blocking(move || explain_plan(&org, user, &explain)).await?;
        return Ok(json_bytes(StatusCode::OK, body));
    }
    let Some(soql) = parameter(&params, "q").map(str::to_string) else {
        // UNVERIFIED wording.
        return Err(ApiFailure::bad_request(
            "MALFORMED_QUERY",
            "A query string has to be specified: pass the SOQL as the q parameter",
        ));
    };
    if parameter(&params, "columns").is_some_and(|v| v.eq_ignore_ascii_case("true")) {
        let body = blocking(move || {
            let schema = org.schema();
            let plan = plan_query(&schema, &soql, user, org.now(), all_rows)?;
            serde_json::to_vec(&columns::describe(&schema, &plan)).map_err(|e| {
                tracing::error!(error = %e, "query columns did not serialize");
                internal_error()
            })
        })
        .await?;
        return Ok(json_bytes(StatusCode::OK, body));
    }
    let batch_size = requested_batch_size(&headers).unwrap_or(DEFAULT_BATCH_SIZE);
    let snapshot = org.store.snapshot();
    let body =
        blocking(move || first_page(&org, snapshot, user, version, &soql, all_rows, batch_size))
            .await?;
    Ok(json_bytes(StatusCode::OK, body))
}

async fn query_more(
    State(org): State<Arc<Org>>,
    Extension(version): Extension<ApiVersion>,
    headers: HeaderMap,
    Path((_, locator)): Path<(String, String)>,
) -> Result<Response, ApiFailure> {
    let (resumed, offset) = org
        .cursors
        .resume(&locator, org.now())
        .ok_or_else(invalid_locator)?;
    let batch_size = requested_batch_size(&headers).unwrap_or(resumed.batch_size);
    let run = resumed.run.clone();
    let number = resumed.number;
    if offset.saturating_add(batch_size) >= run.total_size() {
        org.cursors.finish(number);
    }
    let body = blocking(move || {
        let mut out = Vec::with_capacity(page_capacity(&run, batch_size));
        run.write_page(&mut out, offset, batch_size, version, Some(number));
        Ok(out)
    })
    .await?;
    Ok(json_bytes(StatusCode::OK, body))
}

/// `GET /query?explain=`: a plausible plan. An equality (or IN) on an indexed field (Id, name
/// fields, lookups, unique and external ids, the audit dates) leads with an index; anything
/// else is a table scan, with a note naming the unindexed filter fields.
fn explain_plan(org: &Org, user: RecordId, soql: &str) -> Result<Vec<u8>, ApiFailure> {
    let snapshot = org.store.snapshot();
    let parse = forcebridge_soql::parse_query(soql);
    if let Some(first) = parse.errors.first() {
        return Err(frame::parse_failure("MALFORMED_QUERY", soql, first));
    }
    let run = run(org, snapshot.clone(), user, soql, false)?;
    let schema = snapshot.schema();
    let def = schema.object(run.plan.object);
    let sobject_cardinality = snapshot.table(run.plan.object).live_count();
    let (indexed, unindexed) = filter_fields(&parse.tree, def);
    let cardinality = run.total_size();
    let (operation, cost) = if indexed.is_empty() {
        ("TableScan", 0.65 + sobject_cardinality as f64 / 150_000.0)
    } else {
        (
            "Index",
            (cardinality as f64 / (sobject_cardinality.max(1) as f64 * 0.1)).min(1.0) * 0.5,
        )
    };
    let notes: Vec<serde_json::Value> = if unindexed.is_empty() {
        Vec::new()
    } else {
        vec![serde_json::json!({
            "description": "Not considering filter for optimization because unindexed",
            "fields": unindexed,
            "tableEnumOrId": def.name,
        })]
    };
    let body = serde_json::json!({
        "plans": [{
            "cardinality": cardinality,
            "fields": indexed,
            "leadingOperationType": operation,
            "notes": notes,
            "relativeCost": cost,
            "sobjectCardinality": sobject_cardinality,
            "sobjectType": def.name,
        }]
    });
    serde_json::to_vec(&body).map_err(|_| internal_error())
}

/// The top-level AND-ed filter fields of a query, split into indexed and unindexed.
fn filter_fields(
    query: &forcebridge_soql::Query,
    def: &crate::schema::ObjectDef,
) -> (Vec<String>, Vec<String>) {
    use forcebridge_soql::{Condition, Expr, Operator};
    let mut indexed = Vec::new();
    let mut unindexed = Vec::new();
    let mut stack: Vec<&Condition> = query.where_clause.iter().collect();
    while let Some(condition) = stack.pop() {
        match condition {
            Condition::And { operands, .. } => stack.extend(operands.iter()),
            Condition::Comparison(c) => {
                let Expr::Field(path) = &c.lhs else { continue };
                let [segment] = path.segments.as_slice() else {
                    continue;
                };
                let Some((_, field)) = def.field(&segment.name) else {
                    continue;
                };
                let index_friendly = matches!(c.op, Operator::Eq | Operator::In)
                    || matches!(
                        field.name.as_str(),
                        "CreatedDate" | "SystemModstamp" | "LastModifiedDate"
                    );
                let is_indexed = field.name == "Id"
                    || field.name_field
                    || field.is_reference()
                    || field.unique
                    || field.external_id
                    || matches!(
                        field.name.as_str(),
                        "CreatedDate" | "SystemModstamp" | "LastModifiedDate"
                    );
                if is_indexed && index_friendly {
                    indexed.push(field.name.clone());
                } else {
                    unindexed.push(field.name.clone());
                }
            }
            _ => {}
        }
    }
    (indexed, unindexed)
}

async fn search_get(
    State(org): State<Arc<Org>>,
    Extension(version): Extension<ApiVersion>,
    Extension(caller): Extension<Caller>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiFailure> {
    let params = parameters(raw.as_deref());
    let Some(sosl) = parameter(&params, "q").map(str::to_string) else {
        return Err(ApiFailure::bad_request(
            "MALFORMED_SEARCH",
            "No search term found. The search term must be enclosed in braces.",
        ));
    };
    let snapshot = org.store.snapshot();
    let user = caller.session.user;
    let body = blocking(move || search::search(&org, &snapshot, user, version, &sosl)).await?;
    Ok(json_bytes(StatusCode::OK, body))
}

async fn parameterized_get(
    State(org): State<Arc<Org>>,
    Extension(version): Extension<ApiVersion>,
    Extension(caller): Extension<Caller>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiFailure> {
    let params = parameters(raw.as_deref());
    let request = search::ParameterizedSearch::from_query(&params)?;
    let snapshot = org.store.snapshot();
    let user = caller.session.user;
    let body = blocking(move || request.run(&org, &snapshot, user, version)).await?;
    Ok(json_bytes(StatusCode::OK, body))
}

async fn parameterized_post(
    State(org): State<Arc<Org>>,
    Extension(version): Extension<ApiVersion>,
    Extension(caller): Extension<Caller>,
    JsonBody(body): JsonBody<serde_json::Value>,
) -> Result<Response, ApiFailure> {
    let request = search::ParameterizedSearch::from_json(&body)?;
    let snapshot = org.store.snapshot();
    let user = caller.session.user;
    let body = blocking(move || request.run(&org, &snapshot, user, version)).await?;
    Ok(json_bytes(StatusCode::OK, body))
}

#[cfg(test)]
mod tests;
