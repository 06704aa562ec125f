// Type-level usage of every export of the packed package, checked with `tsc --strict`.
// Never run: it proves the declarations a portal developer gets are complete and precise.
// Each `@ts-expect-error` line fails the check if the type it probes were loosened to `any`
// (an unused `@ts-expect-error` is itself an error).
import init, {
  initSync,
  version,
  uploadReadSet,
  hashBlob,
  configureRequestQueue,
  findResumableUploads,
  listAbandonedUploads,
  abortUpload,
  uploadToSevenBridges,
  ReadSetUploader,
  SequenceStoreClient,
  SevenBridgesUploader,
  SevenBridgesClient,
  Hasher,
  FastqEtagHasher,
  type InitInput,
  type InitOutput,
  type SyncInitInput,
  type ConnectionOptions,
  type CompletedPart,
  type EtagReport,
  type JobFilter,
  type ListJobsResult,
  type ListReadSetsResult,
  type ListUploadPartsResult,
  type ListUploadsResult,
  type MultipartUpload,
  type PageOptions,
  type PartProgress,
  type PartSource,
  type PartState,
  type ReadSetEtag,
  type ReadSetFilter,
  type ReadSetJob,
  type ReadSetMetadata,
  type ReadSetSummary,
  type ReadSetUploadError,
  type ReadSetUploadErrorCode,
  type RetryOptions,
  type SequenceStoreInfo,
  type SourceFileType,
  type TimeFilter,
  type UploadedPart,
  type UploadOptions,
  type UploadPhase,
  type UploadProgress,
  type UploadResult,
  type RequestQueueOptions,
  type HashAlgorithm,
  type HashBlobOptions,
  type HashBlobResult,
  type FileFingerprint,
  type SavedUpload,
  type FindResumableOptions,
  type AbandonedUpload,
  type AbortUploadOptions,
  type AbortUploadResult,
  type SevenBridgesUploadOptions,
  type SevenBridgesUploadResult,
  type JobKind,
  type StartExportJobOptions,
  type StartActivationJobOptions,
  type StartImportJobOptions,
  type ImportJobSource,
  type WaitForJobOptions,
  type PreviewOptions,
  type ReadSetPreview,
  type FastqSample,
  type FastqRead,
  type AlignmentHeader,
  type DownloadOptions,
  type DownloadProgress,
  type DownloadResult,
  type SevenBridgesClientOptions,
  type SevenBridgesFileListOptions,
  type SevenBridgesFile,
  type SevenBridgesFileList,
} from 'readset-upload';

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
const assertType = <T extends true>(): T => true as T;

export async function loading(wasmUrl: URL, bytes: ArrayBuffer): Promise<void> {
  const out: InitOutput = await init();
  await init({ module_or_path: wasmUrl });
  const input: InitInput = wasmUrl;
  await init({ module_or_path: input });
  const sync: SyncInitInput = bytes;
  const out2: InitOutput = initSync({ module: sync });
  void out.memory.buffer;
  void out2;
  const v: string = version();
  void v;
}

const retry: RetryOptions = { maxAttempts: 6, baseDelayMs: 500, maxDelayMs: 30_000, jitter: true, seed: 1 };
const connection: ConnectionOptions = { endpoint: 'https://portal.example/omics', token: 'jwt', sequenceStoreId: '1234567890', retry };

