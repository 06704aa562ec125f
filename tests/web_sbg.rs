//! Seven Bridges uploads in headless Chromium, through the demo's proxy (`/sbg/v2`, the token
//! added server side) to the local Seven Bridges API (5 MiB minimum part size, like the
//! platform). `./run test` starts the demo and sets `READSET_TEST_PROXY`; the endpoint and
//! project come from the `sbg` entry of `/demo-config.json`.
#![cfg(target_arch = "wasm32")]

mod common;

use std::cell::RefCell;
use std::rc::Rc;

use common::*;
use js_sys::{Function, Object, Promise, Uint8Array};
use readset_upload::web::sbg_api::{upload_to_seven_bridges, SevenBridgesUploader};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const PROXY: Option<&str> = option_env!("READSET_TEST_PROXY");
const MIB: usize = 1024 * 1024;

struct Config {
    endpoint: String,
    token: String,
    project: String,
}

async fn config() -> Config {
    let proxy = PROXY.expect("READSET_TEST_PROXY was not set when these tests were built: run them with `./run test`");
    let url = format!("{}/demo-config.json", proxy.trim_end_matches('/'));
    let r = send("GET", &url, None, None).await.expect("demo-config.json");
    let v: serde_json::Value = serde_json::from_str(&r.body).expect("demo-config.json is JSON");
    let sbg = &v["sbg"];
    Config {
        endpoint: sbg["endpoint"].as_str().unwrap_or_else(|| panic!("demo-config.json lacks sbg.endpoint: {v}")).to_string(),
        token: v["token"].as_str().expect("token").to_string(),
        project: sbg["project"].as_str().expect("sbg.project").to_string(),
    }
}

fn data(len: usize, seed: u32) -> Vec<u8> {
    let mut s = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    (0..len)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            s as u8
        })
        .collect()
}

fn unique(prefix: &str) -> String {
    format!("{prefix}-{}.bin", js_sys::Date::now() as u64)
}

fn options(c: &Config, name: &str, bytes: &[u8]) -> Object {
    let o = Object::new();
    set(&o, "endpoint", c.endpoint.as_str());
    set(&o, "token", c.token.as_str());
    set(&o, "project", c.project.as_str());
    set(&o, "name", name);
    set(&o, "file", file(name, bytes));
    set(&o, "retry", quick_retry(3));
    o
}

/// An API call through the proxy (JSON in, JSON out), asserting a 2xx answer.
async fn api(c: &Config, method: &str, path: &str, body: Option<serde_json::Value>) -> serde_json::Value {
    let url = format!("{}{path}", c.endpoint);
    let r = send(method, &url, Some(&c.token), body.map(|b| b.to_string())).await.expect(path);
    assert!((200..300).contains(&r.status), "{method} {path}: {} {}", r.status, r.body);
    serde_json::from_str(&r.body).unwrap_or(serde_json::Value::Null)
}

/// Sends `bytes` to a part URL answer with its method and headers; returns (status, ETag).
async fn put(url: &serde_json::Value, bytes: &[u8]) -> (u16, Option<String>) {
    let headers: Vec<(String, String)> = url["headers"]
        .as_object()
        .map(|h| h.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string())).collect())
        .unwrap_or_default();
    let blob: web_sys::Blob = file("part", bytes).into();
    let (status, v) = send_blob(url["method"].as_str().unwrap(), url["url"].as_str().unwrap(), headers, &blob, &["ETag"]).await.expect("PUT");
    (status, v[0].clone())
}

/// The stored file's bytes: `download_info` through the proxy, then the signed URL.
async fn download(c: &Config, file_id: &str) -> Vec<u8> {
    let info = api(c, "GET", &format!("/files/{file_id}/download_info"), None).await;
    let fetch = Function::new_with_args("u", "return fetch(u).then(r => { if (!r.ok) throw new Error('HTTP ' + r.status); return r.arrayBuffer(); })");
    let p: Promise = fetch.call1(&JsValue::NULL, &JsValue::from_str(info["url"].as_str().unwrap())).unwrap().unchecked_into();
    let buf = JsFuture::from(p).await.expect("download");
    Uint8Array::new(&buf).to_vec()
}

#[wasm_bindgen_test]
async fn a_multi_part_file_uploads_through_the_proxy_and_the_stored_file_equals_the_source() {
    let c = config().await;
    let bytes = data(11 * MIB, 1); // 3 parts of the 5 MiB minimum
    let name = unique("multi");
    let o = options(&c, &name, &bytes);
    set(&o, "concurrency", 2);
    let last = Rc::new(RefCell::new(JsValue::NULL));
    let l = last.clone();
    let cb = Closure::<dyn FnMut(JsValue)>::new(move |p: JsValue| *l.borrow_mut() = p);
    set(&o, "onProgress", cb.as_ref().clone());

    let result = settle(promise(upload_to_seven_bridges(o.unchecked_into()))).await.unwrap_or_else(|e| panic!("upload failed: {}", get_str(&e, "message")));

    assert_eq!(get_f64(&result, "partSize") as usize, 5 * MIB, "the server's part size is used");
    assert_eq!(get_f64(&result, "parts"), 3.0);
    assert_eq!(get_f64(&result, "bytes") as usize, bytes.len());
    // init + 3 part URLs + one bulk report + complete: reports were batched into one call.
    assert_eq!(get_f64(&result, "apiCalls"), 6.0);
    assert!(get_f64(&result, "rateLimitRemaining") > 0.0, "X-RateLimit-Remaining was read through the proxy");
    let file = get(&result, "file");
    assert_eq!(get_str(&file, "name"), name);
    assert_eq!(get_str(&file, "project"), c.project);
    let p = last.borrow().clone();
    assert_eq!(get_str(&p, "phase"), "done");
    assert_eq!(get_f64(&p, "partsTotal"), 3.0);
    assert_eq!(get_f64(&p, "partsDone"), 3.0);
    assert_eq!(get_f64(&p, "bytesUploaded") as usize, bytes.len());
    let stored = download(&c, &get_str(&result, "fileId")).await;
    assert!(stored == bytes, "the stored file differs from the source ({} vs {} bytes)", stored.len(), bytes.len());
}

