//! Sends a signed request upstream and streams the answer back.
//!
//! Part bodies go through as a stream with an explicit `Content-Length` (no chunked transfer, no
//! buffering): memory per request is the few small chunks in flight. If the browser disconnects
//! mid-part, the stream fails, and the upstream request is aborted before its body is complete.

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};

use axum::body::Body;
use axum::http::{HeaderName, Method};
use axum::response::Response;
use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use tokio::sync::oneshot;

use super::error::ProxyError;
use super::limit::PartPermit;
use super::policy::{AllowedRequest, BodyKind};
use super::sign::{sign_request, Payload};
use super::ProxyState;

/// Response headers passed from the upstream to the browser (names are matched without case,
/// so `x-amzn-ErrorType` is among them).
const PASSED_HEADERS: &[&str] = &["content-type", "content-length", "x-amzn-errortype", "x-amzn-requestid", "retry-after", "etag"];

/// The body to send upstream.
pub enum Outgoing {
    /// No body, or a small buffered JSON body.
    Bytes(Bytes),
    /// A part, streamed from the browser with its declared length.
    Part {
        /// The browser's body.
        body: Body,
        /// Its `Content-Length`.
        length: u64,
    },
}

/// Signs `request` and forwards it with `outgoing`; the answer (status, error headers, body) is
/// passed through unchanged and streamed. `permit` is held until the answer is fully sent.
pub async fn forward(
    state: &ProxyState,
    method: Method,
    request: &AllowedRequest,
    outgoing: Outgoing,
    permit: Option<PartPermit>,
) -> Result<Response, ProxyError> {
    let operation = request.operation;
    let url = state.upstream.url(operation, &state.region, &request.path_and_query);
    let host = state.upstream.authority(operation, &state.region);
    let content_type = match operation.body_kind() {
        BodyKind::Empty => None,
        BodyKind::Json => Some("application/json"),
        BodyKind::Part => Some("application/octet-stream"),
    };
    let length = match &outgoing {
        Outgoing::Bytes(b) if b.is_empty() && content_type.is_none() => None,
        Outgoing::Bytes(b) => Some(b.len() as u64),
        Outgoing::Part { length, .. } => Some(*length),
    };
    let length_text = length.map(|l| l.to_string());
    let mut headers: Vec<(&str, &str)> = vec![("host", &host)];
    if let Some(ct) = content_type {
        headers.push(("content-type", ct));
    }
    if let Some(l) = &length_text {
        headers.push(("content-length", l));
    }
    let credentials = state.credentials.get().await?;
    let payload = match &outgoing {
        Outgoing::Bytes(b) => Payload::Bytes(b),
        Outgoing::Part { .. } => Payload::Unsigned,
    };
    let signature = sign_request(&credentials, &state.region, method.as_str(), &url, &headers, payload, SystemTime::now())?;

    let mut builder = state.client.request(method, &url);
    for (name, value) in headers.iter().chain(signature.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect::<Vec<_>>().iter()) {
        builder = builder.header(*name, *value);
    }
    // The wait for the upstream's answer is timed from the moment the whole body was sent, so
    // a slow browser upload is not mistaken for a stuck upstream.
    let (body_sent_tx, body_sent_rx) = oneshot::channel::<()>();
    let client_failed = Arc::new(AtomicBool::new(false));
    builder = match outgoing {
        Outgoing::Bytes(bytes) => {
            let _ = body_sent_tx.send(());
            if bytes.is_empty() && length.is_none() { builder } else { builder.body(bytes) }
        }
        Outgoing::Part { body, .. } => {
            let stream = WatchedBody { inner: body.into_data_stream(), sent: Some(body_sent_tx), client_failed: client_failed.clone() };
            builder.body(reqwest::Body::wrap_stream(stream))
        }
    };

    let send = builder.send();
    tokio::pin!(send);
    let timeout = state.upstream_timeout;
    let answered = tokio::select! {
        r = &mut send => r,
        () = timer_after_body(body_sent_rx, timeout) => {
            tracing::warn!(timeout_secs = timeout.as_secs(), "upstream did not answer in time");
            return Err(ProxyError::GatewayTimeout(format!("the upstream did not answer within {} s", timeout.as_secs())));
        }
    };
    let upstream = match answered {
        Ok(r) => r,
        Err(e) => return Err(upstream_error(&e, client_failed.load(Ordering::SeqCst), &host)),
    };
    let status = upstream.status();
    tracing::info!(upstream_status = status.as_u16(), upstream_request_id = ?upstream.headers().get("x-amzn-requestid"), "upstream answered");
    // Every answer is one user's view of patient data (read set contents, names, sample IDs):
    // no browser or intermediary cache may keep it.
    let mut response = Response::builder().status(status).header(axum::http::header::CACHE_CONTROL, "no-store");
    for name in PASSED_HEADERS {
        for value in upstream.headers().get_all(*name) {
            response = response.header(HeaderName::from_static(name), value.clone());
        }
    }
    let body = upstream.bytes_stream().map(move |chunk| {
        // Keeps the part slot taken until the answer has been streamed out.
        let _held = &permit;
        chunk
    });
    response.body(Body::from_stream(body)).map_err(|e| {
        tracing::error!(error = %e, "cannot build the response");
        ProxyError::Internal("the proxy could not relay the upstream answer".into())
    })
}

async fn timer_after_body(body_sent: oneshot::Receiver<()>, timeout: Duration) {
    if body_sent.await.is_err() {
        // The body failed: the send itself will report it.
        std::future::pending::<()>().await;
    }
    tokio::time::sleep(timeout).await;
}

fn upstream_error(e: &reqwest::Error, client_failed: bool, host: &str) -> ProxyError {
    if client_failed {
        tracing::info!("the browser's body ended early; upstream request aborted");
        return ProxyError::Validation("the request body ended before its Content-Length".into());
    }
    tracing::warn!(error = %e, "upstream request failed");
    if e.is_timeout() {
        ProxyError::GatewayTimeout(format!("the upstream {host} did not answer in time"))
    } else if e.is_connect() {
        ProxyError::BadGateway(format!("the upstream {host} cannot be reached"))
    } else {
        ProxyError::BadGateway(format!("the connection to the upstream {host} failed"))
    }
}

/// The browser's body, reporting when it ends (to start the answer timer) or fails.
struct WatchedBody<S> {
    inner: S,
    sent: Option<oneshot::Sender<()>>,
    client_failed: Arc<AtomicBool>,
}

impl<S> Stream for WatchedBody<S>
where
    S: Stream<Item = Result<Bytes, axum::Error>> + Unpin,
{
    type Item = Result<Bytes, axum::Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let polled = self.inner.poll_next_unpin(cx);
        match &polled {
            Poll::Ready(None) => {
                if let Some(tx) = self.sent.take() {
                    let _ = tx.send(());
                }
            }
            Poll::Ready(Some(Err(_))) => self.client_failed.store(true, Ordering::SeqCst),
            _ => {}
        }
        polled
    }
}
