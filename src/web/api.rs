//! The JS API: `ReadSetUploader`, `uploadReadSet` and `SequenceStoreClient`.
//!
//! Options arrive as plain JS objects typed by the TypeScript section (`types.d.ts`) and are
//! deserialized here; files, the `AbortSignal` and the callback are read from the same object.
//! Methods return promises built from futures that own a clone of the inner `Rc`, so `pause()`,
//! `resume()` and `abort()` stay callable while `start()` is pending.

use std::rc::Rc;

use js_sys::{Array, Promise};
use serde::Deserialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;
use web_sys::{Blob, File};

use super::client::{random_seed, Client};
use super::control::Control;
use super::handle::{read_callback, read_signal, uploader_methods, Handle};
use super::io::{FileOptions, RecordKind, WebIo};
use super::js_error::to_js;
use super::progress::Progress;
use crate::error::Error;
use crate::omics::{self, JobKind, Page};
use crate::plan::Source;
use crate::retry::RetryConfig;
use crate::upload::driver::Settings;
use crate::upload::healthomics::HealthOmics;
use crate::validate::{check_endpoint, check_id, validate, FileInfo, FileType, UploadSpec};

pub(super) use super::io::get;

#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &str = include_str!("types.d.ts");

#[wasm_bindgen]
extern "C" {
    /// `UploadOptions` (TypeScript).
    #[wasm_bindgen(typescript_type = "UploadOptions")]
    pub type UploadOptionsArg;
    /// `ConnectionOptions` (TypeScript).
    #[wasm_bindgen(typescript_type = "ConnectionOptions")]
    pub type ConnectionOptionsArg;
    /// `{ filter?: ReadSetFilter } & PageOptions`.
    #[wasm_bindgen(typescript_type = "{ filter?: ReadSetFilter } & PageOptions")]
    pub type ReadSetListArg;
    /// `{ filter?: JobFilter } & PageOptions`.
    #[wasm_bindgen(typescript_type = "{ filter?: JobFilter } & PageOptions")]
    pub type JobListArg;
    /// `{ filter?: TimeFilter } & PageOptions`.
    #[wasm_bindgen(typescript_type = "{ filter?: TimeFilter } & PageOptions")]
    pub type PartListArg;
    /// The uploader's state (TypeScript union).
    #[wasm_bindgen(typescript_type = "\"idle\" | \"running\" | \"paused\" | \"aborted\" | \"completing\" | \"finished\"")]
    pub type UploaderState;
    /// `PageOptions`.
    #[wasm_bindgen(typescript_type = "PageOptions")]
    pub type PageArg;
    /// `PartSource`.
    #[wasm_bindgen(typescript_type = "PartSource")]
    pub type PartSourceArg;
    /// `Promise<UploadResult>`.
    #[wasm_bindgen(typescript_type = "Promise<UploadResult>")]
    pub type UploadResultPromise;
    /// `Promise<void>`.
    #[wasm_bindgen(typescript_type = "Promise<void>")]
    pub type VoidPromise;
    /// `Promise<ListReadSetsResult>`.
    #[wasm_bindgen(typescript_type = "Promise<ListReadSetsResult>")]
    pub type ListReadSetsPromise;
    /// `Promise<ReadSetMetadata>`.
    #[wasm_bindgen(typescript_type = "Promise<ReadSetMetadata>")]
    pub type ReadSetMetadataPromise;
    /// `Promise<ListUploadsResult>`.
    #[wasm_bindgen(typescript_type = "Promise<ListUploadsResult>")]
    pub type ListUploadsPromise;
    /// `Promise<ListUploadPartsResult>`.
    #[wasm_bindgen(typescript_type = "Promise<ListUploadPartsResult>")]
    pub type ListUploadPartsPromise;
    /// `Promise<ListJobsResult>`.
    #[wasm_bindgen(typescript_type = "Promise<ListJobsResult>")]
    pub type ListJobsPromise;
    /// `Promise<ReadSetJob>`.
    #[wasm_bindgen(typescript_type = "Promise<ReadSetJob>")]
    pub type JobPromise;
    /// `Promise<SequenceStoreInfo>`.
    #[wasm_bindgen(typescript_type = "Promise<SequenceStoreInfo>")]
    pub type SequenceStorePromise;
}

