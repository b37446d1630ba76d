/**
 * What the node:http layer answers itself or before any route: proxies' headers, Host, HTTP/1.0, what node
 * cannot parse, CONNECT, the long-poll cap, shutdown. Over raw TCP, against real listeners.
 */
import { request as httpRequest, Agent } from 'node:http';
import { connect } from 'node:net';
import { buildApiApp } from '../../../sidecar/api.js';
import { buildHealthApp } from '../../../sidecar/health.js';
import type { HttpListener } from '../../../sidecar/http/listener.js';
import { Metrics } from '../../../sidecar/metrics.js';
import { SecretStore } from '../../../sidecar/secret-store.js';
import { parseAnswer, rawRequest, requestBytes } from './raw-http.js';

const TOKEN = 'Zm9vYmFyYmF6cXV4MDEyMzQ1Njc4OWFiY2RlZmdoaWo';
const AUTH: [string, string] = ['Authorization', `Bearer ${TOKEN}`];
const CLOSE: [string, string] = ['Connection', 'close'];

let store: SecretStore;
let metrics: Metrics;
let api: HttpListener;
let port: number;

async function start(opts: Partial<Parameters<typeof buildApiApp>[0]> = {}): Promise<void> {
  store = new SecretStore([{ name: 'db', path: 'secret/db' }]);
  store.update('db', { data: { password: 'p1-planted' }, version: 1, leaseDuration: 0 });
  metrics = new Metrics({ defaultMetrics: false });
  api = buildApiApp({ store, requestToken: TOKEN, readiness: { notReadyReasons: () => [] }, metrics, ...opts });
  await api.listen({ host: '127.0.0.1', port: 0 });
  port = (api.server.address() as { port: number }).port;
}
afterEach(async () => {
  store.close();
  await api.close();
});

const get = (target: string, headers: Array<[string, string | undefined]>) =>
  rawRequest(port, requestBytes('GET', target, [...headers, CLOSE]));
const json = (body: string) => JSON.parse(body) as { error: { code: string; message: string } };

describe('before any route', () => {
  beforeEach(() => start());

  it.each(['X-Forwarded-For', 'Forwarded', 'X-Real-IP', 'x-real-ip'])(
    '400 forwarded_request for %s, even with the token and on /healthz',
    async (name) => {
      for (const target of ['/v1/secrets/db', '/healthz']) {
        const r = await get(target, [['Host', '127.0.0.1'], AUTH, [name, 'for=10.0.0.1']]);
        expect(r.status).toBe(400);
        expect(json(r.body).error.code).toBe('forwarded_request');
        expect(r.raw).not.toContain('p1-planted');
      }
    },
  );

  it('a forwarded header past the 1000th header is still refused (node stops filling req.headers there)', async () => {
    const fillers = Array.from({ length: 998 }, (): [string, string] => ['a', '']);
    const r = await get('/v1/secrets/db', [['Host', '127.0.0.1'], AUTH, ...fillers, ['X-Forwarded-For', '10.0.0.1']]);
    expect(r.status).toBe(400);
    expect(json(r.body).error.code).toBe('forwarded_request');
    expect(r.raw).not.toContain('p1-planted');
  });

  it('421 for a Host that is not loopback by name, before the token is looked at', async () => {
    for (const host of ['rebind.example', 'rebind.example:8765', '127.0.0.2', 'localhost.']) {
      const r = await get('/v1/secrets/db', [['Host', host], AUTH]);
      expect(r.status).toBe(421);
      expect(r.headers['cache-control']).toBe('no-store');
      expect(json(r.body).error.code).toBe('misdirected_request');
      expect(r.raw).not.toContain('p1-planted');
    }
    // probes too: a rebinding page learns nothing
    expect((await get('/readyz', [['Host', 'rebind.example']])).status).toBe(421);
    for (const host of ['127.0.0.1', `127.0.0.1:${port}`, 'localhost', `LOCALHOST:${port}`, '[::1]', `[::1]:${port}`]) {
      expect((await get('/v1/secrets/db/password', [['Host', host], AUTH])).body).toBe('p1-planted');
    }
  });

  it('400 for a repeated Host, Authorization or X-Vault-Token, whichever copy is right', async () => {
    const h: [string, string] = ['Host', '127.0.0.1'];
    const wrong: [string, string] = ['Authorization', 'Bearer wrong'];
    const cases: Array<Array<[string, string]>> = [
      [h, AUTH, wrong],
      [h, wrong, AUTH],
      [h, AUTH, AUTH],
      [h, ['Host', 'rebind.example'], AUTH],
      [['Host', 'rebind.example'], h, AUTH],
      [h, AUTH, ['X-Vault-Token', TOKEN], ['X-Vault-Token', 'wrong']],
    ];
    for (const headers of cases) {
      for (const target of ['/v1/secrets/db/password', '/v1/secret/data/db']) {
        const r = await get(target, headers);
        expect(r.status).toBe(400);
        expect(r.raw).not.toContain('p1-planted');
      }
    }
    expect(json((await get('/v1/secrets/db', [h, AUTH, wrong])).body).error.message).toContain(
      'authorization header is given more than once',
    );
  });

  it('HTTP/1.0 without Host is served; HTTP/1.1 without Host is 400', async () => {
    const r10 = await rawRequest(
      port,
      `GET /v1/secrets/db/password HTTP/1.0\r\nAuthorization: Bearer ${TOKEN}\r\n\r\n`,
    );
    expect(r10.status).toBe(200);
    expect(r10.body).toBe('p1-planted');
    const r11 = await rawRequest(
      port,
      `GET /v1/secrets/db/password HTTP/1.1\r\nAuthorization: Bearer ${TOKEN}\r\nConnection: close\r\n\r\n`,
    );
    expect(r11.status).toBe(400);
    expect(json(r11.body).error.message).toContain('Host');
  });

  it('deny by default: an unknown path needs the token first (401/403), then 404 not_found', async () => {
    const h: [string, string] = ['Host', '127.0.0.1'];
    expect((await get('/nothing', [h])).status).toBe(401);
    expect((await get('/HEALTHZ', [h])).status).toBe(401);
    expect((await get('/v1/status', [h])).status).toBe(401);
    expect((await get('/nothing', [h, ['Authorization', 'Bearer x']])).status).toBe(403);
    const known = await get('/nothing', [h, AUTH]);
    expect(known.status).toBe(404);
    expect(json(known.body).error.code).toBe('not_found');
    // the probes as routed, however spelled
    expect((await get('/%68ealthz', [h])).status).toBe(200);
    expect((await get('/readyz?x=1', [h])).status).toBe(200);
    // 405 only after the token, except on the probes
    expect((await rawRequest(port, requestBytes('POST', '/v1/secrets/db', [h, CLOSE]))).status).toBe(401);
    expect((await rawRequest(port, requestBytes('DELETE', '/healthz', [h, CLOSE]))).status).toBe(405);
  });
});

