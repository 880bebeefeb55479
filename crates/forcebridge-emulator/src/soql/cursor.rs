//! Query locators: the open cursors behind `nextRecordsUrl`.
//!
//! A cursor holds a finished [`QueryRun`] (its snapshot and its ordered rows), so every page is
//! read from the org as it was when the query ran, however the org changes meanwhile. A
//! locator is the cursor's 18-character id (key prefix `01g`) and the number of rows already
//! returned: `01gRO0000000001XYZ-2000`. Any offset of a live cursor can be read again, so a
//! client that retries a page gets the same page.
//!
//! Cursors expire after 15 minutes without use. Each user keeps at most
//! [`MAX_CURSORS_PER_USER`] (as Salesforce limits open query cursors per user); opening one more
//! closes the user's finished cursors first, then the least recently used.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use super::QueryRun;
use crate::ids::RecordId;

/// How long a cursor lives without being read.
pub(crate) const CURSOR_IDLE_MILLIS: i64 = 15 * 60 * 1000;
/// Open cursors per user.
pub(crate) const MAX_CURSORS_PER_USER: usize = 10;

/// The org's open query cursors.
#[derive(Debug, Default)]
pub(crate) struct Cursors {
    inner: Mutex<Table>,
}

#[derive(Debug, Default)]
struct Table {
    next: u64,
    open: BTreeMap<u64, Cursor>,
}

#[derive(Debug)]
struct Cursor {
    run: Arc<QueryRun>,
    user: RecordId,
    last_used: i64,
    batch_size: usize,
    /// Whether its last page has been served (it is closed first when space is needed).
    finished: bool,
}

/// What a locator resolves to.
#[derive(Debug, Clone)]
pub(crate) struct Resumed {
    pub run: Arc<QueryRun>,
    pub number: u64,
    pub batch_size: usize,
}

impl Cursors {
    /// Opens a cursor over `run` for `user` at `now` and returns its number.
    pub(crate) fn open(
        &self,
        run: Arc<QueryRun>,
        user: RecordId,
        batch_size: usize,
        now: i64,
    ) -> u64 {
        let mut table = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        table
            .open
            .retain(|_, c| now.saturating_sub(c.last_used) <= CURSOR_IDLE_MILLIS);
        let mine: Vec<(u64, bool, i64)> = table
            .open
            .iter()
            .filter(|(_, c)| c.user == user)
            .map(|(n, c)| (*n, c.finished, c.last_used))
            .collect();
        if mine.len() >= MAX_CURSORS_PER_USER {
            let victim = mine
                .iter()
                .min_by_key(|(n, finished, last_used)| (!finished, *last_used, *n))
                .map(|(n, _, _)| *n);
            if let Some(victim) = victim {
                table.open.remove(&victim);
                tracing::debug!(cursor = victim, "closed the oldest query cursor");
            }
        }
        table.next += 1;
        let number = table.next;
        table.open.insert(
            number,
            Cursor {
                run,
                user,
                last_used: now,
                batch_size,
                finished: false,
            },
        );
        number
    }

    /// The cursor a locator names, if it is open and has not expired; reading it counts as use.
    pub(crate) fn resume(&self, locator: &str, now: i64) -> Option<(Resumed, usize)> {
        let (id, offset) = locator.split_once('-')?;
        let id = RecordId::parse(id).filter(|id| id.prefix() == "01g")?;
        let offset: usize = offset.parse().ok()?;
        let mut table = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let cursor = table.open.get_mut(&id.number())?;
        if now.saturating_sub(cursor.last_used) > CURSOR_IDLE_MILLIS {
            table.open.remove(&id.number());
            return None;
        }
        if offset > cursor.run.total_size() {
            return None;
        }
        cursor.last_used = now;
        Some((
            Resumed {
                run: cursor.run.clone(),
                number: id.number(),
                batch_size: cursor.batch_size,
            },
            offset,
        ))
    }

    /// Marks a cursor's last page as served.
    pub(crate) fn finish(&self, number: u64) {
        let mut table = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(cursor) = table.open.get_mut(&number) {
            cursor.finished = true;
        }
    }

    /// How many cursors are open (for tests and diagnostics).
    pub(crate) fn open_count(&self) -> usize {
        self.inner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .open
            .len()
    }
}
