//! Browser tests against a real `readset-server demo` (proxy + local store).
//!
//! `./run test` starts the demo on free ports and builds these tests with
//! `READSET_TEST_PROXY=http://127.0.0.1:PORT`; the demo serves `/demo-config.json` with the
//! endpoint, a token and a sequence store (ETag family MD5up) the token may use.
#![cfg(target_arch = "wasm32")]

mod common;

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use common::*;
use js_sys::{Array, Object};
use md5::{Digest, Md5};
use readset_upload::hash::to_hex;
use readset_upload::web::api::{upload_read_set, ReadSetUploader, SequenceStoreClient};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// Progress events recorded by a callback.
#[derive(Default)]
struct Seen {
    events: Cell<usize>,
    last: RefCell<JsValue>,
    changed_states: RefCell<Vec<String>>,
}

fn recorder(on_event: impl Fn(&JsValue) + 'static) -> (Rc<Seen>, JsValue) {
    let seen = Rc::new(Seen::default());
    let s = seen.clone();
    let cb = Closure::<dyn FnMut(JsValue)>::new(move |p: JsValue| {
        s.events.set(s.events.get() + 1);
        let changed = get(&p, "changed");
        if changed.is_object() {
            s.changed_states.borrow_mut().push(get_str(&changed, "state"));
        }
        *s.last.borrow_mut() = p.clone();
        on_event(&p);
    });
    (seen, cb.into_js_value())
}

async fn in_progress_upload_ids(client: &SequenceStoreClient) -> Vec<String> {
    let mut ids = Vec::new();
    let mut token: Option<String> = None;
    // Bounded: 50 pages of 100 uploads.
    for _ in 0..50 {
        let o = Object::new();
        set(&o, "maxResults", 100);
        if let Some(t) = &token {
            set(&o, "nextToken", t.as_str());
        }
        let page = settle(promise(client.list_uploads(Some(o.unchecked_into())))).await.expect("listUploads");
        for u in Array::from(&get(&page, "uploads")).iter() {
            ids.push(get_str(&u, "uploadId"));
        }
        match get(&page, "nextToken").as_string() {
            Some(t) => token = Some(t),
            None => break,
        }
    }
    ids
}

#[wasm_bindgen_test]
async fn a_paired_fastq_gz_uploads_in_parts_becomes_active_with_verified_etags() {
    let c = config().await;
    let r1 = fastq(4000, 11, 1);
    let r2 = fastq(3000, 12, 2);
    let (gz1, gz2) = (gzip(&r1, 1), gzip(&r2, 4)); // mate 2 is multi-member
    let (f1, f2) = (file("sample_R1.fastq.gz", &gz1), file("sample_R2.fastq.gz", &gz2));
    let part = 64 * 1024;
    let (n1, n2) = (gz1.len().div_ceil(part), gz2.len().div_ceil(part));
    assert!(n1 >= 3 && n2 >= 3, "test data must make several parts: {n1} + {n2}");

    let name = unique("pair");
    let o = upload_options(&c.endpoint, &c.token, &c.store, &[&f1, &f2]);
    set(&o, "name", name.as_str());
    set(&o, "partSize", part as f64);
    set(&o, "concurrency", 3);
    set(&o, "pollIntervalMs", 100);
    let (seen, cb) = recorder(|_| {});
    set(&o, "onProgress", cb);

    let result = settle(promise(upload_read_set(o.unchecked_into()))).await.unwrap_or_else(|e| {
        panic!("upload failed: {}", get(&e, "message").as_string().unwrap_or_default())
    });

    assert_eq!(get_str(&result, "status"), "ACTIVE");
    assert_eq!(get_f64(&result, "parts") as usize, n1 + n2);
    let list: Vec<(String, u32)> = Array::from(&get(&result, "partList"))
        .iter()
        .map(|p| (get_str(&p, "partSource"), get_f64(&p, "partNumber") as u32))
        .collect();
    let expected: Vec<(String, u32)> = (1..=n1 as u32)
        .map(|n| ("SOURCE1".to_string(), n))
        .chain((1..=n2 as u32).map(|n| ("SOURCE2".to_string(), n)))
        .collect();
    assert_eq!(list, expected, "Complete lists every part, sorted per source");

    let etag = get(&result, "etag");
    assert_eq!(get_str(&etag, "status"), "verified");
    let computed = get(&etag, "computed");
    assert_eq!(get_str(&computed, "source1"), to_hex(&Md5::digest(&r1)));
    assert_eq!(get_str(&computed, "source2"), to_hex(&Md5::digest(&r2)));
    assert_eq!(get_str(&computed, "algorithm"), "FASTQ_MD5up");

    // Progress: the last event accounts for every byte and part.
    let last = seen.last.borrow().clone();
    let total = (gz1.len() + gz2.len()) as f64;
    assert_eq!(get_f64(&last, "bytesTotal"), total);
    assert_eq!(get_f64(&last, "bytesHashed"), total);
    assert_eq!(get_f64(&last, "bytesUploaded"), total);
    assert_eq!(get_f64(&last, "partsDone") as usize, n1 + n2);
    assert_eq!(get_str(&last, "phase"), "done");
    let states = seen.changed_states.borrow().clone();
    assert_eq!(states.iter().filter(|s| *s == "done").count(), n1 + n2);
    assert!(states.iter().any(|s| s == "uploading") && states.iter().any(|s| s == "hashing"));

    // The store agrees, seen through the listing functions.
    let client = store_client(&c);
    let id = get_str(&result, "readSetId");
    let meta = settle(promise(client.get_read_set_metadata(id.clone()))).await.expect("metadata");
    assert_eq!(get_str(&meta, "status"), "ACTIVE");
    assert_eq!(get_str(&meta, "fileType"), "FASTQ");
    assert_eq!(get_str(&get(&meta, "etag"), "source2"), to_hex(&Md5::digest(&r2)));
    let filter = Object::new();
    set(&filter, "name", name.as_str());
    let opts = Object::new();
    set(&opts, "filter", filter);
    let listed = settle(promise(client.list_read_sets(Some(opts.unchecked_into())))).await.expect("listReadSets");
    let ids: Vec<String> = Array::from(&get(&listed, "readSets")).iter().map(|r| get_str(&r, "id")).collect();
    assert_eq!(ids, vec![id]);
}

