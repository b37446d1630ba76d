import * as crypto from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import { parseDuration } from './duration.js';
import { commonGate, registerCommon, sendError, SERVER_OPTIONS, type Gate, type Readiness } from './http-common.js';
import type { Metrics } from './metrics.js';
import type { SecretEntry, SecretStore } from './secret-store.js';
import { STATUS_PATH, type SidecarStatus } from './status.js';

/**
 * The localhost secrets API (CONTRACT §3). Error codes, by status:
 *   400 forwarded_request      the request carries X-Forwarded-For (we only serve the pod itself)
 *   400 bad_request            malformed query (e.g. `wait` is not a duration)
 *   401 unauthorized           no `Authorization: Bearer …`
 *   403 forbidden              wrong request token
 *   403 vault_permission_denied Vault refused to read the declared secret (Vault's message)
 *   404 secret_not_declared    no secret of that name was declared
 *   404 key_not_found          the secret has no such key
 *   404 secret_not_found       Vault has nothing at the declared path
 *   404 not_found              no such endpoint
 *   405 method_not_allowed     anything but GET and HEAD
 *   503 not_ready              declared but not read yet (Vault unreachable, still logging in)
 * Every read is answered from memory; the only wait is a long poll on the store. A secret's JSON is
 * rendered once per change and its bytes reused; the plain read is answered in front of fastify (below).
 */
export interface ApiOptions {
  store: SecretStore;
  requestToken: string;
  readiness: Readiness;
  metrics?: Metrics;
  /** upper bound for ?wait= (default 5 minutes) */
  maxWaitMs?: number;
  /** GET /v1/status (sidecar/status.ts): names, paths, versions, times and error codes; never a value */
  status?: () => SidecarStatus;
}

/** SHA-256 of a presented token; crypto.hash (Node >= 20.12) skips the Hash object. */
const digest: (s: string) => Buffer =
  typeof crypto.hash === 'function' ? (s) => crypto.hash('sha256', s, 'buffer') : (s) => crypto.createHash('sha256').update(s).digest();

const SECRET_PREFIX = '/v1/secrets/';
/** A declared secret's name as the fast path takes it: a DNS label, so no decoding, no `/`, no query. */
const PLAIN_NAME = /^[a-z0-9-]{1,63}$/;

