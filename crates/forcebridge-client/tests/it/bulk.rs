//! Bulk API 2.0: ingest split into jobs, per-row results, every operation, query downloads
//! page by page, resuming jobs by id, and read-only clients.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use forcebridge_client::bulk::{
    IngestBuilder, IngestOperation, IngestOptions, IngestProgress, JobState, PollOptions,
    QueryOptions, ResultKind, Resumed,
};
use forcebridge_client::{Access, Client, ErrorKind, Method};
use forcebridge_emulator::FaultConfig;
use futures_util::TryStreamExt;
use serde::Serialize;
use serde_json::json;

use crate::support::TestOrg;

fn quick_poll() -> PollOptions {
    PollOptions {
        initial_interval: Duration::from_millis(5),
        max_interval: Duration::from_millis(40),
        timeout: Duration::from_secs(60),
    }
}

fn quick_options() -> IngestOptions {
    IngestOptions {
        poll: quick_poll(),
        ..IngestOptions::default()
    }
}

/// Checks that the first column of `rows` holds `expected` ids, none of them twice.
fn assert_distinct_ids(rows: &[Vec<String>], expected: u64) {
    let mut ids: Vec<&str> = rows.iter().map(|r| r[0].as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), rows.len(), "an id came twice");
    assert_eq!(ids.len() as u64, expected);
}

/// A Bulk insert of Accounts with `options`, ready for its input.
fn insert_accounts(client: &Client, options: IngestOptions) -> IngestBuilder {
    client
        .bulk()
        .ingest("Account", IngestOperation::Insert)
        .options(options)
}

/// Runs `operation` on `records` and checks that every one of them (`expected`) went through.
async fn ingest_all<T: Serialize>(
    client: &Client,
    object: &str,
    operation: IngestOperation,
    records: impl IntoIterator<Item = T>,
    expected: u64,
) -> forcebridge_client::bulk::IngestSummary {
    let summary = client
        .bulk()
        .ingest(object, operation)
        .options(quick_options())
        .from_records(records)
        .await
        .unwrap();
    assert_eq!(summary.records_processed, expected, "{object} {summary:?}");
    assert_eq!(summary.records_failed, 0, "{object} {summary:?}");
    summary
}

/// A fresh directory under the system's temporary directory.
fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "forcebridge-bulk-{name}-{}-{}",
        std::process::id(),
        rand_suffix()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

async fn count(client: &Client, soql: &str) -> u64 {
    client.query(soql).total_size().await.unwrap()
}

fn parse_csv(bytes: &[u8]) -> (Vec<String>, Vec<Vec<String>>) {
    let mut reader = csv::Reader::from_reader(bytes);
    let header = reader.headers().unwrap().iter().map(String::from).collect();
    let rows = reader
        .records()
        .map(|r| r.unwrap().iter().map(String::from).collect())
        .collect();
    (header, rows)
}

