//! The one helper every test uses: a freshly started local org and a client logged in to it.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use forcebridge_client::auth::AuthContext;
use forcebridge_client::{
    Client, ClientBuilder, Credentials, LoginUrl, PasswordCredentials, RetryPolicy, Session,
    TokenSource,
};
use forcebridge_emulator::{Config, Emulator};
use forcebridge_emulator::{
    DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_PASSWORD, DEFAULT_SECURITY_TOKEN,
    DEFAULT_USERNAME,
};
use futures_util::FutureExt;
use futures_util::future::BoxFuture;

/// A started org.
pub(crate) struct TestOrg {
    pub emulator: Emulator,
}

impl TestOrg {
    /// An empty org.
    pub(crate) async fn start() -> TestOrg {
        TestOrg::with_config(Config::builtin()).await
    }

    /// An org with `records` generated records from a fixed seed.
    pub(crate) async fn seeded(records: u64) -> TestOrg {
        let mut config = Config::builtin();
        config.seed = Some(forcebridge_emulator::SeedConfig {
            seed: "client-tests".into(),
            records,
        });
        TestOrg::with_config(config).await
    }

    /// An empty org whose Account has an external id field `Ext__c`, for upserts.
    pub(crate) async fn with_external_id() -> TestOrg {
        let mut config = Config::builtin();
        config.schema = Config::from_toml(
            r#"
[[objects]]
name = "Account"
extends = true
fields = [{ name = "Ext__c", type = "string", length = 40, external_id = true }]
"#,
        )
        .unwrap()
        .schema;
        TestOrg::with_config(config).await
    }

    pub(crate) async fn with_config(config: Config) -> TestOrg {
        let emulator = Emulator::start(config, "127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        TestOrg { emulator }
    }

    pub(crate) fn login_url(&self) -> LoginUrl {
        LoginUrl::custom(self.emulator.url()).unwrap()
    }

    pub(crate) fn password(&self) -> PasswordCredentials {
        PasswordCredentials {
            login_url: self.login_url(),
            client_id: DEFAULT_CLIENT_ID.into(),
            client_secret: DEFAULT_CLIENT_SECRET.into(),
            username: DEFAULT_USERNAME.into(),
            password: DEFAULT_PASSWORD.into(),
            security_token: DEFAULT_SECURITY_TOKEN.into(),
        }
    }

    /// A builder logging in with the password flow, with quick retries so tests stay fast.
    pub(crate) fn builder(&self) -> ClientBuilder {
        Client::builder(self.password()).retry_policy(quick_retries())
    }

    pub(crate) fn client(&self) -> Client {
        self.builder().build().unwrap()
    }

    /// A client whose logins are counted.
    pub(crate) fn counted_client(&self) -> (Client, Arc<AtomicUsize>) {
        let (builder, logins) = self.counted_builder();
        (builder.build().unwrap(), logins)
    }

    /// A builder for a client whose logins are counted.
    pub(crate) fn counted_builder(&self) -> (ClientBuilder, Arc<AtomicUsize>) {
        let logins = Arc::new(AtomicUsize::new(0));
        let source = CountingSource {
            inner: self.password(),
            logins: logins.clone(),
        };
        let builder =
            Client::builder(Credentials::Custom(Arc::new(source))).retry_policy(quick_retries());
        (builder, logins)
    }

    /// Creates a record directly through the client, failing the test if the org refuses.
    pub(crate) async fn create(
        &self,
        client: &Client,
        object: &str,
        body: serde_json::Value,
    ) -> String {
        client.sobject(object).create(&body).await.unwrap()
    }
}

pub(crate) fn quick_retries() -> RetryPolicy {
    RetryPolicy {
        max_retries: 8,
        initial_delay: std::time::Duration::from_millis(5),
        max_delay: std::time::Duration::from_millis(50),
        ..RetryPolicy::standard()
    }
}

/// Password logins, counted.
#[derive(Debug)]
struct CountingSource {
    inner: PasswordCredentials,
    logins: Arc<AtomicUsize>,
}

impl TokenSource for CountingSource {
    fn login<'a>(
        &'a self,
        context: &'a AuthContext,
        previous: Option<&'a Session>,
    ) -> BoxFuture<'a, forcebridge_client::Result<Session>> {
        async move {
            self.logins.fetch_add(1, Ordering::SeqCst);
            self.inner.login(context, previous).await
        }
        .boxed()
    }
}
