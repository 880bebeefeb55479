//! The push's own tables, in the sync's database or any SQLite file:
//!
//! - `_sf_push_state`: per push (`target`, such as `Account upsert External_Id__c`) and source
//!   key, the fingerprint Salesforce last confirmed, the record's Id, and the fingerprint of a
//!   send still in flight (`pending`, written before an insert is sent and cleared by its
//!   answer, so a crash leaves a trace to resolve by reading);
//! - `_sf_push_rejects`: per push and key, the latest failure (validation or Salesforce's
//!   `errorCode`, message, fields) and the source row; removed when the row goes through;
//! - `_sf_push_jobs`: per push, each Bulk insert job whose results are not yet settled: its
//!   id, object, operation, the source keys it carries (a JSON array) and when it was
//!   created. A row is written with its keys' in-flight marks, after the job is created and
//!   before its upload, and deleted with the settlement of its results, so a crash between
//!   the two leaves the job to be read back, never its rows to be sent again blindly.
//!
//! Every outcome of a call is committed in one transaction: a fingerprint is saved only
//! with Salesforce's confirmation of that row, never before.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::config::Destination;
use crate::error::{Error, Result};
use crate::store::{connect_postgres, on_blocking_pool, open_sqlite};

const TABLES: &str = "
CREATE TABLE IF NOT EXISTS _sf_push_state (
    target TEXT NOT NULL,
    key TEXT NOT NULL,
    fingerprint TEXT,
    record_id TEXT,
    pending TEXT,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (target, key)
);
CREATE TABLE IF NOT EXISTS _sf_push_rejects (
    target TEXT NOT NULL,
    key TEXT NOT NULL,
    row_number BIGINT NOT NULL,
    stage TEXT NOT NULL,
    error_code TEXT NOT NULL,
    message TEXT NOT NULL,
    fields TEXT NOT NULL,
    source_row TEXT NOT NULL,
    rejected_at TEXT NOT NULL,
    attempts BIGINT NOT NULL,
    PRIMARY KEY (target, key)
);
CREATE TABLE IF NOT EXISTS _sf_push_jobs (
    target TEXT NOT NULL,
    job_id TEXT NOT NULL,
    object TEXT NOT NULL,
    operation TEXT NOT NULL,
    keys TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (target, job_id)
);
";

/// What the state says about one key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct KeyState {
    /// The fingerprint Salesforce last confirmed.
    pub(crate) fingerprint: Option<String>,
    pub(crate) record_id: Option<String>,
    /// A send in flight whose answer was never recorded.
    pub(crate) pending: Option<String>,
}

/// A row Salesforce confirmed.
#[derive(Debug, Clone)]
pub(crate) struct Settled {
    pub(crate) key: String,
    pub(crate) fingerprint: String,
    pub(crate) record_id: Option<String>,
}

/// A row that was not applied.
#[derive(Debug, Clone)]
pub(crate) struct RejectRow {
    pub(crate) key: String,
    pub(crate) number: u64,
    /// `validation` (never sent) or `salesforce` (refused by the org).
    pub(crate) stage: &'static str,
    pub(crate) error_code: String,
    pub(crate) message: String,
    pub(crate) fields: Vec<String>,
    pub(crate) row: String,
}

/// A Bulk insert job whose results are not settled yet, as `_sf_push_jobs` keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RecordedJob {
    pub(crate) id: String,
    pub(crate) object: String,
    pub(crate) operation: String,
    /// The source keys whose rows the job carries.
    pub(crate) keys: Vec<String>,
    pub(crate) created_at: String,
}

/// Everything one call (or one window of validation) changes, committed at once.
#[derive(Debug, Clone, Default)]
pub(crate) struct Commit {
    /// Keys about to be sent by an insert: their fingerprint in flight.
    pub(crate) pending: Vec<(String, String)>,
    pub(crate) settled: Vec<Settled>,
    pub(crate) rejected: Vec<RejectRow>,
    /// Keys whose record is gone (a mirror delete), or a send known not to have happened.
    pub(crate) forgotten: Vec<String>,
    /// Keys whose pending send is known not to have created anything.
    pub(crate) not_sent: Vec<String>,
    /// A Bulk insert job just created, recorded before its upload (with its keys in
    /// `pending`); its `created_at` is the commit's time.
    pub(crate) job_recorded: Option<RecordedJob>,
    /// Bulk insert jobs whose results this commit settles: their records are deleted.
    pub(crate) jobs_settled: Vec<String>,
}

