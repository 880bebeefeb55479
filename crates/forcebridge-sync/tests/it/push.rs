//! Push against the in-process local org: sources in SQLite and PostgreSQL (and files), state
//! and rejects beside them, and the org read back after every run.

use std::collections::BTreeMap;
use std::time::Duration;

use forcebridge_client::{Access, Client, Record};
use forcebridge_emulator::{
    Config, FaultConfig, FaultScope, FieldConfig, ObjectConfig, ValidationRuleConfig,
};
use forcebridge_sync::push::{
    self, Mapping, Mirror, Operation, PushConfig, PushSummary, Source, SourceQuery,
};
use forcebridge_sync::{Destination, ErrorKind};

use crate::support::{Db, TestOrg};

/// An org whose Account has an external id, a restricted picklist, a score that a validation
/// rule keeps non-negative, and whose Contact has a marker field for inserts.
pub(crate) async fn org() -> TestOrg {
    let mut config = Config::builtin();
    let mut ext = FieldConfig::new("External_Id__c", "string");
    ext.length = Some(40);
    ext.external_id = true;
    let mut tier = FieldConfig::new("Tier__c", "picklist");
    tier.values = vec!["Gold".into(), "Silver".into()];
    tier.restricted = true;
    let score = FieldConfig::new("Score__c", "int");
    let mut account = ObjectConfig::new("Account", vec![ext, tier, score]);
    account.extends = true;
    let mut marker = FieldConfig::new("Source_Key__c", "string");
    marker.length = Some(40);
    let mut contact = ObjectConfig::new("Contact", vec![marker]);
    contact.extends = true;
    config.schema = vec![account, contact];
    config.validation_rules = vec![ValidationRuleConfig {
        object: "Account".into(),
        name: "Score_Not_Negative".into(),
        condition: "Score__c < 0".into(),
        message: "The score cannot be negative".into(),
        field: Some("Score__c".into()),
    }];
    TestOrg::start_with(config).await
}

/// A row of the `accounts` source table: external id, name, tier, score.
pub(crate) type AccountRow = (String, String, Option<String>, Option<i64>);

pub(crate) fn rows(n: usize, prefix: &str) -> Vec<AccountRow> {
    (0..n)
        .map(|i| {
            (
                format!("{prefix}-{i:05}"),
                format!("Account {i}"),
                Some(if i % 2 == 0 { "Gold" } else { "Silver" }.to_string()),
                Some(i as i64),
            )
        })
        .collect()
}

fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// Replaces the source table `accounts` (columns `External_Id__c`, `Name`, `Tier__c`,
/// `Score__c`) with `rows`.
pub(crate) async fn write_accounts(db: &Db, rows: &[AccountRow]) {
    let mut sql = String::from(
        "DROP TABLE IF EXISTS accounts; \
         CREATE TABLE accounts (\"External_Id__c\" TEXT, \"Name\" TEXT, \"Tier__c\" TEXT, \"Score__c\" BIGINT);",
    );
    for chunk in rows.chunks(1000) {
        sql.push_str("INSERT INTO accounts VALUES ");
        let values: Vec<String> = chunk
            .iter()
            .map(|(ext, name, tier, score)| {
                format!(
                    "({}, {}, {}, {})",
                    quote(ext),
                    quote(name),
                    tier.as_deref().map(quote).unwrap_or_else(|| "NULL".into()),
                    score
                        .map(|s| s.to_string())
                        .unwrap_or_else(|| "NULL".into())
                )
            })
            .collect();
        sql.push_str(&values.join(", "));
        sql.push(';');
    }
    execute(db, &sql).await;
}

pub(crate) async fn execute(db: &Db, sql: &str) {
    match db.destination() {
        Destination::Sqlite(path) => {
            rusqlite::Connection::open(path)
                .unwrap()
                .execute_batch(sql)
                .unwrap();
        }
        Destination::Postgres(url) => {
            let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
                .await
                .unwrap();
            tokio::spawn(connection);
            client.batch_execute(sql).await.unwrap();
        }
    }
}

