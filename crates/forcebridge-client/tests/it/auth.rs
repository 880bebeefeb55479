//! Every login flow against the local org: each one logs in and runs a query as the user it
//! should be; refusals carry the org's error code; and no secret reaches `Debug` output.

use std::path::PathBuf;

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
pub(crate) const WEB_APP: &str = "web-app";
pub(crate) const WEB_SECRET: &str = "web-app-secret";
pub(crate) const ROTATING_APP: &str = "rotating-app";
pub(crate) const ROTATING_SECRET: &str = "rotating-app-secret";

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
pub(crate) fn config(callback: &str) -> Config {
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

/// An org for the flows that need no callback.
pub(crate) async fn org() -> TestOrg {
    TestOrg::with_config(config("http://localhost:1717/OauthRedirect")).await
}

/// A client from `builder`, with quick retries so tests stay fast.
pub(crate) fn build(builder: ClientBuilder) -> Client {
    builder.retry_policy(quick_retries()).build().unwrap()
}

/// The username of the user the client is logged in as, read with a query.
pub(crate) async fn logged_in_as(client: &Client) -> String {
    let session = client.session().await.unwrap();
    let (_, user_id) = session.org_and_user_ids().expect("an identity URL");
    let user = client
        .query(format!("SELECT Username FROM User WHERE Id = '{user_id}'"))
        .fetch_one()
        .await
        .unwrap();
    user.get_str("Username").unwrap().to_string()
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
