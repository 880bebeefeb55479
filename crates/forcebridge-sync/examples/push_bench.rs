//! Measures the push against the in-process local org: a 100,000-row upsert from SQLite (wall
//! time, API calls, Bulk jobs), the same rows again unchanged, and 10,000 unchanged rows
//! (calls and writes), and a 10,000-row upsert through Collections alone for comparison. Run
//! with `cargo run --release -p forcebridge-sync --example push_bench`. It prints a Markdown
//! table (the crate README keeps the numbers).

#![allow(clippy::print_stdout)]

use forcebridge_client::{Client, LoginUrl, PasswordCredentials};
use forcebridge_emulator::{Config, Emulator, FieldConfig, ObjectConfig};
use forcebridge_sync::Destination;
use forcebridge_sync::push::{self, Operation, PushConfig, PushSummary, Source, SourceQuery};

fn source(path: &std::path::Path, table: &str, n: usize) {
    let db = rusqlite::Connection::open(path).unwrap();
    db.execute_batch(&format!(
        "DROP TABLE IF EXISTS {table}; CREATE TABLE {table} (External_Id__c TEXT, Name TEXT, Industry TEXT, NumberOfEmployees INTEGER, AnnualRevenue REAL, Website TEXT);"
    ))
    .unwrap();
    let tx = db.unchecked_transaction().unwrap();
    {
        let mut insert = tx
            .prepare(&format!(
                "INSERT INTO {table} VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
            ))
            .unwrap();
        for i in 0..n {
            insert
                .execute(rusqlite::params![
                    format!("{table}-{i:07}"),
                    format!("Account {i}"),
                    ["Energy", "Retail", "Banking"][i % 3],
                    (i % 5000) as i64,
                    i as f64 * 12.5,
                    format!("https://example.com/{i}"),
                ])
                .unwrap();
        }
    }
    tx.commit().unwrap();
}

fn row(what: &str, s: &PushSummary, writes: &str) {
    println!(
        "| {what} | {} | {} | {} | {} | {:.2} s | {} |",
        s.rows,
        s.sent,
        s.bulk_jobs,
        s.api_calls,
        s.duration.as_secs_f64(),
        writes
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let mut config = Config::builtin();
    let mut ext = FieldConfig::new("External_Id__c", "string");
    ext.length = Some(40);
    ext.external_id = true;
    let mut account = ObjectConfig::new("Account", vec![ext]);
    account.extends = true;
    config.schema = vec![account];
    let org = Emulator::start(config, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let login = org.login();
    let client = Client::builder(PasswordCredentials {
        login_url: LoginUrl::custom(&login.url).unwrap(),
        client_id: login.client_id,
        client_secret: login.client_secret.into(),
        username: login.username,
        password: login.password.into(),
        security_token: login.security_token.into(),
    })
    .build()
    .unwrap();
    client.session().await.unwrap();

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("source.db");
    source(&path, "big", 100_000);
    source(&path, "small", 10_000);
    let upsert = |table: &str| {
        PushConfig::new(
            "Account",
            Source::Sqlite {
                path: path.clone(),
                query: SourceQuery::Table(table.into()),
            },
            Operation::Upsert {
                external_id_field: "External_Id__c".into(),
            },
            Destination::Sqlite(path.clone()),
        )
    };
    let count = |client: &Client| {
        let client = client.clone();
        async move {
            let n: Vec<forcebridge_client::Record> = client
                .query("SELECT Id FROM Account WHERE External_Id__c != null")
                .fetch_all()
                .await
                .unwrap();
            n.len()
        }
    };

    println!("| run | rows | sent | Bulk jobs | API calls | wall time | records written |");
    println!("|---|---|---|---|---|---|---|");
    let big = upsert("big");
    let first = push::run(&client, &big, &|_| {}).await.unwrap();
    let n = count(&client).await;
    row(
        "100,000-row upsert, first run",
        &first,
        &format!("{n} records"),
    );
    let again = push::run(&client, &big, &|_| {}).await.unwrap();
    row("the same 100,000 rows, unchanged", &again, "0");

    let mut small = upsert("small");
    small.bulk.threshold = u64::MAX;
    let collections = push::run(&client, &small, &|_| {}).await.unwrap();
    row(
        "10,000-row upsert, Collections only",
        &collections,
        &format!("{} records", collections.succeeded),
    );
    let unchanged = push::run(&client, &small, &|_| {}).await.unwrap();
    row("10,000 rows, unchanged", &unchanged, "0");
    assert_eq!(count(&client).await, 110_000);
}