/// The rows of a query on the test database, every column as text.
pub(crate) async fn select(db: &Db, sql: &str) -> Vec<Vec<Option<String>>> {
    match db.destination() {
        Destination::Sqlite(path) => {
            let db = rusqlite::Connection::open(path).unwrap();
            let mut statement = db.prepare(sql).unwrap();
            let n = statement.column_count();
            statement
                .query_map([], |r| {
                    (0..n)
                        .map(|i| {
                            r.get::<_, rusqlite::types::Value>(i).map(|v| match v {
                                rusqlite::types::Value::Null => None,
                                rusqlite::types::Value::Integer(i) => Some(i.to_string()),
                                rusqlite::types::Value::Text(t) => Some(t),
                                other => Some(format!("{other:?}")),
                            })
                        })
                        .collect::<rusqlite::Result<Vec<_>>>()
                })
                .unwrap()
                .collect::<rusqlite::Result<Vec<_>>>()
                .unwrap()
        }
        Destination::Postgres(url) => {
            let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
                .await
                .unwrap();
            tokio::spawn(connection);
            client
                .simple_query(sql)
                .await
                .unwrap()
                .into_iter()
                .filter_map(|m| match m {
                    tokio_postgres::SimpleQueryMessage::Row(row) => Some(
                        (0..row.len())
                            .map(|i| row.get(i).map(str::to_string))
                            .collect(),
                    ),
                    _ => None,
                })
                .collect()
        }
    }
}

fn source(db: &Db, query: SourceQuery) -> Source {
    match db.destination() {
        Destination::Sqlite(path) => Source::Sqlite { path, query },
        Destination::Postgres(url) => Source::Postgres { url, query },
    }
}

/// An upsert of the `accounts` table by `External_Id__c`, state in the same database.
fn upsert(db: &Db) -> PushConfig {
    let mut config = PushConfig::new(
        "Account",
        source(db, SourceQuery::Table("accounts".into())),
        Operation::Upsert {
            external_id_field: "External_Id__c".into(),
        },
        db.destination(),
    );
    config.locks.first_delay = Duration::from_millis(5);
    config
}

pub(crate) async fn push(client: &Client, config: &PushConfig) -> PushSummary {
    push::run(client, config, &|_| {}).await.unwrap()
}

/// The org's accounts that have an external id, by it: (name, tier, score).
pub(crate) async fn org_accounts(
    client: &Client,
) -> BTreeMap<String, (String, Option<String>, Option<i64>)> {
    let records: Vec<Record> = client
        .query("SELECT External_Id__c, Name, Tier__c, Score__c FROM Account WHERE External_Id__c != null")
        .fetch_all()
        .await
        .unwrap();
    let mut out = BTreeMap::new();
    for r in records {
        let ext = r.get_str("External_Id__c").unwrap().to_string();
        let value = (
            r.get_str("Name").unwrap().to_string(),
            r.get_str("Tier__c").map(str::to_string),
            r.get_f64("Score__c").map(|x| x as i64),
        );
        assert!(
            out.insert(ext.clone(), value).is_none(),
            "{ext} is in the org twice"
        );
    }
    out
}

pub(crate) fn expected(
    rows: &[AccountRow],
) -> BTreeMap<String, (String, Option<String>, Option<i64>)> {
    rows.iter()
        .map(|(ext, name, tier, score)| (ext.clone(), (name.clone(), tier.clone(), *score)))
        .collect()
}

