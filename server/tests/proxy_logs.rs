//! Logs carry the request id on every line and never a token, a secret or an Authorization
//! header. (Own test binary: `tracing` keeps per-callsite state process-wide, and with other
//! tests installing their own subscribers on other threads at the same time a line here went
//! missing now and then.)

#[path = "it/proxy_common.rs"]
mod proxy_common;
#[allow(dead_code)]
#[path = "it/support.rs"]
mod support;

use std::io::Write;
use std::sync::{Arc, Mutex};

use proxy_common::*;

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn every_log_line_has_the_request_id_and_no_secret() {
    let captured = Captured::default();
    let writer = captured.clone();
    // This thread's subscriber only: the test binary runs other tests' servers at the same
    // time, and their lines are not this test's. The proxy below runs on this test's
    // single-threaded runtime, so every line it writes is captured.
    let _guard = tracing::subscriber::set_default(
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish(),
    );
    let (up, _rec) = spawn_upstream().await;
    let proxy = spawn_proxy(test_config(up)).await;
    let jwt = jwt_for(&[STORE]);
    let client = reqwest::Client::new();
    let mut ids = Vec::new();
    let cases = [
        (reqwest::Method::GET, jwt.as_str(), format!("/omics/sequencestore/{STORE}")),
        (reqwest::Method::PUT, STATIC_TOKEN, part_path(STORE, UPLOAD, 1)),
        (reqwest::Method::GET, jwt.as_str(), format!("/omics/sequencestore/{OTHER_STORE}")),
        (reqwest::Method::GET, "wrong-token-value-123456", format!("/omics/sequencestore/{STORE}")),
    ];
    for (method, token, path) in cases {
        let body = if method == reqwest::Method::PUT { vec![1u8; 3] } else { Vec::new() };
        let res = client.request(method, format!("http://{proxy}{path}")).bearer_auth(token).body(body).send().await.unwrap();
        ids.push(res.headers()["x-readset-request-id"].to_str().unwrap().to_owned());
        let _ = res.bytes().await;
    }
    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    for secret in [jwt.as_str(), STATIC_TOKEN, "wrong-token-value-123456", SECRET_ACCESS_KEY, std::str::from_utf8(JWT_SECRET).unwrap()] {
        assert!(!logs.contains(secret), "a secret reached the logs");
    }
    assert!(!logs.to_ascii_lowercase().contains("authorization:"), "no header dump in the logs");
    for id in &ids {
        assert!(logs.contains(id.as_str()), "request id {id} is logged");
    }
    // Every line written while a proxy request was handled carries its request id.
    let proxy_lines: Vec<&str> = logs.lines().filter(|l| l.contains("readset_server::proxy")).collect();
    assert!(!proxy_lines.is_empty());
    for line in proxy_lines {
        assert!(line.contains("request_id="), "line without request id: {line}");
    }
}
