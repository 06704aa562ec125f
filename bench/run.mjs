// ./run bench: what users feel, measured in headless Chromium on this machine.
//
//   node run.mjs            the full run (about 17 minutes on 2 cores; prints the table, writes results.json)
//   node run.mjs --quick    tiny inputs, one round: proves the harness works (./run test uses it)
//   node run.mjs --no-write do not write results.json
//   node run.mjs --e2e-bytes=64M  the end-to-end file's size (K, M or G: binary units), to check the harness
//
// Machines here are shared and noisy, so every figure that matters is a ratio of two things
// measured in the same run, alternating contenders, several rounds, median reported.
// Environment: READSET_SERVER (readset-server binary), READSET_PKG (wasm-pack output),
// CHROME_BIN (Chromium).
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import { closeSync, copyFileSync, existsSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { chromium } from 'playwright-core';
import { loadRun, startDemoServer, stop, writeRandomFile } from './load.mjs';
import { transportRun } from './transport.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '..');
const argv = process.argv.slice(2);
const QUICK = argv.includes('--quick');
const WRITE = !argv.includes('--no-write');
// --only=size,hash,etag,e2e,growth,manyparts,mem,load,transport runs some sections (for profiling; results.json is not written).
const ONLY = (argv.find((a) => a.startsWith('--only=')) ?? '').slice(7).split(',').filter(Boolean);
const want = (s) => ONLY.length === 0 || ONLY.includes(s);
/** `--name=64M` as bytes (K, M, G: KiB, MiB, GiB), or null when not given. */
function bytesArg(name) {
  const a = argv.find((x) => x.startsWith(`--${name}=`));
  if (!a) return null;
  const m = a.slice(name.length + 3).match(/^(\d+)([KMG]?)$/i);
  if (!m) throw new Error(`--${name}: expected a size such as 64M, got ${a}`);
  return Number(m[1]) * 1024 ** ' KMG'.indexOf((m[2] || ' ').toUpperCase());
}
const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

// Sizes and rounds. The quick run uses the same code paths on inputs small enough for a test.
const S = QUICK
  ? { hashBytes: 1 * MiB, hashRounds: 1, partsBytes: 4 * MiB, partsPart: 1 * MiB, fastqReads: 2000, etagRounds: 1, e2eBytes: 12 * MiB, e2ePart: 5 * MiB, e2eRounds: 1,
      memSmall: 12 * MiB, memLarge: 24 * MiB, memPart: 5 * MiB, proxyPart: 1 * MiB,
      load: { users: 2, uploadsPerUser: 2, fileBytes: 2 * MiB, partSize: 512 * 1024, concurrency: 2 },
      transport: { parts: 4, partBytes: 1 * MiB, rounds: 1 }, growthSizes: [4 * MiB, 8 * MiB, 16 * MiB], growthRounds: 1, manyParts: { parts: 200, partSize: 4096 } }
  : { hashBytes: 128 * MiB, hashRounds: 5, partsBytes: 512 * MiB, partsPart: 64 * MiB, fastqReads: 400_000, etagRounds: 5, e2eBytes: 2 * GiB, e2ePart: 100 * MiB, e2eRounds: 5,
      memSmall: 1 * GiB, memLarge: 4 * GiB, memPart: 100 * MiB, proxyPart: 100 * MiB,
      load: { users: 8, uploadsPerUser: 2, fileBytes: 48 * MiB, partSize: 4 * MiB, concurrency: 4 },
      transport: { parts: 16, partBytes: 100 * MiB, rounds: 5 }, growthSizes: [256 * MiB, 1 * GiB, 4 * GiB], growthRounds: 3, manyParts: { parts: 10_000, partSize: 4096 } };
S.e2eBytes = bytesArg('e2e-bytes') ?? S.e2eBytes;
const CONCURRENCY = 4; // the library's default
const CHUNK = 4 * MiB; // the library's default chunkSize

function findServer() {
  const candidates = [process.env.READSET_SERVER, join(ROOT, '.bin/readset-server'), join(ROOT, 'target/debug/readset-server'),
    process.env.CARGO_TARGET_DIR && join(process.env.CARGO_TARGET_DIR, 'debug/readset-server')].filter(Boolean);
  const found = candidates.find((p) => existsSync(p));
  if (!found) throw new Error(`readset-server not found (tried ${candidates.join(', ')}); build it or set READSET_SERVER`);
  return found;
}
const PKG = process.env.READSET_PKG ?? join(ROOT, 'pkg');
if (!existsSync(join(PKG, 'readset_upload_bg.wasm'))) throw new Error(`no wasm package in ${PKG}: build it first (./run bench does)`);

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const mbps = (bytes, ms) => bytes / 1e6 / (ms / 1000);
const fmt = (x, d = 1) => (x === null || x === undefined || Number.isNaN(x) ? 'n/a' : x.toFixed(d));
const log = (...a) => console.error('bench:', ...a);

// ---------- processes and memory (/proc) ----------

function procStatus(pid) {
  try {
    const s = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (k) => Number((s.match(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm')) ?? [])[1] ?? 0) * 1024;
    return { rss: kb('VmRSS'), hwm: kb('VmHWM'), ppid: Number((s.match(/^PPid:\s+(\d+)/m) ?? [])[1] ?? 0) };
  } catch { return null; }
}
// Chromium's child processes rewrite their title, so arguments may be separated by spaces, not NULs.
function cmdline(pid) { try { return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split(/[\0 ]/); } catch { return []; } }

/** Renderer processes of the Chromium whose browser process carries `marker` on its command line. */
function rendererPids(marker) {
  const pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d)).map(Number);
  const parent = new Map(pids.map((p) => [p, procStatus(p)?.ppid ?? 0]));
  const browser = pids.find((p) => { const c = cmdline(p); return c.includes(marker) && !c.some((a) => a.startsWith('--type=')); });
  if (!browser) return [];
  const descends = (p) => { for (let i = 0; i < 10 && p > 1; i++) { p = parent.get(p) ?? 0; if (p === browser) return true; } return false; };
  // The browser UI's own WebUI renderer is not the page's.
  return pids.filter((p) => { const c = cmdline(p); return descends(p) && c.includes('--type=renderer') && !c.includes('--top-chrome-webui'); });
}

/** The marked Chromium browser process and every process below it. */
function browserTree(marker) {
  const pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d)).map(Number);
  const parent = new Map(pids.map((p) => [p, procStatus(p)?.ppid ?? 0]));
  const browser = pids.find((p) => { const c = cmdline(p); return c.includes(marker) && !c.some((a) => a.startsWith('--type=')); });
  if (!browser) return new Set();
  const tree = new Set([browser]);
  for (const p of pids) { let q = p; for (let i = 0; i < 10 && q > 1; i++) { if (q === browser) { tree.add(p); break; } q = parent.get(q) ?? 0; } }
  return tree;
}

