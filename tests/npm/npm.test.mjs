// The npm package as a portal developer gets it: `npm pack` of pkg/, installed from the tarball
// into a temporary copy of this consumer project, type-checked with `tsc --strict`, and one page
// (main.ts) built five ways: bundled with Vite, webpack 5, esbuild and Rollup (each with the
// configuration the npm README shows), and compiled by tsc for a plain <script type="module">
// page with an import map and no bundler. Each page uploads a generated FASTQ.gz R1/R2 pair in
// headless Chromium, hashing in its Web Workers, through a real `readset-server demo` (proxy +
// local store) to ACTIVE.
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
import { exportedNames, importedNames, parameterNames } from './dts.mjs';

const run = promisify(execFile);
const HERE = new URL('.', import.meta.url).pathname;
const PKG = process.env.READSET_PKG ?? join(HERE, '../../pkg');
const CARGO_TOML = readFileSync(join(HERE, '../../Cargo.toml'), 'utf8');
const CARGO_VERSION = CARGO_TOML.match(/^version = "(.+)"/m)[1];
const CARGO_REPOSITORY = CARGO_TOML.match(/^repository = "(.+)"/m)[1];
// What the consumer project is made of; node_modules (from its lockfile) is copied as is.
const CONSUMER_FILES = [
  'package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.nodenext.json', 'tsconfig.plain.json',
  'vite.config.js', 'webpack.config.mjs', 'esbuild.config.mjs', 'rollup.config.mjs',
  'index.html', 'bundle.html', 'plain.html', 'main.ts', 'usage.ts', 'node_modules',
];

let tmp;
let consumer;
let packed;
let fastqs;
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

/** A small gzipped FASTQ with deterministic reads (`mate` 1 or 2 of a pair). */
function makeFastqGz(path, reads, mate) {
  const bases = 'ACGT';
  let text = '';
  let x = 12345 * mate;
  for (let i = 0; i < reads; i++) {
    let seq = '';
    for (let j = 0; j < 100; j++) { x = (x * 1103515245 + 12345) & 0x7fffffff; seq += bases[x >> 29 & 3]; }
    text += `@read${i}/${mate}\n${seq}\n+\n${'I'.repeat(100)}\n`;
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
  fastqs = [makeFastqGz(join(tmp, 'sample_R1.fastq.gz'), 3000, 1), makeFastqGz(join(tmp, 'sample_R2.fastq.gz'), 3000, 2)];
});