#[wasm_bindgen_test]
async fn an_upload_aborted_midway_rejects_as_aborted_and_leaves_the_in_progress_list() {
    let c = config().await;
    let gz = gzip(&fastq(3000, 21, 1), 1);
    let f = file("abort_R1.fq.gz", &gz);
    let part = 16 * 1024;
    assert!(gz.len() / part >= 6, "several parts must remain when aborting");

    let o = upload_options(&c.endpoint, &c.token, &c.store, &[&f]);
    set(&o, "name", unique("abort").as_str());
    set(&o, "partSize", part as f64);
    set(&o, "concurrency", 1);
    // abort() is called from inside the progress callback as soon as two parts are confirmed,
    // so the upload is certainly midway.
    let slot: Rc<RefCell<Option<Rc<ReadSetUploader>>>> = Rc::default();
    let abort_promise: Rc<RefCell<Option<js_sys::Promise>>> = Rc::default();
    let (s, a) = (slot.clone(), abort_promise.clone());
    let (_seen, cb) = recorder(move |p| {
        if get_f64(p, "partsDone") >= 2.0 && a.borrow().is_none() {
            if let Some(up) = s.borrow().as_ref() {
                *a.borrow_mut() = Some(promise(up.abort()));
            }
        }
    });
    set(&o, "onProgress", cb);
    let uploader = Rc::new(ReadSetUploader::new(o.unchecked_into()).unwrap());
    *slot.borrow_mut() = Some(uploader.clone());

    let err = rejection(promise(uploader.start())).await;
    expect_error(&err, "aborted");
    let upload_id = get_str(&err, "uploadId");
    assert_eq!(uploader.state_name(), "finished");
    let abort_done = abort_promise.borrow_mut().take().expect("abort() was called from the progress callback");
    settle(abort_done).await.expect("AbortMultipartReadSetUpload succeeded");

    let client = store_client(&c);
    assert!(!in_progress_upload_ids(&client).await.contains(&upload_id), "aborted upload {upload_id} is still listed");
    // A gone upload is no longer listed, so this client finds no grant for it, and the proxy
    // (which cannot tell "gone" from "another user's") refuses the call before the store is
    // asked: forbidden, naming the grant.
    let err = rejection(promise(client.list_upload_parts(upload_id.clone(), JsValue::from_str("SOURCE1").unchecked_into(), None))).await;
    let message = expect_error(&err, "forbidden");
    assert!(message.contains(&upload_id) && message.contains("x-readset-upload-grant"), "{message}");
}

