//! The per-token cap on concurrent part uploads, so one portal user cannot take every upstream
//! connection (and the account's part quota) of a proxy instance.
//!
//! The count is per instance: behind a load balancer each instance applies the cap on its own,
//! which keeps the proxy stateless.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Counts part uploads in flight per token subject.
#[derive(Debug, Clone)]
pub struct PartLimiter {
    cap: usize,
    in_flight: Arc<Mutex<HashMap<String, usize>>>,
}

/// One part upload in flight; the slot is released when this is dropped.
#[derive(Debug)]
pub struct PartPermit {
    key: String,
    in_flight: Arc<Mutex<HashMap<String, usize>>>,
}

impl PartLimiter {
    /// At most `cap` part uploads in flight per key.
    pub fn new(cap: usize) -> Self {
        Self { cap, in_flight: Arc::default() }
    }

    /// Takes a slot for `key`, or `None` when `key` already has `cap` uploads in flight.
    pub fn try_acquire(&self, key: &str) -> Option<PartPermit> {
        let mut map = self.in_flight.lock().unwrap_or_else(|p| p.into_inner());
        let count = map.entry(key.to_owned()).or_insert(0);
        if *count >= self.cap {
            return None;
        }
        *count += 1;
        Some(PartPermit { key: key.to_owned(), in_flight: self.in_flight.clone() })
    }
}

impl Drop for PartPermit {
    fn drop(&mut self) {
        let mut map = self.in_flight.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(count) = map.get_mut(&self.key) {
            *count -= 1;
            if *count == 0 {
                map.remove(&self.key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cap_is_per_key_and_released_on_drop() {
        let limiter = PartLimiter::new(2);
        let a1 = limiter.try_acquire("a").unwrap();
        let _a2 = limiter.try_acquire("a").unwrap();
        assert!(limiter.try_acquire("a").is_none());
        let _b1 = limiter.try_acquire("b").expect("another user has its own slots");
        drop(a1);
        assert!(limiter.try_acquire("a").is_some());
    }
}
