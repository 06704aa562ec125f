// webpack 5, exactly as the npm README shows it (the test checks every line against it, with
// dist-webpack for dist). Nothing here is for readset-upload but the size hint: webpack resolves
// the package's `exports`, bundles its JS snippet, and turns `new URL('readset_upload_bg.wasm',
// import.meta.url)` into an asset module (the wasm emitted with a hashed name, the URL
// rewritten). Top-level await is on by default. The entry is main.ts as tsc compiled it.
import { fileURLToPath } from 'node:url';

export default {
  mode: 'production',
  entry: './main.js',
  output: { path: fileURLToPath(new URL('dist-webpack', import.meta.url)), filename: 'main.js' },
  performance: { hints: false },
};
