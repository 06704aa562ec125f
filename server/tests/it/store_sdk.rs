//! The local store driven through the official AWS SDK for Rust (`aws-sdk-omics`), unmodified,
//! pointed at a store on 127.0.0.1:0 (see `store_common::StripHostPrefix` for the host prefix).

use crate::store_common;

use std::collections::HashMap;

use aws_sdk_omics::primitives::{ByteStream, DateTime};
use aws_sdk_omics::types::{
    CompleteReadSetUploadPartListItem as Listed, ETagAlgorithm, ETagAlgorithmFamily, FileType, ReadSetFilter,
    ReadSetPartSource, ReadSetStatus, ReadSetUploadPartListFilter, SequenceStoreFilter,
};
use md5::{Digest, Md5};
use sha2::{Sha256, Sha512};
use store_common::*;

type Client = aws_sdk_omics::Client;

async fn new_store(c: &Client, name: &str, family: ETagAlgorithmFamily) -> String {
    c.create_sequence_store().name(name).e_tag_algorithm_family(family).send().await.unwrap().id().to_string()
}

async fn create_upload(c: &Client, store: &str, name: &str, ft: FileType) -> String {
    c.create_multipart_read_set_upload()
        .sequence_store_id(store)
        .name(name)
        .sample_id("sample-1")
        .subject_id("subject-1")
        .source_file_type(ft)
        .tags("project", "p1")
        .send()
        .await
        .unwrap()
        .upload_id()
        .to_string()
}

async fn put_part(c: &Client, store: &str, upload: &str, src: ReadSetPartSource, n: i32, bytes: Vec<u8>) -> String {
    c.upload_read_set_part()
        .sequence_store_id(store)
        .upload_id(upload)
        .part_source(src)
        .part_number(n)
        .payload(ByteStream::from(bytes))
        .send()
        .await
        .unwrap()
        .checksum()
        .to_string()
}

fn listed(src: ReadSetPartSource, n: i32, checksum: &str) -> Listed {
    Listed::builder().part_source(src).part_number(n).checksum(checksum).build().unwrap()
}

async fn wait_status(c: &Client, store: &str, id: &str) -> aws_sdk_omics::operation::get_read_set_metadata::GetReadSetMetadataOutput {
    poll("read set to leave PROCESSING_UPLOAD", || async {
        let m = c.get_read_set_metadata().sequence_store_id(store).id(id).send().await.unwrap();
        (m.status() != &ReadSetStatus::ProcessingUpload).then_some(m)
    })
    .await
}

#[tokio::test]
async fn sequence_store_lifecycle_create_get_list_update_delete() {
    let dir = tempfile::tempdir().unwrap();
    let s = spawn(dir.path()).await;
    let c = client(s.addr);

    let created = c
        .create_sequence_store()
        .name("first")
        .description("a store")
        .e_tag_algorithm_family(ETagAlgorithmFamily::Sha256Up)
        .tags("team", "genomics")
        .send()
        .await
        .unwrap();
    let id = created.id().to_string();
    assert!(id.len() >= 10 && id.bytes().all(|b| b.is_ascii_digit()), "{id}");
    assert_eq!(created.e_tag_algorithm_family(), Some(&ETagAlgorithmFamily::Sha256Up));
    assert!(created.arn().ends_with(&format!("sequenceStore/{id}")));

    let got = c.get_sequence_store().id(&id).send().await.unwrap();
    assert_eq!(got.name(), Some("first"));
    assert_eq!(got.description(), Some("a store"));
    assert!(got.creation_time().secs() > 1_600_000_000);

    // Default family is MD5up.
    let second = c.create_sequence_store().name("second").send().await.unwrap();
    assert_eq!(second.e_tag_algorithm_family(), Some(&ETagAlgorithmFamily::Md5Up));
    c.create_sequence_store().name("third").send().await.unwrap();

    // Pagination: 3 stores, 2 per page.
    let p1 = c.list_sequence_stores().max_results(2).send().await.unwrap();
    assert_eq!(p1.sequence_stores().len(), 2);
    let token = p1.next_token().expect("a second page").to_string();
    let p2 = c.list_sequence_stores().max_results(2).next_token(token).send().await.unwrap();
    assert_eq!(p2.sequence_stores().len(), 1);
    assert!(p2.next_token().is_none());
    let filtered = c
        .list_sequence_stores()
        .filter(SequenceStoreFilter::builder().name("second").build())
        .send()
        .await
        .unwrap();
    assert_eq!(filtered.sequence_stores().len(), 1);
    assert_eq!(filtered.sequence_stores()[0].id(), second.id());

    let updated = c.update_sequence_store().id(&id).name("renamed").description("new words").send().await.unwrap();
    assert_eq!(updated.name(), Some("renamed"));
    assert_eq!(c.get_sequence_store().id(&id).send().await.unwrap().description(), Some("new words"));

    c.delete_sequence_store().id(&id).send().await.unwrap();
    let err = c.get_sequence_store().id(&id).send().await.unwrap_err().into_service_error();
    assert!(err.is_resource_not_found_exception(), "{err:?}");
}

