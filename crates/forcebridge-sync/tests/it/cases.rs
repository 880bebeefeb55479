//! One test per rule of the sync notes, each on SQLite and PostgreSQL, each ending with the
//! destination equal to the org.

use std::time::Duration;

use forcebridge_emulator::{FaultConfig, FaultScope, FieldConfig};
use forcebridge_sync::{Budget, Outcome, run};
use serde_json::json;

use crate::support::{Db, TestOrg, assert_same};

/// A run, a second after the last change: the org's `Date` has whole seconds, and records
/// written in the current second are read by the next run.
async fn sync(
    org: &TestOrg,
    client: &forcebridge_client::Client,
    config: &forcebridge_sync::SyncConfig,
) -> forcebridge_sync::Result<forcebridge_sync::RunSummary> {
    org.advance(1);
    run(client, config, &|_| {}).await
}

fn accounts(n: usize, prefix: &str) -> Vec<serde_json::Value> {
    (0..n)
        .map(|i| json!({"Name": format!("{prefix} {i:05}"), "AnnualRevenue": i as f64 * 10.5, "NumberOfEmployees": i}))
        .collect()
}

#[tokio::test]
async fn five_thousand_rows_sharing_one_stamp_stop_at_the_budget_and_resume_without_loss() {
    for db in Db::both().await {
        let org = TestOrg::start().await;
        let control = org.control();
        control
            .insert_with_stamp("Account", accounts(5_000, "Tied"), control.now())
            .unwrap();
        let client = org.client();
        let mut config = db.config(&["Account"]);
        // The describe, then pages of 500: the budget stops the first load part-way, at a
        // page boundary inside the one shared SystemModstamp.
        config.budget = Budget {
            max_calls_per_run: Some(4),
            max_share_of_daily_limit: None,
        };
        let first = sync(&org, &client, &config).await.unwrap();
        assert_eq!(first.outcome, Outcome::BudgetExhausted, "{}", db.name());
        let loaded = first.objects[0].inserted;
        assert!(loaded > 0 && loaded < 5_000, "{}: {loaded}", db.name());
        let cursor = first.objects[0].cursor.clone().unwrap();
        assert_eq!(cursor.system_modstamp, "2026-03-10T12:00:00.000Z");

        config.budget = Budget::default();
        let second = sync(&org, &client, &config).await.unwrap();
        assert_eq!(second.outcome, Outcome::Success, "{}", db.name());
        assert_eq!(loaded + second.objects[0].inserted, 5_000, "{}", db.name());
        assert_eq!(assert_same(&client, &db, "Account").await, 5_000);

        // Once the overlap has passed, a run with nothing changed costs the describe, the
        // delete log and one query: objects + 2 calls.
        org.advance(700);
        let overlap = sync(&org, &client, &config).await.unwrap();
        assert_eq!(overlap.objects[0].inserted + overlap.objects[0].updated, 0);
        org.advance(120);
        let idle = sync(&org, &client, &config).await.unwrap();
        assert_eq!(idle.objects[0].inserted + idle.objects[0].updated, 0);
        assert!(
            idle.api_calls <= 1 + 2,
            "{}: {} calls",
            db.name(),
            idle.api_calls
        );
        db.drop_database().await;
    }
}

#[tokio::test]
async fn a_late_commit_behind_the_cursor_is_read_in_the_overlap() {
    for db in Db::both().await {
        let org = TestOrg::start().await;
        let control = org.control();
        control.insert("Account", accounts(30, "Early")).unwrap();
        let client = org.client();
        let config = db.config(&["Account"]);
        sync(&org, &client, &config).await.unwrap();
        org.advance(300);
        control.insert("Account", accounts(3, "Later")).unwrap();
        sync(&org, &client, &config).await.unwrap();
        // A long transaction that took its stamp two minutes ago commits only now, behind
        // the cursor the last run saved.
        let late = control.now() - chrono::Duration::minutes(2);
        control
            .insert_with_stamp("Account", [json!({"Name": "Late"})], late)
            .unwrap();
        org.advance(60);
        let summary = sync(&org, &client, &config).await.unwrap();
        assert_eq!(summary.objects[0].inserted, 1, "{}", db.name());
        assert_eq!(assert_same(&client, &db, "Account").await, 34);
        db.drop_database().await;
    }
}

