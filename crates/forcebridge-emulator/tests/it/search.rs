//! SOSL over REST: `search` with search groups, RETURNING clauses, wildcards, phrases and
//! operators, the overall LIMIT, its errors, and `parameterizedSearch` (GET and POST).

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{Reply, TestOrg};

fn encode(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

async fn search(org: &TestOrg, sosl: &str) -> Reply {
    org.get(&format!("/search?q={}", encode(sosl))).await
}

/// `(type, Name-or-Id)` of every record a search returns.
async fn found(org: &TestOrg, sosl: &str) -> Vec<(String, Value)> {
    let reply = search(org, sosl).await;
    assert_eq!(reply.status, StatusCode::OK, "{sosl}: {}", reply.text);
    reply.json["searchRecords"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let kind = r["attributes"]["type"].as_str().unwrap().to_string();
            let label = r.get("Name").cloned().unwrap_or_else(|| r["Id"].clone());
            (kind, label)
        })
        .collect()
}

fn of(kind: &str, name: &str) -> (String, Value) {
    (kind.to_string(), json!(name))
}

async fn seed(org: &TestOrg) -> (String, String) {
    let acme = org
        .create(
            "Account",
            json!({"Name": "Acme Corporation", "Phone": "(415) 555-1212", "Industry": "Media"}),
        )
        .await;
    org.create(
        "Account",
        json!({"Name": "Acme Labs", "Industry": "Energy", "Description": "Widgets and gadgets"}),
    )
    .await;
    org.create("Account", json!({"Name": "Globex"})).await;
    let john = org
        .create(
            "Contact",
            json!({"FirstName": "John", "LastName": "Smith", "Email": "john@acme.com", "AccountId": acme}),
        )
        .await;
    org.create(
        "Lead",
        json!({"LastName": "Doe", "Company": "Acme Supplies", "Email": "doe@example.com"}),
    )
    .await;
    (acme, john)
}

