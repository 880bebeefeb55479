//! The on-disk format of a persisted org, version 1: the serde types of the snapshot and the
//! journal, and the conversion between stored values and their JSON form. This is the only
//! place that knows how a file looks.
//!
//! Both files are JSON Lines. The snapshot (`org.snapshot`) starts with a [`SnapshotHeader`]
//! line, followed by one [`SnapshotLine`] per record (`{"row":[object, slot, [values]]}`) and
//! per deletion-log entry (`{"deleted":[object, slot, at]}`). The journal (`org.journal`) starts
//! with a [`JournalHeader`] line, followed by one [`JournalEntry`] per committed transaction.
//!
//! A record's values are a JSON array with one element per column, written without type tags
//! (`null`, `true`, `42`, `4.5`, `"text"`); the column's field type decides how an element reads
//! back: dates are days since 1970-01-01, datetimes epoch milliseconds, times milliseconds since
//! midnight, references 18-character ids. The schema fingerprint in both headers guarantees the
//! column types are the ones the file was written with.

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::ser::{SerializeSeq, SerializeTuple, Serializer};
use serde::{Deserialize, Serialize};

use crate::ids::RecordId;
use crate::schema::FieldType;
use crate::value::Value;

/// The format name in every header.
pub(super) const SNAPSHOT_FORMAT: &str = "forcebridge-org-snapshot";
pub(super) const JOURNAL_FORMAT: &str = "forcebridge-org-journal";
/// The version this code writes and reads.
pub(super) const VERSION: u32 = 1;

#[derive(Debug, Serialize, Deserialize)]
pub(super) struct SnapshotHeader {
    pub(super) format: String,
    pub(super) version: u32,
    /// The fingerprint of the whole schema.
    pub(super) schema: String,
    /// Per object (in schema order): name and fingerprint, to explain a mismatch.
    pub(super) objects: Vec<ObjectHeader>,
    /// The last journal entry the snapshot includes.
    pub(super) sequence: u64,
    /// When the snapshot was written (epoch milliseconds).
    pub(super) written_at: i64,
}

#[derive(Debug, Serialize, Deserialize)]
pub(super) struct ObjectHeader {
    pub(super) name: String,
    pub(super) fingerprint: String,
    /// Slots ever used, so ids of erased records at the end are not handed out again.
    pub(super) slots: u32,
}

#[derive(Debug, Serialize, Deserialize)]
pub(super) struct JournalHeader {
    pub(super) format: String,
    pub(super) version: u32,
    pub(super) schema: String,
}

/// One line of a snapshot after its header.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum SnapshotLine {
    Row(RowIn),
    Deleted((u32, u32, i64)),
}

/// The writing side of [`SnapshotLine`], borrowing the record.
#[derive(Debug, Serialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum SnapshotLineOut<'a> {
    Row(RowOut<'a>),
    Deleted((u32, u32, i64)),
}

/// One committed transaction: the final state of every record it touched (`null` values for
/// an erased record) and the deletion-log entries it added.
#[derive(Debug, Deserialize)]
pub(super) struct JournalEntry {
    pub(super) sequence: u64,
    pub(super) rows: Vec<RowIn>,
    pub(super) deleted: Vec<(u32, u32, i64)>,
}

#[derive(Debug, Serialize)]
pub(super) struct JournalEntryOut<'a> {
    pub(super) sequence: u64,
    pub(super) rows: Vec<RowOut<'a>>,
    pub(super) deleted: Vec<(u32, u32, i64)>,
}

/// A record as read: `[object, slot, values or null]`.
#[derive(Debug, Deserialize)]
pub(super) struct RowIn(pub(super) u32, pub(super) u32, pub(super) Option<Vec<Cell>>);

/// A record to write, borrowing its values.
#[derive(Debug)]
pub(super) struct RowOut<'a> {
    pub(super) object: u32,
    pub(super) slot: u32,
    pub(super) values: Option<&'a [Value]>,
}

impl Serialize for RowOut<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut tuple = serializer.serialize_tuple(3)?;
        tuple.serialize_element(&self.object)?;
        tuple.serialize_element(&self.slot)?;
        tuple.serialize_element(&self.values.map(Values))?;
        tuple.end()
    }
}

struct Values<'a>(&'a [Value]);

impl Serialize for Values<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.0.len()))?;
        for value in self.0 {
            seq.serialize_element(&ValueOut(value))?;
        }
        seq.end()
    }
}

struct ValueOut<'a>(&'a Value);

impl Serialize for ValueOut<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Value::Null => serializer.serialize_unit(),
            Value::Bool(b) => serializer.serialize_bool(*b),
            Value::Int(i) => serializer.serialize_i64(*i),
            Value::Double(d) => serializer.serialize_f64(*d),
            Value::Text(s) => serializer.serialize_str(s),
            Value::Date(days) => serializer.serialize_i32(*days),
            Value::DateTime(millis) => serializer.serialize_i64(*millis),
            Value::Time(millis) => serializer.serialize_u32(*millis),
            Value::Ref(id) => serializer.collect_str(id),
        }
    }
}

