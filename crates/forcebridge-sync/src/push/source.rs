//! Sources as lazy streams of rows: a CSV file, a JSON-lines file, a table or query in SQLite
//! or PostgreSQL. A producer (a blocking-pool thread for files and SQLite, a task for
//! PostgreSQL) reads one window of rows at a time into a channel that holds one more, so a
//! source of any size costs a few windows of memory. Rows are JSON objects (column → value);
//! nothing here knows about fields or Salesforce.

use std::io::BufRead;
use std::path::{Path, PathBuf};

use futures_util::StreamExt;
use serde_json::{Map, Value};
use tokio::sync::mpsc;

use super::config::{Source, SourceQuery};
use crate::error::{Error, Result};

/// One row of the source: its position (1 for the first data row) and its values by column.
#[derive(Debug, Clone)]
pub(crate) struct SourceRow {
    pub(crate) number: u64,
    pub(crate) values: Map<String, Value>,
}

/// An open source, read a window at a time.
pub(crate) struct Rows {
    windows: mpsc::Receiver<Result<Vec<SourceRow>>>,
}

impl Rows {
    /// The next window of rows; `None` at the end.
    pub(crate) async fn next_window(&mut self) -> Result<Option<Vec<SourceRow>>> {
        self.windows.recv().await.transpose()
    }
}

/// Opens `source`; nothing is read until the first window is asked for beyond the first one
/// the producer prepares.
pub(crate) async fn open(source: &Source, window: usize) -> Result<Rows> {
    let (tx, rx) = mpsc::channel(1);
    match source.clone() {
        Source::Csv(path) => {
            let file = open_file(&path)?;
            tokio::task::spawn_blocking(move || produce(tx, window, csv_rows(file, path)));
        }
        Source::JsonLines(path) => {
            let file = open_file(&path)?;
            tokio::task::spawn_blocking(move || produce(tx, window, json_lines(file, path)));
        }
        Source::Sqlite { path, query } => {
            tokio::task::spawn_blocking(move || {
                let result = sqlite_rows(
                    &path,
                    &query,
                    |rows| tx.blocking_send(Ok(rows)).is_ok(),
                    window,
                );
                if let Err(e) = result {
                    let _ = tx.blocking_send(Err(e));
                }
            });
        }
        Source::Postgres { url, query } => {
            let client = crate::store::connect_postgres(&url, "the PostgreSQL source").await?;
            tokio::spawn(async move {
                if let Err(e) = postgres_rows(&client, &query, &tx, window).await {
                    let _ = tx.send(Err(e)).await;
                }
            });
        }
    }
    Ok(Rows { windows: rx })
}

fn open_file(path: &Path) -> Result<std::fs::File> {
    std::fs::File::open(path).map_err(|e| {
        Error::new(
            crate::error::ErrorKind::Source,
            format!("cannot open the source {}", path.display()),
        )
        .with_source(e)
    })
}

fn source_error(message: String) -> Error {
    Error::new(crate::error::ErrorKind::Source, message)
}

/// Sends the rows of `rows` in windows until it ends, fails, or nobody listens any more.
fn produce(
    tx: mpsc::Sender<Result<Vec<SourceRow>>>,
    window: usize,
    rows: impl Iterator<Item = Result<SourceRow>>,
) {
    let mut batch = Vec::with_capacity(window);
    for row in rows {
        match row {
            Ok(row) => {
                batch.push(row);
                if batch.len() == window
                    && tx
                        .blocking_send(Ok(std::mem::replace(
                            &mut batch,
                            Vec::with_capacity(window),
                        )))
                        .is_err()
                {
                    return;
                }
            }
            Err(e) => {
                let _ = tx.blocking_send(Err(e));
                return;
            }
        }
    }
    if !batch.is_empty() {
        let _ = tx.blocking_send(Ok(batch));
    }
}

