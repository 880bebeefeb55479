//! Choosing the org to talk to and opening it: a saved connection (named, or the one the
//! environment or the default picks), or with the `local-org` feature a local org started in
//! this process. The result is a [`Connection`]: a client, a label for messages, and whatever
//! must stay alive while the client is used. Nothing here logs in until asked to.

use std::fmt;

use forcebridge_client::Client;

use crate::error::{Error, Result};
use crate::profile::{Flow, Profile};
use crate::store::Connections;

/// Which org to open.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Target {
    /// The saved connection with this name.
    Named(String),
    /// No name given: the connection `FORCEBRIDGE_CONNECTION` names (when the connections
    /// follow the environment), else the default one, else the only one saved.
    Default,
    /// A local org with generated demo data, started in this process and logged in to with
    /// the OAuth username-password flow; it stops when the [`Connection`] is dropped.
    #[cfg(feature = "local-org")]
    Local(LocalOrgOptions),
}

impl Target {
    /// [`Target::Named`] for a name, [`Target::Default`] for none: what a front end's optional
    /// connection option means.
    pub fn from_name(name: Option<String>) -> Target {
        name.map_or(Target::Default, Target::Named)
    }
}

/// How big a local org to start.
#[cfg(feature = "local-org")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalOrgOptions {
    /// About how many records to generate (from the fixed seed `demo`, so the same number
    /// gives the same org).
    pub records: u64,
}

#[cfg(feature = "local-org")]
impl LocalOrgOptions {
    /// The size the CLI's `--local` uses.
    pub const DEFAULT_RECORDS: u64 = 1000;
}

/// An opened connection: a client for the org, what to call the org in messages, and the
/// profile it came from. A local org lives inside it and stops when it is dropped (or, waiting
/// for it to stop, on [`Connection::close`]).
pub struct Connection {
    client: Client,
    label: String,
    name: Option<String>,
    profile: Option<Profile>,
    flow: Flow,
    #[cfg(feature = "local-org")]
    local: Option<forcebridge_emulator::Emulator>,
}

impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection")
            .field("label", &self.label)
            .field("flow", &self.flow)
            .field("local", &self.is_local())
            .finish_non_exhaustive()
    }
}

impl Connections {
    /// Opens `target`: resolves the connection's name (see [`Connections::resolve_name`]) and
    /// builds its client, or starts the local org. It does not log in: see
    /// [`Connection::login`].
    pub async fn connect(&self, target: &Target) -> Result<Connection> {
        let explicit = match target {
            Target::Named(name) => Some(name.as_str()),
            Target::Default => None,
            #[cfg(feature = "local-org")]
            Target::Local(options) => return Connection::start_local(*options).await,
        };
        let name = self.resolve_name(explicit)?;
        let (profile, builder) = self.client_builder(&name)?;
        let label = format!("connection {name:?}");
        let client = builder
            .build()
            .map_err(|e| Error::client(format!("cannot use {label}"), e))?;
        Ok(Connection {
            client,
            label,
            name: Some(name),
            flow: profile.flow,
            profile: Some(profile),
            #[cfg(feature = "local-org")]
            local: None,
        })
    }
}

impl Connection {
    /// Starts a local org on a free loopback port and builds a client that logs in to it with
    /// the OAuth username-password flow, as a client of a real org would.
    #[cfg(feature = "local-org")]
    pub async fn start_local(options: LocalOrgOptions) -> Result<Connection> {
        use forcebridge_client::{LoginUrl, PasswordCredentials};

        let emulator = forcebridge_emulator::Emulator::start_demo(options.records)
            .await
            .map_err(|e| {
                Error::with_source(crate::ErrorKind::LocalOrg, "cannot start the local org", e)
            })?;
        let login = emulator.login();
        let label = "the local org".to_string();
        let cannot = |e| Error::client(format!("cannot use {label}"), e);
        let credentials = PasswordCredentials {
            login_url: LoginUrl::custom(&login.url).map_err(cannot)?,
            client_id: login.client_id,
            client_secret: login.client_secret.into(),
            username: login.username,
            password: login.password.into(),
            security_token: login.security_token.into(),
        };
        let client = Client::builder(credentials)
            .user_agent(concat!("forcebridge/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(cannot)?;
        Ok(Connection {
            client,
            label,
            name: None,
            profile: None,
            flow: Flow::Password,
            local: Some(emulator),
        })
    }

    /// The client for the org.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// What to call the org in messages: `connection "prod"`, or `the local org`.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// The saved connection's name; `None` for the local org.
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// The saved connection's profile; `None` for the local org.
    pub fn profile(&self) -> Option<&Profile> {
        self.profile.as_ref()
    }

    /// How the client logs in.
    pub fn flow(&self) -> Flow {
        self.flow
    }

    /// Whether this is a local org running in this process.
    pub fn is_local(&self) -> bool {
        #[cfg(feature = "local-org")]
        return self.local.is_some();
        #[cfg(not(feature = "local-org"))]
        false
    }

    /// Logs in now (the client would otherwise on its first request), so that a refusal is
    /// reported as a failed login, with [`Error::login_hint`] saying what to check. A bare
    /// access token (the token flow) is not checked here, nor a session kept from an earlier
    /// use (see [`Connections::client_builder`]): the org judges them on the first request,
    /// and the client logs in again, once, if it refuses a kept session.
    pub async fn login(&self) -> Result<()> {
        match self.client.session().await {
            Ok(_) => Ok(()),
            Err(e) => Err(Error::login(
                format!("cannot log in to {}", self.label),
                self.flow,
                e,
            )),
        }
    }

    /// Stops the local org, if there is one, and waits until it has stopped serving.
    pub async fn close(self) {
        #[cfg(feature = "local-org")]
        if let Some(emulator) = self.local {
            emulator.shutdown().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send<T: Send>(_: &T) {}

    fn assert_send_sync<T: Send + Sync + 'static>() {}

    /// A server opens connections from its own tasks: the futures and the connection must be
    /// `Send` (checked at compile time; the function is never called).
    #[allow(dead_code)]
    fn opening_a_connection_is_send(
        connections: &Connections,
        target: &Target,
        connection: &Connection,
    ) {
        assert_send(&connections.connect(target));
        assert_send(&connection.login());
        assert_send_sync::<Connection>();
        assert_send_sync::<Target>();
    }
}
