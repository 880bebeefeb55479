//! Serving the org's router on a listener: HTTP/1.1 and HTTP/2, with graceful shutdown.
//!
//! It exists because `axum::serve` cannot be told to write HTTP/1.1 header names in their
//! canonical case. hyper sends them lower case unless asked; Salesforce sends `Content-Type`,
//! `Sforce-Limit-Info` and `Sforce-Locator`, and some clients look headers up by that exact
//! spelling. hyper's title case capitalizes the first letter and each letter after a dash, so
//! `Sforce-NumberOfRecords` goes out as `Sforce-Numberofrecords` (hyper cannot send a case of
//! our choosing); HTTP/2 names are lower case by definition. It deliberately does no routing
//! and no TLS of its own: `axum-server` terminates TLS, set up the same way.

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::Request;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tower::ServiceExt;

use crate::Service;

/// How long open connections get to finish after shutdown is asked for.
const DRAIN: std::time::Duration = std::time::Duration::from_secs(10);

/// The connection settings both servers share: HTTP/1.1 with title-case header names, and
/// HTTP/2 (over TLS by ALPN, or cleartext with prior knowledge).
fn configure(builder: &mut auto::Builder<TokioExecutor>) {
    builder.http1().title_case_headers(true);
}

/// Serves `service` on `listener` over plain HTTP until `stop` fires (or its sender is
/// dropped), then waits for open connections to finish.
pub(crate) async fn plain(
    listener: tokio::net::TcpListener,
    service: Service,
    mut stop: oneshot::Receiver<()>,
) {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    configure(&mut builder);
    let graceful = GracefulShutdown::new();
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: wait a little rather than spin.
                    tracing::warn!(error = %e, "could not accept a connection");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut stop => break,
        };
        let _ = stream.set_nodelay(true);
        let connection = builder
            .serve_connection_with_upgrades(TokioIo::new(stream), hyper_service(&service))
            .into_owned();
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(DRAIN, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("connections still open after the drain time were closed");
    }
}

/// Serves `service` over HTTPS with `config` until `stop` fires; the same connection settings
/// as [`plain`], through `axum-server`'s builder.
pub(crate) fn tls(
    listener: std::net::TcpListener,
    config: axum_server::tls_rustls::RustlsConfig,
    service: Service,
    stop: oneshot::Receiver<()>,
) -> std::io::Result<JoinHandle<()>> {
    let handle = axum_server::Handle::<SocketAddr>::new();
    let mut server =
        axum_server::tls_rustls::from_tcp_rustls(listener, config)?.handle(handle.clone());
    configure(server.http_builder());
    tokio::spawn(async move {
        let _ = stop.await;
        handle.graceful_shutdown(Some(DRAIN));
    });
    Ok(tokio::spawn(async move {
        let serve = server.serve(axum::ServiceExt::<Request>::into_make_service(service));
        if let Err(e) = serve.await {
            tracing::error!(error = %e, "the local org stopped serving");
        }
    }))
}

/// The router as hyper calls it: with hyper's request bodies turned into axum's.
type HyperService = TowerToHyperService<
    tower::util::MapRequest<Service, fn(Request<hyper::body::Incoming>) -> Request<Body>>,
>;

/// The router as a hyper service.
fn hyper_service(service: &Service) -> HyperService {
    let into_axum: fn(Request<hyper::body::Incoming>) -> Request<Body> =
        |request| request.map(Body::new);
    TowerToHyperService::new(service.clone().map_request(into_axum))
}
