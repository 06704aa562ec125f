//! Seven Bridges forwarding through the proxy, against the real local Seven Bridges API on
//! 127.0.0.1:0: the token is added by the proxy and never reaches the caller, projects are
//! checked against the caller's `projects`, only upload and file-read calls pass, and the
//! API's errors and `X-RateLimit-*` headers come back unchanged.

use crate::proxy_common;
use crate::sbg_common;

use proxy_common::*;
use readset_server::proxy::sbg::SbgUpstream;
use serde_json::{json, Value};

const SBG_TOKEN: &str = "server-side-sbg-token-0123456789";

struct Setup {
    proxy: String,
    store: sbg_common::App,
    _dir: tempfile::TempDir,
}

async fn setup() -> Setup {
    let dir = sbg_common::data_dir();
    let store = sbg_common::spawn(dir.path(), |c| c.token = SBG_TOKEN.into()).await;
    let mut config = test_config("127.0.0.1:9".parse().unwrap());
    config.sbg = Some(SbgUpstream::new(&format!("{}/v2", store.base), SBG_TOKEN).unwrap());
    let proxy = spawn_proxy(config).await;
    Setup { proxy: format!("http://{proxy}/sbg/v2"), store, _dir: dir }
}

fn jwt_projects(projects: &[&str]) -> String {
    mint_jwt(json!({ "sub": "alice", "exp": now_secs() + 600, "stores": [], "projects": projects }))
}

async fn call(method: reqwest::Method, url: &str, token: &str, body: Option<Value>) -> (u16, reqwest::header::HeaderMap, String) {
    let mut r = reqwest::Client::new().request(method, url).bearer_auth(token);
    if let Some(b) = body {
        r = r.json(&b);
    }
    let res = r.send().await.unwrap();
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    (status, headers, res.text().await.unwrap())
}

#[tokio::test]
async fn a_whole_upload_goes_through_with_the_token_added_by_the_proxy_and_never_returned() {
    let s = setup().await;
    let jwt = jwt_projects(&["alice/reads"]);
    let data = sbg_common::bytes(2500, 7);
    let (status, headers, body) =
        call(reqwest::Method::POST, &format!("{}/upload/multipart", s.proxy), &jwt, Some(json!({"project": "alice/reads", "name": "r.bam", "size": 2500, "part_size": 1024}))).await;
    assert_eq!(status, 200, "{body}");
    assert!(headers.contains_key("x-ratelimit-remaining"), "X-RateLimit-* passed through");
    let init: Value = serde_json::from_str(&body).unwrap();
    let id = init["upload_id"].as_str().unwrap().to_owned();
    let mut parts = Vec::new();
    for n in 1..=3u32 {
        let (status, _, body) = call(reqwest::Method::GET, &format!("{}/upload/multipart/{id}/part/{n}", s.proxy), &jwt, None).await;
        assert_eq!(status, 200, "{body}");
        assert!(!body.contains(SBG_TOKEN), "a part URL answer carries no token");
        let url: Value = serde_json::from_str(&body).unwrap();
        let chunk = data[(n as usize - 1) * 1024..(n as usize * 1024).min(data.len())].to_vec();
        // The storage URL from the proxied answer works as handed out (no token needed).
        let put = s.store.put(&url, chunk).await;
        assert_eq!(put.status(), 200);
        let etag = put.headers()["etag"].to_str().unwrap().to_owned();
        parts.push(json!({"part_number": n, "response": {"headers": {"ETag": etag}}}));
    }
    let (status, _, body) = call(reqwest::Method::POST, &format!("{}/upload/multipart/{id}", s.proxy), &jwt, Some(json!({"parts": parts}))).await;
    assert_eq!(status, 200, "bulk report: {body}");
    let (status, _, body) = call(reqwest::Method::GET, &format!("{}/upload/multipart/{id}?list_parts=true", s.proxy), &jwt, None).await;
    assert_eq!(status, 200);
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["parts"].as_array().unwrap().len(), 3);
    let (status, headers, body) = call(reqwest::Method::POST, &format!("{}/upload/multipart/{id}/complete", s.proxy), &jwt, None).await;
    assert_eq!(status, 200, "{body}");
    assert!(!body.contains(SBG_TOKEN) && headers.iter().all(|(_, v)| !v.as_bytes().windows(SBG_TOKEN.len()).any(|w| w == SBG_TOKEN.as_bytes())));
    let file: Value = serde_json::from_str(&body).unwrap();
    let (status, _, body) = call(reqwest::Method::GET, &format!("{}/files/{}/download_info", s.proxy, file["id"].as_str().unwrap()), &jwt, None).await;
    assert_eq!(status, 200, "{body}");
    let url = serde_json::from_str::<Value>(&body).unwrap()["url"].as_str().unwrap().to_owned();
    assert_eq!(reqwest::get(url).await.unwrap().bytes().await.unwrap().to_vec(), data, "the stored file equals the source");
}

