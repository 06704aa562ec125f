//! Shared helpers of the local-store tests: a store on 127.0.0.1:0 with a temp data folder, an
//! official AWS SDK client pointed at it, raw SigV4-signed requests, and bounded polling.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, SystemTime};

use aws_sdk_omics::config::{BehaviorVersion, Credentials, Region};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextMut;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use readset_server::local::omics::{self as store, StoreConfig, DEFAULT_ACCESS_KEY_ID, DEFAULT_SECRET_ACCESS_KEY, REGION};

/// A store serving on 127.0.0.1; aborted when dropped (its data folder stays).
pub struct TestStore {
    pub addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for TestStore {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Test timings: jobs move every 100 ms, uploads are processed after 50 ms.
pub fn config(data: &Path) -> StoreConfig {
    crate::support::store_config(data)
}

/// Starts the store of `readset_server::local::omics::app` on port 0 over `data`, answering to its
/// own address only (`127.0.0.1:PORT`, `localhost:PORT`, `[::1]:PORT`).
pub async fn spawn(data: &Path) -> TestStore {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().unwrap();
    let config = StoreConfig { hosts: readset_server::hosts::AllowedHosts::for_listen(addr), ..config(data) };
    let app = store::app(config).await.expect("store app");
    let task = tokio::spawn(async move {
        axum::serve(listener, app).await.expect("serve");
    });
    TestStore { addr, task }
}

/// The SDK prepends a host prefix (`storage-`, `control-storage-`, `tags-`, ...) to the
/// endpoint host of every omics operation (the model's `@endpoint(hostPrefix)`), even with an
/// endpoint override, and the Rust SDK has no switch to turn that off (the Go, Python and Ruby
/// SDKs have one). This interceptor runs after the endpoint, prefix included, has been applied
/// and before the request is signed (`modify_before_signing`), and puts the configured
/// authority back, so the request goes to, and is signed for, plain `127.0.0.1:PORT`.
#[derive(Debug)]
pub struct StripHostPrefix {
    /// `127.0.0.1:PORT`
    pub authority: String,
}

impl Intercept for StripHostPrefix {
    fn name(&self) -> &'static str {
        "StripHostPrefix"
    }

    fn modify_before_signing(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _rc: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let req = context.request_mut();
        let uri: http::Uri = req.uri().parse()?;
        let mut parts = uri.into_parts();
        parts.authority = Some(self.authority.parse()?);
        req.set_uri(http::Uri::from_parts(parts)?.to_string())?;
        Ok(())
    }
}

/// An unmodified `aws-sdk-omics` client for the store at `addr`, signing with the given keys.
pub fn client_with(addr: SocketAddr, access_key: &str, secret: &str) -> aws_sdk_omics::Client {
    let conf = aws_sdk_omics::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .credentials_provider(Credentials::new(access_key, secret, None, None, "store-tests"))
        .endpoint_url(format!("http://{addr}"))
        .interceptor(StripHostPrefix { authority: addr.to_string() })
        .build();
    aws_sdk_omics::Client::from_conf(conf)
}

/// An SDK client with the store's default credentials.
pub fn client(addr: SocketAddr) -> aws_sdk_omics::Client {
    client_with(addr, DEFAULT_ACCESS_KEY_ID, DEFAULT_SECRET_ACCESS_KEY)
}

/// Polls `f` every 50 ms, at most 200 times (10 s), until it returns `Some`.
pub async fn poll<T, F, Fut>(what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    for _ in 0..200 {
        if let Some(v) = f().await {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("gave up waiting for {what}");
}

/// Hex SHA-256.
pub use crate::support::sha256_hex;

/// gzip of `b` as one member.
pub fn gzip(b: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(b).unwrap();
    e.finish().unwrap()
}

/// A FASTQ text of `n` reads of `len` bases, `tag` in the read names.
pub fn fastq(n: usize, len: usize, tag: &str) -> Vec<u8> {
    let bases = b"ACGT";
    let mut out = Vec::new();
    for i in 0..n {
        out.extend(format!("@{tag}:{i}\n").bytes());
        out.extend((0..len).map(|j| bases[(i * 7 + j * 3) % 4]));
        out.extend(b"\n+\n");
        out.extend(std::iter::repeat_n(b'I', len));
        out.push(b'\n');
    }
    out
}

/// A raw request: method, path with query, headers, body.
pub struct Raw {
    pub method: &'static str,
    pub path_and_query: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Raw {
    pub fn new(method: &'static str, path_and_query: impl Into<String>, body: impl Into<Vec<u8>>) -> Raw {
        Raw { method, path_and_query: path_and_query.into(), headers: Vec::new(), body: body.into() }
    }
}

/// Signs `raw` for the store at `addr` with the official `aws-sigv4` signer, as of `time`,
/// returning the headers to add (`authorization`, `x-amz-date`, `x-amz-content-sha256`).
pub fn sign(addr: SocketAddr, raw: &Raw, secret: &str, time: SystemTime, unsigned_payload: bool) -> Vec<(String, String)> {
    let headers: Vec<(&str, &str)> = raw.headers.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let body = (!unsigned_payload).then_some(raw.body.as_slice());
    crate::support::sigv4_headers(addr, raw.method, &raw.path_and_query, &headers, body, time, secret)
}

/// What a raw request got back.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub error_type: Option<String>,
    pub body: String,
    pub headers: reqwest::header::HeaderMap,
}

impl Answer {
    pub fn message(&self) -> String {
        serde_json::from_str::<serde_json::Value>(&self.body)
            .ok()
            .and_then(|v| v["message"].as_str().map(str::to_string))
            .unwrap_or_default()
    }
}

/// Sends `raw` (with `extra` headers) to the store with reqwest.
pub async fn send(addr: SocketAddr, raw: &Raw, extra: &[(String, String)]) -> Answer {
    let method = reqwest::Method::from_bytes(raw.method.as_bytes()).unwrap();
    let mut req = reqwest::Client::new().request(method, format!("http://{addr}{}", raw.path_and_query));
    for (k, v) in raw.headers.iter().chain(extra) {
        req = req.header(k, v);
    }
    let resp = req.body(raw.body.clone()).send().await.expect("send");
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let error_type = headers.get("x-amzn-errortype").map(|v| v.to_str().unwrap().to_string());
    let body = resp.text().await.unwrap_or_default();
    Answer { status, error_type, body, headers }
}

/// Signs with the default credentials, now, and sends.
pub async fn send_signed(addr: SocketAddr, raw: &Raw) -> Answer {
    let h = sign(addr, raw, DEFAULT_SECRET_ACCESS_KEY, SystemTime::now(), false);
    send(addr, raw, &h).await
}
