//! The composite family: `/composite` (references, one transaction, allOrNone), `/composite/batch`
//! (independent sub-requests, haltOnError), `/composite/tree` (nested records, all or nothing)
//! and sObject Collections (create, update, upsert, delete, retrieve).

use reqwest::{Method, StatusCode, header};
use serde_json::{Value, json};

use crate::support::{Reply, TestOrg};

const ROLLED_BACK: &str =
    "The transaction was rolled back since another operation in the same transaction failed.";
const ALL_OR_NONE_MESSAGE: &str = "Record rolled back because not all records were valid and the request was using AllOrNone header";

/// The `compositeResponse` entries of a composite reply.
fn subresponses(reply: &Reply) -> &Vec<Value> {
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    reply.json["compositeResponse"].as_array().unwrap()
}

/// Live record counts of these objects, from `/limits/recordCount`.
async fn counts(org: &TestOrg, objects: &str) -> Vec<(String, u64)> {
    let reply = org
        .get(&format!("/limits/recordCount?sObjects={objects}"))
        .await;
    reply.json["sObjects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o["name"].as_str().unwrap().to_string(),
                o["count"].as_u64().unwrap(),
            )
        })
        .collect()
}

/// Sends `body` as raw text with `content_type`.
async fn send_raw(
    org: &TestOrg,
    method: Method,
    path: &str,
    content_type: &str,
    body: &str,
) -> Reply {
    let response = org
        .client
        .request(method, org.data(path))
        .bearer_auth(&org.token)
        .header(header::CONTENT_TYPE, content_type)
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    Reply::from(response).await
}

