//! Each format on the same records: contacts with a parent (and a null one), a compound
//! address, numbers as the org writes them, child records, and text with quotes, commas,
//! line breaks, tabs and non-ASCII characters.

use forcebridge_rows::{Format, Warning};

use crate::support::write;

const SOQL: &str = "SELECT LastName, Id, Account.Name, Title, Score__c, HasOptedOutOfEmail, \
    MailingAddress, (SELECT Subject FROM Cases) FROM Contact";

const RECORDS: [&str; 3] = [
    r#"{"attributes":{"type":"Contact","url":"/services/data/v60.0/sobjects/Contact/003000000000001AAA"},"LastName":"O'Brien, \"Bo\"","Id":"003000000000001AAA","Account":{"attributes":{"type":"Account","url":"/services/data/v60.0/sobjects/Account/001000000000001AAA"},"Name":"Acme, Inc."},"Title":"Head of\nSales","Score__c":12.5,"HasOptedOutOfEmail":false,"MailingAddress":{"city":"Zürich","country":"CH","postalCode":"8001","street":"Bahnhofstrasse 1"},"Cases":{"totalSize":2,"done":true,"records":[{"attributes":{"type":"Case","url":"/services/data/v60.0/sobjects/Case/500000000000001AAA"},"Subject":"Cannot log in"},{"attributes":{"type":"Case","url":"/services/data/v60.0/sobjects/Case/500000000000002AAA"},"Subject":"Invoice \"March\""}]}}"#,
    r#"{"attributes":{"type":"Contact","url":"/services/data/v60.0/sobjects/Contact/003000000000002AAA"},"LastName":"Ng","Id":"003000000000002AAA","Account":null,"Title":null,"Score__c":1.0E7,"HasOptedOutOfEmail":true,"MailingAddress":null,"Cases":null}"#,
    r#"{"attributes":{"type":"Contact","url":"/services/data/v60.0/sobjects/Contact/003000000000003AAA"},"LastName":"M\u00fcller 日本","Id":"003000000000003AAA","Account":{"attributes":{"type":"Account","url":"/services/data/v60.0/sobjects/Account/001000000000002AAA"},"Name":"A very long account name that does not fit in a table column"},"Title":"CEO\tand founder","Score__c":0,"HasOptedOutOfEmail":false,"MailingAddress":null,"Cases":{"totalSize":1,"done":true,"records":[{"attributes":{"type":"Case","url":"/services/data/v60.0/sobjects/Case/500000000000003AAA"},"Subject":"Ünïcødé ✓"}]}}"#,
];

#[test]
fn table() {
    let (text, summary) = write(Format::Table, SOQL, &RECORDS);
    insta::assert_snapshot!(text);
    assert_eq!((summary.records, summary.rows), (3, 3));
    assert_eq!(summary.warnings, []);
}

#[test]
fn csv() {
    let (text, summary) = write(Format::Csv, SOQL, &RECORDS);
    insta::assert_snapshot!(text);
    // A row per case, and one for the contact with none.
    assert_eq!((summary.records, summary.rows), (3, 4));
    assert_eq!(summary.warnings, []);
}

#[test]
fn json() {
    let (text, summary) = write(Format::Json, SOQL, &RECORDS);
    insta::assert_snapshot!(text);
    let read: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(read.as_array().unwrap().len(), 3);
    assert_eq!((summary.records, summary.rows), (3, 3));
}

#[test]
fn json_lines() {
    let (text, summary) = write(Format::Jsonl, SOQL, &RECORDS);
    insta::assert_snapshot!(text);
    // Each line is one record exactly as the org sent it.
    assert_eq!(text.lines().collect::<Vec<_>>(), RECORDS);
    assert_eq!((summary.records, summary.rows), (3, 3));
}

