#!/usr/bin/env python3
"""The official clients, unmodified, against a real local store (plain HTTP, then TLS).

Starts `readset-server store` on 127.0.0.1 (a free port, a fresh data folder), then runs
sevenbridges-python, the AWS HealthOmics Transfer Manager (aws-healthomics-tools), the AWS CLI
and boto3 against it. Each check asserts what the client returns and what the store then holds
(the bytes in its data folder, ETags and metadata read back by another client), prints one
line, and the run ends with `peers: N passed, M failed` (exit 1 when any failed).

    READSET_SERVER=target/debug/readset-server .tools/peers-venv/bin/python tests/peers/peers.py

The only settings the clients get are the ones a user of the local store needs (README,
"Official clients against the local store"): the endpoint, the published local credentials or
token, `debug=True` for sevenbridges-python (it refuses plain http:// otherwise), and no host
prefixes for the AWS clients (`inject_host_prefix=False`, `AWS_DISABLE_HOST_PREFIX_INJECTION`).
Then a second store on TLS under the AWS host names (`run_https`): the clients with their
default endpoints and host prefixes, trusting a test CA (`AWS_CA_BUNDLE`, `REQUESTS_CA_BUNDLE`),
sevenbridges-python without `debug=True`.
"""

import gzip
import hashlib
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.error
import urllib.request
from pathlib import Path

MiB = 1024 * 1024
# The published local defaults (README): the local store is for tests, never real data.
ACCESS_KEY = "AKIDLOCALREADSETSTORE"
SECRET_KEY = "local-readset-store-secret-do-not-use-in-production"
SBG_TOKEN = "local-sbg-token-not-a-secret"
REGION = "us-east-1"
PROJECT = "peers/sbg-python"
# HealthOmics' part size, which the Transfer Manager uses: the big file needs two parts.
OMICS_PART = 100 * MiB
BIG_FASTQ_BYTES = OMICS_PART + 5 * MiB

VENV_BIN = Path(sys.executable).parent
results = []


def check(name, needs=()):
    """Runs the check `fn` once, prints one line, records the outcome; a check whose
    prerequisite failed fails too, saying which."""

    def wrap(fn):
        missing = [n for n in needs if n not in passed]
        start = time.monotonic()
        if missing:
            ok, detail = False, f"not run: needs {', '.join(missing)}"
        else:
            try:
                detail = fn() or ""
                ok = True
            except Exception as e:  # noqa: BLE001 - every failure is reported, none stops the run
                ok, detail = False, f"{type(e).__name__}: {e}"
                traceback.print_exc(file=sys.stderr)
        took = time.monotonic() - start
        print(f"{'PASS' if ok else 'FAIL'}  {name}{' (' + detail + ')' if detail else ''} [{took:.1f}s]", flush=True)
        results.append(ok)
        if ok:
            passed.add(name)
        return fn

    return wrap


passed = set()


def expect(cond, message):
    if not cond:
        raise AssertionError(message)


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(MiB), b""):
            h.update(block)
    return h.hexdigest()


def write_random(path, size, seed):
    """`size` pseudo-random bytes, written 1 MiB at a time."""
    rng = random.Random(seed)
    with open(path, "wb") as f:
        left = size
        while left:
            n = min(MiB, left)
            f.write(rng.randbytes(n))
            left -= n


def write_fastq_gz(path, min_gz_bytes=0, records=0, seed=1, level=6):
    """A gzipped FASTQ of `records` records, or of as many as make the gzip file at least
    `min_gz_bytes`, built in batches (bounded memory). Returns (records, MD5 of the
    decompressed FASTQ, bases)."""
    rng = random.Random(seed)
    pool = ["".join(rng.choice("ACGT") for _ in range(150)) for _ in range(64)]
    quals = ["".join(chr(33 + rng.randrange(2, 41)) for _ in range(150)) for _ in range(16)]
    md5 = hashlib.md5()
    count = bases = 0
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=level, mtime=0) as gz:
        while (records and count < records) or (min_gz_bytes and raw.tell() < min_gz_bytes):
            batch = []
            for _ in range(min(4096, records - count) if records else 4096):
                seq = pool[rng.randrange(64)]
                batch.append(f"@peer:{seed}:{count}\n{seq}\n+\n{quals[count % 16]}\n")
                count += 1
                bases += len(seq)
            data = "".join(batch).encode()
            md5.update(data)
            gz.write(data)
    return count, md5.hexdigest(), bases


