//! Browser tests of the JS API that need no server: input checks (refused before any network
//! call), error objects, retries of network errors, and the ETag pipeline in wasm.
#![cfg(target_arch = "wasm32")]

mod common;

use common::*;
use js_sys::Object;
use md5::{Digest, Md5};
use readset_upload::etag::{EtagFamily, FastqEtag};
use readset_upload::hash::to_hex;
use readset_upload::web::api::{upload_read_set, ReadSetUploader, SequenceStoreClient};
use sha2::{Sha256, Sha512};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

// Nothing listens here (and Chrome refuses the port): any network call ends as `network`,
// so an `invalid_input` error proves the check ran before any request.
const DEAD_ENDPOINT: &str = "http://127.0.0.1:9/omics";
const STORE: &str = "1234567890";

fn fq(name: &str) -> web_sys::File {
    file(name, &gzip(&fastq(10, 1, 1), 1))
}

async fn refused(options: Object) -> String {
    let err = rejection(promise(upload_read_set(options.unchecked_into()))).await;
    let msg = expect_error(&err, "invalid_input");
    assert_eq!(get(&err, "retryable"), JsValue::FALSE);
    msg
}

#[wasm_bindgen_test]
async fn missing_metadata_is_refused_naming_the_option() {
    let f = fq("a_R1.fastq.gz");
    for key in ["name", "subjectId", "sampleId", "sequenceStoreId", "sourceFileType"] {
        let o = upload_options(DEAD_ENDPOINT, "t", STORE, &[&f]);
        js_sys::Reflect::delete_property(&o, &JsValue::from_str(key)).unwrap();
        assert_eq!(refused(o).await, format!("`{key}` is required"));
    }
}

#[wasm_bindgen_test]
async fn a_pair_of_bam_files_is_refused_because_pairs_are_fastq_only() {
    let (a, b) = (file("a.bam", b"BAM\x01"), file("b.bam", b"BAM\x01"));
    let o = upload_options(DEAD_ENDPOINT, "t", STORE, &[&a, &b]);
    set(&o, "sourceFileType", "UBAM");
    assert!(refused(o).await.contains("pairs are FASTQ only"));
}

#[wasm_bindgen_test]
async fn bam_and_cram_without_reference_arn_are_refused() {
    for (t, name) in [("BAM", "x.bam"), ("CRAM", "x.cram")] {
        let f = file(name, b"data");
        let o = upload_options(DEAD_ENDPOINT, "t", STORE, &[&f]);
        set(&o, "sourceFileType", t);
        assert!(refused(o).await.contains(&format!("`referenceArn` is required for {t}")), "{t}");
    }
}

#[wasm_bindgen_test]
async fn an_empty_file_is_refused() {
    let f = file("empty.fastq.gz", b"");
    assert!(refused(upload_options(DEAD_ENDPOINT, "t", STORE, &[&f])).await.contains("is empty"));
}

#[wasm_bindgen_test]
async fn unsupported_extensions_are_refused_with_a_hint_for_plain_fastq() {
    let f = file("reads.fastq", b"@r\nA\n+\nI\n");
    assert!(refused(upload_options(DEAD_ENDPOINT, "t", STORE, &[&f])).await.contains("FASTQ must be gzip-compressed"));
    let f = file("reads.txt", b"x");
    assert!(refused(upload_options(DEAD_ENDPOINT, "t", STORE, &[&f])).await.contains("does not end in .fastq.gz or .fq.gz"));
}

#[wasm_bindgen_test]
async fn a_part_size_above_100_mib_is_refused() {
    let f = fq("a.fq.gz");
    let o = upload_options(DEAD_ENDPOINT, "t", STORE, &[&f]);
    set(&o, "partSize", 104_857_601.0);
    assert!(refused(o).await.contains("above the HealthOmics maximum of 104857600"));
}

#[wasm_bindgen_test]
async fn a_misspelt_option_is_refused_rather_than_ignored() {
    let f = fq("a.fq.gz");
    let o = upload_options(DEAD_ENDPOINT, "t", STORE, &[&f]);
    set(&o, "partsize", 65536);
    assert!(refused(o).await.contains("unknown field `partsize`"));
}

#[wasm_bindgen_test]
fn the_constructor_throws_the_same_error_object() {
    let o = upload_options(DEAD_ENDPOINT, "t", "12", &[]);
    let err = ReadSetUploader::new(o.unchecked_into()).err().expect("constructor must throw");
    assert!(expect_error(&err, "invalid_input").contains("10 to 36 digits"));
}

