//! The run: describe the objects, read the delete log, then the per-object loop (schema drift,
//! tie-safe incremental reading with lag and overlap, deletes, Id-set reconciliation, formula
//! refresh), each batch committed with the object's cursor. It prints nothing; progress goes to
//! the caller's callback and events to `tracing`.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, SecondsFormat, Utc};
use forcebridge_catalog::{Catalog, Object};
use forcebridge_client::bulk::{PollOptions, QueryOptions};
use forcebridge_client::wire::describe::{DescribeGlobal, DescribeSObject};
use forcebridge_client::wire::records::DeletedResult;
use forcebridge_client::{Client, Method, RawPageStream, Subrequest};
use forcebridge_soql::Direction;
use forcebridge_soql::builder::{Filter, QueryBuilder, field};
use futures_util::{StreamExt, TryStreamExt};

use crate::bulk::{PageError, ParsedPage};
use crate::config::{Mode, ObjectSelection, SyncConfig, matches};
use crate::error::{Error, ErrorKind, Result};
use crate::store::{BulkResume, Counts, ObjectState, RunRecord, Store};
use crate::summary::{Cursor, ObjectSummary, Outcome, RunSummary};
use crate::table::{Row, TableDef};

/// Subrequests in one composite request.
const COMPOSITE_MAX: usize = 25;
/// How far back the delete log reaches (Salesforce keeps 15 days).
const DELETE_LOG_DAYS: i64 = 15;

/// How far one object has got, for a progress display.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Progress {
    pub object: String,
    /// Rows read so far this run.
    pub rows: u64,
    /// Rows the current read will return in all, once the org has said.
    pub expected: Option<u64>,
    /// The object is done (whatever its outcome).
    pub done: bool,
}

/// Runs one sync: every object `config` selects, from `client` into the destination.
///
/// The configuration is checked before any request. An object that fails is reported in the
/// summary (and the runs table) while the others go on; an error is returned only when
/// nothing could start (bad configuration, the destination or the describes failing).
pub async fn run(
    client: &Client,
    config: &SyncConfig,
    on_progress: &(dyn Fn(&Progress) + Send + Sync),
) -> Result<RunSummary> {
    config.validate()?;
    let started = Instant::now();
    let store = Store::open(&config.destination).await?;
    let started_at = utc(Utc::now());
    let run_id = store.begin_run(started_at.clone()).await?;
    let budget = BudgetGuard::new(client, config);
    tracing::info!(run_id, destination = %config.destination.display(), "sync run started");

    let prepared = prepare(client, config, &store).await;
    let (objects, server_now, deleted_logs, counts) = match prepared {
        Ok(p) => p,
        Err(e) => {
            store
                .record_run(vec![RunRecord {
                    run_id,
                    object: "*".into(),
                    started_at: started_at.clone(),
                    ended_at: utc(Utc::now()),
                    counts: Counts::default(),
                    api_calls: budget.used(),
                    outcome: Outcome::Failed.as_str().into(),
                    error: Some(error_chain(&e)),
                }])
                .await?;
            return Err(e);
        }
    };

    let summaries: Vec<ObjectSummary> =
        futures_util::stream::iter(objects.into_iter().map(|object| {
            let store = store.clone();
            let budget = &budget;
            let deleted = deleted_logs.get(&object.name).cloned();
            let record_count = counts.get(&object.name.to_ascii_lowercase()).copied();
            async move {
                let name = object.name.clone();
                let started = Instant::now();
                let mut work = ObjectRun {
                    client,
                    config,
                    store,
                    budget,
                    server_now,
                    on_progress,
                    record_count,
                    summary: ObjectSummary {
                        object: name.clone(),
                        inserted: 0,
                        updated: 0,
                        deleted: 0,
                        api_calls: 0,
                        reconcile_api_calls: 0,
                        columns_added: Vec::new(),
                        columns_removed: Vec::new(),
                        reconciled: None,
                        formulas_refreshed: false,
                        read_with: "none".into(),
                        duration: Duration::ZERO,
                        cursor: None,
                        outcome: Outcome::Success,
                        error: None,
                    },
                };
                let result = work.sync(&object, deleted).await;
                let mut summary = work.summary;
                summary.duration = started.elapsed();
                match result {
                    Ok(Flow::Done) => {}
                    Ok(Flow::Budget) => summary.outcome = Outcome::BudgetExhausted,
                    Err(e) if is_limit(&e) => {
                        summary.outcome = Outcome::BudgetExhausted;
                        summary.error = Some(error_chain(&e));
                    }
                    Err(e) => {
                        tracing::warn!(object = %name, error = %error_chain(&e), "object failed");
                        summary.outcome = Outcome::Failed;
                        summary.error = Some(error_chain(&e));
                    }
                }
                on_progress(&Progress {
                    object: name,
                    rows: summary.inserted + summary.updated + summary.deleted,
                    expected: None,
                    done: true,
                });
                summary
            }
        }))
        .buffer_unordered(config.concurrency)
        .collect()
        .await;
    let mut summaries = summaries;
    summaries.sort_by(|a, b| a.object.cmp(&b.object));

    let outcome = summaries
        .iter()
        .map(|s| s.outcome)
        .max_by_key(|o| match o {
            Outcome::Success => 0,
            Outcome::BudgetExhausted => 1,
            Outcome::Failed => 2,
        })
        .unwrap_or(Outcome::Success);
    let ended_at = utc(Utc::now());
    let mut records: Vec<RunRecord> = summaries
        .iter()
        .map(|s| RunRecord {
            run_id,
            object: s.object.clone(),
            started_at: started_at.clone(),
            ended_at: ended_at.clone(),
            counts: Counts {
                inserted: s.inserted,
                updated: s.updated,
                deleted: s.deleted,
            },
            api_calls: s.api_calls,
            outcome: s.outcome.as_str().into(),
            error: s.error.clone(),
        })
        .collect();
    let total = records.iter().fold(Counts::default(), |mut acc, r| {
        acc += r.counts;
        acc
    });
    records.push(RunRecord {
        run_id,
        object: "*".into(),
        started_at,
        ended_at,
        counts: total,
        api_calls: budget.used(),
        outcome: outcome.as_str().into(),
        error: None,
    });
    store.record_run(records).await?;
    tracing::info!(
        run_id,
        outcome = outcome.as_str(),
        api_calls = budget.used(),
        "sync run ended"
    );
    Ok(RunSummary {
        run_id,
        outcome,
        api_calls: budget.used(),
        duration: started.elapsed(),
        destination: config.destination.display(),
        objects: summaries,
    })
}

