//! HealthOmics JSON calls for the listing functions (`SequenceStoreClient`, resume helpers):
//! the platform-free [`OmicsClient`] (grants, one retry loop) on the browser transport, through
//! the page's request queue.

use std::cell::RefCell;

use super::control::Control;
use super::io::{page_queue, WebNet};
use crate::error::Error;
use crate::omics::Request;
use crate::retry::{RetryConfig, SplitMix64};
use crate::upload::call::Api;
use crate::upload::healthomics::OmicsClient;
use crate::upload::queue::Priority;

/// Where and how to call: endpoint, token, store, retry policy.
pub struct Client {
    /// The calls and the proxy's grants.
    pub omics: OmicsClient,
    /// API base URL without trailing `/`.
    pub endpoint: String,
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
        Client {
            omics: OmicsClient::new(endpoint.clone(), token, store_id.clone()),
            endpoint,
            store_id,
            retry,
            rng: RefCell::new(SplitMix64::new(seed)),
        }
    }

    /// Runs `attempt` per the retry policy (backoff, offline waits, the queue's throttle
    /// pauses); waits end early on abort. For calls that are not JSON (GetReadSet streams).
    pub async fn retrying<T, F, Fut>(&self, control: &Control, attempt: F) -> Result<T, Error>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, Error>>,
    {
        let queue = page_queue();
        let api = Api { io: &WebNet, queue: &queue, retry: &self.retry, rng: &self.rng, control };
        api.retrying(attempt).await
    }

    /// Sends a prepared HTTP request (not a HealthOmics call: no grants), retrying per the
    /// policy; returns the 2xx body.
    pub async fn call_http(&self, control: &Control, http: &crate::upload::io::HttpRequest) -> Result<String, Error> {
        let queue = page_queue();
        let api = Api { io: &WebNet, queue: &queue, retry: &self.retry, rng: &self.rng, control };
        api.call(http, Priority::Create).await
    }

    /// Sends `req`, retrying per the policy; returns the 2xx body. Waits end early on abort.
    pub async fn call(&self, control: &Control, req: &Request) -> Result<String, Error> {
        let queue = page_queue();
        let api = Api { io: &WebNet, queue: &queue, retry: &self.retry, rng: &self.rng, control };
        self.omics.call(&api, req, Priority::Create).await
    }
}
