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
//! lock_rate = 0.01
//! latency_ms = 20
//! scope = "writes"
//! seed = 7
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
//!
//! [[duplicate_rules]]
//! object = "Lead"
//! name = "Lead_Email"
//! fields = ["Email"]
//! action = "alert"
//! ```
//!
//! The README's "The org file" section documents every key; `schema::build` checks the objects
//! and rules.

use std::time::Duration;

use serde::Deserialize;

use super::{AppConfig, Config, FaultScope, SeedConfig, UserConfig};
use crate::Error;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct OrgFile {
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
    pub objects: Vec<ObjectConfig>,
    #[serde(default)]
    pub validation_rules: Vec<ValidationRuleConfig>,
    #[serde(default)]
    pub duplicate_rules: Vec<DuplicateRuleFile>,
    pub seed: Option<String>,
    pub records: Option<u64>,
    /// `Config::header_read_timeout`, in seconds (at least 1).
    pub header_read_timeout_seconds: Option<u64>,
    /// `Config::upload_budget`, in MiB (at least 1).
    pub upload_budget_mb: Option<u64>,
    /// `Config::upload_wait`, in seconds (0 refuses at once when the budget is spent).
    pub upload_wait_seconds: Option<u64>,
}

#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct UserFile {
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
pub(crate) struct AppFile {
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
pub(crate) struct FaultFile {
    #[serde(default)]
    pub error_rate: f64,
    #[serde(default)]
    pub reset_rate: f64,
    #[serde(default)]
    pub lock_rate: f64,
    #[serde(default)]
    pub latency_ms: u64,
    /// `all` (default), `writes`, `reads`, or a path such as `/composite`.
    pub scope: Option<String>,
    #[serde(default)]
    pub seed: u64,
}

/// A custom object, or custom fields added to a standard one: an `[[objects]]` entry of the org
/// file, also accepted at run time by [`crate::Control::add_object`].
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObjectConfig {
    /// `Invoice__c` for a new object; an existing object's name together with `extends = true`.
    pub name: String,
    /// Adds `fields` to an existing object (standard, or custom and defined before this entry)
    /// instead of defining a new one.
    #[serde(default)]
    pub extends: bool,
    /// The label; made from the name when absent.
    pub label: Option<String>,
    /// The plural label; the label with an `s` when absent.
    pub plural_label: Option<String>,
    /// Three characters; chosen automatically (`a00`, `a01`, ...) when absent.
    pub key_prefix: Option<String>,
    /// The name field: `text` (default) or `auto_number`.
    pub name_field: Option<String>,
    /// Whether records have an owner (`OwnerId`); default true.
    pub owned: Option<bool>,
    /// The custom fields (names ending in `__c`).
    #[serde(default)]
    pub fields: Vec<FieldConfig>,
}

impl ObjectConfig {
    /// A custom object named `name` (ending in `__c`) with `fields`, and every other setting
    /// at its default: a label from the name, an automatic key prefix, a text name field, an
    /// owner.
    pub fn new(name: impl Into<String>, fields: Vec<FieldConfig>) -> ObjectConfig {
        ObjectConfig {
            name: name.into(),
            extends: false,
            label: None,
            plural_label: None,
            key_prefix: None,
            name_field: None,
            owned: None,
            fields,
        }
    }
}

/// A custom field: an entry of an `[[objects]]` entry's `fields` in the org file, also accepted
/// at run time by [`crate::Control::add_field`]. The README's "The org file" section says
/// which options apply to which type.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldConfig {
    /// The API name, ending in `__c`.
    pub name: String,
    /// A describe type name: `string`, `textarea`, `picklist`, `multipicklist`, `boolean`, `int`,
    /// `double`, `currency`, `percent`, `date`, `datetime`, `time`, `email`, `phone`, `url`,
    /// `reference`, `location`.
    #[serde(rename = "type")]
    pub field_type: String,
    /// The label; made from the name when absent.
    pub label: Option<String>,
    /// Maximum length of a text field.
    pub length: Option<u32>,
    /// Total digits of a number field.
    pub precision: Option<u32>,
    /// Digits after the decimal point.
    pub scale: Option<u32>,
    /// Whether a value is required on save.
    #[serde(default)]
    pub required: bool,
    /// Whether values must be unique.
    #[serde(default)]
    pub unique: bool,
    /// Whether the field is an external id (usable for upserts; unique).
    #[serde(default)]
    pub external_id: bool,
    /// Whether unique values compare with case.
    #[serde(default)]
    pub case_sensitive: bool,
    /// The values of a picklist or multi-select picklist.
    #[serde(default)]
    pub values: Vec<String>,
    /// Whether a picklist refuses values not in `values`.
    #[serde(default)]
    pub restricted: bool,
    /// The value a create gets when it does not set the field.
    pub default: Option<FieldDefault>,
    /// The object a `reference` field points to.
    pub reference_to: Option<String>,
    /// The parent relationship name (`Account__r`); from the field name when absent.
    pub relationship_name: Option<String>,
    /// The child relationship name on the parent object (`Invoices__r`), if any.
    pub child_relationship_name: Option<String>,
    /// Whether deleting the parent deletes this record too.
    #[serde(default)]
    pub cascade_delete: bool,
    /// The help text shown beside the field in the UI (describe's `inlineHelpText`).
    pub help_text: Option<String>,
}

