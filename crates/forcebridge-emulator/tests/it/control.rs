//! The control surface, observed over HTTP as a client would observe it: a field or object
//! added while the org runs, an emptied recycle bin, records sharing one `SystemModstamp`, a
//! late commit, the clock, sessions, identities, counts, and seeded faults (`UNABLE_TO_LOCK_ROW`
//! in every write API among them).

use std::time::Duration;

use chrono::{DateTime, Utc};
use forcebridge_emulator::{
    Config, ErrorKind, FaultConfig, FaultScope, FieldConfig, FieldDefault, ObjectConfig,
};
use reqwest::{StatusCode, header};
use serde_json::{Value, json};

use crate::support::{Reply, TestOrg, at, salesforce_time};

fn encode(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

async fn query(org: &TestOrg, soql: &str) -> Reply {
    let reply = org.get(&format!("/query?q={}", encode(soql))).await;
    assert_eq!(reply.status, StatusCode::OK, "{soql}: {}", reply.text);
    reply
}

async fn query_all(org: &TestOrg, soql: &str) -> Reply {
    let reply = org.get(&format!("/queryAll?q={}", encode(soql))).await;
    assert_eq!(reply.status, StatusCode::OK, "{soql}: {}", reply.text);
    reply
}

/// An org whose clock starts at `2026-03-10T12:00:00Z` and moves only when told to.
async fn clocked() -> TestOrg {
    let mut config = Config::builtin();
    config.fixed_time = Some(at("2026-03-10T12:00:00Z"));
    TestOrg::with_config(config).await
}

fn time(text: &str) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(at(text)).unwrap()
}

fn field<'a>(describe: &'a Value, name: &str) -> Option<&'a Value> {
    describe["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == name)
}

