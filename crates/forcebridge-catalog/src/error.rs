//! The crate's one error type. It never repeats its source in `Display`: the client's error (a
//! failed request) or the database driver's is reached through `source()`.

use std::fmt;

/// What went wrong, and so what a caller can do about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A request to the org failed; the source is the client's error, whose own `kind()` tells
    /// an auth failure, a spent API budget or limit, a refused request or a network problem.
    Org,
    /// The caller asked for something invalid (a bad pattern, an unknown object to start a
    /// diagram from, a depth of zero); nothing was sent.
    InvalidInput,
    /// A catalog document could not be read: not JSON, another format, or a version this
    /// crate does not know.
    Document,
    /// Writing the catalog tables failed; the source is the database driver's error.
    Database,
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

    pub(crate) fn invalid(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::InvalidInput, message)
    }

    pub(crate) fn org(message: impl Into<String>, source: forcebridge_client::Error) -> Error {
        Error::new(ErrorKind::Org, message).with_source(source)
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        self.kind
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
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}