#[tokio::test]
async fn invalid_rows_and_validation_rule_failures_go_to_the_rejects_and_are_retried_next_run() {
    for db in Db::both().await {
        let org = org().await;
        let client = org.client();
        let mut source = rows(6, "A");
        // Never sent: a value outside the restricted picklist, a name over 255 characters.
        source[1].2 = Some("Bronze".into());
        source[2].1 = "x".repeat(256);
        // Sent, refused by the validation rule.
        source[3].3 = Some(-5);
        write_accounts(&db, &source).await;
        let rejects_dir = tempfile::tempdir().unwrap();
        let rejects_file = rejects_dir.path().join("rejects.jsonl");
        let mut config = upsert(&db);
        config.rejects_file = Some(rejects_file.clone());
        let summary = push(&client, &config).await;
        assert_eq!((summary.rows, summary.invalid), (6, 2), "{}", db.name());
        let lines: Vec<serde_json::Value> = std::fs::read_to_string(&rejects_file)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let keys: Vec<&str> = lines.iter().map(|l| l["key"].as_str().unwrap()).collect();
        assert_eq!(keys, ["A-00001", "A-00002", "A-00003"]);
        assert_eq!(lines[2]["error_code"], "FIELD_CUSTOM_VALIDATION_EXCEPTION");
        assert_eq!(lines[0]["row"]["Tier__c"], "Bronze");
        assert_eq!((summary.sent, summary.succeeded, summary.failed), (4, 3, 1));

        let rejects = select(
            &db,
            "SELECT key, stage, error_code, fields, message FROM _sf_push_rejects ORDER BY key",
        )
        .await;
        let summary_of = |r: &Vec<Option<String>>| {
            (
                r[0].clone().unwrap(),
                r[1].clone().unwrap(),
                r[2].clone().unwrap(),
                r[3].clone().unwrap(),
            )
        };
        assert_eq!(
            rejects.iter().map(summary_of).collect::<Vec<_>>(),
            [
                (
                    "A-00001".into(),
                    "validation".into(),
                    "INVALID_ROW".into(),
                    "Tier__c".into()
                ),
                (
                    "A-00002".into(),
                    "validation".into(),
                    "INVALID_ROW".into(),
                    "Name".into()
                ),
                (
                    "A-00003".into(),
                    "salesforce".into(),
                    "FIELD_CUSTOM_VALIDATION_EXCEPTION".into(),
                    "Score__c".into()
                ),
            ],
            "{}",
            db.name()
        );
        assert!(
            rejects[0][4]
                .as_deref()
                .unwrap()
                .contains("\"Bronze\" is not a value")
        );
        assert!(
            rejects[2][4]
                .as_deref()
                .unwrap()
                .contains("The score cannot be negative")
        );
        let mut applied = source.clone();
        applied.retain(|r| !["A-00001", "A-00002", "A-00003"].contains(&r.0.as_str()));
        assert_eq!(org_accounts(&client).await, expected(&applied));

        // Fixed in the source: the next run sends the three rejected rows only, and the
        // rejects empty.
        source[1].2 = Some("Silver".into());
        source[2].1 = "Short".into();
        source[3].3 = Some(5);
        write_accounts(&db, &source).await;
        // The duplicate-rule header keeps the push on Collections, however low the Bulk
        // threshold.
        config.allow_save_on_duplicates = true;
        config.bulk.threshold = 1;
        let summary = push(&client, &config).await;
        assert_eq!(summary.bulk_jobs, 0);
        assert_eq!(
            std::fs::read_to_string(&rejects_file).unwrap(),
            "",
            "a run without rejects leaves an empty rejects file"
        );
        assert_eq!(
            (summary.sent, summary.succeeded, summary.unchanged),
            (3, 3, 3),
            "{}",
            db.name()
        );
        assert_eq!(org_accounts(&client).await, expected(&source));
        assert!(
            select(&db, "SELECT key FROM _sf_push_rejects")
                .await
                .is_empty()
        );
        db.drop_database().await;
    }
}

