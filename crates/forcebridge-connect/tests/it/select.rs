//! Choosing a connection: an explicit name, else the one `FORCEBRIDGE_CONNECTION` names, else
//! the default, else an error that lists what is saved (or says how to add one).

use forcebridge_connect::{Connections, ErrorKind, Target};

use crate::support::Env;

/// The name of the connection `target` opens, or the error's kind and message.
async fn chosen(connections: &Connections, target: Target) -> Result<String, (ErrorKind, String)> {
    match connections.connect(&target).await {
        Ok(connection) => {
            assert_eq!(
                connection.label(),
                format!("connection {:?}", connection.name().unwrap())
            );
            assert!(!connection.is_local());
            Ok(connection.name().unwrap().to_string())
        }
        Err(error) => Err((error.kind(), error.to_string())),
    }
}

fn named(name: &str) -> Target {
    Target::Named(name.to_string())
}

#[tokio::test]
async fn an_explicit_name_wins_over_the_environment_which_wins_over_the_default() {
    let env = Env::new().await;
    for name in ["a", "b", "c"] {
        env.save_password(name);
    }
    let plain = env.connections();
    let from_env = env.connections_with_env(&[("FORCEBRIDGE_CONNECTION", "b")]);
    assert_eq!(chosen(&plain, Target::Default).await.unwrap(), "a");
    assert_eq!(chosen(&from_env, Target::Default).await.unwrap(), "b");
    assert_eq!(chosen(&from_env, named("c")).await.unwrap(), "c");
    assert_eq!(
        chosen(&plain, Target::from_name(Some("c".into())))
            .await
            .unwrap(),
        "c"
    );
    assert_eq!(chosen(&plain, Target::from_name(None)).await.unwrap(), "a");
    // A server that must not follow the environment sets (or leaves out) the name itself.
    let pinned = env.connections().with_env_connection(Some("c".into()));
    assert_eq!(chosen(&pinned, Target::Default).await.unwrap(), "c");
}

#[tokio::test]
async fn a_name_that_is_not_saved_is_an_error_listing_the_saved_ones() {
    let env = Env::new().await;
    env.save_password("prod");
    env.save_password("dev");
    let (kind, message) = chosen(&env.connections(), named("staging"))
        .await
        .unwrap_err();
    assert_eq!(kind, ErrorKind::NotFound);
    assert_eq!(
        message,
        "no connection named \"staging\"; saved connections: dev, prod (default)"
    );
    // The environment's name is checked too, and the message says where it came from.
    let from_env = env.connections_with_env(&[("FORCEBRIDGE_CONNECTION", "staging")]);
    let (kind, message) = chosen(&from_env, Target::Default).await.unwrap_err();
    assert_eq!(kind, ErrorKind::NotFound);
    assert!(message.contains("FORCEBRIDGE_CONNECTION"), "{message}");
    assert!(message.contains("dev, prod (default)"), "{message}");
}

#[tokio::test]
async fn without_a_default_one_saved_connection_is_used_and_several_are_listed() {
    let env = Env::new().await;
    for name in ["a", "b", "c"] {
        env.save_password(name);
    }
    let connections = env.connections();
    connections.remove("a").unwrap(); // the default
    let (kind, message) = chosen(&connections, Target::Default).await.unwrap_err();
    assert_eq!(kind, ErrorKind::NotFound);
    assert!(message.contains("none is the default"), "{message}");
    assert!(message.contains("saved connections: b, c"), "{message}");
    assert!(
        message.contains("forcebridge connect default NAME"),
        "{message}"
    );

    connections.remove("b").unwrap();
    assert_eq!(chosen(&connections, Target::Default).await.unwrap(), "c");
}

#[tokio::test]
async fn with_nothing_saved_the_error_says_how_to_add_a_connection() {
    let env = Env::new().await;
    let (kind, message) = chosen(&env.connections(), Target::Default)
        .await
        .unwrap_err();
    assert_eq!(kind, ErrorKind::NotFound);
    assert_eq!(
        message,
        "no connection was named, and none is saved yet: add one with `forcebridge connect add NAME`"
    );
    let (_, message) = chosen(&env.connections(), named("prod")).await.unwrap_err();
    assert!(
        message.starts_with("no connection named \"prod\", and none is saved yet"),
        "{message}"
    );
}

#[tokio::test]
async fn the_environment_chooses_the_directory_and_the_secret_store() {
    let env = Env::new().await;
    env.save_password("prod");
    // FORCEBRIDGE_HOME is this home: the connection saved there is found.
    let connections = env.connections_with_env(&[]);
    assert_eq!(connections.paths().profiles, env.file("connections.toml"));
    assert_eq!(chosen(&connections, Target::Default).await.unwrap(), "prod");

    let error = forcebridge_connect::Config::from_lookup(|name| match name {
        "FORCEBRIDGE_HOME" => Some(env.home().display().to_string()),
        "FORCEBRIDGE_SECRETS" => Some("vault".to_string()),
        _ => None,
    })
    .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Invalid);
    assert!(
        error
            .to_string()
            .starts_with("FORCEBRIDGE_SECRETS=\"vault\""),
        "{error}"
    );
    assert!(
        error.to_string().contains("file, keychain or auto"),
        "{error}"
    );
}
