//! The session cache: a connection logs in once and keeps the session with its secrets, so the
//! next uses (another command, a server's next start) send no token request until the session
//! is missing, expired or refused; and a kept session never serves other settings, another
//! user, or secrets from the environment.

use forcebridge_client::{ExposeSecret, Session};
use forcebridge_connect::{Connection, Connections, Profile, Target};
use forcebridge_emulator::Config as OrgConfig;
use forcebridge_emulator::UserConfig;

use crate::support::{Env, LoginCounter, PASSWORD, SECURITY_TOKEN, read};

/// Opens connection `name` as a new command would (new `Connections`, new client), logs in
/// and makes one API call; returns the connection.
async fn use_connection(connections: &Connections, name: &str) -> Connection {
    let connection = connections
        .connect(&Target::Named(name.to_string()))
        .await
        .unwrap();
    connection.login().await.unwrap();
    connection.client().limits().await.unwrap();
    connection
}

/// The password profile of `env`, logging in through `counter`.
fn counted_profile(env: &Env, counter: &LoginCounter) -> Profile {
    let mut profile = env.password_profile();
    profile.login_url = Some(counter.url.clone());
    profile
}

/// The access token kept in the secrets file.
fn kept_token(env: &Env) -> String {
    let file = read(&env.file("secrets.toml"));
    let line = file
        .lines()
        .find(|l| l.starts_with("access_token = "))
        .unwrap_or_else(|| panic!("no kept session in the secrets file"));
    line.trim_start_matches("access_token = ")
        .trim_matches('"')
        .to_string()
}

#[tokio::test]
async fn uses_in_a_row_cost_one_login() {
    let env = Env::new().await;
    let counter = LoginCounter::start(&env.emulator).await;
    env.connections()
        .add(
            "prod",
            &counted_profile(&env, &counter),
            &env.password_secrets(),
        )
        .await
        .unwrap();
    assert_eq!(counter.count(), 1, "the check logs in");
    let token = kept_token(&env);

    // Two more uses, each as a new process would: no token request at all.
    for _ in 0..2 {
        use_connection(&env.connections(), "prod").await;
    }
    assert_eq!(counter.count(), 1);
    assert_eq!(kept_token(&env), token);

    // Without a kept session, the first use logs in and keeps the new one for the next.
    env.connections().forget_session("prod").unwrap();
    assert_eq!(env.connections().cached_session("prod").unwrap(), None);
    use_connection(&env.connections(), "prod").await;
    use_connection(&env.connections(), "prod").await;
    assert_eq!(counter.count(), 2);
    assert_ne!(kept_token(&env), token);

    // The token is kept with the secrets only: the file stays the owner's, the profiles
    // file never sees it, and nothing shown about the session holds it.
    let token = kept_token(&env);
    assert!(!read(&env.file("connections.toml")).contains(&token));
    let info = env.connections().cached_session("prod").unwrap().unwrap();
    assert!(info.usable, "{info:?}");
    assert!(!format!("{info:?}").contains(&token));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(env.file("secrets.toml"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

#[tokio::test]
async fn an_expired_or_refused_kept_session_costs_one_login_and_is_replaced() {
    let env = Env::new().await;
    let counter = LoginCounter::start(&env.emulator).await;
    let connections = env.connections();
    connections
        .add(
            "prod",
            &counted_profile(&env, &counter),
            &env.password_secrets(),
        )
        .await
        .unwrap();
    assert_eq!(counter.count(), 1);

    // A kept session known to have expired is never sent: one login replaces it.
    let mut expired = Session::new("00Dxx!expired-token", env.emulator.url());
    expired.expires_at = Some(chrono::Utc::now().timestamp_millis() - 1);
    connections.cache_session("prod", &expired).unwrap();
    let info = connections.cached_session("prod").unwrap().unwrap();
    assert_eq!(info.unusable, Some("it has expired"));
    let connection = use_connection(&env.connections(), "prod").await;
    assert_eq!(counter.count(), 2);
    let replaced = kept_token(&env);
    assert_ne!(replaced, "00Dxx!expired-token");
    assert_eq!(
        connection
            .client()
            .session()
            .await
            .unwrap()
            .access_token
            .expose_secret(),
        replaced
    );

    // One whose expiry is unknown but that the org no longer accepts (revoked): the first
    // request is refused, the client logs in once, and the new session is kept.
    let revoked = reqwest::Client::new()
        .post(format!("{}/services/oauth2/revoke", env.emulator.url()))
        .form(&[("token", replaced.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 200);
    use_connection(&env.connections(), "prod").await;
    assert_eq!(counter.count(), 3);
    let newest = kept_token(&env);
    assert_ne!(newest, replaced);
    use_connection(&env.connections(), "prod").await;
    assert_eq!(counter.count(), 3, "the new session was kept");
}

#[tokio::test]
async fn a_kept_session_never_serves_other_settings_or_the_environments_secrets() {
    let mut config = OrgConfig::builtin();
    config.users.push(UserConfig {
        username: "second@forcebridge.local".into(),
        password: PASSWORD.into(),
        security_token: SECURITY_TOKEN.into(),
        first_name: "Second".into(),
        last_name: "User".into(),
        email: "second@forcebridge.local".into(),
    });
    let env = Env::with_config(config).await;
    let counter = LoginCounter::start(&env.emulator).await;
    env.connections()
        .add(
            "prod",
            &counted_profile(&env, &counter),
            &env.password_secrets(),
        )
        .await
        .unwrap();

    // The profiles file is edited by hand to log in as another user: the kept session (the
    // first user's) is not used, and the one used is the second user's.
    let profiles = read(&env.file("connections.toml"));
    let first = env.login().username;
    assert!(profiles.contains(&first), "{profiles}");
    let edited = profiles
        .replace(
            &format!("username = \"{first}\""),
            "username = \"second@forcebridge.local\"",
        )
        // What the last check verified no longer holds either.
        .lines()
        .filter(|line| !line.starts_with("user_id") && !line.starts_with("org_id"))
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(env.file("connections.toml"), edited).unwrap();
    let info = env.connections().cached_session("prod").unwrap().unwrap();
    assert_eq!(
        info.unusable,
        Some("it was issued for other connection settings")
    );
    let connection = use_connection(&env.connections(), "prod").await;
    assert_eq!(counter.count(), 2);
    let user = connection.client().user_info().await.unwrap();
    assert_eq!(user.preferred_username, "second@forcebridge.local");

    // Secrets from the environment: the kept session is neither used nor replaced.
    let kept = kept_token(&env);
    let connections = env.connections_with_env(&[("FORCEBRIDGE_PASSWORD", PASSWORD)]);
    use_connection(&connections, "prod").await;
    use_connection(&connections, "prod").await;
    assert_eq!(counter.count(), 4, "a login each time");
    assert_eq!(kept_token(&env), kept);
}
