//! Fetches every page of a query with plain reqwest and drops it unread: the rate the org and
//! the network allow, which `scripts/bench-query` compares the query command and its peers
//! with. Nothing of the client is used: one connection, gzip on (as for the client), each
//! page requested once the one before it is in (its `nextRecordsUrl` is read from its first
//! bytes). The client's streams ask for the next page earlier, as soon as a page's first bytes
//! name it, so they can beat this rate.
//!
//! `cargo run --release -p forcebridge-client --example raw_pages -- URL TOKEN CA_PEM SOQL`
//! prints the query's `totalSize` and the bytes received (after gzip).

// Printing the result is this program's whole job.
#![allow(clippy::print_stdout, clippy::print_stderr)]

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [url, token, ca, soql] = args.as_slice() else {
        eprintln!("usage: raw_pages URL TOKEN CA_PEM SOQL");
        std::process::exit(2);
    };
    // The runtime the CLI has: one worker for the connection while this thread waits for
    // bodies. (On a current-thread runtime the connection is served only between this
    // thread's own steps, and pages came 10 to 40% slower.)
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let ca = reqwest::Certificate::from_pem(&std::fs::read(ca).unwrap()).unwrap();
    let http = reqwest::Client::builder()
        .add_root_certificate(ca)
        .build()
        .unwrap();
    let (total, bytes) = runtime.block_on(async {
        let mut request = http
            .get(format!("{url}/services/data/v60.0/query"))
            .query(&[("q", soql)]);
        let mut total = None;
        let mut bytes = 0;
        loop {
            let body = request
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .error_for_status()
                .unwrap()
                .bytes()
                .await
                .unwrap();
            bytes += body.len();
            let head = String::from_utf8_lossy(&body[..body.len().min(400)]).into_owned();
            if total.is_none() {
                total = head
                    .split("\"totalSize\":")
                    .nth(1)
                    .and_then(|rest| rest.split([',', '}']).next())
                    .and_then(|n| n.parse::<u64>().ok());
            }
            match head.split("\"nextRecordsUrl\":\"").nth(1) {
                Some(rest) => {
                    let next = rest.split('"').next().unwrap();
                    request = http.get(format!("{url}{next}"));
                }
                None => break,
            }
        }
        (total.unwrap_or(0), bytes)
    });
    println!("{total} {bytes}");
}
