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

/// The resume fingerprint: SHA-256 of the first MiB followed by the last MiB (the whole file
/// when it is smaller), the same whoever hashes it (WebCrypto here, the wasm kernel where a page
/// has no `crypto.subtle`), so records saved by earlier versions still match.
#[wasm_bindgen_test]
async fn the_fingerprint_hashes_the_first_and_last_mib_as_before() {
    use readset_upload::hash::Sha256Hasher;
    use readset_upload::web::persist::fingerprint;
    const MIB: usize = 1 << 20;
    let data: Vec<u8> = (0..3 * MIB + 12_345).map(|i| (i * 31 % 251) as u8).collect();
    let mut want = Sha256Hasher::new();
    want.update(&data[..MIB]);
    want.update(&data[data.len() - MIB..]);
    let f = fingerprint(&blob_of(&data)).await.unwrap();
    assert_eq!((f.size, f.edge_sha256.as_str()), (data.len() as u64, want.finish_hex().as_str()));

    // Smaller than two MiB: the head, then what is left (no byte twice).
    let small = &data[..MIB + 10];
    let mut want = Sha256Hasher::new();
    want.update(small);
    assert_eq!(fingerprint(&blob_of(small)).await.unwrap().edge_sha256, want.finish_hex());
    let tiny = b"@r\nACGT\n+\nIIII\n";
    assert_eq!(fingerprint(&blob_of(tiny)).await.unwrap().edge_sha256, sha256_hex(&blob_of(tiny), 0, tiny.len() as u64).await.unwrap());
}

/// The page keeps one IndexedDB connection for its records (issue 19: opening one per write
/// cost about 2 ms a part), and it does not block another tab or a test deleting the database:
/// the kept connection closes on `versionchange`, the delete goes through, and the next save
/// opens the database again.
#[wasm_bindgen_test]
async fn the_kept_records_connection_gives_way_to_a_delete_and_reopens() {
    use readset_upload::web::persist::{all, load, remove, save, SavedUpload};
    use wasm_bindgen::{closure::Closure, JsCast, JsValue};
    let rec = |key: &str| SavedUpload {
        key: key.into(), endpoint: "http://127.0.0.1:9/omics".into(), sequence_store_id: "1234567890".into(),
        upload_id: "5555555555".into(), part_size: 1 << 20, files: Vec::new(), name: None, created_ms: 1.0,
        parts_confirmed: 3, bytes_confirmed: 3 << 20, upload_grant: None, target: None,
    };
    save(&rec("kept-1")).await.unwrap();
    save(&rec("kept-2")).await.unwrap();
    assert_eq!(load("kept-1").await.unwrap().map(|r| r.parts_confirmed), Some(3));

    // deleteDatabase waits for every open connection to close: it succeeds (and is not only
    // `blocked`) because the kept one closes on the versionchange event.
    let factory: web_sys::IdbFactory = js_sys::Reflect::get(&js_sys::global(), &"indexedDB".into()).unwrap().unchecked_into();
    let req = factory.delete_database("readset-upload").unwrap();
    let outcome = js_sys::Promise::new(&mut |resolve, _| {
        let ok = resolve.clone();
        let on_ok = Closure::once_into_js(move || { let _ = ok.call1(&JsValue::NULL, &"deleted".into()); });
        let on_blocked = Closure::once_into_js(move || { let _ = resolve.call1(&JsValue::NULL, &"blocked".into()); });
        req.set_onsuccess(Some(on_ok.unchecked_ref()));
        req.set_onblocked(Some(on_blocked.unchecked_ref()));
    });
    assert_eq!(wasm_bindgen_futures::JsFuture::from(outcome).await.unwrap().as_string().as_deref(), Some("deleted"));

    // The records went with the database; saving opens it again.
    assert!(load("kept-1").await.unwrap().is_none());
    save(&rec("kept-3")).await.unwrap();
    assert_eq!(all().await.unwrap().iter().map(|r| r.key.as_str()).collect::<Vec<_>>(), ["kept-3"]);
    remove("kept-3").await.unwrap();
    assert!(all().await.unwrap().is_empty());
}