/** CPU seconds (user + system) used so far by one process (clock ticks of 1/100 s); 0 once it exited. */
function processCpu(pid) {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(f[11]) + Number(f[12])) / 100; // utime, stime (fields 14 and 15 of stat)
  } catch { return 0; }
}
/** CPU seconds (user + system) used so far by `pids`. */
function cpuSeconds(pids) { return pids.reduce((a, p) => a + processCpu(p), 0); }

/** Chromium's process types, as the CPU split reports them. */
const PROCESS_TYPES = ['browser', 'renderer', 'network/utility', 'gpu', 'other'];
/** A Chromium process's type from its `--type=` argument: the browser process has none (but
 *  is the tree's root: the crashpad handler has none either and is `other`); the network
 *  service is a `utility`. */
function processType(pid, root) {
  if (pid === root) return 'browser';
  const t = cmdline(pid).find((a) => a.startsWith('--type='))?.slice(7);
  return t === 'renderer' ? 'renderer' : t === 'utility' ? 'network/utility' : t === 'gpu-process' ? 'gpu' : 'other';
}
/** Each process of the marked Chromium now: pid -> { type, cpu } (CPU seconds so far). */
function chromiumSnapshot(marker) {
  const tree = browserTree(marker);
  const root = [...tree].find((p) => { const c = cmdline(p); return c.includes(marker) && !c.some((a) => a.startsWith('--type=')); });
  return new Map([...tree].map((p) => [p, { type: processType(p, root), cpu: processCpu(p) }]));
}
/** CPU seconds the marked Chromium spent between two snapshots, by process type and in all
 *  (`chromium`). Per process, so one that started in between counts from 0 and one that exited
 *  in between drops out (its last seconds are lost, not subtracted). */
function chromiumCpuSince(before, after) {
  const byType = Object.fromEntries(PROCESS_TYPES.map((t) => [t, 0]));
  for (const [pid, { type, cpu }] of after) {
    const b = before.get(pid);
    byType[type] += cpu - (b && b.type === type ? b.cpu : 0);
  }
  return { chromium: Object.values(byType).reduce((a, x) => a + x, 0), byType };
}

/** Samples the summed RSS of `pidsFn()` every 50 ms until stopped; returns { peak, samples }. */
function sampler(pidsFn) {
  let peak = 0, n = 0, stopped = false;
  const tick = () => {
    if (stopped) return;
    const sum = pidsFn().reduce((a, p) => a + (procStatus(p)?.rss ?? 0), 0);
    peak = Math.max(peak, sum); n++;
    setTimeout(tick, 50);
  };
  tick();
  return { stop: () => { stopped = true; return { peak, samples: n }; } };
}

// ---------- inputs on disk ----------


/** A gzipped FASTQ of `reads` 150 bp reads with pseudo-random bases and qualities. */
function writeFastqGz(path, reads) {
  // xorshift32: unlike a power-of-two LCG its low bits do not repeat every few hundred draws,
  // so the file compresses like real reads (about 3x), not 18x.
  let seed = 0x9e3779b9;
  const rnd = () => { seed ^= seed << 13; seed >>>= 0; seed ^= seed >>> 17; seed ^= seed << 5; seed >>>= 0; return seed; };
  const parts = [];
  const bases = 'ACGT', quals = 'FFFFFF:,F:FFFF#';
  let chunk = '';
  for (let i = 0; i < reads; i++) {
    let seq = '', q = '';
    for (let j = 0; j < 150; j++) { seq += bases[rnd() & 3]; q += quals[rnd() % quals.length]; }
    chunk += `@BENCH:1:FC:1:1:${i}:${rnd() % 20000} 1:N:0:ACGT\n${seq}\n+\n${q}\n`;
    if (chunk.length > 4 * MiB) { parts.push(chunk); chunk = ''; }
  }
  parts.push(chunk);
  const raw = Buffer.from(parts.join(''));
  writeFileSync(path, gzipSync(raw, { level: 6 }));
  return { path, uncompressed: raw.length };
}

// ---------- the run ----------

const results = { quick: QUICK, startedAt: new Date().toISOString(), machine: {}, sections: {}, rows: [] };
/** One table row: a figure, optionally a ratio against a target. */
function row(section, what, value, unit, ratio = null, target = null) {
  const met = target === null || ratio === null ? null : ratio >= target;
  results.rows.push({ section, what, value, unit, ratio, target, met });
}
function rowEq(section, what, value, unit, expected) {
  results.rows.push({ section, what, value, unit, ratio: null, target: `= ${expected}`, met: value === expected });
}
function rowMax(section, what, value, unit, limit) {
  results.rows.push({ section, what, value, unit, ratio: null, target: `<= ${fmt(limit, 0)} ${unit}`, met: value <= limit, limit });
}
/** A ratio row with an upper bound (`row` is for ratios that must reach a target). */
function rowRatioMax(section, what, ratio, limit) {
  results.rows.push({ section, what, value: null, unit: '', ratio, target: `<= ${limit}x`, met: ratio <= limit, limit });
}
/** A row for per-round ratios: the median, the rounds' min and max in the name, every round in
 *  `rounds`; `atLeast` or `atMost` sets the target. */
function rowRounds(section, what, ratios, { atLeast = null, atMost = null } = {}) {
  const lo = Math.min(...ratios), hi = Math.max(...ratios);
  const label = `${what} (median; rounds min ${fmt(lo, 2)}, max ${fmt(hi, 2)})`;
  if (atMost !== null) rowRatioMax(section, label, median(ratios), atMost);
  else row(section, label, null, '', median(ratios), atLeast);
  results.rows.at(-1).rounds = ratios;
}

const t0 = Date.now();
const work = mkdtempSync(join(tmpdir(), 'readset-bench-'));
const www = join(work, 'www');
execFileSync('mkdir', ['-p', www]);
for (const f of readdirSync(join(HERE, 'pages'))) copyFileSync(join(HERE, 'pages', f), join(www, f));
copyFileSync(join(HERE, 'node_modules/hash-wasm/dist/index.umd.min.js'), join(www, 'hash-wasm.umd.min.js'));
// (3b) the official HealthOmics JS client, bundled for the browser.
execFileSync(join(HERE, 'node_modules/.bin/esbuild'), [join(HERE, 'sdk-entry.mjs'), '--bundle', '--format=esm', '--platform=browser',
  '--minify', '--log-level=warning', `--outfile=${join(www, 'aws-sdk-omics.js')}`]);
// The local store's default credentials (readset-server's store::DEFAULT_*; public, local only).
const STORE_KEYS = { region: 'us-east-1', accessKeyId: 'AKIDLOCALREADSETSTORE', secretAccessKey: 'local-readset-store-secret-do-not-use-in-production' };

