//! Dynamic records: a record as Salesforce sends it, for code that does not know its fields at
//! compile time. Typed code deserializes its own structs instead (any `DeserializeOwned`).

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::{Error, Result};

/// A record: its fields in the order Salesforce sent them, with parent relationships as nested
/// records (`Account` under a Contact) and child relationships as nested query results.
///
/// ```
/// # use forcebridge_client::Record;
/// let record: Record = serde_json::from_str(r#"{
///     "attributes": {"type": "Contact", "url": "/services/data/v60.0/sobjects/Contact/003000000000001AAA"},
///     "Id": "003000000000001AAA",
///     "LastName": "Ng",
///     "Account": {"attributes": {"type": "Account"}, "Name": "Acme"}
/// }"#).unwrap();
/// assert_eq!(record.sobject_type(), Some("Contact"));
/// assert_eq!(record.get_str("Account.Name"), Some("Acme"));
/// assert_eq!(record.get_str("account.name"), Some("Acme")); // field names ignore case
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Record {
    fields: Map<String, Value>,
}

impl Record {
    /// An empty record, to fill with [`Record::set`] and send.
    pub fn new() -> Record {
        Record::default()
    }

    /// The object type from `attributes.type` (`AggregateResult` for aggregate rows).
    pub fn sobject_type(&self) -> Option<&str> {
        self.fields.get("attributes")?.get("type")?.as_str()
    }

    /// The record's id: its `Id` field, or the last segment of `attributes.url`.
    pub fn id(&self) -> Option<&str> {
        if let Some(Value::String(id)) = self.field("Id") {
            return Some(id);
        }
        let url = self.fields.get("attributes")?.get("url")?.as_str()?;
        url.rsplit('/').next()
    }

    /// A field by name, or a dotted path through parent relationships (`Account.Owner.Name`).
    /// Names are matched without regard to case, as SOQL does. A null parent gives `None`.
    pub fn get(&self, path: &str) -> Option<&Value> {
        let mut parts = path.split('.');
        let mut value = self.field(parts.next()?)?;
        for part in parts {
            value = field_of(value.as_object()?, part)?;
        }
        Some(value)
    }

    pub fn get_str(&self, path: &str) -> Option<&str> {
        self.get(path)?.as_str()
    }

    pub fn get_f64(&self, path: &str) -> Option<f64> {
        self.get(path)?.as_f64()
    }

    pub fn get_i64(&self, path: &str) -> Option<i64> {
        let value = self.get(path)?;
        value.as_i64().or_else(|| {
            value
                .as_f64()
                .filter(|f| f.fract() == 0.0)
                .map(|f| f as i64)
        })
    }

    pub fn get_bool(&self, path: &str) -> Option<bool> {
        self.get(path)?.as_bool()
    }

    /// A field read as any deserializable type; `Ok(None)` when it is absent or null.
    pub fn get_as<T: DeserializeOwned>(&self, path: &str) -> Result<Option<T>> {
        match self.get(path) {
            None | Some(Value::Null) => Ok(None),
            Some(value) => T::deserialize(value).map(Some).map_err(|e| {
                Error::decode(format!("field {path} cannot be read as asked: {e}"), e)
            }),
        }
    }

    /// The records of a child relationship (`Contacts` under an Account): the first page of
    /// the subquery, as Salesforce nested it. Empty when there are none.
    pub fn children(&self, relationship: &str) -> Vec<Record> {
        let Some(Value::Object(result)) = self.field(relationship) else {
            return Vec::new();
        };
        match result.get("records") {
            Some(Value::Array(records)) => records
                .iter()
                .filter_map(|r| r.as_object().cloned())
                .map(|fields| Record { fields })
                .collect(),
            _ => Vec::new(),
        }
    }

    /// Sets a field (replacing a field of the same name, whatever its case).
    pub fn set(&mut self, name: &str, value: impl Into<Value>) -> &mut Record {
        let key = self
            .fields
            .keys()
            .find(|k| k.eq_ignore_ascii_case(name))
            .cloned()
            .unwrap_or_else(|| name.to_string());
        self.fields.insert(key, value.into());
        self
    }

    /// The fields, without `attributes`, in the order they came.
    pub fn fields(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.fields
            .iter()
            .filter(|(k, _)| *k != "attributes")
            .map(|(k, v)| (k.as_str(), v))
    }

    /// The record as a JSON object, `attributes` included.
    pub fn as_map(&self) -> &Map<String, Value> {
        &self.fields
    }

    pub fn into_map(self) -> Map<String, Value> {
        self.fields
    }

    /// Reads the record as a typed struct.
    pub fn to_typed<T: DeserializeOwned>(&self) -> Result<T> {
        T::deserialize(&Value::Object(self.fields.clone()))
            .map_err(|e| Error::decode(format!("record cannot be read as asked: {e}"), e))
    }

    fn field(&self, name: &str) -> Option<&Value> {
        field_of(&self.fields, name)
    }
}

fn field_of<'a>(object: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    object.get(name).or_else(|| {
        object
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    })
}

impl From<Map<String, Value>> for Record {
    fn from(fields: Map<String, Value>) -> Record {
        Record { fields }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record(value: Value) -> Record {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn paths_follow_parents_and_stop_at_null() {
        let contact = record(json!({
            "attributes": {"type": "Contact", "url": "/services/data/v60.0/sobjects/Contact/003x"},
            "LastName": "Ng",
            "Account": {"attributes": {"type": "Account"}, "Owner": {"Name": "Ada"}, "NumberOfEmployees": 12.0},
            "ReportsTo": null
        }));
        assert_eq!(contact.id(), Some("003x"));
        assert_eq!(contact.get_str("Account.Owner.Name"), Some("Ada"));
        assert_eq!(contact.get_i64("Account.NumberOfEmployees"), Some(12));
        assert_eq!(contact.get("ReportsTo.Name"), None);
        assert_eq!(contact.get_as::<String>("ReportsTo").unwrap(), None);
        assert!(contact.get_as::<u32>("LastName").is_err());
        let names: Vec<&str> = contact.fields().map(|(k, _)| k).collect();
        assert_eq!(names, ["LastName", "Account", "ReportsTo"]);
    }

    #[test]
    fn children_are_the_nested_records() {
        let account = record(json!({
            "attributes": {"type": "Account"},
            "Contacts": {"totalSize": 2, "done": true, "records": [
                {"attributes": {"type": "Contact"}, "LastName": "A"},
                {"attributes": {"type": "Contact"}, "LastName": "B"}
            ]},
            "Cases": null
        }));
        let contacts = account.children("contacts");
        assert_eq!(contacts.len(), 2);
        assert_eq!(contacts[1].get_str("LastName"), Some("B"));
        assert!(account.children("Cases").is_empty());
    }

    #[test]
    fn set_replaces_whatever_the_case() {
        let mut record = Record::new();
        record.set("Name", "Acme").set("name", "Acme 2");
        assert_eq!(record.as_map().len(), 1);
        assert_eq!(record.get_str("Name"), Some("Acme 2"));
    }
}
