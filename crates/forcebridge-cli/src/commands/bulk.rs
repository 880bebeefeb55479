//! `forcebridge bulk`: Bulk API 2.0 loads and exports.
//!
//! Every job id is printed on stderr as soon as the job exists, so that an interrupted run can
//! be picked up with `bulk resume`. An export to a file is the client's crash-safe export
//! (`QueryJob::export_to_file`: `FILE.part`, `FILE.part.state`, renamed to `FILE` when
//! complete); this module adds the progress bar and the messages.

use std::path::Path;
use std::sync::{Arc, Mutex};

use anyhow::Context;
use forcebridge_client::bulk::{
    IngestJob, IngestOperation, IngestOptions, IngestProgress, IngestSummary, JobEvent, JobKind,
    JobState, LOAD_RECORD_FILE, ListedJob, QueryJob, QueryOptions, ResultKind, Resumed, StartedJob,
};
use forcebridge_client::wire::bulk::JobInfo;
use futures_util::TryStreamExt;
use serde_json::json;
use tokio::io::AsyncWriteExt;

use crate::cli::{
    BulkCommand, ExportArgs, GlobalArgs, IngestArgs, JobArgs, JobKindArg, ListArgs, ResultKindArg,
    ResultsArgs, ResumeArgs,
};
use crate::commands::data::{Progress, count};
use crate::org::Org;
use crate::output::{self, Exit, Outcome, usage};

pub(crate) async fn run(global: &GlobalArgs, command: BulkCommand) -> anyhow::Result<Outcome> {
    match command {
        BulkCommand::Import(args) => ingest(global, args, IngestOperation::Insert).await,
        BulkCommand::Update(args) => ingest(global, args, IngestOperation::Update).await,
        BulkCommand::Upsert(args) => {
            let operation = IngestOperation::Upsert {
                external_id_field: args.external_id.clone(),
            };
            ingest(global, args.ingest, operation).await
        }
        BulkCommand::Delete(args) => {
            let operation = if args.hard {
                IngestOperation::HardDelete
            } else {
                IngestOperation::Delete
            };
            ingest(global, args.ingest, operation).await
        }
        BulkCommand::Export(args) => export(global, args).await,
        BulkCommand::List(args) => list(global, args).await,
        BulkCommand::Status(args) => status(global, args).await,
        BulkCommand::Abort(args) => abort(global, args).await,
        BulkCommand::Results(args) => results(global, args).await,
        BulkCommand::Resume(args) => resume(global, args).await,
    }
}

async fn ingest(
    global: &GlobalArgs,
    args: IngestArgs,
    operation: IngestOperation,
) -> anyhow::Result<Outcome> {
    // Ctrl-C and SIGTERM are caught from here on, so an interrupted load can say what it
    // leaves behind instead of vanishing.
    let mut stop = Stop::catch()?;
    // A file that cannot be read, or is not UTF-8, is said before anything is sent.
    let from_stdin = args.file == Path::new("-");
    let rows = if from_stdin {
        None
    } else {
        Some(estimate_rows(&args.file)?)
    };
    let org = Org::open(global).await?;
    std::fs::create_dir_all(&args.results_dir).with_context(|| {
        format!(
            "cannot create the results directory {}",
            args.results_dir.display()
        )
    })?;
    let options = IngestOptions {
        max_upload_bytes: usize::try_from(args.max_job_mb.saturating_mul(1_000_000))
            .unwrap_or(usize::MAX)
            .max(1),
        results_dir: Some(args.results_dir.clone()),
        ..IngestOptions::default()
    };
    let progress = Progress::on_terminal("records");
    if let Some(rows) = rows {
        progress.set_total(rows);
    }
    let jobs = LoadJobs::default();
    let bar = progress.clone();
    let seen = jobs.clone();
    let mut builder = org
        .client
        .bulk()
        .ingest(&args.object, operation)
        .options(options)
        .on_progress(move |p| {
            bar.set_position(p.records_processed.max(p.records_uploaded));
            if let Some(line) = seen.record(p) {
                bar.println(&line);
            }
        });
    if !args.restart {
        builder = builder.resuming();
    }
    let load = async {
        if from_stdin {
            builder.from_csv_reader(tokio::io::stdin()).await
        } else {
            builder.from_csv_file(&args.file).await
        }
    };
    let summary = tokio::select! {
        summary = load => summary,
        exit = stop.signalled() => {
            // The load's future is dropped here: no request of it is sent any more.
            progress.finish();
            output::stderr(&jobs.interrupted(&args.results_dir));
            return Ok(exit);
        }
    };
    progress.finish();
    match summary {
        Ok(summary) => report_ingest(&summary, args.json),
        Err(error) => {
            let advice = if error.is_other_load() {
                format!(
                    "hint: run with --restart to load {} anew in that directory (its record of the other load is replaced), or give this load another --results-dir\n",
                    args.file.display()
                )
            } else {
                jobs.failed(error.bulk_jobs(), &args.results_dir)
            };
            let exit = output::print_error(&error.into());
            output::stderr(&advice);
            Ok(exit)
        }
    }
}

