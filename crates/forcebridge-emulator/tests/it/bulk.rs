//! Bulk API 2.0 ingest jobs, driven as jsforce and simple-salesforce drive them.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{Reply, TestOrg};

impl TestOrg {
    pub(crate) async fn put_csv(&self, job: &str, csv: &str) -> Reply {
        let request = self
            .client
            .put(self.data(&format!("/jobs/ingest/{job}/batches")))
            .bearer_auth(&self.token)
            .header("content-type", "text/csv")
            .body(csv.to_string());
        Reply::from(request.send().await.unwrap()).await
    }

    /// Creates a job, uploads the CSV parts, closes it and waits until it finishes.
    pub(crate) async fn ingest(&self, spec: Value, parts: &[&str]) -> (String, Value) {
        let created = self.post("/jobs/ingest", spec).await;
        assert_eq!(created.status, StatusCode::OK, "{}", created.text);
        let job = created.json["id"].as_str().unwrap().to_string();
        for part in parts {
            let upload = self.put_csv(&job, part).await;
            assert_eq!(upload.status, StatusCode::CREATED, "{}", upload.text);
            assert_eq!(upload.text, "");
        }
        let closed = self
            .patch(
                &format!("/jobs/ingest/{job}"),
                json!({"state": "UploadComplete"}),
            )
            .await;
        assert_eq!(closed.json["state"], "UploadComplete", "{}", closed.text);
        let info = self.wait_for_job(&job).await;
        (job, info)
    }

    /// The job's info once the org has finished processing it (an event, not a timer).
    async fn wait_for_job(&self, job: &str) -> Value {
        self.control().bulk_jobs_settled().await;
        let info = self.get(&format!("/jobs/ingest/{job}")).await;
        let state = info.json["state"].as_str().unwrap_or("");
        assert!(
            ["JobComplete", "Failed", "Aborted"].contains(&state),
            "job {job} is settled but {state}"
        );
        info.json
    }

    pub(crate) async fn results(&self, job: &str, kind: &str) -> String {
        let reply = self.get(&format!("/jobs/ingest/{job}/{kind}/")).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        assert_eq!(reply.headers["content-type"], "text/csv");
        reply.text
    }
}

