//! Generic generated values: rows for custom objects, and values for the custom fields of
//! standard objects. Each value fits its field (type, length, precision and scale, picklist
//! values); unique and external-id fields get values made from the row number, so they never
//! collide; references point at existing records of the target object.

use rand::RngExt;

use super::sales::round_to;
use super::words::{self, CITIES};
use super::{DAY, Generator, START_MILLIS, Times};
use crate::ids::RecordId;
use crate::schema::{DefaultValue, FieldDef, FieldType, ObjectDef, ObjectIdx};
use crate::store::id_of;
use crate::value::{self, Value};

impl Generator<'_, '_> {
    /// Generates the rows of every custom object, parents before children.
    pub(super) fn custom_objects(&mut self, plan: &[(ObjectIdx, u64)]) {
        let schema = self.schema.clone();
        let mut pending: Vec<(ObjectIdx, u64)> = plan.to_vec();
        let mut order = Vec::new();
        // Objects whose references to other custom objects are all generated go first; a
        // cycle is broken by taking the next object in schema order.
        while !pending.is_empty() {
            let ready = pending.iter().position(|(object, _)| {
                schema.object(*object).fields.iter().all(|f| {
                    f.reference_to.iter().all(|target| {
                        schema.find(target).is_none_or(|(t, def)| {
                            !def.custom || t == *object || !pending.iter().any(|(p, _)| *p == t)
                        })
                    })
                })
            });
            order.push(pending.remove(ready.unwrap_or(0)));
        }
        for (object, n) in order {
            self.custom_object(object, n);
        }
    }

    fn custom_object(&mut self, object: ObjectIdx, n: u64) {
        let schema = self.schema.clone();
        let def = schema.object(object);
        let references: Vec<&FieldDef> = def
            .fields
            .iter()
            .filter(|f| f.custom && f.is_reference() && f.column().is_some())
            .collect();
        // A required reference to an object without records cannot be filled: generate none.
        for field in &references {
            if !field.nillable && !self.has_records_for(field, object) {
                tracing::warn!(
                    object = %def.name,
                    field = %field.name,
                    "no records to point the required reference at; generating no rows"
                );
                return;
            }
        }
        let name_column = def
            .name_field
            .map(|i| &def.fields[i])
            .filter(|f| !f.auto_number)
            .and_then(FieldDef::column);
        let name_length = def.name_field.map_or(80, |i| def.fields[i].length) as usize;
        for i in 0..n {
            let slot = self.txn.data().table(object).slot_count();
            let mut parents = Vec::new();
            for field in &references {
                let Some(column) = field.column() else {
                    continue;
                };
                if field.nillable && self.chance(0.1) {
                    continue;
                }
                if let Some(id) = self.random_reference(field, object, slot) {
                    parents.push((column, id));
                }
            }
            let not_before = parents
                .iter()
                .map(|&(_, id)| self.created_of(id))
                .max()
                .unwrap_or(START_MILLIS + DAY);
            let times = self.times(i, n, not_before);
            let owner = self.owner();
            self.emit_with(object, times, owner, |_| {
                let mut values = vec![Value::Null; def.columns];
                if let Some(column) = name_column {
                    let name: String = format!("{} {:05}", def.label, i + 1)
                        .chars()
                        .take(name_length)
                        .collect();
                    values[column] = Value::text(name);
                }
                for &(column, id) in &parents {
                    values[column] = Value::Ref(id);
                }
                values
            });
        }
    }

    fn has_records_for(&self, field: &FieldDef, object: ObjectIdx) -> bool {
        field.reference_to.iter().any(|target| {
            if target.eq_ignore_ascii_case("User") {
                return true;
            }
            self.schema
                .find(target)
                .is_some_and(|(t, _)| t != object && self.txn.data().table(t).live_count() > 0)
        })
    }

    /// Fills the empty custom fields of a record about to be stored (a fifth of the optional
    /// ones stay empty, as in real data).
    pub(super) fn fill_custom_fields(
        &mut self,
        def: &ObjectDef,
        object: ObjectIdx,
        slot: u32,
        values: &mut [Value],
        times: Times,
    ) {
        for position in 0..self.custom_fields[object.0].len() {
            let field = &def.fields[self.custom_fields[object.0][position]];
            let Some(column) = field.column() else {
                continue;
            };
            if !values[column].is_null() || (field.nillable && self.chance(0.2)) {
                continue;
            }
            values[column] = self.generic_value(def, object, field, slot, times);
        }
    }

