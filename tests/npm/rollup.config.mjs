// Rollup 4, exactly as the npm README shows it (the test checks every line against it, with
// dist-rollup for dist): @rollup/plugin-node-resolve finds the package through its `exports`
// (Rollup resolves no package names itself), and @web/rollup-plugin-import-meta-assets emits
// the wasm that `new URL('readset_upload_bg.wasm', import.meta.url)` names and rewrites the URL
// (Rollup leaves it alone otherwise). The entry is main.ts as tsc compiled it.
import { nodeResolve } from '@rollup/plugin-node-resolve';
import { importMetaAssets } from '@web/rollup-plugin-import-meta-assets';

export default {
  input: 'main.js',
  output: { dir: 'dist-rollup', format: 'es' },
  plugins: [nodeResolve({ browser: true }), importMetaAssets()],
};
