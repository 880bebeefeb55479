//! The one error type of this crate's API: why an org could not start, why an org file does not
//! read, why a control-surface call was refused.
//!
//! It is not how the org answers HTTP requests: those failures are Salesforce-shaped responses
//! (see `api_error`), which a client receives as data, never as this type.

use std::error::Error as StdError;
use std::fmt;

/// What went wrong, in terms of what the caller can do about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The configuration is wrong: an org file that does not read, an object, field or rule
    /// definition that does not fit (the message names the entry and the field), or settings
    /// that contradict each other. Fix the configuration.
    Config,
    /// The data directory cannot be used: another org holds it, it holds an org made with
    /// another schema, or its files cannot be read or written.
    DataDir,
    /// The HTTPS certificate could not be made, or its files written.
    Tls,
    /// The network or the file system failed (the address is taken, a file cannot be read).
    Io,
    /// A control-surface call was refused: an unknown object or record, a value the org does
    /// not accept (the message carries Salesforce's error code), or a change the org cannot
    /// make. Nothing was changed.
    Control,
    /// The org was asked to listen where other machines can connect while it would accept
    /// credentials anyone can know (the built-in, published ones): give it users and an app of
    /// its own, listen on a loopback address, or set `Config::insecure_public`. The message says
    /// what was found and what to add. Nothing was started.
    Exposed,
}

/// An error from this crate's API. The message says what failed and names the thing; the
/// underlying cause, when there is one, is [`std::error::Error::source`].
#[non_exhaustive]
pub struct Error {
    kind: ErrorKind,
    message: String,
    source: Option<Box<dyn StdError + Send + Sync + 'static>>,
}

impl Error {
    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    pub(crate) fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error {
            kind,
            message: message.into(),
            source: None,
        }
    }

    pub(crate) fn with_source(
        kind: ErrorKind,
        message: impl Into<String>,
        source: impl StdError + Send + Sync + 'static,
    ) -> Error {
        Error {
            kind,
            message: message.into(),
            source: Some(Box::new(source)),
        }
    }

    pub(crate) fn config(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::Config, message)
    }

    pub(crate) fn control(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::Control, message)
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut debug = f.debug_struct("Error");
        debug
            .field("kind", &self.kind)
            .field("message", &self.message);
        if let Some(source) = &self.source {
            debug.field("source", source);
        }
        debug.finish()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl StdError for Error {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.source
            .as_deref()
            .map(|source| source as &(dyn StdError + 'static))
    }
}

impl From<crate::schema::SchemaError> for Error {
    fn from(error: crate::schema::SchemaError) -> Error {
        Error::config(format!("invalid schema: {error}"))
    }
}

impl From<crate::persist::PersistError> for Error {
    fn from(error: crate::persist::PersistError) -> Error {
        let message = error.to_string();
        match error.into_source() {
            Some(source) => Error::with_source(ErrorKind::DataDir, message, source),
            None => Error::new(ErrorKind::DataDir, message),
        }
    }
}

impl From<crate::tls::TlsError> for Error {
    fn from(error: crate::tls::TlsError) -> Error {
        let message = error.to_string();
        match error.into_source() {
            Some(source) => Error::with_source(ErrorKind::Tls, message, source),
            None => Error::new(ErrorKind::Tls, message),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_does_not_repeat_the_source() {
        let error = Error::with_source(
            ErrorKind::Io,
            "cannot listen on 127.0.0.1:1",
            std::io::Error::new(std::io::ErrorKind::AddrInUse, "address in use"),
        );
        assert_eq!(error.to_string(), "cannot listen on 127.0.0.1:1");
        assert_eq!(error.source().unwrap().to_string(), "address in use");
        assert_eq!(error.kind(), ErrorKind::Io);
        fn assert_bounds<T: Send + Sync + 'static>() {}
        assert_bounds::<Error>();
    }
}
