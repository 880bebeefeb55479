//! The catalog as a stable, versioned JSON document (`forcebridge-catalog` version 1), the
//! crate's one serde boundary. Its JSON Schema is `schema/catalog-v1.json`.
//!
//! Every member is always written (`null` when empty) and objects, fields and relationships
//! come in a fixed order, so two documents of the same org compare line by line. Derived
//! members (`relationships`, each field's `sql`) are written for readers' convenience and
//! recomputed, not read, when a document is loaded.

use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorKind, Result};
use crate::extract::ExtractReport;
use crate::model::{
    Catalog, ChildRelationship, Field, FieldType, Object, Operations, Picklist, PicklistValue,
    RecordType, Reference, RelationshipKind,
};
use crate::sql::{Dialect, column_type};

/// The `format` member of every catalog document.
pub const FORMAT: &str = "forcebridge-catalog";
/// The version of the document this crate writes and reads.
pub const VERSION: u32 = 1;
/// The JSON Schema of version 1.
pub const SCHEMA_V1: &str = include_str!("../schema/catalog-v1.json");

impl Catalog {
    /// The catalog as a version 1 document, pretty-printed. With a report, the document says
    /// how it was extracted (`extraction`: API calls, objects described and revalidated).
    pub fn to_json(&self, report: Option<&ExtractReport>) -> String {
        let document = Document::from_catalog(self, report);
        let mut text = serde_json::to_string_pretty(&document).unwrap_or_default();
        text.push('\n');
        text
    }

    /// Reads a document written by [`Catalog::to_json`].
    pub fn from_json(text: &str) -> Result<Catalog> {
        let header: Header = serde_json::from_str(text).map_err(|e| {
            Error::new(ErrorKind::Document, "not a catalog document").with_source(e)
        })?;
        if header.format != FORMAT {
            return Err(Error::new(
                ErrorKind::Document,
                format!(
                    "not a catalog document: its format is {:?}, not {FORMAT:?}",
                    header.format
                ),
            ));
        }
        if header.version != VERSION {
            return Err(Error::new(
                ErrorKind::Document,
                format!(
                    "catalog document version {} is not supported (this forcebridge reads version {VERSION})",
                    header.version
                ),
            ));
        }
        let document: Document = serde_json::from_str(text).map_err(|e| {
            Error::new(ErrorKind::Document, "the catalog document is malformed").with_source(e)
        })?;
        document.into_catalog()
    }
}