/// One value as read, before its column's type says what it is.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Cell {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(String),
}

impl<'de> Deserialize<'de> for Cell {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Cell, D::Error> {
        struct CellVisitor;

        impl<'de> Visitor<'de> for CellVisitor {
            type Value = Cell;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("null, a boolean, a number or a string")
            }

            fn visit_unit<E: de::Error>(self) -> Result<Cell, E> {
                Ok(Cell::Null)
            }

            fn visit_none<E: de::Error>(self) -> Result<Cell, E> {
                Ok(Cell::Null)
            }

            fn visit_bool<E: de::Error>(self, b: bool) -> Result<Cell, E> {
                Ok(Cell::Bool(b))
            }

            fn visit_i64<E: de::Error>(self, i: i64) -> Result<Cell, E> {
                Ok(Cell::Int(i))
            }

            fn visit_u64<E: de::Error>(self, u: u64) -> Result<Cell, E> {
                i64::try_from(u)
                    .map(Cell::Int)
                    .map_err(|_| E::custom(format!("number {u} is too large")))
            }

            fn visit_f64<E: de::Error>(self, f: f64) -> Result<Cell, E> {
                Ok(Cell::Float(f))
            }

            fn visit_str<E: de::Error>(self, s: &str) -> Result<Cell, E> {
                Ok(Cell::Text(s.to_string()))
            }

            fn visit_string<E: de::Error>(self, s: String) -> Result<Cell, E> {
                Ok(Cell::Text(s))
            }

            fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<Cell, A::Error> {
                Err(de::Error::custom("a value cannot be an array"))
            }
        }

        deserializer.deserialize_any(CellVisitor)
    }
}

impl Cell {
    /// The stored value of a column of type `field_type`, or why the cell cannot be one.
    pub(super) fn into_value(self, field_type: FieldType) -> Result<Value, String> {
        use FieldType as T;
        let wrong = |cell: &Cell| {
            format!(
                "{cell:?} is not a valid {} value",
                field_type.describe_name()
            )
        };
        Ok(match self {
            Cell::Null => Value::Null,
            Cell::Bool(b) if field_type == T::Boolean => Value::Bool(b),
            Cell::Int(i) => match field_type {
                T::Int => Value::Int(i),
                T::Double | T::Currency | T::Percent => Value::Double(i as f64),
                T::Date => Value::Date(i32::try_from(i).map_err(|_| wrong(&Cell::Int(i)))?),
                T::DateTime => Value::DateTime(i),
                T::Time => Value::Time(u32::try_from(i).map_err(|_| wrong(&Cell::Int(i)))?),
                _ => return Err(wrong(&Cell::Int(i))),
            },
            Cell::Float(f) => match field_type {
                T::Double | T::Currency | T::Percent => Value::Double(f),
                _ => return Err(wrong(&Cell::Float(f))),
            },
            Cell::Text(s) => match field_type {
                T::Reference | T::Id => Value::Ref(
                    RecordId::parse(&s).ok_or_else(|| format!("{s:?} is not a record id"))?,
                ),
                t if t.is_text() => Value::Text(s.into_boxed_str()),
                _ => return Err(wrong(&Cell::Text(s))),
            },
            other => return Err(wrong(&other)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_round_trip_through_their_json_form() {
        let values = vec![
            Value::Null,
            Value::Bool(true),
            Value::Int(-7),
            Value::Double(1234.5),
            Value::Double(20.0),
            Value::text("a \"quoted\"\nline"),
            Value::Date(19_000),
            Value::DateTime(1_700_000_000_123),
            Value::Time(3_600_000),
            Value::Ref(RecordId::new("001", 42)),
        ];
        let types = [
            FieldType::String,
            FieldType::Boolean,
            FieldType::Int,
            FieldType::Currency,
            FieldType::Double,
            FieldType::Textarea,
            FieldType::Date,
            FieldType::DateTime,
            FieldType::Time,
            FieldType::Reference,
        ];
        let text = serde_json::to_string(&RowOut {
            object: 3,
            slot: 9,
            values: Some(&values),
        })
        .unwrap();
        assert_eq!(
            text,
            r#"[3,9,[null,true,-7,1234.5,20.0,"a \"quoted\"\nline",19000,1700000000123,3600000,"001RO000000000gYAA"]]"#
        );
        let RowIn(object, slot, cells) = serde_json::from_str(&text).unwrap();
        let read: Vec<Value> = cells
            .unwrap()
            .into_iter()
            .zip(types)
            .map(|(cell, t)| cell.into_value(t).unwrap())
            .collect();
        assert_eq!((object, slot, read), (3, 9, values));
        assert_eq!(
            Cell::Text("x".into()).into_value(FieldType::Date),
            Err("Text(\"x\") is not a valid date value".to_string())
        );
    }
}
