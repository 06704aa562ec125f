//! Entry points for the fuzz targets in `fuzz/` (cargo-fuzz, libFuzzer): each feeds arbitrary
//! bytes to one parser of untrusted input and checks the invariants that must hold whatever
//! arrives. A broken invariant panics, which libFuzzer reports as a crash.
//!
//! Not an API for anything else: these functions exist so the fuzz crate can reach parsers
//! that are private to their modules without making those modules public.

use std::sync::OnceLock;

use axum::http::{HeaderMap, HeaderValue, Method};

use crate::proxy::{policy, Authenticator, Principal, StoreScope};
use crate::local::sbg::part_url::{self, Signed, Signer};
use crate::local::omics::{etag, jobs, readsets, sigv4, stores, uploads, validate};

/// Splits fuzz input into `n` fields at `\n` (missing fields are empty), lossily decoded.
fn fields(data: &[u8], n: usize) -> Vec<String> {
    let text = String::from_utf8_lossy(data);
    let mut out: Vec<String> = text.splitn(n, '\n').map(str::to_owned).collect();
    out.resize(n, String::new());
    out
}

/// The proxy's request routing (method, path, query) and the stores' ID checks.
///
/// Invariants: an allowed request names a store ID of digits only, and its rebuilt upstream
/// path stays under `/sequencestore/{id}` with no `..`, no `//`, no control characters.
///
/// Returns whether the request was allowed (so the invariants above were checked on it).
pub fn route(data: &[u8]) -> bool {
    let f = fields(data, 3);
    let _ = validate::id("id", &f[1]);
    let _ = crate::local::sbg::ids::is_hex_id(&f[1], 64);
    let Ok(method) = Method::from_bytes(f[0].as_bytes()) else { return false };
    let query = (!f[2].is_empty()).then_some(f[2].as_str());
    let Ok(allowed) = policy::classify(&method, &f[1], query) else { return false };
    {
        assert!(!allowed.store_id.is_empty() && allowed.store_id.bytes().all(|b| b.is_ascii_digit()), "store id {:?}", allowed.store_id);
        let p = &allowed.path_and_query;
        assert!(p.starts_with(&format!("/sequencestore/{}", allowed.store_id)), "path {p:?}");
        // `..` is harmless inside a query value (a `nextToken`); only the path must be clean.
        let path = p.split('?').next().unwrap_or_default();
        assert!(!path.contains("..") && !path.contains("//"), "path {p:?}");
        assert!(p.bytes().all(|b| b.is_ascii_graphic()), "path {p:?}");
    }
    true
}

/// The JSON bodies of the store's operations and the proxy's JSON check.
///
/// Invariant: no input panics or overflows the stack (deep nesting, huge numbers).
pub fn json_body(data: &[u8]) {
    let _ = serde_json::from_slice::<serde::de::IgnoredAny>(data);
    let _ = serde_json::from_slice::<uploads::CreateRequest>(data);
    let _ = serde_json::from_slice::<uploads::CompleteRequest>(data);
    let _ = serde_json::from_slice::<stores::CreateRequest>(data);
    let _ = serde_json::from_slice::<stores::ListRequest>(data);
    let _ = serde_json::from_slice::<stores::UpdateRequest>(data);
    let _ = serde_json::from_slice::<readsets::ListRequest>(data);
    let _ = serde_json::from_slice::<readsets::BatchDeleteRequest>(data);
    let _ = serde_json::from_slice::<jobs::StartRequest>(data);
    let _ = serde_json::from_slice::<jobs::ListRequest>(data);
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) {
        let _ = validate::timestamp("t", &Some(value));
    }
}

/// A fixed JWT secret of the token target (public: it is only ever used under the fuzzer).
pub const FUZZ_JWT_SECRET: &[u8] = b"fuzzing-secret-fuzzing-secret-0123456789";
/// The one static token the token target's authenticator knows.
pub const FUZZ_STATIC_TOKEN: &str = "fuzz-static-token-0123456789";

fn authenticator() -> &'static Authenticator {
    static AUTH: OnceLock<Authenticator> = OnceLock::new();
    AUTH.get_or_init(|| {
        let principal = Principal::new("fuzz", "fuzz", StoreScope::Only(vec!["1234567890".into()]), Vec::new());
        Authenticator::new()
            .with_jwt_secret(FUZZ_JWT_SECRET)
            .and_then(|a| a.with_static_token(FUZZ_STATIC_TOKEN, principal))
            .expect("fuzz authenticator")
    })
}

/// Bearer tokens: static tokens and HS256 JWTs, as the proxy checks `Authorization`.
///
/// Invariant: only the known static token or a JWT that really carries the secret's HMAC is
/// accepted; the fuzzer cannot forge the HMAC, so anything else accepted is a bypass.
///
/// Returns whether the token was accepted.
pub fn token(data: &[u8]) -> bool {
    let mut headers = HeaderMap::new();
    let mut value = b"Bearer ".to_vec();
    value.extend_from_slice(data);
    let Ok(v) = HeaderValue::from_bytes(&value) else { return false };
    headers.insert(axum::http::header::AUTHORIZATION, v);
    let Ok(principal) = runtime().block_on(authenticator().authenticate(&headers)) else { return false };
    assert_eq!(String::from_utf8_lossy(data).trim(), FUZZ_STATIC_TOKEN, "accepted as {principal:?}");
    true
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime"))
}

