//! Upload ownership across proxy processes: two users on one store, through two
//! `readset-server proxy` processes sharing one grant key file, with a restart in the middle.
//! Bob can neither see nor touch Alice's upload (list, parts, list parts, complete, abort),
//! and Alice's upload, driven through both instances and a restarted one, becomes a read set
//! of Alice's bytes. Every refusal is in the proxies' audit log.

use crate::store_common;

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use md5::{Digest as _, Md5};
use readset_server::local::omics::{DEFAULT_ACCESS_KEY_ID, DEFAULT_SECRET_ACCESS_KEY};
use serde_json::{json, Value};

const JWT_SECRET: &[u8] = b"ownership-test-jwt-secret-0123456789abcdef";
const GRANT_HEADER: &str = "x-readset-upload-grant";

/// A `readset-server proxy` child process and what it printed.
struct ProxyProcess {
    child: Child,
    addr: SocketAddr,
    log: Arc<Mutex<String>>,
}

impl Drop for ProxyProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl ProxyProcess {
    fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }
}

/// Removes ANSI colour sequences (the log may be coloured).
fn plain(line: &str) -> String {
    let mut out = String::new();
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for d in chars.by_ref() {
                if d.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn secret_file(dir: &Path, name: &str, contents: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, contents).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    path
}

/// Starts a proxy process in front of `store`; waits (bounded) for its listening line.
fn start_proxy(store: SocketAddr, jwt_secret: &Path, grant_key: &Path) -> ProxyProcess {
    let mut child = Command::new(env!("CARGO_BIN_EXE_readset-server"))
        .args(["proxy", "--listen", "127.0.0.1:0", "--upstream", &format!("http://{store}")])
        .arg("--jwt-secret-file")
        .arg(jwt_secret)
        .arg("--upload-grant-key-file")
        .arg(grant_key)
        .env("AWS_ACCESS_KEY_ID", DEFAULT_ACCESS_KEY_ID)
        .env("AWS_SECRET_ACCESS_KEY", DEFAULT_SECRET_ACCESS_KEY)
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_PROFILE")
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start readset-server proxy");
    let log = Arc::new(Mutex::new(String::new()));
    let (tx, rx) = std::sync::mpsc::channel::<SocketAddr>();
    for stream in [Box::new(child.stdout.take().unwrap()) as Box<dyn Read + Send>, Box::new(child.stderr.take().unwrap())] {
        let (log, tx) = (log.clone(), tx.clone());
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines().map_while(Result::ok) {
                let line = plain(&line);
                if line.contains("proxy listening") {
                    if let Some(addr) = line.split("addr=").nth(1).and_then(|a| a.split_whitespace().next()).and_then(|a| a.trim_matches('"').parse().ok()) {
                        let _ = tx.send(addr);
                    }
                }
                log.lock().unwrap().push_str(&line);
                log.lock().unwrap().push('\n');
            }
        });
    }
    let addr = rx.recv_timeout(Duration::from_secs(30)).unwrap_or_else(|_| panic!("the proxy did not start:\n{}", log.lock().unwrap()));
    ProxyProcess { child, addr, log }
}

fn jwt(sub: &str, store: &str) -> String {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
    let claims = json!({ "sub": sub, "iat": now, "exp": now + 600, "stores": [store] });
    jsonwebtoken::encode(&jsonwebtoken::Header::default(), &claims, &jsonwebtoken::EncodingKey::from_secret(JWT_SECRET)).unwrap()
}

struct User {
    token: String,
    http: reqwest::Client,
}

impl User {
    fn new(sub: &str, store: &str) -> Self {
        Self { token: jwt(sub, store), http: reqwest::Client::new() }
    }

    async fn call(&self, proxy: &ProxyProcess, method: reqwest::Method, path: &str, grant: Option<&str>, body: Vec<u8>) -> (u16, Value) {
        let mut req = self.http.request(method, format!("http://{}/omics{path}", proxy.addr)).bearer_auth(&self.token).body(body);
        if let Some(g) = grant {
            req = req.header(GRANT_HEADER, g);
        }
        let res = tokio::time::timeout(Duration::from_secs(20), req.send()).await.expect("answer in time").unwrap();
        let status = res.status().as_u16();
        let text = res.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }
}

