//! Writes as Salesforce validates them: create, update, upsert, delete, undelete, hard delete.
//!
//! Input values come as JSON (REST, composite, collections) or as CSV text (Bulk); both are
//! coerced to typed [`Value`]s by the field's describe type, with Salesforce's error codes and
//! messages (`REQUIRED_FIELD_MISSING`, `STRING_TOO_LONG`, `INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST`,
//! `INVALID_CROSS_REFERENCE_KEY`, `DUPLICATE_VALUE`, `FIELD_CUSTOM_VALIDATION_EXCEPTION`,
//! `DUPLICATES_DETECTED` from duplicate rules, ...).
//! Then the fields a real org derives are filled in (IsClosed and IsWon from an opportunity's
//! stage, case numbers, line-item totals rolled up to the opportunity).
//!
//! Everything happens inside a store transaction; a failing record changes nothing.

use forcebridge_wire::JsonObject;
use serde_json::Value as Json;

use crate::api_error::DmlError;
use crate::ids::RecordId;
use crate::schema::{DefaultValue, FieldDef, FieldType, ObjectDef, ObjectIdx, Schema, Storage};
use crate::store::{StoreError, Txn, id_of};
use crate::value::{self, Value};

/// One input value: JSON from REST, or CSV text from Bulk (where `#N/A` means null and an empty
/// cell means "leave as is").
#[derive(Debug, Clone, Copy)]
pub(crate) enum Input<'a> {
    Json(&'a Json),
    Csv(&'a str),
}

/// Whether a write creates or updates (some rules differ).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Create,
    Update,
}

/// A record's values by field index, as given by the caller (before defaults and derivations).
type Changes = Vec<(usize, Value)>;

/// Resolves `name` to an object, or `INVALID_TYPE`.
pub(crate) fn object<'s>(
    schema: &'s Schema,
    name: &str,
) -> Result<(ObjectIdx, &'s ObjectDef), DmlError> {
    schema.find(name).ok_or_else(|| {
        DmlError::new(
            "INVALID_TYPE",
            format!("sObject type '{name}' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names."),
        )
    })
}

/// Creates a record from a JSON body.
pub(crate) fn create(
    txn: &mut Txn<'_>,
    object: ObjectIdx,
    body: &JsonObject,
) -> Result<RecordId, DmlError> {
    supports(txn, object, Mode::Create)?;
    let changes = json_changes(txn, object, body, Mode::Create)?;
    insert(txn, object, changes)
}

/// Creates a record from CSV cells (`(column header, cell)` pairs).
pub(crate) fn create_csv(
    txn: &mut Txn<'_>,
    object: ObjectIdx,
    cells: &[(&str, &str)],
) -> Result<RecordId, DmlError> {
    supports(txn, object, Mode::Create)?;
    let changes = csv_changes(txn, object, cells, Mode::Create)?;
    insert(txn, object, changes)
}

/// Updates a record from a JSON body. `Id`/`id` and `attributes` members are ignored.
pub(crate) fn update(
    txn: &mut Txn<'_>,
    object: ObjectIdx,
    id: RecordId,
    body: &JsonObject,
) -> Result<(), DmlError> {
    supports(txn, object, Mode::Update)?;
    let slot = existing_slot(txn, object, id)?;
    let changes = json_changes(txn, object, body, Mode::Update)?;
    apply_update(txn, object, slot, changes)
}

/// Updates a record from CSV cells (the `Id` column names the record).
pub(crate) fn update_csv(
    txn: &mut Txn<'_>,
    object: ObjectIdx,
    id: RecordId,
    cells: &[(&str, &str)],
) -> Result<(), DmlError> {
    supports(txn, object, Mode::Update)?;
    let slot = existing_slot(txn, object, id)?;
    let changes = csv_changes(txn, object, cells, Mode::Update)?;
    apply_update(txn, object, slot, changes)
}

/// The outcome of finding records by an external id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Match {
    None,
    One(RecordId),
    Many(Vec<RecordId>),
}

/// Finds live records whose `field` equals `value` (for upserts and GET by external id).
pub(crate) fn find_by_external_id(
    txn_data: &crate::store::OrgData,
    schema: &Schema,
    object: ObjectIdx,
    field: &str,
    value: &str,
) -> Result<Match, DmlError> {
    let def = schema.object(object);
    let (_, f) = def
        .field(field)
        .ok_or_else(|| unknown_external_id_field(field))?;
    if f.name.eq_ignore_ascii_case("Id") {
        // An id names one record: text that is no id is refused, and an id that matches no
        // live record of the object is not found, so an upsert by `Id` never creates a record
        // for an id it was given (Salesforce's exact answer there is UNVERIFIED).
        let id = RecordId::read(value).map_err(|_| {
            DmlError::new(
                "MALFORMED_ID",
                format!("{} ID: id value of incorrect type: {value}", def.label),
            )
            .on("Id")
        })?;
        return match id.and_then(|id| txn_data.find(schema, id)) {
            Some((o, slot, row)) if o == object && !is_deleted(def, row) => {
                Ok(Match::One(id_of(def, slot)))
            }
            _ => Err(not_found()),
        };
    }
    if !(f.external_id || f.id_lookup) {
        return Err(unknown_external_id_field(field));
    }
    let column = f.column().ok_or_else(|| unknown_external_id_field(field))?;
    let key = coerce(f, Input::Csv(value), &mut |_| None).map_err(|_| {
        DmlError::new(
            "INVALID_FIELD",
            format!("Invalid value for external ID field {}: {value}", f.name),
        )
    })?;
    let table = txn_data.table(object);
    if table.is_indexed(column) {
        return Ok(match table.find_unique(column, &key) {
            Some(slot) if table.get(slot).is_some_and(|r| !is_deleted(def, r)) => {
                Match::One(id_of(def, slot))
            }
            _ => Match::None,
        });
    }
    let matches: Vec<RecordId> = table
        .rows()
        .filter(|(_, row)| {
            !is_deleted(def, row) && row[column].compare(&key) == Some(std::cmp::Ordering::Equal)
        })
        .map(|(slot, _)| id_of(def, slot))
        .collect();
    Ok(match matches.len() {
        0 => Match::None,
        1 => Match::One(matches[0]),
        _ => Match::Many(matches),
    })
}

