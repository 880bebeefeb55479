//! The control surface: what a test does to the org that no API client could, to make the
//! situations real orgs produce (a field added, removed or retyped while a sync runs, an emptied recycle bin, many
//! records sharing one `SystemModstamp`, a long transaction committing late, lock contention,
//! an expired session, a duplicate rule) happen on cue.
//!
//! Every change goes through the same store, schema and rules as the API, so a test observes
//! it over HTTP exactly as a client would; nothing here bypasses validation except the
//! timestamps a method says it sets. It deliberately offers no way to read records: tests read
//! through the API, like the code they test.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value as Json;

use crate::api_error::DmlError;
use crate::config::{DuplicateRuleConfig, FaultConfig, FieldConfig, ObjectConfig};
use crate::error::Error;
use crate::ids::RecordId;
use crate::org::Org;
use crate::schema::ObjectIdx;
use crate::store::{CommitFailed, Txn};

/// A handle on a running org for tests (see [`crate::Emulator::control`]). Cheap to clone;
/// every clone drives the same org, and keeps it in memory (not serving) after the
/// [`Emulator`](crate::Emulator) is shut down; with a data directory, that includes the
/// directory's lock, so drop the handles before starting another org on it.
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use forcebridge_emulator::{Config, Emulator, FieldConfig};
/// use serde_json::json;
///
/// let emulator = Emulator::start(Config::builtin(), "127.0.0.1:0".parse()?).await?;
/// let control = emulator.control();
/// // 5,000 accounts committed at one instant, by one transaction.
/// let stamp = control.now();
/// let ids = control.insert_with_stamp(
///     "Account",
///     (0..5_000).map(|i| json!({ "Name": format!("Account {i}") })),
///     stamp,
/// )?;
/// // A transaction that took its timestamp a minute ago commits only now.
/// control.insert_with_stamp(
///     "Account",
///     [json!({ "Name": "Late" })],
///     stamp - chrono::Duration::minutes(1),
/// )?;
/// // A field appears while clients run: describes report it, existing rows read null.
/// control.add_field("Account", FieldConfig::new("Tier__c", "string"))?;
/// control.advance_clock(std::time::Duration::from_secs(60));
/// # let _ = ids;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Control {
    org: Arc<Org>,
}

impl std::fmt::Debug for Control {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Control")
            .field("org_id", &self.org.org_id)
            .finish_non_exhaustive()
    }
}

impl Control {
    pub(crate) fn new(org: Arc<Org>) -> Control {
        Control { org }
    }

    // Who is who.

    /// The organization's 18-character id (`00D...`).
    pub fn org_id(&self) -> String {
        self.org.org_id.clone()
    }

    /// The User record id of every configured user, in configuration order (the first is the
    /// admin).
    pub fn user_ids(&self) -> Vec<String> {
        self.org.users.iter().map(ToString::to_string).collect()
    }

    /// A fresh access token for the first configured user, issued without a login request.
    pub fn access_token(&self) -> String {
        self.org.sessions.issue(
            crate::auth::session::Session {
                user: self.org.admin(),
                user_index: 0,
                client_id: None,
                issued_at: 0,
                expires_at: 0,
                scopes: vec!["api".to_string()],
                refresh_token: None,
            },
            self.org.now(),
        )
    }

    /// Ends every session: access and refresh tokens, authorization codes and browser logins.
    /// The next API request with an old token answers 401 `INVALID_SESSION_ID`.
    pub fn expire_sessions(&self) {
        self.org.sessions.expire_all();
    }

    // Time.

    /// The org's current time (its clock: the system clock, or the configured
    /// [`Config::fixed_time`](crate::Config::fixed_time), moved on by
    /// [`Control::advance_clock`]).
    pub fn now(&self) -> DateTime<Utc> {
        millis_to_time(self.org.now())
    }

    /// Moves the org's clock forward: timestamps of later writes, session and cursor expiry,
    /// date literals such as `TODAY`, and the window of `/updated` and `/deleted` all follow.
    pub fn advance_clock(&self, by: Duration) {
        let millis = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        self.org.store.clock().advance(millis);
    }

    // Faults.

    /// The injected faults now in force.
    pub fn faults(&self) -> FaultConfig {
        self.org.faults.get()
    }

    /// Changes the injected faults while the org runs, and starts their random stream again
    /// from `faults.seed`, so what follows repeats on every run.
    pub fn set_faults(&self, faults: FaultConfig) {
        self.org.faults.set(faults);
    }

