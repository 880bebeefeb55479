//! The read tools: `query`, `get_record`, `describe_object`, `search`, `list_objects`,
//! `get_account_info` and `list_contacts`, and the policy check of what a statement reads.
//! The shortcuts build their SOQL with the SOQL crate's builder, so no argument can change a
//! statement's structure.

use std::sync::Arc;

use forcebridge_catalog::{FieldType, Object};
use forcebridge_soql::analysis::QueryInfo;
use forcebridge_soql::builder::{QueryBuilder, SearchBuilder, field};
use forcebridge_soql::{Condition, Direction, Expr, SelectItem};
use futures_util::TryStreamExt;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::rows::{Order, RowsPage, cost, next_rows, record_json, resume, row_budget};
use super::{Call, Effect, Output, Spec, ToolError, spec};
use crate::handles::OpenQuery;
use crate::server::{Core, check_record_id};

pub(super) fn specs() -> Vec<Spec> {
    vec![
        spec::<QueryArgs, RowsOutput>(
            "query",
            "Run a SOQL query",
            Effect::Read,
            "Runs a SOQL SELECT statement and returns its rows. The statement is checked before it is \
             sent; an invalid one comes back as an error with the position of the problem. Answers \
             hold at most `maxRows` rows and a fixed number of bytes; when more rows match, pass \
             `nextCursor` back as `cursor` to read on. Name the fields you need (FIELDS(ALL) is \
             slow and may be refused).",
        ),
        spec::<GetRecordArgs, RecordOutput>(
            "get_record",
            "Get a record",
            Effect::Read,
            "Reads one record by object and id. Without `fields`, returns every field this server \
             allows for the object (long text is cut).",
        ),
        spec::<DescribeArgs, DescribeOutput>(
            "describe_object",
            "Describe an object",
            Effect::Read,
            "The fields of an object: API name, type, whether a create needs it, whether it can be \
             set on create or update, picklist values, and what a reference points to; plus the \
             object's child relationships (for subqueries). Call it before writing records or \
             querying fields you are not sure of.",
        ),
        spec::<SearchArgs, SearchOutput>(
            "search",
            "Search records (SOSL)",
            Effect::Read,
            "Full-text search across objects. Either give `text` (plain words, nothing read as \
             search syntax) and the `objects` to return, or a whole SOSL `sosl` statement \
             (FIND {...} IN ... RETURNING ...), which is checked before it is sent.",
        ),
        spec::<ListObjectsArgs, ListObjectsOutput>(
            "list_objects",
            "List objects",
            Effect::Read,
            "Lists the org's objects (API name and label) this server allows, optionally only \
             those whose name or label contains `filter`.",
        ),
        spec::<AccountInfoArgs, AccountInfoOutput>(
            "get_account_info",
            "Get account overview",
            Effect::Read,
            "One account with its contacts, open opportunities and most recent cases, in one call. \
             Give `accountId`, or `name` (exact account name).",
        ),
        spec::<ListContactsArgs, RowsOutput>(
            "list_contacts",
            "List contacts",
            Effect::Read,
            "Contacts filtered by account id, name (contains) and/or email (exact), sorted by last \
             name, a page at a time: pass `nextCursor` back as `cursor` for the next page.",
        ),
    ]
}

// ---------------------------------------------------------------- query

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct QueryArgs {
    /// A SOQL SELECT statement, e.g. `SELECT Id, Name FROM Account WHERE Industry = 'Energy'
    /// ORDER BY Name`. Omit it when passing `cursor`.
    #[serde(default)]
    soql: Option<String>,
    /// The `nextCursor` of an earlier answer, to read the next rows of that query.
    #[serde(default)]
    cursor: Option<String>,
    /// The most rows to return in this answer (the server caps it).
    #[serde(default)]
    max_rows: Option<u32>,
}

/// Rows of a query, a page at a time.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub(super) struct RowsOutput {
    /// The object queried.
    object: String,
    /// How many rows the whole query matches.
    total_size: u64,
    /// The rows of this answer, as JSON objects keyed by field name (parents nested).
    rows: Vec<Map<String, Value>>,
    /// Rows returned by earlier answers of this query.
    rows_before: u64,
    /// Pass it back as `cursor` to read the next rows; absent when there are none.
    #[serde(skip_serializing_if = "Option::is_none")]
    next_cursor: Option<String>,
    /// `rows` or `bytes`: the cap that ended this answer before the result did.
    #[serde(skip_serializing_if = "Option::is_none")]
    limited_by: Option<String>,
}

