//! The per-principal request-rate limit for JSON and Seven Bridges calls, so one portal user
//! cannot spend the account's shared API quota (HealthOmics and Seven Bridges throttle per
//! account or token, not per portal user). Part bodies are not counted here: their in-flight
//! cap is [`super::limit`].
//!
//! A token bucket per principal (`issuer` + `sub`): it holds up to `burst` tokens, refills at
//! `per_sec` tokens a second, and each call takes one; a call finding less than one token gets
//! 429 `ThrottlingException` with `Retry-After` (whole seconds until a token is back). Like the
//! part cap, the count is per proxy instance.
//!
//! Memory stays bounded by the principals active recently: a bucket that has refilled to
//! `burst` is the same as no bucket, so such buckets are dropped in a sweep that runs whenever
//! the table has doubled since the last one (amortised O(1) per call).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::error::ProxyError;

/// Default refill rate: calls per second per principal.
pub const DEFAULT_PER_SEC: f64 = 20.0;
/// Default bucket size: calls a principal may make at once after being idle.
pub const DEFAULT_BURST: u32 = 40;
/// Table size below which no sweep runs.
const MIN_SWEEP_AT: usize = 1024;

/// The limit's settings. `per_sec == 0` disables the limit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimit {
    /// Tokens added per second (calls per second in the long run); 0: no limit.
    pub per_sec: f64,
    /// Largest number of tokens a bucket holds (calls at once).
    pub burst: u32,
}

impl Default for RateLimit {
    fn default() -> Self {
        Self { per_sec: DEFAULT_PER_SEC, burst: DEFAULT_BURST }
    }
}

impl RateLimit {
    /// No limit.
    pub const DISABLED: RateLimit = RateLimit { per_sec: 0.0, burst: 0 };

    /// Checks the settings: `per_sec` finite and not negative, `burst` at least 1 when on.
    pub fn validate(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.per_sec.is_finite() && self.per_sec >= 0.0,
            "--rate-limit-per-sec must be a number of calls per second, 0 or more (0 disables the limit)"
        );
        anyhow::ensure!(self.per_sec == 0.0 || self.burst >= 1, "--rate-limit-burst must be at least 1");
        Ok(())
    }
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Token buckets keyed by principal.
#[derive(Debug)]
pub struct RateLimiter {
    limit: RateLimit,
    state: Mutex<Table>,
}

#[derive(Debug)]
struct Table {
    buckets: HashMap<String, Bucket>,
    sweep_at: usize,
}

impl RateLimiter {
    /// A limiter applying `limit`.
    pub fn new(limit: RateLimit) -> Self {
        Self { limit, state: Mutex::new(Table { buckets: HashMap::new(), sweep_at: MIN_SWEEP_AT }) }
    }

    /// Takes one token for `key` now, or says how long to wait (429).
    pub fn check(&self, key: &str) -> Result<(), ProxyError> {
        self.check_at(key, Instant::now())
    }

    /// [`RateLimiter::check`] at the instant `now` (tests drive the clock).
    pub fn check_at(&self, key: &str, now: Instant) -> Result<(), ProxyError> {
        if self.limit.per_sec == 0.0 {
            return Ok(());
        }
        let burst = f64::from(self.limit.burst);
        let mut table = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if table.buckets.len() >= table.sweep_at {
            let per_sec = self.limit.per_sec;
            table.buckets.retain(|_, b| refilled(b, now, per_sec, burst) < burst);
            table.sweep_at = (table.buckets.len() * 2).max(MIN_SWEEP_AT);
        }
        let bucket = table.buckets.entry(key.to_owned()).or_insert(Bucket { tokens: burst, at: now });
        let tokens = refilled(bucket, now, self.limit.per_sec, burst);
        if tokens >= 1.0 {
            *bucket = Bucket { tokens: tokens - 1.0, at: now.max(bucket.at) };
            return Ok(());
        }
        *bucket = Bucket { tokens, at: now.max(bucket.at) };
        let wait = ((1.0 - tokens) / self.limit.per_sec).ceil().max(1.0);
        Err(ProxyError::Throttled {
            message: format!(
                "too many requests for this user: at most {} per second (bursts of {}); retry after {wait} s",
                self.limit.per_sec, self.limit.burst
            ),
            retry_after_secs: wait.min(u64::MAX as f64) as u64,
        })
    }

    /// How many principals have a bucket (tests of the memory bound).
    pub fn tracked(&self) -> usize {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).buckets.len()
    }
}

