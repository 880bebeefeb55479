//! Push (reverse ETL): rows from a CSV or JSON-lines file, or a table or query in SQLite or
//! PostgreSQL, into Salesforce, each source row applied once.
//!
//! ```no_run
//! # async fn demo(client: forcebridge_client::Client) -> forcebridge_sync::Result<()> {
//! use forcebridge_sync::Destination;
//! use forcebridge_sync::push::{self, Operation, PushConfig, Source, SourceQuery};
//!
//! let db = Destination::parse("sqlite:warehouse.db")?;
//! let config = PushConfig::new(
//!     "Account",
//!     Source::Sqlite { path: "warehouse.db".into(), query: SourceQuery::Table("accounts".into()) },
//!     Operation::Upsert { external_id_field: "External_Id__c".into() },
//!     db,
//! );
//! let summary = push::run(&client, &config, &|_progress| {}).await?;
//! println!("{} sent, {} failed, {} unchanged", summary.sent, summary.failed, summary.unchanged);
//! # Ok(()) }
//! ```
//!
//! A run reads the source twice, a window at a time, never whole:
//!
//! 1. **Plan**: every row is mapped and checked against the describe (`record.rs`), its
//!    fingerprint compared with the state; the counts give the forecast of API calls, which is
//!    refused over the budget, and a mirror's deletes, refused over `max_deletes`. A dry run
//!    stops here, having written nothing.
//! 2. **Send**: the same rows again; invalid ones go to the rejects, new and changed ones are
//!    sorted by parent and sent 200 per call (`send.rs`), and each call's answers are committed
//!    with the state in one transaction (`state.rs`).
//!
//! **Exactly once.** Upserts, updates and deletes are idempotent: a crash before their answer
//! is committed only means the rows are sent again. An insert is not, so before an insert call
//! its rows are recorded as in flight (`pending`), each carrying its key in the marker field;
//! the next run (or the same run, after a call whose answer was lost) first reads which
//! markers exist in Salesforce (`SELECT Id, marker WHERE marker IN (...)`): found rows are
//! settled with that record's Id, missing ones are known not to exist and are sent again.
//! Nothing in flight is ever resolved by sending it again.
//!
//! **Collections or Bulk.** When the plan finds at least `bulk.threshold` rows to send, the
//! rows go through Bulk API 2.0 jobs of `bulk.job_rows` rows (`bulk.rs`), each job's results
//! mapped back to the rows by their match field and committed at once. An upsert, update or
//! delete job cut off by a crash is sent again, which these operations allow. An insert's new
//! rows go through insert jobs made in steps, each committed before the next:
//!
//! 1. the CSV is written (nothing sent) and the job created alone;
//! 2. its id, object, operation and keys go into `_sf_push_jobs`, in the transaction that
//!    marks its rows in flight; only then is anything uploaded;
//! 3. it is uploaded, closed and waited for; its successful and failed results are mapped
//!    back to the rows by the marker, and the rows settled (Ids and fingerprints, rejects)
//!    in the transaction that deletes the job's record. Rows no result names stay in flight
//!    and are settled by reading their markers.
//!
//! A run first resolves every recorded job by reading it: one still `Open` (its upload may be
//! partial, and it loads nothing unless closed) is aborted and its rows counted not sent; one
//! closed is waited for and its results settle its rows as above, and the rows it never
//! processed (its unprocessed results) are known not created and sent again when it failed
//! part way; when it was aborted part way they are left to the marker query, which reads
//! them (whether a batch in flight at the abort can still commit is not documented). A closed job still `UploadComplete` or `InProgress` when
//! `bulk.poll.timeout` runs out may yet create any of its rows, so the run stops there with
//! nothing sent, naming the job and its state; its rows stay in flight and its record stays,
//! for a later run. Then the marker query settles whatever is still in flight, each row
//! counted once in `resolved_in_flight`.

mod bulk;
mod config;
mod record;
mod send;
mod source;
mod state;

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use forcebridge_catalog::Object;
use forcebridge_client::bulk::JobState;
use forcebridge_client::{Access, Client};
use forcebridge_soql::builder::{QueryBuilder, field};
use futures_util::TryStreamExt;
use serde::Serialize;
use serde_json::{Map, Value};

#[doc(hidden)]
pub use config::BulkInsertStep;
pub use config::{
    BulkSettings, ChangeDetection, LockRetry, Mapping, Mirror, Operation, PushConfig, Source,
    SourceQuery,
};

use crate::error::{Error, Result};
use record::{Checker, Invalid, Prepared};
use send::{Answer, LockStats, SendOp};
use state::{Commit, KeyState, RecordedJob, RejectRow, Settled, StateStore};

/// Records per sObject Collections call.
const CALL_SIZE: usize = 200;
/// API calls a Bulk job is forecast to cost: create, upload, close, the polls while it runs,
/// and its successful, failed and unprocessed results (14 measured against the local org for
/// a job of 10,000 rows).
const BULK_CALLS_PER_JOB: u64 = 14;
/// API calls a Bulk insert job is forecast to cost: create, upload, close, the polls while it
/// runs, and its successful and failed results, each read as the job's info and the CSV
/// (unprocessed results are read only for a job that did not complete): 7 calls plus the polls.
/// Measured against the local org: 43 calls for three jobs of 1,000 rows polled every 5 to
/// 20 ms (14.3 a job, the describe aside), so 15.
const BULK_INSERT_CALLS_PER_JOB: u64 = 15;

/// Where a run is, for a progress display.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PushProgress {
    pub phase: Phase,
    /// Rows read in this phase.
    pub rows: u64,
    /// Rows the send phase will send, once the plan knows.
    pub to_send: Option<u64>,
    /// Records sent so far (sent again after a lock counts once).
    pub sent: u64,
}

/// The phases of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Plan,
    Send,
    Delete,
}

