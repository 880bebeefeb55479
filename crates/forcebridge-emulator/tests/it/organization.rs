//! The Organization object: one record, the org itself, queryable and describable, never
//! written through the API.

use forcebridge_emulator::Config;
use reqwest::StatusCode;
use serde_json::json;

use crate::support::TestOrg;

#[tokio::test]
async fn the_organization_is_one_record_named_after_the_org() {
    let mut config = Config::builtin();
    config.org_name = "Acme (local)".to_string();
    let org = TestOrg::with_config(config).await;
    let reply = org
        .get("/query?q=SELECT+Id,Name,OrganizationType,InstanceName,IsSandbox,NamespacePrefix,DefaultLocaleSidKey,TimeZoneSidKey,LanguageLocaleKey,PrimaryContact,Country,CreatedById,CreatedDate,SystemModstamp+FROM+Organization")
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.json["totalSize"], 1);
    let record = &reply.json["records"][0];
    let control = org.control();
    assert_eq!(record["Id"], control.org_id().as_str());
    assert_eq!(
        record["attributes"]["url"],
        format!(
            "/services/data/v60.0/sobjects/Organization/{}",
            control.org_id()
        )
    );
    assert_eq!(record["Name"], "Acme (local)");
    assert_eq!(record["OrganizationType"], "Developer Edition");
    assert_eq!(record["IsSandbox"], false);
    assert_eq!(record["NamespacePrefix"], json!(null));
    assert_eq!(record["DefaultLocaleSidKey"], "en_US");
    assert_eq!(record["LanguageLocaleKey"], "en_US");
    assert_eq!(record["PrimaryContact"], "Local Admin");
    assert_eq!(record["CreatedById"], control.user_ids()[0].as_str());
    assert!(record["InstanceName"].is_string() && record["TimeZoneSidKey"].is_string());
    assert_eq!(record["CreatedDate"], record["SystemModstamp"]);
    // As Salesforce's org id, it is retrieved by id too.
    let by_id = org
        .get(&format!("/sobjects/Organization/{}", control.org_id()))
        .await;
    assert_eq!(by_id.json["Name"], "Acme (local)");
}

#[tokio::test]
async fn the_organization_is_described_read_only_and_refuses_writes() {
    let org = TestOrg::start().await;
    let describe = org.get("/sobjects/Organization/describe").await;
    assert_eq!(describe.status, StatusCode::OK, "{}", describe.text);
    assert_eq!(describe.json["keyPrefix"], "00D");
    for flag in ["createable", "updateable", "deletable", "undeletable"] {
        assert_eq!(describe.json[flag], false, "{flag}");
    }
    assert_eq!(describe.json["queryable"], true);
    let name = describe.json["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "Name")
        .unwrap();
    assert_eq!(name["updateable"], false);
    let global = org.get("/sobjects").await;
    assert!(
        global.json["sobjects"]
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o["name"] == "Organization" && o["createable"] == false)
    );

    let id = org.control().org_id();
    let create = org
        .post("/sobjects/Organization", json!({"Name": "Another"}))
        .await;
    let update = org
        .patch(
            &format!("/sobjects/Organization/{id}"),
            json!({"Name": "Renamed"}),
        )
        .await;
    let delete = org.delete(&format!("/sobjects/Organization/{id}")).await;
    for (reply, operation) in [(create, "insert"), (update, "update"), (delete, "delete")] {
        assert_eq!(
            (reply.status, reply.error_code()),
            (StatusCode::BAD_REQUEST, "INVALID_TYPE_FOR_OPERATION"),
            "{operation}: {}",
            reply.text
        );
        assert_eq!(
            reply.json[0]["message"],
            format!("entity type Organization does not support {operation}")
        );
    }
    let still = org.get("/query?q=SELECT+Name+FROM+Organization").await;
    assert_eq!(still.json["totalSize"], 1);
    assert_eq!(still.json["records"][0]["Name"], "forcebridge local org");
}
