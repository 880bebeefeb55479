//! One running org: its configuration, schema, records, sessions, API usage, open query cursors
//! and Bulk jobs. Handlers share it through `Arc<Org>`.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use crate::http::Caller;
use crate::store::{CommitFailed, Txn};

use crate::auth::session::Sessions;
use crate::config::Config;
use crate::error::Error;
use crate::ids::RecordId;
use crate::schema::Schema;
use crate::store::{Clock, Store};
use crate::value::Value;

/// Counts API requests per day against the daily limit.
#[derive(Debug)]
pub(crate) struct ApiUsage {
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
    pub(crate) fn record(&self, now: i64) -> Option<u64> {
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

    pub(crate) fn used(&self) -> u64 {
        self.used.load(Ordering::SeqCst)
    }
}

/// A running org.
#[derive(Debug)]
pub(crate) struct Org {
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
    /// The request-body bytes all requests may hold at once (`config.upload_budget`).
    pub uploads: crate::upload::UploadBudget,
    /// Whether the org is served over HTTPS (decides the scheme of URLs it hands out).
    pub tls: bool,
    /// When the org started (epoch milliseconds, real time).
    pub started_at: i64,
    /// When the schema last changed while the org ran (epoch milliseconds, real time, since it
    /// is compared with the `Date` of earlier responses); `i64::MIN` while it never did.
    pub schema_changed_at: AtomicI64,
    /// Where the org is kept across restarts (`config.data_dir`), if anywhere.
    pub persistence: Option<Arc<crate::persist::Persistence>>,
    /// The custom objects and fields the schema is built from: the configuration's, then
    /// those added while the org runs. Held while the schema changes, so changes queue.
    schema_objects: std::sync::Mutex<Vec<crate::config::ObjectConfig>>,
}

impl Org {
    /// Builds the org: schema, the configured users as User records, and generated data; or,
    /// when the data directory already holds an org, that org.
    pub(crate) fn new(config: Config, tls: bool) -> Result<Arc<Org>, Error> {
        let schema = Arc::new(crate::schema::build(
            &config.schema,
            &config.validation_rules,
        )?);
        let clock = match config.fixed_time {
            Some(start) => Clock::manual(start),
            None => Clock::system(),
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
            faults: crate::faults::Faults::new(config.faults.clone()),
            uploads: crate::upload::UploadBudget::new(config.upload_budget, config.upload_wait),
            schema_objects: std::sync::Mutex::new(config.schema.clone()),
            config,
            store,
            sessions,
            org_id,
            users,
            tls,
            started_at: crate::value::now_millis(),
            schema_changed_at: AtomicI64::new(i64::MIN),
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
        // Last, so its dates are the first user's as generated data left them.
        record_organization(&org.store, &org.config, org.admin())?;
        Ok(Arc::new(org))
    }

    /// The schema as it is now. A request that also reads records takes the schema first
    /// (or from its snapshot), so its records always have at least the columns it expects.
    pub(crate) fn schema(&self) -> Arc<Schema> {
        self.store.schema()
    }

    /// Runs `work` as one transaction on behalf of an API caller: the records it writes may
    /// meet injected lock faults when the faults' scope covers the request.
    pub(crate) fn write<T, E: From<CommitFailed>>(
        &self,
        caller: &Caller,
        work: impl FnOnce(&mut Txn<'_>) -> Result<T, E>,
    ) -> Result<T, E> {
        self.write_as(caller.session.user, caller.in_fault_scope, work)
    }

    /// [`Org::write`] for work the API started earlier (Bulk ingest jobs), as `user`.
    pub(crate) fn write_as<T, E: From<CommitFailed>>(
        &self,
        user: RecordId,
        in_fault_scope: bool,
        work: impl FnOnce(&mut Txn<'_>) -> Result<T, E>,
    ) -> Result<T, E> {
        if in_fault_scope {
            self.store.write_locking(user, &self.faults, work)
        } else {
            self.store.write(user, work)
        }
    }

    /// Adds a custom object, or custom fields of an existing object (`extends`), to the
    /// running org's schema: built and checked as the org file's entries are, then swapped in
    /// with every stored record given an empty value in each new column.
    pub(crate) fn add_to_schema(&self, addition: crate::config::ObjectConfig) -> Result<(), Error> {
        let mut objects = self
            .schema_objects
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let name = addition.name.clone();
        let position = objects.len();
        let mut next = objects.clone();
        next.push(addition);
        let schema = crate::schema::build(&next, &self.config.validation_rules).map_err(|e| {
            // The entry's place in the list means nothing to the caller: only the object does.
            let message = e.0.to_string();
            let place = format!("objects[{position}] ({name}): ");
            let message = message.strip_prefix(&place).unwrap_or(&message);
            Error::control(format!("cannot add to the schema of {name}: {message}"))
        })?;
        if !crate::schema::only_adds(&self.schema(), &schema) {
            return Err(Error::control(format!(
                "cannot add to the schema of {name}: the change would move existing fields"
            )));
        }
        self.store.change_schema(Arc::new(schema));
        self.schema_changed_at
            .store(crate::value::now_millis(), Ordering::SeqCst);
        *objects = next;
        tracing::info!(object = %name, "the schema changed");
        Ok(())
    }

    /// The time describes count as last modified at, for `If-Modified-Since`: the start of the
    /// second the org started in, or, once the schema changed, the second after the change
    /// (HTTP dates have whole seconds, and a copy fetched in the same second as a change may be
    /// the old one).
    pub(crate) fn schema_modified_at(&self) -> i64 {
        match self.schema_changed_at.load(Ordering::SeqCst) {
            i64::MIN => self.started_at - self.started_at.rem_euclid(1000),
            changed => changed - changed.rem_euclid(1000) + 1000,
        }
    }

    /// The org's current time in epoch milliseconds.
    pub(crate) fn now(&self) -> i64 {
        self.store.clock().now()
    }

    /// The first configured user: the default owner and run-as user.
    pub(crate) fn admin(&self) -> RecordId {
        self.users[0]
    }

    /// Index of the configured user with this username (compared without case).
    pub(crate) fn user_index(&self, username: &str) -> Option<usize> {
        self.config
            .users
            .iter()
            .position(|u| u.username.eq_ignore_ascii_case(username))
    }

    /// The base URL clients reach this org at, from the request's Host header.
    pub(crate) fn base_url(&self, headers: &axum::http::HeaderMap) -> String {
        let host = headers
            .get(axum::http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("localhost");
        format!("{}://{host}", if self.tls { "https" } else { "http" })
    }
}

/// The Organization record: the org id, its name and settings, created when its first user was
/// (so its dates survive restarts with a data directory, without the record being kept there).
/// Values Salesforce would hold that a local org has no notion of are plausible constants.
fn record_organization(store: &Store, config: &Config, admin: RecordId) -> Result<(), Error> {
    let schema = store.schema();
    let (object, def) = schema
        .find("Organization")
        .ok_or_else(|| Error::config("invalid configuration: no Organization object"))?;
    let (user_object, user_def) = schema
        .find("User")
        .ok_or_else(|| Error::config("invalid configuration: no User object"))?;
    let snapshot = store.snapshot();
    let created = crate::store::slot_of(admin)
        .and_then(|slot| snapshot.table(user_object).get(slot))
        .map_or(Value::Null, |row| row[user_def.system.created_date].clone());
    let mut values = vec![Value::Null; def.columns];
    let mut set = |name: &str, value: Value| {
        if let Some(column) = def.field(name).and_then(|(_, f)| f.column()) {
            values[column] = value;
        }
    };
    let first = &config.users[0];
    let contact = format!("{} {}", first.first_name, first.last_name);
    set("Name", Value::text(config.org_name.as_str()));
    set("Country", Value::text("United States"));
    set("PrimaryContact", Value::text(contact.trim()));
    set("DefaultLocaleSidKey", Value::text("en_US"));
    set("TimeZoneSidKey", Value::text("America/Los_Angeles"));
    set("LanguageLocaleKey", Value::text("en_US"));
    set("ReceivesInfoEmails", Value::Bool(true));
    set("ReceivesAdminInfoEmails", Value::Bool(true));
    // The fiscal year is the calendar year here (see the README's known differences).
    set("FiscalYearStartMonth", Value::Int(1));
    set("UsesStartDateAsFiscalYearName", Value::Bool(false));
    set("OrganizationType", Value::text("Developer Edition"));
    set("InstanceName", Value::text("LOCAL"));
    set("IsSandbox", Value::Bool(false));
    set("IsReadOnly", Value::Bool(false));
    set("SignupCountryIsoCode", Value::text("US"));
    let sys = def.system;
    values[sys.is_deleted] = Value::Bool(false);
    values[sys.created_date] = created.clone();
    values[sys.created_by] = Value::Ref(admin);
    values[sys.last_modified_date] = created.clone();
    values[sys.last_modified_by] = Value::Ref(admin);
    values[sys.system_modstamp] = created;
    store.write(admin, |txn| {
        txn.load(object, 0, Some(values.into()));
        Ok::<_, Error>(())
    })
}

/// The User record of every configured user, in configuration order: found by username in an
/// org loaded from its data directory, created otherwise (the first one creates itself).
fn ensure_users(store: &Store, config: &Config) -> Result<Vec<RecordId>, Error> {
    if config.users.is_empty() {
        return Err(Error::config(
            "invalid configuration: the org needs at least one user",
        ));
    }
    for (i, user) in config.users.iter().enumerate() {
        if config.users[..i]
            .iter()
            .any(|u| u.username.eq_ignore_ascii_case(&user.username))
        {
            return Err(Error::config(format!(
                "invalid configuration: user {} is listed twice",
                user.username
            )));
        }
    }
    let schema = store.schema().clone();
    let (user_idx, def) = schema
        .find("User")
        .ok_or_else(|| Error::config("invalid configuration: no User object"))?;
    let username_column = def
        .field("Username")
        .and_then(|(_, f)| f.column())
        .ok_or_else(|| Error::config("invalid configuration: no User.Username field"))?;
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
                Error::config(format!(
                    "invalid configuration: user {} is listed twice",
                    user.username
                ))
            })?;
            ids.push(id);
        }
        Ok(ids)
    })
}