impl FieldConfig {
    /// A field named `name` of the describe type `field_type` (`string`, `picklist`, `int`,
    /// `reference`, ...), with every option at its default.
    pub fn new(name: impl Into<String>, field_type: impl Into<String>) -> FieldConfig {
        FieldConfig {
            name: name.into(),
            field_type: field_type.into(),
            label: None,
            length: None,
            precision: None,
            scale: None,
            required: false,
            unique: false,
            external_id: false,
            case_sensitive: false,
            values: Vec::new(),
            restricted: false,
            default: None,
            reference_to: None,
            relationship_name: None,
            child_relationship_name: None,
            cascade_delete: false,
            help_text: None,
        }
    }
}

/// A field's default value, as the org file writes it: `true`, `5`, `2.5` or `"Draft"`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum FieldDefault {
    /// A checkbox default.
    Bool(bool),
    /// A whole number.
    Integer(i64),
    /// A number with a fraction.
    Float(f64),
    /// Text, or picklist values (`"A;B"` for a multi-select picklist).
    Text(String),
}

impl std::fmt::Display for FieldDefault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FieldDefault::Bool(b) => write!(f, "{b}"),
            FieldDefault::Integer(i) => write!(f, "{i}"),
            FieldDefault::Float(x) => write!(f, "{x}"),
            FieldDefault::Text(text) => write!(f, "{text:?}"),
        }
    }
}

/// A validation rule: `condition` is a SOQL WHERE condition that must NOT hold for a record.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValidationRuleConfig {
    /// The object the rule guards.
    pub object: String,
    /// The rule's name.
    pub name: String,
    /// A SOQL WHERE condition over the record; a save fails when it holds.
    pub condition: String,
    /// The error message of a failed save.
    pub message: String,
    /// The field the error is shown on, if any.
    pub field: Option<String>,
}

/// A duplicate rule (with its matching rule): a record whose `fields` all equal, without case,
/// those of a record already saved is a duplicate, and `on_create` / `on_edit` say what a save
/// of one meets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DuplicateRuleConfig {
    /// The object the rule watches.
    pub object: String,
    /// The rule's developer name (reported as `duplicateRule` in the error).
    pub name: String,
    /// The fields that must all match (exactly, without case); a record with any of them empty
    /// is never a duplicate.
    pub fields: Vec<String>,
    /// What a create that finds a duplicate meets.
    pub on_create: DuplicateAction,
    /// What an update that finds a duplicate meets.
    pub on_edit: DuplicateAction,
    /// The alert text (`errorMessage` in the error's `duplicateResult`); `None` uses
    /// [`DEFAULT_DUPLICATE_MESSAGE`].
    pub message: Option<String>,
}