#[tokio::test]
async fn a_large_csv_file_is_split_into_jobs_and_every_row_is_inserted() {
    let org = TestOrg::start().await;
    let client = org.client();
    let dir = temp_dir("insert");
    let path = dir.join("accounts.csv");
    let mut csv = String::from("Name,Description\n");
    for i in 0..2500 {
        // Every tenth description holds a quoted newline and comma: splitting must not cut it.
        if i % 10 == 0 {
            csv.push_str(&format!(
                "Account {i:04},\"line one, \"\"quoted\"\"\nline two\"\n"
            ));
        } else {
            csv.push_str(&format!("Account {i:04},plain\n"));
        }
    }
    std::fs::write(&path, &csv).unwrap();
    let results_dir = dir.join("results");
    std::fs::create_dir_all(&results_dir).unwrap();

    let seen: Arc<Mutex<Vec<IngestProgress>>> = Arc::default();
    let sink = seen.clone();
    let max_upload_bytes = 20_000;
    let summary = insert_accounts(
        &client,
        IngestOptions {
            max_upload_bytes,
            results_dir: Some(results_dir.clone()),
            ..quick_options()
        },
    )
    .on_progress(move |p| sink.lock().unwrap().push(p.clone()))
    .from_csv_file(&path)
    .await
    .unwrap();

    assert!(summary.jobs.len() >= 3, "{} jobs", summary.jobs.len());
    let expected_jobs = csv
        .len()
        .div_ceil(max_upload_bytes - "Name,Description\n".len());
    assert!(summary.jobs.len() <= expected_jobs + 1, "{summary:?}");
    assert_eq!(summary.records_uploaded, 2500);
    assert_eq!(summary.records_processed, 2500);
    assert_eq!(summary.records_failed, 0);
    assert!(summary.is_clean());
    assert_eq!(
        summary.jobs.iter().map(|j| j.records_uploaded).sum::<u64>(),
        2500
    );
    assert_eq!(count(&client, "SELECT COUNT() FROM Account").await, 2500);
    let multiline = client
        .query("SELECT Description FROM Account WHERE Name = 'Account 0010'")
        .fetch_one()
        .await
        .unwrap();
    assert_eq!(
        multiline.get_str("Description"),
        Some("line one, \"quoted\"\nline two")
    );

    // The success results name every row once, with the created record's id.
    let mut names = Vec::new();
    for job in &summary.jobs {
        assert_eq!(job.state, Some(JobState::JobComplete));
        let files = job.results.as_ref().unwrap();
        let (header, rows) = parse_csv(&std::fs::read(&files.successful).unwrap());
        assert_eq!(header, ["sf__Id", "sf__Created", "Name", "Description"]);
        for row in rows {
            assert!(row[0].starts_with("001"), "{row:?}");
            assert_eq!(row[1], "true");
            names.push(row[2].clone());
        }
        let (_, failed) = parse_csv(&std::fs::read(&files.failed).unwrap());
        assert!(failed.is_empty());
    }
    names.sort();
    let expected: Vec<String> = (0..2500).map(|i| format!("Account {i:04}")).collect();
    assert_eq!(names, expected);

    // Progress went up to every row uploaded and processed.
    let seen = seen.lock().unwrap();
    let last = seen.last().unwrap();
    assert_eq!(last.jobs_created, summary.jobs.len());
    assert_eq!(last.records_uploaded, 2500);
    assert_eq!(last.records_processed, 2500);
    assert!(
        seen.windows(2)
            .all(|w| w[0].records_uploaded <= w[1].records_uploaded)
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn bad_rows_are_reported_as_failed_results_and_the_rest_load() {
    let org = TestOrg::start().await;
    let client = org.client();
    let csv = "FirstName,LastName,Email\n\
               Ada,Lovelace,ada@example.com\n\
               No,,nolast@example.com\n\
               Alan,Turing,alan@example.com\n\
               Grace,Hopper,grace@example.com\n\
               Also,,missing@example.com\n";
    let summary = client
        .bulk()
        .ingest("Contact", IngestOperation::Insert)
        .options(quick_options())
        .from_csv_reader(csv.as_bytes())
        .await
        .unwrap();
    assert_eq!(summary.jobs.len(), 1);
    assert_eq!(summary.records_processed, 5);
    assert_eq!(summary.records_failed, 2);
    assert!(!summary.is_clean());

    let job = client.bulk().ingest_job(&summary.jobs[0].id);
    let failed = job.results(ResultKind::Failed).await.unwrap();
    let mut emails: Vec<&str> = failed.iter().map(|r| r.get("Email").unwrap()).collect();
    emails.sort();
    assert_eq!(emails, ["missing@example.com", "nolast@example.com"]);
    for row in &failed {
        let error = row.error.as_deref().unwrap();
        assert!(error.starts_with("REQUIRED_FIELD_MISSING"), "{error}");
        assert_eq!(row.id, None);
    }
    let succeeded = job.results(ResultKind::Successful).await.unwrap();
    assert_eq!(succeeded.len(), 3);
    assert!(succeeded.iter().all(|r| r.created == Some(true)));
    assert_eq!(count(&client, "SELECT COUNT() FROM Contact").await, 3);
}

#[derive(Serialize)]
struct NewContact {
    #[serde(rename = "LastName")]
    last_name: String,
    #[serde(rename = "Email")]
    email: Option<String>,
}

#[tokio::test]
async fn records_are_inserted_updated_upserted_and_deleted() {
    let org = TestOrg::start().await;
    let client = org.client();
    let bulk = client.bulk();

    // Insert from a Vec of structs; `None` becomes `#N/A` (null).
    let contacts: Vec<NewContact> = (0..5)
        .map(|i| NewContact {
            last_name: format!("Person {i}"),
            email: (i % 2 == 0).then(|| format!("p{i}@example.com")),
        })
        .collect();
    let inserted = ingest_all(&client, "Contact", IngestOperation::Insert, contacts, 5).await;
    let rows = bulk
        .ingest_job(&inserted.jobs[0].id)
        .results(ResultKind::Successful)
        .await
        .unwrap();
    let ids: Vec<String> = rows.iter().map(|r| r.id.clone().unwrap()).collect();
    assert_eq!(ids.len(), 5);
    assert_eq!(
        count(&client, "SELECT COUNT() FROM Contact WHERE Email = null").await,
        2
    );

    // Update from JSON values: Title set, Email cleared with null.
    let updates: Vec<serde_json::Value> = ids
        .iter()
        .map(|id| json!({"Id": id, "Title": "Engineer", "Email": null}))
        .collect();
    ingest_all(&client, "Contact", IngestOperation::Update, updates, 5).await;
    assert_eq!(
        count(
            &client,
            "SELECT COUNT() FROM Contact WHERE Title = 'Engineer' AND Email = null"
        )
        .await,
        5
    );

    // Upsert by external id: the first run creates, the second updates one and creates one.
    let upsert = IngestOperation::Upsert {
        external_id_field: "ExternalId".into(),
    };
    let first = bulk
        .ingest("Product2", upsert.clone())
        .options(quick_options())
        .from_csv_reader(&b"ExternalId,Name\nP-1,Widget\nP-2,Gadget\n"[..])
        .await
        .unwrap();
    assert_eq!(first.records_failed, 0);
    let second = bulk
        .ingest("Product2", upsert)
        .options(quick_options())
        .from_csv_reader(&b"ExternalId,Name\nP-2,Gadget Pro\nP-3,Gizmo\n"[..])
        .await
        .unwrap();
    let rows = bulk
        .ingest_job(&second.jobs[0].id)
        .results(ResultKind::Successful)
        .await
        .unwrap();
    let mut created: Vec<(&str, bool)> = rows
        .iter()
        .map(|r| (r.get("ExternalId").unwrap(), r.created.unwrap()))
        .collect();
    created.sort();
    assert_eq!(created, [("P-2", false), ("P-3", true)]);
    assert_eq!(count(&client, "SELECT COUNT() FROM Product2").await, 3);
    assert_eq!(
        count(
            &client,
            "SELECT COUNT() FROM Product2 WHERE Name = 'Gadget Pro'"
        )
        .await,
        1
    );

    // Delete moves the contacts to the recycle bin; queryAll still sees them.
    let deletes: Vec<serde_json::Value> = ids.iter().map(|id| json!({"Id": id})).collect();
    ingest_all(&client, "Contact", IngestOperation::Delete, deletes, 5).await;
    assert_eq!(count(&client, "SELECT COUNT() FROM Contact").await, 0);
    assert_eq!(
        client
            .query_all("SELECT COUNT() FROM Contact WHERE IsDeleted = true")
            .total_size()
            .await
            .unwrap(),
        5
    );

    // Hard delete removes the products for good.
    let product_ids: Vec<serde_json::Value> = client
        .query("SELECT Id FROM Product2")
        .fetch_all()
        .await
        .unwrap()
        .iter()
        .map(|r| json!({"Id": r.get_str("Id").unwrap()}))
        .collect();
    ingest_all(
        &client,
        "Product2",
        IngestOperation::HardDelete,
        product_ids,
        3,
    )
    .await;
    assert_eq!(
        client
            .query_all("SELECT COUNT() FROM Product2")
            .total_size()
            .await
            .unwrap(),
        0
    );
}

#[tokio::test]
async fn a_records_field_missing_from_the_columns_is_refused() {
    let org = TestOrg::start().await;
    let client = org.client();
    let error = insert_accounts(&client, quick_options())
        .from_records([
            json!({"Name": "A"}),
            json!({"Name": "B", "Industry": "Media"}),
        ])
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::NotSent);
    assert!(error.to_string().contains("Industry"), "{error}");
    assert_eq!(client.requests_sent(), 0);
}

#[tokio::test]
async fn a_bulk_query_writes_one_csv_with_one_header_page_by_page() {
    let org = TestOrg::seeded(10_000).await;
    let client = org.client();
    let expected = count(&client, "SELECT COUNT() FROM Contact").await;
    assert!(expected > 1000, "{expected} contacts");
    let max_records = 700;

    let mut sink = Vec::new();
    let summary = client
        .bulk()
        .query("SELECT Id, LastName, Account.Name FROM Contact")
        .options(QueryOptions {
            max_records: Some(max_records),
            poll: quick_poll(),
            ..QueryOptions::default()
        })
        .write_to(&mut sink)
        .await
        .unwrap();

    assert_eq!(summary.records, expected);
    assert_eq!(summary.pages, expected.div_ceil(max_records));
    assert_eq!(summary.bytes, sink.len() as u64);
    assert!(summary.last_locator.is_some());
    let (header, rows) = parse_csv(&sink);
    assert_eq!(header, ["Id", "LastName", "Account.Name"]);
    assert_eq!(rows.len() as u64, expected);
    assert!(
        !rows.iter().any(|r| r[0] == "Id"),
        "a header row was repeated"
    );
    assert_distinct_ids(&rows, expected);
}

#[tokio::test]
async fn a_download_resumed_from_a_saved_locator_gives_exactly_the_remaining_rows() {
    let org = TestOrg::seeded(3_000).await;
    let client = org.client();
    let options = QueryOptions {
        max_records: Some(50),
        poll: quick_poll(),
        ..QueryOptions::default()
    };
    let job = client
        .bulk()
        .query("SELECT Id, Name FROM Account ORDER BY Name")
        .options(options.clone())
        .start()
        .await
        .unwrap();

    let mut whole = Vec::new();
    let full = job.resume_into(&mut whole, None).await.unwrap();
    assert!(full.pages >= 3, "{full:?}");

    // A download that stopped after two pages, with the locator it saved.
    let mut partial = Vec::new();
    let mut pages = job.pages_from(None);
    let first = pages.try_next().await.unwrap().unwrap();
    partial.extend_from_slice(&first.bytes);
    let second = pages.try_next().await.unwrap().unwrap();
    let body = &second.bytes[second.bytes.iter().position(|b| *b == b'\n').unwrap() + 1..];
    partial.extend_from_slice(body);
    let saved = second.next_locator.clone().unwrap();
    drop(pages);

    // A new process picks the job up by id.
    let again = client.bulk().query_job(job.id()).options(options);
    let rest = again.resume_into(&mut partial, Some(&saved)).await.unwrap();
    assert_eq!(rest.records, full.records - first.records - second.records);
    assert_eq!(rest.pages, full.pages - 2);
    assert_eq!(partial, whole);

    // The same job can also be read as a page stream by the caller.
    let pages: Vec<_> = again.pages_from(Some(&saved)).try_collect().await.unwrap();
    assert_eq!(pages.len() as u64, rest.pages);
    assert_eq!(pages[0].locator.as_deref(), Some(saved.as_str()));
    assert!(pages.iter().all(|p| p.job_id == job.id()));
    assert!(pages.last().unwrap().next_locator.is_none());
}

/// Creates an Account insert job through the raw API, as a crashed loader would have left it
/// (open, nothing uploaded), and returns its id.
async fn open_account_insert_job(client: &Client) -> String {
    let created: serde_json::Value = client
        .raw(Method::POST, "/services/data/v60.0/jobs/ingest")
        .json(&json!({"object": "Account", "operation": "insert"}))
        .send()
        .await
        .unwrap()
        .json()
        .unwrap();
    created["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn an_ingest_job_is_resumed_by_id_and_an_open_one_is_reported() {
    let org = TestOrg::start().await;
    let client = org.client();
    let bulk = client.bulk();

    // A job whose upload was interrupted: created and loaded, never closed.
    let id = open_account_insert_job(&client).await;
    let job = bulk.ingest_job(&id);
    job.upload_csv(&b"Name\nFirst\nSecond\n"[..]).await.unwrap();

    let dir = temp_dir("resume");
    let options = IngestOptions {
        results_dir: Some(dir.clone()),
        ..quick_options()
    };
    match job.resume(&options).await.unwrap() {
        Resumed::StillOpen(info) => assert_eq!(info.state, "Open"),
        other => panic!("expected an open job, got {other:?}"),
    }
    assert!(
        bulk.ingest_jobs()
            .fetch_all()
            .await
            .unwrap()
            .iter()
            .any(|j| j.info.id == id)
    );

    // The caller chooses to finish the upload; resuming then waits and fetches the results.
    job.close().await.unwrap();
    let Resumed::Finished(summary) = bulk.ingest_job(&id).resume(&options).await.unwrap() else {
        panic!("expected a finished job");
    };
    assert_eq!(summary.state, Some(JobState::JobComplete));
    assert_eq!(summary.records_processed, 2);
    let files = summary.results.unwrap();
    let (_, rows) = parse_csv(&std::fs::read(&files.successful).unwrap());
    assert_eq!(rows.len(), 2);
    assert_eq!(count(&client, "SELECT COUNT() FROM Account").await, 2);

    // Another interrupted job is aborted instead, and both are deleted.
    let other = bulk.ingest_job(&open_account_insert_job(&client).await);
    assert_eq!(other.abort().await.unwrap().state, "Aborted");
    other.delete().await.unwrap();
    bulk.ingest_job(&id).delete().await.unwrap();
    assert!(bulk.ingest_jobs().fetch_all().await.unwrap().is_empty());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn a_job_created_alone_loads_nothing_until_uploaded_and_closed() {
    let org = TestOrg::start().await;
    let client = org.client();
    let builder = insert_accounts(&client, quick_options());
    // The CSV is made first and sends nothing; the job exists before any row leaves.
    let csv = builder
        .records_csv([
            json!({"Name": "Alone one", "Phone": null}),
            json!({"Name": "Alone \"two\", quoted"}),
        ])
        .unwrap();
    assert_eq!(client.requests_sent(), 0);
    assert_eq!(
        String::from_utf8(csv.to_vec()).unwrap(),
        "Name,Phone\nAlone one,#N/A\n\"Alone \"\"two\"\", quoted\",\n"
    );
    let job = builder.create_job().await.unwrap();
    assert!(job.id().starts_with("750"), "{}", job.id());
    let listed = client.bulk().ingest_jobs().fetch_all().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].info.id, job.id());
    assert_eq!(listed[0].info.operation, "insert");
    assert_eq!(job.info().await.unwrap().job_state(), Some(JobState::Open));

    // Uploaded but not closed: still Open, and nothing is loaded, whatever the org does.
    job.upload_csv(csv).await.unwrap();
    org.emulator.control().bulk_jobs_settled().await;
    assert_eq!(job.info().await.unwrap().job_state(), Some(JobState::Open));
    assert_eq!(count(&client, "SELECT COUNT() FROM Account").await, 0);

    // Closed: the org loads it, once.
    job.close().await.unwrap();
    let info = job.wait(&quick_poll()).await.unwrap();
    assert_eq!(info.job_state(), Some(JobState::JobComplete));
    assert_eq!(info.number_records_processed, Some(2));
    let mut names: Vec<String> = job
        .results(ResultKind::Successful)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.get("Name").unwrap().to_string())
        .collect();
    names.sort();
    assert_eq!(names, ["Alone \"two\", quoted", "Alone one"]);
    assert_eq!(count(&client, "SELECT COUNT() FROM Account").await, 2);

    // A job created alone and aborted loads nothing at all.
    let other = builder.create_job().await.unwrap();
    other.upload_csv(&b"Name\nNever\n"[..]).await.unwrap();
    assert_eq!(
        other.abort().await.unwrap().job_state(),
        Some(JobState::Aborted)
    );
    org.emulator.control().bulk_jobs_settled().await;
    assert_eq!(count(&client, "SELECT COUNT() FROM Account").await, 2);

    // What cannot be one upload is refused before anything is sent.
    let sent = client.requests_sent();
    let empty: [serde_json::Value; 0] = [];
    let e = builder.records_csv(empty).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotSent);
    assert!(e.to_string().contains("no records"), "{e}");
    let small = insert_accounts(
        &client,
        IngestOptions {
            max_upload_bytes: 40,
            ..quick_options()
        },
    );
    let e = small
        .records_csv((0..10).map(|i| json!({"Name": format!("Account {i}")})))
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotSent);
    assert!(e.to_string().contains("at most 40 bytes"), "{e}");
    assert_eq!(client.requests_sent(), sent);

    // A read-only client creates no job.
    let read_only = org.builder().access(Access::ReadOnly).build().unwrap();
    let e = insert_accounts(&read_only, quick_options())
        .create_job()
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotSent);
    assert!(e.to_string().contains("read-only"), "{e}");
    assert_eq!(read_only.requests_sent(), 0);
}

