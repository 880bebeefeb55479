//! What to push and how: plain settings with public fields, checked by [`PushConfig::validate`]
//! before any request. No file format lives here; the CLI reads its `[push]` section into
//! these types.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use forcebridge_client::bulk::PollOptions;

use crate::config::Destination;
use crate::error::{Error, Result};

/// Everything one push run needs besides the client.
#[derive(Debug, Clone)]
pub struct PushConfig {
    /// The object written to (`Account`).
    pub object: String,
    /// Where the rows come from.
    pub source: Source,
    pub operation: Operation,
    /// The source column that names a row across runs (its fingerprint, its rejects, its
    /// record). `None` takes the column mapped to the operation's match field: the external
    /// id for an upsert, `Id` for an update or a delete; an insert must name one.
    pub key_column: Option<String>,
    /// How columns become fields.
    pub mapping: Mapping,
    /// Where the push's state (`_sf_push_state`) and rejects (`_sf_push_rejects`) live: the
    /// sync's database, or any SQLite file.
    pub state: Destination,
    /// Which rows are sent.
    pub change_detection: ChangeDetection,
    /// Also delete the records whose key has left the source.
    pub mirror: Option<Mirror>,
    /// Rows read, validated and compared per window; each window is sorted by parent before
    /// it is cut into calls of 200, so children of one parent travel together.
    pub window: usize,
    /// What to do when records meet `UNABLE_TO_LOCK_ROW`.
    pub locks: LockRetry,
    /// When and how Bulk API 2.0 is used instead of sObject Collections.
    pub bulk: BulkSettings,
    /// Send `Sforce-Duplicate-Rule-Header: allowSave=true`, so rows that only match an
    /// alerting duplicate rule are saved; such a push uses Collections only.
    pub allow_save_on_duplicates: bool,
    /// Also write the rows this run rejected to this file, as JSON lines (the rejects table
    /// keeps them either way).
    pub rejects_file: Option<PathBuf>,
    /// Refuse to start when the forecast says the run would send more API requests than
    /// this (describes and reads included).
    pub budget: Option<u64>,
    /// Work out and report what would be sent, writing nothing anywhere.
    pub dry_run: bool,
    /// For crash tests only: end the run with an error right after this step of its first
    /// Bulk insert job, leaving the state exactly as a kill at that point would (every step
    /// commits before the next begins).
    #[doc(hidden)]
    pub stop_bulk_insert_after: Option<BulkInsertStep>,
}

/// The steps of a Bulk insert job, for [`PushConfig::stop_bulk_insert_after`].
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BulkInsertStep {
    /// The job is created and recorded with its rows in flight; nothing is uploaded.
    Recorded,
    /// Its rows are uploaded; it is still `Open`.
    Uploaded,
    /// It is closed (`UploadComplete`): the org processes it.
    Closed,
    /// It has finished on the org; its results are not read.
    Finished,
}

impl PushConfig {
    /// A push with the usual settings: columns by name, only new and changed rows, no mirror,
    /// windows of 2,000 rows, three lock retries from 200 ms then serial sends, Bulk jobs of
    /// 10,000 rows from 2,000 rows to send, no budget.
    pub fn new(
        object: impl Into<String>,
        source: Source,
        operation: Operation,
        state: Destination,
    ) -> PushConfig {
        PushConfig {
            object: object.into(),
            source,
            operation,
            key_column: None,
            mapping: Mapping::ByName,
            state,
            change_detection: ChangeDetection::Changed,
            mirror: None,
            window: 2_000,
            locks: LockRetry {
                retries: 3,
                first_delay: Duration::from_millis(200),
            },
            bulk: BulkSettings {
                threshold: 2_000,
                job_rows: 10_000,
                poll: PollOptions {
                    initial_interval: Duration::from_millis(250),
                    max_interval: Duration::from_secs(10),
                    timeout: Duration::from_secs(3_600),
                },
            },
            allow_save_on_duplicates: false,
            rejects_file: None,
            budget: None,
            dry_run: false,
            stop_bulk_insert_after: None,
        }
    }

    pub(crate) fn send_options(&self) -> super::send::SendOptions {
        super::send::SendOptions {
            locks: self.locks,
            allow_save_on_duplicates: self.allow_save_on_duplicates,
        }
    }

