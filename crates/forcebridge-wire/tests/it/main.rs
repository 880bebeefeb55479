//! The wire types against the shapes Salesforce sends, as documented and captured in the
//! protocol reference: each test decodes a real-shaped body and checks that writing our types
//! back keeps Salesforce's member names (and omits what Salesforce omits).

mod bodies;

use serde::Serialize;
use serde::de::DeserializeOwned;

/// Decodes `body` as `T`, writes it back, and returns both, so a test can check what was read
/// and that what is written carries the same members as the original.
fn check<T: DeserializeOwned + Serialize>(body: &str) -> (T, serde_json::Value) {
    let value: T = serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"));
    let written = serde_json::to_value(&value).unwrap();
    (value, written)
}

/// The member names of a JSON object, sorted.
fn members(value: &serde_json::Value) -> Vec<String> {
    let mut names: Vec<String> = value
        .as_object()
        .expect("an object")
        .keys()
        .cloned()
        .collect();
    names.sort();
    names
}