after(async () => {
  await browser?.close();
  await demo?.stop();
  // rm(1), not rmSync: Node 20's recursive rmSync takes about 20 s for the copied node_modules
  // (some 5,500 files), rm a second or two.
  if (tmp) await run('rm', ['-rf', tmp]);
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

test('repository, homepage and bugs come from the repository of Cargo.toml', () => {
  const installed = JSON.parse(readFileSync(join(consumer, 'node_modules/readset-upload/package.json'), 'utf8'));
  const repo = CARGO_REPOSITORY.replace(/\.git$/, '');
  assert.deepEqual(installed.repository, { type: 'git', url: `git+${repo}.git` });
  assert.equal(installed.homepage, `${repo}#readme`);
  assert.deepEqual(installed.bugs, { url: `${repo}/issues` });
});

test('every parameter name in the declarations is camelCase', () => {
  const dts = readFileSync(join(consumer, 'node_modules/readset-upload/readset_upload.d.ts'), 'utf8');
  const names = parameterNames(dts);
  // The scan finds the parameters it must (so an empty result cannot pass for a clean one)...
  for (const n of ['options', 'blob', 'algorithm', 'uploadId', 'partSource', 'readSetId', 'jobId', 'moduleOrPath']) assert.ok(names.includes(n), `${n} not found among ${names.join(', ')}`);
  // ... and would catch a snake_case one, but not an option key in a parameter's type.
  assert.deepEqual(parameterNames('export function f(a: { some_key: string }, upload_id?: string, ...rest_args: number[]): (job_id: string) => void;'), ['a', 'upload_id', 'rest_args', 'job_id']);
  assert.deepEqual(names.filter((n) => n.includes('_')), []);
});

test('usage.ts imports every export of the declarations', () => {
  const dts = readFileSync(join(consumer, 'node_modules/readset-upload/readset_upload.d.ts'), 'utf8');
  const exported = exportedNames(dts);
  const imported = importedNames(readFileSync(join(HERE, 'usage.ts'), 'utf8'));
  assert.ok(exported.length >= 50 && exported.includes('default') && exported.includes('uploadReadSet'), exported.join(', '));
  // tsc's noUnusedLocals (tsconfig.json) then makes sure usage.ts uses each name it imports.
  assert.deepEqual(exported.filter((n) => !imported.includes(n)), [], 'exports usage.ts does not touch');
});

test('usage.ts and main.ts type-check with tsc --strict against the installed package', async () => {
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

/** Opens a page of the consumer, uploads the FASTQ.gz pair, returns { result, page }. */
async function uploadFrom(path) {
  if (!demo) {
    // The demo serves the consumer folder as its www root, /demo-config.json and the proxy.
    process.env.READSET_WWW = consumer;
    demo = await startDemo();
    browser = await launchBrowser();
  }
  const p = await openPage(browser, `${demo.pageUrl}${path}`);
  await p.waitForSelector('body[data-ready="true"]', { timeout: 20_000 });
  await p.setInputFiles('#file', fastqs);
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
  const [size1, size2] = fastqs.map((f) => readFileSync(f).length);
  const size = size1 + size2;
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
    // Both files of the pair, each whole.
    assert.equal(stored.files?.source1?.contentLength, size1, JSON.stringify(stored.files));
    assert.equal(stored.files?.source2?.contentLength, size2, JSON.stringify(stored.files));
  });
}

/** The package's own wasm, to compare what each build emits with. */
const packageWasm = () => readFileSync(join(PKG, 'readset_upload_bg.wasm'));

/** Runs a build script or CLI of the consumer with node, from the consumer's folder. */
const node = (args) => sh(process.execPath, args, consumer);

// The five ways a portal loads the package: the build (the config file the npm README shows),
// its output folder, and where the page must fetch the wasm from (its own output, never the
// installed package, which the demo server also serves). tsc comes first: it compiles main.ts
// to main.js, the page of the no-bundler set-up and the entry of webpack, esbuild and Rollup
// (Vite takes main.ts itself).
const BUILDS = [
  {
    name: 'no bundler (tsc, import map)', dir: null, page: '/plain.html', wasm: /^\/node_modules\/readset-upload\/readset_upload_bg\.wasm$/,
    build: () => sh(join(consumer, 'node_modules/.bin/tsc'), ['-p', 'tsconfig.plain.json'], consumer),
  },
  {
    name: 'Vite', dir: 'dist', page: '/dist/index.html', wasm: /^\/dist\/assets\/readset_upload_bg-[\w-]+\.wasm$/,
    build: () => node([join(consumer, 'node_modules/vite/bin/vite.js'), 'build']),
  },
  {
    name: 'webpack 5', dir: 'dist-webpack', page: '/dist-webpack/index.html', wasm: /^\/dist-webpack\/[0-9a-f]+\.wasm$/,
    // webpack's Node API with the config file as is (webpack-cli would only read the same file).
    build: () => node(['--input-type=module', '-e', `
      import webpack from 'webpack';
      import config from './webpack.config.mjs';
      webpack(config, (err, stats) => {
        if (err || stats.hasErrors() || stats.hasWarnings()) {
          console.error(err ?? stats.toString({ all: false, errors: true, warnings: true }));
          process.exit(1);
        }
      });`]),
    config: 'webpack.config.mjs',
  },
  {
    name: 'esbuild', dir: 'dist-esbuild', page: '/dist-esbuild/index.html', wasm: /^\/dist-esbuild\/readset_upload_bg\.wasm$/,
    build: () => node(['esbuild.config.mjs']),
    config: 'esbuild.config.mjs',
  },
  {
    name: 'Rollup', dir: 'dist-rollup', page: '/dist-rollup/index.html', wasm: /^\/dist-rollup\/assets\/readset_upload_bg-[\w-]+\.wasm$/,
    build: () => node([join(consumer, 'node_modules/rollup/dist/bin/rollup'), '-c', 'rollup.config.mjs', '--failAfterWarnings']),
    config: 'rollup.config.mjs',
  },
];

test('the webpack, esbuild and Rollup configs tested are the ones the npm README shows', () => {
  const readme = readFileSync(join(consumer, 'node_modules/readset-upload/README.md'), 'utf8');
  for (const b of BUILDS.filter((x) => x.config)) {
    // Every line but comments, with the test's output folder named as in the README.
    const lines = readFileSync(join(HERE, b.config), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('//'));
    for (const line of lines) {
      const shown = line.replaceAll(b.dir, 'dist');
      assert.ok(readme.includes(shown), `${b.config}: the npm README does not show \`${shown}\``);
    }
  }
});

/** Every file under `dir`, relative to it. */
const filesUnder = (dir) => readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name).slice(dir.length + 1));

