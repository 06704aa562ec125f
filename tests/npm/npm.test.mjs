// The npm package as a portal developer gets it: `npm pack` of pkg/, installed from the tarball
// into a temporary copy of this consumer project, type-checked with `tsc --strict`, bundled with
// Vite, and used from two pages in headless Chromium (the Vite bundle, and a plain
// <script type="module"> with an import map and no bundler), each uploading a generated FASTQ.gz
// through a real `readset-server demo` (proxy + local store) to ACTIVE.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { startDemo, launchBrowser, openPage } from '../e2e/harness.mjs';
import { packageSizes } from '../../pkg-config/size.mjs';

const run = promisify(execFile);
const HERE = new URL('.', import.meta.url).pathname;
const PKG = process.env.READSET_PKG ?? join(HERE, '../../pkg');
const CARGO_VERSION = readFileSync(join(HERE, '../../Cargo.toml'), 'utf8').match(/^version = "(.+)"/m)[1];
// What the consumer project is made of; node_modules (from its lockfile) is copied as is.
const CONSUMER_FILES = ['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.nodenext.json', 'vite.config.js', 'index.html', 'main.ts', 'plain.html', 'usage.ts', 'node_modules'];

let tmp;
let consumer;
let packed;
let fastq;
let demo;
let browser;

/** Runs a command; on failure the error carries its output so the test report shows it. */
async function sh(cmd, args, cwd) {
  try {
    return await run(cmd, args, { cwd, maxBuffer: 16 << 20, env: { ...process.env, npm_config_update_notifier: 'false' } });
  } catch (e) {
    throw new Error(`${cmd} ${args.join(' ')} failed (exit ${e.code}):\n${e.stdout}\n${e.stderr}`);
  }
}

/** A small gzipped FASTQ with deterministic reads. */
function makeFastqGz(path, reads) {
  const bases = 'ACGT';
  let text = '';
  let x = 12345;
  for (let i = 0; i < reads; i++) {
    let seq = '';
    for (let j = 0; j < 100; j++) { x = (x * 1103515245 + 12345) & 0x7fffffff; seq += bases[x >> 29 & 3]; }
    text += `@read${i}/1\n${seq}\n+\n${'I'.repeat(100)}\n`;
  }
  writeFileSync(path, gzipSync(text));
  return path;
}

before(async () => {
  assert.ok(existsSync(join(PKG, 'package.json')), `${PKG} holds no assembled package: build it first (./run test does)`);
  assert.ok(existsSync(join(HERE, 'node_modules/.bin/vite')), 'tests/npm/node_modules is missing: run `npm ci` in tests/npm (./run test does)');
  tmp = mkdtempSync(join(tmpdir(), 'readset-npm-'));
  const { stdout } = await sh('npm', ['pack', '--json', '--pack-destination', tmp], PKG);
  packed = JSON.parse(stdout)[0];
  consumer = join(tmp, 'consumer');
  for (const f of CONSUMER_FILES) cpSync(join(HERE, f), join(consumer, f), { recursive: true, verbatimSymlinks: true });
  // --offline: the consumer's own dependencies are already in node_modules (from its lockfile);
  // only the tarball is added.
  await sh('npm', ['install', '--no-audit', '--no-fund', '--offline', join(tmp, packed.filename)], consumer);
  fastq = makeFastqGz(join(tmp, 'sample_R1.fastq.gz'), 3000);
});

