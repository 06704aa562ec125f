/** Part source: mate 1 (or the only file) is SOURCE1, mate 2 of a FASTQ pair is SOURCE2. */
export type PartSource = "SOURCE1" | "SOURCE2";

/** Read set file types accepted by HealthOmics. */
export type SourceFileType = "FASTQ" | "BAM" | "CRAM" | "UBAM";

/** How requests are retried (429, 500, 502, 503, 504, 408 and network errors). */
export interface RetryOptions {
  /** Attempts per request in all, the first included. Default 6; 1 disables retries. */
  maxAttempts?: number;
  /** Delay before the first retry in ms; doubles on each further retry. Default 500. */
  baseDelayMs?: number;
  /** Upper bound of one delay in ms. Default 30000. */
  maxDelayMs?: number;
  /** Randomize each delay within [half, full] of its value. Default true. */
  jitter?: boolean;
  /** Seed of the jitter, for reproducible delays (tests). Default: random. */
  seed?: number;
}

/** Where the HealthOmics API is reached (through the signing proxy). */
export interface ConnectionOptions {
  /** Base URL of the HealthOmics API, e.g. "http://127.0.0.1:8080/omics". */
  endpoint: string;
  /** Bearer token for the proxy (sent as `Authorization: Bearer <token>`). */
  token?: string;
  /** The sequence store: 10 to 36 digits. */
  sequenceStoreId: string;
  /** Retry policy for every call. */
  retry?: RetryOptions;
}

/** Options of `uploadReadSet` / `new ReadSetUploader`. */
export interface UploadOptions extends ConnectionOptions {
  /** FASTQ (gzip-compressed, one file or an R1/R2 pair), BAM, CRAM or UBAM. */
  sourceFileType: SourceFileType;
  /** Read set name, 1..127 characters. */
  name: string;
  /** Subject ID, 1..127 characters. */
  subjectId: string;
  /** Sample ID, 1..127 characters. */
  sampleId: string;
  /** Reference ARN; required for BAM and CRAM. */
  referenceArn?: string;
  /** Description, 1..255 characters. */
  description?: string;
  /** Provenance, 1..127 characters. */
  generatedFrom?: string;
  /** Tags: keys 1..128, values 0..256 characters. */
  tags?: Record<string, string>;
  /** Idempotency token of CreateMultipartReadSetUpload (1..127). Default: a random token per uploader. */
  clientToken?: string;
  /** The file, or the R1 and R2 files of a FASTQ pair. Names must end in .fastq.gz/.fq.gz (FASTQ), .bam (BAM, UBAM), .ubam (UBAM), .cram (CRAM). */
  files: [File] | [File, File];
  /** Part size in bytes: at most 104857600 (the default), at most 10000 parts per file. */
  partSize?: number;
  /** Parts of this upload in flight at once, 1..32 (fewer while the service throttles). Default 4.
   * Every upload on the page also shares the page's request queue (`configureRequestQueue`). */
  concurrency?: number;
  /** Bytes read into wasm memory at once for hashing, 1 KiB..64 MiB. Default 4 MiB. */
  chunkSize?: number;
  /** Hash in Web Workers, one per core but one (kept for the page), each with its own instance of this package's wasm: the
   * page's main thread never reads or hashes part bytes. Workers start from a Blob URL (a
   * Content-Security-Policy must allow `worker-src blob:`); where they cannot run, hashing falls
   * back to the main thread with one console warning. `false` always hashes on the main thread.
   * Default true. */
  hashInWorkers?: boolean;
  /** Continue this existing upload: parts already on the server with a matching checksum are not sent again. */
  uploadId?: string;
  /** `true` or `"auto"`: continue the upload saved in this browser (IndexedDB) for the same
   * files, store and part size; the server's part list decides which parts are sent. Default false. */
  resume?: boolean | "auto";
  /** Abort and retry a part attempt with no upload progress for this long (ms). Default 60000; 0 disables. */
  stallTimeoutMs?: number;
  /** Compare the store's part checksum with the part's SHA-256: "auto" (default: when it is 64 hex digits, as the local store returns), true (always), false (never). A part is hashed only to be compared, after its PUT: against AWS, whose checksums are opaque, "auto" hashes nothing. A mismatch costs a retry attempt (the part is sent again), then fails with `checksum_mismatch`. */
  verifyPartChecksums?: boolean | "auto";
  /** FASTQ: compute the ETag of the uncompressed data while uploading and compare it with the read set's. Default true. */
  verifyEtag?: boolean;
  /** Wait until the read set is ACTIVE (or UPLOAD_FAILED). Default true. */
  waitForActive?: boolean;
  /** First interval between status polls in ms (grows to 10x). Default 1000. */
  pollIntervalMs?: number;
  /** Give up waiting for ACTIVE after this many ms (error `timeout`). Default 3600000. */
  activeTimeoutMs?: number;
  /** Aborting the signal aborts the upload (like `abort()`). */
  signal?: AbortSignal;
  /** Called on every part state change, and at most every 100 ms with byte progress. */
  onProgress?: (progress: UploadProgress) => void;
}

