//! When to try a request again, and how long to wait first.
//!
//! Three pieces, kept apart so tests are deterministic: a public [`RetryConfig`] with documented
//! defaults, one function [`classify`] that turns an outcome into a [`Decision`], and a
//! [`Backoff`] that counts attempts and computes jittered exponential delays from an injectable
//! source of randomness ([`Rng`]).

use serde::Deserialize;

use crate::error::{Error, ErrorKind};

/// How requests are retried. Deserialized from the JS option `retry` (camelCase fields).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct RetryConfig {
    /// Attempts per request in all, the first included. Default 6; 1 disables retries.
    pub max_attempts: u32,
    /// Delay before the first retry, in milliseconds; doubles on each further retry. Default 500.
    pub base_delay_ms: u64,
    /// Upper bound of one delay, in milliseconds. Default 30,000.
    pub max_delay_ms: u64,
    /// Randomize each delay within [half, full] of its exponential value, so that parallel
    /// parts hit by the same throttling do not come back in step. Default `true`.
    pub jitter: bool,
    /// Seed of the jitter's random numbers; set it to make delays reproducible (tests).
    /// Default: none (seeded from the clock by the caller).
    pub seed: Option<u64>,
}

impl Default for RetryConfig {
    fn default() -> Self {
        RetryConfig { max_attempts: 6, base_delay_ms: 500, max_delay_ms: 30_000, jitter: true, seed: None }
    }
}

/// What to do after one attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// The attempt succeeded: stop.
    Done,
    /// The attempt failed in a way another attempt may fix: retry after the backoff delay.
    Retry,
    /// Retry, but wait at least this many milliseconds (the server's `Retry-After`).
    RetryAfter(u64),
    /// The attempt failed for good (400, 403, 404, abort ...): report the error now.
    Fail,
}

/// The one place that decides whether an outcome is worth another attempt.
///
/// Retried: throttling (429, `ThrottlingException`), server errors (500, 502, 503, 504, 408),
/// network errors, and a part whose returned checksum did not match its SHA-256 (the part is
/// sent again). Everything else fails at once with the service's message.
pub fn classify<T>(outcome: &Result<T, Error>) -> Decision {
    match outcome {
        Ok(_) => Decision::Done,
        Err(e) => match e.kind {
            ErrorKind::Throttled | ErrorKind::Server | ErrorKind::Network | ErrorKind::ChecksumMismatch => {
                match e.retry_after_ms {
                    Some(ms) => Decision::RetryAfter(ms),
                    None => Decision::Retry,
                }
            }
            _ => Decision::Fail,
        },
    }
}

/// A source of random numbers in `[0, 1)`, injectable so tests are deterministic.
pub trait Rng {
    /// The next number in `[0, 1)`.
    fn next_f64(&mut self) -> f64;
}

impl<F: FnMut() -> f64> Rng for F {
    fn next_f64(&mut self) -> f64 {
        self()
    }
}

/// A small seeded generator (SplitMix64): good enough for jitter, reproducible from its seed.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator starting from `seed`.
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }
}

