//! The web-server flow in two steps, as a web service runs it from two routes: the authorize
//! URL, then the callback's code exchanged. The org approves at once (`auto_approve`) and the
//! test follows its redirect itself: no listener.

use std::sync::{Arc, Mutex};

use forcebridge_client::auth::{AuthorizeRequest, OAuthCallback};
use forcebridge_client::{
    Client, ErrorKind, ExposeSecret, RefreshTokenCredentials, WebLogin, WebServerFlow,
};
use forcebridge_emulator::DEFAULT_USERNAME;

use crate::auth::{
    ROTATING_APP, ROTATING_SECRET, WEB_APP, WEB_SECRET, build, config, logged_in_as,
};
use crate::support::{TestOrg, quick_retries};

/// The service's callback route: registered with the app, never listened on.
const CALLBACK: &str = "https://app.example.com/oauth/callback";

async fn web_org() -> TestOrg {
    TestOrg::with_config(config(CALLBACK)).await
}

fn flow(org: &TestOrg, client_id: &str) -> WebServerFlow {
    WebServerFlow {
        redirect_uri: CALLBACK.to_string(),
        ..WebServerFlow::new(org.login_url(), client_id)
    }
}

/// What the browser brings back to the callback: the org's redirect, read without following
/// it.
async fn callback_of(response: reqwest::Response) -> OAuthCallback {
    assert!(response.status().is_redirection(), "{}", response.status());
    let location = response.headers()["location"].to_str().unwrap().to_string();
    assert!(location.starts_with(CALLBACK), "{location}");
    OAuthCallback::from_query(
        reqwest::Url::parse(&location)
            .unwrap()
            .query()
            .unwrap_or(""),
    )
}

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// The browser's visit to the authorize URL, approved by the org.
async fn approve(url: &str) -> OAuthCallback {
    callback_of(no_redirects().get(url).send().await.unwrap()).await
}

/// Both steps, with the request stored between them as a service would (serialized).
async fn two_step_login(flow: &WebServerFlow) -> WebLogin {
    let request = flow.authorize().unwrap();
    let stored = serde_json::to_string(&request).unwrap();
    let callback = approve(&request.url).await;
    let request: AuthorizeRequest = serde_json::from_str(&stored).unwrap();
    flow.exchange(&request, &callback).await.unwrap()
}

fn query_param(url: &str, name: &str) -> Option<String> {
    reqwest::Url::parse(url)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

#[tokio::test]
async fn two_steps_with_pkce_log_in_without_a_secret_and_refresh_later() {
    let org = web_org().await;
    let flow = flow(&org, WEB_APP);
    let request = flow.authorize().unwrap();
    assert!(
        request
            .url
            .starts_with(&format!("{}/services/oauth2/authorize?", org.login_url()))
    );
    assert_eq!(
        query_param(&request.url, "state"),
        Some(request.state.clone())
    );
    assert_eq!(
        query_param(&request.url, "redirect_uri").as_deref(),
        Some(CALLBACK)
    );
    assert_eq!(
        query_param(&request.url, "code_challenge_method").as_deref(),
        Some("S256")
    );
    assert!(request.code_verifier.is_some());

    let login = two_step_login(&flow).await;
    assert!(login.session.refresh_token.is_some());
    let refresh = login.refresh.clone().expect("refresh credentials");
    assert!(refresh.client_secret.is_none());
    let client = build(login.client_builder());
    assert_eq!(logged_in_as(&client).await, DEFAULT_USERNAME);
    let later = build(Client::builder(refresh));
    assert_eq!(logged_in_as(&later).await, DEFAULT_USERNAME);
}

#[tokio::test]
async fn two_steps_without_pkce_send_the_client_secret_and_need_it() {
    let org = web_org().await;
    let with_secret = WebServerFlow {
        pkce: false,
        client_secret: Some(WEB_SECRET.into()),
        ..flow(&org, WEB_APP)
    };
    let request = with_secret.authorize().unwrap();
    assert_eq!(query_param(&request.url, "code_challenge"), None);
    assert!(request.code_verifier.is_none());
    let login = two_step_login(&with_secret).await;
    assert_eq!(
        logged_in_as(&build(login.client_builder())).await,
        DEFAULT_USERNAME
    );

    // Neither a verifier nor a secret: the org refuses the exchange.
    let bare = WebServerFlow {
        pkce: false,
        ..flow(&org, WEB_APP)
    };
    let request = bare.authorize().unwrap();
    let callback = approve(&request.url).await;
    let error = bare.exchange(&request, &callback).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Auth);
    assert_eq!(error.error_code(), Some("invalid_client"));
}

#[tokio::test]
async fn a_callback_with_another_state_is_refused_and_its_code_is_not_spent() {
    let org = web_org().await;
    let flow = flow(&org, WEB_APP);
    let request = flow.authorize().unwrap();
    let callback = approve(&request.url).await;
    // The callback answers another login (another browser's, or a forged one).
    let other = flow.authorize().unwrap();
    let error = flow.exchange(&other, &callback).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Auth);
    assert!(error.is_not_sent());
    assert!(
        error.to_string().contains("state does not match"),
        "{error}"
    );
    // Nothing was sent, so the code still works for the login it belongs to.
    let login = flow.exchange(&request, &callback).await.unwrap();
    assert_eq!(
        logged_in_as(&build(login.client_builder())).await,
        DEFAULT_USERNAME
    );
}

#[tokio::test]
async fn a_denied_authorization_is_an_auth_error_with_the_orgs_code() {
    let org = web_org().await;
    let flow = flow(&org, WEB_APP);
    let request = flow.authorize().unwrap();
    // The user presses Deny on the login page, which posts the request back.
    let mut form: Vec<(String, String)> = reqwest::Url::parse(&request.url)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect();
    form.push(("action".into(), "deny".into()));
    let denied = no_redirects()
        .post(format!("{}/services/oauth2/authorize", org.login_url()))
        .form(&form)
        .send()
        .await
        .unwrap();
    let callback = callback_of(denied).await;
    assert_eq!(callback.error.as_deref(), Some("access_denied"));
    let error = flow.exchange(&request, &callback).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Auth);
    assert_eq!(error.error_code(), Some("access_denied"));
    assert!(error.is_not_sent());
}

#[tokio::test]
async fn refresh_token_rotation_reaches_the_listener() {
    let org = web_org().await;
    let flow = WebServerFlow {
        client_secret: Some(ROTATING_SECRET.into()),
        ..flow(&org, ROTATING_APP)
    };
    let refresh = two_step_login(&flow).await.refresh.unwrap();
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
