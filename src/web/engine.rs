//! The upload engine: create (or resume), hash and send parts in parallel, complete, wait for
//! ACTIVE, verify the ETag.
//!
//! Data flow: part SHA-256s are computed in the Web Worker pool ([`super::pool`]), in part
//! order, up to cores - 1 parts at once (`buffered`); each hashed part becomes an upload future,
//! and at most `concurrency` of them run at once (`buffer_unordered`). The hashing stream is
//! only pulled when an upload slot is free, so hashing runs only a few parts ahead. Each FASTQ
//! source's ETag (gunzip + hash, which needs the bytes in order) streams through a worker of its
//! own meanwhile; Complete waits for it. Workers read the `Blob` themselves in bounded chunks,
//! and a part's body is the `Blob` slice, sent by the browser from disk: the main thread holds
//! no part bytes.
//!
//! Only parts the server confirmed (and whose checksum matched, where comparable) enter the
//! Complete list; on resume the server's part list is trusted over local memory.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use futures::stream::{self, FuturesUnordered, Stream, StreamExt};
use serde::Serialize;
use web_sys::Blob;

use super::client::Client;
use super::control::Control;
use super::http::{self, Body};
use super::online::{is_online, wait_online};
use super::persist::{self, SavedUpload};
use super::pool::{self, HashError, JobSpec, Where};
use super::progress::{PartState, Phase, Progress};
use super::timer::{now_ms, sleep};
use crate::adaptive::{Adaptive, Outcome, Start};
use crate::blob::read_range;
use crate::kernel::Kind;
use crate::complete::{assemble, Confirmed};
use crate::error::{Error, ErrorKind, PartRef};
use crate::etag::{Etag, EtagFamily};
use crate::omics::{self, CompletePart, CompleteResponse, CreateUploadResponse, ListPartsResponse, Page, ReadSetEtag, ReadSetMetadata, SequenceStore, UploadPartResponse};
use crate::plan::{Part, Source};
use crate::validate::{check_gzip_signature, should_compare, FileType, ValidUpload};
use wasm_bindgen::JsCast;

/// Where a run is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Stage {
    /// `start()` not called yet.
    Idle,
    /// Creating, hashing, uploading.
    Running,
    /// Complete was sent: the upload can no longer be aborted on the server.
    Completing,
    /// The run ended (success or error).
    Finished,
}

/// The outcome of the ETag comparison.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EtagReport {
    /// `verified`, `mismatch`, or `unchecked` (not FASTQ, `verifyEtag: false`, or the store
    /// reported no ETag).
    pub status: &'static str,
    /// The read set's ETag algorithm, as the store reports it.
    pub algorithm: Option<String>,
    /// ETags computed while uploading (`source2` for pairs).
    pub computed: Option<ReadSetEtag>,
    /// ETags reported by `GetReadSetMetadata`.
    pub stored: Option<ReadSetEtag>,
}

/// What `start()` resolves with.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UploadResult {
    /// The new read set.
    pub read_set_id: String,
    /// The multipart upload that created it.
    pub upload_id: String,
    /// Read set status when the promise resolved (`ACTIVE`, or `PROCESSING_UPLOAD` with
    /// `waitForActive: false`).
    pub status: String,
    /// Number of parts completed.
    pub parts: usize,
    /// The parts as sent to Complete.
    pub part_list: Vec<CompletePart>,
    /// Bytes uploaded (all sources).
    pub bytes: u64,
    /// The ETag check.
    pub etag: EtagReport,
    /// Where the hashes were computed: jobs run in Web Workers and on the main thread.
    pub hashing: HashingReport,
}

/// Hash jobs (one per part, one per FASTQ source for its ETag) by where they ran.
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HashingReport {
    /// Jobs a Web Worker ran.
    pub in_workers: u32,
    /// Jobs the main thread ran (`hashInWorkers: false`, or workers unavailable on the page).
    pub on_main_thread: u32,
}

struct HashedPart {
    part: Part,
    sha256: String,
}

