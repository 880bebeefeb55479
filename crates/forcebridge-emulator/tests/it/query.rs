//! SOQL over REST: `query`, `queryAll` and their locators, with paging, cursor consistency,
//! relationship shapes, subqueries, FIELDS(), aggregates, date literals and functions, the
//! WHERE operators, ORDER BY, OFFSET, errors framed as Salesforce frames them, and `explain`.
//! (The entry points below HTTP have unit tests in `src/soql/tests.rs`.)

use forcebridge_emulator::Config;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{Reply, TestOrg};

fn encode(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

async fn query(org: &TestOrg, soql: &str) -> Reply {
    org.get(&format!("/query?q={}", encode(soql))).await
}

async fn query_all(org: &TestOrg, soql: &str) -> Reply {
    org.get(&format!("/queryAll?q={}", encode(soql))).await
}

/// A query that must succeed; returns the page.
async fn ok(org: &TestOrg, soql: &str) -> Value {
    let reply = query(org, soql).await;
    assert_eq!(reply.status, StatusCode::OK, "{soql}: {}", reply.text);
    reply.json
}

/// The records of a successful query.
async fn records(org: &TestOrg, soql: &str) -> Vec<Value> {
    ok(org, soql).await["records"].as_array().unwrap().clone()
}

/// One field of every record of a query.
async fn column(org: &TestOrg, soql: &str, field: &str) -> Vec<Value> {
    records(org, soql)
        .await
        .iter()
        .map(|r| r[field].clone())
        .collect()
}

/// A failing query: its status, error code and message.
async fn failure(org: &TestOrg, soql: &str) -> (StatusCode, String, String) {
    let reply = query(org, soql).await;
    assert!(reply.json.is_array(), "{soql}: {}", reply.text);
    (
        reply.status,
        reply.error_code().to_string(),
        reply.json[0]["message"].as_str().unwrap_or("").to_string(),
    )
}

fn url(object: &str, id: &str) -> String {
    format!("/services/data/v60.0/sobjects/{object}/{id}")
}

/// Creates `n` accounts named `Account 00000`, ... in one transaction, without requests.
fn seed_accounts(org: &TestOrg, n: usize) -> Vec<String> {
    org.control()
        .insert(
            "Account",
            (0..n).map(|i| json!({"Name": format!("Account {i:05}"), "NumberOfEmployees": i})),
        )
        .unwrap()
}

fn batch_header(org: &TestOrg, url: &str, size: usize) -> reqwest::RequestBuilder {
    org.client
        .get(url)
        .bearer_auth(&org.token)
        .header("Sforce-Query-Options", format!("batchSize={size}"))
}

fn fixed_clock(at: &str) -> Config {
    let mut config = Config::builtin();
    config.fixed_time = Some(crate::support::at(at));
    config
}

#[tokio::test]
async fn paging_walks_every_page_with_default_and_small_batches() {
    let org = TestOrg::start().await;
    let ids = seed_accounts(&org, 4500);

    // Default batch: 2000 + 2000 + 500.
    let first = ok(&org, "SELECT Id, Name FROM Account").await;
    assert_eq!(first["totalSize"], 4500);
    assert_eq!(first["done"], false);
    assert_eq!(first["records"].as_array().unwrap().len(), 2000);
    let next = first["nextRecordsUrl"].as_str().unwrap().to_string();
    let locator = next
        .strip_prefix("/services/data/v60.0/query/")
        .expect("nextRecordsUrl is a relative /query/ path");
    let (id, offset) = locator.split_once('-').unwrap();
    assert_eq!((id.len(), &id[..3], offset), (18, "01g", "2000"));
    assert!(!locator.contains('/'));

    let mut seen: Vec<String> = first["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["Id"].as_str().unwrap().to_string())
        .collect();
    let mut next = Some(next);
    let mut pages = 1;
    while let Some(path) = next {
        let page = org.send(Method::GET, &org.url(&path), None).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.text);
        assert_eq!(
            page.json["totalSize"], 4500,
            "totalSize repeats on every page"
        );
        seen.extend(
            page.json["records"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["Id"].as_str().unwrap().to_string()),
        );
        next = page.json["nextRecordsUrl"].as_str().map(str::to_string);
        if next.is_none() {
            assert_eq!(page.json["done"], true);
            assert!(
                page.json.get("nextRecordsUrl").is_none(),
                "absent, not null"
            );
        }
        pages += 1;
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, ids, "every record once, in id order");

    // A small batch size: pages of 500 with `-500` locators.
    let reply = batch_header(
        &org,
        &org.data(&format!("/query?q={}", encode("SELECT Id FROM Account"))),
        500,
    )
    .send()
    .await
    .unwrap();
    let page = Reply::from(reply).await;
    assert_eq!(page.json["records"].as_array().unwrap().len(), 500);
    let next = page.json["nextRecordsUrl"].as_str().unwrap();
    assert!(next.ends_with("-500"), "{next}");
    let page2 = org.send(Method::GET, &org.url(next), None).await;
    assert_eq!(page2.json["records"].as_array().unwrap().len(), 500);
    assert!(
        page2.json["nextRecordsUrl"]
            .as_str()
            .unwrap()
            .ends_with("-1000")
    );
    assert_eq!(page2.json["records"][0]["Id"], json!(ids[500]));

    // Below the minimum, the batch size is 200.
    let reply = batch_header(
        &org,
        &org.data(&format!("/query?q={}", encode("SELECT Id FROM Account"))),
        10,
    )
    .send()
    .await
    .unwrap();
    let page = Reply::from(reply).await;
    assert_eq!(page.json["records"].as_array().unwrap().len(), 200);
}

#[tokio::test]
async fn locators_work_under_query_all_and_expire() {
    let org = TestOrg::with_config(fixed_clock("2024-05-15T12:00:00Z")).await;
    seed_accounts(&org, 2100);
    let first = query_all(&org, "SELECT Id FROM Account").await;
    let next = first.json["nextRecordsUrl"].as_str().unwrap().to_string();
    let locator = next.rsplit('/').next().unwrap().to_string();
    // jsforce always follows with /query/; the /queryAll/ form works too.
    for path in [
        format!("/queryAll/{locator}"),
        format!("/query/{locator}"),
        format!("/query/{locator}/"),
    ] {
        let page = org.get(&path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}: {}", page.text);
        assert_eq!(page.json["records"].as_array().unwrap().len(), 100);
        assert_eq!(page.json["done"], true);
    }
    // Each user keeps ten cursors: an eleventh closes the least recently used.
    let locators: Vec<String> = {
        let mut out = Vec::new();
        for _ in 0..10 {
            let reply = batch_header(
                &org,
                &org.data(&format!("/query?q={}", encode("SELECT Id FROM Account"))),
                200,
            )
            .send()
            .await
            .unwrap();
            let page = Reply::from(reply).await;
            out.push(page.json["nextRecordsUrl"].as_str().unwrap().to_string());
        }
        out
    };
    assert_eq!(
        org.get(&format!("/query/{locator}")).await.error_code(),
        "INVALID_QUERY_LOCATOR",
        "the first cursor was closed to make room"
    );
    for next in &locators {
        let page = org.send(Method::GET, &org.url(next), None).await;
        assert_eq!(page.status, StatusCode::OK, "{next}");
    }
    assert_eq!(org.control().open_cursors(), 10);
    let unknown = org.get("/query/01gRO0000000099AAA-2000").await;
    assert_eq!(
        (unknown.status, unknown.error_code()),
        (StatusCode::BAD_REQUEST, "INVALID_QUERY_LOCATOR")
    );
    let garbage = org.get("/query/not-a-locator").await;
    assert_eq!(garbage.error_code(), "INVALID_QUERY_LOCATOR");

    // Fifteen minutes without use is fine; a sixteenth is not.
    let locator = locators[9].rsplit('/').next().unwrap().to_string();
    org.advance(15 * 60_000);
    assert_eq!(
        org.get(&format!("/query/{locator}")).await.status,
        StatusCode::OK
    );
    org.advance(15 * 60_000 + 1);
    let expired = org.get(&format!("/query/{locator}")).await;
    assert_eq!(
        (expired.status, expired.error_code()),
        (StatusCode::BAD_REQUEST, "INVALID_QUERY_LOCATOR")
    );
}

#[tokio::test]
async fn cursor_pages_stay_consistent_while_records_change() {
    let org = TestOrg::start().await;
    let ids = seed_accounts(&org, 2500);
    let first = ok(&org, "SELECT Id, Name FROM Account ORDER BY Name").await;
    let next = first["nextRecordsUrl"].as_str().unwrap().to_string();

    // Between pages: rename a record of page two, delete another, add a new one.
    let renamed = &ids[2100];
    let deleted = &ids[2200];
    let reply = org
        .patch(
            &format!("/sobjects/Account/{renamed}"),
            json!({"Name": "AAA renamed"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    let reply = org.delete(&format!("/sobjects/Account/{deleted}")).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    org.create("Account", json!({"Name": "Zed"})).await;

    let second = org.send(Method::GET, &org.url(&next), None).await;
    assert_eq!(second.json["totalSize"], 2500);
    let records = second.json["records"].as_array().unwrap();
    assert_eq!(records.len(), 500);
    assert_eq!(records[100]["Id"], json!(renamed));
    assert_eq!(
        records[100]["Name"], "Account 02100",
        "the page shows the old name"
    );
    assert_eq!(
        records[200]["Id"],
        json!(deleted),
        "the deleted record is still there"
    );

    // A fresh query sees the changes.
    let fresh = ok(&org, "SELECT Id, Name FROM Account ORDER BY Name").await;
    assert_eq!(fresh["totalSize"], 2500);
    assert_eq!(fresh["records"][0]["Name"], "AAA renamed");
}

#[tokio::test]
async fn relationships_nest_with_null_parents_deep_paths_and_polymorphic_lookups() {
    let org = TestOrg::start().await;
    let admin = org.control().user_ids()[0].clone();
    let acme = org
        .create("Account", json!({"Name": "Acme", "Industry": "Media"}))
        .await;
    let with_account = org
        .create(
            "Contact",
            json!({"LastName": "Smith", "FirstName": "Ann", "AccountId": acme}),
        )
        .await;
    let alone = org.create("Contact", json!({"LastName": "Zed"})).await;
    let case = org
        .create(
            "Case",
            json!({"Subject": "Broken", "ContactId": with_account}),
        )
        .await;

    let rows = records(
        &org,
        "SELECT Id, Name, account.name, Account.Owner.Username FROM Contact ORDER BY LastName",
    )
    .await;
    assert_eq!(
        rows[0],
        json!({
            "attributes": {"type": "Contact", "url": url("Contact", &with_account)},
            "Id": with_account,
            "Name": "Ann Smith",
            "Account": {
                "attributes": {"type": "Account", "url": url("Account", &acme)},
                "Name": "Acme",
                "Owner": {
                    "attributes": {"type": "User", "url": url("User", &admin)},
                    "Username": "admin@forcebridge.local"
                }
            }
        })
    );
    assert_eq!(
        rows[1],
        json!({
            "attributes": {"type": "Contact", "url": url("Contact", &alone)},
            "Id": alone,
            "Name": "Zed",
            "Account": null
        })
    );
    // Key order follows the SELECT list.
    let text = query(&org, "SELECT Name, Id FROM Contact WHERE LastName = 'Zed'")
        .await
        .text;
    assert!(text.find("\"Name\"").unwrap() < text.find("\"Id\"").unwrap());

    // Three relationship hops.
    let rows = records(
        &org,
        "SELECT Subject, Contact.Account.Owner.Username FROM Case",
    )
    .await;
    assert_eq!(
        rows[0]["Contact"]["Account"]["Owner"],
        json!({
            "attributes": {"type": "User", "url": url("User", &admin)},
            "Username": "admin@forcebridge.local"
        })
    );
    assert_eq!(rows[0]["attributes"]["url"], json!(url("Case", &case)));
    // A path through a null lookup filters as null.
    assert_eq!(
        column(
            &org,
            "SELECT LastName FROM Contact WHERE Account.Name = null",
            "LastName"
        )
        .await,
        vec![json!("Zed")]
    );

    // Polymorphic What: the nested record has the actual target's type.
    let deal = org
        .create(
            "Opportunity",
            json!({"Name": "Big deal", "StageName": "Prospecting", "CloseDate": "2024-06-01"}),
        )
        .await;
    org.create("Task", json!({"Subject": "Call", "WhatId": acme}))
        .await;
    org.create("Task", json!({"Subject": "Email", "WhatId": deal}))
        .await;
    org.create("Task", json!({"Subject": "Other"})).await;
    let rows = records(
        &org,
        "SELECT Subject, What.Name, What.Type FROM Task ORDER BY Subject",
    )
    .await;
    assert_eq!(
        rows[0]["What"],
        json!({
            "attributes": {"type": "Account", "url": url("Account", &acme)},
            "Name": "Acme",
            "Type": "Account"
        })
    );
    assert_eq!(
        rows[1]["What"],
        json!({
            "attributes": {"type": "Opportunity", "url": url("Opportunity", &deal)},
            "Name": "Big deal",
            "Type": "Opportunity"
        })
    );
    assert_eq!(rows[2]["What"], Value::Null);
    assert_eq!(
        column(
            &org,
            "SELECT Subject FROM Task WHERE What.Type = 'Opportunity'",
            "Subject"
        )
        .await,
        vec![json!("Email")]
    );

    // TYPEOF picks fields per type.
    let rows = records(
        &org,
        "SELECT Subject, TYPEOF What WHEN Account THEN Name, Industry WHEN Opportunity THEN StageName ELSE Id END FROM Task WHERE WhatId != null ORDER BY Subject",
    )
    .await;
    assert_eq!(
        rows[0]["What"],
        json!({
            "attributes": {"type": "Account", "url": url("Account", &acme)},
            "Name": "Acme",
            "Industry": "Media"
        })
    );
    assert_eq!(
        rows[1]["What"],
        json!({
            "attributes": {"type": "Opportunity", "url": url("Opportunity", &deal)},
            "StageName": "Prospecting"
        })
    );

    // Aliases in FROM, old-style relationship aliases and an object-name qualifier.
    for soql in [
        "SELECT c.LastName FROM Contact c WHERE c.Account.Name = 'Acme'",
        "SELECT LastName FROM Contact c, c.Account a WHERE a.Name = 'Acme'",
        "SELECT Contact.LastName FROM Contact WHERE Contact.Account.Industry = 'Media'",
    ] {
        assert_eq!(
            column(&org, soql, "LastName").await,
            vec![json!("Smith")],
            "{soql}"
        );
    }
}

#[tokio::test]
async fn child_subqueries_nest_query_results_or_null() {
    let org = TestOrg::start().await;
    let acme = org.create("Account", json!({"Name": "Acme"})).await;
    let empty = org.create("Account", json!({"Name": "Empty"})).await;
    for name in ["Adams", "Baker", "Clark", "Skip"] {
        org.create("Contact", json!({"LastName": name, "AccountId": acme}))
            .await;
    }
    let rows = records(
        &org,
        "SELECT Name, (SELECT LastName FROM Contacts WHERE LastName != 'Skip' ORDER BY LastName DESC LIMIT 2) FROM Account ORDER BY Name",
    )
    .await;
    assert_eq!(rows[0]["attributes"]["url"], json!(url("Account", &acme)));
    let contacts = &rows[0]["Contacts"];
    assert_eq!(contacts["totalSize"], 2);
    assert_eq!(contacts["done"], true);
    assert_eq!(
        contacts["records"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["LastName"].clone())
            .collect::<Vec<_>>(),
        vec![json!("Clark"), json!("Baker")]
    );
    assert_eq!(contacts["records"][0]["attributes"]["type"], "Contact");
    assert_eq!(rows[1]["attributes"]["url"], json!(url("Account", &empty)));
    assert_eq!(rows[1]["Contacts"], Value::Null, "no children: null");

    // The subquery can read parents of the children too.
    let rows = records(
        &org,
        "SELECT Name, (SELECT LastName, Account.Name FROM Contacts WHERE LastName = 'Adams') FROM Account WHERE Name = 'Acme'",
    )
    .await;
    assert_eq!(rows[0]["Contacts"]["records"][0]["Account"]["Name"], "Acme");

    let (status, code, message) = failure(
        &org,
        "SELECT Name, (SELECT LastName FROM Contactz) FROM Account",
    )
    .await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::BAD_REQUEST, "INVALID_TYPE")
    );
    assert_eq!(
        message,
        "\nSELECT Name, (SELECT LastName FROM Contactz) FROM Account\n                                   ^\nERROR at Row:1:Column:36\nDidn't understand relationship 'Contactz' in FROM part of query call. If you are attempting to use a custom relationship, be sure to append the '__r' after the custom relationship name. Please reference your WSDL or the describe call for the appropriate names."
    );
}

#[tokio::test]
async fn fields_functions_expand_and_all_needs_a_limit() {
    let org = TestOrg::start().await;
    org.create(
        "Account",
        json!({"Name": "Acme", "BillingCity": "Paris", "BillingCountry": "France"}),
    )
    .await;
    let reply = query(&org, "SELECT FIELDS(STANDARD) FROM Account").await;
    let record = reply.json["records"][0].as_object().unwrap().clone();
    // Describe order: attributes, Id, IsDeleted, Name, ..., SystemModstamp last.
    let at = |key: &str| reply.text.find(&format!("\"{key}\":")).unwrap();
    assert!(at("attributes") < at("Id"));
    assert!(at("Id") < at("IsDeleted"));
    assert!(at("IsDeleted") < at("Name"));
    assert!(at("Name") < at("BillingStreet"));
    assert!(at("LastModifiedById") < at("SystemModstamp"));
    assert!(record.contains_key("SystemModstamp"));
    assert_eq!(record["BillingAddress"]["city"], "Paris");
    assert_eq!(record["BillingAddress"]["country"], "France");
    assert_eq!(record["ShippingAddress"], Value::Null);

    let (status, code, message) = failure(&org, "SELECT FIELDS(ALL) FROM Account").await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::BAD_REQUEST, "MALFORMED_QUERY")
    );
    assert_eq!(
        message,
        "\nSELECT FIELDS(ALL) FROM Account\n       ^\nERROR at Row:1:Column:8\nThe SOQL FIELDS function must have a LIMIT of at most 200"
    );
    assert_eq!(
        failure(&org, "SELECT FIELDS(CUSTOM) FROM Account LIMIT 201")
            .await
            .1,
        "MALFORMED_QUERY"
    );
    let all = records(&org, "SELECT FIELDS(ALL) FROM Account LIMIT 200").await;
    assert_eq!(all[0]["Name"], "Acme");
    let (_, code, message) = failure(&org, "SELECT Id, FIELDS(STANDARD) FROM Account").await;
    assert_eq!(code, "MALFORMED_QUERY");
    assert!(
        message.ends_with("duplicate field selected: Id"),
        "{message}"
    );
}

