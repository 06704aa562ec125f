//! One upload engine for every target, platform-free.
//!
//! - [`driver`]: the one part loop ([`driver::Upload`]), generic over a [`driver::Target`]
//!   (what differs between services) and an [`io::Io`] (what differs between platforms).
//! - [`healthomics`], [`sevenbridges`]: the two targets.
//! - [`queue`]: the page's one request queue (priorities, a concurrency cap, throttling
//!   pauses it for every upload).
//! - [`call`]: the one retry loop for API calls.
//! - [`control`]: pause / resume / abort.
//! - [`io`]: the platform traits (transport, clock, online state, hashing, persistence,
//!   progress events).
//!
//! Nothing here touches `JsValue` or `web_sys`: `cargo test` runs it natively against scripted
//! fakes (see the tests module), in milliseconds.

pub mod call;
pub mod control;
pub mod driver;
pub mod healthomics;
pub mod io;
pub mod queue;
pub mod sevenbridges;

#[cfg(test)]
mod tests;
