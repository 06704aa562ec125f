//! A corpus of hostile requests against the proxy and the local store (HealthOmics and Seven
//! Bridges APIs), both served as in production by `readset_server::serving`.
//!
//! Every case asserts the status, the error body (an AWS-shaped `{"message"}` with its
//! `x-amzn-ErrorType`, a Seven Bridges `{code, message}`, or, for requests refused by the HTTP
//! parser itself, an empty body) and that nothing the store keeps changed: no file and no
//! SQLite row.

#![allow(clippy::too_many_arguments)]

use crate::hostile_common;

use std::net::SocketAddr;
use std::time::{Duration, SystemTime};

use hostile_common::*;

/// What the error body must be.
#[derive(Debug, Clone, Copy)]
enum Expect {
    /// JSON `{"message": non-empty}` and this `x-amzn-ErrorType`.
    Aws(&'static str),
    /// Seven Bridges JSON error with this `code`.
    Sbg(u64),
    /// Refused by the HTTP layer: no body.
    Bare,
    /// An S3-style XML error (the Seven Bridges storage URLs) with this `<Code>`.
    Xml(&'static str),
}

struct Case {
    name: String,
    to: SocketAddr,
    bytes: Vec<u8>,
    status: u16,
    expect: Expect,
}

struct Builder<'a> {
    s: &'a Servers,
    cases: Vec<Case>,
}

impl Builder<'_> {
    fn add(&mut self, name: impl Into<String>, to: SocketAddr, bytes: Vec<u8>, status: u16, expect: Expect) {
        self.cases.push(Case { name: name.into(), to, bytes, status, expect });
    }
    /// A proxy request with the static token.
    /// It carries the grant of the allowed store's upload (ignored by other operations).
    fn proxy(&mut self, name: &str, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8], status: u16, expect: Expect) {
        let auth = format!("Bearer {STATIC_TOKEN}");
        let grant = self.s.upload_grant();
        let mut h = vec![("authorization", auth.as_str()), ("x-readset-upload-grant", grant.as_str())];
        h.extend_from_slice(headers);
        let bytes = request(self.s.proxy, method, path, &h, body);
        self.add(format!("proxy: {name}"), self.s.proxy, bytes, status, expect);
    }
    /// A proxy request with the given Authorization value (or none).
    fn proxy_auth(&mut self, name: &str, auth: Option<&str>, status: u16) {
        let path = format!("/omics/sequencestore/{}", self.s.store_id);
        let h: Vec<(&str, &str)> = auth.map(|a| vec![("authorization", a)]).unwrap_or_default();
        let bytes = request(self.s.proxy, "GET", &path, &h, b"");
        self.add(format!("proxy auth: {name}"), self.s.proxy, bytes, status, Expect::Aws(if status == 401 { "UnauthorizedException" } else { "AccessDeniedException" }));
    }
    /// A validly signed store request.
    fn store(&mut self, name: &str, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8], status: u16, expect: Expect) {
        let bytes = signed(self.s.store, method, path, headers, body);
        self.add(format!("store: {name}"), self.s.store, bytes, status, expect);
    }
}

const JSON: (&str, &str) = ("content-type", "application/json");
const V: Expect = Expect::Aws("ValidationException");
const DENIED: Expect = Expect::Aws("AccessDeniedException");

fn forged_jwt(header: serde_json::Value, claims: serde_json::Value, signature: &str) -> String {
    format!("{}.{}.{signature}", b64(header.to_string().as_bytes()), b64(claims.to_string().as_bytes()))
}

fn hs(alg: jsonwebtoken::Algorithm, claims: serde_json::Value, secret: &[u8]) -> String {
    jsonwebtoken::encode(&jsonwebtoken::Header::new(alg), &claims, &jsonwebtoken::EncodingKey::from_secret(secret)).unwrap()
}

fn now() -> i64 {
    SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs() as i64
}