    /// A value that fits `field`, for the record in `slot`.
    fn generic_value(
        &mut self,
        def: &ObjectDef,
        object: ObjectIdx,
        field: &FieldDef,
        slot: u32,
        times: Times,
    ) -> Value {
        let unique = field.unique || field.external_id;
        if !unique
            && let Some(default) = &field.default_value
            && self.chance(0.5)
        {
            return match default {
                DefaultValue::Bool(b) => Value::Bool(*b),
                DefaultValue::Text(t) => Value::text(t.as_str()),
                DefaultValue::Number(n) if field.field_type == FieldType::Int => {
                    Value::Int(*n as i64)
                }
                DefaultValue::Number(n) => Value::Double(*n),
            };
        }
        let length = if field.length == 0 {
            usize::MAX
        } else {
            field.length as usize
        };
        let fit =
            |text: String| -> Value { Value::text(text.chars().take(length).collect::<String>()) };
        match field.field_type {
            FieldType::String if unique => unique_text(def, slot, length),
            FieldType::String => {
                let a = self.pick(words::LOREM);
                let b = self.pick(words::LOREM);
                fit(format!("{a} {b}"))
            }
            FieldType::Textarea => {
                let words: Vec<&str> = (0..self.rng.random_range(4..12))
                    .map(|_| self.pick(words::LOREM))
                    .collect();
                fit(format!("{}.", words.join(" ")))
            }
            FieldType::Picklist if !field.picklist.is_empty() => {
                let entry = &field.picklist[self.rng.random_range(0..field.picklist.len())];
                Value::text(entry.value.as_str())
            }
            FieldType::Multipicklist if !field.picklist.is_empty() => {
                let first = self.rng.random_range(0..field.picklist.len());
                let second = self.rng.random_range(0..field.picklist.len());
                let mut chosen = vec![first.min(second), first.max(second)];
                chosen.dedup();
                let text: Vec<&str> = chosen
                    .into_iter()
                    .map(|i| field.picklist[i].value.as_str())
                    .collect();
                Value::text(text.join(";"))
            }
            FieldType::Boolean => Value::Bool(self.chance(0.5)),
            FieldType::Int => {
                let limit = 10i64.saturating_pow(field.digits.clamp(1, 18));
                if unique {
                    let n = i64::from(slot) + 1;
                    if n < limit {
                        Value::Int(n)
                    } else {
                        Value::Null
                    }
                } else {
                    Value::Int(self.rng.random_range(0..limit.min(1_000)))
                }
            }
            FieldType::Double | FieldType::Currency | FieldType::Percent => {
                let scale = field.scale as i32;
                let limit = 10f64.powi(field.precision.saturating_sub(field.scale).max(1) as i32);
                let number = if field.compound_field_name.is_some() {
                    let place = CITIES[self.rng.random_range(0..CITIES.len())];
                    let jitter: f64 = self.rng.random_range(-0.05..0.05);
                    if field.name.ends_with("Longitude__s") {
                        place.longitude + jitter
                    } else {
                        place.latitude + jitter
                    }
                } else if unique {
                    f64::from(slot) + 1.0
                } else {
                    match field.field_type {
                        FieldType::Percent => self.rng.random_range(0.0..100.0),
                        FieldType::Currency => self.amount(10.0, 100_000.0, 0.01),
                        _ => self.rng.random_range(0.0..1_000.0),
                    }
                };
                let number = round_to(number, scale);
                if number.abs() >= limit {
                    // Too large for the field's precision: the largest value it holds instead.
                    Value::Double(round_to(limit - 10f64.powi(-scale), scale))
                } else {
                    Value::Double(number)
                }
            }
            FieldType::Date => {
                let day = value::date_of_millis(times.created) + self.rng.random_range(-30..365);
                Value::Date(day)
            }
            FieldType::DateTime => {
                Value::DateTime(times.created + self.rng.random_range(0..30 * DAY))
            }
            FieldType::Time => Value::Time(self.rng.random_range(8 * 4..18 * 4u32) * 15 * 60_000),
            FieldType::Email if unique => fit(format!(
                "{}{}@example.com",
                abbreviation(def).to_ascii_lowercase(),
                slot + 1
            )),
            FieldType::Email => {
                let first = self.pick(words::FIRST_NAMES);
                let last = self.pick(words::LAST_NAMES);
                fit(format!("{first}.{last}@example.com").to_ascii_lowercase())
            }
            FieldType::Phone => {
                let city = self.rng.random_range(0..CITIES.len());
                fit(self.phone(city))
            }
            FieldType::Url => {
                let word = self.pick(words::LOREM);
                fit(format!("https://www.example.com/{word}"))
            }
            // A record is never created before the records it points at (users aside).
            FieldType::Reference => match self.random_reference(field, object, slot) {
                Some(id) if self.is_user(id) || self.created_of(id) <= times.created => {
                    Value::Ref(id)
                }
                _ => Value::Null,
            },
            _ => Value::Null,
        }
    }

    /// An existing record `field` may point at: a sales rep for users, else a random live
    /// record of the target (an earlier one when the object points at itself).
    fn random_reference(
        &mut self,
        field: &FieldDef,
        object: ObjectIdx,
        slot: u32,
    ) -> Option<RecordId> {
        let target = field.reference_to.first()?;
        if target.eq_ignore_ascii_case("User") {
            return Some(self.owner());
        }
        let (target_idx, target_def) = self.schema.find(target)?;
        let table = self.txn.data().table(target_idx);
        let count = if target_idx == object {
            slot
        } else {
            table.slot_count()
        };
        if count == 0 {
            return None;
        }
        let pick = self.rng.random_range(0..count);
        let row = table.get(pick)?;
        (!crate::dml::is_deleted(target_def, row)).then(|| id_of(target_def, pick))
    }
}

/// Up to three capitals that stand for an object: `Invoice_Line__c` → `IL`, `Invoice__c` → `INV`.
fn abbreviation(def: &ObjectDef) -> String {
    let base = def.name.strip_suffix("__c").unwrap_or(&def.name);
    let parts: Vec<&str> = base.split('_').filter(|p| !p.is_empty()).collect();
    let text: String = if parts.len() > 1 {
        parts.iter().filter_map(|p| p.chars().next()).collect()
    } else {
        base.chars().take(3).collect()
    };
    text.to_ascii_uppercase()
}

/// A unique text for the record in `slot` that fits in `length` characters: `INV-000042`, or
/// the bare number when that is too long.
fn unique_text(def: &ObjectDef, slot: u32, length: usize) -> Value {
    let number = u64::from(slot) + 1;
    let long = format!("{}-{number:06}", abbreviation(def));
    if long.len() <= length {
        return Value::text(long);
    }
    let short = number.to_string();
    if short.len() <= length {
        Value::text(short)
    } else {
        Value::Null
    }
}
