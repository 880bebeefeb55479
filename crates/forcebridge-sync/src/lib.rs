//! Replication of Salesforce objects into SQLite or PostgreSQL: incremental, tie-safe,
//! delete-aware and resumable, within an API budget.
//!
//! ```no_run
//! # async fn demo(client: forcebridge_client::Client) -> forcebridge_sync::Result<()> {
//! use forcebridge_sync::{Destination, ObjectSelection, SyncConfig};
//!
//! let config = SyncConfig::new(
//!     Destination::parse("sqlite:forcebridge.db")?,
//!     ObjectSelection::Names(vec!["Account".into(), "Contact".into()]),
//! );
//! let summary = forcebridge_sync::run(&client, &config, &|_progress| {}).await?;
//! for object in &summary.objects {
//!     println!("{}: {} new, {} changed, {} deleted", object.object, object.inserted, object.updated, object.deleted);
//! }
//! # Ok(()) }
//! ```
//!
//! Each object becomes one table typed by the catalog's mapping
//! (`forcebridge_catalog::sql`), with the system columns `_sf_synced_at`, `_sf_is_deleted`
//! and `_sf_deleted_at`; the catalog tables sit beside them, and the sync's own tables hold
//! each object's cursor (`_sf_state`), each run's history (`_sf_runs`) and the columns it made
//! (`_sf_columns`, where a field the org removed is marked, its column kept).
//!
//! The per-object loop meets the rules R1-R12 of the sync notes: a `(SystemModstamp, Id)`
//! cursor with tie-safe paging, reading only up to a lag behind the org's clock and re-reading
//! an overlap, upserts that never let an older version overwrite a newer one, the cursor
//! committed in the same transaction as each page of rows, soft deletes from `queryAll`, the
//! delete log (`getDeleted`) every run, Id-set reconciliation when the log no longer reaches
//! back or the object deletes for good, formula refresh on a schedule, columns added for new
//! fields and backfilled, full refresh and diff for objects without a timestamp, and a stop at
//! a checkpoint when the API budget is reached ([`Outcome::BudgetExhausted`]).
//!
//! A first load of an object with at least [`SyncConfig::bulk_threshold`] records (the org's
//! `recordCount`, read only when a first load is ahead) reads through a Bulk API 2.0
//! `queryAll` job instead of REST pages: the same statement, its result pages committed in
//! order, each with the job id and the next page's locator, so a killed run resumes the job
//! where its last commit left it; a job that expired falls back to the REST read from the
//! committed cursor. The cursor ends where the REST read would leave it.
//!
//! The sync writes nothing to Salesforce: a read-only client syncs. The [`push`] module is the
//! reverse direction (reverse ETL): rows from files and databases into Salesforce, validated,
//! change-detected and applied once. The crate emits `tracing` events and never prints;
//! progress goes to the caller's callback.

mod bulk;
mod config;
mod engine;
mod error;
pub mod push;
mod store;
mod summary;
mod table;

pub use config::{Budget, Deletes, Destination, Mode, ObjectOptions, ObjectSelection, SyncConfig};
pub use engine::{Progress, run, status};
pub use error::{Error, ErrorKind, Result};
pub use summary::{Cursor, ObjectStatus, ObjectSummary, Outcome, RunSummary};
