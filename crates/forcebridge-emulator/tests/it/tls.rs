//! Serving over HTTPS with a certificate clients can be told to trust.

use forcebridge_emulator::{
    Config, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_PASSWORD, DEFAULT_USERNAME, Emulator,
};
use reqwest::StatusCode;

use crate::support::TempDir;

fn trusting(pem: &[u8]) -> reqwest::Client {
    reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(pem).unwrap())
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_client_that_trusts_the_written_certificate_reaches_the_org_over_https() {
    let dir = TempDir::new();
    let trust_file = dir.path().join("tls").join("ca.pem");
    let emulator = Emulator::start_tls(
        Config::builtin(),
        "127.0.0.1:0".parse().unwrap(),
        &trust_file,
    )
    .await
    .unwrap();
    let url = emulator.url().to_string();
    assert_eq!(url, format!("https://localhost:{}", emulator.addr().port()));
    assert_eq!(emulator.trust_file(), Some(trust_file.as_path()));
    let pem = std::fs::read(&trust_file).unwrap();
    assert!(String::from_utf8_lossy(&pem).starts_with("-----BEGIN CERTIFICATE-----"));

    let client = trusting(&pem);
    let versions = client
        .get(format!("{url}/services/data"))
        .send()
        .await
        .unwrap();
    assert_eq!(versions.status(), StatusCode::OK);
    let versions: serde_json::Value = versions.json().await.unwrap();
    assert!(
        versions.as_array().is_some_and(|v| !v.is_empty()),
        "{versions}"
    );

    // A login hands out an https instance URL.
    let token = client
        .post(format!("{url}/services/oauth2/token"))
        .form(&[
            ("grant_type", "password"),
            ("client_id", DEFAULT_CLIENT_ID),
            ("client_secret", DEFAULT_CLIENT_SECRET),
            ("username", DEFAULT_USERNAME),
            ("password", DEFAULT_PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(token.status(), StatusCode::OK);
    let token: serde_json::Value = token.json().await.unwrap();
    assert_eq!(token["instance_url"], serde_json::json!(url));

    // A client that does not trust the certificate is refused.
    let untrusting = reqwest::Client::new()
        .get(format!("{url}/services/data"))
        .send()
        .await;
    assert!(untrusting.is_err());
    emulator.shutdown().await;

    // The authority's key is kept, so the trust file from the first start still works.
    let restarted = Emulator::start_tls(
        Config::builtin(),
        "127.0.0.1:0".parse().unwrap(),
        &trust_file,
    )
    .await
    .unwrap();
    let again = client
        .get(format!("{}/services/data", restarted.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::OK);
    restarted.shutdown().await;
}
