//! SigV4 verification of every HealthOmics request: the signature is recomputed with the
//! official `aws-sigv4` signer from the headers the client says it signed, and compared.
//!
//! Part uploads (`PUT .../part`, UploadReadSetPart) are not buffered: their payload hash is
//! taken from `x-amz-content-sha256` (`UNSIGNED-PAYLOAD` or a hex SHA-256 that the part handler
//! checks against the bytes it streams to disk). The service model allows an unsigned payload
//! for that operation only. Every other body is small JSON: it is read here and the SHA-256 of
//! the bytes received is always what goes into the canonical request, so a body swapped after
//! signing fails the check. An `x-amz-content-sha256` that differs from the body's hash is
//! refused with 400 `XAmzContentSHA256Mismatch` (as for parts); `UNSIGNED-PAYLOAD` there is
//! refused with 403 `InvalidSignatureException`, which is what a service that hashes the body
//! itself answers (the signature made over `UNSIGNED-PAYLOAD` cannot match), with a message
//! saying why.
//!
//! The signed `Host` must be one the store answers to ([`crate::hosts::AllowedHosts`]: its
//! listen address and the `--host` names), else 403 `InvalidSignatureException`: a signature
//! made for another endpoint is not valid here.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use super::error::{ApiError, ErrorKind};

/// How far `x-amz-date` may be from the store's clock.
const MAX_SKEW: Duration = Duration::from_secs(15 * 60);
/// Largest non-part request body the verifier reads (JSON bodies are a few KiB).
const MAX_JSON_BODY: usize = 8 * 1024 * 1024;
/// The signing name of HealthOmics.
pub const SERVICE: &str = "omics";

/// What requests must be signed with.
#[derive(Clone)]
pub struct Verifier {
    /// The accepted access key id.
    pub access_key_id: String,
    /// Its secret.
    pub secret_access_key: String,
    /// The region of the credential scope.
    pub region: String,
    /// The `Host` values requests may be signed for.
    pub hosts: crate::hosts::AllowedHosts,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .field("region", &self.region)
            .field("hosts", &self.hosts)
            .finish()
    }
}

/// Put in a part upload's extensions: the signed payload hash when it is a real SHA-256
/// (lowercase hex) rather than `UNSIGNED-PAYLOAD`; the handler compares it with the body.
#[derive(Debug, Clone)]
pub struct SignedPayloadSha256(pub String);

/// The axum middleware: answers 403/400 AWS-shaped errors, or passes the request on.
pub async fn verify(State(v): State<Arc<Verifier>>, req: Request, next: Next) -> Response {
    match check(&v, req).await {
        Ok(req) => next.run(req).await,
        Err(e) => e.into_response(),
    }
}

fn err(kind: ErrorKind, msg: impl Into<String>) -> ApiError {
    ApiError::new(kind, msg)
}

struct AuthHeader {
    access_key: String,
    date: String,
    region: String,
    service: String,
    signed_headers: Vec<String>,
    signature: String,
}

fn parse_authorization(value: &str) -> Result<AuthHeader, ApiError> {
    let incomplete = |what: &str| {
        err(
            ErrorKind::IncompleteSignature,
            format!("Authorization header requires {what} (AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...)"),
        )
    };
    let rest = value
        .strip_prefix("AWS4-HMAC-SHA256 ")
        .ok_or_else(|| incomplete("the algorithm AWS4-HMAC-SHA256"))?;
    let (mut cred, mut signed, mut sig) = (None, None, None);
    for part in rest.split(',') {
        let part = part.trim();
        if let Some(v) = part.strip_prefix("Credential=") {
            cred = Some(v);
        } else if let Some(v) = part.strip_prefix("SignedHeaders=") {
            signed = Some(v);
        } else if let Some(v) = part.strip_prefix("Signature=") {
            sig = Some(v);
        }
    }
    let cred = cred.ok_or_else(|| incomplete("a 'Credential' parameter"))?;
    let signed = signed.ok_or_else(|| incomplete("a 'SignedHeaders' parameter"))?;
    let sig = sig.ok_or_else(|| incomplete("a 'Signature' parameter"))?;
    let scope: Vec<&str> = cred.split('/').collect();
    if scope.len() != 5 || scope[4] != "aws4_request" {
        return Err(incomplete("Credential=ACCESS_KEY/YYYYMMDD/REGION/SERVICE/aws4_request"));
    }
    Ok(AuthHeader {
        access_key: scope[0].to_string(),
        date: scope[1].to_string(),
        region: scope[2].to_string(),
        service: scope[3].to_string(),
        signed_headers: signed.split(';').map(|s| s.trim().to_ascii_lowercase()).collect(),
        signature: sig.to_string(),
    })
}

fn parse_amz_date(s: &str) -> Option<SystemTime> {
    let fmt = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
    let t = time::PrimitiveDateTime::parse(s, &fmt).ok()?.assume_utc();
    let secs = u64::try_from(t.unix_timestamp()).ok()?;
    Some(SystemTime::UNIX_EPOCH + Duration::from_secs(secs))
}