/// The message of a `DUPLICATES_DETECTED` error whose rule sets none.
pub const DEFAULT_DUPLICATE_MESSAGE: &str = "Use one of these records?";

impl DuplicateRuleConfig {
    /// A rule named `name` on `object` matching on `fields`, with `action` on create and on
    /// edit, and the default message.
    pub fn new(
        object: impl Into<String>,
        name: impl Into<String>,
        fields: impl IntoIterator<Item = impl Into<String>>,
        action: DuplicateAction,
    ) -> DuplicateRuleConfig {
        DuplicateRuleConfig {
            object: object.into(),
            name: name.into(),
            fields: fields.into_iter().map(Into::into).collect(),
            on_create: action,
            on_edit: action,
            message: None,
        }
    }
}

/// What a duplicate rule does with a save that finds a duplicate, as Setup offers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DuplicateAction {
    /// Save it, with no alert (the rule only reports).
    Allow,
    /// Allow with an alert: the save fails with `DUPLICATES_DETECTED` unless the request
    /// acknowledges the alert with `Sforce-Duplicate-Rule-Header: allowSave=true`.
    Alert,
    /// Block: the save fails with `DUPLICATES_DETECTED` whatever the request says.
    Block,
}

/// `[[duplicate_rules]]`: `action` sets both `on_create` and `on_edit`, which may also be given
/// on their own.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DuplicateRuleFile {
    pub object: String,
    pub name: String,
    pub fields: Vec<String>,
    pub action: Option<DuplicateAction>,
    pub on_create: Option<DuplicateAction>,
    pub on_edit: Option<DuplicateAction>,
    pub message: Option<String>,
}

impl DuplicateRuleFile {
    fn into_config(self, position: usize) -> Result<DuplicateRuleConfig, Error> {
        let missing = || {
            Error::config(format!(
                "duplicate_rules[{position}] ({}): give an action (\"allow\", \"alert\" or \"block\"), or both on_create and on_edit",
                self.name
            ))
        };
        let on_create = self.on_create.or(self.action).ok_or_else(missing)?;
        let on_edit = self.on_edit.or(self.action).ok_or_else(missing)?;
        Ok(DuplicateRuleConfig {
            object: self.object,
            name: self.name,
            fields: self.fields,
            on_create,
            on_edit,
            message: self.message,
        })
    }
}