/// Ctrl-C and SIGTERM, caught for as long as this lives.
struct Stop {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl Stop {
    /// Starts catching the signals (at once, not when first awaited).
    fn catch() -> anyhow::Result<Stop> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Stop {
                interrupt: signal(SignalKind::interrupt()).context("catching Ctrl-C")?,
                terminate: signal(SignalKind::terminate()).context("catching SIGTERM")?,
            })
        }
        #[cfg(not(unix))]
        {
            Ok(Stop {})
        }
    }

    /// The exit code of the first signal to come.
    async fn signalled(&mut self) -> Exit {
        #[cfg(unix)]
        {
            tokio::select! {
                _ = self.interrupt.recv() => Exit::Interrupted,
                _ = self.terminate.recv() => Exit::Terminated,
            }
        }
        #[cfg(not(unix))]
        {
            match tokio::signal::ctrl_c().await {
                Ok(()) => Exit::Interrupted,
                Err(_) => std::future::pending().await,
            }
        }
    }
}

/// The jobs of a load as its progress reports tell them, for what to say when it is
/// interrupted or fails.
#[derive(Clone, Default)]
struct LoadJobs {
    jobs: Arc<Mutex<Vec<(StartedJob, bool)>>>,
}

impl LoadJobs {
    /// Takes in one report; returns the line to print about it, if any.
    fn record(&self, progress: &IngestProgress) -> Option<String> {
        let job = &progress.job;
        let mut jobs = self.jobs.lock().unwrap_or_else(|e| e.into_inner());
        let replaced = progress.event == JobEvent::Replaced;
        match jobs.iter_mut().find(|(known, _)| known.id == job.id) {
            Some(known) => *known = (job.clone(), replaced),
            None => jobs.push((job.clone(), replaced)),
        }
        let rows = rows_text(&job.rows);
        match progress.event {
            JobEvent::Created => Some(format!("bulk job {} created for {rows}; uploading", job.id)),
            JobEvent::Resumed => Some(match job.state {
                Some(state) => format!(
                    "bulk job {} ({rows}) of an earlier run of this load is {state}: its rows are not loaded again",
                    job.id
                ),
                None => format!(
                    "bulk job {} ({rows}) of an earlier run of this load is no longer on the org",
                    job.id
                ),
            }),
            JobEvent::Replaced => Some(format!(
                "bulk job {} ({rows}) was still Open (its upload did not finish): aborted, and its rows go to a new job",
                job.id
            )),
            _ => None,
        }
    }

    /// What to say after Ctrl-C: the jobs, and what to do next.
    fn interrupted(&self, results_dir: &Path) -> String {
        let jobs = self.jobs.lock().unwrap_or_else(|e| e.into_inner());
        let mut text = String::from("interrupted: stopped uploading.\n");
        let live: Vec<&StartedJob> = jobs
            .iter()
            .filter(|(_, replaced)| !replaced)
            .map(|(job, _)| job)
            .collect();
        if live.is_empty() {
            text.push_str("No bulk job had been created: nothing was loaded. Run the same command again to load the file.\n");
            return text;
        }
        text.push_str("The load's jobs, with their last known states:\n");
        text.push_str(&jobs_table(&live));
        text.push_str(&next_steps(results_dir));
        text
    }

