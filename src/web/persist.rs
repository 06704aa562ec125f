//! Upload state kept in IndexedDB so an upload survives a page reload or a browser restart.
//!
//! One record per upload in progress, keyed by endpoint, store, part size and the files'
//! fingerprints (name, size, lastModified, SHA-256 of the first and last MiB): when the user
//! selects the same file again, the record gives back the `uploadId`. The record is a hint
//! only: on resume the server's part list decides which parts are sent (see the engine).
//! Every failure here is reported to the caller, which treats persistence as best effort.

use std::cell::RefCell;
use std::rc::Rc;

use futures::channel::oneshot;
use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{Blob, File, IdbDatabase, IdbFactory, IdbObjectStore, IdbOpenDbRequest, IdbRequest, IdbTransactionMode};

use crate::error::{Error, ErrorKind};
use crate::hash::Sha256Hasher;

const DB_NAME: &str = "readset-upload";
const DB_VERSION: u32 = 1;
const STORE: &str = "uploads";
/// Bytes hashed at each end of a file for its fingerprint.
const EDGE: u64 = 1 << 20;

/// What identifies a file across reloads without reading all of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Fingerprint {
    /// `File.name`.
    pub name: String,
    /// Size in bytes.
    pub size: u64,
    /// `File.lastModified` (ms since the epoch; 0 for a plain Blob).
    pub last_modified: u64,
    /// SHA-256 (hex) of the first MiB followed by the last MiB (the whole file when smaller).
    pub edge_sha256: String,
}

/// The saved state of one upload in progress.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SavedUpload {
    /// Record key (see [`record_key`]).
    pub key: String,
    /// API endpoint the upload was made through.
    pub endpoint: String,
    /// Sequence store.
    pub sequence_store_id: String,
    /// The multipart upload.
    pub upload_id: String,
    /// Part size the upload was planned with.
    pub part_size: u64,
    /// The files, one per source.
    pub files: Vec<Fingerprint>,
    /// Read set name.
    pub name: Option<String>,
    /// When the record was written first (ms since the epoch).
    pub created_ms: f64,
    /// Parts this browser saw confirmed so far: a hint for the portal ("37 of 80 parts sent");
    /// the server's part list decides what is sent. A count, not a list, so that saving the
    /// record after each part costs the same at part 10,000 as at part 1 (records of earlier
    /// versions held every part's SHA-256 and were rewritten whole per part).
    #[serde(default)]
    pub parts_confirmed: u32,
    /// Bytes of those parts.
    #[serde(default)]
    pub bytes_confirmed: u64,
    /// The signing proxy's grant for this upload (see [`crate::omics::UPLOAD_GRANT_HEADER`]),
    /// so a resume after a reload needs no look-up; absent without a proxy.
    #[serde(default)]
    pub upload_grant: Option<String>,
    /// `"sevenbridges"` for a Seven Bridges upload (then `sequenceStoreId` holds the project or
    /// folder); absent for HealthOmics, whose listings are the only ones that show records.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
}

/// The key of the record for these files in this store with this part size.
pub fn record_key(endpoint: &str, store_id: &str, part_size: u64, files: &[Fingerprint]) -> String {
    let mut key = format!("{endpoint}|{store_id}|{part_size}");
    for f in files {
        key.push_str(&format!("|{}:{}:{}:{}", f.name, f.size, f.last_modified, f.edge_sha256));
    }
    key
}

fn idb_err(what: &str, e: impl std::fmt::Debug) -> Error {
    Error::new(ErrorKind::Protocol, format!("IndexedDB {what} failed: {e:?}"))
}

/// The file's fingerprint: reads at most 2 MiB. The two ends are hashed by WebCrypto, whose
/// digest runs off the page's thread, so an upload's start puts no hashing on the main thread;
/// where there is no `crypto.subtle` (a page that is not a secure context) the wasm kernel
/// hashes the same bytes, so the fingerprint is the same either way.
pub async fn fingerprint(blob: &Blob) -> Result<Fingerprint, Error> {
    let size = blob.size() as u64;
    let head_end = size.min(EDGE);
    let tail_start = size.saturating_sub(EDGE).max(head_end);
    let read = |a: u64, b: u64| async move {
        let slice = blob.slice_with_f64_and_f64(a as f64, b as f64).map_err(read_failed)?;
        let buf = wasm_bindgen_futures::JsFuture::from(slice.array_buffer()).await.map_err(read_failed)?;
        Ok::<_, Error>(js_sys::Uint8Array::new(&buf))
    };
    let head = read(0, head_end).await?;
    let edges = if tail_start < size {
        let tail = read(tail_start, size).await?;
        let both = js_sys::Uint8Array::new_with_length(head.length() + tail.length());
        both.set(&head, 0);
        both.set(&tail, head.length());
        both
    } else {
        head
    };
    let edge_sha256 = match web_crypto_sha256(&edges).await {
        Some(hex) => hex,
        None => {
            let mut sha = Sha256Hasher::new();
            sha.update(&edges.to_vec());
            sha.finish_hex()
        }
    };
    let (name, last_modified) = match blob.dyn_ref::<File>() {
        Some(f) => (f.name(), f.last_modified().max(0.0) as u64),
        None => (String::new(), 0),
    };
    Ok(Fingerprint { name, size, last_modified, edge_sha256 })
}

