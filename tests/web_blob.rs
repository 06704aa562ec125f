//! Browser tests: reading and hashing `Blob` slices in headless Chromium.
#![cfg(target_arch = "wasm32")]

use js_sys::{Array, Uint8Array};
use readset_upload::blob::{for_each_chunk, sha256_hex};
use wasm_bindgen_test::*;
use web_sys::Blob;

wasm_bindgen_test_configure!(run_in_browser);

fn blob_of(bytes: &[u8]) -> Blob {
    let parts = Array::new();
    parts.push(&Uint8Array::from(bytes));
    Blob::new_with_u8_array_sequence(&parts).unwrap()
}

#[wasm_bindgen_test]
async fn sha256_of_a_blob_read_in_slices_equals_the_known_digest() {
    // One million 'a': the FIPS 180-2 long test vector.
    let blob = blob_of(&vec![b'a'; 1_000_000]);
    let hex = sha256_hex(&blob, 0, 1_000_000).await.unwrap();
    assert_eq!(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

#[wasm_bindgen_test]
async fn chunks_cover_the_range_exactly_once_in_order() {
    let data: Vec<u8> = (0..=255u8).cycle().take(10_000).collect();
    let blob = blob_of(&data);
    let mut seen = Vec::new();
    let mut sizes = Vec::new();
    for_each_chunk(&blob, 100, 9_100, 4096, |b| {
        sizes.push(b.len());
        seen.extend_from_slice(b);
    })
    .await
    .unwrap();
    assert_eq!(sizes, vec![4096, 4096, 808]);
    assert_eq!(seen, &data[100..9_100]);
}
