import { randomUUID } from 'node:crypto';
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { SECRET_ANNOTATION_PREFIX } from './contract/names.js';
import { parseDuration } from './duration.js';
import { answerProbe, PROBE_PATHS, refuseMethod, type Readiness } from './http-common.js';
import { accessHeaders, type AccessHeaders } from './http/access-headers.js';
import { bearerChecker, vaultTokenChecker } from './http/bearer.js';
import { checkHost } from './http/host.js';
import { HttpListener, internalError, type ListenerLimits } from './http/listener.js';
import { JSON_TYPE, send, sendError, TEXT_TYPE } from './http/reply.js';
import { parseTarget, type Target } from './http/target.js';
import type { Metrics } from './metrics.js';
import type { SecretEntry, SecretStore } from './secret-store.js';
import { STATUS_PATH, type SidecarStatus } from './status.js';
import { VERSION } from './version.js';
import { PERMISSION_DENIED, vaultErrors, vaultView, type VaultAnswer } from './vault-view.js';

/**
 * The localhost secrets API. Error codes, by status:
 *   400 bad_request            a request target that is not a plain path (absolute-form, `*`, CONNECT,
 *                              undecodable or ambiguous: `%2F`, dot segments, `//`), a malformed query
 *                              (e.g. `wait` is not a duration), an HTTP/1.1 request without Host, a
 *                              request node cannot parse, a repeated Host, Authorization or X-Vault-Token
 *   400 forwarded_request      the request carries X-Forwarded-For, Forwarded or X-Real-IP (we serve the pod itself only)
 *   400 invalid_secret_path    the declared path names no secret (e.g. a KV v2 mount itself); not retried
 *   400 vault_bad_request      Vault answered the read 400/405 or another final 4xx
 *   401 unauthorized           no `Authorization: Bearer …`
 *   403 forbidden              wrong request token
 *   403 vault_permission_denied Vault refused to read the declared secret (Vault's message)
 *   403 secret_refused         the answer held a Vault token the sidecar holds: never stored or served
 *   404 secret_not_declared    no secret of that name was declared
 *   404 key_not_found          the secret has no such key
 *   404 secret_not_found       Vault has nothing at the declared path
 *   404 not_found              no such endpoint (only after the token was checked)
 *   405 method_not_allowed     anything but GET and HEAD
 *   408 request_timeout        the request did not arrive in time
 *   421 misdirected_request    Host is not 127.0.0.1, localhost or [::1] (a DNS-rebinding page in a browser)
 *   431 headers_too_large      request line and headers over 8 KiB
 *   500 internal_error         a fault in a handler (the process goes on)
 *   502 vault_bad_response     Vault's answer to the read had no JSON or no data object
 *   503 not_ready              declared but not read yet (Vault unreachable, still logging in)
 *   503 too_many_waiters       more long polls waiting than MAX_WAITERS (Retry-After)
 *   503 shutting_down          the sidecar is stopping (Connection: close)
 *
 * Every other path under /v1/ is the Vault-shaped view (sidecar/vault-view.ts): Vault's own paths and
 * response shapes for the declared secrets, answered from memory, never forwarded. There errors are Vault's
 * `{"errors": [...]}`: a missing or wrong token is 403 `permission denied` (as Vault answers it), a path
 * that names no declared secret 403 too, a method no route takes 405.
 *
 * Deny by default: every request needs the token except the probes, /healthz and /readyz, as routed. The
 * decision is made once, on the decoded path the router then uses, before any route is looked up: a route
 * added later is covered without anyone remembering to. Methods are allowed per surface, never by default:
 * GET and HEAD on this API, and on the Vault view what each route takes (PUT/POST only for renew-self).
 * Every read is answered from memory; the only wait is a long poll on the store. A secret's JSON is
 * rendered once per change and its bytes reused.
 */
