//! The data commands: query, get, create, update, upsert, delete, describe, search, limits, api.
//!
//! Each opens the org the global options select, makes its calls through the client, and
//! prints through [`RowWriter`] (records) or `output` (everything else).

use std::io::{self, Write};
use std::time::Duration;

use forcebridge_client::{Method, Record};
use forcebridge_soql::analysis::QueryInfo;
use futures_util::TryStreamExt;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{Map, Value, json};

use crate::cli::{
    ApiArgs, DeleteArgs, DescribeArgs, FormatArgs, GetArgs, GlobalArgs, QueryArgs, RecordInput,
    SearchArgs, UpdateArgs, UpsertArgs, WriteArgs,
};
use crate::input;
use crate::org::Org;
use crate::output::{self, Exit, Outcome, usage};
use crate::rows::{Columns, Format, RowWriter};

pub(crate) async fn query(global: &GlobalArgs, args: QueryArgs) -> anyhow::Result<Outcome> {
    let soql = input::statement(args.soql.as_deref(), args.file.as_deref(), "the query")?;
    // A table's and a CSV's columns: the SELECT list, in its order.
    let columns = Columns::of_soql(&soql);
    // The client checks the statement before sending it; this look only decides how to show
    // the result, and points a SOSL search to the command that runs it.
    let count_only = match forcebridge_soql::check_length(&soql)
        .is_none()
        .then(|| forcebridge_soql::parse(&soql))
    {
        Some(parsed) if parsed.is_ok() => match parsed.tree {
            forcebridge_soql::Statement::Query(query) => QueryInfo::of(&query).is_count_only(),
            forcebridge_soql::Statement::Search(_) => {
                return Err(usage(
                    "that is a SOSL search: run it with `forcebridge search`",
                ));
            }
        },
        _ => false,
    };
    let org = Org::open(global).await?;
    let mut query = if args.tooling {
        org.client.tooling_query(soql)
    } else if args.all {
        org.client.query_all(soql)
    } else {
        org.client.query(soql)
    };
    if let Some(n) = args.batch_size {
        query = query.batch_size(n);
    }
    let format = Format::from(args.format);
    if count_only {
        let n = query.total_size().await?;
        match format {
            // As the org answers a COUNT() query.
            Format::Json => output::json_line(&json!({
                "totalSize": n, "done": true, "records": [],
            }))?,
            Format::Jsonl => output::json_line(&json!({ "totalSize": n }))?,
            Format::Csv => output::stdout(&format!("totalSize\n{n}\n"))?,
            Format::Table => output::stdout(&format!("{n}\n"))?,
        }
        return Ok(Exit::Success);
    }
    let progress = Progress::new("records");
    let mut pages = query.raw_pages();
    // The first page says how many records there are: JSON output opens with that count,
    // as the org's own query answer does.
    let first = pages.try_next().await?;
    let total = first.as_ref().map_or(0, |page| page.total_size);
    let mut out = io::stdout().lock();
    if format == Format::Json {
        write!(out, "{{\"totalSize\":{total},\"done\":true,\"records\":")?;
    }
    let mut writer = RowWriter::with_columns(format, columns, out);
    let mut page = first;
    while let Some(this) = page {
        progress.set_total(this.total_size);
        writer.write_page(&this)?;
        progress.advance(this.len() as u64);
        page = pages.try_next().await?;
    }
    progress.finish();
    let written = writer.finish()?;
    match format {
        Format::Json => output::stdout("}\n")?,
        // A table is for people: its count is on stderr, apart from the rows. CSV and JSON
        // lines are for programs: the count only when they are on the terminal too.
        Format::Table => output::stderr(&format!("{}\n", count(written, "record"))),
        Format::Csv | Format::Jsonl if output::stdout_is_terminal() => {
            output::stderr(&format!("{}\n", count(written, "record")));
        }
        Format::Csv | Format::Jsonl => {}
    }
    Ok(Exit::Success)
}

pub(crate) async fn get(global: &GlobalArgs, args: GetArgs) -> anyhow::Result<Outcome> {
    let org = Org::open(global).await?;
    let object = org.client.sobject(&args.object);
    let record: Record = if args.fields.is_empty() {
        object.get(&args.id).await?
    } else {
        let fields = args.fields.iter().map(String::as_str).collect::<Vec<_>>();
        object.get_as(&args.id, &fields).await?
    };
    let record = record.into_map();
    if Format::from(args.format) == Format::Table {
        output::stdout(&field_lines(&record))?;
        return Ok(Exit::Success);
    }
    print_records(args.format, std::iter::once(record))
}