fn unknown_external_id_field(field: &str) -> DmlError {
    DmlError::new(
        "NOT_FOUND",
        format!("Provided external ID field does not exist or is not accessible: {field}"),
    )
}

/// Upserts by external id: updates the one record whose `field` is `value`, or creates one.
/// Returns the id and whether it was created; two or more matches are `Match::Many`.
pub(crate) fn upsert(
    txn: &mut Txn<'_>,
    object: ObjectIdx,
    field: &str,
    value: &str,
    body: &JsonObject,
) -> Result<Result<(RecordId, bool), Vec<RecordId>>, DmlError> {
    match find_by_external_id(txn.data(), txn.schema(), object, field, value)? {
        Match::Many(ids) => Ok(Err(ids)),
        Match::One(id) => {
            update(txn, object, id, body)?;
            Ok(Ok((id, false)))
        }
        Match::None => {
            let mut body = body.clone();
            let def = txn.schema().object(object);
            if let Some((_, f)) = def.field(field)
                && !f.name.eq_ignore_ascii_case("Id")
            {
                body.insert(f.name.clone(), Json::String(value.to_string()));
            }
            let id = create(txn, object, &body)?;
            Ok(Ok((id, true)))
        }
    }
}

/// Moves a record (and its cascade-delete children) to the recycle bin.
pub(crate) fn delete(txn: &mut Txn<'_>, id: RecordId) -> Result<(), DmlError> {
    let (object, slot) = find_live(txn, id)?;
    let def = txn.schema().object(object);
    if !(def.flags.createable || def.flags.updateable || def.flags.deletable) {
        return Err(not_supported(def, "delete"));
    }
    if !def.flags.deletable {
        return Err(DmlError::new(
            "INSUFFICIENT_ACCESS_OR_READONLY",
            "insufficient access rights on object id",
        ));
    }
    let hard_deletes = def.flags.hard_deletes;
    if txn.row_is_locked() {
        return Err(unable_to_lock(id));
    }
    if hard_deletes {
        return txn.erase_unlogged(object, slot).map_err(store_error);
    }
    cascade(txn, object, slot, &mut |txn, o, s| txn.soft_delete(o, s))?;
    txn.soft_delete(object, slot).map_err(store_error)
}

/// Erases a record (and its cascade-delete children) for good.
pub(crate) fn hard_delete(txn: &mut Txn<'_>, id: RecordId) -> Result<(), DmlError> {
    let (object, slot) = match find_live(txn, id) {
        Ok(found) => found,
        // Records already in the recycle bin can be hard-deleted too.
        Err(_) => find_any(txn, id)?,
    };
    if txn.row_is_locked() {
        return Err(unable_to_lock(id));
    }
    cascade(txn, object, slot, &mut |txn, o, s| txn.erase(o, s))?;
    txn.erase(object, slot).map_err(store_error)
}

/// Erases a record that is in the recycle bin (SOAP `emptyRecycleBin`).
pub(crate) fn empty_recycle_bin(txn: &mut Txn<'_>, id: RecordId) -> Result<(), DmlError> {
    let (object, slot) = find_any(txn, id)?;
    let def = txn.schema().object(object);
    let row = txn
        .data()
        .table(object)
        .get(slot)
        .cloned()
        .ok_or_else(not_found)?;
    if !is_deleted(def, &row) {
        return Err(DmlError::new(
            "INVALID_ID_FIELD",
            "The record is not in the recycle bin",
        ));
    }
    txn.erase(object, slot).map_err(store_error)
}

/// Restores a record from the recycle bin.
pub(crate) fn undelete(txn: &mut Txn<'_>, id: RecordId) -> Result<(), DmlError> {
    let (object, slot) = find_any(txn, id)?;
    let def = txn.schema().object(object);
    if !def.flags.undeletable {
        return Err(DmlError::new(
            "INVALID_TYPE",
            format!("{} records cannot be undeleted", def.name),
        ));
    }
    let row = txn
        .data()
        .table(object)
        .get(slot)
        .cloned()
        .ok_or_else(not_found)?;
    if !is_deleted(def, &row) {
        return Err(DmlError::new(
            "UNDELETE_FAILED",
            "Entity is not in the recycle bin",
        ));
    }
    if txn.row_is_locked() {
        return Err(unable_to_lock(id));
    }
    txn.undelete(object, slot).map_err(store_error)
}

