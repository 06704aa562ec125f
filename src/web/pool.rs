//! Hashing off the main thread: a pool of Web Workers, one per core but one, each running its own
//! instance of this package's wasm module (the raw kernel of [`crate::kernel`]).
//!
//! - Workers start from a Blob URL of `reader.js` + `hash_worker.js` (embedded here), so nothing has to be
//!   located next to the package and bundlers need no configuration. The page sends each worker
//!   the compiled `WebAssembly.Module` (`wasm_bindgen::module()`): no second download, no second
//!   compile.
//! - A job is a `Blob` (a part's slice, or a whole source for a FASTQ ETag) plus a kind; the
//!   worker reads it itself (`chunk` bytes at a time, copied into one reused wasm buffer) and
//!   answers with the digest. The main thread never touches the bytes.
//! - Shared workers are started on demand up to one per core but one (at least one), so one
//!   core stays free for the page; the cores come from [`cores`], which caps
//!   `navigator.hardwareConcurrency` (at most 8; WebKit's rounded-up 4 counts as 2). They stop
//!   after 30 s idle. An upload keeps at most [`upload_hash_jobs`] part hashes in flight. A *dedicated* job (a whole-file
//!   ETag stream, which runs for the whole upload) gets a worker of its own, so it never
//!   starves part hashing.
//! - A worker that sends nothing for `STALL_MS` while it has a job is stopped and its job
//!   hashed on the main thread instead: a browser read that never settles cannot hang an upload.
//! - Dropping a job's future cancels it (queued: removed; running: the worker stops at its next
//!   read). When workers cannot run (a Content-Security-Policy without `worker-src blob:`, no
//!   `Worker`, a module that cannot be shared), the pool turns itself off and [`hash_blob`]
//!   hashes on the main thread instead, with the same reader, with a console warning once.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::rc::{Rc, Weak};
use std::task::{Context, Poll};

use futures::channel::oneshot;
use js_sys::{Array, Object, Promise, Reflect, Uint8Array};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Blob, BlobPropertyBag, MessageEvent, Url, Worker};

use super::control::Control;
use super::timer::{now_ms, sleep};
use crate::kernel::{KernelHasher, Kind};

const WORKER_JS: &str = include_str!("hash_worker.js");
const READER_JS: &str = include_str!("reader.js");

/// The worker's script: the shared reader (its `export`s dropped: a worker from a Blob URL is a
/// classic script) followed by the worker's message loop.
fn worker_source() -> String {
    format!("{}\n{}", READER_JS.replace("\nexport ", "\n"), WORKER_JS)
}

#[wasm_bindgen(module = "/src/web/reader.js")]
extern "C" {
    /// Reads `blob` in chunks of at most `chunk` bytes (BYOB reads where the engine has them,
    /// else a default reader copied into one buffer; `no_byob` forces the latter), calling
    /// `on_chunk` with each (a view that the next read reuses); `on_chunk` returning false, or
    /// `ctl.stopped` set, stops it. Resolves to the restarts.
    #[wasm_bindgen(js_name = forEachChunk, catch)]
    fn for_each_chunk(
        blob: &Blob,
        chunk: f64,
        stall_ms: f64,
        ctl: &Object,
        on_chunk: &Closure<dyn FnMut(Uint8Array) -> bool>,
        no_byob: bool,
    ) -> Result<Promise, JsValue>;
}

const MAX_WORKERS: usize = 8;
const IDLE_STOP_MS: u64 = 30_000;
/// Silence (no progress, no answer) after which a worker's job counts as stalled. Workers
/// report every 8 MiB and restart stalled reads after 3 s, so this is far beyond any slow disk.
const STALL_MS: f64 = 60_000.0;
/// How often the housekeeping loop checks for idle and stalled workers.
const CHECK_EVERY_MS: u64 = 5_000;

