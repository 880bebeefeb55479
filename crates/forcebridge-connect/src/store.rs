//! The profiles file, and connections built from a profile and its secrets.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use forcebridge_client::{
    Access, AccessTokenCredentials, Client, ClientBuilder, ClientCredentials, Credentials,
    ExposeSecret, JwtCredentials, PasswordCredentials, RefreshTokenCredentials, SecretString,
    Session, WebServerFlow,
};
use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorKind, Result};
use crate::keychain::Keychain;
use crate::profile::{Flow, Profile, SecretLocation, Verified, validate_name};
use crate::secrets::{EnvSecrets, SecretKind, SecretStore, Secrets, write_private};
use crate::session::{SessionInfo, SessionRecord};

/// Where profiles and secrets are kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paths {
    /// The profiles (TOML, no secrets).
    pub profiles: PathBuf,
    /// The secrets file (TOML, mode 0600).
    pub secrets: PathBuf,
}

impl Paths {
    /// Both files in one directory: `connections.toml` and `secrets.toml`. This is what the
    /// `FORCEBRIDGE_HOME` variable selects.
    pub fn in_dir(dir: impl AsRef<Path>) -> Paths {
        let dir = dir.as_ref();
        Paths {
            profiles: dir.join("connections.toml"),
            secrets: dir.join("secrets.toml"),
        }
    }