/// One record as `field: value` lines, values aligned: parents' fields as `Owner.Name`, a
/// compound field (an address, a location) left out when its component fields are there
/// (`BillingAddress` when `BillingStreet`, `BillingCity`, ... are), and shown as its parts
/// (`street, city, ...`) when they are not.
fn field_lines(record: &Map<String, Value>) -> String {
    let mut lines = Vec::new();
    flatten_fields(record, "", &mut lines);
    let width = lines
        .iter()
        .map(|(name, _)| name.chars().count())
        .max()
        .unwrap_or(0);
    let mut text = String::new();
    for (name, value) in lines {
        let pad = width - name.chars().count();
        let mut value_lines = value.lines();
        text.push_str(&name);
        text.push(':');
        if let Some(first) = value_lines.next() {
            text.extend(std::iter::repeat_n(' ', pad + 1));
            text.push_str(first);
        }
        text.push('\n');
        // A value of several lines keeps its lines under the values' column.
        for line in value_lines {
            text.extend(std::iter::repeat_n(' ', width + 2));
            text.push_str(line);
            text.push('\n');
        }
    }
    text
}

fn flatten_fields(record: &Map<String, Value>, prefix: &str, lines: &mut Vec<(String, String)>) {
    for (name, value) in record {
        if name == "attributes" {
            continue;
        }
        let full = format!("{prefix}{name}");
        match value {
            Value::Object(parent) if parent.contains_key("attributes") => {
                flatten_fields(parent, &format!("{full}."), lines);
            }
            Value::Object(parts) => {
                if is_compound_with_parts(record, name, parts.keys().map(String::as_str)) {
                    continue;
                }
                // In the order an address is written (the org sends its parts sorted by
                // name), then anything else.
                let known = COMPOUND_PARTS.iter().filter_map(|part| parts.get(*part));
                let others = parts
                    .iter()
                    .filter(|(part, _)| !COMPOUND_PARTS.contains(&part.as_str()))
                    .map(|(_, value)| value);
                let text = known
                    .chain(others)
                    .filter(|v| !v.is_null())
                    .map(crate::rows::cell_text)
                    .collect::<Vec<_>>()
                    .join(", ");
                lines.push((full, text));
            }
            // An empty compound field's parts are empty too.
            Value::Null if is_compound_with_parts(record, name, COMPOUND_PARTS.iter().copied()) => {
            }
            other => lines.push((full, crate::rows::cell_text(other))),
        }
    }
}

/// The parts of the compound fields Salesforce has: addresses and locations.
const COMPOUND_PARTS: [&str; 7] = [
    "street",
    "city",
    "state",
    "postalCode",
    "country",
    "latitude",
    "longitude",
];

/// Whether `name` is a compound field whose component fields `record` has: `BillingStreet`,
/// ... for `BillingAddress` (`Street`, ... for a Lead's `Address`), `Site__Latitude__s`, ...
/// for a location `Site__c`. `parts` are the members its value has (or may have).
fn is_compound_with_parts<'a>(
    record: &Map<String, Value>,
    name: &str,
    parts: impl Iterator<Item = &'a str>,
) -> bool {
    let capitalized = |part: &str| {
        let mut chars = part.chars();
        chars
            .next()
            .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
            .unwrap_or_default()
    };
    let component = |part: &str| match name.strip_suffix("__c") {
        Some(base) => format!("{base}__{}__s", capitalized(part)),
        None => format!(
            "{}{}",
            name.strip_suffix("Address").unwrap_or(name),
            capitalized(part)
        ),
    };
    let mut parts = parts;
    parts.any(|part| record.contains_key(&component(part)))
}

pub(crate) async fn create(global: &GlobalArgs, args: WriteArgs) -> anyhow::Result<Outcome> {
    let record = record_input(&args.record)?;
    let org = Org::open(global).await?;
    let id = org.client.sobject(&args.object).create(&record).await?;
    if args.json {
        output::json(&json!({ "id": id, "success": true, "created": true }))?;
    } else {
        output::stdout(&format!("{id}\n"))?;
    }
    Ok(Exit::Success)
}

