//! The PostgreSQL destination: rows go by binary COPY into a staging table (every column
//! text), then one `INSERT ... ON CONFLICT` casts them into the object's table with the
//! staleness guard; the object's state is written in the same transaction.

use std::collections::HashSet;

use forcebridge_catalog::Catalog;
use forcebridge_catalog::sql::Dialect;
use futures_util::pin_mut;
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::{ToSql, Type};

use super::{Counts, ObjectState, RunRecord, SchemaChange, plan_columns};
use crate::config::Deletes;
use crate::error::{Error, Result};
use crate::summary::{Cursor, ObjectStatus};
use crate::table::{DELETED_AT, IS_DELETED, Row, SYNCED_AT, TableDef, quote};

const SYSTEM_TABLES: &str = "
CREATE TABLE IF NOT EXISTS _sf_state (
    object text PRIMARY KEY,
    cursor_stamp text,
    cursor_id text,
    loaded boolean NOT NULL DEFAULT false,
    deletes_checked_at text,
    formulas_refreshed_at text,
    reconciled_at text,
    read_at text,
    bulk_job_id text,
    bulk_locator text
);
ALTER TABLE _sf_state ADD COLUMN IF NOT EXISTS bulk_job_id text;
ALTER TABLE _sf_state ADD COLUMN IF NOT EXISTS bulk_locator text;
CREATE TABLE IF NOT EXISTS _sf_runs (
    run_id bigint NOT NULL,
    object text NOT NULL,
    started_at text NOT NULL,
    ended_at text,
    inserted bigint NOT NULL DEFAULT 0,
    updated bigint NOT NULL DEFAULT 0,
    deleted bigint NOT NULL DEFAULT 0,
    api_calls bigint NOT NULL DEFAULT 0,
    outcome text NOT NULL,
    error text,
    PRIMARY KEY (run_id, object)
);
CREATE TABLE IF NOT EXISTS _sf_columns (
    object text NOT NULL,
    name text NOT NULL,
    field_type text NOT NULL,
    sql_type text NOT NULL,
    position bigint NOT NULL,
    removed_at text,
    PRIMARY KEY (object, name)
);
";

/// The staging table's column that says whether a row is deleted (`1`/`0`).
const STAGED_DELETED: &str = "_sf_staged_deleted";

pub(crate) struct PostgresStore {
    url: String,
    db: tokio::sync::Mutex<tokio_postgres::Client>,
}

fn err(what: impl Into<String>) -> impl FnOnce(tokio_postgres::Error) -> Error {
    let what = what.into();
    move |e| Error::postgres(what, e)
}

