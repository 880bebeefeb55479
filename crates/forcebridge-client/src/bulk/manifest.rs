//! The record of a load, kept beside its results (`<results dir>/bulk-load.json`), so that an
//! interrupted ingest is resumed rather than loaded twice: what was loaded (object, operation,
//! CSV dialect, the input file's identity) and every job the load opened, with the input rows
//! it holds and its last known state. It is replaced atomically (written to a temporary file
//! beside it, synced, renamed) as soon as a job exists, before its upload starts, and whenever
//! a job's state changes.
//!
//! The input file is known by its size and a SHA-256 of its first and last 64 KiB, not by its
//! path or its modification time: a file moved, copied or touched is still the same input, and
//! the check reads at most 128 KiB however large the file is. Rows added or removed change the
//! size, and a changed header or last row changes the hash; an edit in the middle of the file
//! that keeps its size goes unnoticed (hashing the whole file would catch it, at the cost of
//! reading it all before anything can be resumed). The path and modification time are kept
//! for people reading the file.
//!
//! One run at a time works on a results directory: a run holds an OS lock on
//! `bulk-load.lock` there for as long as it lives, so two processes never load the same rows.
//! Within a process, a run whose future was dropped may still have one write of the record
//! under way on the blocking pool; each run writes its own id into the record, and a write
//! finds the record claimed by a later run is dropped, so a stale write never undoes a newer
//! one.
//!
//! The format is JSON, read and written only here. This module does not talk to the org.

use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};
use sha2::Digest;

use crate::error::{Error, ErrorKind, Result};

/// The file name of a load's record in its results directory.
pub const LOAD_RECORD_FILE: &str = "bulk-load.json";

/// The file a run holds an OS lock on while it works on a results directory.
const LOCK_FILE: &str = "bulk-load.lock";

/// The format this module writes; a record of another format is refused, never guessed at.
const FORMAT: u32 = 1;

/// Serializes this process's checks and writes of records, so that checking which run owns a
/// record and replacing it happen as one step.
static RECORDS: Mutex<()> = Mutex::new(());

/// How many bytes of each end of the input file its identity hashes.
const SAMPLE_BYTES: u64 = 64 * 1024;

/// A load: what it loads and the jobs it opened, in the order it opened them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Manifest {
    pub(crate) format: u32,
    /// The run that last claimed the record (process id, time, counter): only it writes it.
    pub(crate) run: String,
    pub(crate) object: String,
    pub(crate) operation: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) external_id_field: Option<String>,
    pub(crate) column_delimiter: String,
    pub(crate) line_ending: String,
    pub(crate) input: InputIdentity,
    pub(crate) jobs: Vec<ManifestJob>,
}

/// Which input a load reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct InputIdentity {
    /// The file as it was given; `None` for a reader or records, which cannot be read again.
    pub(crate) path: Option<String>,
    /// Its size in bytes.
    pub(crate) size: Option<u64>,
    /// Its modification time (RFC 3339), for people: not compared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) modified: Option<String>,
    /// SHA-256 (hex) of its first 64 KiB followed by its last 64 KiB (the whole file when
    /// it is smaller than 128 KiB).
    pub(crate) sample_sha256: Option<String>,
}

/// One job of a load.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ManifestJob {
    pub(crate) id: String,
    /// Its first input row: data rows counted from 0, the header not counted.
    pub(crate) first_row: u64,
    /// How many input rows it holds, from `first_row` on.
    pub(crate) rows: u64,
    /// Its last known state (`Open`, `UploadComplete`, ..., or `unknown`).
    pub(crate) state: String,
    /// Whether it was aborted while still `Open` (an interrupted upload) and its rows went to
    /// a later job of the load.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) replaced: bool,
}

impl InputIdentity {
    /// A reader or records: nothing to know it by again.
    pub(crate) fn stream() -> InputIdentity {
        InputIdentity {
            path: None,
            size: None,
            modified: None,
            sample_sha256: None,
        }
    }

    /// The identity of the file at `path` (blocking: run it on the blocking pool).
    pub(crate) fn of_file(path: &Path) -> std::io::Result<InputIdentity> {
        let mut file = std::fs::File::open(path)?;
        let metadata = file.metadata()?;
        let size = metadata.len();
        let mut hash = sha2::Sha256::new();
        let mut buffer = vec![0u8; SAMPLE_BYTES as usize];
        if size <= 2 * SAMPLE_BYTES {
            let mut all = Vec::with_capacity(size as usize);
            file.read_to_end(&mut all)?;
            hash.update(&all);
        } else {
            file.read_exact(&mut buffer)?;
            hash.update(&buffer);
            file.seek(SeekFrom::End(-(SAMPLE_BYTES as i64)))?;
            file.read_exact(&mut buffer)?;
            hash.update(&buffer);
        }
        let modified = metadata.modified().ok().map(|time| {
            chrono::DateTime::<chrono::Utc>::from(time)
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        });
        Ok(InputIdentity {
            path: Some(path.display().to_string()),
            size: Some(size),
            modified,
            sample_sha256: Some(hex(&hash.finalize())),
        })
    }