/// What a run did (or, for a dry run, would do).
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct PushSummary {
    pub object: String,
    pub operation: String,
    pub dry_run: bool,
    /// Source rows read (in the plan).
    pub rows: u64,
    /// Rows that failed validation, never sent.
    pub invalid: u64,
    /// Valid rows whose fingerprint Salesforce already confirmed.
    pub unchanged: u64,
    /// Rows planned to be created (new keys of an insert; an upsert's new keys cannot be told
    /// from updates before the answer, and count here as new when the state has no record).
    pub to_insert: u64,
    /// Rows planned to be updated (changed keys).
    pub to_update: u64,
    /// Records a mirror planned to delete.
    pub to_delete: u64,
    /// Records sent (each once, whatever its retries).
    pub sent: u64,
    pub succeeded: u64,
    /// Records Salesforce refused; they are in the rejects and are sent again next run.
    pub failed: u64,
    /// Records a mirror deleted.
    pub deleted: u64,
    /// In-flight inserts resolved by reading, each counted once: named by the results of a
    /// recorded Bulk job, in a job found never closed (so not sent), or found in Salesforce by
    /// their marker or found missing (and sent again).
    pub resolved_in_flight: u64,
    /// Bulk insert jobs an earlier run left recorded in `_sf_push_jobs`, resolved by reading
    /// them back (aborted if never closed, else their results read).
    pub bulk_jobs_resolved: u64,
    /// Records sent again after `UNABLE_TO_LOCK_ROW` (per retry), and sent alone at the end.
    pub lock_retries: u64,
    pub serial_sends: u64,
    /// Bulk API 2.0 jobs the run used (0 when every row went through Collections).
    pub bulk_jobs: u64,
    /// The API calls the plan forecast for the whole run.
    pub forecast_api_calls: u64,
    /// API calls the run made (retries included).
    pub api_calls: u64,
    /// A sample of planned changes against Salesforce's current values (dry runs only).
    pub diff: Vec<RecordDiff>,
    #[serde(serialize_with = "seconds")]
    pub duration: Duration,
}

/// One planned record's changes against Salesforce's current values.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct RecordDiff {
    pub key: String,
    /// `insert` (no record yet) or `update`.
    pub action: String,
    pub changes: Vec<FieldChange>,
}

/// One field's current and planned values.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct FieldChange {
    pub field: String,
    pub current: Value,
    pub new: Value,
}

