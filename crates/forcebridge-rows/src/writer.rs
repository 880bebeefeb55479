//! The writer: records in, rows out, in one of four formats, one record at a time.
//!
//! JSON and JSON lines copy each record's text as it is. A table and a CSV read each record
//! into cells ([`crate::read`]) and write its rows; they hold records back only until their
//! columns are settled (columns found in records, and a table's widths, come from the first
//! [`SAMPLE`] records).

use std::fmt;
use std::io::{BufWriter, Write};

use forcebridge_client::RawPage;
use serde::Serialize;
use serde_json::{Map, Value};
use unicode_width::UnicodeWidthChar;

use crate::columns::Columns;
use crate::error::{Error, Result};
use crate::read::{Cells, Row};

/// How many records decide the columns found in records, and the widths of a table.
pub const SAMPLE: usize = 200;
/// The widest a table column gets; longer values are cut with `…`.
const MAX_WIDTH: usize = 48;
/// How much output is gathered before it is written to the `Write` (and at each `flush`).
const BUFFER: usize = 64 * 1024;

/// An output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Aligned columns for people: a header, a rule, a line per record; long values cut, child
    /// relationships as a count (`[2 records]`).
    Table,
    /// RFC 4180 CSV with a header: a row per record, or per child record when the query has
    /// child subqueries.
    Csv,
    /// One JSON array of records, one record per line.
    Json,
    /// One record per line (JSON lines).
    Jsonl,
}

/// Writes records in one [`Format`] to any `Write`.
///
/// Output is buffered (64 KiB) and reaches `out` when the buffer fills, at
/// [`RowWriter::flush`], and at [`RowWriter::finish`], which must be called to end the output.
pub struct RowWriter<W: Write> {
    format: Format,
    out: Out<W>,
    columns: Columns,
    /// The column headers, once the columns are settled (table and CSV).
    headers: Option<Vec<String>>,
    /// Whether the header (or, for JSON, the opening bracket) has been written.
    started: bool,
    /// Records held back until the columns and a table's widths are settled.
    sample: Vec<String>,
    cells: Cells,
    row: Vec<Option<(usize, usize)>>,
    widths: Vec<usize>,
    /// A table line being put together.
    line: String,
    /// A record being serialized by [`RowWriter::write`].
    scratch: Vec<u8>,
    records: u64,
    rows: u64,
}

enum Out<W: Write> {
    Plain(BufWriter<W>),
    Csv(csv::Writer<W>),
}

/// What a writer wrote, and what it could not.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Summary {
    /// Records written: those of the query, not counting child records.
    pub records: u64,
    /// Rows written: lines of a table or CSV (with child subqueries, a CSV has a row per child
    /// record), records for JSON and JSON lines.
    pub rows: u64,
    /// What the reader of the output should know.
    pub warnings: Vec<Warning>,
}

/// Something the output does not show.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Warning {
    /// Fields that are not among the columns of a table or CSV, by path (`Account.Phone`):
    /// found in records after the first [`SAMPLE`] decided the columns, or not in the SELECT
    /// list.
    LeftOut {
        /// The fields, in the order they were first met.
        fields: Vec<String>,
    },
    /// Parents whose child records did not all come with them. Salesforce sends a subquery's
    /// first batch with each parent and the rest only when asked for by its
    /// `nextRecordsUrl`; a CSV has rows for those sent.
    MoreChildren {
        /// The child relationship (`Contacts`, or `Contacts.Cases` for a nested one).
        relationship: String,
        /// How many parents had more.
        parents: u64,
    },
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Warning::LeftOut { fields } => write!(
                f,
                "left out fields that are not columns (fields not named in the query are columns when they are in the first {SAMPLE} records): {}",
                fields.join(", ")
            ),
            Warning::MoreChildren {
                relationship,
                parents,
            } => write!(
                f,
                "{parents} record{} had more {relationship} than came with {}; only those that came are written",
                if *parents == 1 { "" } else { "s" },
                if *parents == 1 { "it" } else { "them" },
            ),
        }
    }
}

impl<W: Write> fmt::Debug for RowWriter<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RowWriter")
            .field("format", &self.format)
            .field("headers", &self.headers)
            .field("records", &self.records)
            .field("rows", &self.rows)
            .finish_non_exhaustive()
    }
}

impl<W: Write> RowWriter<W> {
    /// A writer of `format` to `out`; a table and a CSV have `columns`.
    pub fn new(format: Format, columns: Columns, out: W) -> RowWriter<W> {
        let out = match format {
            Format::Csv => Out::Csv(
                csv::WriterBuilder::new()
                    .buffer_capacity(BUFFER)
                    .from_writer(out),
            ),
            _ => Out::Plain(BufWriter::with_capacity(BUFFER, out)),
        };
        let mut writer = RowWriter {
            format,
            out,
            columns,
            headers: None,
            started: false,
            sample: Vec::new(),
            cells: Cells::default(),
            row: Vec::new(),
            widths: Vec::new(),
            line: String::new(),
            scratch: Vec::new(),
            records: 0,
            rows: 0,
        };
        // A CSV whose columns are all known needs no sample: its rows go out as they come.
        if format == Format::Csv && !writer.columns.is_open() {
            writer.settle_columns();
        }
        writer
    }