/** Renderer memory in WebKitGTK: for a small and a large file, the summed RSS of the
 *  WebKitWebProcess processes below a WebKitWebDriver this starts (in its own process group, so
 *  stopping it stops Xvfb and MiniBrowser too), idle and while the library uploads. */
async function webkitMemory(pageUrl, work) {
  const { Builder, By } = await import('selenium-webdriver');
  const port = Number(execFileSync('python3', ['-c', 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])']).toString().trim());
  const driverProc = spawn('xvfb-run', ['-a', '-s', '-screen 0 1280x1024x24', 'WebKitWebDriver', '--host=127.0.0.1', `--port=${port}`], { detached: true, stdio: 'ignore' });
  const driverUrl = `http://127.0.0.1:${port}`;
  const webProcesses = () => {
    const pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d)).map(Number);
    const parent = new Map(pids.map((p) => [p, procStatus(p)?.ppid ?? 0]));
    const below = (p) => { for (let i = 0; i < 12 && p > 1; i++) { p = parent.get(p) ?? 0; if (p === driverProc.pid) return true; } return false; };
    return pids.filter((p) => (cmdline(p)[0] ?? '').endsWith('WebKitWebProcess') && below(p));
  };
  const out = {};
  try {
    for (let i = 0; ; i++) {
      if ((await fetch(`${driverUrl}/status`).catch(() => null))?.ok) break;
      if (i >= 100) throw new Error('WebKitWebDriver did not start in 20 s');
      await new Promise((r) => setTimeout(r, 200));
    }
    for (const [label, bytes] of [['small', S.memSmall], ['large', S.memLarge]]) {
      log(`memory in WebKitGTK, ${fmt(bytes / MiB, 0)} MiB upload`);
      const path = writeRandomFile(join(work, `webkit-mem-${label}.bam`), bytes);
      const driver = await new Builder().usingServer(driverUrl).withCapabilities({
        browserName: 'MiniBrowser',
        'webkitgtk:browserOptions': { binary: process.env.READSET_MINIBROWSER ?? '/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser', args: ['--automation'] },
      }).build();
      try {
        await driver.manage().setTimeouts({ script: 30 * 60_000 });
        await driver.get(`${pageUrl}/index.html`);
        for (let i = 0; !(await driver.executeScript('return window.benchReady === true')); i++) {
          if (i >= 300) throw new Error('bench page did not load in WebKitGTK');
          await new Promise((r) => setTimeout(r, 100));
        }
        await driver.findElement(By.css('#file')).sendKeys(path);
        await new Promise((r) => setTimeout(r, 500));
        const idleS = sampler(webProcesses);
        await new Promise((r) => setTimeout(r, 500));
        const idle = idleS.stop().peak;
        const s = sampler(webProcesses);
        const x = await driver.executeAsyncScript(
          'const done = arguments[arguments.length - 1]; window.uploadLibrary(arguments[0], arguments[1]).then(done, (e) => done({ error: String(e && e.message || e) }))',
          S.memPart, CONCURRENCY);
        const { peak, samples } = s.stop();
        if (x.error) throw new Error(`upload in WebKitGTK failed: ${x.error}`);
        if (!idle || !peak) throw new Error('no WebKitWebProcess found below WebKitWebDriver');
        out[label] = { bytes, idle, peak, samples, processes: webProcesses().length, ms: x.ms };
      } finally {
        await driver.quit().catch(() => {});
        rmSync(path, { force: true });
      }
    }
  } finally {
    try { process.kill(-driverProc.pid, 'SIGTERM'); } catch { /* gone */ }
  }
  return out;
}