fn read_failed(e: JsValue) -> Error {
    Error::invalid_input(format!("the file could not be read for its fingerprint: {e:?}"))
}

/// SHA-256 (lowercase hex) of `bytes` by `crypto.subtle.digest`; `None` where WebCrypto is
/// missing or refuses.
async fn web_crypto_sha256(bytes: &js_sys::Uint8Array) -> Option<String> {
    use js_sys::Reflect;
    let crypto = Reflect::get(&js_sys::global(), &"crypto".into()).ok()?;
    let subtle = Reflect::get(&crypto, &"subtle".into()).ok().filter(JsValue::is_object)?;
    let digest: js_sys::Function = Reflect::get(&subtle, &"digest".into()).ok()?.dyn_into().ok()?;
    let promise: js_sys::Promise = digest.call2(&subtle, &"SHA-256".into(), bytes).ok()?.dyn_into().ok()?;
    let out = wasm_bindgen_futures::JsFuture::from(promise).await.ok()?;
    Some(crate::hash::to_hex(&js_sys::Uint8Array::new(&out).to_vec()))
}

/// Detaches an IndexedDB request's handlers when dropped, before their closures are freed: a
/// future dropped while waiting (an aborted upload) must not leave the request pointing at freed
/// closures, whose late event would throw "closure invoked ... after being dropped" on the page.
struct Handlers<'a> {
    req: &'a IdbRequest,
    _closures: Vec<Closure<dyn FnMut(web_sys::Event)>>,
}

impl Drop for Handlers<'_> {
    fn drop(&mut self) {
        self.req.set_onsuccess(None);
        self.req.set_onerror(None);
    }
}

/// Waits for an IndexedDB request to succeed; returns its result.
async fn done(req: &IdbRequest) -> Result<JsValue, Error> {
    let (tx, rx) = oneshot::channel::<bool>();
    let tx = Rc::new(RefCell::new(Some(tx)));
    let t1 = tx.clone();
    let ok = Closure::<dyn FnMut(web_sys::Event)>::new(move |_| {
        if let Some(t) = t1.borrow_mut().take() {
            let _ = t.send(true);
        }
    });
    let fail = Closure::<dyn FnMut(web_sys::Event)>::new(move |_| {
        if let Some(t) = tx.borrow_mut().take() {
            let _ = t.send(false);
        }
    });
    req.set_onsuccess(Some(ok.as_ref().unchecked_ref()));
    req.set_onerror(Some(fail.as_ref().unchecked_ref()));
    let handlers = Handlers { req, _closures: vec![ok, fail] };
    let success = rx.await.unwrap_or(false);
    drop(handlers);
    if success {
        req.result().map_err(|e| idb_err("request", e))
    } else {
        Err(idb_err("request", req.error().ok().flatten().map(|e| e.message())))
    }
}

/// Detaches `onupgradeneeded` when dropped (see [`Handlers`]).
struct UpgradeHandler<'a> {
    req: &'a IdbOpenDbRequest,
    _closure: Closure<dyn FnMut(web_sys::Event)>,
}

impl Drop for UpgradeHandler<'_> {
    fn drop(&mut self) {
        self.req.set_onupgradeneeded(None);
    }
}

async fn open() -> Result<IdbDatabase, Error> {
    let factory: IdbFactory = js_sys::Reflect::get(&js_sys::global(), &JsValue::from_str("indexedDB"))
        .ok()
        .filter(|v| !v.is_undefined() && !v.is_null())
        .ok_or_else(|| idb_err("open", "indexedDB is not available here"))?
        .unchecked_into();
    let req: IdbOpenDbRequest = factory.open_with_u32(DB_NAME, DB_VERSION).map_err(|e| idb_err("open", e))?;
    let upgrade = Closure::<dyn FnMut(web_sys::Event)>::new(move |e: web_sys::Event| {
        let Some(req) = e.target().and_then(|t| t.dyn_into::<IdbOpenDbRequest>().ok()) else { return };
        if let Ok(db) = req.result().map(|r| r.unchecked_into::<IdbDatabase>()) {
            if !db.object_store_names().contains(STORE) {
                let _ = db.create_object_store(STORE);
            }
        }
    });
    req.set_onupgradeneeded(Some(upgrade.as_ref().unchecked_ref()));
    let handler = UpgradeHandler { req: &req, _closure: upgrade };
    let db = done(&req).await;
    drop(handler);
    Ok(db?.unchecked_into())
}