#[wasm_bindgen_test]
async fn an_interrupted_upload_resumes_from_the_parts_the_server_lists_as_reported() {
    let c = config().await;
    let bytes = data(11 * MIB, 2);
    let name = unique("resume");
    // A first session got part 1 up and reported, and part 2 up but not reported, then died.
    let init = api(&c, "POST", "/upload/multipart", Some(serde_json::json!({"project": c.project, "name": name, "size": bytes.len(), "part_size": 5 * MIB}))).await;
    let id = init["upload_id"].as_str().unwrap().to_string();
    let url1 = api(&c, "GET", &format!("/upload/multipart/{id}/part/1"), None).await;
    let (status, etag) = put(&url1, &bytes[..5 * MIB]).await;
    assert_eq!(status, 200);
    api(&c, "POST", &format!("/upload/multipart/{id}/part"), Some(serde_json::json!({"part_number": 1, "response": {"headers": {"ETag": etag.unwrap()}}}))).await;
    let url2 = api(&c, "GET", &format!("/upload/multipart/{id}/part/2"), None).await;
    assert_eq!(put(&url2, &bytes[5 * MIB..10 * MIB]).await.0, 200);

    let o = options(&c, &name, &bytes);
    set(&o, "uploadId", id.as_str());
    let up = SevenBridgesUploader::new(o.unchecked_into()).expect("options");
    assert_eq!(up.upload_id().as_deref(), Some(id.as_str()));
    let result = settle(promise(up.start())).await.unwrap_or_else(|e| panic!("resume failed: {}", get_str(&e, "message")));
    assert_eq!(get_str(&result, "uploadId"), id);
    assert_eq!(get_f64(&result, "partsSkipped"), 1.0, "only the reported part is trusted; part 2 is sent again");
    assert_eq!(get_f64(&result, "parts"), 3.0);
    let stored = download(&c, &get_str(&result, "fileId")).await;
    assert!(stored == bytes, "the resumed file differs from the source");
}

#[wasm_bindgen_test]
async fn a_resume_with_another_file_is_refused_before_anything_is_sent() {
    let c = config().await;
    let name = unique("other");
    let init = api(&c, "POST", "/upload/multipart", Some(serde_json::json!({"project": c.project, "name": name, "size": 10, "part_size": 5 * MIB}))).await;
    let o = options(&c, &name, &data(11, 3));
    set(&o, "uploadId", init["upload_id"].as_str().unwrap());
    let err = rejection(promise(upload_to_seven_bridges(o.unchecked_into()))).await;
    let message = expect_error(&err, "invalid_input");
    assert!(message.contains("10 bytes"), "{message}");
}

#[wasm_bindgen_test]
async fn a_forged_or_reused_part_url_is_refused_by_the_storage() {
    let c = config().await;
    let name = unique("forged");
    let init = api(&c, "POST", "/upload/multipart", Some(serde_json::json!({"project": c.project, "name": name, "size": 100, "part_size": 5 * MIB}))).await;
    let id = init["upload_id"].as_str().unwrap().to_string();
    let part = data(100, 4);

    let mut forged = api(&c, "GET", &format!("/upload/multipart/{id}/part/1"), None).await;
    let url = forged["url"].as_str().unwrap().to_string();
    let (head, sig) = url.rsplit_once("signature=").unwrap();
    let flipped = if sig.starts_with('0') { format!("1{}", &sig[1..]) } else { format!("0{}", &sig[1..]) };
    forged["url"] = serde_json::Value::String(format!("{head}signature={flipped}"));
    assert_eq!(put(&forged, &part).await.0, 403, "a changed signature is refused");

    let url = api(&c, "GET", &format!("/upload/multipart/{id}/part/1"), None).await;
    assert_eq!(put(&url, &part).await.0, 200, "the URL as handed out works once");
    assert_eq!(put(&url, &part).await.0, 403, "and not twice");
    api(&c, "DELETE", &format!("/upload/multipart/{id}"), None).await;
}

#[wasm_bindgen_test]
async fn options_are_checked_before_any_network_call() {
    let c = config().await;
    let o = options(&c, "x.bin", b"abc");
    set(&o, "project", "no-owner");
    let err = SevenBridgesUploader::new(o.unchecked_into()).err().expect("refused");
    assert!(expect_error(&err, "invalid_input").contains("owner/project"));
    let o = options(&c, "x.bin", b"abc");
    set(&o, "projekt", "a/b");
    let err = SevenBridgesUploader::new(o.unchecked_into()).err().expect("refused");
    assert!(expect_error(&err, "invalid_input").contains("projekt"));
}
