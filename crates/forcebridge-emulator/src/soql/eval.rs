//! Evaluating planned expressions and conditions against one record (or one aggregate row),
//! with SQL's three-valued logic: a comparison with a null value is unknown, `NOT unknown` is
//! unknown, and only conditions that are true let a row through.
//!
//! Values are borrowed from the snapshot wherever they are stored as-is, so filtering a large
//! table copies nothing. This module never resolves names (the planner did) and never decides
//! row order (that is `exec`).

use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::HashSet;

use super::dates;
use super::exec::{self, AggRow};
use super::plan::{CondPlan, DistancePlan, ExprPlan, FormatSpec, Formula, Leaf, Op, PathPlan};
use crate::ids::RecordId;
use crate::schema::{FieldDef, FieldType, ObjectDef, ObjectIdx, Schema, Storage};
use crate::store::{OrgData, Row, id_of, slot_of};
use crate::value::{self, Value};

/// What evaluation reads: the schema, the records, and the moment (for TODAY() in formulas).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Env<'a> {
    pub schema: &'a Schema,
    pub data: &'a OrgData,
    pub now: i64,
}

/// What an expression is evaluated on.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Subject<'a> {
    /// A record of `object` in `slot` (its values may not be stored yet: validation rules run
    /// before the save).
    Record {
        object: ObjectIdx,
        slot: u32,
        values: &'a [Value],
    },
    /// A row of an aggregate query.
    Group(&'a AggRow),
}

/// The outcome of a condition under SQL's three-valued logic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Truth {
    True,
    False,
    Unknown,
}

impl Truth {
    fn from_bool(b: bool) -> Truth {
        if b { Truth::True } else { Truth::False }
    }

    fn not(self) -> Truth {
        match self {
            Truth::True => Truth::False,
            Truth::False => Truth::True,
            Truth::Unknown => Truth::Unknown,
        }
    }
}

/// The Earth's mean radius, for DISTANCE.
const EARTH_RADIUS_MILES: f64 = 3958.7613;
const EARTH_RADIUS_KM: f64 = 6371.0088;

impl<'a> Env<'a> {
    /// The record an id points at, if it is one of `targets` and exists (recycled records are
    /// still there to be read through a lookup).
    pub(crate) fn lookup(
        &self,
        id: RecordId,
        targets: &[ObjectIdx],
    ) -> Option<(ObjectIdx, u32, &'a Row)> {
        let prefix = id.prefix().as_bytes();
        let &object = targets
            .iter()
            .find(|&&t| self.schema.object(t).key_prefix.as_bytes() == prefix)?;
        let slot = slot_of(id)?;
        let row = self.data.table(object).get(slot)?;
        Some((object, slot, row))
    }

    /// Follows the hops of a path from a record; `None` when a lookup on the way is empty.
    pub(crate) fn follow(
        &self,
        mut object: ObjectIdx,
        mut slot: u32,
        mut values: &'a [Value],
        path: &PathPlan,
    ) -> Option<(ObjectIdx, u32, &'a [Value])> {
        for hop in &path.hops {
            let Some(Value::Ref(id)) = values.get(hop.column) else {
                return None;
            };
            let (o, s, row) = self.lookup(*id, &hop.targets)?;
            object = o;
            slot = s;
            values = row;
        }
        Some((object, slot, values))
    }

