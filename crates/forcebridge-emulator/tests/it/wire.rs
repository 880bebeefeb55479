//! What goes over the connection itself, checked byte by byte or protocol by protocol: HTTP/1.1
//! header names in their canonical case (some clients look them up case-sensitively), and
//! HTTP/2 (over TLS by ALPN, and cleartext) keeping the port in the URLs the org hands out.

use std::io::{Read, Write};

use forcebridge_emulator::{
    Config, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_PASSWORD, DEFAULT_USERNAME, Emulator,
};
use reqwest::{StatusCode, Version};
use serde_json::{Value, json};

use crate::support::{TempDir, TestOrg};

/// Sends `request` as raw bytes on a new connection and returns the response head (status line
/// and headers) exactly as it arrived.
fn raw_head(org: &TestOrg, request: &str) -> String {
    let mut stream = std::net::TcpStream::connect(org.emulator.addr()).unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    while !received.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buffer).unwrap();
        assert!(n > 0, "the connection closed before the head ended");
        received.extend_from_slice(&buffer[..n]);
    }
    let end = received.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    String::from_utf8(received[..end].to_vec()).unwrap()
}

fn get(path: &str, token: &str) -> String {
    format!(
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn http1_header_names_go_out_in_canonical_case() {
    let org = TestOrg::start().await;
    let head = tokio::task::block_in_place(|| {
        raw_head(&org, &get("/services/data/v60.0/limits", &org.token))
    });
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    assert!(
        head.contains("\r\nContent-Type: application/json;charset=UTF-8\r\n"),
        "{head}"
    );
    assert!(head.contains("\r\nSforce-Limit-Info: api-usage="), "{head}");
    assert!(!head.contains("\r\ncontent-type:"), "{head}");
    assert!(!head.contains("\r\nsforce-limit-info:"), "{head}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bulk_results_page_names_its_locator_in_canonical_case() {
    let org = TestOrg::start().await;
    org.create("Account", json!({"Name": "Acme"})).await;
    let job = org
        .post(
            "/jobs/query",
            json!({"operation": "query", "query": "SELECT Name FROM Account"}),
        )
        .await;
    let id = job.json["id"].as_str().unwrap().to_string();
    org.control().bulk_jobs_settled().await;
    let head = tokio::task::block_in_place(|| {
        raw_head(
            &org,
            &get(
                &format!("/services/data/v60.0/jobs/query/{id}/results"),
                &org.token,
            ),
        )
    });
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    assert!(head.contains("\r\nSforce-Locator: null\r\n"), "{head}");
    assert!(head.contains("\r\nContent-Type: text/csv\r\n"), "{head}");
    // hyper capitalizes each word after a dash; it cannot send Salesforce's inner capitals.
    assert!(head.contains("\r\nSforce-Numberofrecords: 1\r\n"), "{head}");
}

/// The token response of a password login sent with `client`.
async fn password_login(client: &reqwest::Client, url: &str) -> (Version, Value) {
    let reply = client
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
    assert_eq!(reply.status(), StatusCode::OK);
    (reply.version(), reply.json().await.unwrap())
}

#[tokio::test]
async fn over_http2_the_urls_the_org_hands_out_keep_the_port() {
    let dir = TempDir::new();
    let trust_file = dir.path().join("ca.pem");
    let emulator = Emulator::start_tls(
        Config::builtin(),
        "127.0.0.1:0".parse().unwrap(),
        &trust_file,
    )
    .await
    .unwrap();
    let url = emulator.url().to_string();
    let pem = std::fs::read(&trust_file).unwrap();
    let client = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(&pem).unwrap())
        .build()
        .unwrap();
    let (version, token) = password_login(&client, &url).await;
    assert_eq!(version, Version::HTTP_2, "ALPN chose HTTP/2");
    assert_eq!(token["instance_url"], url.as_str());
    let id = token["id"].as_str().unwrap();
    assert!(id.starts_with(&format!("{url}/id/00D")), "{id}");
    // The identity URL answers, and its own URLs keep the port too.
    let identity: Value = client
        .get(id)
        .bearer_auth(token["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let rest = identity["urls"]["rest"].as_str().unwrap();
    assert!(
        rest.starts_with(&format!("{url}/services/data/v")),
        "{rest}"
    );
    // SOAP login's serverUrl as well.
    let envelope = format!(
        r#"<?xml version="1.0" encoding="utf-8"?><env:Envelope xmlns:env="http://schemas.xmlsoap.org/soap/envelope/"><env:Body><n1:login xmlns:n1="urn:partner.soap.sforce.com"><n1:username>{DEFAULT_USERNAME}</n1:username><n1:password>{DEFAULT_PASSWORD}LOCALTOKEN</n1:password></n1:login></env:Body></env:Envelope>"#
    );
    let soap = client
        .post(format!("{url}/services/Soap/u/60.0"))
        .header("content-type", "text/xml; charset=utf-8")
        .header("soapaction", "login")
        .body(envelope)
        .send()
        .await
        .unwrap();
    assert_eq!(soap.version(), Version::HTTP_2);
    let xml = soap.text().await.unwrap();
    assert!(
        xml.contains(&format!("<serverUrl>{url}/services/Soap/u/60.0/")),
        "{xml}"
    );
    emulator.shutdown().await;
}

#[tokio::test]
async fn cleartext_http2_with_prior_knowledge_keeps_the_port_too() {
    let org = TestOrg::start().await;
    let client = reqwest::Client::builder()
        .http2_prior_knowledge()
        .build()
        .unwrap();
    let url = org.emulator.url();
    let (version, token) = password_login(&client, url).await;
    assert_eq!(version, Version::HTTP_2);
    assert_eq!(token["instance_url"], url);
}