#[tokio::test]
async fn insert_job_processes_every_row_and_reports_per_record_results() {
    let org = TestOrg::start().await;
    let created = org
        .post(
            "/jobs/ingest",
            json!({"object": "Contact", "operation": "insert", "lineEnding": "LF"}),
        )
        .await;
    assert_eq!(created.json["state"], "Open");
    assert_eq!(created.json["apiVersion"], 60.0);
    let job = created.json["id"].as_str().unwrap();
    assert!(job.starts_with("750"));
    assert_eq!(
        created.json["contentUrl"],
        format!("services/data/v60.0/jobs/ingest/{job}/batches")
    );

    let (job, info) = org
        .ingest(
            json!({"object": "Contact", "operation": "insert"}),
            &[
                "LastName,Email,Description\nLee,lee@example.com,\"multi\nline, with \"\"quotes\"\"\"\nKim,not-an-email,\nPark,park@example.com,third row\n",
            ],
        )
        .await;
    assert_eq!(info["state"], "JobComplete", "{info}");
    assert_eq!(
        (
            info["numberRecordsProcessed"].as_u64(),
            info["numberRecordsFailed"].as_u64()
        ),
        (Some(3), Some(1))
    );
    assert_eq!(info["jobType"], "V2Ingest");

    let successful = org.results(&job, "successfulResults").await;
    let mut lines = successful.lines();
    assert_eq!(
        lines.next(),
        Some(r#""sf__Id","sf__Created","LastName","Email","Description""#)
    );
    let rows: Vec<csv::StringRecord> = csv::Reader::from_reader(successful.as_bytes())
        .records()
        .map(Result::unwrap)
        .collect();
    assert_eq!(rows.len(), 2);
    assert_eq!(&rows[0][2], "Lee");
    assert_eq!(&rows[0][4], "multi\nline, with \"quotes\"");
    let lee = org.get(&format!("/sobjects/Contact/{}", &rows[0][0])).await;
    assert_eq!(lee.json["Description"], "multi\nline, with \"quotes\"");

    let failed = org.results(&job, "failedResults").await;
    let failures: Vec<csv::StringRecord> = csv::Reader::from_reader(failed.as_bytes())
        .records()
        .map(Result::unwrap)
        .collect();
    assert_eq!(failures.len(), 1);
    assert_eq!(&failures[0][0], "");
    assert!(
        failures[0][1].starts_with("INVALID_EMAIL_ADDRESS:"),
        "{}",
        &failures[0][1]
    );
    assert_eq!(&failures[0][2], "Kim");
    let unprocessed = org.results(&job, "unprocessedrecords").await;
    assert_eq!(unprocessed.trim(), r#""LastName","Email","Description""#);
}

#[tokio::test]
async fn a_job_given_two_uploads_refuses_to_close_so_no_row_loads_twice() {
    let org = TestOrg::start().await;
    let created = org
        .post(
            "/jobs/ingest",
            json!({"object": "Account", "operation": "insert"}),
        )
        .await;
    let job = created.json["id"].as_str().unwrap().to_string();
    // A client that retried an upload whose first attempt had landed after all.
    for _ in 0..2 {
        assert_eq!(
            org.put_csv(&job, "Name\nTwice\n").await.status,
            StatusCode::CREATED
        );
    }
    let closed = org
        .patch(
            &format!("/jobs/ingest/{job}"),
            json!({"state": "UploadComplete"}),
        )
        .await;
    assert_eq!(
        (closed.status, closed.error_code()),
        (StatusCode::BAD_REQUEST, "INVALIDJOB")
    );
    assert!(
        closed.text.contains("only do 'PUT' once"),
        "{}",
        closed.text
    );
    let info = org.get(&format!("/jobs/ingest/{job}")).await;
    assert_eq!(info.json["state"], "Open");
    let aborted = org
        .patch(&format!("/jobs/ingest/{job}"), json!({"state": "Aborted"}))
        .await;
    assert_eq!(aborted.json["state"], "Aborted");
    let count = org
        .get("/query?q=SELECT+COUNT()+FROM+Account+WHERE+Name+=+'Twice'")
        .await;
    assert_eq!(count.json["totalSize"], 0);
}

#[tokio::test]
async fn update_upsert_and_delete_jobs_follow_csv_rules() {
    let org = TestOrg::start().await;
    let (_, info) = org
        .ingest(json!({"object": "Product2", "operation": "upsert", "externalIdFieldName": "ExternalId"}), &["ExternalId,Name,Family\nA-1,Alpha,Hardware\nA-2,Beta,Software\n"])
        .await;
    assert_eq!(info["numberRecordsProcessed"], 2);
    let (job, info) = org
        .ingest(json!({"object": "Product2", "operation": "upsert", "externalIdFieldName": "ExternalId"}), &["ExternalId,Name\na-1,Alpha 2\nA-3,Gamma\n"])
        .await;
    assert_eq!(
        (
            info["numberRecordsProcessed"].as_u64(),
            info["numberRecordsFailed"].as_u64()
        ),
        (Some(2), Some(0))
    );
    let results = org.results(&job, "successfulResults").await;
    let rows: Vec<csv::StringRecord> = csv::Reader::from_reader(results.as_bytes())
        .records()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        (&rows[0][1], &rows[1][1]),
        ("false", "true"),
        "a-1 matched A-1 without case, A-3 was created"
    );
    let alpha = org.get("/sobjects/Product2/ExternalId/A-1").await;
    assert_eq!(
        (alpha.json["Name"].as_str(), alpha.json["Family"].as_str()),
        (Some("Alpha 2"), Some("Hardware"))
    );
    let id = alpha.json["Id"].as_str().unwrap().to_string();

    // Update: an empty cell leaves the field, `#N/A` clears it.
    let (_, info) = org
        .ingest(
            json!({"object": "Product2", "operation": "update"}),
            &[&format!("Id,Name,Family\n{id},,#N/A\n")],
        )
        .await;
    assert_eq!(info["numberRecordsFailed"], 0, "{info}");
    let updated = org.get(&format!("/sobjects/Product2/{id}")).await;
    assert_eq!(
        (updated.json["Name"].as_str(), &updated.json["Family"]),
        (Some("Alpha 2"), &Value::Null)
    );

    let (job, info) = org
        .ingest(
            json!({"object": "Product2", "operation": "delete"}),
            &[&format!("Id\n{id}\n001RO0000009999YAA\n")],
        )
        .await;
    assert_eq!(
        (
            info["numberRecordsProcessed"].as_u64(),
            info["numberRecordsFailed"].as_u64()
        ),
        (Some(2), Some(1))
    );
    let failed = org.results(&job, "failedResults").await;
    assert!(failed.contains("NOT_FOUND"), "{failed}");
    assert_eq!(
        org.get(&format!("/sobjects/Product2/{id}"))
            .await
            .error_code(),
        "ENTITY_IS_DELETED"
    );
    let (_, info) = org
        .ingest(
            json!({"object": "Product2", "operation": "hardDelete"}),
            &[&format!("Id\n{id}\n")],
        )
        .await;
    assert_eq!(info["numberRecordsFailed"], 0, "{info}");
    assert_eq!(
        org.get(&format!("/sobjects/Product2/{id}"))
            .await
            .error_code(),
        "NOT_FOUND"
    );
}

#[tokio::test]
async fn bad_jobs_and_uploads_get_salesforce_errors() {
    let org = TestOrg::start().await;
    let (_, info) = org
        .ingest(
            json!({"object": "Account", "operation": "insert"}),
            &["Name,Bogus__c\nAcme,1\n"],
        )
        .await;
    assert_eq!(info["state"], "Failed");
    assert_eq!(
        info["errorMessage"],
        "InvalidBatch : Field name not found : Bogus__c"
    );
    for (spec, code) in [
        (
            json!({"object": "Nope__c", "operation": "insert"}),
            "INVALIDENTITY",
        ),
        (
            json!({"object": "Account", "operation": "merge"}),
            "INVALIDJOB",
        ),
        (
            json!({"object": "Account", "operation": "upsert"}),
            "INVALIDJOB",
        ),
        (
            json!({"object": "Account", "operation": "insert", "columnDelimiter": "SPACE"}),
            "INVALIDJOB",
        ),
    ] {
        let reply = org.post("/jobs/ingest", spec).await;
        assert_eq!(
            (reply.status, reply.error_code()),
            (StatusCode::BAD_REQUEST, code),
            "{}",
            reply.text
        );
    }
    let created = org
        .post(
            "/jobs/ingest",
            json!({"object": "Account", "operation": "insert"}),
        )
        .await;
    let job = created.json["id"].as_str().unwrap().to_string();
    let wrong_type = org
        .send(
            Method::PUT,
            &org.data(&format!("/jobs/ingest/{job}/batches")),
            Some(json!({})),
        )
        .await;
    assert_eq!(wrong_type.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let aborted = org
        .patch(&format!("/jobs/ingest/{job}"), json!({"state": "Aborted"}))
        .await;
    assert_eq!(aborted.json["state"], "Aborted");
    let late = org.put_csv(&job, "Name\nX\n").await;
    assert_eq!(
        (late.status, late.error_code()),
        (StatusCode::CONFLICT, "INVALIDJOBSTATE")
    );
    let listed = org.get("/jobs/ingest").await;
    assert_eq!(listed.json["done"], true);
    assert!(
        listed.json["records"]
            .as_array()
            .unwrap()
            .iter()
            .any(|j| j["id"] == job.as_str())
    );
    assert_eq!(
        org.delete(&format!("/jobs/ingest/{job}")).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        org.get(&format!("/jobs/ingest/{job}")).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn large_jobs_span_many_transactions_and_count_every_record() {
    let org = TestOrg::start().await;
    let mut csv = String::from("Name,NumberOfEmployees\n");
    for i in 0..5_000 {
        csv.push_str(&format!(
            "Account {i},{}\n",
            if i % 1000 == 999 {
                "lots".to_string()
            } else {
                i.to_string()
            }
        ));
    }
    let (_, info) = org
        .ingest(json!({"object": "Account", "operation": "insert"}), &[&csv])
        .await;
    assert_eq!(
        (
            info["numberRecordsProcessed"].as_u64(),
            info["numberRecordsFailed"].as_u64()
        ),
        (Some(5_000), Some(5))
    );
    let counts = org.get("/limits/recordCount?sObjects=Account").await;
    assert_eq!(counts.json["sObjects"][0]["count"], 4_995);
}

impl TestOrg {
    /// Creates an Account insert job of `csv`, uploads and closes it, and returns its id
    /// without waiting for it.
    async fn close_account_job(&self, csv: &str) -> String {
        let created = self
            .post(
                "/jobs/ingest",
                json!({"object": "Account", "operation": "insert"}),
            )
            .await;
        let job = created.json["id"].as_str().unwrap().to_string();
        assert_eq!(self.put_csv(&job, csv).await.status, StatusCode::CREATED);
        let closed = self
            .patch(
                &format!("/jobs/ingest/{job}"),
                json!({"state": "UploadComplete"}),
            )
            .await;
        assert_eq!(closed.json["state"], "UploadComplete", "{}", closed.text);
        job
    }

    /// Checks the job's state, records processed and records failed, once no job is being
    /// processed (a held job waits at its hold).
    async fn expect_job(&self, job: &str, state: &str, processed: u64, failed: u64) {
        self.control().bulk_jobs_settled().await;
        let info = self.get(&format!("/jobs/ingest/{job}")).await.json;
        assert_eq!(
            (
                info["state"].as_str(),
                info["numberRecordsProcessed"].as_u64(),
                info["numberRecordsFailed"].as_u64(),
            ),
            (Some(state), Some(processed), Some(failed)),
            "job {job}"
        );
    }

    /// Aborts the job through the API.
    async fn abort_job(&self, job: &str) {
        let aborted = self
            .patch(&format!("/jobs/ingest/{job}"), json!({"state": "Aborted"}))
            .await;
        assert_eq!(aborted.json["state"], "Aborted", "{}", aborted.text);
    }

    /// One column of the rows of one of the job's result CSVs.
    async fn result_column(&self, job: &str, kind: &str, column: usize) -> Vec<String> {
        let rows = self.result_rows(job, kind).await;
        rows.iter().map(|r| r[column].to_string()).collect()
    }

    /// The rows of one of the job's result CSVs (its header aside).
    async fn result_rows(&self, job: &str, kind: &str) -> Vec<csv::StringRecord> {
        let text = self.results(job, kind).await;
        csv::Reader::from_reader(text.as_bytes())
            .records()
            .map(Result::unwrap)
            .collect()
    }

    async fn accounts_named(&self, prefix: &str) -> u64 {
        let count = self
            .get(&format!(
                "/query?q=SELECT+COUNT()+FROM+Account+WHERE+Name+LIKE+'{prefix}%25'"
            ))
            .await;
        count.json["totalSize"].as_u64().unwrap()
    }
}

/// `n` Account rows named `{prefix} {i}`; every row whose index ends in 999 has an employee
/// count that is not a number, so it fails.
fn account_csv(prefix: &str, n: usize) -> String {
    let mut csv = String::from("Name,NumberOfEmployees\n");
    for i in 0..n {
        let employees = if i % 1000 == 999 {
            "lots".to_string()
        } else {
            i.to_string()
        };
        csv.push_str(&format!("{prefix} {i},{employees}\n"));
    }
    csv
}

#[tokio::test]
async fn a_held_ingest_job_stops_at_the_hold_row_and_finishes_once_released() {
    let org = TestOrg::start().await;
    let control = org.control();
    control.hold_bulk_ingest(0);
    let job = org.close_account_job(&account_csv("Held", 2_500)).await;
    // Held at 0: queued, nothing processed, however long the test looks.
    org.expect_job(&job, "UploadComplete", 0, 0).await;
    assert_eq!(org.accounts_named("Held").await, 0);

    // Held at 1,500: through the first transaction of 1,000 rows and half the second.
    control.hold_bulk_ingest(1_500);
    org.expect_job(&job, "InProgress", 1_500, 1).await;
    assert_eq!(org.accounts_named("Held").await, 1_499);
    assert_eq!(
        org.result_rows(&job, "successfulResults").await.len(),
        1_499
    );
    let failed = org.result_rows(&job, "failedResults").await;
    assert_eq!(failed.len(), 1);
    assert_eq!(&failed[0][2], "Held 999");
    // Another poll finds it where it was: it waits, it does not go on.
    org.expect_job(&job, "InProgress", 1_500, 1).await;

    control.release_bulk_ingest();
    org.expect_job(&job, "JobComplete", 2_500, 2).await;
    assert_eq!(org.accounts_named("Held").await, 2_498);
    assert!(org.result_rows(&job, "unprocessedrecords").await.is_empty());
    // Released, jobs run at once again.
    let next = org.close_account_job(&account_csv("Free", 10)).await;
    org.expect_job(&next, "JobComplete", 10, 0).await;
}

#[tokio::test]
async fn an_ingest_job_aborted_at_the_hold_keeps_what_it_processed_and_leaves_the_rest_unprocessed()
{
    let org = TestOrg::start().await;
    let control = org.control();
    control.hold_bulk_ingest(12);
    let job = org.close_account_job(&account_csv("Part", 30)).await;
    org.expect_job(&job, "InProgress", 12, 0).await;
    org.abort_job(&job).await;
    org.expect_job(&job, "Aborted", 12, 0).await;
    let part = |range: std::ops::Range<usize>| -> Vec<String> {
        range.map(|i| format!("Part {i}")).collect()
    };
    let successful = org.result_column(&job, "successfulResults", 2).await;
    assert_eq!(successful, part(0..12));
    let unprocessed = org.result_column(&job, "unprocessedrecords", 0).await;
    assert_eq!(unprocessed, part(12..30));
    assert_eq!(org.accounts_named("Part").await, 12);

    // Aborted while still queued: nothing is processed, every row is unprocessed.
    control.hold_bulk_ingest(0);
    let queued = org.close_account_job(&account_csv("Queued", 5)).await;
    org.expect_job(&queued, "UploadComplete", 0, 0).await;
    org.abort_job(&queued).await;
    org.expect_job(&queued, "Aborted", 0, 0).await;
    assert_eq!(
        org.result_rows(&queued, "unprocessedrecords").await.len(),
        5
    );

    // A release changes nothing for aborted jobs.
    control.release_bulk_ingest();
    org.expect_job(&job, "Aborted", 12, 0).await;
    assert_eq!(org.accounts_named("Part").await, 12);
    assert_eq!(org.accounts_named("Queued").await, 0);
}

#[tokio::test]
async fn shutting_the_org_down_or_dropping_it_ends_the_hold() {
    for drop_it in [false, true] {
        let org = TestOrg::start().await;
        let control = org.control();
        let accounts = |control: &forcebridge_emulator::Control| {
            control
                .record_counts()
                .into_iter()
                .find(|(name, _)| name == "Account")
                .unwrap()
                .1
        };
        let before = accounts(&control);
        control.hold_bulk_ingest(3);
        let job = org.close_account_job(&account_csv("Late", 10)).await;
        org.expect_job(&job, "InProgress", 3, 0).await;
        if drop_it {
            drop(org);
        } else {
            org.emulator.shutdown().await;
        }
        // The job went on to the end, so the runtime's shutdown does not wait for it forever.
        control.bulk_jobs_settled().await;
        assert_eq!(accounts(&control), before + 10, "dropped: {drop_it}");
    }
}

impl TestOrg {
    /// Creates a query job and waits for it to finish.
    async fn query_job(&self, operation: &str, soql: &str) -> (String, Value) {
        let created = self
            .post(
                "/jobs/query",
                json!({"operation": operation, "query": soql}),
            )
            .await;
        assert_eq!(created.status, StatusCode::OK, "{}", created.text);
        assert_eq!(created.json["state"], "UploadComplete");
        let job = created.json["id"].as_str().unwrap().to_string();
        self.control().bulk_jobs_settled().await;
        let info = self.get(&format!("/jobs/query/{job}")).await;
        let state = info.json["state"].as_str().unwrap_or("");
        assert!(
            ["JobComplete", "Failed", "Aborted"].contains(&state),
            "query job {job} is settled but {state}"
        );
        (job, info.json)
    }

    async fn job_results(&self, job: &str, params: &str) -> Reply {
        let reply = self
            .get(&format!("/jobs/query/{job}/results{params}"))
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        reply
    }
}

#[tokio::test]
async fn query_jobs_page_by_max_records_and_locator_until_the_literal_null() {
    let org = TestOrg::start().await;
    let account = org
        .create("Account", json!({"Name": "Quoted, \"Acme\""}))
        .await;
    for i in 0..5 {
        org.create("Contact", json!({"LastName": format!("C{i}"), "AccountId": account, "Birthdate": format!("1990-01-0{}", i + 1)})).await;
    }
    let (job, info) = org.query_job("query", "SELECT Id, LastName, Account.Name, Birthdate, CreatedDate FROM Contact ORDER BY LastName").await;
    assert_eq!(info["state"], "JobComplete", "{info}");
    assert_eq!(
        (
            info["object"].as_str(),
            info["numberRecordsProcessed"].as_u64()
        ),
        (Some("Contact"), Some(5))
    );
    assert_eq!(info["jobType"], "V2Query");

    let all = org.job_results(&job, "").await;
    assert_eq!(all.headers["content-type"], "text/csv");
    assert_eq!(all.headers["sforce-locator"], "null");
    assert_eq!(all.headers["sforce-numberofrecords"], "5");
    let mut lines = all.text.lines();
    assert_eq!(
        lines.next(),
        Some(r#""Id","LastName","Account.Name","Birthdate","CreatedDate""#)
    );
    let first = lines.next().unwrap();
    assert!(
        first.contains(r#","C0","Quoted, ""Acme""","1990-01-01","#),
        "{first}"
    );
    assert!(first.ends_with("Z\""), "datetimes end in Z in CSV: {first}");

    // Pages of two rows: the locator chains to the literal `null`.
    let mut locator = String::new();
    let mut seen = Vec::new();
    loop {
        let params = if locator.is_empty() {
            "?maxRecords=2".to_string()
        } else {
            format!("?maxRecords=2&locator={locator}")
        };
        let page = org.job_results(&job, &params).await;
        let rows: Vec<csv::StringRecord> = csv::Reader::from_reader(page.text.as_bytes())
            .records()
            .map(Result::unwrap)
            .collect();
        assert_eq!(
            page.headers["sforce-numberofrecords"],
            rows.len().to_string().as_str()
        );
        seen.extend(rows.iter().map(|r| r[1].to_string()));
        locator = page.headers["sforce-locator"].to_str().unwrap().to_string();
        if locator == "null" {
            break;
        }
        assert_eq!(
            locator,
            base64_of(seen.len()),
            "the locator is base64 of the offset"
        );
    }
    assert_eq!(seen, ["C0", "C1", "C2", "C3", "C4"]);

    // The job keeps its snapshot: records created later are not in it.
    org.create("Contact", json!({"LastName": "Late"})).await;
    assert_eq!(
        org.job_results(&job, "").await.headers["sforce-numberofrecords"],
        "5"
    );
    let bad = org
        .get(&format!("/jobs/query/{job}/results?locator=bogus!"))
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
}

fn base64_of(offset: usize) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD_NO_PAD.encode(offset.to_string())
}

#[tokio::test]
async fn query_jobs_refuse_what_bulk_cannot_do_and_report_failures() {
    let org = TestOrg::start().await;
    for soql in [
        "SELECT COUNT() FROM Account",
        "SELECT Industry, COUNT(Id) FROM Account GROUP BY Industry",
        "SELECT Id, (SELECT Id FROM Contacts) FROM Account",
        "SELECT Id, BillingAddress FROM Account",
        "SELECT Id FROM Account LIMIT 5 OFFSET 2",
    ] {
        let reply = org
            .post("/jobs/query", json!({"operation": "query", "query": soql}))
            .await;
        assert_eq!(
            (reply.status, reply.error_code()),
            (StatusCode::BAD_REQUEST, "API_ERROR"),
            "{soql}: {}",
            reply.text
        );
    }
    let malformed = org
        .post(
            "/jobs/query",
            json!({"operation": "query", "query": "SELECT Id FROMM Account"}),
        )
        .await;
    assert_eq!(malformed.error_code(), "MALFORMED_QUERY");
    let bad_op = org
        .post(
            "/jobs/query",
            json!({"operation": "select", "query": "SELECT Id FROM Account"}),
        )
        .await;
    assert_eq!(bad_op.error_code(), "INVALIDJOB");

    let doomed = org.create("Account", json!({"Name": "Doomed"})).await;
    org.delete(&format!("/sobjects/Account/{doomed}")).await;
    let (_, live) = org.query_job("query", "SELECT Id FROM Account").await;
    assert_eq!(live["numberRecordsProcessed"], 0);
    let (all_job, all) = org
        .query_job("queryAll", "SELECT Id, IsDeleted FROM Account")
        .await;
    assert_eq!(
        (
            all["operation"].as_str(),
            all["numberRecordsProcessed"].as_u64()
        ),
        (Some("queryAll"), Some(1))
    );
    assert!(
        org.job_results(&all_job, "")
            .await
            .text
            .contains("\"true\"")
    );

    let listed = org.get("/jobs/query").await;
    assert!(
        listed.json["records"]
            .as_array()
            .unwrap()
            .iter()
            .any(|j| j["id"] == all_job.as_str())
    );
    let aborted_job = org
        .post(
            "/jobs/query",
            json!({"operation": "query", "query": "SELECT Id FROM Account"}),
        )
        .await;
    let aborted_id = aborted_job.json["id"].as_str().unwrap().to_string();
    let aborted = org
        .patch(
            &format!("/jobs/query/{aborted_id}"),
            json!({"state": "Aborted"}),
        )
        .await;
    if aborted.status == StatusCode::OK {
        let results = org.get(&format!("/jobs/query/{aborted_id}/results")).await;
        assert_eq!(
            (results.status, results.error_code()),
            (StatusCode::PRECONDITION_FAILED, "JOB_NOT_COMPLETE")
        );
        assert!(
            results.json[0]["message"]
                .as_str()
                .unwrap()
                .ends_with("Current status: ABORTED")
        );
    } else {
        // The job finished before the abort arrived; a finished job cannot be aborted.
        assert_eq!(aborted.error_code(), "INVALIDJOBSTATE");
    }
    assert_eq!(
        org.delete(&format!("/jobs/query/{all_job}")).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        org.get(&format!("/jobs/query/{all_job}")).await.status,
        StatusCode::NOT_FOUND
    );
}
