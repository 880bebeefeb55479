//! The destinations: one table per object, the sync's own tables (`_sf_state`: each object's
//! cursor and schedules; `_sf_runs`: each run's history; `_sf_columns`: each column the sync
//! made, and whether its field was removed), and the catalog tables beside them. Every write of
//! rows commits the object's state in the same transaction (R4).
//!
//! SQLite work runs on the blocking pool (rusqlite is synchronous) over one connection;
//! PostgreSQL over one tokio-postgres connection. Both sit behind [`Store`], which the engine
//! calls without knowing which it has.

mod postgres;
mod sqlite;

use std::collections::HashSet;
use std::sync::Arc;

use forcebridge_catalog::Catalog;

use crate::config::{Deletes, Destination};
use crate::error::Result;
use crate::summary::{Cursor, ObjectStatus};
use crate::table::{Row, TableDef};

/// One object's saved state, committed with its rows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ObjectState {
    pub(crate) cursor: Option<Cursor>,
    /// The first full load has completed.
    pub(crate) loaded: bool,
    /// The delete log (`getDeleted`) has been applied up to here (UTC, RFC 3339).
    pub(crate) deletes_checked_at: Option<String>,
    pub(crate) formulas_refreshed_at: Option<String>,
    pub(crate) reconciled_at: Option<String>,
    /// The org's clock when the last incremental read completed: late commits are looked
    /// for from `overlap` before it.
    pub(crate) read_at: Option<String>,
}

/// Rows a write changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Counts {
    pub(crate) inserted: u64,
    pub(crate) updated: u64,
    pub(crate) deleted: u64,
}

impl std::ops::AddAssign for Counts {
    fn add_assign(&mut self, other: Counts) {
        self.inserted += other.inserted;
        self.updated += other.updated;
        self.deleted += other.deleted;
    }
}

/// What changed between the columns the table has and the ones the describe asks for.
#[derive(Debug, Clone, Default)]
pub(crate) struct SchemaChange {
    /// The table was created now.
    pub(crate) created: bool,
    /// Columns added now (indexes into the definition's columns), to backfill.
    pub(crate) added: Vec<usize>,
    /// Columns kept whose field is gone, newly marked removed.
    pub(crate) removed: Vec<String>,
    /// Columns whose SQL type no longer matches the field's.
    pub(crate) type_changed: Vec<String>,
}

/// A run's row in the runs table.
#[derive(Debug, Clone)]
pub(crate) struct RunRecord {
    pub(crate) run_id: i64,
    pub(crate) object: String,
    pub(crate) started_at: String,
    pub(crate) ended_at: String,
    pub(crate) counts: Counts,
    pub(crate) api_calls: u64,
    pub(crate) outcome: String,
    pub(crate) error: Option<String>,
}

/// An open destination.
#[derive(Clone)]
pub(crate) enum Store {
    Sqlite(Arc<sqlite::SqliteStore>),
    Postgres(Arc<postgres::PostgresStore>),
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Store::Sqlite(_) => "Store::Sqlite",
            Store::Postgres(_) => "Store::Postgres",
        })
    }
}

/// Runs `work` on the blocking pool with the SQLite store.
async fn blocking<T: Send + 'static>(
    store: &Arc<sqlite::SqliteStore>,
    work: impl FnOnce(&sqlite::SqliteStore) -> Result<T> + Send + 'static,
) -> Result<T> {
    let store = Arc::clone(store);
    tokio::task::spawn_blocking(move || work(&store))
        .await
        .map_err(|e| crate::error::Error::destination(format!("the SQLite writer stopped: {e}")))?
}

impl Store {
    /// Opens the destination and makes the sync's own tables.
    pub(crate) async fn open(destination: &Destination) -> Result<Store> {
        match destination {
            Destination::Sqlite(path) => {
                let path = path.clone();
                let store = tokio::task::spawn_blocking(move || sqlite::SqliteStore::open(&path))
                    .await
                    .map_err(|e| {
                        crate::error::Error::destination(format!("the SQLite writer stopped: {e}"))
                    })??;
                Ok(Store::Sqlite(Arc::new(store)))
            }
            Destination::Postgres(url) => Ok(Store::Postgres(Arc::new(
                postgres::PostgresStore::open(url).await?,
            ))),
        }
    }

    pub(crate) async fn begin_run(&self, started_at: String) -> Result<i64> {
        match self {
            Store::Sqlite(s) => blocking(s, move |s| s.begin_run(&started_at)).await,
            Store::Postgres(p) => p.begin_run(&started_at).await,
        }
    }

