//! Retries, faults, re-login under load, API usage and the budget guard.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use forcebridge_client::{ApiBudget, ErrorKind, RetryPolicy};
use forcebridge_emulator::FaultConfig;
use futures_util::TryStreamExt;
use serde_json::json;

use crate::support::TestOrg;

#[tokio::test]
async fn faulty_org_still_gives_complete_results_without_duplicates() {
    let org = TestOrg::seeded(3000).await;
    let client = org.client();
    let expected: HashSet<String> = client
        .query("SELECT Id FROM Contact")
        .fetch_all()
        .await
        .unwrap()
        .iter()
        .map(|r| r.id().unwrap().to_string())
        .collect();

    org.emulator.set_faults(FaultConfig {
        error_rate: 0.25,
        reset_rate: 0.25,
        latency: Duration::from_millis(2),
        ..FaultConfig::none()
    });
    let sent_before = client.requests_sent();
    let mut seen = HashSet::new();
    let mut stream = client
        .query("SELECT Id FROM Contact")
        .batch_size(200)
        .stream();
    while let Some(record) = stream.try_next().await.unwrap() {
        assert!(
            seen.insert(record.id().unwrap().to_string()),
            "duplicate record"
        );
    }
    assert_eq!(seen, expected);

    // Updates are idempotent, so they are retried through the faults too.
    let id = expected.iter().next().unwrap();
    let updates = 40;
    for n in 0..updates {
        client
            .sobject("Contact")
            .update(id, &json!({"Title": format!("T{n}")}))
            .await
            .unwrap();
    }
    // A page escapes both faults with a chance of 0.75 * 0.75; an update (204, no body to
    // cut) escapes the 503s with 0.75. That no call at all was retried has a chance below
    // 0.75^40, about 1 in 100,000.
    let calls = expected.len().div_ceil(200) as u64 + updates;
    let sent = client.requests_sent() - sent_before;
    assert!(
        sent > calls,
        "some requests must have been retried: {sent} sent for {calls} calls"
    );
}

#[tokio::test]
async fn creates_are_not_retried_after_a_cut_connection() {
    let org = TestOrg::start().await;
    let client = org.client();
    client
        .query("SELECT Id FROM Account")
        .fetch_all()
        .await
        .unwrap();
    org.emulator.set_faults(FaultConfig {
        reset_rate: 1.0,
        ..FaultConfig::none()
    });
    let sent = client.requests_sent();
    let error = client
        .sobject("Account")
        .create(&json!({"Name": "Once"}))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Transport);
    assert_eq!(client.requests_sent(), sent + 1, "one attempt only");
    org.emulator.set_faults(FaultConfig::none());
    // The org did the work; the client never heard, and did not do it twice.
    let count = client
        .query("SELECT COUNT() FROM Account")
        .total_size()
        .await
        .unwrap();
    assert_eq!(count, 1);
}

#[tokio::test]
async fn retries_give_up_after_the_policy_with_the_last_error() {
    let org = TestOrg::start().await;
    let client = org
        .builder()
        .retry_policy(RetryPolicy {
            max_retries: 2,
            initial_delay: Duration::from_millis(1),
            ..RetryPolicy::standard()
        })
        .build()
        .unwrap();
    client.session().await.unwrap();
    org.emulator.set_faults(FaultConfig {
        error_rate: 1.0,
        ..FaultConfig::none()
    });
    let error = client.limits().await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Api);
    assert_eq!(error.status(), Some(503));
    assert_eq!(error.error_code(), Some("SERVER_UNAVAILABLE"));
    assert_eq!(client.requests_sent(), 3);
}

#[tokio::test]
async fn many_requests_refused_at_once_log_in_again_only_once() {
    let org = TestOrg::start().await;
    let (client, logins) = org.counted_client();
    client.limits().await.unwrap();
    assert_eq!(logins.load(Ordering::SeqCst), 1);
    org.emulator.control().expire_sessions();
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { client.limits().await })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    assert_eq!(logins.load(Ordering::SeqCst), 2, "single-flight re-login");
}