fn seconds<S: serde::Serializer>(d: &Duration, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

/// How many planned records a dry run compares with Salesforce.
const DIFF_SAMPLE: usize = 5;

/// Runs one push. Checks the configuration, refuses a read-only connection before anything,
/// plans, and sends; see the module documentation.
pub async fn run(
    client: &Client,
    config: &PushConfig,
    on_progress: &(dyn Fn(&PushProgress) + Send + Sync),
) -> Result<PushSummary> {
    config.validate()?;
    if !config.dry_run && client.access() == Access::ReadOnly {
        return Err(Error::refused(format!(
            "push to {}: refused, because this connection is read-only (nothing was sent)",
            config.object
        )));
    }
    let started = Instant::now();
    let calls_at_start = client.requests_sent();
    let calls = || client.requests_sent() - calls_at_start;
    let target = config.target();
    let state = if config.dry_run {
        StateStore::open_existing(&config.state).await?
    } else {
        Some(StateStore::open(&config.state).await?)
    };
    let object = describe(client, &config.object).await?;
    check_object(config, &object)?;
    let mut checker = Checker {
        object,
        parents: HashMap::new(),
        operation: config.operation.clone(),
        mapping: config.mapping.clone(),
        key_column: config.key_column.clone(),
    };
    let mut summary = PushSummary {
        object: checker.object.name.clone(),
        operation: config.operation.as_str().into(),
        dry_run: config.dry_run,
        rows: 0,
        invalid: 0,
        unchanged: 0,
        to_insert: 0,
        to_update: 0,
        to_delete: 0,
        sent: 0,
        succeeded: 0,
        failed: 0,
        deleted: 0,
        resolved_in_flight: 0,
        bulk_jobs_resolved: 0,
        lock_retries: 0,
        serial_sends: 0,
        bulk_jobs: 0,
        forecast_api_calls: 0,
        api_calls: 0,
        diff: Vec::new(),
        duration: Duration::ZERO,
    };

    // Inserts an earlier run left in flight are resolved by reading, before anything else.
    if let (
        Some(state),
        Operation::Insert {
            marker_field: Some(marker),
        },
    ) = (&state, &config.operation)
        && !config.dry_run
    {
        // Recorded Bulk jobs first: their results name their rows; whatever they do not name
        // stays in flight for the marker query, so no row is counted twice.
        resolve_jobs(client, config, state, &target, marker, &mut summary).await?;
        let pending = state.pending(&target).await?;
        let (found, missing) =
            resolve_in_flight(client, state, &target, &checker.object, marker, pending).await?;
        summary.resolved_in_flight += found + missing;
    }

    // 1. Plan.
    let mut seen: HashSet<String> = HashSet::new();
    let mut sample: Vec<Prepared> = Vec::new();
    let mut to_send = 0u64;
    let mut rows = source::open(&config.source, config.window).await?;
    while let Some(window) = rows.next_window().await? {
        describe_parents(client, &mut checker, &window).await?;
        summary.rows += window.len() as u64;
        let planned = plan_window(
            &checker,
            state.as_ref(),
            &target,
            window,
            &mut seen,
            config.change_detection,
        )
        .await?;
        summary.invalid += planned.invalid.len() as u64;
        summary.unchanged += planned.unchanged;
        for (prepared, known) in planned.to_send {
            to_send += 1;
            if known.record_id.is_some() || matches!(config.operation, Operation::Update) {
                summary.to_update += 1;
            } else {
                summary.to_insert += 1;
            }
            if config.dry_run && sample.len() < DIFF_SAMPLE {
                sample.push(prepared);
            }
        }
        on_progress(&PushProgress {
            phase: Phase::Plan,
            rows: summary.rows,
            to_send: None,
            sent: 0,
        });
    }
    drop(rows);
    let deletes: Vec<(String, String)> = match (&config.mirror, &state) {
        (Some(_), Some(state)) => state
            .records(&target)
            .await?
            .into_iter()
            .filter(|(key, _)| !seen.contains(key))
            .collect(),
        _ => Vec::new(),
    };
    summary.to_delete = deletes.len() as u64;
    if let Some(mirror) = &config.mirror
        && summary.to_delete > mirror.max_deletes
    {
        return Err(Error::refused(format!(
            "mirror: {} records of {} left the source, more than max deletes {}; nothing was sent",
            summary.to_delete, config.object, mirror.max_deletes
        )));
    }
    // Bulk API 2.0 is not sent the duplicate-rule header (whether it honours one is
    // UNVERIFIED), so a push that asks for it stays on Collections.
    let use_bulk = !config.allow_save_on_duplicates && to_send >= config.bulk.threshold;
    let job_rows = config.bulk.job_rows as u64;
    let send_calls = match (&config.operation, use_bulk) {
        (_, false) => to_send.div_ceil(CALL_SIZE as u64),
        // New rows in insert jobs, changed ones in update jobs, each gathered apart.
        (Operation::Insert { .. }, true) => {
            summary.to_insert.div_ceil(job_rows) * BULK_INSERT_CALLS_PER_JOB
                + summary.to_update.div_ceil(job_rows) * BULK_CALLS_PER_JOB
        }
        (_, true) => to_send.div_ceil(job_rows) * BULK_CALLS_PER_JOB,
    };
    summary.forecast_api_calls =
        calls() + send_calls + summary.to_delete.div_ceil(CALL_SIZE as u64);
    tracing::info!(
        object = %config.object,
        rows = summary.rows,
        to_send,
        to_delete = summary.to_delete,
        forecast_api_calls = summary.forecast_api_calls,
        "push planned"
    );
    if let Some(budget) = config.budget
        && summary.forecast_api_calls > budget
    {
        return Err(Error::budget(format!(
            "budget: the push would make about {} API calls, over the budget of {budget}; nothing was sent",
            summary.forecast_api_calls
        )));
    }
    if config.dry_run {
        summary.diff = diff_sample(client, &checker, &config.operation, sample).await?;
        summary.api_calls = calls();
        summary.duration = started.elapsed();
        return Ok(summary);
    }
    let state = state.expect("a run that writes opens its state");
    let sending_since = state::now();

    // 2. Send.
    if to_send > 0 || summary.invalid > 0 {
        let mut seen: HashSet<String> = HashSet::new();
        let mut rows = source::open(&config.source, config.window).await?;
        let mut read = 0u64;
        let mut stats = LockStats::default();
        let sender = Sender {
            client,
            config,
            state: &state,
            target: &target,
        };
        // Rows gathered for the next Bulk job, when the set is large enough for Bulk: an
        // insert's new rows apart, for insert jobs.
        let mut bulk_batch: Vec<Planned> = Vec::new();
        let mut bulk_creates: Vec<Planned> = Vec::new();
        let sending = |rows: u64, sent: u64| {
            on_progress(&PushProgress {
                phase: Phase::Send,
                rows,
                to_send: Some(to_send),
                sent,
            })
        };
        while let Some(window) = rows.next_window().await? {
            describe_parents(client, &mut checker, &window).await?;
            read += window.len() as u64;
            let planned = plan_window(
                &checker,
                Some(&state),
                &target,
                window,
                &mut seen,
                config.change_detection,
            )
            .await?;
            state
                .commit(
                    &target,
                    Commit {
                        rejected: planned.invalid.iter().map(validation_reject).collect(),
                        ..Commit::default()
                    },
                )
                .await?;
            if use_bulk {
                for row in planned.to_send {
                    let create = matches!(config.operation, Operation::Insert { .. })
                        && row.1.record_id.is_none();
                    if create {
                        bulk_creates.push(row);
                    } else {
                        bulk_batch.push(row);
                    }
                }
                while let Some(job) = full_job(&mut bulk_creates, config.bulk.job_rows) {
                    send_bulk_insert(sender, &checker.object, job, &mut summary, &mut stats)
                        .await?;
                    sending(read, summary.sent);
                }
                while let Some(job) = full_job(&mut bulk_batch, config.bulk.job_rows) {
                    send_bulk(sender, job, &mut summary, &mut stats).await?;
                    sending(read, summary.sent);
                }
                continue;
            }
            let mut batch = planned.to_send;
            // Children of one parent travel together, in as few calls as possible.
            batch.sort_by(|a, b| a.0.parent.cmp(&b.0.parent));
            for chunk in batch.chunks(CALL_SIZE) {
                send_chunk(sender, &checker.object, chunk, &mut summary, &mut stats).await?;
                sending(read, summary.sent);
            }
        }
        send_bulk(sender, bulk_batch, &mut summary, &mut stats).await?;
        send_bulk_insert(
            sender,
            &checker.object,
            bulk_creates,
            &mut summary,
            &mut stats,
        )
        .await?;
        summary.lock_retries = stats.retried;
        summary.serial_sends = stats.serial;
    }

    // 3. A mirror's deletes.
    if !deletes.is_empty() {
        let mut stats = LockStats::default();
        for chunk in deletes.chunks(CALL_SIZE) {
            let records: Vec<Map<String, Value>> = chunk
                .iter()
                .map(|(_, id)| Map::from_iter([("Id".to_string(), Value::String(id.clone()))]))
                .collect();
            let answers = send::send(
                client,
                &config.object,
                &SendOp::Delete,
                &records,
                config.send_options(),
                &mut stats,
            )
            .await?;
            let mut commit = Commit::default();
            for ((key, _), answer) in chunk.iter().zip(answers) {
                match answer {
                    Answer::Applied { .. } => {
                        summary.deleted += 1;
                        commit.forgotten.push(key.clone());
                    }
                    Answer::Refused {
                        code,
                        message,
                        fields,
                    } => {
                        summary.failed += 1;
                        commit.rejected.push(RejectRow {
                            key: key.clone(),
                            number: 0,
                            stage: "salesforce",
                            error_code: code,
                            message: format!("mirror delete: {message}"),
                            fields,
                            row: "{}".into(),
                        });
                    }
                    Answer::Unknown { message } => {
                        // A delete is idempotent: the next run tries it again.
                        summary.failed += 1;
                        tracing::warn!(key, message, "a mirror delete's answer was lost");
                    }
                }
            }
            state.commit(&target, commit).await?;
            on_progress(&PushProgress {
                phase: Phase::Delete,
                rows: summary.rows,
                to_send: Some(to_send),
                sent: summary.sent,
            });
        }
        summary.lock_retries += stats.retried;
        summary.serial_sends += stats.serial;
    }
    if let Some(path) = &config.rejects_file {
        write_rejects(path, state.rejects_since(&target, &sending_since).await?)?;
    }
    summary.api_calls = calls();
    summary.duration = started.elapsed();
    tracing::info!(
        object = %config.object,
        sent = summary.sent,
        succeeded = summary.succeeded,
        failed = summary.failed,
        deleted = summary.deleted,
        api_calls = summary.api_calls,
        "push finished"
    );
    Ok(summary)
}

/// Writes the run's rejects to `path`, one JSON object per line.
fn write_rejects(path: &std::path::Path, rejects: Vec<Value>) -> Result<()> {
    use std::io::Write;
    let fail = |e: std::io::Error| {
        Error::new(
            crate::error::ErrorKind::Destination,
            format!("cannot write the rejects file {}", path.display()),
        )
        .with_source(e)
    };
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).map_err(fail)?);
    for reject in rejects {
        writeln!(out, "{reject}").map_err(fail)?;
    }
    out.flush().map_err(fail)
}