    pub(crate) async fn record_run(&self, records: Vec<RunRecord>) -> Result<()> {
        match self {
            Store::Sqlite(s) => blocking(s, move |s| s.record_run(&records)).await,
            Store::Postgres(p) => p.record_run(&records).await,
        }
    }

    pub(crate) async fn write_catalog(&self, catalog: Catalog) -> Result<()> {
        match self {
            Store::Sqlite(s) => blocking(s, move |s| s.write_catalog(&catalog)).await,
            Store::Postgres(p) => p.write_catalog(&catalog).await,
        }
    }

    pub(crate) async fn state(&self, object: &str) -> Result<ObjectState> {
        let object = object.to_string();
        match self {
            Store::Sqlite(s) => blocking(s, move |s| s.state(&object)).await,
            Store::Postgres(p) => p.state(&object).await,
        }
    }

    pub(crate) async fn save_state(&self, object: &str, state: ObjectState) -> Result<()> {
        let object = object.to_string();
        match self {
            Store::Sqlite(s) => blocking(s, move |s| s.save_state(&object, &state)).await,
            Store::Postgres(p) => p.save_state(&object, &state).await,
        }
    }

    /// Creates the table, adds new columns and marks removed ones (R9).
    pub(crate) async fn sync_schema(
        &self,
        def: Arc<TableDef>,
        now: String,
    ) -> Result<SchemaChange> {
        match self {
            Store::Sqlite(s) => blocking(s, move |s| s.sync_schema(&def, &now)).await,
            Store::Postgres(p) => p.sync_schema(&def, &now).await,
        }
    }

    /// Drops the object's table, columns and state, for a reload from scratch.
    pub(crate) async fn reset_object(&self, object: &str) -> Result<()> {
        let object = object.to_string();
        match self {
            Store::Sqlite(s) => blocking(s, move |s| s.reset_object(&object)).await,
            Store::Postgres(p) => p.reset_object(&object).await,
        }
    }

    /// Upserts `rows` by Id, never letting an older `SystemModstamp` overwrite a newer one
    /// (R3), and commits `state` in the same transaction (R4).
    pub(crate) async fn apply(
        &self,
        def: Arc<TableDef>,
        rows: Vec<Row>,
        deletes: Deletes,
        synced_at: String,
        state: ObjectState,
    ) -> Result<Counts> {
        match self {
            Store::Sqlite(s) => {
                blocking(s, move |s| {
                    s.apply(&def, &rows, deletes, &synced_at, &state)
                })
                .await
            }
            Store::Postgres(p) => p.apply(&def, &rows, deletes, &synced_at, &state).await,
        }
    }

    /// Marks deleted (or removes) the rows with these ids, each with its deletion time, and
    /// commits `state` with them.
    pub(crate) async fn delete(
        &self,
        def: Arc<TableDef>,
        ids: Vec<(String, String)>,
        deletes: Deletes,
        synced_at: String,
        state: ObjectState,
    ) -> Result<u64> {
        match self {
            Store::Sqlite(s) => {
                blocking(s, move |s| {
                    s.delete(&def, &ids, deletes, &synced_at, &state)
                })
                .await
            }
            Store::Postgres(p) => p.delete(&def, &ids, deletes, &synced_at, &state).await,
        }
    }

    /// Writes the values of `columns` of rows already there (a backfill, a formula refresh),
    /// leaving every other column as it is.
    pub(crate) async fn update_columns(
        &self,
        def: Arc<TableDef>,
        columns: Vec<usize>,
        rows: Vec<Row>,
    ) -> Result<u64> {
        match self {
            Store::Sqlite(s) => blocking(s, move |s| s.update_columns(&def, &columns, &rows)).await,
            Store::Postgres(p) => p.update_columns(&def, &columns, &rows).await,
        }
    }

    /// The ids of the rows not marked deleted.
    pub(crate) async fn live_ids(&self, def: Arc<TableDef>) -> Result<HashSet<String>> {
        match self {
            Store::Sqlite(s) => blocking(s, move |s| s.live_ids(&def)).await,
            Store::Postgres(p) => p.live_ids(&def).await,
        }
    }

    pub(crate) async fn status(&self) -> Result<Vec<ObjectStatus>> {
        match self {
            Store::Sqlite(s) => blocking(s, move |s| s.status()).await,
            Store::Postgres(p) => p.status().await,
        }
    }
}
