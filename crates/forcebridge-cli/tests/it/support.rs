//! The one helper the connection and data tests use: a local org running in this process, an
//! empty forcebridge home for saved connections, and the binary pointed at both (with a saved
//! connection to it: `connected`).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use assert_cmd::Command;
use forcebridge_emulator::{Config, DEFAULT_CLIENT_ID, DEFAULT_USERNAME, Emulator, SeedConfig};

/// The test org's secrets: distinctive, so that a search for them finds nothing else.
pub(crate) const CLIENT_SECRET: &str = "cs-7d1e0a9b44f2";
pub(crate) const PASSWORD: &str = "pw-9f3b2c61";
pub(crate) const SECURITY_TOKEN: &str = "st-51aa08ce";

/// Every secret the tests hand to the binary; none may ever be printed.
pub(crate) const SECRETS: [&str; 3] = [CLIENT_SECRET, PASSWORD, SECURITY_TOKEN];

pub(crate) struct Env {
    pub(crate) emulator: Emulator,
    pub(crate) home: tempfile::TempDir,
    /// With TLS, the directory of the certificate file clients must trust.
    certs: Option<tempfile::TempDir>,
    runtime: tokio::runtime::Runtime,
}

impl Env {
    /// An org with a few hundred generated records.
    pub(crate) fn new() -> Env {
        let mut config = Config::builtin();
        config.seed = Some(SeedConfig {
            seed: "cli-tests".into(),
            records: 400,
        });
        Env::with_config(config)
    }

    /// `config` with the test secrets in place of the built-in ones.
    pub(crate) fn with_config(config: Config) -> Env {
        Env::start(config, false)
    }

    /// The built-in org with the test secrets, served over HTTPS by its own certificate
    /// authority (see [`Env::trust_file`]).
    pub(crate) fn with_tls() -> Env {
        Env::start(Config::builtin(), true)
    }

    fn start(mut config: Config, tls: bool) -> Env {
        config.users[0].password = PASSWORD.into();
        config.users[0].security_token = SECURITY_TOKEN.into();
        config.apps[0].client_secret = CLIENT_SECRET.into();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let addr = "127.0.0.1:0".parse().unwrap();
        let (emulator, certs) = if tls {
            let certs = tempfile::tempdir().unwrap();
            let file = certs.path().join("ca.pem");
            let emulator = runtime.block_on(Emulator::start_tls(config, addr, &file));
            (emulator, Some(certs))
        } else {
            (runtime.block_on(Emulator::start(config, addr)), None)
        };
        Env {
            emulator: emulator.unwrap(),
            home: tempfile::tempdir().unwrap(),
            certs,
            runtime,
        }
    }

    /// With TLS, the certificate file clients must trust.
    pub(crate) fn trust_file(&self) -> PathBuf {
        let certs = self.certs.as_ref().expect("an org started with_tls");
        certs.path().join("ca.pem")
    }

