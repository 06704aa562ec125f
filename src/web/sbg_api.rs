//! The JS API of Seven Bridges: `SevenBridgesUploader` and `uploadToSevenBridges`, the same
//! shape as `ReadSetUploader` / `uploadReadSet` (start / pause / resume / abort, `onProgress`,
//! `signal`, errors as `ReadSetUploadError` objects), and `SevenBridgesClient`, the viewer of a
//! project's files.

use std::rc::Rc;

use js_sys::Promise;
use wasm_bindgen::prelude::*;
use web_sys::File;

use super::api::{check_keys, deserialize, get, options_object, UploaderState, VoidPromise};
use super::control::Control;
use super::handle::{read_callback, read_signal, uploader_methods, Handle};
use super::io::{FileOptions, RecordKind, WebIo};
use super::js_error::to_js;
use super::progress::Progress;
use crate::error::Error;
use crate::sbg::UploadSpec;
use crate::upload::driver::Settings;
use crate::upload::sevenbridges::SevenBridges;

#[wasm_bindgen]
extern "C" {
    /// `SevenBridgesUploadOptions` (TypeScript).
    #[wasm_bindgen(typescript_type = "SevenBridgesUploadOptions")]
    pub type SevenBridgesUploadOptionsArg;
    /// `Promise<SevenBridgesUploadResult>`.
    #[wasm_bindgen(typescript_type = "Promise<SevenBridgesUploadResult>")]
    pub type SevenBridgesResultPromise;
}

/// Option names of `SevenBridgesUploadOptions` (a misspelt option is refused, not ignored).
const KEYS: &[&str] = &[
    "endpoint", "token", "project", "parent", "name", "overwrite", "file", "partSize", "concurrency", "retry",
    "uploadId", "resume", "stallTimeoutMs", "signal", "onProgress",
];

/// Uploads one file into a Seven Bridges / CAVATICA project (or folder) through the proxy.
///
/// ```js
/// const up = new SevenBridgesUploader({ endpoint: "http://127.0.0.1:8080/sbg/v2", token,
///   project: "demo/readset-upload", file, onProgress: p => console.log(p.bytesUploaded) });
/// const result = await up.start();   // up.pause(), up.resume(), up.abort() meanwhile
/// ```
#[wasm_bindgen]
pub struct SevenBridgesUploader {
    handle: Handle<SevenBridges>,
}

#[wasm_bindgen]
impl SevenBridgesUploader {
    /// Checks the options (no network call); throws a `ReadSetUploadError` with code
    /// `invalid_input` naming the problem.
    #[wasm_bindgen(constructor)]
    pub fn new(options: SevenBridgesUploadOptionsArg) -> Result<SevenBridgesUploader, JsValue> {
        Self::build(options.into()).map_err(|e| to_js(&e))
    }

    fn build(options: JsValue) -> Result<SevenBridgesUploader, Error> {
        options_object(&options)?;
        let file = get(&options, "file")
            .dyn_into::<File>()
            .map_err(|_| Error::invalid_input("`file` must be a File (from an <input type=file> or a drop)"))?;
        let callback = read_callback(&options)?;
        let signal = read_signal(&options)?;
        check_keys(&options, KEYS, "options")?;
        let spec: UploadSpec = deserialize(options, "options")?;
        let v = spec.validate(&file.name())?;
        let size = file.size() as u64;
        // The part count is known once the server fixed the part size; until then, the request's.
        let estimate = size.div_ceil(v.part_size).max(1) as usize;
        let progress = Progress::new(size, estimate, callback);
        let control = Rc::new(Control::default());
        let files = FileOptions { chunk_size: 0, hash_in_workers: false, fastq: false };
        let destination = v.target.project.clone().or_else(|| v.target.parent.clone()).unwrap_or_default();
        let record = RecordKind::SevenBridges { endpoint: v.endpoint.clone(), destination, name: v.target.name.clone() };
        let io = WebIo::new(vec![file.into()], progress, control.clone(), files, record);
        let settings = Settings::new(v.concurrency, v.stall_timeout_ms, v.retry.clone(), v.resume, v.upload_id.clone());
        Ok(SevenBridgesUploader { handle: Handle::new(SevenBridges::new(v, size), io, control, settings, signal) })
    }
}

