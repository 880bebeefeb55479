//! Custom objects and custom fields from an org file, seen through describe and used by writes.

use forcebridge_emulator::{Config, FaultConfig};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::TestOrg;

const ORG_FILE: &str = r#"
[[objects]]
name = "Invoice__c"
label = "Invoice"
fields = [
  { name = "Amount__c", type = "currency", precision = 10, scale = 2, required = true },
  { name = "Status__c", type = "picklist", values = ["Draft", "Sent", "Paid"], restricted = true, default = "Draft" },
  { name = "Number__c", type = "string", length = 20, external_id = true },
  { name = "Account__c", type = "reference", reference_to = "Account", child_relationship_name = "Invoices" },
  { name = "Paid_On__c", type = "date" },
  { name = "Site__c", type = "location" },
]

[[objects]]
name = "Account"
extends = true
fields = [
  { name = "Tier__c", type = "picklist", values = ["Gold", "Silver", "Bronze"], restricted = true },
  { name = "Seats__c", type = "int", precision = 6, default = 5 },
]
"#;

async fn org() -> TestOrg {
    TestOrg::with_config(Config::from_toml(ORG_FILE).unwrap()).await
}

fn field<'a>(describe: &'a Value, name: &str) -> &'a Value {
    describe["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == name)
        .unwrap_or_else(|| panic!("describe has no field {name}"))
}