export function buildApiApp(opts: ApiOptions): FastifyInstance {
  const app = Fastify({ ...SERVER_OPTIONS, routerOptions: { maxParamLength: 512 } });
  const expected = digest(opts.requestToken);
  const maxWaitMs = opts.maxWaitMs ?? 5 * 60_000;
  const { store, metrics } = opts;

  // In this order: a proxied request is refused before anything else looks at it; then GET/HEAD only and
  // no-store; then the bearer token on /v1/.
  const gate: Gate = (request, reply) => {
    if (request.headers['x-forwarded-for'] !== undefined) {
      reply.header('Cache-Control', 'no-store');
      sendError(reply, 400, 'forwarded_request', 'requests carrying X-Forwarded-For are refused: this API serves the pod itself only');
      return true;
    }
    if (commonGate(request, reply)) return true;
    if (!request.url.startsWith('/v1/')) return false;
    const header = request.headers.authorization;
    const m = typeof header === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
    if (!m || m[1] === undefined) {
      reply.header('WWW-Authenticate', 'Bearer');
      sendError(reply, 401, 'unauthorized', 'missing "Authorization: Bearer <token>" (the token is in VAULT_IRSA_TOKEN_FILE)');
      return true;
    }
    // Digests have equal length, so timingSafeEqual compares without leaking where they differ.
    if (!crypto.timingSafeEqual(digest(m[1]), expected)) {
      sendError(reply, 403, 'forbidden', 'wrong request token');
      return true;
    }
    return false;
  };
  registerCommon(app, opts.readiness, { detail: true, gate });
  if (metrics) {
    app.addHook('onResponse', (request, reply, done) => {
      if (request.routeOptions.url?.startsWith(SECRET_PREFIX)) metrics.readsServed.inc({ status: String(reply.statusCode) });
      done();
    });
  }

  // Handlers answer synchronously from memory; only a long poll returns a promise.
  const status = opts.status;
  if (status) app.get(STATUS_PATH, (_request, reply) => void reply.send(status()));
  app.get('/v1/secrets', (_request, reply) => {
    reply.send({
      secrets: store.list().map((e) => ({
        name: e.name,
        path: e.path,
        version: e.version,
        updatedAt: e.updatedAt ?? null,
        stale: e.stale,
      })),
    });
  });

  app.get<{ Params: { name: string }; Querystring: { wait?: string } }>('/v1/secrets/:name', (request, reply) => {
    const entry = readable(store, request.params.name, reply);
    if (!entry) return;
    const ifNoneMatch = request.headers['if-none-match'];
    if (ifNoneMatch === undefined || !etagMatches(ifNoneMatch, entry.etag)) {
      sendSecret(reply, entry);
      return;
    }
    const waitMs = waitParam(request.query.wait, maxWaitMs);
    if (waitMs === null) {
      sendError(reply, 400, 'bad_request', `wait: "${request.query.wait}" is not a duration (e.g. 30s)`);
      return;
    }
    if (waitMs === 0) {
      reply.code(304).header('ETag', entry.etag).send();
      return;
    }
    return longPoll(request.raw, reply, entry, waitMs);
  });

  /** Waits on the store (never on Vault) for the secret to change; 304 when the wait runs out. */
  async function longPoll(raw: IncomingMessage, reply: FastifyReply, entry: SecretEntry, waitMs: number): Promise<void> {
    const gone = new AbortController();
    const onClose = (): void => gone.abort();
    raw.once('close', onClose);
    const changed = await store.waitForChange(entry.name, entry.etag as string, waitMs, gone.signal);
    raw.off('close', onClose);
    if (!changed) {
      reply.code(304).header('ETag', entry.etag).send();
      return;
    }
    const now = readable(store, entry.name, reply);
    if (now) sendSecret(reply, now);
  }

  app.get<{ Params: { name: string; '*': string } }>('/v1/secrets/:name/*', (request, reply) => {
    const entry = readable(store, request.params.name, reply);
    if (!entry) return;
    const key = request.params['*'];
    const data = entry.data as Record<string, unknown>;
    if (key === '' || !Object.prototype.hasOwnProperty.call(data, key)) {
      sendError(reply, 404, 'key_not_found', `secret "${entry.name}" has no key "${key}"`);
      return;
    }
    const value = data[key];
    reply.header('ETag', entry.etag);
    if (typeof value === 'string') reply.type('text/plain; charset=utf-8').send(value);
    else reply.type('application/json; charset=utf-8').send(JSON.stringify(value));
  });

  installFastRead(app, store, opts.requestToken, metrics);
  return app;
}

/**
 * The hot path: `GET /v1/secrets/<name>` in its plain form (canonical `Authorization: Bearer <token>`, no
 * query, no If-None-Match, no X-Forwarded-For, a secret that can be served) is answered in front of fastify
 * with the pre-rendered bytes and the same status and headers fastify would send (no-store, ETag,
 * Content-Type, Content-Length). Every other request, including every error and a token in any other
 * spelling, goes to fastify unchanged. Reads per second were less than half a bare node:http server's
 * through fastify's routing, hooks and reply; on this path they come close to it.
 *
 * The token check compares the whole header with timingSafeEqual when the lengths match (the length is
 * the same for every pod, 43 base64url characters, so comparing it first reveals nothing); any mismatch
 * falls through to fastify's digest comparison and its 401/403.
 */
