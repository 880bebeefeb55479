//! `forcebridge push`: the settings (flags over the config file's `[push]` section, checked
//! before anything is sent), a progress bar on a terminal, and the summary. The work itself is
//! `forcebridge_sync::push`'s.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::Context;
use forcebridge_sync::Destination;
use forcebridge_sync::push::{
    ChangeDetection, Mapping, Mirror, Operation, Phase, PushConfig, PushProgress, PushSummary,
    Source, SourceQuery,
};
use serde::Deserialize;

use crate::cli::{GlobalArgs, PushArgs};
use crate::org::Org;
use crate::output::{self, Exit, Outcome as CommandOutcome, UsageError};

pub(crate) async fn run(global: &GlobalArgs, args: PushArgs) -> anyhow::Result<CommandOutcome> {
    // Everything is checked before the login, the first request.
    let config = settings(&args)?;
    let org = Org::open(global).await?;
    let bar = Bar::new(!args.json);
    let summary = forcebridge_sync::push::run(&org.client, &config, &|p| bar.show(p))
        .await
        .with_context(|| {
            format!(
                "pushing {} from {} to {}",
                config.object,
                config.source.display(),
                org.label
            )
        })?;
    bar.finish();
    report(&summary, &config, args.json)
}

/// The `[push]` section of a config file.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct FileSettings {
    object: Option<String>,
    from: Option<String>,
    table: Option<String>,
    query: Option<String>,
    /// `upsert`, `insert`, `update` or `delete`.
    operation: Option<String>,
    external_id: Option<String>,
    marker: Option<String>,
    key: Option<String>,
    /// Column → field.
    map: BTreeMap<String, String>,
    state: Option<String>,
    full: Option<bool>,
    mirror: Option<bool>,
    max_deletes: Option<u64>,
    budget: Option<u64>,
    bulk_threshold: Option<u64>,
    window: Option<usize>,
    allow_duplicates: Option<bool>,
    rejects: Option<PathBuf>,
}

fn usage(message: impl Into<String>) -> anyhow::Error {
    UsageError(message.into()).into()
}

/// Turns the file's and the flags' settings into the push's configuration, refusing anything
/// wrong with the name of the setting.
fn settings(args: &PushArgs) -> anyhow::Result<PushConfig> {
    let file: FileSettings = match &args.config {
        Some(path) => super::read_section(path, "push")?,
        None => FileSettings::default(),
    };
    let object = args
        .object
        .clone()
        .or(file.object.clone())
        .ok_or_else(|| usage("name the object to push to (OBJECT, or object in [push])"))?;
    let from = args
        .from
        .clone()
        .or(file.from.clone())
        .ok_or_else(|| usage("name the source with --from (a CSV or JSON-lines file, sqlite:PATH or a postgres:// URL)"))?;
    let query = match (
        args.table.clone().or(file.table.clone()),
        args.query.clone().or(file.query.clone()),
    ) {
        (Some(table), None) => Some(SourceQuery::Table(table)),
        (None, Some(sql)) => Some(SourceQuery::Sql(sql)),
        (None, None) => None,
        (Some(_), Some(_)) => return Err(usage("give a table or a query to read, not both")),
    };
    let (source, source_db) = source(&from, query)?;
    let operation = operation(args, &file)?;
    let state = match args.state.clone().or(file.state.clone()) {
        Some(text) => Destination::parse(&text).map_err(|e| usage(format!("state: {e}")))?,
        None => source_db.unwrap_or_else(Destination::default_sqlite),
    };
    let mut config = PushConfig::new(object, source, operation, state);
    config.key_column = args.key.clone().or(file.key.clone());
    let mut map = file.map.clone();
    for pair in &args.map {
        let (column, field) = pair
            .split_once('=')
            .ok_or_else(|| usage(format!("--map {pair:?}: expected COLUMN=FIELD")))?;
        map.insert(column.trim().to_string(), field.trim().to_string());
    }
    if !map.is_empty() {
        config.mapping = Mapping::Explicit(map);
    }
    if args.full || file.full == Some(true) {
        config.change_detection = ChangeDetection::All;
    }
    if args.mirror || file.mirror == Some(true) {
        let max_deletes = args.max_deletes.or(file.max_deletes).ok_or_else(|| {
            usage("mirror: give --max-deletes N, the most records a run may delete")
        })?;
        config.mirror = Some(Mirror { max_deletes });
    }
    config.budget = args.budget.or(file.budget);
    if let Some(threshold) = args.bulk_threshold.or(file.bulk_threshold) {
        config.bulk.threshold = threshold;
    }
    if let Some(window) = file.window {
        config.window = window;
    }
    config.dry_run = args.dry_run;
    config.allow_save_on_duplicates = args.allow_duplicates || file.allow_duplicates == Some(true);
    config.rejects_file = args.rejects.clone().or(file.rejects.clone());
    config.validate().map_err(|e| usage(e.to_string()))?;
    Ok(config)
}

