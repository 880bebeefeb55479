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
pub type Row = Arc<[Value]>;

/// The whole org at one moment.
pub type Snapshot = Arc<OrgData>;

/// When a record was moved to the recycle bin or erased, for `/sobjects/{Type}/deleted`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deletion {
    pub slot: u32,
    pub at: i64,
}

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
pub struct Table {
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
    pub fn get(&self, slot: u32) -> Option<&Row> {
        self.rows.get(slot as usize).and_then(Option::as_ref)
    }

    /// Number of slots ever used (the next record gets this slot).
    pub fn slot_count(&self) -> u32 {
        self.rows.len() as u32
    }

    /// Records not in the recycle bin.
    pub fn live_count(&self) -> usize {
        self.live
    }

    /// Records in the recycle bin.
    pub fn recycled_count(&self) -> usize {
        self.recycled
    }

    /// Every existing record with its slot, in slot (and so creation and id) order.
    pub fn rows(&self) -> impl Iterator<Item = (u32, &Row)> + '_ {
        self.rows
            .iter()
            .enumerate()
            .filter_map(|(slot, row)| row.as_ref().map(|r| (slot as u32, r)))
    }

    /// The slot of the record whose unique `column` holds `value` (compared as the field
    /// compares: without case unless it is case-sensitive).
    pub fn find_unique(&self, column: usize, value: &Value) -> Option<u32> {
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
    pub fn is_indexed(&self, column: usize) -> bool {
        self.unique.iter().any(|i| i.column == column)
    }

    pub fn deletions(&self) -> impl Iterator<Item = &Deletion> + '_ {
        self.deletions.iter()
    }

    /// How many entries the deletion log holds.
    pub fn deletion_count(&self) -> usize {
        self.deletions.len()
    }

    /// The deletion-log entries from position `start` on (persistence writes only new ones).
    pub fn deletions_since(&self, start: usize) -> Vec<Deletion> {
        if start >= self.deletions.len() {
            return Vec::new();
        }
        self.deletions.skip(start).iter().copied().collect()
    }
}

/// All tables, in schema order.
#[derive(Debug, Clone)]
pub struct OrgData {
    tables: Vec<Table>,
}

impl OrgData {
    fn new(schema: &Schema) -> OrgData {
        OrgData {
            tables: schema.objects().iter().map(Table::new).collect(),
        }
    }

    pub fn table(&self, object: ObjectIdx) -> &Table {
        &self.tables[object.0]
    }

    /// Finds a record by id: its object, slot and values.
    pub fn find(&self, schema: &Schema, id: RecordId) -> Option<(ObjectIdx, u32, &Row)> {
        let (object, _) = schema.by_prefix(id.prefix())?;
        let slot = slot_of(id)?;
        let row = self.tables[object.0].get(slot)?;
        Some((object, slot, row))
    }
}

/// The slot a record id points at.
pub fn slot_of(id: RecordId) -> Option<u32> {
    u32::try_from(id.number().checked_sub(1)?).ok()
}

/// The id of the record in `slot` of `object`.
pub fn id_of(object: &ObjectDef, slot: u32) -> RecordId {
    RecordId::new(&object.key_prefix, u64::from(slot) + 1)
}

/// Where timestamps come from. Tests and seeded orgs use a manual clock so runs repeat.
#[derive(Debug, Clone)]
pub enum Clock {
    System,
    Manual(Arc<AtomicI64>),
}

impl Clock {
    pub fn manual(start_millis: i64) -> Clock {
        Clock::Manual(Arc::new(AtomicI64::new(start_millis)))
    }

    pub fn now(&self) -> i64 {
        match self {
            Clock::System => crate::value::now_millis(),
            Clock::Manual(t) => t.load(Ordering::SeqCst),
        }
    }

    /// Moves a manual clock forward; does nothing to the system clock.
    pub fn advance(&self, millis: i64) {
        if let Clock::Manual(t) = self {
            t.fetch_add(millis, Ordering::SeqCst);
        }
    }
}

