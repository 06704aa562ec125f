//! The production path offline: the local store on TLS under the AWS host names (a certificate
//! from `readset_server::tls::dev_cert`), the proxy in `Upstream::Aws` mode resolving those
//! names to it and trusting the test CA. Each operation must reach the host of its prefix, an
//! operation on another prefix's host is refused, and the proxy's TLS flags fail clearly.

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, SystemTime};

use clap::Parser;
use readset_server::hosts::AllowedHosts;
use readset_server::local::omics::{self as store, StoreConfig, DEFAULT_ACCESS_KEY_ID, DEFAULT_SECRET_ACCESS_KEY, REGION};
use readset_server::proxy::{self, upstream::UpstreamConnect, Authenticator, Principal, ProxyArgs, ProxyConfig, StoreScope, Upstream};
use readset_server::serving::{serve_with_limits_tls, ServeLimits};

const TOKEN: &str = "tls-aws-hosts-test-token-0123456789";
const CONTROL: &str = "control-storage-omics.us-east-1.amazonaws.com";
const STORAGE: &str = "storage-omics.us-east-1.amazonaws.com";
const TAGS: &str = "tags-omics.us-east-1.amazonaws.com";

struct Tls {
    dir: tempfile::TempDir,
    store: SocketAddr,
}

impl Tls {
    fn ca(&self) -> std::path::PathBuf {
        self.dir.path().join("ca.pem")
    }
    fn resolve_flags(&self) -> Vec<String> {
        [CONTROL, STORAGE, TAGS].iter().map(|h| format!("{h}={}", self.store)).collect()
    }
    /// A client that trusts the test CA and finds the AWS names at the store.
    fn client(&self) -> reqwest::Client {
        let ca = reqwest::Certificate::from_pem(&std::fs::read(self.ca()).unwrap()).unwrap();
        let mut b = reqwest::Client::builder().add_root_certificate(ca);
        for h in [CONTROL, STORAGE, TAGS] {
            b = b.resolve(h, self.store);
        }
        b.build().unwrap()
    }
    async fn hosts(&self) -> serde_json::Value {
        let url = format!("https://localhost:{}/_local/hosts", self.store.port());
        self.client().get(url).send().await.unwrap().json().await.unwrap()
    }
}

fn write_dev_cert(dir: &Path) {
    readset_server::tls::write_dev_cert(&readset_server::tls::DevCertArgs { out: dir.to_owned(), region: REGION.into() }).unwrap();
}

/// The store on TLS, answering to its loopback names and the three AWS names.
async fn tls_store(limits: ServeLimits) -> Tls {
    let dir = tempfile::tempdir().unwrap();
    write_dev_cert(dir.path());
    let acceptor = readset_server::tls::acceptor(&dir.path().join("cert.pem"), &dir.path().join("key.pem")).unwrap();
    let mut hosts = AllowedHosts::loopback_any_port();
    for h in [CONTROL, STORAGE, TAGS] {
        hosts = hosts.with_name(h).unwrap();
    }
    let data = dir.path().join("data");
    let config = StoreConfig { processing_delay: Duration::from_millis(50), hosts, ..StoreConfig::new(&data) };
    let app = store::app(config).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { serve_with_limits_tls(listener, app, limits, Some(acceptor)).await.unwrap() });
    Tls { dir, store: addr }
}

/// A request signed with the store's keys for `host`, sent over TLS to the store.
async fn signed(tls: &Tls, method: &str, host: &str, path: &str, body: &[u8]) -> reqwest::Response {
    let creds = aws_credential_types::Credentials::new(DEFAULT_ACCESS_KEY_ID, DEFAULT_SECRET_ACCESS_KEY, None, None, "test");
    let url = format!("https://{host}{path}");
    let headers = proxy::sign::sign_request(
        &creds,
        REGION,
        method,
        &url,
        &[("host", host), ("content-type", "application/json")],
        proxy::sign::Payload::Bytes(body),
        SystemTime::now(),
    )
    .unwrap();
    let mut req = tls.client().request(method.parse().unwrap(), &url).header("content-type", "application/json").body(body.to_vec());
    for (k, v) in headers {
        req = req.header(k, v);
    }
    req.send().await.unwrap()
}

