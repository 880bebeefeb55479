//! Every login flow against the local org: each one logs in and runs a query as the user it
//! should be; refusals carry the org's error code; and no secret reaches `Debug` output.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use forcebridge_client::{
    AccessTokenCredentials, Client, ClientCredentials, Credentials, ErrorKind, JwtCredentials,
    LoginUrl, PasswordCredentials, RefreshTokenCredentials, SecretString, Session,
    SoapLoginCredentials, WebLogin, WebServerFlow,
};
use forcebridge_client::{ApiVersion, ClientBuilder, ExposeSecret};
use forcebridge_emulator::Config;
use forcebridge_emulator::{
    AppConfig, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_USERNAME, UserConfig,
};

use crate::support::{TestOrg, quick_retries};

/// Test-only keys (see `tests/data/README.md`).
const TEST_KEY: &str = include_str!("../data/jwt-test-key.pem");
const TEST_CERT: &str = include_str!("../data/jwt-test-cert.pem");
const OTHER_KEY: &str = include_str!("../data/jwt-other-key.pem");

const JWT_APP: &str = "jwt-app";
const WEB_APP: &str = "web-app";
const WEB_SECRET: &str = "web-app-secret";
const ROTATING_APP: &str = "rotating-app";
const ROTATING_SECRET: &str = "rotating-app-secret";

/// A user whose name and password need XML escaping.
const ODD_USERNAME: &str = "o'brien&co@acme.local";
const ODD_PASSWORD: &str = "p&ss<word>\"1\"";
const ODD_TOKEN: &str = "TOKEN&<>";

fn key_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

/// The built-in org, approving authorizations at once, with a JWT app, a web app and a
/// rotating app whose callback is `callback`, and a user with an awkward name and password.
fn config(callback: &str) -> Config {
    let mut config = Config::builtin();
    config.auto_approve = true;
    config.users.push(UserConfig {
        username: ODD_USERNAME.to_string(),
        password: ODD_PASSWORD.to_string(),
        security_token: ODD_TOKEN.to_string(),
        first_name: "Pat".to_string(),
        last_name: "O'Brien".to_string(),
        email: "pat@acme.local".to_string(),
    });
    let app = |client_id: &str, secret: &str| AppConfig::new(client_id, secret, [callback]);
    config.apps.push(AppConfig {
        certificate_pem: Some(TEST_CERT.to_string()),
        ..app(JWT_APP, "jwt-secret")
    });
    config.apps.push(app(WEB_APP, WEB_SECRET));
    config.apps.push(AppConfig {
        rotate_refresh_tokens: true,
        ..app(ROTATING_APP, ROTATING_SECRET)
    });
    config
}

/// An org whose apps accept callbacks on a port bound here, and the listener on that port.
async fn web_org() -> (TestOrg, tokio::net::TcpListener, String) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let callback = format!(
        "http://127.0.0.1:{}/OauthRedirect",
        listener.local_addr().unwrap().port()
    );
    let org = TestOrg::with_config(config(&callback)).await;
    (org, listener, callback)
}

/// An org for the flows that need no callback.
async fn org() -> TestOrg {
    TestOrg::with_config(config("http://localhost:1717/OauthRedirect")).await
}

/// The username of the user the client is logged in as, read with a query.
/// A client from `builder`, with quick retries so tests stay fast.
fn build(builder: ClientBuilder) -> Client {
    builder.retry_policy(quick_retries()).build().unwrap()
}

async fn logged_in_as(client: &Client) -> String {
    let session = client.session().await.unwrap();
    let (_, user_id) = session.org_and_user_ids().expect("an identity URL");
    let user = client
        .query(format!("SELECT Username FROM User WHERE Id = '{user_id}'"))
        .fetch_one()
        .await
        .unwrap();
    user.get_str("Username").unwrap().to_string()
}

/// Opens `url` as a browser would, following redirects, while the login goes on; the final
/// page's text comes from the returned task.
fn browse(url: &str) -> tokio::task::JoinHandle<String> {
    let url = url.to_string();
    tokio::spawn(async move { reqwest::get(url).await.unwrap().text().await.unwrap() })
}

