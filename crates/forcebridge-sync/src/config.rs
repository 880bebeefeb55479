//! What to sync and where: plain settings with public fields, checked by
//! [`SyncConfig::validate`] before anything is sent or written. No file format lives here; the
//! CLI reads its `[sync]` section into these types.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use forcebridge_soql::builder::{Filter, QueryBuilder};

use crate::error::{Error, Result};

/// Everything one sync run needs besides the client.
#[derive(Debug, Clone)]
pub struct SyncConfig {
    /// Where the rows go.
    pub destination: Destination,
    /// Which objects to sync.
    pub objects: ObjectSelection,
    /// Options for every object without an entry in `per_object`.
    pub defaults: ObjectOptions,
    /// Options by object name (matched case-insensitively), replacing `defaults` whole.
    pub per_object: BTreeMap<String, ObjectOptions>,
    /// Read only up to this far behind the org's clock, so transactions still in flight
    /// commit before their rows are passed over (R2, R5).
    pub lag: Duration,
    /// Re-read this much before the saved cursor on every run, for rows a long transaction
    /// committed with an earlier `SystemModstamp` after the cursor passed it (R2).
    pub overlap: Duration,
    /// How many API requests this run may make.
    pub budget: Budget,
    /// Objects synced at once.
    pub concurrency: usize,
    /// Compare Id sets (R7) of every object at least this often, even when the delete log
    /// still reaches back far enough; `None` only when the log says it must (and for objects
    /// that delete records for good, every run).
    pub reconcile_every: Option<Duration>,
    /// First loads of objects with at least this many records (the org's `recordCount`) are
    /// read through a Bulk API 2.0 `queryAll` job, smaller ones over REST; `None` reads every
    /// object over REST.
    pub bulk_threshold: Option<u64>,
    /// The most rows per Bulk result page (`maxRecords`): each page is committed with the
    /// job's next locator, so this bounds both memory and the work a kill can lose.
    pub bulk_page_rows: u64,
}

impl SyncConfig {
    /// A configuration with the usual settings: every object `objects` names, incremental,
    /// soft deletes, formula refresh daily, 5 minutes of lag and 10 of overlap, no budget
    /// beyond the client's, four objects at once, first loads of 20,000 records or more
    /// through Bulk API 2.0 in pages of 25,000 rows.
    pub fn new(destination: Destination, objects: ObjectSelection) -> SyncConfig {
        SyncConfig {
            destination,
            objects,
            defaults: ObjectOptions::default(),
            per_object: BTreeMap::new(),
            lag: Duration::from_secs(300),
            overlap: Duration::from_secs(600),
            budget: Budget::default(),
            concurrency: 4,
            reconcile_every: None,
            bulk_threshold: Some(20_000),
            bulk_page_rows: 25_000,
        }
    }

    /// The options that apply to `object`.
    pub fn options_for(&self, object: &str) -> &ObjectOptions {
        self.per_object
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(object))
            .map(|(_, options)| options)
            .unwrap_or(&self.defaults)
    }

    /// Checks everything that can be checked without the org: names, patterns, filters
    /// (parsed by the SOQL crate), field lists, the budget and the destination. A run calls it
    /// first, so a bad configuration is refused before any request; the message names the
    /// setting.
    pub fn validate(&self) -> Result<()> {
        self.destination.validate()?;
        match &self.objects {
            ObjectSelection::Names(names) => {
                if names.is_empty() {
                    return Err(Error::config("objects: name at least one object"));
                }
                for name in names {
                    check_pattern(name).map_err(|why| Error::config(format!("objects: {why}")))?;
                }
            }
            ObjectSelection::AllReplicable { exclude } => {
                for name in exclude {
                    check_pattern(name)
                        .map_err(|why| Error::config(format!("objects.exclude: {why}")))?;
                }
            }
        }
        if self.bulk_page_rows == 0 {
            return Err(Error::config("bulk_page_rows: must be at least 1"));
        }
        if self.concurrency == 0 {
            return Err(Error::config("concurrency: must be at least 1"));
        }
        if let Some(share) = self.budget.max_share_of_daily_limit
            && !(share > 0.0 && share <= 1.0)
        {
            return Err(Error::config(format!(
                "budget.max_share_of_daily_limit: {share} is not between 0 and 1"
            )));
        }
        self.defaults.validate("defaults")?;
        for (name, options) in &self.per_object {
            check_name(name).map_err(|why| Error::config(format!("objects.{name}: {why}")))?;
            options.validate(&format!("objects.{name}"))?;
        }
        Ok(())
    }
}