    /// What to say after a failed load: its jobs, as the error names them, and what to do.
    fn failed(&self, named: &[StartedJob], results_dir: &Path) -> String {
        if named.is_empty() {
            return String::new();
        }
        let named: Vec<&StartedJob> = named.iter().collect();
        let mut text = String::from("The load's jobs:\n");
        text.push_str(&jobs_table(&named));
        text.push_str(&next_steps(results_dir));
        text
    }
}

/// `rows 1-500` (input data rows, counted from 1 as people count them).
fn rows_text(rows: &std::ops::Range<u64>) -> String {
    match rows.end.saturating_sub(rows.start) {
        0 => "no rows".to_string(),
        1 => format!("row {}", rows.start + 1),
        _ => format!("rows {}-{}", rows.start + 1, rows.end),
    }
}

/// One line per job: id, rows, state and what it means.
fn jobs_table(jobs: &[&StartedJob]) -> String {
    jobs.iter()
        .map(|job| job_line(&job.id, &job.rows, job.state))
        .collect()
}

fn job_line(id: &str, rows: &std::ops::Range<u64>, state: Option<JobState>) -> String {
    {
        let (state, meaning) = match state {
            Some(JobState::Open) => (
                "Open",
                "its upload did not finish: the org will not process it",
            ),
            Some(JobState::JobComplete) => ("JobComplete", "done"),
            Some(JobState::Failed) => ("Failed", "the job failed as a whole"),
            Some(JobState::Aborted) => ("Aborted", "stopped"),
            Some(state) => (state.as_str(), "runs on the org"),
            None => ("unknown", "its close may or may not have reached the org"),
        };
        format!("  {id}  {:<16}  {state:<15} {meaning}\n", rows_text(rows))
    }
}

fn next_steps(results_dir: &Path) -> String {
    format!(
        "The load is recorded in {}. To finish it, run the same command again: finished jobs are not loaded again, running ones are waited for, and open ones are aborted and their rows sent again.\n\
         See a job with `forcebridge bulk status ID`; stop one with `forcebridge bulk abort ID`.\n",
        results_dir.join(LOAD_RECORD_FILE).display()
    )
}

/// Rows in a CSV file, for the progress bar: its lines less the header (a value with a line
/// break in it makes this an overestimate).
/// Reading it checks the file is UTF-8, before anything is sent.
fn estimate_rows(path: &Path) -> anyhow::Result<u64> {
    Ok(crate::input::csv_lines(path, "the CSV file")?.saturating_sub(1))
}

fn report_ingest(summary: &IngestSummary, as_json: bool) -> anyhow::Result<Outcome> {
    let jobs = summary
        .jobs
        .iter()
        .map(|job| {
            json!({
                "id": job.id,
                "state": job.state.map_or("unknown", JobState::as_str),
                "rows": job.rows.as_ref().map(|r| json!({"first": r.start + 1, "last": r.end})),
                "resumed": job.resumed,
                "records_processed": job.records_processed,
                "records_failed": job.records_failed,
                "error": job.error_message,
                "results": job.results.as_ref().map(|r| json!({
                    "successful": r.successful,
                    "failed": r.failed,
                    "unprocessed": r.unprocessed,
                })),
            })
        })
        .collect::<Vec<_>>();
    let resumed = summary.jobs.iter().filter(|j| j.resumed).count() as u64;
    if as_json {
        output::json(&json!({
            "records_uploaded": summary.records_uploaded,
            "records_processed": summary.records_processed,
            "records_failed": summary.records_failed,
            "jobs": jobs,
            "replaced": summary.replaced.iter().map(|j| j.id.as_str()).collect::<Vec<_>>(),
        }))?;
    } else {
        let mut text = format!(
            "{} processed, {} failed, in {}",
            count(summary.records_processed, "record"),
            summary.records_failed,
            count(summary.jobs.len() as u64, "job"),
        );
        if resumed > 0 {
            text.push_str(&format!(
                " ({resumed} from an earlier run, not loaded again)"
            ));
        }
        text.push_str(".\n");
        for job in &summary.jobs {
            text.push_str(&format!(
                "  {}  {}  {} processed, {} failed",
                job.id,
                job.state.map_or("unknown", JobState::as_str),
                job.records_processed,
                job.records_failed
            ));
            if let Some(results) = &job.results {
                if job.records_failed > 0 {
                    text.push_str(&format!("; failures in {}", results.failed.display()));
                }
                if job.state == Some(JobState::Aborted) {
                    text.push_str(&format!(
                        "; rows it did not process are in {}",
                        results.unprocessed.display()
                    ));
                }
            }
            if let Some(message) = &job.error_message {
                text.push_str(&format!("; {message}"));
            }
            text.push('\n');
        }
        for job in &summary.replaced {
            text.push_str(&format!(
                "  {}  Aborted  was still Open; its {} went to a new job\n",
                job.id,
                rows_text(&job.rows)
            ));
        }
        if resumed > 0 && resumed == summary.jobs.len() as u64 {
            text.push_str("Every row was in jobs of the earlier run: nothing was loaded again. Run with --restart to load the file again.\n");
        }
        output::stdout(&text)?;
    }
    Ok(if summary.is_clean() {
        Exit::Success
    } else {
        Exit::Failure
    })
}

