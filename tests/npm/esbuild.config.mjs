// esbuild, exactly as the npm README shows it (the test checks every line against it, with
// dist-esbuild for dist). esbuild resolves the package's `exports` and bundles its JS snippet,
// but leaves `new URL('readset_upload_bg.wasm', import.meta.url)` alone: in an ES module bundle
// that URL resolves against the bundle's own address, so the wasm is copied beside it (its path
// found through the package's `exports` entry for it). The entry is main.ts as tsc compiled it.
import { build } from 'esbuild';
import { copyFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

await build({ entryPoints: ['main.js'], bundle: true, format: 'esm', target: 'es2022', minify: true, outfile: 'dist-esbuild/main.js' });
copyFileSync(fileURLToPath(import.meta.resolve('readset-upload/readset_upload_bg.wasm')), 'dist-esbuild/readset_upload_bg.wasm');