    /// Runs a future on the org's runtime (for tests that play the browser).
    pub(crate) fn block_on<F: std::future::Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }

    pub(crate) fn url(&self) -> &str {
        self.emulator.url()
    }

    pub(crate) fn home(&self) -> &Path {
        self.home.path()
    }

    pub(crate) fn file(&self, name: &str) -> PathBuf {
        self.home.path().join(name)
    }

    /// `forcebridge ARGS` with this home and no secrets from the environment.
    pub(crate) fn cmd(&self, args: &[&str]) -> Command {
        Command::from_std(self.std_cmd(args))
    }

    /// The same, as a plain process to spawn.
    pub(crate) fn std_cmd(&self, args: &[&str]) -> std::process::Command {
        let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("forcebridge"));
        // The file store, always: a developer's real keychain must never get test secrets.
        cmd.env("FORCEBRIDGE_HOME", self.home())
            .env("FORCEBRIDGE_SECRETS", "file")
            .env_remove("RUST_LOG")
            .env_remove("FORCEBRIDGE_CONNECTION");
        for var in [
            "FORCEBRIDGE_CLIENT_SECRET",
            "FORCEBRIDGE_PASSWORD",
            "FORCEBRIDGE_SECURITY_TOKEN",
            "FORCEBRIDGE_REFRESH_TOKEN",
            "FORCEBRIDGE_PRIVATE_KEY",
            "FORCEBRIDGE_ACCESS_TOKEN",
            "FORCEBRIDGE_CLIENT_ID",
            "FORCEBRIDGE_USERNAME",
        ] {
            cmd.env_remove(var);
        }
        cmd.args(args);
        cmd
    }

    /// `connect add NAME FLOW --login-url <this org> --client-id CLIENT_ID EXTRA...`.
    pub(crate) fn connect_add(
        &self,
        name: &str,
        flow: &str,
        client_id: &str,
        extra: &[&str],
    ) -> Command {
        let mut cmd = self.cmd(&[
            "connect",
            "add",
            name,
            flow,
            "--login-url",
            self.url(),
            "--client-id",
            client_id,
        ]);
        cmd.args(extra);
        cmd
    }

    /// `connect add NAME --password` against the local org, with the secrets in the environment.
    pub(crate) fn add_password(&self, name: &str, extra: &[&str]) -> assert_cmd::assert::Assert {
        self.connect_add(
            name,
            "--password",
            DEFAULT_CLIENT_ID,
            &["--username", DEFAULT_USERNAME],
        )
        .args(extra)
        .env("FORCEBRIDGE_CLIENT_SECRET", CLIENT_SECRET)
        .env("FORCEBRIDGE_PASSWORD", PASSWORD)
        .env("FORCEBRIDGE_SECURITY_TOKEN", SECURITY_TOKEN)
        .assert()
    }

    /// A proxy in front of the org that counts token requests and connections (see
    /// [`LoginCounter`]).
    pub(crate) fn login_counter(&self) -> LoginCounter {
        let port = self.url().rsplit(':').next().unwrap();
        let target: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let scheme = if self.certs.is_some() {
            "https"
        } else {
            "http"
        };
        self.block_on(LoginCounter::start(target, scheme))
    }

    /// The access token of the session kept in the secrets file.
    pub(crate) fn kept_token(&self) -> String {
        let file = std::fs::read_to_string(self.file("secrets.toml")).unwrap();
        let line = file
            .lines()
            .find(|l| l.starts_with("access_token = "))
            .unwrap_or_else(|| panic!("no kept session in the secrets file"));
        line.trim_start_matches("access_token = ")
            .trim_matches('"')
            .to_string()
    }

    /// Revokes `token` at the org, as an admin (or a timeout) would.
    pub(crate) fn revoke(&self, token: &str) {
        let url = format!("{}/services/oauth2/revoke", self.url());
        let status = self.block_on(async {
            reqwest::Client::new()
                .post(url)
                .form(&[("token", token)])
                .send()
                .await
                .unwrap()
                .status()
        });
        assert_eq!(status, 200);
    }

    /// A fresh access token for the built-in user.
    pub(crate) fn access_token(&self) -> String {
        let _guard = self.runtime.enter();
        self.emulator.access_token()
    }
}

/// An org with a saved default connection (an access token: no login per command).
pub(crate) fn connected() -> Env {
    connected_to(Env::new())
}

/// `env` with a saved default connection to its org (an access token).
pub(crate) fn connected_to(env: Env) -> Env {
    save_connection(env, &[])
}

/// `env` with a saved default connection to its org that is read-only.
pub(crate) fn read_only_to(env: Env) -> Env {
    save_connection(env, &["--read-only"])
}

fn save_connection(env: Env, extra: &[&str]) -> Env {
    let token = env.access_token();
    let mut args = vec![
        "connect",
        "add",
        "org",
        "--token",
        "--instance-url",
        env.url(),
    ];
    args.extend_from_slice(extra);
    env.cmd(&args)
        .env("FORCEBRIDGE_ACCESS_TOKEN", token)
        .assert()
        .success();
    env
}

/// The stdout of `forcebridge ARGS`, which must succeed.
pub(crate) fn stdout_of(env: &Env, args: &[&str]) -> String {
    outputs(&env.cmd(args).assert().success()).0
}

/// Stdout and stderr of a finished command, as text.
pub(crate) fn outputs(assert: &assert_cmd::assert::Assert) -> (String, String) {
    let output = assert.get_output();
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Fails if any known secret appears in `text`.
pub(crate) fn assert_no_secret(text: &str, extra: &[&str]) {
    for secret in SECRETS.iter().chain(extra) {
        assert!(
            !text.contains(secret),
            "a secret ({} characters) was printed:\n{text}",
            secret.len()
        );
    }
}

/// A TCP proxy in front of the org that counts the token requests sent through it
/// (`POST /services/oauth2/token`: what a real org counts against its login rate limit; seen
/// only over plain HTTP), and the connections made through it (over HTTPS, one per attempt).
pub(crate) struct LoginCounter {
    /// The proxy's URL, to log in through.
    pub(crate) url: String,
    token_requests: Arc<AtomicUsize>,
    connections: Arc<AtomicUsize>,
}

impl LoginCounter {
    async fn start(target: SocketAddr, scheme: &str) -> LoginCounter {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("{scheme}://{}", listener.local_addr().unwrap());
        let token_requests = Arc::new(AtomicUsize::new(0));
        let connections = Arc::new(AtomicUsize::new(0));
        let counter = token_requests.clone();
        let accepted = connections.clone();
        tokio::spawn(async move {
            while let Ok((inbound, _)) = listener.accept().await {
                accepted.fetch_add(1, Ordering::SeqCst);
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
            connections,
        }
    }

    /// How many token requests went through so far.
    pub(crate) fn count(&self) -> usize {
        self.token_requests.load(Ordering::SeqCst)
    }

    /// How many connections were made through it so far.
    pub(crate) fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
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