/// Why a hash did not produce a digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HashError {
    /// The blob could not be read.
    Read {
        /// Offset in the blob hashed where reading failed.
        at: u64,
        /// The browser's error (`name: message`).
        detail: String,
    },
    /// The bytes were rejected (a FASTQ ETag over data that is not gzip, or truncated gzip).
    Input(String),
    /// The upload was aborted meanwhile.
    Aborted,
}

/// Where hashes were computed during one upload (part and ETag jobs), for the upload's result.
#[derive(Debug, Default, Clone, Copy)]
pub struct Where {
    /// Jobs a Web Worker ran.
    pub workers: u32,
    /// Jobs the main thread ran (workers off or unavailable).
    pub main_thread: u32,
}

/// Hashes all of `blob` as `job` says, in a worker when the pool runs, else on the main thread.
/// `progress` gets the bytes hashed as they go.
pub async fn hash_blob(blob: &Blob, job: &JobSpec, progress: Rc<dyn Fn(u64)>, control: &Control) -> Result<Digest, HashError> {
    if job.use_workers {
        if let Some(pool) = Pool::get() {
            let pending = pool.submit(blob.clone(), job, progress.clone());
            match control.unless_aborted(pending).await {
                Err(_) => return Err(HashError::Aborted),
                Ok(Ok(d)) => return Ok(d),
                Ok(Err(JobError::Failed(e))) => return Err(e),
                // The pool broke under this job (worker could not start): hash here instead.
                Ok(Err(JobError::Unavailable)) => {}
            }
        }
    }
    hash_on_main_thread(blob, job, progress, control).await
}

/// What to hash and how.
#[derive(Debug, Clone, Copy)]
pub struct JobSpec {
    /// The hash.
    pub kind: Kind,
    /// Bytes per read.
    pub chunk: u64,
    /// Run on a worker of its own (a whole-file ETag stream), not a shared one.
    pub dedicated: bool,
    /// Use the worker pool when it runs (else the main thread).
    pub use_workers: bool,
    /// A worker read pending this long is abandoned and restarted at the same offset.
    pub read_stall_ms: u32,
    /// Tests only: every n-th worker read hangs until the stall watchdog cancels it (0: never).
    pub simulate_stall_every: u32,
    /// Tests only: read with a default stream reader, as in engines without BYOB reads
    /// (WebKit), even where a BYOB reader exists.
    pub no_byob: bool,
    /// A SHA-256 or SHA-512 of a blob this size or smaller is computed in the worker by
    /// WebCrypto's one-shot `digest` (the CPU's SHA instructions) on the blob read whole into
    /// memory, where the worker has `crypto.subtle` (secure contexts); larger blobs, other
    /// kinds and the main-thread fallback use the wasm kernel, reading `chunk` at a time.
    pub one_shot_max: u64,
}

impl JobSpec {
    /// A shared-worker job of `kind` reading `chunk` bytes at a time, with the default stall limit.
    pub fn new(kind: Kind, chunk: u64) -> Self {
        JobSpec {
            kind,
            chunk,
            dedicated: false,
            use_workers: true,
            read_stall_ms: DEFAULT_READ_STALL_MS,
            simulate_stall_every: 0,
            no_byob: false,
            one_shot_max: ONE_SHOT_MAX_BYTES,
        }
    }
}

/// Default of [`JobSpec::one_shot_max`]: 8 MiB. WebCrypto hashes about twice as fast as the
/// wasm kernel, but only a whole buffer, which Chromium copies once more: a worker holds about
/// twice this while it hashes, so even eight workers stay near 128 MiB. Parts of the usual
/// sizes (AWS tools use 100 MiB) take the streaming kernel.
pub const ONE_SHOT_MAX_BYTES: u64 = 8 << 20;

/// Default of [`JobSpec::read_stall_ms`].
pub const DEFAULT_READ_STALL_MS: u32 = 3000;

/// A finished hash.
#[derive(Debug, Clone)]
pub struct Digest {
    /// The kernel's text (see [`KernelHasher::finish`]).
    pub text: String,
    /// Whether a worker computed it.
    pub in_worker: bool,
    /// Reads the worker abandoned as stalled and restarted.
    pub read_restarts: u32,
    /// Whether WebCrypto computed it (see [`JobSpec::one_shot_max`]).
    pub web_crypto: bool,
}

