//! Describe results: `GET /sobjects` (describe global), `GET /sobjects/{Type}` (basic info) and
//! `GET /sobjects/{Type}/describe`.
//!
//! Every member Salesforce sends is present, with `null` where it has no value, because clients
//! (Airbyte, Singer, jsforce's typings) read them without checking for absence.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeGlobal {
    pub encoding: String,
    pub max_batch_size: u32,
    pub sobjects: Vec<DescribeGlobalSObject>,
}

/// One object in describe global; also the `objectDescribe` of basic info.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeGlobalSObject {
    pub activateable: bool,
    pub createable: bool,
    pub custom: bool,
    pub custom_setting: bool,
    pub deep_cloneable: bool,
    pub deletable: bool,
    pub deprecated_and_hidden: bool,
    pub feed_enabled: bool,
    pub has_subtypes: bool,
    pub is_interface: bool,
    pub is_subtype: bool,
    pub key_prefix: Option<String>,
    pub label: String,
    pub label_plural: String,
    pub layoutable: bool,
    pub mergeable: bool,
    pub mru_enabled: bool,
    pub name: String,
    pub queryable: bool,
    pub replicateable: bool,
    pub retrieveable: bool,
    pub searchable: bool,
    pub triggerable: bool,
    pub undeletable: bool,
    pub updateable: bool,
    pub urls: BTreeMap<String, String>,
}

/// `GET /sobjects/{Type}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SObjectBasicInfo {
    pub object_describe: DescribeGlobalSObject,
    pub recent_items: Vec<serde_json::Value>,
}

/// `GET /sobjects/{Type}/describe`: the describe-global members plus fields and relationships.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeSObject {
    #[serde(flatten)]
    pub object: DescribeGlobalSObject,
    pub action_overrides: Vec<serde_json::Value>,
    pub child_relationships: Vec<ChildRelationship>,
    pub compact_layoutable: bool,
    pub fields: Vec<Field>,
    pub listviewable: Option<bool>,
    pub lookup_layoutable: Option<bool>,
    pub named_layout_infos: Vec<serde_json::Value>,
    pub network_scope_field_name: Option<String>,
    pub record_type_infos: Vec<RecordTypeInfo>,
    pub search_layoutable: bool,
    pub supported_scopes: Vec<ScopeInfo>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScopeInfo {
    pub label: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChildRelationship {
    pub cascade_delete: bool,
    #[serde(rename = "childSObject")]
    pub child_sobject: String,
    pub deprecated_and_hidden: bool,
    pub field: String,
    pub junction_id_list_names: Vec<String>,
    pub junction_reference_to: Vec<String>,
    pub relationship_name: Option<String>,
    pub restricted_delete: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordTypeInfo {
    pub active: bool,
    pub available: bool,
    pub default_record_type_mapping: bool,
    pub developer_name: String,
    pub master: bool,
    pub name: String,
    pub record_type_id: String,
    pub urls: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PicklistEntry {
    pub active: bool,
    pub default_value: bool,
    pub label: String,
    pub valid_for: Option<String>,
    pub value: String,
}

/// One field of a describe. Every member is always present.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Field {
    pub aggregatable: bool,
    pub ai_prediction_field: bool,
    pub auto_number: bool,
    pub byte_length: u32,
    pub calculated: bool,
    pub calculated_formula: Option<String>,
    pub cascade_delete: bool,
    pub case_sensitive: bool,
    pub compound_field_name: Option<String>,
    pub controller_name: Option<String>,
    pub createable: bool,
    pub custom: bool,
    pub default_value: Option<serde_json::Value>,
    pub default_value_formula: Option<String>,
    pub defaulted_on_create: bool,
    pub dependent_picklist: bool,
    pub deprecated_and_hidden: bool,
    pub digits: u32,
    pub display_location_in_decimal: bool,
    pub encrypted: bool,
    pub external_id: bool,
    pub extra_type_info: Option<String>,
    pub filterable: bool,
    pub filtered_lookup_info: Option<serde_json::Value>,
    pub formula_treat_null_number_as_zero: bool,
    pub groupable: bool,
    pub high_scale_number: bool,
    pub html_formatted: bool,
    pub id_lookup: bool,
    pub inline_help_text: Option<String>,
    pub label: String,
    pub length: u32,
    pub mask: Option<String>,
    pub mask_type: Option<String>,
    pub name: String,
    pub name_field: bool,
    pub name_pointing: bool,
    pub nillable: bool,
    pub permissionable: bool,
    pub picklist_values: Vec<PicklistEntry>,
    pub polymorphic_foreign_key: bool,
    pub precision: u32,
    pub query_by_distance: bool,
    pub reference_target_field: Option<String>,
    pub reference_to: Vec<String>,
    pub relationship_name: Option<String>,
    pub relationship_order: Option<u32>,
    pub restricted_delete: bool,
    pub restricted_picklist: bool,
    pub scale: u32,
    pub search_prefilterable: bool,
    pub soap_type: String,
    pub sortable: bool,
    #[serde(rename = "type")]
    pub field_type: String,
    pub unique: bool,
    pub updateable: bool,
    pub write_requires_master_read: bool,
}
