//! One object's table as the sync writes it: the columns chosen from the catalog's model (the
//! catalog's one type mapping gives their SQL types), and records read into rows of text
//! values (the catalog's text forms). Nothing here touches a database or the org.

use forcebridge_catalog::sql::{Dialect, column_type, to_text};
use forcebridge_catalog::{Field, FieldType, Object};
use serde_json::Value;

use crate::config::ObjectOptions;
use crate::error::{Error, Result};

/// The system columns every table gets after the object's own.
pub(crate) const SYNCED_AT: &str = "_sf_synced_at";
pub(crate) const IS_DELETED: &str = "_sf_is_deleted";
pub(crate) const DELETED_AT: &str = "_sf_deleted_at";

/// Objects whose deletes never reach the recycle bin, so neither `queryAll` nor the delete
/// log shows them: only comparing Id sets finds them (R7).
pub(crate) const HARD_DELETING: &[&str] = &["CampaignMember"];

/// One column of an object's table.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Column {
    pub(crate) name: String,
    pub(crate) field_type: FieldType,
    /// A formula or roll-up field (its changes move no timestamp).
    pub(crate) calculated: bool,
    pub(crate) sqlite: String,
    pub(crate) postgres: String,
}

impl Column {
    pub(crate) fn sql_type(&self, dialect: Dialect) -> &str {
        match dialect {
            Dialect::Sqlite => &self.sqlite,
            Dialect::Postgres => &self.postgres,
        }
    }
}

/// An object's table: its columns in describe order, and where the key ones are.
#[derive(Debug, Clone)]
pub(crate) struct TableDef {
    pub(crate) object: String,
    pub(crate) columns: Vec<Column>,
    pub(crate) id: usize,
    /// `SystemModstamp`, when the object has one (objects without are fully refreshed).
    pub(crate) stamp: Option<usize>,
    pub(crate) is_deleted: Option<usize>,
}

/// One record as a row: its values' text forms, in column order.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Row {
    pub(crate) values: Vec<Option<String>>,
    pub(crate) deleted: bool,
}

impl Row {
    pub(crate) fn id<'a>(&'a self, def: &TableDef) -> &'a str {
        self.values[def.id].as_deref().unwrap_or("")
    }

    pub(crate) fn stamp<'a>(&'a self, def: &TableDef) -> Option<&'a str> {
        def.stamp.and_then(|i| self.values[i].as_deref())
    }
}

impl TableDef {
    /// The table for `object` under `options`: every field that has a column (compound
    /// fields have none; base64 content is not inlined) and that the options keep. `Id`,
    /// `SystemModstamp` and `IsDeleted` are always kept.
    pub(crate) fn new(object: &Object, options: &ObjectOptions) -> Result<TableDef> {
        for name in options.include_fields.iter().chain(&options.exclude_fields) {
            if object.field(name).is_none() {
                return Err(Error::config(format!(
                    "objects.{}.fields: {} has no field {name}",
                    object.name, object.name
                )));
            }
        }
        let always = |f: &Field| matches!(f.name.as_str(), "Id" | "SystemModstamp" | "IsDeleted");
        let keep = |f: &Field| {
            if always(f) {
                return true;
            }
            if f.field_type == FieldType::Base64 || f.field_type.is_compound() {
                return false;
            }
            let included = options.include_fields.is_empty()
                || options
                    .include_fields
                    .iter()
                    .any(|n| n.eq_ignore_ascii_case(&f.name));
            let excluded = options
                .exclude_fields
                .iter()
                .any(|n| n.eq_ignore_ascii_case(&f.name));
            included && !excluded
        };
        let columns: Vec<Column> = object
            .fields
            .iter()
            .filter(|f| keep(f))
            .filter_map(|f| {
                Some(Column {
                    name: f.name.clone(),
                    field_type: f.field_type.clone(),
                    calculated: f.calculated,
                    sqlite: column_type(f, Dialect::Sqlite)?,
                    postgres: column_type(f, Dialect::Postgres)?,
                })
            })
            .collect();
        let position = |name: &str| columns.iter().position(|c| c.name == name);
        let id = position("Id")
            .ok_or_else(|| Error::config(format!("objects: {} has no Id field", object.name)))?;
        Ok(TableDef {
            object: object.name.clone(),
            id,
            stamp: position("SystemModstamp")
                .filter(|&i| columns[i].field_type == FieldType::DateTime),
            is_deleted: position("IsDeleted"),
            columns,
        })
    }

    /// The column names, for a SELECT list.
    pub(crate) fn field_names(&self) -> Vec<&str> {
        self.columns.iter().map(|c| c.name.as_str()).collect()
    }

    /// The indexes of the formula and roll-up columns.
    pub(crate) fn calculated(&self) -> Vec<usize> {
        (0..self.columns.len())
            .filter(|&i| self.columns[i].calculated)
            .collect()
    }

    /// Reads one record's JSON text (as a query page holds it) into a row.
    pub(crate) fn row(&self, record: &str) -> Result<Row> {
        let map: serde_json::Map<String, Value> = serde_json::from_str(record).map_err(|e| {
            Error::new(
                crate::error::ErrorKind::Org,
                format!("a {} record from the org is not JSON", self.object),
            )
            .with_source(e)
        })?;
        Ok(self.row_from_map(&map, &self.all_columns()))
    }

    /// Reads the values of `columns` (indexes into this table's columns) of one record.
    pub(crate) fn partial_row(&self, record: &str, columns: &[usize]) -> Result<Row> {
        let map: serde_json::Map<String, Value> = serde_json::from_str(record).map_err(|e| {
            Error::new(
                crate::error::ErrorKind::Org,
                format!("a {} record from the org is not JSON", self.object),
            )
            .with_source(e)
        })?;
        Ok(self.row_from_map(&map, columns))
    }

    fn all_columns(&self) -> Vec<usize> {
        (0..self.columns.len()).collect()
    }

    fn row_from_map(&self, map: &serde_json::Map<String, Value>, columns: &[usize]) -> Row {
        let values = columns
            .iter()
            .map(|&i| {
                let column = &self.columns[i];
                map.get(&column.name)
                    .and_then(|v| to_text(&column.field_type, v))
            })
            .collect();
        let deleted = self
            .is_deleted
            .and_then(|i| map.get(&self.columns[i].name))
            .and_then(Value::as_bool)
            .unwrap_or(false);
        Row { values, deleted }
    }

    /// Whether the object deletes records for good (see [`HARD_DELETING`]).
    pub(crate) fn hard_deleting(&self) -> bool {
        HARD_DELETING
            .iter()
            .any(|o| o.eq_ignore_ascii_case(&self.object))
    }
}

/// `name` quoted as an SQL identifier (both databases).
pub(crate) fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}
