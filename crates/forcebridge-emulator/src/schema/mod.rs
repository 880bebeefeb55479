//! The org's shape: objects, their fields, and the relationships between them.
//!
//! A [`Schema`] is built when the org starts (standard objects from `standard`, custom
//! objects and fields from the org's configuration) and never changes afterwards: a change while
//! the org runs (a field added, removed or retyped) builds a new one, whose columns are the old
//! ones plus any added after them, so every part of the org shares a schema through an `Arc`
//! and looks names up without locks. Names are matched
//! without regard to case, as Salesforce does; the spelling in the schema is the one responses use.
//!
//! This module knows nothing about records; `store` keeps those, in the column layout decided here.

mod builder;
mod custom;
pub(crate) mod describe;
pub(crate) mod standard;

use std::collections::HashMap;

pub(crate) use builder::location_components;
pub(crate) use builder::{FieldBuilder, ObjectBuilder};

/// The `type` of a field in describe results. The set is closed: clients such as Airbyte reject
/// types they do not know, so the local org never invents one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum FieldType {
    Id,
    String,
    Textarea,
    Picklist,
    Multipicklist,
    Combobox,
    Boolean,
    Int,
    Double,
    Currency,
    Percent,
    Date,
    DateTime,
    Time,
    Email,
    Phone,
    Url,
    Reference,
    Base64,
    EncryptedString,
    Address,
    Location,
    AnyType,
}

impl FieldType {
    /// The name describe uses: `string`, `datetime`, `reference`, ...
    pub(crate) fn describe_name(self) -> &'static str {
        match self {
            FieldType::Id => "id",
            FieldType::String => "string",
            FieldType::Textarea => "textarea",
            FieldType::Picklist => "picklist",
            FieldType::Multipicklist => "multipicklist",
            FieldType::Combobox => "combobox",
            FieldType::Boolean => "boolean",
            FieldType::Int => "int",
            FieldType::Double => "double",
            FieldType::Currency => "currency",
            FieldType::Percent => "percent",
            FieldType::Date => "date",
            FieldType::DateTime => "datetime",
            FieldType::Time => "time",
            FieldType::Email => "email",
            FieldType::Phone => "phone",
            FieldType::Url => "url",
            FieldType::Reference => "reference",
            FieldType::Base64 => "base64",
            FieldType::EncryptedString => "encryptedstring",
            FieldType::Address => "address",
            FieldType::Location => "location",
            FieldType::AnyType => "anyType",
        }
    }

    /// Parses a describe type name (as written in schema files; case-insensitive).
    pub(crate) fn from_describe_name(name: &str) -> Option<FieldType> {
        const ALL: &[FieldType] = &[
            FieldType::Id,
            FieldType::String,
            FieldType::Textarea,
            FieldType::Picklist,
            FieldType::Multipicklist,
            FieldType::Combobox,
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
            FieldType::Base64,
            FieldType::EncryptedString,
            FieldType::Address,
            FieldType::Location,
            FieldType::AnyType,
        ];
        ALL.iter()
            .copied()
            .find(|t| t.describe_name().eq_ignore_ascii_case(name))
    }

    pub(crate) fn soap_type(self) -> &'static str {
        match self {
            FieldType::Id | FieldType::Reference => "tns:ID",
            FieldType::Boolean => "xsd:boolean",
            FieldType::Int => "xsd:int",
            FieldType::Double | FieldType::Currency | FieldType::Percent => "xsd:double",
            FieldType::Date => "xsd:date",
            FieldType::DateTime => "xsd:dateTime",
            FieldType::Time => "xsd:time",
            FieldType::Base64 => "xsd:base64Binary",
            FieldType::Address => "urn:address",
            FieldType::Location => "urn:location",
            FieldType::AnyType => "xsd:anyType",
            _ => "xsd:string",
        }
    }

    /// Types whose values are text (stored as `Value::Text`).
    pub(crate) fn is_text(self) -> bool {
        matches!(
            self,
            FieldType::String
                | FieldType::Textarea
                | FieldType::Picklist
                | FieldType::Multipicklist
                | FieldType::Combobox
                | FieldType::Email
                | FieldType::Phone
                | FieldType::Url
                | FieldType::EncryptedString
                | FieldType::Base64
        )
    }

    /// Types stored as `Value::Double`.
    pub(crate) fn is_decimal(self) -> bool {
        matches!(
            self,
            FieldType::Double | FieldType::Currency | FieldType::Percent
        )
    }

    /// Compound types, which exist only as a view over their component fields.
    pub(crate) fn is_compound(self) -> bool {
        matches!(self, FieldType::Address | FieldType::Location)
    }
}

