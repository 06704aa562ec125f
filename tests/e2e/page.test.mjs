// The demo page end to end, in headless Chromium against a real `readset-server demo`:
// drop a paired FASTQ, watch it upload in parts, find the read set ACTIVE with a verified ETag,
// filter the table, export it, resume an interrupted upload, and check the layout at 360 px.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDemo, launchBrowser, openPage, chromiumOnly } from './harness.mjs';
import { fastqGz } from './page-fixtures.mjs';
import { advanced as advancedWith, interruptedUpload as leftBehind } from './page-actions.mjs';

const ARTIFACTS = new URL('./artifacts/', import.meta.url).pathname;
const PART_KIB = 64;
const WAIT = { timeout: 60_000 };

let demo;
let browser;
let page;
let files; // temp folder with on-disk fixtures
const r1 = fastqGz(1, 1500);
const r2 = fastqGz(2, 1500);
let pairedReadSetId;

before(async () => {
  demo = await startDemo();
  browser = await launchBrowser();
  files = mkdtempSync(join(tmpdir(), 'readset-page-'));
  page = await openPage(browser, demo.pageUrl);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 15_000 });
});
after(async () => {
  await browser?.close();
  await demo?.stop();
  if (files) rmSync(files, { recursive: true, force: true });
});

/** Drops in-memory files on the drop zone the way a user's drag and drop does. */
async function drop(p, list) {
  const dataTransfer = await p.evaluateHandle((items) => {
    const dt = new DataTransfer();
    for (const { name, b64 } of items) {
      const bin = atob(b64);
      const bytes = new Uint8Array(bin.length);
      for (let i = 0; i < bin.length; i += 1) bytes[i] = bin.charCodeAt(i);
      dt.items.add(new File([bytes], name, { type: 'application/gzip' }));
    }
    return dt;
  }, list.map(([name, buf]) => ({ name, b64: Buffer.from(buf).toString('base64') })));
  await p.dispatchEvent('#dropzone', 'drop', { dataTransfer });
}

/** Records every `data-parts-done` value the upload cards go through. */
function recordParts(p) {
  return p.evaluate(() => {
    window.partsSeen = [];
    new MutationObserver((ms) => {
      for (const m of ms) window.partsSeen.push(Number(m.target.dataset.partsDone));
    }).observe(document.getElementById('transfer-list'), { attributes: true, subtree: true, attributeFilter: ['data-parts-done'] });
  });
}

/** Waits for an upload card to finish; fails with the page's own error text if it does not. */
async function finished(p, selector) {
  const card = await p.waitForSelector(`${selector}:is([data-upload-state="done"], [data-upload-state="failed"], [data-upload-state="cancelled"])`, WAIT);
  const state = await card.getAttribute('data-upload-state');
  assert.equal(state, 'done', `upload ended ${state}: ${await card.textContent()}`);
  return card;
}

/** Advanced settings with this file's part size. */
const advanced = (p, opts = {}) => advancedWith(p, { partKib: PART_KIB, ...opts });
const interruptedUpload = (paths, subject, sample) => leftBehind(browser, demo.pageUrl, paths, subject, sample);

const partsOf = (bytes) => Math.ceil(bytes / (PART_KIB * 1024));