#[tokio::test]
async fn ten_thousand_rows_with_a_hundred_changed_send_exactly_the_hundred() {
    for db in Db::both().await {
        let org = org().await;
        let client = org.client();
        let mut source = rows(10_000, "C");
        write_accounts(&db, &source).await;
        let config = upsert(&db);
        let first = push(&client, &config).await;
        assert_eq!(
            (first.sent, first.succeeded),
            (10_000, 10_000),
            "{}",
            db.name()
        );
        assert_eq!(first.bulk_jobs, 1, "10,000 rows are one Bulk job");
        assert!(
            first.api_calls <= first.forecast_api_calls,
            "{} calls made, {} forecast",
            first.api_calls,
            first.forecast_api_calls
        );

        let unchanged = push(&client, &config).await;
        assert_eq!((unchanged.sent, unchanged.unchanged), (0, 10_000));
        assert!(
            unchanged.api_calls <= 1,
            "an unchanged run made {} calls",
            unchanged.api_calls
        );

        for i in (0..10_000).step_by(100) {
            source[i].1 = format!("Renamed {i}");
        }
        write_accounts(&db, &source).await;
        let changed = push(&client, &config).await;
        assert_eq!(
            (changed.sent, changed.succeeded, changed.unchanged),
            (100, 100, 9_900),
            "{}",
            db.name()
        );
        assert_eq!(org_accounts(&client).await, expected(&source));

        let mut full = config.clone();
        full.change_detection = push::ChangeDetection::All;
        assert_eq!(push(&client, &full).await.sent, 10_000);
        assert_eq!(
            org_accounts(&client).await.len(),
            10_000,
            "a full resend duplicates nothing"
        );
        db.drop_database().await;
    }
}

#[tokio::test]
async fn locked_rows_are_retried_then_sent_one_by_one() {
    // Through Collections (600 rows are below the Bulk threshold), and through Bulk, whose
    // locked rows go back through Collections.
    for (db, bulk_threshold) in Db::both().await.into_iter().zip([u64::MAX, 1]) {
        let org = org().await;
        let client = org.client();
        let source = rows(600, "L");
        write_accounts(&db, &source).await;
        let mut config = upsert(&db);
        // Records already there: updates meet locked rows.
        push(&client, &config).await;
        let mut renamed = source.clone();
        for r in &mut renamed {
            r.1.push_str(" (renamed)");
        }
        write_accounts(&db, &renamed).await;
        let mut faults = FaultConfig::none();
        faults.lock_rate = 0.3;
        faults.scope = FaultScope::Writes;
        faults.seed = 11;
        org.control().set_faults(faults);
        config.locks.retries = 1;
        config.bulk.threshold = bulk_threshold;
        let summary = push(&client, &config).await;
        assert_eq!(summary.bulk_jobs > 0, bulk_threshold == 1, "{summary:?}");
        org.control().set_faults(FaultConfig::none());
        assert!(summary.lock_retries > 0, "{summary:?}");
        assert!(summary.serial_sends > 0, "{summary:?}");
        // A record alone in its call still meets the lock at the injected rate: those are in
        // the rejects, and the next run sends them.
        let rejected = select(&db, "SELECT error_code FROM _sf_push_rejects").await;
        assert!(
            rejected
                .iter()
                .all(|r| r[0].as_deref() == Some("UNABLE_TO_LOCK_ROW"))
        );
        assert_eq!(summary.failed as usize, rejected.len());
        let again = push(&client, &config).await;
        assert_eq!(again.sent as usize, rejected.len(), "{}", db.name());
        assert_eq!(org_accounts(&client).await, expected(&renamed));
        db.drop_database().await;
    }
}

#[tokio::test]
async fn a_mirror_deletes_what_left_the_source_only_within_its_guard() {
    for db in Db::both().await {
        let org = org().await;
        let client = org.client();
        let source = rows(10, "M");
        write_accounts(&db, &source).await;
        let mut config = upsert(&db);
        config.mirror = Some(Mirror { max_deletes: 2 });
        push(&client, &config).await;
        write_accounts(&db, &source[..7]).await;
        let e = push::run(&client, &config, &|_| {}).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Refused);
        assert!(
            e.to_string().starts_with(
                "mirror: 3 records of Account left the source, more than max deletes 2"
            ),
            "{e}"
        );
        assert_eq!(
            org_accounts(&client).await.len(),
            10,
            "the guard sent nothing"
        );

        config.mirror = Some(Mirror { max_deletes: 3 });
        let summary = push(&client, &config).await;
        assert_eq!((summary.deleted, summary.sent), (3, 0), "{}", db.name());
        assert_eq!(org_accounts(&client).await, expected(&source[..7]));
        assert_eq!(push(&client, &config).await.deleted, 0, "deleted once");
        db.drop_database().await;
    }
}

