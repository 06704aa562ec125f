// The demo page: imports the package the way a portal would.
import init, { version } from '/pkg/readset_upload.js';

const status = document.getElementById('status');
try {
  await init();
  status.textContent = `readset-upload ${version()} loaded.`;
  document.body.dataset.ready = 'true';
} catch (e) {
  status.textContent = `Could not load the wasm package: ${e}`;
  throw e;
}
