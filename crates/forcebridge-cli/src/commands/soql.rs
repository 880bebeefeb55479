//! `forcebridge soql`: offline checks, formatting and inspection of SOQL and SOSL.

use forcebridge_soql::analysis::QueryInfo;
use forcebridge_soql::{Diagnostic, Parse, Statement, format_pretty, parse, to_soql};
use serde::Serialize;

use crate::cli::{SoqlCommand, SoqlInput};
use crate::output::{self, Exit, Outcome};

pub(crate) fn run(command: SoqlCommand) -> anyhow::Result<Outcome> {
    match command {
        SoqlCommand::Check(input) => check(&input),
        SoqlCommand::Fmt { input, one_line } => fmt(&input, one_line),
        SoqlCommand::Parse(input) => parse_tree(&input),
        SoqlCommand::Info(input) => info(&input),
    }
}

/// The statement: the argument, all of stdin for `-` (the whole input is one statement), or
/// the `--file`.
fn read_input(input: &SoqlInput) -> anyhow::Result<String> {
    crate::input::statement(
        input.query.as_deref(),
        input.file.as_deref(),
        "the statement",
    )
}

#[derive(Serialize)]
struct JsonDiagnostic<'a> {
    #[serde(flatten)]
    diagnostic: &'a Diagnostic,
    line: usize,
    column: usize,
}

fn json_diagnostics<'a>(errors: &'a [Diagnostic], text: &str) -> Vec<JsonDiagnostic<'a>> {
    errors
        .iter()
        .map(|d| {
            let position = d.position(text);
            JsonDiagnostic {
                diagnostic: d,
                line: position.line,
                column: position.column,
            }
        })
        .collect()
}

fn statement_kind(statement: &Statement) -> &'static str {
    match statement {
        Statement::Query(_) => "soql",
        Statement::Search(_) => "sosl",
    }
}

/// Prints the errors of an invalid statement (frames on stderr, or JSON) and says so.
fn report_invalid(parsed: &Parse<Statement>, text: &str, json: bool) -> anyhow::Result<Outcome> {
    report_problems(&parsed.errors, statement_kind(&parsed.tree), text, json)
}

/// Prints `errors` of the statement `text` of `kind` (frames on stderr, or JSON).
fn report_problems(
    errors: &[Diagnostic],
    kind: &'static str,
    text: &str,
    json: bool,
) -> anyhow::Result<Outcome> {
    if json {
        #[derive(Serialize)]
        struct Invalid<'a> {
            valid: bool,
            kind: &'static str,
            errors: Vec<JsonDiagnostic<'a>>,
        }
        output::json(&Invalid {
            valid: false,
            kind,
            errors: json_diagnostics(errors, text),
        })?;
    } else {
        output::stderr(&forcebridge_soql::render_all(errors, text));
    }
    Ok(Exit::Failure)
}

fn check(input: &SoqlInput) -> anyhow::Result<Outcome> {
    let text = read_input(input)?;
    // Salesforce's limit, checked first: a statement over it is neither parsed nor echoed.
    if let Some(too_long) = forcebridge_soql::check_length(&text) {
        let kind = if text
            .trim_start()
            .get(..4)
            .is_some_and(|w| w.eq_ignore_ascii_case("find"))
        {
            "sosl"
        } else {
            "soql"
        };
        return report_problems(&[too_long], kind, &text, input.json);
    }
    let parsed = parse(&text);
    if !parsed.errors.is_empty() {
        return report_invalid(&parsed, &text, input.json);
    }
    if input.json {
        output::json(
            &serde_json::json!({ "valid": true, "kind": statement_kind(&parsed.tree), "errors": [] }),
        )?;
    }
    Ok(Exit::Success)
}

fn fmt(input: &SoqlInput, one_line: bool) -> anyhow::Result<Outcome> {
    let text = read_input(input)?;
    let parsed = parse(&text);
    if !parsed.errors.is_empty() {
        return report_invalid(&parsed, &text, input.json);
    }
    let canonical = to_soql(&parsed.tree);
    let pretty = format_pretty(&parsed.tree);
    if input.json {
        output::json(&serde_json::json!({ "canonical": canonical, "formatted": pretty }))?;
    } else {
        output::stdout(&format!(
            "{}\n",
            if one_line { &canonical } else { &pretty }
        ))?;
    }
    Ok(Exit::Success)
}

