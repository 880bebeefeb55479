//! The org's records: one table per object, held in persistent (copy-on-write) collections.
//!
//! Readers take a [`Snapshot`] (an `Arc` of the whole org) and never block or see a half-done
//! write; a query cursor or a Bulk query job keeps its snapshot, so its pages stay consistent
//! however the org changes meanwhile. A write runs in a [`Txn`] on a private copy of the data
//! (cheap: the collections share structure) and is swapped in only if the whole transaction
//! succeeds, which is how all-or-none requests leave nothing behind when one record fails.
//!
//! A record lives in a slot; its id's record number is the slot plus one, so finding a record by
//! id needs no index. Unique and external-id fields have indexes for upserts and duplicates.
//!
//! This module enforces only what the storage itself needs (unique values, existing slots);
//! field-level rules (types, required fields, picklists) are the job of `dml`.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use crate::ids::RecordId;
use crate::schema::{ObjectDef, ObjectIdx, Schema};
use crate::value::Value;

/// A stored record: one value per column of its object.
pub(crate) type Row = Arc<[Value]>;

/// The whole org at one moment.
pub(crate) type Snapshot = Arc<OrgData>;

/// When a record was moved to the recycle bin or erased, for `/sobjects/{Type}/deleted`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Deletion {
    pub slot: u32,
    pub at: i64,
}

/// The slot of deletion-log entries that mark an emptying of the recycle bin rather than a
/// deletion: records were physically deleted at `at`, so nothing deleted before it can be
/// reported any more. Kept in the log so persistence needs no other record of it.
pub(crate) const PURGE_MARK: u32 = u32::MAX;

#[derive(Debug, Clone)]
struct UniqueIndex {
    column: usize,
    case_sensitive: bool,
    map: imbl::HashMap<Box<str>, u32>,
}

impl UniqueIndex {
    fn key(&self, value: &Value) -> Option<Box<str>> {
        let text: String = match value {
            Value::Null => return None,
            Value::Text(s) if !self.case_sensitive => s.to_lowercase(),
            Value::Text(s) => s.to_string(),
            Value::Int(i) => i.to_string(),
            Value::Double(d) => d.to_string(),
            Value::Ref(id) => id.to_string(),
            other => format!("{other:?}"),
        };
        Some(text.into_boxed_str())
    }
}

/// The records of one object.
#[derive(Debug, Clone)]
pub(crate) struct Table {
    rows: imbl::Vector<Option<Row>>,
    live: usize,
    recycled: usize,
    unique: Vec<UniqueIndex>,
    deletions: imbl::Vector<Deletion>,
}

impl Table {
    fn new(object: &ObjectDef) -> Table {
        let unique = object
            .fields
            .iter()
            .filter(|f| f.unique || f.external_id)
            .filter_map(|f| {
                Some(UniqueIndex {
                    column: f.column()?,
                    case_sensitive: f.case_sensitive,
                    map: imbl::HashMap::new(),
                })
            })
            .collect();
        Table {
            rows: imbl::Vector::new(),
            live: 0,
            recycled: 0,
            unique,
            deletions: imbl::Vector::new(),
        }
    }

    /// The record in `slot`, if it exists (soft-deleted records exist; erased ones do not).
    pub(crate) fn get(&self, slot: u32) -> Option<&Row> {
        self.rows.get(slot as usize).and_then(Option::as_ref)
    }

    /// Number of slots ever used (the next record gets this slot).
    pub(crate) fn slot_count(&self) -> u32 {
        self.rows.len() as u32
    }

    /// Records not in the recycle bin.
    pub(crate) fn live_count(&self) -> usize {
        self.live
    }

    #[cfg(test)]
    /// Records in the recycle bin.
    pub(crate) fn recycled_count(&self) -> usize {
        self.recycled
    }

