//! The crate's one error type. It never holds a secret: messages name settings, files and
//! variables, never their values.

use std::fmt;
use std::path::Path;

/// What went wrong, broadly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// No connection by that name, or none configured; the message lists the saved ones.
    NotFound,
    /// A connection by that name is already saved, and adding one would replace it (see
    /// [`Connections::add_or_replace`](crate::Connections::add_or_replace)).
    Exists,
    /// A setting, an environment variable or a stored file is wrong; the message says which
    /// and where.
    Invalid,
    /// A secret the flow needs is neither stored nor in the environment.
    MissingSecret,
    /// Reading or writing a file failed.
    Io,
    /// The org refused the credentials, or could not be reached to check them. The source is
    /// the client's error, and [`Error::login_hint`] may say what to check.
    Client,
    /// The in-process local org could not be started (feature `local-org`). The source says
    /// why.
    LocalOrg,
}

/// An error about connections.
#[derive(Debug, thiserror::Error)]
pub struct Error {
    kind: ErrorKind,
    message: String,
    hint: Option<&'static str>,
    #[source]
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The client error behind a [`ErrorKind::Client`] error.
    pub fn client_error(&self) -> Option<&forcebridge_client::Error> {
        self.source.as_ref()?.downcast_ref()
    }

    /// What to check when a login failed: set on the errors of [`check`](crate::check),
    /// [`Connections::add`](crate::Connections::add) and
    /// [`Connection::login`](crate::Connection::login) when the org's answer says something
    /// (see [`login_hint`](crate::login_hint)). It is not part of the message.
    pub fn login_hint(&self) -> Option<&'static str> {
        self.hint
    }

    /// Wraps a client error (building a client from a profile, for example).
    pub fn from_client(source: forcebridge_client::Error) -> Error {
        Error::client("the connection cannot be used", source)
    }

    pub(crate) fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error {
            kind,
            message: message.into(),
            hint: None,
            source: None,
        }
    }

    pub(crate) fn invalid(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::Invalid, message)
    }

    pub(crate) fn io(path: &Path, action: &str, source: std::io::Error) -> Error {
        Error {
            kind: ErrorKind::Io,
            message: format!("cannot {action} {}", path.display()),
            hint: None,
            source: Some(Box::new(source)),
        }
    }

    pub(crate) fn client(context: impl Into<String>, source: forcebridge_client::Error) -> Error {
        Error::with_source(ErrorKind::Client, context, source)
    }

    /// A failed login with `flow`: the client's error as the source, and what to check.
    pub(crate) fn login(
        context: impl Into<String>,
        flow: crate::Flow,
        source: forcebridge_client::Error,
    ) -> Error {
        let hint = crate::hints::login_hint(flow, &source);
        let mut error = Error::client(context, source);
        error.hint = hint;
        error
    }

    pub(crate) fn with_source(
        kind: ErrorKind,
        message: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Error {
        Error {
            kind,
            message: message.into(),
            hint: None,
            source: Some(Box::new(source)),
        }
    }
}
