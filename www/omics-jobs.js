// Starting read set export and activation jobs through the signing proxy.
//
// The library's SequenceStoreClient lists and gets jobs but does not start them yet, so the
// page calls the HealthOmics REST API itself (StartReadSetExportJob,
// StartReadSetActivationJob), exactly as the library would: same endpoint, bearer token and
// JSON body. When the library exposes these calls, this module can go.

/** An HTTP error of the API in the library's error shape: `{code, status, errorType, message}`. */
export class OmicsError extends Error {
  constructor(status, errorType, message) {
    super(message);
    this.name = 'ReadSetUploadError';
    this.status = status;
    this.errorType = errorType;
    this.code = status === 401 ? 'auth' : status === 403 ? 'forbidden' : status === 404 ? 'not_found'
      : status === 429 ? 'throttled' : status >= 500 ? 'server' : 'validation';
  }
}

async function call(config, method, path, body) {
  let res;
  try {
    res = await fetch(`${config.endpoint}/sequencestore/${config.sequenceStoreId}${path}`, {
      method,
      headers: { 'content-type': 'application/json', ...(config.token ? { authorization: `Bearer ${config.token}` } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (e) {
    throw Object.assign(new Error(`Could not reach the service (${e.message})`), { code: 'network' });
  }
  const answer = await res.text();
  let json = {};
  try { json = answer ? JSON.parse(answer) : {}; } catch { /* a non-JSON error body is reported by status */ }
  if (!res.ok) {
    throw new OmicsError(res.status, res.headers.get('x-amzn-errortype') ?? '', json.message ?? json.Message ?? `HTTP ${res.status}`);
  }
  return json;
}

/**
 * StartReadSetExportJob: copies read sets to `destination` (`s3://bucket/prefix`) with the
 * IAM role `roleArn` HealthOmics assumes to write there. Resolves with `{id, status, ...}`.
 */
export function startExportJob(config, { readSetIds, destination, roleArn, clientToken }) {
  return call(config, 'POST', '/exportjob', {
    destination,
    roleArn,
    sources: readSetIds.map((readSetId) => ({ readSetId })),
    ...(clientToken ? { clientToken } : {}),
  });
}

/** StartReadSetActivationJob: makes archived read sets ACTIVE again. Resolves with `{id, status, ...}`. */
export function startActivationJob(config, { readSetIds, clientToken }) {
  return call(config, 'POST', '/activationjob', {
    sources: readSetIds.map((readSetId) => ({ readSetId })),
    ...(clientToken ? { clientToken } : {}),
  });
}