/// The fallback: the page's thread reads `blob` with the same BYOB reader the workers use (one
/// reused buffer, stalled reads restarted) and hashes each chunk as it arrives. Pause does not
/// stop it (nor a worker); abort stops it at the next chunk.
async fn hash_on_main_thread(blob: &Blob, job: &JobSpec, progress: Rc<dyn Fn(u64)>, control: &Control) -> Result<Digest, HashError> {
    struct State {
        hasher: KernelHasher,
        buf: Vec<u8>,
        at: u64,
        rejected: bool,
    }
    let state = Rc::new(RefCell::new(State { hasher: KernelHasher::new(job.kind), buf: Vec::new(), at: 0, rejected: false }));
    let inner = state.clone();
    let on_chunk = Closure::<dyn FnMut(Uint8Array) -> bool>::new(move |bytes: Uint8Array| {
        let n = bytes.length() as usize;
        let ok = {
            let mut st = inner.borrow_mut();
            let State { hasher, buf, at, rejected } = &mut *st;
            buf.resize(n, 0);
            bytes.copy_to(&mut buf[..]);
            *at += n as u64;
            *rejected = !hasher.update(&buf[..]);
            !*rejected
        };
        progress(n as u64);
        ok
    });
    // Dropped (this future dropped, or the upload aborted), the guard tells the JS loop to stop
    // before the callback goes away, so it is never called after being freed.
    let guard = StopOnDrop { ctl: Object::new(), _on_chunk: on_chunk };
    let read_error = |e: JsValue| HashError::Read { at: state.borrow().at, detail: js_detail(&e) };
    let promise =
        for_each_chunk(blob, job.chunk as f64, f64::from(job.read_stall_ms.max(1)), &guard.ctl, &guard._on_chunk, job.no_byob).map_err(read_error)?;
    let restarts = control.unless_aborted(JsFuture::from(promise)).await.map_err(|_| HashError::Aborted)?.map_err(read_error)?;
    drop(guard);
    let st = Rc::try_unwrap(state).map_err(|_| HashError::Aborted)?.into_inner();
    let text = st.hasher.finish().map_err(HashError::Input)?;
    Ok(Digest { text, in_worker: false, read_restarts: restarts.as_f64().unwrap_or(0.0) as u32, web_crypto: false })
}

/// Owns the fallback's chunk callback; dropping it sets `ctl.stopped` first.
struct StopOnDrop {
    ctl: Object,
    _on_chunk: Closure<dyn FnMut(Uint8Array) -> bool>,
}

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        let _ = Reflect::set(&self.ctl, &"stopped".into(), &JsValue::TRUE);
    }
}

fn js_detail(e: &JsValue) -> String {
    let get = |k: &str| Reflect::get(e, &k.into()).ok().and_then(|v| v.as_string());
    match (get("name"), get("message")) {
        (Some(n), Some(m)) => format!("{n}: {m}"),
        _ => format!("{e:?}"),
    }
}

enum JobError {
    Failed(HashError),
    Unavailable,
}

type Reply = Result<Digest, JobError>;

struct Job {
    id: u32,
    blob: Blob,
    kind: Kind,
    chunk: u64,
    stall_ms: u32,
    stall_every: u32,
    no_byob: bool,
    one_shot: bool,
    progress: Rc<dyn Fn(u64)>,
    reply: oneshot::Sender<Reply>,
}

/// A job a worker is running: its id, progress callback and reply channel (taken on reply).
type Running = (u32, Rc<dyn Fn(u64)>, Option<oneshot::Sender<Reply>>);

struct Slot {
    id: u32,
    worker: Worker,
    dedicated: bool,
    /// The job running here.
    job: Option<Running>,
    idle_since: f64,
    /// When the worker last sent anything (or got its job).
    last_heard: f64,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_error: Closure<dyn FnMut(web_sys::Event)>,
}

