//! How the local org is set up: its users, connected apps, limits, injected faults, custom
//! schema and generated data.
//!
//! [`Config`] is a plain struct with public fields; [`Config::builtin`] gives the documented
//! defaults (one admin user, one connected app), and [`Config::from_toml`] reads an org file
//! (documented in the README) on top of them. The file format lives in `file`, the one place
//! in this crate where the configuration is deserialized.

pub(crate) mod file;

pub use file::{
    DEFAULT_DUPLICATE_MESSAGE, DuplicateAction, DuplicateRuleConfig, FieldConfig, FieldDefault,
    ObjectConfig, ValidationRuleConfig,
};

use std::path::PathBuf;
use std::time::Duration;

/// Everything the local org needs to start.
#[derive(Debug, Clone)]
pub struct Config {
    /// The organization's name (shown in userinfo and SOAP login).
    pub org_name: String,
    /// The users who can log in; the first one is the admin (the default owner and the user
    /// [`crate::Emulator::access_token`] and [`crate::Emulator::login`] stand for).
    pub users: Vec<UserConfig>,
    /// The connected apps (OAuth clients).
    pub apps: Vec<AppConfig>,
    /// How long an access token stays valid.
    pub token_lifetime: Duration,
    /// API requests allowed per day before `REQUEST_LIMIT_EXCEEDED`.
    pub daily_api_requests: u64,
    /// Faults injected into API requests (none by default).
    pub faults: FaultConfig,
    /// Custom objects, and custom fields of standard objects, as the org file's `[[objects]]`
    /// define them.
    pub schema: Vec<ObjectConfig>,
    /// Validation rules on any object.
    pub validation_rules: Vec<ValidationRuleConfig>,
    /// Duplicate rules on any object (see [`DuplicateRuleConfig`]; more can be added while
    /// the org runs with [`crate::Control::add_duplicate_rule`]).
    pub duplicate_rules: Vec<DuplicateRuleConfig>,
    /// Generated data: a seed and a number of records (0 for an empty org).
    pub seed: Option<SeedConfig>,
    /// Where to keep the org across restarts; `None` keeps it in memory only.
    pub data_dir: Option<PathBuf>,
    /// Approve `/services/oauth2/authorize` requests without showing the login page (tests).
    pub auto_approve: bool,
    /// The time the org's clock starts at, in epoch milliseconds; `None` uses the system clock.
    pub fixed_time: Option<i64>,
    /// How long a connection gets to send a complete request head: from the moment it opens (the
    /// TLS handshake included), and again after each response. A connection that has not sent
    /// one by then (a client that stalls half-way through its headers, or sends nothing) is
    /// closed. Default [`DEFAULT_HEADER_READ_TIMEOUT`].
    pub header_read_timeout: Duration,
    /// The most request-body bytes the org holds at once, across every request being received
    /// (uploads, JSON bodies, logins). A body that declares its length (`Content-Length`)
    /// reserves it before its first byte is read; one that does not takes its share as its
    /// bytes arrive. When the budget is spent, a request waits for others to finish, up to
    /// `upload_wait`, and is then answered 503 `SERVER_UNAVAILABLE` (a declared length larger
    /// than the whole budget is answered 413 `REQUEST_ENTITY_TOO_LARGE` at once). A body's
    /// share returns to the budget once its request has been answered. Default
    /// [`DEFAULT_UPLOAD_BUDGET`], enough for one upload of Salesforce's 150 MB maximum.
    pub upload_budget: usize,
    /// How long a request waits for room in `upload_budget` before it is refused with 503.
    /// Default [`DEFAULT_UPLOAD_WAIT`].
    pub upload_wait: Duration,
    /// Serve the built-in users and apps, whose secrets are published, on an address other
    /// machines can reach. Off by default: [`crate::Emulator::start`] and
    /// [`crate::Emulator::start_tls`] refuse an address beyond loopback unless the org has users
    /// and an app of its own. Turn it on only where nobody else can connect, such as inside a
    /// container whose port is published on the host's loopback address only.
    pub insecure_public: bool,
}

/// How long a connection gets to send a complete request head, by default (see
/// [`Config::header_read_timeout`]).
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(20);
/// The most request-body bytes held at once, by default: 160 MiB (see
/// [`Config::upload_budget`]).
pub const DEFAULT_UPLOAD_BUDGET: usize = 160 * 1024 * 1024;
/// How long a request waits for room in the upload budget, by default (see
/// [`Config::upload_wait`]).
pub const DEFAULT_UPLOAD_WAIT: Duration = Duration::from_secs(30);

