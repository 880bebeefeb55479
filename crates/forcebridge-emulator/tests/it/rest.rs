//! REST resources: discovery, describe, record CRUD and upsert, validation errors, replication,
//! limits and the headers every response carries.

use forcebridge_emulator::Config;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{Reply, TestOrg};

#[tokio::test]
async fn versions_need_no_session_and_resources_do() {
    let org = TestOrg::start().await;
    for path in ["/services/data", "/services/data/"] {
        let reply = Reply::from(org.client.get(org.url(path)).send().await.unwrap()).await;
        assert_eq!(reply.status, StatusCode::OK);
        let list = reply.json.as_array().unwrap();
        assert_eq!(
            list[0],
            json!({"label": "Summer '14", "url": "/services/data/v31.0", "version": "31.0"})
        );
        assert!(list.iter().any(|v| v["version"] == "60.0"));
    }
    let resources = org.get("").await;
    assert_eq!(resources.status, StatusCode::OK);
    assert_eq!(resources.json["sobjects"], "/services/data/v60.0/sobjects");
    assert!(
        resources.json["identity"]
            .as_str()
            .unwrap()
            .contains("/id/00D")
    );
    let unknown = org
        .send(Method::GET, &org.url("/services/data/v12.0/sobjects"), None)
        .await;
    assert_eq!(
        (unknown.status, unknown.error_code()),
        (StatusCode::NOT_FOUND, "NOT_FOUND")
    );
}

#[tokio::test]
async fn every_api_response_reports_usage_and_the_limit_is_enforced() {
    let mut config = Config::builtin();
    config.daily_api_requests = 3;
    let org = TestOrg::with_config(config).await;
    for n in 1..=3 {
        let reply = org.get("/sobjects").await;
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(
            reply.headers["sforce-limit-info"],
            format!("api-usage={n}/3").as_str()
        );
    }
    let refused = org.get("/sobjects").await;
    assert_eq!(
        (refused.status, refused.error_code()),
        (StatusCode::FORBIDDEN, "REQUEST_LIMIT_EXCEEDED")
    );
    assert_eq!(refused.headers["sforce-limit-info"], "api-usage=3/3");
}

