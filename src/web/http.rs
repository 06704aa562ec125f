//! HTTP: the transport of [`crate::upload::io::HttpRequest`]s.
//!
//! - **Part bodies** go over `XMLHttpRequest`, because only XHR reports upload progress. The
//!   body is the `Blob` slice itself: the browser streams it from disk and sets
//!   `Content-Length`; nothing is copied into wasm memory.
//! - **JSON API calls** (HealthOmics control calls, listings, jobs, Seven Bridges API calls) go
//!   over `fetch`, through `gloo-net`.
//!
//! Either way, dropping the future aborts the request (a drop guard: the XHR's `abort()`, or
//! the fetch's `AbortController`), which is how the driver's pause, abort and stall watch stop
//! an attempt. Any HTTP status is a response; no answer is a `network` error with the same
//! message on both paths.

use std::cell::RefCell;
use std::rc::Rc;

use futures::channel::oneshot;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{Blob, ProgressEvent, XmlHttpRequest};

use crate::error::{Error, ErrorKind};
use crate::upload::io::{Body, HttpRequest, HttpResponse};

/// Aborts the XHR and detaches its handlers when the request future is dropped unfinished.
struct Guard {
    xhr: XmlHttpRequest,
    done: bool,
    _closures: Vec<Closure<dyn FnMut(web_sys::Event)>>,
    _progress: Option<Closure<dyn FnMut(ProgressEvent)>>,
}

impl Drop for Guard {
    fn drop(&mut self) {
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

/// The `network` error of a request that got no answer (offline, refused, CORS, dropped).
fn no_answer(req: &HttpRequest) -> Error {
    Error::new(
        ErrorKind::Network,
        format!("{} {} failed: network error (offline, connection refused, or blocked by CORS)", req.method, req.url),
    )
}

/// Sends `req` once. A `Body::Part` is sent over XHR as `part_body` (the part's `Blob` slice),
/// and `on_progress` receives the body bytes sent so far; any other request goes over `fetch`
/// (see the module doc). Any HTTP status is a response; no answer (offline, refused, CORS) is a
/// `network` error.
pub async fn send(req: &HttpRequest, part_body: Option<&Blob>, on_progress: Option<Box<dyn FnMut(u64)>>) -> Result<HttpResponse, Error> {
    match (&req.body, part_body) {
        (Body::Part(_), Some(b)) => send_xhr(req, b, on_progress).await,
        (Body::Part(_), None) => Err(Error::invalid_input("a part request without its bytes")),
        _ => send_fetch(req).await,
    }
}

/// Aborts an unfinished `fetch` when its future is dropped (aborting a finished one does
/// nothing).
struct AbortOnDrop(web_sys::AbortController);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// A JSON API call (or any request without a part body) over `fetch`.
async fn send_fetch(req: &HttpRequest) -> Result<HttpResponse, Error> {
    let abort = AbortOnDrop(web_sys::AbortController::new().map_err(js_err)?);
    // `web_sys::Headers`, not gloo-net's, whose setters panic on a value the browser refuses.
    let headers = web_sys::Headers::new().map_err(js_err)?;
    if let Some(t) = &req.bearer {
        headers.set("Authorization", &format!("Bearer {t}")).map_err(js_err)?;
    }
    if matches!(req.body, Body::Json(_)) {
        headers.set("Content-Type", "application/json").map_err(js_err)?;
    }
    for (name, value) in &req.headers {
        headers.append(name, value).map_err(js_err)?;
    }
    // The `web_sys::Request` is built here rather than by gloo-net's `RequestBuilder`, which
    // re-parses every URL to merge query parameters this crate never passes separately.
    let init = web_sys::RequestInit::new();
    init.set_method(&req.method);
    init.set_headers(&headers);
    init.set_signal(Some(&abort.0.signal()));
    if let Body::Json(s) = &req.body {
        init.set_body(&JsValue::from_str(s));
    }
    let request = web_sys::Request::new_with_str_and_init(&req.url, &init).map_err(js_err)?;
    let request = gloo_net::http::Request::from(request);
    // A rejected fetch (or a body that breaks off) is the browser's TypeError, worded
    // differently by each engine: report it as XHR's `error` event is.
    let response = request.send().await.map_err(|_| no_answer(req))?;
    let status = response.status();
    let body = response.text().await.map_err(|_| no_answer(req))?;
    // `Headers.get` sees only the headers CORS exposes, as getAllResponseHeaders() does.
    let headers = response.headers();
    Ok(HttpResponse {
        status,
        body,
        error_type: headers.get("x-amzn-ErrorType"),
        retry_after: headers.get("Retry-After"),
        headers: req.read_headers.iter().map(|name| headers.get(name)).collect(),
    })
}

/// A request with a part body over XHR (upload progress).
async fn send_xhr(req: &HttpRequest, part: &Blob, on_progress: Option<Box<dyn FnMut(u64)>>) -> Result<HttpResponse, Error> {
    let xhr = XmlHttpRequest::new().map_err(js_err)?;
    xhr.open_with_async(&req.method, &req.url, true).map_err(js_err)?;
    if let Some(t) = &req.bearer {
        xhr.set_request_header("Authorization", &format!("Bearer {t}")).map_err(js_err)?;
    }
    for (name, value) in &req.headers {
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
    let progress = on_progress.map(|mut f| Closure::<dyn FnMut(ProgressEvent)>::new(move |e: ProgressEvent| f(e.loaded() as u64)));
    if let Some(p) = &progress {
        xhr.upload().map_err(js_err)?.set_onprogress(Some(p.as_ref().unchecked_ref()));
    }
    let mut guard = Guard { xhr: xhr.clone(), done: false, _closures: closures, _progress: progress };

    xhr.send_with_opt_blob(Some(part)).map_err(js_err)?;

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
            Ok(HttpResponse {
                status,
                body,
                error_type: header("x-amzn-ErrorType"),
                retry_after: header("Retry-After"),
                headers: req.read_headers.iter().map(|name| header(name)).collect(),
            })
        }
        "abort" => Err(Error::aborted()),
        "timeout" => Err(Error::new(ErrorKind::Network, format!("{} {} timed out", req.method, req.url))),
        _ => Err(no_answer(req)),
    }
}

/// The value of header `name` (any case) in a `getAllResponseHeaders()` string, if present.
fn find_header(all: &str, name: &str) -> Option<String> {
    all.split("\r\n").find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.trim().eq_ignore_ascii_case(name).then(|| value.trim().to_string())
    })
}
