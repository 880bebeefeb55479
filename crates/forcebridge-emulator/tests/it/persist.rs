//! The org kept in a data directory, through the public API: one org per directory, an org
//! made with another schema refused, records back the same after a shutdown and a restart, the
//! Organization record made again at every start, and no schema change at run time.

use forcebridge_emulator::{Config, Emulator, ErrorKind, FieldConfig};
use reqwest::StatusCode;
use serde_json::json;

use crate::support::{TempDir, TestOrg};

fn config(dir: &TempDir) -> Config {
    let mut config = Config::builtin();
    config.data_dir = Some(dir.path().to_path_buf());
    config
}

fn journal_lines(dir: &TempDir) -> Vec<String> {
    std::fs::read_to_string(dir.path().join("org.journal"))
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

async fn start(config: Config) -> Result<Emulator, forcebridge_emulator::Error> {
    Emulator::start(config, "127.0.0.1:0".parse().unwrap()).await
}

#[tokio::test]
async fn an_org_made_with_another_schema_is_refused() {
    let dir = TempDir::new();
    let mut custom = Config::from_toml(
        r#"
        [[objects]]
        name = "Invoice__c"
        [[objects]]
        name = "Account"
        extends = true
        fields = [{ name = "Tier__c", type = "string" }]
        "#,
    )
    .unwrap();
    custom.data_dir = Some(dir.path().to_path_buf());
    start(custom).await.unwrap().shutdown().await;
    let error = start(config(&dir)).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::DataDir);
    assert_eq!(
        error.to_string(),
        format!(
            "the data directory {} holds an org with another schema (Account has other fields, Invoice__c is not in this schema); start with the org file it was made with, or use another data directory",
            dir.path().display()
        )
    );
}

#[tokio::test]
async fn a_data_directory_serves_one_org_at_a_time() {
    let dir = TempDir::new();
    let first = start(config(&dir)).await.unwrap();
    let error = start(config(&dir)).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::DataDir);
    assert!(
        error.to_string().contains("is in use by another local org"),
        "{error}"
    );
    first.shutdown().await;
    start(config(&dir)).await.unwrap().shutdown().await;
}

#[tokio::test]
async fn shutting_down_writes_a_snapshot_and_records_come_back_the_same() {
    let dir = TempDir::new();
    let org = TestOrg::with_config(config(&dir)).await;
    let id = org
        .create("Account", json!({"Name": "Acme", "NumberOfEmployees": 12}))
        .await;
    let before = org.get(&format!("/sobjects/Account/{id}")).await;
    assert_eq!(before.status, StatusCode::OK);
    org.emulator.shutdown().await;
    assert_eq!(
        journal_lines(&dir).len(),
        1,
        "the journal was folded into the snapshot"
    );

    let emulator = Emulator::start(config(&dir), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let token = emulator.access_token();
    let after = reqwest::Client::new()
        .get(format!(
            "{}/services/data/v60.0/sobjects/Account/{id}",
            emulator.url()
        ))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(after.status(), StatusCode::OK);
    let after: serde_json::Value = after.json().await.unwrap();
    assert_eq!(after, before.json);
    emulator.shutdown().await;
}

#[tokio::test]
async fn the_organization_record_is_the_same_after_a_restart_and_never_in_the_files() {
    let dir = TempDir::new();
    let org = TestOrg::with_config(config(&dir)).await;
    let soql = "/query?q=SELECT+Id,Name,CreatedDate,OrganizationType+FROM+Organization";
    let before = org.get(soql).await;
    assert_eq!(before.status, StatusCode::OK, "{}", before.text);
    assert_eq!(before.json["totalSize"], 1);
    org.create("Account", json!({"Name": "Acme"})).await;
    org.emulator.shutdown().await;
    let files = std::fs::read_to_string(dir.path().join("org.snapshot")).unwrap();
    assert!(!files.contains("Organization"), "{files}");

    let again = TestOrg::with_config(config(&dir)).await;
    let after = again.get(soql).await;
    assert_eq!(after.json["records"], before.json["records"]);
    again.emulator.shutdown().await;
}

#[tokio::test]
async fn the_schema_of_an_org_in_a_data_directory_does_not_change_at_run_time() {
    let dir = TempDir::new();
    let org = TestOrg::with_config(config(&dir)).await;
    let error = org
        .emulator
        .control()
        .add_field("Account", FieldConfig::new("Tier__c", "string"))
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Control);
    assert!(error.to_string().contains("data directory"), "{error}");
    let describe = org.get("/sobjects/Account/describe").await;
    assert!(!describe.text.contains("Tier__c"));
    org.emulator.shutdown().await;
    assert_eq!(journal_lines(&dir).len(), 1);
}
