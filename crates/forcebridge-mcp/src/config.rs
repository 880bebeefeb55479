//! The server's settings ([`Config`], [`Limits`]) and the config file an admin writes
//! ([`ConfigFile`], TOML), the crate's one serde boundary for settings.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::audit::Audit;
use crate::error::{Error, ErrorKind, Result};
use crate::policy::Policy;

/// How the server behaves. A plain struct: every setting is chosen by the caller (the CLI
/// builds it from the command line and the config file).
#[derive(Debug)]
pub struct Config {
    /// Serve reads only: write tools are not listed, and refused if called anyway. A client
    /// in read-only mode (a read-only connection profile) makes the server read-only too.
    pub read_only: bool,
    /// Which objects and fields may be read or written.
    pub policy: Policy,
    /// Caps on answers and on the server's use of the API.
    pub limits: Limits,
    /// Where every tool call is recorded; `None` records nothing.
    pub audit: Option<Audit>,
    /// How long a write preview's confirm handle stays valid.
    pub confirm_ttl: Duration,
}

/// Caps on what a tool answers and on how much of the org's API the server may use.
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    /// Rows a query answer holds when the model does not ask for a number.
    pub default_rows: u32,
    /// The most rows one answer may hold, whatever the model asks.
    pub max_rows: u32,
    /// The most bytes one tool answer may take (structured content and its text copy
    /// together); rows beyond it wait behind the next cursor.
    pub max_bytes: usize,
    /// The most Salesforce API calls this server process may make; `None` for no cap. Once
    /// spent, every tool answers with a tool error and sends nothing.
    pub api_calls: Option<u64>,
    /// Bulk operations with more records than this go through Bulk API 2.0 rather than
    /// sObject Collections.
    pub bulk_threshold: usize,
    /// The most records one `bulk_operations` call may carry.
    pub max_bulk_records: usize,
}

impl Limits {
    /// 50 rows by default, 200 at most, 64 KiB per answer, no API cap, Bulk API 2.0 above
    /// 2,000 records, at most 10,000 records per bulk call.
    pub fn recommended() -> Limits {
        Limits {
            default_rows: 50,
            max_rows: 200,
            max_bytes: 64 * 1024,
            api_calls: None,
            bulk_threshold: 2000,
            max_bulk_records: 10_000,
        }
    }
}

/// The config file (`--config FILE`), in TOML:
///
/// ```toml
/// read_only = true
///
/// [objects]
/// allow = ["Account", "Contact", "Opportunity", "Lead", "Case"]
/// deny = ["*__History"]
///
/// [fields]
/// deny = ["*.SSN__c", "Contact.Birthdate"]
///
/// [limits]
/// default_rows = 50
/// max_rows = 200
/// max_bytes = 65536
/// api_calls = 2000
///
/// [audit]
/// file = "/var/log/forcebridge-mcp.jsonl"
/// field_values = false
///
/// [confirm]
/// ttl_seconds = 300
/// ```
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    #[serde(default)]
    read_only: bool,
    #[serde(default)]
    objects: Lists,
    #[serde(default)]
    fields: Lists,
    #[serde(default)]
    limits: FileLimits,
    #[serde(default)]
    audit: Option<FileAudit>,
    #[serde(default)]
    confirm: FileConfirm,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Lists {
    #[serde(default)]
    allow: Vec<String>,
    #[serde(default)]
    deny: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileLimits {
    default_rows: Option<u32>,
    max_rows: Option<u32>,
    max_bytes: Option<usize>,
    api_calls: Option<u64>,
    bulk_threshold: Option<usize>,
    max_bulk_records: Option<usize>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileAudit {
    file: PathBuf,
    #[serde(default)]
    field_values: bool,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfirm {
    ttl_seconds: Option<u64>,
}

/// The default lifetime of a confirm handle: five minutes.
pub const DEFAULT_CONFIRM_TTL: Duration = Duration::from_secs(300);

impl ConfigFile {
    /// Reads a config file.
    pub fn read(path: &Path) -> Result<ConfigFile> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::new(ErrorKind::Io, format!("cannot read {}", path.display())).with_source(e)
        })?;
        ConfigFile::parse(&text).map_err(|e| Error::config(format!("{}: {e}", path.display())))
    }

    /// Parses a config file's text.
    pub fn parse(text: &str) -> Result<ConfigFile> {
        toml::from_str(text).map_err(|e| Error::config(format!("invalid config file: {e}")))
    }

    /// The settings the file gives, on top of the recommended limits. `read_only` is true when
    /// the file or the caller (`--read-only`, a read-only profile) says so. Opens the audit
    /// log for appending.
    pub fn into_config(self, read_only: bool) -> Result<Config> {
        let mut policy = Policy::open();
        for pattern in &self.objects.allow {
            policy = policy.allow_object(pattern)?;
        }
        for pattern in &self.objects.deny {
            policy = policy.deny_object(pattern)?;
        }
        for pattern in &self.fields.allow {
            policy = policy.allow_field(pattern)?;
        }
        for pattern in &self.fields.deny {
            policy = policy.deny_field(pattern)?;
        }
        let mut limits = Limits::recommended();
        let l = &self.limits;
        limits.default_rows = l.default_rows.unwrap_or(limits.default_rows);
        limits.max_rows = l.max_rows.unwrap_or(limits.max_rows);
        limits.max_bytes = l.max_bytes.unwrap_or(limits.max_bytes);
        limits.api_calls = l.api_calls.or(limits.api_calls);
        limits.bulk_threshold = l.bulk_threshold.unwrap_or(limits.bulk_threshold);
        limits.max_bulk_records = l.max_bulk_records.unwrap_or(limits.max_bulk_records);
        if limits.max_rows == 0 || limits.default_rows == 0 || limits.default_rows > limits.max_rows
        {
            return Err(Error::config(
                "limits: default_rows and max_rows must be above 0, and default_rows at most max_rows",
            ));
        }
        if limits.max_bytes < 4096 {
            return Err(Error::config("limits: max_bytes must be at least 4096"));
        }
        let audit = match self.audit {
            Some(a) => Some(Audit::file(&a.file, a.field_values)?),
            None => None,
        };
        Ok(Config {
            read_only: read_only || self.read_only,
            policy,
            limits,
            audit,
            confirm_ttl: self
                .confirm
                .ttl_seconds
                .map_or(DEFAULT_CONFIRM_TTL, Duration::from_secs),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_config_file_becomes_settings() {
        let file = ConfigFile::parse(
            r#"
read_only = true
[objects]
allow = ["Account", "Contact"]
[fields]
deny = ["*.SSN__c"]
[limits]
max_rows = 100
api_calls = 10
[confirm]
ttl_seconds = 60
"#,
        )
        .unwrap();
        let config = file.into_config(false).unwrap();
        assert!(config.read_only);
        assert!(config.policy.object_allowed("Contact"));
        assert!(!config.policy.object_allowed("Lead"));
        assert!(!config.policy.field_allowed("Contact", "SSN__c"));
        assert_eq!(config.limits.max_rows, 100);
        assert_eq!(config.limits.api_calls, Some(10));
        assert_eq!(config.confirm_ttl, Duration::from_secs(60));
    }

    #[test]
    fn unknown_keys_and_bad_patterns_are_refused() {
        let err = ConfigFile::parse("readonly = true").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
        let err = ConfigFile::parse("[objects]\nallow = [\"A.B\"]")
            .unwrap()
            .into_config(false)
            .unwrap_err();
        assert!(err.to_string().contains("invalid pattern"), "{err}");
    }
}
