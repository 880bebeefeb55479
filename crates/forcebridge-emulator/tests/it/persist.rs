//! The org kept in a data directory: restarts, crashes mid-write, schema changes, generated
//! data, compaction.

use std::path::PathBuf;

use forcebridge_emulator::config::SeedConfig;
use forcebridge_emulator::dml;
use forcebridge_emulator::ids::RecordId;
use forcebridge_emulator::schema::ObjectIdx;
use forcebridge_emulator::store::Deletion;
use forcebridge_emulator::value::Value;
use forcebridge_emulator::{Config, Emulator, Org};
use reqwest::StatusCode;
use serde_json::json;

use crate::support::{TempDir, TestOrg};

fn config(dir: &TempDir) -> Config {
    let mut config = Config::builtin();
    config.data_dir = Some(dir.path().to_path_buf());
    config
}

/// Everything about an org's records: every row, every deletion-log entry, and the next slot
/// of every table.
type Dump = (
    Vec<(usize, u32, Vec<Value>)>,
    Vec<(usize, Deletion)>,
    Vec<u32>,
);

fn dump(org: &Org) -> Dump {
    let snapshot = org.store.snapshot();
    let (mut rows, mut deletions, mut slots) = (Vec::new(), Vec::new(), Vec::new());
    for index in 0..org.schema().objects().len() {
        let table = snapshot.table(ObjectIdx(index));
        for (slot, row) in table.rows() {
            rows.push((index, slot, row.to_vec()));
        }
        deletions.extend(table.deletions().map(|d| (index, *d)));
        slots.push(table.slot_count());
    }
    (rows, deletions, slots)
}

fn create(org: &Org, object: &str, body: serde_json::Value) -> RecordId {
    let (object, _) = org.schema().find(object).unwrap();
    let serde_json::Value::Object(body) = body else {
        panic!("not an object")
    };
    org.store
        .write(org.admin(), |txn| dml::create(txn, object, &body))
        .unwrap()
}

fn journal(dir: &TempDir) -> PathBuf {
    dir.path().join("org.journal")
}