#[tokio::test]
async fn soft_purged_and_hard_deletes_all_reach_the_destination() {
    for db in Db::both().await {
        let org = TestOrg::start().await;
        let control = org.control();
        let ids = control.insert("Account", accounts(20, "Doomed")).unwrap();
        let campaign = control
            .insert("Campaign", [json!({"Name": "Spring"})])
            .unwrap()
            .remove(0);
        let leads = control
            .insert(
                "Lead",
                (0..5).map(|i| json!({"LastName": format!("Lead {i}"), "Company": "Acme"})),
            )
            .unwrap();
        let members = control
            .insert(
                "CampaignMember",
                leads
                    .iter()
                    .map(|l| json!({"CampaignId": campaign, "LeadId": l})),
            )
            .unwrap();
        let client = org.client();
        let config = db.config(&["Account", "CampaignMember"]);
        sync(&org, &client, &config).await.unwrap();

        // Soft deletes (in the bin, so in queryAll), deletes purged from the bin, and a
        // campaign member, which is deleted for good.
        org.advance(120);
        for id in &ids[..3] {
            client.sobject("Account").delete(id).await.unwrap();
        }
        for id in &ids[3..6] {
            client.sobject("Account").delete(id).await.unwrap();
        }
        client
            .sobject("CampaignMember")
            .delete(&members[0])
            .await
            .unwrap();
        org.advance(120);
        let summary = sync(&org, &client, &config).await.unwrap();
        let account = &summary.objects[0];
        assert_eq!(account.deleted, 6, "{}: {account:?}", db.name());
        let member = &summary.objects[1];
        assert_eq!(member.deleted, 1, "{}: {member:?}", db.name());
        assert!(member.reconciled.is_some() && member.reconcile_api_calls >= 1);
        assert_same(&client, &db, "Account").await;
        assert_same(&client, &db, "CampaignMember").await;

        // Deleted and purged between two runs: neither queryAll nor the delete log shows
        // them, and the log says it no longer reaches back: Id sets are compared.
        org.advance(120);
        for id in &ids[6..9] {
            client.sobject("Account").delete(id).await.unwrap();
        }
        control.empty_recycle_bin().unwrap();
        org.advance(120);
        let summary = sync(&org, &client, &config).await.unwrap();
        let account = &summary.objects[0];
        assert_eq!(account.deleted, 3, "{}: {account:?}", db.name());
        assert!(account.reconciled.is_some(), "{account:?}");
        assert_eq!(assert_same(&client, &db, "Account").await, 11);
        db.drop_database().await;
    }
}

#[tokio::test]
async fn a_field_added_between_runs_gets_a_column_and_a_backfill() {
    for db in Db::both().await {
        let org = TestOrg::start().await;
        let control = org.control();
        let ids = control.insert("Account", accounts(10, "Drift")).unwrap();
        let client = org.client();
        let config = db.config(&["Account"]);
        sync(&org, &client, &config).await.unwrap();
        control
            .add_field("Account", FieldConfig::new("Tier__c", "string"))
            .unwrap();
        // A value written under the stamp the row already has: only the backfill finds it.
        control
            .update_with_stamp(
                "Account",
                &ids[0],
                json!({"Tier__c": "Gold"}),
                control.now(),
            )
            .unwrap();
        org.advance(120);
        let summary = sync(&org, &client, &config).await.unwrap();
        assert_eq!(
            summary.objects[0].columns_added,
            vec!["Tier__c".to_string()]
        );
        assert_same(&client, &db, "Account").await;
        db.drop_database().await;
    }
}

#[tokio::test]
async fn a_field_removed_between_runs_keeps_its_column_marked_removed() {
    for db in Db::both().await {
        let org = TestOrg::start().await;
        let control = org.control();
        control
            .add_field("Account", FieldConfig::new("Tier__c", "string"))
            .unwrap();
        let records = (0..20).map(|i| json!({"Name": format!("Tiered {i:02}"), "Tier__c": "Gold"}));
        let ids = control.insert("Account", records).unwrap();
        let client = org.client();
        let config = db.config(&["Account"]);
        sync(&org, &client, &config).await.unwrap();

        control.remove_field("Account", "Tier__c").unwrap();
        org.advance(60);
        control
            .insert("Account", accounts(5, "After removal"))
            .unwrap();
        control
            .update_with_stamp(
                "Account",
                &ids[3],
                json!({"Name": "Renamed"}),
                control.now(),
            )
            .unwrap();
        let summary = sync(&org, &client, &config).await.unwrap();
        let account = &summary.objects[0];
        assert_eq!(account.outcome, Outcome::Success, "{account:?}");
        assert_eq!(account.columns_removed, vec!["Tier__c".to_string()]);
        assert_eq!(account.inserted, 5, "{account:?}");
        // The column stays with the values it had, marked removed; every other column is
        // still equal to the org's.
        let tier = db
            .registered("Account")
            .await
            .into_iter()
            .find(|c| c.0 == "Tier__c")
            .unwrap();
        assert!(tier.2, "Tier__c is marked removed: {tier:?}");
        assert_eq!(tier.3, 20, "the removed column keeps its values");
        let live = assert_same(&client, &db, "Account").await;
        // A later run changes nothing more.
        let again = sync(&org, &client, &config).await.unwrap();
        assert!(again.objects[0].columns_removed.is_empty());
        assert_eq!(assert_same(&client, &db, "Account").await, live);
        db.drop_database().await;
    }
}

