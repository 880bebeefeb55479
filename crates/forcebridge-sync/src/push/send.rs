//! Sending records with sObject Collections (200 per call, one call at a time), and what
//! each record's answer means: applied, refused (with Salesforce's `errorCode`, message and
//! fields), or unknown (the call failed as a whole in a way that may have reached the org).
//! Records that meet `UNABLE_TO_LOCK_ROW` are sent again after a growing delay, then one per
//! call. Bulk API 2.0 is not used yet.

use forcebridge_client::{Client, RecordResult};
use serde_json::{Map, Value};

use super::config::LockRetry;
use crate::error::{Error, Result};

/// What a call does.
#[derive(Debug, Clone)]
pub(crate) enum SendOp {
    Create,
    Update,
    Upsert(String),
    Delete,
}

/// What happened to one record.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Answer {
    Applied {
        id: Option<String>,
    },
    Refused {
        code: String,
        message: String,
        fields: Vec<String>,
    },
    /// The call failed as a whole after it may have reached the org.
    Unknown {
        message: String,
    },
}

/// How records are sent.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SendOptions {
    pub(crate) locks: LockRetry,
    /// Send `Sforce-Duplicate-Rule-Header: allowSave=true`.
    pub(crate) allow_save_on_duplicates: bool,
}

/// Counts of the lock handling, for the summary.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct LockStats {
    pub(crate) retried: u64,
    pub(crate) serial: u64,
}

const LOCKED: &str = "UNABLE_TO_LOCK_ROW";

/// Codes the client gives a whole call that failed without an answer from the org.
fn outcome_unknown(code: &str) -> bool {
    matches!(
        code,
        "TRANSPORT_FAILURE" | "UNREADABLE_RESPONSE" | "CALL_FAILED"
    )
}

/// Sends `records` (each a JSON object of fields; for a delete, its `Id` is used) and returns
/// one answer per record, in order.
pub(crate) async fn send(
    client: &Client,
    object: &str,
    op: &SendOp,
    records: &[Map<String, Value>],
    options: SendOptions,
    stats: &mut LockStats,
) -> Result<Vec<Answer>> {
    let dup = options.allow_save_on_duplicates;
    let mut answers = call(client, object, op, records, dup).await?;
    let mut delay = options.locks.first_delay;
    for _ in 0..options.locks.retries {
        let locked: Vec<usize> = (0..answers.len())
            .filter(|&i| is_locked(&answers[i]))
            .collect();
        if locked.is_empty() {
            return Ok(answers);
        }
        tracing::info!(
            object,
            records = locked.len(),
            delay_ms = delay.as_millis() as u64,
            "records met UNABLE_TO_LOCK_ROW; sending them again"
        );
        tokio::time::sleep(delay).await;
        delay *= 2;
        stats.retried += locked.len() as u64;
        let again: Vec<Map<String, Value>> = locked.iter().map(|&i| records[i].clone()).collect();
        let retried = call(client, object, op, &again, dup).await?;
        for (i, answer) in locked.into_iter().zip(retried) {
            answers[i] = answer;
        }
    }
    // Still locked: one record per call, so no record waits on another's parent.
    for i in 0..answers.len() {
        if is_locked(&answers[i]) {
            stats.serial += 1;
            let mut one = call(client, object, op, std::slice::from_ref(&records[i]), dup).await?;
            answers[i] = one.remove(0);
        }
    }
    Ok(answers)
}

fn is_locked(answer: &Answer) -> bool {
    matches!(answer, Answer::Refused { code, .. } if code == LOCKED)
}

async fn call(
    client: &Client,
    object: &str,
    op: &SendOp,
    records: &[Map<String, Value>],
    allow_save_on_duplicates: bool,
) -> Result<Vec<Answer>> {
    let collection = client
        .collection(object)
        .allow_save_on_duplicates(allow_save_on_duplicates);
    let results = match op {
        SendOp::Create => collection.create(records).await,
        SendOp::Update => collection.update(records).await,
        SendOp::Upsert(field) => collection.upsert(field, records).await,
        SendOp::Delete => {
            let ids: Vec<&str> = records
                .iter()
                .map(|r| r.get("Id").and_then(Value::as_str).unwrap_or_default())
                .collect();
            collection.delete(&ids).await
        }
    }
    .map_err(|e| Error::org(format!("cannot send {object} records"), e))?;
    Ok(results.into_iter().map(|r| answer(op, r)).collect())
}

fn answer(op: &SendOp, result: RecordResult) -> Answer {
    if result.success {
        return Answer::Applied { id: result.id };
    }
    let Some(first) = result.errors.first() else {
        return Answer::Refused {
            code: "UNKNOWN".into(),
            message: "the org reported a failure without a reason".into(),
            fields: Vec::new(),
        };
    };
    if matches!(op, SendOp::Delete) && first.error_code == "ENTITY_IS_DELETED" {
        // Already in the recycle bin (a retried delete, or someone else's): what we wanted.
        return Answer::Applied { id: None };
    }
    if outcome_unknown(&first.error_code) {
        return Answer::Unknown {
            message: first.message.clone(),
        };
    }
    let message = result
        .errors
        .iter()
        .map(|e| e.message.as_str())
        .collect::<Vec<_>>()
        .join("; ");
    let mut fields: Vec<String> = result
        .errors
        .iter()
        .flat_map(|e| e.fields.clone())
        .collect();
    fields.dedup();
    Answer::Refused {
        code: first.error_code.clone(),
        message,
        fields,
    }
}