/// Uploads one file to Seven Bridges: `new SevenBridgesUploader(options).start()` as one call.
#[wasm_bindgen(js_name = uploadToSevenBridges)]
pub fn upload_to_seven_bridges(options: SevenBridgesUploadOptionsArg) -> SevenBridgesResultPromise {
    match SevenBridgesUploader::build(options.into()) {
        Ok(u) => u.start(),
        Err(e) => Promise::reject(&to_js(&e)).unchecked_into(),
    }
}

// Plain `#[doc = "..."]` strings: doc comments passed through a macro become raw strings, which
// wasm-bindgen copies into the TypeScript types with their `r"` quoting.
uploader_methods! {
    SevenBridgesUploader,
    #[doc = " Runs the upload: init (or resume `uploadId`, or with `resume` the upload saved for this"]
    #[doc = " file, from its reported parts), send the parts, report them, complete. Resolves with the"]
    #[doc = " file; rejects with a `ReadSetUploadError`."]
    start -> SevenBridgesResultPromise;
    #[doc = " Pauses: parts in flight are stopped and sent again (to fresh URLs) on `resume()`."]
    pause;
    #[doc = " Aborts: stops every request, makes `start()` reject with code `aborted`, and deletes the"]
    #[doc = " upload on the server unless completion began. Resolves once the server abort is done."]
    abort;
    #[doc = " The upload ID, once known (keep it to resume)."]
    upload_id;
}

#[wasm_bindgen]
extern "C" {
    /// `SevenBridgesClientOptions` (TypeScript).
    #[wasm_bindgen(typescript_type = "SevenBridgesClientOptions")]
    pub type SevenBridgesClientOptionsArg;
    /// `SevenBridgesFileListOptions`.
    #[wasm_bindgen(typescript_type = "SevenBridgesFileListOptions")]
    pub type FileListArg;
    /// `Promise<SevenBridgesFileList>`.
    #[wasm_bindgen(typescript_type = "Promise<SevenBridgesFileList>")]
    pub type FileListPromise;
    /// `AsyncIterable<SevenBridgesFile>`.
    #[wasm_bindgen(typescript_type = "AsyncIterable<SevenBridgesFile>")]
    pub type FileIterable;
}

/// `listFiles` / `files` options.
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct FileListSpec {
    project: Option<String>,
    offset: Option<u64>,
    limit: Option<u64>,
}

impl FileListSpec {
    fn read(options: JsValue, keys: &[&str]) -> Result<FileListSpec, Error> {
        options_object(&options).map_err(|_| Error::invalid_input("options must be an object with `project` (owner/project)"))?;
        check_keys(&options, keys, "file list options")?;
        let spec: FileListSpec = deserialize(options, "file list options")?;
        let target = crate::sbg::Target { project: spec.project.clone(), parent: None, name: "x".into(), overwrite: false };
        if spec.project.is_none() {
            return Err(Error::invalid_input("`project` is required: owner/project"));
        }
        target.validate()?;
        if let Some(l) = spec.limit {
            if !(1..=100).contains(&l) {
                return Err(Error::invalid_input(format!("`limit` must be 1 to 100 (got {l})")));
            }
        }
        Ok(spec)
    }

    fn request(&self, offset: u64) -> crate::omics::Request {
        let mut r = crate::sbg::list_files(self.project.as_deref().unwrap_or_default());
        r.query.push(("offset", offset.to_string()));
        r.query.push(("limit", self.limit.unwrap_or(100).to_string()));
        r
    }
}

