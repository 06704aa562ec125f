//! The viewer half of `SequenceStoreClient`: read set jobs (start, follow to the end), every
//! listing as an async iterable, and a read set's content: a preview (first FASTQ reads, a BAM
//! header) and a download, both from streamed `GetReadSet` parts.
//!
//! Every call goes through the same [`Client`] as the listings: the page's request queue, the
//! retry policy, the proxy's token. What the browser may pass to a job (role, S3 locations) is
//! what the proxy's job configuration allows; the library sends no role unless told to, and
//! the proxy fills in its own.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use js_sys::{Array, Function, Object, Promise, Reflect, Uint8Array};
use serde::Deserialize;
use serde_json::Value;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{future_to_promise, JsFuture};
use web_sys::{AbortSignal, Blob};

use super::api::{check_keys, deserialize, get, json_call, options_object, random_token, ListSpec, SequenceStoreClient};
use super::client::Client;
use super::control::Control;
use super::handle::read_signal;
use super::io::{page_queue, WebNet};
use super::js_error::to_js;
use super::timer::{now_ms, sleep};
use crate::error::{Error, ErrorKind};
use crate::etag::{EtagFamily, FastqEtag};
use crate::omics::{self, JobKind, JobState, Page};
use crate::plan::Source;
use crate::preview::{AlignmentHeader, BamHeaderReader, CramHeaderReader, FastqPreview, PreviewError};
use crate::upload::queue::Priority;
use crate::validate::check_id;

#[wasm_bindgen(module = "/src/web/viewer.js")]
extern "C" {
    #[wasm_bindgen(js_name = pages)]
    fn js_pages(fetch_page: &JsValue, key: &str) -> JsValue;
    #[wasm_bindgen(js_name = fetchChunks, catch)]
    fn fetch_chunks(url: &str, headers: &Object, on_chunk: &Closure<dyn FnMut(Uint8Array) -> JsValue>, stall_ms: f64, signal: Option<AbortSignal>) -> Result<Promise, JsValue>;
}

#[wasm_bindgen]
extern "C" {
    /// `AsyncIterable<ReadSetSummary>`.
    #[wasm_bindgen(typescript_type = "AsyncIterable<ReadSetSummary>")]
    pub type ReadSetIterable;
    /// `AsyncIterable<MultipartUpload>`.
    #[wasm_bindgen(typescript_type = "AsyncIterable<MultipartUpload>")]
    pub type UploadIterable;
    /// `AsyncIterable<UploadedPart>`.
    #[wasm_bindgen(typescript_type = "AsyncIterable<UploadedPart>")]
    pub type PartIterable;
    /// `AsyncIterable<ReadSetJob>`.
    #[wasm_bindgen(typescript_type = "AsyncIterable<ReadSetJob>")]
    pub type JobIterable;
    /// `{ filter?: ReadSetFilter; maxResults?: number }`.
    #[wasm_bindgen(typescript_type = "{ filter?: ReadSetFilter; maxResults?: number }")]
    pub type ReadSetIterArg;
    /// `{ filter?: JobFilter; maxResults?: number }`.
    #[wasm_bindgen(typescript_type = "{ filter?: JobFilter; maxResults?: number }")]
    pub type JobIterArg;
    /// `{ filter?: TimeFilter; maxResults?: number }`.
    #[wasm_bindgen(typescript_type = "{ filter?: TimeFilter; maxResults?: number }")]
    pub type PartIterArg;
    /// `{ maxResults?: number }`.
    #[wasm_bindgen(typescript_type = "{ maxResults?: number }")]
    pub type UploadIterArg;
    /// `StartExportJobOptions`.
    #[wasm_bindgen(typescript_type = "StartExportJobOptions")]
    pub type StartExportJobArg;
    /// `StartActivationJobOptions`.
    #[wasm_bindgen(typescript_type = "StartActivationJobOptions")]
    pub type StartActivationJobArg;
    /// `StartImportJobOptions`.
    #[wasm_bindgen(typescript_type = "StartImportJobOptions")]
    pub type StartImportJobArg;
    /// `WaitForJobOptions`.
    #[wasm_bindgen(typescript_type = "WaitForJobOptions")]
    pub type WaitForJobArg;
    /// `Promise<ReadSetJob>`.
    #[wasm_bindgen(typescript_type = "Promise<ReadSetJob>")]
    pub type StartedJobPromise;
    /// `PreviewOptions`.
    #[wasm_bindgen(typescript_type = "PreviewOptions")]
    pub type PreviewArg;
    /// `Promise<ReadSetPreview>`.
    #[wasm_bindgen(typescript_type = "Promise<ReadSetPreview>")]
    pub type PreviewPromise;
    /// `DownloadOptions`.
    #[wasm_bindgen(typescript_type = "DownloadOptions")]
    pub type DownloadArg;
    /// `Promise<DownloadResult>`.
    #[wasm_bindgen(typescript_type = "Promise<DownloadResult>")]
    pub type DownloadPromise;
}

/// An async iterable over the `key` items of the pages `page(token)` requests; a `nextToken`
/// the service repeats ends the iteration with a `protocol` error instead of looping.
pub(super) fn paginate(key: &'static str, fetch: Rc<dyn Fn(Option<String>) -> Promise>) -> JsValue {
    // Each loop tracks its own tokens (in JS) and says when one comes round again.
    let next = Closure::<dyn FnMut(JsValue, JsValue) -> Promise>::new(move |token: JsValue, repeated: JsValue| {
        let token = token.as_string();
        if repeated.is_truthy() {
            let e = Error::new(ErrorKind::Protocol, format!("the service answered the page token {:?} twice: the listing stops here instead of looping", token.unwrap_or_default()));
            return Promise::reject(&to_js(&e));
        }
        fetch(token)
    });
    js_pages(&next.into_js_value(), key)
}

/// Option names of the iterators (no `nextToken`: the iterator follows the tokens itself).
const ITER_KEYS: &[&str] = &["filter", "maxResults"];