fn rows_output(object: String, page: RowsPage) -> Output {
    let n = page.rows.len();
    let first = page.returned_before + 1;
    let summary = if n == 0 {
        format!("No rows ({} in all).", page.total_size)
    } else {
        format!(
            "Rows {first}-{} of {} from {object}.{}",
            page.returned_before + n as u64,
            page.total_size,
            if page.next_cursor.is_some() {
                " More rows: pass nextCursor as cursor."
            } else {
                ""
            }
        )
    };
    Output::new(
        RowsOutput {
            object,
            total_size: page.total_size,
            rows: page.rows,
            rows_before: page.returned_before,
            next_cursor: page.next_cursor,
            limited_by: page.limited_by.map(str::to_string),
        },
        summary,
    )
}

fn max_rows(core: &Core, asked: Option<u32>) -> usize {
    asked
        .unwrap_or(core.limits.default_rows)
        .clamp(1, core.limits.max_rows) as usize
}

pub(super) async fn query(call: &mut Call<'_>, args: QueryArgs) -> Result<Output, ToolError> {
    let core = call.core;
    let max_rows = max_rows(core, args.max_rows);
    let budget = row_budget(core.limits.max_bytes);
    let open = match (args.soql, args.cursor) {
        (_, Some(cursor)) => resume(core, &cursor, "query")?,
        (Some(soql), None) => {
            let parse = forcebridge_soql::parse_query(&soql);
            if let Some(problem) = forcebridge_soql::check_length(&soql) {
                return Err(ToolError::new(format!(
                    "the statement was not sent: {}",
                    problem.message
                )));
            }
            if !parse.is_ok() {
                return Err(ToolError::new(format!(
                    "the statement is not valid SOQL, nothing was sent; fix it and call again:\n{}",
                    parse.render_errors(&soql)
                )));
            }
            let info = QueryInfo::of(&parse.tree);
            check_reads(core, &info).await?;
            OpenQuery::new(core.client.query(soql).pages(), "query", info.object)
                .in_order(Order::of_query(&parse.tree))
        }
        (None, None) => {
            return Err(ToolError::new(
                "give `soql` (a SELECT statement) or `cursor`",
            ));
        }
    };
    call.audit.object = Some(open.object.clone());
    let object = open.object.clone();
    let page = next_rows(core, open, max_rows, budget).await?;
    Ok(rows_output(object, page))
}

/// Refuses a query that reads an object or field the policy does not allow, anywhere: the
/// SELECT list, WHERE, ORDER BY, GROUP BY, subqueries and semi-joins.
pub(crate) async fn check_reads(core: &Core, info: &QueryInfo) -> Result<(), ToolError> {
    if core.policy.is_open() {
        return Ok(());
    }
    let object = core.object(&info.object).await?;
    check_level(core, info, object).await
}

async fn check_level(core: &Core, info: &QueryInfo, object: Arc<Object>) -> Result<(), ToolError> {
    if core.policy.has_field_rules() && !info.field_sets.is_empty() {
        return Err(ToolError::refused(format!(
            "FIELDS(...) cannot be checked against this server's field rules: name the fields of {} you need",
            object.name
        )));
    }
    for f in &info.fields {
        check_path(core, &object, &f.path).await?;
    }
    for sub in &info.subqueries {
        let child = object
            .child_relationships
            .iter()
            .find(|c| {
                c.name
                    .as_deref()
                    .is_some_and(|n| n.eq_ignore_ascii_case(&sub.object))
            })
            .map(|c| c.child_object.clone())
            .ok_or_else(|| {
                ToolError::new(format!(
                    "{} has no child relationship {}: see describe_object",
                    object.name, sub.object
                ))
            })?;
        let child = core.object(&child).await?;
        Box::pin(check_level(core, sub, child)).await?;
    }
    for join in &info.semi_joins {
        let joined = core.object(&join.object).await?;
        Box::pin(check_level(core, join, joined)).await?;
    }
    Ok(())
}

