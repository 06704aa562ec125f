//! The proxy forwards allowed requests signed, streams parts, and passes upstream answers
//! through; checked against a recording upstream that verifies SigV4 with `aws-sigv4`.

use crate::proxy_common;

use std::time::Duration;

use proxy_common::*;
use readset_server::proxy::ProxyConfig;

fn client() -> reqwest::Client {
    reqwest::Client::new()
}

#[tokio::test]
async fn json_operation_is_signed_with_its_body_hash_and_answer_passes_through() {
    let (up, rec) = spawn_upstream().await;
    let proxy = spawn_proxy(test_config(up)).await;
    let body = r#"{"filter":{"sampleId":"x"}}"#;
    let res = client()
        .post(format!("http://{proxy}/omics/sequencestore/{STORE}/readsets"))
        .bearer_auth(jwt_for(&[STORE]))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["x-amzn-requestid"], "upstream-req-1", "upstream request id passed through");
    assert!(res.headers().contains_key("x-readset-request-id"));
    let seen = rec.seen();
    assert_eq!(seen.len(), 1);
    let s = &seen[0];
    assert_eq!(s.method, "POST");
    assert_eq!(s.path_and_query, format!("/sequencestore/{STORE}/readsets"), "the /omics prefix is removed");
    assert!(s.signature_valid, "aws-sigv4 recomputes the same signature");
    assert_eq!(s.headers["x-amz-content-sha256"], sha256_hex(body.as_bytes()), "JSON is signed with its SHA-256");
    assert!(s.headers["authorization"].to_str().unwrap().starts_with("AWS4-HMAC-SHA256"),
        "the browser's bearer token is replaced by the SigV4 authorization");
    // The same check refuses a tampered request, so `signature_valid` above means something.
    assert!(verify_sigv4("POST", &s.path_and_query, &s.headers, Some(body.as_bytes())));
    assert!(!verify_sigv4("POST", &format!("/sequencestore/{OTHER_STORE}/upload"), &s.headers, Some(body.as_bytes())), "other path");
    assert!(!verify_sigv4("POST", &s.path_and_query, &s.headers, Some(b"{}")), "other body");
    assert!(!verify_sigv4("PUT", &s.path_and_query, &s.headers, Some(body.as_bytes())), "other method");
    let mut unsigned = s.headers.clone();
    unsigned.remove("authorization");
    assert!(!verify_sigv4("POST", &s.path_and_query, &unsigned, Some(body.as_bytes())), "unsigned");
}