    /// Writes one record given as the JSON text the org sent: a member of a query page's
    /// `records` ([`RawPage::records`]). JSON and JSON lines copy it as it is (so it must be
    /// valid JSON, as a raw page's records are); a table and a CSV read it, and fail with
    /// [`ErrorKind::InvalidRecord`](crate::ErrorKind::InvalidRecord) if it is not a JSON
    /// object.
    pub fn write_json(&mut self, record: &str) -> Result<()> {
        self.records += 1;
        match self.format {
            Format::Json | Format::Jsonl => {
                let json = self.format == Format::Json;
                let first = self.records == 1;
                let out = self.plain();
                if json {
                    out.write_all(if first { b"[\n" } else { b",\n" })?;
                }
                write_one_line(out, record)?;
                if !json {
                    out.write_all(b"\n")?;
                }
                self.rows += 1;
                Ok(())
            }
            Format::Table | Format::Csv => {
                // Settled columns: a table's once its sample is written, a CSV's from the start
                // when the query names them all.
                if self.headers.is_some() {
                    return self.write_rows(record);
                }
                self.sample.push(record.to_owned());
                if self.sample.len() >= SAMPLE {
                    self.settle()?;
                }
                Ok(())
            }
        }
    }

    /// Writes every record of a raw query page.
    pub fn write_page(&mut self, page: &RawPage) -> Result<()> {
        for record in page.records() {
            self.write_json(record)?;
        }
        Ok(())
    }

    /// Writes one record of any serializable type that serializes as Salesforce writes
    /// records: a [`Record`](forcebridge_client::Record), a `serde_json::Map`, a typed struct.
    pub fn write<R: Serialize + ?Sized>(&mut self, record: &R) -> Result<()> {
        let mut scratch = std::mem::take(&mut self.scratch);
        scratch.clear();
        serde_json::to_writer(&mut scratch, record).map_err(Error::invalid_record)?;
        let text = String::from_utf8(scratch).expect("serde_json writes UTF-8");
        let written = self.write_json(&text);
        self.scratch = text.into_bytes();
        written
    }

    /// Writes out what is buffered (for output that should show up as it comes, say after
    /// each page). Records a table or CSV holds back to settle its columns stay held.
    pub fn flush(&mut self) -> Result<()> {
        match &mut self.out {
            Out::Plain(out) => out.flush()?,
            Out::Csv(out) => out.flush()?,
        }
        Ok(())
    }

    /// Ends the output (the closing bracket of JSON; the header of a table or CSV with no
    /// records, when its columns are known), flushes it, and says what was written.
    pub fn finish(mut self) -> Result<Summary> {
        match self.format {
            Format::Json => {
                let empty = self.records == 0;
                self.plain()
                    .write_all(if empty { b"[]\n" } else { b"\n]\n" })?;
            }
            Format::Jsonl => {}
            Format::Table | Format::Csv => {
                if self.headers.is_none() {
                    self.settle()?;
                }
                self.start()?;
            }
        }
        self.flush()?;
        let mut warnings = Vec::new();
        let cells = std::mem::take(&mut self.cells);
        if !cells.left_out.is_empty() {
            warnings.push(Warning::LeftOut {
                fields: cells.left_out,
            });
        }
        for (relationship, parents) in cells.more_children {
            warnings.push(Warning::MoreChildren {
                relationship,
                parents,
            });
        }
        Ok(Summary {
            records: self.records,
            rows: self.rows,
            warnings,
        })
    }

    fn plain(&mut self) -> &mut BufWriter<W> {
        match &mut self.out {
            Out::Plain(out) => out,
            Out::Csv(_) => unreachable!("only a CSV goes through the CSV writer"),
        }
    }

    /// Numbers the columns (they are all known by now).
    fn settle_columns(&mut self) {
        let headers = self.columns.number(self.format == Format::Csv);
        self.row = vec![None; headers.len()];
        self.widths = headers
            .iter()
            .map(|h| display_width(h).min(MAX_WIDTH))
            .collect();
        self.headers = Some(headers);
    }