/// One upload's state, shared (`Rc`) between the JS handle and the running future.
pub struct Engine {
    v: ValidUpload,
    files: Vec<Blob>,
    client: Client,
    /// Pause / resume / abort.
    pub control: Control,
    /// Progress counters and the JS callback.
    pub progress: Progress,
    upload_id: RefCell<Option<String>>,
    confirmed: RefCell<Confirmed>,
    etags: RefCell<[Option<Etag>; 2]>,
    /// Where this run's hashes were computed.
    hashing: Cell<Where>,
    stage: Cell<Stage>,
    server_aborted: Cell<bool>,
    completion_sent: Cell<bool>,
    /// Parts allowed in flight now (lowered by throttling).
    adaptive: RefCell<Adaptive>,
    /// The IndexedDB record of this upload, once saved.
    saved: RefCell<Option<SavedUpload>>,
}

/// One part attempt's hold on a concurrency slot; released as `Cancelled` if dropped unfinished.
struct Slot<'a> {
    adaptive: &'a RefCell<Adaptive>,
    open: bool,
}

impl Slot<'_> {
    fn finish(mut self, outcome: Outcome) {
        self.open = false;
        self.adaptive.borrow_mut().finish(outcome, now_ms());
    }
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        if self.open {
            self.adaptive.borrow_mut().finish(Outcome::Cancelled, now_ms());
        }
    }
}

fn source_index(s: Source) -> usize {
    match s {
        Source::Source1 => 0,
        Source::Source2 => 1,
    }
}