export async function uploading(r1: File, r2: File, bam: File, controller: AbortController): Promise<UploadResult> {
  const options: UploadOptions = {
    ...connection,
    sourceFileType: 'FASTQ',
    name: 'run 42',
    subjectId: 'patient-7',
    sampleId: 'tumour-1',
    description: 'paired FASTQ',
    generatedFrom: 'sequencer 3',
    tags: { project: 'p1' },
    clientToken: 'token-1',
    files: [r1, r2],
    partSize: 100 * 1024 * 1024,
    concurrency: 4,
    chunkSize: 4 * 1024 * 1024,
    hashInWorkers: true,
    uploadId: undefined,
    verifyPartChecksums: 'auto',
    verifyEtag: true,
    waitForActive: true,
    pollIntervalMs: 1000,
    activeTimeoutMs: 3_600_000,
    signal: controller.signal,
    onProgress: (p: UploadProgress) => {
      const phase: UploadPhase = p.phase;
      const fraction: number = p.bytesUploaded / p.bytesTotal;
      const paused: boolean = p.paused;
      const id: string | null = p.uploadId;
      const counts: number = p.bytesHashed + p.partsDone + p.partsTotal + p.throughput;
      const parts: PartProgress[] = p.parts;
      const changed: PartProgress | null = p.changed;
      if (changed) {
        const s: PartSource = changed.source;
        const st: PartState = changed.state;
        const n: number = changed.number + changed.size + changed.bytesSent + changed.attempts;
        void [s, st, n];
      }
      void [phase, fraction, paused, id, counts, parts];
    },
  };
  const direct: UploadResult = await uploadReadSet(options);

  const uploader = new ReadSetUploader({ ...connection, sourceFileType: 'BAM', name: 'b', subjectId: 's', sampleId: 's', referenceArn: 'arn:aws:omics:us-east-1:123456789012:referenceStore/1/reference/2', files: [bam] });
  const started: Promise<UploadResult> = uploader.start();
  uploader.pause();
  uploader.resume();
  const state: 'idle' | 'running' | 'paused' | 'aborted' | 'completing' | 'finished' = uploader.state;
  const uploadId: string | undefined = uploader.uploadId;
  const aborted: Promise<void> = uploader.abort();
  await aborted;
  void [state, uploadId];

  try {
    const r = await started;
    const parts: CompletedPart[] = r.partList;
    const etag: EtagReport = r.etag;
    const stored: ReadSetEtag | null = etag.stored;
    const fields: [string, string, string, number, number] = [r.readSetId, r.uploadId, r.status, r.parts, r.bytes];
    const where: number = r.hashing.inWorkers + r.hashing.onMainThread;
    const verified: number = r.verifiedParts;
    void [where, verified];
    void [parts, stored, fields, etag.status satisfies 'verified' | 'mismatch' | 'unchecked'];
  } catch (e) {
    const err = e as ReadSetUploadError;
    const code: ReadSetUploadErrorCode = err.code;
    if (err.code === 'aborted' && err.uploadId !== undefined) {
      // resume later with the same files and `uploadId: err.uploadId`
    }
    const extra: [boolean, number | undefined, string | undefined, string | undefined, string | undefined] = [err.retryable, err.status, err.operation, err.errorType, err.readSetId];
    const part: { source: PartSource; number: number } | undefined = err.part;
    assertType<Equal<typeof err.name, 'ReadSetUploadError'>>();
    void [code, extra, part];
  }

  // @ts-expect-error: not a HealthOmics file type
  void ({ ...options, sourceFileType: 'VCF' } satisfies UploadOptions);
  // @ts-expect-error: at most two files (an R1/R2 pair)
  void ({ ...options, files: [r1, r2, bam] } satisfies UploadOptions);
  // @ts-expect-error: the metadata is required
  void ({ ...connection, sourceFileType: 'FASTQ', files: [r1] } satisfies UploadOptions);
  // @ts-expect-error: progress events are typed
  void ((p: UploadProgress) => p.bytesUploadedd);
  // @ts-expect-error: error codes are a closed union
  void ('oops' satisfies ReadSetUploadErrorCode);
  // @ts-expect-error: the result is typed
  void direct.readSetID;
  return direct;
}

