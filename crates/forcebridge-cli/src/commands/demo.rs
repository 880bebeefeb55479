//! `forcebridge demo`: a guided tour against the built-in local org.
//!
//! It starts a local org in this process, logs in to it over HTTP with the OAuth
//! username-password flow (the same token request a real org gets), and walks through a query,
//! a describe, a create/update/delete round trip, a Bulk API 2.0 export, a sync into SQLite
//! and a push of a value computed there back into the org, printing what it did. No
//! configuration, no network.

use std::time::Instant;

use anyhow::Context;
use forcebridge_client::Client;
use forcebridge_connect::LocalOrgOptions;
use serde_json::{Value, json};

use crate::cli::DemoArgs;
use crate::org::Org;
use crate::output::{self, Exit, Outcome};
use crate::rows::{Format, RowWriter};

pub(crate) async fn run(args: DemoArgs) -> anyhow::Result<Outcome> {
    let mut tour = Tour {
        json: args.json,
        steps: Vec::new(),
    };
    let started = Instant::now();
    let org = Org::local(LocalOrgOptions {
        records: args.records,
    })
    .await?;
    let client = &org.client;
    let session = client
        .session()
        .await
        .context("logging in to the local org")?;
    let user = client.user_info().await?;
    tour.step(
        "login",
        &format!(
            "Started a local org with ~{} generated records at {} and logged in as {} with the \
             OAuth username-password flow (POST /services/oauth2/token).",
            args.records, session.instance_url, user.preferred_username
        ),
        json!({ "instance_url": session.instance_url, "username": user.preferred_username }),
    )?;

    // A query, streamed page by page.
    let soql = "SELECT Name, Industry, AnnualRevenue, Owner.Name FROM Account \
                WHERE AnnualRevenue != null ORDER BY AnnualRevenue DESC LIMIT 5";
    let top = client.query(soql).fetch_all().await?;
    let total = client
        .query("SELECT COUNT() FROM Account")
        .total_size()
        .await?;
    tour.step(
        "query",
        &format!("{total} accounts in the org; the five largest by revenue:\n  $ forcebridge query \"{soql}\""),
        json!({ "soql": soql, "records": top.len(), "accounts": total }),
    )?;
    if !tour.json {
        let mut table = RowWriter::new(Format::Table, std::io::stdout().lock());
        for record in &top {
            table.write(&record.to_map())?;
        }
        table.finish()?;
    }

    // Describe.
    let describe = client.sobject("Account").describe().await?;
    let custom = describe.fields.iter().filter(|f| f.custom).count();
    let references = describe
        .fields
        .iter()
        .filter(|f| !f.reference_to.is_empty())
        .map(|f| format!("{} -> {}", f.name, f.reference_to.join("/")))
        .collect::<Vec<_>>();
    tour.step(
        "describe",
        &format!(
            "Account has {} fields ({custom} custom) and {} child relationships; its lookups: {}.\n  $ forcebridge describe Account",
            describe.fields.len(),
            describe.child_relationships.len(),
            references.join(", ")
        ),
        json!({ "fields": describe.fields.len(), "lookups": references }),
    )?;

    // A create, update, read and delete round trip.
    round_trip(client, &mut tour).await?;

    // A Bulk API 2.0 export to a file.
    let dir = tempfile_dir()?;
    let path = dir.join("contacts.csv");
    let mut file = tokio::fs::File::create(&path)
        .await
        .with_context(|| format!("cannot create {}", path.display()))?;
    let export = client
        .bulk()
        .query("SELECT Id, FirstName, LastName, Email, Account.Name FROM Contact")
        .write_to(&mut file)
        .await?;
    drop(file);
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    tour.step(
        "bulk export",
        &format!(
            "Bulk API 2.0 query job {} exported {} contacts ({} KB of CSV) to {} (removed at the end).\n  $ forcebridge bulk export \"SELECT Id, FirstName, LastName, Email, Account.Name FROM Contact\" -o contacts.csv",
            export.job_id,
            export.records,
            size / 1024,
            path.display()
        ),
        json!({ "job_id": export.job_id, "records": export.records, "file": path }),
    )?;
    let _ = std::fs::remove_dir_all(&dir);

    // A sync into SQLite, and a query of the result.
    let db = sync_step(client, &mut tour).await?;

    // A push of a value computed in the database back into Salesforce.
    push_step(client, &mut tour, &db).await?;

    let usage = client.api_usage();
    tour.step(
        "done",
        &format!(
            "Done in {:.1}s, using {} API requests. Next: save a connection to your own org with \
             `forcebridge connect add NAME --password` (or --web, --jwt, --client-credentials), \
             keep exploring the local org with `forcebridge --local query ...`, or give an AI \
             assistant safe Salesforce tools on it with `forcebridge --local mcp`.",
            started.elapsed().as_secs_f64(),
            usage.map_or(0, |u| u.used)
        ),
        json!({ "api_requests": usage.map(|u| u.used), "seconds": started.elapsed().as_secs_f64() }),
    )?;
    if tour.json {
        output::json(&json!({ "steps": tour.steps }))?;
    }
    Ok(Exit::Success)
}

