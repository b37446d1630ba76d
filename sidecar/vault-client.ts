import { VaultIrsaError } from './errors.js';
import { fullJitter, isRetryableStatus, parseRetryAfter, type BackoffPolicy } from './backoff.js';

/** Vault answered with a non-success status. `errors` are Vault's own messages (never carry our secrets). */
export class VaultError extends VaultIrsaError {
  override readonly name = 'VaultError';
  readonly status: number;
  readonly errors: string[];
  readonly body: unknown;
  /** from a 429/503 Retry-After header */
  retryAfterMs: number | undefined;
  constructor(operation: string, status: number, errors: string[], body: unknown) {
    super('vault_http', `Vault ${operation}: ${status}${errors.length ? ` ${errors.join('; ')}` : ''}`);
    this.status = status;
    this.errors = errors;
    this.body = body;
  }
}

/** No answer: connection refused or reset, DNS, TLS, or the per-call timeout. */
export class VaultUnreachableError extends VaultIrsaError {
  override readonly name = 'VaultUnreachableError';
  constructor(operation: string, reason: string, options?: { cause?: unknown }) {
    super('vault_unreachable', `Vault ${operation}: unreachable (${reason})`, options);
  }
}

/**
 * Vault answered 2xx with something that is not the answer this call expects (no JSON, no data where data
 * must be). The same path answers the same way next time, so callers do not retry it quickly.
 */
export class VaultBadResponseError extends VaultIrsaError {
  override readonly name = 'VaultBadResponseError';
  constructor(operation: string, what: string) {
    super('vault_bad_response', `Vault ${operation}: unexpected answer (${what})`);
  }
}

/**
 * A redirect the client does not follow: to another origin than VAULT_ADDR (the token would go there), a
 * second one in a row, or one without a usable Location. Names where it pointed, never the token.
 */
export class VaultRedirectError extends VaultIrsaError {
  override readonly name = 'VaultRedirectError';
  readonly status: number;
  constructor(operation: string, status: number, reason: string) {
    super('vault_redirect', `Vault ${operation}: ${status} redirect not followed: ${reason}`);
    this.status = status;
  }
}

export interface FetchResponseLike {
  status: number;
  headers: { get(name: string): string | null };
  text(): Promise<string>;
}
export type FetchLike = (url: string, init: Record<string, unknown>) => Promise<FetchResponseLike>;

export interface VaultClientOptions {
  addr: string;
  namespace?: string;
  /** PEM bundle from VAULT_CACERT */
  caPem?: string;
  fetch?: FetchLike;
  /** per call, redirect included (default 60 s, as Vault's own client; VAULT_IRSA_VAULT_TIMEOUT) */
  timeoutMs?: number;
  retry?: BackoffPolicy & { attempts: number };
  random?: () => number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  now?: () => number;
  /** one call per attempt: operation, outcome ("2xx", "403", "network", ...), seconds */
  observe?: (operation: string, outcome: string, seconds: number) => void;
  /** aborted at shutdown: in-flight calls and backoff sleeps end at once */
  signal?: AbortSignal;
}

export interface VaultRequest {
  token?: string;
  body?: unknown;
  /** retry network errors, 412, 429, 5xx with backoff (default true) */
  retry?: boolean;
  timeoutMs?: number;
  /** not cut short by the client's shutdown signal (the revoke on SIGTERM) */
  ignoreShutdown?: boolean;
}

export interface VaultResponse<T = unknown> {
  status: number;
  body: T;
}

const MAX_RETRY_AFTER_MS = 30_000;
const DEFAULT_VAULT_TIMEOUT_MS = 60_000;

/** Vault's standby answers 307 (and a proxy may answer 308): both keep the method and the body. */
const FOLLOWED_REDIRECTS = new Set([307, 308]);

/**
 * Where a redirect may go: one hop, to the origin the request went to (scheme, host and port), so the token
 * is never sent anywhere VAULT_ADDR does not name. Returns the URL to follow or why not. Pure.
 */
export function redirectTarget(
  from: string,
  location: string | null,
  hop: number,
): { url: string } | { refused: string } {
  if (hop > 0)
    return { refused: `a second redirect in a row${location ? ` (to ${describeLocation(from, location)})` : ''}` };
  if (location === null || location.trim() === '') return { refused: 'no Location header' };
  let to: URL;
  try {
    to = new URL(location.trim(), from);
  } catch {
    return { refused: 'Location is not a URL' };
  }
  const origin = new URL(from).origin;
  if (to.origin !== origin) return { refused: `to ${to.origin}, another origin than ${origin}` };
  return { url: to.toString() };
}

