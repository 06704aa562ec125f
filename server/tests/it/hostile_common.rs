//! Shared helpers of the hostile-request tests: the local store (HealthOmics + Seven Bridges)
//! and the proxy in front of it, both served by `readset_server::serving` with short test
//! timeouts on 127.0.0.1:0; raw requests written byte by byte; and a snapshot of everything the
//! store keeps (files and every SQLite row) to prove a refused request changed nothing.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use readset_server::proxy::{self, Authenticator, Principal, StoreScope};
use readset_server::local::sbg::SbgConfig;
use readset_server::serving::{serve_with_limits, ServeLimits};
use readset_server::local::omics::{self as store, StoreConfig, DEFAULT_ACCESS_KEY_ID, DEFAULT_SECRET_ACCESS_KEY, REGION};

/// The JWT secret the test proxy accepts.
pub const JWT_SECRET: &[u8] = b"hostile-tests-jwt-secret-0123456789abcdef";
/// A static token allowed on the first store only.
pub const STATIC_TOKEN: &str = "hostile-static-token-0123456789";
/// The Seven Bridges token of the test store.
pub const SBG_TOKEN: &str = "hostile-sbg-token-0123456789";
/// Longest wait for any answer.

/// Short limits so timeouts show within a test's bounded waits.
pub fn test_limits() -> ServeLimits {
    ServeLimits {
        header_read_timeout: Duration::from_millis(800),
        body_idle_timeout: Duration::from_millis(800),
        write_idle_timeout: Duration::from_secs(2),
        ..ServeLimits::default()
    }
}

/// A store and a proxy in front of it, with one store and one open upload the token may use
/// (`store_id`, `upload_id`) and one of each it may not (`other_store`, `other_upload`).
pub struct Servers {
    pub dir: tempfile::TempDir,
    pub store: SocketAddr,
    pub proxy: SocketAddr,
    pub store_id: String,
    pub upload_id: String,
    pub other_store: String,
    pub other_upload: String,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

/// The upload grant key of the hostile proxies.
pub const GRANT_KEY: &[u8] = b"hostile-upload-grant-key-0123456789abcdef";

impl Servers {
    /// The grant the proxy issues to the static token's user for `upload` in `store` (the
    /// uploads here are made directly at the store, so no Create answer carried one).
    pub fn grant(&self, store: &str, upload: &str) -> String {
        let owner = Principal::new("test", "static-user", StoreScope::Any, vec![]).owner_id();
        proxy::ownership::UploadGrants::new(GRANT_KEY).unwrap().grant(store, upload, &owner)
    }

