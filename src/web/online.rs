//! The online state: `navigator.onLine` and the `online` event. While offline, part uploads
//! wait for the network instead of spending their retry attempts (see the driver).

use js_sys::{Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::EventTarget;

/// `navigator.onLine` (true when the global has no navigator).
pub fn is_online() -> bool {
    let nav = Reflect::get(&js_sys::global(), &JsValue::from_str("navigator")).unwrap_or(JsValue::UNDEFINED);
    if nav.is_undefined() {
        return true;
    }
    Reflect::get(&nav, &JsValue::from_str("onLine")).ok().and_then(|v| v.as_bool()).unwrap_or(true)
}

/// Resolves on the global `online` event, or after `ms` at the latest (so a missed event
/// cannot hang the upload).
pub async fn online_event_or_timeout(ms: u64) {
    let promise = Promise::new(&mut |resolve, _reject| {
        let global: EventTarget = js_sys::global().unchecked_into();
        let opts = web_sys::AddEventListenerOptions::new();
        opts.set_once(true);
        let _ = global.add_event_listener_with_callback_and_add_event_listener_options("online", &resolve, &opts);
        let _ = Reflect::get(&js_sys::global(), &JsValue::from_str("setTimeout"))
            .ok()
            .and_then(|f| f.dyn_into::<js_sys::Function>().ok())
            .map(|f| f.call2(&JsValue::UNDEFINED, &resolve, &JsValue::from_f64(ms as f64)));
    });
    let _ = JsFuture::from(promise).await;
}