fn csv_rows(file: std::fs::File, path: PathBuf) -> impl Iterator<Item = Result<SourceRow>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(std::io::BufReader::new(file));
    let headers = reader.headers().map(|h| {
        h.iter()
            .map(|name| name.trim_start_matches('\u{feff}').to_string())
            .collect::<Vec<_>>()
    });
    let mut failed = false;
    let mut records = reader.into_records();
    let mut number = 0u64;
    std::iter::from_fn(move || {
        if failed {
            return None;
        }
        let headers = match &headers {
            Ok(h) => h,
            Err(e) => {
                failed = true;
                return Some(Err(source_error(format!(
                    "cannot read the header of {}: {e}",
                    path.display()
                ))));
            }
        };
        let record = records.next()?;
        number += 1;
        Some(match record {
            Ok(record) => {
                let mut values = Map::new();
                for (name, cell) in headers.iter().zip(record.iter()) {
                    let value = if cell.is_empty() {
                        Value::Null
                    } else {
                        Value::String(cell.to_string())
                    };
                    values.insert(name.clone(), value);
                }
                Ok(SourceRow { number, values })
            }
            Err(e) => {
                failed = true;
                Err(source_error(format!(
                    "{}: row {number} is not valid CSV: {e}",
                    path.display()
                )))
            }
        })
    })
}

fn json_lines(file: std::fs::File, path: PathBuf) -> impl Iterator<Item = Result<SourceRow>> {
    let mut lines = std::io::BufReader::new(file).lines();
    let mut line_number = 0u64;
    let mut number = 0u64;
    let mut failed = false;
    std::iter::from_fn(move || {
        loop {
            if failed {
                return None;
            }
            let line = lines.next()?;
            line_number += 1;
            let line = match line {
                Ok(line) => line,
                Err(e) => {
                    failed = true;
                    return Some(Err(source_error(format!(
                        "{}: line {line_number} cannot be read: {e}",
                        path.display()
                    ))));
                }
            };
            if line.trim().is_empty() {
                continue;
            }
            number += 1;
            return Some(match serde_json::from_str::<Value>(&line) {
                Ok(Value::Object(values)) => Ok(SourceRow { number, values }),
                Ok(_) => {
                    failed = true;
                    Err(source_error(format!(
                        "{}: line {line_number} is not a JSON object",
                        path.display()
                    )))
                }
                Err(e) => {
                    failed = true;
                    Err(source_error(format!(
                        "{}: line {line_number} is not valid JSON: {e}",
                        path.display()
                    )))
                }
            });
        }
    })
}

/// Reads the query's rows and hands them to `send` a window at a time; stops when `send`
/// says nobody listens.
fn sqlite_rows(
    path: &Path,
    query: &SourceQuery,
    mut send: impl FnMut(Vec<SourceRow>) -> bool,
    window: usize,
) -> Result<()> {
    let where_ = || format!("the SQLite source {}", path.display());
    let db = rusqlite::Connection::open_with_flags(
        path,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| source_error(format!("cannot open {}", where_())).with_source(e))?;
    let mut statement = db
        .prepare(&query.select())
        .map_err(|e| source_error(format!("cannot read {}", where_())).with_source(e))?;
    let columns: Vec<String> = statement.column_names().map(String::from).collect();
    let mut rows = statement
        .query([])
        .map_err(|e| source_error(format!("cannot read {}", where_())).with_source(e))?;
    let mut batch = Vec::with_capacity(window);
    let mut number = 0u64;
    while let Some(row) = rows
        .next()
        .map_err(|e| source_error(format!("cannot read {}", where_())).with_source(e))?
    {
        number += 1;
        let mut values = Map::new();
        for (i, name) in columns.iter().enumerate() {
            use rusqlite::types::ValueRef;
            let value = match row.get_ref(i).map_err(|e| {
                source_error(format!("cannot read {} at row {number}", where_())).with_source(e)
            })? {
                ValueRef::Null => Value::Null,
                ValueRef::Integer(n) => Value::from(n),
                ValueRef::Real(x) => serde_json::Number::from_f64(x)
                    .map(Value::Number)
                    .unwrap_or(Value::Null),
                ValueRef::Text(t) => Value::String(String::from_utf8_lossy(t).into_owned()),
                ValueRef::Blob(_) => {
                    return Err(source_error(format!(
                        "{}: column {name} of row {number} is a BLOB; push reads text, numbers and NULL",
                        where_()
                    )));
                }
            };
            values.insert(name.clone(), value);
        }
        batch.push(SourceRow { number, values });
        if batch.len() == window && !send(std::mem::replace(&mut batch, Vec::with_capacity(window)))
        {
            return Ok(());
        }
    }
    if !batch.is_empty() {
        send(batch);
    }
    Ok(())
}

