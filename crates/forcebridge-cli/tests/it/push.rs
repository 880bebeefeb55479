//! `forcebridge push` as a process: killed with SIGKILL at random points of ten runs (upserts
//! by external id, and inserts with a marker field through Collections or recorded Bulk jobs), each followed by a run to the end, and the
//! org then holding every source row exactly once; the dry run, the read-only refusal and the
//! config file.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use forcebridge_emulator::{Config, FaultConfig, FaultScope, FieldConfig, ObjectConfig};
use serde_json::Value;

use crate::support::{Env, connected_to, outputs, read_only_to};

/// An org whose Account has an external id and whose Contact has a marker field.
fn push_org() -> Config {
    let mut config = Config::builtin();
    let mut ext = FieldConfig::new("External_Id__c", "string");
    ext.length = Some(40);
    ext.external_id = true;
    let mut account = ObjectConfig::new("Account", vec![ext]);
    account.extends = true;
    let mut marker = FieldConfig::new("Source_Key__c", "string");
    marker.length = Some(40);
    let mut contact = ObjectConfig::new("Contact", vec![marker]);
    contact.extends = true;
    config.schema = vec![account, contact];
    config
}

/// The source database: `accounts (External_Id__c, Name)` and `contacts (source_id, LastName)`.
fn write_source(
    path: &Path,
    accounts: &BTreeMap<String, String>,
    contacts: &BTreeMap<String, String>,
) {
    let db = rusqlite::Connection::open(path).unwrap();
    db.execute_batch(
        "DROP TABLE IF EXISTS accounts; DROP TABLE IF EXISTS contacts;
         CREATE TABLE accounts (External_Id__c TEXT, Name TEXT);
         CREATE TABLE contacts (source_id TEXT, LastName TEXT);",
    )
    .unwrap();
    let tx = db.unchecked_transaction().unwrap();
    for (ext, name) in accounts {
        tx.execute("INSERT INTO accounts VALUES (?1, ?2)", [ext, name])
            .unwrap();
    }
    for (key, name) in contacts {
        tx.execute("INSERT INTO contacts VALUES (?1, ?2)", [key, name])
            .unwrap();
    }
    tx.commit().unwrap();
}

/// The org's records of `object` that carry `key_field`, by it; a key seen twice fails.
fn org_records(
    env: &Env,
    object: &str,
    key_field: &str,
    value_field: &str,
) -> BTreeMap<String, String> {
    let out = env
        .cmd(&[
            "query",
            "--jsonl",
            &format!("SELECT {key_field}, {value_field} FROM {object} WHERE {key_field} != null"),
        ])
        .assert()
        .success();
    let (stdout, _) = outputs(&out);
    let mut records = BTreeMap::new();
    for line in stdout.lines().filter(|l| !l.trim().is_empty()) {
        let record: serde_json::Map<String, Value> = serde_json::from_str(line).unwrap();
        let key = record[key_field].as_str().unwrap().to_string();
        let value = record[value_field].as_str().unwrap_or_default().to_string();
        assert!(
            records.insert(key.clone(), value).is_none(),
            "{object} {key_field} {key} is in the org twice"
        );
    }
    records
}

/// How many Contact insert jobs the org has, as its Bulk API lists them.
fn insert_jobs(env: &Env) -> usize {
    let url = format!("{}/services/data/v60.0/jobs/ingest", env.url());
    let list: Value = env.block_on(async {
        reqwest::Client::new()
            .get(&url)
            .bearer_auth(env.access_token())
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    });
    list["records"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|job| job["object"] == "Contact" && job["operation"] == "insert")
        .count()
}

fn upsert_args(from: &str) -> Vec<String> {
    [
        "push",
        "Account",
        "--from",
        from,
        "--table",
        "accounts",
        "--upsert",
        "External_Id__c",
    ]
    .map(String::from)
    .to_vec()
}

/// An insert of `contacts`; with `bulk`, through Bulk insert jobs (threshold 100).
fn insert_args(from: &str, bulk: bool) -> Vec<String> {
    let mut args: Vec<String> = [
        "push",
        "Contact",
        "--from",
        from,
        "--table",
        "contacts",
        "--insert",
        "--marker",
        "Source_Key__c",
        "--key",
        "source_id",
        "--map",
        "LastName=LastName",
    ]
    .map(String::from)
    .to_vec();
    // Bulk from 100 rows, or never (the default threshold, 2,000, is passed by the rounds
    // that rename a fifth of the contacts, and only Bulk rounds may leave a recorded job).
    let threshold = if bulk { "100" } else { "1000000000" };
    args.extend(["--bulk-threshold".to_string(), threshold.to_string()]);
    args
}

