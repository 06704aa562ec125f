//! Who is calling: portal users authenticate with a bearer token, either a short-lived HS256 JWT
//! minted by the portal backend, or a static token from the token file (used by the demo).
//!
//! Tokens never reach a log: the static ones are kept only as SHA-256 digests, and errors say
//! what was wrong without echoing what was sent.

use std::collections::HashMap;
use std::path::Path;

use anyhow::Context;
use axum::http::{header, HeaderMap};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::access::{AccessPolicy, JobGrants, OperationScope};
use super::error::ProxyError;

/// Shortest accepted JWT secret, in bytes: HS256 keys shorter than the hash are guessable.
pub const MIN_JWT_SECRET_BYTES: usize = 32;
/// Shortest accepted static token, in characters.
pub const MIN_STATIC_TOKEN_CHARS: usize = 16;
/// Seconds of clock skew tolerated on a JWT's `exp`.
pub const JWT_LEEWAY_SECS: u64 = 30;

/// Which sequence stores a caller may use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreScope {
    /// Any store (`"*"` in the list).
    Any,
    /// Only these store IDs.
    Only(Vec<String>),
}

impl StoreScope {
    /// Builds a scope from a claim list, where `"*"` means any store.
    pub fn from_list(stores: Vec<String>) -> Self {
        if stores.iter().any(|s| s == "*") {
            Self::Any
        } else {
            Self::Only(stores)
        }
    }

    /// Whether `store_id` is allowed.
    pub fn allows(&self, store_id: &str) -> bool {
        match self {
            Self::Any => true,
            Self::Only(ids) => ids.iter().any(|id| id == store_id),
        }
    }
}

/// Issuer recorded for callers of a static token (they have no `iss`).
pub const STATIC_TOKEN_ISSUER: &str = "urn:readset-upload:static-token";
/// Issuer recorded for HS256 JWTs that carry no `iss` claim.
pub const HS256_ISSUER: &str = "urn:readset-upload:hs256";

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// Who vouched for the caller: the token's `iss`, or [`STATIC_TOKEN_ISSUER`] /
    /// [`HS256_ISSUER`]. With `sub`, it names the owner of the uploads the caller creates.
    pub issuer: String,
    /// The portal user (`sub`); used in logs and as the key of the per-token limits.
    pub sub: String,
    /// The sequence stores this caller may use.
    pub stores: StoreScope,
    /// Seven Bridges projects this caller may use (kept for the Seven Bridges forwarding).
    pub projects: Vec<String>,
    /// The HealthOmics operations this caller may use (on the stores it may use).
    pub operations: OperationScope,
    /// The job rules that apply to this caller (role and S3 locations per store).
    pub jobs: JobGrants,
}

impl Principal {
    /// A caller allowed every operation on `stores` and `projects`, with no job rules (so
    /// export and import jobs are refused).
    pub fn new(issuer: impl Into<String>, sub: impl Into<String>, stores: StoreScope, projects: Vec<String>) -> Self {
        Self { issuer: issuer.into(), sub: sub.into(), stores, projects, operations: OperationScope::Any, jobs: JobGrants::default() }
    }

    /// A stable, opaque name of this principal (`iss` + `sub`): hex SHA-256 of
    /// `issuer \n sub`. It is the owner recorded on the uploads this caller creates, so it never
    /// reveals the subject and cannot collide between issuers.
    pub fn owner_id(&self) -> String {
        let mut h = Sha256::new();
        h.update(self.issuer.as_bytes());
        h.update(b"\n");
        h.update(self.sub.as_bytes());
        hex::encode(h.finalize())
    }
}

/// Claims of a portal JWT. `sub`, `exp` and `stores` are required; `projects` is optional.
#[derive(Debug, Clone, Deserialize)]
pub struct JwtClaims {
    /// The portal user.
    pub sub: String,
    /// Expiry, seconds since the Unix epoch.
    pub exp: u64,
    /// Sequence store IDs allowed; `"*"` means any.
    pub stores: Vec<String>,
    /// Seven Bridges projects allowed.
    #[serde(default)]
    pub projects: Vec<String>,
}

