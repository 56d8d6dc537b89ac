//! The one retry policy: which failures are worth another try, and how long to wait.

use std::time::{Duration, Instant, SystemTime};

use reqwest::StatusCode;
use reqwest::header::{HeaderMap, RETRY_AFTER};

use crate::error::{Error, error_chain};

/// How often and how long to retry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in total, including the first.
    pub max_attempts: u32,
    /// Delay before the first retry; doubled for each one after.
    pub base_delay: Duration,
    /// Upper bound for backoff delays and for honoured `Retry-After` values.
    pub max_delay: Duration,
    /// No retry starts once this much time has passed since the first attempt (or
    /// when its wait would end after it).
    pub deadline: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 6,
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(30),
            deadline: Duration::from_secs(300),
        }
    }
}

/// 429 and 5xx are transient; 501 (not implemented) and 505 (HTTP version) are answers.
pub fn is_retryable_status(status: StatusCode) -> bool {
    status == StatusCode::TOO_MANY_REQUESTS
        || (status.is_server_error()
            && status != StatusCode::NOT_IMPLEMENTED
            && status != StatusCode::HTTP_VERSION_NOT_SUPPORTED)
}

/// Connection refused, reset or dropped (also mid-body) and timeouts are worth another
/// try; a request that could not be built, or a redirect loop, is not.
pub fn is_retryable_error(e: &reqwest::Error) -> bool {
    !(e.is_builder() || e.is_redirect() || e.is_status() || e.is_decode())
}

/// `Retry-After` as delta-seconds or as an HTTP date (relative to `now`; a date in the
/// past is zero).
pub fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let v = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(v).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

impl RetryPolicy {
    /// The backoff before retry number `retry` (0 for the first): `base * 2^retry`, plus
    /// up to 25% jitter so parallel jobs do not retry in lock-step, never above
    /// `max_delay`.
    pub fn backoff(&self, retry: u32) -> Duration {
        let exp = self
            .base_delay
            .saturating_mul(1u32 << retry.min(16))
            .min(self.max_delay);
        let jitter = exp.mul_f64(rand::random::<f64>() * 0.25);
        (exp + jitter).min(self.max_delay)
    }

    /// The wait before retry number `retry`: the server's `Retry-After` when it gave
    /// one (capped at `max_delay`), else the backoff.
    pub fn delay(&self, retry: u32, retry_after: Option<Duration>) -> Duration {
        match retry_after {
            Some(d) => d.min(self.max_delay),
            None => self.backoff(retry),
        }
    }

    /// A fresh loop under this policy.
    pub fn attempts(&self) -> Attempts {
        Attempts {
            policy: self.clone(),
            started: Instant::now(),
            attempt: 0,
        }
    }

    /// Sends the request `make` builds (again for each attempt), retrying transient
    /// failures. The last answer is returned whatever its status, for the caller to
    /// judge; a transport failure on the last attempt is an [`Error::Transport`].
    pub async fn send<F>(&self, mut make: F) -> Result<reqwest::Response, Error>
    where
        F: FnMut() -> reqwest::RequestBuilder,
    {
        let mut attempts = self.attempts();
        loop {
            attempts.start();
            let (client, request) = make().build_split();
            let request = request.map_err(|e| Error::Transport {
                method: "?".into(),
                url: "?".into(),
                message: error_chain(&e),
            })?;
            let (method, url) = (request.method().to_string(), request.url().to_string());
            match client.execute(request).await {
                Ok(resp) if is_retryable_status(resp.status()) => {
                    let after = retry_after(resp.headers(), SystemTime::now());
                    if !attempts.wait(after).await {
                        return Ok(resp);
                    }
                }
                Ok(resp) => return Ok(resp),
                Err(e) if is_retryable_error(&e) && attempts.wait(None).await => {}
                Err(e) => {
                    return Err(Error::Transport {
                        method,
                        url,
                        message: error_chain(&e),
                    });
                }
            }
        }
    }
}

/// The policy as a loop: call [`start`](Attempts::start) before each attempt and
/// [`wait`](Attempts::wait) after a transient failure; `wait` says whether to go on.
#[derive(Debug, Clone)]
pub struct Attempts {
    policy: RetryPolicy,
    started: Instant,
    attempt: u32,
}

impl Attempts {
    /// Counts one more attempt; returns its number (1 for the first).
    pub fn start(&mut self) -> u32 {
        self.attempt += 1;
        self.attempt
    }

    /// Gives an attempt back (one that did not count, such as a re-authentication).
    pub fn uncount(&mut self) {
        self.attempt = self.attempt.saturating_sub(1);
    }

    /// Whether the attempt started last is the last one allowed by the count.
    pub fn is_last(&self) -> bool {
        self.attempt >= self.policy.max_attempts
    }

