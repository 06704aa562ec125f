//! Shared helpers of the proxy tests: a recording upstream (a real axum server on port 0 that
//! verifies SigV4 with `aws-sigv4` and records what reached it), the proxy on port 0, JWT minting
//! and a raw HTTP/1.1 client for requests `reqwest` would normalise.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use readset_server::proxy::{self, Authenticator, Principal, ProxyConfig, StoreScope, Upstream};
use sha2::{Digest, Sha256};
use tokio::sync::watch;

pub const ACCESS_KEY_ID: &str = "AKIDPROXYTEST";
pub const SECRET_ACCESS_KEY: &str = "proxy-test-secret-access-key";
pub const REGION: &str = "us-east-1";
pub const JWT_SECRET: &[u8] = b"0123456789abcdef0123456789abcdef-proxy-tests";
pub const STATIC_TOKEN: &str = "static-token-for-store-1111111111";
pub const STORE: &str = "1111111111";
pub const OTHER_STORE: &str = "2222222222";
pub const UPLOAD: &str = "3333333333";
/// The upload grant key of the test proxies.
pub const GRANT_KEY: &[u8] = b"upload-grant-key-of-the-proxy-tests-0123456789";

/// The grant the test proxy issues for `upload` in `store` to the user `sub` of `issuer`.
pub fn grant_for(store: &str, upload: &str, issuer: &str, sub: &str) -> String {
    let owner = Principal::new(issuer, sub, StoreScope::Any, vec![]).owner_id();
    proxy::ownership::UploadGrants::new(GRANT_KEY).unwrap().grant(store, upload, &owner)
}

/// The grant of `upload` for the static token's user.
pub fn static_grant(store: &str, upload: &str) -> String {
    grant_for(store, upload, "test", "static-user")
}

/// The grant of `upload` for the user of [`jwt_for`] (`alice`, HS256 without `iss`).
pub fn alice_grant(store: &str, upload: &str) -> String {
    grant_for(store, upload, proxy::auth::HS256_ISSUER, "alice")
}

/// Bound on every wait in the tests (a failure bound, not a performance threshold).
pub const WAIT: Duration = Duration::from_secs(20);

/// What the recording upstream answers.
#[derive(Debug, Clone)]
pub enum Mode {
    /// 200 with a JSON body naming the received body's SHA-256.
    Ok,
    /// This status, with these headers, and body.
    Reply(u16, Vec<(&'static str, &'static str)>, &'static str),
    /// Never answer.
    Hang,
}

/// One request as the upstream saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub path_and_query: String,
    pub headers: HeaderMap,
    pub body_len: u64,
    pub body_sha256: String,
    /// The body was read to its end without error.
    pub body_complete: bool,
    /// The SigV4 signature recomputed with `aws-sigv4` matches the one sent.
    pub signature_valid: bool,
}

#[derive(Clone)]
pub struct Recorder {
    pub seen: Arc<Mutex<Vec<Seen>>>,
    pub mode: Arc<Mutex<Mode>>,
    /// Bytes of the current body received so far.
    pub progress: watch::Sender<u64>,
    /// Number of requests whose body has been fully read or failed.
    pub finished: watch::Sender<usize>,
}

impl Recorder {
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
    pub fn set_mode(&self, mode: Mode) {
        *self.mode.lock().unwrap() = mode;
    }
}