async fn describe(client: &Client, name: &str) -> Result<Object> {
    let describe = client
        .sobject(name)
        .describe()
        .await
        .map_err(|e| Error::org(format!("cannot describe {name}"), e))?;
    Ok(Object::from_describe(&describe))
}

/// The object and the operation's fields allow the push at all.
fn check_object(config: &PushConfig, object: &Object) -> Result<()> {
    let ops = &object.operations;
    let allowed = match &config.operation {
        Operation::Insert { .. } => ops.createable,
        Operation::Update => ops.updateable,
        Operation::Upsert { .. } => ops.createable && ops.updateable,
        Operation::Delete => ops.deletable,
    };
    if !allowed {
        return Err(Error::config(format!(
            "{}: the org does not allow {} on {}",
            config.operation.as_str(),
            config.operation.as_str(),
            object.name
        )));
    }
    if let Operation::Upsert { external_id_field } = &config.operation {
        match object.field(external_id_field) {
            Some(f) if f.external_id || f.name == "Id" => {}
            Some(f) => {
                return Err(Error::config(format!(
                    "external id: {}.{} is not an external id field",
                    object.name, f.name
                )));
            }
            None => {
                return Err(Error::config(format!(
                    "external id: unknown field {external_id_field} on {}",
                    object.name
                )));
            }
        }
    }
    if let Operation::Insert {
        marker_field: Some(marker),
    } = &config.operation
    {
        match object.field(marker) {
            Some(f) if f.createable && f.filterable => {}
            _ => {
                return Err(Error::config(format!(
                    "marker field: {marker} must be a field of {} that can be set on create and filtered on",
                    object.name
                )));
            }
        }
    }
    Ok(())
}

/// Describes the parents the window's relationship columns reach, once per run.
async fn describe_parents(
    client: &Client,
    checker: &mut Checker,
    window: &[source::SourceRow],
) -> Result<()> {
    let mut wanted: Vec<String> = window
        .iter()
        .flat_map(|r| checker.relationships_in(r))
        .collect();
    wanted.sort();
    wanted.dedup();
    for relationship in wanted {
        let Some(reference) = Checker::reference_field(&checker.object, &relationship).cloned()
        else {
            // Left for the row check to report, naming the row.
            continue;
        };
        let Some(target) = reference
            .reference
            .as_ref()
            .and_then(|r| r.targets.first())
            .cloned()
        else {
            continue;
        };
        let parent = describe(client, &target).await?;
        checker.parents.insert(relationship, (reference, parent));
    }
    Ok(())
}

/// A row to send, with what the state knows of its key.
type Planned = (Prepared, KeyState);

/// One window, checked and compared with the state.
struct PlannedWindow {
    invalid: Vec<Invalid>,
    unchanged: u64,
    to_send: Vec<(Prepared, KeyState)>,
}

async fn plan_window(
    checker: &Checker,
    state: Option<&StateStore>,
    target: &str,
    window: Vec<source::SourceRow>,
    seen: &mut HashSet<String>,
    detection: ChangeDetection,
) -> Result<PlannedWindow> {
    let mut invalid = Vec::new();
    let mut valid = Vec::new();
    for row in window {
        match checker.check(row) {
            Ok(prepared) => {
                if !seen.insert(prepared.key.clone()) {
                    invalid.push(Invalid {
                        number: prepared.number,
                        key: prepared.key.clone(),
                        problems: vec![record::Problem {
                            field: String::new(),
                            reason: format!(
                                "the key {:?} appears more than once in the source; only its first row is sent",
                                prepared.key
                            ),
                        }],
                        row: prepared.row,
                    });
                    continue;
                }
                valid.push(prepared);
            }
            Err(bad) => {
                let bad = *bad;
                if !bad.key.starts_with('#') {
                    seen.insert(bad.key.clone());
                }
                invalid.push(bad);
            }
        }
    }
    let known = match state {
        Some(state) => {
            state
                .lookup(target, valid.iter().map(|p| p.key.clone()).collect())
                .await?
        }
        None => HashMap::new(),
    };
    let mut unchanged = 0;
    let mut to_send = Vec::new();
    for prepared in valid {
        let key_state = known.get(&prepared.key).cloned().unwrap_or_default();
        let same = key_state.fingerprint.as_deref() == Some(prepared.fingerprint.as_str());
        if same && detection == ChangeDetection::Changed {
            unchanged += 1;
        } else {
            to_send.push((prepared, key_state));
        }
    }
    Ok(PlannedWindow {
        invalid,
        unchanged,
        to_send,
    })
}