/// Checks one field path read from `object`: every object it passes through and its last
/// field.
pub(crate) async fn check_path(
    core: &Core,
    object: &Arc<Object>,
    path: &[String],
) -> Result<(), ToolError> {
    let mut path = path;
    // `SELECT Account.Name FROM Account`: a leading object name, not a relationship.
    if path.len() > 1
        && path[0].eq_ignore_ascii_case(&object.name)
        && relationship_targets(object, &path[0]).is_none()
    {
        path = &path[1..];
    }
    let Some((last, hops)) = path.split_last() else {
        return Ok(());
    };
    let mut current = vec![object.clone()];
    for hop in hops {
        let mut next = Vec::new();
        for o in &current {
            let Some(targets) = relationship_targets(o, hop) else {
                return Err(ToolError::new(format!(
                    "{} has no relationship {hop}: see describe_object",
                    o.name
                )));
            };
            for target in targets.iter().take(8) {
                next.push(core.object(target).await?);
            }
        }
        current = next;
    }
    for o in &current {
        if !core.policy.field_allowed(&o.name, last) {
            return Err(ToolError::refused(format!(
                "field {}.{last} is not allowed by this server's policy",
                o.name
            )));
        }
    }
    Ok(())
}

fn relationship_targets(object: &Object, name: &str) -> Option<Vec<String>> {
    object.fields.iter().find_map(|f| {
        let r = f.reference.as_ref()?;
        r.relationship_name
            .as_deref()
            .is_some_and(|n| n.eq_ignore_ascii_case(name))
            .then(|| r.targets.clone())
    })
}

// ---------------------------------------------------------------- get_record

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct GetRecordArgs {
    /// The object's API name, e.g. `Account` or `Invoice__c`.
    object: String,
    /// The record id (15 or 18 characters).
    id: String,
    /// Field API names to return; all allowed fields when omitted.
    #[serde(default)]
    fields: Option<Vec<String>>,
}

/// One record.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub(super) struct RecordOutput {
    object: String,
    id: String,
    /// The record's fields, by API name.
    record: Map<String, Value>,
    /// Fields left out to keep the answer under the server's byte cap.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    omitted_fields: Vec<String>,
}

/// The fields a default read returns: every allowed field but compound ones (their parts
/// are there) and binary ones.
fn default_fields(core: &Core, object: &Object) -> Vec<String> {
    object
        .fields
        .iter()
        .filter(|f| {
            !f.field_type.is_compound()
                && f.field_type != FieldType::Base64
                && core.policy.field_allowed(&object.name, &f.name)
        })
        .map(|f| f.name.clone())
        .collect()
}

/// Canonical names of `names` on `object`, each allowed by the policy.
pub(crate) fn known_fields(
    core: &Core,
    object: &Object,
    names: &[String],
) -> Result<Vec<String>, ToolError> {
    let mut out = Vec::new();
    let mut unknown = Vec::new();
    for name in names {
        match object.field(name) {
            Some(f) => {
                if !core.policy.field_allowed(&object.name, &f.name) {
                    return Err(ToolError::refused(format!(
                        "field {}.{} is not allowed by this server's policy",
                        object.name, f.name
                    )));
                }
                out.push(f.name.clone());
            }
            None => unknown.push(name.as_str()),
        }
    }
    if !unknown.is_empty() {
        return Err(ToolError::new(format!(
            "unknown field{} {} on {}: call describe_object for its fields",
            if unknown.len() == 1 { "" } else { "s" },
            unknown.join(", "),
            object.name
        )));
    }
    Ok(out)
}