#[tokio::test]
async fn a_read_only_client_refuses_ingest_without_sending_but_runs_queries() {
    let org = TestOrg::seeded(200).await;
    let client = org.builder().access(Access::ReadOnly).build().unwrap();
    let error = insert_accounts(&client, quick_options())
        .from_records([json!({"Name": "Nope"})])
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::NotSent);
    assert!(error.to_string().contains("read-only"), "{error}");
    assert_eq!(client.requests_sent(), 0);
    // Even a job by id cannot be written to.
    let error = client
        .bulk()
        .ingest_job("750000000000001AAA")
        .close()
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::NotSent);
    assert_eq!(client.requests_sent(), 0);

    let mut sink = Vec::new();
    let summary = client
        .bulk()
        .query("SELECT Id FROM Account")
        .options(QueryOptions {
            poll: quick_poll(),
            ..QueryOptions::default()
        })
        .write_to(&mut sink)
        .await
        .unwrap();
    let expected = count(&client, "SELECT COUNT() FROM Account").await;
    assert_eq!(summary.records, expected);
    assert!(client.requests_sent() > 0);
}

#[tokio::test]
async fn a_query_job_creation_is_retried_through_cuts_but_an_ingest_job_creation_is_not() {
    let org = TestOrg::seeded(200).await;
    let client = org.client();
    client.session().await.unwrap();
    org.emulator.set_faults(FaultConfig {
        reset_rate: 1.0,
        ..FaultConfig::none()
    });
    let sent = client.requests_sent();
    let error = client
        .bulk()
        .query("SELECT Id FROM Account")
        .start()
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Transport);
    assert!(!error.is_not_sent(), "the creates reached the org");
    // A query job changes no data: every attempt the policy allows was made.
    let attempts = crate::support::quick_retries().max_retries as u64 + 1;
    assert_eq!(client.requests_sent(), sent + attempts);
    let error = insert_accounts(&client, quick_options())
        .from_records([json!({"Name": "Once"})])
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Transport);
    assert_eq!(
        client.requests_sent(),
        sent + attempts + 1,
        "one attempt only"
    );
    org.emulator.set_faults(FaultConfig::none());
    // Each cut query job creation had landed: unused jobs, no data changed.
    assert_eq!(
        client.bulk().query_jobs().fetch_all().await.unwrap().len() as u64,
        attempts
    );
    assert_eq!(
        client.bulk().ingest_jobs().fetch_all().await.unwrap().len(),
        1
    );
}

