//! How the local org is set up: its users, connected apps, limits, injected faults, custom
//! schema and generated data.
//!
//! [`Config`] is a plain struct with public fields; [`Config::builtin`] gives the documented
//! defaults (one admin user, one connected app), and [`Config::from_toml`] reads an org file
//! (documented in the README) on top of them. The file format lives in [`file`], the one place
//! in this crate where the configuration is deserialized.

pub mod file;

use std::path::PathBuf;
use std::time::Duration;

/// Everything the local org needs to start.
#[derive(Debug, Clone)]
pub struct Config {
    /// The organization's name (shown in userinfo and SOAP login).
    pub org_name: String,
    pub users: Vec<UserConfig>,
    pub apps: Vec<AppConfig>,
    /// How long an access token stays valid.
    pub token_lifetime: Duration,
    /// API requests allowed per day before `REQUEST_LIMIT_EXCEEDED`.
    pub daily_api_requests: u64,
    pub faults: FaultConfig,
    /// Custom objects and fields, as schema-file definitions.
    pub schema: Vec<file::ObjectFile>,
    /// Validation rules on any object.
    pub validation_rules: Vec<file::ValidationRuleFile>,
    /// Generated data: a seed and a number of records (0 for an empty org).
    pub seed: Option<SeedConfig>,
    /// Where to keep the org across restarts; `None` keeps it in memory only.
    pub data_dir: Option<PathBuf>,
    /// Approve `/services/oauth2/authorize` requests without showing the login page (tests).
    pub auto_approve: bool,
    /// The time the org's clock starts at, in epoch milliseconds; `None` uses the system clock.
    pub fixed_time: Option<i64>,
}

/// A user who can log in.
#[derive(Clone)]
pub struct UserConfig {
    pub username: String,
    pub password: String,
    /// Appended to the password by clients that log in from untrusted networks.
    pub security_token: String,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
}

/// A connected app (consumer key and secret, callback URLs and policies).
#[derive(Clone)]
pub struct AppConfig {
    pub client_id: String,
    pub client_secret: String,
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

/// Faults injected into API responses, for testing clients.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FaultConfig {
    /// Share of API requests (0.0 to 1.0) answered 503 `SERVER_UNAVAILABLE`.
    pub error_rate: f64,
    /// Share of API requests whose connection is cut before the response completes.
    pub reset_rate: f64,
    /// Delay added to every API response.
    pub latency: Duration,
}

impl FaultConfig {
    pub fn none() -> FaultConfig {
        FaultConfig {
            error_rate: 0.0,
            reset_rate: 0.0,
            latency: Duration::ZERO,
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
pub const DEFAULT_PASSWORD: &str = "forcebridge";
pub const DEFAULT_SECURITY_TOKEN: &str = "LOCALTOKEN";
pub const DEFAULT_CLIENT_ID: &str = "forcebridge-local";
pub const DEFAULT_CLIENT_SECRET: &str = "forcebridge-local-secret";

impl Config {
    /// The built-in org: one admin user, one connected app that allows every flow, a 2-hour
    /// token lifetime, 100,000 API requests a day, no faults, no data.
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
            seed: None,
            data_dir: None,
            auto_approve: false,
            fixed_time: None,
        }
    }

    /// The built-in org with the settings of an org file applied on top.
    pub fn from_toml(text: &str) -> Result<Config, ConfigError> {
        let parsed: file::OrgFile = toml::from_str(text).map_err(|e| ConfigError(e.to_string()))?;
        let mut config = Config::builtin();
        parsed.apply(&mut config)?;
        Ok(config)
    }
}

/// A problem in an org file: what is wrong and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}
