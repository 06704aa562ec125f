import { launchBrowser } from '/work/main/tests/e2e/harness.mjs';
import http from 'node:http';
const srv = http.createServer((q, r) => { r.setHeader('content-type', 'text/html'); r.end('<input type=file id=f>'); }).listen(0, '127.0.0.1');
await new Promise((r) => srv.once('listening', r));
const browser = await launchBrowser();
const page = await browser.newPage();
page.on('console', (m) => console.log('console', m.text()));
await page.goto(`http://127.0.0.1:${srv.address().port}/`);
await page.setInputFiles('#f', ['/tmp/dbg/big4.bam']);
const mode = process.argv[2];
const out = await page.evaluate(async (mode) => {
  const src = `
  onmessage = async (e) => {
    const { blob, id, mode } = e.data;
    let total = 0;
    if (mode === 'byob') {
      const reader = blob.stream().getReader({ mode: 'byob' });
      let buf = new ArrayBuffer(4 << 20);
      for (;;) {
        const { value, done } = await reader.read(new Uint8Array(buf, 0, buf.byteLength));
        if (done) break;
        total += value.length;
        buf = value.buffer;
      }
    } else {
      const reader = blob.stream().getReader();
      for (;;) { const { value, done } = await reader.read(); if (done) break; total += value.length; }
    }
    postMessage({ id, total });
  };`;
  const url = URL.createObjectURL(new Blob([src], { type: 'text/javascript' }));
  const f = document.getElementById('f').files[0];
  const P = 100 * 1024 * 1024;
  const workers = [new Worker(url), new Worker(url)];
  const n = Math.ceil(f.size / P);
  let next = 0; const results = [];
  const t0 = performance.now();
  const lane = (w) => new Promise((resolve) => {
    const go = () => {
      if (next >= n) return resolve();
      const i = next++;
      const timer = setTimeout(() => { results.push({ i, hung: true }); console.log('hung part', i); resolve(); }, 20000);
      w.onmessage = (e) => { clearTimeout(timer); results.push({ i, total: e.data.total, ok: e.data.total === Math.min(f.size, (i + 1) * P) - i * P }); go(); };
      w.postMessage({ blob: f.slice(i * P, Math.min(f.size, (i + 1) * P)), id: i, mode });
    };
    go();
  });
  await Promise.all(workers.map(lane));
  return { ms: performance.now() - t0, bad: results.filter((r) => !r.ok).length, n: results.length };
}, mode);
console.log(mode, JSON.stringify(out));
await browser.close(); srv.close();
