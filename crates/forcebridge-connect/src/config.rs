//! Where the saved connections are and how they are used: from the process environment
//! (`FORCEBRIDGE_HOME`, `FORCEBRIDGE_SECRETS`, `FORCEBRIDGE_CONNECTION` and the secret
//! variables), or from an explicit [`Config`] for a server that must not follow the
//! environment. This module reads variables; it does not open files or the keychain.

use std::fmt;
use std::str::FromStr;

use crate::error::{Error, Result};
use crate::keychain::Keychain;
use crate::secrets::{EnvSecrets, SecretKind};
use crate::store::{Connections, Paths};

/// The variable naming the directory that holds `connections.toml` and `secrets.toml`.
const HOME_VAR: &str = "FORCEBRIDGE_HOME";
/// The variable choosing where new secrets go.
const SECRETS_VAR: &str = "FORCEBRIDGE_SECRETS";
/// The variable naming the connection to use when none is named.
const CONNECTION_VAR: &str = "FORCEBRIDGE_CONNECTION";

/// How to find and use the saved connections. [`Config::from_env`] fills it from the process
/// environment as the CLI does; a server builds it by hand to follow its own settings only.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where profiles and secrets are kept (`FORCEBRIDGE_HOME`, else [`Paths::user`]).
    pub paths: Paths,
    /// Where newly saved secrets go (`FORCEBRIDGE_SECRETS`).
    pub secret_store: SecretStoreChoice,
    /// Secrets that override the stored ones for every connection (`FORCEBRIDGE_PASSWORD`,
    /// ...); [`EnvSecrets::default`] for none.
    pub env_secrets: EnvSecrets,
    /// The connection to use when none is named, before the default one
    /// (`FORCEBRIDGE_CONNECTION`); `None` goes straight to the default.
    pub env_connection: Option<String>,
}

/// Where newly saved secrets go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretStoreChoice {
    /// The 0600 secrets file, always.
    File,
    /// The OS keychain; opening the connections fails when it cannot be used.
    Keychain,
    /// The OS keychain when one answers, else the secrets file.
    Auto,
}

impl SecretStoreChoice {
    /// The word `FORCEBRIDGE_SECRETS` uses: `file`, `keychain` or `auto`.
    pub fn as_str(self) -> &'static str {
        match self {
            SecretStoreChoice::File => "file",
            SecretStoreChoice::Keychain => "keychain",
            SecretStoreChoice::Auto => "auto",
        }
    }
}

impl fmt::Display for SecretStoreChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SecretStoreChoice {
    type Err = Error;

    fn from_str(text: &str) -> Result<SecretStoreChoice> {
        match text {
            "file" => Ok(SecretStoreChoice::File),
            "keychain" => Ok(SecretStoreChoice::Keychain),
            "auto" => Ok(SecretStoreChoice::Auto),
            _ => Err(Error::invalid(format!(
                "unknown secret store {text:?}: expected file, keychain or auto"
            ))),
        }
    }
}

impl Config {
    /// The configuration the process environment gives: `FORCEBRIDGE_HOME` (else the user's
    /// directories), `FORCEBRIDGE_SECRETS` (`file`, `keychain` or `auto`, the default),
    /// `FORCEBRIDGE_CONNECTION` and the secret variables. An empty variable counts as unset;
    /// a value that is not UTF-8, or an unknown `FORCEBRIDGE_SECRETS`, is an error naming the
    /// variable.
    pub fn from_env() -> Result<Config> {
        let names = [HOME_VAR, SECRETS_VAR, CONNECTION_VAR]
            .into_iter()
            .chain(SecretKind::ALL.map(SecretKind::env_var));
        for name in names {
            if let Err(std::env::VarError::NotUnicode(_)) = std::env::var(name) {
                return Err(Error::invalid(format!("{name} is not valid UTF-8")));
            }
        }
        Config::from_lookup(|name| std::env::var(name).ok())
    }

