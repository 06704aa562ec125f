//! Signed part URLs and download URLs of the local Seven Bridges store: shape, expiry,
//! tampering, moving to another part, replay, required headers, size bound, CORS.

use crate::sbg_common;

use std::time::Duration;

use reqwest::Method;
use sbg_common::{bytes, data_dir, error_of, json_of, spawn, PART};
use serde_json::{json, Value};

const PROJECT: &str = "carol/urls";

async fn started(app: &sbg_common::App, parts: u64) -> String {
    app.init(PROJECT, "f.bam", parts * PART).await["upload_id"].as_str().unwrap().to_owned()
}

fn with_url(url: &Value, new: String) -> Value {
    let mut v = url.clone();
    v["url"] = json!(new);
    v
}

async fn assert_refused(resp: reqwest::Response, status: u16, code: &str) -> String {
    assert_eq!(resp.status(), status);
    assert_eq!(resp.headers()["content-type"], "application/xml");
    let body = resp.text().await.unwrap();
    assert!(body.contains(&format!("<Code>{code}</Code>")), "{body}");
    body
}

#[tokio::test]
async fn the_part_url_answer_says_method_url_expiry_headers_and_success_codes() {
    let dir = data_dir();
    let app = spawn(dir.path(), |_| {}).await;
    let id = started(&app, 2).await;
    let url = app.part_url(&id, 2).await;
    assert_eq!(url["method"], "PUT");
    let u = url["url"].as_str().unwrap();
    assert!(u.starts_with(&format!("{}/v2/_storage/parts/{id}/2?expires=", app.base)), "{u}");
    assert!(u.contains("&signature="), "{u}");
    let expires = url["expires"].as_str().unwrap();
    assert!(expires.len() == 20 && expires.ends_with('Z'), "ISO-8601 UTC: {expires}");
    assert_eq!(url["success_codes"], json!([200]));
    assert_eq!(url["report"]["success_codes"], json!([200]));
    assert_eq!(url["report"]["headers"], json!(["ETag"]));
    assert_eq!(url["headers"], json!({}), "like a presigned URL, it needs nothing but itself");
    let bare = app.http.put(u).body(bytes(PART as usize, 9)).send().await.unwrap();
    assert_eq!(bare.status(), 200, "a PUT of the URL alone is accepted");
}

#[tokio::test]
async fn an_expired_part_url_is_refused_saying_it_expired() {
    let dir = data_dir();
    let app = spawn(dir.path(), |c| c.part_url_ttl = Duration::ZERO).await;
    let id = started(&app, 1).await;
    let url = app.part_url(&id, 1).await;
    let body = assert_refused(app.put(&url, bytes(PART as usize, 1)).await, 403, "AccessDenied").await;
    assert!(body.contains("expired"), "{body}");
    let msg = error_of(app.report(&id, 1, "\"abc\"").await, 400, 8014).await;
    assert!(msg.contains("not been uploaded"), "nothing was stored: {msg}");
}

#[tokio::test]
async fn a_tampered_url_or_a_url_moved_to_another_part_is_refused() {
    let dir = data_dir();
    let app = spawn(dir.path(), |_| {}).await;
    let id = started(&app, 2).await;
    let url = app.part_url(&id, 1).await;
    let u = url["url"].as_str().unwrap().to_owned();

    let last = u.chars().last().unwrap();
    let flipped = format!("{}{}", &u[..u.len() - 1], if last == '0' { '1' } else { '0' });
    assert_refused(app.put(&with_url(&url, flipped), bytes(PART as usize, 2)).await, 403, "SignatureDoesNotMatch").await;

    let moved = u.replace(&format!("/{id}/1?"), &format!("/{id}/2?"));
    assert_ne!(moved, u);
    let body = assert_refused(app.put(&with_url(&url, moved), bytes(PART as usize, 2)).await, 403, "SignatureDoesNotMatch").await;
    assert!(body.contains("part 2"), "{body}");

    let expires: i64 = u.split("expires=").nth(1).unwrap().split('&').next().unwrap().parse().unwrap();
    let later = u.replace(&format!("expires={expires}"), &format!("expires={}", expires + 3600));
    assert_refused(app.put(&with_url(&url, later), bytes(PART as usize, 2)).await, 403, "SignatureDoesNotMatch").await;

    let unsigned = u.split('?').next().unwrap().to_owned();
    assert_refused(app.put(&with_url(&url, unsigned), bytes(PART as usize, 2)).await, 403, "AccessDenied").await;

    // The untouched URL still works: the refusals did not use it up.
    assert_eq!(app.put(&url, bytes(PART as usize, 2)).await.status(), 200);
}

