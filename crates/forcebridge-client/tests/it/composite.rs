//! Composite, batch, tree and sObject Collections.

use forcebridge_client::{ErrorKind, Record, TreeRecord};
use serde_json::{Value, json};

use crate::support::TestOrg;

async fn count(client: &forcebridge_client::Client, soql: &str) -> u64 {
    client.query(soql).total_size().await.unwrap()
}

#[tokio::test]
async fn composite_subrequests_use_earlier_results_through_references() {
    let org = TestOrg::start().await;
    let client = org.client();
    let results = client
        .composite()
        .all_or_none(true)
        .create("acct", "Account", &json!({"Name": "Acme & Sons"}))
        .create(
            "ct",
            "Contact",
            &json!({"LastName": "Ng", "AccountId": "@{acct.id}"}),
        )
        .query(
            "q",
            "SELECT Id, LastName, AccountId FROM Contact WHERE Id = '@{ct.id}'",
        )
        .get("back", "Account", "@{acct.id}", &["Name"])
        .send()
        .await
        .unwrap();
    assert!(results.is_success(), "{results:?}");
    let account = results.result("acct").unwrap();
    assert_eq!(account.status, 201);
    let account_id = account.id().unwrap();
    assert!(account_id.starts_with("001"));
    let contact_id = results.result("ct").unwrap().id().unwrap();

    let page = &results.result("q").unwrap().body;
    assert_eq!(page["totalSize"], 1);
    assert_eq!(page["records"][0]["Id"], contact_id);
    assert_eq!(page["records"][0]["AccountId"], account_id);
    let back: Record = results.result("back").unwrap().json().unwrap();
    assert_eq!(back.get_str("Name"), Some("Acme & Sons"));
    assert_eq!(
        results
            .results()
            .iter()
            .map(|r| r.reference_id.as_str())
            .collect::<Vec<_>>(),
        ["acct", "ct", "q", "back"]
    );
}

#[tokio::test]
async fn an_all_or_none_composite_rolls_everything_back() {
    let org = TestOrg::start().await;
    let client = org.client();
    let results = client
        .composite()
        .all_or_none(true)
        .create("acct", "Account", &json!({"Name": "Rolled back"}))
        .create("bad", "Contact", &json!({"FirstName": "No last name"}))
        .create("later", "Account", &json!({"Name": "Never"}))
        .send()
        .await
        .unwrap();
    assert!(!results.is_success());
    let bad = results.result("bad").unwrap();
    assert_eq!(bad.status, 400);
    assert_eq!(bad.errors()[0].error_code, "REQUIRED_FIELD_MISSING");
    assert_eq!(bad.errors()[0].fields, ["LastName"]);
    for other in ["acct", "later"] {
        let result = results.result(other).unwrap();
        assert!(!result.is_success());
        assert_eq!(
            result.errors()[0].error_code,
            "PROCESSING_HALTED",
            "{other}"
        );
    }
    let error = results.check().unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Api);
    assert!(error.to_string().contains("\"acct\""), "{error}");
    assert_eq!(count(&client, "SELECT COUNT() FROM Account").await, 0);
    assert_eq!(count(&client, "SELECT COUNT() FROM Contact").await, 0);

    // Without all-or-none the good subrequests stay.
    let results = client
        .composite()
        .create("acct", "Account", &json!({"Name": "Kept"}))
        .create("bad", "Contact", &json!({"FirstName": "No last name"}))
        .send()
        .await
        .unwrap();
    assert!(results.result("acct").unwrap().is_success());
    assert!(!results.result("bad").unwrap().is_success());
    assert_eq!(count(&client, "SELECT COUNT() FROM Account").await, 1);
}

#[tokio::test]
async fn bad_composite_requests_are_refused_before_sending() {
    let org = TestOrg::start().await;
    let client = org.client();
    client.limits().await.unwrap();
    let sent = client.requests_sent();

    let mut too_many = client.composite();
    for i in 0..26 {
        too_many = too_many.create(format!("a{i}"), "Account", &json!({"Name": i.to_string()}));
    }
    assert_eq!(too_many.len(), 26);
    let error = too_many.send().await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::NotSent);
    assert!(error.to_string().contains("at most 25"), "{error}");

    for bad in ["1st", "has-dash", ""] {
        let error = client
            .composite()
            .query(bad, "SELECT Id FROM Account")
            .send()
            .await
            .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::NotSent, "{bad:?}");
    }
    let error = client
        .composite()
        .query("same", "SELECT Id FROM Account")
        .query("same", "SELECT Id FROM Contact")
        .send()
        .await
        .unwrap_err();
    assert!(error.to_string().contains("used twice"), "{error}");
    let error = client.composite().send().await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::NotSent);
    let error = client.batch().send().await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::NotSent);
    assert_eq!(client.requests_sent(), sent, "nothing was sent");

    // A read-only client may send a composite that only reads, and nothing else.
    let read_only = org
        .builder()
        .access(forcebridge_client::Access::ReadOnly)
        .build()
        .unwrap();
    let reads = read_only
        .composite()
        .query("q", "SELECT Id FROM Account")
        .send()
        .await
        .unwrap();
    assert_eq!(reads.result("q").unwrap().body["totalSize"], 0);
    let error = read_only
        .composite()
        .query("q", "SELECT Id FROM Account")
        .create("a", "Account", &json!({"Name": "No"}))
        .send()
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::NotSent);
}