impl Rng for SplitMix64 {
    fn next_f64(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Attempt counting and delays for one request.
#[derive(Debug, Clone)]
pub struct Backoff<R> {
    config: RetryConfig,
    attempts: u32,
    rng: R,
}

impl<R: Rng> Backoff<R> {
    /// A backoff that has seen no attempt yet.
    pub fn new(config: RetryConfig, rng: R) -> Self {
        Backoff { config, attempts: 0, rng }
    }

    /// Attempts made so far.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// Records one attempt's outcome. `Some(delay_ms)`: wait that long and try again;
    /// `None`: stop (success, a final error, or no attempts left).
    pub fn next_delay<T>(&mut self, outcome: &Result<T, Error>) -> Option<u64> {
        self.attempts += 1;
        let floor = match classify(outcome) {
            Decision::Done | Decision::Fail => return None,
            Decision::Retry => 0,
            Decision::RetryAfter(ms) => ms,
        };
        if self.attempts >= self.config.max_attempts.max(1) {
            return None;
        }
        Some(self.delay_for(self.attempts).max(floor))
    }

    /// Judges the last attempt again, by what was found after its answer (a returned checksum
    /// that differs from the part's): the same as [`Backoff::next_delay`] of that outcome in
    /// place of the first, without counting another attempt.
    pub fn rejudge_last<T>(&mut self, outcome: &Result<T, Error>) -> Option<u64> {
        self.attempts = self.attempts.saturating_sub(1);
        self.next_delay(outcome)
    }

    /// The delay before retry number `retry` (1 = the first retry): `base * 2^(retry-1)`,
    /// capped at `max_delay_ms`, then with jitter a uniform value in `[cap/2, cap]`.
    pub fn delay_for(&mut self, retry: u32) -> u64 {
        let exp = retry.saturating_sub(1).min(32);
        let cap = self
            .config
            .base_delay_ms
            .saturating_mul(1u64 << exp)
            .min(self.config.max_delay_ms);
        if self.config.jitter {
            let half = cap / 2;
            half + ((cap - half) as f64 * self.rng.next_f64()) as u64
        } else {
            cap
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;

    fn http(status: u16) -> Result<(), Error> {
        Err(Error::from_http(status, None, "", None))
    }

    #[test]
    fn retryable_statuses_and_network_errors_are_retried_others_fail_at_once() {
        for s in [408, 429, 500, 502, 503, 504] {
            assert_eq!(classify(&http(s)), Decision::Retry, "status {s}");
        }
        assert_eq!(classify(&Err::<(), _>(Error::new(ErrorKind::Network, "offline"))), Decision::Retry);
        // A part whose returned checksum is not its SHA-256 is sent again.
        assert_eq!(classify(&Err::<(), _>(Error::new(ErrorKind::ChecksumMismatch, "differs"))), Decision::Retry);
        for s in [400, 401, 403, 404, 402] {
            assert_eq!(classify(&http(s)), Decision::Fail, "status {s}");
        }
        assert_eq!(classify(&Err::<(), _>(Error::aborted())), Decision::Fail);
        assert_eq!(classify(&Ok::<_, Error>(())), Decision::Done);
    }

    #[test]
    fn retry_after_is_a_floor_for_the_delay() {
        let throttled: Result<(), _> = Err(Error::from_http(429, None, "", Some("7")));
        assert_eq!(classify(&throttled), Decision::RetryAfter(7000));
        let cfg = RetryConfig { jitter: false, ..RetryConfig::default() };
        let mut b = Backoff::new(cfg, || 0.0);
        assert_eq!(b.next_delay(&throttled), Some(7000));
    }

    #[test]
    fn delays_double_up_to_the_cap_without_jitter() {
        let cfg = RetryConfig { max_attempts: 10, base_delay_ms: 100, max_delay_ms: 1000, jitter: false, seed: None };
        let mut b = Backoff::new(cfg, || 0.5);
        let delays: Vec<_> = (0..9).map(|_| b.next_delay(&http(503)).unwrap()).collect();
        assert_eq!(delays, vec![100, 200, 400, 800, 1000, 1000, 1000, 1000, 1000]);
        assert_eq!(b.next_delay(&http(503)), None, "the tenth attempt is the last");
        assert_eq!(b.attempts(), 10);
    }

    #[test]
    fn jitter_stays_between_half_and_full_delay_and_is_reproducible_from_a_seed() {
        let cfg = RetryConfig { max_attempts: 50, base_delay_ms: 1000, max_delay_ms: 8000, jitter: true, seed: Some(7) };
        let run = || {
            let mut b = Backoff::new(cfg.clone(), SplitMix64::new(7));
            (1..=20).map(|r| b.delay_for(r)).collect::<Vec<_>>()
        };
        let a = run();
        assert_eq!(a, run());
        for (i, d) in a.iter().enumerate() {
            let cap = (1000u64 << i.min(3)).min(8000);
            assert!((cap / 2..=cap).contains(d), "retry {} delay {d} outside [{}, {cap}]", i + 1, cap / 2);
        }
        assert!(a.windows(2).any(|w| w[0] != w[1] && w[0] >= 4000), "jitter varies the capped delays");
    }

    #[test]
    fn injected_randomness_drives_the_jitter() {
        let cfg = RetryConfig { base_delay_ms: 1000, jitter: true, ..RetryConfig::default() };
        assert_eq!(Backoff::new(cfg.clone(), || 0.0).delay_for(1), 500);
        assert_eq!(Backoff::new(cfg, || 0.999_999).delay_for(1), 999);
    }

    #[test]
    fn a_final_error_stops_at_the_first_attempt() {
        let mut b = Backoff::new(RetryConfig::default(), || 0.0);
        assert_eq!(b.next_delay(&http(403)), None);
        assert_eq!(b.attempts(), 1);
    }

    #[test]
    fn one_attempt_means_no_retry() {
        let mut b = Backoff::new(RetryConfig { max_attempts: 1, ..RetryConfig::default() }, || 0.0);
        assert_eq!(b.next_delay(&http(500)), None);
    }

    #[test]
    fn retry_config_reads_camel_case_json_and_keeps_defaults_for_missing_fields() {
        let c: RetryConfig = serde_json::from_str(r#"{"maxAttempts":3,"jitter":false}"#).unwrap();
        assert_eq!(c, RetryConfig { max_attempts: 3, jitter: false, ..RetryConfig::default() });
        assert!(serde_json::from_str::<RetryConfig>(r#"{"maxAttempt":3}"#).is_err());
    }
}