pub(super) fn random_token() -> String {
    format!("{:014x}{:014x}", random_seed(), random_seed())
}

/// Reads `files`: an array of one or two `File` objects.
fn read_files(options: &JsValue) -> Result<(Vec<Blob>, Vec<FileInfo>), Error> {
    let files = get(options, "files");
    if !Array::is_array(&files) {
        return Err(Error::invalid_input("`files` must be an array of one File, or two (R1 and R2) for a FASTQ pair"));
    }
    let mut blobs = Vec::new();
    let mut infos = Vec::new();
    for (i, f) in Array::from(&files).iter().enumerate() {
        let Some(file) = f.dyn_ref::<File>() else {
            return Err(Error::invalid_input(format!("files[{i}] is not a File: pass File objects (from an <input type=file> or a drop)")));
        };
        infos.push(FileInfo { name: file.name(), size: file.size() as u64 });
        blobs.push(file.clone().into());
    }
    Ok((blobs, infos))
}

pub(super) fn options_object(options: &JsValue) -> Result<(), Error> {
    if options.is_object() {
        Ok(())
    } else {
        Err(Error::invalid_input("options must be an object"))
    }
}

/// Option names of `UploadOptions`: serde-wasm-bindgen reads only the fields it knows, so a
/// misspelt option would be silently ignored without this check.
const UPLOAD_KEYS: &[&str] = &[
    "endpoint", "token", "sequenceStoreId", "sourceFileType", "name", "subjectId", "sampleId",
    "referenceArn", "description", "generatedFrom", "tags", "clientToken", "partSize",
    "concurrency", "chunkSize", "hashInWorkers", "retry", "uploadId", "resume", "stallTimeoutMs", "verifyPartChecksums", "verifyEtag",
    "waitForActive", "pollIntervalMs", "activeTimeoutMs", "files", "signal", "onProgress",
];
const CONNECTION_KEYS: &[&str] = &["endpoint", "token", "sequenceStoreId", "retry"];
const RETRY_KEYS: &[&str] = &["maxAttempts", "baseDelayMs", "maxDelayMs", "jitter", "seed"];
const LIST_KEYS: &[&str] = &["filter", "maxResults", "nextToken"];

pub(super) fn check_keys(obj: &JsValue, allowed: &[&str], what: &str) -> Result<(), Error> {
    if !obj.is_object() {
        return Ok(());
    }
    let obj_ref: &js_sys::Object = obj.unchecked_ref();
    for key in js_sys::Object::keys(obj_ref).iter() {
        let key = key.as_string().unwrap_or_default();
        if !allowed.contains(&key.as_str()) {
            return Err(Error::invalid_input(format!("unknown field `{key}` in {what}; expected one of: {}", allowed.join(", "))));
        }
    }
    let retry = get(obj, "retry");
    if allowed.contains(&"retry") && retry.is_object() {
        check_keys(&retry, RETRY_KEYS, "`retry`")?;
    }
    Ok(())
}

pub(super) fn deserialize<T: for<'de> Deserialize<'de>>(value: JsValue, what: &str) -> Result<T, Error> {
    serde_wasm_bindgen::from_value(value).map_err(|e| Error::invalid_input(format!("invalid {what}: {e}")))
}

/// Uploads one read set (one file or a FASTQ pair) with pause / resume / abort.
///
/// ```js
/// const up = new ReadSetUploader({ endpoint, token, sequenceStoreId, sourceFileType: "FASTQ",
///   name, subjectId, sampleId, files: [r1, r2], onProgress: p => console.log(p.bytesUploaded) });
/// const result = await up.start();   // up.pause(), up.resume(), up.abort() meanwhile
/// ```
#[wasm_bindgen]
pub struct ReadSetUploader {
    handle: Handle<HealthOmics>,
}