#[wasm_bindgen_test]
async fn network_errors_are_retried_then_reported_as_retryable_network_errors() {
    let f = fq("a.fq.gz");
    let o = upload_options(DEAD_ENDPOINT, "t", STORE, &[&f]);
    set(&o, "retry", quick_retry(3));
    let err = rejection(promise(upload_read_set(o.unchecked_into()))).await;
    expect_error(&err, "network");
    assert_eq!(get(&err, "retryable"), JsValue::TRUE);
    assert_eq!(get_f64(&err, "attempts"), 3.0, "maxAttempts 3: the call was sent three times");
    // The first call is GetSequenceStore (the ETag family) and it is named in the error.
    assert_eq!(get_str(&err, "operation"), "GetSequenceStore");
}

#[wasm_bindgen_test]
async fn the_store_client_checks_ids_before_calling() {
    let o = Object::new();
    set(&o, "endpoint", DEAD_ENDPOINT);
    set(&o, "sequenceStoreId", STORE);
    let client = SequenceStoreClient::new(o.unchecked_into()).unwrap();
    let err = rejection(promise(client.get_read_set_metadata("abc".into()))).await;
    assert!(expect_error(&err, "invalid_input").contains("`readSetId` must be 10 to 36 digits"));
}

fn etag_of(family: EtagFamily, gz: &[u8], chunk: usize) -> String {
    let mut t = FastqEtag::new(family);
    for c in gz.chunks(chunk) {
        t.update(c).unwrap();
    }
    t.finish().unwrap().hex
}

#[wasm_bindgen_test]
fn fastq_etags_of_every_family_match_the_digest_of_the_uncompressed_data_in_wasm() {
    let data = fastq(2000, 7, 2);
    let gz = gzip(&data, 3);
    assert_eq!(etag_of(EtagFamily::Md5, &gz, 4096), to_hex(&Md5::digest(&data)));
    assert_eq!(etag_of(EtagFamily::Sha256, &gz, 1000), to_hex(&Sha256::digest(&data)));
    assert_eq!(etag_of(EtagFamily::Sha512, &gz, 65536), to_hex(&Sha512::digest(&data)));
}

#[wasm_bindgen_test]
async fn an_already_aborted_signal_rejects_as_aborted_before_any_request() {
    let controller = web_sys::AbortController::new().unwrap();
    controller.abort();
    let f = fq("a.fq.gz");
    let o = upload_options(DEAD_ENDPOINT, "t", STORE, &[&f]);
    set(&o, "signal", controller.signal());
    let err = rejection(promise(upload_read_set(o.unchecked_into()))).await;
    expect_error(&err, "aborted");
    assert_eq!(get(&err, "uploadId"), JsValue::UNDEFINED, "nothing was created");
}

#[wasm_bindgen_test]
async fn start_twice_is_refused() {
    let f = fq("a.fq.gz");
    let o = upload_options(DEAD_ENDPOINT, "t", STORE, &[&f]);
    set(&o, "retry", quick_retry(1));
    let up = ReadSetUploader::new(o.unchecked_into()).unwrap();
    let first = promise(up.start());
    let err = rejection(promise(up.start())).await;
    assert!(expect_error(&err, "invalid_input").contains("already called"));
    expect_error(&rejection(first).await, "network");
}

#[wasm_bindgen_test]
async fn a_fastq_that_is_not_gzip_is_refused_before_any_request() {
    let f = file("plain.fastq.gz", &fastq(5, 1, 1));
    let o = upload_options(DEAD_ENDPOINT, "t", STORE, &[&f]);
    let err = rejection(promise(upload_read_set(o.unchecked_into()))).await;
    assert!(expect_error(&err, "invalid_input").contains("is not gzip-compressed"));
}

fn dead_store_client() -> SequenceStoreClient {
    let o = Object::new();
    set(&o, "endpoint", DEAD_ENDPOINT);
    set(&o, "sequenceStoreId", STORE);
    SequenceStoreClient::new(o.unchecked_into()).unwrap()
}

fn obj(pairs: &[(&str, JsValue)]) -> Object {
    let o = Object::new();
    for (k, v) in pairs {
        set(&o, k, v.clone());
    }
    o
}

