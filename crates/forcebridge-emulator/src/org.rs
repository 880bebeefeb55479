//! One running org: its configuration, schema, records, sessions, API usage, open query cursors
//! and Bulk jobs. Handlers share it through `Arc<Org>`.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use crate::auth::session::Sessions;
use crate::config::Config;
use crate::ids::RecordId;
use crate::schema::{Schema, SchemaError};
use crate::store::{Clock, Store};
use crate::value::Value;

/// Why the org could not start.
#[derive(Debug)]
pub enum StartError {
    Schema(SchemaError),
    Config(String),
    Io(std::io::Error),
    /// The data directory cannot be used (locked, another schema, unreadable).
    Persist(crate::persist::PersistError),
    /// The HTTPS certificate could not be made or written.
    Tls(crate::tls::TlsError),
}

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StartError::Schema(e) => write!(f, "invalid schema: {e}"),
            StartError::Config(e) => write!(f, "invalid configuration: {e}"),
            StartError::Io(e) => write!(f, "{e}"),
            StartError::Persist(e) => write!(f, "{e}"),
            StartError::Tls(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for StartError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            StartError::Schema(e) => Some(e),
            StartError::Io(e) => Some(e),
            StartError::Persist(e) => e.source(),
            StartError::Tls(e) => e.source(),
            StartError::Config(_) => None,
        }
    }
}

impl From<crate::persist::PersistError> for StartError {
    fn from(e: crate::persist::PersistError) -> StartError {
        StartError::Persist(e)
    }
}

impl From<SchemaError> for StartError {
    fn from(e: SchemaError) -> StartError {
        StartError::Schema(e)
    }
}

/// Counts API requests per day against the daily limit.
#[derive(Debug)]
pub struct ApiUsage {
    pub max: u64,
    used: AtomicU64,
    day: AtomicI64,
}

impl ApiUsage {
    fn new(max: u64) -> ApiUsage {
        ApiUsage {
            max,
            used: AtomicU64::new(0),
            day: AtomicI64::new(i64::MIN),
        }
    }

    /// Counts one request made at `now`; `None` if the day's limit is already spent. The count
    /// starts again at midnight UTC.
    pub fn record(&self, now: i64) -> Option<u64> {
        let today = now.div_euclid(86_400_000);
        if self.day.swap(today, Ordering::SeqCst) != today {
            self.used.store(0, Ordering::SeqCst);
        }
        let used = self.used.fetch_add(1, Ordering::SeqCst) + 1;
        if used > self.max {
            self.used.fetch_sub(1, Ordering::SeqCst);
            return None;
        }
        Some(used)
    }

    pub fn used(&self) -> u64 {
        self.used.load(Ordering::SeqCst)
    }
}

/// A running org.
#[derive(Debug)]
pub struct Org {
    pub config: Config,
    pub store: Store,
    pub sessions: Sessions,
    /// The 18-character organization id.
    pub org_id: String,
    /// The User record of each configured user, in configuration order.
    pub users: Vec<RecordId>,
    pub usage: ApiUsage,
    pub cursors: crate::soql::Cursors,
    pub jobs: crate::bulk::Jobs,
    pub faults: crate::faults::Faults,
    /// Whether the org is served over HTTPS (decides the scheme of URLs it hands out).
    pub tls: bool,
    /// When the org started (epoch milliseconds); the schema is unchanged since.
    pub started_at: i64,
    /// Where the org is kept across restarts (`config.data_dir`), if anywhere.
    pub persistence: Option<Arc<crate::persist::Persistence>>,
}

impl Org {
    /// Builds the org: schema, the configured users as User records, and generated data; or,
    /// when the data directory already holds an org, that org.
    pub fn new(config: Config, tls: bool) -> Result<Arc<Org>, StartError> {
        let schema = Arc::new(crate::schema::build(&config)?);
        let clock = match config.fixed_time {
            Some(start) => Clock::manual(start),
            None => Clock::System,
        };
        let store = Store::new(schema.clone(), clock);
        let org_id = RecordId::new("00D", 1).to_string();
        let sessions = Sessions::new(&org_id, config.token_lifetime);
        let persistence = match &config.data_dir {
            Some(dir) => Some(Arc::new(crate::persist::Persistence::open(dir, &schema)?)),
            None => None,
        };
        let loaded = match &persistence {
            Some(persistence) => persistence.load(&store)?,
            None => false,
        };
        if loaded && let Some(persistence) = &persistence {
            // Users added to the configuration since are created through the journal.
            store.set_commit_hook(persistence.clone());
        }
        let users = ensure_users(&store, &config)?;
        let org = Org {
            usage: ApiUsage::new(config.daily_api_requests),
            cursors: crate::soql::Cursors::default(),
            jobs: crate::bulk::Jobs::default(),
            faults: crate::faults::Faults::new(config.faults),
            config,
            store,
            sessions,
            org_id,
            users,
            tls,
            started_at: crate::value::now_millis(),
            persistence,
        };
        if loaded {
            if org.config.seed.is_some() {
                tracing::info!("the data directory holds an org, so no data is generated");
            }
        } else {
            crate::seed::populate(&org)?;
            if let Some(persistence) = &org.persistence {
                // The new org (with its generated data) becomes the first snapshot, so the
                // journal only ever holds changes made through the API.
                persistence.save(&org.store)?;
                org.store.set_commit_hook(persistence.clone());
            }
        }
        Ok(Arc::new(org))
    }

