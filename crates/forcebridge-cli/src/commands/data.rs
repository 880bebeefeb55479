//! The data commands: query, get, create, update, upsert, delete, describe, search, limits, api.
//!
//! Each opens the org the global options select, makes its calls through the client, and
//! prints through [`RowWriter`] (records) or `output` (everything else).

use std::io::{self, Read, Write};
use std::time::Duration;

use anyhow::Context;
use forcebridge_client::{Method, Record};
use forcebridge_soql::analysis::QueryInfo;
use futures_util::TryStreamExt;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{Map, Value, json};

use crate::cli::{
    ApiArgs, DeleteArgs, DescribeArgs, FormatArgs, GetArgs, GlobalArgs, QueryArgs, RecordInput,
    SearchArgs, UpdateArgs, UpsertArgs, WriteArgs,
};
use crate::org::Org;
use crate::output::{self, Exit, Outcome, usage};
use crate::rows::{Columns, Format, RowWriter};

/// The statement text: the argument, or all of stdin for `-`.
pub(crate) fn read_arg(text: &str, what: &str) -> anyhow::Result<String> {
    if text != "-" {
        return Ok(text.to_string());
    }
    let mut read = String::new();
    io::stdin()
        .read_to_string(&mut read)
        .with_context(|| format!("reading the {what} from stdin"))?;
    Ok(read.trim_end_matches(['\n', '\r']).to_string())
}

pub(crate) async fn query(global: &GlobalArgs, args: QueryArgs) -> anyhow::Result<Outcome> {
    let soql = read_arg(&args.soql, "query")?;
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
            Format::Json | Format::Jsonl => output::json_line(&json!({ "totalSize": n }))?,
            Format::Csv => output::stdout(&format!("totalSize\n{n}\n"))?,
            Format::Table => output::stdout(&format!("{n}\n"))?,
        }
        return Ok(Exit::Success);
    }
    let mut writer = RowWriter::with_columns(format, columns, io::stdout().lock());
    let progress = Progress::new("records");
    let mut pages = query.raw_pages();
    while let Some(page) = pages.try_next().await? {
        progress.set_total(page.total_size);
        writer.write_page(&page)?;
        progress.advance(page.len() as u64);
    }
    progress.finish();
    let written = writer.finish()?;
    if format == Format::Table && output::stderr_is_terminal() {
        output::stderr(&format!(
            "{} from {}\n",
            count(written, "record"),
            org.label
        ));
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
    print_records(args.format, std::iter::once(record.into_map()))
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
                object_row([
                    ("name", json!(f.name)),
                    ("label", json!(f.label)),
                    ("type", json!(f.field_type)),
                    ("length", json!(f.length)),
                    ("nillable", json!(f.nillable)),
                    ("createable", json!(f.createable)),
                    ("updateable", json!(f.updateable)),
                    ("referenceTo", json!(f.reference_to.join(","))),
                ])
            });
            print_records(args.format, rows)
        }
    }
}

pub(crate) async fn search(global: &GlobalArgs, args: SearchArgs) -> anyhow::Result<Outcome> {
    let sosl = read_arg(&args.sosl, "search")?;
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
    let (path, query) = args
        .path
        .split_once('?')
        .map_or((args.path.as_str(), None), |(p, q)| (p, Some(q)));
    let path = path.trim_start_matches("/services/data/");
    let org = Org::open(global).await?;
    let mut request = org.client.raw(method, path);
    for (key, value) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        request = request.query(&key, value.into_owned());
    }
    if let Some(data) = &args.data {
        let body: Value =
            serde_json::from_str(&read_arg(data, "body")?).context("--data is not valid JSON")?;
        request = request.json(&body);
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
        Some(data) => {
            let text = read_arg(data, "record")?;
            match serde_json::from_str::<Value>(&text) {
                Ok(Value::Object(map)) => map,
                Ok(_) => return Err(usage("--data must be a JSON object")),
                Err(e) => return Err(usage(format!("--data is not valid JSON: {e}"))),
            }
        }
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
