//! Who is calling: portal users authenticate with a bearer token: a JWT from the hospital's
//! identity provider (RS256 / ES256 / EdDSA, keys from its JWKS: [`super::jwks`]), a
//! short-lived HS256 JWT minted by the portal backend, or a static token from the token file
//! (used by the demo). JWT checks are in [`super::jwt`].
//!
//! Every accepted caller becomes a [`Principal`] (issuer, subject, and the `stores` /
//! `projects` claims when present), then the access policy sees the token's full claims.
//!
//! Tokens never reach a log: the static ones are kept only as SHA-256 digests, and errors say
//! what was wrong without echoing what was sent.

use std::collections::HashMap;
use std::path::Path;

use std::sync::Arc;

use anyhow::Context;
use axum::http::{header, HeaderMap};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::access::{AccessPolicy, JobGrants, OperationScope};
use super::error::ProxyError;
use super::jwks::JwksSource;
use super::jwt::{self, JwtRules};

/// Shortest accepted JWT secret, in bytes: HS256 keys shorter than the hash are guessable.
pub const MIN_JWT_SECRET_BYTES: usize = 32;
/// Shortest accepted static token, in characters.
pub const MIN_STATIC_TOKEN_CHARS: usize = 16;
/// Seconds of clock skew tolerated on a JWT's `exp`, `nbf` and `iat`.
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
    /// A caller allowed every operation on `stores` and `projects` except downloads
    /// ([`OperationScope::Any`]; set `operations` to grant GetReadSet), with no job rules (so
    /// export and import jobs are refused).
    pub fn new(issuer: impl Into<String>, sub: impl Into<String>, stores: StoreScope, projects: Vec<String>) -> Self {
        Self { issuer: issuer.into(), sub: sub.into(), stores, projects, operations: OperationScope::Any, jobs: JobGrants::default() }
    }

    /// A stable, opaque name of this principal (`iss` + `sub`): hex SHA-256 of a version tag
    /// and the length-prefixed issuer and subject (so no choice of characters in either can
    /// make two principals one). It is the owner recorded on the uploads this caller creates,
    /// so it never reveals the subject and cannot collide between issuers.
    pub fn owner_id(&self) -> String {
        let mut h = Sha256::new();
        h.update(b"readset-upload owner v1\0");
        for field in [&self.issuer, &self.sub] {
            h.update((field.len() as u64).to_be_bytes());
            h.update(field.as_bytes());
        }
        hex::encode(h.finalize())
    }
}

/// Claims of a portal JWT (documentation of the contract; tokens are read as a JSON map, so
/// every other claim reaches the access policy too). `sub` and `exp` are required, and `stores`
/// for HS256 tokens; `projects` is optional.
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
    /// The operations allowed on `stores`, named as in the policy file (`read`, `download`,
    /// `upload`, `jobs`, `all`, or HealthOmics names); absent: every operation but downloads
    /// ([`OperationScope::Any`]). `["all", "download"]` is everything.
    #[serde(default)]
    pub operations: Option<Vec<String>>,
}

/// The identity provider whose tokens are accepted: its key set and the claims its tokens
/// must carry.
#[derive(Debug, Clone)]
pub struct IdentityProvider {
    /// Its keys.
    pub keys: Arc<JwksSource>,
    /// `iss`, `aud` and lifetime rules for its tokens (`issuer` and `audiences` are required).
    pub rules: JwtRules,
}

/// Checks bearer tokens against the static tokens, the HS256 secrets and the identity
/// provider's keys.
#[derive(Clone, Default)]
pub struct Authenticator {
    /// HS256 secrets; several at once during a rotation.
    hs256: Vec<DecodingKey>,
    /// Claims rules for HS256 tokens.
    hs256_rules: JwtRules,
    idp: Option<IdentityProvider>,
    /// Static tokens by the SHA-256 of the token, so the tokens themselves are not kept.
    tokens: HashMap<[u8; 32], Principal>,
    /// Maps claims to grants; applied to every authenticated caller.
    policy: Option<Arc<AccessPolicy>>,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator")
            .field("hs256_secrets", &self.hs256.len())
            .field("hs256_rules", &self.hs256_rules)
            .field("idp", &self.idp)
            .field("static_tokens", &self.tokens.len())
            .finish()
    }
}

