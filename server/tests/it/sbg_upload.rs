//! The Seven Bridges multipart upload flow against a real local store: upload, report,
//! resume, complete, abort, overwrite, files, restart.

use crate::sbg_common;

use md5::{Digest, Md5};
use reqwest::Method;
use sbg_common::{bytes, data_dir, error_of, json_of, spawn, PART};
use serde_json::json;

const PROJECT: &str = "alice/genomes";

#[tokio::test]
async fn four_parts_with_a_short_last_one_complete_into_the_same_bytes() {
    let dir = data_dir();
    let app = spawn(dir.path(), |_| {}).await;
    let data = bytes(3 * PART as usize + 500, 1);
    let up = app.init(PROJECT, "run1.fastq.gz", data.len() as u64).await;
    assert_eq!(up["part_size"], json!(PART));
    assert_eq!(up["project"], PROJECT);
    assert_eq!(up["name"], "run1.fastq.gz");
    assert_eq!(up["size"], json!(data.len()));
    assert!(up["initiated"].as_str().unwrap().ends_with('Z'));
    let id = up["upload_id"].as_str().unwrap();
    let chunks: Vec<&[u8]> = data.chunks(PART as usize).collect();
    assert_eq!(chunks.len(), 4);

    // Out of order, reported one at a time: the file must still come out in part order.
    for n in [3u32, 1, 4, 2] {
        let chunk = chunks[n as usize - 1];
        let etag = app.upload_part(id, n, chunk.to_vec()).await;
        assert_eq!(etag, format!("\"{}\"", hex::encode(Md5::digest(chunk))), "ETag is the quoted MD5 of part {n}");
        let reported = json_of(app.report(id, n, &etag).await, 200).await;
        assert_eq!(reported["part_number"], json!(n));
    }
    let file = json_of(app.complete(id).await, 200).await;
    assert_eq!(file["name"], "run1.fastq.gz");
    assert_eq!(file["project"], PROJECT);
    assert_eq!(file["size"], json!(data.len()));
    let file_id = file["id"].as_str().unwrap();

    assert_eq!(app.download(file_id).await, data);
    let got = json_of(app.api(Method::GET, &format!("/v2/files/{file_id}")).send().await.unwrap(), 200).await;
    assert_eq!(got["name"], "run1.fastq.gz");
    // A completed upload is gone.
    let resp = app.api(Method::GET, &format!("/v2/upload/multipart/{id}")).send().await.unwrap();
    error_of(resp, 404, 8003).await;
}

#[tokio::test]
async fn resume_uses_list_parts_to_send_only_what_is_missing() {
    let dir = data_dir();
    let app = spawn(dir.path(), |_| {}).await;
    let data = bytes(4 * PART as usize - 10, 2);
    let chunks: Vec<Vec<u8>> = data.chunks(PART as usize).map(<[u8]>::to_vec).collect();
    let up = app.init(PROJECT, "resume.bam", data.len() as u64).await;
    let id = up["upload_id"].as_str().unwrap();

    // Parts 1 and 2 uploaded and reported in bulk; part 3 uploaded but never reported.
    let e1 = app.upload_part(id, 1, chunks[0].clone()).await;
    let e2 = app.upload_part(id, 2, chunks[1].clone()).await;
    let bulk = json_of(app.report_many(id, &[(1, e1.clone()), (2, e2.clone())]).await, 200).await;
    assert_eq!(bulk["parts"].as_array().unwrap().len(), 2);
    app.upload_part(id, 3, chunks[2].clone()).await;

    let plain = json_of(app.api(Method::GET, &format!("/v2/upload/multipart/{id}")).send().await.unwrap(), 200).await;
    assert!(plain.get("parts").is_none(), "parts only with list_parts=true: {plain}");
    let listed = json_of(
        app.api(Method::GET, &format!("/v2/upload/multipart/{id}?list_parts=true")).send().await.unwrap(),
        200,
    )
    .await;
    let parts = listed["parts"].as_array().unwrap();
    let numbers: Vec<u64> = parts.iter().map(|p| p["part_number"].as_u64().unwrap()).collect();
    assert_eq!(numbers, vec![1, 2], "only reported parts are listed: {listed}");
    assert_eq!(parts[0]["response"]["headers"]["ETag"], json!(e1));
    assert_eq!(parts[1]["response"]["headers"]["ETag"], json!(e2));

    // The client sends what the list lacks.
    for n in 1..=4u32 {
        if numbers.contains(&u64::from(n)) {
            continue;
        }
        let etag = app.upload_part(id, n, chunks[n as usize - 1].clone()).await;
        json_of(app.report(id, n, &etag).await, 200).await;
    }
    let file = json_of(app.complete(id).await, 200).await;
    assert_eq!(app.download(file["id"].as_str().unwrap()).await, data);
}