fn validation_reject(invalid: &Invalid) -> RejectRow {
    RejectRow {
        key: invalid.key.clone(),
        number: invalid.number,
        stage: "validation",
        error_code: "INVALID_ROW".into(),
        message: invalid
            .problems
            .iter()
            .map(|p| p.reason.as_str())
            .collect::<Vec<_>>()
            .join("; "),
        fields: invalid
            .problems
            .iter()
            .map(|p| p.field.clone())
            .filter(|f| !f.is_empty())
            .collect(),
        row: Value::Object(invalid.row.clone()).to_string(),
    }
}

/// Sends one chunk (at most 200 rows) and commits its answers.
async fn send_chunk(
    sender: Sender<'_>,
    object: &Object,
    chunk: &[(Prepared, KeyState)],
    summary: &mut PushSummary,
    stats: &mut LockStats,
) -> Result<()> {
    let Sender {
        client,
        config,
        state,
        target,
    } = sender;
    // An insert's rows already created (a changed row) are updated by their Id; the others
    // are created, recorded in flight first.
    let (creates, others): (Vec<&Planned>, Vec<&Planned>) = match &config.operation {
        Operation::Insert { .. } => chunk.iter().partition(|(_, k)| k.record_id.is_none()),
        _ => (Vec::new(), chunk.iter().collect()),
    };
    if !creates.is_empty() {
        state
            .commit(
                target,
                Commit {
                    pending: creates
                        .iter()
                        .map(|(p, _)| (p.key.clone(), p.fingerprint.clone()))
                        .collect(),
                    ..Commit::default()
                },
            )
            .await?;
        let records: Vec<Map<String, Value>> =
            creates.iter().map(|(p, _)| p.payload.clone()).collect();
        let answers = send::send(
            client,
            &config.object,
            &SendOp::Create,
            &records,
            config.send_options(),
            stats,
        )
        .await?;
        let mut lost = Vec::new();
        let rows: Vec<&Prepared> = creates.iter().map(|(p, _)| p).collect();
        let commit = settle(&rows, answers, summary, &mut lost);
        state.commit(target, commit).await?;
        settle_lost(
            client,
            state,
            target,
            object,
            marker_of(config),
            lost,
            summary,
        )
        .await?;
    }
    if !others.is_empty() {
        let op = match &config.operation {
            Operation::Insert { .. } | Operation::Update => SendOp::Update,
            Operation::Upsert { external_id_field } => SendOp::Upsert(external_id_field.clone()),
            Operation::Delete => SendOp::Delete,
        };
        let records: Vec<Map<String, Value>> = others
            .iter()
            .map(|(p, k)| {
                let mut payload = p.payload.clone();
                if let (Operation::Insert { .. }, Some(id)) = (&config.operation, &k.record_id) {
                    payload.insert("Id".into(), Value::String(id.clone()));
                }
                payload
            })
            .collect();
        let answers = send::send(
            client,
            &config.object,
            &op,
            &records,
            config.send_options(),
            stats,
        )
        .await?;
        let rows: Vec<&Prepared> = others.iter().map(|(p, _)| p).collect();
        commit_idempotent(config, state, target, &rows, answers, summary).await?;
    }
    Ok(())
}

/// Commits the answers of an idempotent operation (update, upsert, delete): a lost answer is
/// a failure like a refusal, sent again next run.
async fn commit_idempotent(
    config: &PushConfig,
    state: &StateStore,
    target: &str,
    rows: &[&Prepared],
    answers: Vec<Answer>,
    summary: &mut PushSummary,
) -> Result<()> {
    let mut lost = Vec::new();
    let mut commit = settle(rows, answers, summary, &mut lost);
    for p in lost {
        summary.failed += 1;
        commit.rejected.push(RejectRow {
            key: p.key.clone(),
            number: p.number,
            stage: "salesforce",
            error_code: "ANSWER_LOST".into(),
            message: "the call failed before Salesforce answered; sent again next run".into(),
            fields: Vec::new(),
            row: Value::Object(p.row.clone()).to_string(),
        });
    }
    if matches!(config.operation, Operation::Delete) {
        // A deleted record keeps its key's fingerprint so it is not deleted again, but has no
        // record any more.
        for s in &mut commit.settled {
            s.record_id = None;
        }
    }
    state.commit(target, commit).await
}

/// Where a run sends to and keeps its state: what every send of the run shares.
#[derive(Clone, Copy)]
struct Sender<'a> {
    client: &'a Client,
    config: &'a PushConfig,
    state: &'a StateStore,
    target: &'a str,
}

/// The first `size` rows of `rows`, taken out, once there are that many: a full Bulk job.
fn full_job(rows: &mut Vec<Planned>, size: usize) -> Option<Vec<Planned>> {
    (rows.len() >= size).then(|| {
        let rest = rows.split_off(size);
        std::mem::replace(rows, rest)
    })
}

/// Sends `batch` as Bulk jobs of an idempotent operation (an insert's changed rows are updated
/// by their Id) and commits the answers.
async fn send_bulk(
    sender: Sender<'_>,
    mut batch: Vec<Planned>,
    summary: &mut PushSummary,
    stats: &mut LockStats,
) -> Result<()> {
    let Sender {
        client,
        config,
        state,
        target,
    } = sender;
    if batch.is_empty() {
        return Ok(());
    }
    batch.sort_by(|a, b| a.0.parent.cmp(&b.0.parent));
    let op = match &config.operation {
        Operation::Update => SendOp::Update,
        Operation::Upsert { external_id_field } => SendOp::Upsert(external_id_field.clone()),
        Operation::Delete => SendOp::Delete,
        // An insert's rows already created (a changed row) are updated by their Id; its new
        // rows go through send_bulk_insert.
        Operation::Insert { .. } => {
            for (prepared, known) in &mut batch {
                if let Some(id) = &known.record_id {
                    prepared
                        .payload
                        .insert("Id".into(), Value::String(id.clone()));
                }
            }
            SendOp::Update
        }
    };
    let rows: Vec<&Prepared> = batch.iter().map(|(p, _)| p).collect();
    let (answers, jobs) = bulk::send(
        client,
        &config.object,
        &op,
        &rows,
        &config.bulk.poll,
        config.locks,
        stats,
    )
    .await?;
    summary.bulk_jobs += jobs;
    commit_idempotent(config, state, target, &rows, answers, summary).await
}

