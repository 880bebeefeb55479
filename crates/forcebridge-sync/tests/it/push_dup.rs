//! Push against an org with duplicate rules: without the duplicate-rule option, rows that
//! match saved records on an `Alert` rule land in the rejects with `DUPLICATES_DETECTED`; with
//! it they are saved; a `Block` rule refuses them either way.

use forcebridge_emulator::{
    Config, DuplicateAction, DuplicateRuleConfig, FieldConfig, ObjectConfig,
};
use forcebridge_sync::Destination;
use forcebridge_sync::push::{self, Operation, PushConfig, Source, SourceQuery};

use crate::support::{Db, TestOrg};

/// An org whose Account has an external id, with "Acme" and "Globex" already saved and a
/// duplicate rule on the account name with `action`.
async fn org(action: DuplicateAction) -> TestOrg {
    let mut config = Config::builtin();
    let mut ext = FieldConfig::new("External_Id__c", "string");
    ext.length = Some(40);
    ext.external_id = true;
    let mut account = ObjectConfig::new("Account", vec![ext]);
    account.extends = true;
    config.schema = vec![account];
    let org = TestOrg::start_with(config).await;
    org.control()
        .insert(
            "Account",
            [
                serde_json::json!({"Name": "Acme"}),
                serde_json::json!({"Name": "Globex"}),
            ],
        )
        .unwrap();
    org.control()
        .add_duplicate_rule(DuplicateRuleConfig::new(
            "Account",
            "Account_Name",
            ["Name"],
            action,
        ))
        .unwrap();
    org
}

/// Replaces the source table `accounts` (`External_Id__c`, `Name`) with `rows`.
async fn write_accounts(db: &Db, rows: &[(&str, &str)]) {
    let values: Vec<String> = rows
        .iter()
        .map(|(ext, name)| format!("('{ext}', '{name}')"))
        .collect();
    let sql = format!(
        "DROP TABLE IF EXISTS accounts; \
         CREATE TABLE accounts (\"External_Id__c\" TEXT, \"Name\" TEXT); \
         INSERT INTO accounts VALUES {};",
        values.join(", ")
    );
    match db.destination() {
        Destination::Sqlite(path) => rusqlite::Connection::open(path)
            .unwrap()
            .execute_batch(&sql)
            .unwrap(),
        Destination::Postgres(url) => {
            let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
                .await
                .unwrap();
            tokio::spawn(connection);
            client.batch_execute(&sql).await.unwrap();
        }
    }
}

fn upsert(db: &Db) -> PushConfig {
    let query = SourceQuery::Table("accounts".into());
    let source = match db.destination() {
        Destination::Sqlite(path) => Source::Sqlite { path, query },
        Destination::Postgres(url) => Source::Postgres { url, query },
    };
    PushConfig::new(
        "Account",
        source,
        Operation::Upsert {
            external_id_field: "External_Id__c".into(),
        },
        db.destination(),
    )
}

/// The rejects file's lines as (key, error code, message).
fn rejects(path: &std::path::Path) -> Vec<(String, String, String)> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|line| {
            let line: serde_json::Value = serde_json::from_str(line).unwrap();
            let text = |name: &str| line[name].as_str().unwrap_or_default().to_string();
            (text("key"), text("error_code"), text("message"))
        })
        .collect()
}

async fn names_in_org(org: &TestOrg) -> Vec<String> {
    let records: Vec<forcebridge_client::Record> = org
        .client()
        .query("SELECT Name FROM Account")
        .fetch_all()
        .await
        .unwrap();
    let mut names: Vec<String> = records
        .iter()
        .map(|r| r.get_str("Name").unwrap().to_string())
        .collect();
    // SOQL orders without case; the test compares bytes.
    names.sort();
    names
}

#[tokio::test]
async fn alert_duplicates_are_rejected_without_the_option_and_saved_with_it() {
    for db in Db::both().await {
        let org = org(DuplicateAction::Alert).await;
        let client = org.client();
        // Two rows match saved accounts (one in another case); one is new.
        write_accounts(
            &db,
            &[("D-1", "ACME"), ("D-2", "Initech"), ("D-3", "Globex")],
        )
        .await;
        let dir = tempfile::tempdir().unwrap();
        let mut config = upsert(&db);
        config.rejects_file = Some(dir.path().join("rejects.jsonl"));
        let summary = push::run(&client, &config, &|_| {}).await.unwrap();
        assert_eq!(
            (summary.sent, summary.succeeded, summary.failed),
            (3, 1, 2),
            "{}",
            db.name()
        );
        let rejected = rejects(config.rejects_file.as_ref().unwrap());
        assert_eq!(
            rejected
                .iter()
                .map(|(key, code, _)| (key.as_str(), code.as_str()))
                .collect::<Vec<_>>(),
            [
                ("D-1", "DUPLICATES_DETECTED"),
                ("D-3", "DUPLICATES_DETECTED")
            ],
            "{}",
            db.name()
        );
        assert!(
            rejected[0].2.contains("Use one of these records?"),
            "{rejected:?}"
        );
        assert_eq!(names_in_org(&org).await, ["Acme", "Globex", "Initech"]);

        // With the option, the rejected rows are retried and saved.
        config.allow_save_on_duplicates = true;
        let summary = push::run(&client, &config, &|_| {}).await.unwrap();
        assert_eq!(
            (summary.sent, summary.succeeded, summary.failed),
            (2, 2, 0),
            "{}",
            db.name()
        );
        assert!(rejects(config.rejects_file.as_ref().unwrap()).is_empty());
        assert_eq!(
            names_in_org(&org).await,
            ["ACME", "Acme", "Globex", "Globex", "Initech"]
        );
        db.drop_database().await;
    }
}

#[tokio::test]
async fn block_duplicates_are_rejected_even_with_the_option() {
    let db = Db::sqlite();
    let org = org(DuplicateAction::Block).await;
    let client = org.client();
    write_accounts(&db, &[("D-1", "acme"), ("D-2", "Initech")]).await;
    let dir = tempfile::tempdir().unwrap();
    let mut config = upsert(&db);
    config.rejects_file = Some(dir.path().join("rejects.jsonl"));
    config.allow_save_on_duplicates = true;
    let summary = push::run(&client, &config, &|_| {}).await.unwrap();
    assert_eq!((summary.succeeded, summary.failed), (1, 1));
    let rejected = rejects(config.rejects_file.as_ref().unwrap());
    assert_eq!(rejected.len(), 1);
    assert_eq!(
        (rejected[0].0.as_str(), rejected[0].1.as_str()),
        ("D-1", "DUPLICATES_DETECTED")
    );
    assert_eq!(names_in_org(&org).await, ["Acme", "Globex", "Initech"]);
    db.drop_database().await;
}