/// The store's SigV4 verification of a request built from fuzzed method, path, headers and body.
///
/// Invariant: nothing verifies (the fuzzer does not know the secret), and nothing panics.
pub fn sigv4(data: &[u8]) {
    let mut f = fields(data, 7);
    // `now` as x-amz-date and `TODAY` in the credential scope stand for the current time, so
    // inputs can reach the checks after the clock-skew one (a fixed date would expire).
    if f[3] == "now" {
        let now = time::OffsetDateTime::now_utc();
        let fmt = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
        f[3] = now.format(&fmt).unwrap_or_default();
        f[2] = f[2].replace("TODAY", &f[3][..8]);
    }
    let verifier = sigv4::Verifier {
        access_key_id: crate::local::omics::DEFAULT_ACCESS_KEY_ID.into(),
        secret_access_key: "fuzz-secret-the-fuzzer-never-sees".into(),
        region: crate::local::omics::REGION.into(),
        hosts: crate::hosts::AllowedHosts::for_listen(std::net::SocketAddr::from(([127, 0, 0, 1], 1))),
    };
    let mut builder = axum::http::Request::builder().method(f[0].as_str()).uri(f[1].as_str()).header("host", "127.0.0.1:1");
    // Fields 2..5: Authorization, x-amz-date, x-amz-content-sha256, one more signed header.
    for (name, value) in [("authorization", &f[2]), ("x-amz-date", &f[3]), ("x-amz-content-sha256", &f[4]), ("x-amz-target", &f[5])] {
        if !value.is_empty() {
            builder = builder.header(name, value.as_str());
        }
    }
    let Ok(request) = builder.body(axum::body::Body::from(f[6].clone())) else { return };
    let result = runtime().block_on(sigv4::check(&verifier, request));
    assert!(result.is_err(), "a request signed without the secret was accepted");
}

/// The Seven Bridges signed part/download URL check (`expires`, `nonce`, `signature`).
///
/// Invariants: a fuzzed signature never verifies; a real signature verifies only for the
/// exact method, path, expiry and nonce it was made for.
pub fn sb_url(data: &[u8]) {
    let f = fields(data, 5);
    let signer = Signer::new(b"fuzz-key-fuzz-key-fuzz-key-0123".to_vec());
    let expires = f[2].parse::<i64>().unwrap_or(0);
    let given = Signed { expires, nonce: f[3].clone(), signature: f[4].clone() };
    assert!(!signer.verify(&f[0], &f[1], &given), "a forged signature verified");
    let number = f[1].len() as u32 % 10_001;
    let path = part_url::part_path(&f[3], number);
    let real = signer.sign("PUT", &path, expires);
    assert!(signer.verify("PUT", &path, &real));
    if f[0] != "PUT" {
        assert!(!signer.verify(&f[0], &path, &real), "signature moved to method {:?}", f[0]);
    }
    let other = part_url::part_path(&f[3], number.wrapping_add(1));
    assert!(!signer.verify("PUT", &other, &real), "signature moved to another part");
}

/// The FASTQ/gzip parsing of the ETag computation, and the alignment magic checks.
///
/// Invariants: never panics (truncated gzip, bad FASTQ records, multi-member streams), and the
/// same input gives the same ETag twice.
///
/// Returns whether the input was accepted as FASTQ (so the determinism check ran).
pub fn etag(data: &[u8]) -> bool {
    let family = match data.first().map(|b| b % 3) {
        Some(0) => etag::Family::Md5,
        Some(1) => etag::Family::Sha256,
        _ => etag::Family::Sha512,
    };
    let _ = etag::alignment(data, family, "BAM", "SOURCE1");
    let _ = etag::alignment(data, family, "CRAM", "SOURCE1");
    let Ok(summary) = etag::fastq(data, family, "SOURCE1") else { return false };
    let again = etag::fastq(data, family, "SOURCE1").expect("accepted once, accepted twice");
    assert_eq!((summary.etag, summary.reads, summary.bases), (again.etag, again.reads, again.bases));
    true
}

#[cfg(test)]
mod tests {
    //! The entry points on inputs that reach their invariant checks (each call reports whether
    //! it did, so a seed that silently stopped reaching them fails here), and on inputs that
    //! must be refused.
    use super::*;

    /// Found by the `route` target: `..` inside an allowed query value is not a traversal.
    #[test]
    fn a_dot_dot_in_a_next_token_is_not_a_traversal() {
        assert!(route(include_bytes!("../../fuzz/seeds/route/regression-dotdot-in-query")), "the regression input reaches the checks");
    }

    #[test]
    fn the_route_seeds_reach_the_path_checks_and_a_traversal_is_refused() {
        assert!(route(include_bytes!("../../fuzz/seeds/route/part")));
        assert!(route(include_bytes!("../../fuzz/seeds/route/list")));
        assert!(!route(b"GET\n/omics/sequencestore/1234567890/../9999999999/readsets\n"));
        assert!(!route(b"GET\n/omics/sequencestore/12345abcde/readsets\n"));
    }

    #[test]
    fn only_the_static_token_is_accepted() {
        assert!(token(FUZZ_STATIC_TOKEN.as_bytes()), "the known token reaches the acceptance check");
        assert!(!token(b"fuzz-static-token-0123456780"));
        assert!(!token(include_bytes!("../../fuzz/seeds/token/jwt")), "the seed JWT is not signed with the secret");
        // An HS256 JWT signed with another key, with every claim the proxy reads.
        let claims = serde_json::json!({"sub": "x", "stores": ["1234567890"], "exp": 4_000_000_000u64, "iat": 1_700_000_000u64});
        let forged = jsonwebtoken::encode(&jsonwebtoken::Header::default(), &claims, &jsonwebtoken::EncodingKey::from_secret(b"not-the-fuzzing-secret-0123456789abcdef")).unwrap();
        assert!(!token(forged.as_bytes()));
    }

    #[test]
    fn a_real_gzipped_fastq_reaches_the_determinism_check() {
        assert!(etag(include_bytes!("../../fuzz/seeds/etag/fastq.gz")));
        assert!(!etag(b"\x1f\x8b\x08\x00truncated"));
    }
}
