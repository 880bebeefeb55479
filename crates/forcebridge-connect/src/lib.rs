//! Named Salesforce connections.
//!
//! A connection is a [`Profile`] (how to log in, where, which API version, read-only or not:
//! nothing secret) plus its [`Secrets`] (consumer secret, password, refresh token, private
//! key, access token). They are kept apart: profiles in `connections.toml` under the user's
//! config directory; secrets in the OS keychain when one is available (with the `keychain`
//! feature: the Secret Service on Linux) and otherwise in `secrets.toml` under the user's data
//! directory, created with mode 0600 and replaced atomically. `FORCEBRIDGE_*` environment
//! variables can supply any secret instead, for CI.
//!
//! ```no_run
//! # async fn demo() -> forcebridge_connect::Result<()> {
//! use forcebridge_connect::{Connections, EnvSecrets, Paths};
//!
//! let connections = Connections::open(Paths::user()?, EnvSecrets::from_env());
//! let name = connections.resolve_name(None)?; // the default connection
//! let (_profile, builder) = connections.client_builder(&name)?;
//! let client = builder.build().map_err(|e| forcebridge_connect::Error::from_client(e))?;
//! # let _ = client; Ok(()) }
//! ```
//!
//! Saving a connection never checks it; [`Connections::add`] checks first (a real token
//! request, see [`check`]) and saves only what logged in. When a login fails,
//! [`Error::login_hint`] (or [`login_hint`]) says what to check.

mod error;
mod hints;
mod keychain;
mod profile;
mod secrets;
mod store;

pub use error::{Error, ErrorKind, Result};
pub use hints::login_hint;
pub use keychain::Keychain;
pub use profile::{Flow, Profile, SecretLocation, Verified, parse_login_url, validate_name};
pub use secrets::{EnvSecrets, SecretKind, SecretStore, Secrets};
pub use store::{Check, Connections, Listing, Paths, check, client_builder, credentials};