test('a dropped R1/R2 pair is paired, uploads in parts with progress, and ends ACTIVE with a verified ETag', async () => {
  await advanced(page);
  await recordParts(page);
  await drop(page, [['e2e_S1_R2.fastq.gz', r2], ['e2e_S1_R1.fastq.gz', r1]]);

  const form = page.locator('#candidates form');
  assert.equal(await form.count(), 1, 'the two mates form one read set');
  assert.deepEqual(await form.locator('.files .fname').allTextContents(), ['e2e_S1_R1.fastq.gz', 'e2e_S1_R2.fastq.gz']);
  assert.equal(await form.locator('[name="name"]').inputValue(), 'e2e_S1');
  assert.equal(await form.locator('select').first().inputValue(), 'FASTQ');
  await form.locator('[name="subjectId"]').fill('patient-7');
  await form.locator('[name="sampleId"]').fill('tumour-1');
  await form.locator('[name="tags"]').fill('project=demo');
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.locator('#upload').screenshot({ path: join(ARTIFACTS, 'demo-page-form.png') });
  await form.getByRole('button', { name: 'Upload pair' }).click();

  const card = await finished(page, '.transfer');
  const total = partsOf(r1.length) + partsOf(r2.length);
  assert.ok(total >= 8, `fixture gives several parts (${total})`);
  assert.equal(await card.getAttribute('data-parts-total'), String(total));
  const seen = await page.evaluate(() => window.partsSeen);
  assert.ok(seen.some((n) => n > 0 && n < total), `progress went through intermediate part counts: ${seen}`);
  assert.match(await card.$eval('.stats', (e) => e.textContent), new RegExp(`parts ${total} of ${total}`));
  assert.equal(await card.$eval('progress', (e) => e.value === e.max), true);
  assert.equal(await card.getAttribute('data-etag'), 'verified');
  assert.equal(await card.getAttribute('data-hashing'), 'workers', 'the pair was hashed in Web Workers');
  assert.match(await card.textContent(), /ACTIVE/);
  assert.match(await card.textContent(), /ETag verified/);
  assert.equal(await card.$eval('.verified-parts', (e) => e.textContent), `${total} of ${total} verified (SHA-256)`, 'the demo store returns hex SHA-256: every part was checked');
  pairedReadSetId = await card.getAttribute('data-read-set-id');
  assert.match(pairedReadSetId, /^\d{10,36}$/);

  // The table finds it ACTIVE, and the detail panel shows both files and the ETag.
  const row = `#readset-table tr[data-read-set-id="${pairedReadSetId}"]`;
  await page.waitForSelector(`${row} .badge[data-status="ACTIVE"]`, WAIT);
  await page.click(`${row} button`);
  const detail = page.locator('#detail');
  await detail.locator('.files-table tbody tr').nth(1).waitFor(WAIT);
  assert.deepEqual(await detail.locator('.files-table tbody tr td:first-child').allTextContents(), ['source1', 'source2']);
  assert.match(await detail.textContent(), /FASTQ_MD5up/);
  assert.match(await detail.textContent(), /patient-7/);
  assert.deepEqual(page.problems, []);
});

test('a FASTQ chosen with the file picker uploads too, and the table filters by sample and status', async () => {
  const single = join(files, 'normal_sample.fq.gz');
  writeFileSync(single, fastqGz(3, 200));
  await page.setInputFiles('#file-picker', single);
  const form = page.locator('#candidates form');
  await form.locator('[name="subjectId"]').fill('patient-8');
  await form.locator('[name="sampleId"]').fill('normal-2');
  await form.getByRole('button', { name: 'Upload' }).click();
  const card = await finished(page, '.transfer[data-read-set-id]:not([data-read-set-id="' + pairedReadSetId + '"])');
  const singleId = await card.getAttribute('data-read-set-id');
  await page.waitForSelector(`#readset-table tr[data-read-set-id="${singleId}"]`, WAIT);

  const ids = () => page.$$eval('#readset-table tbody tr', (rows) => rows.map((r) => r.dataset.readSetId).sort());
  assert.deepEqual(await ids(), [pairedReadSetId, singleId].sort());

  await page.fill('#f-sample', 'normal-2');
  await page.press('#f-sample', 'Enter');
  await page.waitForFunction(() => document.querySelectorAll('#readset-table tbody tr').length === 1, null, WAIT);
  assert.deepEqual(await ids(), [singleId]);

  await page.fill('#f-sample', '');
  await page.selectOption('#f-status', 'UPLOAD_FAILED');
  await page.waitForSelector('#readsets-message:has-text("No read sets match these filters.")', WAIT);
  assert.deepEqual(await ids(), []);

  await page.selectOption('#f-status', '');
  await page.fill('#f-after', '2999-01-01T00:00');
  await page.press('#f-after', 'Enter');
  await page.waitForSelector('#readsets-message:has-text("No read sets match these filters.")', WAIT);
  await page.fill('#f-after', '2000-01-01T00:00');
  await page.press('#f-after', 'Enter');
  await page.waitForFunction(() => document.querySelectorAll('#readset-table tbody tr').length === 2, null, WAIT);

  await page.click('#filters button[type="reset"]');
  await page.waitForFunction(() => document.querySelectorAll('#readset-table tbody tr').length === 2, null, WAIT);
  assert.deepEqual(page.problems, []);
});

