//! Records as rows for an answer: `attributes` removed, long text cut, and paging under a
//! row cap and a byte cap with an opaque cursor for the rest.

use forcebridge_client::Record;
use forcebridge_soql::analysis::{ResultColumn, result_columns};
use futures_util::TryStreamExt;
use serde_json::{Map, Value};

use crate::handles::{CursorProblem, OpenQuery};
use crate::server::Core;
use crate::tools::ToolError;

/// Longest text value kept whole in an answer; longer ones are cut and marked.
const MAX_TEXT_CHARS: usize = 2000;

/// Room kept in every answer for everything but the rows (summary, counts, cursor).
const ENVELOPE_BYTES: usize = 1024;

/// A record as JSON for the model: no `attributes`, long text cut.
pub(crate) fn record_json(record: &Record) -> Map<String, Value> {
    let mut map = record.to_map();
    map.remove("attributes");
    for value in map.values_mut() {
        tidy(value);
    }
    map
}

/// The order of a query's columns, from its SELECT list, for putting each row's members in
/// that order: the org's JSON need not follow it, and a model reads a row as the statement
/// asked for it. Names match without regard to case (the org answers `Name` to `name`);
/// members the list cannot name (`FIELDS(ALL)`) follow in the order they came.
#[derive(Debug, Clone, Default)]
pub(crate) struct Order {
    members: Vec<(String, Order)>,
}

impl Order {
    /// The order of `soql`'s SELECT list; none (rows as they came) for text that does not parse.
    pub(crate) fn of_soql(soql: &str) -> Order {
        let parsed = forcebridge_soql::parse_query(soql);
        if parsed.is_ok() {
            Order::of_query(&parsed.tree)
        } else {
            Order::default()
        }
    }

    pub(crate) fn of_query(query: &forcebridge_soql::Query) -> Order {
        let object = query.from.object.dotted();
        let mut order = Order::default();
        for column in result_columns(query) {
            order.add(column, &object);
        }
        order
    }

    fn add(&mut self, column: ResultColumn, object: &str) {
        match column {
            ResultColumn::Value(mut path) => {
                // `SELECT Account.Name FROM Account` reads `Name`.
                if path.len() > 1 && path[0].eq_ignore_ascii_case(object) {
                    path.remove(0);
                }
                let mut level = self;
                for name in path {
                    level = level.member(name);
                }
            }
            ResultColumn::Children {
                relationship,
                columns,
            } => {
                let child = self.member(relationship.clone());
                for column in columns {
                    child.add(column, &relationship);
                }
            }
            ResultColumn::FieldSet(_) => {}
        }
    }

    fn member(&mut self, name: String) -> &mut Order {
        let at = match self
            .members
            .iter()
            .position(|(n, _)| n.eq_ignore_ascii_case(&name))
        {
            Some(at) => at,
            None => {
                self.members.push((name, Order::default()));
                self.members.len() - 1
            }
        };
        &mut self.members[at].1
    }

    /// Puts `row`'s members (and those of its parents and child records) in this order.
    pub(crate) fn apply(&self, row: Map<String, Value>) -> Map<String, Value> {
        if self.members.is_empty() {
            return row;
        }
        let mut rest = row;
        let mut out = Map::with_capacity(rest.len());
        for (name, inner) in &self.members {
            let Some(key) = rest.keys().find(|k| k.eq_ignore_ascii_case(name)).cloned() else {
                continue;
            };
            if let Some(value) = rest.shift_remove(&key) {
                out.insert(key, inner.apply_value(value));
            }
        }
        out.extend(rest);
        out
    }

    fn apply_value(&self, value: Value) -> Value {
        match value {
            // A child relationship: `{totalSize, done, records: [...]}`.
            Value::Object(mut map) if matches!(map.get("records"), Some(Value::Array(_))) => {
                if let Some(Value::Array(records)) = map.get_mut("records") {
                    for record in records.iter_mut() {
                        if let Value::Object(fields) = std::mem::take(record) {
                            *record = Value::Object(self.apply(fields));
                        }
                    }
                }
                Value::Object(map)
            }
            Value::Object(map) => Value::Object(self.apply(map)),
            other => other,
        }
    }
}