    /// The same, with the variables read through `lookup` instead of the process environment
    /// (tests, embedders).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config> {
        let var = |name: &str| lookup(name).filter(|value| !value.is_empty());
        let paths = match var(HOME_VAR) {
            Some(dir) => Paths::in_dir(dir),
            None => Paths::user()?,
        };
        let secret_store = match var(SECRETS_VAR) {
            None => SecretStoreChoice::Auto,
            Some(value) => value.parse().map_err(|_| {
                Error::invalid(format!(
                    "{SECRETS_VAR}={value:?} is not a secret store: expected file, keychain or auto"
                ))
            })?,
        };
        Ok(Config {
            paths,
            secret_store,
            env_secrets: EnvSecrets::from_lookup(&lookup),
            env_connection: var(CONNECTION_VAR),
        })
    }
}

impl Connections {
    /// The connections the process environment selects (see [`Config::from_env`]).
    pub fn from_env() -> Result<Connections> {
        Connections::from_config(Config::from_env()?)
    }

    /// The connections `config` describes. With [`SecretStoreChoice::Auto`] this tries the
    /// OS keychain (a test write) and falls back to the secrets file; with
    /// [`SecretStoreChoice::Keychain`] a keychain that cannot be used is an error.
    pub fn from_config(config: Config) -> Result<Connections> {
        let keychain = match config.secret_store {
            SecretStoreChoice::File => None,
            SecretStoreChoice::Keychain => Some(Keychain::open().map_err(|e| {
                Error::with_source(
                    crate::ErrorKind::Invalid,
                    format!(
                        "the secret store is `keychain` ({SECRETS_VAR}), but the OS keychain cannot be used"
                    ),
                    e,
                )
            })?),
            SecretStoreChoice::Auto => match Keychain::open() {
                Ok(keychain) => Some(keychain),
                Err(why) => {
                    tracing::debug!(reason = %why, "no OS keychain: secrets go to the secrets file");
                    None
                }
            },
        };
        Ok(Connections::open(config.paths, config.env_secrets)
            .with_keychain(keychain)
            .with_env_connection(config.env_connection))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(vars: &[(&str, &str)]) -> Result<Config> {
        Config::from_lookup(|name| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.to_string())
        })
    }

    #[test]
    fn the_variables_choose_the_directory_the_store_and_the_connection() {
        let config = config(&[
            ("FORCEBRIDGE_HOME", "/tmp/fb"),
            ("FORCEBRIDGE_SECRETS", "file"),
            ("FORCEBRIDGE_CONNECTION", "prod"),
            ("FORCEBRIDGE_PASSWORD", "pw"),
        ])
        .unwrap();
        assert_eq!(config.paths, Paths::in_dir("/tmp/fb"));
        assert_eq!(config.secret_store, SecretStoreChoice::File);
        assert_eq!(config.env_connection.as_deref(), Some("prod"));
        assert!(
            config
                .env_secrets
                .secrets()
                .get(SecretKind::Password)
                .is_some()
        );
    }

    #[test]
    fn empty_variables_count_as_unset() {
        let config = config(&[
            ("FORCEBRIDGE_HOME", "/tmp/fb"),
            ("FORCEBRIDGE_SECRETS", ""),
            ("FORCEBRIDGE_CONNECTION", ""),
        ])
        .unwrap();
        assert_eq!(config.secret_store, SecretStoreChoice::Auto);
        assert_eq!(config.env_connection, None);
    }

    #[test]
    fn an_unknown_secret_store_names_the_variable_and_the_choices() {
        let error = config(&[
            ("FORCEBRIDGE_HOME", "/tmp/fb"),
            ("FORCEBRIDGE_SECRETS", "vault"),
        ])
        .unwrap_err();
        assert_eq!(error.kind(), crate::ErrorKind::Invalid);
        assert_eq!(
            error.to_string(),
            "FORCEBRIDGE_SECRETS=\"vault\" is not a secret store: expected file, keychain or auto"
        );
    }
}
