// Sizes of the built package: raw and gzipped (level 9, as a CDN or web server would serve
// it) for the wasm and the JS glue. Used by the benchmark and printed by tests/npm.
//   node pkg-config/size.mjs [pkgDir]   prints the JSON
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync, constants } from 'node:zlib';
import { fileURLToPath } from 'node:url';

/** `{ wasm: {bytes, gzip}, js: {bytes, gzip}, totalGzip }` of the package in `pkgDir`. */
export function packageSizes(pkgDir) {
  const size = (file) => {
    const data = readFileSync(join(pkgDir, file));
    return { bytes: data.length, gzip: gzipSync(data, { level: constants.Z_BEST_COMPRESSION }).length };
  };
  const wasm = size('readset_upload_bg.wasm');
  const js = size('readset_upload.js');
  return { wasm, js, totalGzip: wasm.gzip + js.gzip };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const dir = process.argv[2] ?? fileURLToPath(new URL('../pkg', import.meta.url));
  console.log(JSON.stringify(packageSizes(dir), null, 2));
}