/** What a part is doing. */
export type PartState = "pending" | "hashing" | "hashed" | "uploading" | "retrying" | "done" | "skipped" | "failed";

/** One part in a progress event. */
export interface PartProgress {
  source: PartSource;
  number: number;
  /** Part size in bytes. */
  size: number;
  state: PartState;
  /** Bytes of the body sent in the current attempt (XHR upload progress). */
  bytesSent: number;
  /** Attempts started. */
  attempts: number;
}

/** The step the upload is in. */
export type UploadPhase = "preparing" | "uploading" | "completing" | "processing" | "verifying" | "done";

/** The argument of `onProgress`. */
export interface UploadProgress {
  phase: UploadPhase;
  uploadId: string | null;
  paused: boolean;
  bytesTotal: number;
  /** Bytes of parts read and hashed (SHA-256) to check their checksums, after their PUT: 0 where the store's checksums are opaque (AWS). FASTQ ETags stream alongside and are not counted. */
  bytesHashed: number;
  /** Bytes of confirmed parts plus bytes sent of parts in flight. */
  bytesUploaded: number;
  partsTotal: number;
  /** Parts confirmed by the server (or found there on resume). */
  partsDone: number;
  /** Upload throughput in bytes per second over the last 5 seconds. */
  throughput: number;
  /** Parts being hashed, uploaded or retried. */
  parts: PartProgress[];
  /** The part whose state changed, for state-change events. */
  changed: PartProgress | null;
}

/** A read set's ETags. */
export interface ReadSetEtag {
  /** e.g. "FASTQ_MD5up". */
  algorithm?: string | null;
  source1?: string | null;
  source2?: string | null;
}

/** The ETag check after ACTIVE. A mismatch rejects with code `etag_mismatch` instead. */
export interface EtagReport {
  /** "unchecked": not FASTQ, `verifyEtag: false`, `waitForActive: false`, or the store reported none. */
  status: "verified" | "mismatch" | "unchecked";
  algorithm: string | null;
  computed: ReadSetEtag | null;
  stored: ReadSetEtag | null;
}

/** A part as listed in CompleteMultipartReadSetUpload. */
export interface CompletedPart {
  partSource: PartSource;
  partNumber: number;
  /** The checksum the store returned, unchanged. */
  checksum: string;
}

/** What an upload resolves with. */
export interface UploadResult {
  readSetId: string;
  uploadId: string;
  /** "ACTIVE", or "PROCESSING_UPLOAD" with `waitForActive: false`. */
  status: string;
  /** Number of parts completed. */
  parts: number;
  partList: CompletedPart[];
  /** Bytes uploaded, all files. */
  bytes: number;
  etag: EtagReport;
  /** Where the hash jobs ran: one job per verified part (SHA-256) and one per FASTQ source (ETag). */
  hashing: { inWorkers: number; onMainThread: number };
  /** Parts whose store checksum was compared with their SHA-256 and matched (sent now, or listed on resume): all of them against a store returning hex SHA-256 (the local store) or with `verifyPartChecksums: true`; 0 against AWS, whose checksums are opaque (see the README's verification table). */
  verifiedParts: number;
}

