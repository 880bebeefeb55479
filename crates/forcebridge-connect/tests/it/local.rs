//! The local org as a target: started in this process, logged in to like a real org, and gone
//! when its connection is.

use forcebridge_connect::{Connection, LocalOrgOptions, Target};

use crate::support::Env;

/// Opens a small local org through the saved connections (which it does not need) and logs
/// in; returns it with its base URL.
async fn local_org() -> (Connection, String) {
    let env = Env::new().await;
    let connection = env
        .connections()
        .connect(&Target::Local(LocalOrgOptions { records: 50 }))
        .await
        .unwrap();
    connection.login().await.unwrap();
    let url = connection
        .client()
        .session()
        .await
        .unwrap()
        .instance_url
        .clone();
    // Nothing was saved for it.
    assert!(!env.file("connections.toml").exists());
    (connection, url)
}

/// Whether anything accepts connections at `url`'s address.
async fn serving(url: &str) -> bool {
    let address = url.trim_start_matches("http://");
    tokio::net::TcpStream::connect(address).await.is_ok()
}

#[tokio::test]
async fn the_local_org_has_demo_data_and_stops_when_closed() {
    let (connection, url) = local_org().await;
    assert_eq!(connection.label(), "the local org");
    assert!(connection.is_local());
    assert_eq!(connection.name(), None);
    assert!(connection.profile().is_none());
    let accounts = connection
        .client()
        .query("SELECT COUNT() FROM Account")
        .total_size()
        .await
        .unwrap();
    assert!(accounts > 0);
    assert!(serving(&url).await);

    connection.close().await;
    assert!(
        !serving(&url).await,
        "the local org still accepts connections"
    );
}

#[tokio::test]
async fn a_dropped_local_org_stops_serving() {
    let (connection, url) = local_org().await;
    drop(connection);
    // Dropping only tells the server to stop (it cannot wait for it), so this waits for the
    // listener to close, and gives up after ten seconds.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while serving(&url).await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the local org still accepts connections 10 s after its connection was dropped"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn a_local_org_can_be_started_without_any_saved_connections() {
    let connection = Connection::start_local(LocalOrgOptions { records: 0 })
        .await
        .unwrap();
    connection.login().await.unwrap();
    let users = connection
        .client()
        .query("SELECT Id FROM User")
        .total_size()
        .await
        .unwrap();
    assert!(users > 0);
    connection.close().await;
}
