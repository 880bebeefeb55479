//! The catalog tables in SQLite and PostgreSQL, and the type mapping: every field type the
//! local org has round-trips through a column of its mapped type in both databases.

use std::collections::BTreeMap;

use forcebridge_catalog::sql::{Dialect, column_type, from_text, postgres_read_expr, to_text};
use forcebridge_catalog::{Catalog, Field, FieldType, Selection};
use serde_json::Value;

use crate::support::TestOrg;

/// A fresh PostgreSQL database on the local server, dropped when this is dropped. Fails the
/// test loudly when the server cannot be reached.
struct Postgres {
    name: String,
}

const SERVER: &str = "host=127.0.0.1 port=5432 user=postgres dbname=test";

impl Postgres {
    async fn create() -> Postgres {
        let name = format!(
            "catalog_test_{}_{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        );
        let admin = admin().await;
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .unwrap();
        Postgres { name }
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:5432/{}", self.name)
    }

    async fn connect(&self) -> tokio_postgres::Client {
        let (client, connection) = tokio_postgres::connect(&self.url(), tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(connection);
        client
    }

    async fn drop_database(self) {
        admin()
            .await
            .batch_execute(&format!("DROP DATABASE {} WITH (FORCE)", self.name))
            .await
            .unwrap();
    }
}

async fn admin() -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(SERVER, tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL must run on 127.0.0.1:5432 for these tests: {e}"));
    tokio::spawn(connection);
    client
}

#[tokio::test]
async fn the_catalog_tables_are_written_to_sqlite_with_keys_and_replaced_on_rewrite() {
    let org = TestOrg::small().await;
    let catalog = org.extract(&Selection::all()).await.catalog;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("catalog.db");
    catalog.write_sqlite(&path).unwrap();
    catalog.write_sqlite(&path).unwrap();
    let db = rusqlite::Connection::open(&path).unwrap();
    let count = |sql: &str| -> i64 { db.query_row(sql, [], |row| row.get(0)).unwrap() };
    assert_eq!(
        count("SELECT count(*) FROM objects"),
        catalog.objects.len() as i64
    );
    let fields: usize = catalog.objects.iter().map(|o| o.fields.len()).sum();
    assert_eq!(count("SELECT count(*) FROM fields"), fields as i64);
    assert_eq!(
        count("SELECT count(*) FROM relationships"),
        catalog.relationships().len() as i64
    );
    assert_eq!(
        count(
            "SELECT count(*) FROM picklist_values WHERE object = 'Project__c' AND field = 'Stage__c'"
        ),
        3
    );
    let (kind, postgres): (String, String) = db
        .query_row(
            "SELECT r.kind, f.postgres_type FROM relationships r JOIN fields f ON f.object = r.child AND f.name = r.field WHERE r.child = 'Task_Item__c' AND r.field = 'Project__c'",
            [],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .unwrap();
    assert_eq!(
        (kind.as_str(), postgres.as_str()),
        ("master-detail", "varchar(18)")
    );
    // Every relationship's field is a field, and every field's object an object.
    assert_eq!(count("SELECT count(*) FROM pragma_foreign_key_check"), 0);
    let budget: String = db
        .query_row(
            "SELECT postgres_type FROM fields WHERE object = 'Project__c' AND name = 'Budget__c'",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(budget, "numeric(16,2)");
}

#[tokio::test]
async fn the_catalog_tables_are_written_to_postgres_with_keys() {
    let org = TestOrg::small().await;
    let catalog = org.extract(&Selection::all()).await.catalog;
    let database = Postgres::create().await;
    catalog.write_postgres(&database.url()).await.unwrap();
    catalog.write_postgres(&database.url()).await.unwrap();
    let client = database.connect().await;
    let count = async |sql: &str| -> i64 { client.query_one(sql, &[]).await.unwrap().get(0) };
    assert_eq!(
        count("SELECT count(*) FROM objects").await,
        catalog.objects.len() as i64
    );
    assert_eq!(
        count("SELECT count(*) FROM relationships").await,
        catalog.relationships().len() as i64
    );
    let keys = count(
        "SELECT count(*) FROM information_schema.table_constraints WHERE constraint_type IN ('PRIMARY KEY', 'FOREIGN KEY') AND table_name IN ('objects', 'fields', 'relationships', 'picklist_values')",
    )
    .await;
    assert_eq!(keys, 4 + 3);
    let row = client
        .query_one(
            "SELECT record_count, custom FROM objects WHERE name = 'Project__c'",
            &[],
        )
        .await
        .unwrap();
    let (records, custom): (Option<i64>, bool) = (row.get(0), row.get(1));
    assert_eq!(
        records,
        catalog
            .object("Project__c")
            .unwrap()
            .record_count
            .map(|n| n as i64)
    );
    assert!(custom);
    drop(client);
    database.drop_database().await;
}

/// One real value of every field type the org has: the field it came from and the value.
async fn sample_values(org: &TestOrg, catalog: &Catalog) -> BTreeMap<String, (Field, Value)> {
    let mut samples: BTreeMap<String, (Field, Value)> = BTreeMap::new();
    for object in catalog.objects.iter().filter(|o| o.operations.queryable) {
        let wanted: Vec<&Field> = object
            .fields
            .iter()
            .filter(|f| !samples.contains_key(f.field_type.as_str()))
            .collect();
        if wanted.is_empty() {
            continue;
        }
        let names: Vec<&str> = wanted.iter().map(|f| f.name.as_str()).collect();
        let soql = format!("SELECT {} FROM {} LIMIT 50", names.join(", "), object.name);
        let records = org.client.query(soql).fetch_all().await.unwrap();
        for record in records {
            let map = record.into_map();
            for field in &wanted {
                let value = map.get(&field.name).cloned().unwrap_or(Value::Null);
                if !value.is_null() && !samples.contains_key(field.field_type.as_str()) {
                    samples.insert(
                        field.field_type.as_str().to_string(),
                        ((*field).clone(), value),
                    );
                }
            }
        }
    }
    samples
}

/// Two API values are the same value: numbers compare as numbers (`5000` and `5000.0`).
fn same(a: &Value, b: &Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

#[tokio::test]
async fn every_field_type_of_the_local_org_round_trips_through_its_columns() {
    let org = TestOrg::small().await;
    let catalog = org.extract(&Selection::all()).await.catalog;
    let types: std::collections::BTreeSet<&str> = catalog
        .objects
        .iter()
        .flat_map(|o| o.fields.iter().map(|f| f.field_type.as_str()))
        .collect();
    let samples = sample_values(&org, &catalog).await;

    let sqlite = rusqlite::Connection::open_in_memory().unwrap();
    let database = Postgres::create().await;
    let postgres = database.connect().await;
    let mut checked = Vec::new();
    for field_type in &types {
        let field_type = FieldType::parse(field_type);
        let Some((field, value)) = samples.get(field_type.as_str()) else {
            // Only compound types may lack a column; every other type the org has holds data.
            assert!(field_type.is_compound(), "no {field_type} value in the org");
            continue;
        };
        let text = to_text(&field.field_type, value);
        let Some(sqlite_type) = column_type(field, Dialect::Sqlite) else {
            assert!(field_type.is_compound() && text.is_none(), "{field_type}");
            continue;
        };
        let text = text.unwrap();

        let table = format!("t_{}", field_type.as_str().to_ascii_lowercase());
        sqlite
            .execute(
                &format!("CREATE TABLE {table} (v {sqlite_type}) STRICT"),
                [],
            )
            .unwrap();
        let bound: rusqlite::types::Value = match sqlite_type.as_str() {
            "INTEGER" => rusqlite::types::Value::Integer(text.parse().unwrap()),
            "REAL" => rusqlite::types::Value::Real(text.parse().unwrap()),
            _ => rusqlite::types::Value::Text(text.clone()),
        };
        sqlite
            .execute(&format!("INSERT INTO {table} (v) VALUES (?1)"), [bound])
            .unwrap();
        let read: String = sqlite
            .query_row(&format!("SELECT CAST(v AS TEXT) FROM {table}"), [], |row| {
                row.get(0)
            })
            .unwrap();
        let back = from_text(&field.field_type, Some(&read));
        assert!(
            same(&back, value),
            "SQLite {field_type}: {value} stored as {read} reads {back}"
        );

        let postgres_type = column_type(field, Dialect::Postgres).unwrap();
        postgres
            .batch_execute(&format!("CREATE TABLE {table} (v {postgres_type})"))
            .await
            .unwrap();
        postgres
            .execute(
                &format!("INSERT INTO {table} (v) VALUES ($1::text::{postgres_type})"),
                &[&text],
            )
            .await
            .unwrap();
        let read: String = postgres
            .query_one(
                &format!(
                    "SELECT {} FROM {table}",
                    postgres_read_expr(&field.field_type, "v")
                ),
                &[],
            )
            .await
            .unwrap()
            .get(0);
        let back = from_text(&field.field_type, Some(&read));
        assert!(
            same(&back, value),
            "PostgreSQL {field_type}: {value} stored as {read} reads {back}"
        );
        checked.push(field_type.as_str().to_string());
    }
    drop(postgres);
    database.drop_database().await;
    // The org's types, less the compound ones, all made the trip.
    for expected in [
        "id",
        "reference",
        "string",
        "currency",
        "percent",
        "datetime",
        "date",
        "time",
        "boolean",
        "double",
        "multipicklist",
        "picklist",
    ] {
        assert!(
            checked.iter().any(|c| c == expected),
            "{expected} not checked: {checked:?}"
        );
    }
}
