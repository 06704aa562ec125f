//! Fault injection of the local store (`--fault-*`): injected failures really reach the client,
//! store nothing, and are counted at `GET /_local/stats`.

use crate::store_common;

use std::net::SocketAddr;

use aws_sdk_omics::types::{FileType, ReadSetPartSource};
use clap::Parser;
use readset_server::local::omics::{self as store, Faults};
use store_common::*;

struct Fixture {
    _dir: tempfile::TempDir,
    addr: SocketAddr,
    _task: tokio::task::JoinHandle<()>,
    store: String,
    upload: String,
}

async fn fixture(faults: Faults) -> Fixture {
    fixture_with(faults, store::PartChecksums::Hex).await
}

async fn fixture_with(faults: Faults, part_checksums: store::PartChecksums) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let cfg = store::StoreConfig { faults, part_checksums, ..config(dir.path()) };
    let app = store::app(cfg).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let c = client(addr);
    let store = c.create_sequence_store().name("faults").send().await.unwrap().id().to_string();
    let upload = c
        .create_multipart_read_set_upload()
        .sequence_store_id(&store)
        .name("u")
        .sample_id("s")
        .subject_id("s")
        .source_file_type(FileType::Fastq)
        .send()
        .await
        .unwrap()
        .upload_id()
        .to_string();
    Fixture { _dir: dir, addr, _task: task, store, upload }
}

impl Fixture {
    fn part(&self, n: u32, body: &[u8]) -> Raw {
        Raw::new("PUT", format!("/sequencestore/{}/upload/{}/part?partSource=SOURCE1&partNumber={n}", self.store, self.upload), body.to_vec())
    }

    async fn stats(&self) -> serde_json::Value {
        reqwest::get(format!("http://{}/_local/stats", self.addr)).await.unwrap().json().await.unwrap()
    }

    async fn stored_parts(&self) -> usize {
        client(self.addr)
            .list_read_set_upload_parts()
            .sequence_store_id(&self.store)
            .upload_id(&self.upload)
            .part_source(ReadSetPartSource::Source1)
            .send()
            .await
            .unwrap()
            .parts()
            .len()
    }
}

#[tokio::test]
async fn without_faults_part_requests_are_counted_and_stored() {
    let f = fixture(Faults::default()).await;
    for n in 1..=3 {
        assert_eq!(send_signed(f.addr, &f.part(n, b"abc")).await.status, 200);
    }
    let s = f.stats().await;
    assert_eq!(s["partRequests"], 3);
    assert_eq!(s["partsStored"], 3);
    assert_eq!(f.stored_parts().await, 3);
}

#[tokio::test]
async fn an_error_rate_of_one_answers_every_part_500_or_503_and_stores_nothing() {
    let f = fixture(Faults { part_error_rate: 1.0, ..Faults::default() }).await;
    let mut statuses = Vec::new();
    for n in 1..=4 {
        let a = send_signed(f.addr, &f.part(n, &[7u8; 1000])).await;
        assert!(a.error_type.is_some(), "an injected error names its type");
        statuses.push(a.status);
    }
    assert!(statuses.iter().all(|s| *s == 500 || *s == 503), "{statuses:?}");
    assert!(statuses.contains(&500) && statuses.contains(&503), "both kinds occur: {statuses:?}");
    assert_eq!(f.stored_parts().await, 0);
    let s = f.stats().await;
    assert_eq!(s["partRequests"], 4);
    assert_eq!(s["injected"]["errors"], 4);
    assert_eq!(s["partsStored"], 0);
}

#[tokio::test]
async fn requests_over_the_throttle_rate_get_429_with_retry_after_and_are_not_stored() {
    let f = fixture(Faults { throttle_rps: Some(1), ..Faults::default() }).await;
    let mut throttled = None;
    // At most one request per second is admitted: within 50 back-to-back requests one is refused.
    for n in 1..=50 {
        let a = send_signed(f.addr, &f.part(n, b"xyz")).await;
        if a.status == 429 {
            throttled = Some(a);
            break;
        }
        assert_eq!(a.status, 200);
    }
    let a = throttled.expect("a request over the limit was throttled");
    assert_eq!(a.error_type.as_deref(), Some("ThrottlingException"));
    assert_eq!(a.headers.get("retry-after").unwrap(), "1");
    let s = f.stats().await;
    assert_eq!(s["injected"]["throttled"], 1);
    assert_eq!(f.stored_parts().await as u64, s["partsStored"].as_u64().unwrap());
}

#[tokio::test]
async fn a_dropped_connection_fails_the_request_and_stores_nothing() {
    let f = fixture(Faults { drop_rate: 1.0, ..Faults::default() }).await;
    let raw = f.part(1, &vec![1u8; 256 * 1024]);
    let h = sign(f.addr, &raw, store::DEFAULT_SECRET_ACCESS_KEY, std::time::SystemTime::now(), false);
    let mut req = reqwest::Client::new().put(format!("http://{}{}", f.addr, raw.path_and_query));
    for (k, v) in &h {
        req = req.header(k, v);
    }
    let outcome = match req.body(raw.body.clone()).send().await {
        Ok(resp) => resp.bytes().await.map(|_| ()),
        Err(e) => Err(e),
    };
    assert!(outcome.is_err(), "the connection must die before a complete answer");
    assert_eq!(f.stored_parts().await, 0);
    assert_eq!(f.stats().await["injected"]["dropped"], 1);
}

