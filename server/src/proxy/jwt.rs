//! Checking a JWT: its header (algorithm, key id, no embedded keys), its signature, and its
//! claims (`exp`, `nbf`, `iat`, lifetime, `iss`, `aud`, `sub`), with one precise message per
//! refusal. The token itself never appears in a message.
//!
//! Which key verifies a token is decided by the proxy's configuration, never by the token: an
//! HS256 token is checked only against the HS256 secrets, an RS256 / ES256 / EdDSA token only
//! against an identity provider key of the matching kind (so the classic "HS256 signed with the
//! RSA public key" confusion cannot verify), and header fields naming a key (`jku`, `x5u`,
//! `jwk`, `x5c`) are refused.

use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Map, Value};

use super::auth::{JWT_LEEWAY_SECS, STATIC_TOKEN_ISSUER};
use super::error::ProxyError;

/// Default longest accepted token lifetime (`exp - iat`): 12 hours.
pub const DEFAULT_MAX_LIFETIME: Duration = Duration::from_secs(12 * 3600);

/// The claims every accepted JWT of one kind (HS256, or identity provider) must satisfy.
#[derive(Debug, Clone)]
pub struct JwtRules {
    /// The `iss` the token must carry, if any.
    pub issuer: Option<String>,
    /// The token's `aud` must name one of these (none: `aud` is not checked).
    pub audiences: Vec<String>,
    /// Longest accepted `exp - iat` (or `exp - now` for a token without `iat`).
    pub max_lifetime: Duration,
    /// Whether `iat` is required (it is for identity provider tokens).
    pub require_iat: bool,
}

impl Default for JwtRules {
    fn default() -> Self {
        Self { issuer: None, audiences: Vec::new(), max_lifetime: DEFAULT_MAX_LIFETIME, require_iat: false }
    }
}

/// What the proxy reads from a JWT header.
#[derive(Debug, Clone)]
pub struct JwtHeader {
    /// The algorithm (one the proxy accepts).
    pub alg: Algorithm,
    /// The key id, if any.
    pub kid: Option<String>,
}

fn refuse(message: impl Into<String>) -> ProxyError {
    ProxyError::Unauthorized(message.into())
}

/// Message for a bearer token that is no static token and not shaped like a JWT.
pub const NOT_A_JWT: &str = "the bearer token is neither a known token nor a valid JWT";

/// Reads and checks the header of `token` (without verifying anything else).
pub fn read_header(token: &str) -> Result<JwtHeader, ProxyError> {
    let mut parts = token.split('.');
    let (Some(head), Some(_), Some(_), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(refuse(NOT_A_JWT));
    };
    let bytes = URL_SAFE_NO_PAD.decode(head).map_err(|_| refuse(NOT_A_JWT))?;
    let header: Map<String, Value> = serde_json::from_slice(&bytes).map_err(|_| refuse("the JWT header is not a JSON object"))?;
    let alg = header.get("alg").and_then(Value::as_str).ok_or_else(|| refuse("the JWT header has no `alg`"))?;
    if alg.eq_ignore_ascii_case("none") {
        return Err(refuse("unsigned JWTs (`alg: none`) are refused"));
    }
    for field in ["jku", "x5u", "jwk", "x5c"] {
        if header.contains_key(field) {
            return Err(refuse(format!(
                "the JWT header carries `{field}`: keys come only from the proxy's configuration, never from the token"
            )));
        }
    }
    if header.contains_key("crit") {
        return Err(refuse("the JWT header lists `crit` extensions, which this proxy does not support"));
    }
    let alg = match alg {
        "HS256" => Algorithm::HS256,
        "RS256" => Algorithm::RS256,
        "ES256" => Algorithm::ES256,
        "EdDSA" => Algorithm::EdDSA,
        _ => return Err(refuse("the JWT algorithm is not accepted: use RS256, ES256 or EdDSA (identity provider) or HS256 (portal secret)")),
    };
    let kid = match header.get("kid") {
        None => None,
        Some(Value::String(kid)) => Some(kid.clone()),
        Some(_) => return Err(refuse("the JWT `kid` header is not a string")),
    };
    Ok(JwtHeader { alg, kid })
}

