//! Keeping an org across restarts in a data directory.
//!
//! The directory holds a snapshot of the whole org (`org.snapshot`), a journal of the
//! transactions committed since (`org.journal`), and a lock file (`lock`) so two processes never
//! share it. Every committed transaction reaches the journal through the store's
//! [`CommitHook`]: the final state of each record it touched and the deletion-log entries it
//! added, as one line, flushed with `fsync` before the transaction becomes visible. When the
//! journal grows past a threshold, and on shutdown, the org is compacted into a new snapshot,
//! written atomically (temporary file, `fsync`, rename) before the journal is emptied.
//!
//! On start, the snapshot is loaded and the journal replayed; a last entry cut short by a crash
//! is dropped (and cut off the file), anything else that does not read is an error. Both files
//! carry a fingerprint of the schema, and an org made with another schema is refused with a
//! message saying which objects differ.
//!
//! It deliberately keeps no history: the snapshot is the org as it is, not a log of changes.
//! Sessions, query cursors and Bulk jobs are not persisted.

mod format;

use std::collections::BTreeSet;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use sha2::Digest;

use crate::schema::{FieldType, ObjectIdx, Schema, Storage};
use crate::store::{CommitFailed, CommitHook, Deletion, OrgData, Store, Txn};
use crate::value::Value;
use format::{
    JOURNAL_FORMAT, JournalEntry, JournalEntryOut, JournalHeader, ObjectHeader, RowIn, RowOut,
    SNAPSHOT_FORMAT, SnapshotHeader, SnapshotLine, SnapshotLineOut, VERSION,
};

/// The journal size (bytes) past which a commit compacts the org into a new snapshot.
pub(crate) const DEFAULT_COMPACTION_THRESHOLD: u64 = 64 * 1024 * 1024;

const SNAPSHOT_FILE: &str = "org.snapshot";
const SNAPSHOT_TEMP_FILE: &str = "org.snapshot.tmp";
const JOURNAL_FILE: &str = "org.journal";
const LOCK_FILE: &str = "lock";

/// Why a data directory could not be used.
#[derive(Debug)]
#[non_exhaustive]
pub enum PersistError {
    /// Reading or writing `path` failed.
    Io { path: PathBuf, source: io::Error },
    /// Another process holds the directory.
    Locked { dir: PathBuf },
    /// The directory holds an org made with another schema.
    SchemaMismatch { dir: PathBuf, details: String },
    /// A file does not read as this format.
    Corrupt {
        path: PathBuf,
        line: usize,
        message: String,
    },
}

impl std::fmt::Display for PersistError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PersistError::Io { path, .. } => write!(f, "cannot use {}", path.display()),
            PersistError::Locked { dir } => write!(
                f,
                "the data directory {} is in use by another local org",
                dir.display()
            ),
            PersistError::SchemaMismatch { dir, details } => write!(
                f,
                "the data directory {} holds an org with another schema ({details}); start with the org file it was made with, or use another data directory",
                dir.display()
            ),
            PersistError::Corrupt {
                path,
                line,
                message,
            } => write!(f, "{} line {line}: {message}", path.display()),
        }
    }
}

impl std::error::Error for PersistError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            PersistError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

impl From<crate::store::CommitFailed> for PersistError {
    fn from(failed: crate::store::CommitFailed) -> PersistError {
        PersistError::Io {
            path: PathBuf::new(),
            source: io::Error::other(failed),
        }
    }
}