fn digest(family: &ETagAlgorithmFamily, b: &[u8]) -> String {
    match family {
        ETagAlgorithmFamily::Sha256Up => hex::encode(Sha256::digest(b)),
        ETagAlgorithmFamily::Sha512Up => hex::encode(Sha512::digest(b)),
        _ => hex::encode(Md5::digest(b)),
    }
}

fn decompressed(gz: &[u8]) -> Vec<u8> {
    use std::io::Read;
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(gz).read_to_end(&mut out).unwrap();
    out
}

#[tokio::test]
async fn paired_fastq_multipart_upload_etags_equal_digests_of_the_decompressed_input() {
    let dir = tempfile::tempdir().unwrap();
    let s = spawn(dir.path()).await;
    let c = client(s.addr);
    for family in [ETagAlgorithmFamily::Md5Up, ETagAlgorithmFamily::Sha512Up] {
        let store = new_store(&c, "paired", family.clone()).await;
        let upload = create_upload(&c, &store, "pair-1", FileType::Fastq).await;

        // SOURCE1: two gzip members (as `cat a.gz b.gz`), split into 3 parts at odd offsets.
        let r1a = fastq(300, 100, "m1a");
        let r1b = fastq(200, 150, "m1b");
        let mut gz1 = gzip(&r1a);
        gz1.extend(gzip(&r1b));
        let cut1 = gz1.len() / 3;
        let cut2 = 2 * gz1.len() / 3 + 7;
        let parts1 = [gz1[..cut1].to_vec(), gz1[cut1..cut2].to_vec(), gz1[cut2..].to_vec()];
        // SOURCE2: one member in 2 parts.
        let gz2 = gzip(&fastq(500, 120, "m2"));
        let parts2 = [gz2[..gz2.len() / 2].to_vec(), gz2[gz2.len() / 2..].to_vec()];

        // All five parts at once, last first.
        let mut sends = Vec::new();
        for (i, p) in parts1.iter().enumerate().rev() {
            sends.push((ReadSetPartSource::Source1, i as i32 + 1, p.clone()));
        }
        for (i, p) in parts2.iter().enumerate() {
            sends.push((ReadSetPartSource::Source2, i as i32 + 1, p.clone()));
        }
        let futs = sends.iter().map(|(src, n, b)| put_part(&c, &store, &upload, src.clone(), *n, b.clone()));
        let checksums = futures_util::future::join_all(futs).await;
        for ((_, _, b), sum) in sends.iter().zip(&checksums) {
            assert_eq!(sum, &sha256_hex(b), "part checksum is the hex SHA-256 of the part");
        }

        let uploads = c.list_multipart_read_set_uploads().sequence_store_id(&store).send().await.unwrap();
        assert_eq!(uploads.uploads().len(), 1);
        assert_eq!(uploads.uploads()[0].upload_id(), upload);
        let listed1 = c
            .list_read_set_upload_parts()
            .sequence_store_id(&store)
            .upload_id(&upload)
            .part_source(ReadSetPartSource::Source1)
            .send()
            .await
            .unwrap();
        let numbers: Vec<i32> = listed1.parts().iter().map(|p| p.part_number()).collect();
        assert_eq!(numbers, vec![1, 2, 3]);
        assert_eq!(listed1.parts()[1].part_size(), parts1[1].len() as i64);
        assert_eq!(listed1.parts()[1].checksum(), sha256_hex(&parts1[1]));

        let mut complete = c.complete_multipart_read_set_upload().sequence_store_id(&store).upload_id(&upload);
        for ((src, n, _), sum) in sends.iter().zip(&checksums) {
            complete = complete.parts(listed(src.clone(), *n, sum));
        }
        let read_set = complete.send().await.unwrap().read_set_id().to_string();

        let m = wait_status(&c, &store, &read_set).await;
        assert_eq!(m.status(), &ReadSetStatus::Active, "{:?}", m.status_message());
        let etag = m.etag().expect("etag");
        let want_alg = if family == ETagAlgorithmFamily::Md5Up { ETagAlgorithm::FastqMd5Up } else { ETagAlgorithm::FastqSha512Up };
        assert_eq!(etag.algorithm(), Some(&want_alg));
        let want1 = digest(&family, &decompressed(&gz1));
        assert_eq!(decompressed(&gz1), [r1a.clone(), r1b.clone()].concat());
        assert_eq!(etag.source1(), Some(want1.as_str()));
        assert_eq!(etag.source2(), Some(digest(&family, &decompressed(&gz2)).as_str()));
        let info = m.sequence_information().expect("sequenceInformation");
        assert_eq!(info.total_read_count(), Some(300 + 200 + 500));
        assert_eq!(info.total_base_count(), Some(300 * 100 + 200 * 150 + 500 * 120));
        let files = m.files().unwrap();
        assert_eq!(files.source1().unwrap().content_length(), Some(gz1.len() as i64));
        assert_eq!(files.source2().unwrap().content_length(), Some(gz2.len() as i64));
        assert_eq!(m.file_type(), &FileType::Fastq);

        // Download: part 1 of each source is the whole uploaded file (< 100 MiB).
        let got = c
            .get_read_set()
            .sequence_store_id(&store)
            .id(&read_set)
            .file(aws_sdk_omics::types::ReadSetFile::Source2)
            .part_number(1)
            .send()
            .await
            .unwrap();
        assert_eq!(got.payload.collect().await.unwrap().into_bytes().to_vec(), gz2);

        // The upload is no longer in progress; its tags went to the read set.
        let uploads = c.list_multipart_read_set_uploads().sequence_store_id(&store).send().await.unwrap();
        assert!(uploads.uploads().is_empty());
        let tags = c.list_tags_for_resource().resource_arn(m.arn()).send().await.unwrap();
        assert_eq!(tags.tags().get("project").map(String::as_str), Some("p1"));
    }
}

