//! The per-principal request-rate limit: a user over it gets 429 with `Retry-After` and the
//! call never reaches the upstream; another user is unaffected; part bodies are not counted.

use crate::proxy_common;
use crate::sbg_common;

use proxy_common::*;
use readset_server::proxy::ratelimit::RateLimit;

fn jwt_as(sub: &str) -> String {
    mint_jwt(serde_json::json!({ "sub": sub, "exp": now_secs() + 600, "stores": [STORE] }))
}

#[tokio::test]
async fn a_user_over_the_rate_gets_429_with_retry_after_and_others_go_on() {
    let (up, rec) = spawn_upstream().await;
    let mut config = test_config(up);
    // One token per 100 s: nothing refills while the test runs.
    config.rate_limit = RateLimit { per_sec: 0.01, burst: 2 };
    let proxy = spawn_proxy(config).await;
    let client = reqwest::Client::new();
    let get = |token: String| {
        let client = client.clone();
        async move { client.get(format!("http://{proxy}/omics/sequencestore/{STORE}")).bearer_auth(token).send().await.unwrap() }
    };
    let (alice, bob) = (jwt_as("alice"), jwt_as("bob"));
    for _ in 0..2 {
        assert_eq!(get(alice.clone()).await.status(), 200, "within the burst");
    }
    let refused = get(alice.clone()).await;
    assert_eq!(refused.status(), 429);
    assert_eq!(refused.headers()["x-amzn-errortype"], "ThrottlingException");
    let retry_after: u64 = refused.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=100).contains(&retry_after), "Retry-After {retry_after}: the wait for one token at 0.01/s");
    let body: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(
        body["message"].as_str().unwrap(),
        format!("too many requests for this user: at most 0.01 per second (bursts of 2); retry after {retry_after} s")
    );
    assert_eq!(rec.seen().len(), 2, "the refused call never reached the upstream");

    // Another user has a bucket of their own.
    assert_eq!(get(bob.clone()).await.status(), 200);
    // A static token is another principal too.
    assert_eq!(get(STATIC_TOKEN.to_owned()).await.status(), 200);
    // Part bodies are not counted: alice can still send a part while throttled on JSON calls.
    let part = client
        .put(format!("http://{proxy}{}", part_path(STORE, UPLOAD, 1)))
        .bearer_auth(&alice)
        .header("x-readset-upload-grant", grant_for(STORE, UPLOAD, readset_server::proxy::auth::HS256_ISSUER, "alice"))
        .body(vec![7u8; 64])
        .send()
        .await
        .unwrap();
    assert_eq!(part.status(), 200);
    assert_eq!(get(alice).await.status(), 429, "still throttled");
    assert_eq!(rec.seen().len(), 5, "bob's call, the static token's call and alice's part");
}

#[tokio::test]
async fn zero_disables_the_limit_and_bad_settings_stop_the_proxy_from_starting() {
    let (up, rec) = spawn_upstream().await;
    let mut config = test_config(up);
    config.rate_limit = RateLimit::DISABLED;
    let proxy = spawn_proxy(config).await;
    let client = reqwest::Client::new();
    let token = jwt_as("carol");
    for _ in 0..50 {
        let res = client.get(format!("http://{proxy}/omics/sequencestore/{STORE}")).bearer_auth(&token).send().await.unwrap();
        assert_eq!(res.status(), 200);
    }
    assert_eq!(rec.seen().len(), 50);
    let mut bad = test_config(up);
    bad.rate_limit = RateLimit { per_sec: 5.0, burst: 0 };
    let err = readset_server::proxy::app(bad).unwrap_err();
    assert_eq!(err.to_string(), "--rate-limit-burst must be at least 1");
}

#[tokio::test]
async fn seven_bridges_calls_count_against_the_same_user_limit() {
    let dir = sbg_common::data_dir();
    let sbg = sbg_common::spawn(dir.path(), |c| c.token = "sbg-rate-test-token-0123456789".into()).await;
    let mut config = test_config("127.0.0.1:9".parse().unwrap());
    config.sbg = Some(readset_server::proxy::sbg::SbgUpstream::new(&format!("{}/v2", sbg.base), "sbg-rate-test-token-0123456789").unwrap());
    config.rate_limit = RateLimit { per_sec: 0.01, burst: 1 };
    let proxy = spawn_proxy(config).await;
    let token = |sub: &str| mint_jwt(serde_json::json!({ "sub": sub, "exp": now_secs() + 600, "stores": [], "projects": ["lab/reads"] }));
    let client = reqwest::Client::new();
    let list = |t: String| {
        let client = client.clone();
        async move { client.get(format!("http://{proxy}/sbg/v2/files?project=lab/reads")).bearer_auth(t).send().await.unwrap() }
    };
    // The local API knows no project `lab/reads` (404): the call was forwarded, not throttled.
    assert_eq!(list(token("dana")).await.status(), 404);
    let refused = list(token("dana")).await;
    assert_eq!(refused.status(), 429);
    assert!(refused.headers()["retry-after"].to_str().unwrap().parse::<u64>().is_ok_and(|s| (1..=100).contains(&s)));
    assert_eq!(refused.headers()["x-amzn-errortype"], "ThrottlingException");
    assert_eq!(list(token("erin")).await.status(), 404, "another user is forwarded");
}
