//! Reading `Blob` / `File` objects in bounded slices (wasm only).

use js_sys::Uint8Array;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::Blob;

use crate::hash::Sha256Hasher;

/// Default size of one read from a `Blob` into wasm memory: 4 MiB. Memory held for hashing
/// is bounded by this, whatever the file or part size.
pub const READ_CHUNK: u64 = 4 * 1024 * 1024;

/// Size of a blob in bytes, as `u64`.
pub fn blob_size(blob: &Blob) -> u64 {
    // Blob sizes are whole numbers below 2^53, so the conversion is exact.
    blob.size() as u64
}

/// Reads bytes `start..end` of `blob` into a new `Vec`.
pub async fn read_range(blob: &Blob, start: u64, end: u64) -> Result<Vec<u8>, JsValue> {
    let slice = blob.slice_with_f64_and_f64(start as f64, end as f64)?;
    let buf = JsFuture::from(slice.array_buffer()).await?;
    let array = Uint8Array::new(buf.unchecked_ref());
    Ok(array.to_vec())
}

/// Calls `each` with consecutive chunks of at most `chunk` bytes covering `start..end`.
pub async fn for_each_chunk(
    blob: &Blob,
    start: u64,
    end: u64,
    chunk: u64,
    mut each: impl FnMut(&[u8]),
) -> Result<(), JsValue> {
    let chunk = chunk.max(1);
    let mut at = start;
    while at < end {
        let next = (at + chunk).min(end);
        let bytes = read_range(blob, at, next).await?;
        each(&bytes);
        at = next;
    }
    Ok(())
}

/// Lowercase hex SHA-256 of bytes `start..end` of `blob`, read in [`READ_CHUNK`] slices.
pub async fn sha256_hex(blob: &Blob, start: u64, end: u64) -> Result<String, JsValue> {
    let mut hasher = Sha256Hasher::new();
    for_each_chunk(blob, start, end, READ_CHUNK, |b| hasher.update(b)).await?;
    Ok(hasher.finish_hex())
}
