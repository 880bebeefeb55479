//! The client and its builder: one value, cheap to clone, that every call goes through.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;
use tokio::sync::Semaphore;

use crate::auth::{
    AuthContext, Credentials, RefreshTokenListener, Session, SessionListener, TokenCache,
};
use crate::error::{Error, Result};
use crate::retry::RetryPolicy;
use crate::sobject::DescribeCache;
use crate::types::ApiVersion;
use crate::usage::{ApiBudget, ApiUsage, UsageTracker};

/// Whether a client may change data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Every request is sent (the default).
    ReadWrite,
    /// Every request that could change data (creates, updates, deletes, Bulk ingest, composite
    /// writes) is refused before it leaves, with an [`ErrorKind::NotSent`](crate::ErrorKind)
    /// error. Queries, describes, searches and Bulk queries still work.
    ReadOnly,
}

/// A Salesforce API client: a logged-in session (refreshed when it expires), a pinned API
/// version, retries, API usage tracking and a concurrency cap.
///
/// `Client` is an `Arc` inside: clone it freely, and pass it to tasks. Every future and stream
/// it returns is `Send + 'static`.
///
/// ```no_run
/// # async fn demo() -> forcebridge_client::Result<()> {
/// use forcebridge_client::{Client, LoginUrl, PasswordCredentials};
///
/// let client = Client::builder(PasswordCredentials {
///     login_url: LoginUrl::production(),
///     client_id: "3MVG9...".into(),
///     client_secret: "secret".into(),
///     username: "me@example.com".into(),
///     password: "password".into(),
///     security_token: "token".into(),
/// })
/// .build()?;
/// let n = client.query("SELECT COUNT() FROM Account").total_size().await?;
/// println!("{n} accounts");
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct Client {
    pub(crate) inner: Arc<ClientInner>,
}

#[derive(Debug)]
pub(crate) struct ClientInner {
    pub(crate) http: reqwest::Client,
    pub(crate) tokens: TokenCache,
    pub(crate) version: ApiVersion,
    pub(crate) retry: RetryPolicy,
    pub(crate) budget: Option<ApiBudget>,
    pub(crate) access: Access,
    pub(crate) permits: Semaphore,
    pub(crate) usage: UsageTracker,
    pub(crate) describes: DescribeCache,
    pub(crate) query_batch_size: Option<u32>,
}

/// Builds a [`Client`]. Only the credentials are required; everything else has a default.
#[must_use]
pub struct ClientBuilder {
    credentials: Credentials,
    initial_session: Option<Session>,
    version: ApiVersion,
    retry: RetryPolicy,
    budget: Option<ApiBudget>,
    access: Access,
    max_concurrent_requests: usize,
    timeout: Duration,
    connect_timeout: Duration,
    root_certificates: Vec<RootCertificate>,
    listener: Option<RefreshTokenListener>,
    session_listener: Option<SessionListener>,
    describe_max_age: Duration,
    query_batch_size: Option<u32>,
    user_agent: String,
}

impl std::fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("credentials", &self.credentials)
            .field("version", &self.version)
            .field("access", &self.access)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Starts building a client that logs in with `credentials`.
    pub fn builder(credentials: impl Into<Credentials>) -> ClientBuilder {
        ClientBuilder {
            credentials: credentials.into(),
            initial_session: None,
            version: ApiVersion::DEFAULT,
            retry: RetryPolicy::standard(),
            budget: None,
            access: Access::ReadWrite,
            max_concurrent_requests: 8,
            timeout: Duration::from_secs(120),
            connect_timeout: Duration::from_secs(30),
            root_certificates: Vec::new(),
            listener: None,
            session_listener: None,
            describe_max_age: Duration::ZERO,
            query_batch_size: None,
            user_agent: format!("forcebridge/{}", env!("CARGO_PKG_VERSION")),
        }
    }

    /// The API version every request uses.
    pub fn api_version(&self) -> ApiVersion {
        self.inner.version
    }

    /// Whether this client refuses writes.
    pub fn access(&self) -> Access {
        self.inner.access
    }

    /// The current session, logging in first if the client has not yet. Use it to check
    /// credentials, or to read the instance URL and identity.
    pub async fn session(&self) -> Result<Arc<Session>> {
        Ok(self.inner.tokens.session().await?.1)
    }

    /// The org's API usage as its latest response reported it (`Sforce-Limit-Info`); `None`
    /// before the first response.
    pub fn api_usage(&self) -> Option<ApiUsage> {
        self.inner.usage.latest()
    }

    /// How many HTTP requests this client (and its clones) has sent, retries included.
    pub fn requests_sent(&self) -> u64 {
        self.inner.usage.sent()
    }

    /// The org's clock as of its latest API answer (the `Date` header, whole seconds in UTC);
    /// `None` before the first answer. A replica reads "now" here rather than from this
    /// machine's clock, which may disagree with the org's.
    pub fn server_time(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        self.inner.usage.server_time()
    }
}