pub(crate) async fn check(v: &Verifier, req: Request) -> Result<Request, ApiError> {
    let (parts, body) = req.into_parts();
    // Borrowing the request itself here would keep a non-Sync body alive across the await below.
    let header = |name: &str| parts.headers.get(name).and_then(|h| h.to_str().ok()).map(str::to_string);
    let authorization = header("authorization")
        .ok_or_else(|| err(ErrorKind::MissingAuthenticationToken, "Missing Authentication Token: sign the request with SigV4 (service omics)"))?;
    let auth = parse_authorization(&authorization)?;
    if auth.access_key != v.access_key_id {
        return Err(err(ErrorKind::UnrecognizedClient, "The security token included in the request is invalid: unknown access key id."));
    }
    if auth.service != SERVICE {
        return Err(err(ErrorKind::InvalidSignature, format!("Credential should be scoped to correct service: '{SERVICE}'.")));
    }
    if auth.region != v.region {
        return Err(err(ErrorKind::InvalidSignature, format!("Credential should be scoped to a valid region: '{}'.", v.region)));
    }
    let amz_date = header("x-amz-date")
        .ok_or_else(|| err(ErrorKind::IncompleteSignature, "Authorization requires the x-amz-date header"))?;
    let signed_at = parse_amz_date(&amz_date)
        .ok_or_else(|| err(ErrorKind::IncompleteSignature, format!("x-amz-date `{amz_date}` is not YYYYMMDDTHHMMSSZ")))?;
    if !amz_date.starts_with(&auth.date) {
        return Err(err(ErrorKind::InvalidSignature, "Date in Credential scope does not match x-amz-date."));
    }
    let now = SystemTime::now();
    let skew = now.duration_since(signed_at).unwrap_or_else(|e| e.duration());
    if skew > MAX_SKEW {
        return Err(err(
            ErrorKind::RequestExpired,
            format!("Request has expired: signed at {amz_date}, more than 15 minutes from the store's clock."),
        ));
    }
    for required in ["host", "x-amz-date"] {
        if !auth.signed_headers.iter().any(|h| h == required) {
            return Err(err(ErrorKind::IncompleteSignature, format!("SignedHeaders must include `{required}`")));
        }
    }

    let mut hosts = parts.headers.get_all("host").iter();
    let host = match (hosts.next().map(|h| h.to_str()), hosts.next()) {
        (Some(Ok(h)), None) => h.to_string(),
        _ => return Err(err(ErrorKind::IncompleteSignature, "The request needs exactly one printable Host header")),
    };
    if !v.hosts.allows(&host) {
        return Err(err(
            ErrorKind::InvalidSignature,
            format!(
                "The request is signed for Host `{}`, which this store does not answer to; it answers to {} (start it with --host NAME for another name).",
                host.escape_debug(),
                v.hosts.describe()
            ),
        ));
    }

    let content_sha = header("x-amz-content-sha256");
    let (payload_hash, body, extension) = if is_streamed_part_parts(&parts) {
        match content_sha.as_deref() {
            Some("UNSIGNED-PAYLOAD") => ("UNSIGNED-PAYLOAD".to_string(), body, None),
            Some(h) if h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()) => {
                (h.to_ascii_lowercase(), body, Some(SignedPayloadSha256(h.to_ascii_lowercase())))
            }
            _ => {
                return Err(err(
                    ErrorKind::IncompleteSignature,
                    "Part uploads need x-amz-content-sha256: UNSIGNED-PAYLOAD or the part's hex SHA-256",
                ))
            }
        }
    } else {
        let bytes = axum::body::to_bytes(body, MAX_JSON_BODY)
            .await
            .map_err(|e| ApiError::validation(format!("could not read the request body: {e}")))?;
        let computed = hex::encode(Sha256::digest(&bytes));
        let used = match content_sha.as_deref() {
            None => computed,
            Some("UNSIGNED-PAYLOAD") => {
                return Err(err(
                    ErrorKind::InvalidSignature,
                    "x-amz-content-sha256: UNSIGNED-PAYLOAD is accepted only on UploadReadSetPart; sign this operation's body with its SHA-256.",
                ))
            }
            Some(h) if h.eq_ignore_ascii_case(&computed) => computed,
            Some(_) => {
                return Err(err(
                    ErrorKind::ContentSha256Mismatch,
                    "The provided 'x-amz-content-sha256' header does not match what was computed.",
                ))
            }
        };
        (used, Body::from(bytes), None)
    };

    let mut signed: Vec<(String, String)> = Vec::new();
    for name in &auth.signed_headers {
        let values: Vec<&str> = parts.headers.get_all(name.as_str()).iter().filter_map(|x| x.to_str().ok()).collect();
        if values.is_empty() {
            return Err(err(ErrorKind::InvalidSignature, format!("Signed header `{name}` is missing from the request")));
        }
        for value in values {
            signed.push((name.clone(), value.to_string()));
        }
    }
    let path_and_query = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let uri = format!("http://{host}{path_and_query}");

    let identity = Credentials::new(&v.access_key_id, &v.secret_access_key, None, None, "readset-store").into();
    let mut settings = SigningSettings::default();
    // Only the headers the client listed are given to the signer, so nothing must be dropped.
    settings.excluded_headers = Some(Vec::new());
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(&v.region)
        .name(SERVICE)
        .time(signed_at)
        .settings(settings)
        .build()
        .map_err(ApiError::internal)?
        .into();
    let signable = SignableRequest::new(
        parts.method.as_str(),
        uri.as_str(),
        signed.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        SignableBody::Precomputed(payload_hash),
    )
    .map_err(|e| err(ErrorKind::InvalidSignature, format!("request cannot be canonicalized: {e}")))?;
    let expected = sign(signable, &params)
        .map_err(|e| err(ErrorKind::InvalidSignature, format!("request cannot be signed: {e}")))?;
    if !constant_time_eq(expected.signature().as_bytes(), auth.signature.as_bytes()) {
        return Err(err(
            ErrorKind::InvalidSignature,
            "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.",
        ));
    }
    let mut req = Request::from_parts(parts, body);
    if let Some(ext) = extension {
        req.extensions_mut().insert(ext);
    }
    Ok(req)
}

fn is_streamed_part_parts(parts: &http::request::Parts) -> bool {
    parts.method == http::Method::PUT && parts.uri.path().ends_with("/part")
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
