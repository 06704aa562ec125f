//! Progress accounting and the `onProgress` events.
//!
//! Counters (bytes hashed, bytes uploaded, parts done), per-part state for the parts being
//! worked on, and throughput over a sliding window. Part state changes are reported at once;
//! byte progress inside a part (XHR upload events) at most every [`BYTE_EVENT_INTERVAL_MS`].

use std::cell::RefCell;
use std::collections::{BTreeMap, VecDeque};

use js_sys::Function;
use serde::Serialize;
use wasm_bindgen::JsValue;

use super::timer::now_ms;
use crate::plan::{Part, Source};

/// Least time between two byte-progress events.
pub const BYTE_EVENT_INTERVAL_MS: f64 = 100.0;
/// Window over which throughput is measured.
pub const THROUGHPUT_WINDOW_MS: f64 = 5000.0;

pub use crate::upload::io::PartState;

/// One part as reported to JS.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PartProgress {
    /// `SOURCE1` or `SOURCE2`.
    pub source: Source,
    /// Part number.
    pub number: u32,
    /// Part size in bytes.
    pub size: u64,
    /// Current state.
    pub state: PartState,
    /// Bytes of the body sent in the current attempt.
    pub bytes_sent: u64,
    /// Attempts started.
    pub attempts: u32,
}

pub use crate::upload::io::Phase;

/// The object passed to `onProgress`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProgressEvent<'a> {
    phase: Phase,
    upload_id: Option<&'a str>,
    paused: bool,
    bytes_total: u64,
    bytes_hashed: u64,
    bytes_uploaded: u64,
    parts_total: usize,
    parts_done: usize,
    throughput: f64,
    parts: Vec<&'a PartProgress>,
    changed: Option<&'a PartProgress>,
}

struct Inner {
    phase: Phase,
    upload_id: Option<String>,
    paused: bool,
    bytes_total: u64,
    bytes_hashed: u64,
    bytes_done: u64,
    parts_total: usize,
    parts_done: usize,
    active: BTreeMap<(Source, u32), PartProgress>,
    samples: VecDeque<(f64, u64)>,
    last_byte_event: f64,
}

/// Progress state of one upload plus the JS callback.
pub struct Progress {
    inner: RefCell<Inner>,
    callback: Option<Function>,
}

impl Progress {
    /// Progress for `parts_total` parts of `bytes_total` bytes, reported to `callback`.
    pub fn new(bytes_total: u64, parts_total: usize, callback: Option<Function>) -> Self {
        Progress {
            inner: RefCell::new(Inner {
                phase: Phase::Preparing,
                upload_id: None,
                paused: false,
                bytes_total,
                bytes_hashed: 0,
                bytes_done: 0,
                parts_total,
                parts_done: 0,
                active: BTreeMap::new(),
                samples: VecDeque::new(),
                last_byte_event: 0.0,
            }),
            callback,
        }
    }

    /// Sets the phase and reports it.
    pub fn phase(&self, phase: Phase) {
        self.inner.borrow_mut().phase = phase;
        self.emit(None);
    }

    /// Sets the number of parts, once the server has fixed the part size (Seven Bridges).
    pub fn parts_total(&self, parts_total: usize) {
        self.inner.borrow_mut().parts_total = parts_total;
    }

    /// Records the upload ID.
    pub fn upload_id(&self, id: &str) {
        self.inner.borrow_mut().upload_id = Some(id.to_string());
    }

    /// Records pause / resume and reports it.
    pub fn paused(&self, paused: bool) {
        self.inner.borrow_mut().paused = paused;
        self.emit(None);
    }

    /// Bytes hashed so far (all sources).
    pub fn hashed(&self, bytes: u64) {
        self.inner.borrow_mut().bytes_hashed += bytes;
        self.emit_bytes();
    }

    /// Bytes uploaded so far: confirmed parts plus the current attempts' sent bytes.
    pub fn bytes_uploaded(&self) -> u64 {
        let i = self.inner.borrow();
        uploaded(&i)
    }