/// The state of every object the destination holds (`forcebridge sync status`). Sends nothing
/// to any org.
pub async fn status(destination: &crate::Destination) -> Result<Vec<crate::ObjectStatus>> {
    Store::open(destination).await?.status().await
}

/// The describes of the selected objects (one composite request per 25), the org's clock, the
/// catalog tables, the delete log of every object already loaded (one composite request
/// per 25), and, when some object has its first load ahead and Bulk first loads are on, the
/// record counts that choose between REST and Bulk (one more request, sent alongside the
/// describes).
async fn prepare(
    client: &Client,
    config: &SyncConfig,
    store: &Store,
) -> Result<(
    Vec<Object>,
    DateTime<Utc>,
    HashMap<String, DeleteLog>,
    HashMap<String, u64>,
)> {
    let names = resolve_names(client, config).await?;
    // The record counts that choose between REST and Bulk, asked at the same time as the
    // describes (on a slow org, a request's latency saved), and only when a first load is
    // ahead: an object not loaded yet, nor stopped in the middle of its load.
    let mut first_loads = Vec::new();
    if config.bulk_threshold.is_some() {
        for name in &names {
            let state = store.state(name).await?;
            if config.options_for(name).mode != Mode::Full
                && !state.loaded
                && state.cursor.is_none()
            {
                first_loads.push(name.as_str());
            }
        }
    }
    let counting = async {
        if first_loads.is_empty() {
            return HashMap::new();
        }
        match client.record_counts(&first_loads).await {
            Ok(found) => found
                .into_iter()
                .map(|(name, count)| (name.to_ascii_lowercase(), count))
                .collect(),
            Err(e) => {
                // Without a count the load reads over REST: the same rows either way.
                tracing::warn!(error = %e, "record counts unavailable: first loads read over REST");
                HashMap::new()
            }
        }
    };
    let (described, counts) = futures_util::future::join(describe(client, &names), counting).await;
    let objects = described?;
    let server_now = client.server_time().unwrap_or_else(Utc::now);
    let catalog = Catalog::new(
        client.api_version().to_string(),
        server_now.to_rfc3339_opts(SecondsFormat::Secs, true),
        objects.clone(),
    );
    store.write_catalog(catalog).await?;

    // The delete log of every loaded object, since its last check.
    let mut asks = Vec::new();
    for object in &objects {
        let options = config.options_for(&object.name);
        if options.mode == Mode::Full || object.field("SystemModstamp").is_none() {
            continue;
        }
        let state = store.state(&object.name).await?;
        let Some(since) = state.deletes_checked_at.as_deref().and_then(parse_time) else {
            continue;
        };
        if server_now - since <= chrono::Duration::seconds(60) {
            // The org refuses windows of a minute or less; the next run covers it.
            continue;
        }
        if server_now - since > chrono::Duration::days(DELETE_LOG_DAYS) {
            continue;
        }
        asks.push((object.name.clone(), since));
    }
    let mut logs = HashMap::new();
    for chunk in asks.chunks(COMPOSITE_MAX) {
        let mut composite = client.composite();
        for (i, (name, since)) in chunk.iter().enumerate() {
            composite = composite.subrequest(
                format!("g{i}"),
                Subrequest::new(
                    Method::GET,
                    format!(
                        "sobjects/{name}/deleted/?start={}&end={}",
                        since.format("%Y-%m-%dT%H:%M:%SZ"),
                        server_now.format("%Y-%m-%dT%H:%M:%SZ")
                    ),
                ),
            );
        }
        let results = composite
            .send()
            .await
            .map_err(|e| Error::org("reading the delete log failed", e))?;
        for ((name, since), result) in chunk.iter().zip(results.results()) {
            let log = if result.is_success() {
                match result.json::<DeletedResult>() {
                    Ok(r) => DeleteLog::Read {
                        since: *since,
                        result: r,
                    },
                    Err(e) => DeleteLog::Unavailable(e.to_string()),
                }
            } else {
                DeleteLog::Unavailable(
                    result
                        .errors()
                        .first()
                        .map(|e| format!("{}: {}", e.error_code, e.message))
                        .unwrap_or_else(|| format!("HTTP {}", result.status)),
                )
            };
            logs.insert(name.clone(), log);
        }
    }
    Ok((objects, server_now, logs, counts))
}