describe("requests node:http cannot take: the error shape, no-store, never node's bare body", () => {
  beforeEach(() => start({ limits: { headersTimeoutMs: 300, requestTimeoutMs: 300, checkIntervalMs: 100 } }));

  it.each([
    ['a malformed request line', 'GET /a b HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n', 400, 'bad_request'],
    ['a lower-case method', 'get /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n', 400, 'bad_request'],
    ['a non-ASCII target', 'GET /\u00e9 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n', 400, 'bad_request'],
    [
      'headers over 8 KiB',
      `GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${'a'.repeat(9000)}\r\n\r\n`,
      431,
      'headers_too_large',
    ],
    [
      'a target over 8 KiB',
      `GET /v1/secrets/db/${'a'.repeat(9000)} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`,
      431,
      'headers_too_large',
    ],
    ['CONNECT (authority-form)', 'CONNECT 127.0.0.1:80 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n', 400, 'bad_request'],
    ['asterisk-form', 'OPTIONS * HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n', 400, 'bad_request'],
  ])('%s', async (_what, bytes, status, code) => {
    const r = await rawRequest(port, Buffer.from(bytes, 'latin1'));
    expect(r.status).toBe(status);
    expect(r.headers['cache-control']).toBe('no-store');
    expect(r.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(json(r.body).error.code).toBe(code);
  });

  it('headers that never finish: 408 in the error shape (counts the answer, not the time)', async () => {
    const answer = await new Promise<string>((resolve) => {
      const chunks: Buffer[] = [];
      const s = connect(port, '127.0.0.1', () => s.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n'));
      s.on('data', (c: Buffer) => chunks.push(c));
      s.on('error', () => undefined);
      s.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
    });
    const r = parseAnswer(answer);
    expect(r.status).toBe(408);
    expect(r.headers['cache-control']).toBe('no-store');
    expect(json(r.body).error.code).toBe('request_timeout');
  });
});

describe('long polls', () => {
  /** a long poll on its own connection; resolves with status, headers and any socket error */
  function longPoll(
    etag: string,
    agent?: Agent,
  ): Promise<{ status?: number; headers?: Record<string, unknown>; error?: string }> {
    return new Promise((resolve) => {
      const req = httpRequest(
        {
          host: '127.0.0.1',
          port,
          path: '/v1/secrets/db?wait=60s',
          agent: agent ?? false,
          headers: { authorization: `Bearer ${TOKEN}`, 'if-none-match': etag },
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve({ status: res.statusCode, headers: res.headers }));
        },
      );
      req.on('error', (e: NodeJS.ErrnoException) => resolve({ error: e.code ?? e.message }));
      req.end();
    });
  }
  const waitingCount = async () =>
    (await metrics.registry.getSingleMetric('vault_irsa_long_polls_waiting')?.get())?.values[0]?.value ?? 0;
  async function until(cond: () => Promise<boolean>): Promise<void> {
    for (let i = 0; i < 500 && !(await cond()); i++) await new Promise((r) => setTimeout(r, 10));
  }

  it('above the cap: 503 too_many_waiters with Retry-After; the waiters already in stay', async () => {
    await start({ maxWaiters: 2 });
    const etag = store.get('db')?.etag as string;
    const first = [longPoll(etag), longPoll(etag)];
    await until(async () => (await waitingCount()) === 2);
    expect(await waitingCount()).toBe(2);
    const over = await get('/v1/secrets/db?wait=60s', [['Host', '127.0.0.1'], AUTH, ['If-None-Match', etag]]);
    expect(over.status).toBe(503);
    expect(over.headers['retry-after']).toBe('1');
    expect(json(over.body).error.code).toBe('too_many_waiters');
    // a plain read is not a waiter: still served
    expect((await get('/v1/secrets/db/password', [['Host', '127.0.0.1'], AUTH])).status).toBe(200);
    store.update('db', { data: { password: 'p2' }, version: 2, leaseDuration: 0 });
    for (const r of await Promise.all(first)) expect(r.status).toBe(200);
    expect(await waitingCount()).toBe(0);
  });

  it('a client that leaves frees its place', async () => {
    await start({ maxWaiters: 1 });
    const etag = store.get('db')?.etag as string;
    const s = connect(port, '127.0.0.1', () =>
      s.write(requestBytes('GET', '/v1/secrets/db?wait=60s', [['Host', '127.0.0.1'], AUTH, ['If-None-Match', etag]])),
    );
    await until(async () => (await waitingCount()) === 1);
    s.destroy();
    await until(async () => (await waitingCount()) === 0);
    expect(await waitingCount()).toBe(0);
  });

  it('close(): every waiting long poll gets 304 with its ETag and Connection: close, no reset', async () => {
    await start();
    const etag = store.get('db')?.etag as string;
    const agent = new Agent({ keepAlive: true });
    const polls = [longPoll(etag, agent), longPoll(etag, agent), longPoll(etag)];
    await until(async () => (await waitingCount()) === 3);
    const closed = api.close();
    for (const r of await Promise.all(polls)) {
      expect(r.error).toBeUndefined();
      expect(r.status).toBe(304);
      expect(r.headers?.etag).toBe(etag);
      expect(r.headers?.connection).toBe('close');
      expect(r.headers?.['cache-control']).toBe('no-store');
    }
    await closed;
    agent.destroy();
  });
});

describe('a fault inside a handler', () => {
  it('is answered 500 internal_error in the error shape, and the listener keeps serving', async () => {
    await start();
    const real = store.list.bind(store);
    let broken = true;
    store.list = () => {
      if (broken) throw new Error('boom with a detail that must not be shown');
      return real();
    };
    const r = await get('/v1/secrets', [['Host', '127.0.0.1'], AUTH]);
    expect(r.status).toBe(500);
    expect(r.headers['cache-control']).toBe('no-store');
    expect(JSON.parse(r.body)).toEqual({ error: { code: 'internal_error', message: 'internal error' } });
    broken = false;
    expect((await get('/v1/secrets', [['Host', '127.0.0.1'], AUTH])).status).toBe(200);
  });

  it('in a long poll too', async () => {
    await start();
    store.waitForChange = () => Promise.reject(new Error('boom'));
    const etag = store.get('db')?.etag as string;
    const r = await get('/v1/secrets/db?wait=10s', [['Host', '127.0.0.1'], AUTH, ['If-None-Match', etag]]);
    expect(r.status).toBe(500);
    expect(JSON.parse(r.body).error.code).toBe('internal_error');
  });
});

describe('the health listener', () => {
  let health: HttpListener;
  afterEach(() => health.close());

  it('serves /healthz, /readyz and /metrics only; no token involved; never echoes the path', async () => {
    store = new SecretStore([]);
    api = buildApiApp({ store, requestToken: TOKEN, readiness: { notReadyReasons: () => [] } });
    health = buildHealthApp({
      readiness: { notReadyReasons: () => [] },
      metrics: new Metrics({ defaultMetrics: false }),
    });
    await health.listen({ host: '127.0.0.1', port: 0 });
    const hp = (health.server.address() as { port: number }).port;
    const h = (target: string) => rawRequest(hp, requestBytes('GET', target, [['Host', '10.0.0.7:8766'], CLOSE]));
    expect((await h('/healthz')).status).toBe(200);
    expect((await h('/readyz')).status).toBe(200);
    expect((await h('/metrics')).body).toContain('vault_irsa_long_polls_waiting');
    const nf = await h('/v1/secrets/planted-name');
    expect(nf.status).toBe(404);
    expect(nf.body).not.toContain('planted-name');
    expect((await h('http://x/metrics')).status).toBe(400);
    expect((await rawRequest(hp, requestBytes('POST', '/metrics', [['Host', 'x'], CLOSE]))).status).toBe(405);
  });
});
