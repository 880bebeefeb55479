//! The org as a server others can reach: a connection that stalls before its request head is
//! complete is closed, one that completes it in time is answered however long the answer takes,
//! and an address beyond loopback is served only with credentials of the org's own.

use std::net::SocketAddr;
use std::time::Duration;

use forcebridge_emulator::{
    Config, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_PASSWORD, DEFAULT_USERNAME, Emulator,
    ErrorKind, FaultConfig,
};
use reqwest::StatusCode;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

use crate::support::TempDir;

const TIMEOUT: Duration = Duration::from_secs(10);

fn config() -> Config {
    let mut config = Config::builtin();
    config.header_read_timeout = TIMEOUT;
    config
}

/// Reads until the org closes the connection (a reset counts as closed); returns what it sent.
/// Fails if the connection is still open after ten minutes (on the paused clock, which then
/// moves on at once).
async fn read_until_closed(stream: &mut TcpStream) -> Vec<u8> {
    tokio::time::timeout(Duration::from_secs(600), read_to_close(stream))
        .await
        .expect("the org kept the connection open for ten minutes")
}

async fn read_to_close(stream: &mut TcpStream) -> Vec<u8> {
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        match stream.read(&mut buffer).await {
            Ok(0) => return received,
            Ok(n) => received.extend_from_slice(&buffer[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return received,
            Err(e) => panic!("reading failed: {e}"),
        }
    }
}

/// Sends `partial` and nothing more; returns how long (on the paused clock) the org kept the
/// connection open, and what it sent.
async fn stall(addr: SocketAddr, partial: &[u8]) -> (Duration, Vec<u8>) {
    let started = Instant::now();
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(partial).await.unwrap();
    let received = read_until_closed(&mut stream).await;
    (started.elapsed(), received)
}

// The clock is paused: it moves on only when every task waits, so the org's timers fire
// without the test waiting for them in real time, and the durations below are exact.
#[tokio::test(start_paused = true)]
async fn a_connection_that_stalls_before_its_request_head_is_complete_is_closed() {
    let emulator = Emulator::start(config(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let h2_preface = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    for partial in [
        &b"GET /services/da"[..],
        b"GET /services/data HTTP/1.1\r\nHost: localhost\r\nUser-Ag",
        b"",
        b"PRI * HTTP/2.0\r\n",
        h2_preface,
    ] {
        let (open_for, received) = stall(emulator.addr(), partial).await;
        let shown = String::from_utf8_lossy(partial);
        // Closed, and not before its time was up.
        assert!(open_for >= TIMEOUT, "{shown:?} closed after {open_for:?}");
        if !partial.starts_with(b"PRI") {
            // No answer to a request that never arrived (hyper may say 408).
            let text = String::from_utf8_lossy(&received);
            assert!(
                received.is_empty() || text.starts_with("HTTP/1.1 408"),
                "{shown:?}: {text}"
            );
        }
    }
    emulator.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_tls_connection_that_never_says_hello_is_closed() {
    let dir = TempDir::new();
    let emulator = Emulator::start_tls(
        config(),
        "127.0.0.1:0".parse().unwrap(),
        &dir.path().join("ca.pem"),
    )
    .await
    .unwrap();
    let (open_for, received) = stall(emulator.addr(), b"").await;
    assert!(open_for >= TIMEOUT, "closed after {open_for:?}");
    assert!(received.is_empty());
    emulator.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_head_sent_slowly_but_in_time_is_answered_however_long_the_answer_takes() {
    let mut config = config();
    // Every API answer takes six times the header timeout.
    config.faults = FaultConfig {
        latency: 6 * TIMEOUT,
        ..FaultConfig::none()
    };
    let emulator = Emulator::start(config, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let token = emulator.access_token();
    let started = Instant::now();
    let mut stream = TcpStream::connect(emulator.addr()).await.unwrap();
    stream
        .write_all(b"GET /services/data/v60.0/limits HTTP/1.1\r\nHost: localhost\r\n")
        .await
        .unwrap();
    tokio::time::sleep(TIMEOUT / 2).await;
    stream
        .write_all(format!("Authorization: Bearer {token}\r\n\r\n").as_bytes())
        .await
        .unwrap();
    // The connection stays open after the answer (keep-alive) until it has been idle for the
    // header timeout.
    let received = read_until_closed(&mut stream).await;
    let text = String::from_utf8_lossy(&received);
    assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
    assert!(text.contains("\"DailyApiRequests\""), "{text}");
    let open_for = started.elapsed();
    assert!(
        open_for >= TIMEOUT / 2 + 6 * TIMEOUT + TIMEOUT,
        "closed after {open_for:?}"
    );
    emulator.shutdown().await;
}

#[tokio::test]
async fn the_built_in_login_is_not_served_beyond_loopback() {
    let error = Emulator::start(Config::builtin(), "0.0.0.0:0".parse().unwrap())
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Exposed);
    let message = error.to_string();
    assert!(
        message.starts_with(
            "refusing to listen on 0.0.0.0:0 with credentials anyone can know: other machines can connect there"
        ),
        "{message}"
    );
    assert!(
        message.contains("[[users]]\nusername = \"you@example.com\""),
        "{message}"
    );

    // With TLS too, and before any certificate is written.
    let dir = TempDir::new();
    let trust_file = dir.path().join("ca.pem");
    let error = Emulator::start_tls(Config::builtin(), "[::]:0".parse().unwrap(), &trust_file)
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Exposed);
    assert!(!trust_file.exists());

    // An embedder who means it says so.
    let mut config = Config::builtin();
    config.insecure_public = true;
    let emulator = Emulator::start(config, "0.0.0.0:0".parse().unwrap())
        .await
        .unwrap();
    assert_eq!(emulator.login().client_id, DEFAULT_CLIENT_ID);
    emulator.shutdown().await;
}

const OWN_LOGIN: &str = r#"
[[users]]
username = "jane@acme.test"
password = "correct horse battery staple"

[[apps]]
client_id = "acme-app"
client_secret = "acme-secret"
"#;

async fn token(
    url: &str,
    client_id: &str,
    client_secret: &str,
    username: &str,
    password: &str,
) -> (StatusCode, Value) {
    let reply = reqwest::Client::new()
        .post(format!("{url}/services/oauth2/token"))
        .form(&[
            ("grant_type", "password"),
            ("client_id", client_id),
            ("client_secret", client_secret),
            ("username", username),
            ("password", password),
        ])
        .send()
        .await
        .unwrap();
    (reply.status(), reply.json().await.unwrap())
}

#[tokio::test]
async fn beyond_loopback_only_the_orgs_own_users_and_apps_log_in() {
    let config = Config::from_toml(OWN_LOGIN).unwrap();
    let emulator = Emulator::start(config, "0.0.0.0:0".parse().unwrap())
        .await
        .unwrap();
    let url = emulator.url().to_string();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let login = emulator.login();
    assert_eq!(
        (login.username.as_str(), login.client_id.as_str()),
        ("jane@acme.test", "acme-app")
    );

    let (status, body) = token(
        &url,
        "acme-app",
        "acme-secret",
        "jane@acme.test",
        "correct horse battery staple",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // The published app is gone, whoever logs in through it.
    let (status, body) = token(
        &url,
        DEFAULT_CLIENT_ID,
        DEFAULT_CLIENT_SECRET,
        "jane@acme.test",
        "correct horse battery staple",
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"], "invalid_client_id", "{body}");
    let client_credentials = reqwest::Client::new()
        .post(format!("{url}/services/oauth2/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", DEFAULT_CLIENT_ID),
            ("client_secret", DEFAULT_CLIENT_SECRET),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(client_credentials.status(), StatusCode::BAD_REQUEST);

    // And so is the published user.
    let (status, body) = token(
        &url,
        "acme-app",
        "acme-secret",
        DEFAULT_USERNAME,
        DEFAULT_PASSWORD,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"], "invalid_grant", "{body}");
    emulator.shutdown().await;
}

#[tokio::test]
async fn limits_that_would_turn_every_client_away_are_refused() {
    let mut no_time = Config::builtin();
    no_time.header_read_timeout = Duration::ZERO;
    let mut no_room = Config::builtin();
    no_room.upload_budget = 0;
    for (config, message) in [
        (no_time, "header_read_timeout must be more than zero"),
        (no_room, "upload_budget must be at least 1 byte"),
    ] {
        let error = Emulator::start(config, "127.0.0.1:0".parse().unwrap())
            .await
            .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Config);
        assert_eq!(error.to_string(), message);
    }
}
