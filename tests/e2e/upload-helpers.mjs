// Helpers shared by the resume and fault tests: test files on disk, the store's part counter,
// stored read set bytes, and bounded polling.
import { writeFileSync, readFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

export const PAGES = new URL('./pages', import.meta.url).pathname;

/** Writes a gzipped FASTQ of `reads` reads (deterministic from `seed`); returns its path. */
export function fastqGz(dir, name, reads, seed) {
  let x = seed >>> 0;
  const rnd = () => { x = (Math.imul(x, 1664525) + 1013904223) >>> 0; return x; };
  const out = [];
  for (let i = 0; i < reads; i++) {
    let seq = '';
    let qual = '';
    for (let j = 0; j < 100; j++) { const r = rnd(); seq += 'ACGT'[r & 3]; qual += String.fromCharCode(35 + ((r >>> 8) % 40)); }
    out.push(`@r${seed}_${i}\n${seq}\n+\n${qual}\n`);
  }
  const path = join(dir, name);
  writeFileSync(path, gzipSync(Buffer.from(out.join('')), { level: 1 }));
  return path;
}

export function tempDir() {
  return mkdtempSync(join(tmpdir(), 'readset-files-'));
}

/** The local store's part counters (`GET /_local/stats`). */
export async function stats(storeUrl) {
  const r = await fetch(`${storeUrl}/_local/stats`);
  return r.json();
}

/** Polls `check` every `everyMs` until it returns a truthy value, at most `tries` times. */
export async function waitFor(what, check, { tries = 600, everyMs = 100 } = {}) {
  for (let i = 0; i < tries; i++) {
    const v = await check();
    if (v) return v;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** The bytes of a stored read set's SOURCE1 file. */
export function readSetBytes(dataDir, readSetId) {
  return readFileSync(join(dataDir, 'store', 'readsets', readSetId, 'source1'));
}
