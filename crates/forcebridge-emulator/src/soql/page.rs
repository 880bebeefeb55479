//! Writing query results: records as JSON (pages of `/query`, SOSL results) and as Bulk API
//! 2.0 CSV, straight into byte buffers with the `render` primitives.
//!
//! This is the hot path of paged queries, so every name, key and nesting decision was made by
//! the planner: here each member is a pre-rendered key followed by a value written in place.
//! Nothing here filters or sorts.

use super::eval::{Env, Subject};
use super::exec::{AggRow, ChildRows};
use super::plan::{AggPlan, ChildPlan, Column, OutNode};
use crate::ids::RecordId;
use crate::render::{RenderContext, write_plain_value};
use crate::schema::ObjectIdx;
use crate::store::{Row, id_of};
use crate::value::{self, Value};

/// Writes JSON records of one object.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RecordWriter<'a> {
    pub env: Env<'a>,
    pub context: RenderContext<'a>,
}

impl<'a> RecordWriter<'a> {
    /// The records in `slots`, comma-separated (no brackets).
    pub(crate) fn write_records(
        &self,
        out: &mut Vec<u8>,
        object: ObjectIdx,
        slots: &[u32],
        nodes: &[OutNode],
        child_plans: &[ChildPlan],
        children: &[ChildRows],
    ) {
        let table = self.env.data.table(object);
        let mut first = true;
        for &slot in slots {
            let Some(row) = table.get(slot) else { continue };
            if !first {
                out.push(b',');
            }
            first = false;
            self.write_record(out, object, slot, row, nodes, child_plans, children);
        }
    }

    /// One record: `{"attributes":{...}` then its members in SELECT order.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn write_record(
        &self,
        out: &mut Vec<u8>,
        object: ObjectIdx,
        slot: u32,
        row: &Row,
        nodes: &[OutNode],
        child_plans: &[ChildPlan],
        children: &[ChildRows],
    ) {
        let def = self.env.schema.object(object);
        let values: &[Value] = row;
        out.push(b'{');
        self.context.write_attributes(out, def, id_of(def, slot));
        for node in nodes {
            match node {
                OutNode::Field { key, field } => {
                    out.extend_from_slice(key);
                    let field = &def.fields[*field];
                    match field.storage {
                        crate::schema::Storage::Column(c) => match values.get(c) {
                            Some(value) => self.context.write_value(out, def, slot, field, value),
                            None => out.extend_from_slice(b"null"),
                        },
                        // The id, full names and compound fields need the whole record.
                        _ => self.context.write_field(out, def, slot, row, field),
                    }
                }
                OutNode::Computed { key, expr, .. } => {
                    out.extend_from_slice(key);
                    let subject = Subject::Record {
                        object,
                        slot,
                        values,
                    };
                    write_plain_value(out, &self.env.eval(subject, expr));
                }
                OutNode::Parent {
                    key,
                    column,
                    targets,
                    ..
                } => {
                    out.extend_from_slice(key);
                    // The lookup's id names its object by key prefix; pick that target's
                    // members without allocating (this runs for every record of a page).
                    let parent = match values.get(*column) {
                        Some(Value::Ref(id)) => targets.iter().find_map(|(object, nodes)| {
                            let def = self.env.schema.object(*object);
                            if def.key_prefix.as_bytes() != id.prefix().as_bytes() {
                                return None;
                            }
                            let slot = crate::store::slot_of(*id)?;
                            let row = self.env.data.table(*object).get(slot)?;
                            Some((*object, slot, row, nodes))
                        }),
                        _ => None,
                    };
                    match parent {
                        Some((parent_object, parent_slot, parent_row, nodes)) => {
                            self.write_record(
                                out,
                                parent_object,
                                parent_slot,
                                parent_row,
                                nodes,
                                &[],
                                &[],
                            );
                        }
                        None => out.extend_from_slice(b"null"),
                    }
                }
                OutNode::Children { key, index } => {
                    out.extend_from_slice(key);
                    let plan = child_plans.get(*index);
                    let rows = children.get(*index);
                    match (plan, rows.and_then(|r| r.by_parent.get(&slot)), rows) {
                        (Some(plan), Some(slots), Some(rows)) if !slots.is_empty() => {
                            let (nodes, grandchildren) = match &plan.plan.shape {
                                super::plan::Shape::Records {
                                    nodes, children, ..
                                } => (nodes.as_slice(), children.as_slice()),
                                _ => (&[][..], &[][..]),
                            };
                            out.extend_from_slice(b"{\"totalSize\":");
                            out.extend_from_slice(slots.len().to_string().as_bytes());
                            out.extend_from_slice(b",\"done\":true,\"records\":[");
                            self.write_records(
                                out,
                                plan.plan.object,
                                slots,
                                nodes,
                                grandchildren,
                                &rows.nested,
                            );
                            out.extend_from_slice(b"]}");
                        }
                        // No children: the member is null (observed behaviour, UNVERIFIED in
                        // Salesforce's documentation).
                        _ => out.extend_from_slice(b"null"),
                    }
                }
            }
        }
        out.push(b'}');
    }
}