/// Reads a secret file (`what` names it in errors); one trailing newline (`\n` or `\r\n`) is
/// ignored. The one place JWT secret files are read, so a check of their permissions can be
/// added here.
pub fn read_secret_file(path: &Path, what: &str) -> anyhow::Result<Vec<u8>> {
    let mut raw = crate::secrets::read_file(path, what)?;
    if raw.ends_with(b"\n") {
        raw.pop();
        if raw.ends_with(b"\r") {
            raw.pop();
        }
    }
    Ok(raw)
}

impl Authenticator {
    /// An authenticator that accepts nothing until a JWT secret, an identity provider or
    /// tokens are added.
    pub fn new() -> Self {
        Self::default()
    }

    /// Also accepts HS256 JWTs signed with `secret` (at least [`MIN_JWT_SECRET_BYTES`] bytes).
    /// Call it again to accept several secrets at once (rotation).
    pub fn with_jwt_secret(mut self, secret: &[u8]) -> anyhow::Result<Self> {
        anyhow::ensure!(
            secret.len() >= MIN_JWT_SECRET_BYTES,
            "the JWT secret has {} bytes; use at least {MIN_JWT_SECRET_BYTES} random bytes",
            secret.len()
        );
        self.hs256.push(DecodingKey::from_secret(secret));
        Ok(self)
    }

    /// Reads an HS256 secret from a file ([`read_secret_file`]) and accepts it.
    pub fn with_jwt_secret_file(self, path: &Path) -> anyhow::Result<Self> {
        let secret = read_secret_file(path, "JWT secret")?;
        self.with_jwt_secret(&secret).with_context(|| format!("JWT secret file {}", path.display()))
    }

    /// Sets the claims rules of HS256 tokens (`iss`, `aud`, longest lifetime).
    pub fn with_hs256_rules(mut self, rules: JwtRules) -> Self {
        self.hs256_rules = rules;
        self
    }