/** Error codes: `invalid_input` (refused before any network call), `validation` (HTTP 400 and other client errors, with the service's message), `auth` (401), `forbidden` (403), `not_found` (404), `quota` (402), `throttled` (429), `network`, `server` (5xx, 408), `aborted`, `checksum_mismatch`, `etag_mismatch`, `upload_failed` (UPLOAD_FAILED), `timeout` (not ACTIVE in time, or a job not done within `timeoutMs`), `protocol` (unreadable answer, or data that is not what the read set's type says), `missing_report_header` (a Seven Bridges storage answer lacks a header to report: its CORS does not expose it), `job_failed` (a job ended FAILED or CANCELLED: `waitForJob`). */
export type ReadSetUploadErrorCode =
  | "invalid_input" | "validation" | "auth" | "forbidden" | "not_found" | "quota" | "throttled"
  | "network" | "server" | "aborted" | "checksum_mismatch" | "etag_mismatch" | "upload_failed"
  | "timeout" | "protocol" | "missing_report_header" | "job_failed";

/** Every rejection is an `Error` with `name === "ReadSetUploadError"` and these fields. */
export interface ReadSetUploadError extends Error {
  name: "ReadSetUploadError";
  code: ReadSetUploadErrorCode;
  /** Whether trying again may succeed (after the built-in retries were used up). */
  retryable: boolean;
  /** HTTP status, for HTTP errors. */
  status?: number;
  /** The HealthOmics operation that failed, e.g. "UploadReadSetPart". */
  operation?: string;
  /** The part concerned. */
  part?: { source: PartSource; number: number };
  /** The service's `x-amzn-ErrorType`, e.g. "ValidationException". */
  errorType?: string;
  /** The multipart upload, when one exists: pass it as `uploadId` to resume. */
  uploadId?: string;
  /** The read set, for `etag_mismatch`, `upload_failed`, `timeout`, and preview / download errors. */
  readSetId?: string;
  /** The read set job, for `job_failed` and `waitForJob`'s `timeout` and `aborted`. */
  jobId?: string;
  /** Attempts made at the request that failed, the first included (per `retry.maxAttempts`). */
  attempts?: number;
}

/** The page's request queue (`configureRequestQueue`): every network call of every upload and
 * listing on the page waits in it, parts of running uploads first, then completions, then
 * creations and listings. A throttled answer (429 or `Retry-After`) pauses the whole queue. */
export interface RequestQueueOptions {
  /** Requests in flight at once on the page, all uploads together, 1..64. Default 16. */
  concurrency?: number;
  /** Requests started per second at most, all uploads together (e.g. 10 for the HealthOmics
   * part quota). Default: no limit. */
  requestsPerSecond?: number;
}

/** Pagination of listing calls. */
export interface PageOptions {
  /** 1..100. */
  maxResults?: number;
  nextToken?: string;
}

/** ListReadSets filter (all optional). */
export interface ReadSetFilter {
  name?: string;
  status?: "ARCHIVED" | "ACTIVATING" | "ACTIVE" | "DELETING" | "DELETED" | "PROCESSING_UPLOAD" | "UPLOAD_FAILED";
  sampleId?: string;
  subjectId?: string;
  referenceArn?: string;
  generatedFrom?: string;
  creationType?: "IMPORT" | "UPLOAD";
  /** ISO 8601 time. */
  createdAfter?: string;
  /** ISO 8601 time. */
  createdBefore?: string;
}

/** Filter of job and part listings. */
export interface TimeFilter {
  createdAfter?: string;
  createdBefore?: string;
}

/** Job listing filter. */
export interface JobFilter extends TimeFilter {
  status?: string;
}