/// A user who can log in.
#[derive(Clone)]
pub struct UserConfig {
    /// The login name (compared without case), such as `admin@forcebridge.local`.
    pub username: String,
    /// The password.
    pub password: String,
    /// Appended to the password by clients that log in from untrusted networks.
    pub security_token: String,
    /// The User record's `FirstName`.
    pub first_name: String,
    /// The User record's `LastName`.
    pub last_name: String,
    /// The User record's `Email`.
    pub email: String,
}

/// A connected app (consumer key and secret, callback URLs and policies).
#[derive(Clone)]
pub struct AppConfig {
    /// The consumer key.
    pub client_id: String,
    /// The consumer secret (empty for a public client).
    pub client_secret: String,
    /// The redirect URIs the authorization-code flow may return to.
    pub callback_urls: Vec<String>,
    /// Whether the authorization-code flow must use PKCE.
    pub pkce_required: bool,
    /// PEM certificate (or public key) that JWT bearer assertions must be signed for.
    pub certificate_pem: Option<String>,
    /// The user the client-credentials flow runs as.
    pub run_as: Option<String>,
    /// Whether a refresh grant hands out a new refresh token (and retires the old one).
    pub rotate_refresh_tokens: bool,
    /// Whether the app may use the username-password flow.
    pub allow_password_flow: bool,
}

impl AppConfig {
    /// An app with its keys and callback URLs and every policy off: PKCE optional, no
    /// certificate, no run-as user, refresh tokens kept, no username-password flow.
    pub fn new(
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
        callback_urls: impl IntoIterator<Item = impl Into<String>>,
    ) -> AppConfig {
        AppConfig {
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            callback_urls: callback_urls.into_iter().map(Into::into).collect(),
            pkce_required: false,
            certificate_pem: None,
            run_as: None,
            rotate_refresh_tokens: false,
            allow_password_flow: false,
        }
    }
}

// Passwords, security tokens and client secrets never reach `Debug` output (and so never
// reach logs); whether one is set is all that shows.
impl std::fmt::Debug for UserConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserConfig")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .field("security_token", &"<redacted>")
            .field("first_name", &self.first_name)
            .field("last_name", &self.last_name)
            .field("email", &self.email)
            .finish()
    }
}

impl std::fmt::Debug for AppConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppConfig")
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &(!self.client_secret.is_empty()).then_some("<redacted>"),
            )
            .field("callback_urls", &self.callback_urls)
            .field("pkce_required", &self.pkce_required)
            .field("certificate_pem", &self.certificate_pem.is_some())
            .field("run_as", &self.run_as)
            .field("rotate_refresh_tokens", &self.rotate_refresh_tokens)
            .field("allow_password_flow", &self.allow_password_flow)
            .finish()
    }
}

/// Faults injected into API requests (everything under `/services/data/`; logins stay
/// reliable), for testing clients.
///
/// Every decision comes from a random stream seeded with `seed`, so the same requests, sent
/// one after another in the same order, meet the same faults on every run. Setting the faults
/// (at start, or with [`crate::Control::set_faults`]) starts the stream again from its seed.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultConfig {
    /// Share of requests (0.0 to 1.0) answered 503 `SERVER_UNAVAILABLE` before any work.
    pub error_rate: f64,
    /// Share of requests whose connection is cut after the work is done, before the response
    /// completes (the write happened; the client never hears).
    pub reset_rate: f64,
    /// Share of record writes (REST, composite, sObject Collections, Bulk ingest rows) that
    /// fail with `UNABLE_TO_LOCK_ROW`, as when another transaction holds the row: updates,
    /// deletes and undeletes of the record itself, and creates of a record with a parent
    /// (a lookup other than its owner), whose parent is the row that could not be locked.
    pub lock_rate: f64,
    /// Delay added to every request in scope.
    pub latency: Duration,
    /// Which requests the faults may hit.
    pub scope: FaultScope,
    /// The seed of the random stream the decisions come from.
    pub seed: u64,
}

/// Which API requests injected faults may hit.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FaultScope {
    /// Every request under `/services/data/`.
    All,
    /// Requests that may write: `POST`, `PATCH`, `PUT` and `DELETE`.
    Writes,
    /// Requests that only read: `GET` and `HEAD` (no lock faults, then).
    Reads,
    /// Requests whose path after `/services/data/vNN.N` starts with this text, such as
    /// `/composite` or `/jobs/ingest`.
    Path(String),
}

impl FaultScope {
    /// Reads the org file's and the command line's spelling: `all`, `writes`, `reads`, or a
    /// path starting with `/`.
    pub fn parse(text: &str) -> Option<FaultScope> {
        match text.trim() {
            "all" => Some(FaultScope::All),
            "writes" => Some(FaultScope::Writes),
            "reads" => Some(FaultScope::Reads),
            path if path.starts_with('/') => Some(FaultScope::Path(path.to_string())),
            _ => None,
        }
    }

