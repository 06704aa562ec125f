//! SigV4 signing of upstream requests with the official `aws-sigv4` crate, and the credentials
//! it signs with (from any provider: the standard AWS chain or fixed keys).

use std::time::{Duration, SystemTime};

use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_credential_types::Credentials;
use aws_sigv4::http_request::{sign, PayloadChecksumKind, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use tokio::sync::RwLock;

use super::error::ProxyError;

/// The SigV4 signing name of HealthOmics.
pub const SIGNING_NAME: &str = "omics";

/// Credentials refreshed this long before they expire.
const REFRESH_BEFORE_EXPIRY: Duration = Duration::from_secs(300);

/// Fixed credentials (for the local store, whose keys are known), as a provider.
pub fn static_credentials(access_key_id: &str, secret_access_key: &str) -> SharedCredentialsProvider {
    SharedCredentialsProvider::new(Credentials::new(access_key_id, secret_access_key, None, None, "readset-server-static"))
}

/// A credentials provider with a cache, so the standard chain (which may call the instance
/// metadata service) is asked only when the cached credentials near their expiry.
#[derive(Debug)]
pub struct CredentialsCache {
    provider: SharedCredentialsProvider,
    cached: RwLock<Option<Credentials>>,
}

impl CredentialsCache {
    /// Wraps `provider`.
    pub fn new(provider: SharedCredentialsProvider) -> Self {
        Self { provider, cached: RwLock::new(None) }
    }

    /// Current credentials, refreshed when missing or about to expire.
    pub async fn get(&self) -> Result<Credentials, ProxyError> {
        if let Some(c) = self.cached.read().await.as_ref().filter(|c| fresh(c)) {
            return Ok(c.clone());
        }
        let mut slot = self.cached.write().await;
        if let Some(c) = slot.as_ref().filter(|c| fresh(c)) {
            return Ok(c.clone());
        }
        let creds = self.provider.provide_credentials().await.map_err(|e| {
            tracing::error!(error = %e, "no AWS credentials from the configured provider");
            ProxyError::Internal("the proxy has no usable AWS credentials; see its log".into())
        })?;
        *slot = Some(creds.clone());
        Ok(creds)
    }
}

fn fresh(c: &Credentials) -> bool {
    match c.expiry() {
        None => true,
        Some(expiry) => expiry > SystemTime::now() + REFRESH_BEFORE_EXPIRY,
    }
}

/// What is signed about the body.
#[derive(Debug, Clone, Copy)]
pub enum Payload<'a> {
    /// The whole body (JSON or empty), signed with its SHA-256.
    Bytes(&'a [u8]),
    /// A streamed part: `x-amz-content-sha256: UNSIGNED-PAYLOAD`.
    Unsigned,
}

/// Signs a request and returns the headers to add (`authorization`, `x-amz-date`,
/// `x-amz-content-sha256`, and `x-amz-security-token` for temporary credentials).
///
/// `headers` are the headers that will be sent and must be signed (at least `host`).
pub fn sign_request(
    credentials: &Credentials,
    region: &str,
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    payload: Payload<'_>,
    time: SystemTime,
) -> Result<Vec<(String, String)>, ProxyError> {
    let identity: Identity = credentials.clone().into();
    let mut settings = SigningSettings::default();
    settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(SIGNING_NAME)
        .time(time)
        .settings(settings)
        .build()
        .map_err(|e| internal("signing parameters", e))?
        .into();
    let body = match payload {
        Payload::Bytes(b) => SignableBody::Bytes(b),
        Payload::Unsigned => SignableBody::UnsignedPayload,
    };
    let signable = SignableRequest::new(method, url, headers.iter().copied(), body).map_err(|e| internal("signable request", e))?;
    let (instructions, _signature) = sign(signable, &params).map_err(|e| internal("signing", e))?.into_parts();
    Ok(instructions.headers().map(|(k, v)| (k.to_owned(), v.to_owned())).collect())
}

fn internal(what: &str, e: impl std::fmt::Display) -> ProxyError {
    tracing::error!(error = %e, "SigV4 {what} failed");
    ProxyError::Internal(format!("the proxy could not sign the request ({what})"))
}
