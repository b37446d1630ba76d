import { buildApiApp } from '../../../sidecar/api.js';
import { buildHealthApp } from '../../../sidecar/health.js';
import type { HttpListener } from '../../../sidecar/http/listener.js';
import { Metrics } from '../../../sidecar/metrics.js';
import { SecretStore } from '../../../sidecar/secret-store.js';

const TOKEN = 'request-token-0123456789abcdef';
const auth = { authorization: `Bearer ${TOKEN}` };

function setup() {
  const store = new SecretStore([
    { name: 'db', path: 'database/creds/app' },
    { name: 'cfg', path: 'secret/my-app' },
    { name: 'denied', path: 'secret/other' },
    { name: 'missing', path: 'secret/nothing' },
    { name: 'pending', path: 'secret/later' },
  ]);
  store.update('db', { data: { username: 'u1', password: 'p1' }, version: 0, leaseDuration: 60 });
  store.update('cfg', { data: { api_key: 'k1', port: 5432, nested: { a: 1 } }, version: 4, leaseDuration: 0 });
  store.fail('denied', {
    code: 'vault_permission_denied',
    status: 403,
    message: '1 error occurred: permission denied',
  });
  store.fail('missing', { code: 'secret_not_found', status: 404, message: 'Vault has no secret at this path' });
  store.fail('pending', { code: 'vault_unavailable', status: 503, message: 'Vault read: unreachable (ECONNREFUSED)' });
  const readiness = { notReadyReasons: (detail: boolean) => store.notReadyReasons(detail) };
  const metrics = new Metrics({ defaultMetrics: false });
  const app = buildApiApp({ store, requestToken: TOKEN, readiness, metrics, maxWaitMs: 2000 });
  return { store, app, metrics };
}

interface Res {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
  json(): any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/** Over a real socket, the way an app calls it. */
async function call(
  a: HttpListener,
  opts: { method?: string; url: string; headers?: Record<string, string>; payload?: unknown },
): Promise<Res> {
  if (!a.server.listening) await a.listen({ host: '127.0.0.1', port: 0 });
  const addr = a.server.address() as { port: number };
  const headers: Record<string, string> = { ...(opts.headers ?? {}) };
  let body: string | undefined;
  if (opts.payload !== undefined) {
    body = JSON.stringify(opts.payload);
    headers['content-type'] = 'application/json';
  }
  const r = await fetch(`http://127.0.0.1:${addr.port}${opts.url}`, { method: opts.method ?? 'GET', headers, body });
  const text = await r.text();
  const h: Record<string, string> = {};
  r.headers.forEach((v, k) => (h[k] = v));
  return { statusCode: r.status, headers: h, body: text, json: () => JSON.parse(text) };
}

let ctx: ReturnType<typeof setup>;
let app: { inject: (o: Parameters<typeof call>[1]) => Promise<Res> };
beforeEach(() => {
  ctx = setup();
  app = { inject: (o) => call(ctx.app, o) };
});
afterEach(async () => {
  ctx.store.close();
  await ctx.app.close();
});

describe('localhost API: access control', () => {
  it('401 without a token, 403 with a wrong one, both as error JSON with no-store', async () => {
    const none = await app.inject({ url: '/v1/secrets' });
    expect(none.statusCode).toBe(401);
    expect(none.json()).toEqual({ error: { code: 'unauthorized', message: expect.any(String) } });
    expect(none.headers['cache-control']).toBe('no-store');
    const basic = await app.inject({ url: '/v1/secrets', headers: { authorization: `Basic ${TOKEN}` } });
    expect(basic.statusCode).toBe(401);
    const wrong = await app.inject({ url: '/v1/secrets', headers: { authorization: 'Bearer nope' } });
    expect(wrong.statusCode).toBe(403);
    expect(wrong.json().error.code).toBe('forbidden');
    const prefix = await app.inject({ url: '/v1/secrets', headers: { authorization: `Bearer ${TOKEN.slice(0, -1)}` } });
    expect(prefix.statusCode).toBe(403);
  });

  it('400 for X-Forwarded-For, even with a good token and on /healthz', async () => {
    for (const url of ['/v1/secrets/db', '/healthz']) {
      const r = await app.inject({ url, headers: { ...auth, 'x-forwarded-for': '10.0.0.1' } });
      expect(r.statusCode).toBe(400);
      expect(r.json().error.code).toBe('forwarded_request');
      expect(r.body).not.toContain('p1');
    }
  });

  it('405 for anything but GET and HEAD', async () => {
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH'] as const) {
      const r = await app.inject({ method, url: '/v1/secrets/db', headers: auth, payload: {} });
      expect(r.statusCode).toBe(405);
      expect(r.headers.allow).toBe('GET, HEAD');
      expect(r.json().error.code).toBe('method_not_allowed');
    }
  });
});

