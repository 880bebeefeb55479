//! A small builder for object and field definitions, so the standard objects and the custom
//! objects from a schema file are declared the same way, and the system fields (`Id`,
//! `IsDeleted`, `CreatedDate`, ...) are added to every object in one place.

use std::collections::HashMap;

use super::{
    DefaultValue, FieldDef, FieldType, ObjectDef, ObjectFlags, PicklistValue, Storage,
    SystemColumns, ValidationRule,
};

/// A field under construction.
#[derive(Debug, Clone)]
pub(crate) struct FieldBuilder(FieldDef);

impl FieldBuilder {
    fn new(name: &str, label: &str, field_type: FieldType) -> FieldBuilder {
        FieldBuilder(FieldDef {
            name: name.to_string(),
            label: label.to_string(),
            field_type,
            storage: Storage::Column(0),
            length: 0,
            precision: 0,
            scale: 0,
            digits: 0,
            nillable: true,
            createable: true,
            updateable: true,
            defaulted_on_create: false,
            default_value: None,
            unique: false,
            external_id: false,
            case_sensitive: false,
            id_lookup: false,
            name_field: false,
            custom: name.ends_with("__c"),
            calculated: false,
            auto_number: false,
            html_formatted: false,
            picklist: Vec::new(),
            restricted_picklist: false,
            reference_to: Vec::new(),
            relationship_name: None,
            child_relationship_name: None,
            cascade_delete: false,
            compound_field_name: None,
            help_text: None,
        })
    }

    fn text_like(name: &str, label: &str, field_type: FieldType, length: u32) -> FieldBuilder {
        let mut f = FieldBuilder::new(name, label, field_type);
        f.0.length = length;
        f
    }

    pub(crate) fn string(name: &str, label: &str, length: u32) -> FieldBuilder {
        FieldBuilder::text_like(name, label, FieldType::String, length)
    }

    pub(crate) fn textarea(name: &str, label: &str, length: u32) -> FieldBuilder {
        FieldBuilder::text_like(name, label, FieldType::Textarea, length)
    }

    pub(crate) fn email(name: &str, label: &str) -> FieldBuilder {
        FieldBuilder::text_like(name, label, FieldType::Email, 80)
    }

    pub(crate) fn phone(name: &str, label: &str) -> FieldBuilder {
        FieldBuilder::text_like(name, label, FieldType::Phone, 40)
    }

    pub(crate) fn url(name: &str, label: &str) -> FieldBuilder {
        FieldBuilder::text_like(name, label, FieldType::Url, 255)
    }

    pub(crate) fn picklist(name: &str, label: &str, values: &[&str]) -> FieldBuilder {
        let mut f = FieldBuilder::text_like(name, label, FieldType::Picklist, 255);
        f.0.picklist = values
            .iter()
            .map(|v| PicklistValue {
                value: v.to_string(),
                label: v.to_string(),
                default: false,
                active: true,
            })
            .collect();
        f
    }

    pub(crate) fn multipicklist(name: &str, label: &str, values: &[&str]) -> FieldBuilder {
        let mut f = FieldBuilder::picklist(name, label, values);
        f.0.field_type = FieldType::Multipicklist;
        f.0.length = 4099;
        f
    }

    pub(crate) fn boolean(name: &str, label: &str, default: bool) -> FieldBuilder {
        let mut f = FieldBuilder::new(name, label, FieldType::Boolean);
        f.0.nillable = false;
        f.0.defaulted_on_create = true;
        f.0.default_value = Some(DefaultValue::Bool(default));
        f
    }

    pub(crate) fn int(name: &str, label: &str, digits: u32) -> FieldBuilder {
        let mut f = FieldBuilder::new(name, label, FieldType::Int);
        f.0.digits = digits;
        f
    }

    fn decimal(
        name: &str,
        label: &str,
        field_type: FieldType,
        precision: u32,
        scale: u32,
    ) -> FieldBuilder {
        let mut f = FieldBuilder::new(name, label, field_type);
        f.0.precision = precision;
        f.0.scale = scale;
        f
    }

    pub(crate) fn double(name: &str, label: &str, precision: u32, scale: u32) -> FieldBuilder {
        FieldBuilder::decimal(name, label, FieldType::Double, precision, scale)
    }

    pub(crate) fn currency(name: &str, label: &str, precision: u32, scale: u32) -> FieldBuilder {
        FieldBuilder::decimal(name, label, FieldType::Currency, precision, scale)
    }

    pub(crate) fn percent(name: &str, label: &str, precision: u32, scale: u32) -> FieldBuilder {
        FieldBuilder::decimal(name, label, FieldType::Percent, precision, scale)
    }