#[tokio::test]
async fn a_wrong_etag_is_refused_naming_the_part_and_nothing_is_recorded() {
    let dir = data_dir();
    let app = spawn(dir.path(), |_| {}).await;
    let up = app.init(PROJECT, "etag.cram", 3 * PART).await;
    let id = up["upload_id"].as_str().unwrap();
    let e1 = app.upload_part(id, 1, bytes(PART as usize, 3)).await;
    app.upload_part(id, 2, bytes(PART as usize, 4)).await;

    let msg = error_of(app.report(id, 2, &e1).await, 400, 8014).await;
    assert!(msg.contains("part 2"), "{msg}");
    let msg = error_of(app.report_many(id, &[(1, e1.clone()), (2, "\"00ff\"".into())]).await, 400, 8014).await;
    assert!(msg.contains("part 2"), "{msg}");
    let msg = error_of(app.report(id, 3, &e1).await, 400, 8014).await;
    assert!(msg.contains("part 3") && msg.contains("not been uploaded"), "{msg}");
    let msg = error_of(app.report(id, 4, &e1).await, 400, 8012).await;
    assert!(msg.contains("1..=3"), "{msg}");

    let listed = json_of(
        app.api(Method::GET, &format!("/v2/upload/multipart/{id}?list_parts=true")).send().await.unwrap(),
        200,
    )
    .await;
    assert_eq!(listed["parts"], json!([]), "a refused bulk report records none of its parts");
    // The ETag may be reported without quotes, as some clients strip them.
    json_of(app.report(id, 1, e1.trim_matches('"')).await, 200).await;
}

#[tokio::test]
async fn complete_is_refused_naming_missing_unreported_and_reuploaded_parts() {
    let dir = data_dir();
    let app = spawn(dir.path(), |_| {}).await;
    let up = app.init(PROJECT, "gaps.fastq.gz", 4 * PART).await;
    let id = up["upload_id"].as_str().unwrap();
    let e1 = app.upload_part(id, 1, bytes(PART as usize, 5)).await;
    let e3 = app.upload_part(id, 3, bytes(PART as usize, 6)).await;
    json_of(app.report_many(id, &[(1, e1), (3, e3)]).await, 200).await;
    app.upload_part(id, 4, bytes(PART as usize, 7)).await;

    let msg = error_of(app.complete(id).await, 400, 8007).await;
    assert!(msg.contains("part(s) 2 were never uploaded"), "{msg}");
    assert!(msg.contains("part(s) 4 were uploaded but not reported"), "{msg}");

    // Part 1 uploaded again after its report: its old report no longer counts.
    app.upload_part(id, 1, bytes(PART as usize, 8)).await;
    let msg = error_of(app.complete(id).await, 400, 8007).await;
    assert!(msg.contains("part(s) 1, 4 were uploaded but not reported"), "{msg}");
    // The upload is intact and can still be finished.
    json_of(app.api(Method::GET, &format!("/v2/upload/multipart/{id}")).send().await.unwrap(), 200).await;
}

#[tokio::test]
async fn a_short_middle_part_is_refused_at_completion() {
    let dir = data_dir();
    let app = spawn(dir.path(), |_| {}).await;
    let up = app.init(PROJECT, "short.bam", 2 * PART + 1).await;
    let id = up["upload_id"].as_str().unwrap();
    let mut reports = Vec::new();
    for (n, len) in [(1u32, PART as usize), (2, PART as usize - 1), (3, 2)] {
        reports.push((n, app.upload_part(id, n, bytes(len, 9)).await));
    }
    json_of(app.report_many(id, &reports).await, 200).await;
    let msg = error_of(app.complete(id).await, 400, 8007).await;
    assert!(msg.contains("part 2 holds 1023 bytes but must hold 1024"), "{msg}");
    assert!(msg.contains("part 3 holds 2 bytes but must hold 1"), "{msg}");
}