test('several read sets upload at once with "Upload all", each with its own progress card', async () => {
  const before = await page.locator('.transfer').count();
  await drop(page, [['multiA_1.fq.gz', fastqGz(7, 300)], ['multiB_1.fq.gz', fastqGz(8, 300)], ['multiA_2.fq.gz', fastqGz(9, 300)]]);
  const forms = page.locator('#candidates form');
  assert.equal(await forms.count(), 2, 'multiA is a pair, multiB stands alone');
  for (let i = 0; i < 2; i += 1) {
    await forms.nth(i).locator('[name="subjectId"]').fill('patient-11');
    await forms.nth(i).locator('[name="sampleId"]').fill(`multi-${i}`);
  }
  await page.click('#upload-all');
  assert.equal(await page.locator('.transfer').count(), before + 2, 'both started without waiting for each other');
  assert.equal(await forms.count(), 0);
  await page.waitForFunction((n) => document.querySelectorAll('.transfer[data-upload-state="done"]').length === n, before + 2, WAIT);
  assert.deepEqual(page.problems, []);
});

test('a refused upload says in words what to do, and Resume finishes it once allowed', async () => {
  const tab = await openPage(browser, demo.pageUrl);
  await tab.waitForSelector('body[data-ready="true"]', { timeout: 15_000 });
  await tab.route('**/upload/*/part?*', (route) => route.fulfill({
    status: 403,
    headers: { 'x-amzn-errortype': 'AccessDeniedException', 'content-type': 'application/json' },
    body: JSON.stringify({ message: 'the token may not upload to this store' }),
  }));
  await drop(tab, [['denied.fq.gz', fastqGz(10, 100)]]);
  const form = tab.locator('#candidates form');
  await form.locator('[name="subjectId"]').fill('s');
  await form.locator('[name="sampleId"]').fill('x');
  await form.locator('button[type="submit"]').click();
  const card = await tab.waitForSelector('.transfer[data-upload-state="failed"]', WAIT);
  assert.equal(await card.getAttribute('data-error-code'), 'forbidden');
  assert.match(await card.$eval('.result [role="alert"]', (e) => e.textContent), /ask your administrator for access/);
  // Once the cause is gone (here: the refusal is lifted), Resume finishes the same upload.
  const uploadId = await card.getAttribute('data-upload-id');
  await tab.unroute('**/upload/*/part?*');
  await tab.click('.transfer button:has-text("Resume this upload")');
  await finished(tab, `.transfer[data-upload-id="${uploadId}"]`);
  await tab.close();
});

test('export and activation jobs started from the detail panel are listed and reach COMPLETED; the export writes the files', async () => {
  await page.click(`#readset-table tr[data-read-set-id="${pairedReadSetId}"] button`);
  await page.waitForSelector('#detail .job-form', WAIT);
  await page.click('#detail button:has-text("Start export")');
  const msg = await page.waitForSelector('#detail .job-message:has-text("Export job")', WAIT);
  const jobId = (await msg.textContent()).match(/Export job (\d+)/)[1];
  await page.waitForSelector(`[data-kind="export"] tr[data-job-id="${jobId}"] .badge[data-status="COMPLETED"]`, WAIT);
  const out = join(demo.dataDir, 'store', 's3', 'readset-exports', pairedReadSetId, pairedReadSetId);
  assert.ok(existsSync(join(out, 'source1.fastq.gz')), `export wrote ${out}`);
  assert.deepEqual(readFileSync(join(out, 'source2.fastq.gz')), r2);

  await page.click('#detail button:has-text("Start activation")');
  const act = await page.waitForSelector('#detail .job-message:has-text("Activation job")', WAIT);
  const actId = (await act.textContent()).match(/Activation job (\d+)/)[1];
  await page.waitForSelector(`[data-kind="activation"] tr[data-job-id="${actId}"] .badge[data-status="COMPLETED"]`, WAIT);
  assert.deepEqual(page.problems, []);
});

