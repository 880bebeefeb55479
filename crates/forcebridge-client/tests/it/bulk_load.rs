//! Bulk loads that are interrupted and run again (the record kept in the results directory,
//! resuming without loading a row twice, refusing another load's record), and the org's jobs,
//! listed page by page and found by id.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use forcebridge_client::bulk::{
    IngestBuilder, IngestOperation, IngestOptions, IngestProgress, JobEvent, JobKind, JobState,
    LOAD_RECORD_FILE, PollOptions,
};
use forcebridge_client::{Client, ErrorKind};
use forcebridge_emulator::FaultConfig;
use futures_util::TryStreamExt;
use serde_json::Value;

use crate::support::{TestOrg, quick_retries};

fn options(dir: &Path, max_upload_bytes: usize) -> IngestOptions {
    IngestOptions {
        max_upload_bytes,
        results_dir: Some(dir.to_path_buf()),
        poll: PollOptions {
            initial_interval: Duration::from_millis(5),
            max_interval: Duration::from_millis(40),
            timeout: Duration::from_secs(60),
        },
        ..IngestOptions::default()
    }
}

fn temp_dir(name: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let dir = std::env::temp_dir().join(format!(
        "forcebridge-load-{name}-{}-{nanos}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A CSV file of `n` Accounts named `Load 00000`, ... (the names are unique, so the org's
/// Accounts can be counted by name), with a description long enough to need several jobs.
fn accounts_file(dir: &Path, n: usize) -> (PathBuf, Vec<String>) {
    let path = dir.join("accounts.csv");
    let mut csv = String::from("Name,Description\n");
    let mut names = Vec::new();
    for i in 0..n {
        let name = format!("Load {i:05}");
        csv.push_str(&format!(
            "{name},\"a description, long enough to take room\"\n"
        ));
        names.push(name);
    }
    std::fs::write(&path, csv).unwrap();
    (path, names)
}

/// Every Account name in the org, sorted: a name twice means a row loaded twice.
async fn account_names(client: &Client) -> Vec<String> {
    let mut names: Vec<String> = client
        .query("SELECT Name FROM Account")
        .fetch_all()
        .await
        .unwrap()
        .iter()
        .map(|r| r.get_str("Name").unwrap().to_string())
        .collect();
    names.sort();
    names
}

/// Progress reports, kept.
fn recorder() -> (
    Arc<Mutex<Vec<IngestProgress>>>,
    impl Fn(&IngestProgress) + Send + Sync + 'static,
) {
    let seen: Arc<Mutex<Vec<IngestProgress>>> = Arc::default();
    let sink = seen.clone();
    (seen, move |p: &IngestProgress| {
        sink.lock().unwrap().push(p.clone())
    })
}

fn events(seen: &Mutex<Vec<IngestProgress>>, event: JobEvent) -> Vec<IngestProgress> {
    seen.lock()
        .unwrap()
        .iter()
        .filter(|p| p.event == event)
        .cloned()
        .collect()
}

fn record_in(dir: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(dir.join(LOAD_RECORD_FILE)).unwrap()).unwrap()
}

fn insert(client: &Client, dir: &Path, max_upload_bytes: usize) -> IngestBuilder {
    client
        .bulk()
        .ingest("Account", IngestOperation::Insert)
        .options(options(dir, max_upload_bytes))
}

#[tokio::test]
async fn a_load_cut_short_during_an_upload_resumes_and_loads_every_row_once() {
    let org = TestOrg::start().await;
    let client = org.client();
    let emulator = Arc::new(org.emulator);
    let dir = temp_dir("cut");
    let (path, names) = accounts_file(&dir, 1200);

    // The org stops answering once the third job exists: its upload never lands, so it is
    // left Open, while the first two are closed and run.
    let created = Arc::new(AtomicUsize::new(0));
    let (seen, record) = recorder();
    let (counter, org_handle) = (created.clone(), emulator.clone());
    let error = insert(&client, &dir, 12_000)
        .resuming()
        .on_progress(move |p| {
            record(p);
            if p.event == JobEvent::Created && counter.fetch_add(1, Ordering::SeqCst) == 2 {
                org_handle.set_faults(FaultConfig {
                    error_rate: 1.0,
                    ..FaultConfig::none()
                });
            }
        })
        .from_csv_file(&path)
        .await
        .unwrap_err();
    emulator.set_faults(FaultConfig::none());
    assert!(!error.is_not_sent());
    let named = error.bulk_jobs();
    assert_eq!(named.len(), 3, "{error}");
    assert_ne!(named[0].state, Some(JobState::Open));
    assert_ne!(named[1].state, Some(JobState::Open));
    assert_eq!(named[2].state, Some(JobState::Open));
    assert_eq!(named[0].rows.start, 0);
    assert_eq!(named[1].rows.start, named[0].rows.end);
    assert_eq!(named[2].rows.start, named[1].rows.end);
    let open_id = named[2].id.clone();
    // Each job's id was reported as soon as it existed, with its rows, before its upload.
    let created_events = events(&seen, JobEvent::Created);
    assert_eq!(created_events.len(), 3);
    assert_eq!(created_events[2].job.id, open_id);
    assert_eq!(created_events[2].job.state, Some(JobState::Open));
    // The record on disk names all three, the last one Open.
    let record = record_in(&dir);
    let jobs = record["jobs"].as_array().unwrap();
    assert_eq!(jobs.len(), 3, "{record}");
    assert_eq!(jobs[2]["id"], open_id.as_str());
    assert_eq!(jobs[2]["state"], "Open");
    assert_eq!(record["object"], "Account");
    assert_eq!(record["operation"], "insert");

    // Run again: the two closed jobs are followed, the open one aborted and its rows sent
    // again, and the rest loaded.
    let (seen, record) = recorder();
    let summary = insert(&client, &dir, 12_000)
        .resuming()
        .on_progress(record)
        .from_csv_file(&path)
        .await
        .unwrap();
    assert!(summary.is_clean(), "{summary:?}");
    assert_eq!(summary.records_processed, 1200);
    assert_eq!(summary.replaced.len(), 1);
    assert_eq!(summary.replaced[0].id, open_id);
    assert_eq!(summary.jobs[0].id, named[0].id);
    assert_eq!(summary.jobs[1].id, named[1].id);
    assert!(summary.jobs[0].resumed && summary.jobs[1].resumed);
    assert!(summary.jobs[2..].iter().all(|j| !j.resumed));
    assert_eq!(events(&seen, JobEvent::Resumed).len(), 2);
    assert_eq!(events(&seen, JobEvent::Replaced)[0].job.id, open_id);
    let first_new = &events(&seen, JobEvent::Created)[0].job;
    assert_eq!(first_new.rows.start, named[2].rows.start);
    assert_eq!(account_names(&client).await, names);
    let open_job = client.bulk().ingest_job(&open_id).info().await.unwrap();
    assert_eq!(open_job.state, "Aborted");
    assert_eq!(open_job.number_records_processed, Some(0));
    // Results of resumed jobs were fetched too.
    for job in &summary.jobs {
        assert!(job.results.as_ref().unwrap().successful.exists());
    }

    // Once more: every job is finished, so nothing is sent again.
    let (seen, record) = recorder();
    let again = insert(&client, &dir, 12_000)
        .resuming()
        .on_progress(record)
        .from_csv_file(&path)
        .await
        .unwrap();
    assert!(again.jobs.iter().all(|j| j.resumed), "{again:?}");
    assert!(events(&seen, JobEvent::Created).is_empty());
    assert_eq!(account_names(&client).await, names);

    // Another input, or another object, with the same results directory is refused before
    // anything is sent.
    let jobs_before = client.bulk().ingest_jobs().fetch_all().await.unwrap().len();
    let other = dir.join("other.csv");
    std::fs::write(&other, "Name\nSomeone else\n").unwrap();
    let refused = insert(&client, &dir, 12_000)
        .resuming()
        .from_csv_file(&other)
        .await
        .unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::NotSent);
    assert!(refused.is_other_load());
    assert!(refused.is_not_sent());
    let text = refused.to_string();
    assert!(text.contains("insert into Account from"), "{text}");
    assert!(text.contains("accounts.csv"), "{text}");
    let refused = client
        .bulk()
        .ingest("Contact", IngestOperation::Insert)
        .options(options(&dir, 12_000))
        .resuming()
        .from_csv_file(&path)
        .await
        .unwrap_err();
    assert!(refused.is_other_load(), "{refused}");
    let refused = insert(&client, &dir, 12_000)
        .resuming()
        .from_csv_reader(&b"Name\nx\n"[..])
        .await
        .unwrap_err();
    assert!(refused.is_other_load(), "{refused}");
    assert_eq!(
        client.bulk().ingest_jobs().fetch_all().await.unwrap().len(),
        jobs_before
    );
    assert_eq!(account_names(&client).await, names);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn a_load_whose_future_is_dropped_resumes_and_loads_every_row_once() {
    let org = TestOrg::start().await;
    let client = org.client();
    let dir = temp_dir("dropped");
    let (path, names) = accounts_file(&dir, 900);

    // Dropped at its first wait after the second job is created, as Ctrl-C drops it.
    let second_created = Arc::new(tokio::sync::Notify::new());
    let (created, signal) = (Arc::new(AtomicUsize::new(0)), second_created.clone());
    let load = insert(&client, &dir, 10_000)
        .resuming()
        .on_progress(move |p| {
            if p.event == JobEvent::Created && created.fetch_add(1, Ordering::SeqCst) == 1 {
                signal.notify_one();
            }
        })
        .from_csv_file(&path);
    tokio::select! {
        done = load => panic!("the load ended before it was dropped: {done:?}"),
        () = second_created.notified() => {}
    }

    let summary = insert(&client, &dir, 10_000)
        .resuming()
        .from_csv_file(&path)
        .await
        .unwrap();
    assert!(summary.is_clean(), "{summary:?}");
    assert!(summary.jobs[0].resumed, "{summary:?}");
    assert_eq!(account_names(&client).await, names);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn a_job_aborted_by_hand_while_open_has_its_rows_sent_again() {
    let org = TestOrg::start().await;
    let client = org.client();
    let emulator = Arc::new(org.emulator);
    let dir = temp_dir("aborted");
    let (path, names) = accounts_file(&dir, 300);
    let org_handle = emulator.clone();
    let error = insert(&client, &dir, 10_000)
        .resuming()
        .on_progress(move |p| {
            if p.event == JobEvent::Created {
                org_handle.set_faults(FaultConfig {
                    error_rate: 1.0,
                    ..FaultConfig::none()
                });
            }
        })
        .from_csv_file(&path)
        .await
        .unwrap_err();
    emulator.set_faults(FaultConfig::none());
    let open = &error.bulk_jobs()[0];
    assert_eq!(open.state, Some(JobState::Open));
    // As the advice after an interrupt allows: abort it by hand, then run the load again.
    client.bulk().ingest_job(&open.id).abort().await.unwrap();
    let summary = insert(&client, &dir, 10_000)
        .resuming()
        .from_csv_file(&path)
        .await
        .unwrap();
    assert_eq!(summary.replaced[0].id, open.id);
    assert!(summary.is_clean(), "{summary:?}");
    assert_eq!(account_names(&client).await, names);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn a_new_load_replaces_the_record_and_resuming_needs_a_results_directory() {
    let org = TestOrg::start().await;
    let client = org.client();
    let dir = temp_dir("restart");
    let (path, _) = accounts_file(&dir, 10);
    insert(&client, &dir, 10_000)
        .from_csv_file(&path)
        .await
        .unwrap();
    let first = record_in(&dir)["jobs"][0]["id"].clone();
    // Not resuming: a new load, recorded in place of the first.
    insert(&client, &dir, 10_000)
        .from_csv_file(&path)
        .await
        .unwrap();
    let record = record_in(&dir);
    assert_eq!(record["jobs"].as_array().unwrap().len(), 1);
    assert_ne!(record["jobs"][0]["id"], first);
    assert_eq!(
        client
            .query("SELECT COUNT() FROM Account")
            .total_size()
            .await
            .unwrap(),
        20
    );
    let refused = client
        .bulk()
        .ingest("Account", IngestOperation::Insert)
        .resuming()
        .from_csv_file(&path)
        .await
        .unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::NotSent);
    assert!(
        refused.to_string().contains("results directory"),
        "{refused}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn the_orgs_jobs_are_listed_by_kind_and_found_by_id() {
    let org = TestOrg::start().await;
    let client = org.client();
    let bulk = client.bulk();
    let dir = temp_dir("list");
    let ingest = insert(&client, &dir, 10_000)
        .from_records(vec![serde_json::json!({"Name": "Listed"})])
        .await
        .unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    let query = bulk.query("SELECT Id FROM Account").start().await.unwrap();
    let all = bulk.jobs().fetch_all().await.unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(all[0].kind, JobKind::Ingest);
    assert_eq!(all[0].info.id, ingest.jobs[0].id);
    assert_eq!(all[1].kind, JobKind::Query);
    assert_eq!(all[1].info.id, query.id());
    assert_eq!(bulk.query_jobs().fetch_all().await.unwrap().len(), 1);
    let found = bulk.find_job(query.id()).await.unwrap().unwrap();
    assert_eq!(found.kind, JobKind::Query);
    let found = bulk.find_job(&ingest.jobs[0].id).await.unwrap().unwrap();
    assert_eq!(found.kind, JobKind::Ingest);
    assert_eq!(found.info.state, "JobComplete");
    assert!(bulk.find_job("750000000000000AAA").await.unwrap().is_none());
}

#[tokio::test]
async fn a_job_list_is_read_page_by_page_only_as_the_stream_is_polled() {
    use axum::extract::{RawQuery, Request};
    let requests: Arc<Mutex<Vec<String>>> = Arc::default();
    let log = requests.clone();
    let job = |id: &str, state: &str| {
        serde_json::json!({
            "id": id, "operation": "insert", "object": "Account", "createdById": "005",
            "createdDate": "2026-01-01T00:00:00.000+0000",
            "systemModstamp": "2026-01-01T00:00:00.000+0000", "state": state,
            "concurrencyMode": "Parallel", "contentType": "CSV", "apiVersion": 60.0,
            "lineEnding": "LF", "columnDelimiter": "COMMA"
        })
    };
    let (a, b, c, q) = (
        job("750A", "Open"),
        job("750B", "JobComplete"),
        job("750C", "Aborted"),
        job("750Q", "JobComplete"),
    );
    let app = axum::Router::new().fallback(move |RawQuery(query): RawQuery, request: Request| {
        let log = log.clone();
        let (a, b, c, q) = (a.clone(), b.clone(), c.clone(), q.clone());
        async move {
            let path = request.uri().path().to_string();
            log.lock().unwrap().push(request.uri().to_string());
            let body = if path.ends_with("/jobs/query") {
                serde_json::json!({"done": true, "records": [q], "nextRecordsUrl": null})
            } else if query.as_deref() == Some("queryLocator=01gx-2") {
                serde_json::json!({"done": true, "records": [c], "nextRecordsUrl": null})
            } else {
                let next = format!("{path}?queryLocator=01gx-2");
                serde_json::json!({"done": false, "records": [a, b], "nextRecordsUrl": next})
            };
            axum::Json(body)
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let client = Client::builder(forcebridge_client::AccessTokenCredentials {
        instance_url: url,
        access_token: "token".into(),
    })
    .retry_policy(quick_retries())
    .build()
    .unwrap();

    let mut jobs = client.bulk().jobs().stream();
    assert!(
        requests.lock().unwrap().is_empty(),
        "nothing before polling"
    );
    let first = jobs.try_next().await.unwrap().unwrap();
    assert_eq!(first.info.id, "750A");
    assert_eq!(requests.lock().unwrap().len(), 1);
    assert_eq!(jobs.try_next().await.unwrap().unwrap().info.id, "750B");
    assert_eq!(requests.lock().unwrap().len(), 1, "page two not yet read");
    let third = jobs.try_next().await.unwrap().unwrap();
    assert_eq!(
        (third.kind, third.info.id.as_str()),
        (JobKind::Ingest, "750C")
    );
    let fourth = jobs.try_next().await.unwrap().unwrap();
    assert_eq!(
        (fourth.kind, fourth.info.id.as_str()),
        (JobKind::Query, "750Q")
    );
    assert!(jobs.try_next().await.unwrap().is_none());
    let requests = requests.lock().unwrap();
    assert_eq!(requests.len(), 3, "{requests:?}");
    assert!(
        requests[1].ends_with("/jobs/ingest?queryLocator=01gx-2"),
        "{requests:?}"
    );
    assert!(requests[2].ends_with("/jobs/query"), "{requests:?}");
}
