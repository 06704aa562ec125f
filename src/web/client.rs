//! JSON calls to the HealthOmics API with retries: shared by the upload engine and the
//! listing functions.
//!
//! The client also keeps the upload grants the signing proxy hands out (see
//! [`omics::UPLOAD_GRANT_HEADER`]): learnt from Create and ListMultipartReadSetUploads answers,
//! or given back from a resume record, and sent with every call on that upload. A call on an
//! upload whose grant is unknown (a portal listing parts of an upload it found elsewhere)
//! first looks the grant up in the caller's own in-progress uploads.

use std::cell::RefCell;
use std::collections::HashMap;

use super::control::Control;
use super::http::{self, Body};
use super::timer::sleep;
use crate::error::{Error, ErrorKind};
use crate::omics::{self, Page, Request};
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
    /// Upload grants by upload ID.
    grants: RefCell<HashMap<String, String>>,
}

/// Pages of ListMultipartReadSetUploads read at most to find one upload's grant.
const GRANT_LOOKUP_PAGES: usize = 20;

/// A seed for jitter when the caller gave none.
pub fn random_seed() -> u64 {
    (js_sys::Math::random() * (1u64 << 53) as f64) as u64
}

impl Client {
    /// A client; jitter is seeded from `retry.seed` or randomly.
    pub fn new(endpoint: String, token: Option<String>, store_id: String, retry: RetryConfig) -> Self {
        let seed = retry.seed.unwrap_or_else(random_seed);
        Client { endpoint, token, store_id, retry, rng: RefCell::new(SplitMix64::new(seed)), grants: RefCell::default() }
    }

    /// Remembers the proxy's grant for `upload_id` (from a resume record).
    pub fn remember_grant(&self, upload_id: &str, grant: &str) {
        self.grants.borrow_mut().insert(upload_id.to_owned(), grant.to_owned());
    }

    /// The grant known for `upload_id`, if any.
    pub fn grant(&self, upload_id: &str) -> Option<String> {
        self.grants.borrow().get(upload_id).filter(|g| !g.is_empty()).cloned()
    }

    /// The grant of `upload_id`, looked up in the caller's in-progress uploads when not known
    /// yet. `None` when the endpoint hands out none (no proxy) or the upload is not listed.
    pub async fn ensure_grant(&self, control: &Control, upload_id: &str) -> Result<Option<String>, Error> {
        if let Some(g) = self.grants.borrow().get(upload_id) {
            // An empty entry: looked up before and not found; don't list again for every call.
            return Ok(Some(g.clone()).filter(|g| !g.is_empty()));
        }
        let mut page = Page { max_results: Some(100), next_token: None };
        for _ in 0..GRANT_LOOKUP_PAGES {
            let body = self.call_plain(control, &omics::list_uploads(&self.store_id, &page)).await?;
            self.learn_grants(&body);
            if let Some(g) = self.grant(upload_id) {
                return Ok(Some(g));
            }
            match serde_json::from_str::<serde_json::Value>(&body).ok().and_then(|v| v.get("nextToken")?.as_str().map(str::to_owned)) {
                Some(t) => page.next_token = Some(t),
                None => break,
            }
        }
        self.grants.borrow_mut().insert(upload_id.to_owned(), String::new());
        Ok(None)
    }

    fn learn_grants(&self, body: &str) {
        let found = omics::upload_grants(body);
        if !found.is_empty() {
            self.grants.borrow_mut().extend(found);
        }
    }

    /// A backoff for one request, with its own generator drawn from this client's.
    pub fn backoff(&self) -> Backoff<SplitMix64> {
        let seed = (crate::retry::Rng::next_f64(&mut *self.rng.borrow_mut()) * (1u64 << 53) as f64) as u64;
        Backoff::new(self.retry.clone(), SplitMix64::new(seed))
    }

    /// Sends `req` once, with `grant` when given; remembers the grants of the answer.
    async fn exchange(&self, control: &Control, req: &Request, grant: Option<&str>) -> Result<String, Error> {
        let body = match req.body_text() {
            Some(t) => Body::Json(t),
            None => Body::Empty,
        };
        let url = req.url(&self.endpoint);
        let headers: Vec<(String, String)> = grant.map(|g| (omics::UPLOAD_GRANT_HEADER.to_owned(), g.to_owned())).into_iter().collect();
        let (r, _) = http::send_with_headers(control, req.method.as_str(), &url, self.token.as_deref(), &headers, body, false, None, &[])
            .await
            .map_err(|e| e.in_operation(req.operation))?;
        let body = r.ok_body(req.operation)?;
        self.learn_grants(&body);
        Ok(body)
    }

    /// Sends `req` once; a call on an upload carries the upload's grant (looked up first when
    /// unknown).
    pub async fn send_once(&self, control: &Control, req: &Request) -> Result<String, Error> {
        let Some(id) = &req.upload_id else { return self.exchange(control, req, None).await };
        let remembered = self.grant(id).is_some();
        let grant = self.ensure_grant(control, id).await?;
        match self.exchange(control, req, grant.as_deref()).await {
            // A remembered grant the proxy no longer accepts (its key was rotated, or it was a
            // per-process key and the proxy restarted): the caller's upload list hands out the
            // current one; look it up once.
            Err(e) if remembered && e.kind == ErrorKind::Forbidden => {
                self.grants.borrow_mut().remove(id);
                match self.ensure_grant(control, id).await? {
                    Some(fresh) if grant.as_deref() != Some(fresh.as_str()) => self.exchange(control, req, Some(&fresh)).await,
                    _ => Err(e),
                }
            }
            outcome => outcome,
        }
    }

    /// [`Client::call`] without the grant look-up (the look-up itself uses it).
    async fn call_plain(&self, control: &Control, req: &Request) -> Result<String, Error> {
        let mut backoff = self.backoff();
        loop {
            let outcome = self.exchange(control, req, None).await;
            if control.is_aborted() {
                return Err(Error::aborted());
            }
            match backoff.next_delay(&outcome) {
                None => return outcome,
                Some(ms) => control.unless_aborted(sleep(ms)).await?,
            }
        }
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