#[tokio::test]
async fn a_field_added_at_run_time_is_described_queried_written_and_bulk_loaded() {
    let org = TestOrg::start().await;
    let control = org.control();
    let old = org.create("Account", json!({"Name": "Before"})).await;
    let before = query(
        &org,
        &format!("SELECT SystemModstamp FROM Account WHERE Id = '{old}'"),
    )
    .await;
    let stamp = before.json["records"][0]["SystemModstamp"].clone();
    let first = org.get("/sobjects/Account/describe").await;
    assert!(field(&first.json, "Tier__c").is_none());
    let date = first.headers[header::DATE].to_str().unwrap().to_string();
    // Unchanged, a revalidation is answered 304 (as the client's describe cache expects).
    let unchanged = org
        .client
        .get(org.data("/sobjects/Account/describe"))
        .bearer_auth(&org.token)
        .header(header::IF_MODIFIED_SINCE, &date)
        .send()
        .await
        .unwrap();
    assert_eq!(unchanged.status(), StatusCode::NOT_MODIFIED);

    let mut tier = FieldConfig::new("Tier__c", "picklist");
    tier.values = vec!["Gold".into(), "Silver".into()];
    tier.default = Some(FieldDefault::Text("Silver".into()));
    control.add_field("Account", tier).unwrap();

    // The same revalidation now brings the new describe, for the object and the whole org.
    for path in ["/sobjects/Account/describe", "/sobjects"] {
        let revalidated = Reply::from(
            org.client
                .get(org.data(path))
                .bearer_auth(&org.token)
                .header(header::IF_MODIFIED_SINCE, &date)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(revalidated.status, StatusCode::OK, "{path}");
    }
    let described = org.get("/sobjects/Account/describe").await;
    let tier = field(&described.json, "Tier__c").expect("the new field is described");
    assert_eq!(tier["type"], "picklist");
    assert_eq!(tier["custom"], true);

    // The existing record reads null there and keeps its SystemModstamp.
    let after = query(
        &org,
        &format!("SELECT Tier__c, SystemModstamp FROM Account WHERE Id = '{old}'"),
    )
    .await;
    assert_eq!(after.json["records"][0]["Tier__c"], Value::Null);
    assert_eq!(after.json["records"][0]["SystemModstamp"], stamp);
    // REST, SOQL filters and Bulk all know it.
    let gold = org
        .create("Account", json!({"Name": "Gold Co", "Tier__c": "Gold"}))
        .await;
    let silver = org.create("Account", json!({"Name": "Default Co"})).await;
    let (_, info) = org
        .ingest(
            json!({"object": "Account", "operation": "insert"}),
            &["Name,Tier__c\nBulk Co,Gold\n"],
        )
        .await;
    assert_eq!(info["numberRecordsProcessed"], 1, "{info}");
    assert_eq!(info["numberRecordsFailed"], 0, "{info}");
    let golds = query(
        &org,
        "SELECT Name FROM Account WHERE Tier__c = 'Gold' ORDER BY Name",
    )
    .await;
    assert_eq!(
        golds.json["records"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["Name"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["Bulk Co", "Gold Co"]
    );
    let defaulted = org.get(&format!("/sobjects/Account/{silver}")).await;
    assert_eq!(defaulted.json["Tier__c"], "Silver");
    assert_ne!(gold, silver);
}

#[tokio::test]
async fn an_object_added_at_run_time_takes_records_and_new_fields_after_them() {
    let org = TestOrg::start().await;
    let control = org.control();
    let mut parent = FieldConfig::new("Account__c", "reference");
    parent.reference_to = Some("Account".into());
    parent.child_relationship_name = Some("Shipments".into());
    control
        .add_object(ObjectConfig::new("Shipment__c", vec![parent]))
        .unwrap();
    let global = org.get("/sobjects").await;
    assert!(
        global.json["sobjects"]
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o["name"] == "Shipment__c")
    );
    let account = org.create("Account", json!({"Name": "Acme"})).await;
    let first = org
        .create("Shipment__c", json!({"Name": "S-1", "Account__c": account}))
        .await;
    // A field of the new object, added later, lands after its existing fields.
    control
        .add_field("Shipment__c", FieldConfig::new("Weight__c", "double"))
        .unwrap();
    org.create(
        "Shipment__c",
        json!({"Name": "S-2", "Account__c": account, "Weight__c": 2.5}),
    )
    .await;
    let rows = query(
        &org,
        "SELECT Name, Weight__c, Account__r.Name FROM Shipment__c ORDER BY Name",
    )
    .await;
    let records = rows.json["records"].as_array().unwrap();
    assert_eq!(records[0]["Weight__c"], Value::Null);
    assert_eq!(records[0]["Account__r"]["Name"], "Acme");
    assert_eq!(records[1]["Weight__c"], 3.0);
    let children = query(
        &org,
        "SELECT (SELECT Name FROM Shipments__r ORDER BY Name) FROM Account",
    )
    .await;
    assert_eq!(children.json["records"][0]["Shipments__r"]["totalSize"], 2);
    assert_eq!(first.len(), 18);

    // Mistakes are refused, naming what is wrong, and change nothing.
    let error = control
        .add_field("Shipment__c", FieldConfig::new("Weight__c", "double"))
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Control);
    assert_eq!(
        error.to_string(),
        "cannot add to the schema of Shipment__c: field Weight__c is already defined on Shipment__c"
    );
    let error = control
        .add_field("Account", FieldConfig::new("Size__c", "enormous"))
        .unwrap_err();
    assert!(
        error.to_string().starts_with(
            "cannot add to the schema of Account: field Size__c: unknown type `enormous`"
        ),
        "{error}"
    );
    let error = control
        .add_field("Acount", FieldConfig::new("X__c", "string"))
        .unwrap_err();
    assert!(error.to_string().contains("Acount"), "{error}");
    let described = org.get("/sobjects/Account/describe").await;
    assert!(field(&described.json, "Size__c").is_none());
}

#[tokio::test]
async fn a_field_removed_at_run_time_leaves_describe_queries_and_writes() {
    let org = TestOrg::start().await;
    let control = org.control();
    control
        .add_field("Account", FieldConfig::new("Tier__c", "string"))
        .unwrap();
    control
        .add_field("Account", FieldConfig::new("Region__c", "string"))
        .unwrap();
    let id = org
        .create(
            "Account",
            json!({"Name": "Acme", "Tier__c": "Gold", "Region__c": "EMEA"}),
        )
        .await;
    let soql = format!("SELECT Name, Region__c, SystemModstamp FROM Account WHERE Id = '{id}'");
    let before = query(&org, &soql).await;
    let date = org.get("/sobjects/Account/describe").await.headers[header::DATE]
        .to_str()
        .unwrap()
        .to_string();

    control.remove_field("Account", "tier__c").unwrap();

    // The describe changes (a revalidation gets it), without the field.
    let revalidated = org
        .client
        .get(org.data("/sobjects/Account/describe"))
        .bearer_auth(&org.token)
        .header(header::IF_MODIFIED_SINCE, &date)
        .send()
        .await
        .unwrap();
    assert_eq!(revalidated.status(), StatusCode::OK);
    let described = org.get("/sobjects/Account/describe").await;
    assert!(field(&described.json, "Tier__c").is_none());
    assert!(field(&described.json, "Region__c").is_some());
    // Queries naming it fail; the other fields, the field after it included, read as before,
    // and the record keeps its SystemModstamp.
    let named = org
        .get(&format!(
            "/query?q={}",
            encode("SELECT Tier__c FROM Account")
        ))
        .await;
    assert_eq!(named.status, StatusCode::BAD_REQUEST, "{}", named.text);
    assert_eq!(named.json[0]["errorCode"], "INVALID_FIELD");
    assert_eq!(query(&org, &soql).await.json, before.json);
    let all = query(
        &org,
        &format!("SELECT FIELDS(ALL) FROM Account WHERE Id = '{id}' LIMIT 1"),
    )
    .await;
    let record = all.json["records"][0].as_object().unwrap();
    assert!(!record.contains_key("Tier__c"), "{record:?}");
    assert_eq!(record["Region__c"], "EMEA");
    // Writes naming it are refused; others go on.
    let refused = org
        .client
        .patch(org.data(&format!("/sobjects/Account/{id}")))
        .bearer_auth(&org.token)
        .json(&json!({"Tier__c": "Silver"}))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    org.create("Account", json!({"Name": "After", "Region__c": "APAC"}))
        .await;

    // Standard and unknown fields cannot be removed; nothing changes.
    for (object, name) in [
        ("Account", "Industry"),
        ("Account", "Tier__c"),
        ("Acount", "X__c"),
    ] {
        let error = control.remove_field(object, name).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Control);
        assert!(
            error
                .to_string()
                .starts_with(&format!("cannot remove {object}.{name}: ")),
            "{error}"
        );
    }
    let error = control.remove_field("Account", "Industry").unwrap_err();
    assert_eq!(
        error.to_string(),
        "cannot remove Account.Industry: only custom fields (from the org file or added at run time) can be removed"
    );
}

