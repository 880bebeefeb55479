//! From a source row to the record sent, or to the reasons it is not sent: columns mapped to
//! fields (by name, case-insensitively, or by an explicit mapping; `Relationship.ExternalId`
//! columns become a nested parent reference), each value checked and converted against the
//! describe (unknown fields, fields that cannot be set, types, required fields on insert,
//! text length, restricted picklists), and the record's fingerprint.
//!
//! The MCP server checks its writes in the same spirit (`forcebridge-mcp`'s `validate.rs`),
//! but its values arrive typed from a model while a push's arrive as text from a file or a
//! table, so this module converts as it checks; the two share the catalog's model, not code.

use std::collections::{BTreeMap, HashMap};

use forcebridge_catalog::{Field, FieldType, Object};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::config::{Mapping, Operation};
use super::source::SourceRow;

/// Everything needed to check rows: the object, the parents reached through relationship
/// columns (by lower-case relationship name), the operation and the key column.
pub(crate) struct Checker {
    pub(crate) object: Object,
    /// Relationship name (lower case) → (the reference field, the parent's describe).
    pub(crate) parents: HashMap<String, (Field, Object)>,
    pub(crate) operation: Operation,
    pub(crate) mapping: Mapping,
    pub(crate) key_column: Option<String>,
}

/// A row ready to send.
#[derive(Debug, Clone)]
pub(crate) struct Prepared {
    pub(crate) number: u64,
    pub(crate) key: String,
    /// Fields by their exact names, sorted (so the fingerprint does not depend on the
    /// source's column order).
    pub(crate) payload: Map<String, Value>,
    pub(crate) fingerprint: String,
    /// The parents this record points to, for grouping children of one parent together.
    pub(crate) parent: String,
    /// The source row, kept for its reject entry should Salesforce refuse it.
    pub(crate) row: Map<String, Value>,
}

/// Why a row is not sent.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Problem {
    /// The field (or column) concerned; empty for the row as a whole.
    pub(crate) field: String,
    pub(crate) reason: String,
}

/// A row that failed validation: its key when it has one (else `#N`, its row number).
#[derive(Debug, Clone)]
pub(crate) struct Invalid {
    pub(crate) number: u64,
    pub(crate) key: String,
    pub(crate) problems: Vec<Problem>,
    pub(crate) row: Map<String, Value>,
}

impl Checker {
    /// The field path a column maps to, if any.
    fn path_of<'a>(&'a self, column: &'a str) -> Option<&'a str> {
        match &self.mapping {
            Mapping::ByName => Some(column),
            Mapping::Explicit(map) => map
                .get(column)
                .or_else(|| {
                    map.iter()
                        .find(|(c, _)| c.eq_ignore_ascii_case(column))
                        .map(|(_, f)| f)
                })
                .map(String::as_str),
        }
    }

    /// The lower-case relationship names the row's columns reach, which need their parent
    /// described before the row can be checked.
    pub(crate) fn relationships_in(&self, row: &SourceRow) -> Vec<String> {
        row.values
            .keys()
            .filter_map(|column| self.path_of(column))
            .filter_map(|path| path.split_once('.'))
            .map(|(relationship, _)| relationship.to_ascii_lowercase())
            .filter(|r| !self.parents.contains_key(r))
            .collect()
    }