    /// Checks what can be checked without the org or the source; the message names the
    /// setting.
    pub fn validate(&self) -> Result<()> {
        check_name(&self.object).map_err(|why| Error::config(format!("object: {why}")))?;
        match &self.operation {
            Operation::Upsert { external_id_field } => check_name(external_id_field)
                .map_err(|why| Error::config(format!("external id: {why}")))?,
            Operation::Insert { marker_field } => match marker_field {
                Some(field) => check_name(field)
                    .map_err(|why| Error::config(format!("marker field: {why}")))?,
                None => {
                    return Err(Error::config(
                        "insert: name a marker field (a field that receives each row's key, so a \
                         batch cut off by a crash is resolved by reading it back), or upsert by an \
                         external id",
                    ));
                }
            },
            Operation::Update | Operation::Delete => {}
        }
        if matches!(self.operation, Operation::Insert { .. }) && self.key_column.is_none() {
            return Err(Error::config(
                "key column: an insert needs the source column that names each row",
            ));
        }
        if let Some(key) = &self.key_column
            && key.trim().is_empty()
        {
            return Err(Error::config("key column: empty"));
        }
        if let Mapping::Explicit(map) = &self.mapping {
            if map.is_empty() {
                return Err(Error::config("mapping: map at least one column"));
            }
            for field in map.values() {
                check_path(field).map_err(|why| Error::config(format!("mapping: {why}")))?;
            }
        }
        if self.bulk.job_rows == 0 {
            return Err(Error::config("bulk.job_rows: must be at least 1"));
        }
        if self.window == 0 {
            return Err(Error::config("window: must be at least 1"));
        }
        if self.mirror.is_some() && matches!(self.operation, Operation::Delete) {
            return Err(Error::config(
                "mirror: a delete push already deletes; mirror applies to insert, update and upsert",
            ));
        }
        match &self.source {
            Source::Csv(path) | Source::JsonLines(path) if path.as_os_str().is_empty() => {
                return Err(Error::config("source: the file path is empty"));
            }
            Source::Sqlite { query, .. } | Source::Postgres { query, .. } => query.validate()?,
            _ => {}
        }
        if let Source::Postgres { url, .. } = &self.source {
            Destination::parse(url).map_err(|e| Error::config(format!("source: {e}")))?;
        }
        Ok(())
    }

    /// The name the state and rejects tables file this push's rows under:
    /// `Account upsert External_Id__c`, `Contact insert`, ...
    pub(crate) fn target(&self) -> String {
        match &self.operation {
            Operation::Upsert { external_id_field } => {
                format!("{} upsert {external_id_field}", self.object)
            }
            Operation::Insert { .. } => format!("{} insert", self.object),
            Operation::Update => format!("{} update", self.object),
            Operation::Delete => format!("{} delete", self.object),
        }
    }
}

/// Where rows come from. Every source is read as a lazy stream: a window at a time, never
/// whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A CSV file with a header row; an empty cell is no value.
    Csv(PathBuf),
    /// One JSON object per line.
    JsonLines(PathBuf),
    /// A table or query in a SQLite file.
    Sqlite { path: PathBuf, query: SourceQuery },
    /// A table or query in a PostgreSQL database (`postgres://...`).
    Postgres { url: String, query: SourceQuery },
}

impl Source {
    /// The source for messages, without any password.
    pub fn display(&self) -> String {
        let query = |q: &SourceQuery| match q {
            SourceQuery::Table(t) => format!("table {t}"),
            SourceQuery::Sql(_) => "a query".to_string(),
        };
        match self {
            Source::Csv(path) => format!("CSV {}", path.display()),
            Source::JsonLines(path) => format!("JSON lines {}", path.display()),
            Source::Sqlite { path, query: q } => {
                format!("sqlite:{} ({})", path.display(), query(q))
            }
            Source::Postgres { url, query: q } => format!(
                "{} ({})",
                Destination::Postgres(url.clone()).display(),
                query(q)
            ),
        }
    }
}

/// What is read from a database source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceQuery {
    /// Every row of this table (or view); `schema.table` in PostgreSQL.
    Table(String),
    /// The rows of this `SELECT`.
    Sql(String),
}

impl SourceQuery {
    fn validate(&self) -> Result<()> {
        match self {
            SourceQuery::Table(name) => {
                let ok = name.split('.').count() <= 2
                    && name.split('.').all(|part| check_name(part).is_ok());
                if !ok {
                    return Err(Error::config(format!(
                        "source: {name:?} is not a table name (letters, digits, underscores, one optional schema)"
                    )));
                }
            }
            SourceQuery::Sql(sql) if sql.trim().is_empty() => {
                return Err(Error::config("source: the query is empty"));
            }
            SourceQuery::Sql(_) => {}
        }
        Ok(())
    }

    /// The `SELECT` that reads it.
    pub(crate) fn select(&self) -> String {
        match self {
            SourceQuery::Table(name) => {
                let quoted: Vec<String> = name.split('.').map(|p| format!("\"{p}\"")).collect();
                format!("SELECT * FROM {}", quoted.join("."))
            }
            SourceQuery::Sql(sql) => sql.trim().trim_end_matches(';').to_string(),
        }
    }
}