async fn seed_opportunities(org: &TestOrg) {
    for (name, stage, amount, close) in [
        ("A1", "Prospecting", 100.0, "2024-01-15"),
        ("A2", "Prospecting", 200.0, "2024-02-20"),
        ("B1", "Closed Won", 1000.0, "2024-02-01"),
        ("B2", "Closed Won", 500.5, "2024-05-10"),
        ("B3", "Closed Won", 0.0, "2024-05-31"),
        ("C1", "Closed Lost", 50.0, "2023-12-31"),
    ] {
        org.create(
            "Opportunity",
            json!({"Name": name, "StageName": stage, "Amount": amount, "CloseDate": close}),
        )
        .await;
    }
}

#[tokio::test]
async fn aggregates_name_columns_group_and_roll_up() {
    let org = TestOrg::start().await;
    seed_opportunities(&org).await;

    let page = ok(
        &org,
        "SELECT StageName, COUNT(Id), SUM(Amount) total, MAX(CloseDate) FROM Opportunity GROUP BY StageName HAVING COUNT(Id) > 1 ORDER BY StageName",
    )
    .await;
    assert_eq!(
        page,
        json!({
            "totalSize": 2,
            "done": true,
            "records": [
                {"attributes": {"type": "AggregateResult"}, "StageName": "Closed Won", "expr0": 3, "total": 1500.5, "expr1": "2024-05-31"},
                {"attributes": {"type": "AggregateResult"}, "StageName": "Prospecting", "expr0": 2, "total": 300.0, "expr1": "2024-02-20"}
            ]
        })
    );
    // The JSON text shows doubles as Java does.
    let text = query(
        &org,
        "SELECT SUM(Amount) FROM Opportunity WHERE StageName = 'Prospecting'",
    )
    .await
    .text;
    assert!(text.contains("\"expr0\":300.0"), "{text}");

    assert_eq!(
        ok(&org, "SELECT COUNT() FROM Opportunity").await,
        json!({"totalSize": 6, "done": true, "records": []})
    );
    assert_eq!(
        ok(&org, "SELECT COUNT() FROM Opportunity WHERE Amount > 150").await["totalSize"],
        3
    );
    assert_eq!(
        ok(&org, "SELECT COUNT() FROM Opportunity GROUP BY StageName").await,
        json!({"totalSize": 3, "done": true, "records": []}),
        "grouped, COUNT() counts the groups"
    );
    assert_eq!(
        failure(&org, "SELECT COUNT(), Name FROM Opportunity")
            .await
            .1,
        "MALFORMED_QUERY"
    );
    assert_eq!(
        records(&org, "SELECT COUNT(Id), COUNT_DISTINCT(StageName), AVG(Amount) average FROM Opportunity WHERE Name LIKE 'A%'").await,
        vec![json!({"attributes": {"type": "AggregateResult"}, "expr0": 2, "expr1": 1, "average": 150.0})]
    );
    // No rows: one aggregate row with a zero count and null sums.
    assert_eq!(
        records(
            &org,
            "SELECT COUNT(Id), SUM(Amount) FROM Opportunity WHERE Name = 'none'"
        )
        .await,
        vec![json!({"attributes": {"type": "AggregateResult"}, "expr0": 0, "expr1": null})]
    );
    // ORDER BY an aggregate alias, descending.
    assert_eq!(
        column(
            &org,
            "SELECT StageName, SUM(Amount) s FROM Opportunity GROUP BY StageName ORDER BY s DESC",
            "StageName"
        )
        .await,
        vec![
            json!("Closed Won"),
            json!("Prospecting"),
            json!("Closed Lost")
        ]
    );

    // ROLLUP: a subtotal per stage is the grand total here (one level), with GROUPING().
    let rows = records(
        &org,
        "SELECT StageName, COUNT(Id) n, GROUPING(StageName) g FROM Opportunity GROUP BY ROLLUP(StageName)",
    )
    .await;
    assert_eq!(rows.len(), 4);
    assert_eq!(
        rows[3],
        json!({"attributes": {"type": "AggregateResult"}, "StageName": null, "n": 6, "g": 1})
    );
    assert_eq!(rows[0]["g"], 0);
    let total: i64 = rows[..3].iter().map(|r| r["n"].as_i64().unwrap()).sum();
    assert_eq!(total, 6);

    // Two levels: subtotals per stage after each stage's rows, then the grand total.
    let rows = records(
        &org,
        "SELECT StageName, CALENDAR_YEAR(CloseDate) y, COUNT(Id) n FROM Opportunity GROUP BY ROLLUP(StageName, CALENDAR_YEAR(CloseDate))",
    )
    .await;
    let shape: Vec<(Value, Value, Value)> = rows
        .iter()
        .map(|r| (r["StageName"].clone(), r["y"].clone(), r["n"].clone()))
        .collect();
    assert_eq!(
        shape,
        vec![
            (json!("Closed Lost"), json!(2023), json!(1)),
            (json!("Closed Lost"), Value::Null, json!(1)),
            (json!("Closed Won"), json!(2024), json!(3)),
            (json!("Closed Won"), Value::Null, json!(3)),
            (json!("Prospecting"), json!(2024), json!(2)),
            (json!("Prospecting"), Value::Null, json!(2)),
            (Value::Null, Value::Null, json!(6)),
        ]
    );

    let (status, code, message) = failure(
        &org,
        "SELECT Name, COUNT(Id) FROM Opportunity GROUP BY StageName",
    )
    .await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::BAD_REQUEST, "MALFORMED_QUERY")
    );
    assert_eq!(
        message,
        "\nSELECT Name, COUNT(Id) FROM Opportunity\n       ^\nERROR at Row:1:Column:8\nField must be grouped or aggregated: Name"
    );
    assert_eq!(
        failure(&org, "SELECT SUM(Name) FROM Opportunity").await.1,
        "INVALID_FIELD"
    );
    assert_eq!(
        failure(
            &org,
            "SELECT Amount, COUNT(Id) FROM Opportunity GROUP BY Amount"
        )
        .await
        .2
        .rsplit('\n')
        .next()
        .unwrap(),
        "field 'Amount' can not be grouped in a query call"
    );
}