#[tokio::test]
async fn abort_removes_the_upload_and_its_parts() {
    let dir = data_dir();
    let app = spawn(dir.path(), |_| {}).await;
    let up = app.init(PROJECT, "abort.bam", 2 * PART).await;
    let id = up["upload_id"].as_str().unwrap();
    app.upload_part(id, 1, bytes(PART as usize, 10)).await;
    let unused_url = app.part_url(id, 2).await;
    let parts_dir = dir.path().join("sbg/parts").join(id);
    assert!(parts_dir.exists());

    let resp = app.api(Method::DELETE, &format!("/v2/upload/multipart/{id}")).send().await.unwrap();
    assert_eq!(resp.status(), 204);
    assert!(!parts_dir.exists(), "part bytes removed");
    let resp = app.api(Method::GET, &format!("/v2/upload/multipart/{id}")).send().await.unwrap();
    error_of(resp, 404, 8003).await;
    let resp = app.api(Method::GET, &format!("/v2/upload/multipart/{id}/part/2")).send().await.unwrap();
    error_of(resp, 404, 8003).await;
    let resp = app.put(&unused_url, bytes(PART as usize, 11)).await;
    assert_eq!(resp.status(), 404);
    assert!(resp.text().await.unwrap().contains("NoSuchUpload"));
    let resp = app.api(Method::DELETE, &format!("/v2/upload/multipart/{id}")).send().await.unwrap();
    error_of(resp, 404, 8003).await;
}

#[tokio::test]
async fn a_taken_name_needs_overwrite_which_replaces_the_file() {
    let dir = data_dir();
    let app = spawn(dir.path(), |_| {}).await;
    let first = bytes(PART as usize + 3, 12);
    let id = app.upload_reported(PROJECT, "same.fastq.gz", &first).await;
    let old = json_of(app.complete(&id).await, 200).await;

    let resp = app
        .api(Method::POST, "/v2/upload/multipart")
        .json(&json!({"project": PROJECT, "name": "same.fastq.gz", "size": 10, "part_size": PART}))
        .send()
        .await
        .unwrap();
    let msg = error_of(resp, 409, 8004).await;
    assert!(msg.contains("same.fastq.gz") && msg.contains("overwrite=true"), "{msg}");

    let second = bytes(10, 13);
    let resp = app
        .api(Method::POST, "/v2/upload/multipart?overwrite=true")
        .json(&json!({"project": PROJECT, "name": "same.fastq.gz", "size": 10, "part_size": PART}))
        .send()
        .await
        .unwrap();
    let id = json_of(resp, 200).await["upload_id"].as_str().unwrap().to_owned();
    let etag = app.upload_part(&id, 1, second.clone()).await;
    json_of(app.report(&id, 1, &etag).await, 200).await;
    let new = json_of(app.complete(&id).await, 200).await;
    assert_eq!(app.download(new["id"].as_str().unwrap()).await, second);

    let list = json_of(app.api(Method::GET, &format!("/v2/files?project={PROJECT}")).send().await.unwrap(), 200).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1, "{list}");
    assert_eq!(list["items"][0]["size"], json!(10));
    let resp = app.api(Method::GET, &format!("/v2/files/{}", old["id"].as_str().unwrap())).send().await.unwrap();
    error_of(resp, 404, 5002).await;
}

#[tokio::test]
async fn init_applies_part_limits_and_validates_its_input() {
    let dir = data_dir();
    let app = spawn(dir.path(), |_| {}).await;
    let post = |body: serde_json::Value| app.api(Method::POST, "/v2/upload/multipart").json(&body).send();

    let up = json_of(post(json!({"project": PROJECT, "name": "a", "size": 5000, "part_size": 10})).await.unwrap(), 200).await;
    assert_eq!(up["part_size"], json!(PART), "raised to the minimum part size");
    let id = up["upload_id"].as_str().unwrap();
    let resp = app.api(Method::GET, &format!("/v2/upload/multipart/{id}/part/6")).send().await.unwrap();
    let msg = error_of(resp, 400, 8012).await;
    assert!(msg.contains("1..=5"), "{msg}");
    let resp = app.api(Method::GET, &format!("/v2/upload/multipart/{id}/part/0")).send().await.unwrap();
    error_of(resp, 400, 8012).await;

    let huge = json_of(
        post(json!({"project": PROJECT, "name": "b", "size": 20_000 * PART, "part_size": PART})).await.unwrap(),
        200,
    )
    .await;
    assert_eq!(huge["part_size"], json!(2 * PART), "raised so that 10,000 parts suffice");

    error_of(post(json!({"project": "no-slash", "name": "a", "size": 1})).await.unwrap(), 400, 8010).await;
    let msg = error_of(post(json!({"project": PROJECT, "size": 1})).await.unwrap(), 400, 8013).await;
    assert!(msg.contains("`name`"), "{msg}");
    error_of(post(json!({"project": PROJECT, "name": "a/b", "size": 1})).await.unwrap(), 400, 8013).await;
    error_of(post(json!({"project": PROJECT, "name": "a", "size": -1})).await.unwrap(), 400, 8013).await;
    error_of(post(json!({"parent": "abc", "name": "a", "size": 1})).await.unwrap(), 400, 8013).await;

    let list = json_of(app.api(Method::GET, "/v2/upload/multipart").send().await.unwrap(), 200).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 2, "only the two valid inits: {list}");
}