    // Schema.

    /// Adds a custom field to an object (standard or custom) while the org runs, as an admin
    /// would in Setup. The field takes the org file's definition ([`FieldConfig`]) and its
    /// checks. From now on it is in the object's describe (and a revalidation with
    /// `If-Modified-Since` answers 200 with it), usable in SOQL, DML and Bulk; existing records
    /// read null in it and keep their `SystemModstamp`.
    ///
    /// Refused (with nothing changed) for a mistake in the definition, a name already taken, or
    /// an org kept in a data directory, whose files are tied to the schema it started with.
    pub fn add_field(&self, object: &str, field: FieldConfig) -> Result<(), Error> {
        let mut extension = ObjectConfig::new(object, vec![field]);
        extension.extends = true;
        self.change_schema(extension)
    }

    /// Adds a custom object (or, with `extends = true`, fields of an existing object) while
    /// the org runs; see [`Control::add_field`] for what follows and what is refused.
    pub fn add_object(&self, object: ObjectConfig) -> Result<(), Error> {
        self.change_schema(object)
    }

    /// Removes a custom field while the org runs, as deleting it in Setup does: it leaves the
    /// object's describe (a revalidation with `If-Modified-Since` answers 200 without it), a
    /// query naming it fails with `INVALID_FIELD`, `FIELDS(ALL)` and Bulk results no longer
    /// hold it, and its values are gone. Every other value stays, and every record keeps its
    /// `SystemModstamp` (a replica polling by timestamp sees no change). A location field
    /// takes its latitude and longitude with it.
    ///
    /// Refused (with nothing changed) for a standard field, an unknown one, one a validation
    /// rule still names, or an org kept in a data directory.
    pub fn remove_field(&self, object: &str, field: &str) -> Result<(), Error> {
        self.schema_is_mutable(object)?;
        self.org.remove_field(object, field)
    }

    /// Gives an existing custom field a new definition while the org runs, as editing it in
    /// Setup does: most often a new type (`Text` to `Number`, `Number` to `Text`, a longer
    /// text). `field.name` names the field. The describe reports the new definition; each
    /// stored value is carried over if the new type accepts its text form as a write would,
    /// and emptied if not; every record keeps its `SystemModstamp`.
    ///
    /// Refused (with nothing changed) for a standard field, an unknown one, a reference or
    /// location field (or a change into one), a definition the org file would refuse, values
    /// that would break a new uniqueness rule, or an org kept in a data directory.
    pub fn change_field(&self, object: &str, field: FieldConfig) -> Result<(), Error> {
        self.schema_is_mutable(object)?;
        self.org.change_field(object, field)
    }

    /// Adds a duplicate rule while the org runs, as activating one in Setup does: from now on
    /// every create or update of `rule.object` through the API (REST, composite, collections,
    /// Bulk) and through [`Control::insert`] is compared with the records already saved, and a
    /// match on every field of the rule meets the rule's action (see [`DuplicateRuleConfig`]
    /// and the README's "Duplicate rules"). Records already in the org are left as they are.
    ///
    /// Refused (with nothing changed) for an unknown object or field, a field that is not
    /// stored (a compound address: name its components), a rule without fields, or a name the
    /// object's rules already use. Works for an org kept in a data directory too; rules are
    /// not kept there.
    pub fn add_duplicate_rule(&self, rule: DuplicateRuleConfig) -> Result<(), Error> {
        let name = rule.name.clone();
        let object = rule.object.clone();
        self.org
            .change_duplicate_rules(|rules| {
                rules.push(rule);
                Ok(())
            })
            .map_err(|e| {
                Error::control(format!(
                    "cannot add the duplicate rule {name} to {object}: {}",
                    e.0
                ))
            })
    }

    /// Removes the duplicate rule `name` of `object` (as deactivating it in Setup does);
    /// saves no longer meet it. Refused for a rule the object does not have.
    pub fn remove_duplicate_rule(&self, object: &str, name: &str) -> Result<(), Error> {
        self.org
            .change_duplicate_rules(|rules| {
                let before = rules.len();
                rules.retain(|r| {
                    !(r.object.eq_ignore_ascii_case(object) && r.name.eq_ignore_ascii_case(name))
                });
                if rules.len() == before {
                    return Err(crate::schema::SchemaError(format!(
                        "{object} has no duplicate rule named {name}"
                    )));
                }
                Ok(())
            })
            .map_err(|e| {
                Error::control(format!(
                    "cannot remove the duplicate rule {name} of {object}: {}",
                    e.0
                ))
            })
    }

