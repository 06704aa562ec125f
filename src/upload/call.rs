//! The one retry loop for API calls: each attempt waits for a place in the page's
//! [`RequestQueue`], a throttled answer pauses the whole queue, the delays follow the
//! [`RetryConfig`] (with `Retry-After` as a floor), and aborting ends every wait.

use std::cell::RefCell;
use std::future::Future;
use std::rc::Rc;

use super::control::Control;
use super::io::{HttpRequest, HttpResponse, Net};
use super::queue::{Priority, RequestQueue};
use crate::error::{Error, ErrorKind};
use crate::retry::{Backoff, RetryConfig, Rng, SplitMix64};

/// How often an offline wait looks again when no `online` event comes.
pub const OFFLINE_RECHECK_MS: u64 = 5_000;

/// How long the queue pauses after a throttled answer that named no delay.
pub const THROTTLE_PAUSE_MS: u64 = 1_000;

/// What API calls need: the I/O, the page's queue, the retry policy and the run's control.
pub struct Api<'a, I> {
    /// Transport and clock.
    pub io: &'a I,
    /// The page's request queue.
    pub queue: &'a Rc<RequestQueue>,
    /// The retry policy.
    pub retry: &'a RetryConfig,
    /// Jitter source; each request draws its own generator from it.
    pub rng: &'a RefCell<SplitMix64>,
    /// Abort ends every wait of these calls.
    pub control: &'a Control,
}

impl<I> Clone for Api<'_, I> {
    fn clone(&self) -> Self {
        Api { io: self.io, queue: self.queue, retry: self.retry, rng: self.rng, control: self.control }
    }
}

impl<'a, I: Net> Api<'a, I> {
    /// The same calls under another control (calls that must go out even after an abort).
    pub fn with_control<'b>(&self, control: &'b Control) -> Api<'b, I>
    where
        'a: 'b,
    {
        Api { io: self.io, queue: self.queue, retry: self.retry, rng: self.rng, control }
    }

    /// A backoff for one request, with its own generator drawn from the shared one.
    pub fn backoff(&self) -> Backoff<SplitMix64> {
        let seed = (self.rng.borrow_mut().next_f64() * (1u64 << 53) as f64) as u64;
        Backoff::new(self.retry.clone(), SplitMix64::new(seed))
    }

    /// A throttled answer pauses the page's queue for its `Retry-After` (or `fallback_ms`).
    pub fn note_outcome<T>(&self, outcome: &Result<T, Error>, fallback_ms: u64) {
        if let Err(e) = outcome {
            if e.kind == ErrorKind::Throttled {
                self.queue.pause_for(e.retry_after_ms.unwrap_or(fallback_ms), self.io.now_ms());
            }
        }
    }

    /// Sends `req` once through the queue; any HTTP status is a response.
    pub async fn exchange(&self, req: &HttpRequest, priority: Priority) -> Result<HttpResponse, Error> {
        let _permit = self.queue.acquire(priority, self.io).await;
        self.io.send(req, None).await.map_err(|e| e.in_operation(req.operation))
    }

    /// Runs `attempt` until it succeeds, fails for good or the attempts run out. Waits end
    /// early on abort. A final error carries the number of attempts made.
    pub async fn retrying<T, F, Fut>(&self, mut attempt: F) -> Result<T, Error>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, Error>>,
    {
        let mut backoff = self.backoff();
        loop {
            let outcome = self.control.unless_aborted(attempt()).await?;
            if matches!(&outcome, Err(e) if e.kind == ErrorKind::Network) && !self.io.is_online() {
                // Offline: not the service's fault; wait for the network, spend no attempt.
                self.wait_online().await?;
                continue;
            }
            self.note_outcome(&outcome, THROTTLE_PAUSE_MS);
            match backoff.next_delay(&outcome) {
                None => return outcome.map_err(|e| e.after_attempts(backoff.attempts())),
                Some(ms) => self.control.unless_aborted(self.io.sleep(ms)).await?,
            }
        }
    }

    /// Returns at once when online; otherwise waits (abortable) until the device is back.
    pub async fn wait_online(&self) -> Result<(), Error> {
        while !self.io.is_online() {
            self.control.unless_aborted(self.io.online_or_timeout(OFFLINE_RECHECK_MS)).await?;
        }
        Ok(())
    }

    /// Sends `req` (retrying per the policy) and returns the 2xx body.
    pub async fn call(&self, req: &HttpRequest, priority: Priority) -> Result<String, Error> {
        self.retrying(|| async { self.exchange(req, priority).await?.ok_body(req.operation) }).await
    }
}