/// A picklist entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PicklistValue {
    pub value: String,
    pub label: String,
    pub default: bool,
    pub active: bool,
}

/// How a field's value is obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Storage {
    /// Stored in this column of the record.
    Column(usize),
    /// The record id, derived from the record's slot.
    Id,
    /// A compound address: the components are the fields named `{prefix}Street`, `{prefix}City`,
    /// `{prefix}State`, `{prefix}PostalCode`, `{prefix}Country`, `{prefix}Latitude`,
    /// `{prefix}Longitude`, `{prefix}GeocodeAccuracy`, found by name.
    Address,
    /// A compound location over `{name}__Latitude__s` / `{name}__Longitude__s` (custom) or
    /// `Latitude` / `Longitude` (standard).
    Location,
    /// Contact and Lead `Name`: Salutation, FirstName and LastName joined by spaces.
    FullName,
}

/// One field of an object.
#[derive(Debug, Clone)]
pub(crate) struct FieldDef {
    pub name: String,
    pub label: String,
    pub field_type: FieldType,
    pub storage: Storage,
    /// Maximum length for text types, 0 otherwise.
    pub length: u32,
    /// Total digits (for double, currency, percent).
    pub precision: u32,
    /// Digits after the decimal point.
    pub scale: u32,
    /// Digits of an `int` field.
    pub digits: u32,
    pub nillable: bool,
    pub createable: bool,
    pub updateable: bool,
    pub defaulted_on_create: bool,
    /// A default applied on create when the field is not given (booleans, picklists, ...).
    pub default_value: Option<DefaultValue>,
    pub unique: bool,
    pub external_id: bool,
    pub case_sensitive: bool,
    pub id_lookup: bool,
    pub name_field: bool,
    pub custom: bool,
    pub calculated: bool,
    pub auto_number: bool,
    pub html_formatted: bool,
    pub picklist: Vec<PicklistValue>,
    pub restricted_picklist: bool,
    /// Objects a reference may point to (more than one: polymorphic, such as `WhoId`).
    pub reference_to: Vec<String>,
    /// The parent relationship name: `Account` for `AccountId`, `Parent__r` for `Parent__c`.
    pub relationship_name: Option<String>,
    /// The child relationship name on the referenced object: `Contacts` for `Contact.AccountId`.
    pub child_relationship_name: Option<String>,
    pub cascade_delete: bool,
    /// For components of a compound field: the compound's name (`BillingStreet` → `BillingAddress`).
    pub compound_field_name: Option<String>,
    /// Help text shown beside the field (`inlineHelpText`).
    pub help_text: Option<String>,
}

/// A default value for a field, applied on create.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum DefaultValue {
    Bool(bool),
    Text(String),
    Number(f64),
}

impl FieldDef {
    pub(crate) fn column(&self) -> Option<usize> {
        match self.storage {
            Storage::Column(c) => Some(c),
            _ => None,
        }
    }

    pub(crate) fn is_reference(&self) -> bool {
        self.field_type == FieldType::Reference
    }

    pub(crate) fn filterable(&self) -> bool {
        match self.field_type {
            FieldType::Base64 | FieldType::Address | FieldType::Location => false,
            FieldType::Textarea => self.length <= 255,
            _ => true,
        }
    }

    pub(crate) fn sortable(&self) -> bool {
        match self.field_type {
            FieldType::Multipicklist
            | FieldType::Base64
            | FieldType::Address
            | FieldType::Location => false,
            FieldType::Textarea => self.length <= 255,
            _ => true,
        }
    }

    pub(crate) fn groupable(&self) -> bool {
        self.sortable()
            && !matches!(
                self.field_type,
                FieldType::Double
                    | FieldType::Currency
                    | FieldType::Percent
                    | FieldType::DateTime
                    | FieldType::Time
            )
    }

    /// Fields that can be aggregated are the ones that can be sorted.
    pub(crate) fn aggregatable(&self) -> bool {
        self.sortable()
    }

    /// The picklist entry for `value`, compared without case.
    pub(crate) fn picklist_entry(&self, value: &str) -> Option<&PicklistValue> {
        self.picklist
            .iter()
            .find(|p| p.value.eq_ignore_ascii_case(value))
    }
}