#[tokio::test]
async fn describe_reports_fields_relationships_and_honours_if_modified_since() {
    let org = TestOrg::start().await;
    let global = org.get("/sobjects").await;
    let account = global.json["sobjects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["name"] == "Account")
        .unwrap();
    assert_eq!(account["keyPrefix"], "001");
    assert_eq!(
        account["urls"]["describe"],
        "/services/data/v60.0/sobjects/Account/describe"
    );

    let describe = org.get("/sobjects/Contact/describe").await;
    assert_eq!(describe.status, StatusCode::OK);
    let fields = describe.json["fields"].as_array().unwrap();
    let field = |name: &str| fields.iter().find(|f| f["name"] == name).unwrap().clone();
    assert_eq!(field("AccountId")["referenceTo"], json!(["Account"]));
    assert_eq!(field("AccountId")["relationshipName"], "Account");
    assert_eq!(field("LastName")["nillable"], false);
    assert_eq!(field("Email")["type"], "email");
    assert_eq!(field("MailingAddress")["type"], "address");
    assert_eq!(field("MailingCity")["compoundFieldName"], "MailingAddress");
    assert_eq!(field("CreatedDate")["createable"], false);
    let account = org.get("/sobjects/Account/describe").await;
    let children = account.json["childRelationships"].as_array().unwrap();
    assert!(
        children
            .iter()
            .any(|c| c["relationshipName"] == "Contacts" && c["childSObject"] == "Contact")
    );
    let industry = account.json["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "Industry")
        .unwrap()
        .clone();
    assert!(
        industry["picklistValues"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["value"] == "Media")
    );

    let later = "Tue, 01 Jan 2999 00:00:00 GMT";
    let cached = Reply::from(
        org.client
            .get(org.data("/sobjects/Account/describe"))
            .bearer_auth(&org.token)
            .header("If-Modified-Since", later)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(cached.status, StatusCode::NOT_MODIFIED);
    let unknown = org.get("/sobjects/Nope__c/describe").await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn records_are_created_read_updated_and_deleted_with_audit_fields() {
    let org = TestOrg::start().await;
    let created = org
        .post(
            "/sobjects/Account/",
            json!({"Name": "Acme", "Industry": "Media", "AnnualRevenue": 350000000}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED);
    assert_eq!(
        created.headers["content-type"],
        "application/json;charset=UTF-8"
    );
    let id = created.json["id"].as_str().unwrap().to_string();
    assert_eq!(
        created.json,
        json!({"id": id, "success": true, "errors": []})
    );
    assert_eq!(id.len(), 18);

    let record = org.get(&format!("/sobjects/Account/{id}")).await;
    assert_eq!(
        record.json["attributes"],
        json!({"type": "Account", "url": format!("/services/data/v60.0/sobjects/Account/{id}")})
    );
    assert_eq!(record.json["Name"], "Acme");
    assert_eq!(record.json["IsDeleted"], false);
    assert_eq!(record.json["BillingAddress"], Value::Null);
    // Doubles come back as Java prints them.
    assert!(
        record.text.contains("\"AnnualRevenue\":3.5E8"),
        "{}",
        record.text
    );
    let created_date = record.json["CreatedDate"].as_str().unwrap().to_string();
    assert!(
        created_date.ends_with("+0000") && created_date.len() == 28,
        "{created_date}"
    );
    assert!(record.headers.contains_key("last-modified"));
    // The 15-character form finds the same record.
    let short = org
        .get(&format!(
            "/sobjects/Account/{}?fields=Name,Industry",
            &id[..15]
        ))
        .await;
    let position = |key: &str| short.text.find(&format!("\"{key}\":")).unwrap();
    assert!(position("attributes") < position("Name") && position("Name") < position("Industry"));
    assert!(
        position("Industry") < position("Id"),
        "Id comes last when not asked for: {}",
        short.text
    );
    assert_eq!(short.json.as_object().unwrap().len(), 4);

    let updated = org
        .patch(
            &format!("/sobjects/Account/{id}"),
            json!({"Name": "Acme Corp", "BillingCity": "Paris"}),
        )
        .await;
    assert_eq!(updated.status, StatusCode::NO_CONTENT);
    assert_eq!(updated.text, "");
    let after = org.get(&format!("/sobjects/Account/{id}")).await;
    assert_eq!(after.json["Name"], "Acme Corp");
    assert_eq!(after.json["BillingAddress"]["city"], "Paris");
    assert!(after.json["SystemModstamp"].as_str().unwrap() > created_date.as_str());
    assert_eq!(after.json["CreatedDate"], created_date.as_str());

    assert_eq!(
        org.delete(&format!("/sobjects/Account/{id}")).await.status,
        StatusCode::NO_CONTENT
    );
    let gone = org.get(&format!("/sobjects/Account/{id}")).await;
    assert_eq!(
        (gone.status, gone.error_code()),
        (StatusCode::NOT_FOUND, "ENTITY_IS_DELETED")
    );
    let never = org.get("/sobjects/Account/001RO0000009999YAA").await;
    assert_eq!(
        (never.status, never.error_code()),
        (StatusCode::NOT_FOUND, "NOT_FOUND")
    );
}

/// Issue 10: an id's checksum restores its case, so a checksum that cannot belong to the first
/// fifteen characters is a mistyped id, never another record.
#[tokio::test]
async fn an_id_whose_checksum_does_not_fit_is_malformed_and_never_another_record() {
    let org = TestOrg::start().await;
    let mut ids = Vec::new();
    for i in 0..3 {
        ids.push(
            org.create("Account", json!({"Name": format!("A{i}")}))
                .await,
        );
    }
    let last = ids.last().unwrap().clone();
    // `ZZZ` marks the first character, the digit `0`, as upper case: no id ends that way.
    let mistyped = format!("{}ZZZ", &last[..15]);
    let mistyped = mistyped.as_str();
    for reply in [
        org.delete(&format!("/sobjects/Account/{mistyped}")).await,
        org.get(&format!("/sobjects/Account/{mistyped}")).await,
        org.patch(
            &format!("/sobjects/Account/{mistyped}"),
            json!({"Name": "X"}),
        )
        .await,
    ] {
        assert_eq!(
            (reply.status, reply.error_code()),
            (StatusCode::BAD_REQUEST, "MALFORMED_ID"),
            "{}",
            reply.text
        );
        assert!(reply.text.contains(mistyped), "{}", reply.text);
    }
    let kept = org.get(&format!("/sobjects/Account/{last}")).await;
    assert_eq!(
        (kept.status, kept.json["Name"].as_str()),
        (StatusCode::OK, Some("A2"))
    );
    // Any case of the real id still finds the record.
    let lower = org
        .get(&format!("/sobjects/Account/{}", last.to_ascii_lowercase()))
        .await;
    assert_eq!(lower.json["Id"], last.as_str());
    // Upserting by `Id` with text that is no id, or with an id no record has, creates nothing.
    let garbage = org
        .patch(
            &format!("/sobjects/Account/Id/{mistyped}"),
            json!({"Name": "New"}),
        )
        .await;
    assert_eq!(
        (garbage.status, garbage.error_code()),
        (StatusCode::BAD_REQUEST, "MALFORMED_ID")
    );
    let unknown = org
        .patch(
            "/sobjects/Account/Id/001RO0000009999YAA",
            json!({"Name": "New"}),
        )
        .await;
    assert_eq!(
        (unknown.status, unknown.error_code()),
        (StatusCode::NOT_FOUND, "NOT_FOUND")
    );
    let by_id = org
        .patch(
            &format!("/sobjects/Account/Id/{last}"),
            json!({"Name": "Renamed"}),
        )
        .await;
    assert_eq!(by_id.status, StatusCode::OK, "{}", by_id.text);
    assert_eq!(by_id.json["created"], false);
    let counted = org.get("/query?q=SELECT+COUNT()+FROM+Account").await;
    assert_eq!(counted.json["totalSize"], 3);
    // In SOQL, such a literal is an invalid id rather than a filter that matches nothing.
    let filtered = org
        .get(&format!(
            "/query?q=SELECT+Id+FROM+Account+WHERE+Id+=+'{mistyped}'"
        ))
        .await;
    assert_eq!(
        (filtered.status, filtered.error_code()),
        (StatusCode::BAD_REQUEST, "INVALID_QUERY_FILTER_OPERATOR")
    );
}

#[tokio::test]
async fn invalid_writes_get_salesforce_errors_and_change_nothing() {
    let org = TestOrg::start().await;
    let account = org.create("Account", json!({"Name": "Acme"})).await;
    let cases: Vec<(&str, Value, &str, Vec<&str>)> = vec![
        (
            "Contact",
            json!({"FirstName": "Ann"}),
            "REQUIRED_FIELD_MISSING",
            vec!["LastName"],
        ),
        (
            "Contact",
            json!({"LastName": "X", "Nope__c": 1}),
            "INVALID_FIELD",
            vec!["Nope__c"],
        ),
        (
            "Contact",
            json!({"LastName": "X".repeat(81)}),
            "STRING_TOO_LONG",
            vec!["LastName"],
        ),
        (
            "Contact",
            json!({"LastName": "X", "Email": "not-an-email"}),
            "INVALID_EMAIL_ADDRESS",
            vec!["Email"],
        ),
        (
            "Contact",
            json!({"LastName": "X", "AccountId": "001RO0000009999YAA"}),
            "INVALID_CROSS_REFERENCE_KEY",
            vec!["AccountId"],
        ),
        (
            "Contact",
            json!({"LastName": "X", "AccountId": "garbage"}),
            "MALFORMED_ID",
            vec!["AccountId"],
        ),
        (
            "Contact",
            json!({"LastName": "X", "CreatedDate": "2024-01-01T00:00:00Z"}),
            "INVALID_FIELD_FOR_INSERT_UPDATE",
            vec!["CreatedDate"],
        ),
        (
            "Opportunity",
            json!({"Name": "O", "StageName": "Dreaming", "CloseDate": "2025-01-01"}),
            "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
            vec!["StageName"],
        ),
        (
            "Opportunity",
            json!({"Name": "O", "StageName": "Prospecting", "CloseDate": "2025-13-01"}),
            "JSON_PARSER_ERROR",
            vec!["CloseDate"],
        ),
        (
            "Account",
            json!({"Name": "A", "NumberOfEmployees": 123456789}),
            "NUMBER_OUTSIDE_VALID_RANGE",
            vec!["NumberOfEmployees"],
        ),
    ];
    for (object, body, code, fields) in cases {
        let reply = org.post(&format!("/sobjects/{object}"), body.clone()).await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{object} {body}: {}",
            reply.text
        );
        assert_eq!(reply.error_code(), code, "{object} {body}: {}", reply.text);
        assert_eq!(reply.json[0]["fields"], json!(fields), "{}", reply.text);
    }
    let contact = org
        .create("Contact", json!({"LastName": "Lee", "AccountId": account}))
        .await;
    let wrong_type = org
        .patch(
            &format!("/sobjects/Contact/{contact}"),
            json!({"AccountId": contact}),
        )
        .await;
    assert_eq!(wrong_type.error_code(), "FIELD_INTEGRITY_EXCEPTION");

    let malformed = org
        .send(Method::POST, &org.data("/sobjects/Account"), None)
        .await;
    assert_eq!(malformed.error_code(), "JSON_PARSER_ERROR");
    let raw = Reply::from(
        org.client
            .post(org.data("/sobjects/Account"))
            .bearer_auth(&org.token)
            .header("content-type", "application/json")
            .body("{\"Name\": ")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (raw.status, raw.error_code()),
        (StatusCode::BAD_REQUEST, "JSON_PARSER_ERROR")
    );
    let text = Reply::from(
        org.client
            .post(org.data("/sobjects/Account"))
            .bearer_auth(&org.token)
            .header("content-type", "text/plain")
            .body("Name=x")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (text.status, text.error_code()),
        (StatusCode::UNSUPPORTED_MEDIA_TYPE, "UNSUPPORTED_MEDIA_TYPE")
    );
    let counts = org
        .get("/limits/recordCount?sObjects=Account,Contact")
        .await;
    assert_eq!(
        counts.json,
        json!({"sObjects": [{"count": 1, "name": "Account"}, {"count": 1, "name": "Contact"}]})
    );
}

#[tokio::test]
async fn upsert_by_external_id_reports_created_and_version_specific_statuses() {
    let org = TestOrg::start().await;
    let path = "/sobjects/Product2/ExternalId/SKU-1";
    let first = org.patch(path, json!({"Name": "Widget"})).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.text);
    let id = first.json["id"].as_str().unwrap().to_string();
    assert_eq!(
        first.json,
        json!({"id": id, "success": true, "errors": [], "created": true})
    );
    let second = org.patch(path, json!({"Name": "Widget 2"})).await;
    assert_eq!(second.status, StatusCode::OK);
    assert_eq!(
        second.json,
        json!({"id": id, "success": true, "errors": [], "created": false})
    );
    let old = org
        .send(
            Method::PATCH,
            &org.url(&format!("/services/data/v45.0{path}")),
            Some(json!({"Name": "W3"})),
        )
        .await;
    assert_eq!(old.status, StatusCode::NO_CONTENT);
    let fetched = org.get("/sobjects/Product2/ExternalId/sku-1").await;
    assert_eq!(
        (fetched.json["Name"].as_str(), fetched.json["Id"].as_str()),
        (Some("W3"), Some(id.as_str()))
    );
    let duplicate = org
        .post(
            "/sobjects/Product2",
            json!({"Name": "Other", "ExternalId": "SKU-1"}),
        )
        .await;
    assert_eq!(duplicate.error_code(), "DUPLICATE_VALUE");
    assert!(duplicate.json[0]["message"].as_str().unwrap().contains(&id));
    let unknown_field = org
        .patch("/sobjects/Product2/Nope__c/1", json!({"Name": "x"}))
        .await;
    assert_eq!(
        (unknown_field.status, unknown_field.error_code()),
        (StatusCode::NOT_FOUND, "NOT_FOUND")
    );
}

#[tokio::test]
async fn opportunities_and_line_items_derive_fields_like_a_real_org() {
    let org = TestOrg::start().await;
    let opportunity = org
        .create(
            "Opportunity",
            json!({"Name": "Big deal", "StageName": "Closed Won", "CloseDate": "2025-05-20"}),
        )
        .await;
    let record = org
        .get(&format!("/sobjects/Opportunity/{opportunity}"))
        .await;
    assert_eq!(
        (
            record.json["IsClosed"].as_bool(),
            record.json["IsWon"].as_bool()
        ),
        (Some(true), Some(true))
    );
    assert_eq!(record.json["Probability"], 100.0);
    assert_eq!(record.json["FiscalQuarter"], 2);
    let product = org.create("Product2", json!({"Name": "Widget"})).await;
    let book = org.create("Pricebook2", json!({"Name": "Standard"})).await;
    let entry = org
        .create(
            "PricebookEntry",
            json!({"Pricebook2Id": book, "Product2Id": product, "UnitPrice": 10}),
        )
        .await;
    org.create(
        "OpportunityLineItem",
        json!({"OpportunityId": opportunity, "PricebookEntryId": entry, "Quantity": 3}),
    )
    .await;
    let rolled = org
        .get(&format!("/sobjects/Opportunity/{opportunity}"))
        .await;
    assert_eq!(rolled.json["Amount"], 30.0);
    assert_eq!(rolled.json["HasOpportunityLineItem"], true);
    let case = org.create("Case", json!({"Subject": "Broken"})).await;
    let case_record = org.get(&format!("/sobjects/Case/{case}")).await;
    assert_eq!(case_record.json["CaseNumber"], "00001001");
    assert_eq!(case_record.json["Status"], "New");
}

#[tokio::test]
async fn updated_and_deleted_report_changes_in_a_window() {
    let t0 = crate::support::at("2026-03-10T12:00:00Z");
    let format_datetime = |ms: i64| {
        chrono::DateTime::from_timestamp_millis(ms)
            .unwrap()
            .format("%Y-%m-%dT%H:%M:%S%.3f+0000")
            .to_string()
    };
    let mut config = Config::builtin();
    config.fixed_time = Some(t0);
    let org = TestOrg::with_config(config).await;
    let kept = org.create("Account", json!({"Name": "Kept"})).await;
    let dropped = org.create("Account", json!({"Name": "Dropped"})).await;
    assert_eq!(
        org.delete(&format!("/sobjects/Account/{dropped}"))
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    org.advance(5 * 60_000);
    let q = |ms: i64| format_datetime(ms).replace('+', "%2B");
    let window = format!("start={}&end={}", q(t0 - 86_400_000), q(t0 + 3_600_000));

    let updated = org
        .get(&format!("/sobjects/Account/updated/?{window}"))
        .await;
    assert_eq!(updated.status, StatusCode::OK, "{}", updated.text);
    // The window ends at "now" (t0 + 5 min), rounded down to the minute.
    assert_eq!(
        updated.json,
        json!({"ids": [kept], "latestDateCovered": "2026-03-10T12:05:00.000+0000"})
    );

    let deleted = org
        .get(&format!("/sobjects/Account/deleted/?{window}"))
        .await;
    assert_eq!(deleted.status, StatusCode::OK, "{}", deleted.text);
    assert_eq!(deleted.json["deletedRecords"][0]["id"], json!(dropped));
    assert!(
        deleted.json["deletedRecords"][0]["deletedDate"]
            .as_str()
            .unwrap()
            .starts_with("2026-03-10T12:00:00")
    );
    assert_eq!(deleted.json["deletedRecords"].as_array().unwrap().len(), 1);

    let before = org
        .get(&format!(
            "/sobjects/Account/updated?start={}&end={}",
            q(t0 - 86_400_000),
            q(t0 - 3_600_000)
        ))
        .await;
    assert_eq!(before.json["ids"], json!([]));
    let backwards = org
        .get(&format!(
            "/sobjects/Account/updated?start={}&end={}",
            q(t0),
            q(t0 - 3_600_000)
        ))
        .await;
    assert_eq!(
        (backwards.status, backwards.error_code()),
        (StatusCode::BAD_REQUEST, "INVALID_REPLICATION_DATE")
    );
}

/// A SOAP partner call with a session header and `ids`.
async fn soap_ids(org: &TestOrg, operation: &str, session: &str, ids: &[&str]) -> Reply {
    let ids: String = ids
        .iter()
        .map(|id| format!("<urn:ids>{id}</urn:ids>"))
        .collect();
    let envelope = format!(
        r#"<?xml version="1.0" encoding="utf-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:urn="urn:partner.soap.sforce.com">
  <soapenv:Header><urn:SessionHeader><urn:sessionId>{session}</urn:sessionId></urn:SessionHeader></soapenv:Header>
  <soapenv:Body><urn:{operation}>{ids}</urn:{operation}></soapenv:Body>
</soapenv:Envelope>"#
    );
    let request = org
        .client
        .post(org.url("/services/Soap/u/60.0"))
        .header("content-type", "text/xml")
        .header("SOAPAction", "\"\"")
        .body(envelope);
    Reply::from(request.send().await.unwrap()).await
}

#[tokio::test]
async fn the_recycle_bin_is_emptied_and_undeleted_through_the_soap_api() {
    let org = TestOrg::start().await;
    let id = org.create("Account", json!({"Name": "Recycled"})).await;
    org.delete(&format!("/sobjects/Account/{id}")).await;
    let hidden = org.get("/query?q=SELECT+Id+FROM+Account").await;
    assert_eq!(hidden.json["totalSize"], 0);
    let deleted = org
        .get("/queryAll?q=SELECT+Id,IsDeleted+FROM+Account")
        .await;
    assert_eq!(deleted.json["records"][0]["IsDeleted"], true);

    let undeleted = soap_ids(&org, "undelete", &org.token, &[&id]).await;
    assert_eq!(undeleted.status, StatusCode::OK, "{}", undeleted.text);
    assert!(
        undeleted.text.contains(&format!(
            "<result><id>{id}</id><success>true</success></result>"
        )),
        "{}",
        undeleted.text
    );
    let back = org.get(&format!("/sobjects/Account/{id}")).await;
    assert_eq!(
        (back.status, back.json["IsDeleted"].as_bool()),
        (StatusCode::OK, Some(false))
    );

    // Undeleting a live record fails for that id only; emptying needs the record in the bin.
    let again = soap_ids(&org, "undelete", &org.token, &[&id, "garbage"]).await;
    assert!(
        again
            .text
            .contains("<statusCode>UNDELETE_FAILED</statusCode>"),
        "{}",
        again.text
    );
    assert!(
        again.text.contains("<statusCode>MALFORMED_ID</statusCode>"),
        "{}",
        again.text
    );
    let not_in_bin = soap_ids(&org, "emptyRecycleBin", &org.token, &[&id]).await;
    assert!(
        not_in_bin.text.contains("<success>false</success>"),
        "{}",
        not_in_bin.text
    );
    org.delete(&format!("/sobjects/Account/{id}")).await;
    let emptied = soap_ids(&org, "emptyRecycleBin", &org.token, &[&id]).await;
    assert!(
        emptied.text.contains("<emptyRecycleBinResponse><result>"),
        "{}",
        emptied.text
    );
    let gone = org.get("/queryAll?q=SELECT+Id+FROM+Account").await;
    assert_eq!(gone.json["totalSize"], 0);

    let refused = soap_ids(&org, "undelete", "00Dbogus!x", &[&id]).await;
    assert_eq!(refused.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(
        refused
            .text
            .contains("<sf:exceptionCode>INVALID_SESSION_ID</sf:exceptionCode>"),
        "{}",
        refused.text
    );
}

#[tokio::test]
async fn oversized_bodies_are_refused_in_salesforce_shape_and_change_nothing() {
    let org = TestOrg::start().await;
    let big = format!(
        r#"{{"Name": "Big", "Description": "{}"}}"#,
        "x".repeat(50 * 1024 * 1024 + 1)
    );
    let reply = Reply::from(
        org.client
            .post(org.data("/sobjects/Account"))
            .bearer_auth(&org.token)
            .header("content-type", "application/json")
            .body(big)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        reply.status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "{}",
        &reply.text[..reply.text.len().min(300)]
    );
    assert_eq!(reply.error_code(), "REQUEST_ENTITY_TOO_LARGE");
    assert_eq!(
        reply.headers["content-type"],
        "application/json;charset=UTF-8"
    );
    assert_eq!(
        org.get("/limits/recordCount?sObjects=Account").await.json["sObjects"][0]["count"],
        0
    );
}

#[tokio::test]
async fn injected_faults_shape_503s_cut_connections_after_the_work_and_can_be_turned_off() {
    use forcebridge_emulator::FaultConfig;
    use std::time::Duration;

    let org = TestOrg::start().await;
    let count = || async {
        org.get("/limits/recordCount?sObjects=Account").await.json["sObjects"][0]["count"].clone()
    };

    // Every API call answered 503 in Salesforce's error shape, before any work is done.
    org.emulator.set_faults(FaultConfig {
        error_rate: 1.0,
        ..FaultConfig::none()
    });
    let refused = org.post("/sobjects/Account", json!({"Name": "Lost"})).await;
    assert_eq!(
        (refused.status, refused.error_code()),
        (StatusCode::SERVICE_UNAVAILABLE, "SERVER_UNAVAILABLE")
    );
    // Login and the versions list are never faulted, so a client can always get a session.
    let versions = org
        .client
        .get(org.url("/services/data"))
        .send()
        .await
        .unwrap();
    assert_eq!(versions.status(), StatusCode::OK);
    let login = org
        .client
        .post(org.url("/services/oauth2/token"))
        .form(&[
            ("grant_type", "password"),
            ("client_id", forcebridge_emulator::DEFAULT_CLIENT_ID),
            ("client_secret", forcebridge_emulator::DEFAULT_CLIENT_SECRET),
            ("username", forcebridge_emulator::DEFAULT_USERNAME),
            ("password", "forcebridgeLOCALTOKEN"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), StatusCode::OK);

    // A cut connection: the write happens, the client never hears the answer.
    org.emulator.set_faults(FaultConfig {
        reset_rate: 1.0,
        ..FaultConfig::none()
    });
    let cut = org
        .client
        .post(org.data("/sobjects/Account"))
        .bearer_auth(&org.token)
        .json(&json!({"Name": "Written"}))
        .send()
        .await;
    let body_failed = match cut {
        Err(_) => true,
        Ok(response) => response.bytes().await.is_err(),
    };
    assert!(body_failed, "the response should have been cut");

    // Latency is added to every API response. Measured on tokio's clock, paused: the delay
    // passes without waiting, and the measure does not depend on the machine's speed.
    let latency = Duration::from_secs(3600);
    org.emulator.set_faults(FaultConfig {
        latency,
        ..FaultConfig::none()
    });
    tokio::time::pause();
    let started = tokio::time::Instant::now();
    assert_eq!(org.get("/sobjects").await.status, StatusCode::OK);
    assert!(started.elapsed() >= latency);
    tokio::time::resume();

    org.emulator.set_faults(FaultConfig::none());
    assert_eq!(
        count().await,
        1,
        "the 503 wrote nothing, the cut write landed"
    );
}