fn auth_cases(b: &mut Builder) {
    let s = b.s.store_id.clone();
    let good = serde_json::json!({ "sub": "alice", "exp": now() + 600, "stores": [s] });
    let bearer = |t: &str| format!("Bearer {t}");
    b.proxy_auth("no Authorization header", None, 401);
    b.proxy_auth("Basic scheme", Some("Basic YWxpY2U6c2VjcmV0"), 401);
    b.proxy_auth("Bearer without a token", Some("Bearer"), 401);
    b.proxy_auth("unknown static token", Some("Bearer not-a-known-token-0123456789"), 401);
    b.proxy_auth("static token plus one character", Some(&bearer(&format!("{STATIC_TOKEN}x"))), 401);
    b.proxy_auth("static token prefix", Some(&bearer(&STATIC_TOKEN[..20])), 401);
    b.proxy_auth("alg none, empty signature", Some(&bearer(&forged_jwt(serde_json::json!({"alg": "none", "typ": "JWT"}), good.clone(), ""))), 401);
    b.proxy_auth("alg None, empty signature", Some(&bearer(&forged_jwt(serde_json::json!({"alg": "None"}), good.clone(), ""))), 401);
    b.proxy_auth("JWT signed with another secret", Some(&bearer(&hs(jsonwebtoken::Algorithm::HS256, good.clone(), b"another-secret-another-secret-0123456789"))), 401);
    b.proxy_auth("JWT with the right secret but HS512", Some(&bearer(&hs(jsonwebtoken::Algorithm::HS512, good.clone(), JWT_SECRET))), 401);
    b.proxy_auth("JWT expired an hour ago (replay)", Some(&bearer(&jwt(&[&s], -3600))), 401);
    b.proxy_auth("JWT expired past the leeway", Some(&bearer(&jwt(&[&s], -120))), 401);
    let valid = jwt(&[&s], 600);
    let parts: Vec<&str> = valid.split('.').collect();
    let wider = b64(serde_json::json!({ "sub": "alice", "exp": now() + 600, "stores": ["*"] }).to_string().as_bytes());
    b.proxy_auth("JWT payload widened to all stores, old signature", Some(&bearer(&format!("{}.{wider}.{}", parts[0], parts[2]))), 401);
    let later = b64(serde_json::json!({ "sub": "alice", "exp": now() + 999_999, "stores": [s] }).to_string().as_bytes());
    b.proxy_auth("JWT expiry extended, old signature", Some(&bearer(&format!("{}.{later}.{}", parts[0], parts[2]))), 401);
    b.proxy_auth("JWT signature cut short", Some(&bearer(&valid[..valid.len() - 5])), 401);
    b.proxy_auth("JWT with four segments", Some(&bearer(&format!("{valid}.AAAA"))), 401);
    b.proxy_auth("JWT segments not base64", Some(&bearer("@@@.!!!.###")), 401);
    for (name, claims) in [
        ("JWT without sub", serde_json::json!({ "exp": now() + 600, "stores": [s] })),
        ("JWT without exp", serde_json::json!({ "sub": "alice", "stores": [s] })),
        ("JWT without stores", serde_json::json!({ "sub": "alice", "exp": now() + 600 })),
        ("JWT with empty sub", serde_json::json!({ "sub": "", "exp": now() + 600, "stores": [s] })),
        ("JWT stores as a string", serde_json::json!({ "sub": "alice", "exp": now() + 600, "stores": "*" })),
        ("JWT exp as a string", serde_json::json!({ "sub": "alice", "exp": "never", "stores": [s] })),
        ("JWT exp negative", serde_json::json!({ "sub": "alice", "exp": -1, "stores": [s] })),
    ] {
        b.proxy_auth(name, Some(&bearer(&hs(jsonwebtoken::Algorithm::HS256, claims, JWT_SECRET))), 401);
    }
    // A huge exp number: written by hand, JSON numbers beyond u64.
    let huge = format!("{}.{}", b64(br#"{"alg":"HS256","typ":"JWT"}"#), b64(format!(r#"{{"sub":"alice","exp":1e400,"stores":["{s}"]}}"#).as_bytes()));
    let sig = {
        use hmac::{Hmac, KeyInit, Mac};
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(JWT_SECRET).unwrap();
        mac.update(huge.as_bytes());
        b64(&mac.finalize().into_bytes())
    };
    b.proxy_auth("JWT with exp 1e400, correctly signed", Some(&bearer(&format!("{huge}.{sig}"))), 401);
    b.proxy_auth("JWT for no store at all", Some(&bearer(&jwt(&[], 600))), 403);
    b.proxy_auth("JWT for another store only", Some(&bearer(&jwt(&[&b.s.other_store.clone()], 600))), 403);
    // Invalid UTF-8 in the Authorization header.
    let path = format!("/omics/sequencestore/{s}");
    let mut raw = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nauthorization: Bearer ").into_bytes();
    raw.extend_from_slice(&[0xff, 0xfe, 0xc3, 0x28]);
    raw.extend_from_slice(b"\r\n\r\n");
    b.add("proxy auth: invalid UTF-8 in the token", b.s.proxy, raw, 401, Expect::Aws("UnauthorizedException"));
}

fn scope_and_method_cases(b: &mut Builder) {
    let (s, u, o, ou) = (b.s.store_id.clone(), b.s.upload_id.clone(), b.s.other_store.clone(), b.s.other_upload.clone());
    let body = br#"{"sourceFileType":"FASTQ","subjectId":"s","sampleId":"x","name":"n"}"#;
    let part = fastq_gz();
    let len = part.len().to_string();
    b.proxy("another store: get", "GET", &format!("/omics/sequencestore/{o}"), &[], b"", 403, DENIED);
    b.proxy("another store: create upload", "POST", &format!("/omics/sequencestore/{o}/upload"), &[JSON], body, 403, DENIED);
    b.proxy("another store: its upload's part", "PUT", &format!("/omics/sequencestore/{o}/upload/{ou}/part?partNumber=1&partSource=SOURCE1"), &[("content-length", &len)], &part, 403, DENIED);
    b.proxy("another store: abort its upload", "DELETE", &format!("/omics/sequencestore/{o}/upload/{ou}/abort"), &[], b"", 403, DENIED);
    b.proxy("another store: list its read sets", "POST", &format!("/omics/sequencestore/{o}/readsets"), &[JSON], b"{}", 403, DENIED);
    b.proxy("another store's upload under an allowed store", "PUT", &format!("/omics/sequencestore/{s}/upload/{ou}/part?partNumber=1&partSource=SOURCE1"), &[("content-length", &len)], &part, 403, DENIED);
    b.proxy("another store's upload completed under an allowed store", "POST", &format!("/omics/sequencestore/{s}/upload/{ou}/complete"), &[JSON], br#"{"parts":[{"partNumber":1,"partSource":"SOURCE1","checksum":"00"}]}"#, 403, DENIED);
    b.proxy("an upload that does not exist", "PUT", &format!("/omics/sequencestore/{s}/upload/1111111111/part?partNumber=1&partSource=SOURCE1"), &[("content-length", &len)], &part, 403, DENIED);
    for (method, path) in [
        ("DELETE", format!("/omics/sequencestore/{s}")),
        ("PATCH", format!("/omics/sequencestore/{s}")),
        ("POST", "/omics/sequencestore".to_string()),
        ("POST", "/omics/sequencestores".to_string()),
        ("GET", format!("/omics/sequencestore/{s}/upload")),
        ("PUT", format!("/omics/sequencestore/{s}/upload/{u}/complete")),
        ("GET", format!("/omics/sequencestore/{s}/upload/{u}/part?partNumber=1&partSource=SOURCE1")),
        ("GET", format!("/omics/sequencestore/{s}/readset/1234567890?partNumber=1")),
        ("POST", format!("/omics/sequencestore/{s}/readset/batch/delete")),
        ("GET", "/omics/tags/arn".to_string()),
        ("TRACE", format!("/omics/sequencestore/{s}")),
        ("GET", "/omics".to_string()),
        ("GET", "/omics/".to_string()),
        ("GET", "/sequencestore/1234567890".to_string()),
    ] {
        // `/omics/` and paths outside `/omics` match no route of the proxy at all.
        let status = if path.ends_with('/') || !path.starts_with("/omics") { 404 } else { 403 };
        let expect = DENIED;
        if status == 404 {
            let auth = format!("Bearer {STATIC_TOKEN}");
            let bytes = request(b.s.proxy, method, &path, &[("authorization", &auth)], b"");
            b.add(format!("proxy: no route {method} {path}"), b.s.proxy, bytes, 404, Expect::Bare);
            continue;
        }
        b.proxy(&format!("method confusion {method} {path}"), method, &path, &[], b"", status, expect);
    }
}

/// Another user of the same store (a JWT for `alice`) on the static user's upload: with no
/// grant, with the static user's grant, with a made-up one; and a Create that names the reserved
/// owner tag. The upload's parts, state and listing must not change.
fn ownership_cases(b: &mut Builder) {
    let (s, u) = (b.s.store_id.clone(), b.s.upload_id.clone());
    let alice = format!("Bearer {}", jwt(&[&s], 600));
    let theirs = b.s.upload_grant();
    let part = fastq_gz();
    let len = part.len().to_string();
    let part_path = format!("/omics/sequencestore/{s}/upload/{u}/part?partNumber=1&partSource=SOURCE1");
    let complete_path = format!("/omics/sequencestore/{s}/upload/{u}/complete");
    let abort_path = format!("/omics/sequencestore/{s}/upload/{u}/abort");
    let parts_path = format!("/omics/sequencestore/{s}/upload/{u}/parts");
    let complete: &[u8] = br#"{"parts":[{"partNumber":1,"partSource":"SOURCE1","checksum":"00"}]}"#;
    let list: &[u8] = br#"{"partSource":"SOURCE1"}"#;
    let made_up = "0".repeat(64);
    let proxy = b.s.proxy;
    for (grant_name, grant) in [("no grant", None), ("the owner's grant", Some(theirs.as_str())), ("a made-up grant", Some(made_up.as_str()))] {
        let mut h: Vec<(&str, &str)> = vec![("authorization", alice.as_str())];
        if let Some(g) = grant {
            h.push(("x-readset-upload-grant", g));
        }
        let plus = |extra: (&'static str, &'static str)| -> Vec<(&str, &str)> { h.iter().copied().chain([extra]).collect() };
        let with_len: Vec<(&str, &str)> = h.iter().copied().chain([("content-length", len.as_str())]).collect();
        let cases = [
            ("part", request(proxy, "PUT", &part_path, &with_len, &part)),
            ("complete", request(proxy, "POST", &complete_path, &plus(JSON), complete)),
            ("abort", request(proxy, "DELETE", &abort_path, &h, b"")),
            ("part list", request(proxy, "POST", &parts_path, &plus(JSON), list)),
        ];
        for (what, bytes) in cases {
            b.add(format!("ownership: another user's {what}, {grant_name}"), proxy, bytes, 403, DENIED);
        }
    }
    b.proxy("ownership: create naming the reserved owner tag", "POST", &format!("/omics/sequencestore/{s}/upload"), &[JSON], br#"{"sourceFileType":"FASTQ","subjectId":"s","sampleId":"x","name":"n","tags":{"readset-upload:owner":"someone"}}"#, 400, V);
    b.proxy("ownership: a JSON body with a duplicate key", "POST", &format!("/omics/sequencestore/{s}/upload"), &[JSON], br#"{"sourceFileType":"FASTQ","subjectId":"s","sampleId":"x","name":"n","name":"m"}"#, 400, V);
}

fn path_and_query_cases(b: &mut Builder) {
    let (s, u) = (b.s.store_id.clone(), b.s.upload_id.clone());
    for (name, path) in [
        ("dot-dot segment", format!("/omics/sequencestore/{s}/../{}", b.s.other_store)),
        ("escaped dot-dot", format!("/omics/sequencestore/{s}/%2e%2e/upload")),
        ("escaped slash", format!("/omics/sequencestore/{s}%2Fupload")),
        ("dot-dot before the store", format!("/omics/../sequencestore/{s}")),
        ("double slash", format!("/omics/sequencestore//{s}")),
        ("trailing slash", format!("/omics/sequencestore/{s}/")),
        ("NUL escape in the ID", format!("/omics/sequencestore/{s}%00")),
        ("semicolon parameter", format!("/omics/sequencestore/{s};x=1")),
        ("non-digit store ID", "/omics/sequencestore/12345abcde".to_string()),
        ("short store ID", "/omics/sequencestore/123".to_string()),
        ("40-digit store ID", format!("/omics/sequencestore/{}", "1".repeat(40))),
    ] {
        b.proxy(name, "GET", &path, &[], b"", 400, V);
    }
    let part = fastq_gz();
    let len = part.len().to_string();
    for (name, query) in [
        ("part number 0", "partNumber=0&partSource=SOURCE1"),
        ("negative part number", "partNumber=-1&partSource=SOURCE1"),
        ("part number 10001", "partNumber=10001&partSource=SOURCE1"),
        ("part number beyond u64", "partNumber=99999999999999999999999&partSource=SOURCE1"),
        ("part number in exponent form", "partNumber=1e3&partSource=SOURCE1"),
        ("part number with a leading zero", "partNumber=01&partSource=SOURCE1"),
        ("part number not a number", "partNumber=one&partSource=SOURCE1"),
        ("part number missing", "partSource=SOURCE1"),
        ("part number twice", "partNumber=1&partNumber=2&partSource=SOURCE1"),
        ("part source 3", "partNumber=1&partSource=SOURCE3"),
        ("part source lowercase", "partNumber=1&partSource=source1"),
        ("unknown query parameter", "partNumber=1&partSource=SOURCE1&x-id=1"),
        ("query with invalid UTF-8 escape", "partNumber=1&partSource=%ff"),
    ] {
        let path = format!("/omics/sequencestore/{s}/upload/{u}/part?{query}");
        b.proxy(name, "PUT", &path, &[("content-length", &len)], &part, 400, V);
    }
    b.proxy("maxResults 0", "POST", &format!("/omics/sequencestore/{s}/readsets?maxResults=0"), &[JSON], b"{}", 400, V);
    b.proxy("maxResults huge", "POST", &format!("/omics/sequencestore/{s}/readsets?maxResults=100000000"), &[JSON], b"{}", 400, V);
}

fn body_cases(b: &mut Builder) {
    let (s, u) = (b.s.store_id.clone(), b.s.upload_id.clone());
    let create = format!("/omics/sequencestore/{s}/upload");
    let part_path = format!("/omics/sequencestore/{s}/upload/{u}/part?partNumber=1&partSource=SOURCE1");
    b.proxy("body not JSON", "POST", &create, &[JSON], b"name=n", 400, V);
    b.proxy("body truncated JSON", "POST", &create, &[JSON], br#"{"name":"#, 400, V);
    b.proxy("body invalid UTF-8", "POST", &create, &[JSON], b"{\"name\":\"\xff\xfe\"}", 400, V);
    let deep = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
    b.proxy("deeply nested JSON", "POST", &create, &[JSON], deep.as_bytes(), 400, V);
    b.proxy("JSON too large", "POST", &create, &[JSON], &vec![b' '; 70 * 1024], 413, Expect::Aws("PayloadTooLargeException"));
    b.proxy("JSON declares too large a length", "POST", &create, &[JSON, ("content-length", "1000000")], b"{}", 413, Expect::Aws("PayloadTooLargeException"));
    b.proxy("huge number in a field", "POST", &create, &[JSON], br#"{"sourceFileType":"FASTQ","subjectId":"s","sampleId":"x","name":1e999999}"#, 400, V);
    b.proxy("wrong field type", "POST", &create, &[JSON], br#"{"sourceFileType":"FASTQ","subjectId":"s","sampleId":"x","name":["n"]}"#, 400, V);
    b.proxy("unknown file type", "POST", &create, &[JSON], br#"{"sourceFileType":"EXE","subjectId":"s","sampleId":"x","name":"n"}"#, 400, V);
    b.proxy("control character in a name", "POST", &create, &[JSON], b"{\"sourceFileType\":\"FASTQ\",\"subjectId\":\"s\",\"sampleId\":\"x\",\"name\":\"a\\u0000b\"}", 400, V);
    b.proxy("complete with part number -1", "POST", &format!("/omics/sequencestore/{s}/upload/{u}/complete"), &[JSON], br#"{"parts":[{"partNumber":-1,"partSource":"SOURCE1","checksum":"00"}]}"#, 400, V);
    b.proxy("complete with part number 0", "POST", &format!("/omics/sequencestore/{s}/upload/{u}/complete"), &[JSON], br#"{"parts":[{"partNumber":0,"partSource":"SOURCE1","checksum":"00"}]}"#, 400, V);
    b.proxy("complete with a huge part number", "POST", &format!("/omics/sequencestore/{s}/upload/{u}/complete"), &[JSON], br#"{"parts":[{"partNumber":18446744073709551617,"partSource":"SOURCE1","checksum":"00"}]}"#, 400, V);
    b.proxy("complete with no parts", "POST", &format!("/omics/sequencestore/{s}/upload/{u}/complete"), &[JSON], br#"{"parts":[]}"#, 400, V);
    b.proxy("body on a body-less operation", "GET", &format!("/omics/sequencestore/{s}"), &[], b"{}", 400, V);
    b.proxy("part without Content-Length (chunked)", "PUT", &part_path, &[("transfer-encoding", "chunked")], b"4\r\nabcd\r\n0\r\n\r\n", 411, Expect::Aws("LengthRequiredException"));
    b.proxy("part declaring more than 100 MiB", "PUT", &part_path, &[("content-length", "104857601")], b"", 413, Expect::Aws("PayloadTooLargeException"));
    b.proxy("empty part", "PUT", &part_path, &[("content-length", "0")], b"", 400, V);
    b.proxy("part body cut short (client stalls)", "PUT", &part_path, &[("content-length", "1000")], &[7u8; 100], 400, V);
    b.proxy("JSON body cut short (client stalls)", "POST", &create, &[JSON, ("content-length", "200")], b"{\"name\":", 400, V);
    // The HTTP parser refuses these before any handler runs.
    b.proxy("Content-Length not a number", "POST", &create, &[JSON, ("content-length", "abc")], b"{}", 400, Expect::Bare);
    b.proxy("negative Content-Length", "POST", &create, &[JSON, ("content-length", "-1")], b"{}", 400, Expect::Bare);
    b.proxy("two different Content-Lengths", "POST", &create, &[JSON, ("content-length", "2"), ("content-length", "3")], b"{}", 400, Expect::Bare);
    b.proxy("unknown transfer coding", "PUT", &part_path, &[("transfer-encoding", "gzip")], b"abcd", 400, Expect::Bare);
}

fn header_cases(b: &mut Builder) {
    let s = b.s.store_id.clone();
    let p = b.s.proxy;
    let auth = format!("authorization: Bearer {STATIC_TOKEN}\r\n");
    let raw = |extra: &str| format!("GET /omics/sequencestore/{s} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{auth}{extra}\r\n").into_bytes();
    b.add("proxy header: CR inside a header value", p, raw("x-test: a\rb\r\n"), 400, Expect::Bare);
    b.add("proxy header: space in a header name", p, raw("x test: a\r\n"), 400, Expect::Bare);
    b.add("proxy header: header line without colon", p, raw("x-test\r\n"), 400, Expect::Bare);
    b.add("proxy header: one 70 KiB header", p, raw(&format!("x-big: {}\r\n", "a".repeat(70 * 1024))), 431, Expect::Bare);
    b.add("proxy header: 150 headers", p, raw(&(0..150).map(|i| format!("x-h{i}: v\r\n")).collect::<String>()), 431, Expect::Bare);
    let long_path = format!("GET /omics/sequencestore/{} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", "1".repeat(70 * 1024));
    b.add("proxy header: 70 KiB request line", p, long_path.into_bytes(), 431, Expect::Bare);
    let mut bad = b"GET /omics/sequencestore/\xff\xfe HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".to_vec();
    b.add("proxy header: invalid UTF-8 in the path", p, std::mem::take(&mut bad), 400, Expect::Bare);
    b.add("proxy header: malformed method", p, b"G(T / HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(), 400, Expect::Bare);
    b.add("proxy header: HTTP/2 preface on HTTP/1 port", p, b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec(), 0, Expect::Bare);
    // Injected newline inside the bearer token: hyper splits it, the forged line is no header.
    b.add("proxy header: smuggled header after the token", p, format!("GET /omics/sequencestore/{s} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nauthorization: Bearer x\r\n x-amz-security-token: evil\r\n\r\n").into_bytes(), 400, Expect::Bare);
}

fn store_cases(b: &mut Builder) {
    let (s, u, o, ou) = (b.s.store_id.clone(), b.s.upload_id.clone(), b.s.other_store.clone(), b.s.other_upload.clone());
    let st = b.s.store;
    let body = br#"{"sourceFileType":"FASTQ","subjectId":"s","sampleId":"x","name":"n"}"#;
    let create = format!("/sequencestore/{s}/upload");
    let part_path = format!("/sequencestore/{s}/upload/{u}/part?partNumber=1&partSource=SOURCE1");
    let part = fastq_gz();
    let len = part.len().to_string();
    // Authentication.
    b.add("store sigv4: unsigned create upload", st, request(st, "POST", &create, &[JSON], body), 403, Expect::Aws("MissingAuthenticationTokenException"));
    b.add("store sigv4: unsigned part", st, request(st, "PUT", &part_path, &[], &part), 403, Expect::Aws("MissingAuthenticationTokenException"));
    b.add("store sigv4: garbage Authorization", st, request(st, "POST", &create, &[JSON, ("authorization", "AWS4-HMAC-SHA256 nonsense")], body), 403, Expect::Aws("IncompleteSignatureException"));
    b.add("store sigv4: other scheme", st, request(st, "POST", &create, &[JSON, ("authorization", "Bearer abc")], body), 403, Expect::Aws("IncompleteSignatureException"));
    let t = SystemTime::now();
    b.add("store sigv4: wrong secret", st, signed_at(st, "POST", &create, &[JSON], body, t, "not-the-secret"), 403, Expect::Aws("InvalidSignatureException"));
    b.add("store sigv4: replay 20 minutes late", st, signed_at(st, "POST", &create, &[JSON], body, t - Duration::from_secs(1200), readset_server::local::omics::DEFAULT_SECRET_ACCESS_KEY), 400, Expect::Aws("RequestExpired"));
    b.add("store sigv4: signed 20 minutes ahead", st, signed_at(st, "POST", &create, &[JSON], body, t + Duration::from_secs(1200), readset_server::local::omics::DEFAULT_SECRET_ACCESS_KEY), 400, Expect::Aws("RequestExpired"));
    let good = String::from_utf8(signed(st, "POST", &create, &[JSON], body)).unwrap();
    let tamper = |from: &str, to: &str| good.replacen(from, to, 1).into_bytes();
    b.add("store sigv4: body tampered after signing", st, tamper("\"name\":\"n\"", "\"name\":\"m\""), 400, Expect::Aws("XAmzContentSHA256Mismatch"));
    b.add("store sigv4: path moved to another store", st, tamper(&format!("/sequencestore/{s}/"), &format!("/sequencestore/{o}/")), 403, Expect::Aws("InvalidSignatureException"));
    b.add("store sigv4: method changed", st, tamper("POST ", "PUT "), 403, Expect::Aws("InvalidSignatureException"));
    b.add("store sigv4: access key changed", st, tamper("Credential=AKID", "Credential=XKID"), 403, Expect::Aws("UnrecognizedClientException"));
    b.add("store sigv4: region changed", st, tamper("/us-east-1/omics/", "/eu-west-1/omics/"), 403, Expect::Aws("InvalidSignatureException"));
    b.add("store sigv4: service changed", st, tamper("/us-east-1/omics/", "/us-east-1/s3/"), 403, Expect::Aws("InvalidSignatureException"));
    b.add("store sigv4: host not signed", st, tamper("SignedHeaders=content-type;host;", "SignedHeaders=content-type;"), 403, Expect::Aws("IncompleteSignatureException"));
    let sig_at = good.find("Signature=").unwrap() + "Signature=".len();
    let mut zero = good.clone();
    zero.replace_range(sig_at..sig_at + 64, &"0".repeat(64));
    b.add("store sigv4: signature zeroed", st, zero.into_bytes(), 403, Expect::Aws("InvalidSignatureException"));
    let signed_part = String::from_utf8(signed(st, "PUT", &part_path, &[], b"text part body")).unwrap();
    let mut moved = signed_part.replacen("partNumber=1", "partNumber=2", 1).into_bytes();
    b.add("store sigv4: part moved to another number", st, std::mem::take(&mut moved), 403, Expect::Aws("InvalidSignatureException"));
    b.add("store sigv4: part moved to another upload", st, signed_part.replacen(&format!("/upload/{u}/"), &format!("/upload/{ou}/"), 1).into_bytes(), 403, Expect::Aws("InvalidSignatureException"));
    b.add("store sigv4: part with a garbage payload hash", st, signed_part.replacen("UNSIGNED-PAYLOAD", "nothex", 1).into_bytes(), 403, Expect::Aws("IncompleteSignatureException"));
    // Signed, but hostile.
    for (name, q) in [
        ("part number 0", "partNumber=0&partSource=SOURCE1"),
        ("negative part number", "partNumber=-1&partSource=SOURCE1"),
        ("part number 10001", "partNumber=10001&partSource=SOURCE1"),
        ("part number beyond i64", "partNumber=99999999999999999999&partSource=SOURCE1"),
        ("part number missing", "partSource=SOURCE1"),
        ("part source 3", "partNumber=1&partSource=SOURCE3"),
    ] {
        b.store(name, "PUT", &format!("/sequencestore/{s}/upload/{u}/part?{q}"), &[("content-length", &len)], &part, 400, V);
    }
    b.store("another store's upload under this store", "PUT", &format!("/sequencestore/{s}/upload/{ou}/part?partNumber=1&partSource=SOURCE1"), &[("content-length", &len)], &part, 404, Expect::Aws("ResourceNotFoundException"));
    b.store("a store that does not exist", "PUT", &format!("/sequencestore/9999999999/upload/{u}/part?partNumber=1&partSource=SOURCE1"), &[("content-length", &len)], &part, 404, Expect::Aws("ResourceNotFoundException"));
    b.store("upload ID with traversal", "PUT", &format!("/sequencestore/{s}/upload/..%2F..%2Fetc/part?partNumber=1&partSource=SOURCE1"), &[("content-length", &len)], &part, 400, V);
    b.store("1000-digit upload ID", "PUT", &format!("/sequencestore/{s}/upload/{}/part?partNumber=1&partSource=SOURCE1", "7".repeat(1000)), &[("content-length", &len)], &part, 400, V);
    b.store("empty part", "PUT", &part_path, &[("content-length", "0")], b"", 400, V);
    b.store("part declaring more than 100 MiB", "PUT", &part_path, &[("content-length", "104857601")], b"", 400, V);
    b.store("part body cut short (client stalls)", "PUT", &part_path, &[("content-length", "1000")], &[1u8; 10], 400, V);
    b.store("deeply nested JSON", "POST", &create, &[JSON], format!("{}{}", "{\"a\":".repeat(3000), "}".repeat(3000)).as_bytes(), 400, V);
    b.store("huge number", "POST", &create, &[JSON], br#"{"sourceFileType":"FASTQ","subjectId":"s","sampleId":"x","name":"n","generatedFrom":1e999999}"#, 400, V);
    b.store("invalid UTF-8 body", "POST", &create, &[JSON], b"{\"name\":\"\xc3\x28\"}", 400, V);
    b.store("list parts maxResults -1", "POST", &format!("/sequencestore/{s}/upload/{u}/parts?partSource=SOURCE1&maxResults=-1"), &[JSON], b"{}", 400, V);
    b.store("complete with a negative part", "POST", &format!("/sequencestore/{s}/upload/{u}/complete"), &[JSON], br#"{"parts":[{"partNumber":-5,"partSource":"SOURCE1","checksum":"ab"}]}"#, 400, V);
    b.store("complete with a part never uploaded", "POST", &format!("/sequencestore/{s}/upload/{u}/complete"), &[JSON], br#"{"parts":[{"partNumber":1,"partSource":"SOURCE1","checksum":"ab"}]}"#, 400, V);
}

fn sbg_cases(b: &mut Builder) {
    let st = b.s.store;
    let init = br#"{"project":"alice/p","name":"a.fastq.gz","size":100}"#;
    b.add("sbg: no token", st, request(st, "POST", "/v2/upload/multipart", &[JSON], init), 401, Expect::Sbg(0));
    b.add("sbg: wrong token", st, request(st, "POST", "/v2/upload/multipart", &[JSON, ("x-sbg-auth-token", "wrong-token-wrong-token")], init), 401, Expect::Sbg(0));
    b.add("sbg: forged part URL signature", st, request(st, "PUT", &format!("/v2/_storage/parts/{}/1?expires=9999999999&nonce=00&signature={}", "a".repeat(64), "0".repeat(64)), &[], b"abcd"), 403, Expect::Xml("SignatureDoesNotMatch"));
    b.add("sbg: part URL without a signature", st, request(st, "PUT", &format!("/v2/_storage/parts/{}/1", "a".repeat(64)), &[], b"abcd"), 403, Expect::Xml("AccessDenied"));
    b.add("sbg: negative part number in a part URL", st, request(st, "PUT", &format!("/v2/_storage/parts/{}/-1?expires=1&nonce=0&signature=0", "a".repeat(64)), &[], b"abcd"), 403, Expect::Xml("SignatureDoesNotMatch"));
    b.add("sbg: traversal in a part URL", st, request(st, "PUT", "/v2/_storage/parts/..%2F..%2Fsbg.sqlite/1?expires=1&nonce=0&signature=0", &[], b"abcd"), 403, Expect::Xml("SignatureDoesNotMatch"));
    b.add("sbg: download with a forged signature", st, request(st, "GET", &format!("/v2/_storage/files/{}?expires=9999999999&nonce=00&signature={}", "a".repeat(24), "0".repeat(64)), &[], b""), 403, Expect::Xml("SignatureDoesNotMatch"));
    let t = ("x-sbg-auth-token", SBG_TOKEN);
    b.add("sbg: init with a deep JSON body", st, request(st, "POST", "/v2/upload/multipart", &[JSON, t], format!("{}{}", "[".repeat(5000), "]".repeat(5000)).as_bytes()), 400, Expect::Sbg(0));
    b.add("sbg: init with a negative size", st, request(st, "POST", "/v2/upload/multipart", &[JSON, t], br#"{"project":"alice/p","name":"a","size":-1}"#), 400, Expect::Sbg(0));
    b.add("sbg: init with a huge size", st, request(st, "POST", "/v2/upload/multipart", &[JSON, t], br#"{"project":"alice/p","name":"a","size":1e999}"#), 400, Expect::Sbg(0));
    b.add("sbg: init with a traversal name", st, request(st, "POST", "/v2/upload/multipart", &[JSON, t], br#"{"project":"alice/p","name":"../../x","size":10}"#), 400, Expect::Sbg(0));
    b.add("sbg: part URL of an unknown upload", st, request(st, "GET", "/v2/upload/multipart/nope/part/1", &[t], b""), 404, Expect::Sbg(0));
    b.add("sbg: part URL for part 0", st, request(st, "GET", "/v2/upload/multipart/nope/part/0", &[t], b""), 404, Expect::Sbg(0));
}

/// Cases are kept in one list so the count is checked and each failure names its case.
fn all_cases(s: &Servers) -> Vec<Case> {
    let mut b = Builder { s, cases: Vec::new() };
    auth_cases(&mut b);
    scope_and_method_cases(&mut b);
    ownership_cases(&mut b);
    path_and_query_cases(&mut b);
    body_cases(&mut b);
    header_cases(&mut b);
    store_cases(&mut b);
    sbg_cases(&mut b);
    b.cases
}

fn check(case: &Case, answer: &Answer) -> Result<(), String> {
    if answer.status != case.status {
        return Err(format!("status {} (expected {}): {}", answer.status, case.status, answer.body));
    }
    match case.expect {
        Expect::Aws(kind) => {
            if answer.header("x-amzn-errortype").as_deref() != Some(kind) {
                return Err(format!("error type {:?} (expected {kind}): {}", answer.header("x-amzn-errortype"), answer.body));
            }
            if answer.message().is_empty() {
                return Err(format!("no error message in {:?}", answer.body));
            }
        }
        Expect::Sbg(code) => {
            let v = answer.json();
            if v["message"].as_str().unwrap_or_default().is_empty() || !v["code"].is_u64() {
                return Err(format!("not a Seven Bridges error body: {:?}", answer.body));
            }
            if code != 0 && v["code"].as_u64() != Some(code) {
                return Err(format!("code {} (expected {code})", v["code"]));
            }
        }
        Expect::Xml(code) => {
            let has_message = answer.body.split("<Message>").nth(1).is_some_and(|m| !m.starts_with("</Message>"));
            if !answer.body.contains(&format!("<Code>{code}</Code>")) || !has_message {
                return Err(format!("not an XML error {code}: {:?}", answer.body));
            }
        }
        Expect::Bare => {
            if !answer.body.trim().is_empty() && answer.header("x-amzn-errortype").is_some() {
                return Err(format!("expected the HTTP layer to refuse, got {:?}", answer.body));
            }
        }
    }
    if answer.body.contains(STATIC_TOKEN) || answer.body.contains(SBG_TOKEN) || answer.body.contains(JWT_SECRET_STR) {
        return Err("the error body echoes a secret".into());
    }
    Ok(())
}

const JWT_SECRET_STR: &str = "hostile-tests-jwt-secret";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_hostile_request_is_refused_clearly_and_changes_nothing() {
    let servers = spawn_servers(test_limits()).await;
    let cases = all_cases(&servers);
    assert!(cases.len() >= 100, "the corpus has only {} cases", cases.len());
    let before = snapshot(servers.dir.path());
    let mut failures = Vec::new();
    for case in &cases {
        let answer = send(case.to, &case.bytes).await;
        if let Err(e) = check(case, &answer) {
            failures.push(format!("{}: {e}", case.name));
        }
        let now = snapshot(servers.dir.path());
        if now != before {
            failures.push(format!("{}: the store changed: {:?}", case.name, diff(&before, &now)));
            break;
        }
    }
    assert!(failures.is_empty(), "{} of {} cases failed:\n{}", failures.len(), cases.len(), failures.join("\n"));
}

fn diff(a: &Snapshot, b: &Snapshot) -> String {
    let files: Vec<_> = b.files.iter().filter(|(k, v)| a.files.get(*k) != Some(v)).collect();
    let rows: Vec<_> = b.rows.iter().filter(|(k, v)| a.rows.get(*k) != Some(v)).map(|(k, _)| k).collect();
    format!("files {files:?}, tables {rows:?}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_requests_done_right_are_accepted() {
    // Guards the corpus against passing for the wrong reason (a server that refuses all).
    let s = spawn_servers(test_limits()).await;
    let auth = format!("Bearer {STATIC_TOKEN}");
    let get = send(s.proxy, &request(s.proxy, "GET", &format!("/omics/sequencestore/{}", s.store_id), &[("authorization", &auth)], b"")).await;
    assert_eq!(get.status, 200, "{}", get.body);
    let j = format!("Bearer {}", jwt(&[&s.store_id], 600));
    let get = send(s.proxy, &request(s.proxy, "GET", &format!("/omics/sequencestore/{}", s.store_id), &[("authorization", &j)], b"")).await;
    assert_eq!(get.status, 200, "{}", get.body);
    let part = fastq_gz();
    let len = part.len().to_string();
    let path = format!("/omics/sequencestore/{}/upload/{}/part?partNumber=1&partSource=SOURCE1", s.store_id, s.upload_id);
    let grant = s.upload_grant();
    let put = send(s.proxy, &request(s.proxy, "PUT", &path, &[("authorization", &auth), ("x-readset-upload-grant", &grant), ("content-length", &len)], &part)).await;
    assert_eq!(put.status, 200, "{}", put.body);
    let direct = format!("/sequencestore/{}/upload/{}/part?partNumber=2&partSource=SOURCE1", s.store_id, s.upload_id);
    let put = send(s.store, &signed(s.store, "PUT", &direct, &[("content-length", &len)], &part)).await;
    assert_eq!(put.status, 200, "{}", put.body);
    let snap = snapshot(s.dir.path());
    assert_eq!(snap.files.keys().filter(|p| p.to_string_lossy().contains(&s.upload_id)).count(), 2, "{:?}", snap.files);
}

/// Job requests that try to choose the IAM role or an S3 location, against a proxy whose
/// static token has job rules on the allowed store (the corpus's own proxy has none).
fn job_cases(s: &Servers, jobs_proxy: SocketAddr) -> Vec<Case> {
    let auth = format!("Bearer {STATIC_TOKEN}");
    let store = &s.store_id;
    let export = |dest: &str, role: Option<&str>| {
        let mut v = serde_json::json!({ "destination": dest, "sources": [{ "readSetId": "1234567890" }] });
        if let Some(r) = role {
            v["roleArn"] = r.into();
        }
        v.to_string()
    };
    let import = |src: &str| {
        serde_json::json!({ "sources": [{ "sourceFileType": "FASTQ", "sampleId": "s", "subjectId": "p", "sourceFiles": { "source1": src } }] }).to_string()
    };
    let export_path = format!("/omics/sequencestore/{store}/exportjob");
    let import_path = format!("/omics/sequencestore/{store}/importjob");
    let cases: Vec<(&str, &str, String, u16, Expect)> = vec![
        ("export to a foreign bucket", &export_path, export("s3://attacker-bucket/loot/", None), 403, DENIED),
        ("export to a sibling of the prefix", &export_path, export("s3://portal-exports/lab-ab/", None), 403, DENIED),
        ("export to the prefix without its slash", &export_path, export("s3://portal-exports/lab-a", None), 403, DENIED),
        ("export with .. out of the prefix", &export_path, export("s3://portal-exports/lab-a/../../attacker-bucket/", None), 403, DENIED),
        ("export with percent-escaped ..", &export_path, export("s3://portal-exports/lab-a/%2e%2e/x/", None), 403, DENIED),
        ("export with an empty segment", &export_path, export("s3://portal-exports/lab-a//x/", None), 403, DENIED),
        ("export with a backslash", &export_path, export("s3://portal-exports/lab-a/..\\x/", None), 403, DENIED),
        ("export with a fullwidth slash", &export_path, export("s3://portal-exports/lab-a\u{ff0f}..\u{ff0f}x/", None), 403, DENIED),
        ("export with an upper-case scheme", &export_path, export("S3://portal-exports/lab-a/x/", None), 403, DENIED),
        ("export with a foreign role", &export_path, export("s3://portal-exports/lab-a/x/", Some("arn:aws:iam::999999999999:role/admin")), 403, DENIED),
        ("export with an unknown field", &export_path, r#"{"destination":"s3://portal-exports/lab-a/","sources":[],"outputLocation":"s3://attacker-bucket/"}"#.into(), 400, V),
        ("export with a destination object", &export_path, r#"{"destination":{"uri":"s3://attacker-bucket/"},"sources":[]}"#.into(), 400, V),
        ("import from a foreign bucket", &import_path, import("s3://attacker-bucket/r1.fastq.gz"), 403, DENIED),
        ("import with .. out of the prefix", &import_path, import("s3://portal-imports/lab-a/../lab-b/r1.fastq.gz"), 403, DENIED),
        ("import with a third source file", &import_path, r#"{"sources":[{"sourceFiles":{"source1":"s3://portal-imports/lab-a/a","source3":"s3://attacker-bucket/b"}}]}"#.into(), 400, V),
    ];
    cases
        .into_iter()
        .map(|(name, path, body, status, expect)| Case {
            name: format!("jobs: {name}"),
            to: jobs_proxy,
            bytes: request(jobs_proxy, "POST", path, &[("authorization", &auth), JSON], body.as_bytes()),
            status,
            expect,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn job_requests_choosing_a_role_or_location_are_refused_and_change_nothing() {
    use readset_server::proxy::access::JobRules;
    let s = spawn_servers(test_limits()).await;
    let mut principal = readset_server::proxy::Principal::new("test", "static-user", readset_server::proxy::StoreScope::Only(vec![s.store_id.clone()]), vec![]);
    principal.jobs.by_store.insert(
        s.store_id.clone(),
        JobRules {
            role_arn: Some("arn:aws:iam::123456789012:role/portal-jobs".into()),
            export_prefixes: vec!["s3://portal-exports/lab-a/".into()],
            import_prefixes: vec!["s3://portal-imports/lab-a/".into()],
            rule: "hostile-test".into(),
        },
    );
    let auth = readset_server::proxy::Authenticator::new().with_static_token(STATIC_TOKEN, principal).unwrap();
    let config = readset_server::proxy::ProxyConfig::local_store(
        &format!("http://{}", s.store),
        readset_server::local::omics::REGION,
        readset_server::local::omics::DEFAULT_ACCESS_KEY_ID,
        readset_server::local::omics::DEFAULT_SECRET_ACCESS_KEY,
        auth,
    )
    .unwrap();
    let app = readset_server::proxy::app(config).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let jobs_proxy = listener.local_addr().unwrap();
    let task = tokio::spawn(async move { readset_server::serving::serve_with_limits(listener, app, test_limits()).await.unwrap() });

    let before = snapshot(s.dir.path());
    let mut failures = Vec::new();
    for case in job_cases(&s, jobs_proxy) {
        let answer = send(case.to, &case.bytes).await;
        if let Err(e) = check(&case, &answer) {
            failures.push(format!("{}: {e}", case.name));
        } else if case.status == 403 && !answer.message().contains("job rule hostile-test") {
            failures.push(format!("{}: the refusal does not name the rule: {}", case.name, answer.message()));
        }
        let now = snapshot(s.dir.path());
        if now != before {
            failures.push(format!("{}: the store changed: {:?}", case.name, diff(&before, &now)));
            break;
        }
    }
    // The same request done right reaches the store (the refusals were for the location).
    let ok = serde_json::json!({ "destination": "s3://portal-exports/lab-a/x/", "sources": [{ "readSetId": "1234567890" }] }).to_string();
    let path = format!("/omics/sequencestore/{}/exportjob", s.store_id);
    let auth = format!("Bearer {STATIC_TOKEN}");
    let answer = send(jobs_proxy, &request(jobs_proxy, "POST", &path, &[("authorization", &auth), JSON], ok.as_bytes())).await;
    task.abort();
    assert!(failures.is_empty(), "{} job cases failed:\n{}", failures.len(), failures.join("\n"));
    assert_eq!(answer.status, 200, "{}", answer.body);
}

// Identity-provider tokens (issue 15): a proxy that trusts a fake OpenID provider, in front of
// the same store, under the same discipline (status, AWS error body, nothing stored).
use crate::oidc_common;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_identity_provider_tokens_are_refused_and_change_nothing() {
    use jsonwebtoken::{Algorithm, EncodingKey, Header};
    use oidc_common::{forge, rsa_key, sign, sign_with, spawn_idp};
    use readset_server::proxy::jwks::{JwksOptions, JwksSource};
    use readset_server::proxy::{Authenticator, JwtRules, ProxyConfig};
    use readset_server::local::omics::{DEFAULT_ACCESS_KEY_ID, DEFAULT_SECRET_ACCESS_KEY, REGION};

    let servers = spawn_servers(test_limits()).await;
    let rsa = rsa_key("corpus-rsa");
    let idp = spawn_idp(&[&rsa]).await;
    let (issuer, source) = JwksSource::discover(&idp.issuer, JwksOptions::default()).await.unwrap();
    let rules = JwtRules { issuer: Some(issuer.clone()), audiences: vec!["corpus".into()], ..JwtRules::default() };
    let auth = Authenticator::new().with_identity_provider(std::sync::Arc::new(source), rules).unwrap();
    let config = ProxyConfig::local_store(&format!("http://{}", servers.store), REGION, DEFAULT_ACCESS_KEY_ID, DEFAULT_SECRET_ACCESS_KEY, auth).unwrap();
    let app = readset_server::proxy::app(config).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let proxy = listener.local_addr().unwrap();
    let task = tokio::spawn(async move { readset_server::serving::serve_with_limits(listener, app, test_limits()).await.unwrap() });

    let n = oidc_common::now();
    let good = serde_json::json!({ "iss": issuer, "aud": "corpus", "sub": "u", "iat": n, "exp": n + 600, "stores": [servers.store_id] });
    let with = |changes: serde_json::Value| {
        let mut c = good.clone();
        for (k, v) in changes.as_object().unwrap() {
            c[k] = v.clone();
        }
        c
    };
    let header = |alg: Algorithm, kid: &str| {
        let mut h = Header::new(alg);
        h.kid = Some(kid.into());
        h
    };
    let pem_secret = EncodingKey::from_secret(rsa.public_pem.as_bytes());
    let tokens = vec![
        ("IdP: wrong iss", sign(&rsa, &with(serde_json::json!({"iss": "https://evil.example"})))),
        ("IdP: wrong aud", sign(&rsa, &with(serde_json::json!({"aud": "someone-else"})))),
        ("IdP: nbf in an hour", sign(&rsa, &with(serde_json::json!({"nbf": n + 3600})))),
        ("IdP: lifetime of a year", sign(&rsa, &with(serde_json::json!({"exp": n + 365 * 86_400})))),
        ("IdP: unknown kid", sign_with(&header(Algorithm::RS256, "nope"), &rsa.encoding, &good)),
        ("IdP: HS256 with the RSA public key as secret", sign_with(&header(Algorithm::HS256, "corpus-rsa"), &pem_secret, &good)),
        ("IdP: alg none", forge(&serde_json::json!({"alg": "none", "kid": "corpus-rsa"}), &good, "")),
        ("IdP: jku to the provider's own key set", forge(&serde_json::json!({"alg": "RS256", "kid": "corpus-rsa", "jku": idp.jwks_url()}), &good, "AAAA")),
        ("IdP: signed by another key with the same kid", sign(&rsa_key("corpus-rsa"), &good)),
    ];
    let body = serde_json::json!({ "sourceFileType": "FASTQ", "subjectId": "s", "sampleId": "x", "name": "n" }).to_string();
    let path = format!("/omics/sequencestore/{}/upload", servers.store_id);
    let before = snapshot(servers.dir.path());
    let mut failures = Vec::new();
    for (name, token) in &tokens {
        let auth = format!("Bearer {token}");
        let bytes = request(proxy, "POST", &path, &[("authorization", &auth), JSON], body.as_bytes());
        let case = Case { name: (*name).into(), to: proxy, bytes, status: 401, expect: Expect::Aws("UnauthorizedException") };
        let answer = send(case.to, &case.bytes).await;
        if let Err(e) = check(&case, &answer) {
            failures.push(format!("{name}: {e}"));
        }
        if answer.body.contains(token.as_str()) {
            failures.push(format!("{name}: the answer echoes the token"));
        }
        if snapshot(servers.dir.path()) != before {
            failures.push(format!("{name}: the store changed"));
            break;
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // The same request with a good token is accepted (the corpus refuses for the right reason).
    let auth = format!("Bearer {}", sign(&rsa, &good));
    let answer = send(proxy, &request(proxy, "POST", &path, &[("authorization", &auth), JSON], body.as_bytes())).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    task.abort();
}

/// The store's own SigV4 rules (issue 15, item 6): an unsigned payload on a JSON operation,
/// a body swapped after signing (with and without the hash header) and a signature for a
/// foreign `Host` are refused, and nothing is stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_store_refuses_unsigned_json_bodies_swapped_bodies_and_foreign_hosts() {
    let s = spawn_servers(test_limits()).await;
    let st = s.store;
    let create = format!("/sequencestore/{}/upload", s.store_id);
    let body = br#"{"sourceFileType":"FASTQ","subjectId":"s","sampleId":"x","name":"n"}"#;
    let json = ("content-type", "application/json");
    let creds = aws_credential_types::Credentials::new(readset_server::local::omics::DEFAULT_ACCESS_KEY_ID, readset_server::local::omics::DEFAULT_SECRET_ACCESS_KEY, None, None, "hostile");
    // Signs a create-upload for `host` with `payload`; returns the raw request sent with `Host: host` and `sent` as body.
    let sign_for = |host: &str, payload: readset_server::proxy::sign::Payload<'_>, sent: &[u8]| {
        let url = format!("http://{host}{create}");
        let extra = readset_server::proxy::sign::sign_request(&creds, readset_server::local::omics::REGION, "POST", &url, &[("host", host), json], payload, SystemTime::now()).unwrap();
        let mut headers: Vec<(&str, &str)> = vec![json];
        headers.extend(extra.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        String::from_utf8(request(st, "POST", &create, &headers, sent)).unwrap().replacen(&format!("Host: {st}"), &format!("Host: {host}"), 1).into_bytes()
    };
    let own = st.to_string();
    let port = st.port();
    let unsigned_msg = "x-amz-content-sha256: UNSIGNED-PAYLOAD is accepted only on UploadReadSetPart; sign this operation's body with its SHA-256.";
    let host_msg = |h: &str| format!("The request is signed for Host `{h}`, which this store does not answer to; it answers to 127.0.0.1:{port}, localhost:{port}, [::1]:{port} (start it with --host NAME for another name).");
    let signed_body = sign_for(&own, readset_server::proxy::sign::Payload::Bytes(body), body);
    let swapped = String::from_utf8(signed_body.clone()).unwrap().replacen("\"name\":\"n\"", "\"name\":\"m\"", 1);
    let no_hash_header: String = swapped.lines().filter(|l| !l.starts_with("x-amz-content-sha256:")).map(|l| format!("{l}\n")).collect::<String>().replace('\n', "\r\n");
    let no_hash_header = no_hash_header.trim_end_matches("\r\n").to_owned();
    let evil = format!("evil.example:{port}");
    let cases: Vec<(&str, Vec<u8>, u16, &str, String)> = vec![
        ("UNSIGNED-PAYLOAD on CreateMultipartReadSetUpload", sign_for(&own, readset_server::proxy::sign::Payload::Unsigned, body), 403, "InvalidSignatureException", unsigned_msg.into()),
        ("UNSIGNED-PAYLOAD with a swapped body", sign_for(&own, readset_server::proxy::sign::Payload::Unsigned, br#"{"sourceFileType":"FASTQ","subjectId":"z","sampleId":"z","name":"z"}"#), 403, "InvalidSignatureException", unsigned_msg.into()),
        ("body swapped, hash header kept", swapped.into_bytes(), 400, "XAmzContentSHA256Mismatch", "The provided 'x-amz-content-sha256' header does not match what was computed.".into()),
        ("body swapped, hash header dropped", no_hash_header.into_bytes(), 403, "InvalidSignatureException", "Signed header `x-amz-content-sha256` is missing from the request".into()),
        ("signed for a DNS-rebinding host", sign_for(&evil, readset_server::proxy::sign::Payload::Bytes(body), body), 403, "InvalidSignatureException", host_msg(&evil)),
        ("signed for an AWS host the store was not given", sign_for("storage-omics.us-east-1.amazonaws.com", readset_server::proxy::sign::Payload::Bytes(body), body), 403, "InvalidSignatureException", host_msg("storage-omics.us-east-1.amazonaws.com")),
        ("signed for the own host, sent with another", String::from_utf8(signed_body.clone()).unwrap().replacen(&format!("Host: {st}"), &format!("Host: {evil}"), 1).into_bytes(), 403, "InvalidSignatureException", host_msg(&evil)),
        ("signed for the own host, Host header doubled", String::from_utf8(signed_body.clone()).unwrap().replacen(&format!("Host: {st}\r\n"), &format!("Host: {st}\r\nHost: {evil}\r\n"), 1).into_bytes(), 403, "IncompleteSignatureException", "The request needs exactly one printable Host header".into()),
    ];
    let before = snapshot(s.dir.path());
    let mut failures = Vec::new();
    for (name, bytes, status, error_type, message) in &cases {
        let a = send(st, bytes).await;
        let got = (a.status, a.header("x-amzn-errortype"), a.message());
        if got != (*status, Some(error_type.to_string()), message.clone()) {
            failures.push(format!("{name}: got {got:?}, body {}", a.body));
        }
        if snapshot(s.dir.path()) != before {
            failures.push(format!("{name}: the store changed"));
            break;
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // Guard: the untouched signed request is accepted, so the refusals are about the changes.
    let a = send(st, &signed_body).await;
    assert_eq!(a.status, 200, "{}", a.body);
}
