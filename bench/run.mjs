// ./run bench: what users feel, measured in headless Chromium on this machine.
//
//   node run.mjs            the full run (about 5-8 minutes; prints the table, writes results.json)
//   node run.mjs --quick    tiny inputs, one round: proves the harness works (./run test uses it)
//   node run.mjs --no-write do not write results.json
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
import { loadRun, startDemoServer } from './load.mjs';
import { transportRun } from './transport.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '..');
const argv = process.argv.slice(2);
const QUICK = argv.includes('--quick');
const WRITE = !argv.includes('--no-write');
// --only=size,hash,etag,e2e,growth,manyparts,mem,load,transport runs some sections (for profiling; results.json is not written).
const ONLY = (argv.find((a) => a.startsWith('--only=')) ?? '').slice(7).split(',').filter(Boolean);
const want = (s) => ONLY.length === 0 || ONLY.includes(s);
const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

// Sizes and rounds. The quick run uses the same code paths on inputs small enough for a test.
const S = QUICK
  ? { hashBytes: 1 * MiB, hashRounds: 1, partsBytes: 4 * MiB, partsPart: 1 * MiB, fastqReads: 2000, etagRounds: 1, e2eBytes: 12 * MiB, e2ePart: 5 * MiB, e2eRounds: 1,
      memSmall: 12 * MiB, memLarge: 24 * MiB, memPart: 5 * MiB, proxyPart: 1 * MiB,
      load: { users: 2, uploadsPerUser: 2, fileBytes: 2 * MiB, partSize: 512 * 1024, concurrency: 2 },
      transport: { parts: 4, partBytes: 1 * MiB, rounds: 1 }, growthSizes: [4 * MiB, 8 * MiB, 16 * MiB], growthRounds: 1, manyParts: { parts: 200, partSize: 4096 } }
  : { hashBytes: 128 * MiB, hashRounds: 5, partsBytes: 512 * MiB, partsPart: 64 * MiB, fastqReads: 400_000, etagRounds: 5, e2eBytes: 2 * GiB, e2ePart: 100 * MiB, e2eRounds: 3,
      memSmall: 1 * GiB, memLarge: 4 * GiB, memPart: 100 * MiB, proxyPart: 100 * MiB,
      load: { users: 8, uploadsPerUser: 2, fileBytes: 48 * MiB, partSize: 4 * MiB, concurrency: 4 },
      transport: { parts: 16, partBytes: 100 * MiB, rounds: 5 }, growthSizes: [256 * MiB, 1 * GiB, 4 * GiB], growthRounds: 3, manyParts: { parts: 10_000, partSize: 4096 } };
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

/** CPU seconds (user + system) used so far by `pids` (clock ticks of 1/100 s). */
function cpuSeconds(pids) {
  let ticks = 0;
  for (const p of pids) {
    try {
      const f = readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1].split(' ');
      ticks += Number(f[11]) + Number(f[12]); // utime, stime (fields 14 and 15 of stat)
    } catch { /* exited */ }
  }
  return ticks / 100;
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

/** A file of `bytes` real (not sparse) bytes: random blocks, each made unique by a counter. */
function writeRandomFile(path, bytes) {
  const block = Buffer.alloc(Math.min(bytes, 16 * MiB));
  for (let at = 0; at < block.length; at += 65536) crypto.getRandomValues(block.subarray(at, Math.min(at + 65536, block.length)));
  const fd = openSync(path, 'w');
  try {
    for (let at = 0, i = 0; at < bytes; at += block.length, i++) {
      block.writeUInt32LE(i, 0);
      writeSync(fd, block, 0, Math.min(block.length, bytes - at));
    }
  } finally { closeSync(fd); }
  return path;
}

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

