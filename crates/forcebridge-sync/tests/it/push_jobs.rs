//! What a rerun does with a Bulk insert job an earlier run left recorded while the org still
//! held it part way (`Control::hold_bulk_ingest`): queued (`UploadComplete`), part processed
//! (`InProgress`), aborted part way, or released while the rerun waits. Every case runs on
//! SQLite and PostgreSQL and ends with every key in the org exactly once.

use std::sync::Arc;
use std::time::Duration;

use forcebridge_client::Client;
use forcebridge_sync::ErrorKind;
use forcebridge_sync::push::{self, BulkInsertStep, PushConfig};
use tokio::sync::Notify;
use tracing::instrument::WithSubscriber;
use tracing_subscriber::layer::SubscriberExt;

use crate::push::{
    AccountRow, bulk_insert, execute, expected, fix_refused_and_push, org, org_accounts, push,
    recorded_jobs, rows, select, write_accounts,
};
use crate::support::{Db, TestOrg};

/// A first run of `source` whose Bulk insert job the org holds after `after_rows` rows: the
/// run stops once the job is closed, as a run killed then would, leaving the job recorded and
/// every row in flight. Returns the configuration for the reruns (a poll timeout of 1 s) and
/// the job's id, once the job waits at the hold. Starts from an empty push state.
async fn cut_off_while_held(
    org: &TestOrg,
    client: &Client,
    db: &Db,
    source: &[AccountRow],
    after_rows: usize,
) -> (PushConfig, String) {
    write_accounts(db, source).await;
    execute(
        db,
        "DROP TABLE IF EXISTS _sf_push_state; DROP TABLE IF EXISTS _sf_push_rejects; DROP TABLE IF EXISTS _sf_push_jobs;",
    )
    .await;
    org.control().hold_bulk_ingest(after_rows);
    let mut config = bulk_insert(db);
    config.stop_bulk_insert_after = Some(BulkInsertStep::Closed);
    let e = push::run(client, &config, &|_| {}).await.unwrap_err();
    assert!(e.to_string().contains("stopped after step"), "{e}");
    org.control().bulk_jobs_settled().await;
    let jobs = select(db, "SELECT job_id FROM _sf_push_jobs").await;
    assert_eq!(jobs.len(), 1, "{}: the job is recorded", db.name());
    config.stop_bulk_insert_after = None;
    config.bulk.poll.timeout = Duration::from_secs(1);
    (config, jobs[0][0].clone().unwrap())
}

/// Keys whose insert is in flight.
async fn in_flight(db: &Db) -> usize {
    select(
        db,
        "SELECT key FROM _sf_push_state WHERE pending IS NOT NULL",
    )
    .await
    .len()
}

/// The org's ingest jobs: a run that sent nothing made none.
async fn ingest_jobs(client: &Client) -> usize {
    client.bulk().ingest_jobs().fetch_all().await.unwrap().len()
}

#[tokio::test]
async fn a_rerun_that_finds_its_recorded_job_still_running_sends_nothing_until_the_job_ends() {
    for db in Db::both().await {
        for (after_rows, held_state) in [(0, "UploadComplete"), (12, "InProgress")] {
            let name = format!("{} held at {after_rows}", db.name());
            let org = org().await;
            let client = org.client();
            let source = rows(30, "H");
            let (mut config, job_id) =
                cut_off_while_held(&org, &client, &db, &source, after_rows).await;
            let info = client.bulk().ingest_job(&job_id).info().await.unwrap();
            assert_eq!(
                (info.state.as_str(), info.number_records_processed),
                (held_state, Some(after_rows as u64)),
                "{name}"
            );

            // The job may still create any of its rows: the rerun waits its poll timeout,
            // then stops, saying which job and why, with nothing sent.
            let e = push::run(&client, &config, &|_| {}).await.unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Org, "{name}: {e}");
            let message = e.to_string();
            for part in [job_id.as_str(), held_state, "run again later"] {
                assert!(message.contains(part), "{name}: {message}");
            }
            assert_eq!(
                recorded_jobs(&db).await,
                1,
                "{name}: the job stays recorded"
            );
            assert_eq!(in_flight(&db).await, 30, "{name}: the rows stay in flight");
            assert_eq!(ingest_jobs(&client).await, 1, "{name}: no job was sent");
            assert_eq!(
                org_accounts(&client).await.len(),
                after_rows,
                "{name}: only the held job's rows are in the org"
            );

            // Released: the next run waits for the job and settles every row from its
            // results, sending none of them.
            org.control().release_bulk_ingest();
            config.bulk.poll.timeout = Duration::from_secs(60);
            let summary = push(&client, &config).await;
            assert_eq!(
                (
                    summary.bulk_jobs_resolved,
                    summary.resolved_in_flight,
                    summary.sent,
                    summary.bulk_jobs
                ),
                (1, 30, 0, 0),
                "{name}: {summary:?}"
            );
            assert_eq!(recorded_jobs(&db).await, 0, "{name}");
            assert_eq!(in_flight(&db).await, 0, "{name}");
            // Counted by marker: every key once (org_accounts fails on a key seen twice).
            assert_eq!(org_accounts(&client).await, expected(&source), "{name}");
            let again = push(&client, &config).await;
            assert_eq!(
                (again.sent, again.unchanged, again.bulk_jobs),
                (0, 30, 0),
                "{name}"
            );
        }
        db.drop_database().await;
    }
}