async fn round_trip(client: &Client, tour: &mut Tour) -> anyhow::Result<()> {
    let accounts = client.sobject("Account");
    let id = accounts
        .create(&json!({ "Name": "forcebridge demo", "Industry": "Technology" }))
        .await?;
    accounts
        .update(
            &id,
            &json!({ "Industry": "Consulting", "NumberOfEmployees": 12 }),
        )
        .await?;
    let record = accounts.get(&id).await?;
    accounts.delete(&id).await?;
    let in_bin = client
        .query_all(format!(
            "SELECT Id FROM Account WHERE Id = '{id}' AND IsDeleted = true"
        ))
        .total_size()
        .await?;
    tour.step(
        "create/update/delete",
        &format!(
            "Created Account {id}, updated it (Industry now {}, {} employees), read it back, and \
             deleted it: it is in the recycle bin ({} found by queryAll).\n  $ forcebridge create Account Name=\"forcebridge demo\"",
            record.get_str("Industry").unwrap_or("?"),
            record.get_i64("NumberOfEmployees").unwrap_or(0),
            in_bin
        ),
        json!({ "id": id, "deleted": in_bin == 1 }),
    )
}

/// Syncs three objects into a SQLite file, shows a query of it, and returns the file.
async fn sync_step(client: &Client, tour: &mut Tour) -> anyhow::Result<std::path::PathBuf> {
    let path = std::env::temp_dir().join(format!("forcebridge-demo-{}.db", std::process::id()));
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    let mut config = forcebridge_sync::SyncConfig::new(
        forcebridge_sync::Destination::Sqlite(path.clone()),
        forcebridge_sync::ObjectSelection::Names(vec![
            "Account".into(),
            "Contact".into(),
            "Opportunity".into(),
        ]),
    );
    // The local org's records were all written before the tour started.
    config.lag = std::time::Duration::ZERO;
    let summary = forcebridge_sync::run(client, &config, &|_| {}).await?;
    let rows: u64 = summary.objects.iter().map(|o| o.inserted).sum();
    let sql = "SELECT a.Industry, count(DISTINCT a.Id) AS accounts, count(o.Id) AS open_deals, \
               round(sum(o.Amount)) AS pipeline FROM Account a LEFT JOIN Opportunity o \
               ON o.AccountId = a.Id AND o.IsClosed = 0 WHERE a._sf_is_deleted = 0 \
               GROUP BY a.Industry ORDER BY pipeline DESC LIMIT 5";
    let db = rusqlite::Connection::open(&path)
        .with_context(|| format!("cannot open {}", path.display()))?;
    let mut stmt = db.prepare(sql)?;
    let table: Vec<Vec<String>> = stmt
        .query_map([], |r| {
            (0..4)
                .map(|i| {
                    r.get::<_, rusqlite::types::Value>(i).map(|v| match v {
                        rusqlite::types::Value::Null => "-".to_string(),
                        rusqlite::types::Value::Integer(n) => n.to_string(),
                        rusqlite::types::Value::Real(f) => format!("{f:.0}"),
                        rusqlite::types::Value::Text(t) => t,
                        rusqlite::types::Value::Blob(_) => "<blob>".to_string(),
                    })
                })
                .collect::<rusqlite::Result<Vec<String>>>()
        })?
        .collect::<rusqlite::Result<_>>()?;
    let mut text = format!(
        "Synced {} objects ({rows} rows, {} API calls) into SQLite at {}; run it again and only \
         changes are read.\n  $ forcebridge sync Account Contact Opportunity --to sqlite:{}\n\
         The pipeline by industry, straight from the synced tables:\n  $ sqlite3 {} \"{}\"\n",
        summary.objects.len(),
        summary.api_calls,
        path.display(),
        path.display(),
        path.display(),
        sql.split_whitespace().collect::<Vec<_>>().join(" ")
    );
    if !tour.json {
        text.push_str(&format!(
            "  {:<24} {:>8} {:>10} {:>14}\n",
            "Industry", "accounts", "open deals", "pipeline"
        ));
        for row in &table {
            text.push_str(&format!(
                "  {:<24} {:>8} {:>10} {:>14}\n",
                row[0], row[1], row[2], row[3]
            ));
        }
    }
    tour.step(
        "sync",
        text.trim_end(),
        json!({ "database": path, "rows": rows, "api_calls": summary.api_calls, "top_industries": table }),
    )?;
    Ok(path)
}

