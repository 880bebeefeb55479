//! Saving, listing, getting, removing and choosing the default connection; where settings and
//! secrets end up, and that a connection whose login fails is never saved.

use forcebridge_client::ExposeSecret;
use forcebridge_connect::{ErrorKind, SecretKind, SecretLocation};

use crate::support::{CLIENT_SECRET, Env, PASSWORD, SECRETS, assert_no_secret, chain, read};

#[tokio::test]
async fn a_checked_connection_is_saved_listed_and_removed_with_its_secrets() {
    let env = Env::new().await;
    let checked = env.add_password("prod").await;
    let connections = env.connections();

    // The check recorded who and where.
    let profile = connections.get("prod").unwrap();
    let verified = profile.verified.as_ref().unwrap();
    assert_eq!(
        verified.username.as_deref(),
        Some(env.login().username.as_str())
    );
    assert!(verified.org_id.as_deref().unwrap().starts_with("00D"));
    assert_eq!(
        profile.instance_url.as_deref(),
        Some(checked.instance_url.as_str())
    );
    assert_eq!(profile.secrets, SecretLocation::File);
    let stored = connections.secrets("prod").unwrap();
    assert_eq!(
        stored.get(SecretKind::Password).unwrap().expose_secret(),
        PASSWORD
    );

    // The first connection saved is the default; later ones are not, until asked.
    env.add_password("dev").await;
    let listing = connections.list().unwrap();
    assert_eq!(listing.profiles.keys().collect::<Vec<_>>(), ["dev", "prod"]);
    assert_eq!(listing.default.as_deref(), Some("prod"));
    connections.set_default("dev").unwrap();
    assert_eq!(connections.list().unwrap().default.as_deref(), Some("dev"));
    let error = connections.set_default("nope").unwrap_err();
    assert_eq!(error.kind(), ErrorKind::NotFound);

    // Removing the default forgets it, its secrets, and that it was the default.
    assert!(connections.remove("dev").unwrap());
    let listing = connections.list().unwrap();
    assert_eq!(listing.profiles.keys().collect::<Vec<_>>(), ["prod"]);
    assert_eq!(listing.default, None);
    assert!(!read(&env.file("secrets.toml")).contains("[connections.dev]"));
    assert!(read(&env.file("secrets.toml")).contains("[connections.prod]"));
    assert!(!connections.remove("dev").unwrap());
    assert_eq!(
        connections.get("dev").unwrap_err().kind(),
        ErrorKind::NotFound
    );
}

#[tokio::test]
async fn secrets_go_to_a_private_file_and_never_to_the_profiles_file() {
    let env = Env::new().await;
    env.add_password("prod").await;

    let profiles = read(&env.file("connections.toml"));
    assert!(profiles.contains("[connections.prod]"), "{profiles}");
    assert_no_secret(&profiles, &[]);
    let secrets = read(&env.file("secrets.toml"));
    for secret in SECRETS {
        assert!(
            secrets.contains(secret),
            "a secret is missing from the file"
        );
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode =
            |path: &std::path::Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&env.file("secrets.toml")), 0o600);
        assert_eq!(mode(&env.home()), 0o700);
    }
}

#[tokio::test]
async fn a_refused_login_saves_nothing() {
    let env = Env::new().await;
    let connections = env.connections();
    let mut secrets = env.password_secrets();
    secrets.set(SecretKind::Password, "not-the-password".to_string().into());
    let error = connections
        .add("prod", &env.password_profile(), &secrets)
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Client);
    assert_eq!(
        error.client_error().unwrap().error_code(),
        Some("invalid_grant")
    );
    assert!(error.login_hint().unwrap().contains("security token"));
    assert_no_secret(&chain(&error), &["not-the-password"]);
    assert!(!env.file("connections.toml").exists());
    assert!(!env.file("secrets.toml").exists());

    // A connection that already works is left as it was by a failed replacement.
    env.add_password("prod").await;
    let before = (
        read(&env.file("connections.toml")),
        read(&env.file("secrets.toml")),
    );
    let mut profile = env.password_profile();
    profile.client_id = Some("no-such-app".into());
    let error = connections
        .add_or_replace("prod", &profile, &env.password_secrets())
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Client);
    let after = (
        read(&env.file("connections.toml")),
        read(&env.file("secrets.toml")),
    );
    assert_eq!(before, after);
    assert!(after.1.contains(CLIENT_SECRET));
}

#[tokio::test]
async fn adding_never_replaces_a_saved_connection_and_replacing_does_after_a_check() {
    let env = Env::new().await;
    env.add_password("prod").await;
    let before = read(&env.file("connections.toml"));
    let connections = env.connections();
    let mut profile = env.password_profile();
    profile.read_only = true;
    let error = connections
        .add("prod", &profile, &env.password_secrets())
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Exists);
    assert_eq!(
        error.to_string(),
        "a connection named \"prod\" already exists"
    );
    assert_eq!(read(&env.file("connections.toml")), before);

    connections
        .add_or_replace("prod", &profile, &env.password_secrets())
        .await
        .unwrap();
    assert!(connections.get("prod").unwrap().read_only);
    // A name not saved yet is simply added.
    connections
        .add_or_replace("dev", &env.password_profile(), &env.password_secrets())
        .await
        .unwrap();
    assert_eq!(connections.list().unwrap().profiles.len(), 2);
}