#[tokio::test]
async fn a_job_aborted_part_way_settles_what_it_processed_and_its_other_rows_are_sent_again() {
    for db in Db::both().await {
        let name = db.name();
        let org = org().await;
        let client = org.client();
        let mut source = rows(30, "A");
        // Refused by the validation rule: one row the job processes, one it never reaches.
        source[3].3 = Some(-5);
        source[20].3 = Some(-1);
        let (config, job_id) = cut_off_while_held(&org, &client, &db, &source, 12).await;
        let aborted = client.bulk().ingest_job(&job_id).abort().await.unwrap();
        assert_eq!(aborted.state, "Aborted", "{name}");
        // The job records the rows it leaves unprocessed.
        org.control().bulk_jobs_settled().await;
        let info = client.bulk().ingest_job(&job_id).info().await.unwrap();
        assert_eq!(
            (info.number_records_processed, info.number_records_failed),
            (Some(12), Some(1)),
            "{name}"
        );
        org.control().release_bulk_ingest();
        // One of the rows the job lists as unprocessed is in the org all the same, as if a
        // batch in flight at the abort had committed after it (whether a real org can do that
        // is not documented): the rerun must find it by its marker, not create it again.
        let (ext, name_25, tier, score) = &source[25];
        org.control()
            .insert(
                "Account",
                [serde_json::json!({
                    "External_Id__c": ext, "Name": name_25, "Tier__c": tier, "Score__c": score,
                })],
            )
            .unwrap();

        // The 11 rows created settle from the successful results and the refused one goes to
        // the rejects; the 18 never processed are read back by their markers: the one found
        // settles, the 17 others are sent again, in this run.
        let summary = push(&client, &config).await;
        assert_eq!(
            (summary.bulk_jobs_resolved, summary.resolved_in_flight),
            (1, 30),
            "{name}: {summary:?}"
        );
        assert_eq!(
            (summary.sent, summary.succeeded, summary.failed),
            (18, 16, 2),
            "{name}: {summary:?}"
        );
        assert_eq!(recorded_jobs(&db).await, 0, "{name}");
        assert_eq!(in_flight(&db).await, 0, "{name}");
        let mut applied = source.clone();
        applied.retain(|r| r.3 >= Some(0));
        assert_eq!(org_accounts(&client).await, expected(&applied), "{name}");
        // A row the job never processed was no reject: it was refused once, when sent.
        let rejects = select(
            &db,
            "SELECT key, error_code, attempts FROM _sf_push_rejects ORDER BY key",
        )
        .await;
        let reject = |key: &str, attempts: &str| {
            vec![
                Some(key.to_string()),
                Some("FIELD_CUSTOM_VALIDATION_EXCEPTION".to_string()),
                Some(attempts.to_string()),
            ]
        };
        assert_eq!(
            rejects,
            [reject("A-00003", "2"), reject("A-00020", "1")],
            "{name}"
        );

        // Fixed in the source: the next run sends just those two; then nothing.
        fix_refused_and_push(&db, &client, &config, &mut source, &[3, 20]).await;
        let again = push(&client, &config).await;
        assert_eq!((again.sent, again.unchanged), (0, 30), "{name}");
        db.drop_database().await;
    }
}

#[tokio::test]
async fn a_rerun_waiting_for_a_held_job_resolves_it_once_released_during_the_wait() {
    for db in Db::both().await {
        let name = db.name();
        let org = org().await;
        let client = org.client();
        let source = rows(30, "W");
        let (mut config, job_id) = cut_off_while_held(&org, &client, &db, &source, 12).await;
        config.bulk.poll.timeout = Duration::from_secs(60);

        // The release comes once the rerun has polled the job and found it unfinished (the
        // client's trace event), so it lands while the rerun waits.
        let polled = Arc::new(Notify::new());
        let events = tracing_subscriber::registry().with(PolledUnfinished {
            job: job_id.clone(),
            polled: polled.clone(),
        });
        let rerun = push::run(&client, &config, &|_| {}).with_subscriber(events);
        let release = async {
            tokio::time::timeout(Duration::from_secs(60), polled.notified())
                .await
                .expect("the rerun never polled the held job");
            let info = client.bulk().ingest_job(&job_id).info().await.unwrap();
            assert_eq!(
                (info.state.as_str(), info.number_records_processed),
                ("InProgress", Some(12)),
                "{name}"
            );
            org.control().release_bulk_ingest();
        };
        let (summary, ()) = tokio::join!(rerun, release);
        let summary = summary.unwrap();
        assert_eq!(
            (
                summary.bulk_jobs_resolved,
                summary.resolved_in_flight,
                summary.sent
            ),
            (1, 30, 0),
            "{name}: {summary:?}"
        );
        assert_eq!(recorded_jobs(&db).await, 0, "{name}");
        assert_eq!(org_accounts(&client).await, expected(&source), "{name}");
        db.drop_database().await;
    }
}

/// Tells `polled` each time the client polls the Bulk job `job` and finds it unfinished, by
/// the client's own trace event ("bulk job not finished; polling again").
struct PolledUnfinished {
    job: String,
    polled: Arc<Notify>,
}

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for PolledUnfinished {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        #[derive(Default)]
        struct Fields {
            message: String,
            job: String,
        }
        impl tracing::field::Visit for Fields {
            fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
                match field.name() {
                    "message" => self.message = format!("{value:?}"),
                    "job" => self.job = format!("{value:?}"),
                    _ => {}
                }
            }
        }
        let mut fields = Fields::default();
        event.record(&mut fields);
        if fields.message == "bulk job not finished; polling again" && fields.job == self.job {
            self.polled.notify_one();
        }
    }
}
