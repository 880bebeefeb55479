//! One test per body shape of the protocol reference (`salesforce-api.md` in the team's notes):
//! query pages, errors, OAuth, Bulk 2.0 job info and lists, composite, write results.

use forcebridge_wire::bulk::{JobInfo, JobList, JobState};
use forcebridge_wire::composite::CompositeResponse;
use forcebridge_wire::error::ApiError;
use forcebridge_wire::oauth::{OAuthError, TokenResponse};
use forcebridge_wire::query::{QueryColumns, QueryResult};
use forcebridge_wire::records::{SaveResult, UpsertResult};
use serde_json::{Value, json};

use crate::{check, members};

#[test]
fn a_query_page_with_a_parent_and_children() {
    let body = r#"{
      "totalSize": 3222,
      "done": false,
      "nextRecordsUrl": "/services/data/v68.0/query/01gRO0000016PIAYA2-2000",
      "records": [
        {
          "attributes": {"type": "Contact", "url": "/services/data/v68.0/sobjects/Contact/003RO0000035WQgYAM"},
          "Id": "003RO0000035WQgYAM",
          "Name": "John Smith",
          "Account": {
            "attributes": {"type": "Account", "url": "/services/data/v68.0/sobjects/Account/001RO000001aAbCYAU"},
            "Name": "Acme"
          },
          "Cases": {"totalSize": 1, "done": true, "records": [
            {"attributes": {"type": "Case", "url": "/services/data/v68.0/sobjects/Case/500RO000000aAaaYAE"}, "Subject": "Help"}
          ]}
        }
      ]
    }"#;
    let (page, written) = check::<QueryResult<Value>>(body);
    assert_eq!(page.total_size, 3222);
    assert!(!page.done);
    assert_eq!(
        page.next_records_url.as_deref(),
        Some("/services/data/v68.0/query/01gRO0000016PIAYA2-2000")
    );
    assert_eq!(page.records[0]["Account"]["Name"], "Acme");
    assert_eq!(
        members(&written),
        ["done", "nextRecordsUrl", "records", "totalSize"]
    );
    // The last page has no `nextRecordsUrl` at all (absent, not null).
    let last = QueryResult::<Value> {
        next_records_url: None,
        done: true,
        ..page
    };
    assert_eq!(
        members(&serde_json::to_value(&last).unwrap()),
        ["done", "records", "totalSize"]
    );
}