/// The describes of `names`, in one composite request per 25.
async fn describe(client: &Client, names: &[String]) -> Result<Vec<Object>> {
    let mut objects = Vec::with_capacity(names.len());
    for chunk in names.chunks(COMPOSITE_MAX) {
        let mut composite = client.composite();
        for (i, name) in chunk.iter().enumerate() {
            composite = composite.subrequest(
                format!("d{i}"),
                Subrequest::new(Method::GET, format!("sobjects/{name}/describe")),
            );
        }
        let results = composite
            .send()
            .await
            .map_err(|e| Error::org("describing the objects to sync failed", e))?;
        for (name, result) in chunk.iter().zip(results.results()) {
            if result.status == 404 {
                return Err(Error::config(format!(
                    "objects: the org has no object {name}"
                )));
            }
            let describe: DescribeSObject = result
                .json()
                .map_err(|e| Error::org(format!("the describe of {name} could not be read"), e))?;
            if !describe.object.queryable {
                return Err(Error::config(format!(
                    "objects: {name} cannot be queried, so it cannot be synced"
                )));
            }
            objects.push(Object::from_describe(&describe));
        }
    }
    Ok(objects)
}

/// The object names the selection means: as given, or matched against the org's replicable
/// objects (one global describe).
async fn resolve_names(client: &Client, config: &SyncConfig) -> Result<Vec<String>> {
    if !config.objects.needs_global_describe() {
        let ObjectSelection::Names(names) = &config.objects else {
            unreachable!("only patterns and all objects need the global describe")
        };
        return Ok(names.clone());
    }
    let global: DescribeGlobal = client
        .describe_global()
        .await
        .map_err(|e| Error::org("listing the org's objects failed", e))?;
    let candidates = global
        .sobjects
        .iter()
        .filter(|o| o.queryable && o.replicateable)
        .map(|o| o.name.clone());
    let names: Vec<String> = match &config.objects {
        ObjectSelection::Names(patterns) => {
            let mut names: Vec<String> = candidates
                .filter(|n| patterns.iter().any(|p| matches(p, n)))
                .collect();
            for pattern in patterns.iter().filter(|p| !p.contains('*')) {
                if !names.iter().any(|n| n.eq_ignore_ascii_case(pattern)) {
                    names.push(pattern.clone());
                }
            }
            names
        }
        ObjectSelection::AllReplicable { exclude } => candidates
            .filter(|n| !exclude.iter().any(|p| matches(p, n)))
            .collect(),
    };
    if names.is_empty() {
        return Err(Error::config("objects: no replicable object matches"));
    }
    Ok(names)
}

/// One object's delete log, as the run's shared request read it.
#[derive(Debug, Clone)]
enum DeleteLog {
    Read {
        since: DateTime<Utc>,
        result: DeletedResult,
    },
    /// The org refused (a window too old, an object without one): reconcile instead.
    Unavailable(String),
}

/// Whether the object loop ran to its end or stopped at the budget.
enum Flow {
    Done,
    Budget,
}

/// The run's API budget: this run's own requests and the org's daily usage.
struct BudgetGuard<'a> {
    client: &'a Client,
    sent_at_start: u64,
    max_calls: Option<u64>,
    max_share: Option<f64>,
}

impl<'a> BudgetGuard<'a> {
    fn new(client: &'a Client, config: &SyncConfig) -> BudgetGuard<'a> {
        BudgetGuard {
            client,
            sent_at_start: client.requests_sent(),
            max_calls: config.budget.max_calls_per_run,
            max_share: config.budget.max_share_of_daily_limit,
        }
    }

    /// [`BudgetGuard::spent`] as a function that owns what it reads, for work running apart.
    fn checker(&self) -> impl Fn() -> bool + Send + 'static {
        let client = self.client.clone();
        let (sent_at_start, max_calls, max_share) =
            (self.sent_at_start, self.max_calls, self.max_share);
        move || {
            BudgetGuard {
                client: &client,
                sent_at_start,
                max_calls,
                max_share,
            }
            .spent()
        }
    }

