//! The one part loop, for every target: open (or resume), send parts in parallel with retries,
//! `Retry-After`, stall detection, offline waits and adaptive concurrency, verify what the
//! target can verify, keep the confirmed parts, and finish.
//!
//! What differs between services is a [`Target`]; what differs between platforms is the
//! [`Io`]. At most `concurrency` parts are in flight, fewer while the service throttles
//! ([`Adaptive`]); every request also waits for its place in the page's [`RequestQueue`].
//!
//! A part is hashed (SHA-256) only when the service's answer can be checked against it
//! ([`Target::checks_sha256`]: the local store's hex checksums, or `verifyPartChecksums:
//! true`), and then after its PUT, outside its concurrency slot, so the other parts keep
//! sending while it is hashed. Against a service whose checksums are opaque (AWS) nothing is
//! hashed. A part whose checksum differs is sent again (a retry attempt). On resume the
//! server's part list is trusted over local memory, and a listed part is hashed only when its
//! listed checksum is checkable; one that differs is sent again. Only parts the server
//! confirmed (and, where checkable, whose checksum matched) are kept.
#![allow(async_fn_in_trait)]

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::pin::pin;
use std::rc::Rc;

use futures::future::{self, Either, FutureExt};
use futures::stream::{self, FuturesUnordered, StreamExt};

use super::call::{Api, THROTTLE_PAUSE_MS};
use super::control::{Control, RunState};
use super::io::{stalled, HttpRequest, HttpResponse, Io, PartState, Phase, Saved};
use super::queue::{Priority, RequestQueue};
use crate::adaptive::{Adaptive, Outcome, Start};
use crate::error::{Error, ErrorKind, PartRef};
use crate::plan::{Part, Source};
use crate::retry::{Backoff, RetryConfig, SplitMix64};

/// Parts already on the server, by source and number, with what confirmed them.
pub type Confirmations<C> = BTreeMap<(Source, u32), C>;

/// An upload opened (created, or found to resume) on the service.
#[derive(Debug, Clone)]
pub struct Opened<C> {
    /// The upload's ID.
    pub upload_id: String,
    /// Every part to have on the server at the end, in sending order.
    pub parts: Vec<Part>,
    /// Parts the server already holds (resume), with their confirmation.
    pub listed: Confirmations<C>,
}

/// A part attempt's answer that is not a confirmation: the error, and whether the target wants
/// a fresh request at once (an expired signed URL) rather than the retry policy's delay.
#[derive(Debug, Clone)]
pub struct Refused {
    /// What went wrong.
    pub error: Error,
    /// Renew the request and send again at once (on a budget of its own).
    pub renew_now: bool,
}

impl From<Error> for Refused {
    fn from(error: Error) -> Self {
        Refused { error, renew_now: false }
    }
}

/// What differs between services.
pub trait Target {
    /// What the server returns for a confirmed part (a checksum, a report).
    type Confirmation: Clone;
    /// What one attempt's request needs for judging its answer (a signed URL's rules).
    type Attempt;
    /// What a finished upload resolves with.
    type Output;