    /// Settles the columns from the records held back (and a table's widths), then writes
    /// the header and those records.
    fn settle(&mut self) -> Result<()> {
        if self.headers.is_none() {
            if self.columns.is_open() {
                for record in &self.sample {
                    let record: Map<String, Value> =
                        serde_json::from_str(record).map_err(Error::invalid_record)?;
                    self.columns.discover_in(&record);
                }
            }
            self.settle_columns();
        }
        if self.format == Format::Table {
            for record in &self.sample {
                self.cells
                    .read(&self.columns.root, record, false)
                    .map_err(Error::invalid_record)?;
                let widths = &mut self.widths;
                self.cells.rows(&mut self.row, &mut |cells, row| {
                    for (width, slot) in widths.iter_mut().zip(row) {
                        if let Some(slot) = slot {
                            *width = (*width).max(display_width(cells.text(*slot)).min(MAX_WIDTH));
                        }
                    }
                    Ok::<_, Error>(())
                })?;
            }
        }
        self.start()?;
        for record in std::mem::take(&mut self.sample) {
            self.write_rows(&record)?;
        }
        Ok(())
    }

    /// Writes the header, once.
    fn start(&mut self) -> Result<()> {
        if self.started {
            return Ok(());
        }
        self.started = true;
        let headers = self.headers.as_deref().unwrap_or_default();
        if headers.is_empty() {
            return Ok(());
        }
        match &mut self.out {
            Out::Csv(out) => out.write_record(headers)?,
            Out::Plain(out) => {
                self.line.clear();
                for (i, (header, width)) in headers.iter().zip(&self.widths).enumerate() {
                    if i > 0 {
                        self.line.push_str("  ");
                    }
                    table_cell(&mut self.line, header, *width);
                }
                writeln!(out, "{}", self.line.trim_end())?;
                self.line.clear();
                for (i, width) in self.widths.iter().enumerate() {
                    if i > 0 {
                        self.line.push_str("  ");
                    }
                    self.line.extend(std::iter::repeat_n('─', *width));
                }
                writeln!(out, "{}", self.line)?;
            }
        }
        Ok(())
    }

    /// Writes the rows of one record (the columns are settled).
    fn write_rows(&mut self, record: &str) -> Result<()> {
        self.start()?;
        let expand_children = self.format == Format::Csv;
        self.cells
            .read(&self.columns.root, record, expand_children)
            .map_err(Error::invalid_record)?;
        let RowWriter {
            out,
            cells,
            row,
            widths,
            line,
            ..
        } = self;
        let rows = match out {
            Out::Csv(out) => cells.rows(row, &mut |cells, row| write_csv_row(out, cells, row))?,
            Out::Plain(out) => cells.rows(row, &mut |cells, row| {
                write_table_row(out, line, widths, cells, row)
            })?,
        };
        self.rows += rows;
        Ok(())
    }
}

fn write_csv_row<W: Write>(out: &mut csv::Writer<W>, cells: &Cells, row: &Row) -> Result<()> {
    for slot in row {
        out.write_field(slot.map_or("", |slot| cells.text(slot)))?;
    }
    out.write_record(None::<&[u8]>)?;
    Ok(())
}

fn write_table_row<W: Write>(
    out: &mut W,
    line: &mut String,
    widths: &[usize],
    cells: &Cells,
    row: &Row,
) -> Result<()> {
    line.clear();
    for (i, (slot, width)) in row.iter().zip(widths).enumerate() {
        if i > 0 {
            line.push_str("  ");
        }
        table_cell(line, slot.map_or("", |slot| cells.text(slot)), *width);
    }
    out.write_all(line.trim_end().as_bytes())?;
    out.write_all(b"\n")?;
    Ok(())
}

/// Appends `text` on one line in exactly `width` terminal cells: cut with `…` when wider,
/// padded with spaces when narrower.
fn table_cell(line: &mut String, text: &str, width: usize) {
    let fits = display_width(text) <= width;
    let room = if fits { width } else { width.saturating_sub(1) };
    let mut used = 0;
    for c in text.chars().map(one_line) {
        let w = c.width().unwrap_or(0);
        if used + w > room {
            break;
        }
        used += w;
        line.push(c);
    }
    if !fits {
        line.push('…');
        used += 1;
    }
    line.extend(std::iter::repeat_n(' ', width.saturating_sub(used)));
}

/// How many terminal cells `text` takes on one line (East Asian wide characters take two).
fn display_width(text: &str) -> usize {
    text.chars().map(|c| one_line(c).width().unwrap_or(0)).sum()
}

/// Line breaks and tabs show as spaces, so that a row stays on one line.
fn one_line(c: char) -> char {
    if matches!(c, '\n' | '\r' | '\t') {
        ' '
    } else {
        c
    }
}

/// Writes a record's JSON on one line. The org writes compact JSON, and JSON has no raw line
/// break inside a string (a string holds `\n` escaped), so a line break in a record can only
/// be whitespace between tokens: it is left out.
fn write_one_line(out: &mut impl Write, record: &str) -> std::io::Result<()> {
    let mut rest = record.as_bytes();
    while let Some(at) = memchr::memchr2(b'\n', b'\r', rest) {
        out.write_all(&rest[..at])?;
        rest = &rest[at + 1..];
    }
    out.write_all(rest)
}