#[test]
fn count_only_queries_have_no_records() {
    let (page, _) =
        check::<QueryResult<Value>>(r#"{"totalSize": 42, "done": true, "records": []}"#);
    assert_eq!(page.total_size, 42);
    assert!(page.records.is_empty());
}

#[test]
fn rest_errors_are_an_array_and_fields_appear_only_when_named() {
    let body = r#"[{"message":"Required fields are missing: [LastName]","errorCode":"REQUIRED_FIELD_MISSING","fields":["LastName"]},
                   {"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]"#;
    let (errors, written) = check::<Vec<ApiError>>(body);
    assert_eq!(errors[0].error_code, "REQUIRED_FIELD_MISSING");
    assert_eq!(
        errors[0].fields.as_deref(),
        Some(&["LastName".to_string()][..])
    );
    assert_eq!(errors[1].fields, None);
    assert_eq!(members(&written[0]), ["errorCode", "fields", "message"]);
    assert_eq!(members(&written[1]), ["errorCode", "message"]);
}

#[test]
fn token_responses_and_oauth_errors() {
    let body = r#"{"access_token":"00DRO0000000001!AQ","refresh_token":"5Aep861","signature":"c2ln",
        "scope":"api refresh_token","instance_url":"https://acme.my.salesforce.com",
        "id":"https://login.salesforce.com/id/00DRO0000000001EAA/005RO0000000001AAA",
        "token_type":"Bearer","issued_at":"1700000000000"}"#;
    let (token, written) = check::<TokenResponse>(body);
    assert_eq!(token.instance_url, "https://acme.my.salesforce.com");
    assert_eq!(token.issued_at.as_deref(), Some("1700000000000"));
    assert_eq!(
        members(&written),
        [
            "access_token",
            "id",
            "instance_url",
            "issued_at",
            "refresh_token",
            "scope",
            "signature",
            "token_type"
        ]
    );
    // Neither token may show in Debug output.
    let debug = format!("{token:?}");
    assert!(
        !debug.contains("00DRO0000000001!AQ") && !debug.contains("5Aep861"),
        "{debug}"
    );

    let (error, _) = check::<OAuthError>(
        r#"{"error":"invalid_grant","error_description":"authentication failure"}"#,
    );
    assert_eq!(error.error, "invalid_grant");
}

#[test]
fn bulk_job_info_as_created_and_as_listed() {
    // The create answer captured in the reference: `contentUrl` without a leading slash and
    // `apiVersion` as a number.
    let body = r#"{"id":"7505fEXAMPLE4C2AAM","operation":"insert","object":"Account","createdById":"0055fEXAMPLEtG4AAM",
        "createdDate":"2022-01-02T21:33:43.000+0000","systemModstamp":"2022-01-02T21:33:43.000+0000",
        "state":"Open","concurrencyMode":"Parallel","contentType":"CSV","apiVersion":58.0,
        "contentUrl":"services/data/v58.0/jobs/ingest/7505fEXAMPLE4C2AAM/batches",
        "lineEnding":"LF","columnDelimiter":"COMMA"}"#;
    let (job, written) = check::<JobInfo>(body);
    assert_eq!(job.job_state(), Some(JobState::Open));
    assert_eq!(job.api_version, 58.0);
    assert_eq!(written["apiVersion"], json!(58.0));
    assert_eq!(
        written["contentUrl"],
        "services/data/v58.0/jobs/ingest/7505fEXAMPLE4C2AAM/batches"
    );
    // Counters Salesforce has not sent yet are not written as nulls.
    assert!(written.get("numberRecordsProcessed").is_none());

    let list = format!(r#"{{"done":true,"records":[{body}],"nextRecordsUrl":null}}"#);
    let (jobs, _) = check::<JobList>(&list);
    assert!(jobs.done);
    assert_eq!(jobs.records[0].id, "7505fEXAMPLE4C2AAM");
    // An unknown state is not guessed at.
    let odd = body.replace("\"Open\"", "\"Paused\"");
    assert_eq!(check::<JobInfo>(&odd).0.job_state(), None);
}

#[test]
fn composite_answers_keep_each_subrequest() {
    let body = r#"{"compositeResponse":[
        {"body":{"id":"001RO0000000001AAA","success":true,"errors":[]},"httpHeaders":{"Location":"/services/data/v60.0/sobjects/Account/001RO0000000001AAA"},"httpStatusCode":201,"referenceId":"newAccount"},
        {"body":[{"errorCode":"PROCESSING_HALTED","message":"The transaction was rolled back since another operation in the same transaction failed."}],"httpHeaders":{},"httpStatusCode":400,"referenceId":"newContact"}
    ]}"#;
    let (response, _) = check::<CompositeResponse>(body);
    let [first, second] = &response.composite_response[..] else {
        panic!("two subresponses")
    };
    assert_eq!(first.http_status_code, 201);
    assert_eq!(first.reference_id, "newAccount");
    assert_eq!(second.body[0]["errorCode"], "PROCESSING_HALTED");
}

#[test]
fn write_results_and_upserts_say_what_happened() {
    let (created, _) =
        check::<SaveResult>(r#"{"id":"001RO0000000001AAA","success":true,"errors":[]}"#);
    assert!(created.success);
    // Inside a collection a failed record has no id.
    let (failed, written) = check::<SaveResult>(
        r#"{"success":false,"errors":[{"statusCode":"REQUIRED_FIELD_MISSING","message":"Required fields are missing: [Name]","fields":["Name"]}]}"#,
    );
    assert!(!failed.success && failed.id.is_none());
    assert!(written.get("id").is_none());
    let (upsert, _) = check::<UpsertResult>(
        r#"{"id":"001RO0000000001AAA","success":true,"errors":[],"created":false}"#,
    );
    assert!(!upsert.created);
}

#[test]
fn column_metadata_of_a_query() {
    let body = r#"{"columnMetadata":[
        {"aggregate":false,"apexType":"Id","booleanType":false,"columnName":"Id","custom":false,"displayName":"Id","foreignKeyName":null,"insertable":false,"joinColumns":[],"numberType":false,"textType":false,"updatable":false},
        {"aggregate":false,"apexType":null,"booleanType":false,"columnName":"Account","custom":false,"displayName":"Account","foreignKeyName":null,"insertable":false,"joinColumns":[
            {"aggregate":false,"apexType":"String","booleanType":false,"columnName":"Name","custom":false,"displayName":"Name","foreignKeyName":null,"insertable":true,"joinColumns":[],"numberType":false,"textType":true,"updatable":true}
        ],"numberType":false,"textType":false,"updatable":false}
      ],"entityName":"Contact","groupBy":false,"idSelected":true,"keyPrefix":"003"}"#;
    let (columns, _) = check::<QueryColumns>(body);
    assert_eq!(columns.entity_name, "Contact");
    assert_eq!(
        columns.column_metadata[1].join_columns[0].column_name,
        "Name"
    );
}