test('an interrupted upload is listed with its parts and resumed by choosing the files again', async () => {
  const a = join(files, 'resume_R1.fastq.gz');
  const b = join(files, 'resume_R2.fastq.gz');
  writeFileSync(a, fastqGz(4, 1500));
  writeFileSync(b, fastqGz(5, 1500));
  // Chosen R2 first: the picker pairs them R1, R2 all the same.
  const uploadId = await interruptedUpload([b, a], 'patient-9', 'resumed');

  // Second tab: the page lists it, with the two parts the store holds.
  await page.click('#interrupted-refresh');
  const item = `#interrupted-list li[data-upload-id="${uploadId}"]`;
  await page.waitForSelector(`${item} [data-parts="2"]`, WAIT);
  assert.match(await page.textContent(item), /resumed/);

  // Resuming sends only the parts the store does not hold yet.
  const sent = [];
  const onRequest = (r) => { if (r.method() === 'PUT' && r.url().includes(`/upload/${uploadId}/part?`)) sent.push(r.url()); };
  page.on('request', onRequest);
  await page.setInputFiles(`${item} input[type="file"]`, [b, a]);
  const resumed = await finished(page, `.transfer[data-upload-id="${uploadId}"]`);
  page.off('request', onRequest);
  assert.equal(await resumed.getAttribute('data-etag'), 'verified');
  assert.match(await resumed.$eval('h3', (e) => e.textContent), /resume_R1\.fastq\.gz \+ resume_R2\.fastq\.gz/, 'R1 first whatever the order chosen');
  const total = partsOf(readFileSync(a).length) + partsOf(readFileSync(b).length);
  assert.equal(await resumed.getAttribute('data-parts-total'), String(total));
  assert.equal(sent.length, total - 2, `parts sent on resume: ${sent.length} of ${total}`);
  await page.click('#interrupted-refresh');
  await page.waitForSelector('#interrupted-message:has-text("No interrupted uploads.")', WAIT);
  assert.deepEqual(page.problems, []);
});

test('an interrupted upload can be aborted from the list, which discards it on the server', async () => {
  const c = join(files, 'discard.fq.gz');
  writeFileSync(c, fastqGz(6, 1500));
  const uploadId = await interruptedUpload([c], 'patient-10', 'discarded');
  await page.click('#interrupted-refresh');
  const item = `#interrupted-list li[data-upload-id="${uploadId}"]`;
  await page.waitForSelector(`${item} [data-parts="2"]`, WAIT);
  await page.click(`${item} button:has-text("Abort")`);
  await page.waitForSelector(item, { state: 'detached', ...WAIT });
  await page.click('#interrupted-refresh');
  await page.waitForSelector('#interrupted-message:has-text("No interrupted uploads.")', WAIT);
  assert.equal(await page.locator(item).count(), 0, 'the server no longer lists it');
  assert.deepEqual(page.problems, []);
});

test('the read set table pages with Next and Previous', async () => {
  const ids = () => page.$$eval('#readset-table tbody tr', (rows) => rows.map((r) => r.dataset.readSetId));
  await page.selectOption('#f-size', '100');
  await page.waitForFunction(() => /on page 1\./.test(document.getElementById('readsets-message').textContent));
  const all = await ids();
  assert.ok(all.length > 5, `enough read sets for two pages (${all.length})`);
  await page.selectOption('#f-size', '5');
  await page.waitForFunction(() => document.querySelectorAll('#readset-table tbody tr').length === 5, null, WAIT);
  const first = await ids();
  assert.equal(await page.isDisabled('#page-prev'), true);
  await page.click('#page-next');
  await page.waitForSelector('#page-info:has-text("Page 2")', WAIT);
  const second = await ids();
  assert.ok([...first, ...second].every((id) => all.includes(id)));
  assert.deepEqual(second.filter((id) => first.includes(id)), [], 'page 2 holds other read sets');
  assert.equal(second.length, Math.min(5, all.length - 5));
  await page.click('#page-prev');
  await page.waitForSelector('#page-info:has-text("Page 1")', WAIT);
  assert.deepEqual(await ids(), first);
  await page.selectOption('#f-size', '25');
});