async fn create_sequence_store(tls: &Tls) -> String {
    let resp = signed(tls, "POST", CONTROL, "/sequencestore", br#"{"name":"tls","eTagAlgorithmFamily":"SHA256up"}"#).await;
    assert_eq!(resp.status(), 200);
    resp.json::<serde_json::Value>().await.unwrap()["id"].as_str().unwrap().to_owned()
}

fn count(hosts: &serde_json::Value, list: &str, op: &str, host: &str) -> u64 {
    hosts[list]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["operation"] == op && e["host"] == host)
        .map(|e| e["count"].as_u64().unwrap())
        .sum()
}

#[tokio::test]
async fn an_operation_on_another_prefixs_host_is_refused_with_invalid_action() {
    let tls = tls_store(ServeLimits::default()).await;
    // CreateSequenceStore belongs on control-storage-: storage- refuses it, signature or not.
    let wrong = signed(&tls, "POST", STORAGE, "/sequencestore", br#"{"name":"x"}"#).await;
    assert_eq!(wrong.status(), 400);
    assert_eq!(wrong.headers()["x-amzn-errortype"], "InvalidAction");
    let message = wrong.json::<serde_json::Value>().await.unwrap()["message"].as_str().unwrap().to_owned();
    assert!(message.contains(&format!("its endpoint is {CONTROL}")), "{message}");
    let id = create_sequence_store(&tls).await;

    // UploadReadSetPart on control-storage- (the issue's example), GetReadSetMetadata on
    // storage-, a tag operation on control-storage-.
    let part = format!("/sequencestore/{id}/upload/1234567890/part?partNumber=1&partSource=SOURCE1");
    let on_control = signed(&tls, "PUT", CONTROL, &part, b"").await;
    assert_eq!(on_control.status(), 400);
    assert_eq!(on_control.headers()["x-amzn-errortype"], "InvalidAction");
    let meta = format!("/sequencestore/{id}/readset/1234567890/metadata");
    assert_eq!(signed(&tls, "GET", STORAGE, &meta, b"").await.headers()["x-amzn-errortype"], "InvalidAction");
    let arn = percent_encoding::utf8_percent_encode(&format!("arn:aws:omics:us-east-1:000000000000:sequenceStore/{id}"), percent_encoding::NON_ALPHANUMERIC).to_string();
    let tags = format!("/tags/{arn}");
    assert_eq!(signed(&tls, "GET", CONTROL, &tags, b"").await.headers()["x-amzn-errortype"], "InvalidAction");
    // On their own hosts the same operations get past routing (a missing read set is the
    // store's answer, not the router's).
    assert_eq!(signed(&tls, "GET", CONTROL, &meta, b"").await.headers()["x-amzn-errortype"], "ResourceNotFoundException");
    assert_eq!(signed(&tls, "GET", TAGS, &tags, b"").await.status(), 200);
    // Loopback names keep serving everything (no prefix there).
    let local = format!("localhost:{}", tls.store.port());
    let creds = aws_credential_types::Credentials::new(DEFAULT_ACCESS_KEY_ID, DEFAULT_SECRET_ACCESS_KEY, None, None, "test");
    let url = format!("https://{local}{meta}");
    let h = proxy::sign::sign_request(&creds, REGION, "GET", &url, &[("host", &local)], proxy::sign::Payload::Bytes(b""), SystemTime::now()).unwrap();
    let mut req = tls.client().get(&url);
    for (k, v) in h {
        req = req.header(k, v);
    }
    assert_eq!(req.send().await.unwrap().headers()["x-amzn-errortype"], "ResourceNotFoundException");

    let hosts = tls.hosts().await;
    assert_eq!(count(&hosts, "wrong_host", "CreateSequenceStore", STORAGE), 1, "{hosts}");
    assert_eq!(count(&hosts, "wrong_host", "UploadReadSetPart", CONTROL), 1, "{hosts}");
    assert_eq!(count(&hosts, "wrong_host", "GetReadSetMetadata", STORAGE), 1, "{hosts}");
    assert_eq!(count(&hosts, "wrong_host", "ListTagsForResource", CONTROL), 1, "{hosts}");
    assert_eq!(count(&hosts, "verified", "CreateSequenceStore", CONTROL), 1, "{hosts}");
    assert_eq!(count(&hosts, "verified", "GetReadSetMetadata", CONTROL), 1, "{hosts}");
    assert_eq!(count(&hosts, "verified", "GetReadSetMetadata", &local), 1, "{hosts}");
    assert_eq!(count(&hosts, "verified", "ListTagsForResource", TAGS), 1, "{hosts}");
    assert_eq!(count(&hosts, "verified", "UploadReadSetPart", CONTROL), 0, "a refused request never reached SigV4: {hosts}");
}

fn aws_proxy_config(tls: &Tls, store_id: &str, with_ca: bool) -> ProxyConfig {
    let mut principal = Principal::new("test", "tester", StoreScope::Only(vec![store_id.to_owned()]), vec![]);
    // Downloads too (GetReadSet is granted only by name).
    principal.operations = proxy::access::OperationScope::Only(proxy::access::ALL_OPERATIONS.into_iter().collect());
    let auth = Authenticator::new().with_static_token(TOKEN, principal).unwrap();
    let mut config = ProxyConfig::new(Upstream::Aws, REGION, proxy::static_credentials(DEFAULT_ACCESS_KEY_ID, DEFAULT_SECRET_ACCESS_KEY), auth);
    let ca = if with_ca { vec![tls.ca()] } else { vec![] };
    config.upstream_connect = UpstreamConnect::from_flags(&ca, &tls.resolve_flags(), &Upstream::Aws.hosts(REGION)).unwrap();
    config
}

async fn spawn(app: axum::Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { readset_server::serve(listener, app, "test").await.unwrap() });
    addr
}

