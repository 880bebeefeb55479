//! The org kept in a data directory, seen from inside: every record and deletion-log entry
//! survives restarts, a crash mid-write, compaction; generated data is kept, not generated
//! again; a journal that cannot be written refuses the transaction.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use serde_json::json;

use crate::Config;
use crate::config::SeedConfig;
use crate::dml;
use crate::ids::RecordId;
use crate::org::Org;
use crate::schema::ObjectIdx;
use crate::store::{Deletion, WriteError};
use crate::value::Value;

/// A fresh directory under the system's temporary directory, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let path = std::env::temp_dir().join(format!(
            "forcebridge-persist-unit-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&path);
        TempDir(path)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

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
    let (object, _) = org
        .schema()
        .find(object)
        .map(|(i, d)| (i, d.name.clone()))
        .unwrap();
    let serde_json::Value::Object(body) = body else {
        panic!("not an object")
    };
    org.store
        .write(org.admin(), |txn| {
            dml::create(txn, object, &body).map_err(WriteError::Work)
        })
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
    let (account, _) = org
        .schema()
        .find("Account")
        .map(|(i, d)| (i, d.name.clone()))
        .unwrap();
    org.store
        .write(org.admin(), |txn| {
            let body = json!({"Industry": "Energy"});
            dml::update(txn, account, acme, body.as_object().unwrap())?;
            dml::delete(txn, globex)?;
            // Erasing the last record must not give its id to the next one after a restart.
            dml::hard_delete(txn, initech)
        })
        .map_err(|e: crate::api_error::DmlError| e)
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
    assert!(org.store.snapshot().find(&org.schema(), after).is_some());
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

/// ARCHITECTURE.md: a transaction reaches the journal (written and synced) before it becomes
/// visible. So a journal that cannot be written refuses the transaction: the request answers
/// 500 `UNKNOWN_EXCEPTION`, nothing of it is seen, and nothing of it comes back after a restart.
#[tokio::test]
async fn a_journal_that_cannot_be_written_refuses_the_transaction() {
    let dir = TempDir::new();
    let emulator = crate::Emulator::start(config(&dir), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let http = reqwest::Client::new();
    let token = emulator.access_token();
    let url = |path: &str| format!("{}/services/data/v60.0{path}", emulator.url());
    let post = |name: &str| {
        http.post(url("/sobjects/Account"))
            .bearer_auth(&token)
            .json(&json!({ "Name": name }))
            .send()
    };
    let count = || async {
        let page: serde_json::Value = http
            .get(url("/query?q=SELECT+Name+FROM+Account"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        page["totalSize"].as_u64().unwrap()
    };
    assert_eq!(post("Kept").await.unwrap().status(), 201);
    let persistence = emulator.org.persistence.clone().unwrap();
    let journal_before = std::fs::read(journal(&dir)).unwrap();

    persistence
        .fail_writes
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let refused = post("Refused").await.unwrap();
    assert_eq!(refused.status(), 500);
    let body: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(body[0]["errorCode"], "UNKNOWN_EXCEPTION");
    assert_eq!(count().await, 1, "the refused record is not visible");
    let control = emulator
        .control()
        .insert("Account", [json!({"Name": "Also refused"})]);
    assert_eq!(control.unwrap_err().kind(), crate::ErrorKind::DataDir);
    assert_eq!(
        std::fs::read(journal(&dir)).unwrap(),
        journal_before,
        "nothing of the refused transactions stays in the journal"
    );

    persistence
        .fail_writes
        .store(false, std::sync::atomic::Ordering::SeqCst);
    assert_eq!(post("After").await.unwrap().status(), 201);
    assert_eq!(count().await, 2);
    drop(persistence);
    emulator.shutdown().await;
    // After a restart, the same two records.
    let org = Org::new(config(&dir), false).unwrap();
    let (account, _) = org
        .schema()
        .find("Account")
        .map(|(i, d)| (i, d.name.clone()))
        .unwrap();
    let names: Vec<Value> = org
        .store
        .snapshot()
        .table(account)
        .rows()
        .map(|(_, row)| {
            row[org
                .schema()
                .object(account)
                .field("Name")
                .unwrap()
                .1
                .column()
                .unwrap()]
            .clone()
        })
        .collect();
    assert_eq!(names, [Value::text("Kept"), Value::text("After")]);
}