pub(super) async fn get_record(
    call: &mut Call<'_>,
    args: GetRecordArgs,
) -> Result<Output, ToolError> {
    let core = call.core;
    check_record_id(&args.id)?;
    let object = core.object(&args.object).await?;
    call.audit.object = Some(object.name.clone());
    call.audit.record_ids = vec![args.id.clone()];
    let fields = match &args.fields {
        Some(names) if !names.is_empty() => {
            let mut fields = known_fields(core, &object, names)?;
            if !fields.iter().any(|f| f == "Id") {
                fields.insert(0, "Id".to_string());
            }
            fields
        }
        _ => default_fields(core, &object),
    };
    let soql = QueryBuilder::select(&fields)
        .from(&object.name)
        .filter(field("Id").eq(args.id.as_str()))
        .limit(1)
        .build()
        .map_err(|e| ToolError::new(format!("cannot build the query: {e}")))?;
    let record = core
        .client
        .query(soql)
        .fetch_optional()
        .await
        .map_err(|e| ToolError::client(&format!("reading {} {}", object.name, args.id), &e))?
        .ok_or_else(|| ToolError::new(format!("no {} with id {}", object.name, args.id)))?;
    let mut record = record_json(&record);
    let mut omitted = Vec::new();
    let budget = row_budget(core.limits.max_bytes);
    while cost(&record) > budget {
        match record.keys().next_back().cloned() {
            Some(last) if last != "Id" => {
                record.remove(&last);
                omitted.push(last);
            }
            _ => break,
        }
    }
    omitted.reverse();
    let summary = format!("{} {} ({} fields).", object.name, args.id, record.len());
    Ok(Output::new(
        RecordOutput {
            object: object.name.clone(),
            id: args.id,
            record,
            omitted_fields: omitted,
        },
        summary,
    ))
}

// ---------------------------------------------------------------- describe_object

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct DescribeArgs {
    /// The object's API name, e.g. `Opportunity`.
    object: String,
}