export async function listing(): Promise<void> {
  const client = new SequenceStoreClient(connection);
  const store: SequenceStoreInfo = await client.getSequenceStore();
  const page: PageOptions = { maxResults: 10 };
  const filter: ReadSetFilter = { status: 'ACTIVE', sampleId: 's', createdAfter: '2026-01-01T00:00:00Z' };
  const sets: ListReadSetsResult = await client.listReadSets({ filter, ...page });
  await client.listReadSets();
  const first: ReadSetSummary | undefined = sets.readSets[0];
  const type: SourceFileType | undefined = first?.fileType;
  const meta: ReadSetMetadata = await client.getReadSetMetadata(first?.id ?? '1234567890');
  const uploads: ListUploadsResult = await client.listUploads({ maxResults: 5, nextToken: sets.nextToken });
  const up: MultipartUpload | undefined = uploads.uploads[0];
  const time: TimeFilter = { createdBefore: '2027-01-01T00:00:00Z' };
  const parts: ListUploadPartsResult = await client.listUploadParts(up?.uploadId ?? '1', 'SOURCE1', { filter: time });
  const part: UploadedPart | undefined = parts.parts[0];
  await client.abortUpload(up?.uploadId ?? '1') satisfies void;
  const jobFilter: JobFilter = { status: 'COMPLETED', ...time };
  const jobs: ListJobsResult[] = [
    await client.listImportJobs({ filter: jobFilter }),
    await client.listExportJobs({ maxResults: 1 }),
    await client.listActivationJobs(),
  ];
  const job: ReadSetJob[] = [await client.getImportJob('1'), await client.getExportJob('2'), await client.getActivationJob('3')];
  void [store.eTagAlgorithmFamily, type, meta.files?.source1?.contentLength, part?.checksum, jobs[0]?.importJobs, job];

  // @ts-expect-error: part sources are SOURCE1 or SOURCE2
  await client.listUploadParts('1', 'SOURCE3');
  // @ts-expect-error: unknown read set status
  void ({ status: 'DONE' } satisfies ReadSetFilter);
  // @ts-expect-error: the listing result is typed
  void sets.items;

  const hashOptions: HashBlobOptions = { chunkSize: 1 << 20, inWorker: true, readStallMs: 3000 };
  const algorithm: HashAlgorithm = 'SHA-256';
  const digest: HashBlobResult = await hashBlob(new Blob(['x']), algorithm, hashOptions);
  const fields: [string, boolean, number, boolean, number | undefined] = [digest.hex, digest.inWorker, digest.readRestarts, digest.webCrypto, digest.uncompressedBytes];
  await hashBlob(new Blob(['x']), 'FASTQ_MD5up');
  void fields;
  // @ts-expect-error: the options are typed
  await hashBlob(new Blob(['x']), 'MD5', { workers: 2 });
  // @ts-expect-error: the algorithms are named
  await hashBlob(new Blob(['x']), 'CRC32');

  const queue: RequestQueueOptions = { concurrency: 8, requestsPerSecond: 10 };
  configureRequestQueue(queue);
  configureRequestQueue(); // back to the defaults
  // @ts-expect-error: the queue options are typed
  configureRequestQueue({ maxInFlight: 4 });
}

export function hashing(bytes: Uint8Array, gz: Uint8Array): [string, string, number] {
  using sha = new Hasher('SHA-256');
  sha.update(bytes);
  const hex: string = sha.digestHex();
  const etag = new FastqEtagHasher('MD5up');
  etag.update(gz);
  const done: { algorithm: string; hex: string; uncompressedBytes: number } = etag.finish();
  etag.free();
  // @ts-expect-error: bytes, not a string
  sha.update('text');
  return [hex, done.hex, done.uncompressedBytes];
}

export async function resuming(r1: File, r2: File): Promise<void> {
  const find: FindResumableOptions = { files: [r1, r2], endpoint: connection.endpoint, sequenceStoreId: connection.sequenceStoreId };
  const saved: SavedUpload[] = await findResumableUploads(find);
  const first: SavedUpload | undefined = saved[0];
  if (first) {
    const print: FileFingerprint | undefined = first.files[0];
    const confirmed: [number, number] = [first.partsConfirmed, first.bytesConfirmed];
    void [print?.edgeSha256, print?.lastModified, confirmed, first.uploadGrant, first.createdMs];
    await uploadReadSet({ ...connection, sourceFileType: 'FASTQ', name: first.name ?? 'n', subjectId: 's', sampleId: 's', files: [r1, r2], uploadId: first.uploadId });
  }
  const abandoned: AbandonedUpload[] = await listAbandonedUploads(connection);
  for (const a of abandoned) {
    const local: SavedUpload | null = a.local;
    const options: AbortUploadOptions = { ...connection, uploadId: a.uploadId };
    const done: AbortUploadResult = await abortUpload(options);
    void [local, a.onServer, done.abortedOnServer satisfies boolean, done.localRecordsRemoved satisfies number];
  }
  // @ts-expect-error: the upload to abort is required
  void ({ ...connection } satisfies AbortUploadOptions);
}