#[tokio::test]
async fn a_field_whose_type_changes_keeps_the_values_the_new_type_accepts() {
    let org = TestOrg::start().await;
    let control = org.control();
    let mut score = FieldConfig::new("Score__c", "string");
    score.unique = true;
    control.add_field("Account", score).unwrap();
    let number = org
        .create("Account", json!({"Name": "A", "Score__c": "42.5"}))
        .await;
    let word = org
        .create("Account", json!({"Name": "B", "Score__c": "high"}))
        .await;
    let soql =
        "SELECT Id, Score__c, SystemModstamp FROM Account WHERE Name IN ('A', 'B') ORDER BY Name";
    let before = query(&org, soql).await;

    let mut changed = FieldConfig::new("Score__c", "double");
    changed.precision = Some(18);
    changed.scale = Some(2);
    control.change_field("Account", changed).unwrap();

    let described = org.get("/sobjects/Account/describe").await;
    assert_eq!(
        field(&described.json, "Score__c").unwrap()["type"],
        "double"
    );
    let after = query(&org, soql).await;
    let records = after.json["records"].as_array().unwrap();
    assert_eq!(records[0]["Id"], number.as_str());
    assert_eq!(records[0]["Score__c"], 42.5);
    assert_eq!(records[1]["Id"], word.as_str());
    assert_eq!(records[1]["Score__c"], Value::Null);
    for (old, new) in before.json["records"]
        .as_array()
        .unwrap()
        .iter()
        .zip(records)
    {
        assert_eq!(old["SystemModstamp"], new["SystemModstamp"]);
    }
    // The new type is the one filters and writes use.
    let above = query(&org, "SELECT Name FROM Account WHERE Score__c > 40").await;
    assert_eq!(above.json["totalSize"], 1);
    org.create("Account", json!({"Name": "C", "Score__c": 7}))
        .await;

    // Back to text: numbers keep their text form.
    control
        .change_field("Account", FieldConfig::new("Score__c", "string"))
        .unwrap();
    let text = query(&org, "SELECT Score__c FROM Account WHERE Name = 'A'").await;
    assert_eq!(text.json["records"][0]["Score__c"], "42.5");

    // Reference fields, standard fields and unknown ones cannot change.
    let mut reference = FieldConfig::new("Score__c", "reference");
    reference.reference_to = Some("Contact".into());
    for (object, field) in [
        ("Account", reference),
        ("Account", FieldConfig::new("Industry", "int")),
        ("Account", FieldConfig::new("Nope__c", "int")),
    ] {
        let name = field.name.clone();
        let error = control.change_field(object, field).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Control);
        assert!(
            error
                .to_string()
                .starts_with(&format!("cannot change {object}.{name}: ")),
            "{error}"
        );
    }
    let described = org.get("/sobjects/Account/describe").await;
    assert_eq!(
        field(&described.json, "Score__c").unwrap()["type"],
        "string"
    );
}

