//! Shared helpers of the identity-provider tests: signing keys generated at test time (RSA
//! 2048, EC P-256, Ed25519 with `aws-lc-rs`), a fake OpenID provider (an axum server on
//! 127.0.0.1:0 serving a discovery document and a JSON Web Key Set it counts fetches of, whose
//! keys can be swapped mid-test), and token minting.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::signature::{EcdsaKeyPair, Ed25519KeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use axum::extract::State;
use axum::routing::get;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

/// A private key that signs tokens, and its public JWK (with `kid`).
#[derive(Clone)]
pub struct SigningKey {
    pub kid: String,
    pub alg: Algorithm,
    pub encoding: EncodingKey,
    pub jwk: Value,
    /// The public key as PEM (`-----BEGIN PUBLIC KEY-----`), for the algorithm-confusion test.
    pub public_pem: String,
}

fn pem(der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let lines: Vec<&str> = b64.as_bytes().chunks(64).map(|c| std::str::from_utf8(c).unwrap()).collect();
    format!("-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n", lines.join("\n"))
}

/// The `(tag, content)` of the DER element at the start of `der`, and the rest.
fn der_element(der: &[u8]) -> (u8, &[u8], &[u8]) {
    let tag = der[0];
    let (len, header) = match der[1] {
        n if n < 0x80 => (n as usize, 2),
        n => {
            let count = (n & 0x7f) as usize;
            (der[2..2 + count].iter().fold(0usize, |acc, b| (acc << 8) | *b as usize), 2 + count)
        }
    };
    (tag, &der[header..header + len], &der[header + len..])
}

/// The PKCS#1 `RSAPrivateKey` inside a PKCS#8 `PrivateKeyInfo` (what `EncodingKey::from_rsa_der`
/// takes).
fn pkcs1_from_pkcs8(pkcs8: &[u8]) -> Vec<u8> {
    let (_, info, _) = der_element(pkcs8);
    let (_, _version, rest) = der_element(info);
    let (_, _algorithm, rest) = der_element(rest);
    let (tag, key, _) = der_element(rest);
    assert_eq!(tag, 0x04, "PKCS#8 private key octet string");
    key.to_vec()
}

fn with_kid(mut jwk: Value, kid: &str, alg: &str) -> Value {
    jwk["kid"] = json!(kid);
    jwk["alg"] = json!(alg);
    jwk["use"] = json!("sig");
    jwk
}

/// A fresh RSA 2048 key for RS256.
pub fn rsa_key(kid: &str) -> SigningKey {
    let pair = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
    let pkcs8 = AsDer::<aws_lc_rs::encoding::Pkcs8V1Der>::as_der(&pair).unwrap();
    let encoding = EncodingKey::from_rsa_der(&pkcs1_from_pkcs8(pkcs8.as_ref()));
    let jwk = serde_json::to_value(Jwk::from_encoding_key(&encoding, Algorithm::RS256).unwrap()).unwrap();
    let spki = AsDer::<aws_lc_rs::encoding::PublicKeyX509Der>::as_der(pair.public_key()).unwrap();
    SigningKey { kid: kid.into(), alg: Algorithm::RS256, encoding, jwk: with_kid(jwk, kid, "RS256"), public_pem: pem(spki.as_ref()) }
}

/// A fresh EC P-256 key for ES256.
pub fn ec_key(kid: &str) -> SigningKey {
    let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).unwrap();
    let pkcs8 = pair.to_pkcs8v1().unwrap();
    let encoding = EncodingKey::from_ec_der(pkcs8.as_ref());
    let jwk = serde_json::to_value(Jwk::from_encoding_key(&encoding, Algorithm::ES256).unwrap()).unwrap();
    let spki = AsDer::<aws_lc_rs::encoding::PublicKeyX509Der>::as_der(pair.public_key()).unwrap();
    SigningKey { kid: kid.into(), alg: Algorithm::ES256, encoding, jwk: with_kid(jwk, kid, "ES256"), public_pem: pem(spki.as_ref()) }
}

