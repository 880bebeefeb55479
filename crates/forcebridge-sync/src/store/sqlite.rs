//! The SQLite destination: one connection in WAL mode, STRICT tables, one transaction per
//! batch holding the rows and the object's state. Synchronous; [`super::Store`] calls it on
//! the blocking pool.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use forcebridge_catalog::Catalog;
use forcebridge_catalog::sql::Dialect;
use rusqlite::types::Value as SqlValue;
use rusqlite::{OptionalExtension, params};

use super::{Counts, ObjectState, RunRecord, SchemaChange, plan_columns};
use crate::config::Deletes;
use crate::error::{Error, Result};
use crate::summary::{Cursor, ObjectStatus};
use crate::table::{DELETED_AT, IS_DELETED, Row, SYNCED_AT, TableDef, quote};

const SYSTEM_TABLES: &str = "
CREATE TABLE IF NOT EXISTS _sf_state (
    object TEXT PRIMARY KEY NOT NULL,
    cursor_stamp TEXT,
    cursor_id TEXT,
    loaded INTEGER NOT NULL DEFAULT 0,
    deletes_checked_at TEXT,
    formulas_refreshed_at TEXT,
    reconciled_at TEXT,
    read_at TEXT,
    bulk_job_id TEXT,
    bulk_locator TEXT
) STRICT;
CREATE TABLE IF NOT EXISTS _sf_runs (
    run_id INTEGER NOT NULL,
    object TEXT NOT NULL,
    started_at TEXT NOT NULL,
    ended_at TEXT,
    inserted INTEGER NOT NULL DEFAULT 0,
    updated INTEGER NOT NULL DEFAULT 0,
    deleted INTEGER NOT NULL DEFAULT 0,
    api_calls INTEGER NOT NULL DEFAULT 0,
    outcome TEXT NOT NULL,
    error TEXT,
    PRIMARY KEY (run_id, object)
) STRICT;
CREATE TABLE IF NOT EXISTS _sf_columns (
    object TEXT NOT NULL,
    name TEXT NOT NULL,
    field_type TEXT NOT NULL,
    sql_type TEXT NOT NULL,
    position INTEGER NOT NULL,
    removed_at TEXT,
    PRIMARY KEY (object, name)
) STRICT;
";

pub(crate) struct SqliteStore {
    path: PathBuf,
    db: Mutex<rusqlite::Connection>,
}

fn err(what: impl Into<String>) -> impl FnOnce(rusqlite::Error) -> Error {
    let what = what.into();
    move |e| Error::sqlite(what, e)
}

impl SqliteStore {
    pub(crate) fn open(path: &Path) -> Result<SqliteStore> {
        let where_ = format!("cannot open the SQLite database {}", path.display());
        let db = rusqlite::Connection::open(path).map_err(err(where_.clone()))?;
        db.busy_timeout(std::time::Duration::from_secs(30))
            .map_err(err(where_.clone()))?;
        db.pragma_update(None, "journal_mode", "WAL")
            .map_err(err(where_.clone()))?;
        db.pragma_update(None, "synchronous", "NORMAL")
            .map_err(err(where_.clone()))?;
        db.execute_batch(SYSTEM_TABLES)
            .map_err(err(where_.clone()))?;
        // A destination made before Bulk first loads gets their two state columns.
        let has_bulk: i64 = db
            .query_row(
                "SELECT count(*) FROM pragma_table_info('_sf_state') WHERE name = 'bulk_job_id'",
                [],
                |r| r.get(0),
            )
            .map_err(err(where_.clone()))?;
        if has_bulk == 0 {
            db.execute_batch(
                "ALTER TABLE _sf_state ADD COLUMN bulk_job_id TEXT; ALTER TABLE _sf_state ADD COLUMN bulk_locator TEXT;",
            )
            .map_err(err(where_))?;
        }
        Ok(SqliteStore {
            path: path.to_path_buf(),
            db: Mutex::new(db),
        })
    }

    fn db(&self) -> std::sync::MutexGuard<'_, rusqlite::Connection> {
        self.db.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn begin_run(&self, started_at: &str) -> Result<i64> {
        let db = self.db();
        let run_id: i64 = db
            .query_row(
                "SELECT coalesce(max(run_id), 0) + 1 FROM _sf_runs",
                [],
                |r| r.get(0),
            )
            .map_err(err("cannot read the runs table"))?;
        db.execute(
            "INSERT INTO _sf_runs (run_id, object, started_at, outcome) VALUES (?1, '*', ?2, 'running')",
            params![run_id, started_at],
        )
        .map_err(err("cannot write the runs table"))?;
        Ok(run_id)
    }

