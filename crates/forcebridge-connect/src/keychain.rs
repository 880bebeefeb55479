//! The OS keychain as a secret store: one item per connection (service `forcebridge`, account =
//! the connection name) holding its secrets, and one for its kept session, if any (account
//! `NAME~session`; `~` never appears in a connection name).
//!
//! On Linux this is the Secret Service (GNOME Keyring, KWallet) over D-Bus, which needs a
//! session bus and an unlocked collection: on servers and in containers there is usually none,
//! and [`Keychain::open`] says so, so callers fall back to the 0600 file. On macOS it is the
//! login Keychain, on Windows the Credential Manager. Builds without the `keychain` feature
//! have no keychain.

use std::collections::BTreeMap;

use forcebridge_client::{ExposeSecret, SecretString};

use crate::error::{Error, ErrorKind, Result};
use crate::secrets::{SecretKind, Secrets};
use crate::session::SessionRecord;

/// The keychain service name every forcebridge item is filed under.
pub(crate) const SERVICE: &str = "forcebridge";

/// An available OS keychain.
#[derive(Debug, Clone)]
pub struct Keychain {
    _private: (),
}

impl Keychain {
    /// Connects to the OS keychain and checks that it answers; an error says why it cannot be
    /// used (no session bus, no Secret Service, a locked collection, ...).
    pub fn open() -> Result<Keychain> {
        imp::open()?;
        Ok(Keychain { _private: () })
    }

    /// The secrets of connection `name` (none if it has none).
    pub fn load(&self, name: &str) -> Result<Secrets> {
        let mut secrets = Secrets::default();
        let Some(text) = imp::get(name)? else {
            return Ok(secrets);
        };
        let values: BTreeMap<SecretKind, String> = toml::from_str(&text).map_err(|_| {
            Error::invalid(format!(
                "the keychain item of connection {name:?} (service {SERVICE}) is not one forcebridge wrote"
            ))
        })?;
        for (kind, value) in values {
            secrets.set(kind, SecretString::from(value));
        }
        Ok(secrets)
    }

    /// Replaces the secrets of connection `name`; with none, removes its item.
    pub fn save(&self, name: &str, secrets: &Secrets) -> Result<()> {
        if secrets.is_empty() {
            return self.remove(name);
        }
        let values = secrets
            .kinds()
            .filter_map(|kind| {
                secrets
                    .get(kind)
                    .map(|v| (kind, v.expose_secret().to_string()))
            })
            .collect::<BTreeMap<_, _>>();
        let text = toml::to_string(&values)
            .map_err(|e| Error::invalid(format!("cannot encode the secrets: {e}")))?;
        imp::set(name, &text)
    }

    /// Removes the items of connection `name` (its secrets and its kept session), if there
    /// are any.
    pub fn remove(&self, name: &str) -> Result<()> {
        imp::delete(name)?;
        imp::delete(&session_account(name))
    }

    /// The kept session of connection `name`, if it has one.
    pub(crate) fn load_session(&self, name: &str) -> Result<Option<SessionRecord>> {
        let Some(text) = imp::get(&session_account(name))? else {
            return Ok(None);
        };
        toml::from_str(&text).map(Some).map_err(|_| {
            Error::invalid(format!(
                "the keychain item of connection {name:?}'s session (service {SERVICE}) is not one forcebridge wrote"
            ))
        })
    }

    /// Keeps `record` as the session of connection `name`.
    pub(crate) fn save_session(&self, name: &str, record: &SessionRecord) -> Result<()> {
        let text = toml::to_string(record)
            .map_err(|e| Error::invalid(format!("cannot encode the session: {e}")))?;
        imp::set(&session_account(name), &text)
    }

    /// Forgets the kept session of connection `name`, if it has one.
    pub(crate) fn remove_session(&self, name: &str) -> Result<()> {
        imp::delete(&session_account(name))
    }
}

/// The account of connection `name`'s kept session.
fn session_account(name: &str) -> String {
    format!("{name}~session")
}

fn unavailable(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::Invalid, message)
}

#[cfg(all(
    feature = "keychain",
    any(target_os = "linux", target_os = "macos", windows)
))]
mod imp {
    use std::sync::OnceLock;

    use keyring_core::{Entry, Error as KeyringError};

