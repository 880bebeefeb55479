//! Integration tests of `forcebridge-connect` against a local org running in this process, one
//! module per area. Secrets always go to the 0600 file: no test needs, or touches, a keychain,
//! and no test reads or changes the process environment (environment variables are handed in
//! through `Config::from_lookup`).

mod hints;
#[cfg(feature = "local-org")]
mod local;
mod login;
mod select;
mod session;
mod store;
mod support;