class Store:
    """A `readset-server store` on 127.0.0.1:0 over a fresh data folder."""

    def __init__(self, binary, work, name="", extra=(), scheme="http"):
        self.data = work / f"data{name}"
        self.log_path = work / f"server{name}.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("READSET_")}
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [binary, "store", "--listen", "127.0.0.1:0", "--data", str(self.data), *extra],
            stdout=self.log, stderr=subprocess.STDOUT, env=env,
        )
        port = None
        for _ in range(600):  # at most 60 s
            m = re.search(rb"store listening addr=127\.0\.0\.1:(\d+)", self.log_path.read_bytes())
            if m:
                port = int(m.group(1))
                break
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        if port is None:
            self.stop()
            raise SystemExit(f"readset-server did not start:\n{self.log_path.read_text(errors='replace')}")
        self.port = port
        self.base = f"{scheme}://127.0.0.1:{port}"
        self.ssl = None  # an ssl.SSLContext trusting the test CA, for the TLS store

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()

    def sbg_raw(self, method, path):
        """A Seven Bridges API call with plain urllib (not the client under test)."""
        req = urllib.request.Request(f"{self.base}/v2{path}", method=method, headers={"X-SBG-Auth-Token": SBG_TOKEN})
        try:
            with urllib.request.urlopen(req, timeout=30, context=self.ssl) as r:
                body = r.read()
                return r.status, json.loads(body) if body else None
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"null")

    def sbg_file(self, file_id):
        return self.data / "sbg" / "sbg" / "files" / file_id

    def readset_source(self, readset_id, n):
        return self.data / "readsets" / readset_id / f"source{n}"


def omics_client(base, secret=SECRET_KEY, key=ACCESS_KEY):
    import boto3
    from botocore.config import Config

    return boto3.session.Session(aws_access_key_id=key, aws_secret_access_key=secret, region_name=REGION).client(
        "omics", endpoint_url=base, config=Config(inject_host_prefix=False, retries={"mode": "standard", "max_attempts": 1})
    )


def wait_active(omics, store_id, readset_id):
    """The read set's metadata once it is ACTIVE (bounded: 300 polls)."""
    for _ in range(300):
        meta = omics.get_read_set_metadata(sequenceStoreId=store_id, id=readset_id)
        if meta["status"] != "PROCESSING_UPLOAD":
            return meta
        time.sleep(0.2)
    raise AssertionError(f"read set {readset_id} still PROCESSING_UPLOAD")


def aws_cli(base, *args):
    """`aws omics ...` (the AWS CLI, its JSON output parsed)."""
    out = subprocess.run(
        [str(VENV_BIN / "aws"), "omics", *args, "--endpoint-url", base, "--output", "json"],
        capture_output=True, text=True, timeout=300,
    )
    if out.returncode != 0:
        raise AssertionError(f"aws omics {args[0]} exited {out.returncode}: {out.stderr.strip()}")
    return json.loads(out.stdout) if out.stdout.strip() else {}


def error_of(call):
    from botocore.exceptions import ClientError

    try:
        call()
    except ClientError as e:
        return e.response["Error"]["Code"], e.response["ResponseMetadata"]["HTTPStatusCode"], e.response["Error"].get("Message", "")
    raise AssertionError("the call succeeded")


