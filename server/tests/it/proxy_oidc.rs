//! Identity provider tokens through a real proxy in front of the real local store: a fake
//! OpenID provider on 127.0.0.1:0 serves keys generated at test time; RS256, ES256 and EdDSA
//! tokens reach the store, every malformed or hostile token is refused with its own 401
//! message and creates nothing, a key rotation is picked up without a restart, and a flood of
//! unknown key ids causes at most one fetch of the key set.

use crate::oidc_common;
use crate::store_common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::http::{HeaderMap, HeaderValue};
use clap::Parser;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use oidc_common::*;
use readset_server::proxy::auth::HS256_ISSUER;
use readset_server::proxy::jwks::{JwksOptions, JwksSource};
use readset_server::proxy::{self, Authenticator, JwtRules, ProxyArgs, ProxyConfig};
use readset_server::local::omics::{DEFAULT_ACCESS_KEY_ID, DEFAULT_SECRET_ACCESS_KEY, REGION};
use serde_json::{json, Value};

const AUD: &str = "readset-proxy";
const HS_SECRET: &[u8] = b"oidc-tests-hs256-secret-0123456789abcdef";
const HS_SECRET_NEW: &[u8] = b"oidc-tests-hs256-secret-rotated-0123456789";

struct Setup {
    _dir: tempfile::TempDir,
    _store: store_common::TestStore,
    store: SocketAddr,
    proxy: SocketAddr,
    store_id: String,
}

/// The local store with one sequence store, and the proxy with `auth` in front of it.
async fn setup(auth: Authenticator) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let store = store_common::spawn(dir.path()).await;
    let addr = store.addr;
    let store_id = store_common::client(addr).create_sequence_store().name("oidc").send().await.unwrap().id().to_string();
    let config = ProxyConfig::local_store(&format!("http://{addr}"), REGION, DEFAULT_ACCESS_KEY_ID, DEFAULT_SECRET_ACCESS_KEY, auth).unwrap();
    let app = proxy::app(config).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let proxy = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Setup { _dir: dir, _store: store, store: addr, proxy, store_id }
}

/// An authenticator for `idp` (discovered) with `options`, plus the HS256 secret.
async fn idp_auth(idp: &Idp, options: JwksOptions) -> (Authenticator, Arc<JwksSource>) {
    let (issuer, source) = JwksSource::discover(&idp.issuer, options).await.unwrap();
    assert_eq!(issuer, idp.issuer);
    let source = Arc::new(source);
    let rules = JwtRules { issuer: Some(issuer), audiences: vec![AUD.into()], ..JwtRules::default() };
    let auth = Authenticator::new().with_jwt_secret(HS_SECRET).unwrap().with_identity_provider(source.clone(), rules).unwrap();
    (auth, source)
}

/// Good claims for `idp`'s tokens, allowed on `stores`.
fn claims(idp: &Idp, stores: &[&str]) -> Value {
    json!({ "iss": idp.issuer, "aud": AUD, "sub": "user-1", "iat": now(), "exp": now() + 600, "stores": stores })
}

fn with(mut claims: Value, changes: Value) -> Value {
    for (k, v) in changes.as_object().unwrap() {
        if v.is_null() {
            claims.as_object_mut().unwrap().remove(k);
        } else {
            claims[k] = v.clone();
        }
    }
    claims
}

struct Answer {
    status: u16,
    error_type: String,
    message: String,
    body: String,
}

