//! What every test module shares: one raw HTTP/1.1 client (bytes on a TCP stream, so malformed
//! and half-sent requests can be written), one SigV4 signer (the official `aws-sigv4` crate,
//! independent of the proxy's own signing code), the store's test timings, and `sha256_hex`.

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, SystemTime};

use readset_server::local::omics::{StoreConfig, DEFAULT_ACCESS_KEY_ID, REGION};
use sha2::Digest;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The longest any raw exchange may take.
pub const WAIT: Duration = Duration::from_secs(10);

/// Test timings of the local store: jobs move every 100 ms, uploads are processed after 50 ms.
pub fn store_config(data: &Path) -> StoreConfig {
    StoreConfig { job_step: Duration::from_millis(100), processing_delay: Duration::from_millis(50), ..StoreConfig::new(data) }
}

/// base64url without padding (JWT pieces forged by hand).
pub fn b64url(data: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(data)
}

/// Hex SHA-256 of `data`.
pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(sha2::Sha256::digest(data))
}

/// Signs a request to the local store at `addr` with the official `aws-sigv4` signer, with the
/// store's access key and `secret`, as of `time`. `body: None` signs `UNSIGNED-PAYLOAD`.
/// Returns the headers to add (`authorization`, `x-amz-date`, `x-amz-content-sha256`).
pub fn sigv4_headers(
    addr: SocketAddr,
    method: &str,
    path_and_query: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
    time: SystemTime,
    secret: &str,
) -> Vec<(String, String)> {
    let keys = (DEFAULT_ACCESS_KEY_ID, secret);
    sigv4_sign(&addr.to_string(), keys, method, path_and_query, headers, body, time).expect("sign").0
}

/// The one SigV4 computation of the tests (service `omics`, the store's region, an
/// `x-amz-content-sha256` header): the headers to add and the signature, for a request to
/// `host` signed with `keys` (access key ID, secret) as of `time`. `None` when the request
/// cannot be signed (a header value or URL the signer refuses).
pub fn sigv4_sign(
    host: &str,
    keys: (&str, &str),
    method: &str,
    path_and_query: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
    time: SystemTime,
) -> Option<(Vec<(String, String)>, String)> {
    use aws_sigv4::http_request::{sign, PayloadChecksumKind, SignableBody, SignableRequest, SigningSettings};
    let identity = aws_credential_types::Credentials::new(keys.0, keys.1, None, None, "test").into();
    let mut settings = SigningSettings::default();
    settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region(REGION)
        .name("omics")
        .time(time)
        .settings(settings)
        .build()
        .ok()?
        .into();
    let uri = format!("http://{host}{path_and_query}");
    let body = body.map_or(SignableBody::UnsignedPayload, SignableBody::Bytes);
    let req = SignableRequest::new(method, uri, headers.iter().copied(), body).ok()?;
    let (instructions, signature) = sign(req, &params).ok()?.into_parts();
    Some((instructions.headers().map(|(k, v)| (k.to_string(), v.to_string())).collect(), signature))
}

/// A whole HTTP/1.1 request: `method path`, `Host`, `Connection: close`, the given headers,
/// `Content-Length` of the body unless a header already frames it, then the body.
pub fn request(addr: SocketAddr, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    let framed = headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("content-length") || k.eq_ignore_ascii_case("transfer-encoding"));
    if !framed {
        head.push_str(&format!("content-length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    let mut out = head.into_bytes();
    out.extend_from_slice(body);
    out
}

/// A parsed answer.
#[derive(Debug, Clone)]
pub struct Answer {
    /// 0 when the server closed without answering.
    pub status: u16,
    /// The status line and the headers.
    pub head: String,
    /// The body (de-chunked).
    pub body: String,
}

impl Answer {
    /// The first value of header `name`.
    pub fn header(&self, name: &str) -> Option<String> {
        self.head.lines().skip(1).find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim().eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
        })
    }
    /// The body as JSON (`Null` when it is not JSON).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or(serde_json::Value::Null)
    }
    /// `message` of a JSON error body.
    pub fn message(&self) -> String {
        self.json()["message"].as_str().unwrap_or_default().to_owned()
    }
}

/// Writes `bytes` and reads the answer until the server closes (at most [`WAIT`]).
pub async fn send(addr: SocketAddr, bytes: &[u8]) -> Answer {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    // The server may refuse and close before reading everything: ignore write errors.
    let _ = stream.write_all(bytes).await;
    read_answer(&mut stream).await
}

/// Reads an answer from `stream` until the server closes it (at most [`WAIT`]).
pub async fn read_answer(stream: &mut tokio::net::TcpStream) -> Answer {
    let mut out = Vec::new();
    let mut buf = [0u8; 8192];
    let _ = tokio::time::timeout(WAIT, async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => out.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    parse(&out)
}

fn parse(raw: &[u8]) -> Answer {
    let text = String::from_utf8_lossy(raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let mut answer = Answer { status, head: head.to_owned(), body: body.to_owned() };
    if answer.header("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        answer.body = dechunk(body);
    }
    answer
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else { break };
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        s = rest[n..].trim_start_matches("\r\n");
    }
    out
}
