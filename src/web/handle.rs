//! The one JS handle under both exported uploader classes: start, pause, resume, abort,
//! state and the upload ID, over a driver [`Upload`] of any target. Methods return promises
//! built from futures that own a clone of the `Rc`, so `pause()`, `resume()` and `abort()` stay
//! callable while `start()` is pending.

use std::cell::Cell;
use std::rc::Rc;

use js_sys::{Function, Promise};
use serde::Serialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::future_to_promise;
use web_sys::AbortSignal;

use super::client::random_seed;
use super::control::Control;
use super::io::{get, page_queue, WebIo};
use super::js_error::to_js;
use crate::error::Error;
use crate::upload::driver::{Settings, Target, Upload};

/// A started-once upload of target `T`, as JS drives it.
pub struct Handle<T: Target + 'static> {
    /// The upload.
    pub upload: Rc<Upload<T, WebIo>>,
    started: Cell<bool>,
}

/// The `onProgress` option: a function, or absent.
pub fn read_callback(options: &JsValue) -> Result<Option<Function>, Error> {
    match get(options, "onProgress") {
        v if v.is_undefined() || v.is_null() => Ok(None),
        v => v.dyn_into::<Function>().map(Some).map_err(|_| Error::invalid_input("`onProgress` must be a function")),
    }
}

/// The `signal` option: an `AbortSignal`, or absent.
pub fn read_signal(options: &JsValue) -> Result<Option<AbortSignal>, Error> {
    match get(options, "signal") {
        v if v.is_undefined() || v.is_null() => Ok(None),
        v => v.dyn_into::<AbortSignal>().map(Some).map_err(|_| Error::invalid_input("`signal` must be an AbortSignal")),
    }
}

impl<T: Target + 'static> Handle<T>
where
    T::Output: Serialize,
{
    /// A handle of an upload of `target` on `io` under `control`, through the page's queue;
    /// `signal` (when given) aborts it.
    pub fn new(target: T, io: WebIo, control: Rc<Control>, settings: Settings, signal: Option<AbortSignal>) -> Self {
        let seed = settings.retry.seed.unwrap_or_else(random_seed);
        let upload = Rc::new(Upload::new(target, io, control, page_queue(), settings, seed));
        if let Some(signal) = signal {
            if signal.aborted() {
                upload.control.abort();
            } else {
                let u = upload.clone();
                let on_abort = Closure::once_into_js(move || {
                    u.control.abort();
                    wasm_bindgen_futures::spawn_local(async move {
                        let _ = u.abort_on_server().await;
                    });
                });
                let _ = signal.add_event_listener_with_callback("abort", on_abort.unchecked_ref());
            }
        }
        Handle { upload, started: Cell::new(false) }
    }

    /// Runs the upload; resolves with its result, rejects with a `ReadSetUploadError`.
    pub fn start(&self) -> Promise {
        let upload = self.upload.clone();
        let first = !self.started.replace(true);
        future_to_promise(async move {
            if !first {
                return Err(to_js(&Error::invalid_input("start() was already called on this uploader")));
            }
            match upload.run().await {
                Ok(result) => Ok(result.serialize(&serde_wasm_bindgen::Serializer::json_compatible()).unwrap_or(JsValue::NULL)),
                Err(e) => Err(to_js(&e)),
            }
        })
    }

    /// Pauses a running upload (parts in flight are stopped and sent again on resume).
    pub fn pause(&self) {
        if self.upload.control.pause() {
            self.upload.io.progress.paused(true);
        }
    }

    /// Resumes a paused upload.
    pub fn resume(&self) {
        if self.upload.control.resume() {
            self.upload.io.progress.paused(false);
        }
    }

    /// Aborts: stops every request and aborts the upload on the server unless completion
    /// began. Resolves once the server abort is done.
    pub fn abort(&self) -> Promise {
        let upload = self.upload.clone();
        upload.control.abort();
        future_to_promise(async move {
            upload.abort_on_server().await.map_err(|e| to_js(&e))?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// The upload ID, once known.
    pub fn upload_id(&self) -> Option<String> {
        self.upload.upload_id()
    }

    /// `"idle"`, `"running"`, `"paused"`, `"aborted"`, `"completing"` or `"finished"`.
    pub fn state(&self) -> JsValue {
        JsValue::from_str(self.upload.state_name())
    }
}

/// The JS methods every uploader class has (`start`, `pause`, `resume`, `abort`, `uploadId`,
/// `state`), each delegating to the class's [`Handle`] field `handle`: written once for
/// `ReadSetUploader` and `SevenBridgesUploader`, with each class's own documentation (doc comments before each
/// name) and `start()` promise type. `UploaderState` and `VoidPromise` must be in scope where it is used.
macro_rules! uploader_methods {
    (
        $class:ident,
        $(#[$start_doc:meta])* start -> $result:ty;
        $(#[$pause_doc:meta])* pause;
        $(#[$abort_doc:meta])* abort;
        $(#[$id_doc:meta])* upload_id;
    ) => {
        #[wasm_bindgen]
        impl $class {
            $(#[$start_doc])*
            pub fn start(&self) -> $result {
                self.handle.start().unchecked_into()
            }

            $(#[$pause_doc])*
            pub fn pause(&self) {
                self.handle.pause();
            }

            /// Resumes after `pause()`.
            pub fn resume(&self) {
                self.handle.resume();
            }

            $(#[$abort_doc])*
            pub fn abort(&self) -> VoidPromise {
                self.handle.abort().unchecked_into()
            }

            $(#[$id_doc])*
            #[wasm_bindgen(getter, js_name = uploadId)]
            pub fn upload_id(&self) -> Option<String> {
                self.handle.upload_id()
            }

            /// `"idle"`, `"running"`, `"paused"`, `"aborted"`, `"completing"` or `"finished"`.
            #[wasm_bindgen(getter)]
            pub fn state(&self) -> UploaderState {
                self.handle.state().unchecked_into()
            }
        }
    };
}
pub(crate) use uploader_methods;
