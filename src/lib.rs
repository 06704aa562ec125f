//! # readset-upload
//!
//! Upload sequencing data (gzipped FASTQ pairs, BAM, CRAM, uBAM) from the browser into an
//! AWS HealthOmics sequence store through a signing proxy, or into a Seven Bridges / CAVATICA
//! project through signed part URLs.
//!
//! The crate is split the way a reader would look for things:
//!
//! - [`plan`]: pure part planning (sizes, numbers, sources), tested natively.
//! - [`hash`]: incremental hashers used for part checksums and read set ETags.
//! - [`blob`] (wasm only): reading `Blob`/`File` objects in bounded slices.
//!
//! Everything that touches `JsValue`, `web_sys` or timers lives in boundary modules; the
//! protocol logic is plain Rust so most of it is tested with `cargo test` in milliseconds.
#![deny(missing_docs)]

pub mod hash;
pub mod plan;

#[cfg(target_arch = "wasm32")]
pub mod blob;

pub use plan::{plan_parts, Part, PlanError, Source, MAX_PARTS, MAX_PART_SIZE};

use wasm_bindgen::prelude::*;

/// The version of this package, as in `Cargo.toml`.
#[wasm_bindgen]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}