/// A fresh Ed25519 key for EdDSA.
pub fn ed_key(kid: &str) -> SigningKey {
    let pair = Ed25519KeyPair::generate().unwrap();
    let pkcs8 = pair.to_pkcs8().unwrap();
    let encoding = EncodingKey::from_ed_der(pkcs8.as_ref());
    let x = URL_SAFE_NO_PAD.encode(pair.public_key().as_ref());
    let jwk = json!({ "kty": "OKP", "crv": "Ed25519", "x": x });
    let spki = AsDer::<aws_lc_rs::encoding::PublicKeyX509Der>::as_der(pair.public_key()).unwrap();
    SigningKey { kid: kid.into(), alg: Algorithm::EdDSA, encoding, jwk: with_kid(jwk, kid, "EdDSA"), public_pem: pem(spki.as_ref()) }
}

/// The fake OpenID provider.
#[derive(Clone)]
pub struct Idp {
    pub addr: SocketAddr,
    /// `http://127.0.0.1:PORT` (the discovery document names exactly this).
    pub issuer: String,
    keys: Arc<Mutex<Vec<Value>>>,
    fetches: Arc<AtomicUsize>,
}

impl Idp {
    /// Serves these keys' public halves from now on.
    pub fn set_keys(&self, keys: &[&SigningKey]) {
        *self.keys.lock().unwrap() = keys.iter().map(|k| k.jwk.clone()).collect();
    }
    /// Serves exactly this key set document's `keys` from now on.
    pub fn set_raw_keys(&self, keys: Vec<Value>) {
        *self.keys.lock().unwrap() = keys;
    }
    /// How many times the key set was fetched.
    pub fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }
    /// The key set's URL.
    pub fn jwks_url(&self) -> String {
        format!("{}/jwks", self.issuer)
    }
}

/// Starts the provider on 127.0.0.1:0 with `keys`; `discovery_issuer` overrides the `issuer`
/// its discovery document names (for the mismatch test).
pub async fn spawn_idp_with(keys: &[&SigningKey], discovery_issuer: Option<&str>) -> Idp {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let issuer = format!("http://127.0.0.1:{}", addr.port());
    let idp = Idp { addr, issuer: issuer.clone(), keys: Arc::default(), fetches: Arc::default() };
    idp.set_keys(keys);
    let named = discovery_issuer.unwrap_or(&issuer).to_owned();
    let discovery = json!({ "issuer": named, "jwks_uri": idp.jwks_url(), "id_token_signing_alg_values_supported": ["RS256", "ES256", "EdDSA"] });
    let app = axum::Router::new()
        .route("/.well-known/openid-configuration", get(move || async move { axum::Json(discovery) }))
        .route(
            "/jwks",
            get(|State(idp): State<Idp>| async move {
                idp.fetches.fetch_add(1, Ordering::SeqCst);
                let keys = idp.keys.lock().unwrap().clone();
                axum::Json(json!({ "keys": keys }))
            }),
        )
        .with_state(idp.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    idp
}

/// Starts the provider on 127.0.0.1:0 with `keys`.
pub async fn spawn_idp(keys: &[&SigningKey]) -> Idp {
    spawn_idp_with(keys, None).await
}

/// A token signed by `key`, with its `kid` in the header.
pub fn sign(key: &SigningKey, claims: &Value) -> String {
    let mut header = Header::new(key.alg);
    header.kid = Some(key.kid.clone());
    jsonwebtoken::encode(&header, claims, &key.encoding).unwrap()
}

/// A token signed by `key` with `header` as given.
pub fn sign_with(header: &Header, key: &EncodingKey, claims: &Value) -> String {
    jsonwebtoken::encode(header, claims, key).unwrap()
}

/// `header.claims.signature` written by hand (for headers `jsonwebtoken` cannot produce).
pub fn forge(header: &Value, claims: &Value, signature: &str) -> String {
    format!("{}.{}.{signature}", URL_SAFE_NO_PAD.encode(header.to_string()), URL_SAFE_NO_PAD.encode(claims.to_string()))
}

pub fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
}