    /// Every existing record with its slot, in slot (and so creation and id) order.
    pub(crate) fn rows(&self) -> impl Iterator<Item = (u32, &Row)> + '_ {
        self.rows
            .iter()
            .enumerate()
            .filter_map(|(slot, row)| row.as_ref().map(|r| (slot as u32, r)))
    }

    /// The slot of the record whose unique `column` holds `value` (compared as the field
    /// compares: without case unless it is case-sensitive).
    pub(crate) fn find_unique(&self, column: usize, value: &Value) -> Option<u32> {
        let index = self.unique.iter().find(|i| i.column == column)?;
        index.map.get(&index.key(value)?).copied()
    }

    /// `Duplicate` if a unique value of `values` is already taken by a record other than `slot`.
    fn check_unique(&self, values: &[Value], slot: u32) -> Result<(), StoreError> {
        for index in &self.unique {
            if let Some(key) = index.key(&values[index.column])
                && let Some(&existing) = index.map.get(&key)
                && existing != slot
            {
                return Err(StoreError::Duplicate {
                    column: index.column,
                    existing,
                });
            }
        }
        Ok(())
    }

    /// Adds (`Some(slot)`) or removes (`None`) the unique values of `values` to or from the
    /// indexes.
    fn index(&mut self, values: &[Value], slot: Option<u32>) {
        for index in &mut self.unique {
            if let Some(key) = index.key(&values[index.column]) {
                match slot {
                    Some(slot) => {
                        index.map.insert(key, slot);
                    }
                    None => {
                        index.map.remove(&key);
                    }
                }
            }
        }
    }

    /// Whether `column` has a unique index.
    pub(crate) fn is_indexed(&self, column: usize) -> bool {
        self.unique.iter().any(|i| i.column == column)
    }

    /// The deletion log: records moved to the recycle bin or erased, oldest first.
    pub(crate) fn deletions(&self) -> impl Iterator<Item = &Deletion> + '_ {
        self.deletions.iter().filter(|d| d.slot != PURGE_MARK)
    }

    /// The deletion log with the marks of emptied recycle bins, as persistence keeps it.
    pub(crate) fn log(&self) -> impl Iterator<Item = &Deletion> + '_ {
        self.deletions.iter()
    }

    /// When records of this object were last physically deleted from the recycle bin, if ever.
    pub(crate) fn purged_at(&self) -> Option<i64> {
        self.deletions
            .iter()
            .filter(|d| d.slot == PURGE_MARK)
            .map(|d| d.at)
            .max()
    }

    /// How many entries the deletion log holds.
    pub(crate) fn deletion_count(&self) -> usize {
        self.deletions.len()
    }

    /// The deletion-log entries from position `start` on (persistence writes only new ones).
    pub(crate) fn deletions_since(&self, start: usize) -> Vec<Deletion> {
        if start >= self.deletions.len() {
            return Vec::new();
        }
        self.deletions.skip(start).iter().copied().collect()
    }
}

/// All tables, in schema order, with the schema they were written under: the schema can change
/// while the org runs (see [`Store::change_schema`] and [`Store::rewrite_schema`]; no column
/// ever moves), and a snapshot's rows always have the columns of its own schema.
#[derive(Debug, Clone)]
pub(crate) struct OrgData {
    schema: Arc<Schema>,
    tables: Vec<Table>,
}

impl OrgData {
    fn new(schema: Arc<Schema>) -> OrgData {
        OrgData {
            tables: schema.objects().iter().map(Table::new).collect(),
            schema,
        }
    }

    /// The schema these records were written under.
    pub(crate) fn schema(&self) -> &Arc<Schema> {
        &self.schema
    }

    pub(crate) fn table(&self, object: ObjectIdx) -> &Table {
        &self.tables[object.0]
    }

    /// Finds a record by id: its object, slot and values.
    pub(crate) fn find(&self, schema: &Schema, id: RecordId) -> Option<(ObjectIdx, u32, &Row)> {
        let (object, _) = schema.by_prefix(id.prefix())?;
        let slot = slot_of(id)?;
        let row = self.tables[object.0].get(slot)?;
        Some((object, slot, row))
    }
}

/// The slot a record id points at.
pub(crate) fn slot_of(id: RecordId) -> Option<u32> {
    u32::try_from(id.number().checked_sub(1)?).ok()
}

/// The id of the record in `slot` of `object`.
pub(crate) fn id_of(object: &ObjectDef, slot: u32) -> RecordId {
    RecordId::new(&object.key_prefix, u64::from(slot) + 1)
}

/// Where timestamps come from. Tests and seeded orgs use a manual clock so runs repeat.
#[derive(Debug, Clone)]
pub(crate) enum Clock {
    /// The system clock, moved on by what [`Clock::advance`] added.
    System(Arc<AtomicI64>),
    /// A clock that only moves when told to.
    Manual(Arc<AtomicI64>),
}

impl Clock {
    pub(crate) fn system() -> Clock {
        Clock::System(Arc::new(AtomicI64::new(0)))
    }

    pub(crate) fn manual(start_millis: i64) -> Clock {
        Clock::Manual(Arc::new(AtomicI64::new(start_millis)))
    }

    pub(crate) fn now(&self) -> i64 {
        match self {
            Clock::System(offset) => {
                crate::value::now_millis().saturating_add(offset.load(Ordering::SeqCst))
            }
            Clock::Manual(t) => t.load(Ordering::SeqCst),
        }
    }

