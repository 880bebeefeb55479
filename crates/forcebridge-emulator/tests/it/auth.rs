//! Logging in: every OAuth grant, the authorize page, revocation, userinfo and the identity
//! URL, SOAP login, and session checks. Each test drives the org over HTTP as a client would.

use std::collections::{BTreeSet, HashMap};

use forcebridge_emulator::Config;
use forcebridge_emulator::{AppConfig, UserConfig};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::{StatusCode, header};
use serde_json::{Value, json};

use crate::support::{Reply, TestOrg};

const CLIENT_ID: &str = "forcebridge-local";
const CLIENT_SECRET: &str = "forcebridge-local-secret";
const CALLBACK: &str = "http://localhost:1717/OauthRedirect";
const ADMIN: &str = "admin@forcebridge.local";
const ADMIN_PASSWORD: &str = "forcebridge";

/// Test-only keys and certificates (see `tests/data/README.md`).
const TEST_KEY: &str = include_str!("../data/jwt-test-key.pem");
const TEST_CERT: &str = include_str!("../data/jwt-test-cert.pem");
const TEST_PUBLIC_KEY: &str = include_str!("../data/jwt-test-public.pem");
const OTHER_KEY: &str = include_str!("../data/jwt-other-key.pem");

/// The time the manual clock of [`clocked_config`] starts at (2023-11-14T22:13:20Z).
const START: i64 = 1_700_000_000_000;

/// The built-in org plus a second user and the apps the tests need.
fn config() -> Config {
    let mut config = Config::builtin();
    config.users.push(UserConfig {
        username: "jane@acme.local".to_string(),
        password: "jane-password".to_string(),
        security_token: "JANETOKEN".to_string(),
        first_name: "Jane".to_string(),
        last_name: "Doe".to_string(),
        email: "jane.doe@acme.local".to_string(),
    });
    let app = |client_id: &str, secret: &str| AppConfig::new(client_id, secret, [CALLBACK]);
    config.apps.push(AppConfig {
        certificate_pem: Some(TEST_CERT.to_string()),
        ..app("jwt-cert-app", "jwt-secret")
    });
    config.apps.push(AppConfig {
        certificate_pem: Some(TEST_PUBLIC_KEY.to_string()),
        ..app("jwt-key-app", "jwt-secret")
    });
    config.apps.push(AppConfig {
        rotate_refresh_tokens: true,
        ..app("rotating-app", "rotating-secret")
    });
    config.apps.push(AppConfig {
        pkce_required: true,
        ..app("pkce-app", "pkce-secret")
    });
    config.apps.push(app("no-run-as-app", "no-run-as-secret"));
    config
}

/// [`config`] on a manual clock starting at [`START`].
fn clocked_config() -> Config {
    Config {
        fixed_time: Some(START),
        ..config()
    }
}

/// [`config`] with `/authorize` approving at once.
fn auto_approving_config() -> Config {
    Config {
        auto_approve: true,
        ..config()
    }
}

/// A client that shows redirects instead of following them.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn token_request(org: &TestOrg, form: &[(&str, &str)]) -> Reply {
    Reply::from(
        org.client
            .post(org.url("/services/oauth2/token"))
            .form(form)
            .send()
            .await
            .unwrap(),
    )
    .await
}

/// A token request with owned values.
async fn post_form(org: &TestOrg, form: Vec<(&str, String)>) -> Reply {
    Reply::from(
        org.client
            .post(org.url("/services/oauth2/token"))
            .form(&form)
            .send()
            .await
            .unwrap(),
    )
    .await
}

async fn password_login(org: &TestOrg, password: &str) -> Reply {
    token_request(
        org,
        &[
            ("grant_type", "password"),
            ("client_id", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
            ("username", ADMIN),
            ("password", password),
        ],
    )
    .await
}

/// The member names of a JSON object.
fn keys(json: &Value) -> BTreeSet<&str> {
    json.as_object()
        .map(|o| o.keys().map(String::as_str).collect())
        .unwrap_or_default()
}

fn set<'a>(names: &[&'a str]) -> BTreeSet<&'a str> {
    names.iter().copied().collect()
}

fn oauth_error(reply: &Reply, error: &str, description: &str) {
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text);
    assert_eq!(
        reply.json,
        json!({"error": error, "error_description": description}),
        "{}",
        reply.text
    );
}

/// The status of a REST call made with `token`.
async fn rest_status(org: &TestOrg, token: &str) -> StatusCode {
    org.client
        .get(org.data("/sobjects/Account"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
}

/// The user id (last segment) of an identity URL.
fn user_of(identity_url: &str) -> &str {
    identity_url.rsplit('/').next().unwrap_or("")
}

fn str_of<'a>(json: &'a Value, name: &str) -> &'a str {
    json[name]
        .as_str()
        .unwrap_or_else(|| panic!("no {name} in {json}"))
}