#[tokio::test]
async fn a_batch_reports_each_subrequest_and_whether_any_failed() {
    let org = TestOrg::start().await;
    let client = org.client();
    let id = org
        .create(&client, "Account", json!({"Name": "Before"}))
        .await;
    let results = client
        .batch()
        .update("Account", &id, &json!({"Name": "After"}))
        .create("Contact", &json!({"FirstName": "No last name"}))
        .get(format!("sobjects/Account/{id}?fields=Name"))
        .send()
        .await
        .unwrap();
    assert!(results.has_errors());
    let results = results.into_results();
    assert_eq!(results.len(), 3);
    assert_eq!(results[0].status, 204);
    assert!(results[0].is_success());
    assert!(!results[1].is_success());
    assert_eq!(results[1].errors()[0].error_code, "REQUIRED_FIELD_MISSING");
    assert!(results[2].is_success());
    assert_eq!(
        results[2].body["Name"], "After",
        "the failure did not stop the rest"
    );

    // With halt_on_error the rest is skipped.
    let results = client
        .batch()
        .halt_on_error(true)
        .delete("Account", "001000000000000AAA")
        .delete("Account", &id)
        .send()
        .await
        .unwrap();
    assert_eq!(results.results()[1].status, 412);
    assert_eq!(
        results.results()[1].errors()[0].error_code,
        "BATCH_PROCESSING_HALTED"
    );
    assert_eq!(count(&client, "SELECT COUNT() FROM Account").await, 1);
}

#[tokio::test]
async fn a_tree_creates_parents_with_nested_children() {
    let org = TestOrg::start().await;
    let client = org.client();
    let built = TreeRecord::new("Account", "acme")
        .field("Name", "Acme")
        .child(
            "Contacts",
            TreeRecord::new("Contact", "ng").field("LastName", "Ng"),
        )
        .child(
            "Contacts",
            TreeRecord::new("Contact", "li").field("LastName", "Li"),
        );
    // The same shape as plain JSON, without the top-level type (added for the caller).
    let plain = json!({
        "attributes": {"referenceId": "globex"},
        "Name": "Globex",
        "Contacts": {"records": [
            {"attributes": {"type": "Contact", "referenceId": "smith"}, "LastName": "Smith"}
        ]}
    });
    let outcome = client
        .create_tree("Account", &[serde_json::to_value(&built).unwrap(), plain])
        .await
        .unwrap();
    assert!(outcome.is_success(), "{outcome:?}");
    assert_eq!(outcome.ids.len(), 5);
    let acme = outcome.id("acme").unwrap();
    let page = client
        .query(format!(
            "SELECT LastName FROM Contact WHERE AccountId = '{acme}' ORDER BY LastName"
        ))
        .fetch_all()
        .await
        .unwrap();
    let names: Vec<_> = page
        .iter()
        .map(|r| r.get_str("LastName").unwrap())
        .collect();
    assert_eq!(names, ["Li", "Ng"]);
    assert!(outcome.id("smith").unwrap().starts_with("003"));

    // One bad child: nothing is saved, and the bad record is named.
    let failing = TreeRecord::new("Account", "a1")
        .field("Name", "Never")
        .child(
            "Contacts",
            TreeRecord::new("Contact", "c1").field("FirstName", "x"),
        );
    let outcome = client.create_tree("Account", &[failing]).await.unwrap();
    assert!(!outcome.is_success());
    assert!(outcome.ids.is_empty());
    assert_eq!(outcome.failures[0].reference_id, "c1");
    assert_eq!(
        outcome.failures[0].errors[0].error_code,
        "REQUIRED_FIELD_MISSING"
    );
    assert_eq!(count(&client, "SELECT COUNT() FROM Account").await, 2);

    // More than 200 records, nested ones included, are refused before sending.
    let sent = client.requests_sent();
    let mut big = TreeRecord::new("Account", "big").field("Name", "Big");
    for i in 0..200 {
        big = big.child(
            "Contacts",
            TreeRecord::new("Contact", format!("c{i}")).field("LastName", "X"),
        );
    }
    let error = client.create_tree("Account", &[big]).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::NotSent);
    assert!(error.to_string().contains("201"), "{error}");
    assert_eq!(client.requests_sent(), sent);
}