/// The marker field of an insert (validated before anything runs).
fn marker_of(config: &PushConfig) -> &str {
    match &config.operation {
        Operation::Insert {
            marker_field: Some(marker),
        } => marker,
        _ => unreachable!("only inserts, which have a marker field (validated), get here"),
    }
}

/// Ends the run as a kill at `step` would, when the crash-test hook asks for it.
fn stop_after(config: &PushConfig, step: BulkInsertStep, job: &str) -> Result<()> {
    if config.stop_bulk_insert_after == Some(step) {
        return Err(Error::new(
            crate::error::ErrorKind::Org,
            format!(
                "stopped after step {step:?} of Bulk insert job {job}, as stop_bulk_insert_after asks"
            ),
        ));
    }
    Ok(())
}

/// Sends an insert's new rows as one Bulk insert job, recorded in `_sf_push_jobs` with its
/// rows in flight before anything is uploaded, and commits its results with the deletion of
/// that record (see the module documentation). Rows that met `UNABLE_TO_LOCK_ROW` were not
/// created: they go once more through Collections, recorded in flight again.
async fn send_bulk_insert(
    sender: Sender<'_>,
    object: &Object,
    mut batch: Vec<Planned>,
    summary: &mut PushSummary,
    stats: &mut LockStats,
) -> Result<()> {
    let Sender {
        client,
        config,
        state,
        target,
    } = sender;
    if batch.is_empty() {
        return Ok(());
    }
    let marker = marker_of(config);
    batch.sort_by(|a, b| a.0.parent.cmp(&b.0.parent));
    let records: Vec<Map<String, Value>> = batch.iter().map(|(p, _)| p.payload.clone()).collect();
    let job = bulk::insert_job(client, &config.object, &records).await?;
    drop(records);
    let id = job.job.id().to_string();
    summary.bulk_jobs += 1;
    state
        .commit(
            target,
            Commit {
                pending: batch
                    .iter()
                    .map(|(p, _)| (p.key.clone(), p.fingerprint.clone()))
                    .collect(),
                job_recorded: Some(RecordedJob {
                    id: id.clone(),
                    object: config.object.clone(),
                    operation: "insert".into(),
                    keys: batch.iter().map(|(p, _)| p.key.clone()).collect(),
                    created_at: String::new(),
                }),
                ..Commit::default()
            },
        )
        .await?;
    tracing::info!(job = %id, object = %config.object, rows = batch.len(), "bulk insert job recorded; uploading");
    stop_after(config, BulkInsertStep::Recorded, &id)?;
    job.upload().await?;
    stop_after(config, BulkInsertStep::Uploaded, &id)?;
    job.close().await?;
    stop_after(config, BulkInsertStep::Closed, &id)?;
    let info = bulk::wait(&job.job, &config.bulk.poll).await?;
    stop_after(config, BulkInsertStep::Finished, &id)?;
    let named = bulk::insert_results(&job.job, &info, marker).await?;

    let mut rows: Vec<&Prepared> = Vec::new();
    let mut answers: Vec<Answer> = Vec::new();
    let mut locked: Vec<Planned> = Vec::new();
    for planned in &batch {
        match named.get(&planned.0.key).map(|n| &n.answer) {
            Some(Answer::Refused { code, .. }) if code == "UNABLE_TO_LOCK_ROW" => {
                locked.push(planned.clone());
            }
            Some(answer) => {
                rows.push(&planned.0);
                answers.push(answer.clone());
            }
            None => {
                rows.push(&planned.0);
                answers.push(Answer::Unknown {
                    message: format!("no result of Bulk job {id} names this row"),
                });
            }
        }
    }
    let mut lost = Vec::new();
    let mut commit = settle(&rows, answers, summary, &mut lost);
    commit.not_sent = locked.iter().map(|(p, _)| p.key.clone()).collect();
    commit.jobs_settled.push(id.clone());
    state.commit(target, commit).await?;
    tracing::info!(job = %id, object = %config.object, state = %info.state, unnamed = lost.len(), locked = locked.len(), "bulk insert job settled");
    settle_lost(client, state, target, object, marker, lost, summary).await?;
    if !locked.is_empty() {
        stats.retried += locked.len() as u64;
        for chunk in locked.chunks(CALL_SIZE) {
            send_chunk(sender, object, chunk, summary, stats).await?;
        }
    }
    Ok(())
}

/// Settles inserts whose answer was lost (still in flight) by reading which markers exist;
/// nothing is sent again blindly.
async fn settle_lost(
    client: &Client,
    state: &StateStore,
    target: &str,
    object: &Object,
    marker: &str,
    lost: Vec<&Prepared>,
    summary: &mut PushSummary,
) -> Result<()> {
    if lost.is_empty() {
        return Ok(());
    }
    let pending = lost
        .into_iter()
        .map(|p| (p.key.clone(), p.fingerprint.clone()))
        .collect();
    let (found, missing) =
        resolve_in_flight(client, state, target, object, marker, pending).await?;
    summary.resolved_in_flight += found + missing;
    summary.succeeded += found;
    // Known not to exist: sent again by the next run, like a refused row.
    summary.failed += missing;
    Ok(())
}

