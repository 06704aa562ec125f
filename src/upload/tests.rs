//! The driver against scripted fakes: a fake clock (time moves only when every task waits),
//! a fake transport answering from a script, fake online state, hashing and persistence.
//! Every test asserts the exact requests made, in order, and what was completed.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Poll, Waker};

use futures::executor::LocalPool;
use futures::task::LocalSpawnExt;
use serde_json::{json, Value};

use super::control::Control;
use super::driver::{Settings, Upload};
use super::healthomics::HealthOmics;
use super::io::*;
use super::queue::{Priority, QueueConfig, RequestQueue};
use super::sevenbridges::SevenBridges;
use crate::error::Error;
use crate::etag::{Etag, EtagFamily};
use crate::plan::{Part, Source};


// ---- the simulated world -------------------------------------------------------------------

#[derive(Default)]
struct Sim {
    now: Cell<f64>,
    timers: RefCell<Vec<(f64, Waker)>>,
    online: Cell<bool>,
}

impl Sim {
    fn new() -> Rc<Sim> {
        let s = Sim { online: Cell::new(true), ..Default::default() };
        s.now.set(1_000_000.0);
        Rc::new(s)
    }

    fn elapsed(&self) -> f64 {
        self.now.get() - 1_000_000.0
    }

    fn sleep(self: &Rc<Self>, ms: u64) -> impl Future<Output = ()> {
        let deadline = self.now.get() + ms as f64;
        let sim = self.clone();
        futures::future::poll_fn(move |cx| {
            if sim.now.get() >= deadline {
                Poll::Ready(())
            } else {
                sim.timers.borrow_mut().push((deadline, cx.waker().clone()));
                Poll::Pending
            }
        })
    }

    /// Runs `fut` (and `side` tasks) to completion, moving time forward whenever all wait.
    fn run<T: 'static>(self: &Rc<Self>, fut: impl Future<Output = T> + 'static, side: Vec<Pin<Box<dyn Future<Output = ()>>>>) -> T {
        let mut pool = LocalPool::new();
        let out = Rc::new(RefCell::new(None));
        let o = out.clone();
        pool.spawner().spawn_local(async move { *o.borrow_mut() = Some(fut.await) }).unwrap();
        for s in side {
            pool.spawner().spawn_local(s).unwrap();
        }
        for _ in 0..1_000_000 {
            pool.run_until_stalled();
            if let Some(v) = out.borrow_mut().take() {
                return v;
            }
            let next = self.timers.borrow().iter().map(|(t, _)| *t).fold(f64::INFINITY, f64::min);
            assert!(next.is_finite(), "deadlock: nothing runs and no timer is set");
            self.now.set(self.now.get().max(next));
            let now = self.now.get();
            let due: Vec<Waker> = {
                let mut timers = self.timers.borrow_mut();
                let (due, keep): (Vec<_>, Vec<_>) = timers.drain(..).partition(|(t, _)| *t <= now);
                *timers = keep;
                due.into_iter().map(|(_, w)| w).collect()
            };
            for w in due {
                w.wake();
            }
        }
        panic!("the simulation did not finish");
    }
}

