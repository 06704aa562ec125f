//! Browser tests of the viewer (issue 17) against a real `readset-server demo` (proxy + local
//! store): jobs started and followed, listings as async iterables, read set previews and
//! downloads through GetReadSet, and a Seven Bridges project's files. See `common` for how the
//! server is found.
#![cfg(target_arch = "wasm32")]

mod common;

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use common::*;
use js_sys::{Array, Object};
use md5::{Digest, Md5};
use readset_upload::hash::to_hex;
use readset_upload::web::api::upload_read_set;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// Uploads one small FASTQ read set (or a pair) and returns its ID.
async fn uploaded(c: &Config, files: &[&web_sys::File], sample: &str) -> String {
    let o = upload_options(&c.endpoint, &c.token, &c.store, files);
    set(&o, "name", unique("viewer").as_str());
    set(&o, "sampleId", sample);
    set(&o, "pollIntervalMs", 100);
    let result = settle(promise(upload_read_set(o.unchecked_into()))).await.unwrap_or_else(|e| {
        panic!("upload failed: {}", get(&e, "message").as_string().unwrap_or_default())
    });
    get_str(&result, "readSetId")
}

/// Every item of an async iterable, at most `limit` (the test fails beyond: no endless loop).
async fn collect(iterable: JsValue, limit: usize) -> Result<Vec<JsValue>, JsValue> {
    let make = js_sys::Reflect::get(&iterable, &js_sys::Symbol::async_iterator()).unwrap();
    let iterator = make.unchecked_ref::<js_sys::Function>().call0(&iterable).unwrap();
    let next: js_sys::Function = js_sys::Reflect::get(&iterator, &"next".into()).unwrap().unchecked_into();
    let mut items = Vec::new();
    for _ in 0..=limit {
        let r = settle(next.call0(&iterator).unwrap().unchecked_into::<js_sys::Promise>()).await?;
        if get(&r, "done").is_truthy() {
            return Ok(items);
        }
        items.push(get(&r, "value"));
    }
    panic!("the iterator yielded more than {limit} items");
}

fn ids_array(ids: &[&str]) -> Array {
    ids.iter().map(|s| JsValue::from_str(s)).collect()
}

#[wasm_bindgen_test]
async fn read_sets_iterates_page_after_page_over_exactly_the_matching_read_sets() {
    let c = config().await;
    let sample = unique("iter");
    let mut want = Vec::new();
    for seed in 0..3 {
        let f = file(&format!("it{seed}_R1.fastq.gz"), &gzip(&fastq(20, 40 + seed, 1), 1));
        want.push(uploaded(&c, &[&f], &sample).await);
    }
    let client = store_client(&c);
    let filter = Object::new();
    set(&filter, "sampleId", sample.as_str());
    let o = Object::new();
    set(&o, "filter", filter);
    set(&o, "maxResults", 1); // three pages
    let iterable: JsValue = client.read_sets(Some(o.unchecked_into())).unwrap().into();
    let mut got: Vec<String> = collect(iterable.clone(), 10).await.unwrap().iter().map(|r| get_str(r, "id")).collect();
    got.sort();
    want.sort();
    assert_eq!(got, want);
    // A second `for await` starts again from the first page.
    assert_eq!(collect(iterable, 10).await.unwrap().len(), 3);
}