    /// The grant of the allowed store's upload.
    pub fn upload_grant(&self) -> String {
        self.grant(&self.store_id, &self.upload_id)
    }
}

impl Drop for Servers {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

pub async fn spawn_servers(limits: ServeLimits) -> Servers {
    let dir = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let store_addr = listener.local_addr().unwrap();
    let mut sbg = SbgConfig::new(dir.path().join("sbg"), format!("http://{store_addr}"));
    sbg.token = SBG_TOKEN.into();
    sbg.min_part_size = 1024;
    let config = StoreConfig {
        hosts: readset_server::hosts::AllowedHosts::for_listen(store_addr),
        ..crate::support::store_config(&dir.path().join("store"))
    };
    let app = store::app_with_sbg(config, sbg).await.unwrap();
    let mut tasks = vec![tokio::spawn(async move { serve_with_limits(listener, app, limits).await.unwrap() })];

    let store_id = create_store(store_addr, "allowed").await;
    let other_store = create_store(store_addr, "forbidden").await;
    let upload_id = create_upload(store_addr, &store_id).await;
    let other_upload = create_upload(store_addr, &other_store).await;

    let principal = Principal::new("test", "static-user", StoreScope::Only(vec![store_id.clone()]), vec![]);
    let auth = Authenticator::new().with_jwt_secret(JWT_SECRET).unwrap().with_static_token(STATIC_TOKEN, principal).unwrap();
    let mut config =
        proxy::ProxyConfig::local_store(&format!("http://{store_addr}"), REGION, DEFAULT_ACCESS_KEY_ID, DEFAULT_SECRET_ACCESS_KEY, auth).unwrap();
    config.grants = proxy::ownership::UploadGrants::new(GRANT_KEY).unwrap();
    let proxy_app = proxy::app(config).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let proxy_addr = listener.local_addr().unwrap();
    tasks.push(tokio::spawn(async move { serve_with_limits(listener, proxy_app, limits).await.unwrap() }));
    Servers { dir, store: store_addr, proxy: proxy_addr, store_id, upload_id, other_store, other_upload, tasks }
}

async fn create_store(addr: SocketAddr, name: &str) -> String {
    let body = serde_json::json!({ "name": name }).to_string();
    let answer = send(addr, &signed(addr, "POST", "/sequencestore", &[("content-type", "application/json")], body.as_bytes())).await;
    assert_eq!(answer.status, 200, "create store: {}", answer.body);
    answer.json()["id"].as_str().unwrap().to_owned()
}

async fn create_upload(addr: SocketAddr, store_id: &str) -> String {
    let body = serde_json::json!({ "sourceFileType": "FASTQ", "subjectId": "s", "sampleId": "x", "name": "n" }).to_string();
    let path = format!("/sequencestore/{store_id}/upload");
    let answer = send(addr, &signed(addr, "POST", &path, &[("content-type", "application/json")], body.as_bytes())).await;
    assert_eq!(answer.status, 200, "create upload: {}", answer.body);
    answer.json()["uploadId"].as_str().unwrap().to_owned()
}

pub use crate::support::{read_answer, request, send, sigv4_headers, Answer, WAIT};

/// Signs a store request with the store's default keys (the one test signer,
/// [`sigv4_headers`]) and returns it as raw bytes; parts are `UNSIGNED-PAYLOAD`.
pub fn signed(addr: SocketAddr, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    signed_at(addr, method, path, headers, body, SystemTime::now(), DEFAULT_SECRET_ACCESS_KEY)
}

pub fn signed_at(addr: SocketAddr, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8], time: SystemTime, secret: &str) -> Vec<u8> {
    let host = addr.to_string();
    let mut to_sign: Vec<(&str, &str)> = vec![("host", host.as_str())];
    to_sign.extend(headers.iter().filter(|(k, _)| !k.eq_ignore_ascii_case("content-length")).copied());
    let payload = if method == "PUT" && path.contains("/part") { None } else { Some(body) };
    let extra = sigv4_headers(addr, method, path, &to_sign, payload, time, secret);
    let mut all: Vec<(String, String)> = headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    all.extend(extra);
    let refs: Vec<(&str, &str)> = all.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    request(addr, method, path, &refs, body)
}

/// Everything the store keeps: every file (path, size) outside the scratch folder and every
/// row of every SQLite table, so two snapshots differ exactly when something was stored.
#[derive(Debug, PartialEq, Eq)]
pub struct Snapshot {
    pub files: BTreeMap<PathBuf, u64>,
    pub rows: BTreeMap<String, Vec<String>>,
}

pub fn snapshot(root: &Path) -> Snapshot {
    let mut files = BTreeMap::new();
    let mut dbs = Vec::new();
    walk(root, root, &mut files, &mut dbs);
    let mut rows = BTreeMap::new();
    for db in dbs {
        let conn = rusqlite::Connection::open_with_flags(&db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
        let tables: Vec<String> = conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        for table in tables {
            let mut stmt = conn.prepare(&format!("SELECT * FROM \"{table}\"")).unwrap();
            let n = stmt.column_count();
            let mut dump: Vec<String> = stmt
                .query_map([], |r| Ok((0..n).map(|i| format!("{:?}", r.get_ref(i).unwrap())).collect::<Vec<_>>().join("|")))
                .unwrap()
                .map(Result::unwrap)
                .collect();
            dump.sort();
            rows.insert(format!("{}:{table}", db.strip_prefix(root).unwrap().display()), dump);
        }
    }
    Snapshot { files, rows }
}

fn walk(root: &Path, dir: &Path, files: &mut BTreeMap<PathBuf, u64>, dbs: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if path.is_dir() {
            // Scratch folders hold bodies while they stream in; they never count as stored.
            if name != "tmp" {
                walk(root, &path, files, dbs);
            }
        } else if name.contains(".sqlite") {
            if name.ends_with(".sqlite") || name.ends_with(".sqlite3") {
                dbs.push(path);
            }
        } else {
            files.insert(path.strip_prefix(root).unwrap().to_owned(), entry.metadata().map(|m| m.len()).unwrap_or(0));
        }
    }
}

/// A valid JWT for `stores`, expiring `exp_in` seconds from now (negative: in the past).
pub fn jwt(stores: &[&str], exp_in: i64) -> String {
    let now = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs() as i64;
    let claims = serde_json::json!({ "sub": "alice", "exp": now + exp_in, "stores": stores });
    jsonwebtoken::encode(&jsonwebtoken::Header::default(), &claims, &jsonwebtoken::EncodingKey::from_secret(JWT_SECRET)).unwrap()
}

/// base64url without padding, to forge JWT pieces by hand.
pub fn b64(data: &[u8]) -> String {
    crate::support::b64url(data)
}

/// A FASTQ part body (gzip of a few reads).
pub fn fastq_gz() -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(b"@r1\nACGT\n+\nIIII\n@r2\nTTGA\n+\nIIII\n").unwrap();
    e.finish().unwrap()
}
