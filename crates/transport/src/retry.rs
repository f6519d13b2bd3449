//! When a failed request is sent again, and after how long.
//!
//! The decision is a pure function ([`RetryPolicy::decide`]) so that it is tested without a
//! server. The rules are those of the API contract: only idempotent requests, only on connection
//! failures, time-outs, 429, 502, 503 and 504; exponential backoff with jitter and a cap;
//! `Retry-After` honoured. A connection that could not be opened is retried whatever the method,
//! because nothing was sent.

use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{HeaderMap, RETRY_AFTER};

/// How many times a request is retried by default (so it is sent at most `1 +` this many times).
pub const DEFAULT_RETRIES: u32 = 3;
/// The first backoff delay by default; each further retry doubles it, up to the cap.
pub const DEFAULT_BACKOFF_BASE: Duration = Duration::from_millis(200);
/// The longest backoff delay by default.
pub const DEFAULT_BACKOFF_CAP: Duration = Duration::from_secs(5);
/// The longest `Retry-After` the client waits for; a server asking for more gets its error back.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// The retry settings of a transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// How many times a failed request may be sent again.
    pub max_retries: u32,
    /// The delay before the first retry; doubled for each further one.
    pub backoff_base: Duration,
    /// The upper bound of the exponential delay.
    pub backoff_cap: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: DEFAULT_RETRIES,
            backoff_base: DEFAULT_BACKOFF_BASE,
            backoff_cap: DEFAULT_BACKOFF_CAP,
        }
    }
}

/// What went wrong with one attempt, as far as retrying is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// The connection could not be opened: the request never left.
    Connect,
    /// No answer in time.
    Timeout,
    /// The connection broke after the request may have been sent (reset, truncated answer).
    Broken,
    /// The server answered with this status, perhaps naming a `Retry-After` delay.
    Status(StatusCode, Option<Duration>),
}

/// Statuses that signal a transient condition.
pub fn is_retryable_status(status: StatusCode) -> bool {
    matches!(status.as_u16(), 429 | 502 | 503 | 504)
}

impl RetryPolicy {
    /// A policy that never retries.
    pub fn none() -> Self {
        Self {
            max_retries: 0,
            ..Self::default()
        }
    }

    /// Decides whether attempt number `attempt` (1 for the first send) is followed by another,
    /// and after how long. `jitter` is a number in `[0, 1)`; callers pass a random one.
    pub fn decide(
        &self,
        idempotent: bool,
        attempt: u32,
        failure: Failure,
        jitter: f64,
    ) -> Option<Duration> {
        if attempt > self.max_retries {
            return None;
        }
        let retry_after = match failure {
            Failure::Connect => None,
            Failure::Timeout | Failure::Broken if idempotent => None,
            Failure::Status(status, after) if idempotent && is_retryable_status(status) => after,
            _ => return None,
        };
        if let Some(after) = retry_after {
            return (after <= MAX_RETRY_AFTER).then_some(after);
        }
        Some(self.backoff(attempt, jitter))
    }

    /// The delay after attempt number `attempt`: the exponential step, capped, then between half
    /// and all of it ("equal jitter"), so retries spread out but never come back at once.
    pub fn backoff(&self, attempt: u32, jitter: f64) -> Duration {
        let exp = attempt.saturating_sub(1).min(30);
        let step = self
            .backoff_base
            .saturating_mul(1u32 << exp)
            .min(self.backoff_cap);
        let jitter = jitter.clamp(0.0, 1.0);
        step.mul_f64(0.5 + jitter / 2.0)
    }
}

/// Reads a `Retry-After` header given in seconds. (The HTTP-date form is not used by DC/OS;
/// it is ignored and the ordinary backoff applies.)
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?;
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: RetryPolicy = RetryPolicy {
        max_retries: 3,
        backoff_base: Duration::from_millis(100),
        backoff_cap: Duration::from_millis(1000),
    };

    fn status(code: u16) -> Failure {
        Failure::Status(StatusCode::from_u16(code).unwrap(), None)
    }

    #[test]
    fn retries_transient_statuses_on_idempotent_requests() {
        for code in [429, 502, 503, 504] {
            assert!(P.decide(true, 1, status(code), 0.0).is_some(), "{code}");
            assert!(P.decide(false, 1, status(code), 0.0).is_none(), "{code}");
        }
    }

    #[test]
    fn never_retries_other_statuses() {
        for code in [400, 401, 403, 404, 409, 422, 500, 501] {
            assert!(P.decide(true, 1, status(code), 0.0).is_none(), "{code}");
        }
    }

    #[test]
    fn connect_failure_is_retried_whatever_the_method() {
        assert!(P.decide(false, 1, Failure::Connect, 0.0).is_some());
        assert!(P.decide(true, 1, Failure::Timeout, 0.0).is_some());
        assert!(P.decide(false, 1, Failure::Timeout, 0.0).is_none());
        assert!(P.decide(true, 1, Failure::Broken, 0.0).is_some());
        assert!(P.decide(false, 1, Failure::Broken, 0.0).is_none());
    }

    #[test]
    fn stops_after_max_retries() {
        assert!(P.decide(true, 3, status(503), 0.0).is_some());
        assert!(P.decide(true, 4, status(503), 0.0).is_none());
        assert!(
            RetryPolicy::none()
                .decide(true, 1, status(503), 0.0)
                .is_none()
        );
    }

    #[test]
    fn backoff_doubles_with_jitter_and_cap() {
        assert_eq!(P.backoff(1, 1.0), Duration::from_millis(100));
        assert_eq!(P.backoff(1, 0.0), Duration::from_millis(50));
        assert_eq!(P.backoff(2, 1.0), Duration::from_millis(200));
        assert_eq!(P.backoff(3, 1.0), Duration::from_millis(400));
        assert_eq!(P.backoff(5, 1.0), Duration::from_millis(1000));
        assert_eq!(P.backoff(40, 1.0), Duration::from_millis(1000));
    }

    #[test]
    fn retry_after_is_honoured_and_bounded() {
        let f = Failure::Status(StatusCode::TOO_MANY_REQUESTS, Some(Duration::from_secs(2)));
        assert_eq!(P.decide(true, 1, f, 0.5), Some(Duration::from_secs(2)));
        let f = Failure::Status(
            StatusCode::SERVICE_UNAVAILABLE,
            Some(Duration::from_secs(3600)),
        );
        assert_eq!(P.decide(true, 1, f, 0.5), None);
    }

    #[test]
    fn retry_after_header_parses_seconds_only() {
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, "7".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_secs(7)));
        h.insert(
            RETRY_AFTER,
            "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap(),
        );
        assert_eq!(retry_after(&h), None);
    }
}