#[tokio::test]
async fn a_token_sent_by_the_browser_is_ignored_and_no_bearer_means_401() {
    let s = setup().await;
    let url = format!("{}/upload/multipart", s.proxy);
    let body = json!({"project": "alice/reads", "name": "x.bam", "size": 1, "part_size": 1024});
    // A wrong X-SBG-Auth-Token from the browser is dropped: the proxy's own one is used.
    let res = reqwest::Client::new()
        .post(&url)
        .bearer_auth(jwt_projects(&["alice/reads"]))
        .header("x-sbg-auth-token", "wrong-token-from-the-browser")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    // The right Seven Bridges token without a portal token gets nothing.
    let res = reqwest::Client::new().post(&url).header("x-sbg-auth-token", SBG_TOKEN).json(&body).send().await.unwrap();
    assert_eq!(res.status(), 401);
}

#[tokio::test]
async fn projects_outside_the_jwt_claim_are_refused_for_init_and_for_calls_on_their_uploads() {
    let s = setup().await;
    let alice = jwt_projects(&["alice/reads"]);
    let (status, _, body) =
        call(reqwest::Method::POST, &format!("{}/upload/multipart", s.proxy), &alice, Some(json!({"project": "bob/secret", "name": "x.bam", "size": 1, "part_size": 1024}))).await;
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("bob/secret"));
    // An upload in bob's project, started directly on the store: alice cannot touch it.
    let bob_upload = s.store.init("bob/secret", "y.bam", 10).await["upload_id"].as_str().unwrap().to_owned();
    for (method, path) in [
        (reqwest::Method::GET, format!("/upload/multipart/{bob_upload}/part/1")),
        (reqwest::Method::GET, format!("/upload/multipart/{bob_upload}?list_parts=true")),
        (reqwest::Method::POST, format!("/upload/multipart/{bob_upload}/complete")),
        (reqwest::Method::DELETE, format!("/upload/multipart/{bob_upload}")),
    ] {
        let (status, _, body) = call(method.clone(), &format!("{}{path}", s.proxy), &alice, None).await;
        assert_eq!(status, 403, "{method} {path}: {body}");
    }
    let (status, _, _) = call(reqwest::Method::GET, &format!("{}/files?project=bob/secret", s.proxy), &alice, None).await;
    assert_eq!(status, 403);
    // The allowed project first, another after it: refused, not the first value checked.
    for q in ["project=alice/reads&project=bob/secret", "project=bob/secret&project=alice/reads"] {
        let (status, _, body) = call(reqwest::Method::GET, &format!("{}/files?{q}", s.proxy), &alice, None).await;
        assert_eq!(status, 400, "{q}: {body}");
        assert!(body.contains("`project` is given more than once"), "{q}: {body}");
        assert!(!body.contains("y.bam"), "{q}: {body}");
    }
    // The same upload is fine for a token that lists the project, and "*" allows any.
    let (status, _, _) = call(reqwest::Method::GET, &format!("{}/upload/multipart/{bob_upload}/part/1", s.proxy), &jwt_projects(&["bob/secret"]), None).await;
    assert_eq!(status, 200);
    let (status, _, _) = call(reqwest::Method::GET, &format!("{}/upload/multipart/{bob_upload}", s.proxy), &jwt_projects(&["*"]), None).await;
    assert_eq!(status, 200);
    // A token without `projects` may use none.
    let none = jwt_for(&[STORE]);
    let (status, _, _) = call(reqwest::Method::GET, &format!("{}/upload/multipart/{bob_upload}", s.proxy), &none, None).await;
    assert_eq!(status, 403);
}