/// Applies `action` to every live child whose reference to (object, slot) cascades deletes.
fn cascade(
    txn: &mut Txn<'_>,
    object: ObjectIdx,
    slot: u32,
    action: &mut dyn FnMut(&mut Txn<'_>, ObjectIdx, u32) -> Result<(), StoreError>,
) -> Result<(), DmlError> {
    let schema = txn.schema();
    let parent_id = id_of(schema.object(object), slot);
    let mut doomed = Vec::new();
    for rel in &schema.object(object).child_relationships {
        if !rel.cascade_delete {
            continue;
        }
        let child = schema.object(rel.child);
        let Some(column) = child.fields[rel.field].column() else {
            continue;
        };
        for (child_slot, row) in txn.data().table(rel.child).rows() {
            if row[column] == Value::Ref(parent_id) && !is_deleted(child, row) {
                doomed.push((rel.child, child_slot));
            }
        }
    }
    for (child, child_slot) in doomed {
        action(txn, child, child_slot).map_err(store_error)?;
    }
    Ok(())
}

pub(crate) fn is_deleted(def: &ObjectDef, row: &[Value]) -> bool {
    row[def.system.is_deleted] == Value::Bool(true)
}

fn not_found() -> DmlError {
    DmlError::new("NOT_FOUND", "The requested resource does not exist")
}

fn entity_is_deleted() -> DmlError {
    DmlError::new("ENTITY_IS_DELETED", "entity is deleted")
}

/// A record of any object, live or in the recycle bin.
fn find_any(txn: &Txn<'_>, id: RecordId) -> Result<(ObjectIdx, u32), DmlError> {
    let (object, slot, _) = txn.data().find(txn.schema(), id).ok_or_else(not_found)?;
    Ok((object, slot))
}

/// A live record of any object.
fn find_live(txn: &Txn<'_>, id: RecordId) -> Result<(ObjectIdx, u32), DmlError> {
    let (object, slot, row) = txn.data().find(txn.schema(), id).ok_or_else(not_found)?;
    if is_deleted(txn.schema().object(object), row) {
        return Err(entity_is_deleted());
    }
    Ok((object, slot))
}

/// The slot of a live record of `object`.
fn existing_slot(txn: &Txn<'_>, object: ObjectIdx, id: RecordId) -> Result<u32, DmlError> {
    let (found, slot) = find_live(txn, id)?;
    if found != object {
        let def = txn.schema().object(object);
        return Err(DmlError::new(
            "MALFORMED_ID",
            format!("{} ID: id value of incorrect type: {id}", def.label),
        )
        .on("Id"));
    }
    Ok(slot)
}

fn store_error(e: StoreError) -> DmlError {
    match e {
        StoreError::Missing => not_found(),
        StoreError::Duplicate { existing, .. } => DmlError::new(
            "DUPLICATE_VALUE",
            format!("duplicate value found on record with id: {existing}"),
        ),
    }
}

/// Reads a JSON body into field changes, checking names, access and types.
fn json_changes(
    txn: &Txn<'_>,
    object: ObjectIdx,
    body: &JsonObject,
    mode: Mode,
) -> Result<Changes, DmlError> {
    let schema = txn.schema();
    let def = schema.object(object);
    let mut changes = Vec::with_capacity(body.len());
    let mut not_writable = Vec::new();
    for (name, json) in body {
        if name == "attributes" {
            continue;
        }
        let Some((index, field)) = def.field(name) else {
            // `"Account": {"Ext__c": "X1"}` sets AccountId by the parent's external id.
            if let (Some((index, field)), Json::Object(reference)) = (def.relationship(name), json)
            {
                let id = resolve_foreign_key(txn, field, reference)?;
                check_writable(field, mode, &mut not_writable);
                changes.push((index, Value::Ref(id)));
                continue;
            }
            return Err(no_such_column(name, def));
        };
        if field.storage == Storage::Id {
            if mode == Mode::Update || json.is_null() {
                continue;
            }
            not_writable.push(field.name.clone());
            continue;
        }
        check_writable(field, mode, &mut not_writable);
        let value = coerce(field, Input::Json(json), &mut |id| lookup_object(txn, id))?;
        changes.push((index, value));
    }
    if !not_writable.is_empty() {
        return Err(unable_to_write(not_writable));
    }
    Ok(changes)
}

/// Reads CSV cells into field changes. Empty cells are skipped ("leave as is"), `#N/A` is null,
/// and `Relationship.ExternalField` headers resolve parents by external id.
fn csv_changes(
    txn: &Txn<'_>,
    object: ObjectIdx,
    cells: &[(&str, &str)],
    mode: Mode,
) -> Result<Changes, DmlError> {
    let def = txn.schema().object(object);
    let mut changes = Vec::with_capacity(cells.len());
    let mut not_writable = Vec::new();
    for &(header, cell) in cells {
        if cell.is_empty() {
            continue;
        }
        if let Some((relationship, ext_field)) = header.split_once('.') {
            let Some((index, field)) = def.relationship(relationship) else {
                return Err(no_such_column(header, def));
            };
            if cell == "#N/A" {
                changes.push((index, Value::Null));
                continue;
            }
            let mut reference = JsonObject::new();
            reference.insert(ext_field.to_string(), Json::String(cell.to_string()));
            let id = resolve_foreign_key(txn, field, &reference)?;
            check_writable(field, mode, &mut not_writable);
            changes.push((index, Value::Ref(id)));
            continue;
        }
        let Some((index, field)) = def.field(header) else {
            return Err(no_such_column(header, def));
        };
        if field.storage == Storage::Id {
            continue;
        }
        check_writable(field, mode, &mut not_writable);
        let value = coerce(field, Input::Csv(cell), &mut |id| lookup_object(txn, id))?;
        changes.push((index, value));
    }
    if !not_writable.is_empty() {
        return Err(unable_to_write(not_writable));
    }
    Ok(changes)
}

fn check_writable(field: &FieldDef, mode: Mode, not_writable: &mut Vec<String>) {
    let ok = match mode {
        Mode::Create => field.createable,
        Mode::Update => field.updateable,
    };
    if !ok || field.field_type.is_compound() {
        not_writable.push(field.name.clone());
    }
}

fn no_such_column(name: &str, def: &ObjectDef) -> DmlError {
    DmlError::new(
        "INVALID_FIELD",
        format!("No such column '{name}' on sobject of type {}", def.name),
    )
    .on(name)
}

fn unable_to_write(fields: Vec<String>) -> DmlError {
    DmlError {
        code: "INVALID_FIELD_FOR_INSERT_UPDATE",
        message: format!(
            "Unable to create/update fields: {}. Please check the security settings of this field and verify that it is read/write for your profile or permission set.",
            fields.join(", ")
        ),
        fields,
        duplicate_result: None,
    }
}

/// The object of an existing live record, for checking references.
fn lookup_object(txn: &Txn<'_>, id: RecordId) -> Option<String> {
    let (object, _, row) = txn.data().find(txn.schema(), id)?;
    let def = txn.schema().object(object);
    (!is_deleted(def, row)).then(|| def.name.clone())
}

/// Finds the parent named by `{"ExtField": "value"}` for a reference field.
fn resolve_foreign_key(
    txn: &Txn<'_>,
    field: &FieldDef,
    reference: &JsonObject,
) -> Result<RecordId, DmlError> {
    let mut members = reference.iter().filter(|(k, _)| k.as_str() != "attributes");
    let (Some((ext_field, value)), None) = (members.next(), members.next()) else {
        return Err(DmlError::new(
            "INVALID_FIELD",
            format!(
                "A foreign key reference for {} must name exactly one external ID field",
                field.name
            ),
        ));
    };
    let value_text = match value {
        Json::String(s) => s.clone(),
        other => other.to_string(),
    };
    for target in &field.reference_to {
        let Some((target_idx, _)) = txn.schema().find(target) else {
            continue;
        };
        match find_by_external_id(txn.data(), txn.schema(), target_idx, ext_field, &value_text) {
            Ok(Match::One(id)) => return Ok(id),
            Ok(Match::Many(_)) => {
                return Err(DmlError::new(
                    "DUPLICATE_EXTERNAL_ID",
                    format!(
                        "Foreign key external ID: {value_text} matched more than one record for field {ext_field} in entity {target}"
                    ),
                ));
            }
            Ok(Match::None) | Err(_) => {}
        }
    }
    Err(DmlError::new(
        "INVALID_FIELD",
        format!(
            "Foreign key external ID: {value_text} not found for field {ext_field} in entity {}",
            field.reference_to.join(", ")
        ),
    ))
}

/// Turns one input value into a stored value of `field`'s type, or the error Salesforce gives.
/// `object_of` tells which object a referenced id belongs to (None: no such live record).
pub(crate) fn coerce(
    field: &FieldDef,
    input: Input<'_>,
    object_of: &mut dyn FnMut(RecordId) -> Option<String>,
) -> Result<Value, DmlError> {
    let label = &field.label;
    let text: std::borrow::Cow<'_, str> = match input {
        // Null: JSON null, or `#N/A` in CSV.
        Input::Json(Json::Null) | Input::Csv("#N/A") => return Ok(Value::Null),
        Input::Json(Json::String(s)) => s.as_str().into(),
        Input::Json(Json::Number(n)) => n.to_string().into(),
        Input::Json(Json::Bool(b)) => b.to_string().into(),
        Input::Json(other @ (Json::Array(_) | Json::Object(_))) => {
            let kind = if other.is_array() {
                "START_ARRAY"
            } else {
                "START_OBJECT"
            };
            return Err(DmlError::new(
                "JSON_PARSER_ERROR",
                format!("Cannot deserialize instance of {} from {kind} value {other} or request may be missing a required field", field.field_type.describe_name()),
            )
            .on(&field.name));
        }
        Input::Csv(s) => s.into(),
    };
    let bad_value = |what: &str| {
        DmlError::new(
            "JSON_PARSER_ERROR",
            format!("Cannot deserialize instance of {what} from VALUE_STRING value {text} or request may be missing a required field"),
        )
        .on(&field.name)
    };
    match field.field_type {
        FieldType::Boolean => match (input, text.as_ref()) {
            (Input::Json(Json::Bool(b)), _) => Ok(Value::Bool(*b)),
            (_, t) if t.eq_ignore_ascii_case("true") || t == "1" => Ok(Value::Bool(true)),
            (_, t) if t.eq_ignore_ascii_case("false") || t == "0" => Ok(Value::Bool(false)),
            _ => Err(bad_value("boolean")),
        },
        FieldType::Int => {
            let n: f64 = text.trim().parse().map_err(|_| bad_value("int"))?;
            if n.fract() != 0.0 || n.abs() >= 10f64.powi(field.digits.max(1) as i32) {
                return Err(out_of_range(field, &text));
            }
            Ok(Value::Int(n as i64))
        }
        FieldType::Double | FieldType::Currency | FieldType::Percent => {
            let n: f64 = text.trim().parse().map_err(|_| bad_value("double"))?;
            if !n.is_finite() {
                return Err(bad_value("double"));
            }
            let integer_digits = field.precision.saturating_sub(field.scale).max(1);
            if n.abs() >= 10f64.powi(integer_digits as i32) {
                return Err(out_of_range(field, &text));
            }
            let factor = 10f64.powi(field.scale as i32);
            Ok(Value::Double((n * factor).round() / factor))
        }
        FieldType::Date => {
            let days = value::parse_date(text.trim())
                .or_else(|| value::parse_datetime(&text).map(value::date_of_millis))
                .ok_or_else(|| bad_value("Date"))?;
            Ok(Value::Date(days))
        }
        FieldType::DateTime => value::parse_datetime(&text)
            .map(Value::DateTime)
            .ok_or_else(|| bad_value("DateTime")),
        FieldType::Time => value::parse_time(&text)
            .map(Value::Time)
            .ok_or_else(|| bad_value("Time")),
        FieldType::Reference | FieldType::Id => {
            let id = RecordId::parse(text.trim()).ok_or_else(|| {
                DmlError::new(
                    "MALFORMED_ID",
                    format!("{label}: id value of incorrect type: {text}"),
                )
                .on(&field.name)
            })?;
            match object_of(id) {
                Some(target)
                    if field
                        .reference_to
                        .iter()
                        .any(|t| t.eq_ignore_ascii_case(&target)) =>
                {
                    Ok(Value::Ref(id))
                }
                Some(_) => Err(DmlError::new(
                    "FIELD_INTEGRITY_EXCEPTION",
                    format!("{label}: id value of incorrect type: {id}"),
                )
                .on(&field.name)),
                None => Err(DmlError::new(
                    "INVALID_CROSS_REFERENCE_KEY",
                    "invalid cross reference id",
                )
                .on(&field.name)),
            }
        }
        FieldType::Address | FieldType::Location => Err(unable_to_write(vec![field.name.clone()])),
        FieldType::Email => {
            let trimmed = text.trim();
            if !valid_email(trimmed) {
                return Err(DmlError::new(
                    "INVALID_EMAIL_ADDRESS",
                    format!("{label}: invalid email address: {trimmed}"),
                )
                .on(&field.name));
            }
            check_length(field, trimmed)?;
            Ok(Value::text(trimmed))
        }
        FieldType::Picklist => {
            if let Some(entry) = field.picklist_entry(&text) {
                return Ok(Value::text(entry.value.as_str()));
            }
            if field.restricted_picklist {
                return Err(DmlError::new(
                    "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                    format!("{label}: bad value for restricted picklist field: {text}"),
                )
                .on(&field.name));
            }
            check_length(field, &text)?;
            Ok(Value::text(text.as_ref()))
        }
        FieldType::Multipicklist => {
            let mut values = Vec::new();
            for part in text.split(';').map(str::trim).filter(|p| !p.is_empty()) {
                match field.picklist_entry(part) {
                    Some(entry) => values.push(entry.value.clone()),
                    None if field.restricted_picklist => {
                        return Err(DmlError::new(
                            "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                            format!("{label}: bad value for restricted picklist field: {part}"),
                        )
                        .on(&field.name));
                    }
                    None => values.push(part.to_string()),
                }
            }
            values.dedup();
            Ok(if values.is_empty() {
                Value::Null
            } else {
                Value::text(values.join(";"))
            })
        }
        FieldType::Base64 => {
            use base64::Engine;
            base64::engine::general_purpose::STANDARD
                .decode(text.trim())
                .map_err(|_| {
                    DmlError::new(
                        "JSON_PARSER_ERROR",
                        format!("{label}: the value is not valid base64"),
                    )
                    .on(&field.name)
                })?;
            Ok(Value::text(text.trim()))
        }
        _ => {
            check_length(field, &text)?;
            Ok(Value::text(text.as_ref()))
        }
    }
}