impl Commit {
    fn is_empty(&self) -> bool {
        self.pending.is_empty()
            && self.settled.is_empty()
            && self.rejected.is_empty()
            && self.forgotten.is_empty()
            && self.not_sent.is_empty()
            && self.job_recorded.is_none()
            && self.jobs_settled.is_empty()
    }
}

/// The open state database.
#[derive(Clone)]
pub(crate) enum StateStore {
    Sqlite(Arc<Mutex<rusqlite::Connection>>),
    Postgres(Arc<tokio::sync::Mutex<tokio_postgres::Client>>),
}

// Parameters are `$1`, `$2`, ... in order of first use: PostgreSQL numbers them so, and
// SQLite gives named parameters their index in order of first appearance, so one text
// serves both.
const UPSERT_PENDING: &str = "INSERT INTO _sf_push_state (target, key, pending, updated_at) \
     VALUES ($1, $2, $3, $4) \
     ON CONFLICT (target, key) DO UPDATE SET pending = excluded.pending, updated_at = excluded.updated_at";
const UPSERT_SETTLED: &str = "INSERT INTO _sf_push_state (target, key, fingerprint, record_id, pending, updated_at) \
     VALUES ($1, $2, $3, $4, NULL, $5) \
     ON CONFLICT (target, key) DO UPDATE SET fingerprint = excluded.fingerprint, \
     record_id = coalesce(excluded.record_id, _sf_push_state.record_id), pending = NULL, \
     updated_at = excluded.updated_at";
const DELETE_REJECT: &str = "DELETE FROM _sf_push_rejects WHERE target = $1 AND key = $2";
const UPSERT_REJECT: &str = "INSERT INTO _sf_push_rejects \
     (target, key, row_number, stage, error_code, message, fields, source_row, rejected_at, attempts) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 1) \
     ON CONFLICT (target, key) DO UPDATE SET row_number = excluded.row_number, stage = excluded.stage, \
     error_code = excluded.error_code, message = excluded.message, fields = excluded.fields, \
     source_row = excluded.source_row, rejected_at = excluded.rejected_at, \
     attempts = _sf_push_rejects.attempts + 1";
const CLEAR_PENDING: &str =
    "UPDATE _sf_push_state SET pending = NULL WHERE target = $1 AND key = $2";
const DROP_UNSENT: &str = "DELETE FROM _sf_push_state WHERE target = $1 AND key = $2 \
     AND fingerprint IS NULL AND record_id IS NULL AND pending IS NULL";
const DELETE_STATE: &str = "DELETE FROM _sf_push_state WHERE target = $1 AND key = $2";
const INSERT_JOB: &str = "INSERT INTO _sf_push_jobs (target, job_id, object, operation, keys, created_at) \
     VALUES ($1, $2, $3, $4, $5, $6)";
const DELETE_JOB: &str = "DELETE FROM _sf_push_jobs WHERE target = $1 AND job_id = $2";

fn sqlite_err(message: &'static str) -> impl Fn(rusqlite::Error) -> Error {
    move |e| Error::sqlite(message, e)
}

fn postgres_err(message: &'static str) -> impl Fn(tokio_postgres::Error) -> Error {
    move |e| Error::postgres(message, e)
}

fn keys_json(keys: &[String]) -> String {
    serde_json::Value::from(keys.to_vec()).to_string()
}

