//! The proxy in front of the real local store: what the proxy signs, the store's SigV4
//! verification accepts (a whole upload goes through and becomes a read set), and what is sent
//! straight to the store unsigned or tampered with is refused.

use std::net::SocketAddr;
use std::time::{Duration, SystemTime};

use readset_server::proxy::{self, Authenticator, Principal, StoreScope};
use readset_server::local::omics::{self as store, StoreConfig, DEFAULT_ACCESS_KEY_ID, DEFAULT_SECRET_ACCESS_KEY, REGION};

const TOKEN: &str = "proxy-store-test-token-0123456789";

async fn serve(app: axum::Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { readset_server::serve(listener, app, "test").await.unwrap() });
    addr
}

/// Signs `method url` with the store's keys the way the demo does (`proxy::sign::sign_request`).
fn signed_headers(addr: SocketAddr, method: &str, path: &str, body: &[u8]) -> Vec<(String, String)> {
    let creds = aws_credential_types::Credentials::new(DEFAULT_ACCESS_KEY_ID, DEFAULT_SECRET_ACCESS_KEY, None, None, "test");
    let host = addr.to_string();
    proxy::sign::sign_request(
        &creds,
        REGION,
        method,
        &format!("http://{addr}{path}"),
        &[("host", &host), ("content-type", "application/json")],
        proxy::sign::Payload::Bytes(body),
        SystemTime::now(),
    )
    .unwrap()
}

async fn create_store_directly(addr: SocketAddr) -> String {
    let body = br#"{"name":"proxy-store","eTagAlgorithmFamily":"SHA256up"}"#;
    let mut req = reqwest::Client::new().post(format!("http://{addr}/sequencestore")).header("content-type", "application/json").body(body.to_vec());
    for (k, v) in signed_headers(addr, "POST", "/sequencestore", body) {
        req = req.header(k, v);
    }
    let resp = req.send().await.unwrap();
    assert_eq!(resp.status(), 200);
    resp.json::<serde_json::Value>().await.unwrap()["id"].as_str().unwrap().to_owned()
}

fn gz(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

struct Setup {
    _dir: tempfile::TempDir,
    store: SocketAddr,
    proxy: SocketAddr,
    store_id: String,
}

async fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let config = StoreConfig { processing_delay: Duration::from_millis(50), ..StoreConfig::new(dir.path()) };
    let store = serve(store::app(config).await.unwrap()).await;
    let store_id = create_store_directly(store).await;
    let principal = Principal::new("test", "tester", StoreScope::Only(vec![store_id.clone()]), vec![]);
    let auth = Authenticator::new().with_static_token(TOKEN, principal).unwrap();
    let config = proxy::ProxyConfig::local_store(&format!("http://{store}"), store::REGION, DEFAULT_ACCESS_KEY_ID, DEFAULT_SECRET_ACCESS_KEY, auth).unwrap();
    let proxy = serve(proxy::app(config).unwrap()).await;
    Setup { _dir: dir, store, proxy, store_id }
}

