//! Hostile and malformed requests: each gets the right status, an AWS-shaped JSON error, and
//! none reaches the upstream.

use crate::proxy_common;

use proxy_common::*;

/// One case: a name, the raw request head (request line and headers), a body, and the
/// expected status and error type.
struct Case {
    name: &'static str,
    head: String,
    body: Vec<u8>,
    status: u16,
    error_type: &'static str,
}

fn case(name: &'static str, head: String, body: &[u8], status: u16, error_type: &'static str) -> Case {
    Case { name, head, body: body.to_vec(), status, error_type }
}

fn tampered_jwt() -> String {
    // Re-encode the payload with another store but keep the original signature.
    let jwt = jwt_for(&[STORE]);
    let parts: Vec<&str> = jwt.split('.').collect();
    use crate::support::b64url as encode;
    let payload = encode(serde_json::json!({ "sub": "alice", "exp": now_secs() + 600, "stores": ["*"] }).to_string().as_bytes());
    format!("{}.{}.{}", parts[0], payload, parts[2])
}

fn jwt_with_header(header: serde_json::Value, claims: serde_json::Value, sign_with: &[u8], alg: jsonwebtoken::Algorithm) -> String {
    use crate::support::b64url as encode;
    let head = encode(header.to_string().as_bytes());
    let body = encode(claims.to_string().as_bytes());
    if header["alg"] == "none" {
        return format!("{head}.{body}.");
    }
    let mut h = jsonwebtoken::Header::new(alg);
    h.typ = Some("JWT".into());
    jsonwebtoken::encode(&h, &claims, &jsonwebtoken::EncodingKey::from_secret(sign_with)).unwrap()
}

