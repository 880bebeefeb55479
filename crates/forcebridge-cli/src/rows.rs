//! Records printed as an aligned table, JSON, JSON lines or CSV, one at a time.
//!
//! Nothing here holds a whole result: JSON, JSON lines and CSV write each record as it comes.
//! The table and the CSV header need the columns first, so they look at the first
//! [`HEADER_SAMPLE`] records (a parent that is null in the first record, such as `Account`,
//! still becomes its `Account.Name` column when a later one has it), then stream the rest.

use std::io::{self, Write};

use serde_json::{Map, Value};

use crate::cli::FormatArgs;

/// How many records decide the columns of a table or CSV.
pub(crate) const HEADER_SAMPLE: usize = 200;
/// The widest a table column gets; longer values are cut with `…`.
const MAX_WIDTH: usize = 48;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    Table,
    Json,
    Jsonl,
    Csv,
}

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

/// Writes records in one format.
pub(crate) struct RowWriter<W: Write> {
    format: Format,
    sink: Sink<W>,
    written: u64,
    /// Records held back until the columns are known (table and CSV).
    sample: Vec<Vec<(String, String)>>,
    columns: Option<Vec<Column>>,
    dropped: Vec<String>,
}

enum Sink<W: Write> {
    Plain(W),
    Csv(csv::Writer<W>),
    /// Only while switching from one to the other.
    Switching,
}

impl<W: Write> Write for Sink<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Sink::Plain(out) => out.write(buf),
            Sink::Csv(_) => Err(io::Error::other("CSV rows go through the CSV writer")),
            Sink::Switching => Err(io::Error::other("output is being switched")),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Sink::Plain(out) => out.flush(),
            Sink::Csv(csv) => csv.flush(),
            Sink::Switching => Ok(()),
        }
    }
}

#[derive(Debug, Clone)]
struct Column {
    name: String,
    width: usize,
}

impl<W: Write> RowWriter<W> {
    pub(crate) fn new(format: Format, out: W) -> RowWriter<W> {
        RowWriter {
            format,
            sink: Sink::Plain(out),
            written: 0,
            sample: Vec::new(),
            columns: None,
            dropped: Vec::new(),
        }
    }

    /// Writes one record (a JSON object as Salesforce returns it).
    pub(crate) fn write(&mut self, record: &Map<String, Value>) -> io::Result<()> {
        self.written += 1;
        match self.format {
            Format::Json => {
                self.sink
                    .write_all(if self.written == 1 { b"[\n" } else { b",\n" })?;
                serde_json::to_writer(&mut self.sink, record)?;
                Ok(())
            }
            Format::Jsonl => {
                serde_json::to_writer(&mut self.sink, record)?;
                self.sink.write_all(b"\n")
            }
            Format::Table | Format::Csv => {
                let cells = flatten(record, self.format);
                if self.columns.is_some() {
                    self.write_cells(cells)
                } else {
                    self.sample.push(cells);
                    if self.sample.len() >= HEADER_SAMPLE {
                        self.start()?;
                    }
                    Ok(())
                }
            }
        }
    }

    /// Ends the output and reports how many records were written.
    pub(crate) fn finish(mut self) -> io::Result<u64> {
        match self.format {
            Format::Json => {
                self.sink
                    .write_all(if self.written == 0 { b"[]\n" } else { b"\n]\n" })?;
            }
            Format::Jsonl => {}
            Format::Table | Format::Csv => {
                if self.columns.is_none() && !self.sample.is_empty() {
                    self.start()?;
                }
            }
        }
        self.sink.flush()?;
        if !self.dropped.is_empty() {
            crate::output::stderr(&format!(
                "warning: left out columns that first appeared after the first {HEADER_SAMPLE} records: {}; use --json or --jsonl to see every field\n",
                self.dropped.join(", ")
            ));
        }
        Ok(self.written)
    }

