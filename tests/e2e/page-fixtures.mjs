// Small, deterministic FASTQ fixtures for the demo page tests: gzip-compressed R1/R2 mates.
import { gzipSync } from 'node:zlib';

/** A gzip-compressed FASTQ of `reads` random 150 bp reads (seeded, so every run is the same). */
export function fastqGz(seed, reads) {
  let x = seed >>> 0 || 1;
  const rnd = () => { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; return x; };
  const lines = [];
  for (let i = 0; i < reads; i += 1) {
    let seq = '';
    let qual = '';
    for (let j = 0; j < 150; j += 1) {
      seq += 'ACGT'[rnd() & 3];
      qual += String.fromCharCode(35 + (rnd() % 40));
    }
    lines.push(`@read${i}/${seed}`, seq, '+', qual);
  }
  return gzipSync(`${lines.join('\n')}\n`, { level: 6 });
}