/// Which objects a run syncs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ObjectSelection {
    /// These objects; a name may hold `*` wildcards (`*__c`), matched against the org's
    /// replicable objects.
    Names(Vec<String>),
    /// Every object the org marks queryable and replicable, but those matching `exclude`.
    AllReplicable { exclude: Vec<String> },
}

impl ObjectSelection {
    /// Whether the selection needs the org's object list (a pattern, or all objects).
    pub(crate) fn needs_global_describe(&self) -> bool {
        match self {
            ObjectSelection::Names(names) => names.iter().any(|n| n.contains('*')),
            ObjectSelection::AllReplicable { .. } => true,
        }
    }
}

/// How one object is synced.
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectOptions {
    /// Only these fields (besides `Id`, `SystemModstamp` and `IsDeleted`, always kept); empty
    /// for all.
    pub include_fields: Vec<String>,
    /// Never these fields.
    pub exclude_fields: Vec<String>,
    /// A SOQL condition rows must meet (`Industry = 'Energy'`), checked by the SOQL crate.
    /// A row that stops meeting it stays in the destination as it was last seen.
    pub filter: Option<String>,
    pub mode: Mode,
    pub deletes: Deletes,
    /// Re-read formula and roll-up fields this often (their changes move no timestamp, R8);
    /// `None` never.
    pub formula_refresh: Option<Duration>,
}

impl Default for ObjectOptions {
    fn default() -> ObjectOptions {
        ObjectOptions {
            include_fields: Vec::new(),
            exclude_fields: Vec::new(),
            filter: None,
            mode: Mode::Incremental,
            deletes: Deletes::Soft,
            formula_refresh: Some(Duration::from_secs(86_400)),
        }
    }
}

impl ObjectOptions {
    fn validate(&self, at: &str) -> Result<()> {
        for field in self.include_fields.iter().chain(&self.exclude_fields) {
            check_name(field).map_err(|why| Error::config(format!("{at}.fields: {why}")))?;
        }
        if let Some(filter) = &self.filter {
            QueryBuilder::select(["Id"])
                .from("X")
                .filter(Filter::parse(filter))
                .build()
                .map_err(|e| {
                    Error::config(format!("{at}.filter: not a valid SOQL condition: {e}"))
                })?;
        }
        Ok(())
    }
}

/// How rows are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Changed rows since the cursor, by `(SystemModstamp, Id)`.
    Incremental,
    /// Every row on every run, diffed against the destination.
    Full,
}

/// What a deleted record becomes in the destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deletes {
    /// The row stays with `_sf_is_deleted` set and `_sf_deleted_at` filled.
    Soft,
    /// The row is removed.
    Hard,
}

/// API requests a run may make. Reaching either limit stops the run at its last checkpoint
/// with [`crate::Outcome::BudgetExhausted`]; the next run continues from there.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Budget {
    /// Requests this run may send.
    pub max_calls_per_run: Option<u64>,
    /// Stop once the org reports this share (0 to 1) of its daily limit used, by anyone.
    pub max_share_of_daily_limit: Option<f64>,
}

/// The database rows are written to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// A SQLite file (created if missing), in WAL mode with STRICT tables.
    Sqlite(PathBuf),
    /// A PostgreSQL database URL (`postgres://user@host/db`), without TLS.
    Postgres(String),
}

impl Destination {
    /// The default destination, `./forcebridge.db`.
    pub fn default_sqlite() -> Destination {
        Destination::Sqlite(PathBuf::from("forcebridge.db"))
    }