/// A query parameter of a URL.
fn query_param(url: &str, name: &str) -> Option<String> {
    reqwest::Url::parse(url)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

fn web_flow(org: &TestOrg, client_id: &str, callback: &str) -> WebServerFlow {
    WebServerFlow {
        redirect_uri: callback.to_string(),
        timeout: Duration::from_secs(10),
        ..WebServerFlow::new(org.login_url(), client_id)
    }
}

/// A web-server login of `flow` approved by the org, on `listener`.
async fn web_login(flow: &WebServerFlow, listener: tokio::net::TcpListener) -> WebLogin {
    let pending = flow.start_on(listener).await.unwrap();
    let browser = browse(pending.authorize_url());
    let login = pending.finish().await.unwrap();
    let page = browser.await.unwrap();
    assert!(page.contains("You are logged in"), "{page}");
    login
}

// Web-server flow

#[tokio::test]
async fn web_flow_with_pkce_logs_in_without_a_secret_and_refreshes_later() {
    let (org, listener, callback) = web_org().await;
    let flow = web_flow(&org, WEB_APP, &callback);
    assert!(flow.pkce, "PKCE is on by default");
    let pending = flow.start_on(listener).await.unwrap();
    assert_eq!(pending.redirect_uri(), callback);
    let url = pending.authorize_url().to_string();
    assert!(url.starts_with(&format!("{}/services/oauth2/authorize?", org.login_url())));
    assert_eq!(
        query_param(&url, "code_challenge_method").as_deref(),
        Some("S256")
    );
    assert_eq!(
        query_param(&url, "code_challenge").map(|c| c.len()),
        Some(43)
    );
    assert_eq!(
        query_param(&url, "redirect_uri").as_deref(),
        Some(callback.as_str())
    );
    assert_eq!(
        query_param(&url, "scope").as_deref(),
        Some("refresh_token api web")
    );

    let browser = browse(&url);
    let login = pending.finish().await.unwrap();
    let page = browser.await.unwrap();
    assert!(page.contains("You are logged in"), "{page}");
    assert!(login.session.refresh_token.is_some());
    let refresh = login.refresh.clone().expect("refresh credentials");
    assert!(refresh.client_secret.is_none());

    let client = build(login.client_builder());
    assert_eq!(logged_in_as(&client).await, DEFAULT_USERNAME);

    // Later, with only the refresh token: the client logs in with it.
    let later = build(Client::builder(refresh));
    assert_eq!(logged_in_as(&later).await, DEFAULT_USERNAME);
}

#[tokio::test]
async fn web_flow_without_pkce_sends_the_client_secret() {
    let (org, listener, callback) = web_org().await;
    let flow = WebServerFlow {
        pkce: false,
        client_secret: Some(WEB_SECRET.into()),
        ..web_flow(&org, WEB_APP, &callback)
    };
    let pending = flow.start_on(listener).await.unwrap();
    assert_eq!(query_param(pending.authorize_url(), "code_challenge"), None);
    let browser = browse(pending.authorize_url());
    let login = pending.finish().await.unwrap();
    assert!(browser.await.unwrap().contains("You are logged in"));
    let client = build(login.client_builder());
    assert_eq!(logged_in_as(&client).await, DEFAULT_USERNAME);
}

#[tokio::test]
async fn web_flow_without_pkce_or_secret_is_refused_by_the_org() {
    let (org, listener, callback) = web_org().await;
    let flow = WebServerFlow {
        pkce: false,
        ..web_flow(&org, WEB_APP, &callback)
    };
    let pending = flow.start_on(listener).await.unwrap();
    let browser = browse(pending.authorize_url());
    let error = pending.finish().await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Auth);
    assert_eq!(error.error_code(), Some("invalid_client"));
    // The browser is told the login failed, not that it worked.
    let page = browser.await.unwrap();
    assert!(page.contains("Login failed"), "{page}");
}

#[tokio::test]
async fn web_flow_rejects_a_callback_with_another_state() {
    let (org, listener, callback) = web_org().await;
    let pending = web_flow(&org, WEB_APP, &callback)
        .start_on(listener)
        .await
        .unwrap();
    let state = query_param(pending.authorize_url(), "state").unwrap();
    // A forged request: the org approves it, and its redirect carries the forged state.
    let forged = pending
        .authorize_url()
        .replace(&format!("state={state}"), "state=forged");
    let page = browse(&forged).await.unwrap();
    assert!(page.contains("does not belong to this login"), "{page}");
    let error = pending.finish().await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Auth);
    assert!(error.to_string().contains("state"), "{error}");
}

#[tokio::test]
async fn web_flow_surfaces_the_users_denial() {
    let (org, listener, callback) = web_org().await;
    let pending = web_flow(&org, WEB_APP, &callback)
        .start_on(listener)
        .await
        .unwrap();
    // The user presses Deny on the login page (which posts the request back with action=deny).
    let mut form: Vec<(String, String)> = reqwest::Url::parse(pending.authorize_url())
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect();
    form.push(("action".into(), "deny".into()));
    let page = reqwest::Client::new()
        .post(format!("{}/services/oauth2/authorize", org.login_url()))
        .form(&form)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("access_denied"), "{page}");
    let error = pending.finish().await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Auth);
    assert_eq!(error.error_code(), Some("access_denied"));
}

