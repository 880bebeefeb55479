//! The tools: their names, schemas and annotations ([`specs`]), what every call shares
//! ([`Call`], [`Output`], [`ToolError`]), and dispatch. Nothing here knows MCP's wire format:
//! `protocol` turns specs into tool listings and outputs into results.

mod bulk;
mod read;
mod rows;
mod write;

pub(crate) use rows::Order;

use std::sync::{LazyLock, Mutex};

use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::server::Core;

/// What a tool does to the org, which decides its annotations and whether read-only mode
/// hides it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Effect {
    Read,
    /// Creates records: not destructive, not idempotent (calling twice creates two).
    Create,
    /// Changes or deletes records given by id: destructive, and idempotent (the same change
    /// again changes nothing more).
    Change,
    /// Many records at once, any operation: destructive and not idempotent.
    Bulk,
}

/// One tool as listed.
#[derive(Debug)]
pub(crate) struct Spec {
    pub(crate) name: &'static str,
    pub(crate) title: &'static str,
    pub(crate) description: &'static str,
    pub(crate) effect: Effect,
    pub(crate) input_schema: Map<String, Value>,
    pub(crate) output_schema: Map<String, Value>,
}

impl Spec {
    pub(crate) fn read_only(&self) -> bool {
        self.effect == Effect::Read
    }

    pub(crate) fn destructive(&self) -> bool {
        matches!(self.effect, Effect::Change | Effect::Bulk)
    }

    pub(crate) fn idempotent(&self) -> bool {
        matches!(self.effect, Effect::Read | Effect::Change)
    }
}

/// Which side of serde a schema describes.
#[derive(Debug, Clone, Copy)]
enum Contract {
    /// Arguments the tool reads: a field with a default is optional.
    Input,
    /// Structured content the tool writes: a field skipped when empty is optional, so that
    /// clients validating the content against the schema (the TypeScript SDK does) accept it.
    Output,
}

fn schema_of<T: JsonSchema>(contract: Contract) -> Map<String, Value> {
    let settings = schemars::generate::SchemaSettings::default();
    let settings = match contract {
        Contract::Input => settings.for_deserialize(),
        Contract::Output => settings.for_serialize(),
    };
    let schema = settings.into_generator().into_root_schema_for::<T>();
    match serde_json::to_value(schema) {
        Ok(Value::Object(mut map)) => {
            // The tool's name and description say what `title` would; keep listings small.
            map.remove("title");
            drop_rust_formats(&mut map);
            single_types(&mut map, contract);
            map
        }
        _ => Map::new(),
    }
}

/// Rewrites `"type": [T, "null"]` (schemars' spelling of an `Option`), which clients that map
/// schemas onto a one-type dialect reject (the MCP Inspector warns about it): an optional
/// argument becomes plain `T` (leaving it out is how to say "none"); anything else becomes
/// `anyOf: [{type: T, ...}, {type: null}]`.
fn single_types(map: &mut Map<String, Value>, contract: Contract) {
    let required: Vec<String> = map
        .get("required")
        .and_then(Value::as_array)
        .map(|r| {
            r.iter()
                .filter_map(Value::as_str)
                .map(String::from)
                .collect()
        })
        .unwrap_or_default();
    if let Some(Value::Object(properties)) = map.get_mut("properties") {
        for (name, property) in properties.iter_mut() {
            if let Value::Object(property) = property {
                let optional = matches!(contract, Contract::Input) && !required.contains(name);
                split_nullable(property, optional);
            }
        }
    }
    for value in map.values_mut() {
        match value {
            Value::Object(inner) => single_types(inner, contract),
            Value::Array(items) => {
                for item in items {
                    if let Value::Object(inner) = item {
                        single_types(inner, contract);
                    }
                }
            }
            _ => {}
        }
    }
}

/// One schema's `[T, "null"]` type, made single (see [`single_types`]).
fn split_nullable(schema: &mut Map<String, Value>, optional: bool) {
    let Some(Value::Array(types)) = schema.get("type") else {
        return;
    };
    let others: Vec<Value> = types.iter().filter(|t| *t != "null").cloned().collect();
    if others.len() != 1 || others.len() == types.len() {
        return;
    }
    let single = others.into_iter().next().unwrap_or(Value::Null);
    if optional {
        schema.insert("type".into(), single);
        return;
    }
    // What describes the value stays outside; what constrains it goes into its branch.
    const OUTSIDE: &[&str] = &["description", "title", "default", "examples", "deprecated"];
    let mut branch = Map::new();
    for key in schema.keys().cloned().collect::<Vec<_>>() {
        if !OUTSIDE.contains(&key.as_str())
            && let Some(value) = schema.remove(&key)
        {
            branch.insert(key, value);
        }
    }
    branch.insert("type".into(), single);
    let null = serde_json::json!({"type": "null"});
    schema.insert(
        "anyOf".into(),
        Value::Array(vec![Value::Object(branch), null]),
    );
}

