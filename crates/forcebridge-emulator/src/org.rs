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
    /// those added while the org runs, less the fields removed. Held while the schema changes,
    /// so changes queue.
    schema_objects: std::sync::Mutex<SchemaSource>,
}

/// What the schema is built from: the custom objects and fields (the configuration's, then
/// those added while the org runs), and the custom fields removed since.
#[derive(Debug)]
struct SchemaSource {
    objects: Vec<crate::config::ObjectConfig>,
    removed: Vec<(String, String)>,
    /// The duplicate rules: the configuration's, then those added while the org runs, less
    /// those removed.
    duplicate_rules: Vec<crate::config::DuplicateRuleConfig>,
}

impl SchemaSource {
    /// Where the custom field `field` of `object` is defined: its entry and its place in the
    /// entry's fields. `None` for a standard field.
    fn custom_field(&self, object: &str, field: &str) -> Option<(usize, usize)> {
        self.objects.iter().enumerate().find_map(|(entry, config)| {
            if !config.name.eq_ignore_ascii_case(object) {
                return None;
            }
            let index = config
                .fields
                .iter()
                .position(|f| f.name.eq_ignore_ascii_case(field))?;
            Some((entry, index))
        })
    }
}

impl Org {
    /// Builds the org: schema, the configured users as User records, and generated data; or,
    /// when the data directory already holds an org, that org.
    pub(crate) fn new(config: Config, tls: bool) -> Result<Arc<Org>, Error> {
        let schema = Arc::new(
            crate::schema::build(&config.schema, &config.validation_rules)?
                .with_duplicate_rules(&config.duplicate_rules)?,
        );
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
            schema_objects: std::sync::Mutex::new(SchemaSource {
                objects: config.schema.clone(),
                removed: Vec::new(),
                duplicate_rules: config.duplicate_rules.clone(),
            }),
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
    /// meet injected lock faults when the faults' scope covers the request, and go ahead past
    /// `Alert` duplicate rules when the request acknowledged duplicate alerts.
    pub(crate) fn write<T, E: From<CommitFailed>>(
        &self,
        caller: &Caller,
        work: impl FnOnce(&mut Txn<'_>) -> Result<T, E>,
    ) -> Result<T, E> {
        let allow_duplicates = caller.allow_duplicates;
        self.write_as(caller.session.user, caller.in_fault_scope, |txn| {
            txn.set_allow_duplicates(allow_duplicates);
            work(txn)
        })
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
        let mut source = self
            .schema_objects
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let name = addition.name.clone();
        let position = source.objects.len();
        let mut next = source.objects.clone();
        next.push(addition);
        let schema =
            crate::schema::build_without(&next, &source.removed, &self.config.validation_rules)
                .and_then(|schema| schema.with_duplicate_rules(&source.duplicate_rules))
                .map_err(|e| {
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
        source.objects = next;
        self.schema_did_change(&name);
        Ok(())
    }

    /// Removes the custom field `field` of `object`, as deleting it in Setup does: it leaves
    /// the describe, SOQL naming it fails with `INVALID_FIELD`, and its values are gone from
    /// every record (its column stays in the layout, empty, so no other column moves). Records
    /// keep their `SystemModstamp`. Refused for a standard field, an unknown one, or one a
    /// validation rule still names.
    pub(crate) fn remove_field(&self, object: &str, field: &str) -> Result<(), Error> {
        let mut source = self
            .schema_objects
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let refused =
            |why: String| Error::control(format!("cannot remove {object}.{field}: {why}"));
        let current = self.schema();
        let (object_idx, def) = current
            .find(object)
            .ok_or_else(|| refused(format!("unknown object {object}")))?;
        let (_, found) = def
            .field(field)
            .ok_or_else(|| refused(format!("{} has no field {field}", def.name)))?;
        if source.custom_field(&def.name, &found.name).is_none() {
            return Err(refused(
                "only custom fields (from the org file or added at run time) can be removed".into(),
            ));
        }
        // A compound field takes its components with it (a location's latitude and longitude).
        let columns: Vec<usize> = def
            .fields
            .iter()
            .filter(|f| {
                f.name.eq_ignore_ascii_case(&found.name)
                    || f.compound_field_name
                        .as_deref()
                        .is_some_and(|c| c.eq_ignore_ascii_case(&found.name))
            })
            .filter_map(|f| f.column())
            .collect();
        let names: Vec<String> = def
            .fields
            .iter()
            .filter(|f| {
                f.name.eq_ignore_ascii_case(&found.name)
                    || f.compound_field_name
                        .as_deref()
                        .is_some_and(|c| c.eq_ignore_ascii_case(&found.name))
            })
            .map(|f| f.name.clone())
            .collect();
        let mut removed = source.removed.clone();
        removed.extend(names.iter().map(|n| (def.name.clone(), n.clone())));
        let schema =
            crate::schema::build_without(&source.objects, &removed, &self.config.validation_rules)
                .and_then(|schema| schema.with_duplicate_rules(&source.duplicate_rules))
                .map_err(|e| refused(e.0))?;
        let object_name = def.name.clone();
        self.store
            .rewrite_schema(Arc::new(schema), object_idx, &|values| {
                for &column in &columns {
                    values[column] = Value::Null;
                }
            })
            .map_err(|_| refused("the records could not be rewritten".into()))?;
        source.removed = removed;
        self.schema_did_change(&object_name);
        Ok(())
    }

    /// Gives the custom field `field.name` of `object` a new definition, its type among what
    /// may change, as editing it in Setup does. Each stored value is converted through its
    /// text form by the new definition's rules; a value the new type cannot hold becomes
    /// empty. Records keep their `SystemModstamp`.
    ///
    /// UNVERIFIED: Salesforce warns that a type change may lose data and converts what it can;
    /// which values survive which change is not documented field by field, so the local org
    /// keeps exactly the values the new type accepts as they would be written through the API.
    /// Reference and compound (location) fields cannot change type here, nor become one: a real
    /// org restricts those changes too.
    pub(crate) fn change_field(
        &self,
        object: &str,
        field: crate::config::FieldConfig,
    ) -> Result<(), Error> {
        let mut source = self
            .schema_objects
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let name = field.name.clone();
        let refused = |why: String| Error::control(format!("cannot change {object}.{name}: {why}"));
        let current = self.schema();
        let (object_idx, def) = current
            .find(object)
            .ok_or_else(|| refused(format!("unknown object {object}")))?;
        let (_, old) = def
            .field(&name)
            .ok_or_else(|| refused(format!("{} has no field {name}", def.name)))?;
        let Some((entry, index)) = source.custom_field(&def.name, &old.name) else {
            return Err(refused(
                "only custom fields (from the org file or added at run time) can be changed".into(),
            ));
        };
        let fixed = |t: &str| {
            crate::schema::FieldType::from_describe_name(t)
                .is_some_and(|t| t == crate::schema::FieldType::Reference || t.is_compound())
        };
        if old.is_reference() || old.field_type.is_compound() || fixed(&field.field_type) {
            return Err(refused(
                "reference and location fields cannot change type, nor another field become one"
                    .into(),
            ));
        }
        let mut next = source.objects.clone();
        let mut field = field;
        // The field keeps its API name as the org spells it.
        field.name = old.name.clone();
        next[entry].fields[index] = field;
        let schema =
            crate::schema::build_without(&next, &source.removed, &self.config.validation_rules)
                .and_then(|schema| schema.with_duplicate_rules(&source.duplicate_rules))
                .map_err(|e| refused(e.0))?;
        let new_def = schema.object(object_idx);
        let (_, new_field) = new_def
            .field(&old.name)
            .expect("a changed field keeps its name");
        let column = old.column();
        if column.is_none() || new_field.column() != column || new_def.columns != def.columns {
            return Err(refused("the change would move stored values".into()));
        }
        let column = column.unwrap_or_default();
        let new_field = new_field.clone();
        let object_name = def.name.clone();
        self.store
            .rewrite_schema(Arc::new(schema), object_idx, &|values| {
                let value = std::mem::replace(&mut values[column], Value::Null);
                if let Some(text) = crate::value::text_form(&value) {
                    values[column] =
                        crate::dml::coerce(&new_field, crate::dml::Input::Csv(&text), &mut |_| {
                            None
                        })
                        .unwrap_or(Value::Null);
                }
            })
            .map_err(|_| refused("the converted values are not unique".into()))?;
        source.objects = next;
        self.schema_did_change(&object_name);
        Ok(())
    }

    /// Replaces the duplicate rules with what `change` makes of them, checked as the org
    /// file's are. The record layout and the describe stay as they are, so this works for an
    /// org kept in a data directory too (rules are not kept there: they come from the
    /// configuration at every start).
    pub(crate) fn change_duplicate_rules(
        &self,
        change: impl FnOnce(
            &mut Vec<crate::config::DuplicateRuleConfig>,
        ) -> Result<(), crate::schema::SchemaError>,
    ) -> Result<(), crate::schema::SchemaError> {
        let mut source = self
            .schema_objects
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let mut rules = source.duplicate_rules.clone();
        change(&mut rules)?;
        let schema = self.schema().with_duplicate_rules(&rules)?;
        self.store.change_schema(Arc::new(schema));
        source.duplicate_rules = rules;
        Ok(())
    }

    fn schema_did_change(&self, object: &str) {
        self.schema_changed_at
            .store(crate::value::now_millis(), Ordering::SeqCst);
        tracing::info!(object = %object, "the schema changed");
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
