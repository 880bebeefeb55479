//! The org file (TOML): the serde types of the local org's configuration, and how they apply on
//! top of the built-in defaults. Every section is optional.
//!
//! ```toml
//! org_name = "Acme (local)"
//! token_lifetime_seconds = 3600
//! daily_api_requests = 15000
//!
//! [[users]]
//! username = "jane@acme.local"
//! password = "secret"
//! security_token = "TOKEN"
//!
//! [[apps]]
//! client_id = "my-app"
//! client_secret = "my-secret"
//! callback_urls = ["http://localhost:8080/callback"]
//! pkce_required = true
//!
//! [faults]
//! error_rate = 0.05
//! latency_ms = 20
//!
//! [[objects]]
//! name = "Invoice__c"
//! label = "Invoice"
//! fields = [
//!   { name = "Amount__c", type = "currency", precision = 18, scale = 2, required = true },
//!   { name = "Account__c", type = "reference", reference_to = "Account", relationship_name = "Account__r", child_relationship_name = "Invoices__r" },
//! ]
//!
//! [[objects]]
//! name = "Account"
//! extends = true
//! fields = [{ name = "Tier__c", type = "picklist", values = ["Gold", "Silver"] }]
//!
//! [[validation_rules]]
//! object = "Invoice__c"
//! name = "Positive_Amount"
//! condition = "Amount__c < 0"
//! message = "The amount cannot be negative"
//! field = "Amount__c"
//! ```
//!
//! The README's "The org file" section documents every key; `schema::build` checks the objects
//! and rules.

use std::time::Duration;

use serde::Deserialize;

use super::{AppConfig, Config, ConfigError, SeedConfig, UserConfig};

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrgFile {
    pub org_name: Option<String>,
    pub token_lifetime_seconds: Option<u64>,
    pub daily_api_requests: Option<u64>,
    /// Replaces the built-in users when given.
    #[serde(default)]
    pub users: Vec<UserFile>,
    /// Added to the built-in connected apps.
    #[serde(default)]
    pub apps: Vec<AppFile>,
    pub faults: Option<FaultFile>,
    /// Custom objects, and custom fields on standard objects (`name = "Account"` with
    /// `extends = true`).
    #[serde(default)]
    pub objects: Vec<ObjectFile>,
    #[serde(default)]
    pub validation_rules: Vec<ValidationRuleFile>,
    pub seed: Option<String>,
    pub records: Option<u64>,
}

#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserFile {
    pub username: String,
    pub password: String,
    #[serde(default)]
    pub security_token: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
}

#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppFile {
    pub client_id: String,
    #[serde(default)]
    pub client_secret: String,
    #[serde(default)]
    pub callback_urls: Vec<String>,
    #[serde(default)]
    pub pkce_required: bool,
    /// A PEM certificate or public key, inline.
    pub certificate: Option<String>,
    /// A file holding the PEM certificate or public key (relative to the working directory).
    pub certificate_file: Option<String>,
    pub run_as: Option<String>,
    #[serde(default)]
    pub rotate_refresh_tokens: bool,
    #[serde(default = "yes")]
    pub allow_password_flow: bool,
}

fn yes() -> bool {
    true
}

// Secrets from the file never reach `Debug` output.
impl std::fmt::Debug for UserFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserFile")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .field("security_token", &"<redacted>")
            .field("first_name", &self.first_name)
            .field("last_name", &self.last_name)
            .field("email", &self.email)
            .finish()
    }
}

impl std::fmt::Debug for AppFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppFile")
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .field("callback_urls", &self.callback_urls)
            .field("pkce_required", &self.pkce_required)
            .field("certificate", &self.certificate.is_some())
            .field("certificate_file", &self.certificate_file)
            .field("run_as", &self.run_as)
            .field("rotate_refresh_tokens", &self.rotate_refresh_tokens)
            .field("allow_password_flow", &self.allow_password_flow)
            .finish()
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultFile {
    #[serde(default)]
    pub error_rate: f64,
    #[serde(default)]
    pub reset_rate: f64,
    #[serde(default)]
    pub latency_ms: u64,
}

