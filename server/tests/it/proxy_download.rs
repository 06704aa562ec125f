//! GetReadSet (a part of a read set's file) through the proxy: who may download (a grant that
//! names `download` / `GetReadSet`; a token's stores, `read` and `all` do not), which parameter
//! shapes pass, what the browser gets back (the store's exact bytes, its length and type, CORS),
//! and that every refusal happens before the upstream is called.
//!
//! Two upstreams: the real local store (bytes, the store's own errors passed through) and the
//! recording upstream of `proxy_common` (what reached it, or that nothing did).

use std::net::SocketAddr;

use aws_sdk_omics::primitives::ByteStream;
use aws_sdk_omics::types::{CompleteReadSetUploadPartListItem, FileType, ReadSetPartSource, ReadSetStatus};
use readset_server::local::omics::{DEFAULT_ACCESS_KEY_ID, DEFAULT_SECRET_ACCESS_KEY};
use readset_server::proxy::access::{AccessPolicy, OperationScope};
use readset_server::proxy::policy::Operation;
use readset_server::proxy::{self, Authenticator, Principal, StoreScope};

use crate::proxy_common::{self, mint_jwt, now_secs, spawn_proxy, spawn_upstream, Mode, Recorder};
use crate::store_common;

/// May download on its stores (and read metadata): what a viewer page needs.
const DOWNLOADER: &str = "download-test-token-downloader-0123";
/// A token whose stores grant every operation but downloads (no `operations`).
const UPLOADER: &str = "download-test-token-uploader-456789";
/// May download, but on the other store only.
const OTHER_STORE_DOWNLOADER: &str = "download-test-token-other-store-0123";
const ORIGIN: &str = "https://portal.example";

fn viewer(sub: &str, stores: Vec<String>) -> Principal {
    let mut p = Principal::new("test", sub, StoreScope::Only(stores), vec![]);
    p.operations = OperationScope::Only([Operation::GetReadSet, Operation::GetReadSetMetadata].into());
    p
}

/// The three static tokens, the test JWT secret, and a policy mapping the JWT `groups` claim:
/// `viewers` may read and download on `store`, `admins` get `all` on every store.
fn auth(store: &str, other_store: &str) -> Authenticator {
    let policy = AccessPolicy::parse(
        &serde_json::json!({ "rules": [
            { "claim": "groups", "values": ["viewers"], "stores": [store], "operations": ["read", "download"] },
            { "claim": "groups", "values": ["admins"], "stores": ["*"], "operations": ["all"] },
        ]})
        .to_string(),
        false,
    )
    .unwrap();
    Authenticator::new()
        .with_jwt_secret(proxy_common::JWT_SECRET)
        .unwrap()
        .with_static_token(DOWNLOADER, viewer("downloader", vec![store.into()]))
        .unwrap()
        .with_static_token(UPLOADER, Principal::new("test", "uploader", StoreScope::Only(vec![store.into(), other_store.into()]), vec![]))
        .unwrap()
        .with_static_token(OTHER_STORE_DOWNLOADER, viewer("other", vec![other_store.into()]))
        .unwrap()
        .with_policy(policy)
}

fn jwt(groups: &[&str], stores: &[&str]) -> String {
    mint_jwt(serde_json::json!({ "sub": "jwt-user", "exp": now_secs() + 600, "stores": stores, "groups": groups }))
}

/// A FASTQ of `n` reads with pseudo-random bases and qualities, so its gzip stays large
/// (several of the store's 1 MiB read chunks: the answer is streamed in pieces).
fn noisy_fastq(n: usize, tag: &str) -> Vec<u8> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut out = Vec::new();
    for i in 0..n {
        out.extend(format!("@{tag}:{i}\n").bytes());
        out.extend((0..100).map(|_| b"ACGT"[(next() % 4) as usize]));
        out.extend(b"\n+\n");
        out.extend((0..100).map(|_| b'!' + (next() % 41) as u8));
        out.push(b'\n');
    }
    out
}