impl PostgresStore {
    pub(crate) async fn open(url: &str) -> Result<PostgresStore> {
        let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
            .await
            .map_err(err("cannot connect to the PostgreSQL destination"))?;
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::warn!(error = %e, "the PostgreSQL connection ended");
            }
        });
        client
            .batch_execute(SYSTEM_TABLES)
            .await
            .map_err(err("cannot create the sync's tables in PostgreSQL"))?;
        Ok(PostgresStore {
            url: url.to_string(),
            db: tokio::sync::Mutex::new(client),
        })
    }

    pub(crate) async fn begin_run(&self, started_at: &str) -> Result<i64> {
        let db = self.db.lock().await;
        let row = db
            .query_one("SELECT coalesce(max(run_id), 0) + 1 FROM _sf_runs", &[])
            .await
            .map_err(err("cannot read the runs table"))?;
        let run_id: i64 = row.get(0);
        db.execute(
            "INSERT INTO _sf_runs (run_id, object, started_at, outcome) VALUES ($1, '*', $2, 'running')",
            &[&run_id, &started_at],
        )
        .await
        .map_err(err("cannot write the runs table"))?;
        Ok(run_id)
    }

    pub(crate) async fn record_run(&self, records: &[RunRecord]) -> Result<()> {
        let mut db = self.db.lock().await;
        let tx = db
            .transaction()
            .await
            .map_err(err("cannot write the runs table"))?;
        for r in records {
            tx.execute(
                "INSERT INTO _sf_runs (run_id, object, started_at, ended_at, inserted, updated, deleted, api_calls, outcome, error)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
                 ON CONFLICT (run_id, object) DO UPDATE SET ended_at = EXCLUDED.ended_at, inserted = EXCLUDED.inserted,
                   updated = EXCLUDED.updated, deleted = EXCLUDED.deleted, api_calls = EXCLUDED.api_calls,
                   outcome = EXCLUDED.outcome, error = EXCLUDED.error",
                &[
                    &r.run_id,
                    &r.object,
                    &r.started_at,
                    &r.ended_at,
                    &(r.counts.inserted as i64),
                    &(r.counts.updated as i64),
                    &(r.counts.deleted as i64),
                    &(r.api_calls as i64),
                    &r.outcome,
                    &r.error,
                ],
            )
            .await
            .map_err(err("cannot write the runs table"))?;
        }
        tx.commit()
            .await
            .map_err(err("cannot write the runs table"))
    }

    pub(crate) async fn write_catalog(&self, catalog: &Catalog) -> Result<()> {
        catalog.write_postgres(&self.url).await.map_err(|e| {
            Error::destination("cannot write the catalog tables to PostgreSQL").with_source(e)
        })
    }

    pub(crate) async fn state(&self, object: &str) -> Result<ObjectState> {
        let db = self.db.lock().await;
        read_state(&db, object).await
    }

    pub(crate) async fn save_state(&self, object: &str, state: &ObjectState) -> Result<()> {
        let db = self.db.lock().await;
        write_state(&*db, object, state).await
    }

    pub(crate) async fn sync_schema(&self, def: &TableDef, now: &str) -> Result<SchemaChange> {
        let mut db = self.db.lock().await;
        let what = format!("cannot create or change the {} table", def.object);
        let tx = db.transaction().await.map_err(err(what.clone()))?;
        let registered: Vec<super::Registered> = tx
            .query(
                "SELECT name, sql_type, removed_at FROM _sf_columns WHERE object = $1",
                &[&def.object],
            )
            .await
            .map_err(err(what.clone()))?
            .into_iter()
            .map(|r| (r.get(0), r.get(1), r.get(2)))
            .collect();
        let plan = plan_columns(def, &registered, Dialect::Postgres);
        let table = quote(&def.object);
        if plan.change.created {
            let mut columns: Vec<String> = def
                .columns
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    let key = if i == def.id { " PRIMARY KEY" } else { "" };
                    format!("{} {}{key}", quote(&c.name), c.postgres)
                })
                .collect();
            columns.push(format!("{SYNCED_AT} timestamptz(3) NOT NULL"));
            columns.push(format!("{IS_DELETED} boolean NOT NULL DEFAULT false"));
            columns.push(format!("{DELETED_AT} timestamptz(3)"));
            tx.batch_execute(&format!(
                "CREATE TABLE IF NOT EXISTS {table} ({})",
                columns.join(", ")
            ))
            .await
            .map_err(err(what.clone()))?;
            if let Some(stamp) = def.stamp {
                tx.batch_execute(&format!(
                    "CREATE INDEX IF NOT EXISTS {} ON {table} ({})",
                    quote(&format!("{}_sf_stamp", def.object)),
                    quote(&def.columns[stamp].name)
                ))
                .await
                .map_err(err(what.clone()))?;
            }
        }
        for &i in &plan.new {
            let column = &def.columns[i];
            if !plan.change.created {
                tx.batch_execute(&format!(
                    "ALTER TABLE {table} ADD COLUMN {} {}",
                    quote(&column.name),
                    column.postgres
                ))
                .await
                .map_err(err(what.clone()))?;
            }
            tx.execute(
                "INSERT INTO _sf_columns (object, name, field_type, sql_type, position) VALUES ($1, $2, $3, $4, $5)",
                &[&def.object, &column.name, &column.field_type.as_str(), &column.postgres, &(i as i64)],
            )
            .await
            .map_err(err(what.clone()))?;
        }
        for &i in &plan.revived {
            tx.execute(
                "UPDATE _sf_columns SET removed_at = NULL WHERE object = $1 AND name = $2",
                &[&def.object, &def.columns[i].name],
            )
            .await
            .map_err(err(what.clone()))?;
        }
        for name in &plan.gone {
            tx.execute(
                "UPDATE _sf_columns SET removed_at = $3 WHERE object = $1 AND name = $2",
                &[&def.object, name, &now],
            )
            .await
            .map_err(err(what.clone()))?;
        }
        tx.commit().await.map_err(err(what))?;
        Ok(plan.change)
    }

    pub(crate) async fn reset_object(&self, object: &str) -> Result<()> {
        let mut db = self.db.lock().await;
        let what = format!("cannot drop the {object} table");
        let tx = db.transaction().await.map_err(err(what.clone()))?;
        tx.batch_execute(&format!("DROP TABLE IF EXISTS {}", quote(object)))
            .await
            .map_err(err(what.clone()))?;
        tx.execute("DELETE FROM _sf_columns WHERE object = $1", &[&object])
            .await
            .map_err(err(what.clone()))?;
        tx.execute("DELETE FROM _sf_state WHERE object = $1", &[&object])
            .await
            .map_err(err(what.clone()))?;
        tx.commit().await.map_err(err(what))
    }

    pub(crate) async fn apply(
        &self,
        def: &TableDef,
        rows: &[Row],
        deletes: Deletes,
        synced_at: &str,
        state: &ObjectState,
    ) -> Result<Counts> {
        let mut db = self.db.lock().await;
        let what = format!("cannot write {} rows", def.object);
        let tx = db.transaction().await.map_err(err(what.clone()))?;
        let all: Vec<usize> = (0..def.columns.len()).collect();
        stage(&tx, def, &all, rows, true, &what).await?;
        let table = quote(&def.object);
        let id = quote(&def.columns[def.id].name);
        let mut counts = Counts::default();
        if deletes == Deletes::Hard {
            counts.deleted += tx
                .execute(
                    &format!(
                        "DELETE FROM {table} t USING _sf_stage s WHERE t.{id} = s.{id} AND s.{STAGED_DELETED} = '1'"
                    ),
                    &[],
                )
                .await
                .map_err(err(what.clone()))?;
        }
        let names: Vec<String> = def.columns.iter().map(|c| quote(&c.name)).collect();
        let casts: Vec<String> = def
            .columns
            .iter()
            .map(|c| format!("s.{}::{}", quote(&c.name), c.postgres))
            .collect();
        let deleted_at = match def.stamp {
            Some(stamp) => format!(
                "CASE WHEN s.{STAGED_DELETED} = '1' THEN coalesce(s.{}::timestamptz, $1::text::timestamptz) END",
                quote(&def.columns[stamp].name)
            ),
            None => format!("CASE WHEN s.{STAGED_DELETED} = '1' THEN $1::text::timestamptz END"),
        };
        let guard = match def.stamp {
            Some(stamp) => {
                let stamp = quote(&def.columns[stamp].name);
                format!("t.{stamp} IS NULL OR t.{stamp} < EXCLUDED.{stamp}")
            }
            None => format!(
                "(t.{}) IS DISTINCT FROM (EXCLUDED.{}) OR t.{IS_DELETED} <> EXCLUDED.{IS_DELETED}",
                names.join(", t."),
                names.join(", EXCLUDED.")
            ),
        };
        let filter = if deletes == Deletes::Hard {
            format!("WHERE s.{STAGED_DELETED} = '0'")
        } else {
            String::new()
        };
        let sql = format!(
            "WITH up AS (
               INSERT INTO {table} AS t ({}, {SYNCED_AT}, {IS_DELETED}, {DELETED_AT})
               SELECT {}, $1::text::timestamptz, s.{STAGED_DELETED} = '1', {deleted_at} FROM _sf_stage s {filter}
               ON CONFLICT ({id}) DO UPDATE SET {}, {SYNCED_AT} = EXCLUDED.{SYNCED_AT},
                 {IS_DELETED} = EXCLUDED.{IS_DELETED}, {DELETED_AT} = EXCLUDED.{DELETED_AT}
               WHERE {guard}
               RETURNING (xmax = 0) AS inserted, {IS_DELETED} AS now_deleted
             )
             SELECT count(*) FILTER (WHERE inserted AND NOT now_deleted),
                    count(*) FILTER (WHERE NOT inserted AND NOT now_deleted),
                    count(*) FILTER (WHERE now_deleted)
             FROM up",
            names.join(", "),
            casts.join(", "),
            names
                .iter()
                .map(|n| format!("{n} = EXCLUDED.{n}"))
                .collect::<Vec<_>>()
                .join(", "),
        );
        let row = tx
            .query_one(&sql, &[&synced_at])
            .await
            .map_err(|e| row_error(def, rows, e))?;
        counts.inserted += row.get::<_, i64>(0) as u64;
        counts.updated += row.get::<_, i64>(1) as u64;
        counts.deleted += row.get::<_, i64>(2) as u64;
        write_state(&tx, &def.object, state).await?;
        tx.commit().await.map_err(err(what))?;
        Ok(counts)
    }

    pub(crate) async fn delete(
        &self,
        def: &TableDef,
        ids: &[(String, String)],
        deletes: Deletes,
        synced_at: &str,
        state: &ObjectState,
    ) -> Result<u64> {
        let mut db = self.db.lock().await;
        let what = format!("cannot delete {} rows", def.object);
        let tx = db.transaction().await.map_err(err(what.clone()))?;
        let table = quote(&def.object);
        let id = quote(&def.columns[def.id].name);
        let sql = match deletes {
            Deletes::Soft => format!(
                "UPDATE {table} SET {IS_DELETED} = true, {DELETED_AT} = $2::text::timestamptz, {SYNCED_AT} = $3::text::timestamptz WHERE {id} = $1 AND NOT {IS_DELETED}"
            ),
            Deletes::Hard => format!("DELETE FROM {table} WHERE {id} = $1"),
        };
        let stmt = tx.prepare(&sql).await.map_err(err(what.clone()))?;
        let mut n = 0;
        for (record, at) in ids {
            n += match deletes {
                Deletes::Soft => tx.execute(&stmt, &[record, at, &synced_at]).await,
                Deletes::Hard => tx.execute(&stmt, &[record]).await,
            }
            .map_err(err(format!("cannot delete {} record {record}", def.object)))?;
        }
        write_state(&tx, &def.object, state).await?;
        tx.commit().await.map_err(err(what))?;
        Ok(n)
    }

    pub(crate) async fn update_columns(
        &self,
        def: &TableDef,
        columns: &[usize],
        rows: &[Row],
    ) -> Result<u64> {
        if columns.is_empty() {
            return Ok(0);
        }
        let mut db = self.db.lock().await;
        let what = format!("cannot update {} columns", def.object);
        let tx = db.transaction().await.map_err(err(what.clone()))?;
        let mut staged = vec![def.id];
        staged.extend_from_slice(columns);
        stage(&tx, def, &staged, rows, false, &what).await?;
        let id = quote(&def.columns[def.id].name);
        let sql = format!(
            "UPDATE {} t SET {} FROM _sf_stage s WHERE t.{id} = s.{id}",
            quote(&def.object),
            columns
                .iter()
                .map(|&i| {
                    let c = &def.columns[i];
                    format!("{0} = s.{0}::{1}", quote(&c.name), c.postgres)
                })
                .collect::<Vec<_>>()
                .join(", ")
        );
        let n = tx
            .execute(&sql, &[])
            .await
            .map_err(|e| row_error(def, rows, e))?;
        tx.commit().await.map_err(err(what))?;
        Ok(n)
    }

    pub(crate) async fn live_ids(&self, def: &TableDef) -> Result<HashSet<String>> {
        let db = self.db.lock().await;
        let rows = db
            .query(
                &format!(
                    "SELECT {}::text FROM {} WHERE NOT {IS_DELETED}",
                    quote(&def.columns[def.id].name),
                    quote(&def.object)
                ),
                &[],
            )
            .await
            .map_err(err(format!("cannot read {} ids", def.object)))?;
        Ok(rows.into_iter().map(|r| r.get(0)).collect())
    }

    pub(crate) async fn status(&self) -> Result<Vec<ObjectStatus>> {
        let db = self.db.lock().await;
        let what = "cannot read the sync state";
        let objects: Vec<String> = db
            .query("SELECT object FROM _sf_state ORDER BY object", &[])
            .await
            .map_err(err(what))?
            .into_iter()
            .map(|r| r.get(0))
            .collect();
        let mut out = Vec::new();
        for object in objects {
            let state = read_state(&db, &object).await?;
            let (rows, deleted_rows) = match db
                .query_one(
                    &format!(
                        "SELECT count(*), count(*) FILTER (WHERE {IS_DELETED}) FROM {}",
                        quote(&object)
                    ),
                    &[],
                )
                .await
            {
                Ok(r) => (r.get::<_, i64>(0), r.get::<_, i64>(1)),
                Err(_) => (0, 0),
            };
            let last = db
                .query_opt(
                    "SELECT ended_at, outcome, error FROM _sf_runs WHERE object = $1 ORDER BY run_id DESC LIMIT 1",
                    &[&object],
                )
                .await
                .map_err(err(what))?;
            out.push(ObjectStatus {
                object,
                cursor: state.cursor,
                loaded: state.loaded,
                rows: rows as u64,
                deleted_rows: deleted_rows as u64,
                last_run_at: last.as_ref().and_then(|l| l.get(0)),
                last_outcome: last.as_ref().map(|l| l.get(1)),
                last_error: last.as_ref().and_then(|l| l.get(2)),
            });
        }
        Ok(out)
    }
}