#[tokio::test]
async fn a_part_url_works_once_and_a_fresh_one_replaces_the_part() {
    let dir = data_dir();
    let app = spawn(dir.path(), |_| {}).await;
    let id = started(&app, 1).await;
    let url = app.part_url(&id, 1).await;
    let first = app.put(&url, bytes(PART as usize, 3)).await;
    assert_eq!(first.status(), 200);
    let first_etag = first.headers()["etag"].to_str().unwrap().to_owned();

    let body = assert_refused(app.put(&url, bytes(PART as usize, 4)).await, 403, "AccessDenied").await;
    assert!(body.contains("already been used"), "{body}");

    let second_etag = app.upload_part(&id, 1, bytes(PART as usize, 4)).await;
    assert_ne!(first_etag, second_etag);
    error_of(app.report(&id, 1, &first_etag).await, 400, 8014).await;
    json_of(app.report(&id, 1, &second_etag).await, 200).await;
    let file = json_of(app.complete(&id).await, 200).await;
    assert_eq!(app.download(file["id"].as_str().unwrap()).await, bytes(PART as usize, 4));
}

#[tokio::test]
async fn when_switched_on_the_headers_listed_with_the_url_are_required() {
    let dir = data_dir();
    let app = spawn(dir.path(), |c| c.require_part_header = true).await;
    let id = started(&app, 1).await;
    let url = app.part_url(&id, 1).await;
    assert!(url["headers"]["x-local-part-token"].is_string(), "{url}");
    let bare = app.http.put(url["url"].as_str().unwrap()).body(bytes(PART as usize, 5)).send().await.unwrap();
    let body = assert_refused(bare, 400, "MissingRequiredHeader").await;
    assert!(body.contains("x-local-part-token"), "{body}");
    assert_eq!(app.put(&url, bytes(PART as usize, 5)).await.status(), 200, "same URL, with its headers");
}

#[tokio::test]
async fn a_body_larger_than_the_part_size_is_refused_and_nothing_is_stored() {
    let dir = data_dir();
    let app = spawn(dir.path(), |_| {}).await;
    let id = started(&app, 2).await;
    let url = app.part_url(&id, 1).await;
    assert_refused(app.put(&url, bytes(PART as usize + 1, 6)).await, 400, "EntityTooLarge").await;
    let msg = error_of(app.report(&id, 1, "\"abc\"").await, 400, 8014).await;
    assert!(msg.contains("not been uploaded"), "{msg}");
    let leftovers = std::fs::read_dir(dir.path().join("sbg/tmp")).unwrap().count();
    assert_eq!(leftovers, 0, "no scratch file left behind");
}

#[tokio::test]
async fn the_part_etag_is_exposed_to_browsers_unless_switched_off() {
    for expose in [true, false] {
        let dir = data_dir();
        let app = spawn(dir.path(), |c| c.expose_etag = expose).await;
        let id = started(&app, 1).await;
        let url = app.part_url(&id, 1).await;

        let preflight = app
            .http
            .request(Method::OPTIONS, url["url"].as_str().unwrap())
            .header("Origin", "http://portal.test")
            .header("Access-Control-Request-Method", "PUT")
            .header("Access-Control-Request-Headers", "x-local-part-token")
            .send()
            .await
            .unwrap();
        assert!(preflight.status().is_success());
        let allowed = preflight.headers()["access-control-allow-headers"].to_str().unwrap().to_ascii_lowercase();
        assert!(allowed.contains("x-local-part-token"), "{allowed}");

        let mut req = app.http.put(url["url"].as_str().unwrap()).header("Origin", "http://portal.test");
        for (k, v) in url["headers"].as_object().unwrap() {
            req = req.header(k, v.as_str().unwrap());
        }
        let resp = req.body(bytes(PART as usize, 7)).send().await.unwrap();
        assert_eq!(resp.status(), 200);
        assert!(resp.headers().contains_key("etag"));
        assert_eq!(resp.headers()["access-control-allow-origin"], "*");
        let exposed = resp.headers()["access-control-expose-headers"].to_str().unwrap().to_ascii_lowercase();
        assert_eq!(exposed.contains("etag"), expose, "expose_etag = {expose}: {exposed}");
    }
}