let server, opaqueServer, browser;
const marker = `--readset-bench=${process.pid}-${Date.now()}`;
try {
  // (5) package size: the release build's wasm and JS glue, gzipped as a server would send them.
  if (want('size')) {
    const wasm = readFileSync(join(PKG, 'readset_upload_bg.wasm'));
    const js = readFileSync(join(PKG, 'readset_upload.js'));
    const gz = (b) => gzipSync(b, { level: 9 }).length;
    results.sections.packageSize = { wasm: wasm.length, wasmGz: gz(wasm), js: js.length, jsGz: gz(js) };
    row('5 size', 'wasm, gzipped', gz(wasm) / 1024, 'KiB');
    row('5 size', 'JS glue, gzipped', gz(js) / 1024, 'KiB');
    row('5 size', 'wasm + JS, gzipped', (gz(wasm) + gz(js)) / 1024, 'KiB');
  }

  log(`work dir ${work}; writing inputs`);
  const fastq = want('etag') && writeFastqGz(join(work, 'reads.fastq.gz'), S.fastqReads);
  const e2eFile = want('e2e') && writeRandomFile(join(work, 'e2e.bam'), S.e2eBytes);

  // The demo: store + proxy + our pages on one origin (no CORS preflights for anyone). Its store
  // answers part checksums as hex SHA-256, which the library verifies.
  const demoArgs = (data) => ['--listen', '127.0.0.1:0', '--store-listen', '127.0.0.1:0', '--data', join(work, data), '--www', www, '--pkg', PKG];
  const demo = startDemoServer(findServer(), demoArgs('data'));
  server = demo.child;
  // (3) the AWS case beside it: a second demo whose store answers part checksums in base64
  // (still the part's SHA-256, but opaque to the client, as AWS's are).
  const opaqueDemo = want('e2e') && startDemoServer(findServer(), [...demoArgs('data-opaque'), '--part-checksums', 'base64']);
  if (opaqueDemo) opaqueServer = opaqueDemo.child;
  demo.urls = await demo.started;
  if (opaqueDemo) opaqueDemo.urls = await opaqueDemo.started;
  const { pageUrl } = demo.urls, opaque = opaqueDemo && opaqueDemo.urls;
  /** The demos' processes, whose CPU the end-to-end rounds report. */
  const demoServers = { verifying: server, ...(opaqueServer ? { opaque: opaqueServer } : {}) };

  browser = await chromium.launch({
    executablePath: process.env.CHROME_BIN ?? '/usr/bin/chromium',
    args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic', marker],
  });
  results.machine = {
    nproc: cpus().length, cpu: cpus()[0]?.model, free: spawnSync('free', ['-g'], { encoding: 'utf8' }).stdout.trim(),
    chromium: browser.version(), node: process.version,
  };
  /** A bench page on `origin` (a demo's page URL; its proxy and store are the ones the page's
   *  uploads use). */
  const openBench = async (origin = pageUrl) => {
    const page = await browser.newPage();
    const problems = [];
    page.on('pageerror', (e) => problems.push(e.message));
    page.on('console', (m) => { if (m.type() === 'error') problems.push(m.text()); });
    await page.goto(`${origin}/index.html`);
    await page.waitForFunction(() => window.benchReady === true, null, { timeout: 30_000 }).catch((e) => {
      throw new Error(`bench page did not load: ${e.message}\n${problems.join('\n')}`);
    });
    return page;
  };

  /** Deletes a read set the library uploaded through the demo at `origin`, straight at that
   *  demo's store with the SDK (its proxy offers no delete), once the store has processed it
   *  (BatchDeleteReadSet refuses one still PROCESSING_UPLOAD); waits at most 10 minutes. */
  const storeClients = new Map();
  const deleteReadSet = async (origin, readSetId) => {
    // The warning is about SDK versions after the pinned one.
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
    const sdk = await import('@aws-sdk/client-omics');
    if (!storeClients.has(origin)) {
      const { sequenceStoreId } = await (await fetch(`${origin}/demo-config.json`)).json();
      const { storeUrl } = [demo, opaqueDemo].find((d) => d && d.urls.pageUrl === origin).urls;
      storeClients.set(origin, {
        sequenceStoreId, client: new sdk.OmicsClient({
          region: STORE_KEYS.region, endpoint: storeUrl, disableHostPrefix: true,
          credentials: { accessKeyId: STORE_KEYS.accessKeyId, secretAccessKey: STORE_KEYS.secretAccessKey },
        }),
      });
    }
    const { sequenceStoreId, client } = storeClients.get(origin);
    for (let i = 0; ; i++) {
      const { status } = await client.send(new sdk.GetReadSetMetadataCommand({ sequenceStoreId, id: readSetId }));
      if (status !== 'PROCESSING_UPLOAD') break;
      if (i >= 1200) throw new Error(`read set ${readSetId} still PROCESSING_UPLOAD after 10 minutes`);
      await new Promise((r) => setTimeout(r, 500));
    }
    const { errors } = await client.send(new sdk.BatchDeleteReadSetCommand({ sequenceStoreId, ids: [readSetId] }));
    if (errors?.length) throw new Error(`deleting read set ${readSetId}: ${JSON.stringify(errors)}`);
  };

  // Contenders of uploadRounds, each on `page` (whose origin picks the demo): the library's
  // upload (its read set deleted after the run, outside the measured window, so long runs do
  // not fill the disk and the store's processing of it does not overlap the next run), raw PUTs
  // through the proxy, and the AWS SDK straight to `store`.
  const library = (name, page, partSize) => ({
    name, run: () => page.evaluate(([p, c]) => window.uploadLibrary(p, c), [partSize, CONCURRENCY]),
    after: (x) => deleteReadSet(new URL(page.url()).origin, x.readSetId),
  });
  const rawPuts = (name, page, partSize) => ({ name, run: () => page.evaluate(([p, c]) => window.uploadRaw(p, c), [partSize, CONCURRENCY]) });
  const sdkPuts = (name, page, store, partSize) => ({
    name, run: () => page.evaluate(([st, p, c]) => window.uploadSdk(st, p, c), [store, partSize, CONCURRENCY]),
  });

  /** `rounds` rounds of `contenders` ({ name, run, after? }) on their pages' chosen files, the
   *  order rotating by one every round so each leads in turn; around each run, the page's wall
   *  times and the CPU seconds of Chromium (by process type and in all) and of each demo
   *  process. Throws when a run did not send `parts` parts. Returns { order: [names per round],
   *  runs: { [name]: [one record per round] } }. */
  const uploadRounds = async (rounds, contenders, parts) => {
    const out = { order: [], runs: Object.fromEntries(contenders.map((c) => [c.name, []])) };
    const serverCpu = () => Object.fromEntries(Object.entries(demoServers).map(([k, child]) => [k, cpuSeconds([child.pid])]));
    for (let r = 0; r < rounds; r++) {
      const k = r % contenders.length;
      const order = [...contenders.slice(k), ...contenders.slice(0, k)];
      out.order.push(order.map((c) => c.name));
      for (const c of order) {
        const c0 = chromiumSnapshot(marker), s0 = serverCpu();
        const x = await c.run();
        const cpu = chromiumCpuSince(c0, chromiumSnapshot(marker)), s1 = serverCpu();
        cpu.server = Object.fromEntries(Object.keys(s1).map((n) => [n, s1[n] - s0[n]]));
        cpu.serverTotal = Object.values(cpu.server).reduce((a, b) => a + b, 0);
        if (x.parts !== parts) throw new Error(`${c.name}, round ${r + 1}: ${x.parts} parts sent, not ${parts}`);
        out.runs[c.name].push({ ...x, cpu });
        await c.after?.(x);
      }
    }
    return out;
  };

  // (1) hashing: same buffer, contenders alternating within each round.
  if (want('hash')) {
    log('hashing');
    const page = await openBench();
    await page.evaluate((n) => window.makeBuffer(n), S.hashBytes);
    const algs = { 'MD5': ['library', 'hash-wasm'], 'SHA-256': ['library', 'hash-wasm', 'webcrypto'], 'SHA-512': ['library', 'hash-wasm', 'webcrypto'] };
    /** Runs every algorithm's contenders alternately for the rounds; rows go under `section`,
     *  named by `label(alg, contender)`. Throws when the contenders disagree on a digest. */
    const compare = async (section, bytes, once, label) => {
      const out = {};
      for (const [alg, impls] of Object.entries(algs)) {
        const ms = Object.fromEntries(impls.map((i) => [i, []]));
        const hexes = new Set();
        for (let r = 0; r < S.hashRounds; r++) {
          for (const impl of (r % 2 ? [...impls].reverse() : impls)) {
            const res = await once(impl, alg);
            ms[impl].push(res.ms); hexes.add(res.hex);
          }
        }
        if (hexes.size !== 1) throw new Error(`${section} ${alg}: the contenders disagree on the digest: ${[...hexes].join(' ')}`);
        out[alg] = Object.fromEntries(impls.map((i) => [i, { medianMs: median(ms[i]), mbps: mbps(bytes, median(ms[i])), ms: ms[i] }]));
        const lib = out[alg].library.mbps;
        row(section, label(alg, 'library'), lib, 'MB/s');
        row(section, label(alg, 'hash-wasm'), out[alg]['hash-wasm'].mbps, 'MB/s');
        row(section, label(alg, 'library / hash-wasm'), null, '', lib / out[alg]['hash-wasm'].mbps, 1.2);
        if (out[alg].webcrypto) {
          row(section, label(alg, 'webcrypto'), out[alg].webcrypto.mbps, 'MB/s');
          row(section, label(alg, 'library / WebCrypto'), null, '', lib / out[alg].webcrypto.mbps, alg === 'SHA-256' ? 0.9 : null);
        }
      }
      return out;
    };

    const oneBuffer = { library: 'library (wasm)', 'hash-wasm': 'hash-wasm', 'library / hash-wasm': 'library / hash-wasm', webcrypto: 'WebCrypto one-shot', 'library / WebCrypto': 'library (one thread) / WebCrypto' };
    const out = await compare('1 hash', S.hashBytes, (impl, alg) => page.evaluate(([i, a, c]) => window.hashOnce(i, a, c), [impl, alg, CHUNK]),
      (alg, what) => `${alg} one buffer${['library', 'hash-wasm', 'library / hash-wasm'].includes(what) ? ', one thread' : ''}: ${oneBuffer[what]}`);
    results.sections.hashing = { bytes: S.hashBytes, chunk: CHUNK, rounds: S.hashRounds, ...out };

    // Per-part digests of a file on disk, as an uploader computes them (see hashPartsOnce).
    const partsFile = writeRandomFile(join(work, 'parts.bin'), S.partsBytes);
    await page.setInputFiles('#file', partsFile);
    const perPartLabel = { library: 'library (worker pool)', 'hash-wasm': 'hash-wasm (one thread)', 'library / hash-wasm': 'library / hash-wasm', webcrypto: 'WebCrypto one-shot per part', 'library / WebCrypto': 'library / WebCrypto' };
    const perPart = await compare('1 parts', S.partsBytes,
      (impl, alg) => page.evaluate(([i, a, p, c]) => window.hashPartsOnce(i, a, p, c), [impl, alg, S.partsPart, CHUNK]),
      (alg, what) => `${alg} per ${fmt(S.partsPart / MiB, 0)} MiB part of a file: ${perPartLabel[what]}`);
    results.sections.hashingPerPart = { bytes: S.partsBytes, partSize: S.partsPart, chunk: CHUNK, rounds: S.hashRounds, cores: cpus().length, ...perPart };

    // The library's two SHA-256 hashers on the same small parts (at most ONE_SHOT_MAX_BYTES,
    // 8 MiB): WebCrypto's one-shot digest in the pool's workers (the default for such parts)
    // against the streaming wasm kernel in the same workers (forced by the _oneShotMaxBytes
    // hook); MB/s and Chromium CPU per GiB, alternating, and the digests must agree.
    {
      const small = 8 * MiB;
      const runs = { webcrypto: [], kernel: [] };
      const hexes = new Set();
      const once = async (impl) => {
        const c0 = cpuSeconds([...browserTree(marker)]);
        const x = await page.evaluate(([p, c, max]) => window.hashPartsOnce('library', 'SHA-256', p, c, max), [small, CHUNK, impl === 'kernel' ? 0 : null]);
        if (x.webCrypto !== (impl === 'webcrypto')) throw new Error(`small parts: the ${impl} round hashed ${x.webCrypto ? 'with' : 'without'} WebCrypto`);
        runs[impl].push({ ms: x.ms, cpu: cpuSeconds([...browserTree(marker)]) - c0 });
        hexes.add(x.hex);
      };
      for (let r = 0; r < S.hashRounds; r++) for (const impl of (r % 2 ? ['kernel', 'webcrypto'] : ['webcrypto', 'kernel'])) await once(impl);
      if (hexes.size !== 1) throw new Error('small parts: WebCrypto and the kernel disagree on the digests');
      const gib = S.partsBytes / GiB;
      const fig = (impl) => ({ mbps: mbps(S.partsBytes, median(runs[impl].map((x) => x.ms))), cpu: median(runs[impl].map((x) => x.cpu)) / gib });
      const w = fig('webcrypto'), k = fig('kernel');
      const ratios = runs.webcrypto.map((x, i) => runs.kernel[i].ms / x.ms).sort((a, b) => a - b);
      results.sections.hashingSmallParts = { bytes: S.partsBytes, partSize: small, rounds: S.hashRounds, runs, webcrypto: w, kernel: k };
      row('1 parts', `SHA-256 per 8 MiB part of a file: library, WebCrypto in workers (default up to 8 MiB)`, w.mbps, 'MB/s');
      row('1 parts', `SHA-256 per 8 MiB part of a file: library, wasm kernel in workers`, k.mbps, 'MB/s');
      row('1 parts', `SHA-256 per 8 MiB part: WebCrypto / wasm kernel (median; rounds min ${fmt(ratios[0], 2)}, max ${fmt(ratios[ratios.length - 1], 2)})`, null, '', median(ratios), null);
      row('1 parts', 'SHA-256 per 8 MiB part: Chromium CPU, WebCrypto in workers', w.cpu, 's/GiB');
      row('1 parts', 'SHA-256 per 8 MiB part: Chromium CPU, wasm kernel in workers', k.cpu, 's/GiB');
    }
    rmSync(partsFile, { force: true });
    await page.close();
  }

  // (2) the ETag pipeline: the library (read from disk, gunzip, MD5) against zcat | md5sum.
  if (want('etag')) {
    log('ETag pipeline');
    const page = await openBench();
    await page.setInputFiles('#file', fastq.path);
    const size = statSync(fastq.path).size;
    const lib = [], nat = [];
    let libHex, natHex;
    for (let r = 0; r < S.etagRounds; r++) {
      const runLib = async () => { const x = await page.evaluate((c) => window.etagOnce('MD5up', c), CHUNK); lib.push(x.ms); libHex = x.hex; };
      const runNat = () => {
        const s = process.hrtime.bigint();
        const p = spawnSync('sh', ['-c', `zcat '${fastq.path}' | md5sum`], { encoding: 'utf8' });
        nat.push(Number(process.hrtime.bigint() - s) / 1e6); natHex = p.stdout.split(' ')[0];
      };
      if (r % 2) { runNat(); await runLib(); } else { await runLib(); runNat(); }
    }
    if (libHex !== natHex) throw new Error(`ETag ${libHex} differs from zcat | md5sum ${natHex}`);
    const l = mbps(size, median(lib)), n = mbps(size, median(nat));
    results.sections.etag = { compressedBytes: size, uncompressedBytes: fastq.uncompressed, libraryMs: lib, nativeMs: nat, libraryMbps: l, nativeMbps: n, md5: libHex };
    row('2 ETag', 'library FASTQ_MD5up (MB/s of .gz)', l, 'MB/s');
    row('2 ETag', 'zcat \\| md5sum (MB/s of .gz)', n, 'MB/s');
    row('2 ETag', 'library / native', null, '', l / n, 0.5);
    await page.close();
  }

  // (3a, 3b) end to end, four contenders in one browser, a bench page on each demo's origin, the
  // same file, part size and concurrency: the library against the verifying store (hex
  // checksums: every part's SHA-256 compared) and against the opaque one (the AWS case), raw
  // PUTs of the same slices with no hashing through the opaque demo's proxy, and client-omics
  // straight to the opaque demo's store. Ratios are taken per round (the pair measured minutes
  // apart at most), then the median and the spread over the rounds.
  if (want('e2e')) {
    log(`end to end, ${fmt(S.e2eBytes / MiB, 0)} MiB x ${S.e2eRounds} rounds, 4 contenders`);
    const pageV = await openBench(pageUrl), pageO = await openBench(opaque.pageUrl);
    await pageV.setInputFiles('#file', e2eFile);
    await pageO.setInputFiles('#file', e2eFile);
    const parts = Math.ceil(S.e2eBytes / S.e2ePart);
    const opaqueStore = { ...STORE_KEYS, url: opaque.storeUrl };
    const x = await uploadRounds(S.e2eRounds, [
      library('libraryVerifying', pageV, S.e2ePart), library('libraryOpaque', pageO, S.e2ePart),
      rawPuts('raw', pageO, S.e2ePart), sdkPuts('sdk', pageO, opaqueStore, S.e2ePart),
    ], parts);
    await pageV.close();
    await pageO.close();
    const { libraryVerifying: lv, libraryOpaque: lo, raw, sdk } = x.runs;

    // Sanity: the library compared every part's checksum with its SHA-256 against the verifying
    // store and none against the opaque one.
    const verified = (runs, expected, what) => {
      const v = runs.map((r) => r.verifiedParts);
      const bad = v.findIndex((n) => n !== expected);
      if (bad >= 0) throw new Error(`${what}, round ${bad + 1}: verifiedParts ${v[bad]}, expected ${expected} (of ${parts} parts)`);
      return expected;
    };
    const verifiedV = verified(lv, parts, 'library, verifying store'), verifiedO = verified(lo, 0, 'library, opaque store');
    results.sections.endToEnd = {
      bytes: S.e2eBytes, partSize: S.e2ePart, parts, concurrency: CONCURRENCY, rounds: S.e2eRounds,
      servers: { verifying: '--part-checksums hex (default)', opaque: '--part-checksums base64' },
      contenders: { libraryVerifying: 'library, verifying demo', libraryOpaque: 'library, opaque demo', raw: 'raw PUTs, opaque demo\'s proxy', sdk: 'client-omics, opaque demo\'s store' },
      order: x.order, verifiedParts: { libraryVerifying: verifiedV, libraryOpaque: verifiedO }, runs: x.runs,
    };

    const gib = S.e2eBytes / GiB;
    const rate = (runs, k = 'ms') => mbps(S.e2eBytes, median(runs.map((r) => r[k])));
    const perGiB = (runs, f) => median(runs.map(f)) / gib;
    const perRound = (a, b, f) => a.map((r, i) => f(r, b[i]));
    const speed = (k) => (a, b) => b.ms / a[k]; // a's MB/s over b's (same bytes), a timed to `k`
    const cpuRatio = (a, b) => a.cpu.chromium / b.cpu.chromium;
    row('3 e2e', 'library, verifying store: create..complete', rate(lv), 'MB/s');
    row('3 e2e', 'library, verifying store: create..last part', rate(lv, 'partsMs'), 'MB/s');
    row('3 e2e', 'library, opaque store: create..complete', rate(lo), 'MB/s');
    row('3 e2e', 'library, opaque store: create..last part', rate(lo, 'partsMs'), 'MB/s');
    row('3 e2e', 'raw parallel PUTs, no hashing (opaque demo\'s proxy)', rate(raw), 'MB/s');
    row('3 e2e', '@aws-sdk/client-omics straight to the opaque store, create..last part', rate(sdk), 'MB/s');
    rowRounds('3 e2e', 'library, opaque store / raw PUTs, MB/s create..complete', perRound(lo, raw, speed('ms')), { atLeast: 0.85 });
    rowRounds('3 e2e', 'Chromium CPU per GiB, library, opaque store / raw PUTs', perRound(lo, raw, cpuRatio), { atMost: 1.5 });
    rowRounds('3 e2e', 'library, opaque store (to last part) / client-omics, MB/s', perRound(lo, sdk, speed('partsMs')), { atLeast: 0.85 });
    rowRounds('3 e2e', 'library, verifying store / raw PUTs, MB/s create..complete', perRound(lv, raw, speed('ms')));
    rowRounds('3 e2e', 'Chromium CPU per GiB, library, verifying store / raw PUTs', perRound(lv, raw, cpuRatio), { atMost: 2.2 });
    const names = { libraryVerifying: 'library, verifying store', libraryOpaque: 'library, opaque store', raw: 'raw PUTs', sdk: 'client-omics' };
    for (const [k, name] of Object.entries(names)) row('3 e2e', `Chromium CPU (all processes), ${name}`, perGiB(x.runs[k], (r) => r.cpu.chromium), 's/GiB');
    // Where Chromium's CPU goes, by process type (workers are threads of the renderer; the
    // renderer figure holds both pages', the idle one's being small).
    for (const [k, name] of Object.entries(names)) {
      for (const t of PROCESS_TYPES) row('3 e2e', `Chromium CPU, ${t} processes, ${name}`, perGiB(x.runs[k], (r) => r.cpu.byType[t]), 's/GiB');
    }
    for (const [k, name] of Object.entries(names)) {
      row('3 e2e', `readset-server CPU (both demo processes, proxy + store), ${name}`, perGiB(x.runs[k], (r) => r.cpu.serverTotal), 's/GiB');
    }
    const verifiedRow = (what, v, expected) => rowEq('3 e2e', what, v, '', expected);
    verifiedRow('library, verifying store: parts whose checksum was verified', verifiedV, parts);
    verifiedRow('library, opaque store: parts whose checksum was verified', verifiedO, 0);
    rowMax('4 mem', 'longest main-thread task during upload', Math.max(...[...lv, ...lo].map((r) => r.longestTaskMs)), 'ms', 50);
    // What it was: the longest Long Animation Frame of the upload with the longest task, its
    // scripts' share, and the top scripts (in results.json as `longestFrame`; printed here).
    const worst = [...lv, ...lo].reduce((a, b) => (b.longestTaskMs > a.longestTaskMs ? b : a));
    results.longestFrame = worst.longestFrame ?? null;
    if (worst.longestTaskMs >= 50 && worst.longestFrame) {
      const f = worst.longestFrame;
      const top = f.scripts.map((x) => `${x.invokerType} ${x.invoker || x.fn || '?'} (${x.source}) ${x.ms} ms`).join('; ') || 'none';
      log(`longest frame ${f.ms} ms, scripts ${f.scriptMs} ms, blocking ${f.blockingMs} ms: ${top}`);
      row('4 mem', 'longest main-thread task: time in scripts (Long Animation Frame)', f.scriptMs, 'ms');
    }
  }
  if (e2eFile) rmSync(e2eFile, { force: true });

  // (3d) the API's largest part count: 10,000 small parts, library against raw PUTs of the same
  // slices; the difference in CPU per part is the library's bookkeeping (hashing, progress,
  // IndexedDB, queue), the rest is what any request costs.
  if (want('manyparts')) {
    const { parts, partSize } = S.manyParts;
    log(`many parts: ${parts} x ${partSize} B, library and raw PUTs`);
    const path = writeRandomFile(join(work, 'manyparts.bam'), parts * partSize);
    const page = await openBench();
    await page.setInputFiles('#file', path);
    const renderers = () => rendererPids(marker);
    const tree = () => [...browserTree(marker)];
    const idle = renderers().reduce((a, p) => a + (procStatus(p)?.rss ?? 0), 0);
    const measure = async (fn) => {
      const c0 = { renderer: cpuSeconds(renderers()), chromium: cpuSeconds(tree()), server: cpuSeconds([server.pid]) };
      const s = sampler(renderers);
      const t0 = Date.now();
      const x = await page.evaluate(fn, [partSize, 8]);
      const ms = Date.now() - t0;
      const { peak } = s.stop();
      return { ms, peak, x, renderer: cpuSeconds(renderers()) - c0.renderer, chromium: cpuSeconds(tree()) - c0.chromium, server: cpuSeconds([server.pid]) - c0.server };
    };
    const lib = await measure(([p, c]) => window.uploadLibrary(p, c));
    const raw = await measure(([p, c]) => window.uploadRaw(p, c));
    await page.close();
    rmSync(path, { force: true });
    if (lib.x.parts !== parts) throw new Error(`many parts: the library sent ${lib.x.parts} parts, not ${parts}`);
    results.sections.manyParts = { parts, partSize, idle, lib, raw };
    const perPart = (sec) => (sec * 1000) / parts;
    row('3d parts', `${parts} parts: library, parts per second`, parts / (lib.ms / 1000), '/s');
    row('3d parts', `${parts} parts: raw PUTs, parts per second`, parts / (raw.ms / 1000), '/s');
    row('3d parts', 'Chromium CPU per part (all processes): library', perPart(lib.chromium), 'ms');
    row('3d parts', 'Chromium CPU per part (all processes): raw PUTs', perPart(raw.chromium), 'ms');
    row('3d parts', 'bookkeeping per part (library minus raw PUTs, Chromium CPU)', perPart(lib.chromium - raw.chromium), 'ms');
    row('3d parts', 'readset-server CPU per part (proxy + store): library', perPart(lib.server), 'ms');
    rowMax('4 mem', `renderer peak above idle, ${parts} parts`, (lib.peak - idle) / MiB, 'MiB', 128);
  }

  // (3c) cost as work grows: the library against raw PUTs at three file sizes, same part size.
  if (want('growth')) {
    const page = await openBench();
    const perSize = [];
    for (const bytes of S.growthSizes) {
      log(`growth: ${fmt(bytes / MiB, 0)} MiB x ${S.growthRounds} rounds`);
      const path = writeRandomFile(join(work, `growth-${bytes}.bam`), bytes);
      await page.setInputFiles('#file', path);
      const x = await uploadRounds(S.growthRounds, [library('lib', page, S.e2ePart), rawPuts('raw', page, S.e2ePart)], Math.ceil(bytes / S.e2ePart));
      rmSync(path, { force: true });
      const gib = bytes / GiB;
      const lib = x.runs.lib.map((r) => r.ms), raw = x.runs.raw.map((r) => r.ms);
      const ratios = lib.map((ms, i) => raw[i] / ms);
      const cpuLib = median(x.runs.lib.map((r) => r.cpu.chromium)) / gib, cpuRaw = median(x.runs.raw.map((r) => r.cpu.chromium)) / gib;
      perSize.push({ bytes, lib, raw, runs: x.runs, ratio: median(ratios), cpuLib, cpuRaw });
      const label = bytes >= GiB ? `${fmt(bytes / GiB, 0)} GiB` : `${fmt(bytes / MiB, 0)} MiB`;
      row('3c growth', `${label}: library, s per GiB (create..complete)`, median(lib) / 1000 / gib, 's/GiB');
      row('3c growth', `${label}: raw PUTs, s per GiB`, median(raw) / 1000 / gib, 's/GiB');
      row('3c growth', `${label}: library / raw PUTs (rounds ${ratios.map((q) => fmt(q, 2)).join(', ')})`, null, '', median(ratios), null);
      row('3c growth', `${label}: Chromium CPU, library / raw PUTs (${fmt(cpuLib, 1)} / ${fmt(cpuRaw, 1)} s/GiB)`, null, '', cpuLib / cpuRaw, null);
    }
    await page.close();
    results.sections.growth = perSize;
    const spread = (xs) => Math.max(...xs) / Math.min(...xs);
    row('3c growth', 'spread of library / raw PUTs across sizes (max / min)', spread(perSize.map((p) => p.ratio)), 'x');
    row('3c growth', 'spread of the CPU ratio across sizes (max / min)', spread(perSize.map((p) => p.cpuLib / p.cpuRaw)), 'x');
  }

  // (4) memory: renderer RSS uploading a small and a large file; proxy (demo process) RSS
  // forwarding 8 concurrent parts.
  if (want('mem')) {
    const renderers = () => rendererPids(marker);
    const mem = {};
    for (const [label, bytes] of [['small', S.memSmall], ['large', S.memLarge]]) {
      log(`memory, ${fmt(bytes / MiB, 0)} MiB upload`);
      const path = writeRandomFile(join(work, `mem-${label}.bam`), bytes);
      const page = await openBench();
      await page.setInputFiles('#file', path);
      await new Promise((r) => setTimeout(r, 500));
      const idleS = sampler(renderers);
      await new Promise((r) => setTimeout(r, 500));
      const idle = idleS.stop().peak;
      const s = sampler(renderers);
      const x = await page.evaluate(([p, c]) => window.uploadLibrary(p, c), [S.memPart, CONCURRENCY]);
      const { peak, samples } = s.stop();
      mem[label] = { bytes, idle, peak, samples, renderers: renderers().length, ms: x.ms, longestTaskMs: x.longestTaskMs };
      await page.close();
      rmSync(path, { force: true });
    }
    const growth = (mem.large.peak - mem.small.peak) / mem.small.peak;
    const budget = CONCURRENCY * 16 * MiB + 64 * MiB;
    row('4 mem', `renderer idle`, mem.large.idle / MiB, 'MiB');
    row('4 mem', `renderer peak, ${fmt(S.memSmall / MiB, 0)} MiB file`, mem.small.peak / MiB, 'MiB');
    row('4 mem', `renderer peak, ${fmt(S.memLarge / MiB, 0)} MiB file`, mem.large.peak / MiB, 'MiB');
    rowMax('4 mem', `peak growth, ${fmt(S.memLarge / MiB, 0)} vs ${fmt(S.memSmall / MiB, 0)} MiB file`, growth * 100, '%', 10);
    rowMax('4 mem', `peak above idle (concurrency ${CONCURRENCY})`, (mem.large.peak - mem.large.idle) / MiB, 'MiB', budget / MiB);

    // The same measure in WebKitGTK (the engine of Safari), where reads take the no-BYOB path:
    // the summed RSS of its web processes, driven over W3C WebDriver (selenium-webdriver against
    // WebKitWebDriver under xvfb-run; Playwright cannot drive the stock MiniBrowser). Skipped,
    // with a row saying so, where WebKitWebDriver or xvfb-run is missing (`./run test` installs them).
    if (existsSync('/usr/bin/WebKitWebDriver') && spawnSync('sh', ['-c', 'command -v xvfb-run']).status === 0) {
      mem.webkit = await webkitMemory(pageUrl, work);
      const w = mem.webkit;
      const wGrowth = (w.large.peak - w.small.peak) / w.small.peak;
      row('4 mem', 'WebKit web process idle', w.large.idle / MiB, 'MiB');
      row('4 mem', `WebKit web process peak, ${fmt(S.memSmall / MiB, 0)} MiB file`, w.small.peak / MiB, 'MiB');
      row('4 mem', `WebKit web process peak, ${fmt(S.memLarge / MiB, 0)} MiB file`, w.large.peak / MiB, 'MiB');
      rowMax('4 mem', `WebKit peak growth, ${fmt(S.memLarge / MiB, 0)} vs ${fmt(S.memSmall / MiB, 0)} MiB file`, wGrowth * 100, '%', 10);
      rowMax('4 mem', `WebKit peak above idle (concurrency ${CONCURRENCY})`, (w.large.peak - w.large.idle) / MiB, 'MiB', budget / MiB);
    } else {
      row('4 mem', 'WebKit: skipped (no WebKitWebDriver or xvfb-run)', null, '');
    }

    log('memory, proxy forwarding 8 concurrent parts');
    const path = writeRandomFile(join(work, 'proxy.bam'), 8 * S.proxyPart);
    const page = await openBench();
    await page.setInputFiles('#file', path);
    const before = procStatus(server.pid).rss;
    const s = sampler(() => [server.pid]);
    await page.evaluate(([p, c]) => window.uploadRaw(p, c), [S.proxyPart, 8]);
    const { peak } = s.stop();
    await page.close();
    rmSync(path, { force: true });
    mem.proxy = { before, peak, partSize: S.proxyPart, concurrency: 8 };
    results.sections.memory = mem;
    row('4 mem', 'readset-server demo RSS before', before / MiB, 'MiB');
    rowMax('4 mem', `readset-server demo peak RSS, 8 x ${fmt(S.proxyPart / MiB, 0)} MiB parts`, peak / MiB, 'MiB', 64);
  }

  // (6) many users at once: 8 users x 2 uploads through two proxies, store faults on (load.mjs).
  if (want('load')) {
    const { rows, details } = await loadRun({ serverBin: findServer(), pkgDir: PKG, pagesDir: www, work, browser, procStatus, log, S: S.load });
    results.sections.load = details;
    const total = S.load.users * S.load.uploadsPerUser;
    const [completed, identical, parts, foreign, abort, wall, ...proxies] = rows;
    rowEq('6 load', completed[0], completed[1], completed[2], total);
    rowEq('6 load', identical[0], identical[1], identical[2], total);
    row('6 load', `${parts[0]} ${parts[2]}`, parts[1], '');
    rowEq('6 load', `${foreign[0]} ${foreign[2]}`, foreign[1], '', 0);
    rowEq('6 load', abort[0], abort[1], '', 403);
    row('6 load', wall[0], wall[1], wall[2]);
    for (const [what, value, unit, limit] of proxies) rowMax('6 load', what, value, unit, limit);
    if (details.failures.length || details.foreign.length) log(`load problems:\n${[...details.failures, ...details.foreign].join('\n')}`);
  }

  // (7) the proxy against the transport limit: nginx's proxy_pass to the same sink (transport.mjs).
  if (want('transport')) {
    const t = await transportRun({ serverBin: findServer(), work, cpuSeconds, procStatus, log, S: S.transport });
    if (!t) {
      row('7 transport', 'skipped: nginx is not installed (`./run bench` installs it)', null, '');
    } else {
      results.sections.transport = t;
      const gib = (t.parts * t.partBytes) / GiB;
      const p = mbps(t.parts * t.partBytes, median(t.proxy.ms)), n = mbps(t.parts * t.partBytes, median(t.nginx.ms));
      const ratios = t.proxy.ms.map((ms, i) => t.nginx.ms[i] / ms).sort((a, b) => a - b);
      const what = `${t.parts} concurrent ${fmt(t.partBytes / MiB, 0)} MiB PUTs`;
      row('7 transport', `${what}: readset-server proxy`, p, 'MB/s');
      row('7 transport', `${what}: nginx proxy_pass, request buffering off`, n, 'MB/s');
      row('7 transport', `proxy / nginx (median; rounds min ${fmt(ratios[0], 2)}, max ${fmt(ratios[ratios.length - 1], 2)})`, null, '', p / n, 0.9);
      row('7 transport', 'CPU, readset-server proxy', median(t.proxy.cpu) / gib, 's/GiB');
      row('7 transport', 'CPU, nginx (master + workers)', median(t.nginx.cpu) / gib, 's/GiB');
    }
  }
} finally {
  await browser?.close().catch(() => {});
  for (const child of [server, opaqueServer]) if (child) await stop(child);
  rmSync(work, { recursive: true, force: true });
}