#[wasm_bindgen_test]
async fn an_export_job_started_from_the_library_is_followed_to_completed_and_listed() {
    let c = config().await;
    let f = file("export_R1.fastq.gz", &gzip(&fastq(50, 51, 1), 1));
    let id = uploaded(&c, &[&f], &unique("export")).await;
    let client = store_client(&c);
    let o = Object::new();
    set(&o, "readSetIds", ids_array(&[&id]));
    set(&o, "destination", format!("s3://readset-exports/{id}/").as_str());
    let job = settle(promise(client.start_export_job(o.unchecked_into()))).await.unwrap_or_else(|e| panic!("startExportJob: {:?}", get(&e, "message")));
    let job_id = get_str(&job, "id");
    // No role was sent: the proxy filled in its own (a body without one would be a 400 upstream).
    assert_eq!(get_str(&job, "destination"), format!("s3://readset-exports/{id}/"));
    assert_eq!(get_str(&job, "status"), "SUBMITTED");

    let statuses: Rc<RefCell<Vec<String>>> = Rc::default();
    let s = statuses.clone();
    let cb = Closure::<dyn FnMut(JsValue)>::new(move |j: JsValue| s.borrow_mut().push(get_str(&j, "status")));
    let w = Object::new();
    set(&w, "kind", "export");
    set(&w, "pollIntervalMs", 200);
    set(&w, "onProgress", cb.into_js_value());
    let done = settle(promise(client.wait_for_job(job_id.clone(), w.unchecked_into()))).await.unwrap_or_else(|e| panic!("waitForJob: {:?}", get(&e, "message")));
    assert_eq!(get_str(&done, "status"), "COMPLETED");
    let seen = statuses.borrow().clone();
    assert_eq!(seen.last().map(String::as_str), Some("COMPLETED"), "{seen:?}");
    assert!(seen.len() >= 2, "the job was polled while it ran: {seen:?}");

    let o = Object::new();
    set(&o, "maxResults", 2);
    let jobs = collect(client.export_jobs(Some(o.unchecked_into())).unwrap().into(), 500).await.unwrap();
    assert_eq!(jobs.iter().filter(|j| get_str(j, "id") == job_id).count(), 1, "listed once");
}

#[wasm_bindgen_test]
async fn an_export_outside_the_proxy_prefixes_is_forbidden_and_starts_no_job() {
    let c = config().await;
    let client = store_client(&c);
    let before = collect(client.export_jobs(None).unwrap().into(), 500).await.unwrap().len();
    let o = Object::new();
    set(&o, "readSetIds", ids_array(&["1234567890"]));
    set(&o, "destination", "s3://somebody-elses-bucket/x/");
    let err = rejection(promise(client.start_export_job(o.unchecked_into()))).await;
    let msg = expect_error(&err, "forbidden");
    assert!(msg.contains("destination"), "{msg}");
    let after = collect(client.export_jobs(None).unwrap().into(), 500).await.unwrap().len();
    assert_eq!(before, after, "no job was created");
}

#[wasm_bindgen_test]
async fn waiting_for_a_job_can_be_aborted_and_names_the_job() {
    let c = config().await;
    let f = file("act_R1.fastq.gz", &gzip(&fastq(20, 61, 1), 1));
    let id = uploaded(&c, &[&f], &unique("act")).await;
    let client = store_client(&c);
    let o = Object::new();
    set(&o, "readSetIds", ids_array(&[&id]));
    let job = settle(promise(client.start_activation_job(o.unchecked_into()))).await.expect("startActivationJob");
    let job_id = get_str(&job, "id");
    let ctl = web_sys::AbortController::new().unwrap();
    let w = Object::new();
    set(&w, "kind", "activation");
    set(&w, "signal", ctl.signal());
    let waiting = promise(client.wait_for_job(job_id.clone(), w.unchecked_into()));
    ctl.abort();
    let err = rejection(waiting).await;
    expect_error(&err, "aborted");
    assert_eq!(get_str(&err, "jobId"), job_id);
    // The job itself went on: waiting again sees it end.
    let w = Object::new();
    set(&w, "kind", "activation");
    set(&w, "pollIntervalMs", 200);
    let done = settle(promise(client.wait_for_job(job_id, w.unchecked_into()))).await.expect("waitForJob");
    assert!(matches!(get_str(&done, "status").as_str(), "COMPLETED" | "COMPLETED_WITH_FAILURES"), "{:?}", get(&done, "status"));
}

