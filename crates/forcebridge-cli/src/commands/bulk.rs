//! `forcebridge bulk`: Bulk API 2.0 loads and exports.
//!
//! Every job id is printed on stderr as soon as the job exists, so that an interrupted run can
//! be picked up with `bulk resume`. An export to a file is the client's crash-safe export
//! (`QueryJob::export_to_file`: `FILE.part`, `FILE.part.state`, renamed to `FILE` when
//! complete); this module adds the progress bar and the messages.

use std::path::Path;

use anyhow::Context;
use forcebridge_client::ErrorKind;
use forcebridge_client::bulk::{
    IngestJob, IngestOperation, IngestOptions, IngestSummary, JobState, QueryJob, QueryOptions,
    ResultKind, Resumed,
};
use futures_util::TryStreamExt;
use serde_json::json;
use tokio::io::AsyncWriteExt;

use crate::cli::{
    BulkCommand, ExportArgs, GlobalArgs, IngestArgs, JobArgs, ResultKindArg, ResultsArgs,
    ResumeArgs,
};
use crate::commands::data::{Progress, count, read_arg};
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
        BulkCommand::Status(args) => status(global, args).await,
        BulkCommand::Results(args) => results(global, args).await,
        BulkCommand::Resume(args) => resume(global, args).await,
    }
}

async fn ingest(
    global: &GlobalArgs,
    args: IngestArgs,
    operation: IngestOperation,
) -> anyhow::Result<Outcome> {
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
    if args.file != Path::new("-") {
        progress.set_total(estimate_rows(&args.file)?);
    }
    let bar = progress.clone();
    let announced = std::sync::Mutex::new(0usize);
    let builder = org
        .client
        .bulk()
        .ingest(&args.object, operation)
        .options(options)
        .on_progress(move |p| {
            bar.set_position(p.records_processed.max(p.records_uploaded));
            let mut seen = announced.lock().unwrap_or_else(|e| e.into_inner());
            if p.jobs_created > *seen {
                *seen = p.jobs_created;
                bar.println(&format!("started bulk job {} of the load", p.jobs_created));
            }
        });
    let summary = if args.file == Path::new("-") {
        builder.from_csv_reader(tokio::io::stdin()).await
    } else {
        builder.from_csv_file(&args.file).await
    };
    progress.finish();
    let summary = summary?;
    report_ingest(&summary, args.json)
}

/// Rows in a CSV file, for the progress bar: its lines less the header (a value with a line
/// break in it makes this an overestimate).
fn estimate_rows(path: &Path) -> anyhow::Result<u64> {
    let mut file =
        std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut buffer = vec![0u8; 1 << 16];
    let mut lines = 0u64;
    loop {
        let n = std::io::Read::read(&mut file, &mut buffer)
            .with_context(|| format!("cannot read {}", path.display()))?;
        if n == 0 {
            break;
        }
        lines += buffer[..n].iter().filter(|&&b| b == b'\n').count() as u64;
    }
    Ok(lines.saturating_sub(1))
}

fn report_ingest(summary: &IngestSummary, as_json: bool) -> anyhow::Result<Outcome> {
    let jobs = summary
        .jobs
        .iter()
        .map(|job| {
            json!({
                "id": job.id,
                "state": job.state.map_or("unknown", JobState::as_str),
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
    if as_json {
        output::json(&json!({
            "records_uploaded": summary.records_uploaded,
            "records_processed": summary.records_processed,
            "records_failed": summary.records_failed,
            "jobs": jobs,
        }))?;
    } else {
        let mut text = format!(
            "{} processed, {} failed, in {}.\n",
            count(summary.records_processed, "record"),
            summary.records_failed,
            count(summary.jobs.len() as u64, "job"),
        );
        for job in &summary.jobs {
            text.push_str(&format!(
                "  {}  {}  {} processed, {} failed",
                job.id,
                job.state.map_or("unknown", JobState::as_str),
                job.records_processed,
                job.records_failed
            ));
            if let Some(results) = &job.results
                && job.records_failed > 0
            {
                text.push_str(&format!("; failures in {}", results.failed.display()));
            }
            if let Some(message) = &job.error_message {
                text.push_str(&format!("; {message}"));
            }
            text.push('\n');
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
    let soql = read_arg(&args.soql, "query")?;
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
            let progress = Progress::on_terminal("records");
            let bar = progress.clone();
            let exported = job
                .export_to_file(path, move |p| bar.set_position(p.records))
                .await;
            progress.finish();
            report_export(&job, exported?.records, Some(path), args.json)
        }
        None => to_stdout(&job, None, args.json).await,
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
    let progress = Progress::on_terminal("records");
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
        progress.advance(page.records);
    }
    out.flush().await.ok();
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
    Ingest(IngestJob, forcebridge_client::wire::bulk::JobInfo),
    Query(QueryJob, forcebridge_client::wire::bulk::JobInfo),
}

/// Finds job `id` among ingest jobs, then query jobs.
async fn find_job(org: &Org, id: &str) -> anyhow::Result<Job> {
    let bulk = org.client.bulk();
    let ingest = bulk.ingest_job(id);
    match ingest.info().await {
        Ok(info) => return Ok(Job::Ingest(ingest, info)),
        Err(e) if e.status() == Some(404) || e.kind() == ErrorKind::NoRecord => {}
        Err(e) => return Err(e.into()),
    }
    let query = bulk.query_job(id);
    match query.info().await {
        Ok(info) => Ok(Job::Query(query, info)),
        Err(e) if e.status() == Some(404) => {
            Err(usage(format!("no bulk job with id {id:?} in this org")))
        }
        Err(e) => Err(e.into()),
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
    out.flush().await.ok();
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
                    "job {} is still Open: its upload was interrupted, so the org has only part of the data. \
                     Abort it (`forcebridge api PATCH jobs/ingest/{} --data '{{\"state\":\"Aborted\"}}'`) and run the load again",
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
                    let progress = Progress::on_terminal("records");
                    let bar = progress.clone();
                    let exported = job
                        .resume_export(path, move |p| bar.set_position(p.records))
                        .await;
                    progress.finish();
                    report_export(&job, exported?.records, Some(path), args.json)
                }
                None => to_stdout(&job, None, args.json).await,
            }
        }
    }
}
