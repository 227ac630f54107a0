//! When to retry an upstream call, and how long to wait first: 429 and
//! transient 5xx answers are retried, after the upstream's `Retry-After` when it
//! sends one (seconds or an HTTP date), else after an exponential backoff.

use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{HeaderMap, RETRY_AFTER};

/// First backoff without `Retry-After`; doubles per retry.
pub const BASE_BACKOFF: Duration = Duration::from_millis(250);
/// Longest backoff of our own.
const MAX_BACKOFF: Duration = Duration::from_secs(4);
/// Longest `Retry-After` honoured: a longer one is not waited for (the error
/// goes back to the client at once instead of holding its request).
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(20);

pub fn is_retryable(status: StatusCode) -> bool {
    matches!(status.as_u16(), 429 | 500 | 502 | 503 | 504)
}

/// Backoff before retry number `retry` (0-based) when the upstream gave no hint.
pub fn backoff(retry: u32) -> Duration {
    BASE_BACKOFF
        .saturating_mul(2u32.saturating_pow(retry))
        .min(MAX_BACKOFF)
}

/// The upstream's `Retry-After`, if it sent a valid one.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let date = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let wait = date.with_timezone(&chrono::Utc) - chrono::Utc::now();
    Some(wait.to_std().unwrap_or(Duration::ZERO))
}

/// How long to wait before retrying an answer with `status`, or `None` when it
/// must not be retried.
pub fn wait_before_retry(status: StatusCode, headers: &HeaderMap, retry: u32) -> Option<Duration> {
    if !is_retryable(status) {
        return None;
    }
    match retry_after(headers) {
        Some(wait) if wait > MAX_RETRY_AFTER => None,
        Some(wait) => Some(wait),
        None => Some(backoff(retry)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn with_retry_after(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn retries_rate_limits_and_transient_server_errors_only() {
        let none = HeaderMap::new();
        for status in [429, 500, 502, 503, 504] {
            let status = StatusCode::from_u16(status).unwrap();
            assert!(wait_before_retry(status, &none, 0).is_some(), "{status}");
        }
        for status in [400, 401, 404, 422, 501] {
            let status = StatusCode::from_u16(status).unwrap();
            assert_eq!(wait_before_retry(status, &none, 0), None, "{status}");
        }
    }

    #[test]
    fn honours_retry_after_in_seconds_and_as_a_date() {
        let s = StatusCode::TOO_MANY_REQUESTS;
        assert_eq!(
            wait_before_retry(s, &with_retry_after("3"), 0),
            Some(Duration::from_secs(3))
        );
        let soon = (chrono::Utc::now() + chrono::Duration::seconds(5)).to_rfc2822();
        let wait = wait_before_retry(s, &with_retry_after(&soon), 0).unwrap();
        assert!(
            wait <= Duration::from_secs(5) && wait >= Duration::from_secs(3),
            "{wait:?}"
        );
        let past = "Wed, 21 Oct 2015 07:28:00 GMT";
        assert_eq!(
            wait_before_retry(s, &with_retry_after(past), 0),
            Some(Duration::ZERO)
        );
        assert_eq!(
            wait_before_retry(s, &with_retry_after("3600"), 0),
            None,
            "too long to hold a request"
        );
        assert_eq!(
            wait_before_retry(s, &with_retry_after("soon"), 1),
            Some(backoff(1)),
            "an invalid hint falls back to the backoff"
        );
    }

    #[test]
    fn backoff_doubles_and_is_bounded() {
        assert_eq!(backoff(0), Duration::from_millis(250));
        assert_eq!(backoff(1), Duration::from_millis(500));
        assert_eq!(backoff(10), MAX_BACKOFF);
        assert_eq!(backoff(u32::MAX), MAX_BACKOFF);
    }
}
