//! The browser's implementations of the driver's I/O traits: XHR ([`super::http`]), timers
//! ([`super::timer`]), `navigator.onLine` ([`super::online`]), the hashing worker pool
//! ([`super::pool`]), IndexedDB ([`super::persist`]) and progress events
//! ([`super::progress`]); plus the page's one [`RequestQueue`].

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use js_sys::Reflect;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::Blob;

use super::control::Control;
use super::js_error::to_js;
use super::persist::{self, Fingerprint, SavedUpload};
use super::pool::{self, HashError, JobSpec};
use super::progress::Progress;
use super::{http, online, timer};
use crate::blob::read_range;
use crate::error::Error;
use crate::etag::{Etag, EtagFamily};
use crate::kernel::Kind;
use crate::plan::{Part, Source};
use crate::upload::io::{Body, Clock, Events, Hashing, HttpRequest, HttpResponse, Online, PartState, Persist, Phase, Saved, Transport};
use crate::upload::queue::{QueueConfig, RequestQueue};
use crate::validate::check_gzip_signature;

thread_local! {
    static QUEUE: Rc<RequestQueue> = Rc::new(RequestQueue::default());
}

/// The page's request queue: every network call of every upload on the page goes through it.
pub fn page_queue() -> Rc<RequestQueue> {
    QUEUE.with(Rc::clone)
}

#[wasm_bindgen]
extern "C" {
    /// `RequestQueueOptions` (TypeScript).
    #[wasm_bindgen(typescript_type = "RequestQueueOptions")]
    pub type RequestQueueOptionsArg;
}

/// Sets the page's request limits, shared by every upload and listing on the page:
/// `{ concurrency?: number, requestsPerSecond?: number }` (defaults 16 and no rate limit);
/// called with nothing, it restores the defaults. Throws `invalid_input` on a bad value.
#[wasm_bindgen(js_name = configureRequestQueue)]
pub fn configure_request_queue(options: Option<RequestQueueOptionsArg>) -> Result<(), JsValue> {
    let value: JsValue = options.map_or(JsValue::UNDEFINED, Into::into);
    let config: QueueConfig = if value.is_undefined() || value.is_null() {
        QueueConfig::default()
    } else {
        serde_wasm_bindgen::from_value(value).map_err(|e| to_js(&Error::invalid_input(format!("invalid request queue options: {e}"))))?
    };
    config.validate().map_err(|e| to_js(&e))?;
    page_queue().configure(config);
    Ok(())
}

/// Transport, clock and online state: what API calls need (listings, aborts by ID).
#[derive(Debug, Default, Clone, Copy)]
pub struct WebNet;

impl Transport for WebNet {
    async fn send(&self, req: &HttpRequest, on_progress: Option<Box<dyn FnMut(u64)>>) -> Result<HttpResponse, Error> {
        http::send(req, None, on_progress).await
    }
}

/// The browser's clock (`Date.now()`, `setTimeout`) and online state (`navigator.onLine`,
/// the `online` event), for the I/O types below.
macro_rules! browser_clock_and_online {
    ($t:ty) => {
        impl Clock for $t {
            fn now_ms(&self) -> f64 {
                timer::now_ms()
            }
            async fn sleep(&self, ms: u64) {
                timer::sleep(ms).await
            }
        }

        impl Online for $t {
            fn is_online(&self) -> bool {
                online::is_online()
            }
            async fn online_or_timeout(&self, ms: u64) {
                online::online_event_or_timeout(ms).await
            }
        }
    };
}

browser_clock_and_online!(WebNet);
browser_clock_and_online!(WebIo);

/// Where the saved record of an upload belongs.
pub enum RecordKind {
    /// A HealthOmics upload into `store_id` at `endpoint`, planned with `part_size`.
    Omics {
        /// API endpoint.
        endpoint: String,
        /// Sequence store.
        store_id: String,
        /// Part size of the plan.
        part_size: u64,
        /// Read set name.
        name: String,
    },
    /// A Seven Bridges upload of `name` into `destination` (project or folder).
    SevenBridges {
        /// API endpoint.
        endpoint: String,
        /// `owner/project` or a folder ID.
        destination: String,
        /// File name.
        name: String,
    },
}

/// Upload options the I/O needs.
pub struct FileOptions {
    /// Bytes per read while hashing.
    pub chunk_size: u64,
    /// Hash in Web Workers when the page allows it.
    pub hash_in_workers: bool,
    /// Check that FASTQ files are gzip before any network call.
    pub fastq: bool,
}

/// A record's key and the files' fingerprints it was made from.
type RecordKey = (String, Vec<Fingerprint>);