fn iter_spec(options: JsValue, filter_allowed: bool) -> Result<(Option<Value>, Page), Error> {
    check_keys(&options, ITER_KEYS, "iterator options")?;
    let (filter, page) = ListSpec::read(options)?;
    if filter.is_some() && !filter_allowed {
        return Err(Error::invalid_input("this listing takes no `filter`"));
    }
    Ok((filter, page))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ExportSpec {
    read_set_ids: Vec<String>,
    destination: Option<String>,
    role_arn: Option<String>,
    client_token: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ImportSpec {
    sources: Value,
    role_arn: Option<String>,
    client_token: Option<String>,
}

fn check_read_set_ids(ids: &[String]) -> Result<(), Error> {
    if ids.is_empty() || ids.len() > 100 {
        return Err(Error::invalid_input(format!("`readSetIds` must hold 1 to 100 read set IDs (got {})", ids.len())));
    }
    ids.iter().try_for_each(|id| check_id(id, "readSetIds[]"))
}

/// The caller's idempotency token, or a fresh one: every retry of a Start*Job call then sends
/// the same token, so a lost answer retried never starts a second job.
fn job_token(given: Option<String>) -> String {
    given.unwrap_or_else(random_token)
}

fn check_job_extras(role_arn: Option<&str>, client_token: Option<&str>) -> Result<(), Error> {
    if let Some(r) = role_arn {
        if !r.starts_with("arn:") {
            return Err(Error::invalid_input(format!("`roleArn` must be an IAM role ARN (arn:aws:iam::...:role/...), got {r:?}; leave it out to use the proxy's")));
        }
    }
    if let Some(t) = client_token {
        if t.is_empty() || t.len() > 127 {
            return Err(Error::invalid_input("`clientToken` must be 1 to 127 characters"));
        }
    }
    Ok(())
}

/// `waitForJob` options.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WaitSpec {
    kind: String,
    poll_interval_ms: Option<u64>,
    timeout_ms: Option<u64>,
}

const WAIT_KEYS: &[&str] = &["kind", "pollIntervalMs", "timeoutMs", "onProgress", "signal"];
/// First wait between two polls of a job; each wait is 1.5 times the last, up to the cap.
const JOB_POLL_MS: u64 = 1_000;
const JOB_POLL_CAP_MS: u64 = 30_000;

/// Whether this is a page whose tab is hidden (no polling then; workers have no document).
fn tab_hidden() -> bool {
    let doc = Reflect::get(&js_sys::global(), &"document".into()).unwrap_or(JsValue::UNDEFINED);
    doc.is_object() && Reflect::get(&doc, &"hidden".into()).ok().and_then(|v| v.as_bool()).unwrap_or(false)
}

/// A `Control` that `signal` aborts.
fn control_for(signal: Option<AbortSignal>) -> Rc<Control> {
    let control = Rc::new(Control::default());
    if let Some(signal) = signal {
        if signal.aborted() {
            control.abort();
        } else {
            let c = control.clone();
            let on_abort = Closure::once_into_js(move || c.abort());
            let _ = signal.add_event_listener_with_callback("abort", on_abort.unchecked_ref());
        }
    }
    control
}

fn parse_json(operation: &'static str, body: &str) -> Result<JsValue, Error> {
    js_sys::JSON::parse(body).map_err(|_| Error::new(ErrorKind::Protocol, "the answer is not JSON").in_operation(operation))
}

async fn wait_for_job(client: Rc<Client>, kind: JobKind, job_id: String, spec: WaitSpec, on_progress: Option<Function>, control: Rc<Control>) -> Result<JsValue, Error> {
    let started = now_ms();
    let mut wait = spec.poll_interval_ms.unwrap_or(JOB_POLL_MS);
    let req = omics::get_job(&client.store_id, kind, &job_id);
    let aborted = || Error::new(ErrorKind::Aborted, format!("waiting for {} job {job_id} was aborted (the job itself goes on)", kind.name())).for_job(&job_id);
    loop {
        if !tab_hidden() {
            let body = client.call(&control, &req).await.map_err(|e| if e.kind == ErrorKind::Aborted { aborted() } else { e.for_job(&job_id) })?;
            let job = parse_json(req.operation, &body)?;
            let status = get(&job, "status").as_string().unwrap_or_default();
            if let Some(f) = &on_progress {
                let _ = f.call1(&JsValue::NULL, &job);
            }
            match JobState::of(&status) {
                JobState::Succeeded => return Ok(job),
                JobState::Failed => {
                    let why = get(&job, "statusMessage").as_string().filter(|m| !m.is_empty());
                    let msg = format!("{} job {job_id} ended {status}{}", kind.name(), why.map(|m| format!(": {m}")).unwrap_or_default());
                    return Err(Error::new(ErrorKind::JobFailed, msg).in_operation(req.operation).for_job(&job_id));
                }
                JobState::Running => {}
            }
            if let Some(limit) = spec.timeout_ms {
                if now_ms() - started >= limit as f64 {
                    let msg = format!("{} job {job_id} is still {status} after {} s (`timeoutMs`); it goes on: wait again or look later", kind.name(), limit / 1000);
                    return Err(Error::new(ErrorKind::Timeout, msg).for_job(&job_id));
                }
            }
        }
        control.unless_aborted(sleep(wait)).await.map_err(|_| aborted())?;
        wait = (wait * 3 / 2).clamp(1, JOB_POLL_CAP_MS.max(spec.poll_interval_ms.unwrap_or(0)));
    }
}

// ---- GetReadSet: streamed parts ----------------------------------------------------------

/// The read set's facts the preview and download need, from GetReadSetMetadata.
struct ReadSetFacts {
    metadata: JsValue,
    file_type: String,
}

/// One source file of a read set: its size, parts and expected ETag.
struct FileFacts {
    content_length: u64,
    total_parts: u32,
    etag: Option<String>,
}

impl ReadSetFacts {
    async fn load(client: &Client, control: &Control, read_set_id: &str) -> Result<ReadSetFacts, Error> {
        let req = omics::get_read_set_metadata(&client.store_id, read_set_id);
        let metadata = parse_json(req.operation, &client.call(control, &req).await?)?;
        let file_type = get(&metadata, "fileType").as_string().unwrap_or_default();
        Ok(ReadSetFacts { metadata, file_type })
    }

    /// `file` is `SOURCE1`, `SOURCE2` or `INDEX`; `None` when the read set has no such file.
    fn file(&self, file: &str) -> Option<FileFacts> {
        let key = file.to_ascii_lowercase();
        let f = get(&get(&self.metadata, "files"), &key);
        if !f.is_object() {
            return None;
        }
        let num = |k: &str| get(&f, k).as_f64().filter(|n| *n >= 0.0).map(|n| n as u64);
        let content_length = num("contentLength")?;
        let total_parts = num("totalParts").map(|n| n as u32).unwrap_or_else(|| content_length.div_ceil(100 << 20).max(1) as u32);
        let etag = match file {
            "SOURCE1" | "SOURCE2" => get(&get(&self.metadata, "etag"), &key).as_string().filter(|s| !s.is_empty()),
            _ => None,
        };
        Some(FileFacts { content_length, total_parts, etag })
    }

    /// The ETag family of a FASTQ read set (`FASTQ_MD5up` -> MD5up), if the metadata names one.
    fn fastq_family(&self) -> Option<EtagFamily> {
        let alg = get(&get(&self.metadata, "etag"), "algorithm").as_string()?;
        EtagFamily::from_store(alg.strip_prefix("FASTQ_"))
    }
}

/// What a chunk callback decides.
enum Flow {
    More,
    Stop,
    /// Wait for this promise (a sink's write) before reading on.
    Wait(Promise),
}

/// A consumer of a streamed file's bytes.
type Sink = Rc<RefCell<dyn FnMut(&[u8]) -> Result<Flow, Error>>>;

/// One file of a read set being streamed: where from and how patiently.
struct FileStream<'a> {
    client: &'a Client,
    read_set_id: &'a str,
    /// `SOURCE1`, `SOURCE2` or `INDEX`.
    file: &'a str,
    stall_ms: u64,
    signal: Option<AbortSignal>,
}

