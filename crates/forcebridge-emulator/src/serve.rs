//! Serving the org's router on a listener: HTTP/1.1 and HTTP/2, over plain TCP or TLS, with a
//! deadline for every request head and graceful shutdown.
//!
//! It exists because `axum::serve` cannot be told to write HTTP/1.1 header names in their
//! canonical case. hyper sends them lower case unless asked; Salesforce sends `Content-Type`,
//! `Sforce-Limit-Info` and `Sforce-Locator`, and some clients look headers up by that exact
//! spelling. hyper's title case capitalizes the first letter and each letter after a dash, so
//! `Sforce-NumberOfRecords` goes out as `Sforce-Numberofrecords` (hyper cannot send a case of
//! our choosing); HTTP/2 names are lower case by definition.
//!
//! Every connection must send a complete request head within `Config::header_read_timeout`: from
//! the moment it is accepted (the TLS handshake included) and again once each response has been
//! sent; otherwise it is closed. hyper's own HTTP/1 header timeout covers a head that arrives
//! slowly; a watch on each connection covers what hyper's timer does not see: a client that
//! sends nothing, or stops inside the bytes hyper reads to choose between HTTP/1.1 and HTTP/2,
//! or an HTTP/2 connection with no request open. While a request is in flight (its body being
//! read, its answer being computed or streamed) the deadline does not run. It deliberately does
//! no routing: that is the router's.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::response::Response;
use futures_util::future::BoxFuture;
use hyper::body::{Body as HttpBody, Frame, Incoming, SizeHint};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{oneshot, watch};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls;
use tower::ServiceExt;

use crate::Service;

/// How long open connections get to finish after shutdown is asked for.
const DRAIN: Duration = Duration::from_secs(10);

/// How the org serves connections.
pub(crate) struct Settings {
    /// `Some` for HTTPS.
    pub tls: Option<TlsAcceptor>,
    /// How long a connection gets to send a complete request head.
    pub header_read_timeout: Duration,
}

/// The TLS settings for a server certificate chain and its key (PEM): rustls with aws-lc-rs,
/// HTTP/2 and HTTP/1.1 offered by ALPN.
pub(crate) fn tls_acceptor(chain_pem: &str, key_pem: &str) -> Result<TlsAcceptor, rustls::Error> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};

    let pem_error = |e: rustls::pki_types::pem::Error| rustls::Error::General(e.to_string());
    let chain = CertificateDer::pem_slice_iter(chain_pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(pem_error)?;
    let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).map_err(pem_error)?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// Serves `service` on `listener` until `stop` fires (or its sender is dropped), then waits