impl Drop for Slot {
    /// Detaches the handlers before their closures are freed: a worker that failed to start
    /// (a CSP violation) may still fire `error` events afterwards.
    fn drop(&mut self) {
        self.worker.set_onmessage(None);
        self.worker.set_onerror(None);
        self.worker.terminate();
    }
}

/// The page's worker pool (one per page, shared by all uploads).
pub struct Pool {
    me: Weak<Pool>,
    url: String,
    module: JsValue,
    max: usize,
    slots: RefCell<Vec<Slot>>,
    queue: RefCell<VecDeque<Job>>,
    next_id: Cell<u32>,
    broken: RefCell<Option<String>>,
    reaper: Cell<bool>,
}

thread_local! {
    static POOL: RefCell<Option<Result<Rc<Pool>, ()>>> = const { RefCell::new(None) };
}

impl Pool {
    /// The page's pool, created on first use; `None` when workers cannot run here.
    pub fn get() -> Option<Rc<Pool>> {
        POOL.with(|p| {
            let mut p = p.borrow_mut();
            if p.is_none() {
                *p = Some(Pool::create().map_err(|why| warn_off(&why)));
            }
            match p.as_ref() {
                Some(Ok(pool)) if pool.broken.borrow().is_none() => Some(pool.clone()),
                _ => None,
            }
        })
    }

    fn create() -> Result<Rc<Pool>, String> {
        let global = js_sys::global();
        if Reflect::get(&global, &"Worker".into()).map(|w| w.is_undefined()).unwrap_or(true) {
            return Err("this context has no Worker".into());
        }
        let module = wasm_bindgen::module();
        if !module.is_instance_of::<js_sys::WebAssembly::Module>() {
            return Err("the WebAssembly.Module is not available to share".into());
        }
        let props = BlobPropertyBag::new();
        props.set_type("text/javascript");
        let parts = Array::of1(&JsValue::from_str(&worker_source()));
        let blob = Blob::new_with_str_sequence_and_options(&parts, &props).map_err(|e| js_detail(&e))?;
        let url = Url::create_object_url_with_blob(&blob).map_err(|e| js_detail(&e))?;
        let cores = cores();
        Ok(Rc::new_cyclic(|me| Pool {
            me: me.clone(),
            url,
            module,
            max: shared_workers(cores),
            slots: RefCell::new(Vec::new()),
            queue: RefCell::new(VecDeque::new()),
            next_id: Cell::new(1),
            broken: RefCell::new(None),
            reaper: Cell::new(false),
        }))
    }

    fn fresh_id(&self) -> u32 {
        let id = self.next_id.get();
        self.next_id.set(id.wrapping_add(1).max(1));
        id
    }

    /// Queues a job; the returned future resolves with the kernel's text. Dropping it cancels.
    fn submit(&self, blob: Blob, spec: &JobSpec, progress: Rc<dyn Fn(u64)>) -> JobFuture {
        let (reply, rx) = oneshot::channel();
        let id = self.fresh_id();
        let one_shot = matches!(spec.kind, Kind::Sha256 | Kind::Sha512) && blob.size() as u64 <= spec.one_shot_max;
        let job = Job {
            id,
            blob,
            kind: spec.kind,
            chunk: spec.chunk.max(1),
            stall_ms: spec.read_stall_ms.max(1),
            stall_every: spec.simulate_stall_every,
            no_byob: spec.no_byob,
            one_shot,
            progress,
            reply,
        };
        if spec.dedicated {
            match self.spawn(true) {
                Ok(slot) => self.start_on(slot, job),
                Err(why) => self.break_pool(why),
            }
        } else {
            self.queue.borrow_mut().push_back(job);
            self.dispatch();
        }
        JobFuture { rx, id, pool: self.me.clone() }
    }

