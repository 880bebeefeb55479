//! The typed model of an org's metadata: objects, fields, picklists, references and the
//! relationships they make. Plain data with public fields; nothing here talks to an org or
//! knows a file format.

use std::fmt;

/// What an org's describes say about the objects a [`crate::Selection`] chose, at one moment.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Catalog {
    /// The API version the describes were read with (`62.0`).
    pub api_version: String,
    /// When the org answered the global describe, in UTC (RFC 3339, seconds). A later run
    /// revalidates describes with `If-Modified-Since` this time.
    pub extracted_at: String,
    /// The objects, sorted by name.
    pub objects: Vec<Object>,
}

/// One sObject type.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Object {
    /// API name (`Account`, `Invoice__c`).
    pub name: String,
    pub label: String,
    pub label_plural: String,
    /// The three characters every record id of the object starts with, when it has one.
    pub key_prefix: Option<String>,
    /// A custom object (`__c`) rather than a standard one.
    pub custom: bool,
    /// What the API lets a client do with the object.
    pub operations: Operations,
    /// Approximate number of records (`/limits/recordCount`), when the org reported one.
    pub record_count: Option<u64>,
    /// Record types, when the object has any besides the master.
    pub record_types: Vec<RecordType>,
    /// The fields, in the order the describe lists them.
    pub fields: Vec<Field>,
    /// Reference fields of other objects that point here (`Account.Contacts`).
    pub child_relationships: Vec<ChildRelationship>,
}

/// The operations an object allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Operations {
    pub queryable: bool,
    pub createable: bool,
    pub updateable: bool,
    pub deletable: bool,
    /// `replicateable` in the describe: `updated`/`deleted` work for it.
    pub replicable: bool,
    pub searchable: bool,
}

/// A record type of an object.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RecordType {
    pub id: String,
    pub name: String,
    pub developer_name: String,
    pub active: bool,
    /// Available to the user who extracted the catalog.
    pub available: bool,
    /// The user's default record type for the object.
    pub default: bool,
    /// The master record type (records with no record type).
    pub master: bool,
}

/// One field of an object.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Field {
    /// API name (`Industry`, `Amount__c`).
    pub name: String,
    pub label: String,
    pub field_type: FieldType,
    /// Maximum length in characters for text types; 0 otherwise.
    pub length: u32,
    /// Total digits of a number, currency or percent; 0 otherwise.
    pub precision: u32,
    /// Digits after the decimal point.
    pub scale: u32,
    /// Maximum digits of an integer field.
    pub digits: u32,
    pub nillable: bool,
    /// A value must be given on create: not nillable, createable and not defaulted on create.
    pub required_on_create: bool,
    pub unique: bool,
    pub case_sensitive: bool,
    pub external_id: bool,
    pub custom: bool,
    /// A formula (or roll-up, or compound) field the org computes.
    pub calculated: bool,
    /// The formula text of a formula field.
    pub formula: Option<String>,
    /// An auto-number field.
    pub auto_number: bool,
    /// The default value, written as text (`true`, `Gold`, `5`).
    pub default_value: Option<String>,
    /// The formula of a default value computed on create.
    pub default_formula: Option<String>,
    /// The values of a picklist or multi-select picklist.
    pub picklist: Option<Picklist>,
    /// Inline help text.
    pub help_text: Option<String>,
    pub createable: bool,
    pub updateable: bool,
    pub filterable: bool,
    pub sortable: bool,
    pub groupable: bool,
    /// Where a reference field points.
    pub reference: Option<Reference>,
    /// For a component of a compound field (`BillingStreet`), the compound (`BillingAddress`).
    pub compound_field: Option<String>,
}

/// The values of a picklist field.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Picklist {
    pub values: Vec<PicklistValue>,
    /// Only the listed values are accepted.
    pub restricted: bool,
    /// The controlling field of a dependent picklist.
    pub controller: Option<String>,
}

/// One picklist value.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PicklistValue {
    pub value: String,
    pub label: String,
    pub active: bool,
    /// The field's default value.
    pub default: bool,
    /// For a dependent picklist, the controlling field's values for which this value is
    /// offered (decoded from the describe's `validFor` bitmap); empty otherwise.
    pub valid_for: Vec<String>,
}