#[tokio::test]
async fn describe_shows_custom_objects_and_custom_fields_on_standard_objects() {
    let org = org().await;
    let global = org.get("/sobjects").await;
    let entry = global.json["sobjects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["name"] == "Invoice__c")
        .expect("the custom object is listed")
        .clone();
    assert_eq!(
        (
            &entry["custom"],
            &entry["keyPrefix"],
            &entry["label"],
            &entry["labelPlural"]
        ),
        (
            &json!(true),
            &json!("a00"),
            &json!("Invoice"),
            &json!("Invoices")
        )
    );

    let invoice = org.get("/sobjects/Invoice__c/describe").await;
    assert_eq!(invoice.status, StatusCode::OK, "{}", invoice.text);
    let amount = field(&invoice.json, "Amount__c");
    assert_eq!(
        (
            &amount["type"],
            &amount["precision"],
            &amount["scale"],
            &amount["nillable"],
            &amount["custom"]
        ),
        (
            &json!("currency"),
            &json!(10),
            &json!(2),
            &json!(false),
            &json!(true)
        )
    );
    let status = field(&invoice.json, "Status__c");
    assert_eq!(status["restrictedPicklist"], json!(true));
    assert_eq!(status["defaultValue"], json!("Draft"));
    assert_eq!(
        status["picklistValues"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["value"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["Draft", "Sent", "Paid"]
    );
    let number = field(&invoice.json, "Number__c");
    assert_eq!(
        (&number["externalId"], &number["unique"], &number["length"]),
        (&json!(true), &json!(true), &json!(20))
    );
    let account = field(&invoice.json, "Account__c");
    assert_eq!(
        (
            &account["type"],
            &account["referenceTo"],
            &account["relationshipName"]
        ),
        (
            &json!("reference"),
            &json!(["Account"]),
            &json!("Account__r")
        )
    );
    assert_eq!(field(&invoice.json, "Site__c")["type"], json!("location"));
    assert_eq!(
        field(&invoice.json, "Site__Latitude__s")["type"],
        json!("double")
    );
    assert_eq!(field(&invoice.json, "Name")["type"], json!("string"));
    assert_eq!(
        field(&invoice.json, "OwnerId")["referenceTo"],
        json!(["User"])
    );

    let account_describe = org.get("/sobjects/Account/describe").await;
    let tier = field(&account_describe.json, "Tier__c");
    assert_eq!(
        (&tier["type"], &tier["custom"]),
        (&json!("picklist"), &json!(true))
    );
    assert_eq!(
        field(&account_describe.json, "Name")["custom"],
        json!(false)
    );
    let invoices = account_describe.json["childRelationships"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["childSObject"] == "Invoice__c")
        .expect("Account lists its invoices")
        .clone();
    assert_eq!(
        (&invoices["relationshipName"], &invoices["field"]),
        (&json!("Invoices__r"), &json!("Account__c"))
    );
}

#[tokio::test]
async fn custom_records_are_written_with_the_fields_rules() {
    let org = org().await;
    let account = org
        .create("Account", json!({"Name": "Acme", "Tier__c": "gold"}))
        .await;
    let fetched = org.get(&format!("/sobjects/Account/{account}")).await;
    assert_eq!(
        fetched.json["Tier__c"],
        json!("Gold"),
        "picklist values take their canonical case"
    );
    assert_eq!(
        fetched.json["Seats__c"],
        json!(5),
        "an int default is stored as an int"
    );

    let invoice = org
        .create(
            "Invoice__c",
            json!({"Name": "INV-1", "Amount__c": 120.456, "Account__c": account}),
        )
        .await;
    assert!(invoice.starts_with("a00"), "{invoice}");
    let fetched = org.get(&format!("/sobjects/Invoice__c/{invoice}")).await;
    assert_eq!(fetched.json["Amount__c"], json!(120.46));
    assert_eq!(fetched.json["Status__c"], json!("Draft"));
    assert_eq!(fetched.json["attributes"]["type"], json!("Invoice__c"));

    let missing = org
        .post("/sobjects/Invoice__c", json!({"Name": "INV-2"}))
        .await;
    assert_eq!(
        (missing.status, missing.error_code()),
        (StatusCode::BAD_REQUEST, "REQUIRED_FIELD_MISSING")
    );
    assert_eq!(missing.json[0]["fields"], json!(["Amount__c"]));

    let bad_status = org
        .post(
            "/sobjects/Invoice__c",
            json!({"Name": "INV-3", "Amount__c": 1, "Status__c": "Lost"}),
        )
        .await;
    assert_eq!(
        bad_status.error_code(),
        "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    );
    let bad_tier = org
        .patch(
            &format!("/sobjects/Account/{account}"),
            json!({"Tier__c": "Platinum"}),
        )
        .await;
    assert_eq!(
        bad_tier.error_code(),
        "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    );

    let wrong_parent = org
        .post(
            "/sobjects/Invoice__c",
            json!({"Name": "INV-4", "Amount__c": 1, "Account__c": invoice}),
        )
        .await;
    assert_eq!(wrong_parent.error_code(), "FIELD_INTEGRITY_EXCEPTION");

    let created = org
        .patch(
            "/sobjects/Invoice__c/Number__c/N-100",
            json!({"Name": "INV-5", "Amount__c": 10}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let id = created.json["id"].as_str().unwrap().to_string();
    let updated = org
        .patch(
            "/sobjects/Invoice__c/Number__c/n-100",
            json!({"Amount__c": 20}),
        )
        .await;
    assert_eq!(
        (
            updated.status,
            &updated.json["id"],
            &updated.json["created"]
        ),
        (StatusCode::OK, &json!(id), &json!(false))
    );
    let by_number = org.get("/sobjects/Invoice__c/Number__c/N-100").await;
    assert_eq!(by_number.json["Amount__c"], json!(20.0));
    let duplicate = org
        .post(
            "/sobjects/Invoice__c",
            json!({"Name": "INV-6", "Amount__c": 1, "Number__c": "N-100"}),
        )
        .await;
    assert_eq!(duplicate.error_code(), "DUPLICATE_VALUE");
}

#[tokio::test]
async fn an_invalid_org_file_stops_the_start_with_a_message_naming_the_problem() {
    let config = Config::from_toml(
        r#"
        [[objects]]
        name = "Invoice__c"
        fields = [{ name = "Account__c", type = "reference", reference_to = "Acount" }]
        "#,
    )
    .unwrap();
    let error = forcebridge_emulator::Emulator::start(config, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "invalid schema: objects[0] (Invoice__c): field Account__c: reference_to names unknown object Acount"
    );
}

/// The org file shown in the README starts an org, with everything it declares.
#[tokio::test]
async fn the_readme_org_file_is_valid() {
    let readme = include_str!("../../../../README.md");
    let start = readme
        .find("### The org file")
        .and_then(|at| readme[at..].find("```toml\n").map(|offset| at + offset + 8))
        .expect("the README shows an org file");
    let end = start + readme[start..].find("```").unwrap();
    let config = Config::from_toml(&readme[start..end]).unwrap();
    // The file turns on a few injected faults; they are read, then turned off, so that they
    // cannot fail the requests below at random (2% each).
    assert!(config.faults.error_rate > 0.0 && !config.faults.latency.is_zero());
    let org = TestOrg::with_config(config).await;
    org.emulator.set_faults(FaultConfig::none());
    let lines = org.get("/sobjects/Invoice_Line__c/describe").await;
    assert_eq!(lines.status, StatusCode::OK, "{}", lines.text);
    assert_eq!(
        field(&lines.json, "Invoice__c")["cascadeDelete"],
        json!(true)
    );
    let invoices = org.get("/sobjects/Invoice__c/describe").await;
    assert_eq!(
        field(&invoices.json, "Amount__c")["inlineHelpText"],
        json!("The invoice total, tax included")
    );
    assert_eq!(
        field(&invoices.json, "Status__c")["inlineHelpText"],
        json!(null)
    );
    let account = org.get("/sobjects/Account/describe").await;
    assert_eq!(account.status, StatusCode::OK, "{}", account.text);
    assert_eq!(
        field(&account.json, "Headquarters__c")["type"],
        json!("location")
    );
    let refused = org
        .post(
            "/sobjects/Invoice__c",
            json!({"Name": "INV-0", "Amount__c": 0, "Status__c": "Paid"}),
        )
        .await;
    assert_eq!(
        (refused.status, refused.error_code()),
        (StatusCode::BAD_REQUEST, "FIELD_CUSTOM_VALIDATION_EXCEPTION"),
        "the file's validation rule holds: {}",
        refused.text
    );
    let invoices = org.get("/query?q=SELECT+COUNT()+FROM+Invoice__c").await;
    assert!(
        invoices.json["totalSize"].as_u64().unwrap() > 0,
        "the seed in the file generated invoices"
    );
}

#[tokio::test]
async fn validation_rules_from_the_org_file_refuse_saves_that_break_them() {
    let config = Config::from_toml(
        r#"
        [[objects]]
        name = "Invoice__c"
        fields = [
          { name = "Amount__c", type = "currency" },
          { name = "Status__c", type = "picklist", values = ["Draft", "Paid"] },
        ]

        [[validation_rules]]
        object = "Invoice__c"
        name = "Paid_Invoices_Need_An_Amount"
        condition = "Status__c = 'Paid' AND (Amount__c = null OR Amount__c <= 0)"
        message = "A paid invoice needs an amount"
        field = "Amount__c"

        [[validation_rules]]
        object = "Account"
        name = "No_Test_Accounts"
        condition = "Name LIKE 'test%'"
        message = "Test accounts are not allowed"
        "#,
    )
    .unwrap();
    let org = TestOrg::with_config(config).await;
    let refused = org
        .post(
            "/sobjects/Invoice__c",
            json!({"Name": "I-1", "Status__c": "Paid"}),
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        refused.json,
        json!([{
            "message": "A paid invoice needs an amount",
            "errorCode": "FIELD_CUSTOM_VALIDATION_EXCEPTION",
            "fields": ["Amount__c"],
        }])
    );
    let id = org
        .create("Invoice__c", json!({"Name": "I-1", "Status__c": "Draft"}))
        .await;
    let update = org
        .patch(
            &format!("/sobjects/Invoice__c/{id}"),
            json!({"Status__c": "Paid"}),
        )
        .await;
    assert_eq!(update.error_code(), "FIELD_CUSTOM_VALIDATION_EXCEPTION");
    let paid = org
        .patch(
            &format!("/sobjects/Invoice__c/{id}"),
            json!({"Status__c": "Paid", "Amount__c": 10}),
        )
        .await;
    assert_eq!(paid.status, StatusCode::NO_CONTENT, "{}", paid.text);
    let test_account = org
        .post("/sobjects/Account", json!({"Name": "Test Co"}))
        .await;
    assert_eq!(
        test_account.error_code(),
        "FIELD_CUSTOM_VALIDATION_EXCEPTION"
    );
    assert_eq!(
        test_account.json[0]["message"],
        json!("Test accounts are not allowed")
    );
}
