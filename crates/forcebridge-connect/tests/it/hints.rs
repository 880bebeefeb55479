//! What a failed login says to check, for each way the local org refuses one.

use forcebridge_client::RetryPolicy;
use forcebridge_connect::{ErrorKind, Flow, Profile, SecretKind, Secrets, check, client_builder};

use forcebridge_emulator::Config as OrgConfig;

use crate::support::{CLIENT_SECRET, Env, assert_no_secret, chain, secrets};

/// Checks `profile` with `secrets` (a real login), which must fail; returns the org's error
/// code and the hint, and makes sure no secret is in the message.
async fn refused(profile: &Profile, secrets: &Secrets) -> (Option<String>, &'static str) {
    let builder = client_builder(profile, secrets)
        .unwrap()
        .retry_policy(RetryPolicy::none());
    let error = check(builder, profile.flow).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Client);
    assert_no_secret(&chain(&error), &["wrong-password", "00Dxx!not-a-token"]);
    let code = error
        .client_error()
        .and_then(|e| e.error_code())
        .map(str::to_string);
    let hint = error
        .login_hint()
        .unwrap_or_else(|| panic!("no hint for {}", chain(&error)));
    (code, hint)
}

#[tokio::test]
async fn each_refusal_of_a_login_gets_its_hint() {
    let env = Env::new().await;
    let login = env.login();

    let mut profile = env.password_profile();
    let mut wrong = env.password_secrets();
    wrong.set(SecretKind::Password, "wrong-password".to_string().into());
    let (code, hint) = refused(&profile, &wrong).await;
    assert_eq!(code.as_deref(), Some("invalid_grant"));
    assert!(hint.contains("security token"), "{hint}");

    let mut wrong = env.password_secrets();
    wrong.set(SecretKind::ClientSecret, "wrong-secret".to_string().into());
    let (code, hint) = refused(&profile, &wrong).await;
    assert_eq!(code.as_deref(), Some("invalid_client"));
    assert!(hint.contains("consumer secret"), "{hint}");

    profile.client_id = Some("no-such-app".into());
    let (code, hint) = refused(&profile, &env.password_secrets()).await;
    assert_eq!(code.as_deref(), Some("invalid_client_id"));
    assert!(hint.contains("consumer key"), "{hint}");

    let mut profile = Profile::new(Flow::Web);
    profile.login_url = Some(login.url.clone());
    profile.client_id = Some(login.client_id.clone());
    let (code, hint) = refused(
        &profile,
        &secrets(&[(SecretKind::RefreshToken, "rt-never-issued")]),
    )
    .await;
    assert_eq!(code.as_deref(), Some("invalid_grant"));
    assert!(hint.contains("refresh token"), "{hint}");

    let mut profile = Profile::new(Flow::Token);
    profile.instance_url = Some(login.url.clone());
    let (code, hint) = refused(
        &profile,
        &secrets(&[(SecretKind::AccessToken, "00Dxx!not-a-token")]),
    )
    .await;
    // The client reports the refusal of a token it cannot renew as its own auth error.
    assert_eq!(code, None);
    assert!(hint.contains("access token"), "{hint}");
}

#[tokio::test]
async fn a_client_credentials_app_without_a_run_as_user_is_named() {
    let mut config = OrgConfig::builtin();
    config.apps[0].run_as = None;
    let env = Env::with_config(config).await;
    let login = env.login();
    let mut profile = Profile::new(Flow::ClientCredentials);
    profile.login_url = Some(login.url.clone());
    profile.client_id = Some(login.client_id.clone());
    let (code, hint) = refused(
        &profile,
        &secrets(&[(SecretKind::ClientSecret, CLIENT_SECRET)]),
    )
    .await;
    assert_eq!(code.as_deref(), Some("invalid_grant"));
    assert!(hint.contains("run-as user"), "{hint}");
}

#[tokio::test]
async fn an_org_that_cannot_be_reached_points_at_the_login_url() {
    let env = Env::new().await;
    let mut profile = env.password_profile();
    // A port that was free a moment ago, and on which nothing listens.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    profile.login_url = Some(format!("http://127.0.0.1:{port}"));
    let (code, hint) = refused(&profile, &env.password_secrets()).await;
    assert_eq!(code, None);
    assert!(hint.contains("login URL"), "{hint}");
}

#[tokio::test]
async fn an_org_over_https_with_a_private_authority_needs_the_ca_file() {
    let dir = tempfile::tempdir().unwrap();
    let trust_file = dir.path().join("ca.pem");
    let mut config = OrgConfig::builtin();
    config.apps[0].client_secret = CLIENT_SECRET.into();
    config.users[0].password = crate::support::PASSWORD.into();
    config.users[0].security_token = crate::support::SECURITY_TOKEN.into();
    let org = forcebridge_emulator::Emulator::start_tls(
        config,
        "127.0.0.1:0".parse().unwrap(),
        &trust_file,
    )
    .await
    .unwrap();
    let login = org.login();
    let mut profile = Profile::new(Flow::Password);
    profile.login_url = Some(login.url.clone());
    profile.client_id = Some(login.client_id.clone());
    profile.username = Some(login.username.clone());
    let secrets = secrets(&[
        (SecretKind::ClientSecret, CLIENT_SECRET),
        (SecretKind::Password, crate::support::PASSWORD),
        (SecretKind::SecurityToken, crate::support::SECURITY_TOKEN),
    ]);

    // Not trusted: one attempt (even with retries on), and the hint names the setting.
    let builder = client_builder(&profile, &secrets).unwrap();
    let error = check(builder, profile.flow).await.unwrap_err();
    let client_error = error.client_error().unwrap();
    assert!(client_error.is_certificate_error(), "{}", chain(&error));
    assert!(chain(&error).contains("not trusted"), "{}", chain(&error));
    assert!(error.login_hint().unwrap().contains("ca_file"));

    // Trusted through the profile's CA file.
    profile.ca_file = Some(trust_file.clone());
    let checked = check(client_builder(&profile, &secrets).unwrap(), profile.flow)
        .await
        .unwrap();
    assert!(checked.instance_url.starts_with("https://"));

    // A CA file that is not there is an error naming it.
    profile.ca_file = Some(dir.path().join("gone.pem"));
    let error = check(client_builder(&profile, &secrets).unwrap(), profile.flow)
        .await
        .unwrap_err();
    assert!(chain(&error).contains("gone.pem"), "{}", chain(&error));
}
