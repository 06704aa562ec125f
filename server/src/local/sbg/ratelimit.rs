//! The platform's rate limit: a budget of requests per fixed window, per token, reported in
//! `X-RateLimit-Limit`, `X-RateLimit-Remaining` and `X-RateLimit-Reset` (unix seconds).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use axum::http::{HeaderMap, HeaderValue};

/// What one request was told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    /// Whether the request may go on.
    pub allowed: bool,
    /// The budget per window.
    pub limit: u32,
    /// What is left of it after this request.
    pub remaining: u32,
    /// When the window ends (unix seconds).
    pub reset_unix: i64,
}

impl Decision {
    /// Sets the three `X-RateLimit-*` headers.
    pub fn write_headers(&self, headers: &mut HeaderMap) {
        headers.insert("x-ratelimit-limit", HeaderValue::from(self.limit));
        headers.insert("x-ratelimit-remaining", HeaderValue::from(self.remaining));
        headers.insert("x-ratelimit-reset", HeaderValue::from(self.reset_unix));
    }
}

struct Window {
    start_unix: i64,
    used: u32,
}

/// Fixed-window counter per token.
pub struct RateLimiter {
    limit: u32,
    window_secs: i64,
    windows: Mutex<HashMap<String, Window>>,
}

impl RateLimiter {
    /// `limit` requests per `window` (at least one second).
    pub fn new(limit: u32, window: Duration) -> Self {
        Self { limit, window_secs: window.as_secs().max(1) as i64, windows: Mutex::new(HashMap::new()) }
    }

    /// Counts one request of `token` at `now_unix`.
    pub fn check(&self, token: &str, now_unix: i64) -> Decision {
        let mut windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        let w = windows.entry(token.to_owned()).or_insert(Window { start_unix: now_unix, used: 0 });
        if now_unix >= w.start_unix + self.window_secs {
            *w = Window { start_unix: now_unix, used: 0 };
        }
        let allowed = w.used < self.limit;
        if allowed {
            w.used += 1;
        }
        Decision {
            allowed,
            limit: self.limit,
            remaining: self.limit - w.used,
            reset_unix: w.start_unix + self.window_secs,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_runs_out_and_comes_back_with_the_next_window() {
        let rl = RateLimiter::new(2, Duration::from_secs(300));
        let a = rl.check("t", 100);
        assert_eq!((a.allowed, a.remaining, a.reset_unix), (true, 1, 400));
        assert!(rl.check("t", 101).allowed);
        let c = rl.check("t", 102);
        assert_eq!((c.allowed, c.remaining), (false, 0));
        assert!(rl.check("other", 102).allowed, "budgets are per token");
        let d = rl.check("t", 400);
        assert_eq!((d.allowed, d.remaining, d.reset_unix), (true, 1, 700));
    }
}
