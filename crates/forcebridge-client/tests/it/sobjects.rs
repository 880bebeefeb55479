//! sObjects, describe, org resources, the raw escape hatch and read-only clients.

use std::sync::Arc;

use chrono::{Duration as Days, Utc};
use forcebridge_client::{Access, ErrorKind, Method, Record};
use serde_json::json;

use crate::support::TestOrg;

#[tokio::test]
async fn records_are_created_read_updated_and_deleted() {
    let org = TestOrg::start().await;
    let client = org.client();
    let accounts = client.sobject("Account");
    let id = accounts
        .create(&json!({"Name": "Acme", "Industry": "Media"}))
        .await
        .unwrap();
    assert!(id.starts_with("001"));

    let record = accounts.get(&id).await.unwrap();
    assert_eq!(record.sobject_type(), Some("Account"));
    assert_eq!(record.get_str("Industry"), Some("Media"));
    assert!(record.get_str("CreatedDate").is_some());

    let mut change = Record::new();
    change.set("Industry", "Energy");
    accounts.update(&id, &change).await.unwrap();
    #[derive(serde::Deserialize)]
    struct Small {
        #[serde(rename = "Industry")]
        industry: String,
    }
    let small: Small = accounts.get_as(&id, &["Industry"]).await.unwrap();
    assert_eq!(small.industry, "Energy");

    accounts.delete(&id).await.unwrap();
    let error = accounts.get(&id).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Api);
    assert_eq!(error.status(), Some(404));
}

#[tokio::test]
async fn refused_writes_carry_the_orgs_code_message_and_fields() {
    let org = TestOrg::start().await;
    let client = org.client();
    let error = client
        .sobject("Contact")
        .create(&json!({"FirstName": "No last name"}))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Api);
    assert_eq!(error.error_code(), Some("REQUIRED_FIELD_MISSING"));
    assert_eq!(error.api_errors()[0].fields, ["LastName"]);
    let text = error.to_string();
    assert!(
        text.starts_with("POST /services/data/v60.0/sobjects/Contact: REQUIRED_FIELD_MISSING"),
        "{text}"
    );
    assert!(text.contains("(fields: LastName)"), "{text}");
}

#[tokio::test]
async fn upserts_report_whether_they_created() {
    let org = TestOrg::with_external_id().await;
    let client = org.client();
    let accounts = client.sobject("Account");
    let created = accounts
        .upsert("Ext__c", "A/1 x", &json!({"Name": "First"}))
        .await
        .unwrap();
    assert!(created.created);
    let updated = accounts
        .upsert("Ext__c", "A/1 x", &json!({"Name": "Second"}))
        .await
        .unwrap();
    assert_eq!(
        updated,
        forcebridge_client::UpsertOutcome {
            id: created.id.clone(),
            created: false
        }
    );
    let by_key = accounts
        .get_by_external_id("Ext__c", "A/1 x")
        .await
        .unwrap();
    assert_eq!(by_key.get_str("Name"), Some("Second"));
}

#[tokio::test]
async fn describes_are_cached_and_revalidated_with_if_modified_since() {
    let org = TestOrg::start().await;
    let client = org.client();
    let first = client.sobject("Account").describe().await.unwrap();
    assert!(first.fields.iter().any(|f| f.name == "Industry"));
    let sent = client.requests_sent();
    let second = client.sobject("account").describe().await.unwrap();
    assert!(
        Arc::ptr_eq(&first, &second),
        "a 304 reuses the cached describe"
    );
    assert_eq!(client.requests_sent(), sent + 1, "one revalidation request");

    // Within a max age nothing is sent at all.
    let cached = org
        .builder()
        .describe_max_age(std::time::Duration::from_secs(60))
        .build()
        .unwrap();
    cached.sobject("Contact").describe().await.unwrap();
    let sent = cached.requests_sent();
    cached.sobject("Contact").describe().await.unwrap();
    assert_eq!(cached.requests_sent(), sent);

    let global = client.describe_global().await.unwrap();
    assert!(global.sobjects.iter().any(|o| o.name == "Opportunity"));
    let error = client.sobject("Nope__c").describe().await.unwrap_err();
    assert_eq!(error.status(), Some(404));
}