    /// Checks and look-ups before the upload is opened (file contents, store settings).
    async fn prepare<I: Io>(&self, api: &Api<'_, I>) -> Result<(), Error>;
    /// Creates the upload, or continues `resume` (given, or saved before a reload): the plan
    /// and the parts the server already holds. A `not_found` error for a saved upload means
    /// it is gone: the driver forgets it and creates a new one.
    async fn open<I: Io>(&self, api: &Api<'_, I>, resume: Option<&Saved>) -> Result<Opened<Self::Confirmation>, Error>;
    /// What to save so a reload can continue the upload.
    fn saved(&self, upload_id: &str) -> Saved;
    /// Whether this confirmation (returned for a part, or listed on resume) is checked against
    /// the part's SHA-256. Only then is the part hashed: a hash nothing checks only costs CPU.
    fn checks_sha256(&self, confirmation: &Self::Confirmation) -> bool;
    /// Compares a confirmation with the part's SHA-256 (`checksum_mismatch` when it differs).
    fn check_sha256(&self, part: &Part, confirmation: &Self::Confirmation, sha256: &str) -> Result<(), Error>;
    /// The request of one attempt at `part` (a fresh signed URL where the service needs one).
    async fn part_request<I: Io>(&self, api: &Api<'_, I>, upload_id: &str, part: &Part) -> Result<(HttpRequest, Self::Attempt), Error>;
    /// Judges the answer to one attempt (its checksum is checked after, see [`Target::checks_sha256`]).
    fn judge(&self, part: &Part, attempt: &Self::Attempt, response: HttpResponse) -> Result<Self::Confirmation, Refused>;
    /// A part was confirmed; `left`: parts not confirmed yet (0 for the last).
    async fn confirmed<I: Io>(&self, api: &Api<'_, I>, upload_id: &str, part: &Part, confirmation: &Self::Confirmation, left: usize) -> Result<(), Error>;
    /// The part loop failed: make what was confirmed last (reports).
    async fn salvage<I: Io>(&self, api: &Api<'_, I>, upload_id: &str);
    /// Work alongside the parts (whole-file hashes); its error fails the upload.
    async fn alongside<I: Io>(&self, api: &Api<'_, I>) -> Result<(), Error>;
    /// Finishes a fully confirmed upload. `api` is never aborted (the completion must go out);
    /// `control` is the run's, for the waits after it.
    async fn finish<I: Io>(&self, api: &Api<'_, I>, control: &Control, upload_id: &str, parts: &[Part], confirmed: &Confirmations<Self::Confirmation>) -> Result<Self::Output, Error>;
    /// Aborts the upload on the server.
    async fn abort<I: Io>(&self, api: &Api<'_, I>, upload_id: &str) -> Result<(), Error>;
}

/// Where a run is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Stage {
    /// `start()` not called yet.
    Idle,
    /// Opening, hashing, uploading.
    Running,
    /// Completion began: the upload can no longer be aborted on the server.
    Completing,
    /// The run ended (success or error).
    Finished,
}

/// The run settings every target shares.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Parts in flight at most (adaptive: fewer while throttled).
    pub concurrency: u32,
    /// A part attempt without upload progress for this long is aborted and retried (0: never).
    pub stall_timeout_ms: u64,
    /// Retry policy of every request.
    pub retry: RetryConfig,
    /// Look for a saved upload of the same files to continue.
    pub resume: bool,
    /// Continue this upload (given by the caller).
    pub upload_id: Option<String>,
}

impl Settings {
    /// The settings from the checked options every target has.
    pub fn new(concurrency: u32, stall_timeout_ms: u64, retry: RetryConfig, resume: bool, upload_id: Option<String>) -> Self {
        Settings { concurrency, stall_timeout_ms, retry, resume, upload_id }
    }
}

/// One upload: the shared state of the JS handle and the running future.
pub struct Upload<T: Target, I: Io> {
    /// What differs between services.
    pub target: T,
    /// The platform.
    pub io: I,
    /// Pause / resume / abort (shared with the I/O, whose hashing it also stops).
    pub control: Rc<Control>,
    queue: Rc<RequestQueue>,
    settings: Settings,
    rng: RefCell<SplitMix64>,
    upload_id: RefCell<Option<String>>,
    stage: Cell<Stage>,
    completion_sent: Cell<bool>,
    server_aborted: Cell<bool>,
    adaptive: RefCell<Adaptive>,
    listed: RefCell<Confirmations<T::Confirmation>>,
    confirmed: RefCell<Confirmations<T::Confirmation>>,
}

/// One part attempt's hold on a concurrency slot; released as `Cancelled` if dropped unfinished.
struct Slot<'a, I: Io> {
    adaptive: &'a RefCell<Adaptive>,
    io: &'a I,
    open: bool,
}

impl<I: Io> Slot<'_, I> {
    fn finish(mut self, outcome: Outcome) {
        self.open = false;
        self.adaptive.borrow_mut().finish(outcome, self.io.now_ms());
    }
}

impl<I: Io> Drop for Slot<'_, I> {
    fn drop(&mut self) {
        if self.open {
            self.adaptive.borrow_mut().finish(Outcome::Cancelled, self.io.now_ms());
        }
    }
}

fn part_ref(part: &Part) -> PartRef {
    PartRef { source: part.source, number: part.number }
}

enum Sent {
    Answer(Result<HttpResponse, Error>),
    Stalled,
    Interrupted(RunState),
}

impl<T: Target + 'static, I: Io + 'static> Upload<T, I> {
    /// An upload of `target` on `io`, run under `control`, its requests through `queue`;
    /// `seed` drives the jitter.
    pub fn new(target: T, io: I, control: Rc<Control>, queue: Rc<RequestQueue>, settings: Settings, seed: u64) -> Self {
        Upload {
            target,
            io,
            control,
            queue,
            rng: RefCell::new(SplitMix64::new(seed)),
            // When resuming, the upload exists before start(): abort() may discard it at once.
            upload_id: RefCell::new(settings.upload_id.clone()),
            stage: Cell::new(Stage::Idle),
            completion_sent: Cell::new(false),
            server_aborted: Cell::new(false),
            adaptive: RefCell::new(Adaptive::new(settings.concurrency)),
            settings,
            listed: RefCell::default(),
            confirmed: RefCell::default(),
        }
    }

    /// The upload ID, once created (or given to resume).
    pub fn upload_id(&self) -> Option<String> {
        self.upload_id.borrow().clone()
    }

    /// The run's stage.
    pub fn stage(&self) -> Stage {
        self.stage.get()
    }

    /// Whether completion began (abort has no server effect then).
    pub fn completion_sent(&self) -> bool {
        self.completion_sent.get()
    }

    /// The state a JS handle reports: `idle`, `running`, `paused`, `aborted`, `completing`,
    /// `finished`.
    pub fn state_name(&self) -> &'static str {
        match (self.control.state(), self.stage()) {
            (_, Stage::Finished) => "finished",
            (RunState::Aborted, _) => "aborted",
            (_, Stage::Idle) => "idle",
            (_, Stage::Completing) => "completing",
            (RunState::Paused, _) => "paused",
            (RunState::Running, Stage::Running) => "running",
        }
    }

    /// What the page's queue has seen (all uploads on it).
    pub fn queue_stats(&self) -> super::queue::QueueStats {
        self.queue.stats()
    }

    /// The confirmed parts so far.
    pub fn confirmed(&self) -> Confirmations<T::Confirmation> {
        self.confirmed.borrow().clone()
    }

    fn api<'a>(&'a self, control: &'a Control) -> Api<'a, I> {
        Api { io: &self.io, queue: &self.queue, retry: &self.settings.retry, rng: &self.rng, control }
    }

    /// Runs the whole upload. Errors carry the upload ID when one exists, so the caller can
    /// resume or abort it.
    pub async fn run(self: Rc<Self>) -> Result<T::Output, Error> {
        if self.stage.get() != Stage::Idle {
            return Err(Error::invalid_input("start() was already called on this uploader"));
        }
        if self.control.is_aborted() {
            return Err(Error::aborted());
        }
        self.stage.set(Stage::Running);
        let result = self.run_inner().await;
        self.stage.set(Stage::Finished);
        result.map_err(|mut e| {
            if e.upload_id.is_none() {
                e.upload_id = self.upload_id();
            }
            e
        })
    }

    async fn run_inner(self: &Rc<Self>) -> Result<T::Output, Error> {
        let api = self.api(&self.control);
        self.io.phase(Phase::Preparing);
        self.control.unless_aborted(self.target.prepare(&api)).await??;
        let opened = self.control.unless_aborted(self.open(&api)).await??;
        let upload_id = opened.upload_id.clone();
        let parts = opened.parts.clone();

        self.io.phase(Phase::Uploading);
        let sent = self.control.unless_aborted(self.send_all(&api, opened)).await;
        match sent {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                // What made it is made to count (reports), so a resume does not send it again.
                if !self.control.is_aborted() {
                    let fresh = Control::default();
                    self.target.salvage(&api.with_control(&fresh), &upload_id).await;
                }
                return Err(e);
            }
            Err(e) => return Err(e),
        }
        self.control.wait_running().await?;

        // From here the upload is handed over: abort() stops waiting but cannot undo it.
        self.stage.set(Stage::Completing);
        self.completion_sent.set(true);
        self.io.phase(Phase::Completing);
        let never_aborted = Control::default();
        let confirmed = self.confirmed.borrow().clone();
        self.target.finish(&api.with_control(&never_aborted), &self.control, &upload_id, &parts, &confirmed).await
    }

    /// Opens the upload: the given one, a saved one (forgotten when the server no longer has
    /// it), or a new one; saves it for a reload.
    async fn open(&self, api: &Api<'_, I>) -> Result<Opened<T::Confirmation>, Error> {
        let given = self.settings.upload_id.clone().map(|upload_id| Saved { upload_id, grant: None });
        let mut resume = given.clone();
        if resume.is_none() && self.settings.resume {
            resume = self.io.load().await;
        }
        if let Some(r) = &resume {
            *self.upload_id.borrow_mut() = Some(r.upload_id.clone());
            self.io.upload_id(&r.upload_id);
        }
        let opened = match self.target.open(api, resume.as_ref()).await {
            // Completed, aborted or expired meanwhile: the saved state is stale.
            Err(e) if e.kind == ErrorKind::NotFound && given.is_none() && resume.is_some() => {
                if let Some(r) = &resume {
                    self.io.forget(&r.upload_id).await;
                }
                *self.upload_id.borrow_mut() = None;
                self.target.open(api, None).await?
            }
            other => other?,
        };
        *self.upload_id.borrow_mut() = Some(opened.upload_id.clone());
        self.io.upload_id(&opened.upload_id);
        self.io.parts_total(opened.parts.len());
        if self.control.is_aborted() {
            let _ = self.abort_on_server().await;
            return Err(Error::aborted());
        }
        // A record loaded unchanged is kept as it is; any other upload is saved (again).
        let saved = self.target.saved(&opened.upload_id);
        if given.is_some() || resume.as_ref() != Some(&saved) {
            self.io.save(&saved).await;
        }
        Ok(opened)
    }

    /// Every part sent in parallel (and verified where the target can), with the target's side
    /// work.
    async fn send_all(self: &Rc<Self>, api: &Api<'_, I>, opened: Opened<T::Confirmation>) -> Result<(), Error> {
        let Opened { upload_id, parts, listed } = opened;
        *self.listed.borrow_mut() = listed;
        let concurrency = self.settings.concurrency.max(1) as usize;
        let mut left = parts.len();
        // Parts being hashed hold no slot: a few more parts than slots are under way, so the
        // slots stay full while finished parts are verified.
        let under_way = concurrency + self.io.hash_parallelism().max(1);
        let mut sends = pin!(stream::iter(parts)
            .map(|part| {
                let me = self.clone();
                let id = upload_id.clone();
                async move { me.deliver(&id, part).await }
            })
            .buffer_unordered(under_way)
            .fuse());
        let mut alongside = pin!(self.target.alongside(api).fuse());
        let mut alongside_done = false;
        // The target's work on confirmed parts (reports) runs beside the parts, never instead
        // of polling them: a part waiting for its place in the queue must keep being polled.
        let mut hooks = FuturesUnordered::new();
        let mut parts_done = false;
        while !(parts_done && hooks.is_empty()) {
            futures::select_biased! {
                r = alongside => { r?; alongside_done = true; }
                r = hooks.select_next_some() => r?,
                sent = sends.next() => match sent {
                    Some(r) => {
                        let (part, confirmation, fresh) = r?;
                        left -= 1;
                        self.confirmed.borrow_mut().insert((part.source, part.number), confirmation.clone());
                        if fresh {
                            let id = upload_id.clone();
                            let target = &self.target;
                            hooks.push(async move { target.confirmed(api, &id, &part, &confirmation, left).await });
                        }
                    }
                    None => parts_done = true,
                },
                complete => break,
            }
        }
        if !alongside_done {
            alongside.await?;
        }
        Ok(())
    }

    async fn hash_part(self: &Rc<Self>, part: &Part) -> Result<String, Error> {
        self.io.part(part, PartState::Hashing);
        let me = self.clone();
        let on_bytes: Rc<dyn Fn(u64)> = Rc::new(move |n| me.io.hashed(n));
        let sha = self.io.part_sha256(part, on_bytes).await.map_err(|e| e.for_part(part_ref(part)))?;
        self.io.part(part, PartState::Hashed);
        Ok(sha)
    }

    /// One part to the end: skipped when the server lists it (and, where checkable, its listed
    /// checksum is the part's SHA-256), else sent until a confirmation passes the target's
    /// check. The part is hashed at most once. A checksum that differs costs a retry attempt.
    /// Returns the confirmation, and whether it is new (not listed by the server before).
    async fn deliver(self: Rc<Self>, upload_id: &str, part: Part) -> Result<(Part, T::Confirmation, bool), Error> {
        let mut sha: Option<String> = None;
        let listed = self.listed.borrow().get(&(part.source, part.number)).cloned();
        if let Some(c) = listed {
            let kept = if self.target.checks_sha256(&c) {
                let s = self.hash_part(&part).await?;
                let ok = self.target.check_sha256(&part, &c, &s).is_ok();
                sha = Some(s);
                ok
            } else {
                true
            };
            if kept {
                self.io.part(&part, PartState::Skipped);
                return Ok((part, c, false));
            }
        }
        let api = self.api(&self.control);
        let mut backoff = api.backoff();
        loop {
            let c = self.clone().send_part(upload_id, &part, &mut backoff).await?;
            if !self.target.checks_sha256(&c) {
                self.io.part(&part, PartState::Done);
                return Ok((part, c, true));
            }
            let s = match &sha {
                Some(s) => s.clone(),
                None => sha.insert(self.hash_part(&part).await?).clone(),
            };
            let checked = self.target.check_sha256(&part, &c, &s).map_err(|e| e.for_part(part_ref(&part)));
            match backoff.rejudge_last(&checked) {
                None => {
                    return match checked {
                        Ok(()) => {
                            self.io.part(&part, PartState::Done);
                            Ok((part, c, true))
                        }
                        Err(e) => {
                            self.io.part(&part, PartState::Failed);
                            Err(e.after_attempts(backoff.attempts()))
                        }
                    };
                }
                Some(ms) => {
                    self.io.part(&part, PartState::Retrying);
                    self.control.unless_aborted(self.io.sleep(ms)).await.map_err(|e| e.for_part(part_ref(&part)))?;
                }
            }
        }
    }

    /// Attempts at one part until the service confirms it or it fails for good; `backoff`
    /// counts the part's attempts across re-sends after a checksum that differed.
    async fn send_part(self: Rc<Self>, upload_id: &str, part: &Part, backoff: &mut Backoff<SplitMix64>) -> Result<T::Confirmation, Error> {
        let pref = part_ref(part);
        let part = *part;
        let api = self.api(&self.control);
        let mut renewals_left = self.settings.retry.max_attempts.max(1);
        loop {
            self.control.wait_running().await.map_err(|e| e.for_part(pref))?;
            api.wait_online().await.map_err(|e| e.for_part(pref))?;
            let slot = self.acquire_slot().await.map_err(|e| e.for_part(pref))?;
            let outcome = match self.target.part_request(&api, upload_id, &part).await {
                Err(e) => Err(Refused::from(e)),
                Ok((req, attempt)) => {
                    self.io.part(&part, PartState::Uploading);
                    match self.attempt(&req, &part).await {
                        Sent::Interrupted(RunState::Aborted) => return Err(Error::aborted().for_part(pref)),
                        Sent::Interrupted(_) => {
                            // Paused: the attempt was cut short on purpose and does not count.
                            drop(slot);
                            self.io.part(&part, PartState::Retrying);
                            continue;
                        }
                        Sent::Stalled => Err(Refused::from(stalled(self.settings.stall_timeout_ms).in_operation(req.operation))),
                        Sent::Answer(r) => r
                            .map_err(|e| Refused::from(e.in_operation(req.operation)))
                            .and_then(|resp| self.target.judge(&part, &attempt, resp)),
                    }
                }
            };
            let outcome = outcome.map_err(|r| Refused { error: r.error.for_part(pref), ..r });
            if let Err(r) = &outcome {
                if r.error.kind == ErrorKind::Aborted && self.control.is_aborted() {
                    return Err(Error::aborted().for_part(pref));
                }
                if r.error.kind == ErrorKind::Network && !self.io.is_online() {
                    // Offline: not the service's fault; wait for the network (top of the loop).
                    drop(slot);
                    self.io.part(&part, PartState::Retrying);
                    continue;
                }
                if r.renew_now && renewals_left > 1 {
                    // The signed request expired before it was used: a fresh one, at once.
                    renewals_left -= 1;
                    drop(slot);
                    self.io.part(&part, PartState::Retrying);
                    continue;
                }
            }
            let outcome = outcome.map_err(|r| r.error);
            let delay = backoff.next_delay(&outcome);
            api.note_outcome(&outcome, delay.unwrap_or(THROTTLE_PAUSE_MS));
            let throttled = matches!(&outcome, Err(e) if e.kind == ErrorKind::Throttled);
            slot.finish(match (&outcome, throttled) {
                (Ok(_), _) => Outcome::Success,
                (Err(_), true) => Outcome::Throttled { pause_ms: delay.unwrap_or(THROTTLE_PAUSE_MS) },
                (Err(_), false) => Outcome::Failed,
            });
            match (delay, outcome) {
                (None, Ok(c)) => return Ok(c),
                (None, Err(e)) => {
                    self.io.part(&part, PartState::Failed);
                    return Err(e.after_attempts(backoff.attempts()));
                }
                (Some(ms), _) => {
                    self.io.part(&part, PartState::Retrying);
                    self.control.unless_aborted(self.io.sleep(ms)).await.map_err(|e| e.for_part(pref))?;
                }
            }
        }
    }

    /// One attempt: a place in the queue, then the request, raced against the stall watch and
    /// pause / abort (dropping the request aborts it).
    async fn attempt(self: &Rc<Self>, req: &HttpRequest, part: &Part) -> Sent {
        let wait = self.queue.acquire(Priority::Part, &self.io);
        let permit = match future::select(pin!(wait), pin!(self.control.interrupted())).await {
            Either::Left((p, _)) => p,
            Either::Right((state, _)) => return Sent::Interrupted(state),
        };
        let last = Rc::new(Cell::new(self.io.now_ms()));
        let seen = last.clone();
        let me = self.clone();
        let p = *part;
        let on_progress: Box<dyn FnMut(u64)> = Box::new(move |sent| {
            seen.set(me.io.now_ms());
            me.io.part_bytes(&p, sent);
        });
        let send = self.io.send(req, Some(on_progress));
        let watch = self.stall_watch(&last);
        let out = match future::select(pin!(send), pin!(future::select(pin!(watch), pin!(self.control.interrupted())))).await {
            Either::Left((r, _)) => Sent::Answer(r),
            Either::Right((Either::Left(((), _)), _)) => Sent::Stalled,
            Either::Right((Either::Right((state, _)), _)) => Sent::Interrupted(state),
        };
        drop(permit);
        out
    }

    /// Resolves once `last` (time of the last upload progress) is `stall_timeout_ms` old.
    async fn stall_watch(&self, last: &Cell<f64>) {
        let limit = self.settings.stall_timeout_ms;
        if limit == 0 {
            return future::pending().await;
        }
        let step = (limit / 4).clamp(50, 5_000);
        loop {
            self.io.sleep(step).await;
            if self.io.now_ms() - last.get() >= limit as f64 {
                return;
            }
        }
    }

    /// Waits for a concurrency slot: none while the service asked us to back off, and no more
    /// than the adaptive limit at once.
    async fn acquire_slot(&self) -> Result<Slot<'_, I>, Error> {
        loop {
            let now = self.io.now_ms();
            let wait = match self.adaptive.borrow_mut().try_start(now) {
                Start::Go => return Ok(Slot { adaptive: &self.adaptive, io: &self.io, open: true }),
                Start::WaitUntil(t) => ((t - now).max(1.0) as u64).min(1_000),
                // Parts last long next to this: polling every 50 ms costs nothing.
                Start::Full => 50,
            };
            self.control.unless_aborted(self.io.sleep(wait)).await?;
            self.control.wait_running().await?;
        }
    }

    /// Aborts the upload on the server, once, unless completion already began.
    pub async fn abort_on_server(&self) -> Result<(), Error> {
        if self.completion_sent.get() {
            return Ok(());
        }
        let Some(id) = self.upload_id() else { return Ok(()) };
        if self.server_aborted.replace(true) {
            return Ok(());
        }
        // The run's control is aborted by now; this call must still go out.
        let fresh = Control::default();
        self.target.abort(&self.api(&fresh), &id).await?;
        self.io.forget(&id).await;
        Ok(())
    }
}
