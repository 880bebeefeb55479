//! How long a catalog of the seeded local org with 50 custom objects takes, and how many API
//! calls it uses, against `ceil(N / 25) + 3`: a fresh extraction and a refresh (every describe
//! revalidated with `If-Modified-Since`). Run with `cargo bench -p forcebridge-catalog --bench
//! extract`; it also writes the org's ER diagram to `target/catalog-bench.svg`.

#![allow(clippy::print_stdout)]

use std::time::{Duration, Instant};

use forcebridge_catalog::{Catalog, Crawl, Selection};
use forcebridge_client::{Client, LoginUrl, PasswordCredentials};
use forcebridge_emulator::SeedConfig;
use forcebridge_emulator::{Config, Emulator};

#[path = "../tests/it/org_files.rs"]
mod org_files;

const RUNS: usize = 7;

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut config = Config::from_toml(&org_files::many_objects(50)).unwrap();
        config.seed = Some(SeedConfig {
            seed: "demo".into(),
            records: 10_000,
        });
        let emulator = Emulator::start(config, "127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        let login = emulator.login();
        let client = Client::builder(PasswordCredentials {
            login_url: LoginUrl::custom(&login.url).unwrap(),
            client_id: login.client_id,
            client_secret: login.client_secret.into(),
            username: login.username,
            password: login.password.into(),
            security_token: login.security_token.into(),
        })
        .build()
        .unwrap();
        client.session().await.unwrap();

        let mut fresh = Vec::new();
        let mut last = None;
        for _ in 0..RUNS {
            let started = Instant::now();
            let extract = Catalog::extract(&client, &Selection::all(), |_| {})
                .await
                .unwrap();
            fresh.push(started.elapsed());
            last = Some(extract);
        }
        let extract = last.unwrap();
        let mut refreshed = Vec::new();
        let mut refresh_calls = 0;
        for _ in 0..RUNS {
            let started = Instant::now();
            let refresh = Catalog::refresh(&client, &Selection::all(), &extract.catalog, |_| {})
                .await
                .unwrap();
            refreshed.push(started.elapsed());
            assert_eq!(
                refresh.report.objects_revalidated,
                extract.catalog.objects.len()
            );
            refresh_calls = refresh.report.api_calls;
        }
        let n = extract.catalog.objects.len();
        let fields: usize = extract.catalog.objects.iter().map(|o| o.fields.len()).sum();
        let custom = extract.catalog.objects.iter().filter(|o| o.custom).count();
        println!(
            "{n} objects ({custom} custom), {fields} fields, {} relationships",
            extract.catalog.relationships().len()
        );
        println!(
            "fresh extraction: {} API calls (bound ceil({n}/25) + 3 = {}); {}",
            extract.report.api_calls,
            n.div_ceil(25) + 3,
            stats(&mut fresh)
        );
        println!(
            "refresh (all revalidated): {refresh_calls} API calls; {}",
            stats(&mut refreshed)
        );
        let started = Instant::now();
        let svg = extract.catalog.to_svg(&Crawl::whole()).unwrap();
        println!(
            "SVG of the whole org: {} bytes in {:?}",
            svg.len(),
            started.elapsed()
        );
        let target =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/catalog-bench.svg");
        std::fs::write(target, svg).unwrap();
        emulator.shutdown().await;
    });
}

fn stats(times: &mut [Duration]) -> String {
    times.sort();
    format!(
        "median {:.1} ms, min {:.1} ms, max {:.1} ms over {} runs",
        times[times.len() / 2].as_secs_f64() * 1000.0,
        times[0].as_secs_f64() * 1000.0,
        times[times.len() - 1].as_secs_f64() * 1000.0,
        times.len()
    )
}