fn accounts(n: usize, bad: usize) -> Vec<Value> {
    (0..n)
        .map(|i| {
            if i == bad {
                json!({"Industry": "No name"})
            } else {
                json!({"Name": format!("Account {i}"), "NumberOfEmployees": i})
            }
        })
        .collect()
}

#[tokio::test]
async fn collections_split_into_calls_of_200_and_answer_in_input_order() {
    let org = TestOrg::start().await;
    let client = org.client();
    client.limits().await.unwrap();
    let sent = client.requests_sent();
    let records = accounts(450, 225);
    let results = client.collection("Account").create(&records).await.unwrap();
    assert_eq!(client.requests_sent() - sent, 3, "450 records in 3 calls");
    assert_eq!(results.len(), 450);
    for (i, result) in results.iter().enumerate() {
        if i == 225 {
            assert!(!result.success);
            assert_eq!(result.id, None);
            assert_eq!(result.errors[0].error_code, "REQUIRED_FIELD_MISSING");
        } else {
            assert!(result.success, "record {i}: {result:?}");
            assert!(result.errors.is_empty());
        }
    }
    assert_eq!(count(&client, "SELECT COUNT() FROM Account").await, 449);
    // Each id belongs to the record at its index.
    let ids: Vec<&str> = results.iter().filter_map(|r| r.id.as_deref()).collect();
    let back: Vec<Option<Record>> = client
        .collection("Account")
        .retrieve(&ids, &["Name", "NumberOfEmployees"])
        .await
        .unwrap();
    for (i, record) in (0..450).filter(|&i| i != 225).zip(&back) {
        let record = record.as_ref().unwrap();
        assert_eq!(
            record.get_str("Name"),
            Some(format!("Account {i}").as_str())
        );
    }

    // Updates go the same way, concurrently if asked, still in order.
    let changes: Vec<Value> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| json!({"Id": id, "Industry": format!("I{i}")}))
        .collect();
    let results = client
        .collection("Account")
        .concurrency(3)
        .update(&changes)
        .await
        .unwrap();
    assert_eq!(results.len(), 449);
    assert!(results.iter().all(|r| r.success));
    assert_eq!(results[300].id.as_deref(), Some(ids[300]));
}

#[tokio::test]
async fn all_or_none_collections_roll_back_per_call_of_200() {
    let org = TestOrg::start().await;
    let client = org.client();
    let records = accounts(450, 225);
    let results = client
        .collection("Account")
        .all_or_none(true)
        .create(&records)
        .await
        .unwrap();
    assert_eq!(results.len(), 450);
    assert_eq!(results[225].errors[0].error_code, "REQUIRED_FIELD_MISSING");
    for i in (200..400).filter(|&i| i != 225) {
        assert!(!results[i].success, "record {i}");
        assert_eq!(
            results[i].errors[0].error_code, "ALL_OR_NONE_OPERATION_ROLLED_BACK",
            "record {i}"
        );
    }
    assert!(results[..200].iter().all(|r| r.success));
    assert!(results[400..].iter().all(|r| r.success));
    assert_eq!(count(&client, "SELECT COUNT() FROM Account").await, 250);
}

#[tokio::test]
async fn collection_upserts_report_created_or_updated() {
    let org = TestOrg::with_external_id().await;
    let client = org.client();
    let existing = org
        .create(&client, "Account", json!({"Name": "Old", "Ext__c": "K1"}))
        .await;

    #[derive(serde::Serialize)]
    struct Row {
        #[serde(rename = "Ext__c")]
        ext: &'static str,
        #[serde(rename = "Name")]
        name: &'static str,
    }
    let rows = [
        Row {
            ext: "K0",
            name: "New",
        },
        Row {
            ext: "K1",
            name: "Renamed",
        },
        Row {
            ext: "K2",
            name: "Also new",
        },
    ];
    let results = client
        .collection("Account")
        .upsert("Ext__c", &rows)
        .await
        .unwrap();
    assert_eq!(
        results.iter().map(|r| r.created).collect::<Vec<_>>(),
        [Some(true), Some(false), Some(true)]
    );
    assert_eq!(results[1].id.as_deref(), Some(existing.as_str()));
    assert!(results.iter().all(|r| r.success));
    let record = client.sobject("Account").get(&existing).await.unwrap();
    assert_eq!(record.get_str("Name"), Some("Renamed"));
}