    /// Accepts RS256 / ES256 / EdDSA tokens signed by the identity provider's keys, with its
    /// `iss` and one of its audiences.
    pub fn with_identity_provider(mut self, keys: Arc<JwksSource>, mut rules: JwtRules) -> anyhow::Result<Self> {
        anyhow::ensure!(rules.issuer.as_deref().is_some_and(|i| !i.is_empty()), "identity provider tokens need an expected issuer (--jwt-issuer)");
        anyhow::ensure!(!rules.audiences.is_empty(), "identity provider tokens need an expected audience (--jwt-audience)");
        rules.require_iat = true;
        self.idp = Some(IdentityProvider { keys, rules });
        Ok(self)
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
    /// `{"token": "...", "sub": "...", "stores": ["..."|"*"], "projects": [...], "operations": [...]}`
    /// (`projects` and `operations` optional: [`StaticTokenEntry`]).
    pub fn with_token_file(mut self, path: &Path) -> anyhow::Result<Self> {
        let text = String::from_utf8(crate::secrets::read_file(path, "token")?).with_context(|| format!("the token file {} is not UTF-8", path.display()))?;
        let entries: Vec<StaticTokenEntry> =
            serde_json::from_str(&text).with_context(|| format!("token file {} is not a JSON array of token entries", path.display()))?;
        for (i, entry) in entries.into_iter().enumerate() {
            let operations = match &entry.operations {
                None => OperationScope::Any,
                Some(names) => {
                    anyhow::ensure!(
                        !names.is_empty(),
                        "token file {}: at [{i}].operations: list at least one operation or group (read, download, upload, jobs, all), or leave the key out",
                        path.display()
                    );
                    let mut set = std::collections::HashSet::new();
                    for (j, name) in names.iter().enumerate() {
                        let ops = super::access::operations_named(name)
                            .with_context(|| format!("token file {}: at [{i}].operations[{j}]", path.display()))?;
                        set.extend(ops);
                    }
                    OperationScope::Only(set)
                }
            };
            let mut principal = Principal::new(STATIC_TOKEN_ISSUER, entry.sub, StoreScope::from_list(entry.stores), entry.projects);
            principal.operations = operations;
            self = self.with_static_token(&entry.token, principal).with_context(|| format!("token file {}", path.display()))?;
        }
        Ok(self)
    }

    /// Applies `policy` to every caller this authenticator accepts.
    pub fn with_policy(mut self, policy: AccessPolicy) -> Self {
        self.policy = Some(Arc::new(policy));
        self
    }

    /// Whether any way to authenticate is configured.
    pub fn is_configured(&self) -> bool {
        !self.hs256.is_empty() || self.idp.is_some() || !self.tokens.is_empty()
    }

    /// Authenticates the `Authorization: Bearer <token>` header. May fetch the identity
    /// provider's key set (a token naming an unknown key id, or a scheduled refresh).
    pub async fn authenticate(&self, headers: &HeaderMap) -> Result<Principal, ProxyError> {
        self.authenticate_with_claims(headers).await.map(|(principal, _)| principal)
    }

    /// [`Self::authenticate`], also returning the claims the access policy was given: the
    /// token's whole claims object (empty for a static token).
    pub async fn authenticate_with_claims(&self, headers: &HeaderMap) -> Result<(Principal, serde_json::Map<String, serde_json::Value>), ProxyError> {
        let token = bearer_token(headers)?;
        if let Some(principal) = self.tokens.get(&digest(token)) {
            let mut principal = principal.clone();
            let claims = serde_json::Map::new();
            if let Some(policy) = &self.policy {
                policy.apply(&mut principal, &claims)?;
            }
            return Ok((principal, claims));
        }
        if self.hs256.is_empty() && self.idp.is_none() {
            return Err(ProxyError::Unauthorized("unknown bearer token".into()));
        }
        let header = jwt::read_header(token)?;
        let (claims, from_idp) = if header.alg == Algorithm::HS256 {
            (self.verify_hs256(token, &header)?, false)
        } else {
            (self.verify_idp(token, &header).await?, true)
        };
        let stores = match jwt::string_list(&claims, "stores")? {
            Some(stores) => StoreScope::from_list(stores),
            // The portal's HS256 tokens name their stores unless an access policy grants them;
            // an identity provider's tokens usually do not, and then only the policy grants.
            None if !from_idp && self.policy.is_none() => return Err(ProxyError::Unauthorized("the JWT lacks a required claim (`stores`)".into())),
            None => StoreScope::Only(Vec::new()),
        };
        let projects = jwt::string_list(&claims, "projects")?.unwrap_or_default();
        let sub = claims.get("sub").and_then(serde_json::Value::as_str).unwrap_or_default();
        let issuer = claims.get("iss").and_then(serde_json::Value::as_str).unwrap_or(HS256_ISSUER);
        let mut principal = Principal::new(issuer, sub, stores, projects);
        if let Some(policy) = &self.policy {
            policy.apply(&mut principal, &claims)?;
        }
        Ok((principal, claims))
    }

    fn verify_hs256(&self, token: &str, header: &jwt::JwtHeader) -> Result<serde_json::Map<String, serde_json::Value>, ProxyError> {
        if let (Some(kid), Some(idp)) = (&header.kid, &self.idp) {
            if let Some(key) = idp.keys.cached(kid) {
                return Err(ProxyError::Unauthorized(format!(
                    "the JWT says HS256 but its key id names an identity provider {} key: refused (algorithm confusion)",
                    key.kind.name()
                )));
            }
        }
        if self.hs256.is_empty() {
            return Err(ProxyError::Unauthorized("HS256 JWTs are not accepted here (no --jwt-secret-file is configured)".into()));
        }
        let mut last = None;
        for key in &self.hs256 {
            match jwt::verify_signature(token, Algorithm::HS256, key) {
                Ok(claims) => {
                    jwt::check_claims(&claims, &self.hs256_rules, now_secs())?;
                    return Ok(claims);
                }
                // Another secret may match (rotation); any other error means this one did.
                Err(e) if matches!(e.kind(), ErrorKind::InvalidSignature) => last = Some(e),
                Err(e) => return Err(jwt::refusal(e.kind(), false)),
            }
        }
        Err(jwt::refusal(last.as_ref().map_or(&ErrorKind::InvalidSignature, |e| e.kind()), false))
    }

    async fn verify_idp(&self, token: &str, header: &jwt::JwtHeader) -> Result<serde_json::Map<String, serde_json::Value>, ProxyError> {
        let Some(idp) = &self.idp else {
            return Err(ProxyError::Unauthorized(format!(
                "{:?} JWTs are not accepted here: no identity provider is configured (--oidc-issuer or --jwks-url)",
                header.alg
            )));
        };
        let key = idp.keys.key_for(header.kid.as_deref()).await?;
        if key.kind.algorithm() != header.alg {
            return Err(ProxyError::Unauthorized(format!(
                "the JWT says {:?} but its key is an {} key, which verifies {:?} only",
                header.alg,
                key.kind.name(),
                key.kind.algorithm()
            )));
        }
        let claims = jwt::verify_signature(token, header.alg, &key.key).map_err(|e| jwt::refusal(e.kind(), true))?;
        jwt::check_claims(&claims, &idp.rules, now_secs())?;
        Ok(claims)
    }
}

fn now_secs() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
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