impl ClientBuilder {
    /// Starts from a session obtained earlier (for example by [`crate::auth`]'s web-server
    /// flow, or kept from an earlier run), so the first request needs no login. A session
    /// known to have expired ([`Session::is_expired`]) is replaced by a login before it is
    /// used; one the org refuses, by a login on the spot.
    pub fn session(mut self, session: Session) -> ClientBuilder {
        self.initial_session = Some(session);
        self
    }

    /// Pins the API version (default `60.0`).
    pub fn api_version(mut self, version: ApiVersion) -> ClientBuilder {
        self.version = version;
        self
    }

    /// How failed requests, logins included, are retried (default
    /// [`RetryPolicy::standard`]).
    pub fn retry_policy(mut self, policy: RetryPolicy) -> ClientBuilder {
        self.retry = policy;
        self
    }

    /// Refuses requests once the org reports its daily API usage at or above the budget's
    /// share of the limit.
    pub fn api_budget(mut self, budget: ApiBudget) -> ClientBuilder {
        self.budget = Some(budget);
        self
    }

    /// Whether the client may change data (default [`Access::ReadWrite`]).
    pub fn access(mut self, access: Access) -> ClientBuilder {
        self.access = access;
        self
    }

    /// How many requests may be in flight at once across all clones (default 8).
    pub fn max_concurrent_requests(mut self, n: usize) -> ClientBuilder {
        self.max_concurrent_requests = n;
        self
    }

    /// How long one request may take, body included (default 120 s).
    pub fn timeout(mut self, timeout: Duration) -> ClientBuilder {
        self.timeout = timeout;
        self
    }

