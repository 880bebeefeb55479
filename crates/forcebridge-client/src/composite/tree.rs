//! `POST /composite/tree/{Object}`: records with nested children, all or nothing.

use forcebridge_wire::composite::{TreeRequest, TreeResponse};
use reqwest::Method;
use serde::Serialize;
use serde_json::{Map, Value};

use super::{record_error, with_type};
use crate::client::Client;
use crate::error::{ApiErrorDetail, Error, Result};
use crate::http::{Call, error_from_reply};

/// Most records (nested ones included) in one tree request.
const MAX_TREE_RECORDS: usize = 200;

/// A record for [`Client::create_tree`], with its children: a small builder for the shape the
/// tree resource reads (`attributes.type`, `attributes.referenceId`, child relationships as
/// `{"records": [...]}`).
///
/// ```
/// use forcebridge_client::TreeRecord;
/// let account = TreeRecord::new("Account", "acme")
///     .field("Name", "Acme")
///     .child("Contacts", TreeRecord::new("Contact", "ng").field("LastName", "Ng"));
/// ```
#[derive(Debug, Clone, PartialEq)]
#[must_use]
pub struct TreeRecord {
    object: String,
    reference_id: String,
    fields: Map<String, Value>,
    children: Vec<(String, Vec<TreeRecord>)>,
}

impl TreeRecord {
    /// A record of `object`, named `reference_id` in the results (letters, digits and
    /// underscores; unique in the request).
    pub fn new(object: impl Into<String>, reference_id: impl Into<String>) -> TreeRecord {
        TreeRecord {
            object: object.into(),
            reference_id: reference_id.into(),
            fields: Map::new(),
            children: Vec::new(),
        }
    }

    /// Sets a field.
    pub fn field(mut self, name: impl Into<String>, value: impl Into<Value>) -> TreeRecord {
        self.fields.insert(name.into(), value.into());
        self
    }

    /// Adds a child under the child relationship `relationship` (`Contacts` on an Account).
    /// The child's reference to this record is set by the org.
    pub fn child(mut self, relationship: &str, child: TreeRecord) -> TreeRecord {
        match self
            .children
            .iter_mut()
            .find(|(name, _)| name == relationship)
        {
            Some((_, records)) => records.push(child),
            None => self.children.push((relationship.to_string(), vec![child])),
        }
        self
    }
}

impl Serialize for TreeRecord {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry(
            "attributes",
            &serde_json::json!({"type": self.object, "referenceId": self.reference_id}),
        )?;
        for (name, value) in &self.fields {
            map.serialize_entry(name, value)?;
        }
        for (relationship, records) in &self.children {
            map.serialize_entry(relationship, &serde_json::json!({ "records": records }))?;
        }
        map.end()
    }
}

/// What a tree request did: every record's new id, or, when any record failed (and so
/// nothing was saved), the failed records' errors.
#[derive(Debug, Clone, PartialEq)]
pub struct TreeOutcome {
    /// `(referenceId, id)` of every record created, in the org's order (parents first).
    /// Empty when the request failed.
    pub ids: Vec<(String, String)>,
    /// The records that failed. When this is not empty, nothing was saved.
    pub failures: Vec<TreeFailure>,
}

/// One record of a failed tree request.
#[derive(Debug, Clone, PartialEq)]
pub struct TreeFailure {
    /// The record's `attributes.referenceId`.
    pub reference_id: String,
    /// Why it failed (`REQUIRED_FIELD_MISSING`, `INVALID_EMAIL_ADDRESS`, ...).
    pub errors: Vec<ApiErrorDetail>,
}

impl TreeOutcome {
    /// Whether every record was created.
    pub fn is_success(&self) -> bool {
        self.failures.is_empty()
    }

    /// The new id of the record with this reference id.
    pub fn id(&self, reference_id: &str) -> Option<&str> {
        self.ids
            .iter()
            .find(|(r, _)| r == reference_id)
            .map(|(_, id)| id.as_str())
    }
}

impl Client {
    /// Creates trees of records of `object` with their children in one all-or-nothing call
    /// (`POST /composite/tree/{object}`).
    ///
    /// Records may be [`TreeRecord`]s or any serializable value of the same shape:
    /// `attributes.referenceId` on every record, `attributes.type` on every child (added for
    /// you on the top-level records), children as `"Contacts": {"records": [...]}`. At most
    /// 200 records, nested ones included, are refused before sending with
    /// [`ErrorKind::NotSent`](crate::ErrorKind), as is a record without a reference id.
    ///
    /// Failed records are data in the outcome, not an error; a request the org refuses as a
    /// whole (too deep, too many types) is an `Api` error. Not retried after a failure that
    /// may have reached the org, as it creates records.
    pub async fn create_tree<T: Serialize>(
        &self,
        object: &str,
        records: &[T],
    ) -> Result<TreeOutcome> {
        let mut roots = Vec::with_capacity(records.len());
        let mut count = 0;
        for (position, record) in records.iter().enumerate() {
            let root = with_type(record, object, position)?;
            count_tree(&root, &mut count, &format!("record {position}"))?;
            roots.push(root);
        }
        if count == 0 {
            return Err(Error::not_sent("a tree request needs at least one record"));
        }
        if count > MAX_TREE_RECORDS {
            return Err(Error::not_sent(format!(
                "a tree request holds at most {MAX_TREE_RECORDS} records, nested ones included; these have {count}"
            )));
        }
        let call = Call::data(Method::POST, ["composite", "tree", object])
            .json(&TreeRequest { records: roots })?
            .answers(&[400]);
        tracing::debug!(object, records = count, "sending tree request");
        let reply = self.execute(call).await?;
        let response: TreeResponse = match reply.json() {
            Ok(response) => response,
            // A 400 that is not a tree answer is the org refusing the whole request.
            Err(_) if reply.status.as_u16() == 400 => return Err(error_from_reply(&reply)),
            Err(error) => return Err(error),
        };
        let mut outcome = TreeOutcome {
            ids: Vec::new(),
            failures: Vec::new(),
        };
        for result in response.results {
            match (result.id, result.errors) {
                (Some(id), None) if !response.has_errors => {
                    outcome.ids.push((result.reference_id, id));
                }
                (_, errors) => outcome.failures.push(TreeFailure {
                    reference_id: result.reference_id,
                    errors: errors
                        .unwrap_or_default()
                        .into_iter()
                        .map(record_error)
                        .collect(),
                }),
            }
        }
        Ok(outcome)
    }
}

/// Counts `record` and its nested children, checking each has a reference id.
fn count_tree(record: &Map<String, Value>, count: &mut usize, path: &str) -> Result<()> {
    *count += 1;
    let has_reference = record
        .get("attributes")
        .and_then(|a| a.get("referenceId"))
        .and_then(Value::as_str)
        .is_some_and(|r| !r.is_empty());
    if !has_reference {
        return Err(Error::not_sent(format!(
            "{path} of the tree has no attributes.referenceId"
        )));
    }
    for (name, value) in record {
        if name == "attributes" {
            continue;
        }
        if let Some(children) = value.get("records").and_then(Value::as_array) {
            for (index, child) in children.iter().enumerate() {
                let child_path = format!("{path}, {name}[{index}]");
                let child = child.as_object().ok_or_else(|| {
                    Error::not_sent(format!("{child_path} of the tree is not a JSON object"))
                })?;
                count_tree(child, count, &child_path)?;
            }
        }
    }
    Ok(())
}