#[tokio::test]
async fn a_dry_run_writes_nothing_and_shows_the_changes() {
    let db = Db::sqlite();
    let org = org().await;
    let client = org.client();
    let source = rows(5, "D");
    write_accounts(&db, &source).await;
    // The state lives in a file the dry run must not create.
    let state = tempfile::tempdir().unwrap();
    let mut config = upsert(&db);
    config.state = Destination::Sqlite(state.path().join("state.db"));
    config.dry_run = true;
    let summary = push(&client, &config).await;
    assert_eq!(
        (summary.to_insert, summary.to_update, summary.sent),
        (5, 0, 0)
    );
    assert!(!state.path().join("state.db").exists());
    assert!(org_accounts(&client).await.is_empty());
    assert_eq!(summary.diff.len(), 5);
    assert_eq!(summary.diff[0].action, "insert");

    config.dry_run = false;
    push(&client, &config).await;
    let mut changed = source.clone();
    changed[0].1 = "New name".into();
    write_accounts(&db, &changed).await;
    config.dry_run = true;
    let summary = push(&client, &config).await;
    assert_eq!(
        (summary.to_insert, summary.to_update, summary.unchanged),
        (0, 1, 4)
    );
    let diff = &summary.diff[0];
    assert_eq!(diff.action, "update");
    let changes: Vec<(&str, String, String)> = diff
        .changes
        .iter()
        .map(|c| (c.field.as_str(), c.current.to_string(), c.new.to_string()))
        .collect();
    assert_eq!(
        changes,
        [(
            "Name",
            "\"Account 0\"".to_string(),
            "\"New name\"".to_string()
        )]
    );
    assert_eq!(
        org_accounts(&client).await,
        expected(&source),
        "nothing was written"
    );
}

#[tokio::test]
async fn a_read_only_connection_is_refused_before_anything_is_sent() {
    let db = Db::sqlite();
    let org = org().await;
    write_accounts(&db, &rows(3, "R")).await;
    let login = org.emulator.login();
    let client = Client::builder(forcebridge_client::PasswordCredentials {
        login_url: forcebridge_client::LoginUrl::custom(&login.url).unwrap(),
        client_id: login.client_id,
        client_secret: login.client_secret.into(),
        username: login.username,
        password: login.password.into(),
        security_token: login.security_token.into(),
    })
    .access(Access::ReadOnly)
    .build()
    .unwrap();
    let e = push::run(&client, &upsert(&db), &|_| {}).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Refused);
    assert!(e.to_string().contains("read-only"), "{e}");
    assert_eq!(
        client.requests_sent(),
        0,
        "nothing was sent, not even a describe"
    );
    assert!(org_accounts(&org.client()).await.is_empty());
}