after(async () => {
  await browser?.close();
  await demo?.stop();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

test('the tarball holds the ES module, the wasm, the declarations, README and LICENSE, at the Cargo version', (t) => {
  const sizes = packageSizes(PKG);
  t.diagnostic(`tarball ${packed.size} bytes (unpacked ${packed.unpackedSize}); gzipped wasm ${sizes.wasm.gzip} + js ${sizes.js.gzip} = ${sizes.totalGzip} bytes`);
  assert.equal(packed.name, 'readset-upload');
  assert.equal(packed.version, CARGO_VERSION);
  const files = packed.files.map((f) => f.path).sort();
  for (const f of ['LICENSE', 'README.md', 'package.json', 'readset_upload.d.ts', 'readset_upload.js', 'readset_upload_bg.wasm']) {
    assert.ok(files.includes(f), `${f} missing from the tarball: ${files.join(', ')}`);
  }
  assert.deepEqual(files.filter((f) => !/^(LICENSE|README\.md|package\.json|readset_upload(_bg\.wasm)?(\.d\.ts|\.js)?|readset_upload_bg\.wasm|snippets\/.*)$/.test(f)), []);
  const installed = JSON.parse(readFileSync(join(consumer, 'node_modules/readset-upload/package.json'), 'utf8'));
  assert.equal(installed.type, 'module');
  assert.equal(installed.exports['.'].types, './readset_upload.d.ts');
  assert.equal(installed.exports['.'].import, './readset_upload.js');
  assert.equal(installed.sideEffects, false);
  const readme = readFileSync(join(consumer, 'node_modules/readset-upload/README.md'), 'utf8');
  assert.match(readme, /## Install/);
});

test('usage.ts, which uses every export, type-checks with tsc --strict against the installed package', async () => {
  const { stdout } = await sh(join(consumer, 'node_modules/.bin/tsc'), ['-p', '.', '--strict', '--noEmit'], consumer);
  assert.equal(stdout.trim(), '');
});

test('usage.ts also type-checks with moduleResolution nodenext (the `exports` types condition)', async () => {
  const { stdout } = await sh(join(consumer, 'node_modules/.bin/tsc'), ['-p', 'tsconfig.nodenext.json', '--strict', '--noEmit'], consumer);
  assert.equal(stdout.trim(), '');
});

test('a misuse of the API is a type error, so the declarations are not `any`', async () => {
  writeFileSync(join(consumer, 'misuse.ts'),
    "import { uploadReadSet } from 'readset-upload';\nexport const p = uploadReadSet({ endpoint: 'x', sequenceStoreId: '1', sourceFileType: 'VCF', name: 'n', subjectId: 's', sampleId: 's', files: [] });\n");
  try {
    await assert.rejects(
      sh(join(consumer, 'node_modules/.bin/tsc'), ['--ignoreConfig', '--strict', '--noEmit', '--target', 'es2022', '--module', 'esnext', '--moduleResolution', 'bundler', '--lib', 'es2022,dom', '--types', '', 'misuse.ts'], consumer),
      /misuse\.ts\(2,\d+\): error TS2322: Type '"VCF"' is not assignable to type 'SourceFileType'/,
    );
  } finally {
    rmSync(join(consumer, 'misuse.ts'));
  }
});

test('vite build bundles the page and emits the wasm as an asset', async () => {
  await sh(join(consumer, 'node_modules/.bin/vite'), ['build'], consumer);
  const assets = readdirSync(join(consumer, 'dist/assets'));
  const wasm = assets.find((f) => f.endsWith('.wasm'));
  assert.ok(wasm, `no .wasm among ${assets.join(', ')}`);
  assert.deepEqual([...readFileSync(join(consumer, 'dist/assets', wasm)).subarray(0, 4)], [0x00, 0x61, 0x73, 0x6d]);
  assert.ok(assets.some((f) => f.endsWith('.js')));
});

/** Opens a page of the consumer, uploads the FASTQ.gz, returns { result, page }. */
async function uploadFrom(path) {
  if (!demo) {
    // The demo serves the consumer folder as its www root, /demo-config.json and the proxy.
    process.env.READSET_WWW = consumer;
    demo = await startDemo();
    browser = await launchBrowser();
  }
  const p = await openPage(browser, `${demo.pageUrl}${path}`);
  await p.waitForSelector('body[data-ready="true"]', { timeout: 20_000 });
  await p.setInputFiles('#file', fastq);
  await p.click('#upload');
  await p.waitForSelector('body[data-done="true"]', { timeout: 60_000 });
  const result = JSON.parse(await p.textContent('#result'));
  return { result, page: p };
}

/** The read set as the store holds it, asked through the proxy from Node (not from the page). */
async function readSetFromProxy(readSetId) {
  const config = await (await fetch(`${demo.pageUrl}/demo-config.json`)).json();
  const res = await fetch(`${config.endpoint}/sequencestore/${config.sequenceStoreId}/readset/${readSetId}/metadata`, {
    headers: { authorization: `Bearer ${config.token}` },
  });
  assert.equal(res.status, 200, await res.clone().text());
  return res.json();
}

function assertUploaded(result, name, problems) {
  assert.equal(result.ok, true, JSON.stringify(result));
  const size = readFileSync(fastq).length;
  assert.equal(result.upload.status, 'ACTIVE');
  assert.equal(result.upload.bytes, size);
  assert.equal(result.upload.etag.status, 'verified');
  assert.equal(result.metadata.id, result.upload.readSetId);
  assert.equal(result.metadata.status, 'ACTIVE');
  assert.equal(result.maxUploaded, size, 'progress events reached every byte');
  assert.deepEqual(result.phases.filter((p) => p === 'uploading' || p === 'done'), ['uploading', 'done']);
  // The worker pool starts from a Blob URL with the page's compiled module: no bundler set-up.
  assert.equal(result.upload.hashing.onMainThread, 0, 'every hash ran in a Web Worker');
  assert.ok(result.upload.hashing.inWorkers >= 2, JSON.stringify(result.upload.hashing));
  assert.deepEqual(problems, []);
  return readSetFromProxy(result.upload.readSetId).then((stored) => {
    assert.equal(stored.status, 'ACTIVE');
    assert.equal(stored.name, name);
    assert.equal(stored.fileType, 'FASTQ');
  });
}

test('the Vite-bundled page uploads a FASTQ.gz through the proxy to ACTIVE, loading its own wasm asset', async () => {
  const { result, page } = await uploadFrom('/dist/index.html');
  await assertUploaded(result, 'bundled page', page.problems);
  const loaded = await page.evaluate(() => performance.getEntriesByType('resource').map((e) => new URL(e.name).pathname).filter((p) => p.endsWith('.wasm')));
  assert.equal(loaded.length, 1);
  assert.match(loaded[0], /^\/dist\/assets\/readset_upload_bg-[\w-]+\.wasm$/);
  await page.close();
});

test('a plain <script type="module"> page imports the installed package with no bundler and uploads to ACTIVE', async () => {
  const { result, page } = await uploadFrom('/plain.html');
  await assertUploaded(result, 'plain page', page.problems);
  const loaded = await page.evaluate(() => performance.getEntriesByType('resource').map((e) => new URL(e.name).pathname).filter((p) => p.endsWith('.wasm') || p.endsWith('.js')));
  // The glue, the wasm, and the JS snippet wasm-bindgen ships beside them (the Blob reader).
  assert.deepEqual(loaded.map((p) => p.replace(/readset-upload-[0-9a-f]+/, 'readset-upload-HASH')).sort(), [
    '/node_modules/readset-upload/readset_upload.js',
    '/node_modules/readset-upload/readset_upload_bg.wasm',
    '/node_modules/readset-upload/snippets/readset-upload-HASH/src/web/reader.js',
  ]);
  await page.close();
});