/// Streams the query's rows, each as PostgreSQL's own JSON of the row (`row_to_json`), so
/// numbers, booleans, dates and NULLs keep their types without a per-type decoder.
async fn postgres_rows(
    client: &tokio_postgres::Client,
    query: &SourceQuery,
    tx: &mpsc::Sender<Result<Vec<SourceRow>>>,
    window: usize,
) -> Result<()> {
    let sql = format!(
        "SELECT row_to_json(push_source_row)::text FROM ({}) AS push_source_row",
        query.select()
    );
    let read_error = |e: tokio_postgres::Error| {
        source_error("cannot read the PostgreSQL source".into()).with_source(e)
    };
    let stream = client
        .query_raw(
            sql.as_str(),
            std::iter::empty::<&(dyn tokio_postgres::types::ToSql + Sync)>(),
        )
        .await
        .map_err(read_error)?;
    let mut stream = std::pin::pin!(stream);
    let mut batch = Vec::with_capacity(window);
    let mut number = 0u64;
    while let Some(row) = stream.next().await {
        let row = row.map_err(read_error)?;
        number += 1;
        let text: String = row.get(0);
        let values = match serde_json::from_str::<Value>(&text) {
            Ok(Value::Object(values)) => values,
            _ => {
                return Err(source_error(format!(
                    "the PostgreSQL source's row {number} could not be read as JSON"
                )));
            }
        };
        batch.push(SourceRow { number, values });
        if batch.len() == window
            && tx
                .send(Ok(std::mem::replace(
                    &mut batch,
                    Vec::with_capacity(window),
                )))
                .await
                .is_err()
        {
            return Ok(());
        }
    }
    if !batch.is_empty() {
        let _ = tx.send(Ok(batch)).await;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn read_all(source: Source, window: usize) -> Result<Vec<Vec<SourceRow>>> {
        let mut rows = open(&source, window).await?;
        let mut windows = Vec::new();
        while let Some(w) = rows.next_window().await? {
            windows.push(w);
        }
        Ok(windows)
    }

    #[tokio::test]
    async fn csv_and_json_lines_come_in_windows_with_row_numbers() {
        let dir = tempfile::tempdir().unwrap();
        let csv = dir.path().join("in.csv");
        std::fs::write(
            &csv,
            "\u{feff}key,Name,Score\n1,Acme,\n2,\"Big, Co\",7\n3,Zed,1\n",
        )
        .unwrap();
        let windows = read_all(Source::Csv(csv), 2).await.unwrap();
        assert_eq!(windows.iter().map(Vec::len).collect::<Vec<_>>(), [2, 1]);
        let second = &windows[0][1];
        assert_eq!(second.number, 2);
        assert_eq!(second.values["Name"], "Big, Co");
        assert_eq!(windows[0][0].values["Score"], Value::Null);
        assert!(
            windows[0][0].values.contains_key("key"),
            "the BOM is dropped"
        );

        let jsonl = dir.path().join("in.jsonl");
        std::fs::write(&jsonl, "{\"k\":1,\"b\":true}\n\n{\"k\":2}\n[1]\n").unwrap();
        let e = read_all(Source::JsonLines(jsonl), 10).await.unwrap_err();
        assert_eq!(
            e.to_string().rsplit_once(": ").unwrap().1,
            "line 4 is not a JSON object"
        );
    }

    #[tokio::test]
    async fn sqlite_rows_keep_their_types() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("src.db");
        let db = rusqlite::Connection::open(&path).unwrap();
        db.execute_batch(
            "CREATE TABLE accounts (ext TEXT, n INTEGER, x REAL, note TEXT);
             INSERT INTO accounts VALUES ('A', 1, 2.5, NULL), ('B', 2, 0.5, 'hi');",
        )
        .unwrap();
        drop(db);
        let windows = read_all(
            Source::Sqlite {
                path,
                query: SourceQuery::Table("accounts".into()),
            },
            1,
        )
        .await
        .unwrap();
        assert_eq!(windows.len(), 2);
        assert_eq!(windows[0][0].values["n"], 1);
        assert_eq!(windows[0][0].values["x"], 2.5);
        assert_eq!(windows[0][0].values["note"], Value::Null);
        assert_eq!(windows[1][0].values["ext"], "B");
    }
}