for (const b of BUILDS) {
  test(`${b.name}: builds the page from main.ts`, async (t) => {
    await b.build();
    if (!b.dir) {
      // No bundler: main.js beside the page, its types gone, its import the bare package name
      // (the import map resolves it); the package's own files load as installed.
      const js = readFileSync(join(consumer, 'main.js'), 'utf8');
      assert.match(js, /from 'readset-upload'/);
      assert.doesNotMatch(js, /type (ConnectionOptions|UploadOptions|UploadProgress)|: UploadProgress/);
      t.diagnostic(`${b.name}: page js ${js.length} B; the package loads as installed`);
      return;
    }
    const out = join(consumer, b.dir);
    if (b.dir !== 'dist') cpSync(join(consumer, 'bundle.html'), join(out, 'index.html'));
    const files = filesUnder(out);
    const js = files.filter((f) => f.endsWith('.js'));
    const wasm = files.filter((f) => f.endsWith('.wasm'));
    assert.ok(js.length >= 1, `no .js among ${files.join(', ')}`);
    const gz = (f) => gzipSync(readFileSync(join(out, f)), { level: 9 }).length;
    const jsBytes = js.reduce((n, f) => n + readFileSync(join(out, f)).length, 0);
    const jsGzip = js.reduce((n, f) => n + gz(f), 0);
    // The bundle emits the package's wasm unchanged, once, and holds the package's JS (glue and
    // snippet) itself: nothing is fetched from node_modules (checked on the page below).
    assert.equal(wasm.length, 1, `one .wasm expected among ${files.join(', ')}`);
    assert.ok(readFileSync(join(out, wasm[0])).equals(packageWasm()), `${wasm[0]} differs from the package's wasm`);
    const bundled = js.map((f) => readFileSync(join(out, f), 'utf8')).join('\n');
    assert.match(bundled, /getReadSetMetadata/, 'the glue is in the bundle');
    assert.match(bundled, /the file ended at byte/, 'the reader snippet (snippets/.../reader.js) is in the bundle');
    assert.match(bundled, /x-amzn-errortype/, 'the viewer snippet (snippets/.../viewer.js) is in the bundle');
    const wasmBytes = readFileSync(join(out, wasm[0])).length;
    t.diagnostic(`${b.name}: js ${jsBytes} B (${jsGzip} B gzipped) in ${js.length} file(s) + wasm ${wasmBytes} B (${gz(wasm[0])} B gzipped)`);
  });

  test(`${b.name}: the page uploads a FASTQ.gz pair through the proxy to ACTIVE, hashing in workers`, async () => {
    const { result, page } = await uploadFrom(b.page);
    await assertUploaded(result, `upload from ${b.page}`, page.problems);
    const loaded = await page.evaluate(() => performance.getEntriesByType('resource').map((e) => new URL(e.name).pathname).filter((p) => /\.(wasm|js)$/.test(p)));
    const wasm = loaded.filter((p) => p.endsWith('.wasm'));
    assert.equal(wasm.length, 1, loaded.join(', '));
    assert.match(wasm[0], b.wasm);
    if (!b.dir) {
      // The page's own module, the glue, and the JS snippets wasm-bindgen ships beside them.
      assert.deepEqual(loaded.filter((p) => p.endsWith('.js')).map((p) => p.replace(/readset-upload-[0-9a-f]+/, 'readset-upload-HASH')).sort(), [
        '/main.js',
        '/node_modules/readset-upload/readset_upload.js',
        '/node_modules/readset-upload/snippets/readset-upload-HASH/src/web/reader.js',
        '/node_modules/readset-upload/snippets/readset-upload-HASH/src/web/viewer.js',
      ]);
    } else {
      assert.deepEqual(loaded.filter((p) => !p.startsWith(`/${b.dir}/`)), [], 'a bundled page loads only its own build');
    }
    await page.close();
  });
}
