//! Paged-query throughput: how fast the org renders 2000-record pages of a typical Account
//! query (15 columns, one through the Owner relationship) out of a large table, as JSON and as
//! Bulk CSV, and how fast it runs a filtered, sorted query over the whole table.
//!
//! The table is generated directly through the store (one transaction of `txn.insert`), with
//! `FORCEBRIDGE_BENCH_ROWS` records (default 1,000,000). Run with
//! `cargo bench -p forcebridge-emulator --bench query`; numbers are recorded in the report of
//! the change that added this bench.

use std::sync::{Arc, OnceLock};

use divan::counter::{BytesCount, ItemsCount};
use divan::{Bencher, black_box};
use forcebridge_emulator::Config;
use forcebridge_emulator::org::Org;
use forcebridge_emulator::soql::{self, QueryRun};
use forcebridge_emulator::store::StoreError;
use forcebridge_emulator::value::Value;
use forcebridge_emulator::versions::ApiVersion;

fn main() {
    divan::main();
}

/// A typical integration's SELECT: 15 columns, one of them through a parent relationship.
const SELECT: &str = "SELECT Id, Name, Type, Industry, Phone, Website, AnnualRevenue, NumberOfEmployees, \
     BillingCity, BillingState, BillingCountry, Rating, CreatedDate, SystemModstamp, Owner.Name FROM Account";

/// Rows per page, as Salesforce serves them by default.
const PAGE: usize = 2000;

fn row_count() -> usize {
    std::env::var("FORCEBRIDGE_BENCH_ROWS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_000_000)
}

fn org() -> &'static Arc<Org> {
    static ORG: OnceLock<Arc<Org>> = OnceLock::new();
    ORG.get_or_init(|| build(row_count()))
}

fn build(n: usize) -> Arc<Org> {
    let org = Org::new(Config::builtin(), false).expect("the built-in org starts");
    let schema = org.schema().clone();
    let (account, def) = schema.find("Account").expect("Account exists");
    let column = |name: &str| {
        def.field(name)
            .and_then(|(_, f)| f.column())
            .expect("a stored field")
    };
    const INDUSTRIES: &[&str] = &["Media", "Banking", "Energy", "Retail", "Technology"];
    const CITIES: &[(&str, &str, &str)] = &[
        ("San Francisco", "CA", "USA"),
        ("Paris", "Île-de-France", "France"),
        ("Berlin", "Berlin", "Germany"),
        ("Tokyo", "Tokyo", "Japan"),
    ];
    const TYPES: &[&str] = &["Prospect", "Customer - Direct", "Customer - Channel"];
    const RATINGS: &[&str] = &["Hot", "Warm", "Cold"];
    let owner = org.admin();
    org.store
        .write(owner, |txn| {
            for i in 0..n {
                let mut values = vec![Value::Null; def.columns];
                let (city, state, country) = CITIES[i % CITIES.len()];
                values[column("Name")] = Value::text(format!("Account {i:07} \"Ltd\""));
                values[column("Type")] = Value::text(TYPES[i % TYPES.len()]);
                values[column("Industry")] = Value::text(INDUSTRIES[i % INDUSTRIES.len()]);
                values[column("Phone")] = Value::text(format!("(415) 555-{:04}", i % 10_000));
                values[column("Website")] = Value::text(format!("https://example{i}.com"));
                values[column("AnnualRevenue")] = Value::Double((i % 1000) as f64 * 12_500.0);
                values[column("NumberOfEmployees")] = Value::Int((i % 5000) as i64);
                values[column("BillingCity")] = Value::text(city);
                values[column("BillingState")] = Value::text(state);
                values[column("BillingCountry")] = Value::text(country);
                if i % 4 != 0 {
                    values[column("Rating")] = Value::text(RATINGS[i % RATINGS.len()]);
                }
                values[column("OwnerId")] = Value::Ref(owner);
                txn.insert(account, values)?;
            }
            Ok::<_, StoreError>(())
        })
        .expect("the table is generated");
    org
}

/// The whole-table query, run once.
fn full_run() -> &'static QueryRun {
    static RUN: OnceLock<QueryRun> = OnceLock::new();
    RUN.get_or_init(|| {
        let org = org();
        soql::run(org, org.store.snapshot(), org.admin(), SELECT, false).expect("the query runs")
    })
}

/// A page from the middle of the result.
fn middle_page() -> std::ops::Range<usize> {
    let start = (full_run().total_size() / 2).saturating_sub(PAGE / 2);
    start..start + PAGE
}