#[tokio::test]
async fn updated_and_deleted_report_a_window() {
    // The org covers whole minutes only, so its clock is moved on past the changes.
    let mut config = forcebridge_emulator::Config::builtin();
    let start = Utc::now() - Days::minutes(10);
    config.fixed_time = Some(start.timestamp_millis() + 60_000);
    let org = TestOrg::with_config(config).await;
    let client = org.client();
    let kept = org
        .create(&client, "Account", json!({"Name": "Kept"}))
        .await;
    let gone = org
        .create(&client, "Account", json!({"Name": "Gone"}))
        .await;
    client.sobject("Account").delete(&gone).await.unwrap();
    org.emulator
        .control()
        .advance_clock(std::time::Duration::from_secs(5 * 60));
    let end = Utc::now();
    let updated = client.sobject("Account").updated(start, end).await.unwrap();
    assert!(updated.ids.contains(&kept), "{updated:?} {kept}");
    let deleted = client.sobject("Account").deleted(start, end).await.unwrap();
    assert_eq!(deleted.records.len(), 1);
    assert_eq!(deleted.records[0].0, gone);
}

#[tokio::test]
async fn org_resources_and_the_raw_escape_hatch() {
    let org = TestOrg::start().await;
    let client = org.client();
    let versions = client.versions().await.unwrap();
    assert!(versions.iter().any(|v| v.version == "60.0"));
    let limits = client.limits().await.unwrap();
    assert!(limits["DailyApiRequests"].max > 0);
    org.create(&client, "Account", json!({"Name": "One"})).await;
    let counts = client.record_counts(&["Account", "Nope"]).await.unwrap();
    assert_eq!(counts, [("Account".to_string(), 1)]);
    let me = client.user_info().await.unwrap();
    assert_eq!(
        me.preferred_username,
        forcebridge_emulator::DEFAULT_USERNAME
    );

    let resources = client.raw(Method::GET, "").send().await.unwrap();
    assert_eq!(resources.status, 200);
    let map: serde_json::Value = resources.json().unwrap();
    assert_eq!(map["query"], "/services/data/v60.0/query");
    let created = client
        .raw(Method::POST, "sobjects/Account")
        .json(&json!({"Name": "Raw"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status, 201);
    let error = client
        .raw(Method::GET, "sobjects/Account/001000000000000AAA")
        .send()
        .await
        .unwrap_err();
    assert_eq!(error.status(), Some(404));
}

#[tokio::test]
async fn a_read_only_client_refuses_writes_before_they_leave() {
    let org = TestOrg::start().await;
    let client = org.builder().access(Access::ReadOnly).build().unwrap();
    client
        .query("SELECT Id FROM Account")
        .fetch_all()
        .await
        .unwrap();
    let sent = client.requests_sent();
    for error in [
        client
            .sobject("Account")
            .create(&json!({"Name": "X"}))
            .await
            .unwrap_err(),
        client
            .sobject("Account")
            .delete("001000000000000AAA")
            .await
            .unwrap_err(),
        client
            .raw(Method::PATCH, "sobjects/Account/001000000000000AAA")
            .json(&json!({}))
            .send()
            .await
            .unwrap_err(),
    ] {
        assert_eq!(error.kind(), ErrorKind::NotSent);
        assert!(error.to_string().contains("read-only"), "{error}");
    }
    assert_eq!(client.requests_sent(), sent, "nothing was sent");
    let count = org
        .client()
        .query("SELECT COUNT() FROM Account")
        .total_size()
        .await
        .unwrap();
    assert_eq!(count, 0);
}

#[tokio::test]
async fn the_orgs_clock_is_read_from_its_answers() {
    let org = TestOrg::start().await;
    let client = org.client();
    assert_eq!(client.server_time(), None);
    client.limits().await.unwrap();
    let first = client.server_time().expect("a Date header");
    let control = org.emulator.control();
    assert!((control.now() - first).num_seconds().abs() <= 1);
    // The org's clock, not this machine's: moved a day on, the next answer says so.
    control.advance_clock(std::time::Duration::from_secs(86_400));
    client.limits().await.unwrap();
    let later = client.server_time().unwrap();
    assert!(
        (later - first).num_seconds() >= 86_399,
        "{first} then {later}"
    );
}