fn parse_tree(input: &SoqlInput) -> anyhow::Result<Outcome> {
    let text = read_input(input)?;
    let parsed = parse(&text);
    if input.json {
        #[derive(Serialize)]
        struct Tree<'a> {
            valid: bool,
            tree: &'a Statement,
            errors: Vec<JsonDiagnostic<'a>>,
        }
        output::json(&Tree {
            valid: parsed.errors.is_empty(),
            tree: &parsed.tree,
            errors: json_diagnostics(&parsed.errors, &text),
        })?;
    } else {
        output::stdout(&format!("{:#?}\n", parsed.tree))?;
        if !parsed.errors.is_empty() {
            output::stderr(&parsed.render_errors(&text));
        }
    }
    Ok(if parsed.errors.is_empty() {
        Exit::Success
    } else {
        Exit::Failure
    })
}

#[derive(Serialize)]
struct JsonInfo {
    object: String,
    fields: Vec<String>,
    relationships: Vec<String>,
    field_sets: Vec<&'static str>,
    aggregates: Vec<JsonAggregate>,
    aggregate_query: bool,
    count_only: bool,
    limit: Option<u64>,
    offset: Option<u64>,
    subqueries: Vec<JsonInfo>,
    semi_joins: Vec<JsonInfo>,
}

#[derive(Serialize)]
struct JsonAggregate {
    function: &'static str,
    field: Option<String>,
    alias: Option<String>,
}

impl From<&QueryInfo> for JsonInfo {
    fn from(info: &QueryInfo) -> JsonInfo {
        JsonInfo {
            object: info.object.clone(),
            fields: info.fields.iter().map(|f| f.dotted()).collect(),
            relationships: info.relationships.clone(),
            field_sets: info.field_sets.iter().map(|s| s.keyword()).collect(),
            aggregates: info
                .aggregates
                .iter()
                .map(|a| JsonAggregate {
                    function: a.function.name(),
                    field: a.field.clone(),
                    alias: a.alias.clone(),
                })
                .collect(),
            aggregate_query: info.is_aggregate(),
            count_only: info.is_count_only(),
            limit: info.limit,
            offset: info.offset,
            subqueries: info.subqueries.iter().map(JsonInfo::from).collect(),
            semi_joins: info.semi_joins.iter().map(JsonInfo::from).collect(),
        }
    }
}

fn info(input: &SoqlInput) -> anyhow::Result<Outcome> {
    let text = read_input(input)?;
    let parsed = parse(&text);
    if !parsed.errors.is_empty() {
        return report_invalid(&parsed, &text, input.json);
    }
    let Statement::Query(query) = &parsed.tree else {
        anyhow::bail!("soql info describes SOQL queries; this is a SOSL search");
    };
    let info = JsonInfo::from(&QueryInfo::of(query));
    if input.json {
        output::json(&info)?;
    } else {
        output::stdout(&describe(&info, 0))?;
    }
    Ok(Exit::Success)
}

fn describe(info: &JsonInfo, indent: usize) -> String {
    let pad = " ".repeat(indent);
    let mut out = format!("{pad}object: {}\n", info.object);
    let list = |items: &[String]| {
        if items.is_empty() {
            "-".to_string()
        } else {
            items.join(", ")
        }
    };
    out += &format!("{pad}fields: {}\n", list(&info.fields));
    if !info.relationships.is_empty() {
        out += &format!("{pad}relationships: {}\n", list(&info.relationships));
    }
    if !info.field_sets.is_empty() {
        out += &format!(
            "{pad}field sets: FIELDS({})\n",
            info.field_sets.join("), FIELDS(")
        );
    }
    for a in &info.aggregates {
        let alias = a
            .alias
            .as_deref()
            .map(|a| format!(" as {a}"))
            .unwrap_or_default();
        out += &format!(
            "{pad}aggregate: {}({}){alias}\n",
            a.function,
            a.field.as_deref().unwrap_or("")
        );
    }
    if let Some(limit) = info.limit {
        out += &format!("{pad}limit: {limit}\n");
    }
    if let Some(offset) = info.offset {
        out += &format!("{pad}offset: {offset}\n");
    }
    for sub in &info.subqueries {
        out += &format!("{pad}child subquery:\n{}", describe(sub, indent + 2));
    }
    for join in &info.semi_joins {
        out += &format!("{pad}semi-join:\n{}", describe(join, indent + 2));
    }
    out
}
