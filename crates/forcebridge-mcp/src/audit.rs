//! The audit log: one JSON line per tool call (time, tool, object, record ids, outcome, API
//! calls, duration). It never holds a secret; field values are written only when the admin
//! asks for them (`field_values`).

use std::fs::OpenOptions;
use std::io::Write;
use std::path::Path;
use std::sync::Mutex;

use serde::Serialize;

use crate::error::{Error, ErrorKind, Result};

/// Where tool calls are recorded.
pub struct Audit {
    sink: Mutex<Box<dyn Write + Send>>,
    field_values: bool,
}

impl std::fmt::Debug for Audit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Audit")
            .field("field_values", &self.field_values)
            .finish_non_exhaustive()
    }
}

impl Audit {
    /// Appends to the file at `path` (created if missing). With `field_values`, the values a
    /// write sends are recorded too.
    pub fn file(path: &Path, field_values: bool) -> Result<Audit> {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| {
                Error::new(
                    ErrorKind::Io,
                    format!("cannot open the audit log {}", path.display()),
                )
                .with_source(e)
            })?;
        Ok(Audit::writer(Box::new(file), field_values))
    }

    /// Writes to any writer (one line per call, flushed after each).
    pub fn writer(writer: Box<dyn Write + Send>, field_values: bool) -> Audit {
        Audit {
            sink: Mutex::new(writer),
            field_values,
        }
    }

    pub(crate) fn field_values(&self) -> bool {
        self.field_values
    }

    pub(crate) fn record(&self, entry: &Entry<'_>) {
        let Ok(mut line) = serde_json::to_vec(entry) else {
            return;
        };
        line.push(b'\n');
        let mut sink = match self.sink.lock() {
            Ok(sink) => sink,
            Err(poisoned) => poisoned.into_inner(),
        };
        if let Err(e) = sink.write_all(&line).and_then(|()| sink.flush()) {
            tracing::warn!(error = %e, "cannot write to the audit log");
        }
    }
}

/// One line of the audit log.
#[derive(Debug, Serialize)]
pub(crate) struct Entry<'a> {
    pub(crate) time: String,
    pub(crate) tool: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) object: Option<&'a str>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    pub(crate) record_ids: &'a [String],
    /// `ok`, `preview` (a write shown, not sent), `tool_error` or `refused` (read-only,
    /// policy or budget).
    pub(crate) outcome: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) message: Option<&'a str>,
    /// Salesforce API calls the server made while serving this call.
    pub(crate) api_calls: u64,
    pub(crate) duration_ms: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) values: Option<&'a serde_json::Value>,
}
