//! The `/omics/...` handler: authenticate, apply the policy, check the upload's grant, check
//! the body's size, take a part slot, then sign and forward. Every refusal happens before the
//! body is read (a refused part never reaches the store). Create and ListMultipartReadSetUploads
//! answers are rewritten for ownership ([`super::ownership`]); every mutating operation, and
//! every read set download (GetReadSet), leaves one audit line (target `audit`).

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;

use super::access::check_job_request;
use super::error::ProxyError;
use super::forward::{forward, Outgoing};
use super::auth::Principal;
use super::json::check_strict;
use super::ownership::{check_grant, filter_uploads, finish_create, prepare_create, UploadGrants};
use super::policy::{classify, AllowedRequest, BodyKind, Operation, MAX_PART_BYTES};
use super::ProxyState;

/// Seconds a caller over the part cap is asked to wait.
const PART_CAP_RETRY_AFTER_SECS: u64 = 1;

/// Handles one browser request under `/omics/`.
pub async fn handle(State(state): State<Arc<ProxyState>>, request: Request) -> Response {
    match proxy(&state, request).await {
        Ok(response) => response,
        Err(e) => e.into_response(),
    }
}

async fn proxy(state: &ProxyState, request: Request) -> Result<Response, ProxyError> {
    let (parts, body) = request.into_parts();
    let principal = match state.auth.authenticate(&parts.headers).await {
        Ok(p) => p,
        Err(e) => {
            // A refused caller of an audited operation is audited too (without a principal).
            if let Ok(allowed) = classify(&parts.method, parts.uri.path(), parts.uri.query()) {
                if allowed.operation.is_audited() {
                    audit(None, &allowed, &Err(e.clone()));
                }
            }
            return Err(e);
        }
    };
    let allowed = classify(&parts.method, parts.uri.path(), parts.uri.query())?;
    let outcome = authorized(state, parts, body, &principal, &allowed).await;
    if allowed.operation.is_audited() {
        audit(Some(&principal), &allowed, &outcome);
    }
    outcome.map(|(response, _)| response)
}

/// One audit line: who, what, on which store and resource, and how it ended. The log
/// formatter escapes caller-supplied values ([`crate::logging`]), so a newline or control
/// character in a `sub` cannot forge a line.
fn audit(principal: Option<&Principal>, allowed: &AllowedRequest, outcome: &Result<(Response, Option<(&'static str, String)>), ProxyError>) {
    let (status, created) = match outcome {
        Ok((r, created)) => (r.status().as_u16(), created.clone()),
        Err(e) => (e.status().as_u16(), None),
    };
    let (resource_kind, resource_id) = allowed.resource.clone().or(created).unwrap_or(("", String::new()));
    tracing::info!(
        target: "audit",
        issuer = %principal.map_or("", |p| p.issuer.as_str()),
        sub = %principal.map_or("", |p| p.sub.as_str()),
        operation = ?allowed.operation,
        store = %allowed.store_id,
        resource_kind,
        resource_id = %resource_id,
        status,
        outcome = if (200..300).contains(&status) { "allowed" } else if matches!(status, 401 | 403) { "denied" } else { "failed" },
        "audit"
    );
}

/// The answer field naming what `operation` created (upload, read set or job), if any.
fn created_key(operation: Operation) -> Option<&'static str> {
    match operation {
        Operation::CreateMultipartReadSetUpload => Some("uploadId"),
        Operation::CompleteMultipartReadSetUpload => Some("readSetId"),
        Operation::StartReadSetImportJob | Operation::StartReadSetExportJob | Operation::StartReadSetActivationJob => Some("id"),
        _ => None,
    }
}

/// The IDs an answer names for the audit line (the upload, read set or job it created).
fn created_resource(operation: Operation, body: &[u8]) -> Option<(&'static str, String)> {
    let key = created_key(operation)?;
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    let id = v.get(key)?.as_str()?;
    // IDs are digits; anything else is not worth logging.
    (id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric())).then(|| (if key == "id" { "jobId" } else { key }, id.to_owned()))
}