pub(crate) async fn update(global: &GlobalArgs, args: UpdateArgs) -> anyhow::Result<Outcome> {
    let record = record_input(&args.record)?;
    if record.is_empty() {
        return Err(usage("nothing to update: give Field=value pairs or --data"));
    }
    let org = Org::open(global).await?;
    org.client
        .sobject(&args.object)
        .update(&args.id, &record)
        .await?;
    if args.json {
        output::json(&json!({ "id": args.id, "success": true }))?;
    } else {
        output::stderr(&format!("updated {} {}\n", args.object, args.id));
    }
    Ok(Exit::Success)
}

pub(crate) async fn upsert(global: &GlobalArgs, args: UpsertArgs) -> anyhow::Result<Outcome> {
    let record = record_input(&args.record)?;
    let org = Org::open(global).await?;
    let outcome = org
        .client
        .sobject(&args.object)
        .upsert(&args.external_id, &args.value, &record)
        .await?;
    if args.json {
        output::json(&json!({ "id": outcome.id, "success": true, "created": outcome.created }))?;
    } else {
        output::stdout(&format!("{}\n", outcome.id))?;
        output::stderr(if outcome.created {
            "created\n"
        } else {
            "updated\n"
        });
    }
    Ok(Exit::Success)
}

pub(crate) async fn delete(global: &GlobalArgs, args: DeleteArgs) -> anyhow::Result<Outcome> {
    let org = Org::open(global).await?;
    org.client.sobject(&args.object).delete(&args.id).await?;
    if args.json {
        output::json(&json!({ "id": args.id, "success": true }))?;
    } else {
        output::stderr(&format!("deleted {} {}\n", args.object, args.id));
    }
    Ok(Exit::Success)
}

pub(crate) async fn describe(global: &GlobalArgs, args: DescribeArgs) -> anyhow::Result<Outcome> {
    let org = Org::open(global).await?;
    let format = Format::from(args.format);
    match args.object {
        None => {
            let global = org.client.describe_global().await?;
            if format == Format::Json {
                output::json(&global)?;
                return Ok(Exit::Success);
            }
            let rows = global.sobjects.iter().map(|o| {
                object_row([
                    ("name", json!(o.name)),
                    ("label", json!(o.label)),
                    ("keyPrefix", json!(o.key_prefix)),
                    ("custom", json!(o.custom)),
                    ("queryable", json!(o.queryable)),
                    ("createable", json!(o.createable)),
                ])
            });
            print_records(args.format, rows)
        }
        Some(object) => {
            let describe = org.client.sobject(&object).describe().await?;
            if format == Format::Json {
                output::json(&*describe)?;
                return Ok(Exit::Success);
            }
            let rows = describe.fields.iter().map(|f| {
                // The active values, in the org's order, as a multi-select picklist writes
                // its values.
                let picklist = f
                    .picklist_values
                    .iter()
                    .filter(|v| v.active)
                    .map(|v| v.value.as_str())
                    .collect::<Vec<_>>()
                    .join(";");
                object_row([
                    ("name", json!(f.name)),
                    ("label", json!(f.label)),
                    ("type", json!(f.field_type)),
                    ("length", json!(f.length)),
                    ("nillable", json!(f.nillable)),
                    ("createable", json!(f.createable)),
                    ("updateable", json!(f.updateable)),
                    ("externalId", json!(f.external_id)),
                    ("unique", json!(f.unique)),
                    ("referenceTo", json!(f.reference_to.join(","))),
                    ("picklistValues", json!(picklist)),
                ])
            });
            print_records(args.format, rows)
        }
    }
}

pub(crate) async fn search(global: &GlobalArgs, args: SearchArgs) -> anyhow::Result<Outcome> {
    let sosl = input::statement(args.sosl.as_deref(), args.file.as_deref(), "the search")?;
    let org = Org::open(global).await?;
    let records = org.client.search(&sosl).await?;
    let rows = records.into_iter().map(|record| {
        let mut map = Map::new();
        map.insert(
            "type".into(),
            json!(record.sobject_type().unwrap_or_default()),
        );
        map.extend(record.into_map());
        map
    });
    print_records(args.format, rows)
}

