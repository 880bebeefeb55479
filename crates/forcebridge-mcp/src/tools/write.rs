//! The write tools: `create_record`, `update_record`, `delete_record`, `create_lead` and
//! `update_opportunity`. Every write is checked against the describe first. Updates and
//! deletes are shown before they are made: the first call returns a preview (old and new
//! values) and a single-use confirm handle bound to exactly that change; the write happens
//! when the same call comes back with the handle.

use std::collections::BTreeMap;

use forcebridge_soql::builder::{QueryBuilder, field};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{Call, ConfirmRequest, Effect, Output, Spec, ToolError, spec};
use crate::handles::ConfirmProblem;
use crate::server::{Core, check_record_id};
use crate::validate::{Mode, check_record, problems_message};

pub(super) fn specs() -> Vec<Spec> {
    vec![
        spec::<CreateArgs, WriteOutput>(
            "create_record",
            "Create a record",
            Effect::Create,
            "Creates one record. Fields are checked against the object's describe first (unknown \
             fields, fields that cannot be set, missing required fields, picklist values); \
             problems come back as an error listing what to fix, and nothing is sent.",
        ),
        spec::<UpdateArgs, WriteOutput>(
            "update_record",
            "Update a record",
            Effect::Change,
            "Changes fields of one record, in two steps. Call it without `confirm`: nothing is \
             changed, and the answer shows each field's old and new value and a `confirm` \
             handle. Show the change to the user; if they agree, call again with the same \
             arguments and that `confirm`. A handle works once, for that change only, and \
             expires after a few minutes.",
        ),
        spec::<DeleteArgs, WriteOutput>(
            "delete_record",
            "Delete a record",
            Effect::Change,
            "Deletes one record (to the recycle bin), in two steps: without `confirm` the answer \
             shows the record and a `confirm` handle; call again with it, after the user agreed, \
             to delete.",
        ),
        spec::<CreateLeadArgs, WriteOutput>(
            "create_lead",
            "Create a lead",
            Effect::Create,
            "Creates a lead from a person's name, company and contact details. Status and lead \
             source are checked against their picklists.",
        ),
        spec::<UpdateOpportunityArgs, WriteOutput>(
            "update_opportunity",
            "Update an opportunity",
            Effect::Change,
            "Changes an opportunity's stage, amount, close date, probability or next step. The \
             stage must be one of the org's stages (see describe_object Opportunity). Two steps, \
             as update_record: preview with a `confirm` handle, then the same call with it.",
        ),
    ]
}

/// The outcome of a write, or the preview of one.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub(super) struct WriteOutput {
    /// `created`, `updated`, `deleted`, or `preview` (nothing changed yet).
    status: String,
    object: String,
    /// The record's id (the new id after a create).
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<String>,
    /// For updates: each field's value before and after.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    changes: Vec<Change>,
    /// For a delete preview: the record that would be deleted.
    #[serde(skip_serializing_if = "Option::is_none")]
    record: Option<Map<String, Value>>,
    /// For a preview: pass it back as `confirm`, with the same other arguments, to make the
    /// change.
    #[serde(skip_serializing_if = "Option::is_none")]
    confirm: Option<String>,
    /// For a preview: how long `confirm` stays valid.
    #[serde(skip_serializing_if = "Option::is_none")]
    expires_in_seconds: Option<u64>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub(super) struct Change {
    field: String,
    /// The value before the change (`null` when empty).
    #[schemars(schema_with = "field_value")]
    old: Value,
    /// The value after the change.
    #[schemars(schema_with = "field_value")]
    new: Value,
}

/// What a field's value can be: text, a number, true or false, a compound value (an address,
/// a location) or null. Spelled out so clients that want a typed schema get one.
fn field_value(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "anyOf": [
            {"type": "string"},
            {"type": "number"},
            {"type": "boolean"},
            {"type": "object"},
            {"type": "null"}
        ]
    })
}

// ---------------------------------------------------------------- create

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct CreateArgs {
    /// The object's API name, e.g. `Account`.
    object: String,
    /// Field API names and values, e.g. `{"Name": "Acme", "Industry": "Energy"}`. Dates as
    /// `YYYY-MM-DD`, references as record ids.
    fields: Map<String, Value>,
}