/// Uploads a paired FASTQ read set straight into the store (SDK) and waits until it is ACTIVE.
async fn upload_read_set(c: &aws_sdk_omics::Client, store: &str, source1: &[u8], source2: &[u8]) -> String {
    let upload = c
        .create_multipart_read_set_upload()
        .sequence_store_id(store)
        .name("download-test")
        .sample_id("sample-1")
        .subject_id("subject-1")
        .source_file_type(FileType::Fastq)
        .send()
        .await
        .unwrap()
        .upload_id()
        .to_string();
    let mut complete = c.complete_multipart_read_set_upload().sequence_store_id(store).upload_id(&upload);
    for (source, bytes) in [(ReadSetPartSource::Source1, source1), (ReadSetPartSource::Source2, source2)] {
        let part = c
            .upload_read_set_part()
            .sequence_store_id(store)
            .upload_id(&upload)
            .part_source(source.clone())
            .part_number(1)
            .payload(ByteStream::from(bytes.to_vec()))
            .send()
            .await
            .unwrap();
        let item = CompleteReadSetUploadPartListItem::builder().part_source(source).part_number(1).checksum(part.checksum()).build().unwrap();
        complete = complete.parts(item);
    }
    let id = complete.send().await.unwrap().read_set_id().to_string();
    let status = store_common::poll("the read set to leave PROCESSING_UPLOAD", || async {
        let m = c.get_read_set_metadata().sequence_store_id(store).id(&id).send().await.unwrap();
        (m.status() != &ReadSetStatus::ProcessingUpload).then(|| m.status().clone())
    })
    .await;
    assert_eq!(status, ReadSetStatus::Active);
    id
}

struct RealStore {
    _dir: tempfile::TempDir,
    _store: store_common::TestStore,
    proxy: SocketAddr,
    store_id: String,
    other_store_id: String,
    read_set: String,
    other_read_set: String,
    source1: Vec<u8>,
    source2: Vec<u8>,
}

/// The local store with two sequence stores, one read set in each, and the proxy in front.
async fn real_store() -> RealStore {
    let dir = tempfile::tempdir().unwrap();
    let store = store_common::spawn(dir.path()).await;
    let c = store_common::client(store.addr);
    let mut ids = Vec::new();
    for name in ["download", "other"] {
        ids.push(c.create_sequence_store().name(name).send().await.unwrap().id().to_string());
    }
    let source1 = store_common::gzip(&noisy_fastq(20_000, "r1"));
    let source2 = store_common::gzip(&noisy_fastq(300, "r2"));
    assert!(source1.len() > 2 << 20, "source 1 spans several 1 MiB chunks ({} bytes)", source1.len());
    let read_set = upload_read_set(&c, &ids[0], &source1, &source2).await;
    let other_read_set = upload_read_set(&c, &ids[1], &source2, &source2).await;
    let mut config =
        proxy::ProxyConfig::local_store(&format!("http://{}", store.addr), readset_server::local::omics::REGION, DEFAULT_ACCESS_KEY_ID, DEFAULT_SECRET_ACCESS_KEY, auth(&ids[0], &ids[1]))
            .unwrap();
    config.allowed_origins = proxy::AllowedOrigins::from_list(&[ORIGIN]);
    config.rate_limit = proxy::ratelimit::RateLimit::DISABLED;
    let proxy = spawn_proxy(config).await;
    RealStore { _dir: dir, _store: store, proxy, store_id: ids[0].clone(), other_store_id: ids[1].clone(), read_set, other_read_set, source1, source2 }
}

fn download_url(proxy: SocketAddr, store: &str, read_set: &str, query: &str) -> String {
    format!("http://{proxy}/omics/sequencestore/{store}/readset/{read_set}?{query}")
}

