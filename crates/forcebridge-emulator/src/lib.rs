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

pub mod auth;
pub mod bulk;
pub mod composite;
pub mod config;
pub mod dml;
pub mod error;
pub mod faults;
pub mod http;
pub mod ids;
pub mod org;
pub mod persist;
pub mod render;
pub mod rest;
pub mod schema;
pub mod seed;
pub mod soql;
pub mod store;
pub mod tls;
pub mod value;
pub mod versions;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::extract::Request;
use tokio::task::JoinHandle;
use tower::Layer;
use tower_http::normalize_path::NormalizePathLayer;

pub use config::{Config, FaultConfig};
pub use org::{Org, StartError};

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
    /// port; see [`Emulator::url`]).
    pub async fn start(config: Config, addr: SocketAddr) -> Result<Emulator, StartError> {
        let org = Org::new(config, false)?;
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(StartError::Io)?;
        let addr = listener.local_addr().map_err(StartError::Io)?;
        let app = service(org.clone());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let serve = axum::serve(
                listener,
                axum::ServiceExt::<Request>::into_make_service(app),
            )
            .with_graceful_shutdown(async {
                let _ = rx.await;
            });
            if let Err(e) = serve.await {
                tracing::error!(error = %e, "the local org stopped serving");
            }
        });
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

    /// Builds the org from `config` and serves it over HTTPS on `addr`, with a certificate for
    /// `localhost`, `127.0.0.1` and `::1` (and `addr`'s own address when it is a specific one)
    /// signed by a local authority whose certificate is written to `trust_file` (see [`tls`]).
    /// The org's URLs say `https`, and [`Emulator::url`] is `https://localhost:PORT` (or the
    /// address itself when `addr` names a specific, non-loopback one).
    pub async fn start_tls(
        config: Config,
        addr: SocketAddr,
        trust_file: &Path,
    ) -> Result<Emulator, StartError> {
        let ip = addr.ip();
        let extra_names: Vec<String> = if ip.is_unspecified() || ip.is_loopback() {
            Vec::new()
        } else {
            vec![ip.to_string()]
        };
        // The org first: a configuration mistake is reported before any file is written.
        let org = Org::new(config, true)?;
        let certificate = tls::prepare(trust_file, &extra_names).map_err(StartError::Tls)?;
        let rustls = axum_server::tls_rustls::RustlsConfig::from_pem(
            certificate.chain_pem.into_bytes(),
            certificate.key_pem.into_bytes(),
        )
        .await
        .map_err(StartError::Io)?;
        let listener = std::net::TcpListener::bind(addr).map_err(StartError::Io)?;
        listener.set_nonblocking(true).map_err(StartError::Io)?;
        let addr = listener.local_addr().map_err(StartError::Io)?;
        let handle = axum_server::Handle::new();
        let server = axum_server::tls_rustls::from_tcp_rustls(listener, rustls)
            .map_err(StartError::Io)?
            .handle(handle.clone());
        let app = service(org.clone());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = rx.await;
            handle.graceful_shutdown(Some(std::time::Duration::from_secs(10)));
        });
        let task = tokio::spawn(async move {
            let serve = server.serve(axum::ServiceExt::<Request>::into_make_service(app));
            if let Err(e) = serve.await {
                tracing::error!(error = %e, "the local org stopped serving");
            }
        });
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
    pub async fn start_demo(records: u64) -> Result<Emulator, StartError> {
        let mut config = Config::builtin();
        config.seed = Some(config::SeedConfig {
            seed: "demo".into(),
            records,
        });
        Emulator::start(config, SocketAddr::from(([127, 0, 0, 1], 0))).await
    }

    /// What a client needs to log in to this org with the OAuth username-password flow: the
    /// first configured user and the first connected app that allows that flow.
    pub fn login(&self) -> LocalLogin {
        let user = &self.org.config.users[0];
        let app = self
            .org
            .config
            .apps
            .iter()
            .find(|app| app.allow_password_flow)
            .or_else(|| self.org.config.apps.first());
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

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn org(&self) -> &Arc<Org> {
        &self.org
    }

    /// A fresh access token for the first configured user, issued directly (no HTTP login).
    pub fn access_token(&self) -> String {
        self.org.sessions.issue(
            auth::session::Session {
                user: self.org.admin(),
                user_index: 0,
                client_id: None,
                issued_at: 0,
                expires_at: 0,
                scopes: vec!["api".to_string()],
                refresh_token: None,
            },
            self.org.now(),
        )
    }

    /// Changes the injected faults while the org runs.
    pub fn set_faults(&self, faults: FaultConfig) {
        self.org.faults.set(faults);
    }

    /// Stops serving, waits for open connections to finish, and (with a data directory)
    /// compacts the org into a fresh snapshot.
    pub async fn shutdown(mut self) {
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
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// The login details of a local org (see [`Emulator::login`]). The secrets are the org's own
/// test credentials, yet `Debug` still leaves them out, so they never reach a log by accident.
#[derive(Clone)]
pub struct LocalLogin {
    /// The org's base URL, which is also its login URL.
    pub url: String,
    pub username: String,
    pub password: String,
    pub security_token: String,
    pub client_id: String,
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
pub fn service(org: Arc<Org>) -> tower_http::normalize_path::NormalizePath<axum::Router> {
    NormalizePathLayer::trim_trailing_slash().layer(http::router(org))
}