fn gzip(b: &[u8]) -> Vec<u8> {
    store_common::gzip(b)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_creator_can_see_or_touch_an_upload_across_proxy_instances_and_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_common::spawn(&dir.path().join("data")).await;
    let store_id = store_common::client(store.addr).create_sequence_store().name("owned").send().await.unwrap().id().to_owned();
    let jwt_secret = secret_file(dir.path(), "jwt-secret", JWT_SECRET);
    let grant_key = secret_file(dir.path(), "grant-key", b"ownership-test-grant-key-0123456789abcdefgh\n");
    let mut p1 = start_proxy(store.addr, &jwt_secret, &grant_key);
    let p2 = start_proxy(store.addr, &jwt_secret, &grant_key);
    let (alice, bob) = (User::new("alice", &store_id), User::new("bob", &store_id));
    let s = format!("/sequencestore/{store_id}");
    use reqwest::Method;

    // Alice creates through instance 1; the answer carries her grant.
    let create = json!({"sourceFileType": "FASTQ", "subjectId": "patient-a", "sampleId": "sample-a", "name": "alice run", "clientToken": "retry-1"});
    let (status, created) = alice.call(&p1, Method::POST, &format!("{s}/upload"), None, create.to_string().into_bytes()).await;
    assert_eq!(status, 200, "{created}");
    let upload = created["uploadId"].as_str().unwrap().to_owned();
    let grant = created["uploadGrant"].as_str().unwrap().to_owned();

    // Bob's Create with the same clientToken gets an upload of his own, not Alice's.
    let bob_create = json!({"sourceFileType": "FASTQ", "subjectId": "patient-b", "sampleId": "sample-b", "name": "bob run", "clientToken": "retry-1"});
    let (status, bobs) = bob.call(&p2, Method::POST, &format!("{s}/upload"), None, bob_create.to_string().into_bytes()).await;
    assert_eq!(status, 200, "{bobs}");
    assert_ne!(bobs["uploadId"], created["uploadId"], "an idempotent retry of another user's Create must not hand over the upload");
    let bob_upload = bobs["uploadId"].as_str().unwrap().to_owned();
    let bob_grant = bobs["uploadGrant"].as_str().unwrap().to_owned();
    // Alice's retry through the other instance is idempotent: the same upload.
    let (_, again) = alice.call(&p2, Method::POST, &format!("{s}/upload"), None, create.to_string().into_bytes()).await;
    assert_eq!(again["uploadId"], created["uploadId"]);
    assert_eq!(again["uploadGrant"], created["uploadGrant"], "the instances share the grant key");

    // Alice's part 1 through instance 2.
    let fastq: Vec<u8> = (0..3000).flat_map(|i| format!("@a{i}\nACGTTGCAAC\n+\nIIIIIIIIII\n").into_bytes()).collect();
    let whole = gzip(&fastq);
    let (a1, a2) = whole.split_at(whole.len() / 2);
    let part = |n: u32| format!("{s}/upload/{upload}/part?partNumber={n}&partSource=SOURCE1");
    let (status, answer) = alice.call(&p2, Method::PUT, &part(1), Some(&grant), a1.to_vec()).await;
    assert_eq!(status, 200, "{answer}");
    let checksum1 = answer["checksum"].as_str().unwrap().to_owned();

    // Bob: the listing hides Alice's upload, and every call on it is refused.
    let (status, listed) = bob.call(&p1, Method::POST, &format!("{s}/uploads"), None, b"{}".to_vec()).await;
    assert_eq!(status, 200, "{listed}");
    let ids: Vec<&str> = listed["uploads"].as_array().unwrap().iter().map(|u| u["uploadId"].as_str().unwrap()).collect();
    assert_eq!(ids, vec![bob_upload.as_str()], "bob sees only his own upload");
    assert!(!listed.to_string().contains("patient-a"), "alice's subject must not leak: {listed}");
    let evil = b"@evil\nNNNN\n+\n!!!!\n".to_vec();
    let attempts: Vec<(&str, Method, String, Option<&str>, Vec<u8>)> = vec![
        ("part without a grant", Method::PUT, part(1), None, evil.clone()),
        ("part with alice's grant", Method::PUT, part(1), Some(&grant), evil.clone()),
        ("part with his own upload's grant", Method::PUT, part(1), Some(&bob_grant), evil.clone()),
        ("list parts", Method::POST, format!("{s}/upload/{upload}/parts"), Some(&grant), br#"{"partSource":"SOURCE1"}"#.to_vec()),
        ("complete", Method::POST, format!("{s}/upload/{upload}/complete"), Some(&grant), json!({"parts": [{"partNumber": 1, "partSource": "SOURCE1", "checksum": checksum1}]}).to_string().into_bytes()),
        ("abort", Method::DELETE, format!("{s}/upload/{upload}/abort"), Some(&grant), Vec::new()),
    ];
    for (what, method, path, g, body) in attempts {
        for proxy in [&p1, &p2] {
            let (status, answer) = bob.call(proxy, method.clone(), &path, g, body.clone()).await;
            assert_eq!(status, 403, "bob's {what}: {answer}");
            let message = answer["message"].as_str().unwrap_or_default();
            assert!(message.contains(&upload) && message.contains(GRANT_HEADER), "bob's {what}: {message}");
        }
    }

    // Instance 1 restarts: Alice's grant still works there, for part 2 and the listing.
    drop(std::mem::replace(&mut p1, start_proxy(store.addr, &jwt_secret, &grant_key)));
    let (status, answer) = alice.call(&p1, Method::PUT, &part(2), Some(&grant), a2.to_vec()).await;
    assert_eq!(status, 200, "{answer}");
    let checksum2 = answer["checksum"].as_str().unwrap().to_owned();
    let (_, listed) = alice.call(&p1, Method::POST, &format!("{s}/uploads"), None, b"{}".to_vec()).await;
    let mine: Vec<&Value> = listed["uploads"].as_array().unwrap().iter().collect();
    assert_eq!(mine.len(), 1, "{listed}");
    assert_eq!(mine[0]["uploadId"], created["uploadId"]);
    assert_eq!(mine[0]["uploadGrant"].as_str(), Some(grant.as_str()), "the listing gives the grant back (resume on another device)");
    // The store still holds Alice's part 1 bytes, not Bob's.
    let (status, parts) = alice.call(&p2, Method::POST, &format!("{s}/upload/{upload}/parts"), Some(&grant), br#"{"partSource":"SOURCE1"}"#.to_vec()).await;
    assert_eq!(status, 200, "{parts}");
    let listed_parts = parts["parts"].as_array().unwrap();
    assert_eq!(listed_parts.len(), 2, "{parts}");
    assert_eq!(listed_parts[0]["checksum"].as_str(), Some(store_common::sha256_hex(a1).as_str()));
    assert_eq!(listed_parts[0]["partSize"].as_u64(), Some(a1.len() as u64));

    // Alice completes; the read set is ACTIVE with the ETag of her data.
    let done = json!({"parts": [
        {"partNumber": 1, "partSource": "SOURCE1", "checksum": checksum1},
        {"partNumber": 2, "partSource": "SOURCE1", "checksum": checksum2},
    ]});
    let (status, completed) = alice.call(&p1, Method::POST, &format!("{s}/upload/{upload}/complete"), Some(&grant), done.to_string().into_bytes()).await;
    assert_eq!(status, 200, "{completed}");
    let read_set = completed["readSetId"].as_str().unwrap().to_owned();
    let deadline = Instant::now() + Duration::from_secs(20);
    let meta = loop {
        let (_, meta) = alice.call(&p2, Method::GET, &format!("{s}/readset/{read_set}/metadata"), None, Vec::new()).await;
        if meta["status"] != "PROCESSING_UPLOAD" || Instant::now() > deadline {
            break meta;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(meta["status"], "ACTIVE", "{meta}");
    assert_eq!(meta["subjectId"], "patient-a");
    assert_eq!(meta["etag"]["source1"].as_str(), Some(hex::encode(Md5::digest(&fastq)).as_str()), "the read set holds alice's bytes: {meta}");

    // Each of Bob's refusals left an audit line naming him and the upload.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let audit: Vec<String> = p2.log().lines().filter(|l| l.contains("audit") && l.contains("sub=bob") && l.contains(&upload)).map(str::to_owned).collect();
    assert!(audit.iter().any(|l| l.contains("AbortMultipartReadSetUpload") && l.contains("denied") && l.contains("403")), "audit lines: {audit:#?}");
    assert!(audit.iter().any(|l| l.contains("UploadReadSetPart") && l.contains("denied")), "audit lines: {audit:#?}");
}