let server, browser;
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

  // The demo: store + proxy + our pages on one origin (no CORS preflights for anyone).
  const dataDir = join(work, 'data');
  const demo = startDemoServer(findServer(), ['--listen', '127.0.0.1:0', '--store-listen', '127.0.0.1:0', '--data', dataDir, '--www', www, '--pkg', PKG]);
  server = demo.child;
  const { pageUrl, storeUrl } = await demo.started;
  const storeArg = { ...STORE_KEYS, url: storeUrl };

  browser = await chromium.launch({
    executablePath: process.env.CHROME_BIN ?? '/usr/bin/chromium',
    args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic', marker],
  });
  results.machine = {
    nproc: cpus().length, cpu: cpus()[0]?.model, free: spawnSync('free', ['-g'], { encoding: 'utf8' }).stdout.trim(),
    chromium: browser.version(), node: process.version,
  };
  const openBench = async () => {
    const page = await browser.newPage();
    const problems = [];
    page.on('pageerror', (e) => problems.push(e.message));
    page.on('console', (m) => { if (m.type() === 'error') problems.push(m.text()); });
    await page.goto(`${pageUrl}/index.html`);
    await page.waitForFunction(() => window.benchReady === true, null, { timeout: 30_000 }).catch((e) => {
      throw new Error(`bench page did not load: ${e.message}\n${problems.join('\n')}`);
    });
    return page;
  };

  /** `rounds` rounds of the library's upload and raw PUTs (and the AWS SDK's when `withSdk`)
   *  of the page's chosen file, the order flipping every round; wall time and the CPU seconds
   *  of Chromium (all its processes) and readset-server around each run. */
  const uploadRounds = async (page, rounds, partSize, withSdk) => {
    const out = { lib: [], libParts: [], raw: [], longest: [], libCpu: [], rawCpu: [], sdk: [], sdkCpu: [] };
    const cpu = () => ({ chromium: cpuSeconds([...browserTree(marker)]), server: cpuSeconds([server.pid]) });
    const cpuSince = (a) => { const b = cpu(); return { chromium: b.chromium - a.chromium, server: b.server - a.server }; };
    const runLib = async () => {
      const c0 = cpu();
      const x = await page.evaluate(([p, c]) => window.uploadLibrary(p, c), [partSize, CONCURRENCY]);
      out.lib.push(x.ms); out.libParts.push(x.partsMs); out.longest.push(x.longestTaskMs); out.libCpu.push(cpuSince(c0));
    };
    const runRaw = async () => {
      const c0 = cpu();
      out.raw.push((await page.evaluate(([p, c]) => window.uploadRaw(p, c), [partSize, CONCURRENCY])).ms);
      out.rawCpu.push(cpuSince(c0));
    };
    const runSdk = async () => {
      const c0 = cpu();
      out.sdk.push((await page.evaluate(([st, p, c]) => window.uploadSdk(st, p, c), [storeArg, partSize, CONCURRENCY])).ms);
      out.sdkCpu.push(cpuSince(c0));
    };
    for (let r = 0; r < rounds; r++) {
      const order = withSdk ? [runLib, runRaw, runSdk] : [runLib, runRaw];
      for (const run of r % 2 ? order.reverse() : order) await run();
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

  // (3a) end to end: the library against raw PUTs of the same slices, same proxy, same concurrency.
  if (want('e2e')) {
    log(`end to end, ${fmt(S.e2eBytes / MiB, 0)} MiB x ${S.e2eRounds} rounds`);
    const page = await openBench();
    await page.setInputFiles('#file', e2eFile);
    const { lib, libParts, raw, longest, libCpu, rawCpu, sdk, sdkCpu } = await uploadRounds(page, S.e2eRounds, S.e2ePart, true);
    const l = mbps(S.e2eBytes, median(lib)), lp = mbps(S.e2eBytes, median(libParts)), w = mbps(S.e2eBytes, median(raw)), k = mbps(S.e2eBytes, median(sdk));
    results.sections.endToEnd = { bytes: S.e2eBytes, partSize: S.e2ePart, concurrency: CONCURRENCY, libraryMs: lib, libraryPartsMs: libParts, rawMs: raw, sdkMs: sdk, longestTaskMs: longest, libraryCpu: libCpu, rawCpu: rawCpu, sdkCpu };
    const perGiB = (xs, k) => median(xs.map((x) => x[k])) / (S.e2eBytes / GiB);
    row('3 e2e', 'library, create..complete', l, 'MB/s');
    row('3 e2e', 'library, create..last part', lp, 'MB/s');
    row('3 e2e', 'raw parallel PUTs, no hashing', w, 'MB/s');
    row('3 e2e', 'library (to complete) / raw PUTs', null, '', l / w, 0.85);
    row('3 e2e', 'library (to last part) / raw PUTs', null, '', lp / w, null);
    row('3 e2e', 'Chromium CPU, library', perGiB(libCpu, 'chromium'), 's/GiB');
    row('3 e2e', 'Chromium CPU, raw PUTs', perGiB(rawCpu, 'chromium'), 's/GiB');
    row('3 e2e', 'readset-server CPU (proxy + store), library', perGiB(libCpu, 'server'), 's/GiB');
    row('3 e2e', 'readset-server CPU (proxy + store), raw PUTs', perGiB(rawCpu, 'server'), 's/GiB');
    row('3 e2e', '@aws-sdk/client-omics, create..last part', k, 'MB/s');
    row('3 e2e', 'library (to last part) / client-omics', null, '', lp / k, 1.0);
    row('3 e2e', 'Chromium CPU, client-omics', perGiB(sdkCpu, 'chromium'), 's/GiB');
    rowMax('4 mem', 'longest main-thread task during upload', Math.max(...longest), 'ms', 50);
    await page.close();
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
      const x = await uploadRounds(page, S.growthRounds, S.e2ePart, false);
      rmSync(path, { force: true });
      const gib = bytes / GiB;
      const ratios = x.lib.map((ms, i) => x.raw[i] / ms);
      const cpuLib = median(x.libCpu.map((c) => c.chromium)) / gib, cpuRaw = median(x.rawCpu.map((c) => c.chromium)) / gib;
      perSize.push({ bytes, ...x, ratio: median(ratios), cpuLib, cpuRaw });
      const label = bytes >= GiB ? `${fmt(bytes / GiB, 0)} GiB` : `${fmt(bytes / MiB, 0)} MiB`;
      row('3c growth', `${label}: library, s per GiB (create..complete)`, median(x.lib) / 1000 / gib, 's/GiB');
      row('3c growth', `${label}: raw PUTs, s per GiB`, median(x.raw) / 1000 / gib, 's/GiB');
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
  if (server && server.exitCode === null) { server.kill('SIGTERM'); await new Promise((r) => server.once('exit', r)); }
  rmSync(work, { recursive: true, force: true });
}

results.seconds = (Date.now() - t0) / 1000;
const lines = [`| section | measure | value | ratio | target | met |`, `|---|---|---|---|---|---|`];
for (const r of results.rows) {
  const target = typeof r.target === 'number' ? `>= ${r.target}x` : (r.target ?? '');
  const met = r.met === null ? '' : r.met ? 'yes' : 'NO';
  const value = r.value === null ? '' : `${Number.isInteger(r.value) ? r.value : fmt(r.value, r.unit === 'MB/s' || r.unit === 'KiB' ? 0 : 1)} ${r.unit}`;
  lines.push(`| ${r.section} | ${r.what} | ${value} | ${r.ratio === null ? '' : fmt(r.ratio, 2) + 'x'} | ${target} | ${met} |`);
}
console.log(`readset-upload bench${QUICK ? ' (--quick: tiny inputs, figures mean nothing)' : ''}: ${results.machine.nproc} cores, ${results.machine.cpu}, Chromium ${results.machine.chromium}, ${fmt(results.seconds, 0)} s`);
console.log(lines.join('\n'));
if (WRITE && ONLY.length === 0) {
  writeFileSync(join(HERE, 'results.json'), JSON.stringify(results, null, 2) + '\n');
  log(`wrote ${join(HERE, 'results.json')}`);
}