fn out_of_range(field: &FieldDef, text: &str) -> DmlError {
    DmlError::new(
        "NUMBER_OUTSIDE_VALID_RANGE",
        format!(
            "{}: value outside of valid range on numeric field: {text}",
            field.label
        ),
    )
    .on(&field.name)
}

fn check_length(field: &FieldDef, text: &str) -> Result<(), DmlError> {
    if field.length > 0 && text.chars().count() > field.length as usize {
        let shown: String = text.chars().take(40).collect();
        return Err(DmlError::new(
            "STRING_TOO_LONG",
            format!(
                "{}: data value too large: {shown}{} (max length={})",
                field.label,
                if text.chars().count() > 40 { "..." } else { "" },
                field.length
            ),
        )
        .on(&field.name));
    }
    Ok(())
}

/// A plausible email address: one `@`, something before it, a dot in the domain, no spaces.
fn valid_email(text: &str) -> bool {
    let Some((local, domain)) = text.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !text.chars().any(char::is_whitespace)
}

/// Inserts a new record: defaults, required fields, derived fields, validation rules.
fn insert(txn: &mut Txn<'_>, object: ObjectIdx, changes: Changes) -> Result<RecordId, DmlError> {
    let schema = txn.schema();
    let def = schema.object(object);
    let mut values = vec![Value::Null; def.columns];
    let mut given = vec![false; def.fields.len()];
    for (index, value) in changes {
        if let Some(column) = def.fields[index].column() {
            values[column] = value;
            given[index] = true;
        }
    }
    for (index, field) in def.fields.iter().enumerate() {
        let Some(column) = field.column() else {
            continue;
        };
        if given[index] {
            continue;
        }
        if let Some(default) = &field.default_value {
            values[column] = match default {
                DefaultValue::Bool(b) => Value::Bool(*b),
                DefaultValue::Text(t) => Value::text(t.as_str()),
                // An `int` field stores integers; its default is kept as a number in describe.
                DefaultValue::Number(n) if field.field_type == FieldType::Int => {
                    Value::Int(*n as i64)
                }
                DefaultValue::Number(n) => Value::Double(*n),
            };
        }
    }
    if let Some(owner) = def.system.owner
        && values[owner].is_null()
    {
        values[owner] = Value::Ref(txn.user);
    }
    // A new record locks its parent (the first lookup it sets, its owner aside); one without a
    // parent locks nothing another transaction could hold.
    if let Some(parent) = parent_of(def, &values)
        && txn.row_is_locked()
    {
        return Err(unable_to_lock(parent));
    }
    let slot = txn.data().table(object).slot_count();
    derive(txn, object, slot, &mut values);
    check_required(def, &values)?;
    check_rules(txn, object, slot, &values)?;
    crate::duplicates::check(txn, object, slot, &values, crate::duplicates::Save::Create)?;
    let id = txn
        .insert(object, values)
        .map_err(|e| duplicate(txn.schema().object(object), e))?;
    after_write(txn, object, id)?;
    Ok(id)
}

