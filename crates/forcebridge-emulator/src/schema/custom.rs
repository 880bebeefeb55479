//! Custom objects, custom fields on standard objects, and validation rules, from the org file.
//!
//! [`build`] turns the file's `[[objects]]` and `[[validation_rules]]` entries into object
//! definitions next to the standard ones, and checks everything a file can get wrong: unknown
//! types, options that do not apply to a type, reference targets that do not exist, duplicate
//! names, bad key prefixes, names without `__c`, and rule conditions that do not parse (shown as
//! a code frame over the condition). Every message names the object and field it is about.
//!
//! It deliberately knows nothing about records: how values are checked on save is `dml`'s job,
//! and how a rule's condition is evaluated is the SOQL executor's.

use std::collections::{HashMap, HashSet};

use forcebridge_soql::{self as soql, Condition, Diagnostic, DiagnosticKind, Expr, Span};

use super::{
    DefaultValue, FieldBuilder as F, FieldDef, FieldType, ObjectBuilder, ObjectDef, ObjectIdx,
    Schema, SchemaError, Storage, ValidationRule,
};
use crate::config::{FieldConfig, FieldDefault, ObjectConfig, ValidationRuleConfig};

/// The schema of an org: the `standard` objects, with the custom fields of `extends` entries
/// appended, followed by the custom objects of `objects`, with `rules` attached.
pub(crate) fn build(
    mut standard: Vec<ObjectDef>,
    objects: &[ObjectConfig],
    removed: &[(String, String)],
    rules: &[ValidationRuleConfig],
) -> Result<Schema, SchemaError> {
    let names = declare_objects(&standard, objects)?;
    let mut prefixes = PrefixAllocator::new(&standard, objects);
    let mut custom = Vec::new();
    for (position, object) in objects.iter().enumerate() {
        let place = || format!("objects[{position}] ({})", object.name);
        if object.extends {
            let Some(def) = standard
                .iter_mut()
                .chain(custom.iter_mut())
                .find(|o| o.name.eq_ignore_ascii_case(&object.name))
            else {
                // `declare_objects` has already refused names of objects not defined before.
                continue;
            };
            let mut builder = ObjectBuilder::new(&def.name, &def.label, &def.label_plural, "xxx");
            for field in &object.fields {
                builder = add_field(builder, field, &names)
                    .map_err(|e| SchemaError(format!("{}: field {}: {e}", place(), field.name)))?;
            }
            append_fields(def, builder.into_fields())
                .map_err(|e| SchemaError(format!("{}: {e}", place())))?;
        } else {
            let prefix = match &object.key_prefix {
                Some(prefix) => prefix.clone(),
                None => prefixes.next().ok_or_else(|| {
                    SchemaError(format!("{}: no free key prefix is left", place()))
                })?,
            };
            custom.push(
                custom_object(object, &prefix, &names)
                    .map_err(|e| SchemaError(format!("{}: {e}", place())))?,
            );
        }
    }
    standard.extend(custom);
    let mut all = standard;
    for (object, field) in removed {
        let removed = all
            .iter_mut()
            .find(|o| o.name.eq_ignore_ascii_case(object))
            .is_some_and(|def| def.remove_field(field));
        if !removed {
            return Err(SchemaError(format!(
                "{object} has no field {field} to remove"
            )));
        }
    }
    attach_rules(&mut all, rules)?;
    let schema = Schema::new(all)?;
    for rule in rules {
        check_rule_fields(&schema, rule)?;
    }
    Ok(schema)
}

/// The field types a schema file may use, in the order error messages list them.
const FILE_TYPES: &[FieldType] = &[
    FieldType::String,
    FieldType::Textarea,
    FieldType::Picklist,
    FieldType::Multipicklist,
    FieldType::Boolean,
    FieldType::Int,
    FieldType::Double,
    FieldType::Currency,
    FieldType::Percent,
    FieldType::Date,
    FieldType::DateTime,
    FieldType::Time,
    FieldType::Email,
    FieldType::Phone,
    FieldType::Url,
    FieldType::Reference,
    FieldType::Location,
];