    /// Moves the clock forward by `millis`.
    pub(crate) fn advance(&self, millis: i64) {
        match self {
            Clock::System(t) | Clock::Manual(t) => {
                t.fetch_add(millis, Ordering::SeqCst);
            }
        }
    }
}

/// A storage-level failure: the only rule the store itself enforces is uniqueness.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum StoreError {
    /// `column` of a unique field already holds the value, on the record in `existing`.
    Duplicate { column: usize, existing: u32 },
    /// The slot does not hold a record.
    Missing,
}

/// A transaction that could not be made durable, and so never became visible.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitFailed(pub String);

impl std::fmt::Display for CommitFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the change could not be saved: {}", self.0)
    }
}

impl std::error::Error for CommitFailed {}

/// The failure of a transaction whose work fails with a type of its own (`E`), or whose
/// commit was refused.
#[derive(Debug)]
pub(crate) enum WriteError<E> {
    Work(E),
    Commit(CommitFailed),
}

impl<E> From<CommitFailed> for WriteError<E> {
    fn from(failed: CommitFailed) -> WriteError<E> {
        WriteError::Commit(failed)
    }
}

/// Receives every transaction before it becomes visible, for persistence.
pub(crate) trait CommitHook: Send + Sync {
    /// `touched` lists the records the transaction wrote; `data` is the org after it. An error
    /// aborts the transaction: nothing it did becomes visible.
    fn committed(
        &self,
        data: &OrgData,
        touched: &BTreeSet<(ObjectIdx, u32)>,
    ) -> Result<(), CommitFailed>;
}

/// Decides, record by record, whether a write meets a row another transaction holds (injected
/// `UNABLE_TO_LOCK_ROW` faults).
pub(crate) trait RowLocks: Send + Sync {
    /// Whether the next row this transaction writes is locked by someone else.
    fn row_is_locked(&self) -> bool;
}

/// The org's records and the one writer lock.
pub(crate) struct Store {
    current: RwLock<Snapshot>,
    writer: Mutex<i64>,
    clock: Clock,
    hook: RwLock<Option<Arc<dyn CommitHook>>>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("objects", &self.schema().objects().len())
            .finish_non_exhaustive()
    }
}

impl Store {
    pub(crate) fn new(schema: Arc<Schema>, clock: Clock) -> Store {
        let data = OrgData::new(schema);
        Store {
            current: RwLock::new(Arc::new(data)),
            writer: Mutex::new(i64::MIN),
            clock,
            hook: RwLock::new(None),
        }
    }

    /// The schema as it is now (the one of the current snapshot).
    pub(crate) fn schema(&self) -> Arc<Schema> {
        self.snapshot().schema.clone()
    }

    pub(crate) fn clock(&self) -> &Clock {
        &self.clock
    }

    pub(crate) fn set_commit_hook(&self, hook: Arc<dyn CommitHook>) {
        *self.hook.write().unwrap_or_else(|e| e.into_inner()) = Some(hook);
    }