fn apply_update(
    txn: &mut Txn<'_>,
    object: ObjectIdx,
    slot: u32,
    changes: Changes,
) -> Result<(), DmlError> {
    let def = txn.schema().object(object);
    if txn.row_is_locked() {
        return Err(unable_to_lock(id_of(def, slot)));
    }
    let mut values = txn
        .data()
        .table(object)
        .get(slot)
        .ok_or_else(not_found)?
        .to_vec();
    for (index, value) in changes {
        if let Some(column) = def.fields[index].column() {
            values[column] = value;
        }
    }
    derive(txn, object, slot, &mut values);
    check_required(def, &values)?;
    check_rules(txn, object, slot, &values)?;
    crate::duplicates::check(txn, object, slot, &values, crate::duplicates::Save::Edit)?;
    txn.update(object, slot, values)
        .map_err(|e| duplicate(txn.schema().object(object), e))?;
    after_write(txn, object, id_of(txn.schema().object(object), slot))
}

/// The parent a new record locks: the record its first lookup points to, leaving out the owner
/// and the audit lookups (users are not locked by records they own).
fn parent_of(def: &ObjectDef, values: &[Value]) -> Option<RecordId> {
    def.fields
        .iter()
        .filter(|f| {
            f.is_reference()
                && !matches!(
                    f.name.as_str(),
                    "OwnerId" | "CreatedById" | "LastModifiedById"
                )
        })
        .filter_map(|f| match f.column().map(|c| &values[c]) {
            Some(Value::Ref(id)) => Some(*id),
            _ => None,
        })
        .next()
}