async fn export(global: &GlobalArgs, args: ExportArgs) -> anyhow::Result<Outcome> {
    let soql = crate::input::statement(args.soql.as_deref(), args.file.as_deref(), "the query")?;
    let org = Org::open(global).await?;
    let bulk = org.client.bulk();
    let work = if args.all {
        bulk.query_all(soql)
    } else {
        bulk.query(soql)
    };
    let job = work
        .options(query_options(args.max_records))
        .start()
        .await?;
    output::stderr(&format!(
        "bulk query job {} started{}\n",
        job.id(),
        args.output
            .as_ref()
            .map(|o| format!(
                "; if interrupted, continue with `forcebridge bulk resume {} --output {}`",
                job.id(),
                o.display()
            ))
            .unwrap_or_default()
    ));
    match &args.output {
        Some(path) => {
            let progress = ExportBar::new(false);
            let bar = progress.clone();
            let exported = job
                .export_to_file(path, move |p| bar.show(p.records, p.total_records))
                .await;
            progress.finish();
            report_export(&job, exported?.records, Some(path), args.json)
        }
        None => to_stdout(&job, None, args.json).await,
    }
}

/// What an export's progress shows: while the query job runs, only the rows so far (its row
/// count is not known yet, so there is no total to draw a bar or an ETA against); once it is
/// complete, a bar against its `numberRecordsProcessed`, never below the rows already written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ExportShape {
    Counting { records: u64 },
    Measured { records: u64, total: u64 },
}

fn export_shape(records: u64, total_records: Option<u64>) -> ExportShape {
    match total_records {
        Some(total) => ExportShape::Measured {
            records,
            total: total.max(records),
        },
        None => ExportShape::Counting { records },
    }
}

/// An export's progress on stderr, as [`export_shape`] says: a spinner, then a bar. Drawn only
/// on a terminal, and not while the data itself goes to the terminal.
#[derive(Clone)]
struct ExportBar {
    bar: Option<indicatif::ProgressBar>,
    measured: Arc<std::sync::atomic::AtomicBool>,
}