pub(super) async fn create_record(
    call: &mut Call<'_>,
    args: CreateArgs,
) -> Result<Output, ToolError> {
    create(call, &args.object, args.fields, &[]).await
}

async fn create(
    call: &mut Call<'_>,
    object: &str,
    fields: Map<String, Value>,
    strict: &[&str],
) -> Result<Output, ToolError> {
    let core = call.core;
    let object = core.object(object).await?;
    call.audit.object = Some(object.name.clone());
    if !object.operations.createable {
        return Err(ToolError::new(format!(
            "{} records cannot be created",
            object.name
        )));
    }
    let (values, problems) = check_record(&core.policy, &object, &fields, Mode::Create, strict);
    if !problems.is_empty() {
        return Err(ToolError::new(problems_message(
            &format!("the {} record", object.name),
            &problems,
        )));
    }
    call.audit.values = Some(Value::Object(values.clone()));
    let id = core
        .client
        .sobject(&object.name)
        .create(&values)
        .await
        .map_err(|e| ToolError::client(&format!("creating the {} record", object.name), &e))?;
    call.audit.record_ids = vec![id.clone()];
    let summary = format!("Created {} {id}.", object.name);
    Ok(Output::new(
        WriteOutput {
            status: "created".into(),
            object: object.name.clone(),
            id: Some(id),
            changes: Vec::new(),
            record: None,
            confirm: None,
            expires_in_seconds: None,
        },
        summary,
    ))
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct CreateLeadArgs {
    /// The person's last name.
    last_name: String,
    /// The company the person works for.
    company: String,
    #[serde(default)]
    first_name: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    phone: Option<String>,
    /// Job title.
    #[serde(default)]
    title: Option<String>,
    /// Lead status (a value of the Status picklist; the org's default when omitted).
    #[serde(default)]
    status: Option<String>,
    /// Where the lead came from (a value of the LeadSource picklist).
    #[serde(default)]
    lead_source: Option<String>,
    #[serde(default)]
    description: Option<String>,
}

pub(super) async fn create_lead(
    call: &mut Call<'_>,
    args: CreateLeadArgs,
) -> Result<Output, ToolError> {
    let mut fields = Map::new();
    let mut put = |name: &str, value: Option<String>| {
        if let Some(v) = value {
            fields.insert(name.into(), Value::String(v));
        }
    };
    put("LastName", Some(args.last_name));
    put("Company", Some(args.company));
    put("FirstName", args.first_name);
    put("Email", args.email);
    put("Phone", args.phone);
    put("Title", args.title);
    put("Status", args.status);
    put("LeadSource", args.lead_source);
    put("Description", args.description);
    create(call, "Lead", fields, &["Status", "LeadSource"]).await
}

// ---------------------------------------------------------------- update

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct UpdateArgs {
    /// The object's API name.
    object: String,
    /// The record id.
    id: String,
    /// Field API names and new values; `null` clears a field.
    fields: Map<String, Value>,
    /// The `confirm` handle of this change's preview. Omit it to get the preview.
    #[serde(default)]
    confirm: Option<String>,
}

pub(super) async fn update_record(
    call: &mut Call<'_>,
    args: UpdateArgs,
) -> Result<Output, ToolError> {
    update(
        call,
        "update_record",
        &args.object,
        &args.id,
        args.fields,
        args.confirm,
        &[],
    )
    .await
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct UpdateOpportunityArgs {
    /// The opportunity's id.
    id: String,
    /// The new stage (a value of StageName).
    #[serde(default)]
    stage: Option<String>,
    #[serde(default)]
    amount: Option<f64>,
    /// The new close date, `YYYY-MM-DD`.
    #[serde(default)]
    close_date: Option<String>,
    /// Probability in percent, 0 to 100.
    #[serde(default)]
    probability: Option<f64>,
    #[serde(default)]
    next_step: Option<String>,
    /// The `confirm` handle of this change's preview. Omit it to get the preview.
    #[serde(default)]
    confirm: Option<String>,
}

pub(super) async fn update_opportunity(
    call: &mut Call<'_>,
    args: UpdateOpportunityArgs,
) -> Result<Output, ToolError> {
    let mut fields = Map::new();
    if let Some(stage) = args.stage {
        fields.insert("StageName".into(), stage.into());
    }
    if let Some(amount) = args.amount {
        fields.insert("Amount".into(), amount.into());
    }
    if let Some(date) = args.close_date {
        fields.insert("CloseDate".into(), date.into());
    }
    if let Some(p) = args.probability {
        if !(0.0..=100.0).contains(&p) {
            return Err(ToolError::new("probability is a percentage from 0 to 100"));
        }
        fields.insert("Probability".into(), p.into());
    }
    if let Some(step) = args.next_step {
        fields.insert("NextStep".into(), step.into());
    }
    if fields.is_empty() {
        return Err(ToolError::new(
            "nothing to change: give stage, amount, closeDate, probability or nextStep",
        ));
    }
    update(
        call,
        "update_opportunity",
        "Opportunity",
        &args.id,
        fields,
        args.confirm,
        &["StageName"],
    )
    .await
}

/// The text a confirm handle is bound to: the tool, then its arguments in a canonical form.
pub(super) fn binding(tool: &str, parts: &[&str], values: &Value) -> String {
    fn canonical(value: &Value) -> Value {
        match value {
            Value::Object(map) => {
                let sorted: BTreeMap<&String, Value> =
                    map.iter().map(|(k, v)| (k, canonical(v))).collect();
                serde_json::to_value(sorted).unwrap_or(Value::Null)
            }
            Value::Array(items) => Value::Array(items.iter().map(canonical).collect()),
            other => other.clone(),
        }
    }
    format!("{tool}\n{}\n{}", parts.join("\n"), canonical(values))
}

pub(super) fn redeem(core: &Core, handle: &str, binding: &str) -> Result<(), ToolError> {
    core.confirms.redeem(handle, binding).map_err(|problem| match problem {
        ConfirmProblem::Unknown => ToolError::new(
            "unknown confirm handle: a handle works once, and only on this server; call without \
             `confirm` for a new preview",
        ),
        ConfirmProblem::Expired => ToolError::new(format!(
            "this confirm handle expired ({} seconds after its preview); nothing was changed. \
             Call without `confirm` for a new preview",
            core.confirms.ttl().as_secs()
        )),
        ConfirmProblem::Mismatch => ToolError::new(
            "this confirm handle was issued for a different change; nothing was changed. Call \
             without `confirm` for a preview of this change",
        ),
    })
}

async fn update(
    call: &mut Call<'_>,
    tool: &str,
    object: &str,
    id: &str,
    fields: Map<String, Value>,
    confirm: Option<String>,
    strict: &[&str],
) -> Result<Output, ToolError> {
    let core = call.core;
    check_record_id(id)?;
    let object = core.object(object).await?;
    call.audit.object = Some(object.name.clone());
    call.audit.record_ids = vec![id.to_string()];
    if fields.is_empty() {
        return Err(ToolError::new("nothing to change: `fields` is empty"));
    }
    let (values, problems) = check_record(&core.policy, &object, &fields, Mode::Update, strict);
    if !problems.is_empty() {
        return Err(ToolError::new(problems_message(
            &format!("the change to {} {id}", object.name),
            &problems,
        )));
    }
    call.audit.values = Some(Value::Object(values.clone()));
    let bound = binding(tool, &[&object.name, id], &Value::Object(values.clone()));
    let names: Vec<String> = values.keys().cloned().collect();
    if let Some(handle) = confirm {
        redeem(core, &handle, &bound)?;
        core.client
            .sobject(&object.name)
            .update(id, &values)
            .await
            .map_err(|e| ToolError::client(&format!("updating {} {id}", object.name), &e))?;
        let changes = values
            .into_iter()
            .map(|(field, new)| Change {
                field,
                old: Value::Null,
                new,
            })
            .collect();
        let summary = format!("Updated {} {id}: {}.", object.name, names.join(", "));
        return Ok(Output::new(
            WriteOutput {
                status: "updated".into(),
                object: object.name.clone(),
                id: Some(id.to_string()),
                changes,
                record: None,
                confirm: None,
                expires_in_seconds: None,
            },
            summary,
        ));
    }
    let current = read_current(core, &object.name, id, &names).await?;
    let changes: Vec<Change> = values
        .into_iter()
        .map(|(field, new)| Change {
            old: current.get(&field).cloned().unwrap_or(Value::Null),
            field,
            new,
        })
        .collect();
    let described: Vec<String> = changes
        .iter()
        .map(|c| format!("{}: {} -> {}", c.field, c.old, c.new))
        .collect();
    preview(
        call,
        &bound,
        WriteOutput {
            status: "preview".into(),
            object: object.name.clone(),
            id: Some(id.to_string()),
            changes,
            record: None,
            confirm: None,
            expires_in_seconds: None,
        },
        format!("Change {} {id}: {}?", object.name, described.join("; ")),
    )
}

/// Issues the confirm handle for a preview and builds its answer.
fn preview(
    call: &mut Call<'_>,
    bound: &str,
    mut output: WriteOutput,
    question: String,
) -> Result<Output, ToolError> {
    let core = call.core;
    let handle = core.confirms.issue(bound);
    output.confirm = Some(handle.clone());
    output.expires_in_seconds = Some(core.confirms.ttl().as_secs());
    call.audit.preview = true;
    let summary = format!(
        "Preview only, nothing changed. {question} Show this to the user; if they agree, call \
         again with the same arguments and confirm: \"{handle}\"."
    );
    let mut out = Output::new(output, summary);
    out.confirm = Some(ConfirmRequest { handle, question });
    Ok(out)
}

/// The current values of `fields` of a record.
pub(super) async fn read_current(
    core: &Core,
    object: &str,
    id: &str,
    fields: &[String],
) -> Result<Map<String, Value>, ToolError> {
    let mut select: Vec<&str> = vec!["Id"];
    select.extend(fields.iter().map(String::as_str).filter(|f| *f != "Id"));
    let soql = QueryBuilder::select(select)
        .from(object)
        .filter(field("Id").eq(id))
        .limit(1)
        .build()
        .map_err(|e| ToolError::new(format!("cannot build the query: {e}")))?;
    let record = core
        .client
        .query(soql)
        .fetch_optional()
        .await
        .map_err(|e| ToolError::client(&format!("reading {object} {id}"), &e))?
        .ok_or_else(|| ToolError::new(format!("no {object} with id {id}")))?;
    Ok(super::rows::record_json(&record))
}

// ---------------------------------------------------------------- delete

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct DeleteArgs {
    /// The object's API name.
    object: String,
    /// The record id.
    id: String,
    /// The `confirm` handle of this delete's preview. Omit it to get the preview.
    #[serde(default)]
    confirm: Option<String>,
}

pub(super) async fn delete_record(
    call: &mut Call<'_>,
    args: DeleteArgs,
) -> Result<Output, ToolError> {
    let core = call.core;
    check_record_id(&args.id)?;
    let object = core.object(&args.object).await?;
    call.audit.object = Some(object.name.clone());
    call.audit.record_ids = vec![args.id.clone()];
    if !object.operations.deletable {
        return Err(ToolError::new(format!(
            "{} records cannot be deleted",
            object.name
        )));
    }
    let bound = binding("delete_record", &[&object.name, &args.id], &Value::Null);
    if let Some(handle) = args.confirm {
        redeem(core, &handle, &bound)?;
        core.client
            .sobject(&object.name)
            .delete(&args.id)
            .await
            .map_err(|e| ToolError::client(&format!("deleting {} {}", object.name, args.id), &e))?;
        let summary = format!("Deleted {} {}.", object.name, args.id);
        return Ok(Output::new(
            WriteOutput {
                status: "deleted".into(),
                object: object.name.clone(),
                id: Some(args.id),
                changes: Vec::new(),
                record: None,
                confirm: None,
                expires_in_seconds: None,
            },
            summary,
        ));
    }
    let shown: Vec<String> = ["Name", "Subject", "CaseNumber", "Title"]
        .into_iter()
        .filter_map(|n| object.field(n))
        .filter(|f| core.policy.field_allowed(&object.name, &f.name))
        .map(|f| f.name.clone())
        .collect();
    let record = read_current(core, &object.name, &args.id, &shown).await?;
    let label = shown
        .iter()
        .find_map(|f| record.get(f).and_then(Value::as_str))
        .map(|s| format!(" ({s})"))
        .unwrap_or_default();
    preview(
        call,
        &bound,
        WriteOutput {
            status: "preview".into(),
            object: object.name.clone(),
            id: Some(args.id.clone()),
            changes: Vec::new(),
            record: Some(record),
            confirm: None,
            expires_in_seconds: None,
        },
        format!("Delete {} {}{label}?", object.name, args.id),
    )
}