    pub fn schema(&self) -> &Arc<Schema> {
        self.store.schema()
    }

    /// The org's current time in epoch milliseconds.
    pub fn now(&self) -> i64 {
        self.store.clock().now()
    }

    /// The first configured user: the default owner and run-as user.
    pub fn admin(&self) -> RecordId {
        self.users[0]
    }

    /// Index of the configured user with this username (compared without case).
    pub fn user_index(&self, username: &str) -> Option<usize> {
        self.config
            .users
            .iter()
            .position(|u| u.username.eq_ignore_ascii_case(username))
    }

    /// The base URL clients reach this org at, from the request's Host header.
    pub fn base_url(&self, headers: &axum::http::HeaderMap) -> String {
        let host = headers
            .get(axum::http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("localhost");
        format!("{}://{host}", if self.tls { "https" } else { "http" })
    }
}

/// The User record of every configured user, in configuration order: found by username in an
/// org loaded from its data directory, created otherwise (the first one creates itself).
fn ensure_users(store: &Store, config: &Config) -> Result<Vec<RecordId>, StartError> {
    if config.users.is_empty() {
        return Err(StartError::Config(
            "the org needs at least one user".to_string(),
        ));
    }
    for (i, user) in config.users.iter().enumerate() {
        if config.users[..i]
            .iter()
            .any(|u| u.username.eq_ignore_ascii_case(&user.username))
        {
            return Err(StartError::Config(format!(
                "user {} is listed twice",
                user.username
            )));
        }
    }
    let schema = store.schema().clone();
    let (user_idx, def) = schema
        .find("User")
        .ok_or_else(|| StartError::Config("no User object".into()))?;
    let username_column = def
        .field("Username")
        .and_then(|(_, f)| f.column())
        .ok_or_else(|| StartError::Config("no User.Username field".into()))?;
    let existing = store.snapshot();
    let first = existing
        .table(user_idx)
        .find_unique(
            username_column,
            &Value::text(config.users[0].username.as_str()),
        )
        .map_or_else(
            || RecordId::new(&def.key_prefix, 1),
            |slot| crate::store::id_of(def, slot),
        );
    store.write(first, |txn| {
        let mut ids = Vec::new();
        for user in &config.users {
            let found = txn
                .data()
                .table(user_idx)
                .find_unique(username_column, &Value::text(user.username.as_str()));
            if let Some(slot) = found {
                ids.push(crate::store::id_of(def, slot));
                continue;
            }
            let mut values = vec![Value::Null; def.columns];
            let mut set = |name: &str, value: Value| {
                if let Some(column) = def.field(name).and_then(|(_, f)| f.column()) {
                    values[column] = value;
                }
            };
            let alias: String = user
                .username
                .chars()
                .filter(|c| c.is_alphanumeric())
                .take(8)
                .collect();
            set("Username", Value::text(user.username.as_str()));
            set("FirstName", Value::text(user.first_name.as_str()));
            set("LastName", Value::text(user.last_name.as_str()));
            set("Email", Value::text(user.email.as_str()));
            set("Alias", Value::text(alias.as_str()));
            set("CommunityNickname", Value::text(user.username.as_str()));
            set("IsActive", Value::Bool(true));
            set("TimeZoneSidKey", Value::text("America/Los_Angeles"));
            set("LocaleSidKey", Value::text("en_US"));
            set("EmailEncodingKey", Value::text("UTF-8"));
            set("LanguageLocaleKey", Value::text("en_US"));
            set("UserType", Value::text("Standard"));
            let id = txn.insert(user_idx, values).map_err(|_| {
                StartError::Config(format!("user {} is listed twice", user.username))
            })?;
            ids.push(id);
        }
        Ok(ids)
    })
}