fn refilled(bucket: &Bucket, now: Instant, per_sec: f64, burst: f64) -> f64 {
    let elapsed = now.checked_duration_since(bucket.at).unwrap_or(Duration::ZERO).as_secs_f64();
    (bucket.tokens + elapsed * per_sec).min(burst)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn throttled_after(e: ProxyError) -> u64 {
        match e {
            ProxyError::Throttled { retry_after_secs, .. } => retry_after_secs,
            other => panic!("not throttled: {other:?}"),
        }
    }

    #[test]
    fn a_burst_then_the_refill_rate_per_key() {
        let l = RateLimiter::new(RateLimit { per_sec: 2.0, burst: 3 });
        let t0 = Instant::now();
        for _ in 0..3 {
            l.check_at("a", t0).unwrap();
        }
        let e = l.check_at("a", t0).unwrap_err();
        assert_eq!(e.status(), axum::http::StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(e.message(), "too many requests for this user: at most 2 per second (bursts of 3); retry after 1 s");
        assert_eq!(throttled_after(e), 1);
        l.check_at("b", t0).expect("another principal has its own bucket");
        // Half a second gives one token back (2 per second), and only one.
        let t1 = t0 + Duration::from_millis(500);
        l.check_at("a", t1).unwrap();
        assert!(l.check_at("a", t1).is_err());
        // Idle long enough, the bucket is full again, but never above the burst.
        let t2 = t1 + Duration::from_secs(60);
        for _ in 0..3 {
            l.check_at("a", t2).unwrap();
        }
        assert!(l.check_at("a", t2).is_err());
    }

    #[test]
    fn retry_after_is_the_wait_for_one_token_rounded_up() {
        let l = RateLimiter::new(RateLimit { per_sec: 0.1, burst: 1 });
        let t0 = Instant::now();
        l.check_at("a", t0).unwrap();
        assert_eq!(throttled_after(l.check_at("a", t0).unwrap_err()), 10);
        assert_eq!(throttled_after(l.check_at("a", t0 + Duration::from_millis(2500)).unwrap_err()), 8);
        l.check_at("a", t0 + Duration::from_secs(11)).unwrap();
    }

    #[test]
    fn refused_calls_take_no_token_and_a_clock_going_back_changes_nothing() {
        let l = RateLimiter::new(RateLimit { per_sec: 1.0, burst: 1 });
        let t0 = Instant::now() + Duration::from_secs(10);
        l.check_at("a", t0).unwrap();
        for _ in 0..5 {
            assert!(l.check_at("a", t0 + Duration::from_millis(100)).is_err());
        }
        assert!(l.check_at("a", t0 - Duration::from_secs(5)).is_err(), "an earlier instant gives nothing back");
        l.check_at("a", t0 + Duration::from_secs(2)).expect("the refill went on from the last call");
    }

    #[test]
    fn idle_buckets_are_dropped_so_memory_follows_recent_users() {
        let l = RateLimiter::new(RateLimit { per_sec: 10.0, burst: 2 });
        let t0 = Instant::now();
        for i in 0..MIN_SWEEP_AT {
            l.check_at(&format!("user-{i}"), t0).unwrap();
        }
        assert_eq!(l.tracked(), MIN_SWEEP_AT);
        // A second later every bucket is full again: the next call sweeps them all away.
        l.check_at("late", t0 + Duration::from_secs(1)).unwrap();
        assert_eq!(l.tracked(), 1);
        // Buckets still in use survive a sweep.
        let l = RateLimiter::new(RateLimit { per_sec: 10.0, burst: 2 });
        for i in 0..MIN_SWEEP_AT {
            l.check_at(&format!("user-{i}"), t0).unwrap();
            l.check_at(&format!("user-{i}"), t0).unwrap();
        }
        l.check_at("late", t0 + Duration::from_millis(10)).unwrap();
        assert_eq!(l.tracked(), MIN_SWEEP_AT + 1);
    }

    #[test]
    fn zero_disables_and_bad_settings_are_refused() {
        let l = RateLimiter::new(RateLimit::DISABLED);
        let t0 = Instant::now();
        for _ in 0..1000 {
            l.check_at("a", t0).unwrap();
        }
        assert_eq!(l.tracked(), 0);
        assert!(RateLimit { per_sec: -1.0, burst: 1 }.validate().is_err());
        assert!(RateLimit { per_sec: f64::NAN, burst: 1 }.validate().is_err());
        assert!(RateLimit { per_sec: 1.0, burst: 0 }.validate().is_err());
        assert!(RateLimit::DISABLED.validate().is_ok() && RateLimit::default().validate().is_ok());
    }
}