pub(crate) async fn limits(global: &GlobalArgs, args: FormatArgs) -> anyhow::Result<Outcome> {
    let org = Org::open(global).await?;
    let limits = org.client.limits().await?;
    let value = serde_json::to_value(&limits)?;
    if Format::from(args) == Format::Json {
        output::json(&value)?;
        return Ok(Exit::Success);
    }
    let rows = value
        .as_object()
        .into_iter()
        .flatten()
        .map(|(name, limit)| {
            let max = limit.get("Max").and_then(Value::as_i64).unwrap_or(0);
            let remaining = limit.get("Remaining").and_then(Value::as_i64).unwrap_or(0);
            object_row([
                ("name", json!(name)),
                ("max", json!(max)),
                ("remaining", json!(remaining)),
                ("used", json!(max - remaining)),
            ])
        });
    print_records(args, rows)
}

pub(crate) async fn api(global: &GlobalArgs, args: ApiArgs) -> anyhow::Result<Outcome> {
    let method: Method = args
        .method
        .to_ascii_uppercase()
        .parse()
        .map_err(|_| usage(format!("{:?} is not an HTTP method", args.method)))?;
    // The body is read, and refused, before anything is sent.
    let body = args.data.as_deref().map(json_data).transpose()?;
    let org = Org::open(global).await?;
    let instance_url = org.client.session().await?.instance_url.clone();
    let target = ApiTarget::parse(&args.path, &instance_url)?;
    let mut request = org.client.raw(method, &target.path);
    for (key, value) in form_urlencoded::parse(target.query.as_bytes()) {
        request = request.query(&key, value.into_owned());
    }
    if let Some(body) = &body {
        request = request.json(body);
    }
    let response = request.send().await?;
    if args.include {
        let mut head = format!("HTTP {}\n", response.status);
        for (name, value) in &response.headers {
            head.push_str(&format!(
                "{name}: {}\n",
                value.to_str().unwrap_or("<binary>")
            ));
        }
        output::stderr(&head);
    }
    let mut out = io::stdout().lock();
    match serde_json::from_slice::<Value>(&response.body) {
        Ok(value) => {
            serde_json::to_writer_pretty(&mut out, &value)?;
            out.write_all(b"\n")?;
        }
        Err(_) => out.write_all(&response.body)?,
    }
    out.flush()?;
    Ok(Exit::Success)
}

/// Where `api` sends its request, from what the user wrote: the path as the client takes it
/// (under the API version, or from the instance's root with a leading `/`) and the query
/// string.
#[derive(Debug, PartialEq, Eq)]
struct ApiTarget {
    path: String,
    query: String,
}

impl ApiTarget {
    /// Reads a path under the version (`limits`, `/limits`, `sobjects/Account`), a path from
    /// the root (`/services/data/v60.0/limits`, a record's `attributes.url`,
    /// `/services/oauth2/userinfo`), a path under `/services/data/` (`v60.0/limits`), or a
    /// URL on the org's own instance (`https://acme.my.salesforce.com/services/...`).
    fn parse(text: &str, instance_url: &str) -> anyhow::Result<ApiTarget> {
        let text = text.trim();
        let rest = if text.starts_with("https://") || text.starts_with("http://") {
            on_instance(text, instance_url)?
        } else {
            text
        };
        let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
        let relative = path.trim_start_matches('/');
        let path = if relative.starts_with("services/") || relative == "services" {
            format!("/{relative}")
        } else if relative.split('/').next().is_some_and(is_api_version) {
            // Under /services/data/, with the version written out.
            format!("/services/data/{relative}")
        } else {
            relative.to_string()
        };
        if path.is_empty() {
            return Err(usage(
                "give a path: `limits`, `sobjects/Account`, `/services/data/v60.0/limits`",
            ));
        }
        Ok(ApiTarget {
            path,
            query: query.to_string(),
        })
    }
}

/// The path and query of `url`, which must be on the org's instance: a token is never sent
/// to another host.
fn on_instance<'a>(url: &'a str, instance_url: &str) -> anyhow::Result<&'a str> {
    let origin = |u: &str| -> Option<String> {
        let (scheme, rest) = u.split_once("://")?;
        let host = rest.split(['/', '?', '#']).next()?;
        let port = match (scheme, host.rsplit_once(':')) {
            (_, Some((_, port))) if !port.contains(']') => "",
            ("https", _) => ":443",
            _ => ":80",
        };
        Some(format!("{scheme}://{}{port}", host.to_ascii_lowercase()))
    };
    if origin(url).is_some() && origin(url) == origin(instance_url) {
        let (_, rest) = url.split_once("://").unwrap_or(("", url));
        let start = rest.find(['/', '?']).unwrap_or(rest.len());
        return Ok(&rest[start..]);
    }
    Err(usage(format!(
        "{url} is not on the org's instance ({instance_url}): give a path such as /services/data/..., or a URL on that host"
    )))
}