#[tokio::test]
async fn date_literals_and_functions_use_the_org_clock() {
    // Records are created on Sunday 12 May 2024 at noon and on Wednesday the 15th at 11:00;
    // the queries run on Wednesday 15 May 2024 at noon (UTC). The clock only moves forward:
    // every write is stamped later than the one before.
    let mut org = TestOrg::with_config(fixed_clock("2024-05-12T12:00:00Z")).await;
    let clock = org.control();
    org.create("Account", json!({"Name": "Three days ago"}))
        .await;
    seed_opportunities(&org).await;
    clock.advance_clock(std::time::Duration::from_millis(3 * 86_400_000 - 3_600_000));
    // Sessions last two hours: log in again after three days.
    org.token = org.emulator.access_token();
    org.create("Account", json!({"Name": "An hour ago"})).await;
    clock.advance_clock(std::time::Duration::from_millis(3_600_000));
    let names = |rows: Vec<Value>| -> Vec<String> {
        rows.iter()
            .map(|r| r.as_str().unwrap().to_string())
            .collect()
    };
    let close =
        |condition: &str| format!("SELECT Name FROM Opportunity WHERE {condition} ORDER BY Name");
    let cases: &[(&str, &[&str])] = &[
        ("CloseDate = THIS_MONTH", &["B2", "B3"]),
        ("CloseDate = LAST_MONTH", &[]),
        ("CloseDate = THIS_YEAR", &["A1", "A2", "B1", "B2", "B3"]),
        ("CloseDate = LAST_YEAR", &["C1"]),
        ("CloseDate < THIS_YEAR", &["C1"]),
        ("CloseDate = THIS_QUARTER", &["B2", "B3"]),
        ("CloseDate = LAST_QUARTER", &["A1", "A2", "B1"]),
        (
            "CloseDate = THIS_FISCAL_YEAR",
            &["A1", "A2", "B1", "B2", "B3"],
        ),
        ("CloseDate > TODAY", &["B3"]),
        ("CloseDate = LAST_N_DAYS:5", &["B2"]),
        ("CloseDate = NEXT_N_DAYS:30", &["B3"]),
        (
            "CloseDate >= 2024-02-01 AND CloseDate <= 2024-02-20",
            &["A2", "B1"],
        ),
        ("CloseDate IN (LAST_YEAR, THIS_MONTH)", &["B2", "B3", "C1"]),
        ("CALENDAR_MONTH(CloseDate) = 2", &["A2", "B1"]),
        ("DAY_IN_WEEK(CloseDate) = 1", &["C1"]),
    ];
    for (condition, expected) in cases {
        assert_eq!(
            names(column(&org, &close(condition), "Name").await),
            *expected,
            "{condition}"
        );
    }

    // Datetimes.
    let accounts = |condition: &str| {
        format!("SELECT Name FROM Account WHERE {condition} ORDER BY CreatedDate")
    };
    let cases: &[(&str, &[&str])] = &[
        ("CreatedDate = TODAY", &["An hour ago"]),
        ("CreatedDate = YESTERDAY", &[]),
        (
            "CreatedDate = THIS_WEEK",
            &["Three days ago", "An hour ago"],
        ),
        ("CreatedDate = LAST_N_DAYS:2", &["An hour ago"]),
        ("CreatedDate = N_DAYS_AGO:3", &["Three days ago"]),
        ("CreatedDate = 2024-05-12", &["Three days ago"]),
        ("CreatedDate > 2024-05-12", &["An hour ago"]),
        ("CreatedDate >= 2024-05-15T00:00:00Z", &["An hour ago"]),
        (
            "CreatedDate < 2024-05-15T13:00:01+02:00",
            &["Three days ago", "An hour ago"],
        ),
        (
            "CreatedDate > 2024-05-15T10:59:59.999+0000",
            &["An hour ago"],
        ),
        ("HOUR_IN_DAY(CreatedDate) = 11", &["An hour ago"]),
        ("DAY_ONLY(CreatedDate) = 2024-05-12", &["Three days ago"]),
    ];
    for (condition, expected) in cases {
        assert_eq!(
            names(column(&org, &accounts(condition), "Name").await),
            *expected,
            "{condition}"
        );
    }

    let rows = records(
        &org,
        "SELECT CALENDAR_YEAR(CloseDate), CALENDAR_QUARTER(CloseDate) q, COUNT(Id) FROM Opportunity GROUP BY CALENDAR_YEAR(CloseDate), CALENDAR_QUARTER(CloseDate) ORDER BY CALENDAR_YEAR(CloseDate), CALENDAR_QUARTER(CloseDate)",
    )
    .await;
    assert_eq!(
        rows,
        vec![
            json!({"attributes": {"type": "AggregateResult"}, "expr0": 2023, "q": 4, "expr1": 1}),
            json!({"attributes": {"type": "AggregateResult"}, "expr0": 2024, "q": 1, "expr1": 3}),
            json!({"attributes": {"type": "AggregateResult"}, "expr0": 2024, "q": 2, "expr1": 2}),
        ]
    );

    let (_, code, message) = failure(
        &org,
        "SELECT Id FROM Opportunity WHERE CloseDate = '2024-01-15'",
    )
    .await;
    assert_eq!(code, "INVALID_FIELD");
    assert!(
        message.ends_with(
            "value of filter criterion for field 'CloseDate' must be of type date and should not be enclosed in quotes"
        ),
        "{message}"
    );
}

