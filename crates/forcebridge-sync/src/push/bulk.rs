//! Sending a large set through Bulk API 2.0: rows gathered into jobs of at most
//! `job_rows` (10,000 by default, Salesforce's advice against lock contention), sorted by
//! parent, uploaded and waited for, and each job's successful and failed results mapped back
//! to the rows by the value of the match field (the external id, or `Id`).
//!
//! For the idempotent operations (upsert, update, delete, [`send`]) a job cut off by a crash
//! is simply sent again. Rows that failed with `UNABLE_TO_LOCK_ROW` go once more through
//! sObject Collections, with its retries and serial fallback.
//!
//! An insert is not idempotent, so its job is made in steps the caller commits between
//! ([`insert_job`], then [`insert_results`]): the CSV is written first (nothing sent), the job
//! created alone, and only once the caller has recorded its id is anything uploaded; the
//! results are mapped back to rows by the marker field, which holds each row's key. This
//! module sends and reads; what is committed when is `mod.rs`'s.

use std::collections::HashMap;

use forcebridge_client::Client;
use forcebridge_client::bulk::{
    IngestJob, IngestOperation, IngestOptions, JobInfo, JobState, ResultKind, ResultRow,
};
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
        SendOp::Create => unreachable!("inserts go through insert_job (see the module docs)"),
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
    let columns = columns_of(&records);
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
                        let (code, message) = split_error(row.error.as_deref());
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
                    _ => unprocessed(&job.id, job.error_message.as_deref()),
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

/// A Bulk insert job created alone, with the CSV to upload into it once its id is recorded.
pub(crate) struct InsertJob {
    pub(crate) job: IngestJob,
    csv: Vec<u8>,
}

/// Writes the CSV of `records` (each carrying the marker field) and creates an insert job for
/// it, uploading nothing: the caller records the job's id, then calls [`InsertJob::upload`].
/// A CSV that cannot be one upload is refused before anything is sent.
pub(crate) async fn insert_job(
    client: &Client,
    object: &str,
    records: &[Map<String, Value>],
) -> Result<InsertJob> {
    let options = IngestOptions {
        columns: Some(columns_of(records)),
        ..IngestOptions::default()
    };
    let builder = client
        .bulk()
        .ingest(object, IngestOperation::Insert)
        .options(options);
    let csv = builder.records_csv(records).map_err(|e| {
        Error::org(
            format!(
                "cannot write the {object} rows as CSV for a Bulk insert job (nothing was sent)"
            ),
            e,
        )
    })?;
    let job = builder
        .create_job()
        .await
        .map_err(|e| Error::org(format!("cannot create a Bulk insert job for {object}"), e))?;
    Ok(InsertJob {
        job,
        csv: csv.to_vec(),
    })
}

impl InsertJob {
    /// Uploads the rows; the job stays `Open`, loading nothing, until it is closed.
    pub(crate) async fn upload(&self) -> Result<()> {
        let id = self.job.id();
        self.job.upload_csv(self.csv.clone()).await.map_err(|e| {
            Error::org(
                format!("the upload of Bulk insert job {id} failed; the job is recorded and the next run reads it back"),
                e,
            )
        })
    }

    /// Closes the job, so the org processes it.
    pub(crate) async fn close(&self) -> Result<()> {
        let id = self.job.id();
        self.job.close().await.map(drop).map_err(|e| {
            Error::org(
                format!("cannot close Bulk insert job {id}; the job is recorded and the next run reads it back"),
                e,
            )
        })
    }
}

/// Waits for a closed insert job to finish (or to be found still `Open`).
pub(crate) async fn wait(
    job: &IngestJob,
    poll: &forcebridge_client::bulk::PollOptions,
) -> Result<JobInfo> {
    job.wait(poll).await.map_err(|e| {
        Error::org(
            format!("cannot follow Bulk insert job {}; the job is recorded and the next run reads it back", job.id()),
            e,
        )
    })
}

/// One row an insert job's results name.
pub(crate) struct NamedRow {
    pub(crate) answer: Answer,
    /// The row as uploaded, as a JSON object, for a reject entry.
    pub(crate) row: Value,
}

/// What a finished insert job's results say, by the marker value (the row's key): applied
/// (with the new record's Id), refused (Salesforce's code and message), or unprocessed (not
/// created; a refusal with code `BULK_UNPROCESSED`). Rows the results do not name are absent.
/// A `JobComplete` job processed every row, so its unprocessed results are not read.
pub(crate) async fn insert_results(
    job: &IngestJob,
    info: &JobInfo,
    marker: &str,
) -> Result<HashMap<String, NamedRow>> {
    let mut kinds = vec![ResultKind::Successful, ResultKind::Failed];
    if info.job_state() != Some(JobState::JobComplete) {
        kinds.push(ResultKind::Unprocessed);
    }
    let mut out = HashMap::new();
    for kind in kinds {
        let results = job.results(kind).await.map_err(|e| {
            Error::org(
                format!("cannot read the results of Bulk insert job {}", job.id()),
                e,
            )
        })?;
        for row in results {
            let Some(key) = row
                .values
                .iter()
                .find(|(c, _)| c.eq_ignore_ascii_case(marker))
                .map(|(_, v)| v.clone())
            else {
                continue;
            };
            let answer = match kind {
                ResultKind::Successful => Answer::Applied { id: row.id.clone() },
                ResultKind::Failed => {
                    let (code, message) = split_error(row.error.as_deref());
                    Answer::Refused {
                        code,
                        message,
                        fields: Vec::new(),
                    }
                }
                _ => unprocessed(job.id(), info.error_message.as_deref()),
            };
            let uploaded: Map<String, Value> = row
                .values
                .iter()
                .map(|(c, v)| (c.clone(), Value::String(v.clone())))
                .collect();
            out.insert(
                key,
                NamedRow {
                    answer,
                    row: Value::Object(uploaded),
                },
            );
        }
    }
    Ok(out)
}

/// `CODE:message` of a failed result, split.
fn split_error(error: Option<&str>) -> (String, String) {
    let error = error.unwrap_or_default();
    error
        .split_once(':')
        .map(|(c, m)| (c.trim().to_string(), m.trim().to_string()))
        .unwrap_or_else(|| ("UNKNOWN".into(), error.to_string()))
}

/// The error code of a row a job never processed (not one of Salesforce's codes).
pub(crate) const UNPROCESSED: &str = "BULK_UNPROCESSED";

/// The answer for a row a job never processed.
fn unprocessed(job: &str, error_message: Option<&str>) -> Answer {
    Answer::Refused {
        code: UNPROCESSED.into(),
        message: format!(
            "Bulk job {job} did not process this row{}",
            error_message.map(|m| format!(": {m}")).unwrap_or_default()
        ),
        fields: Vec::new(),
    }
}

/// The header of `records`' CSV: every column any record has (records of a JSON-lines source
/// differ), sorted.
fn columns_of(records: &[Map<String, Value>]) -> Vec<String> {
    let mut columns: Vec<String> = Vec::new();
    for record in records {
        for name in flat_names(record) {
            if !columns.contains(&name) {
                columns.push(name);
            }
        }
    }
    columns.sort();
    columns
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
