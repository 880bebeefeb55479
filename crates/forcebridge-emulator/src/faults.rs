//! Injected faults for testing clients: a share of API requests answered 503, a share whose
//! connection is cut after the work is done (the write happened, the client never hears),
//! added latency, and record writes that fail with `UNABLE_TO_LOCK_ROW`. Only
//! `/services/data/` is affected, and only the requests the configured scope covers; logins
//! stay reliable.
//!
//! Every decision is drawn from one ChaCha8 stream seeded with the configured seed, never from
//! the system's randomness, so the same requests, sent one after another in the same order,
//! meet the same faults on every run. Each request in scope draws two numbers (503, then
//! reset) and each record it writes draws one more when lock faults are on. The settings can
//! change while the org runs, so a test can turn faults on in the middle of a long query
//! stream; changing them starts the stream again from the seed.

use std::io;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::api_error::ApiFailure;
use crate::config::FaultConfig;
use crate::http::InternalCall;
use crate::org::Org;
use crate::store::RowLocks;

/// The org's current fault settings and the random stream its decisions come from.
#[derive(Debug)]
pub(crate) struct Faults(Mutex<FaultState>);

#[derive(Debug)]
struct FaultState {
    config: FaultConfig,
    rng: ChaCha8Rng,
}

/// Put into a request's extensions by [`inject`]: whether the faults' scope covers it, so the
/// records it writes may meet locked rows.
#[derive(Debug, Clone, Copy)]
pub(crate) struct InScope(pub(crate) bool);

impl Faults {
    pub(crate) fn new(config: FaultConfig) -> Faults {
        Faults(Mutex::new(FaultState {
            rng: ChaCha8Rng::seed_from_u64(config.seed),
            config,
        }))
    }

    fn state(&self) -> std::sync::MutexGuard<'_, FaultState> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn get(&self) -> FaultConfig {
        self.state().config.clone()
    }

    /// New settings, and the random stream started again from their seed.
    pub(crate) fn set(&self, config: FaultConfig) {
        *self.state() = FaultState {
            rng: ChaCha8Rng::seed_from_u64(config.seed),
            config,
        };
    }

    /// Whether the scope covers a request with `method` to `path` (after the version).
    pub(crate) fn covers(&self, method: &Method, path: &str) -> bool {
        self.state().config.scope.covers(method, path)
    }

    /// The decisions for one request in scope: (answer 503, cut the connection).
    fn draw_request(&self) -> (bool, bool) {
        let mut state = self.state();
        let FaultState { config, rng } = &mut *state;
        let unavailable = rng.random::<f64>() < config.error_rate;
        let reset = rng.random::<f64>() < config.reset_rate;
        (unavailable, reset)
    }
}

impl RowLocks for Faults {
    fn row_is_locked(&self) -> bool {
        let mut state = self.state();
        let FaultState { config, rng } = &mut *state;
        config.lock_rate > 0.0 && rng.random::<f64>() < config.lock_rate
    }
}

/// The path of an API request after `/services/data/vNN.N`, or `None` for any other request.
fn api_path(path: &str) -> Option<&str> {
    let rest = path.strip_prefix("/services/data/v")?;
    Some(rest.find('/').map_or("", |i| &rest[i..]))
}

pub(crate) async fn inject(
    State(org): State<Arc<Org>>,
    mut request: Request,
    next: Next,
) -> Response {
    // Sub-requests the org makes to itself (composite batch) already sit inside a request that
    // faults could hit; injecting again would compound the configured rates. They carry their
    // parent's scope instead.
    if let Some(call) = request.extensions().get::<InternalCall>().copied() {
        request
            .extensions_mut()
            .insert(InScope(call.in_fault_scope));
        return next.run(request).await;
    }
    let Some(path) = api_path(request.uri().path()) else {
        return next.run(request).await;
    };
    if !org.faults.covers(request.method(), path) {
        request.extensions_mut().insert(InScope(false));
        return next.run(request).await;
    }
    request.extensions_mut().insert(InScope(true));
    let latency = org.faults.get().latency;
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let (unavailable, cut) = org.faults.draw_request();
    if unavailable {
        tracing::debug!(path = %request.uri().path(), "injected 503");
        return ApiFailure::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "SERVER_UNAVAILABLE",
            "The server is temporarily unavailable (injected fault)",
        )
        .into_response();
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::FaultScope;

    fn faults(seed: u64) -> Faults {
        Faults::new(FaultConfig {
            error_rate: 0.3,
            reset_rate: 0.2,
            lock_rate: 0.25,
            seed,
            ..FaultConfig::none()
        })
    }

    fn decisions(faults: &Faults) -> Vec<(bool, bool, bool)> {
        (0..200)
            .map(|_| {
                let (a, b) = faults.draw_request();
                (a, b, faults.row_is_locked())
            })
            .collect()
    }

    #[test]
    fn the_same_seed_gives_the_same_faults_and_setting_them_starts_again() {
        let first = faults(7);
        let run = decisions(&first);
        assert_eq!(decisions(&faults(7)), run);
        assert_ne!(decisions(&faults(8)), run);
        first.set(first.get());
        assert_eq!(decisions(&first), run, "set starts the stream again");
        let hits = run.iter().filter(|d| d.0).count();
        assert!((30..=90).contains(&hits), "about 30% of 200: {hits}");
    }

    #[test]
    fn the_scope_and_the_path_after_the_version() {
        assert_eq!(
            api_path("/services/data/v60.0/sobjects/Account"),
            Some("/sobjects/Account")
        );
        assert_eq!(api_path("/services/data/v60.0"), Some(""));
        assert_eq!(api_path("/services/oauth2/token"), None);
        let writes = FaultScope::Writes;
        assert!(writes.covers(&Method::PATCH, "/sobjects/Account/x"));
        assert!(!writes.covers(&Method::GET, "/query"));
        let path = FaultScope::parse("/composite").unwrap();
        assert!(path.covers(&Method::GET, "/composite/sobjects"));
        assert!(!path.covers(&Method::POST, "/sobjects/Account"));
        assert_eq!(FaultScope::parse("sometimes"), None);
    }
}
