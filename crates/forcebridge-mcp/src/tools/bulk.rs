//! `bulk_operations`: create, update, upsert (by an external id) or delete many records. Up
//! to the bulk threshold it uses sObject Collections (calls of 200, results in input order);
//! above it, Bulk API 2.0. Progress goes to the client as it happens; every record gets a
//! result. Like every change, it runs in two steps: a preview with a confirm handle, then the
//! same call with the handle.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use forcebridge_client::bulk::{IngestOperation, IngestOptions, JobEvent, PollOptions, ResultKind};
use forcebridge_client::{Client, RecordResult};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::rows::{cost, row_budget};
use super::write::{binding, redeem};
use super::{Call, ConfirmRequest, Effect, Output, Spec, ToolError};
use crate::server::check_record_id;
use crate::validate::{Mode, check_record, problems_message};

/// Records per sObject Collections call.
const COLLECTION_CHUNK: usize = 200;

pub(super) fn spec() -> Spec {
    super::spec::<BulkArgs, BulkOutput>(
        "bulk_operations",
        "Bulk create, update, upsert or delete",
        Effect::Bulk,
        "Creates, updates, upserts (by an external id field) or deletes many records of one \
         object. Every record is checked against the describe first. Two steps: without \
         `confirm` nothing is changed and the answer shows what would be (count, fields, a \
         sample with old and new values) and a `confirm` handle; call again with the same \
         arguments and that handle after the user agreed. Large sets go through Bulk API 2.0; \
         progress is reported while it runs, and the answer has a result per record (failures \
         first).",
    )
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub(super) enum Operation {
    Create,
    Update,
    Upsert,
    Delete,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct BulkArgs {
    /// The object's API name.
    object: String,
    /// What to do with each record.
    operation: Operation,
    /// The records: field names to values. For `update` each needs its `Id`; for `upsert`
    /// each needs the external id field.
    #[serde(default)]
    records: Vec<Map<String, Value>>,
    /// For `delete`: the ids of the records to delete.
    #[serde(default)]
    ids: Vec<String>,
    /// For `upsert`: the external id field that matches records (e.g. `External_Id__c`).
    #[serde(default)]
    external_id_field: Option<String>,
    /// The `confirm` handle of this operation's preview. Omit it to get the preview.
    #[serde(default)]
    confirm: Option<String>,
}

/// The preview or the outcome of a bulk operation.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub(super) struct BulkOutput {
    /// `preview` (nothing changed yet) or `done`.
    status: String,
    object: String,
    operation: Operation,
    /// `collections` (sObject Collections) or `bulk` (Bulk API 2.0).
    via: String,
    /// Records in the operation.
    records: usize,
    /// The fields the operation sets.
    fields: Vec<String>,
    /// Preview: the first records with their old and new values.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    sample: Vec<Map<String, Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    succeeded: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    failed: Option<usize>,
    /// A result per record, failures first; cut to the answer's byte cap (see
    /// `omittedResults`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    results: Vec<RecordOutcome>,
    #[serde(skip_serializing_if = "is_zero")]
    omitted_results: usize,
    /// Bulk API 2.0 job ids.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    jobs: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    confirm: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expires_in_seconds: Option<u64>,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// What happened to one record.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
struct RecordOutcome {
    /// The record's place in `records` (or `ids`), from 0; absent when Bulk API 2.0 cannot
    /// tell (a created record).
    #[serde(skip_serializing_if = "Option::is_none")]
    index: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<String>,
    success: bool,
    /// Upserts: whether the record was created.
    #[serde(skip_serializing_if = "Option::is_none")]
    created: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

pub(super) async fn bulk_operations(
    call: &mut Call<'_>,
    args: BulkArgs,
) -> Result<Output, ToolError> {
    let core = call.core;
    let object = core.object(&args.object).await?;
    call.audit.object = Some(object.name.clone());
    let op = args.operation;
    // Check and normalise every record.
    let mut records: Vec<Map<String, Value>> = Vec::new();
    let mut problems = Vec::new();
    let mut ext_field = None;
    match op {
        Operation::Delete => {
            if !args.records.is_empty() {
                return Err(ToolError::new("delete takes `ids`, not `records`"));
            }
            if !object.operations.deletable {
                return Err(ToolError::new(format!(
                    "{} records cannot be deleted",
                    object.name
                )));
            }
            for (i, id) in args.ids.iter().enumerate() {
                if let Err(e) = check_record_id(id) {
                    problems.push(format!("ids[{i}]: {}", e.message));
                }
                let mut record = Map::new();
                record.insert("Id".into(), id.clone().into());
                records.push(record);
            }
        }
        _ => {
            if !args.ids.is_empty() {
                return Err(ToolError::new("`ids` is for delete; give `records`"));
            }
            let mode = match op {
                Operation::Create => Mode::Create,
                Operation::Update => Mode::Update,
                _ => Mode::Upsert,
            };
            if op == Operation::Upsert {
                let name = args
                    .external_id_field
                    .as_deref()
                    .ok_or_else(|| ToolError::new("upsert needs `externalIdField`"))?;
                let field = object
                    .field(name)
                    .filter(|f| f.external_id || f.name == "Id")
                    .ok_or_else(|| {
                        ToolError::new(format!(
                            "{name} is not an external id field of {}: see describe_object",
                            object.name
                        ))
                    })?;
                ext_field = Some(field.name.clone());
            }
            for (i, given) in args.records.iter().enumerate() {
                let (mut values, record_problems) =
                    check_record(&core.policy, &object, given, mode, &[]);
                problems.extend(
                    record_problems
                        .into_iter()
                        .map(|p| format!("records[{i}]: {p}")),
                );
                if op == Operation::Update {
                    match given.iter().find(|(k, _)| k.eq_ignore_ascii_case("Id")) {
                        Some((_, Value::String(id))) => {
                            if let Err(e) = check_record_id(id) {
                                problems.push(format!("records[{i}]: {}", e.message));
                            }
                            values.insert("Id".into(), id.clone().into());
                        }
                        _ => {
                            problems.push(format!("records[{i}]: an update needs the record's Id"))
                        }
                    }
                }
                if let Some(ext) = &ext_field
                    && !values.contains_key(ext)
                {
                    problems.push(format!("records[{i}]: an upsert needs {ext}"));
                }
                records.push(values);
            }
        }
    }
    if records.is_empty() {
        return Err(ToolError::new("no records given"));
    }
    if records.len() > core.limits.max_bulk_records {
        return Err(ToolError::new(format!(
            "{} records are more than this server takes in one call ({}): split them",
            records.len(),
            core.limits.max_bulk_records
        )));
    }
    if !problems.is_empty() {
        return Err(ToolError::new(problems_message(
            &format!("the {} operation", object.name),
            &problems,
        )));
    }
    let n = records.len();
    let via = if n > core.limits.bulk_threshold {
        "bulk"
    } else {
        "collections"
    };
    let mut fields: Vec<String> = Vec::new();
    for record in &records {
        for name in record.keys() {
            if !fields.contains(name) {
                fields.push(name.clone());
            }
        }
    }
    let op_name = serde_json::to_value(op).unwrap_or(Value::Null);
    let bound = binding(
        "bulk_operations",
        &[
            &object.name,
            op_name.as_str().unwrap_or_default(),
            ext_field.as_deref().unwrap_or(""),
        ],
        &Value::Array(records.iter().cloned().map(Value::Object).collect()),
    );
    call.audit.record_ids = records
        .iter()
        .filter_map(|r| r.get("Id").and_then(Value::as_str).map(str::to_string))
        .take(1000)
        .collect();
    let Some(handle) = args.confirm else {
        let sample = sample(call, &object.name, op, &records).await?;
        let handle = core.confirms.issue(&bound);
        call.audit.preview = true;
        let question = format!(
            "{} {n} {} record{} (fields: {}) via {via}?",
            match op {
                Operation::Create => "Create",
                Operation::Update => "Update",
                Operation::Upsert => "Upsert",
                Operation::Delete => "Delete",
            },
            object.name,
            if n == 1 { "" } else { "s" },
            fields.join(", ")
        );
        let summary = format!(
            "Preview only, nothing changed. {question} Show this to the user; if they agree, call \
             again with the same arguments and confirm: \"{handle}\"."
        );
        let mut out = Output::new(
            BulkOutput {
                status: "preview".into(),
                object: object.name.clone(),
                operation: op,
                via: via.into(),
                records: n,
                fields,
                sample,
                succeeded: None,
                failed: None,
                results: Vec::new(),
                omitted_results: 0,
                jobs: Vec::new(),
                confirm: Some(handle.clone()),
                expires_in_seconds: Some(core.confirms.ttl().as_secs()),
            },
            summary,
        );
        out.confirm = Some(ConfirmRequest { handle, question });
        return Ok(out);
    };
    redeem(core, &handle, &bound)?;
    let (mut outcomes, jobs) = if via == "collections" {
        (
            run_collections(call, &object.name, op, ext_field.as_deref(), &records).await?,
            Vec::new(),
        )
    } else {
        run_bulk(call, &object.name, op, ext_field.clone(), &records, &fields).await?
    };
    let succeeded = outcomes.iter().filter(|o| o.success).count();
    let failed = outcomes.len() - succeeded;
    outcomes.sort_by_key(|o| (o.success, o.index));
    let budget = row_budget(core.limits.max_bytes).saturating_sub(2048);
    let mut bytes = 0;
    let mut results = Vec::new();
    for outcome in &outcomes {
        let size = cost(outcome);
        if bytes + size > budget {
            break;
        }
        bytes += size;
        results.push(outcome.clone());
    }
    let omitted_results = outcomes.len() - results.len();
    let summary = format!(
        "{} {n} {} records via {via}: {succeeded} succeeded, {failed} failed.",
        op_name.as_str().unwrap_or_default(),
        object.name
    );
    Ok(Output::new(
        BulkOutput {
            status: "done".into(),
            object: object.name.clone(),
            operation: op,
            via: via.into(),
            records: n,
            fields,
            sample: Vec::new(),
            succeeded: Some(succeeded),
            failed: Some(failed),
            results,
            omitted_results,
            jobs,
            confirm: None,
            expires_in_seconds: None,
        },
        summary,
    ))
}

/// The first three records of a preview, with old values for updates and deletes.
async fn sample(
    call: &mut Call<'_>,
    object: &str,
    op: Operation,
    records: &[Map<String, Value>],
) -> Result<Vec<Map<String, Value>>, ToolError> {
    let core = call.core;
    let mut out = Vec::new();
    for record in records.iter().take(3) {
        let mut shown = Map::new();
        match (op, record.get("Id").and_then(Value::as_str)) {
            (Operation::Update | Operation::Delete, Some(id)) => {
                let names: Vec<String> = record.keys().filter(|k| *k != "Id").cloned().collect();
                let mut names = names;
                if op == Operation::Delete
                    && core.policy.field_allowed(object, "Name")
                    && let Ok(o) = core.object(object).await
                    && o.field("Name").is_some()
                {
                    names.push("Name".into());
                }
                let current = super::write::read_current(core, object, id, &names).await?;
                shown.insert("Id".into(), id.into());
                for name in names {
                    let old = current.get(&name).cloned().unwrap_or(Value::Null);
                    if op == Operation::Delete {
                        shown.insert(name, old);
                    } else {
                        let new = record.get(&name).cloned().unwrap_or(Value::Null);
                        shown.insert(name, serde_json::json!({"old": old, "new": new}));
                    }
                }
            }
            _ => shown = record.clone(),
        }
        out.push(shown);
    }
    Ok(out)
}

async fn run_collections(
    call: &mut Call<'_>,
    object: &str,
    op: Operation,
    ext_field: Option<&str>,
    records: &[Map<String, Value>],
) -> Result<Vec<RecordOutcome>, ToolError> {
    let core = call.core;
    let collection = core.client.collection(object).all_or_none(false);
    let n = records.len();
    let mut outcomes = Vec::with_capacity(n);
    call.progress
        .report(0.0, Some(n as f64), format!("sending {n} records"));
    for (chunk_index, chunk) in records.chunks(COLLECTION_CHUNK).enumerate() {
        let sent = match op {
            Operation::Create => collection.create(chunk).await,
            Operation::Update => collection.update(chunk).await,
            Operation::Upsert => collection.upsert(ext_field.unwrap_or("Id"), chunk).await,
            Operation::Delete => {
                let ids: Vec<&str> = chunk
                    .iter()
                    .filter_map(|r| r.get("Id").and_then(Value::as_str))
                    .collect();
                collection.delete(&ids).await
            }
        };
        let results = sent.map_err(|e| {
            let done = chunk_index * COLLECTION_CHUNK;
            let mut err = ToolError::client(
                &format!("sending records {done}-{}", done + chunk.len() - 1),
                &e,
            );
            if done > 0 {
                err.message.push_str(&format!(
                    "\nRecords 0-{} were already sent; do not send them again.",
                    done - 1
                ));
            }
            err
        })?;
        for (i, result) in results.into_iter().enumerate() {
            outcomes.push(outcome(chunk_index * COLLECTION_CHUNK + i, result));
        }
        let done = outcomes.len();
        call.progress.report(
            done as f64,
            Some(n as f64),
            format!("{done} of {n} records sent"),
        );
    }
    Ok(outcomes)
}

fn outcome(index: usize, result: RecordResult) -> RecordOutcome {
    let error = (!result.success).then(|| {
        result
            .errors
            .iter()
            .map(|e| format!("{}: {}", e.error_code, e.message))
            .collect::<Vec<_>>()
            .join("; ")
    });
    RecordOutcome {
        index: Some(index),
        id: result.id,
        success: result.success,
        created: result.created,
        error,
    }
}

async fn run_bulk(
    call: &mut Call<'_>,
    object: &str,
    op: Operation,
    ext_field: Option<String>,
    records: &[Map<String, Value>],
    fields: &[String],
) -> Result<(Vec<RecordOutcome>, Vec<String>), ToolError> {
    let core = call.core;
    let n = records.len();
    let operation = match op {
        Operation::Create => IngestOperation::Insert,
        Operation::Update => IngestOperation::Update,
        Operation::Upsert => IngestOperation::Upsert {
            external_id_field: ext_field.clone().unwrap_or_default(),
        },
        Operation::Delete => IngestOperation::Delete,
    };
    let options = IngestOptions {
        columns: Some(fields.to_vec()),
        poll: PollOptions {
            initial_interval: Duration::from_millis(250),
            max_interval: Duration::from_secs(5),
            timeout: Duration::from_secs(30 * 60),
        },
        ..IngestOptions::default()
    };
    call.progress.report(
        0.0,
        Some(n as f64),
        format!("uploading {n} records to Bulk API 2.0"),
    );
    let progress = Arc::new(std::mem::take(&mut call.progress));
    let reporter = progress.clone();
    // If the call is cancelled (the future dropped), the jobs it opened are aborted on the
    // org, so that no more of their rows are processed.
    let guard = AbortOnDrop {
        client: core.client.clone(),
        jobs: Arc::new(Mutex::new(Vec::new())),
        armed: true,
    };
    let opened = guard.jobs.clone();
    let summary = core
        .client
        .bulk()
        .ingest(object, operation)
        .options(options)
        .on_progress(move |p| {
            if p.event == JobEvent::Created {
                let mut jobs = opened.lock().unwrap_or_else(|e| e.into_inner());
                jobs.push(p.job.id.clone());
            }
            reporter.report(
                p.records_processed as f64,
                Some(n as f64),
                format!(
                    "{} of {n} records processed ({} uploaded, {} failed)",
                    p.records_processed, p.records_uploaded, p.records_failed
                ),
            );
        })
        .from_records(records.iter())
        .await;
    guard.disarm();
    let summary = summary.map_err(|e| {
        let mut err = ToolError::client("running the Bulk API 2.0 load", &e);
        let jobs: Vec<&str> = e.bulk_jobs().iter().map(|j| j.id.as_str()).collect();
        if !jobs.is_empty() {
            err.message.push_str(&format!(
                "\nJobs opened on the org: {} (their records may be partly processed)",
                jobs.join(", ")
            ));
        }
        err
    })?;
    // Index the input so results can be matched back to it.
    let mut by_key: HashMap<String, usize> = HashMap::new();
    let key_field = match op {
        Operation::Update | Operation::Delete => Some("Id".to_string()),
        Operation::Upsert => ext_field,
        Operation::Create => None,
    };
    if let Some(key) = &key_field {
        for (i, record) in records.iter().enumerate() {
            if let Some(v) = record.get(key) {
                let text = v.as_str().map_or_else(|| v.to_string(), str::to_string);
                by_key.insert(text, i);
            }
        }
    }
    let mut outcomes = Vec::with_capacity(n);
    let mut jobs = Vec::new();
    for job in &summary.jobs {
        jobs.push(job.id.clone());
        let handle = core.client.bulk().ingest_job(job.id.clone());
        for (kind, success) in [(ResultKind::Successful, true), (ResultKind::Failed, false)] {
            let rows = handle.results(kind).await.map_err(|e| {
                ToolError::client(&format!("reading the results of job {}", job.id), &e)
            })?;
            for row in rows {
                let index = key_field
                    .as_deref()
                    .and_then(|k| row.get(k))
                    .and_then(|v| by_key.get(v).copied());
                outcomes.push(RecordOutcome {
                    index,
                    id: row.id.clone().filter(|id| !id.is_empty()),
                    success,
                    created: if op == Operation::Upsert {
                        row.created
                    } else {
                        None
                    },
                    error: row.error.clone(),
                });
            }
        }
    }
    let processed = summary.records_processed as f64;
    progress.report(processed.max(n as f64), Some(n as f64), "done");
    Ok((outcomes, jobs))
}

/// Aborts the Bulk API 2.0 jobs a load opened when the load is dropped before it finished
/// (the tool call was cancelled): `PATCH state=Aborted`, so the org processes no more of
/// their rows. Jobs that already finished refuse the abort, which changes nothing.
struct AbortOnDrop {
    client: Client,
    jobs: Arc<Mutex<Vec<String>>>,
    armed: bool,
}

impl AbortOnDrop {
    fn disarm(mut self) {
        self.armed = false;
    }
}

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let jobs = std::mem::take(&mut *self.jobs.lock().unwrap_or_else(|e| e.into_inner()));
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        for id in jobs {
            let job = self.client.bulk().ingest_job(id.clone());
            runtime.spawn(async move {
                match job.abort().await {
                    Ok(_) => tracing::info!(job = %id, "cancelled: Bulk API 2.0 job aborted"),
                    Err(e) => tracing::warn!(job = %id, error = %e, "cancelled: could not abort the Bulk API 2.0 job"),
                }
            });
        }
    }
}