async fn call(method: reqwest::Method, url: String, token: &str, body: Option<Value>) -> Answer {
    let mut req = reqwest::Client::new().request(method, url).bearer_auth(token).timeout(Duration::from_secs(20));
    if let Some(body) = body {
        req = req.header("content-type", "application/json").body(body.to_string());
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let error_type = res.headers().get("x-amzn-ErrorType").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let body = res.text().await.unwrap();
    let message = serde_json::from_str::<Value>(&body).ok().and_then(|v| v["message"].as_str().map(str::to_owned)).unwrap_or_default();
    Answer { status, error_type, message, body }
}

/// GetSequenceStore through the proxy.
async fn get_store(s: &Setup, token: &str) -> Answer {
    call(reqwest::Method::GET, format!("http://{}/omics/sequencestore/{}", s.proxy, s.store_id), token, None).await
}

/// CreateMultipartReadSetUpload through the proxy.
async fn create_upload(s: &Setup, token: &str) -> Answer {
    let body = json!({ "sourceFileType": "FASTQ", "subjectId": "s", "sampleId": "x", "name": "n" });
    call(reqwest::Method::POST, format!("http://{}/omics/sequencestore/{}/upload", s.proxy, s.store_id), token, Some(body)).await
}

async fn uploads_in_store(s: &Setup) -> usize {
    let out = store_common::client(s.store).list_multipart_read_set_uploads().sequence_store_id(&s.store_id).send().await.unwrap();
    out.uploads().len()
}

fn bearer(token: &str) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert("authorization", HeaderValue::from_str(&format!("Bearer {token}")).unwrap());
    h
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rs256_es256_and_eddsa_tokens_reach_the_store() {
    let (rsa, ec, ed) = (rsa_key("rsa-1"), ec_key("ec-1"), ed_key("ed-1"));
    let idp = spawn_idp(&[&rsa, &ec, &ed]).await;
    let (auth, _) = idp_auth(&idp, JwksOptions::default()).await;
    let s = setup(auth).await;
    for key in [&rsa, &ec, &ed] {
        let answer = get_store(&s, &sign(key, &claims(&idp, &[&s.store_id]))).await;
        assert_eq!(answer.status, 200, "{:?}: {}", key.alg, answer.body);
        assert!(answer.body.contains(&s.store_id), "{}", answer.body);
    }
    let answer = create_upload(&s, &sign(&ec, &claims(&idp, &[&s.store_id]))).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(uploads_in_store(&s).await, 1);
    assert_eq!(idp.fetches(), 1, "known keys need no fetch");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_refused_token_gets_its_precise_401_and_creates_nothing() {
    let (rsa, ec, ed) = (rsa_key("rsa-1"), ec_key("ec-1"), ed_key("ed-1"));
    let idp = spawn_idp(&[&rsa, &ec, &ed]).await;
    let (auth, _) = idp_auth(&idp, JwksOptions::default()).await;
    let s = setup(auth).await;
    let good = claims(&idp, &[&s.store_id]);
    let iss = idp.issuer.clone();
    let n = now();

    let mut ec_with_rsa_kid = Header::new(Algorithm::ES256);
    ec_with_rsa_kid.kid = Some(rsa.kid.clone());
    // The classic confusion: HS256 "signed" with the RSA public key as the HMAC secret.
    let mut hs_rsa_kid = Header::new(Algorithm::HS256);
    hs_rsa_kid.kid = Some(rsa.kid.clone());
    let pem_secret = EncodingKey::from_secret(rsa.public_pem.as_bytes());
    let impostor = rsa_key("rsa-1");
    let mut no_kid = Header::new(Algorithm::RS256);
    no_kid.kid = None;
    let mut jku = Header::new(Algorithm::RS256);
    jku.kid = Some(rsa.kid.clone());
    jku.jku = Some(idp.jwks_url());
    let mut unknown_kid = Header::new(Algorithm::RS256);
    unknown_kid.kid = Some("no-such-key".into());

    let cases: Vec<(&str, String, String)> = vec![
        ("wrong iss", sign(&rsa, &with(good.clone(), json!({"iss": "https://evil.example"}))), format!("the JWT's issuer (`iss`) is not the one this proxy trusts ({iss})")),
        ("no iss", sign(&rsa, &with(good.clone(), json!({"iss": null}))), format!("the JWT has no `iss` claim; this proxy accepts tokens issued by {iss}")),
        ("wrong aud", sign(&ec, &with(good.clone(), json!({"aud": ["other-app", "account"]}))), "the JWT's audience (`aud`) is not one this proxy accepts (--jwt-audience)".into()),
        ("no aud", sign(&ec, &with(good.clone(), json!({"aud": null}))), "the JWT has no `aud` claim; this proxy requires one of its --jwt-audience values".into()),
        ("future nbf", sign(&rsa, &with(good.clone(), json!({"nbf": n + 3600}))), "the JWT is not valid yet (its `nbf` is in the future)".into()),
        ("expired", sign(&ed, &with(good.clone(), json!({"iat": n - 7200, "exp": n - 3600}))), "the JWT has expired".into()),
        ("too long lifetime", sign(&rsa, &with(good.clone(), json!({"iat": n, "exp": n + 13 * 3600}))), "the JWT is valid for 46800 s (`exp` - `iat`), longer than this proxy accepts (43200 s, --jwt-max-lifetime)".into()),
        ("no iat", sign(&rsa, &with(good.clone(), json!({"iat": null}))), "the JWT has no `iat` claim; identity provider tokens must say when they were issued".into()),
        ("iat in the future", sign(&rsa, &with(good.clone(), json!({"iat": n + 3600, "exp": n + 4000}))), "the JWT was issued in the future (its `iat` is after now)".into()),
        ("no sub", sign(&rsa, &with(good.clone(), json!({"sub": null}))), "the JWT lacks a required claim (`sub`)".into()),
        ("wrong alg for the key", sign_with(&ec_with_rsa_kid, &ec.encoding, &good), "the JWT says ES256 but its key is an RSA key, which verifies RS256 only".into()),
        ("HS256 with the RSA public key, kid of the RSA key", sign_with(&hs_rsa_kid, &pem_secret, &good), "the JWT says HS256 but its key id names an identity provider RSA key: refused (algorithm confusion)".into()),
        ("HS256 with the RSA public key, no kid", sign_with(&Header::new(Algorithm::HS256), &pem_secret, &good), "the JWT signature does not match".into()),
        ("alg none", forge(&json!({"alg": "none", "typ": "JWT"}), &good, ""), "unsigned JWTs (`alg: none`) are refused".into()),
        ("alg NONE, with kid", forge(&json!({"alg": "NONE", "kid": rsa.kid}), &good, ""), "unsigned JWTs (`alg: none`) are refused".into()),
        ("bad signature (another key, same kid)", sign(&impostor, &good), "the JWT signature does not match the identity provider's key".into()),
        ("jku header", sign_with(&jku, &rsa.encoding, &good), "the JWT header carries `jku`: keys come only from the proxy's configuration, never from the token".into()),
        ("embedded jwk", forge(&json!({"alg": "RS256", "kid": rsa.kid, "jwk": impostor.jwk}), &good, "AAAA"), "the JWT header carries `jwk`: keys come only from the proxy's configuration, never from the token".into()),
        ("no kid, three keys", sign_with(&no_kid, &rsa.encoding, &good), "the JWT has no key id (`kid`) header and the identity provider publishes 3 keys: a `kid` is required".into()),
        ("RS512", sign_with(&Header::new(Algorithm::RS512), &rsa.encoding, &good), "the JWT algorithm is not accepted: use RS256, ES256 or EdDSA (identity provider) or HS256 (portal secret)".into()),
        ("stores not a list", sign(&rsa, &with(good.clone(), json!({"stores": "*"}))), "the JWT `stores` claim must be an array of strings".into()),
        // Last: it makes the one allowed key set fetch.
        ("unknown kid", sign_with(&unknown_kid, &rsa.encoding, &good), "the JWT's key id (`kid`) is not in the identity provider's key set (fetched again just now)".into()),
        ("second unknown kid", sign_with(&unknown_kid, &rsa.encoding, &good), "the JWT's key id (`kid`) is not in the identity provider's key set (refreshed recently; not fetched again yet)".into()),
    ];
    let mut failures = Vec::new();
    for (name, token, expected) in &cases {
        let fetches = idp.fetches();
        let answer = create_upload(&s, token).await;
        if (answer.status, answer.error_type.as_str(), answer.message.as_str()) != (401, "UnauthorizedException", expected.as_str()) {
            failures.push(format!("{name}: {} {} {:?}", answer.status, answer.error_type, answer.message));
        }
        if answer.body.contains(token.as_str()) || answer.body.contains(token.split('.').nth(1).unwrap_or("-")) {
            failures.push(format!("{name}: the answer echoes the token"));
        }
        if *name != "unknown kid" && idp.fetches() != fetches {
            failures.push(format!("{name}: the key set was fetched"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(idp.fetches(), 2, "the start, then one fetch for the unknown kid");
    assert_eq!(uploads_in_store(&s).await, 0, "a refused token created an upload");
    // The same request with a good token works (the refusals were for the tokens).
    let answer = create_upload(&s, &sign(&rsa, &good)).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(uploads_in_store(&s).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_rotation_needs_no_restart_and_a_flood_of_unknown_kids_fetches_once() {
    let (old, new) = (rsa_key("2026-old"), ec_key("2026-new"));
    let idp = spawn_idp(&[&old]).await;
    let (auth, source) = idp_auth(&idp, JwksOptions::default()).await;
    let s = setup(auth).await;
    assert_eq!((idp.fetches(), source.fetch_count()), (1, 1));
    assert_eq!(get_store(&s, &sign(&old, &claims(&idp, &[&s.store_id]))).await.status, 200);

    // The provider rotates: the new key appears, the old one is withdrawn.
    idp.set_keys(&[&new]);
    let answer = get_store(&s, &sign(&new, &claims(&idp, &[&s.store_id]))).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(idp.fetches(), 2, "the unknown kid made one fetch");

    // The withdrawn key no longer verifies anything.
    let answer = get_store(&s, &sign(&old, &claims(&idp, &[&s.store_id]))).await;
    assert_eq!((answer.status, answer.message.as_str()), (401, "the JWT's key id (`kid`) is not in the identity provider's key set (refreshed recently; not fetched again yet)"));

    // A flood of random key ids: refused, and no fetch (one was made less than 30 s ago).
    let flood: Vec<_> = (0..40)
        .map(|i| {
            let mut header = Header::new(Algorithm::ES256);
            header.kid = Some(format!("random-{i}-{}", uuid::Uuid::new_v4()));
            let token = sign_with(&header, &new.encoding, &claims(&idp, &[&s.store_id]));
            let url = format!("http://{}/omics/sequencestore/{}", s.proxy, s.store_id);
            tokio::spawn(async move { call(reqwest::Method::GET, url, &token, None).await.status })
        })
        .collect();
    for task in flood {
        assert_eq!(task.await.unwrap(), 401);
    }
    assert_eq!((idp.fetches(), source.fetch_count()), (2, 2), "the flood made no fetch");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_unknown_kids_make_a_single_fetch() {
    let key = ed_key("only");
    let idp = spawn_idp(&[&key]).await;
    let (auth, _) = idp_auth(&idp, JwksOptions::default()).await;
    let tasks: Vec<_> = (0..30)
        .map(|i| {
            let auth = auth.clone();
            let mut header = Header::new(Algorithm::EdDSA);
            header.kid = Some(format!("random-{i}"));
            let token = sign_with(&header, &key.encoding, &claims(&idp, &["1234567890"]));
            tokio::spawn(async move { auth.authenticate(&bearer(&token)).await.unwrap_err().message().to_owned() })
        })
        .collect();
    for task in tasks {
        assert!(task.await.unwrap().starts_with("the JWT's key id (`kid`) is not in the identity provider's key set"));
    }
    assert_eq!(idp.fetches(), 2, "the start and exactly one refresh");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_key_set_is_refreshed_on_schedule_and_a_failed_refresh_keeps_the_keys() {
    let key = rsa_key("k1");
    let idp = spawn_idp(&[&key]).await;
    // Due at every request, no gap: each request refreshes.
    let options = JwksOptions { refresh_every: Duration::ZERO, min_refresh_gap: Duration::ZERO, ..JwksOptions::default() };
    let (auth, _) = idp_auth(&idp, options).await;
    let token = sign(&key, &claims(&idp, &["1234567890"]));
    for i in 0..3 {
        auth.authenticate(&bearer(&token)).await.unwrap();
        assert_eq!(idp.fetches(), 2 + i, "one scheduled fetch per request");
    }
    // The provider now serves a set with no usable key (an `oct` secret, an `enc` key): the
    // refresh fails and the known key keeps working.
    let mut enc = key.jwk.clone();
    enc["use"] = json!("enc");
    idp.set_raw_keys(vec![json!({"kty": "oct", "k": "c2VjcmV0", "kid": "k1"}), enc]);
    let principal = auth.authenticate(&bearer(&token)).await.unwrap();
    assert_eq!(principal.sub, "user-1");
    assert_eq!(idp.fetches(), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cognito_auth0_and_keycloak_tokens_are_accepted_with_all_their_claims() {
    let key = rsa_key("idp");
    let idp = spawn_idp(&[&key]).await;
    let (auth, _) = idp_auth(&idp, JwksOptions::default()).await;
    let n = now();
    let iss = idp.issuer.clone();
    let cognito_id = json!({ "iss": iss, "aud": AUD, "sub": "c0ffee", "iat": n, "exp": n + 3600, "token_use": "id",
        "cognito:groups": ["lab-a", "uploaders"], "cognito:username": "alice", "email": "alice@hospital.example" });
    let cognito_access = json!({ "iss": iss, "client_id": AUD, "sub": "c0ffee", "iat": n, "exp": n + 3600, "token_use": "access",
        "scope": "openid", "cognito:groups": ["lab-a"] });
    let auth0 = json!({ "iss": iss, "aud": [AUD, "https://tenant.example/userinfo"], "sub": "auth0|42", "iat": n, "exp": n + 3600,
        "azp": "spa", "https://portal.example/groups": ["oncology"] });
    let keycloak = json!({ "iss": iss, "aud": ["account", AUD], "sub": "f:123:bob", "iat": n, "exp": n + 300, "typ": "Bearer",
        "realm_access": { "roles": ["uploader", "offline_access"] }, "groups": ["/lab-b"], "preferred_username": "bob" });
    for (name, claims, claim) in [
        ("cognito id token", &cognito_id, "cognito:groups"),
        ("cognito access token", &cognito_access, "cognito:groups"),
        ("auth0", &auth0, "https://portal.example/groups"),
        ("keycloak", &keycloak, "realm_access"),
    ] {
        let (principal, seen) = auth.authenticate_with_claims(&bearer(&sign(&key, claims))).await.unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(principal.issuer, iss, "{name}");
        assert_eq!(principal.sub, claims["sub"].as_str().unwrap(), "{name}");
        assert_eq!(&Value::Object(seen.clone()), claims, "{name}: the policy sees every claim");
        assert_eq!(seen[claim], claims[claim], "{name}");
        assert_eq!(principal.stores, proxy::StoreScope::Only(vec![]), "{name}: no `stores` claim, no store");
    }
    // A Cognito access token for another app client is refused.
    let other = with(cognito_access.clone(), json!({"client_id": "another-client"}));
    let err = auth.authenticate(&bearer(&sign(&key, &other))).await.unwrap_err();
    assert_eq!(err.message(), "the JWT's audience (`aud`) is not one this proxy accepts (--jwt-audience)");
    // Through the proxy: authenticated, but without a grant the store is refused (403).
    let s = setup(auth).await;
    let answer = get_store(&s, &sign(&key, &keycloak)).await;
    assert_eq!((answer.status, answer.error_type.as_str()), (403, "AccessDeniedException"), "{}", answer.body);
    assert_eq!(answer.message, format!("this token does not allow sequence store {}", s.store_id));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_hs256_secrets_and_their_iss_aud_checks() {
    let rules = JwtRules { issuer: Some("https://portal.example".into()), audiences: vec![AUD.into()], ..JwtRules::default() };
    let auth = Authenticator::new().with_jwt_secret(HS_SECRET).unwrap().with_jwt_secret(HS_SECRET_NEW).unwrap();
    let hs = |secret: &[u8], claims: &Value| jsonwebtoken::encode(&Header::default(), claims, &EncodingKey::from_secret(secret)).unwrap();
    let n = now();
    let plain = json!({ "sub": "alice", "exp": n + 600, "stores": ["*"] });
    for secret in [HS_SECRET, HS_SECRET_NEW] {
        let p = auth.authenticate(&bearer(&hs(secret, &plain))).await.unwrap();
        assert_eq!((p.issuer.as_str(), p.sub.as_str()), (HS256_ISSUER, "alice"));
    }
    let err = auth.authenticate(&bearer(&hs(b"a-third-secret-nobody-configured-0123456789", &plain))).await.unwrap_err();
    assert_eq!(err.message(), "the JWT signature does not match");
    let err = auth.authenticate(&bearer(&hs(HS_SECRET, &with(plain.clone(), json!({"exp": n + 86_400}))))).await.unwrap_err();
    assert_eq!(err.message(), "the JWT has no `iat` and stays valid for 86400 s, longer than this proxy accepts (43200 s, --jwt-max-lifetime)");
    let err = auth.authenticate(&bearer(&hs(HS_SECRET, &with(plain.clone(), json!({"stores": null}))))).await.unwrap_err();
    assert_eq!(err.message(), "the JWT lacks a required claim (`stores`)");
    let err = auth.authenticate(&bearer(&sign(&rsa_key("k"), &plain))).await.unwrap_err();
    assert_eq!(err.message(), "RS256 JWTs are not accepted here: no identity provider is configured (--oidc-issuer or --jwks-url)");

    let auth = auth.with_hs256_rules(rules);
    let good = with(plain.clone(), json!({ "iss": "https://portal.example", "aud": AUD }));
    let p = auth.authenticate(&bearer(&hs(HS_SECRET_NEW, &good))).await.unwrap();
    assert_eq!(p.issuer, "https://portal.example");
    let err = auth.authenticate(&bearer(&hs(HS_SECRET, &plain))).await.unwrap_err();
    assert_eq!(err.message(), "the JWT has no `iss` claim; this proxy accepts tokens issued by https://portal.example");
    let err = auth.authenticate(&bearer(&hs(HS_SECRET, &with(good.clone(), json!({"aud": "x"}))))).await.unwrap_err();
    assert_eq!(err.message(), "the JWT's audience (`aud`) is not one this proxy accepts (--jwt-audience)");
}

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    args: ProxyArgs,
}

fn parse(flags: &[&str]) -> ProxyArgs {
    Cli::try_parse_from([&["proxy"], flags].concat()).unwrap().args
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_flags_configure_the_identity_provider_or_say_what_is_wrong() {
    let key = ec_key("k");
    let idp = spawn_idp(&[&key]).await;
    let liar = spawn_idp_with(&[&key], Some("https://someone-else.example")).await;
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let jwks = idp.jwks_url();
    let bad_issuer = format!("http://{closed}");
    let cases: Vec<(Vec<&str>, String)> = vec![
        (vec!["--oidc-issuer", &idp.issuer], "--oidc-issuer / --jwks-url need --jwt-audience".into()),
        (vec!["--jwks-url", &jwks, "--jwt-audience", AUD], "--jwks-url needs --jwt-issuer".into()),
        (vec!["--oidc-issuer", &liar.issuer, "--jwt-audience", AUD], "names the issuer `https://someone-else.example`".into()),
        (vec!["--oidc-issuer", "http://idp.example", "--jwt-audience", AUD], "must use https".into()),
        (vec!["--oidc-issuer", &bad_issuer, "--jwt-audience", AUD], "cannot fetch".into()),
        (vec!["--jwks-url", "https://user:pw@idp.example/jwks", "--jwt-issuer", "x", "--jwt-audience", AUD], "must not contain a user name or password".into()),
    ];
    for (flags, expected) in cases {
        let err = ProxyConfig::from_args(&parse(&flags)).await.expect_err(&expected);
        assert!(format!("{err:#}").contains(&expected), "{flags:?}: {err:#}");
    }
    assert!(Cli::try_parse_from(["proxy", "--jwt-max-lifetime", "12 parsecs"]).is_err());
    assert!(Cli::try_parse_from(["proxy", "--oidc-issuer", "https://a.example", "--jwks-url", "https://a.example/k"]).is_err());

    // Both ways that work: discovery, and a bare key set URL with its issuer.
    let s_id;
    {
        let config = ProxyConfig::from_args(&parse(&["--oidc-issuer", &idp.issuer, "--jwt-audience", AUD, "--jwt-max-lifetime", "1h"])).await.unwrap();
        let token = sign(&key, &claims(&idp, &["*"]));
        config.auth.authenticate(&bearer(&token)).await.unwrap();
        let long = sign(&key, &with(claims(&idp, &["*"]), json!({"exp": now() + 7200})));
        let err = config.auth.authenticate(&bearer(&long)).await.unwrap_err();
        assert!(err.message().contains("longer than this proxy accepts (3600 s"), "{}", err.message());
        s_id = token;
    }
    let config = ProxyConfig::from_args(&parse(&["--jwks-url", &jwks, "--jwt-issuer", &idp.issuer, "--jwt-audience", "other", "--jwt-audience", AUD]))
        .await
        .unwrap();
    config.auth.authenticate(&bearer(&s_id)).await.unwrap();
}