describe('localhost API: reads', () => {
  it('lists names and freshness, never values', async () => {
    const r = await app.inject({ url: '/v1/secrets', headers: auth });
    expect(r.statusCode).toBe(200);
    expect(r.headers['cache-control']).toBe('no-store');
    const body = r.json();
    expect(body.secrets).toHaveLength(5);
    expect(body.secrets[1]).toEqual({
      name: 'cfg',
      path: 'secret/my-app',
      version: 4,
      updatedAt: expect.any(String),
      stale: false,
    });
    expect(r.body).not.toMatch(/p1|k1|u1/);
  });

  it('serves a secret with its ETag', async () => {
    const r = await app.inject({ url: '/v1/secrets/cfg', headers: auth });
    expect(r.statusCode).toBe(200);
    expect(r.headers.etag).toBe(ctx.store.get('cfg')?.etag);
    expect(r.json()).toEqual({
      name: 'cfg',
      path: 'secret/my-app',
      data: { api_key: 'k1', port: 5432, nested: { a: 1 } },
      version: 4,
      updatedAt: expect.any(String),
      leaseDuration: 0,
      stale: false,
    });
    const head = await app.inject({ method: 'HEAD', url: '/v1/secrets/cfg', headers: auth });
    expect(head.statusCode).toBe(200);
    expect(head.body).toBe('');
  });

  it('serves one key as text/plain, JSON for non-strings', async () => {
    const s = await app.inject({ url: '/v1/secrets/db/password', headers: auth });
    expect(s.statusCode).toBe(200);
    expect(s.headers['content-type']).toMatch(/^text\/plain/);
    expect(s.body).toBe('p1');
    const n = await app.inject({ url: '/v1/secrets/cfg/port', headers: auth });
    expect(n.headers['content-type']).toMatch(/^application\/json/);
    expect(n.body).toBe('5432');
    const o = await app.inject({ url: '/v1/secrets/cfg/nested', headers: auth });
    expect(JSON.parse(o.body)).toEqual({ a: 1 });
    const k = await app.inject({ url: '/v1/secrets/db/nope', headers: auth });
    expect(k.statusCode).toBe(404);
    expect(k.json().error.code).toBe('key_not_found');
  });

  it.each([
    ['nothere', 404, 'secret_not_declared'],
    ['denied', 403, 'vault_permission_denied'],
    ['missing', 404, 'secret_not_found'],
    ['pending', 503, 'not_ready'],
  ])('%s → %d %s', async (name, status, code) => {
    const r = await app.inject({ url: `/v1/secrets/${name}`, headers: auth });
    expect(r.statusCode).toBe(status);
    expect(r.json().error.code).toBe(code);
    expect(r.headers['cache-control']).toBe('no-store');
    const k = await app.inject({ url: `/v1/secrets/${name}/key`, headers: auth });
    expect(k.statusCode).toBe(status);
  });

  it("passes Vault's message on for a permission denial", async () => {
    const r = await app.inject({ url: '/v1/secrets/denied', headers: auth });
    expect(r.json().error.message).toContain('permission denied');
  });

  it('serves the last value as stale after a failed refresh', async () => {
    ctx.store.fail('cfg', { code: 'vault_unavailable', status: 503, message: 'down' });
    const r = await app.inject({ url: '/v1/secrets/cfg', headers: auth });
    expect(r.statusCode).toBe(200);
    expect(r.json()).toMatchObject({ stale: true, data: { api_key: 'k1' } });
  });

  it('counts reads in metrics', async () => {
    await app.inject({ url: '/v1/secrets/cfg', headers: auth });
    await app.inject({ url: '/v1/secrets/nothere', headers: auth });
    const text = await ctx.metrics.registry.metrics();
    expect(text).toContain('vault_irsa_secret_reads_total{status="200"} 1');
    expect(text).toContain('vault_irsa_secret_reads_total{status="404"} 1');
  });
});