/** A read set as listed or fetched (HealthOmics shape, passed through unchanged). */
export interface ReadSetSummary {
  id: string;
  arn?: string;
  sequenceStoreId: string;
  name?: string;
  description?: string;
  subjectId?: string;
  sampleId?: string;
  status: string;
  statusMessage?: string;
  fileType: SourceFileType;
  referenceArn?: string;
  creationTime: string;
  creationType?: string;
  etag?: ReadSetEtag;
  sequenceInformation?: { alignment?: string; generatedFrom?: string; totalBaseCount?: number; totalReadCount?: number };
}

/** GetReadSetMetadata's answer. */
export interface ReadSetMetadata extends ReadSetSummary {
  creationJobId?: string;
  files?: Record<"source1" | "source2" | "index", { contentLength?: number; partSize?: number; totalParts?: number; s3Access?: { s3Uri?: string } } | undefined>;
}

/** ListReadSets' answer. */
export interface ListReadSetsResult {
  readSets: ReadSetSummary[];
  nextToken?: string;
}

/** An in-progress multipart upload. */
export interface MultipartUpload {
  uploadId: string;
  sequenceStoreId: string;
  sourceFileType: SourceFileType;
  name?: string;
  description?: string;
  subjectId?: string;
  sampleId?: string;
  referenceArn?: string;
  generatedFrom?: string;
  /** Through the signing proxy, `readset-upload:owner` holds the creator's opaque owner ID. */
  tags?: Record<string, string>;
  creationTime: string;
  /**
   * The signing proxy's grant for this upload (absent without the proxy). The library sends it
   * by itself with every call on the upload (`x-readset-upload-grant`); the proxy lists only the
   * caller's own uploads.
   */
  uploadGrant?: string;
}

/** ListMultipartReadSetUploads' answer. */
export interface ListUploadsResult {
  uploads: MultipartUpload[];
  nextToken?: string;
}

/** A part stored in an upload. */
export interface UploadedPart {
  partNumber: number;
  partSource: PartSource;
  partSize: number;
  checksum: string;
  creationTime?: string;
  lastUpdatedTime?: string;
}

/** ListReadSetUploadParts' answer. */
export interface ListUploadPartsResult {
  parts: UploadedPart[];
  nextToken?: string;
}

/** A read set import, export or activation job (HealthOmics shape). */
export interface ReadSetJob {
  id: string;
  sequenceStoreId: string;
  status: string;
  statusMessage?: string;
  creationTime: string;
  completionTime?: string;
  roleArn?: string;
  destination?: string;
  [field: string]: unknown;
}

/** List*Jobs' answer: `importJobs`, `exportJobs` or `activationJobs`, plus `nextToken`. */
export interface ListJobsResult {
  importJobs?: ReadSetJob[];
  exportJobs?: ReadSetJob[];
  activationJobs?: ReadSetJob[];
  nextToken?: string;
}

/** The three kinds of read set jobs, as `waitForJob` names them. */
export type JobKind = "import" | "export" | "activation";

/** `startExportJob`: copy read sets to S3. */
export interface StartExportJobOptions {
  /** 1 to 100 read set IDs. */
  readSetIds: string[];
  /** An S3 folder, `s3://bucket/folder/`; the proxy allows only its configured prefixes. */
  destination: string;
  /** Leave out: the signing proxy fills in the role its operator configured (and refuses any other). */
  roleArn?: string;
  /** Idempotency token: the same token starts the job once (when absent, the library makes one per call, so its own retries start one job). */
  clientToken?: string;
}

/** `startActivationJob`: make archived read sets ACTIVE again. */
export interface StartActivationJobOptions {
  readSetIds: string[];
  clientToken?: string;
}

/** One read set to import from S3 (HealthOmics `StartReadSetImportJobSourceItem`). */
export interface ImportJobSource {
  sourceFiles: { source1: string; source2?: string };
  sourceFileType: SourceFileType;
  subjectId: string;
  sampleId: string;
  /** Required for BAM and CRAM. */
  referenceArn?: string;
  name?: string;
  description?: string;
  generatedFrom?: string;
  tags?: Record<string, string>;
}