/// Copies the `columns` of `rows` (full rows, or partial ones holding exactly those columns
/// in order) into a fresh temporary `_sf_stage` table of text columns, dropped at commit.
async fn stage(
    tx: &tokio_postgres::Transaction<'_>,
    def: &TableDef,
    columns: &[usize],
    rows: &[Row],
    full_rows: bool,
    what: &str,
) -> Result<()> {
    let mut ddl: Vec<String> = columns
        .iter()
        .map(|&i| format!("{} text", quote(&def.columns[i].name)))
        .collect();
    ddl.push(format!("{STAGED_DELETED} text"));
    tx.batch_execute(&format!(
        "CREATE TEMP TABLE _sf_stage ({}) ON COMMIT DROP",
        ddl.join(", ")
    ))
    .await
    .map_err(err(what.to_string()))?;
    let sink = tx
        .copy_in("COPY _sf_stage FROM STDIN (FORMAT binary)")
        .await
        .map_err(err(what.to_string()))?;
    let types = vec![Type::TEXT; columns.len() + 1];
    let writer = BinaryCopyInWriter::new(sink, &types);
    pin_mut!(writer);
    for row in rows {
        let deleted = if row.deleted { "1" } else { "0" };
        let mut values: Vec<&(dyn ToSql + Sync)> = Vec::with_capacity(columns.len() + 1);
        if full_rows {
            for &i in columns {
                values.push(&row.values[i]);
            }
        } else {
            for value in &row.values {
                values.push(value);
            }
        }
        values.push(&deleted);
        writer
            .as_mut()
            .write(&values)
            .await
            .map_err(err(what.to_string()))?;
    }
    writer.finish().await.map_err(err(what.to_string()))?;
    Ok(())
}