#[tokio::test]
async fn files_are_listed_by_project_with_pages() {
    let dir = data_dir();
    let app = spawn(dir.path(), |_| {}).await;
    for name in ["c.bam", "a.bam", "b.bam"] {
        let id = app.upload_reported(PROJECT, name, &bytes(20, 14)).await;
        json_of(app.complete(&id).await, 200).await;
    }
    let resp = app.api(Method::GET, &format!("/v2/files?project={PROJECT}&limit=2")).send().await.unwrap();
    // The total of all pages, in the header sevenbridges-python reads on every list.
    assert_eq!(resp.headers()["x-total-matching-query"], "3");
    let page1 = json_of(resp, 200).await;
    let names: Vec<&str> = page1["items"].as_array().unwrap().iter().map(|f| f["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["a.bam", "b.bam"]);
    assert!(page1["items"][0]["href"].as_str().unwrap().contains("/v2/files/"));
    let next = page1["links"].as_array().unwrap().iter().find(|l| l["rel"] == "next").expect("next link");
    let next_url = next["href"].as_str().unwrap();
    let page2 = json_of(app.http.get(next_url).header("X-SBG-Auth-Token", &app.token).send().await.unwrap(), 200).await;
    let names: Vec<&str> = page2["items"].as_array().unwrap().iter().map(|f| f["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["c.bam"]);

    let resp = app.api(Method::GET, "/v2/files?project=nobody/nothing").send().await.unwrap();
    error_of(resp, 404, 3002).await;
    error_of(app.api(Method::GET, "/v2/files?project=bad").send().await.unwrap(), 400, 5005).await;
    error_of(app.api(Method::GET, "/v2/files").send().await.unwrap(), 400, 5005).await;
    error_of(app.api(Method::GET, "/v2/files/000000000000000000000000").send().await.unwrap(), 404, 5002).await;
}

#[tokio::test]
async fn a_project_exists_as_soon_as_an_upload_into_it_starts() {
    let dir = data_dir();
    let app = spawn(dir.path(), |_| {}).await;
    app.init("bob/new-project", "x.bam", 1).await;
    let list = json_of(app.api(Method::GET, "/v2/files?project=bob/new-project").send().await.unwrap(), 200).await;
    assert_eq!(list["items"], json!([]));
}

#[tokio::test]
async fn a_restart_keeps_open_uploads_reported_parts_and_issued_urls() {
    let dir = data_dir();
    let data = bytes(2 * PART as usize + 7, 15);
    let chunks: Vec<Vec<u8>> = data.chunks(PART as usize).map(<[u8]>::to_vec).collect();
    let (id, url2) = {
        let app = spawn(dir.path(), |_| {}).await;
        let id = app.init(PROJECT, "restart.fastq.gz", data.len() as u64).await["upload_id"].as_str().unwrap().to_owned();
        let e1 = app.upload_part(&id, 1, chunks[0].clone()).await;
        json_of(app.report(&id, 1, &e1).await, 200).await;
        let url2 = app.part_url(&id, 2).await;
        (id, url2)
    }; // server stopped here

    let app = spawn(dir.path(), |_| {}).await;
    let listed = json_of(
        app.api(Method::GET, &format!("/v2/upload/multipart/{id}?list_parts=true")).send().await.unwrap(),
        200,
    )
    .await;
    assert_eq!(listed["parts"].as_array().unwrap().len(), 1, "{listed}");
    // The part URL points at the old port; the path and signature are what count.
    let old = url2["url"].as_str().unwrap();
    let moved = format!("{}{}", app.base, &old[old.find("/v2/").unwrap()..]);
    let mut url2 = url2.clone();
    url2["url"] = json!(moved);
    let resp = app.put(&url2, chunks[1].clone()).await;
    assert_eq!(resp.status(), 200, "a URL issued before the restart stays valid (same signing key)");
    let e2 = resp.headers()["etag"].to_str().unwrap().to_owned();
    let e3 = app.upload_part(&id, 3, chunks[2].clone()).await;
    json_of(app.report_many(&id, &[(2, e2), (3, e3)]).await, 200).await;
    let file = json_of(app.complete(&id).await, 200).await;
    assert_eq!(app.download(file["id"].as_str().unwrap()).await, data);
}

#[tokio::test]
async fn every_api_route_also_answers_with_a_trailing_slash_as_the_official_client_calls_it() {
    let dir = data_dir();
    let app = spawn(dir.path(), |_| {}).await;
    let data = bytes(2 * PART as usize + 10, 6);
    let init = app
        .api(Method::POST, "/v2/upload/multipart/")
        .json(&json!({"project": PROJECT, "name": "slash.bam", "size": data.len(), "part_size": PART}))
        .send()
        .await
        .unwrap();
    let id = json_of(init, 200).await["upload_id"].as_str().unwrap().to_owned();
    let listed = json_of(app.api(Method::GET, "/v2/upload/multipart/").send().await.unwrap(), 200).await;
    assert!(listed["items"].as_array().unwrap().iter().any(|u| u["upload_id"] == json!(id)), "{listed}");
    let mut bulk = Vec::new();
    for (i, chunk) in data.chunks(PART as usize).enumerate() {
        let n = i as u32 + 1;
        let url = json_of(app.api(Method::GET, &format!("/v2/upload/multipart/{id}/part/{n}/")).send().await.unwrap(), 200).await;
        let put = app.put(&url, chunk.to_vec()).await;
        assert_eq!(put.status(), 200);
        let report = json!({"part_number": n, "response": {"headers": {"ETag": put.headers()["etag"].to_str().unwrap()}}});
        if n == 1 {
            // One part reported alone, as sevenbridges-python does: `POST .../part/`.
            json_of(app.api(Method::POST, &format!("/v2/upload/multipart/{id}/part/")).json(&report).send().await.unwrap(), 200).await;
        } else {
            bulk.push(report);
        }
    }
    json_of(app.api(Method::POST, &format!("/v2/upload/multipart/{id}/")).json(&json!({"parts": bulk})).send().await.unwrap(), 200).await;
    let details = json_of(app.api(Method::GET, &format!("/v2/upload/multipart/{id}/?list_parts=true")).send().await.unwrap(), 200).await;
    assert_eq!(details["parts"].as_array().unwrap().len(), 3, "{details}");
    let file = json_of(app.api(Method::POST, &format!("/v2/upload/multipart/{id}/complete/")).send().await.unwrap(), 200).await;
    let file_id = file["id"].as_str().unwrap();
    let got = json_of(app.api(Method::GET, &format!("/v2/files/{file_id}/")).send().await.unwrap(), 200).await;
    assert_eq!(got["size"], json!(data.len()));
    let files = json_of(app.api(Method::GET, &format!("/v2/files/?project={PROJECT}")).send().await.unwrap(), 200).await;
    assert!(files["items"].as_array().unwrap().iter().any(|f| f["id"] == json!(file_id)), "{files}");
    let info = json_of(app.api(Method::GET, &format!("/v2/files/{file_id}/download_info/")).send().await.unwrap(), 200).await;
    assert_eq!(app.http.get(info["url"].as_str().unwrap()).send().await.unwrap().bytes().await.unwrap().to_vec(), data);

    // Abort with a slash: the upload is gone.
    let other = app.init(PROJECT, "gone.bam", 10).await["upload_id"].as_str().unwrap().to_owned();
    assert_eq!(app.api(Method::DELETE, &format!("/v2/upload/multipart/{other}/")).send().await.unwrap().status(), 204);
    error_of(app.api(Method::GET, &format!("/v2/upload/multipart/{other}")).send().await.unwrap(), 404, 8003).await;
    // A slash is not a wildcard: two are not accepted, nor an unknown tail.
    assert_eq!(app.api(Method::GET, &format!("/v2/files/{file_id}//")).send().await.unwrap().status(), 404);
    assert_eq!(app.api(Method::GET, &format!("/v2/files/{file_id}/x/")).send().await.unwrap().status(), 404);
}

#[tokio::test]
async fn a_project_configured_at_start_lists_empty_and_others_are_still_unknown() {
    let dir = data_dir();
    let app = spawn(dir.path(), |c| c.projects = vec!["demo/empty".into()]).await;
    let resp = app.api(Method::GET, "/v2/files?project=demo%2Fempty").send().await.unwrap();
    assert_eq!(resp.headers()["x-total-matching-query"], "0");
    let page = json_of(resp, 200).await;
    assert_eq!(page["items"], json!([]));
    error_of(app.api(Method::GET, "/v2/files?project=demo/other").send().await.unwrap(), 404, 3002).await;
}