    pub(crate) fn date(name: &str, label: &str) -> FieldBuilder {
        FieldBuilder::new(name, label, FieldType::Date)
    }

    pub(crate) fn datetime(name: &str, label: &str) -> FieldBuilder {
        FieldBuilder::new(name, label, FieldType::DateTime)
    }

    pub(crate) fn time(name: &str, label: &str) -> FieldBuilder {
        FieldBuilder::new(name, label, FieldType::Time)
    }

    /// A lookup. `relationship` is the parent relationship name (`Account`); `children` the
    /// child relationship name on each target (`Contacts`), if the parent can see its children.
    pub(crate) fn reference(
        name: &str,
        label: &str,
        targets: &[&str],
        relationship: &str,
        children: Option<&str>,
    ) -> FieldBuilder {
        let mut f = FieldBuilder::new(name, label, FieldType::Reference);
        f.0.length = 18;
        f.0.reference_to = targets.iter().map(|t| t.to_string()).collect();
        f.0.relationship_name = Some(relationship.to_string());
        f.0.child_relationship_name = children.map(str::to_string);
        f
    }

    pub(crate) fn field_type(mut self, field_type: FieldType) -> FieldBuilder {
        self.0.field_type = field_type;
        self
    }

    /// Not nillable, so a create must give it (unless it has a default).
    pub(crate) fn required(mut self) -> FieldBuilder {
        self.0.nillable = false;
        self
    }

    pub(crate) fn unique(mut self) -> FieldBuilder {
        self.0.unique = true;
        self
    }

    /// An external id: unique, indexed for upserts, usable in relationship references.
    pub(crate) fn external_id(mut self) -> FieldBuilder {
        self.0.external_id = true;
        self.0.unique = true;
        self.0.id_lookup = true;
        self
    }

    pub(crate) fn name_field(mut self) -> FieldBuilder {
        self.0.name_field = true;
        self.0.id_lookup = true;
        self
    }

    pub(crate) fn read_only(mut self) -> FieldBuilder {
        self.0.createable = false;
        self.0.updateable = false;
        self
    }

    /// Settable on create only (`updateable: false`), like `Contact.AccountId`'s cousins in orgs
    /// with master-detail relationships.
    pub(crate) fn create_only(mut self) -> FieldBuilder {
        self.0.updateable = false;
        self
    }

    pub(crate) fn default_text(mut self, value: &str) -> FieldBuilder {
        self.0.default_value = Some(DefaultValue::Text(value.to_string()));
        self.0.defaulted_on_create = true;
        if let Some(entry) = self.0.picklist.iter_mut().find(|p| p.value == value) {
            entry.default = true;
        }
        self
    }

    /// Only picklist values from the list are accepted.
    pub(crate) fn restricted(mut self) -> FieldBuilder {
        self.0.restricted_picklist = true;
        self
    }

    pub(crate) fn cascade_delete(mut self) -> FieldBuilder {
        self.0.cascade_delete = true;
        self
    }

    /// A formula or roll-up: read-only, computed by the org.
    pub(crate) fn calculated(mut self) -> FieldBuilder {
        self.0.calculated = true;
        self.0.createable = false;
        self.0.updateable = false;
        self
    }

    /// An auto-number name field: read-only text filled in on create.
    pub(crate) fn auto_number(mut self) -> FieldBuilder {
        self.0.auto_number = true;
        self.0.createable = false;
        self.0.updateable = false;
        self.0.nillable = false;
        self.0.defaulted_on_create = true;
        self.0.length = 30;
        self
    }

    pub(crate) fn case_sensitive(mut self) -> FieldBuilder {
        self.0.case_sensitive = true;
        self
    }

    pub(crate) fn build(self) -> FieldDef {
        self.0
    }
}

/// An object under construction.
#[derive(Debug)]
pub(crate) struct ObjectBuilder {
    name: String,
    label: String,
    label_plural: String,
    key_prefix: String,
    owned: bool,
    flags: ObjectFlags,
    fields: Vec<FieldDef>,
    validation_rules: Vec<ValidationRule>,
    stored: bool,
}

impl ObjectBuilder {
    pub(crate) fn new(
        name: &str,
        label: &str,
        label_plural: &str,
        key_prefix: &str,
    ) -> ObjectBuilder {
        ObjectBuilder {
            name: name.to_string(),
            label: label.to_string(),
            label_plural: label_plural.to_string(),
            key_prefix: key_prefix.to_string(),
            owned: false,
            flags: ObjectFlags {
                createable: true,
                updateable: true,
                deletable: true,
                queryable: true,
                searchable: true,
                undeletable: true,
                hard_deletes: false,
                replicateable: true,
                triggerable: true,
                feed_enabled: true,
                mergeable: false,
                layoutable: true,
            },
            fields: Vec::new(),
            validation_rules: Vec::new(),
            stored: true,
        }
    }