async fn authorized(
    state: &ProxyState,
    parts: axum::http::request::Parts,
    body: Body,
    principal: &Principal,
    allowed: &AllowedRequest,
) -> Result<(Response, Option<(&'static str, String)>), ProxyError> {
    if allowed.operation.body_kind() != BodyKind::Part {
        state.rate_limiter.check(&principal.owner_id())?;
    }
    if !principal.stores.allows(&allowed.store_id) {
        return Err(ProxyError::AccessDenied(format!("this token does not allow sequence store {}", allowed.store_id)));
    }
    if !principal.operations.allows(&allowed.store_id, allowed.operation) {
        return Err(ProxyError::AccessDenied(format!("this token does not allow {:?}", allowed.operation)));
    }
    if let Some(upload_id) = allowed.upload_id() {
        check_grant(&parts.headers, &state.grants, &allowed.store_id, upload_id, principal)?;
    }
    tracing::info!(sub = %principal.sub, operation = ?allowed.operation, "allowed");
    let length = content_length(&parts.headers)?;
    let chunked = parts.headers.contains_key(header::TRANSFER_ENCODING);
    let (outgoing, permit) = match allowed.operation.body_kind() {
        BodyKind::Empty => {
            if length.is_some_and(|l| l > 0) || chunked {
                return Err(ProxyError::Validation("this operation takes no request body".into()));
            }
            (Outgoing::Bytes(Bytes::new()), None)
        }
        BodyKind::Json => {
            let max = allowed.operation.json_body_cap(state.max_json_body);
            if length.is_some_and(|l| l > max as u64) {
                return Err(json_too_large(max));
            }
            let bytes = read_capped(body, max).await?;
            if !bytes.is_empty() {
                check_strict(&bytes)?;
            }
            let mut bytes = check_job_request(principal, allowed.operation, &allowed.store_id, bytes)?;
            if allowed.operation == Operation::CreateMultipartReadSetUpload {
                bytes = prepare_create(&bytes, principal)?;
            }
            (Outgoing::Bytes(bytes), None)
        }
        BodyKind::Part => {
            let Some(length) = length.filter(|_| !chunked) else {
                return Err(ProxyError::LengthRequired("a part upload needs a Content-Length (chunked transfer is not accepted)".into()));
            };
            if length > MAX_PART_BYTES {
                return Err(ProxyError::PayloadTooLarge(format!("a part is at most {MAX_PART_BYTES} bytes; this one declares {length}")));
            }
            let permit = state.limiter.try_acquire(&principal.owner_id()).ok_or_else(|| ProxyError::Throttled {
                message: "too many part uploads in flight for this token; retry shortly".into(),
                retry_after_secs: PART_CAP_RETRY_AFTER_SECS,
            })?;
            (Outgoing::Part { body, length }, Some(permit))
        }
    };
    let response = forward(state, parts.method, allowed, outgoing, permit).await?;
    let rewrite: Option<fn(&[u8], &UploadGrants, &str, &Principal) -> Result<Bytes, ProxyError>> = match allowed.operation {
        Operation::CreateMultipartReadSetUpload => Some(finish_create),
        Operation::ListMultipartReadSetUploads => Some(filter_uploads),
        _ => None,
    };
    let buffered = rewrite.is_some() || created_key(allowed.operation).is_some();
    if !buffered || !response.status().is_success() {
        return Ok((response, None));
    }
    let (mut head, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, MAX_REWRITTEN_ANSWER)
        .await
        .map_err(|_| ProxyError::BadGateway("the upstream's answer could not be read (or is too large)".into()))?;
    let created = created_resource(allowed.operation, &bytes);
    let bytes = match rewrite {
        Some(f) => f(&bytes, &state.grants, &allowed.store_id, principal)?,
        None => bytes,
    };
    head.headers.remove(header::CONTENT_LENGTH);
    Ok((Response::from_parts(head, Body::from(bytes)), created))
}

/// Largest upstream answer buffered to rewrite or audit it (a ListMultipartReadSetUploads page
/// of 100 uploads is far below).
const MAX_REWRITTEN_ANSWER: usize = 8 * 1024 * 1024;

fn content_length(headers: &HeaderMap) -> Result<Option<u64>, ProxyError> {
    let mut values = headers.get_all(header::CONTENT_LENGTH).iter();
    let Some(value) = values.next() else { return Ok(None) };
    if values.next().is_some() {
        return Err(ProxyError::Validation("Content-Length is given more than once".into()));
    }
    value
        .to_str()
        .ok()
        .filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|v| v.parse::<u64>().ok())
        .map(Some)
        .ok_or_else(|| ProxyError::Validation("Content-Length is not a number".into()))
}

fn json_too_large(max: usize) -> ProxyError {
    ProxyError::PayloadTooLarge(format!("a JSON request body is at most {max} bytes"))
}

/// Reads a JSON body, refusing it as soon as it passes `max` bytes.
pub(super) async fn read_capped(body: Body, max: usize) -> Result<Bytes, ProxyError> {
    let mut stream = body.into_data_stream();
    let mut buf = BytesMut::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|_| ProxyError::Validation("the request body could not be read to its end".into()))?;
        if buf.len() + chunk.len() > max {
            return Err(json_too_large(max));
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf.freeze())
}
