//! The JS API of Seven Bridges uploads: `SevenBridgesUploader` and `uploadToSevenBridges`, the
//! same shape as `ReadSetUploader` / `uploadReadSet` (start / pause / resume / abort,
//! `onProgress`, `signal`, errors as `ReadSetUploadError` objects).

use std::cell::Cell;
use std::rc::Rc;

use js_sys::{Function, Promise};
use serde::Serialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;
use web_sys::{AbortSignal, File};

use super::api::{check_keys, deserialize, get, options_object, UploaderState, VoidPromise};
use super::control::RunState;
use super::js_error::to_js;
use super::progress::Progress;
use super::sbg::{SbgEngine, SbgStage};
use crate::error::Error;
use crate::sbg::UploadSpec;

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
    "uploadId", "signal", "onProgress",
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
    engine: Rc<SbgEngine>,
    started: Cell<bool>,
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
        let callback = match get(&options, "onProgress") {
            v if v.is_undefined() || v.is_null() => None,
            v => Some(v.dyn_into::<Function>().map_err(|_| Error::invalid_input("`onProgress` must be a function"))?),
        };
        let signal = match get(&options, "signal") {
            v if v.is_undefined() || v.is_null() => None,
            v => Some(v.dyn_into::<AbortSignal>().map_err(|_| Error::invalid_input("`signal` must be an AbortSignal"))?),
        };
        check_keys(&options, KEYS, "options")?;
        let spec: UploadSpec = deserialize(options, "options")?;
        let valid = spec.validate(&file.name())?;
        let size = file.size() as u64;
        // The part count is known once the server fixed the part size; until then, the request's.
        let estimate = size.div_ceil(valid.part_size).max(1) as usize;
        let progress = Progress::new(size, estimate, callback);
        let engine = Rc::new(SbgEngine::new(valid, file.into(), size, progress));
        if let Some(signal) = signal {
            if signal.aborted() {
                engine.control.abort();
            } else {
                let e = engine.clone();
                let on_abort = Closure::once_into_js(move || {
                    e.control.abort();
                    let e2 = e.clone();
                    wasm_bindgen_futures::spawn_local(async move {
                        let _ = e2.abort_on_server().await;
                    });
                });
                let _ = signal.add_event_listener_with_callback("abort", on_abort.unchecked_ref());
            }
        }
        Ok(SevenBridgesUploader { engine, started: Cell::new(false) })
    }

    /// Runs the upload: init (or resume `uploadId` from its reported parts), send the parts,
    /// report them, complete. Resolves with the file; rejects with a `ReadSetUploadError`.
    pub fn start(&self) -> SevenBridgesResultPromise {
        let engine = self.engine.clone();
        let first = !self.started.replace(true);
        let p = future_to_promise(async move {
            if !first {
                return Err(to_js(&Error::invalid_input("start() was already called on this uploader")));
            }
            if engine.control.is_aborted() {
                return Err(to_js(&Error::aborted()));
            }
            match engine.run().await {
                Ok(result) => Ok(result.serialize(&serde_wasm_bindgen::Serializer::json_compatible()).unwrap_or(JsValue::NULL)),
                Err(e) => Err(to_js(&e)),
            }
        });
        p.unchecked_into()
    }

    /// Pauses: parts in flight are stopped and sent again (to fresh URLs) on `resume()`.
    pub fn pause(&self) {
        super::control::pause_upload(&self.engine.control, &self.engine.progress);
    }

    /// Resumes after `pause()`.
    pub fn resume(&self) {
        super::control::resume_upload(&self.engine.control, &self.engine.progress);
    }

    /// Aborts: stops every request, makes `start()` reject with code `aborted`, and deletes the
    /// upload on the server unless completion began. Resolves once the server abort is done.
    pub fn abort(&self) -> VoidPromise {
        let engine = self.engine.clone();
        engine.control.abort();
        let p = future_to_promise(async move {
            engine.abort_on_server().await.map_err(|e| to_js(&e))?;
            Ok(JsValue::UNDEFINED)
        });
        p.unchecked_into()
    }

    /// The upload ID, once known (keep it to resume).
    #[wasm_bindgen(getter, js_name = uploadId)]
    pub fn upload_id(&self) -> Option<String> {
        self.engine.upload_id()
    }

    /// `"idle"`, `"running"`, `"paused"`, `"aborted"`, `"completing"` or `"finished"`.
    #[wasm_bindgen(getter)]
    pub fn state(&self) -> UploaderState {
        let name = match (self.engine.control.state(), self.engine.stage()) {
            (_, SbgStage::Finished) => "finished",
            (RunState::Aborted, _) => "aborted",
            (_, SbgStage::Idle) => "idle",
            (_, SbgStage::Completing) => "completing",
            (RunState::Paused, _) => "paused",
            (RunState::Running, SbgStage::Running) => "running",
        };
        JsValue::from_str(name).unchecked_into()
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
