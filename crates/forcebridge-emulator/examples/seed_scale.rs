//! Measures generating a large org: how long it takes and how many records of each object it
//! makes. Run it under `/usr/bin/time -v` to see the memory it needs:
//!
//! ```sh
//! cargo build --release -p forcebridge-emulator --example seed_scale
//! /usr/bin/time -v target/release/examples/seed_scale 1000000
//! ```
//!
//! With a third argument, a data directory, it also writes the org's first snapshot there and
//! then loads the org back from it, timing both.
#![allow(clippy::print_stdout)]

use std::time::Instant;

use forcebridge_emulator::{Config, Emulator, SeedConfig};

/// Starts an org from `config` on a free loopback port.
async fn start(config: Config) -> Result<Emulator, forcebridge_emulator::Error> {
    Emulator::start(config, "127.0.0.1:0".parse().expect("an address")).await
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let records: u64 = match std::env::args().nth(1) {
        Some(text) => text.parse()?,
        None => 1_000_000,
    };
    let seed = std::env::args()
        .nth(2)
        .unwrap_or_else(|| "demo".to_string());
    let data_dir = std::env::args().nth(3).map(std::path::PathBuf::from);
    let mut config = Config::builtin();
    config.seed = Some(SeedConfig { seed, records });
    config.data_dir = data_dir.clone();
    let started = Instant::now();
    let emulator = start(config).await?;
    let elapsed = started.elapsed();
    let mut total = 0;
    for (object, count) in emulator.control().record_counts() {
        total += count;
        println!("{object:<22} {count:>9}");
    }
    println!("{:<22} {total:>9}", "total");
    println!("generated in {:.2} s", elapsed.as_secs_f64());
    emulator.shutdown().await;
    if let Some(dir) = data_dir {
        let size = std::fs::metadata(dir.join("org.snapshot"))?.len();
        println!("snapshot: {:.1} MB", size as f64 / 1e6);
        let mut again = Config::builtin();
        again.data_dir = Some(dir);
        let started = Instant::now();
        let emulator = start(again).await?;
        let loaded: usize = emulator
            .control()
            .record_counts()
            .iter()
            .map(|(_, count)| count)
            .sum();
        println!(
            "loaded {loaded} records from the data directory in {:.2} s",
            started.elapsed().as_secs_f64()
        );
        emulator.shutdown().await;
    }
    Ok(())
}