#[wasm_bindgen]
impl ReadSetUploader {
    /// Checks the options and files (no network call); throws a `ReadSetUploadError` with code
    /// `invalid_input` naming the problem.
    #[wasm_bindgen(constructor)]
    pub fn new(options: UploadOptionsArg) -> Result<ReadSetUploader, JsValue> {
        Self::build(options.into()).map_err(|e| to_js(&e))
    }

    fn build(options: JsValue) -> Result<ReadSetUploader, Error> {
        options_object(&options)?;
        let (blobs, infos) = read_files(&options)?;
        let callback = read_callback(&options)?;
        let signal = read_signal(&options)?;
        check_keys(&options, UPLOAD_KEYS, "options")?;
        let spec: UploadSpec = deserialize(options, "options")?;
        let v = validate(&spec, &infos, &random_token())?;
        let progress = Progress::new(v.total_bytes(), v.total_parts(), callback);
        let control = Rc::new(Control::default());
        let files = FileOptions { chunk_size: v.chunk_size, hash_in_workers: v.hash_in_workers, fastq: v.file_type == FileType::Fastq };
        let record = RecordKind::Omics { endpoint: v.endpoint.clone(), store_id: v.store_id.clone(), part_size: v.part_size, name: v.create.name.clone() };
        let io = WebIo::new(blobs, progress, control.clone(), files, record);
        let settings = Settings::new(v.concurrency, v.stall_timeout_ms, v.retry.clone(), v.resume, v.upload_id.clone());
        Ok(ReadSetUploader { handle: Handle::new(HealthOmics::new(v), io, control, settings, signal) })
    }
}

impl ReadSetUploader {
    /// The state as a string (see the `state` getter).
    pub fn state_name(&self) -> &'static str {
        self.handle.upload.state_name()
    }
}

/// Uploads one read set: `new ReadSetUploader(options).start()`, as one call. Use
/// `options.signal` to abort. Rejects with a `ReadSetUploadError`.
#[wasm_bindgen(js_name = uploadReadSet)]
pub fn upload_read_set(options: UploadOptionsArg) -> UploadResultPromise {
    match ReadSetUploader::build(options.into()) {
        Ok(u) => u.start(),
        Err(e) => Promise::reject(&to_js(&e)).unchecked_into(),
    }
}