#[tokio::test]
async fn where_operators_follow_three_valued_logic() {
    let org = TestOrg::start().await;
    let acme = org
        .create(
            "Account",
            json!({"Name": "Acme Corp", "Industry": "Media", "NumberOfEmployees": 50}),
        )
        .await;
    org.create(
        "Account",
        json!({"Name": "acme labs", "Industry": "Banking", "NumberOfEmployees": 5}),
    )
    .await;
    org.create("Account", json!({"Name": "Globex 100%"})).await;
    let names = |soql: &'static str| {
        let org = &org;
        async move {
            column(org, soql, "Name")
                .await
                .into_iter()
                .map(|v| v.as_str().unwrap().to_string())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        names("SELECT Name FROM Account WHERE Name LIKE 'ACME%' ORDER BY Name").await,
        ["Acme Corp", "acme labs"]
    );
    assert_eq!(
        names("SELECT Name FROM Account WHERE Name LIKE '%100\\%'").await,
        ["Globex 100%"]
    );
    assert_eq!(
        names("SELECT Name FROM Account WHERE Name = 'ACME CORP'").await,
        ["Acme Corp"],
        "text compares without case"
    );
    assert_eq!(
        names("SELECT Name FROM Account WHERE Industry IN ('media', 'Energy')").await,
        ["Acme Corp"]
    );
    // NOT IN and NOT: a null Industry is unknown, so Globex is in neither. `!=` is documented
    // as "the value does not equal the literal", which a null does not, so Globex passes it.
    assert_eq!(
        names("SELECT Name FROM Account WHERE Industry NOT IN ('Media')").await,
        ["acme labs"]
    );
    assert_eq!(
        names("SELECT Name FROM Account WHERE Industry != 'Media' ORDER BY Name").await,
        ["acme labs", "Globex 100%"]
    );
    assert_eq!(
        names("SELECT Name FROM Account WHERE NOT Industry = 'Media'").await,
        ["acme labs"]
    );
    assert_eq!(
        names("SELECT Name FROM Account WHERE Industry = null").await,
        ["Globex 100%"]
    );
    assert_eq!(
        names("SELECT Name FROM Account WHERE Industry != null ORDER BY Name").await,
        ["Acme Corp", "acme labs"]
    );
    // Booleans are never null: `= null` means false and `!= null` means true (SOQL reference).
    let contact = org
        .create(
            "Contact",
            json!({"LastName": "Opted", "HasOptedOutOfEmail": true}),
        )
        .await;
    org.create("Contact", json!({"LastName": "Default"})).await;
    let opted = records(
        &org,
        "SELECT Id FROM Contact WHERE HasOptedOutOfEmail != null",
    )
    .await;
    assert_eq!(
        opted.iter().map(|r| r["Id"].clone()).collect::<Vec<_>>(),
        [json!(contact)]
    );
    let not_opted = records(
        &org,
        "SELECT LastName FROM Contact WHERE HasOptedOutOfEmail = null",
    )
    .await;
    assert_eq!(
        not_opted
            .iter()
            .map(|r| r["LastName"].clone())
            .collect::<Vec<_>>(),
        [json!("Default")]
    );
    assert_eq!(
        names("SELECT Name FROM Account WHERE Industry = 'Media' OR NumberOfEmployees < 10 ORDER BY Name").await,
        ["Acme Corp", "acme labs"]
    );
    assert_eq!(
        names("SELECT Name FROM Account WHERE (Industry = 'Media' OR Industry = null) AND NOT Name LIKE 'acme%'").await,
        ["Globex 100%"]
    );
    assert_eq!(
        names("SELECT Name FROM Account WHERE NumberOfEmployees >= 5 AND NumberOfEmployees < 50")
            .await,
        ["acme labs"]
    );
    assert_eq!(
        names("SELECT Name FROM Account WHERE AnnualRevenue = USD0 OR NumberOfEmployees > 49.5")
            .await,
        ["Acme Corp"]
    );
    // 15- and 18-character ids are equal.
    let soql15 = format!("SELECT Name FROM Account WHERE Id = '{}'", &acme[..15]);
    let soql18 = format!("SELECT Name FROM Account WHERE Id IN ('{acme}')");
    assert_eq!(
        column(&org, &soql15, "Name").await,
        vec![json!("Acme Corp")]
    );
    assert_eq!(
        column(&org, &soql18, "Name").await,
        vec![json!("Acme Corp")]
    );
    // A well-formed id of another org matches nothing; a malformed one is an error.
    assert!(
        records(
            &org,
            "SELECT Id FROM Account WHERE Id = '001000000000000AAA'"
        )
        .await
        .is_empty()
    );
    let (_, code, message) = failure(&org, "SELECT Id FROM Account WHERE Id = 'abc'").await;
    assert_eq!(code, "INVALID_QUERY_FILTER_OPERATOR");
    assert!(message.ends_with("invalid ID field: abc"), "{message}");
    // INCLUDES is for multi-select picklists only.
    let (_, code, message) = failure(
        &org,
        "SELECT Id FROM Account WHERE Industry INCLUDES ('Media')",
    )
    .await;
    assert_eq!(code, "INVALID_QUERY_FILTER_OPERATOR");
    assert!(message.ends_with("includes or excludes operator only valid on multipicklist field"));
    // toLabel in WHERE and SELECT.
    let rows = records(
        &org,
        "SELECT toLabel(Industry) FROM Account WHERE toLabel(Industry) = 'Media'",
    )
    .await;
    assert_eq!(rows[0]["Industry"], "Media");
    // Long text cannot be filtered.
    let (_, code, message) = failure(&org, "SELECT Id FROM Account WHERE Description = 'x'").await;
    assert_eq!(code, "INVALID_FIELD");
    assert!(message.ends_with("field 'Description' can not be filtered in a query call"));
}