#[tokio::test]
async fn a_query_job_creation_and_an_upload_answered_503_are_retried() {
    let org = TestOrg::start().await;
    let client = org.client();
    let job = client
        .bulk()
        .ingest_job(open_account_insert_job(&client).await);
    let attempts = crate::support::quick_retries().max_retries as u64 + 1;
    // Salesforce answers 503 before doing any work: every attempt the policy allows is made.
    org.emulator.set_faults(FaultConfig {
        error_rate: 1.0,
        ..FaultConfig::none()
    });
    let sent = client.requests_sent();
    let error = client
        .bulk()
        .query("SELECT Id FROM Account")
        .start()
        .await
        .unwrap_err();
    assert_eq!(error.status(), Some(503));
    assert_eq!(client.requests_sent(), sent + attempts);
    let error = job.upload_csv(&b"Name\nOnce\n"[..]).await.unwrap_err();
    assert_eq!(error.status(), Some(503));
    assert_eq!(client.requests_sent(), sent + 2 * attempts);
    org.emulator.set_faults(FaultConfig::none());
    // None of them landed: no query job, and the ingest job can still take its one upload.
    assert!(
        client
            .bulk()
            .query_jobs()
            .fetch_all()
            .await
            .unwrap()
            .is_empty()
    );
    job.upload_csv(&b"Name\nOnce\n"[..]).await.unwrap();
    job.close().await.unwrap();
    job.wait(&quick_poll()).await.unwrap();
    assert_eq!(count(&client, "SELECT COUNT() FROM Account").await, 1);
}