impl Engine {
    /// An engine for a checked upload of `files` (one per source, in order).
    pub fn new(v: ValidUpload, files: Vec<Blob>, progress: Progress) -> Self {
        let client = Client::new(v.endpoint.clone(), v.token.clone(), v.store_id.clone(), v.retry.clone());
        // When resuming, the upload exists before start(): abort() may discard it at once.
        let upload_id = RefCell::new(v.upload_id.clone());
        let adaptive = RefCell::new(Adaptive::new(v.concurrency));
        Engine {
            adaptive,
            saved: RefCell::new(None),
            v,
            files,
            client,
            control: Control::default(),
            progress,
            upload_id,
            confirmed: RefCell::new(Confirmed::new()),
            etags: RefCell::new([None, None]),
            hashing: Cell::new(Where::default()),
            stage: Cell::new(Stage::Idle),
            server_aborted: Cell::new(false),
            completion_sent: Cell::new(false),
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

    /// Runs the whole upload. Errors carry the upload ID when one exists, so the caller can
    /// resume (`uploadId` option) or abort it.
    pub async fn run(self: Rc<Self>) -> Result<UploadResult, Error> {
        if self.stage.get() != Stage::Idle {
            return Err(Error::invalid_input("start() was already called on this uploader"));
        }
        self.stage.set(Stage::Running);
        let result = self.clone().run_inner().await;
        self.stage.set(Stage::Finished);
        result.map_err(|mut e| {
            if e.upload_id.is_none() {
                e.upload_id = self.upload_id();
            }
            e
        })
    }

    async fn run_inner(self: Rc<Self>) -> Result<UploadResult, Error> {
        self.progress.phase(Phase::Preparing);
        self.check_contents().await?;
        let family = if self.v.verify_etag { Some(self.etag_family().await?) } else { None };
        let upload_id = self.create_or_resume().await?;

        self.progress.phase(Phase::Uploading);
        let engine = self.clone();
        let id = upload_id.clone();
        // FASTQ ETags stream through workers of their own while the parts upload.
        let mut etag_jobs: FuturesUnordered<_> = match family {
            Some(f) => (0..self.files.len())
                .map(|i| {
                    let engine = self.clone();
                    async move { (i, engine.source_etag(i, f).await) }
                })
                .collect(),
            None => FuturesUnordered::new(),
        };
        let mut sends = std::pin::pin!(self
            .clone()
            .hashed_parts()
            .map(move |hashed| {
                let engine = engine.clone();
                let id = id.clone();
                async move { engine.send_part(&id, hashed?).await }
            })
            .buffer_unordered(self.v.concurrency as usize)
            .fuse());
        loop {
            futures::select_biased! {
                done = etag_jobs.select_next_some() => {
                    let (i, etag) = done;
                    self.etags.borrow_mut()[i] = Some(etag?);
                }
                sent = sends.next() => match sent {
                    Some(r) => r?,
                    None => break,
                },
            }
        }
        // Completion waits for the ETags: a FASTQ that is not valid gzip is never completed.
        while let Some((i, etag)) = etag_jobs.next().await {
            self.etags.borrow_mut()[i] = Some(etag?);
        }
        self.control.wait_running().await?;

        // From here the upload is handed over: abort() stops waiting but cannot undo it.
        self.stage.set(Stage::Completing);
        self.completion_sent.set(true);
        self.progress.phase(Phase::Completing);
        let planned: Vec<(Source, u32)> = self.v.plans.iter().map(|p| (p[0].source, p.len() as u32)).collect();
        let parts = assemble(&self.confirmed.borrow(), &planned)?;
        let never_aborted = Control::default();
        let body = self
            .client
            .call(&never_aborted, &omics::complete_upload(&self.v.store_id, &upload_id, &parts))
            .await?;
        let read_set_id = omics::parse::<CompleteResponse>("CompleteMultipartReadSetUpload", &body)?.read_set_id;
        // The upload is gone from the server now: nothing left to resume.
        let saved = self.saved.borrow_mut().take();
        if let Some(rec) = saved {
            warn_if_err("forgetting the saved upload", persist::remove(&rec.key).await);
        }

        let meta = if self.v.wait_for_active {
            self.progress.phase(Phase::Processing);
            Some(self.wait_for_active(&read_set_id).await.map_err(|e| e.for_read_set(&read_set_id))?)
        } else {
            None
        };

        self.progress.phase(Phase::Verifying);
        let etag = self.check_etag(meta.as_ref()).map_err(|e| e.for_read_set(&read_set_id))?;
        self.progress.phase(Phase::Done);
        Ok(UploadResult {
            read_set_id,
            upload_id,
            status: meta.map(|m| m.status).unwrap_or_else(|| "PROCESSING_UPLOAD".to_string()),
            parts: parts.len(),
            part_list: parts,
            bytes: self.v.total_bytes(),
            etag,
            hashing: HashingReport { in_workers: self.hashing.get().workers, on_main_thread: self.hashing.get().main_thread },
        })
    }

    /// Content checks that need the file bytes, still before any network call: FASTQ files
    /// must be gzip.
    async fn check_contents(&self) -> Result<(), Error> {
        if self.v.file_type != FileType::Fastq {
            return Ok(());
        }
        for (i, blob) in self.files.iter().enumerate() {
            let end = 2.min(blob.size() as u64);
            let head = read_range(blob, 0, end)
                .await
                .map_err(|e| Error::invalid_input(format!("files[{i}] could not be read: {e:?}")))?;
            let name = blob.dyn_ref::<web_sys::File>().map(|f| f.name()).unwrap_or_default();
            check_gzip_signature(i, &name, &head)?;
        }
        Ok(())
    }

    async fn etag_family(&self) -> Result<EtagFamily, Error> {
        let body = self.client.call(&self.control, &omics::get_sequence_store(&self.v.store_id)).await?;
        let store = omics::parse::<SequenceStore>("GetSequenceStore", &body)?;
        EtagFamily::from_store(store.etag_algorithm_family.as_deref()).ok_or_else(|| {
            Error::new(
                ErrorKind::Protocol,
                format!("unknown eTagAlgorithmFamily {:?}: set verifyEtag: false to upload without the check", store.etag_algorithm_family),
            )
            .in_operation("GetSequenceStore")
        })
    }

    async fn create_or_resume(&self) -> Result<String, Error> {
        // Persistence is best effort: without IndexedDB the upload still runs.
        let key = match self.fingerprints().await {
            Ok(fps) => Some((persist::record_key(&self.v.endpoint, &self.v.store_id, self.v.part_size, &fps), fps)),
            Err(e) => {
                warn_if_err::<()>("fingerprinting the files", Err(e));
                None
            }
        };
        if let Some(id) = self.v.upload_id.clone() {
            *self.upload_id.borrow_mut() = Some(id.clone());
            self.progress.upload_id(&id);
            self.load_server_parts(&id).await?;
            self.remember(key, &id).await;
            return Ok(id);
        }
        if let (true, Some((k, _))) = (self.v.resume, &key) {
            let found = persist::load(k).await;
            if let Ok(Some(rec)) = found {
                if let Some(grant) = &rec.upload_grant {
                    self.client.remember_grant(&rec.upload_id, grant);
                }
                *self.upload_id.borrow_mut() = Some(rec.upload_id.clone());
                self.progress.upload_id(&rec.upload_id);
                match self.load_server_parts(&rec.upload_id).await {
                    Ok(()) => {
                        // The grant may have been renewed while listing the parts.
                        let mut rec = rec.clone();
                        let grant = self.client.grant(&rec.upload_id);
                        if grant != rec.upload_grant {
                            rec.upload_grant = grant;
                            warn_if_err("saving the upload", persist::save(&rec).await);
                        }
                        *self.saved.borrow_mut() = Some(rec.clone());
                        return Ok(rec.upload_id);
                    }
                    // Completed, aborted or expired meanwhile: the saved state is stale.
                    Err(e) if e.kind == ErrorKind::NotFound => {
                        warn_if_err("forgetting a stale saved upload", persist::remove(k).await);
                        *self.confirmed.borrow_mut() = Confirmed::new();
                        *self.upload_id.borrow_mut() = None;
                    }
                    Err(e) => return Err(e),
                }
            } else {
                warn_if_err("reading saved uploads", found.map(|_| ()));
            }
        }
        let req = omics::create_upload(&self.v.store_id, &self.v.create);
        let body = self.client.call(&self.control, &req).await?;
        let id = omics::parse::<CreateUploadResponse>(req.operation, &body)?.upload_id;
        *self.upload_id.borrow_mut() = Some(id.clone());
        self.progress.upload_id(&id);
        if self.control.is_aborted() {
            let _ = self.abort_on_server().await;
            return Err(Error::aborted());
        }
        self.remember(key, &id).await;
        Ok(id)
    }

    async fn fingerprints(&self) -> Result<Vec<persist::Fingerprint>, Error> {
        let mut out = Vec::with_capacity(self.files.len());
        for f in &self.files {
            out.push(persist::fingerprint(f).await?);
        }
        Ok(out)
    }

    /// Saves the upload in IndexedDB so a reload can resume it.
    async fn remember(&self, key: Option<(String, Vec<persist::Fingerprint>)>, upload_id: &str) {
        let Some((key, files)) = key else { return };
        let rec = SavedUpload {
            key,
            endpoint: self.v.endpoint.clone(),
            sequence_store_id: self.v.store_id.clone(),
            upload_id: upload_id.to_string(),
            part_size: self.v.part_size,
            files,
            name: Some(self.v.create.name.clone()),
            created_ms: now_ms(),
            parts: Default::default(),
            upload_grant: self.client.grant(upload_id),
        };
        warn_if_err("saving the upload", persist::save(&rec).await);
        *self.saved.borrow_mut() = Some(rec);
    }

    /// Records a confirmed part's checksum in the saved state (a hint for portals).
    async fn remember_part(&self, part: &Part, checksum: &str) {
        let rec = {
            let mut saved = self.saved.borrow_mut();
            let Some(rec) = saved.as_mut() else { return };
            rec.parts.insert(format!("{}/{}", part.source, part.number), checksum.to_string());
            rec.clone()
        };
        warn_if_err("saving a part", persist::save(&rec).await);
    }

    /// Waits for a concurrency slot: none while the service asked us to back off, and no more
    /// than the adaptive limit at once.
    async fn acquire_slot(&self) -> Result<Slot<'_>, Error> {
        loop {
            let now = now_ms();
            let wait = match self.adaptive.borrow_mut().try_start(now) {
                Start::Go => return Ok(Slot { adaptive: &self.adaptive, open: true }),
                Start::WaitUntil(t) => ((t - now).max(1.0) as u64).min(1_000),
                // Parts last long next to this: polling every 50 ms costs nothing.
                Start::Full => 50,
            };
            self.control.unless_aborted(sleep(wait)).await?;
            self.control.wait_running().await?;
        }
    }

    /// Resolves once `last` (time of the last upload progress) is `stall_timeout_ms` old.
    async fn stall_watch(&self, last: &Cell<f64>) {
        let limit = self.v.stall_timeout_ms;
        if limit == 0 {
            return futures::future::pending().await;
        }
        let step = (limit / 4).clamp(50, 5_000);
        loop {
            sleep(step).await;
            if now_ms() - last.get() >= limit as f64 {
                return;
            }
        }
    }

    /// Resume: every page of ListReadSetUploadParts for every source. Parts whose size differs
    /// from the plan are not trusted (they are sent again); parts beyond the plan refuse the
    /// resume, since completion would have to leave them out.
    async fn load_server_parts(&self, upload_id: &str) -> Result<(), Error> {
        for plan in &self.v.plans {
            let source = plan[0].source;
            let mut page = Page { max_results: Some(100), next_token: None };
            // A page holds at least one part, and there are at most 10,000 per source.
            for _ in 0..=crate::plan::MAX_PARTS {
                let req = omics::list_upload_parts(&self.v.store_id, upload_id, source, None, &page);
                let body = self.client.call(&self.control, &req).await?;
                let resp: ListPartsResponse = omics::parse(req.operation, &body)?;
                for p in resp.parts {
                    let Some(planned) = plan.get((p.part_number as usize).wrapping_sub(1)) else {
                        return Err(Error::invalid_input(format!(
                            "upload {upload_id} holds {} part {} but the file is planned in {} parts: resume with the partSize the upload was started with",
                            source, p.part_number, plan.len()
                        )));
                    };
                    if p.part_size.is_none_or(|s| s == planned.len()) {
                        self.confirmed.borrow_mut().insert(source, p.part_number, p.checksum);
                    }
                }
                match resp.next_token {
                    Some(t) if !t.is_empty() => page.next_token = Some(t),
                    _ => break,
                }
            }
        }
        Ok(())
    }

    /// Aborts the multipart upload on the server, once, unless completion already began.
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
        self.client.call(&fresh, &omics::abort_upload(&self.v.store_id, &id)).await?;
        warn_if_err("forgetting the aborted upload", persist::remove_upload(&id).await.map(|_| ()));
        Ok(())
    }