/// A sink feeding `push` (a preview parser: true once it has enough), counting the bytes.
fn parser_sink(fetched: Rc<Cell<u64>>, mut push: impl FnMut(&[u8]) -> Result<bool, Error> + 'static) -> Sink {
    Rc::new(RefCell::new(move |bytes: &[u8]| {
        fetched.set(fetched.get() + bytes.len() as u64);
        Ok(if push(bytes)? { Flow::Stop } else { Flow::More })
    }))
}

/// Streams part `part` of `file` once: `on_chunk` sees the body's bytes from offset `skip` of
/// the part on (the first `skip` bytes are dropped: they were taken in an earlier attempt).
/// Returns whether `on_chunk` stopped the stream. A non-2xx answer, a stall or no answer is an
/// error (retryable ones as such).
async fn fetch_part_once(s: &FileStream<'_>, part: u32, skip: u64, on_chunk: Sink) -> Result<bool, Error> {
    let FileStream { client, read_set_id, file, stall_ms, .. } = *s;
    let req = omics::get_read_set(&client.store_id, read_set_id, file, part);
    let http = client.omics.http(&req, None);
    let headers = Object::new();
    if let Some(t) = &http.bearer {
        let _ = Reflect::set(&headers, &"authorization".into(), &format!("Bearer {t}").into());
    }
    let _permit = page_queue().acquire(Priority::Part, &WebNet).await;
    let seen = Rc::new(Cell::new(0u64));
    let failure: Rc<RefCell<Option<Error>>> = Rc::default();
    let (seen2, failure2) = (seen.clone(), failure.clone());
    let closure = Closure::<dyn FnMut(Uint8Array) -> JsValue>::new(move |view: Uint8Array| {
        let len = view.length() as u64;
        let at = seen2.get();
        seen2.set(at + len);
        if at + len <= skip {
            return JsValue::TRUE;
        }
        let bytes = view.to_vec();
        let from = skip.saturating_sub(at) as usize;
        match (on_chunk.borrow_mut())(&bytes[from..]) {
            Ok(Flow::More) => JsValue::TRUE,
            Ok(Flow::Stop) => JsValue::FALSE,
            Ok(Flow::Wait(p)) => p.into(),
            Err(e) => {
                *failure2.borrow_mut() = Some(e);
                JsValue::FALSE
            }
        }
    });
    let outcome = match fetch_chunks(&http.url, &headers, &closure, stall_ms as f64, s.signal.clone()) {
        Ok(p) => JsFuture::from(p).await,
        Err(e) => Err(e),
    };
    if let Some(e) = failure.borrow_mut().take() {
        return Err(e);
    }
    let answer = outcome.map_err(|e| {
        let text = e.dyn_ref::<js_sys::Error>().map(|e| String::from(e.message())).unwrap_or_else(|| format!("{e:?}"));
        // An aborted signal surfaces as an AbortError: the caller's abort, not the network's.
        Error::new(ErrorKind::Network, format!("GetReadSet part {part} of {file}: no answer ({text})")).in_operation("GetReadSet")
    })?;
    if let Some(why) = get(&answer, "sinkError").as_string() {
        return Err(Error::invalid_input(format!("writing the download failed: {why}")));
    }
    let status = get(&answer, "status").as_f64().unwrap_or(0.0) as u16;
    if get(&answer, "stalled").is_truthy() {
        let e = Error::new(ErrorKind::Network, format!("GetReadSet part {part} of {file}: no data for {} s (stalled); trying again", stall_ms / 1000));
        return Err(e.in_operation("GetReadSet"));
    }
    if !(200..300).contains(&status) {
        let text = get(&answer, "text").as_string().unwrap_or_default();
        let e = Error::from_http(status, get(&answer, "errorType").as_string().as_deref(), &text, get(&answer, "retryAfter").as_string().as_deref());
        return Err(e.in_operation("GetReadSet"));
    }
    Ok(get(&answer, "stopped").is_truthy())
}

