//! The signing keys of an identity provider (OIDC / JWKS), fetched and cached.
//!
//! The proxy verifies tokens from an identity provider (Keycloak, Auth0, Amazon Cognito, ...)
//! with the public keys the provider publishes as a JSON Web Key Set. The set is fetched at
//! startup (an unreachable provider stops the proxy with a clear message rather than have it
//! refuse every user later), then again:
//!
//! - every [`JwksOptions::refresh_every`], so a key rotation needs no restart, and
//! - when a token names a key id (`kid`) the cache does not know, at most once per
//!   [`JwksOptions::min_refresh_gap`], so a flood of tokens with random key ids cannot make the
//!   proxy hammer the provider.
//!
//! A failed refresh keeps the keys already known (and is logged). Fetches have a timeout and a
//! size cap, never follow redirects, and use `https` (plain `http` only to `127.0.0.1`,
//! `localhost` or `[::1]`, for tests). Keys come only from the configured set: header fields
//! that name a key (`jku`, `x5u`, `jwk`, `x5c`) are refused by [`super::auth`], never fetched.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use anyhow::Context;
use futures_util::StreamExt;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm};
use jsonwebtoken::{Algorithm, DecodingKey};
use serde_json::Value;

use super::error::ProxyError;

/// Default interval between two scheduled fetches of the key set.
pub const DEFAULT_REFRESH_EVERY: Duration = Duration::from_secs(600);
/// Default shortest gap between two fetches caused by unknown key ids.
pub const DEFAULT_MIN_REFRESH_GAP: Duration = Duration::from_secs(30);
/// Default time allowed for one fetch (discovery document or key set).
pub const DEFAULT_FETCH_TIMEOUT: Duration = Duration::from_secs(5);
/// Default cap on the size of a fetched document (256 KiB; real key sets are a few KiB).
pub const DEFAULT_MAX_DOCUMENT_BYTES: usize = 256 * 1024;

/// How the key set is fetched and refreshed.
#[derive(Debug, Clone)]
pub struct JwksOptions {
    /// Fetch the key set again when the last successful fetch is this old.
    pub refresh_every: Duration,
    /// Shortest gap between two fetches caused by unknown key ids (and between retries of a
    /// failed scheduled refresh).
    pub min_refresh_gap: Duration,
    /// Time allowed for one fetch.
    pub fetch_timeout: Duration,
    /// Largest document accepted, in bytes.
    pub max_document_bytes: usize,
}

impl Default for JwksOptions {
    fn default() -> Self {
        Self {
            refresh_every: DEFAULT_REFRESH_EVERY,
            min_refresh_gap: DEFAULT_MIN_REFRESH_GAP,
            fetch_timeout: DEFAULT_FETCH_TIMEOUT,
            max_document_bytes: DEFAULT_MAX_DOCUMENT_BYTES,
        }
    }
}

/// The kind of a public key, which decides the one algorithm it verifies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// An RSA key: RS256.
    Rsa,
    /// An EC key on P-256: ES256.
    EcP256,
    /// An Ed25519 key: EdDSA.
    Ed25519,
}

impl KeyKind {
    /// The algorithm a token must use with a key of this kind.
    pub fn algorithm(self) -> Algorithm {
        match self {
            Self::Rsa => Algorithm::RS256,
            Self::EcP256 => Algorithm::ES256,
            Self::Ed25519 => Algorithm::EdDSA,
        }
    }

    /// The JWK `alg` value of that algorithm.
    pub fn key_algorithm(self) -> KeyAlgorithm {
        match self {
            Self::Rsa => KeyAlgorithm::RS256,
            Self::EcP256 => KeyAlgorithm::ES256,
            Self::Ed25519 => KeyAlgorithm::EdDSA,
        }
    }

    /// A short human name (`RSA`, `EC P-256`, `Ed25519`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Rsa => "RSA",
            Self::EcP256 => "EC P-256",
            Self::Ed25519 => "Ed25519",
        }
    }
}

/// One usable key of the set.
#[derive(Clone, Debug)]
pub struct VerifyKey {
    /// The key id (`kid`), if the set gives one.
    pub kid: Option<String>,
    /// What kind of key it is.
    pub kind: KeyKind,
    /// The key itself.
    pub key: DecodingKey,
}

#[derive(Clone)]
struct State {
    keys: Arc<Vec<VerifyKey>>,
    fetched_at: Instant,
    last_attempt: Instant,
    last_unknown_kid_fetch: Option<Instant>,
}

/// An identity provider's key set, cached and refreshed (see the module docs).
pub struct JwksSource {
    url: reqwest::Url,
    client: reqwest::Client,
    options: JwksOptions,
    state: RwLock<State>,
    /// Held while fetching, so concurrent misses make one fetch, not many.
    fetch_lock: tokio::sync::Mutex<()>,
    fetches: AtomicU64,
}

