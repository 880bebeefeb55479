//! When a failed request is tried again, and after how long.
//!
//! A request is retried when the failure is transient (the connection failed or was cut, the
//! org answered 5xx, 429 or `UNABLE_TO_LOCK_ROW`) and trying again cannot do the work twice:
//! either the request is idempotent (reads, updates, upserts, deletes), or the failure proves
//! the org did nothing (the connection was never made, the row lock was not taken). A plain
//! create is therefore not retried after a timeout unless the policy says so. A server
//! certificate the client refuses is never retried: no wait makes it trusted.
//!
//! Delays grow exponentially with jitter (from `backon`), and a `Retry-After` header replaces
//! the computed delay when the org sends one.

use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};

/// How a client retries failed requests.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Retries after the first attempt (0 turns retries off).
    pub max_retries: u32,
    /// The delay before the first retry; each later one doubles, up to `max_delay`.
    pub initial_delay: Duration,
    /// The cap on the doubling delay; jitter, when on, is added after the cap.
    pub max_delay: Duration,
    /// Add a random share (up to 100%) to each delay, so many clients do not retry in step.
    pub jitter: bool,
    /// The longest `Retry-After` the client waits for; a longer one fails the request.
    pub max_retry_after: Duration,
    /// Also retry requests that are not idempotent (plain creates, composite requests with
    /// creates) after failures that do not prove the org did nothing. Off by default: a
    /// retried create after a cut connection can create the record twice.
    pub retry_non_idempotent: bool,
}

impl RetryPolicy {
    /// Four retries, from 500 ms up to 30 s, with jitter.
    pub fn standard() -> RetryPolicy {
        RetryPolicy {
            max_retries: 4,
            initial_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            jitter: true,
            max_retry_after: Duration::from_secs(120),
            retry_non_idempotent: false,
        }
    }

    /// No retries at all.
    pub fn none() -> RetryPolicy {
        RetryPolicy {
            max_retries: 0,
            ..RetryPolicy::standard()
        }
    }

    /// The delays before each retry, in order.
    pub(crate) fn delays(&self) -> impl Iterator<Item = Duration> + Send + use<> {
        let mut builder = ExponentialBuilder::default()
            .with_min_delay(self.initial_delay)
            .with_max_delay(self.max_delay)
            .with_factor(2.0)
            .with_max_times(self.max_retries as usize);
        if self.jitter {
            builder = builder.with_jitter();
        }
        builder.build()
    }
}

/// A failed attempt, as far as retrying cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Failure<'a> {
    /// The request could not be built here: sending it again would fail the same way.
    Local,
    /// No connection was made: nothing reached the org.
    Connect,
    /// No connection was made because the server's TLS certificate was refused (untrusted,
    /// expired, for another host). Nothing reached the org, and waiting fixes nothing.
    Certificate,
    /// The connection failed after the request may have been sent (reset, timeout, cut body).
    Transport,
    /// The org answered with an error.
    Status {
        status: u16,
        error_code: Option<&'a str>,
    },
}

impl Failure<'_> {
    /// Whether this failure is worth another attempt for a request of this kind.
    pub(crate) fn is_retryable(&self, idempotent: bool, policy: &RetryPolicy) -> bool {
        let may_repeat = idempotent || policy.retry_non_idempotent;
        match *self {
            Failure::Local | Failure::Certificate => false,
            Failure::Connect => true,
            Failure::Transport => may_repeat,
            Failure::Status {
                error_code: Some("UNABLE_TO_LOCK_ROW"),
                ..
            } => true,
            // Too many requests: refused before any work was done.
            Failure::Status { status: 429, .. } => true,
            Failure::Status { status, .. } => {
                may_repeat && (status == 420 || (500..600).contains(&status))
            }
        }
    }
}

/// The delay a `Retry-After` header asks for (seconds or an HTTP date).
pub(crate) fn retry_after(value: &str, now: chrono::DateTime<chrono::Utc>) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let when = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    Some(
        (when.with_timezone(&chrono::Utc) - now)
            .to_std()
            .unwrap_or_default(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_up_to_the_cap_and_stop_after_the_retries() {
        let policy = RetryPolicy {
            max_retries: 5,
            initial_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(500),
            jitter: false,
            ..RetryPolicy::standard()
        };
        let delays: Vec<u128> = policy.delays().map(|d| d.as_millis()).collect();
        assert_eq!(delays, [100, 200, 400, 500, 500]);
        assert_eq!(RetryPolicy::none().delays().count(), 0);
    }

    #[test]
    fn jitter_stays_between_the_delay_and_twice_it() {
        let policy = RetryPolicy {
            max_retries: 3,
            initial_delay: Duration::from_millis(100),
            jitter: true,
            ..RetryPolicy::standard()
        };
        for _ in 0..20 {
            for (delay, base) in policy.delays().zip([100, 200, 400]) {
                let ms = delay.as_millis();
                assert!((base..=2 * base).contains(&ms), "{ms} for {base}");
            }
        }
    }

    #[test]
    fn only_failures_that_cannot_repeat_work_retry_a_create() {
        let policy = RetryPolicy::standard();
        let server = |status, code| Failure::Status {
            status,
            error_code: code,
        };
        // A read may always be repeated.
        for failure in [
            Failure::Connect,
            Failure::Transport,
            server(503, Some("SERVER_UNAVAILABLE")),
            server(500, None),
            server(429, None),
        ] {
            assert!(failure.is_retryable(true, &policy), "{failure:?}");
        }
        // A create only when the org surely did nothing.
        assert!(Failure::Connect.is_retryable(false, &policy));
        assert!(server(400, Some("UNABLE_TO_LOCK_ROW")).is_retryable(false, &policy));
        assert!(server(429, None).is_retryable(false, &policy));
        assert!(!Failure::Transport.is_retryable(false, &policy));
        assert!(!server(503, None).is_retryable(false, &policy));
        let bold = RetryPolicy {
            retry_non_idempotent: true,
            ..RetryPolicy::standard()
        };
        assert!(Failure::Transport.is_retryable(false, &bold));
        // Client errors never, nor a request that could not be built, nor a connection whose
        // certificate was refused (even with every retry allowed).
        assert!(!Failure::Local.is_retryable(true, &policy));
        assert!(!Failure::Certificate.is_retryable(true, &bold));
        assert!(!server(400, Some("INVALID_FIELD")).is_retryable(true, &policy));
        assert!(!server(403, Some("REQUEST_LIMIT_EXCEEDED")).is_retryable(true, &policy));
        assert!(!server(404, Some("NOT_FOUND")).is_retryable(true, &policy));
    }

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-11-23T10:00:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        assert_eq!(retry_after("7", now), Some(Duration::from_secs(7)));
        assert_eq!(
            retry_after("Mon, 23 Nov 2026 10:00:30 GMT", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            retry_after("Mon, 23 Nov 2026 09:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(retry_after("soon", now), None);
    }
}
