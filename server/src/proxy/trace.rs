//! A random request id per request: on every log line (as a `tracing` span field) and in the
//! `x-readset-request-id` response header, so a user's report can be matched to the logs.
//! Only the method, the path (IDs, never tokens) and the outcome are logged.

use std::time::Instant;

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

/// Response header carrying the request id.
pub const REQUEST_ID_HEADER: &str = "x-readset-request-id";

/// The request-id middleware (use with `axum::middleware::from_fn`).
pub async fn request_id(request: Request, next: Next) -> Response {
    let id = uuid::Uuid::new_v4().simple().to_string();
    let span = tracing::info_span!("proxy", request_id = %id);
    async move {
        let started = Instant::now();
        tracing::info!(method = %request.method(), path = %request.uri().path(), "request");
        let mut response = next.run(request).await;
        tracing::info!(status = response.status().as_u16(), elapsed_ms = started.elapsed().as_millis() as u64, "response head sent");
        if let Ok(value) = HeaderValue::from_str(&id) {
            response.headers_mut().insert(REQUEST_ID_HEADER, value);
        }
        response
    }
    .instrument(span)
    .await
}
