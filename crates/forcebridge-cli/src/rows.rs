//! Records on stdout: `forcebridge-rows` writes them; this module chooses the format from the
//! flags and prints what the writer reports (fields left out, child records not all sent) on
//! stderr.

use std::io::Write;

use forcebridge_client::RawPage;
use forcebridge_rows::Warning;
pub(crate) use forcebridge_rows::{Columns, Format};
use serde_json::Value;

use crate::cli::FormatArgs;

impl From<FormatArgs> for Format {
    fn from(args: FormatArgs) -> Format {
        if args.json {
            Format::Json
        } else if args.jsonl {
            Format::Jsonl
        } else if args.csv {
            Format::Csv
        } else {
            Format::Table
        }
    }
}

/// A [`forcebridge_rows::RowWriter`] whose warnings go to stderr.
pub(crate) struct RowWriter<W: Write>(forcebridge_rows::RowWriter<W>);

impl<W: Write> RowWriter<W> {
    /// For records that come with no query: the columns are their fields.
    pub(crate) fn new(format: Format, out: W) -> RowWriter<W> {
        RowWriter::with_columns(format, Columns::discover(), out)
    }

    pub(crate) fn with_columns(format: Format, columns: Columns, out: W) -> RowWriter<W> {
        RowWriter(forcebridge_rows::RowWriter::new(format, columns, out))
    }

    pub(crate) fn write(&mut self, record: &impl serde::Serialize) -> forcebridge_rows::Result<()> {
        self.0.write(record)
    }

    /// Writes a page's records and lets them reach the output.
    pub(crate) fn write_page(&mut self, page: &RawPage) -> forcebridge_rows::Result<()> {
        self.0.write_page(page)?;
        self.0.flush()
    }

    /// Ends the output and returns how many records were written.
    pub(crate) fn finish(self) -> forcebridge_rows::Result<u64> {
        let summary = self.0.finish()?;
        for warning in &summary.warnings {
            let hint = match warning {
                Warning::LeftOut { .. } => "; use --json or --jsonl to see every field",
                Warning::MoreChildren { .. } => "; use --json or --jsonl to see where the rest are",
                _ => "",
            };
            crate::output::stderr(&format!("warning: {warning}{hint}\n"));
        }
        Ok(summary.records)
    }
}

/// A value as one cell: strings bare, null empty, anything else as JSON.
pub(crate) fn cell_text(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}
