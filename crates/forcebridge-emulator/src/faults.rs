//! Injected faults for testing clients: a share of API requests answered 503, a share whose
//! connection is cut after the work is done (the write happened, the client never hears), and
//! added latency. Only `/services/data/` is affected; login stays reliable.
//!
//! The settings can change while the org runs, so a test can turn faults on in the middle of a
//! long query stream.

use std::io;
use std::sync::{Arc, RwLock};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;

use crate::config::FaultConfig;
use crate::error::ApiFailure;
use crate::http::InternalCall;
use crate::org::Org;

/// The org's current fault settings.
#[derive(Debug)]
pub struct Faults(RwLock<FaultConfig>);

impl Faults {
    pub fn new(config: FaultConfig) -> Faults {
        Faults(RwLock::new(config))
    }

    pub fn get(&self) -> FaultConfig {
        *self.0.read().unwrap_or_else(|e| e.into_inner())
    }

    pub fn set(&self, config: FaultConfig) {
        *self.0.write().unwrap_or_else(|e| e.into_inner()) = config;
    }
}

pub(crate) async fn inject(State(org): State<Arc<Org>>, request: Request, next: Next) -> Response {
    // Sub-requests the org makes to itself (composite batch) already sit inside a request that
    // faults could hit; injecting again would compound the configured rates.
    if !request.uri().path().starts_with("/services/data/v")
        || request.extensions().get::<InternalCall>().is_some()
    {
        return next.run(request).await;
    }
    let faults = org.faults.get();
    if !faults.latency.is_zero() {
        tokio::time::sleep(faults.latency).await;
    }
    if faults.error_rate > 0.0 && rand::random::<f64>() < faults.error_rate {
        tracing::debug!(path = %request.uri().path(), "injected 503");
        return ApiFailure::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "SERVER_UNAVAILABLE",
            "The server is temporarily unavailable (injected fault)",
        )
        .into_response();
    }
    let cut = faults.reset_rate > 0.0 && rand::random::<f64>() < faults.reset_rate;
    let response = next.run(request).await;
    if !cut {
        return response;
    }
    tracing::debug!("injected connection reset");
    // Send the headers, then fail the body: the server drops the connection mid-response.
    let (parts, _) = response.into_parts();
    let failing = futures_util::stream::once(async {
        Err::<Bytes, io::Error>(io::Error::new(
            io::ErrorKind::ConnectionReset,
            "injected connection reset",
        ))
    });
    Response::from_parts(parts, Body::from_stream(failing))
}
