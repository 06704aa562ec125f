// The bundled page: index.html + main.ts. `base: './'` so the build works served from any
// folder (the test serves it under /dist/); the wasm is emitted as an asset by Vite's handling
// of `new URL('readset_upload_bg.wasm', import.meta.url)` in the package.
import { defineConfig } from 'vite';

export default defineConfig({
  base: './',
  logLevel: 'warn',
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022' },
});