/// Verifies the signature of `token` with `key` for `alg`, and its `exp` (required) and `nbf`
/// with [`JWT_LEEWAY_SECS`]; returns the claims.
pub fn verify_signature(token: &str, alg: Algorithm, key: &DecodingKey) -> Result<Map<String, Value>, jsonwebtoken::errors::Error> {
    let mut validation = Validation::new(alg);
    validation.set_required_spec_claims(&["exp"]);
    validation.leeway = JWT_LEEWAY_SECS;
    validation.validate_exp = true;
    validation.validate_nbf = true;
    // `aud` and `iss` are checked by `check_claims`, with precise messages.
    validation.validate_aud = false;
    jsonwebtoken::decode::<Map<String, Value>>(token, key, &validation).map(|data| data.claims)
}

/// The refusal for a [`verify_signature`] error.
pub fn refusal(kind: &ErrorKind, from_idp: bool) -> ProxyError {
    refuse(match kind {
        ErrorKind::ExpiredSignature => "the JWT has expired",
        ErrorKind::ImmatureSignature => "the JWT is not valid yet (its `nbf` is in the future)",
        ErrorKind::InvalidSignature if from_idp => "the JWT signature does not match the identity provider's key",
        ErrorKind::InvalidSignature => "the JWT signature does not match",
        ErrorKind::InvalidAlgorithm => "the JWT's algorithm does not match its key",
        ErrorKind::MissingRequiredClaim(_) => "the JWT lacks a required claim (`sub`, `exp`, `stores`)",
        ErrorKind::InvalidClaimFormat(c) if c == "exp" => "the JWT `exp` claim is not a number of seconds",
        ErrorKind::InvalidClaimFormat(c) if c == "nbf" => "the JWT `nbf` claim is not a number of seconds",
        ErrorKind::Json(_) | ErrorKind::InvalidClaimFormat(_) => "the JWT claims are malformed (need `sub`, `exp`, `stores`)",
        ErrorKind::InvalidRsaKey(_) | ErrorKind::InvalidEcdsaKey | ErrorKind::InvalidEddsaKey | ErrorKind::InvalidKeyFormat => {
            "the identity provider's key cannot verify this JWT"
        }
        _ => NOT_A_JWT,
    })
}

/// A numeric claim as whole seconds (`None` when absent; an error when not a number ≥ 0).
fn seconds(claims: &Map<String, Value>, name: &str) -> Result<Option<u64>, ProxyError> {
    match claims.get(name) {
        None => Ok(None),
        Some(v) => v
            .as_u64()
            .or_else(|| v.as_f64().filter(|f| f.is_finite() && *f >= 0.0 && *f < u64::MAX as f64).map(|f| f as u64))
            .map(Some)
            .ok_or_else(|| refuse(format!("the JWT `{name}` claim is not a number of seconds"))),
    }
}

/// Checks the claims of a verified token against `rules` at `now` (seconds since the epoch):
/// `sub`, `iss`, `aud`, `iat` and the lifetime. `exp` and `nbf` were checked with the signature.
pub fn check_claims(claims: &Map<String, Value>, rules: &JwtRules, now: u64) -> Result<(), ProxyError> {
    match claims.get("sub") {
        Some(Value::String(s)) if !s.is_empty() => {}
        Some(Value::String(_)) => return Err(refuse("the JWT has an empty `sub` claim")),
        Some(_) => return Err(refuse("the JWT `sub` claim is not a string")),
        None => return Err(refuse("the JWT lacks a required claim (`sub`)")),
    }
    let iss = match claims.get("iss") {
        None => None,
        Some(Value::String(s)) => Some(s.as_str()),
        Some(_) => return Err(refuse("the JWT `iss` claim is not a string")),
    };
    if iss == Some(STATIC_TOKEN_ISSUER) {
        return Err(refuse("the JWT claims the issuer reserved for static tokens"));
    }
    if let Some(expected) = &rules.issuer {
        match iss {
            None => return Err(refuse(format!("the JWT has no `iss` claim; this proxy accepts tokens issued by {expected}"))),
            Some(iss) if iss != expected => {
                return Err(refuse(format!("the JWT's issuer (`iss`) is not the one this proxy trusts ({expected})")));
            }
            Some(_) => {}
        }
    }
    if !rules.audiences.is_empty() {
        check_audience(claims, &rules.audiences)?;
    }
    let exp = seconds(claims, "exp")?.ok_or_else(|| refuse("the JWT lacks a required claim (`exp`)"))?;
    let max = rules.max_lifetime.as_secs();
    match seconds(claims, "iat")? {
        Some(iat) => {
            if iat > now.saturating_add(JWT_LEEWAY_SECS) {
                return Err(refuse("the JWT was issued in the future (its `iat` is after now)"));
            }
            let lifetime = exp.saturating_sub(iat);
            if lifetime > max {
                return Err(refuse(format!(
                    "the JWT is valid for {lifetime} s (`exp` - `iat`), longer than this proxy accepts ({max} s, --jwt-max-lifetime)"
                )));
            }
        }
        None if rules.require_iat => return Err(refuse("the JWT has no `iat` claim; identity provider tokens must say when they were issued")),
        None => {
            let left = exp.saturating_sub(now);
            if left > max {
                return Err(refuse(format!(
                    "the JWT has no `iat` and stays valid for {left} s, longer than this proxy accepts ({max} s, --jwt-max-lifetime)"
                )));
            }
        }
    }
    Ok(())
}