#[divan::bench]
fn render_json_page(bencher: Bencher<'_, '_>) {
    let run = full_run();
    let range = middle_page();
    let mut out = Vec::with_capacity(2 << 20);
    run.write_json_records(&mut out, range.clone(), ApiVersion(60));
    let bytes = out.len();
    bencher.counter(BytesCount::new(bytes)).bench_local(|| {
        out.clear();
        run.write_json_records(&mut out, range.clone(), ApiVersion(60));
        black_box(out.len())
    });
}

#[divan::bench]
fn render_csv_page(bencher: Bencher<'_, '_>) {
    let run = full_run();
    let range = middle_page();
    let mut out = Vec::with_capacity(2 << 20);
    run.write_csv_rows(&mut out, range.clone(), b',', "\n");
    let bytes = out.len();
    bencher.counter(BytesCount::new(bytes)).bench_local(|| {
        out.clear();
        run.write_csv_rows(&mut out, range.clone(), b',', "\n");
        black_box(out.len())
    });
}

/// Filtering and sorting the whole table: the work done once when a query is opened.
#[divan::bench(sample_count = 5)]
fn run_filtered_sorted_query(bencher: Bencher<'_, '_>) {
    let org = org();
    let rows = row_count();
    bencher.counter(ItemsCount::new(rows)).bench(|| {
        let run = soql::run(
            org,
            org.store.snapshot(),
            org.admin(),
            "SELECT Id, Name FROM Account WHERE Industry = 'Media' AND NumberOfEmployees > 100 ORDER BY AnnualRevenue DESC, Name",
            false,
        )
        .expect("the query runs");
        black_box(run.total_size())
    });
}

/// Pages served over HTTP: a client on the same machine follows locators through 50 pages
/// (100,000 records) of the query above, reading every byte. This is the end-to-end figure:
/// routing, the session check, page rendering on the blocking pool, and the socket. `gzip`
/// says whether the client asks for compressed responses (simple-salesforce and jsforce do);
/// the counter is the JSON the client ends up with.
#[divan::bench(args = [false, true], sample_count = 10)]
fn serve_pages_over_http(bencher: Bencher<'_, '_>, gzip: bool) {
    const PAGES: usize = 50;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let (emulator, client, token, locator) = runtime.block_on(async {
        let emulator = forcebridge_emulator::Emulator::start(
            Config::builtin(),
            "127.0.0.1:0".parse().expect("an address"),
        )
        .await
        .expect("the org starts");
        fill(emulator.org(), row_count());
        let token = emulator.access_token();
        let client = if gzip {
            reqwest::Client::new()
        } else {
            reqwest::Client::builder()
                .no_gzip()
                .build()
                .expect("a client")
        };
        let first: serde_json::Value = client
            .get(format!("{}/services/data/v60.0/query", emulator.url()))
            .query(&[("q", SELECT)])
            .bearer_auth(&token)
            .send()
            .await
            .expect("the query answers")
            .json()
            .await
            .expect("a JSON page");
        let next = first["nextRecordsUrl"]
            .as_str()
            .expect("more pages")
            .to_string();
        let locator = next
            .rsplit_once('-')
            .map(|(locator, _)| locator.to_string())
            .expect("a locator");
        (emulator, client, token, locator)
    });
    let fetch = |offset: usize| {
        let url = format!("{}{locator}-{offset}", emulator.url());
        let request = client.get(url).bearer_auth(&token);
        async move {
            request
                .send()
                .await
                .expect("the page answers")
                .bytes()
                .await
                .expect("the page body")
                .len()
        }
    };
    let bytes: usize = runtime.block_on(async {
        let mut total = 0;
        for page in 1..=PAGES {
            total += fetch(page * PAGE).await;
        }
        total
    });
    bencher.counter(BytesCount::new(bytes)).bench_local(|| {
        runtime.block_on(async {
            let mut total = 0;
            for page in 1..=PAGES {
                total += fetch(page * PAGE).await;
            }
            black_box(total)
        })
    });
}

/// Fills a started org's Account table like [`build`] does.
fn fill(org: &Arc<Org>, n: usize) {
    let generated = build(n);
    let (account, _) = org.schema().find("Account").expect("Account exists");
    let snapshot = generated.store.snapshot();
    org.store
        .write(org.admin(), |txn| {
            for (slot, row) in snapshot.table(account).rows() {
                txn.load(account, slot, Some(row.clone()));
            }
            Ok::<_, StoreError>(())
        })
        .expect("the table is copied");
}