test('a file sent to the Seven Bridges project of demo-config.json arrives byte for byte', async () => {
  const cfg = await (await fetch(`${demo.pageUrl}/demo-config.json`)).json();
  assert.ok(cfg.sbg?.project, 'the demo configures a Seven Bridges project');
  assert.deepEqual(await page.$$eval('#target option', (os) => os.map((o) => o.value)), ['omics', 'sbg']);
  assert.match(await page.textContent('#target option[value="sbg"]'), new RegExp(`Seven Bridges project ${cfg.sbg.project}`));
  await page.selectOption('#target', 'sbg');
  await drop(page, [['sbg_R1.fastq.gz', r1]]);
  const form = page.locator('#candidates form').last();
  await form.locator('[name="subjectId"]').fill('s');
  await form.locator('[name="sampleId"]').fill('x');
  await form.locator('button[type="submit"]').click();
  const card = page.locator('.transfer[data-file-id]').first();
  await card.waitFor({ timeout: 60_000 });
  const fileId = await card.getAttribute('data-file-id');
  const auth = { authorization: `Bearer ${cfg.token}` };
  const info = await (await fetch(`${cfg.sbg.endpoint}/files/${fileId}/download_info`, { headers: auth })).json();
  const stored = Buffer.from(await (await fetch(info.url)).arrayBuffer());
  assert.ok(stored.equals(r1), 'the stored Seven Bridges file equals the dropped file');
  await page.selectOption('#target', 'omics');
  assert.deepEqual(page.problems, []);
});

// Chromium only: Playwright fills a `webkitdirectory` input (a folder) through the Chrome
// DevTools Protocol; over WebDriver BiDi (Firefox) it cannot, and no WebDriver can (WebKit).
test('a chosen folder brings its FASTQ pairs, and unsupported files are named as skipped',
  chromiumOnly('Playwright can fill a folder picker (webkitdirectory) only through CDP'), async () => {
  const dir = join(files, 'run42');
  mkdirSync(dir);
  writeFileSync(join(dir, 'lib7_R1_001.fastq.gz'), r1);
  writeFileSync(join(dir, 'lib7_R2_001.fastq.gz'), r2);
  writeFileSync(join(dir, 'SampleSheet.csv'), 'x\n');
  await page.setInputFiles('#folder-picker', dir);
  const forms = page.locator('#candidates form');
  assert.equal(await forms.count(), 1);
  assert.deepEqual(await forms.locator('.files .fname').allTextContents(), ['lib7_R1_001.fastq.gz', 'lib7_R2_001.fastq.gz']);
  assert.match(await page.textContent('#pick-message'), /SampleSheet\.csv: unsupported file type/);
  await forms.getByRole('button', { name: 'Remove' }).click();
});