    /// The object has an owner (`OwnerId` → User).
    pub(crate) fn owned(mut self) -> ObjectBuilder {
        self.owned = true;
        self
    }

    /// Records made by the org from its configuration at every start, never kept in a data
    /// directory.
    pub(crate) fn not_stored(mut self) -> ObjectBuilder {
        self.stored = false;
        self
    }

    pub(crate) fn flags(mut self, edit: impl FnOnce(&mut ObjectFlags)) -> ObjectBuilder {
        edit(&mut self.flags);
        self
    }

    pub(crate) fn field(mut self, field: FieldBuilder) -> ObjectBuilder {
        self.fields.push(field.build());
        self
    }

    pub(crate) fn add_field(&mut self, field: FieldDef) {
        self.fields.push(field);
    }

    /// The fields added so far (without the system fields `build` adds), for appending custom
    /// fields to an object that is already built.
    pub(crate) fn into_fields(self) -> Vec<FieldDef> {
        self.fields
    }

    #[cfg(test)]
    pub(crate) fn validation_rule(mut self, rule: ValidationRule) -> ObjectBuilder {
        self.validation_rules.push(rule);
        self
    }

    /// The eight address components and the compound `{prefix}Address` field. `prefix` is
    /// `Billing`, `Shipping`, `Mailing`, `Other`, or empty for Lead and User (`Street`, `Address`).
    pub(crate) fn address(mut self, prefix: &str, label: &str) -> ObjectBuilder {
        let compound = format!("{prefix}Address");
        let space = if label.is_empty() {
            String::new()
        } else {
            format!("{label} ")
        };
        let part = |build: FieldBuilder| {
            let mut f = build.build();
            f.compound_field_name = Some(compound.clone());
            f
        };
        let name = |suffix: &str| format!("{prefix}{suffix}");
        let label_of = |suffix: &str| format!("{space}{suffix}");
        self.fields.push(part(FieldBuilder::textarea(
            &name("Street"),
            &label_of("Street"),
            255,
        )));
        self.fields.push(part(FieldBuilder::string(
            &name("City"),
            &label_of("City"),
            40,
        )));
        self.fields.push(part(FieldBuilder::string(
            &name("State"),
            &label_of("State/Province"),
            80,
        )));
        self.fields.push(part(FieldBuilder::string(
            &name("PostalCode"),
            &label_of("Zip/Postal Code"),
            20,
        )));
        self.fields.push(part(FieldBuilder::string(
            &name("Country"),
            &label_of("Country"),
            80,
        )));
        self.fields.push(part(FieldBuilder::double(
            &name("Latitude"),
            &label_of("Latitude"),
            18,
            15,
        )));
        self.fields.push(part(FieldBuilder::double(
            &name("Longitude"),
            &label_of("Longitude"),
            18,
            15,
        )));
        self.fields.push(part(
            FieldBuilder::picklist(
                &name("GeocodeAccuracy"),
                &label_of("Geocode Accuracy"),
                &[
                    "Address",
                    "NearAddress",
                    "Block",
                    "Street",
                    "ExtendedZip",
                    "Zip",
                    "Neighborhood",
                    "City",
                    "County",
                    "State",
                    "Unknown",
                ],
            )
            .restricted(),
        ));
        let mut compound_field =
            FieldBuilder::new(&compound, &format!("{space}Address"), FieldType::Address)
                .read_only()
                .build();
        compound_field.storage = Storage::Address;
        self.fields.push(compound_field);
        self
    }

    /// A compound geolocation field `{name}` with `Latitude`/`Longitude` components (custom
    /// objects name them `{base}__Latitude__s` / `{base}__Longitude__s`).
    pub(crate) fn location(mut self, name: &str, label: &str) -> ObjectBuilder {
        let (lat, lon) = location_components(name);
        for (component, text) in [(lat, "Latitude"), (lon, "Longitude")] {
            let mut f =
                FieldBuilder::double(&component, &format!("{label} ({text})"), 18, 15).build();
            f.compound_field_name = Some(name.to_string());
            f.custom = name.ends_with("__c");
            self.fields.push(f);
        }
        let mut compound = FieldBuilder::new(name, label, FieldType::Location)
            .read_only()
            .build();
        compound.storage = Storage::Location;
        self.fields.push(compound);
        self
    }

