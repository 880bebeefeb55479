//! `forcebridge sync` and `forcebridge sync status`: the settings (flags over the config
//! file's `[sync]` section, checked before anything is sent), progress per object on a
//! terminal, and the run summary. The work itself is `forcebridge_sync`'s.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use anyhow::Context;
use forcebridge_sync::{
    Budget, Deletes, Destination, Mode, ObjectOptions, ObjectSelection, Outcome, Progress,
    RunSummary, SyncConfig,
};
use serde::Deserialize;

use crate::cli::{GlobalArgs, SyncArgs, SyncCommand, SyncTarget};
use crate::org::Org;
use crate::output::{self, Exit, Outcome as CommandOutcome, UsageError};

pub(crate) async fn run(global: &GlobalArgs, args: SyncArgs) -> anyhow::Result<CommandOutcome> {
    if let Some(SyncCommand::Status(status)) = args.command {
        return show_status(&status.target, status.json).await;
    }
    // Everything is checked before the login, the first request.
    let config = settings(&args)?;
    let org = Org::open(global).await?;
    let progress = Bars::new(!args.json);
    let summary = forcebridge_sync::run(&org.client, &config, &|p| progress.show(p))
        .await
        .with_context(|| {
            format!(
                "syncing {} into {}",
                org.label,
                config.destination.display()
            )
        })?;
    progress.finish();
    report(&summary, args.json)
}

/// Turns the file's and the flags' settings into the engine's configuration, refusing
/// anything wrong with the name of the setting.
fn settings(args: &SyncArgs) -> anyhow::Result<SyncConfig> {
    let file = match &args.target.config {
        Some(path) => read_file(path)?,
        None => FileSettings::default(),
    };
    let destination = match args.target.to.as_deref().or(file.to.as_deref()) {
        Some(text) => Destination::parse(text).map_err(|e| UsageError(e.to_string()))?,
        None => Destination::default_sqlite(),
    };
    let objects = if !args.objects.is_empty() {
        ObjectSelection::Names(args.objects.clone())
    } else if !file.objects.is_empty() {
        ObjectSelection::Names(file.objects.clone())
    } else {
        ObjectSelection::AllReplicable {
            exclude: file.exclude.clone(),
        }
    };
    let mut config = SyncConfig::new(destination, objects);
    config.defaults = file.defaults().options("sync")?;
    if args.full {
        config.defaults.mode = Mode::Full;
    }
    if args.hard_deletes {
        config.defaults.deletes = Deletes::Hard;
    }
    for (name, object) in &file.object {
        let mut options = object.options(&format!("sync.object.{name}"))?;
        // An object's table inherits what its own section leaves unsaid.
        if object.mode.is_none() {
            options.mode = config.defaults.mode;
        }
        if object.deletes.is_none() {
            options.deletes = config.defaults.deletes;
        }
        if object.formula_refresh_hours.is_none() {
            options.formula_refresh = config.defaults.formula_refresh;
        }
        config.per_object.insert(name.clone(), options);
    }
    if let Some(seconds) = args.lag.or(file.lag_seconds) {
        config.lag = Duration::from_secs(seconds);
    }
    if let Some(seconds) = args.overlap.or(file.overlap_seconds) {
        config.overlap = Duration::from_secs(seconds);
    }
    if let Some(n) = args.concurrency.or(file.concurrency) {
        config.concurrency = n;
    }
    if let Some(n) = args.bulk_threshold.or(file.bulk_threshold) {
        config.bulk_threshold = (n > 0).then_some(n);
    }
    if let Some(n) = args.bulk_page_rows.or(file.bulk_page_rows) {
        config.bulk_page_rows = n;
    }
    config.budget = Budget {
        max_calls_per_run: args.max_api_calls.or(file.max_api_calls),
        max_share_of_daily_limit: args.max_api_share.or(file.max_api_share),
    };
    config.reconcile_every = file
        .reconcile_every_hours
        .map(|h| Duration::from_secs_f64(h * 3600.0));
    config.validate().map_err(|e| UsageError(e.to_string()))?;
    Ok(config)
}