impl PersistError {
    /// The underlying IO error, if any (for the crate's public error).
    pub(crate) fn into_source(self) -> Option<io::Error> {
        match self {
            PersistError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> PersistError + '_ {
    move |source| PersistError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// An open data directory: the lock, the journal, and how to read values back.
#[derive(Debug)]
pub(crate) struct Persistence {
    dir: PathBuf,
    fingerprint: String,
    /// The objects kept in the files, in schema order; an object's number in the files is its
    /// position here. Objects whose records are made at every start (Organization) are left
    /// out, so they never change the files, nor the fingerprint of an existing directory.
    stored: Vec<ObjectIdx>,
    object_names: Vec<String>,
    object_fingerprints: Vec<String>,
    /// For each object, the field type of each column.
    column_types: Vec<Vec<FieldType>>,
    state: Mutex<JournalState>,
    /// Held for as long as the org runs; the OS releases the lock with the file.
    _lock: File,
    /// Makes every journal write fail, as a full or broken disk would (tests).
    #[cfg(test)]
    pub(crate) fail_writes: std::sync::atomic::AtomicBool,
}

#[derive(Debug)]
struct JournalState {
    file: File,
    /// Bytes in the journal, header included.
    bytes: u64,
    /// The sequence number of the last transaction written (to the journal or a snapshot).
    sequence: u64,
    /// For each object, how many deletion-log entries are already persisted.
    deletions: Vec<usize>,
    threshold: u64,
}

impl Persistence {
    /// Opens (creating it if needed) and locks the data directory for an org with `schema`.
    /// Nothing is read yet; see [`Persistence::load`].
    pub(crate) fn open(dir: &Path, schema: &Schema) -> Result<Persistence, PersistError> {
        fs::create_dir_all(dir).map_err(io_error(dir))?;
        let lock_path = dir.join(LOCK_FILE);
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(io_error(&lock_path))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => {
                return Err(PersistError::Locked {
                    dir: dir.to_path_buf(),
                });
            }
            Err(fs::TryLockError::Error(source)) => {
                return Err(PersistError::Io {
                    path: lock_path,
                    source,
                });
            }
        }
        let journal_path = dir.join(JOURNAL_FILE);
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&journal_path)
            .map_err(io_error(&journal_path))?;
        let stored: Vec<ObjectIdx> = schema
            .objects()
            .iter()
            .enumerate()
            .filter(|(_, object)| object.stored)
            .map(|(i, _)| ObjectIdx(i))
            .collect();
        let (fingerprint, object_fingerprints) = fingerprints(schema, &stored);
        Ok(Persistence {
            dir: dir.to_path_buf(),
            column_types: column_types(schema, &stored),
            object_names: stored
                .iter()
                .map(|&i| schema.object(i).name.clone())
                .collect(),
            fingerprint,
            object_fingerprints,
            state: Mutex::new(JournalState {
                file,
                bytes: 0,
                sequence: 0,
                deletions: vec![0; stored.len()],
                threshold: DEFAULT_COMPACTION_THRESHOLD,
            }),
            stored,
            _lock: lock,
            #[cfg(test)]
            fail_writes: std::sync::atomic::AtomicBool::new(false),
        })
    }

    #[cfg(test)]
    /// Changes the journal size past which a commit compacts the org.
    pub(crate) fn set_compaction_threshold(&self, bytes: u64) {
        self.lock_state().threshold = bytes;
    }

    fn lock_state(&self) -> std::sync::MutexGuard<'_, JournalState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Loads the org the directory holds into `store` (snapshot, then journal) and returns
    /// true; returns false, changing nothing, when the directory holds no org yet.
    pub(crate) fn load(&self, store: &Store) -> Result<bool, PersistError> {
        let snapshot_path = self.dir.join(SNAPSHOT_FILE);
        let snapshot = match File::open(&snapshot_path) {
            Ok(file) => Some(file),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(io_error(&snapshot_path)(e)),
        };
        let mut state = self.lock_state();
        let Some(snapshot) = snapshot else {
            // A journal without a snapshot is left over from a start that never finished;
            // nothing in it was ever visible, so it is begun afresh.
            self.reset_journal(&mut state)?;
            return Ok(false);
        };
        let user = crate::ids::RecordId::new("005", 1);
        let loaded: Result<(u64, Vec<usize>), PersistError> = store.write(user, |txn| {
            let sequence = self.read_snapshot(snapshot, &snapshot_path, txn)?;
            let sequence = self.replay_journal(&mut state, sequence, txn)?;
            let deletions = self
                .stored
                .iter()
                .map(|&object| txn.data().table(object).deletion_count())
                .collect();
            Ok((sequence, deletions))
        });
        let (sequence, deletions) = loaded?;
        state.sequence = sequence;
        state.deletions = deletions;
        tracing::info!(dir = %self.dir.display(), sequence, "loaded the org from its data directory");
        Ok(true)
    }

    fn read_snapshot(
        &self,
        file: File,
        path: &Path,
        txn: &mut Txn<'_>,
    ) -> Result<u64, PersistError> {
        let mut lines = BufReader::with_capacity(1 << 20, file).lines();
        let corrupt = |line: usize, message: String| PersistError::Corrupt {
            path: path.to_path_buf(),
            line,
            message,
        };
        let header_text = lines
            .next()
            .ok_or_else(|| corrupt(1, "the snapshot is empty".to_string()))?
            .map_err(io_error(path))?;
        let header: SnapshotHeader = serde_json::from_str(&header_text)
            .map_err(|e| corrupt(1, format!("not a snapshot header: {e}")))?;
        if header.format != SNAPSHOT_FORMAT {
            return Err(corrupt(
                1,
                format!("not an org snapshot ({})", header.format),
            ));
        }
        if header.version != VERSION {
            return Err(corrupt(
                1,
                format!(
                    "format version {} is not supported (this build reads version {VERSION})",
                    header.version
                ),
            ));
        }
        self.check_schema(&header)?;
        for (index, line) in lines.enumerate() {
            let number = index + 2;
            let text = line.map_err(io_error(path))?;
            if text.is_empty() {
                continue;
            }
            let parsed: SnapshotLine =
                serde_json::from_str(&text).map_err(|e| corrupt(number, e.to_string()))?;
            match parsed {
                SnapshotLine::Row(row) => {
                    let limit = header.objects.get(row.0 as usize).map_or(0, |o| o.slots);
                    self.apply_row(txn, row, limit)
                        .map_err(|message| corrupt(number, message))?
                }
                SnapshotLine::Deleted((object, slot, at)) => {
                    self.object(object).map_err(|m| corrupt(number, m))?;
                    txn.load_deletion(self.stored[object as usize], Deletion { slot, at });
                }
            }
        }
        // Erased records at the end of a table still used their slots.
        for (index, object) in header.objects.iter().enumerate() {
            let Some(&stored) = self.stored.get(index) else {
                continue;
            };
            if object.slots > txn.data().table(stored).slot_count() {
                txn.load(stored, object.slots - 1, None);
            }
        }
        Ok(header.sequence)
    }

    fn check_schema(&self, header: &SnapshotHeader) -> Result<(), PersistError> {
        if header.schema == self.fingerprint {
            return Ok(());
        }
        let mut differences = Vec::new();
        for object in &header.objects {
            match self.object_names.iter().position(|n| *n == object.name) {
                None => differences.push(format!("{} is not in this schema", object.name)),
                Some(i) if self.object_fingerprints[i] != object.fingerprint => {
                    differences.push(format!("{} has other fields", object.name));
                }
                Some(_) => {}
            }
        }
        for name in &self.object_names {
            if !header.objects.iter().any(|o| o.name == *name) {
                differences.push(format!("{name} is new"));
            }
        }
        if differences.is_empty() {
            differences.push("the objects are in another order".to_string());
        }
        Err(PersistError::SchemaMismatch {
            dir: self.dir.clone(),
            details: differences.join(", "),
        })
    }

    /// The column types of object number `object`, or why there is no such object.
    fn object(&self, object: u32) -> Result<&[FieldType], String> {
        self.column_types
            .get(object as usize)
            .map(Vec::as_slice)
            .ok_or_else(|| format!("object number {object} is not in the schema"))
    }

    /// Stores one record read from a file; `slot_limit` bounds the slot so a damaged number
    /// cannot make the table huge.
    fn apply_row(&self, txn: &mut Txn<'_>, row: RowIn, slot_limit: u32) -> Result<(), String> {
        let RowIn(object, slot, cells) = row;
        let types = self.object(object)?;
        if slot >= slot_limit {
            return Err(format!(
                "slot {slot} of object number {object} is out of range"
            ));
        }
        let values = match cells {
            None => None,
            Some(cells) => {
                if cells.len() != types.len() {
                    return Err(format!(
                        "a record of {} has {} values, but the object has {} columns",
                        self.object_names[object as usize],
                        cells.len(),
                        types.len()
                    ));
                }
                let values = cells
                    .into_iter()
                    .zip(types)
                    .map(|(cell, &field_type)| cell.into_value(field_type))
                    .collect::<Result<Vec<Value>, String>>()?;
                Some(values.into())
            }
        };
        txn.load(self.stored[object as usize], slot, values);
        Ok(())
    }

    /// Applies the journal's entries after `after` (the snapshot's sequence) and returns the
    /// last sequence number. A last line cut short by a crash is dropped and cut off the file.
    fn replay_journal(
        &self,
        state: &mut JournalState,
        after: u64,
        txn: &mut Txn<'_>,
    ) -> Result<u64, PersistError> {
        let path = self.dir.join(JOURNAL_FILE);
        let corrupt = |line: usize, message: String| PersistError::Corrupt {
            path: path.clone(),
            line,
            message,
        };
        state
            .file
            .seek(SeekFrom::Start(0))
            .map_err(io_error(&path))?;
        let length = state.file.metadata().map_err(io_error(&path))?.len();
        let mut reader = BufReader::with_capacity(1 << 20, &state.file);
        let mut sequence = after;
        let mut good_end = 0u64;
        let mut number = 0usize;
        let mut line = Vec::new();
        let mut header_seen = false;
        loop {
            line.clear();
            let read = reader
                .read_until(b'\n', &mut line)
                .map_err(io_error(&path))?;
            if read == 0 {
                break;
            }
            number += 1;
            let complete = line.ends_with(b"\n");
            let last = good_end + read as u64 >= length;
            if !header_seen {
                match serde_json::from_slice::<JournalHeader>(&line) {
                    Ok(header) if complete => {
                        if header.format != JOURNAL_FORMAT || header.version != VERSION {
                            return Err(corrupt(
                                number,
                                format!(
                                    "not a version {VERSION} journal ({} version {})",
                                    header.format, header.version
                                ),
                            ));
                        }
                        if header.schema != self.fingerprint {
                            return Err(corrupt(
                                number,
                                "the journal was written for another schema than the snapshot"
                                    .to_string(),
                            ));
                        }
                        header_seen = true;
                    }
                    _ if last => break,
                    Err(e) => return Err(corrupt(number, format!("not a journal header: {e}"))),
                    Ok(_) => break,
                }
            } else {
                match serde_json::from_slice::<JournalEntry>(&line) {
                    Ok(entry) if complete => {
                        if entry.sequence > sequence {
                            for row in entry.rows {
                                let limit = match self.stored.get(row.0 as usize) {
                                    Some(&object) => {
                                        txn.data().table(object).slot_count().saturating_add(1)
                                    }
                                    None => 0,
                                };
                                self.apply_row(txn, row, limit)
                                    .map_err(|message| corrupt(number, message))?;
                            }
                            for (object, slot, at) in entry.deleted {
                                self.object(object).map_err(|m| corrupt(number, m))?;
                                txn.load_deletion(
                                    self.stored[object as usize],
                                    Deletion { slot, at },
                                );
                            }
                            sequence = entry.sequence;
                        }
                    }
                    // The last entry was being written when the process stopped: it never
                    // finished, so the transaction is not part of the org.
                    _ if last => {
                        tracing::warn!(
                            path = %path.display(),
                            line = number,
                            "dropping a journal entry cut short by a crash"
                        );
                        break;
                    }
                    Err(e) => return Err(corrupt(number, e.to_string())),
                    Ok(_) => {
                        return Err(corrupt(number, "the entry does not end a line".to_string()));
                    }
                }
            }
            good_end += read as u64;
        }
        drop(reader);
        if !header_seen {
            self.reset_journal(state)?;
            return Ok(sequence);
        }
        if good_end < length {
            state.file.set_len(good_end).map_err(io_error(&path))?;
            state.file.sync_data().map_err(io_error(&path))?;
        }
        state
            .file
            .seek(SeekFrom::Start(good_end))
            .map_err(io_error(&path))?;
        state.bytes = good_end;
        Ok(sequence)
    }

    /// Empties the journal down to its header.
    fn reset_journal(&self, state: &mut JournalState) -> Result<(), PersistError> {
        let path = self.dir.join(JOURNAL_FILE);
        let mut header = serde_json::to_vec(&JournalHeader {
            format: JOURNAL_FORMAT.to_string(),
            version: VERSION,
            schema: self.fingerprint.clone(),
        })
        .map_err(|e| io_error(&path)(io::Error::other(e)))?;
        header.push(b'\n');
        let file = &mut state.file;
        file.set_len(0).map_err(io_error(&path))?;
        file.seek(SeekFrom::Start(0)).map_err(io_error(&path))?;
        file.write_all(&header).map_err(io_error(&path))?;
        file.sync_data().map_err(io_error(&path))?;
        state.bytes = header.len() as u64;
        Ok(())
    }

    /// Writes the org as it is now into a new snapshot and empties the journal. Runs as a
    /// store transaction (without changes), so no commit can slip in between.
    pub(crate) fn save(&self, store: &Store) -> Result<(), PersistError> {
        let user = crate::ids::RecordId::new("005", 1);
        store.write(user, |txn| {
            let mut state = self.lock_state();
            self.compact(&mut state, txn.data())
        })
    }

    fn compact(&self, state: &mut JournalState, data: &OrgData) -> Result<(), PersistError> {
        let started = std::time::Instant::now();
        let temp = self.dir.join(SNAPSHOT_TEMP_FILE);
        let file = File::create(&temp).map_err(io_error(&temp))?;
        let mut out = BufWriter::with_capacity(1 << 20, file);
        let header = SnapshotHeader {
            format: SNAPSHOT_FORMAT.to_string(),
            version: VERSION,
            schema: self.fingerprint.clone(),
            objects: self
                .object_names
                .iter()
                .zip(&self.object_fingerprints)
                .enumerate()
                .map(|(i, (name, fingerprint))| ObjectHeader {
                    name: name.clone(),
                    fingerprint: fingerprint.clone(),
                    slots: data.table(self.stored[i]).slot_count(),
                })
                .collect(),
            sequence: state.sequence,
            written_at: crate::value::now_millis(),
        };
        let write_error = |e: serde_json::Error| io_error(&temp)(io::Error::other(e));
        serde_json::to_writer(&mut out, &header).map_err(write_error)?;
        out.write_all(b"\n").map_err(io_error(&temp))?;
        let mut records = 0u64;
        for (index, &object) in self.stored.iter().enumerate() {
            let table = data.table(object);
            for (slot, row) in table.rows() {
                let line = SnapshotLineOut::Row(RowOut {
                    object: index as u32,
                    slot,
                    values: Some(row),
                });
                serde_json::to_writer(&mut out, &line).map_err(write_error)?;
                out.write_all(b"\n").map_err(io_error(&temp))?;
                records += 1;
            }
            for deletion in table.log() {
                let line = SnapshotLineOut::Deleted((index as u32, deletion.slot, deletion.at));
                serde_json::to_writer(&mut out, &line).map_err(write_error)?;
                out.write_all(b"\n").map_err(io_error(&temp))?;
            }
        }
        let file = out
            .into_inner()
            .map_err(|e| io_error(&temp)(e.into_error()))?;
        file.sync_all().map_err(io_error(&temp))?;
        drop(file);
        let target = self.dir.join(SNAPSHOT_FILE);
        fs::rename(&temp, &target).map_err(io_error(&target))?;
        // The rename is durable once the directory itself is synced.
        File::open(&self.dir)
            .and_then(|dir| dir.sync_all())
            .map_err(io_error(&self.dir))?;
        self.reset_journal(state)?;
        state.deletions = self
            .stored
            .iter()
            .map(|&object| data.table(object).deletion_count())
            .collect();
        tracing::info!(
            dir = %self.dir.display(),
            records,
            sequence = state.sequence,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "wrote a snapshot of the org"
        );
        Ok(())
    }

    /// Appends one transaction to the journal (written and synced), and compacts when the
    /// journal grew too big. On failure nothing of it stays in the journal or in `state`, so
    /// the transaction can be refused as if it never happened.
    fn append(
        &self,
        state: &mut JournalState,
        data: &OrgData,
        touched: &BTreeSet<(ObjectIdx, u32)>,
    ) -> Result<(), PersistError> {
        let path = self.dir.join(JOURNAL_FILE);
        let sequence = state.sequence + 1;
        // Only stored objects reach the files, by their number there.
        let touched: Vec<(usize, ObjectIdx, u32)> = touched
            .iter()
            .filter_map(|&(object, slot)| {
                let number = self.stored.iter().position(|&o| o == object)?;
                Some((number, object, slot))
            })
            .collect();
        if touched.is_empty() {
            return Ok(());
        }
        let rows: Vec<RowOut<'_>> = touched
            .iter()
            .map(|&(number, object, slot)| RowOut {
                object: number as u32,
                slot,
                values: data.table(object).get(slot).map(|row| &row[..]),
            })
            .collect();
        let objects: BTreeSet<(usize, ObjectIdx)> = touched
            .iter()
            .map(|&(number, object, _)| (number, object))
            .collect();
        let mut deleted = Vec::new();
        let mut known = state.deletions.clone();
        for (number, object) in objects {
            let table = data.table(object);
            for deletion in table.deletions_since(known[number]) {
                deleted.push((number as u32, deletion.slot, deletion.at));
            }
            known[number] = table.deletion_count();
        }
        let mut line = serde_json::to_vec(&JournalEntryOut {
            sequence,
            rows,
            deleted,
        })
        .map_err(|e| io_error(&path)(io::Error::other(e)))?;
        line.push(b'\n');
        let written = state.file.write_all(&line);
        #[cfg(test)]
        let written = written.and_then(|()| {
            if self.fail_writes.load(std::sync::atomic::Ordering::SeqCst) {
                Err(io::Error::other("no space left on the test's device"))
            } else {
                Ok(())
            }
        });
        let written = written.and_then(|()| state.file.sync_data());
        if let Err(e) = written {
            // Cut off whatever part of the line reached the file, so the next entry follows a
            // whole one; if even that fails, the next start drops a torn last line anyway.
            let _ = state.file.set_len(state.bytes);
            let _ = state.file.seek(SeekFrom::Start(state.bytes));
            return Err(io_error(&path)(e));
        }
        state.sequence = sequence;
        state.deletions = known;
        state.bytes += line.len() as u64;
        if state.bytes > state.threshold
            && let Err(e) = self.compact(state, data)
        {
            // The transaction is durable in the journal; only the compaction waits.
            tracing::error!(error = %e, "could not compact the org into a new snapshot");
        }
        Ok(())
    }
}

impl CommitHook for Persistence {
    fn committed(
        &self,
        data: &OrgData,
        touched: &BTreeSet<(ObjectIdx, u32)>,
    ) -> Result<(), CommitFailed> {
        let mut state = self.lock_state();
        self.append(&mut state, data, touched).map_err(|e| {
            tracing::error!(
                error = %e,
                source = ?std::error::Error::source(&e),
                "could not make a transaction durable; it is not applied"
            );
            let detail = match std::error::Error::source(&e) {
                Some(source) => format!("{e}: {source}"),
                None => e.to_string(),
            };
            CommitFailed(detail)
        })
    }
}

/// The fingerprint of the stored objects together and of each one: names, key prefixes, and every
/// field's name, type and storage, which together decide how a stored record reads.
fn fingerprints(schema: &Schema, stored: &[ObjectIdx]) -> (String, Vec<String>) {
    let mut whole = sha2::Sha256::new();
    let per_object = stored
        .iter()
        .map(|&index| {
            let object = schema.object(index);
            let mut hash = sha2::Sha256::new();
            hash.update(object.name.as_bytes());
            hash.update([0]);
            hash.update(object.key_prefix.as_bytes());
            hash.update((object.columns as u64).to_le_bytes());
            for field in &object.fields {
                hash.update(field.name.as_bytes());
                hash.update([0]);
                hash.update(field.field_type.describe_name().as_bytes());
                let storage: u64 = match field.storage {
                    Storage::Column(c) => c as u64,
                    Storage::Id => u64::MAX,
                    Storage::Address => u64::MAX - 1,
                    Storage::Location => u64::MAX - 2,
                    Storage::FullName => u64::MAX - 3,
                };
                hash.update(storage.to_le_bytes());
            }
            let fingerprint = hex(&hash.finalize()[..8]);
            whole.update(object.name.as_bytes());
            whole.update(fingerprint.as_bytes());
            fingerprint
        })
        .collect();
    (hex(&whole.finalize()[..16]), per_object)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// For each stored object, the field type of each column.
fn column_types(schema: &Schema, stored: &[ObjectIdx]) -> Vec<Vec<FieldType>> {
    stored
        .iter()
        .map(|&index| {
            let object = schema.object(index);
            let mut types = vec![FieldType::String; object.columns];
            for field in &object.fields {
                if let Storage::Column(c) = field.storage {
                    types[c] = field.field_type;
                }
            }
            types
        })
        .collect()
}

#[cfg(test)]
mod tests;
