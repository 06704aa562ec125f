//! The gate in front of every API call: `X-SBG-Auth-Token` must be the configured token, then
//! the request is counted against the rate limit; every answer to a valid token carries the
//! `X-RateLimit-*` headers.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::SbgError;
use super::{clock, AppState};

/// Equal in time independent of where the strings differ, so the token cannot be guessed
/// byte by byte from response times.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Axum middleware: token check, then rate limit, then the handler.
pub async fn guard(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let Some(given) = req.headers().get("x-sbg-auth-token") else {
        return SbgError::unauthorized("Unauthorized: the X-SBG-Auth-Token header is missing.").into_response();
    };
    if !same(given.as_bytes(), state.config.token.as_bytes()) {
        return SbgError::unauthorized("Unauthorized: the X-SBG-Auth-Token is not valid for this store.").into_response();
    }
    let decision = state.limiter.check(&state.config.token, clock::now_unix());
    let mut resp = if decision.allowed {
        next.run(req).await
    } else {
        SbgError::rate_limited(decision.limit, decision.reset_unix).into_response()
    };
    decision.write_headers(resp.headers_mut());
    resp
}