#[tokio::test]
async fn the_aws_mode_proxy_reaches_each_operation_on_its_prefix_host_over_tls() {
    let tls = tls_store(ServeLimits::default()).await;
    let store_id = create_sequence_store(&tls).await;

    // Without the test CA the store's certificate is not trusted: 502, nothing reaches it.
    let untrusting = spawn(proxy::app(aws_proxy_config(&tls, &store_id, false)).unwrap()).await;
    let client = reqwest::Client::new();
    let resp = client.get(format!("http://{untrusting}/omics/sequencestore/{store_id}")).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(resp.status(), 502);

    let proxy = spawn(proxy::app(aws_proxy_config(&tls, &store_id, true)).unwrap()).await;
    let base = format!("http://{proxy}/omics/sequencestore/{store_id}");
    let created: serde_json::Value = client
        .post(format!("{base}/upload"))
        .bearer_auth(TOKEN)
        .header("content-type", "application/json")
        .body(r#"{"sourceFileType":"FASTQ","subjectId":"s","sampleId":"s","name":"tls"}"#)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let upload = created["uploadId"].as_str().unwrap_or_else(|| panic!("{created}")).to_owned();
    let grant = created["uploadGrant"].as_str().unwrap().to_owned();
    let fastq: Vec<u8> = (0..500).flat_map(|i| format!("@r{i}\nACGT\n+\nIIII\n").into_bytes()).collect();
    let gz = {
        use std::io::Write;
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(&fastq).unwrap();
        e.finish().unwrap()
    };
    let part = client
        .put(format!("{base}/upload/{upload}/part?partNumber=1&partSource=SOURCE1"))
        .bearer_auth(TOKEN)
        .header("x-readset-upload-grant", &grant)
        .body(gz.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(part.status(), 200);
    let checksum = part.json::<serde_json::Value>().await.unwrap()["checksum"].clone();
    let listed = client
        .post(format!("{base}/upload/{upload}/parts"))
        .bearer_auth(TOKEN)
        .header("x-readset-upload-grant", &grant)
        .header("content-type", "application/json")
        .body(r#"{"partSource":"SOURCE1"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.status(), 200);
    let done = client
        .post(format!("{base}/upload/{upload}/complete"))
        .bearer_auth(TOKEN)
        .header("x-readset-upload-grant", &grant)
        .header("content-type", "application/json")
        .body(serde_json::json!({"parts": [{"partNumber": 1, "partSource": "SOURCE1", "checksum": checksum}]}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 200);
    let read_set = done.json::<serde_json::Value>().await.unwrap()["readSetId"].as_str().unwrap().to_owned();
    let meta = client.get(format!("{base}/readset/{read_set}/metadata")).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(meta.status(), 200);
    // The download is 409 until the read set is ACTIVE; then it is the uploaded bytes.
    let mut downloaded = None;
    for _ in 0..200 {
        let r = client.get(format!("{base}/readset/{read_set}?file=SOURCE1&partNumber=1")).bearer_auth(TOKEN).send().await.unwrap();
        match r.status().as_u16() {
            200 => {
                downloaded = Some(r.bytes().await.unwrap());
                break;
            }
            409 => tokio::time::sleep(Duration::from_millis(50)).await,
            s => panic!("GetReadSet: {s} {}", r.text().await.unwrap()),
        }
    }
    assert!(downloaded.expect("the read set never became ACTIVE")[..] == gz[..]);

    let hosts = tls.hosts().await;
    for (op, host) in [
        ("CreateMultipartReadSetUpload", CONTROL),
        ("UploadReadSetPart", STORAGE),
        ("ListReadSetUploadParts", CONTROL),
        ("CompleteMultipartReadSetUpload", STORAGE),
        ("GetReadSetMetadata", CONTROL),
    ] {
        assert_eq!(count(&hosts, "verified", op, host), 1, "{op} on {host}: {hosts}");
    }
    assert!(count(&hosts, "verified", "GetReadSet", STORAGE) >= 1, "GetReadSet on {STORAGE}: {hosts}");
    assert_eq!(count(&hosts, "verified", "GetReadSet", CONTROL), 0, "GetReadSet on {CONTROL}: {hosts}");
    assert!(hosts["wrong_host"].as_array().unwrap().is_empty(), "{hosts}");
    assert_eq!(count(&hosts, "verified", "GetSequenceStore", CONTROL), 0, "the untrusting proxy reached nothing: {hosts}");
}

#[tokio::test]
async fn a_stalled_tls_handshake_gives_its_connection_slot_back() {
    let limits = ServeLimits { max_connections: 1, header_read_timeout: Duration::from_secs(1), ..ServeLimits::default() };
    let tls = tls_store(limits).await;
    // Takes the only slot and never starts the handshake.
    let mut stalled = tokio::net::TcpStream::connect(tls.store).await.unwrap();
    // The next client is served once the stalled one is cut off.
    let hosts = tokio::time::timeout(Duration::from_secs(20), tls.hosts()).await.expect("a second client was never served");
    assert!(hosts["verified"].is_array());
    let mut buf = [0u8; 1];
    let read = tokio::time::timeout(Duration::from_secs(20), tokio::io::AsyncReadExt::read(&mut stalled, &mut buf)).await.expect("still open");
    assert!(matches!(read, Ok(0) | Err(_)), "the stalled connection was closed: {read:?}");
}

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    args: ProxyArgs,
}

async fn proxy_error(flags: &[&str]) -> String {
    let args = Cli::try_parse_from([&["proxy", "--upstream", "aws", "--region", "us-east-1", "--tokens", "/nonexistent"], flags].concat()).unwrap().args;
    ProxyConfig::from_args(&args).await.err().expect("refused").to_string()
}

#[tokio::test]
async fn the_upstream_tls_flags_refuse_bad_values_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    write_dev_cert(dir.path());
    let key = dir.path().join("key.pem");
    let not_pem = dir.path().join("garbage.pem");
    std::fs::write(&not_pem, "-----BEGIN CERTIFICATE-----\nnot base64 !!\n-----END CERTIFICATE-----\n").unwrap();
    let cases: &[(&[&str], &str)] = &[
        (&["--upstream-resolve", "storage-omics.us-east-1.amazonaws.com"], "is not HOST=ADDR"),
        (&["--upstream-resolve", "storage-omics.us-east-1.amazonaws.com=localhost:8443"], "is not an IP address or IP:PORT"),
        (&["--upstream-resolve", "bad host=127.0.0.1:1"], "is not a host name"),
        (&["--upstream-resolve", "storage-omics.eu-west-1.amazonaws.com=127.0.0.1:1"], "this proxy never connects to `storage-omics.eu-west-1.amazonaws.com`"),
        (&["--upstream-ca", "/nonexistent/ca.pem"], "--upstream-ca /nonexistent/ca.pem: cannot read the file"),
        (&["--upstream-ca", key.to_str().unwrap()], "holds no PEM certificate"),
        (&["--upstream-ca", not_pem.to_str().unwrap()], "not a valid PEM file"),
    ];
    for (flags, expected) in cases {
        let err = proxy_error(flags).await;
        assert!(err.contains(expected), "{flags:?}: {err}");
    }
    // Good values get past these checks (and fail later, on the missing token file).
    let ca = dir.path().join("ca.pem");
    let err = proxy_error(&["--upstream-ca", ca.to_str().unwrap(), "--upstream-resolve", "tags-omics.us-east-1.amazonaws.com=127.0.0.1:9"]).await;
    assert!(err.contains("/nonexistent"), "{err}");
}