    fn used(&self) -> u64 {
        self.client.requests_sent() - self.sent_at_start
    }

    /// Whether another request would pass the budget.
    fn spent(&self) -> bool {
        if self.max_calls.is_some_and(|max| self.used() >= max) {
            return true;
        }
        match (self.max_share, self.client.api_usage()) {
            (Some(share), Some(usage)) => usage.fraction() >= share,
            _ => false,
        }
    }
}

struct ObjectRun<'a> {
    client: &'a Client,
    config: &'a SyncConfig,
    store: Store,
    budget: &'a BudgetGuard<'a>,
    server_now: DateTime<Utc>,
    on_progress: &'a (dyn Fn(&Progress) + Send + Sync),
    /// The org's record count, read when the object's first load was ahead.
    record_count: Option<u64>,
    summary: ObjectSummary,
}

impl ObjectRun<'_> {
    async fn sync(&mut self, object: &Object, deleted: Option<DeleteLog>) -> Result<Flow> {
        if self.budget.spent() {
            // Not one request: the object waits for the next run, from its saved cursor.
            return Ok(Flow::Budget);
        }
        let options = self.config.options_for(&object.name).clone();
        let def = Arc::new(TableDef::new(object, &options)?);
        let now_text = utc(self.server_now);

        // R9: the table follows the describe.
        let mut change = self
            .store
            .sync_schema(Arc::clone(&def), now_text.clone())
            .await?;
        if !change.type_changed.is_empty() {
            tracing::warn!(object = %def.object, columns = ?change.type_changed, "field types changed: reloading the object");
            self.store.reset_object(&def.object).await?;
            change = self
                .store
                .sync_schema(Arc::clone(&def), now_text.clone())
                .await?;
        }
        self.summary.columns_removed = change.removed.clone();
        let mut state = self.store.state(&def.object).await?;
        self.summary.cursor = state.cursor.clone();

        if state.loaded && !change.added.is_empty() {
            self.summary.columns_added = change
                .added
                .iter()
                .map(|&i| def.columns[i].name.clone())
                .collect();
            if let Flow::Budget = self.backfill(&def, &options, &change.added, true).await? {
                return Ok(Flow::Budget);
            }
        }

        let full = options.mode == Mode::Full || def.stamp.is_none();
        if full {
            if let Flow::Budget = self.full_refresh(&def, &options, &mut state).await? {
                return Ok(Flow::Budget);
            }
        } else {
            if let Flow::Budget = self.incremental(&def, &options, &mut state).await? {
                return Ok(Flow::Budget);
            }
            // R6: the delete log, read for every loaded object in the run's shared request.
            let mut reconcile_because = None;
            match deleted {
                Some(DeleteLog::Read { since, result }) => {
                    let earliest = parse_time(&result.earliest_date_available);
                    if earliest.is_some_and(|e| e > since) {
                        reconcile_because = Some(format!(
                            "the delete log starts at {}, after the last check at {}",
                            result.earliest_date_available,
                            utc(since)
                        ));
                    }
                    let ids: Vec<(String, String)> = result
                        .deleted_records
                        .iter()
                        .map(|d| {
                            (
                                d.id.clone(),
                                parse_time(&d.deleted_date)
                                    .map(utc)
                                    .unwrap_or_else(|| d.deleted_date.clone()),
                            )
                        })
                        .collect();
                    state.deletes_checked_at = Some(
                        parse_time(&result.latest_date_covered)
                            .map(utc)
                            .unwrap_or_else(|| now_text.clone()),
                    );
                    let n = self
                        .store
                        .delete(
                            Arc::clone(&def),
                            ids,
                            options.deletes,
                            utc(Utc::now()),
                            state.clone(),
                        )
                        .await?;
                    self.summary.deleted += n;
                }
                Some(DeleteLog::Unavailable(why)) => {
                    reconcile_because = Some(format!("the delete log is unavailable ({why})"));
                }
                None => {
                    if let Some(since) = state.deletes_checked_at.as_deref().and_then(parse_time)
                        && self.server_now - since > chrono::Duration::days(DELETE_LOG_DAYS)
                    {
                        reconcile_because =
                            Some("the last delete check is older than the delete log".into());
                    }
                }
            }
            if def.hard_deleting() {
                reconcile_because = Some(format!("{} deletes records for good", def.object));
            }
            if reconcile_because.is_none()
                && let Some(every) = self.config.reconcile_every
                && state
                    .reconciled_at
                    .as_deref()
                    .and_then(parse_time)
                    .is_none_or(|at| {
                        self.server_now - at
                            >= chrono::Duration::from_std(every).unwrap_or_default()
                    })
            {
                reconcile_because = Some("scheduled".into());
            }
            if let Some(why) = reconcile_because
                && let Flow::Budget = self.reconcile(&def, &options, &mut state, why).await?
            {
                return Ok(Flow::Budget);
            }
        }

        // R8: formulas and roll-ups, on their schedule.
        let calculated = def.calculated();
        if !calculated.is_empty()
            && let Some(every) = options.formula_refresh
        {
            let due = state
                .formulas_refreshed_at
                .as_deref()
                .and_then(parse_time)
                .is_none_or(|at| {
                    self.server_now - at >= chrono::Duration::from_std(every).unwrap_or_default()
                });
            if due {
                if let Flow::Budget = self.backfill(&def, &options, &calculated, false).await? {
                    return Ok(Flow::Budget);
                }
                state.formulas_refreshed_at = Some(now_text.clone());
                self.store.save_state(&def.object, state.clone()).await?;
                self.summary.formulas_refreshed = true;
            }
        }
        self.summary.cursor = state.cursor.clone();
        Ok(Flow::Done)
    }

    /// R1-R5, R10: rows changed since the cursor (everything on the first run), read with
    /// `queryAll` (deleted rows too) in `(SystemModstamp, Id)` order up to `now - lag`, each
    /// page committed with the cursor it reaches.
    async fn incremental(
        &mut self,
        def: &Arc<TableDef>,
        options: &crate::ObjectOptions,
        state: &mut ObjectState,
    ) -> Result<Flow> {
        let end = self.server_now - chrono::Duration::from_std(self.config.lag).unwrap_or_default();
        let first_load = !state.loaded;
        if first_load && state.cursor.is_none() {
            // Deletes before this moment are in the load itself (queryAll); the delete log
            // takes over from here.
            state.deletes_checked_at = Some(utc(self.server_now));
            state.reconciled_at = Some(utc(self.server_now));
        }
        if first_load {
            let bulk = match state.bulk.clone() {
                Some(resume) => Some(BulkStart::Resume(resume)),
                None if state.cursor.is_none()
                    && self
                        .config
                        .bulk_threshold
                        .zip(self.record_count)
                        .is_some_and(|(threshold, count)| count >= threshold) =>
                {
                    Some(BulkStart::New)
                }
                None => None,
            };
            if let Some(how) = bulk {
                match self.bulk_load(def, options, state, end, how).await? {
                    BulkRead::Finished(flow) => return Ok(flow),
                    BulkRead::Unavailable(why) => {
                        // The REST read below continues from the committed cursor, tie-safe,
                        // so nothing the job delivered is read twice or skipped.
                        tracing::warn!(object = %def.object, reason = %why, "Bulk first load unavailable: reading over REST from the cursor");
                        state.bulk = None;
                    }
                }
            }
        }
        let start = match (&state.cursor, first_load) {
            (None, _) => Start::Everything,
            // A load that stopped continues exactly where it stopped.
            (Some(c), true) => Start::After(
                parse_time(&c.system_modstamp).unwrap_or_default(),
                c.id.clone(),
            ),
            // Later runs also re-read the overlap before the last read, for rows whose
            // transaction was still in flight then and committed with an earlier stamp (R2).
            // Once the last read is an overlap past the cursor, only later rows are read.
            (Some(c), false) => {
                let cursor = parse_time(&c.system_modstamp).unwrap_or_default();
                let read_at = state
                    .read_at
                    .as_deref()
                    .and_then(parse_time)
                    .unwrap_or(cursor);
                let lookback =
                    read_at - chrono::Duration::from_std(self.config.overlap).unwrap_or_default();
                if lookback <= cursor {
                    Start::From(lookback)
                } else {
                    Start::After(cursor, c.id.clone())
                }
            }
        };
        let soql = self.read_query(def, options, &start, end)?;
        self.summary.read_with = "rest".into();
        let mut pages = self.client.query_all(soql).raw_pages();
        let mut rows_read = 0u64;
        loop {
            let Some(page) = self.next_page(&mut pages, &def.object).await? else {
                break;
            };
            let rows = page
                .records()
                .map(|r| def.row(r))
                .collect::<Result<Vec<Row>>>()?;
            rows_read += rows.len() as u64;
            advance_cursor(state, def, &rows);
            if page.done {
                state.loaded = true;
                state.read_at = Some(utc(self.server_now));
                if first_load {
                    state.formulas_refreshed_at = Some(utc(self.server_now));
                }
            }
            let counts = self
                .store
                .apply(
                    Arc::clone(def),
                    rows,
                    options.deletes,
                    utc(Utc::now()),
                    state.clone(),
                )
                .await?;
            self.add(counts);
            self.summary.cursor = state.cursor.clone();
            (self.on_progress)(&Progress {
                object: def.object.clone(),
                rows: rows_read,
                expected: Some(page.total_size),
                done: false,
            });
            if page.done {
                break;
            }
            if self.budget.spent() {
                tracing::warn!(object = %def.object, "API budget reached: stopping at the last checkpoint");
                return Ok(Flow::Budget);
            }
        }
        Ok(Flow::Done)
    }

    /// A first load through a Bulk API 2.0 `queryAll` job (R10): the same statement the REST
    /// read would send from the start, its result pages committed in order, each with the
    /// cursor its last row reaches and the locator of the next page, so a run killed at any
    /// point resumes the job where the last commit left it. The next page downloads while one
    /// is parsed and written (see [`crate::bulk`]). A job the org refuses, that failed, or that
    /// can no longer be read (expired, deleted) is [`BulkRead::Unavailable`]: the caller
    /// continues over REST from the committed cursor.
    async fn bulk_load(
        &mut self,
        def: &Arc<TableDef>,
        options: &crate::ObjectOptions,
        state: &mut ObjectState,
        end: DateTime<Utc>,
        how: BulkStart,
    ) -> Result<BulkRead> {
        let query_options = QueryOptions {
            max_records: Some(self.config.bulk_page_rows),
            poll: PollOptions {
                initial_interval: Duration::from_millis(100),
                max_interval: Duration::from_secs(5),
                timeout: Duration::from_secs(4 * 3600),
            },
            ..QueryOptions::default()
        };
        let (job, locator) = match how {
            BulkStart::New => {
                let soql = self.read_query(def, options, &Start::Everything, end)?;
                self.summary.api_calls += 1;
                match self
                    .client
                    .bulk()
                    .query_all(soql)
                    .options(query_options)
                    .start()
                    .await
                {
                    Ok(job) => (job, None),
                    Err(e) if e.kind() == forcebridge_client::ErrorKind::Api => {
                        return Ok(BulkRead::Unavailable(format!(
                            "the org refused the Bulk query job: {e}"
                        )));
                    }
                    Err(e) => {
                        return Err(Error::org(
                            format!("starting a Bulk query job for {} failed", def.object),
                            e,
                        ));
                    }
                }
            }
            BulkStart::Resume(resume) => (
                self.client
                    .bulk()
                    .query_job(&resume.job_id)
                    .options(query_options),
                Some(resume.locator),
            ),
        };
        let job_id = job.id().to_string();
        tracing::info!(object = %def.object, job = %job_id, resumed = locator.is_some(), "first load through Bulk API 2.0");
        self.summary.read_with = "bulk".into();
        let mut pages = crate::bulk::Prefetch::new(
            job.pages_from(locator.as_deref()),
            Arc::clone(def),
            self.budget.checker(),
        );
        let mut first = true;
        let mut rows_read = 0u64;
        while let Some(page) = pages.next().await {
            let page = match page {
                Ok(page) => page,
                Err(PageError::Fetch(e))
                    if first && e.kind() == forcebridge_client::ErrorKind::Api =>
                {
                    return Ok(BulkRead::Unavailable(format!(
                        "Bulk job {job_id} cannot be read: {e}"
                    )));
                }
                Err(PageError::Fetch(e)) => {
                    return Err(Error::org(
                        format!("reading {} through Bulk job {job_id} failed", def.object),
                        e,
                    ));
                }
                Err(PageError::Read(e)) => return Err(e),
            };
            first = false;
            self.summary.api_calls += 1;
            let ParsedPage {
                rows,
                next_locator: next,
            } = page;
            let last = next.is_none();
            rows_read += rows.len() as u64;
            advance_cursor(state, def, &rows);
            match next {
                Some(locator) => {
                    state.bulk = Some(BulkResume {
                        job_id: job_id.clone(),
                        locator,
                    });
                }
                None => {
                    state.bulk = None;
                    state.loaded = true;
                    state.read_at = Some(utc(self.server_now));
                    state.formulas_refreshed_at = Some(utc(self.server_now));
                }
            }
            let counts = self
                .store
                .apply(
                    Arc::clone(def),
                    rows,
                    options.deletes,
                    utc(Utc::now()),
                    state.clone(),
                )
                .await?;
            self.add(counts);
            self.summary.cursor = state.cursor.clone();
            (self.on_progress)(&Progress {
                object: def.object.clone(),
                rows: rows_read,
                expected: self.record_count,
                done: false,
            });
            if last {
                return Ok(BulkRead::Finished(Flow::Done));
            }
            if self.budget.spent() {
                tracing::warn!(object = %def.object, job = %job_id, "API budget reached: stopping at the last checkpoint, the Bulk job's next page saved");
                return Ok(BulkRead::Finished(Flow::Budget));
            }
        }
        Ok(BulkRead::Unavailable(format!(
            "the pages of Bulk job {job_id} ended before its last page"
        )))
    }

    /// The incremental read's statement: `queryAll` fields of `def` from `start` up to `end`,
    /// filtered as configured, in `(SystemModstamp, Id)` order.
    fn read_query(
        &self,
        def: &TableDef,
        options: &crate::ObjectOptions,
        start: &Start,
        end: DateTime<Utc>,
    ) -> Result<String> {
        let stamp = def.columns[def.stamp.expect("incremental objects have a timestamp")]
            .name
            .clone();
        let mut query = QueryBuilder::select(def.field_names()).from(&def.object);
        match start {
            Start::Everything => {}
            Start::After(t, id) => {
                let (t, id) = (*t, id);
                query = query.filter(
                    field(&stamp)
                        .gt(t)
                        .or(field(&stamp).eq(t).and(field("Id").gt(id.as_str()))),
                );
            }
            Start::From(t) => query = query.filter(field(&stamp).ge(*t)),
        }
        query = query.filter(field(&stamp).le(end));
        if let Some(filter) = &options.filter {
            query = query.filter(Filter::parse(filter));
        }
        query
            .order_by(&stamp, Direction::Asc)
            .order_by("Id", Direction::Asc)
            .build()
            .map_err(|e| Error::config(format!("objects.{}: {e}", def.object)))
    }

    /// Every row, diffed against the destination; rows the org no longer has are deleted.
    async fn full_refresh(
        &mut self,
        def: &Arc<TableDef>,
        options: &crate::ObjectOptions,
        state: &mut ObjectState,
    ) -> Result<Flow> {
        let mut query = QueryBuilder::select(def.field_names()).from(&def.object);
        if let Some(filter) = &options.filter {
            query = query.filter(Filter::parse(filter));
        }
        let soql = query
            .order_by("Id", Direction::Asc)
            .build()
            .map_err(|e| Error::config(format!("objects.{}: {e}", def.object)))?;
        self.summary.read_with = "rest-full".into();
        let mut pages = if def.is_deleted.is_some() {
            self.client.query_all(soql).raw_pages()
        } else {
            self.client.query(soql).raw_pages()
        };
        let mut seen = HashSet::new();
        let mut rows_read = 0u64;
        loop {
            let Some(page) = self.next_page(&mut pages, &def.object).await? else {
                break;
            };
            let rows = page
                .records()
                .map(|r| def.row(r))
                .collect::<Result<Vec<Row>>>()?;
            rows_read += rows.len() as u64;
            for row in &rows {
                if !row.deleted {
                    seen.insert(row.id(def).to_string());
                }
            }
            let counts = self
                .store
                .apply(
                    Arc::clone(def),
                    rows,
                    options.deletes,
                    utc(Utc::now()),
                    state.clone(),
                )
                .await?;
            self.add(counts);
            (self.on_progress)(&Progress {
                object: def.object.clone(),
                rows: rows_read,
                expected: Some(page.total_size),
                done: false,
            });
            if page.done {
                break;
            }
            if self.budget.spent() {
                return Ok(Flow::Budget);
            }
        }
        let gone: Vec<(String, String)> = self
            .store
            .live_ids(Arc::clone(def))
            .await?
            .into_iter()
            .filter(|id| !seen.contains(id))
            .map(|id| (id, utc(self.server_now)))
            .collect();
        state.loaded = true;
        state.cursor = None;
        let n = self
            .store
            .delete(
                Arc::clone(def),
                gone,
                options.deletes,
                utc(Utc::now()),
                state.clone(),
            )
            .await?;
        self.summary.deleted += n;
        Ok(Flow::Done)
    }

    /// R7: every live Id of the org against the destination's; rows the org no longer has are
    /// deleted. Costs one request per 2,000 records, reported.
    async fn reconcile(
        &mut self,
        def: &Arc<TableDef>,
        options: &crate::ObjectOptions,
        state: &mut ObjectState,
        why: String,
    ) -> Result<Flow> {
        tracing::info!(object = %def.object, reason = %why, "comparing Id sets");
        let mut query = QueryBuilder::select(["Id"]).from(&def.object);
        if let Some(filter) = &options.filter {
            query = query.filter(Filter::parse(filter));
        }
        let soql = query
            .build()
            .map_err(|e| Error::config(format!("objects.{}: {e}", def.object)))?;
        let calls_before = self.summary.api_calls;
        let mut pages = self.client.query(soql).raw_pages();
        let mut remote = HashSet::new();
        let ids = [def.id];
        while let Some(page) = self.next_page(&mut pages, &def.object).await? {
            for record in page.records() {
                let row = def.partial_row(record, &ids)?;
                if let Some(id) = row.values.into_iter().next().flatten() {
                    remote.insert(id);
                }
            }
            if page.done {
                break;
            }
            if self.budget.spent() {
                self.summary.reconcile_api_calls += self.summary.api_calls - calls_before;
                return Ok(Flow::Budget);
            }
        }
        self.summary.reconcile_api_calls += self.summary.api_calls - calls_before;
        let gone: Vec<(String, String)> = self
            .store
            .live_ids(Arc::clone(def))
            .await?
            .into_iter()
            .filter(|id| !remote.contains(id))
            .map(|id| (id, utc(self.server_now)))
            .collect();
        state.reconciled_at = Some(utc(self.server_now));
        if state.deletes_checked_at.is_none()
            || state
                .deletes_checked_at
                .as_deref()
                .and_then(parse_time)
                .is_some_and(|at| self.server_now - at > chrono::Duration::days(DELETE_LOG_DAYS))
        {
            state.deletes_checked_at = Some(utc(self.server_now));
        }
        let n = self
            .store
            .delete(
                Arc::clone(def),
                gone,
                options.deletes,
                utc(Utc::now()),
                state.clone(),
            )
            .await?;
        self.summary.deleted += n;
        self.summary.reconciled = Some(why);
        Ok(Flow::Done)
    }

    /// Re-reads `columns` of every row (a new column's backfill, R9; or the formula refresh,
    /// R8) and writes only them.
    async fn backfill(
        &mut self,
        def: &Arc<TableDef>,
        options: &crate::ObjectOptions,
        columns: &[usize],
        with_deleted: bool,
    ) -> Result<Flow> {
        let mut wanted = vec![def.id];
        wanted.extend_from_slice(columns);
        let names: Vec<&str> = wanted
            .iter()
            .map(|&i| def.columns[i].name.as_str())
            .collect();
        let mut query = QueryBuilder::select(names).from(&def.object);
        if let Some(filter) = &options.filter {
            query = query.filter(Filter::parse(filter));
        }
        let soql = query
            .build()
            .map_err(|e| Error::config(format!("objects.{}: {e}", def.object)))?;
        let mut pages = if with_deleted && def.is_deleted.is_some() {
            self.client.query_all(soql).raw_pages()
        } else {
            self.client.query(soql).raw_pages()
        };
        while let Some(page) = self.next_page(&mut pages, &def.object).await? {
            let rows = page
                .records()
                .map(|r| def.partial_row(r, &wanted))
                .collect::<Result<Vec<Row>>>()?;
            self.store
                .update_columns(Arc::clone(def), columns.to_vec(), rows)
                .await?;
            if page.done {
                break;
            }
            if self.budget.spent() {
                return Ok(Flow::Budget);
            }
        }
        Ok(Flow::Done)
    }

    async fn next_page(
        &mut self,
        pages: &mut RawPageStream,
        object: &str,
    ) -> Result<Option<forcebridge_client::RawPage>> {
        let page = pages
            .try_next()
            .await
            .map_err(|e| Error::org(format!("reading {object} failed"), e))?;
        if page.is_some() {
            self.summary.api_calls += 1;
        }
        Ok(page)
    }

    fn add(&mut self, counts: Counts) {
        self.summary.inserted += counts.inserted;
        self.summary.updated += counts.updated;
        self.summary.deleted += counts.deleted;
    }
}