    /// Whether `other` is the same file: same size and same sampled bytes. A stream is never
    /// the same as anything.
    pub(crate) fn same_as(&self, other: &InputIdentity) -> bool {
        self.size.is_some()
            && self.sample_sha256.is_some()
            && self.size == other.size
            && self.sample_sha256 == other.sample_sha256
    }

    fn describe(&self) -> String {
        match (&self.path, self.size) {
            (Some(path), Some(size)) => format!("{path} ({size} bytes)"),
            (Some(path), None) => path.clone(),
            _ => "a stream".to_string(),
        }
    }
}

impl Manifest {
    /// What the load is, for messages: `insert into Account from accounts.csv (1234 bytes)`.
    pub(crate) fn describe(&self) -> String {
        let operation = match &self.external_id_field {
            Some(field) => format!("{} on {field}", self.operation),
            None => self.operation.clone(),
        };
        format!(
            "{operation} into {} from {}",
            self.object,
            self.input.describe()
        )
    }

    /// Whether `self` (a recorded load) is the load `other` would start: same object,
    /// operation, dialect and input file.
    pub(crate) fn same_load(&self, other: &Manifest) -> bool {
        self.object.eq_ignore_ascii_case(&other.object)
            && self.operation == other.operation
            && self.external_id_field == other.external_id_field
            && self.column_delimiter == other.column_delimiter
            && self.line_ending == other.line_ending
            && self.input.same_as(&other.input)
    }

    /// The record in `dir`, if there is one (blocking).
    pub(crate) fn read(dir: &Path) -> Result<Option<Manifest>> {
        let path = dir.join(LOAD_RECORD_FILE);
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io(format!("cannot read {}", path.display()), e)),
        };
        #[derive(Deserialize)]
        struct Format {
            format: u32,
        }
        let unreadable = |e: serde_json::Error| {
            Error::io(
                format!("{} is not a readable record of a bulk load", path.display()),
                e,
            )
        };
        let format: Format = serde_json::from_slice(&bytes).map_err(unreadable)?;
        if format.format != FORMAT {
            return Err(Error::new(
                ErrorKind::Io,
                format!(
                    "{} records a bulk load in format {}, which this version does not read (it reads format {FORMAT})",
                    path.display(),
                    format.format
                ),
            ));
        }
        serde_json::from_slice(&bytes).map(Some).map_err(unreadable)
    }

    /// Replaces the record in `dir` atomically: written beside it, synced, renamed over it
    /// (blocking). With `claim`, this run takes the record over; otherwise the write is
    /// dropped (and `Ok(false)` returned) if a later run has claimed it since.
    pub(crate) fn save(&self, dir: &Path, claim: bool) -> std::io::Result<bool> {
        let _serial = RECORDS.lock().unwrap_or_else(|e| e.into_inner());
        let path = dir.join(LOAD_RECORD_FILE);
        if !claim {
            #[derive(Deserialize)]
            struct Owner {
                run: String,
            }
            let owner = std::fs::read(&path)
                .ok()
                .and_then(|bytes| serde_json::from_slice::<Owner>(&bytes).ok());
            if owner.is_some_and(|owner| owner.run != self.run) {
                return Ok(false);
            }
        }
        let mut temp = path.as_os_str().to_owned();
        temp.push(".tmp");
        let temp = PathBuf::from(temp);
        let mut file = std::fs::File::create(&temp)?;
        let mut text = serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?;
        text.push(b'\n');
        file.write_all(&text)?;
        file.sync_data()?;
        drop(file);
        std::fs::rename(&temp, &path)?;
        Ok(true)
    }

    /// A new record for a load with no jobs yet.
    pub(crate) fn new(
        object: &str,
        operation: &str,
        external_id_field: Option<&str>,
        column_delimiter: &str,
        line_ending: &str,
        input: InputIdentity,
    ) -> Manifest {
        Manifest {
            format: FORMAT,
            run: new_run_id(),
            object: object.to_string(),
            operation: operation.to_string(),
            external_id_field: external_id_field.map(str::to_string),
            column_delimiter: column_delimiter.to_string(),
            line_ending: line_ending.to_string(),
            input,
            jobs: Vec::new(),
        }
    }
}