impl std::fmt::Debug for JwksSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let keys = self.state.read().map(|s| s.keys.len()).unwrap_or(0);
        f.debug_struct("JwksSource").field("url", &self.url.as_str()).field("keys", &keys).finish()
    }
}

/// Checks a URL of the identity provider: `https`, or `http` to the loopback host only, and no
/// user name or password in it (`what` names the flag in the message).
pub fn check_idp_url(url: &str, what: &str) -> anyhow::Result<reqwest::Url> {
    let parsed = reqwest::Url::parse(url).with_context(|| format!("{what} `{url}` is not a URL"))?;
    anyhow::ensure!(parsed.username().is_empty() && parsed.password().is_none(), "{what} must not contain a user name or password");
    let loopback = matches!(parsed.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
    match parsed.scheme() {
        "https" => {}
        "http" if loopback => {}
        "http" => anyhow::bail!("{what} `{url}` must use https (plain http is allowed only to 127.0.0.1 or localhost)"),
        other => anyhow::bail!("{what} `{url}` has the scheme `{other}`; use https"),
    }
    anyhow::ensure!(parsed.host_str().is_some(), "{what} `{url}` has no host");
    Ok(parsed)
}

fn build_client(options: &JwksOptions) -> anyhow::Result<reqwest::Client> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(options.fetch_timeout)
        .connect_timeout(options.fetch_timeout)
        .build()
        .context("cannot build the identity provider's HTTP client")
}

/// GETs `url` as JSON, refusing non-2xx answers, documents over `max_bytes` and slow answers.
async fn fetch_json(client: &reqwest::Client, url: &reqwest::Url, max_bytes: usize) -> anyhow::Result<Value> {
    let response = client
        .get(url.clone())
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(|e| anyhow::anyhow!("cannot fetch {url}: {}", if e.is_timeout() { "timed out".to_owned() } else { e.without_url().to_string() }))?;
    let status = response.status();
    anyhow::ensure!(status.is_success(), "{url} answered HTTP {} (redirects are not followed: give the final URL)", status.as_u16());
    if response.content_length().is_some_and(|n| n > max_bytes as u64) {
        anyhow::bail!("{url} sent more than {max_bytes} bytes");
    }
    let mut body = Vec::new();
    let mut stream = response.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| anyhow::anyhow!("cannot read {url}: {}", if e.is_timeout() { "timed out".to_owned() } else { e.without_url().to_string() }))?;
        anyhow::ensure!(body.len() + chunk.len() <= max_bytes, "{url} sent more than {max_bytes} bytes");
        body.extend_from_slice(&chunk);
    }
    serde_json::from_slice(&body).with_context(|| format!("{url} did not answer JSON"))
}

/// The usable signing keys of a JWKS document: RSA (RS256), EC P-256 (ES256) and Ed25519
/// (EdDSA) keys whose `use` (if given) is `sig` and whose `alg` (if given) is the one their kind
/// verifies. Symmetric (`oct`) keys and everything else are skipped.
pub fn parse_key_set(doc: &Value) -> anyhow::Result<Vec<VerifyKey>> {
    let entries = doc.get("keys").and_then(Value::as_array).context("the document is not a JSON Web Key Set (no `keys` array)")?;
    let mut keys = Vec::new();
    for entry in entries {
        if entry.get("use").is_some_and(|u| u != "sig") || entry.get("kty").is_some_and(|k| k == "oct") {
            continue;
        }
        let Ok(jwk) = serde_json::from_value::<Jwk>(entry.clone()) else { continue };
        let kind = match &jwk.algorithm {
            AlgorithmParameters::RSA(_) => KeyKind::Rsa,
            AlgorithmParameters::EllipticCurve(p) if p.curve == EllipticCurve::P256 => KeyKind::EcP256,
            AlgorithmParameters::OctetKeyPair(p) if p.curve == EllipticCurve::Ed25519 => KeyKind::Ed25519,
            _ => continue,
        };
        if let Some(alg) = jwk.common.key_algorithm {
            if alg != kind.key_algorithm() {
                continue;
            }
        }
        let Ok(key) = DecodingKey::from_jwk(&jwk) else { continue };
        keys.push(VerifyKey { kid: jwk.common.key_id.clone(), kind, key });
    }
    anyhow::ensure!(!keys.is_empty(), "the key set holds no usable signing key (RSA for RS256, EC P-256 for ES256, Ed25519 for EdDSA)");
    Ok(keys)
}