#[tokio::test]
async fn list_read_sets_applies_every_filter_and_paginates() {
    let dir = tempfile::tempdir().unwrap();
    let s = spawn(dir.path()).await;
    let c = client(s.addr);
    let store = new_store(&c, "filters", ETagAlgorithmFamily::Md5Up).await;
    let before = DateTime::from_secs(DateTime::from(std::time::SystemTime::now()).secs() - 60);
    let mut ids = Vec::new();
    for i in 0..3 {
        let up = c
            .create_multipart_read_set_upload()
            .sequence_store_id(&store)
            .name(format!("rs-{i}"))
            .sample_id(format!("sample-{}", i % 2))
            .subject_id("subj")
            .generated_from(format!("run-{i}"))
            .source_file_type(FileType::Fastq)
            .send()
            .await
            .unwrap()
            .upload_id()
            .to_string();
        let body = if i == 2 { b"not gzip at all".to_vec() } else { gzip(&fastq(10, 50, "x")) };
        let sum = put_part(&c, &store, &up, ReadSetPartSource::Source1, 1, body).await;
        let id = c
            .complete_multipart_read_set_upload()
            .sequence_store_id(&store)
            .upload_id(&up)
            .parts(listed(ReadSetPartSource::Source1, 1, &sum))
            .send()
            .await
            .unwrap()
            .read_set_id()
            .to_string();
        wait_status(&c, &store, &id).await;
        ids.push(id);
    }
    let list = |f: ReadSetFilter| {
        let c = c.clone();
        let store = store.clone();
        async move {
            let out = c.list_read_sets().sequence_store_id(store).filter(f).send().await.unwrap();
            let mut v: Vec<String> = out.read_sets().iter().map(|r| r.id().to_string()).collect();
            v.sort();
            v
        }
    };
    let sorted = |v: &[&String]| {
        let mut v: Vec<String> = v.iter().map(|s| s.to_string()).collect();
        v.sort();
        v
    };
    assert_eq!(list(ReadSetFilter::builder().name("rs-1").build()).await, sorted(&[&ids[1]]));
    assert_eq!(list(ReadSetFilter::builder().sample_id("sample-0").build()).await, sorted(&[&ids[0], &ids[2]]));
    assert_eq!(list(ReadSetFilter::builder().subject_id("subj").build()).await.len(), 3);
    assert_eq!(list(ReadSetFilter::builder().subject_id("other").build()).await.len(), 0);
    assert_eq!(list(ReadSetFilter::builder().generated_from("run-2").build()).await, sorted(&[&ids[2]]));
    assert_eq!(list(ReadSetFilter::builder().status(ReadSetStatus::UploadFailed).build()).await, sorted(&[&ids[2]]));
    assert_eq!(list(ReadSetFilter::builder().status(ReadSetStatus::Active).build()).await, sorted(&[&ids[0], &ids[1]]));
    assert_eq!(
        list(ReadSetFilter::builder().creation_type(aws_sdk_omics::types::CreationType::Upload).build()).await.len(),
        3
    );
    assert_eq!(
        list(ReadSetFilter::builder().creation_type(aws_sdk_omics::types::CreationType::Import).build()).await.len(),
        0
    );
    assert_eq!(list(ReadSetFilter::builder().created_after(before).build()).await.len(), 3);
    assert_eq!(list(ReadSetFilter::builder().created_before(before).build()).await.len(), 0);
    assert_eq!(list(ReadSetFilter::builder().reference_arn("arn:aws:omics:us-east-1:0:referenceStore/1/reference/1").build()).await.len(), 0);

    // The non-gzip FASTQ says why it failed.
    let failed = c.get_read_set_metadata().sequence_store_id(&store).id(&ids[2]).send().await.unwrap();
    assert_eq!(failed.status(), &ReadSetStatus::UploadFailed);
    assert!(failed.status_message().unwrap().contains("not gzip"), "{:?}", failed.status_message());

    // Pages of one.
    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    for _ in 0..5 {
        let out = c.list_read_sets().sequence_store_id(&store).max_results(1).set_next_token(token.clone()).send().await.unwrap();
        assert_eq!(out.read_sets().len(), 1);
        seen.push(out.read_sets()[0].id().to_string());
        token = out.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    seen.sort();
    assert_eq!(seen, sorted(&ids.iter().collect::<Vec<_>>()));

    // Batch delete: two known, one unknown (reported, not fatal).
    let out = c
        .batch_delete_read_set()
        .sequence_store_id(&store)
        .ids(&ids[0])
        .ids(&ids[1])
        .ids("9999999999")
        .send()
        .await
        .unwrap();
    assert_eq!(out.errors().len(), 1);
    assert_eq!(out.errors()[0].id(), "9999999999");
    assert_eq!(list(ReadSetFilter::builder().build()).await, sorted(&[&ids[2]]));
    let gone = c.get_read_set_metadata().sequence_store_id(&store).id(&ids[0]).send().await.unwrap_err().into_service_error();
    assert!(gone.is_resource_not_found_exception(), "{gone:?}");
}

#[tokio::test]
async fn upload_survives_a_restart_in_the_middle_and_then_completes() {
    let dir = tempfile::tempdir().unwrap();
    let gz = gzip(&fastq(400, 80, "restart"));
    let (p1, p2) = gz.split_at(gz.len() / 2);
    let (store, upload, sum1) = {
        let s = spawn(dir.path()).await;
        let c = client(s.addr);
        let store = new_store(&c, "restart", ETagAlgorithmFamily::Sha256Up).await;
        let upload = create_upload(&c, &store, "r", FileType::Fastq).await;
        let sum1 = put_part(&c, &store, &upload, ReadSetPartSource::Source1, 1, p1.to_vec()).await;
        (store, upload, sum1)
        // the server is dropped (aborted) here
    };
    let s = spawn(dir.path()).await;
    let c = client(s.addr);
    let parts = c
        .list_read_set_upload_parts()
        .sequence_store_id(&store)
        .upload_id(&upload)
        .part_source(ReadSetPartSource::Source1)
        .filter(ReadSetUploadPartListFilter::builder().build())
        .send()
        .await
        .unwrap();
    assert_eq!(parts.parts().len(), 1);
    assert_eq!(parts.parts()[0].checksum(), sum1);
    let sum2 = put_part(&c, &store, &upload, ReadSetPartSource::Source1, 2, p2.to_vec()).await;
    let id = c
        .complete_multipart_read_set_upload()
        .sequence_store_id(&store)
        .upload_id(&upload)
        .parts(listed(ReadSetPartSource::Source1, 1, &sum1))
        .parts(listed(ReadSetPartSource::Source1, 2, &sum2))
        .send()
        .await
        .unwrap()
        .read_set_id()
        .to_string();
    let m = wait_status(&c, &store, &id).await;
    assert_eq!(m.status(), &ReadSetStatus::Active, "{:?}", m.status_message());
    assert_eq!(m.etag().unwrap().source1(), Some(hex::encode(Sha256::digest(decompressed(&gz))).as_str()));
    assert_eq!(m.etag().unwrap().algorithm(), Some(&ETagAlgorithm::FastqSha256Up));
}

#[tokio::test]
async fn resending_a_part_number_replaces_it_and_abort_ends_the_upload() {
    let dir = tempfile::tempdir().unwrap();
    let s = spawn(dir.path()).await;
    let c = client(s.addr);
    let store = new_store(&c, "resend", ETagAlgorithmFamily::Md5Up).await;
    let upload = create_upload(&c, &store, "x", FileType::Fastq).await;
    let old = put_part(&c, &store, &upload, ReadSetPartSource::Source1, 1, b"first bytes".to_vec()).await;
    let new = put_part(&c, &store, &upload, ReadSetPartSource::Source1, 1, b"second bytes".to_vec()).await;
    assert_ne!(old, new);
    let parts = c
        .list_read_set_upload_parts()
        .sequence_store_id(&store)
        .upload_id(&upload)
        .part_source(ReadSetPartSource::Source1)
        .send()
        .await
        .unwrap();
    assert_eq!(parts.parts().len(), 1);
    assert_eq!(parts.parts()[0].checksum(), new);
    assert_eq!(parts.parts()[0].part_size(), b"second bytes".len() as i64);

    c.abort_multipart_read_set_upload().sequence_store_id(&store).upload_id(&upload).send().await.unwrap();
    assert!(c.list_multipart_read_set_uploads().sequence_store_id(&store).send().await.unwrap().uploads().is_empty());
    let err = c
        .upload_read_set_part()
        .sequence_store_id(&store)
        .upload_id(&upload)
        .part_source(ReadSetPartSource::Source1)
        .part_number(2)
        .payload(ByteStream::from_static(b"late"))
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_resource_not_found_exception(), "{err:?}");
}

