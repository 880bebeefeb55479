//! `POST /composite/tree/{Type}`: creates record trees (a root, its children through child
//! relationship names such as `"Contacts": {"records": [...]}`, their children, and so on) in
//! one all-or-nothing transaction.
//!
//! Records are created level by level, as Salesforce processes them: every root across all
//! trees, then every second-level record, and so on; the success results (201) come in that
//! order, which keeps parents before their children. A child's reference to its parent is set
//! from the parent's new id. When any record fails nothing is saved and the answer (400) lists
//! only the failed records with `statusCode` errors. (Both statuses are UNVERIFIED in the
//! reference.) Problems with the request's shape and limits are a 400 error array for the whole
//! call, before anything runs.

use std::collections::HashSet;
use std::sync::Arc;

use axum::Extension;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use forcebridge_wire::JsonObject;
use forcebridge_wire::composite::{TreeResponse, TreeResult};
use serde::Deserialize;
use serde_json::Value as Json;

use super::{BATCH_AND_TREE_SINCE, MAX_RECORDS, malformed, require, too_many_records};
use crate::api_error::{ApiFailure, json_response};
use crate::dml;
use crate::http::{Caller, JsonBody};
use crate::ids::RecordId;
use crate::org::Org;
use crate::schema::{ObjectIdx, Schema};
use crate::store::WriteError;
use crate::versions::ApiVersion;

/// Deepest tree: a root and four levels of children.
const MAX_LEVELS: usize = 5;
/// Most different object types in one request.
const MAX_TYPES: usize = 5;

#[derive(Deserialize)]
pub(super) struct TreePath {
    object: String,
}

/// `POST /composite/tree/{Type}`.
pub(super) async fn tree(
    State(org): State<Arc<Org>>,
    Extension(version): Extension<ApiVersion>,
    Extension(caller): Extension<Caller>,
    Path(path): Path<TreePath>,
    JsonBody(body): JsonBody<JsonObject>,
) -> Result<Response, ApiFailure> {
    require(version, BATCH_AND_TREE_SINCE)?;
    let schema = org.schema();
    let (root, _) = schema
        .find(&path.object)
        .ok_or_else(|| ApiFailure::unknown_object_in_url(&path.object))?;
    let records = body
        .get("records")
        .and_then(Json::as_array)
        .ok_or_else(|| malformed("The request body needs a records array"))?;
    let nodes = plan(&schema, root, records)?;
    tracing::debug!(n_records = nodes.len(), object = %path.object, "tree request");
    let outcome = org.write(&caller, |txn| {
        let mut ids: Vec<Option<RecordId>> = vec![None; nodes.len()];
        let mut failures = Vec::new();
        for (index, node) in nodes.iter().enumerate() {
            let mut fields = node.fields.clone();
            if let Some(parent) = &node.parent {
                // A child of a failed record is not tried: it has nothing to point at, and the
                // request fails anyway.
                let Some(parent_id) = ids[parent.node] else {
                    continue;
                };
                fields.retain(|k, _| !k.eq_ignore_ascii_case(&parent.field));
                fields.insert(parent.field.clone(), Json::String(parent_id.to_string()));
            }
            let savepoint = txn.savepoint();
            match dml::create(txn, node.object, &fields) {
                Ok(id) => ids[index] = Some(id),
                Err(error) => {
                    txn.rollback_to(savepoint);
                    failures.push(TreeResult {
                        reference_id: node.reference_id.clone(),
                        id: None,
                        errors: Some(vec![error.to_record_error()]),
                    });
                }
            }
        }
        if !failures.is_empty() {
            return Err(WriteError::Work(failures));
        }
        Ok(nodes
            .iter()
            .zip(ids)
            .map(|(node, id)| TreeResult {
                reference_id: node.reference_id.clone(),
                id: id.map(|id| id.to_string()),
                errors: None,
            })
            .collect::<Vec<_>>())
    });
    Ok(match outcome {
        Ok(results) => json_response(
            StatusCode::CREATED,
            &TreeResponse {
                has_errors: false,
                results,
            },
        ),
        Err(WriteError::Commit(failed)) => return Err(failed.into()),
        Err(WriteError::Work(results)) => json_response(
            StatusCode::BAD_REQUEST,
            &TreeResponse {
                has_errors: true,
                results,
            },
        ),
    })
}