/// One entry of the token file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaticTokenEntry {
    /// The bearer token itself (at least [`MIN_STATIC_TOKEN_CHARS`] characters).
    pub token: String,
    /// The portal user it stands for.
    pub sub: String,
    /// Sequence store IDs allowed; `"*"` means any.
    pub stores: Vec<String>,
    /// Seven Bridges projects allowed.
    #[serde(default)]
    pub projects: Vec<String>,
}

/// Checks bearer tokens against the JWT secret and the static tokens.
#[derive(Clone, Default)]
pub struct Authenticator {
    jwt: Option<DecodingKey>,
    /// Static tokens by the SHA-256 of the token, so the tokens themselves are not kept.
    tokens: HashMap<[u8; 32], Principal>,
    /// Maps claims to grants; applied to every authenticated caller.
    policy: Option<std::sync::Arc<AccessPolicy>>,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator")
            .field("jwt", &self.jwt.as_ref().map(|_| "<redacted>"))
            .field("static_tokens", &self.tokens.len())
            .finish()
    }
}

impl Authenticator {
    /// An authenticator that accepts nothing until a JWT secret or tokens are added.
    pub fn new() -> Self {
        Self::default()
    }

    /// Accepts HS256 JWTs signed with `secret` (at least [`MIN_JWT_SECRET_BYTES`] bytes).
    pub fn with_jwt_secret(mut self, secret: &[u8]) -> anyhow::Result<Self> {
        anyhow::ensure!(
            secret.len() >= MIN_JWT_SECRET_BYTES,
            "the JWT secret has {} bytes; use at least {MIN_JWT_SECRET_BYTES} random bytes",
            secret.len()
        );
        self.jwt = Some(DecodingKey::from_secret(secret));
        Ok(self)
    }

    /// Reads the JWT secret from a file; one trailing newline is ignored.
    pub fn with_jwt_secret_file(self, path: &Path) -> anyhow::Result<Self> {
        let raw = crate::secrets::read_file(path, "JWT secret")?;
        let secret = raw.strip_suffix(b"\n").unwrap_or(&raw);
        let secret = secret.strip_suffix(b"\r").unwrap_or(secret);
        self.with_jwt_secret(secret).with_context(|| format!("JWT secret file {}", path.display()))
    }

    /// Accepts `token` as a static bearer token for `principal`.
    pub fn with_static_token(mut self, token: &str, principal: Principal) -> anyhow::Result<Self> {
        anyhow::ensure!(
            token.chars().count() >= MIN_STATIC_TOKEN_CHARS,
            "static token for `{}` is too short: use at least {MIN_STATIC_TOKEN_CHARS} random characters",
            principal.sub
        );
        anyhow::ensure!(
            token.bytes().all(|b| b.is_ascii_graphic()),
            "static token for `{}` must be printable ASCII without spaces",
            principal.sub
        );
        anyhow::ensure!(!principal.sub.is_empty(), "a static token has an empty `sub`");
        self.tokens.insert(digest(token), principal);
        Ok(self)
    }

    /// Adds every token of a token file: a JSON array of
    /// `{"token": "...", "sub": "...", "stores": ["..."|"*"], "projects": [...]}`.
    pub fn with_token_file(mut self, path: &Path) -> anyhow::Result<Self> {
        let text = String::from_utf8(crate::secrets::read_file(path, "token")?).with_context(|| format!("the token file {} is not UTF-8", path.display()))?;
        let entries: Vec<StaticTokenEntry> =
            serde_json::from_str(&text).with_context(|| format!("token file {} is not a JSON array of token entries", path.display()))?;
        for entry in entries {
            let principal = Principal::new(STATIC_TOKEN_ISSUER, entry.sub, StoreScope::from_list(entry.stores), entry.projects);
            self = self.with_static_token(&entry.token, principal).with_context(|| format!("token file {}", path.display()))?;
        }
        Ok(self)
    }

