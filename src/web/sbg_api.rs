//! The JS API of Seven Bridges uploads: `SevenBridgesUploader` and `uploadToSevenBridges`, the
//! same shape as `ReadSetUploader` / `uploadReadSet` (start / pause / resume / abort,
//! `onProgress`, `signal`, errors as `ReadSetUploadError` objects).

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
