//! Duplicate rules: what a save that matches a saved record meets on every write path, and
//! what the duplicate rule header changes.

use forcebridge_emulator::{Config, DuplicateAction, DuplicateRuleConfig};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{Reply, TestOrg};

const ALLOW_SAVE: &str = "allowSave=true, includeRecordDetails=false, runAsCurrentUser=true";

impl TestOrg {
    /// `method` on `path` (under the data URL) with the duplicate rule header acknowledging
    /// alerts.
    async fn send_allowing(&self, method: Method, path: &str, body: Value) -> Reply {
        let request = self
            .client
            .request(method, self.data(path))
            .bearer_auth(&self.token)
            .header("Sforce-Duplicate-Rule-Header", ALLOW_SAVE)
            .json(&body);
        Reply::from(request.send().await.unwrap()).await
    }

    async fn lead_count(&self, email: &str) -> u64 {
        let reply = self
            .get(&format!(
                "/query?q=SELECT+Id+FROM+Lead+WHERE+Email='{email}'"
            ))
            .await;
        reply.json["totalSize"].as_u64().unwrap()
    }
}

fn lead(last: &str, email: &str) -> Value {
    json!({"LastName": last, "Company": "Acme", "Email": email})
}

async fn org_with(action: DuplicateAction) -> (TestOrg, String) {
    let org = TestOrg::start().await;
    let existing = org.create("Lead", lead("First", "ann@example.com")).await;
    org.control()
        .add_duplicate_rule(DuplicateRuleConfig::new(
            "Lead",
            "Lead_Email",
            ["Email"],
            action,
        ))
        .unwrap();
    (org, existing)
}

#[tokio::test]
async fn an_alert_rule_refuses_a_rest_create_unless_the_header_allows_it() {
    let (org, existing) = org_with(DuplicateAction::Alert).await;
    // Another case is still the same email.
    let refused = org
        .post("/sobjects/Lead", lead("Second", "ANN@example.com"))
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.text);
    assert_eq!(refused.error_code(), "DUPLICATES_DETECTED");
    assert_eq!(refused.json[0]["message"], "Use one of these records?");
    assert_eq!(refused.json[0]["fields"], json!([]));
    let result = &refused.json[0]["duplicateResult"];
    assert_eq!(result["allowSave"], true);
    assert_eq!(result["duplicateRule"], "Lead_Email");
    assert_eq!(result["matchResults"][0]["size"], 1);
    assert_eq!(
        result["matchResults"][0]["matchRecords"][0]["record"]["Id"],
        existing.as_str()
    );
    assert_eq!(org.lead_count("ann@example.com").await, 1);

    let saved = org
        .send_allowing(
            Method::POST,
            "/sobjects/Lead",
            lead("Second", "ann@example.com"),
        )
        .await;
    assert_eq!(saved.status, StatusCode::CREATED, "{}", saved.text);
    assert_eq!(org.lead_count("ann@example.com").await, 2);

    // An update into a duplicate meets the rule too; an empty email never matches.
    let other = org.create("Lead", lead("Third", "bob@example.com")).await;
    let update = org
        .patch(
            &format!("/sobjects/Lead/{other}"),
            json!({"Email": "ann@example.com"}),
        )
        .await;
    assert_eq!(
        update.error_code(),
        "DUPLICATES_DETECTED",
        "{}",
        update.text
    );
    org.create("Lead", json!({"LastName": "NoMail", "Company": "Acme"}))
        .await;
    org.create("Lead", json!({"LastName": "NoMail2", "Company": "Acme"}))
        .await;
}

#[tokio::test]
async fn a_block_rule_refuses_even_with_the_header_and_an_allow_rule_never_does() {
    let (org, _) = org_with(DuplicateAction::Block).await;
    let refused = org
        .send_allowing(
            Method::POST,
            "/sobjects/Lead",
            lead("Second", "ann@example.com"),
        )
        .await;
    assert_eq!(
        refused.error_code(),
        "DUPLICATES_DETECTED",
        "{}",
        refused.text
    );
    assert_eq!(refused.json[0]["duplicateResult"]["allowSave"], false);
    assert_eq!(org.lead_count("ann@example.com").await, 1);

    // Control inserts meet the rule as a request without the header does.
    let err = org
        .control()
        .insert("Lead", [lead("Third", "ann@example.com")])
        .unwrap_err();
    assert!(err.to_string().contains("DUPLICATES_DETECTED"), "{err}");

    // Removed, the rule no longer stops anything; an Allow rule never does.
    org.control()
        .remove_duplicate_rule("Lead", "Lead_Email")
        .unwrap();
    let mut allow =
        DuplicateRuleConfig::new("Lead", "Report_Only", ["Email"], DuplicateAction::Allow);
    allow.message = Some("reported".into());
    org.control().add_duplicate_rule(allow).unwrap();
    org.create("Lead", lead("Fourth", "ann@example.com")).await;
    assert_eq!(org.lead_count("ann@example.com").await, 2);
    assert!(
        org.control()
            .remove_duplicate_rule("Lead", "Lead_Email")
            .is_err()
    );
    let bad = org.control().add_duplicate_rule(DuplicateRuleConfig::new(
        "Lead",
        "Bad",
        ["Nope__c"],
        DuplicateAction::Block,
    ));
    assert!(
        bad.unwrap_err()
            .to_string()
            .contains("Lead has no field Nope__c")
    );
}