    /// Starts queued jobs on idle shared workers, spawning workers up to the limit.
    fn dispatch(&self) {
        loop {
            if self.queue.borrow().is_empty() {
                return;
            }
            let idle = self.slots.borrow().iter().find(|s| !s.dedicated && s.job.is_none()).map(|s| s.id);
            let slot = match idle {
                Some(id) => id,
                None if self.slots.borrow().iter().filter(|s| !s.dedicated).count() < self.max => match self.spawn(false) {
                    Ok(id) => id,
                    Err(why) => return self.break_pool(why),
                },
                None => return,
            };
            let Some(job) = self.queue.borrow_mut().pop_front() else { return };
            self.start_on(slot, job);
        }
    }

    fn start_on(&self, slot: u32, job: Job) {
        let msg = Object::new();
        let _ = Reflect::set(&msg, &"type".into(), &"job".into());
        let _ = Reflect::set(&msg, &"id".into(), &job.id.into());
        let _ = Reflect::set(&msg, &"blob".into(), &job.blob);
        let _ = Reflect::set(&msg, &"kind".into(), &(job.kind as u32).into());
        let _ = Reflect::set(&msg, &"chunk".into(), &(job.chunk as f64).into());
        let _ = Reflect::set(&msg, &"stallMs".into(), &job.stall_ms.into());
        let _ = Reflect::set(&msg, &"stallEvery".into(), &job.stall_every.into());
        let _ = Reflect::set(&msg, &"noByob".into(), &job.no_byob.into());
        let _ = Reflect::set(&msg, &"oneShot".into(), &job.one_shot.into());
        let mut slots = self.slots.borrow_mut();
        let Some(s) = slots.iter_mut().find(|s| s.id == slot) else { return };
        match s.worker.post_message(&msg) {
            Ok(()) => {
                s.job = Some((job.id, job.progress, Some(job.reply)));
                s.last_heard = now_ms();
            }
            Err(e) => {
                drop(slots);
                let _ = job.reply.send(Err(JobError::Unavailable));
                self.break_pool(format!("posting a job failed: {}", js_detail(&e)));
            }
        }
    }

