//! The one helper every area uses: a local org in this process with distinctive secrets, an
//! empty directory for the saved connections (what `FORCEBRIDGE_HOME` names), and the
//! connections, profiles and secrets that point at both.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use forcebridge_client::SecretString;
use forcebridge_connect::{
    Check, Config, Connections, EnvSecrets, Flow, Paths, Profile, SecretKind, SecretStoreChoice,
    Secrets,
};
use forcebridge_emulator::{Config as OrgConfig, Emulator, LocalLogin};

/// The test org's secrets: distinctive, so that a search for them finds nothing else.
pub(crate) const CLIENT_SECRET: &str = "cs-4be1c0de93a7";
pub(crate) const PASSWORD: &str = "pw-62d0aa91";
pub(crate) const SECURITY_TOKEN: &str = "st-0f7c35b2";

/// Every secret the tests hand over; none may ever reach the profiles file or a message.
pub(crate) const SECRETS: [&str; 3] = [CLIENT_SECRET, PASSWORD, SECURITY_TOKEN];

pub(crate) struct Env {
    pub(crate) emulator: Emulator,
    /// Holds `home/`, created by the code under test (so its mode is the code's doing).
    dir: tempfile::TempDir,
}

impl Env {
    /// The built-in org with the test secrets.
    pub(crate) async fn new() -> Env {
        Env::with_config(OrgConfig::builtin()).await
    }

    /// `config` with the test secrets in place of the built-in ones.
    pub(crate) async fn with_config(mut config: OrgConfig) -> Env {
        config.users[0].password = PASSWORD.into();
        config.users[0].security_token = SECURITY_TOKEN.into();
        config.apps[0].client_secret = CLIENT_SECRET.into();
        let emulator = Emulator::start(config, "127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        Env {
            emulator,
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub(crate) fn login(&self) -> LocalLogin {
        self.emulator.login()
    }

    /// The directory the connections live in (not created until something is saved).
    pub(crate) fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    pub(crate) fn file(&self, name: &str) -> PathBuf {
        self.home().join(name)
    }

    /// The connections in this home, with secrets in the file and none from the environment.
    pub(crate) fn connections(&self) -> Connections {
        Connections::from_config(Config {
            paths: Paths::in_dir(self.home()),
            secret_store: SecretStoreChoice::File,
            env_secrets: EnvSecrets::default(),
            env_connection: None,
        })
        .unwrap()
    }

    /// The connections `vars` select, as if they were the process environment, on top of
    /// `FORCEBRIDGE_HOME` (this home) and `FORCEBRIDGE_SECRETS=file`.
    pub(crate) fn connections_with_env(&self, vars: &[(&str, &str)]) -> Connections {
        let home = self.home().display().to_string();
        let base = [
            ("FORCEBRIDGE_HOME", home.as_str()),
            ("FORCEBRIDGE_SECRETS", "file"),
        ];
        let config = Config::from_lookup(|name| {
            vars.iter()
                .chain(&base)
                .find(|(n, _)| *n == name)
                .map(|(_, value)| value.to_string())
        })
        .unwrap();
        Connections::from_config(config).unwrap()
    }

    /// A password-flow profile for this org.
    pub(crate) fn password_profile(&self) -> Profile {
        let login = self.login();
        let mut profile = Profile::new(Flow::Password);
        profile.login_url = Some(login.url);
        profile.client_id = Some(login.client_id);
        profile.username = Some(login.username);
        profile
    }

    /// The secrets `password_profile` needs.
    pub(crate) fn password_secrets(&self) -> Secrets {
        secrets(&[
            (SecretKind::ClientSecret, CLIENT_SECRET),
            (SecretKind::Password, PASSWORD),
            (SecretKind::SecurityToken, SECURITY_TOKEN),
        ])
    }

    /// Checks and saves a password connection named `name`.
    pub(crate) async fn add_password(&self, name: &str) -> Check {
        self.connections()
            .add(name, &self.password_profile(), &self.password_secrets())
            .await
            .unwrap()
    }

    /// Saves a password connection named `name` without checking it.
    pub(crate) fn save_password(&self, name: &str) {
        self.connections()
            .save(name, &self.password_profile(), &self.password_secrets())
            .unwrap();
    }
}

/// Secrets from `(kind, value)` pairs.
pub(crate) fn secrets(values: &[(SecretKind, &str)]) -> Secrets {
    let mut secrets = Secrets::default();
    for (kind, value) in values {
        secrets.set(*kind, SecretString::from(value.to_string()));
    }
    secrets
}

/// The text of `path`, or "" when there is no such file.
pub(crate) fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// Fails if any known secret (or one of `extra`) appears in `text`.
#[track_caller]
pub(crate) fn assert_no_secret(text: &str, extra: &[&str]) {
    for secret in SECRETS.iter().chain(extra) {
        assert!(
            !text.contains(secret),
            "a secret ({} characters) appears in:\n{text}",
            secret.len()
        );
    }
}

/// An error with its whole chain of causes, as a front end shows it.
pub(crate) fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// A TCP proxy in front of `org` that counts the token requests sent through it
/// (`POST /services/oauth2/token`): what a real org counts against its login rate limit.
pub(crate) struct LoginCounter {
    /// The proxy's URL, to log in through.
    pub(crate) url: String,
    token_requests: Arc<AtomicUsize>,
}

impl LoginCounter {
    pub(crate) async fn start(org: &Emulator) -> LoginCounter {
        let target: SocketAddr = org
            .url()
            .trim_start_matches("http://")
            .parse()
            .expect("a plain-HTTP org on an IP address");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let token_requests = Arc::new(AtomicUsize::new(0));
        let counter = token_requests.clone();
        tokio::spawn(async move {
            while let Ok((inbound, _)) = listener.accept().await {
                let counter = counter.clone();
                tokio::spawn(async move {
                    let Ok(outbound) = tokio::net::TcpStream::connect(target).await else {
                        return;
                    };
                    let (from_client, to_client) = inbound.into_split();
                    let (from_org, to_org) = outbound.into_split();
                    tokio::join!(
                        pump(from_client, to_org, Some(counter)),
                        pump(from_org, to_client, None)
                    );
                });
            }
        });
        LoginCounter {
            url,
            token_requests,
        }
    }

    /// How many token requests went through so far.
    pub(crate) fn count(&self) -> usize {
        self.token_requests.load(Ordering::SeqCst)
    }
}

/// Copies `from` to `to`, counting the token requests in what passes when given a counter.
async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    counter: Option<Arc<AtomicUsize>>,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    const REQUEST_LINE: &[u8] = b"POST /services/oauth2/token";
    let mut buffer = vec![0; 16 * 1024];
    // The end of what passed before, so that a request line split between reads is seen.
    let mut window: Vec<u8> = Vec::new();
    loop {
        let n = match from.read(&mut buffer).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if let Some(counter) = &counter {
            window.extend_from_slice(&buffer[..n]);
            let found = window
                .windows(REQUEST_LINE.len())
                .filter(|w| *w == REQUEST_LINE)
                .count();
            counter.fetch_add(found, Ordering::SeqCst);
            let keep = window.len().min(REQUEST_LINE.len() - 1);
            window.drain(..window.len() - keep);
        }
        if to.write_all(&buffer[..n]).await.is_err() {
            break;
        }
    }
    let _ = to.shutdown().await;
}