#[tokio::test]
async fn inserts_from_a_csv_set_parents_by_external_id_and_survive_lost_answers_without_duplicates()
{
    let org = org().await;
    let client = org.client();
    let parents = tempfile::tempdir().unwrap();
    let accounts_csv = parents.path().join("accounts.csv");
    std::fs::write(
        &accounts_csv,
        "External_Id__c,Name\nP1,Parent one\nP2,Parent two\n",
    )
    .unwrap();
    let state = Destination::Sqlite(parents.path().join("state.db"));
    let accounts = PushConfig::new(
        "Account",
        Source::Csv(accounts_csv),
        Operation::Upsert {
            external_id_field: "External_Id__c".into(),
        },
        state.clone(),
    );
    assert_eq!(push(&client, &accounts).await.succeeded, 2);

    let contacts_jsonl = parents.path().join("contacts.jsonl");
    let mut lines = String::new();
    for i in 0..1_000 {
        lines.push_str(&format!(
            "{{\"source_id\": {i}, \"last\": \"Person {i}\", \"parent\": \"P{}\"}}\n",
            i % 2 + 1
        ));
    }
    std::fs::write(&contacts_jsonl, lines).unwrap();
    let mut contacts = PushConfig::new(
        "Contact",
        Source::JsonLines(contacts_jsonl),
        Operation::Insert {
            marker_field: Some("Source_Key__c".into()),
        },
        state,
    );
    contacts.key_column = Some("source_id".into());
    contacts.mapping = Mapping::Explicit(BTreeMap::from([
        ("last".to_string(), "LastName".to_string()),
        ("parent".to_string(), "Account.External_Id__c".to_string()),
    ]));
    // A third of the collection calls lose their answer after the org has written.
    let mut faults = FaultConfig::none();
    faults.reset_rate = 0.3;
    faults.scope = FaultScope::Path("/composite/sobjects".into());
    faults.seed = 5;
    org.control().set_faults(faults);
    let summary = push(&client, &contacts).await;
    org.control().set_faults(FaultConfig::none());
    assert!(summary.resolved_in_flight > 0, "{summary:?}");
    // Whatever was found missing is sent by the next run, and nothing twice.
    push(&client, &contacts).await;
    let rerun = push(&client, &contacts).await;
    assert_eq!((rerun.sent, rerun.unchanged), (0, 1_000));

    let records: Vec<Record> = client
        .query(
            "SELECT Source_Key__c, Account.External_Id__c FROM Contact WHERE Source_Key__c != null",
        )
        .fetch_all()
        .await
        .unwrap();
    let mut by_key: BTreeMap<String, String> = BTreeMap::new();
    for r in &records {
        let key = r.get_str("Source_Key__c").unwrap().to_string();
        let parent = r.get_str("Account.External_Id__c").unwrap().to_string();
        assert!(
            by_key.insert(key.clone(), parent).is_none(),
            "contact {key} was created twice"
        );
    }
    assert_eq!(by_key.len(), 1_000, "every row was created");
    assert_eq!(by_key["7"], "P2");
    assert_eq!(by_key["8"], "P1");
}

#[tokio::test]
async fn values_are_converted_by_field_type_and_bad_ones_named_by_field() {
    let org = org().await;
    let client = org.client();
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("contacts.csv");
    std::fs::write(
        &csv,
        "id,LastName,Birthdate,DoNotCall,Email,Bogus__c\n\
         1,Good,1990-02-03,yes,good@example.com,\n\
         2,Bad date,1990-02-30,no,,\n\
         3,Bad flag,,maybe,,\n\
         4,Unknown column,,,,x\n\
         5,,,,,\n\
         1,Repeated key,,,,\n",
    )
    .unwrap();
    let mut config = PushConfig::new(
        "Contact",
        Source::Csv(csv),
        Operation::Insert {
            marker_field: Some("Source_Key__c".into()),
        },
        Destination::Sqlite(dir.path().join("state.db")),
    );
    config.key_column = Some("id".into());
    let summary = push(&client, &config).await;
    let db = rusqlite::Connection::open(dir.path().join("state.db")).unwrap();
    let dump: Vec<(String, String)> = db
        .prepare("SELECT key, message FROM _sf_push_rejects")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        (summary.rows, summary.invalid, summary.succeeded),
        (6, 5, 1),
        "{dump:?}"
    );
    let db = rusqlite::Connection::open(dir.path().join("state.db")).unwrap();
    let mut statement = db
        .prepare(
            "SELECT key, row_number, fields, message FROM _sf_push_rejects ORDER BY row_number",
        )
        .unwrap();
    let rejects: Vec<(String, i64, String, String)> = statement
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let fields: Vec<(&str, i64, &str)> = rejects
        .iter()
        .map(|(k, n, f, _)| (k.as_str(), *n, f.as_str()))
        .collect();
    // The repeated key (row 6) is counted invalid and never sent; its reject entry shares the
    // key of row 1, and row 1 going through clears it.
    assert_eq!(
        fields,
        [
            ("2", 2, "Birthdate"),
            ("3", 3, "DoNotCall"),
            ("4", 4, "Bogus__c"),
            ("5", 5, "LastName"),
        ]
    );
    assert!(
        rejects[0].3.contains("expects a date as YYYY-MM-DD"),
        "{}",
        rejects[0].3
    );
    assert!(
        rejects[1].3.contains("expects true or false"),
        "{}",
        rejects[1].3
    );
    assert!(
        rejects[2].3.contains("unknown field Bogus__c on Contact"),
        "{}",
        rejects[2].3
    );
    assert!(
        rejects[3]
            .3
            .contains("field Contact.LastName cannot be empty"),
        "{}",
        rejects[3].3
    );
    let records: Vec<Record> = client
        .query(
            "SELECT LastName, Birthdate, DoNotCall, Email FROM Contact WHERE Source_Key__c = '1'",
        )
        .fetch_all()
        .await
        .unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].get_str("Birthdate"), Some("1990-02-03"));
    assert_eq!(records[0].get_bool("DoNotCall"), Some(true));
}