/// Streams `file`'s parts `1..=total_parts` in order to `on_chunk` (each byte once, whatever
/// the retries: a retried part skips what was taken), until it stops the stream. Each part is
/// retried per the client's policy. Returns whether the consumer stopped early.
async fn stream_file(s: &FileStream<'_>, control: &Control, total_parts: u32, on_chunk: Sink) -> Result<bool, Error> {
    for part in 1..=total_parts {
        let taken = Rc::new(Cell::new(0u64));
        let counting: Sink = {
            let (taken, inner) = (taken.clone(), on_chunk.clone());
            Rc::new(RefCell::new(move |bytes: &[u8]| {
                taken.set(taken.get() + bytes.len() as u64);
                (inner.borrow_mut())(bytes)
            }))
        };
        let stopped = s.client.retrying(control, || fetch_part_once(s, part, taken.get(), counting.clone())).await?;
        if stopped {
            return Ok(true);
        }
    }
    Ok(false)
}

/// The header reader of a read set's file type.
enum HeaderReader {
    Bam(BamHeaderReader),
    Cram(CramHeaderReader),
}

impl HeaderReader {
    fn push(&mut self, chunk: &[u8]) -> Result<bool, PreviewError> {
        match self {
            HeaderReader::Bam(r) => r.push(chunk),
            HeaderReader::Cram(r) => r.push(chunk),
        }
    }

    fn finish(self, at_eof: bool) -> Result<AlignmentHeader, PreviewError> {
        match self {
            HeaderReader::Bam(r) => r.finish(at_eof),
            HeaderReader::Cram(r) => r.finish(at_eof),
        }
    }
}

/// `previewReadSet` options.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PreviewSpec {
    max_reads: Option<usize>,
    stall_timeout_ms: Option<u64>,
}

const PREVIEW_KEYS: &[&str] = &["maxReads", "stallTimeoutMs", "signal"];
const DEFAULT_PREVIEW_READS: usize = 4;
const MAX_PREVIEW_READS: usize = 1_000;
const DEFAULT_STALL_MS: u64 = 30_000;

fn check_stall(ms: Option<u64>) -> Result<(), Error> {
    match ms {
        Some(ms) if !(1_000..=600_000).contains(&ms) => Err(Error::invalid_input(format!("`stallTimeoutMs` must be 1000 to 600000 (got {ms})"))),
        _ => Ok(()),
    }
}

/// `e`, naming the read set it concerns (errors from inside a stream do not know it).
fn named(e: Error, read_set_id: &str) -> Error {
    if e.read_set_id.is_some() || (e.kind == ErrorKind::InvalidInput && !e.message.starts_with("writing the download")) {
        e
    } else {
        e.for_read_set(read_set_id)
    }
}

fn to_value<T: serde::Serialize>(v: &T) -> JsValue {
    v.serialize(&serde_wasm_bindgen::Serializer::json_compatible()).unwrap_or(JsValue::NULL)
}

fn set(obj: &Object, key: &str, value: impl Into<JsValue>) {
    let _ = Reflect::set(obj, &key.into(), &value.into());
}

async fn preview(client: Rc<Client>, read_set_id: String, spec: PreviewSpec, signal: Option<AbortSignal>) -> Result<JsValue, Error> {
    let control = control_for(signal.clone());
    let facts = ReadSetFacts::load(&client, &control, &read_set_id).await?;
    let stall = spec.stall_timeout_ms.unwrap_or(DEFAULT_STALL_MS);
    let out = Object::new();
    set(&out, "readSetId", read_set_id.as_str());
    set(&out, "fileType", facts.file_type.as_str());
    let fetched = Rc::new(Cell::new(0u64));
    match facts.file_type.as_str() {
        "FASTQ" => {
            let max = spec.max_reads.unwrap_or(DEFAULT_PREVIEW_READS);
            let sources = Array::new();
            for source in [Source::Source1, Source::Source2] {
                let Some(f) = facts.file(source.as_str()) else { continue };
                let parser = Rc::new(RefCell::new(Some(FastqPreview::new(max))));
                let p = parser.clone();
                let sink = parser_sink(fetched.clone(), move |bytes| p.borrow_mut().as_mut().expect("parser lives until finish").push(bytes).map_err(Error::from));
                let stream = FileStream { client: &client, read_set_id: &read_set_id, file: source.as_str(), stall_ms: stall, signal: signal.clone() };
                let stopped = stream_file(&stream, &control, f.total_parts, sink).await?;
                let sample = parser.borrow_mut().take().expect("parser").finish(!stopped).map_err(|e| Error::from(e).for_read_set(&read_set_id))?;
                let v: Object = to_value(&sample).unchecked_into();
                set(&v, "source", source.as_str());
                sources.push(&v);
            }
            set(&out, "fastq", sources);
        }
        "BAM" | "UBAM" | "CRAM" => {
            let f = facts.file("SOURCE1").ok_or_else(|| Error::new(ErrorKind::Protocol, "the read set lists no source1 file").for_read_set(&read_set_id))?;
            let reader = if facts.file_type == "CRAM" { HeaderReader::Cram(CramHeaderReader::new()) } else { HeaderReader::Bam(BamHeaderReader::new()) };
            let parser = Rc::new(RefCell::new(Some(reader)));
            let p = parser.clone();
            let sink = parser_sink(fetched.clone(), move |bytes| p.borrow_mut().as_mut().expect("parser lives until finish").push(bytes).map_err(Error::from));
            let stream = FileStream { client: &client, read_set_id: &read_set_id, file: "SOURCE1", stall_ms: stall, signal: signal.clone() };
            let stopped = stream_file(&stream, &control, f.total_parts, sink).await?;
            let header = parser.borrow_mut().take().expect("parser").finish(!stopped).map_err(|e| Error::from(e).for_read_set(&read_set_id))?;
            set(&out, "header", to_value(&header));
        }
        other => return Err(Error::new(ErrorKind::Protocol, format!("read set {read_set_id} has file type {other:?}, which has no preview")).for_read_set(&read_set_id)),
    }
    set(&out, "bytesFetched", fetched.get() as f64);
    Ok(out.into())
}