#[tokio::test]
async fn tags_on_stores_and_read_sets_can_be_added_listed_and_removed() {
    let dir = tempfile::tempdir().unwrap();
    let s = spawn(dir.path()).await;
    let c = client(s.addr);
    let created = c.create_sequence_store().name("tagged").tags("a", "1").send().await.unwrap();
    let arn = created.arn().to_string();
    c.tag_resource().resource_arn(&arn).tags("b", "2").tags("c", "").send().await.unwrap();
    let tags = c.list_tags_for_resource().resource_arn(&arn).send().await.unwrap();
    let want: HashMap<String, String> = [("a", "1"), ("b", "2"), ("c", "")].iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    assert_eq!(tags.tags(), &want);
    c.untag_resource().resource_arn(&arn).tag_keys("a").tag_keys("c").send().await.unwrap();
    let tags = c.list_tags_for_resource().resource_arn(&arn).send().await.unwrap();
    assert_eq!(tags.tags().keys().collect::<Vec<_>>(), vec!["b"]);

    let store = created.id().to_string();
    let upload = create_upload(&c, &store, "t", FileType::Fastq).await;
    let sum = put_part(&c, &store, &upload, ReadSetPartSource::Source1, 1, gzip(&fastq(3, 10, "t"))).await;
    let id = c
        .complete_multipart_read_set_upload()
        .sequence_store_id(&store)
        .upload_id(&upload)
        .parts(listed(ReadSetPartSource::Source1, 1, &sum))
        .send()
        .await
        .unwrap()
        .read_set_id()
        .to_string();
    let m = wait_status(&c, &store, &id).await;
    c.tag_resource().resource_arn(m.arn()).tags("qc", "passed").send().await.unwrap();
    let tags = c.list_tags_for_resource().resource_arn(m.arn()).send().await.unwrap();
    assert_eq!(tags.tags().get("qc").map(String::as_str), Some("passed"));
    assert_eq!(tags.tags().get("project").map(String::as_str), Some("p1"));

    let unknown = format!("{arn}/readSet/1234567890");
    let err = c.list_tags_for_resource().resource_arn(unknown).send().await.unwrap_err().into_service_error();
    assert!(err.is_resource_not_found_exception(), "{err:?}");
}

