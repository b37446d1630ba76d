/**
 * The plain read (`Authorization: Bearer <token>` compared whole, pre-rendered bytes) must be
 * indistinguishable from the same read with the token in another valid spelling (`bearer <token>`, which
 * takes the digest comparison): same status, headers and bytes, same metrics. (The plain read was once
 * answered in front of fastify; the assertions that both match are kept.)
 */
import { buildApiApp } from '../../../sidecar/api.js';
import type { HttpListener } from '../../../sidecar/http/listener.js';
import { Metrics } from '../../../sidecar/metrics.js';
import { SecretStore } from '../../../sidecar/secret-store.js';

const TOKEN = 'Zm9vYmFyYmF6cXV4MDEyMzQ1Njc4OWFiY2RlZmdoaWo';

let store: SecretStore;
let metrics: Metrics;
let app: HttpListener;
let base: string;

beforeEach(async () => {
  store = new SecretStore([
    { name: 'db', path: 'secret/db' },
    { name: 'later', path: 'secret/later' },
  ]);
  store.update('db', { data: { username: 'u1', password: 'p1', port: 5432 }, version: 3, leaseDuration: 0 });
  metrics = new Metrics({ defaultMetrics: false });
  app = buildApiApp({ store, requestToken: TOKEN, readiness: { notReadyReasons: () => [] }, metrics });
  await app.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
});
afterEach(async () => {
  store.close();
  await app.close();
});

async function get(path: string, headers: Record<string, string>) {
  const r = await fetch(`${base}${path}`, { headers });
  const h: Record<string, string> = {};
  r.headers.forEach((v, k) => {
    if (k !== 'date') h[k] = v;
  });
  return { status: r.status, headers: h, body: Buffer.from(await r.arrayBuffer()) };
}

const fast = { authorization: `Bearer ${TOKEN}` };
const otherSpelling = { authorization: `bearer ${TOKEN}` };

test('the same status, headers and bytes in either spelling, fresh and stale', async () => {
  const a = await get('/v1/secrets/db', fast);
  const b = await get('/v1/secrets/db', otherSpelling);
  expect(a.status).toBe(200);
  expect(a).toEqual(b);
  expect(JSON.parse(a.body.toString())).toMatchObject({
    name: 'db',
    data: { password: 'p1' },
    version: 3,
    stale: false,
  });

  store.fail('db', { code: 'vault_unavailable', status: 503, message: 'down' });
  const c = await get('/v1/secrets/db', fast);
  expect(c).toEqual(await get('/v1/secrets/db', otherSpelling));
  expect(JSON.parse(c.body.toString()).stale).toBe(true);
});

test('a changed secret is served with its new bytes and ETag at once', async () => {
  const before = await get('/v1/secrets/db', fast);
  store.update('db', { data: { username: 'u2', password: 'p2' }, version: 4, leaseDuration: 0 });
  const after = await get('/v1/secrets/db', fast);
  expect(after.headers.etag).not.toBe(before.headers.etag);
  expect(JSON.parse(after.body.toString())).toMatchObject({ data: { password: 'p2' }, version: 4 });
  expect(after).toEqual(await get('/v1/secrets/db', otherSpelling));
});

test('every read is counted once, whichever path answered it', async () => {
  await get('/v1/secrets/db', fast);
  await get('/v1/secrets/db', otherSpelling);
  await get('/v1/secrets/db', { authorization: `Bearer ${TOKEN.slice(0, -1)}x` });
  const text = await metrics.registry.metrics();
  expect(text).toContain('vault_irsa_secret_reads_total{status="200"} 2');
  expect(text).toContain('vault_irsa_secret_reads_total{status="403"} 1');
});

test.each([
  ['no token', {}, 401],
  ['a wrong token of the same length', { authorization: `Bearer ${TOKEN.slice(0, -1)}x` }, 403],
  ['a longer token', { authorization: `Bearer ${TOKEN}x` }, 403],
  ['X-Forwarded-For', { ...fast, 'x-forwarded-for': '10.0.0.1' }, 400],
] as const)('%s: %d', async (_what, headers, status) => {
  const r = await get('/v1/secrets/db', headers);
  expect(r.status).toBe(status);
  expect(r.headers['cache-control']).toBe('no-store');
  expect(r.body.toString()).not.toContain('p1');
});

test('errors, conditional reads, keys and queries', async () => {
  expect((await get('/v1/secrets/nothere', fast)).status).toBe(404);
  expect((await get('/v1/secrets/later', fast)).status).toBe(503);
  const etag = (await get('/v1/secrets/db', fast)).headers.etag as string;
  expect((await get('/v1/secrets/db', { ...fast, 'if-none-match': etag })).status).toBe(304);
  expect((await get('/v1/secrets/db?wait=10ms', { ...fast, 'if-none-match': etag })).status).toBe(304);
  expect((await get('/v1/secrets/db/password', fast)).body.toString()).toBe('p1');
  expect((await get('/v1/secrets/%64b', fast)).status).toBe(200);
  store.fail('db', { code: 'vault_permission_denied', status: 403, message: 'permission denied' });
  expect((await get('/v1/secrets/db', fast)).status).toBe(403);
});