async fn get(url: &str, token: &str) -> reqwest::Response {
    reqwest::Client::new()
        .get(url)
        .header("authorization", format!("Bearer {token}"))
        .header("origin", ORIGIN)
        .timeout(proxy_common::WAIT)
        .send()
        .await
        .unwrap()
}

async fn error_of(r: reqwest::Response) -> (u16, String, String) {
    let status = r.status().as_u16();
    let kind = r.headers().get("x-amzn-errortype").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let body: serde_json::Value = r.json().await.unwrap_or_default();
    (status, kind, body["message"].as_str().unwrap_or_default().to_owned())
}

#[tokio::test]
async fn a_granted_user_gets_the_exact_bytes_of_each_file_with_its_length_and_cors() {
    let s = real_store().await;
    for (query, want) in [("file=SOURCE1&partNumber=1", &s.source1), ("partNumber=1&file=SOURCE2", &s.source2), ("partNumber=1", &s.source1)] {
        let r = get(&download_url(s.proxy, &s.store_id, &s.read_set, query), DOWNLOADER).await;
        assert_eq!(r.status(), 200, "{query}");
        let h = r.headers().clone();
        assert_eq!(h["content-type"], "application/octet-stream", "{query}");
        assert_eq!(h["cache-control"], "no-store", "{query}: patient data must not be cached");
        assert_eq!(h["content-length"].to_str().unwrap(), want.len().to_string(), "{query}");
        assert_eq!(h["access-control-allow-origin"], ORIGIN, "{query}");
        let exposed = h["access-control-expose-headers"].to_str().unwrap().to_ascii_lowercase();
        assert!(exposed.contains("content-length") && exposed.contains("x-amzn-errortype"), "{exposed}");
        let body = r.bytes().await.unwrap();
        assert_eq!(body.len(), want.len(), "{query}");
        assert!(body[..] == want[..], "{query}: the bytes differ from what was uploaded");
    }
    // A JWT whose `groups` match the policy's `download` rule is allowed the same.
    let r = get(&download_url(s.proxy, &s.store_id, &s.read_set, "file=SOURCE2&partNumber=1"), &jwt(&["viewers"], &[])).await;
    assert_eq!(r.status(), 200);
    assert!(r.bytes().await.unwrap()[..] == s.source2[..]);
}

#[tokio::test]
async fn the_stores_own_errors_pass_through_unchanged() {
    let s = real_store().await;
    let cases = [
        (s.read_set.as_str(), "file=SOURCE1&partNumber=2", 400, "ValidationException", "partNumber 2 is past the last part (1) of SOURCE1".to_owned()),
        (s.read_set.as_str(), "file=INDEX&partNumber=1", 404, "ResourceNotFoundException", format!("Read set {} has no INDEX file", s.read_set)),
        ("9999999999", "file=SOURCE1&partNumber=1", 404, "ResourceNotFoundException", String::new()),
    ];
    for (read_set, query, status, kind, message) in cases {
        let (got, got_kind, got_message) = error_of(get(&download_url(s.proxy, &s.store_id, read_set, query), DOWNLOADER).await).await;
        assert_eq!((got, got_kind.as_str()), (status, kind), "{read_set} {query}: {got_message}");
        assert!(got_message.contains(&message), "{read_set} {query}: {got_message:?} lacks {message:?}");
    }
}