#[tokio::test]
async fn semi_and_anti_joins_filter_by_another_object() {
    let org = TestOrg::start().await;
    let acme = org.create("Account", json!({"Name": "Acme"})).await;
    let globex = org.create("Account", json!({"Name": "Globex"})).await;
    org.create("Account", json!({"Name": "Initech"})).await;
    org.create("Contact", json!({"LastName": "Smith", "AccountId": acme}))
        .await;
    org.create("Contact", json!({"LastName": "Jones", "AccountId": globex}))
        .await;
    assert_eq!(
        column(
            &org,
            "SELECT Name FROM Account WHERE Id IN (SELECT AccountId FROM Contact WHERE LastName LIKE 'S%')",
            "Name"
        )
        .await,
        vec![json!("Acme")]
    );
    assert_eq!(
        column(
            &org,
            "SELECT Name FROM Account WHERE Id NOT IN (SELECT AccountId FROM Contact) ORDER BY Name",
            "Name"
        )
        .await,
        vec![json!("Initech")]
    );
    assert_eq!(
        column(
            &org,
            "SELECT LastName FROM Contact WHERE AccountId IN (SELECT Id FROM Account WHERE Name = 'Globex')",
            "LastName"
        )
        .await,
        vec![json!("Jones")]
    );
    assert_eq!(
        failure(
            &org,
            "SELECT Name FROM Account WHERE Name IN (SELECT AccountId FROM Contact)"
        )
        .await
        .1,
        "MALFORMED_QUERY"
    );
}

