//! The local org: a Salesforce-compatible server over an in-memory org.
//!
//! It speaks the real wire protocol (OAuth and SOAP login, REST, composite, Bulk API 2.0), so
//! forcebridge's own client, sync engine and assistant tools are tested against it, and users can
//! point existing tools (simple-salesforce, jsforce, the Salesforce CLI) at it.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use forcebridge_emulator::{Config, Emulator};
//!
//! let emulator = Emulator::start(Config::builtin(), "127.0.0.1:0".parse()?).await?;
//! println!("local org at {}", emulator.url());
//! let token = emulator.access_token(); // a session for the first user, without a login round trip
//! # let _ = token;
//! emulator.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! The emulator depends on the SOQL crate and the shared wire types, never on the client.

#![warn(missing_docs)]

mod api_error;
mod auth;
mod bulk;
mod composite;
mod config;
mod control;
mod dml;
mod duplicates;
mod error;
mod exposure;
mod faults;
mod http;
mod ids;
mod org;
mod persist;
mod render;
mod rest;
mod schema;
mod seed;
mod serve;
mod soql;
mod store;
mod tls;
mod upload;
mod value;
mod versions;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::task::JoinHandle;
use tower::Layer;
use tower_http::normalize_path::NormalizePathLayer;

pub use config::{
    AppConfig, Config, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_DUPLICATE_MESSAGE,
    DEFAULT_HEADER_READ_TIMEOUT, DEFAULT_PASSWORD, DEFAULT_SECURITY_TOKEN, DEFAULT_UPLOAD_BUDGET,
    DEFAULT_UPLOAD_WAIT, DEFAULT_USERNAME, DuplicateAction, DuplicateRuleConfig, FaultConfig,
    FaultScope, FieldConfig, FieldDefault, ObjectConfig, SeedConfig, UserConfig,
    ValidationRuleConfig,
};
pub use control::Control;
pub use error::{Error, ErrorKind};

use org::Org;

/// The newest API version the org serves, as `68.0`; it serves every version from `31.0` up.
pub const LATEST_API_VERSION: &str = versions::MAX_VERSION_TEXT;

/// A running local org, serving HTTP until [`Emulator::shutdown`] (or drop).
#[derive(Debug)]
pub struct Emulator {
    org: Arc<Org>,
    addr: SocketAddr,
    url: String,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
    trust_file: Option<PathBuf>,
}