#[tokio::test]
async fn an_emptied_recycle_bin_is_gone_from_query_all_and_moves_the_earliest_date() {
    let org = clocked().await;
    let control = org.control();
    let kept = org.create("Account", json!({"Name": "Kept"})).await;
    let gone = org.create("Account", json!({"Name": "Gone"})).await;
    let contact = org.create("Contact", json!({"LastName": "Gone too"})).await;
    org.delete(&format!("/sobjects/Account/{gone}")).await;
    org.delete(&format!("/sobjects/Contact/{contact}")).await;
    org.advance(10 * 60_000);
    let window = |start: &str, end: &str| format!("start={}&end={}", encode(start), encode(end));
    let deleted = org
        .get(&format!(
            "/sobjects/Account/deleted?{}",
            window("2026-03-10T00:00:00+00:00", "2026-03-10T13:00:00+00:00")
        ))
        .await;
    assert_eq!(deleted.json["deletedRecords"][0]["id"], gone.as_str());
    let earliest_before = deleted.json["earliestDateAvailable"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        earliest_before.starts_with("2026-02-23"),
        "{earliest_before}"
    );

    assert_eq!(control.empty_recycle_bin_of("Account").unwrap(), 1);
    let all = query_all(&org, "SELECT Id FROM Account").await;
    assert_eq!(all.json["totalSize"], 1);
    assert_eq!(all.json["records"][0]["Id"], kept.as_str());
    let contacts = query_all(&org, "SELECT Id FROM Contact").await;
    assert_eq!(
        contacts.json["totalSize"], 1,
        "other objects keep their bin"
    );
    let after = org
        .get(&format!(
            "/sobjects/Account/deleted?{}",
            window("2026-03-10T00:00:00+00:00", "2026-03-10T13:00:00+00:00")
        ))
        .await;
    assert_eq!(after.status, StatusCode::OK, "{}", after.text);
    assert_eq!(after.json["deletedRecords"], json!([]));
    let earliest = salesforce_time(after.json["earliestDateAvailable"].as_str().unwrap());
    assert!(
        earliest >= at("2026-03-10T12:10:00Z"),
        "the earliest date is at or after the purge: {}",
        after.text
    );
    // The whole bin: the contact goes too; nothing is left to erase.
    assert_eq!(control.empty_recycle_bin().unwrap(), 1);
    assert_eq!(
        query_all(&org, "SELECT Id FROM Contact").await.json["totalSize"],
        0
    );
    assert_eq!(control.empty_recycle_bin().unwrap(), 0);
}

#[tokio::test]
async fn five_thousand_records_share_one_system_modstamp_across_pages() {
    let org = clocked().await;
    let control = org.control();
    let stamp = time("2026-03-10T11:00:00Z");
    let ids = control
        .insert_with_stamp(
            "Account",
            (0..5_000).map(|i| json!({"Name": format!("Account {i:04}")})),
            stamp,
        )
        .unwrap();
    assert_eq!(ids.len(), 5_000);
    // A sync reads by SystemModstamp: every page, across the page boundaries, has the same one.
    let mut page = query(
        &org,
        "SELECT Id, SystemModstamp, CreatedDate FROM Account WHERE SystemModstamp >= 2026-03-10T11:00:00Z ORDER BY SystemModstamp, Id",
    )
    .await;
    let mut seen = Vec::new();
    loop {
        for record in page.json["records"].as_array().unwrap() {
            assert_eq!(record["SystemModstamp"], "2026-03-10T11:00:00.000+0000");
            assert_eq!(record["CreatedDate"], "2026-03-10T11:00:00.000+0000");
            seen.push(record["Id"].as_str().unwrap().to_string());
        }
        let Some(next) = page.json["nextRecordsUrl"].as_str() else {
            break;
        };
        page = org.send(reqwest::Method::GET, &org.url(next), None).await;
    }
    assert_eq!(seen.len(), 5_000);
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(seen, sorted);
}