/** The origin and path a Location points at, without query or credentials (which could carry anything). */
function describeLocation(from: string, location: string): string {
  try {
    const u = new URL(location.trim(), from);
    return `${u.origin}${u.pathname}`;
  } catch {
    return 'an unparsable Location';
  }
}

/** The signal's reason as an Error (AbortSignal.abort() gives a DOMException, which is one). */
function abortReason(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new Error('aborted');
}

export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortReason(signal));
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(t);
      reject(signal ? abortReason(signal) : new Error('aborted'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * The default transport: node:http / node:https with a keep-alive agent, trusting only VAULT_CACERT when it
 * is set. Not undici's fetch: loading it and its WebAssembly HTTP parser costs the sidecar about 25 MB of
 * resident memory for the handful of requests a minute it sends to Vault. Redirects are never followed.
 */
async function defaultFetch(addr: string, caPem: string | undefined): Promise<FetchLike> {
  const tls = addr.startsWith('https:');
  const mod = tls ? await import('node:https') : await import('node:http');
  // idle connections close after 30 s (or sooner, when Vault's Keep-Alive hint says so)
  const agent = new mod.Agent({ keepAlive: true, timeout: 30_000, ...(tls && caPem ? { ca: caPem } : {}) });
  return (url, init) =>
    new Promise<FetchResponseLike>((resolve, reject) => {
      const body = init.body as string | undefined;
      const headers = { ...(init.headers as Record<string, string>) };
      if (body !== undefined) headers['Content-Length'] = String(Buffer.byteLength(body));
      const req = mod.request(
        url,
        { method: init.method as string, headers, agent, signal: init.signal as AbortSignal | undefined },
        (res) => {
          const chunks: Buffer[] = [];
          let ended = false;
          res.on('data', (c: Buffer) => chunks.push(c));
          res.once('end', () => {
            ended = true;
            const text = Buffer.concat(chunks).toString('utf8');
            resolve({
              status: res.statusCode ?? 0,
              headers: {
                get: (name) => {
                  const v = res.headers[name.toLowerCase()];
                  return v === undefined ? null : Array.isArray(v) ? v.join(', ') : v;
                },
              },
              text: () => Promise.resolve(text),
            });
          });
          res.once('error', reject);
          // the connection ended (or the call was aborted) before the whole body arrived
          res.once('close', () => {
            if (!ended) reject(Object.assign(new Error('response closed before its end'), { code: 'ECONNRESET' }));
          });
        },
      );
      req.once('error', reject);
      req.end(body);
    });
}

function errorsOf(body: unknown): string[] {
  if (body && typeof body === 'object' && Array.isArray((body as { errors?: unknown }).errors)) {
    return (body as { errors: unknown[] }).errors.map((e) => String(e));
  }
  return [];
}

/** A small Vault HTTP client: headers Vault's own client sends, timeouts on every call, bounded retries. */
export class VaultClient {
  private fetchFn: FetchLike | undefined;
  private readonly opts: Required<Pick<VaultClientOptions, 'timeoutMs' | 'retry' | 'random' | 'sleep' | 'now'>> &
    VaultClientOptions;

  constructor(options: VaultClientOptions) {
    this.fetchFn = options.fetch;
    this.opts = {
      timeoutMs: DEFAULT_VAULT_TIMEOUT_MS,
      retry: { attempts: 3, baseMs: 200, capMs: 2_000 },
      random: Math.random,
      sleep: abortableSleep,
      now: Date.now,
      ...options,
    };
  }

  async request<T = unknown>(
    operation: string,
    method: string,
    path: string,
    req: VaultRequest = {},
  ): Promise<VaultResponse<T>> {
    const fetchFn = (this.fetchFn ??= await defaultFetch(this.opts.addr, this.opts.caPem));
    const url = `${this.opts.addr}/v1/${path}`;
    const headers: Record<string, string> = { 'X-Vault-Request': 'true' };
    if (req.token !== undefined) headers['X-Vault-Token'] = req.token;
    if (this.opts.namespace !== undefined) headers['X-Vault-Namespace'] = this.opts.namespace;
    let payload: string | undefined;
    if (req.body !== undefined) {
      headers['Content-Type'] = 'application/json';
      payload = JSON.stringify(req.body);
    }
    const attempts = req.retry === false ? 1 : Math.max(1, this.opts.retry.attempts);
    let lastError: Error | undefined;
    for (let attempt = 0; attempt < attempts; attempt++) {
      if (attempt > 0) {
        const retryAfter = lastError instanceof VaultError ? lastError.retryAfterMs : undefined;
        const delay =
          retryAfter !== undefined
            ? Math.min(retryAfter, MAX_RETRY_AFTER_MS)
            : fullJitter(this.opts.retry, attempt - 1, this.opts.random);
        await this.opts.sleep(delay, this.opts.signal);
      }
      const started = this.opts.now();
      const shutdown = req.ignoreShutdown ? undefined : this.opts.signal;
      // One controller per attempt, its timer cleared and its shutdown listener removed when the attempt ends:
      // AbortSignal.timeout keeps its timer for the whole timeout (60 s by default) and AbortSignal.any leaves an
      // entry on the long-lived shutdown signal per call, which a sidecar renewing every few seconds accumulates.
      const attemptAbort = new AbortController();
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        attemptAbort.abort();
      }, req.timeoutMs ?? this.opts.timeoutMs);
      const onShutdown = (): void => attemptAbort.abort();
      if (shutdown?.aborted) attemptAbort.abort();
      else shutdown?.addEventListener('abort', onShutdown, { once: true });
      const signal = attemptAbort.signal;
      let res: FetchResponseLike;
      let text: string;
      try {
        res = await fetchFn(url, { method, headers, body: payload, signal, redirect: 'manual' });
        text = await res.text();
        // A standby (or a proxy in front of Vault) redirecting: follow it once, same origin only, within
        // this attempt's timeout, with the same method, headers (token included) and body.
        if (FOLLOWED_REDIRECTS.has(res.status)) {
          const next = redirectTarget(url, res.headers.get('location'), 0);
          if ('refused' in next) throw new VaultRedirectError(operation, res.status, next.refused);
          this.observe(operation, String(res.status), started);
          res = await fetchFn(next.url, { method, headers, body: payload, signal, redirect: 'manual' });
          text = await res.text();
          if (res.status >= 300 && res.status < 400) {
            const again = redirectTarget(next.url, res.headers.get('location'), 1);
            throw new VaultRedirectError(
              operation,
              res.status,
              'refused' in again ? again.refused : 'a second redirect in a row',
            );
          }
        }
      } catch (e) {
        if (e instanceof VaultRedirectError) {
          this.observe(operation, String(e.status), started);
          throw e;
        }
        this.observe(operation, 'network', started);
        if (shutdown?.aborted) throw new VaultUnreachableError(operation, 'shutting down', { cause: e });
        const reason = timedOut ? 'timed out' : describeNetworkError(e);
        lastError = new VaultUnreachableError(operation, reason);
        continue;
      } finally {
        clearTimeout(timer);
        shutdown?.removeEventListener('abort', onShutdown);
      }
      this.observe(operation, String(res.status), started);
      let body: unknown = null;
      if (text !== '') {
        try {
          body = JSON.parse(text);
        } catch {
          body = null;
        }
      }
      if (res.status >= 200 && res.status < 300) return { status: res.status, body: body as T };
      const err = new VaultError(operation, res.status, errorsOf(body), body);
      if (!isRetryableStatus(res.status)) throw err;
      err.retryAfterMs = parseRetryAfter(res.headers.get('retry-after'), Date.now());
      lastError = err;
    }
    throw lastError ?? new VaultUnreachableError(operation, 'no attempt made');
  }

  private observe(operation: string, outcome: string, started: number): void {
    this.opts.observe?.(operation, outcome, (this.opts.now() - started) / 1000);
  }
}

/** The cause's code (ECONNREFUSED, CERT_…), never its message, which could echo a URL or header. */
function describeNetworkError(e: unknown): string {
  const cause = (e as { cause?: { code?: unknown } })?.cause;
  const code = cause?.code ?? (e as { code?: unknown })?.code;
  return typeof code === 'string' ? code : 'network error';
}