    /// How long connecting to a server may take (default 30 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> ClientBuilder {
        self.connect_timeout = timeout;
        self
    }

    /// Trusts one more certificate authority (PEM, one certificate or several), such as a
    /// local org's, besides the system's. [`ClientBuilder::build`] fails if it holds no
    /// certificate.
    pub fn add_root_certificate_pem(mut self, pem: &[u8]) -> ClientBuilder {
        self.root_certificates
            .push(RootCertificate::Pem(pem.to_vec()));
        self
    }

    /// Trusts the certificate authorities in a PEM file (such as the `ca.pem` that
    /// `forcebridge emulator --tls` writes), besides the system's. The file is read by
    /// [`ClientBuilder::build`], which fails with an error naming it when it cannot be read
    /// or holds no certificate.
    pub fn add_root_certificate_file(mut self, path: impl Into<PathBuf>) -> ClientBuilder {
        self.root_certificates
            .push(RootCertificate::File(path.into()));
        self
    }

    /// Called with each new refresh token when the org rotates it, so it can be stored.
    pub fn on_refresh_token(
        mut self,
        listener: impl Fn(&SecretString) + Send + Sync + 'static,
    ) -> ClientBuilder {
        self.listener = Some(Arc::new(listener));
        self
    }

    /// Called with every session the client logs in for: the first login, and each later one
    /// (after the org refused a session, or it expired). Not called for a session given to
    /// [`ClientBuilder::session`]. A caller keeps the session to start from it next time
    /// instead of logging in again (forcebridge-connect's session cache does); the listener
    /// runs while the login is in progress, so keep it short.
    pub fn on_session(
        mut self,
        listener: impl Fn(&Session) + Send + Sync + 'static,
    ) -> ClientBuilder {
        self.session_listener = Some(Arc::new(listener));
        self
    }

    /// How long a cached describe is used without asking the org; after that it is
    /// revalidated with `If-Modified-Since` (default zero: always revalidated).
    pub fn describe_max_age(mut self, max_age: Duration) -> ClientBuilder {
        self.describe_max_age = max_age;
        self
    }

    /// The default page size of queries (`Sforce-Query-Options: batchSize`), 200 to 2000.
    pub fn query_batch_size(mut self, n: u32) -> ClientBuilder {
        self.query_batch_size = Some(n);
        self
    }

    /// The `User-Agent` header sent with every request, logins included (default
    /// `forcebridge/{crate version}`).
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> ClientBuilder {
        self.user_agent = user_agent.into();
        self
    }

    /// Builds the client. No request is sent; the first call logs in.
    pub fn build(self) -> Result<Client> {
        if self.max_concurrent_requests == 0 {
            return Err(Error::not_sent(
                "max_concurrent_requests must be at least 1",
            ));
        }
        if let Some(budget) = &self.budget
            && !(0.0..=1.0).contains(&budget.share)
        {
            return Err(Error::not_sent(format!(
                "an API budget is a share of the daily limit between 0 and 1, not {}",
                budget.share
            )));
        }
        if let Some(n) = self.query_batch_size {
            crate::query::check_batch_size(n)?;
        }
        let mut http = reqwest::Client::builder()
            .user_agent(self.user_agent)
            .timeout(self.timeout)
            .connect_timeout(self.connect_timeout)
            .pool_idle_timeout(Duration::from_secs(60));
        for root in &self.root_certificates {
            let certificates = match root {
                RootCertificate::Pem(pem) => parse_certificates(pem, "the root certificate PEM")?,
                RootCertificate::File(path) => read_certificates(path)?,
            };
            for certificate in certificates {
                http = http.add_root_certificate(certificate);
            }
        }
        let http = http
            .build()
            .map_err(|e| Error::not_sent("cannot set up the HTTP client").with_source(e))?;
        let context = AuthContext {
            http: http.clone(),
            retry: self.retry.clone(),
            version: self.version,
        };
        let tokens = TokenCache::new(
            self.credentials.into_source(),
            context,
            self.initial_session,
            self.listener,
            self.session_listener,
        );
        Ok(Client {
            inner: Arc::new(ClientInner {
                http,
                tokens,
                version: self.version,
                retry: self.retry,
                budget: self.budget,
                access: self.access,
                permits: Semaphore::new(self.max_concurrent_requests),
                usage: UsageTracker::default(),
                describes: DescribeCache::new(self.describe_max_age),
                query_batch_size: self.query_batch_size,
            }),
        })
    }
}

/// A certificate authority to trust besides the system's.
#[derive(Debug, Clone)]
enum RootCertificate {
    Pem(Vec<u8>),
    File(PathBuf),
}

/// The certificates of the PEM file at `path`; an error names the file and what is wrong.
pub(crate) fn read_certificates(path: &Path) -> Result<Vec<reqwest::Certificate>> {
    let pem = std::fs::read(path).map_err(|e| {
        Error::not_sent(format!(
            "cannot read the root certificate file {}",
            path.display()
        ))
        .with_source(e)
    })?;
    parse_certificates(&pem, &path.display().to_string())
}

/// The certificates in `pem` (`what` names it in errors): at least one.
fn parse_certificates(pem: &[u8], what: &str) -> Result<Vec<reqwest::Certificate>> {
    let certificates = reqwest::Certificate::from_pem_bundle(pem).map_err(|e| {
        Error::not_sent(format!("{what} is not a PEM certificate file")).with_source(e)
    })?;
    if certificates.is_empty() {
        return Err(Error::not_sent(format!(
            "{what} holds no certificate (expected a -----BEGIN CERTIFICATE----- block)"
        )));
    }
    Ok(certificates)
}