#[test]
fn a_push_killed_at_random_points_applies_every_row_exactly_once() {
    let env = connected_to(Env::with_config(push_org()));
    let source = env.file("source.db");
    let from = format!("sqlite:{}", source.display());
    let mut accounts: BTreeMap<String, String> = BTreeMap::new();
    let mut contacts: BTreeMap<String, String> = BTreeMap::new();
    // A small deterministic generator: the kill points repeat from run to run.
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    // Ten runs must be killed while sending: the run after the kill sends some of the rows
    // that changed, not none (killed before it sent) nor all (killed before anything was
    // committed). The kill point is drawn over the time a whole run of that operation takes
    // on this machine, so the test never depends on how fast the machine is.
    //
    // Collection calls are slowed down (30 ms each; Bulk calls in Bulk runs), so that the
    // kill lands inside a call often enough: at least one killed insert must leave rows in
    // flight, which the next run resolves by reading their markers back. Every third run inserts through Bulk jobs: at
    // least one killed run must leave a recorded job, which the next run reads back. A
    // recorded insert job lives for a few calls at the very end of a run, a small part of it
    // on a slow machine, so every other Bulk run is killed at a random point of the insert
    // job's life instead: once the org shows the job, within the next 300 ms.
    let slowed = |path: &str| {
        let mut faults = FaultConfig::none();
        faults.latency = Duration::from_millis(30);
        faults.scope = FaultScope::Path(path.into());
        faults
    };
    let mut killed_mid_send = 0;
    let mut resolved_in_flight = 0;
    let mut bulk_jobs_resolved = 0;
    // Upsert, insert by Collections, insert by Bulk.
    let mut full_ms: [u64; 3] = [300, 300, 300];
    let mut round = 0;
    while killed_mid_send < 10 || resolved_in_flight == 0 || bulk_jobs_resolved == 0 {
        assert!(
            round < 80,
            "only {killed_mid_send} of {round} runs were killed while sending, \
             {resolved_in_flight} rows resolved in flight, \
             {bulk_jobs_resolved} Bulk insert jobs read back"
        );
        let before = (accounts.clone(), contacts.clone());
        // Changes between runs: new rows, and renamed ones.
        for i in 0..600 {
            accounts.insert(
                format!("A{round:02}-{i:04}"),
                format!("Account {round}/{i}"),
            );
            contacts.insert(format!("C{round:02}-{i:04}"), format!("Person {round}/{i}"));
        }
        for (i, name) in accounts.values_mut().enumerate() {
            if (i + round) % 7 == 0 {
                name.push('+');
            }
        }
        for (i, name) in contacts.values_mut().enumerate() {
            if (i + round) % 5 == 0 {
                name.push('+');
            }
        }
        let changed = |old: &BTreeMap<String, String>, new: &BTreeMap<String, String>| {
            new.iter().filter(|(k, v)| old.get(*k) != Some(*v)).count() as u64
        };
        let delta = [changed(&before.0, &accounts), changed(&before.1, &contacts)];
        write_source(&source, &accounts, &contacts);
        let op = round % 3;
        // Bulk runs' calls are slowed down instead, for the same reason.
        let slow = if op == 2 {
            "/jobs/ingest"
        } else {
            "/composite/sobjects"
        };
        env.emulator.control().set_faults(slowed(slow));
        let args = if op == 0 {
            upsert_args(&from)
        } else {
            insert_args(&from, op == 2)
        };
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut child = env
            .std_cmd(&args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        if op == 2 && (round / 3) % 2 == 1 {
            let before = insert_jobs(&env);
            let deadline = std::time::Instant::now() + Duration::from_secs(60);
            while insert_jobs(&env) == before
                && child.try_wait().unwrap().is_none()
                && std::time::Instant::now() < deadline
            {
                std::thread::sleep(Duration::from_millis(5));
            }
            std::thread::sleep(Duration::from_millis(next() % 300));
        } else {
            // Over a quarter more than the last whole run: the source grows every round.
            std::thread::sleep(Duration::from_millis(next() % (full_ms[op] * 5 / 4)));
        }
        // SIGKILL: no destructor, no flush, no cleanup.
        let _ = child.kill();
        child.wait().unwrap();

        for (i, args) in [upsert_args(&from), insert_args(&from, op == 2)]
            .into_iter()
            .enumerate()
        {
            let kind = if i == 0 { 0 } else { op.max(1) };
            let mut args: Vec<&str> = args.iter().map(String::as_str).collect();
            args.push("--json");
            let started = std::time::Instant::now();
            let out = env.cmd(&args).assert().success();
            let summary: Value = serde_json::from_str(&outputs(&out).0).unwrap();
            assert_eq!(summary["failed"], 0, "round {round}: {summary}");
            let sent = summary["sent"].as_u64().unwrap();
            resolved_in_flight += summary["resolved_in_flight"].as_u64().unwrap();
            let jobs_read_back = summary["bulk_jobs_resolved"].as_u64().unwrap();
            assert!(
                jobs_read_back == 0 || (i == 1 && op == 2),
                "round {round}: only a killed Bulk insert leaves a job: {summary}"
            );
            bulk_jobs_resolved += jobs_read_back;
            if sent == delta[i] {
                // Nothing was done before: this run took as long as a whole one.
                full_ms[kind] = (started.elapsed().as_millis() as u64).max(20);
            }
            if kind == op && sent > 0 && sent < delta[i] {
                killed_mid_send += 1;
            }
        }
        assert_eq!(
            org_records(&env, "Account", "External_Id__c", "Name"),
            accounts,
            "round {round}"
        );
        let org_contacts = org_records(&env, "Contact", "Source_Key__c", "LastName");
        assert_eq!(
            org_contacts.keys().collect::<Vec<_>>(),
            contacts.keys().collect::<Vec<_>>(),
            "round {round}: every contact once"
        );
        // An insert updates a changed row through the record it created.
        assert_eq!(org_contacts, contacts, "round {round}");
        round += 1;
    }
}

#[test]
fn a_dry_run_writes_nothing_and_a_read_only_connection_is_refused() {
    let env = read_only_to(Env::with_config(push_org()));
    let csv = env.file("accounts.csv");
    std::fs::write(&csv, "External_Id__c,Name\nX1,One\nX2,Two\n").unwrap();
    let state = env.file("state.db");
    let state_arg = format!("sqlite:{}", state.display());
    let base = [
        "push",
        "Account",
        "--from",
        csv.to_str().unwrap(),
        "--upsert",
        "External_Id__c",
        "--state",
        &state_arg,
    ];
    let mut dry: Vec<&str> = base.to_vec();
    dry.extend(["--dry-run", "--json"]);
    let out = env.cmd(&dry).assert().success();
    let summary: Value = serde_json::from_str(&outputs(&out).0).unwrap();
    assert_eq!(summary["to_insert"], 2);
    assert_eq!(summary["diff"].as_array().unwrap().len(), 2);
    assert!(!state.exists(), "a dry run creates no state");

    let out = env.cmd(&base).assert().code(1);
    let (_, stderr) = outputs(&out);
    assert!(stderr.contains("read-only"), "{stderr}");
    assert!(org_records(&env, "Account", "External_Id__c", "Name").is_empty());
}

#[test]
fn the_push_section_of_a_config_file_is_read_and_bad_keys_refused() {
    let env = connected_to(Env::with_config(push_org()));
    let csv = env.file("accounts.csv");
    std::fs::write(&csv, "External_Id__c,Name\nX1,One\n").unwrap();
    let config = env.file("forcebridge.toml");
    std::fs::write(
        &config,
        format!(
            "[push]\nobject = \"Account\"\nfrom = {:?}\noperation = \"upsert\"\nexternal_id = \"External_Id__c\"\nstate = \"sqlite:{}\"\n",
            csv.display(),
            env.file("state.db").display()
        ),
    )
    .unwrap();
    env.cmd(&["push", "--config", config.to_str().unwrap()])
        .assert()
        .success();
    assert_eq!(
        org_records(&env, "Account", "External_Id__c", "Name").len(),
        1
    );

    std::fs::write(&config, "[push]\nobjekt = \"Account\"\n").unwrap();
    let out = env
        .cmd(&["push", "--config", config.to_str().unwrap()])
        .assert()
        .code(2);
    let (_, stderr) = outputs(&out);
    assert!(
        stderr.contains("[push]") && stderr.contains("objekt"),
        "{stderr}"
    );
}