/// One record to create.
#[derive(Debug)]
struct Node {
    reference_id: String,
    object: ObjectIdx,
    /// The record's own fields (without `attributes` and child collections).
    fields: JsonObject,
    parent: Option<ParentLink>,
    /// 1 for roots.
    level: usize,
}

/// Where a child's parent is: its node, and the child's field that refers to it.
#[derive(Debug)]
struct ParentLink {
    node: usize,
    field: String,
}

/// Flattens the trees into nodes in creation order (by level, then as written), checking the
/// request's shape and limits on the way.
fn plan(schema: &Schema, root: ObjectIdx, records: &[Json]) -> Result<Vec<Node>, ApiFailure> {
    let mut walk = Walk {
        schema,
        nodes: Vec::new(),
        reference_ids: HashSet::new(),
        types: HashSet::new(),
    };
    for record in records {
        walk.record(record, root, None, 1)?;
    }
    // A stable sort by level keeps document order within a level; parents then precede their
    // children, whose links are renumbered to the new positions.
    let mut order: Vec<usize> = (0..walk.nodes.len()).collect();
    order.sort_by_key(|&i| walk.nodes[i].level);
    let mut position = vec![0; order.len()];
    for (new, &old) in order.iter().enumerate() {
        position[old] = new;
    }
    let mut slots: Vec<Option<Node>> = walk.nodes.into_iter().map(Some).collect();
    let mut nodes = Vec::with_capacity(slots.len());
    for old in order {
        if let Some(mut node) = slots[old].take() {
            if let Some(parent) = &mut node.parent {
                parent.node = position[parent.node];
            }
            nodes.push(node);
        }
    }
    Ok(nodes)
}

struct Walk<'s> {
    schema: &'s Schema,
    nodes: Vec<Node>,
    reference_ids: HashSet<String>,
    types: HashSet<ObjectIdx>,
}

impl Walk<'_> {
    /// Adds `record` (expected to be of `object`) and its children; returns its node index.
    fn record(
        &mut self,
        record: &Json,
        object: ObjectIdx,
        parent: Option<ParentLink>,
        level: usize,
    ) -> Result<usize, ApiFailure> {
        if level > MAX_LEVELS {
            return Err(ApiFailure::bad_request(
                "LIMIT_EXCEEDED",
                format!("sObject trees can be at most {MAX_LEVELS} levels deep"),
            ));
        }
        if self.nodes.len() >= MAX_RECORDS {
            return Err(too_many_records(MAX_RECORDS));
        }
        let record = record
            .as_object()
            .ok_or_else(|| malformed("Each record must be a JSON object"))?;
        let attributes = record
            .get("attributes")
            .and_then(Json::as_object)
            .ok_or_else(|| {
                malformed("Each record needs an attributes map with type and referenceId")
            })?;
        let type_name = attributes
            .get("type")
            .and_then(Json::as_str)
            .ok_or_else(|| malformed("Each record's attributes need a type"))?;
        let reference_id = attributes
            .get("referenceId")
            .and_then(Json::as_str)
            .ok_or_else(|| malformed("Each record's attributes need a referenceId"))?;
        let schema = self.schema;
        let def = schema.object(object);
        let (declared, _) = schema
            .find(type_name)
            .ok_or_else(|| ApiFailure::invalid_type(type_name))?;
        if declared != object {
            return Err(malformed(format!(
                "Record {reference_id} has type {type_name} where {} was expected",
                def.name
            )));
        }
        if !valid_tree_reference_id(reference_id) {
            return Err(malformed(format!(
                "Invalid referenceId '{reference_id}': it must start with a letter or digit and contain only letters, digits and underscores"
            )));
        }
        if !self.reference_ids.insert(reference_id.to_string()) {
            return Err(malformed(format!(
                "Duplicate ReferenceId provided in the request: {reference_id}"
            )));
        }
        self.types.insert(object);
        if self.types.len() > MAX_TYPES {
            return Err(ApiFailure::bad_request(
                "LIMIT_EXCEEDED",
                format!("A tree request can create records of at most {MAX_TYPES} types"),
            ));
        }
        let index = self.nodes.len();
        let mut fields = JsonObject::new();
        let mut children = Vec::new();
        for (name, value) in record {
            if name == "attributes" {
                continue;
            }
            match def.child_relationship(name) {
                Some(relationship) => children.push((relationship, value)),
                None => {
                    fields.insert(name.clone(), value.clone());
                }
            }
        }
        self.nodes.push(Node {
            reference_id: reference_id.to_string(),
            object,
            fields,
            parent,
            level,
        });
        for (relationship, value) in children {
            let child_records = value
                .get("records")
                .and_then(Json::as_array)
                .ok_or_else(|| {
                    malformed(format!(
                        "The child relationship {} needs a records array",
                        relationship.name
                    ))
                })?;
            let field = schema.object(relationship.child).fields[relationship.field]
                .name
                .clone();
            for child in child_records {
                self.record(
                    child,
                    relationship.child,
                    Some(ParentLink {
                        node: index,
                        field: field.clone(),
                    }),
                    level + 1,
                )?;
            }
        }
        Ok(index)
    }
}

