//! The test org, the two destinations, and the one comparison of a destination with the org.

use std::collections::BTreeMap;
use std::time::Duration;

use forcebridge_catalog::FieldType;
use forcebridge_catalog::sql::{postgres_read_expr, to_text};
use forcebridge_client::{Client, LoginUrl, PasswordCredentials, RetryPolicy};
use forcebridge_emulator::{Config, Control, Emulator};
use forcebridge_sync::{Destination, ObjectSelection, SyncConfig};
use rusqlite::types::Value as SqlValue;
use serde_json::Value;

/// A started org whose clock starts at `2026-03-10T12:00:00Z` and moves only when told to.
pub(crate) struct TestOrg {
    pub(crate) emulator: Emulator,
}

impl TestOrg {
    pub(crate) async fn start() -> TestOrg {
        TestOrg::start_with(Config::builtin()).await
    }

    /// A started org from `config` (its schema, rules and faults), on the same fixed clock.
    pub(crate) async fn start_with(mut config: Config) -> TestOrg {
        config.fixed_time = Some(
            chrono::DateTime::parse_from_rfc3339("2026-03-10T12:00:00Z")
                .unwrap()
                .timestamp_millis(),
        );
        let emulator = Emulator::start(config, "127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        TestOrg { emulator }
    }

    pub(crate) fn control(&self) -> Control {
        self.emulator.control()
    }

    /// A client with small pages (so a few thousand rows cross many page boundaries) and quick
    /// retries.
    pub(crate) fn client(&self) -> Client {
        let login = self.emulator.login();
        Client::builder(PasswordCredentials {
            login_url: LoginUrl::custom(&login.url).unwrap(),
            client_id: login.client_id,
            client_secret: login.client_secret.into(),
            username: login.username,
            password: login.password.into(),
            security_token: login.security_token.into(),
        })
        .query_batch_size(500)
        .retry_policy(RetryPolicy {
            max_retries: 8,
            initial_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(50),
            ..RetryPolicy::standard()
        })
        .build()
        .unwrap()
    }

    pub(crate) fn advance(&self, seconds: u64) {
        self.control().advance_clock(Duration::from_secs(seconds));
    }
}

/// A destination database made for one test and dropped after it.
pub(crate) enum Db {
    Sqlite(tempfile::TempDir),
    Postgres(String),
}

const SERVER: &str = "host=127.0.0.1 port=5432 user=postgres dbname=test";

async fn admin() -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(SERVER, tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL must run on 127.0.0.1:5432 for these tests: {e}"));
    tokio::spawn(connection);
    client
}

impl Db {
    /// Both destinations: SQLite in a temporary directory, and a fresh PostgreSQL database.
    pub(crate) async fn both() -> Vec<Db> {
        vec![Db::sqlite(), Db::postgres().await]
    }

    pub(crate) fn sqlite() -> Db {
        Db::Sqlite(tempfile::tempdir().unwrap())
    }

    pub(crate) async fn postgres() -> Db {
        let name = format!(
            "sync_test_{}_{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        );
        admin()
            .await
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .unwrap();
        Db::Postgres(name)
    }

    pub(crate) fn destination(&self) -> Destination {
        match self {
            Db::Sqlite(dir) => Destination::Sqlite(dir.path().join("sync.db")),
            Db::Postgres(name) => {
                Destination::Postgres(format!("postgres://postgres@127.0.0.1:5432/{name}"))
            }
        }
    }

    pub(crate) fn name(&self) -> &'static str {
        match self {
            Db::Sqlite(_) => "sqlite",
            Db::Postgres(_) => "postgres",
        }
    }

    /// A sync configuration for `objects` into this database: no lag (the org's clock only
    /// moves when told to), ten minutes of overlap.
    pub(crate) fn config(&self, objects: &[&str]) -> SyncConfig {
        let mut config = SyncConfig::new(
            self.destination(),
            ObjectSelection::Names(objects.iter().map(|s| s.to_string()).collect()),
        );
        config.lag = Duration::ZERO;
        config.overlap = Duration::from_secs(600);
        config
    }

