//! Server-minted handles: query cursors (the open query behind a `nextCursor`) and the confirm
//! handles of write previews. Both are opaque random strings, single use, and expire; nothing
//! about them is derived from the data, so a model cannot forge or predict one.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use forcebridge_client::{PageStream, Record};
use sha2::{Digest, Sha256};

use crate::tools::Order;

/// How long an unused cursor stays open.
pub(crate) const CURSOR_TTL: Duration = Duration::from_secs(10 * 60);
/// The most cursors open at once; the oldest is dropped beyond it.
const MAX_CURSORS: usize = 64;

/// A fresh handle: a prefix and 128 random bits in hex.
pub(crate) fn mint(prefix: &str) -> String {
    let bytes: [u8; 16] = rand::random();
    let mut out = String::with_capacity(prefix.len() + 32);
    out.push_str(prefix);
    for b in bytes {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// An open query: its page stream, the records read from it but not yet returned, and where
/// it stands.
pub(crate) struct OpenQuery {
    pub(crate) pages: Option<PageStream<Record>>,
    pub(crate) buffer: VecDeque<Record>,
    pub(crate) total_size: u64,
    pub(crate) returned: u64,
    /// The tool that opened it: a cursor answers only to the tool that made it.
    pub(crate) tool: &'static str,
    /// The object it reads, for the audit log.
    pub(crate) object: String,
    /// The SELECT list's order, which each row is put in.
    pub(crate) order: Order,
}

impl OpenQuery {
    pub(crate) fn new(pages: PageStream<Record>, tool: &'static str, object: String) -> OpenQuery {
        OpenQuery {
            pages: Some(pages),
            buffer: VecDeque::new(),
            total_size: 0,
            returned: 0,
            tool,
            object,
            order: Order::default(),
        }
    }

    /// Puts the rows in `order` (the statement's SELECT list).
    pub(crate) fn in_order(mut self, order: Order) -> OpenQuery {
        self.order = order;
        self
    }

    pub(crate) fn is_exhausted(&self) -> bool {
        self.pages.is_none() && self.buffer.is_empty()
    }
}

/// Why a cursor could not be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CursorProblem {
    Unknown,
    Expired,
    OtherTool(&'static str),
}

#[derive(Default)]
pub(crate) struct Cursors {
    open: Mutex<HashMap<String, (Instant, OpenQuery)>>,
}

impl Cursors {
    /// Keeps `query` open and returns its new cursor.
    pub(crate) fn put(&self, query: OpenQuery) -> String {
        let token = mint("fbq_");
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        open.retain(|_, (created, _)| now.duration_since(*created) < CURSOR_TTL * 2);
        if open.len() >= MAX_CURSORS
            && let Some(oldest) = open
                .iter()
                .min_by_key(|(_, (created, _))| *created)
                .map(|(k, _)| k.clone())
        {
            open.remove(&oldest);
        }
        open.insert(token.clone(), (now, query));
        token
    }

    /// Takes the open query behind `token` (a cursor is used once; the answer carries a new one).
    pub(crate) fn take(&self, token: &str, tool: &'static str) -> Result<OpenQuery, CursorProblem> {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let Some((created, query)) = open.remove(token) else {
            return Err(CursorProblem::Unknown);
        };
        if created.elapsed() >= CURSOR_TTL {
            return Err(CursorProblem::Expired);
        }
        if query.tool != tool {
            let other = query.tool;
            open.insert(token.to_string(), (created, query));
            return Err(CursorProblem::OtherTool(other));
        }
        Ok(query)
    }
}

/// Why a confirm handle was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ConfirmProblem {
    /// Never issued, or already used.
    Unknown,
    Expired,
    /// Issued for another change than the one now asked for.
    Mismatch,
}

/// A pending write, bound to a digest of exactly the change it previews.
struct Pending {
    binding: [u8; 32],
    issued: Instant,
}

pub(crate) struct Confirms {
    ttl: Duration,
    pending: Mutex<HashMap<String, Pending>>,
}

impl Confirms {
    pub(crate) fn new(ttl: Duration) -> Confirms {
        Confirms {
            ttl,
            pending: Mutex::new(HashMap::new()),
        }
    }

    pub(crate) fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Issues a handle for the change `binding` describes (tool name and canonical arguments).
    pub(crate) fn issue(&self, binding: &str) -> String {
        let token = mint("fbc_");
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        let ttl = self.ttl;
        // Expired handles are kept a while so that using one says "expired", not "unknown".
        pending.retain(|_, p| p.issued.elapsed() < ttl * 4 + Duration::from_secs(60));
        pending.insert(
            token.clone(),
            Pending {
                binding: digest(binding),
                issued: Instant::now(),
            },
        );
        token
    }

    /// Uses the handle: it is gone afterwards, whatever the outcome.
    pub(crate) fn redeem(&self, token: &str, binding: &str) -> Result<(), ConfirmProblem> {
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        let Some(entry) = pending.remove(token) else {
            return Err(ConfirmProblem::Unknown);
        };
        if entry.issued.elapsed() >= self.ttl {
            return Err(ConfirmProblem::Expired);
        }
        if entry.binding != digest(binding) {
            return Err(ConfirmProblem::Mismatch);
        }
        Ok(())
    }
}

fn digest(text: &str) -> [u8; 32] {
    Sha256::digest(text.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_confirm_handle_is_single_use_and_bound_to_its_change() {
        let confirms = Confirms::new(Duration::from_secs(60));
        let token = confirms.issue("update Account 001 {Name:a}");
        assert_eq!(
            confirms.redeem(&token, "update Account 001 {Name:b}"),
            Err(ConfirmProblem::Mismatch)
        );
        let token = confirms.issue("update Account 001 {Name:a}");
        assert_eq!(
            confirms.redeem(&token, "update Account 001 {Name:a}"),
            Ok(())
        );
        assert_eq!(
            confirms.redeem(&token, "update Account 001 {Name:a}"),
            Err(ConfirmProblem::Unknown)
        );
        let expired = Confirms::new(Duration::ZERO);
        let token = expired.issue("x");
        assert_eq!(expired.redeem(&token, "x"), Err(ConfirmProblem::Expired));
        assert!(mint("fbc_").len() == 36 && mint("a") != mint("a"));
    }
}