/// Whether `segment` is an API version as URLs write it: `v60.0`.
fn is_api_version(segment: &str) -> bool {
    segment.strip_prefix('v').is_some_and(|number| {
        number.split_once('.').is_some_and(|(major, minor)| {
            !major.is_empty()
                && !minor.is_empty()
                && major.bytes().all(|b| b.is_ascii_digit())
                && minor.bytes().all(|b| b.is_ascii_digit())
        })
    })
}

/// Prints records that are already at hand.
fn print_records(
    format: FormatArgs,
    rows: impl IntoIterator<Item = Map<String, Value>>,
) -> anyhow::Result<Outcome> {
    let mut writer = RowWriter::new(Format::from(format), io::stdout().lock());
    for row in rows {
        writer.write(&row)?;
    }
    writer.finish()?;
    Ok(Exit::Success)
}

fn object_row<const N: usize>(fields: [(&str, Value); N]) -> Map<String, Value> {
    fields
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
}

/// The record a write command sends: `--data` JSON, then `Field=text` / `Field:=json` pairs.
pub(crate) fn record_input(input: &RecordInput) -> anyhow::Result<Map<String, Value>> {
    let mut record = match &input.data {
        None => Map::new(),
        Some(data) => match json_data(data)? {
            Value::Object(map) => map,
            _ => return Err(usage("--data must be a JSON object")),
        },
    };
    for pair in &input.fields {
        let (name, value) = if let Some((name, raw)) = pair.split_once(":=") {
            let value = serde_json::from_str(raw).map_err(|e| {
                usage(format!(
                    "{pair:?}: the value after := must be JSON (a number, true, false, null or a quoted string): {e}"
                ))
            })?;
            (name, value)
        } else if let Some((name, text)) = pair.split_once('=') {
            (name, Value::String(text.to_string()))
        } else {
            return Err(usage(format!(
                "{pair:?} is not a field: write Field=text or Field:=json"
            )));
        };
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(usage(format!("{name:?} is not a field name")));
        }
        record.insert(name.to_string(), value);
    }
    Ok(record)
}

/// The JSON of `--data` (`-` reads it from stdin): text that is not JSON is a usage error
/// that says where.
fn json_data(data: &str) -> anyhow::Result<Value> {
    let text = input::arg_or_stdin(data, "the --data JSON")?;
    serde_json::from_str(&text).map_err(|e| {
        let from = if data == "-" { " (stdin)" } else { "" };
        usage(format!(
            "--data{from} is not valid JSON: {} at line {}, column {}",
            json_error_text(&e),
            e.line(),
            e.column()
        ))
    })
}

/// serde_json's message without the position it appends (said apart, in words).
fn json_error_text(error: &serde_json::Error) -> String {
    let text = error.to_string();
    match text.rfind(" at line ") {
        Some(at) => text[..at].to_string(),
        None => text,
    }
}

pub(crate) fn count(n: u64, noun: &str) -> String {
    format!("{n} {noun}{}", if n == 1 { "" } else { "s" })
}

/// A progress bar on stderr (records, rate, ETA). Nothing is drawn when stderr is not a
/// terminal, so piped and scripted runs stay quiet.
#[derive(Clone)]
pub(crate) struct Progress {
    bar: Option<ProgressBar>,
}

impl Progress {
    /// For commands whose records go to stdout: shown only when stdout is not the terminal
    /// (the records go to a file or a pipe, so the terminal is free for the bar).
    pub(crate) fn new(noun: &'static str) -> Progress {
        if output::stdout_is_terminal() {
            return Progress { bar: None };
        }
        Progress::on_terminal(noun)
    }

