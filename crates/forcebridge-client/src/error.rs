//! The crate's one error type: what went wrong, and what the caller can do about it.
//!
//! [`Error::kind`] answers the question a caller has to decide on (was anything sent? should I
//! log in again? is the org's quota spent?); the message says what happened in words; the
//! errors Salesforce returned, when it returned any, are in [`Error::api_errors`]. Third-party
//! errors (reqwest, serde_json) are reachable only through [`std::error::Error::source`].
//!
//! Per-record failures in batch work (collections, Bulk results) are not errors: they are data
//! in the results, so one bad row never hides the others.

use std::fmt;

/// What kind of failure an [`Error`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Refused before anything was sent: invalid input, a read-only client asked to write, or
    /// a configuration the client cannot use. Nothing reached the org.
    NotSent,
    /// Logging in or refreshing the session failed, or the org refused the session.
    Auth,
    /// The API quota: the org answered `REQUEST_LIMIT_EXCEEDED`, or the client's own budget
    /// refused to send (see [`crate::ClientBuilder::api_budget`]).
    Limit,
    /// Salesforce answered with an error; its `errorCode`, message and fields are in
    /// [`Error::api_errors`].
    Api,
    /// The request may or may not have reached the org: the connection failed, was cut, or
    /// timed out (after any retries the policy allows).
    Transport,
    /// The org answered, but the answer could not be read as what was expected.
    Decode,
    /// A query that had to return a record returned none (`fetch_one`).
    NoRecord,
}

/// One error as Salesforce reports it: `{"errorCode", "message", "fields"}`, or an OAuth
/// `{"error", "error_description"}` (mapped to code and message).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiErrorDetail {
    /// The `errorCode` (`INVALID_FIELD`, ...) or the OAuth `error` (`invalid_grant`, ...);
    /// `HTTP_{status}` when the answer was in neither form.
    pub error_code: String,
    /// The `message` or the OAuth `error_description`; when the answer was in neither form,
    /// the start of its body.
    pub message: String,
    /// The fields the error concerns (`fields`); empty when Salesforce names none.
    pub fields: Vec<String>,
}

/// The error of every fallible call in this crate.
pub struct Error {
    inner: Box<Inner>,
}

struct Inner {
    kind: ErrorKind,
    message: String,
    status: Option<u16>,
    api_errors: Vec<ApiErrorDetail>,
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

impl Error {
    pub(crate) fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error {
            inner: Box::new(Inner {
                kind,
                message: message.into(),
                status: None,
                api_errors: Vec::new(),
                source: None,
            }),
        }
    }

    pub(crate) fn not_sent(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::NotSent, message)
    }

    pub(crate) fn decode(
        message: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Error {
        Error::new(ErrorKind::Decode, message).with_source(source)
    }

    pub(crate) fn with_source(
        mut self,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Error {
        self.inner.source = Some(Box::new(source));
        self
    }

    pub(crate) fn with_status(mut self, status: u16) -> Error {
        self.inner.status = Some(status);
        self
    }

    pub(crate) fn with_api_errors(mut self, errors: Vec<ApiErrorDetail>) -> Error {
        self.inner.api_errors = errors;
        self
    }

    /// Appends `note` to the message (for context only the caller knows, such as the jobs a
    /// failed run had already started).
    pub(crate) fn with_note(mut self, note: impl std::fmt::Display) -> Error {
        self.inner.message = format!("{}; {note}", self.inner.message);
        self
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        self.inner.kind
    }

    /// The HTTP status of the org's answer, when there was one.
    pub fn status(&self) -> Option<u16> {
        self.inner.status
    }

    /// The errors Salesforce returned (usually one), in its order.
    pub fn api_errors(&self) -> &[ApiErrorDetail] {
        &self.inner.api_errors
    }

    /// The first `errorCode` Salesforce returned (`INVALID_FIELD`, `REQUEST_LIMIT_EXCEEDED`,
    /// `invalid_grant`, ...).
    pub fn error_code(&self) -> Option<&str> {
        self.inner.api_errors.first().map(|e| e.error_code.as_str())
    }

    /// Whether the request is known not to have reached the org, so trying again cannot have
    /// done the work twice.
    pub fn is_not_sent(&self) -> bool {
        self.inner.kind == ErrorKind::NotSent
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.inner.message)
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = f.debug_struct("Error");
        out.field("kind", &self.inner.kind)
            .field("message", &self.inner.message);
        if let Some(status) = self.inner.status {
            out.field("status", &status);
        }
        if !self.inner.api_errors.is_empty() {
            out.field("api_errors", &self.inner.api_errors);
        }
        if let Some(source) = &self.inner.source {
            out.field("source", source);
        }
        out.finish()
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.inner
            .source
            .as_deref()
            .map(|s| s as &(dyn std::error::Error + 'static))
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync + 'static>() {}

    #[test]
    fn errors_are_send_sync_and_small() {
        assert_send_sync::<Error>();
        assert_eq!(std::mem::size_of::<Error>(), std::mem::size_of::<usize>());
    }

    #[test]
    fn display_is_the_message_and_the_source_is_separate() {
        let io = std::io::Error::other("connection reset");
        let error = Error::new(ErrorKind::Transport, "GET /query failed").with_source(io);
        assert_eq!(error.to_string(), "GET /query failed");
        assert_eq!(
            std::error::Error::source(&error).unwrap().to_string(),
            "connection reset"
        );
    }
}