/// The system columns every object has, resolved once.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SystemColumns {
    pub is_deleted: usize,
    pub created_date: usize,
    pub created_by: usize,
    pub last_modified_date: usize,
    pub last_modified_by: usize,
    pub system_modstamp: usize,
    pub owner: Option<usize>,
}

/// Object-level flags from describe.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ObjectFlags {
    pub createable: bool,
    pub updateable: bool,
    pub deletable: bool,
    pub queryable: bool,
    pub searchable: bool,
    pub undeletable: bool,
    /// Deleted records are erased at once: no recycle bin, no entry in the delete log, so
    /// neither `queryAll` nor `/deleted` shows them (CampaignMember, as on a real org).
    pub hard_deletes: bool,
    pub replicateable: bool,
    pub triggerable: bool,
    pub feed_enabled: bool,
    pub mergeable: bool,
    pub layoutable: bool,
}

/// A parent-to-child relationship, seen from the parent.
#[derive(Debug, Clone)]
pub(crate) struct ChildRelationship {
    pub name: String,
    /// The child object.
    pub child: ObjectIdx,
    /// The reference field on the child.
    pub field: usize,
    pub cascade_delete: bool,
}

/// The index of an object in the schema (and of its table in the store).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct ObjectIdx(pub usize);

/// One object (standard or custom).
#[derive(Debug, Clone)]
pub(crate) struct ObjectDef {
    pub name: String,
    pub label: String,
    pub label_plural: String,
    pub key_prefix: String,
    pub custom: bool,
    pub flags: ObjectFlags,
    pub fields: Vec<FieldDef>,
    /// How many values a stored record has.
    pub columns: usize,
    pub system: SystemColumns,
    /// The name field (`Name`, `Subject`, `CaseNumber`, ...), if any.
    pub name_field: Option<usize>,
    pub child_relationships: Vec<ChildRelationship>,
    /// Validation rules (a SOQL condition that must not hold, and the message when it does).
    pub validation_rules: Vec<ValidationRule>,
    /// Duplicate rules, in the order they were given (see `crate::duplicates`).
    pub duplicate_rules: Vec<DuplicateRule>,
    /// Whether the records are kept in a data directory; false for an object whose records
    /// the org makes from its configuration at every start (Organization).
    pub stored: bool,
    by_name: HashMap<String, usize>,
    by_relationship: HashMap<String, usize>,
    by_child_relationship: HashMap<String, usize>,
}

/// A validation rule: when `condition` (a SOQL WHERE condition over the record) is true, the
/// save fails with FIELD_CUSTOM_VALIDATION_EXCEPTION and `message`.
#[derive(Debug, Clone)]
pub(crate) struct ValidationRule {
    pub name: String,
    pub condition: forcebridge_soql::Condition,
    pub message: String,
    /// The field the error is shown on, if any.
    pub field: Option<String>,
}

/// A duplicate rule with its matching rule: a record whose `fields` all hold the same
/// non-empty values (without case) as a saved record's is a duplicate of it.
#[derive(Debug, Clone)]
pub(crate) struct DuplicateRule {
    pub name: String,
    /// Indexes into the object's `fields`; each is stored in a column.
    pub fields: Vec<usize>,
    pub on_create: crate::config::DuplicateAction,
    pub on_edit: crate::config::DuplicateAction,
    /// The alert text.
    pub message: String,
}

impl ObjectDef {
    /// A field by name, without regard to case.
    pub(crate) fn field(&self, name: &str) -> Option<(usize, &FieldDef)> {
        let index = *self.by_name.get(&name.to_ascii_lowercase())?;
        Some((index, &self.fields[index]))
    }

    /// The reference field behind a parent relationship name (`Account` → `AccountId`).
    pub(crate) fn relationship(&self, name: &str) -> Option<(usize, &FieldDef)> {
        let index = *self.by_relationship.get(&name.to_ascii_lowercase())?;
        Some((index, &self.fields[index]))
    }

    pub(crate) fn child_relationship(&self, name: &str) -> Option<&ChildRelationship> {
        let index = *self.by_child_relationship.get(&name.to_ascii_lowercase())?;
        Some(&self.child_relationships[index])
    }