#[tokio::test]
async fn an_upload_cut_after_it_landed_is_retried_and_the_job_never_loads_it_twice() {
    let org = TestOrg::start().await;
    let client = org.client();
    let job = client
        .bulk()
        .ingest_job(open_account_insert_job(&client).await);
    org.emulator.set_faults(FaultConfig {
        reset_rate: 1.0,
        ..FaultConfig::none()
    });
    let sent = client.requests_sent();
    let error = job.upload_csv(&b"Name\nTwice\n"[..]).await.unwrap_err();
    org.emulator.set_faults(FaultConfig::none());
    assert_eq!(error.kind(), ErrorKind::Transport);
    let attempts = crate::support::quick_retries().max_retries as u64 + 1;
    assert_eq!(
        client.requests_sent(),
        sent + attempts,
        "the upload was retried"
    );
    // Every attempt landed, so the org holds several uploads: it refuses to close the job,
    // and no row is loaded, let alone twice.
    let refused = job.close().await.unwrap_err();
    assert_eq!(refused.error_code(), Some("INVALIDJOB"));
    assert_eq!(job.info().await.unwrap().state, "Open");
    job.abort().await.unwrap();
    assert_eq!(count(&client, "SELECT COUNT() FROM Account").await, 0);
}

#[tokio::test]
async fn polling_and_result_pages_are_retried_through_server_errors() {
    let org = TestOrg::seeded(3_000).await;
    let client = org.client();
    let expected = count(&client, "SELECT COUNT() FROM Account").await;
    let job = client
        .bulk()
        .query("SELECT Id, Name FROM Account")
        .options(QueryOptions {
            max_records: Some(40),
            poll: quick_poll(),
            ..QueryOptions::default()
        })
        .start()
        .await
        .unwrap();
    org.emulator.set_faults(FaultConfig {
        error_rate: 0.3,
        reset_rate: 0.1,
        ..FaultConfig::none()
    });
    let mut sink = Vec::new();
    let summary = job.resume_into(&mut sink, None).await.unwrap();
    org.emulator.set_faults(FaultConfig::none());
    assert_eq!(summary.records, expected);
    let (_, rows) = parse_csv(&sink);
    assert_distinct_ids(&rows, expected);
}