/// A storage-level failure: the only rule the store itself enforces is uniqueness.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreError {
    /// `column` of a unique field already holds the value, on the record in `existing`.
    Duplicate { column: usize, existing: u32 },
    /// The slot does not hold a record.
    Missing,
}

/// Receives every committed transaction, for persistence.
pub trait CommitHook: Send + Sync {
    /// `touched` lists the records the transaction wrote; `data` is the org after it.
    fn committed(&self, data: &OrgData, touched: &BTreeSet<(ObjectIdx, u32)>);
}

/// The org's records and the one writer lock.
pub struct Store {
    schema: Arc<Schema>,
    current: RwLock<Snapshot>,
    writer: Mutex<i64>,
    clock: Clock,
    hook: RwLock<Option<Arc<dyn CommitHook>>>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("objects", &self.schema.objects().len())
            .finish_non_exhaustive()
    }
}

impl Store {
    pub fn new(schema: Arc<Schema>, clock: Clock) -> Store {
        let data = OrgData::new(&schema);
        Store {
            schema,
            current: RwLock::new(Arc::new(data)),
            writer: Mutex::new(i64::MIN),
            clock,
            hook: RwLock::new(None),
        }
    }

    pub fn schema(&self) -> &Arc<Schema> {
        &self.schema
    }

    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    pub fn set_commit_hook(&self, hook: Arc<dyn CommitHook>) {
        *self.hook.write().unwrap_or_else(|e| e.into_inner()) = Some(hook);
    }

    /// The org as it is now. Cheap: an `Arc` clone.
    pub fn snapshot(&self) -> Snapshot {
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Replaces the whole org (loading persisted data). Not for normal writes.
    pub fn replace_all(&self, data: OrgData) {
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(data);
    }

    /// An empty org with this store's schema, to load persisted data into.
    pub fn empty_data(&self) -> OrgData {
        OrgData::new(&self.schema)
    }

    /// Runs `work` as one transaction: all its changes become visible together if it returns
    /// `Ok`, and none do if it returns `Err`. Transactions run one at a time.
    pub fn write<T, E>(
        &self,
        user: RecordId,
        work: impl FnOnce(&mut Txn<'_>) -> Result<T, E>,
    ) -> Result<T, E> {
        let mut last = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        // Every transaction gets a later timestamp than the one before, so SystemModstamp
        // orders changes even when two land in the same millisecond.
        let now = self.clock.now().max(last.saturating_add(1));
        let data = (*self.snapshot()).clone();
        let mut txn = Txn {
            schema: &self.schema,
            data,
            now,
            user,
            touched: BTreeSet::new(),
        };
        let result = work(&mut txn)?;
        if !txn.touched.is_empty() {
            *last = now;
            let Txn { data, touched, .. } = txn;
            let data = Arc::new(data);
            if let Some(hook) = self.hook.read().unwrap_or_else(|e| e.into_inner()).as_ref() {
                hook.committed(&data, &touched);
            }
            *self.current.write().unwrap_or_else(|e| e.into_inner()) = data;
        }
        Ok(result)
    }
}

/// An open transaction: a private copy of the org plus the time and user of the change.
#[derive(Debug)]
pub struct Txn<'s> {
    schema: &'s Schema,
    data: OrgData,
    /// The transaction's timestamp (epoch milliseconds), used for every audit field it sets.
    pub now: i64,
    /// The user making the change (CreatedById, LastModifiedById).
    pub user: RecordId,
    touched: BTreeSet<(ObjectIdx, u32)>,
}

/// A point to roll a transaction back to, for requests that save what they can.
#[derive(Debug)]
pub struct Savepoint {
    data: OrgData,
    touched: BTreeSet<(ObjectIdx, u32)>,
}

impl Txn<'_> {
    pub fn schema(&self) -> &Schema {
        self.schema
    }

    /// The org as this transaction sees it, including its own changes.
    pub fn data(&self) -> &OrgData {
        &self.data
    }