#[tokio::test]
async fn import_export_and_activation_jobs_run_to_completed_or_failed_with_a_message() {
    use aws_sdk_omics::types::{
        ExportReadSet, ImportReadSetFilter, ReadSetActivationJobStatus, ReadSetExportJobStatus, ReadSetImportJobStatus,
        SourceFiles, StartReadSetActivationJobSourceItem, StartReadSetImportJobSourceItem,
    };
    let dir = tempfile::tempdir().unwrap();
    let s = spawn(dir.path()).await;
    let c = client(s.addr);
    let store = new_store(&c, "jobs", ETagAlgorithmFamily::Sha256Up).await;
    let role = "arn:aws:iam::000000000000:role/omics-import";

    // s3://lab-bucket/run1/r1.fastq.gz is the file {data}/s3/lab-bucket/run1/r1.fastq.gz.
    let text = fastq(50, 60, "imp");
    let gz = gzip(&text);
    std::fs::create_dir_all(dir.path().join("s3/lab-bucket/run1")).unwrap();
    std::fs::write(dir.path().join("s3/lab-bucket/run1/r1.fastq.gz"), &gz).unwrap();
    let source = |uri: &str| {
        StartReadSetImportJobSourceItem::builder()
            .source_files(SourceFiles::builder().source1(uri).build().unwrap())
            .source_file_type(FileType::Fastq)
            .subject_id("subj")
            .sample_id("samp")
            .name("imported")
            .build()
            .unwrap()
    };
    let job = c
        .start_read_set_import_job()
        .sequence_store_id(&store)
        .role_arn(role)
        .sources(source("s3://lab-bucket/run1/r1.fastq.gz"))
        .sources(source("s3://lab-bucket/run1/missing.fastq.gz"))
        .send()
        .await
        .unwrap();
    assert_eq!(job.status(), &ReadSetImportJobStatus::Submitted);
    let done = poll("import job to finish", || async {
        let j = c.get_read_set_import_job().sequence_store_id(&store).id(job.id()).send().await.unwrap();
        j.completion_time().is_some().then_some(j)
    })
    .await;
    assert_eq!(done.status(), &ReadSetImportJobStatus::CompletedWithFailures, "{:?}", done.status_message());
    let ok = &done.sources()[0];
    let missing = &done.sources()[1];
    assert!(missing.status_message().unwrap().contains("missing.fastq.gz"), "{:?}", missing.status_message());
    let imported = ok.read_set_id().expect("read set of the imported source");
    let m = c.get_read_set_metadata().sequence_store_id(&store).id(imported).send().await.unwrap();
    assert_eq!(m.status(), &ReadSetStatus::Active);
    assert_eq!(m.creation_type(), Some(&aws_sdk_omics::types::CreationType::Import));
    assert_eq!(m.etag().unwrap().source1(), Some(hex::encode(Sha256::digest(&text)).as_str()));

    // Only a missing source: FAILED with a message.
    let failing = c
        .start_read_set_import_job()
        .sequence_store_id(&store)
        .role_arn(role)
        .sources(source("s3://lab-bucket/nothing/here.fastq.gz"))
        .send()
        .await
        .unwrap();
    let failed = poll("failing import to finish", || async {
        let j = c.get_read_set_import_job().sequence_store_id(&store).id(failing.id()).send().await.unwrap();
        j.completion_time().is_some().then_some(j)
    })
    .await;
    assert_eq!(failed.status(), &ReadSetImportJobStatus::Failed);
    assert!(failed.status_message().unwrap().contains("does not exist"), "{:?}", failed.status_message());
    let listed = c
        .list_read_set_import_jobs()
        .sequence_store_id(&store)
        .filter(ImportReadSetFilter::builder().status(ReadSetImportJobStatus::Failed).build())
        .send()
        .await
        .unwrap();
    assert_eq!(listed.import_jobs().iter().map(|j| j.id()).collect::<Vec<_>>(), vec![failing.id()]);

    // Export to s3://lab-bucket/exports/ writes the read set's file there.
    let export = c
        .start_read_set_export_job()
        .sequence_store_id(&store)
        .role_arn(role)
        .destination("s3://lab-bucket/exports/")
        .sources(ExportReadSet::builder().read_set_id(imported).build().unwrap())
        .send()
        .await
        .unwrap();
    let exported = poll("export job to finish", || async {
        let j = c.get_read_set_export_job().sequence_store_id(&store).id(export.id()).send().await.unwrap();
        j.completion_time().is_some().then_some(j)
    })
    .await;
    assert_eq!(exported.status(), &ReadSetExportJobStatus::Completed, "{:?}", exported.status_message());
    let written = std::fs::read(dir.path().join(format!("s3/lab-bucket/exports/{imported}/source1.fastq.gz"))).unwrap();
    assert_eq!(written, gz);
    assert_eq!(c.list_read_set_export_jobs().sequence_store_id(&store).send().await.unwrap().export_jobs().len(), 1);

    // Activation of an active read set completes; of an unknown one fails.
    let act = c
        .start_read_set_activation_job()
        .sequence_store_id(&store)
        .sources(StartReadSetActivationJobSourceItem::builder().read_set_id(imported).build().unwrap())
        .send()
        .await
        .unwrap();
    let bad = c
        .start_read_set_activation_job()
        .sequence_store_id(&store)
        .sources(StartReadSetActivationJobSourceItem::builder().read_set_id("1111111111").build().unwrap())
        .send()
        .await
        .unwrap();
    let act_done = poll("activation to finish", || async {
        let j = c.get_read_set_activation_job().sequence_store_id(&store).id(act.id()).send().await.unwrap();
        j.completion_time().is_some().then_some(j)
    })
    .await;
    assert_eq!(act_done.status(), &ReadSetActivationJobStatus::Completed);
    let bad_done = poll("failing activation to finish", || async {
        let j = c.get_read_set_activation_job().sequence_store_id(&store).id(bad.id()).send().await.unwrap();
        j.completion_time().is_some().then_some(j)
    })
    .await;
    assert_eq!(bad_done.status(), &ReadSetActivationJobStatus::Failed);
    assert!(bad_done.status_message().unwrap().contains("not found"));
    let acts = c.list_read_set_activation_jobs().sequence_store_id(&store).max_results(1).send().await.unwrap();
    assert_eq!(acts.activation_jobs().len(), 1);
    assert!(acts.next_token().is_some());
}