/// Reads `ISSUER/.well-known/openid-configuration` and returns `(issuer, jwks_uri)`. The
/// document's `issuer` must be `issuer` (a trailing slash aside) and its `jwks_uri` must pass
/// [`check_idp_url`].
pub async fn discover(issuer: &str, options: &JwksOptions) -> anyhow::Result<(String, reqwest::Url)> {
    check_idp_url(issuer, "--oidc-issuer")?;
    let client = build_client(options)?;
    let url = reqwest::Url::parse(&format!("{}/.well-known/openid-configuration", issuer.trim_end_matches('/')))
        .context("cannot build the discovery URL")?;
    let doc = fetch_json(&client, &url, options.max_document_bytes).await.context("OpenID discovery failed")?;
    let found = doc.get("issuer").and_then(Value::as_str).context("the discovery document has no `issuer`")?;
    anyhow::ensure!(
        found.trim_end_matches('/') == issuer.trim_end_matches('/'),
        "the discovery document at {url} names the issuer `{found}`, not `{issuer}`: give --oidc-issuer exactly as the provider names itself"
    );
    let jwks_uri = doc.get("jwks_uri").and_then(Value::as_str).context("the discovery document has no `jwks_uri`")?;
    Ok((found.to_owned(), check_idp_url(jwks_uri, "the discovered jwks_uri")?))
}

impl JwksSource {
    /// Fetches the key set at `url` once (failing if it cannot) and keeps it.
    pub async fn new(url: &str, options: JwksOptions) -> anyhow::Result<Self> {
        let url = check_idp_url(url, "--jwks-url")?;
        let client = build_client(&options)?;
        let doc = fetch_json(&client, &url, options.max_document_bytes).await.context("cannot load the identity provider's key set")?;
        let keys = parse_key_set(&doc).with_context(|| format!("key set {url}"))?;
        let now = Instant::now();
        Ok(Self {
            url,
            client,
            options,
            state: RwLock::new(State { keys: Arc::new(keys), fetched_at: now, last_attempt: now, last_unknown_kid_fetch: None }),
            fetch_lock: tokio::sync::Mutex::new(()),
            fetches: AtomicU64::new(1),
        })
    }

    /// Discovers the key set of the OpenID provider `issuer` and loads it; returns the issuer
    /// as the provider names it, and the source.
    pub async fn discover(issuer: &str, options: JwksOptions) -> anyhow::Result<(String, Self)> {
        let (issuer, jwks_uri) = discover(issuer, &options).await?;
        Ok((issuer, Self::new(jwks_uri.as_str(), options).await?))
    }

    /// How many times the key set was fetched (successfully or not), the first load included.
    pub fn fetch_count(&self) -> u64 {
        self.fetches.load(Ordering::Relaxed)
    }

    fn keys(&self) -> Arc<Vec<VerifyKey>> {
        self.state.read().unwrap_or_else(|e| e.into_inner()).keys.clone()
    }

    /// The cached key with this id, without fetching.
    pub fn cached(&self, kid: &str) -> Option<VerifyKey> {
        self.keys().iter().find(|k| k.kid.as_deref() == Some(kid)).cloned()
    }

    /// The key a token with this `kid` (or none) is verified with, refreshing the set when it
    /// is due or the `kid` is unknown (see the module docs).
    pub async fn key_for(&self, kid: Option<&str>) -> Result<VerifyKey, ProxyError> {
        self.refresh_if(|s, now| now.duration_since(s.fetched_at) >= self.options.refresh_every && now.duration_since(s.last_attempt) >= self.options.min_refresh_gap)
            .await;
        if let Some(key) = pick(&self.keys(), kid)? {
            return Ok(key);
        }
        let fetched = self
            .refresh_if(|s, now| {
                let due = s.last_unknown_kid_fetch.is_none_or(|t| now.duration_since(t) >= self.options.min_refresh_gap);
                if due {
                    s.last_unknown_kid_fetch = Some(now);
                }
                due
            })
            .await;
        match pick(&self.keys(), kid)? {
            Some(key) => Ok(key),
            None => Err(ProxyError::Unauthorized(format!(
                "the JWT's key id (`kid`) is not in the identity provider's key set{}",
                if fetched { " (fetched again just now)" } else { " (refreshed recently; not fetched again yet)" }
            ))),
        }
    }