#[tokio::test]
async fn static_token_part_is_signed_unsigned_payload_and_arrives_whole() {
    let (up, rec) = spawn_upstream().await;
    let proxy = spawn_proxy(test_config(up)).await;
    // Larger than axum's default 2 MB body limit, to show no such limit applies to parts.
    let data = pattern(5 * 1024 * 1024 + 17);
    let res = client()
        .put(format!("http://{proxy}{}", part_path(STORE, UPLOAD, 7)))
        .bearer_auth(STATIC_TOKEN)
        .header("x-readset-upload-grant", static_grant(STORE, UPLOAD))
        .body(data.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let json: serde_json::Value = res.json().await.unwrap();
    assert_eq!(json["sha256"], sha256_hex(&data));
    let s = &rec.seen()[0];
    assert_eq!(s.path_and_query, format!("/sequencestore/{STORE}/upload/{UPLOAD}/part?partNumber=7&partSource=SOURCE1"));
    assert_eq!(s.headers["x-amz-content-sha256"], "UNSIGNED-PAYLOAD");
    assert_eq!(s.headers["content-length"], data.len().to_string().as_str(), "sent with its length");
    assert!(!s.headers.contains_key("transfer-encoding"), "never chunked upstream");
    assert!(s.signature_valid);
    assert!(s.headers["authorization"].to_str().unwrap().contains("content-length"), "the length is signed");
}

#[tokio::test]
async fn part_body_is_streamed_upstream_before_the_client_finishes() {
    let (up, rec) = spawn_upstream().await;
    let proxy = spawn_proxy(test_config(up)).await;
    let first = pattern(64 * 1024);
    let last = vec![7u8; 64 * 1024];
    let total = first.len() + last.len();
    let (tx, rx) = tokio::sync::mpsc::channel::<Vec<u8>>(1);
    let mut progress = rec.progress.subscribe();
    let request = tokio::spawn(
        client()
            .put(format!("http://{proxy}{}", part_path(STORE, UPLOAD, 1)))
            .bearer_auth(STATIC_TOKEN)
            .header("x-readset-upload-grant", static_grant(STORE, UPLOAD))
            .header("content-length", total)
            .body(reqwest::Body::wrap_stream(futures_util::stream::unfold(rx, |mut rx| async move {
                rx.recv().await.map(|c| (Ok::<_, std::io::Error>(c), rx))
            })))
            .send(),
    );
    tx.send(first.clone()).await.unwrap();
    // The last bytes are held back until the upstream has received the first ones: a proxy
    // that buffered the part would never forward them, and this wait would fail.
    tokio::time::timeout(WAIT, progress.wait_for(|n| *n >= 1)).await.expect("upstream got first bytes while the client still holds the last").unwrap();
    assert!(*progress.borrow() <= first.len() as u64);
    tx.send(last.clone()).await.unwrap();
    drop(tx);
    let res = tokio::time::timeout(WAIT, request).await.unwrap().unwrap().unwrap();
    assert_eq!(res.status(), 200);
    let s = &rec.seen()[0];
    assert_eq!(s.body_len, total as u64);
    assert_eq!(s.body_sha256, sha256_hex(&[first, last].concat()));
    assert!(s.signature_valid);
}

#[tokio::test]
async fn client_disconnect_mid_part_aborts_the_upstream_request() {
    let (up, rec) = spawn_upstream().await;
    let proxy = spawn_proxy(test_config(up)).await;
    let mut progress = rec.progress.subscribe();
    let mut finished = rec.finished.subscribe();
    let mut stream = tokio::net::TcpStream::connect(proxy).await.unwrap();
    let head = format!(
        "PUT {} HTTP/1.1\r\nHost: {proxy}\r\nAuthorization: Bearer {STATIC_TOKEN}\r\nx-readset-upload-grant: {}\r\nContent-Length: 1000000\r\n\r\n",
        part_path(STORE, UPLOAD, 2),
        static_grant(STORE, UPLOAD)
    );
    use tokio::io::AsyncWriteExt;
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&pattern(10_000)).await.unwrap();
    tokio::time::timeout(WAIT, progress.wait_for(|n| *n >= 1)).await.unwrap().unwrap();
    drop(stream);
    tokio::time::timeout(WAIT, finished.wait_for(|n| *n >= 1)).await.expect("upstream saw the request end").unwrap();
    let s = &rec.seen()[0];
    assert!(!s.body_complete, "the upstream body failed instead of ending cleanly");
    assert!(s.body_len < 1_000_000);
}