/// An insert of the `accounts` table through Bulk jobs (threshold 1), each row's key in
/// `External_Id__c`, which serves as the marker; state in the same database.
/// Gives the rows at `refused` (refused by the validation rule) a valid score again, as a
/// fix in the source would, and checks that the next run sends exactly them, settles nothing
/// in flight, and leaves every source row in the org once.
pub(crate) async fn fix_refused_and_push(
    db: &Db,
    client: &Client,
    config: &PushConfig,
    source: &mut [AccountRow],
    refused: &[usize],
) {
    for &i in refused {
        source[i].3 = Some(i as i64);
    }
    write_accounts(db, source).await;
    let fixed = push(client, config).await;
    let n = refused.len() as u64;
    assert_eq!(
        (fixed.sent, fixed.succeeded, fixed.resolved_in_flight),
        (n, n, 0),
        "{}: {fixed:?}",
        db.name()
    );
    assert_eq!(
        org_accounts(client).await,
        expected(source),
        "{}",
        db.name()
    );
}

pub(crate) fn bulk_insert(db: &Db) -> PushConfig {
    let mut config = PushConfig::new(
        "Account",
        source(db, SourceQuery::Table("accounts".into())),
        Operation::Insert {
            marker_field: Some("External_Id__c".into()),
        },
        db.destination(),
    );
    config.key_column = Some("External_Id__c".into());
    config.bulk.threshold = 1;
    config.bulk.poll.initial_interval = Duration::from_millis(5);
    config.bulk.poll.max_interval = Duration::from_millis(20);
    config
}

pub(crate) async fn recorded_jobs(db: &Db) -> usize {
    select(db, "SELECT job_id FROM _sf_push_jobs").await.len()
}

#[tokio::test]
async fn a_large_insert_goes_through_recorded_bulk_jobs_and_creates_every_row_once() {
    for db in Db::both().await {
        let org = org().await;
        let client = org.client();
        let source = rows(2_500, "B");
        write_accounts(&db, &source).await;
        let mut config = bulk_insert(&db);
        config.bulk.threshold = 2_000;
        config.bulk.job_rows = 1_000;
        // Polled as a real run polls (from 250 ms), so the forecast's count of polls holds
        // on a loaded machine too.
        config.bulk.poll = PushConfig::new(
            "Account",
            Source::Csv("unused.csv".into()),
            Operation::Update,
            db.destination(),
        )
        .bulk
        .poll;
        let summary = push(&client, &config).await;
        assert_eq!(summary.bulk_jobs, 3, "{summary:?}");
        assert_eq!(
            (summary.sent, summary.succeeded, summary.failed),
            (2_500, 2_500, 0),
            "{}",
            db.name()
        );
        assert!(
            summary.api_calls <= summary.forecast_api_calls,
            "{} calls made, {} forecast",
            summary.api_calls,
            summary.forecast_api_calls
        );
        // Counted by marker: every key once (org_accounts fails on a key seen twice).
        assert_eq!(org_accounts(&client).await, expected(&source));
        assert_eq!(recorded_jobs(&db).await, 0, "every job record settled");
        let again = push(&client, &config).await;
        assert_eq!((again.sent, again.unchanged), (0, 2_500));

        // Changed rows of an insert are updates by Id, through Bulk too; nothing is created.
        let mut renamed = source.clone();
        for r in renamed.iter_mut().step_by(2) {
            r.1.push_str(" (renamed)");
        }
        write_accounts(&db, &renamed).await;
        config.bulk.threshold = 1;
        let changed = push(&client, &config).await;
        assert_eq!(
            (changed.sent, changed.succeeded, changed.bulk_jobs),
            (1_250, 1_250, 2)
        );
        assert_eq!(org_accounts(&client).await, expected(&renamed));
        db.drop_database().await;
    }
}