#[tokio::test]
async fn a_failing_record_source_stops_the_ingest_and_names_the_jobs_already_running() {
    let org = TestOrg::start().await;
    let client = org.client();
    let records = (0..30).map(|i| {
        if i < 20 {
            Ok(json!({"Name": format!("Account {i:02}")}))
        } else {
            Err(std::io::Error::other("the source database went away"))
        }
    });
    let error = insert_accounts(
        &client,
        IngestOptions {
            max_upload_bytes: 100,
            ..quick_options()
        },
    )
    .try_from_record_stream(futures_util::stream::iter(records))
    .await
    .unwrap_err();
    // The source's own error, after jobs went out: not "not sent", and the jobs are data.
    assert_eq!(error.kind(), ErrorKind::Io);
    assert!(!error.is_not_sent());
    let text = error.to_string();
    assert!(text.contains("reading record 21 failed"), "{text}");
    let source = std::error::Error::source(&error).unwrap().to_string();
    assert_eq!(source, "the source database went away");
    assert!(
        !text.contains(&source),
        "the message repeats its source: {text}"
    );
    let jobs = client.bulk().ingest_jobs().fetch_all().await.unwrap();
    assert!(jobs.len() >= 2, "{jobs:?}");
    let named = error.bulk_jobs();
    assert_eq!(named.len(), jobs.len());
    for job in &jobs {
        let job = &job.info;
        assert!(text.contains(&job.id), "{text} lacks {}", job.id);
        let started = named.iter().find(|n| n.id == job.id).unwrap();
        // Closed and running on the org: resume it, do not load its rows again.
        assert_ne!(started.state, Some(JobState::Open), "{started:?}");
        assert!(started.records > 0);
    }
    assert!(
        !text.contains("ingest_job("),
        "no Rust calls in messages: {text}"
    );
    // The rows the named jobs hold are the first ones of the input: once they finish, a
    // caller resumes from the row after them.
    for job in named {
        client
            .bulk()
            .ingest_job(&job.id)
            .wait(&quick_poll())
            .await
            .unwrap();
    }
    let uploaded: u64 = named.iter().map(|j| j.records).sum();
    assert!((1..20).contains(&uploaded), "{uploaded}");
    assert_eq!(
        count(&client, "SELECT COUNT() FROM Account").await,
        uploaded
    );
}

#[tokio::test]
async fn a_job_that_fails_as_a_whole_is_reported_in_the_summary() {
    let org = TestOrg::start().await;
    let client = org.client();
    let summary = insert_accounts(&client, quick_options())
        .from_csv_reader(&b"Name,NoSuchField__c\nAcme,x\n"[..])
        .await
        .unwrap();
    assert!(!summary.is_clean());
    let job = &summary.jobs[0];
    assert_eq!(job.state, Some(JobState::Failed));
    let message = job.error_message.as_deref().unwrap();
    assert!(message.contains("NoSuchField__c"), "{message}");
    assert_eq!(count(&client, "SELECT COUNT() FROM Account").await, 0);
}

#[tokio::test]
async fn a_query_the_org_refuses_is_an_api_error_naming_the_field() {
    let org = TestOrg::start().await;
    let client = org.client();
    let error = client
        .bulk()
        .query("SELECT Id, NoSuchField__c FROM Account")
        .options(QueryOptions {
            poll: quick_poll(),
            ..QueryOptions::default()
        })
        .write_to(&mut Vec::new())
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Api);
    assert!(error.to_string().contains("NoSuchField__c"), "{error}");
}