/// The browser I/O of one upload: its files, progress, saved state and hashing.
pub struct WebIo {
    files: Vec<Blob>,
    /// Progress counters and the `onProgress` callback.
    pub progress: Progress,
    control: Rc<Control>,
    options: FileOptions,
    record: RecordKind,
    key: RefCell<Option<Option<RecordKey>>>,
    saved: RefCell<Option<SavedUpload>>,
    jobs: Cell<(u32, u32)>,
}

/// Persistence problems never fail an upload: they are logged to the console.
pub fn warn_if_err<T>(what: &str, r: Result<T, Error>) {
    if let Err(e) = r {
        web_sys::console::warn_1(&format!("readset-upload: {what}: {}", e.message).into());
    }
}

fn source_index(s: Source) -> usize {
    match s {
        Source::Source1 => 0,
        Source::Source2 => 1,
    }
}

impl WebIo {
    /// The I/O of an upload of `files` (one per source), stopped by `control`.
    pub fn new(files: Vec<Blob>, progress: Progress, control: Rc<Control>, options: FileOptions, record: RecordKind) -> Self {
        WebIo { files, progress, control, options, record, key: RefCell::default(), saved: RefCell::default(), jobs: Cell::new((0, 0)) }
    }

    fn slice(&self, part: &Part) -> Result<Blob, Error> {
        let blob = self.files.get(source_index(part.source)).ok_or_else(|| Error::invalid_input(format!("no file for {}", part.source)))?;
        blob.slice_with_f64_and_f64(part.start as f64, part.end as f64)
            .map_err(|e| Error::invalid_input(format!("{} could not be sliced: {e:?}", part.source)))
    }

    fn count_job(&self, in_worker: bool) {
        let (w, m) = self.jobs.get();
        self.jobs.set(if in_worker { (w + 1, m) } else { (w, m + 1) });
    }

    fn hash_error(&self, source: Source, offset: u64, e: HashError) -> Error {
        match e {
            HashError::Aborted => Error::aborted(),
            HashError::Read { at, detail } => Error::invalid_input(format!(
                "{source} could not be read at byte {} (was it moved or changed?): {detail}",
                offset + at
            )),
            HashError::Input(m) => Error::invalid_input(format!("{source}: {m}")),
        }
    }

    /// The record key and the files' fingerprints, computed once (`None`: unreadable files).
    async fn key(&self) -> Option<RecordKey> {
        if let Some(k) = self.key.borrow().clone() {
            return k;
        }
        let mut prints = Vec::with_capacity(self.files.len());
        for f in &self.files {
            match persist::fingerprint(f).await {
                Ok(p) => prints.push(p),
                Err(e) => {
                    warn_if_err::<()>("fingerprinting the files", Err(e));
                    *self.key.borrow_mut() = Some(None);
                    return None;
                }
            }
        }
        let key = match &self.record {
            RecordKind::Omics { endpoint, store_id, part_size, .. } => persist::record_key(endpoint, store_id, *part_size, &prints),
            RecordKind::SevenBridges { endpoint, destination, name } => {
                format!("sevenbridges|{}", persist::record_key(endpoint, destination, 0, &prints)) + "|" + name
            }
        };
        let k = Some((key, prints));
        *self.key.borrow_mut() = Some(k.clone());
        k
    }
}

impl Transport for WebIo {
    async fn send(&self, req: &HttpRequest, on_progress: Option<Box<dyn FnMut(u64)>>) -> Result<HttpResponse, Error> {
        match &req.body {
            Body::Part(part) => {
                let slice = self.slice(part)?;
                http::send(req, Some(&slice), on_progress).await
            }
            _ => http::send(req, None, on_progress).await,
        }
    }
}

impl Hashing for WebIo {
    async fn part_sha256(&self, part: &Part, on_bytes: Rc<dyn Fn(u64)>) -> Result<String, Error> {
        let slice = self.slice(part)?;
        let job = JobSpec { use_workers: self.options.hash_in_workers, ..JobSpec::new(Kind::Sha256, self.options.chunk_size) };
        let d = pool::hash_blob(&slice, &job, on_bytes, &self.control).await.map_err(|e| self.hash_error(part.source, part.start, e))?;
        self.count_job(d.in_worker);
        Ok(d.text)
    }

