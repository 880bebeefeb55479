//! The crate's one error type: what went wrong, and what the caller can do about it.
//!
//! [`Error::kind`] answers the question a caller has to decide on (should I fix the input? log
//! in again? is the org's quota spent?); [`Error::is_not_sent`] answers another one apart from
//! it: did anything reach the org, so that trying again could do the work twice? The message
//! says what happened in words, once: the error it comes from, if any, is reachable through
//! [`std::error::Error::source`] and says the rest (reqwest and serde_json errors are never in a
//! public signature). What Salesforce returned is in [`Error::api_errors`]; a statement refused
//! before sending carries its diagnostics and code frame ([`Error::query_diagnostics`],
//! [`Error::code_frame`]); a Bulk ingest that fails after opening jobs names them
//! ([`Error::bulk_jobs`]).
//!
//! Per-record failures in batch work (collections, Bulk results) are not errors: they are data
//! in the results, so one bad row never hides the others.

use std::fmt;

use crate::bulk::StartedJob;

/// What kind of failure an [`Error`] is. Whether anything reached the org is a separate
/// question: [`Error::is_not_sent`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Refused by the client before sending: invalid input, a read-only client asked to write,
    /// a request that cannot be built, or a configuration the client cannot use. The request
    /// this error is about never left; for work of several requests (a Bulk ingest) earlier
    /// ones may have, which [`Error::is_not_sent`] and [`Error::bulk_jobs`] tell.
    NotSent,
    /// A SOQL or SOSL statement that is not valid (or is longer than Salesforce accepts), found
    /// before sending it: nothing was sent. [`Error::query_diagnostics`] and
    /// [`Error::code_frame`] say where; `Query::unchecked` sends a statement the org accepts but
    /// forcebridge's parser does not.
    InvalidQuery,
    /// Reading the input or writing the output the caller gave failed: a file, a reader, a
    /// record source or a sink. [`Error::is_not_sent`] says whether requests had been sent by
    /// then.
    Io,
    /// Logging in or refreshing the session failed, or the org refused the session.
    Auth,
    /// The API quota: the org answered `REQUEST_LIMIT_EXCEEDED`, or the client's own budget
    /// refused to send (see [`crate::ClientBuilder::api_budget`]).
    Limit,
    /// Salesforce answered with an error; its `errorCode`, message and fields are in
    /// [`Error::api_errors`].
    Api,
    /// The connection failed, was cut, or timed out (after any retries the policy allows). A
    /// connection that could not be made is a `Transport` error too (the org is unreachable),
    /// but then [`Error::is_not_sent`] is true.
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
    /// Whether nothing of the work reached the org.
    nothing_sent: bool,
    /// The diagnostics of a refused statement, and their code frame.
    statement: Option<(Vec<forcebridge_soql::Diagnostic>, String)>,
    bulk_jobs: Vec<StartedJob>,
    /// Whether the connection failed because the server's TLS certificate was refused.
    certificate: bool,
    /// A resumed ingest found the record of another load.
    other_load: bool,
}

