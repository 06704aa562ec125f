//! The `/omics/...` handler: authenticate, apply the policy, check the body's size, take a part
//! slot, then sign and forward. Every refusal happens before the body is read.

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
use super::policy::{classify, BodyKind, MAX_PART_BYTES};
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
    let principal = state.auth.authenticate(&parts.headers)?;
    let allowed = classify(&parts.method, parts.uri.path(), parts.uri.query())?;
    if allowed.operation.body_kind() != BodyKind::Part {
        state.rate_limiter.check(&principal.owner_id())?;
    }
    if !principal.stores.allows(&allowed.store_id) {
        return Err(ProxyError::AccessDenied(format!("this token does not allow sequence store {}", allowed.store_id)));
    }
    if !principal.operations.allows(allowed.operation) {
        return Err(ProxyError::AccessDenied(format!("this token does not allow {:?}", allowed.operation)));
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
            let max = state.max_json_body;
            if length.is_some_and(|l| l > max as u64) {
                return Err(json_too_large(max));
            }
            let bytes = read_capped(body, max).await?;
            if !bytes.is_empty() && serde_json::from_slice::<serde::de::IgnoredAny>(&bytes).is_err() {
                return Err(ProxyError::Validation("the request body is not valid JSON".into()));
            }
            let bytes = check_job_request(&principal, allowed.operation, &allowed.store_id, bytes)?;
            (Outgoing::Bytes(bytes), None)
        }
        BodyKind::Part => {
            let Some(length) = length.filter(|_| !chunked) else {
                return Err(ProxyError::LengthRequired("a part upload needs a Content-Length (chunked transfer is not accepted)".into()));
            };
            if length > MAX_PART_BYTES {
                return Err(ProxyError::PayloadTooLarge(format!("a part is at most {MAX_PART_BYTES} bytes; this one declares {length}")));
            }
            let permit = state.limiter.try_acquire(&principal.sub).ok_or_else(|| ProxyError::Throttled {
                message: "too many part uploads in flight for this token; retry shortly".into(),
                retry_after_secs: PART_CAP_RETRY_AFTER_SECS,
            })?;
            (Outgoing::Part { body, length }, Some(permit))
        }
    };
    forward(state, parts.method, &allowed, outgoing, permit).await
}

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
