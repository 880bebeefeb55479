//! Describe results built from the schema: describe global, basic info and the full describe.
//!
//! URLs carry the API version of the request, as Salesforce's do.

use std::collections::BTreeMap;

use forcebridge_wire::describe::{
    ChildRelationship, DescribeGlobal, DescribeGlobalSObject, DescribeSObject, Field,
    PicklistEntry, ScopeInfo,
};

use super::{DefaultValue, FieldDef, FieldType, ObjectDef, Schema, Storage};

/// `GET /sobjects`.
pub(crate) fn describe_global(schema: &Schema, version: &str) -> DescribeGlobal {
    DescribeGlobal {
        encoding: "UTF-8".to_string(),
        max_batch_size: 200,
        sobjects: schema
            .objects()
            .iter()
            .map(|o| global_entry(o, version))
            .collect(),
    }
}

/// One describe-global entry (also the `objectDescribe` of basic info).
pub(crate) fn global_entry(object: &ObjectDef, version: &str) -> DescribeGlobalSObject {
    let base = format!("/services/data/v{version}/sobjects/{}", object.name);
    let mut urls = BTreeMap::new();
    urls.insert("sobject".to_string(), base.clone());
    urls.insert("describe".to_string(), format!("{base}/describe"));
    urls.insert("rowTemplate".to_string(), format!("{base}/{{ID}}"));
    let flags = object.flags;
    DescribeGlobalSObject {
        activateable: false,
        createable: flags.createable,
        custom: object.custom,
        custom_setting: false,
        deep_cloneable: false,
        deletable: flags.deletable,
        deprecated_and_hidden: false,
        feed_enabled: flags.feed_enabled,
        has_subtypes: false,
        is_interface: false,
        is_subtype: false,
        key_prefix: Some(object.key_prefix.clone()),
        label: object.label.clone(),
        label_plural: object.label_plural.clone(),
        layoutable: flags.layoutable,
        mergeable: flags.mergeable,
        mru_enabled: true,
        name: object.name.clone(),
        queryable: flags.queryable,
        replicateable: flags.replicateable,
        retrieveable: true,
        searchable: flags.searchable,
        triggerable: flags.triggerable,
        undeletable: flags.undeletable,
        updateable: flags.updateable,
        urls,
    }
}

/// `GET /sobjects/{Type}/describe`.
pub(crate) fn describe_object(
    schema: &Schema,
    object: &ObjectDef,
    version: &str,
) -> DescribeSObject {
    let mut entry = global_entry(object, version);
    let base = format!("/services/data/v{version}/sobjects/{}", object.name);
    for (key, path) in [
        ("compactLayouts", "describe/compactLayouts"),
        ("approvalLayouts", "describe/approvalLayouts"),
        ("layouts", "describe/layouts"),
        ("listviews", "listviews"),
        ("quickActions", "quickActions"),
        ("defaultValues", "defaultValues?recordTypeId&fields"),
    ] {
        entry.urls.insert(key.to_string(), format!("{base}/{path}"));
    }
    entry
        .urls
        .insert("uiDetailTemplate".to_string(), "/{ID}".to_string());
    entry
        .urls
        .insert("uiEditTemplate".to_string(), "/{ID}/e".to_string());
    entry.urls.insert(
        "uiNewRecord".to_string(),
        format!("/{}/e", object.key_prefix),
    );
    let child_relationships = object
        .child_relationships
        .iter()
        .map(|rel| {
            let child = schema.object(rel.child);
            ChildRelationship {
                cascade_delete: rel.cascade_delete,
                child_sobject: child.name.clone(),
                deprecated_and_hidden: false,
                field: child.fields[rel.field].name.clone(),
                junction_id_list_names: Vec::new(),
                junction_reference_to: Vec::new(),
                relationship_name: Some(rel.name.clone()),
                restricted_delete: false,
            }
        })
        .collect();
    DescribeSObject {
        object: entry,
        action_overrides: Vec::new(),
        child_relationships,
        compact_layoutable: true,
        fields: object.fields.iter().map(describe_field).collect(),
        listviewable: None,
        lookup_layoutable: None,
        named_layout_infos: Vec::new(),
        network_scope_field_name: None,
        record_type_infos: Vec::new(),
        search_layoutable: true,
        supported_scopes: vec![
            ScopeInfo {
                label: "All accounts".to_string(),
                name: "everything".to_string(),
            },
            ScopeInfo {
                label: "My records".to_string(),
                name: "mine".to_string(),
            },
        ],
    }
}

fn describe_field(f: &FieldDef) -> Field {
    let text = f.field_type.is_text()
        || f.field_type == FieldType::Id
        || f.field_type == FieldType::Reference;
    let byte_length = if text { f.length.saturating_mul(3) } else { 0 };
    let default_value = match &f.default_value {
        Some(DefaultValue::Bool(b)) => Some(serde_json::Value::Bool(*b)),
        Some(DefaultValue::Text(t)) => Some(serde_json::Value::String(t.clone())),
        Some(DefaultValue::Number(n)) => {
            serde_json::Number::from_f64(*n).map(serde_json::Value::Number)
        }
        None => None,
    };
    Field {
        aggregatable: f.aggregatable(),
        ai_prediction_field: false,
        auto_number: f.auto_number,
        byte_length,
        calculated: f.calculated || f.field_type.is_compound() || f.storage == Storage::FullName,
        calculated_formula: None,
        cascade_delete: f.cascade_delete,
        case_sensitive: f.case_sensitive,
        compound_field_name: f.compound_field_name.clone(),
        controller_name: None,
        createable: f.createable,
        custom: f.custom,
        default_value,
        default_value_formula: None,
        defaulted_on_create: f.defaulted_on_create,
        dependent_picklist: false,
        deprecated_and_hidden: false,
        digits: f.digits,
        display_location_in_decimal: false,
        encrypted: f.field_type == FieldType::EncryptedString,
        external_id: f.external_id,
        extra_type_info: (f.field_type == FieldType::Textarea && f.length > 255)
            .then(|| "plaintextarea".to_string()),
        filterable: f.filterable(),
        filtered_lookup_info: None,
        formula_treat_null_number_as_zero: false,
        groupable: f.groupable(),
        high_scale_number: false,
        html_formatted: f.html_formatted,
        id_lookup: f.id_lookup,
        inline_help_text: f.help_text.clone(),
        label: f.label.clone(),
        length: if text { f.length } else { 0 },
        mask: None,
        mask_type: None,
        name: f.name.clone(),
        name_field: f.name_field,
        name_pointing: f.reference_to.len() > 1,
        nillable: f.nillable,
        permissionable: f.nillable && !f.calculated && f.name != "Id",
        picklist_values: f
            .picklist
            .iter()
            .map(|p| PicklistEntry {
                active: p.active,
                default_value: p.default,
                label: p.label.clone(),
                valid_for: None,
                value: p.value.clone(),
            })
            .collect(),
        polymorphic_foreign_key: f.reference_to.len() > 1,
        precision: f.precision,
        query_by_distance: false,
        reference_target_field: None,
        reference_to: f.reference_to.clone(),
        relationship_name: f.relationship_name.clone(),
        relationship_order: None,
        restricted_delete: false,
        restricted_picklist: f.restricted_picklist,
        scale: f.scale,
        search_prefilterable: false,
        soap_type: f.field_type.soap_type().to_string(),
        sortable: f.sortable(),
        field_type: f.field_type.describe_name().to_string(),
        unique: f.unique,
        updateable: f.updateable,
        write_requires_master_read: false,
    }
}