/// What happens to each record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Operation {
    /// Creates a record for each new key. `marker_field` receives the row's key, so a batch
    /// whose answer was lost (a crash, a cut connection) is resolved by reading which markers
    /// exist, never by sending again. A key already inserted whose row changed is updated by
    /// the record's Id.
    Insert { marker_field: Option<String> },
    /// Updates the record named by the column mapped to `Id`.
    Update,
    /// Creates or updates by an external id field (idempotent, the default choice).
    Upsert { external_id_field: String },
    /// Deletes the record named by the column mapped to `Id` (to the recycle bin).
    Delete,
}

impl Operation {
    /// `insert`, `update`, `upsert` or `delete`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Operation::Insert { .. } => "insert",
            Operation::Update => "update",
            Operation::Upsert { .. } => "upsert",
            Operation::Delete => "delete",
        }
    }
}

/// How source columns become fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mapping {
    /// A column is the field of the same name, compared case-insensitively;
    /// `Account.External_Id__c` sets the `Account` relationship by the parent's external id.
    /// A column that names no field is a reject reason when it holds a value (an empty cell
    /// sends nothing); the key column need not be a field, and a key column named `id` is
    /// not the record's `Id` on an insert or an upsert.
    ByName,
    /// Only these columns (source column → field or `Relationship.ExternalIdField`); other
    /// columns are ignored.
    Explicit(BTreeMap<String, String>),
}

/// Which rows a run sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeDetection {
    /// Rows whose fingerprint differs from the one Salesforce last confirmed, and rows that
    /// failed before.
    Changed,
    /// Every valid row (`--full`).
    All,
}

/// Deleting the records whose key left the source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mirror {
    /// Refuse the run (sending nothing) when more records than this would be deleted.
    pub max_deletes: u64,
}

/// Bulk API 2.0 for large sets: a push with at least `threshold` rows to send goes through
/// Bulk jobs of at most `job_rows` rows (sorted by parent), an insert's new rows through
/// insert jobs recorded before their upload; smaller sets through sObject Collections.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BulkSettings {
    pub threshold: u64,
    pub job_rows: usize,
    /// How each job is waited for.
    pub poll: PollOptions,
}

/// Retries of records that met `UNABLE_TO_LOCK_ROW`: `retries` rounds with the delay doubling
/// from `first_delay`, then one record per call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockRetry {
    pub retries: u32,
    pub first_delay: Duration,
}

/// An API name: a letter, then letters, digits and underscores.
fn check_name(name: &str) -> std::result::Result<(), String> {
    let ok = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(format!("{name:?} is not an API name"))
    }
}

/// A field or `Relationship.ExternalIdField`.
fn check_path(path: &str) -> std::result::Result<(), String> {
    let parts: Vec<&str> = path.split('.').collect();
    if parts.len() > 2 {
        return Err(format!(
            "{path:?}: only one relationship level (Relationship.Field) is supported"
        ));
    }
    parts.into_iter().try_for_each(check_name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(operation: Operation) -> PushConfig {
        PushConfig::new(
            "Account",
            Source::Csv("in.csv".into()),
            operation,
            Destination::Sqlite("state.db".into()),
        )
    }

    #[test]
    fn bad_settings_are_refused_naming_the_setting() {
        let upsert = Operation::Upsert {
            external_id_field: "Ext__c".into(),
        };
        assert!(config(upsert.clone()).validate().is_ok());

        let e = config(Operation::Insert { marker_field: None })
            .validate()
            .unwrap_err();
        assert!(
            e.to_string().starts_with("insert: name a marker field"),
            "{e}"
        );

        let mut c = config(Operation::Insert {
            marker_field: Some("Marker__c".into()),
        });
        assert_eq!(
            c.validate().unwrap_err().to_string(),
            "key column: an insert needs the source column that names each row"
        );
        c.key_column = Some("source_id".into());
        assert!(c.validate().is_ok());

        let mut c = config(upsert.clone());
        c.mapping = Mapping::Explicit(BTreeMap::from([(
            "parent".to_string(),
            "Account.Parent.Ext__c".to_string(),
        )]));
        assert!(
            c.validate()
                .unwrap_err()
                .to_string()
                .starts_with("mapping:")
        );

        let mut c = config(upsert.clone());
        c.source = Source::Sqlite {
            path: "x.db".into(),
            query: SourceQuery::Table("accounts; DROP TABLE x".into()),
        };
        assert!(c.validate().unwrap_err().to_string().starts_with("source:"));

        let mut c = config(Operation::Delete);
        c.mirror = Some(Mirror { max_deletes: 1 });
        assert!(c.validate().unwrap_err().to_string().starts_with("mirror:"));
    }

    #[test]
    fn a_table_source_is_quoted_and_a_query_kept() {
        assert_eq!(
            SourceQuery::Table("marts.accounts".into()).select(),
            "SELECT * FROM \"marts\".\"accounts\""
        );
        assert_eq!(
            SourceQuery::Sql("SELECT a FROM t;".into()).select(),
            "SELECT a FROM t"
        );
    }
}