#[wasm_bindgen_test]
async fn a_paused_upload_is_resumed_by_a_new_uploader_that_skips_the_parts_already_sent() {
    let c = config().await;
    let raw = fastq(3000, 31, 1);
    let gz = gzip(&raw, 2);
    let f = file("resume_R1.fastq.gz", &gz);
    let part = 16 * 1024;
    let total_parts = gz.len().div_ceil(part);

    // First uploader: paused from the callback once three parts are confirmed, then left
    // paused (as if the page were closed).
    let o = upload_options(&c.endpoint, &c.token, &c.store, &[&f]);
    set(&o, "name", unique("resume").as_str());
    set(&o, "partSize", part as f64);
    set(&o, "concurrency", 1);
    let slot: Rc<RefCell<Option<Rc<ReadSetUploader>>>> = Rc::default();
    let (paused_tx, paused_rx) = futures::channel::oneshot::channel::<()>();
    let paused_tx = RefCell::new(Some(paused_tx));
    let s = slot.clone();
    let (_seen, cb) = recorder(move |p| {
        if get_f64(p, "partsDone") >= 3.0 {
            if let (Some(up), Some(tx)) = (s.borrow().as_ref(), paused_tx.borrow_mut().take()) {
                up.pause();
                let _ = tx.send(());
            }
        }
    });
    set(&o, "onProgress", cb);
    let first = Rc::new(ReadSetUploader::new(o.unchecked_into()).unwrap());
    *slot.borrow_mut() = Some(first.clone());
    let _pending = first.start();
    paused_rx.await.expect("the first upload reached three parts");
    assert_eq!(first.state_name(), "paused");
    let upload_id = first.upload_id().expect("upload created");

    // Second uploader, same file and part size, continuing that upload.
    let o = upload_options(&c.endpoint, &c.token, &c.store, &[&f]);
    set(&o, "name", "ignored when resuming");
    set(&o, "partSize", part as f64);
    set(&o, "uploadId", upload_id.as_str());
    set(&o, "pollIntervalMs", 100);
    let (seen, cb) = recorder(|_| {});
    set(&o, "onProgress", cb);
    let result = settle(promise(upload_read_set(o.unchecked_into()))).await.unwrap_or_else(|e| {
        panic!("resume failed: {}", get(&e, "message").as_string().unwrap_or_default())
    });
    assert_eq!(get_str(&result, "uploadId"), upload_id);
    assert_eq!(get_str(&result, "status"), "ACTIVE");
    assert_eq!(get_f64(&result, "parts") as usize, total_parts);
    assert_eq!(get_str(&get(&result, "etag"), "status"), "verified");
    let states = seen.changed_states.borrow();
    let skipped = states.iter().filter(|s| *s == "skipped").count();
    let sent = states.iter().filter(|s| *s == "done").count();
    assert!(skipped >= 3, "at least the three confirmed parts are skipped (states: {states:?})");
    assert_eq!(skipped + sent, total_parts);
}

#[wasm_bindgen_test]
async fn a_wrong_token_fails_at_once_with_auth() {
    let c = config().await;
    let f = file("a.fq.gz", &gzip(&fastq(10, 1, 1), 1));
    let o = upload_options(&c.endpoint, "not-a-valid-token", &c.store, &[&f]);
    let err = rejection(promise(upload_read_set(o.unchecked_into()))).await;
    expect_error(&err, "auth");
    assert_eq!(get_f64(&err, "status"), 401.0);
    assert_eq!(get(&err, "retryable"), JsValue::FALSE);
    assert_eq!(get_f64(&err, "attempts"), 1.0, "a 401 is not retried: one attempt");
}

#[wasm_bindgen_test]
async fn a_request_the_service_refuses_reports_its_validation_message() {
    let c = config().await;
    let client = store_client(&c);
    let filter = Object::new();
    set(&filter, "status", "SHINY");
    let opts = Object::new();
    set(&opts, "filter", filter);
    let err = rejection(promise(client.list_read_sets(Some(opts.unchecked_into())))).await;
    let message = expect_error(&err, "validation");
    assert_eq!(get_f64(&err, "status"), 400.0);
    assert_eq!(get_str(&err, "operation"), "ListReadSets");
    assert!(message.contains("SHINY"), "the service's message is passed on: {message}");
}
