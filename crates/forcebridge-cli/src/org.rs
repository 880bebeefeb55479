//! Which org a command talks to, as the global options say: the CLI's side of
//! `forcebridge_connect`'s targets. Choosing and opening connections is that crate's work; this
//! module only turns `--connection` and `--local` into a target, and logs in at once so that a
//! refused login is reported as one, with what to check.

use forcebridge_client::Client;
use forcebridge_connect::{Connection, Connections, LocalOrgOptions, Target};

use crate::cli::GlobalArgs;

/// The saved connections, as the environment selects them (`FORCEBRIDGE_HOME`,
/// `FORCEBRIDGE_SECRETS`, `FORCEBRIDGE_CONNECTION` and the secret variables).
pub(crate) fn connections() -> anyhow::Result<Connections> {
    Ok(Connections::from_env()?)
}

/// A logged-in client for the org a command targets, and the connection behind it (a local
/// org stops when this is dropped).
pub(crate) struct Org {
    pub(crate) client: Client,
    /// What to call the org in messages: `connection "prod"`, or `the local org`.
    pub(crate) label: String,
    _connection: Connection,
}

impl Org {
    /// The org `global` selects.
    pub(crate) async fn open(global: &GlobalArgs) -> anyhow::Result<Org> {
        if global.local {
            return Org::local(LocalOrgOptions {
                records: LocalOrgOptions::DEFAULT_RECORDS,
            })
            .await;
        }
        let target = Target::from_name(global.connection.clone());
        Org::login(connections()?.connect(&target).await?).await
    }

    /// A local org of the given size, started in this process.
    pub(crate) async fn local(options: LocalOrgOptions) -> anyhow::Result<Org> {
        Org::login(Connection::start_local(options).await?).await
    }

    async fn login(connection: Connection) -> anyhow::Result<Org> {
        crate::output::using_connection(connection.name(), connection.flow());
        connection.login().await?;
        Ok(Org {
            client: connection.client().clone(),
            label: connection.label().to_string(),
            _connection: connection,
        })
    }
}