    /// The value of a path on a record.
    pub(crate) fn path_value(
        &self,
        object: ObjectIdx,
        slot: u32,
        values: &'a [Value],
        path: &PathPlan,
    ) -> Cow<'a, Value> {
        let Some((object, slot, values)) = self.follow(object, slot, values, path) else {
            return Cow::Owned(Value::Null);
        };
        let def = self.schema.object(object);
        match &path.leaf {
            Leaf::Type => Cow::Owned(Value::text(def.name.as_str())),
            Leaf::Field(list) => match list.iter().find(|(o, _)| *o == object) {
                Some(&(_, field)) => field_value(def, slot, values, &def.fields[field]),
                None => Cow::Owned(Value::Null),
            },
        }
    }

    /// The leaf field a path lands on for one record (for picklist labels).
    fn leaf_field(&self, object: ObjectIdx, path: &PathPlan) -> Option<&'a FieldDef> {
        let Leaf::Field(list) = &path.leaf else {
            return None;
        };
        let &(_, field) = list.iter().find(|(o, _)| *o == object)?;
        Some(&self.schema.object(object).fields[field])
    }

    /// Evaluates an expression.
    pub(crate) fn eval(&self, subject: Subject<'a>, expr: &ExprPlan) -> Cow<'a, Value> {
        match (expr, subject) {
            (
                ExprPlan::Path(path),
                Subject::Record {
                    object,
                    slot,
                    values,
                },
            ) => self.path_value(object, slot, values, path),
            (ExprPlan::DateFn(function, inner), _) => {
                Cow::Owned(dates::apply(*function, &self.eval(subject, inner)))
            }
            (
                ExprPlan::Label(path),
                Subject::Record {
                    object,
                    slot,
                    values,
                },
            ) => {
                let Some((target, target_slot, target_values)) =
                    self.follow(object, slot, values, path)
                else {
                    return Cow::Owned(Value::Null);
                };
                let value = self.path_value(target, target_slot, target_values, &relative(path));
                match (self.leaf_field(target, path), value.as_ref()) {
                    (Some(field), Value::Text(text)) if !field.picklist.is_empty() => {
                        Cow::Owned(Value::text(picklist_label(field, text)))
                    }
                    _ => value,
                }
            }
            (ExprPlan::Format(inner, spec), _) => {
                Cow::Owned(format_value(&self.eval(subject, inner), *spec))
            }
            (
                ExprPlan::Distance(distance),
                Subject::Record {
                    object,
                    slot,
                    values,
                },
            ) => Cow::Owned(self.distance(object, slot, values, distance)),
            (
                ExprPlan::Formula(formula),
                Subject::Record {
                    object,
                    slot,
                    values,
                },
            ) => Cow::Owned(self.formula(object, slot, values, formula)),
            (ExprPlan::Group(i), Subject::Group(row)) => row
                .keys
                .get(*i)
                .map_or(Cow::Owned(Value::Null), Cow::Borrowed),
            (ExprPlan::Agg(i), Subject::Group(row)) => row
                .aggs
                .get(*i)
                .map_or(Cow::Owned(Value::Null), Cow::Borrowed),
            (ExprPlan::Grouping(i), Subject::Group(row)) => Cow::Owned(Value::Int(i64::from(
                row.rolled.get(*i).copied().unwrap_or(false),
            ))),
            // Record expressions on aggregate rows (and the reverse) never reach here: the
            // planner only builds one kind per query.
            _ => Cow::Owned(Value::Null),
        }
    }

    fn distance(
        &self,
        object: ObjectIdx,
        slot: u32,
        values: &'a [Value],
        distance: &DistancePlan,
    ) -> Value {
        let lat = self.path_value(object, slot, values, &distance.latitude);
        let lon = self.path_value(object, slot, values, &distance.longitude);
        let (Some(lat), Some(lon)) = (lat.as_f64(), lon.as_f64()) else {
            return Value::Null;
        };
        let (lat2, lon2) = distance.point;
        let (p1, p2) = (lat.to_radians(), lat2.to_radians());
        let dp = (lat2 - lat).to_radians();
        let dl = (lon2 - lon).to_radians();
        let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
        let c = 2.0 * a.sqrt().atan2((1.0 - a).sqrt());
        let radius = if distance.kilometers {
            EARTH_RADIUS_KM
        } else {
            EARTH_RADIUS_MILES
        };
        Value::Double(radius * c)
    }

    fn formula(
        &self,
        object: ObjectIdx,
        slot: u32,
        values: &'a [Value],
        formula: &Formula,
    ) -> Value {
        match self.formula_value(object, slot, values, formula) {
            Some(FormulaValue::Number(n)) if n.is_finite() => Value::Double(n),
            Some(FormulaValue::Date(d)) if d.is_finite() => Value::Date(d.floor() as i32),
            Some(FormulaValue::DateTime(ms)) if ms.is_finite() => Value::DateTime(ms as i64),
            _ => Value::Null,
        }
    }

    fn formula_value(
        &self,
        object: ObjectIdx,
        slot: u32,
        values: &'a [Value],
        formula: &Formula,
    ) -> Option<FormulaValue> {
        use FormulaValue as F;
        Some(match formula {
            Formula::Number(n) => F::Number(*n),
            Formula::Today => F::Date(f64::from(value::date_of_millis(self.now))),
            Formula::Now => F::DateTime(self.now as f64),
            Formula::Field(path) => match self.path_value(object, slot, values, path).as_ref() {
                Value::Int(i) => F::Number(*i as f64),
                Value::Double(d) => F::Number(*d),
                Value::Date(d) => F::Date(f64::from(*d)),
                Value::DateTime(ms) => F::DateTime(*ms as f64),
                _ => return None,
            },
            Formula::Negate(inner) => match self.formula_value(object, slot, values, inner)? {
                F::Number(n) => F::Number(-n),
                _ => return None,
            },
            Formula::Binary(op, a, b) => {
                let a = self.formula_value(object, slot, values, a)?;
                let b = self.formula_value(object, slot, values, b)?;
                const DAY: f64 = 86_400_000.0;
                match (a, *op, b) {
                    (F::Number(x), '+', F::Number(y)) => F::Number(x + y),
                    (F::Number(x), '-', F::Number(y)) => F::Number(x - y),
                    (F::Number(x), '*', F::Number(y)) => F::Number(x * y),
                    (F::Number(x), '/', F::Number(y)) if y != 0.0 => F::Number(x / y),
                    (F::Date(x), '-', F::Date(y)) => F::Number(x - y),
                    (F::DateTime(x), '-', F::DateTime(y)) => F::Number((x - y) / DAY),
                    (F::Date(x), '+', F::Number(n)) | (F::Number(n), '+', F::Date(x)) => {
                        F::Date(x + n)
                    }
                    (F::Date(x), '-', F::Number(n)) => F::Date(x - n),
                    (F::DateTime(x), '+', F::Number(n)) | (F::Number(n), '+', F::DateTime(x)) => {
                        F::DateTime(x + n * DAY)
                    }
                    (F::DateTime(x), '-', F::Number(n)) => F::DateTime(x - n * DAY),
                    _ => return None,
                }
            }
        })
    }

    /// Whether a condition holds for a subject.
    pub(crate) fn holds(&self, subject: Subject<'a>, condition: &CondPlan) -> Truth {
        match condition {
            CondPlan::And(operands) => {
                let mut result = Truth::True;
                for operand in operands {
                    match self.holds(subject, operand) {
                        Truth::False => return Truth::False,
                        Truth::Unknown => result = Truth::Unknown,
                        Truth::True => {}
                    }
                }
                result
            }
            CondPlan::Or(operands) => {
                let mut result = Truth::False;
                for operand in operands {
                    match self.holds(subject, operand) {
                        Truth::True => return Truth::True,
                        Truth::Unknown => result = Truth::Unknown,
                        Truth::False => {}
                    }
                }
                result
            }
            CondPlan::Not(operand) => self.holds(subject, operand).not(),
            CondPlan::IsNull { expr, negate } => {
                // The SOQL reference: on a boolean field `= null` means `= false` and `!= null`
                // means `= true` (booleans are never null).
                let null_like = matches!(
                    self.eval(subject, expr).as_ref(),
                    Value::Null | Value::Bool(false)
                );
                Truth::from_bool(null_like != *negate)
            }
            CondPlan::Compare { expr, op, value } => {
                let actual = self.eval(subject, expr);
                // `!=` is "the value does not equal the literal": a null field does not, so it
                // passes, as in Salesforce. Every other comparison with a null is unknown.
                if actual.is_null() && *op == Op::Ne && !value.is_null() {
                    return Truth::True;
                }
                if actual.is_null() || value.is_null() {
                    return Truth::Unknown;
                }
                Truth::from_bool(match actual.compare(value) {
                    Some(ordering) => op_holds(*op, ordering),
                    // Values of different kinds (an id of another org, say) are never equal.
                    None => *op == Op::Ne,
                })
            }
            CondPlan::Range {
                expr,
                op,
                start,
                end,
            } => {
                let at = match self.eval(subject, expr).as_ref() {
                    Value::Null if *op == Op::Ne => return Truth::True,
                    Value::Null => return Truth::Unknown,
                    Value::Date(days) => i64::from(*days),
                    Value::DateTime(millis) => *millis,
                    _ => return Truth::False,
                };
                let within = *start <= at && at < *end;
                Truth::from_bool(match op {
                    Op::Eq => within,
                    Op::Ne => !within,
                    Op::Lt => at < *start,
                    Op::Le => at < *end,
                    Op::Gt => at >= *end,
                    Op::Ge => at >= *start,
                })
            }
            CondPlan::SameSet {
                expr,
                values,
                negate,
            } => match self.eval(subject, expr).as_ref() {
                Value::Null => Truth::Unknown,
                Value::Text(text) => {
                    let mut selected: Vec<String> = text
                        .split(';')
                        .map(|v| v.trim().to_lowercase())
                        .filter(|v| !v.is_empty())
                        .collect();
                    selected.sort();
                    selected.dedup();
                    Truth::from_bool((selected == *values) != *negate)
                }
                _ => Truth::False,
            },
            CondPlan::In {
                expr,
                values,
                has_null,
                negate,
            } => {
                let actual = self.eval(subject, expr);
                if actual.is_null() {
                    return if *has_null {
                        Truth::from_bool(!*negate)
                    } else {
                        Truth::Unknown
                    };
                }
                let found = values
                    .iter()
                    .any(|v| actual.compare(v) == Some(Ordering::Equal));
                Truth::from_bool(found != *negate)
            }
            CondPlan::Like { expr, pattern } => match self.eval(subject, expr).as_ref() {
                Value::Null => Truth::Unknown,
                Value::Text(text) => Truth::from_bool(pattern.matches(text)),
                _ => Truth::False,
            },
            CondPlan::Includes { expr, sets, negate } => match self.eval(subject, expr).as_ref() {
                Value::Null => Truth::Unknown,
                Value::Text(text) => {
                    let selected: HashSet<String> =
                        text.split(';').map(|v| v.trim().to_lowercase()).collect();
                    let found = sets
                        .iter()
                        .any(|set| set.iter().all(|v| selected.contains(v)));
                    Truth::from_bool(found != *negate)
                }
                _ => Truth::False,
            },
            CondPlan::SemiJoin {
                expr,
                query,
                field,
                negate,
                ids,
            } => {
                let ids = ids.get_or_init(|| exec::semi_join_ids(self, query, field));
                match self.eval(subject, expr).as_ref() {
                    Value::Null => Truth::Unknown,
                    Value::Ref(id) => Truth::from_bool(ids.contains(id) != *negate),
                    _ => Truth::from_bool(*negate),
                }
            }
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum FormulaValue {
    Number(f64),
    /// Days since 1970-01-01.
    Date(f64),
    /// Epoch milliseconds.
    DateTime(f64),
}

fn op_holds(op: Op, ordering: Ordering) -> bool {
    match op {
        Op::Eq => ordering == Ordering::Equal,
        Op::Ne => ordering != Ordering::Equal,
        Op::Lt => ordering == Ordering::Less,
        Op::Le => ordering != Ordering::Greater,
        Op::Gt => ordering == Ordering::Greater,
        Op::Ge => ordering != Ordering::Less,
    }
}

/// The path without its hops (the leaf alone), to read on the record the hops reached.
fn relative(path: &PathPlan) -> PathPlan {
    PathPlan {
        hops: Vec::new(),
        leaf: path.leaf.clone(),
        field_type: path.field_type,
        names: Vec::new(),
    }
}

/// The value of one field of a record: stored columns are borrowed; the id, the full name of a
/// person and compound fields (null here: they are only rendered, never compared) are made.
pub(crate) fn field_value<'a>(
    def: &ObjectDef,
    slot: u32,
    values: &'a [Value],
    field: &FieldDef,
) -> Cow<'a, Value> {
    match field.storage {
        Storage::Column(c) => values.get(c).map_or(Cow::Owned(Value::Null), Cow::Borrowed),
        Storage::Id => Cow::Owned(Value::Ref(id_of(def, slot))),
        Storage::FullName => {
            let part = |name: &str| {
                def.field(name)
                    .and_then(|(_, f)| f.column())
                    .and_then(|c| values.get(c))
                    .and_then(Value::as_text)
                    .unwrap_or("")
            };
            let full: Vec<&str> = [part("FirstName"), part("LastName")]
                .into_iter()
                .filter(|s| !s.is_empty())
                .collect();
            Cow::Owned(if full.is_empty() {
                Value::Null
            } else {
                Value::text(full.join(" "))
            })
        }
        Storage::Address | Storage::Location => Cow::Owned(Value::Null),
    }
}

/// The label of a picklist value (each value of a multi-select picklist).
fn picklist_label(field: &FieldDef, text: &str) -> String {
    text.split(';')
        .map(|part| {
            field
                .picklist_entry(part)
                .map_or(part, |entry| entry.label.as_str())
        })
        .collect::<Vec<_>>()
        .join(";")
}

/// `FORMAT()`: numbers with thousands separators and the field's decimals, currency with `$`
/// (a single-currency USD org), percent with `%`, dates `1/15/2024`, datetimes
/// `1/15/2024, 10:30 AM` (UTC), anything else unchanged.
fn format_value(input: &Value, spec: FormatSpec) -> Value {
    let text = match input {
        Value::Null => return Value::Null,
        Value::Int(i) => dates::format_number(*i as f64, 0),
        Value::Double(d) => match spec.field_type {
            FieldType::Currency => {
                let number = dates::format_number(d.abs(), spec.scale);
                if *d < 0.0 {
                    format!("-${number}")
                } else {
                    format!("${number}")
                }
            }
            FieldType::Percent => format!("{}%", dates::format_number(*d, spec.scale)),
            FieldType::Int => dates::format_number(*d, 0),
            _ => dates::format_number(*d, spec.scale),
        },
        Value::Date(days) => dates::format_date(*days),
        Value::DateTime(millis) => dates::format_datetime(*millis),
        other => return other.clone(),
    };
    Value::text(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_valued_logic_keeps_unknown_unknown() {
        assert_eq!(Truth::Unknown.not(), Truth::Unknown);
        assert_eq!(Truth::True.not(), Truth::False);
    }

    #[test]
    fn format_writes_locale_text() {
        let spec = |field_type, scale| FormatSpec { field_type, scale };
        assert_eq!(
            format_value(&Value::Double(1500.5), spec(FieldType::Currency, 2)),
            Value::text("$1,500.50")
        );
        assert_eq!(
            format_value(&Value::Double(12.5), spec(FieldType::Percent, 1)),
            Value::text("12.5%")
        );
        assert_eq!(
            format_value(&Value::Int(1234), spec(FieldType::Int, 0)),
            Value::text("1,234")
        );
        assert_eq!(
            format_value(&Value::Null, spec(FieldType::Int, 0)),
            Value::Null
        );
    }
}