def main():
    binary = os.environ.get("READSET_SERVER") or str(Path(__file__).resolve().parents[2] / "target/debug/readset-server")
    work = Path(tempfile.mkdtemp(prefix="readset-peers-"))
    # The AWS clients see only these settings: no profile, config file or instance metadata.
    for k in [k for k in os.environ if k.startswith("AWS_")]:
        del os.environ[k]
    os.environ.update({
        "AWS_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_CONFIG_FILE": str(work / "no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(work / "no-aws-credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_DISABLE_HOST_PREFIX_INJECTION": "true",
        "AWS_PAGER": "",
    })
    store = Store(binary, work)
    print(f"readset-server store at {store.base} (data {store.data})", flush=True)
    try:
        run_sbg(store, work)
        run_transfer_manager(store, work)
        run_cli(store, work)
        run_boto3_errors(store)
    finally:
        store.stop()
    run_https(binary, work)
    failed = results.count(False)
    if failed:
        print(f"server log: {store.log_path}", file=sys.stderr)
    else:
        shutil.rmtree(work, ignore_errors=True)
    print(f"peers: {results.count(True)} passed, {failed} failed")
    return 1 if failed else 0


def run_sbg(store, work):
    import sevenbridges as sbg
    from sevenbridges.models.enums import TransferState

    api = sbg.Api(url=f"{store.base}/v2", token=SBG_TOKEN, debug=True)
    calls = []

    def record(r, *args, **kwargs):
        path = urllib.request.urlparse(r.request.url).path
        body = None
        if r.request.method == "POST" and path.rstrip("/") == "/v2/upload/multipart" and r.ok:
            body = r.json()
        calls.append((r.request.method, path, r.status_code, body))

    api.session.hooks["response"].append(record)
    src = work / "sbg-reads.bam"
    size = 12 * MiB + 4321
    write_random(src, size, seed=7)
    state = {}

    @check("sevenbridges-python 2.11.2: upload in 3 parts of 5 MiB")
    def _():
        calls.clear()
        upload = api.files.upload(str(src), project=PROJECT, part_size=5 * MiB)
        expect(upload.status == TransferState.COMPLETED, f"status {upload.status}")
        f = upload.result()
        expect((f.name, f.size, f.project) == (src.name, size, PROJECT), f"file {f.name} {f.size} {f.project}")
        upload_id = next(c[3]["upload_id"] for c in calls if c[3])
        urls = [c for c in calls if c[0] == "GET" and re.fullmatch(rf"/v2/upload/multipart/{upload_id}/part/\d+", c[1])]
        reports = [c for c in calls if c[0] == "POST" and c[1] == f"/v2/upload/multipart/{upload_id}/part/"]
        expect(len(urls) == 3 and all(c[2] == 200 for c in urls), f"part URL calls {urls}")
        expect(len(reports) == 3 and all(c[2] == 200 for c in reports), f"part reports {reports}")
        # The store holds the same bytes, and the upload is finished.
        on_disk = store.sbg_file(f.id)
        expect(on_disk.stat().st_size == size and sha256_file(on_disk) == sha256_file(src), "the stored file differs from the source")
        status, body = store.sbg_raw("GET", f"/upload/multipart/{upload_id}")
        expect(status == 404 and body["code"] == 8003, f"the finished upload is still open: {status} {body}")
        state["file"] = f
        return f"file {f.id}, {size} bytes, 3 part URLs, 3 reports via POST .../part/"

    @check("sevenbridges-python 2.11.2: file listing", needs=["sevenbridges-python 2.11.2: upload in 3 parts of 5 MiB"])
    def _():
        listed = list(api.files.query(project=PROJECT).all())
        expect([f.id for f in listed] == [state["file"].id], f"listed {[(f.id, f.name) for f in listed]}")
        expect((listed[0].name, listed[0].size) == (src.name, size), f"listed {listed[0].name} {listed[0].size}")
        again = api.files.get(state["file"].id)
        expect((again.name, again.size, again.project) == (src.name, size, PROJECT), "files.get differs")
        status, body = store.sbg_raw("GET", f"/files?project={PROJECT}")
        expect(status == 200 and [i["id"] for i in body["items"]] == [state["file"].id], f"the store lists {body}")
        return f"{len(listed)} file, files.get agrees"

    @check("sevenbridges-python 2.11.2: download (ranged parts), bytes equal", needs=["sevenbridges-python 2.11.2: upload in 3 parts of 5 MiB"])
    def _():
        dest = work / "sbg-download.bam"
        download = state["file"].download(str(dest), wait=False)
        download.start()
        download.wait()
        expect(download.status == TransferState.COMPLETED, f"status {download.status}")
        expect(dest.stat().st_size == size, f"downloaded {dest.stat().st_size} bytes, want {size}")
        expect(sha256_file(dest) == sha256_file(src), "downloaded bytes differ from the source")
        expect(sha256_file(store.sbg_file(state["file"].id)) == sha256_file(src), "the stored file changed")
        return f"{size} bytes, SHA-256 equal"

    @check("sevenbridges-python 2.11.2: stop (abort) after the first part")
    def _():
        calls.clear()
        src2 = work / "sbg-aborted.bam"
        write_random(src2, 11 * MiB, seed=8)
        reached, release = threading.Event(), threading.Event()

        def on_progress(_progress):
            if not reached.is_set():
                reached.set()
                release.wait(60)

        upload = api.files.upload(str(src2), project=PROJECT, part_size=5 * MiB, wait=False)
        upload.add_progress_callback(on_progress)
        upload.start()
        expect(reached.wait(60), "no part finished")
        stopper = threading.Thread(target=upload.stop)
        stopper.start()
        # The client's stop() raises its stop flag and joins the upload thread, which sits in
        # our callback: release it once the flag is up (bounded).
        for _ in range(600):
            if upload._stop_signal:
                break
            time.sleep(0.01)
        release.set()
        stopper.join(60)
        expect(not stopper.is_alive(), "stop() did not return")
        api.upload_pool.shutdown(wait=True)  # parts still in flight end before the store is read (the last SBG check)
        expect(upload.status == TransferState.STOPPED, f"status {upload.status}")
        upload_id = next(c[3]["upload_id"] for c in calls if c[3])
        deletes = [c for c in calls if c[0] == "DELETE" and c[1] == f"/v2/upload/multipart/{upload_id}"]
        expect(len(deletes) == 1 and deletes[0][2] == 204, f"abort calls {deletes}")
        status, body = store.sbg_raw("GET", f"/upload/multipart/{upload_id}")
        expect(status == 404 and body["code"] == 8003, f"the aborted upload is still there: {status} {body}")
        leftovers = store.data / "sbg" / "sbg" / "parts" / upload_id
        try:
            left = sorted(p.name for p in leftovers.iterdir())
        except FileNotFoundError:
            left = []
        expect(left == [], f"part files left on disk: {left}")
        status, body = store.sbg_raw("GET", f"/files?project={PROJECT}")
        expect(src2.name not in [i["name"] for i in body["items"]], "the aborted upload became a file")
        return f"upload {upload_id}: DELETE 204, no parts left, no file"


def run_transfer_manager(store, work):
    from omics.transfer.manager import TransferManager

    omics = omics_client(store.base)
    state = {}
    sid = omics.create_sequence_store(name="peers-transfer-manager")["id"]
    parts = []
    omics.meta.events.register("after-call.omics.UploadReadSetPart", lambda **kw: parts.append(kw["http_response"].status_code))
    manager = TransferManager(omics)

    @check("aws-healthomics-tools 0.14.0 Transfer Manager: gzipped FASTQ pair")
    def _():
        r1, r2 = work / "pair_1.fastq.gz", work / "pair_2.fastq.gz"
        n1, md5_1, b1 = write_fastq_gz(r1, records=3000, seed=1)
        n2, md5_2, b2 = write_fastq_gz(r2, records=3000, seed=2)
        rid = manager.upload_read_set([str(r1), str(r2)], sid, "FASTQ", "peer-pair", "subject-1", "sample-1")
        meta = wait_active(omics, sid, rid)
        expect(meta["status"] == "ACTIVE" and meta["fileType"] == "FASTQ", f"{meta['status']} {meta['fileType']}")
        expect(meta["etag"]["algorithm"] == "FASTQ_MD5up", f"etag {meta['etag']}")
        expect((meta["etag"]["source1"], meta["etag"]["source2"]) == (md5_1, md5_2), f"ETags {meta['etag']} want {md5_1} {md5_2}")
        expect(meta["sequenceInformation"]["totalReadCount"] == n1 + n2, f"reads {meta['sequenceInformation']}")
        expect(meta["sequenceInformation"]["totalBaseCount"] == b1 + b2, f"bases {meta['sequenceInformation']}")
        files = meta["files"]
        expect((files["source1"]["contentLength"], files["source2"]["contentLength"]) == (r1.stat().st_size, r2.stat().st_size), f"sizes {files}")
        for n, path in [(1, r1), (2, r2)]:
            expect(sha256_file(store.readset_source(rid, n)) == sha256_file(path), f"stored source{n} differs")
        state["pair"] = rid
        return f"read set {rid}, {n1 + n2} reads, ETags = MD5 of the decompressed FASTQ"

    @check("aws-healthomics-tools 0.14.0 Transfer Manager: 105 MiB FASTQ in 2 parts, then download")
    def _():
        big = work / "big.fastq.gz"
        # gzip level 0 (stored blocks): more than one 100 MiB part quickly, in bounded memory.
        n, md5, _ = write_fastq_gz(big, min_gz_bytes=BIG_FASTQ_BYTES, seed=3, level=0)
        size = big.stat().st_size
        parts.clear()
        rid = manager.upload_read_set(str(big), sid, "FASTQ", "peer-big", "subject-2", "sample-2")
        expect(parts == [200, 200], f"UploadReadSetPart answers {parts}")
        meta = wait_active(omics, sid, rid)
        expect(meta["status"] == "ACTIVE", meta["status"])
        expect(meta["files"]["source1"]["contentLength"] == size, f"size {meta['files']}")
        expect(meta["etag"]["source1"] == md5, f"ETag {meta['etag']} want {md5}")
        expect(meta["sequenceInformation"]["totalReadCount"] == n, f"reads {meta['sequenceInformation']}")
        source_sha = sha256_file(big)
        expect(sha256_file(store.readset_source(rid, 1)) == source_sha, "the stored file differs from the source")
        out = work / "big-download"
        manager.download_read_set(sid, rid, str(out))
        got = list(out.iterdir())
        expect(len(got) == 1, f"downloaded {got}")
        expect(got[0].stat().st_size == size and sha256_file(got[0]) == source_sha, f"downloaded {got[0].name} differs")
        state["big"] = rid
        return f"read set {rid}, {size} bytes, 2 parts, downloaded as {got[0].name}, SHA-256 equal"

    @check("boto3: list_read_sets pages with nextToken", needs=[
        "aws-healthomics-tools 0.14.0 Transfer Manager: gzipped FASTQ pair",
        "aws-healthomics-tools 0.14.0 Transfer Manager: 105 MiB FASTQ in 2 parts, then download",
    ])
    def _():
        pages = list(omics.get_paginator("list_read_sets").paginate(sequenceStoreId=sid, PaginationConfig={"PageSize": 1}))
        ids = [r["id"] for p in pages for r in p["readSets"]]
        expect(sorted(ids) == sorted([state["pair"], state["big"]]), f"listed {ids}")
        expect(len(pages) >= 2 and "nextToken" in pages[0], f"{len(pages)} pages")
        return f"{len(ids)} read sets in {len(pages)} pages"


def run_cli(store, work):
    omics = omics_client(store.base)
    state = {}

    @check("AWS CLI 1.46.2: create-sequence-store")
    def _():
        out = aws_cli(store.base, "create-sequence-store", "--name", "peers-cli", "--description", "made by the AWS CLI")
        got = omics.get_sequence_store(id=out["id"])
        expect((got["name"], got["description"], got["arn"]) == ("peers-cli", "made by the AWS CLI", out["arn"]), f"{got}")
        state["store"] = out["id"]
        return f"store {out['id']}"

    @check("AWS CLI 1.46.2: upload-read-set-part, complete, list, metadata", needs=["AWS CLI 1.46.2: create-sequence-store"])
    def _():
        sid = state["store"]
        fq = work / "cli.fastq.gz"
        n, md5, _ = write_fastq_gz(fq, records=2000, seed=4)
        up = aws_cli(store.base, "create-multipart-read-set-upload", "--sequence-store-id", sid, "--source-file-type", "FASTQ",
                     "--subject-id", "subject-3", "--sample-id", "sample-3", "--name", "cli-reads")
        part = aws_cli(store.base, "upload-read-set-part", "--sequence-store-id", sid, "--upload-id", up["uploadId"],
                       "--part-source", "SOURCE1", "--part-number", "1", "--payload", str(fq))
        expect(part["checksum"] == sha256_file(fq), f"checksum {part['checksum']}")
        listed = omics.list_read_set_upload_parts(sequenceStoreId=sid, uploadId=up["uploadId"], partSource="SOURCE1")["parts"]
        expect([(p["partNumber"], p["partSize"], p["checksum"]) for p in listed] == [(1, fq.stat().st_size, part["checksum"])], f"parts {listed}")
        parts = json.dumps([{"partNumber": 1, "partSource": "SOURCE1", "checksum": part["checksum"]}])
        done = aws_cli(store.base, "complete-multipart-read-set-upload", "--sequence-store-id", sid, "--upload-id", up["uploadId"], "--parts", parts)
        rid = done["readSetId"]
        wait_active(omics, sid, rid)
        listed = aws_cli(store.base, "list-read-sets", "--sequence-store-id", sid)["readSets"]
        expect([(r["id"], r["name"], r["status"]) for r in listed] == [(rid, "cli-reads", "ACTIVE")], f"list-read-sets {listed}")
        meta = aws_cli(store.base, "get-read-set-metadata", "--sequence-store-id", sid, "--id", rid)
        expect((meta["name"], meta["fileType"], meta["subjectId"], meta["sampleId"]) == ("cli-reads", "FASTQ", "subject-3", "sample-3"), f"{meta}")
        expect(meta["etag"]["source1"] == md5 and meta["sequenceInformation"]["totalReadCount"] == n, f"{meta['etag']} {meta.get('sequenceInformation')}")
        expect(sha256_file(store.readset_source(rid, 1)) == sha256_file(fq), "the stored file differs from the source")
        expect(omics.list_multipart_read_set_uploads(sequenceStoreId=sid)["uploads"] == [], "the upload is still listed")
        return f"read set {rid}, part checksum = SHA-256 of the part, ETag = MD5 of the FASTQ"


def run_boto3_errors(store):
    omics = omics_client(store.base)
    sid = omics.create_sequence_store(name="peers-errors")["id"]

    def stores():
        return sorted(s["id"] for s in omics.list_sequence_stores()["sequenceStores"])

    @check("boto3: unknown IDs are ResourceNotFoundException (404)")
    def _():
        for call in [
            lambda: omics.get_sequence_store(id="1234567890"),
            lambda: omics.get_read_set_metadata(sequenceStoreId=sid, id="1234567890"),
            lambda: omics.get_read_set(sequenceStoreId=sid, id="1234567890", partNumber=1),
            lambda: omics.list_read_set_upload_parts(sequenceStoreId=sid, uploadId="1234567890", partSource="SOURCE1"),
        ]:
            code, status, message = error_of(call)
            expect((code, status) == ("ResourceNotFoundException", 404) and message, f"{code} {status} {message!r}")
        return "GetSequenceStore, GetReadSetMetadata, GetReadSet, ListReadSetUploadParts"

    @check("boto3: a bad signature or key is refused and changes nothing")
    def _():
        before = stores()
        code, status, _ = error_of(lambda: omics_client(store.base, secret="not-the-secret").create_sequence_store(name="forged"))
        expect((code, status) == ("InvalidSignatureException", 403), f"wrong secret: {code} {status}")
        code, status, _ = error_of(lambda: omics_client(store.base, key="AKIDSOMEONEELSE").create_sequence_store(name="forged"))
        expect((code, status) == ("UnrecognizedClientException", 403), f"unknown key: {code} {status}")
        expect(stores() == before, "a store was created")
        return "InvalidSignatureException, UnrecognizedClientException (403)"

    @check("boto3: invalid input is ValidationException (400) and changes nothing")
    def _():
        code, status, message = error_of(lambda: omics.create_multipart_read_set_upload(
            sequenceStoreId=sid, sourceFileType="TXT", subjectId="s", sampleId="s", name="bad"))
        expect((code, status) == ("ValidationException", 400) and "TXT" in message, f"{code} {status} {message!r}")
        expect(omics.list_multipart_read_set_uploads(sequenceStoreId=sid)["uploads"] == [], "an upload was created")
        before = stores()
        code, status, message = error_of(lambda: omics.create_sequence_store(name="x" * 200))
        expect((code, status) == ("ValidationException", 400), f"{code} {status} {message!r}")
        expect(stores() == before, "a store was created")
        return "sourceFileType TXT, a 200-character store name"


# ---------------------------------------------------------------------------------------------
# Over HTTPS, closer to the clients' defaults (issue 20): a second store on TLS with a test CA
# from `readset-server dev-cert`, answering to the AWS names. boto3 (through the Transfer
# Manager) and the AWS CLI run with their default endpoints and host prefixes, trusting the CA
# through AWS_CA_BUNDLE; sevenbridges-python runs without debug=True, trusting it through
# REQUESTS_CA_BUNDLE. The AWS names resolve to the store through resolve/sitecustomize.py
# (READSET_RESOLVE, like curl's --resolve); nothing else about the clients changes.

AWS_HOSTS = {p: f"{p}omics.{REGION}.amazonaws.com" for p in ("control-storage-", "storage-", "tags-")}
# The endpoint.hostPrefix of each operation in the service model (written out here, so the
# store's table is checked, not copied).
SERVICE_MODEL_PREFIX = {
    "CreateSequenceStore": "control-storage-", "GetSequenceStore": "control-storage-",
    "ListSequenceStores": "control-storage-", "CreateMultipartReadSetUpload": "control-storage-",
    "UploadReadSetPart": "storage-", "CompleteMultipartReadSetUpload": "storage-",
    "ListReadSetUploadParts": "control-storage-", "ListMultipartReadSetUploads": "control-storage-",
    "GetReadSetMetadata": "control-storage-", "ListReadSets": "control-storage-", "GetReadSet": "storage-",
    "ListTagsForResource": "tags-", "TagResource": "tags-",
}
RESOLVE_DIR = Path(__file__).resolve().parent / "resolve"


def run_https(binary, work):
    import ssl

    certs = work / "certs"
    subprocess.run([binary, "dev-cert", "--out", str(certs), "--region", REGION], check=True, capture_output=True, timeout=60)
    ca = str(certs / "ca.pem")
    hosts = [a for h in AWS_HOSTS.values() for a in ("--host", h)]
    store = Store(binary, work, name="-tls", scheme="https",
                  extra=["--tls-cert", str(certs / "cert.pem"), "--tls-key", str(certs / "key.pem"), *hosts])
    store.ssl = ssl.create_default_context(cafile=ca)
    print(f"readset-server store on TLS at {store.base} (AWS names resolved to it)", flush=True)
    saved = dict(os.environ)
    # Defaults for the AWS clients: no endpoint URL, host prefixes on; only the CA bundle added.
    os.environ.pop("AWS_DISABLE_HOST_PREFIX_INJECTION", None)
    os.environ.update({
        "AWS_CA_BUNDLE": ca,
        "REQUESTS_CA_BUNDLE": ca,
        "READSET_RESOLVE": ",".join(f"{h}=127.0.0.1:{store.port}" for h in AWS_HOSTS.values()),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(RESOLVE_DIR), os.environ.get("PYTHONPATH")])),
    })
    # Installs the READSET_RESOLVE name override in this process. Loaded by path under its own
    # name: where the interpreter ran a sitecustomize of its own at start-up (Debian's python3
    # has /usr/lib/python3.11/sitecustomize.py), `import sitecustomize` returns that module and
    # the AWS names would not resolve. Subprocesses (the AWS CLI) find ours first on PYTHONPATH.
    import importlib.util

    spec = importlib.util.spec_from_file_location("readset_resolve", RESOLVE_DIR / "sitecustomize.py")
    spec.loader.exec_module(importlib.util.module_from_spec(spec))

    try:
        run_https_checks(store, work)
    finally:
        store.stop()
        os.environ.clear()
        os.environ.update(saved)