#[tokio::test]
async fn without_a_download_grant_or_on_another_store_it_is_403() {
    let s = real_store().await;
    let own = download_url(s.proxy, &s.store_id, &s.read_set, "file=SOURCE1&partNumber=1");
    let other = download_url(s.proxy, &s.other_store_id, &s.other_read_set, "file=SOURCE1&partNumber=1");
    // The store's read set under the other store's ID: the store ID is what the grant checks.
    let moved = download_url(s.proxy, &s.other_store_id, &s.read_set, "file=SOURCE1&partNumber=1");
    let cases = [
        (own.as_str(), UPLOADER.to_owned(), "this token does not allow GetReadSet"),
        (own.as_str(), jwt(&[], &[&s.store_id]), "this token does not allow GetReadSet"),
        (own.as_str(), jwt(&["admins"], &[]), "this token does not allow GetReadSet"),
        (own.as_str(), OTHER_STORE_DOWNLOADER.to_owned(), &format!("this token does not allow sequence store {}", s.store_id)),
        (other.as_str(), DOWNLOADER.to_owned(), &format!("this token does not allow sequence store {}", s.other_store_id)),
        (moved.as_str(), DOWNLOADER.to_owned(), &format!("this token does not allow sequence store {}", s.other_store_id)),
        (other.as_str(), jwt(&["viewers"], &[]), &format!("this token does not allow sequence store {}", s.other_store_id)),
    ];
    for (url, token, message) in cases {
        let (status, kind, got) = error_of(get(url, &token).await).await;
        assert_eq!((status, kind.as_str()), (403, "AccessDeniedException"), "{url}: {got}");
        assert_eq!(got, message, "{url}");
    }
    // The same token still has what it had: metadata and uploads, not the file.
    let meta = get(&format!("http://{}/omics/sequencestore/{}/readset/{}/metadata", s.proxy, s.store_id, s.read_set), UPLOADER).await;
    assert_eq!(meta.status(), 200);
    let meta: serde_json::Value = meta.json().await.unwrap();
    assert_eq!(meta["files"]["source1"]["totalParts"], 1, "{meta}");
}

#[tokio::test]
async fn a_preflight_for_a_download_allows_get_with_authorization() {
    let s = real_store().await;
    let r = reqwest::Client::new()
        .request(reqwest::Method::OPTIONS, download_url(s.proxy, &s.store_id, &s.read_set, "file=SOURCE1&partNumber=1"))
        .header("origin", ORIGIN)
        .header("access-control-request-method", "GET")
        .header("access-control-request-headers", "authorization")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let h = r.headers();
    assert_eq!(h["access-control-allow-origin"], ORIGIN);
    assert!(h["access-control-allow-methods"].to_str().unwrap().split(", ").any(|m| m == "GET"));
    assert_eq!(h["access-control-allow-headers"], "authorization");
}

/// The recording upstream behind a proxy with the same tokens (stores `STORE` / `OTHER_STORE`).
async fn recording() -> (SocketAddr, Recorder) {
    let (up, rec) = spawn_upstream().await;
    let mut config = proxy_common::test_config(up);
    config.auth = auth(proxy_common::STORE, proxy_common::OTHER_STORE);
    config.rate_limit = proxy::ratelimit::RateLimit::DISABLED;
    (spawn_proxy(config).await, rec)
}

const READ_SET: &str = "4444444444";

