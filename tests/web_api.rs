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