#[tokio::test]
async fn a_field_whose_type_changes_reloads_the_table() {
    for db in Db::both().await {
        let org = TestOrg::start().await;
        let control = org.control();
        control
            .add_field("Account", FieldConfig::new("Score__c", "string"))
            .unwrap();
        let records = (0..30).map(|i| {
            let score = if i % 3 == 0 {
                "n/a".to_string()
            } else {
                format!("{i}.5")
            };
            json!({"Name": format!("Scored {i:02}"), "Score__c": score})
        });
        control.insert("Account", records).unwrap();
        let client = org.client();
        let config = db.config(&["Account"]);
        let first = sync(&org, &client, &config).await.unwrap();
        let before = first.objects[0].inserted;
        assert_eq!(assert_same(&client, &db, "Account").await as u64, before);

        let mut score = FieldConfig::new("Score__c", "double");
        score.precision = Some(18);
        score.scale = Some(2);
        control.change_field("Account", score).unwrap();
        org.advance(60);
        let summary = sync(&org, &client, &config).await.unwrap();
        let account = &summary.objects[0];
        assert_eq!(account.outcome, Outcome::Success, "{account:?}");
        // Every record's SystemModstamp is unchanged, so only the reload brings the new values.
        assert_eq!(
            account.inserted, before,
            "the table was reloaded: {account:?}"
        );
        let score = db
            .registered("Account")
            .await
            .into_iter()
            .find(|c| c.0 == "Score__c")
            .unwrap();
        assert_eq!((score.1.as_str(), score.2, score.3), ("double", false, 20));
        assert_eq!(assert_same(&client, &db, "Account").await as u64, before);
        db.drop_database().await;
    }
}

/// An org for first loads: 2,400 accounts, 1,000 of them sharing one `SystemModstamp` across
/// Bulk page boundaries, 50 in the recycle bin.
async fn first_load_org() -> TestOrg {
    let org = TestOrg::start().await;
    let control = org.control();
    control.insert("Account", accounts(1_400, "Early")).unwrap();
    org.advance(5);
    let ids = control
        .insert_with_stamp("Account", accounts(1_000, "Tied"), control.now())
        .unwrap();
    org.advance(5);
    let client = org.client();
    for id in &ids[..50] {
        client.sobject("Account").delete(id).await.unwrap();
    }
    org
}

/// A configuration that reads every first load through Bulk, in pages of 300 rows.
fn bulk_config(db: &Db) -> forcebridge_sync::SyncConfig {
    let mut config = db.config(&["Account"]);
    config.bulk_threshold = Some(1);
    config.bulk_page_rows = 300;
    config
}

#[tokio::test]
async fn a_large_first_load_reads_through_bulk_and_ends_where_rest_does() {
    let org = first_load_org().await;
    let client = org.client();
    // The REST reference, on SQLite.
    let reference = Db::sqlite();
    let mut rest = reference.config(&["Account"]);
    rest.bulk_threshold = None;
    let by_rest = sync(&org, &client, &rest).await.unwrap();
    assert_eq!(by_rest.objects[0].read_with, "rest");
    for db in Db::both().await {
        let summary = sync(&org, &client, &bulk_config(&db)).await.unwrap();
        let account = &summary.objects[0];
        assert_eq!(account.outcome, Outcome::Success, "{account:?}");
        assert_eq!(account.read_with, "bulk", "{account:?}");
        assert_eq!(account.cursor, by_rest.objects[0].cursor, "{}", db.name());
        assert_eq!(account.inserted, by_rest.objects[0].inserted);
        let live = assert_same(&client, &db, "Account").await;
        assert_eq!(live, assert_same(&client, &reference, "Account").await);
        // Later runs are incremental over REST, and find nothing new.
        let again = sync(&org, &client, &bulk_config(&db)).await.unwrap();
        assert_eq!(again.objects[0].read_with, "rest");
        assert_eq!(again.objects[0].inserted, 0);
        assert_eq!(db.bulk_job("Account").await, None);
        db.drop_database().await;
    }
}