#[derive(Deserialize)]
struct Header {
    format: String,
    version: u32,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Document {
    format: String,
    version: u32,
    api_version: String,
    extracted_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    extraction: Option<Extraction>,
    objects: Vec<ObjectDoc>,
    #[serde(default, skip_deserializing)]
    relationships: Vec<RelationshipDoc>,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Extraction {
    api_calls: u64,
    objects_selected: usize,
    objects_described: usize,
    objects_revalidated: usize,
    failures: Vec<FailureDoc>,
}

#[derive(Serialize, Deserialize)]
struct FailureDoc {
    object: String,
    message: String,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ObjectDoc {
    name: String,
    label: String,
    label_plural: String,
    key_prefix: Option<String>,
    custom: bool,
    operations: OperationsDoc,
    record_count: Option<u64>,
    record_types: Vec<RecordTypeDoc>,
    fields: Vec<FieldDoc>,
    child_relationships: Vec<ChildDoc>,
}

#[derive(Serialize, Deserialize)]
struct OperationsDoc {
    queryable: bool,
    createable: bool,
    updateable: bool,
    deletable: bool,
    replicable: bool,
    searchable: bool,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RecordTypeDoc {
    id: String,
    name: String,
    developer_name: String,
    active: bool,
    available: bool,
    default: bool,
    master: bool,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct FieldDoc {
    name: String,
    label: String,
    #[serde(rename = "type")]
    field_type: String,
    length: u32,
    precision: u32,
    scale: u32,
    digits: u32,
    nillable: bool,
    required_on_create: bool,
    unique: bool,
    case_sensitive: bool,
    external_id: bool,
    custom: bool,
    calculated: bool,
    formula: Option<String>,
    auto_number: bool,
    default_value: Option<String>,
    default_formula: Option<String>,
    picklist: Option<PicklistDoc>,
    help_text: Option<String>,
    createable: bool,
    updateable: bool,
    filterable: bool,
    sortable: bool,
    groupable: bool,
    reference: Option<ReferenceDoc>,
    compound_field: Option<String>,
    #[serde(default, skip_deserializing)]
    sql: Option<SqlDoc>,
}

#[derive(Serialize, Deserialize)]
struct PicklistDoc {
    restricted: bool,
    controller: Option<String>,
    values: Vec<PicklistValueDoc>,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PicklistValueDoc {
    value: String,
    label: String,
    active: bool,
    default: bool,
    valid_for: Vec<String>,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ReferenceDoc {
    targets: Vec<String>,
    relationship_name: Option<String>,
    kind: String,
    cascade_delete: bool,
    restricted_delete: bool,
}

#[derive(Serialize, Deserialize)]
struct SqlDoc {
    sqlite: String,
    postgres: String,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ChildDoc {
    name: Option<String>,
    child_object: String,
    field: String,
    cascade_delete: bool,
    restricted_delete: bool,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RelationshipDoc {
    child: String,
    field: String,
    parent: String,
    kind: String,
    relationship_name: Option<String>,
    child_relationship_name: Option<String>,
    polymorphic: bool,
    self_reference: bool,
}

impl Document {
    fn from_catalog(catalog: &Catalog, report: Option<&ExtractReport>) -> Document {
        Document {
            format: FORMAT.to_string(),
            version: VERSION,
            api_version: catalog.api_version.clone(),
            extracted_at: catalog.extracted_at.clone(),
            extraction: report.map(|r| Extraction {
                api_calls: r.api_calls,
                objects_selected: r.objects_selected,
                objects_described: r.objects_described,
                objects_revalidated: r.objects_revalidated,
                failures: r
                    .failures
                    .iter()
                    .map(|f| FailureDoc {
                        object: f.object.clone(),
                        message: f.message.clone(),
                    })
                    .collect(),
            }),
            objects: catalog.objects.iter().map(object_doc).collect(),
            relationships: catalog
                .relationships()
                .into_iter()
                .map(|r| RelationshipDoc {
                    self_reference: r.is_self_reference(),
                    child: r.child,
                    field: r.field,
                    parent: r.parent,
                    kind: r.kind.as_str().to_string(),
                    relationship_name: r.relationship_name,
                    child_relationship_name: r.child_relationship_name,
                    polymorphic: r.polymorphic,
                })
                .collect(),
        }
    }

    fn into_catalog(self) -> Result<Catalog> {
        let mut objects = self
            .objects
            .into_iter()
            .map(object_from_doc)
            .collect::<Result<Vec<_>>>()?;
        objects.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(Catalog {
            api_version: self.api_version,
            extracted_at: self.extracted_at,
            objects,
        })
    }
}

fn object_doc(o: &Object) -> ObjectDoc {
    ObjectDoc {
        name: o.name.clone(),
        label: o.label.clone(),
        label_plural: o.label_plural.clone(),
        key_prefix: o.key_prefix.clone(),
        custom: o.custom,
        operations: OperationsDoc {
            queryable: o.operations.queryable,
            createable: o.operations.createable,
            updateable: o.operations.updateable,
            deletable: o.operations.deletable,
            replicable: o.operations.replicable,
            searchable: o.operations.searchable,
        },
        record_count: o.record_count,
        record_types: o
            .record_types
            .iter()
            .map(|r| RecordTypeDoc {
                id: r.id.clone(),
                name: r.name.clone(),
                developer_name: r.developer_name.clone(),
                active: r.active,
                available: r.available,
                default: r.default,
                master: r.master,
            })
            .collect(),
        fields: o.fields.iter().map(field_doc).collect(),
        child_relationships: o
            .child_relationships
            .iter()
            .map(|c| ChildDoc {
                name: c.name.clone(),
                child_object: c.child_object.clone(),
                field: c.field.clone(),
                cascade_delete: c.cascade_delete,
                restricted_delete: c.restricted_delete,
            })
            .collect(),
    }
}

fn field_doc(f: &Field) -> FieldDoc {
    FieldDoc {
        name: f.name.clone(),
        label: f.label.clone(),
        field_type: f.field_type.as_str().to_string(),
        length: f.length,
        precision: f.precision,
        scale: f.scale,
        digits: f.digits,
        nillable: f.nillable,
        required_on_create: f.required_on_create,
        unique: f.unique,
        case_sensitive: f.case_sensitive,
        external_id: f.external_id,
        custom: f.custom,
        calculated: f.calculated,
        formula: f.formula.clone(),
        auto_number: f.auto_number,
        default_value: f.default_value.clone(),
        default_formula: f.default_formula.clone(),
        picklist: f.picklist.as_ref().map(|p| PicklistDoc {
            restricted: p.restricted,
            controller: p.controller.clone(),
            values: p
                .values
                .iter()
                .map(|v| PicklistValueDoc {
                    value: v.value.clone(),
                    label: v.label.clone(),
                    active: v.active,
                    default: v.default,
                    valid_for: v.valid_for.clone(),
                })
                .collect(),
        }),
        help_text: f.help_text.clone(),
        createable: f.createable,
        updateable: f.updateable,
        filterable: f.filterable,
        sortable: f.sortable,
        groupable: f.groupable,
        reference: f.reference.as_ref().map(|r| ReferenceDoc {
            targets: r.targets.clone(),
            relationship_name: r.relationship_name.clone(),
            kind: r.kind.as_str().to_string(),
            cascade_delete: r.cascade_delete,
            restricted_delete: r.restricted_delete,
        }),
        compound_field: f.compound_field.clone(),
        sql: match (
            column_type(f, Dialect::Sqlite),
            column_type(f, Dialect::Postgres),
        ) {
            (Some(sqlite), Some(postgres)) => Some(SqlDoc { sqlite, postgres }),
            _ => None,
        },
    }
}

fn object_from_doc(o: ObjectDoc) -> Result<Object> {
    Ok(Object {
        name: o.name,
        label: o.label,
        label_plural: o.label_plural,
        key_prefix: o.key_prefix,
        custom: o.custom,
        operations: Operations {
            queryable: o.operations.queryable,
            createable: o.operations.createable,
            updateable: o.operations.updateable,
            deletable: o.operations.deletable,
            replicable: o.operations.replicable,
            searchable: o.operations.searchable,
        },
        record_count: o.record_count,
        record_types: o
            .record_types
            .into_iter()
            .map(|r| RecordType {
                id: r.id,
                name: r.name,
                developer_name: r.developer_name,
                active: r.active,
                available: r.available,
                default: r.default,
                master: r.master,
            })
            .collect(),
        fields: o
            .fields
            .into_iter()
            .map(field_from_doc)
            .collect::<Result<Vec<_>>>()?,
        child_relationships: o
            .child_relationships
            .into_iter()
            .map(|c| ChildRelationship {
                name: c.name,
                child_object: c.child_object,
                field: c.field,
                cascade_delete: c.cascade_delete,
                restricted_delete: c.restricted_delete,
            })
            .collect(),
    })
}

fn field_from_doc(f: FieldDoc) -> Result<Field> {
    let reference = match f.reference {
        None => None,
        Some(r) => Some(Reference {
            kind: match r.kind.as_str() {
                "lookup" => RelationshipKind::Lookup,
                "master-detail" => RelationshipKind::MasterDetail,
                other => {
                    return Err(Error::new(
                        ErrorKind::Document,
                        format!("field {}: unknown relationship kind {other:?}", f.name),
                    ));
                }
            },
            targets: r.targets,
            relationship_name: r.relationship_name,
            cascade_delete: r.cascade_delete,
            restricted_delete: r.restricted_delete,
        }),
    };
    Ok(Field {
        name: f.name,
        label: f.label,
        field_type: FieldType::parse(&f.field_type),
        length: f.length,
        precision: f.precision,
        scale: f.scale,
        digits: f.digits,
        nillable: f.nillable,
        required_on_create: f.required_on_create,
        unique: f.unique,
        case_sensitive: f.case_sensitive,
        external_id: f.external_id,
        custom: f.custom,
        calculated: f.calculated,
        formula: f.formula,
        auto_number: f.auto_number,
        default_value: f.default_value,
        default_formula: f.default_formula,
        picklist: f.picklist.map(|p| Picklist {
            restricted: p.restricted,
            controller: p.controller,
            values: p
                .values
                .into_iter()
                .map(|v| PicklistValue {
                    value: v.value,
                    label: v.label,
                    active: v.active,
                    default: v.default,
                    valid_for: v.valid_for,
                })
                .collect(),
        }),
        help_text: f.help_text,
        createable: f.createable,
        updateable: f.updateable,
        filterable: f.filterable,
        sortable: f.sortable,
        groupable: f.groupable,
        reference,
        compound_field: f.compound_field,
    })
}