    use super::{SERVICE, unavailable};
    use crate::error::Result;

    /// Whether the store was set up, once per process (the default store is global).
    static STORE: OnceLock<std::result::Result<(), String>> = OnceLock::new();

    pub(super) fn open() -> Result<()> {
        let ready = STORE.get_or_init(|| {
            keyring_core::set_default_store(platform_store()?);
            // Only a write proves the default collection exists and is unlocked.
            let probe = Entry::new(SERVICE, "~availability-check")
                .and_then(|e| e.set_password("ok").map(|()| e))
                .and_then(|e| e.delete_credential());
            probe.map_err(|e| {
                format!(
                    "the keychain did not accept a test item (on Linux: is a default collection unlocked?): {}",
                    describe(&e)
                )
            })
        });
        ready.clone().map_err(unavailable)
    }

    #[cfg(target_os = "linux")]
    fn platform_store() -> std::result::Result<std::sync::Arc<keyring_core::CredentialStore>, String>
    {
        if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_none() {
            return Err("no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS is not set)".into());
        }
        let store = zbus_secret_service_keyring_store::Store::new()
            .map_err(|e| format!("the Secret Service is not available: {}", describe(&e)))?;
        Ok(store)
    }

    #[cfg(target_os = "macos")]
    fn platform_store() -> std::result::Result<std::sync::Arc<keyring_core::CredentialStore>, String>
    {
        let store = apple_native_keyring_store::keychain::Store::new()
            .map_err(|e| format!("the Keychain is not available: {}", describe(&e)))?;
        Ok(store)
    }

    #[cfg(windows)]
    fn platform_store() -> std::result::Result<std::sync::Arc<keyring_core::CredentialStore>, String>
    {
        let store = windows_native_keyring_store::Store::new()
            .map_err(|e| format!("the Credential Manager is not available: {}", describe(&e)))?;
        Ok(store)
    }

    pub(super) fn get(name: &str) -> Result<Option<String>> {
        open()?;
        match entry(name)?.get_password() {
            Ok(text) => Ok(Some(text)),
            Err(KeyringError::NoEntry) => Ok(None),
            Err(e) => Err(failed("read", name, &e)),
        }
    }

    pub(super) fn set(name: &str, text: &str) -> Result<()> {
        open()?;
        entry(name)?
            .set_password(text)
            .map_err(|e| failed("write", name, &e))
    }

    pub(super) fn delete(name: &str) -> Result<()> {
        open()?;
        match entry(name)?.delete_credential() {
            Ok(()) | Err(KeyringError::NoEntry) => Ok(()),
            Err(e) => Err(failed("delete", name, &e)),
        }
    }

    fn entry(name: &str) -> Result<Entry> {
        Entry::new(SERVICE, name).map_err(|e| failed("open", name, &e))
    }

    fn failed(action: &str, name: &str, e: &KeyringError) -> crate::error::Error {
        unavailable(format!(
            "cannot {action} the keychain item of connection {name:?}: {}",
            describe(e)
        ))
    }

    /// A keyring error in words, never with the bytes some variants carry (they can be a
    /// secret that failed to decode).
    fn describe(e: &KeyringError) -> String {
        match e {
            KeyringError::BadEncoding(_) => "the item is not text".to_string(),
            KeyringError::BadDataFormat(..) => {
                "the item's data is not in the expected format".to_string()
            }
            KeyringError::PlatformFailure(inner) | KeyringError::NoStorageAccess(inner) => {
                inner.to_string()
            }
            other => other.to_string(),
        }
    }
}

#[cfg(not(all(
    feature = "keychain",
    any(target_os = "linux", target_os = "macos", windows)
)))]
mod imp {
    use super::unavailable;
    use crate::error::Result;

    fn none<T>() -> Result<T> {
        Err(unavailable(
            "this build of forcebridge has no OS keychain support on this platform",
        ))
    }

    pub(super) fn open() -> Result<()> {
        none()
    }

    pub(super) fn get(_name: &str) -> Result<Option<String>> {
        none()
    }

    pub(super) fn set(_name: &str, _text: &str) -> Result<()> {
        none()
    }

    pub(super) fn delete(_name: &str) -> Result<()> {
        none()
    }
}