/// An object's fields and relationships, compactly.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub(super) struct DescribeOutput {
    name: String,
    label: String,
    custom: bool,
    createable: bool,
    updateable: bool,
    deletable: bool,
    queryable: bool,
    fields: Vec<FieldOutput>,
    /// Child relationships, for subqueries: `(SELECT ... FROM <name>)`.
    child_relationships: Vec<ChildOutput>,
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
struct FieldOutput {
    name: String,
    label: String,
    /// The type, with length or precision: `string(80)`, `currency(18,2)`, `reference(Account)`.
    #[serde(rename = "type")]
    field_type: String,
    /// A create must give a value.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    required: bool,
    createable: bool,
    updateable: bool,
    /// Picklist values (active ones), when the field is a picklist.
    #[serde(skip_serializing_if = "Option::is_none")]
    picklist: Option<Vec<String>>,
    /// Only the picklist's values are accepted.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    restricted: bool,
    /// For a reference: the relationship name to use in queries (`Account` in `Account.Name`).
    #[serde(skip_serializing_if = "Option::is_none")]
    relationship: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    external_id: bool,
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
struct ChildOutput {
    name: String,
    object: String,
    field: String,
}

pub(super) async fn describe_object(
    call: &mut Call<'_>,
    args: DescribeArgs,
) -> Result<Output, ToolError> {
    let core = call.core;
    let object = core.object(&args.object).await?;
    call.audit.object = Some(object.name.clone());
    let fields: Vec<FieldOutput> = object
        .fields
        .iter()
        .filter(|f| core.policy.field_allowed(&object.name, &f.name))
        .map(|f| FieldOutput {
            name: f.name.clone(),
            label: f.label.clone(),
            field_type: f.type_summary(),
            required: f.required_on_create,
            createable: f.createable,
            updateable: f.updateable,
            picklist: f.picklist.as_ref().map(|p| {
                p.values
                    .iter()
                    .filter(|v| v.active)
                    .map(|v| v.value.clone())
                    .collect()
            }),
            restricted: f.picklist.as_ref().is_some_and(|p| p.restricted),
            relationship: f
                .reference
                .as_ref()
                .and_then(|r| r.relationship_name.clone()),
            external_id: f.external_id,
        })
        .collect();
    let child_relationships: Vec<ChildOutput> = object
        .child_relationships
        .iter()
        .filter(|c| core.policy.object_allowed(&c.child_object))
        .filter_map(|c| {
            Some(ChildOutput {
                name: c.name.clone()?,
                object: c.child_object.clone(),
                field: c.field.clone(),
            })
        })
        .collect();
    let summary = format!(
        "{} ({}): {} fields, {} child relationships.",
        object.name,
        object.label,
        fields.len(),
        child_relationships.len()
    );
    Ok(Output::new(
        DescribeOutput {
            name: object.name.clone(),
            label: object.label.clone(),
            custom: object.custom,
            createable: object.operations.createable,
            updateable: object.operations.updateable,
            deletable: object.operations.deletable,
            queryable: object.operations.queryable,
            fields,
            child_relationships,
        },
        summary,
    ))
}

// ---------------------------------------------------------------- search

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct SearchArgs {
    /// Words to search for (plain text; quotes, wildcards and operators are searched for as
    /// text). Use with `objects`.
    #[serde(default)]
    text: Option<String>,
    /// The objects to return, each with the fields to return (`{"object": "Contact",
    /// "fields": ["Name", "Email"]}`).
    #[serde(default)]
    objects: Option<Vec<SearchObjectArg>>,
    /// A whole SOSL statement instead of `text` and `objects`, e.g.
    /// `FIND {Acme} IN NAME FIELDS RETURNING Account(Id, Name), Contact(Id, Name)`.
    #[serde(default)]
    sosl: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct SearchObjectArg {
    /// The object's API name.
    object: String,
    /// Fields to return (just the Id when empty).
    #[serde(default)]
    fields: Vec<String>,
}

/// Search hits, grouped by nothing: each row names its object.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub(super) struct SearchOutput {
    /// The hits, each with its `type` (object) and fields.
    rows: Vec<Map<String, Value>>,
    /// How many hits the search returned in all.
    total: usize,
    /// `rows` or `bytes` when a cap cut the answer short.
    #[serde(skip_serializing_if = "Option::is_none")]
    limited_by: Option<String>,
}

pub(super) async fn search(call: &mut Call<'_>, args: SearchArgs) -> Result<Output, ToolError> {
    let core = call.core;
    let sosl = match (args.sosl, args.text) {
        (Some(sosl), None) => {
            let parse = forcebridge_soql::parse_search(&sosl);
            if !parse.is_ok() {
                return Err(ToolError::new(format!(
                    "the statement is not valid SOSL, nothing was sent; fix it and call again:\n{}",
                    parse.render_errors(&sosl)
                )));
            }
            if !core.policy.is_open() {
                if parse.tree.returning.is_empty() {
                    return Err(ToolError::refused(
                        "this server has object rules: name the objects to return with RETURNING",
                    ));
                }
                for returning in &parse.tree.returning {
                    let object = core.object(&returning.object.name).await?;
                    let mut paths = Vec::new();
                    for item in &returning.fields {
                        match item {
                            SelectItem::Expr { expr, .. } => expr_paths(expr, &mut paths),
                            _ if core.policy.has_field_rules() => {
                                return Err(ToolError::refused(
                                    "name the fields to return: this server checks each one",
                                ));
                            }
                            _ => {}
                        }
                    }
                    if let Some(condition) = &returning.where_clause {
                        condition_paths(condition, &mut paths);
                    }
                    for item in &returning.order_by {
                        expr_paths(&item.expr, &mut paths);
                    }
                    for path in paths {
                        check_path(core, &object, &path).await?;
                    }
                }
            }
            sosl
        }
        (None, Some(text)) => {
            let objects = args.objects.unwrap_or_default();
            if objects.is_empty() {
                return Err(ToolError::new(
                    "give `objects` to return with `text`, e.g. [{\"object\": \"Account\", \"fields\": [\"Name\"]}]",
                ));
            }
            let mut builder = SearchBuilder::find(&text);
            for o in &objects {
                let object = core.object(&o.object).await?;
                let fields = known_fields(core, &object, &o.fields)?;
                builder = builder.returning(&object.name, fields);
            }
            builder
                .limit(core.limits.max_rows as u64)
                .build()
                .map_err(|e| ToolError::new(format!("cannot build the search: {e}")))?
        }
        _ => {
            return Err(ToolError::new(
                "give either `sosl`, or `text` with `objects`",
            ));
        }
    };
    let records = core
        .client
        .search(&sosl)
        .await
        .map_err(|e| ToolError::client("searching", &e))?;
    let total = records.len();
    let budget = row_budget(core.limits.max_bytes);
    let max = core.limits.max_rows as usize;
    let mut rows = Vec::new();
    let mut bytes = 0;
    let mut limited_by = None;
    for record in &records {
        if rows.len() >= max {
            limited_by = Some("rows".to_string());
            break;
        }
        let mut row = Map::new();
        row.insert(
            "type".into(),
            record.sobject_type().unwrap_or_default().into(),
        );
        row.extend(record_json(record));
        let size = cost(&row);
        if bytes + size > budget {
            limited_by = Some("bytes".to_string());
            break;
        }
        bytes += size;
        rows.push(row);
    }
    let summary = format!("{total} hits, {} in this answer.", rows.len());
    Ok(Output::new(
        SearchOutput {
            rows,
            total,
            limited_by,
        },
        summary,
    ))
}

fn expr_paths(expr: &Expr, out: &mut Vec<Vec<String>>) {
    match expr {
        Expr::Field(path) => out.push(path.segments.iter().map(|s| s.name.clone()).collect()),
        Expr::Call(call) => call.args.iter().for_each(|a| expr_paths(a, out)),
        Expr::Literal(_) => {}
    }
}

fn condition_paths(condition: &Condition, out: &mut Vec<Vec<String>>) {
    match condition {
        Condition::Comparison(c) => expr_paths(&c.lhs, out),
        Condition::And { operands, .. } | Condition::Or { operands, .. } => {
            operands.iter().for_each(|c| condition_paths(c, out));
        }
        Condition::Not { operand, .. } => condition_paths(operand, out),
        Condition::Error { .. } => {}
    }
}

// ---------------------------------------------------------------- list_objects

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct ListObjectsArgs {
    /// Only objects whose API name or label contains this text (case ignored).
    #[serde(default)]
    filter: Option<String>,
    /// Only custom objects.
    #[serde(default)]
    custom_only: bool,
}

/// The org's objects.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub(super) struct ListObjectsOutput {
    objects: Vec<ObjectSummary>,
    /// How many objects matched.
    total: usize,
    /// Objects left out to keep the answer under the byte cap (narrow with `filter`).
    #[serde(skip_serializing_if = "is_zero")]
    omitted: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
struct ObjectSummary {
    name: String,
    label: String,
    custom: bool,
    queryable: bool,
    createable: bool,
}

pub(super) async fn list_objects(
    call: &mut Call<'_>,
    args: ListObjectsArgs,
) -> Result<Output, ToolError> {
    let core = call.core;
    let global = core
        .client
        .describe_global()
        .await
        .map_err(|e| ToolError::client("listing objects", &e))?;
    let filter = args.filter.map(|f| f.to_lowercase());
    let matching: Vec<ObjectSummary> = global
        .sobjects
        .iter()
        .filter(|o| core.policy.object_allowed(&o.name))
        .filter(|o| !args.custom_only || o.custom)
        .filter(|o| {
            filter.as_deref().is_none_or(|f| {
                o.name.to_lowercase().contains(f) || o.label.to_lowercase().contains(f)
            })
        })
        .map(|o| ObjectSummary {
            name: o.name.clone(),
            label: o.label.clone(),
            custom: o.custom,
            queryable: o.queryable,
            createable: o.createable,
        })
        .collect();
    let total = matching.len();
    let budget = row_budget(core.limits.max_bytes);
    let mut bytes = 0;
    let mut objects = Vec::new();
    for o in matching {
        let size = cost(&o);
        if bytes + size > budget {
            break;
        }
        bytes += size;
        objects.push(o);
    }
    let omitted = total - objects.len();
    let summary = if omitted > 0 {
        format!(
            "{total} objects, {} shown; narrow with filter.",
            objects.len()
        )
    } else {
        format!("{total} objects.")
    };
    Ok(Output::new(
        ListObjectsOutput {
            objects,
            total,
            omitted,
        },
        summary,
    ))
}

// ---------------------------------------------------------------- get_account_info

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct AccountInfoArgs {
    /// The account's id.
    #[serde(default)]
    account_id: Option<String>,
    /// The account's exact name, when the id is not known.
    #[serde(default)]
    name: Option<String>,
}

/// An account and the records around it.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub(super) struct AccountInfoOutput {
    account: Map<String, Value>,
    contacts: Section,
    open_opportunities: Section,
    recent_cases: Section,
}