#[tokio::test]
async fn upstream_throttling_and_errors_pass_through_unchanged() {
    let (up, rec) = spawn_upstream().await;
    let proxy = spawn_proxy(test_config(up)).await;
    rec.set_mode(Mode::Reply(
        429,
        vec![("x-amzn-ErrorType", "ThrottlingException"), ("Retry-After", "3"), ("content-type", "application/json"), ("x-amzn-RequestId", "up-429")],
        r#"{"message":"Rate exceeded"}"#,
    ));
    let res = client()
        .put(format!("http://{proxy}{}", part_path(STORE, UPLOAD, 1)))
        .bearer_auth(STATIC_TOKEN)
        .header("x-readset-upload-grant", static_grant(STORE, UPLOAD))
        .body(vec![1u8; 10])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 429);
    assert_eq!(res.headers()["x-amzn-errortype"], "ThrottlingException");
    assert_eq!(res.headers()["retry-after"], "3");
    assert_eq!(res.headers()["x-amzn-requestid"], "up-429");
    assert_eq!(res.text().await.unwrap(), r#"{"message":"Rate exceeded"}"#);

    rec.set_mode(Mode::Reply(503, vec![("x-amzn-ErrorType", "ServiceUnavailableException"), ("content-type", "application/json")], r#"{"message":"down"}"#));
    let res = client()
        .get(format!("http://{proxy}/omics/sequencestore/{STORE}"))
        .bearer_auth(STATIC_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 503);
    assert_eq!(res.headers()["x-amzn-errortype"], "ServiceUnavailableException");
}

#[tokio::test]
async fn per_token_part_cap_answers_429_with_retry_after() {
    let (up, rec) = spawn_upstream().await;
    let mut config = test_config(up);
    config.per_token_part_cap = 1;
    let proxy = spawn_proxy(config).await;
    let mut progress = rec.progress.subscribe();
    // First part: hold its body open so it stays in flight.
    let (tx, rx) = tokio::sync::mpsc::channel::<Vec<u8>>(1);
    let first = tokio::spawn(
        client()
            .put(format!("http://{proxy}{}", part_path(STORE, UPLOAD, 1)))
            .bearer_auth(STATIC_TOKEN)
            .header("x-readset-upload-grant", static_grant(STORE, UPLOAD))
            .header("content-length", 20)
            .body(reqwest::Body::wrap_stream(futures_util::stream::unfold(rx, |mut rx| async move {
                rx.recv().await.map(|c| (Ok::<_, std::io::Error>(c), rx))
            })))
            .send(),
    );
    tx.send(vec![1u8; 10]).await.unwrap();
    tokio::time::timeout(WAIT, progress.wait_for(|n| *n >= 1)).await.unwrap().unwrap();
    let second = client()
        .put(format!("http://{proxy}{}", part_path(STORE, UPLOAD, 2)))
        .bearer_auth(STATIC_TOKEN)
        .header("x-readset-upload-grant", static_grant(STORE, UPLOAD))
        .body(vec![2u8; 10])
        .send()
        .await
        .unwrap();
    assert_eq!(second.status(), 429);
    assert_eq!(second.headers()["x-amzn-errortype"], "ThrottlingException");
    assert_eq!(second.headers()["retry-after"], "1");
    // Another user is not affected by this token's cap.
    let other = client()
        .put(format!("http://{proxy}{}", part_path(STORE, UPLOAD, 3)))
        .bearer_auth(jwt_for(&[STORE]))
        .header("x-readset-upload-grant", alice_grant(STORE, UPLOAD))
        .body(vec![3u8; 10])
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 200);
    tx.send(vec![1u8; 10]).await.unwrap();
    drop(tx);
    let first = tokio::time::timeout(WAIT, first).await.unwrap().unwrap().unwrap();
    assert_eq!(first.status(), 200);
    let _ = first.bytes().await;
    // The slot is free again once the first part is done.
    let third = client()
        .put(format!("http://{proxy}{}", part_path(STORE, UPLOAD, 2)))
        .bearer_auth(STATIC_TOKEN)
        .header("x-readset-upload-grant", static_grant(STORE, UPLOAD))
        .body(vec![2u8; 10])
        .send()
        .await
        .unwrap();
    assert_eq!(third.status(), 200);
}

#[tokio::test]
async fn unreachable_upstream_is_502_and_silent_upstream_is_504() {
    let closed = {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        l.local_addr().unwrap()
    };
    let proxy = spawn_proxy(test_config(closed)).await;
    let res = client().get(format!("http://{proxy}/omics/sequencestore/{STORE}")).bearer_auth(STATIC_TOKEN).send().await.unwrap();
    assert_eq!(res.status(), 502);
    assert_eq!(res.headers()["x-amzn-errortype"], "BadGatewayException");

    let (up, rec) = spawn_upstream().await;
    rec.set_mode(Mode::Hang);
    let mut config: ProxyConfig = test_config(up);
    config.upstream_timeout = Duration::from_millis(300);
    let proxy = spawn_proxy(config).await;
    let res = client().get(format!("http://{proxy}/omics/sequencestore/{STORE}")).bearer_auth(STATIC_TOKEN).send().await.unwrap();
    assert_eq!(res.status(), 504);
    assert_eq!(res.headers()["x-amzn-errortype"], "GatewayTimeoutException");
    let body: serde_json::Value = res.json().await.unwrap();
    assert!(body["message"].as_str().unwrap().contains("did not answer"));
}

#[tokio::test]
async fn cors_preflight_needs_no_token_and_errors_expose_headers() {
    let (up, rec) = spawn_upstream().await;
    let proxy = spawn_proxy(test_config(up)).await;
    let res = client()
        .request(reqwest::Method::OPTIONS, format!("http://{proxy}{}", part_path(STORE, UPLOAD, 1)))
        .header("origin", "https://portal.example")
        .header("access-control-request-method", "PUT")
        .header("access-control-request-headers", "authorization, content-type, x-amz-user-agent, x-evil")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    assert_eq!(res.headers()["access-control-allow-origin"], "https://portal.example");
    assert_eq!(res.headers()["access-control-allow-headers"], "authorization, content-type, x-amz-user-agent");
    assert!(res.headers()["access-control-allow-methods"].to_str().unwrap().contains("PUT"));

    let res = client()
        .request(reqwest::Method::OPTIONS, format!("http://{proxy}/omics/sequencestore/{STORE}"))
        .header("origin", "https://evil.example")
        .header("access-control-request-method", "GET")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    assert!(!res.headers().contains_key("access-control-allow-origin"));

    let res = client()
        .get(format!("http://{proxy}/omics/sequencestore/{STORE}"))
        .header("origin", "https://portal.example")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(res.headers()["access-control-allow-origin"], "https://portal.example");
    let exposed = res.headers()["access-control-expose-headers"].to_str().unwrap().to_ascii_lowercase();
    for h in ["x-amzn-errortype", "x-amzn-requestid", "retry-after", "etag", "x-readset-request-id"] {
        assert!(exposed.contains(h), "{h} exposed");
    }
    assert!(rec.seen().is_empty());
}

#[tokio::test]
async fn complete_of_a_full_pair_passes_while_other_json_calls_keep_the_small_cap() {
    use readset_server::proxy::ownership::GRANT_HEADER;
    use readset_server::proxy::policy::MAX_COMPLETE_JSON_BODY;
    let (up, rec) = spawn_upstream().await;
    let proxy = spawn_proxy(test_config(up)).await;
    let post = |path: String, body: Vec<u8>| {
        client()
            .post(format!("http://{proxy}/omics/sequencestore/{STORE}{path}"))
            .bearer_auth(jwt_for(&[STORE]))
            .header(GRANT_HEADER, alice_grant(STORE, UPLOAD))
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    // Both sources' 10,000 parts with the longest checksum the API allows (100 characters).
    let parts: Vec<_> = ["SOURCE1", "SOURCE2"]
        .iter()
        .flat_map(|s| (1..=10_000).map(move |n| serde_json::json!({"partNumber": n, "partSource": s, "checksum": "c".repeat(100)})))
        .collect();
    let body = serde_json::json!({ "parts": parts }).to_string().into_bytes();
    assert!(body.len() > 2_000_000 && body.len() <= MAX_COMPLETE_JSON_BODY, "{} bytes", body.len());
    let res = post(format!("/upload/{UPLOAD}/complete"), body.clone()).await.unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let seen = rec.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].body_len, body.len() as u64);
    assert_eq!(seen[0].body_sha256, sha256_hex(&body), "the whole parts list arrives");
    assert!(seen[0].signature_valid);

    // Other JSON calls keep the operator's cap (64 KiB by default), and Complete has a cap too.
    let filter = format!(r#"{{"filter":{{"sampleId":"{}"}}}}"#, "x".repeat(70 * 1024));
    let res = post("/readsets".into(), filter.into_bytes()).await.unwrap();
    assert_eq!(res.status(), 413);
    let mut huge = br#"{"parts":[]}"#.to_vec();
    huge.splice(10..10, std::iter::repeat_n(b' ', MAX_COMPLETE_JSON_BODY));
    let res = post(format!("/upload/{UPLOAD}/complete"), huge).await.unwrap();
    assert_eq!(res.status(), 413);
    assert!(res.text().await.unwrap().contains(&MAX_COMPLETE_JSON_BODY.to_string()), "the message names the cap");
    assert_eq!(rec.seen().len(), 1, "neither refused request reached the upstream");
}

#[tokio::test]
async fn a_large_complete_from_another_user_or_with_a_repeated_key_is_refused_before_the_upstream() {
    use readset_server::proxy::ownership::GRANT_HEADER;
    let (up, rec) = spawn_upstream().await;
    let proxy = spawn_proxy(test_config(up)).await;
    let parts: Vec<_> = (1..=10_000).map(|n| serde_json::json!({"partNumber": n, "partSource": "SOURCE1", "checksum": "c".repeat(64)})).collect();
    let list = serde_json::to_string(&parts).unwrap();
    let complete = |token: String, body: String| {
        client()
            .post(format!("http://{proxy}/omics/sequencestore/{STORE}/upload/{UPLOAD}/complete"))
            .bearer_auth(token)
            .header(GRANT_HEADER, alice_grant(STORE, UPLOAD))
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    // Bob, allowed on the same store, sends Alice's grant with his own token: the grant names
    // its owner, so the large body is never read on his behalf.
    let bob = mint_jwt(serde_json::json!({ "sub": "bob", "exp": now_secs() + 600, "stores": [STORE] }));
    let res = complete(bob, format!(r#"{{"parts":{list}}}"#)).await.unwrap();
    assert_eq!(res.status(), 403);
    // Alice herself, but `parts` given twice (which list would the service use?).
    let alice = jwt_for(&[STORE]);
    let res = complete(alice, format!(r#"{{"parts":{list},"parts":[]}}"#)).await.unwrap();
    assert_eq!(res.status(), 400);
    assert!(res.text().await.unwrap().contains("more than once"));
    assert!(rec.seen().is_empty(), "the upstream saw neither request, so nothing was completed");
}
