//! Errors as JS sees them: an `Error` (so `instanceof Error` holds and stacks print) named
//! `ReadSetUploadError`, with `code`, `retryable` and, where known, `status`, `operation`,
//! `part`, `errorType`, `uploadId`, `readSetId`, `jobId`, `attempts`.

use js_sys::{Object, Reflect};
use wasm_bindgen::JsValue;

use crate::error::Error;

fn set(target: &Object, key: &str, value: impl Into<JsValue>) {
    let _ = Reflect::set(target, &JsValue::from_str(key), &value.into());
}

/// Turns an [`Error`] into the JS error object.
pub fn to_js(e: &Error) -> JsValue {
    let err = js_sys::Error::new(&e.to_string());
    err.set_name("ReadSetUploadError");
    let obj: &Object = err.as_ref();
    set(obj, "code", e.code());
    set(obj, "retryable", e.retryable());
    if let Some(s) = e.status {
        set(obj, "status", s);
    }
    if let Some(op) = e.operation {
        set(obj, "operation", op);
    }
    if let Some(p) = e.part {
        let part = Object::new();
        set(&part, "source", p.source.as_str());
        set(&part, "number", p.number);
        set(obj, "part", part);
    }
    if let Some(t) = &e.error_type {
        set(obj, "errorType", t.as_str());
    }
    if let Some(id) = &e.upload_id {
        set(obj, "uploadId", id.as_str());
    }
    if let Some(id) = &e.read_set_id {
        set(obj, "readSetId", id.as_str());
    }
    if let Some(id) = &e.job_id {
        set(obj, "jobId", id.as_str());
    }
    if let Some(n) = e.attempts {
        set(obj, "attempts", n);
    }
    err.into()
}
