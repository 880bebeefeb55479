//! The entry points other parts of the org call directly (`query_json`, `run`,
//! `check_bulk_query`, `condition_holds`), below the HTTP surface the integration tests drive.

use std::sync::Arc;

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{check_bulk_query, condition_holds, query_json, run};
use crate::dml;
use crate::org::Org;
use crate::schema::{FieldBuilder, ObjectBuilder, ValidationRule, standard};
use crate::store::{Clock, Store, WriteError};
use crate::value::Value as Stored;
use crate::versions::ApiVersion;
use crate::{Config, Emulator};

/// A started org (its HTTP surface serves the pages after the first).
async fn start(config: Config) -> (Emulator, Arc<Org>) {
    let emulator = Emulator::start(config, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let org = emulator.org.clone();
    (emulator, org)
}

fn fixed_clock(at: &str) -> Config {
    let mut config = Config::builtin();
    config.fixed_time = Some(crate::value::parse_datetime(at).unwrap());
    config
}

/// Creates one record as a REST create would; returns its id.
fn create(org: &Org, object: &str, body: Value) -> String {
    let (object, _) = org
        .schema()
        .find(object)
        .map(|(i, d)| (i, d.name.clone()))
        .unwrap();
    org.store
        .write(org.admin(), |txn| {
            dml::create(txn, object, body.as_object().unwrap()).map_err(WriteError::Work)
        })
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn query_json_returns_the_first_page_and_opens_a_cursor() {
    let (emulator, inner) = start(Config::builtin()).await;
    let inner = &inner;
    emulator
        .control()
        .insert(
            "Account",
            (0..2001).map(|i| json!({"Name": format!("Account {i:05}"), "NumberOfEmployees": i})),
        )
        .unwrap();
    let page = query_json(
        inner,
        inner.store.snapshot(),
        inner.admin(),
        ApiVersion(58),
        "SELECT Name FROM Account ORDER BY Name DESC",
        false,
    )
    .unwrap();
    assert_eq!(page["totalSize"], 2001);
    assert_eq!(page["records"][0]["Name"], "Account 02000");
    let next = page["nextRecordsUrl"].as_str().unwrap();
    assert!(next.starts_with("/services/data/v58.0/query/01g"));
    let rest: Value = reqwest::Client::new()
        .get(format!("{}{next}", emulator.url()))
        .bearer_auth(emulator.access_token())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(rest["records"][0]["Name"], "Account 00000");
    let failure = query_json(
        inner,
        inner.store.snapshot(),
        inner.admin(),
        ApiVersion(58),
        "SELECT Bogus FROM Account",
        false,
    )
    .unwrap_err();
    assert_eq!(failure.errors[0].error_code, "INVALID_FIELD");
}

#[tokio::test]
async fn a_run_renders_bulk_csv_and_json_pages() {
    let (_emulator, inner) = start(fixed_clock("2024-01-15T10:30:00Z")).await;
    let inner = &inner;
    let acme = create(
        inner,
        "Account",
        json!({"Name": "Acme \"Best\" Corp", "NumberOfEmployees": 5}),
    );
    create(
        inner,
        "Contact",
        json!({"LastName": "Smith", "AccountId": acme, "DoNotCall": true, "Birthdate": "1990-02-03"}),
    );
    create(inner, "Contact", json!({"LastName": "Alone"}));
    let run = run(
        inner,
        inner.store.snapshot(),
        inner.admin(),
        "SELECT LastName, Account.Name, Account.NumberOfEmployees, DoNotCall, Birthdate FROM Contact ORDER BY LastName DESC",
        false,
    )
    .unwrap();
    assert_eq!(run.total_size(), 2);
    assert_eq!(run.object(), "Contact");
    assert_eq!(
        run.csv_header(),
        [
            "LastName",
            "Account.Name",
            "Account.NumberOfEmployees",
            "DoNotCall",
            "Birthdate"
        ]
    );
    let mut csv = Vec::new();
    run.write_csv_header(&mut csv, b',', "\n");
    run.write_csv_rows(&mut csv, 0..10, b',', "\n");
    assert_eq!(
        String::from_utf8(csv).unwrap(),
        "\"LastName\",\"Account.Name\",\"Account.NumberOfEmployees\",\"DoNotCall\",\"Birthdate\"\n\
         \"Smith\",\"Acme \"\"Best\"\" Corp\",\"5\",\"true\",\"1990-02-03\"\n\
         \"Alone\",\"\",\"\",\"false\",\"\"\n"
    );
    let mut tab = Vec::new();
    run.write_csv_rows(&mut tab, 1..2, b'\t', "\r\n");
    assert_eq!(
        String::from_utf8(tab).unwrap(),
        "\"Alone\"\t\"\"\t\"\"\t\"false\"\t\"\"\r\n"
    );
    let mut json = Vec::new();
    run.write_json_records(&mut json, 1..5, ApiVersion(60));
    let value: Value = serde_json::from_slice(&[b"[", json.as_slice(), b"]"].concat()).unwrap();
    assert_eq!(value[0]["LastName"], "Alone");
    assert_eq!(value[0]["Account"], Value::Null);
    assert_eq!(value[0]["Birthdate"], Value::Null);
    assert_eq!(value.as_array().unwrap().len(), 1);
    // Datetimes: `Z` in CSV, `+0000` in JSON (each write is a millisecond later).
    let stamps = run_created(inner);
    assert!(
        stamps.0.starts_with("\"2024-01-15T10:30:00.0"),
        "{}",
        stamps.0
    );
    assert!(stamps.0.ends_with("Z\"\n"), "{}", stamps.0);
    assert!(stamps.1.starts_with("[{\"attributes\""));
    assert!(stamps.1.contains("\"CreatedDate\":\"2024-01-15T10:30:00.0"));
    assert!(stamps.1.contains("+0000\"}"));
}

/// `SELECT CreatedDate FROM Account` as CSV and as a JSON array.
fn run_created(org: &Arc<Org>) -> (String, String) {
    let run = run(
        org,
        org.store.snapshot(),
        org.admin(),
        "SELECT CreatedDate FROM Account",
        false,
    )
    .unwrap();
    let mut csv = Vec::new();
    run.write_csv_rows(&mut csv, 0..1, b',', "\n");
    let mut json = b"[".to_vec();
    run.write_json_records(&mut json, 0..1, ApiVersion(60));
    json.push(b']');
    (
        String::from_utf8(csv).unwrap(),
        String::from_utf8(json).unwrap(),
    )
}

#[tokio::test]
async fn bulk_refuses_what_bulk_refuses() {
    let (_emulator, inner) = start(Config::builtin()).await;
    let inner = &inner;
    assert!(
        check_bulk_query(
            inner,
            "SELECT Id, Account.Name FROM Contact WHERE LastName != null"
        )
        .is_ok()
    );
    let cases = [
        (
            "SELECT Id, BillingAddress FROM Account",
            "Selecting compound data not supported in Bulk Query",
        ),
        (
            "SELECT Id, (SELECT Id FROM Contacts) FROM Account",
            "Aggregate Relationships not supported in Bulk Query",
        ),
        (
            "SELECT COUNT() FROM Account",
            "Aggregate functions not supported in Bulk Query",
        ),
        (
            "SELECT Industry, COUNT(Id) FROM Account GROUP BY Industry",
            "Aggregate functions not supported in Bulk Query",
        ),
        (
            "SELECT Id FROM Account OFFSET 5",
            "OFFSET not supported in Bulk Query",
        ),
        (
            "SELECT TYPEOF What WHEN Account THEN Name END FROM Task",
            "TYPEOF not supported in Bulk Query",
        ),
        (
            "SELECT FIELDS(STANDARD) FROM Account",
            "FIELDS() not supported in Bulk Query",
        ),
    ];
    for (soql, message) in cases {
        let failure = check_bulk_query(inner, soql).unwrap_err();
        assert_eq!(failure.status, StatusCode::BAD_REQUEST, "{soql}");
        assert_eq!(failure.errors[0].error_code, "API_ERROR", "{soql}");
        assert_eq!(failure.errors[0].message, message, "{soql}");
    }
    let unknown = check_bulk_query(inner, "SELECT Nope FROM Account").unwrap_err();
    assert_eq!(unknown.errors[0].error_code, "INVALID_FIELD");
}

/// An object with a multi-select picklist and a validation rule, in a store of its own.
fn custom_store() -> (Store, crate::schema::ObjectIdx) {
    let rule_text =
        "SELECT Id FROM Gadget__c WHERE Colors__c INCLUDES ('Red;Blue') AND Price__c > 100";
    let parse = forcebridge_soql::parse_query(rule_text);
    let condition = parse.tree.where_clause.unwrap();
    let gadget = ObjectBuilder::new("Gadget__c", "Gadget", "Gadgets", "a01")
        .owned()
        .field(FieldBuilder::string("Name", "Name", 80).name_field())
        .field(FieldBuilder::multipicklist(
            "Colors__c",
            "Colors",
            &["Red", "Green", "Blue"],
        ))
        .field(FieldBuilder::currency("Price__c", "Price", 18, 2))
        .field(FieldBuilder::reference(
            "Account__c",
            "Account",
            &["Account"],
            "Account__r",
            Some("Gadgets__r"),
        ))
        .validation_rule(ValidationRule {
            name: "NoExpensivePurpleish".to_string(),
            condition,
            message: "Red and blue gadgets must cost 100 or less".to_string(),
            field: Some("Price__c".to_string()),
        })
        .build();
    let schema = Arc::new(standard::schema(vec![gadget]).unwrap());
    let (idx, _) = schema.find("Gadget__c").unwrap();
    (Store::new(schema, Clock::manual(1_700_000_000_000)), idx)
}

#[test]
fn validation_rules_fire_through_condition_holds() {
    let (store, gadget) = custom_store();
    let user = crate::ids::RecordId::new("005", 1);
    let create = |body: Value| {
        store.write(user, |txn| {
            dml::create(txn, gadget, body.as_object().unwrap()).map_err(WriteError::Work)
        })
    };
    assert!(create(json!({"Name": "ok", "Colors__c": "Red;Blue", "Price__c": 99})).is_ok());
    assert!(create(json!({"Name": "one color", "Colors__c": "Red", "Price__c": 500})).is_ok());
    let Err(WriteError::Work(error)) =
        create(json!({"Name": "bad", "Colors__c": "Blue;Green;Red", "Price__c": 101}))
    else {
        panic!("the rule must refuse the save")
    };
    assert_eq!(error.code, "FIELD_CUSTOM_VALIDATION_EXCEPTION");
    assert_eq!(error.message, "Red and blue gadgets must cost 100 or less");
    assert_eq!(error.fields, ["Price__c"]);
}

#[test]
fn condition_holds_reads_unsaved_values_and_parents() {
    let (store, gadget) = custom_store();
    let schema = store.schema().clone();
    let (account, account_def) = schema.find("Account").unwrap();
    let user = crate::ids::RecordId::new("005", 1);
    let acme = store
        .write(user, |txn| {
            dml::create(txn, account, json!({"Name": "Acme"}).as_object().unwrap())
                .map_err(WriteError::Work)
        })
        .unwrap();
    let _ = account_def;
    let def = schema.object(gadget);
    let mut values = vec![Stored::Null; def.columns];
    let set = |values: &mut Vec<Stored>, name: &str, value: Stored| {
        values[def.field(name).unwrap().1.column().unwrap()] = value;
    };
    set(&mut values, "Colors__c", Stored::text("Green;Red"));
    set(&mut values, "Account__c", Stored::Ref(acme));
    let data = store.snapshot();
    let holds = |text: &str, values: &[Stored]| {
        let parse =
            forcebridge_soql::parse_query(&format!("SELECT Id FROM Gadget__c WHERE {text}"));
        assert!(parse.errors.is_empty(), "{text}");
        condition_holds(
            &schema,
            &data,
            gadget,
            0,
            values,
            parse.tree.where_clause.as_ref().unwrap(),
        )
    };
    assert!(holds("Colors__c INCLUDES ('Red')", &values));
    assert!(holds("Colors__c INCLUDES ('Blue', 'green;red')", &values));
    assert!(!holds("Colors__c INCLUDES ('Red;Blue')", &values));
    assert!(holds("Colors__c EXCLUDES ('Blue')", &values));
    assert!(
        holds("Colors__c = 'red;green'", &values),
        "= compares the set"
    );
    assert!(
        holds("Account__r.Name = 'ACME'", &values),
        "parents are read from the data"
    );
    assert!(!holds("Price__c > 5", &values), "null compares as unknown");
    assert!(
        !holds("NOT (Price__c > 5)", &values),
        "NOT unknown is unknown"
    );
    assert!(holds("Price__c = null", &values));
    assert!(
        !holds("Nope__c = 1", &values),
        "a rule that does not fit never fires"
    );
}