#[tokio::test]
async fn web_flow_on_port_zero_reports_the_bound_port_and_times_out() {
    let org = org().await;
    let flow = WebServerFlow {
        redirect_uri: "http://127.0.0.1:0/OauthRedirect".into(),
        timeout: Duration::from_millis(100),
        ..WebServerFlow::new(org.login_url(), WEB_APP)
    };
    let pending = flow.start().await.unwrap();
    let redirect = reqwest::Url::parse(pending.redirect_uri()).unwrap();
    assert_ne!(redirect.port(), Some(0));
    assert_eq!(redirect.path(), "/OauthRedirect");
    assert_eq!(
        query_param(pending.authorize_url(), "redirect_uri").as_deref(),
        Some(pending.redirect_uri())
    );
    // The listener answers on the bound port; other paths, and the path without an OAuth
    // answer, do not end the login.
    let other = reqwest::get(redirect.join("/favicon.ico").unwrap())
        .await
        .unwrap();
    assert_eq!(other.status(), 404);
    let bare = reqwest::get(redirect.as_str()).await.unwrap();
    assert_eq!(bare.status(), 400);

    let error = pending.finish().await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Auth);
    assert!(error.to_string().contains("no OAuth callback"), "{error}");
    // The listener is gone once the login is over.
    assert!(reqwest::get(redirect.as_str()).await.is_err());
}

#[tokio::test]
async fn web_flow_refuses_redirects_off_this_machine() {
    let flow = WebServerFlow {
        redirect_uri: "http://example.com:1717/OauthRedirect".into(),
        ..WebServerFlow::new(LoginUrl::production(), WEB_APP)
    };
    let error = flow.start().await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::NotSent);
    assert!(error.to_string().contains("not on this machine"), "{error}");
}

#[tokio::test]
async fn web_flow_exchanges_the_code_with_the_given_http_client() {
    // An org served over HTTPS by a local authority that only the given client trusts.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let callback = format!(
        "http://127.0.0.1:{}/OauthRedirect",
        listener.local_addr().unwrap().port()
    );
    let trust_file = std::env::temp_dir().join(format!(
        "forcebridge-client-auth-{}-{}.pem",
        std::process::id(),
        listener.local_addr().unwrap().port()
    ));
    let emulator = forcebridge_emulator::Emulator::start_tls(
        config(&callback),
        "127.0.0.1:0".parse().unwrap(),
        &trust_file,
    )
    .await
    .unwrap();
    let authority = reqwest::Certificate::from_pem(&std::fs::read(&trust_file).unwrap()).unwrap();
    let _ = std::fs::remove_file(&trust_file);
    let http = reqwest::Client::builder()
        .add_root_certificate(authority)
        .build()
        .unwrap();

    let flow = WebServerFlow {
        redirect_uri: callback,
        http: Some(http.clone()),
        ..WebServerFlow::new(LoginUrl::custom(emulator.url()).unwrap(), WEB_APP)
    };
    let pending = flow.start_on(listener).await.unwrap();
    let browser = {
        let (http, url) = (http.clone(), pending.authorize_url().to_string());
        tokio::spawn(async move { http.get(url).send().await.unwrap().text().await.unwrap() })
    };
    let login = pending.finish().await.unwrap();
    assert!(browser.await.unwrap().contains("You are logged in"));
    assert!(login.session.instance_url.starts_with("https://"));
}

// Refresh-token rotation

#[tokio::test]
async fn refresh_token_rotation_reaches_the_listener() {
    let (org, listener, callback) = web_org().await;
    let flow = WebServerFlow {
        client_secret: Some(ROTATING_SECRET.into()),
        ..web_flow(&org, ROTATING_APP, &callback)
    };
    let refresh = web_login(&flow, listener).await.refresh.unwrap();
    let original = refresh.refresh_token.expose_secret().to_string();

    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let sink = seen.clone();
    let client = Client::builder(refresh)
        .retry_policy(quick_retries())
        .on_refresh_token(move |token| sink.lock().unwrap().push(token.expose_secret().to_string()))
        .build()
        .unwrap();
    assert_eq!(logged_in_as(&client).await, DEFAULT_USERNAME);
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 1, "one rotation, one call");
    assert_ne!(seen[0], original);

    // The org retired the old token: only the new one works.
    let with = |token: &str| RefreshTokenCredentials {
        login_url: org.login_url(),
        client_id: ROTATING_APP.into(),
        client_secret: Some(ROTATING_SECRET.into()),
        refresh_token: token.into(),
    };
    let old = build(Client::builder(with(&original)));
    let error = old.session().await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Auth);
    let new = build(Client::builder(with(&seen[0])));
    assert_eq!(logged_in_as(&new).await, DEFAULT_USERNAME);
}