/// Some related records: the first few, and how many there are.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
struct Section {
    total: u64,
    records: Vec<Map<String, Value>>,
    /// Why the section is empty or missing records: the object or its fields are not allowed,
    /// or the org has no such object.
    #[serde(skip_serializing_if = "Option::is_none")]
    note: Option<String>,
}

const ACCOUNT_FIELDS: &[&str] = &[
    "Id",
    "Name",
    "Type",
    "Industry",
    "Phone",
    "Website",
    "BillingCity",
    "BillingState",
    "BillingCountry",
    "AnnualRevenue",
    "NumberOfEmployees",
    "Description",
    "OwnerId",
];
const CONTACT_FIELDS: &[&str] = &["Id", "Name", "Title", "Email", "Phone"];
const OPPORTUNITY_FIELDS: &[&str] = &[
    "Id",
    "Name",
    "StageName",
    "Amount",
    "CloseDate",
    "Probability",
];
const CASE_FIELDS: &[&str] = &[
    "Id",
    "CaseNumber",
    "Subject",
    "Status",
    "Priority",
    "CreatedDate",
];

/// The fields of `wanted` that `object` has and the policy allows.
fn present_fields(core: &Core, object: &Object, wanted: &[&str]) -> Vec<String> {
    wanted
        .iter()
        .filter_map(|name| object.field(name))
        .filter(|f| core.policy.field_allowed(&object.name, &f.name))
        .map(|f| f.name.clone())
        .collect()
}