/// Tree reference ids start with a letter or digit and hold letters, digits and underscores.
fn valid_tree_reference_id(text: &str) -> bool {
    let mut chars = text.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn trees_flatten_level_by_level_with_parent_links() {
        let schema = crate::schema::standard::schema(Vec::new()).unwrap();
        let (account, _) = schema.find("Account").unwrap();
        let records = json!([
            {"attributes": {"type": "Account", "referenceId": "a1"}, "Name": "A1",
             "Contacts": {"records": [
                {"attributes": {"type": "Contact", "referenceId": "c1"}, "LastName": "C1"}
             ]}},
            {"attributes": {"type": "Account", "referenceId": "a2"}, "Name": "A2"}
        ]);
        let nodes = plan(&schema, account, records.as_array().unwrap()).unwrap();
        let order: Vec<&str> = nodes.iter().map(|n| n.reference_id.as_str()).collect();
        assert_eq!(order, vec!["a1", "a2", "c1"]);
        let link = nodes[2].parent.as_ref().unwrap();
        assert_eq!((link.node, link.field.as_str()), (0, "AccountId"));
        assert!(!nodes[0].fields.contains_key("Contacts"));
    }

    #[test]
    fn shape_problems_are_refused_before_anything_runs() {
        let schema = crate::schema::standard::schema(Vec::new()).unwrap();
        let (account, _) = schema.find("Account").unwrap();
        let duplicate = json!([
            {"attributes": {"type": "Account", "referenceId": "r"}, "Name": "A"},
            {"attributes": {"type": "Account", "referenceId": "r"}, "Name": "B"}
        ]);
        let error = plan(&schema, account, duplicate.as_array().unwrap()).unwrap_err();
        assert_eq!(error.errors[0].error_code, "JSON_PARSER_ERROR");
        let wrong_type = json!([{"attributes": {"type": "Contact", "referenceId": "r"}}]);
        assert!(plan(&schema, account, wrong_type.as_array().unwrap()).is_err());
        let many: Vec<Json> = (0..201)
            .map(|i| json!({"attributes": {"type": "Account", "referenceId": format!("r{i}")}, "Name": "x"}))
            .collect();
        let error = plan(&schema, account, &many).unwrap_err();
        assert_eq!(error.errors[0].error_code, "EXCEEDED_ID_LIMIT");
        assert!(valid_tree_reference_id("1ref_a"));
        assert!(!valid_tree_reference_id("_ref"));
    }
}
