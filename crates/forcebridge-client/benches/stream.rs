//! How fast the client streams query results, and how much memory it needs, for the crate
//! README.
//!
//! The local org runs in a child process (this program started again with `--serve`), so the
//! memory measured here is the client's alone. For each size (200,000 and 1,000,000 Account
//! rows by default) it measures:
//!
//! 1. raw pages: the same `query` / `nextRecordsUrl` requests made with plain reqwest, bodies
//!    read and dropped without parsing: the rate the org and the network allow;
//! 2. the typed stream (`query_as::<Account>().stream()`);
//! 3. the dynamic stream (`query().stream()`, `Record`s);
//! 4. a Bulk API 2.0 query of the same SOQL, its CSV pages (50,000 rows each) written to a sink
//!    (`bulk().query(..).write_to(..)`, job creation and polling included);
//!
//! and the process's peak resident memory during the typed and the dynamic stream (the peak is
//! reset before each, so a step's figure is its own).
//!
//! After a pass that warms the org up, steps 1 to 3 run in turns, five rounds by default, and
//! each figure is the median of its rounds: the machine's slow spells then fall on all three
//! alike, and the ratios compare like with like.
//!
//! Run with `cargo bench -p forcebridge-client --bench stream`. `STREAM_BENCH_ROWS=200000,1000000`
//! chooses the sizes, `STREAM_BENCH_ROUNDS=5` the rounds.
//!
//! On a machine with two or more CPUs and `taskset`, the org is pinned to CPU 0 and the client
//! to CPU 1, as if the org were another machine: otherwise the org and the client take CPU
//! from each other and the numbers say more about the scheduler than about the client.
//! `STREAM_BENCH_PIN=0` turns this off.

// Printing the report is this program's whole job.
#![allow(clippy::print_stdout)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use forcebridge_client::{AccessTokenCredentials, Client, Record};
use futures_util::TryStreamExt;
use serde::Deserialize;

const SOQL: &str = "SELECT Id, Name, Industry, Type, BillingCity, BillingState, Phone, Website, \
AnnualRevenue, NumberOfEmployees, CreatedDate, LastModifiedDate, Owner.Name FROM Account";

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
#[allow(dead_code)]
struct Account {
    id: String,
    name: String,
    industry: Option<String>,
    r#type: Option<String>,
    billing_city: Option<String>,
    billing_state: Option<String>,
    phone: Option<String>,
    website: Option<String>,
    annual_revenue: Option<f64>,
    number_of_employees: Option<i64>,
    created_date: String,
    last_modified_date: String,
    owner: Option<Owner>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
#[allow(dead_code)]
struct Owner {
    name: String,
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--serve") {
        serve(args[2].parse().expect("row count"));
        return;
    }
    let pinned = pin_to_cpus();
    if pinned == Pinning::ReExecuted {
        return;
    }
    let sizes: Vec<usize> = std::env::var("STREAM_BENCH_ROWS")
        .unwrap_or_else(|_| "200000,1000000".to_string())
        .split(',')
        .filter_map(|n| n.trim().parse().ok())
        .collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    println!(
        "forcebridge-client query stream benchmark (org in a child process{})\n",
        if pinned == Pinning::Pinned {
            ", org on CPU 0, client on CPU 1"
        } else {
            ", sharing the CPUs"
        }
    );
    println!(
        "| rows | raw pages | typed stream | dynamic stream | client CPU busy (typed / dynamic) | bulk query to a sink | memory before → peak during (typed / dynamic) |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|");
    for rows in sizes {
        let exe = std::env::current_exe().unwrap();
        let mut command = if pinned == Pinning::Pinned {
            let mut command = Command::new("taskset");
            command.args(["-c", "0"]).arg(&exe);
            command
        } else {
            Command::new(&exe)
        };
        let mut child = command
            .args(["--serve", &rows.to_string()])
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the org");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let (url, token) = line.trim().split_once(' ').expect("url and token");
        runtime.block_on(measure(rows, url, token));
        let _ = child.kill();
        let _ = child.wait();
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pinning {
    /// This process runs on CPU 1; the org goes on CPU 0.
    Pinned,
    /// This process started a pinned copy of itself, which did the work.
    ReExecuted,
    Shared,
}

/// Runs this program again under `taskset -c 1` (once), when pinning is possible and wanted.
fn pin_to_cpus() -> Pinning {
    if std::env::var("STREAM_BENCH_PINNED").is_ok() {
        return Pinning::Pinned;
    }
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let wanted = std::env::var("STREAM_BENCH_PIN").map_or(true, |v| v != "0");
    let taskset = Command::new("taskset")
        .arg("-V")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if cpus < 2 || !wanted || !taskset {
        return Pinning::Shared;
    }
    let status = Command::new("taskset")
        .args(["-c", "1"])
        .arg(std::env::current_exe().unwrap())
        .args(std::env::args().skip(1))
        .env("STREAM_BENCH_PINNED", "1")
        .status()
        .expect("run the benchmark under taskset");
    assert!(status.success(), "the pinned benchmark failed: {status}");
    Pinning::ReExecuted
}

/// The child: an org with `rows` Accounts; prints `URL TOKEN` and serves until killed.
fn serve(rows: usize) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        // Named apart from the client's threads, for profilers.
        .thread_name("org")
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let emulator = forcebridge_emulator::Emulator::start(
            forcebridge_emulator::Config::builtin(),
            "127.0.0.1:0".parse().unwrap(),
        )
        .await
        .unwrap();
        emulator.control().insert_plain_accounts(rows);
        println!("{} {}", emulator.url(), emulator.access_token());
        std::future::pending::<()>().await;
    });
}