/** `startImportJob`: import read sets from S3 objects (the proxy allows only its configured prefixes). */
export interface StartImportJobOptions {
  /** 1 to 100 sources. */
  sources: ImportJobSource[];
  /** Leave out: the proxy fills in its configured role. */
  roleArn?: string;
  clientToken?: string;
}

/** `waitForJob`: how to follow a job to its end. */
export interface WaitForJobOptions {
  /** Which Get*Job to poll. */
  kind: JobKind;
  /** First wait between polls (100 to 300000 ms, default 1000); each wait grows 1.5 times, to at most 30 s (or this value when larger). No polls while the tab is hidden. */
  pollIntervalMs?: number;
  /** Reject with `timeout` when the job is still running after this long (default: wait as long as it takes). */
  timeoutMs?: number;
  /** Called with every polled answer. */
  onProgress?: (job: ReadSetJob) => void;
  /** Stops waiting (rejects with `aborted`); the job itself goes on. */
  signal?: AbortSignal;
}

/** `previewReadSet` options. */
export interface PreviewOptions {
  /** FASTQ reads per source (1 to 1000, default 4). */
  maxReads?: number;
  /** A connection silent this long is dropped and tried again (default 30000). */
  stallTimeoutMs?: number;
  signal?: AbortSignal;
}

/** One FASTQ record. */
export interface FastqRead {
  name: string;
  sequence: string;
  quality: string;
}

/** The first reads of one FASTQ source. */
export interface FastqSample {
  source: PartSource;
  reads: FastqRead[];
  /** Bytes of the source (compressed, when gzip) consumed to find them. */
  compressedBytesRead: number;
  /** Whether the source is gzip-compressed. */
  gzip: boolean;
  /** True when reading on would show nothing more: `maxReads` reads were found, or the source ended. */
  complete: boolean;
  /** True when the source ended within the preview: `reads` are all the reads it has. */
  endOfData: boolean;
}

/** The SAM header of a BAM, uBAM or CRAM read set. */
export interface AlignmentHeader {
  /** BAM (also uBAM) or CRAM. */
  format: "BAM" | "CRAM";
  /** The CRAM version ("3.0", "3.1"); null for BAM. */
  version: string | null;
  /** The `@HD` line, if any. */
  hd: string | null;
  /** References: BAM's binary `n_ref` (0 for uBAM), CRAM's `@SQ` count. */
  referenceCount: number;
  /** `@SQ` lines in the header text. */
  sqLines: number;
  /** The `@RG` lines. */
  readGroups: string[];
  /** The `@PG` lines. */
  programs: string[];
  /** The `@CO` lines. */
  comments: string[];
  /** Length of the header text. */
  textBytes: number;
  /** Bytes of the file consumed to read the header. */
  compressedBytesRead: number;
  /** Inconsistencies worth showing, e.g. a BAM whose `n_ref` differs from its `@SQ` count. */
  warnings: string[];
}

/** `previewReadSet`'s answer. */
export interface ReadSetPreview {
  readSetId: string;
  fileType: SourceFileType;
  /** FASTQ: the first reads of each source (mate 1, then mate 2). */
  fastq?: FastqSample[];
  /** BAM, uBAM, CRAM: the header. */
  header?: AlignmentHeader;
  /** Compressed bytes fetched (a preview stops reading once it has what it needs). */
  bytesFetched: number;
}

/** `downloadReadSet` options. */
export interface DownloadOptions {
  /** Which file of the read set (default SOURCE1). */
  file?: "SOURCE1" | "SOURCE2" | "INDEX";
  /**
   * Where the bytes go, streaming: e.g. `await (await showSaveFilePicker()).createWritable()`.
   * It is closed at the end, aborted on failure (a file system writable then keeps nothing).
   * Without it the file is gathered into `result.blob`, refused above `maxBlobBytes`.
   */
  writable?: WritableStream<Uint8Array>;
  /** Largest file gathered into a Blob without a `writable` (default 536870912, 512 MiB). */
  maxBlobBytes?: number;
  /** A connection silent this long is dropped; the part is fetched again from where it stopped (default 30000). */
  stallTimeoutMs?: number;
  /** Compute a FASTQ source's ETag on the way and compare it with the store's (default true). */
  verifyEtag?: boolean;
  onProgress?: (p: DownloadProgress) => void;
  signal?: AbortSignal;
}