/// The CLI and the sync engine run bulk work on spawned tasks: the futures must be `Send`.
#[allow(dead_code)]
fn bulk_futures_are_send(client: Client, sink: tokio::fs::File) {
    fn is_send<T: Send>(_: T) {}
    let bulk = client.bulk();
    is_send(
        bulk.ingest("Account", IngestOperation::Insert)
            .from_csv_file("accounts.csv"),
    );
    is_send(
        bulk.ingest("Account", IngestOperation::Insert)
            .from_records(vec![json!({"Name": "A"})]),
    );
    let mut sink = sink;
    is_send(async move {
        bulk.query("SELECT Id FROM Account")
            .write_to(&mut sink)
            .await
    });
    is_send(client.bulk().query_job("750").pages_from(None));
    fn is_send_static<T: Send + 'static>(_: T) {}
    is_send_static(client.bulk().jobs().stream());
    is_send_static(
        client
            .bulk()
            .ingest("Account", IngestOperation::Insert)
            .resuming()
            .from_csv_file("accounts.csv"),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_thousand_rows_go_in_by_bulk_ingest_and_come_back_by_bulk_query() {
    #[derive(Serialize)]
    #[serde(rename_all = "PascalCase")]
    struct Row {
        name: String,
        industry: &'static str,
        number_of_employees: u32,
    }
    let org = TestOrg::start().await;
    let client = org.client();
    let rows = (0..100_000u32).map(|n| Row {
        name: format!("Hundred-k {n:06}"),
        industry: "Media",
        number_of_employees: n,
    });
    let summary = insert_accounts(
        &client,
        IngestOptions {
            // About 1.5 MB of CSV per job: the load is split into several jobs.
            max_upload_bytes: 1_500_000,
            ..quick_options()
        },
    )
    .from_records(rows)
    .await
    .unwrap();
    assert!(summary.jobs.len() >= 2, "{} jobs", summary.jobs.len());
    assert_eq!(summary.records_processed, 100_000);
    assert_eq!(summary.records_failed, 0);

    let mut sink = Vec::new();
    let download = client
        .bulk()
        .query("SELECT Name, NumberOfEmployees FROM Account WHERE Industry = 'Media'")
        .options(QueryOptions {
            max_records: Some(25_000),
            poll: quick_poll(),
            ..QueryOptions::default()
        })
        .write_to(&mut sink)
        .await
        .unwrap();
    assert_eq!(download.records, 100_000);
    assert_eq!(download.pages, 4);
    let text = String::from_utf8(sink).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("\"Name\",\"NumberOfEmployees\""));
    let mut seen = std::collections::HashSet::new();
    for line in lines {
        assert!(seen.insert(line.to_string()), "duplicate row {line}");
    }
    assert_eq!(seen.len(), 100_000);
    assert!(seen.contains("\"Hundred-k 099999\",\"99999\""));
}

/// A completed query job over every Account, paged by `max_records`.
async fn account_export_job(
    client: &Client,
    max_records: u64,
) -> forcebridge_client::bulk::QueryJob {
    let job = client
        .bulk()
        .query("SELECT Id, Name, Description FROM Account ORDER BY Id")
        .options(QueryOptions {
            max_records: Some(max_records),
            poll: quick_poll(),
            ..QueryOptions::default()
        })
        .start()
        .await
        .unwrap();
    job.wait().await.unwrap();
    job
}

#[tokio::test]
async fn an_export_interrupted_after_some_pages_resumes_to_the_same_bytes() {
    let org = TestOrg::seeded(3_000).await;
    let client = org.client();
    let job = account_export_job(&client, 40).await;
    let dir = temp_dir("export");

    let whole = dir.join("whole.csv");
    let mut reports = Vec::new();
    let summary = job
        .export_to_file(&whole, |p| reports.push(*p))
        .await
        .unwrap();
    let expected = std::fs::read(&whole).unwrap();
    // No total until the job is complete, then the result's row count, never a guess.
    assert_eq!(reports[0].total_records, None);
    assert_eq!(reports[1].total_records, Some(summary.records));
    assert_eq!((reports[1].pages, reports[1].records), (0, 0));
    assert!(
        reports[1..]
            .iter()
            .all(|r| r.total_records == Some(summary.records))
    );
    assert_eq!(reports.last().unwrap().records, summary.records);
    assert!(summary.pages > 4, "{summary:?}");
    assert!(!summary.resumed);
    assert_eq!(summary.bytes, expected.len() as u64);
    assert_eq!(
        std::str::from_utf8(&expected)
            .unwrap()
            .matches("\"Id\",\"Name\"")
            .count(),
        1,
        "one header"
    );
    let (_, state) = forcebridge_client::bulk::export_part_paths(&whole);
    assert!(!state.exists(), "a complete export leaves no state");

    // The same export, dropped once its third page is saved, as a crash would stop it.
    let out = dir.join("out.csv");
    let stop = Arc::new(tokio::sync::Notify::new());
    let signal = stop.clone();
    let export = job.export_to_file(&out, move |p| {
        if p.pages == 3 {
            signal.notify_one();
        }
    });
    tokio::select! {
        biased;
        () = stop.notified() => {}
        done = export => panic!("the export should have been stopped: {done:?}"),
    }
    assert!(!out.exists(), "only a complete export gets the name");
    let (part, state) = forcebridge_client::bulk::export_part_paths(&out);
    // A torn write after the last complete page.
    let mut partial = std::fs::read(&part).unwrap();
    assert!(expected.starts_with(&partial));
    partial.extend_from_slice(b"\"001half a row");
    std::fs::write(&part, &partial).unwrap();

    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    let resumed = job
        .resume_export(&out, move |p| sink.lock().unwrap().push(*p))
        .await
        .unwrap();
    assert!(resumed.resumed);
    assert_eq!(std::fs::read(&out).unwrap(), expected);
    assert_eq!(resumed.records, summary.records);
    assert_eq!(resumed.pages, summary.pages - 3);
    assert!(!part.exists() && !state.exists());
    // Progress starts from what the interrupted run had saved.
    let seen = seen.lock().unwrap();
    assert_eq!(seen[0].pages, 0);
    assert!(seen[0].records > 0);
    assert_eq!(seen.last().unwrap().records, summary.records);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn an_export_state_of_another_job_is_refused_and_left_alone() {
    let org = TestOrg::seeded(1_000).await;
    let client = org.client();
    let first = account_export_job(&client, 50).await;
    let second = account_export_job(&client, 50).await;
    let dir = temp_dir("export-other");
    let out = dir.join("out.csv");
    let (part, state) = forcebridge_client::bulk::export_part_paths(&out);
    std::fs::write(&part, "\"Id\"\n\"001\"\n").unwrap();
    let saved = format!(
        r#"{{"job_id":"{}","bytes":11,"records":1,"next_locator":"NTA"}}"#,
        first.id()
    );
    std::fs::write(&state, &saved).unwrap();
    let error = second.resume_export(&out, |_| {}).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::NotSent);
    assert!(error.to_string().contains(first.id()), "{error}");
    assert!(error.to_string().contains(second.id()), "{error}");
    assert_eq!(std::fs::read_to_string(&state).unwrap(), saved);
    assert_eq!(std::fs::read(&part).unwrap(), b"\"Id\"\n\"001\"\n");

    // Without a state file a resume is a whole export.
    let fresh = dir.join("fresh.csv");
    let summary = second.resume_export(&fresh, |_| {}).await.unwrap();
    assert!(!summary.resumed);
    assert_eq!(
        summary.records,
        count(&client, "SELECT COUNT() FROM Account").await
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Reads CSV whose rows may be shorter or longer than its header, as the failed results of
/// ragged input rows are.
fn parse_flexible_csv(bytes: &[u8]) -> (Vec<String>, Vec<Vec<String>>) {
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(bytes);
    let header = reader.headers().unwrap().iter().map(String::from).collect();
    let rows = reader
        .records()
        .map(|r| r.unwrap().iter().map(String::from).collect())
        .collect();
    (header, rows)
}

#[tokio::test]
async fn results_of_ragged_and_quoted_rows_are_csv_that_reads_back_to_the_input() {
    let org = TestOrg::start().await;
    let client = org.client();
    let dir = temp_dir("ragged");
    let input: Vec<Vec<&str>> = vec![
        vec!["Quote \"q\"", "line one\nline two, with a comma", "Media"],
        vec!["too few"],
        vec!["too", "many", "cells", "here, quoted", "and \"more\""],
        vec!["", "no name, \"so\" it fails", "Media"],
        vec!["comma, in name", "", "Retail"],
        vec!["two", "cells"],
        vec!["last\r\nwith crlf", "x", "Media"],
    ];
    let mut writer = csv::WriterBuilder::new()
        .flexible(true)
        .from_writer(Vec::new());
    writer
        .write_record(["Name", "Description", "Industry"])
        .unwrap();
    for row in &input {
        writer.write_record(row).unwrap();
    }
    let csv_bytes = writer.into_inner().unwrap();
    let summary = insert_accounts(
        &client,
        IngestOptions {
            results_dir: Some(dir.clone()),
            ..quick_options()
        },
    )
    .from_csv_reader(&csv_bytes[..])
    .await
    .unwrap();
    assert_eq!(summary.records_processed, 7, "{summary:?}");
    assert_eq!(summary.records_failed, 4, "{summary:?}");
    let files = summary.jobs[0].results.clone().unwrap();

    // Every input row comes back exactly once: its own cells after sf__Id and sf__Error or
    // sf__Created, each record on its own line, whatever its width.
    let (header, failed) = parse_flexible_csv(&std::fs::read(&files.failed).unwrap());
    assert_eq!(
        header,
        ["sf__Id", "sf__Error", "Name", "Description", "Industry"]
    );
    let (header, succeeded) = parse_flexible_csv(&std::fs::read(&files.successful).unwrap());
    assert_eq!(
        header,
        ["sf__Id", "sf__Created", "Name", "Description", "Industry"]
    );
    let mut back: Vec<Vec<String>> = failed
        .iter()
        .map(|row| {
            assert_eq!(row[0], "", "a failed insert has no id: {row:?}");
            assert!(!row[1].is_empty(), "{row:?}");
            row[2..].to_vec()
        })
        .chain(succeeded.iter().map(|row| {
            assert!(row[0].starts_with("001"), "{row:?}");
            assert_eq!(row[1], "true");
            row[2..].to_vec()
        }))
        .collect();
    let mut expected: Vec<Vec<String>> = input
        .iter()
        .map(|row| row.iter().map(|c| c.to_string()).collect())
        .collect();
    back.sort();
    expected.sort();
    assert_eq!(back, expected);
    assert!(
        failed.iter().any(|r| r[1].contains("column")),
        "a ragged row says why it failed: {failed:?}"
    );

    // The client reads them back too, with the cells beyond the header kept.
    let job = client.bulk().ingest_job(&summary.jobs[0].id);
    let rows = job.results(ResultKind::Failed).await.unwrap();
    assert_eq!(rows.len(), 4);
    let long = rows.iter().find(|r| r.get("Name") == Some("too")).unwrap();
    assert_eq!(long.get("Industry"), Some("cells"));
    assert_eq!(long.extra_values, ["here, quoted", "and \"more\""]);
    let short = rows
        .iter()
        .find(|r| r.get("Name") == Some("too few"))
        .unwrap();
    assert_eq!(short.get("Description"), None);
    std::fs::remove_dir_all(&dir).unwrap();
}