impl OrgFile {
    pub(super) fn apply(self, config: &mut Config) -> Result<(), Error> {
        if let Some(name) = self.org_name {
            config.org_name = name;
        }
        if let Some(seconds) = self.token_lifetime_seconds {
            config.token_lifetime = Duration::from_secs(seconds);
        }
        if let Some(max) = self.daily_api_requests {
            config.daily_api_requests = max;
        }
        if let Some(seconds) = self.header_read_timeout_seconds {
            if seconds == 0 {
                return Err(Error::config(
                    "header_read_timeout_seconds must be at least 1",
                ));
            }
            config.header_read_timeout = Duration::from_secs(seconds);
        }
        if let Some(mb) = self.upload_budget_mb {
            let bytes = usize::try_from(mb)
                .ok()
                .and_then(|mb| mb.checked_mul(1024 * 1024));
            match bytes {
                Some(bytes) if bytes > 0 => config.upload_budget = bytes,
                _ => {
                    return Err(Error::config(format!(
                        "upload_budget_mb must be at least 1 (and fit in memory), not {mb}"
                    )));
                }
            }
        }
        if let Some(seconds) = self.upload_wait_seconds {
            config.upload_wait = Duration::from_secs(seconds);
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
                    Error::with_source(
                        crate::ErrorKind::Config,
                        format!(
                            "apps.{}: cannot read certificate_file {path}",
                            app.client_id
                        ),
                        e,
                    )
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
                ("lock_rate", faults.lock_rate),
            ] {
                if !(0.0..=1.0).contains(&rate) {
                    return Err(Error::config(format!(
                        "faults.{name} must be between 0 and 1, not {rate}"
                    )));
                }
            }
            let scope = match faults.scope.as_deref() {
                None => FaultScope::All,
                Some(text) => FaultScope::parse(text).ok_or_else(|| {
                    Error::config(format!(
                        "faults.scope must be \"all\", \"writes\", \"reads\" or a path starting with /, not {text:?}"
                    ))
                })?,
            };
            config.faults = super::FaultConfig {
                error_rate: faults.error_rate,
                reset_rate: faults.reset_rate,
                lock_rate: faults.lock_rate,
                latency: Duration::from_millis(faults.latency_ms),
                scope,
                seed: faults.seed,
            };
        }
        config.schema = self.objects;
        config.validation_rules = self.validation_rules;
        config.duplicate_rules = self
            .duplicate_rules
            .into_iter()
            .enumerate()
            .map(|(position, rule)| rule.into_config(position))
            .collect::<Result<_, _>>()?;
        if let Some(seed) = self.seed {
            config.seed = Some(SeedConfig {
                seed,
                records: self.records.unwrap_or(1000),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::config::{Config, FaultConfig, FaultScope};

    #[test]
    fn the_faults_section_reads_rates_scope_and_seed() {
        let config = Config::from_toml(
            "[faults]\nerror_rate = 0.1\nlock_rate = 0.25\nlatency_ms = 5\nscope = \"/jobs/ingest\"\nseed = 99\n",
        )
        .unwrap();
        assert_eq!(
            config.faults,
            FaultConfig {
                error_rate: 0.1,
                lock_rate: 0.25,
                latency: Duration::from_millis(5),
                scope: FaultScope::Path("/jobs/ingest".into()),
                seed: 99,
                ..FaultConfig::none()
            }
        );
        for (text, message) in [
            (
                "[faults]\nlock_rate = 2.0\n",
                "faults.lock_rate must be between 0 and 1, not 2",
            ),
            (
                "[faults]\nscope = \"sometimes\"\n",
                "faults.scope must be \"all\", \"writes\", \"reads\" or a path starting with /, not \"sometimes\"",
            ),
        ] {
            let error = Config::from_toml(text).unwrap_err();
            assert_eq!(error.kind(), crate::ErrorKind::Config);
            assert_eq!(error.to_string(), message);
        }
    }

    #[test]
    fn connection_limits_read_in_seconds_and_mebibytes() {
        let config = Config::from_toml(
            "header_read_timeout_seconds = 5\nupload_budget_mb = 300\nupload_wait_seconds = 0\n",
        )
        .unwrap();
        assert_eq!(config.header_read_timeout, Duration::from_secs(5));
        assert_eq!(config.upload_budget, 300 * 1024 * 1024);
        assert_eq!(config.upload_wait, Duration::ZERO);
        let builtin = Config::from_toml("").unwrap();
        assert_eq!(builtin.header_read_timeout, Duration::from_secs(20));
        assert_eq!(builtin.upload_budget, 160 * 1024 * 1024);
        assert_eq!(builtin.upload_wait, Duration::from_secs(30));
        for (text, message) in [
            (
                "header_read_timeout_seconds = 0\n",
                "header_read_timeout_seconds must be at least 1",
            ),
            (
                "upload_budget_mb = 0\n",
                "upload_budget_mb must be at least 1 (and fit in memory), not 0",
            ),
        ] {
            let error = Config::from_toml(text).unwrap_err();
            assert_eq!(error.kind(), crate::ErrorKind::Config);
            assert_eq!(error.to_string(), message);
        }
    }
}