#[tokio::test]
async fn the_trailing_slash_forms_the_official_client_uses_pass_the_same_project_checks() {
    let s = setup().await;
    let alice = jwt_projects(&["alice/reads"]);
    // Init, part URL, report with `/part/` (as sevenbridges-python sends it), complete, file
    // reads: all with a trailing slash, all through the proxy's checks.
    let (status, _, body) =
        call(reqwest::Method::POST, &format!("{}/upload/multipart/", s.proxy), &alice, Some(json!({"project": "alice/reads", "name": "s.bam", "size": 1000, "part_size": 1024}))).await;
    assert_eq!(status, 200, "{body}");
    let id = serde_json::from_str::<Value>(&body).unwrap()["upload_id"].as_str().unwrap().to_owned();
    let (status, _, body) = call(reqwest::Method::GET, &format!("{}/upload/multipart/{id}/part/1/", s.proxy), &alice, None).await;
    assert_eq!(status, 200, "{body}");
    let put = s.store.put(&serde_json::from_str(&body).unwrap(), sbg_common::bytes(1000, 3)).await;
    assert_eq!(put.status(), 200);
    let etag = put.headers()["etag"].to_str().unwrap().to_owned();
    let report = json!({"part_number": 1, "response": {"headers": {"ETag": etag}}});
    let (status, _, body) = call(reqwest::Method::POST, &format!("{}/upload/multipart/{id}/part/", s.proxy), &alice, Some(report)).await;
    assert_eq!(status, 200, "{body}");
    let (status, _, body) = call(reqwest::Method::POST, &format!("{}/upload/multipart/{id}/complete/", s.proxy), &alice, None).await;
    assert_eq!(status, 200, "{body}");
    let file_id = serde_json::from_str::<Value>(&body).unwrap()["id"].as_str().unwrap().to_owned();
    for path in [format!("/files/{file_id}/"), format!("/files/{file_id}/download_info/"), "/files/?project=alice/reads".to_owned()] {
        let (status, _, body) = call(reqwest::Method::GET, &format!("{}{path}", s.proxy), &alice, None).await;
        assert_eq!(status, 200, "{path}: {body}");
    }

    // Bob's upload and file, made on the store directly: a trailing slash does not get alice
    // past the project check on any of those calls.
    let bob = s.store.init("bob/secret", "y.bam", 10).await["upload_id"].as_str().unwrap().to_owned();
    let bob_file = {
        let other = s.store.init("bob/secret", "z.bam", 10).await["upload_id"].as_str().unwrap().to_owned();
        let etag = s.store.upload_part(&other, 1, sbg_common::bytes(10, 1)).await;
        assert_eq!(s.store.report(&other, 1, &etag).await.status(), 200);
        let done = s.store.api(reqwest::Method::POST, &format!("/v2/upload/multipart/{other}/complete")).send().await.unwrap();
        sbg_common::json_of(done, 200).await["id"].as_str().unwrap().to_owned()
    };
    let (status, _, body) =
        call(reqwest::Method::POST, &format!("{}/upload/multipart/", s.proxy), &alice, Some(json!({"project": "bob/secret", "name": "x.bam", "size": 1, "part_size": 1024}))).await;
    assert_eq!(status, 403, "{body}");
    let report = json!({"part_number": 1, "response": {"headers": {"ETag": "\"abc\""}}});
    for (method, path, body) in [
        (reqwest::Method::GET, format!("/upload/multipart/{bob}/"), None),
        (reqwest::Method::GET, format!("/upload/multipart/{bob}/part/1/"), None),
        (reqwest::Method::POST, format!("/upload/multipart/{bob}/part/"), Some(report.clone())),
        (reqwest::Method::POST, format!("/upload/multipart/{bob}/"), Some(json!({"parts": [report.clone()]}))),
        (reqwest::Method::POST, format!("/upload/multipart/{bob}/complete/"), None),
        (reqwest::Method::DELETE, format!("/upload/multipart/{bob}/"), None),
        (reqwest::Method::GET, format!("/files/{bob_file}/"), None),
        (reqwest::Method::GET, format!("/files/{bob_file}/download_info/"), None),
        (reqwest::Method::GET, "/files/?project=bob/secret".to_owned(), None),
    ] {
        let (status, _, text) = call(method.clone(), &format!("{}{path}", s.proxy), &alice, body).await;
        assert_eq!(status, 403, "{method} {path}: {text}");
    }
    // Bob's upload is untouched: still open, no part reported.
    let details = s.store.api(reqwest::Method::GET, &format!("/v2/upload/multipart/{bob}?list_parts=true")).send().await.unwrap();
    assert_eq!(sbg_common::json_of(details, 200).await["parts"], json!([]));
    // Calls that are not allowed stay refused with a slash.
    for (method, path) in [(reqwest::Method::GET, "/user/"), (reqwest::Method::GET, "/upload/multipart/"), (reqwest::Method::DELETE, "/files/abc/")] {
        let (status, _, body) = call(method.clone(), &format!("{}{path}", s.proxy), &alice, None).await;
        assert_eq!(status, 403, "{method} {path}: {body}");
    }
}

