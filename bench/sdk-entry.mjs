// Bundled for the browser by run.mjs with esbuild: what a portal would write instead of this
// library (the official HealthOmics client, SigV4 straight to the store).
export { OmicsClient, CreateMultipartReadSetUploadCommand, UploadReadSetPartCommand, AbortMultipartReadSetUploadCommand } from '@aws-sdk/client-omics';