    /// Takes the field `name` out of the object (its column stays, unused), and re-indexes the
    /// names; false when there is no such field.
    fn remove_field(&mut self, name: &str) -> bool {
        let Some((index, _)) = self.field(name) else {
            return false;
        };
        self.fields.remove(index);
        self.by_name = self
            .fields
            .iter()
            .enumerate()
            .map(|(i, f)| (f.name.to_ascii_lowercase(), i))
            .collect();
        self.by_relationship = self
            .fields
            .iter()
            .enumerate()
            .filter_map(|(i, f)| Some((f.relationship_name.as_ref()?.to_ascii_lowercase(), i)))
            .collect();
        self.name_field = self.fields.iter().position(|f| f.name_field);
        true
    }

    /// The fields `FIELDS(STANDARD)`, `FIELDS(CUSTOM)` and `FIELDS(ALL)` select, in describe order.
    pub(crate) fn field_set(&self, set: forcebridge_soql::FieldSet) -> Vec<usize> {
        use forcebridge_soql::FieldSet;
        (0..self.fields.len())
            .filter(|&i| match set {
                FieldSet::All => true,
                FieldSet::Standard => !self.fields[i].custom,
                FieldSet::Custom => self.fields[i].custom,
            })
            .collect()
    }
}

/// Every object of the org.
#[derive(Debug, Clone)]
pub(crate) struct Schema {
    objects: Vec<ObjectDef>,
    by_name: HashMap<String, ObjectIdx>,
    by_prefix: HashMap<String, ObjectIdx>,
}

/// A problem in an object definition, found when the schema is built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaError(pub String);

impl std::fmt::Display for SchemaError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SchemaError {}

impl Schema {
    /// Builds the schema from object definitions: checks names and key prefixes are unique and
    /// references point at known objects, and links child relationships to their parents.
    pub(crate) fn new(mut objects: Vec<ObjectDef>) -> Result<Schema, SchemaError> {
        let mut by_name = HashMap::new();
        let mut by_prefix = HashMap::new();
        for (i, object) in objects.iter().enumerate() {
            if by_name
                .insert(object.name.to_ascii_lowercase(), ObjectIdx(i))
                .is_some()
            {
                return Err(SchemaError(format!(
                    "object {} is defined twice",
                    object.name
                )));
            }
            if by_prefix
                .insert(object.key_prefix.clone(), ObjectIdx(i))
                .is_some()
            {
                return Err(SchemaError(format!(
                    "key prefix {} of {} is already used by another object",
                    object.key_prefix, object.name
                )));
            }
        }
        let mut links = Vec::new();
        for (child_index, object) in objects.iter().enumerate() {
            for (field_index, field) in object.fields.iter().enumerate() {
                for target in &field.reference_to {
                    let Some(&parent) = by_name.get(&target.to_ascii_lowercase()) else {
                        return Err(SchemaError(format!(
                            "{}.{} refers to unknown object {target}",
                            object.name, field.name
                        )));
                    };
                    if let Some(name) = &field.child_relationship_name {
                        links.push((
                            parent,
                            ChildRelationship {
                                name: name.clone(),
                                child: ObjectIdx(child_index),
                                field: field_index,
                                cascade_delete: field.cascade_delete,
                            },
                        ));
                    }
                }
            }
        }
        for (ObjectIdx(parent), relationship) in links {
            let object = &mut objects[parent];
            let key = relationship.name.to_ascii_lowercase();
            if object.by_child_relationship.contains_key(&key) {
                return Err(SchemaError(format!(
                    "child relationship {} is defined twice on {}",
                    relationship.name, object.name
                )));
            }
            object
                .by_child_relationship
                .insert(key, object.child_relationships.len());
            object.child_relationships.push(relationship);
        }
        Ok(Schema {
            objects,
            by_name,
            by_prefix,
        })
    }

    pub(crate) fn objects(&self) -> &[ObjectDef] {
        &self.objects
    }

    pub(crate) fn object(&self, idx: ObjectIdx) -> &ObjectDef {
        &self.objects[idx.0]
    }

    /// An object by name, without regard to case.
    pub(crate) fn find(&self, name: &str) -> Option<(ObjectIdx, &ObjectDef)> {
        let idx = *self.by_name.get(&name.to_ascii_lowercase())?;
        Some((idx, &self.objects[idx.0]))
    }

    /// The object an id belongs to, from its key prefix.
    pub(crate) fn by_prefix(&self, prefix: &str) -> Option<(ObjectIdx, &ObjectDef)> {
        let idx = *self.by_prefix.get(prefix)?;
        Some((idx, &self.objects[idx.0]))
    }
}

