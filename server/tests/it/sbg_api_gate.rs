//! What stands in front of every Seven Bridges API call of the local store: the
//! `X-SBG-Auth-Token`, the rate limit with its headers, and CORS for browsers.

use crate::sbg_common;

use reqwest::Method;
use sbg_common::{bytes, data_dir, error_of, json_of, spawn, PART};

#[tokio::test]
async fn a_missing_or_wrong_token_gets_401_with_the_error_body() {
    let dir = data_dir();
    let app = spawn(dir.path(), |_| {}).await;
    let missing = app.http.get(format!("{}/v2/upload/multipart", app.base)).send().await.unwrap();
    let msg = error_of(missing, 401, 401).await;
    assert!(msg.contains("missing"), "{msg}");
    let wrong = app
        .http
        .get(format!("{}/v2/files?project=a/b", app.base))
        .header("X-SBG-Auth-Token", "not-the-token")
        .send()
        .await
        .unwrap();
    let msg = error_of(wrong, 401, 401).await;
    assert!(msg.contains("not valid"), "{msg}");
    json_of(app.api(Method::GET, "/v2/upload/multipart").send().await.unwrap(), 200).await;
}

#[tokio::test]
async fn the_default_token_is_the_documented_one_and_a_configured_token_replaces_it() {
    let dir = data_dir();
    let app = spawn(dir.path(), |_| {}).await;
    assert_eq!(app.token, readset_server::local::sbg::DEFAULT_SBG_TOKEN);
    let dir = data_dir();
    let app = spawn(dir.path(), |c| c.token = "portal-secret".into()).await;
    json_of(app.api(Method::GET, "/v2/upload/multipart").send().await.unwrap(), 200).await;
    let default = app
        .http
        .get(format!("{}/v2/upload/multipart", app.base))
        .header("X-SBG-Auth-Token", readset_server::local::sbg::DEFAULT_SBG_TOKEN)
        .send()
        .await
        .unwrap();
    error_of(default, 401, 401).await;
}

#[tokio::test]
async fn over_the_rate_limit_answers_429_code_1000_with_the_headers() {
    let dir = data_dir();
    let app = spawn(dir.path(), |c| c.rate_limit = 3).await;
    let up = app.init("dave/limits", "x.bam", PART).await; // request 1
    let id = up["upload_id"].as_str().unwrap();
    let url = app.part_url(id, 1).await; // request 2
    let third = app.api(Method::GET, "/v2/upload/multipart").send().await.unwrap();
    assert_eq!(third.headers()["x-ratelimit-limit"], "3");
    assert_eq!(third.headers()["x-ratelimit-remaining"], "0");
    let reset: i64 = third.headers()["x-ratelimit-reset"].to_str().unwrap().parse().unwrap();
    json_of(third, 200).await;

    let over = app.api(Method::GET, "/v2/upload/multipart").send().await.unwrap();
    assert_eq!(over.headers()["x-ratelimit-remaining"], "0");
    assert_eq!(over.headers()["x-ratelimit-reset"].to_str().unwrap().parse::<i64>().unwrap(), reset);
    let msg = error_of(over, 429, 1000).await;
    assert!(msg.contains("Rate limit exceeded"), "{msg}");

    // Storage URLs are not API calls: they still work.
    assert_eq!(app.put(&url, bytes(PART as usize, 1)).await.status(), 200);
}

#[tokio::test]
async fn browsers_may_call_the_api_cross_origin() {
    let dir = data_dir();
    let app = spawn(dir.path(), |_| {}).await;
    let preflight = app
        .http
        .request(Method::OPTIONS, format!("{}/v2/upload/multipart", app.base))
        .header("Origin", "http://portal.test")
        .header("Access-Control-Request-Method", "POST")
        .header("Access-Control-Request-Headers", "x-sbg-auth-token,content-type")
        .send()
        .await
        .unwrap();
    assert!(preflight.status().is_success(), "{}", preflight.status());
    let allowed = preflight.headers()["access-control-allow-headers"].to_str().unwrap().to_ascii_lowercase();
    assert!(allowed.contains("x-sbg-auth-token") && allowed.contains("content-type"), "{allowed}");

    let resp = app.api(Method::GET, "/v2/upload/multipart").header("Origin", "http://portal.test").send().await.unwrap();
    assert_eq!(resp.headers()["access-control-allow-origin"], "*");
    let exposed = resp.headers()["access-control-expose-headers"].to_str().unwrap().to_ascii_lowercase();
    for h in ["x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset"] {
        assert!(exposed.contains(h), "{exposed}");
    }
}