    fn spawn(&self, dedicated: bool) -> Result<u32, String> {
        let worker = Worker::new(&self.url).map_err(|e| js_detail(&e))?;
        let id = self.fresh_id();
        let me = self.me.clone();
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
            if let Some(pool) = me.upgrade() {
                pool.on_message(id, e.data());
            }
        });
        let me = self.me.clone();
        let on_error = Closure::<dyn FnMut(web_sys::Event)>::new(move |e: web_sys::Event| {
            e.prevent_default();
            if let Some(pool) = me.upgrade() {
                let why = Reflect::get(&e, &"message".into()).ok().and_then(|m| m.as_string()).unwrap_or_else(|| "it could not start".into());
                pool.break_pool(format!("a hash worker failed: {why}"));
            }
        });
        worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        let init = Object::new();
        let _ = Reflect::set(&init, &"type".into(), &"init".into());
        let _ = Reflect::set(&init, &"module".into(), &self.module);
        worker.post_message(&init).map_err(|e| js_detail(&e))?;
        self.slots.borrow_mut().push(Slot {
            id,
            worker,
            dedicated,
            job: None,
            idle_since: now_ms(),
            last_heard: now_ms(),
            _on_message: on_message,
            _on_error: on_error,
        });
        self.housekeeping();
        Ok(id)
    }

    fn on_message(&self, slot: u32, data: JsValue) {
        let get = |k: &str| Reflect::get(&data, &k.into()).unwrap_or(JsValue::UNDEFINED);
        let kind = get("type").as_string().unwrap_or_default();
        if kind == "failed" {
            let why = get("message").as_string().unwrap_or_default();
            return self.break_pool(format!("a hash worker could not load the module: {why}"));
        }
        if kind == "ready" {
            return;
        }
        let id = get("id").as_f64().unwrap_or(-1.0) as u32;
        let (progress, reply) = {
            let mut slots = self.slots.borrow_mut();
            let Some(s) = slots.iter_mut().find(|s| s.id == slot) else { return };
            s.last_heard = now_ms();
            let Some((job_id, progress, reply)) = s.job.as_mut() else { return };
            if *job_id != id {
                return;
            }
            if kind == "progress" {
                (Some(progress.clone()), None)
            } else {
                let reply = reply.take();
                s.job = None;
                s.idle_since = now_ms();
                (None, Some(reply))
            }
        };
        if let Some(p) = progress {
            p(get("bytes").as_f64().unwrap_or(0.0) as u64);
            return;
        }
        let answer = match kind.as_str() {
            "done" => Ok(Digest {
                text: get("text").as_string().unwrap_or_default(),
                in_worker: true,
                read_restarts: get("restarts").as_f64().unwrap_or(0.0) as u32,
                web_crypto: get("webCrypto").as_bool() == Some(true),
            }),
            "error" if get("read").as_bool() == Some(true) => Err(JobError::Failed(HashError::Read {
                at: get("at").as_f64().unwrap_or(0.0) as u64,
                detail: get("message").as_string().unwrap_or_default(),
            })),
            "error" => Err(JobError::Failed(HashError::Input(get("message").as_string().unwrap_or_default()))),
            _ => Err(JobError::Failed(HashError::Aborted)), // "cancelled": nobody is waiting
        };
        if let Some(Some(tx)) = reply {
            let _ = tx.send(answer);
        }
        self.finished(slot);
    }

    /// A slot's job ended: dedicated workers stop, shared ones take the next job.
    fn finished(&self, slot: u32) {
        let dedicated = self.slots.borrow().iter().find(|s| s.id == slot).map(|s| s.dedicated);
        if dedicated == Some(true) {
            self.stop_slot(slot);
        }
        self.dispatch();
    }

    fn stop_slot(&self, slot: u32) {
        drop(self.take_slot(slot));
    }

    /// Removes a slot (its worker terminates when it drops); the slot and any job in it go to the caller.
    fn take_slot(&self, slot: u32) -> Option<Slot> {
        let mut slots = self.slots.borrow_mut();
        let i = slots.iter().position(|s| s.id == slot)?;
        Some(slots.remove(i))
    }

    /// While any worker exists, every `CHECK_EVERY_MS`: stop shared workers idle for
    /// `IDLE_STOP_MS`, and stop workers silent for `STALL_MS` during a job, whose job then
    /// runs on the main thread (answered `Unavailable`) while the pool keeps working.
    fn housekeeping(&self) {
        if self.reaper.replace(true) {
            return;
        }
        let me = self.me.clone();
        wasm_bindgen_futures::spawn_local(async move {
            loop {
                sleep(CHECK_EVERY_MS).await;
                let Some(pool) = me.upgrade() else { return };
                let now = now_ms();
                let (idle, stalled): (Vec<u32>, Vec<u32>) = {
                    let slots = pool.slots.borrow();
                    let idle = slots.iter().filter(|s| s.job.is_none() && s.idle_since <= now - IDLE_STOP_MS as f64).map(|s| s.id).collect();
                    let stalled = slots.iter().filter(|s| s.job.is_some() && s.last_heard <= now - STALL_MS).map(|s| s.id).collect();
                    (idle, stalled)
                };
                for id in idle {
                    pool.stop_slot(id);
                }
                for id in stalled {
                    web_sys::console::warn_1(&"readset-upload: a hash worker went silent; its job runs on the main thread".into());
                    if let Some(mut s) = pool.take_slot(id) {
                        if let Some((_, _, Some(tx))) = s.job.take() {
                            let _ = tx.send(Err(JobError::Unavailable));
                        }
                    }
                }
                pool.dispatch();
                if pool.slots.borrow().is_empty() {
                    pool.reaper.set(false);
                    return;
                }
            }
        });
    }

    /// Workers cannot run here: answer every waiting job with `Unavailable` (its caller hashes
    /// on the main thread) and stop using the pool on this page.
    fn break_pool(&self, why: String) {
        if self.broken.borrow().is_some() {
            return;
        }
        warn_off(&why);
        *self.broken.borrow_mut() = Some(why);
        let slots: Vec<Slot> = self.slots.borrow_mut().drain(..).collect();
        let queued: Vec<Job> = self.queue.borrow_mut().drain(..).collect();
        for mut s in slots {
            if let Some((_, _, Some(tx))) = s.job.take() {
                let _ = tx.send(Err(JobError::Unavailable));
            }
        }
        for j in queued {
            let _ = j.reply.send(Err(JobError::Unavailable));
        }
    }

    /// The caller dropped job `id`: forget it if queued, ask its worker to stop if running.
    fn cancel(&self, id: u32) {
        let mut queue = self.queue.borrow_mut();
        if let Some(i) = queue.iter().position(|j| j.id == id) {
            queue.remove(i);
            return;
        }
        drop(queue);
        let slots = self.slots.borrow();
        if let Some(s) = slots.iter().find(|s| matches!(&s.job, Some((j, _, _)) if *j == id)) {
            let msg = Object::new();
            let _ = Reflect::set(&msg, &"type".into(), &"cancel".into());
            let _ = Reflect::set(&msg, &"id".into(), &id.into());
            let _ = s.worker.post_message(&msg);
        }
    }

    /// Shared workers running now (for tests and diagnostics).
    pub fn workers(&self) -> usize {
        self.slots.borrow().len()
    }
}