#[tokio::test]
async fn order_by_keys_nulls_limit_and_offset() {
    let org = TestOrg::start().await;
    for (name, industry, employees) in [
        ("B", Some("Media"), 10),
        ("A", None, 20),
        ("C", Some("Banking"), 10),
        ("D", Some("Media"), 30),
    ] {
        org.create(
            "Account",
            json!({"Name": name, "Industry": industry, "NumberOfEmployees": employees}),
        )
        .await;
    }
    let names = |soql: String| {
        let org = &org;
        async move {
            column(org, &soql, "Name")
                .await
                .into_iter()
                .map(|v| v.as_str().unwrap().to_string())
                .collect::<Vec<_>>()
        }
    };
    let q = |order: &str| format!("SELECT Name FROM Account ORDER BY {order}");
    assert_eq!(
        names(q("Industry, Name")).await,
        ["A", "C", "B", "D"],
        "nulls first going up"
    );
    assert_eq!(
        names(q("Industry DESC, Name")).await,
        ["B", "D", "C", "A"],
        "nulls last going down"
    );
    assert_eq!(
        names(q("Industry NULLS LAST, Name DESC")).await,
        ["C", "D", "B", "A"]
    );
    assert_eq!(
        names(q("Industry DESC NULLS FIRST, Name")).await,
        ["A", "B", "D", "C"]
    );
    assert_eq!(
        names(q("NumberOfEmployees DESC, Name")).await,
        ["D", "A", "B", "C"]
    );
    assert_eq!(
        names(q("NumberOfEmployees, Name LIMIT 2")).await,
        ["B", "C"]
    );
    assert_eq!(names(q("Name LIMIT 2 OFFSET 1")).await, ["B", "C"]);
    assert_eq!(
        names("SELECT Name FROM Account LIMIT 2".to_string()).await,
        ["B", "A"],
        "without ORDER BY: creation (id) order"
    );
    let page = ok(
        &org,
        "SELECT Name FROM Account ORDER BY Name LIMIT 3 OFFSET 2",
    )
    .await;
    assert_eq!(page["totalSize"], 2);
    assert_eq!(
        ok(&org, "SELECT Name FROM Account OFFSET 2000").await["totalSize"],
        0
    );
    let (status, code, message) = failure(&org, "SELECT Name FROM Account OFFSET 2001").await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::BAD_REQUEST, "NUMBER_OUTSIDE_VALID_RANGE")
    );
    assert!(
        message.ends_with("Maximum SOQL offset allowed is 2000"),
        "{message}"
    );

    // Sorting by a parent's field; contacts without an account come first.
    let a = org.create("Account", json!({"Name": "Zeta"})).await;
    let b = org.create("Account", json!({"Name": "Alpha"})).await;
    org.create("Contact", json!({"LastName": "One", "AccountId": a}))
        .await;
    org.create("Contact", json!({"LastName": "Two", "AccountId": b}))
        .await;
    org.create("Contact", json!({"LastName": "Three"})).await;
    assert_eq!(
        column(
            &org,
            "SELECT LastName FROM Contact ORDER BY Account.Name",
            "LastName"
        )
        .await,
        vec![json!("Three"), json!("Two"), json!("One")]
    );
    let (_, code, _) = failure(&org, "SELECT Id FROM Account ORDER BY Description").await;
    assert_eq!(code, "INVALID_FIELD");
}

#[tokio::test]
async fn query_all_shows_what_query_hides() {
    let org = TestOrg::start().await;
    let kept = org.create("Account", json!({"Name": "Kept"})).await;
    let gone = org.create("Account", json!({"Name": "Gone"})).await;
    org.delete(&format!("/sobjects/Account/{gone}")).await;
    assert_eq!(
        column(&org, "SELECT Id FROM Account", "Id").await,
        vec![json!(kept)]
    );
    let all = query_all(&org, "SELECT Id, IsDeleted FROM Account ORDER BY Name").await;
    assert_eq!(all.status, StatusCode::OK);
    assert_eq!(all.json["totalSize"], 2);
    assert_eq!(all.json["records"][0]["Id"], json!(gone));
    assert_eq!(all.json["records"][0]["IsDeleted"], true);
    assert_eq!(all.json["records"][1]["IsDeleted"], false);
    let deleted_only = query_all(&org, "SELECT Id FROM Account WHERE IsDeleted = true").await;
    assert_eq!(deleted_only.json["totalSize"], 1);
    // USING SCOPE: mine is what the caller owns (everything here), team is nothing.
    assert_eq!(
        ok(&org, "SELECT Id FROM Account USING SCOPE mine").await["totalSize"],
        1
    );
    assert_eq!(
        ok(&org, "SELECT Id FROM Account USING SCOPE Team").await["totalSize"],
        0
    );
}