/// Pushes a rating computed from the synced pipeline back into the accounts (an update by Id),
/// then pushes again to show that only changed rows are sent.
async fn push_step(client: &Client, tour: &mut Tour, db: &std::path::Path) -> anyhow::Result<()> {
    use forcebridge_sync::push::{self, Operation, PushConfig, Source, SourceQuery};

    let sql = "SELECT a.Id, CASE WHEN sum(o.Amount) >= 200000 THEN 'Hot' \
               WHEN sum(o.Amount) > 0 THEN 'Warm' ELSE 'Cold' END AS Rating \
               FROM Account a LEFT JOIN Opportunity o ON o.AccountId = a.Id AND o.IsClosed = 0 \
               WHERE a._sf_is_deleted = 0 GROUP BY a.Id";
    let source = Source::Sqlite {
        path: db.to_path_buf(),
        query: SourceQuery::Sql(sql.to_string()),
    };
    // The push's state (a fingerprint per account) lives in the same file.
    let config = PushConfig::new(
        "Account",
        source,
        Operation::Update,
        forcebridge_sync::Destination::Sqlite(db.to_path_buf()),
    );
    let first = push::run(client, &config, &|_| {}).await?;
    let again = push::run(client, &config, &|_| {}).await?;
    let mut ratings = Vec::new();
    for record in client
        .query("SELECT Rating, COUNT(Id) n FROM Account GROUP BY Rating ORDER BY Rating")
        .fetch_all()
        .await?
    {
        let rating = record.get_str("Rating").unwrap_or("-").to_string();
        let n = record.get_f64("n").unwrap_or(0.0) as u64;
        ratings.push(format!("{rating} {n}"));
    }
    let sql = sql.split_whitespace().collect::<Vec<_>>().join(" ");
    tour.step(
        "push",
        &format!(
            "Rated every account Hot, Warm or Cold by its open pipeline in SQLite and pushed the \
             rating back: {} rows sent, {} succeeded, {} API calls (sObject Collections, 200 \
             records a call). Accounts by rating now: {}. Pushed again: {} sent, {} unchanged \
             (a fingerprint per row is kept, so only changed rows go out).\n  $ forcebridge push \
             Account --from sqlite:{} --query \"{sql}\" --update",
            first.sent,
            first.succeeded,
            first.api_calls,
            ratings.join(", "),
            again.sent,
            again.unchanged,
            db.display(),
        ),
        json!({
            "sent": first.sent,
            "succeeded": first.succeeded,
            "api_calls": first.api_calls,
            "ratings": ratings,
            "sent_again": again.sent,
            "unchanged_again": again.unchanged,
        }),
    )
}

/// A private temporary directory for the export.
fn tempfile_dir() -> anyhow::Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("forcebridge-demo-{}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    Ok(dir)
}

struct Tour {
    json: bool,
    steps: Vec<Value>,
}

impl Tour {
    fn step(&mut self, name: &str, text: &str, data: Value) -> anyhow::Result<()> {
        if self.json {
            self.steps.push(json!({ "step": name, "result": data }));
        } else {
            output::stdout(&format!("\n== {name}\n{text}\n"))?;
        }
        Ok(())
    }
}