    /// The user's directories: `$XDG_CONFIG_HOME/forcebridge/connections.toml` (by default
    /// `~/.config/...`) for profiles and `$XDG_DATA_HOME/forcebridge/secrets.toml` (by default
    /// `~/.local/share/...`) for secrets, on Linux and macOS alike; the platform's usual places
    /// on Windows.
    pub fn user() -> Result<Paths> {
        use etcetera::app_strategy::{AppStrategy, AppStrategyArgs, choose_app_strategy};
        let strategy = choose_app_strategy(AppStrategyArgs {
            top_level_domain: "dev".into(),
            author: "forcebridge".into(),
            app_name: "forcebridge".into(),
        })
        .map_err(|e| Error::invalid(format!("cannot find your home directory: {e}")))?;
        Ok(Paths {
            profiles: strategy.config_dir().join("connections.toml"),
            secrets: strategy.data_dir().join("secrets.toml"),
        })
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProfilesFile {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    default: Option<String>,
    #[serde(default)]
    connections: BTreeMap<String, Profile>,
}

/// The saved connections.
#[derive(Debug, Clone)]
pub struct Connections {
    paths: Paths,
    secrets: SecretStore,
    keychain: Option<Keychain>,
    env: EnvSecrets,
    /// The connection to use when none is named, before the default (`FORCEBRIDGE_CONNECTION`).
    env_connection: Option<String>,
}

/// Every saved profile and which one is the default.
#[derive(Debug, Clone)]
pub struct Listing {
    pub default: Option<String>,
    pub profiles: BTreeMap<String, Profile>,
}

impl Connections {
    /// Connections stored at `paths`; secrets from `env` override the stored ones. Nothing is
    /// read from the process environment: see [`Connections::from_env`] for that.
    pub fn open(paths: Paths, env: EnvSecrets) -> Connections {
        Connections {
            secrets: SecretStore::new(&paths.secrets),
            keychain: None,
            paths,
            env,
            env_connection: None,
        }
    }

    /// Uses `name` when no connection is named, before the default: what
    /// `FORCEBRIDGE_CONNECTION` does for [`Connections::from_env`].
    pub fn with_env_connection(mut self, name: Option<String>) -> Connections {
        self.env_connection = name.filter(|n| !n.is_empty());
        self
    }

    /// Keeps the secrets of connections saved from now on in `keychain` (the secrets of
    /// connections saved earlier stay where they are).
    pub fn with_keychain(mut self, keychain: Option<Keychain>) -> Connections {
        self.keychain = keychain;
        self
    }

    /// Where newly saved secrets go.
    pub fn secret_location(&self) -> SecretLocation {
        if self.keychain.is_some() {
            SecretLocation::Keychain
        } else {
            SecretLocation::File
        }
    }

    pub fn paths(&self) -> &Paths {
        &self.paths
    }

    pub fn list(&self) -> Result<Listing> {
        let file = self.read()?;
        Ok(Listing {
            default: file.default,
            profiles: file.connections,
        })
    }

    /// The profile named `name`.
    pub fn get(&self, name: &str) -> Result<Profile> {
        let mut file = self.read()?;
        file.connections
            .remove(name)
            .ok_or_else(|| not_found(&format!("no connection named {name:?}"), &file))
    }

    /// The name of the connection to use: `explicit` if given, else the one
    /// `FORCEBRIDGE_CONNECTION` names (when these connections follow the environment), else the
    /// default connection, else the only one saved. The name is checked: an error lists the
    /// saved connections, and says how to add one when there is none.
    pub fn resolve_name(&self, explicit: Option<&str>) -> Result<String> {
        let file = self.read()?;
        let (name, from) = match (explicit, &self.env_connection) {
            (Some(name), _) => (name.to_string(), ""),
            (None, Some(name)) => (name.clone(), " (from FORCEBRIDGE_CONNECTION)"),
            (None, None) => match &file.default {
                Some(name) => (name.clone(), " (the default connection)"),
                None if file.connections.len() == 1 => {
                    return Ok(file.connections.into_keys().next().unwrap_or_default());
                }
                None if file.connections.is_empty() => {
                    return Err(not_found("no connection was named", &file));
                }
                None => {
                    return Err(not_found(
                        "several connections are saved and none is the default: name one, or \
                         make one the default with `forcebridge connect default NAME`",
                        &file,
                    ));
                }
            },
        };
        if !file.connections.contains_key(&name) {
            return Err(not_found(
                &format!("no connection named {name:?}{from}"),
                &file,
            ));
        }
        Ok(name)
    }

    /// Saves (or replaces) connection `name`: its secrets first (in the keychain when there is
    /// one, else in the secrets file; any copy in the other place is removed), then its
    /// profile, replaced atomically. The first connection saved becomes the default. A session
    /// kept for an earlier version of the connection is forgotten.
    pub fn save(&self, name: &str, profile: &Profile, secrets: &Secrets) -> Result<()> {
        validate_name(name)?;
        profile.validate()?;
        let mut profile = profile.clone();
        profile.secrets = self.secret_location();
        match &self.keychain {
            Some(keychain) => {
                keychain.save(name, secrets)?;
                keychain.remove_session(name)?;
                self.secrets.remove(name)?;
            }
            None => {
                self.secrets.save(name, secrets)?;
                self.secrets.remove_session(name)?;
            }
        }
        let mut file = self.read()?;
        file.connections.insert(name.to_string(), profile);
        if file.default.is_none() {
            file.default = Some(name.to_string());
        }
        self.write(&file)
    }

    /// Records what a successful check learnt.
    pub fn set_verified(&self, name: &str, verified: Verified) -> Result<()> {
        let mut file = self.read()?;
        let Some(profile) = file.connections.get_mut(name) else {
            return Err(not_found(&format!("no connection named {name:?}"), &file));
        };
        profile.verified = Some(verified);
        self.write(&file)
    }

    /// Forgets connection `name` and its secrets. Returns whether it existed.
    pub fn remove(&self, name: &str) -> Result<bool> {
        let mut file = self.read()?;
        let existed = file.connections.remove(name).is_some();
        if file.default.as_deref() == Some(name) {
            file.default = None;
        }
        self.write(&file)?;
        self.secrets.remove(name)?;
        if let Some(keychain) = &self.keychain {
            keychain.remove(name)?;
        }
        Ok(existed)
    }

    /// Makes `name` the connection commands use when none is named.
    pub fn set_default(&self, name: &str) -> Result<()> {
        let mut file = self.read()?;
        if !file.connections.contains_key(name) {
            return Err(not_found(&format!("no connection named {name:?}"), &file));
        }
        file.default = Some(name.to_string());
        self.write(&file)
    }

    /// Checks a new connection with a real login ([`check`]) and saves it only if that
    /// worked, with what the check learnt (who and where, the instance URL when the profile
    /// has none) and, for the web flow, the refresh token the org may have rotated while
    /// checking. The session the check logged in with is kept for the next use (see
    /// [`Connections::client_builder`]). A failed login saves nothing; the error's
    /// [`Error::login_hint`] says what to check. Like [`Connections::save`], the first
    /// connection saved becomes the default.
    ///
    /// A connection already saved under `name` is never replaced: that is an
    /// [`ErrorKind::Exists`] error, before anything is sent. [`Connections::add_or_replace`]
    /// replaces it (still only after a successful check).
    pub async fn add(&self, name: &str, profile: &Profile, secrets: &Secrets) -> Result<Check> {
        validate_name(name)?;
        if self.read()?.connections.contains_key(name) {
            return Err(Error::new(
                ErrorKind::Exists,
                format!("a connection named {name:?} already exists"),
            ));
        }
        self.add_or_replace(name, profile, secrets).await
    }

    /// [`Connections::add`], replacing a connection already saved under `name` once the new
    /// settings have logged in (a failed check leaves the old one as it was).
    pub async fn add_or_replace(
        &self,
        name: &str,
        profile: &Profile,
        secrets: &Secrets,
    ) -> Result<Check> {
        validate_name(name)?;
        let mut profile = profile.clone();
        let mut secrets = secrets.clone();
        let checked = check(client_builder(&profile, &secrets)?, profile.flow).await?;
        profile.verified = Some(checked.verified.clone());
        if profile.instance_url.is_none() {
            profile.instance_url = Some(checked.instance_url.clone());
        }
        let session = checked.client.session().await.ok();
        if profile.flow == Flow::Web
            && let Some(token) = session.as_ref().and_then(|s| s.refresh_token.as_ref())
        {
            secrets.set(SecretKind::RefreshToken, token.clone());
        }
        self.save(name, &profile, &secrets)?;
        // The session was logged in with exactly the secrets just stored, so it is kept even
        // when they came from the environment.
        if let Some(session) = session
            && profile.flow != Flow::Token
        {
            let record = SessionRecord::new(&session, &profile);
            if let Err(e) = self.store_session(name, self.secret_location(), &record) {
                tracing::warn!(connection = name, error = %e, "could not keep the session");
            }
        }
        Ok(checked)
    }

    /// Logs in again with the saved connection `name`: its stored settings with `secrets`
    /// (every secret its flow needs: the stored ones, or new ones, such as a changed password
    /// or the refresh token of a new web login, see [`web_flow`]), and once the login worked,
    /// saves the secrets, what the check learnt and the new session. A failed login changes
    /// nothing. This is how a connection whose refresh token was revoked, or whose password
    /// changed, is put right.
    pub async fn reauthorize(&self, name: &str, secrets: &Secrets) -> Result<Check> {
        let profile = self.get(name)?;
        self.add_or_replace(name, &profile, secrets).await
    }

    /// What may be shown about the session kept for connection `name` (never its token), or
    /// `None` when none is kept.
    pub fn cached_session(&self, name: &str) -> Result<Option<SessionInfo>> {
        let profile = self.get(name)?;
        Ok(self
            .load_session(name, profile.secrets)?
            .map(|record| record.info(&profile)))
    }

    /// Keeps `session` as connection `name`'s session, as issued for its current settings: the
    /// next client built for it starts from it instead of logging in. For a web service that
    /// logged in by other means; a connection whose flow is the token flow keeps no session
    /// (its access token is a secret).
    pub fn cache_session(&self, name: &str, session: &Session) -> Result<()> {
        let profile = self.get(name)?;
        if profile.flow == Flow::Token {
            return Err(Error::invalid(format!(
                "connection {name:?} uses the token flow: its access token is one of its secrets, not a kept session"
            )));
        }
        self.store_session(
            name,
            profile.secrets,
            &SessionRecord::new(session, &profile),
        )
    }

    /// Forgets the session kept for connection `name`, if any: the next use logs in.
    pub fn forget_session(&self, name: &str) -> Result<()> {
        let profile = self.get(name)?;
        match (profile.secrets, &self.keychain) {
            (SecretLocation::File, _) => self.secrets.remove_session(name),
            (SecretLocation::Keychain, Some(keychain)) => keychain.remove_session(name),
            (SecretLocation::Keychain, None) => Err(keychain_unavailable()),
        }
    }

    /// Whether connections of `profile` keep their sessions: every flow but the token flow
    /// (whose access token is a secret), unless the environment supplies one of the flow's
    /// secrets. A session is kept only for the stored secrets: one logged in with the
    /// environment's might be another user's.
    fn keeps_sessions(&self, profile: &Profile) -> bool {
        profile.flow != Flow::Token
            && profile
                .flow
                .secrets()
                .iter()
                .all(|(kind, _)| self.env.secrets().get(*kind).is_none())
    }

    fn load_session(&self, name: &str, location: SecretLocation) -> Result<Option<SessionRecord>> {
        match (location, &self.keychain) {
            (SecretLocation::File, _) => self.secrets.load_session(name),
            (SecretLocation::Keychain, Some(keychain)) => keychain.load_session(name),
            (SecretLocation::Keychain, None) => Ok(None),
        }
    }

    fn store_session(
        &self,
        name: &str,
        location: SecretLocation,
        record: &SessionRecord,
    ) -> Result<()> {
        match (location, &self.keychain) {
            (SecretLocation::File, _) => self.secrets.save_session(name, record),
            (SecretLocation::Keychain, Some(keychain)) => keychain.save_session(name, record),
            (SecretLocation::Keychain, None) => Err(keychain_unavailable()),
        }
    }

    /// A secret the environment supplies (`FORCEBRIDGE_CLIENT_SECRET`, ...), if any.
    pub fn env_secret(&self, kind: SecretKind) -> Option<&SecretString> {
        self.env.secrets().get(kind)
    }

    /// The secrets of `name`: the stored ones, overridden by the environment's.
    pub fn secrets(&self, name: &str) -> Result<Secrets> {
        let location = self
            .read()?
            .connections
            .get(name)
            .map_or(SecretLocation::File, |p| p.secrets);
        self.secrets_at(name, location)
    }

    /// The secrets of `name`, stored at `location`, overridden by the environment's.
    fn secrets_at(&self, name: &str, location: SecretLocation) -> Result<Secrets> {
        let mut secrets = self.stored_secrets(name, location)?;
        let env = self.env.secrets();
        for kind in env.kinds() {
            if let Some(value) = env.get(kind) {
                secrets.set(kind, value.clone());
            }
        }
        Ok(secrets)
    }

    fn stored_secrets(&self, name: &str, location: SecretLocation) -> Result<Secrets> {
        match (location, &self.keychain) {
            (SecretLocation::File, _) => self.secrets.load(name),
            (SecretLocation::Keychain, Some(keychain)) => keychain.load(name),
            (SecretLocation::Keychain, None) => {
                // The environment may still supply them; if not, the missing secret is named.
                tracing::warn!(
                    connection = name,
                    "the connection's secrets are in the OS keychain, which is not available here"
                );
                Ok(Secrets::default())
            }
        }
    }

    /// A client builder for connection `name`, with its API version and access mode, and
    /// with a refresh token that the org rotates written back where its secrets are.
    ///
    /// The client starts from the session kept for the connection, when there is one it may
    /// use (issued for the connection's current settings and user, and not known to have
    /// expired), so it logs in only when there is none or the org refuses it (once, on the
    /// spot); every session it logs in for is kept in its place, where the connection's
    /// secrets are. Connections of the token flow, and any whose secrets the environment
    /// overrides, neither use nor keep sessions.
    pub fn client_builder(&self, name: &str) -> Result<(Profile, ClientBuilder)> {
        let profile = self.get(name)?;
        let secrets = self.secrets_at(name, profile.secrets)?;
        let mut builder = client_builder(&profile, &secrets)?;
        if self.keeps_sessions(&profile) {
            builder = self.with_kept_session(name, &profile, builder);
        }
        if profile.flow == Flow::Web {
            let connections = self.clone();
            let location = profile.secrets;
            let name = name.to_string();
            builder = builder.on_refresh_token(move |token: &SecretString| {
                match connections.update_secret(&name, location, SecretKind::RefreshToken, token) {
                    Ok(()) => tracing::info!(connection = %name, "stored the rotated refresh token"),
                    Err(e) => tracing::warn!(connection = %name, error = %e, "could not store the rotated refresh token"),
                }
            });
        }
        Ok((profile, builder))
    }

    /// Starts `builder` from the session kept for `name` if it may be used, and keeps every
    /// session it logs in for. A kept session that cannot be read only costs a login.
    fn with_kept_session(
        &self,
        name: &str,
        profile: &Profile,
        mut builder: ClientBuilder,
    ) -> ClientBuilder {
        match self.load_session(name, profile.secrets) {
            Ok(Some(record)) => match record.unusable_for(profile) {
                None => {
                    tracing::debug!(connection = name, "starting from the kept session");
                    builder = builder.session(record.session());
                }
                Some(why) => tracing::debug!(connection = name, why, "not using the kept session"),
            },
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(connection = name, error = %e, "cannot read the kept session; logging in");
            }
        }
        let connections = self.clone();
        let name = name.to_string();
        let issued_for = profile.clone();
        builder.on_session(move |session: &Session| {
            let record = SessionRecord::new(session, &issued_for);
            match connections.store_session(&name, issued_for.secrets, &record) {
                Ok(()) => tracing::debug!(connection = %name, "kept the new session"),
                Err(e) => {
                    tracing::warn!(connection = %name, error = %e, "could not keep the new session")
                }
            }
        })
    }

    /// Sets one stored secret of `name`, where its secrets are kept.
    fn update_secret(
        &self,
        name: &str,
        location: SecretLocation,
        kind: SecretKind,
        value: &SecretString,
    ) -> Result<()> {
        match (location, &self.keychain) {
            (SecretLocation::File, _) => self.secrets.update(name, kind, value),
            (SecretLocation::Keychain, Some(keychain)) => {
                let mut secrets = keychain.load(name)?;
                secrets.set(kind, value.clone());
                keychain.save(name, &secrets)
            }
            (SecretLocation::Keychain, None) => Err(keychain_unavailable()),
        }
    }

    fn read(&self) -> Result<ProfilesFile> {
        let path = &self.paths.profiles;
        match std::fs::read_to_string(path) {
            Ok(text) => toml::from_str(&text).map_err(|e| {
                Error::invalid(format!(
                    "{} is not a valid connections file: {e}",
                    path.display()
                ))
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(ProfilesFile::default()),
            Err(e) => Err(Error::io(path, "read", e)),
        }
    }

    fn write(&self, file: &ProfilesFile) -> Result<()> {
        let mut text = String::from(
            "# forcebridge connections. Secrets are not kept here (see `forcebridge connect show`).\n\n",
        );
        text.push_str(
            &toml::to_string(file)
                .map_err(|e| Error::invalid(format!("cannot encode the connections file: {e}")))?,
        );
        write_private(&self.paths.profiles, text.as_bytes())
    }
}

fn keychain_unavailable() -> Error {
    Error::invalid("the connection's secrets are in the OS keychain, which is not available here")
}

/// A "not found" error: `message`, then the saved connections, or how to add one.
fn not_found(message: &str, file: &ProfilesFile) -> Error {
    let message = if file.connections.is_empty() {
        format!("{message}, and none is saved yet: add one with `forcebridge connect add NAME`")
    } else {
        let names = file
            .connections
            .keys()
            .map(|name| {
                if file.default.as_deref() == Some(name.as_str()) {
                    format!("{name} (default)")
                } else {
                    name.clone()
                }
            })
            .collect::<Vec<_>>();
        format!("{message}; saved connections: {}", names.join(", "))
    };
    Error::new(ErrorKind::NotFound, message)
}

/// A client builder for `profile` with `secrets`: its credentials, API version, access mode
/// and the certificate authorities of its CA file.
pub fn client_builder(profile: &Profile, secrets: &Secrets) -> Result<ClientBuilder> {
    profile.validate()?;
    let mut builder = Client::builder(credentials(profile, secrets)?)
        .api_version(profile.api_version()?)
        .user_agent(concat!("forcebridge/", env!("CARGO_PKG_VERSION")));
    if profile.read_only {
        builder = builder.access(Access::ReadOnly);
    }
    if let Some(path) = &profile.ca_file {
        builder = builder.add_root_certificate_file(path);
    }
    Ok(builder)
}

/// The scopes a web login asks for: the API, and a refresh token that keeps working.
pub const WEB_SCOPES: [&str; 3] = ["api", "refresh_token", "offline_access"];

/// The web-server flow of a web-flow `profile` (its login URL, consumer key, callback URL and
/// PKCE setting, the consumer secret from `secrets` if any, and [`WEB_SCOPES`]), whose refresh
/// token [`Connections::add`] or [`Connections::reauthorize`] then save. A server calls its two
/// steps itself ([`WebServerFlow::authorize`], [`WebServerFlow::exchange`]); a command-line tool
/// waits on its loopback listener. A profile without a callback URL (one imported from the
/// Salesforce CLI) uses `http://localhost:1717/OauthRedirect`, the Salesforce CLI's.
pub fn web_flow(profile: &Profile, secrets: &Secrets) -> Result<WebServerFlow> {
    let client_id = match profile.client_id.as_deref().map(str::trim) {
        Some(id) if !id.is_empty() => id.to_string(),
        _ => {
            return Err(Error::invalid(
                "the web flow needs a consumer key (client id)",
            ));
        }
    };
    let mut flow = WebServerFlow::new(profile.login_url()?, client_id);
    flow.client_secret = secrets.get(SecretKind::ClientSecret).cloned();
    if let Some(uri) = &profile.redirect_uri {
        flow.redirect_uri = uri.clone();
    }
    flow.pkce = profile.pkce.unwrap_or(true);
    flow.scopes = WEB_SCOPES.iter().map(|s| s.to_string()).collect();
    if let Some(path) = &profile.ca_file {
        flow.trust_root_certificate_file(path)
            .map_err(|e| Error::client("the connection's CA file cannot be used", e))?;
    }
    Ok(flow)
}

/// The client credentials for `profile` with `secrets`.
pub fn credentials(profile: &Profile, secrets: &Secrets) -> Result<Credentials> {
    let need = |kind: SecretKind| -> Result<SecretString> {
        secrets.get(kind).cloned().ok_or_else(|| {
            Error::new(
                ErrorKind::MissingSecret,
                format!(
                    "the {} flow needs a {}: store it with `forcebridge connect add`, or set {}",
                    profile.flow,
                    kind.describe(),
                    kind.env_var()
                ),
            )
        })
    };
    let optional = |kind: SecretKind| secrets.get(kind).cloned();
    let client_id = profile.client_id.clone().unwrap_or_default();
    let username = profile.username.clone().unwrap_or_default();
    Ok(match profile.flow {
        Flow::Password => PasswordCredentials {
            login_url: profile.login_url()?,
            client_id,
            client_secret: need(SecretKind::ClientSecret)?,
            username,
            password: need(SecretKind::Password)?,
            security_token: optional(SecretKind::SecurityToken)
                .unwrap_or_else(|| SecretString::from(String::new())),
        }
        .into(),
        Flow::ClientCredentials => ClientCredentials {
            login_url: profile.login_url()?,
            client_id,
            client_secret: need(SecretKind::ClientSecret)?,
        }
        .into(),
        Flow::Web => RefreshTokenCredentials {
            login_url: profile.login_url()?,
            client_id,
            client_secret: optional(SecretKind::ClientSecret),
            refresh_token: need(SecretKind::RefreshToken)?,
        }
        .into(),
        Flow::Jwt => {
            let key = need(SecretKind::PrivateKey)?;
            jwt_credentials(profile, client_id, username, key)?
        }
        Flow::Token => AccessTokenCredentials {
            instance_url: profile.instance_url.clone().unwrap_or_default(),
            access_token: need(SecretKind::AccessToken)?,
        }
        .into(),
    })
}

fn jwt_credentials(
    profile: &Profile,
    client_id: String,
    username: String,
    key: SecretString,
) -> Result<Credentials> {
    JwtCredentials::from_pem(
        profile.login_url()?,
        client_id,
        username,
        key.expose_secret(),
    )
    .map(Credentials::from)
    .map_err(|e| Error::client("the stored private key cannot be used", e))
}

/// What checking a connection found.
#[derive(Debug, Clone)]
pub struct Check {
    /// The logged-in client, ready for more calls.
    pub client: Client,
    pub verified: Verified,
    pub instance_url: String,
}

/// Logs in with `builder` (a real token request, or for a bare access token a cheap API call)
/// and reports who and where the connection is.
pub async fn check(builder: ClientBuilder, flow: Flow) -> Result<Check> {
    let client = builder
        .build()
        .map_err(|e| Error::client(format!("cannot set up the {flow} connection"), e))?;
    let session = client
        .session()
        .await
        .map_err(|e| Error::login("the login failed", flow, e))?;
    let ids = session
        .org_and_user_ids()
        .map(|(o, u)| (o.to_string(), u.to_string()));
    // A bare access token has had no token request to prove it works: a cheap API call does
    // (an unknown token is then an auth error, as the org answers 401).
    if flow == Flow::Token {
        client
            .limits()
            .await
            .map_err(|e| Error::login("the org did not accept the access token", flow, e))?;
    }
    let info = client
        .user_info()
        .await
        .map_err(|e| Error::login("the org did not accept the session", flow, e))?;
    let (org_id, user_id) = ids.unwrap_or((info.organization_id, info.user_id));
    let verified = Verified {
        at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        org_id: Some(org_id),
        user_id: Some(user_id),
        username: Some(info.preferred_username),
    };
    Ok(Check {
        instance_url: session.instance_url.clone(),
        client,
        verified,
    })
}