    pub(crate) fn record_run(&self, records: &[RunRecord]) -> Result<()> {
        let mut db = self.db();
        let tx = db
            .transaction()
            .map_err(err("cannot write the runs table"))?;
        for r in records {
            tx.execute(
                "INSERT OR REPLACE INTO _sf_runs (run_id, object, started_at, ended_at, inserted, updated, deleted, api_calls, outcome, error)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                params![
                    r.run_id,
                    r.object,
                    r.started_at,
                    r.ended_at,
                    r.counts.inserted as i64,
                    r.counts.updated as i64,
                    r.counts.deleted as i64,
                    r.api_calls as i64,
                    r.outcome,
                    r.error
                ],
            )
            .map_err(err("cannot write the runs table"))?;
        }
        tx.commit().map_err(err("cannot write the runs table"))
    }

    pub(crate) fn write_catalog(&self, catalog: &Catalog) -> Result<()> {
        // The catalog crate writes its tables over its own connection; ours holds no
        // transaction now, and the busy timeout covers a reader.
        catalog.write_sqlite(&self.path).map_err(|e| {
            Error::destination(format!(
                "cannot write the catalog tables to {}",
                self.path.display()
            ))
            .with_source(e)
        })
    }

    pub(crate) fn state(&self, object: &str) -> Result<ObjectState> {
        read_state(&self.db(), object)
    }

    pub(crate) fn save_state(&self, object: &str, state: &ObjectState) -> Result<()> {
        write_state(&self.db(), object, state)
    }

    pub(crate) fn sync_schema(&self, def: &TableDef, now: &str) -> Result<SchemaChange> {
        let mut db = self.db();
        let what = format!("cannot create or change the {} table", def.object);
        let tx = db.transaction().map_err(err(what.clone()))?;
        let mut registered: Vec<super::Registered> = Vec::new();
        {
            let mut stmt = tx
                .prepare("SELECT name, sql_type, removed_at FROM _sf_columns WHERE object = ?1")
                .map_err(err(what.clone()))?;
            let rows = stmt
                .query_map([&def.object], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .map_err(err(what.clone()))?;
            for row in rows {
                registered.push(row.map_err(err(what.clone()))?);
            }
        }
        let plan = plan_columns(def, &registered, Dialect::Sqlite);
        let table = quote(&def.object);
        if plan.change.created {
            let mut columns: Vec<String> = def
                .columns
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    let key = if i == def.id {
                        " PRIMARY KEY NOT NULL"
                    } else {
                        ""
                    };
                    format!("{} {}{key}", quote(&c.name), c.sqlite)
                })
                .collect();
            columns.push(format!("{SYNCED_AT} TEXT NOT NULL"));
            columns.push(format!("{IS_DELETED} INTEGER NOT NULL DEFAULT 0"));
            columns.push(format!("{DELETED_AT} TEXT"));
            tx.execute(
                &format!(
                    "CREATE TABLE IF NOT EXISTS {table} ({}) STRICT",
                    columns.join(", ")
                ),
                [],
            )
            .map_err(err(what.clone()))?;
            if let Some(stamp) = def.stamp {
                tx.execute(
                    &format!(
                        "CREATE INDEX IF NOT EXISTS {} ON {table} ({})",
                        quote(&format!("{}_sf_stamp", def.object)),
                        quote(&def.columns[stamp].name)
                    ),
                    [],
                )
                .map_err(err(what.clone()))?;
            }
        }
        for &i in &plan.new {
            let column = &def.columns[i];
            if !plan.change.created {
                tx.execute(
                    &format!(
                        "ALTER TABLE {table} ADD COLUMN {} {}",
                        quote(&column.name),
                        column.sqlite
                    ),
                    [],
                )
                .map_err(err(what.clone()))?;
            }
            tx.execute(
                "INSERT INTO _sf_columns (object, name, field_type, sql_type, position) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![def.object, column.name, column.field_type.as_str(), column.sqlite, i as i64],
            )
            .map_err(err(what.clone()))?;
        }
        for &i in &plan.revived {
            tx.execute(
                "UPDATE _sf_columns SET removed_at = NULL WHERE object = ?1 AND name = ?2",
                params![def.object, def.columns[i].name],
            )
            .map_err(err(what.clone()))?;
        }
        for name in &plan.gone {
            tx.execute(
                "UPDATE _sf_columns SET removed_at = ?3 WHERE object = ?1 AND name = ?2",
                params![def.object, name, now],
            )
            .map_err(err(what.clone()))?;
        }
        tx.commit().map_err(err(what))?;
        Ok(plan.change)
    }

    pub(crate) fn reset_object(&self, object: &str) -> Result<()> {
        let mut db = self.db();
        let what = format!("cannot drop the {object} table");
        let tx = db.transaction().map_err(err(what.clone()))?;
        tx.execute(&format!("DROP TABLE IF EXISTS {}", quote(object)), [])
            .map_err(err(what.clone()))?;
        tx.execute("DELETE FROM _sf_columns WHERE object = ?1", [object])
            .map_err(err(what.clone()))?;
        tx.execute("DELETE FROM _sf_state WHERE object = ?1", [object])
            .map_err(err(what.clone()))?;
        tx.commit().map_err(err(what))
    }

    pub(crate) fn apply(
        &self,
        def: &TableDef,
        rows: &[Row],
        deletes: Deletes,
        synced_at: &str,
        state: &ObjectState,
    ) -> Result<Counts> {
        let mut db = self.db();
        let what = format!("cannot write {} rows", def.object);
        let tx = db.transaction().map_err(err(what.clone()))?;
        let table = quote(&def.object);
        let names: Vec<String> = def.columns.iter().map(|c| quote(&c.name)).collect();
        let n = names.len();
        let insert_sql = format!(
            "INSERT INTO {table} ({}, {SYNCED_AT}, {IS_DELETED}, {DELETED_AT}) VALUES ({})",
            names.join(", "),
            (1..=n + 3)
                .map(|i| format!("?{i}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let update_sql = format!(
            "UPDATE {table} SET {}, {SYNCED_AT} = ?{}, {IS_DELETED} = ?{}, {DELETED_AT} = ?{} WHERE {} = ?{}",
            names
                .iter()
                .enumerate()
                .map(|(i, name)| format!("{name} = ?{}", i + 1))
                .collect::<Vec<_>>()
                .join(", "),
            n + 1,
            n + 2,
            n + 3,
            quote(&def.columns[def.id].name),
            n + 4
        );
        // Objects with a timestamp are compared by it; the others by every value (a full
        // refresh is diffed).
        let select_sql = match def.stamp {
            Some(stamp) => format!(
                "SELECT {}, {IS_DELETED} FROM {table} WHERE {} = ?1",
                quote(&def.columns[stamp].name),
                quote(&def.columns[def.id].name)
            ),
            None => format!(
                "SELECT {}, {IS_DELETED} FROM {table} WHERE {} = ?1",
                names.join(", "),
                quote(&def.columns[def.id].name)
            ),
        };
        let delete_sql = format!(
            "DELETE FROM {table} WHERE {} = ?1",
            quote(&def.columns[def.id].name)
        );
        // A row not stored yet is inserted by one statement, without a lookup first (most rows
        // of a first load); one already stored conflicts, and takes the guarded path below.
        let insert_new_sql = format!(
            "{insert_sql} ON CONFLICT ({}) DO NOTHING",
            quote(&def.columns[def.id].name)
        );
        let mut counts = Counts::default();
        {
            let mut select = tx.prepare_cached(&select_sql).map_err(err(what.clone()))?;
            let mut insert = tx.prepare_cached(&insert_sql).map_err(err(what.clone()))?;
            let mut update = tx.prepare_cached(&update_sql).map_err(err(what.clone()))?;
            let mut delete = tx.prepare_cached(&delete_sql).map_err(err(what.clone()))?;
            let mut insert_new = tx
                .prepare_cached(&insert_new_sql)
                .map_err(err(what.clone()))?;
            for row in rows {
                let id = row.id(def);
                let hard_delete = row.deleted && deletes == Deletes::Hard;
                if !hard_delete {
                    let bound = bind_row_borrowed(def, row, synced_at)?;
                    let added = insert_new
                        .execute(rusqlite::params_from_iter(bound))
                        .map_err(|e| {
                            Error::sqlite(format!("cannot insert {} record {id}", def.object), e)
                        })?;
                    if added == 1 {
                        if row.deleted {
                            counts.deleted += 1;
                        } else {
                            counts.inserted += 1;
                        }
                        continue;
                    }
                }
                let existing: Option<(Vec<SqlValue>, bool)> = select
                    .query_row([id], |r| {
                        let width = r.as_ref().column_count();
                        let mut values = Vec::with_capacity(width - 1);
                        for i in 0..width - 1 {
                            values.push(r.get::<_, SqlValue>(i)?);
                        }
                        Ok((values, r.get::<_, i64>(width - 1)? != 0))
                    })
                    .optional()
                    .map_err(|e| {
                        Error::sqlite(format!("cannot read {} record {id}", def.object), e)
                    })?;
                if hard_delete {
                    if existing.is_some() {
                        delete
                            .execute([id])
                            .map_err(err(format!("cannot delete {} record {id}", def.object)))?;
                        counts.deleted += 1;
                    }
                    continue;
                }
                let was_deleted = existing.as_ref().is_some_and(|(_, d)| *d);
                if let Some((values, _)) = &existing {
                    let newer = match def.stamp {
                        // Text forms of UTC times with milliseconds sort as the times do.
                        Some(_) => {
                            let stored = match values.first() {
                                Some(SqlValue::Text(t)) => Some(t.as_str()),
                                _ => None,
                            };
                            row.stamp(def) > stored
                        }
                        None => {
                            was_deleted != row.deleted
                                || values
                                    .iter()
                                    .zip(&row.values)
                                    .any(|(stored, new)| !same(stored, new.as_deref()))
                        }
                    };
                    if !newer {
                        continue;
                    }
                }
                let mut bound = bind_row(def, row)?;
                bound.push(SqlValue::Text(synced_at.to_string()));
                bound.push(SqlValue::Integer(i64::from(row.deleted)));
                bound.push(match (row.deleted, row.stamp(def)) {
                    (true, Some(stamp)) => SqlValue::Text(stamp.to_string()),
                    (true, None) => SqlValue::Text(synced_at.to_string()),
                    (false, _) => SqlValue::Null,
                });
                match existing {
                    None => {
                        insert
                            .execute(rusqlite::params_from_iter(bound))
                            .map_err(err(format!("cannot insert {} record {id}", def.object)))?;
                        if row.deleted {
                            counts.deleted += 1;
                        } else {
                            counts.inserted += 1;
                        }
                    }
                    Some(_) => {
                        bound.push(SqlValue::Text(id.to_string()));
                        update
                            .execute(rusqlite::params_from_iter(bound))
                            .map_err(err(format!("cannot update {} record {id}", def.object)))?;
                        if row.deleted && !was_deleted {
                            counts.deleted += 1;
                        } else {
                            counts.updated += 1;
                        }
                    }
                }
            }
        }
        write_state(&tx, &def.object, state)?;
        tx.commit().map_err(err(what))?;
        Ok(counts)
    }

    pub(crate) fn delete(
        &self,
        def: &TableDef,
        ids: &[(String, String)],
        deletes: Deletes,
        synced_at: &str,
        state: &ObjectState,
    ) -> Result<u64> {
        let mut db = self.db();
        let what = format!("cannot delete {} rows", def.object);
        let tx = db.transaction().map_err(err(what.clone()))?;
        let table = quote(&def.object);
        let id_column = quote(&def.columns[def.id].name);
        let sql = match deletes {
            Deletes::Soft => format!(
                "UPDATE {table} SET {IS_DELETED} = 1, {DELETED_AT} = ?2, {SYNCED_AT} = ?3 WHERE {id_column} = ?1 AND {IS_DELETED} = 0"
            ),
            Deletes::Hard => format!("DELETE FROM {table} WHERE {id_column} = ?1"),
        };
        let mut n = 0u64;
        {
            let mut stmt = tx.prepare_cached(&sql).map_err(err(what.clone()))?;
            for (id, at) in ids {
                let changed = match deletes {
                    Deletes::Soft => stmt.execute(params![id, at, synced_at]),
                    Deletes::Hard => stmt.execute(params![id]),
                }
                .map_err(err(format!("cannot delete {} record {id}", def.object)))?;
                n += changed as u64;
            }
        }
        write_state(&tx, &def.object, state)?;
        tx.commit().map_err(err(what))?;
        Ok(n)
    }

    pub(crate) fn update_columns(
        &self,
        def: &TableDef,
        columns: &[usize],
        rows: &[Row],
    ) -> Result<u64> {
        if columns.is_empty() {
            return Ok(0);
        }
        let mut db = self.db();
        let what = format!("cannot update {} columns", def.object);
        let tx = db.transaction().map_err(err(what.clone()))?;
        let sql = format!(
            "UPDATE {} SET {} WHERE {} = ?{}",
            quote(&def.object),
            columns
                .iter()
                .enumerate()
                .map(|(k, &i)| format!("{} = ?{}", quote(&def.columns[i].name), k + 1))
                .collect::<Vec<_>>()
                .join(", "),
            quote(&def.columns[def.id].name),
            columns.len() + 1
        );
        let mut n = 0u64;
        {
            let mut stmt = tx.prepare_cached(&sql).map_err(err(what.clone()))?;
            // Partial rows hold `Id` first, then the columns.
            for row in rows {
                let id = row.values[0].clone().unwrap_or_default();
                let mut bound = Vec::with_capacity(columns.len() + 1);
                for (k, &i) in columns.iter().enumerate() {
                    bound.push(bind(def, i, row.values[k + 1].as_deref(), &id)?);
                }
                bound.push(SqlValue::Text(id.clone()));
                n += stmt
                    .execute(rusqlite::params_from_iter(bound))
                    .map_err(err(format!("cannot update {} record {id}", def.object)))?
                    as u64;
            }
        }
        tx.commit().map_err(err(what))?;
        Ok(n)
    }

    pub(crate) fn live_ids(&self, def: &TableDef) -> Result<HashSet<String>> {
        let db = self.db();
        let what = format!("cannot read {} ids", def.object);
        let mut stmt = db
            .prepare(&format!(
                "SELECT {} FROM {} WHERE {IS_DELETED} = 0",
                quote(&def.columns[def.id].name),
                quote(&def.object)
            ))
            .map_err(err(what.clone()))?;
        let ids = stmt
            .query_map([], |r| r.get::<_, String>(0))
            .map_err(err(what.clone()))?
            .collect::<rusqlite::Result<HashSet<String>>>()
            .map_err(err(what))?;
        Ok(ids)
    }

    pub(crate) fn status(&self) -> Result<Vec<ObjectStatus>> {
        let db = self.db();
        let what = "cannot read the sync state";
        let mut stmt = db
            .prepare("SELECT object FROM _sf_state ORDER BY object")
            .map_err(err(what))?;
        let objects = stmt
            .query_map([], |r| r.get::<_, String>(0))
            .map_err(err(what))?
            .collect::<rusqlite::Result<Vec<String>>>()
            .map_err(err(what))?;
        let mut out = Vec::new();
        for object in objects {
            let state = read_state(&db, &object)?;
            let (rows, deleted_rows): (i64, i64) = db
                .query_row(
                    &format!(
                        "SELECT count(*), coalesce(sum({IS_DELETED}), 0) FROM {}",
                        quote(&object)
                    ),
                    [],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .unwrap_or((0, 0));
            let last: Option<(Option<String>, String, Option<String>)> = db
                .query_row(
                    "SELECT ended_at, outcome, error FROM _sf_runs WHERE object = ?1 ORDER BY run_id DESC LIMIT 1",
                    [&object],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .optional()
                .map_err(err(what))?;
            out.push(ObjectStatus {
                object,
                cursor: state.cursor,
                loaded: state.loaded,
                rows: rows as u64,
                deleted_rows: deleted_rows as u64,
                last_run_at: last.as_ref().and_then(|l| l.0.clone()),
                last_outcome: last.as_ref().map(|l| l.1.clone()),
                last_error: last.and_then(|l| l.2),
            });
        }
        Ok(out)
    }
}

fn read_state(db: &rusqlite::Connection, object: &str) -> Result<ObjectState> {
    db.query_row(
        "SELECT cursor_stamp, cursor_id, loaded, deletes_checked_at, formulas_refreshed_at, reconciled_at, read_at, bulk_job_id, bulk_locator FROM _sf_state WHERE object = ?1",
        [object],
        |r| {
            let stamp: Option<String> = r.get(0)?;
            let id: Option<String> = r.get(1)?;
            Ok(ObjectState {
                cursor: stamp.zip(id).map(|(system_modstamp, id)| Cursor { system_modstamp, id }),
                loaded: r.get::<_, i64>(2)? != 0,
                deletes_checked_at: r.get(3)?,
                formulas_refreshed_at: r.get(4)?,
                reconciled_at: r.get(5)?,
                read_at: r.get(6)?,
                bulk: r
                    .get::<_, Option<String>>(7)?
                    .zip(r.get::<_, Option<String>>(8)?)
                    .map(|(job_id, locator)| super::BulkResume { job_id, locator }),
            })
        },
    )
    .optional()
    .map(Option::unwrap_or_default)
    .map_err(err(format!("cannot read the state of {object}")))
}

fn write_state(db: &rusqlite::Connection, object: &str, state: &ObjectState) -> Result<()> {
    db.execute(
        "INSERT OR REPLACE INTO _sf_state (object, cursor_stamp, cursor_id, loaded, deletes_checked_at, formulas_refreshed_at, reconciled_at, read_at, bulk_job_id, bulk_locator)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        params![
            object,
            state.cursor.as_ref().map(|c| &c.system_modstamp),
            state.cursor.as_ref().map(|c| &c.id),
            i64::from(state.loaded),
            state.deletes_checked_at,
            state.formulas_refreshed_at,
            state.reconciled_at,
            state.read_at,
            state.bulk.as_ref().map(|b| &b.job_id),
            state.bulk.as_ref().map(|b| &b.locator)
        ],
    )
    .map(|_| ())
    .map_err(err(format!("cannot save the state of {object}")))
}

/// The row's values as SQLite values of their columns' types.
/// [`bind_row`] with the three system columns after it, borrowing the row's text.
fn bind_row_borrowed<'a>(
    def: &TableDef,
    row: &'a Row,
    synced_at: &'a str,
) -> Result<Vec<rusqlite::types::ToSqlOutput<'a>>> {
    use rusqlite::types::{ToSqlOutput, ValueRef};
    let mut out = Vec::with_capacity(row.values.len() + 3);
    for (i, value) in row.values.iter().enumerate() {
        let Some(text) = value.as_deref() else {
            out.push(ToSqlOutput::Owned(SqlValue::Null));
            continue;
        };
        out.push(match def.columns[i].sqlite.as_str() {
            "INTEGER" | "REAL" => ToSqlOutput::Owned(bind(def, i, Some(text), row.id(def))?),
            _ => ToSqlOutput::Borrowed(ValueRef::Text(text.as_bytes())),
        });
    }
    out.push(ToSqlOutput::Borrowed(ValueRef::Text(synced_at.as_bytes())));
    out.push(ToSqlOutput::Owned(SqlValue::Integer(i64::from(
        row.deleted,
    ))));
    out.push(match (row.deleted, row.stamp(def)) {
        (true, Some(stamp)) => ToSqlOutput::Borrowed(ValueRef::Text(stamp.as_bytes())),
        (true, None) => ToSqlOutput::Borrowed(ValueRef::Text(synced_at.as_bytes())),
        (false, _) => ToSqlOutput::Owned(SqlValue::Null),
    });
    Ok(out)
}