#[tokio::test]
async fn a_kept_session_is_used_until_it_expires_or_is_refused_and_new_ones_are_reported() {
    use forcebridge_client::{ExposeSecret, Session};
    let org = TestOrg::start().await;
    let reported = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let counted = |kept: Session| {
        let reported = reported.clone();
        let (builder, logins) = org.counted_builder();
        let client = builder
            .session(kept)
            .on_session(move |session: &Session| {
                reported
                    .lock()
                    .unwrap()
                    .push(session.access_token.expose_secret().to_string());
            })
            .build()
            .unwrap();
        (client, logins)
    };
    let now = chrono::Utc::now().timestamp_millis();

    // A live session kept from before: no login at all, and nothing to report.
    let mut kept = Session::new(org.emulator.access_token(), org.emulator.url());
    kept.expires_at = Some(now + 3_600_000);
    let (client, logins) = counted(kept.clone());
    client.limits().await.unwrap();
    assert_eq!(logins.load(Ordering::SeqCst), 0);
    assert!(reported.lock().unwrap().is_empty());

    // One known to have expired is replaced before anything is sent with it.
    kept.expires_at = Some(now - 1);
    let (client, logins) = counted(kept.clone());
    let session = client.session().await.unwrap();
    assert_eq!(logins.load(Ordering::SeqCst), 1);
    assert_ne!(
        session.access_token.expose_secret(),
        kept.access_token.expose_secret()
    );
    client.limits().await.unwrap();
    assert_eq!(logins.load(Ordering::SeqCst), 1);
    assert_eq!(
        *reported.lock().unwrap(),
        [session.access_token.expose_secret().to_string()]
    );

    // One whose expiry is unknown but that the org refuses: one login, on the spot.
    let refused = Session::new("00Dxx!revoked", org.emulator.url());
    let (client, logins) = counted(refused);
    client.limits().await.unwrap();
    assert_eq!(logins.load(Ordering::SeqCst), 1);
    assert_eq!(reported.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn api_usage_is_read_from_every_response_and_the_budget_stops_the_client() {
    let mut config = forcebridge_emulator::Config::builtin();
    config.daily_api_requests = 10;
    let org = TestOrg::with_config(config).await;
    let client = org
        .builder()
        .api_budget(ApiBudget { share: 0.5 })
        .build()
        .unwrap();
    assert_eq!(client.api_usage(), None);
    let mut answered = 0;
    let error = loop {
        match client.limits().await {
            Ok(_) => answered += 1,
            Err(error) => break error,
        }
    };
    assert_eq!(answered, 5);
    assert_eq!(error.kind(), ErrorKind::Limit);
    assert!(error.to_string().contains("5 of 10"), "{error}");
    let usage = client.api_usage().unwrap();
    assert_eq!((usage.used, usage.max), (5, 10));

    // Without a budget, the org's own refusal is a limit error too.
    let unguarded = org.client();
    let error = loop {
        if let Err(error) = unguarded.limits().await {
            break error;
        }
    };
    assert_eq!(error.kind(), ErrorKind::Limit);
    assert_eq!(error.error_code(), Some("REQUEST_LIMIT_EXCEEDED"));
    assert_eq!(error.status(), Some(403));
}

#[tokio::test]
async fn bad_credentials_are_an_auth_error_with_the_oauth_code() {
    let org = TestOrg::start().await;
    let mut credentials = org.password();
    credentials.password = "wrong".into();
    let client = forcebridge_client::Client::builder(credentials)
        .build()
        .unwrap();
    let error = client.limits().await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Auth);
    assert_eq!(error.error_code(), Some("invalid_grant"));
    assert_eq!(error.status(), Some(400));
    assert!(
        !format!("{error:?}").contains("wrong"),
        "no secret in Debug"
    );
}

#[tokio::test]
async fn an_access_token_that_expires_cannot_be_refreshed() {
    let org = TestOrg::start().await;
    let client = forcebridge_client::Client::builder(forcebridge_client::AccessTokenCredentials {
        instance_url: org.emulator.url().to_string(),
        access_token: org.emulator.access_token().into(),
    })
    .build()
    .unwrap();
    client.limits().await.unwrap();
    org.emulator.control().expire_sessions();
    let error = client.limits().await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Auth);
    assert!(error.to_string().contains("cannot be refreshed"), "{error}");
}

