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

// `node pkg-config/size.mjs --budget-kib N [pkgDir]` also fails (exit 1) when the gzipped wasm +
// JS is larger than N KiB: `./run test` checks the package against the budget in
// pkg-config/size-budget-kib this way (sizes are deterministic, so this is a check, not a timing).
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const at = args.indexOf('--budget-kib');
  const budget = at >= 0 ? Number(args.splice(at, 2)[1]) : null;
  if (budget !== null && !(budget > 0)) throw new Error('--budget-kib needs a positive number of KiB');
  const dir = args[0] ?? fileURLToPath(new URL('../pkg', import.meta.url));
  const sizes = packageSizes(dir);
  console.log(JSON.stringify(sizes, null, 2));
  if (budget !== null) {
    const kib = sizes.totalGzip / 1024;
    const verdict = kib <= budget ? 'within' : 'OVER';
    console.log(`wasm + JS gzipped: ${kib.toFixed(1)} KiB, ${verdict} the budget of ${budget} KiB`);
    if (kib > budget) process.exit(1);
  }
}
