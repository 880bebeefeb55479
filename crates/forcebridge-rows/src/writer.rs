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
use crate::read::{Cell, Cells, Kind, Row, Texts};

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
    row: Vec<Option<Cell>>,
    widths: Vec<usize>,
    /// A table line being put together.
    line: String,
    /// A record being serialized by [`RowWriter::write`].
    scratch: Vec<u8>,
    records: u64,
    rows: u64,
}

/// Where output goes: through a buffer, and for a CSV, a row at a time.
struct Out<W: Write> {
    buffer: BufWriter<W>,
    /// The CSV row being put together.
    csv_row: Vec<u8>,
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
        let out = Out {
            buffer: BufWriter::with_capacity(BUFFER, out),
            csv_row: Vec::new(),
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

    /// Writes one record given as JSON text, as the org sends records (a member of a query
    /// page's `records`). Text that is not a JSON object fails with
    /// [`ErrorKind::InvalidRecord`](crate::ErrorKind::InvalidRecord) and writes nothing.
    /// JSON and JSON lines write the text as it is, on one line.
    pub fn write_json(&mut self, record: &str) -> Result<()> {
        check(record)?;
        self.write_checked(record)
    }

    /// Writes a record whose text is known to be a JSON object (checked by the client, or
    /// just serialized).
    fn write_checked(&mut self, record: &str) -> Result<()> {
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

    /// Writes every record of a raw query page (whose records the client has checked).
    pub fn write_page(&mut self, page: &RawPage) -> Result<()> {
        for record in page.records() {
            self.write_checked(record)?;
        }
        Ok(())
    }

    /// Writes one record of any serializable type that serializes as Salesforce writes
    /// records: a [`Record`](forcebridge_client::Record), a `serde_json::Map`, a typed struct.
    pub fn write<R: Serialize + ?Sized>(&mut self, record: &R) -> Result<()> {
        let mut scratch = std::mem::take(&mut self.scratch);
        scratch.clear();
        serde_json::to_writer(&mut scratch, record).map_err(|e| Error::invalid_record(Some(e)))?;
        let text = String::from_utf8(scratch).expect("serde_json writes UTF-8");
        let written = if text.starts_with('{') {
            self.write_checked(&text)
        } else {
            Err(Error::invalid_record(None))
        };
        self.scratch = text.into_bytes();
        written
    }

    /// Writes out what is buffered (for output that should show up as it comes, say after
    /// each page). Records a table or CSV holds back to settle its columns stay held.
    pub fn flush(&mut self) -> Result<()> {
        self.out.buffer.flush()?;
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
        &mut self.out.buffer
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
                        serde_json::from_str(record).map_err(|e| Error::invalid_record(Some(e)))?;
                    self.columns.discover_in(&record);
                }
            }
            self.settle_columns();
        }
        if self.format == Format::Table {
            for record in &self.sample {
                self.cells
                    .read(&self.columns.root, record, false)
                    .map_err(|_| Error::invalid_record(None))?;
                let widths = &mut self.widths;
                self.cells.rows(record, &mut self.row, &mut |texts, row| {
                    for (width, cell) in widths.iter_mut().zip(row) {
                        if let Some(cell) = cell {
                            *width = (*width).max(display_width(texts.get(*cell)).min(MAX_WIDTH));
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
        match self.format {
            Format::Csv => {
                let row = &mut self.out.csv_row;
                row.clear();
                for (i, header) in headers.iter().enumerate() {
                    csv_field(row, i, header.as_bytes(), Kind::Own);
                }
                csv_end(row, headers.len());
                self.out.buffer.write_all(row)?;
            }
            _ => {
                let out = &mut self.out.buffer;
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
            .map_err(|_| Error::invalid_record(None))?;
        let RowWriter {
            out,
            cells,
            row,
            widths,
            line,
            ..
        } = self;
        let Out { buffer, csv_row } = out;
        let rows = if expand_children {
            cells.rows(record, row, &mut |texts, row| {
                write_csv_row(buffer, csv_row, texts, row)
            })?
        } else {
            cells.rows(record, row, &mut |texts, row| {
                write_table_row(buffer, line, widths, texts, row)
            })?
        };
        self.rows += rows;
        Ok(())
    }
}

fn write_csv_row<W: Write>(
    out: &mut BufWriter<W>,
    line: &mut Vec<u8>,
    texts: Texts<'_>,
    row: &Row,
) -> Result<()> {
    line.clear();
    for (i, cell) in row.iter().enumerate() {
        match cell {
            Some(cell) => csv_field(line, i, texts.bytes(*cell), cell.kind),
            None => csv_field(line, i, b"", Kind::Bare),
        }
    }
    csv_end(line, row.len());
    out.write_all(line)?;
    Ok(())
}

/// Appends a CSV field as RFC 4180 has it: quoted (with its quotes doubled) when it holds a
/// comma, a quote or a line break, as it is otherwise. Its kind says which of these it can
/// hold at all.
fn csv_field(line: &mut Vec<u8>, index: usize, field: &[u8], kind: Kind) {
    if index > 0 {
        line.push(b',');
    }
    let plain = match kind {
        Kind::Bare => true,
        Kind::Comma => {
            // No quote to double.
            line.push(b'"');
            line.extend_from_slice(field);
            line.push(b'"');
            return;
        }
        Kind::Json => false,
        Kind::Own => field
            .iter()
            .all(|&b| !matches!(b, b',' | b'"' | b'\n' | b'\r')),
    };
    if plain {
        line.extend_from_slice(field);
        return;
    }
    line.push(b'"');
    let mut rest = field;
    while let Some(at) = memchr::memchr(b'"', rest) {
        line.extend_from_slice(&rest[..=at]);
        line.push(b'"');
        rest = &rest[at + 1..];
    }
    line.extend_from_slice(rest);
    line.push(b'"');
}

/// Ends a CSV row. A row of one empty field is written `""`, so that it is not an empty line
/// (which CSV readers skip).
fn csv_end(line: &mut Vec<u8>, n_fields: usize) {
    if n_fields == 1 && line.is_empty() {
        line.extend_from_slice(b"\"\"");
    }
    line.push(b'\n');
}

fn write_table_row<W: Write>(
    out: &mut W,
    line: &mut String,
    widths: &[usize],
    texts: Texts<'_>,
    row: &Row,
) -> Result<()> {
    line.clear();
    for (i, (cell, width)) in row.iter().zip(widths).enumerate() {
        if i > 0 {
            line.push_str("  ");
        }
        table_cell(line, cell.map_or("", |cell| texts.get(cell)), *width);
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

/// Checks that a record's text is a JSON object.
fn check(record: &str) -> Result<()> {
    serde_json::from_str::<serde::de::IgnoredAny>(record)
        .map_err(|e| Error::invalid_record(Some(e)))?;
    if record.trim_start().starts_with('{') {
        Ok(())
    } else {
        Err(Error::invalid_record(None))
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