#[test]
fn no_records_still_give_the_header_when_the_query_names_the_columns() {
    assert_eq!(
        write(Format::Csv, SOQL, &[]).0,
        "LastName,Id,Account.Name,Title,Score__c,HasOptedOutOfEmail,MailingAddress,Cases.Subject\n"
    );
    insta::assert_snapshot!(write(Format::Table, SOQL, &[]).0, @r"
    LastName  Id  Account.Name  Title  Score__c  HasOptedOutOfEmail  MailingAddress  Cases
    ────────  ──  ────────────  ─────  ────────  ──────────────────  ──────────────  ─────
    ");
    assert_eq!(write(Format::Json, SOQL, &[]).0, "[]\n");
    assert_eq!(write(Format::Jsonl, SOQL, &[]).0, "");
    // With nothing to go on, there is nothing to write.
    assert_eq!(
        write(Format::Csv, "SELECT FIELDS(ALL) FROM Contact LIMIT 5", &[]).0,
        ""
    );
}

#[test]
fn aggregate_columns_are_named_by_alias_or_expr_number() {
    let (text, _) = write(
        Format::Csv,
        "SELECT LeadSource, COUNT(Id), MAX(CreatedDate) latest FROM Lead GROUP BY LeadSource",
        &[
            r#"{"attributes":{"type":"AggregateResult"},"LeadSource":"Web","expr0":12,"latest":"2024-01-15T10:30:00.000+0000"}"#,
            r#"{"attributes":{"type":"AggregateResult"},"LeadSource":null,"expr0":3,"latest":null}"#,
        ],
    );
    assert_eq!(
        text,
        "LeadSource,expr0,latest\nWeb,12,2024-01-15T10:30:00.000+0000\n,3,\n"
    );
}

#[test]
fn attributes_of_any_shape_or_place_are_left_out_of_the_columns() {
    let (text, _) = write(
        Format::Csv,
        "SELECT Id, Name FROM Account",
        &[
            r#"{"attributes":{"type":"Account","url":"/x/001"},"Id":"001","Name":"Plain"}"#,
            r#"{"attributes":null,"Id":"002","Name":"Null"}"#,
            r#"{"attributes":{"type":"Account","n":1,"ok":true,"none":null},"Id":"003","Name":"Scalars"}"#,
            r#"{"attributes":{"type":"Account","deep":{"a":[1,{"b":"}"}]},"url":"/x"},"Id":"004","Name":"Nested"}"#,
            r#"{"Id":"005","attributes":{"type":"Account"},"Name":"Not first"}"#,
            r#"{"attributes":"odd","Id":"006","Name":"A string"}"#,
        ],
    );
    assert_eq!(
        text,
        "Id,Name\n001,Plain\n002,Null\n003,Scalars\n004,Nested\n005,Not first\n006,A string\n"
    );
}

#[test]
fn typeof_branches_are_columns_under_the_relationship() {
    let (text, _) = write(
        Format::Csv,
        "SELECT Subject, TYPEOF What WHEN Account THEN Phone, Name WHEN Opportunity THEN Amount END FROM Event",
        &[
            r#"{"attributes":{"type":"Event"},"Subject":"Call","What":{"attributes":{"type":"Account"},"Phone":"555","Name":"Acme"}}"#,
            r#"{"attributes":{"type":"Event"},"Subject":"Demo","What":{"attributes":{"type":"Opportunity"},"Amount":5000.0}}"#,
        ],
    );
    assert_eq!(
        text,
        "Subject,What.Phone,What.Name,What.Amount\nCall,555,Acme,\nDemo,,,5000.0\n"
    );
}

#[test]
fn several_subqueries_stack_their_rows_and_nested_ones_expand_too() {
    let soql = "SELECT Name, (SELECT LastName, (SELECT Subject FROM Cases) FROM Contacts), \
                (SELECT StageName FROM Opportunities) FROM Account";
    let account = r#"{"attributes":{"type":"Account"},"Name":"Acme",
        "Contacts":{"totalSize":2,"done":true,"records":[
            {"attributes":{"type":"Contact"},"LastName":"Ng","Cases":{"totalSize":2,"done":true,"records":[
                {"attributes":{"type":"Case"},"Subject":"One"},{"attributes":{"type":"Case"},"Subject":"Two"}]}},
            {"attributes":{"type":"Contact"},"LastName":"Bo","Cases":null}]},
        "Opportunities":{"totalSize":1,"done":true,"records":[{"attributes":{"type":"Opportunity"},"StageName":"Won"}]}}"#;
    let (text, summary) = write(Format::Csv, soql, &[account]);
    assert_eq!(
        text,
        "Name,Contacts.LastName,Contacts.Cases.Subject,Opportunities.StageName\n\
         Acme,Ng,One,\n\
         Acme,Ng,Two,\n\
         Acme,Bo,,\n\
         Acme,,,Won\n"
    );
    assert_eq!((summary.records, summary.rows), (1, 4));
    let (table, _) = write(Format::Table, soql, &[account]);
    assert_eq!(
        table,
        "Name  Contacts     Opportunities\n────  ───────────  ─────────────\nAcme  [2 records]  [1 record]\n"
    );
}

#[test]
fn child_records_that_did_not_all_come_are_reported() {
    let (_, summary) = write(
        Format::Csv,
        "SELECT Name, (SELECT LastName FROM Contacts) FROM Account",
        &[
            r#"{"attributes":{"type":"Account"},"Name":"Big","Contacts":{"totalSize":2500,"done":false,"nextRecordsUrl":"/services/data/v60.0/query/01gxx-2000","records":[{"attributes":{"type":"Contact"},"LastName":"Ng"}]}}"#,
        ],
    );
    assert_eq!(
        summary.warnings,
        [Warning::MoreChildren {
            relationship: "Contacts".into(),
            parents: 1
        }]
    );
    assert_eq!(
        summary.warnings[0].to_string(),
        "1 record had more Contacts than came with it; only those that came are written"
    );
}

#[test]
fn discovered_columns_come_from_the_first_records_and_later_ones_are_reported() {
    let mut records: Vec<String> = (0..250)
        .map(|i| format!(r#"{{"attributes":{{"type":"Contact"}},"Id":"{i}","Account":null}}"#))
        .collect();
    records[3] = r#"{"attributes":{"type":"Contact"},"Id":"3","Account":{"attributes":{"type":"Account"},"Name":"Acme"}}"#.into();
    records[220] =
        r#"{"attributes":{"type":"Contact"},"Id":"220","Account":null,"Late__c":1}"#.into();
    let records: Vec<&str> = records.iter().map(String::as_str).collect();
    let (text, summary) = write(
        Format::Csv,
        "SELECT FIELDS(ALL) FROM Contact LIMIT 200",
        &records,
    );
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("Id,Account.Name"));
    assert_eq!(lines.nth(3), Some("3,Acme"));
    assert_eq!(text.lines().count(), 251);
    assert_eq!(
        summary.warnings,
        [Warning::LeftOut {
            fields: vec!["Late__c".into()]
        }]
    );
}

#[test]
fn typed_and_dynamic_records_write_as_their_json_does() {
    let record: forcebridge_client::Record = serde_json::from_str(RECORDS[0]).unwrap();
    let mut out = Vec::new();
    let mut writer = forcebridge_rows::RowWriter::new(
        Format::Csv,
        forcebridge_rows::Columns::of_soql(SOQL),
        &mut out,
    );
    writer.write(&record).unwrap();
    writer.finish().unwrap();
    let (expected, _) = write(Format::Csv, SOQL, &RECORDS[..1]);
    assert_eq!(String::from_utf8(out).unwrap(), expected);
}