#[tokio::test]
async fn the_concurrency_cap_bounds_requests_in_flight() {
    let org = TestOrg::start().await;
    org.emulator.set_faults(FaultConfig {
        latency: Duration::from_millis(50),
        ..FaultConfig::none()
    });
    let client = org.builder().max_concurrent_requests(2).build().unwrap();
    client.session().await.unwrap();
    let started = std::time::Instant::now();
    let tasks: Vec<_> = (0..6)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { client.limits().await })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    // Six requests of at least 50 ms, two at a time: at least three rounds.
    assert!(
        started.elapsed() >= Duration::from_millis(150),
        "{:?}",
        started.elapsed()
    );
}

/// One scripted answer: status, headers and body.
type Answer = (u16, Vec<(&'static str, &'static str)>, &'static str);

/// A one-route server that answers from a script: each request takes the next answer.
async fn scripted_server(
    answers: Vec<Answer>,
) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use axum::http::StatusCode;
    use axum::response::IntoResponse;
    let answers = std::sync::Arc::new(answers);
    let served = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = served.clone();
    let app = axum::Router::new().fallback(move || {
        let answers = answers.clone();
        let counter = counter.clone();
        async move {
            let n = counter
                .fetch_add(1, Ordering::SeqCst)
                .min(answers.len() - 1);
            let (status, headers, body) = &answers[n];
            let mut response = (StatusCode::from_u16(*status).unwrap(), *body).into_response();
            for (name, value) in headers {
                response
                    .headers_mut()
                    .insert(*name, axum::http::HeaderValue::from_static(value));
            }
            response
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, served)
}

fn token_client(url: &str, policy: RetryPolicy) -> forcebridge_client::Client {
    forcebridge_client::Client::builder(forcebridge_client::AccessTokenCredentials {
        instance_url: url.to_string(),
        access_token: "token".into(),
    })
    .retry_policy(policy)
    .build()
    .unwrap()
}

const UNAVAILABLE: &str = r#"[{"message":"try later","errorCode":"SERVER_UNAVAILABLE"}]"#;

#[tokio::test(start_paused = true)]
async fn backoff_doubles_between_attempts_on_a_paused_clock() {
    let (url, served) = scripted_server(vec![
        (503, vec![], UNAVAILABLE),
        (503, vec![], UNAVAILABLE),
        (503, vec![], UNAVAILABLE),
        (200, vec![], "{}"),
    ])
    .await;
    let client = token_client(
        &url,
        RetryPolicy {
            max_retries: 3,
            initial_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(10),
            jitter: false,
            ..RetryPolicy::standard()
        },
    );
    let started = tokio::time::Instant::now();
    client
        .raw(forcebridge_client::Method::GET, "limits")
        .send()
        .await
        .unwrap();
    let elapsed = started.elapsed();
    assert_eq!(served.load(Ordering::SeqCst), 4);
    // 100 + 200 + 400 ms of backoff; the requests themselves take no virtual time.
    assert!(
        (Duration::from_millis(700)..Duration::from_millis(710)).contains(&elapsed),
        "{elapsed:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn jitter_keeps_each_delay_between_one_and_two_times_the_backoff() {
    let (url, _) = scripted_server(vec![(503, vec![], UNAVAILABLE)]).await;
    let client = token_client(
        &url,
        RetryPolicy {
            max_retries: 3,
            initial_delay: Duration::from_millis(100),
            jitter: true,
            ..RetryPolicy::standard()
        },
    );
    let started = tokio::time::Instant::now();
    let error = client.limits().await.unwrap_err();
    assert_eq!(error.status(), Some(503));
    let elapsed = started.elapsed();
    assert!(
        (Duration::from_millis(700)..=Duration::from_millis(1410)).contains(&elapsed),
        "{elapsed:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn retry_after_replaces_the_backoff_and_a_long_one_is_not_waited_for() {
    let (url, served) = scripted_server(vec![
        (429, vec![("retry-after", "7")], UNAVAILABLE),
        (200, vec![], "{}"),
    ])
    .await;
    let client = token_client(&url, RetryPolicy::standard());
    let started = tokio::time::Instant::now();
    client.limits().await.unwrap();
    let elapsed = started.elapsed();
    assert_eq!(served.load(Ordering::SeqCst), 2);
    assert!(
        (Duration::from_secs(7)..Duration::from_millis(7010)).contains(&elapsed),
        "{elapsed:?}"
    );

    // A create is retried after a 429 (refused before any work), but not after a 503.
    let (url, served) = scripted_server(vec![(503, vec![], UNAVAILABLE)]).await;
    let client = token_client(&url, RetryPolicy::standard());
    let error = client
        .sobject("Account")
        .create(&json!({"Name": "X"}))
        .await
        .unwrap_err();
    assert_eq!(error.status(), Some(503));
    assert_eq!(served.load(Ordering::SeqCst), 1);

    let (url, served) =
        scripted_server(vec![(503, vec![("retry-after", "3600")], UNAVAILABLE)]).await;
    let client = token_client(&url, RetryPolicy::standard());
    let started = tokio::time::Instant::now();
    let error = client.limits().await.unwrap_err();
    assert_eq!(error.status(), Some(503));
    assert_eq!(
        served.load(Ordering::SeqCst),
        1,
        "an hour is longer than max_retry_after"
    );
    assert!(started.elapsed() < Duration::from_millis(10));
}

#[tokio::test(start_paused = true)]
async fn logins_retry_server_errors_but_not_refusals() {
    use forcebridge_client::{LoginUrl, PasswordCredentials, SoapLoginCredentials};
    const UNAVAILABLE_LOGIN: &str = "<html>maintenance</html>";
    const TOKEN: &str = r#"{"access_token":"00Dx!tok","instance_url":"http://127.0.0.1:1","id":"http://127.0.0.1:1/id/00D000000000001AAA/005000000000001AAA","token_type":"Bearer","issued_at":"1","signature":"x"}"#;
    let password = |url: &str| PasswordCredentials {
        login_url: LoginUrl::custom(url).unwrap(),
        client_id: "id".into(),
        client_secret: "secret".into(),
        username: "me@example.com".into(),
        password: "pw".into(),
        security_token: "".into(),
    };

    // Two 503s, then a token: the OAuth login goes through on the third try.
    let (url, served) = scripted_server(vec![
        (503, vec![], UNAVAILABLE_LOGIN),
        (503, vec![], UNAVAILABLE_LOGIN),
        (200, vec![("content-type", "application/json")], TOKEN),
    ])
    .await;
    let client = forcebridge_client::Client::builder(password(&url))
        .retry_policy(RetryPolicy::standard())
        .build()
        .unwrap();
    let session = client.session().await.unwrap();
    assert_eq!(session.instance_url, "http://127.0.0.1:1");
    assert_eq!(served.load(Ordering::SeqCst), 3);

    // A refusal is final: one request, an Auth error with the org's code.
    let (url, served) = scripted_server(vec![(
        400,
        vec![("content-type", "application/json")],
        r#"{"error":"invalid_grant","error_description":"authentication failure"}"#,
    )])
    .await;
    let client = forcebridge_client::Client::builder(password(&url))
        .build()
        .unwrap();
    let error = client.session().await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Auth);
    assert_eq!(error.error_code(), Some("invalid_grant"));
    assert_eq!(served.load(Ordering::SeqCst), 1);

    // The SOAP login shares the loop: a 503 is retried until the policy runs out.
    let (url, served) = scripted_server(vec![(503, vec![], UNAVAILABLE_LOGIN)]).await;
    let client = forcebridge_client::Client::builder(SoapLoginCredentials {
        login_url: LoginUrl::custom(&url).unwrap(),
        username: "me@example.com".into(),
        password: "pw".into(),
        security_token: "".into(),
    })
    .retry_policy(RetryPolicy {
        max_retries: 2,
        ..RetryPolicy::standard()
    })
    .build()
    .unwrap();
    let error = client.session().await.unwrap_err();
    assert_eq!(error.status(), Some(503));
    assert_eq!(served.load(Ordering::SeqCst), 3);
}

/// Every message in `error`'s chain, outermost first, as the CLI prints them (`{:#}`).
fn chain(error: &(dyn std::error::Error + 'static)) -> Vec<String> {
    let mut messages = vec![error.to_string()];
    let mut cause = error.source();
    while let Some(next) = cause {
        messages.push(next.to_string());
        cause = next.source();
    }
    messages
}

#[tokio::test]
async fn an_unreachable_org_is_a_transport_error_that_sent_nothing_and_says_each_thing_once() {
    // A port nothing listens on: the connection is refused.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let client = token_client(&url, RetryPolicy::none());
    let soql = "SELECT Id, Name FROM Account WHERE Name = 'Needle'";
    let error = client.query(soql).fetch_all().await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Transport);
    assert!(error.is_not_sent(), "a refused connection sends nothing");
    let messages = chain(&error);
    assert_eq!(
        messages[0],
        "GET /services/data/v60.0/query: could not connect"
    );
    assert!(messages.len() > 1, "the cause is kept as the source");
    // Each layer says its own part: no message holds the next one, and nothing names the
    // query string.
    for pair in messages.windows(2) {
        assert!(!pair[0].contains(&pair[1]), "{messages:#?}");
    }
    let printed = messages.join(": ");
    for secret_ish in ["?q=", "Needle", "SELECT", &url] {
        assert!(!printed.contains(secret_ish), "{secret_ish} in {printed}");
    }
}

#[tokio::test]
async fn a_request_that_cannot_be_built_is_not_sent_and_not_retried() {
    let org = TestOrg::start().await;
    let client = org.client();
    client.session().await.unwrap();
    let sent = client.requests_sent();
    // Longer than any URL the HTTP stack can carry.
    let path = format!("/services/data/v60.0/query?q={}", "x".repeat(70_000));
    let error = client
        .raw(forcebridge_client::Method::GET, &path)
        .send()
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::NotSent);
    assert!(error.is_not_sent());
    assert_eq!(client.requests_sent(), sent + 1, "one attempt, no retries");
    let printed = chain(&error).join(": ");
    assert!(printed.len() < 300, "{printed}");
    assert!(!printed.contains("xxxx"), "{printed}");
}

#[tokio::test]
async fn a_get_too_long_for_salesforce_and_without_a_composite_form_is_refused_before_sending() {
    let org = TestOrg::start().await;
    let client = org.client();
    client.session().await.unwrap();
    let sent = client.requests_sent();
    let error = client
        .raw(forcebridge_client::Method::GET, "limits")
        .query("filler", "x".repeat(20_000))
        .send()
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::NotSent);
    assert!(
        error
            .to_string()
            .starts_with("GET /services/data/v60.0/limits: not sent: its URL would be"),
        "{error}"
    );
    assert_eq!(client.requests_sent(), sent);
}

#[tokio::test]
async fn an_error_the_org_answered_is_not_not_sent() {
    let org = TestOrg::start().await;
    let client = org.client();
    let error = client
        .query("SELECT NoSuchField__c FROM Account")
        .fetch_all()
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Api);
    assert!(!error.is_not_sent(), "the org saw it and refused it");
}