#[tokio::test]
async fn an_upload_through_the_proxy_passes_the_stores_sigv4_check_and_becomes_a_read_set() {
    let s = setup().await;
    let client = reqwest::Client::new();
    let base = format!("http://{}/omics/sequencestore/{}", s.proxy, s.store_id);
    let auth = format!("Bearer {TOKEN}");
    let created: serde_json::Value = client
        .post(format!("{base}/upload"))
        .header("authorization", &auth)
        .header("content-type", "application/json")
        .body(r#"{"sourceFileType":"FASTQ","subjectId":"subj","sampleId":"samp","name":"through-proxy"}"#)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let upload_id = created["uploadId"].as_str().unwrap_or_else(|| panic!("no uploadId in {created}")).to_owned();
    // The proxy's grant for this upload: every later call on it carries it.
    let grant = created["uploadGrant"].as_str().unwrap_or_else(|| panic!("no uploadGrant in {created}")).to_owned();

    // Two parts of one gzip stream (the split falls anywhere: the store hashes the whole).
    let fastq: Vec<u8> = (0..2000).flat_map(|i| format!("@r{i}\nACGTACGTAC\n+\nIIIIIIIIII\n").into_bytes()).collect();
    let whole = gz(&fastq);
    let (a, b) = whole.split_at(whole.len() / 2);
    let mut parts = Vec::new();
    for (n, body) in [(1, a), (2, b)] {
        let resp = client
            .put(format!("{base}/upload/{upload_id}/part?partNumber={n}&partSource=SOURCE1"))
            .header("authorization", &auth)
            .header("x-readset-upload-grant", &grant)
            .body(body.to_vec())
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "part {n}: {}", resp.text().await.unwrap());
        let v: serde_json::Value = resp.json().await.unwrap();
        parts.push(serde_json::json!({ "partNumber": n, "partSource": "SOURCE1", "checksum": v["checksum"] }));
    }
    let done = client
        .post(format!("{base}/upload/{upload_id}/complete"))
        .header("authorization", &auth)
        .header("x-readset-upload-grant", &grant)
        .header("content-type", "application/json")
        .body(serde_json::json!({ "parts": parts }).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 200, "{}", done.text().await.unwrap());
    let read_set_id = done.json::<serde_json::Value>().await.unwrap()["readSetId"].as_str().unwrap().to_owned();

    let mut status = String::new();
    let mut meta = serde_json::Value::Null;
    for _ in 0..200 {
        meta = client.get(format!("{base}/readset/{read_set_id}/metadata")).header("authorization", &auth).send().await.unwrap().json().await.unwrap();
        status = meta["status"].as_str().unwrap_or_default().to_owned();
        if status != "PROCESSING_UPLOAD" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(status, "ACTIVE", "{meta}");
    use sha2::Digest;
    assert_eq!(meta["etag"]["source1"].as_str(), Some(hex::encode(sha2::Sha256::digest(&fastq)).as_str()), "{meta}");
    assert_eq!(meta["sequenceInformation"]["totalReadCount"].as_u64(), Some(2000), "{meta}");
}

#[tokio::test]
async fn unsigned_or_tampered_requests_straight_to_the_store_are_refused() {
    let s = setup().await;
    let client = reqwest::Client::new();
    let path = format!("/sequencestore/{}/upload", s.store_id);
    let url = format!("http://{}{path}", s.store);
    let body = br#"{"sourceFileType":"FASTQ","subjectId":"subj","sampleId":"samp","name":"direct"}"#;

    let unsigned = client.post(&url).header("content-type", "application/json").body(body.to_vec()).send().await.unwrap();
    assert_eq!(unsigned.status(), 403);
    assert_eq!(unsigned.headers()["x-amzn-errortype"], "MissingAuthenticationTokenException");

    // Signed for another path: moved to the create-store route.
    let mut moved = client.post(format!("http://{}/sequencestore", s.store)).header("content-type", "application/json").body(body.to_vec());
    for (k, v) in signed_headers(s.store, "POST", &path, body) {
        moved = moved.header(k, v);
    }
    let moved = moved.send().await.unwrap();
    assert_eq!(moved.status(), 403);
    assert_eq!(moved.headers()["x-amzn-errortype"], "InvalidSignatureException");

    // Signature altered by one character.
    let mut altered = client.post(&url).header("content-type", "application/json").body(body.to_vec());
    for (k, v) in signed_headers(s.store, "POST", &path, body) {
        let v = if k == "authorization" {
            let last = v.chars().last().unwrap();
            format!("{}{}", &v[..v.len() - 1], if last == '0' { '1' } else { '0' })
        } else {
            v
        };
        altered = altered.header(k, v);
    }
    let altered = altered.send().await.unwrap();
    assert_eq!(altered.status(), 403);
    assert_eq!(altered.headers()["x-amzn-errortype"], "InvalidSignatureException");

    // The same signed request, intact, is accepted: the refusals above were for the tampering.
    let mut intact = client.post(&url).header("content-type", "application/json").body(body.to_vec());
    for (k, v) in signed_headers(s.store, "POST", &path, body) {
        intact = intact.header(k, v);
    }
    assert_eq!(intact.send().await.unwrap().status(), 200);
}