    /// Shown whenever stderr is a terminal.
    pub(crate) fn on_terminal(noun: &'static str) -> Progress {
        if !output::stderr_is_terminal() {
            return Progress { bar: None };
        }
        let bar = ProgressBar::new_spinner();
        bar.set_style(
            ProgressStyle::with_template(&format!(
                "{{spinner}} {{human_pos}}/{{human_len}} {noun} [{{bar:30}}] {{per_sec}}, ETA {{eta}}"
            ))
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        bar.enable_steady_tick(Duration::from_millis(120));
        Progress { bar: Some(bar) }
    }

    pub(crate) fn set_total(&self, total: u64) {
        if let Some(bar) = &self.bar {
            bar.set_length(total);
        }
    }

    pub(crate) fn advance(&self, n: u64) {
        if let Some(bar) = &self.bar {
            bar.inc(n);
        }
    }

    pub(crate) fn set_position(&self, n: u64) {
        if let Some(bar) = &self.bar {
            bar.set_position(n);
        }
    }

    /// A message above the bar (or on stderr when there is no bar).
    pub(crate) fn println(&self, message: &str) {
        match &self.bar {
            Some(bar) => bar.println(message),
            None => output::stderr(&format!("{message}\n")),
        }
    }

    pub(crate) fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str, path: &str, query: &str) {
        let target = ApiTarget::parse(text, "https://acme.my.salesforce.com").unwrap();
        assert_eq!(
            target,
            ApiTarget {
                path: path.into(),
                query: query.into()
            },
            "{text}"
        );
    }

    #[test]
    fn api_paths_are_read_from_every_spelling() {
        check("limits", "limits", "");
        check("/limits", "limits", "");
        check("sobjects/Account/", "sobjects/Account/", "");
        check(
            "query?q=SELECT+Id+FROM+Account",
            "query",
            "q=SELECT+Id+FROM+Account",
        );
        check("v60.0/limits", "/services/data/v60.0/limits", "");
        check(
            "/services/data/v60.0/limits",
            "/services/data/v60.0/limits",
            "",
        );
        check("services/data/", "/services/data/", "");
        check("/services/oauth2/userinfo", "/services/oauth2/userinfo", "");
        check(
            "/services/data/v60.0/sobjects/Account/001RO0000000001YAA",
            "/services/data/v60.0/sobjects/Account/001RO0000000001YAA",
            "",
        );
        check(
            "https://acme.my.salesforce.com/services/data/v60.0/limits?x=1",
            "/services/data/v60.0/limits",
            "x=1",
        );
        check(
            "https://ACME.my.salesforce.com:443/services/data/",
            "/services/data/",
            "",
        );
        // A version-like word that is not a version stays under the version.
        check("v1/thing", "v1/thing", "");
    }

    #[test]
    fn an_api_url_on_another_host_or_port_is_refused() {
        for url in [
            "https://evil.example.com/services/data/v60.0/limits",
            "http://acme.my.salesforce.com/services/data/v60.0/limits",
            "https://acme.my.salesforce.com:8443/services/data/",
            "https://acme.my.salesforce.com.evil.example.com/services/data/",
        ] {
            let error = ApiTarget::parse(url, "https://acme.my.salesforce.com").unwrap_err();
            assert!(
                error.to_string().contains("is not on the org's instance"),
                "{url}: {error}"
            );
        }
        assert!(ApiTarget::parse("", "https://acme.my.salesforce.com").is_err());
    }

    #[test]
    fn compound_fields_are_shown_once() {
        let record: Map<String, Value> = serde_json::from_value(json!({
            "attributes": {"type": "Account"},
            "Name": "Acme",
            "BillingStreet": "1 Main Street",
            "BillingCity": "Springfield",
            "BillingAddress": {"city": "Springfield", "street": "1 Main Street"},
            "ShippingStreet": null,
            "ShippingAddress": null,
            "Site__Latitude__s": 1.5,
            "Site__Longitude__s": 2.5,
            "Site__c": {"latitude": 1.5, "longitude": 2.5},
            "Owner": {"attributes": {"type": "User"}, "Name": "Ada"},
        }))
        .unwrap();
        assert_eq!(
            field_lines(&record),
            "Name:               Acme\n\
             BillingStreet:      1 Main Street\n\
             BillingCity:        Springfield\n\
             ShippingStreet:\n\
             Site__Latitude__s:  1.5\n\
             Site__Longitude__s: 2.5\n\
             Owner.Name:         Ada\n"
        );
        let alone: Map<String, Value> = serde_json::from_value(json!({
            "BillingAddress": {"city": "Springfield", "country": null, "street": "1 Main Street"},
        }))
        .unwrap();
        assert_eq!(
            field_lines(&alone),
            "BillingAddress: 1 Main Street, Springfield\n"
        );
    }
}
