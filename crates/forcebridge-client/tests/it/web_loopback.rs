//! The web-server flow's one-shot loopback listener (feature `loopback`), as the CLI uses it:
//! the browser (here, a spawned request that follows redirects) is sent back to a listener on
//! this machine, which hands the callback to the flow's second step.

use std::time::Duration;

use forcebridge_client::{Client, ErrorKind, LoginUrl, WebServerFlow};
use forcebridge_emulator::DEFAULT_USERNAME;

use crate::auth::{WEB_APP, WEB_SECRET, build, config, logged_in_as, org};
use crate::support::TestOrg;

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
