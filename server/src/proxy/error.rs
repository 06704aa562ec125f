//! Every error the proxy itself answers, mapped to a response in one place.
//!
//! The shape is the one AWS restJson services use (status, `x-amzn-ErrorType` header, JSON body
//! `{"message": ...}`), so the browser client parses proxy errors and HealthOmics errors alike.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// Header naming the error type, as AWS restJson services send it.
pub const ERROR_TYPE_HEADER: &str = "x-amzn-ErrorType";

/// Why the proxy refused or failed a request. The message is shown to the caller, so it never
/// holds a secret, a token or an internal detail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProxyError {
    /// 401: no credentials, or malformed, wrongly signed or expired ones.
    Unauthorized(String),
    /// 403: the operation or the store is not allowed for this caller.
    AccessDenied(String),
    /// 400: a malformed path, ID, query parameter or body.
    Validation(String),
    /// 411: a part upload without `Content-Length`.
    LengthRequired(String),
    /// 413: a body larger than the proxy accepts.
    PayloadTooLarge(String),
    /// 429: too many part uploads in flight for one token; retry after `retry_after_secs`.
    Throttled {
        /// What was exceeded.
        message: String,
        /// Seconds to wait before retrying, sent as `Retry-After`.
        retry_after_secs: u64,
    },
    /// 502: the upstream could not be reached or broke the connection.
    BadGateway(String),
    /// 504: the upstream did not answer in time.
    GatewayTimeout(String),
    /// 500: the proxy itself is misconfigured (for example, no AWS credentials).
    Internal(String),
}

impl ProxyError {
    /// The HTTP status of this error.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::AccessDenied(_) => StatusCode::FORBIDDEN,
            Self::Validation(_) => StatusCode::BAD_REQUEST,
            Self::LengthRequired(_) => StatusCode::LENGTH_REQUIRED,
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Throttled { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::BadGateway(_) => StatusCode::BAD_GATEWAY,
            Self::GatewayTimeout(_) => StatusCode::GATEWAY_TIMEOUT,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The AWS-style error type sent in `x-amzn-ErrorType`.
    pub fn error_type(&self) -> &'static str {
        match self {
            Self::Unauthorized(_) => "UnauthorizedException",
            Self::AccessDenied(_) => "AccessDeniedException",
            Self::Validation(_) => "ValidationException",
            Self::LengthRequired(_) => "LengthRequiredException",
            Self::PayloadTooLarge(_) => "PayloadTooLargeException",
            Self::Throttled { .. } => "ThrottlingException",
            Self::BadGateway(_) => "BadGatewayException",
            Self::GatewayTimeout(_) => "GatewayTimeoutException",
            Self::Internal(_) => "InternalServerException",
        }
    }

    /// The message shown to the caller.
    pub fn message(&self) -> &str {
        match self {
            Self::Unauthorized(m)
            | Self::AccessDenied(m)
            | Self::Validation(m)
            | Self::LengthRequired(m)
            | Self::PayloadTooLarge(m)
            | Self::BadGateway(m)
            | Self::GatewayTimeout(m)
            | Self::Internal(m) => m,
            Self::Throttled { message, .. } => message,
        }
    }
}

impl std::fmt::Display for ProxyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.error_type(), self.message())
    }
}

impl std::error::Error for ProxyError {}

impl IntoResponse for ProxyError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "message": self.message() }).to_string();
        let mut response = (self.status(), body).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers.insert(ERROR_TYPE_HEADER, HeaderValue::from_static(self.error_type()));
        if let Self::Throttled { retry_after_secs, .. } = &self {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_secs));
        }
        if matches!(self, Self::Unauthorized(_)) {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        tracing::info!(status = self.status().as_u16(), error = self.error_type(), message = self.message(), "refused");
        response
    }
}