#[tokio::test]
async fn refusals_never_reach_the_upstream_and_name_what_is_wrong() {
    let (proxy, rec) = recording().await;
    let store = proxy_common::STORE;
    let path = |read_set: &str, query: &str| format!("/omics/sequencestore/{store}/readset/{read_set}{query}");
    let url = |p: String| format!("http://{proxy}{p}");
    let cases: Vec<(String, &str, u16, &str)> = vec![
        (path(READ_SET, "?file=SOURCE3&partNumber=1"), DOWNLOADER, 400, "file must be SOURCE1, SOURCE2 or INDEX"),
        (path(READ_SET, "?file=source1&partNumber=1"), DOWNLOADER, 400, "file must be SOURCE1, SOURCE2 or INDEX"),
        (path(READ_SET, "?file=SOURCE1&partNumber=0"), DOWNLOADER, 400, "partNumber must be an integer from 1 to 10000, in digits without sign or leading zeros"),
        (path(READ_SET, "?file=SOURCE1&partNumber=01"), DOWNLOADER, 400, "partNumber must be an integer from 1 to 10000, in digits without sign or leading zeros"),
        (path(READ_SET, "?file=SOURCE1&partNumber=%2B1"), DOWNLOADER, 400, "partNumber must be an integer from 1 to 10000, in digits without sign or leading zeros"),
        (path(READ_SET, "?file=SOURCE1&partNumber=10001"), DOWNLOADER, 400, "partNumber must be an integer from 1 to 10000, in digits without sign or leading zeros"),
        (path(READ_SET, "?partNumber=1&partNumber=2"), DOWNLOADER, 400, "query parameter partNumber is given twice"),
        (path(READ_SET, "?file=SOURCE1&file=SOURCE1&partNumber=1"), DOWNLOADER, 400, "query parameter file is given twice"),
        (path(READ_SET, "?file=SOURCE1&partNumber=1&range=0-99"), DOWNLOADER, 400, "unknown query parameter; allowed: file, partNumber"),
        (path(READ_SET, "?file=SOURCE1"), DOWNLOADER, 400, "query parameter partNumber is required"),
        (path(READ_SET, ""), DOWNLOADER, 400, "query parameter partNumber is required"),
        (path("44444", "?partNumber=1"), DOWNLOADER, 400, "readSetId must be 10 to 36 digits"),
        (path("4444444444a", "?partNumber=1"), DOWNLOADER, 400, "readSetId must be 10 to 36 digits"),
        (path(READ_SET, "?file=SOURCE1&partNumber=1"), UPLOADER, 403, "this token does not allow GetReadSet"),
        (path(READ_SET, "?file=SOURCE1&partNumber=1"), OTHER_STORE_DOWNLOADER, 403, "this token does not allow sequence store 1111111111"),
        (format!("/omics/sequencestore/{}/readset/{READ_SET}?partNumber=1", proxy_common::OTHER_STORE), DOWNLOADER, 403, "this token does not allow sequence store 2222222222"),
    ];
    for (p, token, status, message) in &cases {
        let (got, kind, got_message) = error_of(get(&url(p.clone()), token).await).await;
        assert_eq!(got, *status, "{p}: {got_message}");
        assert_eq!(kind, if *status == 400 { "ValidationException" } else { "AccessDeniedException" }, "{p}");
        assert_eq!(got_message, *message, "{p}");
    }
    // A body on the download (which takes none), and an unauthenticated one.
    let with_body = reqwest::Client::new()
        .get(url(path(READ_SET, "?partNumber=1")))
        .header("authorization", format!("Bearer {DOWNLOADER}"))
        .body("x")
        .send()
        .await
        .unwrap();
    let (status, _, message) = error_of(with_body).await;
    assert_eq!((status, message.as_str()), (400, "this operation takes no request body"));
    let anonymous = reqwest::Client::new().get(url(path(READ_SET, "?partNumber=1"))).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    assert!(rec.seen().is_empty(), "refused downloads reached the upstream: {:?}", rec.seen().iter().map(|s| &s.path_and_query).collect::<Vec<_>>());

    // The same proxy forwards an allowed one, once, signed, without a body.
    let r = get(&url(path(READ_SET, "?partNumber=7&file=INDEX")), DOWNLOADER).await;
    assert_eq!(r.status(), 200);
    let seen = rec.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].method, "GET");
    assert_eq!(seen[0].path_and_query, format!("/sequencestore/{store}/readset/{READ_SET}?partNumber=7&file=INDEX"));
    assert!(seen[0].signature_valid, "the upstream's SigV4 check failed");
    assert_eq!(seen[0].body_len, 0);
    assert!(seen[0].headers.get("content-type").is_none() && seen[0].headers.get("content-length").is_none());
    assert!(seen[0].headers.get("x-readset-upload-grant").is_none() && seen[0].headers.get("origin").is_none());
}