fn ids(list: &[&str]) -> JsValue {
    list.iter().map(|s| JsValue::from_str(s)).collect::<js_sys::Array>().into()
}

#[wasm_bindgen_test]
async fn viewer_calls_check_their_options_before_any_request() {
    let client = dead_store_client();
    // Each would reach the dead endpoint (`network`) if the check did not run first.
    let cases: Vec<(js_sys::Promise, &str)> = vec![
        (promise(client.start_export_job(obj(&[("readSetIds", ids(&[])), ("destination", "s3://b/p/".into())]).unchecked_into())), "1 to 100 read set IDs (got 0)"),
        (promise(client.start_export_job(obj(&[("readSetIds", ids(&["1234567890"])), ("destination", "/tmp/x".into())]).unchecked_into())), "`destination` must be an S3 folder"),
        (promise(client.start_export_job(obj(&[("readSetIds", ids(&["1234567890"]))]).unchecked_into())), "`destination` is required"),
        (promise(client.start_export_job(obj(&[("readSetIds", ids(&["1234567890"])), ("destination", "s3://b/p/".into()), ("roleArn", "admin".into())]).unchecked_into())), "`roleArn` must be an IAM role ARN"),
        (promise(client.start_activation_job(obj(&[("readSetIds", ids(&["12"]))]).unchecked_into())), "`readSetIds[]` must be 10 to 36 digits"),
        (promise(client.start_activation_job(obj(&[("readSetIds", ids(&["1234567890"])), ("destination", "s3://b/".into())]).unchecked_into())), "unknown field `destination`"),
        (promise(client.start_import_job(obj(&[("sources", ids(&[]))]).unchecked_into())), "1 to 100 items (got 0)"),
        (promise(client.wait_for_job("1234567890".into(), obj(&[]).unchecked_into())), "invalid waitForJob options"),
        (promise(client.wait_for_job("1234567890".into(), obj(&[("kind", "exports".into())]).unchecked_into())), "`kind` must be \"import\", \"export\" or \"activation\""),
        (promise(client.wait_for_job("1234567890".into(), obj(&[("kind", "export".into()), ("pollIntervalMs", 5.into())]).unchecked_into())), "`pollIntervalMs` must be 100 to 300000"),
        (promise(client.preview_read_set("1234567890".into(), Some(obj(&[("maxReads", 0.into())]).unchecked_into()))), "`maxReads` must be 1 to 1000"),
        (promise(client.download_read_set("1234567890".into(), Some(obj(&[("file", "SOURCE3".into())]).unchecked_into()))), "`file` must be \"SOURCE1\", \"SOURCE2\" or \"INDEX\""),
        (promise(client.download_read_set("1234567890".into(), Some(obj(&[("writable", "disk".into())]).unchecked_into()))), "`writable` must be a WritableStream"),
        (promise(client.download_read_set("12".into(), None)), "`readSetId` must be 10 to 36 digits"),
        (promise(client.download_read_set("1234567890".into(), Some(obj(&[("stallTimeoutMs", 0.into())]).unchecked_into()))), "`stallTimeoutMs` must be 1000 to 600000"),
        (promise(client.preview_read_set("1234567890".into(), Some(obj(&[("stallTimeoutMs", 10_000_000.into())]).unchecked_into()))), "`stallTimeoutMs` must be 1000 to 600000"),
    ];
    for (p, want) in cases {
        let err = rejection(p).await;
        let msg = expect_error(&err, "invalid_input");
        assert!(msg.contains(want), "wanted {want:?} in {msg:?}");
    }
}

#[wasm_bindgen_test]
fn iterators_refuse_a_page_token_and_a_bad_page_size_when_called() {
    let client = dead_store_client();
    let e = client.read_sets(Some(obj(&[("nextToken", "x".into())]).unchecked_into())).err().expect("nextToken refused");
    assert!(expect_error(&e, "invalid_input").contains("unknown field `nextToken` in iterator options"));
    let e = client.export_jobs(Some(obj(&[("maxResults", 101.into())]).unchecked_into())).err().expect("maxResults refused");
    assert!(expect_error(&e, "invalid_input").contains("`maxResults` must be 1 to 100"));
    let e = client.uploads(Some(obj(&[("filter", Object::new().into())]).unchecked_into())).err().expect("filter refused");
    assert!(expect_error(&e, "invalid_input").contains("takes no `filter`"));
    let e = client.upload_parts("1234567890".into(), JsValue::from_str("SOURCE9").unchecked_into(), None).err().expect("source refused");
    assert!(expect_error(&e, "invalid_input").contains("`partSource` must be"));
}