    /// Fetches the key set if `due` (checked, and allowed to record, under the fetch lock) says
    /// so; returns whether a fetch was made. A failed fetch keeps the old keys.
    async fn refresh_if(&self, due: impl Fn(&mut State, Instant) -> bool) -> bool {
        // A cheap check on a copy, recording nothing: most requests stop here.
        let mut probe = self.state.read().unwrap_or_else(|e| e.into_inner()).clone();
        if !due(&mut probe, Instant::now()) {
            return false;
        }
        let _guard = self.fetch_lock.lock().await;
        {
            let mut state = self.state.write().unwrap_or_else(|e| e.into_inner());
            if !due(&mut state, Instant::now()) {
                return false;
            }
            state.last_attempt = Instant::now();
        }
        self.fetches.fetch_add(1, Ordering::Relaxed);
        let result = fetch_json(&self.client, &self.url, self.options.max_document_bytes).await.and_then(|doc| parse_key_set(&doc));
        match result {
            Ok(keys) => {
                let mut state = self.state.write().unwrap_or_else(|e| e.into_inner());
                tracing::info!(url = %self.url, keys = keys.len(), "identity provider key set refreshed");
                state.keys = Arc::new(keys);
                state.fetched_at = Instant::now();
            }
            Err(e) => tracing::warn!(url = %self.url, error = %format!("{e:#}"), "cannot refresh the identity provider key set; keeping the known keys"),
        }
        true
    }
}

/// The key for `kid` among `keys`: by id, or the only key when the token has no `kid` (or the
/// set's only key has none).
fn pick(keys: &[VerifyKey], kid: Option<&str>) -> Result<Option<VerifyKey>, ProxyError> {
    match kid {
        // A set of one key without an id verifies every token (some providers omit `kid`).
        Some(kid) => Ok(keys.iter().find(|k| k.kid.as_deref() == Some(kid)).or(match keys {
            [only] if only.kid.is_none() => Some(only),
            _ => None,
        }).cloned()),
        None if keys.len() == 1 => Ok(Some(keys[0].clone())),
        None => Err(ProxyError::Unauthorized(format!(
            "the JWT has no key id (`kid`) header and the identity provider publishes {} keys: a `kid` is required",
            keys.len()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idp_urls_are_https_or_loopback_http_without_credentials() {
        for ok in ["https://idp.example/realms/x", "http://127.0.0.1:8080/jwks", "http://localhost/jwks", "http://[::1]:9/jwks"] {
            assert!(check_idp_url(ok, "--jwks-url").is_ok(), "{ok}");
        }
        for (bad, why) in [
            ("http://idp.example/jwks", "must use https"),
            ("http://127.0.0.2/jwks", "must use https"),
            ("ftp://idp.example/jwks", "has the scheme `ftp`"),
            ("https://u:p@idp.example/jwks", "user name or password"),
            ("not a url", "is not a URL"),
        ] {
            let err = check_idp_url(bad, "--jwks-url").unwrap_err();
            assert!(format!("{err:#}").contains(why), "{bad}: {err:#}");
        }
    }

    #[test]
    fn only_usable_signing_keys_are_kept() {
        let rsa = serde_json::json!({ "kty": "RSA", "kid": "r", "n": "sXchDaQebHnPiGvyDOAT4saGEUetSyo9MKLOoWFsueri23bOdgWp4Dy1WlUzewbgBHod5pcM9H95GQRV3JDXboIRROSBigeC5yjU1hGzHHyXss8UDprecbAYxknTcQkhslANGRUZmdTOQ5qTRsLAt6BTYuyvVRdhS8exSZEy_c4gs_7svlJJQ4H9_NxsiIoLwAEk7-Q3UXERGYw_75IDrGA84-lA_-Ct4eTlXHBIY2EaV7t7LjJaynVJCpkv4LKjTTAumiGUIuQhrNhZLuF_RJLqHpM2kgWFLU7-VTdL1VbC2tejvcI2BlMkEpk1BzBZI0KQB0GaDWFLN-aEAw3vRw", "e": "AQAB" });
        let mut enc = rsa.clone();
        enc["use"] = "enc".into();
        enc["kid"] = "e".into();
        let mut wrong_alg = rsa.clone();
        wrong_alg["alg"] = "ES256".into();
        wrong_alg["kid"] = "w".into();
        let oct = serde_json::json!({ "kty": "oct", "k": "c2VjcmV0", "kid": "o" });
        let p384 = serde_json::json!({ "kty": "EC", "crv": "P-384", "kid": "p", "x": "AAAA", "y": "AAAA" });
        let doc = serde_json::json!({ "keys": [enc, wrong_alg, oct, p384, {"kty": "weird"}, rsa] });
        let keys = parse_key_set(&doc).unwrap();
        assert_eq!(keys.iter().map(|k| (k.kid.clone(), k.kind)).collect::<Vec<_>>(), vec![(Some("r".to_owned()), KeyKind::Rsa)]);
        let err = parse_key_set(&serde_json::json!({ "keys": [oct_only()] })).unwrap_err();
        assert!(err.to_string().contains("no usable signing key"), "{err}");
        assert!(parse_key_set(&serde_json::json!({ "nokeys": [] })).is_err());
    }

    fn oct_only() -> Value {
        serde_json::json!({ "kty": "oct", "k": "c2VjcmV0" })
    }
}
