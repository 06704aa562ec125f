// The proxy against the transport limit (`node run.mjs --only=transport`, part of the full run):
// `parts` concurrent part PUTs through `readset-server proxy` against the same PUTs through
// nginx (Debian's package: a plain `proxy_pass` with request buffering off) to the same
// upstream, alternating, several rounds. The upstream is a sink (a separate Node process that
// reads every body to its end and answers 200), so both contenders pay the same for it; the
// client is this process, sending one shared Buffer per part. CPU seconds of the proxy process
// and of nginx (master and workers) are read from /proc around each round.
import { spawn } from 'node:child_process';
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, mintJwt, startChild, stop, waitHealthy } from './load.mjs';

const STORE = '1234567890';
const UPLOAD = '5555555555';
const NGINX = ['/usr/sbin/nginx', '/usr/bin/nginx'].find((p) => existsSync(p));

const SINK = `
const http = require('node:http');
const server = http.createServer((req, res) => {
  let n = 0;
  req.on('data', (c) => { n += c.length; });
  req.on('end', () => {
    const body = req.method === 'POST' ? { uploadId: '${UPLOAD}' } : { checksum: 'sink-' + n };
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  });
});
server.listen(Number(process.argv[1]), '127.0.0.1', () => console.log('sink ready'));
`;

/** One PUT of `body` to `url`; resolves with the status once the answer has been read. */
function put(url, headers, body) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'PUT', headers: { ...headers, 'content-length': body.length } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    req.on('error', reject);
    req.end(body);
  });
}


/**
 * Runs the comparison. `S`: `{ parts, partBytes, rounds }`. Returns `null` without nginx (the
 * caller prints a row saying so), else the per-round figures.
 */
export async function transportRun({ serverBin, work, cpuSeconds, procStatus, log, S }) {
  if (!NGINX) return null;
  const children = [];
  try {
    const sinkPort = await freePort();
    const sink = startChild(process.execPath, ['-e', SINK, String(sinkPort)], {}, (out) => out.includes('sink ready'), 'the sink');
    children.push(sink.child);
    await sink.started;

    const secret = randomBytes(48).toString('hex');
    const proxyPort = await freePort();
    const proxy = startChild(serverBin, ['proxy', '--listen', `127.0.0.1:${proxyPort}`, '--upstream', `http://127.0.0.1:${sinkPort}`,
      '--max-parts-per-token', String(S.parts)], {
      AWS_ACCESS_KEY_ID: 'AKIDTRANSPORTBENCH', AWS_SECRET_ACCESS_KEY: 'transport-bench-secret', AWS_REGION: 'us-east-1', READSET_JWT_SECRET: secret,
    }, () => null, 'the proxy');
    proxy.started.catch(() => {});
    children.push(proxy.child);
    const proxyUrl = `http://127.0.0.1:${proxyPort}`;
    await waitHealthy(proxyUrl, 'the proxy');

    const nginxPort = await freePort();
    const dir = join(work, 'nginx');
    writeFileSync(join(work, 'nginx.conf'), `
worker_processes auto;
pid ${dir}.pid;
error_log ${dir}-error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${dir}-body;
  proxy_temp_path ${dir}-proxy;
  server {
    listen 127.0.0.1:${nginxPort};
    client_max_body_size 0;
    location / {
      proxy_pass http://127.0.0.1:${sinkPort};
      proxy_http_version 1.1;
      proxy_request_buffering off;
      proxy_buffering off;
    }
  }
}
`);
    const nginx = spawn(NGINX, ['-p', work, '-c', join(work, 'nginx.conf'), '-g', 'daemon off;'], { stdio: ['ignore', 'ignore', 'pipe'] });
    children.push(nginx);
    let nginxErr = '';
    nginx.stderr.on('data', (d) => { nginxErr += d; });
    for (let i = 0; ; i++) {
      try { await put(`http://127.0.0.1:${nginxPort}/ping`, {}, Buffer.alloc(0)); break; } catch (e) {
        if (i >= 100 || nginx.exitCode !== null) throw new Error(`nginx did not start: ${e.message}\n${nginxErr}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }

    // An upload created through the proxy, so its parts carry a real grant.
    const token = mintJwt(secret, { sub: 'transport', exp: Math.floor(Date.now() / 1000) + 3600, stores: [STORE] });
    const created = await fetch(`${proxyUrl}/omics/sequencestore/${STORE}/upload`, {
      method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ sourceFileType: 'UBAM', subjectId: 's', sampleId: 's', name: 'transport' }),
    });
    if (!created.ok) throw new Error(`CreateMultipartReadSetUpload through the proxy: ${created.status} ${await created.text()}`);
    const { uploadGrant } = await created.json();
    const headers = { authorization: `Bearer ${token}`, 'x-readset-upload-grant': uploadGrant, 'content-type': 'application/octet-stream' };

    const body = randomBytes(S.partBytes);
    const workers = () => readdirSync('/proc').filter((d) => /^\d+$/.test(d)).map(Number).filter((p) => procStatus(p)?.ppid === nginx.pid);
    const nginxPids = () => [nginx.pid, ...workers()];
    const contenders = {
      proxy: { base: proxyUrl, pids: () => [proxy.child.pid], ms: [], cpu: [] },
      nginx: { base: `http://127.0.0.1:${nginxPort}`, pids: nginxPids, ms: [], cpu: [] },
    };
    log(`transport: ${S.parts} concurrent PUTs of ${S.partBytes / 1024 / 1024} MiB, proxy vs nginx, ${S.rounds} rounds`);
    for (let r = 0; r < S.rounds; r++) {
      const order = r % 2 ? ['nginx', 'proxy'] : ['proxy', 'nginx'];
      for (const name of order) {
        const c = contenders[name];
        const c0 = cpuSeconds(c.pids());
        const t0 = performance.now();
        const statuses = await Promise.all(Array.from({ length: S.parts }, (_, i) =>
          put(`${c.base}/omics/sequencestore/${STORE}/upload/${UPLOAD}/part?partNumber=${i + 1}&partSource=SOURCE1`, headers, body)));
        c.ms.push(performance.now() - t0);
        c.cpu.push(cpuSeconds(c.pids()) - c0);
        const bad = statuses.filter((s) => s !== 200);
        if (bad.length) throw new Error(`${name}: ${bad.length} of ${S.parts} PUTs answered ${bad.join(', ')}`);
      }
    }
    return { parts: S.parts, partBytes: S.partBytes, proxy: contenders.proxy, nginx: contenders.nginx, nginxVersion: nginxErr.trim() || null };
  } finally {
    for (const c of children.reverse()) await stop(c);
  }
}