#[tokio::test]
async fn collections_delete_and_retrieve_in_input_order() {
    let org = TestOrg::start().await;
    let client = org.client();
    let records = accounts(5, usize::MAX);
    let created = client.collection("Account").create(&records).await.unwrap();
    let ids: Vec<String> = created.iter().map(|r| r.id.clone().unwrap()).collect();

    let unknown = "001000000000999AAA".to_string();
    let deleted = client
        .collection("Account")
        .delete(&[ids[1].clone(), unknown.clone(), ids[3].clone()])
        .await
        .unwrap();
    assert_eq!(deleted.len(), 3);
    assert!(deleted[0].success);
    assert_eq!(deleted[0].id.as_deref(), Some(ids[1].as_str()));
    assert!(!deleted[1].success);
    assert!(!deleted[1].errors.is_empty());
    assert!(deleted[2].success);

    #[derive(serde::Deserialize, Debug)]
    struct Small {
        #[serde(rename = "Name")]
        name: String,
    }
    let asked: Vec<&str> = ids.iter().rev().map(String::as_str).collect();
    let back: Vec<Option<Small>> = client
        .collection("Account")
        .retrieve(&asked, &["Name"])
        .await
        .unwrap();
    let names: Vec<Option<&str>> = back
        .iter()
        .map(|r| r.as_ref().map(|s| s.name.as_str()))
        .collect();
    assert_eq!(
        names,
        [
            Some("Account 4"),
            None,
            Some("Account 2"),
            None,
            Some("Account 0")
        ]
    );

    // A read-only client may retrieve but not delete.
    let read_only = org
        .builder()
        .access(forcebridge_client::Access::ReadOnly)
        .build()
        .unwrap();
    let back: Vec<Option<Record>> = read_only
        .collection("Account")
        .retrieve(&[ids[0].as_str()], &["Name"])
        .await
        .unwrap();
    assert!(back[0].is_some());
    let error = read_only
        .collection("Account")
        .delete(&[ids[0].as_str()])
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::NotSent);
}

#[tokio::test]
async fn only_calls_safe_to_repeat_are_retried_after_a_cut_connection() {
    let org = TestOrg::start().await;
    let client = org
        .builder()
        .retry_policy(forcebridge_client::RetryPolicy {
            max_retries: 2,
            initial_delay: std::time::Duration::from_millis(1),
            max_delay: std::time::Duration::from_millis(5),
            ..forcebridge_client::RetryPolicy::standard()
        })
        .build()
        .unwrap();
    let id = org
        .create(&client, "Account", json!({"Name": "Base"}))
        .await;
    org.emulator.set_faults(forcebridge_emulator::FaultConfig {
        reset_rate: 1.0,
        ..forcebridge_emulator::FaultConfig::none()
    });

    // A create may have happened: one attempt, and each record says the call failed.
    let sent = client.requests_sent();
    let results = client
        .collection("Account")
        .create(&accounts(3, usize::MAX))
        .await
        .unwrap();
    assert_eq!(client.requests_sent(), sent + 1, "creates are not retried");
    assert!(results.iter().all(|r| !r.success));
    assert_eq!(results[2].errors[0].error_code, "TRANSPORT_FAILURE");
    assert!(
        results[2].errors[0].message.contains("records 0 to 2"),
        "{results:?}"
    );

    // Updates and retrieves are repeated (1 attempt + 2 retries each).
    let sent = client.requests_sent();
    client
        .collection("Account")
        .update(&[json!({"Id": id, "Name": "Again"})])
        .await
        .unwrap();
    assert_eq!(client.requests_sent(), sent + 3, "updates are retried");
    let sent = client.requests_sent();
    let error = client
        .collection("Account")
        .retrieve::<Record, _>(&[id.as_str()], &["Name"])
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Transport);
    assert_eq!(client.requests_sent(), sent + 3, "retrieves are retried");

    // A composite with a POST is sent once; one without is retried.
    let sent = client.requests_sent();
    client
        .composite()
        .create("a", "Account", &json!({"Name": "Once"}))
        .send()
        .await
        .unwrap_err();
    assert_eq!(client.requests_sent(), sent + 1);
    let sent = client.requests_sent();
    client
        .composite()
        .update("u", "Account", &id, &json!({"Name": "Twice"}))
        .send()
        .await
        .unwrap_err();
    assert_eq!(client.requests_sent(), sent + 3);

    org.emulator
        .set_faults(forcebridge_emulator::FaultConfig::none());
    // The org did the cut create's work: the client did it once, not three times.
    assert_eq!(count(&client, "SELECT COUNT() FROM Account").await, 5);
}