    /// The reference field of `object` whose relationship is `name` (case-insensitive).
    pub(crate) fn reference_field<'a>(object: &'a Object, name: &str) -> Option<&'a Field> {
        object.fields.iter().find(|f| {
            f.reference.as_ref().is_some_and(|r| {
                r.relationship_name
                    .as_deref()
                    .is_some_and(|n| n.eq_ignore_ascii_case(name))
            })
        })
    }

    /// The column holding the row's key.
    fn key_column<'a>(&'a self, row: &'a SourceRow) -> Option<&'a str> {
        if let Some(key) = &self.key_column {
            return row
                .values
                .keys()
                .find(|c| c.as_str() == key)
                .or_else(|| row.values.keys().find(|c| c.eq_ignore_ascii_case(key)))
                .map(String::as_str);
        }
        let wanted = match &self.operation {
            Operation::Upsert { external_id_field } => external_id_field.as_str(),
            Operation::Update | Operation::Delete => "Id",
            Operation::Insert { .. } => return None,
        };
        row.values
            .keys()
            .find(|c| {
                self.path_of(c)
                    .is_some_and(|p| p.eq_ignore_ascii_case(wanted))
            })
            .map(String::as_str)
    }

    /// Checks and converts one row.
    pub(crate) fn check(&self, row: SourceRow) -> Result<Prepared, Box<Invalid>> {
        let mut problems = Vec::new();
        let key_column = self.key_column(&row).map(str::to_string);
        let key = key_column
            .as_deref()
            .and_then(|c| row.values.get(c))
            .and_then(key_text);
        if key.is_none() {
            problems.push(Problem {
                field: key_column.clone().unwrap_or_default(),
                reason: match &key_column {
                    Some(c) => format!("the key column {c} is empty"),
                    None => "the row has no key column".to_string(),
                },
            });
        }
        let mut fields: BTreeMap<String, Value> = BTreeMap::new();
        let object = &self.object;
        for (column, value) in &row.values {
            let Some(path) = self.path_of(column) else {
                continue;
            };
            if matches!(self.operation, Operation::Delete) && !path.eq_ignore_ascii_case("Id") {
                continue;
            }
            if let Some((relationship, parent_field)) = path.split_once('.') {
                match self.relationship(relationship, parent_field, value) {
                    Ok((name, nested)) => {
                        fields.insert(name, nested);
                    }
                    Err(reason) => problems.push(Problem {
                        field: path.to_string(),
                        reason,
                    }),
                }
                continue;
            }
            let is_key = key_column.as_deref() == Some(column.as_str());
            if is_key
                && path.eq_ignore_ascii_case("Id")
                && matches!(
                    self.operation,
                    Operation::Insert { .. } | Operation::Upsert { .. }
                )
            {
                // A key column named `id` names the source row, not a Salesforce record.
                continue;
            }
            let Some(field) = object.field(path) else {
                if is_key || value.is_null() {
                    // The key column names the row and need not be a field; an empty cell of
                    // a column that is no field sends nothing, so loses nothing.
                    continue;
                }
                problems.push(Problem {
                    field: path.to_string(),
                    reason: format!("unknown field {path} on {}", object.name),
                });
                continue;
            };
            if field.name == "Id" {
                match &self.operation {
                    Operation::Update | Operation::Delete => {}
                    Operation::Insert { .. } | Operation::Upsert { .. } => {
                        problems.push(Problem {
                            field: "Id".into(),
                            reason: format!(
                                "Id cannot be set on {} (map it away, or use update)",
                                self.operation.as_str()
                            ),
                        });
                        continue;
                    }
                }
                match convert(object, field, value) {
                    Ok(Value::Null) => problems.push(Problem {
                        field: "Id".into(),
                        reason: "the Id is empty".into(),
                    }),
                    Ok(id) => {
                        fields.insert("Id".into(), id);
                    }
                    Err(reason) => problems.push(Problem {
                        field: "Id".into(),
                        reason,
                    }),
                }
                continue;
            }
            if let Some(reason) = self.settable(field) {
                problems.push(Problem {
                    field: field.name.clone(),
                    reason,
                });
                continue;
            }
            match convert(object, field, value) {
                Ok(v) => {
                    fields.insert(field.name.clone(), v);
                }
                Err(reason) => problems.push(Problem {
                    field: field.name.clone(),
                    reason,
                }),
            }
        }
        if let (
            Operation::Insert {
                marker_field: Some(marker),
            },
            Some(key),
        ) = (&self.operation, &key)
        {
            match object.field(marker) {
                Some(field) if field.createable => {
                    fields.insert(field.name.clone(), Value::String(key.clone()));
                }
                _ => problems.push(Problem {
                    field: marker.clone(),
                    reason: format!(
                        "the marker field {marker} is not a field of {} that can be set on create",
                        object.name
                    ),
                }),
            }
        }
        if matches!(self.operation, Operation::Update | Operation::Delete)
            && !fields.contains_key("Id")
            && problems.iter().all(|p| p.field != "Id")
        {
            problems.push(Problem {
                field: "Id".into(),
                reason: format!("{} needs a column mapped to Id", self.operation.as_str()),
            });
        }
        if matches!(self.operation, Operation::Insert { .. }) {
            for field in &object.fields {
                let given = fields.get(&field.name).is_some_and(|v| !v.is_null());
                let reported = problems.iter().any(|p| p.field == field.name);
                if field.required_on_create && !given && !reported {
                    problems.push(Problem {
                        field: field.name.clone(),
                        reason: format!(
                            "missing required field {}.{} ({})",
                            object.name,
                            field.name,
                            field.type_summary()
                        ),
                    });
                }
            }
        }
        if let Operation::Upsert { external_id_field } = &self.operation
            && !fields
                .iter()
                .any(|(name, v)| name.eq_ignore_ascii_case(external_id_field) && !v.is_null())
            && problems.is_empty()
        {
            problems.push(Problem {
                field: external_id_field.clone(),
                reason: format!("the external id {external_id_field} is empty"),
            });
        }
        if !problems.is_empty() {
            return Err(Box::new(Invalid {
                number: row.number,
                key: key.unwrap_or_else(|| format!("#{}", row.number)),
                problems,
                row: row.values,
            }));
        }
        let parent = fields
            .iter()
            .filter(|(name, value)| {
                value.is_object()
                    || object.field(name).is_some_and(|f| {
                        f.field_type == FieldType::Reference && f.name != "OwnerId"
                    })
            })
            .map(|(_, v)| v.to_string())
            .collect::<Vec<_>>()
            .join("|");
        let payload: Map<String, Value> = fields.into_iter().collect();
        Ok(Prepared {
            number: row.number,
            key: key.expect("checked above"),
            fingerprint: fingerprint(&payload),
            payload,
            parent,
            row: row.values,
        })
    }

    /// Why `field` cannot be written by this operation, if it cannot.
    fn settable(&self, field: &Field) -> Option<String> {
        let ok = match &self.operation {
            Operation::Insert { .. } => field.createable,
            Operation::Update => field.updateable,
            Operation::Upsert { .. } => field.createable || field.updateable,
            Operation::Delete => true,
        };
        (!ok).then(|| {
            format!(
                "field {}.{} cannot be {}{}",
                self.object.name,
                field.name,
                match &self.operation {
                    Operation::Insert { .. } => "set on create",
                    _ => "changed",
                },
                if field.calculated || field.formula.is_some() {
                    " (it is calculated)"
                } else {
                    ""
                }
            )
        })
    }

    /// `"Account": {"External_Id__c": value}` for a column `Account.External_Id__c`.
    fn relationship(
        &self,
        relationship: &str,
        parent_field: &str,
        value: &Value,
    ) -> Result<(String, Value), String> {
        let Some((reference, parent)) = self.parents.get(&relationship.to_ascii_lowercase()) else {
            return Err(format!(
                "{} has no relationship {relationship}",
                self.object.name
            ));
        };
        if let Some(reason) = self.settable(reference) {
            return Err(reason);
        }
        let Some(field) = parent.field(parent_field) else {
            return Err(format!("unknown field {parent_field} on {}", parent.name));
        };
        if !field.external_id && field.name != "Id" {
            return Err(format!(
                "{}.{} is not an external id field, so it cannot name a parent",
                parent.name, field.name
            ));
        }
        let relationship_name = reference
            .reference
            .as_ref()
            .and_then(|r| r.relationship_name.clone())
            .unwrap_or_else(|| relationship.to_string());
        let converted = convert(parent, field, value)?;
        if converted.is_null() {
            // No parent: clear the lookup itself.
            return Ok((reference.name.clone(), Value::Null));
        }
        let mut nested = Map::new();
        nested.insert(field.name.clone(), converted);
        Ok((relationship_name, Value::Object(nested)))
    }
}

