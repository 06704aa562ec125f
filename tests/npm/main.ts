// The upload page of every consumer set-up: what a portal's upload form does. The one entry:
// Vite bundles it as it is; tsc compiles it to main.js (tsconfig.plain.json), the page with no
// bundler (plain.html) and the entry of webpack 5, esbuild and Rollup. Reads the proxy's
// address from /demo-config.json (served by `readset-server demo`), uploads the chosen files (a
// FASTQ.gz R1/R2 pair) to ACTIVE, reads the read set back through the listing client and shows
// the outcome as JSON in #result. The read set is named after the page's path, so the test
// knows which build uploaded it.
import init, {
  uploadReadSet,
  SequenceStoreClient,
  version,
  type ConnectionOptions,
  type ReadSetUploadError,
  type UploadOptions,
  type UploadProgress,
} from 'readset-upload';

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;
const status = $<HTMLParagraphElement>('status');
const input = $<HTMLInputElement>('file');
const button = $<HTMLButtonElement>('upload');
const bar = $<HTMLProgressElement>('bar');
const result = $<HTMLPreElement>('result');

await init();
// demo-config.json also describes other targets (Seven Bridges): keep the connection only,
// since the uploader refuses options it does not know.
const { endpoint, token, sequenceStoreId } = (await (await fetch('/demo-config.json')).json()) as ConnectionOptions;
const config: ConnectionOptions = { endpoint, token, sequenceStoreId };
status.textContent = `readset-upload ${version()} loaded.`;
button.disabled = false;
document.body.dataset.ready = 'true';

button.addEventListener('click', async () => {
  // One file, or the R1 and R2 files of a pair (the type allows no more).
  const [r1, r2] = [...(input.files ?? [])];
  if (!r1) return;
  const files: UploadOptions['files'] = r2 ? [r1, r2] : [r1];
  const phases: string[] = [];
  let maxUploaded = 0;
  const onProgress = (p: UploadProgress): void => {
    if (phases[phases.length - 1] !== p.phase) phases.push(p.phase);
    maxUploaded = Math.max(maxUploaded, p.bytesUploaded);
    bar.value = p.bytesTotal > 0 ? p.bytesUploaded / p.bytesTotal : 0;
  };
  try {
    const upload = await uploadReadSet({
      ...config,
      sourceFileType: 'FASTQ',
      name: `upload from ${location.pathname}`,
      subjectId: 'subject-1',
      sampleId: 'sample-1',
      files,
      pollIntervalMs: 100,
      onProgress,
    });
    const client = new SequenceStoreClient(config);
    const metadata = await client.getReadSetMetadata(upload.readSetId);
    result.textContent = JSON.stringify({ ok: true, upload, metadata, phases, maxUploaded });
  } catch (e) {
    const err = e as ReadSetUploadError;
    result.textContent = JSON.stringify({ ok: false, name: err.name, code: err.code, message: err.message });
  }
  document.body.dataset.done = 'true';
});