async fn measure(rows: usize, url: &str, token: &str) {
    let client = Client::builder(AccessTokenCredentials {
        instance_url: url.to_string(),
        access_token: token.into(),
    })
    .build()
    .unwrap();

    // A first pass warms the org (and the connection) up; it is not counted.
    let (raw_bytes, _) = raw_pages(url, token).await;

    // The three ways of reading are measured in turns, so that a slow spell of the machine
    // falls on all of them; each figure is the median of its rounds.
    let mut raw = Vec::new();
    let mut typed = Step::default();
    let mut dynamic = Step::default();
    for _ in 0..rounds() {
        raw.push(raw_pages(url, token).await.1);
        let count = client
            .query_as::<Account>(SOQL)
            .stream()
            .try_fold(0usize, |n, _| async move { Ok(n + 1) });
        typed.run(rows, async { count.await.unwrap() }).await;
        let count = client
            .query(SOQL)
            .stream()
            .try_fold(0usize, |n, record: Record| async move {
                Ok(n + usize::from(record.id().is_some()))
            });
        dynamic.run(rows, async { count.await.unwrap() }).await;
    }
    let (typed_busy, dynamic_busy) = (typed.busy(), dynamic.busy());
    let (typed_memory, dynamic_memory) = (typed.memory, dynamic.memory);
    let (raw_time, typed_time, dynamic_time) =
        (median(raw), median(typed.times), median(dynamic.times));

    let started = Instant::now();
    let bulk = client
        .bulk()
        .query(SOQL)
        .options(forcebridge_client::bulk::QueryOptions {
            max_records: Some(50_000),
            poll: forcebridge_client::bulk::PollOptions {
                initial_interval: Duration::from_millis(20),
                max_interval: Duration::from_millis(200),
                timeout: Duration::from_secs(600),
            },
            ..Default::default()
        })
        .write_to(&mut tokio::io::sink())
        .await
        .unwrap();
    let bulk_time = started.elapsed();
    assert_eq!(bulk.records, rows as u64);

    let rate = |time: Duration| rows as f64 / time.as_secs_f64();
    println!(
        "| {rows} | {:.0} rows/s ({:.0} MB/s) | {:.0} rows/s ({:.0}%) | {:.0} rows/s ({:.0}%) | {typed_busy:.0}% / {dynamic_busy:.0}% | {:.0} rows/s ({:.0} MB/s) | {:.0} → {:.0} MB / {:.0} → {:.0} MB |",
        rate(raw_time),
        raw_bytes as f64 / 1e6 / raw_time.as_secs_f64(),
        rate(typed_time),
        100.0 * raw_time.as_secs_f64() / typed_time.as_secs_f64(),
        rate(dynamic_time),
        100.0 * raw_time.as_secs_f64() / dynamic_time.as_secs_f64(),
        rate(bulk_time),
        bulk.bytes as f64 / 1e6 / bulk_time.as_secs_f64(),
        typed_memory.0,
        typed_memory.1,
        dynamic_memory.0,
        dynamic_memory.1,
    );
}

/// One way of reading, over the rounds: how long each took, the client's CPU time, and the
/// memory of the first round (resident set at the start, peak during).
#[derive(Default)]
struct Step {
    times: Vec<Duration>,
    cpu: f64,
    memory: (f64, f64),
}

impl Step {
    /// Runs one round: `read` is a stream that has not been polled yet, counting its records.
    async fn run(&mut self, rows: usize, read: impl std::future::Future<Output = usize>) {
        let base = reset_peak_memory();
        let cpu = cpu_seconds();
        let started = Instant::now();
        let count = read.await;
        self.times.push(started.elapsed());
        self.cpu += cpu_seconds() - cpu;
        assert_eq!(count, rows);
        if self.times.len() == 1 {
            self.memory = (base, peak_memory_mb());
        }
    }

    /// The share of the time the client's CPU was busy: near 100% means the client's own work
    /// is the limit, lower means it waits for the org.
    fn busy(&self) -> f64 {
        100.0 * self.cpu / self.times.iter().map(Duration::as_secs_f64).sum::<f64>()
    }
}

/// How many rounds of raw, typed and dynamic reads each size gets (`STREAM_BENCH_ROUNDS`).
fn rounds() -> usize {
    std::env::var("STREAM_BENCH_ROUNDS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(5)
        .max(1)
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

/// Follows the query's pages with plain reqwest, reading each body without parsing it (but
/// for the few bytes at its start that hold `nextRecordsUrl`).
async fn raw_pages(url: &str, token: &str) -> (usize, Duration) {
    let http = reqwest::Client::new();
    let started = Instant::now();
    let mut next = format!("/services/data/v60.0/query?q={}", SOQL.replace(' ', "+"));
    let mut bytes = 0;
    loop {
        let body = http
            .get(format!("{url}{next}"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        bytes += body.len();
        let head = String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned();
        match head.split("\"nextRecordsUrl\":\"").nth(1) {
            Some(rest) => next = rest.split('"').next().unwrap().to_string(),
            None => break,
        }
    }
    (bytes, started.elapsed())
}

/// This process's peak resident memory (VmHWM) in MB.
/// Starts a new peak: Linux resets VmHWM to the current resident set when 5 is written to
/// `clear_refs`, so each step's peak is its own. Returns that starting resident set, in MB.
fn reset_peak_memory() -> f64 {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    status_mb("VmRSS:")
}

fn peak_memory_mb() -> f64 {
    status_mb("VmHWM:")
}

/// A memory figure of `/proc/self/status`, in MB.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let ticks: f64 = fields.get(11).and_then(|t| t.parse().ok()).unwrap_or(0.0)
        + fields
            .get(12)
            .and_then(|t| t.parse::<f64>().ok())
            .unwrap_or(0.0);
    ticks / 100.0
}

fn status_mb(field: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}
