//! HTTP over `XMLHttpRequest`: JSON calls and part uploads with upload progress.
//!
//! XHR rather than `fetch` because only XHR reports upload progress. A part body is the `Blob`
//! slice itself: the browser streams it from disk and sets `Content-Length`; nothing is copied
//! into wasm memory. Every request is registered with the [`Control`] so `pause()`/`abort()`
//! can abort it, and a drop guard aborts it when its future is dropped.

use std::cell::RefCell;
use std::rc::Rc;

use futures::channel::oneshot;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{Blob, ProgressEvent, XmlHttpRequest};

use super::control::Control;
use crate::error::{Error, ErrorKind};

/// The body of a request.
pub enum Body<'a> {
    /// No body.
    Empty,
    /// A JSON document.
    Json(String),
    /// Raw bytes from a `Blob` (a part).
    Blob(&'a Blob),
}

/// A completed HTTP exchange (any status).
#[derive(Debug, Clone)]
pub struct Response {
    /// HTTP status.
    pub status: u16,
    /// Response text.
    pub body: String,
    /// `x-amzn-ErrorType`, when exposed.
    pub error_type: Option<String>,
    /// `Retry-After`, when exposed.
    pub retry_after: Option<String>,
}

impl Response {
    /// The body of a 2xx answer, or the mapped error.
    pub fn ok_body(self, operation: &'static str) -> Result<String, Error> {
        if (200..300).contains(&self.status) {
            Ok(self.body)
        } else {
            Err(Error::from_http(self.status, self.error_type.as_deref(), &self.body, self.retry_after.as_deref())
                .in_operation(operation))
        }
    }
}

/// Aborts the XHR and detaches its handlers when the request future is dropped unfinished.
struct Guard<'c> {
    xhr: XmlHttpRequest,
    control: &'c Control,
    id: u64,
    done: bool,
    _closures: Vec<Closure<dyn FnMut(web_sys::Event)>>,
    _progress: Option<Closure<dyn FnMut(ProgressEvent)>>,
}

impl Drop for Guard<'_> {
    fn drop(&mut self) {
        self.control.unregister(self.id);
        // Detach first: abort() fires events synchronously, and the closures die with us.
        self.xhr.set_onload(None);
        self.xhr.set_onerror(None);
        self.xhr.set_onabort(None);
        self.xhr.set_ontimeout(None);
        if let Ok(up) = self.xhr.upload() {
            up.set_onprogress(None);
        }
        if !self.done {
            let _ = self.xhr.abort();
        }
    }
}

fn js_err(e: JsValue) -> Error {
    let text = e
        .dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| e.as_string())
        .unwrap_or_else(|| format!("{e:?}"));
    Error::new(ErrorKind::Network, format!("the request could not be sent: {text}"))
}

/// Sends one request. `pausable`: `pause()` aborts it (part uploads). `on_progress` receives
/// the bytes of the body sent so far. An aborted request ends with an `aborted` error; the
/// caller tells pause from abort through the [`Control`] state.
pub async fn send(
    control: &Control,
    method: &str,
    url: &str,
    token: Option<&str>,
    body: Body<'_>,
    pausable: bool,
    on_progress: Option<Box<dyn FnMut(f64)>>,
) -> Result<Response, Error> {
    send_with_headers(control, method, url, token, &[], body, pausable, on_progress, &[]).await.map(|(r, _)| r)
}

/// [`send`] with extra request `headers`, also returning the values of the response headers
/// named in `read` (in order; `None` when absent or not exposed by CORS). Seven Bridges part
/// URLs need both: they list headers to send and headers to report.
#[allow(clippy::too_many_arguments)]
pub async fn send_with_headers(
    control: &Control,
    method: &str,
    url: &str,
    token: Option<&str>,
    headers: &[(String, String)],
    body: Body<'_>,
    pausable: bool,
    on_progress: Option<Box<dyn FnMut(f64)>>,
    read: &[String],
) -> Result<(Response, Vec<Option<String>>), Error> {
    if control.is_aborted() || (pausable && control.is_paused()) {
        return Err(Error::aborted());
    }
    let xhr = XmlHttpRequest::new().map_err(js_err)?;
    xhr.open_with_async(method, url, true).map_err(js_err)?;
    if let Some(t) = token {
        xhr.set_request_header("Authorization", &format!("Bearer {t}")).map_err(js_err)?;
    }
    if matches!(body, Body::Json(_)) {
        xhr.set_request_header("Content-Type", "application/json").map_err(js_err)?;
    }
    for (name, value) in headers {
        xhr.set_request_header(name, value).map_err(js_err)?;
    }

    let (tx, rx) = oneshot::channel::<&'static str>();
    let tx = Rc::new(RefCell::new(Some(tx)));
    let make = |tag: &'static str| {
        let tx = tx.clone();
        Closure::<dyn FnMut(web_sys::Event)>::new(move |_e: web_sys::Event| {
            if let Some(t) = tx.borrow_mut().take() {
                let _ = t.send(tag);
            }
        })
    };
    let closures = vec![make("load"), make("error"), make("abort"), make("timeout")];
    xhr.set_onload(Some(closures[0].as_ref().unchecked_ref()));
    xhr.set_onerror(Some(closures[1].as_ref().unchecked_ref()));
    xhr.set_onabort(Some(closures[2].as_ref().unchecked_ref()));
    xhr.set_ontimeout(Some(closures[3].as_ref().unchecked_ref()));
    let progress = on_progress.map(|mut f| {
        Closure::<dyn FnMut(ProgressEvent)>::new(move |e: ProgressEvent| f(e.loaded()))
    });
    if let Some(p) = &progress {
        xhr.upload().map_err(js_err)?.set_onprogress(Some(p.as_ref().unchecked_ref()));
    }
    let id = control.register(&xhr, pausable);
    let mut guard = Guard { xhr: xhr.clone(), control, id, done: false, _closures: closures, _progress: progress };

    let sent = match body {
        Body::Empty => xhr.send(),
        Body::Json(s) => xhr.send_with_opt_str(Some(&s)),
        Body::Blob(b) => xhr.send_with_opt_blob(Some(b)),
    };
    sent.map_err(js_err)?;

    let tag = rx.await.unwrap_or("abort");
    guard.done = true;
    match tag {
        "load" => {
            let status = xhr.status().map_err(js_err)?;
            let body = xhr.response_text().ok().flatten().unwrap_or_default();
            // Look headers up in getAllResponseHeaders(), which lists only the headers CORS
            // exposes: getResponseHeader() on a hidden one logs "Refused to get unsafe header".
            let all = xhr.get_all_response_headers().unwrap_or_default();
            let header = |name: &str| find_header(&all, name);
            let values = read.iter().map(|name| header(name)).collect();
            Ok((Response { status, body, error_type: header("x-amzn-ErrorType"), retry_after: header("Retry-After") }, values))
        }
        "abort" => Err(Error::aborted()),
        "timeout" => Err(Error::new(ErrorKind::Network, format!("{method} {url} timed out"))),
        _ => Err(Error::new(
            ErrorKind::Network,
            format!("{method} {url} failed: network error (offline, connection refused, or blocked by CORS)"),
        )),
    }
}

/// The value of header `name` (any case) in a `getAllResponseHeaders()` string, if present.
fn find_header(all: &str, name: &str) -> Option<String> {
    all.split("\r\n").find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.trim().eq_ignore_ascii_case(name).then(|| value.trim().to_string())
    })
}
