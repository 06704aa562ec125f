// The two pieces of the viewer (viewer.rs) that are plain browser plumbing: an async iterable
// over a paginated listing, and a streamed `fetch` of a binary answer (GetReadSet parts).
// Retries, errors, parsing and hashing stay in Rust.

/** `for await (const item of pages(fetchPage, key))`: `fetchPage(token)` resolves with one
 *  page (`token` undefined for the first); its `key` array is yielded item by item, then the
 *  next page is fetched while the answer names a `nextToken`. Each `for await` starts again
 *  from the first page. `fetchPage(token, true)` is asked for a token the loop already
 *  followed, and rejects, so the loop ends. */
export function pages(fetchPage, key) {
  return {
    async *[Symbol.asyncIterator]() {
      const seen = new Set(); // this loop's tokens: loops over one iterable do not share them
      let token;
      do {
        // A token this loop already followed: `fetchPage` rejects with the library's error.
        const page = await fetchPage(token, seen.has(token));
        seen.add(token);
        for (const item of page?.[key] ?? []) yield item;
        token = page?.nextToken ?? undefined;
      } while (token !== undefined && token !== '');
    },
  };
}

/** GETs `url` with `headers` and streams a 2xx body to `onChunk(Uint8Array)`, which returns
 *  false to stop reading (the request is cancelled), or a promise (awaited before the next
 *  read: a sink's backpressure) resolving to the same. No chunk for `stallMs` cancels the request too. Resolves with
 *  `{status, errorType, retryAfter, text, stalled, stopped, sinkError?}`: `text` is the body of
 *  a non-2xx answer, `sinkError` the reason a write promise of `onChunk` was rejected. Rejects (TypeError) only when no answer came: offline, refused, CORS, or `signal`.
 *  When `onChunk` throws, the request is cancelled and the error rethrown. */
export async function fetchChunks(url, headers, onChunk, stallMs, signal) {
  const ctl = new AbortController();
  const onAbort = () => ctl.abort();
  if (signal) {
    if (signal.aborted) ctl.abort();
    else signal.addEventListener('abort', onAbort, { once: true });
  }
  let last = performance.now();
  let stalled = false;
  const dog = setInterval(() => {
    if (performance.now() - last > stallMs) {
      stalled = true;
      ctl.abort();
    }
  }, Math.min(1000, stallMs));
  try {
    let res;
    try {
      res = await fetch(url, { headers, signal: ctl.signal, cache: 'no-store' });
    } catch (e) {
      if (stalled) return { status: 0, stalled: true, stopped: false };
      throw e;
    }
    const answer = { status: res.status, errorType: res.headers.get('x-amzn-errortype'), retryAfter: res.headers.get('retry-after'), text: '', stalled: false, stopped: false };
    if (!res.ok) {
      answer.text = await res.text();
      return answer;
    }
    const reader = res.body.getReader();
    try {
      for (;;) {
        last = performance.now();
        let r;
        try {
          r = await reader.read();
        } catch (e) {
          if (stalled) return { ...answer, stalled: true };
          throw e;
        }
        if (r.done) return answer;
        let go = onChunk(r.value);
        if (go && typeof go.then === 'function') {
          // A write to a sink: its backpressure. A slow disk is not a stalled connection: the
          // watchdog waits. A refused write is the sink's failure, not the network's: reported
          // apart, so it is not retried.
          last = Infinity;
          try {
            go = await go;
          } catch (e) {
            return { ...answer, sinkError: String(e?.message ?? e) };
          }
        }
        last = performance.now();
        if (go === false) {
          answer.stopped = true;
          return answer;
        }
      }
    } finally {
      reader.cancel().catch(() => {});
    }
  } finally {
    clearInterval(dog);
    if (signal) signal.removeEventListener('abort', onAbort);
    ctl.abort();
  }
}