/// (up to [`DRAIN`]) for open connections to finish.
pub(crate) async fn serve(
    listener: TcpListener,
    service: Service,
    settings: Settings,
    mut stop: oneshot::Receiver<()>,
) {
    let builder = Arc::new(builder(settings.header_read_timeout));
    // Every connection holds a receiver: `true` asks it to finish, and the drain waits for the
    // last one to be dropped.
    let (stopping, _) = watch::channel(false);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: wait a little rather than spin.
                    tracing::warn!(error = %e, "could not accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut stop => break,
        };
        let _ = stream.set_nodelay(true);
        let connection = Connection {
            builder: builder.clone(),
            service: service.clone(),
            tls: settings.tls.clone(),
            deadline: settings.header_read_timeout,
            stopping: stopping.subscribe(),
        };
        tokio::spawn(async move {
            if let Err(e) = connection.run(stream).await {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    let _ = stopping.send(true);
    if tokio::time::timeout(DRAIN, stopping.closed())
        .await
        .is_err()
    {
        tracing::warn!("connections still open after the drain time were closed");
    }
}

/// The connection settings: HTTP/1.1 with title-case header names and a header timeout, and
/// HTTP/2 (over TLS by ALPN, or cleartext with prior knowledge).
fn builder(header_read_timeout: Duration) -> auto::Builder<TokioExecutor> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .title_case_headers(true)
        .timer(TokioTimer::new())
        .header_read_timeout(header_read_timeout);
    builder
}

/// How long a connection that ran out of time gets to close in good order (an HTTP/2 GOAWAY)
/// before it is dropped.
const CLOSE_GRACE: Duration = Duration::from_secs(1);

/// One accepted connection.
struct Connection {
    builder: Arc<auto::Builder<TokioExecutor>>,
    service: Service,
    tls: Option<TlsAcceptor>,
    deadline: Duration,
    stopping: watch::Receiver<bool>,
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl Connection {
    async fn run(self, stream: TcpStream) -> Result<(), BoxError> {
        let activity = Activity::new();
        // The deadline runs from the moment the connection is accepted.
        let idle = std::pin::pin!(activity.idle_for(self.deadline));
        match &self.tls {
            Some(acceptor) => {
                let mut idle = idle;
                let stream = tokio::select! {
                    stream = acceptor.accept(stream) => stream?,
                    () = idle.as_mut() => {
                        tracing::debug!("closed a connection whose TLS handshake took too long");
                        return Ok(());
                    }
                };
                self.http(stream, &activity, idle).await
            }
            None => self.http(stream, &activity, idle).await,
        }
    }

    async fn http<I>(
        mut self,
        io: I,
        activity: &Arc<Activity>,
        mut idle: std::pin::Pin<&mut impl Future<Output = ()>>,
    ) -> Result<(), BoxError>
    where
        I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let service = Tracked {
            service: self.service.clone(),
            activity: activity.clone(),
        };
        let connection = self.builder.serve_connection_with_upgrades(
            TokioIo::new(io),
            hyper::service::service_fn(move |request| service.call(request)),
        );
        let mut connection = std::pin::pin!(connection);
        let mut closing = false;
        let grace = tokio::time::sleep(Duration::MAX);
        let mut grace = std::pin::pin!(grace);
        loop {
            tokio::select! {
                outcome = connection.as_mut() => return outcome,
                () = idle.as_mut(), if !closing => {
                    tracing::debug!(timeout_s = self.deadline.as_secs_f64(), "closing a connection that sent no complete request head in time");
                    connection.as_mut().graceful_shutdown();
                    closing = true;
                    grace.as_mut().reset(tokio::time::Instant::now() + CLOSE_GRACE);
                }
                () = grace.as_mut(), if closing => return Ok(()),
                changed = self.stopping.changed(), if !closing => {
                    // The org stops (or is gone): finish what is in flight, take nothing new.
                    if changed.is_err() || *self.stopping.borrow() {
                        connection.as_mut().graceful_shutdown();
                        closing = true;
                    }
                }
            }
        }
    }
}

/// What a connection is doing: how many of its requests are in flight. Each change is
/// published, so the deadline can start again when the last one ends.
struct Activity {
    in_flight: watch::Sender<usize>,
}

impl Activity {
    fn new() -> Arc<Activity> {
        Arc::new(Activity {
            in_flight: watch::Sender::new(0),
        })
    }

    fn begin(self: &Arc<Activity>) -> InFlight {
        self.in_flight.send_modify(|n| *n += 1);
        InFlight(self.clone())
    }

    /// Returns once the connection has had no request in flight for `deadline` on end.
    async fn idle_for(&self, deadline: Duration) {
        let mut in_flight = self.in_flight.subscribe();
        loop {
            if *in_flight.borrow_and_update() > 0 {
                // The sender lives as long as `self`, so this never fails.
                let _ = in_flight.changed().await;
                continue;
            }
            if tokio::time::timeout(deadline, in_flight.changed())
                .await
                .is_err()
            {
                return;
            }
        }
    }
}

/// A request in flight on its connection, from the moment its head is complete until its
/// response has been sent (or dropped).
struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.send_modify(|n| *n = n.saturating_sub(1));
    }
}

/// The router as one connection calls it: hyper's request bodies turned into axum's, and each
/// request counted in flight until its response body is done.
#[derive(Clone)]
struct Tracked {
    service: Service,
    activity: Arc<Activity>,
}

impl Tracked {
    fn call(&self, request: Request<Incoming>) -> BoxFuture<'static, Result<Response, Infallible>> {
        let in_flight = self.activity.begin();
        let service = self.service.clone();
        Box::pin(async move {
            let response = service.oneshot(request.map(Body::new)).await?;
            Ok(response.map(|body| {
                Body::new(Sending {
                    body,
                    _in_flight: in_flight,
                })
            }))
        })
    }
}

/// A response body that keeps its request in flight until it has been sent.
struct Sending {
    body: Body,
    _in_flight: InFlight,
}

impl HttpBody for Sending {
    type Data = axum::body::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        std::pin::Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}