#[tokio::test]
async fn a_late_commit_lands_behind_a_cursor_that_already_passed_its_stamp() {
    let org = clocked().await;
    let control = org.control();
    org.create("Account", json!({"Name": "First"})).await;
    org.advance(60_000);
    org.create("Account", json!({"Name": "Second"})).await;
    // The replica's cursor is the last SystemModstamp it saw.
    let seen = query(
        &org,
        "SELECT Name, SystemModstamp FROM Account ORDER BY SystemModstamp",
    )
    .await;
    let cursor = seen.json["records"][1]["SystemModstamp"]
        .as_str()
        .unwrap()
        .to_string();
    // A transaction that took its timestamp between the two commits only now.
    let late = control
        .insert_with_stamp(
            "Account",
            [json!({"Name": "Late"})],
            time("2026-03-10T12:00:30Z"),
        )
        .unwrap()
        .remove(0);
    let since = query(
        &org,
        &format!(
            "SELECT Name FROM Account WHERE SystemModstamp > {}",
            cursor.replace(".000+0000", "Z")
        ),
    )
    .await;
    assert_eq!(since.json["totalSize"], 0, "the cursor never sees it");
    let all = query(&org, "SELECT Name FROM Account ORDER BY SystemModstamp").await;
    let names: Vec<&str> = all.json["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["Name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["First", "Late", "Second"]);
    // The org's own clock goes on as before: the next write is later than everything.
    let next = org.create("Account", json!({"Name": "Next"})).await;
    let record = org.get(&format!("/sobjects/Account/{next}")).await;
    assert!(
        salesforce_time(record.json["SystemModstamp"].as_str().unwrap())
            > at("2026-03-10T12:01:00Z")
    );

    // An update can commit late too, and several records can be touched at one stamp.
    control
        .update_with_stamp(
            "Account",
            &late,
            json!({"Name": "Late, renamed"}),
            time("2026-03-10T12:00:45Z"),
        )
        .unwrap();
    let renamed = org.get(&format!("/sobjects/Account/{late}")).await;
    assert_eq!(renamed.json["Name"], "Late, renamed");
    assert_eq!(
        renamed.json["LastModifiedDate"],
        "2026-03-10T12:00:45.000+0000"
    );
    assert_eq!(
        renamed.json["SystemModstamp"],
        "2026-03-10T12:00:45.000+0000"
    );
    assert_eq!(renamed.json["CreatedDate"], "2026-03-10T12:00:30.000+0000");
    let all_ids: Vec<String> = all.json["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r["attributes"]["url"]
                .as_str()
                .unwrap()
                .rsplit('/')
                .next()
                .unwrap()
                .to_string()
        })
        .collect();
    control
        .set_system_modstamp("Account", &all_ids, time("2026-03-10T13:00:00Z"))
        .unwrap();
    let touched = query(
        &org,
        "SELECT COUNT() FROM Account WHERE SystemModstamp = 2026-03-10T13:00:00Z",
    )
    .await;
    assert_eq!(touched.json["totalSize"], 3);
    let refused = control
        .update_with_stamp(
            "Account",
            &late,
            json!({"Name": null}),
            time("2026-03-10T13:00:00Z"),
        )
        .unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::Control);
    assert!(
        refused.to_string().contains("REQUIRED_FIELD_MISSING"),
        "{refused}"
    );
    let missing = control
        .set_system_modstamp("Account", ["001RO000000zzzz"], time("2026-03-10T13:00:00Z"))
        .unwrap_err();
    assert!(
        missing
            .to_string()
            .starts_with("no Account record has the id"),
        "{missing}"
    );
}