/// How a first load uses Bulk API 2.0: a new job, or the one a killed run left.
enum BulkStart {
    New,
    Resume(BulkResume),
}

/// What became of a Bulk first load.
enum BulkRead {
    /// Read to its end, or stopped at the budget.
    Finished(Flow),
    /// The job could not be used (why); nothing of it is left uncommitted.
    Unavailable(String),
}

/// Moves the cursor to the last of `rows` (in `(SystemModstamp, Id)` order) if that is ahead
/// of it: the cursor never moves backwards.
fn advance_cursor(state: &mut ObjectState, def: &TableDef, rows: &[Row]) {
    if let Some(last) = rows.last() {
        let reached = Cursor {
            system_modstamp: last.stamp(def).unwrap_or_default().to_string(),
            id: last.id(def).to_string(),
        };
        let ahead = state.cursor.as_ref().is_none_or(|c| {
            (reached.system_modstamp.as_str(), reached.id.as_str())
                > (c.system_modstamp.as_str(), c.id.as_str())
        });
        if ahead {
            state.cursor = Some(reached);
        }
    }
}

enum Start {
    Everything,
    After(DateTime<Utc>, String),
    From(DateTime<Utc>),
}

/// Whether an error is the org's or the client's API limit (a budget stop, not a failure).
fn is_limit(e: &Error) -> bool {
    e.kind() == ErrorKind::Org
        && e.client_error()
            .is_some_and(|c| c.kind() == forcebridge_client::ErrorKind::Limit)
}

/// An error with its sources, `: `-joined.
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// A time as UTC with milliseconds (`2024-01-15T10:30:00.000Z`), the form stored everywhere.
pub(crate) fn utc(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// A time as the org or the destination wrote it: RFC 3339, or Salesforce's `+0000` form.
pub(crate) fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .or_else(|_| DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f%z"))
        .ok()
        .map(|t| t.with_timezone(&Utc))
}
