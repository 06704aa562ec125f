//! The one place where store failures become HTTP answers, shaped like AWS restJson errors:
//! a status, the `x-amzn-ErrorType` header and a JSON body `{"message": ...}`.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// The error types the store answers with; names are those of the HealthOmics reference
/// (operation errors) and of AWS SigV4 authentication.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// 400: a parameter breaks a documented constraint.
    Validation,
    /// 403: the caller may not do this.
    AccessDenied,
    /// 404: no such store, upload, read set, job or resource.
    NotFound,
    /// 409: the resource is in a state that forbids the operation.
    Conflict,
    /// 500: a fault in the store itself (disk, database).
    Internal,
    /// 403: the request carries no `Authorization` header.
    MissingAuthenticationToken,
    /// 403: the `Authorization` header is malformed or lacks a required part.
    IncompleteSignature,
    /// 403: the signature does not match the one recomputed with the store's secret.
    InvalidSignature,
    /// 403: the access key id is not the store's.
    UnrecognizedClient,
    /// 400: `x-amz-date` is more than 15 minutes away from the store's clock
    /// (status as in the reference's Common Errors).
    RequestExpired,
    /// 400: the body's SHA-256 differs from the signed `x-amz-content-sha256`.
    ContentSha256Mismatch,
    /// 400: the operation is not served on the host it was sent to (an AWS name with another
    /// operation's host prefix); Common Errors' `InvalidAction`.
    InvalidAction,
}

impl ErrorKind {
    /// The HTTP status and the `x-amzn-ErrorType` name.
    pub fn status_and_name(self) -> (StatusCode, &'static str) {
        match self {
            ErrorKind::Validation => (StatusCode::BAD_REQUEST, "ValidationException"),
            ErrorKind::AccessDenied => (StatusCode::FORBIDDEN, "AccessDeniedException"),
            ErrorKind::NotFound => (StatusCode::NOT_FOUND, "ResourceNotFoundException"),
            ErrorKind::Conflict => (StatusCode::CONFLICT, "ConflictException"),
            ErrorKind::Internal => (StatusCode::INTERNAL_SERVER_ERROR, "InternalServerException"),
            ErrorKind::MissingAuthenticationToken => {
                (StatusCode::FORBIDDEN, "MissingAuthenticationTokenException")
            }
            ErrorKind::IncompleteSignature => (StatusCode::FORBIDDEN, "IncompleteSignatureException"),
            ErrorKind::InvalidSignature => (StatusCode::FORBIDDEN, "InvalidSignatureException"),
            ErrorKind::UnrecognizedClient => (StatusCode::FORBIDDEN, "UnrecognizedClientException"),
            ErrorKind::RequestExpired => (StatusCode::BAD_REQUEST, "RequestExpired"),
            ErrorKind::ContentSha256Mismatch => (StatusCode::BAD_REQUEST, "XAmzContentSHA256Mismatch"),
            ErrorKind::InvalidAction => (StatusCode::BAD_REQUEST, "InvalidAction"),
        }
    }
}

/// A failed request: what kind, and a message a user can act on.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// The kind, which fixes status and error type.
    pub kind: ErrorKind,
    /// The human-readable message.
    pub message: String,
}

/// Result of a store operation.
pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    /// An error of `kind` with `message`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        ApiError { kind, message: message.into() }
    }
    /// A ValidationException.
    pub fn validation(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Validation, message)
    }
    /// A ResourceNotFoundException.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, message)
    }
    /// A ConflictException.
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Conflict, message)
    }
    /// An InternalServerException; the cause is logged, not shown.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(%cause, "internal error");
        Self::new(ErrorKind::Internal, "The local store failed internally; see its log.")
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.kind.status_and_name().1, self.message)
    }
}

impl std::error::Error for ApiError {}

impl From<rusqlite::Error> for ApiError {
    fn from(e: rusqlite::Error) -> Self {
        ApiError::internal(format!("sqlite: {e}"))
    }
}

impl From<std::io::Error> for ApiError {
    fn from(e: std::io::Error) -> Self {
        ApiError::internal(format!("io: {e}"))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, name) = self.kind.status_and_name();
        let body = serde_json::json!({ "message": self.message }).to_string();
        let mut resp = (status, body).into_response();
        let h = resp.headers_mut();
        h.insert("x-amzn-errortype", HeaderValue::from_static(name));
        h.insert("content-type", HeaderValue::from_static("application/json"));
        resp
    }
}