    /// The org as it is now. Cheap: an `Arc` clone.
    pub(crate) fn snapshot(&self) -> Snapshot {
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Runs `work` as one transaction: all its changes become visible together if it returns
    /// `Ok`, and none do if it returns `Err` or if the commit hook (the journal) refuses them.
    /// Transactions run one at a time.
    pub(crate) fn write<T, E: From<CommitFailed>>(
        &self,
        user: RecordId,
        work: impl FnOnce(&mut Txn<'_>) -> Result<T, E>,
    ) -> Result<T, E> {
        self.run(user, None, None, work)
    }

    /// [`Store::write`] where every record written may meet a locked row, as `locks` decides.
    pub(crate) fn write_locking<T, E: From<CommitFailed>>(
        &self,
        user: RecordId,
        locks: &dyn RowLocks,
        work: impl FnOnce(&mut Txn<'_>) -> Result<T, E>,
    ) -> Result<T, E> {
        self.run(user, None, Some(locks), work)
    }

    /// [`Store::write`] with `stamp` as the transaction's time, whatever the clock says: a
    /// transaction that took its timestamp long ago and commits only now. The clock's own order
    /// of later transactions is not affected.
    pub(crate) fn write_at<T, E: From<CommitFailed>>(
        &self,
        user: RecordId,
        stamp: i64,
        work: impl FnOnce(&mut Txn<'_>) -> Result<T, E>,
    ) -> Result<T, E> {
        self.run(user, Some(stamp), None, work)
    }

    fn run<T, E: From<CommitFailed>>(
        &self,
        user: RecordId,
        stamp: Option<i64>,
        locks: Option<&dyn RowLocks>,
        work: impl FnOnce(&mut Txn<'_>) -> Result<T, E>,
    ) -> Result<T, E> {
        let mut last = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        // Every transaction gets a later timestamp than the one before, so SystemModstamp
        // orders changes even when two land in the same millisecond.
        let now = stamp.unwrap_or_else(|| self.clock.now().max(last.saturating_add(1)));
        let before = self.snapshot();
        let data = (*before).clone();
        let mut txn = Txn {
            schema: data.schema.clone(),
            data,
            before_save: before,
            allow_duplicates: false,
            now,
            user,
            touched: BTreeSet::new(),
            locks,
        };
        let result = work(&mut txn)?;
        if !txn.touched.is_empty() {
            let Txn { data, touched, .. } = txn;
            let data = Arc::new(data);
            if let Some(hook) = self.hook.read().unwrap_or_else(|e| e.into_inner()).as_ref() {
                // The journal first: a transaction that is not durable never becomes visible.
                hook.committed(&data, &touched)?;
            }
            if stamp.is_none() {
                *last = now;
            }
            *self.current.write().unwrap_or_else(|e| e.into_inner()) = data;
        }
        Ok(result)
    }

    /// Replaces the schema with `schema`, which may only add: new fields after an object's
    /// existing ones, and new objects after the existing ones. Existing records get an empty
    /// value for each new column and keep everything else, their timestamps included. Runs
    /// under the writer lock, so no transaction sees half of it.
    pub(crate) fn change_schema(&self, schema: Arc<Schema>) {
        let _writer = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        let mut data = (*self.snapshot()).clone();
        for (index, object) in schema.objects().iter().enumerate() {
            let Some(table) = data.tables.get_mut(index) else {
                data.tables.push(Table::new(object));
                continue;
            };
            let old = &data.schema.objects()[index];
            if object.columns > old.columns {
                let rows = table
                    .rows
                    .iter()
                    .map(|row| {
                        row.as_ref().map(|row| {
                            let mut values = row.to_vec();
                            values.resize(object.columns, Value::Null);
                            Row::from(values)
                        })
                    })
                    .collect();
                table.rows = rows;
            }
            // New unique or external-id fields start with an empty index: every record holds
            // null there.
            for field in &object.fields {
                if let Some(column) = field.column()
                    && (field.unique || field.external_id)
                    && !table.unique.iter().any(|i| i.column == column)
                {
                    table.unique.push(UniqueIndex {
                        column,
                        case_sensitive: field.case_sensitive,
                        map: imbl::HashMap::new(),
                    });
                }
            }
        }
        data.schema = schema;
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(data);
    }
}

impl Store {
    /// Replaces the schema with `schema`, whose layout of `object` is the current one (the same
    /// columns in the same places: a field removed keeps its column, a field whose type
    /// changed keeps its own), and rewrites every record of `object`, those in the recycle bin
    /// too, with `rewrite` (which empties a removed field's column or converts a changed one's
    /// values). Nothing else of a record changes, its timestamps included. The unique indexes
    /// of `object` are built again from the rewritten records; if two of them now share a
    /// unique value, nothing changes and the error names the column. Runs under the writer
    /// lock, so no transaction sees half of it.
    pub(crate) fn rewrite_schema(
        &self,
        schema: Arc<Schema>,
        object: ObjectIdx,
        rewrite: &dyn Fn(&mut [Value]),
    ) -> Result<(), usize> {
        let _writer = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        let mut data = (*self.snapshot()).clone();
        let def = schema.object(object);
        let table = &mut data.tables[object.0];
        table.rows = table
            .rows
            .iter()
            .map(|row| {
                row.as_ref().map(|row| {
                    let mut values = row.to_vec();
                    values.resize(def.columns, Value::Null);
                    rewrite(&mut values);
                    Row::from(values)
                })
            })
            .collect();
        let mut rebuilt = Table::new(def);
        for (slot, row) in table.rows() {
            rebuilt.check_unique(row, slot).map_err(|e| match e {
                StoreError::Duplicate { column, .. } => column,
                StoreError::Missing => usize::MAX,
            })?;
            rebuilt.index(&row.clone(), Some(slot));
        }
        table.unique = rebuilt.unique;
        data.schema = schema;
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(data);
        Ok(())
    }
}

/// An open transaction: a private copy of the org plus the time and user of the change.
pub(crate) struct Txn<'s> {
    schema: Arc<Schema>,
    data: OrgData,
    /// The transaction's timestamp (epoch milliseconds), used for every audit field it sets.
    pub now: i64,
    /// The user making the change (CreatedById, LastModifiedById).
    pub user: RecordId,
    touched: BTreeSet<(ObjectIdx, u32)>,
    locks: Option<&'s dyn RowLocks>,
    /// The org as it was when the current save began (the transaction's start, unless
    /// [`Txn::begin_save`] moved it): duplicate rules compare a record with these records only,
    /// as Salesforce compares the records of one save with those already saved, never with
    /// each other.
    before_save: Snapshot,
    /// Whether the save acknowledged duplicate alerts (`Sforce-Duplicate-Rule-Header:
    /// allowSave=true`).
    allow_duplicates: bool,
}

impl std::fmt::Debug for Txn<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Txn")
            .field("now", &self.now)
            .field("user", &self.user)
            .field("touched", &self.touched.len())
            .finish_non_exhaustive()
    }
}

/// A point to roll a transaction back to, for requests that save what they can.
#[derive(Debug)]
pub(crate) struct Savepoint {
    data: OrgData,
    touched: BTreeSet<(ObjectIdx, u32)>,
}

impl Txn<'_> {
    pub(crate) fn schema(&self) -> &Schema {
        &self.schema
    }

    /// Whether the next row this transaction writes is held by another one (an injected
    /// fault; never outside API requests).
    pub(crate) fn row_is_locked(&self) -> bool {
        self.locks.is_some_and(|locks| locks.row_is_locked())
    }

    /// The org as it was when the current save began (see [`Txn::begin_save`]).
    pub(crate) fn before_save(&self) -> &OrgData {
        &self.before_save
    }

    /// Starts a new save within the transaction (a composite sub-request): from now on, the
    /// records written so far count as already saved for duplicate rules.
    pub(crate) fn begin_save(&mut self) {
        self.before_save = Arc::new(self.data.clone());
    }

    /// Whether duplicate alerts are acknowledged, so a save that only meets an `Alert` rule
    /// goes ahead (see [`Txn::set_allow_duplicates`]).
    pub(crate) fn duplicates_allowed(&self) -> bool {
        self.allow_duplicates
    }

    /// Acknowledges (or not) duplicate alerts for the saves that follow, as the duplicate
    /// rule header's `allowSave` does.
    pub(crate) fn set_allow_duplicates(&mut self, allow: bool) {
        self.allow_duplicates = allow;
    }

    /// The org as this transaction sees it, including its own changes.
    pub(crate) fn data(&self) -> &OrgData {
        &self.data
    }

    pub(crate) fn savepoint(&self) -> Savepoint {
        Savepoint {
            data: self.data.clone(),
            touched: self.touched.clone(),
        }
    }

    pub(crate) fn rollback_to(&mut self, savepoint: Savepoint) {
        self.data = savepoint.data;
        self.touched = savepoint.touched;
    }

    /// Stores a new record with `values` (one per column; the audit columns are filled in here)
    /// and returns its id.
    pub(crate) fn insert(
        &mut self,
        object: ObjectIdx,
        mut values: Vec<Value>,
    ) -> Result<RecordId, StoreError> {
        let def = self.schema.object(object);
        let sys = def.system;
        values[sys.is_deleted] = Value::Bool(false);
        values[sys.created_date] = Value::DateTime(self.now);
        values[sys.created_by] = Value::Ref(self.user);
        values[sys.last_modified_date] = Value::DateTime(self.now);
        values[sys.last_modified_by] = Value::Ref(self.user);
        values[sys.system_modstamp] = Value::DateTime(self.now);
        let table = &mut self.data.tables[object.0];
        let slot = table.rows.len() as u32;
        table.check_unique(&values, slot)?;
        table.index(&values, Some(slot));
        table.rows.push_back(Some(values.into()));
        table.live += 1;
        self.touched.insert((object, slot));
        Ok(id_of(def, slot))
    }

    /// Replaces the values of an existing record, stamping LastModifiedDate/By and SystemModstamp.
    pub(crate) fn update(
        &mut self,
        object: ObjectIdx,
        slot: u32,
        mut values: Vec<Value>,
    ) -> Result<(), StoreError> {
        let sys = self.schema.object(object).system;
        values[sys.last_modified_date] = Value::DateTime(self.now);
        values[sys.last_modified_by] = Value::Ref(self.user);
        values[sys.system_modstamp] = Value::DateTime(self.now);
        self.put(object, slot, values)
    }

    /// Replaces the values of an existing record as given (no audit stamping).
    fn put(&mut self, object: ObjectIdx, slot: u32, values: Vec<Value>) -> Result<(), StoreError> {
        let table = &mut self.data.tables[object.0];
        let old = table.get(slot).ok_or(StoreError::Missing)?.clone();
        table.check_unique(&values, slot)?;
        table.index(&old, None);
        table.index(&values, Some(slot));
        table.rows.set(slot as usize, Some(values.into()));
        self.touched.insert((object, slot));
        Ok(())
    }

    /// Sets a record's `SystemModstamp` to `stamp` (and its `LastModifiedDate` too, when that
    /// was later), touching nothing else.
    pub(crate) fn set_system_modstamp(
        &mut self,
        object: ObjectIdx,
        slot: u32,
        stamp: i64,
    ) -> Result<(), StoreError> {
        let sys = self.schema.object(object).system;
        let mut values = self.data.tables[object.0]
            .get(slot)
            .ok_or(StoreError::Missing)?
            .to_vec();
        values[sys.system_modstamp] = Value::DateTime(stamp);
        if matches!(values[sys.last_modified_date], Value::DateTime(modified) if modified > stamp) {
            values[sys.last_modified_date] = Value::DateTime(stamp);
        }
        self.put(object, slot, values)
    }

    /// Sets one stored value of a record and nothing else: no timestamp moves (what a formula
    /// or roll-up recomputed by the platform looks like to a client).
    pub(crate) fn set_value(
        &mut self,
        object: ObjectIdx,
        slot: u32,
        field: usize,
        value: Value,
    ) -> Result<(), StoreError> {
        let mut values = self.data.tables[object.0]
            .get(slot)
            .ok_or(StoreError::Missing)?
            .to_vec();
        values[field] = value;
        self.put(object, slot, values)
    }

    /// Moves a record to the recycle bin (`IsDeleted = true`): `query` no longer sees it,
    /// `queryAll` does. Unique values stay taken, as in Salesforce.
    pub(crate) fn soft_delete(&mut self, object: ObjectIdx, slot: u32) -> Result<(), StoreError> {
        let sys = self.schema.object(object).system;
        let mut values = self.data.tables[object.0]
            .get(slot)
            .ok_or(StoreError::Missing)?
            .to_vec();
        if values[sys.is_deleted] == Value::Bool(true) {
            return Ok(());
        }
        values[sys.is_deleted] = Value::Bool(true);
        values[sys.system_modstamp] = Value::DateTime(self.now);
        self.put(object, slot, values)?;
        let table = &mut self.data.tables[object.0];
        table.live -= 1;
        table.recycled += 1;
        table.deletions.push_back(Deletion { slot, at: self.now });
        Ok(())
    }

    /// Restores a record from the recycle bin.
    pub(crate) fn undelete(&mut self, object: ObjectIdx, slot: u32) -> Result<(), StoreError> {
        let sys = self.schema.object(object).system;
        let mut values = self.data.tables[object.0]
            .get(slot)
            .ok_or(StoreError::Missing)?
            .to_vec();
        if values[sys.is_deleted] != Value::Bool(true) {
            return Ok(());
        }
        values[sys.is_deleted] = Value::Bool(false);
        self.update(object, slot, values)?;
        let table = &mut self.data.tables[object.0];
        table.live += 1;
        table.recycled -= 1;
        Ok(())
    }

    /// Erases a record for good (hard delete, or emptying the recycle bin). Erasing a record
    /// from the recycle bin marks the log: what was deleted before can no longer be reported.
    pub(crate) fn erase(&mut self, object: ObjectIdx, slot: u32) -> Result<(), StoreError> {
        let sys = self.schema.object(object).system;
        let table = &mut self.data.tables[object.0];
        let old = table.get(slot).ok_or(StoreError::Missing)?.clone();
        table.index(&old, None);
        if old[sys.is_deleted] == Value::Bool(true) {
            table.recycled -= 1;
            let mark = Deletion {
                slot: PURGE_MARK,
                at: self.now,
            };
            if table.deletions.last() != Some(&mark) {
                table.deletions.push_back(mark);
            }
        } else {
            table.live -= 1;
            table.deletions.push_back(Deletion { slot, at: self.now });
        }
        table.rows.set(slot as usize, None);
        self.touched.insert((object, slot));
        Ok(())
    }

    /// Erases a live record of an object that keeps no deleted records
    /// (`ObjectFlags::hard_deletes`): unlike [`Txn::erase`], nothing enters the delete log.
    pub(crate) fn erase_unlogged(
        &mut self,
        object: ObjectIdx,
        slot: u32,
    ) -> Result<(), StoreError> {
        self.erase(object, slot)?;
        self.data.tables[object.0].deletions.pop_back();
        Ok(())
    }

    /// Writes a record exactly as given into `slot`, growing the table if needed. For loading
    /// persisted data and seeding, where ids and timestamps are already decided.
    pub(crate) fn load(&mut self, object: ObjectIdx, slot: u32, values: Option<Row>) {
        let sys = self.schema.object(object).system;
        let table = &mut self.data.tables[object.0];
        while table.rows.len() <= slot as usize {
            table.rows.push_back(None);
        }
        if let Some(old) = table.get(slot).cloned() {
            table.index(&old, None);
            if old[sys.is_deleted] == Value::Bool(true) {
                table.recycled -= 1;
            } else {
                table.live -= 1;
            }
        }
        if let Some(row) = &values {
            table.index(row, Some(slot));
            if row[sys.is_deleted] == Value::Bool(true) {
                table.recycled += 1;
            } else {
                table.live += 1;
            }
        }
        table.rows.set(slot as usize, values);
        self.touched.insert((object, slot));
    }

    /// Erases every record of `object` in the recycle bin; returns how many there were.
    pub(crate) fn purge_recycle_bin(&mut self, object: ObjectIdx) -> usize {
        let sys = self.schema.object(object).system;
        let doomed: Vec<u32> = self.data.tables[object.0]
            .rows()
            .filter(|(_, row)| row[sys.is_deleted] == Value::Bool(true))
            .map(|(slot, _)| slot)
            .collect();
        for &slot in &doomed {
            // The slots were just read from this table, so each still holds its record.
            let _ = self.erase(object, slot);
        }
        doomed.len()
    }

    /// Records a deletion in the deleted log (for loading persisted data).
    pub(crate) fn load_deletion(&mut self, object: ObjectIdx, deletion: Deletion) {
        self.data.tables[object.0].deletions.push_back(deletion);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::standard;

    fn store() -> Store {
        Store::new(
            Arc::new(standard::schema(Vec::new()).unwrap()),
            Clock::manual(1_700_000_000_000),
        )
    }

    fn account(store: &Store, name: &str) -> Vec<Value> {
        let schema = store.schema();
        let (idx, def) = schema.find("Account").unwrap();
        let _ = idx;
        let mut values = vec![Value::Null; def.columns];
        values[def.field("Name").unwrap().1.column().unwrap()] = Value::text(name);
        values
    }

    #[test]
    fn a_failed_transaction_changes_nothing_and_readers_keep_their_snapshot() {
        let store = store();
        let user = RecordId::new("005", 1);
        let schema = store.schema();
        let (account_idx, _) = schema.find("Account").unwrap();
        let before = store.snapshot();
        let result: Result<(), WriteError<&str>> = store.write(user, |txn| {
            txn.insert(account_idx, account(&store, "A")).unwrap();
            Err(WriteError::Work("second record failed"))
        });
        assert!(result.is_err());
        assert_eq!(store.snapshot().table(account_idx).live_count(), 0);
        let id = store
            .write(user, |txn| {
                txn.insert(account_idx, account(&store, "B"))
                    .map_err(WriteError::Work)
            })
            .unwrap();
        assert_eq!(id.to_string(), "001RO0000000001YAA");
        // The earlier snapshot still sees the org as it was.
        assert_eq!(before.table(account_idx).live_count(), 0);
        assert_eq!(store.snapshot().table(account_idx).live_count(), 1);
    }

    #[test]
    fn timestamps_increase_per_transaction_and_soft_delete_keeps_the_row() {
        let store = store();
        let user = RecordId::new("005", 1);
        let schema = store.schema();
        let (account_idx, def) = schema.find("Account").unwrap();
        let sys = def.system;
        let id = store
            .write(user, |txn| {
                txn.insert(account_idx, account(&store, "A"))
                    .map_err(WriteError::Work)
            })
            .unwrap();
        let slot = slot_of(id).unwrap();
        store
            .write(user, |txn| {
                txn.soft_delete(account_idx, slot).map_err(WriteError::Work)
            })
            .unwrap();
        let snapshot = store.snapshot();
        let row = snapshot.table(account_idx).get(slot).unwrap();
        assert_eq!(row[sys.is_deleted], Value::Bool(true));
        let (Value::DateTime(created), Value::DateTime(stamp)) =
            (&row[sys.created_date], &row[sys.system_modstamp])
        else {
            panic!("timestamps missing")
        };
        assert!(stamp > created, "SystemModstamp moves on delete");
        assert_eq!(snapshot.table(account_idx).live_count(), 0);
        assert_eq!(snapshot.table(account_idx).recycled_count(), 1);
        assert_eq!(snapshot.table(account_idx).deletions().count(), 1);
    }

    #[test]
    fn unique_values_are_enforced_without_case() {
        let store = store();
        let user = RecordId::new("005", 1);
        let schema = store.schema();
        let (product_idx, def) = schema.find("Product2").unwrap();
        let ext = def.field("ExternalId").unwrap().1.column().unwrap();
        let name = def.field("Name").unwrap().1.column().unwrap();
        let row = |key: &str| {
            let mut v = vec![Value::Null; def.columns];
            v[name] = Value::text("Widget");
            v[ext] = Value::text(key);
            v
        };
        store
            .write(user, |txn| {
                txn.insert(product_idx, row("SKU-1"))
                    .map_err(WriteError::Work)
            })
            .unwrap();
        let err = store
            .write(user, |txn| {
                txn.insert(product_idx, row("sku-1"))
                    .map_err(WriteError::Work)
            })
            .unwrap_err();
        assert!(matches!(
            err,
            WriteError::Work(StoreError::Duplicate {
                column,
                existing: 0
            }) if column == ext
        ));
        assert_eq!(
            store
                .snapshot()
                .table(product_idx)
                .find_unique(ext, &Value::text("Sku-1")),
            Some(0)
        );
    }

    /// A hook that refuses every transaction, as a journal on a full disk does.
    struct Refusing;

    impl CommitHook for Refusing {
        fn committed(
            &self,
            _: &OrgData,
            _: &BTreeSet<(ObjectIdx, u32)>,
        ) -> Result<(), CommitFailed> {
            Err(CommitFailed("the disk is full".to_string()))
        }
    }

    #[test]
    fn a_transaction_the_hook_refuses_never_becomes_visible() {
        let store = store();
        let user = RecordId::new("005", 1);
        let schema = store.schema();
        let (account_idx, _) = schema.find("Account").unwrap();
        store.set_commit_hook(Arc::new(Refusing));
        let result = store.write(user, |txn| {
            txn.insert(account_idx, account(&store, "A"))
                .map_err(WriteError::Work)
        });
        assert!(
            matches!(result, Err(WriteError::Commit(CommitFailed(ref m))) if m == "the disk is full")
        );
        assert_eq!(store.snapshot().table(account_idx).live_count(), 0);
        assert_eq!(store.snapshot().table(account_idx).slot_count(), 0);
    }

    #[test]
    fn a_grown_schema_pads_stored_rows_and_keeps_their_stamps() {
        let store = store();
        let user = RecordId::new("005", 1);
        let schema = store.schema();
        let (account_idx, def) = schema.find("Account").unwrap();
        let id = store
            .write(user, |txn| {
                txn.insert(account_idx, account(&store, "A"))
                    .map_err(WriteError::Work)
            })
            .unwrap();
        let before = store.snapshot();
        let mut extension = crate::config::ObjectConfig::new(
            "Account",
            vec![crate::config::FieldConfig::new("Tier__c", "string")],
        );
        extension.extends = true;
        let grown = crate::schema::build(&[extension], &[]).unwrap();
        assert!(crate::schema::only_adds(&schema, &grown));
        let (_, grown_def) = grown.find("Account").unwrap();
        assert_eq!(grown_def.columns, def.columns + 1);
        store.change_schema(Arc::new(grown));
        let after = store.snapshot();
        let slot = slot_of(id).unwrap();
        let row = after.table(account_idx).get(slot).unwrap();
        assert_eq!(row.len(), def.columns + 1);
        assert_eq!(row[def.columns], Value::Null);
        assert_eq!(
            &row[..def.columns],
            &before.table(account_idx).get(slot).unwrap()[..]
        );
        assert_eq!(
            before.schema().find("Account").unwrap().1.columns,
            def.columns,
            "old snapshots keep their schema"
        );
    }

    #[test]
    fn a_stamped_write_uses_its_stamp_and_leaves_the_clock_order_alone() {
        let store = store();
        let user = RecordId::new("005", 1);
        let schema = store.schema();
        let (account_idx, def) = schema.find("Account").unwrap();
        let write = |stamp: Option<i64>| {
            let work = |txn: &mut Txn<'_>| {
                txn.insert(account_idx, account(&store, "A"))
                    .map_err(WriteError::Work)
            };
            match stamp {
                Some(stamp) => store.write_at(user, stamp, work),
                None => store.write(user, work),
            }
            .unwrap()
        };
        let stamp_of = |id: RecordId| {
            store
                .snapshot()
                .table(account_idx)
                .get(slot_of(id).unwrap())
                .unwrap()[def.system.system_modstamp]
                .clone()
        };
        let first = write(None);
        let late = write(Some(1_000));
        let next = write(None);
        assert_eq!(stamp_of(late), Value::DateTime(1_000));
        let (Value::DateTime(a), Value::DateTime(b)) = (stamp_of(first), stamp_of(next)) else {
            panic!("stamps missing")
        };
        assert_eq!(b, a + 1, "the late commit did not move the clock's order");
    }
}
