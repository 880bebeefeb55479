//! Paged-query throughput over HTTP: how fast the org serves 2,000-record pages of a typical
//! Account query (15 columns, one through the Owner relationship) out of a large table, as JSON
//! (REST query locators) and as CSV (Bulk API 2.0 results pages), and how long a filtered,
//! sorted query over the whole table takes to answer its first page.
//!
//! The table is loaded with [`Control::insert_plain_accounts`], with `FORCEBRIDGE_BENCH_ROWS`
//! records (default 1,000,000). Everything goes through the org's public API, as a client on
//! the same machine sees it: routing, the session check, rendering on the blocking pool, and the
//! socket. Run with `cargo bench -p forcebridge-emulator --bench query`.

use std::sync::OnceLock;

use divan::counter::{BytesCount, ItemsCount};
use divan::{Bencher, black_box};
use forcebridge_emulator::{Config, Control, Emulator};

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

/// One org with the table, shared by every bench, with its own runtime.
struct Org {
    runtime: tokio::runtime::Runtime,
    emulator: Emulator,
    token: String,
    plain: reqwest::Client,
    gzip: reqwest::Client,
}

fn org() -> &'static Org {
    static ORG: OnceLock<Org> = OnceLock::new();
    ORG.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        let emulator = runtime.block_on(async {
            Emulator::start(
                Config::builtin(),
                "127.0.0.1:0".parse().expect("an address"),
            )
            .await
            .expect("the org starts")
        });
        let control: Control = emulator.control();
        control.insert_plain_accounts(row_count());
        let token = emulator.access_token();
        Org {
            runtime,
            emulator,
            token,
            plain: reqwest::Client::builder()
                .no_gzip()
                .build()
                .expect("a client"),
            gzip: reqwest::Client::new(),
        }
    })
}

impl Org {
    fn data(&self, path: &str) -> String {
        format!("{}/services/data/v60.0{path}", self.emulator.url())
    }

    /// Sends a GET and returns the body's length once read to the end.
    async fn fetch(&self, client: &reqwest::Client, url: &str) -> usize {
        client
            .get(url)
            .bearer_auth(&self.token)
            .send()
            .await
            .expect("the request answers")
            .bytes()
            .await
            .expect("the body")
            .len()
    }

    /// Opens the query and returns the locator of its pages (`/services/data/v60.0/query/01g...`).
    async fn locator(&self) -> String {
        let first: serde_json::Value = self
            .plain
            .get(self.data("/query"))
            .query(&[("q", SELECT)])
            .bearer_auth(&self.token)
            .send()
            .await
            .expect("the query answers")
            .json()
            .await
            .expect("a JSON page");
        let next = first["nextRecordsUrl"].as_str().expect("more pages");
        next.rsplit_once('-')
            .map(|(locator, _)| locator.to_string())
            .expect("a locator")
    }
}

/// One 2,000-record JSON page from the middle of the result, without compression.
#[divan::bench(sample_count = 20)]
fn serve_json_page(bencher: Bencher<'_, '_>) {
    let org = org();
    let locator = org.runtime.block_on(org.locator());
    let url = format!(
        "{}{locator}-{}",
        org.emulator.url(),
        row_count() / 2 / PAGE * PAGE
    );
    let bytes = org.runtime.block_on(org.fetch(&org.plain, &url));
    bencher
        .counter(BytesCount::new(bytes))
        .bench_local(|| black_box(org.runtime.block_on(org.fetch(&org.plain, &url))));
}

/// One 2,000-row Bulk API 2.0 CSV results page from the middle of a query job's results.
#[divan::bench(sample_count = 20)]
fn serve_bulk_csv_page(bencher: Bencher<'_, '_>) {
    let org = org();
    let url = org.runtime.block_on(async {
        let job: serde_json::Value = org
            .plain
            .post(org.data("/jobs/query"))
            .bearer_auth(&org.token)
            .json(&serde_json::json!({"operation": "query", "query": SELECT.replace(", Owner.Name", "")}))
            .send()
            .await
            .expect("the job is created")
            .json()
            .await
            .expect("job info");
        let id = job["id"].as_str().expect("a job id").to_string();
        org.emulator.control().bulk_jobs_settled().await;
        // Bulk locators are the offset in base 64.
        use base64::Engine;
        let offset = row_count() / 2 / PAGE * PAGE;
        let locator = base64::engine::general_purpose::STANDARD_NO_PAD.encode(offset.to_string());
        org.data(&format!(
            "/jobs/query/{id}/results?maxRecords={PAGE}&locator={locator}"
        ))
    });
    let bytes = org.runtime.block_on(org.fetch(&org.plain, &url));
    bencher
        .counter(BytesCount::new(bytes))
        .bench_local(|| black_box(org.runtime.block_on(org.fetch(&org.plain, &url))));
}

/// Filtering and sorting the whole table: the work done once, when a query is opened, up to
/// its first page.
#[divan::bench(sample_count = 5)]
fn open_a_filtered_sorted_query(bencher: Bencher<'_, '_>) {
    let org = org();
    let url = reqwest::Url::parse_with_params(
        &org.data("/query"),
        [(
            "q",
            "SELECT Id, Name FROM Account WHERE Industry = 'Media' AND NumberOfEmployees > 100 ORDER BY AnnualRevenue DESC, Name",
        )],
    )
    .expect("a URL");
    bencher
        .counter(ItemsCount::new(row_count()))
        .bench_local(|| black_box(org.runtime.block_on(org.fetch(&org.plain, url.as_str()))));
}

/// A client on the same machine follows locators through 50 pages (100,000 records) of the
/// query above, reading every byte. `gzip` says whether it asks for compressed responses
/// (simple-salesforce and jsforce do); the counter is the JSON the client ends up with.
#[divan::bench(args = [false, true], sample_count = 10)]
fn serve_pages_over_http(bencher: Bencher<'_, '_>, gzip: bool) {
    const PAGES: usize = 50;
    let org = org();
    let client = if gzip { &org.gzip } else { &org.plain };
    let locator = org.runtime.block_on(org.locator());
    let pages = || async {
        let mut total = 0;
        for page in 1..=PAGES {
            let url = format!("{}{locator}-{}", org.emulator.url(), page * PAGE);
            total += org.fetch(client, &url).await;
        }
        total
    };
    let bytes = org.runtime.block_on(pages());
    bencher
        .counter(BytesCount::new(bytes))
        .bench_local(|| black_box(org.runtime.block_on(pages())));
}