impl ExportBar {
    fn new(data_on_stdout: bool) -> ExportBar {
        let shown =
            output::stderr_is_terminal() && !(data_on_stdout && output::stdout_is_terminal());
        let bar = shown.then(|| {
            let bar = indicatif::ProgressBar::new_spinner();
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{spinner} {human_pos} records, {per_sec} ({elapsed})",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
            );
            bar.enable_steady_tick(std::time::Duration::from_millis(120));
            bar
        });
        ExportBar {
            bar,
            measured: Arc::default(),
        }
    }

    fn show(&self, records: u64, total_records: Option<u64>) {
        let Some(bar) = &self.bar else {
            return;
        };
        match export_shape(records, total_records) {
            ExportShape::Counting { records } => bar.set_position(records),
            ExportShape::Measured { records, total } => {
                if !self
                    .measured
                    .swap(true, std::sync::atomic::Ordering::Relaxed)
                {
                    bar.set_style(
                        indicatif::ProgressStyle::with_template(
                            "{spinner} {human_pos}/{human_len} records [{bar:30}] {per_sec}, ETA {eta}",
                        )
                        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
                        .progress_chars("=> "),
                    );
                }
                bar.set_length(total);
                bar.set_position(records);
            }
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

fn query_options(max_records: Option<u64>) -> QueryOptions {
    QueryOptions {
        max_records,
        ..QueryOptions::default()
    }
}

/// Writes a query job's results from `locator` on to stdout, one CSV with one header row when
/// it starts from the beginning. A closed stdout (`| head`) ends it quietly.
async fn to_stdout(
    job: &QueryJob,
    locator: Option<&str>,
    as_json: bool,
) -> anyhow::Result<Outcome> {
    let progress = ExportBar::new(true);
    progress.show(0, None);
    // The job's row count, once it is complete, is the total to show progress against.
    let total = job.wait().await?.number_records_processed;
    progress.show(0, total);
    let mut pages = job.pages_from(locator);
    let mut out = tokio::io::stdout();
    let mut header_written = locator.is_some();
    let mut records = 0;
    while let Some(page) = pages.try_next().await? {
        let body = if header_written {
            page.without_header()
        } else {
            header_written = true;
            &page.bytes[..]
        };
        match out.write_all(body).await {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(Exit::Success),
            other => other.context("writing to stdout")?,
        }
        records += page.records;
        progress.show(records, total);
    }
    // Tokio hands each write to another thread: a reader gone during the last one is known
    // only here, and then nothing was exported to anyone.
    match out.flush().await {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(Exit::Success),
        other => other.context("writing to stdout")?,
    }
    progress.finish();
    report_export(job, records, None, as_json)
}

/// Says what an export wrote: on stdout as JSON with `--json` when the data went to a file,
/// on stderr otherwise.
fn report_export(
    job: &QueryJob,
    records: u64,
    output: Option<&Path>,
    as_json: bool,
) -> anyhow::Result<Outcome> {
    let summary = json!({
        "job_id": job.id(),
        "records": records,
        "output": output,
    });
    if as_json {
        if output.is_some() {
            output::json(&summary)?;
        } else {
            output::stderr(&format!("{summary}\n"));
        }
    } else {
        output::stderr(&format!(
            "exported {}{}\n",
            count(records, "record"),
            output
                .map(|o| format!(" to {}", o.display()))
                .unwrap_or_default()
        ));
    }
    Ok(Exit::Success)
}

enum Job {
    Ingest(IngestJob, JobInfo),
    Query(QueryJob, JobInfo),
}

/// Finds job `id` among ingest jobs, then query jobs.
async fn find_job(org: &Org, id: &str) -> anyhow::Result<Job> {
    let bulk = org.client.bulk();
    match bulk.find_job(id).await? {
        Some(found) => Ok(match found.kind {
            JobKind::Ingest => Job::Ingest(bulk.ingest_job(id), found.info),
            JobKind::Query => Job::Query(bulk.query_job(id), found.info),
        }),
        None => Err(usage(format!(
            "no bulk job with id {id:?} in this org (`forcebridge bulk list` shows them)"
        ))),
    }
}

async fn status(global: &GlobalArgs, args: JobArgs) -> anyhow::Result<Outcome> {
    let org = Org::open(global).await?;
    let (kind, info) = match find_job(&org, &args.job_id).await? {
        Job::Ingest(_, info) => ("ingest", info),
        Job::Query(_, info) => ("query", info),
    };
    let value = serde_json::to_value(&info)?;
    if args.json {
        output::json(&value)?;
    } else {
        let field = |name: &str| {
            value
                .get(name)
                .map(crate::rows::cell_text)
                .unwrap_or_default()
        };
        output::stdout(&format!(
            "{} job {}\n  state       {}\n  object      {}\n  operation   {}\n  processed   {}\n  failed      {}\n",
            kind,
            args.job_id,
            field("state"),
            field("object"),
            field("operation"),
            field("numberRecordsProcessed"),
            field("numberRecordsFailed"),
        ))?;
    }
    Ok(Exit::Success)
}

async fn abort(global: &GlobalArgs, args: JobArgs) -> anyhow::Result<Outcome> {
    let org = Org::open(global).await?;
    let job = find_job(&org, &args.job_id).await?;
    let (kind, before) = match &job {
        Job::Ingest(_, info) => ("ingest", info),
        Job::Query(_, info) => ("query", info),
    };
    if let Some(state) = before.job_state().filter(|s| s.is_terminal()) {
        return Err(anyhow::anyhow!(
            "{kind} job {} already ended ({state}): there is nothing to abort",
            args.job_id
        ));
    }
    let was = before.state.clone();
    let after = match &job {
        Job::Ingest(job, _) => job.abort().await?,
        Job::Query(job, _) => job.abort().await?,
    };
    if args.json {
        output::json(&after)?;
        return Ok(Exit::Success);
    }
    let processed = after.number_records_processed.unwrap_or(0);
    let text = match (&job, was.as_str()) {
        (Job::Ingest(..), "Open") => format!(
            "aborted ingest job {}: it was Open, so the org processed none of its rows\n",
            args.job_id
        ),
        (Job::Ingest(..), _) => format!(
            "aborted ingest job {} ({was}): {processed} rows had been processed; the rest are listed by `forcebridge bulk results {} --kind unprocessed`\n",
            args.job_id, args.job_id
        ),
        (Job::Query(..), _) => format!("aborted query job {} ({was})\n", args.job_id),
    };
    output::stdout(&text)?;
    Ok(Exit::Success)
}

async fn list(global: &GlobalArgs, args: ListArgs) -> anyhow::Result<Outcome> {
    let org = Org::open(global).await?;
    let bulk = org.client.bulk();
    let listing = match args.kind {
        Some(JobKindArg::Ingest) => bulk.ingest_jobs(),
        Some(JobKindArg::Query) => bulk.query_jobs(),
        None => bulk.jobs(),
    };
    let wanted = |job: &ListedJob| {
        (args.state.is_empty() || args.state.contains(&job.info.state))
            && args
                .object
                .as_ref()
                .is_none_or(|o| o.eq_ignore_ascii_case(&job.info.object))
    };
    let jobs: Vec<ListedJob> = listing
        .stream()
        .try_filter(|job| std::future::ready(wanted(job)))
        .try_collect()
        .await?;
    if args.json {
        let values = jobs
            .iter()
            .map(|job| {
                let mut value = serde_json::to_value(&job.info)?;
                if let Some(object) = value.as_object_mut() {
                    object.insert("kind".into(), job.kind.as_str().into());
                }
                Ok(value)
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        output::json(&values)?;
        return Ok(Exit::Success);
    }
    let header = [
        "id",
        "kind",
        "object",
        "operation",
        "state",
        "processed",
        "failed",
        "created",
    ];
    let rows: Vec<[String; 8]> = jobs
        .iter()
        .map(|job| {
            let info = &job.info;
            let number = |n: Option<u64>| n.map(|n| n.to_string()).unwrap_or_default();
            [
                info.id.clone(),
                job.kind.as_str().to_string(),
                info.object.clone(),
                info.operation.clone(),
                info.state.clone(),
                number(info.number_records_processed),
                number(info.number_records_failed),
                info.created_date.clone(),
            ]
        })
        .collect();
    if args.csv {
        let mut writer = csv::Writer::from_writer(Vec::new());
        writer.write_record(header)?;
        for row in &rows {
            writer.write_record(row)?;
        }
        output::stdout(&String::from_utf8(writer.into_inner()?)?)?;
        return Ok(Exit::Success);
    }
    if rows.is_empty() {
        output::stderr("no bulk jobs\n");
        return Ok(Exit::Success);
    }
    let mut widths = header.map(str::len);
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: &[String]| {
        let mut text = cells
            .iter()
            .zip(widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect::<Vec<_>>()
            .join("  ");
        text.truncate(text.trim_end().len());
        text.push('\n');
        text
    };
    let mut text = line(&header.map(|h| h.to_uppercase()));
    for row in &rows {
        text.push_str(&line(row));
    }
    output::stdout(&text)?;
    Ok(Exit::Success)
}

async fn results(global: &GlobalArgs, args: ResultsArgs) -> anyhow::Result<Outcome> {
    let org = Org::open(global).await?;
    let job = org.client.bulk().ingest_job(&args.job_id);
    let kind = match args.kind {
        ResultKindArg::Successful => ResultKind::Successful,
        ResultKindArg::Failed => ResultKind::Failed,
        ResultKindArg::Unprocessed => ResultKind::Unprocessed,
    };
    let mut out = tokio::io::stdout();
    job.results_into(kind, &mut out).await?;
    // A reader gone by now is a closed pipe like any other (quiet); another failure is not.
    out.flush().await.context("writing to stdout")?;
    Ok(Exit::Success)
}

async fn resume(global: &GlobalArgs, args: ResumeArgs) -> anyhow::Result<Outcome> {
    let org = Org::open(global).await?;
    match find_job(&org, &args.job_id).await? {
        Job::Ingest(job, _) => {
            std::fs::create_dir_all(&args.results_dir)?;
            let options = IngestOptions {
                results_dir: Some(args.results_dir.clone()),
                ..IngestOptions::default()
            };
            match job.resume(&options).await? {
                Resumed::StillOpen(_) => Err(anyhow::anyhow!(
                    "job {} is still Open: its upload did not finish, so the org will not process it. \
                     Run the import that created it again with the same --results-dir (it aborts the job and sends its rows again), \
                     or abort it with `forcebridge bulk abort {}`",
                    args.job_id,
                    args.job_id
                )),
                Resumed::Finished(summary) => {
                    let whole = IngestSummary {
                        records_uploaded: summary.records_uploaded,
                        records_processed: summary.records_processed,
                        records_failed: summary.records_failed,
                        jobs: vec![summary],
                        replaced: Vec::new(),
                    };
                    report_ingest(&whole, args.json)
                }
            }
        }
        Job::Query(job, info) => {
            if matches!(info.job_state(), Some(JobState::Failed | JobState::Aborted)) {
                return Err(anyhow::anyhow!(
                    "query job {} ended {}: run the export again",
                    args.job_id,
                    info.state
                ));
            }
            match &args.output {
                Some(path) => {
                    let progress = ExportBar::new(false);
                    let bar = progress.clone();
                    let exported = job
                        .resume_export(path, move |p| bar.show(p.records, p.total_records))
                        .await;
                    progress.finish();
                    report_export(&job, exported?.records, Some(path), args.json)
                }
                None => to_stdout(&job, None, args.json).await,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_export_shows_no_total_until_the_job_has_one() {
        // While the job runs: rows so far, no total, so no `40,000/40,000 ... ETA 0s`.
        assert_eq!(export_shape(0, None), ExportShape::Counting { records: 0 });
        assert_eq!(
            export_shape(40_000, None),
            ExportShape::Counting { records: 40_000 }
        );
        // Complete: the job's row count.
        assert_eq!(
            export_shape(1_000, Some(250_000)),
            ExportShape::Measured {
                records: 1_000,
                total: 250_000
            }
        );
        // A count the org under-reports never puts the bar past its end.
        assert_eq!(
            export_shape(12, Some(10)),
            ExportShape::Measured {
                records: 12,
                total: 12
            }
        );
    }

    #[test]
    fn rows_are_counted_from_one_as_people_count_them() {
        assert_eq!(rows_text(&(0..500)), "rows 1-500");
        assert_eq!(rows_text(&(500..501)), "row 501");
        assert_eq!(rows_text(&(3..3)), "no rows");
    }

    #[test]
    fn advice_names_cli_commands_and_says_what_each_state_means() {
        let open = job_line("750A", &(0..10), Some(JobState::Open));
        assert!(
            open.contains("750A") && open.contains("rows 1-10"),
            "{open}"
        );
        assert!(open.contains("the org will not process it"), "{open}");
        let running = job_line("750B", &(10..20), Some(JobState::InProgress));
        assert!(running.contains("runs on the org"), "{running}");
        let steps = next_steps(Path::new("results"));
        assert!(steps.contains("results/bulk-load.json"), "{steps}");
        assert!(steps.contains("run the same command again"), "{steps}");
        assert!(steps.contains("`forcebridge bulk status ID`"), "{steps}");
        assert!(steps.contains("`forcebridge bulk abort ID`"), "{steps}");
        assert!(!steps.contains("()"), "no Rust calls: {steps}");
    }
}