export interface ApiOptions {
  store: SecretStore;
  requestToken: string;
  readiness: Readiness;
  metrics?: Metrics;
  /** upper bound for ?wait= (default 5 minutes) */
  maxWaitMs?: number;
  /** long polls waiting at once (default MAX_WAITERS) */
  maxWaiters?: number;
  limits?: Partial<ListenerLimits>;
  /** GET /v1/status (sidecar/status.ts): names, paths, versions, times and error codes; never a value */
  status?: () => SidecarStatus;
  /** the store's clock (what is left of a lease is counted with it); Date.now by default */
  now?: () => number;
}

/** Each waiting long poll holds a connection, a request and a timer (~17 KB): 128 is ~2 MB. */
const MAX_WAITERS = 128;

/** Loopback only: the apps of one pod. Idle keep-alive connections are cheap but not free (~15 KB each). */
const API_LIMITS: ListenerLimits = {
  maxConnections: 256,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
  checkIntervalMs: 5_000,
  maxHeaderSize: 8 * 1024,
};

/** not an HTTP status: a long poll whose client left before the answer */
const GONE = 0;

/**
 * The first segments after /v1/ that are this API's own; any other /v1/ path is the Vault view. A Vault
 * mount named like one of these cannot be read through the view (its paths are this API's).
 */
const OWN_V1_ROUTES: ReadonlySet<string> = new Set(['secrets', 'status']);

export type Surface = 'probe' | 'own' | 'vault';

/** Which surface a routed path belongs to: it decides the token rule, the methods and the error shape. Pure. */
function surfaceOf(t: Target): Surface {
  if (PROBE_PATHS.has(t.path)) return 'probe';
  const s = t.segments;
  return s.length >= 2 && s[0] === 'v1' && !OWN_V1_ROUTES.has(s[1] as string) ? 'vault' : 'own';
}

/**
 * Only for the shape of a 400 when the target cannot be parsed (no surface is known then): a raw target
 * under /v1/ that does not start with an own route is answered as Vault would. Decides nothing else.
 */