fn usage(reply: &Reply) -> String {
    reply.headers["sforce-limit-info"]
        .to_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn the_directory_lists_composite_resources_by_version() {
    let org = TestOrg::start().await;
    let reply = org.get("/composite").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(
        reply.json,
        json!({
            "batch": "/services/data/v60.0/composite/batch",
            "graph": "/services/data/v60.0/composite/graph",
            "sobjects": "/services/data/v60.0/composite/sobjects",
            "tree": "/services/data/v60.0/composite/tree"
        })
    );
    let older = org
        .send(
            Method::GET,
            &org.url("/services/data/v41.0/composite"),
            None,
        )
        .await;
    assert_eq!(
        older.json,
        json!({
            "batch": "/services/data/v41.0/composite/batch",
            "tree": "/services/data/v41.0/composite/tree"
        })
    );
    let too_old = org
        .send(
            Method::GET,
            &org.url("/services/data/v33.0/composite"),
            None,
        )
        .await;
    assert_eq!(
        (too_old.status, too_old.error_code()),
        (StatusCode::NOT_FOUND, "NOT_FOUND")
    );
}

#[tokio::test]
async fn references_carry_ids_from_create_to_child_to_reads_in_one_transaction() {
    let org = TestOrg::start().await;
    let before = org.get("/limits").await;
    let used_before: u64 = usage(&before)
        .trim_start_matches("api-usage=")
        .split('/')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let reply = org
        .post(
            "/composite",
            json!({"allOrNone": true, "compositeRequest": [
                {"method": "POST", "url": "/services/data/v60.0/sobjects/Account",
                 "referenceId": "refAccount", "body": {"Name": "Composite Corp"}},
                {"method": "POST", "url": "/services/data/v60.0/sobjects/Contact",
                 "referenceId": "refContact",
                 "body": {"LastName": "Smith", "AccountId": "@{refAccount.id}",
                          "Description": "works at @{refAccount.id}"}},
                {"method": "GET",
                 "url": "/services/data/v60.0/sobjects/Contact/@{refContact.id}?fields=LastName,AccountId,Description",
                 "referenceId": "getContact"},
                {"method": "PATCH", "url": "/services/data/v60.0/sobjects/Account/@{getContact.AccountId}",
                 "referenceId": "renameAccount", "body": {"Name": "Renamed Corp"}},
                {"method": "GET", "url": "/services/data/v60.0/sobjects/Account/@{refAccount.id}",
                 "referenceId": "getAccount"}
            ]}),
        )
        .await;
    assert_eq!(
        usage(&reply),
        format!("api-usage={}/100000", used_before + 1),
        "a composite request is one API call"
    );
    let subs = subresponses(&reply);
    assert_eq!(subs.len(), 5);
    let account_id = subs[0]["body"]["id"].as_str().unwrap().to_string();
    let contact_id = subs[1]["body"]["id"].as_str().unwrap().to_string();
    assert_eq!(
        subs[0],
        json!({
            "body": {"id": account_id, "success": true, "errors": []},
            "httpHeaders": {"Location": format!("/services/data/v60.0/sobjects/Account/{account_id}")},
            "httpStatusCode": 201,
            "referenceId": "refAccount"
        })
    );
    assert_eq!(subs[1]["httpStatusCode"], 201);
    // The GET sees the contact created two sub-requests earlier, before anything is committed.
    assert_eq!(subs[2]["httpStatusCode"], 200);
    assert_eq!(
        subs[2]["body"],
        json!({
            "attributes": {"type": "Contact", "url": format!("/services/data/v60.0/sobjects/Contact/{contact_id}")},
            "LastName": "Smith",
            "AccountId": account_id,
            "Description": format!("works at {account_id}"),
            "Id": contact_id
        })
    );
    assert!(subs[2]["httpHeaders"]["Last-Modified"].is_string());
    assert_eq!(
        (subs[3]["httpStatusCode"].clone(), subs[3]["body"].clone()),
        (json!(204), Value::Null)
    );
    assert_eq!(subs[4]["body"]["Name"], "Renamed Corp");

    // Everything was committed together.
    let account = org.get(&format!("/sobjects/Account/{account_id}")).await;
    assert_eq!(account.json["Name"], "Renamed Corp");
    let contact = org.get(&format!("/sobjects/Contact/{contact_id}")).await;
    assert_eq!(contact.json["AccountId"], account_id.as_str());
}

#[tokio::test]
async fn query_subrequests_run_against_the_open_transaction() {
    let org = TestOrg::start().await;
    let soql = "SELECT Id, Name FROM Account WHERE Name = 'Queried Co'";
    let reply = org
        .post(
            "/composite",
            json!({"allOrNone": false, "compositeRequest": [
                {"method": "POST", "url": "/services/data/v60.0/sobjects/Account",
                 "referenceId": "created", "body": {"Name": "Queried Co"}},
                {"method": "GET",
                 "url": "/services/data/v60.0/query?q=SELECT+Id,+Name+FROM+Account+WHERE+Name+=+'Queried+Co'",
                 "referenceId": "q1"},
                {"method": "GET", "url": "/services/data/v60.0/sobjects/Account/@{q1.records[0].Id}?fields=Name",
                 "referenceId": "fromQuery"}
            ]}),
        )
        .await;
    let subs = subresponses(&reply);
    let created = subs[0]["body"]["id"].as_str().unwrap().to_string();
    // The same query over the committed org must answer what the sub-request answered inside
    // the transaction, which is only possible if the sub-request saw the uncommitted account.
    let direct = org
        .get(&format!(
            "/query?q={}",
            form_urlencoded::byte_serialize(soql.as_bytes()).collect::<String>()
        ))
        .await;
    let direct = if direct.status == StatusCode::OK {
        Ok(direct.json)
    } else {
        Err(direct)
    };
    match direct {
        Ok(page) => {
            assert_eq!(subs[1]["httpStatusCode"], 200);
            assert_eq!(subs[1]["body"], page);
            assert_eq!(subs[1]["body"]["records"][0]["Id"], created.as_str());
            assert_eq!(subs[2]["httpStatusCode"], 200);
            assert_eq!(subs[2]["body"]["Name"], "Queried Co");
        }
        Err(failure) => {
            assert_eq!(subs[1]["httpStatusCode"], failure.status.as_u16());
            assert_eq!(subs[1]["body"], failure.json);
            // The failed query halts what depends on it, and only that.
            assert_eq!(
                subs[2],
                json!({
                    "body": [{"message": "Invalid reference specified. No value for q1.records[0].Id found in q1",
                              "errorCode": "PROCESSING_HALTED"}],
                    "httpHeaders": {},
                    "httpStatusCode": 400,
                    "referenceId": "fromQuery"
                })
            );
            let account = org.get(&format!("/sobjects/Account/{created}")).await;
            assert_eq!(account.status, StatusCode::OK);
        }
    }
}

#[tokio::test]
async fn all_or_none_failure_rolls_everything_back_and_halts_the_rest() {
    let org = TestOrg::start().await;
    let reply = org
        .post(
            "/composite",
            json!({"allOrNone": true, "compositeRequest": [
                {"method": "POST", "url": "/services/data/v60.0/sobjects/Account",
                 "referenceId": "refAccount", "body": {"Name": "Doomed"}},
                {"method": "POST", "url": "/services/data/v60.0/sobjects/Contact",
                 "referenceId": "refContact",
                 "body": {"LastName": "Smith", "AccountId": "@{refAccount.id}", "Email": "not an email"}},
                {"method": "GET", "url": "/services/data/v60.0/sobjects/Account/@{refAccount.id}",
                 "referenceId": "getAccount"}
            ]}),
        )
        .await;
    let subs = subresponses(&reply);
    let halted = |reference_id: &str| {
        json!({
            "body": [{"message": ROLLED_BACK, "errorCode": "PROCESSING_HALTED"}],
            "httpHeaders": {},
            "httpStatusCode": 400,
            "referenceId": reference_id
        })
    };
    assert_eq!(subs[0], halted("refAccount"));
    assert_eq!(
        subs[1],
        json!({
            "body": [{"message": "Email: invalid email address: not an email",
                      "errorCode": "INVALID_EMAIL_ADDRESS", "fields": ["Email"]}],
            "httpHeaders": {},
            "httpStatusCode": 400,
            "referenceId": "refContact"
        })
    );
    assert_eq!(subs[2], halted("getAccount"));
    assert_eq!(
        counts(&org, "Account,Contact").await,
        vec![("Account".to_string(), 0), ("Contact".to_string(), 0)]
    );
    // The account's slot was never committed: the next account gets the org's first id.
    let next = org.create("Account", json!({"Name": "Next"})).await;
    assert_eq!(next, "001RO0000000001YAA");
}

#[tokio::test]
async fn without_all_or_none_failures_stay_local_and_halt_their_dependents() {
    let org = TestOrg::start().await;
    let reply = org
        .post(
            "/composite",
            json!({"allOrNone": false, "compositeRequest": [
                {"method": "POST", "url": "/services/data/v60.0/sobjects/Account",
                 "referenceId": "account", "body": {"Name": "Kept"}},
                {"method": "POST", "url": "/services/data/v60.0/sobjects/Contact",
                 "referenceId": "badContact",
                 "body": {"AccountId": "@{account.id}"}},
                {"method": "GET", "url": "/services/data/v60.0/sobjects/Contact/@{badContact.id}",
                 "referenceId": "readBad"},
                {"method": "POST", "url": "/services/data/v60.0/sobjects/Contact",
                 "referenceId": "goodContact",
                 "body": {"LastName": "Jones", "AccountId": "@{account.id}"}},
                {"method": "GET", "url": "/services/data/v60.0/sobjects/Account/@{nowhere.id}",
                 "referenceId": "unknownReference"},
                {"method": "GET", "url": "/services/data/v60.0/sobjects/Account/@{later.id}",
                 "referenceId": "forwardReference"},
                {"method": "GET", "url": "/services/data/v60.0/limits", "referenceId": "later"}
            ]}),
        )
        .await;
    let subs = subresponses(&reply);
    let statuses: Vec<u64> = subs
        .iter()
        .map(|s| s["httpStatusCode"].as_u64().unwrap())
        .collect();
    assert_eq!(statuses, vec![201, 400, 400, 201, 400, 400, 200]);
    assert_eq!(
        subs[1]["body"],
        json!([{"message": "Required fields are missing: [LastName]",
                "errorCode": "REQUIRED_FIELD_MISSING", "fields": ["LastName"]}])
    );
    assert_eq!(
        subs[2]["body"],
        json!([{"message": "Invalid reference specified. No value for badContact.id found in badContact",
                "errorCode": "PROCESSING_HALTED"}])
    );
    assert_eq!(subs[4]["body"][0]["errorCode"], "PROCESSING_HALTED");
    assert_eq!(subs[5]["body"][0]["errorCode"], "PROCESSING_HALTED");
    assert_eq!(subs[6]["body"]["DailyApiRequests"]["Max"], 100_000);
    let account_id = subs[0]["body"]["id"].as_str().unwrap();
    assert_eq!(
        org.get(&format!("/sobjects/Account/{account_id}"))
            .await
            .status,
        StatusCode::OK
    );
    let good_id = subs[3]["body"]["id"].as_str().unwrap();
    let good = org.get(&format!("/sobjects/Contact/{good_id}")).await;
    assert_eq!(good.json["AccountId"], account_id);
    assert_eq!(
        counts(&org, "Contact").await,
        vec![("Contact".to_string(), 1)]
    );
}

#[tokio::test]
async fn composite_serves_upserts_collections_describe_and_refuses_the_rest() {
    let org = TestOrg::start().await;
    let reply = org
        .post(
            "/composite",
            json!({"compositeRequest": [
                {"method": "PATCH", "url": "/services/data/v60.0/sobjects/Product2/ExternalId/SKU-1",
                 "referenceId": "upsertNew", "body": {"Name": "Widget"}},
                {"method": "PATCH", "url": "/services/data/v60.0/sobjects/Product2/ExternalId/SKU-1",
                 "referenceId": "upsertAgain", "body": {"Name": "Widget 2"}},
                {"method": "GET", "url": "/services/data/v60.0/sobjects/Product2/ExternalId/SKU-1?fields=Name",
                 "referenceId": "byExternalId"},
                {"method": "POST", "url": "/services/data/v60.0/composite/sobjects",
                 "referenceId": "collection", "body": {"allOrNone": false, "records": [
                    {"attributes": {"type": "Account"}, "Name": "From collection"},
                    {"attributes": {"type": "Contact"}, "FirstName": "No last name"}
                 ]}},
                {"method": "GET",
                 "url": "/services/data/v60.0/composite/sobjects/Account?ids=@{collection[0].id}&fields=Name",
                 "referenceId": "retrieve"},
                {"method": "GET", "url": "/services/data/v60.0/sobjects/Account/describe",
                 "referenceId": "describe"},
                {"method": "GET", "url": "/services/data/v60.0/search?q=FIND+%7Bx%7D",
                 "referenceId": "search"},
                {"method": "PUT", "url": "/services/data/v60.0/sobjects/Account/@{collection[0].id}",
                 "referenceId": "put", "body": {"Name": "x"}},
                {"method": "GET", "url": "/services/data/v60.0/nothing/here",
                 "referenceId": "missing"},
                {"method": "DELETE", "url": "/services/data/v60.0/sobjects/Product2/@{upsertNew.id}",
                 "referenceId": "deleteProduct"}
            ]}),
        )
        .await;
    let subs = subresponses(&reply);
    let product_id = subs[0]["body"]["id"].as_str().unwrap();
    assert_eq!(subs[0]["httpStatusCode"], 201);
    assert_eq!(
        subs[0]["body"],
        json!({"id": product_id, "success": true, "errors": [], "created": true})
    );
    assert_eq!(
        subs[0]["httpHeaders"]["Location"],
        format!("/services/data/v60.0/sobjects/Product2/{product_id}")
    );
    assert_eq!(subs[1]["httpStatusCode"], 200);
    assert_eq!(subs[1]["body"]["created"], false);
    assert_eq!(subs[2]["body"]["Name"], "Widget 2");
    assert_eq!(subs[3]["httpStatusCode"], 200);
    let collection = subs[3]["body"].as_array().unwrap();
    assert_eq!(collection[0]["success"], true);
    assert_eq!(
        collection[1],
        json!({"success": false, "errors": [{"statusCode": "REQUIRED_FIELD_MISSING",
               "message": "Required fields are missing: [LastName]", "fields": ["LastName"]}]})
    );
    assert_eq!(subs[4]["body"][0]["Name"], "From collection");
    assert_eq!(subs[5]["body"]["name"], "Account");
    assert_eq!(
        (
            subs[6]["httpStatusCode"].clone(),
            subs[6]["body"][0]["errorCode"].clone()
        ),
        (json!(400), json!("INVALID_OPERATION"))
    );
    assert_eq!(subs[7]["httpStatusCode"], 405);
    assert_eq!(subs[7]["body"][0]["errorCode"], "METHOD_NOT_ALLOWED");
    assert_eq!(subs[8]["httpStatusCode"], 404);
    assert_eq!(subs[9]["httpStatusCode"], 204);
    assert_eq!(
        counts(&org, "Account,Contact,Product2").await,
        vec![
            ("Account".to_string(), 1),
            ("Contact".to_string(), 0),
            ("Product2".to_string(), 0)
        ]
    );
}

#[tokio::test]
async fn describe_subrequests_honour_if_modified_since() {
    let org = TestOrg::start().await;
    let describe = |id: &str, object: &str, since: Option<&str>| {
        let mut sub = json!({"method": "GET", "referenceId": id,
                             "url": format!("/services/data/v60.0/sobjects/{object}/describe")});
        if let Some(since) = since {
            sub["httpHeaders"] = json!({"If-Modified-Since": since});
        }
        sub
    };
    let later = "Tue, 01 Jan 2999 00:00:00 GMT";
    let earlier = "Mon, 01 Jan 2001 00:00:00 GMT";
    let reply = org
        .post(
            "/composite",
            json!({"compositeRequest": [
                describe("current", "Account", Some(later)),
                describe("stale", "Contact", Some(earlier)),
                describe("plain", "Lead", None),
                describe("unknown", "Nope__c", Some(later)),
                {"method": "GET", "url": "/services/data/v60.0/sobjects", "referenceId": "global",
                 "httpHeaders": {"if-modified-since": later}},
            ]}),
        )
        .await;
    let subs = subresponses(&reply);
    let statuses: Vec<&Value> = subs.iter().map(|s| &s["httpStatusCode"]).collect();
    assert_eq!(
        statuses,
        [
            &json!(304),
            &json!(200),
            &json!(200),
            &json!(404),
            &json!(304)
        ]
    );
    assert_eq!(subs[0]["body"], Value::Null);
    assert_eq!(subs[1]["body"]["name"], "Contact");
    assert_eq!(subs[2]["body"]["name"], "Lead");
}

#[tokio::test]
async fn an_all_or_none_composite_overrides_its_collections_flag() {
    let org = TestOrg::start().await;
    let reply = org
        .post(
            "/composite",
            json!({"allOrNone": true, "compositeRequest": [
                {"method": "POST", "url": "/services/data/v60.0/composite/sobjects",
                 "referenceId": "accounts", "body": {"allOrNone": false, "records": [
                    {"attributes": {"type": "Account"}, "Name": "Fine"},
                    {"attributes": {"type": "Account"}}
                 ]}},
                {"method": "POST", "url": "/services/data/v60.0/sobjects/Contact",
                 "referenceId": "contact", "body": {"LastName": "Smith"}}
            ]}),
        )
        .await;
    let subs = subresponses(&reply);
    assert_eq!(subs[0]["httpStatusCode"], 200);
    assert_eq!(
        subs[0]["body"][0]["errors"][0]["statusCode"],
        "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    );
    assert_eq!(
        subs[0]["body"][1]["errors"][0]["statusCode"],
        "REQUIRED_FIELD_MISSING"
    );
    assert_eq!(subs[1]["body"][0]["message"], ROLLED_BACK);
    assert_eq!(
        counts(&org, "Account,Contact").await,
        vec![("Account".to_string(), 0), ("Contact".to_string(), 0)]
    );
}

#[tokio::test]
async fn malformed_composite_requests_are_refused_whole() {
    let org = TestOrg::start().await;
    let create = |reference_id: &str| {
        json!({"method": "POST", "url": "/services/data/v60.0/sobjects/Account",
               "referenceId": reference_id, "body": {"Name": "Never"}})
    };
    let cases = [
        (
            json!({"compositeRequest": (0..26).map(|i| create(&format!("r{i}"))).collect::<Vec<_>>()}),
            "LIMIT_EXCEEDED",
        ),
        (
            json!({"compositeRequest": [create("a"), {"method": "get", "url": "/services/data/v60.0/limits", "referenceId": "b"}]}),
            "JSON_PARSER_ERROR",
        ),
        (
            json!({"compositeRequest": [create("a"), create("a")]}),
            "JSON_PARSER_ERROR",
        ),
        (
            json!({"compositeRequest": [create("1bad")]}),
            "JSON_PARSER_ERROR",
        ),
        (
            json!({"compositeRequest": [create("a"), {"method": "GET", "url": "/services/data/v60.0/limits",
                   "referenceId": "b", "httpHeaders": {"Content-Type": "text/csv"}}]}),
            "JSON_PARSER_ERROR",
        ),
        (
            json!({"compositeRequest": [create("a"), {"method": "GET", "url": "/services/data/v61.0/limits", "referenceId": "b"}]}),
            "JSON_PARSER_ERROR",
        ),
        (
            json!({"compositeRequest": [create("a"), {"method": "GET", "url": "v60.0/limits", "referenceId": "b"}]}),
            "JSON_PARSER_ERROR",
        ),
        (
            json!({"compositeRequest": (0..6).map(|i| json!({"method": "GET",
                   "url": "/services/data/v60.0/query?q=SELECT+Id+FROM+Account", "referenceId": format!("q{i}")}))
                   .collect::<Vec<_>>()}),
            "LIMIT_EXCEEDED",
        ),
        (json!({"allOrNone": true}), "JSON_PARSER_ERROR"),
    ];
    for (body, code) in cases {
        let reply = org.post("/composite", body.clone()).await;
        assert_eq!(
            (reply.status, reply.error_code()),
            (StatusCode::BAD_REQUEST, code),
            "{body}"
        );
    }
    let broken = send_raw(
        &org,
        Method::POST,
        "/composite",
        "application/json",
        "{\"compositeRequest\": [",
    )
    .await;
    assert_eq!(
        (broken.status, broken.error_code()),
        (StatusCode::BAD_REQUEST, "JSON_PARSER_ERROR")
    );
    let wrong_type = send_raw(&org, Method::POST, "/composite", "text/plain", "{}").await;
    assert_eq!(wrong_type.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(wrong_type.error_code(), "UNSUPPORTED_MEDIA_TYPE");
    let patch = org.patch("/composite", json!({})).await;
    assert_eq!(patch.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(
        counts(&org, "Account").await,
        vec![("Account".to_string(), 0)]
    );
}

#[tokio::test]
async fn batch_runs_independent_subrequests_and_halts_only_when_asked() {
    let org = TestOrg::start().await;
    let existing = org.create("Account", json!({"Name": "Existing"})).await;
    let before = usage(&org.get("/limits").await);
    let reply = org
        .post(
            "/composite/batch",
            json!({"batchRequests": [
                {"method": "POST", "url": "v60.0/sobjects/Account", "richInput": {"Name": "Batch One"}},
                {"method": "GET", "url": "v60.0/sobjects/Account/001000000000000AAA"},
                {"method": "PATCH", "url": format!("/services/data/v60.0/sobjects/Account/{existing}"),
                 "richInput": {"Name": "Patched"}},
                {"method": "GET", "url": format!("v60.0/sobjects/Account/{existing}?fields=Name")}
            ]}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let used_before: u64 = before
        .trim_start_matches("api-usage=")
        .split('/')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    // The batch itself and each of its four sub-requests count as API calls.
    assert_eq!(
        usage(&reply),
        format!("api-usage={}/100000", used_before + 5)
    );
    assert_eq!(reply.json["hasErrors"], true);
    let results = reply.json["results"].as_array().unwrap();
    let statuses: Vec<u64> = results
        .iter()
        .map(|r| r["statusCode"].as_u64().unwrap())
        .collect();
    assert_eq!(statuses, vec![201, 404, 204, 200]);
    assert_eq!(results[0]["result"]["success"], true);
    assert_eq!(
        results[1]["result"],
        json!([{"message": "The requested resource does not exist", "errorCode": "NOT_FOUND"}])
    );
    assert_eq!(results[2]["result"], Value::Null);
    assert_eq!(results[3]["result"]["Name"], "Patched");
    // Each sub-request committed on its own, the failure in between notwithstanding.
    let created = results[0]["result"]["id"].as_str().unwrap();
    assert_eq!(
        org.get(&format!("/sobjects/Account/{created}")).await.json["Name"],
        "Batch One"
    );

    let halted = org
        .post(
            "/composite/batch",
            json!({"haltOnError": true, "batchRequests": [
                {"method": "POST", "url": "v60.0/sobjects/Account", "richInput": {"Name": "Before"}},
                {"method": "POST", "url": "v60.0/sobjects/Contact", "richInput": {"FirstName": "No last name"}},
                {"method": "POST", "url": "v60.0/sobjects/Account", "richInput": {"Name": "Never"}},
                {"method": "GET", "url": "v60.0/limits"}
            ]}),
        )
        .await;
    assert_eq!(halted.json["hasErrors"], true);
    let results = halted.json["results"].as_array().unwrap();
    let statuses: Vec<u64> = results
        .iter()
        .map(|r| r["statusCode"].as_u64().unwrap())
        .collect();
    assert_eq!(statuses, vec![201, 400, 412, 412]);
    assert_eq!(
        results[1]["result"][0]["errorCode"],
        "REQUIRED_FIELD_MISSING"
    );
    assert_eq!(
        results[2]["result"][0]["errorCode"],
        "BATCH_PROCESSING_HALTED"
    );
    assert_eq!(
        counts(&org, "Account").await,
        vec![("Account".to_string(), 3)],
        "Existing, Batch One and Before; never Never"
    );

    let clean = org
        .post(
            "/composite/batch",
            json!({"batchRequests": [{"method": "GET", "url": "v60.0/limits"}]}),
        )
        .await;
    assert_eq!(clean.json["hasErrors"], false);
    assert_eq!(clean.json["results"][0]["statusCode"], 200);
}

#[tokio::test]
async fn malformed_batch_requests_are_refused_whole() {
    let org = TestOrg::start().await;
    let create =
        json!({"method": "POST", "url": "v60.0/sobjects/Account", "richInput": {"Name": "Never"}});
    let cases = [
        json!({"batchRequests": [create, {"method": "FETCH", "url": "v60.0/limits"}]}),
        json!({"batchRequests": [create, {"method": "GET", "url": "sobjects/Account"}]}),
        json!({"batchRequests": [create, {"method": "GET", "url": "v61.0/limits"}]}),
        json!({"batchRequests": [create, {"method": "GET"}]}),
        json!({"batchRequests": []}),
    ];
    for body in cases {
        let reply = org.post("/composite/batch", body.clone()).await;
        assert_eq!(
            (reply.status, reply.error_code()),
            (StatusCode::BAD_REQUEST, "JSON_PARSER_ERROR"),
            "{body}"
        );
    }
    let nested = org
        .post(
            "/composite/batch",
            json!({"batchRequests": [create, {"method": "POST", "url": "v60.0/composite/batch/",
                   "richInput": {"batchRequests": [{"method": "GET", "url": "v60.0/limits"}]}}]}),
        )
        .await;
    assert_eq!(
        (nested.status, nested.error_code()),
        (StatusCode::BAD_REQUEST, "JSON_PARSER_ERROR")
    );
    let too_many: Vec<Value> = (0..26).map(|_| create.clone()).collect();
    let reply = org
        .post("/composite/batch", json!({"batchRequests": too_many}))
        .await;
    assert_eq!(
        (reply.status, reply.error_code()),
        (StatusCode::BAD_REQUEST, "LIMIT_EXCEEDED")
    );
    assert_eq!(
        counts(&org, "Account").await,
        vec![("Account".to_string(), 0)]
    );
}

#[tokio::test]
async fn trees_create_nested_records_level_by_level() {
    let org = TestOrg::start().await;
    let reply = org
        .post(
            "/composite/tree/Account",
            json!({"records": [
                {"attributes": {"type": "Account", "referenceId": "ref1"},
                 "name": "SampleAccount", "numberOfEmployees": "100",
                 "Contacts": {"records": [
                    {"attributes": {"type": "Contact", "referenceId": "ref2"}, "lastname": "Smith",
                     "email": "sample@salesforce.com"},
                    {"attributes": {"type": "Contact", "referenceId": "ref3"}, "lastname": "Evans"}
                 ]}},
                {"attributes": {"type": "Account", "referenceId": "ref4"}, "name": "SampleAccount2"}
            ]}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    assert_eq!(reply.json["hasErrors"], false);
    let results = reply.json["results"].as_array().unwrap();
    let order: Vec<&str> = results
        .iter()
        .map(|r| r["referenceId"].as_str().unwrap())
        .collect();
    assert_eq!(order, vec!["ref1", "ref4", "ref2", "ref3"]);
    assert!(results.iter().all(|r| r.as_object().unwrap().len() == 2));
    let account = results[0]["id"].as_str().unwrap();
    let account_record = org.get(&format!("/sobjects/Account/{account}")).await;
    assert_eq!(account_record.json["NumberOfEmployees"], 100);
    for contact in [&results[2], &results[3]] {
        let id = contact["id"].as_str().unwrap();
        let record = org.get(&format!("/sobjects/Contact/{id}")).await;
        assert_eq!(record.json["AccountId"], account);
    }
}

#[tokio::test]
async fn a_failing_tree_record_saves_nothing_and_is_reported_alone() {
    let org = TestOrg::start().await;
    let reply = org
        .post(
            "/composite/tree/Account",
            json!({"records": [
                {"attributes": {"type": "Account", "referenceId": "ok"}, "Name": "Fine",
                 "Contacts": {"records": [
                    {"attributes": {"type": "Contact", "referenceId": "badEmail"}, "LastName": "A",
                     "Email": "nope"},
                    {"attributes": {"type": "Contact", "referenceId": "goodContact"}, "LastName": "B"}
                 ]}},
                {"attributes": {"type": "Account", "referenceId": "noName"}}
            ]}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        reply.json,
        json!({"hasErrors": true, "results": [
            {"referenceId": "noName", "errors": [{"statusCode": "REQUIRED_FIELD_MISSING",
              "message": "Required fields are missing: [Name]", "fields": ["Name"]}]},
            {"referenceId": "badEmail", "errors": [{"statusCode": "INVALID_EMAIL_ADDRESS",
              "message": "Email: invalid email address: nope", "fields": ["Email"]}]}
        ]})
    );
    assert_eq!(
        counts(&org, "Account,Contact").await,
        vec![("Account".to_string(), 0), ("Contact".to_string(), 0)]
    );

    let missing_reference = org
        .post(
            "/composite/tree/Account",
            json!({"records": [{"attributes": {"type": "Account"}, "Name": "x"}]}),
        )
        .await;
    assert_eq!(
        (missing_reference.status, missing_reference.error_code()),
        (StatusCode::BAD_REQUEST, "JSON_PARSER_ERROR")
    );
    let unknown = org
        .post("/composite/tree/Nope__c", json!({"records": []}))
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    let wrong_type = send_raw(
        &org,
        Method::POST,
        "/composite/tree/Account",
        "text/csv",
        "a,b",
    )
    .await;
    assert_eq!(wrong_type.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
}

#[tokio::test]
async fn collections_create_mixed_types_with_partial_success() {
    let org = TestOrg::start().await;
    let reply = org
        .post(
            "/composite/sobjects",
            json!({"allOrNone": false, "records": [
                {"attributes": {"type": "Account"}, "Name": "Mixed A"},
                {"attributes": {"type": "Contact"}, "LastName": "Bad", "Email": "bad"},
                {"attributes": {"type": "Contact"}, "LastName": "Good"},
                {"attributes": {"type": "Account"}, "id": "001000000000001AAA", "Name": "With id"},
                {"attributes": {"type": "Nope__c"}, "Name": "Unknown"}
            ]}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let results = reply.json.as_array().unwrap();
    assert_eq!(results.len(), 5);
    let account = results[0]["id"].as_str().unwrap();
    assert!(account.starts_with("001"));
    assert_eq!(
        results[0],
        json!({"id": account, "success": true, "errors": []})
    );
    assert_eq!(
        results[1],
        json!({"success": false, "errors": [{"statusCode": "INVALID_EMAIL_ADDRESS",
               "message": "Email: invalid email address: bad", "fields": ["Email"]}]})
    );
    assert!(results[2]["id"].as_str().unwrap().starts_with("003"));
    assert_eq!(results[3]["errors"][0]["statusCode"], "INVALID_FIELD");
    assert_eq!(results[4]["errors"][0]["statusCode"], "INVALID_TYPE");
    assert_eq!(
        counts(&org, "Account,Contact").await,
        vec![("Account".to_string(), 1), ("Contact".to_string(), 1)]
    );
}

#[tokio::test]
async fn collections_all_or_none_rolls_every_record_back() {
    let org = TestOrg::start().await;
    let reply = org
        .post(
            "/composite/sobjects",
            json!({"allOrNone": true, "records": [
                {"attributes": {"type": "Account"}, "Name": "Would be fine"},
                {"attributes": {"type": "Contact"}, "FirstName": "No last name"},
                {"attributes": {"type": "Account"}, "Name": "Also fine"}
            ]}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    let rolled_back = json!({"success": false, "errors": [{"statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
        "message": ALL_OR_NONE_MESSAGE, "fields": []}]});
    assert_eq!(
        reply.json,
        json!([
            rolled_back,
            {"success": false, "errors": [{"statusCode": "REQUIRED_FIELD_MISSING",
              "message": "Required fields are missing: [LastName]", "fields": ["LastName"]}]},
            rolled_back
        ])
    );
    assert_eq!(
        counts(&org, "Account,Contact").await,
        vec![("Account".to_string(), 0), ("Contact".to_string(), 0)]
    );
}

#[tokio::test]
async fn collections_update_upsert_delete_and_retrieve() {
    let org = TestOrg::start().await;
    let first = org.create("Account", json!({"Name": "First"})).await;
    let second = org.create("Account", json!({"Name": "Second"})).await;

    let updated = org
        .patch(
            "/composite/sobjects",
            json!({"records": [
                {"attributes": {"type": "Account"}, "id": first, "Name": "First updated"},
                {"id": second, "Name": "Second updated"},
                {"attributes": {"type": "Account"}, "Name": "No id"},
                {"attributes": {"type": "Account"}, "id": "garbage", "Name": "Bad id"}
            ]}),
        )
        .await;
    assert_eq!(updated.status, StatusCode::OK, "{}", updated.text);
    let results = updated.json.as_array().unwrap();
    assert_eq!(
        results[0],
        json!({"id": first, "success": true, "errors": []})
    );
    assert_eq!(results[1]["id"], second.as_str());
    assert_eq!(
        results[2]["errors"][0],
        json!({"statusCode": "MISSING_ARGUMENT", "message": "Id not specified in an update call", "fields": []})
    );
    assert_eq!(results[3]["errors"][0]["statusCode"], "MALFORMED_ID");

    let retrieved = org
        .get(&format!(
            "/composite/sobjects/Account?ids={first},{second},{unknown},junk&fields=Name",
            // Record number 99 (`1b` in base 62), which the org never made.
            unknown = forcebridge_wire::id::to_18("001RO000000001b").unwrap()
        ))
        .await;
    assert_eq!(retrieved.status, StatusCode::OK);
    assert_eq!(
        retrieved.json,
        json!([
            {"attributes": {"type": "Account", "url": format!("/services/data/v60.0/sobjects/Account/{first}")},
             "Name": "First updated", "Id": first},
            {"attributes": {"type": "Account", "url": format!("/services/data/v60.0/sobjects/Account/{second}")},
             "Name": "Second updated", "Id": second},
            null,
            null
        ])
    );
    let by_body = org
        .post(
            "/composite/sobjects/Account",
            json!({"ids": [second], "fields": ["Id", "Name"]}),
        )
        .await;
    assert_eq!(by_body.json[0]["Name"], "Second updated");
    let bad_field = org
        .get(&format!(
            "/composite/sobjects/Account?ids={first}&fields=Nope"
        ))
        .await;
    assert_eq!(
        (bad_field.status, bad_field.error_code()),
        (StatusCode::BAD_REQUEST, "INVALID_FIELD")
    );

    let upserted = org
        .patch(
            "/composite/sobjects/Product2/ExternalId",
            json!({"records": [
                {"attributes": {"type": "Product2"}, "ExternalId": "P-1", "Name": "One"},
                {"attributes": {"type": "Product2"}, "ExternalId": "P-2", "Name": "Two"}
            ]}),
        )
        .await;
    assert_eq!(upserted.status, StatusCode::OK, "{}", upserted.text);
    let p1 = upserted.json[0]["id"].as_str().unwrap().to_string();
    assert_eq!(
        upserted.json[0],
        json!({"id": p1, "success": true, "errors": [], "created": true})
    );
    let again = org
        .patch(
            "/composite/sobjects/Product2/ExternalId",
            json!({"allOrNone": false, "records": [
                {"attributes": {"type": "Product2"}, "ExternalId": "P-1", "Name": "One again"},
                {"attributes": {"type": "Product2"}, "ExternalId": "P-3", "Name": "Three"},
                {"attributes": {"type": "Product2"}, "ExternalId": "P-4", "Name": "Four a"},
                {"attributes": {"type": "Product2"}, "ExternalId": "p-4", "Name": "Four b"},
                {"attributes": {"type": "Product2"}, "Name": "No key"}
            ]}),
        )
        .await;
    let results = again.json.as_array().unwrap();
    assert_eq!(
        results[0],
        json!({"id": p1, "success": true, "errors": [], "created": false})
    );
    assert_eq!(results[1]["created"], true);
    assert_eq!(
        results[2]["errors"][0]["statusCode"],
        "DUPLICATE_EXTERNAL_ID"
    );
    assert_eq!(
        results[3]["errors"][0]["statusCode"],
        "DUPLICATE_EXTERNAL_ID"
    );
    assert_eq!(
        results[4],
        json!({"success": false, "errors": [{"statusCode": "MISSING_ARGUMENT",
               "message": "ExternalId not specified", "fields": []}], "created": false})
    );
    let product = org.get(&format!("/sobjects/Product2/{p1}")).await;
    assert_eq!(product.json["Name"], "One again");
    let unknown_field = org
        .patch(
            "/composite/sobjects/Product2/Description",
            json!({"records": [{"attributes": {"type": "Product2"}, "Name": "x", "Description": "d"}]}),
        )
        .await;
    assert_eq!(
        (unknown_field.status, unknown_field.error_code()),
        (StatusCode::NOT_FOUND, "NOT_FOUND")
    );

    let deleted = org
        .delete(&format!(
            "/composite/sobjects?ids={first},bogus&allOrNone=false"
        ))
        .await;
    assert_eq!(deleted.status, StatusCode::OK, "{}", deleted.text);
    assert_eq!(
        deleted.json,
        json!([
            {"id": first, "success": true, "errors": []},
            {"success": false, "errors": [{"statusCode": "MALFORMED_ID", "message": "malformed id bogus", "fields": []}]}
        ])
    );
    assert_eq!(
        org.get(&format!("/sobjects/Account/{first}")).await.status,
        StatusCode::NOT_FOUND
    );
    let after = org
        .get(&format!(
            "/composite/sobjects/Account?ids={first}&fields=Name"
        ))
        .await;
    assert_eq!(after.json, json!([null]));

    let all_or_none_delete = org
        .delete(&format!(
            "/composite/sobjects?ids={second},{first}&allOrNone=true"
        ))
        .await;
    assert_eq!(
        all_or_none_delete.json[0]["errors"][0]["statusCode"],
        "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    );
    assert_eq!(
        all_or_none_delete.json[1]["errors"][0]["statusCode"],
        "ENTITY_IS_DELETED"
    );
    assert_eq!(
        org.get(&format!("/sobjects/Account/{second}")).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn collections_refuse_malformed_and_oversized_requests() {
    let org = TestOrg::start().await;
    let records: Vec<Value> = (0..201)
        .map(|i| json!({"attributes": {"type": "Account"}, "Name": format!("A{i}")}))
        .collect();
    let oversized = org
        .post("/composite/sobjects", json!({"records": records}))
        .await;
    assert_eq!(
        (oversized.status, oversized.error_code()),
        (StatusCode::BAD_REQUEST, "EXCEEDED_ID_LIMIT")
    );
    let two_hundred: Vec<Value> = (0..200)
        .map(|i| json!({"attributes": {"type": "Account"}, "Name": format!("A{i}")}))
        .collect();
    let fits = org
        .post("/composite/sobjects", json!({"records": two_hundred}))
        .await;
    assert_eq!(fits.status, StatusCode::OK);
    assert!(
        fits.json
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["success"] == true)
    );

    let ids = vec!["001000000000001AAA"; 201].join(",");
    let delete = org.delete(&format!("/composite/sobjects?ids={ids}")).await;
    assert_eq!(
        (delete.status, delete.error_code()),
        (StatusCode::BAD_REQUEST, "EXCEEDED_ID_LIMIT")
    );
    let no_ids = org.delete("/composite/sobjects").await;
    assert_eq!(no_ids.status, StatusCode::BAD_REQUEST);

    let broken = send_raw(
        &org,
        Method::POST,
        "/composite/sobjects",
        "application/json",
        "{\"records\": [",
    )
    .await;
    assert_eq!(
        (broken.status, broken.error_code()),
        (StatusCode::BAD_REQUEST, "JSON_PARSER_ERROR")
    );
    let no_records = org
        .post("/composite/sobjects", json!({"allOrNone": true}))
        .await;
    assert_eq!(
        (no_records.status, no_records.error_code()),
        (StatusCode::BAD_REQUEST, "JSON_PARSER_ERROR")
    );
    let no_type = org
        .post(
            "/composite/sobjects",
            json!({"records": [{"Name": "typeless"}]}),
        )
        .await;
    assert_eq!(
        (no_type.status, no_type.error_code()),
        (StatusCode::BAD_REQUEST, "JSON_PARSER_ERROR")
    );
    let wrong_type = send_raw(
        &org,
        Method::PATCH,
        "/composite/sobjects",
        "text/xml",
        "<x/>",
    )
    .await;
    assert_eq!(wrong_type.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let missing_fields = org
        .get("/composite/sobjects/Account?ids=001000000000001AAA")
        .await;
    assert_eq!(
        (missing_fields.status, missing_fields.error_code()),
        (StatusCode::BAD_REQUEST, "MISSING_ARGUMENT")
    );
    let old = org
        .send(
            Method::POST,
            &org.url("/services/data/v41.0/composite/sobjects"),
            Some(json!({"records": []})),
        )
        .await;
    assert_eq!(old.status, StatusCode::NOT_FOUND);
    assert_eq!(
        counts(&org, "Account").await,
        vec![("Account".to_string(), 200)]
    );
}

#[tokio::test]
async fn composite_upserts_follow_the_subrequest_version_and_ambiguous_keys_answer_300() {
    let org = TestOrg::start().await;
    let first = org.create("Product2", json!({"Name": "Twin"})).await;
    let second = org.create("Product2", json!({"Name": "Twin"})).await;
    let reply = org
        .post(
            "/composite",
            json!({"compositeRequest": [
                {"method": "PATCH", "url": "/services/data/v45.0/sobjects/Product2/ExternalId/OLD-1",
                 "referenceId": "oldCreate", "body": {"Name": "Old style"}},
                {"method": "PATCH", "url": "/services/data/v45.0/sobjects/Product2/ExternalId/OLD-1",
                 "referenceId": "oldUpdate", "body": {"Name": "Old style 2"}},
                {"method": "GET", "url": "/services/data/v60.0/sobjects/Product2/Name/Twin",
                 "referenceId": "ambiguous"},
                {"method": "GET", "url": "/services/data/v41.0/composite/sobjects/Product2?ids=x&fields=Name",
                 "referenceId": "tooOldForCollections"}
            ]}),
        )
        .await;
    let subs = subresponses(&reply);
    let created = subs[0]["body"]["id"].as_str().unwrap();
    assert_eq!(subs[0]["httpStatusCode"], 201);
    assert_eq!(
        subs[0]["body"],
        json!({"id": created, "success": true, "errors": []}),
        "no created flag before 46.0"
    );
    assert_eq!(
        subs[0]["httpHeaders"]["Location"],
        format!("/services/data/v45.0/sobjects/Product2/{created}")
    );
    assert_eq!(
        (subs[1]["httpStatusCode"].clone(), subs[1]["body"].clone()),
        (json!(204), Value::Null)
    );
    assert_eq!(subs[2]["httpStatusCode"], 300);
    assert_eq!(
        subs[2]["body"],
        json!([
            format!("/services/data/v60.0/sobjects/Product2/{first}"),
            format!("/services/data/v60.0/sobjects/Product2/{second}")
        ])
    );
    assert_eq!(subs[3]["httpStatusCode"], 404);
    let product = org.get(&format!("/sobjects/Product2/{created}")).await;
    assert_eq!(product.json["Name"], "Old style 2");
}
