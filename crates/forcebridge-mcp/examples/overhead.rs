//! Measures what the MCP layer adds to a query: the time from sending a `tools/call` of
//! `query` to the first byte of its answer, against the raw client's time to its first page
//! of the same statement. Run with `cargo run --release -p forcebridge-mcp --example overhead`.
//! It prints a Markdown table (the crate README keeps the numbers).

#![allow(clippy::print_stdout)]

use std::time::{Duration, Instant};

use forcebridge_client::{Client, LoginUrl, PasswordCredentials};
use forcebridge_emulator::Emulator;
use forcebridge_mcp::{Config, Limits, Policy, Server};
use futures_util::TryStreamExt;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

const RUNS: usize = 40;

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let org = Emulator::start_demo(0).await.unwrap();
    org.control().insert_plain_accounts(2000);
    let login = org.login();
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

    println!(
        "| statement | raw client, first page | MCP `query`, first byte | MCP `query`, whole answer | answer |"
    );
    println!("|---|---|---|---|---|");
    for (soql, max_rows) in [
        ("SELECT Id, Name FROM Account LIMIT 10", 10),
        (
            "SELECT Id, Name, Industry, BillingCity, Phone, Website, AnnualRevenue FROM Account",
            50,
        ),
        (
            "SELECT Id, Name, Industry, BillingCity, Phone, Website, AnnualRevenue FROM Account",
            2000,
        ),
    ] {
        let mut raw = Vec::new();
        for _ in 0..RUNS {
            let started = Instant::now();
            let mut pages = client.query(soql).pages();
            pages.try_next().await.unwrap().unwrap();
            raw.push(started.elapsed());
        }

        let config = Config {
            read_only: true,
            policy: Policy::open(),
            limits: Limits {
                max_rows: 2000,
                ..Limits::recommended()
            },
            audit: None,
            confirm_ttl: Duration::from_secs(60),
        };
        let server = Server::new(client.clone(), config);
        let (ours, theirs) = tokio::io::duplex(1 << 20);
        let (their_read, their_write) = tokio::io::split(theirs);
        tokio::spawn(async move { server.serve_io(their_read, their_write).await });
        let (read, mut write) = tokio::io::split(ours);
        let mut reader = BufReader::new(read);
        let mut line = String::new();
        write
            .write_all(b"{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":{\"protocolVersion\":\"2025-11-25\",\"capabilities\":{},\"clientInfo\":{\"name\":\"bench\",\"version\":\"0\"}}}\n{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}\n")
            .await
            .unwrap();
        reader.read_line(&mut line).await.unwrap();
        let mut first = Vec::new();
        let mut whole = Vec::new();
        let mut bytes = 0;
        for id in 1..=RUNS {
            let request = serde_json::json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
                "params": {"name": "query", "arguments": {"soql": soql, "maxRows": max_rows}}});
            let started = Instant::now();
            write
                .write_all(format!("{request}\n").as_bytes())
                .await
                .unwrap();
            reader.fill_buf().await.unwrap();
            first.push(started.elapsed());
            line.clear();
            reader.read_line(&mut line).await.unwrap();
            whole.push(started.elapsed());
            bytes = line.len();
        }
        println!(
            "| `{soql}`, {max_rows} rows | {} | {} | {} | {bytes} bytes |",
            ms(median(raw)),
            ms(median(first)),
            ms(median(whole)),
        );
    }
}
