//! The crate's one error type.

use std::fmt;
use std::path::Path;

/// What went wrong, broadly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// No connection by that name, or none configured.
    NotFound,
    /// A setting or a stored file is wrong; the message says which and where.
    Invalid,
    /// A secret the flow needs is neither stored nor in the environment.
    MissingSecret,
    /// Reading or writing a file failed.
    Io,
    /// The org refused the credentials, or could not be reached to check them. The source is
    /// the client's error.
    Client,
}

/// An error about connections.
#[derive(Debug, thiserror::Error)]
pub struct Error {
    kind: ErrorKind,
    message: String,
    #[source]
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The client error behind a [`ErrorKind::Client`] error.
    pub fn client_error(&self) -> Option<&forcebridge_client::Error> {
        self.source.as_ref()?.downcast_ref()
    }

    /// Wraps a client error (building a client from a profile, for example).
    pub fn from_client(source: forcebridge_client::Error) -> Error {
        Error::client("the connection cannot be used", source)
    }

    pub(crate) fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error {
            kind,
            message: message.into(),
            source: None,
        }
    }

    pub(crate) fn invalid(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::Invalid, message)
    }

    pub(crate) fn io(path: &Path, action: &str, source: std::io::Error) -> Error {
        Error {
            kind: ErrorKind::Io,
            message: format!("cannot {action} {}: {source}", path.display()),
            source: Some(Box::new(source)),
        }
    }

    pub(crate) fn client(context: impl Into<String>, source: forcebridge_client::Error) -> Error {
        Error {
            kind: ErrorKind::Client,
            message: context.into(),
            source: Some(Box::new(source)),
        }
    }
}