/// What the fake server answers to one request.
#[derive(Clone)]
enum Reply {
    Json(u16, Value),
    Text(u16, &'static str),
    WithHeaders(u16, Value, Vec<(&'static str, String)>),
    After(u64, Box<Reply>),
    /// No answer and no progress, ever.
    Stall,
    /// The connection breaks mid-body.
    Drop,
    /// The device goes offline (the request fails) and comes back after this many ms.
    Offline(u64),
}

type Script = Box<dyn FnMut(&str, &HttpRequest) -> Option<Reply>>;

struct Fake {
    sim: Rc<Sim>,
    /// One line per request, `METHOD path?query`, in the order they were sent.
    log: Rc<RefCell<Vec<String>>>,
    /// Request bodies by log line index.
    bodies: Rc<RefCell<Vec<Option<Value>>>>,
    /// Answers given before the default ones; `None` falls through.
    script: RefCell<Script>,
    default: fn(&str, &HttpRequest) -> Reply,
    saved: RefCell<Option<Saved>>,
    forgotten: RefCell<Vec<String>>,
    states: RefCell<Vec<String>>,
    /// Part numbers hashed, in order (one entry per SHA-256 computed).
    hashed: RefCell<Vec<u32>>,
}

impl Fake {
    fn new(sim: &Rc<Sim>, default: fn(&str, &HttpRequest) -> Reply, script: Script) -> Fake {
        Fake {
            sim: sim.clone(),
            log: Rc::default(),
            bodies: Rc::default(),
            script: RefCell::new(script),
            default,
            saved: RefCell::default(),
            forgotten: RefCell::default(),
            states: RefCell::default(),
            hashed: RefCell::default(),
        }
    }
}

fn path_of(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.find('/').map_or("/".to_string(), |i| rest[i..].to_string())
}

impl Transport for Fake {
    async fn send(&self, req: &HttpRequest, mut on_progress: Option<Box<dyn FnMut(u64)>>) -> Result<HttpResponse, Error> {
        let line = format!("{} {}", req.method, path_of(&req.url));
        self.log.borrow_mut().push(line.clone());
        self.bodies.borrow_mut().push(match &req.body {
            Body::Json(t) => serde_json::from_str(t).ok(),
            _ => None,
        });
        let scripted = (self.script.borrow_mut())(&line, req);
        let mut reply = scripted.unwrap_or_else(|| (self.default)(&line, req));
        loop {
            match reply {
                Reply::After(ms, r) => {
                    if let (Some(p), Body::Part(part)) = (on_progress.as_mut(), &req.body) {
                        p(part.len() / 2);
                    }
                    self.sim.sleep(ms).await;
                    reply = *r;
                }
                Reply::Stall => futures::future::pending::<()>().await,
                Reply::Drop => return Err(Error::new(crate::ErrorKind::Network, "connection reset")),
                Reply::Offline(ms) => {
                    self.sim.online.set(false);
                    let sim = self.sim.clone();
                    // Back online later: a timer task of the simulation.
                    OFFLINE_UNTIL.with(|u| u.set(sim.now.get() + ms as f64));
                    return Err(Error::new(crate::ErrorKind::Network, "offline"));
                }
                Reply::Json(status, v) => return Ok(respond(req, status, v.to_string(), vec![])),
                Reply::Text(status, t) => return Ok(respond(req, status, t.to_string(), vec![])),
                Reply::WithHeaders(status, v, h) => return Ok(respond(req, status, v.to_string(), h)),
            }
        }
    }
}

thread_local! {
    static OFFLINE_UNTIL: Cell<f64> = const { Cell::new(0.0) };
}

fn respond(req: &HttpRequest, status: u16, body: String, headers: Vec<(&'static str, String)>) -> HttpResponse {
    let find = |name: &str| headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.clone());
    HttpResponse {
        status,
        body,
        error_type: find("x-amzn-ErrorType"),
        retry_after: find("Retry-After"),
        headers: req.read_headers.iter().map(|h| find(h)).collect(),
    }
}

impl Clock for Fake {
    fn now_ms(&self) -> f64 {
        self.sim.now.get()
    }
    async fn sleep(&self, ms: u64) {
        self.sim.sleep(ms).await
    }
}

impl Online for Fake {
    fn is_online(&self) -> bool {
        if !self.sim.online.get() && self.sim.now.get() >= OFFLINE_UNTIL.with(Cell::get) {
            self.sim.online.set(true);
        }
        self.sim.online.get()
    }
    async fn online_or_timeout(&self, ms: u64) {
        let until = OFFLINE_UNTIL.with(Cell::get) - self.sim.now.get();
        self.sim.sleep((until.max(1.0) as u64).min(ms)).await
    }
}

fn sha(part: &Part) -> String {
    format!("{:064x}", (part.number as u64) * 1000 + part.start + if part.source == Source::Source2 { 7 } else { 0 })
}

impl Hashing for Fake {
    async fn part_sha256(&self, part: &Part, on_bytes: Rc<dyn Fn(u64)>) -> Result<String, Error> {
        self.hashed.borrow_mut().push(part.number);
        on_bytes(part.len());
        Ok(sha(part))
    }
    async fn fastq_etag(&self, _source: Source, family: EtagFamily) -> Result<Etag, Error> {
        Ok(Etag { algorithm: family.fastq_algorithm(), hex: "e".into(), uncompressed_bytes: 0 })
    }
    async fn check_contents(&self) -> Result<(), Error> {
        Ok(())
    }
    fn hash_jobs(&self) -> (u32, u32) {
        (0, 0)
    }
    fn hash_parallelism(&self) -> usize {
        1
    }
}

impl Persist for Fake {
    async fn load(&self) -> Option<Saved> {
        self.saved.borrow().clone()
    }
    async fn save(&self, saved: &Saved) {
        *self.saved.borrow_mut() = Some(saved.clone());
    }
    async fn save_part(&self, _part: &Part) {}
    async fn forget(&self, upload_id: &str) {
        self.forgotten.borrow_mut().push(upload_id.to_owned());
        if self.saved.borrow().as_ref().is_some_and(|s| s.upload_id == upload_id) {
            *self.saved.borrow_mut() = None;
        }
    }
}

impl Events for Fake {
    fn phase(&self, _phase: Phase) {}
    fn upload_id(&self, _id: &str) {}
    fn parts_total(&self, _total: usize) {}
    fn part(&self, part: &Part, state: PartState) {
        self.states.borrow_mut().push(format!("{}:{:?}", part.number, state));
    }
    fn part_bytes(&self, _part: &Part, _sent: u64) {}
    fn hashed(&self, _bytes: u64) {}
}


// ---- HealthOmics ---------------------------------------------------------------------------

const STORE: &str = "1234567890";
const UPLOAD: &str = "5555555555";
const READ_SET: &str = "7777777777";
const PART: u64 = 100;

fn ho_default(line: &str, req: &HttpRequest) -> Reply {
    let (method, path) = line.split_once(' ').unwrap();
    match method {
        "POST" if path.ends_with("/upload") => Reply::Json(200, json!({ "uploadId": UPLOAD, "uploadGrant": "g-1" })),
        "POST" if path.contains("/uploads") => Reply::Json(200, json!({ "uploads": [{ "uploadId": UPLOAD, "uploadGrant": "g-1" }] })),
        "PUT" => {
            assert!(req.headers.contains(&(crate::omics::UPLOAD_GRANT_HEADER.to_string(), "g-1".to_string())), "the upload's grant is sent");
            let Body::Part(p) = &req.body else { panic!("a part without its bytes") };
            Reply::Json(200, json!({ "checksum": sha(p) }))
        }
        "POST" if path.contains("/parts") => Reply::Json(200, json!({ "parts": [] })),
        "POST" if path.ends_with("/complete") => Reply::Json(200, json!({ "readSetId": READ_SET })),
        "GET" if path.ends_with("/metadata") => Reply::Json(200, json!({ "id": READ_SET, "status": "ACTIVE" })),
        "DELETE" => Reply::Json(200, json!({})),
        _ => Reply::Json(404, json!({ "message": format!("no route {line}") })),
    }
}

fn ho_upload(sim: &Rc<Sim>, bytes: u64, options: Value, script: Script) -> Rc<Upload<HealthOmics, Fake>> {
    ho_upload_on(sim, bytes, options, script, Rc::new(RequestQueue::default()))
}

fn ho_upload_on(sim: &Rc<Sim>, bytes: u64, options: Value, script: Script, queue: Rc<RequestQueue>) -> Rc<Upload<HealthOmics, Fake>> {
    let mut spec = json!({
        "endpoint": "http://proxy/omics", "token": "t", "sequenceStoreId": STORE, "sourceFileType": "UBAM",
        "name": "n", "subjectId": "s", "sampleId": "x", "partSize": PART, "concurrency": 1,
        "verifyEtag": false, "pollIntervalMs": 100, "retry": { "maxAttempts": 3, "baseDelayMs": 100, "maxDelayMs": 1000, "jitter": false, "seed": 1 },
    });
    for (k, v) in options.as_object().unwrap() {
        spec[k] = v.clone();
    }
    let spec: crate::validate::UploadSpec = serde_json::from_value(spec).unwrap();
    let v = crate::validate::validate(&spec, &[crate::validate::FileInfo { name: "a.bam".into(), size: bytes }], "tok").unwrap();
    let settings = Settings::new(v.concurrency, v.stall_timeout_ms, v.retry.clone(), v.resume, v.upload_id.clone());
    Rc::new(Upload::new(HealthOmics::new(v), Fake::new(sim, ho_default, script), Rc::default(), queue, settings, 1))
}

fn none() -> Script {
    Box::new(|_, _| None)
}

/// Answers `reply` to the `nth` (1-based) request whose log line contains `needle`.
fn nth(needle: &'static str, n: usize, reply: Reply) -> Script {
    let mut seen = 0;
    Box::new(move |line, _| {
        if line.contains(needle) {
            seen += 1;
            if seen == n {
                return Some(reply.clone());
            }
        }
        None
    })
}

fn log(u: &Upload<impl super::driver::Target, Fake>) -> Vec<String> {
    u.io.log.borrow().iter().map(|l| short(l)).collect()
}

/// `PUT part 2 SOURCE1` style short names for the log lines.
fn short(line: &str) -> String {
    let (method, path) = line.split_once(' ').unwrap();
    if let Some(q) = path.split_once("partNumber=") {
        let n = q.1.split('&').next().unwrap();
        return format!("{method} part {n}");
    }
    let tail = path.rsplit('/').next().unwrap();
    let tail = tail.split('?').next().unwrap();
    format!("{method} {tail}")
}

fn completed_parts(u: &Upload<impl super::driver::Target, Fake>) -> Vec<(u64, String)> {
    let log = u.io.log.borrow();
    let i = log.iter().rposition(|l| l.ends_with("/complete")).expect("a Complete request");
    let body = u.io.bodies.borrow()[i].clone().unwrap();
    body["parts"].as_array().unwrap().iter().map(|p| (p["partNumber"].as_u64().unwrap(), p["checksum"].as_str().unwrap().to_string())).collect()
}

fn run_ho(sim: &Rc<Sim>, u: &Rc<Upload<HealthOmics, Fake>>) -> Result<super::healthomics::UploadResult, Error> {
    sim.run(u.clone().run(), vec![])
}

fn part(n: u32) -> Part {
    Part { source: Source::Source1, number: n, start: (n as u64 - 1) * PART, end: n as u64 * PART }
}

#[test]
fn healthomics_creates_sends_each_part_once_completes_the_confirmed_parts_and_waits_for_active() {
    let sim = Sim::new();
    let u = ho_upload(&sim, 3 * PART, json!({}), none());
    let r = run_ho(&sim, &u).unwrap();
    assert_eq!(log(&u), ["POST upload", "PUT part 1", "PUT part 2", "PUT part 3", "POST complete", "GET metadata"]);
    assert_eq!(completed_parts(&u), (1..=3).map(|n| (n as u64, sha(&part(n)))).collect::<Vec<_>>());
    assert_eq!((r.read_set_id.as_str(), r.status.as_str(), r.parts), (READ_SET, "ACTIVE", 3));
    assert_eq!(u.io.forgotten.borrow().as_slice(), [UPLOAD], "a completed upload leaves nothing to resume");
}

#[test]
fn a_500_is_retried_after_the_backoff_delay() {
    let sim = Sim::new();
    let u = ho_upload(&sim, 2 * PART, json!({}), nth("partNumber=1", 1, Reply::Json(500, json!({"message": "boom"}))));
    run_ho(&sim, &u).unwrap();
    // Concurrency 1: part 2 goes out while part 1 waits out its backoff (a waiting part holds no slot).
    assert_eq!(log(&u), ["POST upload", "PUT part 1", "PUT part 2", "PUT part 1", "POST complete", "GET metadata"]);
    assert_eq!(sim.elapsed(), 100.0, "one retry after the base delay, nothing else waited");
}

#[test]
fn a_503_on_every_attempt_fails_after_max_attempts_naming_the_part_and_the_attempts() {
    let sim = Sim::new();
    let u = ho_upload(&sim, 2 * PART, json!({}), Box::new(|l, _| l.contains("partNumber=2").then(|| Reply::Json(503, json!({})))));
    let e = run_ho(&sim, &u).unwrap_err();
    assert_eq!((e.code(), e.status, e.attempts), ("server", Some(503), Some(3)));
    assert_eq!(e.part.map(|p| p.number), Some(2));
    assert_eq!(e.upload_id.as_deref(), Some(UPLOAD), "kept for a resume");
    assert_eq!(log(&u), ["POST upload", "PUT part 1", "PUT part 2", "PUT part 2", "PUT part 2"]);
}

#[test]
fn a_400_fails_at_once_with_one_attempt() {
    let sim = Sim::new();
    let u = ho_upload(&sim, PART, json!({}), nth("/upload", 1, Reply::WithHeaders(400, json!({"message": "bad name"}), vec![("x-amzn-ErrorType", "ValidationException".into())])));
    let e = run_ho(&sim, &u).unwrap_err();
    assert_eq!((e.code(), e.attempts, e.operation), ("validation", Some(1), Some("CreateMultipartReadSetUpload")));
    assert_eq!(log(&u), ["POST upload"]);
}

#[test]
fn a_429_with_retry_after_waits_at_least_that_long_and_pauses_the_queue() {
    let sim = Sim::new();
    let throttled = Reply::WithHeaders(429, json!({"message": "slow down"}), vec![("Retry-After", "2".into()), ("x-amzn-ErrorType", "ThrottlingException".into())]);
    let u = ho_upload(&sim, 2 * PART, json!({}), nth("partNumber=1", 1, throttled));
    run_ho(&sim, &u).unwrap();
    assert_eq!(log(&u), ["POST upload", "PUT part 1", "PUT part 1", "PUT part 2", "POST complete", "GET metadata"]);
    assert!(sim.elapsed() >= 2000.0, "waited {} ms", sim.elapsed());
    assert_eq!(u.queue_stats().pauses, 1);
}

#[test]
fn a_stalled_part_is_cut_off_after_stall_timeout_and_sent_again() {
    let sim = Sim::new();
    let u = ho_upload(&sim, 2 * PART, json!({ "stallTimeoutMs": 1000 }), nth("partNumber=2", 1, Reply::Stall));
    run_ho(&sim, &u).unwrap();
    assert_eq!(log(&u), ["POST upload", "PUT part 1", "PUT part 2", "PUT part 2", "POST complete", "GET metadata"]);
    assert!((1000.0..1400.0).contains(&sim.elapsed()), "cut off after about 1 s: {}", sim.elapsed());
}

#[test]
fn a_stall_on_every_attempt_fails_naming_the_stall() {
    let sim = Sim::new();
    let u = ho_upload(&sim, PART, json!({ "stallTimeoutMs": 500, "retry": { "maxAttempts": 2, "baseDelayMs": 10, "jitter": false } }), Box::new(|l, _| l.starts_with("PUT").then_some(Reply::Stall)));
    let e = run_ho(&sim, &u).unwrap_err();
    assert_eq!((e.code(), e.attempts), ("network", Some(2)));
    assert!(e.message.contains("no upload progress for 500 ms"), "{}", e.message);
    assert_eq!(log(&u), ["POST upload", "PUT part 1", "PUT part 1"]);
}

#[test]
fn a_connection_dropped_mid_body_is_retried() {
    let sim = Sim::new();
    let u = ho_upload(&sim, 2 * PART, json!({}), nth("partNumber=1", 1, Reply::After(10, Box::new(Reply::Drop))));
    run_ho(&sim, &u).unwrap();
    assert_eq!(log(&u), ["POST upload", "PUT part 1", "PUT part 2", "PUT part 1", "POST complete", "GET metadata"]);
}

#[test]
fn going_offline_waits_for_the_network_without_spending_attempts() {
    let sim = Sim::new();
    // One attempt allowed: the offline failure must not count.
    let u = ho_upload(&sim, 2 * PART, json!({ "retry": { "maxAttempts": 1 } }), nth("partNumber=1", 1, Reply::Offline(30_000)));
    run_ho(&sim, &u).unwrap();
    assert_eq!(log(&u), ["POST upload", "PUT part 1", "PUT part 1", "PUT part 2", "POST complete", "GET metadata"]);
    assert!(sim.elapsed() >= 30_000.0, "the part waited for the network: {}", sim.elapsed());
}

#[test]
fn a_checksum_that_is_not_the_parts_sha256_is_sent_again_and_only_the_confirmed_one_completed() {
    let sim = Sim::new();
    let wrong = format!("{:064x}", 1);
    let u = ho_upload(&sim, 2 * PART, json!({}), nth("partNumber=2", 1, Reply::Json(200, json!({ "checksum": wrong }))));
    run_ho(&sim, &u).unwrap();
    assert_eq!(log(&u), ["POST upload", "PUT part 1", "PUT part 2", "PUT part 2", "POST complete", "GET metadata"]);
    assert_eq!(completed_parts(&u), vec![(1, sha(&part(1))), (2, sha(&part(2)))]);
}

/// The part's SHA-256 in base64: what AWS's examples show, opaque to the client.
fn opaque(part: &Part) -> String {
    let hex = sha(part);
    let bytes: Vec<u8> = (0..32).map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap()).collect();
    base64_of(&bytes)
}

fn base64_of(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in bytes.chunks(3) {
        let n = (c[0] as u32) << 16 | (*c.get(1).unwrap_or(&0) as u32) << 8 | *c.get(2).unwrap_or(&0) as u32;
        for i in 0..4 {
            out.push(if i <= c.len() { A[(n >> (18 - 6 * i) & 63) as usize] as char } else { '=' });
        }
    }
    out
}

/// A store whose part checksums are opaque (base64), as AWS's.
fn opaque_store() -> Script {
    Box::new(|line, req| {
        let Body::Part(p) = &req.body else { return None };
        line.starts_with("PUT").then(|| Reply::Json(200, json!({ "checksum": opaque(p) })))
    })
}

#[test]
fn against_a_verifying_store_every_part_is_hashed_once_after_its_put_and_counted_verified() {
    let sim = Sim::new();
    let u = ho_upload(&sim, 3 * PART, json!({}), none());
    let r = run_ho(&sim, &u).unwrap();
    assert_eq!(*u.io.hashed.borrow(), [1, 2, 3]);
    assert_eq!(r.verified_parts, 3);
    // Sent first, then hashed and checked.
    let states = u.io.states.borrow();
    let at = |s: &str| states.iter().position(|x| x == s).unwrap_or_else(|| panic!("no {s} in {states:?}"));
    assert!(at("1:Uploading") < at("1:Hashing") && at("1:Hashed") < at("1:Done"), "{states:?}");
}

#[test]
fn against_an_opaque_store_no_part_is_hashed_and_the_returned_checksums_are_completed() {
    let sim = Sim::new();
    let u = ho_upload(&sim, 3 * PART, json!({ "concurrency": 2 }), opaque_store());
    let r = run_ho(&sim, &u).unwrap();
    assert!(u.io.hashed.borrow().is_empty(), "hashed {:?}", u.io.hashed.borrow());
    assert_eq!(r.verified_parts, 0);
    assert_eq!(completed_parts(&u), (1..=3).map(|n| (n as u64, opaque(&part(n)))).collect::<Vec<_>>());
    assert_eq!(log(&u), ["POST upload", "PUT part 1", "PUT part 2", "PUT part 3", "POST complete", "GET metadata"]);
}

#[test]
fn verify_part_checksums_true_hashes_against_an_opaque_store_and_fails_naming_both_values() {
    let sim = Sim::new();
    let u = ho_upload(&sim, PART, json!({ "verifyPartChecksums": true }), opaque_store());
    let e = run_ho(&sim, &u).unwrap_err();
    assert_eq!(e.code(), "checksum_mismatch");
    assert!(e.message.contains(&opaque(&part(1))) && e.message.contains(&sha(&part(1))), "{}", e.message);
    assert_eq!((e.attempts, e.operation), (Some(3), Some("UploadReadSetPart")));
    assert_eq!(log(&u), ["POST upload", "PUT part 1", "PUT part 1", "PUT part 1"], "max attempts PUTs, then no complete");
    assert_eq!(*u.io.hashed.borrow(), [1], "the part is hashed once, not per attempt");
}

#[test]
fn verify_part_checksums_false_hashes_nothing_even_against_a_verifying_store() {
    let sim = Sim::new();
    let u = ho_upload(&sim, 2 * PART, json!({ "verifyPartChecksums": false }), none());
    let r = run_ho(&sim, &u).unwrap();
    assert!(u.io.hashed.borrow().is_empty());
    assert_eq!(r.verified_parts, 0);
}

#[test]
fn a_checksum_that_differs_costs_an_attempt_and_the_last_attempt_fails_the_part() {
    let sim = Sim::new();
    let wrong = format!("{:064x}", 1);
    // Two wrong answers, with two attempts allowed: the second is final.
    let mut n = 0;
    let script: Script = Box::new(move |line, _| {
        (line.starts_with("PUT") && line.contains("partNumber=1")).then(|| {
            n += 1;
            Reply::Json(200, json!({ "checksum": wrong.clone() }))
        })
    });
    let u = ho_upload(&sim, PART, json!({ "retry": { "maxAttempts": 2, "baseDelayMs": 100, "maxDelayMs": 1000, "jitter": false } }), script);
    let e = run_ho(&sim, &u).unwrap_err();
    assert_eq!(e.code(), "checksum_mismatch");
    assert_eq!(e.attempts, Some(2));
    assert_eq!(log(&u), ["POST upload", "PUT part 1", "PUT part 1"]);
    assert!(sim.elapsed() >= 100.0, "the retry waited its backoff: {}", sim.elapsed());
}

#[test]
fn resume_against_an_opaque_store_trusts_the_listed_parts_without_hashing_them() {
    let sim = Sim::new();
    let parts = json!([
        { "partNumber": 1, "partSource": "SOURCE1", "checksum": opaque(&part(1)), "partSize": PART },
        { "partNumber": 2, "partSource": "SOURCE1", "checksum": opaque(&part(2)), "partSize": PART },
    ]);
    let mut listing = listed(parts);
    let mut store = opaque_store();
    let script: Script = Box::new(move |l, r| listing(l, r).or_else(|| store(l, r)));
    let u = ho_upload(&sim, 3 * PART, json!({ "uploadId": UPLOAD }), script);
    run_ho(&sim, &u).unwrap();
    assert_eq!(log(&u), ["POST uploads", "POST parts", "PUT part 3", "POST complete", "GET metadata"]);
    assert!(u.io.hashed.borrow().is_empty());
}

#[test]
fn pause_during_an_attempt_stops_it_and_resume_sends_it_again_without_counting_it() {
    let sim = Sim::new();
    let u = ho_upload(&sim, 2 * PART, json!({ "retry": { "maxAttempts": 1 } }), nth("partNumber=1", 1, Reply::After(1000, Box::new(Reply::Json(500, json!({}))))));
    let (a, b) = (u.clone(), u.clone());
    let s1 = sim.clone();
    let s2 = sim.clone();
    let side: Vec<Pin<Box<dyn Future<Output = ()>>>> = vec![
        Box::pin(async move {
            s1.sleep(500).await;
            assert!(a.control.pause());
        }),
        Box::pin(async move {
            s2.sleep(5000).await;
            assert!(b.control.resume());
        }),
    ];
    sim.run(u.clone().run(), side).unwrap();
    assert_eq!(log(&u), ["POST upload", "PUT part 1", "PUT part 2", "PUT part 1", "POST complete", "GET metadata"]);
    assert!(sim.elapsed() >= 5000.0);
}

#[test]
fn abort_during_complete_lets_the_completion_finish_and_sends_no_abort() {
    let sim = Sim::new();
    let u = ho_upload(&sim, PART, json!({}), nth("/complete", 1, Reply::After(1000, Box::new(Reply::Json(200, json!({ "readSetId": READ_SET }))))));
    let a = u.clone();
    let s = sim.clone();
    let side: Vec<Pin<Box<dyn Future<Output = ()>>>> = vec![Box::pin(async move {
        while !a.io.log.borrow().iter().any(|l| l.ends_with("/complete")) {
            s.sleep(10).await;
        }
        a.control.abort();
        a.abort_on_server().await.unwrap();
    })];
    let e = sim.run(u.clone().run(), side).unwrap_err();
    assert_eq!(e.code(), "aborted");
    assert_eq!(e.read_set_id.as_deref(), Some(READ_SET), "the read set exists: the error names it");
    assert_eq!(log(&u), ["POST upload", "PUT part 1", "POST complete"], "no AbortMultipartReadSetUpload after completion began");
}

#[test]
fn abort_during_the_parts_stops_them_and_aborts_the_upload_on_the_server() {
    let sim = Sim::new();
    let u = ho_upload(&sim, 3 * PART, json!({}), nth("partNumber=2", 1, Reply::After(1000, Box::new(Reply::Json(500, json!({}))))));
    let a = u.clone();
    let s = sim.clone();
    let side: Vec<Pin<Box<dyn Future<Output = ()>>>> = vec![Box::pin(async move {
        s.sleep(500).await;
        a.control.abort();
        a.abort_on_server().await.unwrap();
    })];
    let e = sim.run(u.clone().run(), side).unwrap_err();
    assert_eq!(e.code(), "aborted");
    assert_eq!(log(&u), ["POST upload", "PUT part 1", "PUT part 2", "DELETE abort"]);
}

fn listed(parts: Value) -> Script {
    Box::new(move |l, _| l.contains("/parts").then(|| Reply::Json(200, json!({ "parts": parts.clone() }))))
}

#[test]
fn resume_sends_only_parts_the_server_lacks_or_holds_with_a_wrong_checksum_or_size() {
    let sim = Sim::new();
    let parts = json!([
        { "partNumber": 1, "partSource": "SOURCE1", "checksum": sha(&part(1)), "partSize": PART },
        { "partNumber": 2, "partSource": "SOURCE1", "checksum": format!("{:064x}", 9), "partSize": PART },
        { "partNumber": 3, "partSource": "SOURCE1", "checksum": sha(&part(3)), "partSize": 1 },
    ]);
    let u = ho_upload(&sim, 4 * PART, json!({ "uploadId": UPLOAD }), listed(parts));
    let r = run_ho(&sim, &u).unwrap();
    // The grant of an upload given by ID is looked up in the caller's uploads first.
    assert_eq!(log(&u), ["POST uploads", "POST parts", "PUT part 2", "PUT part 3", "PUT part 4", "POST complete", "GET metadata"]);
    assert_eq!(completed_parts(&u), (1..=4).map(|n| (n as u64, sha(&part(n)))).collect::<Vec<_>>());
    assert_eq!(r.upload_id, UPLOAD);
    assert!(u.io.states.borrow().contains(&"1:Skipped".to_string()));
    // Each part hashed once: listed ones to check them, sent ones to check the answer (part 2's
    // hash from its listing check serves its new answer too).
    let mut hashed = u.io.hashed.borrow().clone();
    hashed.sort_unstable();
    assert_eq!(hashed, [1, 2, 3, 4]);
    assert_eq!(r.verified_parts, 4);
}

#[test]
fn a_saved_upload_the_server_no_longer_has_is_forgotten_and_a_new_one_created() {
    let sim = Sim::new();
    let u = ho_upload(&sim, PART, json!({ "resume": true }), nth("/parts", 1, Reply::Json(404, json!({"message": "no such upload"}))));
    *u.io.saved.borrow_mut() = Some(Saved { upload_id: "9999999999".into(), grant: Some("g-9".into()) });
    run_ho(&sim, &u).unwrap();
    assert_eq!(log(&u), ["POST parts", "POST upload", "PUT part 1", "POST complete", "GET metadata"]);
    assert_eq!(u.io.forgotten.borrow()[0], "9999999999");
}

/// The API's largest upload: 10,000 parts per source.
const MAX: u32 = crate::plan::MAX_PARTS;

#[test]
fn ten_thousand_parts_are_each_sent_once_and_completed_in_order_with_bounded_events() {
    let sim = Sim::new();
    let u = ho_upload(&sim, MAX as u64 * PART, json!({ "concurrency": 4 }), none());
    run_ho(&sim, &u).unwrap();
    let log = log(&u);
    assert_eq!(log.len(), 1 + MAX as usize + 2, "create, one PUT per part, complete, metadata");
    let puts: Vec<u32> = log.iter().filter_map(|l| l.strip_prefix("PUT part ")).map(|n| n.parse().unwrap()).collect();
    let mut sorted = puts.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, (1..=MAX).collect::<Vec<_>>(), "each part exactly once");
    assert_eq!(completed_parts(&u), (1..=MAX).map(|n| (n as u64, sha(&part(n)))).collect::<Vec<_>>(), "Complete lists every part, in order");
    // Uploading, hashing, hashed, done: a fixed number of state events per part, whatever the count.
    assert_eq!(u.io.states.borrow().len(), 4 * MAX as usize);
}

#[test]
fn resume_of_ten_thousand_parts_pages_through_the_servers_list_and_sends_only_the_missing_half() {
    let sim = Sim::new();
    let held = MAX / 2;
    // The server holds parts 1..=5,000 and lists them 100 per page, as the service does.
    let pages: Script = Box::new(move |line, req| {
        if !line.contains("/parts") {
            return None;
        }
        let from: u32 = req.url.split("nextToken=").nth(1).map_or(1, |t| t.split('&').next().unwrap().parse().unwrap());
        let to = (from + 99).min(held);
        let parts: Vec<Value> = (from..=to).map(|n| json!({ "partNumber": n, "partSource": "SOURCE1", "checksum": sha(&part(n)), "partSize": PART })).collect();
        let next = (to < held).then(|| (to + 1).to_string());
        Some(Reply::Json(200, json!({ "parts": parts, "nextToken": next })))
    });
    let u = ho_upload(&sim, MAX as u64 * PART, json!({ "uploadId": UPLOAD, "concurrency": 4 }), pages);
    run_ho(&sim, &u).unwrap();
    let log = log(&u);
    assert_eq!(log.iter().filter(|l| *l == "POST parts").count(), (held / 100) as usize, "one request per page of 100");
    let puts: Vec<u32> = log.iter().filter_map(|l| l.strip_prefix("PUT part ")).map(|n| n.parse().unwrap()).collect();
    assert_eq!(puts.len(), (MAX - held) as usize, "only the missing half is sent");
    assert!(puts.iter().all(|n| *n > held));
    assert_eq!(completed_parts(&u).len(), MAX as usize, "Complete lists the listed and the sent parts");
    assert_eq!(u.io.states.borrow().iter().filter(|s| s.ends_with(":Skipped")).count(), held as usize);
}

// ---- Seven Bridges -------------------------------------------------------------------------

const SBG_UPLOAD: &str = "up-1";

fn sbg_default(line: &str, req: &HttpRequest) -> Reply {
    let (method, path) = line.split_once(' ').unwrap();
    match method {
        "POST" if path == "/sbg/v2/upload/multipart" => Reply::Json(200, json!({ "upload_id": SBG_UPLOAD, "part_size": PART })),
        "GET" if path.contains("/part/") => {
            let n = path.rsplit('/').next().unwrap();
            Reply::Json(200, json!({ "method": "PUT", "url": format!("http://storage/p/{n}?sig=1"), "headers": { "x-part-token": "k" }, "report": { "headers": ["ETag"] }, "success_codes": [200] }))
        }
        "PUT" => {
            assert_eq!(req.headers, vec![("x-part-token".to_string(), "k".to_string())], "the URL's headers are sent");
            let Body::Part(p) = &req.body else { panic!("a part without its bytes") };
            Reply::WithHeaders(200, json!({}), vec![("ETag", format!("\"e{}\"", p.number))])
        }
        "POST" if path.ends_with("/complete") => Reply::Json(200, json!({ "id": "file-1", "name": "a.bin" })),
        "POST" => Reply::Json(200, json!({})),
        "DELETE" => Reply::Json(204, json!({})),
        _ => Reply::Json(404, json!({ "message": format!("no route {line}") })),
    }
}

fn sbg_upload(sim: &Rc<Sim>, bytes: u64, options: Value, script: Script) -> Rc<Upload<SevenBridges, Fake>> {
    sbg_upload_on(sim, bytes, options, script, Rc::new(RequestQueue::default()))
}

fn sbg_upload_on(sim: &Rc<Sim>, bytes: u64, options: Value, script: Script, queue: Rc<RequestQueue>) -> Rc<Upload<SevenBridges, Fake>> {
    let mut spec = json!({ "endpoint": "http://proxy/sbg/v2", "token": "t", "project": "a/b", "partSize": PART, "concurrency": 1,
        "retry": { "maxAttempts": 3, "baseDelayMs": 100, "maxDelayMs": 1000, "jitter": false, "seed": 1 } });
    let mut stall = 0;
    let mut resume = false;
    for (k, v) in options.as_object().unwrap() {
        match k.as_str() {
            "stallTimeoutMs" => stall = v.as_u64().unwrap(),
            "resume" => resume = v.as_bool().unwrap(),
            _ => spec[k] = v.clone(),
        }
    }
    let spec: crate::sbg::UploadSpec = serde_json::from_value(spec).unwrap();
    let v = spec.validate("a.bin").unwrap();
    let settings = Settings::new(v.concurrency, stall, v.retry.clone(), resume, v.upload_id.clone());
    Rc::new(Upload::new(SevenBridges::new(v, bytes), Fake::new(sim, sbg_default, script), Rc::default(), queue, settings, 1))
}

fn sbg_log(u: &Upload<SevenBridges, Fake>) -> Vec<String> {
    u.io.log
        .borrow()
        .iter()
        .map(|l| {
            let (m, p) = l.split_once(' ').unwrap();
            let p = p.split('?').next().unwrap();
            match (m, p) {
                (_, p) if p.starts_with("/p/") => format!("PUT storage {}", &p[3..]),
                ("GET", p) if p.contains("/part/") => format!("GET url {}", p.rsplit('/').next().unwrap()),
                ("POST", "/sbg/v2/upload/multipart") => "POST init".into(),
                ("POST", p) if p.ends_with("/complete") => "POST complete".into(),
                ("POST", p) if p.ends_with("/part") => "POST report".into(),
                ("POST", _) => "POST reports".into(),
                ("GET", _) => "GET details".into(),
                (m, _) => m.to_string(),
            }
        })
        .collect()
}

fn reported(u: &Upload<SevenBridges, Fake>) -> Vec<u64> {
    let log = u.io.log.borrow();
    let bodies = u.io.bodies.borrow();
    let mut out = Vec::new();
    for (l, b) in log.iter().zip(bodies.iter()) {
        let Some(b) = b else { continue };
        if l.starts_with("POST") && l.contains(SBG_UPLOAD) && !l.ends_with("/complete") {
            match b.get("parts") {
                Some(ps) => out.extend(ps.as_array().unwrap().iter().map(|p| p["part_number"].as_u64().unwrap())),
                None => out.push(b["part_number"].as_u64().unwrap()),
            }
        }
    }
    out
}

fn run_sbg(sim: &Rc<Sim>, u: &Rc<Upload<SevenBridges, Fake>>) -> Result<super::sevenbridges::SbgUploadResult, Error> {
    sim.run(u.clone().run(), vec![])
}

#[test]
fn seven_bridges_fetches_a_url_per_part_reports_the_parts_in_one_batch_and_completes() {
    let sim = Sim::new();
    let u = sbg_upload(&sim, 3 * PART - 10, json!({}), none());
    let r = run_sbg(&sim, &u).unwrap();
    assert_eq!(
        sbg_log(&u),
        ["POST init", "GET url 1", "PUT storage 1", "GET url 2", "PUT storage 2", "GET url 3", "PUT storage 3", "POST reports", "POST complete"]
    );
    assert_eq!(reported(&u), [1, 2, 3]);
    let i = u.io.log.borrow().iter().position(|l| l.starts_with("POST") && l.ends_with(SBG_UPLOAD)).unwrap();
    assert_eq!(u.io.bodies.borrow()[i].as_ref().unwrap()["parts"][2]["response"]["headers"]["ETag"], "\"e3\"");
    assert_eq!((r.file_id.as_str(), r.parts, r.api_calls), ("file-1", 3, 6));
}

#[test]
fn seven_bridges_an_expired_url_is_replaced_at_once_and_the_part_sent_again() {
    let sim = Sim::new();
    let expired = Reply::Text(403, "<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>");
    let u = sbg_upload(&sim, PART, json!({ "retry": { "maxAttempts": 2 } }), nth("/p/1", 1, expired));
    run_sbg(&sim, &u).unwrap();
    assert_eq!(sbg_log(&u), ["POST init", "GET url 1", "PUT storage 1", "GET url 1", "PUT storage 1", "POST report", "POST complete"]);
    assert_eq!(sim.elapsed(), 0.0, "no backoff delay for an expired URL");
}

#[test]
fn seven_bridges_a_stalled_part_is_cut_off_and_sent_again_to_a_fresh_url() {
    let sim = Sim::new();
    let u = sbg_upload(&sim, 2 * PART, json!({ "stallTimeoutMs": 1000 }), nth("/p/2", 1, Reply::Stall));
    run_sbg(&sim, &u).unwrap();
    assert_eq!(
        sbg_log(&u),
        ["POST init", "GET url 1", "PUT storage 1", "GET url 2", "PUT storage 2", "GET url 2", "PUT storage 2", "POST reports", "POST complete"]
    );
    assert_eq!(reported(&u), [1, 2]);
}

#[test]
fn seven_bridges_a_429_with_retry_after_on_the_api_waits_and_retries() {
    let sim = Sim::new();
    let throttled = Reply::WithHeaders(429, json!({ "code": 1000, "message": "rate" }), vec![("Retry-After", "3".into())]);
    let u = sbg_upload(&sim, PART, json!({}), nth("/part/1", 1, throttled));
    run_sbg(&sim, &u).unwrap();
    assert_eq!(sbg_log(&u), ["POST init", "GET url 1", "GET url 1", "PUT storage 1", "POST report", "POST complete"]);
    assert!(sim.elapsed() >= 3000.0);
}

#[test]
fn seven_bridges_going_offline_waits_for_the_network_without_spending_attempts() {
    let sim = Sim::new();
    let u = sbg_upload(&sim, PART, json!({ "retry": { "maxAttempts": 1 } }), nth("/p/1", 1, Reply::Offline(20_000)));
    run_sbg(&sim, &u).unwrap();
    assert_eq!(sbg_log(&u), ["POST init", "GET url 1", "PUT storage 1", "GET url 1", "PUT storage 1", "POST report", "POST complete"]);
    assert!(sim.elapsed() >= 20_000.0);
}

#[test]
fn seven_bridges_a_failing_part_reports_what_made_it_before_failing() {
    let sim = Sim::new();
    let u = sbg_upload(&sim, 2 * PART, json!({ "retry": { "maxAttempts": 1 } }), nth("/p/2", 1, Reply::Text(500, "busy")));
    let e = run_sbg(&sim, &u).unwrap_err();
    assert_eq!((e.code(), e.attempts), ("server", Some(1)));
    assert_eq!(sbg_log(&u), ["POST init", "GET url 1", "PUT storage 1", "GET url 2", "PUT storage 2", "POST report"]);
    assert_eq!(reported(&u), [1], "only the confirmed part is reported; nothing is completed");
}

#[test]
fn seven_bridges_resumes_a_saved_upload_from_its_reported_parts_after_a_reload() {
    let sim = Sim::new();
    let details = json!({ "upload_id": SBG_UPLOAD, "name": "a.bin", "size": 3 * PART, "part_size": PART,
        "parts": [ { "part_number": 1, "size": PART }, { "part_number": 2, "size": 5 } ] });
    let u = sbg_upload(&sim, 3 * PART, json!({ "resume": true }), Box::new(move |l, _| (l.starts_with("GET") && l.contains("list_parts")).then(|| Reply::Json(200, details.clone()))));
    *u.io.saved.borrow_mut() = Some(Saved { upload_id: SBG_UPLOAD.into(), grant: None });
    let r = run_sbg(&sim, &u).unwrap();
    assert_eq!(sbg_log(&u), ["GET details", "GET url 2", "PUT storage 2", "GET url 3", "PUT storage 3", "POST reports", "POST complete"]);
    assert_eq!(reported(&u), [2, 3], "part 1 is on the server; part 2 had another size");
    assert_eq!(r.parts_skipped, 1);
    assert_eq!(u.io.forgotten.borrow().as_slice(), [SBG_UPLOAD]);
}

#[test]
fn seven_bridges_abort_deletes_the_upload() {
    let sim = Sim::new();
    let u = sbg_upload(&sim, 2 * PART, json!({}), nth("/p/1", 1, Reply::After(1000, Box::new(Reply::Text(500, "x")))));
    let a = u.clone();
    let s = sim.clone();
    let side: Vec<Pin<Box<dyn Future<Output = ()>>>> = vec![Box::pin(async move {
        s.sleep(200).await;
        a.control.abort();
        a.abort_on_server().await.unwrap();
    })];
    let e = sim.run(u.clone().run(), side).unwrap_err();
    assert_eq!(e.code(), "aborted");
    assert_eq!(sbg_log(&u), ["POST init", "GET url 1", "PUT storage 1", "DELETE"]);
}

// ---- the page's queue ----------------------------------------------------------------------

#[test]
fn two_uploads_sharing_the_queue_stay_within_its_rate_and_both_complete() {
    let sim = Sim::new();
    let queue = Rc::new(RequestQueue::new(QueueConfig { concurrency: 16, requests_per_second: Some(5.0) }));
    let starts = Rc::new(RefCell::new(Vec::<f64>::new()));
    let rec = |s: &Rc<RefCell<Vec<f64>>>, sim: &Rc<Sim>| -> Script {
        let (s, sim) = (s.clone(), sim.clone());
        Box::new(move |_, _| {
            s.borrow_mut().push(sim.now.get());
            None
        })
    };
    let a = ho_upload_on(&sim, 10 * PART, json!({ "concurrency": 4 }), rec(&starts, &sim), queue.clone());
    let b = sbg_upload_on(&sim, 10 * PART, json!({ "concurrency": 4 }), rec(&starts, &sim), queue.clone());
    let (ra, rb) = sim.run(
        {
            let (a, b) = (a.clone(), b.clone());
            async move { futures::join!(a.run(), b.run()) }
        },
        vec![],
    );
    ra.unwrap();
    rb.unwrap();
    let starts = starts.borrow();
    // HealthOmics: create, 10 parts, complete, metadata; Seven Bridges: init, 10 URLs and 10
    // parts, 2 report batches (8 + 2), complete.
    assert_eq!(starts.len(), 13 + 24, "every request of both uploads went out");
    for (i, t) in starts.iter().enumerate() {
        let in_window = starts[i..].iter().take_while(|u| **u < t + 1000.0).count();
        assert!(in_window <= 5, "{in_window} requests within 1 s from {t}");
    }
    assert_eq!(queue.stats().started, starts.len() as u64);
}

#[test]
fn a_throttled_answer_to_one_upload_pauses_the_other_uploads_requests() {
    let sim = Sim::new();
    let queue = Rc::new(RequestQueue::default());
    let throttled = Reply::WithHeaders(429, json!({}), vec![("Retry-After", "4".into())]);
    let a = ho_upload_on(&sim, PART, json!({}), nth("partNumber=1", 1, throttled), queue.clone());
    let b_times = Rc::new(RefCell::new(Vec::new()));
    let bt = b_times.clone();
    let s = sim.clone();
    let b = ho_upload_on(&sim, 2 * PART, json!({}), Box::new(move |l, _| {
        if l.starts_with("PUT") {
            bt.borrow_mut().push(s.now.get());
        }
        None
    }), queue.clone());
    let (b2, s2) = (b.clone(), sim.clone());
    let side: Vec<Pin<Box<dyn Future<Output = ()>>>> = vec![Box::pin(async move {
        // B starts once A's first part was refused.
        s2.sleep(1).await;
        b2.run().await.unwrap();
    })];
    sim.run(a.clone().run(), side).unwrap();
    let first_b = b_times.borrow().first().copied().expect("B sent parts");
    assert!(first_b - 1_000_000.0 >= 4000.0, "B's parts waited for the Retry-After seen by A: {}", first_b - 1_000_000.0);
}

#[test]
fn the_queue_starts_parts_before_completions_before_creations_and_keeps_its_cap() {
    let sim = Sim::new();
    let queue = Rc::new(RequestQueue::new(QueueConfig { concurrency: 1, requests_per_second: None }));
    let order = Rc::new(RefCell::new(Vec::new()));
    let fake = Fake::new(&sim, ho_default, none());
    let fake = Rc::new(fake);
    let task = |p: Priority, name: &'static str| {
        let (q, o, f) = (queue.clone(), order.clone(), fake.clone());
        Box::pin(async move {
            let _permit = q.acquire(p, &*f).await;
            o.borrow_mut().push(name);
            f.sim.sleep(10).await;
        }) as Pin<Box<dyn Future<Output = ()>>>
    };
    let (q, f) = (queue.clone(), fake.clone());
    let held = async move {
        let permit = q.acquire(Priority::Create, &*f).await;
        f.sim.sleep(100).await;
        drop(permit);
        f.sim.sleep(1000).await;
    };
    sim.run(held, vec![task(Priority::Create, "create"), task(Priority::Complete, "complete"), task(Priority::Part, "part")]);
    assert_eq!(order.borrow().as_slice(), ["part", "complete", "create"]);
    assert_eq!(queue.stats().max_in_flight, 1);
}

