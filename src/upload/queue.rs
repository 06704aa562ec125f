//! One request queue per page: every network call of every upload goes through it.
//!
//! Modelled on Uppy's `HTTPCommunicationQueue`: requests wait in priority order (parts of
//! running uploads first, then completions, then creations and listings), at most
//! [`QueueConfig::concurrency`] run at once on the page, optionally at most
//! [`QueueConfig::requests_per_second`] start per second, and a throttled answer (429 or a
//! `Retry-After`) pauses the whole queue, not just the upload that saw it: the service's
//! quotas are per account. Waiting is strictly in order: a request starts only when every
//! request ahead of it has.
//!
//! Pure state plus wakers; the clock is passed in, so it is tested natively.

use std::cell::RefCell;
use std::collections::{BTreeMap, VecDeque};
use std::future::Future;
use std::pin::pin;
use std::rc::Rc;
use std::task::{Poll, Waker};

use serde::Deserialize;

use super::io::Clock;

/// Which requests go first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Priority {
    /// Part uploads and what they need (part URLs, part reports): they finish uploads.
    Part = 0,
    /// Completions, aborts and waits for a read set.
    Complete = 1,
    /// Creations, part listings and other API calls: they start more work.
    Create = 2,
}

/// Default of [`QueueConfig::concurrency`]: requests in flight on one page.
pub const DEFAULT_QUEUE_CONCURRENCY: u32 = 16;
/// Largest accepted [`QueueConfig::concurrency`].
pub const MAX_QUEUE_CONCURRENCY: u32 = 64;

/// The page's limits (`configureRequestQueue` in JS).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct QueueConfig {
    /// Requests in flight at once on the page, all uploads together. Default 16.
    pub concurrency: u32,
    /// Requests started per second at most, all uploads together. Default: no limit.
    pub requests_per_second: Option<f64>,
}

impl Default for QueueConfig {
    fn default() -> Self {
        QueueConfig { concurrency: DEFAULT_QUEUE_CONCURRENCY, requests_per_second: None }
    }
}

impl QueueConfig {
    /// Checks the limits.
    pub fn validate(&self) -> Result<(), crate::Error> {
        if !(1..=MAX_QUEUE_CONCURRENCY).contains(&self.concurrency) {
            return Err(crate::Error::invalid_input(format!(
                "`concurrency` must be 1 to {MAX_QUEUE_CONCURRENCY} (got {})",
                self.concurrency
            )));
        }
        if let Some(r) = self.requests_per_second {
            if !(r.is_finite() && r > 0.0) {
                return Err(crate::Error::invalid_input(format!("`requestsPerSecond` must be a positive number (got {r})")));
            }
        }
        Ok(())
    }
}

/// What the queue has seen (tests, diagnostics).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueStats {
    /// Requests started.
    pub started: u64,
    /// Most requests in flight at once.
    pub max_in_flight: u32,
    /// Times a throttled answer paused the queue.
    pub pauses: u32,
}

#[derive(Debug)]
struct Ticket {
    waker: Option<Waker>,
    woken: bool,
}

#[derive(Debug)]
struct State {
    config: QueueConfig,
    in_flight: u32,
    paused_until_ms: f64,
    /// Waiting requests by (priority, arrival).
    waiting: BTreeMap<(Priority, u64), Ticket>,
    next: u64,
    /// Start times within the last second (for `requests_per_second`).
    starts: VecDeque<f64>,
    stats: QueueStats,
}

enum Grant {
    Go,
    Wait(Option<f64>),
}

impl State {
    fn try_grant(&mut self, key: (Priority, u64), now: f64) -> Grant {
        if self.waiting.keys().next() != Some(&key) {
            return Grant::Wait(None);
        }
        if now < self.paused_until_ms {
            return Grant::Wait(Some(self.paused_until_ms));
        }
        if self.in_flight >= self.config.concurrency {
            return Grant::Wait(None);
        }
        if let Some(rps) = self.config.requests_per_second {
            let window = 1000.0;
            while self.starts.front().is_some_and(|&t| now - t >= window) {
                self.starts.pop_front();
            }
            // `rps` starts per second, spread: with rps < 1 one start per 1/rps seconds.
            let (per_window, span) = if rps >= 1.0 { (rps.floor() as usize, window) } else { (1, window / rps) };
            if self.starts.len() >= per_window || self.starts.back().is_some_and(|&t| rps < 1.0 && now - t < span) {
                let oldest = if rps >= 1.0 { self.starts[0] + window } else { self.starts.back().copied().unwrap_or(now) + span };
                return Grant::Wait(Some(oldest));
            }
            self.starts.push_back(now);
        }
        self.waiting.remove(&key);
        self.in_flight += 1;
        self.stats.started += 1;
        self.stats.max_in_flight = self.stats.max_in_flight.max(self.in_flight);
        self.wake_head();
        Grant::Go
    }