async fn section(
    core: &Core,
    object: &str,
    wanted: &[&str],
    build: impl FnOnce(QueryBuilder) -> QueryBuilder,
    limit: u64,
) -> Section {
    let empty = |note: String| Section {
        total: 0,
        records: Vec::new(),
        note: Some(note),
    };
    let object = match core.object(object).await {
        Ok(o) => o,
        Err(e) => return empty(e.message),
    };
    let fields = present_fields(core, &object, wanted);
    let soql = match build(QueryBuilder::select(&fields).from(&object.name))
        .limit(limit)
        .build()
    {
        Ok(soql) => soql,
        Err(e) => return empty(format!("cannot build the query: {e}")),
    };
    let order = Order::of_soql(&soql);
    let mut pages = core.client.query(soql).pages();
    match pages.try_next().await {
        Ok(Some(page)) => Section {
            total: page.total_size,
            records: page
                .records
                .iter()
                .map(|r| order.apply(record_json(r)))
                .collect(),
            note: None,
        },
        Ok(None) => empty("no records".into()),
        Err(e) => empty(ToolError::client(&format!("reading {}", object.name), &e).message),
    }
}

pub(super) async fn get_account_info(
    call: &mut Call<'_>,
    args: AccountInfoArgs,
) -> Result<Output, ToolError> {
    let core = call.core;
    let account = core.object("Account").await?;
    call.audit.object = Some("Account".into());
    let fields = present_fields(core, &account, ACCOUNT_FIELDS);
    let builder = QueryBuilder::select(&fields).from("Account");
    let builder = match (&args.account_id, &args.name) {
        (Some(id), _) => {
            check_record_id(id)?;
            builder.filter(field("Id").eq(id.as_str()))
        }
        (None, Some(name)) => builder.filter(field("Name").eq(name.as_str())),
        (None, None) => return Err(ToolError::new("give `accountId` or `name`")),
    };
    let soql = builder
        .limit(5)
        .build()
        .map_err(|e| ToolError::new(format!("cannot build the query: {e}")))?;
    let accounts = core
        .client
        .query(soql)
        .fetch_all()
        .await
        .map_err(|e| ToolError::client("reading the account", &e))?;
    let record = match accounts.as_slice() {
        [one] => one,
        [] => {
            return Err(ToolError::new(
                "no such account: check the id or the exact name, or find it with search",
            ));
        }
        many => {
            let ids: Vec<&str> = many.iter().filter_map(|r| r.id()).collect();
            return Err(ToolError::new(format!(
                "{} accounts have that name ({}); call again with accountId",
                many.len(),
                ids.join(", ")
            )));
        }
    };
    let id = record.id().unwrap_or_default().to_string();
    call.audit.record_ids = vec![id.clone()];
    let contacts = section(
        core,
        "Contact",
        CONTACT_FIELDS,
        |b| {
            b.filter(field("AccountId").eq(id.as_str()))
                .order_by("LastName", Direction::Asc)
        },
        10,
    )
    .await;
    let open_opportunities = section(
        core,
        "Opportunity",
        OPPORTUNITY_FIELDS,
        |b| {
            b.filter(field("AccountId").eq(id.as_str()))
                .filter(field("IsClosed").eq(false))
                .order_by("CloseDate", Direction::Asc)
        },
        10,
    )
    .await;
    let recent_cases = section(
        core,
        "Case",
        CASE_FIELDS,
        |b| {
            b.filter(field("AccountId").eq(id.as_str()))
                .order_by("CreatedDate", Direction::Desc)
        },
        5,
    )
    .await;
    let account_json = record_json(record);
    let summary = format!(
        "Account {} with {} contacts, {} open opportunities and {} cases.",
        account_json
            .get("Name")
            .and_then(Value::as_str)
            .unwrap_or(&id),
        contacts.total,
        open_opportunities.total,
        recent_cases.total
    );
    let mut output = AccountInfoOutput {
        account: account_json,
        contacts,
        open_opportunities,
        recent_cases,
    };
    // Within the byte cap: drop records from the longest section until it fits.
    let budget = row_budget(core.limits.max_bytes);
    while cost(&output) > budget {
        let longest = [
            &mut output.contacts,
            &mut output.open_opportunities,
            &mut output.recent_cases,
        ]
        .into_iter()
        .max_by_key(|s| s.records.len());
        match longest {
            Some(s) if !s.records.is_empty() => {
                s.records.pop();
                s.note = Some("cut to fit the answer's byte cap; query for the rest".into());
            }
            _ => break,
        }
    }
    Ok(Output::new(output, summary))
}