#[wasm_bindgen_test]
async fn an_iterator_retries_then_rejects_with_the_network_error_on_its_first_page() {
    let o = Object::new();
    set(&o, "endpoint", DEAD_ENDPOINT);
    set(&o, "sequenceStoreId", STORE);
    set(&o, "retry", quick_retry(2));
    let client = SequenceStoreClient::new(o.unchecked_into()).unwrap();
    let iterable: JsValue = client.read_sets(None).unwrap().into();
    let make = js_sys::Reflect::get(&iterable, &js_sys::Symbol::async_iterator()).unwrap();
    let iterator = make.unchecked_ref::<js_sys::Function>().call0(&iterable).unwrap();
    let next = js_sys::Reflect::get(&iterator, &"next".into()).unwrap();
    let p: js_sys::Promise = next.unchecked_ref::<js_sys::Function>().call0(&iterator).unwrap().unchecked_into();
    let err = rejection(p).await;
    expect_error(&err, "network");
    assert_eq!(get_f64(&err, "attempts"), 2.0);
    assert_eq!(get_str(&err, "operation"), "ListReadSets");
}

#[wasm_bindgen_test]
fn the_seven_bridges_client_checks_its_options() {
    use readset_upload::web::sbg_api::SevenBridgesClient;
    let e = SevenBridgesClient::new(obj(&[("endpoint", "ftp://x".into())]).unchecked_into()).err().expect("endpoint refused");
    expect_error(&e, "invalid_input");
    let client = SevenBridgesClient::new(obj(&[("endpoint", "http://127.0.0.1:9/sbg/v2".into())]).unchecked_into()).unwrap();
    let e = client.files(obj(&[]).unchecked_into()).err().expect("project required");
    assert!(expect_error(&e, "invalid_input").contains("`project` is required"));
    let e = client.files(obj(&[("project", "no-slash".into())]).unchecked_into()).err().expect("bad project");
    expect_error(&e, "invalid_input");
    let e = client.files(obj(&[("project", "a/b".into()), ("offset", 5.into())]).unchecked_into()).err().expect("offset is listFiles only");
    assert!(expect_error(&e, "invalid_input").contains("unknown field `offset`"));
}

// The package reads JSON with the engine's JSON.parse and serde-wasm-bindgen
// (`readset_upload::json`): the answers the engine reads must come out as serde_json made them.
#[wasm_bindgen_test]
fn json_in_the_browser_reads_answers_as_serde_json_does() {
    use readset_upload::json::from_str;
    use readset_upload::omics::{parse, CreateUploadResponse};
    let body = r#"{"sequenceStoreId":"1234567890","uploadId":"5555555555","sourceFileType":"FASTQ","subjectId":"s","sampleId":"x","name":"n","creationTime":"2026-01-01T00:00:00Z","unknownField":[1,2,{"a":null}]}"#;
    let a: CreateUploadResponse = parse("CreateMultipartReadSetUpload", body).unwrap();
    assert_eq!(a.upload_id, "5555555555");
    let v: serde_json::Value = from_str(r#"{"size":9007199254740991,"neg":-3,"f":1.5,"n":null,"s":"é\u0000","a":[true]}"#).unwrap();
    assert_eq!(v["size"].as_u64(), Some(9_007_199_254_740_991), "integers up to 2^53 - 1 stay exact");
    assert_eq!(v["neg"].as_i64(), Some(-3));
    assert_eq!(v["f"].as_f64(), Some(1.5));
    assert!(v["n"].is_null());
    assert_eq!(v["s"].as_str(), Some("é\u{0}"));
    assert_eq!(v["a"][0].as_bool(), Some(true));
    let e = parse::<CreateUploadResponse>("CreateMultipartReadSetUpload", "{\"uploadId\":").unwrap_err();
    assert_eq!(e.kind, readset_upload::ErrorKind::Protocol, "truncated JSON is a protocol error: {e}");
    let e = parse::<CreateUploadResponse>("CreateMultipartReadSetUpload", r#"{"uploadId":5}"#).unwrap_err();
    assert!(e.to_string().contains("unexpected response body"), "a field of the wrong type is refused: {e}");
}