// Client credentials

#[tokio::test]
async fn client_credentials_log_in_as_the_run_as_user() {
    let org = org().await;
    let client = Client::builder(ClientCredentials {
        login_url: org.login_url(),
        client_id: DEFAULT_CLIENT_ID.into(),
        client_secret: DEFAULT_CLIENT_SECRET.into(),
    })
    .retry_policy(quick_retries())
    .build()
    .unwrap();
    assert_eq!(logged_in_as(&client).await, DEFAULT_USERNAME);
}

// JWT bearer

#[tokio::test]
async fn jwt_logs_in_from_a_key_file_and_again_after_revocation() {
    let org = org().await;
    let credentials = JwtCredentials::from_pem_file(
        org.login_url(),
        JWT_APP,
        ODD_USERNAME,
        key_path("jwt-test-key.pem"),
    )
    .unwrap();
    let client = build(Client::builder(credentials));
    assert_eq!(logged_in_as(&client).await, ODD_USERNAME);

    // Revoke the session: the next request logs in again with a freshly signed assertion.
    let first = client.session().await.unwrap();
    let revoked = reqwest::Client::new()
        .post(format!("{}/services/oauth2/revoke", org.login_url()))
        .form(&[("token", first.access_token.expose_secret())])
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 200);
    assert_eq!(logged_in_as(&client).await, ODD_USERNAME);
    let second = client.session().await.unwrap();
    assert_ne!(
        first.access_token.expose_secret(),
        second.access_token.expose_secret()
    );
}

#[tokio::test]
async fn jwt_signed_with_the_wrong_key_is_an_auth_error_with_the_oauth_code() {
    let org = org().await;
    let credentials =
        JwtCredentials::from_pem(org.login_url(), JWT_APP, DEFAULT_USERNAME, OTHER_KEY).unwrap();
    let client = build(Client::builder(credentials));
    let error = client.session().await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Auth);
    assert_eq!(error.error_code(), Some("invalid_grant"));
    assert_eq!(error.api_errors()[0].message, "invalid assertion");
}

#[tokio::test]
async fn jwt_key_problems_are_not_sent_name_the_path_and_never_show_the_key() {
    let missing = key_path("no-such-key.pem");
    let error =
        JwtCredentials::from_pem_file(LoginUrl::production(), JWT_APP, DEFAULT_USERNAME, &missing)
            .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::NotSent);
    assert!(
        error.to_string().contains(&missing.display().to_string()),
        "{error}"
    );

    // A key with a damaged body: refused before anything is sent, and not repeated.
    let damaged = TEST_KEY.replacen('A', "*", 40);
    let error = JwtCredentials::from_pem(LoginUrl::production(), JWT_APP, "u", damaged.as_str())
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::NotSent);
    let shown = format!("{error} {error:?}");
    for line in damaged.lines().filter(|l| !l.starts_with("-----")) {
        assert!(!shown.contains(line), "{shown}");
    }

    // The same key set through the public fields fails the first login the same way.
    let org = org().await;
    let client = Client::builder(JwtCredentials {
        login_url: org.login_url(),
        client_id: JWT_APP.into(),
        username: DEFAULT_USERNAME.into(),
        private_key: damaged.into(),
        audience: None,
    })
    .build()
    .unwrap();
    let error = client.session().await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::NotSent);
    assert_eq!(client.requests_sent(), 0);
}

// SOAP login

fn soap(org: &TestOrg, password: &str) -> SoapLoginCredentials {
    SoapLoginCredentials {
        login_url: org.login_url(),
        username: ODD_USERNAME.into(),
        password: password.into(),
        security_token: ODD_TOKEN.into(),
    }
}

#[tokio::test]
async fn soap_login_escapes_its_values_and_logs_in() {
    let org = org().await;
    let client = build(Client::builder(soap(&org, ODD_PASSWORD)));
    assert_eq!(logged_in_as(&client).await, ODD_USERNAME);
    let session = client.session().await.unwrap();
    assert_eq!(
        session.instance_url,
        org.emulator.url().trim_end_matches('/')
    );
}