/// `downloadReadSet` options.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DownloadSpec {
    file: Option<String>,
    max_blob_bytes: Option<u64>,
    stall_timeout_ms: Option<u64>,
    verify_etag: Option<bool>,
}

const DOWNLOAD_KEYS: &[&str] = &["file", "writable", "maxBlobBytes", "stallTimeoutMs", "verifyEtag", "onProgress", "signal"];
/// Without a `writable`, the file is gathered into a `Blob` up to this size (the browser may
/// hold it in memory); larger downloads need a sink (File System Access API).
const DEFAULT_MAX_BLOB_BYTES: u64 = 512 << 20;
const PROGRESS_EVERY_MS: f64 = 100.0;

fn method(obj: &JsValue, name: &str) -> Result<Function, Error> {
    get(obj, name).dyn_into::<Function>().map_err(|_| Error::invalid_input(format!("`writable` must be a WritableStream (no `{name}` method)")))
}

async fn settle(p: JsValue) -> Result<JsValue, Error> {
    JsFuture::from(Promise::resolve(&p)).await.map_err(|e| {
        let text = e.dyn_ref::<js_sys::Error>().map(|e| String::from(e.message())).unwrap_or_else(|| format!("{e:?}"));
        Error::new(ErrorKind::InvalidInput, format!("writing the download failed: {text}"))
    })
}

async fn download(client: Rc<Client>, read_set_id: String, spec: DownloadSpec, writable: JsValue, on_progress: Option<Function>, signal: Option<AbortSignal>) -> Result<JsValue, Error> {
    let sink = writable.clone();
    let outcome = download_into(client, read_set_id, spec, writable, on_progress, signal).await;
    if let (Err(e), false) = (&outcome, sink.is_undefined() || sink.is_null()) {
        // Failed before a writer was taken (metadata, no such file, a locked stream): the
        // caller's stream is aborted all the same, so no empty file stays behind. A stream
        // already aborted or locked refuses, which is fine.
        if let Ok(abort) = method(&sink, "abort") {
            if let Ok(p) = abort.call1(&sink, &JsValue::from_str(&e.message)) {
                let _ = JsFuture::from(Promise::resolve(&p)).await;
            }
        }
    }
    outcome
}