/** Download progress, at most every 100 ms. */
export interface DownloadProgress {
  bytesDownloaded: number;
  bytesTotal: number;
  partsTotal: number;
}

/** `downloadReadSet`'s answer. */
export interface DownloadResult {
  readSetId: string;
  file: "SOURCE1" | "SOURCE2" | "INDEX";
  bytes: number;
  parts: number;
  /** The file, when no `writable` was given. */
  blob?: Blob;
  /** The ETag check: `verified` with the computed `algorithm` and `hex` (equal to the store's), or why not. */
  etag: { verified: boolean; algorithm?: string; hex?: string; reason?: string };
}

/** GetSequenceStore's answer. */
export interface SequenceStoreInfo {
  id: string;
  arn?: string;
  name?: string;
  description?: string;
  eTagAlgorithmFamily?: "MD5up" | "SHA256up" | "SHA512up";
  status?: string;
  creationTime?: string;
  [field: string]: unknown;
}

/** A file's identity across reloads. */
export interface FileFingerprint { name: string; size: number; lastModified: number; edgeSha256: string; }

/** An upload saved in this browser (IndexedDB): a hint, the server's part list is the truth. */
export interface SavedUpload {
  key: string;
  endpoint: string;
  sequenceStoreId: string;
  uploadId: string;
  partSize: number;
  files: FileFingerprint[];
  name?: string;
  createdMs: number;
  /** Parts this browser saw confirmed (a hint: the server's part list decides what is sent). */
  partsConfirmed: number;
  /** Bytes of those parts. */
  bytesConfirmed: number;
  /** The signing proxy's grant for the upload, so a resume needs no look-up. */
  uploadGrant?: string;
}

/** Options of `findResumableUploads`. */
export interface FindResumableOptions { files: File[]; endpoint?: string; sequenceStoreId?: string; }

/** One entry of `listAbandonedUploads`: the server's upload fields when `onServer`. */
export interface AbandonedUpload {
  uploadId: string;
  onServer: boolean;
  local: SavedUpload | null;
  [field: string]: unknown;
}

/** Options of `abortUpload`. */
export interface AbortUploadOptions extends ConnectionOptions { uploadId: string; }

/** What `abortUpload` resolves with. */
export interface AbortUploadResult { abortedOnServer: boolean; localRecordsRemoved: number; }

/** Options of `uploadToSevenBridges` / `new SevenBridgesUploader` (Seven Bridges / CAVATICA). */
export interface SevenBridgesUploadOptions {
  /** The proxy's Seven Bridges API base, e.g. "http://127.0.0.1:8080/sbg/v2". The Seven Bridges token stays in the proxy. */
  endpoint: string;
  /** Bearer token for the proxy (its `projects` claim lists the projects you may upload into). */
  token?: string;
  /** Destination project, "owner/project". Give this or `parent`. */
  project?: string;
  /** Destination folder ID. Give this or `project`. */
  parent?: string;
  /** File name in the project. Default: `file.name`. */
  name?: string;
  /** Replace a file of the same name. Default false (the server refuses with code 8004). */
  overwrite?: boolean;
  /** The file to upload. */
  file: File;
  /** Part size asked for at init, in bytes (default 5 MiB). The server may change it; its `part_size` is used. */
  partSize?: number;
  /** Parts of this upload in flight at once, 1..32 (fewer while the service throttles). Default 4. */
  concurrency?: number;
  /** Retry policy for API calls and part uploads. An expired part URL is replaced at once, on a budget of its own. */
  retry?: RetryOptions;
  /** Resume this upload: parts the server lists as reported are not sent again. */
  uploadId?: string;
  /** `true` or `"auto"`: continue the upload saved in this browser (IndexedDB) for the same
   * file, destination and name (after a reload); the server's list of reported parts decides
   * which parts are sent. Default false. */
  resume?: boolean | "auto";
  /** Abort and retry a part attempt with no upload progress for this long (ms). Default 60000; 0 disables. */
  stallTimeoutMs?: number;
  /** Aborting the signal aborts the upload (like `abort()`). */
  signal?: AbortSignal;
  /** Same events as `UploadOptions.onProgress` (parts are all `SOURCE1`; `bytesHashed` stays 0). */
  onProgress?: (progress: UploadProgress) => void;
}