/// Takes the OS lock on `dir`'s lock file (blocking, but it does not wait): `None` when
/// another run holds it. Where the file system cannot lock, the run goes on unlocked.
pub(crate) fn lock_dir(dir: &Path) -> std::io::Result<Option<std::fs::File>> {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join(LOCK_FILE))?;
    match file.try_lock() {
        Ok(()) => Ok(Some(file)),
        Err(std::fs::TryLockError::WouldBlock) => Ok(None),
        Err(std::fs::TryLockError::Error(e)) if e.kind() == std::io::ErrorKind::Unsupported => {
            Ok(Some(file))
        }
        Err(std::fs::TryLockError::Error(e)) => Err(e),
    }
}

/// A run id no other run of this process or another has: process id, clock, counter.
fn new_run_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!(
        "{}-{nanos}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Manifest {
        let mut manifest = Manifest::new(
            "Account",
            "upsert",
            Some("Ext__c"),
            "COMMA",
            "LF",
            InputIdentity {
                path: Some("accounts.csv".into()),
                size: Some(1234),
                modified: Some("2026-11-23T10:00:00Z".into()),
                sample_sha256: Some("ab12".into()),
            },
        );
        manifest.run = "42-1-0".into();
        manifest.jobs.push(ManifestJob {
            id: "750x".into(),
            first_row: 0,
            rows: 10,
            state: "Aborted".into(),
            replaced: true,
        });
        manifest.jobs.push(ManifestJob {
            id: "750y".into(),
            first_row: 0,
            rows: 10,
            state: "JobComplete".into(),
            replaced: false,
        });
        manifest
    }

    #[test]
    fn the_record_keeps_its_format() {
        let text = serde_json::to_string(&sample()).unwrap();
        assert_eq!(
            text,
            r#"{"format":1,"run":"42-1-0","object":"Account","operation":"upsert","external_id_field":"Ext__c","column_delimiter":"COMMA","line_ending":"LF","input":{"path":"accounts.csv","size":1234,"modified":"2026-11-23T10:00:00Z","sample_sha256":"ab12"},"jobs":[{"id":"750x","first_row":0,"rows":10,"state":"Aborted","replaced":true},{"id":"750y","first_row":0,"rows":10,"state":"JobComplete"}]}"#
        );
        let back: Manifest = serde_json::from_str(&text).unwrap();
        assert_eq!(back, sample());
    }

    #[test]
    fn a_load_is_the_same_only_with_the_same_object_operation_and_input() {
        let recorded = sample();
        let mut other = sample();
        other.jobs.clear();
        other.input.path = Some("moved/accounts.csv".into());
        other.input.modified = None;
        assert!(recorded.same_load(&other), "a moved file is the same input");
        other.input.size = Some(1235);
        assert!(!recorded.same_load(&other));
        let mut other = sample();
        other.operation = "insert".into();
        other.external_id_field = None;
        assert!(!recorded.same_load(&other));
        let mut other = sample();
        other.input = InputIdentity::stream();
        assert!(!recorded.same_load(&other));
        assert!(
            !other.same_load(&other.clone()),
            "a stream is never resumed"
        );
        assert_eq!(
            recorded.describe(),
            "upsert on Ext__c into Account from accounts.csv (1234 bytes)"
        );
    }

    #[test]
    fn a_write_of_a_run_whose_record_was_claimed_since_is_dropped() {
        let dir =
            std::env::temp_dir().join(format!("forcebridge-manifest-claim-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let old = sample();
        assert!(old.save(&dir, true).unwrap());
        assert!(old.save(&dir, false).unwrap());
        let mut new = sample();
        new.run = "43-2-0".into();
        new.jobs.clear();
        assert!(new.save(&dir, true).unwrap());
        // A late write of the older run changes nothing.
        assert!(!old.save(&dir, false).unwrap());
        assert_eq!(Manifest::read(&dir).unwrap(), Some(new));
        let held = lock_dir(&dir).unwrap().unwrap();
        assert!(lock_dir(&dir).unwrap().is_none(), "one run at a time");
        drop(held);
        assert!(lock_dir(&dir).unwrap().is_some());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_identity_samples_both_ends_of_a_large_file() {
        let dir = std::env::temp_dir().join(format!("forcebridge-manifest-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("input.csv");
        let mut bytes = vec![b'a'; 300_000];
        std::fs::write(&path, &bytes).unwrap();
        let first = InputIdentity::of_file(&path).unwrap();
        assert_eq!(first.size, Some(300_000));
        // The middle is not sampled; either end is.
        bytes[150_000] = b'b';
        std::fs::write(&path, &bytes).unwrap();
        assert!(InputIdentity::of_file(&path).unwrap().same_as(&first));
        bytes[299_999] = b'b';
        std::fs::write(&path, &bytes).unwrap();
        assert!(!InputIdentity::of_file(&path).unwrap().same_as(&first));
        std::fs::write(&path, b"small").unwrap();
        let small = InputIdentity::of_file(&path).unwrap();
        std::fs::write(&path, b"smalL").unwrap();
        assert!(!InputIdentity::of_file(&path).unwrap().same_as(&small));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
