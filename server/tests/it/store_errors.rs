//! Bad requests to the local store: each gets the status, `x-amzn-ErrorType` and a message
//! naming the field, as the HealthOmics reference and AWS SigV4 specify. Requests the SDK would
//! refuse to send are built by hand and signed with the official `aws-sigv4` signer.

use crate::store_common;

use std::net::SocketAddr;
use std::time::{Duration, SystemTime};

use aws_sdk_omics::error::ProvideErrorMetadata;
use aws_sdk_omics::primitives::ByteStream;
use aws_sdk_omics::types::{FileType, ReadSetPartSource};
use readset_server::local::omics::DEFAULT_SECRET_ACCESS_KEY;
use store_common::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

struct Fixture {
    _dir: tempfile::TempDir,
    server: TestStore,
    store: String,
    upload: String,
    sum1: String,
    sum2: String,
}

/// A store with one FASTQ upload holding parts 1 and 2 of SOURCE1.
async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let server = spawn(dir.path()).await;
    let c = client(server.addr);
    let store = c.create_sequence_store().name("errors").send().await.unwrap().id().to_string();
    let upload = c
        .create_multipart_read_set_upload()
        .sequence_store_id(&store)
        .name("u")
        .sample_id("s")
        .subject_id("s")
        .source_file_type(FileType::Fastq)
        .send()
        .await
        .unwrap()
        .upload_id()
        .to_string();
    let mut sums = Vec::new();
    for n in 1..=2 {
        let out = c
            .upload_read_set_part()
            .sequence_store_id(&store)
            .upload_id(&upload)
            .part_source(ReadSetPartSource::Source1)
            .part_number(n)
            .payload(ByteStream::from(format!("part {n}").into_bytes()))
            .send()
            .await
            .unwrap();
        sums.push(out.checksum().to_string());
    }
    Fixture { _dir: dir, server, store, upload, sum1: sums[0].clone(), sum2: sums[1].clone() }
}

