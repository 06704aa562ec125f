// The production path offline (issue 20): the browser flows through `readset-server proxy
// --upstream aws --region us-east-1` to the local store on TLS under the AWS host names (test CA
// from `readset-server dev-cert`, names resolved with --upstream-resolve, CA trusted with
// --upstream-ca). The store's `GET /_local/hosts` shows which Host each operation's signature
// was verified for: every one must be the host of its prefix in the service model.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startAwsPath, AWS_HOSTS, launchBrowser, openPage } from './harness.mjs';
import { fastqGz, tempDir, waitFor, readSetBytes } from './upload-helpers.mjs';

// The `endpoint.hostPrefix` of each operation in the HealthOmics service model (written out
// here, not taken from the server, so the test checks the server's table).
const SERVICE_MODEL_PREFIX = {
  CreateSequenceStore: 'control-storage-',
  GetSequenceStore: 'control-storage-',
  CreateMultipartReadSetUpload: 'control-storage-',
  UploadReadSetPart: 'storage-',
  CompleteMultipartReadSetUpload: 'storage-',
  AbortMultipartReadSetUpload: 'control-storage-',
  ListMultipartReadSetUploads: 'control-storage-',
  ListReadSetUploadParts: 'control-storage-',
  ListReadSets: 'control-storage-',
  GetReadSetMetadata: 'control-storage-',
};

let path;
let browser;
// Part uploads are slowed (150 ms each) so the reload and the abort land mid-upload.
before(async () => { path = await startAwsPath(['--fault-latency-ms', '150']); browser = await launchBrowser(); });
after(async () => { await browser?.close(); await path?.stop(); });

async function freshPage() {
  const page = await openPage(browser, `${path.pageUrl}/index.html`);
  await page.waitForFunction(() => window.ready === true, null, { timeout: 20_000 });
  return page;
}

const stats = () => path.local('/_local/stats');

test('a paired FASTQ uploads through the AWS-mode proxy over TLS and ends ACTIVE with both ETags verified', async () => {
  const dir = tempDir();
  const r1 = fastqGz(dir, 'pair_R1.fastq.gz', 3000, 21);
  const r2 = fastqGz(dir, 'pair_R2.fastq.gz', 3000, 22);
  const page = await freshPage();
  await page.setInputFiles('#f', [r1, r2]);
  await page.evaluate(() => window.startPaired({ concurrency: 2 }));
  await waitFor('the paired upload to finish', () => page.evaluate(() => window.allDone()), { tries: 1200, everyMs: 250 });
  const [r] = await page.evaluate(() => window.results());
  assert.equal(r.ok, true, `${r.code} ${r.message}\nproxy:\n${path.proxyLogs()}`);
  assert.equal(r.status, 'ACTIVE');
  assert.equal(r.etag?.status, 'verified', JSON.stringify(r.etag));
  assert.ok(r.etag.stored.source1 && r.etag.stored.source2, 'one ETag per mate');
  assert.ok(readSetBytes(path.dataDir, r.readSetId).equals(readFileSync(r1)), 'SOURCE1 equals mate 1');
  assert.ok(readFileSync(join(path.dataDir, 'store', 'readsets', r.readSetId, 'source2')).equals(readFileSync(r2)), 'SOURCE2 equals mate 2');
  assert.deepEqual(page.problems, []);
  await page.close();
});

test('after a reload mid-upload, the resumed upload sends only the parts the store lacks', async () => {
  const file = fastqGz(tempDir(), 'reload.fastq.gz', 15000, 23);
  const total = Math.ceil(readFileSync(file).length / 65536);
  const page = await freshPage();
  await page.setInputFiles('#f', [file]);
  await page.evaluate(() => window.startUploads({ resume: 'auto', concurrency: 2 }));
  const firstId = await waitFor('the upload id', () => page.evaluate(() => window.uploadIds()[0]));
  const start = (await stats()).partsStored;
  await waitFor('some parts stored', async () => (await stats()).partsStored >= start + 5);
  assert.ok((await stats()).partsStored - start < total, 'the reload must land mid-upload');

  await page.reload();
  await page.waitForFunction(() => window.ready === true, null, { timeout: 20_000 });
  await page.setInputFiles('#f', [file]);
  const saved = await page.evaluate(() => window.findResumable());
  assert.equal(saved.length, 1, 'the upload is offered for resuming');
  assert.equal(saved[0].uploadId, firstId);
  const onServer = await page.evaluate((id) => window.serverParts(id), firstId);
  const before = (await stats()).partRequests;
  await page.evaluate(() => window.startUploads({ resume: 'auto', concurrency: 2 }));
  await waitFor('the resumed upload to finish', () => page.evaluate(() => window.allDone()), { tries: 1200, everyMs: 250 });
  const [r] = await page.evaluate(() => window.results());
  assert.equal(r.ok, true, `${r.code} ${r.message}`);
  assert.equal(r.uploadId, firstId, 'the same upload was continued');
  assert.equal(r.status, 'ACTIVE');
  const sent = (await stats()).partRequests - before;
  assert.equal(sent, total - onServer.length, `sent ${sent} parts after the reload; the store held ${onServer.length} of ${total}`);
  assert.ok(readSetBytes(path.dataDir, r.readSetId).equals(readFileSync(file)), 'the read set equals the source');
  await page.close();
});

test('aborting mid-upload leaves no upload on the store and no local state', async () => {
  const file = fastqGz(tempDir(), 'abort.fastq.gz', 15000, 25);
  const page = await freshPage();
  await page.setInputFiles('#f', [file]);
  await page.evaluate(() => window.startUploads({ resume: 'auto', concurrency: 2 }));
  const id = await waitFor('the upload id', () => page.evaluate(() => window.uploadIds()[0]));
  const start = (await stats()).partsStored;
  await waitFor('some parts stored', async () => (await stats()).partsStored >= start + 2);
  await page.evaluate(() => window.uploads[0].up.abort());
  await waitFor('start() to reject', () => page.evaluate(() => window.allDone()));
  assert.equal((await page.evaluate(() => window.results()))[0].code, 'aborted');
  const listed = await page.evaluate(() => window.listAbandoned());
  assert.deepEqual(listed.filter((u) => u.uploadId === id), [], 'neither the store nor this browser keeps the upload');
  assert.deepEqual(await page.evaluate(() => window.findResumable()), []);
  await page.close();
});

test('every operation reached the host of its prefix and was verified with that Host', async () => {
  const { verified, wrong_host: wrong } = await path.local('/_local/hosts');
  assert.deepEqual(wrong, [], 'no operation arrived on another prefix\'s host');
  for (const { operation, host } of verified) {
    const prefix = SERVICE_MODEL_PREFIX[operation];
    assert.ok(prefix, `unexpected operation ${operation}`);
    assert.equal(host, AWS_HOSTS[prefix], `${operation} was verified for Host ${host}`);
  }
  const seen = new Set(verified.map((v) => v.operation));
  for (const op of ['CreateSequenceStore', 'CreateMultipartReadSetUpload', 'UploadReadSetPart', 'ListReadSetUploadParts',
    'CompleteMultipartReadSetUpload', 'AbortMultipartReadSetUpload', 'ListMultipartReadSetUploads', 'GetReadSetMetadata']) {
    assert.ok(seen.has(op), `${op} never reached the store: ${JSON.stringify(verified)}`);
  }
  const hosts = new Set(verified.map((v) => v.host));
  assert.ok(hosts.has(AWS_HOSTS['storage-']) && hosts.has(AWS_HOSTS['control-storage-']), 'both endpoints were used');
});
