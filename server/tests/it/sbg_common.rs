//! Shared by the `sbg_*` tests: a real server on 127.0.0.1:0 serving the Seven Bridges
//! router over a temporary data dir, and a small client speaking its protocol.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use readset_server::local::sbg::{self, SbgConfig};
use reqwest::{Method, RequestBuilder, Response};
use serde_json::{json, Value};

/// Part size the tests use (the config's minimum is lowered to it).
pub const PART: u64 = 1024;

/// A running server.
pub struct App {
    /// `http://127.0.0.1:PORT`
    pub base: String,
    /// The token it accepts.
    pub token: String,
    /// Plain HTTP client (no token added by itself).
    pub http: reqwest::Client,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for App {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// A fresh temporary data dir, removed when dropped.
pub fn data_dir() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

/// Serves the router over `dir` with test defaults (1 KiB minimum part size), changed by `tweak`.
pub async fn spawn(dir: &Path, tweak: impl FnOnce(&mut SbgConfig)) -> App {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().unwrap());
    let mut config = SbgConfig::new(PathBuf::from(dir), base.clone());
    config.min_part_size = PART;
    tweak(&mut config);
    let token = config.token.clone();
    let app = sbg::router(config).await.expect("router");
    let server = tokio::spawn(async move {
        axum::serve(listener, app).await.expect("serve");
    });
    let http = reqwest::Client::builder().timeout(Duration::from_secs(30)).build().unwrap();
    App { base, token, http, server }
}

/// Deterministic, non-repeating-looking test bytes.
pub fn bytes(len: usize, seed: u8) -> Vec<u8> {
    (0..len).map(|i| ((i as u32).wrapping_mul(2_654_435_761) >> 13) as u8 ^ seed).collect()
}

/// Reads the JSON body of a response, asserting its status first (with the body in the message).
pub async fn json_of(resp: Response, status: u16) -> Value {
    let got = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    assert_eq!(got, status, "unexpected status; body: {text}");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// Asserts an error body `{status, code, message, more_info}` and returns the message.
pub async fn error_of(resp: Response, status: u16, code: u64) -> String {
    let v = json_of(resp, status).await;
    assert_eq!(v["status"], json!(status), "{v}");
    assert_eq!(v["code"], json!(code), "{v}");
    assert!(v["more_info"].is_string(), "{v}");
    v["message"].as_str().expect("message").to_owned()
}

impl App {
    /// An API request with the token.
    pub fn api(&self, method: Method, path: &str) -> RequestBuilder {
        self.http.request(method, format!("{}{path}", self.base)).header("X-SBG-Auth-Token", &self.token)
    }

    /// Starts an upload; returns the answer.
    pub async fn init(&self, project: &str, name: &str, size: u64) -> Value {
        let resp = self
            .api(Method::POST, "/v2/upload/multipart")
            .json(&json!({"project": project, "name": name, "size": size, "part_size": PART}))
            .send()
            .await
            .unwrap();
        json_of(resp, 200).await
    }

    /// The part URL answer for part `n`.
    pub async fn part_url(&self, upload_id: &str, n: u32) -> Value {
        let resp = self.api(Method::GET, &format!("/v2/upload/multipart/{upload_id}/part/{n}")).send().await.unwrap();
        json_of(resp, 200).await
    }

    /// PUTs `body` to a part URL answer, with every header it lists.
    pub async fn put(&self, url: &Value, body: Vec<u8>) -> Response {
        assert_eq!(url["method"], "PUT");
        let mut req = self.http.put(url["url"].as_str().unwrap()).body(body);
        for (k, v) in url["headers"].as_object().unwrap() {
            req = req.header(k, v.as_str().unwrap());
        }
        req.send().await.unwrap()
    }

    /// Gets a part URL, PUTs the part and returns its ETag (asserting 200).
    pub async fn upload_part(&self, upload_id: &str, n: u32, body: Vec<u8>) -> String {
        let url = self.part_url(upload_id, n).await;
        let resp = self.put(&url, body).await;
        assert_eq!(resp.status(), 200, "PUT part {n}: {}", resp.text().await.unwrap());
        resp.headers()["etag"].to_str().unwrap().to_owned()
    }

    /// Reports one part.
    pub async fn report(&self, upload_id: &str, n: u32, etag: &str) -> Response {
        self.api(Method::POST, &format!("/v2/upload/multipart/{upload_id}/part"))
            .json(&json!({"part_number": n, "response": {"headers": {"ETag": etag}}}))
            .send()
            .await
            .unwrap()
    }

    /// Reports many parts at once.
    pub async fn report_many(&self, upload_id: &str, parts: &[(u32, String)]) -> Response {
        let parts: Vec<Value> = parts
            .iter()
            .map(|(n, etag)| json!({"part_number": n, "response": {"headers": {"ETag": etag}}}))
            .collect();
        self.api(Method::POST, &format!("/v2/upload/multipart/{upload_id}"))
            .json(&json!({ "parts": parts }))
            .send()
            .await
            .unwrap()
    }

    /// Completes an upload.
    pub async fn complete(&self, upload_id: &str) -> Response {
        self.api(Method::POST, &format!("/v2/upload/multipart/{upload_id}/complete")).send().await.unwrap()
    }

    /// Uploads `data` in parts of [`PART`] and reports them in bulk; returns the upload id.
    pub async fn upload_reported(&self, project: &str, name: &str, data: &[u8]) -> String {
        let up = self.init(project, name, data.len() as u64).await;
        let id = up["upload_id"].as_str().unwrap().to_owned();
        let mut etags = Vec::new();
        for (i, chunk) in data.chunks(PART as usize).enumerate() {
            let n = i as u32 + 1;
            etags.push((n, self.upload_part(&id, n, chunk.to_vec()).await));
        }
        json_of(self.report_many(&id, &etags).await, 200).await;
        id
    }

    /// Downloads file `id` through `download_info`.
    pub async fn download(&self, file_id: &str) -> Vec<u8> {
        let resp = self.api(Method::GET, &format!("/v2/files/{file_id}/download_info")).send().await.unwrap();
        let info = json_of(resp, 200).await;
        let resp = self.http.get(info["url"].as_str().unwrap()).send().await.unwrap();
        assert_eq!(resp.status(), 200);
        resp.bytes().await.unwrap().to_vec()
    }
}
