// Rollup 4, as the npm README shows it: @rollup/plugin-node-resolve finds the package through
// its `exports` (Rollup resolves no bare names by itself), and
// @web/rollup-plugin-import-meta-assets emits the wasm that `new URL('readset_upload_bg.wasm',
// import.meta.url)` names as an asset and rewrites the URL (Rollup leaves it alone otherwise).
// The `typescript` plugin is this consumer's own TypeScript set-up.
import { nodeResolve } from '@rollup/plugin-node-resolve';
import { importMetaAssets } from '@web/rollup-plugin-import-meta-assets';
import { fileURLToPath } from 'node:url';
import strip from './strip-types.cjs';

export default {
  input: fileURLToPath(new URL('main.ts', import.meta.url)),
  output: { dir: fileURLToPath(new URL('dist-rollup', import.meta.url)), format: 'es', entryFileNames: 'main.js' },
  plugins: [
    { name: 'typescript', transform: (code, id) => (id.endsWith('.ts') ? { code: strip.stripTypes(code, id), map: null } : null) },
    nodeResolve({ browser: true, extensions: ['.js', '.ts'] }),
    importMetaAssets(),
  ],
};