/// The page's open connection and the `versionchange` / `close` handler set on it.
struct Connection {
    db: IdbDatabase,
    _on_end: Closure<dyn FnMut(web_sys::Event)>,
}

thread_local! {
    static CONNECTION: RefCell<Option<Connection>> = const { RefCell::new(None) };
}

/// Closes and forgets the page's connection (the next use opens a new one); with `only`, only
/// when the kept one is that connection.
fn forget_connection(only: Option<&IdbDatabase>) {
    let taken = CONNECTION.with(|k| {
        let mut k = k.borrow_mut();
        match (k.as_ref(), only) {
            (Some(c), Some(db)) if JsValue::from(&c.db) != JsValue::from(db) => None,
            _ => k.take(),
        }
    });
    if let Some(c) = taken {
        c.db.set_onversionchange(None);
        c.db.set_onclose(None);
        c.db.close();
    }
}

/// The page's connection to the database, opened at first use and then kept: opening one for
/// every record write cost about 2 ms a part (BENCHMARKS.md, issue 19). It is closed and
/// forgotten when another tab or a test deletes or upgrades the database (`versionchange`,
/// which a kept connection would otherwise block) or the browser closes it (`close`); the next
/// use opens it again.
async fn connection() -> Result<IdbDatabase, Error> {
    if let Some(db) = CONNECTION.with(|k| k.borrow().as_ref().map(|c| c.db.clone())) {
        return Ok(db);
    }
    let db = open().await?;
    if let Some(kept) = CONNECTION.with(|k| k.borrow().as_ref().map(|c| c.db.clone())) {
        // Another call opened one meanwhile: keep that one.
        db.close();
        return Ok(kept);
    }
    // The handler closes at once and forgets later: forgetting drops this very closure.
    let on_end = Closure::<dyn FnMut(web_sys::Event)>::new(move |e: web_sys::Event| {
        if let Some(db) = e.target().and_then(|t| t.dyn_into::<IdbDatabase>().ok()) {
            db.close();
            wasm_bindgen_futures::spawn_local(async move { forget_connection(Some(&db)) });
        }
    });
    db.set_onversionchange(Some(on_end.as_ref().unchecked_ref()));
    db.set_onclose(Some(on_end.as_ref().unchecked_ref()));
    CONNECTION.with(|k| *k.borrow_mut() = Some(Connection { db: db.clone(), _on_end: on_end }));
    Ok(db)
}

async fn with_store(mode: IdbTransactionMode, f: impl FnOnce(&IdbObjectStore) -> Result<IdbRequest, JsValue>) -> Result<JsValue, Error> {
    let db = connection().await?;
    let tx = match db.transaction_with_str_and_mode(STORE, mode) {
        Ok(tx) => tx,
        // Closed under us (InvalidStateError) before its event reached us: open again, once.
        Err(_) => {
            forget_connection(None);
            connection().await?.transaction_with_str_and_mode(STORE, mode).map_err(|e| idb_err("transaction", e))?
        }
    };
    let store = tx.object_store(STORE).map_err(|e| idb_err("transaction", e))?;
    let req = f(&store).map_err(|e| idb_err("request", e))?;
    done(&req).await
}

/// Saves (or replaces) a record.
pub async fn save(rec: &SavedUpload) -> Result<(), Error> {
    let text = serde_json::to_string(rec).map_err(|e| idb_err("save", e))?;
    with_store(IdbTransactionMode::Readwrite, |s| s.put_with_key(&JsValue::from_str(&text), &JsValue::from_str(&rec.key))).await?;
    Ok(())
}

/// The record under `key`, if any.
pub async fn load(key: &str) -> Result<Option<SavedUpload>, Error> {
    let v = with_store(IdbTransactionMode::Readonly, |s| s.get(&JsValue::from_str(key))).await?;
    Ok(v.as_string().and_then(|t| crate::json::from_str(&t).ok()))
}

/// Every record.
pub async fn all() -> Result<Vec<SavedUpload>, Error> {
    let v = with_store(IdbTransactionMode::Readonly, |s| s.get_all()).await?;
    Ok(js_sys::Array::from(&v)
        .iter()
        .filter_map(|x| x.as_string())
        .filter_map(|t| crate::json::from_str(&t).ok())
        .collect())
}

/// Deletes the record under `key`.
pub async fn remove(key: &str) -> Result<(), Error> {
    with_store(IdbTransactionMode::Readwrite, |s| s.delete(&JsValue::from_str(key))).await?;
    Ok(())
}

/// Deletes every record of `upload_id`; returns how many there were.
pub async fn remove_upload(upload_id: &str) -> Result<usize, Error> {
    let mut n = 0;
    for rec in all().await?.into_iter().filter(|r| r.upload_id == upload_id) {
        remove(&rec.key).await?;
        n += 1;
    }
    Ok(n)
}
