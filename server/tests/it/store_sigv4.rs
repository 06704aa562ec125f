//! The local store checks SigV4 as HealthOmics does: the payload hash on every operation but
//! UploadReadSetPart (no `UNSIGNED-PAYLOAD` on JSON operations, no body swapped after
//! signing), and a signed `Host` that is one the store answers to.

use crate::store_common;

use std::net::SocketAddr;
use std::time::{Duration, SystemTime};

use readset_server::hosts::AllowedHosts;
use readset_server::local::omics::{self as store, DEFAULT_SECRET_ACCESS_KEY};
use store_common::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn store_count(addr: SocketAddr) -> usize {
    client(addr).list_sequence_stores().send().await.unwrap().sequence_stores().len()
}

#[tokio::test]
async fn unsigned_payload_is_refused_on_json_operations_and_accepted_on_parts() {
    let dir = tempfile::tempdir().unwrap();
    let s = spawn(dir.path()).await;
    let create = Raw::new("POST", "/sequencestore", r#"{"name":"unsigned"}"#);
    let h = sign(s.addr, &create, DEFAULT_SECRET_ACCESS_KEY, SystemTime::now(), true);
    assert!(h.iter().any(|(k, v)| k == "x-amz-content-sha256" && v == "UNSIGNED-PAYLOAD"));
    let a = send(s.addr, &create, &h).await;
    assert_eq!((a.status, a.error_type.as_deref()), (403, Some("InvalidSignatureException")), "{}", a.body);
    assert_eq!(
        a.message(),
        "x-amz-content-sha256: UNSIGNED-PAYLOAD is accepted only on UploadReadSetPart; sign this operation's body with its SHA-256."
    );
    // The same unsigned request with another body: refused alike, and nothing was created.
    let swapped = Raw::new("POST", "/sequencestore", r#"{"name":"swapped"}"#);
    assert_eq!(send(s.addr, &swapped, &h).await.status, 403);
    assert_eq!(store_count(s.addr).await, 0, "no store was created");

    // A part may still be streamed unsigned.
    let c = client(s.addr);
    let store_id = c.create_sequence_store().name("parts").send().await.unwrap().id().to_string();
    let upload = c
        .create_multipart_read_set_upload()
        .sequence_store_id(&store_id)
        .name("u")
        .sample_id("x")
        .subject_id("y")
        .source_file_type(aws_sdk_omics::types::FileType::Fastq)
        .send()
        .await
        .unwrap()
        .upload_id()
        .to_string();
    let part = Raw::new("PUT", format!("/sequencestore/{store_id}/upload/{upload}/part?partNumber=1&partSource=SOURCE1"), gzip(&fastq(4, 20, "p")));
    let h = sign(s.addr, &part, DEFAULT_SECRET_ACCESS_KEY, SystemTime::now(), true);
    let a = send(s.addr, &part, &h).await;
    assert_eq!(a.status, 200, "{}", a.body);
    let parts = c.list_read_set_upload_parts().sequence_store_id(&store_id).upload_id(&upload).part_source("SOURCE1".into()).send().await.unwrap();
    assert_eq!(parts.parts().len(), 1);
}

#[tokio::test]
async fn a_body_swapped_after_signing_is_refused_with_or_without_the_hash_header() {
    let dir = tempfile::tempdir().unwrap();
    let s = spawn(dir.path()).await;
    let signed = Raw::new("POST", "/sequencestore", r#"{"name":"a"}"#);
    let h = sign(s.addr, &signed, DEFAULT_SECRET_ACCESS_KEY, SystemTime::now(), false);
    let swapped = Raw::new("POST", "/sequencestore", r#"{"name":"b"}"#);
    let a = send(s.addr, &swapped, &h).await;
    assert_eq!((a.status, a.error_type.as_deref()), (400, Some("XAmzContentSHA256Mismatch")), "{}", a.body);
    assert_eq!(a.message(), "The provided 'x-amz-content-sha256' header does not match what was computed.");

    // Signed without x-amz-content-sha256 (as the AWS SDKs sign JSON operations): the store
    // hashes the body it received, so a swapped body breaks the signature.
    let h = sign_without_hash_header(s.addr, &signed);
    assert!(h.iter().all(|(k, _)| k != "x-amz-content-sha256"));
    let a = send(s.addr, &swapped, &h).await;
    assert_eq!((a.status, a.error_type.as_deref()), (403, Some("InvalidSignatureException")), "{}", a.body);
    assert!(a.message().starts_with("The request signature we calculated does not match"), "{}", a.message());
    assert_eq!(store_count(s.addr).await, 0, "nothing was created");
    // The untouched request is accepted (the refusals above are about the swap).
    let a = send(s.addr, &signed, &h).await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(store_count(s.addr).await, 1);
}

fn sign_without_hash_header(addr: SocketAddr, raw: &Raw) -> Vec<(String, String)> {
    use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
    let identity = aws_credential_types::Credentials::new(store::DEFAULT_ACCESS_KEY_ID, DEFAULT_SECRET_ACCESS_KEY, None, None, "t").into();
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region(store::REGION)
        .name("omics")
        .time(SystemTime::now())
        .settings(SigningSettings::default())
        .build()
        .unwrap()
        .into();
    let uri = format!("http://{addr}{}", raw.path_and_query);
    let req = SignableRequest::new(raw.method, uri, std::iter::empty(), SignableBody::Bytes(&raw.body)).unwrap();
    let (instructions, _) = sign(req, &params).unwrap().into_parts();
    instructions.headers().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

/// A GetSequenceStore-like GET signed for `host` and sent to `addr` with `Host: host`;
/// returns the status line and the body.
async fn get_with_host(addr: SocketAddr, host: &str, path: &str) -> (String, String) {
    let creds = aws_credential_types::Credentials::new(store::DEFAULT_ACCESS_KEY_ID, DEFAULT_SECRET_ACCESS_KEY, None, None, "t");
    let url = format!("http://{host}{path}");
    let signed = readset_server::proxy::sign::sign_request(
        &creds,
        store::REGION,
        "POST",
        &url,
        &[("host", host)],
        readset_server::proxy::sign::Payload::Bytes(b"{}"),
        SystemTime::now(),
    )
    .unwrap();
    let mut head = format!("POST {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\ncontent-length: 2\r\n");
    for (k, v) in signed {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n{}");
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut out)).await.expect("answer in time").unwrap();
    let text = String::from_utf8_lossy(&out).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    (head.lines().next().unwrap_or_default().to_owned(), body.to_owned())
}

fn message(body: &str) -> String {
    serde_json::from_str::<serde_json::Value>(body).unwrap()["message"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn the_signed_host_must_be_one_the_store_answers_to() {
    let dir = tempfile::tempdir().unwrap();
    let s = spawn(dir.path()).await;
    let port = s.addr.port();
    for host in [format!("127.0.0.1:{port}"), format!("localhost:{port}")] {
        let (status, body) = get_with_host(s.addr, &host, "/sequencestores").await;
        assert_eq!(status, "HTTP/1.1 200 OK", "{host}: {body}");
    }
    for host in [format!("evil.example:{port}"), "evil.example".to_owned(), format!("localhost:{}", port.wrapping_add(1))] {
        let (status, body) = get_with_host(s.addr, &host, "/sequencestores").await;
        assert_eq!(status, "HTTP/1.1 403 Forbidden", "{host}: {body}");
        assert_eq!(
            message(&body),
            format!(
                "The request is signed for Host `{host}`, which this store does not answer to; it answers to 127.0.0.1:{port}, localhost:{port}, [::1]:{port} (start it with --host NAME for another name)."
            )
        );
    }
}

#[tokio::test]
async fn configured_host_names_are_answered_too() {
    let dir = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let hosts = AllowedHosts::for_listen(addr).with_name("control-storage-omics.us-east-1.amazonaws.com").unwrap();
    let app = store::app(store::StoreConfig { hosts, ..config(dir.path()) }).await.unwrap();
    let _task = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let (status, body) = get_with_host(addr, "control-storage-omics.us-east-1.amazonaws.com", "/sequencestores").await;
    assert_eq!(status, "HTTP/1.1 200 OK", "{body}");
    let (status, body) = get_with_host(addr, "control-storage-omics.eu-west-1.amazonaws.com", "/sequencestores").await;
    assert_eq!(status, "HTTP/1.1 403 Forbidden", "{body}");
    assert!(message(&body).contains(&format!("it answers to 127.0.0.1:{0}, localhost:{0}, [::1]:{0}, control-storage-omics.us-east-1.amazonaws.com", addr.port())), "{body}");
}