#[tokio::test]
async fn errors_are_framed_as_salesforce_frames_them() {
    let org = TestOrg::start().await;
    let cases: &[(&str, &str, &str)] = &[
        (
            "SELECT Id, FROM Account",
            "MALFORMED_QUERY",
            "\nSELECT Id, FROM Account\n           ^\nERROR at Row:1:Column:12\nunexpected token: 'FROM'",
        ),
        (
            "SELECT Id FROM Account WHERE",
            "MALFORMED_QUERY",
            "\nSELECT Id FROM Account WHERE\n                            ^\nERROR at Row:1:Column:29\nunexpected token: '<EOF>'",
        ),
        (
            "SELECT Naem FROM Account",
            "INVALID_FIELD",
            "\nSELECT Naem FROM Account\n       ^\nERROR at Row:1:Column:8\nNo such column 'Naem' on entity 'Account'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.",
        ),
        (
            "SELECT Id, Account.Nope FROM Contact",
            "INVALID_FIELD",
            "\nSELECT Id, Account.Nope FROM Contact\n           ^\nERROR at Row:1:Column:12\nNo such column 'Nope' on entity 'Account'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.",
        ),
        (
            "SELECT Id, Acount.Name FROM Contact",
            "INVALID_FIELD",
            "\nSELECT Id, Acount.Name FROM Contact\n           ^\nERROR at Row:1:Column:12\nDidn't understand relationship 'Acount' in field path. If you are attempting to use a custom relationship, be sure to append the '__r' after the custom relationship name. Please reference your WSDL or the describe call for the appropriate names.",
        ),
        (
            "SELECT Id FROM Contact123",
            "INVALID_TYPE",
            "\nSELECT Id FROM Contact123\n               ^\nERROR at Row:1:Column:16\nsObject type 'Contact123' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names.",
        ),
        (
            "SELECT Id FROM Account WHERE Name = 5",
            "INVALID_FIELD",
            "\nSELECT Id FROM Account WHERE Name = 5\n                                    ^\nERROR at Row:1:Column:37\nvalue of filter criterion for field 'Name' must be of type string and should be enclosed in quotes",
        ),
        (
            "SELECT Id FROM Account WHERE Id = :accountId",
            "MALFORMED_QUERY",
            "\nSELECT Id FROM Account WHERE Id = :accountId\n                                  ^\nERROR at Row:1:Column:35\nBind variables only allowed in Apex code",
        ),
        (
            "SELECT Id FROM Account FOR UPDATE",
            "MALFORMED_QUERY",
            "\nSELECT Id FROM Account FOR UPDATE\n                       ^\nERROR at Row:1:Column:24\nFOR UPDATE not allowed in this context",
        ),
    ];
    for (soql, code, message) in cases {
        let (status, actual_code, actual_message) = failure(&org, soql).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{soql}");
        assert_eq!(actual_code, *code, "{soql}");
        assert_eq!(actual_message, *message, "{soql}");
    }
    // The position is per line in a multi-line query.
    let (_, _, message) = failure(&org, "SELECT Id\nFROM Account\nWHERE Nam = 'x'").await;
    assert!(
        message.starts_with("\nWHERE Nam = 'x'\n      ^\nERROR at Row:3:Column:7\n"),
        "{message}"
    );
    // Missing q.
    let reply = org.get("/query").await;
    assert_eq!(
        (reply.status, reply.error_code()),
        (StatusCode::BAD_REQUEST, "MALFORMED_QUERY")
    );
    // Accepted clauses: WITH SECURITY_ENFORCED, FOR VIEW, UPDATE TRACKING.
    for soql in [
        "SELECT Id FROM Account WITH SECURITY_ENFORCED",
        "SELECT Id FROM Account WITH USER_MODE",
        "SELECT Id FROM Account FOR VIEW",
        "SELECT Id FROM Account FOR REFERENCE",
        "SELECT Id FROM Account UPDATE TRACKING",
    ] {
        assert_eq!(query(&org, soql).await.status, StatusCode::OK, "{soql}");
    }
}

#[tokio::test]
async fn plus_encoded_text_and_a_trailing_slash_are_accepted() {
    let org = TestOrg::start().await;
    org.create("Account", json!({"Name": "Acme Corp"})).await;
    // simple-salesforce: `/query/?q=` with spaces as `+`.
    let reply = org
        .send(
            Method::GET,
            &org.data("/query/?q=SELECT+Id,+Name+FROM+Account+WHERE+Name+=+'Acme+Corp'"),
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.json["records"][0]["Name"], "Acme Corp");
    assert_eq!(
        reply.headers["content-type"],
        "application/json;charset=UTF-8"
    );
    // jsforce: `%20`.
    let reply = org
        .send(
            Method::GET,
            &org.data("/queryAll?q=SELECT%20Name%20FROM%20Account"),
            None,
        )
        .await;
    assert_eq!(reply.json["totalSize"], 1);
}

#[tokio::test]
async fn explain_describes_a_plausible_plan() {
    let org = TestOrg::start().await;
    let id = org.create("Account", json!({"Name": "Acme"})).await;
    org.create("Account", json!({"Name": "Globex", "Industry": "Media"}))
        .await;
    let reply = org
        .get(&format!(
            "/query?explain={}",
            encode(&format!("SELECT Id FROM Account WHERE Id = '{id}'"))
        ))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let plan = &reply.json["plans"][0];
    assert_eq!(plan["leadingOperationType"], "Index");
    assert_eq!(plan["cardinality"], 1);
    assert_eq!(plan["sobjectCardinality"], 2);
    assert_eq!(plan["sobjectType"], "Account");
    assert_eq!(plan["fields"], json!(["Id"]));
    let reply = org
        .get(&format!(
            "/query?explain={}",
            encode("SELECT Id FROM Account WHERE Industry = 'Media'")
        ))
        .await;
    let plan = &reply.json["plans"][0];
    assert_eq!(plan["leadingOperationType"], "TableScan");
    assert_eq!(
        plan["notes"][0],
        json!({
            "description": "Not considering filter for optimization because unindexed",
            "fields": ["Industry"],
            "tableEnumOrId": "Account"
        })
    );
    let bad = org
        .get(&format!(
            "/query?explain={}",
            encode("SELECT Nope FROM Account")
        ))
        .await;
    assert_eq!(bad.error_code(), "INVALID_FIELD");
}