// Plain `#[doc = "..."]` strings: doc comments passed through a macro become raw strings, which
// wasm-bindgen copies into the TypeScript types with their `r"` quoting.
uploader_methods! {
    ReadSetUploader,
    #[doc = " Runs the upload: create (or resume `uploadId`), hash and send the parts, complete, wait for"]
    #[doc = " ACTIVE, verify the ETag. Rejects with a `ReadSetUploadError`. Call once."]
    start -> UploadResultPromise;
    #[doc = " Pauses: parts in flight are stopped and sent again on `resume()`; hashing waits."]
    pause;
    #[doc = " Aborts: stops every request, makes `start()` reject with code `aborted`, and aborts the"]
    #[doc = " multipart upload on the server (AbortMultipartReadSetUpload) unless completion already"]
    #[doc = " began. Resolves once the server abort is done."]
    abort;
    #[doc = " The multipart upload ID, once created (keep it to resume after a reload)."]
    upload_id;
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ConnectionSpec {
    endpoint: Option<String>,
    token: Option<String>,
    sequence_store_id: Option<String>,
    retry: Option<RetryConfig>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct ListSpec {
    filter: Option<serde_json::Value>,
    max_results: Option<u32>,
    next_token: Option<String>,
}

impl ListSpec {
    pub(super) fn read(value: JsValue) -> Result<(Option<serde_json::Value>, Page), Error> {
        check_keys(&value, LIST_KEYS, "listing options")?;
        let spec: ListSpec = if value.is_undefined() || value.is_null() { ListSpec::default() } else { deserialize(value, "listing options")? };
        if let Some(n) = spec.max_results {
            if !(1..=100).contains(&n) {
                return Err(Error::invalid_input(format!("`maxResults` must be 1 to 100 (got {n})")));
            }
        }
        Ok((spec.filter, Page { max_results: spec.max_results, next_token: spec.next_token }))
    }
}

/// Read-only views of a sequence store for a viewer (read sets, uploads, parts, jobs), plus
/// aborting an upload. Every method resolves with the HealthOmics JSON answer, unchanged.
#[wasm_bindgen]
pub struct SequenceStoreClient {
    pub(super) client: Rc<Client>,
}

/// Sends `req` with `client` and resolves with its JSON answer (undefined for an empty one).
pub(super) fn json_call(client: Rc<Client>, req: Result<omics::Request, Error>) -> Promise {
    json_call_mapped(client, req, |v| v)
}

fn json_call_mapped(client: Rc<Client>, req: Result<omics::Request, Error>, map: fn(JsValue) -> JsValue) -> Promise {
    future_to_promise(async move {
        let req = req.map_err(|e| to_js(&e))?;
        let body = client.call(&Control::default(), &req).await.map_err(|e| to_js(&e))?;
        if body.trim().is_empty() {
            return Ok(map(JsValue::UNDEFINED));
        }
        js_sys::JSON::parse(&body).map(map).map_err(|_| {
            to_js(&Error::new(crate::error::ErrorKind::Protocol, "the answer is not JSON").in_operation(req.operation))
        })
    })
}

impl SequenceStoreClient {
    pub(super) fn call(&self, req: Result<omics::Request, Error>) -> Promise {
        json_call(self.client.clone(), req)
    }

    fn call_mapped(&self, req: Result<omics::Request, Error>, map: fn(JsValue) -> JsValue) -> Promise {
        json_call_mapped(self.client.clone(), req, map)
    }

    pub(super) fn store(&self) -> &str {
        &self.client.store_id
    }
}

#[wasm_bindgen]
impl SequenceStoreClient {
    /// A client for `{ endpoint, token, sequenceStoreId, retry? }`; throws `invalid_input`.
    #[wasm_bindgen(constructor)]
    pub fn new(options: ConnectionOptionsArg) -> Result<SequenceStoreClient, JsValue> {
        (|| {
            let options: JsValue = options.into();
            options_object(&options)?;
            check_keys(&options, CONNECTION_KEYS, "options")?;
            let spec: ConnectionSpec = deserialize(options, "options")?;
            let endpoint = check_endpoint(spec.endpoint.as_deref())?;
            let store = spec.sequence_store_id.ok_or_else(|| Error::invalid_input("`sequenceStoreId` is required"))?;
            check_id(&store, "sequenceStoreId")?;
            let client = Client::new(endpoint, spec.token, store, spec.retry.unwrap_or_default());
            Ok(SequenceStoreClient { client: Rc::new(client) })
        })()
        .map_err(|e| to_js(&e))
    }

    /// GetSequenceStore (its `eTagAlgorithmFamily` tells how ETags are computed).
    #[wasm_bindgen(js_name = getSequenceStore)]
    pub fn get_sequence_store(&self) -> SequenceStorePromise {
        self.call(Ok(omics::get_sequence_store(self.store()))).unchecked_into()
    }

    /// ListReadSets with an optional filter and pagination.
    #[wasm_bindgen(js_name = listReadSets)]
    pub fn list_read_sets(&self, options: Option<ReadSetListArg>) -> ListReadSetsPromise {
        let req = ListSpec::read(options.map(Into::into).unwrap_or(JsValue::UNDEFINED))
            .map(|(filter, page)| omics::list_read_sets(self.store(), filter, &page));
        self.call(req).unchecked_into()
    }

    /// GetReadSetMetadata.
    #[wasm_bindgen(js_name = getReadSetMetadata)]
    pub fn get_read_set_metadata(&self, #[wasm_bindgen(js_name = readSetId)] read_set_id: String) -> ReadSetMetadataPromise {
        let req = check_id(&read_set_id, "readSetId").map(|_| omics::get_read_set_metadata(self.store(), &read_set_id));
        self.call(req).unchecked_into()
    }

    /// ListMultipartReadSetUploads: uploads in progress.
    #[wasm_bindgen(js_name = listUploads)]
    pub fn list_uploads(&self, options: Option<PageArg>) -> ListUploadsPromise {
        let req = ListSpec::read(options.map(Into::into).unwrap_or(JsValue::UNDEFINED)).and_then(|(filter, page)| match filter {
            Some(_) => Err(Error::invalid_input("listUploads takes no `filter`")),
            None => Ok(omics::list_uploads(self.store(), &page)),
        });
        self.call(req).unchecked_into()
    }

    /// ListReadSetUploadParts for one source of an upload.
    #[wasm_bindgen(js_name = listUploadParts)]
    pub fn list_upload_parts(&self, #[wasm_bindgen(js_name = uploadId)] upload_id: String, #[wasm_bindgen(js_name = partSource)] part_source: PartSourceArg, options: Option<PartListArg>) -> ListUploadPartsPromise {
        let source = match JsValue::from(part_source).as_string().as_deref() {
            Some("SOURCE1") => Ok(Source::Source1),
            Some("SOURCE2") => Ok(Source::Source2),
            other => Err(Error::invalid_input(format!("`partSource` must be \"SOURCE1\" or \"SOURCE2\" (got {other:?})"))),
        };
        let req = check_id(&upload_id, "uploadId").and_then(|_| {
            let source = source?;
            let (filter, page) = ListSpec::read(options.map(Into::into).unwrap_or(JsValue::UNDEFINED))?;
            Ok(omics::list_upload_parts(self.store(), &upload_id, source, filter, &page))
        });
        self.call(req).unchecked_into()
    }

    /// AbortMultipartReadSetUpload: discards an upload in progress and its parts.
    #[wasm_bindgen(js_name = abortUpload)]
    pub fn abort_upload(&self, #[wasm_bindgen(js_name = uploadId)] upload_id: String) -> VoidPromise {
        let req = check_id(&upload_id, "uploadId").map(|_| omics::abort_upload(self.store(), &upload_id));
        // The answer carries nothing useful: resolve with undefined.
        self.call_mapped(req, |_| JsValue::UNDEFINED).unchecked_into()
    }

    /// ListReadSetImportJobs.
    #[wasm_bindgen(js_name = listImportJobs)]
    pub fn list_import_jobs(&self, options: Option<JobListArg>) -> ListJobsPromise {
        self.jobs(JobKind::Import, options)
    }

    /// ListReadSetExportJobs.
    #[wasm_bindgen(js_name = listExportJobs)]
    pub fn list_export_jobs(&self, options: Option<JobListArg>) -> ListJobsPromise {
        self.jobs(JobKind::Export, options)
    }

    /// ListReadSetActivationJobs.
    #[wasm_bindgen(js_name = listActivationJobs)]
    pub fn list_activation_jobs(&self, options: Option<JobListArg>) -> ListJobsPromise {
        self.jobs(JobKind::Activation, options)
    }

    /// GetReadSetImportJob.
    #[wasm_bindgen(js_name = getImportJob)]
    pub fn get_import_job(&self, #[wasm_bindgen(js_name = jobId)] job_id: String) -> JobPromise {
        self.call(Ok(omics::get_job(self.store(), JobKind::Import, &job_id))).unchecked_into()
    }

    /// GetReadSetExportJob.
    #[wasm_bindgen(js_name = getExportJob)]
    pub fn get_export_job(&self, #[wasm_bindgen(js_name = jobId)] job_id: String) -> JobPromise {
        self.call(Ok(omics::get_job(self.store(), JobKind::Export, &job_id))).unchecked_into()
    }

    /// GetReadSetActivationJob.
    #[wasm_bindgen(js_name = getActivationJob)]
    pub fn get_activation_job(&self, #[wasm_bindgen(js_name = jobId)] job_id: String) -> JobPromise {
        self.call(Ok(omics::get_job(self.store(), JobKind::Activation, &job_id))).unchecked_into()
    }
}

impl SequenceStoreClient {
    fn jobs(&self, kind: JobKind, options: Option<JobListArg>) -> ListJobsPromise {
        let req = ListSpec::read(options.map(Into::into).unwrap_or(JsValue::UNDEFINED))
            .map(|(filter, page)| omics::list_jobs(self.store(), kind, filter, &page));
        self.call(req).unchecked_into()
    }
}