/// The source, and the database it lives in (the state's default home) when it is one.
fn source(from: &str, query: Option<SourceQuery>) -> anyhow::Result<(Source, Option<Destination>)> {
    let database = from.starts_with("sqlite:")
        || from.starts_with("postgres://")
        || from.starts_with("postgresql://");
    if database {
        let query = query.ok_or_else(|| {
            usage("a database source needs --table or --query (or table or query in [push])")
        })?;
        let db = Destination::parse(from).map_err(|e| usage(format!("from: {e}")))?;
        let source = match &db {
            Destination::Sqlite(path) => {
                if !path.exists() {
                    return Err(usage(format!("from: {} does not exist", path.display())));
                }
                Source::Sqlite {
                    path: path.clone(),
                    query,
                }
            }
            Destination::Postgres(url) => Source::Postgres {
                url: url.clone(),
                query,
            },
        };
        return Ok((source, Some(db)));
    }
    if query.is_some() {
        return Err(usage(
            "--table and --query apply to a database source, not a file",
        ));
    }
    let path = PathBuf::from(from);
    if !path.is_file() {
        return Err(usage(format!("from: {from} is not a file")));
    }
    let lower = from.to_ascii_lowercase();
    let source = if lower.ends_with(".csv") {
        Source::Csv(path)
    } else if lower.ends_with(".jsonl") || lower.ends_with(".ndjson") {
        Source::JsonLines(path)
    } else {
        return Err(usage(format!(
            "from: {from}: a file source ends in .csv, .jsonl or .ndjson"
        )));
    };
    Ok((source, None))
}

fn operation(args: &PushArgs, file: &FileSettings) -> anyhow::Result<Operation> {
    let marker = args.marker.clone().or(file.marker.clone());
    if let Some(field) = &args.upsert {
        return Ok(Operation::Upsert {
            external_id_field: field.clone(),
        });
    }
    if args.insert {
        return Ok(Operation::Insert {
            marker_field: marker,
        });
    }
    if args.update {
        return Ok(Operation::Update);
    }
    if args.delete {
        return Ok(Operation::Delete);
    }
    match file.operation.as_deref() {
        Some("upsert") => {
            let field = file
                .external_id
                .clone()
                .ok_or_else(|| usage("push.operation = \"upsert\" needs push.external_id"))?;
            Ok(Operation::Upsert {
                external_id_field: field,
            })
        }
        Some("insert") => Ok(Operation::Insert {
            marker_field: marker,
        }),
        Some("update") => Ok(Operation::Update),
        Some("delete") => Ok(Operation::Delete),
        Some(other) => Err(usage(format!(
            "push.operation: {other:?} is not upsert, insert, update or delete"
        ))),
        None => Err(usage(
            "say what to do: --upsert FIELD, --insert, --update or --delete",
        )),
    }
}

fn report(
    summary: &PushSummary,
    config: &PushConfig,
    json: bool,
) -> anyhow::Result<CommandOutcome> {
    if json {
        output::json(summary)?;
    } else {
        let mut text = String::new();
        if summary.dry_run {
            text.push_str(&format!(
                "dry run, {} {}: {} rows read, {} invalid, {} unchanged; would insert {}, update {}, delete {} ({} API calls forecast)\n",
                summary.operation,
                summary.object,
                summary.rows,
                summary.invalid,
                summary.unchanged,
                summary.to_insert,
                summary.to_update,
                summary.to_delete,
                summary.forecast_api_calls
            ));
            for diff in &summary.diff {
                text.push_str(&format!("  {} {}\n", diff.action, diff.key));
                for change in &diff.changes {
                    text.push_str(&format!(
                        "    {}: {} -> {}\n",
                        change.field, change.current, change.new
                    ));
                }
            }
        } else {
            text.push_str(&format!(
                "{} {}: {} rows read, {} invalid, {} unchanged; {} sent, {} succeeded, {} failed, {} deleted; {} API calls (forecast {}) in {:.1}s\n",
                summary.operation,
                summary.object,
                summary.rows,
                summary.invalid,
                summary.unchanged,
                summary.sent,
                summary.succeeded,
                summary.failed,
                summary.deleted,
                summary.api_calls,
                summary.forecast_api_calls,
                summary.duration.as_secs_f64()
            ));
            if summary.resolved_in_flight > 0 {
                text.push_str(&format!(
                    "  {} inserts left in flight were settled by reading them back\n",
                    summary.resolved_in_flight
                ));
            }
            if summary.bulk_jobs_resolved > 0 {
                text.push_str(&format!(
                    "  {} Bulk insert jobs of an earlier run were read back\n",
                    summary.bulk_jobs_resolved
                ));
            }
            if summary.lock_retries > 0 {
                text.push_str(&format!(
                    "  UNABLE_TO_LOCK_ROW: {} records sent again, {} sent alone\n",
                    summary.lock_retries, summary.serial_sends
                ));
            }
        }
        output::stdout(&text)?;
    }
    if summary.invalid + summary.failed > 0 && !summary.dry_run {
        output::stderr(&format!(
            "error: {} rows were not applied; they are in _sf_push_rejects in {} and are sent again next run\n",
            summary.invalid + summary.failed,
            config.state.display()
        ));
        return Ok(Exit::Failure);
    }
    Ok(Exit::Success)
}

/// A progress bar on stderr: rows planned, then records sent. Drawn only on a terminal.
struct Bar {
    bar: Option<indicatif::ProgressBar>,
}

impl Bar {
    fn new(allowed: bool) -> Bar {
        let bar = (allowed && output::stderr_is_terminal()).then(|| {
            let bar = indicatif::ProgressBar::new(0);
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{prefix:<8} {human_pos}/{human_len} [{bar:30}] {per_sec}, ETA {eta}",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
                .progress_chars("=> "),
            );
            bar
        });
        Bar { bar }
    }

    fn show(&self, progress: &PushProgress) {
        let Some(bar) = &self.bar else {
            return;
        };
        match progress.phase {
            Phase::Plan => {
                bar.set_prefix("planning");
                bar.set_length(progress.rows);
                bar.set_position(progress.rows);
            }
            Phase::Send | Phase::Delete => {
                bar.set_prefix(if progress.phase == Phase::Send {
                    "sending"
                } else {
                    "deleting"
                });
                bar.set_length(progress.to_send.unwrap_or(0).max(progress.sent));
                bar.set_position(progress.sent);
            }
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