/// Checks object names and key prefixes, and returns every object name that will exist
/// (lower case → canonical spelling), so references can point at objects defined later.
fn declare_objects(
    standard: &[ObjectDef],
    objects: &[ObjectConfig],
) -> Result<HashMap<String, String>, SchemaError> {
    let mut names: HashMap<String, String> = standard
        .iter()
        .map(|o| (o.name.to_ascii_lowercase(), o.name.clone()))
        .collect();
    let mut prefixes: HashMap<String, String> = standard
        .iter()
        .map(|o| (o.key_prefix.clone(), o.name.clone()))
        .collect();
    for (position, object) in objects.iter().enumerate() {
        let place = format!("objects[{position}] ({})", object.name);
        if object.extends {
            let custom_before = objects[..position]
                .iter()
                .any(|o| !o.extends && o.name.eq_ignore_ascii_case(&object.name));
            if !custom_before
                && !standard
                    .iter()
                    .any(|o| o.name.eq_ignore_ascii_case(&object.name))
            {
                return Err(SchemaError(format!(
                    "{place}: extends = true needs the name of a standard object (or of a custom object defined before it), and {} is not one (standard objects: {})",
                    object.name,
                    standard
                        .iter()
                        .map(|o| o.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
            let mut not_for_extends = Vec::new();
            for (option, given) in [
                ("label", object.label.is_some()),
                ("plural_label", object.plural_label.is_some()),
                ("key_prefix", object.key_prefix.is_some()),
                ("name_field", object.name_field.is_some()),
                ("owned", object.owned.is_some()),
            ] {
                if given {
                    not_for_extends.push(option);
                }
            }
            if !not_for_extends.is_empty() {
                return Err(SchemaError(format!(
                    "{place}: {} cannot be changed on an existing object (extends = true only adds fields)",
                    not_for_extends.join(", ")
                )));
            }
            continue;
        }
        check_api_name(&object.name, "__c")
            .map_err(|e| SchemaError(format!("{place}: custom object name {e}")))?;
        if let Some(existing) = names.insert(object.name.to_ascii_lowercase(), object.name.clone())
        {
            return Err(SchemaError(format!(
                "{place}: object {} is defined twice (the name {existing} is already taken)",
                object.name
            )));
        }
        if let Some(prefix) = &object.key_prefix {
            if prefix.len() != 3 || !prefix.bytes().all(|b| b.is_ascii_alphanumeric()) {
                return Err(SchemaError(format!(
                    "{place}: key_prefix `{prefix}` must be exactly 3 letters or digits"
                )));
            }
            if let Some(owner) = prefixes.insert(prefix.clone(), object.name.clone()) {
                return Err(SchemaError(format!(
                    "{place}: key_prefix {prefix} is already used by {owner}"
                )));
            }
        }
    }
    Ok(names)
}

/// Checks a custom API name: `Invoice__c`, `Due_Date__c` or `ns__Invoice__c` (with `suffix`
/// `__c`): letters, digits and single underscores, starting with a letter.
fn check_api_name(name: &str, suffix: &str) -> Result<(), String> {
    let Some(base) = name.strip_suffix(suffix) else {
        return Err(format!("{name} must end with {suffix}"));
    };
    let parts: Vec<&str> = base.split("__").collect();
    if parts.len() > 2 {
        return Err(format!(
            "{name} has too many double underscores (only a namespace prefix `ns__` may use one)"
        ));
    }
    for part in parts {
        let valid = part.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
            && part.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !part.ends_with('_');
        if !valid {
            return Err(format!(
                "{name} is not valid: use letters, digits and single underscores, starting with a letter and not ending with an underscore"
            ));
        }
    }
    if base.len() > 40 {
        return Err(format!(
            "{name} is too long: at most 40 characters before {suffix}"
        ));
    }
    Ok(())
}

/// A label from an API name: `Due_Date__c` → `Due Date`.
fn label_of(name: &str) -> String {
    let base = name.strip_suffix("__c").unwrap_or(name);
    let base = base.rsplit("__").next().unwrap_or(base);
    base.replace('_', " ")
}

/// Hands out key prefixes `a00`, `a01`, ... `a0z`, `a10`, ..., skipping the ones taken.
struct PrefixAllocator {
    taken: HashSet<String>,
    next: usize,
}

const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

impl PrefixAllocator {
    fn new(standard: &[ObjectDef], objects: &[ObjectConfig]) -> PrefixAllocator {
        let taken = standard
            .iter()
            .map(|o| o.key_prefix.clone())
            .chain(objects.iter().filter_map(|o| o.key_prefix.clone()))
            .collect();
        PrefixAllocator { taken, next: 0 }
    }

    fn next(&mut self) -> Option<String> {
        while self.next < BASE62.len() * BASE62.len() {
            let n = self.next;
            self.next += 1;
            let prefix: String = [b'a', BASE62[n / BASE62.len()], BASE62[n % BASE62.len()]]
                .iter()
                .map(|&b| b as char)
                .collect();
            if self.taken.insert(prefix.clone()) {
                return Some(prefix);
            }
        }
        None
    }
}

/// A new custom object: its name field, owner, and fields.
fn custom_object(
    object: &ObjectConfig,
    key_prefix: &str,
    names: &HashMap<String, String>,
) -> Result<ObjectDef, String> {
    let label = object
        .label
        .clone()
        .unwrap_or_else(|| label_of(&object.name));
    let plural = object
        .plural_label
        .clone()
        .unwrap_or_else(|| format!("{label}s"));
    let mut builder = ObjectBuilder::new(&object.name, &label, &plural, key_prefix);
    if object.owned.unwrap_or(true) {
        builder = builder.owned();
    }
    let name_label = format!("{label} Name");
    builder = match object.name_field.as_deref().unwrap_or("text") {
        "text" => builder.field(F::string("Name", &name_label, 80).required().name_field()),
        "auto_number" => builder.field(
            F::string("Name", &name_label, 80)
                .auto_number()
                .name_field(),
        ),
        other => {
            return Err(format!(
                "name_field must be \"text\" or \"auto_number\", not \"{other}\""
            ));
        }
    };
    for field in &object.fields {
        builder =
            add_field(builder, field, names).map_err(|e| format!("field {}: {e}", field.name))?;
    }
    let def = builder.build();
    let mut seen = HashSet::new();
    for field in &def.fields {
        if !seen.insert(field.name.to_ascii_lowercase()) {
            return Err(format!("field {} is defined twice", field.name));
        }
    }
    let mut relationships = HashSet::new();
    for field in &def.fields {
        if let Some(rel) = &field.relationship_name
            && !relationships.insert(rel.to_ascii_lowercase())
        {
            return Err(format!(
                "field {}: relationship name {rel} is already used by another field",
                field.name
            ));
        }
    }
    Ok(def)
}

/// Appends built custom fields to a standard object: new columns after the existing ones, so the
/// layout of the standard columns never changes.
fn append_fields(def: &mut ObjectDef, fields: Vec<FieldDef>) -> Result<(), String> {
    for mut field in fields {
        let key = field.name.to_ascii_lowercase();
        if def.by_name.contains_key(&key) {
            return Err(format!(
                "field {} is already defined on {}",
                field.name, def.name
            ));
        }
        if let Some(rel) = &field.relationship_name {
            let rel_key = rel.to_ascii_lowercase();
            if def.by_relationship.contains_key(&rel_key) {
                return Err(format!(
                    "field {}: relationship name {rel} is already used on {}",
                    field.name, def.name
                ));
            }
            def.by_relationship.insert(rel_key, def.fields.len());
        }
        if let Storage::Column(column) = &mut field.storage {
            *column = def.columns;
            def.columns += 1;
        }
        def.by_name.insert(key, def.fields.len());
        def.fields.push(field);
    }
    Ok(())
}

/// Which options of a field entry apply to which types.
fn check_options(field: &FieldConfig, kind: FieldType) -> Result<(), String> {
    use FieldType as T;
    let text = matches!(kind, T::String | T::Textarea);
    let picklist = matches!(kind, T::Picklist | T::Multipicklist);
    let numeric = matches!(kind, T::Int | T::Double | T::Currency | T::Percent);
    let indexable = matches!(kind, T::String | T::Email | T::Int | T::Double);
    let reference = kind == T::Reference;
    let checks: [(&str, bool, bool); 12] = [
        ("length", field.length.is_some(), text),
        ("precision", field.precision.is_some(), numeric),
        (
            "scale",
            field.scale.is_some(),
            matches!(kind, T::Double | T::Currency | T::Percent),
        ),
        ("values", !field.values.is_empty(), picklist),
        ("restricted", field.restricted, picklist),
        ("reference_to", field.reference_to.is_some(), reference),
        (
            "relationship_name",
            field.relationship_name.is_some(),
            reference,
        ),
        (
            "child_relationship_name",
            field.child_relationship_name.is_some(),
            reference,
        ),
        ("cascade_delete", field.cascade_delete, reference),
        ("external_id", field.external_id, indexable),
        ("unique", field.unique, indexable),
        (
            "case_sensitive",
            field.case_sensitive,
            matches!(kind, T::String | T::Email) && (field.unique || field.external_id),
        ),
    ];
    for (option, given, applies) in checks {
        if given && !applies {
            let why = if option == "case_sensitive" {
                " (it applies to unique or external-id string and email fields)".to_string()
            } else {
                String::new()
            };
            return Err(format!(
                "`{option}` does not apply to {} fields{why}",
                kind.describe_name()
            ));
        }
    }
    if field.required && kind == T::Boolean {
        return Err("a boolean field cannot be required (it is never null)".to_string());
    }
    if field.required && kind == T::Location {
        return Err("a location field cannot be required".to_string());
    }
    Ok(())
}

/// Adds the field `field` describes to `builder`.
fn add_field(
    builder: ObjectBuilder,
    field: &FieldConfig,
    names: &HashMap<String, String>,
) -> Result<ObjectBuilder, String> {
    use FieldType as T;
    let name = field.name.as_str();
    check_api_name(name, "__c").map_err(|e| format!("custom field name {e}"))?;
    let label = field.label.clone().unwrap_or_else(|| label_of(name));
    let kind = FieldType::from_describe_name(&field.field_type)
        .filter(|t| FILE_TYPES.contains(t))
        .ok_or_else(|| {
            format!(
                "unknown type `{}`; expected one of {}",
                field.field_type,
                FILE_TYPES
                    .iter()
                    .map(|t| t.describe_name())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })?;
    check_options(field, kind)?;
    if kind == T::Location {
        if field.default.is_some() {
            return Err("a default value is not supported for location fields".to_string());
        }
        return Ok(builder.location(name, &label));
    }
    let values: Vec<&str> = field.values.iter().map(String::as_str).collect();
    let mut built = match kind {
        T::String => F::string(name, &label, length(field, 255, 255)?),
        T::Textarea => F::textarea(name, &label, length(field, 255, 131_072)?),
        T::Picklist | T::Multipicklist => {
            if values.is_empty() {
                return Err(format!("a {} field needs `values`", kind.describe_name()));
            }
            let mut seen = HashSet::new();
            for value in &values {
                if value.trim().is_empty() || value.contains(';') {
                    return Err(format!(
                        "picklist value `{value}` is not allowed (values are non-empty and contain no `;`)"
                    ));
                }
                if !seen.insert(value.to_lowercase()) {
                    return Err(format!("picklist value `{value}` is listed twice"));
                }
            }
            let f = if kind == T::Picklist {
                F::picklist(name, &label, &values)
            } else {
                F::multipicklist(name, &label, &values)
            };
            if field.restricted { f.restricted() } else { f }
        }
        T::Boolean => F::boolean(name, &label, false),
        T::Int => {
            let digits = field.precision.unwrap_or(9);
            if !(1..=18).contains(&digits) {
                return Err(format!("precision must be 1 to 18 digits, not {digits}"));
            }
            F::int(name, &label, digits)
        }
        T::Double | T::Currency | T::Percent => {
            // Salesforce's setup page proposes 18 digits with 0 decimals for numbers and 2 for
            // currency and percent.
            let (default_precision, default_scale) = match kind {
                T::Double => (18, 0),
                _ => (18, 2),
            };
            let precision = field.precision.unwrap_or(default_precision);
            let scale = field.scale.unwrap_or(default_scale);
            if !(1..=18).contains(&precision) {
                return Err(format!("precision must be 1 to 18 digits, not {precision}"));
            }
            if scale > precision {
                return Err(format!(
                    "scale ({scale}) cannot be larger than precision ({precision})"
                ));
            }
            match kind {
                T::Double => F::double(name, &label, precision, scale),
                T::Currency => F::currency(name, &label, precision, scale),
                _ => F::percent(name, &label, precision, scale),
            }
        }
        T::Date => F::date(name, &label),
        T::DateTime => F::datetime(name, &label),
        T::Time => F::time(name, &label),
        T::Email => F::email(name, &label),
        T::Phone => F::phone(name, &label),
        T::Url => F::url(name, &label),
        T::Reference => reference(field, &label, names)?,
        // FILE_TYPES holds nothing else; location returned above.
        _ => return Err(format!("type {} is not supported", kind.describe_name())),
    };
    // A master-detail field (`cascade_delete`) is required, as in Salesforce. UNVERIFIED
    // simplification: the child keeps its own OwnerId (a real master-detail child has none and
    // takes the parent's owner), and reparenting stays allowed.
    if field.required || field.cascade_delete {
        built = built.required();
    }
    if field.external_id {
        built = built.external_id();
    } else if field.unique {
        built = built.unique();
    }
    if field.case_sensitive {
        built = built.case_sensitive();
    }
    if field.cascade_delete {
        built = built.cascade_delete();
    }
    let mut def = built.build();
    // Setup caps help text at 510 characters.
    if let Some(text) = &field.help_text
        && text.chars().count() > 510
    {
        return Err(format!(
            "help_text is {} characters; at most 510 are allowed",
            text.chars().count()
        ));
    }
    def.help_text = field
        .help_text
        .clone()
        .filter(|text| !text.trim().is_empty());
    if let Some(default) = &field.default {
        set_default(&mut def, default)?;
    }
    let mut builder = builder;
    builder.add_field(def);
    Ok(builder)
}

/// The `length` of a text field: `default` when absent, 1 to `max` when given.
fn length(field: &FieldConfig, default: u32, max: u32) -> Result<u32, String> {
    let length = field.length.unwrap_or(default);
    if !(1..=max).contains(&length) {
        return Err(format!("length must be 1 to {max}, not {length}"));
    }
    Ok(length)
}

/// A lookup or (with `cascade_delete`) master-detail field. Relationship names get the `__r`
/// suffix custom relationships have, whether or not the file wrote it.
fn reference(
    field: &FieldConfig,
    label: &str,
    names: &HashMap<String, String>,
) -> Result<F, String> {
    let Some(target) = &field.reference_to else {
        return Err("a reference field needs `reference_to` (the object it points at)".to_string());
    };
    let Some(target) = names.get(&target.to_ascii_lowercase()) else {
        return Err(format!("reference_to names unknown object {target}"));
    };
    let base = field.name.strip_suffix("__c").unwrap_or(&field.name);
    let relationship = match &field.relationship_name {
        Some(given) => relationship_name(given)?,
        None => format!("{base}__r"),
    };
    // Salesforce always gives a lookup a child relationship name (its setup page proposes the
    // child's plural label). The file has to name it for the parent to see its children: a
    // made-up default could clash with another lookup to the same parent. (Our choice, not
    // Salesforce behaviour.)
    let children = field
        .child_relationship_name
        .as_deref()
        .map(relationship_name)
        .transpose()?;
    Ok(F::reference(
        &field.name,
        label,
        &[target.as_str()],
        &relationship,
        children.as_deref(),
    ))
}

/// `Customer` or `Customer__r` → `Customer__r`.
fn relationship_name(given: &str) -> Result<String, String> {
    let name = if given.ends_with("__r") {
        given.to_string()
    } else {
        format!("{given}__r")
    };
    check_api_name(&name, "__r").map_err(|e| format!("relationship name {e}"))?;
    Ok(name)
}

/// Applies a file's `default` to a built field, checking it fits the field.
fn set_default(def: &mut FieldDef, default: &FieldDefault) -> Result<(), String> {
    use FieldType as T;
    let kind = def.field_type;
    let wrong = || {
        format!(
            "default {default} does not fit a {} field",
            kind.describe_name()
        )
    };
    let value = match (kind, default) {
        (T::Boolean, FieldDefault::Bool(b)) => DefaultValue::Bool(*b),
        (T::Picklist, FieldDefault::Text(s)) => {
            let entry = def
                .picklist
                .iter_mut()
                .find(|p| p.value.eq_ignore_ascii_case(s))
                .ok_or_else(|| format!("default `{s}` is not one of the picklist values"))?;
            entry.default = true;
            DefaultValue::Text(entry.value.clone())
        }
        (T::Multipicklist, FieldDefault::Text(s)) => {
            let mut chosen = Vec::new();
            for part in s.split(';').map(str::trim).filter(|p| !p.is_empty()) {
                let entry = def
                    .picklist
                    .iter_mut()
                    .find(|p| p.value.eq_ignore_ascii_case(part))
                    .ok_or_else(|| format!("default `{part}` is not one of the picklist values"))?;
                entry.default = true;
                chosen.push(entry.value.clone());
            }
            DefaultValue::Text(chosen.join(";"))
        }
        (T::String | T::Textarea | T::Email | T::Phone | T::Url, FieldDefault::Text(s)) => {
            if def.length > 0 && s.chars().count() > def.length as usize {
                return Err(format!(
                    "default `{s}` is longer than the field's length ({})",
                    def.length
                ));
            }
            DefaultValue::Text(s.clone())
        }
        (T::Int | T::Double | T::Currency | T::Percent, FieldDefault::Integer(_))
        | (T::Double | T::Currency | T::Percent, FieldDefault::Float(_)) => {
            let n = match default {
                FieldDefault::Integer(i) => *i as f64,
                FieldDefault::Float(f) => *f,
                _ => return Err(wrong()),
            };
            let integer_digits = if kind == T::Int {
                def.digits
            } else {
                def.precision.saturating_sub(def.scale).max(1)
            };
            if !n.is_finite() || n.abs() >= 10f64.powi(integer_digits as i32) {
                return Err(format!("default {n} is outside the field's range"));
            }
            DefaultValue::Number(n)
        }
        (T::Date | T::DateTime | T::Time | T::Reference, _) => {
            return Err(format!(
                "a default value is not supported for {} fields",
                kind.describe_name()
            ));
        }
        _ => return Err(wrong()),
    };
    def.default_value = Some(value);
    def.defaulted_on_create = true;
    Ok(())
}

/// Parses every rule's condition and attaches it to its object.
fn attach_rules(
    objects: &mut [ObjectDef],
    rules: &[ValidationRuleConfig],
) -> Result<(), SchemaError> {
    for (position, rule) in rules.iter().enumerate() {
        let place = format!("validation_rules[{position}] ({})", rule.name);
        let Some(object) = objects
            .iter_mut()
            .find(|o| o.name.eq_ignore_ascii_case(&rule.object))
        else {
            return Err(SchemaError(format!(
                "{place}: unknown object {}",
                rule.object
            )));
        };
        if rule.name.trim().is_empty() {
            return Err(SchemaError(format!("{place}: the rule needs a name")));
        }
        if rule.message.trim().is_empty() {
            return Err(SchemaError(format!(
                "{place}: the rule needs a message (the error a failed save reports)"
            )));
        }
        if object
            .validation_rules
            .iter()
            .any(|r| r.name.eq_ignore_ascii_case(&rule.name))
        {
            return Err(SchemaError(format!(
                "{place}: {} already has a validation rule named {}",
                object.name, rule.name
            )));
        }
        let field = match &rule.field {
            Some(name) => Some(object.field(name).map(|(_, f)| f.name.clone()).ok_or_else(
                || {
                    SchemaError(format!(
                        "{place}: field {name} (where the error is shown) does not exist on {}",
                        object.name
                    ))
                },
            )?),
            None => None,
        };
        let condition = parse_condition(&object.name, &rule.condition).map_err(|frame| {
            SchemaError(format!(
                "{place} on {}: the condition does not parse\n{frame}",
                object.name
            ))
        })?;
        object.validation_rules.push(ValidationRule {
            name: rule.name.clone(),
            condition,
            message: rule.message.clone(),
            field,
        });
    }
    Ok(())
}

/// The text put before a rule's condition to parse it as a query.
fn rule_prefix(object: &str) -> String {
    format!("SELECT Id FROM {object} WHERE ")
}

/// Parses a rule's condition as the WHERE clause of `SELECT Id FROM {object}`; on failure,
/// the code frames of the problems, over the condition as the file wrote it.
fn parse_condition(object: &str, condition: &str) -> Result<Condition, String> {
    let prefix = rule_prefix(object);
    let text = format!("{prefix}{condition}");
    let parsed = soql::parse_query(&text);
    if !parsed.errors.is_empty() {
        let frames: Vec<String> = parsed
            .errors
            .iter()
            .map(|d| shifted(d, prefix.len()).render(condition))
            .collect();
        return Err(frames.join("\n"));
    }
    let Some(where_clause) = parsed.tree.where_clause else {
        return Err(frame_at(
            "the condition is empty",
            Span::new(0, 0),
            condition,
        ));
    };
    let end = where_clause.span().end as usize;
    if end < text.trim_end().len() {
        let offset = end.saturating_sub(prefix.len());
        let after = condition.get(offset..).unwrap_or("");
        let start = offset + (after.len() - after.trim_start().len());
        let extra = Span::new(start, condition.trim_end().len());
        return Err(frame_at(
            "expected only a condition; a validation rule cannot have clauses after it (ORDER BY, LIMIT, ...)",
            extra,
            condition,
        ));
    }
    Ok(where_clause)
}

/// A diagnostic of the wrapped query moved onto the condition's own text.
fn shifted(diagnostic: &Diagnostic, by: usize) -> Diagnostic {
    let mut moved = diagnostic.clone();
    moved.span = Span::new(
        (diagnostic.span.start as usize).saturating_sub(by),
        (diagnostic.span.end as usize).saturating_sub(by),
    );
    moved
}

fn frame_at(message: &str, span: Span, source: &str) -> String {
    Diagnostic {
        kind: DiagnosticKind::Syntax,
        message: message.to_string(),
        span,
    }
    .render(source)
}

/// Checks that every field a rule's condition names exists (following relationships).
fn check_rule_fields(schema: &Schema, rule: &ValidationRuleConfig) -> Result<(), SchemaError> {
    let Some((object, def)) = schema.find(&rule.object) else {
        return Ok(());
    };
    let Some(parsed) = def
        .validation_rules
        .iter()
        .find(|r| r.name.eq_ignore_ascii_case(&rule.name))
    else {
        return Ok(());
    };
    let shift = rule_prefix(&def.name).len();
    let mut problem = None;
    visit_fields(&parsed.condition, &mut |path| {
        if problem.is_none()
            && let Err(message) = resolve_path(schema, object, path)
        {
            problem = Some((message, path.span));
        }
    });
    match problem {
        None => Ok(()),
        Some((message, span)) => {
            let diagnostic = Diagnostic {
                kind: DiagnosticKind::Syntax,
                message: message.clone(),
                span,
            };
            Err(SchemaError(format!(
                "validation rule {} on {}: {message}\n{}",
                rule.name,
                def.name,
                shifted(&diagnostic, shift).render(&rule.condition)
            )))
        }
    }
}

/// Calls `visit` with every field path in `condition` (outside subqueries, which name other
/// objects and are checked when they run).
fn visit_fields(condition: &Condition, visit: &mut dyn FnMut(&soql::FieldPath)) {
    fn expr(e: &Expr, visit: &mut dyn FnMut(&soql::FieldPath)) {
        match e {
            Expr::Field(path) => visit(path),
            Expr::Call(call) => {
                for arg in &call.args {
                    expr(arg, visit);
                }
            }
            Expr::Literal(_) => {}
        }
    }
    match condition {
        Condition::Comparison(c) => expr(&c.lhs, visit),
        Condition::And { operands, .. } | Condition::Or { operands, .. } => {
            for operand in operands {
                visit_fields(operand, visit);
            }
        }
        Condition::Not { operand, .. } => visit_fields(operand, visit),
        Condition::Error { .. } => {}
    }
}

/// Follows `path` from `object`: relationship names, then a field.
fn resolve_path(schema: &Schema, object: ObjectIdx, path: &soql::FieldPath) -> Result<(), String> {
    let mut def = schema.object(object);
    let mut segments: &[soql::Ident] = &path.segments;
    // `Invoice__c.Amount__c` names the object itself first.
    if segments.len() > 1 && segments[0].name.eq_ignore_ascii_case(&def.name) {
        segments = &segments[1..];
    }
    let Some((last, parents)) = segments.split_last() else {
        return Ok(());
    };
    for segment in parents {
        let Some((_, field)) = def.relationship(&segment.name) else {
            return Err(format!(
                "unknown relationship {} on {}",
                segment.name, def.name
            ));
        };
        // A polymorphic relationship (What, Who) may lead to several objects; the field is
        // checked when the rule runs.
        let [target] = field.reference_to.as_slice() else {
            return Ok(());
        };
        let Some((_, next)) = schema.find(target) else {
            return Ok(());
        };
        def = next;
    }
    if def.field(&last.name).is_none() {
        return Err(format!("unknown field {} on {}", last.name, def.name));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::config::Config;

    fn build(toml: &str) -> Result<crate::schema::Schema, String> {
        let config = Config::from_toml(toml).map_err(|e| e.to_string())?;
        crate::schema::build(&config.schema, &config.validation_rules).map_err(|e| e.to_string())
    }

    fn error(toml: &str) -> String {
        match build(toml) {
            Ok(_) => panic!("expected the schema to be refused"),
            Err(e) => e,
        }
    }

    #[test]
    fn custom_objects_get_prefixes_name_fields_owners_and_typed_fields() {
        let schema = build(
            r#"
            [[objects]]
            name = "Invoice__c"
            fields = [
              { name = "Amount__c", type = "currency", required = true },
              { name = "Status__c", type = "picklist", values = ["Draft", "Sent", "Paid"], restricted = true, default = "draft" },
              { name = "Number__c", type = "string", length = 20, external_id = true },
              { name = "Account__c", type = "reference", reference_to = "account", child_relationship_name = "Invoices" },
              { name = "Site__c", type = "location" },
            ]

            [[objects]]
            name = "Invoice_Line__c"
            key_prefix = "a7Z"
            name_field = "auto_number"
            owned = false
            fields = [
              { name = "Invoice__c", type = "reference", reference_to = "Invoice__c", relationship_name = "Invoice", cascade_delete = true },
              { name = "Quantity__c", type = "int", precision = 5, default = 1 },
            ]
            "#,
        )
        .unwrap();
        let (_, invoice) = schema.find("invoice__c").unwrap();
        assert_eq!(
            (
                invoice.key_prefix.as_str(),
                invoice.custom,
                invoice.label.as_str()
            ),
            ("a00", true, "Invoice")
        );
        assert!(invoice.system.owner.is_some());
        let (_, amount) = invoice.field("Amount__c").unwrap();
        assert_eq!(
            (amount.precision, amount.scale, amount.nillable),
            (18, 2, false)
        );
        let (_, status) = invoice.field("Status__c").unwrap();
        assert_eq!(
            status.default_value,
            Some(super::DefaultValue::Text("Draft".into()))
        );
        assert!(status.restricted_picklist && status.picklist[0].default);
        let (_, account) = invoice.field("Account__c").unwrap();
        assert_eq!(account.reference_to, ["Account"]);
        assert_eq!(account.relationship_name.as_deref(), Some("Account__r"));
        let (_, accounts) = schema.find("Account").unwrap();
        let invoices = accounts.child_relationship("Invoices__r").unwrap();
        assert_eq!(schema.object(invoices.child).name, "Invoice__c");
        assert!(invoice.field("Site__Latitude__s").is_some());
        let (_, line) = schema.find("Invoice_Line__c").unwrap();
        assert_eq!(line.key_prefix, "a7Z");
        assert!(line.system.owner.is_none());
        assert!(line.fields[line.name_field.unwrap()].auto_number);
        let (_, parent) = line.field("Invoice__c").unwrap();
        assert!(parent.cascade_delete && !parent.nillable);
        assert_eq!(parent.relationship_name.as_deref(), Some("Invoice__r"));
    }

    #[test]
    fn extending_a_standard_object_appends_columns_and_keeps_the_standard_layout() {
        let plain = build("").unwrap();
        let schema = build(
            r#"
            [[objects]]
            name = "Account"
            extends = true
            fields = [
              { name = "Tier__c", type = "picklist", values = ["Gold", "Silver"] },
              { name = "Code__c", type = "string", length = 10, unique = true, case_sensitive = true },
            ]
            "#,
        )
        .unwrap();
        let (_, before) = plain.find("Account").unwrap();
        let (_, after) = schema.find("Account").unwrap();
        assert_eq!(after.columns, before.columns + 2);
        for field in &before.fields {
            assert_eq!(after.field(&field.name).unwrap().1.storage, field.storage);
        }
        let (_, tier) = after.field("tier__c").unwrap();
        assert_eq!(tier.column(), Some(before.columns));
        assert!(tier.custom);
        let (_, code) = after.field("Code__c").unwrap();
        assert!(code.unique && code.case_sensitive);
    }

    #[test]
    fn mistakes_are_reported_with_the_object_the_field_and_what_is_expected() {
        for (toml, expected) in [
            (
                r#"[[objects]]
                name = "Invoice__c"
                fields = [{ name = "Amount__c", type = "money" }]"#,
                "objects[0] (Invoice__c): field Amount__c: unknown type `money`; expected one of string, textarea",
            ),
            (
                r#"[[objects]]
                name = "Invoice__c"
                fields = [{ name = "Account__c", type = "reference", reference_to = "Acount" }]"#,
                "field Account__c: reference_to names unknown object Acount",
            ),
            (
                r#"[[objects]]
                name = "Invoice__c"
                [[objects]]
                name = "INVOICE__c""#,
                "objects[1] (INVOICE__c): object INVOICE__c is defined twice",
            ),
            (
                r#"[[objects]]
                name = "Invoice__c"
                fields = [{ name = "A__c", type = "date" }, { name = "a__c", type = "int" }]"#,
                "field a__c is defined twice",
            ),
            (
                r#"[[objects]]
                name = "Invoice__c"
                key_prefix = "001""#,
                "key_prefix 001 is already used by Account",
            ),
            (
                r#"[[objects]]
                name = "Invoice__c"
                key_prefix = "a-1""#,
                "key_prefix `a-1` must be exactly 3 letters or digits",
            ),
            (
                r#"[[objects]]
                name = "Invoice""#,
                "objects[0] (Invoice): custom object name Invoice must end with __c",
            ),
            (
                r#"[[objects]]
                name = "Account"
                extends = true
                fields = [{ name = "Tier", type = "string" }]"#,
                "field Tier: custom field name Tier must end with __c",
            ),
            (
                r#"[[objects]]
                name = "Widget"
                extends = true"#,
                "extends = true needs the name of a standard object (or of a custom object defined before it), and Widget is not one",
            ),
            (
                r#"[[objects]]
                name = "Invoice__c"
                fields = [{ name = "N__c", type = "int", values = ["a"] }]"#,
                "field N__c: `values` does not apply to int fields",
            ),
            (
                r#"[[objects]]
                name = "Invoice__c"
                fields = [{ name = "S__c", type = "picklist", values = ["A"], default = "B" }]"#,
                "default `B` is not one of the picklist values",
            ),
            (
                r#"[[validation_rules]]
                object = "Opportunity"
                name = "Positive"
                condition = "Amount < 0"
                message = "x"
                field = "Amont""#,
                "field Amont (where the error is shown) does not exist on Opportunity",
            ),
        ] {
            let message = error(toml);
            assert!(
                message.contains(expected),
                "expected {expected:?} in:\n{message}"
            );
        }
    }

    #[test]
    fn rule_conditions_parse_and_bad_ones_show_a_frame_over_the_condition() {
        let schema = build(
            r#"
            [[validation_rules]]
            object = "Opportunity"
            name = "Big_Deals_Need_A_Next_Step"
            condition = "Amount > 100000 AND NextStep = null"
            message = "Big deals need a next step"
            field = "nextstep"
            "#,
        )
        .unwrap();
        let (_, opportunity) = schema.find("Opportunity").unwrap();
        let rule = &opportunity.validation_rules[0];
        assert_eq!(rule.field.as_deref(), Some("NextStep"));
        assert!(matches!(rule.condition, super::Condition::And { .. }));

        let message = error(
            r#"
            [[validation_rules]]
            object = "Opportunity"
            name = "Broken"
            condition = "Amount > AND Name = 'x'"
            message = "x"
            "#,
        );
        assert!(
            message.starts_with(
                "validation_rules[0] (Broken) on Opportunity: the condition does not parse\nerror: "
            ),
            "{message}"
        );
        assert!(
            message.contains("1 | Amount > AND Name = 'x'\n"),
            "{message}"
        );
        assert!(message.contains("--> line 1, column 10"), "{message}");

        let message = error(
            r#"
            [[validation_rules]]
            object = "Opportunity"
            name = "Typo"
            condition = "Account.Nmae = 'x'"
            message = "x"
            "#,
        );
        assert!(
            message.contains("unknown field Nmae on Account")
                && message.contains("--> line 1, column 1"),
            "{message}"
        );

        let message = error(
            r#"
            [[validation_rules]]
            object = "Opportunity"
            name = "Extra"
            condition = "Amount > 5 LIMIT 3"
            message = "x"
            "#,
        );
        assert!(message.contains("expected only a condition"), "{message}");
        assert!(message.contains("column 12"), "{message}");
    }
}
