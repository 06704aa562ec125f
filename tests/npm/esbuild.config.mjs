// esbuild, as the npm README shows it. esbuild resolves the package's `exports` and bundles its
// JS snippet, but leaves `new URL('readset_upload_bg.wasm', import.meta.url)` as it is: in the
// ES module bundle that URL resolves against the bundle's own address, so the wasm is copied
// beside the bundle (found through the package's `exports` entry for it).
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const outdir = fileURLToPath(new URL('dist-esbuild', import.meta.url));
rmSync(outdir, { recursive: true, force: true });
mkdirSync(outdir);
await build({
  entryPoints: [fileURLToPath(new URL('main.ts', import.meta.url))],
  bundle: true,
  format: 'esm',
  target: 'es2022',
  minify: true,
  outfile: `${outdir}/main.js`,
  logLevel: 'warning',
});
copyFileSync(fileURLToPath(import.meta.resolve('readset-upload/readset_upload_bg.wasm')), `${outdir}/readset_upload_bg.wasm`);
