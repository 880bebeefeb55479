//! The crate's one error type.

use std::fmt;

/// What went wrong while writing rows.
#[derive(Debug)]
#[non_exhaustive]
pub struct Error {
    kind: ErrorKind,
    message: String,
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

/// What a caller can do about an [`Error`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The output could not be written (a full disk, a closed pipe: the `std::io::Error` is
    /// the error's `source`). What was written before stays written.
    Io,
    /// A record is not a JSON object as Salesforce writes records.
    InvalidRecord,
}

/// A `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// What kind of error this is.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    pub(crate) fn invalid_record(error: Option<serde_json::Error>) -> Error {
        Error {
            kind: ErrorKind::InvalidRecord,
            message: "a record is not a JSON object".into(),
            source: error.map(|e| Box::new(e) as _),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_deref().map(|e| e as _)
    }
}

impl From<std::io::Error> for Error {
    fn from(error: std::io::Error) -> Error {
        Error {
            kind: ErrorKind::Io,
            message: "cannot write the output".into(),
            source: Some(Box::new(error)),
        }
    }
}