// ---------------------------------------------------------------- list_contacts

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct ListContactsArgs {
    /// Only contacts of this account (its id).
    #[serde(default)]
    account_id: Option<String>,
    /// Only contacts whose name contains this text.
    #[serde(default)]
    name: Option<String>,
    /// Only contacts with exactly this email address.
    #[serde(default)]
    email: Option<String>,
    /// Contacts per page (the server caps it).
    #[serde(default)]
    page_size: Option<u32>,
    /// The `nextCursor` of an earlier answer, for the next page (other arguments are then
    /// ignored).
    #[serde(default)]
    cursor: Option<String>,
}

const LIST_CONTACT_FIELDS: &[&str] = &["Id", "Name", "Title", "Email", "Phone", "AccountId"];

pub(super) async fn list_contacts(
    call: &mut Call<'_>,
    args: ListContactsArgs,
) -> Result<Output, ToolError> {
    let core = call.core;
    let max_rows = max_rows(core, args.page_size);
    let budget = row_budget(core.limits.max_bytes);
    call.audit.object = Some("Contact".into());
    let open = match &args.cursor {
        Some(cursor) => resume(core, cursor, "list_contacts")?,
        None => {
            let contact = core.object("Contact").await?;
            let mut fields = present_fields(core, &contact, LIST_CONTACT_FIELDS);
            if core.policy.field_allowed("Account", "Name") {
                fields.push("Account.Name".into());
            }
            let mut builder = QueryBuilder::select(&fields).from("Contact");
            if let Some(id) = &args.account_id {
                check_record_id(id)?;
                builder = builder.filter(field("AccountId").eq(id.as_str()));
            }
            if let Some(name) = &args.name {
                builder = builder.filter(field("Name").contains(name));
            }
            if let Some(email) = &args.email {
                builder = builder.filter(field("Email").eq(email.as_str()));
            }
            let soql = builder
                .order_by("LastName", Direction::Asc)
                .order_by("Id", Direction::Asc)
                .build()
                .map_err(|e| ToolError::new(format!("cannot build the query: {e}")))?;
            let order = Order::of_soql(&soql);
            OpenQuery::new(
                core.client.query(soql).pages(),
                "list_contacts",
                "Contact".into(),
            )
            .in_order(order)
        }
    };
    let page = next_rows(core, open, max_rows, budget).await?;
    Ok(rows_output("Contact".into(), page))
}