/// Resolves the Bulk insert jobs an earlier run left recorded in `_sf_push_jobs`, by reading
/// them: one never closed is aborted and its rows are known not sent; one closed is waited
/// for and its results settle the rows they name (Ids and fingerprints, rejects, and rows it
/// did not process, known not sent); one still running when the wait ends stops the run,
/// settling nothing; one the org no longer has settles nothing. Each job's record is deleted with
/// its settlement; rows still in flight afterwards are left to the marker query.
async fn resolve_jobs(
    client: &Client,
    config: &PushConfig,
    state: &StateStore,
    target: &str,
    marker: &str,
    summary: &mut PushSummary,
) -> Result<()> {
    for recorded in state.jobs(target).await? {
        let id = recorded.id.clone();
        let job = client.bulk().ingest_job(id.clone());
        let read_back = |e| {
            Error::org(
                format!("cannot read Bulk insert job {id} (recorded in _sf_push_jobs) back"),
                e,
            )
        };
        let mut in_flight: Vec<(String, String)> = state
            .lookup(target, recorded.keys.clone())
            .await?
            .into_iter()
            .filter_map(|(key, known)| known.pending.map(|fingerprint| (key, fingerprint)))
            .collect();
        in_flight.sort();
        let mut info = match job.info().await {
            Ok(info) => Some(info),
            Err(e) if e.status() == Some(404) => None,
            Err(e) => return Err(read_back(e)),
        };
        let mut commit = Commit {
            jobs_settled: vec![id.clone()],
            ..Commit::default()
        };
        if info.as_ref().and_then(|i| i.job_state()) == Some(JobState::Open) {
            // Never closed: whatever was uploaded, the org loads none of it unless closed.
            match job.abort().await {
                Ok(_) => {
                    tracing::info!(job = %id, rows = in_flight.len(), "bulk insert job of an earlier run was never closed; aborted, its rows are sent again");
                    summary.resolved_in_flight += in_flight.len() as u64;
                    summary.bulk_jobs_resolved += 1;
                    commit.not_sent = in_flight.into_iter().map(|(key, _)| key).collect();
                    state.commit(target, commit).await?;
                    continue;
                }
                // Closed in the meantime: follow it instead.
                Err(e) if e.error_code() == Some("INVALIDJOBSTATE") => {
                    info = Some(job.info().await.map_err(read_back)?);
                }
                Err(e) => return Err(read_back(e)),
            }
        }
        let Some(mut info) = info else {
            // The org no longer has it (finished jobs are deleted after 7 days): its rows stay
            // in flight, for the marker query.
            tracing::warn!(job = %id, rows = in_flight.len(), "bulk insert job of an earlier run is gone from the org; its rows are resolved by their markers");
            summary.bulk_jobs_resolved += 1;
            state.commit(target, commit).await?;
            continue;
        };
        if !info.job_state().is_some_and(JobState::is_terminal) {
            // Closed but not finished (queued, or part processed): waited for as long as
            // `bulk.poll` allows. Its rows may still be created, so none is sent before it ends.
            info = match bulk::wait(&job, &config.bulk.poll).await {
                Ok(info) => info,
                // Out of time, or the polls failed: one more read tells which.
                Err(e) => match job.info().await {
                    Ok(now) if now.job_state().is_some_and(JobState::is_terminal) => now,
                    Ok(now) => {
                        tracing::warn!(job = %id, state = %now.state, processed = ?now.number_records_processed, "bulk insert job of an earlier run is still running; nothing was sent");
                        return Err(Error::new(
                            crate::error::ErrorKind::Org,
                            format!(
                                "Bulk insert job {id} (recorded in _sf_push_jobs) is still {} after waiting {:?} ({} records processed); its rows stay in flight and nothing was sent: run again later",
                                now.state,
                                config.bulk.poll.timeout,
                                now.number_records_processed.unwrap_or(0)
                            ),
                        ));
                    }
                    Err(_) => return Err(e),
                },
            };
        }
        if !info.job_state().is_some_and(JobState::is_terminal) {
            return Err(Error::new(
                crate::error::ErrorKind::Org,
                format!(
                    "Bulk insert job {id} (recorded in _sf_push_jobs) is {} after it was closed; nothing was sent, run again later",
                    info.state
                ),
            ));
        }
        let named = bulk::insert_results(&job, &info, marker).await?;
        let aborted = info.job_state() == Some(JobState::Aborted);
        for (key, fingerprint) in in_flight {
            let Some(row) = named.get(&key) else {
                continue;
            };
            match &row.answer {
                Answer::Applied { id } => commit.settled.push(Settled {
                    key,
                    fingerprint,
                    record_id: id.clone(),
                }),
                // Never processed: known not created when the job failed before it got to the
                // row, so sent again as new in this run, not a reject. A job aborted part way
                // is read once more: whether a batch in flight when it was aborted can still
                // commit after the org answers `Aborted` is not documented, so its unprocessed
                // rows stay in flight for the marker query, which reads them.
                Answer::Refused { code, .. } if code == bulk::UNPROCESSED => {
                    if !aborted {
                        commit.not_sent.push(key);
                    }
                }
                Answer::Refused {
                    code,
                    message,
                    fields,
                } => commit.rejected.push(RejectRow {
                    key,
                    number: 0,
                    stage: "salesforce",
                    error_code: code.clone(),
                    message: message.clone(),
                    fields: fields.clone(),
                    row: row.row.to_string(),
                }),
                Answer::Unknown { .. } => {}
            }
        }
        let settled = (commit.settled.len() + commit.rejected.len() + commit.not_sent.len()) as u64;
        tracing::info!(job = %id, state = %info.state, created = commit.settled.len(), failed = commit.rejected.len(), unprocessed = commit.not_sent.len(), "bulk insert job of an earlier run read back");
        summary.resolved_in_flight += settled;
        summary.bulk_jobs_resolved += 1;
        state.commit(target, commit).await?;
    }
    Ok(())
}