fn bind_row(def: &TableDef, row: &Row) -> Result<Vec<SqlValue>> {
    let id = row.id(def).to_string();
    let mut out = Vec::with_capacity(row.values.len() + 4);
    for (i, value) in row.values.iter().enumerate() {
        out.push(bind(def, i, value.as_deref(), &id)?);
    }
    Ok(out)
}

fn bind(def: &TableDef, column: usize, value: Option<&str>, id: &str) -> Result<SqlValue> {
    let Some(text) = value else {
        return Ok(SqlValue::Null);
    };
    let c = &def.columns[column];
    let bad = || {
        Error::destination(format!(
            "{} record {id}: field {}: {text:?} is not a valid {} ({})",
            def.object,
            c.name,
            c.field_type,
            c.sql_type(Dialect::Sqlite)
        ))
    };
    Ok(match c.sqlite.as_str() {
        "INTEGER" => SqlValue::Integer(text.parse().map_err(|_| bad())?),
        "REAL" => SqlValue::Real(text.parse().map_err(|_| bad())?),
        _ => SqlValue::Text(text.to_string()),
    })
}

/// Whether a stored value equals a row's text form.
fn same(stored: &SqlValue, new: Option<&str>) -> bool {
    match (stored, new) {
        (SqlValue::Null, None) => true,
        (SqlValue::Integer(i), Some(t)) => t.parse::<i64>().is_ok_and(|n| n == *i),
        (SqlValue::Real(f), Some(t)) => t.parse::<f64>().is_ok_and(|n| n == *f),
        (SqlValue::Text(s), Some(t)) => s == t,
        _ => false,
    }
}