fn journal_lines(dir: &TempDir) -> Vec<String> {
    std::fs::read_to_string(journal(dir))
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn committed_writes_survive_a_restart_with_their_ids_and_timestamps() {
    let dir = TempDir::new();
    let org = Org::new(config(&dir), false).unwrap();
    let acme = create(
        &org,
        "Account",
        json!({"Name": "Acme", "AnnualRevenue": 5e6}),
    );
    let globex = create(&org, "Account", json!({"Name": "Globex"}));
    let initech = create(&org, "Account", json!({"Name": "Initech"}));
    create(
        &org,
        "Contact",
        json!({"LastName": "Lee", "AccountId": acme.to_string(), "Birthdate": "1980-02-29"}),
    );
    let (account, _) = org.schema().find("Account").unwrap();
    org.store
        .write(org.admin(), |txn| {
            let body = json!({"Industry": "Energy"});
            dml::update(txn, account, acme, body.as_object().unwrap())?;
            dml::delete(txn, globex)?;
            // Erasing the last record must not give its id to the next one after a restart.
            dml::hard_delete(txn, initech)
        })
        .unwrap();
    let before = dump(&org);
    // The changes are in the journal (a header and one line per transaction), not in a new
    // snapshot: the restart below replays them.
    assert_eq!(journal_lines(&dir).len(), 6);
    drop(org);

    let org = Org::new(config(&dir), false).unwrap();
    assert_eq!(dump(&org), before);
    assert_eq!(
        org.users,
        vec![RecordId::parse("005RO0000000001YAA").unwrap()]
    );
    let next = create(&org, "Account", json!({"Name": "Umbrella"}));
    assert_eq!(next.number(), initech.number() + 1, "ids are never reused");
    drop(org);
    let org = Org::new(config(&dir), false).unwrap();
    let snapshot = org.store.snapshot();
    assert_eq!(snapshot.table(account).live_count(), 2);
    assert_eq!(snapshot.table(account).recycled_count(), 1);
}

#[test]
fn a_journal_entry_cut_short_by_a_crash_is_dropped() {
    let dir = TempDir::new();
    let org = Org::new(config(&dir), false).unwrap();
    create(&org, "Account", json!({"Name": "Kept"}));
    let before_last = dump(&org);
    create(&org, "Account", json!({"Name": "Lost in the crash"}));
    drop(org);
    // Simulate a crash halfway through writing the last entry.
    let mut lines = journal_lines(&dir);
    let last = lines.pop().unwrap();
    let mut text = lines.join("\n");
    text.push('\n');
    text.push_str(&last[..last.len() / 2]);
    std::fs::write(journal(&dir), &text).unwrap();

    let org = Org::new(config(&dir), false).unwrap();
    assert_eq!(dump(&org), before_last);
    // The torn bytes are cut off, so new entries follow whole ones.
    assert_eq!(journal_lines(&dir), lines);
    let after = create(&org, "Account", json!({"Name": "After the crash"}));
    let state = dump(&org);
    drop(org);
    let org = Org::new(config(&dir), false).unwrap();
    assert_eq!(dump(&org), state);
    assert!(org.store.snapshot().find(org.schema(), after).is_some());
}

#[test]
fn a_damaged_entry_before_the_end_stops_the_start() {
    let dir = TempDir::new();
    let org = Org::new(config(&dir), false).unwrap();
    create(&org, "Account", json!({"Name": "One"}));
    create(&org, "Account", json!({"Name": "Two"}));
    drop(org);
    let mut lines = journal_lines(&dir);
    lines[1] = "{\"sequence\": oops".to_string();
    std::fs::write(journal(&dir), lines.join("\n") + "\n").unwrap();
    let error = Org::new(config(&dir), false).unwrap_err().to_string();
    assert!(
        error.contains("org.journal line 2: "),
        "the error names the file and line: {error}"
    );
}

#[test]
fn an_org_made_with_another_schema_is_refused() {
    let dir = TempDir::new();
    let mut custom = Config::from_toml(
        r#"
        [[objects]]
        name = "Invoice__c"
        [[objects]]
        name = "Account"
        extends = true
        fields = [{ name = "Tier__c", type = "string" }]
        "#,
    )
    .unwrap();
    custom.data_dir = Some(dir.path().to_path_buf());
    drop(Org::new(custom, false).unwrap());
    let error = Org::new(config(&dir), false).unwrap_err().to_string();
    assert_eq!(
        error,
        format!(
            "the data directory {} holds an org with another schema (Account has other fields, Invoice__c is not in this schema); start with the org file it was made with, or use another data directory",
            dir.path().display()
        )
    );
}

#[test]
fn a_data_directory_serves_one_org_at_a_time() {
    let dir = TempDir::new();
    let first = Org::new(config(&dir), false).unwrap();
    let error = Org::new(config(&dir), false).unwrap_err().to_string();
    assert!(error.contains("is in use by another local org"), "{error}");
    drop(first);
    Org::new(config(&dir), false).unwrap();
}

#[test]
fn generated_data_is_persisted_and_loaded_instead_of_generated_again() {
    let dir = TempDir::new();
    let mut seeded = config(&dir);
    seeded.seed = Some(SeedConfig {
        seed: "persisted".to_string(),
        records: 600,
    });
    let org = Org::new(seeded.clone(), false).unwrap();
    let generated = dump(&org);
    assert!(generated.0.len() > 550, "{} records", generated.0.len());
    assert_eq!(journal_lines(&dir).len(), 1, "the seed is in the snapshot");
    drop(org);
    let reloaded = Org::new(seeded, false).unwrap();
    assert_eq!(dump(&reloaded), generated);
    drop(reloaded);
    // Without the seed, the directory still holds the generated org.
    assert_eq!(dump(&Org::new(config(&dir), false).unwrap()), generated);
}

#[test]
fn a_growing_journal_is_compacted_into_the_snapshot() {
    let dir = TempDir::new();
    let org = Org::new(config(&dir), false).unwrap();
    org.persistence
        .as_ref()
        .unwrap()
        .set_compaction_threshold(2_000);
    for i in 0..20 {
        create(&org, "Account", json!({"Name": format!("Account {i}")}));
    }
    let journal_bytes = std::fs::metadata(journal(&dir)).unwrap().len();
    assert!(
        journal_bytes < 2_000,
        "the journal was compacted ({journal_bytes} bytes)"
    );
    let state = dump(&org);
    drop(org);
    assert_eq!(dump(&Org::new(config(&dir), false).unwrap()), state);
}

#[tokio::test]
async fn shutting_down_writes_a_snapshot_and_records_come_back_the_same() {
    let dir = TempDir::new();
    let org = TestOrg::with_config(config(&dir)).await;
    let id = org
        .create("Account", json!({"Name": "Acme", "NumberOfEmployees": 12}))
        .await;
    let before = org.get(&format!("/sobjects/Account/{id}")).await;
    assert_eq!(before.status, StatusCode::OK);
    org.emulator.shutdown().await;
    assert_eq!(
        journal_lines(&dir).len(),
        1,
        "the journal was folded into the snapshot"
    );

    let emulator = Emulator::start(config(&dir), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let token = emulator.access_token();
    let after = reqwest::Client::new()
        .get(format!(
            "{}/services/data/v60.0/sobjects/Account/{id}",
            emulator.url()
        ))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(after.status(), StatusCode::OK);
    let after: serde_json::Value = after.json().await.unwrap();
    assert_eq!(after, before.json);
    emulator.shutdown().await;
}
