//! CORS for the configured portal origins: preflights are answered without a token, and every
//! answer (errors included) exposes the headers the browser client reads.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::ProxyError;

/// Response headers the browser client may read. `Content-Length` is CORS-safelisted in the
/// Fetch standard already; it is listed for browsers that predate that (a read set download
/// reads it to size its progress).
pub const EXPOSED_HEADERS: &str =
    "x-amzn-ErrorType, x-amzn-RequestId, Retry-After, ETag, Content-Length, x-readset-request-id, X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset";
/// Methods the API uses.
const ALLOWED_METHODS: &str = "GET, POST, PUT, DELETE";
/// How long a browser may cache a preflight answer, in seconds.
const PREFLIGHT_MAX_AGE_SECS: u32 = 600;

/// Origins allowed to call the proxy from a browser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AllowedOrigins {
    /// Any origin (`--allow-origin '*'`): for tests and development only.
    Any,
    /// Exactly these origins (`scheme://host[:port]`).
    List(Vec<String>),
}

impl AllowedOrigins {
    /// From the `--allow-origin` values: `*` anywhere means any origin.
    pub fn from_list<S: AsRef<str>>(origins: &[S]) -> Self {
        if origins.iter().any(|o| o.as_ref() == "*") {
            Self::Any
        } else {
            Self::List(origins.iter().map(|o| o.as_ref().trim_end_matches('/').to_owned()).collect())
        }
    }

    fn allows(&self, origin: &str) -> bool {
        match self {
            Self::Any => true,
            Self::List(list) => list.iter().any(|o| o == origin),
        }
    }
}

/// Request headers a browser may send: `authorization`, `content-type`, the upload grant and
/// `x-amz-*`.
fn header_allowed(name: &str) -> bool {
    let name = name.trim().to_ascii_lowercase();
    name == "authorization" || name == "content-type" || name == super::ownership::GRANT_HEADER || name.starts_with("x-amz-")
}

/// The CORS middleware (use with `axum::middleware::from_fn_with_state`).
pub async fn cors(State(origins): State<Arc<AllowedOrigins>>, request: Request, next: Next) -> Response {
    let origin = request.headers().get(header::ORIGIN).and_then(|o| o.to_str().ok()).map(str::to_owned);
    let is_preflight = request.method() == Method::OPTIONS
        && request.headers().contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    let allowed_origin = origin.filter(|o| origins.allows(o));
    if is_preflight {
        let Some(origin) = allowed_origin else {
            return ProxyError::AccessDenied("this origin is not allowed to call the proxy (see --allow-origin)".into())
                .into_response();
        };
        let mut response = StatusCode::NO_CONTENT.into_response();
        let headers = response.headers_mut();
        add_origin(headers, &origin);
        headers.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static(ALLOWED_METHODS));
        let requested = request
            .headers()
            .get(header::ACCESS_CONTROL_REQUEST_HEADERS)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("");
        let allowed: Vec<String> =
            requested.split(',').map(|h| h.trim().to_ascii_lowercase()).filter(|h| !h.is_empty() && header_allowed(h)).collect();
        if let Ok(value) = HeaderValue::from_str(&allowed.join(", ")) {
            headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, value);
        }
        headers.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from(PREFLIGHT_MAX_AGE_SECS));
        headers.append(
            header::VARY,
            HeaderValue::from_static("Origin, Access-Control-Request-Method, Access-Control-Request-Headers"),
        );
        return response;
    }
    let mut response = next.run(request).await;
    if let Some(origin) = allowed_origin {
        let headers = response.headers_mut();
        add_origin(headers, &origin);
        headers.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, HeaderValue::from_static(EXPOSED_HEADERS));
    }
    response.headers_mut().append(header::VARY, HeaderValue::from_static("Origin"));
    response
}

fn add_origin(headers: &mut HeaderMap, origin: &str) {
    if let Ok(value) = HeaderValue::from_str(origin) {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, value);
    }
}