    /// The delay before the next attempt, or `None` when the attempts or the deadline
    /// are used up.
    pub fn next_delay(&self, retry_after: Option<Duration>) -> Option<Duration> {
        if self.is_last() {
            return None;
        }
        let delay = self
            .policy
            .delay(self.attempt.saturating_sub(1), retry_after);
        (self.started.elapsed() + delay <= self.policy.deadline).then_some(delay)
    }

    /// Sleeps before the next attempt; `false` (at once) when there is none.
    pub async fn wait(&mut self, retry_after: Option<Duration>) -> bool {
        match self.next_delay(retry_after) {
            Some(d) => {
                tokio::time::sleep(d).await;
                true
            }
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn retry_after_in_seconds_and_as_a_date() {
        let now = httpdate::parse_http_date("Wed, 21 Oct 2015 07:28:00 GMT").unwrap();
        let mut h = HeaderMap::new();
        assert_eq!(retry_after(&h, now), None);
        h.insert(RETRY_AFTER, HeaderValue::from_static("2"));
        assert_eq!(retry_after(&h, now), Some(Duration::from_secs(2)));
        h.insert(RETRY_AFTER, HeaderValue::from_static(" 120 "));
        assert_eq!(retry_after(&h, now), Some(Duration::from_secs(120)));
        h.insert(
            RETRY_AFTER,
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:30 GMT"),
        );
        assert_eq!(retry_after(&h, now), Some(Duration::from_secs(30)));
        // A date already past means "now".
        h.insert(
            RETRY_AFTER,
            HeaderValue::from_static("Wed, 21 Oct 2015 07:27:00 GMT"),
        );
        assert_eq!(retry_after(&h, now), Some(Duration::ZERO));
        // The obsolete RFC 850 form is an HTTP date too.
        h.insert(
            RETRY_AFTER,
            HeaderValue::from_static("Wednesday, 21-Oct-15 07:28:10 GMT"),
        );
        assert_eq!(retry_after(&h, now), Some(Duration::from_secs(10)));
        for junk in ["soon", "-1", "1.5", ""] {
            h.insert(RETRY_AFTER, HeaderValue::from_static(junk));
            assert_eq!(retry_after(&h, now), None, "{junk:?}");
        }
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let p = RetryPolicy {
            max_attempts: 10,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(1),
            ..RetryPolicy::default()
        };
        assert!(p.backoff(0) >= Duration::from_millis(100));
        assert!(p.backoff(0) <= Duration::from_millis(125));
        assert!(p.backoff(2) >= Duration::from_millis(400));
        assert_eq!(p.backoff(10), Duration::from_secs(1));
        assert_eq!(p.backoff(u32::MAX), Duration::from_secs(1));
        // Retry-After is honoured but capped too.
        assert_eq!(
            p.delay(0, Some(Duration::from_millis(700))),
            Duration::from_millis(700)
        );
        assert_eq!(
            p.delay(0, Some(Duration::from_secs(3600))),
            Duration::from_secs(1)
        );
    }

    #[test]
    fn jitter_stays_within_a_quarter_and_varies() {
        let p = RetryPolicy {
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(60),
            ..RetryPolicy::default()
        };
        let samples: Vec<Duration> = (0..200).map(|_| p.backoff(1)).collect();
        for s in &samples {
            assert!(*s >= Duration::from_millis(400), "{s:?}");
            assert!(*s < Duration::from_millis(500), "{s:?}");
        }
        let distinct: std::collections::BTreeSet<_> = samples.iter().collect();
        assert!(distinct.len() > 50, "{} distinct delays", distinct.len());
    }

    #[test]
    fn attempts_stop_at_the_count_and_the_deadline() {
        let p = RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(10),
            deadline: Duration::from_secs(60),
        };
        let mut a = p.attempts();
        assert_eq!(a.start(), 1);
        assert!(a.next_delay(None).is_some());
        a.start();
        assert!(a.next_delay(None).is_some());
        a.start();
        assert!(a.is_last());
        assert_eq!(a.next_delay(None), None);
        a.uncount();
        assert!(a.next_delay(None).is_some());

        let p = RetryPolicy {
            max_attempts: 100,
            max_delay: Duration::from_secs(120),
            deadline: Duration::from_secs(5),
            ..RetryPolicy::default()
        };
        let mut a = p.attempts();
        a.start();
        assert!(a.next_delay(Some(Duration::from_secs(1))).is_some());
        // A wait that would end past the deadline is not started.
        assert_eq!(a.next_delay(Some(Duration::from_secs(10))), None);
    }

    #[test]
    fn transient_statuses() {
        for s in [429, 500, 502, 503, 504, 599] {
            assert!(is_retryable_status(StatusCode::from_u16(s).unwrap()), "{s}");
        }
        for s in [200, 301, 400, 401, 403, 404, 409, 422, 501, 505] {
            assert!(
                !is_retryable_status(StatusCode::from_u16(s).unwrap()),
                "{s}"
            );
        }
    }
}