    /// Sets a part's state (and resets its sent bytes when a new attempt starts) and reports it.
    pub fn part(&self, part: &Part, state: PartState) {
        let key = (part.source, part.number);
        {
            let mut i = self.inner.borrow_mut();
            let entry = i.active.entry(key).or_insert(PartProgress {
                source: part.source,
                number: part.number,
                size: part.len(),
                state,
                bytes_sent: 0,
                attempts: 0,
            });
            entry.state = state;
            if state == PartState::Uploading {
                entry.attempts += 1;
                entry.bytes_sent = 0;
            }
            if matches!(state, PartState::Retrying) {
                entry.bytes_sent = 0;
            }
            if matches!(state, PartState::Done | PartState::Skipped) {
                i.bytes_done += part.len();
                i.parts_done += 1;
            }
            let now = now_ms();
            sample(&mut i, now);
        }
        self.emit(Some(key));
        if matches!(state, PartState::Done | PartState::Skipped | PartState::Failed) {
            self.inner.borrow_mut().active.remove(&key);
        }
    }

    /// Bytes of a part's body sent in its current attempt (XHR upload progress).
    pub fn part_bytes(&self, part: &Part, sent: u64) {
        if let Some(p) = self.inner.borrow_mut().active.get_mut(&(part.source, part.number)) {
            p.bytes_sent = sent.min(p.size);
        }
        self.emit_bytes();
    }

    fn emit_bytes(&self) {
        let now = now_ms();
        {
            let mut i = self.inner.borrow_mut();
            sample(&mut i, now);
            if now - i.last_byte_event < BYTE_EVENT_INTERVAL_MS {
                return;
            }
        }
        self.emit(None);
    }

    fn emit(&self, changed: Option<(Source, u32)>) {
        let Some(cb) = &self.callback else { return };
        let value = {
            let mut i = self.inner.borrow_mut();
            i.last_byte_event = now_ms();
            let i = &*i;
            let event = ProgressEvent {
                phase: i.phase,
                upload_id: i.upload_id.as_deref(),
                paused: i.paused,
                bytes_total: i.bytes_total,
                bytes_hashed: i.bytes_hashed,
                bytes_uploaded: uploaded(i),
                parts_total: i.parts_total,
                parts_done: i.parts_done,
                throughput: throughput(i),
                parts: i.active.values().filter(|p| p.state != PartState::Pending).collect(),
                changed: changed.and_then(|k| i.active.get(&k)),
            };
            event.serialize(&serde_wasm_bindgen::Serializer::json_compatible()).unwrap_or(JsValue::NULL)
        };
        // A throwing callback must not break the upload.
        let _ = cb.call1(&JsValue::NULL, &value);
    }
}

fn uploaded(i: &Inner) -> u64 {
    let in_flight: u64 = i
        .active
        .values()
        .filter(|p| p.state == PartState::Uploading)
        .map(|p| p.bytes_sent)
        .sum();
    i.bytes_done + in_flight
}

fn sample(i: &mut Inner, now: f64) {
    let total = uploaded(i);
    i.samples.push_back((now, total));
    while i.samples.len() > 2 && now - i.samples[1].0 > THROUGHPUT_WINDOW_MS {
        i.samples.pop_front();
    }
    while i.samples.len() > 1000 {
        i.samples.pop_front();
    }
}

/// Bytes per second over the window; bytes dropped by a retry can make the raw difference
/// negative, which is reported as 0.
fn throughput(i: &Inner) -> f64 {
    match (i.samples.front(), i.samples.back()) {
        (Some(&(t0, b0)), Some(&(t1, b1))) if t1 - t0 > 0.0 => {
            ((b1 as f64 - b0 as f64) / ((t1 - t0) / 1000.0)).max(0.0)
        }
        _ => 0.0,
    }
}
