//! Helpers shared by the browser tests: test data, options objects, awaiting promises.
#![allow(dead_code)]

use std::io::Write;

use flate2::write::GzEncoder;
use flate2::Compression;
use js_sys::{Array, Object, Promise, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use readset_upload::web::api::SequenceStoreClient;
use web_sys::File;

/// A FASTQ of `reads` reads of 100 bases, pseudo-random from `seed` (so it compresses like
/// real data: about 2.5x).
pub fn fastq(reads: usize, seed: u64, mate: u8) -> Vec<u8> {
    let mut state = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    let mut next = move || {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (state >> 33) as u32
    };
    let mut out = Vec::with_capacity(reads * 240);
    for i in 0..reads {
        writeln!(out, "@read{i}/{mate}").unwrap();
        for _ in 0..100 {
            out.push(b"ACGT"[(next() % 4) as usize]);
        }
        out.extend_from_slice(b"\n+\n");
        for _ in 0..100 {
            out.push(b'5' + (next() % 10) as u8);
        }
        out.push(b'\n');
    }
    out
}

/// Gzip of `data` as `members` concatenated gzip members (bgzip / `cat a.gz b.gz` style).
pub fn gzip(data: &[u8], members: usize) -> Vec<u8> {
    let step = data.len().div_ceil(members.max(1)).max(1);
    let mut out = Vec::new();
    for chunk in data.chunks(step) {
        let mut e = GzEncoder::new(Vec::new(), Compression::fast());
        e.write_all(chunk).unwrap();
        out.extend(e.finish().unwrap());
    }
    out
}

/// A `File` named `name` holding `bytes`.
pub fn file(name: &str, bytes: &[u8]) -> File {
    let parts = Array::new();
    parts.push(&Uint8Array::from(bytes));
    File::new_with_u8_array_sequence(&parts, name).unwrap()
}

/// Sets `obj[key] = value`.
pub fn set(obj: &Object, key: &str, value: impl Into<JsValue>) {
    Reflect::set(obj, &JsValue::from_str(key), &value.into()).unwrap();
}

/// Reads `obj[key]`.
pub fn get(obj: &JsValue, key: &str) -> JsValue {
    Reflect::get(obj, &JsValue::from_str(key)).unwrap()
}

/// `obj[key]` as a string (panics with the key when it is not one).
pub fn get_str(obj: &JsValue, key: &str) -> String {
    get(obj, key).as_string().unwrap_or_else(|| panic!("{key} is not a string in {obj:?}"))
}

/// `obj[key]` as a number.
pub fn get_f64(obj: &JsValue, key: &str) -> f64 {
    get(obj, key).as_f64().unwrap_or_else(|| panic!("{key} is not a number in {obj:?}"))
}

/// An array of files.
pub fn files(list: &[&File]) -> Array {
    list.iter().map(|f| JsValue::from(*f)).collect()
}

/// Upload options with valid metadata for `files`, against `endpoint` / `store`.
pub fn upload_options(endpoint: &str, token: &str, store: &str, files: &[&File]) -> Object {
    let o = Object::new();
    set(&o, "endpoint", endpoint);
    set(&o, "token", token);
    set(&o, "sequenceStoreId", store);
    set(&o, "sourceFileType", "FASTQ");
    set(&o, "name", "browser test read set");
    set(&o, "subjectId", "subject-1");
    set(&o, "sampleId", "sample-1");
    set(&o, "files", self::files(files));
    o
}

/// Fast, deterministic retries: few attempts, 1 ms delays.
pub fn quick_retry(attempts: u32) -> Object {
    let r = Object::new();
    set(&r, "maxAttempts", attempts);
    set(&r, "baseDelayMs", 1);
    set(&r, "maxDelayMs", 5);
    set(&r, "jitter", false);
    r
}

/// Awaits a promise, returning its value or its rejection.
pub async fn settle(p: impl Into<Promise>) -> Result<JsValue, JsValue> {
    JsFuture::from(p.into()).await
}

/// Awaits a promise that must reject, returning the error object.
pub async fn rejection(p: impl Into<Promise>) -> JsValue {
    match settle(p).await {
        Ok(v) => panic!("expected a rejection, got {v:?}"),
        Err(e) => e,
    }
}

/// Checks that `err` is an `Error` named ReadSetUploadError with `code`; returns its message.
pub fn expect_error(err: &JsValue, code: &str) -> String {
    assert!(err.is_instance_of::<js_sys::Error>(), "not an Error: {err:?}");
    assert_eq!(get_str(err, "name"), "ReadSetUploadError");
    let message = get_str(err, "message");
    assert_eq!(get_str(err, "code"), code, "message: {message}");
    message
}

/// `err` as a Promise-compatible value (for types that wrap a promise).
pub fn promise<T: JsCast>(p: T) -> Promise {
    p.unchecked_into()
}

/// One HTTP request through the library's transport (no retries): a JSON body or none.
pub async fn send(
    method: &str,
    url: &str,
    token: Option<&str>,
    json: Option<String>,
) -> Result<readset_upload::upload::io::HttpResponse, readset_upload::Error> {
    use readset_upload::upload::io::{Body, HttpRequest};
    let req = HttpRequest {
        operation: "test",
        method: method.to_string(),
        url: url.to_string(),
        bearer: token.map(str::to_owned),
        headers: Vec::new(),
        body: json.map_or(Body::Empty, Body::Json),
        read_headers: Vec::new(),
    };
    readset_upload::web::http::send(&req, None, None).await
}

/// Sends `blob` with `method` and `headers` to `url`; returns the status and the values of the
/// response headers named in `read`.
pub async fn send_blob(
    method: &str,
    url: &str,
    headers: Vec<(String, String)>,
    blob: &web_sys::Blob,
    read: &[&str],
) -> Result<(u16, Vec<Option<String>>), readset_upload::Error> {
    use readset_upload::plan::{Part, Source};
    use readset_upload::upload::io::{Body, HttpRequest};
    let part = Part { source: Source::Source1, number: 1, start: 0, end: blob.size() as u64 };
    let req = HttpRequest {
        operation: "test",
        method: method.to_string(),
        url: url.to_string(),
        bearer: None,
        headers,
        body: Body::Part(part),
        read_headers: read.iter().map(|s| s.to_string()).collect(),
    };
    let r = readset_upload::web::http::send(&req, Some(blob), None).await?;
    Ok((r.status, r.headers))
}

// ---- The demo server of the browser tests (web_upload.rs, web_viewer.rs) -------------------
//
// `./run test` starts `readset-server demo` on free ports and builds these tests with
// `READSET_TEST_PROXY=http://127.0.0.1:PORT`; the demo serves `/demo-config.json` with the
// endpoint, a token and a sequence store (ETag family MD5up) the token may use.

pub const PROXY: Option<&str> = option_env!("READSET_TEST_PROXY");

pub struct Config {
    pub endpoint: String,
    pub token: String,
    pub store: String,
}

pub async fn config() -> Config {
    let proxy = PROXY.expect(
        "READSET_TEST_PROXY was not set when these tests were built: run them with `./run test`, \
         which starts `readset-server demo` and sets READSET_TEST_PROXY=http://127.0.0.1:PORT",
    );
    let url = format!("{}/demo-config.json", proxy.trim_end_matches('/'));
    let r = send("GET", &url, None, None)
        .await
        .unwrap_or_else(|e| panic!("GET {url}: {e}"));
    assert_eq!(r.status, 200, "GET {url}: {}", r.body);
    let v: serde_json::Value = serde_json::from_str(&r.body).expect("demo-config.json is JSON");
    let s = |k: &str| v[k].as_str().unwrap_or_else(|| panic!("demo-config.json lacks {k}: {v}")).to_string();
    // `endpoint` is absolute; a `proxy` path relative to the demo origin is accepted too.
    let endpoint = match (v["endpoint"].as_str(), v["proxy"].as_str()) {
        (Some(e), _) => e.to_string(),
        (None, Some(p)) => format!("{}{p}", proxy.trim_end_matches('/')),
        _ => panic!("demo-config.json has neither endpoint nor proxy: {v}"),
    };
    Config { endpoint, token: s("token"), store: s("sequenceStoreId") }
}

pub fn store_client(c: &Config) -> SequenceStoreClient {
    let o = Object::new();
    set(&o, "endpoint", c.endpoint.as_str());
    set(&o, "token", c.token.as_str());
    set(&o, "sequenceStoreId", c.store.as_str());
    SequenceStoreClient::new(o.unchecked_into()).unwrap()
}

pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", js_sys::Date::now() as u64)
}
