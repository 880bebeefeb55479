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
    /// A first load read through a Bulk API 2.0 job: the job, and the locator of the next
    /// result page to read, committed with the rows of the page before it.
    pub(crate) bulk: Option<BulkResume>,
}

/// Where a Bulk first load stands: the job id and the locator of its next result page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BulkResume {
    pub(crate) job_id: String,
    pub(crate) locator: String,
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

/// A column the `_sf_columns` registry lists: its name, SQL type, and when its field went.
pub(crate) type Registered = (String, String, Option<String>);

/// What a table must become for `def`, worked out once for both stores, which only carry it
/// out: the columns to add and register, those whose field came back, the registered ones
/// whose field is gone, and the [`SchemaChange`] the engine is told.
#[derive(Debug, Default)]
pub(crate) struct ColumnPlan {
    /// Columns the registry does not list (indexes into the definition's columns).
    pub(crate) new: Vec<usize>,
    /// Registered columns marked removed whose field is back.
    pub(crate) revived: Vec<usize>,
    /// Registered columns, not yet marked removed, whose field is gone.
    pub(crate) gone: Vec<String>,
    pub(crate) change: SchemaChange,
}

pub(crate) fn plan_columns(
    def: &TableDef,
    registered: &[Registered],
    dialect: forcebridge_catalog::sql::Dialect,
) -> ColumnPlan {
    let mut plan = ColumnPlan::default();
    plan.change.created = registered.is_empty();
    for (i, column) in def.columns.iter().enumerate() {
        match registered
            .iter()
            .find(|(name, _, _)| name.eq_ignore_ascii_case(&column.name))
        {
            None => {
                plan.new.push(i);
                if !plan.change.created {
                    plan.change.added.push(i);
                }
            }
            Some((_, sql_type, removed_at)) => {
                if sql_type != column.sql_type(dialect) {
                    plan.change.type_changed.push(column.name.clone());
                }
                if removed_at.is_some() {
                    // The field is back: its column missed every change meanwhile.
                    plan.revived.push(i);
                    plan.change.added.push(i);
                }
            }
        }
    }
    for (name, _, removed_at) in registered {
        let present = def
            .columns
            .iter()
            .any(|c| c.name.eq_ignore_ascii_case(name));
        if !present && removed_at.is_none() {
            plan.gone.push(name.clone());
        }
    }
    plan.change.removed = plan.gone.clone();
    plan
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

/// Runs `work` on the blocking pool (rusqlite is synchronous).
pub(crate) async fn on_blocking_pool<T: Send + 'static>(
    work: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| crate::error::Error::destination(format!("the SQLite writer stopped: {e}")))?
}

/// Opens a SQLite file as the sync opens its destination: WAL, `synchronous = NORMAL`, a busy
/// timeout of 30 s.
pub(crate) fn open_sqlite(path: &std::path::Path) -> Result<rusqlite::Connection> {
    let fail = |e| {
        crate::error::Error::sqlite(
            format!("cannot open the SQLite database {}", path.display()),
            e,
        )
    };
    let db = rusqlite::Connection::open(path).map_err(fail)?;
    db.busy_timeout(std::time::Duration::from_secs(30))
        .map_err(fail)?;
    db.pragma_update(None, "journal_mode", "WAL")
        .map_err(fail)?;
    db.pragma_update(None, "synchronous", "NORMAL")
        .map_err(fail)?;
    Ok(db)
}

/// Connects to a PostgreSQL URL (no TLS), the connection driven by a task of its own;
/// `what` names the database in the error.
pub(crate) async fn connect_postgres(url: &str, what: &str) -> Result<tokio_postgres::Client> {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .map_err(|e| crate::error::Error::postgres(format!("cannot connect to {what}"), e))?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::warn!(error = %e, "a PostgreSQL connection ended");
        }
    });
    Ok(client)
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

#[cfg(test)]
mod tests {
    use forcebridge_catalog::FieldType;
    use forcebridge_catalog::sql::Dialect;

    use super::*;
    use crate::table::Column;

    fn column(name: &str, sqlite: &str) -> Column {
        Column {
            name: name.into(),
            field_type: FieldType::String,
            calculated: false,
            sqlite: sqlite.into(),
            postgres: "text".into(),
        }
    }

    fn registered(name: &str, sqlite: &str, removed: bool) -> Registered {
        let removed_at = removed.then(|| "2026-01-01T00:00:00.000Z".to_string());
        (name.into(), sqlite.into(), removed_at)
    }

    #[test]
    fn a_plan_adds_new_columns_revives_returning_ones_and_marks_gone_ones_once() {
        let def = TableDef {
            object: "Account".into(),
            columns: vec![
                column("Id", "TEXT"),
                column("Tier__c", "TEXT"),
                column("Score__c", "REAL"),
                column("Back__c", "TEXT"),
            ],
            id: 0,
            stamp: None,
            is_deleted: None,
        };
        let known = [
            registered("id", "TEXT", false),
            registered("Score__c", "INTEGER", false),
            registered("Back__c", "TEXT", true),
            registered("Gone__c", "TEXT", false),
            registered("Long_Gone__c", "TEXT", true),
        ];
        let plan = plan_columns(&def, &known, Dialect::Sqlite);
        assert_eq!(plan.new, [1]);
        assert_eq!(plan.revived, [3]);
        assert_eq!(plan.gone, ["Gone__c"]);
        assert!(!plan.change.created);
        assert_eq!(
            plan.change.added,
            [1, 3],
            "new and revived columns are backfilled"
        );
        assert_eq!(plan.change.type_changed, ["Score__c"]);
        assert_eq!(plan.change.removed, ["Gone__c"]);

        let fresh = plan_columns(&def, &[], Dialect::Sqlite);
        assert!(fresh.change.created);
        assert_eq!(fresh.new, [0, 1, 2, 3]);
        assert!(
            fresh.change.added.is_empty(),
            "a new table has nothing to backfill"
        );
    }
}
