//! API usage as the org reports it (`Sforce-Limit-Info: api-usage=18/5000`) and the optional
//! budget that stops a client before the org's daily quota is spent.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

/// The org's API request count and daily limit, from the last response that reported them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApiUsage {
    /// API requests the org has counted against its daily limit (the `N` of `api-usage=N/M`).
    pub used: u64,
    /// The org's daily API request limit (the `M` of `api-usage=N/M`).
    pub max: u64,
}

impl ApiUsage {
    /// Reads `api-usage=N/M` out of a `Sforce-Limit-Info` value. Other parts
    /// (`per-app-api-usage=...`, `api-bursts=...`) may come before or after it.
    pub fn parse(header: &str) -> Option<ApiUsage> {
        header.split([';', ',']).find_map(|part| {
            let (used, max) = part.trim().strip_prefix("api-usage=")?.split_once('/')?;
            Some(ApiUsage {
                used: used.trim().parse().ok()?,
                max: max.trim().parse().ok()?,
            })
        })
    }

    /// The share of the limit used, from 0.0 up.
    pub fn fraction(&self) -> f64 {
        if self.max == 0 {
            1.0
        } else {
            self.used as f64 / self.max as f64
        }
    }
}

/// The latest usage a client has seen, shared by its clones. Responses can arrive out of
/// order, so the highest count seen since the last reset of the counter wins.
#[derive(Debug, Default)]
pub(crate) struct UsageTracker {
    used: AtomicU64,
    max: AtomicU64,
    /// Requests this client has sent, whatever the org reported.
    sent: AtomicU64,
    /// The org's clock at its latest answer (the `Date` header), as Unix seconds; 0 before any.
    server_time: AtomicI64,
}

impl UsageTracker {
    pub(crate) fn record(&self, usage: ApiUsage) {
        self.max.store(usage.max, Ordering::Relaxed);
        // The org's counter only goes down when its day rolls over; a lower figure from a late
        // response is stale unless it is much lower, which means the day rolled over.
        let previous = self.used.load(Ordering::Relaxed);
        if usage.used >= previous || previous - usage.used > usage.max / 2 {
            self.used.store(usage.used, Ordering::Relaxed);
        }
    }

    /// Keeps the org's clock from a response's `Date` header (`Tue, 01 Jan 2999 00:00:00 GMT`).
    /// The latest answer wins: the org's clock only moves forward.
    pub(crate) fn record_date(&self, date: &str) {
        if let Ok(time) = chrono::DateTime::parse_from_rfc2822(date) {
            self.server_time
                .fetch_max(time.timestamp(), Ordering::Relaxed);
        }
    }

    pub(crate) fn server_time(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        match self.server_time.load(Ordering::Relaxed) {
            0 => None,
            seconds => chrono::DateTime::from_timestamp(seconds, 0),
        }
    }

    pub(crate) fn count_sent(&self) {
        self.sent.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }

    pub(crate) fn latest(&self) -> Option<ApiUsage> {
        let max = self.max.load(Ordering::Relaxed);
        (max > 0).then(|| ApiUsage {
            used: self.used.load(Ordering::Relaxed),
            max,
        })
    }
}

/// How much of the org's daily API limit a client may use: once the org reports usage at or
/// above `share` of its limit, the client refuses to send more requests with an
/// [`ErrorKind::Limit`](crate::ErrorKind::Limit) error.
///
/// The org is the authority: the figure comes from the `Sforce-Limit-Info` header of the
/// latest response, so requests by other clients of the same org count too. Before the first
/// response the client cannot know, and sends.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ApiBudget {
    /// A share of the daily limit, between 0.0 and 1.0 (0.8 stops at 80%).
    pub share: f64,
}

impl ApiBudget {
    /// The message of the refusal, or `None` when the budget allows another request.
    pub(crate) fn check(&self, usage: Option<ApiUsage>) -> Option<String> {
        let usage = usage?;
        let allowed = (usage.max as f64 * self.share).floor() as u64;
        (usage.used >= allowed).then(|| {
            format!(
                "API budget spent: the org reports {} of {} daily requests used, and this client may use {:.0}% ({allowed})",
                usage.used,
                usage.max,
                self.share * 100.0
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_is_read_from_every_header_form() {
        let plain = ApiUsage::parse("api-usage=18/5000").unwrap();
        assert_eq!(
            plain,
            ApiUsage {
                used: 18,
                max: 5000
            }
        );
        let extended =
            ApiUsage::parse("api-usage=25/5000; per-app-api-usage=17/250(appName=sample-app)")
                .unwrap();
        assert_eq!(
            extended,
            ApiUsage {
                used: 25,
                max: 5000
            }
        );
        let later = ApiUsage::parse("api-bursts=1/750; api-usage=7/100").unwrap();
        assert_eq!(later, ApiUsage { used: 7, max: 100 });
        assert_eq!(ApiUsage::parse("per-app-api-usage=17/250"), None);
        assert_eq!(ApiUsage::parse("api-usage=x/5"), None);
    }

    #[test]
    fn the_tracker_ignores_stale_counts_but_follows_a_new_day() {
        let tracker = UsageTracker::default();
        assert_eq!(tracker.latest(), None);
        tracker.record(ApiUsage { used: 10, max: 100 });
        tracker.record(ApiUsage { used: 9, max: 100 });
        assert_eq!(tracker.latest().unwrap().used, 10);
        tracker.record(ApiUsage { used: 90, max: 100 });
        tracker.record(ApiUsage { used: 2, max: 100 });
        assert_eq!(tracker.latest().unwrap().used, 2);
    }

    #[test]
    fn the_budget_refuses_at_its_share() {
        let budget = ApiBudget { share: 0.5 };
        assert_eq!(budget.check(None), None);
        assert_eq!(budget.check(Some(ApiUsage { used: 49, max: 100 })), None);
        let refusal = budget.check(Some(ApiUsage { used: 50, max: 100 })).unwrap();
        assert!(refusal.contains("50 of 100"), "{refusal}");
    }
}