def local_hosts(store):
    with urllib.request.urlopen(f"{store.base}/_local/hosts", timeout=30, context=store.ssl) as r:
        return json.loads(r.read())


def run_https_checks(store, work):
    import boto3
    import sevenbridges as sbg
    from botocore.config import Config
    from sevenbridges.models.enums import TransferState
    from omics.transfer.manager import TransferManager

    state = {}

    @check("sevenbridges-python 2.11.2 over HTTPS without debug=True (REQUESTS_CA_BUNDLE): upload in 2 parts")
    def _():
        api = sbg.Api(url=f"{store.base}/v2", token=SBG_TOKEN)
        src = work / "sbg-tls.bam"
        size = 7 * MiB + 99
        write_random(src, size, seed=17)
        upload = api.files.upload(str(src), project=PROJECT, part_size=5 * MiB)
        expect(upload.status == TransferState.COMPLETED, f"status {upload.status}")
        f = upload.result()
        on_disk = store.sbg_file(f.id)
        expect(on_disk.stat().st_size == size and sha256_file(on_disk) == sha256_file(src), "the stored file differs from the source")
        return f"file {f.id}, {size} bytes over https://127.0.0.1"

    @check("boto3 1.44.8 with default endpoints and host prefixes over HTTPS (AWS_CA_BUNDLE): Transfer Manager FASTQ pair")
    def _():
        omics = boto3.session.Session(region_name=REGION).client("omics", config=Config(retries={"mode": "standard", "max_attempts": 1}))
        expect(omics.meta.endpoint_url == f"https://omics.{REGION}.amazonaws.com", f"endpoint {omics.meta.endpoint_url}")
        sid = omics.create_sequence_store(name="peers-https")["id"]
        r1, r2 = work / "tls_1.fastq.gz", work / "tls_2.fastq.gz"
        n1, md5_1, _ = write_fastq_gz(r1, records=2000, seed=31)
        n2, md5_2, _ = write_fastq_gz(r2, records=2000, seed=32)
        rid = TransferManager(omics).upload_read_set([str(r1), str(r2)], sid, "FASTQ", "tls-pair", "subject-t", "sample-t")
        meta = wait_active(omics, sid, rid)
        expect(meta["status"] == "ACTIVE", meta["status"])
        expect((meta["etag"]["source1"], meta["etag"]["source2"]) == (md5_1, md5_2), f"ETags {meta['etag']}")
        for n, path in [(1, r1), (2, r2)]:
            expect(sha256_file(store.readset_source(rid, n)) == sha256_file(path), f"stored source{n} differs")
        tags = omics.list_tags_for_resource(resourceArn=omics.get_sequence_store(id=sid)["arn"])
        expect("tags" in tags, f"{tags}")
        state["store"] = sid
        return f"read set {rid}, {n1 + n2} reads, ETags equal"

    @check("AWS CLI 1.46.2 with default endpoints over HTTPS (AWS_CA_BUNDLE): create-sequence-store, list-read-sets")
    def _():
        def cli(*args):
            out = subprocess.run([str(VENV_BIN / "aws"), "omics", *args, "--output", "json"], capture_output=True, text=True, timeout=300)
            if out.returncode != 0:
                raise AssertionError(f"aws omics {args[0]} exited {out.returncode}: {out.stderr.strip()}")
            return json.loads(out.stdout) if out.stdout.strip() else {}

        made = cli("create-sequence-store", "--name", "peers-cli-https")
        listed = cli("list-sequence-stores")["sequenceStores"]
        expect(made["id"] in [s["id"] for s in listed], f"listed {listed}")
        expect(cli("list-read-sets", "--sequence-store-id", made["id"])["readSets"] == [], "a new store has read sets")
        return f"store {made['id']}"

    @check("boto3: an operation sent to another prefix's host is InvalidAction (400)")
    def _():
        wrong = boto3.session.Session(region_name=REGION).client(
            "omics", endpoint_url=f"https://{AWS_HOSTS['storage-']}", config=Config(inject_host_prefix=False, retries={"max_attempts": 1}))
        code, status, message = error_of(lambda: wrong.list_sequence_stores())
        expect((code, status) == ("InvalidAction", 400) and AWS_HOSTS["control-storage-"] in message, f"{code} {status} {message!r}")
        return message

    @check("store: every AWS-client operation arrived on its service-model host", needs=[
        "boto3 1.44.8 with default endpoints and host prefixes over HTTPS (AWS_CA_BUNDLE): Transfer Manager FASTQ pair",
        "AWS CLI 1.46.2 with default endpoints over HTTPS (AWS_CA_BUNDLE): create-sequence-store, list-read-sets",
    ])
    def _():
        seen = local_hosts(store)
        bad = [v for v in seen["verified"] if v["host"] != AWS_HOSTS.get(SERVICE_MODEL_PREFIX.get(v["operation"], "?"))]
        expect(bad == [], f"on another host: {bad}")
        expect([w["operation"] for w in seen["wrong_host"]] == ["ListSequenceStores"], f"refused {seen['wrong_host']}")
        ops = {v["operation"] for v in seen["verified"]}
        for op in ("CreateMultipartReadSetUpload", "UploadReadSetPart", "CompleteMultipartReadSetUpload", "ListTagsForResource"):
            expect(op in ops, f"{op} never arrived: {sorted(ops)}")
        return f"{len(ops)} operations, each on its host"


if __name__ == "__main__":
    sys.exit(main())