    fn schema_is_mutable(&self, object: &str) -> Result<(), Error> {
        if self.org.persistence.is_some() {
            return Err(Error::control(format!(
                "cannot change the schema of {object}: the org is kept in a data directory, whose files are tied to the schema it started with"
            )));
        }
        Ok(())
    }

    fn change_schema(&self, addition: ObjectConfig) -> Result<(), Error> {
        self.schema_is_mutable(&addition.name)?;
        self.org.add_to_schema(addition)
    }

    // Records.

    /// Creates records of `object` (JSON objects, as a REST create takes them) in one
    /// transaction, with every validation and default a create gets (duplicate rules included,
    /// as a request without the duplicate rule header meets them), without an API request
    /// (nothing counts against the daily limit, no fault is injected). Returns their ids, in
    /// order. If one record is refused, none is created.
    pub fn insert(
        &self,
        object: &str,
        records: impl IntoIterator<Item = Json>,
    ) -> Result<Vec<String>, Error> {
        let (object_idx, name) = self.object(object)?;
        let records: Vec<Json> = records.into_iter().collect();
        self.org.store.write(self.org.admin(), |txn| {
            create_all(txn, object_idx, &name, &records)
        })
    }

    /// [`Control::insert`] as one transaction whose timestamp is `stamp` whatever the clock
    /// says: every record gets `stamp` as its `CreatedDate`, `LastModifiedDate` and
    /// `SystemModstamp`. With many records, they share one `SystemModstamp`; with a `stamp`
    /// before records already visible, it is a long transaction that committed late, so a
    /// replica whose cursor has passed `stamp` never sees it by `SystemModstamp` alone.
    pub fn insert_with_stamp(
        &self,
        object: &str,
        records: impl IntoIterator<Item = Json>,
        stamp: DateTime<Utc>,
    ) -> Result<Vec<String>, Error> {
        let (object_idx, name) = self.object(object)?;
        let records: Vec<Json> = records.into_iter().collect();
        self.org
            .store
            .write_at(self.org.admin(), stamp.timestamp_millis(), |txn| {
                create_all(txn, object_idx, &name, &records)
            })
    }

    /// Updates the record `id` of `object` with `fields` (as a REST update takes them) in a
    /// transaction stamped `stamp`: its `LastModifiedDate` and `SystemModstamp` become `stamp`
    /// whatever the clock says (a late commit, as with [`Control::insert_with_stamp`]).
    pub fn update_with_stamp(
        &self,
        object: &str,
        id: &str,
        fields: Json,
        stamp: DateTime<Utc>,
    ) -> Result<(), Error> {
        let (object_idx, name) = self.object(object)?;
        let record = self.record_id(&name, id)?;
        let Json::Object(body) = fields else {
            return Err(Error::control(format!(
                "cannot update {name} record {id}: the fields must be a JSON object"
            )));
        };
        self.org
            .store
            .write_at(self.org.admin(), stamp.timestamp_millis(), |txn| {
                crate::dml::update(txn, object_idx, record, &body).map_err(|e| {
                    ControlFailure::refused(format!("cannot update {name} record {id}"), e)
                })
            })
            .map_err(ControlFailure::into_error)
    }

    /// Sets the `SystemModstamp` of the records `ids` of `object` to `stamp`, in one
    /// transaction, as a system process touching them all at once would. Nothing else changes,
    /// except that a `LastModifiedDate` later than `stamp` comes down to it (a record's
    /// `SystemModstamp` is never before its `LastModifiedDate`). Records in the recycle bin
    /// count too.
    pub fn set_system_modstamp(
        &self,
        object: &str,
        ids: impl IntoIterator<Item = impl AsRef<str>>,
        stamp: DateTime<Utc>,
    ) -> Result<(), Error> {
        let (object_idx, name) = self.object(object)?;
        let records = ids
            .into_iter()
            .map(|id| self.record_id(&name, id.as_ref()))
            .collect::<Result<Vec<_>, _>>()?;
        let stamp = stamp.timestamp_millis();
        self.org
            .store
            .write(self.org.admin(), |txn| {
                for id in &records {
                    let slot = crate::store::slot_of(*id)
                        .filter(|&slot| txn.data().table(object_idx).get(slot).is_some())
                        .ok_or_else(|| {
                            ControlFailure::Message(format!("no {name} record has the id {id}"))
                        })?;
                    txn.set_system_modstamp(object_idx, slot, stamp)
                        .map_err(|_| {
                            ControlFailure::Message(format!("no {name} record has the id {id}"))
                        })?;
                }
                Ok(())
            })
            .map_err(ControlFailure::into_error)
    }