function looksVaultShaped(raw: string | undefined): boolean {
  if (raw === undefined || !raw.startsWith('/v1/')) return false;
  const second = /^\/v1\/([^/?#]*)/.exec(raw)?.[1] ?? '';
  return !OWN_V1_ROUTES.has(second);
}

export function buildApiApp(opts: ApiOptions): HttpListener {
  const maxWaitMs = opts.maxWaitMs ?? 5 * 60_000;
  const maxWaiters = opts.maxWaiters ?? MAX_WAITERS;
  const { store, metrics, readiness } = opts;
  const checkBearer = bearerChecker(opts.requestToken);
  const checkVaultToken = vaultTokenChecker(opts.requestToken);
  const now = opts.now ?? Date.now;
  const startedAt = now();
  const version = VERSION;
  const served200 = metrics?.readsServed.labels({ status: '200' });
  /** long polls in flight, each with what releases it */
  const waiting = new Map<ServerResponse, AbortController>();

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const parsed = parseTarget(req.url);
    if (!parsed.ok) {
      if (looksVaultShaped(req.url)) return void vaultError(res, 400, [parsed.message]);
      return sendError(res, 400, 'bad_request', parsed.message);
    }
    const t = parsed.target;
    const counted: { secretRead: boolean } = { secretRead: isSecretRead(t) };
    let status = dispatch(req, res, t, counted);
    if (typeof status !== 'number') status = status.catch(() => internalError(res));
    // reads of one secret or key are counted by status, whatever answered them (metrics label: status)
    if (metrics === undefined || !counted.secretRead || (req.method !== 'GET' && req.method !== 'HEAD')) return;
    if (typeof status === 'number') count(status);
    else void status.then(count);
  };
  const count = (status: number): void => {
    if (status === GONE) return;
    if (status === 200 && served200) served200.inc();
    else metrics?.readsServed.inc({ status: String(status) });
  };

  /** Every check in order; returns the status it answered with. */
  function dispatch(
    req: IncomingMessage,
    res: ServerResponse,
    t: Target,
    counted: { secretRead: boolean },
  ): number | Promise<number> {
    const h = accessHeaders(req.rawHeaders);
    const surface = surfaceOf(t);
    const vault = surface === 'vault';
    const refusal = headerRefusal(h, req.httpVersion);
    if (refusal !== undefined) return fail(res, vault, ...refusal);
    if (vault) {
      // as Vault answers a missing, unknown or revoked token: 403, nothing more (hvac raises Forbidden)
      if (checkVaultToken(h.authorization, h.vaultToken) !== 'ok') return vaultError(res, 403, [PERMISSION_DENIED]);
      return answerVault(req, res, t, h, counted);
    }
    if (surface !== 'probe') {
      const auth = checkBearer(h.authorization);
      if (auth === 'missing') {
        return error(
          res,
          401,
          'unauthorized',
          'missing "Authorization: Bearer <token>" (the token is in VAULT_IRSA_TOKEN_FILE)',
          { 'www-authenticate': 'Bearer' },
        );
      }
      if (auth === 'wrong') return error(res, 403, 'forbidden', 'wrong request token');
    }
    const refused = refuseMethod(req, res);
    if (refused !== undefined) return refused;
    return route(res, t, h);
  }

  function route(res: ServerResponse, t: Target, h: AccessHeaders): number | Promise<number> {
    const s = t.segments;
    if (opts.status !== undefined && t.path === STATUS_PATH) return sendStatus(res, opts.status);
    if (s[0] === 'v1' && s[1] === 'secrets') {
      if (s.length === 2) return list(res);
      if (s.length === 3) return readSecret(res, s[2] as string, t, h);
      return readKey(res, s[2] as string, s.slice(3).join('/'));
    }
    // another own route under /v1/ goes here, with its first segment in OWN_V1_ROUTES (else it is the Vault view's)
    const probe = answerProbe(t.path, res, readiness, true);
    if (probe !== undefined) return probe;
    return error(res, 404, 'not_found', `no such endpoint: ${clip(t.path)}`);
  }

  /** The Vault view: its own method rules (deny by default per route), answered from memory. */
  function answerVault(
    req: IncomingMessage,
    res: ServerResponse,
    t: Target,
    h: AccessHeaders,
    counted: { secretRead: boolean },
  ): number {
    const answer: VaultAnswer = vaultView(
      { method: String(req.method), segments: t.segments.slice(1), query: t.query, wrapTtl: h.wrapTtl },
      { entries: store.list(), now: now(), requestId: randomUUID(), token: opts.requestToken, startedAt, version },
    );
    counted.secretRead = answer.secretRead === true;
    send(res, answer.status, answer.body, { 'content-type': JSON_TYPE, ...answer.headers });
    return answer.status;
  }

  function list(res: ServerResponse): number {
    const body = JSON.stringify({
      secrets: store.list().map((e) => ({
        name: e.name,
        path: e.path,
        version: e.version,
        updatedAt: e.updatedAt ?? null,
        stale: e.stale,
      })),
    });
    send(res, 200, body, { 'content-type': JSON_TYPE });
    return 200;
  }

  function readSecret(res: ServerResponse, name: string, t: Target, h: AccessHeaders): number | Promise<number> {
    const entry = store.get(name);
    if (entry === undefined || !servable(entry)) return refuseRead(res, name, entry);
    const ifNoneMatch = h.ifNoneMatch;
    if (ifNoneMatch === undefined || !etagMatches(ifNoneMatch, entry.etag)) return sendSecret(res, entry);
    const wait = t.query.get('wait');
    const waitMs = waitParam(wait, maxWaitMs);
    if (waitMs === null)
      return error(res, 400, 'bad_request', `wait: "${clip(wait ?? '')}" is not a duration (e.g. 30s)`);
    if (waitMs === 0) return notModified(res, entry);
    if (waiting.size >= maxWaiters) {
      return error(res, 503, 'too_many_waiters', `${maxWaiters} long polls are already waiting; retry later`, {
        'retry-after': '1',
      });
    }
    return longPoll(res, entry, waitMs);
  }

  /** Waits on the store (never on Vault) for the secret to change; 304 when the wait runs out or on shutdown. */
  async function longPoll(res: ServerResponse, entry: SecretEntry, waitMs: number): Promise<number> {
    const release = new AbortController();
    const onClose = (): void => release.abort();
    waiting.set(res, release);
    metrics?.longPolls.set(waiting.size);
    res.once('close', onClose);
    let changed: boolean;
    try {
      changed = await store.waitForChange(entry.name, entry.etag as string, waitMs, release.signal);
    } finally {
      waiting.delete(res);
      metrics?.longPolls.set(waiting.size);
      res.off('close', onClose);
    }
    // the client went away: nobody to answer (the socket is gone), nothing to count as served
    if (res.destroyed) return GONE;
    if (!changed) return notModified(res, entry);
    const now = store.get(entry.name);
    if (now === undefined || !servable(now)) return refuseRead(res, entry.name, now);
    return sendSecret(res, now);
  }

  function readKey(res: ServerResponse, name: string, key: string): number {
    const entry = store.get(name);
    if (entry === undefined || !servable(entry)) return refuseRead(res, name, entry);
    const data = entry.data as Record<string, unknown>;
    if (!Object.prototype.hasOwnProperty.call(data, key))
      return error(res, 404, 'key_not_found', `secret "${entry.name}" has no key "${clip(key)}"`);
    const value = data[key];
    const text = typeof value === 'string';
    send(res, 200, text ? value : JSON.stringify(value), {
      'content-type': text ? TEXT_TYPE : JSON_TYPE,
      etag: entry.etag,
    });
    return 200;
  }

  const app = new HttpListener(handle, { ...API_LIMITS, ...opts.limits });
  // shutdown: every waiting long poll is answered (304 with its ETag) on a connection that then closes
  app.onClose(() => {
    for (const [res, release] of waiting) {
      if (!res.headersSent) res.setHeader('connection', 'close');
      release.abort();
    }
  });
  return app;
}

/** /v1/secrets/<name> and /v1/secrets/<name>/<key>: the reads the metrics count. */
function isSecretRead(t: Target): boolean {
  const s = t.segments;
  return s.length >= 3 && s[0] === 'v1' && s[1] === 'secrets';
}

/** GET /v1/status: what `vault-irsa-sidecar status` prints; behind the token like every /v1/ path. */
function sendStatus(res: ServerResponse, status: () => SidecarStatus): number {
  send(res, 200, JSON.stringify(status()), { 'content-type': JSON_TYPE });
  return 200;
}

/**
 * What the headers alone refuse, before any token is looked at: a forwarded request, a repeated Host or
 * Authorization (node keeps the first and drops the rest: which one counts must not depend on that), a missing
 * or non-loopback Host.
 */
function headerRefusal(h: AccessHeaders, httpVersion: string): [number, string, string] | undefined {
  if (h.forwarded) {
    return [
      400,
      'forwarded_request',
      'requests carrying X-Forwarded-For, Forwarded or X-Real-IP are refused: this API serves the pod itself only',
    ];
  }
  if (h.repeated !== undefined) return [400, 'bad_request', `the ${h.repeated} header is given more than once`];
  const host = checkHost(h.host, httpVersion);
  if (host === 'missing')
    return [400, 'bad_request', 'an HTTP/1.1 request needs a Host header (127.0.0.1, localhost or [::1])'];
  if (host === 'not_loopback')
    return [421, 'misdirected_request', 'this API answers only requests for Host 127.0.0.1, localhost or [::1]'];
  return undefined;
}

/** A refusal before routing: in Vault's shape on the Vault view, in this API's shape elsewhere. */
function fail(res: ServerResponse, vault: boolean, status: number, code: string, message: string): number {
  return vault ? vaultError(res, status, [message]) : error(res, status, code, message);
}

/** An error in Vault's shape, {"errors": [...]}. */
function vaultError(res: ServerResponse, status: number, errors: string[]): number {
  const a = vaultErrors(status, errors);
  send(res, status, a.body, { 'content-type': JSON_TYPE });
  return status;
}

function error(
  res: ServerResponse,
  status: number,
  code: string,
  message: string,
  headers?: Record<string, string>,
): number {
  sendError(res, status, code, message, headers);
  return status;
}

/** Stale serving covers an unreachable Vault only: a secret Vault now refuses or no longer has is not served. */
function servable(entry: SecretEntry): boolean {
  const f = entry.failure;
  return entry.data !== undefined && entry.etag !== undefined && (f === undefined || f.code === 'vault_unavailable');
}

/** Why a secret cannot be served: not declared, refused by Vault, not at its path, or not read yet. */
function refuseRead(res: ServerResponse, name: string, entry: SecretEntry | undefined): number {
  if (entry === undefined) {
    return error(
      res,
      404,
      'secret_not_declared',
      `no secret "${clip(name)}" is declared for this pod (annotation ${SECRET_ANNOTATION_PREFIX}${clip(name)})`,
    );
  }
  const f = entry.failure;
  if (f && f.code !== 'vault_unavailable') {
    return error(
      res,
      f.status,
      f.code,
      f.code === 'vault_permission_denied' ? `Vault: ${f.message}` : `secret "${name}": ${f.message}`,
    );
  }
  return error(res, 503, 'not_ready', `secret "${name}" has not been read from Vault yet${f ? `: ${f.message}` : ''}`, {
    'retry-after': '1',
  });
}

function sendSecret(res: ServerResponse, e: SecretEntry): number {
  const r = renderSecret(e);
  send(res, 200, r.body, r.headers);
  return 200;
}

function notModified(res: ServerResponse, e: SecretEntry): number {
  send(res, 304, undefined, { etag: e.etag });
  return 304;
}

/** A secret's JSON as last rendered, with what it was rendered from: reads between changes reuse the bytes. */
interface Rendered {
  data: SecretEntry['data'];
  etag: string | undefined;
  version: number;
  updatedAt: string | undefined;
  leaseDuration: number;
  stale: boolean;
  body: Buffer;
  /** node reads a writeHead object without keeping it, and send() sets the same two keys on it every time */
  headers: OutgoingHttpHeaders;
}
const rendered = new WeakMap<SecretEntry, Rendered>();

/** The body of GET /v1/secrets/<name>, and its headers. */
function renderSecret(e: SecretEntry): Rendered {
  const r = rendered.get(e);
  if (
    r &&
    r.data === e.data &&
    r.etag === e.etag &&
    r.version === e.version &&
    r.updatedAt === e.updatedAt &&
    r.leaseDuration === e.leaseDuration &&
    r.stale === e.stale
  ) {
    return r;
  }
  const body = Buffer.from(
    JSON.stringify({
      name: e.name,
      path: e.path,
      data: e.data,
      version: e.version,
      updatedAt: e.updatedAt,
      leaseDuration: e.leaseDuration,
      stale: e.stale,
    }),
  );
  const r2: Rendered = {
    data: e.data,
    etag: e.etag,
    version: e.version,
    updatedAt: e.updatedAt,
    leaseDuration: e.leaseDuration,
    stale: e.stale,
    body,
    headers: { etag: e.etag, 'content-type': JSON_TYPE },
  };
  rendered.set(e, r2);
  return r2;
}

function etagMatches(header: string, etag: string | undefined): boolean {
  if (etag === undefined) return false;
  const values = header.split(',').map((v) => v.trim().replace(/^W\//, ''));
  return values.includes(etag) || values.includes('*');
}

/** ?wait=<duration> → ms (capped), 0 when absent, null when malformed. */
function waitParam(raw: string | undefined, maxMs: number): number | null {
  if (raw === undefined || raw === '') return 0;
  const ms = parseDuration(raw);
  if (ms === undefined) return null;
  return Math.min(ms, maxMs);
}

/** A client's own input repeated in a message, bounded. */
function clip(s: string): string {
  return s.length > 128 ? `${s.slice(0, 128)}…` : s;
}