/// Removes schemars' Rust-only `format`s (`uint64`, `int32`, `double`...), which JSON Schema
/// does not define and validators warn about on every call; the `minimum` that schemars
/// writes for unsigned integers stays.
fn drop_rust_formats(map: &mut Map<String, Value>) {
    const RUST_FORMATS: &[&str] = &[
        "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64",
        "float", "double",
    ];
    if map
        .get("format")
        .and_then(Value::as_str)
        .is_some_and(|f| RUST_FORMATS.contains(&f))
    {
        map.remove("format");
    }
    for value in map.values_mut() {
        match value {
            Value::Object(inner) => drop_rust_formats(inner),
            Value::Array(items) => {
                for item in items {
                    if let Value::Object(inner) = item {
                        drop_rust_formats(inner);
                    }
                }
            }
            _ => {}
        }
    }
}

fn spec<I: JsonSchema, O: JsonSchema>(
    name: &'static str,
    title: &'static str,
    effect: Effect,
    description: &'static str,
) -> Spec {
    Spec {
        name,
        title,
        description,
        effect,
        input_schema: schema_of::<I>(Contract::Input),
        output_schema: schema_of::<O>(Contract::Output),
    }
}

/// Every tool, in listing order (deterministic, as the 2026-07-28 revision asks).
pub(crate) fn specs() -> &'static [Spec] {
    static SPECS: LazyLock<Vec<Spec>> = LazyLock::new(|| {
        let mut specs = read::specs();
        specs.extend(write::specs());
        specs.push(bulk::spec());
        specs
    });
    &SPECS
}

pub(crate) fn find(name: &str) -> Option<&'static Spec> {
    specs().iter().find(|s| s.name == name)
}

/// A tool's answer: structured content (valid against its output schema) and a one-line
/// summary that starts the text copy.
#[derive(Debug)]
pub(crate) struct Output {
    pub(crate) structured: Value,
    pub(crate) summary: String,
    /// A write preview: the confirm handle and what to ask the user, so that a client with
    /// elicitation can ask there.
    pub(crate) confirm: Option<ConfirmRequest>,
}

#[derive(Debug, Clone)]
pub(crate) struct ConfirmRequest {
    pub(crate) handle: String,
    pub(crate) question: String,
}

impl Output {
    pub(crate) fn new(structured: impl serde::Serialize, summary: String) -> Output {
        Output {
            structured: serde_json::to_value(structured).unwrap_or(Value::Null),
            summary,
            confirm: None,
        }
    }

    /// The text copy for clients that do not read structured content: the summary, then the
    /// structured content as compact JSON.
    pub(crate) fn text(&self) -> String {
        format!("{}\n{}", self.summary, self.structured)
    }
}

/// A failure the model should read and act on: returned as a tool result with `isError`.
#[derive(Debug)]
pub(crate) struct ToolError {
    pub(crate) message: String,
    /// `tool_error`, or `refused` for read-only mode, the policy and the API budget.
    pub(crate) outcome: &'static str,
}

impl ToolError {
    pub(crate) fn new(message: impl Into<String>) -> ToolError {
        ToolError {
            message: message.into(),
            outcome: "tool_error",
        }
    }

    pub(crate) fn refused(message: impl Into<String>) -> ToolError {
        ToolError {
            message: message.into(),
            outcome: "refused",
        }
    }

    /// A failed request to the org, with what the model can do about it.
    pub(crate) fn client(doing: &str, e: &forcebridge_client::Error) -> ToolError {
        use forcebridge_client::ErrorKind;
        match e.kind() {
            ErrorKind::InvalidQuery => {
                let frame = e.code_frame().unwrap_or_default();
                ToolError::new(format!(
                    "{doing}: the statement is not valid, nothing was sent\n{e}\n{frame}"
                ))
            }
            ErrorKind::Limit => ToolError::refused(format!(
                "{doing}: {e}. Nothing more can be sent until the org's API usage allows it."
            )),
            ErrorKind::NotSent => ToolError::refused(format!("{doing}: {e}")),
            ErrorKind::Api => {
                let details: Vec<String> = e
                    .api_errors()
                    .iter()
                    .map(|d| {
                        if d.fields.is_empty() {
                            format!("{}: {}", d.error_code, d.message)
                        } else {
                            format!(
                                "{}: {} (fields: {})",
                                d.error_code,
                                d.message,
                                d.fields.join(", ")
                            )
                        }
                    })
                    .collect();
                let details = if details.is_empty() {
                    e.to_string()
                } else {
                    details.join("; ")
                };
                ToolError::new(format!("{doing}: Salesforce refused it: {details}"))
            }
            _ => {
                let mut message = format!("{doing}: {e}");
                let mut source = std::error::Error::source(e);
                while let Some(s) = source {
                    message.push_str(&format!(": {s}"));
                    source = s.source();
                }
                ToolError::new(message)
            }
        }
    }
}