#[wasm_bindgen_test]
async fn a_preview_shows_the_first_reads_of_each_mate_and_parses_only_the_start_of_the_files() {
    let c = config().await;
    // Large enough that the first reads are a small fraction of each file.
    let (r1, r2) = (fastq(6000, 71, 1), fastq(6000, 72, 2));
    let (gz1, gz2) = (gzip(&r1, 1), gzip(&r2, 3));
    let (f1, f2) = (file("prev_R1.fastq.gz", &gz1), file("prev_R2.fastq.gz", &gz2));
    let id = uploaded(&c, &[&f1, &f2], &unique("prev")).await;
    let client = store_client(&c);
    let o = Object::new();
    set(&o, "maxReads", 3);
    let p = settle(promise(client.preview_read_set(id.clone(), Some(o.unchecked_into())))).await.unwrap_or_else(|e| panic!("preview: {:?}", get(&e, "message")));
    assert_eq!(get_str(&p, "fileType"), "FASTQ");
    let sources = Array::from(&get(&p, "fastq"));
    assert_eq!(sources.length(), 2);
    for (i, (raw, mate)) in [(&r1, 1), (&r2, 2)].into_iter().enumerate() {
        let s = sources.get(i as u32);
        assert_eq!(get_str(&s, "source"), if mate == 1 { "SOURCE1" } else { "SOURCE2" });
        let reads = Array::from(&get(&s, "reads"));
        assert_eq!(reads.length(), 3);
        assert_eq!(get(&s, "complete"), JsValue::TRUE);
        assert_eq!(get(&s, "endOfData"), JsValue::FALSE);
        let gz_len = if mate == 1 { gz1.len() } else { gz2.len() };
        assert!(get_f64(&s, "compressedBytesRead") < gz_len as f64 / 10.0, "the parser stopped early");
        let text = String::from_utf8(raw.clone()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        for n in 0..3usize {
            let r = reads.get(n as u32);
            assert_eq!(format!("@{}", get_str(&r, "name")), lines[n * 4], "read {n} of mate {mate}");
            assert_eq!(get_str(&r, "sequence"), lines[n * 4 + 1]);
            assert_eq!(get_str(&r, "quality"), lines[n * 4 + 3]);
        }
    }
    // What arrived: never more than the files (a stopped stream is not read on). On loopback
    // the browser hands over a whole small body in one chunk, so the network saving of the
    // cancelled request shows only with large parts on a real link; the parser's own count
    // above shows it stopped early.
    let fetched = get_f64(&p, "bytesFetched");
    assert!(fetched > 0.0 && fetched <= (gz1.len() + gz2.len()) as f64, "{fetched} of {} bytes", gz1.len() + gz2.len());
}

#[wasm_bindgen_test]
async fn a_download_returns_the_exact_bytes_with_a_verified_etag_into_a_blob_or_a_stream() {
    let c = config().await;
    let (r1, r2) = (fastq(3000, 81, 1), fastq(2000, 82, 2));
    let (gz1, gz2) = (gzip(&r1, 2), gzip(&r2, 1));
    let (f1, f2) = (file("dl_R1.fastq.gz", &gz1), file("dl_R2.fastq.gz", &gz2));
    let id = uploaded(&c, &[&f1, &f2], &unique("dl")).await;
    let client = store_client(&c);

    // Into a Blob (no writable).
    let events = Rc::new(Cell::new(0usize));
    let e = events.clone();
    let cb = Closure::<dyn FnMut(JsValue)>::new(move |_p: JsValue| e.set(e.get() + 1));
    let o = Object::new();
    set(&o, "file", "SOURCE2");
    set(&o, "onProgress", cb.into_js_value());
    let r = settle(promise(client.download_read_set(id.clone(), Some(o.unchecked_into())))).await.unwrap_or_else(|e| panic!("download: {:?}", get(&e, "message")));
    assert_eq!(get_f64(&r, "bytes") as usize, gz2.len());
    let blob: web_sys::Blob = get(&r, "blob").unchecked_into();
    let bytes = js_sys::Uint8Array::new(&wasm_bindgen_futures::JsFuture::from(blob.array_buffer()).await.unwrap()).to_vec();
    assert!(bytes == gz2, "the downloaded bytes equal the uploaded file");
    let etag = get(&r, "etag");
    assert_eq!(get(&etag, "verified"), JsValue::TRUE);
    assert_eq!(get_str(&etag, "hex"), to_hex(&Md5::digest(&r2)));
    assert!(events.get() >= 1);

    // Into a WritableStream: chunks arrive in order, the stream is closed.
    let chunks = Array::new();
    let make = js_sys::Function::new_with_args(
        "chunks",
        "const s = { closed: false }; const w = new WritableStream({ write(c) { chunks.push(c.slice()); }, close() { s.closed = true; } }); return [w, s];",
    );
    let pair = Array::from(&make.call1(&JsValue::NULL, &chunks).unwrap());
    let o = Object::new();
    set(&o, "writable", pair.get(0));
    let r = settle(promise(client.download_read_set(id.clone(), Some(o.unchecked_into())))).await.unwrap_or_else(|e| panic!("download: {:?}", get(&e, "message")));
    let mut streamed = Vec::new();
    for c in chunks.iter() {
        streamed.extend(c.unchecked_into::<js_sys::Uint8Array>().to_vec());
    }
    assert!(streamed == gz1, "the streamed bytes equal mate 1");
    assert_eq!(get(&pair.get(1), "closed"), JsValue::TRUE);
    assert!(get(&r, "blob").is_undefined());
    assert_eq!(get(&get(&r, "etag"), "verified"), JsValue::TRUE);

    // Too big for a Blob: refused before any part is fetched.
    let o = Object::new();
    set(&o, "maxBlobBytes", 100);
    let err = rejection(promise(client.download_read_set(id, Some(o.unchecked_into())))).await;
    assert!(expect_error(&err, "invalid_input").contains("pass a `writable`"));
}

#[wasm_bindgen_test]
async fn the_seven_bridges_client_lists_a_project_page_after_page() {
    use readset_upload::web::sbg_api::{upload_to_seven_bridges, SevenBridgesClient};
    let proxy = PROXY.expect("READSET_TEST_PROXY");
    let r = send("GET", &format!("{}/demo-config.json", proxy.trim_end_matches('/')), None, None).await.unwrap();
    let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    let (endpoint, project, token) = (v["sbg"]["endpoint"].as_str().unwrap().to_string(), v["sbg"]["project"].as_str().unwrap().to_string(), v["token"].as_str().unwrap().to_string());
    let mut names = Vec::new();
    for i in 0..2 {
        let name = format!("{}-{i}.fastq.gz", unique("sbglist"));
        let f = file(&name, &gzip(&fastq(10, 90 + i, 1), 1));
        let o = Object::new();
        set(&o, "endpoint", endpoint.as_str());
        set(&o, "token", token.as_str());
        set(&o, "project", project.as_str());
        set(&o, "file", f);
        settle(promise(upload_to_seven_bridges(o.unchecked_into()))).await.unwrap_or_else(|e| panic!("sbg upload: {:?}", get(&e, "message")));
        names.push(name);
    }
    let o = Object::new();
    set(&o, "endpoint", endpoint.as_str());
    set(&o, "token", token.as_str());
    let sbg = SevenBridgesClient::new(o.unchecked_into()).unwrap();
    let q = Object::new();
    set(&q, "project", project.as_str());
    set(&q, "limit", 1);
    let files = collect(sbg.files(q.unchecked_into()).unwrap().into(), 2000).await.unwrap();
    for n in &names {
        assert_eq!(files.iter().filter(|f| &get_str(f, "name") == n).count(), 1, "{n} listed once");
    }
    let q = Object::new();
    set(&q, "project", project.as_str());
    set(&q, "limit", 1);
    let page = settle(promise(sbg.list_files(q.unchecked_into()))).await.unwrap();
    assert_eq!(Array::from(&get(&page, "items")).length(), 1);
    assert_eq!(get_str(&page, "nextToken"), "1");
    // A project that does not exist (the demo token may see any project): the platform's 404,
    // with its message.
    let q = Object::new();
    set(&q, "project", "nobody/nothing-here");
    let err = rejection(promise(sbg.list_files(q.unchecked_into()))).await;
    let msg = expect_error(&err, "not_found");
    assert!(msg.contains("nobody/nothing-here"), "{msg}");
}

/// Uploads `bytes` as a one-file read set of `file_type` and returns its ID.
async fn uploaded_alignment(c: &Config, name: &str, bytes: &[u8], file_type: &str) -> String {
    let f = file(name, bytes);
    let o = upload_options(&c.endpoint, &c.token, &c.store, &[&f]);
    set(&o, "name", unique("header").as_str());
    set(&o, "sourceFileType", file_type);
    if file_type != "UBAM" {
        set(&o, "referenceArn", "arn:aws:omics:us-east-1:123456789012:referenceStore/1234567890/reference/1234567890");
    }
    set(&o, "pollIntervalMs", 100);
    let result = settle(promise(upload_read_set(o.unchecked_into()))).await.unwrap_or_else(|e| {
        panic!("{file_type} upload failed: {}", get(&e, "message").as_string().unwrap_or_default())
    });
    get_str(&result, "readSetId")
}

fn lines_of(header_sam: &str, tag: &str) -> Vec<String> {
    header_sam.lines().filter(|l| l.starts_with(tag)).map(str::to_owned).collect()
}

#[wasm_bindgen_test]
async fn a_bam_and_a_ubam_preview_show_their_headers_as_written_by_htslib() {
    let c = config().await;
    let client = store_client(&c);
    for (name, bytes, header_sam, file_type) in [
        ("aligned.bam", &include_bytes!("fixtures/aligned.bam")[..], include_str!("fixtures/aligned.bam.header.sam"), "BAM"),
        ("unaligned.bam", &include_bytes!("fixtures/unaligned.bam")[..], include_str!("fixtures/unaligned.bam.header.sam"), "UBAM"),
    ] {
        let id = uploaded_alignment(&c, name, bytes, file_type).await;
        let p = settle(promise(client.preview_read_set(id, None))).await.unwrap_or_else(|e| panic!("preview of {name}: {:?}", get(&e, "message")));
        assert_eq!(get_str(&p, "fileType"), file_type);
        let h = get(&p, "header");
        assert_eq!(get_str(&h, "format"), "BAM");
        assert_eq!(get(&h, "hd").as_string(), lines_of(header_sam, "@HD").first().cloned(), "{name}");
        let sq = lines_of(header_sam, "@SQ").len() as f64;
        assert_eq!(get_f64(&h, "referenceCount"), sq, "{name}: n_ref");
        assert_eq!(get_f64(&h, "sqLines"), sq);
        let strings = |key: &str| Array::from(&get(&h, key)).iter().map(|v| v.as_string().unwrap()).collect::<Vec<_>>();
        assert_eq!(strings("readGroups"), lines_of(header_sam, "@RG"), "{name}");
        assert_eq!(strings("programs"), lines_of(header_sam, "@PG"), "{name}");
    }
}

#[wasm_bindgen_test]
async fn a_bam_read_set_whose_data_is_not_bam_is_a_clear_protocol_error() {
    let c = config().await;
    // The local store, like the service, takes any bytes that start like BGZF gzip; the
    // preview then finds they are not BAM and says so.
    let gz = gzip(b"this is text, not a BAM file\n", 1);
    let id = uploaded_alignment(&c, "not.bam", &gz, "BAM").await;
    let err = rejection(promise(store_client(&c).preview_read_set(id.clone(), None))).await;
    let msg = expect_error(&err, "protocol");
    assert!(msg.contains("not BAM"), "{msg}");
    assert_eq!(get_str(&err, "readSetId"), id);
}

/// A WritableStream whose `write` fails with `disk full` when `fail` is true; `state.aborted`
/// holds the reason it was aborted with, `state.writes` the writes tried.
fn sink(fail: bool) -> (JsValue, JsValue) {
    let make = js_sys::Function::new_with_args(
        "fail",
        "const state = { writes: 0, aborted: null }; \
         const w = new WritableStream({ write() { state.writes += 1; if (fail) throw new Error('disk full'); }, abort(r) { state.aborted = String(r); } }); \
         return [w, state];",
    );
    let pair = Array::from(&make.call1(&JsValue::NULL, &JsValue::from_bool(fail)).unwrap());
    (pair.get(0), pair.get(1))
}

#[wasm_bindgen_test]
async fn a_refused_write_fails_the_download_at_once_as_the_sinks_error_and_a_failed_start_aborts_the_stream() {
    let c = config().await;
    let f = file("sink_R1.fastq.gz", &gzip(&fastq(400, 95, 1), 1));
    let id = uploaded(&c, &[&f], &unique("sink")).await;
    let client = store_client(&c);
    let (w, state) = sink(true);
    let o = Object::new();
    set(&o, "writable", w);
    let err = rejection(promise(client.download_read_set(id.clone(), Some(o.unchecked_into())))).await;
    let msg = expect_error(&err, "invalid_input");
    assert!(msg.contains("writing the download failed") && msg.contains("disk full"), "{msg}");
    assert_eq!(get_str(&err, "readSetId"), id);
    assert_eq!(get_f64(&state, "writes"), 1.0, "not retried: one write was tried");

    // No such read set: the caller's stream is aborted, so no empty file is kept.
    let (w, state) = sink(false);
    let o = Object::new();
    set(&o, "writable", w);
    let err = rejection(promise(client.download_read_set("9999999999".into(), Some(o.unchecked_into())))).await;
    expect_error(&err, "not_found");
    assert!(get(&state, "aborted").as_string().is_some_and(|r| !r.is_empty()), "the stream was aborted");
    assert_eq!(get_f64(&state, "writes"), 0.0);
}