#[tokio::test]
async fn soap_login_with_a_wrong_password_is_invalid_login() {
    let org = org().await;
    let client = build(Client::builder(soap(&org, "wrong")));
    let error = client.session().await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Auth);
    assert_eq!(error.error_code(), Some("INVALID_LOGIN"));
    assert!(error.to_string().contains("INVALID_LOGIN"), "{error}");
}

#[tokio::test]
async fn soap_login_uses_the_clients_api_version() {
    let org = org().await;
    // Salesforce retired login() from API 65.0 on; the org says so for the version asked.
    let client = Client::builder(soap(&org, ODD_PASSWORD))
        .api_version(ApiVersion::new(65))
        .retry_policy(quick_retries())
        .build()
        .unwrap();
    let error = client.session().await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Auth);
    assert_eq!(error.error_code(), Some("UNSUPPORTED_API_VERSION"));
}

// Redaction

#[tokio::test]
async fn debug_output_never_shows_a_secret() {
    let secrets = [
        "pw-SECRET-1",
        "token-SECRET-2",
        "client-SECRET-3",
        "refresh-SECRET-4",
        "access-SECRET-5",
    ];
    let [
        password,
        security_token,
        client_secret,
        refresh_token,
        access_token,
    ] = secrets;
    let login_url = LoginUrl::production();
    let credentials: Vec<Credentials> = vec![
        PasswordCredentials {
            login_url: login_url.clone(),
            client_id: "id".into(),
            client_secret: client_secret.into(),
            username: "me@example.com".into(),
            password: password.into(),
            security_token: security_token.into(),
        }
        .into(),
        ClientCredentials {
            login_url: login_url.clone(),
            client_id: "id".into(),
            client_secret: client_secret.into(),
        }
        .into(),
        RefreshTokenCredentials {
            login_url: login_url.clone(),
            client_id: "id".into(),
            client_secret: Some(client_secret.into()),
            refresh_token: refresh_token.into(),
        }
        .into(),
        AccessTokenCredentials {
            instance_url: "https://acme.my.salesforce.com".into(),
            access_token: access_token.into(),
        }
        .into(),
        JwtCredentials::from_pem(login_url.clone(), "id", "me@example.com", TEST_KEY)
            .unwrap()
            .into(),
        SoapLoginCredentials {
            login_url: login_url.clone(),
            username: "me@example.com".into(),
            password: password.into(),
            security_token: security_token.into(),
        }
        .into(),
    ];
    let mut session = Session::new(access_token, "https://acme.my.salesforce.com");
    session.refresh_token = Some(SecretString::from(refresh_token));
    let flow = WebServerFlow {
        client_secret: Some(client_secret.into()),
        ..WebServerFlow::new(login_url.clone(), "id")
    };
    let web_login = WebLogin {
        session: session.clone(),
        refresh: Some(RefreshTokenCredentials {
            login_url: login_url.clone(),
            client_id: "id".into(),
            client_secret: Some(client_secret.into()),
            refresh_token: refresh_token.into(),
        }),
    };

    // An auth error from the org, after sending every secret of the password flow.
    let org = org().await;
    let refused = Client::builder(PasswordCredentials {
        login_url: org.login_url(),
        client_id: DEFAULT_CLIENT_ID.into(),
        client_secret: client_secret.into(),
        username: DEFAULT_USERNAME.into(),
        password: password.into(),
        security_token: security_token.into(),
    })
    .retry_policy(quick_retries())
    .build()
    .unwrap();
    let error = refused.session().await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Auth);
    let soap_error = Client::builder(SoapLoginCredentials {
        login_url: org.login_url(),
        username: DEFAULT_USERNAME.into(),
        password: password.into(),
        security_token: security_token.into(),
    })
    .retry_policy(quick_retries())
    .build()
    .unwrap()
    .session()
    .await
    .unwrap_err();

    let mut shown = vec![
        format!("{session:?}"),
        format!("{flow:?}"),
        format!("{web_login:?}"),
        format!("{error:?}"),
        format!("{error}"),
        format!("{soap_error:?}"),
        format!("{refused:?}"),
    ];
    shown.extend(credentials.iter().map(|c| format!("{c:?}")));
    shown.extend(
        credentials
            .into_iter()
            .map(|c| format!("{:?}", Client::builder(c))),
    );
    let key_lines: Vec<&str> = TEST_KEY
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    for text in &shown {
        for secret in secrets {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
        for line in &key_lines {
            assert!(!text.contains(line), "key material in {text}");
        }
    }
}