async fn download_into(client: Rc<Client>, read_set_id: String, spec: DownloadSpec, writable: JsValue, on_progress: Option<Function>, signal: Option<AbortSignal>) -> Result<JsValue, Error> {
    let control = control_for(signal.clone());
    let file = spec.file.unwrap_or_else(|| "SOURCE1".into());
    let facts = ReadSetFacts::load(&client, &control, &read_set_id).await?;
    let f = facts.file(&file).ok_or_else(|| Error::new(ErrorKind::NotFound, format!("read set {read_set_id} has no {file} file")).for_read_set(&read_set_id))?;
    let limit = spec.max_blob_bytes.unwrap_or(DEFAULT_MAX_BLOB_BYTES);
    let to_blob = writable.is_undefined() || writable.is_null();
    if to_blob && f.content_length > limit {
        return Err(Error::invalid_input(format!(
            "{file} of read set {read_set_id} is {} bytes, more than `maxBlobBytes` ({limit}) kept in memory: pass a `writable` (e.g. from showSaveFilePicker) to stream it to disk",
            f.content_length
        )));
    }
    let writer = if to_blob { JsValue::NULL } else { method(&writable, "getWriter")?.call0(&writable).map_err(|_| Error::invalid_input("`writable` is locked or not a WritableStream"))? };
    let verify = spec.verify_etag.unwrap_or(true) && facts.file_type == "FASTQ" && f.etag.is_some();
    let hasher = Rc::new(RefCell::new(if verify { facts.fastq_family().map(FastqEtag::new) } else { None }));
    let chunks = Array::new();
    let done = Rc::new(Cell::new(0u64));
    let last_event = Rc::new(Cell::new(0.0f64));
    let (total, parts_total) = (f.content_length, f.total_parts);
    let sink: Sink = {
        let (hasher, chunks, done, last_event, writer, on_progress) = (hasher.clone(), chunks.clone(), done.clone(), last_event.clone(), writer.clone(), on_progress.clone());
        Rc::new(RefCell::new(move |bytes: &[u8]| {
            if done.get() + bytes.len() as u64 > total {
                return Err(Error::new(ErrorKind::Protocol, format!("the store sent more than the {total} bytes its metadata gives for this file")));
            }
            if let Some(h) = hasher.borrow_mut().as_mut() {
                // Data the store accepted that does not inflate: the store's data, not the caller's input.
                h.update(bytes).map_err(|e| Error::new(ErrorKind::Protocol, e.message))?;
            }
            done.set(done.get() + bytes.len() as u64);
            if let Some(cb) = &on_progress {
                let now = now_ms();
                if now - last_event.get() >= PROGRESS_EVERY_MS || done.get() == total {
                    last_event.set(now);
                    let ev = Object::new();
                    set(&ev, "bytesDownloaded", done.get() as f64);
                    set(&ev, "bytesTotal", total as f64);
                    set(&ev, "partsTotal", parts_total);
                    let _ = cb.call1(&JsValue::NULL, &ev);
                }
            }
            let copy = Uint8Array::from(bytes);
            if writer.is_null() {
                chunks.push(&copy);
                return Ok(Flow::More);
            }
            let p = method(&writer, "write")?.call1(&writer, &copy).map_err(|_| Error::invalid_input("the `writable` refused a write"))?;
            Ok(Flow::Wait(p.unchecked_into()))
        }))
    };
    let stream = FileStream { client: &client, read_set_id: &read_set_id, file: &file, stall_ms: spec.stall_timeout_ms.unwrap_or(DEFAULT_STALL_MS), signal };
    let outcome = stream_file(&stream, &control, f.total_parts, sink).await;
    let outcome = outcome.and_then(|_| {
        if done.get() != total {
            return Err(Error::new(ErrorKind::Protocol, format!("{file} of read set {read_set_id}: {} bytes arrived, the metadata says {total}", done.get())).for_read_set(&read_set_id));
        }
        Ok(())
    });
    let etag = match (outcome.is_ok(), hasher.borrow_mut().take()) {
        (true, Some(h)) => Some(h.finish().map_err(|e| Error::new(ErrorKind::Protocol, e.message).for_read_set(&read_set_id))),
        _ => None,
    };
    let etag = etag.transpose();
    let failed = match (&outcome, &etag) {
        (Err(e), _) | (_, Err(e)) => Some(e.clone()),
        (Ok(()), Ok(Some(computed))) if Some(&computed.hex) != f.etag.as_ref() => Some(
            Error::new(ErrorKind::EtagMismatch, format!("{file} of read set {read_set_id}: the downloaded bytes hash to {} {}, the store says {}", computed.algorithm, computed.hex, f.etag.clone().unwrap_or_default()))
                .for_read_set(&read_set_id),
        ),
        _ => None,
    };
    if let Some(e) = failed {
        // A file system writable discards its swap file on abort: nothing half-written is kept.
        if !writer.is_null() {
            if let Ok(abort) = method(&writer, "abort") {
                let _ = settle(abort.call1(&writer, &JsValue::from_str(&e.message)).unwrap_or(JsValue::UNDEFINED)).await;
            }
        }
        return Err(e);
    }
    let out = Object::new();
    set(&out, "readSetId", read_set_id.as_str());
    set(&out, "file", file.as_str());
    set(&out, "bytes", total as f64);
    set(&out, "parts", f.total_parts);
    if writer.is_null() {
        let blob = Blob::new_with_u8_array_sequence(&chunks).map_err(|_| Error::new(ErrorKind::InvalidInput, "the browser could not build the Blob"))?;
        set(&out, "blob", blob);
    } else {
        settle(method(&writer, "close")?.call0(&writer).unwrap_or(JsValue::UNDEFINED)).await?;
    }
    let verification = Object::new();
    match etag.ok().flatten() {
        Some(computed) => {
            set(&verification, "verified", true);
            set(&verification, "algorithm", computed.algorithm);
            set(&verification, "hex", computed.hex);
        }
        None => {
            set(&verification, "verified", false);
            let why = if !spec.verify_etag.unwrap_or(true) {
                "verifyEtag is false"
            } else if facts.file_type != "FASTQ" {
                "only FASTQ ETags can be computed in the browser (the service hashes BAM/CRAM records in SAM form)"
            } else {
                "the store lists no ETag for this file"
            };
            set(&verification, "reason", why);
        }
    }
    set(&out, "etag", verification);
    Ok(out.into())
}

#[wasm_bindgen]
impl SequenceStoreClient {
    /// StartReadSetExportJob: copies read sets to `destination` (`s3://bucket/prefix/`).
    /// Without a `clientToken` one is made up, so the retries of one call start one job.
    /// Leave `roleArn` out: the signing proxy fills in its configured role, and refuses any
    /// other role and any destination outside its configured prefixes (`forbidden`).
    #[wasm_bindgen(js_name = startExportJob)]
    pub fn start_export_job(&self, options: StartExportJobArg) -> StartedJobPromise {
        let options: JsValue = options.into();
        let req = (|| {
            options_object(&options)?;
            check_keys(&options, &["readSetIds", "destination", "roleArn", "clientToken"], "export job options")?;
            let s: ExportSpec = deserialize(options, "export job options")?;
            check_read_set_ids(&s.read_set_ids)?;
            let dest = s.destination.ok_or_else(|| Error::invalid_input("`destination` is required: an S3 folder, s3://bucket/folder/"))?;
            if !dest.starts_with("s3://") || dest.len() <= 5 {
                return Err(Error::invalid_input(format!("`destination` must be an S3 folder, s3://bucket/folder/ (got {dest:?})")));
            }
            check_job_extras(s.role_arn.as_deref(), s.client_token.as_deref())?;
            let token = job_token(s.client_token);
            Ok(omics::start_export_job(self.store(), &s.read_set_ids, &dest, s.role_arn.as_deref(), Some(&token)))
        })();
        self.call(req).unchecked_into()
    }

    /// StartReadSetActivationJob: makes archived read sets `ACTIVE` again.
    #[wasm_bindgen(js_name = startActivationJob)]
    pub fn start_activation_job(&self, options: StartActivationJobArg) -> StartedJobPromise {
        let options: JsValue = options.into();
        let req = (|| {
            options_object(&options)?;
            check_keys(&options, &["readSetIds", "clientToken"], "activation job options")?;
            let s: ExportSpec = deserialize(options, "activation job options")?;
            check_read_set_ids(&s.read_set_ids)?;
            check_job_extras(None, s.client_token.as_deref())?;
            let token = job_token(s.client_token);
            Ok(omics::start_activation_job(self.store(), &s.read_set_ids, Some(&token)))
        })();
        self.call(req).unchecked_into()
    }