    /// Sets the value of a formula or roll-up field (`calculated` in the describe) of the record
    /// `id`, as the platform does when what the formula reads changes elsewhere: its
    /// `SystemModstamp` and `LastModifiedDate` stay as they were, so a replica polling by
    /// timestamp never sees the change. `value` is JSON, as a REST write gives values.
    /// Refused for a field that is not calculated.
    pub fn set_calculated_value(
        &self,
        object: &str,
        id: &str,
        field: &str,
        value: Json,
    ) -> Result<(), Error> {
        let (object_idx, name) = self.object(object)?;
        let record = self.record_id(&name, id)?;
        let schema = self.org.schema();
        let def = schema.object(object_idx);
        let (_, field_def) = def
            .field(field)
            .ok_or_else(|| Error::control(format!("{name} has no field {field}")))?;
        let column = field_def.column().filter(|_| field_def.calculated);
        let Some(column) = column else {
            return Err(Error::control(format!(
                "{name}.{} is not a formula or roll-up field",
                field_def.name
            )));
        };
        let stored = crate::dml::coerce(field_def, crate::dml::Input::Json(&value), &mut |_| None)
            .map_err(|e| Error::control(format!("cannot set {name}.{}: {e}", field_def.name)))?;
        self.org
            .store
            .write(self.org.admin(), |txn| {
                let slot = crate::store::slot_of(record)
                    .filter(|&slot| txn.data().table(object_idx).get(slot).is_some())
                    .ok_or_else(|| {
                        ControlFailure::Message(format!("no {name} record has the id {id}"))
                    })?;
                txn.set_value(object_idx, slot, column, stored.clone())
                    .map_err(|_| {
                        ControlFailure::Message(format!("no {name} record has the id {id}"))
                    })
            })
            .map_err(ControlFailure::into_error)
    }

    /// Empties the recycle bin of every object: records deleted (soft) are erased for good,
    /// so `queryAll` no longer finds them, and `/sobjects/{Type}/deleted` reports an
    /// `earliestDateAvailable` no earlier than now for each object that had any. Returns how
    /// many records were erased.
    pub fn empty_recycle_bin(&self) -> Result<usize, Error> {
        let objects = self.org.schema().objects().len();
        self.purge((0..objects).map(ObjectIdx).collect())
    }

    /// [`Control::empty_recycle_bin`] for the records of one object only.
    pub fn empty_recycle_bin_of(&self, object: &str) -> Result<usize, Error> {
        let (object_idx, _) = self.object(object)?;
        self.purge(vec![object_idx])
    }

    fn purge(&self, objects: Vec<ObjectIdx>) -> Result<usize, Error> {
        self.org
            .store
            .write(self.org.admin(), |txn| {
                Ok::<_, ControlFailure>(
                    objects
                        .iter()
                        .map(|&object| txn.purge_recycle_bin(object))
                        .sum(),
                )
            })
            .map_err(ControlFailure::into_error)
    }

    /// Adds `count` plain Account records (names `Account 0000000`, `Account 0000001`, ...,
    /// with industries, cities, phones, websites, revenue and employee counts; no related
    /// records), written straight into the store in large transactions: a big, uniform table
    /// for benchmarks, far faster than [`Control::insert`].
    pub fn insert_plain_accounts(&self, count: usize) {
        crate::seed::load_plain_accounts(&self.org, count);
    }

    // Counts and waits.

    /// The number of live records (not in the recycle bin) of each object, in schema order.
    pub fn record_counts(&self) -> Vec<(String, usize)> {
        let snapshot = self.org.store.snapshot();
        snapshot
            .schema()
            .objects()
            .iter()
            .enumerate()
            .map(|(i, object)| {
                (
                    object.name.clone(),
                    snapshot.table(ObjectIdx(i)).live_count(),
                )
            })
            .collect()
    }

    /// The number of open query cursors (`nextRecordsUrl` locators that still answer).
    pub fn open_cursors(&self) -> usize {
        self.org.cursors.open_count()
    }