pub(crate) fn now() -> String {
    chrono::Utc::now()
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

impl StateStore {
    /// Opens the database and makes the push's tables.
    pub(crate) async fn open(destination: &Destination) -> Result<StateStore> {
        match destination {
            Destination::Sqlite(path) => {
                let path = path.clone();
                let db = on_blocking_pool(move || {
                    let db = open_sqlite(&path)?;
                    db.execute_batch(TABLES)
                        .map_err(sqlite_err("cannot create the push's tables in SQLite"))?;
                    Ok(db)
                })
                .await?;
                Ok(StateStore::Sqlite(Arc::new(Mutex::new(db))))
            }
            Destination::Postgres(url) => {
                let client = connect_postgres(url, "the PostgreSQL state database").await?;
                client.batch_execute(TABLES).await.map_err(postgres_err(
                    "cannot create the push's tables in PostgreSQL",
                ))?;
                Ok(StateStore::Postgres(Arc::new(tokio::sync::Mutex::new(
                    client,
                ))))
            }
        }
    }

    /// Opens the state only to read it (for a dry run): `None` when the database or the
    /// push's tables do not exist yet, and nothing is created.
    pub(crate) async fn open_existing(destination: &Destination) -> Result<Option<StateStore>> {
        match destination {
            Destination::Sqlite(path) => {
                if !path.exists() {
                    return Ok(None);
                }
                let path = path.clone();
                on_blocking_pool(move || {
                    let db = rusqlite::Connection::open_with_flags(
                        &path,
                        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
                    )
                    .map_err(sqlite_err("cannot open the push state"))?;
                    let exists: bool = db
                        .query_row(
                            "SELECT count(*) > 0 FROM sqlite_master WHERE name = '_sf_push_state'",
                            [],
                            |r| r.get(0),
                        )
                        .map_err(sqlite_err("cannot read the push state"))?;
                    Ok(exists.then(|| StateStore::Sqlite(Arc::new(Mutex::new(db)))))
                })
                .await
            }
            Destination::Postgres(url) => {
                let client = connect_postgres(url, "the PostgreSQL state database").await?;
                let row = client
                    .query_one("SELECT to_regclass('_sf_push_state') IS NOT NULL", &[])
                    .await
                    .map_err(postgres_err("cannot read the push state"))?;
                let exists: bool = row.get(0);
                Ok(exists.then(|| StateStore::Postgres(Arc::new(tokio::sync::Mutex::new(client)))))
            }
        }
    }

    /// The state of each of `keys` that has one.
    pub(crate) async fn lookup(
        &self,
        target: &str,
        keys: Vec<String>,
    ) -> Result<HashMap<String, KeyState>> {
        match self {
            StateStore::Sqlite(db) => {
                let db = Arc::clone(db);
                let target = target.to_string();
                on_blocking_pool(move || {
                    let db = db.lock().unwrap_or_else(|p| p.into_inner());
                    let mut statement = db
                        .prepare_cached(
                            "SELECT fingerprint, record_id, pending FROM _sf_push_state \
                             WHERE target = ?1 AND key = ?2",
                        )
                        .map_err(sqlite_err("cannot read the push state"))?;
                    let mut out = HashMap::new();
                    for key in keys {
                        let mut rows = statement
                            .query(rusqlite::params![target, key])
                            .map_err(sqlite_err("cannot read the push state"))?;
                        if let Some(row) = rows
                            .next()
                            .map_err(sqlite_err("cannot read the push state"))?
                        {
                            let state = KeyState {
                                fingerprint: row
                                    .get(0)
                                    .map_err(sqlite_err("cannot read the push state"))?,
                                record_id: row
                                    .get(1)
                                    .map_err(sqlite_err("cannot read the push state"))?,
                                pending: row
                                    .get(2)
                                    .map_err(sqlite_err("cannot read the push state"))?,
                            };
                            out.insert(key, state);
                        }
                    }
                    Ok(out)
                })
                .await
            }
            StateStore::Postgres(db) => {
                let db = db.lock().await;
                let rows = db
                    .query(
                        "SELECT key, fingerprint, record_id, pending FROM _sf_push_state \
                         WHERE target = $1 AND key = ANY($2)",
                        &[&target, &keys],
                    )
                    .await
                    .map_err(postgres_err("cannot read the push state"))?;
                Ok(rows
                    .into_iter()
                    .map(|r| {
                        (
                            r.get(0),
                            KeyState {
                                fingerprint: r.get(1),
                                record_id: r.get(2),
                                pending: r.get(3),
                            },
                        )
                    })
                    .collect())
            }
        }
    }

    /// The rows a `SELECT` with text parameters returns, in SQLite (`sql.0`, `?1`...) or
    /// PostgreSQL (`sql.1`, `$1`...), each made by the row function of the store; `what` is
    /// what the error says could not be read.
    async fn select<T: Send + 'static>(
        &self,
        sql: (&'static str, &'static str),
        params: &[&str],
        what: &'static str,
        sqlite_row: fn(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
        pg_row: fn(&tokio_postgres::Row) -> T,
    ) -> Result<Vec<T>> {
        match self {
            StateStore::Sqlite(db) => {
                let db = Arc::clone(db);
                let params: Vec<String> = params.iter().map(|p| p.to_string()).collect();
                on_blocking_pool(move || {
                    let db = db.lock().unwrap_or_else(|p| p.into_inner());
                    let mut statement = db.prepare(sql.0).map_err(sqlite_err(what))?;
                    let rows = statement
                        .query_map(rusqlite::params_from_iter(params), sqlite_row)
                        .map_err(sqlite_err(what))?;
                    rows.collect::<rusqlite::Result<Vec<_>>>()
                        .map_err(sqlite_err(what))
                })
                .await
            }
            StateStore::Postgres(db) => {
                let db = db.lock().await;
                let params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> =
                    params.iter().map(|p| p as _).collect();
                let rows = db.query(sql.1, &params).await.map_err(postgres_err(what))?;
                Ok(rows.iter().map(pg_row).collect())
            }
        }
    }

    /// The two text columns `sql` selects for the target, in SQLite or PostgreSQL.
    async fn list(
        &self,
        target: &str,
        sql_sqlite: &'static str,
        sql_pg: &'static str,
    ) -> Result<Vec<(String, String)>> {
        self.select(
            (sql_sqlite, sql_pg),
            &[target],
            "cannot read the push state",
            |r| Ok((r.get(0)?, r.get(1)?)),
            |r| (r.get(0), r.get(1)),
        )
        .await
    }

    /// Every key that has a record in Salesforce, with the record's Id.
    pub(crate) async fn records(&self, target: &str) -> Result<Vec<(String, String)>> {
        self.list(
            target,
            "SELECT key, record_id FROM _sf_push_state WHERE target = ?1 AND record_id IS NOT NULL ORDER BY key",
            "SELECT key, record_id FROM _sf_push_state WHERE target = $1 AND record_id IS NOT NULL ORDER BY key",
        )
        .await
    }

    /// Every key with a send in flight, with its pending fingerprint.
    pub(crate) async fn pending(&self, target: &str) -> Result<Vec<(String, String)>> {
        self.list(
            target,
            "SELECT key, pending FROM _sf_push_state WHERE target = ?1 AND pending IS NOT NULL ORDER BY key",
            "SELECT key, pending FROM _sf_push_state WHERE target = $1 AND pending IS NOT NULL ORDER BY key",
        )
        .await
    }

    /// The Bulk insert jobs of `target` whose results are not settled, oldest first.
    pub(crate) async fn jobs(&self, target: &str) -> Result<Vec<RecordedJob>> {
        type Raw = (String, String, String, String, String);
        let rows: Vec<Raw> = self
            .select(
                (
                    "SELECT job_id, object, operation, keys, created_at FROM _sf_push_jobs \
                     WHERE target = ?1 ORDER BY created_at, job_id",
                    "SELECT job_id, object, operation, keys, created_at FROM _sf_push_jobs \
                     WHERE target = $1 ORDER BY created_at, job_id",
                ),
                &[target],
                "cannot read the push's Bulk jobs",
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
                |r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4)),
            )
            .await?;
        rows.into_iter()
            .map(|(id, object, operation, keys, created_at)| {
                let keys: Vec<String> = serde_json::from_str(&keys).map_err(|e| {
                    Error::destination(format!(
                        "_sf_push_jobs: the keys of Bulk job {id} are not a JSON list of texts: {e}"
                    ))
                })?;
                Ok(RecordedJob {
                    id,
                    object,
                    operation,
                    keys,
                    created_at,
                })
            })
            .collect()
    }

    /// The rejects of `target` recorded at or after `since` (UTC, as [`now`] writes it), each
    /// as a JSON object: key, row number, stage, error code, message, fields, row.
    pub(crate) async fn rejects_since(
        &self,
        target: &str,
        since: &str,
    ) -> Result<Vec<serde_json::Value>> {
        type Raw = (String, i64, String, String, String, String, String);
        let rows: Vec<Raw> = self
            .select(
                (
                    "SELECT key, row_number, stage, error_code, message, fields, source_row \
                     FROM _sf_push_rejects WHERE target = ?1 AND rejected_at >= ?2 ORDER BY row_number, key",
                    "SELECT key, row_number, stage, error_code, message, fields, source_row \
                     FROM _sf_push_rejects WHERE target = $1 AND rejected_at >= $2 ORDER BY row_number, key",
                ),
                &[target, since],
                "cannot read the push rejects",
                |r| {
                    Ok((
                        r.get(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                        r.get(6)?,
                    ))
                },
                |r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4), r.get(5), r.get(6)),
            )
            .await?;
        Ok(rows
            .into_iter()
            .map(|(key, number, stage, code, message, fields, row)| {
                serde_json::json!({
                    "key": key,
                    "row_number": number,
                    "stage": stage,
                    "error_code": code,
                    "message": message,
                    "fields": fields.split(',').filter(|f| !f.is_empty()).collect::<Vec<_>>(),
                    "row": serde_json::from_str::<serde_json::Value>(&row).unwrap_or(serde_json::Value::String(row)),
                })
            })
            .collect())
    }

    /// Commits `commit` in one transaction.
    pub(crate) async fn commit(&self, target: &str, commit: Commit) -> Result<()> {
        if commit.is_empty() {
            return Ok(());
        }
        let at = now();
        match self {
            StateStore::Sqlite(db) => {
                let db = Arc::clone(db);
                let target = target.to_string();
                on_blocking_pool(move || {
                    let mut db = db.lock().unwrap_or_else(|p| p.into_inner());
                    let fail = sqlite_err("cannot write the push state");
                    let tx = db.transaction().map_err(&fail)?;
                    for (key, fingerprint) in &commit.pending {
                        tx.prepare_cached(UPSERT_PENDING)
                            .and_then(|mut s| {
                                s.execute(rusqlite::params![target, key, fingerprint, at])
                            })
                            .map_err(&fail)?;
                    }
                    if let Some(job) = &commit.job_recorded {
                        tx.prepare_cached(INSERT_JOB)
                            .and_then(|mut st| {
                                st.execute(rusqlite::params![
                                    target,
                                    job.id,
                                    job.object,
                                    job.operation,
                                    keys_json(&job.keys),
                                    at
                                ])
                            })
                            .map_err(&fail)?;
                    }
                    for s in &commit.settled {
                        tx.prepare_cached(UPSERT_SETTLED)
                            .and_then(|mut st| {
                                st.execute(rusqlite::params![
                                    target,
                                    s.key,
                                    s.fingerprint,
                                    s.record_id,
                                    at
                                ])
                            })
                            .map_err(&fail)?;
                        tx.prepare_cached(DELETE_REJECT)
                            .and_then(|mut st| st.execute(rusqlite::params![target, s.key]))
                            .map_err(&fail)?;
                    }
                    for r in &commit.rejected {
                        tx.prepare_cached(UPSERT_REJECT)
                            .and_then(|mut st| {
                                st.execute(rusqlite::params![
                                    target,
                                    r.key,
                                    r.number as i64,
                                    r.stage,
                                    r.error_code,
                                    r.message,
                                    r.fields.join(","),
                                    r.row,
                                    at
                                ])
                            })
                            .map_err(&fail)?;
                    }
                    for key in commit
                        .rejected
                        .iter()
                        .map(|r| &r.key)
                        .chain(&commit.not_sent)
                    {
                        tx.prepare_cached(CLEAR_PENDING)
                            .and_then(|mut st| st.execute(rusqlite::params![target, key]))
                            .map_err(&fail)?;
                        tx.prepare_cached(DROP_UNSENT)
                            .and_then(|mut st| st.execute(rusqlite::params![target, key]))
                            .map_err(&fail)?;
                    }
                    for key in &commit.forgotten {
                        tx.prepare_cached(DELETE_STATE)
                            .and_then(|mut st| st.execute(rusqlite::params![target, key]))
                            .map_err(&fail)?;
                        tx.prepare_cached(DELETE_REJECT)
                            .and_then(|mut st| st.execute(rusqlite::params![target, key]))
                            .map_err(&fail)?;
                    }
                    for id in &commit.jobs_settled {
                        tx.prepare_cached(DELETE_JOB)
                            .and_then(|mut st| st.execute(rusqlite::params![target, id]))
                            .map_err(&fail)?;
                    }
                    tx.commit().map_err(&fail)
                })
                .await
            }
            StateStore::Postgres(db) => {
                let mut db = db.lock().await;
                let fail = postgres_err("cannot write the push state");
                let tx = db.transaction().await.map_err(&fail)?;
                let target = target.to_string();
                for (key, fingerprint) in &commit.pending {
                    tx.execute(UPSERT_PENDING, &[&target, key, fingerprint, &at])
                        .await
                        .map_err(&fail)?;
                }
                if let Some(job) = &commit.job_recorded {
                    tx.execute(
                        INSERT_JOB,
                        &[
                            &target,
                            &job.id,
                            &job.object,
                            &job.operation,
                            &keys_json(&job.keys),
                            &at,
                        ],
                    )
                    .await
                    .map_err(&fail)?;
                }
                for s in &commit.settled {
                    tx.execute(
                        UPSERT_SETTLED,
                        &[&target, &s.key, &s.fingerprint, &s.record_id, &at],
                    )
                    .await
                    .map_err(&fail)?;
                    tx.execute(DELETE_REJECT, &[&target, &s.key])
                        .await
                        .map_err(&fail)?;
                }
                for r in &commit.rejected {
                    let number = r.number as i64;
                    let fields = r.fields.join(",");
                    tx.execute(
                        UPSERT_REJECT,
                        &[
                            &target,
                            &r.key,
                            &number,
                            &r.stage,
                            &r.error_code,
                            &r.message,
                            &fields,
                            &r.row,
                            &at,
                        ],
                    )
                    .await
                    .map_err(&fail)?;
                }
                for key in commit
                    .rejected
                    .iter()
                    .map(|r| &r.key)
                    .chain(&commit.not_sent)
                {
                    tx.execute(CLEAR_PENDING, &[&target, key])
                        .await
                        .map_err(&fail)?;
                    tx.execute(DROP_UNSENT, &[&target, key])
                        .await
                        .map_err(&fail)?;
                }
                for key in &commit.forgotten {
                    tx.execute(DELETE_STATE, &[&target, key])
                        .await
                        .map_err(&fail)?;
                    tx.execute(DELETE_REJECT, &[&target, key])
                        .await
                        .map_err(&fail)?;
                }
                for id in &commit.jobs_settled {
                    tx.execute(DELETE_JOB, &[&target, id])
                        .await
                        .map_err(&fail)?;
                }
                tx.commit().await.map_err(&fail)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_fingerprint_is_kept_only_once_confirmed_and_a_reject_cleared_by_success() {
        let dir = tempfile::tempdir().unwrap();
        let store = StateStore::open(&Destination::Sqlite(dir.path().join("s.db")))
            .await
            .unwrap();
        let t = "Contact insert";
        store
            .commit(
                t,
                Commit {
                    pending: vec![("k1".into(), "f1".into()), ("k2".into(), "f2".into())],
                    ..Commit::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(store.pending(t).await.unwrap().len(), 2);
        store
            .commit(
                t,
                Commit {
                    settled: vec![Settled {
                        key: "k1".into(),
                        fingerprint: "f1".into(),
                        record_id: Some("003000000000001AAA".into()),
                    }],
                    rejected: vec![RejectRow {
                        key: "k2".into(),
                        number: 2,
                        stage: "salesforce",
                        error_code: "FIELD_CUSTOM_VALIDATION_EXCEPTION".into(),
                        message: "no".into(),
                        fields: vec!["Email".into()],
                        row: "{}".into(),
                    }],
                    ..Commit::default()
                },
            )
            .await
            .unwrap();
        let found = store
            .lookup(t, vec!["k1".into(), "k2".into(), "k3".into()])
            .await
            .unwrap();
        assert_eq!(found["k1"].fingerprint.as_deref(), Some("f1"));
        assert_eq!(found["k1"].pending, None);
        assert!(
            !found.contains_key("k2"),
            "a failed first insert leaves no state"
        );
        assert!(store.pending(t).await.unwrap().is_empty());
        assert_eq!(store.records(t).await.unwrap().len(), 1);
        assert!(store.records("Other insert").await.unwrap().is_empty());
    }
}
