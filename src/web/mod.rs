//! The browser side (wasm only): the JS API over the platform-free driver ([`crate::upload`]),
//! and the driver's I/O traits implemented with browser APIs.
//!
//! - [`api`]: `ReadSetUploader`, `uploadReadSet`, `SequenceStoreClient` and their TypeScript
//!   types (`types.d.ts`); [`sbg_api`]: `SevenBridgesUploader`, `uploadToSevenBridges`;
//!   [`resume_api`]: `findResumableUploads`, `listAbandonedUploads`, `abortUpload`.
//! - [`handle`]: the one JS handle under both uploaders (start, pause, resume, abort, state).
//! - [`io`]: the driver's I/O on the browser, and the page's one request queue
//!   (`configureRequestQueue`).
//! - [`http`]: XHR transport; [`timer`]: `setTimeout`; [`online`]: `navigator.onLine`.
//! - [`client`]: HealthOmics JSON calls for the listing functions.
//! - [`viewer`]: jobs (start, wait), listings as async iterables, read set previews and
//!   downloads (streamed GetReadSet parts).
//! - [`control`]: pause / resume / abort (the driver's); [`progress`]: `onProgress` events.
//! - [`persist`]: upload state in IndexedDB (resume after reload).
//! - [`js_error`]: errors as JS `Error` objects with a `code`.
//! - [`pool`]: hashing in Web Workers (one per core), main-thread fallback.
//! - [`hashing`]: `Hasher` and `FastqEtagHasher` for JS (portals, the benchmark).

pub mod api;
pub mod client;
pub mod control;
pub mod handle;
pub mod hashing;
pub mod http;
pub mod io;
pub mod js_error;
pub mod online;
pub mod persist;
pub mod pool;
pub mod progress;
pub mod resume_api;
pub mod sbg_api;
pub mod timer;
pub mod viewer;
