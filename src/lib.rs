//! # readset-upload
//!
//! Upload sequencing data (gzipped FASTQ pairs, BAM, CRAM, uBAM) from the browser into an
//! AWS HealthOmics sequence store through a signing proxy, or into a Seven Bridges / CAVATICA
//! project through signed part URLs.
//!
//! The crate is split the way a reader would look for things:
//!
//! - [`upload`]: the one upload engine: a platform-free driver owning the part loop (retries,
//!   `Retry-After`, pause/resume/abort, stall detection, offline waits, adaptive concurrency,
//!   confirmed parts, completion), generic over a target (HealthOmics, Seven Bridges) and over
//!   I/O traits; the page's one request queue; tested natively with a fake transport and clock.
//! - [`plan`]: pure part planning (sizes, numbers, sources), tested natively.
//! - [`hash`]: incremental hashers used for part checksums and read set ETags.
//! - [`validate`]: input checks before any network call.
//! - [`omics`]: HealthOmics requests and responses as plain data.
//! - [`retry`]: retry decisions and jittered exponential backoff.
//! - [`adaptive`]: adaptive part concurrency (429 lowers it, successes raise it).
//! - [`sbg`]: Seven Bridges upload requests and responses, report batching, rate limits.
//! - [`complete`]: the Complete part list, from confirmed parts only.
//! - [`etag`]: the whole-source FASTQ ETag (gzip decompression + MD5/SHA-256/SHA-512).
//! - [`gzip`]: streaming gunzip of concatenated members and the CRC-32 that checks them.
//! - [`preview`]: read set previews from streamed bytes: the first FASTQ reads (gzip or plain),
//!   the BAM / uBAM / CRAM header; bounded memory, clear errors on bad or truncated data.
//! - [`error`]: the one error type and its JS codes.
//! - [`kernel`]: the hashing kernel Web Workers run (raw `rsu_*` exports of the same wasm).
//! - `blob` (wasm only): reading `Blob`/`File` objects in bounded slices.
//! - `web` (wasm only): the JS API (`ReadSetUploader`, `uploadReadSet`, `SevenBridgesUploader`,
//!   `SequenceStoreClient`, `configureRequestQueue`, resume helpers) and the driver's I/O on the
//!   browser: XHR, timers, `navigator.onLine`, IndexedDB, the hashing worker pool, progress.
//!
//! Everything that touches `JsValue`, `web_sys` or timers lives in `web`; the protocol logic and
//! the whole upload orchestration are plain Rust, tested with `cargo test` in milliseconds.
#![deny(missing_docs)]
// One error type carries the context JS needs (status, operation, part, ids); failures are
// rare next to the I/O around them, so its size on 64-bit hosts does not matter.
#![allow(clippy::result_large_err)]

pub mod adaptive;
pub mod complete;
pub mod error;
pub mod etag;
pub mod gzip;
pub mod hash;
pub mod json;
pub mod kernel;
pub mod omics;
pub mod plan;
pub mod preview;
pub mod retry;
pub mod sbg;
pub mod upload;
pub mod validate;

#[cfg(target_arch = "wasm32")]
pub mod blob;
#[cfg(target_arch = "wasm32")]
pub mod web;

pub use error::{Error, ErrorKind};
pub use plan::{plan_parts, Part, PlanError, Source, MAX_PARTS, MAX_PART_SIZE};

use wasm_bindgen::prelude::*;

/// The version of this package, as in `Cargo.toml`.
#[wasm_bindgen]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}