describe('localhost API: conditional GET and long poll', () => {
  it('304 at once for a matching If-None-Match without wait', async () => {
    const etag = ctx.store.get('cfg')?.etag as string;
    const r = await app.inject({ url: '/v1/secrets/cfg', headers: { ...auth, 'if-none-match': etag } });
    expect(r.statusCode).toBe(304);
    const other = await app.inject({ url: '/v1/secrets/cfg', headers: { ...auth, 'if-none-match': '"old"' } });
    expect(other.statusCode).toBe(200);
  });

  it('304 when wait runs out', async () => {
    const etag = ctx.store.get('cfg')?.etag as string;
    const r = await app.inject({ url: '/v1/secrets/cfg?wait=100ms', headers: { ...auth, 'if-none-match': etag } });
    expect(r.statusCode).toBe(304);
    expect(r.headers.etag).toBe(etag);
  });

  it('answers as soon as the secret changes', async () => {
    const etag = ctx.store.get('cfg')?.etag as string;
    const pending = app.inject({ url: '/v1/secrets/cfg?wait=60s', headers: { ...auth, 'if-none-match': etag } });
    await new Promise((r) => setTimeout(r, 50));
    ctx.store.update('cfg', { data: { api_key: 'k2' }, version: 5, leaseDuration: 0 });
    const r = await pending;
    expect(r.statusCode).toBe(200);
    expect(r.json()).toMatchObject({ data: { api_key: 'k2' }, version: 5 });
    expect(r.headers.etag).not.toBe(etag);
  });

  it('400 for a malformed wait', async () => {
    const etag = ctx.store.get('cfg')?.etag as string;
    const r = await app.inject({ url: '/v1/secrets/cfg?wait=forever', headers: { ...auth, 'if-none-match': etag } });
    expect(r.statusCode).toBe(400);
    expect(r.json().error.code).toBe('bad_request');
  });
});

describe('probes', () => {
  it('/healthz 200 and /readyz 503 with the reason, no auth, on both listeners, no paths or values', async () => {
    const health = buildHealthApp({
      readiness: { notReadyReasons: (detail) => ctx.store.notReadyReasons(detail) },
      metrics: ctx.metrics,
    });
    try {
      const h = { inject: (o: Parameters<typeof call>[1]) => call(health, o) };
      for (const a of [app, h]) {
        expect((await a.inject({ url: '/healthz' })).statusCode).toBe(200);
        const r = await a.inject({ url: '/readyz' });
        expect(r.statusCode).toBe(503);
        expect(r.json().error.code).toBe('not_ready');
        expect(r.body).not.toContain('secret/other');
      }
      // Vault's own message (which can name the path) on loopback only; the pod IP gets the code
      expect((await app.inject({ url: '/readyz' })).json().error.message).toContain(
        'secret "denied": 1 error occurred: permission denied',
      );
      const onPodIp = (await h.inject({ url: '/readyz' })).json().error.message;
      expect(onPodIp).toContain('secret "denied": vault_permission_denied');
      expect(onPodIp).not.toContain('1 error occurred');
      expect((await h.inject({ url: '/v1/secrets/cfg', headers: auth })).statusCode).toBe(404);
      expect((await h.inject({ url: '/v1/secrets', headers: auth })).body).not.toContain('k1');
      const m = await h.inject({ url: '/metrics' });
      expect(m.statusCode).toBe(200);
      expect(m.body).toContain('vault_irsa_logins_total');
      expect(m.body).not.toMatch(/k1|p1/);
      for (const n of ['denied', 'missing', 'pending'])
        ctx.store.update(n, { data: { x: 'y' }, version: 0, leaseDuration: 0 });
      expect((await h.inject({ url: '/readyz' })).statusCode).toBe(200);
    } finally {
      await health.close();
    }
  });
});

describe('after a good read', () => {
  it('a secret Vault now refuses or no longer has is not served stale: 403 / 404 with the reason', async () => {
    ctx.store.fail('cfg', {
      code: 'vault_permission_denied',
      status: 403,
      message: '1 error occurred: permission denied',
    });
    const denied = await app.inject({ url: '/v1/secrets/cfg', headers: auth });
    expect(denied.statusCode).toBe(403);
    expect(denied.json().error.code).toBe('vault_permission_denied');
    expect(denied.body).not.toContain('k1');
    expect((await app.inject({ url: '/v1/secrets/cfg/api_key', headers: auth })).statusCode).toBe(403);
    ctx.store.fail('cfg', { code: 'secret_not_found', status: 404, message: 'Vault has no secret at this path' });
    expect((await app.inject({ url: '/v1/secrets/cfg', headers: auth })).json().error.code).toBe('secret_not_found');
    // an unreachable Vault is the case for stale serving
    ctx.store.fail('cfg', {
      code: 'vault_unavailable',
      status: 503,
      message: 'Vault read: unreachable (ECONNREFUSED)',
    });
    expect((await app.inject({ url: '/v1/secrets/cfg', headers: auth })).json()).toMatchObject({
      stale: true,
      data: { api_key: 'k1' },
    });
  });
});

describe('malformed requests', () => {
  it('a URL that cannot be decoded gets the contract error shape and no-store', async () => {
    const r = await app.inject({ url: '/v1/secrets/%E0%A4%A', headers: auth });
    expect(r.statusCode).toBe(400);
    expect(r.headers['cache-control']).toBe('no-store');
    expect(r.json()).toEqual({ error: { code: 'bad_request', message: 'malformed request URL' } });
  });
});
