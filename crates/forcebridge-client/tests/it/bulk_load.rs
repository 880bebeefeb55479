//! The org's Bulk jobs, listed page by page and found by id.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use forcebridge_client::Client;
use forcebridge_client::bulk::{IngestOperation, JobKind};
use futures_util::TryStreamExt;

use crate::support::{TestOrg, quick_retries};

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

#[tokio::test]
async fn the_orgs_jobs_are_listed_by_kind_and_found_by_id() {
    let org = TestOrg::start().await;
    let client = org.client();
    let bulk = client.bulk();
    let dir = temp_dir("list");
    let ingest = client
        .bulk()
        .ingest("Account", IngestOperation::Insert)
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