#[test]
fn a_control_wakes_waiters_on_pause_resume_and_abort() {
    let c = Control::default();
    assert!(c.pause() && !c.pause() && c.resume());
    c.abort();
    assert!(c.is_aborted() && !c.resume());
}

#[test]
fn an_api_call_failing_while_offline_waits_for_the_network_without_spending_attempts() {
    let sim = Sim::new();
    let u = ho_upload(&sim, PART, json!({ "retry": { "maxAttempts": 1 } }), nth("/complete", 1, Reply::Offline(10_000)));
    run_ho(&sim, &u).unwrap();
    assert_eq!(log(&u), ["POST upload", "PUT part 1", "POST complete", "POST complete", "GET metadata"]);
    assert!(sim.elapsed() >= 10_000.0);
}

#[test]
fn seven_bridges_a_429_from_the_storage_keeps_its_retry_after_and_pauses_the_queue() {
    let sim = Sim::new();
    let slow = Reply::WithHeaders(429, json!({}), vec![("Retry-After", "2".into())]);
    let u = sbg_upload(&sim, PART, json!({}), nth("/p/1", 1, slow));
    run_sbg(&sim, &u).unwrap();
    assert_eq!(sbg_log(&u), ["POST init", "GET url 1", "PUT storage 1", "GET url 1", "PUT storage 1", "POST report", "POST complete"]);
    assert!(sim.elapsed() >= 2000.0, "waited for the storage's Retry-After: {}", sim.elapsed());
    assert_eq!(u.queue_stats().pauses, 1);
}

#[test]
fn an_upload_given_by_id_is_saved_for_a_reload_even_without_a_grant() {
    let sim = Sim::new();
    let script: Script = Box::new(|l, _| {
        if l.contains("/uploads") {
            return Some(Reply::Json(200, json!({ "uploads": [] })));
        }
        l.starts_with("PUT").then(|| Reply::Json(400, json!({ "message": "no" })))
    });
    let u = ho_upload(&sim, PART, json!({ "uploadId": UPLOAD }), script);
    let e = run_ho(&sim, &u).unwrap_err();
    assert_eq!(e.code(), "validation");
    assert_eq!(log(&u), ["POST uploads", "POST parts", "PUT part 1"]);
    assert_eq!(u.io.saved.borrow().clone(), Some(Saved { upload_id: UPLOAD.into(), grant: None }));
}