#[tokio::test]
async fn calls_other_than_uploads_and_file_reads_are_refused_and_upstream_errors_pass_through() {
    let s = setup().await;
    let jwt = jwt_projects(&["*"]);
    for (method, path) in [
        (reqwest::Method::GET, "/user"),
        (reqwest::Method::GET, "/upload/multipart"),
        (reqwest::Method::DELETE, "/files/abc"),
        (reqwest::Method::GET, "/projects/alice/reads"),
        (reqwest::Method::PUT, "/_storage/parts/abc/1"),
    ] {
        let (status, _, body) = call(method.clone(), &format!("{}{path}", s.proxy), &jwt, None).await;
        assert_eq!(status, 403, "{method} {path}: {body}");
    }
    // An unknown upload: the API's own 404 with its code comes back.
    let (status, headers, body) = call(reqwest::Method::GET, &format!("{}/upload/multipart/nosuchupload/part/1", s.proxy), &jwt, None).await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["code"], 8003);
    assert!(headers.contains_key("x-ratelimit-remaining"));
    // The API's validation errors pass through too.
    let (status, _, body) =
        call(reqwest::Method::POST, &format!("{}/upload/multipart", s.proxy), &jwt, Some(json!({"project": "alice/reads", "name": "", "size": 1}))).await;
    assert_eq!(status, 400);
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["code"], 8013, "{body}");
}

#[tokio::test]
async fn without_sbg_configuration_the_routes_are_refused() {
    let config = test_config("127.0.0.1:9".parse().unwrap());
    let proxy = spawn_proxy(config).await;
    let (status, _, body) = call(reqwest::Method::GET, &format!("http://{proxy}/sbg/v2/upload/multipart/x"), &jwt_projects(&["*"]), None).await;
    assert_eq!(status, 403);
    assert!(body.contains("--sbg-api"), "{body}");
}

#[derive(clap::Parser)]
struct Cli {
    #[command(flatten)]
    args: readset_server::proxy::ProxyArgs,
}

#[tokio::test]
async fn the_sbg_flags_read_the_token_file_and_come_only_together() {
    use clap::Parser;
    let dir = tempfile::tempdir().unwrap();
    let tokens = dir.path().join("tokens.json");
    std::fs::write(&tokens, r#"[{"token": "file-token-0123456789abcdef", "sub": "kiosk", "stores": [], "projects": ["lab/p"]}]"#).unwrap();
    let sbg_token = dir.path().join("sbg-token");
    std::fs::write(&sbg_token, format!("{SBG_TOKEN}\n")).unwrap();
    for f in [&tokens, &sbg_token] {
        std::fs::set_permissions(f, <std::fs::Permissions as std::os::unix::fs::PermissionsExt>::from_mode(0o600)).unwrap();
    }
    let parse = |extra: &[&str]| Cli::try_parse_from([&["proxy", "--tokens", tokens.to_str().unwrap()], extra].concat()).map(|c| c.args);
    let args = parse(&["--sbg-api", "http://127.0.0.1:9/v2/", "--sbg-token-file", sbg_token.to_str().unwrap()]).unwrap();
    let config = readset_server::proxy::ProxyConfig::from_args(&args).await.unwrap();
    let sbg = config.sbg.expect("configured");
    assert_eq!((sbg.api.as_str(), sbg.token.as_str()), ("http://127.0.0.1:9/v2", SBG_TOKEN), "trailing newline and slash dropped");
    let no_token = parse(&["--sbg-api", "http://127.0.0.1:9/v2"]).unwrap();
    let err = readset_server::proxy::ProxyConfig::from_args(&no_token).await.unwrap_err();
    assert_eq!(format!("{err:#}"), "--sbg-api needs the Seven Bridges token: --sbg-token-file FILE (chmod 600) or READSET_SBG_TOKEN");
    assert!(parse(&["--sbg-token-file", sbg_token.to_str().unwrap()]).is_err(), "--sbg-token-file needs --sbg-api");
    let missing = parse(&["--sbg-api", "http://127.0.0.1:9/v2", "--sbg-token-file", dir.path().join("nope").to_str().unwrap()]).unwrap();
    let err = readset_server::proxy::ProxyConfig::from_args(&missing).await.unwrap_err();
    assert!(format!("{err:#}").contains("cannot read the Seven Bridges token file"), "{err:#}");
}