export async function sevenBridges(file: File, signal: AbortSignal): Promise<SevenBridgesUploadResult> {
  const options: SevenBridgesUploadOptions = {
    endpoint: 'https://portal.example/sbg/v2',
    token: 'jwt',
    project: 'lab/project',
    name: file.name,
    overwrite: false,
    file,
    partSize: 5 * 1024 * 1024,
    concurrency: 4,
    retry,
    resume: 'auto',
    stallTimeoutMs: 60_000,
    signal,
    onProgress: (p: UploadProgress) => void p.bytesUploaded,
  };
  const up = new SevenBridgesUploader(options);
  const running: Promise<SevenBridgesUploadResult> = up.start();
  up.pause();
  up.resume();
  const state: 'idle' | 'running' | 'paused' | 'aborted' | 'completing' | 'finished' = up.state;
  const id: string | undefined = up.uploadId;
  void [state, id];
  const r = await running;
  const fields: [string, string, number, number, number, number, number, number | null, string] = [r.fileId, r.uploadId, r.partSize, r.parts, r.partsSkipped, r.bytes, r.apiCalls, r.rateLimitRemaining, r.file.name];
  void fields;
  await up.abort();
  // @ts-expect-error: one file, not a pair
  void ({ ...options, file: [file, file] } satisfies SevenBridgesUploadOptions);
  return uploadToSevenBridges(options);
}

export async function viewing(writable: WritableStream<Uint8Array>, signal: AbortSignal): Promise<void> {
  const client = new SequenceStoreClient(connection);
  const exportOptions: StartExportJobOptions = { readSetIds: ['1234567890'], destination: 's3://exports/lab/' };
  const started: ReadSetJob = await client.startExportJob(exportOptions);
  const activation: StartActivationJobOptions = { readSetIds: ['1234567890'], clientToken: 't' };
  await client.startActivationJob(activation);
  const source: ImportJobSource = { sourceFiles: { source1: 's3://in/r1.fq.gz' }, sourceFileType: 'FASTQ', subjectId: 's', sampleId: 'x' };
  const imports: StartImportJobOptions = { sources: [source] };
  await client.startImportJob(imports);
  const kind: JobKind = 'export';
  const wait: WaitForJobOptions = { kind, pollIntervalMs: 1000, timeoutMs: 60_000, signal, onProgress: (j: ReadSetJob) => void j.status };
  const done: ReadSetJob = await client.waitForJob(started.id, wait);
  void done;
  for await (const rs of client.readSets({ filter: { status: 'ACTIVE' }, maxResults: 50 })) void (rs satisfies ReadSetSummary).id;
  for await (const u of client.uploads()) void (u satisfies MultipartUpload).uploadId;
  for await (const p of client.uploadParts('1234567890', 'SOURCE2', { maxResults: 100 })) void (p satisfies UploadedPart).partNumber;
  for await (const j of client.importJobs({ filter: { status: 'COMPLETED' } })) void (j satisfies ReadSetJob).id;
  for await (const j of client.exportJobs()) void j.destination;
  for await (const j of client.activationJobs()) void j.status;

  const previewOptions: PreviewOptions = { maxReads: 4, stallTimeoutMs: 10_000, signal };
  const preview: ReadSetPreview = await client.previewReadSet('1234567890', previewOptions);
  const sample: FastqSample | undefined = preview.fastq?.[0];
  const read: FastqRead | undefined = sample?.reads[0];
  const header: AlignmentHeader | undefined = preview.header;
  void [read?.sequence, read?.quality, sample?.complete, header?.referenceCount, header?.readGroups, preview.bytesFetched];

  const progress = (p: DownloadProgress) => void [p.bytesDownloaded, p.bytesTotal, p.partsTotal];
  const downloadOptions: DownloadOptions = { file: 'SOURCE2', writable, onProgress: progress, signal, verifyEtag: true, maxBlobBytes: 1 << 20 };
  const got: DownloadResult = await client.downloadReadSet('1234567890', downloadOptions);
  await client.downloadReadSet('1234567890');
  void [got.blob, got.etag.verified, got.bytes];

  const sbgOptions: SevenBridgesClientOptions = { endpoint: 'https://portal.example/sbg/v2', token: 'jwt' };
  const sbg = new SevenBridgesClient(sbgOptions);
  const list: SevenBridgesFileListOptions = { project: 'lab/project', limit: 10 };
  const page: SevenBridgesFileList = await sbg.listFiles({ ...list, offset: 10 });
  for await (const f of sbg.files(list)) void (f satisfies SevenBridgesFile).size;
  void page.nextToken;

  // @ts-expect-error: a job kind is one of three
  void ({ kind: 'copy' } satisfies WaitForJobOptions);
  // @ts-expect-error: the iterators follow the page tokens themselves
  client.readSets({ nextToken: 'x' });
  // @ts-expect-error: a read set file is SOURCE1, SOURCE2 or INDEX
  void ({ file: 'SOURCE3' } satisfies DownloadOptions);
  // @ts-expect-error: the project is required
  sbg.files({ limit: 5 });
}