impl Schema {
    /// This schema with `rules` as its duplicate rules (replacing any it had): each names an
    /// object and its fields, which must exist and be stored. The record layout is unchanged.
    pub(crate) fn with_duplicate_rules(
        &self,
        rules: &[crate::config::DuplicateRuleConfig],
    ) -> Result<Schema, SchemaError> {
        let mut schema = self.clone();
        for object in &mut schema.objects {
            object.duplicate_rules.clear();
        }
        for rule in rules {
            let place = format!("duplicate rule {}", rule.name);
            let Some((index, _)) = schema.find(&rule.object) else {
                return Err(SchemaError(format!(
                    "{place}: unknown object {}",
                    rule.object
                )));
            };
            let object = &mut schema.objects[index.0];
            if rule.name.trim().is_empty() {
                return Err(SchemaError(format!(
                    "a duplicate rule on {} needs a name",
                    object.name
                )));
            }
            if object
                .duplicate_rules
                .iter()
                .any(|r| r.name.eq_ignore_ascii_case(&rule.name))
            {
                return Err(SchemaError(format!(
                    "{place}: {} already has a duplicate rule named {}",
                    object.name, rule.name
                )));
            }
            if rule.fields.is_empty() {
                return Err(SchemaError(format!(
                    "{place} on {}: the rule needs at least one field to match on",
                    object.name
                )));
            }
            let mut fields = Vec::with_capacity(rule.fields.len());
            for name in &rule.fields {
                let (field_index, field) = object.field(name).ok_or_else(|| {
                    SchemaError(format!("{place}: {} has no field {name}", object.name))
                })?;
                if field.column().is_none() {
                    return Err(SchemaError(format!(
                        "{place}: {}.{} cannot be matched on (it is not a stored field; name its components instead)",
                        object.name, field.name
                    )));
                }
                if !fields.contains(&field_index) {
                    fields.push(field_index);
                }
            }
            object.duplicate_rules.push(DuplicateRule {
                name: rule.name.clone(),
                fields,
                on_create: rule.on_create,
                on_edit: rule.on_edit,
                message: rule
                    .message
                    .clone()
                    .filter(|m| !m.trim().is_empty())
                    .unwrap_or_else(|| crate::config::DEFAULT_DUPLICATE_MESSAGE.to_string()),
            });
        }
        Ok(schema)
    }
}

/// The org's schema: the standard objects plus the custom objects and fields of `objects`
/// (the configuration's, and those added while the org runs), with `rules`.
pub(crate) fn build(
    objects: &[crate::config::ObjectConfig],
    rules: &[crate::config::ValidationRuleConfig],
) -> Result<Schema, SchemaError> {
    custom::build(standard::standard_objects(), objects, &[], rules)
}

/// [`build`] without the custom fields `removed` (object and field names) removed while the org
/// ran: each is gone from its object's fields, describe and SOQL, but its column stays in the
/// layout (empty from then on), so the columns of every other field do not move and records
/// read under an older schema keep every column it expects. A validation rule that still
/// names a removed field is an error, as it is in Setup.
pub(crate) fn build_without(
    objects: &[crate::config::ObjectConfig],
    removed: &[(String, String)],
    rules: &[crate::config::ValidationRuleConfig],
) -> Result<Schema, SchemaError> {
    custom::build(standard::standard_objects(), objects, removed, rules)
}

/// Whether `new` only adds to `old`: the same objects in the same places, each with the same
/// fields in the same columns, and new fields and objects after them. A schema change while
/// the org runs must be such an addition, or stored records would be misread.
pub(crate) fn only_adds(old: &Schema, new: &Schema) -> bool {
    old.objects.len() <= new.objects.len()
        && old.objects.iter().zip(&new.objects).all(|(before, after)| {
            before.name == after.name
                && before.columns <= after.columns
                && before.fields.len() <= after.fields.len()
                && before
                    .fields
                    .iter()
                    .zip(&after.fields)
                    .all(|(a, b)| a.name == b.name && a.storage == b.storage)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_schema_links_relationships_both_ways() {
        let schema = standard::schema(Vec::new()).unwrap();
        let (_, contact) = schema.find("contact").unwrap();
        let (_, account_id) = contact.relationship("ACCOUNT").unwrap();
        assert_eq!(account_id.name, "AccountId");
        let (_, account) = schema.find("Account").unwrap();
        let contacts = account.child_relationship("contacts").unwrap();
        assert_eq!(schema.object(contacts.child).name, "Contact");
        assert_eq!(schema.by_prefix("003").unwrap().1.name, "Contact");
    }
}