/// Aggregate rows, comma-separated: `{"attributes":{"type":"AggregateResult"},...}`.
pub(crate) fn write_groups(out: &mut Vec<u8>, env: &Env<'_>, agg: &AggPlan, rows: &[AggRow]) {
    for (i, row) in rows.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(b"{\"attributes\":{\"type\":\"AggregateResult\"}");
        for column in &agg.columns {
            out.extend_from_slice(&column.key);
            write_plain_value(out, &env.eval(Subject::Group(row), &column.source));
        }
        out.push(b'}');
    }
}

/// One CSV cell as Bulk API 2.0 writes it: always quoted, inner quotes doubled, null and empty
/// both `""`, datetimes with `Z`, booleans `true`/`false`. Only text can hold a quote, so every
/// other kind is written straight into the buffer.
pub(crate) fn write_csv_cell(out: &mut Vec<u8>, value: &Value) {
    use std::io::Write as _;
    out.push(b'"');
    match value {
        Value::Null => {}
        Value::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        // Writing into a Vec cannot fail.
        Value::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Value::Double(d) => {
            let _ = write!(out, "{d}");
        }
        Value::Text(s) => {
            let bytes = s.as_bytes();
            let mut start = 0;
            for (i, &b) in bytes.iter().enumerate() {
                if b == b'"' {
                    out.extend_from_slice(&bytes[start..=i]);
                    out.push(b'"');
                    start = i + 1;
                }
            }
            out.extend_from_slice(&bytes[start..]);
        }
        Value::Date(days) => value::write_date(out, *days),
        Value::DateTime(millis) => value::write_datetime(out, *millis, "Z"),
        Value::Time(millis) => value::write_time(out, *millis),
        Value::Ref(id) => id.write_18(out),
    }
    out.push(b'"');
}

/// A quoted CSV header line.
pub(crate) fn write_csv_row_of_text(out: &mut Vec<u8>, cells: &[String], delimiter: u8) {
    for (i, cell) in cells.iter().enumerate() {
        if i > 0 {
            out.push(delimiter);
        }
        write_csv_cell(out, &Value::text(cell.as_str()));
    }
}

/// CSV rows of records.
pub(crate) fn write_csv_records(
    out: &mut Vec<u8>,
    env: &Env<'_>,
    object: ObjectIdx,
    slots: &[u32],
    columns: &[Column],
    delimiter: u8,
    line_ending: &str,
) {
    let table = env.data.table(object);
    for &slot in slots {
        let Some(row) = table.get(slot) else { continue };
        let subject = Subject::Record {
            object,
            slot,
            values: row,
        };
        for (i, column) in columns.iter().enumerate() {
            if i > 0 {
                out.push(delimiter);
            }
            write_csv_cell(out, &env.eval(subject, &column.expr));
        }
        out.extend_from_slice(line_ending.as_bytes());
    }
}

/// CSV rows of aggregate rows.
pub(crate) fn write_csv_groups(
    out: &mut Vec<u8>,
    env: &Env<'_>,
    agg: &AggPlan,
    rows: &[AggRow],
    delimiter: u8,
    line_ending: &str,
) {
    for row in rows {
        for (i, column) in agg.columns.iter().enumerate() {
            if i > 0 {
                out.push(delimiter);
            }
            write_csv_cell(out, &env.eval(Subject::Group(row), &column.source));
        }
        out.extend_from_slice(line_ending.as_bytes());
    }
}

/// The 18-character locator id of cursor `number`: key prefix `01g`.
pub(crate) fn locator_id(number: u64) -> RecordId {
    RecordId::new("01g", number)
}