    /// Decides the columns from the sample, prints the header and the sample.
    fn start(&mut self) -> io::Result<()> {
        let mut names: Vec<String> = Vec::new();
        for cells in &self.sample {
            for (name, _) in cells {
                if !names.iter().any(|n| n == name) {
                    names.push(name.clone());
                }
            }
        }
        // `Account` (a parent that was null) goes when `Account.Name` is also a column.
        let all = names.clone();
        names.retain(|name| !all.iter().any(|other| is_nested_in(other, name)));
        let columns = names
            .into_iter()
            .map(|name| {
                let width = self
                    .sample
                    .iter()
                    .filter_map(|cells| cells.iter().find(|(n, _)| *n == name))
                    .map(|(_, v)| display_width(v))
                    .max()
                    .unwrap_or(0)
                    .max(display_width(&name))
                    .min(MAX_WIDTH);
                Column { name, width }
            })
            .collect::<Vec<_>>();
        match self.format {
            Format::Csv => {
                let Sink::Plain(out) = std::mem::replace(&mut self.sink, Sink::Switching) else {
                    unreachable!("the CSV header is written once");
                };
                let mut writer = csv::Writer::from_writer(out);
                writer.write_record(columns.iter().map(|c| c.name.as_str()))?;
                self.sink = Sink::Csv(writer);
            }
            _ => {
                let header = columns
                    .iter()
                    .map(|c| pad(&c.name, c.width))
                    .collect::<Vec<_>>()
                    .join("  ");
                let rule = columns
                    .iter()
                    .map(|c| "─".repeat(c.width))
                    .collect::<Vec<_>>()
                    .join("  ");
                writeln!(self.sink, "{}", header.trim_end())?;
                writeln!(self.sink, "{rule}")?;
            }
        }
        self.columns = Some(columns);
        for cells in std::mem::take(&mut self.sample) {
            self.write_cells(cells)?;
        }
        Ok(())
    }

    fn write_cells(&mut self, cells: Vec<(String, String)>) -> io::Result<()> {
        let columns = self.columns.as_ref().expect("columns are known");
        for (name, _) in &cells {
            if !columns.iter().any(|c| &c.name == name)
                && !columns.iter().any(|c| is_nested_in(&c.name, name))
                && !self.dropped.contains(name)
            {
                self.dropped.push(name.clone());
            }
        }
        let value = |column: &Column| {
            cells
                .iter()
                .find(|(n, _)| *n == column.name)
                .map(|(_, v)| v.as_str())
                .unwrap_or("")
        };
        if let Sink::Csv(csv) = &mut self.sink {
            csv.write_record(columns.iter().map(value))?;
            return Ok(());
        }
        let line = columns
            .iter()
            .map(|c| pad(&truncate(value(c), c.width), c.width))
            .collect::<Vec<_>>()
            .join("  ");
        writeln!(self.sink, "{}", line.trim_end())
    }
}

/// Whether column `path` is a field of the parent column `parent` (`Account.Name` of `Account`).
fn is_nested_in(path: &str, parent: &str) -> bool {
    path.strip_prefix(parent)
        .is_some_and(|rest| rest.starts_with('.'))
}

/// The cells of a record: nested parents as `Account.Name`, child relationships as a count
/// (table) or their JSON (CSV), and no `attributes`.
fn flatten(record: &Map<String, Value>, format: Format) -> Vec<(String, String)> {
    let mut cells = Vec::new();
    flatten_into("", record, format, &mut cells);
    cells
}

fn flatten_into(
    prefix: &str,
    object: &Map<String, Value>,
    format: Format,
    cells: &mut Vec<(String, String)>,
) {
    for (key, value) in object {
        if key == "attributes" {
            continue;
        }
        let name = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        match value {
            Value::Object(child) if child.contains_key("records") => {
                let text = match format {
                    Format::Csv => value.to_string(),
                    _ => {
                        let n = child.get("totalSize").and_then(Value::as_u64).unwrap_or(0);
                        format!("[{n} record{}]", if n == 1 { "" } else { "s" })
                    }
                };
                cells.push((name, text));
            }
            Value::Object(child) => flatten_into(&name, child, format, cells),
            other => cells.push((name, cell_text(other))),
        }
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

fn display_width(text: &str) -> usize {
    text.chars().count()
}

fn truncate(text: &str, width: usize) -> String {
    let single_line = text.replace(['\n', '\r', '\t'], " ");
    if display_width(&single_line) <= width {
        return single_line;
    }
    let mut cut: String = single_line.chars().take(width.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

fn pad(text: &str, width: usize) -> String {
    let mut padded = text.to_string();
    for _ in display_width(text)..width {
        padded.push(' ');
    }
    padded
}