impl Emulator {
    /// Builds the org from `config` and serves it over plain HTTP on `addr` (port 0 picks a free
    /// port; see [`Emulator::url`]). HTTP/1.1 and cleartext HTTP/2 (h2c) are both served;
    /// HTTP/1.1 response headers go out in their canonical case (`Content-Type`,
    /// `Sforce-Limit-Info`), as Salesforce sends them.
    ///
    /// An address other machines can reach (anything but a loopback address, `0.0.0.0` and
    /// `::` included) is refused with [`ErrorKind::Exposed`] while the org would accept
    /// credentials anyone can read in forcebridge's documentation: the built-in user
    /// ([`DEFAULT_USERNAME`], or any user whose password is [`DEFAULT_PASSWORD`]), an app whose
    /// secret is [`DEFAULT_CLIENT_SECRET`], no app of its own, or `auto_approve`. There, the
    /// built-in `forcebridge-local` app is left out (its secret is published); the Salesforce
    /// CLI's `PlatformCLI` stays, since logging in through it takes a configured user's
    /// password. [`Config::insecure_public`] turns the check off.
    pub async fn start(config: Config, addr: SocketAddr) -> Result<Emulator, Error> {
        config.check_limits()?;
        let config = exposure::check(config, addr)?;
        let header_read_timeout = config.header_read_timeout;
        let org = Org::new(config, false)?;
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| listen_error(addr, e))?;
        let addr = listener.local_addr().map_err(|e| listen_error(addr, e))?;
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let settings = serve::Settings {
            tls: None,
            header_read_timeout,
        };
        let task = tokio::spawn(serve::serve(listener, service(org.clone()), settings, rx));
        tracing::info!(%addr, "local org listening");
        Ok(Emulator {
            org,
            addr,
            url: format!("http://{}", reachable(addr)),
            shutdown: Some(tx),
            task: Some(task),
            trust_file: None,
        })
    }

    /// Builds the org from `config` and serves it over HTTPS (HTTP/1.1 and HTTP/2, chosen by
    /// ALPN) on `addr`, with a certificate for `localhost`, `127.0.0.1` and `::1` (and `addr`'s
    /// own address when it is a specific one) signed by a local authority whose certificate is
    /// written to `trust_file`; its key is kept next to it (`<file>.key`) and reused, so a
    /// client set up once keeps trusting the org. The org's URLs say `https`, and
    /// [`Emulator::url`] is `https://localhost:PORT` (or the address itself when `addr` names a
    /// specific, non-loopback one). An address beyond loopback is checked as
    /// [`Emulator::start`] says.
    pub async fn start_tls(
        config: Config,
        addr: SocketAddr,
        trust_file: &Path,
    ) -> Result<Emulator, Error> {
        let ip = addr.ip();
        let extra_names: Vec<String> = if ip.is_unspecified() || ip.is_loopback() {
            Vec::new()
        } else {
            vec![ip.to_string()]
        };
        // The org first: a configuration mistake is reported before any file is written.
        config.check_limits()?;
        let config = exposure::check(config, addr)?;
        let header_read_timeout = config.header_read_timeout;
        let org = Org::new(config, true)?;
        let certificate = tls::prepare(trust_file, &extra_names)?;
        let acceptor = serve::tls_acceptor(&certificate.chain_pem, &certificate.key_pem)
            .map_err(|e| Error::with_source(ErrorKind::Tls, "cannot use the TLS certificate", e))?;
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| listen_error(addr, e))?;
        let addr = listener.local_addr().map_err(|e| listen_error(addr, e))?;
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let settings = serve::Settings {
            tls: Some(acceptor),
            header_read_timeout,
        };
        let task = tokio::spawn(serve::serve(listener, service(org.clone()), settings, rx));
        tracing::info!(%addr, trust_file = %certificate.trust_file.display(), "local org listening (HTTPS)");
        Ok(Emulator {
            org,
            addr,
            url: match ip {
                // The certificate names localhost; a specific address is named too.
                ip if ip.is_unspecified() || ip.is_loopback() => {
                    format!("https://localhost:{}", addr.port())
                }
                _ => format!("https://{addr}"),
            },
            shutdown: Some(tx),
            task: Some(task),
            trust_file: Some(certificate.trust_file),
        })
    }

    /// The demo org: the built-in users and apps ([`Config::builtin`]) with about `records`
    /// records generated from the seed `"demo"`, served over plain HTTP on a free loopback port.
    /// The same count gives the same org, ids and timestamps included, on every run. Log in
    /// with [`Emulator::login`].
    pub async fn start_demo(records: u64) -> Result<Emulator, Error> {
        let mut config = Config::builtin();
        config.seed = Some(SeedConfig {
            seed: "demo".into(),
            records,
        });
        Emulator::start(config, SocketAddr::from(([127, 0, 0, 1], 0))).await
    }

    /// What a client needs to log in to this org with the OAuth username-password flow: the
    /// first configured user and the first connected app that allows that flow (one with a
    /// secret before one without).
    pub fn login(&self) -> LocalLogin {
        let user = &self.org.config.users[0];
        let apps = &self.org.config.apps;
        let app = apps
            .iter()
            .find(|app| app.allow_password_flow && !app.client_secret.is_empty())
            .or_else(|| apps.iter().find(|app| app.allow_password_flow))
            .or_else(|| apps.first());
        LocalLogin {
            url: self.url.clone(),
            username: user.username.clone(),
            password: user.password.clone(),
            security_token: user.security_token.clone(),
            client_id: app.map(|a| a.client_id.clone()).unwrap_or_default(),
            client_secret: app.map(|a| a.client_secret.clone()).unwrap_or_default(),
        }
    }

    /// The base URL: `http://127.0.0.1:PORT`, or `https://localhost:PORT` with TLS.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// With TLS, the certificate file clients must trust.
    pub fn trust_file(&self) -> Option<&Path> {
        self.trust_file.as_deref()
    }

    /// The address the org listens on (with the port chosen when port 0 was asked for).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// A fresh access token for the first configured user, issued directly (no HTTP login).
    pub fn access_token(&self) -> String {
        self.control().access_token()
    }

    /// Changes the injected faults while the org runs (see [`Control::set_faults`]).
    pub fn set_faults(&self, faults: FaultConfig) {
        self.control().set_faults(faults);
    }

    /// The handle tests drive the org with: its clock, sessions, schema, recycle bin,
    /// timestamps, faults and counts (see [`Control`]). Cheap; clones share the org.
    pub fn control(&self) -> Control {
        Control::new(self.org.clone())
    }

    /// Stops serving, waits for open connections to finish, and (with a data directory)
    /// compacts the org into a fresh snapshot. A Bulk ingest hold ends first.
    pub async fn shutdown(mut self) {
        self.org.jobs.shut_down();
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
        if let Some(persistence) = &self.org.persistence
            && let Err(e) = persistence.save(&self.org.store)
        {
            tracing::error!(error = %e, "could not write the final snapshot; the journal still holds every change");
        }
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        // Ends any Bulk ingest hold (see `Control::hold_bulk_ingest`).
        self.org.jobs.shut_down();
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

fn listen_error(addr: SocketAddr, error: std::io::Error) -> Error {
    Error::with_source(ErrorKind::Io, format!("cannot listen on {addr}"), error)
}

/// The login details of a local org (see [`Emulator::login`]). The secrets are the org's own
/// test credentials, yet `Debug` still leaves them out, so they never reach a log by accident.
#[derive(Clone)]
pub struct LocalLogin {
    /// The org's base URL, which is also its login URL.
    pub url: String,
    /// The first configured user's username.
    pub username: String,
    /// That user's password.
    pub password: String,
    /// That user's security token (appended to the password by some clients).
    pub security_token: String,
    /// The connected app's consumer key.
    pub client_id: String,
    /// The connected app's consumer secret.
    pub client_secret: String,
}

impl std::fmt::Debug for LocalLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalLogin")
            .field("url", &self.url)
            .field("username", &self.username)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

/// The address a client on this machine uses: a listener on every interface (`0.0.0.0`,
/// `::`) is reached through the loopback address.
fn reachable(addr: SocketAddr) -> SocketAddr {
    match addr.ip() {
        std::net::IpAddr::V4(ip) if ip.is_unspecified() => {
            SocketAddr::new(std::net::Ipv4Addr::LOCALHOST.into(), addr.port())
        }
        std::net::IpAddr::V6(ip) if ip.is_unspecified() => {
            SocketAddr::new(std::net::Ipv6Addr::LOCALHOST.into(), addr.port())
        }
        _ => addr,
    }
}

/// The org's HTTP service: the router with trailing slashes trimmed before routing, so
/// `/query/` and `/query` are the same resource.
type Service = tower_http::normalize_path::NormalizePath<axum::Router>;

fn service(org: Arc<Org>) -> Service {
    NormalizePathLayer::trim_trailing_slash().layer(http::router(org))
}