/// Progress of a long call, sent to the client as progress notifications when it asked
/// for them. Values only ever increase, as the protocol requires.
#[derive(Debug, Default)]
pub(crate) struct Progress {
    sink: Option<tokio::sync::mpsc::UnboundedSender<ProgressReport>>,
    last: Mutex<Option<f64>>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ProgressReport {
    pub(crate) progress: f64,
    pub(crate) total: Option<f64>,
    pub(crate) message: String,
}

impl Progress {
    pub(crate) fn to(sink: tokio::sync::mpsc::UnboundedSender<ProgressReport>) -> Progress {
        Progress {
            sink: Some(sink),
            last: Mutex::new(None),
        }
    }

    pub(crate) fn report(&self, progress: f64, total: Option<f64>, message: impl Into<String>) {
        let Some(sink) = &self.sink else { return };
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        if last.is_some_and(|l| progress <= l) {
            return;
        }
        *last = Some(progress);
        let _ = sink.send(ProgressReport {
            progress,
            total,
            message: message.into(),
        });
    }
}

/// What the audit log records about a call, filled in by the tool as it goes.
#[derive(Debug, Default)]
pub(crate) struct AuditInfo {
    pub(crate) object: Option<String>,
    pub(crate) record_ids: Vec<String>,
    pub(crate) values: Option<Value>,
    pub(crate) preview: bool,
}

/// One tool call in progress.
pub(crate) struct Call<'a> {
    pub(crate) core: &'a Core,
    pub(crate) progress: Progress,
    pub(crate) audit: AuditInfo,
}

/// Reads a tool's arguments; a mismatch is a tool error that says what was wrong.
pub(crate) fn args<T: DeserializeOwned>(
    tool: &str,
    arguments: Map<String, Value>,
) -> Result<T, ToolError> {
    serde_json::from_value(Value::Object(arguments)).map_err(|e| {
        ToolError::new(format!(
            "invalid arguments for {tool}: {e}. See the tool's input schema."
        ))
    })
}

/// Runs tool `name` (which exists) with `arguments`.
pub(crate) async fn dispatch(
    call: &mut Call<'_>,
    name: &str,
    arguments: Map<String, Value>,
) -> Result<Output, ToolError> {
    match name {
        "query" => read::query(call, args(name, arguments)?).await,
        "get_record" => read::get_record(call, args(name, arguments)?).await,
        "describe_object" => read::describe_object(call, args(name, arguments)?).await,
        "search" => read::search(call, args(name, arguments)?).await,
        "list_objects" => read::list_objects(call, args(name, arguments)?).await,
        "get_account_info" => read::get_account_info(call, args(name, arguments)?).await,
        "list_contacts" => read::list_contacts(call, args(name, arguments)?).await,
        "create_record" => write::create_record(call, args(name, arguments)?).await,
        "update_record" => write::update_record(call, args(name, arguments)?).await,
        "delete_record" => write::delete_record(call, args(name, arguments)?).await,
        "create_lead" => write::create_lead(call, args(name, arguments)?).await,
        "update_opportunity" => write::update_opportunity(call, args(name, arguments)?).await,
        "bulk_operations" => bulk::bulk_operations(call, args(name, arguments)?).await,
        other => Err(ToolError::new(format!("unknown tool {other}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn required(schema: &Map<String, Value>) -> Vec<&str> {
        schema
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default()
    }

    #[test]
    fn output_schemas_do_not_require_what_answers_leave_out() {
        let get = find("get_record").unwrap();
        let needed = required(&get.output_schema);
        assert!(needed.contains(&"record"), "{needed:?}");
        // Left out when nothing was omitted: a client validating the content must accept that.
        assert!(!needed.contains(&"omittedFields"), "{needed:?}");
        let query = find("query").unwrap();
        assert!(!required(&query.output_schema).contains(&"nextCursor"));
        assert!(!required(&query.input_schema).contains(&"soql"));
    }

    #[test]
    fn schemas_give_each_value_one_type() {
        for spec in specs() {
            for schema in [&spec.input_schema, &spec.output_schema] {
                let text = Value::Object(schema.clone()).to_string();
                assert!(!text.contains("\"type\":["), "{}: {text}", spec.name);
            }
        }
        // An optional argument is its plain type; leaving it out says "none".
        let query = find("query").unwrap();
        assert_eq!(query.input_schema["properties"]["soql"]["type"], "string");
    }

    #[test]
    fn schemas_carry_no_rust_only_formats() {
        for spec in specs() {
            for schema in [&spec.input_schema, &spec.output_schema] {
                let text = Value::Object(schema.clone()).to_string();
                for format in ["uint64", "uint32", "uint", "int64", "double"] {
                    assert!(
                        !text.contains(&format!("\"format\":\"{format}\"")),
                        "{}: {text}",
                        spec.name
                    );
                }
            }
        }
    }
}