    /// `sqlite:PATH`, a PostgreSQL URL (`postgres://` or `postgresql://`), or a bare path
    /// (SQLite).
    pub fn parse(text: &str) -> Result<Destination> {
        let destination = if let Some(path) = text.strip_prefix("sqlite:") {
            Destination::Sqlite(PathBuf::from(path))
        } else if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            Destination::Postgres(text.to_string())
        } else if text.contains("://") {
            return Err(Error::config(format!(
                "destination: {text:?} is neither sqlite:PATH nor a postgres:// URL"
            )));
        } else {
            Destination::Sqlite(PathBuf::from(text))
        };
        destination.validate()?;
        Ok(destination)
    }

    fn validate(&self) -> Result<()> {
        match self {
            Destination::Sqlite(path) if path.as_os_str().is_empty() => {
                Err(Error::config("destination: the SQLite path is empty"))
            }
            Destination::Postgres(url) => url
                .parse::<tokio_postgres::Config>()
                .map(|_| ())
                .map_err(|e| {
                    Error::config(format!(
                        "destination: not a PostgreSQL URL ({})",
                        redact(&e.to_string())
                    ))
                }),
            _ => Ok(()),
        }
    }

    /// The destination for messages, with any password left out.
    pub fn display(&self) -> String {
        match self {
            Destination::Sqlite(path) => format!("sqlite:{}", path.display()),
            Destination::Postgres(url) => redact(url),
        }
    }
}

/// A URL with its password replaced by `***`.
fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let Some((userinfo, host)) = rest.split_once('@') else {
        return url.to_string();
    };
    match userinfo.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_string(),
    }
}

/// An API name: a letter, then letters, digits and underscores.
fn check_name(name: &str) -> std::result::Result<(), String> {
    let ok = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(format!("{name:?} is not an API name"))
    }
}

/// An API name in which `*` stands for any run of characters.
fn check_pattern(pattern: &str) -> std::result::Result<(), String> {
    let ok = !pattern.is_empty()
        && pattern
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '*');
    if ok {
        Ok(())
    } else {
        Err(format!("{pattern:?} is not an object name or pattern"))
    }
}

/// Whether `name` matches `pattern` (case-insensitive, `*` for any run of characters).
pub(crate) fn matches(pattern: &str, name: &str) -> bool {
    let pattern = pattern.to_ascii_lowercase();
    let name = name.to_ascii_lowercase();
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == name;
    }
    let mut rest = name.as_str();
    let Some(first) = rest.strip_prefix(parts[0]) else {
        return false;
    };
    rest = first;
    let last = parts[parts.len() - 1];
    for part in &parts[1..parts.len() - 1] {
        match rest.find(part) {
            Some(i) => rest = &rest[i + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> SyncConfig {
        SyncConfig::new(
            Destination::default_sqlite(),
            ObjectSelection::Names(vec!["Account".into()]),
        )
    }

    #[test]
    fn bad_settings_are_refused_naming_the_key() {
        let mut c = config();
        c.defaults.filter = Some("Name = ".into());
        let e = c.validate().unwrap_err().to_string();
        assert!(
            e.starts_with("defaults.filter: not a valid SOQL condition"),
            "{e}"
        );

        let mut c = config();
        c.per_object.insert(
            "Contact".into(),
            ObjectOptions {
                exclude_fields: vec!["Bad Field".into()],
                ..ObjectOptions::default()
            },
        );
        let e = c.validate().unwrap_err().to_string();
        assert_eq!(
            e,
            "objects.Contact.fields: \"Bad Field\" is not an API name"
        );

        let mut c = config();
        c.budget.max_share_of_daily_limit = Some(1.5);
        assert!(c.validate().unwrap_err().to_string().starts_with("budget."));

        let mut c = config();
        c.objects = ObjectSelection::Names(vec!["Acc'ount".into()]);
        assert!(
            c.validate()
                .unwrap_err()
                .to_string()
                .starts_with("objects:")
        );
        assert!(config().validate().is_ok());
    }

    #[test]
    fn destinations_parse_and_hide_passwords() {
        assert_eq!(
            Destination::parse("sqlite:/tmp/x.db").unwrap(),
            Destination::Sqlite("/tmp/x.db".into())
        );
        let pg = Destination::parse("postgres://me:secret@127.0.0.1/test").unwrap();
        assert_eq!(pg.display(), "postgres://me:***@127.0.0.1/test");
        assert!(Destination::parse("mysql://x").is_err());
    }

    #[test]
    fn patterns_match_case_insensitively() {
        assert!(matches("*__c", "Invoice__c"));
        assert!(matches("account", "Account"));
        assert!(matches("Acc*nt", "Account"));
        assert!(!matches("*__c", "Account"));
        assert!(matches("*", "Account"));
    }
}