#[tokio::test]
async fn the_upstreams_body_and_headers_reach_the_browser() {
    let (proxy, rec) = recording().await;
    rec.set_mode(Mode::Reply(200, vec![("content-type", "application/octet-stream"), ("x-amzn-RequestId", "req-dl-1"), ("set-cookie", "a=b")], "@r1\nACGT\n+\nIIII\n"));
    let r = get(&format!("http://{proxy}/omics/sequencestore/{}/readset/{READ_SET}?file=SOURCE1&partNumber=1", proxy_common::STORE), DOWNLOADER).await;
    assert_eq!(r.status(), 200);
    let h = r.headers().clone();
    assert_eq!(h["content-type"], "application/octet-stream");
    assert_eq!(h["content-length"], "16");
    assert_eq!(h["x-amzn-requestid"], "req-dl-1");
    assert!(h.get("set-cookie").is_none(), "only the listed upstream headers pass");
    assert_eq!(r.bytes().await.unwrap().as_ref(), b"@r1\nACGT\n+\nIIII\n");
    // An upstream throttle passes through with its Retry-After.
    rec.set_mode(Mode::Reply(429, vec![("x-amzn-ErrorType", "ThrottlingException"), ("retry-after", "2")], r#"{"message":"slow down"}"#));
    let r = get(&format!("http://{proxy}/omics/sequencestore/{}/readset/{READ_SET}?partNumber=1", proxy_common::STORE), DOWNLOADER).await;
    assert_eq!(r.status(), 429);
    assert_eq!(r.headers()["retry-after"], "2");
    assert_eq!(rec.seen().len(), 2);
}

#[tokio::test]
async fn a_token_file_grants_downloads_only_where_it_lists_them() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("tokens.json");
    let write = |entries: serde_json::Value| {
        std::fs::write(&file, entries.to_string()).unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    };
    let store = proxy_common::STORE;
    write(serde_json::json!([
        { "token": "token-file-viewer-0123456789", "sub": "viewer", "stores": [store], "operations": ["read", "download"] },
        { "token": "token-file-plain-01234567890", "sub": "plain", "stores": [store] },
        { "token": "token-file-every-01234567890", "sub": "every", "stores": [store], "operations": ["all", "download"] },
    ]));
    let (up, rec) = spawn_upstream().await;
    let mut config = proxy_common::test_config(up);
    config.auth = Authenticator::new().with_token_file(&file).unwrap();
    let proxy = spawn_proxy(config).await;
    let download = format!("http://{proxy}/omics/sequencestore/{store}/readset/{READ_SET}?partNumber=1");
    assert_eq!(get(&download, "token-file-viewer-0123456789").await.status(), 200);
    assert_eq!(get(&download, "token-file-every-01234567890").await.status(), 200);
    let (status, _, message) = error_of(get(&download, "token-file-plain-01234567890").await).await;
    assert_eq!((status, message.as_str()), (403, "this token does not allow GetReadSet"));
    // The viewer's `operations` are all it has: no upload.
    let create = reqwest::Client::new()
        .post(format!("http://{proxy}/omics/sequencestore/{store}/upload"))
        .header("authorization", "Bearer token-file-viewer-0123456789")
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    let (status, _, message) = error_of(create).await;
    assert_eq!((status, message.as_str()), (403, "this token does not allow CreateMultipartReadSetUpload"));
    assert_eq!(rec.seen().len(), 2, "only the two allowed downloads reached the upstream");

    // A misspelt or empty operation list stops the proxy at start, naming the entry.
    write(serde_json::json!([{ "token": "token-file-viewer-0123456789", "sub": "v", "stores": [store], "operations": ["read", "downloads"] }]));
    let e = format!("{:#}", Authenticator::new().with_token_file(&file).unwrap_err());
    assert!(e.contains("at [0].operations[1]") && e.contains("\"downloads\" is not an operation"), "{e}");
    write(serde_json::json!([{ "token": "token-file-viewer-0123456789", "sub": "v", "stores": [store], "operations": [] }]));
    let e = format!("{:#}", Authenticator::new().with_token_file(&file).unwrap_err());
    assert!(e.contains("at [0].operations: list at least one operation"), "{e}");
}