/// `INVALID_TYPE_FOR_OPERATION` for a create or update of an object that does not take one,
/// before any field is looked at.
fn supports(txn: &Txn<'_>, object: ObjectIdx, mode: Mode) -> Result<(), DmlError> {
    let def = txn.schema().object(object);
    match mode {
        Mode::Create if !def.flags.createable => Err(not_supported(def, "insert")),
        Mode::Update if !def.flags.updateable => Err(not_supported(def, "update")),
        _ => Ok(()),
    }
}

/// A write to an object the API only reads (Organization). Salesforce answers such calls with
/// `INVALID_TYPE_FOR_OPERATION`; the exact message is UNVERIFIED.
fn not_supported(def: &ObjectDef, operation: &str) -> DmlError {
    DmlError::new(
        "INVALID_TYPE_FOR_OPERATION",
        format!("entity type {} does not support {operation}", def.name),
    )
}

/// `UNABLE_TO_LOCK_ROW`, as Salesforce words it when another transaction holds `id`.
fn unable_to_lock(id: RecordId) -> DmlError {
    DmlError::new(
        "UNABLE_TO_LOCK_ROW",
        format!("unable to obtain exclusive access to this record or 1 records: {id}"),
    )
}

fn duplicate(def: &ObjectDef, error: StoreError) -> DmlError {
    match error {
        StoreError::Duplicate { column, existing } => {
            let field = def
                .fields
                .iter()
                .find(|f| f.column() == Some(column))
                .map_or("", |f| f.name.as_str());
            DmlError::new(
                "DUPLICATE_VALUE",
                format!(
                    "duplicate value found: {field} duplicates value on record with id: {}",
                    id_of(def, existing)
                ),
            )
            .on(field)
        }
        StoreError::Missing => not_found(),
    }
}

fn check_required(def: &ObjectDef, values: &[Value]) -> Result<(), DmlError> {
    let missing: Vec<String> = def
        .fields
        .iter()
        .filter(|f| !f.nillable && f.createable && !f.defaulted_on_create)
        .filter(|f| f.column().is_some_and(|c| values[c].is_null()))
        .map(|f| f.name.clone())
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(DmlError {
        code: "REQUIRED_FIELD_MISSING",
        message: format!("Required fields are missing: [{}]", missing.join(", ")),
        fields: missing,
        duplicate_result: None,
    })
}

