//! The Bulk API 2.0 side of a first load: a `queryAll` job's CSV result pages read into rows
//! of the same text forms a REST page gives, fetched and parsed one page ahead of the writer.
//!
//! Why one page ahead, and not many pages or Id ranges at once: the cursor is committed with
//! each page and must never pass a row that is not committed. A job's pages come in
//! `(SystemModstamp, Id)` order, each found through the locator the page before it returned,
//! so pages are committed in order; what can overlap is fetching page n+1 while page n is
//! parsed and written. Id-range chunks read in parallel would each need their own cursor (the
//! ranges are not in stamp order), and a run killed between them could only restart them
//! all. With pages of tens of thousands of rows, a load of N rows makes about N / page_rows
//! requests instead of REST's N / 2,000, which is where a high-latency org is won.
//!
//! Nothing here touches the destination; the engine commits.

use forcebridge_catalog::FieldType;
use forcebridge_catalog::sql::to_text;
use forcebridge_client::bulk::{QueryPage, QueryPageStream};
use std::sync::Arc;

use futures_util::StreamExt;
use serde_json::Value;

use crate::error::{Error, ErrorKind, Result};
use crate::table::{Row, TableDef};

/// Reads the rows of one result page (a CSV text with its own header row) into rows of
/// `def`'s columns. A column the header lacks reads null; `IsDeleted` marks the row deleted.
pub(crate) fn rows(def: &TableDef, page: &QueryPage) -> Result<Vec<Row>> {
    let bad = |e: csv::Error| {
        Error::new(
            ErrorKind::Org,
            format!(
                "a Bulk result page of {} (job {}) is not CSV",
                def.object, page.job_id
            ),
        )
        .with_source(e)
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(page.bytes.as_ref());
    let header = reader.byte_headers().map_err(bad)?.clone();
    let positions: Vec<Option<usize>> = def
        .columns
        .iter()
        .map(|c| header.iter().position(|h| h == c.name.as_bytes()))
        .collect();
    let mut out = Vec::with_capacity(usize::try_from(page.records).unwrap_or(0));
    let mut record = csv::ByteRecord::new();
    while reader.read_byte_record(&mut record).map_err(bad)? {
        let mut values = Vec::with_capacity(def.columns.len());
        for (column, position) in def.columns.iter().zip(&positions) {
            let cell = position.and_then(|p| record.get(p)).unwrap_or_default();
            let text = std::str::from_utf8(cell).map_err(|_| {
                Error::new(
                    ErrorKind::Org,
                    format!(
                        "a Bulk result page of {} (job {}) holds a {} value that is not UTF-8",
                        def.object, page.job_id, column.name
                    ),
                )
            })?;
            values.push(text_form(&column.field_type, text));
        }
        let deleted = def
            .is_deleted
            .is_some_and(|i| values[i].as_deref() == Some("1"));
        out.push(Row { values, deleted });
    }
    Ok(out)
}

/// The text form of a CSV cell: what [`to_text`] makes of the JSON value REST gives for it.
/// An empty cell is null (Bulk CSV does not tell an empty string from null; REST gives null).
fn text_form(field_type: &FieldType, text: &str) -> Option<String> {
    if text.is_empty() {
        return None;
    }
    let value = match field_type {
        FieldType::Boolean => Value::Bool(text.eq_ignore_ascii_case("true")),
        FieldType::Int
        | FieldType::Long
        | FieldType::Double
        | FieldType::Currency
        | FieldType::Percent => match serde_json::from_str::<serde_json::Number>(text) {
            Ok(n) => Value::Number(n),
            Err(_) => Value::String(text.to_string()),
        },
        // Bulk writes datetimes as the stored form already (UTC, milliseconds, `Z`): no
        // parse and format for each of them.
        FieldType::DateTime if is_utc_millis(text) => return Some(text.to_string()),
        FieldType::DateTime | FieldType::Time | FieldType::Json | FieldType::ComplexValue => {
            Value::String(text.to_string())
        }
        _ => return Some(text.to_string()),
    };
    to_text(field_type, &value)
}

/// Whether `text` is `YYYY-MM-DDTHH:MM:SS.sssZ`, the form [`to_text`] gives datetimes.
fn is_utc_millis(text: &str) -> bool {
    let b = text.as_bytes();
    b.len() == 24
        && b.iter().enumerate().all(|(i, &c)| match i {
            4 | 7 => c == b'-',
            10 => c == b'T',
            13 | 16 => c == b':',
            19 => c == b'.',
            23 => c == b'Z',
            _ => c.is_ascii_digit(),
        })
}

/// A result page read into rows, and the locator of the page after it (`None` on the last).
pub(crate) struct ParsedPage {
    pub(crate) rows: Vec<Row>,
    pub(crate) next_locator: Option<String>,
}

/// Why a page could not be had: the org (or the network), or its text.
pub(crate) enum PageError {
    Fetch(forcebridge_client::Error),
    Read(Error),
}

type PageResult = std::result::Result<ParsedPage, PageError>;

/// The pages of a job, fetched and read into rows one ahead of the caller: while the caller
/// writes page n, page n+1 downloads and is parsed (on the blocking pool), and nothing more,
/// so at most two pages are held at once. Before each page after the first, `budget_spent`
/// is asked, so the fetching never sends a request the run's budget does not allow. Dropping
/// it stops the fetching.
pub(crate) struct Prefetch<F> {
    next: Option<tokio::task::JoinHandle<(QueryPageStream, Option<PageResult>)>>,
    def: Arc<TableDef>,
    budget_spent: F,
}

impl<F: Fn() -> bool> Prefetch<F> {
    pub(crate) fn new(pages: QueryPageStream, def: Arc<TableDef>, budget_spent: F) -> Prefetch<F> {
        Prefetch {
            next: Some(tokio::spawn(fetch(pages, Arc::clone(&def)))),
            def,
            budget_spent,
        }
    }

    /// The next page; `None` once the pages end, the budget is spent, or the fetching stopped.
    pub(crate) async fn next(&mut self) -> Option<PageResult> {
        let (pages, page) = self.next.take()?.await.ok()?;
        let more = page
            .as_ref()
            .is_some_and(|p| p.as_ref().is_ok_and(|p| p.next_locator.is_some()));
        if more && !(self.budget_spent)() {
            self.next = Some(tokio::spawn(fetch(pages, Arc::clone(&self.def))));
        }
        page
    }
}

impl<F> Drop for Prefetch<F> {
    fn drop(&mut self) {
        if let Some(next) = &self.next {
            next.abort();
        }
    }
}

async fn fetch(
    mut pages: QueryPageStream,
    def: Arc<TableDef>,
) -> (QueryPageStream, Option<PageResult>) {
    let page = match pages.next().await {
        None => None,
        Some(Err(e)) => Some(Err(PageError::Fetch(e))),
        Some(Ok(page)) => {
            let next_locator = page.next_locator.clone();
            let object = def.object.clone();
            let read = tokio::task::spawn_blocking(move || rows(&def, &page))
                .await
                .map_err(|e| {
                    Error::new(
                        ErrorKind::Org,
                        format!("reading a Bulk page of {object} stopped: {e}"),
                    )
                })
                .and_then(|rows| rows);
            Some(
                read.map(|rows| ParsedPage { rows, next_locator })
                    .map_err(PageError::Read),
            )
        }
    };
    (pages, page)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_read_as_the_rest_values_would() {
        assert_eq!(text_form(&FieldType::Boolean, "true").as_deref(), Some("1"));
        assert_eq!(
            text_form(&FieldType::Boolean, "false").as_deref(),
            Some("0")
        );
        assert_eq!(text_form(&FieldType::String, ""), None);
        assert_eq!(text_form(&FieldType::Int, "42").as_deref(), Some("42"));
        assert_eq!(
            text_form(&FieldType::DateTime, "2024-01-15T10:30:00.000Z"),
            to_text(
                &FieldType::DateTime,
                &Value::String("2024-01-15T10:30:00.000+0000".into())
            )
        );
        assert_eq!(
            text_form(&FieldType::Double, "1.5"),
            to_text(&FieldType::Double, &serde_json::json!(1.5))
        );
    }
}