    /// Whether completion began (abort() has no server effect then).
    pub fn completion_sent(&self) -> bool {
        self.completion_sent.get()
    }

    /// Part checksums, in part order, a few parts ahead of the uploads (the send loop pulls
    /// this stream only when it has a free slot). Up to `pool::upload_hash_jobs()` parts (cores
    /// minus one, at least one) hash at once, in parallel in the worker pool.
    fn hashed_parts(self: Rc<Self>) -> impl Stream<Item = Result<HashedPart, Error>> {
        let order: Vec<Part> = self.v.plans.iter().flatten().copied().collect();
        let ahead = pool::upload_hash_jobs().min(self.v.concurrency as usize);
        stream::iter(order)
            .map(move |part| {
                let engine = self.clone();
                async move {
                    let sha256 = engine.hash_part(&part).await?;
                    Ok(HashedPart { part, sha256 })
                }
            })
            .buffered(ahead)
    }

    /// A part's SHA-256, read and hashed in a worker (or on the main thread as a fallback).
    async fn hash_part(self: &Rc<Self>, part: &Part) -> Result<String, Error> {
        self.progress.part(part, PartState::Hashing);
        let blob = &self.files[source_index(part.source)];
        let slice = blob
            .slice_with_f64_and_f64(part.start as f64, part.end as f64)
            .map_err(|e| Error::invalid_input(format!("{} could not be sliced: {e:?}", part.source)))?;
        let engine = self.clone();
        let on_bytes: Rc<dyn Fn(u64)> = Rc::new(move |n| engine.progress.hashed(n));
        let job = JobSpec { use_workers: self.v.hash_in_workers, ..JobSpec::new(Kind::Sha256, self.v.chunk_size) };
        let d = pool::hash_blob(&slice, &job, on_bytes, &self.control)
            .await
            .map_err(|e| self.hash_error(part.source, part.start, e).for_part(part_ref(part)))?;
        self.count_hash(d.in_worker);
        self.progress.part(part, PartState::Hashed);
        Ok(d.text)
    }