fn check_rules(
    txn: &Txn<'_>,
    object: ObjectIdx,
    slot: u32,
    values: &[Value],
) -> Result<(), DmlError> {
    let def = txn.schema().object(object);
    for rule in &def.validation_rules {
        if crate::soql::condition_holds(
            txn.schema(),
            txn.data(),
            object,
            slot,
            values,
            &rule.condition,
        ) {
            let mut error =
                DmlError::new("FIELD_CUSTOM_VALIDATION_EXCEPTION", rule.message.clone());
            if let Some(field) = &rule.field {
                error = error.on(field.clone());
            }
            return Err(error);
        }
    }
    Ok(())
}

/// Fields a real org computes on save. The seeder calls it too, so generated records carry
/// exactly what a save would have derived.
pub(crate) fn derive(txn: &Txn<'_>, object: ObjectIdx, slot: u32, values: &mut [Value]) {
    let schema = txn.schema();
    let def = schema.object(object);
    let col = |name: &str| def.field(name).and_then(|(_, f)| f.column());
    let text_of = |values: &[Value], name: &str| {
        col(name).and_then(|c| values[c].as_text().map(str::to_string))
    };
    let set = |values: &mut [Value], name: &str, value: Value| {
        if let Some(c) = col(name) {
            values[c] = value;
        }
    };
    // Auto-number name fields: stable, from the slot.
    for field in &def.fields {
        if field.auto_number
            && let Some(c) = field.column()
            && values[c].is_null()
        {
            let number = if def.custom {
                format!("A-{:06}", slot + 1)
            } else {
                format!("{:08}", 1000 + slot + 1)
            };
            values[c] = Value::text(number);
        }
    }
    match def.name.as_str() {
        "Opportunity" => {
            let stage = text_of(values, "StageName").unwrap_or_default();
            let closed = stage == "Closed Won" || stage == "Closed Lost";
            set(values, "IsClosed", Value::Bool(closed));
            set(values, "IsWon", Value::Bool(stage == "Closed Won"));
            let probability = match stage.as_str() {
                "Prospecting" => 10.0,
                "Qualification" => 10.0,
                "Needs Analysis" => 20.0,
                "Value Proposition" => 50.0,
                "Id. Decision Makers" => 60.0,
                "Perception Analysis" => 70.0,
                "Proposal/Price Quote" => 75.0,
                "Negotiation/Review" => 90.0,
                "Closed Won" => 100.0,
                _ => 0.0,
            };
            if col("Probability").is_some_and(|c| values[c].is_null()) {
                set(values, "Probability", Value::Double(probability));
            }
            let forecast = match stage.as_str() {
                "Closed Won" => "Closed",
                "Closed Lost" => "Omitted",
                "Negotiation/Review" | "Proposal/Price Quote" => "Commit",
                "Perception Analysis" | "Id. Decision Makers" => "Best Case",
                _ => "Pipeline",
            };
            if col("ForecastCategoryName").is_some_and(|c| values[c].is_null()) {
                set(values, "ForecastCategoryName", Value::text(forecast));
            }
            let amount = col("Amount").and_then(|c| values[c].as_f64());
            let probability = col("Probability").and_then(|c| values[c].as_f64());
            set(
                values,
                "ExpectedRevenue",
                match (amount, probability) {
                    (Some(a), Some(p)) => Value::Double((a * p / 100.0 * 100.0).round() / 100.0),
                    _ => Value::Null,
                },
            );
            if let Some(Value::Date(days)) = col("CloseDate").map(|c| values[c].clone())
                && let Some(date) = value::naive_date(days)
            {
                use chrono::Datelike;
                set(values, "FiscalYear", Value::Int(i64::from(date.year())));
                set(
                    values,
                    "FiscalQuarter",
                    Value::Int(i64::from((date.month() - 1) / 3 + 1)),
                );
            }
        }
        "Case" => {
            let closed = text_of(values, "Status").as_deref() == Some("Closed");
            set(values, "IsClosed", Value::Bool(closed));
            if let Some(c) = col("ClosedDate") {
                if closed && values[c].is_null() {
                    values[c] = Value::DateTime(txn.now);
                } else if !closed {
                    values[c] = Value::Null;
                }
            }
        }
        "Task" => {
            let closed = text_of(values, "Status").as_deref() == Some("Completed");
            set(values, "IsClosed", Value::Bool(closed));
            let high = text_of(values, "Priority").as_deref() == Some("High");
            set(values, "IsHighPriority", Value::Bool(high));
        }
        "CampaignMember" => {
            let responded = text_of(values, "Status").as_deref() == Some("Responded");
            set(values, "HasResponded", Value::Bool(responded));
        }
        "PricebookEntry" => {
            let product = col("Product2Id").and_then(|c| values[c].as_ref_id());
            if let Some((p_idx, _, row)) = product.and_then(|id| txn.data().find(schema, id)) {
                let p_def = schema.object(p_idx);
                let get = |name: &str| {
                    p_def
                        .field(name)
                        .and_then(|(_, f)| f.column())
                        .map(|c| row[c].clone())
                };
                set(values, "Name", get("Name").unwrap_or(Value::Null));
                set(
                    values,
                    "ProductCode",
                    get("ProductCode").unwrap_or(Value::Null),
                );
            }
        }
        "OpportunityLineItem" => derive_line_item(txn, def, values),
        _ => {}
    }
}

