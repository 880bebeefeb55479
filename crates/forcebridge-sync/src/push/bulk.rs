//! Sending a large set through Bulk API 2.0: rows gathered into jobs of at most
//! `job_rows` (10,000 by default, Salesforce's advice against lock contention), sorted by
//! parent, uploaded and waited for, and each job's successful and failed results mapped back
//! to the rows by the value of the match field (the external id, or `Id`). Only for the
//! idempotent operations (upsert, update, delete): a job cut off by a crash is simply sent
//! again. Rows that failed with `UNABLE_TO_LOCK_ROW` go once more through sObject Collections,
//! with its retries and serial fallback.

use std::collections::HashMap;

use forcebridge_client::Client;
use forcebridge_client::bulk::{IngestOperation, IngestOptions, ResultKind, ResultRow};
use serde_json::{Map, Value};

use super::config::LockRetry;
use super::record::Prepared;
use super::send::{Answer, LockStats, SendOp};
use crate::error::{Error, Result};

/// Sends `rows` as one Bulk job (or more, should the upload be split by size) and returns one
/// answer per row, in order, and how many jobs it took.
pub(crate) async fn send(
    client: &Client,
    object: &str,
    op: &SendOp,
    rows: &[&Prepared],
    poll: &forcebridge_client::bulk::PollOptions,
    locks: LockRetry,
    lock_stats: &mut LockStats,
) -> Result<(Vec<Answer>, u64)> {
    let (operation, match_field) = match op {
        SendOp::Upsert(field) => (
            IngestOperation::Upsert {
                external_id_field: field.clone(),
            },
            field.clone(),
        ),
        SendOp::Update => (IngestOperation::Update, "Id".to_string()),
        SendOp::Delete => (IngestOperation::Delete, "Id".to_string()),
        SendOp::Create => unreachable!("inserts never go through Bulk (see the module docs)"),
    };
    let records: Vec<Map<String, Value>> = rows
        .iter()
        .map(|p| match op {
            SendOp::Delete => Map::from_iter([(
                "Id".to_string(),
                p.payload.get("Id").cloned().unwrap_or(Value::Null),
            )]),
            _ => p.payload.clone(),
        })
        .collect();
    // The header is every column any record has (records of a JSON-lines source differ).
    let mut columns: Vec<String> = Vec::new();
    for record in &records {
        for name in flat_names(record) {
            if !columns.contains(&name) {
                columns.push(name);
            }
        }
    }
    columns.sort();
    let mut by_match: HashMap<String, usize> = HashMap::new();
    for (i, record) in records.iter().enumerate() {
        if let Some(value) = record
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(&match_field))
            .map(|(_, v)| cell(v))
        {
            by_match.entry(value).or_insert(i);
        }
    }
    let options = IngestOptions {
        columns: Some(columns),
        poll: poll.clone(),
        ..IngestOptions::default()
    };
    let summary = client
        .bulk()
        .ingest(object, operation)
        .options(options)
        .from_records(&records)
        .await
        .map_err(|e| Error::org(format!("the Bulk job for {object} failed"), e))?;
    let jobs = summary.jobs.len() as u64;
    let mut answers: Vec<Option<Answer>> = vec![None; rows.len()];
    let column = |row: &ResultRow| {
        row.values
            .iter()
            .find(|(c, _)| c.eq_ignore_ascii_case(&match_field))
            .map(|(_, v)| v.clone())
    };
    for job in &summary.jobs {
        let handle = client.bulk().ingest_job(job.id.clone());
        for kind in [
            ResultKind::Successful,
            ResultKind::Failed,
            ResultKind::Unprocessed,
        ] {
            let results = handle.results(kind).await.map_err(|e| {
                Error::org(format!("cannot read the results of Bulk job {}", job.id), e)
            })?;
            for row in results {
                let Some(i) = column(&row).and_then(|v| by_match.get(&v).copied()) else {
                    continue;
                };
                answers[i] = Some(match kind {
                    ResultKind::Successful => Answer::Applied { id: row.id.clone() },
                    ResultKind::Failed => {
                        let error = row.error.clone().unwrap_or_default();
                        let (code, message) = error
                            .split_once(':')
                            .map(|(c, m)| (c.trim().to_string(), m.trim().to_string()))
                            .unwrap_or_else(|| ("UNKNOWN".into(), error.clone()));
                        if matches!(op, SendOp::Delete) && code == "ENTITY_IS_DELETED" {
                            Answer::Applied { id: None }
                        } else {
                            Answer::Refused {
                                code,
                                message,
                                fields: Vec::new(),
                            }
                        }
                    }
                    _ => Answer::Refused {
                        code: "BULK_UNPROCESSED".into(),
                        message: format!(
                            "Bulk job {} did not process this row{}",
                            job.id,
                            job.error_message
                                .as_deref()
                                .map(|m| format!(": {m}"))
                                .unwrap_or_default()
                        ),
                        fields: Vec::new(),
                    },
                });
            }
        }
    }
    // Rows that met a locked parent go once more through Collections, with its retries and
    // serial fallback; rows no result mentions are treated as not applied.
    let locked: Vec<usize> = (0..answers.len())
        .filter(|&i| matches!(&answers[i], Some(Answer::Refused { code, .. }) if code == "UNABLE_TO_LOCK_ROW"))
        .collect();
    if !locked.is_empty() {
        let again: Vec<Map<String, Value>> = locked.iter().map(|&i| records[i].clone()).collect();
        let options = super::send::SendOptions {
            locks,
            allow_save_on_duplicates: false,
        };
        let retried = super::send::send(client, object, op, &again, options, lock_stats).await?;
        for (i, answer) in locked.into_iter().zip(retried) {
            answers[i] = Some(answer);
        }
    }
    let answers = answers
        .into_iter()
        .map(|a| {
            a.unwrap_or(Answer::Unknown {
                message: "no result of the Bulk job names this row".into(),
            })
        })
        .collect();
    Ok((answers, jobs))
}

/// The CSV column names a record becomes (`Account.External_Id__c` for a nested parent).
fn flat_names(record: &Map<String, Value>) -> Vec<String> {
    let mut out = Vec::new();
    for (key, value) in record {
        match value {
            Value::Object(nested) => {
                for inner in nested.keys() {
                    out.push(format!("{key}.{inner}"));
                }
            }
            _ => out.push(key.clone()),
        }
    }
    out
}

/// A value as the CSV cell the ingest writes.
fn cell(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => "#N/A".into(),
        other => other.to_string(),
    }
}