function installFastRead(app: FastifyInstance, store: SecretStore, requestToken: string, metrics: Metrics | undefined): void {
  const server = app.server;
  const listeners = server.listeners('request');
  const fastify = listeners[0] as ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
  // anything but fastify's one request listener: leave the server as it is
  if (listeners.length !== 1 || fastify === undefined) return;
  const expectedHeader = Buffer.from(`Bearer ${requestToken}`, 'latin1');
  let closing = false;
  app.addHook('preClose', (done) => {
    // fastify answers 503 (Connection: close) from here on; let it
    closing = true;
    done();
  });
  const served = metrics?.readsServed.labels({ status: '200' });

  server.removeListener('request', fastify);
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const url = req.url;
    if (closing || req.method !== 'GET' || url === undefined || !url.startsWith(SECRET_PREFIX)) return fastify(req, res);
    const name = url.slice(SECRET_PREFIX.length);
    if (!PLAIN_NAME.test(name)) return fastify(req, res);
    const h = req.headers;
    if (h['x-forwarded-for'] !== undefined || h['if-none-match'] !== undefined) return fastify(req, res);
    const auth = h.authorization;
    if (auth === undefined || auth.length !== expectedHeader.length || !crypto.timingSafeEqual(Buffer.from(auth, 'latin1'), expectedHeader)) {
      return fastify(req, res);
    }
    const entry = store.get(name);
    if (entry === undefined || entry.etag === undefined || !servable(entry)) return fastify(req, res);
    const body = renderSecret(entry);
    res.writeHead(200, {
      'cache-control': 'no-store',
      etag: entry.etag,
      'content-type': 'application/json; charset=utf-8',
      'content-length': String(body.length),
    });
    res.end(body);
    served?.inc();
  });
}

/** Stale serving covers an unreachable Vault only: a secret Vault now refuses or no longer has is not served. */
function servable(entry: SecretEntry): boolean {
  const f = entry.failure;
  return entry.data !== undefined && (f === undefined || f.code === 'vault_unavailable');
}

/** The entry when it has a value to serve; otherwise the error is sent and undefined returned. */
function readable(store: SecretStore, name: string, reply: FastifyReply): SecretEntry | undefined {
  const entry = store.get(name);
  if (!entry) {
    sendError(reply, 404, 'secret_not_declared', `no secret "${name}" is declared for this pod (annotation vault-irsa.io/secret-${name})`);
    return undefined;
  }
  if (servable(entry)) return entry;
  const f = entry.failure;
  if (f && f.code !== 'vault_unavailable') {
    sendError(reply, f.status, f.code, f.code === 'vault_permission_denied' ? `Vault: ${f.message}` : `secret "${name}": ${f.message}`);
  } else {
    reply.header('Retry-After', '1');
    sendError(reply, 503, 'not_ready', `secret "${name}" has not been read from Vault yet${f ? `: ${f.message}` : ''}`);
  }
  return undefined;
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
}
const rendered = new WeakMap<SecretEntry, Rendered>();

/** The body of GET /v1/secrets/<name>: what JSON.stringify (fastify's default serializer) makes of it. */
function renderSecret(e: SecretEntry): Buffer {
  const r = rendered.get(e);
  if (r && r.data === e.data && r.etag === e.etag && r.version === e.version && r.updatedAt === e.updatedAt && r.leaseDuration === e.leaseDuration && r.stale === e.stale) {
    return r.body;
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
  rendered.set(e, { data: e.data, etag: e.etag, version: e.version, updatedAt: e.updatedAt, leaseDuration: e.leaseDuration, stale: e.stale, body });
  return body;
}

function sendSecret(reply: FastifyReply, e: SecretEntry): void {
  reply.header('ETag', e.etag).type('application/json; charset=utf-8').send(renderSecret(e));
}

function etagMatches(header: string | string[], etag: string | undefined): boolean {
  if (etag === undefined) return false;
  const values = (Array.isArray(header) ? header.join(',') : header).split(',').map((v) => v.trim().replace(/^W\//, ''));
  return values.includes(etag) || values.includes('*');
}

/** ?wait=<duration> → ms (capped), 0 when absent, null when malformed. */
function waitParam(raw: string | undefined, maxMs: number): number | null {
  if (raw === undefined || raw === '') return 0;
  const ms = parseDuration(raw);
  if (ms === undefined) return null;
  return Math.min(ms, maxMs);
}