    async fn fastq_etag(&self, source: Source, family: EtagFamily) -> Result<Etag, Error> {
        let blob = self.files.get(source_index(source)).ok_or_else(|| Error::invalid_input(format!("no file for {source}")))?;
        let ignore: Rc<dyn Fn(u64)> = Rc::new(|_| {});
        let job = JobSpec { dedicated: true, use_workers: self.options.hash_in_workers, ..JobSpec::new(Kind::fastq(family), self.options.chunk_size) };
        let d = pool::hash_blob(blob, &job, ignore, &self.control).await.map_err(|e| self.hash_error(source, 0, e))?;
        self.count_job(d.in_worker);
        let (hex, bytes) = d.text.split_once(' ').unwrap_or((d.text.as_str(), "0"));
        Ok(Etag { algorithm: family.fastq_algorithm(), hex: hex.to_string(), uncompressed_bytes: bytes.parse().unwrap_or(0) })
    }

    async fn check_contents(&self) -> Result<(), Error> {
        if !self.options.fastq {
            return Ok(());
        }
        for (i, blob) in self.files.iter().enumerate() {
            let end = 2.min(blob.size() as u64);
            let head = read_range(blob, 0, end).await.map_err(|e| Error::invalid_input(format!("files[{i}] could not be read: {e:?}")))?;
            let name = blob.dyn_ref::<web_sys::File>().map(|f| f.name()).unwrap_or_default();
            check_gzip_signature(i, &name, &head)?;
        }
        Ok(())
    }

    fn hash_jobs(&self) -> (u32, u32) {
        self.jobs.get()
    }

    fn hash_parallelism(&self) -> usize {
        pool::upload_hash_jobs()
    }
}

impl Persist for WebIo {
    async fn load(&self) -> Option<Saved> {
        let (key, _) = self.key().await?;
        match persist::load(&key).await {
            Ok(Some(rec)) => {
                let saved = Saved { upload_id: rec.upload_id.clone(), grant: rec.upload_grant.clone() };
                *self.saved.borrow_mut() = Some(rec);
                Some(saved)
            }
            Ok(None) => None,
            Err(e) => {
                warn_if_err::<()>("reading saved uploads", Err(e));
                None
            }
        }
    }

    async fn save(&self, saved: &Saved) {
        let Some((key, files)) = self.key().await else { return };
        let previous = self.saved.borrow().clone().filter(|r| r.upload_id == saved.upload_id);
        let rec = match (previous, &self.record) {
            (Some(mut rec), _) => {
                rec.upload_grant = saved.grant.clone();
                rec
            }
            (None, RecordKind::Omics { endpoint, store_id, part_size, name }) => SavedUpload {
                key,
                endpoint: endpoint.clone(),
                sequence_store_id: store_id.clone(),
                upload_id: saved.upload_id.clone(),
                part_size: *part_size,
                files,
                name: Some(name.clone()),
                created_ms: timer::now_ms(),
                parts_confirmed: 0,
                bytes_confirmed: 0,
                upload_grant: saved.grant.clone(),
                target: None,
            },
            (None, RecordKind::SevenBridges { endpoint, destination, name }) => SavedUpload {
                key,
                endpoint: endpoint.clone(),
                sequence_store_id: destination.clone(),
                upload_id: saved.upload_id.clone(),
                part_size: 0,
                files,
                name: Some(name.clone()),
                created_ms: timer::now_ms(),
                parts_confirmed: 0,
                bytes_confirmed: 0,
                upload_grant: None,
                target: Some("sevenbridges".into()),
            },
        };
        warn_if_err("saving the upload", persist::save(&rec).await);
        *self.saved.borrow_mut() = Some(rec);
    }

    async fn save_part(&self, part: &Part) {
        let rec = {
            let mut saved = self.saved.borrow_mut();
            let Some(rec) = saved.as_mut() else { return };
            rec.parts_confirmed += 1;
            rec.bytes_confirmed += part.len();
            rec.clone()
        };
        warn_if_err("saving a part", persist::save(&rec).await);
    }

    async fn forget(&self, upload_id: &str) {
        self.saved.borrow_mut().take();
        warn_if_err("forgetting the upload", persist::remove_upload(upload_id).await.map(|_| ()));
    }
}

impl Events for WebIo {
    fn phase(&self, phase: Phase) {
        self.progress.phase(phase);
    }
    fn upload_id(&self, id: &str) {
        self.progress.upload_id(id);
    }
    fn parts_total(&self, total: usize) {
        self.progress.parts_total(total);
    }
    fn part(&self, part: &Part, state: PartState) {
        self.progress.part(part, state);
    }
    fn part_bytes(&self, part: &Part, sent: u64) {
        self.progress.part_bytes(part, sent);
    }
    fn hashed(&self, bytes: u64) {
        self.progress.hashed(bytes);
    }
}

/// Reads `key` of a JS object (`undefined` when absent).
pub fn get(obj: &JsValue, key: &str) -> JsValue {
    Reflect::get(obj, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}
