// The demo page's main flows in WebKitGTK's MiniBrowser (the engine of Safari), driven over W3C
// WebDriver (selenium-webdriver) against WebKitWebDriver under xvfb-run: Playwright cannot drive
// the stock MiniBrowser, and WebKitWebDriver has no headless mode and no BiDi. Pick a FASTQ pair
// and upload it to ACTIVE with a verified ETag; pause and resume; cancel; resume after a reload.
// The store's bytes and part counters are checked, not only the page. Console errors and uncaught
// errors are caught by wrapping `console.error` and listening on `window` after each load (no
// BiDi to hear them otherwise). WebKit has no BYOB reads on Blob streams: every upload here takes
// the library's default-reader path (src/web/reader.js).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { readFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Builder, By } from 'selenium-webdriver';
import { startDemo } from '../harness.mjs';
import { fastqGz, stats, waitFor } from '../upload-helpers.mjs';

const MINIBROWSER = process.env.READSET_MINIBROWSER ?? '/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser';
const PART = 65536;

let driverProc;
let driverUrl;
let files;

/** A free loopback port (bound and released by the OS). */
function freePort() {
  return Number(execFileSync('python3', ['-c', 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])']).toString().trim());
}

before(async () => {
  files = mkdtempSync(join(tmpdir(), 'readset-webkit-'));
  const port = freePort();
  // Its own process group, so that stopping it stops the Xvfb and MiniBrowsers it started.
  driverProc = spawn('xvfb-run', ['-a', '-s', '-screen 0 1280x1024x24', 'WebKitWebDriver', '--host=127.0.0.1', `--port=${port}`], { detached: true, stdio: 'ignore' });
  driverUrl = `http://127.0.0.1:${port}`;
  await waitFor('WebKitWebDriver', async () => (await fetch(`${driverUrl}/status`).catch(() => null))?.ok, { tries: 100, everyMs: 200 });
});

after(() => {
  if (driverProc) try { process.kill(-driverProc.pid, 'SIGTERM'); } catch { /* gone */ }
});

/** A MiniBrowser session on the demo page, with problems recorded in `window.problems`. */
async function session(demo) {
  const driver = await new Builder().usingServer(driverUrl).withCapabilities({
    browserName: 'MiniBrowser',
    'webkitgtk:browserOptions': { binary: MINIBROWSER, args: ['--automation'] },
  }).build();
  await driver.manage().setTimeouts({ script: 60_000 });
  await open(driver, demo.pageUrl);
  return driver;
}

async function open(driver, url) {
  await driver.get(url);
  await waitFor('the page to be ready', () => driver.executeScript('return document.body.dataset.ready === "true"'), { tries: 150, everyMs: 100 });
  await driver.executeScript(`
    window.problems = [];
    const error = console.error.bind(console);
    console.error = (...a) => { window.problems.push('console: ' + a.join(' ')); error(...a); };
    window.addEventListener('error', (e) => window.problems.push('error: ' + e.message));
    window.addEventListener('unhandledrejection', (e) => window.problems.push('unhandledrejection: ' + (e.reason && e.reason.message || e.reason)));
  `);
}

const problems = (driver) => driver.executeScript('return window.problems');
const attr = (driver, css, name) => driver.executeScript(`const e = document.querySelector(arguments[0]); return e && e.getAttribute(arguments[1])`, css, name);

/** Runs `fn` again (at most 5 times) if the page re-rendered the element it found. */
async function fresh(fn) {
  for (let i = 0; ; i++) {
    try {
      return await fn();
    } catch (e) {
      if (e.name !== 'StaleElementReferenceError' || i >= 4) throw e;
    }
  }
}

async function fill(driver, css, value) {
  await fresh(async () => {
    const el = await driver.findElement(By.css(css));
    await el.clear();
    await el.sendKeys(value);
  });
}

/** Opens "Advanced" and sets 64 KiB parts and `concurrency` parts at once. */
async function advanced(driver, concurrency) {
  if (!(await driver.executeScript('return document.querySelector("details.advanced").open'))) {
    await driver.findElement(By.css('details.advanced summary')).click();
  }
  await fill(driver, '#part-size', '64');
  await fill(driver, '#concurrency', String(concurrency));
}

/** Chooses `paths` with the file picker, fills the form and starts the upload; resolves to the card's upload id. */
async function startUpload(driver, paths, subject) {
  await driver.findElement(By.css('#file-picker')).sendKeys(paths.join('\n'));
  await waitFor('the candidate form', () => driver.executeScript('return document.querySelectorAll("#candidates form").length === 1'));
  await fill(driver, '#candidates form [name="subjectId"]', subject);
  await fill(driver, '#candidates form [name="sampleId"]', 'webkit');
  await driver.findElement(By.css('#candidates form button[type="submit"]')).click();
  return waitFor('the upload id', () => attr(driver, '.transfer', 'data-upload-id'));
}

async function ended(driver, card) {
  const state = await waitFor('the upload to end', async () => {
    const s = await attr(driver, card, 'data-upload-state');
    return ['done', 'failed', 'cancelled'].includes(s) && s;
  }, { tries: 1200, everyMs: 100 });
  return state;
}

async function clickIn(driver, card, text) {
  const buttons = await driver.findElements(By.css(`${card} button`));
  for (const b of buttons) if ((await b.getText()).trim() === text) return b.click();
  throw new Error(`no "${text}" button in ${card}`);
}

const storedSource = (demo, id, n) => readFileSync(join(demo.dataDir, 'store', 'readsets', id, `source${n}`));

test('a FASTQ pair picked in WebKit uploads in parts to ACTIVE with a verified ETag, byte for byte', { timeout: 180_000 }, async () => {
  const demo = await startDemo();
  let driver;
  try {
    driver = await session(demo);
    const engine = await driver.executeScript('return { ua: navigator.userAgent, byob: typeof ReadableStreamBYOBReader, cores: navigator.hardwareConcurrency }');
    assert.match(engine.ua, /AppleWebKit/);
    assert.doesNotMatch(engine.ua, /Chrome|Firefox/, `this is WebKit: ${engine.ua}`);
    const r1 = fastqGz(files, 'wk_S1_R1.fastq.gz', 6000, 1);
    const r2 = fastqGz(files, 'wk_S1_R2.fastq.gz', 6000, 2);
    await advanced(driver, 4);
    await startUpload(driver, [r2, r1], 'patient-wk');
    assert.equal(await ended(driver, '.transfer'), 'done', await driver.executeScript('return document.querySelector(".transfer").textContent'));
    const total = Math.ceil(readFileSync(r1).length / PART) + Math.ceil(readFileSync(r2).length / PART);
    assert.ok(total >= 6, `several parts (${total})`);
    assert.equal(await attr(driver, '.transfer', 'data-parts-total'), String(total));
    assert.equal(await attr(driver, '.transfer', 'data-etag'), 'verified');
    assert.equal(await attr(driver, '.transfer', 'data-hashing'), 'workers', 'hashed in Web Workers');
    const text = await driver.executeScript('return document.querySelector(".transfer").textContent');
    assert.match(text, /ACTIVE/);
    assert.match(text, /ETag verified/);
    const id = await attr(driver, '.transfer', 'data-read-set-id');
    assert.ok(storedSource(demo, id, 1).equals(readFileSync(r1)), 'R1 stored byte for byte');
    assert.ok(storedSource(demo, id, 2).equals(readFileSync(r2)), 'R2 stored byte for byte');
    assert.equal((await stats(demo.storeUrl)).partsStored, total);
    assert.deepEqual(await problems(driver), []);
  } finally {
    await driver?.quit();
    await demo.stop();
  }
});

test('in WebKit, Pause stops sending parts and Resume finishes the same upload; Cancel leaves nothing on the server', { timeout: 240_000 }, async () => {
  const demo = await startDemo(['--fault-latency-ms', '150']);
  let driver;
  try {
    driver = await session(demo);
    const path = fastqGz(files, 'wk_pause.fastq.gz', 12000, 3);
    const total = Math.ceil(readFileSync(path).length / PART);
    await advanced(driver, 1);
    const uploadId = await startUpload(driver, [path], 'patient-pause');
    const card = `.transfer[data-upload-id="${uploadId}"]`;
    await waitFor('two parts stored', async () => (await stats(demo.storeUrl)).partsStored >= 2);
    await clickIn(driver, card, 'Pause');
    // One part may be in flight when Pause is pressed; after it, nothing more is sent.
    await waitFor('the paused card', async () => (await driver.executeScript(`return document.querySelector(arguments[0] + " .phase").textContent`, card)) === 'Paused');
    const atPause = (await stats(demo.storeUrl)).partRequests;
    await new Promise((r) => setTimeout(r, 1500));
    const later = (await stats(demo.storeUrl)).partRequests;
    assert.ok(later - atPause <= 1, `paused, yet ${later - atPause} more parts were requested`);
    assert.ok((await stats(demo.storeUrl)).partsStored < total, 'paused mid-upload');
    await clickIn(driver, card, 'Resume');
    assert.equal(await ended(driver, card), 'done');
    assert.equal(await attr(driver, card, 'data-etag'), 'verified');
    const id = await attr(driver, card, 'data-read-set-id');
    assert.ok(storedSource(demo, id, 1).equals(readFileSync(path)), 'stored byte for byte');

    // Cancel mid-upload: the card says so, and the server lists no interrupted upload.
    const other = fastqGz(files, 'wk_cancel.fastq.gz', 12000, 4);
    const cancelId = await startUpload(driver, [other], 'patient-cancel');
    const card2 = `.transfer[data-upload-id="${cancelId}"]`;
    assert.notEqual(cancelId, uploadId);
    const stored = (await stats(demo.storeUrl)).partsStored;
    await waitFor('a part of the second upload', async () => (await stats(demo.storeUrl)).partsStored > stored);
    await clickIn(driver, card2, 'Cancel');
    assert.equal(await ended(driver, card2), 'cancelled');
    await driver.findElement(By.css('#interrupted-refresh')).click();
    await waitFor('the empty interrupted list', () => driver.executeScript('return /No interrupted uploads\\./.test(document.getElementById("interrupted-message").textContent)'));
    assert.deepEqual(await problems(driver), []);
  } finally {
    await driver?.quit();
    await demo.stop();
  }
});

test('in WebKit, an upload interrupted by a reload is listed and resumed by choosing the file again, sending only the missing parts', { timeout: 240_000 }, async () => {
  const demo = await startDemo(['--fault-latency-ms', '150']);
  let driver;
  try {
    driver = await session(demo);
    const path = fastqGz(files, 'wk_reload.fastq.gz', 12000, 5);
    const total = Math.ceil(readFileSync(path).length / PART);
    await advanced(driver, 1);
    const uploadId = await startUpload(driver, [path], 'patient-reload');
    await waitFor('three parts stored', async () => (await stats(demo.storeUrl)).partsStored >= 3);
    await clickIn(driver, `.transfer[data-upload-id="${uploadId}"]`, 'Pause');
    await driver.navigate().refresh();
    await open(driver, demo.pageUrl);
    await advanced(driver, 1); // the part size the upload was started with (the page forgets it)
    await driver.findElement(By.css('#interrupted-refresh')).click();
    const item = `#interrupted-list li[data-upload-id="${uploadId}"]`;
    const held = Number(await waitFor('the interrupted upload', () => attr(driver, `${item} [data-parts]`, 'data-parts')));
    assert.ok(held >= 3 && held < total, `the server holds ${held} of ${total} parts`);
    const before = (await stats(demo.storeUrl)).partRequests;
    await fresh(() => driver.findElement(By.css(`${item} input[type="file"]`)).sendKeys(path));
    const card = `.transfer[data-upload-id="${uploadId}"]`;
    assert.equal(await ended(driver, card), 'done');
    assert.equal(await attr(driver, card, 'data-etag'), 'verified');
    const sent = (await stats(demo.storeUrl)).partRequests - before;
    assert.equal(sent, total - held, `sent ${sent} parts on resume; the server held ${held} of ${total}`);
    const id = await attr(driver, card, 'data-read-set-id');
    assert.ok(storedSource(demo, id, 1).equals(readFileSync(path)), 'stored byte for byte');
    assert.deepEqual(await problems(driver), []);
  } finally {
    await driver?.quit();
    await demo.stop();
  }
});