results.seconds = (Date.now() - t0) / 1000;
const lines = [`| section | measure | value | ratio | target | met |`, `|---|---|---|---|---|---|`];
for (const r of results.rows) {
  const target = typeof r.target === 'number' ? `>= ${r.target}x` : (r.target ?? '');
  const met = r.met === null ? '' : r.met ? 'yes' : 'NO';
  const value = r.value === null ? '' : typeof r.value === 'string' ? r.value : `${Number.isInteger(r.value) ? r.value : fmt(r.value, r.unit === 'MB/s' || r.unit === 'KiB' ? 0 : 1)} ${r.unit}`;
  lines.push(`| ${r.section} | ${r.what} | ${value} | ${r.ratio === null ? '' : fmt(r.ratio, 2) + 'x'} | ${target} | ${met} |`);
}
console.log(`readset-upload bench${QUICK ? ' (--quick: tiny inputs, figures mean nothing)' : ''}: ${results.machine.nproc} cores, ${results.machine.cpu}, Chromium ${results.machine.chromium}, ${fmt(results.seconds, 0)} s`);
console.log(lines.join('\n'));
if (WRITE && ONLY.length === 0) {
  writeFileSync(join(HERE, 'results.json'), JSON.stringify(results, null, 2) + '\n');
  log(`wrote ${join(HERE, 'results.json')}`);
}