    /// StartReadSetImportJob: imports read sets from S3 (`sources`: HealthOmics source items,
    /// checked before any call). `roleArn` as for `startExportJob`; the proxy also checks each
    /// source against its configured import prefixes.
    #[wasm_bindgen(js_name = startImportJob)]
    pub fn start_import_job(&self, options: StartImportJobArg) -> StartedJobPromise {
        let options: JsValue = options.into();
        let req = (|| {
            options_object(&options)?;
            check_keys(&options, &["sources", "roleArn", "clientToken"], "import job options")?;
            let s: ImportSpec = deserialize(options, "import job options")?;
            omics::check_import_sources(&s.sources)?;
            check_job_extras(s.role_arn.as_deref(), s.client_token.as_deref())?;
            let token = job_token(s.client_token);
            Ok(omics::start_import_job(self.store(), s.sources, s.role_arn.as_deref(), Some(&token)))
        })();
        self.call(req).unchecked_into()
    }

    /// Follows a job to its end: polls Get*Job (1 s, then 1.5 times longer each time, at most
    /// 30 s or `pollIntervalMs`; no polls while the tab is hidden), calls `onProgress(job)`
    /// with every answer, and resolves with the job once `COMPLETED` or
    /// `COMPLETED_WITH_FAILURES` (check its sources then). Rejects with `job_failed` when it
    /// ends `FAILED` or `CANCELLED`, `timeout` after `timeoutMs`, `aborted` on `signal` (the
    /// job itself goes on), or the call's error.
    #[wasm_bindgen(js_name = waitForJob)]
    pub fn wait_for_job(&self, #[wasm_bindgen(js_name = jobId)] job_id: String, options: WaitForJobArg) -> StartedJobPromise {
        let options: JsValue = options.into();
        let client = self.client.clone();
        let prepared = (|| {
            check_id(&job_id, "jobId")?;
            options_object(&options).map_err(|_| Error::invalid_input("waitForJob needs options with `kind`: \"import\", \"export\" or \"activation\""))?;
            let on_progress = super::handle::read_callback(&options)?;
            let signal = read_signal(&options)?;
            check_keys(&options, WAIT_KEYS, "waitForJob options")?;
            let spec: WaitSpec = deserialize(options, "waitForJob options")?;
            let kind = JobKind::parse(&spec.kind).ok_or_else(|| Error::invalid_input(format!("`kind` must be \"import\", \"export\" or \"activation\" (got {:?})", spec.kind)))?;
            if let Some(ms) = spec.poll_interval_ms {
                if !(100..=300_000).contains(&ms) {
                    return Err(Error::invalid_input(format!("`pollIntervalMs` must be 100 to 300000 (got {ms})")));
                }
            }
            Ok((kind, spec, on_progress, control_for(signal)))
        })();
        future_to_promise(async move {
            let (kind, spec, on_progress, control) = prepared.map_err(|e| to_js(&e))?;
            wait_for_job(client, kind, job_id, spec, on_progress, control).await.map_err(|e| to_js(&e))
        })
        .unchecked_into()
    }

    /// Every read set (ListReadSets page after page): `for await (const rs of
    /// client.readSets({ filter }))`. `maxResults` is the page size. Throws `invalid_input`.
    #[wasm_bindgen(js_name = readSets)]
    pub fn read_sets(&self, options: Option<ReadSetIterArg>) -> Result<ReadSetIterable, JsValue> {
        let (filter, page) = iter_spec(options.map(Into::into).unwrap_or(JsValue::UNDEFINED), true).map_err(|e| to_js(&e))?;
        let client = self.client.clone();
        let fetch = Rc::new(move |token: Option<String>| {
            let page = Page { next_token: token, ..page.clone() };
            json_call(client.clone(), Ok(omics::list_read_sets(&client.store_id, filter.clone(), &page)))
        });
        Ok(paginate("readSets", fetch).unchecked_into())
    }

    /// Every upload in progress (ListMultipartReadSetUploads page after page).
    pub fn uploads(&self, options: Option<UploadIterArg>) -> Result<UploadIterable, JsValue> {
        let (_, page) = iter_spec(options.map(Into::into).unwrap_or(JsValue::UNDEFINED), false).map_err(|e| to_js(&e))?;
        let client = self.client.clone();
        let fetch = Rc::new(move |token: Option<String>| {
            let page = Page { next_token: token, ..page.clone() };
            json_call(client.clone(), Ok(omics::list_uploads(&client.store_id, &page)))
        });
        Ok(paginate("uploads", fetch).unchecked_into())
    }

    /// Every part stored for one source of an upload (ListReadSetUploadParts page after page).
    #[wasm_bindgen(js_name = uploadParts)]
    pub fn upload_parts(&self, #[wasm_bindgen(js_name = uploadId)] upload_id: String, #[wasm_bindgen(js_name = partSource)] part_source: super::api::PartSourceArg, options: Option<PartIterArg>) -> Result<PartIterable, JsValue> {
        let source = match JsValue::from(part_source).as_string().as_deref() {
            Some("SOURCE1") => Source::Source1,
            Some("SOURCE2") => Source::Source2,
            other => return Err(to_js(&Error::invalid_input(format!("`partSource` must be \"SOURCE1\" or \"SOURCE2\" (got {other:?})")))),
        };
        check_id(&upload_id, "uploadId").map_err(|e| to_js(&e))?;
        let (filter, page) = iter_spec(options.map(Into::into).unwrap_or(JsValue::UNDEFINED), true).map_err(|e| to_js(&e))?;
        let client = self.client.clone();
        let fetch = Rc::new(move |token: Option<String>| {
            let page = Page { next_token: token, ..page.clone() };
            json_call(client.clone(), Ok(omics::list_upload_parts(&client.store_id, &upload_id, source, filter.clone(), &page)))
        });
        Ok(paginate("parts", fetch).unchecked_into())
    }

    /// Every import job (ListReadSetImportJobs page after page).
    #[wasm_bindgen(js_name = importJobs)]
    pub fn import_jobs(&self, options: Option<JobIterArg>) -> Result<JobIterable, JsValue> {
        self.job_iter(JobKind::Import, options)
    }

