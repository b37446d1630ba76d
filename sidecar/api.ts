import { createHash, timingSafeEqual } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import { parseDuration } from './duration.js';
import { registerCommon, sendError, SERVER_OPTIONS, type Readiness } from './http-common.js';
import type { Metrics } from './metrics.js';
import type { SecretEntry, SecretStore } from './secret-store.js';

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
 * Every read is answered from memory; the only wait is a long poll on the store.
 */
export interface ApiOptions {
  store: SecretStore;
  requestToken: string;
  readiness: Readiness;
  metrics?: Metrics;
  /** upper bound for ?wait= (default 5 minutes) */
  maxWaitMs?: number;
}

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

export function buildApiApp(opts: ApiOptions): FastifyInstance {
  const app = Fastify({ ...SERVER_OPTIONS, routerOptions: { maxParamLength: 512 } });
  const expected = digest(opts.requestToken);
  const maxWaitMs = opts.maxWaitMs ?? 5 * 60_000;
  const { store, metrics } = opts;

  // First hook: a proxied request is refused before anything else looks at it.
  app.addHook('onRequest', async (request, reply) => {
    if (request.headers['x-forwarded-for'] !== undefined) {
      reply.header('Cache-Control', 'no-store');
      return sendError(reply, 400, 'forwarded_request', 'requests carrying X-Forwarded-For are refused: this API serves the pod itself only');
    }
  });
  registerCommon(app, opts.readiness, { detail: true });
  app.addHook('onRequest', async (request, reply) => {
    if (!request.url.startsWith('/v1/')) return;
    const header = request.headers.authorization;
    const m = typeof header === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
    if (!m || m[1] === undefined) {
      reply.header('WWW-Authenticate', 'Bearer');
      return sendError(reply, 401, 'unauthorized', 'missing "Authorization: Bearer <token>" (the token is in VAULT_IRSA_TOKEN_FILE)');
    }
    // Digests have equal length, so timingSafeEqual compares without leaking where they differ.
    if (!timingSafeEqual(digest(m[1]), expected)) {
      return sendError(reply, 403, 'forbidden', 'wrong request token');
    }
  });
  if (metrics) {
    app.addHook('onResponse', async (request, reply) => {
      if (request.routeOptions.url?.startsWith('/v1/secrets/')) metrics.readsServed.inc({ status: String(reply.statusCode) });
    });
  }

  app.get('/v1/secrets', async (_request, reply) =>
    reply.send({
      secrets: store.list().map((e) => ({
        name: e.name,
        path: e.path,
        version: e.version,
        updatedAt: e.updatedAt ?? null,
        stale: e.stale,
      })),
    }),
  );

  app.get<{ Params: { name: string }; Querystring: { wait?: string } }>('/v1/secrets/:name', async (request, reply) => {
    let entry = readable(store, request.params.name, reply);
    if (!entry) return reply;
    const ifNoneMatch = request.headers['if-none-match'];
    if (ifNoneMatch !== undefined && etagMatches(ifNoneMatch, entry.etag)) {
      const waitMs = waitParam(request.query.wait, maxWaitMs);
      if (waitMs === null) return sendError(reply, 400, 'bad_request', `wait: "${request.query.wait}" is not a duration (e.g. 30s)`);
      if (waitMs > 0) {
        const gone = new AbortController();
        const onClose = (): void => gone.abort();
        request.raw.once('close', onClose);
        const changed = await store.waitForChange(entry.name, entry.etag as string, waitMs, gone.signal);
        request.raw.off('close', onClose);
        if (changed) {
          entry = readable(store, request.params.name, reply);
          if (!entry) return reply;
          return sendSecret(reply, entry);
        }
      }
      return reply.code(304).header('ETag', entry.etag).send();
    }
    return sendSecret(reply, entry);
  });

  app.get<{ Params: { name: string; '*': string } }>('/v1/secrets/:name/*', async (request, reply) => {
    const entry = readable(store, request.params.name, reply);
    if (!entry) return reply;
    const key = request.params['*'];
    const data = entry.data as Record<string, unknown>;
    if (key === '' || !Object.prototype.hasOwnProperty.call(data, key)) {
      return sendError(reply, 404, 'key_not_found', `secret "${entry.name}" has no key "${key}"`);
    }
    const value = data[key];
    reply.header('ETag', entry.etag);
    if (typeof value === 'string') return reply.type('text/plain; charset=utf-8').send(value);
    return reply.type('application/json; charset=utf-8').send(JSON.stringify(value));
  });

  return app;
}

/** The entry when it has a value to serve; otherwise the error is sent and undefined returned. */
function readable(store: SecretStore, name: string, reply: FastifyReply): SecretEntry | undefined {
  const entry = store.get(name);
  if (!entry) {
    sendError(reply, 404, 'secret_not_declared', `no secret "${name}" is declared for this pod (annotation vault-irsa.io/secret-${name})`);
    return undefined;
  }
  const f = entry.failure;
  // Stale serving covers an unreachable Vault only: a secret Vault now refuses or no longer has is not served.
  if (entry.data !== undefined && (f === undefined || f.code === 'vault_unavailable')) return entry;
  if (f && f.code !== 'vault_unavailable') {
    sendError(reply, f.status, f.code, f.code === 'vault_permission_denied' ? `Vault: ${f.message}` : `secret "${name}": ${f.message}`);
  } else {
    reply.header('Retry-After', '1');
    sendError(reply, 503, 'not_ready', `secret "${name}" has not been read from Vault yet${f ? `: ${f.message}` : ''}`);
  }
  return undefined;
}

function sendSecret(reply: FastifyReply, e: SecretEntry): FastifyReply {
  return reply
    .header('ETag', e.etag)
    .type('application/json; charset=utf-8')
    .send({
      name: e.name,
      path: e.path,
      data: e.data,
      version: e.version,
      updatedAt: e.updatedAt,
      leaseDuration: e.leaseDuration,
      stale: e.stale,
    });
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