    /// Applies `policy` to every caller this authenticator accepts.
    pub fn with_policy(mut self, policy: AccessPolicy) -> Self {
        self.policy = Some(std::sync::Arc::new(policy));
        self
    }

    /// Whether any way to authenticate is configured.
    pub fn is_configured(&self) -> bool {
        self.jwt.is_some() || !self.tokens.is_empty()
    }

    /// Authenticates the `Authorization: Bearer <token>` header.
    pub fn authenticate(&self, headers: &HeaderMap) -> Result<Principal, ProxyError> {
        let token = bearer_token(headers)?;
        if let Some(principal) = self.tokens.get(&digest(token)) {
            let mut principal = principal.clone();
            if let Some(policy) = &self.policy {
                policy.apply(&mut principal, &serde_json::Map::new())?;
            }
            return Ok(principal);
        }
        let Some(key) = &self.jwt else {
            return Err(ProxyError::Unauthorized("unknown bearer token".into()));
        };
        let claims = verify_jwt(token, key)?;
        if claims.sub.is_empty() {
            return Err(ProxyError::Unauthorized("the JWT has an empty `sub` claim".into()));
        }
        let mut principal = Principal::new(HS256_ISSUER, claims.sub, StoreScope::from_list(claims.stores), claims.projects);
        if let Some(policy) = &self.policy {
            // The claims map is what a policy file reads (groups, roles, ...); HS256 tokens keep
            // their typed claims for now.
            policy.apply(&mut principal, &serde_json::Map::new())?;
        }
        Ok(principal)
    }
}

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

fn bearer_token(headers: &HeaderMap) -> Result<&str, ProxyError> {
    let value = headers
        .get(header::AUTHORIZATION)
        .ok_or_else(|| ProxyError::Unauthorized("missing `Authorization: Bearer <token>` header".into()))?;
    let value = value
        .to_str()
        .map_err(|_| ProxyError::Unauthorized("the Authorization header is not printable ASCII".into()))?;
    let (scheme, token) = value
        .split_once(' ')
        .ok_or_else(|| ProxyError::Unauthorized("the Authorization header must be `Bearer <token>`".into()))?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(ProxyError::Unauthorized("the Authorization header must use the Bearer scheme".into()));
    }
    let token = token.trim();
    if token.is_empty() {
        return Err(ProxyError::Unauthorized("the bearer token is empty".into()));
    }
    Ok(token)
}

fn verify_jwt(token: &str, key: &DecodingKey) -> Result<JwtClaims, ProxyError> {
    use jsonwebtoken::errors::ErrorKind;
    // Only HS256: `alg: none` and every other algorithm are refused by the decoder.
    let mut validation = Validation::new(Algorithm::HS256);
    validation.set_required_spec_claims(&["exp", "sub"]);
    validation.leeway = JWT_LEEWAY_SECS;
    validation.validate_exp = true;
    // The secret is dedicated to this proxy, so an `aud` claim the portal's library adds is not
    // required to match anything.
    validation.validate_aud = false;
    match jsonwebtoken::decode::<JwtClaims>(token, key, &validation) {
        Ok(data) => Ok(data.claims),
        Err(e) => Err(ProxyError::Unauthorized(
            match e.kind() {
                ErrorKind::ExpiredSignature => "the JWT has expired",
                ErrorKind::InvalidSignature => "the JWT signature does not match",
                ErrorKind::InvalidAlgorithm => "the JWT must be signed with HS256",
                ErrorKind::MissingRequiredClaim(_) => "the JWT lacks a required claim (`sub`, `exp`, `stores`)",
                ErrorKind::Json(_) => "the JWT claims are malformed (need `sub`, `exp`, `stores`)",
                _ => "the bearer token is neither a known token nor a valid JWT",
            }
            .into(),
        )),
    }
}