/// The commit for one call's answers; rows whose answer was lost are put in `lost`.
fn settle<'a>(
    rows: &[&'a Prepared],
    answers: Vec<Answer>,
    summary: &mut PushSummary,
    lost: &mut Vec<&'a Prepared>,
) -> Commit {
    let mut commit = Commit::default();
    for (prepared, answer) in rows.iter().zip(answers) {
        summary.sent += 1;
        match answer {
            Answer::Applied { id } => {
                summary.succeeded += 1;
                commit.settled.push(Settled {
                    key: prepared.key.clone(),
                    fingerprint: prepared.fingerprint.clone(),
                    record_id: id,
                });
            }
            Answer::Refused {
                code,
                message,
                fields,
            } => {
                summary.failed += 1;
                commit.rejected.push(RejectRow {
                    key: prepared.key.clone(),
                    number: prepared.number,
                    stage: "salesforce",
                    error_code: code,
                    message,
                    fields,
                    row: Value::Object(prepared.row.clone()).to_string(),
                });
            }
            Answer::Unknown { .. } => lost.push(prepared),
        }
    }
    commit
}

/// Settles inserts in flight by reading their markers: a marker found is a record created
/// (its Id and fingerprint saved), a marker missing a record never created (its in-flight
/// trace dropped, so the row is sent as new). Returns how many were found and how many
/// were missing.
async fn resolve_in_flight(
    client: &Client,
    state: &StateStore,
    target: &str,
    object: &Object,
    marker: &str,
    pending: Vec<(String, String)>,
) -> Result<(u64, u64)> {
    let (mut found_total, mut missing_total) = (0, 0);
    for chunk in pending.chunks(CALL_SIZE) {
        let keys: Vec<&str> = chunk.iter().map(|(k, _)| k.as_str()).collect();
        let soql = QueryBuilder::select(["Id", marker])
            .from(&object.name)
            .filter(field(marker).is_in(keys.iter().copied()))
            .build()
            .map_err(|e| Error::config(format!("marker field: cannot build the query: {e}")))?;
        let found: Vec<forcebridge_client::Record> = client
            .query(soql)
            .stream()
            .try_collect()
            .await
            .map_err(|e| {
                Error::org(
                    format!("cannot read the in-flight {} inserts back", object.name),
                    e,
                )
            })?;
        let mut by_marker: HashMap<String, String> = HashMap::new();
        for record in found {
            if let (Some(id), Some(m)) = (record.id(), record.get_str(marker)) {
                by_marker
                    .entry(m.to_string())
                    .or_insert_with(|| id.to_string());
            }
        }
        let mut commit = Commit::default();
        for (key, fingerprint) in chunk {
            match by_marker.get(key) {
                Some(id) => commit.settled.push(Settled {
                    key: key.clone(),
                    fingerprint: fingerprint.clone(),
                    record_id: Some(id.clone()),
                }),
                None => commit.not_sent.push(key.clone()),
            }
        }
        tracing::info!(
            object = %object.name,
            found = commit.settled.len(),
            missing = commit.not_sent.len(),
            "in-flight inserts resolved by reading their markers"
        );
        found_total += commit.settled.len() as u64;
        missing_total += commit.not_sent.len() as u64;
        state.commit(target, commit).await?;
    }
    Ok((found_total, missing_total))
}

/// For a dry run: the sample's planned values against Salesforce's current ones.
async fn diff_sample(
    client: &Client,
    checker: &Checker,
    operation: &Operation,
    sample: Vec<Prepared>,
) -> Result<Vec<RecordDiff>> {
    let match_field = match operation {
        Operation::Upsert { external_id_field } => external_id_field.as_str(),
        Operation::Update | Operation::Delete => "Id",
        Operation::Insert { marker_field } => marker_field.as_deref().unwrap_or("Id"),
    };
    let match_field = checker
        .object
        .field(match_field)
        .map(|f| f.name.clone())
        .unwrap_or_else(|| match_field.to_string());
    if sample.is_empty() {
        return Ok(Vec::new());
    }
    let mut fields: Vec<String> = vec!["Id".into()];
    for p in &sample {
        for name in p.payload.keys() {
            if checker.object.field(name).is_some() && !fields.contains(name) {
                fields.push(name.clone());
            }
        }
    }
    if !fields.contains(&match_field) {
        fields.push(match_field.clone());
    }
    let values: Vec<Value> = sample
        .iter()
        .filter_map(|p| p.payload.get(&match_field).cloned())
        .collect();
    let texts: Vec<String> = values
        .iter()
        .map(|v| {
            v.as_str()
                .map(str::to_string)
                .unwrap_or_else(|| v.to_string())
        })
        .collect();
    let soql = QueryBuilder::select(&fields)
        .from(&checker.object.name)
        .filter(field(&match_field).is_in(texts.iter().map(String::as_str)))
        .build()
        .map_err(|e| Error::config(format!("cannot build the dry run's query: {e}")))?;
    let current: Vec<forcebridge_client::Record> = client
        .query(soql)
        .stream()
        .try_collect()
        .await
        .map_err(|e| {
            Error::org(
                format!("cannot read current {} values", checker.object.name),
                e,
            )
        })?;
    let mut out = Vec::new();
    for p in sample {
        let matched = p.payload.get(&match_field).and_then(|v| {
            let text = v
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| v.to_string());
            current
                .iter()
                .find(|r| r.get_str(&match_field) == Some(text.as_str()))
        });
        let mut changes = Vec::new();
        for (name, new) in &p.payload {
            let now = matched
                .and_then(|r| r.get(name))
                .map(|v| v.to_json())
                .unwrap_or(Value::Null);
            if !same_value(&now, new) {
                changes.push(FieldChange {
                    field: name.clone(),
                    current: now,
                    new: new.clone(),
                });
            }
        }
        out.push(RecordDiff {
            key: p.key,
            action: if matched.is_some() {
                "update"
            } else {
                "insert"
            }
            .into(),
            changes,
        });
    }
    Ok(out)
}

/// Whether Salesforce's value and the planned one are the same (numbers by value, date-times
/// by instant).
fn same_value(current: &Value, new: &Value) -> bool {
    match (current, new) {
        (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
        (Value::String(a), Value::String(b)) => {
            a == b
                || matches!(
                    (chrono::DateTime::parse_from_str(a, "%Y-%m-%dT%H:%M:%S%.f%z"), chrono::DateTime::parse_from_rfc3339(b)),
                    (Ok(x), Ok(y)) if x == y
                )
        }
        (a, b) => a == b,
    }
}