#[tokio::test]
async fn insert_validates_like_a_create_and_is_all_or_nothing() {
    let org = TestOrg::start().await;
    let control = org.control();
    let error = control
        .insert(
            "Contact",
            [
                json!({"LastName": "Fine"}),
                json!({"FirstName": "No last name"}),
            ],
        )
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Control);
    assert!(
        error
            .to_string()
            .starts_with("cannot insert Contact record 1: REQUIRED_FIELD_MISSING"),
        "{error}"
    );
    assert_eq!(
        query(&org, "SELECT COUNT() FROM Contact").await.json["totalSize"],
        0
    );
    let ids = control
        .insert("Contact", [json!({"LastName": "Fine"})])
        .unwrap();
    let record = org.get(&format!("/sobjects/Contact/{}", ids[0])).await;
    assert_eq!(record.json["LastName"], "Fine");
    assert_eq!(
        control
            .insert("Nope__c", [json!({})])
            .unwrap_err()
            .to_string(),
        "unknown object Nope__c"
    );
}

#[tokio::test]
async fn the_clock_moves_even_the_system_clock() {
    let mut org = TestOrg::start().await;
    let control = org.control();
    let before = control.now();
    let first = org.create("Account", json!({"Name": "Today"})).await;
    control.advance_clock(Duration::from_secs(3 * 86_400));
    assert!(control.now() - before >= chrono::Duration::days(3));
    // Sessions last two hours on the org's clock.
    assert_eq!(org.get("/sobjects").await.status, StatusCode::UNAUTHORIZED);
    org.token = control.access_token();
    let second = org
        .create("Account", json!({"Name": "In three days"}))
        .await;
    let created = |reply: &Reply| salesforce_time(reply.json["CreatedDate"].as_str().unwrap());
    let a = org.get(&format!("/sobjects/Account/{first}")).await;
    let b = org.get(&format!("/sobjects/Account/{second}")).await;
    assert!(created(&b) - created(&a) >= 3 * 86_400_000);
    let today = query(&org, "SELECT Name FROM Account WHERE CreatedDate = TODAY").await;
    assert_eq!(today.json["records"][0]["Name"], "In three days");
    assert_eq!(today.json["totalSize"], 1);
}

#[tokio::test]
async fn sessions_expire_and_identities_match_what_the_api_reports() {
    let org = TestOrg::start().await;
    let control = org.control();
    let organization = query(&org, "SELECT Id FROM Organization").await;
    assert_eq!(
        organization.json["records"][0]["Id"],
        control.org_id().as_str()
    );
    let users = query(&org, "SELECT Id FROM User ORDER BY CreatedDate").await;
    assert_eq!(
        users.json["records"][0]["Id"],
        control.user_ids()[0].as_str()
    );
    assert_eq!(control.user_ids().len(), 1);
    let fresh = control.access_token();
    control.expire_sessions();
    let expired = org.get("/sobjects").await;
    assert_eq!(
        (expired.status, expired.error_code()),
        (StatusCode::UNAUTHORIZED, "INVALID_SESSION_ID")
    );
    let with_fresh = org
        .client
        .get(org.data("/sobjects"))
        .bearer_auth(&fresh)
        .send()
        .await
        .unwrap();
    assert_eq!(with_fresh.status(), StatusCode::UNAUTHORIZED);
    let new = control.access_token();
    let works = org
        .client
        .get(org.data("/sobjects"))
        .bearer_auth(&new)
        .send()
        .await
        .unwrap();
    assert_eq!(works.status(), StatusCode::OK);
}

#[tokio::test]
async fn counts_plain_accounts_and_open_cursors() {
    let org = TestOrg::start().await;
    let control = org.control();
    control.insert_plain_accounts(4_500);
    let counted = query(&org, "SELECT COUNT() FROM Account").await;
    assert_eq!(counted.json["totalSize"], 4_500);
    let first = query(
        &org,
        "SELECT Name, Industry, Owner.Name FROM Account ORDER BY Name",
    )
    .await;
    assert_eq!(first.json["records"][0]["Name"], "Account 0000000");
    assert_eq!(first.json["records"][0]["Owner"]["Name"], "Local Admin");
    assert!(
        control
            .record_counts()
            .contains(&("Account".to_string(), 4_500))
    );
    assert!(
        control
            .record_counts()
            .contains(&("Organization".to_string(), 1))
    );
    assert_eq!(
        control.open_cursors(),
        1,
        "the first page left a cursor open"
    );
    query(&org, "SELECT Name FROM Account").await;
    assert_eq!(control.open_cursors(), 2);
    query(&org, "SELECT Name FROM Account LIMIT 10").await;
    assert_eq!(control.open_cursors(), 2, "a single page opens none");
}