    /// Waits until no Bulk job is being processed: every ingest job closed with
    /// `UploadComplete`, and every query job created, before this call has reached its final
    /// state. The event a test waits for instead of polling on a timer.
    ///
    /// While ingest is held ([`Control::hold_bulk_ingest`]), a job waiting at the hold counts
    /// as settled: this returns once every job has finished or is waiting there, so the test
    /// then reads the held job's state, counters and results as they stay until the release
    /// or an abort (after an abort, it waits for the job to record its unprocessed rows).
    pub async fn bulk_jobs_settled(&self) {
        self.org.jobs.settled().await;
    }

    // Bulk ingest.

    /// Holds Bulk API 2.0 ingest processing, so a test sees a closed job part way, as a real
    /// org's queue and batches show it: from now on every ingest job processes at most
    /// `after_rows` of its rows (successes and failures alike), then waits. Held at 0, a
    /// closed job stays `UploadComplete`; held at `n > 0`, it is `InProgress` with `n` records
    /// processed, committed and visible through the API (`numberRecordsProcessed`,
    /// `numberRecordsFailed`, `successfulResults`, `failedResults`).
    ///
    /// A held job waits until [`Control::release_bulk_ingest`] (then it finishes as usual), a
    /// new hold (then it goes on to the new limit), or its abort (`PATCH` with
    /// `{"state":"Aborted"}`): the rows it processed stay in the org, and the others are
    /// listed in `unprocessedrecords`. Shutting the org down, or dropping the
    /// [`Emulator`](crate::Emulator), ends the hold, so a held job never keeps the runtime
    /// from shutting down. See [`Control::bulk_jobs_settled`] for waiting until a job is at
    /// the hold.
    pub fn hold_bulk_ingest(&self, after_rows: usize) {
        self.org
            .jobs
            .hold_ingest(u64::try_from(after_rows).unwrap_or(u64::MAX));
    }

    /// Ends the hold of [`Control::hold_bulk_ingest`]: held jobs go on and finish as usual,
    /// and jobs closed from now on are processed at once. Does nothing when ingest is not
    /// held.
    pub fn release_bulk_ingest(&self) {
        self.org.jobs.release_ingest();
    }

    fn object(&self, name: &str) -> Result<(ObjectIdx, String), Error> {
        let schema = self.org.schema();
        let (index, def) = schema
            .find(name)
            .ok_or_else(|| Error::control(format!("unknown object {name}")))?;
        Ok((index, def.name.clone()))
    }

    fn record_id(&self, object: &str, id: &str) -> Result<RecordId, Error> {
        match RecordId::read(id) {
            Ok(Some(record)) => Ok(record),
            _ => Err(Error::control(format!(
                "no {object} record has the id {id}"
            ))),
        }
    }
}

/// Why a control transaction failed: a refused record, a plain message, or the journal.
enum ControlFailure {
    Refused { what: String, error: DmlError },
    Message(String),
    Commit(CommitFailed),
}

impl ControlFailure {
    fn refused(what: String, error: DmlError) -> ControlFailure {
        ControlFailure::Refused { what, error }
    }

    fn into_error(self) -> Error {
        match self {
            ControlFailure::Refused { what, error } => Error::control(format!("{what}: {error}")),
            ControlFailure::Message(message) => Error::control(message),
            ControlFailure::Commit(failed) => Error::with_source(
                crate::ErrorKind::DataDir,
                "the change could not be written to the data directory",
                failed,
            ),
        }
    }
}

impl From<CommitFailed> for ControlFailure {
    fn from(failed: CommitFailed) -> ControlFailure {
        ControlFailure::Commit(failed)
    }
}

impl From<CommitFailed> for Error {
    fn from(failed: CommitFailed) -> Error {
        ControlFailure::Commit(failed).into_error()
    }
}

fn create_all(
    txn: &mut Txn<'_>,
    object: ObjectIdx,
    name: &str,
    records: &[Json],
) -> Result<Vec<String>, Error> {
    records
        .iter()
        .enumerate()
        .map(|(i, record)| {
            let Json::Object(body) = record else {
                return Err(Error::control(format!(
                    "cannot insert {name} record {i}: a record must be a JSON object"
                )));
            };
            crate::dml::create(txn, object, body)
                .map(|id| id.to_string())
                .map_err(|e| Error::control(format!("cannot insert {name} record {i}: {e}")))
        })
        .collect()
}

fn millis_to_time(millis: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(millis).unwrap_or_default()
}