/// A key's text: strings as they are, numbers and booleans in their JSON form; `None` when
/// empty.
fn key_text(value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::String(s) if s.trim().is_empty() => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

/// The hex SHA-256 of the record as sent.
pub(crate) fn fingerprint(payload: &Map<String, Value>) -> String {
    let text = serde_json::to_string(payload).unwrap_or_default();
    let digest = Sha256::digest(text.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Converts a source value to the JSON Salesforce takes for `field`, or says why it cannot.
pub(crate) fn convert(object: &Object, field: &Field, value: &Value) -> Result<Value, String> {
    let name = format!("{}.{}", object.name, field.name);
    let text = match value {
        Value::Null => None,
        Value::String(s) if s.is_empty() => None,
        Value::String(s) => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Array(_) | Value::Object(_) => {
            return Err(format!("field {name} takes a single value, not {value}"));
        }
    };
    let Some(text) = text else {
        if !field.nillable && field.field_type != FieldType::Boolean {
            return Err(format!("field {name} cannot be empty"));
        }
        return Ok(Value::Null);
    };
    let expected = |what: &str| format!("field {name} expects {what}, not {value}");
    let converted = match &field.field_type {
        FieldType::Boolean => match text.to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "y" | "t" => Value::Bool(true),
            "false" | "0" | "no" | "n" | "f" => Value::Bool(false),
            _ => return Err(expected("true or false")),
        },
        FieldType::Int | FieldType::Long => {
            let n: i64 = text
                .parse()
                .ok()
                .or_else(|| {
                    text.parse::<f64>()
                        .ok()
                        .filter(|x| x.fract() == 0.0 && x.abs() < 9.0e15)
                        .map(|x| x as i64)
                })
                .ok_or_else(|| expected("a whole number"))?;
            if field.digits > 0 && n.unsigned_abs().to_string().len() > field.digits as usize {
                return Err(format!(
                    "field {name} takes at most {} digits, not {n}",
                    field.digits
                ));
            }
            Value::from(n)
        }
        FieldType::Double | FieldType::Currency | FieldType::Percent => {
            let x: f64 = text.parse().map_err(|_| expected("a number"))?;
            if !x.is_finite() {
                return Err(expected("a number"));
            }
            if field.precision > 0 {
                let integer_digits = text
                    .trim_start_matches(['-', '+'])
                    .split(['.', 'e', 'E'])
                    .next()
                    .unwrap_or("")
                    .trim_start_matches('0')
                    .len();
                let allowed = field.precision.saturating_sub(field.scale) as usize;
                if integer_digits > allowed {
                    return Err(format!(
                        "field {name} takes at most {allowed} digits before the decimal point, not {text}"
                    ));
                }
            }
            // Keep the text's own digits (a decimal stays exact), as a JSON number.
            serde_json::from_str::<serde_json::Number>(&text)
                .map(Value::Number)
                .map_err(|_| expected("a number"))?
        }
        FieldType::Date => {
            let date = chrono::NaiveDate::parse_from_str(&text, "%Y-%m-%d")
                .or_else(|_| chrono::DateTime::parse_from_rfc3339(&text).map(|t| t.date_naive()))
                .map_err(|_| expected("a date as YYYY-MM-DD"))?;
            Value::String(date.format("%Y-%m-%d").to_string())
        }
        FieldType::DateTime => Value::String(datetime(&text).ok_or_else(|| {
            expected("a date and time (RFC 3339, or YYYY-MM-DD HH:MM:SS in UTC)")
        })?),
        FieldType::Time => {
            let t = chrono::NaiveTime::parse_from_str(&text, "%H:%M:%S%.f")
                .or_else(|_| chrono::NaiveTime::parse_from_str(&text, "%H:%M"))
                .map_err(|_| expected("a time as HH:MM:SS"))?;
            Value::String(t.format("%H:%M:%S%.3fZ").to_string())
        }
        FieldType::Id | FieldType::Reference => {
            let ok = (text.len() == 15 || text.len() == 18)
                && text.chars().all(|c| c.is_ascii_alphanumeric())
                && (text.len() == 15 || forcebridge_client::wire::id::restore_case(&text).is_ok());
            if !ok {
                return Err(expected("a record id of 15 or 18 characters"));
            }
            Value::String(text)
        }
        FieldType::Address | FieldType::Location | FieldType::Base64 | FieldType::ComplexValue => {
            return Err(format!(
                "field {name} ({}) cannot be written by push; map its component fields instead",
                field.field_type
            ));
        }
        _ => {
            // Text of some kind: the source's exact text, not trimmed.
            let original = match value {
                Value::String(s) => s.clone(),
                _ => text,
            };
            if field.length > 0
                && matches!(
                    field.field_type,
                    FieldType::String
                        | FieldType::Textarea
                        | FieldType::Email
                        | FieldType::Phone
                        | FieldType::Url
                        | FieldType::EncryptedString
                        | FieldType::Combobox
                )
                && original.chars().count() > field.length as usize
            {
                return Err(format!(
                    "field {name} takes at most {} characters, this value has {}",
                    field.length,
                    original.chars().count()
                ));
            }
            if let Some(picklist) = &field.picklist
                && picklist.restricted
            {
                let allowed: Vec<&str> = picklist
                    .values
                    .iter()
                    .filter(|v| v.active)
                    .map(|v| v.value.as_str())
                    .collect();
                let given: Vec<&str> = if field.field_type == FieldType::Multipicklist {
                    original.split(';').map(str::trim).collect()
                } else {
                    vec![original.as_str()]
                };
                if let Some(bad) = given.iter().find(|g| !allowed.contains(g)) {
                    return Err(format!(
                        "{bad:?} is not a value of the restricted picklist {name}; use one of: {}",
                        allowed.join(", ")
                    ));
                }
            }
            Value::String(original)
        }
    };
    Ok(converted)
}

/// A date-time as Salesforce writes it (UTC, milliseconds, `Z`).
fn datetime(text: &str) -> Option<String> {
    let utc = chrono::DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&chrono::Utc))
        .ok()
        .or_else(|| {
            [
                "%Y-%m-%d %H:%M:%S%.f",
                "%Y-%m-%dT%H:%M:%S%.f",
                "%Y-%m-%d %H:%M:%S%.f%#z",
            ]
            .iter()
            .find_map(|f| chrono::NaiveDateTime::parse_from_str(text, f).ok())
            .map(|t| t.and_utc())
        })
        .or_else(|| {
            chrono::DateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f%#z")
                .ok()
                .map(|t| t.with_timezone(&chrono::Utc))
        })?;
    Some(utc.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
}