/// Where a reference (lookup or master-detail) field points.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Reference {
    /// The objects it may point to: one, or several for a polymorphic field (`WhoId`).
    pub targets: Vec<String>,
    /// The name used to traverse it in SOQL (`Account` for `AccountId`, `Owner__r`).
    pub relationship_name: Option<String>,
    pub kind: RelationshipKind,
    /// Deleting the parent deletes the child.
    pub cascade_delete: bool,
    /// The parent cannot be deleted while children point to it.
    pub restricted_delete: bool,
}

/// Lookup or master-detail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum RelationshipKind {
    Lookup,
    /// The child belongs to its parent: the parent is required and deleting it deletes the child.
    MasterDetail,
}

impl RelationshipKind {
    /// `lookup` or `master-detail`.
    pub fn as_str(self) -> &'static str {
        match self {
            RelationshipKind::Lookup => "lookup",
            RelationshipKind::MasterDetail => "master-detail",
        }
    }
}

/// A reference from another object to this one, as the parent's describe lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ChildRelationship {
    /// The name used in SOQL subqueries (`Contacts`); some have none.
    pub name: Option<String>,
    pub child_object: String,
    pub field: String,
    pub cascade_delete: bool,
    pub restricted_delete: bool,
}

/// One edge of the org's graph: a reference field of `child` pointing to `parent`. A
/// polymorphic field makes one relationship per target.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub struct Relationship {
    /// The object holding the reference field.
    pub child: String,
    /// The reference field (`AccountId`).
    pub field: String,
    /// The object pointed to.
    pub parent: String,
    pub kind: RelationshipKind,
    /// The name to traverse from child to parent (`Account`).
    pub relationship_name: Option<String>,
    /// The name to traverse from parent to children (`Contacts`), when the parent is in the
    /// catalog and names it.
    pub child_relationship_name: Option<String>,
    /// The field points to more than one object.
    pub polymorphic: bool,
}

impl Relationship {
    /// The field points to its own object (`Account.ParentId`).
    pub fn is_self_reference(&self) -> bool {
        self.child == self.parent
    }

    /// Whether this is one of the owner and audit lookups (`OwnerId`, `CreatedById`,
    /// `LastModifiedById`) that nearly every object has; diagrams leave them out.
    pub fn is_system(&self) -> bool {
        matches!(
            self.field.as_str(),
            "OwnerId" | "CreatedById" | "LastModifiedById"
        )
    }
}

/// A field's data type, as the describe's `type` names it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum FieldType {
    Id,
    Reference,
    String,
    Textarea,
    Picklist,
    Multipicklist,
    Combobox,
    Boolean,
    Int,
    Long,
    Double,
    Currency,
    Percent,
    Date,
    DateTime,
    Time,
    Email,
    Phone,
    Url,
    Base64,
    EncryptedString,
    Address,
    Location,
    AnyType,
    Json,
    ComplexValue,
    DataCategoryGroupReference,
    /// A type this version of forcebridge does not know, kept as the org named it.
    Other(String),
}

impl FieldType {
    /// Every type forcebridge knows, in the order of the mapping table.
    pub const KNOWN: [FieldType; 27] = [
        FieldType::Id,
        FieldType::Reference,
        FieldType::String,
        FieldType::Textarea,
        FieldType::Picklist,
        FieldType::Multipicklist,
        FieldType::Combobox,
        FieldType::Email,
        FieldType::Phone,
        FieldType::Url,
        FieldType::EncryptedString,
        FieldType::Boolean,
        FieldType::Int,
        FieldType::Long,
        FieldType::Double,
        FieldType::Currency,
        FieldType::Percent,
        FieldType::Date,
        FieldType::DateTime,
        FieldType::Time,
        FieldType::Base64,
        FieldType::Address,
        FieldType::Location,
        FieldType::AnyType,
        FieldType::Json,
        FieldType::ComplexValue,
        FieldType::DataCategoryGroupReference,
    ];

    /// The type the describe names `name`; an unknown name is kept as [`FieldType::Other`].
    pub fn parse(name: &str) -> FieldType {
        FieldType::KNOWN
            .into_iter()
            .find(|t| t.as_str() == name)
            .unwrap_or_else(|| FieldType::Other(name.to_string()))
    }

