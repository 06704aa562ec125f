// webpack 5, as the npm README shows it: nothing for readset-upload. webpack resolves the
// package's `exports`, bundles its JS snippet, and turns `new URL('readset_upload_bg.wasm',
// import.meta.url)` in the package into an asset module (the wasm is emitted with a hashed
// name and the URL rewritten). Top-level await (main.ts) is on by default in webpack 5.
// The `.ts` rule is this consumer's own TypeScript set-up, not something the package needs.
import { fileURLToPath } from 'node:url';

export default {
  mode: 'production',
  context: fileURLToPath(new URL('.', import.meta.url)),
  entry: './main.ts',
  output: { path: fileURLToPath(new URL('dist-webpack', import.meta.url)), filename: 'main.js', clean: true },
  resolve: { extensions: ['.ts', '.js'] },
  module: { rules: [{ test: /\.ts$/, loader: fileURLToPath(new URL('strip-types.cjs', import.meta.url)) }] },
  // The wasm is larger than webpack's 244 KiB hint.
  performance: { hints: false },
};