fn derive_line_item(txn: &Txn<'_>, def: &ObjectDef, values: &mut [Value]) {
    let schema = txn.schema();
    let col = |name: &str| def.field(name).and_then(|(_, f)| f.column());
    let (Some(qty_c), Some(unit_c), Some(total_c)) =
        (col("Quantity"), col("UnitPrice"), col("TotalPrice"))
    else {
        return;
    };
    let entry = col("PricebookEntryId").and_then(|c| values[c].as_ref_id());
    let mut product_name = None;
    if let Some((e_idx, _, entry_row)) = entry.and_then(|id| txn.data().find(schema, id)) {
        let e_def = schema.object(e_idx);
        let get = |name: &str| {
            e_def
                .field(name)
                .and_then(|(_, f)| f.column())
                .map(|c| entry_row[c].clone())
        };
        if let (Some(c), Some(price)) = (col("ListPrice"), get("UnitPrice")) {
            values[c] = price.clone();
            if values[unit_c].is_null() && values[total_c].is_null() {
                values[unit_c] = price;
            }
        }
        if let (Some(c), Some(product)) = (col("Product2Id"), get("Product2Id")) {
            values[c] = product;
        }
        product_name = get("Name").and_then(|v| v.as_text().map(str::to_string));
        if let (Some(c), Some(code)) = (col("ProductCode"), get("ProductCode")) {
            values[c] = code;
        }
    }
    let quantity = values[qty_c].as_f64();
    match (quantity, values[unit_c].as_f64(), values[total_c].as_f64()) {
        (Some(q), Some(unit), _) => {
            values[total_c] = Value::Double((q * unit * 100.0).round() / 100.0)
        }
        (Some(q), None, Some(total)) if q != 0.0 => {
            values[unit_c] = Value::Double((total / q * 100.0).round() / 100.0)
        }
        _ => {}
    }
    let opportunity_name = col("OpportunityId")
        .and_then(|c| values[c].as_ref_id())
        .and_then(|id| txn.data().find(schema, id))
        .and_then(|(o_idx, _, row)| {
            let o_def = schema.object(o_idx);
            o_def
                .field("Name")
                .and_then(|(_, f)| f.column())
                .and_then(|c| row[c].as_text().map(str::to_string))
        });
    if let Some(c) = col("Name") {
        let name = [opportunity_name, product_name]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
        values[c] = if name.is_empty() {
            Value::Null
        } else {
            Value::text(name)
        };
    }
}

/// Roll-ups after a write: an opportunity's Amount is the sum of its line items' TotalPrice
/// (and HasOpportunityLineItem says whether it has any), as in a real org.
fn after_write(txn: &mut Txn<'_>, object: ObjectIdx, id: RecordId) -> Result<(), DmlError> {
    let schema = txn.schema();
    if schema.object(object).name != "OpportunityLineItem" {
        return Ok(());
    }
    let def = schema.object(object);
    let Some((_, _, row)) = txn.data().find(schema, id) else {
        return Ok(());
    };
    let Some(opportunity) = def
        .field("OpportunityId")
        .and_then(|(_, f)| f.column())
        .and_then(|c| row[c].as_ref_id())
    else {
        return Ok(());
    };
    roll_up_line_items(txn, opportunity)
}

/// Recomputes an opportunity's Amount and HasOpportunityLineItem from its live line items.
pub(crate) fn roll_up_line_items(txn: &mut Txn<'_>, opportunity: RecordId) -> Result<(), DmlError> {
    let schema = txn.schema();
    let Some((item_idx, item_def)) = schema.find("OpportunityLineItem") else {
        return Ok(());
    };
    let col = |name: &str| item_def.field(name).and_then(|(_, f)| f.column());
    let (Some(opp_c), Some(total_c)) = (col("OpportunityId"), col("TotalPrice")) else {
        return Ok(());
    };
    let mut total = 0.0;
    let mut any = false;
    for (_, row) in txn.data().table(item_idx).rows() {
        if row[opp_c] == Value::Ref(opportunity) && !is_deleted(item_def, row) {
            any = true;
            total += row[total_c].as_f64().unwrap_or(0.0);
        }
    }
    let Some((opp_idx, slot, row)) = txn.data().find(schema, opportunity) else {
        return Ok(());
    };
    let opp_def = schema.object(opp_idx);
    let mut values = row.to_vec();
    if let Some(c) = opp_def
        .field("HasOpportunityLineItem")
        .and_then(|(_, f)| f.column())
    {
        values[c] = Value::Bool(any);
    }
    if any && let Some(c) = opp_def.field("Amount").and_then(|(_, f)| f.column()) {
        values[c] = Value::Double((total * 100.0).round() / 100.0);
    }
    derive(txn, opp_idx, slot, &mut values);
    txn.update(opp_idx, slot, values).map_err(store_error)
}

/// The record id a REST path or body names, or `MALFORMED_ID`.
pub(crate) fn parse_id(text: &str) -> Result<RecordId, DmlError> {
    RecordId::parse(text)
        .ok_or_else(|| DmlError::new("MALFORMED_ID", format!("malformed id {text}")))
}