fn cases() -> Vec<Case> {
    let jwt = jwt_for(&[STORE]);
    let auth = |t: &str| format!("Authorization: Bearer {t}");
    let get_store = |store: &str, a: &str| format!("GET /omics/sequencestore/{store} HTTP/1.1\r\n{a}");
    let claims = |exp: u64| serde_json::json!({ "sub": "alice", "exp": exp, "stores": [STORE] });
    // Part requests carry alice's grant for UPLOAD, so each is refused for its own fault.
    let part = |path: String, a: &str, len: &str| format!("PUT {path} HTTP/1.1\r\n{a}\r\nx-readset-upload-grant: {}\r\n{len}", alice_grant(STORE, UPLOAD));
    let big_json = vec![b' '; 70_000];
    vec![
        case("no token", format!("GET /omics/sequencestore/{STORE} HTTP/1.1"), b"", 401, "UnauthorizedException"),
        case("basic scheme", get_store(STORE, "Authorization: Basic YWxpY2U6cHc="), b"", 401, "UnauthorizedException"),
        case("unknown token", get_store(STORE, &auth("not-a-token-at-all")), b"", 401, "UnauthorizedException"),
        case("malformed jwt", get_store(STORE, &auth("a.b.c")), b"", 401, "UnauthorizedException"),
        case("expired jwt", get_store(STORE, &auth(&mint_jwt(claims(now_secs() - 3600)))), b"", 401, "UnauthorizedException"),
        case("tampered jwt", get_store(STORE, &auth(&tampered_jwt())), b"", 401, "UnauthorizedException"),
        case("jwt from another secret", get_store(STORE, &auth(&jwt_with_header(serde_json::json!({"alg":"HS256"}), claims(now_secs() + 600), b"another-secret-another-secret-another", jsonwebtoken::Algorithm::HS256))), b"", 401, "UnauthorizedException"),
        case("jwt alg none", get_store(STORE, &auth(&jwt_with_header(serde_json::json!({"alg":"none","typ":"JWT"}), claims(now_secs() + 600), b"", jsonwebtoken::Algorithm::HS256))), b"", 401, "UnauthorizedException"),
        case("jwt HS512", get_store(STORE, &auth(&jwt_with_header(serde_json::json!({"alg":"HS512"}), claims(now_secs() + 600), JWT_SECRET, jsonwebtoken::Algorithm::HS512))), b"", 401, "UnauthorizedException"),
        case("jwt without exp", get_store(STORE, &auth(&mint_jwt(serde_json::json!({ "sub": "alice", "stores": [STORE] })))), b"", 401, "UnauthorizedException"),
        case("jwt without stores", get_store(STORE, &auth(&mint_jwt(serde_json::json!({ "sub": "alice", "exp": now_secs() + 600 })))), b"", 401, "UnauthorizedException"),
        case("jwt for another store", get_store(OTHER_STORE, &auth(&jwt)), b"", 403, "AccessDeniedException"),
        case("static token for another store", get_store(OTHER_STORE, &auth(STATIC_TOKEN)), b"", 403, "AccessDeniedException"),
        case("short store id", get_store("12345", &auth(&jwt)), b"", 400, "ValidationException"),
        case("letters in upload id", part(format!("/omics/sequencestore/{STORE}/upload/abcdefghijk/part?partNumber=1&partSource=SOURCE1"), &auth(&jwt), "Content-Length: 1"), b"x", 400, "ValidationException"),
        case("part number 0", part(format!("/omics/sequencestore/{STORE}/upload/{UPLOAD}/part?partNumber=0&partSource=SOURCE1"), &auth(&jwt), "Content-Length: 1"), b"x", 400, "ValidationException"),
        case("part number 10001", part(part_path(STORE, UPLOAD, 10001), &auth(&jwt), "Content-Length: 1"), b"x", 400, "ValidationException"),
        case("bad part source", part(format!("/omics/sequencestore/{STORE}/upload/{UPLOAD}/part?partNumber=1&partSource=SOURCE3"), &auth(&jwt), "Content-Length: 1"), b"x", 400, "ValidationException"),
        case("oversized part", part(part_path(STORE, UPLOAD, 1), &auth(&jwt), "Content-Length: 104857601"), b"", 413, "PayloadTooLargeException"),
        case("part without length", part(part_path(STORE, UPLOAD, 1), &auth(&jwt), "Transfer-Encoding: chunked"), b"1\r\nx\r\n0\r\n\r\n", 411, "LengthRequiredException"),
        case("dot-dot path", get_store(&format!("{STORE}/../../{STORE}"), &auth(&jwt)), b"", 400, "ValidationException"),
        case("encoded dot-dot path", get_store(&format!("%2e%2e/{STORE}"), &auth(&jwt)), b"", 400, "ValidationException"),
        case("double slash", get_store(&format!("/{STORE}"), &auth(&jwt)), b"", 400, "ValidationException"),
        case("host smuggled in path", get_store(&format!("{STORE}@evil.example"), &auth(&jwt)), b"", 400, "ValidationException"),
        case("query on an operation without one", get_store(&format!("{STORE}?url=http://evil.example/"), &auth(&jwt)), b"", 400, "ValidationException"),
        case("delete sequence store", format!("DELETE /omics/sequencestore/{STORE} HTTP/1.1\r\n{}", auth(&jwt)), b"", 403, "AccessDeniedException"),
        case("get read set (download)", format!("GET /omics/sequencestore/{STORE}/readset/{UPLOAD}?file=SOURCE1&partNumber=1 HTTP/1.1\r\n{}", auth(&jwt)), b"", 403, "AccessDeniedException"),
        case("create sequence store", format!("POST /omics/sequencestore HTTP/1.1\r\n{}\r\nContent-Length: 2", auth(&jwt)), b"{}", 403, "AccessDeniedException"),
        case("batch delete read sets", format!("POST /omics/sequencestore/{STORE}/readset/batch/delete HTTP/1.1\r\n{}\r\nContent-Length: 2", auth(&jwt)), b"{}", 403, "AccessDeniedException"),
        case("tags", format!("GET /omics/tags/arn HTTP/1.1\r\n{}", auth(&jwt)), b"", 403, "AccessDeniedException"),
        case("oversized json", format!("POST /omics/sequencestore/{STORE}/readsets HTTP/1.1\r\n{}\r\nContent-Length: {}", auth(&jwt), big_json.len()), &big_json, 413, "PayloadTooLargeException"),
        case("oversized chunked json", format!("POST /omics/sequencestore/{STORE}/readsets HTTP/1.1\r\n{}\r\nTransfer-Encoding: chunked", auth(&jwt)), &[format!("{:x}\r\n", big_json.len()).into_bytes(), big_json.clone(), b"\r\n0\r\n\r\n".to_vec()].concat(), 413, "PayloadTooLargeException"),
        case("json that is not json", format!("POST /omics/sequencestore/{STORE}/readsets HTTP/1.1\r\n{}\r\nContent-Length: 5", auth(&jwt)), b"{nope", 400, "ValidationException"),
        case("part without the upload's grant", format!("PUT {} HTTP/1.1\r\n{}\r\nContent-Length: 1", part_path(STORE, UPLOAD, 1), auth(&jwt)), b"x", 403, "AccessDeniedException"),
        case("part with another user's grant", format!("PUT {} HTTP/1.1\r\n{}\r\nx-readset-upload-grant: {}\r\nContent-Length: 1", part_path(STORE, UPLOAD, 1), auth(&jwt), static_grant(STORE, UPLOAD)), b"x", 403, "AccessDeniedException"),
        case("part with the grant of another upload", format!("PUT {} HTTP/1.1\r\n{}\r\nx-readset-upload-grant: {}\r\nContent-Length: 1", part_path(STORE, UPLOAD, 1), auth(&jwt), alice_grant(STORE, "4444444444")), b"x", 403, "AccessDeniedException"),
        case("part with its grant twice", format!("PUT {} HTTP/1.1\r\n{}\r\nx-readset-upload-grant: {g}\r\nx-readset-upload-grant: {g}\r\nContent-Length: 1", part_path(STORE, UPLOAD, 1), auth(&jwt), g = alice_grant(STORE, UPLOAD)), b"x", 403, "AccessDeniedException"),
        case("complete without the grant", format!("POST /omics/sequencestore/{STORE}/upload/{UPLOAD}/complete HTTP/1.1\r\n{}\r\nContent-Length: 2", auth(&jwt)), b"{}", 403, "AccessDeniedException"),
        case("abort with another user's grant", format!("DELETE /omics/sequencestore/{STORE}/upload/{UPLOAD}/abort HTTP/1.1\r\n{}\r\nx-readset-upload-grant: {}", auth(&jwt), static_grant(STORE, UPLOAD)), b"", 403, "AccessDeniedException"),
        case("list parts without the grant", format!("POST /omics/sequencestore/{STORE}/upload/{UPLOAD}/parts HTTP/1.1\r\n{}\r\nContent-Length: 26", auth(&jwt)), br#"{"partSource":"SOURCE1"}  "#, 403, "AccessDeniedException"),
        case("create naming the owner tag", format!("POST /omics/sequencestore/{STORE}/upload HTTP/1.1\r\n{}\r\nContent-Length: 41", auth(&jwt)), br#"{"tags":{"readset-upload:owner":"alice"}}"#, 400, "ValidationException"),
        case("json with a duplicate key", format!("POST /omics/sequencestore/{STORE}/readsets HTTP/1.1\r\n{}\r\nContent-Length: 37", auth(&jwt)), br#"{"filter":{},"filter":{"name":"x"}}  "#, 400, "ValidationException"),
        case("body on a get", format!("GET /omics/sequencestore/{STORE} HTTP/1.1\r\n{}\r\nContent-Length: 2", auth(&jwt)), b"{}", 400, "ValidationException"),
    ]
}

#[tokio::test]
async fn hostile_requests_get_clear_errors_and_never_reach_the_upstream() {
    let (up, rec) = spawn_upstream().await;
    let proxy = spawn_proxy(test_config(up)).await;
    let mut failures = Vec::new();
    for c in cases() {
        let res = raw_request(proxy, &c.head, &c.body).await;
        let message = serde_json::from_str::<serde_json::Value>(&res.body)
            .ok()
            .and_then(|v| v["message"].as_str().map(str::to_owned))
            .unwrap_or_default();
        if res.status != c.status
            || res.header("x-amzn-ErrorType").as_deref() != Some(c.error_type)
            || message.is_empty()
            || res.header("content-type").as_deref() != Some("application/json")
        {
            failures.push(format!("{}: got {} {:?} {:?}", c.name, res.status, res.header("x-amzn-ErrorType"), res.body));
        }
    }
    assert!(failures.is_empty(), "wrong answers:\n{}", failures.join("\n"));
    assert!(rec.seen().is_empty(), "requests reached the upstream: {:?}", rec.seen());
}

#[tokio::test]
async fn error_messages_never_echo_the_token() {
    let (up, _rec) = spawn_upstream().await;
    let proxy = spawn_proxy(test_config(up)).await;
    let secret_looking = "zzzz-secret-looking-token-zzzz";
    let res = raw_request(proxy, &format!("GET /omics/sequencestore/{STORE} HTTP/1.1\r\nAuthorization: Bearer {secret_looking}"), b"").await;
    assert_eq!(res.status, 401);
    assert!(!res.body.contains(secret_looking) && !res.head.contains(secret_looking));
}

#[tokio::test]
async fn valid_requests_of_the_same_shapes_do_reach_the_upstream() {
    // Guards the table above: the same paths with correct tokens and values are forwarded.
    let (up, rec) = spawn_upstream().await;
    let proxy = spawn_proxy(test_config(up)).await;
    let jwt = jwt_for(&[STORE]);
    let grant = alice_grant(STORE, UPLOAD);
    let ok = [
        (format!("GET /omics/sequencestore/{STORE} HTTP/1.1\r\nAuthorization: Bearer {jwt}"), Vec::new()),
        (format!("PUT {} HTTP/1.1\r\nAuthorization: Bearer {jwt}\r\nx-readset-upload-grant: {grant}\r\nContent-Length: 1", part_path(STORE, UPLOAD, 10000)), b"x".to_vec()),
        (format!("POST /omics/sequencestore/{STORE}/readsets?maxResults=10 HTTP/1.1\r\nAuthorization: Bearer {jwt}\r\nContent-Length: 2"), b"{}".to_vec()),
        (format!("POST /omics/sequencestore/{STORE}/uploads HTTP/1.1\r\nAuthorization: Bearer {jwt}\r\nContent-Length: 0"), Vec::new()),
        (format!("DELETE /omics/sequencestore/{STORE}/upload/{UPLOAD}/abort HTTP/1.1\r\nAuthorization: Bearer {jwt}\r\nx-readset-upload-grant: {grant}"), Vec::new()),
        (format!("GET /omics/sequencestore/{STORE}/activationjob/{UPLOAD} HTTP/1.1\r\nAuthorization: Bearer {STATIC_TOKEN}"), Vec::new()),
    ];
    for (head, body) in &ok {
        let res = raw_request(proxy, head, body).await;
        assert_eq!(res.status, 200, "{head}: {}", res.body);
    }
    let seen = rec.seen();
    assert_eq!(seen.len(), ok.len());
    assert!(seen.iter().all(|s| s.signature_valid), "{seen:?}");
}