    /// The whole-source FASTQ ETag of `source`, streamed through a worker of its own while the
    /// parts upload (the gzip stream must be read in order, so it cannot be split by part).
    async fn source_etag(&self, source: usize, family: EtagFamily) -> Result<Etag, Error> {
        let src = if source == 0 { Source::Source1 } else { Source::Source2 };
        let ignore: Rc<dyn Fn(u64)> = Rc::new(|_| {});
        let job = JobSpec { dedicated: true, use_workers: self.v.hash_in_workers, ..JobSpec::new(Kind::fastq(family), self.v.chunk_size) };
        let d = pool::hash_blob(&self.files[source], &job, ignore, &self.control).await.map_err(|e| self.hash_error(src, 0, e))?;
        self.count_hash(d.in_worker);
        let (hex, bytes) = d.text.split_once(' ').unwrap_or((d.text.as_str(), "0"));
        Ok(Etag { algorithm: family.fastq_algorithm(), hex: hex.to_string(), uncompressed_bytes: bytes.parse().unwrap_or(0) })
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

    fn count_hash(&self, in_worker: bool) {
        let mut w = self.hashing.get();
        if in_worker {
            w.workers += 1;
        } else {
            w.main_thread += 1;
        }
        self.hashing.set(w);
    }

    async fn send_part(self: Rc<Self>, upload_id: &str, hashed: HashedPart) -> Result<(), Error> {
        let part = hashed.part;
        let pref = part_ref(&part);
        let listed = self.confirmed.borrow().get(part.source, part.number).map(str::to_owned);
        if let Some(c) = listed {
            if !should_compare(self.v.verify_parts, &c) || c.eq_ignore_ascii_case(&hashed.sha256) {
                self.progress.part(&part, PartState::Skipped);
                return Ok(());
            }
        }
        let blob = &self.files[source_index(part.source)];
        let slice = blob
            .slice_with_f64_and_f64(part.start as f64, part.end as f64)
            .map_err(|e| Error::invalid_input(format!("cannot slice {}: {e:?}", part.source)))?;
        let req = omics::upload_part(&self.v.store_id, upload_id, part.source, part.number);
        let url = req.url(&self.v.endpoint);
        // The proxy's grant for the upload, learnt at create or resume (none without a proxy).
        let grant_header: Vec<(String, String)> =
            self.client.grant(upload_id).map(|g| (omics::UPLOAD_GRANT_HEADER.to_owned(), g)).into_iter().collect();
        let mut backoff = self.client.backoff();
        loop {
            self.control.wait_running().await.map_err(|e| e.for_part(pref))?;
            wait_online(&self.control).await.map_err(|e| e.for_part(pref))?;
            let slot = self.acquire_slot().await.map_err(|e| e.for_part(pref))?;
            self.progress.part(&part, PartState::Uploading);
            let engine = self.clone();
            let last = Rc::new(Cell::new(now_ms()));
            let seen = last.clone();
            let on_progress = Box::new(move |sent: f64| {
                seen.set(now_ms());
                engine.progress.part_bytes(&part, sent as u64)
            });
            let send = http::send_with_headers(
                &self.control,
                "PUT",
                &url,
                self.v.token.as_deref(),
                &grant_header,
                Body::Blob(&slice),
                true,
                Some(on_progress),
                &[],
            );
            let send = async move { send.await.map(|(r, _)| r) };
            let sent = match futures::future::select(std::pin::pin!(send), std::pin::pin!(self.stall_watch(&last))).await {
                futures::future::Either::Left((r, _)) => r,
                // Dropping the request future aborts the XHR.
                futures::future::Either::Right(((), _)) => Err(Error::new(
                    ErrorKind::Network,
                    format!("no upload progress for {} ms: the attempt was aborted", self.v.stall_timeout_ms),
                )),
            };
            let outcome = sent
                .and_then(|r| r.ok_body(req.operation))
                .and_then(|b| omics::parse::<UploadPartResponse>(req.operation, &b))
                .and_then(|r| self.check_part_checksum(&part, r.checksum, &hashed.sha256))
                .map_err(|e| e.in_operation(req.operation).for_part(pref));
            if let Err(e) = &outcome {
                if e.kind == ErrorKind::Aborted {
                    if self.control.is_aborted() {
                        return Err(Error::aborted().for_part(pref));
                    }
                    // Paused: the attempt was cut short on purpose and does not count.
                    drop(slot);
                    self.progress.part(&part, PartState::Retrying);
                    continue;
                }
                if e.kind == ErrorKind::Network && !is_online() {
                    // Offline: not the service's fault; wait for the network (top of the loop).
                    drop(slot);
                    self.progress.part(&part, PartState::Retrying);
                    continue;
                }
            }
            let throttled = matches!(&outcome, Err(e) if e.kind == ErrorKind::Throttled);
            let delay = backoff.next_delay(&outcome);
            slot.finish(match (&outcome, throttled) {
                (Ok(_), _) => Outcome::Success,
                (Err(_), true) => Outcome::Throttled { pause_ms: delay.unwrap_or(1_000) },
                (Err(_), false) => Outcome::Failed,
            });
            match delay {
                None => {
                    return match outcome {
                        Ok(checksum) => {
                            self.confirmed.borrow_mut().insert(part.source, part.number, checksum.clone());
                            self.remember_part(&part, &checksum).await;
                            self.progress.part(&part, PartState::Done);
                            Ok(())
                        }
                        Err(e) => {
                            self.progress.part(&part, PartState::Failed);
                            Err(e)
                        }
                    };
                }
                Some(ms) => {
                    self.progress.part(&part, PartState::Retrying);
                    self.control.unless_aborted(sleep(ms)).await.map_err(|e| e.for_part(pref))?;
                }
            }
        }
    }

    fn check_part_checksum(&self, part: &Part, checksum: String, sha256: &str) -> Result<String, Error> {
        if should_compare(self.v.verify_parts, &checksum) && !checksum.eq_ignore_ascii_case(sha256) {
            return Err(Error::new(
                ErrorKind::ChecksumMismatch,
                format!(
                    "the store returned checksum {checksum} for part {} of {}, but the part's SHA-256 is {sha256}: the bytes were altered in transit",
                    part.number, part.source
                ),
            ));
        }
        Ok(checksum)
    }

    async fn wait_for_active(&self, read_set_id: &str) -> Result<ReadSetMetadata, Error> {
        let deadline = now_ms() + self.v.active_timeout_ms as f64;
        let base = self.v.poll_interval_ms;
        let mut interval = base;
        let req = omics::get_read_set_metadata(&self.v.store_id, read_set_id);
        loop {
            let body = self.client.call(&self.control, &req).await?;
            let meta: ReadSetMetadata = omics::parse(req.operation, &body)?;
            match meta.status.as_str() {
                "PROCESSING_UPLOAD" => {}
                "UPLOAD_FAILED" | "DELETING" | "DELETED" => {
                    return Err(Error::new(
                        ErrorKind::UploadFailed,
                        format!(
                            "read set {read_set_id} ended {}: {}",
                            meta.status,
                            meta.status_message.as_deref().unwrap_or("no status message")
                        ),
                    ))
                }
                _ => return Ok(meta),
            }
            if now_ms() + interval as f64 > deadline {
                return Err(Error::new(
                    ErrorKind::Timeout,
                    format!(
                        "read set {read_set_id} was still PROCESSING_UPLOAD after {} ms; it may still become ACTIVE: check it later with getReadSetMetadata",
                        self.v.active_timeout_ms
                    ),
                ));
            }
            self.control.unless_aborted(sleep(interval)).await?;
            interval = (interval * 3 / 2).min(base * 10);
        }
    }

    fn check_etag(&self, meta: Option<&ReadSetMetadata>) -> Result<EtagReport, Error> {
        let stored = meta.and_then(|m| m.etag.clone());
        let algorithm = stored.as_ref().and_then(|s| s.algorithm.clone());
        let etags = self.etags.borrow();
        let computed = etags[0].as_ref().map(|e1| ReadSetEtag {
            algorithm: Some(e1.algorithm.to_string()),
            source1: Some(e1.hex.clone()),
            source2: etags[1].as_ref().map(|e| e.hex.clone()),
        });
        let (Some(c), Some(s)) = (&computed, &stored) else {
            return Ok(EtagReport { status: "unchecked", algorithm, computed, stored });
        };
        if s.source1.is_none() {
            return Ok(EtagReport { status: "unchecked", algorithm, computed, stored });
        }
        let mut problems = Vec::new();
        if s.algorithm.is_some() && s.algorithm != c.algorithm {
            problems.push(format!(
                "the store used {} but {} was computed",
                s.algorithm.as_deref().unwrap_or("?"),
                c.algorithm.as_deref().unwrap_or("?")
            ));
        }
        for (name, mine, theirs) in [("SOURCE1", &c.source1, &s.source1), ("SOURCE2", &c.source2, &s.source2)] {
            let same = match (mine, theirs) {
                (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
                (None, None) => true,
                _ => false,
            };
            if !same {
                problems.push(format!(
                    "{name}: computed {} while uploading, the store holds {}",
                    mine.as_deref().unwrap_or("nothing"),
                    theirs.as_deref().unwrap_or("nothing")
                ));
            }
        }
        if problems.is_empty() {
            Ok(EtagReport { status: "verified", algorithm, computed, stored })
        } else {
            Err(Error::new(ErrorKind::EtagMismatch, format!("ETag mismatch: {}", problems.join("; "))))
        }
    }
}

/// Persistence problems never fail an upload: they are logged to the console.
fn warn_if_err<T>(what: &str, r: Result<T, Error>) {
    if let Err(e) = r {
        web_sys::console::warn_1(&format!("readset-upload: {what}: {}", e.message).into());
    }
}

fn part_ref(part: &Part) -> PartRef {
    PartRef { source: part.source, number: part.number }
}
