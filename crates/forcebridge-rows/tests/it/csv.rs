//! The CSV's promises: whatever the values, a CSV reader reads back exactly what the records
//! hold; bad records and failing outputs are errors of their own kind.

use std::io::{self, Write};

use forcebridge_rows::{Columns, ErrorKind, Format, RowWriter};
use proptest::prelude::*;

use crate::support::{read_csv, write};

proptest! {
    #[test]
    fn any_text_reads_back_from_the_csv(
        names in proptest::collection::vec(
            prop_oneof![
                any::<String>(),
                "[\"',\\n\\r\\t ;a-zé日😀]{0,12}",
            ],
            1..20,
        ),
    ) {
        let records: Vec<String> = names
            .iter()
            .map(|name| serde_json::json!({
                "attributes": {"type": "Contact"},
                "LastName": name,
                "Account": {"attributes": {"type": "Account"}, "Name": name},
            }).to_string())
            .collect();
        let records: Vec<&str> = records.iter().map(String::as_str).collect();
        let (text, _) = write(Format::Csv, "SELECT LastName, Account.Name FROM Contact", &records);
        let (header, rows) = read_csv(&text);
        prop_assert_eq!(header, ["LastName", "Account.Name"]);
        prop_assert_eq!(rows.len(), names.len());
        for (row, name) in rows.iter().zip(&names) {
            prop_assert_eq!(row, &vec![name.clone(), name.clone()]);
        }
    }
}

/// Any JSON value, nested a little.
fn json_value() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::Value;
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        any::<String>().prop_map(Value::from),
        "[\"\\\\/\n\u{0}-\u{1f}aé日😀,{}\\[\\]:]{0,10}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::btree_map("[a-z\"]{1,3}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A cell as the CSV should show a value: a string bare, null empty, anything else as JSON.
fn cell(value: Option<&serde_json::Value>) -> String {
    match value {
        None | Some(serde_json::Value::Null) => String::new(),
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

proptest! {
    #[test]
    fn every_value_reads_back_as_its_cell(
        a in json_value(),
        b in json_value(),
        x in json_value(),
        extra in json_value(),
        parent_null in any::<bool>(),
    ) {
        let parent = if parent_null {
            serde_json::Value::Null
        } else {
            serde_json::json!({"attributes": {"type": "Account"}, "X": x, "Other": extra})
        };
        let record = serde_json::json!({
            "attributes": {"type": "Thing", "url": "/x"},
            "A": a, "Skipped": extra, "P": parent, "B": b,
        });
        let (text, _) = write(Format::Csv, "SELECT A, P.X, B FROM Thing", &[&record.to_string()]);
        let (_, rows) = read_csv(&text);
        let expected = vec![
            cell(record.get("A")),
            cell(record.pointer("/P/X")),
            cell(record.get("B")),
        ];
        prop_assert_eq!(rows, vec![expected]);
    }
}

#[test]
fn a_row_of_one_empty_cell_is_still_a_row() {
    let (text, _) = write(
        Format::Csv,
        "SELECT Title FROM Contact",
        &[r#"{"Title":null}"#, r#"{"Title":"CEO"}"#],
    );
    assert_eq!(text, "Title\n\"\"\nCEO\n");
    assert_eq!(read_csv(&text).1, [[""], ["CEO"]]);
}

#[test]
fn a_record_that_is_not_json_is_an_invalid_record() {
    let mut writer = RowWriter::new(
        Format::Csv,
        Columns::of_soql("SELECT Id, Parent.Name FROM Account"),
        Vec::new(),
    );
    for bad in [r#"{"Id": "001"#, "null", r#""001""#, r#"{"Id":"001"} {}"#] {
        let error = writer.write_json(bad).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidRecord, "{bad}");
    }
    // A parent that is not an object is passed over: its cells stay empty.
    writer
        .write_json(r#"{"attributes":{"type":"Account"},"Id":"001","Parent":"?"}"#)
        .unwrap();
}

/// An output whose reader has gone, as `| head` leaves stdout.
struct ClosedPipe;

impl Write for ClosedPipe {
    fn write(&mut self, _: &[u8]) -> io::Result<usize> {
        Err(io::Error::from(io::ErrorKind::BrokenPipe))
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn a_closed_output_is_an_io_error_with_the_cause_inside() {
    for format in [Format::Csv, Format::Jsonl] {
        let mut writer = RowWriter::new(
            format,
            Columns::of_soql("SELECT Id FROM Account"),
            ClosedPipe,
        );
        writer
            .write_json(r#"{"attributes":{"type":"Account"},"Id":"001"}"#)
            .unwrap();
        let error = writer.finish().unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Io);
        let cause = std::error::Error::source(&error)
            .and_then(|e| e.downcast_ref::<io::Error>())
            .unwrap();
        assert_eq!(cause.kind(), io::ErrorKind::BrokenPipe);
    }
}

#[test]
fn line_breaks_between_tokens_never_split_a_json_line() {
    let (text, _) = write(
        Format::Jsonl,
        "SELECT Id FROM Account",
        &["{\"Id\":\r\n \"001\",\n\"Name\":\"a\\nb\"}"],
    );
    assert_eq!(text, "{\"Id\": \"001\",\"Name\":\"a\\nb\"}\n");
}