#[tokio::test]
async fn bad_requests_get_the_documented_status_error_type_and_a_message_naming_the_field() {
    let f = fixture().await;
    let (s, u) = (f.store.as_str(), f.upload.as_str());
    let part = |q: &str| format!("/sequencestore/{s}/upload/{u}/part?{q}");
    let long = "x".repeat(128);
    let complete = |parts: serde_json::Value| serde_json::json!({ "parts": parts }).to_string();
    // (what, request, status, error type, words the message must contain)
    let cases: Vec<(&str, Raw, u16, &str, &str)> = vec![
        ("partNumber 0", Raw::new("PUT", part("partNumber=0&partSource=SOURCE1"), "x"), 400, "ValidationException", "partNumber"),
        ("partNumber 10001", Raw::new("PUT", part("partNumber=10001&partSource=SOURCE1"), "x"), 400, "ValidationException", "partNumber"),
        ("partNumber missing", Raw::new("PUT", part("partSource=SOURCE1"), "x"), 400, "ValidationException", "partNumber"),
        ("bad partSource", Raw::new("PUT", part("partNumber=1&partSource=SOURCE3"), "x"), 400, "ValidationException", "partSource"),
        (
            "malformed uploadId",
            Raw::new("PUT", format!("/sequencestore/{s}/upload/12ab/part?partNumber=1&partSource=SOURCE1"), "x"),
            400,
            "ValidationException",
            "uploadId",
        ),
        (
            "unknown upload",
            Raw::new("PUT", format!("/sequencestore/{s}/upload/8888888888/part?partNumber=1&partSource=SOURCE1"), "x"),
            404,
            "ResourceNotFoundException",
            "8888888888",
        ),
        (
            "unknown store (part)",
            Raw::new("PUT", format!("/sequencestore/7777777777/upload/{u}/part?partNumber=1&partSource=SOURCE1"), "x"),
            404,
            "ResourceNotFoundException",
            "7777777777",
        ),
        ("store id too short", Raw::new("GET", "/sequencestore/123", ""), 400, "ValidationException", "sequenceStoreId"),
        ("store id not digits", Raw::new("POST", "/sequencestore/abcdefghijk/upload", "{}"), 400, "ValidationException", "sequenceStoreId"),
        ("store id too long", Raw::new("GET", format!("/sequencestore/{}", "1".repeat(37)), ""), 400, "ValidationException", "sequenceStoreId"),
        ("unknown store", Raw::new("GET", "/sequencestore/9999999999", ""), 404, "ResourceNotFoundException", "9999999999"),
        ("maxResults 0", Raw::new("POST", "/sequencestores?maxResults=0", "{}"), 400, "ValidationException", "maxResults"),
        ("maxResults 101", Raw::new("POST", format!("/sequencestore/{s}/readsets?maxResults=101"), "{}"), 400, "ValidationException", "maxResults"),
        ("maxResults not a number", Raw::new("POST", format!("/sequencestore/{s}/uploads?maxResults=ten"), ""), 400, "ValidationException", "maxResults"),
        ("forged nextToken", Raw::new("POST", "/sequencestores?nextToken=abc", "{}"), 400, "ValidationException", "nextToken"),
        (
            "name too long",
            Raw::new("POST", format!("/sequencestore/{s}/upload"), format!(r#"{{"name":"{long}","sampleId":"a","subjectId":"b","sourceFileType":"FASTQ"}}"#)),
            400,
            "ValidationException",
            "name",
        ),
        (
            "sampleId too long",
            Raw::new("POST", format!("/sequencestore/{s}/upload"), format!(r#"{{"name":"n","sampleId":"{long}","subjectId":"b","sourceFileType":"FASTQ"}}"#)),
            400,
            "ValidationException",
            "sampleId",
        ),
        (
            "subjectId empty",
            Raw::new("POST", format!("/sequencestore/{s}/upload"), r#"{"name":"n","sampleId":"a","subjectId":"","sourceFileType":"FASTQ"}"#),
            400,
            "ValidationException",
            "subjectId",
        ),
        (
            "subjectId missing",
            Raw::new("POST", format!("/sequencestore/{s}/upload"), r#"{"name":"n","sampleId":"a","sourceFileType":"FASTQ"}"#),
            400,
            "ValidationException",
            "subjectId",
        ),
        (
            "unknown sourceFileType",
            Raw::new("POST", format!("/sequencestore/{s}/upload"), r#"{"name":"n","sampleId":"a","subjectId":"b","sourceFileType":"VCF"}"#),
            400,
            "ValidationException",
            "sourceFileType",
        ),
        (
            "BAM without referenceArn",
            Raw::new("POST", format!("/sequencestore/{s}/upload"), r#"{"name":"n","sampleId":"a","subjectId":"b","sourceFileType":"BAM"}"#),
            400,
            "ValidationException",
            "referenceArn",
        ),
        ("unknown eTag family", Raw::new("POST", "/sequencestore", r#"{"name":"n","eTagAlgorithmFamily":"CRC32up"}"#), 400, "ValidationException", "eTagAlgorithmFamily"),
        ("malformed JSON", Raw::new("POST", "/sequencestore", r#"{"name":"#), 400, "ValidationException", "body"),
        (
            "complete with a wrong checksum",
            Raw::new(
                "POST",
                format!("/sequencestore/{s}/upload/{u}/complete"),
                complete(serde_json::json!([
                    {"partSource":"SOURCE1","partNumber":1,"checksum":"0000"},
                    {"partSource":"SOURCE1","partNumber":2,"checksum":f.sum2},
                ])),
            ),
            400,
            "ValidationException",
            "part 1 of SOURCE1",
        ),
        (
            "complete with a gap",
            Raw::new(
                "POST",
                format!("/sequencestore/{s}/upload/{u}/complete"),
                complete(serde_json::json!([
                    {"partSource":"SOURCE1","partNumber":1,"checksum":f.sum1},
                    {"partSource":"SOURCE1","partNumber":3,"checksum":f.sum2},
                ])),
            ),
            400,
            "ValidationException",
            "part 2 of SOURCE1",
        ),
        (
            "complete with a part never uploaded",
            Raw::new(
                "POST",
                format!("/sequencestore/{s}/upload/{u}/complete"),
                complete(serde_json::json!([
                    {"partSource":"SOURCE1","partNumber":1,"checksum":f.sum1},
                    {"partSource":"SOURCE1","partNumber":2,"checksum":f.sum2},
                    {"partSource":"SOURCE2","partNumber":1,"checksum":f.sum1},
                ])),
            ),
            400,
            "ValidationException",
            "part 1 of SOURCE2",
        ),
        (
            "complete with no parts",
            Raw::new("POST", format!("/sequencestore/{s}/upload/{u}/complete"), complete(serde_json::json!([]))),
            400,
            "ValidationException",
            "parts",
        ),
        (
            "complete an unknown upload",
            Raw::new(
                "POST",
                format!("/sequencestore/{s}/upload/5555555555/complete"),
                complete(serde_json::json!([{"partSource":"SOURCE1","partNumber":1,"checksum":f.sum1}])),
            ),
            404,
            "ResourceNotFoundException",
            "5555555555",
        ),
        (
            "abort an unknown upload",
            Raw::new("DELETE", format!("/sequencestore/{s}/upload/5555555555/abort"), ""),
            404,
            "ResourceNotFoundException",
            "5555555555",
        ),
        (
            "list parts without partSource",
            Raw::new("POST", format!("/sequencestore/{s}/upload/{u}/parts"), "{}"),
            400,
            "ValidationException",
            "partSource",
        ),
        ("unknown read set", Raw::new("GET", format!("/sequencestore/{s}/readset/4444444444/metadata"), ""), 404, "ResourceNotFoundException", "4444444444"),
        (
            "batch delete of 101 ids",
            Raw::new("POST", format!("/sequencestore/{s}/readset/batch/delete"), serde_json::json!({"ids": vec!["1234567890"; 101]}).to_string()),
            400,
            "ValidationException",
            "ids",
        ),
        (
            "import without roleArn",
            Raw::new("POST", format!("/sequencestore/{s}/importjob"), r#"{"sources":[{"sourceFiles":{"source1":"s3://b1/k"},"sourceFileType":"FASTQ","sampleId":"a","subjectId":"b"}]}"#),
            400,
            "ValidationException",
            "roleArn",
        ),
        (
            "export to a non-S3 destination",
            Raw::new("POST", format!("/sequencestore/{s}/exportjob"), r#"{"roleArn":"arn:aws:iam::000000000000:role/x","destination":"/tmp/x","sources":[{"readSetId":"1234567890"}]}"#),
            400,
            "ValidationException",
            "destination",
        ),
        ("unknown tag resource", Raw::new("GET", "/tags/arn%3Aaws%3Aomics%3Aus-east-1%3A000000000000%3AsequenceStore%2F3333333333", ""), 404, "ResourceNotFoundException", "3333333333"),
    ];
    let mut failures = Vec::new();
    for (what, raw, status, kind, words) in &cases {
        let unsigned_payload = raw.method == "PUT";
        let h = sign(f.server.addr, raw, DEFAULT_SECRET_ACCESS_KEY, SystemTime::now(), unsigned_payload);
        let a = send(f.server.addr, raw, &h).await;
        if a.status != *status || a.error_type.as_deref() != Some(*kind) || !a.message().contains(words) {
            failures.push(format!("{what}: got {} {:?} {:?}, want {status} {kind} with `{words}`", a.status, a.error_type, a.body));
        }
    }
    assert!(failures.is_empty(), "{} of {} cases wrong:\n{}", failures.len(), cases.len(), failures.join("\n"));

    // None of the above touched the upload: both parts are still there, and it completes.
    let c = client(f.server.addr);
    let done = c
        .complete_multipart_read_set_upload()
        .sequence_store_id(s)
        .upload_id(u)
        .parts(aws_sdk_omics::types::CompleteReadSetUploadPartListItem::builder().part_source(ReadSetPartSource::Source1).part_number(1).checksum(&f.sum1).build().unwrap())
        .parts(aws_sdk_omics::types::CompleteReadSetUploadPartListItem::builder().part_source(ReadSetPartSource::Source1).part_number(2).checksum(&f.sum2).build().unwrap())
        .send()
        .await
        .unwrap();
    assert!(!done.read_set_id().is_empty());
}

#[tokio::test]
async fn unsigned_wrongly_signed_unknown_key_and_stale_requests_are_refused() {
    let f = fixture().await;
    let addr = f.server.addr;
    let raw = Raw::new("GET", format!("/sequencestore/{}", f.store), "");

    let a = send(addr, &raw, &[]).await;
    assert_eq!((a.status, a.error_type.as_deref()), (403, Some("MissingAuthenticationTokenException")), "{}", a.body);

    let h = sign(addr, &raw, "not-the-secret", SystemTime::now(), false);
    let a = send(addr, &raw, &h).await;
    assert_eq!((a.status, a.error_type.as_deref()), (403, Some("InvalidSignatureException")), "{}", a.body);
    assert!(a.message().contains("signature"), "{}", a.body);

    let stale = SystemTime::now() - Duration::from_secs(20 * 60);
    let h = sign(addr, &raw, DEFAULT_SECRET_ACCESS_KEY, stale, false);
    let a = send(addr, &raw, &h).await;
    assert_eq!((a.status, a.error_type.as_deref()), (400, Some("RequestExpired")), "{}", a.body);

    let future = SystemTime::now() + Duration::from_secs(20 * 60);
    let h = sign(addr, &raw, DEFAULT_SECRET_ACCESS_KEY, future, false);
    assert_eq!(send(addr, &raw, &h).await.error_type.as_deref(), Some("RequestExpired"));

    let h: Vec<(String, String)> = sign(addr, &raw, DEFAULT_SECRET_ACCESS_KEY, SystemTime::now(), false)
        .into_iter()
        .map(|(k, v)| (k.clone(), if k == "authorization" { v.replace("AKIDLOCALREADSETSTORE", "AKIDSOMEONEELSE") } else { v }))
        .collect();
    let a = send(addr, &raw, &h).await;
    assert_eq!((a.status, a.error_type.as_deref()), (403, Some("UnrecognizedClientException")), "{}", a.body);

    let a = send(addr, &raw, &[("authorization".into(), "Bearer abc".into())]).await;
    assert_eq!((a.status, a.error_type.as_deref()), (403, Some("IncompleteSignatureException")), "{}", a.body);

    // A JSON body changed after signing.
    let signed = Raw::new("POST", "/sequencestore", r#"{"name":"a"}"#);
    let h = sign(addr, &signed, DEFAULT_SECRET_ACCESS_KEY, SystemTime::now(), false);
    let tampered = Raw::new("POST", "/sequencestore", r#"{"name":"b"}"#);
    let a = send(addr, &tampered, &h).await;
    assert_eq!((a.status, a.error_type.as_deref()), (400, Some("XAmzContentSHA256Mismatch")), "{}", a.body);

    // The SDK with a wrong secret sees the error type.
    let bad = client_with(addr, readset_server::local::omics::DEFAULT_ACCESS_KEY_ID, "wrong");
    let err = bad.get_sequence_store().id(&f.store).send().await.unwrap_err();
    assert_eq!(err.code(), Some("InvalidSignatureException"));
    // And a signed, valid request still works.
    assert_eq!(send_signed(addr, &raw).await.status, 200);
}

/// Sends a request head by hand (for bodies whose length differs from Content-Length) and
/// returns what the server answered (status line and headers, lower-cased).
async fn raw_tcp(addr: SocketAddr, path_and_query: &str, content_length: u64, body: &[u8]) -> String {
    let raw = Raw::new("PUT", path_and_query.to_string(), Vec::new());
    let signed = sign(addr, &raw, DEFAULT_SECRET_ACCESS_KEY, SystemTime::now(), true);
    let mut head = format!("PUT {path_and_query} HTTP/1.1\r\nhost: {addr}\r\ncontent-length: {content_length}\r\n");
    for (k, v) in signed {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    let mut sock = tokio::net::TcpStream::connect(addr).await.unwrap();
    sock.write_all(head.as_bytes()).await.unwrap();
    sock.write_all(body).await.unwrap();
    if !body.is_empty() {
        sock.shutdown().await.unwrap();
    }
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let read = async {
        loop {
            match sock.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
            if got.windows(4).any(|w| w == b"\r\n\r\n") && got.ends_with(b"}") {
                break;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(10), read).await.expect("answer within 10 s");
    String::from_utf8_lossy(&got).to_lowercase()
}

#[tokio::test]
async fn part_over_100_mib_is_refused_from_its_content_length_before_the_body_is_read() {
    let f = fixture().await;
    let path = format!("/sequencestore/{}/upload/{}/part?partNumber=3&partSource=SOURCE1", f.store, f.upload);
    // No body bytes are sent at all: the answer can only come from the header.
    let answer = raw_tcp(f.server.addr, &path, 104_857_601, b"").await;
    assert!(answer.starts_with("http/1.1 400"), "{answer}");
    assert!(answer.contains("x-amzn-errortype: validationexception"), "{answer}");
    assert!(answer.contains("104857600"), "{answer}");
}

#[tokio::test]
async fn part_body_cut_short_of_its_content_length_is_never_stored() {
    let f = fixture().await;
    let path = format!("/sequencestore/{}/upload/{}/part?partNumber=3&partSource=SOURCE1", f.store, f.upload);
    let answer = raw_tcp(f.server.addr, &path, 1000, &[b'a'; 500]).await;
    assert!(answer.is_empty() || answer.starts_with("http/1.1 400"), "{answer}");
    let c = client(f.server.addr);
    // Bounded wait for the handler to finish with the cut body, then: only parts 1 and 2.
    poll("the cut body to be cleaned up", || async {
        let tmp = std::fs::read_dir(f._dir.path().join("tmp")).unwrap().count();
        (tmp == 0).then_some(())
    })
    .await;
    let parts = c
        .list_read_set_upload_parts()
        .sequence_store_id(&f.store)
        .upload_id(&f.upload)
        .part_source(ReadSetPartSource::Source1)
        .send()
        .await
        .unwrap();
    assert_eq!(parts.parts().iter().map(|p| p.part_number()).collect::<Vec<_>>(), vec![1, 2]);
    assert!(!f._dir.path().join(format!("parts/{}/SOURCE1/3", f.upload)).exists());
}

#[tokio::test]
async fn cors_preflight_is_answered_without_a_signature_and_error_headers_are_exposed() {
    let f = fixture().await;
    let http = reqwest::Client::new();
    let resp = http
        .request(reqwest::Method::OPTIONS, format!("http://{}/sequencestore/{}/upload/{}/part", f.server.addr, f.store, f.upload))
        .header("origin", "http://portal.example")
        .header("access-control-request-method", "PUT")
        .header("access-control-request-headers", "authorization,x-amz-date,x-amz-content-sha256")
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "{}", resp.status());
    let h = resp.headers();
    assert_eq!(h["access-control-allow-origin"], "http://portal.example");
    assert!(h["access-control-allow-headers"].to_str().unwrap().contains("authorization"));
    assert!(h["access-control-allow-methods"].to_str().unwrap().contains("PUT"));

    let raw = Raw { headers: vec![("origin".into(), "http://portal.example".into())], ..Raw::new("GET", "/sequencestore/9999999999", "") };
    let a = send_signed(f.server.addr, &raw).await;
    assert_eq!(a.status, 404);
    let exposed = a.headers["access-control-expose-headers"].to_str().unwrap().to_lowercase();
    assert!(exposed.contains("x-amzn-errortype") && exposed.contains("x-amzn-requestid"), "{exposed}");
    assert!(a.headers.contains_key("x-amzn-requestid"));
}