/// A custom object, or custom fields added to a standard one.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObjectFile {
    /// `Invoice__c` for a new object; a standard object's name together with `extends = true`.
    pub name: String,
    /// Adds `fields` to an existing (standard) object instead of defining a new one.
    #[serde(default)]
    pub extends: bool,
    pub label: Option<String>,
    pub plural_label: Option<String>,
    /// Three characters; chosen automatically (`a00`, `a01`, ...) when absent.
    pub key_prefix: Option<String>,
    /// The name field: `text` (default) or `auto_number`.
    pub name_field: Option<String>,
    /// Whether records have an owner (`OwnerId`); default true.
    pub owned: Option<bool>,
    #[serde(default)]
    pub fields: Vec<FieldFile>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldFile {
    pub name: String,
    /// A describe type name: `string`, `textarea`, `picklist`, `multipicklist`, `boolean`, `int`,
    /// `double`, `currency`, `percent`, `date`, `datetime`, `time`, `email`, `phone`, `url`,
    /// `reference`, `location`.
    #[serde(rename = "type")]
    pub field_type: String,
    pub label: Option<String>,
    pub length: Option<u32>,
    pub precision: Option<u32>,
    pub scale: Option<u32>,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub unique: bool,
    #[serde(default)]
    pub external_id: bool,
    #[serde(default)]
    pub case_sensitive: bool,
    #[serde(default)]
    pub values: Vec<String>,
    #[serde(default)]
    pub restricted: bool,
    pub default: Option<toml::Value>,
    pub reference_to: Option<String>,
    pub relationship_name: Option<String>,
    pub child_relationship_name: Option<String>,
    #[serde(default)]
    pub cascade_delete: bool,
}

/// A validation rule: `condition` is a SOQL WHERE condition that must NOT hold for a record.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValidationRuleFile {
    pub object: String,
    pub name: String,
    pub condition: String,
    pub message: String,
    pub field: Option<String>,
}

impl OrgFile {
    pub(super) fn apply(self, config: &mut Config) -> Result<(), ConfigError> {
        if let Some(name) = self.org_name {
            config.org_name = name;
        }
        if let Some(seconds) = self.token_lifetime_seconds {
            config.token_lifetime = Duration::from_secs(seconds);
        }
        if let Some(max) = self.daily_api_requests {
            config.daily_api_requests = max;
        }
        if !self.users.is_empty() {
            config.users = self
                .users
                .into_iter()
                .map(|u| {
                    let local = u.username.split('@').next().unwrap_or("user").to_string();
                    UserConfig {
                        email: u.email.unwrap_or_else(|| u.username.clone()),
                        first_name: u.first_name.unwrap_or_default(),
                        last_name: u.last_name.unwrap_or(local),
                        username: u.username,
                        password: u.password,
                        security_token: u.security_token,
                    }
                })
                .collect();
        }
        for app in self.apps {
            let certificate_pem = match (app.certificate, app.certificate_file) {
                (Some(pem), _) => Some(pem),
                (None, Some(path)) => Some(std::fs::read_to_string(&path).map_err(|e| {
                    ConfigError(format!(
                        "apps.{}: cannot read certificate_file {path}: {e}",
                        app.client_id
                    ))
                })?),
                (None, None) => None,
            };
            config.apps.retain(|a| a.client_id != app.client_id);
            config.apps.push(AppConfig {
                client_id: app.client_id,
                client_secret: app.client_secret,
                callback_urls: app.callback_urls,
                pkce_required: app.pkce_required,
                certificate_pem,
                run_as: app.run_as,
                rotate_refresh_tokens: app.rotate_refresh_tokens,
                allow_password_flow: app.allow_password_flow,
            });
        }
        if let Some(faults) = self.faults {
            for (name, rate) in [
                ("error_rate", faults.error_rate),
                ("reset_rate", faults.reset_rate),
            ] {
                if !(0.0..=1.0).contains(&rate) {
                    return Err(ConfigError(format!(
                        "faults.{name} must be between 0 and 1, not {rate}"
                    )));
                }
            }
            config.faults = super::FaultConfig {
                error_rate: faults.error_rate,
                reset_rate: faults.reset_rate,
                latency: Duration::from_millis(faults.latency_ms),
            };
        }
        config.schema = self.objects;
        config.validation_rules = self.validation_rules;
        if let Some(seed) = self.seed {
            config.seed = Some(SeedConfig {
                seed,
                records: self.records.unwrap_or(1000),
            });
        }
        Ok(())
    }
}