fn tidy(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.remove("attributes");
            for v in map.values_mut() {
                tidy(v);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(tidy),
        Value::String(text) => {
            let n_chars = text.chars().count();
            if n_chars > MAX_TEXT_CHARS {
                let cut: String = text.chars().take(MAX_TEXT_CHARS).collect();
                *text = format!("{cut}… [cut: {n_chars} characters in all]");
            }
        }
        _ => {}
    }
}

/// The bytes rows may take in an answer of at most `max_bytes`, next to a small envelope
/// (counts, cursor, summary, the JSON-RPC frame). Measure each row with [`cost`].
pub(crate) fn row_budget(max_bytes: usize) -> usize {
    max_bytes.saturating_sub(ENVELOPE_BYTES)
}

/// What a value costs in an answer: its JSON appears twice, once as structured content and
/// once inside the text copy, where each quote and backslash is escaped.
pub(crate) fn cost(value: &impl serde::Serialize) -> usize {
    let text = serde_json::to_string(value).unwrap_or_default();
    let escapes = text.bytes().filter(|b| *b == b'"' || *b == b'\\').count();
    2 * (text.len() + 1) + escapes
}

/// A page of rows for an answer.
pub(crate) struct RowsPage {
    pub(crate) rows: Vec<Map<String, Value>>,
    pub(crate) total_size: u64,
    /// Rows returned by earlier answers of the same query.
    pub(crate) returned_before: u64,
    pub(crate) next_cursor: Option<String>,
    /// `rows` or `bytes` when a cap ended the page before the result did.
    pub(crate) limited_by: Option<&'static str>,
}

/// Reads up to `max_rows` rows (and at most `byte_budget` bytes of them) from `query`, and
/// keeps the rest open behind a cursor.
pub(crate) async fn next_rows(
    core: &Core,
    mut query: OpenQuery,
    max_rows: usize,
    byte_budget: usize,
) -> Result<RowsPage, ToolError> {
    let mut rows = Vec::new();
    let mut bytes = 0usize;
    let mut limited_by = None;
    let returned_before = query.returned;
    loop {
        if query.buffer.is_empty() {
            let Some(pages) = query.pages.as_mut() else {
                break;
            };
            match pages.try_next().await {
                Ok(Some(page)) => {
                    query.total_size = page.total_size;
                    if page.done {
                        query.pages = None;
                    }
                    query.buffer.extend(page.records);
                    continue;
                }
                Ok(None) => {
                    query.pages = None;
                    break;
                }
                Err(e) => return Err(ToolError::client("running the query", &e)),
            }
        }
        if rows.len() >= max_rows {
            limited_by = Some("rows");
            break;
        }
        let Some(record) = query.buffer.pop_front() else {
            break;
        };
        let row = query.order.apply(record_json(&record));
        let size = cost(&row);
        if bytes + size > byte_budget {
            if rows.is_empty() {
                return Err(ToolError::new(format!(
                    "one row takes {size} bytes, more than this server's answer cap allows \
                     ({byte_budget} bytes for rows): select fewer or shorter fields"
                )));
            }
            query.buffer.push_front(record);
            limited_by = Some("bytes");
            break;
        }
        bytes += size;
        rows.push(row);
    }
    query.returned += rows.len() as u64;
    let total_size = query.total_size;
    let next_cursor = (!query.is_exhausted()).then(|| core.cursors.put(query));
    if next_cursor.is_none() {
        limited_by = None;
    }
    Ok(RowsPage {
        rows,
        total_size,
        returned_before,
        next_cursor,
        limited_by,
    })
}

/// Takes the open query behind a cursor given to `tool`.
pub(crate) fn resume(
    core: &Core,
    cursor: &str,
    tool: &'static str,
) -> Result<OpenQuery, ToolError> {
    core.cursors
        .take(cursor, tool)
        .map_err(|problem| match problem {
            CursorProblem::Unknown => ToolError::new(
                "unknown cursor: cursors are used once (each answer has a new nextCursor) and \
             forgotten when the server restarts; run the query again",
            ),
            CursorProblem::Expired => {
                ToolError::new("this cursor expired (cursors last 10 minutes); run the query again")
            }
            CursorProblem::OtherTool(other) => ToolError::new(format!(
                "this cursor belongs to {other}; pass it to that tool"
            )),
        })
}