#[tokio::test]
async fn a_bulk_first_load_stopped_midway_resumes_its_job_or_falls_back_to_rest() {
    for job_lost in [false, true] {
        for db in Db::both().await {
            let org = first_load_org().await;
            let client = org.client();
            let mut config = bulk_config(&db);
            // The describe, the record count, the job, a poll or two and a page or two.
            config.budget.max_calls_per_run = Some(6);
            let stopped = sync(&org, &client, &config).await.unwrap();
            assert_eq!(stopped.outcome, Outcome::BudgetExhausted, "{stopped:?}");
            let job = db.bulk_job("Account").await.expect("the job is saved");
            let committed = stopped.objects[0].inserted + stopped.objects[0].deleted;
            assert!(committed > 0 && committed < 2_400, "{stopped:?}");
            if job_lost {
                // The job expires (or is deleted) before the run resumes.
                client.bulk().query_job(&job).delete().await.unwrap();
            }
            config.budget.max_calls_per_run = None;
            let resumed = sync(&org, &client, &config).await.unwrap();
            let account = &resumed.objects[0];
            assert_eq!(account.outcome, Outcome::Success, "{account:?}");
            let expected = if job_lost { "rest" } else { "bulk" };
            assert_eq!(account.read_with, expected, "{account:?}");
            // Every row written once: 2,350 live, 50 deleted.
            assert_eq!(
                committed + account.inserted + account.deleted,
                2_400,
                "{account:?}"
            );
            assert_eq!(assert_same(&client, &db, "Account").await, 2_350);
            assert_eq!(db.bulk_job("Account").await, None);
            db.drop_database().await;
        }
    }
}

#[tokio::test]
async fn formulas_are_refreshed_on_their_schedule() {
    for db in Db::both().await {
        let org = TestOrg::start().await;
        let control = org.control();
        let ids = control
            .insert(
                "Opportunity",
                (0..4).map(|i| json!({"Name": format!("Deal {i}"), "StageName": "Prospecting", "CloseDate": "2026-04-01", "Amount": 1000 + i})),
            )
            .unwrap();
        let client = org.client();
        let mut config = db.config(&["Opportunity"]);
        config.defaults.formula_refresh = Some(Duration::from_secs(3_600));
        sync(&org, &client, &config).await.unwrap();
        control
            .set_calculated_value("Opportunity", &ids[1], "ExpectedRevenue", json!(4321.5))
            .unwrap();
        // Not due yet: the stale value stays.
        org.advance(120);
        let early = sync(&org, &client, &config).await.unwrap();
        assert!(!early.objects[0].formulas_refreshed);
        // Due: every formula column is read again.
        org.advance(3_600);
        let due = sync(&org, &client, &config).await.unwrap();
        assert!(due.objects[0].formulas_refreshed);
        assert_same(&client, &db, "Opportunity").await;
        db.drop_database().await;
    }
}

#[tokio::test]
async fn faults_and_expired_sessions_are_retried_and_the_result_is_equal() {
    for db in Db::both().await {
        let org = TestOrg::start().await;
        let control = org.control();
        control
            .insert("Account", accounts(2_000, "Faulty"))
            .unwrap();
        let client = org.client();
        let config = db.config(&["Account"]);
        control.set_faults(FaultConfig {
            error_rate: 0.2,
            reset_rate: 0.2,
            lock_rate: 0.0,
            latency: Duration::ZERO,
            scope: FaultScope::Reads,
            seed: 7,
        });
        let first = sync(&org, &client, &config).await.unwrap();
        assert_eq!(first.outcome, Outcome::Success, "{}: {first:?}", db.name());
        control.expire_sessions();
        org.advance(120);
        control.insert("Account", accounts(10, "More")).unwrap();
        org.advance(1);
        let second = sync(&org, &client, &config).await.unwrap();
        assert_eq!(
            second.outcome,
            Outcome::Success,
            "{}: {second:?}",
            db.name()
        );
        control.set_faults(FaultConfig {
            error_rate: 0.0,
            reset_rate: 0.0,
            ..control.faults()
        });
        assert_eq!(assert_same(&client, &db, "Account").await, 2_010);
        db.drop_database().await;
    }
}

#[tokio::test]
async fn bad_configuration_is_refused_before_any_request() {
    let org = TestOrg::start().await;
    let client = org.client();
    let db = Db::sqlite();
    let mut config = db.config(&["Account"]);
    config.defaults.filter = Some("Name = = 'x'".into());
    let error = sync(&org, &client, &config).await.unwrap_err();
    assert_eq!(error.kind(), forcebridge_sync::ErrorKind::Config);
    assert!(error.to_string().starts_with("defaults.filter"), "{error}");
    assert_eq!(client.requests_sent(), 0);
    let config = db.config(&["NoSuchObject__c"]);
    let error = sync(&org, &client, &config).await.unwrap_err();
    assert_eq!(
        error.to_string(),
        "objects: the org has no object NoSuchObject__c"
    );
}
