//! Logging in with a saved connection: environment secrets override the stored ones, a
//! refresh token the org rotates is written back, and a read-only connection refuses writes
//! before anything is sent.

use std::collections::BTreeMap;

use forcebridge_client::{ErrorKind as ClientKind, ExposeSecret};
use forcebridge_connect::{Connection, Connections, ErrorKind, Flow, Profile, SecretKind, Target};
use forcebridge_emulator::Config as OrgConfig;

use crate::support::{CLIENT_SECRET, Env, PASSWORD, read, secrets};

/// Opens connection `name` of `connections` and logs in.
async fn open(connections: &Connections, name: &str) -> forcebridge_connect::Result<Connection> {
    let connection = connections
        .connect(&Target::Named(name.to_string()))
        .await?;
    connection.login().await?;
    Ok(connection)
}

#[tokio::test]
async fn environment_secrets_override_the_stored_ones_and_are_never_written() {
    let env = Env::new().await;
    // Stored with a wrong password: only the environment's makes it work.
    let mut stored = env.password_secrets();
    stored.set(SecretKind::Password, "stale-password".to_string().into());
    env.connections()
        .save("prod", &env.password_profile(), &stored)
        .unwrap();
    assert_eq!(
        open(&env.connections(), "prod").await.unwrap_err().kind(),
        ErrorKind::Client
    );

    let connections = env.connections_with_env(&[("FORCEBRIDGE_PASSWORD", PASSWORD)]);
    let connection = open(&connections, "prod").await.unwrap();
    assert!(
        connection
            .client()
            .query("SELECT Id FROM User")
            .total_size()
            .await
            .unwrap()
            > 0
    );
    let effective = connections.secrets("prod").unwrap();
    assert_eq!(
        effective.get(SecretKind::Password).unwrap().expose_secret(),
        PASSWORD
    );
    assert!(connections.env_secret(SecretKind::Password).is_some());
    let file = read(&env.file("secrets.toml"));
    assert!(file.contains("stale-password") && !file.contains(PASSWORD));

    // A wrong secret in the environment wins over a right stored one, too, and the failed
    // login says what to check.
    env.add_password("good").await;
    let connections = env.connections_with_env(&[("FORCEBRIDGE_CLIENT_SECRET", "wrong-secret")]);
    let error = open(&connections, "good").await.unwrap_err();
    assert_eq!(error.to_string(), "cannot log in to connection \"good\"");
    assert!(
        error
            .login_hint()
            .unwrap()
            .contains("FORCEBRIDGE_CLIENT_SECRET")
    );
}

/// A refresh token for the org's first app, got as a browser and a web app would: an
/// approved authorization request, then the code exchanged at the token endpoint.
async fn refresh_token(env: &Env, callback: &str) -> String {
    let login = env.login();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let authorized = http
        .get(format!("{}/services/oauth2/authorize", login.url))
        .query(&[
            ("response_type", "code"),
            ("client_id", login.client_id.as_str()),
            ("redirect_uri", callback),
            ("scope", "api refresh_token"),
        ])
        .send()
        .await
        .unwrap();
    let location = authorized.headers()["location"].to_str().unwrap();
    let code = reqwest::Url::parse(location)
        .unwrap()
        .query_pairs()
        .find(|(name, _)| name == "code")
        .map(|(_, code)| code.into_owned())
        .unwrap_or_else(|| panic!("no code in {location}"));
    #[derive(serde::Deserialize)]
    struct Token {
        refresh_token: String,
    }
    let token: Token = http
        .post(format!("{}/services/oauth2/token", login.url))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("client_id", login.client_id.as_str()),
            ("client_secret", CLIENT_SECRET),
            ("redirect_uri", callback),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    token.refresh_token
}

#[tokio::test]
async fn a_refresh_token_the_org_rotates_is_written_back() {
    let callback = "http://127.0.0.1:1/OauthRedirect";
    let mut config = OrgConfig::builtin();
    config.apps[0].callback_urls = vec![callback.to_string()];
    // Every refresh hands out a new refresh token and retires the one it was given.
    config.apps[0].rotate_refresh_tokens = true;
    config.auto_approve = true;
    let env = Env::with_config(config).await;
    let login = env.login();
    let mut profile = Profile::new(Flow::Web);
    profile.login_url = Some(login.url.clone());
    profile.client_id = Some(login.client_id.clone());
    profile.redirect_uri = Some(callback.to_string());
    let first = refresh_token(&env, callback).await;

    // The check itself refreshes once: what is saved is the token it got in exchange.
    env.connections()
        .add(
            "web",
            &profile,
            &secrets(&[
                (SecretKind::ClientSecret, CLIENT_SECRET),
                (SecretKind::RefreshToken, &first),
            ]),
        )
        .await
        .unwrap();
    let stored = |connections: &Connections| {
        let secrets = connections.secrets("web").unwrap();
        secrets
            .get(SecretKind::RefreshToken)
            .unwrap()
            .expose_secret()
            .to_string()
    };
    let mut previous = first;
    // Each login works only if the one before it stored the token the org handed out. (The
    // kept session is forgotten first: with it, opening the connection sends no login.)
    for _ in 0..3 {
        let connections = env.connections();
        connections.forget_session("web").unwrap();
        open(&connections, "web").await.unwrap();
        let now = stored(&connections);
        assert_ne!(now, previous, "the rotated refresh token was not stored");
        assert!(read(&env.file("secrets.toml")).contains(&now));
        assert!(!read(&env.file("connections.toml")).contains(&now));
        previous = now;
    }
}

#[tokio::test]
async fn a_read_only_connection_refuses_writes_before_sending() {
    let env = Env::new().await;
    let mut profile = env.password_profile();
    profile.read_only = true;
    env.connections()
        .add("ro", &profile, &env.password_secrets())
        .await
        .unwrap();
    let connections = env.connections();
    let connection = open(&connections, "ro").await.unwrap();
    assert!(connection.profile().unwrap().read_only);
    let client = connection.client();
    let sent = client.requests_sent();
    let error = client
        .sobject("Account")
        .create(&BTreeMap::from([("Name", "Should not exist")]))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ClientKind::NotSent);
    assert!(error.to_string().contains("read-only"), "{error}");
    assert_eq!(client.requests_sent(), sent, "a request went out");
    // Reads still work.
    let n = client
        .query("SELECT COUNT() FROM Account WHERE Name = 'Should not exist'")
        .total_size()
        .await
        .unwrap();
    assert_eq!(n, 0);
}