#[tokio::test]
async fn collections_composite_and_batch_report_duplicates_per_record() {
    let (org, _) = org_with(DuplicateAction::Alert).await;
    let records = json!({"allOrNone": false, "records": [
        {"attributes": {"type": "Lead"}, "LastName": "A", "Company": "Acme", "Email": "ann@example.com"},
        {"attributes": {"type": "Lead"}, "LastName": "B", "Company": "Acme", "Email": "new@example.com"},
        // Records of one save are not compared with each other.
        {"attributes": {"type": "Lead"}, "LastName": "C", "Company": "Acme", "Email": "new@example.com"},
    ]});
    let reply = org.post("/composite/sobjects", records.clone()).await;
    assert_eq!(reply.json[0]["success"], false, "{}", reply.text);
    assert_eq!(
        reply.json[0]["errors"][0]["statusCode"],
        "DUPLICATES_DETECTED"
    );
    assert_eq!(reply.json[1]["success"], true);
    assert_eq!(reply.json[2]["success"], true);

    let allowed = org
        .send_allowing(Method::POST, "/composite/sobjects", records)
        .await;
    assert!(
        allowed
            .json
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["success"] == true),
        "{}",
        allowed.text
    );
    assert_eq!(org.lead_count("ann@example.com").await, 2);

    // A composite sub-request may carry its own header; the second sees the first as saved.
    let composite = org
        .post(
            "/composite",
            json!({"allOrNone": false, "compositeRequest": [
                {"method": "POST", "url": "/services/data/v60.0/sobjects/Lead", "referenceId": "one",
                 "body": lead("D", "dee@example.com")},
                {"method": "POST", "url": "/services/data/v60.0/sobjects/Lead", "referenceId": "two",
                 "body": lead("E", "dee@example.com")},
                {"method": "POST", "url": "/services/data/v60.0/sobjects/Lead", "referenceId": "three",
                 "httpHeaders": {"Sforce-Duplicate-Rule-Header": "allowSave=true"},
                 "body": lead("F", "dee@example.com")},
            ]}),
        )
        .await;
    let results = &composite.json["compositeResponse"];
    assert_eq!(results[0]["httpStatusCode"], 201, "{}", composite.text);
    assert_eq!(results[1]["httpStatusCode"], 400);
    assert_eq!(results[1]["body"][0]["errorCode"], "DUPLICATES_DETECTED");
    assert_eq!(
        results[1]["body"][0]["duplicateResult"]["duplicateRule"],
        "Lead_Email"
    );
    assert_eq!(results[2]["httpStatusCode"], 201);

    // A batch passes its header on to each sub-request.
    let batch_body = json!({"batchRequests": [
        {"method": "POST", "url": "v60.0/sobjects/Lead", "richInput": lead("G", "dee@example.com")},
    ]});
    let batch = org.post("/composite/batch", batch_body.clone()).await;
    assert_eq!(
        batch.json["results"][0]["statusCode"], 400,
        "{}",
        batch.text
    );
    let batch = org
        .send_allowing(Method::POST, "/composite/batch", batch_body)
        .await;
    assert_eq!(
        batch.json["results"][0]["statusCode"], 201,
        "{}",
        batch.text
    );
}

#[tokio::test]
async fn bulk_rows_fail_on_block_rules_and_pass_alert_rules() {
    let mut config = Config::builtin();
    config.duplicate_rules = vec![
        DuplicateRuleConfig::new("Lead", "Lead_Email", ["Email"], DuplicateAction::Block),
        DuplicateRuleConfig::new(
            "Lead",
            "Lead_Name",
            ["LastName", "Company"],
            DuplicateAction::Alert,
        ),
    ];
    let org = TestOrg::with_config(config).await;
    org.create("Lead", lead("Smith", "ann@example.com")).await;
    let (job, info) = org
        .ingest(
            json!({"object": "Lead", "operation": "insert", "lineEnding": "LF"}),
            &["LastName,Company,Email\nOther,Acme,ann@example.com\nSmith,Acme,smith2@example.com\n"],
        )
        .await;
    assert_eq!(info["numberRecordsFailed"], 1, "{info}");
    assert_eq!(info["numberRecordsProcessed"], 2);
    let failed = org.results(&job, "failedResults").await;
    assert!(
        failed.contains("DUPLICATES_DETECTED:Use one of these records?:"),
        "{failed}"
    );
    assert!(failed.contains("ann@example.com"), "{failed}");
}

#[tokio::test]
async fn the_org_file_declares_duplicate_rules() {
    let config = Config::from_toml(
        r#"
        [[duplicate_rules]]
        object = "Account"
        name = "Account_Name"
        fields = ["Name"]
        on_create = "block"
        on_edit = "allow"
        message = "That account exists"
        "#,
    )
    .unwrap();
    assert_eq!(config.duplicate_rules[0].on_edit, DuplicateAction::Allow);
    let org = TestOrg::with_config(config).await;
    let first = org.create("Account", json!({"Name": "Acme"})).await;
    let refused = org.post("/sobjects/Account", json!({"Name": "acme"})).await;
    assert_eq!(
        refused.error_code(),
        "DUPLICATES_DETECTED",
        "{}",
        refused.text
    );
    assert_eq!(refused.json[0]["message"], "That account exists");
    // Edits are allowed by this rule.
    let second = org.create("Account", json!({"Name": "Beta"})).await;
    let edit = org
        .patch(
            &format!("/sobjects/Account/{second}"),
            json!({"Name": "Acme"}),
        )
        .await;
    assert_eq!(edit.status, StatusCode::NO_CONTENT, "{}", edit.text);
    assert_ne!(first, second);

    let missing = Config::from_toml(
        "[[duplicate_rules]]\nobject = \"Account\"\nname = \"X\"\nfields = [\"Name\"]\n",
    )
    .unwrap_err();
    assert!(missing.to_string().contains("give an action"), "{missing}");
}