    /// Whether a request with `method` to `path` (after `/services/data/vNN.N`) is in scope.
    pub(crate) fn covers(&self, method: &axum::http::Method, path: &str) -> bool {
        use axum::http::Method;
        match self {
            FaultScope::All => true,
            FaultScope::Writes => {
                [Method::POST, Method::PATCH, Method::PUT, Method::DELETE].contains(method)
            }
            FaultScope::Reads => [Method::GET, Method::HEAD].contains(method),
            FaultScope::Path(prefix) => path.starts_with(prefix.as_str()),
        }
    }
}

impl FaultConfig {
    /// No faults: every rate zero, no latency, every request in scope, seed 0.
    pub fn none() -> FaultConfig {
        FaultConfig {
            error_rate: 0.0,
            reset_rate: 0.0,
            lock_rate: 0.0,
            latency: Duration::ZERO,
            scope: FaultScope::All,
            seed: 0,
        }
    }
}

/// Deterministic generated data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedConfig {
    /// Any string; the same seed gives the same org.
    pub seed: String,
    /// Roughly how many records to generate across all objects.
    pub records: u64,
}

/// The user every built-in default logs in as.
pub const DEFAULT_USERNAME: &str = "admin@forcebridge.local";
/// The built-in user's password.
pub const DEFAULT_PASSWORD: &str = "forcebridge";
/// The built-in user's security token.
pub const DEFAULT_SECURITY_TOKEN: &str = "LOCALTOKEN";
/// The built-in connected app's consumer key.
pub const DEFAULT_CLIENT_ID: &str = "forcebridge-local";
/// The built-in connected app's consumer secret.
pub const DEFAULT_CLIENT_SECRET: &str = "forcebridge-local-secret";

impl Config {
    /// The built-in org: one admin user, one connected app that allows every flow (and the
    /// Salesforce CLI's `PlatformCLI`), a 2-hour token lifetime, 100,000 API requests a day, no
    /// faults, no data, and the default connection limits. Its credentials are published, so
    /// it is served on loopback addresses only (see [`Config::insecure_public`]).
    pub fn builtin() -> Config {
        Config {
            org_name: "forcebridge local org".to_string(),
            users: vec![UserConfig {
                username: DEFAULT_USERNAME.to_string(),
                password: DEFAULT_PASSWORD.to_string(),
                security_token: DEFAULT_SECURITY_TOKEN.to_string(),
                first_name: "Local".to_string(),
                last_name: "Admin".to_string(),
                email: "admin@forcebridge.local".to_string(),
            }],
            apps: vec![
                AppConfig {
                    client_id: DEFAULT_CLIENT_ID.to_string(),
                    client_secret: DEFAULT_CLIENT_SECRET.to_string(),
                    callback_urls: vec![
                        "http://localhost:1717/OauthRedirect".to_string(),
                        "http://127.0.0.1:1717/OauthRedirect".to_string(),
                    ],
                    pkce_required: false,
                    certificate_pem: None,
                    run_as: Some(DEFAULT_USERNAME.to_string()),
                    rotate_refresh_tokens: false,
                    allow_password_flow: true,
                },
                // The Salesforce CLI's own client id, so `sf org login web` works unchanged.
                AppConfig::new("PlatformCLI", "", ["http://localhost:1717/OauthRedirect"]),
            ],
            token_lifetime: Duration::from_secs(2 * 3600),
            daily_api_requests: 100_000,
            faults: FaultConfig::none(),
            schema: Vec::new(),
            validation_rules: Vec::new(),
            duplicate_rules: Vec::new(),
            seed: None,
            data_dir: None,
            auto_approve: false,
            fixed_time: None,
            header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
            upload_budget: DEFAULT_UPLOAD_BUDGET,
            upload_wait: DEFAULT_UPLOAD_WAIT,
            insecure_public: false,
        }
    }

    /// Refuses connection limits that would turn every client away: no time at all to send a
    /// request head, or no room for any request body.
    pub(crate) fn check_limits(&self) -> Result<(), crate::Error> {
        if self.header_read_timeout.is_zero() {
            return Err(crate::Error::config(
                "header_read_timeout must be more than zero",
            ));
        }
        if self.upload_budget == 0 {
            return Err(crate::Error::config(
                "upload_budget must be at least 1 byte",
            ));
        }
        Ok(())
    }

    /// The built-in org with the settings of an org file applied on top. A mistake is an
    /// [`ErrorKind::Config`](crate::ErrorKind::Config) error that says where it is.
    pub fn from_toml(text: &str) -> Result<Config, crate::Error> {
        let parsed: file::OrgFile =
            toml::from_str(text).map_err(|e| crate::Error::config(e.to_string()))?;
        let mut config = Config::builtin();
        parsed.apply(&mut config)?;
        Ok(config)
    }
}
