//! Which org a command talks to: a saved connection, or the built-in local org.

use std::path::PathBuf;

use anyhow::Context;
use forcebridge_client::{Client, LoginUrl, PasswordCredentials};
use forcebridge_connect::{Connections, EnvSecrets, Keychain, Paths};
use forcebridge_emulator::Emulator;

use crate::cli::GlobalArgs;

/// The saved connections: under `FORCEBRIDGE_HOME` when set, else the user's directories.
///
/// New secrets go to the OS keychain when one answers, else to the 0600 secrets file;
/// `FORCEBRIDGE_SECRETS=file` or `=keychain` decides instead (`keychain` fails when there is
/// none).
pub(crate) fn connections() -> anyhow::Result<Connections> {
    let paths = match std::env::var_os("FORCEBRIDGE_HOME") {
        Some(dir) if !dir.is_empty() => Paths::in_dir(PathBuf::from(dir)),
        _ => Paths::user()?,
    };
    let keychain = match std::env::var("FORCEBRIDGE_SECRETS").as_deref() {
        Ok("file") => None,
        Ok("keychain") => Some(
            Keychain::open()
                .context("FORCEBRIDGE_SECRETS=keychain, but the OS keychain cannot be used")?,
        ),
        Ok("auto") | Ok("") | Err(_) => match Keychain::open() {
            Ok(keychain) => Some(keychain),
            Err(why) => {
                tracing::debug!(reason = %why, "no OS keychain: secrets go to the secrets file");
                None
            }
        },
        Ok(other) => {
            return Err(crate::output::usage(format!(
                "FORCEBRIDGE_SECRETS={other:?}: expected file, keychain or auto"
            )));
        }
    };
    Ok(Connections::open(paths, EnvSecrets::from_env()).with_keychain(keychain))
}

/// A client for the org a command targets, and the local org behind it when there is one
/// (it stops when this is dropped).
pub(crate) struct Org {
    pub(crate) client: Client,
    /// What to call the org in messages: the connection name, or "the local org".
    pub(crate) label: String,
    /// Kept alive for as long as the client is used.
    pub(crate) _local: Option<Emulator>,
}

impl Org {
    /// The org `global` selects.
    pub(crate) async fn open(global: &GlobalArgs) -> anyhow::Result<Org> {
        if global.local {
            return Org::local(LocalOrg::default()).await;
        }
        let connections = connections()?;
        let name = connections.resolve_name(global.connection.as_deref())?;
        let (_profile, builder) = connections.client_builder(&name)?;
        let client = builder
            .build()
            .with_context(|| format!("cannot use connection {name:?}"))?;
        Ok(Org {
            client,
            label: format!("connection {name:?}"),
            _local: None,
        })
    }

    /// Starts a local org on a free loopback port and logs in to it with the OAuth password
    /// flow, as a real client would.
    pub(crate) async fn local(options: LocalOrg) -> anyhow::Result<Org> {
        let emulator = Emulator::start_demo(options.records)
            .await
            .context("starting the local org")?;
        let client = Client::builder(local_credentials(&emulator)?)
            .build()
            .context("connecting to the local org")?;
        Ok(Org {
            client,
            label: "the local org".into(),
            _local: Some(emulator),
        })
    }
}

/// How big a local org to start.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LocalOrg {
    pub(crate) records: u64,
}

impl Default for LocalOrg {
    fn default() -> LocalOrg {
        LocalOrg { records: 1000 }
    }
}

/// The built-in user and connected app of a local org.
pub(crate) fn local_credentials(emulator: &Emulator) -> anyhow::Result<PasswordCredentials> {
    let login = emulator.login();
    Ok(PasswordCredentials {
        login_url: LoginUrl::custom(&login.url)?,
        client_id: login.client_id,
        client_secret: login.client_secret.into(),
        username: login.username,
        password: login.password.into(),
        security_token: login.security_token.into(),
    })
}