/// A failed cast names the object and, when PostgreSQL says which value, the row and field.
fn row_error(def: &TableDef, rows: &[Row], e: tokio_postgres::Error) -> Error {
    let detail = e
        .as_db_error()
        .map(|d| d.message().to_string())
        .unwrap_or_default();
    // `invalid input syntax for type integer: "abc"`: find the row and field holding it.
    let culprit = detail.rsplit_once(": \"").and_then(|(_, v)| {
        let value = v.strip_suffix('"')?;
        rows.iter().find_map(|row| {
            let i = row
                .values
                .iter()
                .position(|x| x.as_deref() == Some(value))?;
            Some(format!(
                "{} record {}: field {}",
                def.object,
                row.values[def.id].as_deref().unwrap_or("?"),
                def.columns.get(i).map(|c| c.name.as_str()).unwrap_or("?")
            ))
        })
    });
    Error::postgres(
        match culprit {
            Some(c) => format!("cannot write {c}"),
            None => format!("cannot write {} rows", def.object),
        },
        e,
    )
}

async fn read_state(db: &tokio_postgres::Client, object: &str) -> Result<ObjectState> {
    let row = db
        .query_opt(
            "SELECT cursor_stamp, cursor_id, loaded, deletes_checked_at, formulas_refreshed_at, reconciled_at, read_at, bulk_job_id, bulk_locator FROM _sf_state WHERE object = $1",
            &[&object],
        )
        .await
        .map_err(err(format!("cannot read the state of {object}")))?;
    Ok(match row {
        None => ObjectState::default(),
        Some(r) => {
            let stamp: Option<String> = r.get(0);
            let id: Option<String> = r.get(1);
            ObjectState {
                cursor: stamp.zip(id).map(|(system_modstamp, id)| Cursor {
                    system_modstamp,
                    id,
                }),
                loaded: r.get(2),
                deletes_checked_at: r.get(3),
                formulas_refreshed_at: r.get(4),
                reconciled_at: r.get(5),
                read_at: r.get(6),
                bulk: r
                    .get::<_, Option<String>>(7)
                    .zip(r.get::<_, Option<String>>(8))
                    .map(|(job_id, locator)| super::BulkResume { job_id, locator }),
            }
        }
    })
}