    pub fn savepoint(&self) -> Savepoint {
        Savepoint {
            data: self.data.clone(),
            touched: self.touched.clone(),
        }
    }

    pub fn rollback_to(&mut self, savepoint: Savepoint) {
        self.data = savepoint.data;
        self.touched = savepoint.touched;
    }

    /// Stores a new record with `values` (one per column; the audit columns are filled in here)
    /// and returns its id.
    pub fn insert(
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
    pub fn update(
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

    /// Moves a record to the recycle bin (`IsDeleted = true`): `query` no longer sees it,
    /// `queryAll` does. Unique values stay taken, as in Salesforce.
    pub fn soft_delete(&mut self, object: ObjectIdx, slot: u32) -> Result<(), StoreError> {
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
    pub fn undelete(&mut self, object: ObjectIdx, slot: u32) -> Result<(), StoreError> {
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

    /// Erases a record for good (hard delete, or emptying the recycle bin).
    pub fn erase(&mut self, object: ObjectIdx, slot: u32) -> Result<(), StoreError> {
        let sys = self.schema.object(object).system;
        let table = &mut self.data.tables[object.0];
        let old = table.get(slot).ok_or(StoreError::Missing)?.clone();
        table.index(&old, None);
        if old[sys.is_deleted] == Value::Bool(true) {
            table.recycled -= 1;
        } else {
            table.live -= 1;
            table.deletions.push_back(Deletion { slot, at: self.now });
        }
        table.rows.set(slot as usize, None);
        self.touched.insert((object, slot));
        Ok(())
    }

    /// Writes a record exactly as given into `slot`, growing the table if needed. For loading
    /// persisted data and seeding, where ids and timestamps are already decided.
    pub fn load(&mut self, object: ObjectIdx, slot: u32, values: Option<Row>) {
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

    /// Records a deletion in the deleted log (for loading persisted data).
    pub fn load_deletion(&mut self, object: ObjectIdx, deletion: Deletion) {
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
        let (idx, def) = store.schema().find("Account").unwrap();
        let _ = idx;
        let mut values = vec![Value::Null; def.columns];
        values[def.field("Name").unwrap().1.column().unwrap()] = Value::text(name);
        values
    }

    #[test]
    fn a_failed_transaction_changes_nothing_and_readers_keep_their_snapshot() {
        let store = store();
        let user = RecordId::new("005", 1);
        let (account_idx, _) = store.schema().find("Account").unwrap();
        let before = store.snapshot();
        let result: Result<(), &str> = store.write(user, |txn| {
            txn.insert(account_idx, account(&store, "A")).unwrap();
            Err("second record failed")
        });
        assert!(result.is_err());
        assert_eq!(store.snapshot().table(account_idx).live_count(), 0);
        let id = store
            .write(user, |txn| txn.insert(account_idx, account(&store, "B")))
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
        let (account_idx, def) = store.schema().find("Account").unwrap();
        let sys = def.system;
        let id = store
            .write(user, |txn| txn.insert(account_idx, account(&store, "A")))
            .unwrap();
        let slot = slot_of(id).unwrap();
        store
            .write(user, |txn| txn.soft_delete(account_idx, slot))
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
        let (product_idx, def) = store.schema().find("Product2").unwrap();
        let ext = def.field("ExternalId").unwrap().1.column().unwrap();
        let name = def.field("Name").unwrap().1.column().unwrap();
        let row = |key: &str| {
            let mut v = vec![Value::Null; def.columns];
            v[name] = Value::text("Widget");
            v[ext] = Value::text(key);
            v
        };
        store
            .write(user, |txn| txn.insert(product_idx, row("SKU-1")))
            .unwrap();
        let err = store
            .write(user, |txn| txn.insert(product_idx, row("sku-1")))
            .unwrap_err();
        assert_eq!(
            err,
            StoreError::Duplicate {
                column: ext,
                existing: 0
            }
        );
        assert_eq!(
            store
                .snapshot()
                .table(product_idx)
                .find_unique(ext, &Value::text("Sku-1")),
            Some(0)
        );
    }
}