#[tokio::test]
async fn find_matches_words_in_the_search_group_and_returns_objects_in_order() {
    let org = TestOrg::start().await;
    let (acme, john) = seed(&org).await;

    let reply = search(
        &org,
        "FIND {Acme} RETURNING Account(Id, Name), Contact(Name, Email)",
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let records = reply.json["searchRecords"].as_array().unwrap();
    assert_eq!(records.len(), 3);
    assert_eq!(
        records[0],
        json!({
            "attributes": {"type": "Account", "url": format!("/services/data/v60.0/sobjects/Account/{acme}")},
            "Id": acme,
            "Name": "Acme Corporation"
        })
    );
    assert_eq!(records[1]["Name"], "Acme Labs");
    assert_eq!(
        records[2],
        json!({
            "attributes": {"type": "Contact", "url": format!("/services/data/v60.0/sobjects/Contact/{john}")},
            "Name": "John Smith",
            "Email": "john@acme.com"
        })
    );

    // Search groups.
    assert_eq!(
        found(
            &org,
            "FIND {acme} IN NAME FIELDS RETURNING Account(Name), Contact(Name), Lead(Name)"
        )
        .await,
        vec![
            of("Account", "Acme Corporation"),
            of("Account", "Acme Labs"),
            of("Lead", "Doe"),
        ],
        "NAME FIELDS include a lead's Company, not a contact's email"
    );
    assert_eq!(
        found(
            &org,
            "FIND {john@acme.com} IN EMAIL FIELDS RETURNING Contact(Name), Lead(Name)"
        )
        .await,
        vec![of("Contact", "John Smith")]
    );
    assert_eq!(
        found(
            &org,
            "FIND {4155551212} IN PHONE FIELDS RETURNING Account(Name)"
        )
        .await,
        vec![of("Account", "Acme Corporation")]
    );
    assert_eq!(
        found(&org, "FIND {widgets} IN ALL FIELDS RETURNING Account(Name)").await,
        vec![of("Account", "Acme Labs")]
    );

    // Wildcards, phrases and operators.
    assert_eq!(
        found(&org, "FIND {Glob*} RETURNING Account(Name)").await,
        vec![of("Account", "Globex")]
    );
    assert_eq!(
        found(&org, "FIND {Gl?bex} RETURNING Account(Name)").await,
        vec![of("Account", "Globex")]
    );
    assert!(
        found(&org, "FIND {Glob} RETURNING Account(Name)")
            .await
            .is_empty()
    );
    assert_eq!(
        found(&org, "FIND {\"acme labs\"} RETURNING Account(Name)").await,
        vec![of("Account", "Acme Labs")]
    );
    assert_eq!(
        found(&org, "FIND {acme AND NOT labs} RETURNING Account(Name)").await,
        vec![of("Account", "Acme Corporation")]
    );
    assert_eq!(
        found(
            &org,
            "FIND {globex OR gadgets} RETURNING Account(Name ORDER BY Name DESC)"
        )
        .await,
        vec![of("Account", "Globex"), of("Account", "Acme Labs")]
    );

    // RETURNING filters, orders and limits per object; LIMIT caps the whole result.
    assert_eq!(
        found(
            &org,
            "FIND {acme} RETURNING Account(Name WHERE Industry = 'Energy')"
        )
        .await,
        vec![of("Account", "Acme Labs")]
    );
    assert_eq!(
        found(
            &org,
            "FIND {acme} RETURNING Account(Name ORDER BY Name DESC LIMIT 1), Contact(Name)"
        )
        .await,
        vec![of("Account", "Acme Labs"), of("Contact", "John Smith")]
    );
    assert_eq!(
        found(
            &org,
            "FIND {acme} RETURNING Account(Name ORDER BY Name OFFSET 1)"
        )
        .await,
        vec![of("Account", "Acme Labs")]
    );
    assert_eq!(
        found(
            &org,
            "FIND {acme} RETURNING Contact(Name), Account(Name) LIMIT 2"
        )
        .await,
        vec![
            of("Contact", "John Smith"),
            of("Account", "Acme Corporation")
        ]
    );

    // Without RETURNING: every searchable object, Id only.
    let reply = search(&org, "FIND {acme}").await;
    let records = reply.json["searchRecords"].as_array().unwrap();
    assert_eq!(records.len(), 4);
    for record in records {
        let mut keys: Vec<&str> = record
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        assert_eq!(keys, ["Id", "attributes"]);
    }

    // simple-salesforce sends `/search/?q=` with `+` for spaces.
    let reply = org
        .send(
            Method::GET,
            &org.data("/search/?q=FIND+%7BGlobex%7D+RETURNING+Account(Name)"),
            None,
        )
        .await;
    assert_eq!(reply.json["searchRecords"][0]["Name"], "Globex");
}

#[tokio::test]
async fn search_errors_are_salesforce_shaped() {
    let org = TestOrg::start().await;
    seed(&org).await;
    let short = search(&org, "FIND {a*} RETURNING Account").await;
    assert_eq!(
        (short.status, short.error_code()),
        (StatusCode::BAD_REQUEST, "MALFORMED_SEARCH")
    );
    assert_eq!(
        short.json[0]["message"],
        "search term must be longer than one character"
    );
    let broken = search(&org, "FIND {Acme} RETURNIN Account").await;
    assert_eq!(broken.error_code(), "MALFORMED_SEARCH");
    assert_eq!(
        broken.json[0]["message"],
        "\nFIND {Acme} RETURNIN Account\n            ^\nERROR at Row:1:Column:13\nunexpected token: 'RETURNIN'"
    );
    let unknown = search(&org, "FIND {Acme} RETURNING Gizmo").await;
    assert_eq!(unknown.error_code(), "INVALID_TYPE");
    let field = search(&org, "FIND {Acme} RETURNING Account(Nope)").await;
    assert_eq!(field.error_code(), "INVALID_FIELD");
    let missing = org.get("/search").await;
    assert_eq!(missing.error_code(), "MALFORMED_SEARCH");
}

#[tokio::test]
async fn parameterized_search_accepts_get_parameters_and_a_json_body() {
    let org = TestOrg::start().await;
    let (acme, _) = seed(&org).await;
    let reply = org
        .get("/parameterizedSearch/?q=Acme&sobject=Account&Account.fields=Id,Name&Account.limit=1&in=ALL")
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(
        reply.json,
        json!({"searchRecords": [{
            "attributes": {"type": "Account", "url": format!("/services/data/v60.0/sobjects/Account/{acme}")},
            "Id": acme,
            "Name": "Acme Corporation"
        }]})
    );

    let reply = org
        .post(
            "/parameterizedSearch",
            json!({
                "q": "acme",
                "fields": ["Name"],
                "sobjects": [{"name": "Lead"}, {"name": "Account", "fields": ["Id", "Industry"], "limit": 5}],
                "in": "NAME",
                "overallLimit": 100,
                "defaultLimit": 10
            }),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let records = reply.json["searchRecords"].as_array().unwrap();
    assert_eq!(records.len(), 3);
    assert_eq!(records[0]["attributes"]["type"], "Lead");
    assert_eq!(records[0]["Name"], "Doe");
    assert_eq!(records[1]["Industry"], "Media");
    assert!(records[1].get("Name").is_none());

    let bad = org
        .get("/parameterizedSearch?q=Acme&sobject=Account&Account.fields=Name)%20FROM")
        .await;
    assert_eq!(
        (bad.status, bad.error_code()),
        (StatusCode::BAD_REQUEST, "MALFORMED_SEARCH")
    );
    let no_text = org
        .post("/parameterizedSearch", json!({"sobjects": []}))
        .await;
    assert_eq!(no_text.error_code(), "MALFORMED_SEARCH");
    let scope = org.get("/parameterizedSearch?q=Acme&in=EVERYWHERE").await;
    assert_eq!(scope.error_code(), "MALFORMED_SEARCH");
}
