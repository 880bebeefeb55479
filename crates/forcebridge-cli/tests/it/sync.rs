//! `forcebridge sync` as a process: killed with SIGKILL at random points of ten runs, each
//! resumed, and the destination equal to the org after every one; the budget's exit code; the
//! config file refused before any request; `sync status`.

use std::collections::BTreeMap;
use std::time::Duration;

use forcebridge_emulator::{Config, SeedConfig};
use serde_json::{Value, json};

use crate::support::{Env, outputs, read_only_to};

/// An org of a few thousand generated records on a clock that moves only when told, and a
/// saved read-only default connection to it.
fn synced_org() -> Env {
    let mut config = Config::builtin();
    config.seed = Some(SeedConfig {
        seed: "cli-sync".into(),
        records: 3_000,
    });
    config.fixed_time = Some(
        chrono::DateTime::parse_from_rfc3339("2026-06-01T12:00:00Z")
            .unwrap()
            .timestamp_millis(),
    );
    read_only_to(Env::with_config(config))
}

const OBJECTS: [&str; 3] = ["Account", "Contact", "Opportunity"];

/// Every row of `object` in the org (queryAll, so deleted ones in the bin too), each column
/// as the catalog's text form, by Id; and the same from the SQLite destination.
fn compare(env: &Env, db: &std::path::Path, object: &str) -> usize {
    let sqlite = rusqlite::Connection::open(db).unwrap();
    let mut stmt = sqlite
        .prepare("SELECT name, field_type FROM _sf_columns WHERE object = ?1 AND removed_at IS NULL ORDER BY position")
        .unwrap();
    let columns: Vec<(String, String)> = stmt
        .query_map([object], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let names: Vec<String> = columns.iter().map(|c| c.0.clone()).collect();
    let mut stored: BTreeMap<String, (Vec<Option<String>>, bool)> = BTreeMap::new();
    let quoted: Vec<String> = names.iter().map(|n| format!("\"{n}\"")).collect();
    let mut stmt = sqlite
        .prepare(&format!(
            "SELECT {}, _sf_is_deleted FROM \"{object}\"",
            quoted.join(", ")
        ))
        .unwrap();
    let mut rows = stmt.query([]).unwrap();
    while let Some(r) = rows.next().unwrap() {
        let values: Vec<Option<String>> = (0..names.len())
            .map(|i| match r.get::<_, rusqlite::types::Value>(i).unwrap() {
                rusqlite::types::Value::Null => None,
                rusqlite::types::Value::Integer(n) => Some(n.to_string()),
                rusqlite::types::Value::Real(f) => Some(f.to_string()),
                rusqlite::types::Value::Text(t) => Some(t),
                rusqlite::types::Value::Blob(_) => None,
            })
            .collect();
        let deleted = r.get::<_, i64>(names.len()).unwrap() != 0;
        let id = values[0].clone().unwrap();
        assert!(
            stored.insert(id, (values, deleted)).is_none(),
            "{object}: a duplicate row"
        );
    }
    let out = env
        .cmd(&[
            "query",
            "--all",
            "--jsonl",
            &format!("SELECT {} FROM {object}", names.join(", ")),
        ])
        .assert()
        .success();
    let (stdout, _) = outputs(&out);
    let mut live = 0;
    let mut seen = 0;
    for line in stdout.lines().filter(|l| !l.trim().is_empty()) {
        let record: serde_json::Map<String, Value> = serde_json::from_str(line).unwrap();
        let id = record["Id"].as_str().unwrap().to_string();
        let (values, deleted) = stored
            .get(&id)
            .unwrap_or_else(|| panic!("{object} {id} is missing from the destination"));
        let org_deleted = record
            .get("IsDeleted")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        assert_eq!(*deleted, org_deleted, "{object} {id}: deleted flag");
        for (i, (name, field_type)) in columns.iter().enumerate() {
            let t = forcebridge_catalog::FieldType::parse(field_type);
            let org = record
                .get(name)
                .and_then(|v| forcebridge_catalog::sql::to_text(&t, v));
            let same = match (&values[i], &org) {
                (a, b) if a == b => true,
                (Some(a), Some(b)) => {
                    matches!((a.parse::<f64>(), b.parse::<f64>()), (Ok(x), Ok(y)) if x == y)
                }
                _ => false,
            };
            assert!(
                same,
                "{object} {id}: field {name}: destination {:?}, org {org:?}",
                values[i]
            );
        }
        seen += 1;
        if !org_deleted {
            live += 1;
        }
    }
    let not_in_org = stored.values().filter(|(_, d)| !d).count() - live;
    assert_eq!(not_in_org, 0, "{object}: live rows the org no longer has");
    assert!(seen > 0);
    live
}

#[test]
fn a_sync_killed_at_random_points_resumes_and_ends_equal_to_the_org() {
    let env = synced_org();
    let kept = env.file("kill.db");
    let control = env.emulator.control();
    // A small deterministic generator: the kill points repeat from run to run.
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    // Ten runs must be killed mid-way. A run that finishes before its kill point does not
    // count (it is compared all the same), and the kill window shrinks toward the time a run
    // takes on this machine, so the test never depends on how fast the machine is.
    let mut killed = 0;
    let mut window_ms: u64 = 300;
    let mut round = 0;
    let mut bulk_resumes = 0;
    while killed < 10 {
        assert!(
            round < 60,
            "only {killed} of {round} runs could be killed before they finished"
        );
        // Changes between runs: new rows (many at one stamp) and an update.
        let stamp = control.now();
        let ids = control
            .insert_with_stamp(
                "Account",
                (0..300).map(|i| json!({"Name": format!("Round {round} account {i}")})),
                stamp,
            )
            .unwrap();
        control
            .update_with_stamp("Account", &ids[0], json!({"Industry": "Energy"}), stamp)
            .unwrap();
        control.advance_clock(Duration::from_secs(90));

        // Every first load goes through Bulk API 2.0 in pages of 200 rows. Even rounds sync
        // one destination on and on (a Bulk first load, then incremental runs); odd rounds a
        // fresh one, so a Bulk first load is killed and resumed again and again.
        let db = if round % 2 == 0 {
            kept.clone()
        } else {
            env.file(&format!("first-load-{round}.db"))
        };
        let to = format!("sqlite:{}", db.display());
        let mut child = env
            .std_cmd(&[
                "sync",
                "Account",
                "Contact",
                "Opportunity",
                "--to",
                &to,
                "--lag",
                "0",
                "--bulk-threshold",
                "1",
                "--bulk-page-rows",
                "200",
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let delay = 5 + next() % window_ms;
        std::thread::sleep(Duration::from_millis(delay));
        if child.try_wait().unwrap().is_none() {
            // SIGKILL: no destructor, no flush, no cleanup.
            child.kill().unwrap();
            killed += 1;
        } else {
            window_ms = (window_ms * 2 / 3).max(10);
        }
        child.wait().unwrap();

        let resumed = env
            .cmd(&[
                "sync",
                "Account",
                "Contact",
                "Opportunity",
                "--to",
                &to,
                "--lag",
                "0",
                "--bulk-threshold",
                "1",
                "--bulk-page-rows",
                "200",
                "--json",
            ])
            .assert()
            .success();
        let (stdout, _) = outputs(&resumed);
        let summary: Value = serde_json::from_str(&stdout).unwrap();
        assert_eq!(summary["outcome"], "success", "round {round}: {stdout}");
        if summary["objects"]
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o["read_with"] == "bulk")
        {
            bulk_resumes += 1;
        }
        for object in OBJECTS {
            compare(&env, &db, object);
        }
        round += 1;
    }
    assert!(
        bulk_resumes > 0,
        "no run after a kill read through Bulk in {round} rounds"
    );
}

#[test]
fn a_spent_budget_exits_4_and_the_next_run_continues() {
    let env = synced_org();
    let db = env.file("budget.db");
    let to = format!("sqlite:{}", db.display());
    let out = env
        .cmd(&[
            "sync",
            "Account",
            "Contact",
            "--to",
            &to,
            "--lag",
            "0",
            "--max-api-calls",
            "1",
        ])
        .assert()
        .code(4);
    let (_, stderr) = outputs(&out);
    assert!(stderr.contains("API budget"), "{stderr}");
    env.cmd(&["sync", "Account", "Contact", "--to", &to, "--lag", "0"])
        .assert()
        .success();
    compare(&env, &db, "Account");
    compare(&env, &db, "Contact");
    let status = env
        .cmd(&["sync", "status", "--to", &to, "--json"])
        .assert()
        .success();
    let (stdout, _) = outputs(&status);
    let status: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(status["objects"][0]["object"], "Account");
    assert_eq!(status["objects"][0]["loaded"], true);
}

#[test]
fn a_bad_config_file_is_refused_naming_the_key_before_any_request() {
    let env = synced_org();
    let file = env.file("forcebridge.toml");
    std::fs::write(&file, "[sync]\nobjects = [\"Account\"]\nlag_secs = 5\n").unwrap();
    let out = env
        .cmd(&["sync", "--config", file.to_str().unwrap()])
        .assert()
        .code(2);
    let (_, stderr) = outputs(&out);
    assert!(stderr.contains("lag_secs"), "{stderr}");
    std::fs::write(
        &file,
        "[sync]\nobjects = [\"Account\"]\n[sync.object.Account]\nfilter = \"Name = = 1\"\n",
    )
    .unwrap();
    let out = env
        .cmd(&["sync", "--config", file.to_str().unwrap()])
        .assert()
        .code(2);
    let (_, stderr) = outputs(&out);
    assert!(stderr.contains("objects.Account.filter"), "{stderr}");
}