impl Error {
    /// An error of `kind`. It counts as nothing sent when the kind says so (`NotSent`,
    /// `InvalidQuery`); the request path marks the rest.
    pub(crate) fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error {
            inner: Box::new(Inner {
                kind,
                message: message.into(),
                status: None,
                api_errors: Vec::new(),
                source: None,
                nothing_sent: matches!(kind, ErrorKind::NotSent | ErrorKind::InvalidQuery),
                statement: None,
                bulk_jobs: Vec::new(),
                certificate: false,
                other_load: false,
            }),
        }
    }

    pub(crate) fn not_sent(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::NotSent, message)
    }

    /// A local read or write that failed, before anything was sent (the caller of a longer
    /// run marks it sent when requests went out before).
    pub(crate) fn io(
        message: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Error {
        Error::new(ErrorKind::Io, message)
            .with_source(source)
            .nothing_sent()
    }

    /// A statement refused before sending, with its diagnostics and their code frame.
    pub(crate) fn invalid_statement(
        message: String,
        diagnostics: Vec<forcebridge_soql::Diagnostic>,
        code_frame: String,
    ) -> Error {
        let mut error = Error::new(ErrorKind::InvalidQuery, message);
        error.inner.statement = Some((diagnostics, code_frame));
        error
    }

    /// Records that nothing of the work reached the org.
    pub(crate) fn nothing_sent(mut self) -> Error {
        self.inner.nothing_sent = true;
        self
    }

    /// Records that requests of the work reached (or may have reached) the org.
    pub(crate) fn sent(mut self) -> Error {
        self.inner.nothing_sent = false;
        self
    }

    /// Names the Bulk jobs the failed work had opened; they were sent, so the error no longer
    /// counts as nothing sent.
    pub(crate) fn with_bulk_jobs(mut self, jobs: Vec<StartedJob>) -> Error {
        if !jobs.is_empty() {
            self.inner.nothing_sent = false;
        }
        self.inner.bulk_jobs = jobs;
        self
    }

    /// Marks a connection that failed because the server's TLS certificate was refused.
    pub(crate) fn certificate_refused(mut self) -> Error {
        self.inner.certificate = true;
        self
    }

    /// Marks a resumed ingest refused because its results directory records another load.
    pub(crate) fn other_load(mut self) -> Error {
        self.inner.other_load = true;
        self
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

    /// Whether nothing of the work reached the org, so trying again cannot do it twice: the
    /// client refused it, a statement was invalid, or no connection could be made (a
    /// [`ErrorKind::Transport`] error that is still "not sent"). False once any request of it
    /// was sent, even if the org then refused it, and for a Bulk ingest that had opened jobs
    /// ([`Error::bulk_jobs`]). Logging in does not count: a login that fails before the request
    /// leaves it not sent.
    pub fn is_not_sent(&self) -> bool {
        self.inner.nothing_sent
    }

    /// Whether no connection could be made because the server's TLS certificate was refused:
    /// it is not signed by an authority this client trusts (a local org's own authority, a
    /// company proxy's), it has expired, or it names another host. Such an error is a
    /// [`ErrorKind::Transport`] error that sent nothing, and it is never retried, since no wait
    /// fixes it. To trust a private authority, give its certificate to
    /// [`ClientBuilder::add_root_certificate_file`](crate::ClientBuilder::add_root_certificate_file).
    pub fn is_certificate_error(&self) -> bool {
        self.inner.certificate
    }

    /// The problems of a SOQL or SOSL statement refused before sending
    /// ([`ErrorKind::InvalidQuery`]), in text order, with spans into the statement; empty for
    /// other errors.
    pub fn query_diagnostics(&self) -> &[forcebridge_soql::Diagnostic] {
        self.inner
            .statement
            .as_ref()
            .map_or(&[], |(diagnostics, _)| diagnostics.as_slice())
    }

    /// The refused statement's problems as code frames (the message, the position, the line
    /// with a caret under the problem), ready to print; `None` for other errors. A long line is
    /// shown as a window around the caret, and at most the first five problems are shown, so
    /// the frame never echoes a huge statement.
    pub fn code_frame(&self) -> Option<&str> {
        self.inner
            .statement
            .as_ref()
            .map(|(_, frame)| frame.as_str())
    }

    /// The Bulk jobs a failed ingest had opened, in the order it opened them, with their last
    /// known states. Resume or abort them by id (`Bulk::ingest_job`) rather than loading their
    /// rows a second time. Empty for other errors.
    pub fn bulk_jobs(&self) -> &[StartedJob] {
        &self.inner.bulk_jobs
    }

    /// Whether a resumed Bulk ingest (`IngestBuilder::resuming`) was refused because its
    /// results directory records another load: another object, operation or input file, or
    /// input read from a stream. Nothing was sent ([`ErrorKind::NotSent`]).
    pub fn is_other_load(&self) -> bool {
        self.inner.other_load
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
        out.field("nothing_sent", &self.inner.nothing_sent);
        if self.inner.certificate {
            out.field("certificate", &true);
        }
        if let Some((diagnostics, _)) = &self.inner.statement {
            out.field("query_diagnostics", diagnostics);
        }
        if !self.inner.bulk_jobs.is_empty() {
            out.field("bulk_jobs", &self.inner.bulk_jobs);
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