/// Starts the recording upstream on 127.0.0.1:0.
pub async fn spawn_upstream() -> (SocketAddr, Recorder) {
    let recorder = Recorder {
        seen: Arc::default(),
        mode: Arc::new(Mutex::new(Mode::Ok)),
        progress: watch::channel(0).0,
        finished: watch::channel(0).0,
    };
    let app = axum::Router::new().fallback(record).with_state(recorder.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (addr, recorder)
}

async fn record(State(rec): State<Recorder>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let mut hasher = Sha256::new();
    let mut len = 0u64;
    let mut complete = true;
    let mut stream = body.into_data_stream();
    // The whole body is kept only to check a signed JSON payload; parts are only hashed.
    let unsigned = parts.headers.get("x-amz-content-sha256").is_some_and(|v| v == "UNSIGNED-PAYLOAD");
    let mut kept = Vec::new();
    rec.progress.send_replace(0);
    while let Some(chunk) = stream.next().await {
        match chunk {
            Ok(c) => {
                len += c.len() as u64;
                hasher.update(&c);
                if !unsigned {
                    kept.extend_from_slice(&c);
                }
                rec.progress.send_replace(len);
            }
            Err(_) => {
                complete = false;
                break;
            }
        }
    }
    let path_and_query = parts.uri.path_and_query().map(|p| p.to_string()).unwrap_or_default();
    let signature_valid = verify_sigv4(parts.method.as_str(), &path_and_query, &parts.headers, if unsigned { None } else { Some(&kept) });
    let sha = hex::encode(hasher.finalize());
    rec.seen.lock().unwrap().push(Seen {
        method: parts.method.to_string(),
        path_and_query,
        headers: parts.headers.clone(),
        body_len: len,
        body_sha256: sha.clone(),
        body_complete: complete,
        signature_valid,
    });
    rec.finished.send_modify(|n| *n += 1);
    let mode = rec.mode.lock().unwrap().clone();
    match mode {
        Mode::Ok => {
            let mut r = axum::Json(serde_json::json!({ "sha256": sha, "length": len })).into_response();
            r.headers_mut().insert("x-amzn-RequestId", "upstream-req-1".parse().unwrap());
            r
        }
        Mode::Reply(status, headers, body) => {
            let mut r = (StatusCode::from_u16(status).unwrap(), body).into_response();
            for (k, v) in headers {
                r.headers_mut().insert(k, v.parse().unwrap());
            }
            r
        }
        Mode::Hang => {
            std::future::pending::<()>().await;
            unreachable!()
        }
    }
}

/// Recomputes the SigV4 signature of a received request with `aws-sigv4` from the shared test
/// credentials, over exactly the headers it lists as signed.
pub fn verify_sigv4(method: &str, path_and_query: &str, headers: &HeaderMap, body: Option<&[u8]>) -> bool {
    let Some(auth) = headers.get("authorization").and_then(|v| v.to_str().ok()) else { return false };
    let Some(rest) = auth.strip_prefix("AWS4-HMAC-SHA256 ") else { return false };
    let mut credential = None;
    let mut signed_headers = None;
    let mut signature = None;
    for field in rest.split(',') {
        let (k, v) = field.trim().split_once('=').unwrap_or(("", ""));
        match k {
            "Credential" => credential = Some(v),
            "SignedHeaders" => signed_headers = Some(v),
            "Signature" => signature = Some(v),
            _ => {}
        }
    }
    let (Some(credential), Some(signed_headers), Some(signature)) = (credential, signed_headers, signature) else { return false };
    let scope: Vec<&str> = credential.split('/').collect();
    if scope.len() != 5 || scope[0] != ACCESS_KEY_ID || scope[2] != REGION || scope[3] != "omics" {
        return false;
    }
    let Some(time) = headers.get("x-amz-date").and_then(|v| v.to_str().ok()).and_then(parse_amz_date) else { return false };
    let Some(host) = headers.get("host").and_then(|v| v.to_str().ok()) else { return false };
    let mut signed: Vec<(String, String)> = Vec::new();
    for name in signed_headers.split(';') {
        if name == "x-amz-date" || name == "x-amz-content-sha256" {
            continue; // re-added by the signer
        }
        let Some(value) = headers.get(name).and_then(|v| v.to_str().ok()) else { return false };
        signed.push((name.to_owned(), value.to_owned()));
    }
    let signed: Vec<(&str, &str)> = signed.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let Some((_, expected)) = crate::support::sigv4_sign(host, (ACCESS_KEY_ID, SECRET_ACCESS_KEY), method, path_and_query, &signed, body, time) else {
        return false;
    };
    expected == signature
        && headers.get("x-amz-content-sha256").is_some()
}

/// `YYYYMMDDTHHMMSSZ` to a time.
fn parse_amz_date(s: &str) -> Option<SystemTime> {
    if s.len() != 16 {
        return None;
    }
    let n = |a: usize, b: usize| s.get(a..b)?.parse::<i64>().ok();
    let (y, m, d, hh, mm, ss) = (n(0, 4)?, n(4, 6)?, n(6, 8)?, n(9, 11)?, n(11, 13)?, n(13, 15)?);
    // Days from civil (Howard Hinnant's algorithm).
    let y2 = if m <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + hh * 3600 + mm * 60 + ss;
    Some(UNIX_EPOCH + Duration::from_secs(secs as u64))
}

/// Authenticator of the tests: the JWT secret, and a static token for [`STORE`] only.
pub fn test_auth() -> Authenticator {
    Authenticator::new()
        .with_jwt_secret(JWT_SECRET)
        .unwrap()
        .with_static_token(STATIC_TOKEN, Principal::new("test", "static-user", StoreScope::Only(vec![STORE.into()]), vec![]))
        .unwrap()
}

/// A proxy configuration in front of `upstream`, signing with the test credentials.
pub fn test_config(upstream: SocketAddr) -> ProxyConfig {
    let mut config = ProxyConfig::new(
        Upstream::parse(&format!("http://{upstream}")).unwrap(),
        REGION,
        proxy::static_credentials(ACCESS_KEY_ID, SECRET_ACCESS_KEY),
        test_auth(),
    );
    config.allowed_origins = proxy::AllowedOrigins::from_list(&["https://portal.example"]);
    config.grants = proxy::ownership::UploadGrants::new(GRANT_KEY).unwrap();
    config
}

/// Serves the proxy built from `config` on 127.0.0.1:0.
pub async fn spawn_proxy(config: ProxyConfig) -> SocketAddr {
    let app = proxy::app(config).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

pub fn now_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

/// A JWT as a portal backend would mint it (HS256 with the shared secret).
pub fn mint_jwt(claims: serde_json::Value) -> String {
    jsonwebtoken::encode(&jsonwebtoken::Header::default(), &claims, &jsonwebtoken::EncodingKey::from_secret(JWT_SECRET)).unwrap()
}

/// A valid JWT for `stores`, expiring in ten minutes.
pub fn jwt_for(stores: &[&str]) -> String {
    mint_jwt(serde_json::json!({ "sub": "alice", "exp": now_secs() + 600, "stores": stores }))
}

pub fn part_path(store: &str, upload: &str, number: u32) -> String {
    format!("/omics/sequencestore/{store}/upload/{upload}/part?partNumber={number}&partSource=SOURCE1")
}

/// A parsed raw HTTP response (the shared raw client's answer).
pub type RawResponse = crate::support::Answer;

/// Sends `head` (request line and headers, without the final blank line; `Connection: close`
/// is added) plus `body`, and reads the answer to the end of the connection.
pub async fn raw_request(addr: SocketAddr, head: &str, body: &[u8]) -> RawResponse {
    let mut bytes = format!("{head}\r\nHost: {addr}\r\nConnection: close\r\n\r\n").into_bytes();
    bytes.extend_from_slice(body);
    crate::support::send(addr, &bytes).await
}

/// A body of `len` deterministic bytes.
pub fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

#[allow(unused_imports)] // proxy_cli includes this module and does not use it
pub use crate::support::sha256_hex;

pub fn body_stream_from(rx: tokio::sync::mpsc::Receiver<Vec<u8>>) -> Body {
    Body::from_stream(futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|chunk| (Ok::<_, std::io::Error>(bytes::Bytes::from(chunk)), rx))
    }))
}