/// The hidden inputs of the login page, unescaped.
fn hidden_inputs(html: &str) -> HashMap<String, String> {
    let mut inputs = HashMap::new();
    let mut rest = html;
    while let Some(start) = rest.find(r#"<input type="hidden" name=""#) {
        rest = &rest[start + r#"<input type="hidden" name=""#.len()..];
        let name_end = rest.find('"').unwrap();
        let name = rest[..name_end].to_string();
        rest = &rest[name_end..];
        let value_start = rest.find(r#"value=""#).unwrap() + r#"value=""#.len();
        rest = &rest[value_start..];
        let value_end = rest.find('"').unwrap();
        let value = rest[..value_end]
            .replace("&quot;", "\"")
            .replace("&#39;", "'")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&");
        inputs.insert(name, value);
        rest = &rest[value_end..];
    }
    inputs
}

/// The `Location` of a redirect.
fn location(response: &reqwest::Response) -> String {
    response.headers()[header::LOCATION]
        .to_str()
        .unwrap()
        .to_string()
}

/// The parameters after `?` (or `#` for `fragment`) of a URL.
fn url_params(url: &str, fragment: bool) -> HashMap<String, String> {
    let separator = if fragment { '#' } else { '?' };
    let query = url.split_once(separator).map(|(_, q)| q).unwrap_or("");
    form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect()
}

/// `GET /services/oauth2/authorize` with these parameters.
async fn authorize(org: &TestOrg, params: &[(&str, &str)]) -> reqwest::Response {
    browser()
        .get(org.url("/services/oauth2/authorize"))
        .query(params)
        .send()
        .await
        .unwrap()
}

/// A code from an auto-approving org.
async fn auto_code(org: &TestOrg, params: &[(&str, &str)]) -> String {
    let response = authorize(org, params).await;
    assert_eq!(response.status(), StatusCode::FOUND);
    url_params(&location(&response), false)["code"].clone()
}

/// The whole browser part of the web-server flow: show the page, fill it in as a person would,
/// submit, and return the redirect.
async fn log_in_through_the_page(
    org: &TestOrg,
    params: &[(&str, &str)],
    username: &str,
    password: &str,
) -> reqwest::Response {
    let page = authorize(org, params).await;
    assert_eq!(page.status(), StatusCode::OK);
    assert_eq!(
        page.headers()[header::CONTENT_TYPE],
        "text/html;charset=UTF-8"
    );
    let html = page.text().await.unwrap();
    assert!(
        html.contains(r#"<form method="post" action="/services/oauth2/authorize">"#),
        "{html}"
    );
    let mut form = hidden_inputs(&html);
    form.insert("username".into(), username.into());
    form.insert("password".into(), password.into());
    form.insert("action".into(), "allow".into());
    browser()
        .post(org.url("/services/oauth2/authorize"))
        .form(&form)
        .send()
        .await
        .unwrap()
}

fn sign(key_pem: &str, claims: &Value) -> String {
    jsonwebtoken::encode(
        &Header::new(Algorithm::RS256),
        claims,
        &EncodingKey::from_rsa_pem(key_pem.as_bytes()).unwrap(),
    )
    .unwrap()
}

async fn jwt_login(org: &TestOrg, assertion: &str) -> Reply {
    token_request(
        org,
        &[
            ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
            ("assertion", assertion),
        ],
    )
    .await
}

async fn soap(org: &TestOrg, path: &str, body: &str) -> (StatusCode, String, String) {
    let response = org
        .client
        .post(org.url(path))
        .header(header::CONTENT_TYPE, "text/xml")
        .header("SOAPAction", "login")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let status = response.status();
    let content_type = response.headers()[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .to_string();
    (status, content_type, response.text().await.unwrap())
}

/// simple-salesforce's login envelope.
fn soap_login_envelope(username: &str, password: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="utf-8" ?>
<env:Envelope xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:env="http://schemas.xmlsoap.org/soap/envelope/" xmlns:urn="urn:partner.soap.sforce.com">
  <env:Header>
    <urn:CallOptions><urn:client>simple-salesforce</urn:client><urn:defaultNamespace>sf</urn:defaultNamespace></urn:CallOptions>
  </env:Header>
  <env:Body>
    <n1:login xmlns:n1="urn:partner.soap.sforce.com">
      <n1:username>{username}</n1:username>
      <n1:password>{password}</n1:password>
    </n1:login>
  </env:Body>
</env:Envelope>"#
    )
}

/// The text of the first `<name>` element of an XML document (unprefixed, as clients match).
fn element<'a>(xml: &'a str, name: &str) -> &'a str {
    let open = format!("<{name}>");
    let start = xml
        .find(&open)
        .unwrap_or_else(|| panic!("no <{name}> in {xml}"))
        + open.len();
    let end = xml[start..].find('<').unwrap() + start;
    &xml[start..end]
}

// ---------------------------------------------------------------------------------------------
// Password grant and token endpoint basics

#[tokio::test]
async fn password_grant_gives_a_working_token_and_an_identity_url() {
    let org = TestOrg::start().await;
    for password in ["forcebridge", "forcebridgeLOCALTOKEN"] {
        let reply = password_login(&org, password).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        assert_eq!(
            reply.headers["content-type"],
            "application/json;charset=UTF-8"
        );
        assert_eq!(
            keys(&reply.json),
            set(&[
                "access_token",
                "instance_url",
                "id",
                "token_type",
                "issued_at",
                "signature"
            ])
        );
        let token = reply.json["access_token"].as_str().unwrap();
        assert_eq!(reply.json["instance_url"], org.emulator.url());
        assert_eq!(reply.json["token_type"], "Bearer");
        assert!(
            reply.json["issued_at"]
                .as_str()
                .unwrap()
                .parse::<i64>()
                .is_ok(),
            "issued_at is a string of millis"
        );
        let id = reply.json["id"].as_str().unwrap();
        let segments: Vec<&str> = id.rsplitn(3, '/').collect();
        assert!(
            segments[0].starts_with("005") && segments[1].starts_with("00D"),
            "{id}"
        );
        assert!(
            id.starts_with(&format!("{}/id/", org.emulator.url())),
            "{id}"
        );
        assert_eq!(rest_status(&org, token).await, StatusCode::OK);
    }
}

#[tokio::test]
async fn bad_credentials_get_an_oauth_error_object() {
    let org = TestOrg::start().await;
    let reply = password_login(&org, "wrong").await;
    oauth_error(&reply, "invalid_grant", "authentication failure");
}

#[tokio::test]
async fn password_grant_refuses_wrong_apps_secrets_and_blocked_apps() {
    let org = TestOrg::with_config(config()).await;
    let login = |client_id: &'static str, secret: &'static str| {
        [
            ("grant_type", "password"),
            ("client_id", client_id),
            ("client_secret", secret),
            ("username", ADMIN),
            ("password", ADMIN_PASSWORD),
        ]
    };
    oauth_error(
        &token_request(&org, &login("nobody", "x")).await,
        "invalid_client_id",
        "client identifier invalid",
    );
    oauth_error(
        &token_request(&org, &login(CLIENT_ID, "not-the-secret")).await,
        "invalid_client",
        "invalid client credentials",
    );
    // The app does not allow the username-password flow.
    oauth_error(
        &token_request(&org, &login("rotating-app", "rotating-secret")).await,
        "invalid_grant",
        "authentication failure",
    );
    // Another user's password does not work for this user.
    oauth_error(
        &token_request(
            &org,
            &[
                ("grant_type", "password"),
                ("client_id", CLIENT_ID),
                ("client_secret", CLIENT_SECRET),
                ("username", ADMIN),
                ("password", "jane-password"),
            ],
        )
        .await,
        "invalid_grant",
        "authentication failure",
    );
}

#[tokio::test]
async fn unknown_or_missing_grant_types_are_unsupported_and_bodies_need_no_content_type() {
    let org = TestOrg::start().await;
    oauth_error(
        &token_request(&org, &[("grant_type", "device")]).await,
        "unsupported_grant_type",
        "grant type not supported",
    );
    // A JSON body carries no form parameters: Salesforce sees no grant type.
    let json_body = Reply::from(
        org.client
            .post(org.url("/services/oauth2/token"))
            .json(&json!({"grant_type": "password"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    oauth_error(
        &json_body,
        "unsupported_grant_type",
        "grant type not supported",
    );
    // No content type at all: still read as a form.
    let body = format!(
        "grant_type=password&client_id={CLIENT_ID}&client_secret={CLIENT_SECRET}&username={}&password={ADMIN_PASSWORD}",
        ADMIN.replace('@', "%40")
    );
    let bare = Reply::from(
        org.client
            .post(org.url("/services/oauth2/token"))
            .body(body)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(bare.status, StatusCode::OK, "{}", bare.text);
    assert!(bare.json["access_token"].is_string());
}

#[tokio::test]
async fn token_responses_can_be_form_encoded() {
    let org = TestOrg::start().await;
    let reply = token_request(
        &org,
        &[
            ("grant_type", "password"),
            ("client_id", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
            ("username", ADMIN),
            ("password", ADMIN_PASSWORD),
            ("format", "urlencoded"),
        ],
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(
        reply.headers["content-type"],
        "application/x-www-form-urlencoded;charset=UTF-8"
    );
    let fields: HashMap<String, String> = form_urlencoded::parse(reply.text.as_bytes())
        .into_owned()
        .collect();
    assert_eq!(fields["token_type"], "Bearer");
    assert_eq!(
        rest_status(&org, &fields["access_token"]).await,
        StatusCode::OK
    );

    let refused = Reply::from(
        org.client
            .post(org.url("/services/oauth2/token"))
            .header(header::ACCEPT, "application/x-www-form-urlencoded")
            .form(&[("grant_type", "password"), ("client_id", "nobody")])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        refused.text,
        "error=invalid_client_id&error_description=client+identifier+invalid"
    );
}

// ---------------------------------------------------------------------------------------------
// Client credentials

#[tokio::test]
async fn client_credentials_run_as_the_apps_user_with_body_or_basic_credentials() {
    let org = TestOrg::with_config(config()).await;
    let expected = set(&[
        "access_token",
        "signature",
        "scope",
        "instance_url",
        "id",
        "token_type",
        "issued_at",
        "api_instance_url",
    ]);
    let in_body = token_request(
        &org,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
        ],
    )
    .await;
    let in_header = Reply::from(
        org.client
            .post(org.url("/services/oauth2/token"))
            .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap(),
    )
    .await;
    let admin_id = org.control().user_ids()[0].clone();
    for reply in [in_body, in_header] {
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        assert_eq!(keys(&reply.json), expected);
        assert_eq!(reply.json["scope"], "api");
        assert_eq!(user_of(str_of(&reply.json, "id")), admin_id);
        assert_eq!(
            rest_status(&org, str_of(&reply.json, "access_token")).await,
            StatusCode::OK
        );
    }
}

#[tokio::test]
async fn client_credentials_need_the_secret_and_a_run_as_user() {
    let org = TestOrg::with_config(config()).await;
    let wrong_secret = Reply::from(
        org.client
            .post(org.url("/services/oauth2/token"))
            .basic_auth(CLIENT_ID, Some("wrong"))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap(),
    )
    .await;
    oauth_error(
        &wrong_secret,
        "invalid_client",
        "invalid client credentials",
    );
    oauth_error(
        &token_request(
            &org,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", CLIENT_ID),
            ],
        )
        .await,
        "invalid_client",
        "invalid client credentials",
    );
    oauth_error(
        &token_request(
            &org,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", "no-run-as-app"),
                ("client_secret", "no-run-as-secret"),
            ],
        )
        .await,
        "invalid_grant",
        "no client credentials user enabled",
    );
    let garbage_basic = Reply::from(
        org.client
            .post(org.url("/services/oauth2/token"))
            .header(header::AUTHORIZATION, "Basic !!!not-base64")
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap(),
    )
    .await;
    oauth_error(
        &garbage_basic,
        "invalid_client",
        "invalid client credentials",
    );
}

// ---------------------------------------------------------------------------------------------
// Authorization code (web-server flow)

#[tokio::test]
async fn web_server_flow_through_the_login_page_without_pkce() {
    let org = TestOrg::with_config(config()).await;
    let state = "s t&a=t/e?";
    let redirect = log_in_through_the_page(
        &org,
        &[
            ("response_type", "code"),
            ("client_id", CLIENT_ID),
            ("redirect_uri", CALLBACK),
            ("state", state),
        ],
        "jane@acme.local",
        "jane-password",
    )
    .await;
    assert_eq!(redirect.status(), StatusCode::FOUND);
    let to = location(&redirect);
    assert!(to.starts_with(&format!("{CALLBACK}?code=")), "{to}");
    let params = url_params(&to, false);
    assert_eq!(params["state"], state, "state comes back exactly");
    let code = &params["code"];

    let exchange = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("client_id", CLIENT_ID),
        ("client_secret", CLIENT_SECRET),
        ("redirect_uri", CALLBACK),
    ];
    let reply = token_request(&org, &exchange).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(
        keys(&reply.json),
        set(&[
            "access_token",
            "refresh_token",
            "signature",
            "scope",
            "instance_url",
            "id",
            "token_type",
            "issued_at"
        ])
    );
    // No scope asked for: the app's defaults, which include refresh_token.
    assert_eq!(reply.json["scope"], "refresh_token web api");
    let jane = org.control().user_ids()[1].clone();
    assert_eq!(user_of(str_of(&reply.json, "id")), jane);
    assert_eq!(
        rest_status(&org, str_of(&reply.json, "access_token")).await,
        StatusCode::OK
    );

    // A code works once.
    oauth_error(
        &token_request(&org, &exchange).await,
        "invalid_grant",
        "invalid authorization code",
    );
}

#[tokio::test]
async fn web_server_flow_with_pkce_like_the_salesforce_cli() {
    let org = TestOrg::with_config(config()).await;
    let verifier = "M25iVXpKU3puUjFaYWg3T1NDTDQtcW1ROUY5YXlwalNoc0hhakxifmZHag";
    let challenge = "qjrzSW9gMiUgpUvqgEPE4_-8swvyCtfOVvg55o5S_es";
    let redirect = log_in_through_the_page(
        &org,
        &[
            ("state", "9c1f0e"),
            ("prompt", "login"),
            ("scope", "refresh_token api web"),
            ("code_challenge", challenge),
            ("response_type", "code"),
            ("client_id", "PlatformCLI"),
            ("redirect_uri", CALLBACK),
        ],
        ADMIN,
        ADMIN_PASSWORD,
    )
    .await;
    assert_eq!(redirect.status(), StatusCode::FOUND);
    let params = url_params(&location(&redirect), false);
    assert_eq!(params["state"], "9c1f0e");
    // The CLI's app has no secret: PKCE stands in for it.
    let reply = token_request(
        &org,
        &[
            ("grant_type", "authorization_code"),
            ("code", &params["code"]),
            ("client_id", "PlatformCLI"),
            ("redirect_uri", CALLBACK),
            ("code_verifier", verifier),
        ],
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.json["scope"], "refresh_token api web");
    assert!(reply.json["refresh_token"].is_string());
    assert_eq!(
        rest_status(&org, str_of(&reply.json, "access_token")).await,
        StatusCode::OK
    );
}

#[tokio::test]
async fn pkce_failures_and_secretless_exchanges_are_refused() {
    let org = TestOrg::with_config(auto_approving_config()).await;
    let verifier = "M25iVXpKU3puUjFaYWg3T1NDTDQtcW1ROUY5YXlwalNoc0hhakxifmZHag";
    let challenge = "qjrzSW9gMiUgpUvqgEPE4_-8swvyCtfOVvg55o5S_es";
    let with_challenge = [
        ("response_type", "code"),
        ("client_id", CLIENT_ID),
        ("redirect_uri", CALLBACK),
        ("code_challenge", challenge),
    ];
    let exchange = |code: String, verifier: Option<&'static str>| {
        let mut form = vec![
            ("grant_type", "authorization_code".to_string()),
            ("code", code),
            ("client_id", CLIENT_ID.to_string()),
            ("redirect_uri", CALLBACK.to_string()),
        ];
        if let Some(verifier) = verifier {
            form.push(("code_verifier", verifier.to_string()));
        }
        form
    };

    let code = auto_code(&org, &with_challenge).await;
    oauth_error(
        &post_form(&org, exchange(code, None)).await,
        "invalid_grant",
        "invalid code verifier",
    );

    let code = auto_code(&org, &with_challenge).await;
    let wrong = "wrong-verifier-wrong-verifier-wrong-verifier-wrong";
    oauth_error(
        &post_form(&org, exchange(code, Some(wrong))).await,
        "invalid_request",
        "invalid code verifier",
    );

    // Without PKCE the secret is required.
    let code = auto_code(
        &org,
        &[
            ("response_type", "code"),
            ("client_id", CLIENT_ID),
            ("redirect_uri", CALLBACK),
        ],
    )
    .await;
    oauth_error(
        &post_form(&org, exchange(code, None)).await,
        "invalid_client",
        "invalid client credentials",
    );

    // jsforce's verifiers are 171 characters (longer than RFC 7636 allows); real orgs take them.
    let long_verifier = "K1Vq8mA7-".repeat(19);
    let long_challenge = {
        use base64::Engine;
        use sha2::Digest;
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(sha2::Sha256::digest(long_verifier.as_bytes()))
    };
    let code = auto_code(
        &org,
        &[
            ("response_type", "code"),
            ("client_id", CLIENT_ID),
            ("redirect_uri", CALLBACK),
            ("code_challenge", &long_challenge),
        ],
    )
    .await;
    let mut form = exchange(code, None);
    form.push(("code_verifier", long_verifier));
    let long = post_form(&org, form).await;
    assert_eq!(long.status, StatusCode::OK, "{}", long.text);

    // The right verifier works, and then the code is gone.
    let code = auto_code(&org, &with_challenge).await;
    let good = post_form(&org, exchange(code.clone(), Some(verifier))).await;
    assert_eq!(good.status, StatusCode::OK, "{}", good.text);
    oauth_error(
        &post_form(&org, exchange(code, Some(verifier))).await,
        "invalid_grant",
        "invalid authorization code",
    );
}

#[tokio::test]
async fn apps_requiring_pkce_refuse_requests_without_a_challenge_and_plain_is_refused() {
    let org = TestOrg::with_config(auto_approving_config()).await;
    let refused = authorize(
        &org,
        &[
            ("response_type", "code"),
            ("client_id", "pkce-app"),
            ("redirect_uri", CALLBACK),
            ("state", "xyz"),
        ],
    )
    .await;
    assert_eq!(refused.status(), StatusCode::FOUND);
    assert_eq!(
        location(&refused),
        format!(
            "{CALLBACK}?error=invalid_request&error_description=missing+required+code+challenge&state=xyz"
        )
    );
    let plain = authorize(
        &org,
        &[
            ("response_type", "code"),
            ("client_id", CLIENT_ID),
            ("redirect_uri", CALLBACK),
            ("code_challenge", "abc"),
            ("code_challenge_method", "plain"),
        ],
    )
    .await;
    let params = url_params(&location(&plain), false);
    assert_eq!(params["error"], "invalid_request");
    assert!(!params.contains_key("code"));
    // With a challenge the PKCE app is served.
    let code = auto_code(
        &org,
        &[
            ("response_type", "code"),
            ("client_id", "pkce-app"),
            ("redirect_uri", CALLBACK),
            (
                "code_challenge",
                "qjrzSW9gMiUgpUvqgEPE4_-8swvyCtfOVvg55o5S_es",
            ),
            ("code_challenge_method", "S256"),
        ],
    )
    .await;
    assert!(!code.is_empty());
}

#[tokio::test]
async fn redirect_uris_must_be_registered_and_repeated_exactly() {
    let org = TestOrg::with_config(auto_approving_config()).await;
    // An unregistered callback gets an error page, never a redirect.
    let unregistered = authorize(
        &org,
        &[
            ("response_type", "code"),
            ("client_id", CLIENT_ID),
            ("redirect_uri", "https://evil.example/steal"),
        ],
    )
    .await;
    assert_eq!(unregistered.status(), StatusCode::BAD_REQUEST);
    assert!(unregistered.headers().get(header::LOCATION).is_none());
    assert_eq!(
        unregistered.headers()[header::CONTENT_TYPE],
        "text/html;charset=UTF-8"
    );
    assert!(
        unregistered
            .text()
            .await
            .unwrap()
            .contains("error=redirect_uri_mismatch")
    );
    let unknown_app = authorize(
        &org,
        &[
            ("response_type", "code"),
            ("client_id", "nobody"),
            ("redirect_uri", CALLBACK),
        ],
    )
    .await;
    assert_eq!(unknown_app.status(), StatusCode::BAD_REQUEST);
    assert!(unknown_app.headers().get(header::LOCATION).is_none());
    assert!(
        unknown_app
            .text()
            .await
            .unwrap()
            .contains("error=invalid_client_id")
    );

    // The exchange must name the same callback as the authorization.
    let code = auto_code(
        &org,
        &[
            ("response_type", "code"),
            ("client_id", CLIENT_ID),
            ("redirect_uri", "http://127.0.0.1:1717/OauthRedirect"),
        ],
    )
    .await;
    oauth_error(
        &token_request(
            &org,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("client_id", CLIENT_ID),
                ("client_secret", CLIENT_SECRET),
                ("redirect_uri", CALLBACK),
            ],
        )
        .await,
        "redirect_uri_mismatch",
        "redirect_uri must match configuration",
    );
}

#[tokio::test]
async fn codes_expire_after_15_minutes_and_belong_to_their_app() {
    let org = TestOrg::with_config(Config {
        auto_approve: true,
        ..clocked_config()
    })
    .await;
    let params = [
        ("response_type", "code"),
        ("client_id", CLIENT_ID),
        ("redirect_uri", CALLBACK),
    ];
    let exchange = |code: &str| {
        [
            ("grant_type", "authorization_code"),
            ("code", code),
            ("client_id", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
            ("redirect_uri", CALLBACK),
        ]
        .map(|(k, v)| (k, v.to_string()))
    };
    let code = auto_code(&org, &params).await;
    org.advance(15 * 60 * 1000);
    let reply = Reply::from(
        org.client
            .post(org.url("/services/oauth2/token"))
            .form(&exchange(&code))
            .send()
            .await
            .unwrap(),
    )
    .await;
    oauth_error(&reply, "invalid_grant", "expired authorization code");

    let code = auto_code(&org, &params).await;
    org.advance(15 * 60 * 1000 - 1);
    let other_app = token_request(
        &org,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("client_id", "rotating-app"),
            ("client_secret", "rotating-secret"),
            ("redirect_uri", CALLBACK),
        ],
    )
    .await;
    oauth_error(&other_app, "invalid_grant", "invalid authorization code");
}

#[tokio::test]
async fn deny_and_wrong_passwords_on_the_login_page() {
    let org = TestOrg::with_config(config()).await;
    let params = [
        ("response_type", "code"),
        ("client_id", CLIENT_ID),
        ("redirect_uri", CALLBACK),
        ("state", "st8"),
    ];
    let page = authorize(&org, &params).await.text().await.unwrap();
    let mut form = hidden_inputs(&page);

    form.insert("username".into(), ADMIN.into());
    form.insert("password".into(), "wrong".into());
    form.insert("action".into(), "allow".into());
    let again = browser()
        .post(org.url("/services/oauth2/authorize"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::OK);
    assert!(again.headers().get(header::LOCATION).is_none());
    let html = again.text().await.unwrap();
    assert!(
        html.contains("Please check your username and password."),
        "{html}"
    );
    assert!(
        html.contains(&format!(r#"value="{ADMIN}""#)),
        "the username is kept"
    );

    form.insert("action".into(), "deny".into());
    let denied = browser()
        .post(org.url("/services/oauth2/authorize"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(denied.status(), StatusCode::FOUND);
    assert_eq!(
        location(&denied),
        format!(
            "{CALLBACK}?error=access_denied&error_description=end-user+denied+authorization&state=st8"
        )
    );
}

#[tokio::test]
async fn auto_approve_skips_the_page_and_honours_login_hint() {
    let org = TestOrg::with_config(auto_approving_config()).await;
    for (hint, user) in [(None, 0), (Some("JANE@acme.local"), 1)] {
        let mut params = vec![
            ("response_type", "code"),
            ("client_id", CLIENT_ID),
            ("redirect_uri", CALLBACK),
            ("prompt", "login"),
        ];
        if let Some(hint) = hint {
            params.push(("login_hint", hint));
        }
        let code = auto_code(&org, &params).await;
        let reply = token_request(
            &org,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("client_id", CLIENT_ID),
                ("client_secret", CLIENT_SECRET),
                ("redirect_uri", CALLBACK),
            ],
        )
        .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        assert_eq!(
            user_of(str_of(&reply.json, "id")),
            org.control().user_ids()[user].clone()
        );
    }
}

#[tokio::test]
async fn a_browser_session_approves_again_unless_prompt_login_asks_for_the_page() {
    let org = TestOrg::with_config(config()).await;
    let params = [
        ("response_type", "code"),
        ("client_id", CLIENT_ID),
        ("redirect_uri", CALLBACK),
    ];
    let first = log_in_through_the_page(&org, &params, ADMIN, ADMIN_PASSWORD).await;
    assert_eq!(first.status(), StatusCode::FOUND);
    let cookie = first.headers()[header::SET_COOKIE].to_str().unwrap();
    assert!(
        cookie.starts_with("sid=") && cookie.contains("HttpOnly"),
        "{cookie}"
    );
    let sid = cookie.split(';').next().unwrap().to_string();

    let again = browser()
        .get(org.url("/services/oauth2/authorize"))
        .query(&params)
        .header(header::COOKIE, &sid)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::FOUND);
    assert!(url_params(&location(&again), false).contains_key("code"));

    let prompted = browser()
        .get(org.url("/services/oauth2/authorize"))
        .query(&params)
        .query(&[("prompt", "login")])
        .header(header::COOKIE, &sid)
        .send()
        .await
        .unwrap();
    assert_eq!(prompted.status(), StatusCode::OK);
    assert!(
        prompted
            .text()
            .await
            .unwrap()
            .contains(r#"name="password""#)
    );
}

#[tokio::test]
async fn user_agent_flow_puts_the_token_in_the_fragment() {
    let org = TestOrg::with_config(auto_approving_config()).await;
    let response = authorize(
        &org,
        &[
            ("response_type", "token"),
            ("client_id", CLIENT_ID),
            ("redirect_uri", CALLBACK),
            ("scope", "api id"),
            ("state", "frag"),
        ],
    )
    .await;
    assert_eq!(response.status(), StatusCode::FOUND);
    let to = location(&response);
    assert!(to.starts_with(&format!("{CALLBACK}#access_token=")), "{to}");
    let params = url_params(&to, true);
    assert_eq!(params["token_type"], "Bearer");
    assert_eq!(params["scope"], "api id");
    assert_eq!(params["state"], "frag");
    assert_eq!(params["instance_url"], org.emulator.url());
    assert!(params.contains_key("signature") && params.contains_key("issued_at"));
    assert!(
        !params.contains_key("refresh_token"),
        "no refresh_token scope, no refresh token"
    );
    assert_eq!(
        rest_status(&org, &params["access_token"]).await,
        StatusCode::OK
    );
}

// ---------------------------------------------------------------------------------------------
// Refresh tokens and revocation

/// A refresh token (and its first access token) for `client_id` through the web-server flow.
async fn refresh_token_for(org: &TestOrg, client_id: &str, secret: &str) -> (String, String) {
    let code = auto_code(
        org,
        &[
            ("response_type", "code"),
            ("client_id", client_id),
            ("redirect_uri", CALLBACK),
            ("scope", "api offline_access"),
        ],
    )
    .await;
    let reply = token_request(
        org,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("client_id", client_id),
            ("client_secret", secret),
            ("redirect_uri", CALLBACK),
        ],
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    (
        str_of(&reply.json, "refresh_token").to_string(),
        str_of(&reply.json, "access_token").to_string(),
    )
}

async fn refresh(org: &TestOrg, client_id: &str, refresh_token: &str) -> Reply {
    token_request(
        org,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", client_id),
            ("refresh_token", refresh_token),
        ],
    )
    .await
}

#[tokio::test]
async fn refresh_without_rotation_keeps_the_refresh_token() {
    let org = TestOrg::with_config(auto_approving_config()).await;
    let (refresh_token, _) = refresh_token_for(&org, CLIENT_ID, CLIENT_SECRET).await;
    for _ in 0..2 {
        let reply = refresh(&org, CLIENT_ID, &refresh_token).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        assert_eq!(
            keys(&reply.json),
            set(&[
                "access_token",
                "signature",
                "scope",
                "instance_url",
                "id",
                "token_type",
                "issued_at"
            ])
        );
        assert_eq!(reply.json["scope"], "api offline_access");
        assert_eq!(
            rest_status(&org, str_of(&reply.json, "access_token")).await,
            StatusCode::OK
        );
    }
    // With the secret too, and it must be the right one.
    let with_secret = token_request(
        &org,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", CLIENT_ID),
            ("client_secret", "wrong"),
            ("refresh_token", &refresh_token),
        ],
    )
    .await;
    oauth_error(&with_secret, "invalid_client", "invalid client credentials");
    // Another app cannot use it; an unknown token is "expired".
    oauth_error(
        &refresh(&org, "rotating-app", &refresh_token).await,
        "invalid_grant",
        "expired access/refresh token",
    );
    oauth_error(
        &refresh(&org, CLIENT_ID, "5Aep861unknown").await,
        "invalid_grant",
        "expired access/refresh token",
    );
}

#[tokio::test]
async fn rotating_apps_hand_out_a_new_refresh_token_and_retire_the_old_one() {
    let org = TestOrg::with_config(auto_approving_config()).await;
    let (first, first_access) = refresh_token_for(&org, "rotating-app", "rotating-secret").await;
    let reply = refresh(&org, "rotating-app", &first).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let second = str_of(&reply.json, "refresh_token").to_string();
    assert_ne!(second, first);
    oauth_error(
        &refresh(&org, "rotating-app", &first).await,
        "invalid_grant",
        "expired access/refresh token",
    );
    let third_reply = refresh(&org, "rotating-app", &second).await;
    assert_eq!(third_reply.status, StatusCode::OK, "{}", third_reply.text);
    let newest_access = str_of(&third_reply.json, "access_token").to_string();
    let third = str_of(&third_reply.json, "refresh_token").to_string();

    // Revoking the live refresh token ends every session of the grant, including the one
    // minted before the first rotation.
    let revoke = org
        .client
        .post(org.url("/services/oauth2/revoke"))
        .form(&[("token", third.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(revoke.status(), StatusCode::OK);
    assert_eq!(
        rest_status(&org, &first_access).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        rest_status(&org, &newest_access).await,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn revoking_tokens_by_form_or_query_and_refusing_unknown_ones() {
    let org = TestOrg::with_config(auto_approving_config()).await;
    let (refresh_token, access_token) = refresh_token_for(&org, CLIENT_ID, CLIENT_SECRET).await;
    let minted = str_of(
        &refresh(&org, CLIENT_ID, &refresh_token).await.json,
        "access_token",
    )
    .to_string();

    // An access token alone, by GET: the refresh token lives on.
    let by_query = org
        .client
        .get(org.url("/services/oauth2/revoke"))
        .query(&[("token", access_token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(by_query.status(), StatusCode::OK);
    assert_eq!(by_query.text().await.unwrap(), "");
    assert_eq!(
        rest_status(&org, &access_token).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(rest_status(&org, &minted).await, StatusCode::OK);

    // The refresh token, by POST: its access tokens go with it.
    let by_form = org
        .client
        .post(org.url("/services/oauth2/revoke"))
        .form(&[("token", refresh_token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(by_form.status(), StatusCode::OK);
    assert_eq!(rest_status(&org, &minted).await, StatusCode::UNAUTHORIZED);
    oauth_error(
        &refresh(&org, CLIENT_ID, &refresh_token).await,
        "invalid_grant",
        "expired access/refresh token",
    );

    // Errors are form-encoded, which is how jsforce reads them.
    let again = Reply::from(
        org.client
            .post(org.url("/services/oauth2/revoke"))
            .form(&[("token", refresh_token.as_str())])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        again.headers["content-type"],
        "application/x-www-form-urlencoded;charset=UTF-8"
    );
    assert_eq!(
        again.text,
        "error=invalid_token&error_description=invalid%20token"
    );
    let missing = Reply::from(
        org.client
            .post(org.url("/services/oauth2/revoke"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(missing.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        missing.text,
        "error=unsupported_token_type&error_description=this%20token%20type%20is%20not%20supported"
    );
}

// ---------------------------------------------------------------------------------------------
// JWT bearer

/// Claims for the admin user against the cert app, expiring `exp` (as given).
fn claims(client_id: &str, aud: &str, exp: Value) -> Value {
    json!({"iss": client_id, "sub": ADMIN, "aud": aud, "exp": exp})
}

#[tokio::test]
async fn jwt_bearer_accepts_seconds_strings_and_milliseconds_with_cert_or_public_key() {
    let org = TestOrg::with_config(clocked_config()).await;
    let in_three_minutes = START / 1000 + 180;
    let own_url = org.emulator.url().to_string();
    let simple_salesforce_aud = format!(
        "https://{}/services/oauth2/token#.salesforce.com",
        org.emulator.addr()
    );
    let cases = [
        (
            "jwt-cert-app",
            "https://login.salesforce.com",
            json!(in_three_minutes),
        ),
        // simple-salesforce sends exp as a string.
        (
            "jwt-cert-app",
            "https://test.salesforce.com",
            json!(in_three_minutes.to_string()),
        ),
        // sfdx-core sends Date.now() + 300: milliseconds, 0.3 s ahead.
        ("jwt-cert-app", own_url.as_str(), json!(START + 300)),
        (
            "jwt-key-app",
            "https://login.salesforce.com/",
            json!(in_three_minutes),
        ),
        // What simple-salesforce sends when its `domain` points at the local org.
        (
            "jwt-cert-app",
            simple_salesforce_aud.as_str(),
            json!(in_three_minutes.to_string()),
        ),
    ];
    for (client_id, aud, exp) in cases {
        let assertion = sign(TEST_KEY, &claims(client_id, aud, exp.clone()));
        let reply = jwt_login(&org, &assertion).await;
        assert_eq!(
            reply.status,
            StatusCode::OK,
            "{client_id} {aud} {exp}: {}",
            reply.text
        );
        assert_eq!(
            keys(&reply.json),
            set(&["access_token", "scope", "instance_url", "id", "token_type"])
        );
        assert_eq!(
            user_of(str_of(&reply.json, "id")),
            org.control().user_ids()[0].clone()
        );
        assert_eq!(
            rest_status(&org, str_of(&reply.json, "access_token")).await,
            StatusCode::OK
        );
    }
}

#[tokio::test]
async fn jwt_bearer_refuses_wrong_keys_audiences_issuers_subjects_and_old_assertions() {
    let org = TestOrg::with_config(clocked_config()).await;
    let exp = json!(START / 1000 + 180);
    let login = "https://login.salesforce.com";

    let wrong_key = sign(OTHER_KEY, &claims("jwt-cert-app", login, exp.clone()));
    oauth_error(
        &jwt_login(&org, &wrong_key).await,
        "invalid_grant",
        "invalid assertion",
    );

    for aud in [
        "https://evil.example".to_string(),
        format!("https://{}.evil.example/", org.emulator.addr()),
        format!("ftp://{}", org.emulator.addr()),
    ] {
        let wrong_aud = sign(TEST_KEY, &claims("jwt-cert-app", &aud, exp.clone()));
        oauth_error(
            &jwt_login(&org, &wrong_aud).await,
            "invalid_grant",
            "audience is invalid",
        );
    }

    let unknown_app = sign(TEST_KEY, &claims("nobody", login, exp.clone()));
    oauth_error(
        &jwt_login(&org, &unknown_app).await,
        "invalid_client_id",
        "client identifier invalid",
    );

    // The app exists but holds no certificate.
    let no_cert = sign(TEST_KEY, &claims(CLIENT_ID, login, exp.clone()));
    oauth_error(
        &jwt_login(&org, &no_cert).await,
        "invalid_grant",
        "invalid assertion",
    );

    let mut unknown_user = claims("jwt-cert-app", login, exp.clone());
    unknown_user["sub"] = json!("nobody@acme.local");
    oauth_error(
        &jwt_login(&org, &sign(TEST_KEY, &unknown_user)).await,
        "invalid_grant",
        "user hasn't approved this consumer",
    );

    // Past exp by more than the allowed skew (a minute): Salesforce's odd wording.
    let old = sign(
        TEST_KEY,
        &claims("jwt-cert-app", login, json!(START / 1000 - 61)),
    );
    oauth_error(
        &jwt_login(&org, &old).await,
        "invalid_grant",
        "expired authorization code",
    );
    let skewed = sign(
        TEST_KEY,
        &claims("jwt-cert-app", login, json!(START / 1000 - 30)),
    );
    assert_eq!(jwt_login(&org, &skewed).await.status, StatusCode::OK);

    // An HMAC-signed token (alg confusion) and garbage are invalid assertions.
    let hs256 = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims("jwt-cert-app", login, exp.clone()),
        &EncodingKey::from_secret(TEST_CERT.as_bytes()),
    )
    .unwrap();
    oauth_error(
        &jwt_login(&org, &hs256).await,
        "invalid_grant",
        "invalid assertion",
    );
    oauth_error(
        &jwt_login(&org, "not.a.jwt").await,
        "invalid_grant",
        "invalid assertion",
    );
    let mut no_exp = claims("jwt-cert-app", login, exp);
    no_exp.as_object_mut().unwrap().remove("exp");
    oauth_error(
        &jwt_login(&org, &sign(TEST_KEY, &no_exp)).await,
        "invalid_grant",
        "invalid assertion",
    );
}

// ---------------------------------------------------------------------------------------------
// userinfo, identity URL, discovery

#[tokio::test]
async fn userinfo_describes_the_tokens_user() {
    let org = TestOrg::with_config(config()).await;
    let reply = Reply::from(
        org.client
            .get(org.url("/services/oauth2/userinfo"))
            .bearer_auth(&org.token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let admin = org.control().user_ids()[0].clone();
    let org_id = org.control().org_id();
    let base = org.emulator.url();
    assert_eq!(reply.json["sub"], format!("{base}/id/{org_id}/{admin}"));
    assert_eq!(reply.json["user_id"], admin);
    assert_eq!(reply.json["organization_id"], org_id);
    assert_eq!(reply.json["preferred_username"], ADMIN);
    assert_eq!(reply.json["name"], "Local Admin");
    assert_eq!(reply.json["given_name"], "Local");
    assert_eq!(reply.json["family_name"], "Admin");
    assert_eq!(reply.json["email"], "admin@forcebridge.local");
    assert_eq!(reply.json["zoneinfo"], "America/Los_Angeles");
    assert_eq!(reply.json["utcOffset"], -28_800_000);
    assert_eq!(reply.json["user_type"], "STANDARD");
    assert_eq!(reply.json["active"], true);
    assert_eq!(
        reply.json["urls"]["rest"],
        format!("{base}/services/data/v{{version}}/")
    );
    assert_eq!(
        reply.json["urls"]["partner"],
        format!("{base}/services/Soap/u/{{version}}/{}", &org_id[..15])
    );

    let bad = Reply::from(
        org.client
            .get(org.url("/services/oauth2/userinfo"))
            .bearer_auth("00Dnope!x")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (bad.status, bad.text.as_str()),
        (StatusCode::FORBIDDEN, "Bad_OAuth_Token")
    );
    let missing = Reply::from(
        org.client
            .get(org.url("/services/oauth2/userinfo"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (missing.status, missing.text.as_str()),
        (StatusCode::FORBIDDEN, "Missing_OAuth_Token")
    );
}

#[tokio::test]
async fn identity_url_works_with_a_header_or_oauth_token_and_checks_its_ids() {
    let org = TestOrg::with_config(config()).await;
    let control = org.control();
    let org_id = control.org_id();
    let admin = control.user_ids()[0].clone();
    let jane = control.user_ids()[1].clone();
    let get = |path: String, token: Option<&str>| {
        let mut request = org.client.get(org.url(&path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        async move { Reply::from(request.send().await.unwrap()).await }
    };

    let own = get(format!("/id/{org_id}/{admin}"), Some(&org.token)).await;
    assert_eq!(own.status, StatusCode::OK, "{}", own.text);
    assert_eq!(
        own.json["id"],
        format!("{}/id/{org_id}/{admin}", org.emulator.url())
    );
    assert_eq!(own.json["asserted_user"], true);
    assert_eq!(own.json["username"], ADMIN);
    assert_eq!(own.json["display_name"], "Local Admin");
    assert_eq!(own.json["addr_city"], Value::Null);
    assert_eq!(
        own.json["urls"]["sobjects"],
        format!(
            "{}/services/data/v{{version}}/sobjects/",
            org.emulator.url()
        )
    );

    // jsforce's form: ?format=json&oauth_token=..., here with 15-character ids and a version.
    let query = get(
        format!(
            "/id/{}/{}?format=json&version=59.0&oauth_token={}",
            &org_id[..15],
            &admin[..15],
            org.token.replace('!', "%21")
        ),
        None,
    )
    .await;
    assert_eq!(query.status, StatusCode::OK, "{}", query.text);
    assert_eq!(
        query.json["urls"]["query"],
        format!("{}/services/data/v59.0/query/", org.emulator.url())
    );

    // An API token may look at another user of its org.
    let other = get(format!("/id/{org_id}/{jane}"), Some(&org.token)).await;
    assert_eq!(other.status, StatusCode::OK);
    assert_eq!(other.json["asserted_user"], false);
    assert_eq!(other.json["username"], "jane@acme.local");

    let wrong_org = get(format!("/id/00D000000000002AAA/{admin}"), Some(&org.token)).await;
    assert_eq!(
        (wrong_org.status, wrong_org.text.as_str()),
        (StatusCode::FORBIDDEN, "Wrong_Org")
    );
    // Not an id, a user that does not exist, and a record that is not a user.
    let account = org.create("Account", json!({"Name": "Not a user"})).await;
    // Record number 99 (`1b` in base 62) of User, which the org never made.
    let missing_user = forcebridge_wire::id::to_18("005RO000000001b").unwrap();
    for id in [
        "005000000000999AAA",
        missing_user.as_str(),
        account.as_str(),
    ] {
        let no_user = get(format!("/id/{org_id}/{id}"), Some(&org.token)).await;
        assert_eq!(
            (no_user.status, no_user.text.as_str()),
            (StatusCode::NOT_FOUND, "Bad_Id"),
            "{id}"
        );
    }
    let bad_token = get(format!("/id/{org_id}/{admin}"), Some("00Dnope!x")).await;
    assert_eq!(
        (bad_token.status, bad_token.text.as_str()),
        (StatusCode::FORBIDDEN, "Bad_OAuth_Token")
    );
    let bad_version = get(
        format!("/id/{org_id}/{admin}?version=12.0"),
        Some(&org.token),
    )
    .await;
    assert_eq!(
        (bad_version.status, bad_version.text.as_str()),
        (StatusCode::NOT_ACCEPTABLE, "Invalid_Version")
    );
}

#[tokio::test]
async fn openid_discovery_names_the_endpoints() {
    let org = TestOrg::start().await;
    let reply = Reply::from(
        org.client
            .get(org.url("/.well-known/openid-configuration"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);
    let base = org.emulator.url();
    assert_eq!(reply.json["issuer"], base);
    for (name, path) in [
        ("authorization_endpoint", "/services/oauth2/authorize"),
        ("token_endpoint", "/services/oauth2/token"),
        ("revocation_endpoint", "/services/oauth2/revoke"),
        ("userinfo_endpoint", "/services/oauth2/userinfo"),
    ] {
        assert_eq!(reply.json[name], format!("{base}{path}"));
    }
    assert_eq!(
        reply.json["code_challenge_methods_supported"],
        json!(["S256"])
    );
}

// ---------------------------------------------------------------------------------------------
// SOAP login

#[tokio::test]
async fn soap_login_answers_unprefixed_elements_and_the_session_works_for_rest() {
    let org = TestOrg::start().await;
    let org_id = org.control().org_id();
    let admin = org.control().user_ids()[0].clone();
    let base = org.emulator.url();
    let (status, content_type, xml) = soap(
        &org,
        "/services/Soap/u/59.0",
        &soap_login_envelope(ADMIN, "forcebridgeLOCALTOKEN"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{xml}");
    assert_eq!(content_type, "text/xml; charset=utf-8");
    assert!(xml.starts_with(r#"<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns="urn:partner.soap.sforce.com""#), "{xml}");
    assert_eq!(
        element(&xml, "serverUrl"),
        format!("{base}/services/Soap/u/59.0/{}", &org_id[..15])
    );
    assert_eq!(
        element(&xml, "metadataServerUrl"),
        format!("{base}/services/Soap/m/59.0/{}", &org_id[..15])
    );
    assert_eq!(element(&xml, "userId"), admin);
    assert_eq!(element(&xml, "organizationId"), org_id);
    assert_eq!(element(&xml, "passwordExpired"), "false");
    assert_eq!(element(&xml, "sessionSecondsValid"), "7200");
    assert_eq!(element(&xml, "userName"), ADMIN);
    assert_eq!(element(&xml, "userFullName"), "Local Admin");
    assert_eq!(element(&xml, "organizationName"), "forcebridge local org");
    let session = element(&xml, "sessionId");
    assert!(session.starts_with(&org_id[..15]), "{session}");
    assert_eq!(rest_status(&org, session).await, StatusCode::OK);
}

#[tokio::test]
async fn soap_login_reads_jsforce_envelopes_and_serves_the_enterprise_api() {
    let org = TestOrg::start().await;
    let jsforce = format!(
        r#"<se:Envelope xmlns:se="http://schemas.xmlsoap.org/soap/envelope/"><se:Header/><se:Body><login xmlns="urn:partner.soap.sforce.com"><username>{ADMIN}</username><password>{ADMIN_PASSWORD}</password></login></se:Body></se:Envelope>"#
    );
    let (status, _, xml) = soap(&org, "/services/Soap/u/50.0", &jsforce).await;
    assert_eq!(status, StatusCode::OK, "{xml}");
    assert!(
        element(&xml, "serverUrl").ends_with("/services/Soap/u/50.0/00DRO0000000001"),
        "{xml}"
    );

    let enterprise = r#"<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:urn="urn:enterprise.soap.sforce.com"><soap:Body><urn:login><urn:username>jane@acme.local</urn:username><urn:password>jane-password</urn:password></urn:login></soap:Body></soap:Envelope>"#;
    let org = TestOrg::with_config(config()).await;
    let (status, _, xml) = soap(&org, "/services/Soap/c/59.0", enterprise).await;
    assert_eq!(status, StatusCode::OK, "{xml}");
    assert!(xml.contains(r#"xmlns="urn:enterprise.soap.sforce.com""#));
    assert!(element(&xml, "serverUrl").contains("/services/Soap/c/59.0/"));
    assert_eq!(element(&xml, "userId"), org.control().user_ids()[1].clone());
    assert_eq!(element(&xml, "userEmail"), "jane.doe@acme.local");
}

#[tokio::test]
async fn soap_login_faults_have_the_shape_clients_parse() {
    let org = TestOrg::start().await;
    let (status, content_type, xml) = soap(
        &org,
        "/services/Soap/u/59.0",
        &soap_login_envelope(ADMIN, "wrong"),
    )
    .await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(content_type, "text/xml; charset=utf-8");
    assert_eq!(
        xml,
        concat!(
            r#"<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:sf="urn:fault.partner.soap.sforce.com" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">"#,
            "<soapenv:Body><soapenv:Fault><faultcode>sf:INVALID_LOGIN</faultcode>",
            "<faultstring>INVALID_LOGIN: Invalid username, password, security token; or user locked out.</faultstring>",
            r#"<detail><sf:LoginFault xsi:type="sf:LoginFault"><sf:exceptionCode>INVALID_LOGIN</sf:exceptionCode>"#,
            "<sf:exceptionMessage>Invalid username, password, security token; or user locked out.</sf:exceptionMessage>",
            "</sf:LoginFault></detail></soapenv:Fault></soapenv:Body></soapenv:Envelope>"
        )
    );

    // login() is retired after API 64.0.
    let (status, _, xml) = soap(
        &org,
        "/services/Soap/u/65.0",
        &soap_login_envelope(ADMIN, ADMIN_PASSWORD),
    )
    .await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(element(&xml, "sf:exceptionCode"), "UNSUPPORTED_API_VERSION");
    let (status, _, _) = soap(
        &org,
        "/services/Soap/u/64.0",
        &soap_login_envelope(ADMIN, ADMIN_PASSWORD),
    )
    .await;
    assert_eq!(status, StatusCode::OK);

    // Not XML, and an operation the local org does not serve.
    let (status, _, xml) = soap(&org, "/services/Soap/u/59.0", "username=x").await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(element(&xml, "faultcode"), "soapenv:Client");
    let query = r#"<se:Envelope xmlns:se="http://schemas.xmlsoap.org/soap/envelope/"><se:Body><query xmlns="urn:partner.soap.sforce.com"><queryString>SELECT Id FROM Account</queryString></query></se:Body></se:Envelope>"#;
    let (status, _, xml) = soap(&org, "/services/Soap/u/59.0", query).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        element(&xml, "faultstring"),
        "No operation available for request {urn:partner.soap.sforce.com}query, please check the WSDL for the service."
    );

    let get = org
        .client
        .get(org.url("/services/Soap/u/59.0"))
        .send()
        .await
        .unwrap();
    assert_eq!(get.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(get.text().await.unwrap(), "Only POST allowed");
}

#[tokio::test]
async fn soap_logout_revokes_the_session() {
    let org = TestOrg::start().await;
    let (_, _, xml) = soap(
        &org,
        "/services/Soap/u/59.0",
        &soap_login_envelope(ADMIN, ADMIN_PASSWORD),
    )
    .await;
    let session = element(&xml, "sessionId").to_string();
    let server_url = element(&xml, "serverUrl").to_string();
    let path = server_url.trim_start_matches(org.emulator.url());
    let logout = format!(
        r#"<se:Envelope xmlns:se="http://schemas.xmlsoap.org/soap/envelope/"><se:Header><SessionHeader xmlns="urn:partner.soap.sforce.com"><sessionId>{session}</sessionId></SessionHeader></se:Header><se:Body><logout xmlns="urn:partner.soap.sforce.com"/></se:Body></se:Envelope>"#
    );
    let (status, _, xml) = soap(&org, path, &logout).await;
    assert_eq!(status, StatusCode::OK, "{xml}");
    assert!(
        xml.contains("<soapenv:Body><logoutResponse/></soapenv:Body>"),
        "{xml}"
    );
    assert_eq!(rest_status(&org, &session).await, StatusCode::UNAUTHORIZED);
    let (status, _, xml) = soap(&org, path, &logout).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(element(&xml, "sf:exceptionCode"), "INVALID_SESSION_ID");
}

// ---------------------------------------------------------------------------------------------
// Session checks

#[tokio::test]
async fn missing_unknown_and_expired_sessions_get_401_invalid_session_id() {
    let org = TestOrg::start().await;
    let expected =
        json!([{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]);
    let none = Reply::from(org.client.get(org.data("/sobjects")).send().await.unwrap()).await;
    assert_eq!(
        (none.status, &none.json),
        (StatusCode::UNAUTHORIZED, &expected)
    );
    let unknown = Reply::from(
        org.client
            .get(org.data("/sobjects"))
            .bearer_auth("00Dnope!x")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (unknown.status, &unknown.json),
        (StatusCode::UNAUTHORIZED, &expected)
    );
    org.control().expire_sessions();
    let expired = org.get("/sobjects").await;
    assert_eq!(
        (expired.status, &expired.json),
        (StatusCode::UNAUTHORIZED, &expected)
    );
}

#[tokio::test]
async fn tokens_expire_after_the_token_lifetime_on_the_orgs_clock() {
    let org = TestOrg::with_config(clocked_config()).await;
    let reply = password_login(&org, ADMIN_PASSWORD).await;
    assert_eq!(reply.json["issued_at"], START.to_string());
    let token = str_of(&reply.json, "access_token").to_string();
    org.advance(2 * 3600 * 1000 - 1);
    assert_eq!(rest_status(&org, &token).await, StatusCode::OK);
    org.advance(1);
    let expired = Reply::from(
        org.client
            .get(org.data("/sobjects"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(expired.status, StatusCode::UNAUTHORIZED);
    assert_eq!(expired.error_code(), "INVALID_SESSION_ID");
}