    /// The describe's name for the type (`datetime`, `anyType`).
    pub fn as_str(&self) -> &str {
        match self {
            FieldType::Id => "id",
            FieldType::Reference => "reference",
            FieldType::String => "string",
            FieldType::Textarea => "textarea",
            FieldType::Picklist => "picklist",
            FieldType::Multipicklist => "multipicklist",
            FieldType::Combobox => "combobox",
            FieldType::Boolean => "boolean",
            FieldType::Int => "int",
            FieldType::Long => "long",
            FieldType::Double => "double",
            FieldType::Currency => "currency",
            FieldType::Percent => "percent",
            FieldType::Date => "date",
            FieldType::DateTime => "datetime",
            FieldType::Time => "time",
            FieldType::Email => "email",
            FieldType::Phone => "phone",
            FieldType::Url => "url",
            FieldType::Base64 => "base64",
            FieldType::EncryptedString => "encryptedstring",
            FieldType::Address => "address",
            FieldType::Location => "location",
            FieldType::AnyType => "anyType",
            FieldType::Json => "json",
            FieldType::ComplexValue => "complexvalue",
            FieldType::DataCategoryGroupReference => "datacategorygroupreference",
            FieldType::Other(name) => name,
        }
    }

    /// A compound field (address, location), whose values also come as component fields.
    pub fn is_compound(&self) -> bool {
        matches!(self, FieldType::Address | FieldType::Location)
    }

    /// A picklist type, whose values the catalog lists.
    pub fn is_picklist(&self) -> bool {
        matches!(
            self,
            FieldType::Picklist | FieldType::Multipicklist | FieldType::Combobox
        )
    }
}

impl fmt::Display for FieldType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Field {
    /// The type as a person reads it: `string(80)`, `currency(18,2)`, `reference(Account)`,
    /// `formula currency(18,2)`.
    pub fn type_summary(&self) -> String {
        let base = match &self.field_type {
            t if self.reference.is_some() && *t == FieldType::Reference => {
                let reference = self.reference.as_ref().map(|r| r.targets.join("|"));
                format!("reference({})", reference.unwrap_or_default())
            }
            FieldType::Currency | FieldType::Percent | FieldType::Double if self.precision > 0 => {
                format!("{}({},{})", self.field_type, self.precision, self.scale)
            }
            FieldType::Int if self.digits > 0 => format!("int({})", self.digits),
            t if self.length > 0 && !matches!(t, FieldType::Id | FieldType::Reference) => {
                format!("{}({})", self.field_type, self.length)
            }
            t => t.to_string(),
        };
        if self.formula.is_some() {
            format!("formula {base}")
        } else if self.auto_number {
            format!("auto-number {base}")
        } else {
            base
        }
    }
}

impl Catalog {
    /// A catalog of `objects` (sorted here by name), read with `api_version` at
    /// `extracted_at` (UTC, RFC 3339): for callers that describe objects themselves, such as
    /// the sync engine, which writes the catalog tables of what it syncs.
    pub fn new(
        api_version: impl Into<String>,
        extracted_at: impl Into<String>,
        mut objects: Vec<Object>,
    ) -> Catalog {
        objects.sort_by(|a, b| a.name.cmp(&b.name));
        Catalog {
            api_version: api_version.into(),
            extracted_at: extracted_at.into(),
            objects,
        }
    }

    /// The object named `name` (case-insensitive, as Salesforce names are).
    pub fn object(&self, name: &str) -> Option<&Object> {
        self.objects
            .iter()
            .find(|o| o.name.eq_ignore_ascii_case(name))
    }

    /// Every relationship whose child is in the catalog, one per reference field and target,
    /// sorted by child, field and parent. Targets outside the catalog are included.
    pub fn relationships(&self) -> Vec<Relationship> {
        let mut out = Vec::new();
        for object in &self.objects {
            for field in &object.fields {
                let Some(reference) = &field.reference else {
                    continue;
                };
                for target in &reference.targets {
                    let child_relationship_name = self.object(target).and_then(|parent| {
                        parent
                            .child_relationships
                            .iter()
                            .find(|c| c.child_object == object.name && c.field == field.name)
                            .and_then(|c| c.name.clone())
                    });
                    out.push(Relationship {
                        child: object.name.clone(),
                        field: field.name.clone(),
                        parent: target.clone(),
                        kind: reference.kind,
                        relationship_name: reference.relationship_name.clone(),
                        child_relationship_name,
                        polymorphic: reference.targets.len() > 1,
                    });
                }
            }
        }
        out.sort();
        out
    }
}

impl Object {
    /// The field named `name` (case-insensitive).
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields
            .iter()
            .find(|f| f.name.eq_ignore_ascii_case(name))
    }
}