    /// Every export job (ListReadSetExportJobs page after page).
    #[wasm_bindgen(js_name = exportJobs)]
    pub fn export_jobs(&self, options: Option<JobIterArg>) -> Result<JobIterable, JsValue> {
        self.job_iter(JobKind::Export, options)
    }

    /// Every activation job (ListReadSetActivationJobs page after page).
    #[wasm_bindgen(js_name = activationJobs)]
    pub fn activation_jobs(&self, options: Option<JobIterArg>) -> Result<JobIterable, JsValue> {
        self.job_iter(JobKind::Activation, options)
    }

    /// A preview of a read set without fetching it whole: for FASTQ the first `maxReads`
    /// (default 4) reads of each source, for BAM and uBAM (and CRAM) the header (`@HD`, the
    /// reference count, `@RG`, `@PG`). Streams part 1 of each source through GetReadSet and
    /// stops reading as soon as the preview is complete (`bytesFetched` says how much came).
    /// Rejects with `protocol` for data that is not what the read set's type says, or is cut
    /// short; `stallTimeoutMs` (default 30000) bounds a silent connection.
    #[wasm_bindgen(js_name = previewReadSet)]
    pub fn preview_read_set(&self, #[wasm_bindgen(js_name = readSetId)] read_set_id: String, options: Option<PreviewArg>) -> PreviewPromise {
        let options: JsValue = options.map(Into::into).unwrap_or(JsValue::UNDEFINED);
        let client = self.client.clone();
        let prepared = (|| {
            check_id(&read_set_id, "readSetId")?;
            let signal = read_signal(&options)?;
            check_keys(&options, PREVIEW_KEYS, "preview options")?;
            let spec: PreviewSpec = if options.is_object() { deserialize(options, "preview options")? } else { PreviewSpec { max_reads: None, stall_timeout_ms: None } };
            if let Some(n) = spec.max_reads {
                if !(1..=MAX_PREVIEW_READS).contains(&n) {
                    return Err(Error::invalid_input(format!("`maxReads` must be 1 to {MAX_PREVIEW_READS} (got {n})")));
                }
            }
            check_stall(spec.stall_timeout_ms)?;
            Ok((spec, signal))
        })();
        future_to_promise(async move {
            let (spec, signal) = prepared.map_err(|e| to_js(&e))?;
            let id = read_set_id.clone();
            preview(client, read_set_id, spec, signal).await.map_err(|e| to_js(&named(e, &id)))
        })
        .unchecked_into()
    }

    /// Downloads one file of a read set (`file`: `SOURCE1` (default), `SOURCE2` or `INDEX`) part
    /// by part through GetReadSet, streaming: into `writable` (a `WritableStream`, e.g. from
    /// the File System Access API's `showSaveFilePicker()` + `createWritable()`; it is closed at
    /// the end and aborted on failure, which discards a file system swap file), or without one
    /// into a `Blob` of at most `maxBlobBytes` (default 512 MiB). A part that fails or stalls
    /// (`stallTimeoutMs`, default 30000) is fetched again per the retry policy and continues
    /// where it stopped. A FASTQ source's ETag is computed on the way and compared with the
    /// store's (`etag_mismatch`; `verifyEtag: false` skips it). `onProgress({bytesDownloaded,
    /// bytesTotal, partsTotal})` at most every 100 ms.
    #[wasm_bindgen(js_name = downloadReadSet)]
    pub fn download_read_set(&self, #[wasm_bindgen(js_name = readSetId)] read_set_id: String, options: Option<DownloadArg>) -> DownloadPromise {
        let options: JsValue = options.map(Into::into).unwrap_or(JsValue::UNDEFINED);
        let client = self.client.clone();
        let prepared = (|| {
            check_id(&read_set_id, "readSetId")?;
            let signal = read_signal(&options)?;
            let on_progress = super::handle::read_callback(&options)?;
            check_keys(&options, DOWNLOAD_KEYS, "download options")?;
            let writable = get(&options, "writable");
            let spec: DownloadSpec = if options.is_object() {
                let plain = Object::assign(&Object::new(), options.unchecked_ref());
                let _ = Reflect::delete_property(&plain, &"writable".into());
                deserialize(plain.into(), "download options")?
            } else {
                DownloadSpec { file: None, max_blob_bytes: None, stall_timeout_ms: None, verify_etag: None }
            };
            if let Some(f) = &spec.file {
                if !matches!(f.as_str(), "SOURCE1" | "SOURCE2" | "INDEX") {
                    return Err(Error::invalid_input(format!("`file` must be \"SOURCE1\", \"SOURCE2\" or \"INDEX\" (got {f:?})")));
                }
            }
            check_stall(spec.stall_timeout_ms)?;
            if !(writable.is_undefined() || writable.is_null()) {
                method(&writable, "getWriter")?;
            }
            Ok((spec, writable, on_progress, signal))
        })();
        future_to_promise(async move {
            let (spec, writable, on_progress, signal) = prepared.map_err(|e| to_js(&e))?;
            let id = read_set_id.clone();
            download(client, read_set_id, spec, writable, on_progress, signal).await.map_err(|e| to_js(&named(e, &id)))
        })
        .unchecked_into()
    }
}

impl SequenceStoreClient {
    fn job_iter(&self, kind: JobKind, options: Option<JobIterArg>) -> Result<JobIterable, JsValue> {
        let (filter, page) = iter_spec(options.map(Into::into).unwrap_or(JsValue::UNDEFINED), true).map_err(|e| to_js(&e))?;
        let client = self.client.clone();
        let fetch = Rc::new(move |token: Option<String>| {
            let page = Page { next_token: token, ..page.clone() };
            json_call(client.clone(), Ok(omics::list_jobs(&client.store_id, kind, filter.clone(), &page)))
        });
        Ok(paginate(kind.list_key(), fetch).unchecked_into())
    }
}