/// Twenty reads under a 50% 503 rate: which of them fail.
async fn unavailable_pattern(org: &TestOrg) -> Vec<bool> {
    let mut pattern = Vec::new();
    for _ in 0..20 {
        let reply = org.get("/limits").await;
        pattern.push(reply.status == StatusCode::SERVICE_UNAVAILABLE);
    }
    pattern
}

#[tokio::test]
async fn the_same_seed_gives_the_same_faults_on_every_run() {
    let org = TestOrg::start().await;
    let faults = |seed| FaultConfig {
        error_rate: 0.5,
        seed,
        ..FaultConfig::none()
    };
    org.control().set_faults(faults(42));
    let first = unavailable_pattern(&org).await;
    assert!(first.contains(&true) && first.contains(&false), "{first:?}");
    org.control().set_faults(faults(42));
    assert_eq!(unavailable_pattern(&org).await, first);
    let again = TestOrg::start().await;
    again.control().set_faults(faults(42));
    assert_eq!(
        unavailable_pattern(&again).await,
        first,
        "another org, the same run"
    );
    org.control().set_faults(faults(7));
    assert_ne!(unavailable_pattern(&org).await, first);
    // Faults can be kept to some requests: writes only, here, so reads always work.
    org.control().set_faults(FaultConfig {
        error_rate: 1.0,
        scope: FaultScope::Writes,
        ..FaultConfig::none()
    });
    assert!(!unavailable_pattern(&org).await.contains(&true));
    let write = org.post("/sobjects/Account", json!({"Name": "X"})).await;
    assert_eq!(write.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(org.control().faults().scope, FaultScope::Writes);
}

#[tokio::test]
async fn locked_rows_fail_writes_the_way_each_api_reports_them() {
    let org = TestOrg::start().await;
    let control = org.control();
    let ids = control
        .insert("Account", [json!({"Name": "A"}), json!({"Name": "B"})])
        .unwrap();
    control.set_faults(FaultConfig {
        lock_rate: 1.0,
        ..FaultConfig::none()
    });
    // REST, one record: 400 with Salesforce's error array.
    let single = org
        .patch(
            &format!("/sobjects/Account/{}", ids[0]),
            json!({"Name": "A2"}),
        )
        .await;
    assert_eq!(single.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        single.json,
        json!([{
            "message": format!("unable to obtain exclusive access to this record or 1 records: {}", ids[0]),
            "errorCode": "UNABLE_TO_LOCK_ROW"
        }])
    );
    // A record without a parent locks nothing: it is created.
    let created = org.post("/sobjects/Account", json!({"Name": "C"})).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    // A child locks its parent.
    let child = org
        .post(
            "/sobjects/Contact",
            json!({"LastName": "L", "AccountId": ids[1]}),
        )
        .await;
    assert_eq!(child.error_code(), "UNABLE_TO_LOCK_ROW", "{}", child.text);
    assert!(child.text.contains(&ids[1]), "{}", child.text);
    // sObject Collections: a statusCode per record.
    let collection = org
        .patch(
            "/composite/sobjects",
            json!({"allOrNone": false, "records": [
                {"attributes": {"type": "Account"}, "id": ids[0], "Name": "A3"},
                {"attributes": {"type": "Account"}, "id": ids[1], "Name": "B3"}
            ]}),
        )
        .await;
    assert_eq!(collection.status, StatusCode::OK);
    for result in collection.json.as_array().unwrap() {
        assert_eq!(result["success"], false);
        assert_eq!(result["errors"][0]["statusCode"], "UNABLE_TO_LOCK_ROW");
    }
    // Composite: the sub-request fails as the REST call would.
    let composite = org
        .post(
            "/composite",
            json!({"allOrNone": false, "compositeRequest": [
                {"method": "DELETE", "url": format!("/services/data/v60.0/sobjects/Account/{}", ids[0]), "referenceId": "gone"}
            ]}),
        )
        .await;
    let sub = &composite.json["compositeResponse"][0];
    assert_eq!(sub["httpStatusCode"], 400);
    assert_eq!(sub["body"][0]["errorCode"], "UNABLE_TO_LOCK_ROW");
    // Bulk ingest: a failed row with the code in sf__Error.
    let (job, info) = org
        .ingest(
            json!({"object": "Account", "operation": "update"}),
            &[&format!("Id,Name\n{},A4\n", ids[0])],
        )
        .await;
    assert_eq!(info["numberRecordsFailed"], 1, "{info}");
    let failed = org.results(&job, "failedResults").await;
    assert!(
        failed.contains(
            "UNABLE_TO_LOCK_ROW:unable to obtain exclusive access to this record or 1 records"
        ),
        "{failed}"
    );
    // Nothing changed.
    control.set_faults(FaultConfig::none());
    let a = org.get(&format!("/sobjects/Account/{}", ids[0])).await;
    assert_eq!(a.json["Name"], "A");
    // Scoped to a path, locks hit only there.
    control.set_faults(FaultConfig {
        lock_rate: 1.0,
        scope: FaultScope::Path("/composite".into()),
        ..FaultConfig::none()
    });
    let rest = org
        .patch(
            &format!("/sobjects/Account/{}", ids[0]),
            json!({"Name": "A5"}),
        )
        .await;
    assert_eq!(rest.status, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn replicas_see_the_orgs_clock_hard_deletes_and_formula_changes_as_a_real_org_shows_them() {
    let org = clocked().await;
    let control = org.control();
    // The Date of every answer is the org's clock, wherever it was moved.
    control.advance_clock(Duration::from_secs(3_600));
    let reply = org.get("/limits").await;
    let date = reply.headers[header::DATE].to_str().unwrap();
    assert_eq!(date, "Tue, 10 Mar 2026 13:00:00 GMT");

    // A campaign member deleted is gone for good: no recycle bin, no delete log.
    let campaign = org.create("Campaign", json!({"Name": "Spring"})).await;
    let lead = org
        .create("Lead", json!({"LastName": "Lee", "Company": "Acme"}))
        .await;
    let member = org
        .create(
            "CampaignMember",
            json!({"CampaignId": campaign, "LeadId": lead}),
        )
        .await;
    let account = org.create("Account", json!({"Name": "Binned"})).await;
    org.delete(&format!("/sobjects/CampaignMember/{member}"))
        .await;
    org.delete(&format!("/sobjects/Account/{account}")).await;
    org.advance(5 * 60_000);
    let members = query_all(&org, "SELECT Id FROM CampaignMember").await;
    assert_eq!(members.json["totalSize"], 0);
    let window = format!(
        "start={}&end={}",
        encode("2026-03-10T00:00:00Z"),
        encode("2026-03-10T14:00:00Z")
    );
    let log = org
        .get(&format!("/sobjects/CampaignMember/deleted?{window}"))
        .await;
    assert_eq!(log.json["deletedRecords"], json!([]), "{}", log.text);

    // The delete log in a composite request: one API call for many objects.
    let composite = org
        .post(
            "/composite",
            json!({"compositeRequest": [
                {"method": "GET", "referenceId": "a", "url": format!("/services/data/v60.0/sobjects/Account/deleted/?{window}")},
                {"method": "GET", "referenceId": "m", "url": format!("/services/data/v60.0/sobjects/CampaignMember/updated/?{window}")},
            ]}),
        )
        .await;
    let results = &composite.json["compositeResponse"];
    assert_eq!(results[0]["httpStatusCode"], 200, "{}", composite.text);
    assert_eq!(
        results[0]["body"]["deletedRecords"][0]["id"],
        account.as_str()
    );
    assert_eq!(results[1]["body"]["ids"], json!([]));

    // A formula recomputed by the platform moves no timestamp.
    let opportunity = org
        .create(
            "Opportunity",
            json!({"Name": "Deal", "StageName": "Prospecting", "CloseDate": "2026-04-01", "Amount": 1000}),
        )
        .await;
    let soql = format!(
        "SELECT ExpectedRevenue, SystemModstamp FROM Opportunity WHERE Id = '{opportunity}'"
    );
    let before = query(&org, &soql).await.json["records"][0].clone();
    org.advance(60_000);
    control
        .set_calculated_value("Opportunity", &opportunity, "ExpectedRevenue", json!(777.5))
        .unwrap();
    let after = query(&org, &soql).await.json["records"][0].clone();
    assert_eq!(after["ExpectedRevenue"], json!(777.5));
    assert_eq!(after["SystemModstamp"], before["SystemModstamp"]);
    let refused = control
        .set_calculated_value("Opportunity", &opportunity, "Name", json!("x"))
        .unwrap_err();
    assert!(refused.to_string().contains("not a formula"), "{refused}");
}