async fn write_state(
    db: &impl tokio_postgres::GenericClient,
    object: &str,
    state: &ObjectState,
) -> Result<()> {
    db.execute(
        "INSERT INTO _sf_state (object, cursor_stamp, cursor_id, loaded, deletes_checked_at, formulas_refreshed_at, reconciled_at, read_at, bulk_job_id, bulk_locator)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
         ON CONFLICT (object) DO UPDATE SET cursor_stamp = EXCLUDED.cursor_stamp, cursor_id = EXCLUDED.cursor_id,
           loaded = EXCLUDED.loaded, deletes_checked_at = EXCLUDED.deletes_checked_at,
           formulas_refreshed_at = EXCLUDED.formulas_refreshed_at, reconciled_at = EXCLUDED.reconciled_at,
           read_at = EXCLUDED.read_at, bulk_job_id = EXCLUDED.bulk_job_id, bulk_locator = EXCLUDED.bulk_locator",
        &[
            &object,
            &state.cursor.as_ref().map(|c| c.system_modstamp.as_str()),
            &state.cursor.as_ref().map(|c| c.id.as_str()),
            &state.loaded,
            &state.deletes_checked_at,
            &state.formulas_refreshed_at,
            &state.reconciled_at,
            &state.read_at,
            &state.bulk.as_ref().map(|b| b.job_id.as_str()),
            &state.bulk.as_ref().map(|b| b.locator.as_str()),
        ],
    )
    .await
    .map(|_| ())
    .map_err(err(format!("cannot save the state of {object}")))
}
