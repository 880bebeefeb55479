//! End-to-end measurements of the local org over real HTTP, for the crate README:
//!
//! 1. memory of an org generated with `--seed bench --records 1000000`;
//! 2. a paged REST query over 1,000,000 Account rows (JSON MB/s, with and without gzip);
//! 3. a Bulk API 2.0 query job over the same rows, its CSV streamed to a counter (MB/s, and how
//!    much the process's peak memory grows while streaming);
//! 4. fairness: small interactive requests timed while a paged query and a Bulk download run.
//!
//! Run with `cargo bench -p forcebridge-emulator --bench org` (release build). Set
//! `ORG_BENCH_ROWS` to use fewer rows for a quick run.

// Printing the report is this program's whole job.
#![allow(clippy::print_stdout)]

use std::time::{Duration, Instant};

use forcebridge_emulator::{Config, Emulator, SeedConfig};

fn main() {
    let rows: usize = std::env::var("ORG_BENCH_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    println!("forcebridge-emulator end-to-end benchmark ({rows} rows, 2 worker threads)\n");
    runtime.block_on(seeded_org_memory(rows));
    runtime.block_on(http_measurements(rows));
}

/// `(VmRSS, VmHWM)` of this process in MB.
fn memory_mb() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<f64>().ok())
            .map_or(0.0, |kb| kb / 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

async fn seeded_org_memory(rows: usize) {
    let (before, _) = memory_mb();
    let mut config = Config::builtin();
    config.seed = Some(SeedConfig {
        seed: "bench".to_string(),
        records: rows as u64,
    });
    let started = Instant::now();
    let org = Emulator::start(config, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let took = started.elapsed();
    let (after, peak) = memory_mb();
    let records: usize = org
        .control()
        .record_counts()
        .iter()
        .map(|(_, count)| count)
        .sum();
    println!(
        "generated org: {records} records in {:.1} s",
        took.as_secs_f64()
    );
    println!(
        "  resident memory {:.0} MB (process peak {:.0} MB, {:.0} MB before)\n",
        after - before,
        peak,
        before
    );
    org.shutdown().await;
}

const SOQL: &str = "SELECT Id, Name, Industry, Type, BillingCity, BillingState, Phone, Website, \
AnnualRevenue, NumberOfEmployees, CreatedDate, LastModifiedDate, Owner.Name FROM Account";

async fn http_measurements(rows: usize) {
    let emulator = Emulator::start(Config::builtin(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let started = Instant::now();
    emulator.control().insert_plain_accounts(rows);
    println!(
        "loaded {rows} Account rows in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let token = emulator.access_token();
    let base = emulator.url().to_string();

    let plain = reqwest::Client::builder().no_gzip().build().unwrap();
    let gzip = reqwest::Client::builder().gzip(true).build().unwrap();
    let (bytes, pages, took) = page_through(&plain, &base, &token).await;
    println!(
        "paged REST query, identity encoding: {pages} pages, {:.0} MB of JSON in {:.2} s = {:.0} MB/s",
        bytes as f64 / 1e6,
        took.as_secs_f64(),
        bytes as f64 / 1e6 / took.as_secs_f64()
    );
    let (bytes, pages, took) = page_through(&gzip, &base, &token).await;
    println!(
        "paged REST query, gzip: {pages} pages, {:.0} MB of JSON (decompressed) in {:.2} s = {:.0} MB/s",
        bytes as f64 / 1e6,
        took.as_secs_f64(),
        bytes as f64 / 1e6 / took.as_secs_f64()
    );

    let (rss_before, peak_before) = memory_mb();
    let (bytes, took) = bulk_download(&plain, &base, &token).await;
    let (rss_after, peak_after) = memory_mb();
    println!(
        "Bulk 2.0 query job: {:.0} MB of CSV streamed in {:.2} s = {:.0} MB/s",
        bytes as f64 / 1e6,
        took.as_secs_f64(),
        bytes as f64 / 1e6 / took.as_secs_f64()
    );
    println!(
        "  process memory: resident {rss_before:.0} -> {rss_after:.0} MB, peak {peak_before:.0} -> {peak_after:.0} MB (the CSV itself was {:.0} MB)\n",
        bytes as f64 / 1e6
    );

    fairness(&plain, &base, &token, rows).await;
    emulator.shutdown().await;
}

/// Follows a query's locators to the end; returns (JSON bytes, pages, time).
async fn page_through(
    client: &reqwest::Client,
    base: &str,
    token: &str,
) -> (usize, usize, Duration) {
    let started = Instant::now();
    let mut url = format!(
        "{base}/services/data/v60.0/query?q={}",
        SOQL.replace(' ', "+")
    );
    let (mut bytes, mut pages) = (0, 0);
    loop {
        let body = client
            .get(&url)
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        bytes += body.len();
        pages += 1;
        // Only the locator is read from the page; the rest is counted, not parsed.
        let tail = &body[body.len().saturating_sub(200)..];
        let head = &body[..body.len().min(300)];
        let find = |hay: &[u8]| {
            let text = String::from_utf8_lossy(hay);
            text.split("\"nextRecordsUrl\":\"")
                .nth(1)
                .map(|s| s.split('"').next().unwrap_or("").to_string())
        };
        match find(head).or_else(|| find(tail)) {
            Some(next) if !next.is_empty() => url = format!("{base}{next}"),
            _ => break,
        }
    }
    (bytes, pages, started.elapsed())
}

/// Runs a Bulk query job and streams its one result page into a byte counter.
async fn bulk_download(client: &reqwest::Client, base: &str, token: &str) -> (usize, Duration) {
    let started = Instant::now();
    let job: serde_json::Value = client
        .post(format!("{base}/services/data/v60.0/jobs/query"))
        .bearer_auth(token)
        .json(&serde_json::json!({"operation": "query", "query": SOQL.replace(", Owner.Name", "")}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = job["id"].as_str().unwrap().to_string();
    loop {
        let info: serde_json::Value = client
            .get(format!("{base}/services/data/v60.0/jobs/query/{id}"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if info["state"] == "JobComplete" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut response = client
        .get(format!(
            "{base}/services/data/v60.0/jobs/query/{id}/results"
        ))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let mut bytes = 0;
    while let Some(chunk) = response.chunk().await.unwrap() {
        bytes += chunk.len();
    }
    (bytes, started.elapsed())
}

/// Times small interactive requests alone, then while a full paged query and a Bulk download run.
async fn fairness(client: &reqwest::Client, base: &str, token: &str, rows: usize) {
    // An account in the table whatever its size (record 12,345 of the full million).
    let id = account_id((rows as u64 / 2).clamp(1, 12_345));
    let alone = probe(client, base, token, &id).await;
    let load = {
        let (client, base, token) = (client.clone(), base.to_string(), token.to_string());
        tokio::spawn(async move {
            let paging = page_through(&client, &base, &token);
            let bulk = bulk_download(&client, &base, &token);
            tokio::join!(paging, bulk)
        })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    let loaded = probe(client, base, token, &id).await;
    let _ = load.await;
    let show = |l: &[Duration]| {
        format!(
            "p50 {:.1} ms, p95 {:.1} ms, max {:.1} ms",
            l[l.len() / 2].as_secs_f64() * 1e3,
            l[l.len() * 95 / 100].as_secs_f64() * 1e3,
            l[l.len() - 1].as_secs_f64() * 1e3
        )
    };
    println!(
        "interactive requests (get by id, query by id), alone: {}",
        show(&alone)
    );
    println!(
        "  while a full paged query and a Bulk download run:   {}",
        show(&loaded)
    );
}

/// Sixty small requests 25 ms apart (get by id and query by id, alternating); their latencies,
/// sorted.
async fn probe(client: &reqwest::Client, base: &str, token: &str, id: &str) -> Vec<Duration> {
    let mut latencies = Vec::new();
    for i in 0..60 {
        let started = Instant::now();
        let url = if i % 2 == 0 {
            format!("{base}/services/data/v60.0/sobjects/Account/{id}")
        } else {
            format!(
                "{base}/services/data/v60.0/query?q=SELECT+Id,Name+FROM+Account+WHERE+Id='{id}'"
            )
        };
        let status = client
            .get(url)
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .status();
        assert!(status.is_success(), "{status}");
        latencies.push(started.elapsed());
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    latencies.sort();
    latencies
}

/// The id of the Account with record number `number` (ids are `001` + `RO0` + nine base-62
/// digits of the record number, then the checksum).
fn account_id(number: u64) -> String {
    const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut digits = [b'0'; 9];
    let mut n = number;
    for digit in digits.iter_mut().rev() {
        *digit = BASE62[(n % 62) as usize];
        n /= 62;
    }
    let id15 = format!("001RO0{}", String::from_utf8_lossy(&digits));
    forcebridge_wire::id::to_18(&id15).unwrap()
}