#[tokio::test]
async fn computed_columns_format_distance_and_labels() {
    let org = TestOrg::start().await;
    org.create(
        "Account",
        json!({
            "Name": "Acme",
            "AnnualRevenue": 1234567.0,
            "NumberOfEmployees": 1500,
            "BillingLatitude": 37.7749,
            "BillingLongitude": -122.4194
        }),
    )
    .await;
    org.create("Account", json!({"Name": "Nowhere"})).await;
    let rows = records(
        &org,
        "SELECT Name, FORMAT(AnnualRevenue), FORMAT(NumberOfEmployees) n, DISTANCE(BillingAddress, GEOLOCATION(34.0522, -118.2437), 'km') FROM Account ORDER BY Name",
    )
    .await;
    assert_eq!(rows[0]["AnnualRevenue"], "$1,234,567");
    assert_eq!(rows[0]["n"], "1,500");
    let km = rows[0]["expr0"].as_f64().unwrap();
    assert!(
        (km - 559.1).abs() < 1.0,
        "San Francisco to Los Angeles: {km} km"
    );
    assert_eq!(rows[1]["expr0"], Value::Null);
    let near = column(
        &org,
        "SELECT Name FROM Account WHERE DISTANCE(BillingAddress, GEOLOCATION(37.8, -122.4), 'mi') < 5",
        "Name",
    )
    .await;
    assert_eq!(near, vec![json!("Acme")]);
    let formula = column(
        &org,
        "SELECT Name FROM Account WHERE FORMULA('NumberOfEmployees * 2 - 1') > 2998",
        "Name",
    )
    .await;
    assert_eq!(formula, vec![json!("Acme")]);
    let (_, code, _) = failure(
        &org,
        "SELECT Name FROM Account WHERE FORMULA('LEN(Name)') > 2",
    )
    .await;
    assert_eq!(code, "MALFORMED_QUERY");
}

#[tokio::test]
async fn id_and_unique_field_filters_find_the_same_records_as_a_scan() {
    let org = TestOrg::start().await;
    let mut ids = Vec::new();
    for i in 0..20 {
        ids.push(
            org.create(
                "Product2",
                json!({"Name": format!("P{i}"), "ExternalId": format!("Ext-{i}")}),
            )
            .await,
        );
    }
    org.delete(&format!("/sobjects/Product2/{}", ids[3])).await;
    let names = |soql: String| {
        let org = &org;
        async move {
            records(org, &soql)
                .await
                .iter()
                .map(|r| r["Name"].as_str().unwrap().to_string())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        names(format!("SELECT Name FROM Product2 WHERE Id = '{}'", ids[5])).await,
        ["P5"]
    );
    assert_eq!(
        names(format!(
            "SELECT Name FROM Product2 WHERE Id = '{}'",
            &ids[5][..15]
        ))
        .await,
        ["P5"]
    );
    assert_eq!(
        names(format!(
            "SELECT Name FROM Product2 WHERE Id IN ('{}', '{}', '{}') ORDER BY Name",
            ids[9], ids[1], ids[9]
        ))
        .await,
        ["P1", "P9"]
    );
    // The rest of the filter still applies, and deleted records stay hidden.
    assert!(
        names(format!(
            "SELECT Name FROM Product2 WHERE Id = '{}' AND Name = 'other'",
            ids[5]
        ))
        .await
        .is_empty()
    );
    assert!(
        names(format!("SELECT Name FROM Product2 WHERE Id = '{}'", ids[3]))
            .await
            .is_empty()
    );
    assert_eq!(
        query_all(
            &org,
            &format!("SELECT Name FROM Product2 WHERE Id = '{}'", ids[3])
        )
        .await
        .json["totalSize"],
        1
    );
    // An id of another object matches nothing.
    let account = org.create("Account", json!({"Name": "A"})).await;
    assert!(
        names(format!("SELECT Name FROM Product2 WHERE Id = '{account}'"))
            .await
            .is_empty()
    );
    // Unique fields compare without case, through the index or not.
    assert_eq!(
        names("SELECT Name FROM Product2 WHERE ExternalId = 'EXT-7'".to_string()).await,
        ["P7"]
    );
    assert_eq!(
        names("SELECT Name FROM Product2 WHERE ExternalId IN ('ext-2', 'nope')".to_string()).await,
        ["P2"]
    );
    let users = records(
        &org,
        "SELECT Id FROM User WHERE Username = 'ADMIN@FORCEBRIDGE.LOCAL'",
    )
    .await;
    assert_eq!(
        users.len(),
        1,
        "case-sensitive unique fields still compare without case"
    );
}

/// `?columns=true` describes a query's columns without running it, as the Salesforce CLI asks
/// before printing results (shapes checked against its captured exemplars).
#[tokio::test]
async fn columns_describe_fields_relationships_aggregates_and_subqueries() {
    let org = TestOrg::start().await;
    let columns = |soql: &'static str| {
        let org = &org;
        async move {
            let reply = org
                .get(&format!("/query?q={}&columns=true", encode(soql)))
                .await;
            assert_eq!(reply.status, StatusCode::OK, "{soql}: {}", reply.text);
            reply.json
        }
    };
    insta::assert_json_snapshot!(
        "columns_plain_fields",
        columns(
            "SELECT Id, Name, AnnualRevenue, NumberOfEmployees, IsDeleted, CreatedDate FROM Account"
        )
        .await
    );
    insta::assert_json_snapshot!(
        "columns_relationship_paths",
        columns("SELECT LastName, Account.Name, Account.Owner.Name, Account.Industry FROM Contact")
            .await
    );
    insta::assert_json_snapshot!(
        "columns_aggregate_with_alias",
        columns(
            "SELECT Industry, COUNT(Id) total, AVG(AnnualRevenue) FROM Account GROUP BY Industry"
        )
        .await
    );
    insta::assert_json_snapshot!(
        "columns_subquery",
        columns("SELECT Name, (SELECT LastName, Email FROM Contacts) FROM Account").await
    );
    // Nothing ran: no cursor was opened, and a bad query still gets its error.
    assert_eq!(org.control().open_cursors(), 0);
    let bad = org
        .get(&format!(
            "/query?q={}&columns=true",
            encode("SELECT Nope FROM Account")
        ))
        .await;
    assert_eq!(
        (bad.status, bad.error_code()),
        (StatusCode::BAD_REQUEST, "INVALID_FIELD")
    );
    // COUNT() has no columns, only a count.
    let count = columns("SELECT COUNT() FROM Account").await;
    assert_eq!(count["columnMetadata"], json!([]));
}

#[tokio::test]
async fn the_tooling_query_resource_answers_like_the_standard_one() {
    let org = TestOrg::start().await;
    let soql = "SELECT Id, Username FROM User";
    let standard = ok(&org, soql).await;
    let tooling = org.get(&format!("/tooling/query?q={}", encode(soql))).await;
    assert_eq!(tooling.status, StatusCode::OK, "{}", tooling.text);
    assert_eq!(tooling.json["totalSize"], standard["totalSize"]);
    assert_eq!(tooling.json["records"], standard["records"]);
    // It needs a session, as every API resource does.
    let anonymous = reqwest::get(org.data("/tooling/query?q=SELECT+Id+FROM+User"))
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
}