/// The cores the pool may use, from `navigator.hardwareConcurrency` (2 when unknown), which is
/// a hint, not a count: capped at [`MAX_WORKERS`], and WebKit's figure (Safari, WebKitGTK:
/// `navigator.vendor` "Apple Computer, Inc.") is rounded up against fingerprinting (WebKitGTK
/// 2.50 says 4 on a 2-core machine), so 4 there counts as 2: the least it may stand for.
pub fn cores() -> usize {
    let navigator = Reflect::get(&js_sys::global(), &"navigator".into()).ok();
    let get = |k: &str| navigator.as_ref().and_then(|n| Reflect::get(n, &k.into()).ok());
    let reported = get("hardwareConcurrency").and_then(|c| c.as_f64()).filter(|c| *c >= 1.0).map_or(2, |c| c.min(1024.0) as usize);
    let webkit = get("vendor").and_then(|v| v.as_string()).is_some_and(|v| v.starts_with("Apple"));
    usable_cores(reported, webkit)
}

/// [`cores`] from the reported figure and whether the engine is WebKit.
fn usable_cores(reported: usize, webkit: bool) -> usize {
    let n = if webkit && reported == 4 { 2 } else { reported };
    n.clamp(1, MAX_WORKERS)
}

/// Shared workers the pool runs at most: one per core but one, which stays free for the page's
/// main thread (at least one).
fn shared_workers(cores: usize) -> usize {
    cores.saturating_sub(1).clamp(1, MAX_WORKERS)
}

/// Part hashes one upload keeps in flight: one per core but one, which stays free for the
/// page's main thread and the browser's network work. Measured on 2 cores (BENCHMARKS.md):
/// two hashing workers left the main thread with 90 ms tasks and the renderer 12 % larger on
/// a 4 GiB file than on a 1 GiB one, for no faster upload; one worker: no task over 50 ms.
/// `hashBlob` calls share the same shared workers (one per core but one).
pub fn upload_hash_jobs() -> usize {
    shared_workers(cores())
}

fn warn_off(why: &str) {
    web_sys::console::warn_1(&format!("readset-upload: hashing on the main thread: Web Workers are unavailable ({why})").into());
}

/// A submitted job; dropping it before it resolves cancels the job.
struct JobFuture {
    rx: oneshot::Receiver<Reply>,
    id: u32,
    pool: Weak<Pool>,
}

impl Future for JobFuture {
    type Output = Reply;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Reply> {
        match Pin::new(&mut self.rx).poll(cx) {
            Poll::Ready(r) => {
                self.id = 0;
                Poll::Ready(r.unwrap_or(Err(JobError::Unavailable)))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl Drop for JobFuture {
    fn drop(&mut self) {
        if self.id != 0 {
            if let Some(pool) = self.pool.upgrade() {
                pool.cancel(self.id);
            }
        }
    }
}
