//! The crate's one error type. `Display` names the object, field and row where it knows them,
//! and never repeats its source (the client's or the database driver's error, reached through
//! `source()`).

use std::fmt;

/// What went wrong, and so what a caller can do about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The configuration is invalid (an unknown object, a bad filter or pattern, a bad
    /// destination); nothing was sent to the org and nothing written.
    Config,
    /// A request to the org failed; the source is the client's error, whose own `kind()` tells
    /// an auth failure, a refused request or a network problem.
    Org,
    /// The destination database failed; the source is the driver's error.
    Destination,
    /// A push's source (a file, a table, a query) could not be read; nothing more was sent.
    Source,
    /// A push refused to start: the connection is read-only, or a mirror would delete more
    /// than allowed. Nothing was sent.
    Refused,
    /// A push refused to start because its forecast of API calls is over the budget. Nothing
    /// was sent.
    Budget,
}

/// An error of this crate: a kind, a message that names the thing, and maybe a source.
#[derive(Debug)]
pub struct Error {
    kind: ErrorKind,
    message: String,
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error {
            kind,
            message: message.into(),
            source: None,
        }
    }

    pub(crate) fn with_source(
        mut self,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Error {
        self.source = Some(Box::new(source));
        self
    }

    pub(crate) fn config(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::Config, message)
    }

    pub(crate) fn org(message: impl Into<String>, source: forcebridge_client::Error) -> Error {
        Error::new(ErrorKind::Org, message).with_source(source)
    }

    pub(crate) fn sqlite(message: impl Into<String>, source: rusqlite::Error) -> Error {
        Error::new(ErrorKind::Destination, message).with_source(source)
    }

    pub(crate) fn postgres(message: impl Into<String>, source: tokio_postgres::Error) -> Error {
        Error::new(ErrorKind::Destination, message).with_source(source)
    }

    pub(crate) fn refused(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::Refused, message)
    }

    pub(crate) fn budget(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::Budget, message)
    }

    pub(crate) fn destination(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::Destination, message)
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The client's error, when a request to the org failed.
    pub fn client_error(&self) -> Option<&forcebridge_client::Error> {
        self.source.as_ref()?.downcast_ref()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_ref()
            .map(|e| e.as_ref() as &(dyn std::error::Error + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_does_not_repeat_the_source() {
        let source = rusqlite::Error::InvalidQuery;
        let error = Error::sqlite("cannot write Account record 001000000000001AAA", source);
        assert_eq!(
            error.to_string(),
            "cannot write Account record 001000000000001AAA"
        );
        assert!(std::error::Error::source(&error).is_some());
        assert_eq!(error.kind(), ErrorKind::Destination);
    }
}
