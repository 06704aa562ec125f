//! The browser side: the upload engine and the JS API (wasm only).
//!
//! - [`api`]: the `#[wasm_bindgen]` exports and their TypeScript types (`types.d.ts`).
//! - [`engine`]: create/resume, hash, upload in parallel, complete, wait, verify.
//! - [`client`]: JSON calls with retries; [`http`]: XHR transport; [`timer`]: `setTimeout`.
//! - [`control`]: pause / resume / abort; [`progress`]: counters and `onProgress` events.
//! - [`persist`]: upload state in IndexedDB (resume after reload); [`online`]: offline waits.
//! - [`sbg`]: the Seven Bridges upload engine; [`sbg_api`]: its JS API (`SevenBridgesUploader`).
//! - [`js_error`]: errors as JS `Error` objects with a `code`.
//! - [`pool`]: hashing in Web Workers (one per core), main-thread fallback.
//! - [`hashing`]: `Hasher` and `FastqEtagHasher` for JS (portals, the benchmark).

pub mod api;
pub mod client;
pub mod control;
pub mod engine;
pub mod hashing;
pub mod http;
pub mod js_error;
pub mod online;
pub mod persist;
pub mod pool;
pub mod progress;
pub mod resume_api;
pub mod sbg;
pub mod sbg_api;
pub mod timer;
