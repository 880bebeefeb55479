//! Writing records to a string, the one helper every test uses.

use forcebridge_rows::{Columns, Format, RowWriter, Summary};

/// Writes `records` (JSON texts as the org sends them) for `soql` in `format`.
pub(crate) fn write(format: Format, soql: &str, records: &[&str]) -> (String, Summary) {
    let mut out = Vec::new();
    let mut writer = RowWriter::new(format, Columns::of_soql(soql), &mut out);
    for record in records {
        writer.write_json(record).unwrap();
    }
    let summary = writer.finish().unwrap();
    (String::from_utf8(out).unwrap(), summary)
}

/// The CSV text read back with a CSV reader: the header and the rows.
pub(crate) fn read_csv(text: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let mut reader = ::csv::Reader::from_reader(text.as_bytes());
    let header = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_string)
        .collect();
    let rows = reader
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect();
    (header, rows)
}
