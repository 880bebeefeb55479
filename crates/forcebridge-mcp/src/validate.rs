//! Writes checked against the object's describe before anything is sent: unknown fields,
//! fields that cannot be set on create or update, missing required fields, values of the
//! wrong kind, and values outside a restricted picklist. Each problem says what to fix.

use forcebridge_catalog::{Field, FieldType, Object};
use serde_json::{Map, Value};

use crate::policy::Policy;

/// What the record is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    Create,
    Update,
    /// An upsert by an external id: the record may be created or updated.
    Upsert,
}

/// Checks `values` for a write to `object`, and returns them under the fields' exact names.
/// `Id` is refused among the values of a create and skipped for the others (callers pass
/// it apart). Picklists take only their values when restricted, and for the fields named in
/// `strict` (a shortcut's own rule, such as an opportunity's stage) even when not.
pub(crate) fn check_record(
    policy: &Policy,
    object: &Object,
    values: &Map<String, Value>,
    mode: Mode,
    strict: &[&str],
) -> (Map<String, Value>, Vec<String>) {
    let mut out = Map::new();
    let mut problems = Vec::new();
    for (name, value) in values {
        if name.eq_ignore_ascii_case("Id") && mode != Mode::Create {
            continue;
        }
        let Some(field) = object.field(name) else {
            problems.push(unknown_field(object, name));
            continue;
        };
        if !policy.field_allowed(&object.name, &field.name) {
            problems.push(format!(
                "field {}.{} is not allowed by this server's policy",
                object.name, field.name
            ));
            continue;
        }
        let settable = match mode {
            Mode::Create => field.createable,
            Mode::Update => field.updateable,
            Mode::Upsert => field.createable || field.updateable,
        };
        if !settable {
            let what = match mode {
                Mode::Create => "set on create",
                Mode::Update | Mode::Upsert => "changed",
            };
            problems.push(format!(
                "field {}.{} cannot be {what}{}: leave it out",
                object.name,
                field.name,
                if field.calculated || field.formula.is_some() {
                    " (it is calculated)"
                } else {
                    ""
                }
            ));
            continue;
        }
        if let Some(problem) =
            check_value(object, field, value, strict.contains(&field.name.as_str()))
        {
            problems.push(problem);
            continue;
        }
        out.insert(field.name.clone(), value.clone());
    }
    if mode == Mode::Create {
        for field in &object.fields {
            if field.required_on_create && !out.contains_key(&field.name) {
                problems.push(format!(
                    "missing required field {}.{} ({})",
                    object.name,
                    field.name,
                    field.type_summary()
                ));
            }
        }
    }
    (out, problems)
}

fn unknown_field(object: &Object, name: &str) -> String {
    let lower = name.to_ascii_lowercase();
    let mut close: Vec<&str> = object
        .fields
        .iter()
        .filter(|f| {
            let candidate = f.name.to_ascii_lowercase();
            candidate.contains(&lower) || (lower.contains(&candidate) && candidate.len() > 2)
        })
        .map(|f| f.name.as_str())
        .take(5)
        .collect();
    close.sort_unstable();
    if close.is_empty() {
        format!(
            "unknown field {name} on {}: call describe_object for its fields",
            object.name
        )
    } else {
        format!(
            "unknown field {name} on {} (did you mean {}?)",
            object.name,
            close.join(", ")
        )
    }
}

fn check_value(object: &Object, field: &Field, value: &Value, strict: bool) -> Option<String> {
    let name = format!("{}.{}", object.name, field.name);
    if value.is_null() {
        return (!field.nillable && field.field_type != FieldType::Boolean)
            .then(|| format!("field {name} cannot be empty"));
    }
    let kind_ok = match field.field_type {
        FieldType::Boolean => value.is_boolean(),
        FieldType::Int
        | FieldType::Long
        | FieldType::Double
        | FieldType::Currency
        | FieldType::Percent => {
            value.is_number()
                || value
                    .as_str()
                    .is_some_and(|s| s.trim().parse::<f64>().is_ok())
        }
        FieldType::Date => value.as_str().is_some_and(is_date),
        FieldType::Address | FieldType::Location => false,
        _ => value.is_string() || value.is_number() || value.is_boolean(),
    };
    if !kind_ok {
        let expected = match field.field_type {
            FieldType::Boolean => "true or false".to_string(),
            FieldType::Date => "a date as YYYY-MM-DD".to_string(),
            FieldType::Address | FieldType::Location => {
                "its component fields instead (e.g. BillingCity)".to_string()
            }
            _ => format!("a {} value", field.type_summary()),
        };
        return Some(format!("field {name} expects {expected}, not {value}"));
    }
    if let (Some(picklist), Some(text)) = (&field.picklist, value.as_str())
        && (picklist.restricted || strict)
    {
        let allowed: Vec<&str> = picklist
            .values
            .iter()
            .filter(|v| v.active)
            .map(|v| v.value.as_str())
            .collect();
        let given: Vec<&str> = if field.field_type == FieldType::Multipicklist {
            text.split(';').map(str::trim).collect()
        } else {
            vec![text]
        };
        if let Some(bad) = given.iter().find(|g| !allowed.contains(g)) {
            return Some(format!(
                "{bad:?} is not a value of {name}; use one of: {}",
                allowed.join(", ")
            ));
        }
    }
    if let Some(text) = value.as_str()
        && field.length > 0
        && matches!(
            field.field_type,
            FieldType::String
                | FieldType::Textarea
                | FieldType::Email
                | FieldType::Phone
                | FieldType::Url
        )
        && text.chars().count() > field.length as usize
    {
        return Some(format!(
            "field {name} takes at most {} characters, this value has {}",
            field.length,
            text.chars().count()
        ));
    }
    None
}

fn is_date(text: &str) -> bool {
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").is_ok()
}

/// The problems as one message for the model.
pub(crate) fn problems_message(what: &str, problems: &[String]) -> String {
    let mut message = format!(
        "{what} was not sent: {} problem{} to fix first",
        problems.len(),
        if problems.len() == 1 { "" } else { "s" }
    );
    for p in problems.iter().take(20) {
        message.push_str("\n- ");
        message.push_str(p);
    }
    if problems.len() > 20 {
        message.push_str(&format!("\n- and {} more", problems.len() - 20));
    }
    message
}