/** What a Seven Bridges upload resolves with. */
export interface SevenBridgesUploadResult {
  fileId: string;
  uploadId: string;
  /** The part size the server chose. */
  partSize: number;
  parts: number;
  /** Parts already reported when resuming (not sent again). */
  partsSkipped: number;
  bytes: number;
  /** API calls this upload made (the platform allows 1000 per 5 minutes). */
  apiCalls: number;
  /** The last `X-RateLimit-Remaining` seen, or null. */
  rateLimitRemaining: number | null;
  /** The file as the completion answered it: `{id, name, size, project, ...}`. */
  file: { id: string; name: string; size: number; project?: string; [field: string]: unknown };
}

/** `new SevenBridgesClient(options)`. */
export interface SevenBridgesClientOptions {
  /** The proxy's Seven Bridges API base, e.g. `http://127.0.0.1:8080/sbg/v2`. */
  endpoint: string;
  token?: string;
  retry?: RetryOptions;
}

/** `listFiles` / `files` options. */
export interface SevenBridgesFileListOptions {
  /** `owner/project`. */
  project: string;
  /** First item (listFiles only; default 0). */
  offset?: number;
  /** Page size, 1 to 100 (default 100). */
  limit?: number;
}

/** A file of a project (Seven Bridges shape, passed through). */
export interface SevenBridgesFile {
  id: string;
  name: string;
  size: number;
  project: string;
  type: string;
  created_on: string;
  modified_on?: string;
  href?: string;
  [field: string]: unknown;
}

/** One page of `GET /files`. */
export interface SevenBridgesFileList {
  items: SevenBridgesFile[];
  href?: string;
  links?: { href: string; rel: string; method: string }[];
  /** The next page's offset, when there is one. */
  nextToken?: string;
}

/** What `hashBlob` computes: a digest of the bytes, or a FASTQ ETag (gunzip, then hash). */
export type HashAlgorithm = "MD5" | "SHA-256" | "SHA-512" | "FASTQ_MD5up" | "FASTQ_SHA256up" | "FASTQ_SHA512up";

/** Options of `hashBlob`. */
export interface HashBlobOptions {
  /** Bytes read at once, 1 KiB..64 MiB. Default 4 MiB. */
  chunkSize?: number;
  /** Hash in a Web Worker of the pool (default true); false hashes on the calling thread. */
  inWorker?: boolean;
  /** A worker read pending this long (ms) is abandoned and restarted at the same offset (a
   * Chromium Blob read sometimes never settles). 1..3600000, default 3000; raise it for slow
   * network drives. */
  readStallMs?: number;
}

/** What `hashBlob` resolves to. */
export interface HashBlobResult {
  /** Lowercase hex digest. */
  hex: string;
  /** Whether a Web Worker computed it. */
  inWorker: boolean;
  /** Reads abandoned as stalled and restarted (0 normally). */
  readRestarts: number;
  /** Whether WebCrypto's one-shot digest computed it (SHA-256/SHA-512 of a blob of at most 8 MiB, in a worker of a secure context) rather than the streaming wasm kernel. */
  webCrypto: boolean;
  /** FASTQ ETags: bytes of uncompressed FASTQ hashed. */
  uncompressedBytes?: number;
}