    /// Contact- and Lead-style names: Salutation, FirstName, LastName (required) and the compound
    /// read-only `Name` (the name field).
    pub(crate) fn person_name(mut self) -> ObjectBuilder {
        let compound = Some("Name".to_string());
        let mut salutation = FieldBuilder::picklist(
            "Salutation",
            "Salutation",
            &["Mr.", "Ms.", "Mrs.", "Dr.", "Prof."],
        )
        .build();
        salutation.compound_field_name = compound.clone();
        let mut first = FieldBuilder::string("FirstName", "First Name", 40).build();
        first.compound_field_name = compound.clone();
        let mut last = FieldBuilder::string("LastName", "Last Name", 80)
            .required()
            .build();
        last.compound_field_name = compound;
        self.fields.extend([salutation, first, last]);
        let mut name = FieldBuilder::string("Name", "Full Name", 121)
            .read_only()
            .name_field()
            .build();
        name.storage = Storage::FullName;
        self.fields.push(name);
        self
    }

    pub(crate) fn build(self) -> ObjectDef {
        let mut fields = Vec::with_capacity(self.fields.len() + 8);
        let mut id = FieldBuilder::new("Id", &format!("{} ID", self.label), FieldType::Id)
            .read_only()
            .build();
        id.nillable = false;
        id.defaulted_on_create = true;
        id.id_lookup = true;
        id.length = 18;
        id.storage = Storage::Id;
        fields.push(id);
        let mut is_deleted = FieldBuilder::boolean("IsDeleted", "Deleted", false)
            .read_only()
            .build();
        is_deleted.custom = false;
        fields.push(is_deleted);
        fields.extend(self.fields);
        if self.owned {
            let mut owner =
                FieldBuilder::reference("OwnerId", "Owner ID", &["User"], "Owner", None).build();
            owner.nillable = false;
            owner.defaulted_on_create = true;
            fields.push(owner);
        }
        let user_ref = |name: &str, label: &str, relationship: &str| {
            let mut f = FieldBuilder::reference(name, label, &["User"], relationship, None)
                .read_only()
                .build();
            f.nillable = false;
            f.defaulted_on_create = true;
            f
        };
        let stamp = |name: &str, label: &str| {
            let mut f = FieldBuilder::datetime(name, label).read_only().build();
            f.nillable = false;
            f.defaulted_on_create = true;
            f
        };
        fields.push(stamp("CreatedDate", "Created Date"));
        fields.push(user_ref("CreatedById", "Created By ID", "CreatedBy"));
        fields.push(stamp("LastModifiedDate", "Last Modified Date"));
        fields.push(user_ref(
            "LastModifiedById",
            "Last Modified By ID",
            "LastModifiedBy",
        ));
        fields.push(stamp("SystemModstamp", "System Modstamp"));

        let mut columns = 0;
        for field in &mut fields {
            if let Storage::Column(c) = &mut field.storage {
                *c = columns;
                columns += 1;
            }
        }
        let mut by_name = HashMap::new();
        let mut by_relationship = HashMap::new();
        for (i, field) in fields.iter().enumerate() {
            by_name.insert(field.name.to_ascii_lowercase(), i);
            if let Some(rel) = &field.relationship_name {
                by_relationship.insert(rel.to_ascii_lowercase(), i);
            }
        }
        let column_of = |name: &str| {
            by_name
                .get(&name.to_ascii_lowercase())
                .and_then(|&i| fields[i].column())
        };
        let system = SystemColumns {
            is_deleted: column_of("IsDeleted").unwrap_or(0),
            created_date: column_of("CreatedDate").unwrap_or(0),
            created_by: column_of("CreatedById").unwrap_or(0),
            last_modified_date: column_of("LastModifiedDate").unwrap_or(0),
            last_modified_by: column_of("LastModifiedById").unwrap_or(0),
            system_modstamp: column_of("SystemModstamp").unwrap_or(0),
            owner: if self.owned {
                column_of("OwnerId")
            } else {
                None
            },
        };
        let name_field = fields.iter().position(|f| f.name_field);
        ObjectDef {
            custom: self.name.ends_with("__c"),
            name: self.name,
            label: self.label,
            label_plural: self.label_plural,
            key_prefix: self.key_prefix,
            flags: self.flags,
            fields,
            columns,
            system,
            name_field,
            child_relationships: Vec::new(),
            validation_rules: self.validation_rules,
            duplicate_rules: Vec::new(),
            stored: self.stored,
            by_name,
            by_relationship,
            by_child_relationship: HashMap::new(),
        }
    }
}

/// The component names of a location field: `Loc__c` → `Loc__Latitude__s`, `Loc__Longitude__s`;
/// a standard `Location` → `Latitude`, `Longitude`.
pub(crate) fn location_components(name: &str) -> (String, String) {
    match name.strip_suffix("__c") {
        Some(base) => (
            format!("{base}__Latitude__s"),
            format!("{base}__Longitude__s"),
        ),
        None => ("Latitude".to_string(), "Longitude".to_string()),
    }
}