/// The files of a Seven Bridges / CAVATICA project, through the proxy (which lets a caller see
/// only the projects its policy allows).
///
/// ```js
/// const sbg = new SevenBridgesClient({ endpoint: "http://127.0.0.1:8080/sbg/v2", token });
/// for await (const f of sbg.files({ project: "demo/readset-upload" })) console.log(f.name, f.size);
/// ```
#[wasm_bindgen]
pub struct SevenBridgesClient {
    client: Rc<super::client::Client>,
}

async fn list_page(client: Rc<super::client::Client>, spec: Rc<FileListSpec>, offset: u64) -> Result<JsValue, Error> {
    let req = spec.request(offset);
    let http = crate::upload::io::HttpRequest::api(&client.endpoint, client.omics.token.as_deref(), &req);
    let body = client.call_http(&Control::default(), &http).await?;
    let page: crate::sbg::FilePage = crate::sbg::parse(req.operation, &body)?;
    let out = js_sys::JSON::parse(&body).map_err(|_| Error::new(crate::error::ErrorKind::Protocol, "the answer is not JSON").in_operation(req.operation))?;
    if let Some(next) = page.next_offset(offset) {
        let _ = js_sys::Reflect::set(&out, &"nextToken".into(), &next.to_string().into());
    }
    Ok(out)
}

#[wasm_bindgen]
impl SevenBridgesClient {
    /// A client for `{ endpoint, token, retry? }` (`endpoint`: the proxy's `/sbg/v2`); throws
    /// `invalid_input`.
    #[wasm_bindgen(constructor)]
    pub fn new(options: SevenBridgesClientOptionsArg) -> Result<SevenBridgesClient, JsValue> {
        (|| {
            let options: JsValue = options.into();
            options_object(&options)?;
            check_keys(&options, &["endpoint", "token", "retry"], "options")?;
            #[derive(serde::Deserialize)]
            struct Spec {
                endpoint: Option<String>,
                token: Option<String>,
                retry: Option<crate::retry::RetryConfig>,
            }
            let spec: Spec = deserialize(options, "options")?;
            let endpoint = crate::validate::check_endpoint(spec.endpoint.as_deref())?;
            let client = super::client::Client::new(endpoint, spec.token, String::new(), spec.retry.unwrap_or_default());
            Ok(SevenBridgesClient { client: Rc::new(client) })
        })()
        .map_err(|e| to_js(&e))
    }

    /// One page of a project's files (`GET /files?project=&offset=&limit=`, `limit` 1 to 100,
    /// default 100): `{ items, href, links, nextToken? }` (`nextToken`: the next page's offset).
    #[wasm_bindgen(js_name = listFiles)]
    pub fn list_files(&self, options: FileListArg) -> FileListPromise {
        let client = self.client.clone();
        let spec = FileListSpec::read(options.into(), &["project", "offset", "limit"]);
        wasm_bindgen_futures::future_to_promise(async move {
            let spec = spec.map_err(|e| to_js(&e))?;
            let offset = spec.offset.unwrap_or(0);
            list_page(client, Rc::new(spec), offset).await.map_err(|e| to_js(&e))
        })
        .unchecked_into()
    }

    /// Every file of a project, page after page: `for await (const f of sbg.files({ project }))`.
    /// `limit` is the page size. Throws `invalid_input`.
    pub fn files(&self, options: FileListArg) -> Result<FileIterable, JsValue> {
        let spec = Rc::new(FileListSpec::read(options.into(), &["project", "limit"]).map_err(|e| to_js(&e))?);
        let client = self.client.clone();
        let fetch = Rc::new(move |token: Option<String>| {
            let (client, spec) = (client.clone(), spec.clone());
            wasm_bindgen_futures::future_to_promise(async move {
                let offset = match token {
                    None => 0,
                    Some(t) => t.parse().map_err(|_| to_js(&Error::new(crate::error::ErrorKind::Protocol, format!("bad page offset {t:?}"))))?,
                };
                list_page(client, spec, offset).await.map_err(|e| to_js(&e))
            })
        });
        Ok(super::viewer::paginate("items", fetch).unchecked_into())
    }
}