#[tokio::test]
async fn a_download_url_serves_the_file_until_it_expires() {
    let dir = data_dir();
    let app = spawn(dir.path(), |c| c.download_url_ttl = Duration::ZERO).await;
    let id = app.upload_reported(PROJECT, "dl.bam", &bytes(100, 8)).await;
    let file = json_of(app.complete(&id).await, 200).await;
    let info = json_of(
        app.api(Method::GET, &format!("/v2/files/{}/download_info", file["id"].as_str().unwrap())).send().await.unwrap(),
        200,
    )
    .await;
    let body = assert_refused(app.http.get(info["url"].as_str().unwrap()).send().await.unwrap(), 403, "AccessDenied").await;
    assert!(body.contains("expired"), "{body}");

    let other = app.upload_reported(PROJECT, "dl2.bam", &bytes(100, 9)).await;
    let other = json_of(app.complete(&other).await, 200).await;
    let u = info["url"].as_str().unwrap();
    let swapped = u.replace(file["id"].as_str().unwrap(), other["id"].as_str().unwrap());
    assert_refused(app.http.get(swapped).send().await.unwrap(), 403, "SignatureDoesNotMatch").await;
}

#[tokio::test]
async fn a_download_url_serves_one_byte_range_with_206_as_s3_does() {
    let dir = data_dir();
    let app = spawn(dir.path(), |_| {}).await;
    let data = bytes(3000, 10);
    let id = app.upload_reported(PROJECT, "ranged.bam", &data).await;
    let file = json_of(app.complete(&id).await, 200).await;
    let info = json_of(
        app.api(Method::GET, &format!("/v2/files/{}/download_info", file["id"].as_str().unwrap())).send().await.unwrap(),
        200,
    )
    .await;
    let url = info["url"].as_str().unwrap();
    let get = |range: Option<&'static str>| {
        let mut req = app.http.get(url);
        if let Some(r) = range {
            req = req.header("Range", r);
        }
        req.send()
    };
    // sevenbridges-python downloads in ranged parts: each answer must hold just its range.
    for (range, first, last) in [("bytes=0-1023", 0usize, 1023usize), ("bytes=1024-2047", 1024, 2047), ("bytes=2048-", 2048, 2999), ("bytes=2900-9999", 2900, 2999), ("bytes=-100", 2900, 2999)] {
        let resp = get(Some(range)).await.unwrap();
        assert_eq!(resp.status(), 206, "{range}");
        assert_eq!(resp.headers()["content-range"], format!("bytes {first}-{last}/3000").as_str(), "{range}");
        assert_eq!(resp.headers()["content-length"], (last - first + 1).to_string().as_str(), "{range}");
        assert_eq!(resp.bytes().await.unwrap().to_vec(), data[first..=last].to_vec(), "{range}");
    }
    let whole = get(None).await.unwrap();
    assert_eq!(whole.status(), 200);
    assert_eq!(whole.headers()["accept-ranges"], "bytes");
    assert_eq!(whole.bytes().await.unwrap().to_vec(), data);
    // Several ranges are answered with the whole file, as S3 does; past the end is 416.
    let several = get(Some("bytes=0-1,5-6")).await.unwrap();
    assert_eq!(several.status(), 200);
    assert_eq!(several.bytes().await.unwrap().len(), 3000);
    let body = assert_refused(get(Some("bytes=3000-")).await.unwrap(), 416, "InvalidRange").await;
    assert!(body.contains("3000 bytes"), "{body}");
}
