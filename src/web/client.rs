//! JSON calls to the HealthOmics API with retries: shared by the upload engine and the
//! listing functions.

use std::cell::RefCell;

use super::control::Control;
use super::http::{self, Body};
use super::timer::sleep;
use crate::error::Error;
use crate::omics::Request;
use crate::retry::{Backoff, RetryConfig, SplitMix64};

/// Where and how to call: endpoint, token, store, retry policy.
pub struct Client {
    /// API base URL without trailing `/`.
    pub endpoint: String,
    /// Bearer token.
    pub token: Option<String>,
    /// The sequence store all calls address.
    pub store_id: String,
    /// Retry policy for every call.
    pub retry: RetryConfig,
    rng: RefCell<SplitMix64>,
}

/// A seed for jitter when the caller gave none.
pub fn random_seed() -> u64 {
    (js_sys::Math::random() * (1u64 << 53) as f64) as u64
}

impl Client {
    /// A client; jitter is seeded from `retry.seed` or randomly.
    pub fn new(endpoint: String, token: Option<String>, store_id: String, retry: RetryConfig) -> Self {
        let seed = retry.seed.unwrap_or_else(random_seed);
        Client { endpoint, token, store_id, retry, rng: RefCell::new(SplitMix64::new(seed)) }
    }

    /// A backoff for one request, with its own generator drawn from this client's.
    pub fn backoff(&self) -> Backoff<SplitMix64> {
        let seed = (crate::retry::Rng::next_f64(&mut *self.rng.borrow_mut()) * (1u64 << 53) as f64) as u64;
        Backoff::new(self.retry.clone(), SplitMix64::new(seed))
    }

    /// Sends `req` once.
    pub async fn send_once(&self, control: &Control, req: &Request) -> Result<String, Error> {
        let body = match req.body_text() {
            Some(t) => Body::Json(t),
            None => Body::Empty,
        };
        let url = req.url(&self.endpoint);
        let r = http::send(control, req.method.as_str(), &url, self.token.as_deref(), body, false, None)
            .await
            .map_err(|e| e.in_operation(req.operation))?;
        r.ok_body(req.operation)
    }

    /// Sends `req`, retrying per the policy; returns the 2xx body. Waits end early on abort.
    pub async fn call(&self, control: &Control, req: &Request) -> Result<String, Error> {
        let mut backoff = self.backoff();
        loop {
            let outcome = self.send_once(control, req).await;
            if control.is_aborted() {
                return Err(Error::aborted());
            }
            match backoff.next_delay(&outcome) {
                None => return outcome,
                Some(ms) => control.unless_aborted(sleep(ms)).await?,
            }
        }
    }
}