    /// The table of `object`: each row's active columns as text (the catalog's text forms),
    /// and whether it is marked deleted, by Id.
    pub(crate) async fn rows(&self, object: &str) -> (Vec<(String, FieldType)>, Rows) {
        match self {
            Db::Sqlite(dir) => {
                let db = rusqlite::Connection::open(dir.path().join("sync.db")).unwrap();
                let mut stmt = db
                    .prepare("SELECT name, field_type FROM _sf_columns WHERE object = ?1 AND removed_at IS NULL ORDER BY position")
                    .unwrap();
                let columns: Vec<(String, FieldType)> = stmt
                    .query_map([object], |r| {
                        Ok((
                            r.get::<_, String>(0)?,
                            FieldType::parse(&r.get::<_, String>(1)?),
                        ))
                    })
                    .unwrap()
                    .map(Result::unwrap)
                    .collect();
                let list: Vec<String> = columns.iter().map(|(n, _)| format!("\"{n}\"")).collect();
                let mut stmt = db
                    .prepare(&format!(
                        "SELECT {}, _sf_is_deleted FROM \"{object}\"",
                        list.join(", ")
                    ))
                    .unwrap();
                let mut rows = Rows::new();
                let mut result = stmt.query([]).unwrap();
                while let Some(r) = result.next().unwrap() {
                    let values: Vec<Option<String>> = (0..columns.len())
                        .map(|i| match r.get::<_, SqlValue>(i).unwrap() {
                            SqlValue::Null => None,
                            SqlValue::Integer(n) => Some(n.to_string()),
                            SqlValue::Real(f) => Some(f.to_string()),
                            SqlValue::Text(t) => Some(t),
                            SqlValue::Blob(_) => panic!("no blobs"),
                        })
                        .collect();
                    let deleted = r.get::<_, i64>(columns.len()).unwrap() != 0;
                    let id = values[0].clone().unwrap();
                    assert!(
                        rows.insert(id, (values, deleted)).is_none(),
                        "a duplicate row"
                    );
                }
                (columns, rows)
            }
            Db::Postgres(name) => {
                let url = format!("postgres://postgres@127.0.0.1:5432/{name}");
                let (db, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
                    .await
                    .unwrap();
                tokio::spawn(connection);
                let columns: Vec<(String, FieldType)> = db
                    .query("SELECT name, field_type FROM _sf_columns WHERE object = $1 AND removed_at IS NULL ORDER BY position", &[&object])
                    .await
                    .unwrap()
                    .into_iter()
                    .map(|r| (r.get::<_, String>(0), FieldType::parse(&r.get::<_, String>(1))))
                    .collect();
                let list: Vec<String> = columns
                    .iter()
                    .map(|(n, t)| postgres_read_expr(t, &format!("\"{n}\"")))
                    .collect();
                let mut rows = Rows::new();
                for r in db
                    .query(
                        &format!(
                            "SELECT {}, _sf_is_deleted FROM \"{object}\"",
                            list.join(", ")
                        ),
                        &[],
                    )
                    .await
                    .unwrap()
                {
                    let values: Vec<Option<String>> =
                        (0..columns.len()).map(|i| r.get(i)).collect();
                    let deleted: bool = r.get(columns.len());
                    let id = values[0].clone().unwrap();
                    assert!(
                        rows.insert(id, (values, deleted)).is_none(),
                        "a duplicate row"
                    );
                }
                (columns, rows)
            }
        }
    }

    /// The registry's columns of `object` (`_sf_columns`): name, catalog field type, and
    /// whether the field is marked removed; and, for each, how many rows hold a value in it.
    pub(crate) async fn registered(&self, object: &str) -> Vec<(String, String, bool, i64)> {
        let sql = "SELECT name, field_type, removed_at IS NOT NULL FROM _sf_columns WHERE object = $1 ORDER BY position";
        let count = |name: &str| format!("SELECT count(\"{name}\") FROM \"{object}\"");
        match self {
            Db::Sqlite(dir) => {
                let db = rusqlite::Connection::open(dir.path().join("sync.db")).unwrap();
                let mut stmt = db.prepare(&sql.replace("$1", "?1")).unwrap();
                let columns: Vec<(String, String, bool)> = stmt
                    .query_map([object], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                    .unwrap()
                    .map(Result::unwrap)
                    .collect();
                columns
                    .into_iter()
                    .map(|(name, field_type, removed)| {
                        let n: i64 = db.query_row(&count(&name), [], |r| r.get(0)).unwrap();
                        (name, field_type, removed, n)
                    })
                    .collect()
            }
            Db::Postgres(name) => {
                let url = format!("postgres://postgres@127.0.0.1:5432/{name}");
                let (db, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
                    .await
                    .unwrap();
                tokio::spawn(connection);
                let mut out = Vec::new();
                for r in db.query(sql, &[&object]).await.unwrap() {
                    let name: String = r.get(0);
                    let n: i64 = db.query_one(&count(&name), &[]).await.unwrap().get(0);
                    out.push((name, r.get(1), r.get(2), n));
                }
                out
            }
        }
    }

    /// The Bulk job a first load of `object` stopped in (`_sf_state.bulk_job_id`), if any.
    pub(crate) async fn bulk_job(&self, object: &str) -> Option<String> {
        let sql = "SELECT bulk_job_id FROM _sf_state WHERE object = $1";
        match self {
            Db::Sqlite(dir) => {
                let db = rusqlite::Connection::open(dir.path().join("sync.db")).unwrap();
                db.query_row(&sql.replace("$1", "?1"), [object], |r| r.get(0))
                    .unwrap()
            }
            Db::Postgres(name) => {
                let url = format!("postgres://postgres@127.0.0.1:5432/{name}");
                let (db, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
                    .await
                    .unwrap();
                tokio::spawn(connection);
                db.query_one(sql, &[&object]).await.unwrap().get(0)
            }
        }
    }

    /// Drops a PostgreSQL database (a SQLite one goes with its directory).
    pub(crate) async fn drop_database(self) {
        if let Db::Postgres(name) = self {
            admin()
                .await
                .batch_execute(&format!("DROP DATABASE {name} WITH (FORCE)"))
                .await
                .unwrap();
        }
    }
}

pub(crate) type Rows = BTreeMap<String, (Vec<Option<String>>, bool)>;

/// Asserts that the destination holds `object` exactly as the org does: every record the org
/// still has (deleted ones in the recycle bin too) with every column equal, deleted ones
/// marked deleted, and every other row of the destination marked deleted (soft deletes).
/// Returns how many live rows it compared.
pub(crate) async fn assert_same(client: &Client, db: &Db, object: &str) -> usize {
    let (columns, rows) = db.rows(object).await;
    assert_eq!(columns[0].0, "Id", "the Id column comes first");
    let names: Vec<&str> = columns.iter().map(|(n, _)| n.as_str()).collect();
    let records = client
        .query_all(format!(
            "SELECT {} FROM {object} ORDER BY Id",
            names.join(", ")
        ))
        .raw_pages();
    let mut source = BTreeMap::new();
    {
        use futures_util::TryStreamExt;
        let mut pages = records;
        while let Some(page) = pages.try_next().await.unwrap() {
            for record in page.records() {
                let map: serde_json::Map<String, Value> = serde_json::from_str(record).unwrap();
                let values: Vec<Option<String>> = columns
                    .iter()
                    .map(|(n, t)| map.get(n).and_then(|v| to_text(t, v)))
                    .collect();
                let deleted = map
                    .get("IsDeleted")
                    .and_then(Value::as_bool)
                    .unwrap_or(false);
                source.insert(values[0].clone().unwrap(), (values, deleted));
            }
        }
    }
    let mut live = 0;
    for (id, (values, deleted)) in &source {
        let Some((stored, stored_deleted)) = rows.get(id) else {
            panic!(
                "{} {object}: record {id} is missing from the destination",
                db.name()
            );
        };
        assert_eq!(
            stored_deleted,
            deleted,
            "{} {object} {id}: deleted flag",
            db.name()
        );
        for (i, (name, field_type)) in columns.iter().enumerate() {
            assert!(
                same_value(field_type, stored[i].as_deref(), values[i].as_deref()),
                "{} {object} {id}: field {name}: destination {:?}, org {:?}",
                db.name(),
                stored[i],
                values[i]
            );
        }
        if !deleted {
            live += 1;
        }
    }
    for (id, (_, deleted)) in &rows {
        if !source.contains_key(id) {
            assert!(
                deleted,
                "{} {object}: row {id} is gone from the org but not marked deleted",
                db.name()
            );
        }
    }
    live
}

fn same_value(field_type: &FieldType, stored: Option<&str>, org: Option<&str>) -> bool {
    match (stored, org) {
        (None, None) => true,
        (Some(a), Some(b)) if a == b => true,
        (Some(a), Some(b)) => match field_type {
            FieldType::Double
            | FieldType::Currency
            | FieldType::Percent
            | FieldType::Int
            | FieldType::Long => {
                matches!((a.parse::<f64>(), b.parse::<f64>()), (Ok(x), Ok(y)) if x == y)
            }
            _ => false,
        },
        _ => false,
    }
}