/// `aud` (a string or an array of strings) must name one of `audiences`. An Amazon Cognito
/// access token has no `aud`: its `client_id` is checked instead (`token_use: "access"`).
fn check_audience(claims: &Map<String, Value>, audiences: &[String]) -> Result<(), ProxyError> {
    let accepted = |s: &str| audiences.iter().any(|a| a == s);
    let found = match claims.get("aud") {
        Some(Value::String(a)) => accepted(a),
        Some(Value::Array(list)) => {
            if !list.iter().all(Value::is_string) {
                return Err(refuse("the JWT `aud` claim must be a string or an array of strings"));
            }
            list.iter().filter_map(Value::as_str).any(accepted)
        }
        Some(_) => return Err(refuse("the JWT `aud` claim must be a string or an array of strings")),
        None => match (claims.get("token_use").and_then(Value::as_str), claims.get("client_id").and_then(Value::as_str)) {
            (Some("access"), Some(client_id)) => accepted(client_id),
            _ => return Err(refuse("the JWT has no `aud` claim; this proxy requires one of its --jwt-audience values")),
        },
    };
    if found {
        Ok(())
    } else {
        Err(refuse("the JWT's audience (`aud`) is not one this proxy accepts (--jwt-audience)"))
    }
}

/// A claim that must be absent or an array of strings (`stores`, `projects`).
pub fn string_list(claims: &Map<String, Value>, name: &str) -> Result<Option<Vec<String>>, ProxyError> {
    match claims.get(name) {
        None => Ok(None),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| v.as_str().map(str::to_owned))
            .collect::<Option<Vec<_>>>()
            .map(Some)
            .ok_or_else(|| refuse(format!("the JWT `{name}` claim must be an array of strings"))),
        Some(_) => Err(refuse(format!("the JWT `{name}` claim must be an array of strings"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(header: &str) -> String {
        format!("{}.e30.AAAA", URL_SAFE_NO_PAD.encode(header))
    }

    fn refused(header: &str) -> String {
        read_header(&token(header)).unwrap_err().message().to_owned()
    }

    #[test]
    fn headers_naming_keys_or_odd_algorithms_are_refused() {
        assert_eq!(refused(r#"{"alg":"nOnE"}"#), "unsigned JWTs (`alg: none`) are refused");
        for field in ["jku", "x5u", "jwk", "x5c"] {
            assert!(refused(&format!(r#"{{"alg":"RS256","{field}":"x"}}"#)).contains(&format!("carries `{field}`")));
        }
        assert!(refused(r#"{"alg":"RS256","crit":["b64"]}"#).contains("`crit`"));
        assert_eq!(refused(r#"{"alg":"RS256","kid":7}"#), "the JWT `kid` header is not a string");
        assert_eq!(refused(r#"{"typ":"JWT"}"#), "the JWT header has no `alg`");
        assert!(refused(r#"{"alg":"PS256"}"#).starts_with("the JWT algorithm is not accepted"));
        assert_eq!(refused("[1]"), "the JWT header is not a JSON object");
        assert_eq!(read_header("a.b").unwrap_err().message(), NOT_A_JWT);
        let h = read_header(&token(r#"{"alg":"EdDSA","kid":"k"}"#)).unwrap();
        assert_eq!((h.alg, h.kid.as_deref()), (Algorithm::EdDSA, Some("k")));
    }
}