/// `--part-checksums base64` (the AWS case): the part's SHA-256 in base64, listed the same way,
/// the only form Complete accepts; the hex form, which a client could verify, is refused.
#[tokio::test]
async fn base64_part_checksums_are_returned_listed_and_required_by_complete() {
    use base64::Engine;
    use sha2::Digest;
    let f = fixture_with(Faults::default(), store::PartChecksums::Base64).await;
    let gz = gzip(&fastq(200, 100, "b64"));
    let a = send_signed(f.addr, &f.part(1, &gz)).await;
    assert_eq!(a.status, 200, "{}", a.message());
    let digest = sha2::Sha256::digest(&gz);
    let want = base64::engine::general_purpose::STANDARD.encode(digest);
    let got: serde_json::Value = serde_json::from_str(&a.body).unwrap();
    assert_eq!(got["checksum"], want.as_str());
    assert_eq!(want.len(), 44);

    let c = client(f.addr);
    let listed = c
        .list_read_set_upload_parts()
        .sequence_store_id(&f.store)
        .upload_id(&f.upload)
        .part_source(ReadSetPartSource::Source1)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.parts()[0].checksum(), want.as_str());

    let part = |sum: &str| {
        aws_sdk_omics::types::CompleteReadSetUploadPartListItem::builder()
            .part_number(1)
            .part_source(ReadSetPartSource::Source1)
            .checksum(sum)
            .build()
            .unwrap()
    };
    let complete = |sum: String| c.complete_multipart_read_set_upload().sequence_store_id(&f.store).upload_id(&f.upload).parts(part(&sum)).send();
    let refused = complete(hex::encode(digest)).await.expect_err("the hex form is not what this store returned");
    assert!(format!("{refused:?}").contains("does not match"), "{refused:?}");
    let id = complete(want.clone()).await.expect("the returned checksum completes the upload").read_set_id().to_string();
    let m = poll("read set ACTIVE", || async {
        let m = c.get_read_set_metadata().sequence_store_id(&f.store).id(&id).send().await.unwrap();
        (m.status() != &aws_sdk_omics::types::ReadSetStatus::ProcessingUpload).then_some(m)
    })
    .await;
    assert_eq!(m.status(), &aws_sdk_omics::types::ReadSetStatus::Active, "{:?}", m.status_message());
}

#[test]
fn part_checksum_flag_parses_and_unknown_forms_are_refused() {
    use readset_server::cli::{Cli, Command};
    let cli = Cli::try_parse_from(["readset-server", "store", "--part-checksums", "base64"]).unwrap();
    let Command::Store(a) = cli.command else { panic!("store") };
    assert_eq!(a.config(a.listen).unwrap().part_checksums, store::PartChecksums::Base64);
    let Command::Store(a) = Cli::try_parse_from(["readset-server", "store"]).unwrap().command else { panic!("store") };
    assert_eq!(a.part_checksums, store::PartChecksums::Hex, "verifiable checksums stay the default");
    let Command::Demo(d) = Cli::try_parse_from(["readset-server", "demo", "--part-checksums", "base64"]).unwrap().command else { panic!("demo") };
    assert_eq!(d.part_checksums, store::PartChecksums::Base64);
    let err = Cli::try_parse_from(["readset-server", "store", "--part-checksums", "md5"]).unwrap_err().to_string();
    assert!(err.contains("hex") && err.contains("base64"), "{err}");
}

#[test]
fn fault_flags_parse_and_out_of_range_rates_are_refused() {
    let cli = readset_server::cli::Cli::try_parse_from([
        "readset-server", "store", "--fault-part-error-rate", "0.1", "--fault-throttle-rps", "5", "--fault-drop-rate", "0.05", "--fault-latency-ms", "20",
    ])
    .unwrap();
    let readset_server::cli::Command::Store(args) = cli.command else { panic!("store") };
    assert_eq!(args.faults.part_error_rate, 0.1);
    assert_eq!(args.faults.throttle_rps, Some(5));
    assert_eq!(args.faults.drop_rate, 0.05);
    assert_eq!(args.faults.latency_ms, 20);
    assert_eq!(args.config(args.listen).unwrap().faults.throttle_rps, Some(5));
    let err = readset_server::cli::Cli::try_parse_from(["readset-server", "demo", "--fault-part-error-rate", "1.5"]).unwrap_err();
    assert!(err.to_string().contains("not a fraction between 0 and 1"), "{err}");
    assert!(readset_server::cli::Cli::try_parse_from(["readset-server", "demo", "--fault-throttle-rps", "3"]).is_ok());
}