test('mates can be split, re-paired and swapped by hand, and the file type changed', async () => {
  await drop(page, [['x_R1.fastq.gz', r1], ['x_R2.fastq.gz', r2], ['y_R1.fastq.gz', r1]]);
  const forms = page.locator('#candidates form');
  const fileLists = async () => {
    const out = [];
    for (let i = 0; i < await forms.count(); i += 1) out.push(await forms.nth(i).locator('.files .fname').allTextContents());
    return out;
  };
  assert.deepEqual(await fileLists(), [['x_R1.fastq.gz', 'x_R2.fastq.gz'], ['y_R1.fastq.gz']]);
  await forms.nth(0).getByRole('button', { name: 'Split pair' }).click();
  assert.deepEqual(await fileLists(), [['x_R1.fastq.gz'], ['x_R2.fastq.gz'], ['y_R1.fastq.gz']]);
  await forms.nth(2).getByLabel('Pair with').selectOption({ label: 'x_R2.fastq.gz' });
  assert.deepEqual(await fileLists(), [['x_R1.fastq.gz'], ['y_R1.fastq.gz', 'x_R2.fastq.gz']]);
  await forms.nth(1).getByRole('button', { name: 'Swap R1/R2' }).click();
  assert.deepEqual(await fileLists(), [['x_R1.fastq.gz'], ['x_R2.fastq.gz', 'y_R1.fastq.gz']]);

  // A type that does not fit the file name is flagged at once; BAM asks for a reference.
  assert.equal(await forms.nth(0).locator('[name="referenceArn"]').count(), 0);
  await forms.nth(0).getByLabel('File type').selectOption('BAM');
  assert.equal(await forms.nth(0).locator('[name="referenceArn"]').count(), 1);
  assert.match(await forms.nth(0).locator('.tools + .field-error').textContent(), /x_R1\.fastq\.gz is not a BAM file name/);
  for (let i = await forms.count(); i > 0; i -= 1) await forms.nth(0).getByRole('button', { name: 'Remove' }).click();
  assert.equal(await forms.count(), 0);
});

test('metadata rules are checked as the user types and block the upload with a message', async () => {
  await drop(page, [['aligned.cram', Buffer.from('CRAM fake content')]]);
  const form = page.locator('#candidates form');
  assert.equal(await form.locator('select').first().inputValue(), 'CRAM');
  await form.locator('[name="name"]').fill('n'.repeat(128));
  assert.equal(await form.locator('.f-name .field-error').textContent(), 'Name must be 1 to 127 characters (it has 128).');
  await form.locator('[name="referenceArn"]').fill('GRCh38');
  assert.equal(await form.locator('.f-referenceArn .field-error').textContent(), 'The reference must be an ARN starting with "arn:".');
  const before = await page.locator('.transfer').count();
  await form.getByRole('button', { name: 'Upload' }).click();
  assert.equal(await page.locator('.transfer').count(), before, 'nothing was started');
  assert.equal(await page.evaluate(() => document.activeElement.name), 'name', 'focus moves to the first field to correct');
  assert.equal(await form.locator('.f-subjectId .field-error').textContent(), 'Subject is required.');
  await form.locator('[name="name"]').fill('aligned');
  assert.equal(await form.locator('.f-name .field-error').textContent(), '');
  await form.getByRole('button', { name: 'Remove' }).click();
});

test('every control has a label, and the page fits a 360 px wide screen; screenshots saved', async () => {
  const unlabelled = await page.$$eval('input, select, textarea, button', (els) => els
    .filter((e) => !(e.labels?.length || e.getAttribute('aria-label') || (e.tagName === 'BUTTON' && e.textContent.trim())))
    .map((e) => e.outerHTML.slice(0, 80)));
  assert.deepEqual(unlabelled, []);

  // The drop zone is reachable by keyboard: Enter opens the file picker (its click is caught
  // here so that no native dialog opens).
  await page.evaluate(() => {
    window.pickerOpened = 0;
    document.getElementById('file-picker').addEventListener('click', (e) => { window.pickerOpened += 1; e.preventDefault(); }, { once: true });
  });
  await page.focus('#dropzone');
  await page.keyboard.press('Enter');
  assert.equal(await page.evaluate(() => window.pickerOpened), 1);

  mkdirSync(ARTIFACTS, { recursive: true });
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.screenshot({ path: join(ARTIFACTS, 'demo-page.png'), fullPage: true });
  await page.setViewportSize({ width: 360, height: 800 });
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= 360, `no horizontal scrolling at 360 px (page is ${width} px wide)`);
  await page.screenshot({ path: join(ARTIFACTS, 'demo-page-360.png'), fullPage: true });

  await page.click('#clear-finished');
  assert.equal(await page.locator('.transfer[data-upload-state="done"]').count(), 0, 'finished uploads cleared');
  assert.deepEqual(page.problems, []);
});