#[tokio::test]
async fn an_insert_cut_off_at_any_step_of_its_bulk_job_is_resolved_by_reading_and_applied_once() {
    use forcebridge_sync::push::BulkInsertStep;
    for db in Db::both().await {
        for step in [
            BulkInsertStep::Recorded,
            BulkInsertStep::Uploaded,
            BulkInsertStep::Closed,
            BulkInsertStep::Finished,
        ] {
            let org = org().await;
            let client = org.client();
            let mut source = rows(30, "K");
            // Refused by the validation rule: the job's results are partly failed.
            source[3].3 = Some(-5);
            source[7].3 = Some(-1);
            write_accounts(&db, &source).await;
            execute(
                &db,
                "DROP TABLE IF EXISTS _sf_push_state; DROP TABLE IF EXISTS _sf_push_rejects; DROP TABLE IF EXISTS _sf_push_jobs;",
            )
            .await;
            let mut config = bulk_insert(&db);
            config.stop_bulk_insert_after = Some(step);
            let e = push::run(&client, &config, &|_| {}).await.unwrap_err();
            assert!(e.to_string().contains("stopped after step"), "{e}");
            let job_id = select(&db, "SELECT job_id FROM _sf_push_jobs").await;
            assert_eq!(job_id.len(), 1, "{step:?}: the job is recorded");
            let job_id = job_id[0][0].clone().unwrap();
            let state = client.bulk().ingest_job(&job_id).info().await.unwrap();
            let closed = matches!(step, BulkInsertStep::Closed | BulkInsertStep::Finished);
            assert_eq!(state.state == "Open", !closed, "{step:?}: {}", state.state);
            if closed {
                org.control().bulk_jobs_settled().await;
            }

            config.stop_bulk_insert_after = None;
            let summary = push(&client, &config).await;
            let name = format!("{} {step:?}", db.name());
            assert_eq!(summary.bulk_jobs_resolved, 1, "{name}: {summary:?}");
            assert_eq!(summary.resolved_in_flight, 30, "{name}: {summary:?}");
            // A job never closed loaded nothing: every row is sent again. A closed one's
            // results settle every row: only the two refused ones are sent again (and
            // refused again).
            let sent = if closed { 2 } else { 30 };
            assert_eq!(
                (summary.sent, summary.succeeded, summary.failed),
                (sent, sent - 2, 2),
                "{name}: {summary:?}"
            );
            assert_eq!(recorded_jobs(&db).await, 0, "{name}");
            if !closed {
                let info = client.bulk().ingest_job(&job_id).info().await.unwrap();
                assert_eq!(info.state, "Aborted", "{name}");
            }
            let mut applied = source.clone();
            applied.retain(|r| r.3 >= Some(0));
            assert_eq!(org_accounts(&client).await, expected(&applied), "{name}");
            let rejects = select(
                &db,
                "SELECT key, error_code FROM _sf_push_rejects ORDER BY key",
            )
            .await;
            assert_eq!(
                rejects,
                [
                    vec![
                        Some("K-00003".to_string()),
                        Some("FIELD_CUSTOM_VALIDATION_EXCEPTION".to_string())
                    ],
                    vec![
                        Some("K-00007".to_string()),
                        Some("FIELD_CUSTOM_VALIDATION_EXCEPTION".to_string())
                    ],
                ],
                "{name}"
            );

            // Fixed in the source: the next run sends just those two, and every row is in
            // the org once.
            fix_refused_and_push(&db, &client, &config, &mut source, &[3, 7]).await;
        }
        db.drop_database().await;
    }
}