    fn wake_head(&mut self) {
        if let Some(t) = self.waiting.values_mut().next() {
            t.woken = true;
            if let Some(w) = t.waker.take() {
                w.wake();
            }
        }
    }
}

/// The queue. Clone the `Rc` to share it between uploads.
#[derive(Debug)]
/// The page's request queue (see the module docs).
pub struct RequestQueue {
    state: RefCell<State>,
}

impl Default for RequestQueue {
    fn default() -> Self {
        Self::new(QueueConfig::default())
    }
}

/// A request's place in flight; dropping it frees the place.
#[derive(Debug)]
pub struct Permit {
    queue: Rc<RequestQueue>,
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut s = self.queue.state.borrow_mut();
        s.in_flight = s.in_flight.saturating_sub(1);
        s.wake_head();
    }
}

/// Removes a waiting request that gave up (its future was dropped).
struct Waiting<'a> {
    queue: &'a RequestQueue,
    key: (Priority, u64),
    granted: bool,
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        if !self.granted {
            let mut s = self.queue.state.borrow_mut();
            s.waiting.remove(&self.key);
            s.wake_head();
        }
    }
}

impl RequestQueue {
    /// A queue with these limits.
    pub fn new(config: QueueConfig) -> Self {
        RequestQueue {
            state: RefCell::new(State {
                config,
                in_flight: 0,
                paused_until_ms: 0.0,
                waiting: BTreeMap::new(),
                next: 0,
                starts: VecDeque::new(),
                stats: QueueStats::default(),
            }),
        }
    }

    /// Changes the limits (requests in flight keep their places).
    pub fn configure(&self, config: QueueConfig) {
        let mut s = self.state.borrow_mut();
        s.config = config;
        s.wake_head();
    }

    /// The limits.
    pub fn config(&self) -> QueueConfig {
        self.state.borrow().config.clone()
    }

    /// What the queue has seen so far.
    pub fn stats(&self) -> QueueStats {
        self.state.borrow().stats
    }

    /// Requests in flight now.
    pub fn in_flight(&self) -> u32 {
        self.state.borrow().in_flight
    }

    /// A throttled answer: no request starts before `now_ms + ms`.
    pub fn pause_for(&self, ms: u64, now_ms: f64) {
        let mut s = self.state.borrow_mut();
        let until = now_ms + ms as f64;
        if until > s.paused_until_ms {
            if s.paused_until_ms <= now_ms {
                s.stats.pauses += 1;
            }
            s.paused_until_ms = until;
        }
    }

    /// Waits for a place for a request of `priority`.
    pub async fn acquire(self: &Rc<Self>, priority: Priority, clock: &impl Clock) -> Permit {
        let key = {
            let mut s = self.state.borrow_mut();
            let key = (priority, s.next);
            s.next += 1;
            s.waiting.insert(key, Ticket { waker: None, woken: false });
            key
        };
        let mut waiting = Waiting { queue: self, key, granted: false };
        loop {
            let now = clock.now_ms();
            let grant = self.state.borrow_mut().try_grant(key, now);
            match grant {
                Grant::Go => {
                    waiting.granted = true;
                    return Permit { queue: self.clone() };
                }
                Grant::Wait(None) => self.woken(key).await,
                Grant::Wait(Some(until)) => {
                    let ms = (until - now).max(1.0).ceil() as u64;
                    let _ = futures::future::select(pin!(self.woken(key)), pin!(clock.sleep(ms))).await;
                }
            }
        }
    }

    /// Resolves once the ticket `key` was woken (a place may have freed up).
    fn woken(&self, key: (Priority, u64)) -> impl Future<Output = ()> + '_ {
        futures::future::poll_fn(move |cx| {
            let mut s = self.state.borrow_mut();
            match s.waiting.get_mut(&key) {
                Some(t) if t.woken => {
                    t.woken = false;
                    Poll::Ready(())
                }
                Some(t) => {
                    t.waker = Some(cx.waker().clone());
                    Poll::Pending
                }
                None => Poll::Ready(()),
            }
        })
    }
}