/// The `[sync]` section of a config file.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct FileSettings {
    to: Option<String>,
    objects: Vec<String>,
    exclude: Vec<String>,
    lag_seconds: Option<u64>,
    overlap_seconds: Option<u64>,
    concurrency: Option<usize>,
    max_api_calls: Option<u64>,
    max_api_share: Option<f64>,
    reconcile_every_hours: Option<f64>,
    bulk_threshold: Option<u64>,
    bulk_page_rows: Option<u64>,
    // Every object's settings (serde's `flatten` cannot be combined with
    // `deny_unknown_fields`, so they are spelled out).
    fields: Vec<String>,
    exclude_fields: Vec<String>,
    filter: Option<String>,
    mode: Option<String>,
    deletes: Option<String>,
    formula_refresh_hours: Option<f64>,
    /// Settings of one object: `[sync.object.Account]`.
    object: BTreeMap<String, FileObject>,
}

impl FileSettings {
    fn defaults(&self) -> FileObject {
        FileObject {
            fields: self.fields.clone(),
            exclude_fields: self.exclude_fields.clone(),
            filter: self.filter.clone(),
            mode: self.mode.clone(),
            deletes: self.deletes.clone(),
            formula_refresh_hours: self.formula_refresh_hours,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct FileObject {
    fields: Vec<String>,
    exclude_fields: Vec<String>,
    filter: Option<String>,
    mode: Option<String>,
    deletes: Option<String>,
    formula_refresh_hours: Option<f64>,
}

impl FileObject {
    fn options(&self, at: &str) -> anyhow::Result<ObjectOptions> {
        let mut options = ObjectOptions {
            include_fields: self.fields.clone(),
            exclude_fields: self.exclude_fields.clone(),
            filter: self.filter.clone(),
            ..ObjectOptions::default()
        };
        options.mode = match self.mode.as_deref() {
            None | Some("incremental") => Mode::Incremental,
            Some("full") => Mode::Full,
            Some(other) => {
                return Err(UsageError(format!(
                    "{at}.mode: {other:?} is neither \"incremental\" nor \"full\""
                ))
                .into());
            }
        };
        options.deletes = match self.deletes.as_deref() {
            None | Some("soft") => Deletes::Soft,
            Some("hard") => Deletes::Hard,
            Some(other) => {
                return Err(UsageError(format!(
                    "{at}.deletes: {other:?} is neither \"soft\" nor \"hard\""
                ))
                .into());
            }
        };
        if let Some(hours) = self.formula_refresh_hours {
            options.formula_refresh =
                (hours > 0.0).then(|| Duration::from_secs_f64(hours * 3600.0));
        }
        Ok(options)
    }
}

fn read_file(path: &Path) -> anyhow::Result<FileSettings> {
    super::read_section(path, "sync")
}

async fn show_status(target: &SyncTarget, json: bool) -> anyhow::Result<CommandOutcome> {
    let file = match &target.config {
        Some(path) => read_file(path)?,
        None => FileSettings::default(),
    };
    let destination = match target.to.as_deref().or(file.to.as_deref()) {
        Some(text) => Destination::parse(text).map_err(|e| UsageError(e.to_string()))?,
        None => Destination::default_sqlite(),
    };
    if let Destination::Sqlite(path) = &destination
        && !path.exists()
    {
        return Err(UsageError(format!(
            "{} does not exist: nothing has been synced there",
            path.display()
        ))
        .into());
    }
    let objects = forcebridge_sync::status(&destination).await?;
    if json {
        output::json(&serde_json::json!({
            "destination": destination.display(),
            "objects": objects,
        }))?;
        return Ok(Exit::Success);
    }
    let mut text = format!("{}\n", destination.display());
    if objects.is_empty() {
        text.push_str("  nothing synced yet\n");
    }
    for o in &objects {
        text.push_str(&format!(
            "  {:<24} {:>9} rows ({} deleted)  cursor {}  last run {} {}{}\n",
            o.object,
            o.rows,
            o.deleted_rows,
            o.cursor
                .as_ref()
                .map(|c| format!("{} {}", c.system_modstamp, c.id))
                .unwrap_or_else(|| "-".into()),
            o.last_run_at.as_deref().unwrap_or("-"),
            o.last_outcome.as_deref().unwrap_or("-"),
            if o.loaded {
                ""
            } else {
                " (first load not finished)"
            }
        ));
    }
    output::stdout(&text)?;
    Ok(Exit::Success)
}

fn report(summary: &RunSummary, json: bool) -> anyhow::Result<CommandOutcome> {
    if json {
        output::json(summary)?;
    } else {
        let mut text = String::new();
        for o in &summary.objects {
            text.push_str(&format!(
                "{:<24} {:>7} inserted {:>7} updated {:>7} deleted  {:>4} API calls  {:>6.1}s  {}\n",
                o.object,
                o.inserted,
                o.updated,
                o.deleted,
                o.api_calls,
                o.duration.as_secs_f64(),
                match o.outcome {
                    Outcome::Success => "ok".to_string(),
                    Outcome::BudgetExhausted => "stopped: API budget".to_string(),
                    Outcome::Failed => format!("failed: {}", o.error.as_deref().unwrap_or("")),
                }
            ));
            if !o.columns_added.is_empty() {
                text.push_str(&format!(
                    "  new columns, backfilled: {}\n",
                    o.columns_added.join(", ")
                ));
            }
            if !o.columns_removed.is_empty() {
                text.push_str(&format!(
                    "  fields gone from the org (columns kept): {}\n",
                    o.columns_removed.join(", ")
                ));
            }
            if let Some(why) = &o.reconciled {
                text.push_str(&format!(
                    "  compared Id sets ({why}): {} API calls\n",
                    o.reconcile_api_calls
                ));
            }
        }
        text.push_str(&format!(
            "run {} into {}: {} API calls in {:.1}s\n",
            summary.run_id,
            summary.destination,
            summary.api_calls,
            summary.duration.as_secs_f64()
        ));
        output::stdout(&text)?;
    }
    Ok(match summary.outcome {
        Outcome::Success => Exit::Success,
        Outcome::BudgetExhausted => {
            output::stderr(
                "stopped: the API budget is spent; every row read so far is saved, and the next run continues from there\n",
            );
            Exit::Limit
        }
        Outcome::Failed => {
            output::stderr("error: some objects failed (see above)\n");
            Exit::Failure
        }
    })
}

/// One progress bar per object on stderr: rows, rate and ETA. Drawn only on a terminal.
struct Bars {
    multi: Option<indicatif::MultiProgress>,
    bars: Mutex<BTreeMap<String, indicatif::ProgressBar>>,
}

impl Bars {
    fn new(allowed: bool) -> Bars {
        Bars {
            multi: (allowed && output::stderr_is_terminal()).then(indicatif::MultiProgress::new),
            bars: Mutex::new(BTreeMap::new()),
        }
    }

    fn show(&self, progress: &Progress) {
        let Some(multi) = &self.multi else {
            return;
        };
        let mut bars = self.bars.lock().unwrap_or_else(|p| p.into_inner());
        let bar = bars.entry(progress.object.clone()).or_insert_with(|| {
            let bar = multi.add(indicatif::ProgressBar::new(0));
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{prefix:<24} {human_pos}/{human_len} rows [{bar:30}] {per_sec}, ETA {eta}",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
                .progress_chars("=> "),
            );
            bar.set_prefix(progress.object.clone());
            bar
        });
        if let Some(expected) = progress.expected {
            bar.set_length(expected.max(progress.rows));
        }
        bar.set_position(progress.rows);
        if progress.done {
            bar.finish();
        }
    }

    fn finish(&self) {
        if let Some(multi) = &self.multi {
            let _ = multi.clear();
        }
    }
}
