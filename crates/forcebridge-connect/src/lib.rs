//! Named Salesforce connections, and choosing and opening the one to use.
//!
//! A connection is a [`Profile`] (how to log in, where, which API version, read-only or not:
//! nothing secret) plus its [`Secrets`] (consumer secret, password, refresh token, private
//! key, access token). They are kept apart: profiles in `connections.toml` under the user's
//! config directory; secrets in the OS keychain when one is available (with the `keychain`
//! feature: the Secret Service on Linux) and otherwise in `secrets.toml` under the user's data
//! directory, created with mode 0600 and replaced atomically. `FORCEBRIDGE_*` environment
//! variables can supply any secret instead, for CI.
//!
//! Everything a front end needs to pick and use a connection is here, so the CLI, a web
//! service and an MCP server open connections alike: [`Connections::from_env`] (or
//! [`Connections::from_config`] for a server that must not follow the process environment),
//! a [`Target`], and [`Connections::connect`], which returns a [`Connection`]. When a login
//! fails, [`Error::login_hint`] (or [`login_hint`]) says what to check.
//!
//! ```no_run
//! # async fn demo() -> forcebridge_connect::Result<()> {
//! use forcebridge_connect::{Connections, Target};
//!
//! let connections = Connections::from_env()?;
//! let connection = connections.connect(&Target::Default).await?;
//! connection.login().await?;
//! let accounts = connection.client().query("SELECT Id FROM Account").fetch_all().await;
//! # let _ = accounts; Ok(()) }
//! ```
//!
//! Saving a connection never checks it; [`Connections::add`] checks first (a real token
//! request, see [`check`]) and saves only what logged in, and never replaces a saved one
//! ([`Connections::add_or_replace`] does, [`Connections::reauthorize`] logs in again with a
//! saved one's settings). A connection from the Salesforce CLI is read from its auth URL
//! ([`SfdxAuthUrl`]).
//!
//! A connection logs in once, not on every use: the session it gets is kept with its secrets
//! (the secrets file or the keychain) and the next client built for it
//! ([`Connections::client_builder`], [`Connections::connect`]) starts from it, logging in only
//! when it is missing, known to have expired, or refused by the org. A kept session serves only
//! the settings and user it was issued for ([`Connections::cached_session`] says what may be
//! shown of it: never the token).
//!
//! # Features
//!
//! | feature | what it adds |
//! | --- | --- |
//! | `keychain` | the OS keychain as a secret store ([`Keychain`]); without it, secrets go to the 0600 file |
//! | `local-org` | [`Target::Local`]: a local org (`forcebridge-emulator`) started in this process |

mod config;
mod error;
mod hints;
mod keychain;
mod profile;
mod secrets;
mod session;
mod sfdx;
mod store;
mod target;

pub use config::{Config, SecretStoreChoice};
pub use error::{Error, ErrorKind, Result};
pub use hints::login_hint;
pub use keychain::Keychain;
pub use profile::{Flow, Profile, SecretLocation, Verified, parse_login_url, validate_name};
pub use secrets::{EnvSecrets, SecretKind, SecretStore, Secrets};
pub use session::SessionInfo;
pub use sfdx::{SALESFORCE_CLI_CLIENT_ID, SfdxAuthUrl};
pub use store::{
    Check, Connections, Listing, Paths, WEB_SCOPES, check, client_builder, credentials, web_flow,
};
#[cfg(feature = "local-org")]
pub use target::LocalOrgOptions;
pub use target::{Connection, Target};
